//! Who visits: browsers and devices (their user agents, from which ingest
//! derives the device type and flags crawlers), countries (what CloudFront
//! would say), accounts, clocks and networks.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use uuid::Uuid;

use crate::random::{pick, uuid};
use crate::rhythm::LocalMoment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Device {
    Mobile,
    Desktop,
    Tablet,
}

/// Browsers of 2025-26 as their user agents read (Chrome's reduced form on
/// Android); Cốc Cốc is Vietnam's own browser.
const MOBILE_BROWSERS: &[(f64, &str)] = &[
    (38.0, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
    (30.0, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (7.0, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"),
    (9.0, "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-A556E) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (8.0, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/133.0.180 Chrome/127.0.0.0 Mobile Safari/537.36"),
    (8.0, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/489.0.0.38.109;FBBV/671258843;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/18.1;FBSS/3;FBCR/;FBID/phone;FBLC/vi_VN;FBOP/5]"),
];
const DESKTOP_BROWSERS: &[(f64, &str)] = &[
    (42.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (12.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
    (14.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) coc_coc_browser/133.0.180 Chrome/127.0.0.0 Safari/537.36"),
    (5.0, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (15.0, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"),
    (10.0, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (2.0, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
];
const TABLET_BROWSERS: &[(f64, &str)] = &[
    (60.0, "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1"),
    (40.0, "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
];
/// Crawlers that run the page's JavaScript, and where they crawl from.
pub(crate) const CRAWLERS: &[(f64, (&str, &str))] = &[
    (45.0, ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "US")),
    (20.0, ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", "US")),
    (20.0, ("Mozilla/5.0 (compatible; coccocbot-web/1.0; +http://help.coccoc.com/searchengine)", "VN")),
    (15.0, ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "SG")),
];

/// Where visitors are, as `CloudFront-Viewer-Country` says (ISO 3166 alpha-2).
const COUNTRIES: &[(f64, &str)] = &[
    (90.0, "VN"),
    (2.0, "SG"),
    (1.8, "US"),
    (1.0, "JP"),
    (1.0, "KR"),
    (0.8, "AU"),
    (0.7, "TH"),
    (0.6, "TW"),
    (0.5, "DE"),
    (0.5, "FR"),
    (0.4, "KH"),
    (0.3, "LA"),
];

/// Customers with an account; some sign in on more than one device.
const CUSTOMERS: u32 = 2_500;
/// Share of new visitors who are signed in (the shop keeps them signed in).
const SIGNED_IN: f64 = 0.11;

/// How a visitor's network behaves: latency to the API and how often an
/// answer is lost (the request arrived, the browser never heard back).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Network {
    pub latency_ms: (i64, i64),
    pub lost_answers: f64,
    /// How likely the connection drops for good during a visit.
    pub drops: f64,
}

/// One browser on one device: what the SDK keeps in its storage and what the
/// requests it sends reveal.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    pub anonymous_id: Uuid,
    pub user_agent: &'static str,
    pub device: Device,
    pub country: &'static str,
    /// The signed-in account (the verified token's subject), if any.
    pub customer: Option<String>,
    /// The device clock's error: its time minus the true time.
    pub clock_skew: Duration,
    /// The SDK's session: its id and the time of its last event.
    pub session: Option<(Uuid, DateTime<Utc>)>,
    /// Visits so far, this one included.
    pub visits: u32,
}

impl Visitor {
    /// Someone new, on a device likely at `moment` (more desktops in office hours).
    pub fn new(rng: &mut StdRng, moment: LocalMoment) -> Visitor {
        let devices: [(f64, Device); 3] = if moment.is_office_hours() {
            [
                (48.0, Device::Mobile),
                (46.0, Device::Desktop),
                (6.0, Device::Tablet),
            ]
        } else if moment.is_evening() {
            [
                (72.0, Device::Mobile),
                (22.0, Device::Desktop),
                (6.0, Device::Tablet),
            ]
        } else {
            [
                (64.0, Device::Mobile),
                (30.0, Device::Desktop),
                (6.0, Device::Tablet),
            ]
        };
        let device = *pick(rng, &devices);
        let user_agent = *pick(
            rng,
            match device {
                Device::Mobile => MOBILE_BROWSERS,
                Device::Desktop => DESKTOP_BROWSERS,
                Device::Tablet => TABLET_BROWSERS,
            },
        );
        let customer = rng
            .random_bool(SIGNED_IN)
            .then(|| format!("customer-{:05}", rng.random_range(1..=CUSTOMERS)));
        let skew_ms = match rng.random_range(0..100) {
            0..88 => rng.random_range(-1_500..1_500),
            88..98 => rng.random_range(5_000..240_000) * if rng.random_bool(0.5) { 1 } else { -1 },
            _ => {
                rng.random_range(3_600_000..26 * 3_600_000)
                    * if rng.random_bool(0.5) { 1 } else { -1 }
            }
        };
        Visitor {
            anonymous_id: uuid(rng),
            user_agent,
            device,
            country: pick::<&str>(rng, COUNTRIES),
            customer,
            clock_skew: Duration::milliseconds(skew_ms),
            session: None,
            visits: 0,
        }
    }

    /// A crawler: it keeps no storage, so every page it renders is a new visitor.
    pub fn crawler(rng: &mut StdRng) -> Visitor {
        let (user_agent, country) = *pick(rng, CRAWLERS);
        Visitor {
            anonymous_id: uuid(rng),
            user_agent,
            device: Device::Desktop,
            country,
            customer: None,
            clock_skew: Duration::zero(),
            session: None,
            visits: 0,
        }
    }

    pub fn network(&self) -> Network {
        match self.device {
            Device::Mobile => Network {
                latency_ms: (90, 900),
                lost_answers: 0.02,
                drops: 0.04,
            },
            Device::Tablet => Network {
                latency_ms: (60, 500),
                lost_answers: 0.01,
                drops: 0.015,
            },
            Device::Desktop => Network {
                latency_ms: (30, 250),
                lost_answers: 0.004,
                drops: 0.004,
            },
        }
    }

    /// Whether the visitor browses with a mouse (quick views, hovering).
    pub fn has_pointer(&self) -> bool {
        self.device != Device::Mobile
    }
}
