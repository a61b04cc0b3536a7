//! Storage object in-use protection, as upstream's pvc-protection and
//! pv-protection controllers (pkg/controller/volume/pvcprotection,
//! pvprotection): a claim marked for deletion keeps its
//! `kubernetes.io/pvc-protection` finalizer (and shows Terminating) while a
//! pod still uses it; a volume keeps `kubernetes.io/pv-protection` while it
//! is Bound. The finalizers themselves are added at creation by the API
//! server's StorageObjectInUseProtection admission; without them there is
//! nothing to do here.
//!
//! Like upstream's, the controller keeps its view from the change stream:
//! the claims and volumes being deleted, and which pods use which claim, so
//! a change costs nothing more than updating that view.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};

use super::resync::{self, Queued};
use crate::sandbox::api::cluster::{
    Change, Cluster, PatchBody, Subresource, WatchEventType, WriteOptions,
};
use crate::sandbox::resources::{PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, ResourceType};

pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

fn has_finalizer(finalizers: Option<&Vec<String>>, finalizer: &str) -> bool {
    finalizers.is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// The claims (of its namespace) a pod holds: those it names, unless it has
/// finished (a terminating pod still has its volumes mounted).
pub fn claims_held(pod: &Pod) -> Vec<String> {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return Vec::new();
    }
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|v| match (&v.persistent_volume_claim, &v.ephemeral) {
            (Some(c), _) => Some(c.claim_name.clone()),
            // A generic ephemeral volume's claim is `<pod>-<volume>`.
            (None, Some(_)) => Some(format!("{pod_name}-{}", v.name)),
            (None, None) => None,
        })
        .collect()
}

/// Whether a pod still holds the claim: it names it and has not finished.
pub fn pod_uses_claim(pod: &Pod, claim: &PersistentVolumeClaim) -> bool {
    if pod.metadata.namespace != claim.metadata.namespace {
        return false;
    }
    let claim_name = claim.metadata.name.as_deref().unwrap_or_default();
    claims_held(pod).iter().any(|name| name == claim_name)
}

/// A deleted claim may lose its protection once no pod uses it.
pub fn claim_can_go(claim: &PersistentVolumeClaim, pods: &[Pod]) -> bool {
    claim.metadata.deletion_timestamp.is_some()
        && has_finalizer(claim.metadata.finalizers.as_ref(), PVC_PROTECTION)
        && !pods.iter().any(|p| pod_uses_claim(p, claim))
}

/// A deleted volume may lose its protection once it is not Bound.
pub fn volume_can_go(volume: &PersistentVolume) -> bool {
    volume.metadata.deletion_timestamp.is_some()
        && has_finalizer(volume.metadata.finalizers.as_ref(), PV_PROTECTION)
        && volume.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound")
}

fn remove_finalizer(
    cluster: &Cluster,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
    finalizers: &[String],
    finalizer: &str,
    resource_version: Option<&str>,
) {
    let kept: Vec<&String> = finalizers.iter().filter(|f| *f != finalizer).collect();
    // The resourceVersion makes this a compare-and-swap, as upstream's update.
    let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": resource_version}});
    if let Err(err) = cluster.patch(
        rt,
        namespace,
        name,
        PatchBody::Merge(patch),
        Subresource::Main,
        &WriteOptions::default(),
    ) {
        tracing::debug!(%err, "protection: cannot remove {finalizer} from {name}");
    }
}

type Key = (String, String);

fn key_of(namespace: Option<&str>, name: Option<&str>) -> Key {
    (
        namespace.unwrap_or_default().to_string(),
        name.unwrap_or_default().to_string(),
    )
}

/// What the two controllers look at: the protected objects being deleted,
/// and the claims held by pods.
#[derive(Default)]
pub struct Protection {
    deleting_claims: BTreeMap<Key, PersistentVolumeClaim>,
    deleting_volumes: BTreeMap<String, PersistentVolume>,
    /// (namespace, claim) -> pods holding it.
    holders: HashMap<Key, BTreeSet<String>>,
    /// (namespace, pod) -> the claims it holds.
    held_by_pod: HashMap<Key, Vec<String>>,
}

impl Protection {
    /// The view from a fresh listing.
    pub fn from_cluster(cluster: &Cluster) -> Option<Protection> {
        let (Ok(claims), Ok(volumes), Ok(pods)) = (
            cluster.list_typed::<PersistentVolumeClaim>(None, None),
            cluster.list_typed::<PersistentVolume>(None, None),
            cluster.list_typed::<Pod>(None, None),
        ) else {
            return None;
        };
        let mut view = Protection::default();
        for claim in claims {
            view.put_claim(claim);
        }
        for volume in volumes {
            view.put_volume(volume);
        }
        for pod in pods {
            view.put_pod(&pod);
        }
        Some(view)
    }

    fn apply(&mut self, change: &Change) {
        let deleted = change.event.event_type == WatchEventType::Deleted;
        let object = &change.event.object;
        if change.rt == &PERSISTENT_VOLUME_CLAIMS {
            if let Ok(claim) = PersistentVolumeClaim::deserialize(object) {
                if deleted {
                    let meta = &claim.metadata;
                    self.deleting_claims
                        .remove(&key_of(meta.namespace.as_deref(), meta.name.as_deref()));
                } else {
                    self.put_claim(claim);
                }
            }
        } else if change.rt == &PERSISTENT_VOLUMES {
            if let Ok(volume) = PersistentVolume::deserialize(object) {
                if deleted {
                    let name = volume.metadata.name.clone().unwrap_or_default();
                    self.deleting_volumes.remove(&name);
                } else {
                    self.put_volume(volume);
                }
            }
        } else if change.rt == &PODS
            && let Ok(pod) = Pod::deserialize(object)
        {
            if deleted {
                let meta = &pod.metadata;
                self.remove_pod(&key_of(meta.namespace.as_deref(), meta.name.as_deref()));
            } else {
                self.put_pod(&pod);
            }
        }
    }

    fn put_claim(&mut self, claim: PersistentVolumeClaim) {
        let meta = &claim.metadata;
        let key = key_of(meta.namespace.as_deref(), meta.name.as_deref());
        if meta.deletion_timestamp.is_some()
            && has_finalizer(meta.finalizers.as_ref(), PVC_PROTECTION)
        {
            self.deleting_claims.insert(key, claim);
        } else {
            self.deleting_claims.remove(&key);
        }
    }

    fn put_volume(&mut self, volume: PersistentVolume) {
        let meta = &volume.metadata;
        let name = meta.name.clone().unwrap_or_default();
        if meta.deletion_timestamp.is_some()
            && has_finalizer(meta.finalizers.as_ref(), PV_PROTECTION)
        {
            self.deleting_volumes.insert(name, volume);
        } else {
            self.deleting_volumes.remove(&name);
        }
    }

    fn put_pod(&mut self, pod: &Pod) {
        let meta = &pod.metadata;
        let key = key_of(meta.namespace.as_deref(), meta.name.as_deref());
        let held = claims_held(pod);
        if self.held_by_pod.get(&key) == Some(&held) {
            return;
        }
        self.remove_pod(&key);
        for claim in &held {
            self.holders
                .entry((key.0.clone(), claim.clone()))
                .or_default()
                .insert(key.1.clone());
        }
        if !held.is_empty() {
            self.held_by_pod.insert(key, held);
        }
    }

    fn remove_pod(&mut self, key: &Key) {
        for claim in self.held_by_pod.remove(key).unwrap_or_default() {
            let claim_key = (key.0.clone(), claim);
            if let Some(pods) = self.holders.get_mut(&claim_key) {
                pods.remove(&key.1);
                if pods.is_empty() {
                    self.holders.remove(&claim_key);
                }
            }
        }
    }

    /// Remove the finalizers that may go now.
    pub fn sync(&self, cluster: &Cluster) {
        for (key, claim) in &self.deleting_claims {
            if self.holders.contains_key(key) {
                continue;
            }
            remove_finalizer(
                cluster,
                &PERSISTENT_VOLUME_CLAIMS,
                claim.metadata.namespace.as_deref(),
                claim.metadata.name.as_deref().unwrap_or_default(),
                claim.metadata.finalizers.as_deref().unwrap_or_default(),
                PVC_PROTECTION,
                claim.metadata.resource_version.as_deref(),
            );
        }
        for volume in self.deleting_volumes.values().filter(|v| volume_can_go(v)) {
            remove_finalizer(
                cluster,
                &PERSISTENT_VOLUMES,
                None,
                volume.metadata.name.as_deref().unwrap_or_default(),
                volume.metadata.finalizers.as_deref().unwrap_or_default(),
                PV_PROTECTION,
                volume.metadata.resource_version.as_deref(),
            );
        }
    }
}

/// One pass over claims and volumes being deleted, from a fresh listing.
pub fn sync_once(cluster: &Cluster) {
    if let Some(view) = Protection::from_cluster(cluster) {
        view.sync(cluster);
    }
}

fn is_relevant(change: &Change) -> bool {
    let rt = change.rt;
    rt == &PERSISTENT_VOLUME_CLAIMS || rt == &PERSISTENT_VOLUMES || rt == &PODS
}

/// How often everything is looked at again without a change (to retry a
/// write that lost a race).
const RESYNC: Duration = Duration::from_secs(10);

/// Take in every queued change; false once the cluster is gone.
fn drain(
    cluster: &Cluster,
    view: &mut Protection,
    changes: &mut broadcast::Receiver<Change>,
) -> bool {
    resync::drain(changes, |seen| match seen {
        Queued::Change(change) => view.apply(change),
        Queued::Lost => *view = Protection::from_cluster(cluster).unwrap_or_default(),
    })
}

/// Release protected objects as they become free, until the cluster goes away.
pub async fn run(cluster: Cluster) {
    let mut changes = cluster.subscribe();
    let mut view = Protection::from_cluster(&cluster).unwrap_or_default();
    loop {
        if !drain(&cluster, &mut view, &mut changes) {
            return;
        }
        view.sync(&cluster);
        let deadline = tokio::time::Instant::now() + RESYNC;
        loop {
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Err(_elapsed) => break,
                Ok(Ok(change)) => {
                    view.apply(&change);
                    if is_relevant(&change) {
                        break;
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => {
                    view = Protection::from_cluster(&cluster).unwrap_or_default();
                    break;
                }
                Ok(Err(RecvError::Closed)) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        PersistentVolumeClaimVolumeSource, PersistentVolumeStatus, PodSpec, PodStatus, Volume,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn deleted_claim() -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("www-web-0".into()),
                namespace: Some("default".into()),
                deletion_timestamp: Some(Time(jiff::Timestamp::UNIX_EPOCH)),
                finalizers: Some(vec![PVC_PROTECTION.into()]),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn pod_using(claim: &str, phase: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web-0".into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                volumes: Some(vec![Volume {
                    name: "www".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: claim.into(),
                        read_only: None,
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_claim_stays_while_a_running_pod_uses_it() {
        let claim = deleted_claim();
        assert!(!claim_can_go(&claim, &[pod_using("www-web-0", "Running")]));
        assert!(claim_can_go(&claim, &[pod_using("www-web-0", "Succeeded")]));
        assert!(claim_can_go(&claim, &[pod_using("other", "Running")]));
        assert!(claim_can_go(&claim, &[]));
        let mut unprotected = deleted_claim();
        unprotected.metadata.finalizers = None;
        assert!(!claim_can_go(&unprotected, &[]), "nothing to remove");
    }

    #[test]
    fn a_volume_stays_while_bound() {
        let mut volume = PersistentVolume {
            metadata: ObjectMeta {
                deletion_timestamp: Some(Time(jiff::Timestamp::UNIX_EPOCH)),
                finalizers: Some(vec![PV_PROTECTION.into()]),
                ..Default::default()
            },
            spec: None,
            status: Some(PersistentVolumeStatus {
                phase: Some("Bound".into()),
                ..Default::default()
            }),
        };
        assert!(!volume_can_go(&volume));
        volume.status = Some(PersistentVolumeStatus {
            phase: Some("Released".into()),
            ..Default::default()
        });
        assert!(volume_can_go(&volume));
    }
}
