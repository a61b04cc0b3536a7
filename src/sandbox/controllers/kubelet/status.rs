//! What the kubelet reports: pod status, container statuses, events and
//! log lines, computed from container snapshots (see `timeline.rs`). Pure.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
    VolumeMountStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::timeline::{ContainerPhase, ContainerSnapshot, Happening, KubeletTiming, go_duration};
use crate::sandbox::controllers::events::EventType;
use crate::sandbox::node::{LogLine, LogStream};

/// The fully qualified reference a container runtime reports for an image:
/// `nginx:1.25` is `docker.io/library/nginx:1.25`; no tag means `:latest`.
pub fn qualified_image(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut qualified = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let last = qualified.rsplit('/').next().unwrap_or_default();
    if digest.is_none() && !last.contains(':') {
        qualified.push_str(":latest");
    }
    match digest {
        Some(digest) => format!("{qualified}@{digest}"),
        None => qualified,
    }
}

/// The repository of a qualified image, without tag or digest.
fn repository(qualified: &str) -> &str {
    let name = qualified.split('@').next().unwrap_or_default();
    match name.rsplit_once('/') {
        Some((path, last)) => {
            let tagless = last.split(':').next().unwrap_or_default();
            &name[..path.len() + 1 + tagless.len()]
        }
        None => name.split(':').next().unwrap_or_default(),
    }
}

/// `imageID`: the repository digest, deterministic per image reference.
pub fn image_id(image: &str) -> String {
    let qualified = qualified_image(image);
    format!("{}@sha256:{}", repository(&qualified), hex64(&qualified))
}

/// `containerID` of one run of a container.
pub fn container_id(pod_uid: &str, container: &str, restart: u32) -> String {
    format!(
        "containerd://{}",
        hex64(&format!("{pod_uid}/{container}/{restart}"))
    )
}

/// 64 hex digits derived from `text` (FNV-1a with four seeds): stable
/// across runs, different for different inputs, like a digest looks.
pub fn hex64(text: &str) -> String {
    let mut out = String::with_capacity(64);
    for seed in 0u64..4 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

/// A plausible compressed image size, stable per image.
fn image_size(image: &str) -> u64 {
    let digits = hex64(image);
    let spread = u64::from_str_radix(&digits[..6], 16).unwrap_or(0);
    20_000_000 + spread * 4
}

/// metav1.Time at whole seconds.
pub fn time_at(t0: Timestamp, offset: Duration) -> Time {
    let at = SignedDuration::try_from(offset)
        .ok()
        .and_then(|d| t0.checked_add(d).ok())
        .unwrap_or(t0);
    Time(Timestamp::from_second(at.as_second()).unwrap_or(at))
}

/// Everything the status of one pod depends on.
pub struct PodStatusInput<'a> {
    pub pod: &'a Pod,
    /// When the kubelet took the pod.
    pub t0: Timestamp,
    /// Now, as an offset from `t0`.
    pub now: Duration,
    pub timing: &'a KubeletTiming,
    /// Main containers with their snapshots, in spec order.
    pub containers: &'a [(Container, ContainerSnapshot)],
    pub init_containers: &'a [Container],
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
}

fn pod_uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}

fn pod_ref(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod_uid(pod)
    )
}

/// The containerd error for an image that does not exist.
pub fn pull_error(image: &str) -> String {
    let qualified = qualified_image(image);
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{qualified}\": failed to resolve reference \"{qualified}\": {qualified}: not found"
    )
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message,
        }),
        ..Default::default()
    }
}

fn volume_mount_statuses(container: &Container) -> Option<Vec<VolumeMountStatus>> {
    let mounts = container.volume_mounts.as_ref()?;
    Some(
        mounts
            .iter()
            .map(|m| VolumeMountStatus {
                name: m.name.clone(),
                mount_path: m.mount_path.clone(),
                read_only: m.read_only.filter(|r| *r),
                recursive_read_only: Some("Disabled".into()),
                volume_status: None,
            })
            .collect(),
    )
}

/// One container's status.
pub fn container_status(
    input: &PodStatusInput<'_>,
    container: &Container,
    snapshot: &ContainerSnapshot,
    shift: Duration,
) -> ContainerStatus {
    let image = container.image.clone().unwrap_or_default();
    let uid = pod_uid(input.pod);
    let at = |offset: Duration| Some(time_at(input.t0, offset + shift));
    let last_state = snapshot.last_run.map(|(started, finished)| ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: 1,
            reason: Some("Error".into()),
            started_at: at(started),
            finished_at: at(finished),
            container_id: Some(container_id(
                uid,
                &container.name,
                snapshot.restart_count.saturating_sub(match snapshot.phase {
                    ContainerPhase::CrashBackOff => 0,
                    _ => 1,
                }),
            )),
            ..Default::default()
        }),
        ..Default::default()
    });
    let mut status = ContainerStatus {
        name: container.name.clone(),
        image: image.clone(),
        image_id: String::new(),
        ready: snapshot.is_ready(),
        restart_count: i32::try_from(snapshot.restart_count).unwrap_or(i32::MAX),
        started: Some(matches!(snapshot.phase, ContainerPhase::Running { .. })),
        last_state: Some(last_state.unwrap_or_default()),
        volume_mounts: volume_mount_statuses(container),
        ..Default::default()
    };
    let run_id = container_id(uid, &container.name, snapshot.restart_count);
    match &snapshot.phase {
        ContainerPhase::Creating => status.state = Some(waiting("ContainerCreating", None)),
        ContainerPhase::PullFailed => {
            status.state = Some(waiting("ErrImagePull", Some(pull_error(&image))))
        }
        ContainerPhase::PullBackOff => {
            status.state = Some(waiting(
                "ImagePullBackOff",
                Some(format!(
                    "Back-off pulling image \"{image}\": ErrImagePull: {}",
                    pull_error(&image)
                )),
            ))
        }
        ContainerPhase::Running { since, .. } => {
            status.image = qualified_image(&image);
            status.image_id = image_id(&image);
            status.container_id = Some(run_id);
            status.state = Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: at(*since),
                }),
                ..Default::default()
            });
        }
        ContainerPhase::CrashBackOff => {
            status.image = qualified_image(&image);
            status.image_id = image_id(&image);
            status.container_id = Some(run_id);
            status.state = Some(waiting(
                "CrashLoopBackOff",
                Some(format!(
                    "back-off {} restarting failed container={} pod={}",
                    go_duration(snapshot.back_off),
                    container.name,
                    pod_ref(input.pod)
                )),
            ));
        }
    }
    status
}

fn init_container_status(
    input: &PodStatusInput<'_>,
    container: &Container,
    index: usize,
) -> ContainerStatus {
    let image = container.image.clone().unwrap_or_default();
    let done = input.now >= input.timing.start_delay;
    let mut status = ContainerStatus {
        name: container.name.clone(),
        image: image.clone(),
        image_id: String::new(),
        ready: done,
        restart_count: 0,
        started: Some(false),
        last_state: Some(ContainerState::default()),
        volume_mounts: volume_mount_statuses(container),
        ..Default::default()
    };
    if done {
        let at = Some(time_at(input.t0, input.timing.start_delay));
        status.image = qualified_image(&image);
        status.image_id = image_id(&image);
        status.container_id = Some(container_id(pod_uid(input.pod), &container.name, 0));
        status.state = Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 0,
                reason: Some("Completed".into()),
                started_at: at.clone(),
                finished_at: at,
                container_id: status.container_id.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
    } else {
        let reason = if index == 0 {
            "ContainerCreating"
        } else {
            "PodInitializing"
        };
        status.state = Some(waiting(reason, None));
    }
    status
}

/// A condition, keeping its lastTransitionTime while its status stays.
fn condition(
    existing: &[PodCondition],
    type_: &str,
    value: bool,
    reason: Option<String>,
    message: Option<String>,
    now: &Time,
) -> PodCondition {
    let status = if value { "True" } else { "False" };
    let since = existing
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        reason,
        message,
        last_transition_time: Some(since),
        last_probe_time: None,
        observed_generation: None,
    }
}

/// The pod's status as the kubelet reports it now. Fields the kubelet does
/// not own (qosClass and the like) are kept from `existing`.
pub fn pod_status(input: &PodStatusInput<'_>, existing: &PodStatus) -> PodStatus {
    let now = time_at(input.t0, input.now);
    let conditions_before = existing.conditions.clone().unwrap_or_default();
    let shift = main_shift(input.init_containers, input.timing);
    let statuses: Vec<ContainerStatus> = input
        .containers
        .iter()
        .map(|(c, snapshot)| {
            if input.now < shift {
                ContainerStatus {
                    name: c.name.clone(),
                    image: c.image.clone().unwrap_or_default(),
                    state: Some(waiting("PodInitializing", None)),
                    last_state: Some(ContainerState::default()),
                    started: Some(false),
                    volume_mounts: volume_mount_statuses(c),
                    ..Default::default()
                }
            } else {
                container_status(input, c, snapshot, shift)
            }
        })
        .collect();
    let sandbox_ready = input.now >= input.timing.start_delay.min(Duration::from_millis(200))
        || input
            .containers
            .iter()
            .any(|(_, s)| s.phase != ContainerPhase::Creating);
    let initialized = input.init_containers.is_empty() || input.now >= input.timing.start_delay;
    let unready: Vec<&str> = statuses
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let all_ready = unready.is_empty();
    let (ready_reason, ready_message) = if all_ready {
        (None, None)
    } else {
        (
            Some("ContainersNotReady".to_string()),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    let init_pending: Vec<&str> = if initialized {
        Vec::new()
    } else {
        input
            .init_containers
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    };
    let mut conditions = vec![
        condition(
            &conditions_before,
            "PodReadyToStartContainers",
            sandbox_ready,
            None,
            None,
            &now,
        ),
        condition(
            &conditions_before,
            "Initialized",
            initialized,
            (!initialized).then(|| "ContainersNotInitialized".to_string()),
            (!initialized).then(|| {
                format!(
                    "containers with incomplete status: [{}]",
                    init_pending.join(" ")
                )
            }),
            &now,
        ),
        condition(
            &conditions_before,
            "Ready",
            all_ready,
            ready_reason.clone(),
            ready_message.clone(),
            &now,
        ),
        condition(
            &conditions_before,
            "ContainersReady",
            all_ready,
            ready_reason,
            ready_message,
            &now,
        ),
    ];
    conditions.push(
        conditions_before
            .iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "True")
            .cloned()
            .unwrap_or_else(|| {
                condition(&conditions_before, "PodScheduled", true, None, None, &now)
            }),
    );
    let started = input.containers.iter().any(|(_, s)| s.has_started()) && input.now >= shift;
    let mut status = existing.clone();
    status.phase = Some(if started { "Running" } else { "Pending" }.into());
    status.conditions = Some(conditions);
    status.host_ip = Some(input.host_ip.to_string());
    status.host_ips = Some(vec![HostIP {
        ip: input.host_ip.to_string(),
    }]);
    if sandbox_ready {
        status.pod_ip = Some(input.pod_ip.to_string());
        status.pod_ips = Some(vec![PodIP {
            ip: input.pod_ip.to_string(),
        }]);
    } else {
        status.pod_ip = None;
        status.pod_ips = None;
    }
    status.start_time = Some(time_at(input.t0, Duration::ZERO));
    status.container_statuses = Some(statuses);
    status.init_container_statuses = (!input.init_containers.is_empty()).then(|| {
        input
            .init_containers
            .iter()
            .enumerate()
            .map(|(i, c)| init_container_status(input, c, i))
            .collect()
    });
    status
}

/// Main containers start after the init containers, which take one start delay.
pub fn main_shift(init_containers: &[Container], timing: &KubeletTiming) -> Duration {
    if init_containers.is_empty() {
        Duration::ZERO
    } else {
        timing.start_delay
    }
}

/// An event the kubelet records about a pod (`fieldPath` names the container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletEvent {
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
}

fn event(type_: EventType, reason: &'static str, message: String) -> KubeletEvent {
    KubeletEvent {
        type_,
        reason,
        message,
    }
}

/// The events a happening produces, in the kubelet's words.
pub fn events_for(
    happening: Happening,
    pod: &Pod,
    container: &Container,
    timing: &KubeletTiming,
) -> Vec<KubeletEvent> {
    let image = container.image.clone().unwrap_or_default();
    let name = &container.name;
    match happening {
        Happening::Pulling => vec![event(
            EventType::Normal,
            "Pulling",
            format!("Pulling image \"{image}\""),
        )],
        Happening::Pulled { fresh: true } => {
            let took = go_duration(timing.start_delay);
            vec![event(
                EventType::Normal,
                "Pulled",
                format!(
                    "Successfully pulled image \"{image}\" in {took} ({took} including waiting). Image size: {} bytes.",
                    image_size(&image)
                ),
            )]
        }
        Happening::Pulled { fresh: false } => vec![event(
            EventType::Normal,
            "Pulled",
            format!(
                "Container image \"{image}\" already present on machine and can be accessed by the pod"
            ),
        )],
        Happening::Created => vec![event(
            EventType::Normal,
            "Created",
            format!("Created container: {name}"),
        )],
        Happening::Started => vec![event(
            EventType::Normal,
            "Started",
            format!("Started container {name}"),
        )],
        Happening::CrashBackOff => vec![event(
            EventType::Warning,
            "BackOff",
            format!(
                "Back-off restarting failed container {name} in pod {}",
                pod_ref(pod)
            ),
        )],
        Happening::PullFailed => vec![
            event(
                EventType::Warning,
                "Failed",
                format!("Failed to pull image \"{image}\": {}", pull_error(&image)),
            ),
            event(EventType::Warning, "Failed", "Error: ErrImagePull".into()),
        ],
        Happening::PullBackOff => vec![
            event(
                EventType::Normal,
                "BackOff",
                format!("Back-off pulling image \"{image}\""),
            ),
            event(
                EventType::Warning,
                "Failed",
                "Error: ImagePullBackOff".into(),
            ),
        ],
        Happening::Unhealthy => {
            let message = match container.readiness_probe.as_ref() {
                Some(probe) if probe.tcp_socket.is_some() => {
                    "Readiness probe failed: dial tcp: connect: connection refused".to_string()
                }
                Some(probe) if probe.exec.is_some() => {
                    "Readiness probe failed: command exited with status 1".to_string()
                }
                _ => "Readiness probe failed: HTTP probe failed with statuscode: 503".to_string(),
            };
            vec![event(EventType::Warning, "Unhealthy", message)]
        }
        Happening::BecameReady | Happening::Crashed => Vec::new(),
    }
}

/// What a container writes to its log when it starts.
pub fn start_log(container: &Container, at: Timestamp) -> Vec<LogLine> {
    let image = qualified_image(container.image.as_deref().unwrap_or_default());
    let repo = repository(&image);
    let program = repo.rsplit('/').next().unwrap_or_default();
    let stamp = at.strftime("%Y/%m/%d %H:%M:%S").to_string();
    let lines: Vec<(LogStream, String)> = match program {
        "nginx" => vec![
            (LogStream::Stdout, "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration".into()),
            (LogStream::Stdout, "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/".into()),
            (LogStream::Stdout, "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh".into()),
            (LogStream::Stdout, "/docker-entrypoint.sh: Configuration complete; ready for start up".into()),
            (LogStream::Stderr, format!("{stamp} [notice] 1#1: using the \"epoll\" event method")),
            (LogStream::Stderr, format!("{stamp} [notice] 1#1: start worker processes")),
        ],
        "redis" => {
            let stamp = at.strftime("%d %b %Y %H:%M:%S%.3f").to_string();
            vec![
                (LogStream::Stdout, format!("1:C {stamp} # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")),
                (LogStream::Stdout, format!("1:M {stamp} * Server initialized")),
                (LogStream::Stdout, format!("1:M {stamp} * Ready to accept connections tcp")),
            ]
        }
        _ => vec![(LogStream::Stdout, format!("Starting {} ({image})", container.name))],
    };
    lines
        .into_iter()
        .map(|(stream, text)| LogLine {
            time: at,
            stream,
            text,
        })
        .collect()
}

/// What a `-crash` container writes before it exits.
pub fn crash_log(container: &Container, at: Timestamp) -> Vec<LogLine> {
    vec![LogLine {
        time: at,
        stream: LogStream::Stderr,
        text: format!(
            "fatal: {} exiting with status 1 (the image tag asks the sandbox to crash)",
            container.name
        ),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::controllers::kubelet::timeline::{
        ImageTrouble, container_steps, snapshot_at,
    };
    use k8s_openapi::api::core::v1::PodSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    const TIMING: KubeletTiming = KubeletTiming {
        start_delay: Duration::from_millis(500),
        ready_delay: Duration::from_millis(1000),
        scale: 1.0,
    };

    fn pod(image: &str) -> (Pod, Container) {
        let container = Container {
            name: "nginx".into(),
            image: Some(image.into()),
            ..Default::default()
        };
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("web-0".into()),
                namespace: Some("default".into()),
                uid: Some("u-1".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![container.clone()],
                ..Default::default()
            }),
            status: None,
        };
        (pod, container)
    }

    fn status_at(image: &str, seconds: f64) -> PodStatus {
        let (pod, container) = pod(image);
        let now = Duration::from_secs_f64(seconds);
        let steps = container_steps(super::super::timeline::image_trouble(image), &TIMING, now);
        let containers = vec![(container, snapshot_at(&steps, now))];
        let input = PodStatusInput {
            pod: &pod,
            t0: "2026-01-01T00:00:00Z".parse().expect("time"),
            now,
            timing: &TIMING,
            containers: &containers,
            init_containers: &[],
            pod_ip: "10.244.0.5",
            host_ip: "127.0.0.1",
        };
        pod_status(&input, &PodStatus::default())
    }

    fn condition_status(status: &PodStatus, type_: &str) -> String {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_)
            .map(|c| c.status.clone())
            .unwrap_or_default()
    }

    #[test]
    fn images_are_qualified_like_containerd_reports_them() {
        assert_eq!(
            qualified_image("nginx:1.25"),
            "docker.io/library/nginx:1.25"
        );
        assert_eq!(qualified_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            qualified_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(
            qualified_image("registry.k8s.io/pause:3.9"),
            "registry.k8s.io/pause:3.9"
        );
        assert_eq!(
            qualified_image("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        let id = image_id("nginx:1.25");
        assert!(id.starts_with("docker.io/library/nginx@sha256:"), "{id}");
        assert_eq!(id.len(), "docker.io/library/nginx@sha256:".len() + 64);
        assert_eq!(id, image_id("nginx:1.25"));
        assert_ne!(id, image_id("nginx:1.26"));
    }

    #[test]
    fn a_pod_goes_pending_running_ready() {
        let creating = status_at("nginx:1.25", 0.1);
        assert_eq!(creating.phase.as_deref(), Some("Pending"));
        let waiting = creating
            .container_statuses
            .as_ref()
            .and_then(|c| c[0].state.clone())
            .and_then(|s| s.waiting);
        assert_eq!(
            waiting.and_then(|w| w.reason).as_deref(),
            Some("ContainerCreating")
        );
        let running = status_at("nginx:1.25", 1.0);
        assert_eq!(running.phase.as_deref(), Some("Running"));
        assert_eq!(condition_status(&running, "Ready"), "False");
        assert_eq!(running.pod_ip.as_deref(), Some("10.244.0.5"));
        let container = &running.container_statuses.as_ref().expect("statuses")[0];
        assert_eq!(container.image, "docker.io/library/nginx:1.25");
        assert!(
            container
                .container_id
                .as_deref()
                .is_some_and(|id| id.starts_with("containerd://"))
        );
        let ready = status_at("nginx:1.25", 2.0);
        assert_eq!(condition_status(&ready, "Ready"), "True");
        assert_eq!(condition_status(&ready, "ContainersReady"), "True");
        let types: Vec<String> = ready
            .conditions
            .iter()
            .flatten()
            .map(|c| c.type_.clone())
            .collect();
        assert_eq!(
            types,
            [
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled"
            ]
        );
    }

    #[test]
    fn a_crash_loop_reports_back_off_and_the_last_run() {
        let status = status_at("nginx:1.25-crash", 5.0);
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let container = &status.container_statuses.as_ref().expect("statuses")[0];
        assert_eq!(container.restart_count, 1);
        let waiting = container
            .state
            .clone()
            .and_then(|s| s.waiting)
            .expect("waiting");
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(
            waiting.message.as_deref(),
            Some("back-off 10s restarting failed container=nginx pod=web-0_default(u-1)")
        );
        let terminated = container
            .last_state
            .clone()
            .and_then(|s| s.terminated)
            .expect("last state");
        assert_eq!(
            (terminated.exit_code, terminated.reason.as_deref()),
            (1, Some("Error"))
        );
        assert_eq!(condition_status(&status, "Ready"), "False");
    }

    #[test]
    fn an_unpullable_image_keeps_the_pod_pending() {
        let status = status_at("nginx:1.25-pullerr", 2.0);
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        let waiting = status
            .container_statuses
            .as_ref()
            .and_then(|c| c[0].state.clone())
            .and_then(|s| s.waiting);
        assert_eq!(
            waiting.and_then(|w| w.reason).as_deref(),
            Some("ImagePullBackOff")
        );
    }

    #[test]
    fn transition_times_survive_unchanged_conditions() {
        let first = status_at("nginx:1.25", 2.0);
        let (pod, container) = pod("nginx:1.25");
        let steps = container_steps(ImageTrouble::None, &TIMING, Duration::from_secs(90));
        let containers = vec![(container, snapshot_at(&steps, Duration::from_secs(90)))];
        let input = PodStatusInput {
            pod: &pod,
            t0: "2026-01-01T00:00:00Z".parse().expect("time"),
            now: Duration::from_secs(90),
            timing: &TIMING,
            containers: &containers,
            init_containers: &[],
            pod_ip: "10.244.0.5",
            host_ip: "127.0.0.1",
        };
        assert_eq!(pod_status(&input, &first), first);
    }

    #[test]
    fn events_use_the_kubelets_words() {
        let (pod, container) = pod("nginx:1.25-crash");
        let messages = |h| {
            events_for(h, &pod, &container, &TIMING)
                .into_iter()
                .map(|e| format!("{} {}", e.reason, e.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            messages(Happening::Created),
            ["Created Created container: nginx"]
        );
        assert_eq!(
            messages(Happening::Started),
            ["Started Started container nginx"]
        );
        assert_eq!(
            messages(Happening::CrashBackOff),
            ["BackOff Back-off restarting failed container nginx in pod web-0_default(u-1)"]
        );
        assert!(messages(Happening::Pulled { fresh: true })[0].starts_with("Pulled Successfully pulled image \"nginx:1.25-crash\" in 500ms (500ms including waiting). Image size: "));
    }
}
