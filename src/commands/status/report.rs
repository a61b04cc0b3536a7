//! The status of one StatefulSet as data: replicas, update and rollout state,
//! identity (Service, hostnames, DNS names, endpoint readiness), storage, and
//! the checks. Built by pure functions from a [`Related`] view; serialized as is
//! for `-o json` / `-o yaml`.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use super::checks::{self, Check};
use super::snapshot::{self, Related};
use crate::sts;

/// How long a pod may stay unready without other evidence of trouble before
/// the rollout that waits on it counts as stalled.
pub const UNREADY_STALL_SECONDS: i64 = 5 * 60;

/// Settings that do not come from the cluster.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cluster_domain: String,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub name: String,
    pub namespace: String,
    pub replicas: Replicas,
    pub update: UpdateReport,
    pub pod_management_policy: String,
    pub retention_policy: RetentionPolicy,
    pub identity: Identity,
    /// The PodDisruptionBudgets covering the pods; None when they could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disruption_budgets: Option<Vec<BudgetSummary>>,
    pub storage: Storage,
    pub checks: Vec<Check>,
}

/// A budget over the set's pods, with its controller's figures now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetSummary {
    pub name: String,
    /// `maxUnavailable 1`, `minAvailable 50%`.
    pub rule: String,
    pub disruptions_allowed: i32,
    pub current_healthy: i32,
    pub desired_healthy: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replicas {
    /// spec.replicas
    pub desired: i32,
    /// status.replicas: pods that exist (terminating ones included)
    pub existing: i32,
    /// status.currentReplicas: pods on the current revision
    pub current: i32,
    pub ready: i32,
    pub available: i32,
    /// status.updatedReplicas: pods on the update revision
    pub updated: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReport {
    pub strategy: String,
    /// RollingUpdate only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<String>,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
    pub rollout: Rollout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutState {
    Complete,
    InProgress,
    Stalled,
}

impl RolloutState {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Complete => "complete",
            RolloutState::InProgress => "in progress",
            RolloutState::Stalled => "stalled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub state: RolloutState,
    /// kubectl's rollout-status words for RollingUpdate; our own for OnDelete.
    pub message: String,
    /// The pod the rollout waits on or is stuck behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordinal: Option<i32>,
    /// Why that pod blocks (stalled), or what holds it while the rollout is
    /// in progress (the scheduler's reason, when it has one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rollout's pod is on the update revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_update_revision: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicy {
    pub when_deleted: String,
    pub when_scaled: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// spec.serviceName
    pub service_name: Option<String>,
    pub service: Option<ServiceSummary>,
    pub pods: Vec<PodIdentity>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    pub headless: bool,
    /// The Service's selector as a query string; None when it has none.
    pub selector: Option<String>,
    /// The selector selects the pod template's labels.
    pub selects_pods: bool,
}

/// Whether a pod is listed in the governing Service's EndpointSlices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointState {
    Ready,
    NotReady,
    Terminating,
    /// Not listed in any slice.
    Absent,
    /// Slices could not be read, or there is no Service to have slices.
    Unknown,
}

impl EndpointState {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Ready => "ready",
            EndpointState::NotReady => "not ready",
            EndpointState::Terminating => "terminating",
            EndpointState::Absent => "not listed",
            EndpointState::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentity {
    pub ordinal: i32,
    pub pod: String,
    pub exists: bool,
    /// The ordinal is above the desired range (being scaled away).
    pub condemned: bool,
    pub phase: Option<String>,
    pub ready: bool,
    pub terminating: bool,
    pub restarts: i32,
    pub revision: Option<String>,
    pub hostname: String,
    /// `<hostname>.<service>.<namespace>.svc.<cluster-domain>`; None without serviceName.
    pub dns_name: Option<String>,
    pub endpoint: EndpointState,
    /// Evidence the pod will not become Ready on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trouble: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    pub templates: Vec<ClaimTemplate>,
    pub claims: Vec<ClaimSummary>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimTemplate {
    pub name: String,
    /// storageClassName as written in the template (None: the default class).
    pub storage_class: Option<String>,
    /// The class claims get: the template's, else the cluster's default.
    pub effective_class: Option<String>,
    /// The class exists; None when classes could not be read or none applies.
    pub class_exists: Option<bool>,
    pub provisioner: Option<String>,
    pub access_modes: Vec<String>,
    pub request: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSummary {
    pub name: String,
    pub template: String,
    pub ordinal: i32,
    pub phase: Option<String>,
    pub storage_class: Option<String>,
    pub volume: Option<String>,
    /// The ordinal is outside the desired range: no pod will use it until a scale-up.
    pub orphaned: bool,
}

/// Build the report for one set.
pub fn build(related: &Related<'_>, settings: &Settings) -> StatusReport {
    let set = related.set;
    let status = set.status.clone().unwrap_or_default();
    let strategy = sts::update_strategy(set).to_string();
    let rolling = set
        .spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref());
    let retention = set.spec.persistent_volume_claim_retention_policy.as_ref();
    let rollout = rollout(related, settings.now);
    let mut report = StatusReport {
        name: sts::name(set).to_string(),
        namespace: sts::namespace(set).to_string(),
        replicas: Replicas {
            desired: sts::desired_replicas(set),
            existing: status.replicas,
            current: status.current_replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
        },
        update: UpdateReport {
            partition: (strategy == "RollingUpdate").then(|| sts::partition(set)),
            max_unavailable: rolling
                .and_then(|r| r.max_unavailable.as_ref())
                .map(int_or_string),
            strategy,
            current_revision: status.current_revision.clone(),
            update_revision: status.update_revision.clone(),
            rollout,
        },
        pod_management_policy: sts::pod_management_policy(set).to_string(),
        retention_policy: RetentionPolicy {
            when_deleted: retention
                .and_then(|r| r.when_deleted.clone())
                .unwrap_or_else(|| "Retain".to_string()),
            when_scaled: retention
                .and_then(|r| r.when_scaled.clone())
                .unwrap_or_else(|| "Retain".to_string()),
        },
        identity: identity(related, settings),
        disruption_budgets: related
            .pod_disruption_budgets
            .as_ref()
            .map(|budgets| budgets.iter().copied().map(budget_summary).collect()),
        storage: storage(related),
        checks: Vec::new(),
    };
    report.checks = checks::run(related, &report, settings.now);
    report
}

fn budget_summary(budget: &PodDisruptionBudget) -> BudgetSummary {
    let spec = budget.spec.as_ref();
    let rule = match (
        spec.and_then(|s| s.max_unavailable.as_ref()),
        spec.and_then(|s| s.min_available.as_ref()),
    ) {
        (Some(max), _) => format!("maxUnavailable {}", int_or_string(max)),
        (None, Some(min)) => format!("minAvailable {}", int_or_string(min)),
        (None, None) => "no minAvailable or maxUnavailable".to_string(),
    };
    let status = budget.status.clone().unwrap_or_default();
    BudgetSummary {
        name: budget.metadata.name.clone().unwrap_or_default(),
        rule,
        disruptions_allowed: status.disruptions_allowed.unwrap_or(0),
        current_healthy: status.current_healthy.unwrap_or(0),
        desired_healthy: status.desired_healthy.unwrap_or(0),
    }
}

fn int_or_string(value: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match value {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// Evidence that a pod will not become Ready on its own: a failing container, a
/// failed phase, restarts while unready, unschedulable, or unready for longer
/// than [`UNREADY_STALL_SECONDS`]. None for a healthy or merely starting pod.
pub fn pod_trouble(pod: &Pod, now: Timestamp) -> Option<String> {
    if sts::is_pod_ready(pod) || sts::is_pod_terminating(pod) {
        return None;
    }
    let status = pod.status.as_ref()?;
    if status.phase.as_deref() == Some("Failed") {
        return Some(match &status.reason {
            Some(reason) => format!("pod Failed ({reason})"),
            None => "pod Failed".to_string(),
        });
    }
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in containers {
        let waiting = container.state.as_ref().and_then(|s| s.waiting.as_ref());
        if let Some(reason) = waiting.and_then(|w| w.reason.as_deref())
            && sts::FAILING_WAIT_REASONS.contains(&reason)
        {
            return Some(format!(
                "container {} is {reason} ({} restarts)",
                container.name, container.restart_count
            ));
        }
    }
    let restarts = sts::pod_restarts(pod);
    if restarts > 0 {
        return Some(format!("not Ready after {restarts} restarts"));
    }
    let conditions = status.conditions.iter().flatten();
    for condition in conditions {
        // The scheduler says Unschedulable for a while during normal volume
        // provisioning, so it counts only once it has lasted.
        if condition.type_ == "PodScheduled"
            && condition.status == "False"
            && condition.reason.as_deref() == Some("Unschedulable")
        {
            let since = condition
                .last_transition_time
                .as_ref()
                .or(pod.metadata.creation_timestamp.as_ref());
            let seconds = since.map_or(0, |t| now.as_second() - t.0.as_second());
            if seconds >= UNREADY_STALL_SECONDS {
                return Some(format!(
                    "unschedulable for {}: {}",
                    age(seconds),
                    condition.message.as_deref().unwrap_or("no node fits")
                ));
            }
        }
        if condition.type_ == "Ready"
            && condition.status == "False"
            && let Some(since) = &condition.last_transition_time
        {
            let seconds = now.as_second() - since.0.as_second();
            if seconds >= UNREADY_STALL_SECONDS {
                return Some(format!("not Ready for {}", age(seconds)));
            }
        }
    }
    None
}

/// kubectl's short age style: 45s, 3m, 2h, 4d.
pub fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Where the update stands. For RollingUpdate the complete/in-progress decision
/// is kubectl's rule (`sts::rollout_status`); an unfinished rollout is stalled
/// when a pod in range shows evidence ([`pod_trouble`]) that it will not become
/// Ready: under OrderedReady the lowest such pod blocks everything above it,
/// and a rolling update never passes an unhealthy pod. Pods on the update
/// revision are named first, since they are the ones the update broke.
pub fn rollout(related: &Related<'_>, now: Timestamp) -> Rollout {
    let set = related.set;
    let status = set.status.clone().unwrap_or_default();
    let update_revision = status.update_revision.as_deref();
    if !related.pods_read {
        // Only settled sets go unread: complete by their own status.
        let message = match sts::rollout_status(set) {
            Ok(verdict) if verdict.done => verdict.message,
            _ => format!(
                "all {} pods run revision {}",
                sts::desired_replicas(set),
                update_revision.unwrap_or("?")
            ),
        };
        return Rollout {
            state: RolloutState::Complete,
            message,
            pod: None,
            ordinal: None,
            reason: None,
            on_update_revision: None,
        };
    }
    let in_range = sts::ordinals(set);
    let in_range_pods: Vec<(i32, &Pod)> = related
        .pods
        .iter()
        .filter(|(ordinal, _)| in_range.contains(ordinal))
        .copied()
        .collect();
    let on_update =
        |pod: &Pod| update_revision.is_some() && sts::pod_revision(pod) == update_revision;
    let blocked = in_range_pods
        .iter()
        .filter_map(|(ordinal, pod)| pod_trouble(pod, now).map(|why| (*ordinal, *pod, why)))
        .min_by_key(|(ordinal, pod, _)| (!on_update(pod), *ordinal));

    let stalled = |(ordinal, pod, reason): (i32, &Pod, String), message: String| Rollout {
        state: RolloutState::Stalled,
        message,
        pod: pod.metadata.name.clone(),
        ordinal: Some(ordinal),
        reason: Some(reason),
        on_update_revision: Some(on_update(pod)),
    };

    if sts::update_strategy(set) == "OnDelete" {
        let old: Vec<&str> = in_range_pods
            .iter()
            .filter(|(_, pod)| !on_update(pod))
            .filter_map(|(_, pod)| pod.metadata.name.as_deref())
            .collect();
        if let Some(blocker) = blocked.filter(|(_, pod, _)| on_update(pod)) {
            let message = format!(
                "{} pods on older revisions; the replaced pod is not becoming Ready",
                old.len()
            );
            return stalled(blocker, message);
        }
        return if old.is_empty() {
            Rollout {
                state: RolloutState::Complete,
                message: format!(
                    "all {} pods run revision {}",
                    in_range_pods.len(),
                    update_revision.unwrap_or("?")
                ),
                pod: None,
                ordinal: None,
                reason: None,
                on_update_revision: None,
            }
        } else {
            Rollout {
                state: RolloutState::InProgress,
                message: format!(
                    "{} pods on older revisions ({}); OnDelete replaces a pod only when it is deleted",
                    old.len(),
                    old.join(", ")
                ),
                pod: old.last().map(|name| name.to_string()),
                ordinal: None,
                reason: None,
                on_update_revision: Some(false),
            }
        };
    }

    let kubectl = match sts::rollout_status(set) {
        Ok(verdict) => verdict,
        Err(message) => {
            return Rollout {
                state: RolloutState::InProgress,
                message,
                pod: None,
                ordinal: None,
                reason: None,
                on_update_revision: None,
            };
        }
    };
    if kubectl.done {
        return Rollout {
            state: RolloutState::Complete,
            message: kubectl.message,
            pod: None,
            ordinal: None,
            reason: None,
            on_update_revision: None,
        };
    }
    if let Some(blocker) = blocked {
        return stalled(blocker, kubectl.message);
    }
    // Waiting normally: name the pod the controller waits on. Under OrderedReady
    // that is the lowest ordinal not Ready (missing pods included); otherwise the
    // highest pod at or above the partition not yet on the update revision.
    let set_name = sts::name(set);
    let lowest_unready = in_range.clone().find(|ordinal| {
        !in_range_pods
            .iter()
            .any(|(o, pod)| o == ordinal && sts::is_pod_ready(pod))
    });
    let next_to_update = in_range
        .clone()
        .rev()
        .filter(|ordinal| *ordinal >= in_range.start + sts::partition(set))
        .find(|ordinal| {
            !in_range_pods
                .iter()
                .any(|(o, pod)| o == ordinal && on_update(pod))
        });
    let waiting_on = lowest_unready.or(next_to_update);
    // The scheduler's reason is worth saying at once (a cordoned node, claims
    // still binding), long before the pod counts as stalled.
    let unscheduled = in_range_pods
        .iter()
        .find(|(ordinal, _)| Some(*ordinal) == waiting_on)
        .and_then(|(_, pod)| sts::unscheduled_reason(pod))
        .map(|why| format!("Pending, not scheduled: {why}"));
    Rollout {
        state: RolloutState::InProgress,
        message: kubectl.message,
        pod: waiting_on.map(|ordinal| sts::pod_name(set_name, ordinal)),
        ordinal: waiting_on,
        reason: unscheduled,
        on_update_revision: None,
    }
}

/// Whether the Service's selector selects pods with the template's labels. A
/// Service without a selector selects nothing (its endpoints are managed by hand).
pub fn service_selects(
    service: &Service,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    service
        .spec
        .as_ref()
        .and_then(|spec| spec.selector.as_ref())
        .filter(|selector| !selector.is_empty())
        .is_some_and(|selector| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// A governing Service gives per-pod DNS records only when it is headless.
pub fn is_headless(service: &Service) -> bool {
    let spec = service.spec.as_ref();
    spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP") == "ClusterIP"
        && spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

fn service_summary(
    service: &Service,
    labels: &std::collections::BTreeMap<String, String>,
) -> ServiceSummary {
    let spec = service.spec.as_ref();
    let selector = spec
        .and_then(|s| s.selector.as_ref())
        .filter(|selector| !selector.is_empty())
        .map(|selector| {
            selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
    ServiceSummary {
        name: service.metadata.name.clone().unwrap_or_default(),
        type_: spec
            .and_then(|s| s.type_.clone())
            .unwrap_or_else(|| "ClusterIP".to_string()),
        cluster_ip: spec.and_then(|s| s.cluster_ip.clone()),
        headless: is_headless(service),
        selector,
        selects_pods: service_selects(service, labels),
    }
}

/// How the pod appears in the slices: by targetRef, else by hostname.
fn endpoint_state(slices: &[&EndpointSlice], pod_name: &str) -> EndpointState {
    let endpoint = slices
        .iter()
        .flat_map(|slice| slice.endpoints.iter().flatten())
        .find(|endpoint| {
            endpoint.target_ref.as_ref().is_some_and(|target| {
                target.kind.as_deref().unwrap_or("Pod") == "Pod"
                    && target.name.as_deref() == Some(pod_name)
            }) || (endpoint.target_ref.is_none() && endpoint.hostname.as_deref() == Some(pod_name))
        });
    match endpoint {
        None => EndpointState::Absent,
        Some(endpoint) => {
            let conditions = endpoint.conditions.clone().unwrap_or_default();
            // The API says a missing `ready` is to be read as ready.
            if conditions.terminating == Some(true) {
                EndpointState::Terminating
            } else if conditions.ready.unwrap_or(true) {
                EndpointState::Ready
            } else {
                EndpointState::NotReady
            }
        }
    }
}

fn identity(related: &Related<'_>, settings: &Settings) -> Identity {
    let set = related.set;
    let set_name = sts::name(set);
    let namespace = sts::namespace(set);
    let service_name = snapshot::service_name(set).map(str::to_string);
    let labels = snapshot::template_labels(set);
    let in_range = sts::ordinals(set);
    let mut ordinals: Vec<i32> = in_range.clone().collect();
    ordinals.extend(related.pods.iter().map(|(ordinal, _)| *ordinal));
    ordinals.sort_unstable();
    ordinals.dedup();

    let pods = ordinals
        .into_iter()
        .map(|ordinal| {
            let pod = related
                .pods
                .iter()
                .find(|(o, _)| *o == ordinal)
                .map(|(_, pod)| *pod);
            let name = sts::pod_name(set_name, ordinal);
            let hostname = pod
                .and_then(|p| p.spec.as_ref())
                .and_then(|spec| spec.hostname.clone())
                .unwrap_or_else(|| name.clone());
            let dns_name = service_name.as_ref().map(|service| {
                format!(
                    "{hostname}.{service}.{namespace}.svc.{}",
                    settings.cluster_domain
                )
            });
            let endpoint = match (&related.endpoint_slices, related.service) {
                (Some(slices), Some(_)) => endpoint_state(slices, &name),
                _ => EndpointState::Unknown,
            };
            PodIdentity {
                ordinal,
                exists: pod.is_some(),
                condemned: !in_range.contains(&ordinal),
                phase: pod
                    .and_then(|p| p.status.as_ref())
                    .and_then(|s| s.phase.clone()),
                ready: pod.is_some_and(sts::is_pod_ready),
                terminating: pod.is_some_and(sts::is_pod_terminating),
                restarts: pod.map(sts::pod_restarts).unwrap_or(0),
                revision: pod.and_then(sts::pod_revision).map(str::to_string),
                hostname,
                dns_name,
                endpoint,
                trouble: pod.and_then(|p| pod_trouble(p, settings.now)),
                pod: name,
            }
        })
        .collect();
    Identity {
        service_name,
        service: related.service.map(|s| service_summary(s, &labels)),
        pods,
    }
}

/// The default StorageClass, as the API server picks it for claims without one.
pub fn default_class(classes: &[k8s_openapi::api::storage::v1::StorageClass]) -> Option<&str> {
    const DEFAULT: &str = "storageclass.kubernetes.io/is-default-class";
    classes
        .iter()
        .find(|class| {
            class
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT))
                .is_some_and(|v| v == "true")
        })
        .and_then(|class| class.metadata.name.as_deref())
}

fn storage(related: &Related<'_>) -> Storage {
    let set = related.set;
    let classes = related.storage_classes;
    let templates = set
        .spec
        .volume_claim_templates
        .iter()
        .flatten()
        .map(|template| {
            let spec = template.spec.clone().unwrap_or_default();
            let storage_class = spec.storage_class_name.clone();
            let effective_class = match storage_class.as_deref() {
                Some("") => None,
                Some(name) => Some(name.to_string()),
                None => classes.and_then(default_class).map(str::to_string),
            };
            let class = effective_class.as_deref().and_then(|name| {
                classes?
                    .iter()
                    .find(|class| class.metadata.name.as_deref() == Some(name))
            });
            ClaimTemplate {
                name: template.metadata.name.clone().unwrap_or_default(),
                class_exists: match (classes, &effective_class) {
                    (Some(_), Some(_)) => Some(class.is_some()),
                    _ => None,
                },
                provisioner: class.map(|c| c.provisioner.clone()),
                storage_class,
                effective_class,
                access_modes: spec.access_modes.unwrap_or_default(),
                request: spec
                    .resources
                    .and_then(|r| r.requests)
                    .and_then(|requests| requests.get("storage").map(|q| q.0.clone())),
            }
        })
        .collect();
    let in_range = sts::ordinals(set);
    let claims = related
        .claims
        .iter()
        .map(|(template, ordinal, claim)| claim_summary(template, *ordinal, claim, &in_range))
        .collect();
    Storage { templates, claims }
}

fn claim_summary(
    template: &str,
    ordinal: i32,
    claim: &PersistentVolumeClaim,
    in_range: &std::ops::Range<i32>,
) -> ClaimSummary {
    let spec = claim.spec.as_ref();
    ClaimSummary {
        name: claim.metadata.name.clone().unwrap_or_default(),
        template: template.to_string(),
        ordinal,
        phase: claim.status.as_ref().and_then(|s| s.phase.clone()),
        storage_class: spec.and_then(|s| s.storage_class_name.clone()),
        volume: spec.and_then(|s| s.volume_name.clone()),
        orphaned: !in_range.contains(&ordinal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::status::test_support::*;
    use crate::inventory::Listing;

    #[test]
    fn a_healthy_set_lists_each_pods_dns_name_and_endpoint() {
        let report = report_of(&fixture("web.yaml"));
        assert_eq!(report.name, "web");
        assert_eq!(report.replicas.desired, 3);
        assert_eq!(report.replicas.ready, 3);
        assert_eq!(report.update.partition, Some(0));
        assert_eq!(report.update.rollout.state, RolloutState::Complete);
        let service = report.identity.service.as_ref().expect("service found");
        assert!(service.headless && service.selects_pods);
        let dns: Vec<_> = report
            .identity
            .pods
            .iter()
            .map(|p| p.dns_name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            dns,
            [
                "web-0.headless-svc.default.svc.cluster.local",
                "web-1.headless-svc.default.svc.cluster.local",
                "web-2.headless-svc.default.svc.cluster.local",
            ]
        );
        assert!(
            report
                .identity
                .pods
                .iter()
                .all(|p| p.endpoint == EndpointState::Ready && p.ready && p.trouble.is_none())
        );
        assert_eq!(report.storage.templates[0].class_exists, Some(true));
        assert_eq!(
            report.storage.templates[0].provisioner.as_deref(),
            Some("k8s-sigs.io/nfs-subdir-external-provisioner")
        );
        assert_eq!(report.storage.claims.len(), 3);
        assert!(report.storage.claims.iter().all(|c| !c.orphaned));
    }

    #[test]
    fn the_cluster_domain_is_the_users() {
        let snapshot = fixture("web.yaml");
        let set = &snapshot.inventory.statefulsets[0];
        let settings = Settings {
            cluster_domain: "corp.example".to_string(),
            ..settings_at(NOW)
        };
        let report = build(&Related::gather(set, &snapshot), &settings);
        assert_eq!(
            report.identity.pods[1].dns_name.as_deref(),
            Some("web-1.headless-svc.default.svc.corp.example")
        );
    }

    #[test]
    fn endpoint_states_come_from_the_slices() {
        let mut snapshot = fixture("web.yaml");
        if let Listing::Listed(slices) = &mut snapshot.identity.endpoint_slices {
            let endpoints = slices[0].endpoints.as_mut().unwrap();
            endpoints[1].conditions.as_mut().unwrap().ready = Some(false);
            endpoints.remove(2);
        }
        let report = report_of(&snapshot);
        let states: Vec<_> = report.identity.pods.iter().map(|p| p.endpoint).collect();
        assert_eq!(
            states,
            [
                EndpointState::Ready,
                EndpointState::NotReady,
                EndpointState::Absent
            ]
        );

        snapshot.identity.endpoint_slices = Listing::Forbidden;
        let report = report_of(&snapshot);
        assert!(
            report
                .identity
                .pods
                .iter()
                .all(|p| p.endpoint == EndpointState::Unknown)
        );
    }

    #[test]
    fn a_crash_looping_pod_on_the_update_revision_stalls_the_rollout() {
        let report = report_of(&fixture("crash-stalled.yaml"));
        let rollout = &report.update.rollout;
        assert_eq!(rollout.state, RolloutState::Stalled);
        assert_eq!(rollout.pod.as_deref(), Some("web-2"));
        assert_eq!(rollout.ordinal, Some(2));
        assert_eq!(rollout.on_update_revision, Some(true));
        let reason = rollout.reason.as_deref().unwrap_or_default();
        assert!(reason.contains("CrashLoopBackOff"), "{reason}");
        assert!(reason.contains("4 restarts"), "{reason}");
        // kubectl's own words stay the message.
        assert_eq!(rollout.message, "Waiting for 1 pods to be ready...");
    }

    #[test]
    fn a_pod_that_is_still_starting_is_progress_not_a_stall() {
        let mut snapshot = fixture("crash-stalled.yaml");
        let web_2 = &mut snapshot.inventory.pods[2];
        let status = web_2.status.as_mut().unwrap();
        let container = &mut status.container_statuses.as_mut().unwrap()[0];
        container.restart_count = 0;
        container.state = serde_saphyr::from_str("{waiting: {reason: ContainerCreating}}").unwrap();
        let report = report_of(&snapshot);
        let rollout = &report.update.rollout;
        assert_eq!(rollout.state, RolloutState::InProgress);
        assert_eq!(rollout.pod.as_deref(), Some("web-2"));
        assert_eq!(rollout.reason, None);

        // Held by the scheduler (a cordoned node): still progress, with its reason.
        let mut cordoned = snapshot.clone();
        let status = cordoned.inventory.pods[2].status.as_mut().unwrap();
        status.container_statuses = None;
        status.phase = Some("Pending".into());
        status.conditions = serde_saphyr::from_str(
            "[{type: PodScheduled, status: 'False', reason: Unschedulable, \
             message: '0/1 nodes are available: 1 node(s) were unschedulable.', \
             lastTransitionTime: '2026-11-23T08:59:50Z'}]",
        )
        .ok();
        let report = report_of(&cordoned);
        let rollout = &report.update.rollout;
        assert_eq!(rollout.state, RolloutState::InProgress);
        assert_eq!(
            rollout.reason.as_deref(),
            Some("Pending, not scheduled: 0/1 nodes are available: 1 node(s) were unschedulable")
        );
        let text = super::super::render::report(&report, crate::output::Styling::plain());
        assert!(
            text.contains(", waiting for web-2: Pending, not scheduled: 0/1 nodes"),
            "{text}"
        );

        // Unready for longer than the stall limit is a stall even without restarts.
        let report = report_at(&snapshot, "2026-11-23T09:02:00Z");
        assert_eq!(report.update.rollout.state, RolloutState::InProgress);
        let report = report_at(&snapshot, "2026-11-23T09:05:00Z");
        assert_eq!(report.update.rollout.state, RolloutState::Stalled);
        assert_eq!(
            report.update.rollout.reason.as_deref(),
            Some("not Ready for 7m")
        );
    }

    #[test]
    fn under_ordered_ready_the_rollout_waits_on_the_lowest_missing_pod() {
        let mut snapshot = fixture("web.yaml");
        snapshot
            .inventory
            .pods
            .retain(|p| p.metadata.name.as_deref() != Some("web-1"));
        let set = set_mut(&mut snapshot);
        if let Some(status) = set.status.as_mut() {
            status.ready_replicas = Some(2);
        }
        let report = report_of(&snapshot);
        assert_eq!(report.update.rollout.state, RolloutState::InProgress);
        assert_eq!(report.update.rollout.pod.as_deref(), Some("web-1"));
        let web_1 = &report.identity.pods[1];
        assert!(!web_1.exists);
        assert_eq!(
            web_1.endpoint,
            EndpointState::Ready,
            "the slice still lists it"
        );
    }

    #[test]
    fn on_delete_rollouts_name_the_pods_left_on_old_revisions() {
        let mut snapshot = fixture("crash-stalled.yaml");
        // web-2 recovered; web-0 and web-1 wait to be deleted by someone.
        snapshot.inventory.pods[2] = snapshot.inventory.pods[1].clone();
        let web_2 = &mut snapshot.inventory.pods[2];
        web_2.metadata.name = Some("web-2".into());
        web_2
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(sts::REVISION_LABEL.into(), "web-7c9b".into());
        let set = set_mut(&mut snapshot);
        set.spec.update_strategy = serde_saphyr::from_str("{type: OnDelete}").ok();
        let report = report_of(&snapshot);
        let rollout = &report.update.rollout;
        assert_eq!(rollout.state, RolloutState::InProgress);
        assert!(
            rollout.message.contains("web-0, web-1"),
            "{}",
            rollout.message
        );
        assert_eq!(report.update.partition, None);
    }

    #[test]
    fn troubled_pods_are_recognised_by_their_evidence() {
        let now: Timestamp = NOW.parse().unwrap();
        let pod = |yaml: &str| -> Pod { serde_saphyr::from_str(yaml).unwrap() };
        let pull = pod(
            "{metadata: {name: p}, status: {phase: Pending, containerStatuses: [{name: app, image: x, imageID: '', ready: false, restartCount: 0, state: {waiting: {reason: ImagePullBackOff}}}]}}",
        );
        assert_eq!(
            pod_trouble(&pull, now).as_deref(),
            Some("container app is ImagePullBackOff (0 restarts)")
        );
        let failed = pod("{metadata: {name: p}, status: {phase: Failed, reason: Evicted}}");
        assert_eq!(
            pod_trouble(&failed, now).as_deref(),
            Some("pod Failed (Evicted)")
        );
        let ready = pod(
            "{metadata: {name: p}, status: {phase: Running, conditions: [{type: Ready, status: 'True'}]}}",
        );
        assert_eq!(pod_trouble(&ready, now), None);
        let starting = pod("{metadata: {name: p}, status: {phase: Pending}}");
        assert_eq!(pod_trouble(&starting, now), None);
        let unschedulable = |since: &str| {
            pod(&format!(
                "{{metadata: {{name: p}}, status: {{phase: Pending, conditions: [{{type: PodScheduled, status: 'False', reason: Unschedulable, message: no nodes, lastTransitionTime: '{since}'}}]}}}}"
            ))
        };
        assert_eq!(
            pod_trouble(&unschedulable("2026-11-23T08:59:00Z"), now),
            None
        );
        assert_eq!(
            pod_trouble(&unschedulable("2026-11-23T08:40:00Z"), now).as_deref(),
            Some("unschedulable for 20m: no nodes")
        );
    }

    #[test]
    fn ages_read_like_kubectls() {
        assert_eq!(age(45), "45s");
        assert_eq!(age(420), "7m");
        assert_eq!(age(3 * 3600), "3h");
        assert_eq!(age(3 * 86400), "3d");
    }
}
