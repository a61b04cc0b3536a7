//! The StatefulSet controller (pkg/controller/statefulset).
//!
//! The decisions are one pure function, [`plan_sync`], that mirrors upstream's
//! `updateStatefulSet` (processReplica, processCondemned, the rolling update
//! with maxUnavailable) over a snapshot of the set, its pods, claims and
//! revisions, and returns the writes to make, in order, plus the status to
//! record. The loop (`run`) keeps that snapshot from the API's change stream,
//! applies plans through [`Cluster`], records events and re-syncs on changes and
//! minReadySeconds timers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodSpec, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::events::{self, EventType, ObjectReference};
use super::resync::{self, Queued};
use super::revision;
use crate::sandbox::api::cluster::{
    Change, Cluster, DeleteOptions, ListOptions, PatchBody, Subresource, WatchEvent,
    WatchEventType, WriteOptions,
};
use crate::sandbox::api::error::ApiError;
use crate::sandbox::resources::{
    CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS, ResourceType, STATEFUL_SETS,
};
use crate::sts;

/// The component name upstream's recorder reports.
pub const COMPONENT: &str = "statefulset-controller";

const RETAIN: &str = "Retain";
const DELETE: &str = "Delete";

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("ControllerRevision {name} cannot be applied: {reason}")]
    BadRevision { name: String, reason: String },
    #[error("invalid maxUnavailable {0:?}")]
    BadMaxUnavailable(String),
}

/// One write the controller makes, with what upstream records for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create a missing claim of `pod` (event `create Claim ... success`).
    CreateClaim {
        claim: Box<PersistentVolumeClaim>,
        pod: String,
    },
    /// A claim of `pod` is terminating: creating the pod fails this round
    /// (`create Pod ... failed error: pvc <claim> is being deleted`).
    ClaimTerminating { claim: String, pod: String },
    /// Create a pod (event `create Pod ... successful`).
    CreatePod(Box<Pod>),
    /// Delete a pod with its own grace period (event `delete Pod ... successful`).
    DeletePod { name: String, uid: Option<String> },
    /// Replace a claim's ownerReferences to follow the retention policy.
    SetClaimOwners {
        claim: String,
        owners: Vec<OwnerReference>,
    },
    /// Restore a pod's identity labels (`update Pod ... successful`).
    UpdatePodLabels {
        pod: String,
        labels: BTreeMap<String, String>,
    },
    /// The pod was brought back in line (its claims' owners): upstream
    /// records `update Pod ... successful` for it.
    PodUpdated { pod: String },
}

/// Everything one sync decides.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPlan {
    pub actions: Vec<Action>,
    /// The status to write, already completed (`completeRollingUpdate`).
    pub status: StatefulSetStatus,
    /// Whether `status` differs from the recorded one in a field upstream compares.
    pub status_changed: bool,
    /// Sync again after this long (a pod becomes available for minReadySeconds).
    pub resync_after: Option<Duration>,
}

/// What a sync reads: the set, the pods it owns, the claims of its namespace
/// by name, and its current and update revisions.
pub struct SyncInput<'a> {
    pub set: &'a StatefulSet,
    pub pods: &'a [&'a Pod],
    pub claims: &'a BTreeMap<String, PersistentVolumeClaim>,
    pub current: &'a ControllerRevision,
    pub update: &'a ControllerRevision,
    pub collision_count: i32,
    pub now: Timestamp,
}

// ---- pod predicates (stateful_set_utils.go, pkg/api/v1/pod) ----

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// The API server has it (a pod built this sync has no phase yet).
fn is_created(pod: &Pod) -> bool {
    !phase(pod).is_empty()
}

fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && sts::is_pod_ready(pod)
}

/// `podutil.IsPodAvailable`: Ready, and for longer than minReadySeconds.
fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !sts::is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    sts::ready_since(pod).is_some_and(|since| {
        since
            .checked_add(jiff::SignedDuration::from_secs(i64::from(
                min_ready_seconds,
            )))
            .is_ok_and(|available_at| available_at < now)
    })
}

fn is_healthy(pod: &Pod) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

fn is_unavailable(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    !is_healthy(pod) || !is_available(pod, min_ready_seconds, now)
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

// ---- set facts ----

fn min_ready_seconds(set: &StatefulSet) -> i32 {
    set.spec.min_ready_seconds.unwrap_or(0)
}

fn retention_policy(set: &StatefulSet) -> (&str, &str) {
    let policy = set.spec.persistent_volume_claim_retention_policy.as_ref();
    let when_scaled = policy
        .and_then(|p| p.when_scaled.as_deref())
        .unwrap_or(RETAIN);
    let when_deleted = policy
        .and_then(|p| p.when_deleted.as_deref())
        .unwrap_or(RETAIN);
    (when_scaled, when_deleted)
}

fn in_range(set: &StatefulSet, ordinal: i32) -> bool {
    sts::ordinals(set).contains(&ordinal)
}

/// `getStatefulSetMaxUnavailable`: an int, or a percentage of replicas
/// rounded down; never below 1.
pub fn max_unavailable(set: &StatefulSet) -> Result<i32, PlanError> {
    let value = set
        .spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.clone());
    let replicas = sts::desired_replicas(set);
    let n = match value {
        None => 1,
        Some(IntOrString::Int(n)) => n,
        Some(IntOrString::String(text)) => {
            let percent = text
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(|| PlanError::BadMaxUnavailable(text.clone()))?;
            i32::try_from(percent * i64::from(replicas) / 100)
                .map_err(|_| PlanError::BadMaxUnavailable(text.clone()))?
        }
    };
    Ok(n.max(1))
}

// ---- building pods and claims (newVersionedStatefulSetPod, getPersistentVolumeClaims) ----

/// The template a revision holds (`ApplyRevision`: the patch replaces the template).
fn template_at(revision: &ControllerRevision) -> Result<PodTemplateSpec, PlanError> {
    crate::revisions::template_of(revision).map_err(|reason| PlanError::BadRevision {
        name: revision.metadata.name.clone().unwrap_or_default(),
        reason,
    })
}

/// The claims the set's templates give `ordinal`, by template name, in template order.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<(String, PersistentVolumeClaim)> {
    let set_name = sts::name(set);
    let selector_labels = set.spec.selector.match_labels.clone().unwrap_or_default();
    set.spec
        .volume_claim_templates
        .iter()
        .flatten()
        .map(|template| {
            let template_name = template.metadata.name.clone().unwrap_or_default();
            let mut labels = template.metadata.labels.clone().unwrap_or_default();
            labels.extend(selector_labels.clone());
            let claim = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(sts::claim_name(&template_name, set_name, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: template.metadata.annotations.clone(),
                    finalizers: template.metadata.finalizers.clone(),
                    ..ObjectMeta::default()
                },
                spec: template.spec.clone(),
                status: None,
            };
            (template_name, claim)
        })
        .collect()
}

/// The pod for `ordinal` at `revision` (newStatefulSetPod + setPodRevision).
fn new_pod(
    set: &StatefulSet,
    template: &PodTemplateSpec,
    revision_name: &str,
    ordinal: i32,
) -> Pod {
    let set_name = sts::name(set);
    let name = sts::pod_name(set_name, ordinal);
    let template_meta = template.metadata.clone().unwrap_or_default();
    let mut labels = template_meta.labels.unwrap_or_default();
    labels.insert(sts::POD_NAME_LABEL.to_string(), name.clone());
    labels.insert(sts::POD_INDEX_LABEL.to_string(), ordinal.to_string());
    labels.insert(sts::REVISION_LABEL.to_string(), revision_name.to_string());
    let mut spec: PodSpec = template.spec.clone().unwrap_or_default();
    spec.hostname = Some(name.clone());
    spec.subdomain = set.spec.service_name.clone().filter(|s| !s.is_empty());
    // Claim volumes replace template volumes of the same name (updateStorage).
    let claims = claims_for(set, ordinal);
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(template_name, claim)| Volume {
            name: template_name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Volume::default()
        })
        .collect();
    volumes.extend(spec.volumes.take().into_iter().flatten().filter(|v| {
        !claims
            .iter()
            .any(|(template_name, _)| *template_name == v.name)
    }));
    spec.volumes = Some(volumes).filter(|v| !v.is_empty());
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            generate_name: Some(format!("{set_name}-")),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: template_meta.annotations,
            finalizers: template_meta.finalizers,
            owner_references: Some(vec![revision::controller_ref(set)]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

// ---- claim ownership by retention policy (isClaimOwnerUpToDate, updateClaimOwnerRefForSetAndPod) ----

fn refers_to(owner: &OwnerReference, api_version: &str, kind: &str, name: &str) -> bool {
    owner.api_version == api_version && owner.kind == kind && owner.name == name
}

fn pod_ref(pod: &Pod) -> OwnerReference {
    OwnerReference {
        api_version: "v1".to_string(),
        kind: "Pod".to_string(),
        name: pod_name(pod).to_string(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A ref to an object of that name and kind but another uid: left alone.
fn has_stale_ref(
    claim: &PersistentVolumeClaim,
    api_version: &str,
    kind: &str,
    name: &str,
    uid: &str,
) -> bool {
    claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| refers_to(r, api_version, kind, name))
        .is_some_and(|r| r.uid != uid)
}

fn has_ref_uid(claim: &PersistentVolumeClaim, uid: &str) -> bool {
    !uid.is_empty()
        && claim
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.uid == uid)
}

/// The owners the claim of `pod` should have, or None when it already has
/// them (or holds refs upstream refuses to touch).
fn wanted_claim_owners(
    set: &StatefulSet,
    pod: &Pod,
    ordinal: i32,
    claim: &PersistentVolumeClaim,
) -> Option<Vec<OwnerReference>> {
    let set_name = sts::name(set);
    let set_uid = set.metadata.uid.as_deref().unwrap_or_default();
    let pod_uid = pod.metadata.uid.as_deref().unwrap_or_default();
    if has_stale_ref(claim, "apps/v1", "StatefulSet", set_name, set_uid)
        || has_stale_ref(claim, "v1", "Pod", pod_name(pod), pod_uid)
    {
        return None;
    }
    let (when_scaled, when_deleted) = retention_policy(set);
    let refs = claim.metadata.owner_references.clone().unwrap_or_default();
    let ours = |r: &OwnerReference| {
        refers_to(r, "apps/v1", "StatefulSet", set_name) || refers_to(r, "v1", "Pod", pod_name(pod))
    };
    let retain_all = when_scaled == RETAIN && when_deleted == RETAIN;
    let unexpected_controller =
        !retain_all && refs.iter().any(|r| !ours(r) && r.controller == Some(true));
    let has_set = has_ref_uid(claim, set_uid);
    let has_pod = has_ref_uid(claim, pod_uid);
    let non_controller_owner = refs.iter().any(|r| {
        (r.uid == set_uid || (!pod_uid.is_empty() && r.uid == pod_uid))
            && r.controller != Some(true)
    });
    let scaled_down = !in_range(set, ordinal);
    let up_to_date = if unexpected_controller {
        !(has_set || has_pod)
    } else if non_controller_owner {
        false
    } else {
        match (when_scaled, when_deleted) {
            (RETAIN, DELETE) => has_set && !has_pod,
            (DELETE, RETAIN) => !has_set && scaled_down == has_pod,
            (DELETE, DELETE) => scaled_down != has_set && scaled_down == has_pod,
            // Retain/Retain, and unknown policies treated as Retain.
            _ => !has_set && !has_pod,
        }
    };
    if up_to_date {
        return None;
    }
    let mut owners: Vec<OwnerReference> = refs.into_iter().filter(|r| !ours(r)).collect();
    if unexpected_controller {
        return Some(owners);
    }
    let set_ref = revision::controller_ref(set);
    match (when_scaled, when_deleted) {
        (RETAIN, DELETE) => owners.push(set_ref),
        (DELETE, RETAIN) if scaled_down => owners.push(pod_ref(pod)),
        (DELETE, DELETE) if scaled_down => owners.push(pod_ref(pod)),
        (DELETE, DELETE) => owners.push(set_ref),
        _ => {}
    }
    Some(owners)
}

/// Owners for a claim created now, for an in-range pod not created yet.
fn owners_at_creation(set: &StatefulSet) -> Option<Vec<OwnerReference>> {
    match retention_policy(set) {
        (_, DELETE) => Some(vec![revision::controller_ref(set)]),
        _ => None,
    }
}

// ---- the sync ----

struct Planner<'a> {
    input: &'a SyncInput<'a>,
    set: &'a StatefulSet,
    current_template: PodTemplateSpec,
    update_template: PodTemplateSpec,
    current_name: String,
    update_name: String,
    min_ready: i32,
    monotonic: bool,
    actions: Vec<Action>,
}

impl Planner<'_> {
    fn claim(&self, name: &str) -> Option<&PersistentVolumeClaim> {
        self.input.claims.get(name)
    }

    /// `createPersistentVolumeClaims`: missing claims are created; a
    /// terminating one fails the pod's creation. Returns false on failure.
    fn create_missing_claims(&mut self, pod: &str, ordinal: i32) -> bool {
        let mut ok = true;
        for (_, mut claim) in claims_for(self.set, ordinal) {
            let name = claim.metadata.name.clone().unwrap_or_default();
            match self.claim(&name) {
                None => {
                    if in_range(self.set, ordinal) {
                        claim.metadata.owner_references = owners_at_creation(self.set);
                    }
                    self.actions.push(Action::CreateClaim {
                        claim: Box::new(claim),
                        pod: pod.to_string(),
                    });
                }
                Some(existing) if existing.metadata.deletion_timestamp.is_some() => {
                    self.actions.push(Action::ClaimTerminating {
                        claim: name,
                        pod: pod.to_string(),
                    });
                    ok = false;
                }
                Some(_) => {}
            }
        }
        ok
    }

    /// `ClaimsMatchRetentionPolicy` + `UpdatePodClaimForRetentionPolicy`:
    /// returns whether any claim was changed.
    fn fix_claim_owners(&mut self, pod: &Pod, ordinal: i32) -> bool {
        let mut changed = false;
        for (_, wanted) in claims_for(self.set, ordinal) {
            let name = wanted.metadata.name.clone().unwrap_or_default();
            let Some(claim) = self.claim(&name) else {
                continue;
            };
            if let Some(owners) = wanted_claim_owners(self.set, pod, ordinal, claim) {
                self.actions.push(Action::SetClaimOwners {
                    claim: name,
                    owners,
                });
                changed = true;
            }
        }
        changed
    }

    /// `PodClaimIsStale`: with whenScaled=Delete, a claim still owned by an
    /// earlier pod of this name blocks creating the pod until the GC is done.
    fn claim_is_stale(&self, ordinal: i32) -> bool {
        if retention_policy(self.set).0 == RETAIN {
            return false;
        }
        let name = sts::pod_name(sts::name(self.set), ordinal);
        claims_for(self.set, ordinal).iter().any(|(_, wanted)| {
            self.claim(wanted.metadata.name.as_deref().unwrap_or_default())
                .is_some_and(|claim| has_stale_ref(claim, "v1", "Pod", &name, ""))
        })
    }

    /// The pod a missing ordinal gets (newVersionedStatefulSetPod): below the
    /// partition at the current revision, otherwise at the update revision.
    fn versioned_pod(&self, ordinal: i32) -> Pod {
        let start = sts::ordinal_start(self.set);
        let rolling_partition = self
            .set
            .spec
            .update_strategy
            .as_ref()
            .filter(|_| sts::update_strategy(self.set) == "RollingUpdate")
            .and_then(|u| u.rolling_update.as_ref())
            .map(|r| r.partition.unwrap_or(0));
        let status_current = self
            .set
            .status
            .as_ref()
            .and_then(|s| s.current_replicas)
            .unwrap_or(0);
        let at_current = match rolling_partition {
            Some(partition) => ordinal < start + partition,
            None => {
                sts::update_strategy(self.set) == "RollingUpdate"
                    && ordinal < start + status_current
            }
        };
        if at_current {
            new_pod(
                self.set,
                &self.current_template,
                &self.current_name,
                ordinal,
            )
        } else {
            new_pod(self.set, &self.update_template, &self.update_name, ordinal)
        }
    }

    /// `processReplica`: returns true when this sync must stop here.
    fn process_replica(&mut self, pod: &Pod, ordinal: i32) -> bool {
        let name = pod_name(pod).to_string();
        if matches!(phase(pod), "Failed" | "Succeeded") {
            if !is_terminating(pod) {
                self.actions.push(Action::DeletePod {
                    name,
                    uid: pod.metadata.uid.clone(),
                });
            }
            // The new pod comes on a later sync, once this one is gone.
            return true;
        }
        if !is_created(pod) {
            if self.claim_is_stale(ordinal) {
                return true;
            }
            if !self.create_missing_claims(&name, ordinal) {
                return true;
            }
            self.actions.push(Action::CreatePod(Box::new(pod.clone())));
            if self.monotonic {
                return true;
            }
        }
        if phase(pod) == "Pending" && !self.create_missing_claims(&name, ordinal) {
            return true;
        }
        if self.monotonic
            && (is_terminating(pod)
                || !is_running_and_ready(pod)
                || !is_available(pod, self.min_ready, self.input.now))
        {
            return true;
        }
        if is_created(pod) {
            let identity_ok = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(sts::POD_NAME_LABEL))
                .is_some_and(|v| *v == name);
            let claims_changed = self.fix_claim_owners(pod, ordinal);
            if !identity_ok {
                let mut labels = pod.metadata.labels.clone().unwrap_or_default();
                labels.insert(sts::POD_NAME_LABEL.to_string(), name.clone());
                labels.insert(sts::POD_INDEX_LABEL.to_string(), ordinal.to_string());
                self.actions
                    .push(Action::UpdatePodLabels { pod: name, labels });
            } else if claims_changed {
                self.actions.push(Action::PodUpdated { pod: name });
            }
        }
        false
    }

    /// `processCondemned`: returns true when this sync must stop here.
    fn process_condemned(&mut self, pod: &Pod, first_unavailable: Option<&str>) -> bool {
        if is_terminating(pod) {
            return self.monotonic;
        }
        let is_first_unavailable = first_unavailable == Some(pod_name(pod));
        if self.monotonic
            && !is_first_unavailable
            && (!is_running_and_ready(pod) || !is_available(pod, self.min_ready, self.input.now))
        {
            return true;
        }
        self.actions.push(Action::DeletePod {
            name: pod_name(pod).to_string(),
            uid: pod.metadata.uid.clone(),
        });
        true
    }
}

/// Counts over pods (`computeReplicaStatus`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ReplicaCounts {
    replicas: i32,
    ready: i32,
    available: i32,
    current: i32,
    updated: i32,
}

fn count_replicas<'p>(
    pods: impl IntoIterator<Item = &'p Pod>,
    min_ready: i32,
    now: Timestamp,
    current: &str,
    update: &str,
) -> ReplicaCounts {
    let mut counts = ReplicaCounts::default();
    for pod in pods {
        if is_created(pod) {
            counts.replicas += 1;
        }
        if is_running_and_ready(pod) {
            counts.ready += 1;
            if is_available(pod, min_ready, now) {
                counts.available += 1;
            }
        }
        if is_created(pod) && !is_terminating(pod) {
            let revision = sts::pod_revision(pod).unwrap_or_default();
            if revision == current {
                counts.current += 1;
            }
            if revision == update {
                counts.updated += 1;
            }
        }
    }
    counts
}

/// Go's omitempty: a zero count is absent from the written status.
fn non_zero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// `inconsistentStatus`: the fields upstream compares before writing.
fn status_differs(old: &StatefulSetStatus, new: &StatefulSetStatus) -> bool {
    new.observed_generation.unwrap_or(0) > old.observed_generation.unwrap_or(0)
        || old.observed_generation.is_none()
        || new.replicas != old.replicas
        || new.current_replicas.unwrap_or(0) != old.current_replicas.unwrap_or(0)
        || new.ready_replicas.unwrap_or(0) != old.ready_replicas.unwrap_or(0)
        || new.updated_replicas.unwrap_or(0) != old.updated_replicas.unwrap_or(0)
        || new.current_revision != old.current_revision
        || new.available_replicas.unwrap_or(0) != old.available_replicas.unwrap_or(0)
        || new.update_revision != old.update_revision
}

/// One sync of one StatefulSet (upstream `updateStatefulSet` and
/// `updateStatefulSetStatus`), as a plan.
pub fn plan_sync(input: &SyncInput<'_>) -> Result<SyncPlan, PlanError> {
    let set = input.set;
    let set_name = sts::name(set);
    let current_name = input.current.metadata.name.clone().unwrap_or_default();
    let update_name = input.update.metadata.name.clone().unwrap_or_default();
    let min_ready = min_ready_seconds(set);
    let now = input.now;
    let mut planner = Planner {
        input,
        set,
        current_template: template_at(input.current)?,
        update_template: template_at(input.update)?,
        current_name: current_name.clone(),
        update_name: update_name.clone(),
        min_ready,
        monotonic: sts::pod_management_policy(set) != "Parallel",
        actions: Vec::new(),
    };

    // In-range replicas by ordinal (missing ones built fresh), and condemned
    // pods (valid ordinal outside the range), highest ordinal first.
    let ordinals = sts::ordinals(set);
    let mut existing: BTreeMap<i32, &Pod> = BTreeMap::new();
    let mut condemned: Vec<(i32, &Pod)> = Vec::new();
    for &pod in input.pods {
        let Some(ordinal) = sts::ordinal_of_pod(set_name, pod_name(pod)) else {
            continue;
        };
        if ordinals.contains(&ordinal) {
            existing.insert(ordinal, pod);
        } else {
            condemned.push((ordinal, pod));
        }
    }
    condemned.sort_by_key(|c| std::cmp::Reverse(c.0));
    let replicas: Vec<(i32, Cow<'_, Pod>)> = ordinals
        .clone()
        .map(|ordinal| match existing.get(&ordinal) {
            Some(pod) => (ordinal, Cow::Borrowed(*pod)),
            None => (ordinal, Cow::Owned(planner.versioned_pod(ordinal))),
        })
        .collect();

    let first_unavailable: Option<String> = replicas
        .iter()
        .map(|(_, p)| p.as_ref())
        .chain(condemned.iter().rev().map(|(_, p)| *p))
        .find(|p| is_unavailable(p, min_ready, now))
        .map(|p| pod_name(p).to_string());

    let counts_of = |current: &str, update: &str| {
        count_replicas(
            replicas
                .iter()
                .map(|(_, p)| p.as_ref())
                .chain(condemned.iter().map(|(_, p)| *p)),
            min_ready,
            now,
            current,
            update,
        )
    };
    let mut counts = if set.metadata.deletion_timestamp.is_some() {
        count_replicas(
            input.pods.iter().copied(),
            min_ready,
            now,
            &current_name,
            &update_name,
        )
    } else {
        counts_of(&current_name, &update_name)
    };

    if set.metadata.deletion_timestamp.is_none() {
        run_replicas_and_update(
            &mut planner,
            &replicas,
            &condemned,
            first_unavailable.as_deref(),
            &mut counts,
        )?;
    }

    let desired = sts::desired_replicas(set);
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        replicas: counts.replicas,
        ready_replicas: non_zero(counts.ready),
        available_replicas: non_zero(counts.available),
        current_replicas: non_zero(counts.current),
        updated_replicas: non_zero(counts.updated),
        current_revision: Some(current_name),
        update_revision: Some(update_name.clone()),
        collision_count: Some(input.collision_count),
        conditions: None,
    };
    // completeRollingUpdate (1.36+ applies it to OnDelete too).
    if counts.updated == desired && counts.ready == desired && counts.replicas == desired {
        status.current_replicas = status.updated_replicas;
        status.current_revision = Some(update_name);
    }
    let old = set.status.clone().unwrap_or_default();
    let resync_after = next_availability(&replicas, min_ready, now, desired, counts.available);
    Ok(SyncPlan {
        actions: planner.actions,
        status_changed: status_differs(&old, &status),
        status,
        resync_after,
    })
}

/// The replica, condemned and rolling-update passes of `updateStatefulSet`.
fn run_replicas_and_update(
    planner: &mut Planner<'_>,
    replicas: &[(i32, Cow<'_, Pod>)],
    condemned: &[(i32, &Pod)],
    first_unavailable: Option<&str>,
    counts: &mut ReplicaCounts,
) -> Result<(), PlanError> {
    let monotonic = planner.monotonic;
    // Burst mode processes every replica; monotonic stops at the first blocker.
    for (ordinal, pod) in replicas {
        if planner.process_replica(pod, *ordinal) && monotonic {
            return Ok(());
        }
    }
    for (ordinal, pod) in condemned {
        planner.fix_claim_owners(pod, *ordinal);
    }
    for (_, pod) in condemned {
        if planner.process_condemned(pod, first_unavailable) && monotonic {
            return Ok(());
        }
    }
    if sts::update_strategy(planner.set) == "OnDelete" {
        return Ok(());
    }
    // updateStatefulSetAfterInvariantEstablished (MaxUnavailableStatefulSet, on since 1.35).
    let max_unavailable = max_unavailable(planner.set)?;
    let partition = usize::try_from(sts::partition(planner.set).max(0)).unwrap_or(0);
    let unavailable = replicas
        .iter()
        .filter(|(_, p)| is_unavailable(p, planner.min_ready, planner.input.now))
        .count();
    let unavailable = i32::try_from(unavailable).unwrap_or(i32::MAX);
    if unavailable > max_unavailable {
        return Ok(());
    }
    let mut to_delete = max_unavailable - unavailable;
    for (_, pod) in replicas.iter().skip(partition).rev() {
        if to_delete <= 0 {
            break;
        }
        if sts::pod_revision(pod).unwrap_or_default() != planner.update_name && !is_terminating(pod)
        {
            planner.actions.push(Action::DeletePod {
                name: pod_name(pod).to_string(),
                uid: pod.metadata.uid.clone(),
            });
            to_delete -= 1;
            counts.current -= 1;
        }
    }
    Ok(())
}

/// With minReadySeconds, when the next ready pod turns available (upstream
/// re-queues after minReadySeconds while availableReplicas != replicas).
fn next_availability(
    replicas: &[(i32, Cow<'_, Pod>)],
    min_ready: i32,
    now: Timestamp,
    desired: i32,
    available: i32,
) -> Option<Duration> {
    if min_ready <= 0 || available == desired {
        return None;
    }
    let window = jiff::SignedDuration::from_secs(i64::from(min_ready));
    let soonest = replicas
        .iter()
        .filter(|(_, p)| sts::is_pod_ready(p) && !is_available(p, min_ready, now))
        .filter_map(|(_, p)| sts::ready_since(p)?.checked_add(window).ok())
        .min();
    let fallback = Duration::try_from(window).ok();
    match soonest {
        // IsPodAvailable compares strictly: wake just after the boundary.
        Some(at) if at >= now => Duration::try_from(at.duration_since(now))
            .ok()
            .map(|d| d + Duration::from_millis(5))
            .or(fallback),
        _ => fallback,
    }
}

/// Revisions no longer needed (`truncateHistory`), given the sorted list
/// the sync started from.
pub fn revisions_to_delete<'r>(
    set: &StatefulSet,
    pods: &[&Pod],
    sorted: &'r [ControllerRevision],
    current: &str,
    update: &str,
) -> Vec<&'r ControllerRevision> {
    let mut live: BTreeSet<&str> = [current, update].into();
    live.extend(pods.iter().filter_map(|p| sts::pod_revision(p)));
    let limit = set.spec.revision_history_limit.unwrap_or(10);
    revision::revisions_to_prune(sorted, &live, limit)
}

// ---- the loop: an informer-style cache, a dirty set, and the writes ----

type Key = (String, String);

fn key_of(meta: &ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

/// Objects of one type by key, indexed by their controller's uid.
struct Indexed<K> {
    objects: HashMap<Key, K>,
    by_owner: HashMap<String, BTreeSet<Key>>,
    /// Objects with no controller: candidates for adoption.
    orphans: BTreeSet<Key>,
}

impl<K> Default for Indexed<K> {
    fn default() -> Self {
        Indexed {
            objects: HashMap::new(),
            by_owner: HashMap::new(),
            orphans: BTreeSet::new(),
        }
    }
}

impl<K: k8s_openapi::Metadata<Ty = ObjectMeta>> Indexed<K> {
    fn unindex(&mut self, key: &Key) -> Option<K> {
        let old = self.objects.remove(key)?;
        match controller_uid(old.metadata()) {
            Some(uid) => {
                if let Some(keys) = self.by_owner.get_mut(uid) {
                    keys.remove(key);
                    if keys.is_empty() {
                        self.by_owner.remove(uid);
                    }
                }
            }
            None => {
                self.orphans.remove(key);
            }
        }
        Some(old)
    }

    /// Store `object`; returns the previous version.
    fn put(&mut self, object: K) -> Option<K> {
        let key = key_of(object.metadata());
        let old = self.unindex(&key);
        match controller_uid(object.metadata()) {
            Some(uid) => {
                self.by_owner
                    .entry(uid.to_string())
                    .or_default()
                    .insert(key.clone());
            }
            None => {
                self.orphans.insert(key.clone());
            }
        }
        self.objects.insert(key, object);
        old
    }

    fn owned_by(&self, uid: &str) -> impl Iterator<Item = &K> {
        self.by_owner
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|key| self.objects.get(key))
    }

    fn orphans_in<'s>(&'s self, namespace: &'s str) -> impl Iterator<Item = &'s K> + 's {
        self.orphans
            .iter()
            .filter(move |(ns, _)| ns == namespace)
            .filter_map(|key| self.objects.get(key))
    }

    fn clear(&mut self) {
        self.objects.clear();
        self.by_owner.clear();
        self.orphans.clear();
    }
}

/// What the controller knows of the cluster, kept from the change stream as
/// upstream's informers keep their caches.
#[derive(Default)]
struct Cache {
    sets: HashMap<Key, StatefulSet>,
    set_by_uid: HashMap<String, Key>,
    pods: Indexed<Pod>,
    revisions: Indexed<ControllerRevision>,
    claims: HashMap<Key, PersistentVolumeClaim>,
}

fn same_type(a: &ResourceType, b: &ResourceType) -> bool {
    a.group == b.group && a.plural == b.plural
}

impl Cache {
    /// Apply one change; returns the sets it concerns.
    fn apply(&mut self, rt: &ResourceType, event: &WatchEvent) -> Vec<Key> {
        let deleted = event.event_type == WatchEventType::Deleted;
        let object = &event.object;
        if same_type(rt, &STATEFUL_SETS) {
            let Ok(set) = StatefulSet::deserialize(object) else {
                return Vec::new();
            };
            let key = key_of(&set.metadata);
            let uid = set.metadata.uid.clone().unwrap_or_default();
            if deleted {
                self.sets.remove(&key);
                self.set_by_uid.remove(&uid);
            } else {
                self.set_by_uid.insert(uid, key.clone());
                self.sets.insert(key.clone(), set);
            }
            return vec![key];
        }
        if same_type(rt, &PODS) {
            let Ok(pod) = Pod::deserialize(object) else {
                return Vec::new();
            };
            let key = key_of(&pod.metadata);
            let mut concerned = self.sets_concerned(&pod.metadata);
            let old = if deleted {
                self.pods.unindex(&key)
            } else {
                self.pods.put(pod)
            };
            if let Some(old) = old {
                concerned.extend(self.sets_concerned(&old.metadata));
            }
            return concerned;
        }
        if same_type(rt, &CONTROLLER_REVISIONS) {
            let Ok(revision) = ControllerRevision::deserialize(object) else {
                return Vec::new();
            };
            let key = key_of(&revision.metadata);
            let concerned = self.sets_concerned(&revision.metadata);
            if deleted {
                self.revisions.unindex(&key);
            } else {
                self.revisions.put(revision);
            }
            return concerned;
        }
        if same_type(rt, &PERSISTENT_VOLUME_CLAIMS) {
            let Ok(claim) = PersistentVolumeClaim::deserialize(object) else {
                return Vec::new();
            };
            let key = key_of(&claim.metadata);
            let concerned = self.sets_using_claim(&key);
            if deleted {
                self.claims.remove(&key);
            } else {
                self.claims.insert(key, claim);
            }
            return concerned;
        }
        Vec::new()
    }

    /// The set controlling an object, or (for an orphan) the sets of its
    /// namespace whose selector matches it and may adopt it.
    fn sets_concerned(&self, meta: &ObjectMeta) -> Vec<Key> {
        if let Some(uid) = controller_uid(meta) {
            return self.set_by_uid.get(uid).cloned().into_iter().collect();
        }
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        let labels = meta.labels.clone().unwrap_or_default();
        self.sets
            .iter()
            .filter(|((ns, _), set)| {
                ns == namespace && sts::selector_matches(&set.spec.selector, &labels)
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Sets in the claim's namespace with a template naming claims like it.
    fn sets_using_claim(&self, (namespace, claim): &Key) -> Vec<Key> {
        self.sets
            .iter()
            .filter(|((ns, set_name), set)| {
                ns == namespace
                    && sts::claim_templates(set)
                        .iter()
                        .any(|t| sts::ordinal_of_claim(t, set_name, claim).is_some())
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn clear(&mut self) {
        self.sets.clear();
        self.set_by_uid.clear();
        self.pods.clear();
        self.revisions.clear();
        self.claims.clear();
    }
}

/// Why a sync stopped early: the set is synced again after a back-off.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Revision(#[from] revision::RevisionError),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("encoding {what}: {source}")]
    Encode {
        what: String,
        source: serde_json::Error,
    },
}

fn to_json(what: &str, object: &impl serde::Serialize) -> Result<Value, SyncError> {
    serde_json::to_value(object).map_err(|source| SyncError::Encode {
        what: what.to_string(),
        source,
    })
}

/// After a failed sync, try again after this long (upstream's rate limiter
/// starts at 5ms and backs off; a fixed short delay is enough here).
const RETRY_AFTER: Duration = Duration::from_millis(500);

struct Controller {
    cluster: Cluster,
    cache: Cache,
    dirty: BTreeSet<Key>,
    timers: BTreeMap<Key, tokio::time::Instant>,
}

/// The set's reference for events (`involvedObject`).
fn set_reference(set: &StatefulSet) -> ObjectReference {
    ObjectReference {
        api_version: "apps/v1".to_string(),
        kind: "StatefulSet".to_string(),
        namespace: set.metadata.namespace.clone().unwrap_or_default(),
        name: sts::name(set).to_string(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        resource_version: set.metadata.resource_version.clone().unwrap_or_default(),
    }
}

impl Controller {
    fn relist(&mut self) {
        self.cache.clear();
        for rt in [
            &STATEFUL_SETS,
            &PODS,
            &CONTROLLER_REVISIONS,
            &PERSISTENT_VOLUME_CLAIMS,
        ] {
            let listed = match self.cluster.list(rt, None, &ListOptions::default()) {
                Ok(listed) => listed,
                Err(e) => {
                    tracing::warn!("statefulset controller: listing {}: {e}", rt.plural);
                    continue;
                }
            };
            for object in listed.items {
                let event = WatchEvent {
                    event_type: WatchEventType::Added,
                    object,
                    resource_version: listed.resource_version,
                };
                self.cache.apply(rt, &event);
            }
        }
        self.dirty.extend(self.cache.sets.keys().cloned());
    }

    /// Take in every queued change; false once the cluster is gone.
    fn drain(&mut self, changes: &mut broadcast::Receiver<Change>) -> bool {
        resync::drain(changes, |seen| match seen {
            Queued::Change(change) => self.take(change),
            Queued::Lost => self.relist(),
        })
    }

    fn take(&mut self, change: &Change) {
        let concerned = self.cache.apply(change.rt, &change.event);
        self.dirty.extend(concerned);
    }

    fn record(&self, set: &StatefulSet, type_: EventType, reason: &str, message: &str) {
        events::record(
            &self.cluster,
            &set_reference(set),
            type_,
            reason,
            message,
            COMPONENT,
        );
    }

    /// One sync of one set; errors mean "try again soon".
    fn sync(&mut self, key: &Key) -> Result<(), SyncError> {
        let Some(set) = self.cache.sets.get(key).cloned() else {
            self.timers.remove(key);
            return Ok(());
        };
        // A set being deleted is left to the garbage collector: creating
        // revisions for it would race the collector deleting them (a foreground
        // deletion would never finish).
        if set.metadata.deletion_timestamp.is_some() {
            self.timers.remove(key);
            return Ok(());
        }
        let namespace = key.0.clone();
        let uid = set.metadata.uid.clone().unwrap_or_default();
        self.adopt_and_release(&set)?;
        let mut revisions: Vec<ControllerRevision> =
            self.cache.revisions.owned_by(&uid).cloned().collect();
        revision::sort_revisions(&mut revisions);
        let choice = revision::choose_revisions(&set, &revisions)?;
        let (update, collision_count) = self.resolve_update_revision(&set, &choice)?;
        let current = choice.current.clone().unwrap_or_else(|| update.clone());

        let pods: Vec<&Pod> = self.cache.pods.owned_by(&uid).collect();
        let claims = self.claims_of(&set, &pods);
        let plan = plan_sync(&SyncInput {
            set: &set,
            pods: &pods,
            claims: &claims,
            current: &current,
            update: &update,
            collision_count,
            now: Timestamp::now(),
        })?;
        let doomed: Vec<String> = revisions_to_delete(
            &set,
            &pods,
            &revisions,
            current.metadata.name.as_deref().unwrap_or_default(),
            update.metadata.name.as_deref().unwrap_or_default(),
        )
        .into_iter()
        .filter_map(|r| r.metadata.name.clone())
        .collect();

        let applied = self.apply_actions(&set, &plan.actions);
        // Status is written even when an action failed, as upstream does.
        if plan.status_changed
            || collision_count
                != set
                    .status
                    .as_ref()
                    .and_then(|s| s.collision_count)
                    .unwrap_or(0)
        {
            let mut updated = set.clone();
            updated.status = Some(plan.status.clone());
            self.cluster.update(
                &STATEFUL_SETS,
                Some(&namespace),
                &key.1,
                to_json("StatefulSet status", &updated)?,
                Subresource::Status,
                &WriteOptions::default(),
            )?;
        }
        applied?;
        for name in doomed {
            match self.cluster.delete(
                &CONTROLLER_REVISIONS,
                Some(&namespace),
                &name,
                &DeleteOptions::default(),
            ) {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        match plan.resync_after {
            Some(after) => {
                self.timers
                    .insert(key.clone(), tokio::time::Instant::now() + after);
            }
            None => {
                self.timers.remove(key);
            }
        }
        Ok(())
    }

    /// Claims of the set's templates for every ordinal in range or owned.
    fn claims_of(
        &self,
        set: &StatefulSet,
        pods: &[&Pod],
    ) -> BTreeMap<String, PersistentVolumeClaim> {
        let namespace = set.metadata.namespace.clone().unwrap_or_default();
        let templates = sts::claim_templates(set);
        if templates.is_empty() {
            return BTreeMap::new();
        }
        let set_name = sts::name(set);
        let mut ordinals: BTreeSet<i32> = sts::ordinals(set).collect();
        ordinals.extend(
            pods.iter()
                .filter_map(|p| sts::ordinal_of_pod(set_name, pod_name(p))),
        );
        let mut claims = BTreeMap::new();
        for ordinal in ordinals {
            for template in &templates {
                let name = sts::claim_name(template, set_name, ordinal);
                if let Some(claim) = self.cache.claims.get(&(namespace.clone(), name.clone())) {
                    claims.insert(name, claim.clone());
                }
            }
        }
        claims
    }

    /// `ClaimPods`/`AdoptOrphanRevisions`: orphans matching the selector (and,
    /// for pods, named as members) get the set as controller; owned pods that
    /// stopped matching are released.
    fn adopt_and_release(&self, set: &StatefulSet) -> Result<(), SyncError> {
        let namespace = set.metadata.namespace.clone().unwrap_or_default();
        let set_name = sts::name(set);
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let selector = &set.spec.selector;
        let matches = |meta: &ObjectMeta| {
            sts::selector_matches(selector, &meta.labels.clone().unwrap_or_default())
        };
        let owner = to_json("ownerReference", &revision::controller_ref(set))?;
        let adopt = |rt: &ResourceType, meta: &ObjectMeta| -> Result<(), SyncError> {
            let mut owners = to_json(
                "ownerReferences",
                &meta.owner_references.clone().unwrap_or_default(),
            )?;
            if let Some(list) = owners.as_array_mut() {
                list.push(owner.clone());
            }
            let patch = json!({"metadata": {"ownerReferences": owners, "uid": meta.uid}});
            self.patch_ignoring_gone(rt, &namespace, meta, patch)
        };
        for pod in self.cache.pods.orphans_in(&namespace) {
            let member = sts::ordinal_of_pod(set_name, pod_name(pod)).is_some();
            if member && matches(&pod.metadata) && pod.metadata.deletion_timestamp.is_none() {
                adopt(&PODS, &pod.metadata)?;
            }
        }
        for pod in self.cache.pods.owned_by(&uid) {
            let member = sts::ordinal_of_pod(set_name, pod_name(pod)).is_some();
            if !(member && matches(&pod.metadata)) {
                let kept: Vec<&OwnerReference> = pod
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|r| r.uid != uid)
                    .collect();
                let patch = json!({"metadata": {"ownerReferences": to_json("ownerReferences", &kept)?, "uid": pod.metadata.uid}});
                self.patch_ignoring_gone(&PODS, &namespace, &pod.metadata, patch)?;
            }
        }
        for revision in self.cache.revisions.orphans_in(&namespace) {
            if matches(&revision.metadata) {
                adopt(&CONTROLLER_REVISIONS, &revision.metadata)?;
            }
        }
        Ok(())
    }

    fn patch_ignoring_gone(
        &self,
        rt: &ResourceType,
        namespace: &str,
        meta: &ObjectMeta,
        patch: Value,
    ) -> Result<(), SyncError> {
        let name = meta.name.clone().unwrap_or_default();
        match self.cluster.patch(
            rt,
            Some(namespace),
            &name,
            PatchBody::Merge(patch),
            Subresource::Main,
            &WriteOptions::default(),
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Make the update revision exist (`CreateControllerRevision` with its
    /// collision loop, or the revision bump of a rollback).
    fn resolve_update_revision(
        &self,
        set: &StatefulSet,
        choice: &revision::RevisionChoice,
    ) -> Result<(ControllerRevision, i32), SyncError> {
        let namespace = set.metadata.namespace.clone();
        let mut collision_count = choice.collision_count;
        match &choice.update {
            revision::UpdateRevision::Unchanged(existing) => {
                Ok((existing.clone(), collision_count))
            }
            revision::UpdateRevision::Reuse {
                existing,
                revision: number,
            } => {
                let name = existing.metadata.name.clone().unwrap_or_default();
                let patched = self.cluster.patch(
                    &CONTROLLER_REVISIONS,
                    namespace.as_deref(),
                    &name,
                    PatchBody::Merge(json!({"revision": number})),
                    Subresource::Main,
                    &WriteOptions::default(),
                )?;
                let revision =
                    serde_json::from_value(patched).map_err(|source| SyncError::Encode {
                        what: format!("ControllerRevision {name}"),
                        source,
                    })?;
                Ok((revision, collision_count))
            }
            revision::UpdateRevision::Create(candidate) => {
                let mut candidate = candidate.clone();
                loop {
                    let name = candidate.metadata.name.clone().unwrap_or_default();
                    match self.cluster.create(
                        &CONTROLLER_REVISIONS,
                        namespace.as_deref(),
                        to_json("ControllerRevision", &candidate)?,
                        &WriteOptions::default(),
                    ) {
                        Ok(created) => {
                            let revision = serde_json::from_value(created).map_err(|source| {
                                SyncError::Encode {
                                    what: format!("ControllerRevision {name}"),
                                    source,
                                }
                            })?;
                            return Ok((revision, collision_count));
                        }
                        Err(e) if e.code == 409 && e.reason == "AlreadyExists" => {
                            let existing: ControllerRevision =
                                self.cluster.get_typed(namespace.as_deref(), &name)?;
                            if revision::equal_revision(&existing, &candidate) {
                                return Ok((existing, collision_count));
                            }
                            collision_count = collision_count.saturating_add(1);
                            candidate.metadata.name = Some(revision::renamed_for_collision(
                                sts::name(set),
                                &candidate,
                                collision_count,
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// Apply a plan's writes in order, recording upstream's events; the
    /// first failure ends the sync.
    fn apply_actions(&self, set: &StatefulSet, actions: &[Action]) -> Result<(), SyncError> {
        let namespace = set.metadata.namespace.clone().unwrap_or_default();
        let ns = Some(namespace.as_str());
        let set_name = sts::name(set);
        let write = WriteOptions::default();
        for action in actions {
            match action {
                Action::CreateClaim { claim, pod } => {
                    let name = claim.metadata.name.clone().unwrap_or_default();
                    match self.cluster.create(
                        &PERSISTENT_VOLUME_CLAIMS,
                        ns,
                        to_json("claim", claim)?,
                        &write,
                    ) {
                        Ok(_) => self.record(
                            set,
                            EventType::Normal,
                            "SuccessfulCreate",
                            &format!(
                                "create Claim {name} Pod {pod} in StatefulSet {set_name} success"
                            ),
                        ),
                        Err(e) if e.reason == "AlreadyExists" => return Err(e.into()),
                        Err(e) => {
                            self.record(set, EventType::Warning, "FailedCreate", &format!(
                                "create Claim {name} for Pod {pod} in StatefulSet {set_name} failed error: {e}"
                            ));
                            self.record(set, EventType::Warning, "FailedCreate", &format!(
                                "create Pod {pod} in StatefulSet {set_name} failed error: failed to create PVC {name}: {e}"
                            ));
                            return Err(e.into());
                        }
                    }
                }
                Action::ClaimTerminating { claim, pod } => {
                    let message = format!("pvc {claim} is being deleted");
                    self.record(
                        set,
                        EventType::Warning,
                        "FailedCreate",
                        &format!(
                            "create Pod {pod} in StatefulSet {set_name} failed error: {message}"
                        ),
                    );
                    return Err(ApiError::new(409, "Conflict", message).into());
                }
                Action::CreatePod(pod) => {
                    let name = pod_name(pod).to_string();
                    match self.cluster.create(&PODS, ns, to_json("pod", pod)?, &write) {
                        Ok(_) => self.record(
                            set,
                            EventType::Normal,
                            "SuccessfulCreate",
                            &format!("create Pod {name} in StatefulSet {set_name} successful"),
                        ),
                        Err(e) if e.reason == "AlreadyExists" => return Err(e.into()),
                        Err(e) => {
                            self.record(
                                set,
                                EventType::Warning,
                                "FailedCreate",
                                &format!(
                                    "create Pod {name} in StatefulSet {set_name} failed error: {e}"
                                ),
                            );
                            return Err(e.into());
                        }
                    }
                }
                Action::DeletePod { name, .. } => {
                    match self
                        .cluster
                        .delete(&PODS, ns, name, &DeleteOptions::default())
                    {
                        Ok(_) => self.record(
                            set,
                            EventType::Normal,
                            "SuccessfulDelete",
                            &format!("delete Pod {name} in StatefulSet {set_name} successful"),
                        ),
                        Err(e) => {
                            self.record(
                                set,
                                EventType::Warning,
                                "FailedDelete",
                                &format!(
                                    "delete Pod {name} in StatefulSet {set_name} failed error: {e}"
                                ),
                            );
                            if e.code != 404 {
                                return Err(e.into());
                            }
                        }
                    }
                }
                Action::SetClaimOwners { claim, owners } => {
                    let patch = json!({"metadata": {"ownerReferences": to_json("ownerReferences", owners)?}});
                    self.cluster.patch(
                        &PERSISTENT_VOLUME_CLAIMS,
                        ns,
                        claim,
                        PatchBody::Merge(patch),
                        Subresource::Main,
                        &write,
                    )?;
                }
                Action::UpdatePodLabels { pod, labels } => {
                    let patch = json!({"metadata": {"labels": labels}});
                    match self.cluster.patch(
                        &PODS,
                        ns,
                        pod,
                        PatchBody::Merge(patch),
                        Subresource::Main,
                        &write,
                    ) {
                        Ok(_) => self.record(
                            set,
                            EventType::Normal,
                            "SuccessfulUpdate",
                            &format!("update Pod {pod} in StatefulSet {set_name} successful"),
                        ),
                        Err(e) => {
                            self.record(
                                set,
                                EventType::Warning,
                                "FailedUpdate",
                                &format!(
                                    "update Pod {pod} in StatefulSet {set_name} failed error: {e}"
                                ),
                            );
                            return Err(e.into());
                        }
                    }
                }
                Action::PodUpdated { pod } => self.record(
                    set,
                    EventType::Normal,
                    "SuccessfulUpdate",
                    &format!("update Pod {pod} in StatefulSet {set_name} successful"),
                ),
            }
        }
        Ok(())
    }
}

/// Runs the StatefulSet controller until `shutdown` or the cluster goes away.
pub async fn run(cluster: Cluster, shutdown: CancellationToken) {
    let mut changes = cluster.subscribe();
    let mut controller = Controller {
        cluster,
        cache: Cache::default(),
        dirty: BTreeSet::new(),
        timers: BTreeMap::new(),
    };
    controller.relist();
    loop {
        if !controller.drain(&mut changes) {
            return;
        }
        let now = tokio::time::Instant::now();
        let due: Vec<Key> = controller
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            controller.timers.remove(&key);
            controller.dirty.insert(key);
        }
        if let Some(key) = controller.dirty.pop_first() {
            if let Err(e) = controller.sync(&key) {
                tracing::debug!("statefulset {}/{}: {e}; retrying", key.0, key.1);
                controller
                    .timers
                    .insert(key, tokio::time::Instant::now() + RETRY_AFTER);
            }
            // Let the kubelet, the API and the other controllers run.
            tokio::task::yield_now().await;
            continue;
        }
        let next_timer = controller.timers.values().min().copied();
        let sleep = async {
            match next_timer {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            received = changes.recv() => match received {
                Ok(change) => controller.take(&change),
                Err(RecvError::Lagged(_)) => controller.relist(),
                Err(RecvError::Closed) => return,
            },
            _ = sleep => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const WEB: &str = r#"
metadata: {name: web, namespace: default, uid: set-uid, generation: 1}
spec:
  replicas: 3
  serviceName: nginx
  selector: {matchLabels: {app: nginx}}
  podManagementPolicy: OrderedReady
  revisionHistoryLimit: 10
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25"}]
      volumes: [{name: www, emptyDir: {}}, {name: cache, emptyDir: {}}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#;

    fn now() -> Timestamp {
        "2026-01-01T00:10:00Z".parse().unwrap()
    }

    fn web() -> StatefulSet {
        serde_saphyr::from_str(WEB).unwrap()
    }

    fn with_image(mut set: StatefulSet, image: &str) -> StatefulSet {
        set.spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.to_string());
        set
    }

    fn rev(set: &StatefulSet, number: i64) -> ControllerRevision {
        revision::new_revision(set, number, 0).unwrap()
    }

    /// A pod as the kubelet leaves it: `phase`, Ready since `ready_for` seconds ago.
    fn pod(
        set: &StatefulSet,
        revision: &ControllerRevision,
        ordinal: i32,
        phase: &str,
        ready_for: Option<i64>,
    ) -> Pod {
        let template = template_at(revision).unwrap();
        let mut pod = new_pod(
            set,
            &template,
            revision.metadata.name.as_deref().unwrap(),
            ordinal,
        );
        pod.metadata.uid = Some(format!("pod-uid-{ordinal}"));
        let conditions = ready_for.map(|seconds| {
            vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(now() - jiff::SignedDuration::from_secs(seconds))),
                ..PodCondition::default()
            }]
        });
        pod.status = Some(PodStatus {
            phase: Some(phase.to_string()),
            conditions,
            ..PodStatus::default()
        });
        pod
    }

    fn ready(set: &StatefulSet, revision: &ControllerRevision, ordinal: i32) -> Pod {
        pod(set, revision, ordinal, "Running", Some(60))
    }

    fn claims_of(
        set: &StatefulSet,
        ordinals: impl IntoIterator<Item = i32>,
    ) -> BTreeMap<String, PersistentVolumeClaim> {
        ordinals
            .into_iter()
            .flat_map(|o| claims_for(set, o))
            .map(|(_, c)| (c.metadata.name.clone().unwrap(), c))
            .collect()
    }

    fn plan(
        set: &StatefulSet,
        pods: &[Pod],
        claims: &BTreeMap<String, PersistentVolumeClaim>,
        current: &ControllerRevision,
        update: &ControllerRevision,
    ) -> SyncPlan {
        let pods: Vec<&Pod> = pods.iter().collect();
        plan_sync(&SyncInput {
            set,
            pods: &pods,
            claims,
            current,
            update,
            collision_count: 0,
            now: now(),
        })
        .unwrap()
    }

    fn summary(plan: &SyncPlan) -> Vec<String> {
        plan.actions
            .iter()
            .map(|a| match a {
                Action::CreateClaim { claim, .. } => {
                    format!("create claim {}", claim.metadata.name.as_deref().unwrap())
                }
                Action::ClaimTerminating { claim, .. } => format!("claim terminating {claim}"),
                Action::CreatePod(p) => format!("create {}", pod_name(p)),
                Action::DeletePod { name, .. } => format!("delete {name}"),
                Action::SetClaimOwners { claim, owners } => {
                    let kinds: Vec<&str> = owners.iter().map(|o| o.kind.as_str()).collect();
                    format!("owners {claim} {kinds:?}")
                }
                Action::UpdatePodLabels { pod, .. } => format!("relabel {pod}"),
                Action::PodUpdated { pod } => format!("updated {pod}"),
            })
            .collect()
    }

    fn rolling(
        set: &mut StatefulSet,
    ) -> &mut k8s_openapi::api::apps::v1::RollingUpdateStatefulSetStrategy {
        set.spec
            .update_strategy
            .get_or_insert_with(Default::default)
            .rolling_update
            .get_or_insert_with(Default::default)
    }

    /// Four pods' worth of set at nginx:1.25 (r1) whose template now says 1.26 (r2).
    fn four_updated_to_1_26() -> (
        StatefulSet,
        ControllerRevision,
        ControllerRevision,
        BTreeMap<String, PersistentVolumeClaim>,
    ) {
        let mut set = web();
        set.spec.replicas = Some(4);
        let r1 = rev(&set, 1);
        let set = with_image(set, "nginx:1.26");
        let r2 = rev(&set, 2);
        let claims = claims_of(&set, 0..4);
        (set, r1, r2, claims)
    }

    #[test]
    fn fresh_set_creates_only_the_first_claim_and_pod() {
        let set = web();
        let r1 = rev(&set, 1);
        let plan = plan(&set, &[], &BTreeMap::new(), &r1, &r1);
        assert_eq!(summary(&plan), ["create claim www-web-0", "create web-0"]);
        let Action::CreatePod(pod) = &plan.actions[1] else {
            unreachable!()
        };
        let labels = pod.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[sts::POD_NAME_LABEL], "web-0");
        assert_eq!(labels[sts::POD_INDEX_LABEL], "0");
        assert_eq!(
            labels[sts::REVISION_LABEL],
            r1.metadata.name.clone().unwrap()
        );
        assert_eq!(labels["app"], "nginx");
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("web-0"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-"));
        let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
        // The claim volume replaces the template's `www`; `cache` stays.
        let volumes: Vec<(String, Option<String>)> = spec
            .volumes
            .iter()
            .flatten()
            .map(|v| {
                (
                    v.name.clone(),
                    v.persistent_volume_claim
                        .as_ref()
                        .map(|c| c.claim_name.clone()),
                )
            })
            .collect();
        assert_eq!(
            volumes,
            [
                ("www".to_string(), Some("www-web-0".to_string())),
                ("cache".to_string(), None)
            ]
        );
        let Action::CreateClaim { claim, .. } = &plan.actions[0] else {
            unreachable!()
        };
        assert_eq!(claim.metadata.labels.as_ref().unwrap()["app"], "nginx");
        assert_eq!(
            claim.metadata.owner_references, None,
            "Retain/Retain claims have no owner"
        );
        assert_eq!(plan.status.replicas, 0);
        assert_eq!(plan.status.update_revision, r1.metadata.name);
        assert!(plan.status_changed);
    }

    #[test]
    fn ordered_ready_waits_for_each_pod_to_be_ready() {
        let set = web();
        let r1 = rev(&set, 1);
        let claims = claims_of(&set, 0..3);
        let starting = [pod(&set, &r1, 0, "Pending", None)];
        assert!(summary(&plan(&set, &starting, &claims, &r1, &r1)).is_empty());
        let running_unready = [pod(&set, &r1, 0, "Running", None)];
        assert!(summary(&plan(&set, &running_unready, &claims, &r1, &r1)).is_empty());
        let plan = plan(&set, &[ready(&set, &r1, 0)], &claims, &r1, &r1);
        assert_eq!(summary(&plan), ["create web-1"]);
        assert_eq!(
            (plan.status.replicas, plan.status.ready_replicas),
            (1, Some(1))
        );
    }

    #[test]
    fn ordinals_start_where_spec_ordinals_says() {
        let mut set = web();
        set.spec.ordinals =
            Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
        let r1 = rev(&set, 1);
        let plan = plan(&set, &[], &BTreeMap::new(), &r1, &r1);
        assert_eq!(summary(&plan), ["create claim www-web-5", "create web-5"]);
    }

    #[test]
    fn parallel_creates_every_missing_pod_at_once() {
        let mut set = web();
        set.spec.pod_management_policy = Some("Parallel".into());
        let r1 = rev(&set, 1);
        let claims = claims_of(&set, 0..3);
        let plan = plan(
            &set,
            &[pod(&set, &r1, 0, "Pending", None)],
            &claims,
            &r1,
            &r1,
        );
        assert_eq!(summary(&plan), ["create web-1", "create web-2"]);
    }

    #[test]
    fn scale_down_deletes_the_highest_ordinal_one_at_a_time_and_keeps_claims() {
        let mut set = web();
        let r1 = rev(&set, 1);
        set.spec.replicas = Some(1);
        let claims = claims_of(&set, 0..3);
        let pods = [
            ready(&set, &r1, 0),
            ready(&set, &r1, 1),
            ready(&set, &r1, 2),
        ];
        assert_eq!(
            summary(&plan(&set, &pods, &claims, &r1, &r1)),
            ["delete web-2"]
        );
        // While web-2 terminates nothing else happens.
        let mut terminating = pods.clone();
        terminating[2].metadata.deletion_timestamp = Some(Time(now()));
        assert!(summary(&plan(&set, &terminating, &claims, &r1, &r1)).is_empty());
        // Then web-1 goes.
        let plan = plan(&set, &pods[..2], &claims, &r1, &r1);
        assert_eq!(summary(&plan), ["delete web-1"]);
        assert_eq!(
            plan.status.replicas, 2,
            "replicas counts pods that still exist"
        );
    }

    #[test]
    fn scale_down_waits_while_a_remaining_pod_is_unhealthy() {
        let mut set = web();
        let r1 = rev(&set, 1);
        set.spec.replicas = Some(1);
        let claims = claims_of(&set, 0..3);
        let pods = [
            pod(&set, &r1, 0, "Running", None),
            ready(&set, &r1, 1),
            ready(&set, &r1, 2),
        ];
        assert!(summary(&plan(&set, &pods, &claims, &r1, &r1)).is_empty());
    }

    #[test]
    fn when_scaled_delete_hands_condemned_claims_to_their_pods() {
        let mut set = web();
        let r1 = rev(&set, 1);
        set.spec.persistent_volume_claim_retention_policy = Some(
            k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_scaled: Some("Delete".into()),
                when_deleted: Some("Retain".into()),
            },
        );
        set.spec.replicas = Some(2);
        let claims = claims_of(&set, 0..3);
        let pods = [
            ready(&set, &r1, 0),
            ready(&set, &r1, 1),
            ready(&set, &r1, 2),
        ];
        let plan = plan(&set, &pods, &claims, &r1, &r1);
        assert_eq!(
            summary(&plan),
            ["owners www-web-2 [\"Pod\"]", "delete web-2"]
        );
        let Action::SetClaimOwners { owners, .. } = &plan.actions[0] else {
            unreachable!()
        };
        assert_eq!(owners[0].uid, "pod-uid-2");
    }

    #[test]
    fn when_deleted_delete_gives_new_claims_the_set_as_owner() {
        let mut set = web();
        set.spec.persistent_volume_claim_retention_policy = Some(
            k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_scaled: Some("Retain".into()),
                when_deleted: Some("Delete".into()),
            },
        );
        let r1 = rev(&set, 1);
        let plan = plan(&set, &[], &BTreeMap::new(), &r1, &r1);
        let Action::CreateClaim { claim, .. } = &plan.actions[0] else {
            unreachable!()
        };
        let owners = claim.metadata.owner_references.as_ref().unwrap();
        assert_eq!(
            (owners[0].kind.as_str(), owners[0].uid.as_str()),
            ("StatefulSet", "set-uid")
        );
    }

    #[test]
    fn a_terminating_claim_blocks_pod_creation() {
        let set = web();
        let r1 = rev(&set, 1);
        let mut claims = claims_of(&set, 0..1);
        claims
            .get_mut("www-web-0")
            .unwrap()
            .metadata
            .deletion_timestamp = Some(Time(now()));
        let plan = plan(&set, &[], &claims, &r1, &r1);
        assert_eq!(summary(&plan), ["claim terminating www-web-0"]);
    }

    #[test]
    fn failed_pods_are_deleted_and_recreated_on_a_later_sync() {
        let set = web();
        let r1 = rev(&set, 1);
        let claims = claims_of(&set, 0..3);
        let pods = [ready(&set, &r1, 0), pod(&set, &r1, 1, "Failed", None)];
        assert_eq!(
            summary(&plan(&set, &pods, &claims, &r1, &r1)),
            ["delete web-1"]
        );
        assert_eq!(
            summary(&plan(&set, &pods[..1], &claims, &r1, &r1)),
            ["create web-1"]
        );
    }

    #[test]
    fn partitioned_update_replaces_highest_ordinals_down_to_the_partition() {
        let (mut set, r1, r2, claims) = four_updated_to_1_26();
        rolling(&mut set).partition = Some(2);
        let old: Vec<Pod> = (0..4).map(|o| ready(&set, &r1, o)).collect();
        let plan1 = plan(&set, &old, &claims, &r1, &r2);
        assert_eq!(summary(&plan1), ["delete web-3"]);
        assert_eq!(plan1.status.current_replicas, Some(3));
        // web-3 gone: it comes back at the update revision.
        let plan2 = plan(&set, &old[..3], &claims, &r1, &r2);
        assert_eq!(summary(&plan2), ["create web-3"]);
        let Action::CreatePod(new3) = &plan2.actions[0] else {
            unreachable!()
        };
        assert_eq!(sts::pod_revision(new3), r2.metadata.name.as_deref());
        // web-3 ready on r2: web-2 next.
        let mut pods = old[..3].to_vec();
        pods.push(ready(&set, &r2, 3));
        assert_eq!(
            summary(&plan(&set, &pods, &claims, &r1, &r2)),
            ["delete web-2"]
        );
        // web-2 and web-3 updated: done for partition 2; revision not complete.
        pods[2] = ready(&set, &r2, 2);
        let plan3 = plan(&set, &pods, &claims, &r1, &r2);
        assert!(summary(&plan3).is_empty());
        assert_eq!(plan3.status.updated_replicas, Some(2));
        assert_eq!(plan3.status.current_revision, r1.metadata.name);
        // A pod below the partition that is deleted comes back at the current revision.
        let plan4 = plan(
            &set,
            &[pods[0].clone(), pods[2].clone(), pods[3].clone()],
            &claims,
            &r1,
            &r2,
        );
        let Action::CreatePod(new1) = &plan4.actions[0] else {
            unreachable!()
        };
        assert_eq!(sts::pod_revision(new1), r1.metadata.name.as_deref());
        // Partition 0: web-1 then web-0; once all are updated the revision completes.
        rolling(&mut set).partition = Some(0);
        assert_eq!(
            summary(&plan(&set, &pods, &claims, &r1, &r2)),
            ["delete web-1"]
        );
        let all_new: Vec<Pod> = (0..4).map(|o| ready(&set, &r2, o)).collect();
        let done = plan(&set, &all_new, &claims, &r1, &r2);
        assert_eq!(done.status.current_revision, r2.metadata.name);
        assert_eq!(done.status.current_replicas, Some(4));
    }

    #[test]
    fn max_unavailable_allows_that_many_replacements_at_once() {
        let (mut set, r1, r2, claims) = four_updated_to_1_26();
        rolling(&mut set).max_unavailable = Some(IntOrString::String("50%".into()));
        let old: Vec<Pod> = (0..4).map(|o| ready(&set, &r1, o)).collect();
        assert_eq!(
            summary(&plan(&set, &old, &claims, &r1, &r2)),
            ["delete web-3", "delete web-2"]
        );
    }

    #[test]
    fn a_crash_looping_update_blocks_even_after_the_template_is_reverted() {
        let set = web();
        let r1 = rev(&set, 1);
        let bad_set = with_image(set.clone(), "nginx:1.25-crash");
        let r2 = rev(&bad_set, 2);
        let claims = claims_of(&set, 0..3);
        let mut pods: Vec<Pod> = (0..2).map(|o| ready(&set, &r1, o)).collect();
        pods.push(pod(&bad_set, &r2, 2, "Running", None));
        assert!(
            summary(&plan(&bad_set, &pods, &claims, &r1, &r2)).is_empty(),
            "blocked behind web-2"
        );
        // Template reverted: revision 1 becomes the update revision (bumped to 3).
        let mut r1_again = r1.clone();
        r1_again.revision = Some(3);
        let reverted = plan(&set, &pods, &claims, &r1, &r1_again);
        assert!(
            summary(&reverted).is_empty(),
            "still blocked: upstream issue 67250"
        );
        // Deleting the stuck pod lets it come back at the reverted template.
        let recreated = plan(&set, &pods[..2], &claims, &r1, &r1_again);
        assert_eq!(summary(&recreated), ["create web-2"]);
        let Action::CreatePod(p) = &recreated.actions[0] else {
            unreachable!()
        };
        assert_eq!(
            p.spec.as_ref().unwrap().containers[0].image.as_deref(),
            Some("nginx:1.25")
        );
    }

    #[test]
    fn on_delete_never_replaces_pods_itself() {
        let mut set = web();
        let r1 = rev(&set, 1);
        set.spec.update_strategy = Some(k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy {
            type_: Some("OnDelete".into()),
            rolling_update: None,
        });
        let set = with_image(set, "nginx:1.26");
        let r2 = rev(&set, 2);
        let claims = claims_of(&set, 0..3);
        let pods: Vec<Pod> = (0..3).map(|o| ready(&set, &r1, o)).collect();
        assert!(summary(&plan(&set, &pods, &claims, &r1, &r2)).is_empty());
        let plan = plan(&set, &pods[..2], &claims, &r1, &r2);
        let Action::CreatePod(p) = &plan.actions[0] else {
            unreachable!()
        };
        assert_eq!(
            sts::pod_revision(p),
            r2.metadata.name.as_deref(),
            "a deleted pod returns updated"
        );
    }

    #[test]
    fn min_ready_seconds_holds_creation_until_available() {
        let mut set = web();
        set.spec.min_ready_seconds = Some(10);
        let r1 = rev(&set, 1);
        let claims = claims_of(&set, 0..3);
        let young = [pod(&set, &r1, 0, "Running", Some(4))];
        let plan1 = plan(&set, &young, &claims, &r1, &r1);
        assert!(summary(&plan1).is_empty());
        assert_eq!(
            (plan1.status.ready_replicas, plan1.status.available_replicas),
            (Some(1), None)
        );
        let wake = plan1.resync_after.unwrap();
        assert!(
            wake > Duration::from_secs(5) && wake < Duration::from_secs(7),
            "{wake:?}"
        );
        let old = [pod(&set, &r1, 0, "Running", Some(11))];
        let plan2 = plan(&set, &old, &claims, &r1, &r1);
        assert_eq!(summary(&plan2), ["create web-1"]);
        assert_eq!(plan2.status.available_replicas, Some(1));
    }

    #[test]
    fn status_counts_terminating_pods_but_not_their_revision() {
        let set = web();
        let r1 = rev(&set, 1);
        let claims = claims_of(&set, 0..3);
        let mut pods: Vec<Pod> = (0..3).map(|o| ready(&set, &r1, o)).collect();
        pods[2].metadata.deletion_timestamp = Some(Time(now()));
        let plan = plan(&set, &pods, &claims, &r1, &r1);
        assert_eq!(plan.status.replicas, 3);
        assert_eq!(plan.status.current_replicas, Some(2));
        assert_eq!(plan.status.current_revision, r1.metadata.name);
        assert_eq!(plan.status.observed_generation, Some(1));
        assert_eq!(plan.status.collision_count, Some(0));
    }

    #[test]
    fn unchanged_status_is_not_rewritten() {
        let mut set = web();
        let r1 = rev(&set, 1);
        let claims = claims_of(&set, 0..3);
        let pods: Vec<Pod> = (0..3).map(|o| ready(&set, &r1, o)).collect();
        let first = plan(&set, &pods, &claims, &r1, &r1);
        set.status = Some(first.status.clone());
        assert!(!plan(&set, &pods, &claims, &r1, &r1).status_changed);
    }

    #[test]
    fn history_keeps_live_revisions() {
        let mut set = web();
        set.spec.revision_history_limit = Some(0);
        let revisions: Vec<ControllerRevision> = (1..=3)
            .map(|n| rev(&with_image(web(), &format!("i:{n}")), n))
            .collect();
        let name = |i: usize| revisions[i].metadata.name.clone().unwrap();
        let pod0 = ready(&set, &revisions[0], 0);
        let doomed: Vec<String> =
            revisions_to_delete(&set, &[&pod0], &revisions, &name(2), &name(2))
                .into_iter()
                .filter_map(|r| r.metadata.name.clone())
                .collect();
        assert_eq!(doomed, [name(1)]);
    }
}
