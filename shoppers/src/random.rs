//! The few random draws the shoppers need, on a seeded generator.

use chrono::Duration;
use rand::rngs::StdRng;
use rand::Rng;
use uuid::Uuid;

/// One of `items`, each as likely as its weight.
pub(crate) fn pick<'a, T>(rng: &mut StdRng, items: &'a [(f64, T)]) -> &'a T {
    let total: f64 = items.iter().map(|(weight, _)| weight).sum();
    let mut roll = rng.random::<f64>() * total;
    for (weight, item) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &items[items.len() - 1].1
}

/// An index of `weights`, each as likely as its weight.
pub(crate) fn pick_index(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut roll = rng.random::<f64>() * total;
    for (index, weight) in weights.iter().enumerate() {
        if roll < *weight {
            return index;
        }
        roll -= weight;
    }
    weights.len() - 1
}

/// A time span around `median_seconds`, log-normally spread as human
/// pauses are (`spread` is the log-space standard deviation).
pub(crate) fn pause(rng: &mut StdRng, median_seconds: f64, spread: f64) -> Duration {
    // Box-Muller: one standard normal draw.
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let seconds = median_seconds * (spread * normal).exp();
    Duration::milliseconds((seconds * 1000.0) as i64)
}

/// A random (version 4) UUID, as `crypto.randomUUID()` makes in the browser.
pub(crate) fn uuid(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// Milliseconds in `range`.
pub(crate) fn millis(rng: &mut StdRng, range: std::ops::Range<i64>) -> Duration {
    Duration::milliseconds(rng.random_range(range))
}
