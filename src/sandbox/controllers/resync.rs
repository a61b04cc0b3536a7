//! Waking a level-triggered controller: on a relevant change, or on a
//! periodic resync (upstream informers resync too, which is how retried
//! operations and repeated events happen), whichever comes first.

use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};

use crate::sandbox::api::cluster::Change;

/// Why a controller woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    Changed,
    Resync,
    /// The cluster is gone: the controller should stop.
    Closed,
}

/// Wait for a change `relevant` accepts (or lost changes, which may have
/// been relevant) or for `resync` to pass. Changes queued behind the first
/// one are drained, so a burst of writes costs one sync.
pub async fn next_wake(
    changes: &mut broadcast::Receiver<Change>,
    relevant: impl Fn(&Change) -> bool,
    resync: Duration,
) -> Wake {
    let deadline = tokio::time::Instant::now() + resync;
    loop {
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Err(_elapsed) => return Wake::Resync,
            Ok(Ok(change)) if relevant(&change) => break,
            Ok(Ok(_)) => continue,
            Ok(Err(RecvError::Lagged(_))) => break,
            Ok(Err(RecvError::Closed)) => return Wake::Closed,
        }
    }
    loop {
        match changes.try_recv() {
            Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
            Err(broadcast::error::TryRecvError::Closed) => return Wake::Closed,
            Err(broadcast::error::TryRecvError::Empty) => return Wake::Changed,
        }
    }
}

/// Remembers which event each object last got, so a level-triggered sync
/// repeats a still-true event only once per resync period (as upstream's
/// controllers do on their informer resyncs) instead of on every wake.
#[derive(Debug, Default)]
pub struct RepeatFilter {
    last: std::collections::HashMap<String, (String, tokio::time::Instant)>,
}

impl RepeatFilter {
    /// Whether `what` (reason + message) should be reported for `uid` now.
    pub fn should_report(&mut self, uid: &str, what: &str, period: Duration) -> bool {
        let now = tokio::time::Instant::now();
        match self.last.get(uid) {
            Some((last, at)) if last == what && now.duration_since(*at) < period => false,
            _ => {
                self.last.insert(uid.to_string(), (what.to_string(), now));
                true
            }
        }
    }

    /// Drop memory of objects that no longer exist.
    pub fn retain(&mut self, alive: impl Fn(&str) -> bool) {
        self.last.retain(|uid, _| alive(uid));
    }
}
