//! The write log: every committed write with its resourceVersion and the
//! server's clock to the microsecond, for measurements that need a finer clock
//! than the second-resolution timestamps in objects (a condition's
//! `lastTransitionTime`). A client that saw an object at resourceVersion N
//! (there is one global counter) looks up when N was written.
//!
//! `GET /sandbox/writes` returns `{"lost": N, "writes": [{"resourceVersion":
//! "123", "time": "...Z", "unixMicros": 1700000000123456, "type": "MODIFIED",
//! "resource": "statefulsets.apps", "namespace": "default", "name": "web"}]}`,
//! oldest first, the last `CAPACITY` writes; `lost` counts writes the log could
//! not keep up with. `DELETE /sandbox/writes` empties it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::cluster::Cluster;
use super::store::WatchEventType;

/// Writes kept; older ones are dropped first.
pub const CAPACITY: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    pub resource_version: u64,
    pub unix_micros: i64,
    pub event_type: WatchEventType,
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Default)]
struct Inner {
    writes: VecDeque<WriteRecord>,
    lost: u64,
}

/// Shared, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct WriteLog {
    inner: Arc<Mutex<Inner>>,
}

fn micros(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl WriteLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, record: WriteRecord) {
        let mut inner = self.lock();
        if inner.writes.len() == CAPACITY {
            inner.writes.pop_front();
        }
        inner.writes.push_back(record);
    }

    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    pub fn records(&self) -> Vec<WriteRecord> {
        self.lock().writes.iter().cloned().collect()
    }

    /// Follows every write of `cluster` until `shutdown`.
    pub fn follow(&self, cluster: &Cluster, shutdown: CancellationToken) -> JoinHandle<()> {
        let mut changes = cluster.subscribe();
        let log = self.clone();
        tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    change = changes.recv() => change,
                };
                match change {
                    Ok(change) => {
                        let meta = &change.event.object["metadata"];
                        let text = |key: &str| meta[key].as_str().unwrap_or_default().to_string();
                        log.push(WriteRecord {
                            resource_version: change.event.resource_version,
                            unix_micros: micros(change.at),
                            event_type: change.event.event_type,
                            resource: change.rt.group_resource(),
                            namespace: text("namespace"),
                            name: text("name"),
                        });
                    }
                    Err(RecvError::Lagged(missed)) => log.lock().lost += missed,
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }

    /// The log as `GET /sandbox/writes` serves it.
    pub fn to_json(&self) -> Value {
        let inner = self.lock();
        let writes: Vec<Value> = inner
            .writes
            .iter()
            .map(|w| {
                let time = jiff::Timestamp::from_microsecond(w.unix_micros)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                json!({
                    "resourceVersion": w.resource_version.to_string(),
                    "time": time,
                    "unixMicros": w.unix_micros,
                    "type": w.event_type.as_str(),
                    "resource": w.resource,
                    "namespace": w.namespace,
                    "name": w.name,
                })
            })
            .collect();
        json!({"lost": inner.lost, "writes": writes})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::cluster::WriteOptions;
    use crate::sandbox::resources;

    #[tokio::test]
    async fn every_write_is_logged_with_its_resource_version_and_a_fine_clock() {
        let cluster = Cluster::new();
        let log = WriteLog::default();
        let shutdown = CancellationToken::new();
        let task = log.follow(&cluster, shutdown.clone());
        let before = micros(SystemTime::now());
        let created = cluster
            .create(
                &resources::CONFIG_MAPS,
                Some("default"),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}),
                &WriteOptions::default(),
            )
            .expect("create");
        let rv: u64 = created["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("resourceVersion");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let record = loop {
            if let Some(r) = log.records().into_iter().find(|r| r.resource_version == rv) {
                break r;
            }
            assert!(std::time::Instant::now() < deadline, "write never logged");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!(record.name, "cm");
        assert_eq!(record.namespace, "default");
        assert_eq!(record.resource, "configmaps");
        assert_eq!(record.event_type, WatchEventType::Added);
        assert!(record.unix_micros >= before);
        let served = log.to_json();
        assert_eq!(served["lost"], 0);
        assert!(
            served["writes"]
                .as_array()
                .expect("writes")
                .iter()
                .any(
                    |w| w["resourceVersion"].as_str() == Some(rv.to_string().as_str())
                        && w["type"] == "ADDED"
                )
        );
        log.clear();
        assert!(log.records().is_empty());
        shutdown.cancel();
        let _ = task.await;
    }
}
