//! The pure state of a watched StatefulSet and what changed in it.
//!
//! `SetView` keeps one set, compact summaries of its pods and claims by
//! ordinal, and which Events were already reported. `SetView::apply` takes one
//! observed change and returns the transitions it caused, found by diffing the
//! previous summary against the new one, so the work per change is
//! proportional to that change, not to the number of replicas. `WatchedSets`
//! routes changes to the right view when several sets are watched, and turns a
//! relist (after a watch expired) into the deletions it implies.
//! Nothing here does I/O; time comes in as `now`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};

pub use self::routing::{WatchTarget, WatchedSets};
pub use self::transition::{
    Transition, TransitionKind, elapsed, human_duration, short_duration, short_revision,
    status_is_problem,
};
use super::pod_status::pod_status_columns;
use crate::cli::UntilCondition;
use crate::sts;

/// One observed change to an object the watch follows. The objects are
/// boxed: a first listing buffers thousands of changes, and the kinds' sizes
/// differ by kilobytes.
#[derive(Debug, Clone)]
pub enum Change {
    SetApplied(Box<StatefulSet>),
    SetDeleted(Box<StatefulSet>),
    PodApplied(Box<Pod>),
    PodDeleted(Box<Pod>),
    ClaimApplied(Box<PersistentVolumeClaim>),
    ClaimDeleted(Box<PersistentVolumeClaim>),
    EventApplied(Box<Event>),
    EventDeleted(Box<Event>),
}

/// The object kinds the watch lists; a relist replaces everything of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchedKind {
    Sets,
    Pods,
    Claims,
    Events,
}

/// What the watch keeps of a pod: the columns it shows and the facts it diffs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    pub name: String,
    pub uid: String,
    /// kubectl's STATUS column (Pending, ContainerCreating, Running, CrashLoopBackOff, Terminating...).
    pub status: String,
    /// The Ready condition is True.
    pub ready: bool,
    pub ready_containers: usize,
    pub total_containers: usize,
    pub restarts: i32,
    pub terminating: bool,
    /// `controller-revision-hash`: the ControllerRevision the pod was made from.
    pub revision: Option<String>,
    pub node: Option<String>,
    pub created: Option<Timestamp>,
    /// When the Ready condition last changed (for minReadySeconds).
    pub ready_since: Option<Timestamp>,
    /// Why the pod is being disrupted: the reason of its DisruptionTarget
    /// condition (`EvictionByEvictionAPI` for a drain, preemption, taints).
    pub disruption: Option<String>,
}

impl PodSummary {
    pub fn from_pod(pod: &Pod) -> Self {
        let columns = pod_status_columns(pod);
        let ready_since = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0);
        PodSummary {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            status: columns.status,
            ready: sts::is_pod_ready(pod),
            ready_containers: columns.ready_containers,
            total_containers: columns.total_containers,
            restarts: sts::pod_restarts(pod),
            terminating: sts::is_pod_terminating(pod),
            revision: sts::pod_revision(pod).map(str::to_string),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
            ready_since,
            disruption: sts::disruption_reason(pod).map(str::to_string),
        }
    }

    /// Ready, not terminating, and Ready for at least `min_ready` by `now`.
    pub fn is_available(&self, min_ready: Duration, now: Timestamp) -> bool {
        if !self.ready || self.terminating {
            return false;
        }
        if min_ready.is_zero() {
            return true;
        }
        self.ready_since
            .is_some_and(|since| elapsed(since, now) >= min_ready)
    }
}

/// A pod as the view holds it: its summary and when it was first seen.
#[derive(Debug, Clone)]
struct PodEntry {
    summary: PodSummary,
    /// When this watch saw the pod appear, if that was right after its creation
    /// (more precise than the whole-second creationTimestamp).
    seen_created_at: Option<Timestamp>,
}

/// What the watch keeps of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSummary {
    pub name: String,
    pub template: String,
    /// Pending, Bound, Lost.
    pub phase: String,
    pub volume: Option<String>,
    pub terminating: bool,
    /// Why it is Pending, from the latest Event about it.
    pub pending_reason: Option<String>,
}

impl ClaimSummary {
    fn from_claim(claim: &PersistentVolumeClaim, template: &str) -> Self {
        ClaimSummary {
            name: claim.metadata.name.clone().unwrap_or_default(),
            template: template.to_string(),
            phase: claim
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".to_string()),
            volume: claim
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.clone())
                .filter(|v| !v.is_empty()),
            terminating: claim.metadata.deletion_timestamp.is_some(),
            pending_reason: None,
        }
    }
}

/// Split `<template>-<set>-<ordinal>` into template and ordinal.
pub fn split_claim_name(set_name: &str, claim_name: &str) -> Option<(String, i32)> {
    let digits_start = claim_name
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .len();
    if digits_start == claim_name.len() {
        return None;
    }
    let ordinal = claim_name[digits_start..].parse::<i32>().ok()?;
    let template = claim_name[..digits_start]
        .strip_suffix('-')?
        .strip_suffix(set_name)?
        .strip_suffix('-')?;
    (!template.is_empty()).then(|| (template.to_string(), ordinal))
}

/// The header of a view: the set's spec and status at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetHeader {
    pub namespace: String,
    pub name: String,
    pub exists: bool,
    pub desired: i32,
    /// status.replicas: pods that exist.
    pub current: i32,
    pub ready: i32,
    pub available: i32,
    pub updated: i32,
    pub strategy: String,
    pub partition: i32,
    pub pod_management_policy: String,
    pub current_revision: Option<String>,
    pub update_revision: Option<String>,
}

/// Where a pod's revision stands against the set's update revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionAge {
    /// On status.updateRevision.
    New,
    /// On any other revision.
    Old,
}

/// One row of the ordered view: an ordinal, whether or not its pod exists.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdinalRow {
    pub ordinal: i32,
    pub pod_name: String,
    /// The ordinal is within `start .. start + replicas` (otherwise it is being scaled away).
    pub in_range: bool,
    pub pod: Option<PodSummary>,
    /// No pod now, but one existed earlier in this watch.
    pub gone: bool,
    pub revision: Option<(String, RevisionAge)>,
    pub age: Option<Duration>,
    /// One entry per claim template, in template order; None when that claim does not exist.
    pub claims: Vec<(String, Option<ClaimSummary>)>,
}

/// Something an `--until` condition is still waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    SetAbsent {
        name: String,
    },
    SetPresent {
        name: String,
        pods: usize,
    },
    SpecNotObserved {
        name: String,
        generation: i64,
        observed: i64,
    },
    PodAbsent {
        pod: String,
    },
    PodTerminating {
        pod: String,
    },
    PodNotReady {
        pod: String,
        status: String,
        restarts: i32,
        claim: Option<String>,
    },
    PodNotAvailable {
        pod: String,
        min_ready_seconds: i32,
    },
    PodsOnOldRevision {
        pods: Vec<String>,
        revision: String,
    },
    ExtraPods {
        pods: Vec<String>,
        desired: i32,
    },
    /// The set's own status does not agree yet (kubectl's words when it has them).
    Status {
        message: String,
    },
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::SetAbsent { name } => write!(f, "statefulset {name} does not exist"),
            Missing::SetPresent { name, pods } => {
                write!(f, "statefulset {name} still exists ({pods} pods)")
            }
            Missing::SpecNotObserved {
                name,
                generation,
                observed,
            } => write!(
                f,
                "statefulset {name} generation {generation} not yet observed by the controller (observed {observed})"
            ),
            Missing::PodAbsent { pod } => write!(f, "{pod} not created"),
            Missing::PodTerminating { pod } => write!(f, "{pod} terminating"),
            Missing::PodNotReady {
                pod,
                status,
                restarts,
                claim,
            } => {
                write!(f, "{pod} not Ready: {status}")?;
                if *restarts > 0 {
                    write!(f, " (restarts {restarts})")?;
                }
                if let Some(claim) = claim {
                    write!(f, "; {claim}")?;
                }
                Ok(())
            }
            Missing::PodNotAvailable {
                pod,
                min_ready_seconds,
            } => write!(
                f,
                "{pod} Ready for less than minReadySeconds ({min_ready_seconds}s)"
            ),
            Missing::PodsOnOldRevision { pods, revision } => {
                write!(f, "{} not yet on revision {revision}", pods.join(", "))
            }
            Missing::ExtraPods { pods, desired } => write!(
                f,
                "{} still present (scaling down to {desired})",
                pods.join(", ")
            ),
            Missing::Status { message } => f.write_str(message),
        }
    }
}

/// The live state of one StatefulSet: the set, its pods and claims by ordinal.
#[derive(Debug, Clone)]
pub struct SetView {
    namespace: String,
    name: String,
    set: Option<StatefulSet>,
    pods: BTreeMap<i32, PodEntry>,
    /// (ordinal, template) -> claim.
    claims: BTreeMap<(i32, String), ClaimSummary>,
    /// The revision of the last pod seen at each ordinal, kept after it is gone,
    /// so a recreated pod on another revision is reported.
    last_revision: HashMap<i32, String>,
    /// Event uid -> resourceVersion already reported (an Event updated with a
    /// higher count is a new occurrence).
    seen_events: HashMap<String, String>,
    /// Claim name -> why it is Pending, from Events (which may arrive before the claim).
    claim_reasons: HashMap<String, String>,
    rollout_complete: bool,
}

/// Pods seen within this long of their creationTimestamp were seen being created.
const FRESH_POD_WINDOW: Duration = Duration::from_secs(2);

/// Event reasons that say why a claim is still Pending.
const CLAIM_PENDING_REASONS: &[&str] = &[
    "FailedBinding",
    "ProvisioningFailed",
    "ExternalProvisioning",
    "WaitForFirstConsumer",
    "WaitForPodScheduled",
];

impl SetView {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        SetView {
            namespace: namespace.into(),
            name: name.into(),
            set: None,
            pods: BTreeMap::new(),
            claims: BTreeMap::new(),
            last_revision: HashMap::new(),
            seen_events: HashMap::new(),
            claim_reasons: HashMap::new(),
            rollout_complete: false,
        }
    }

    /// A view of objects fetched with list calls rather than watched: the
    /// starting point for commands that look once, or that list first and
    /// then apply watch changes on top.
    pub fn from_objects(
        set: &StatefulSet,
        pods: &[Pod],
        claims: &[PersistentVolumeClaim],
        now: Timestamp,
    ) -> Self {
        let mut view = SetView::new(sts::namespace(set), sts::name(set));
        view.apply(&Change::SetApplied(Box::new(set.clone())), now);
        for pod in pods {
            view.apply(&Change::PodApplied(Box::new(pod.clone())), now);
        }
        for claim in claims {
            view.apply(&Change::ClaimApplied(Box::new(claim.clone())), now);
        }
        view
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn set(&self) -> Option<&StatefulSet> {
        self.set.as_ref()
    }

    pub fn pod(&self, ordinal: i32) -> Option<&PodSummary> {
        self.pods.get(&ordinal).map(|entry| &entry.summary)
    }

    /// Existing pods in ordinal order.
    pub fn pods(&self) -> impl Iterator<Item = (i32, &PodSummary)> {
        self.pods
            .iter()
            .map(|(ordinal, entry)| (*ordinal, &entry.summary))
    }

    /// Existing pods with ordinals in `range`, in ordinal order.
    pub fn pods_in(&self, range: std::ops::Range<i32>) -> impl Iterator<Item = (i32, &PodSummary)> {
        self.pods
            .range(range)
            .map(|(ordinal, entry)| (*ordinal, &entry.summary))
    }

    pub fn claim(&self, ordinal: i32, template: &str) -> Option<&ClaimSummary> {
        self.claims.get(&(ordinal, template.to_string()))
    }

    /// The ordinal of a pod that belongs to this set: named `<set>-<n>` in its
    /// namespace and, once the set is known, matching its selector or controlled by it.
    pub fn pod_ordinal(&self, pod: &Pod) -> Option<i32> {
        if pod
            .metadata
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != self.namespace)
        {
            return None;
        }
        let ordinal = sts::ordinal_of_pod(&self.name, pod.metadata.name.as_deref()?)?;
        let Some(set) = &self.set else {
            return Some(ordinal);
        };
        let controlled =
            pod.metadata.owner_references.iter().flatten().any(|o| {
                o.controller == Some(true) && o.kind == "StatefulSet" && o.name == self.name
            });
        let empty = BTreeMap::new();
        let labels = pod.metadata.labels.as_ref().unwrap_or(&empty);
        (controlled || sts::selector_matches(&set.spec.selector, labels)).then_some(ordinal)
    }

    /// The (ordinal, template) of a claim made from one of this set's templates.
    pub fn claim_slot(&self, namespace: Option<&str>, claim_name: &str) -> Option<(i32, String)> {
        if namespace.is_some_and(|ns| ns != self.namespace) {
            return None;
        }
        let (template, ordinal) = split_claim_name(&self.name, claim_name)?;
        match &self.set {
            Some(set) if !sts::claim_templates(set).contains(&template) => None,
            _ => Some((ordinal, template)),
        }
    }

    fn event_is_about_this_set(&self, event: &Event) -> bool {
        let object = &event.involved_object;
        let namespace = object
            .namespace
            .as_deref()
            .or(event.metadata.namespace.as_deref());
        if namespace.is_some_and(|ns| ns != self.namespace) {
            return false;
        }
        let Some(name) = object.name.as_deref() else {
            return false;
        };
        match object.kind.as_deref() {
            Some("StatefulSet") => name == self.name,
            Some("Pod") => sts::ordinal_of_pod(&self.name, name).is_some(),
            Some("PersistentVolumeClaim") => self.claim_slot(namespace, name).is_some(),
            _ => false,
        }
    }

    fn transition(&self, at: Timestamp, kind: TransitionKind) -> Transition {
        Transition {
            at,
            namespace: self.namespace.clone(),
            stateful_set: self.name.clone(),
            kind,
        }
    }

    /// Take one change into the view and say what it changed. Changes about
    /// objects that are not this set's are ignored.
    pub fn apply(&mut self, change: &Change, now: Timestamp) -> Vec<Transition> {
        match change {
            Change::SetApplied(set) if sts::name(set) == self.name => {
                self.apply_set(Some(set), now)
            }
            Change::SetDeleted(set) if sts::name(set) == self.name => self.apply_set(None, now),
            Change::PodApplied(pod) => match self.pod_ordinal(pod) {
                Some(ordinal) => self.apply_pod(ordinal, Some(PodSummary::from_pod(pod)), now),
                None => Vec::new(),
            },
            Change::PodDeleted(pod) => match self.pod_ordinal(pod) {
                Some(ordinal) => self.apply_pod(ordinal, None, now),
                None => Vec::new(),
            },
            Change::ClaimApplied(claim) => {
                let name = claim.metadata.name.as_deref().unwrap_or_default();
                match self.claim_slot(claim.metadata.namespace.as_deref(), name) {
                    Some((ordinal, template)) => {
                        let summary = ClaimSummary::from_claim(claim, &template);
                        self.apply_claim(ordinal, template, Some(summary), now)
                    }
                    None => Vec::new(),
                }
            }
            Change::ClaimDeleted(claim) => {
                let name = claim.metadata.name.as_deref().unwrap_or_default();
                match self.claim_slot(claim.metadata.namespace.as_deref(), name) {
                    Some((ordinal, template)) => self.apply_claim(ordinal, template, None, now),
                    None => Vec::new(),
                }
            }
            Change::EventApplied(event) => self.apply_event(event, now),
            Change::EventDeleted(event) => {
                if let Some(uid) = &event.metadata.uid {
                    self.seen_events.remove(uid);
                }
                Vec::new()
            }
            Change::SetApplied(_) | Change::SetDeleted(_) => Vec::new(),
        }
    }

    fn apply_set(&mut self, new: Option<&StatefulSet>, now: Timestamp) -> Vec<Transition> {
        let mut out = Vec::new();
        let old = self.set.take();
        match (&old, new) {
            (None, Some(set)) => {
                let revision = set.status.as_ref().and_then(|s| s.update_revision.clone());
                out.push(self.transition(
                    now,
                    TransitionKind::SetCreated {
                        replicas: sts::desired_replicas(set),
                        revision,
                    },
                ));
            }
            (Some(_), None) => out.push(self.transition(now, TransitionKind::SetDeleted)),
            (Some(old), Some(set)) => {
                if old.metadata.uid.is_some() && old.metadata.uid != set.metadata.uid {
                    // Deleted and recreated between two observations.
                    out.push(self.transition(now, TransitionKind::SetDeleted));
                    out.push(self.transition(
                        now,
                        TransitionKind::SetCreated {
                            replicas: sts::desired_replicas(set),
                            revision: set.status.as_ref().and_then(|s| s.update_revision.clone()),
                        },
                    ));
                } else {
                    let (from, to) = (sts::desired_replicas(old), sts::desired_replicas(set));
                    if from != to {
                        out.push(self.transition(now, TransitionKind::SetScaled { from, to }));
                    }
                    let (from, to) = (sts::partition(old), sts::partition(set));
                    if from != to {
                        out.push(
                            self.transition(now, TransitionKind::PartitionChanged { from, to }),
                        );
                    }
                    let revision = |s: &StatefulSet| {
                        s.status.as_ref().and_then(|st| st.update_revision.clone())
                    };
                    if let (Some(from), Some(to)) = (revision(old), revision(set))
                        && from != to
                    {
                        out.push(
                            self.transition(
                                now,
                                TransitionKind::UpdateRevisionChanged { from, to },
                            ),
                        );
                    }
                }
            }
            (None, None) => {}
        }
        self.set = new.cloned();
        let complete = self.set.as_ref().and_then(rollout_complete_at);
        let was_complete = std::mem::replace(&mut self.rollout_complete, complete.is_some());
        if let Some((replicas, revision)) = complete
            && !was_complete
            && old.is_some()
        {
            out.push(self.transition(now, TransitionKind::RolloutComplete { replicas, revision }));
        }
        out
    }

    fn apply_pod(
        &mut self,
        ordinal: i32,
        new: Option<PodSummary>,
        now: Timestamp,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut old = self.pods.remove(&ordinal);
        // Another uid at the same ordinal: the old pod went while we were not looking.
        if let (Some(previous), Some(summary)) = (&old, &new)
            && !previous.summary.uid.is_empty()
            && previous.summary.uid != summary.uid
        {
            out.push(self.transition(now, TransitionKind::PodDeleted { ordinal }));
            old = None;
        }
        let Some(summary) = new else {
            if old.is_some() {
                out.push(self.transition(now, TransitionKind::PodDeleted { ordinal }));
            }
            return out;
        };

        let entry = match old {
            None => {
                out.push(self.transition(
                    now,
                    TransitionKind::PodCreated {
                        ordinal,
                        revision: summary.revision.clone(),
                    },
                ));
                if let Some(revision) = &summary.revision
                    && self
                        .last_revision
                        .get(&ordinal)
                        .is_some_and(|last| last != revision)
                {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodRevisionChanged {
                            ordinal,
                            revision: revision.clone(),
                        },
                    ));
                }
                let fresh = summary
                    .created
                    .is_some_and(|created| elapsed(created, now) <= FRESH_POD_WINDOW);
                if summary.status != "Pending" && !summary.terminating {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodStatus {
                            ordinal,
                            status: summary.status.clone(),
                            restarts: summary.restarts,
                        },
                    ));
                }
                if summary.ready && !summary.terminating {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodReady {
                            ordinal,
                            after: None,
                        },
                    ));
                }
                PodEntry {
                    summary,
                    seen_created_at: fresh.then_some(now),
                }
            }
            Some(previous) => {
                let before = &previous.summary;
                if let Some(revision) = &summary.revision
                    && before.revision.as_ref() != Some(revision)
                {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodRevisionChanged {
                            ordinal,
                            revision: revision.clone(),
                        },
                    ));
                }
                if summary.terminating && !before.terminating {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodTerminating {
                            ordinal,
                            disruption: summary.disruption.clone(),
                        },
                    ));
                } else if !summary.terminating && summary.status != before.status {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodStatus {
                            ordinal,
                            status: summary.status.clone(),
                            restarts: summary.restarts,
                        },
                    ));
                }
                if summary.restarts > before.restarts {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodRestarted {
                            ordinal,
                            restarts: summary.restarts,
                        },
                    ));
                }
                if summary.ready && !before.ready {
                    let since = previous.seen_created_at.or(summary.created);
                    out.push(self.transition(
                        now,
                        TransitionKind::PodReady {
                            ordinal,
                            after: since.map(|since| elapsed(since, now)),
                        },
                    ));
                } else if !summary.ready && before.ready && !summary.terminating {
                    out.push(self.transition(
                        now,
                        TransitionKind::PodNotReady {
                            ordinal,
                            status: summary.status.clone(),
                        },
                    ));
                }
                PodEntry {
                    summary,
                    seen_created_at: previous.seen_created_at,
                }
            }
        };
        if let Some(revision) = &entry.summary.revision {
            self.last_revision.insert(ordinal, revision.clone());
        }
        self.pods.insert(ordinal, entry);
        out
    }

    fn apply_claim(
        &mut self,
        ordinal: i32,
        template: String,
        new: Option<ClaimSummary>,
        now: Timestamp,
    ) -> Vec<Transition> {
        let key = (ordinal, template);
        let old = self.claims.remove(&key);
        let mut out = Vec::new();
        let Some(mut summary) = new else {
            if let Some(old) = old {
                self.claim_reasons.remove(&old.name);
                out.push(self.transition(
                    now,
                    TransitionKind::ClaimDeleted {
                        ordinal,
                        claim: old.name,
                    },
                ));
            }
            return out;
        };
        let claim = summary.name.clone();
        if summary.phase == "Pending" {
            summary.pending_reason = self.claim_reasons.get(&claim).cloned();
        } else {
            self.claim_reasons.remove(&claim);
        }
        match &old {
            None => out.push(self.transition(
                now,
                TransitionKind::ClaimCreated {
                    ordinal,
                    claim: claim.clone(),
                    phase: summary.phase.clone(),
                },
            )),
            Some(before) => {
                if summary.terminating && !before.terminating {
                    out.push(self.transition(
                        now,
                        TransitionKind::ClaimTerminating {
                            ordinal,
                            claim: claim.clone(),
                        },
                    ));
                }
                if summary.phase != before.phase {
                    let kind = match summary.phase.as_str() {
                        "Bound" => TransitionKind::ClaimBound {
                            ordinal,
                            claim: claim.clone(),
                            volume: summary.volume.clone(),
                        },
                        "Pending" => TransitionKind::ClaimPending {
                            ordinal,
                            claim: claim.clone(),
                            reason: None,
                        },
                        phase => TransitionKind::ClaimPhase {
                            ordinal,
                            claim: claim.clone(),
                            phase: phase.to_string(),
                        },
                    };
                    out.push(self.transition(now, kind));
                }
            }
        }
        self.claims.insert(key, summary);
        out
    }

    fn apply_event(&mut self, event: &Event, now: Timestamp) -> Vec<Transition> {
        if !self.event_is_about_this_set(event) {
            return Vec::new();
        }
        let uid = event.metadata.uid.clone().unwrap_or_default();
        let version = event.metadata.resource_version.clone().unwrap_or_default();
        if self.seen_events.get(&uid) == Some(&version) {
            return Vec::new();
        }
        self.seen_events.insert(uid, version);

        let object = &event.involved_object;
        let kind = object.kind.as_deref().unwrap_or_default();
        let name = object.name.clone().unwrap_or_default();
        let reason = event.reason.clone().unwrap_or_default();
        let message = event.message.clone().unwrap_or_default();
        if kind == "PersistentVolumeClaim"
            && CLAIM_PENDING_REASONS.contains(&reason.as_str())
            && let Some(key) = self.claim_slot(object.namespace.as_deref(), &name)
        {
            let claim = self.claims.get_mut(&key);
            if claim.as_ref().is_some_and(|c| c.phase != "Pending") {
                // Old news about a claim that has bound since.
                return Vec::new();
            }
            self.claim_reasons.insert(name.clone(), message.clone());
            if let Some(claim) = claim {
                if claim.pending_reason.as_deref() == Some(message.as_str()) {
                    return Vec::new();
                }
                claim.pending_reason = Some(message.clone());
            }
            return vec![self.transition(
                now,
                TransitionKind::ClaimPending {
                    ordinal: key.0,
                    claim: name,
                    reason: Some(message),
                },
            )];
        }
        let object = match kind {
            "StatefulSet" => format!("statefulset/{name}"),
            "Pod" => format!("pod/{name}"),
            "PersistentVolumeClaim" => format!("pvc/{name}"),
            other => format!("{}/{name}", other.to_lowercase()),
        };
        let count = event
            .series
            .as_ref()
            .map(|s| s.count.unwrap_or(1))
            .or(event.count)
            .unwrap_or(1);
        vec![self.transition(
            now,
            TransitionKind::Event {
                object,
                warning: event.type_.as_deref() == Some("Warning"),
                reason,
                message,
                count,
            },
        )]
    }

    /// Forget objects of one kind that a relist no longer has, reporting each
    /// as gone. `listed` holds `namespace/name` of the sets, pods and claims
    /// that remain, or the uids of the events.
    pub fn forget_unlisted(
        &mut self,
        kind: WatchedKind,
        listed: &HashSet<String>,
        now: Timestamp,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        match kind {
            WatchedKind::Sets => {
                if self.set.is_some() && !listed.contains(&self.key_of(&self.name)) {
                    out.extend(self.apply_set(None, now));
                }
            }
            WatchedKind::Pods => {
                let gone: Vec<i32> = self
                    .pods
                    .iter()
                    .filter(|(_, entry)| !listed.contains(&self.key_of(&entry.summary.name)))
                    .map(|(ordinal, _)| *ordinal)
                    .collect();
                for ordinal in gone {
                    out.extend(self.apply_pod(ordinal, None, now));
                }
            }
            WatchedKind::Claims => {
                let gone: Vec<(i32, String)> = self
                    .claims
                    .iter()
                    .filter(|(_, claim)| !listed.contains(&self.key_of(&claim.name)))
                    .map(|(key, _)| key.clone())
                    .collect();
                for (ordinal, template) in gone {
                    out.extend(self.apply_claim(ordinal, template, None, now));
                }
            }
            WatchedKind::Events => self.seen_events.retain(|uid, _| listed.contains(uid)),
        }
        out
    }

    fn key_of(&self, name: &str) -> String {
        format!("{}/{name}", self.namespace)
    }

    pub fn header(&self) -> SetHeader {
        let status = self
            .set
            .as_ref()
            .and_then(|s| s.status.clone())
            .unwrap_or_default();
        let set = self.set.as_ref();
        SetHeader {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            exists: set.is_some(),
            desired: set.map_or(0, sts::desired_replicas),
            current: status.replicas,
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            strategy: set.map_or("", sts::update_strategy).to_string(),
            partition: set.map_or(0, sts::partition),
            pod_management_policy: set.map_or("", sts::pod_management_policy).to_string(),
            current_revision: status.current_revision,
            update_revision: status.update_revision,
        }
    }

    fn update_revision(&self) -> Option<&str> {
        self.set
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .and_then(|s| s.update_revision.as_deref())
    }

    /// The ordinals a row is shown for: the desired range widened to every pod
    /// that exists (pods being scaled away, or below a raised ordinals.start).
    pub fn row_ordinals(&self) -> std::ops::Range<i32> {
        let desired = self.set.as_ref().map_or(0..0, sts::ordinals);
        let lowest = self.pods.keys().next().copied();
        let highest = self.pods.keys().next_back().copied();
        let start = match lowest {
            Some(low) if desired.is_empty() => low,
            Some(low) => low.min(desired.start),
            None => desired.start,
        };
        let end = match highest {
            Some(high) => (high + 1).max(desired.end),
            None => desired.end,
        };
        start..end
    }

    /// One row per ordinal, in ordinal order, including ordinals without a pod.
    pub fn rows(&self, now: Timestamp) -> Vec<OrdinalRow> {
        self.rows_in(self.row_ordinals(), now)
    }

    /// The rows of some ordinals only (a screen shows what fits).
    pub fn rows_in(&self, ordinals: std::ops::Range<i32>, now: Timestamp) -> Vec<OrdinalRow> {
        let desired = self.set.as_ref().map_or(0..0, sts::ordinals);
        let templates = self.templates();
        let update_revision = self.update_revision();
        ordinals
            .map(|ordinal| {
                let pod = self.pod(ordinal).cloned();
                let revision = pod
                    .as_ref()
                    .and_then(|p| p.revision.clone())
                    .map(|revision| {
                        let age = if Some(revision.as_str()) == update_revision {
                            RevisionAge::New
                        } else {
                            RevisionAge::Old
                        };
                        (revision, age)
                    });
                OrdinalRow {
                    ordinal,
                    pod_name: sts::pod_name(&self.name, ordinal),
                    in_range: desired.contains(&ordinal),
                    gone: pod.is_none() && self.last_revision.contains_key(&ordinal),
                    age: pod
                        .as_ref()
                        .and_then(|p| p.created)
                        .map(|created| elapsed(created, now)),
                    revision,
                    pod,
                    claims: templates
                        .iter()
                        .map(|t| (t.clone(), self.claim(ordinal, t).cloned()))
                        .collect(),
                }
            })
            .collect()
    }

    /// Claim templates: the set's, else those seen on claims.
    fn templates(&self) -> Vec<String> {
        match &self.set {
            Some(set) => sts::claim_templates(set),
            None => {
                let mut seen: Vec<String> = self.claims.keys().map(|(_, t)| t.clone()).collect();
                seen.sort();
                seen.dedup();
                seen
            }
        }
    }

    /// A cheap check on the set's status alone; when it says no, `evaluate`
    /// would not find the condition met either. Lets callers skip the
    /// per-ordinal walk on most changes.
    pub fn status_says_met(&self, until: UntilCondition) -> bool {
        match until {
            UntilCondition::Deleted => self.set.is_none(),
            UntilCondition::Ready => self.set.as_ref().is_some_and(|set| {
                let status = set.status.clone().unwrap_or_default();
                let desired = sts::desired_replicas(set);
                sts::spec_observed(set)
                    && status.replicas == desired
                    && status.ready_replicas.unwrap_or(0) >= desired
                    && status.available_replicas.unwrap_or(0) >= desired
            }),
            UntilCondition::Rolled => self.set.as_ref().is_some_and(|set| {
                if sts::update_strategy(set) == "RollingUpdate" {
                    sts::rollout_status(set).is_ok_and(|s| s.done)
                } else {
                    let status = set.status.clone().unwrap_or_default();
                    let desired = sts::desired_replicas(set);
                    sts::spec_observed(set)
                        && status.ready_replicas.unwrap_or(0) >= desired
                        && status.updated_replicas.unwrap_or(0) >= desired
                }
            }),
        }
    }

    /// What the condition still waits for; empty when it holds. Blocking
    /// problems (pods not Ready) come first.
    pub fn evaluate(&self, until: UntilCondition, now: Timestamp) -> Vec<Missing> {
        let Some(set) = &self.set else {
            return match until {
                UntilCondition::Deleted => Vec::new(),
                _ => vec![Missing::SetAbsent {
                    name: self.name.clone(),
                }],
            };
        };
        if until == UntilCondition::Deleted {
            return vec![Missing::SetPresent {
                name: self.name.clone(),
                pods: self.pods.len(),
            }];
        }
        let mut missing = Vec::new();
        if !sts::spec_observed(set) {
            missing.push(Missing::SpecNotObserved {
                name: self.name.clone(),
                generation: set.metadata.generation.unwrap_or(0),
                observed: set
                    .status
                    .as_ref()
                    .and_then(|s| s.observed_generation)
                    .unwrap_or(0),
            });
        }
        let desired = sts::ordinals(set);
        let min_ready_seconds = set.spec.min_ready_seconds.unwrap_or(0);
        let min_ready = Duration::from_secs(u64::try_from(min_ready_seconds).unwrap_or(0));
        for ordinal in desired.clone() {
            let pod = sts::pod_name(&self.name, ordinal);
            match self.pod(ordinal) {
                None => missing.push(Missing::PodAbsent { pod }),
                Some(summary) if summary.terminating => {
                    missing.push(Missing::PodTerminating { pod })
                }
                Some(summary) if !summary.ready => missing.push(Missing::PodNotReady {
                    pod,
                    status: summary.status.clone(),
                    restarts: summary.restarts,
                    claim: self.pending_claim(ordinal),
                }),
                Some(summary)
                    if until == UntilCondition::Ready && !summary.is_available(min_ready, now) =>
                {
                    missing.push(Missing::PodNotAvailable {
                        pod,
                        min_ready_seconds,
                    })
                }
                Some(_) => {}
            }
        }
        let extra: Vec<String> = self
            .pods
            .keys()
            .rev()
            .filter(|o| !desired.contains(o))
            .map(|o| sts::pod_name(&self.name, *o))
            .collect();
        if until == UntilCondition::Ready && !extra.is_empty() {
            missing.push(Missing::ExtraPods {
                pods: extra,
                desired: sts::desired_replicas(set),
            });
        }
        if until == UntilCondition::Rolled {
            missing.extend(self.revision_gap(set));
        }
        if missing.is_empty() && !self.status_says_met(until) {
            let message = match (until, sts::rollout_status(set)) {
                (UntilCondition::Rolled, Ok(status)) => status.message,
                _ => {
                    let header = self.header();
                    format!(
                        "statefulset {} status: {} ready, {} available of {} desired, {} pods",
                        self.name, header.ready, header.available, header.desired, header.current
                    )
                }
            };
            missing.push(Missing::Status { message });
        }
        missing
    }

    /// Pods still to update, highest first: with RollingUpdate the ordinals at
    /// or above the partition, with OnDelete every ordinal.
    fn revision_gap(&self, set: &StatefulSet) -> Option<Missing> {
        let update_revision = self.update_revision()?;
        let floor = if sts::update_strategy(set) == "RollingUpdate" {
            sts::partition(set)
        } else {
            i32::MIN
        };
        let pods: Vec<String> = sts::ordinals(set)
            .rev()
            .filter(|o| *o >= floor)
            .filter(|o| {
                self.pod(*o)
                    .is_none_or(|p| p.terminating || p.revision.as_deref() != Some(update_revision))
            })
            .map(|o| sts::pod_name(&self.name, o))
            .collect();
        (!pods.is_empty()).then(|| Missing::PodsOnOldRevision {
            pods,
            revision: short_revision(&self.name, update_revision),
        })
    }

    fn pending_claim(&self, ordinal: i32) -> Option<String> {
        self.claims
            .range((ordinal, String::new())..)
            .take_while(|((o, _), _)| *o == ordinal)
            .map(|(_, claim)| claim)
            .find(|claim| claim.phase != "Bound")
            .map(|claim| match &claim.pending_reason {
                Some(reason) => format!("claim {} {}: {reason}", claim.name, claim.phase),
                None => format!("claim {} {}", claim.name, claim.phase),
            })
    }
}

/// (replicas, revision) when every replica is Ready on one revision.
fn rollout_complete_at(set: &StatefulSet) -> Option<(i32, String)> {
    let status = set.status.as_ref()?;
    let desired = sts::desired_replicas(set);
    let revision = status.update_revision.clone()?;
    (sts::spec_observed(set)
        && status.current_revision.as_ref() == Some(&revision)
        && status.replicas == desired
        && status.ready_replicas.unwrap_or(0) == desired
        && status.updated_replicas.unwrap_or(0) == desired)
        .then_some((desired, revision))
}

mod routing;
#[cfg(test)]
mod tests;
mod transition;
