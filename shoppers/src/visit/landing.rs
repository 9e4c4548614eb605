//! Where a visit comes from: its channel, and the landing page, `utm_*`
//! query and referrer that channel gives it.

use chrono::Weekday;
use rand::Rng;

use super::Walk;
use crate::random::pick;
use crate::rhythm::LocalMoment;
use crate::site::Page;
use crate::visitor::Visitor;

/// Where a visit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Direct,
    Search,
    Social,
    Email,
    Paid,
    Referral,
}

/// A paid campaign: its `utm_*` tags, the category it advertises and the site the ad runs on.
struct Campaign {
    source: &'static str,
    medium: &'static str,
    name: &'static str,
    category: &'static str,
    site: &'static str,
}

const fn campaign(
    source: &'static str,
    medium: &'static str,
    name: &'static str,
    category: &'static str,
    site: &'static str,
) -> Campaign {
    Campaign {
        source,
        medium,
        name,
        category,
        site,
    }
}

const CAMPAIGNS: &[(f64, Campaign)] = &[
    (
        35.0,
        campaign(
            "google",
            "cpc",
            "year-end-laptops",
            "laptops",
            "https://www.google.com/",
        ),
    ),
    (
        20.0,
        campaign(
            "google",
            "cpc",
            "gaming-gear",
            "mice-pads",
            "https://www.google.com/",
        ),
    ),
    (
        20.0,
        campaign(
            "facebook",
            "paid_social",
            "headphones-flash-sale",
            "headphones",
            "https://m.facebook.com/",
        ),
    ),
    (
        15.0,
        campaign(
            "coccoc",
            "cpc",
            "monitor-week",
            "monitors",
            "https://coccoc.com/",
        ),
    ),
    (
        10.0,
        campaign(
            "tiktok",
            "paid_social",
            "desk-setup",
            "accessories",
            "https://www.tiktok.com/",
        ),
    ),
];
/// Search engines send their origin only (`strict-origin-when-cross-origin`).
const SEARCH_ENGINES: &[(f64, &str)] = &[
    (48.0, "https://www.google.com/"),
    (38.0, "https://www.google.com.vn/"),
    (10.0, "https://coccoc.com/"),
    (4.0, "https://www.bing.com/"),
];
const SOCIAL_SITES: &[(f64, &str)] = &[
    (45.0, "https://m.facebook.com/"),
    (15.0, "https://www.facebook.com/"),
    (15.0, "https://www.tiktok.com/"),
    (12.0, "https://www.youtube.com/"),
    (13.0, "https://zalo.me/"),
];
/// Reviews and forums that link to the shop's products.
const REFERRING_SITES: &[(f64, &str)] = &[
    (35.0, "https://tinhte.vn/"),
    (25.0, "https://voz.vn/"),
    (20.0, "https://genk.vn/"),
    (20.0, "https://vnexpress.net/"),
];

/// Where a visit lands: the page, the `utm_*` query of its URL and the referrer.
pub(super) struct Landing {
    pub page: Page,
    pub query: Option<String>,
    pub referrer: Option<String>,
}

impl Walk<'_> {
    /// Where this visit lands, by channel: direct, search engines, social
    /// networks, the newsletter (on its weekly rhythm), paid campaigns, other sites.
    pub(super) fn landing(&mut self, moment: LocalMoment, visitor: &Visitor) -> Landing {
        // The newsletter goes out on Thursday mornings; its readers come that day and the next.
        let email = match moment.weekday {
            Weekday::Thu if moment.hour >= 9 => 18.0,
            Weekday::Fri => 10.0,
            _ => 4.0,
        };
        let returning = if visitor.visits > 1 { 10.0 } else { 0.0 };
        let channel = *pick(
            self.rng,
            &[
                (18.0 + returning, Channel::Direct),
                (34.0, Channel::Search),
                (12.0, Channel::Social),
                (email, Channel::Email),
                (12.0, Channel::Paid),
                (8.0, Channel::Referral),
            ],
        );
        let any_category = self.rng.random_range(0..self.catalog.categories.len());
        let (page, query, referrer) = match channel {
            Channel::Direct => {
                let page = match self.rng.random_range(0..100) {
                    0..75 => Page::Home,
                    75..88 => Page::Product(self.popular_product(None)),
                    _ => Page::Category(any_category),
                };
                (page, None, None)
            }
            Channel::Search => {
                let page = match self.rng.random_range(0..100) {
                    0..50 => Page::Product(self.popular_product(None)),
                    50..80 => Page::Category(any_category),
                    _ => Page::Home,
                };
                (page, None, Some(*pick(self.rng, SEARCH_ENGINES)))
            }
            Channel::Social => {
                let page = match self.rng.random_range(0..100) {
                    0..60 => Page::Product(self.popular_product(None)),
                    60..85 => Page::Home,
                    _ => Page::Category(any_category),
                };
                (page, None, Some(*pick(self.rng, SOCIAL_SITES)))
            }
            Channel::Email => {
                // Each week's newsletter features one category's deals.
                let deals = moment.iso_week as usize % self.catalog.categories.len();
                let page = match self.rng.random_range(0..100) {
                    0..50 => Page::Category(deals),
                    50..90 => Page::Product(self.popular_product(Some(deals))),
                    _ => Page::Home,
                };
                let query = format!(
                    "utm_source=newsletter&utm_medium=email&utm_campaign=weekly-deals-{}-w{:02}",
                    moment.iso_year, moment.iso_week
                );
                // Webmail sends its origin; mail apps send nothing.
                let referrer = self
                    .rng
                    .random_bool(0.3)
                    .then_some("https://mail.google.com/");
                (page, Some(query), referrer)
            }
            Channel::Paid => {
                let ad = pick(self.rng, CAMPAIGNS);
                let category = self.category_index(ad.category);
                let page = if self.rng.random_bool(0.7) {
                    Page::Product(self.popular_product(Some(category)))
                } else {
                    Page::Category(category)
                };
                let query = format!(
                    "utm_source={}&utm_medium={}&utm_campaign={}",
                    ad.source, ad.medium, ad.name
                );
                (page, Some(query), Some(ad.site))
            }
            Channel::Referral => {
                let page = if self.rng.random_bool(0.8) {
                    Page::Product(self.popular_product(None))
                } else {
                    Page::Category(any_category)
                };
                (page, None, Some(*pick(self.rng, REFERRING_SITES)))
            }
        };
        Landing {
            page,
            query,
            referrer: referrer.map(str::to_owned),
        }
    }
}
