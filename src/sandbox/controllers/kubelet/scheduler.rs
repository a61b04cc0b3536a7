//! The scheduler's part for the one-node sandbox: the NodeUnschedulable
//! plugin (a cordoned node) and the VolumeBinding plugin's checks
//! (kube-scheduler pkg/scheduler/framework/plugins/{nodeunschedulable,volumebinding}).
//! A pod is bound to the node once every claim it uses is Bound; claims of
//! a WaitForFirstConsumer class first get the selected node, so their
//! provisioner can act. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;

use crate::sandbox::controllers::volumes::{SELECTED_NODE, claim_class, waits_for_first_consumer};

/// The scheduler's component name in events.
pub const COMPONENT: &str = "default-scheduler";

/// What the scheduler does with an unscheduled pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulingDecision {
    /// Every claim is Bound: bind the pod to the node.
    Bind,
    /// WaitForFirstConsumer claims need the selected node before they can be
    /// provisioned; the pod waits for them (no event, as upstream's PreBind).
    SelectNodeFor(Vec<String>),
    /// Waiting for claims to be bound after the node was selected.
    WaitForBinding,
    /// The pod cannot be scheduled: PodScheduled=False and FailedScheduling.
    Unschedulable(String),
}

/// The claims a pod's volumes name, in spec order.
pub fn claim_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
        })
        .collect()
}

/// The scheduler's message for a reason the one node does not fit.
pub fn unschedulable_message(reason: &str) -> String {
    format!(
        "0/1 nodes are available: {reason}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    )
}

/// The taint a cordoned node carries, which pods may tolerate.
const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

/// Whether the node takes the pod as far as cordoning goes (the
/// NodeUnschedulable plugin): a cordoned node (`kubectl cordon`, `drain`)
/// takes only pods tolerating its unschedulable taint.
pub fn node_admits(node: &Node, pod: &Pod) -> bool {
    let cordoned = node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
    !cordoned
        || pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_ref())
            .into_iter()
            .flatten()
            .any(|t| {
                let key_matches = match t.operator.as_deref() {
                    Some("Exists") => t
                        .key
                        .as_deref()
                        .is_none_or(|k| k.is_empty() || k == UNSCHEDULABLE_TAINT),
                    _ => t.key.as_deref() == Some(UNSCHEDULABLE_TAINT),
                };
                key_matches
                    && t.effect
                        .as_deref()
                        .is_none_or(|e| e.is_empty() || e == "NoSchedule")
            })
}

/// The node's taints once the unschedulable taint follows `spec.unschedulable`
/// (upstream's node lifecycle controller keeps them in step; null for none
/// left), or `None` when they already do.
pub fn taints_following_cordon(node: &Node, now: &str) -> Option<serde_json::Value> {
    let spec = node.spec.as_ref();
    let cordoned = spec.and_then(|s| s.unschedulable) == Some(true);
    let taints = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
    let tainted = taints.iter().any(|t| t.key == UNSCHEDULABLE_TAINT);
    if cordoned == tainted {
        return None;
    }
    let mut kept: Vec<serde_json::Value> = taints
        .iter()
        .filter(|t| t.key != UNSCHEDULABLE_TAINT)
        .filter_map(|t| serde_json::to_value(t).ok())
        .collect();
    if cordoned {
        kept.push(serde_json::json!({
            "key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now
        }));
    }
    // No taints left: the field goes (null removes it in a merge patch).
    Some(if kept.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::Value::Array(kept)
    })
}

fn is_bound(claim: &PersistentVolumeClaim) -> bool {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
}

/// The decision for a pod, given its claims (by name; `None` = missing) and the classes.
pub fn plan_scheduling(
    pod: &Pod,
    claims: &BTreeMap<String, Option<PersistentVolumeClaim>>,
    classes: &BTreeMap<String, StorageClass>,
) -> SchedulingDecision {
    let mut select_node = Vec::new();
    let mut waiting = false;
    for name in claim_names(pod) {
        let Some(Some(claim)) = claims.get(&name) else {
            return SchedulingDecision::Unschedulable(unschedulable_message(&format!(
                "persistentvolumeclaim \"{name}\" not found"
            )));
        };
        if claim.metadata.deletion_timestamp.is_some() {
            return SchedulingDecision::Unschedulable(unschedulable_message(&format!(
                "persistentvolumeclaim \"{name}\" is being deleted"
            )));
        }
        if is_bound(claim) {
            continue;
        }
        let delayed = classes
            .get(&claim_class(claim))
            .is_some_and(waits_for_first_consumer);
        if !delayed {
            return SchedulingDecision::Unschedulable(unschedulable_message(
                "pod has unbound immediate PersistentVolumeClaims",
            ));
        }
        let selected = claim
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(SELECTED_NODE));
        if selected {
            waiting = true;
        } else {
            select_node.push(name);
        }
    }
    if !select_node.is_empty() {
        SchedulingDecision::SelectNodeFor(select_node)
    } else if waiting {
        SchedulingDecision::WaitForBinding
    } else {
        SchedulingDecision::Bind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cordoned_node_takes_only_pods_tolerating_it() {
        use k8s_openapi::api::core::v1::{NodeSpec, PodSpec, Toleration};
        let cordoned = Node {
            spec: Some(NodeSpec {
                unschedulable: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let plain = Pod {
            spec: Some(PodSpec::default()),
            ..Default::default()
        };
        assert!(node_admits(&Node::default(), &plain));
        assert!(!node_admits(&cordoned, &plain));
        let tolerant = Pod {
            spec: Some(PodSpec {
                tolerations: Some(vec![Toleration {
                    key: Some(UNSCHEDULABLE_TAINT.into()),
                    operator: Some("Exists".into()),
                    effect: Some("NoSchedule".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(node_admits(&cordoned, &tolerant));

        let now = "2026-11-23T12:00:00Z";
        let taints = taints_following_cordon(&cordoned, now).expect("a taint to add");
        assert_eq!(
            taints,
            serde_json::json!([{"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now}])
        );
        let mut tainted = cordoned.clone();
        tainted.spec.as_mut().unwrap().taints = serde_json::from_value(taints).ok();
        assert_eq!(taints_following_cordon(&tainted, now), None);
        tainted.spec.as_mut().unwrap().unschedulable = Some(false);
        assert_eq!(
            taints_following_cordon(&tainted, now),
            Some(serde_json::Value::Null)
        );
        assert_eq!(taints_following_cordon(&Node::default(), now), None);
    }
    use k8s_openapi::api::core::v1::{
        PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, PersistentVolumeClaimVolumeSource,
        PodSpec, Volume,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod_with_claims(names: &[&str]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                volumes: Some(
                    names
                        .iter()
                        .map(|n| Volume {
                            name: "www".into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: n.to_string(),
                                read_only: None,
                            }),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn claim(class: &str, phase: &str, selected: bool) -> Option<PersistentVolumeClaim> {
        Some(PersistentVolumeClaim {
            metadata: ObjectMeta {
                annotations: selected
                    .then(|| [(SELECTED_NODE.to_string(), "sandbox-node".to_string())].into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                storage_class_name: Some(class.into()),
                ..Default::default()
            }),
            status: Some(PersistentVolumeClaimStatus {
                phase: Some(phase.into()),
                ..Default::default()
            }),
        })
    }

    fn classes() -> BTreeMap<String, StorageClass> {
        let late = StorageClass {
            metadata: ObjectMeta {
                name: Some("late".into()),
                ..Default::default()
            },
            volume_binding_mode: Some("WaitForFirstConsumer".into()),
            ..Default::default()
        };
        [("late".to_string(), late)].into()
    }

    #[test]
    fn pods_wait_for_immediate_claims_with_the_upstream_message() {
        let pod = pod_with_claims(&["a", "b"]);
        let claims = [
            ("a".to_string(), claim("nfs", "Bound", false)),
            ("b".to_string(), claim("nfs", "Pending", false)),
        ]
        .into();
        assert_eq!(
            plan_scheduling(&pod, &claims, &classes()),
            SchedulingDecision::Unschedulable(
                "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.".into()
            )
        );
        let missing = [("a".to_string(), None)].into();
        assert!(matches!(
            plan_scheduling(&pod_with_claims(&["a"]), &missing, &classes()),
            SchedulingDecision::Unschedulable(m) if m.contains("persistentvolumeclaim \"a\" not found")
        ));
    }

    #[test]
    fn delayed_claims_get_the_node_then_the_pod_waits_for_them() {
        let pod = pod_with_claims(&["a"]);
        let fresh = [("a".to_string(), claim("late", "Pending", false))].into();
        assert_eq!(
            plan_scheduling(&pod, &fresh, &classes()),
            SchedulingDecision::SelectNodeFor(vec!["a".into()])
        );
        let selected = [("a".to_string(), claim("late", "Pending", true))].into();
        assert_eq!(
            plan_scheduling(&pod, &selected, &classes()),
            SchedulingDecision::WaitForBinding
        );
        let bound = [("a".to_string(), claim("late", "Bound", true))].into();
        assert_eq!(
            plan_scheduling(&pod, &bound, &classes()),
            SchedulingDecision::Bind
        );
        assert_eq!(
            plan_scheduling(&pod_with_claims(&[]), &BTreeMap::new(), &classes()),
            SchedulingDecision::Bind
        );
    }
}
