//! The dashboard's test warehouse: a small raw store whose every number is
//! known, written exactly as the ingest function writes it (one NDJSON.gz
//! object per visit under its receive hour), for `sbwctl etl run` to load.
//!
//! Over 400 lines on purpose: most of it is the fixture's data, every number
//! of which the dashboard tests assert, kept beside its description below.
//!
//! Usage: dashboard-fixture --out RAW_DIR [--last-day YYYY-MM-DD]
//! Prints one JSON line: the shop's time zone and the three local days.
//!
//! Three local days D1, D2, D3 of Asia/Ho_Chi_Minh (UTC+07:00 all year; the
//! ETL must run with `--timezone Asia/Ho_Chi_Minh`), D3 = `--last-day`,
//! yesterday by default, so a "last 7 days" view of today holds all of it.
//! Times below are local. Each event is received one second after it happened.
//!
//! Products (VND): P1 lap-apple-mba13-m3 (laptops) 27,490,000;
//! P2 mouse-logitech-mx-master-3s (mice-pads) 2,490,000; P3 mon-lg-27gp850
//! (monitors) 8,490,000; P4 kb-akko-3068b-plus (keyboards) 1,690,000;
//! P5 hp-jbl-tune-520bt (headphones) 1,090,000.
//!
//! | visit | day, start | visitor | device  | country | came from                          | what it did (page views)                                             |
//! |-------|------------|---------|---------|---------|------------------------------------|----------------------------------------------------------------------|
//! | V1    | D1 09:00   | A       | desktop | VN      | www.google.com (search)            | / sees P1 P2 P3 (home), clicks P1, /p/P1 views, adds, /checkout, checks out, buys P1 ×1 (3 pv, 480 s) |
//! | V2    | D1 20:30   | B       | mobile  | VN      | direct                             | / sees P1 P2 P3 (home), leaves: the bounce (1 pv, 3 s)               |
//! | V3    | D2 10:00   | C       | mobile  | SG      | www.facebook.com (social)          | / sees P2 P5 P4 (home), clicks P2, /p/P2 views, adds ×2, leaves (2 pv, 120 s) |
//! | bot   | D2 12:00   | BOT     | desktop | US      | direct                             | / and /p/P1 views P1; a bot: in no figure                            |
//! | V4    | D2 19:00   | A       | desktop | VN      | newsletter / email / weekly-deals  | signed in; /, /p/P3 views, adds, /p/P4 views, adds, /checkout, checks out, buys P3 ×1 and P4 ×1 (4 pv, 300 s) |
//! | V5    | D3 08:15   | D       | tablet  | JP      | tinhte.vn (referral)               | /p/P1 views, /c/laptops sees P1 (category:laptops) (2 pv, 62 s)      |
//! | V6    | D3 12:00   | E       | mobile  | VN      | google / cpc / back-to-school (paid) | / sees P1 P2 P3 (home), clicks P2, /p/P2 views, adds, /checkout, checks out, buys P2 ×2 (3 pv, 240 s) |
//! | V7    | D3 12:50   | E       | mobile  | VN      | shop.example (internal)            | V6's session id after 46 idle minutes: a new visit; /c/keyboards sees P4, clicks it, /p/P4 views (2 pv, 25 s) |
//! | V8    | D3 21:00   | F       | desktop | unknown | direct                             | signed in; /, /p/P1 views, adds, /checkout, checks out, no purchase (3 pv, 130 s) |
//!
//! D1..D3, no filter: 8 visits (2, 2, 4 a day), 6 visitors (2, 2, 3 a day),
//! 2 signed in, 20 page views, 1 bounce (12.5 %), 1,360 s in all (170 s a
//! visit), 60 events. Funnel (closed): 8 visits, 7 viewed a product, 5 added
//! to the cart, 4 checked out, 3 bought (37.5 %). Revenue 42,650,000 ₫.
//! Per product (impressions, clicks, views, adds, purchases, units, revenue):
//! P1 4 1 3 2 1 1 27,490,000; P2 4 2 2 2 1 2 4,980,000;
//! P3 3 0 1 1 1 1 8,490,000; P4 2 1 2 1 1 1 1,690,000; P5 1 0 0 0 0 0 0.
//! Besides the visits: one object holding a line that is no event (a
//! rejected line), one truncated gzip object (quarantined), and the
//! operational snapshot `_ops/snapshot.json` (120 requests, 6 client
//! errors, 2 server errors, 3 dead letters, the oldest 900 s old).

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, Utc};
use clap::Parser;
use rust_decimal::Decimal;
use sbw_contract::event::{StoredDevice, StoredGeo, STORED_SCHEMA_VERSION};
use sbw_contract::ops::{DeadLetters, IngestCounts, OpsSnapshot, OpsSource, OPS_SNAPSHOT_KEY};
use sbw_contract::{DeviceType, Ecom, EventType, StoredEvent};
use sbw_testkit::ndjson::{gzip, stored_object, write_raw_object};
use uuid::Uuid;

const SHOP: &str = "https://shop.example";
const TIMEZONE: &str = "Asia/Ho_Chi_Minh";
/// Asia/Ho_Chi_Minh has had no daylight saving time since 1975.
const UTC_OFFSET_SECONDS: i32 = 7 * 3600;

#[derive(Parser)]
#[command(about = "Write the dashboard tests' raw store: known visits over three local days")]
struct Args {
    /// The raw store directory (created; objects are added below `events/`).
    #[arg(long)]
    out: PathBuf,
    /// The third local day; the default is yesterday in Asia/Ho_Chi_Minh.
    #[arg(long)]
    last_day: Option<NaiveDate>,
}

struct Product {
    id: &'static str,
    category: &'static str,
    price: i64,
}

const P1: Product = Product {
    id: "lap-apple-mba13-m3",
    category: "laptops",
    price: 27_490_000,
};
const P2: Product = Product {
    id: "mouse-logitech-mx-master-3s",
    category: "mice-pads",
    price: 2_490_000,
};
const P3: Product = Product {
    id: "mon-lg-27gp850",
    category: "monitors",
    price: 8_490_000,
};
const P4: Product = Product {
    id: "kb-akko-3068b-plus",
    category: "keyboards",
    price: 1_690_000,
};
const P5: Product = Product {
    id: "hp-jbl-tune-520bt",
    category: "headphones",
    price: 1_090_000,
};

/// Who is visiting, from where, on what.
struct Visitor {
    session: u128,
    anonymous_id: &'static str,
    user_id: Option<&'static str>,
    device: DeviceType,
    country: Option<&'static str>,
    bot: bool,
}

/// One visit's events as the SDK sends them: each page view remembers its
/// page, so later events carry it and the next page view has it as referrer.
struct Visit<'a> {
    visitor: Visitor,
    day: NaiveDate,
    ids: &'a mut u128,
    page: String,
    referrer: Option<String>,
    events: Vec<StoredEvent>,
}

impl<'a> Visit<'a> {
    fn new(visitor: Visitor, day: NaiveDate, ids: &'a mut u128) -> Visit<'a> {
        Visit {
            visitor,
            day,
            ids,
            page: String::new(),
            referrer: None,
            events: Vec::new(),
        }
    }

    /// The first page view: the landing page (with its query) and the referrer.
    fn lands(mut self, time: &str, page: &str, referrer: Option<&str>) -> Self {
        self.page = format!("{SHOP}{page}");
        self.referrer = referrer.map(str::to_owned);
        self.push(time, EventType::PageView, None, None)
    }

    fn page_view(mut self, time: &str, path: &str) -> Self {
        self.referrer = Some(std::mem::replace(&mut self.page, format!("{SHOP}{path}")));
        self.push(time, EventType::PageView, None, None)
    }

    /// One impression per product shown, positions from 1.
    fn sees(mut self, time: &str, list: &str, products: &[&Product]) -> Self {
        for (position, product) in products.iter().enumerate() {
            self = self.push(
                time,
                EventType::Impression,
                Some(ecom(product, None)),
                Some((list, position + 1)),
            );
        }
        self
    }

    fn clicks(self, time: &str, list: &str, position: usize, product: &Product) -> Self {
        self.push(
            time,
            EventType::Click,
            Some(ecom(product, None)),
            Some((list, position)),
        )
    }

    fn views(self, time: &str, product: &Product) -> Self {
        self.push(time, EventType::View, Some(ecom(product, Some(1))), None)
    }

    fn adds(self, time: &str, product: &Product, qty: u32) -> Self {
        self.push(
            time,
            EventType::AddToCart,
            Some(ecom(product, Some(qty))),
            None,
        )
    }

    fn checks_out(self, time: &str) -> Self {
        self.push(time, EventType::Checkout, None, None)
    }

    fn buys(self, time: &str, product: &Product, qty: u32) -> Self {
        self.push(
            time,
            EventType::Purchase,
            Some(ecom(product, Some(qty))),
            None,
        )
    }

    fn push(
        mut self,
        time: &str,
        event_type: EventType,
        ecom: Option<Ecom>,
        list: Option<(&str, usize)>,
    ) -> Self {
        let ts = local(self.day, time);
        *self.ids += 1;
        let props = list
            .map(|(list, position)| {
                [
                    ("list".to_owned(), serde_json::json!(list)),
                    ("position".to_owned(), serde_json::json!(position)),
                ]
                .into()
            })
            .unwrap_or_default();
        let v = &self.visitor;
        self.events.push(StoredEvent {
            schema_version: STORED_SCHEMA_VERSION,
            event_id: uuid_v4(*self.ids),
            event_type,
            ts,
            client_ts: ts,
            received_at: ts + chrono::Duration::seconds(1),
            clock_skew_ms: Some(0),
            session_id: uuid_v4(v.session),
            anonymous_id_hash: v.anonymous_id.to_owned(),
            user_id_hash: v.user_id.map(str::to_owned),
            claimed_user_id_hash: None,
            page_url: self.page.clone(),
            referrer: self.referrer.clone(),
            device: StoredDevice {
                device_type: v.device,
                browser: Some("Chrome".to_owned()),
                os: Some("Windows".to_owned()),
                family: None,
                bot: v.bot,
            },
            geo: StoredGeo {
                country: v.country.map(str::to_owned),
                city: None,
            },
            ecom,
            props,
            request_id: format!("fixture-{}", self.ids),
        });
        self
    }
}

fn ecom(product: &Product, qty: Option<u32>) -> Ecom {
    Ecom {
        product_id: Some(product.id.to_owned()),
        category: Some(product.category.to_owned()),
        currency: Some("VND".to_owned()),
        price: Some(Decimal::from(product.price)),
        qty,
    }
}

/// A version 4 UUID whose random bits are `n`: distinct and the same every run.
fn uuid_v4(n: u128) -> Uuid {
    uuid::Builder::from_random_bytes(n.to_be_bytes()).into_uuid()
}

/// `day` at local time `hh:mm:ss`, in UTC.
fn local(day: NaiveDate, time: &str) -> DateTime<Utc> {
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S").expect("fixture times are hh:mm:ss");
    let offset = FixedOffset::east_opt(UTC_OFFSET_SECONDS).expect("a valid offset");
    day.and_time(time)
        .and_local_timezone(offset)
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

fn visitor(
    session: u128,
    anonymous_id: &'static str,
    device: DeviceType,
    country: Option<&'static str>,
) -> Visitor {
    Visitor {
        session,
        anonymous_id,
        user_id: None,
        device,
        country,
        bot: false,
    }
}

fn signed_in(visitor: Visitor, user_id: &'static str) -> Visitor {
    Visitor {
        user_id: Some(user_id),
        ..visitor
    }
}

/// The visits of the table above, one event list per visit.
fn visits(days: [NaiveDate; 3]) -> Vec<Vec<StoredEvent>> {
    use DeviceType::{Desktop, Mobile, Tablet};
    let [d1, d2, d3] = days;
    let google = Some("https://www.google.com/");
    let home = "home";
    let mut ids = 0;
    let ids = &mut ids;
    let mut all = Vec::new();

    all.push(
        Visit::new(visitor(1, "visitor-a", Desktop, Some("VN")), d1, ids)
            .lands("09:00:00", "/", google)
            .sees("09:00:05", home, &[&P1, &P2, &P3])
            .clicks("09:01:00", home, 1, &P1)
            .page_view("09:01:02", "/p/lap-apple-mba13-m3")
            .views("09:01:05", &P1)
            .adds("09:03:00", &P1, 1)
            .page_view("09:05:00", "/checkout")
            .checks_out("09:05:10")
            .buys("09:08:00", &P1, 1)
            .events,
    );
    all.push(
        Visit::new(visitor(2, "visitor-b", Mobile, Some("VN")), d1, ids)
            .lands("20:30:00", "/", None)
            .sees("20:30:03", home, &[&P1, &P2, &P3])
            .events,
    );
    all.push(
        Visit::new(visitor(3, "visitor-c", Mobile, Some("SG")), d2, ids)
            .lands("10:00:00", "/", Some("https://www.facebook.com/"))
            .sees("10:00:04", home, &[&P2, &P5, &P4])
            .clicks("10:00:30", home, 1, &P2)
            .page_view("10:00:32", "/p/mouse-logitech-mx-master-3s")
            .views("10:00:35", &P2)
            .adds("10:02:00", &P2, 2)
            .events,
    );
    let bot = Visitor {
        bot: true,
        ..visitor(9, "visitor-bot", Desktop, Some("US"))
    };
    all.push(
        Visit::new(bot, d2, ids)
            .lands("12:00:00", "/", None)
            .page_view("12:00:01", "/p/lap-apple-mba13-m3")
            .views("12:00:02", &P1)
            .events,
    );
    all.push(
        Visit::new(
            signed_in(visitor(4, "visitor-a", Desktop, Some("VN")), "user-a"),
            d2,
            ids,
        )
        .lands(
            "19:00:00",
            "/?utm_source=newsletter&utm_medium=email&utm_campaign=weekly-deals",
            None,
        )
        .page_view("19:00:20", "/p/mon-lg-27gp850")
        .views("19:00:23", &P3)
        .adds("19:01:00", &P3, 1)
        .page_view("19:01:30", "/p/kb-akko-3068b-plus")
        .views("19:01:33", &P4)
        .adds("19:02:00", &P4, 1)
        .page_view("19:03:00", "/checkout")
        .checks_out("19:03:10")
        .buys("19:05:00", &P3, 1)
        .buys("19:05:00", &P4, 1)
        .events,
    );
    all.push(
        Visit::new(visitor(5, "visitor-d", Tablet, Some("JP")), d3, ids)
            .lands(
                "08:15:00",
                "/p/lap-apple-mba13-m3",
                Some("https://tinhte.vn/thread/laptop-review"),
            )
            .views("08:15:03", &P1)
            .page_view("08:16:00", "/c/laptops")
            .sees("08:16:02", "category:laptops", &[&P1])
            .events,
    );
    all.push(
        Visit::new(visitor(6, "visitor-e", Mobile, Some("VN")), d3, ids)
            .lands(
                "12:00:00",
                "/?utm_source=google&utm_medium=cpc&utm_campaign=back-to-school",
                google,
            )
            .sees("12:00:02", home, &[&P1, &P2, &P3])
            .clicks("12:00:40", home, 2, &P2)
            .page_view("12:00:42", "/p/mouse-logitech-mx-master-3s")
            .views("12:00:45", &P2)
            .adds("12:01:30", &P2, 1)
            .page_view("12:02:00", "/checkout")
            .checks_out("12:02:10")
            .buys("12:04:00", &P2, 2)
            .events,
    );
    // The same browser tab (session id) 46 minutes later: the ETL starts a new visit.
    all.push(
        Visit::new(visitor(6, "visitor-e", Mobile, Some("VN")), d3, ids)
            .lands(
                "12:50:00",
                "/c/keyboards",
                Some("https://shop.example/checkout"),
            )
            .sees("12:50:03", "category:keyboards", &[&P4])
            .clicks("12:50:20", "category:keyboards", 1, &P4)
            .page_view("12:50:22", "/p/kb-akko-3068b-plus")
            .views("12:50:25", &P4)
            .events,
    );
    all.push(
        Visit::new(
            signed_in(visitor(8, "visitor-f", Desktop, None), "user-f"),
            d3,
            ids,
        )
        .lands("21:00:00", "/", None)
        .page_view("21:00:30", "/p/lap-apple-mba13-m3")
        .views("21:00:33", &P1)
        .adds("21:01:00", &P1, 1)
        .page_view("21:02:00", "/checkout")
        .checks_out("21:02:10")
        .events,
    );
    all
}

/// An object with one line that is no stored event, and one whose gzip
/// stream stops in the middle of its only line.
fn write_bad_objects(root: &Path, day: NaiveDate) {
    write_raw_object(
        root,
        local(day, "23:00:00"),
        &gzip(b"{\"hello\":\"not an event\"}\n"),
    );
    let whole = gzip(&[b'x'; 4096]);
    write_raw_object(root, local(day, "23:10:00"), &whole[..whole.len() / 2]);
}

fn write_ops_snapshot(root: &Path, now: DateTime<Utc>) -> anyhow::Result<()> {
    let snapshot = OpsSnapshot {
        source: OpsSource::Local,
        taken_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        window_minutes: 60,
        ingest: IngestCounts {
            requests: 120,
            client_errors: 6,
            server_errors: 2,
        },
        dead_letters: DeadLetters {
            messages: 3,
            oldest_age_seconds: Some(900),
        },
    };
    let path = root.join(OPS_SNAPSHOT_KEY);
    std::fs::create_dir_all(path.parent().context("the key has a directory")?)?;
    std::fs::write(&path, serde_json::to_vec_pretty(&snapshot)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let now = Utc::now();
    let offset = FixedOffset::east_opt(UTC_OFFSET_SECONDS).context("a valid offset")?;
    let today = now.with_timezone(&offset).date_naive();
    let d3 = match args.last_day {
        Some(day) => day,
        None => today.pred_opt().context("a day before today")?,
    };
    let d1 = d3
        .checked_sub_days(Days::new(2))
        .context("--last-day is too early")?;
    let days = [d1, d1.succ_opt().context("a next day")?, d3];
    // Events from the future are neither valid nor listed by the ETL.
    anyhow::ensure!(
        local(d3, "23:59:59") < now,
        "--last-day {d3} has not ended yet in {TIMEZONE}: give a day before {today}"
    );

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let visits = visits(days);
    for events in &visits {
        write_raw_object(&args.out, events[0].received_at, &stored_object(events));
    }
    write_bad_objects(&args.out, d3);
    write_ops_snapshot(&args.out, now)?;
    println!(
        "{}",
        serde_json::json!({
            "timezone": TIMEZONE,
            "days": days.map(|d| d.to_string()),
            "visits": visits.len(),
            "events": visits.iter().map(Vec::len).sum::<usize>(),
        })
    );
    Ok(())
}
