//! The seeded generator of visits: who comes (new visitors, returning ones
//! with their ids, sessions and accounts, crawlers) and what each visit does.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sbw_contract::StoredEvent;

use crate::catalog::Catalog;
use crate::receive::Receiver;
use crate::rhythm::LocalMoment;
use crate::sdk::{Delivery, SESSION_IDLE};
use crate::site::Shop;
use crate::visit::{Visit, Walk, SEARCHES};
use crate::visitor::Visitor;

/// Share of visits that are crawlers rendering pages.
const CRAWLERS: f64 = 0.025;
/// Share of human visits by someone who came before (same browser).
const RETURNING: f64 = 0.3;
/// Browsers remembered as possible returning visitors.
const REMEMBERED_VISITORS: usize = 20_000;
/// The hashing key of [`Shoppers::session`]'s stored events (tests only
/// compare events with each other, never with another deployment's).
const SESSION_HASH_KEY: &[u8] = b"sbw-shoppers: the identifier hashing key of test sessions";

/// Seeded shoppers of the demo shop: the same seed and the same calls give
/// the same visits, event ids included.
pub struct Shoppers {
    rng: StdRng,
    shop: Shop,
    catalog: &'static Catalog,
    /// What each search finds.
    search_results: Vec<Vec<usize>>,
    visitors: Vec<Visitor>,
    receiver: Option<Receiver>,
}

impl Shoppers {
    /// Shoppers of the demo shop as `sbwctl dev up` serves it
    /// (`http://127.0.0.1:8000`, Asia/Ho_Chi_Minh).
    pub fn new(seed: u64) -> Shoppers {
        Shoppers::for_shop(seed, Shop::default())
    }

    pub fn for_shop(seed: u64, shop: Shop) -> Shoppers {
        let catalog = Catalog::demo_shop();
        Shoppers {
            rng: StdRng::seed_from_u64(seed),
            shop,
            catalog,
            search_results: SEARCHES.iter().map(|(_, q)| catalog.search(q)).collect(),
            visitors: Vec::new(),
            receiver: None,
        }
    }

    pub fn shop(&self) -> &Shop {
        &self.shop
    }

    /// The visit that starts at `start`: the requests its browser sends.
    pub fn visit(&mut self, start: DateTime<Utc>) -> Visit {
        let mut walk = Walk {
            rng: &mut self.rng,
            catalog: self.catalog,
            shop: &self.shop,
            search_results: &self.search_results,
        };
        if walk.rng.random_bool(CRAWLERS) {
            let crawler = Visitor::crawler(walk.rng);
            return Visit {
                requests: walk.crawl(crawler, start),
                crawler: true,
            };
        }
        // Someone who came before, unless still inside that visit's session
        // (the SDK would carry on with it: no new visit).
        let returning = (!self.visitors.is_empty() && walk.rng.random_bool(RETURNING))
            .then(|| walk.rng.random_range(0..self.visitors.len()))
            .filter(|&index| {
                self.visitors[index]
                    .session
                    .is_none_or(|(_, last)| start - last >= SESSION_IDLE)
            });
        let mut visitor = match returning {
            Some(index) => self.visitors[index].clone(),
            None => Visitor::new(walk.rng, LocalMoment::of(start, self.shop.timezone)),
        };
        visitor.visits += 1;
        let (requests, visitor) = walk.human(visitor, start);
        match returning {
            Some(index) => self.visitors[index] = visitor,
            None if self.visitors.len() < REMEMBERED_VISITORS => self.visitors.push(visitor),
            None => {
                let index = self.rng.random_range(0..self.visitors.len());
                self.visitors[index] = visitor;
            }
        }
        Visit {
            requests,
            crawler: false,
        }
    }

    /// The visit that starts at `start` as ingest stores it: every event
    /// once (a retry's copy left out, a late delivery kept), in event-time
    /// order. Identifiers are hashed with a fixed test key.
    pub fn session(&mut self, start: DateTime<Utc>) -> Vec<StoredEvent> {
        let visit = self.visit(start);
        let receiver = self.receiver.get_or_insert_with(|| {
            Receiver::new(SESSION_HASH_KEY).expect("the test hashing key is long enough")
        });
        let mut events: Vec<StoredEvent> = visit
            .requests
            .iter()
            .filter(|request| request.delivery != Delivery::Retry)
            .flat_map(|request| {
                receiver
                    .receive(request)
                    .map(|received| received.events)
                    .unwrap_or_default()
            })
            .collect();
        events.sort_by_key(|event| event.ts);
        events
    }
}
