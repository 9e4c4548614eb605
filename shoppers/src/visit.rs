//! What one visit does, page by page, as the demo shop records it: where it
//! lands (by channel: direct, search engines, social networks, the
//! newsletter, paid campaigns, other sites), the product lists it is shown
//! (impressions), the products it clicks (at a rate that depends on the
//! product and falls with the position), searches, product views, the cart,
//! the checkout and the purchase — or, for a crawler, pages rendered one
//! after another without clicking anything. Where it lands is `landing`.
//!
//! Over 400 lines on purpose: the rest is one state machine, each page's
//! choices reading and changing the same shopper (intent, cart, pointer);
//! cut apart, every piece would need all of it.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use sbw_contract::EventType;
use serde_json::{json, Value};

use crate::catalog::{Catalog, Product};
use crate::random::{millis, pause, pick, pick_index};
use crate::rhythm::LocalMoment;
use crate::sdk::{Record, Request, Tracker};
use crate::site::{Page, Shop};
use crate::visitor::Visitor;

mod landing;

/// One visit: the requests the browser sent, in the order it sent them
/// (retries right after their original, late deliveries last).
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub requests: Vec<Request>,
    /// A crawler rendering pages (ingest flags its user agent as a bot).
    pub crawler: bool,
}

/// Searches shoppers type, and how often: brands, models, kinds of
/// product, and some that find nothing (Vietnamese words, typos, products
/// the shop does not sell).
pub(crate) const SEARCHES: &[(f64, &str)] = &[
    (8.0, "macbook air"),
    (4.0, "macbook"),
    (6.0, "logitech"),
    (5.0, "mx master"),
    (6.0, "airpods"),
    (4.0, "sony"),
    (4.0, "gaming mouse"),
    (3.0, "gaming laptop"),
    (4.0, "4k monitor"),
    (3.0, "oled"),
    (3.0, "rtx 4060"),
    (2.0, "mechanical keyboard"),
    (3.0, "keychron"),
    (3.0, "usb-c hub"),
    (3.0, "ssd"),
    (2.0, "webcam"),
    (4.0, "asus"),
    (3.0, "lenovo"),
    (3.0, "dell"),
    (2.0, "razer"),
    (2.0, "tai nghe"),
    (1.0, "chuột không dây"),
    (1.0, "bàn phím cơ"),
    (1.0, "logitec"),
    (1.0, "ipad"),
];

/// The product lists of the shop, named as the SDK's `props.list` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Featured,
    Category(usize),
    Search,
    Related,
}

impl List {
    fn name(self, catalog: &Catalog) -> String {
        match self {
            List::Featured => "home:featured".to_owned(),
            List::Category(c) => format!("category:{}", catalog.categories[c].id),
            List::Search => "search".to_owned(),
            List::Related => "related".to_owned(),
        }
    }

    /// How much more (or less) a product here draws a click than on the home page.
    fn pull(self) -> f64 {
        match self {
            List::Featured => 1.0,
            List::Category(_) => 0.8,
            // The shopper asked for these.
            List::Search => 1.7,
            List::Related => 0.7,
        }
    }
}

/// How likely a shopper is to click `product` shown at `position` (from 1)
/// of `list`: 2-12 % at the top of the home page, by the product's
/// popularity, falling with the position as in any ranked list.
fn click_chance(product: &Product, position: usize, list: List) -> f64 {
    let appeal = 0.02 + 0.10 * f64::from(product.popularity) / 100.0;
    appeal * list.pull() / (1.0 + 0.1 * (position - 1) as f64)
}

/// The visit's generator state: everything a page needs to decide what comes next.
pub(crate) struct Walk<'a> {
    pub rng: &'a mut StdRng,
    pub catalog: &'a Catalog,
    pub shop: &'a Shop,
    /// What each of [`SEARCHES`] finds, in the order the search page shows it.
    pub search_results: &'a [Vec<usize>],
}

/// How ready to buy a visit is: most browse, some compare, a few came to buy.
const INTENT: &[(f64, f64)] = &[(55.0, 0.35), (35.0, 1.0), (10.0, 2.6)];
/// The longest visit, in pages (a safety net: visits end long before).
const MAX_PAGES: u32 = 60;

/// The shopper during a visit.
struct Shopper {
    intent: f64,
    /// A mouse or a trackpad: quick views.
    has_pointer: bool,
    /// Products and quantities, in the order added.
    cart: Vec<(usize, u32)>,
}

/// What follows a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Another page, loaded.
    Go(Page),
    /// The same page again (back from a quick view).
    Stay,
    Leave,
}

impl Walk<'_> {
    fn category_of(&self, product: usize) -> usize {
        let id = &self.catalog.products[product].category;
        self.catalog
            .categories
            .iter()
            .position(|c| &c.id == id)
            .unwrap_or_default()
    }

    fn category_index(&self, id: &str) -> usize {
        self.catalog
            .categories
            .iter()
            .position(|c| c.id == id)
            .unwrap_or_default()
    }

    /// A product, the popular ones more often; only of `category` if given.
    fn popular_product(&mut self, category: Option<usize>) -> usize {
        let weights: Vec<f64> = self
            .catalog
            .products
            .iter()
            .map(|p| match category {
                Some(c) if p.category != self.catalog.categories[c].id => 0.0,
                _ => f64::from(p.popularity),
            })
            .collect();
        pick_index(self.rng, &weights)
    }

    fn ecom_listed(&self, product: usize) -> Value {
        let p = &self.catalog.products[product];
        json!({"product_id": p.id, "category": p.category})
    }

    fn ecom_priced(&self, product: usize, qty: Option<u32>) -> Value {
        let p = &self.catalog.products[product];
        let mut ecom = json!({
            "product_id": p.id,
            "category": p.category,
            "price": p.price_vnd,
            "currency": self.catalog.currency,
        });
        if let Some(qty) = qty {
            ecom["qty"] = qty.into();
        }
        ecom
    }

    /// The products `list` shows, in order, on `page`.
    fn list_of(&self, page: Page) -> Option<(List, Vec<usize>)> {
        match page {
            Page::Home => Some((List::Featured, self.catalog.featured())),
            Page::Category(c) => Some((
                List::Category(c),
                self.catalog.category_list(&self.catalog.categories[c].id),
            )),
            Page::Search(q) => Some((List::Search, self.search_results[q].clone())),
            Page::Product(p) => Some((List::Related, self.catalog.related(p))),
            Page::Cart | Page::Checkout | Page::Order => None,
        }
    }

    fn impressions(&self, list: List, shown: &[usize]) -> Vec<Record> {
        let name = list.name(self.catalog);
        shown
            .iter()
            .enumerate()
            .map(|(index, &product)| {
                Record::new(EventType::Impression)
                    .ecom(self.ecom_listed(product))
                    .prop("list", name.clone())
                    .prop("position", index + 1)
            })
            .collect()
    }

    /// The product of `order` (a list as the shopper sees it) that catches
    /// the eye, if any, with its position.
    fn catches_the_eye(
        &mut self,
        list: List,
        order: &[usize],
        interest: f64,
    ) -> Option<(usize, usize)> {
        order.iter().enumerate().find_map(|(index, &product)| {
            let chance = click_chance(&self.catalog.products[product], index + 1, list) * interest;
            self.rng
                .random_bool(chance.min(1.0))
                .then_some((index + 1, product))
        })
    }

    /// How likely a view of `product` ends in the cart: cheaper things go in more easily.
    fn add_chance(&self, product: usize, intent: f64) -> f64 {
        let price = self.catalog.products[product].price_vnd as f64;
        let price_factor = (8_000_000.0 / price).powf(0.15).clamp(0.6, 1.5);
        (0.12 * intent * price_factor).min(0.9)
    }

    /// A human visit starting at `start`.
    pub fn human(&mut self, visitor: Visitor, start: DateTime<Utc>) -> (Vec<Request>, Visitor) {
        let moment = LocalMoment::of(start, self.shop.timezone);
        let landing = self.landing(moment, &visitor);
        let network = visitor.network();
        let mut shopper = Shopper {
            intent: *pick(self.rng, INTENT),
            has_pointer: visitor.has_pointer(),
            cart: Vec::new(),
        };
        // The page on which the connection drops for good, if it does.
        let drop_on = self
            .rng
            .random_bool(network.drops)
            .then(|| self.rng.random_range(1..=6u32));
        let mut tracker = Tracker::new(visitor, landing.referrer);
        let mut at = start;
        let mut page = landing.page;
        let mut url = self.shop.url(page.path(true));
        if let Some(query) = &landing.query {
            url = format!("{url}?{query}");
        }
        let mut pages = 0u32;
        let mut list = None;
        let mut loaded = true;
        loop {
            pages += 1;
            if loaded {
                tracker.page(self.rng, at, url.clone());
                // The page fetches the catalogue, then draws itself.
                at += millis(self.rng, 150..900);
                list = self.show(&mut tracker, &mut at, page, &shopper.cart);
            }
            if drop_on == Some(pages) {
                at += pause(self.rng, 10.0, 0.7);
                tracker.go_offline(at);
            }
            let leaves = if pages == 1 {
                match page {
                    Page::Home => 0.30,
                    Page::Category(_) => 0.36,
                    _ => 0.44,
                }
            } else {
                (0.14 + 0.02 * f64::from(pages)) * (1.15 - 0.15 * shopper.intent).clamp(0.6, 1.1)
            };
            let next = if pages >= MAX_PAGES
                || tracker.is_offline()
                || page == Page::Order
                || self.rng.random_bool(leaves)
            {
                Next::Leave
            } else {
                self.next_page(&mut tracker, &mut at, page, list.as_ref(), &mut shopper)
            };
            match next {
                Next::Go(next) => {
                    tracker.leave(self.rng, at);
                    at += millis(self.rng, 250..1_500);
                    page = next;
                    url = self.shop.url(page.path(false));
                    loaded = true;
                }
                // Back from a quick view: the same page, not loaded again.
                Next::Stay => loaded = false,
                Next::Leave => {
                    at += pause(self.rng, 20.0, 0.8);
                    tracker.leave(self.rng, at);
                    break;
                }
            }
        }
        let comes_back = self
            .rng
            .random_bool(0.7)
            .then(|| Duration::minutes(self.rng.random_range(20..3 * 24 * 60)));
        tracker.finish(self.rng, comes_back)
    }

    /// What `page` records once drawn; returns the list it shows.
    fn show(
        &mut self,
        tracker: &mut Tracker,
        at: &mut DateTime<Utc>,
        page: Page,
        cart: &[(usize, u32)],
    ) -> Option<(List, Vec<usize>)> {
        match page {
            Page::Product(p) => tracker.record(
                self.rng,
                *at,
                Record::new(EventType::View).ecom(self.ecom_priced(p, None)),
            ),
            Page::Search(q) => {
                let results = self.search_results[q].len();
                tracker.record(
                    self.rng,
                    *at,
                    Record::new(EventType::Search)
                        .prop("results", results)
                        .prop("query", SEARCHES[q].1),
                );
            }
            Page::Checkout => {
                let items: u32 = cart.iter().map(|(_, qty)| qty).sum();
                let value: u64 = cart
                    .iter()
                    .map(|&(p, qty)| self.catalog.products[p].price_vnd * u64::from(qty))
                    .sum();
                tracker.record(
                    self.rng,
                    *at,
                    Record::new(EventType::Checkout)
                        .prop("items", items)
                        .prop("value", value)
                        .prop("currency", self.catalog.currency.clone()),
                );
            }
            _ => {}
        }
        let (list, shown) = self.list_of(page)?;
        if !shown.is_empty() {
            let records = self.impressions(list, &shown);
            tracker.record_all(self.rng, *at, records);
        }
        Some((list, shown))
    }

    /// What the shopper does on `page` after looking at it.
    fn next_page(
        &mut self,
        tracker: &mut Tracker,
        at: &mut DateTime<Utc>,
        page: Page,
        list: Option<&(List, Vec<usize>)>,
        shopper: &mut Shopper,
    ) -> Next {
        match page {
            Page::Product(product) => {
                *at += pause(self.rng, 40.0, 0.8);
                if self
                    .rng
                    .random_bool(self.add_chance(product, shopper.intent))
                {
                    self.add_to_cart(tracker, *at, product, &mut shopper.cart);
                    *at += pause(self.rng, 4.0, 0.6);
                    return match self.rng.random_range(0..100) {
                        0..60 => Next::Go(self.open_cart(tracker, *at)),
                        60..90 => Next::Go(Page::Category(self.category_of(product))),
                        _ => Next::Leave,
                    };
                }
                if let Some((List::Related, related)) = list {
                    let clicked = self.click_in_list(tracker, at, List::Related, related, shopper);
                    if clicked != Next::Leave {
                        return clicked;
                    }
                }
                Next::Go(match self.rng.random_range(0..100) {
                    // The breadcrumb back to the category.
                    0..62 => Page::Category(self.category_of(product)),
                    62..72 => self.search(),
                    72..88 => Page::Home,
                    _ if !shopper.cart.is_empty() => self.open_cart(tracker, *at),
                    _ => Page::Home,
                })
            }
            Page::Home | Page::Category(_) | Page::Search(_) => {
                *at += pause(self.rng, 18.0, 0.8);
                if !shopper.cart.is_empty() && self.rng.random_bool(0.12) {
                    return Next::Go(self.open_cart(tracker, *at));
                }
                if let Some((list, shown)) = list {
                    // Some sort a category by price: the list is reordered, not shown again.
                    let order = match list {
                        List::Category(_) if self.rng.random_bool(0.12) => {
                            self.catalog.by_price(shown)
                        }
                        _ => shown.clone(),
                    };
                    let clicked = self.click_in_list(tracker, at, *list, &order, shopper);
                    if clicked != Next::Leave {
                        return clicked;
                    }
                    if !order.is_empty() && self.rng.random_bool((0.015 * shopper.intent).min(0.2))
                    {
                        // "Add to cart" right on a product card.
                        let product = order[self.rng.random_range(0..order.len().min(8))];
                        self.add_to_cart(tracker, *at, product, &mut shopper.cart);
                        *at += pause(self.rng, 6.0, 0.6);
                    }
                }
                Next::Go(self.browse_on(tracker, *at, page))
            }
            Page::Cart => {
                *at += pause(self.rng, 25.0, 0.7);
                if self
                    .rng
                    .random_bool((0.72 * shopper.intent.powf(0.3)).min(0.92))
                {
                    Next::Go(Page::Checkout)
                } else if self.rng.random_bool(0.4) {
                    Next::Go(Page::Home)
                } else {
                    Next::Leave
                }
            }
            Page::Checkout => {
                // Filling in the delivery form.
                *at += pause(self.rng, 90.0, 0.6);
                if !self.rng.random_bool(0.75) {
                    return Next::Leave;
                }
                let order_id = format!(
                    "SBW-{}-{}",
                    radix36(at.timestamp_millis()),
                    self.rng.random_range(0..10_000)
                );
                let payment = *pick(
                    self.rng,
                    &[(55.0, "cod"), (30.0, "bank_transfer"), (15.0, "card")],
                );
                let purchases = shopper
                    .cart
                    .drain(..)
                    .map(|(product, qty)| {
                        Record::new(EventType::Purchase)
                            .ecom(self.ecom_priced(product, Some(qty)))
                            .prop("payment", payment)
                            .prop("order_id", order_id.clone())
                    })
                    .collect();
                tracker.record_all(self.rng, *at, purchases);
                Next::Go(Page::Order)
            }
            Page::Order => Next::Leave,
        }
    }

    /// A click on a product of `order` that catches the eye: to its page,
    /// or (with a pointer, now and then) its quick view and back to the
    /// list. [`Next::Leave`] when nothing caught the eye.
    fn click_in_list(
        &mut self,
        tracker: &mut Tracker,
        at: &mut DateTime<Utc>,
        list: List,
        order: &[usize],
        shopper: &mut Shopper,
    ) -> Next {
        let Some((position, product)) =
            self.catches_the_eye(list, order, shopper.intent.powf(0.25))
        else {
            return Next::Leave;
        };
        let quick_view = shopper.has_pointer && list != List::Related && self.rng.random_bool(0.25);
        let target = if quick_view {
            "quick-view"
        } else {
            "product-card"
        };
        let click = Record::new(EventType::Click)
            .ecom(self.ecom_listed(product))
            .prop("target", target)
            .prop("list", list.name(self.catalog))
            .prop("position", position);
        tracker.record(self.rng, *at, click);
        if !quick_view {
            return Next::Go(Page::Product(product));
        }
        // The quick view changes the URL with pushState: a page view, no page load.
        let list_url = tracker.page_url().unwrap_or_default().to_owned();
        *at += millis(self.rng, 60..200);
        tracker.page(
            self.rng,
            *at,
            self.shop.url(Page::Product(product).path(false)),
        );
        *at += millis(self.rng, 100..400);
        tracker.record(
            self.rng,
            *at,
            Record::new(EventType::View)
                .ecom(self.ecom_priced(product, None))
                .prop("source", "quick-view"),
        );
        *at += pause(self.rng, 20.0, 0.7);
        if self
            .rng
            .random_bool(self.add_chance(product, shopper.intent))
        {
            self.add_to_cart(tracker, *at, product, &mut shopper.cart);
            *at += pause(self.rng, 3.0, 0.5);
        }
        // Back closes it: the list page's URL again, another page view.
        tracker.page(self.rng, *at, list_url);
        *at += millis(self.rng, 500..3_000);
        Next::Stay
    }

    fn add_to_cart(
        &mut self,
        tracker: &mut Tracker,
        at: DateTime<Utc>,
        product: usize,
        cart: &mut Vec<(usize, u32)>,
    ) {
        let qty = *pick(self.rng, &[(88.0, 1), (10.0, 2), (2.0, 3)]);
        tracker.record(
            self.rng,
            at,
            Record::new(EventType::AddToCart).ecom(self.ecom_priced(product, Some(qty))),
        );
        match cart.iter_mut().find(|(p, _)| *p == product) {
            Some((_, in_cart)) => *in_cart += qty,
            None => cart.push((product, qty)),
        }
    }

    /// The header's cart link (a tracked click).
    fn open_cart(&mut self, tracker: &mut Tracker, at: DateTime<Utc>) -> Page {
        tracker.record(
            self.rng,
            at,
            Record::new(EventType::Click).prop("target", "header-cart"),
        );
        Page::Cart
    }

    fn search(&mut self) -> Page {
        let weights: Vec<f64> = SEARCHES.iter().map(|(w, _)| *w).collect();
        Page::Search(pick_index(self.rng, &weights))
    }

    /// Elsewhere from a list page that held nothing of interest: another
    /// category (tiles and the menu are tracked clicks), a search, home.
    fn browse_on(&mut self, tracker: &mut Tracker, at: DateTime<Utc>, page: Page) -> Page {
        let category = self.rng.random_range(0..self.catalog.categories.len());
        let (target, next) = match (page, self.rng.random_range(0..100)) {
            (Page::Home, 0..50) => ("category-tile", Page::Category(category)),
            (Page::Home, 50..60) => (
                "hero-banner",
                Page::Category(self.category_index("laptops")),
            ),
            (Page::Home, 60..88) => ("nav-category", Page::Category(category)),
            (Page::Home, _) => return self.search(),
            (_, 0..62) => ("nav-category", Page::Category(category)),
            (_, 62..76) => return self.search(),
            // The logo: a link without tracking.
            _ => return Page::Home,
        };
        self.record_click(tracker, at, target);
        next
    }

    fn record_click(&mut self, tracker: &mut Tracker, at: DateTime<Utc>, target: &str) {
        tracker.record(
            self.rng,
            at,
            Record::new(EventType::Click).prop("target", target.to_owned()),
        );
    }

    /// A crawler rendering 3 to 20 pages a few seconds apart. It keeps no
    /// storage: every page is a new anonymous visitor and session.
    pub fn crawl(&mut self, crawler: Visitor, start: DateTime<Utc>) -> Vec<Request> {
        let mut requests = Vec::new();
        let mut at = start;
        for _ in 0..self.rng.random_range(3..=20) {
            let page = if self.rng.random_bool(0.7) {
                Page::Product(self.rng.random_range(0..self.catalog.products.len()))
            } else {
                Page::Category(self.rng.random_range(0..self.catalog.categories.len()))
            };
            let mut visitor = crawler.clone();
            visitor.anonymous_id = crate::random::uuid(self.rng);
            let mut tracker = Tracker::new(visitor, None);
            tracker.page(self.rng, at, self.shop.url(page.path(false)));
            at += millis(self.rng, 300..1_500);
            self.show(&mut tracker, &mut at, page, &[]);
            at += millis(self.rng, 1_000..6_000);
            tracker.leave(self.rng, at);
            requests.extend(tracker.finish(self.rng, None).0);
        }
        requests
    }
}

/// `n` in base 36, upper case, as JavaScript's `n.toString(36).toUpperCase()`.
fn radix36(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    n = n.max(0);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
