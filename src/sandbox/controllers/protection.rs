//! Storage object in-use protection, as upstream's pvc-protection and
//! pv-protection controllers (pkg/controller/volume/pvcprotection,
//! pvprotection): a claim marked for deletion keeps its
//! `kubernetes.io/pvc-protection` finalizer (and shows Terminating) while a
//! pod still uses it; a volume keeps `kubernetes.io/pv-protection` while it
//! is Bound. The finalizers themselves are added at creation by the API
//! server's StorageObjectInUseProtection admission; without them there is
//! nothing to do here.

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde_json::json;

use super::resync::{Wake, next_wake};
use crate::sandbox::api::cluster::{Change, Cluster, PatchBody, Subresource, WriteOptions};
use crate::sandbox::resources::{PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, ResourceType};

pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

fn has_finalizer(finalizers: Option<&Vec<String>>, finalizer: &str) -> bool {
    finalizers.is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// Whether a pod still holds the claim: it names it and has not finished
/// (a terminating pod still has the volume mounted).
pub fn pod_uses_claim(pod: &Pod, claim: &PersistentVolumeClaim) -> bool {
    if pod.metadata.namespace != claim.metadata.namespace {
        return false;
    }
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    let claim_name = claim.metadata.name.as_deref().unwrap_or_default();
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .any(|v| {
            v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| c.claim_name == claim_name)
                // A generic ephemeral volume's claim is `<pod>-<volume>`.
                || (v.ephemeral.is_some() && format!("{pod_name}-{}", v.name) == claim_name)
        })
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

/// One pass over claims and volumes being deleted.
pub fn sync_once(cluster: &Cluster) {
    let (Ok(claims), Ok(volumes)) = (
        cluster.list_typed::<PersistentVolumeClaim>(None, None),
        cluster.list_typed::<PersistentVolume>(None, None),
    ) else {
        return;
    };
    let deleting_claims: Vec<&PersistentVolumeClaim> = claims
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_some())
        .collect();
    if !deleting_claims.is_empty() {
        let pods: Vec<Pod> = cluster.list_typed(None, None).unwrap_or_default();
        for claim in deleting_claims
            .into_iter()
            .filter(|c| claim_can_go(c, &pods))
        {
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
    }
    for volume in volumes.iter().filter(|v| volume_can_go(v)) {
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

fn is_relevant(change: &Change) -> bool {
    let rt = change.rt;
    rt == &PERSISTENT_VOLUME_CLAIMS || rt == &PERSISTENT_VOLUMES || rt == &PODS
}

/// Release protected objects as they become free, until the cluster goes away.
pub async fn run(cluster: Cluster) {
    let mut changes = cluster.subscribe();
    loop {
        sync_once(&cluster);
        if next_wake(&mut changes, is_relevant, Duration::from_secs(10)).await == Wake::Closed {
            return;
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
