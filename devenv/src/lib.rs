//! The whole platform on one machine, supervised: a private PostgreSQL (or an
//! existing server), the ingest server, the ETL on a schedule, the dashboard,
//! the demo shop and simulated shoppers. `sbwctl dev up|status|down` call
//! [`up`], [`status`] and [`down`].
//!
//! The parts run the code that runs in AWS where there is one: the ingest
//! server is `sbw_ingest::local` (the Lambda's handler), the ETL is
//! `sbw_etl::run` (the Lambda's run), the warehouse is set up with the
//! bootstrap's SQL and the ETL's migrations, and the dashboard is the Shiny
//! app the warehouse instance serves.
//!
//! Processes: PostgreSQL and the dashboard (Rscript) are children, each in a
//! process group of its own, so a Ctrl-C in the terminal reaches only the
//! supervisor, which stops the parts in order: traffic, the shop and the
//! ingest server (requests in flight are answered), the ETL run in flight
//! (given a moment to finish, then cancelled), the dashboard, and last the
//! database (PostgreSQL's fast shutdown). A child that dies is started again
//! with back-off.

mod child;
mod dashboard;
mod error;
mod etl;
mod layout;
mod leftovers;
mod lock;
mod notice;
mod platform;
mod ports;
mod postgres;
mod probe;
mod shop;
mod state;
mod status;
mod stop;
mod traffic;
mod warehouse;

pub use error::DevError;
pub use layout::Layout;
pub use notice::{Notice, Notify, ShutdownReport};
pub use platform::{up, DatabaseChoice, Demo, UpOptions};
pub use state::{Phase, State};
pub use status::{down, spawn_detached, status, DownOutcome, PartStatus, StatusReport};
pub use stop::{stop_pair, StopSignal, StopSwitch};
