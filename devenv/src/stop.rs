//! A stop request shared by the parts: pulled once, seen by every holder,
//! at once by those who look after it was pulled.

use tokio::sync::watch;

pub struct StopSwitch(watch::Sender<bool>);

#[derive(Clone)]
pub struct StopSignal(watch::Receiver<bool>);

pub fn stop_pair() -> (StopSwitch, StopSignal) {
    let (sender, receiver) = watch::channel(false);
    (StopSwitch(sender), StopSignal(receiver))
}

impl StopSwitch {
    pub fn pull(&self) {
        self.0.send_replace(true);
    }
}

impl StopSignal {
    /// Completes once the switch is pulled, or dropped.
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}
