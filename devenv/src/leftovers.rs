//! Processes a platform left behind when its supervisor was killed (not
//! stopped): found through its state file, stopped as the supervisor would.

use std::time::{Duration, Instant};

use crate::child::{alive, kill_group, signal};
use crate::layout::Layout;
use crate::notice::{Notice, Notify};
use crate::state::State;

/// Stops the children `<dir>/state.json` names that still run, the
/// database last, and removes the file. Call only without a supervisor
/// (the directory's lock held, or its holder gone).
pub async fn stop_leftovers(layout: &Layout, notify: &Notify) {
    let Some(state) = State::read(&layout.state()) else {
        return;
    };
    let mut children = state.children;
    children.sort_by_key(|c| c.name == crate::postgres::NAME);
    for child in children.into_iter().filter(|c| c.runs()) {
        let stop_signal = if child.name == crate::postgres::NAME {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        signal(child.pid, stop_signal);
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(child.pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        kill_group(child.pid);
        notify(Notice::LeftoverStopped {
            name: child.name,
            pid: child.pid,
        });
    }
    let _ = std::fs::remove_file(layout.state());
}
