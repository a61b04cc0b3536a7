//! StatefulSet facts every command needs, as pure functions over k8s-openapi
//! types: ordinals and names, selectors, revisions, pod health, and the
//! rollout-status rule kubectl uses.

use std::collections::BTreeMap;
use std::ops::Range;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Label the StatefulSet controller puts on each pod: the ControllerRevision name.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// Label with the pod's own name.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Label with the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

pub fn name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or_default()
}

pub fn namespace(set: &StatefulSet) -> &str {
    set.metadata.namespace.as_deref().unwrap_or("default")
}

/// Desired replicas (the API defaults a missing value to 1).
pub fn desired_replicas(set: &StatefulSet) -> i32 {
    set.spec.replicas.unwrap_or(1)
}

/// The first ordinal (`spec.ordinals.start`, default 0).
pub fn ordinal_start(set: &StatefulSet) -> i32 {
    set.spec
        .ordinals
        .as_ref()
        .and_then(|o| o.start)
        .unwrap_or(0)
}

/// The ordinals the set should have: start .. start + replicas.
pub fn ordinals(set: &StatefulSet) -> Range<i32> {
    let start = ordinal_start(set);
    start..start + desired_replicas(set).max(0)
}

pub fn pod_name(set_name: &str, ordinal: i32) -> String {
    format!("{set_name}-{ordinal}")
}

/// The claim a volumeClaimTemplate gives an ordinal: `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set_name: &str, ordinal: i32) -> String {
    format!("{template}-{set_name}-{ordinal}")
}

/// The ordinal in a pod name `<set>-<ordinal>`, if it is one of this set's.
pub fn ordinal_of_pod(set_name: &str, pod_name: &str) -> Option<i32> {
    pod_name
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse::<i32>()
        .ok()
        .filter(|o| *o >= 0)
}

/// The ordinal in a claim name `<template>-<set>-<ordinal>`.
pub fn ordinal_of_claim(template: &str, set_name: &str, claim_name: &str) -> Option<i32> {
    let rest = claim_name.strip_prefix(template)?.strip_prefix('-')?;
    ordinal_of_pod(set_name, rest)
}

/// Names of the set's volumeClaimTemplates.
pub fn claim_templates(set: &StatefulSet) -> Vec<String> {
    set.spec
        .volume_claim_templates
        .as_ref()
        .map(|templates| {
            templates
                .iter()
                .filter_map(|t| t.metadata.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// `spec.updateStrategy.type` (`RollingUpdate` when unset, as the API defaults it).
pub fn update_strategy(set: &StatefulSet) -> &str {
    set.spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

/// `spec.updateStrategy.rollingUpdate.partition` (0 when unset).
pub fn partition(set: &StatefulSet) -> i32 {
    set.spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0)
}

/// `spec.podManagementPolicy` (`OrderedReady` when unset).
pub fn pod_management_policy(set: &StatefulSet) -> &str {
    set.spec
        .pod_management_policy
        .as_deref()
        .unwrap_or("OrderedReady")
}

/// A label selector in the query-string form the API accepts
/// (`app=nginx,tier in (web,api),!legacy`).
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.clone().unwrap_or_default().join(",");
        parts.push(match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            "DoesNotExist" => format!("!{}", expr.key),
            other => format!("{} {other} ({values})", expr.key),
        });
    }
    parts.join(",")
}

/// The set's pod selector as a query string; None when it has none.
pub fn pod_selector(set: &StatefulSet) -> Option<String> {
    Some(selector_string(&set.spec.selector)).filter(|s| !s.is_empty())
}

/// Whether labels satisfy a selector (matchLabels and matchExpressions).
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_ok = selector.match_expressions.iter().flatten().all(|expr| {
        let values = expr.values.as_deref().unwrap_or_default();
        let value = labels.get(&expr.key);
        match expr.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_ok && expressions_ok
}

/// The ControllerRevision a pod was created from.
pub fn pod_revision(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(REVISION_LABEL))
        .map(String::as_str)
}

/// The pod's Ready condition is True.
pub fn is_pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// The scheduler's reason a pod is not scheduled (its PodScheduled=False
/// condition: a cordoned node, unbound claims...), None once it is.
pub fn unscheduled_reason(pod: &Pod) -> Option<&str> {
    let condition = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
    Some(
        condition
            .message
            .as_deref()
            .or(condition.reason.as_deref())
            .unwrap_or("no node fits")
            .trim_end_matches('.'),
    )
}

/// The reason of the pod's DisruptionTarget=True condition: the API server,
/// scheduler, taint manager or kubelet is about to take it away
/// (`EvictionByEvictionAPI`, `PreemptionByScheduler`, ...).
pub fn disruption_reason(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "DisruptionTarget" && c.status == "True")?
        .reason
        .as_deref()
}

/// When the pod's Ready condition last turned True (None while not Ready).
pub fn ready_since(pod: &Pod) -> Option<jiff::Timestamp> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
}

pub fn is_pod_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Container waiting reasons that mean the pod will not start without help:
/// waiting longer does not make it Ready.
pub const FAILING_WAIT_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Total container restarts.
pub fn pod_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|statuses| statuses.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

/// Where a rollout stands, by the rule `kubectl rollout status sts/NAME` applies
/// (kubectl's polymorphichelpers statefulset status viewer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutStatus {
    pub done: bool,
    /// kubectl's own wording.
    pub message: String,
}

/// The controller has seen the current spec (observedGeneration 0 means never).
pub fn spec_observed(set: &StatefulSet) -> bool {
    let observed = set
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0);
    observed > 0 && observed >= set.metadata.generation.unwrap_or(0)
}

pub fn rollout_status(set: &StatefulSet) -> Result<RolloutStatus, String> {
    if update_strategy(set) != "RollingUpdate" {
        return Err("rollout status is only available for RollingUpdate strategy type".to_string());
    }
    let waiting = |message: String| {
        Ok(RolloutStatus {
            done: false,
            message,
        })
    };
    let status = set.status.clone().unwrap_or_default();
    if !spec_observed(set) {
        return waiting("Waiting for statefulset spec update to be observed...".to_string());
    }
    let replicas = desired_replicas(set);
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < replicas {
        return waiting(format!(
            "Waiting for {} pods to be ready...",
            replicas - ready
        ));
    }
    // kubectl takes this branch whenever rollingUpdate is set, which the API's
    // defaulting always does: even a plain update reports "partitioned roll out".
    let rolling_update = set
        .spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref());
    let updated = status.updated_replicas.unwrap_or(0);
    if let Some(rolling_update) = rolling_update {
        if let Some(partition) = rolling_update.partition {
            let expected = replicas - partition;
            if updated < expected {
                return waiting(format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {expected} new pods have been updated...",
                ));
            }
        }
        return Ok(RolloutStatus {
            done: true,
            message: format!(
                "partitioned roll out complete: {updated} new pods have been updated..."
            ),
        });
    }
    let update_revision = status.update_revision.clone().unwrap_or_default();
    if status.current_revision.as_deref().unwrap_or_default() != update_revision {
        return waiting(format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update_revision}...",
        ));
    }
    Ok(RolloutStatus {
        done: true,
        message: format!(
            "statefulset rolling update complete {} pods at revision {update_revision}...",
            status.current_replicas.unwrap_or(0)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn set_from(yaml: &str) -> StatefulSet {
        serde_saphyr::from_str(yaml).expect("valid StatefulSet YAML")
    }

    const WEB: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default, generation: 2}
spec:
  replicas: 4
  serviceName: nginx
  selector: {matchLabels: {app: nginx}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
status:
  observedGeneration: 2
  replicas: 4
  readyReplicas: 4
  updatedReplicas: 1
  currentRevision: web-aaa
  updateRevision: web-bbb
"#;

    #[test]
    fn names_and_ordinals_follow_the_controller() {
        let set = set_from(WEB);
        assert_eq!(ordinals(&set), 0..4);
        assert_eq!(pod_name("web", 3), "web-3");
        assert_eq!(claim_name("www", "web", 3), "www-web-3");
        assert_eq!(ordinal_of_pod("web", "web-12"), Some(12));
        assert_eq!(ordinal_of_pod("web", "web-x"), None);
        assert_eq!(ordinal_of_pod("web", "webby-1"), None);
        assert_eq!(ordinal_of_claim("www", "web", "www-web-2"), Some(2));
        assert_eq!(ordinal_of_claim("www", "web", "data-web-2"), None);
        assert_eq!(claim_templates(&set), vec!["www"]);
    }

    #[test]
    fn ordinals_start_where_spec_ordinals_says() {
        let mut set = set_from(WEB);
        set.spec.ordinals =
            Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
        assert_eq!(ordinals(&set), 5..9);
    }

    #[test]
    fn selectors_render_and_match() {
        let selector = LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_string(), "nginx".to_string())])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["web".into(), "api".into()]),
            }]),
        };
        assert_eq!(selector_string(&selector), "app=nginx,tier in (web,api)");
        let labels = BTreeMap::from([
            ("app".to_string(), "nginx".to_string()),
            ("tier".to_string(), "web".to_string()),
        ]);
        assert!(selector_matches(&selector, &labels));
        let other = BTreeMap::from([("app".to_string(), "nginx".to_string())]);
        assert!(!selector_matches(&selector, &other));
    }

    #[test]
    fn rollout_status_speaks_kubectls_words_for_a_partition() {
        let mut set = set_from(WEB);
        let status = rollout_status(&set).unwrap();
        assert!(!status.done);
        assert_eq!(
            status.message,
            "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."
        );
        if let Some(s) = set.status.as_mut() {
            s.updated_replicas = Some(2);
        }
        let status = rollout_status(&set).unwrap();
        assert!(status.done);
        assert_eq!(
            status.message,
            "partitioned roll out complete: 2 new pods have been updated..."
        );
    }

    #[test]
    fn rollout_status_waits_for_observation_and_readiness() {
        let mut set = set_from(WEB);
        set.metadata.generation = Some(3);
        assert_eq!(
            rollout_status(&set).unwrap().message,
            "Waiting for statefulset spec update to be observed..."
        );
        set.metadata.generation = Some(2);
        if let Some(s) = set.status.as_mut() {
            s.ready_replicas = Some(1);
        }
        assert_eq!(
            rollout_status(&set).unwrap().message,
            "Waiting for 3 pods to be ready..."
        );
    }

    #[test]
    fn rollout_status_refuses_on_delete() {
        let mut set = set_from(WEB);
        if let Some(u) = set.spec.update_strategy.as_mut() {
            u.type_ = Some("OnDelete".into());
        }
        assert!(rollout_status(&set).is_err());
    }
}
