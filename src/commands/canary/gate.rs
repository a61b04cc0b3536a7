//! The health gate of a canary step: every pod at or above the partition on
//! the new revision, Running and Ready, without more restarts than allowed;
//! and the failures that make waiting pointless. Pure.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use crate::sts;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateOutcome {
    /// Every gated pod is updated, Running and Ready.
    Open,
    /// Not yet; the reason names the first pod still missing.
    Waiting(String),
    /// It will not get better: roll back.
    Failed(String),
}

/// The first waiting reason among the pod's containers.
fn waiting_reason(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
}

/// Evaluate the gate for `partition` against the pods as they are now.
pub fn evaluate(
    set: &StatefulSet,
    pods: &[Pod],
    partition: u32,
    to_revision: &str,
    max_restarts: u32,
) -> GateOutcome {
    let set_name = sts::name(set);
    let ordinals = sts::ordinals(set);
    let first_gated = ordinals.start + partition as i32;
    for ordinal in (first_gated..ordinals.end).rev() {
        let pod_name = sts::pod_name(set_name, ordinal);
        let Some(pod) = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pod_name.as_str()))
        else {
            return GateOutcome::Waiting(format!("{pod_name} does not exist yet"));
        };
        if sts::is_pod_terminating(pod) {
            return GateOutcome::Waiting(format!("{pod_name} is terminating"));
        }
        if sts::pod_revision(pod) != Some(to_revision) {
            return GateOutcome::Waiting(format!(
                "{pod_name} is not on revision {to_revision} yet"
            ));
        }
        let restarts = sts::pod_restarts(pod);
        if i64::from(restarts) > i64::from(max_restarts) {
            return GateOutcome::Failed(format!(
                "{pod_name} restarted {restarts} time(s) on the new revision (allowed: {max_restarts})"
            ));
        }
        if let Some(reason) = waiting_reason(pod) {
            if sts::FAILING_WAIT_REASONS.contains(&reason.as_str()) {
                return GateOutcome::Failed(format!(
                    "{pod_name} is in {reason} on the new revision"
                ));
            }
            return GateOutcome::Waiting(format!("{pod_name} is {reason}"));
        }
        let phase = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        if phase == "Failed" {
            return GateOutcome::Failed(format!("{pod_name} failed on the new revision"));
        }
        if let Some(why) = sts::unscheduled_reason(pod) {
            return GateOutcome::Waiting(format!("{pod_name} is Pending, not scheduled: {why}"));
        }
        if phase != "Running" {
            return GateOutcome::Waiting(format!("{pod_name} is {phase}"));
        }
        if !sts::is_pod_ready(pod) {
            return GateOutcome::Waiting(format!("{pod_name} is Running but not Ready"));
        }
    }
    GateOutcome::Open
}

/// OnDelete: the pod to delete next so the pods at or above `partition` move
/// to `target_revision`, one at a time from the highest ordinal: the highest
/// pod not on it yet, once every pod above it is on it, Running and Ready.
/// None while a pod is missing, terminating or not Ready yet (wait), or when
/// every pod is on the target revision.
pub fn next_deletion<'a>(
    set: &StatefulSet,
    pods: &'a [Pod],
    partition: u32,
    target_revision: &str,
) -> Option<&'a Pod> {
    let set_name = sts::name(set);
    let ordinals = sts::ordinals(set);
    let first = ordinals
        .start
        .saturating_add(i32::try_from(partition).unwrap_or(i32::MAX));
    for ordinal in (first..ordinals.end).rev() {
        let pod_name = sts::pod_name(set_name, ordinal);
        let pod = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pod_name.as_str()))?;
        if sts::is_pod_terminating(pod) {
            return None;
        }
        if sts::pod_revision(pod) != Some(target_revision) {
            return Some(pod);
        }
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if !running || !sts::is_pod_ready(pod) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 4, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}}}},
        }))
        .expect("valid set")
    }

    fn pod(
        ordinal: i32,
        revision: &str,
        phase: &str,
        ready: bool,
        restarts: i32,
        waiting: Option<&str>,
    ) -> Pod {
        let state = match waiting {
            Some(reason) => json!({"waiting": {"reason": reason}}),
            None => json!({"running": {}}),
        };
        serde_json::from_value(json!({
            "metadata": {"name": format!("web-{ordinal}"), "labels": {"controller-revision-hash": revision}},
            "status": {
                "phase": phase,
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{"name": "nginx", "image": "nginx", "imageID": "", "ready": ready,
                                        "restartCount": restarts, "state": state}],
            },
        }))
        .expect("valid pod")
    }

    #[test]
    fn the_gate_opens_when_every_pod_at_or_above_the_partition_is_updated_and_ready() {
        let pods = vec![
            pod(0, "old", "Running", true, 0, None),
            pod(1, "old", "Running", true, 0, None),
            pod(2, "new", "Running", true, 0, None),
            pod(3, "new", "Running", true, 0, None),
        ];
        assert_eq!(evaluate(&set(), &pods, 2, "new", 0), GateOutcome::Open);
        assert!(
            matches!(evaluate(&set(), &pods, 1, "new", 0), GateOutcome::Waiting(r) if r.contains("web-1 is not on revision new"))
        );
    }

    #[test]
    fn the_gate_waits_for_creation_and_readiness() {
        let pods = vec![pod(
            3,
            "new",
            "Pending",
            false,
            0,
            Some("ContainerCreating"),
        )];
        assert_eq!(
            evaluate(&set(), &pods, 3, "new", 0),
            GateOutcome::Waiting("web-3 is ContainerCreating".into())
        );
        let pods = vec![pod(3, "new", "Running", false, 0, None)];
        assert_eq!(
            evaluate(&set(), &pods, 3, "new", 0),
            GateOutcome::Waiting("web-3 is Running but not Ready".into())
        );
        let mut unscheduled = pod(3, "new", "Pending", false, 0, None);
        unscheduled.status.as_mut().unwrap().container_statuses = None;
        unscheduled.status.as_mut().unwrap().conditions = serde_json::from_value(json!([{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 node(s) were unschedulable."
        }]))
        .ok();
        assert_eq!(
            evaluate(&set(), &[unscheduled], 3, "new", 0),
            GateOutcome::Waiting(
                "web-3 is Pending, not scheduled: 0/1 nodes are available: 1 node(s) were unschedulable"
                    .into()
            )
        );
        assert_eq!(
            evaluate(&set(), &[], 3, "new", 0),
            GateOutcome::Waiting("web-3 does not exist yet".into())
        );
    }

    fn deletion(pods: &[Pod], partition: u32, target: &str) -> Option<String> {
        next_deletion(&set(), pods, partition, target).and_then(|p| p.metadata.name.clone())
    }

    #[test]
    fn on_delete_replaces_one_pod_at_a_time_from_the_highest_ordinal() {
        let old = |o| pod(o, "old", "Running", true, 0, None);
        let mut pods = vec![old(0), old(1), old(2), old(3)];
        assert_eq!(deletion(&pods, 2, "new").as_deref(), Some("web-3"));
        // web-3 gone (being recreated): wait, delete nothing else.
        pods.pop();
        assert_eq!(deletion(&pods, 2, "new"), None);
        pods.push(pod(
            3,
            "new",
            "Pending",
            false,
            0,
            Some("ContainerCreating"),
        ));
        assert_eq!(deletion(&pods, 2, "new"), None, "not Ready yet");
        pods[3] = pod(3, "new", "Running", true, 0, None);
        assert_eq!(deletion(&pods, 2, "new").as_deref(), Some("web-2"));
        pods[2] = pod(2, "new", "Running", true, 0, None);
        assert_eq!(deletion(&pods, 2, "new"), None, "the step is done");
        assert_eq!(
            deletion(&pods, 0, "new").as_deref(),
            Some("web-1"),
            "never below the partition until it is lowered"
        );
        // Rolling back: the new pods go, highest first.
        assert_eq!(deletion(&pods, 0, "old").as_deref(), Some("web-3"));
    }

    #[test]
    fn crash_loops_pull_errors_and_restarts_fail_the_gate() {
        let pods = vec![pod(3, "new", "Running", false, 2, Some("CrashLoopBackOff"))];
        assert!(
            matches!(evaluate(&set(), &pods, 3, "new", 5), GateOutcome::Failed(r) if r.contains("CrashLoopBackOff"))
        );
        let pods = vec![pod(3, "new", "Pending", false, 0, Some("ImagePullBackOff"))];
        assert!(matches!(
            evaluate(&set(), &pods, 3, "new", 0),
            GateOutcome::Failed(_)
        ));
        let pods = vec![pod(3, "new", "Running", true, 2, None)];
        assert!(
            matches!(evaluate(&set(), &pods, 3, "new", 1), GateOutcome::Failed(r) if r.contains("restarted 2"))
        );
        assert_eq!(evaluate(&set(), &pods, 3, "new", 2), GateOutcome::Open);
        assert_eq!(
            evaluate(&set(), &pods, 3, "new", u32::MAX),
            GateOutcome::Open,
            "no restart limit"
        );
    }
}
