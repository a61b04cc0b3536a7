//! Waking a level-triggered controller: on a relevant change, or on a
//! periodic resync (upstream informers resync too, which is how retried
//! operations and repeated events happen), whichever comes first.

use std::time::Duration;

use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use crate::sandbox::api::cluster::Change;

/// What a controller's cache is handed by [`drain`].
pub enum Queued<'a> {
    Change(&'a Change),
    /// Changes were lost (the receiver lagged): rebuild from a listing.
    Lost,
}

/// Take in every queued change; false once the cluster is gone.
pub fn drain(changes: &mut broadcast::Receiver<Change>, mut take: impl FnMut(Queued<'_>)) -> bool {
    loop {
        match changes.try_recv() {
            Ok(change) => take(Queued::Change(&change)),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Lagged(_)) => take(Queued::Lost),
            Err(TryRecvError::Closed) => return false,
        }
    }
}

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
            Ok(_) | Err(TryRecvError::Lagged(_)) => continue,
            Err(TryRecvError::Closed) => return Wake::Closed,
            Err(TryRecvError::Empty) => return Wake::Changed,
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
        self.should_report_at(uid, what, period, tokio::time::Instant::now())
    }

    fn should_report_at(
        &mut self,
        uid: &str,
        what: &str,
        period: Duration,
        now: tokio::time::Instant,
    ) -> bool {
        match self.last.get(uid) {
            Some((last, at)) if last == what && now.duration_since(*at) < period => false,
            _ => {
                self.last.insert(uid.to_string(), (what.to_string(), now));
                true
            }
        }
    }

    /// Forget one object (it is gone).
    pub fn forget(&mut self, uid: &str) {
        self.last.remove(uid);
    }

    /// Drop memory of objects that no longer exist.
    pub fn retain(&mut self, alive: impl Fn(&str) -> bool) {
        self.last.retain(|uid, _| alive(uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::cluster::{Cluster, WriteOptions};
    use crate::sandbox::resources::{CONFIG_MAPS, SECRETS};
    use serde_json::json;

    #[test]
    fn repeats_wait_for_the_period_unless_the_event_changes() {
        let mut filter = RepeatFilter::default();
        let period = Duration::from_secs(15);
        let t0 = tokio::time::Instant::now();
        assert!(filter.should_report_at("u", "FailedBinding: x", period, t0));
        assert!(!filter.should_report_at(
            "u",
            "FailedBinding: x",
            period,
            t0 + Duration::from_secs(1)
        ));
        assert!(filter.should_report_at(
            "u",
            "ProvisioningFailed: y",
            period,
            t0 + Duration::from_secs(2)
        ));
        assert!(!filter.should_report_at(
            "u",
            "ProvisioningFailed: y",
            period,
            t0 + Duration::from_secs(3)
        ));
        assert!(filter.should_report_at(
            "u",
            "ProvisioningFailed: y",
            period,
            t0 + Duration::from_secs(18)
        ));
        filter.forget("u");
        assert!(filter.should_report("u", "ProvisioningFailed: y", period));
        filter.retain(|uid| uid != "u");
        assert!(filter.should_report("u", "ProvisioningFailed: y", period));
    }

    #[tokio::test]
    async fn only_relevant_changes_wake_and_bursts_cost_one_wake() {
        let cluster = Cluster::new();
        let mut changes = cluster.subscribe();
        let opts = WriteOptions::default();
        let secret = json!({"metadata": {"name": "s"}});
        cluster
            .create(&SECRETS, Some("default"), secret, &opts)
            .expect("create");
        let is_config_map = |change: &Change| change.rt == &CONFIG_MAPS;
        let quiet = next_wake(&mut changes, is_config_map, Duration::from_millis(50)).await;
        assert_eq!(quiet, Wake::Resync);
        for i in 0..3 {
            let map = json!({"metadata": {"name": format!("c{i}")}});
            cluster
                .create(&CONFIG_MAPS, Some("default"), map, &opts)
                .expect("create");
        }
        let woke = next_wake(&mut changes, is_config_map, Duration::from_secs(5)).await;
        assert_eq!(woke, Wake::Changed);
        let drained = next_wake(&mut changes, is_config_map, Duration::from_millis(50)).await;
        assert_eq!(drained, Wake::Resync);
    }
}
