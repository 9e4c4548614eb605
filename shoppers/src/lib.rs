//! Simulated shoppers of the demo computer store (`examples/demo-shop`),
//! the one generator of traffic for the local platform, the tests and the
//! benchmarks.
//!
//! - [`catalog`]: the shop's ~200 products, read from the shop's own
//!   `catalog.json`, and the lists its pages show.
//! - [`Shoppers`]: seeded visits. Each lands by a channel (direct, search
//!   engines, social networks, the newsletter, paid campaigns with `utm_*`
//!   tags, other sites), sees product lists (one `impression` per product
//!   shown), clicks products at a rate set by the product's popularity and
//!   its position, views, searches, adds to the cart, checks out and buys
//!   (about 2-3 % of visits); mostly on phones, mostly from Vietnam, some
//!   signed in, on a daily and weekly rhythm in the shop's time zone
//!   ([`rhythm`]); 2.5 % are crawlers.
//! - A visit is what the browser SDK sends ([`sdk`]): contract `Event` JSON
//!   in requests batched as `sdk/src/tracker.ts` batches them, with the
//!   request's user agent, viewer country and signed-in token; some answers
//!   get lost and the SDK sends the events again, and some visits go
//!   offline and deliver their last events hours or days later.
//! - [`receive`]: those requests as ingest stores them, through the
//!   contract's own validation and enrichment.
//! - [`live`]: visits played in real time against an ingest endpoint over
//!   HTTP (`sbwctl dev up --demo`).
//! - [`history`]: back-filled history written as raw objects, as the ingest
//!   function writes them (`sbwctl dev seed`, `gen-raw-events`).

pub mod catalog;
pub mod history;
pub mod live;
mod random;
pub mod receive;
pub mod rhythm;
pub mod sdk;
mod shoppers;
pub mod site;
mod visit;
mod visitor;

pub use catalog::{Catalog, Product};
pub use receive::{Received, Receiver};
pub use sdk::{Delivery, Request, Transport};
pub use shoppers::Shoppers;
pub use site::Shop;
pub use visit::Visit;
