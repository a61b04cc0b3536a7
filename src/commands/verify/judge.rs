//! What `verify` tests and how it judges the result. Pure.
//!
//! For each ordinal it tests every writable data mount of the pod: claims of
//! the volumeClaimTemplates, and also emptyDir/hostPath mounts (so the common
//! mistake of keeping data in an emptyDir is shown, not hidden). Config
//! volumes (configMap, secret, projected, downwardAPI) are not data.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde::Serialize;

use crate::sts;

/// Where a mounted volume's data lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum MountSource {
    Claim { claim: String },
    EmptyDir,
    HostPath { path: String },
    Other { kind: String },
}

/// One mount to test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPlan {
    pub container: String,
    pub mount_path: String,
    pub volume: String,
    pub source: MountSource,
    /// The mount is of a volumeClaimTemplate name.
    pub from_template: bool,
}

/// The data mounts of a pod worth testing, in container then path order.
pub fn data_mounts(pod: &Pod, templates: &[String]) -> Vec<MountPlan> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let volumes = spec.volumes.clone().unwrap_or_default();
    let mut plans = Vec::new();
    for container in &spec.containers {
        for mount in container.volume_mounts.iter().flatten() {
            if mount.read_only == Some(true) {
                continue;
            }
            let Some(volume) = volumes.iter().find(|v| v.name == mount.name) else {
                continue;
            };
            let source = if let Some(claim) = &volume.persistent_volume_claim {
                MountSource::Claim {
                    claim: claim.claim_name.clone(),
                }
            } else if volume.empty_dir.is_some() {
                MountSource::EmptyDir
            } else if let Some(host) = &volume.host_path {
                MountSource::HostPath {
                    path: host.path.clone(),
                }
            } else if volume.config_map.is_some()
                || volume.secret.is_some()
                || volume.projected.is_some()
                || volume.downward_api.is_some()
            {
                continue;
            } else {
                MountSource::Other {
                    kind: "ephemeral or other".to_string(),
                }
            };
            plans.push(MountPlan {
                container: container.name.clone(),
                mount_path: mount.mount_path.clone(),
                volume: volume.name.clone(),
                source,
                from_template: templates.contains(&volume.name),
            });
        }
    }
    plans
}

/// What a mount's storage was, before or after the pod was recreated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageIdentity {
    pub claim_uid: Option<String>,
    pub volume_name: Option<String>,
    pub backend: Option<String>,
}

/// The identity of a claim-backed mount, from the claim and its volume.
pub fn storage_identity(
    claim: Option<&PersistentVolumeClaim>,
    volume: Option<&PersistentVolume>,
) -> StorageIdentity {
    StorageIdentity {
        claim_uid: claim.and_then(|c| c.metadata.uid.clone()),
        volume_name: claim.and_then(|c| c.spec.as_ref()?.volume_name.clone()),
        backend: volume
            .and_then(crate::commands::volumes::chain::backend)
            .map(|b| b.to_string()),
    }
}

/// What reading the marker back found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MarkerOutcome {
    Survived,
    Lost,
    Mismatch,
    /// The container has no shell: content was not checked.
    Unverified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Comparison {
    Same,
    Changed,
    NotChecked,
}

/// The verdict on one mount of one ordinal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MountVerdict {
    pub claim: Comparison,
    pub volume: Comparison,
    pub marker: MarkerOutcome,
    pub check: Comparison,
    pub survived: bool,
    /// Why it did not survive, or what was not verified.
    pub causes: Vec<String>,
}

/// Judge one mount from what was recorded before and after the recreation.
pub fn judge(
    plan: &MountPlan,
    before: &StorageIdentity,
    after: &StorageIdentity,
    written: Option<&str>,
    read_back: Option<Option<&str>>,
    check: (Option<&str>, Option<&str>),
) -> MountVerdict {
    let compare = |a: &Option<String>, b: &Option<String>| {
        if a.is_none() && b.is_none() {
            Comparison::NotChecked
        } else if a == b {
            Comparison::Same
        } else {
            Comparison::Changed
        }
    };
    let claim = compare(&before.claim_uid, &after.claim_uid);
    let volume = compare(&before.volume_name, &after.volume_name);
    let marker = match (written, read_back) {
        (Some(expected), Some(Some(found))) if found == expected => MarkerOutcome::Survived,
        (Some(_), Some(Some(_))) => MarkerOutcome::Mismatch,
        (Some(_), Some(None)) => MarkerOutcome::Lost,
        _ => MarkerOutcome::Unverified,
    };
    let check = match check {
        (Some(a), Some(b)) if a == b => Comparison::Same,
        (Some(_), _) => Comparison::Changed,
        _ => Comparison::NotChecked,
    };
    let mut causes = Vec::new();
    match &plan.source {
        MountSource::EmptyDir => causes.push(format!(
            "{} is an emptyDir volume: its data lives and dies with the pod; use a volumeClaimTemplate",
            plan.volume
        )),
        MountSource::HostPath { path } => causes.push(format!(
            "{} is a hostPath ({path}): data stays on one node only, not with the pod's identity",
            plan.volume
        )),
        MountSource::Other { kind } => causes.push(format!("{} is an {kind} volume, not a claim", plan.volume)),
        MountSource::Claim { .. } => {}
    }
    if claim == Comparison::Changed {
        causes.push(
            "the claim was deleted and recreated (retention policy, or someone deleted it): the pod got a new, empty claim"
                .to_string(),
        );
    }
    if volume == Comparison::Changed && claim != Comparison::Changed {
        causes.push("the claim is bound to a different volume than before".to_string());
    }
    match marker {
        MarkerOutcome::Lost if causes.is_empty() => {
            causes.push("the marker file is gone although claim and volume are the same".to_string())
        }
        MarkerOutcome::Mismatch => causes.push("the marker file holds different content".to_string()),
        MarkerOutcome::Unverified => {
            causes.push("the container has no shell: content was not verified, only the claim and volume identity".to_string())
        }
        _ => {}
    }
    if check == Comparison::Changed {
        causes.push("--check printed something else after the recreation".to_string());
    }
    let identity_ok = claim != Comparison::Changed && volume != Comparison::Changed;
    let content_ok = match marker {
        MarkerOutcome::Survived => true,
        MarkerOutcome::Unverified => {
            identity_ok && matches!(plan.source, MountSource::Claim { .. })
        }
        _ => false,
    };
    MountVerdict {
        survived: identity_ok && content_ok && check != Comparison::Changed,
        claim,
        volume,
        marker,
        check,
        causes,
    }
}

/// Why a pod's replacement is not Ready yet, for the timeout message: not
/// created, old pod still terminating, not scheduled (the scheduler's
/// reason, a cordoned node for one), a container waiting, or a probe.
pub fn replacement_holdup(pod: Option<&Pod>, old_uid: &str) -> String {
    let Some(pod) = pod else {
        return "no replacement has been created yet (the StatefulSet's events say why: \
                `kubectl describe statefulset`)"
            .to_string();
    };
    if pod.metadata.uid.as_deref() == Some(old_uid) {
        return "the old pod is still terminating".to_string();
    }
    if let Some(why) = sts::unscheduled_reason(pod) {
        return format!("it is Pending, not scheduled: {why}");
    }
    let status = pod.status.as_ref();
    let containers = status.into_iter().flat_map(|s| {
        s.init_container_statuses
            .iter()
            .flatten()
            .chain(s.container_statuses.iter().flatten())
    });
    for container in containers {
        if let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref())
            && let Some(reason) = waiting.reason.as_deref()
        {
            let detail = waiting
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            return format!("container {} is waiting: {reason}{detail}", container.name);
        }
    }
    match status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending") {
        "Running" => "it is Running but not Ready (its readiness probe has not passed)".to_string(),
        phase => format!("it is {phase}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replacement(status: &str) -> Pod {
        serde_saphyr::from_str(&format!(
            "metadata: {{name: web-2, uid: new}}\nstatus: {status}"
        ))
        .unwrap()
    }

    #[test]
    fn a_replacement_that_is_not_ready_says_what_holds_it() {
        assert!(replacement_holdup(None, "old").starts_with("no replacement has been created"));
        let old = serde_saphyr::from_str::<Pod>("metadata: {name: web-2, uid: old}").unwrap();
        assert_eq!(
            replacement_holdup(Some(&old), "old"),
            "the old pod is still terminating"
        );
        let cordoned = replacement(
            "{phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable, \
             message: '0/1 nodes are available: 1 node(s) were unschedulable.'}]}",
        );
        assert_eq!(
            replacement_holdup(Some(&cordoned), "old"),
            "it is Pending, not scheduled: 0/1 nodes are available: 1 node(s) were unschedulable"
        );
        let pulling = replacement(
            "{phase: Pending, containerStatuses: [{name: nginx, image: x, imageID: '', ready: false, restartCount: 0, \
             state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image'}}}]}",
        );
        assert_eq!(
            replacement_holdup(Some(&pulling), "old"),
            "container nginx is waiting: ImagePullBackOff (Back-off pulling image)"
        );
        let unready = replacement("{phase: Running}");
        assert!(replacement_holdup(Some(&unready), "old").contains("readiness probe"));
    }

    fn pod(yaml_volumes: &str, mounts: &str) -> Pod {
        serde_saphyr::from_str(&format!(
            r#"
metadata: {{name: web-0}}
spec:
  containers:
  - name: nginx
    image: nginx
    volumeMounts: {mounts}
  volumes: {yaml_volumes}
"#
        ))
        .expect("valid pod")
    }

    fn identity(claim: &str, volume: &str) -> StorageIdentity {
        StorageIdentity {
            claim_uid: Some(claim.into()),
            volume_name: Some(volume.into()),
            backend: None,
        }
    }

    #[test]
    fn data_mounts_cover_claims_and_emptydirs_but_not_config() {
        let p = pod(
            "[{name: www, persistentVolumeClaim: {claimName: www-web-0}}, {name: scratch, emptyDir: {}}, {name: conf, configMap: {name: c}}]",
            "[{name: www, mountPath: /usr/share/nginx/html}, {name: scratch, mountPath: /tmp/s}, {name: conf, mountPath: /etc/c}]",
        );
        let plans = data_mounts(&p, &["www".to_string()]);
        assert_eq!(plans.len(), 2);
        assert_eq!(
            plans[0].source,
            MountSource::Claim {
                claim: "www-web-0".into()
            }
        );
        assert!(plans[0].from_template);
        assert_eq!(plans[1].source, MountSource::EmptyDir);
    }

    fn claim_plan() -> MountPlan {
        MountPlan {
            container: "nginx".into(),
            mount_path: "/data".into(),
            volume: "www".into(),
            source: MountSource::Claim {
                claim: "www-web-0".into(),
            },
            from_template: true,
        }
    }

    #[test]
    fn same_claim_same_volume_same_marker_survives() {
        let v = judge(
            &claim_plan(),
            &identity("u1", "pv1"),
            &identity("u1", "pv1"),
            Some("abc"),
            Some(Some("abc")),
            (Some("x"), Some("x")),
        );
        assert!(v.survived, "{v:?}");
        assert_eq!(v.marker, MarkerOutcome::Survived);
        assert_eq!(v.check, Comparison::Same);
        assert!(v.causes.is_empty());
    }

    #[test]
    fn a_recreated_claim_is_named_as_the_cause() {
        let v = judge(
            &claim_plan(),
            &identity("u1", "pv1"),
            &identity("u2", "pv2"),
            Some("abc"),
            Some(None),
            (None, None),
        );
        assert!(!v.survived);
        assert_eq!(v.claim, Comparison::Changed);
        assert_eq!(v.marker, MarkerOutcome::Lost);
        assert!(
            v.causes[0].contains("deleted and recreated"),
            "{:?}",
            v.causes
        );
    }

    #[test]
    fn an_emptydir_loses_the_marker_and_says_why() {
        let plan = MountPlan {
            source: MountSource::EmptyDir,
            from_template: false,
            ..claim_plan()
        };
        let none = StorageIdentity::default();
        let v = judge(&plan, &none, &none, Some("abc"), Some(None), (None, None));
        assert!(!v.survived);
        assert!(v.causes[0].contains("emptyDir"), "{:?}", v.causes);
    }

    #[test]
    fn no_shell_falls_back_to_identity_and_says_so() {
        let v = judge(
            &claim_plan(),
            &identity("u1", "pv1"),
            &identity("u1", "pv1"),
            None,
            None,
            (None, None),
        );
        assert!(v.survived);
        assert_eq!(v.marker, MarkerOutcome::Unverified);
        assert!(v.causes[0].contains("not verified"));
    }

    #[test]
    fn changed_check_output_fails() {
        let v = judge(
            &claim_plan(),
            &identity("u1", "pv1"),
            &identity("u1", "pv1"),
            Some("m"),
            Some(Some("m")),
            (Some("abc"), Some("")),
        );
        assert!(!v.survived);
        assert_eq!(v.check, Comparison::Changed);
    }
}
