//! Render timing without process start-up: loads the config and renders every
//! stack of each environment N times, then prints the mean per rendering.
//! Run by scripts/bench-render.sh (`cargo run --release --example bench_render`).

use std::path::Path;
use std::time::Instant;

use sbw_infra::{checks, config, render};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    for env in ["dev", "prod"] {
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            let deployment =
                config::load(&root.join("examples/sbw.yaml"), env, None).expect("valid config");
            let manifest = render::render(&deployment).expect("renders");
            bytes = manifest.stacks.iter().map(|s| s.bytes).sum::<usize>();
        }
        let render_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        let deployment =
            config::load(&root.join("examples/sbw.yaml"), env, None).expect("valid config");
        let manifest = render::render(&deployment).expect("renders");
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(checks::check(&manifest).is_empty());
        }
        let check_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        println!(
            "{env:<5} config + render of {} stacks ({bytes} bytes): {render_ms:.2} ms   in-process checks: {check_ms:.2} ms   ({rounds} rounds)",
            manifest.stacks.len()
        );
    }
}
