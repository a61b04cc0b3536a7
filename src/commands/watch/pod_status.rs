//! A pod's STATUS and READY columns as `kubectl get pods` prints them (the
//! printPod rule of kubectl's table printer): the phase, overridden by the pod's
//! reason, init-container progress, the last container's waiting or terminated
//! reason, and Terminating once deletion has begun.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// The STATUS column and the READY counts of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodStatusColumns {
    /// e.g. Pending, ContainerCreating, Running, CrashLoopBackOff, Init:0/1, Terminating.
    pub status: String,
    pub ready_containers: usize,
    pub total_containers: usize,
}

fn is_restartable_init_container(pod: &Pod, name: &str) -> bool {
    pod.spec
        .as_ref()
        .and_then(|spec| spec.init_containers.as_ref())
        .and_then(|containers| containers.iter().find(|c| c.name == name))
        .is_some_and(|c| c.restart_policy.as_deref() == Some("Always"))
}

fn condition_is_true(pod: &Pod, kind: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == kind && c.status == "True")
        })
}

fn has_ready_condition(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Ready"))
}

/// What an init container that has not finished says, or None when it is done.
fn init_container_blocker(
    pod: &Pod,
    index: usize,
    status: &ContainerStatus,
    init_count: usize,
) -> Option<String> {
    let state = status.state.as_ref();
    let terminated = state.and_then(|s| s.terminated.as_ref());
    let waiting_reason = state
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
        .filter(|r| !r.is_empty());
    if terminated.is_some_and(|t| t.exit_code == 0) {
        return None;
    }
    if is_restartable_init_container(pod, &status.name) && status.started == Some(true) {
        return None;
    }
    if let Some(terminated) = terminated {
        return Some(
            match terminated.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(reason) => format!("Init:{reason}"),
                None => match terminated.signal.filter(|s| *s != 0) {
                    Some(signal) => format!("Init:Signal:{signal}"),
                    None => format!("Init:ExitCode:{}", terminated.exit_code),
                },
            },
        );
    }
    if let Some(reason) = waiting_reason.filter(|r| *r != "PodInitializing") {
        return Some(format!("Init:{reason}"));
    }
    Some(format!("Init:{index}/{init_count}"))
}

/// kubectl's STATUS and READY for a pod.
pub fn pod_status_columns(pod: &Pod) -> PodStatusColumns {
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = status
        .reason
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| phase.clone());

    let init_count = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map_or(0, Vec::len);
    let restartable_init_count = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map_or(0, |containers| {
            containers
                .iter()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                .count()
        });
    let total_containers =
        pod.spec.as_ref().map_or(0, |s| s.containers.len()) + restartable_init_count;

    let mut initializing = false;
    for (index, init_status) in status.init_container_statuses.iter().flatten().enumerate() {
        if let Some(blocker) = init_container_blocker(pod, index, init_status, init_count) {
            reason = blocker;
            initializing = true;
            break;
        }
    }

    let mut ready_containers = 0;
    if !initializing || condition_is_true(pod, "Initialized") {
        let mut has_running = false;
        // kubectl walks containers from the last one, so the first container's
        // state wins when several are unhealthy.
        for container in status.container_statuses.iter().flatten().rev() {
            let state = container.state.as_ref();
            let waiting = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .filter(|r| !r.is_empty());
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(waiting) = waiting {
                reason = waiting.to_string();
            } else if let Some(terminated) = terminated {
                reason = match terminated.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None => match terminated.signal.filter(|s| *s != 0) {
                        Some(signal) => format!("Signal:{signal}"),
                        None => format!("ExitCode:{}", terminated.exit_code),
                    },
                };
            } else if container.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
                ready_containers += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has_ready_condition(pod) {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    let terminal_phase = phase == "Succeeded" || phase == "Failed";
    if pod.metadata.deletion_timestamp.is_some() && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".to_string();
    } else if pod.metadata.deletion_timestamp.is_some() && !terminal_phase {
        reason = "Terminating".to_string();
    }
    if reason.is_empty() {
        reason = "Pending".to_string();
    }
    PodStatusColumns {
        status: reason,
        ready_containers,
        total_containers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).expect("valid Pod YAML")
    }

    #[test]
    fn a_pod_without_status_is_pending() {
        let p = pod("metadata: {name: web-0}\nspec: {containers: [{name: nginx}]}\n");
        let columns = pod_status_columns(&p);
        assert_eq!(columns.status, "Pending");
        assert_eq!((columns.ready_containers, columns.total_containers), (0, 1));
    }

    #[test]
    fn a_waiting_container_names_its_reason() {
        let p = pod(r#"
metadata: {name: web-0}
spec: {containers: [{name: nginx}]}
status:
  phase: Pending
  containerStatuses:
  - {name: nginx, ready: false, restartCount: 0, image: nginx, imageID: "", state: {waiting: {reason: ContainerCreating}}}
"#);
        assert_eq!(pod_status_columns(&p).status, "ContainerCreating");
    }

    #[test]
    fn crash_looping_shows_crashloopbackoff_while_running_phase() {
        let p = pod(r#"
metadata: {name: web-2}
spec: {containers: [{name: nginx}]}
status:
  phase: Running
  containerStatuses:
  - {name: nginx, ready: false, restartCount: 4, image: nginx, imageID: "", state: {waiting: {reason: CrashLoopBackOff}}}
"#);
        assert_eq!(pod_status_columns(&p).status, "CrashLoopBackOff");
    }

    #[test]
    fn ready_running_containers_are_counted() {
        let p = pod(r#"
metadata: {name: web-0}
spec: {containers: [{name: a}, {name: b}]}
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses:
  - {name: a, ready: true, restartCount: 0, image: x, imageID: "", state: {running: {}}}
  - {name: b, ready: false, restartCount: 0, image: x, imageID: "", state: {running: {}}}
"#);
        let columns = pod_status_columns(&p);
        assert_eq!(columns.status, "Running");
        assert_eq!((columns.ready_containers, columns.total_containers), (1, 2));
    }

    #[test]
    fn deletion_shows_terminating_unless_the_pod_already_finished() {
        let running = pod(r#"
metadata: {name: web-0, deletionTimestamp: "2026-01-01T00:00:00Z"}
spec: {containers: [{name: a}]}
status: {phase: Running}
"#);
        assert_eq!(pod_status_columns(&running).status, "Terminating");
        let finished = pod(r#"
metadata: {name: web-0, deletionTimestamp: "2026-01-01T00:00:00Z"}
spec: {containers: [{name: a}]}
status:
  phase: Succeeded
  containerStatuses:
  - {name: a, ready: false, restartCount: 0, image: x, imageID: "", state: {terminated: {exitCode: 0, reason: Completed}}}
"#);
        assert_eq!(pod_status_columns(&finished).status, "Completed");
    }

    #[test]
    fn init_containers_show_progress_and_failures() {
        let waiting = pod(r#"
metadata: {name: web-0}
spec: {initContainers: [{name: init}], containers: [{name: a}]}
status:
  phase: Pending
  initContainerStatuses:
  - {name: init, ready: false, restartCount: 0, image: x, imageID: "", state: {running: {}}}
"#);
        assert_eq!(pod_status_columns(&waiting).status, "Init:0/1");
        let failed = pod(r#"
metadata: {name: web-0}
spec: {initContainers: [{name: init}], containers: [{name: a}]}
status:
  phase: Pending
  initContainerStatuses:
  - {name: init, ready: false, restartCount: 2, image: x, imageID: "", state: {terminated: {exitCode: 3}}}
"#);
        assert_eq!(pod_status_columns(&failed).status, "Init:ExitCode:3");
    }
}
