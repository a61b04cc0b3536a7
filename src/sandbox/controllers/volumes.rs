//! The PersistentVolume binder, as upstream's pkg/controller/volume/persistentvolume
//! (pv_controller.go `syncClaim`/`syncVolume`, index.go `findBestMatchForClaim`,
//! component-helpers `FindMatchingVolume`).
//!
//! Claims are matched to volumes (static binding), handed to a provisioner
//! (dynamic provisioning, see `provisioners.rs`), or left Pending with the
//! event a real cluster shows. Volumes follow their claims through Available,
//! Bound and Released, and are reclaimed by their policy.
//!
//! The decisions are pure functions over k8s-openapi types (`plan_claim`,
//! `plan_volume`, `find_best_match`); `sync_once` performs them through the
//! `Cluster` in the four separate writes upstream makes for a bind.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube_quantity::ParsedQuantity;

use super::events::{EventRecorder, EventType};
use super::provisioners::{self, SandboxProvisioner};
use super::resync::{self, Queued, RepeatFilter};
use serde::Deserialize;
use std::path::PathBuf;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::sandbox::api::cluster::{Change, Cluster, Subresource, WatchEventType};
use crate::sandbox::api::selectors::LabelSelector;
use crate::sandbox::resources::{PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, STORAGE_CLASSES};

/// Claim annotation: the binder finished binding (set on the claim).
pub const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// The binder, not the user, set claimRef / volumeName.
pub const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The provisioner asked to provision a claim.
pub const STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// The beta spelling, which provisioners built on lib v6 (nfs-subdir) act on.
pub const BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The node the scheduler picked for a WaitForFirstConsumer claim.
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Deprecated class annotation, still honoured before `spec.storageClassName`.
pub const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
pub use crate::sandbox::node::PROVISIONED_BY_ANNOTATION as PROVISIONED_BY;

/// Event source of the binder.
pub const COMPONENT: &str = "persistentvolume-controller";

/// An event a decision asks for (the target is the object being synced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

impl PlannedEvent {
    fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        PlannedEvent {
            warning: false,
            reason,
            message: message.into(),
        }
    }

    fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        PlannedEvent {
            warning: true,
            reason,
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Reading claims, volumes and classes

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The class a claim asks for (`""` = no class): the beta annotation wins
/// over the field, as `GetPersistentVolumeClaimClass`.
pub fn claim_class(claim: &PersistentVolumeClaim) -> String {
    annotation(&claim.metadata, BETA_STORAGE_CLASS)
        .map(str::to_string)
        .or_else(|| claim.spec.as_ref()?.storage_class_name.clone())
        .unwrap_or_default()
}

/// The class of a volume (`""` = none).
pub fn volume_class(volume: &PersistentVolume) -> String {
    annotation(&volume.metadata, BETA_STORAGE_CLASS)
        .map(str::to_string)
        .or_else(|| volume.spec.as_ref()?.storage_class_name.clone())
        .unwrap_or_default()
}

/// `resources.requests.storage` of a claim (zero when absent).
pub fn claim_request(claim: &PersistentVolumeClaim) -> ParsedQuantity {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| ParsedQuantity::try_from(q).ok())
        .unwrap_or_default()
}

/// `capacity.storage` of a volume (zero when absent).
pub fn volume_capacity(volume: &PersistentVolume) -> ParsedQuantity {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .and_then(|q| ParsedQuantity::try_from(q).ok())
        .unwrap_or_default()
}

fn claim_access_modes(claim: &PersistentVolumeClaim) -> BTreeSet<String> {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.clone())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn volume_access_modes(volume: &PersistentVolume) -> BTreeSet<String> {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.clone())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Volume modes default to Filesystem on both sides.
fn volume_modes_differ(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let claim_mode = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_mode.as_deref())
        .unwrap_or("Filesystem");
    let volume_mode = volume
        .spec
        .as_ref()
        .and_then(|s| s.volume_mode.as_deref())
        .unwrap_or("Filesystem");
    claim_mode != volume_mode
}

fn claim_ref(volume: &PersistentVolume) -> Option<&ObjectReference> {
    volume.spec.as_ref()?.claim_ref.as_ref()
}

fn claim_volume_name(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default()
}

fn volume_phase(volume: &PersistentVolume) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn name_of(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or_default()
}

fn uid_of(meta: &ObjectMeta) -> &str {
    meta.uid.as_deref().unwrap_or_default()
}

/// `ns/name`, as upstream's `claimToClaimKey`.
pub fn claim_key(claim: &PersistentVolumeClaim) -> String {
    format!(
        "{}/{}",
        namespace_of(&claim.metadata),
        name_of(&claim.metadata)
    )
}

/// Whether the volume is pre-bound or bound to this claim (`IsVolumeBoundToClaim`).
pub fn is_volume_bound_to_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(reference) = claim_ref(volume) else {
        return false;
    };
    if reference.name.as_deref() != claim.metadata.name.as_deref()
        || reference.namespace.as_deref() != claim.metadata.namespace.as_deref()
    {
        return false;
    }
    match reference.uid.as_deref() {
        None | Some("") => true,
        Some(uid) => Some(uid) == claim.metadata.uid.as_deref(),
    }
}

/// A class's volume binding mode is WaitForFirstConsumer.
pub fn waits_for_first_consumer(class: &StorageClass) -> bool {
    class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
}

fn selector_matches(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let Some(selector) = claim.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return true;
    };
    let selector = serde_json::to_value(selector).unwrap_or_default();
    // An unparsable selector matches nothing (validation should have refused it).
    LabelSelector::from_object(&selector)
        .is_ok_and(|s| s.matches_labels(&volume.metadata.labels.clone().unwrap_or_default()))
}

// ---------------------------------------------------------------------------
// Matching

/// The volume the binder would bind the claim to (`findBestMatchForClaim`):
/// a volume pre-bound to the claim if one fits, else the smallest Available,
/// unclaimed volume of the same class whose access modes, volume mode,
/// labels and capacity satisfy the claim. Volumes offering fewer access
/// modes are preferred, as the upstream index searches the tightest
/// access-mode sets first. With `delay_binding` (WaitForFirstConsumer before
/// a node is chosen) only pre-bound volumes count.
pub fn find_best_match<'a>(
    claim: &PersistentVolumeClaim,
    volumes: impl IntoIterator<Item = &'a PersistentVolume>,
    delay_binding: bool,
) -> Option<&'a PersistentVolume> {
    let requested = claim_request(claim);
    let requested_class = claim_class(claim);
    let requested_modes = claim_access_modes(claim);
    let mut best: Option<(usize, ParsedQuantity, &PersistentVolume)> = None;
    for volume in volumes {
        let modes = volume_access_modes(volume);
        if !requested_modes.is_subset(&modes) {
            continue;
        }
        if volume_modes_differ(claim, volume) || volume.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let capacity = volume_capacity(volume);
        if is_volume_bound_to_claim(volume, claim) {
            if capacity < requested {
                continue;
            }
            return Some(volume);
        }
        if delay_binding
            || volume_phase(volume) != "Available"
            || claim_ref(volume).is_some()
            || !selector_matches(claim, volume)
            || volume_class(volume) != requested_class
            || capacity < requested
        {
            continue;
        }
        let better = match &best {
            None => true,
            Some((best_modes, best_capacity, _)) => {
                (modes.len(), &capacity) < (*best_modes, best_capacity)
            }
        };
        if better {
            best = Some((modes.len(), capacity, volume));
        }
    }
    best.map(|(_, _, volume)| volume)
}

/// Why a volume named by a claim's `volumeName` cannot take it
/// (`checkVolumeSatisfyClaim`), in upstream's words.
pub fn check_volume_satisfies_claim(
    volume: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<(), &'static str> {
    if volume_capacity(volume) < claim_request(claim) {
        return Err("requested PV is too small");
    }
    if volume_class(volume) != claim_class(claim) {
        return Err("storageClassName does not match");
    }
    if volume_modes_differ(claim, volume) {
        return Err("incompatible volumeMode");
    }
    if !claim_access_modes(claim).is_subset(&volume_access_modes(volume)) {
        return Err("incompatible accessMode");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Claim decisions

/// What the binder does with a claim in one sync.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimDecision {
    /// Bound, and both sides agree: ensure status says so.
    Bound { volume: String },
    /// Bind (or finish binding) the claim to this volume.
    Bind { volume: String },
    /// Nothing fits yet: stay Pending, perhaps with an event.
    Pending(Option<PlannedEvent>),
    /// Hand the claim to its class's provisioner: annotate it, stay Pending.
    RequestProvisioning {
        provisioner: String,
        event: PlannedEvent,
    },
    /// The bound volume is gone or belongs to another claim.
    Lost(PlannedEvent),
}

/// How the binder sees the cluster when it syncs one claim.
pub struct StorageView<'a> {
    /// The volumes in name order: all of them, or at least those that can
    /// matter to the claim (the one it names, those pre-bound to it and those
    /// without a claimRef; see `StorageCache::volumes_for`).
    pub volumes: Vec<&'a PersistentVolume>,
    pub classes: &'a BTreeMap<String, StorageClass>,
}

impl StorageView<'_> {
    fn volume(&self, name: &str) -> Option<&PersistentVolume> {
        self.volumes
            .iter()
            .copied()
            .find(|v| name_of(&v.metadata) == name)
    }
}

/// The binder's decision for one claim (`syncClaim`).
pub fn plan_claim(claim: &PersistentVolumeClaim, view: &StorageView<'_>) -> ClaimDecision {
    let volume_name = claim_volume_name(claim);
    let bind_completed = annotation(&claim.metadata, BIND_COMPLETED).is_some();
    if bind_completed && !volume_name.is_empty() {
        return plan_bound_claim(claim, volume_name, view);
    }
    if !volume_name.is_empty() {
        return plan_claim_with_volume_name(claim, volume_name, view);
    }
    let class_name = claim_class(claim);
    let class = view.classes.get(&class_name);
    let delay_binding = class.is_some_and(waits_for_first_consumer)
        && annotation(&claim.metadata, SELECTED_NODE).is_none();
    if let Some(volume) = find_best_match(claim, view.volumes.iter().copied(), delay_binding) {
        return ClaimDecision::Bind {
            volume: name_of(&volume.metadata).to_string(),
        };
    }
    if class_name.is_empty() {
        return ClaimDecision::Pending(Some(PlannedEvent::normal(
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        )));
    }
    if delay_binding {
        return ClaimDecision::Pending(Some(PlannedEvent::normal(
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        )));
    }
    let Some(class) = class else {
        return ClaimDecision::Pending(Some(PlannedEvent::warning(
            "ProvisioningFailed",
            format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
        )));
    };
    if class.provisioner.starts_with("kubernetes.io/") {
        // The sandbox has no in-tree volume plugins (no-provisioner included).
        return ClaimDecision::Pending(Some(PlannedEvent::warning(
            "ProvisioningFailed",
            format!("no volume plugin matched name: {}", class.provisioner),
        )));
    }
    ClaimDecision::RequestProvisioning {
        provisioner: class.provisioner.clone(),
        event: PlannedEvent::normal(
            "ExternalProvisioning",
            format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                class.provisioner
            ),
        ),
    }
}

/// `syncUnboundClaim` for a claim that names its volume.
fn plan_claim_with_volume_name(
    claim: &PersistentVolumeClaim,
    volume_name: &str,
    view: &StorageView<'_>,
) -> ClaimDecision {
    let Some(volume) = view.volume(volume_name) else {
        // Upstream only logs this and retries.
        return ClaimDecision::Pending(None);
    };
    match claim_ref(volume) {
        None => match check_volume_satisfies_claim(volume, claim) {
            Ok(()) => ClaimDecision::Bind {
                volume: volume_name.to_string(),
            },
            Err(why) => ClaimDecision::Pending(Some(PlannedEvent::warning(
                "VolumeMismatch",
                format!("Cannot bind to requested volume \"{volume_name}\": {why}"),
            ))),
        },
        Some(_) if is_volume_bound_to_claim(volume, claim) => ClaimDecision::Bind {
            volume: volume_name.to_string(),
        },
        Some(_) => ClaimDecision::Pending(Some(PlannedEvent::warning(
            "FailedBinding",
            format!("volume \"{volume_name}\" already bound to a different claim."),
        ))),
    }
}

/// `syncBoundClaim`.
fn plan_bound_claim(
    claim: &PersistentVolumeClaim,
    volume_name: &str,
    view: &StorageView<'_>,
) -> ClaimDecision {
    let Some(volume) = view.volume(volume_name) else {
        return ClaimDecision::Lost(PlannedEvent::warning(
            "ClaimLost",
            "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
        ));
    };
    match claim_ref(volume) {
        None => ClaimDecision::Bind {
            volume: volume_name.to_string(),
        },
        Some(reference) if reference.uid.as_deref() == claim.metadata.uid.as_deref() => {
            let status_bound =
                claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
            if status_bound && volume_phase(volume) == "Bound" {
                ClaimDecision::Bound {
                    volume: volume_name.to_string(),
                }
            } else {
                ClaimDecision::Bind {
                    volume: volume_name.to_string(),
                }
            }
        }
        Some(_) => ClaimDecision::Lost(PlannedEvent::warning(
            "ClaimMisbound",
            "Two claims are bound to the same volume, this one is bound incorrectly",
        )),
    }
}

// ---------------------------------------------------------------------------
// Volume decisions

/// What the reclaim policy asks for once a volume is Released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reclaim {
    /// Retain: stays Released until an administrator acts.
    Keep,
    /// Delete, by one of the sandbox's provisioners.
    Delete(SandboxProvisioner),
    /// Delete by an external provisioner the sandbox does not run: it
    /// would do it; here the volume simply stays Released.
    LeaveToExternal,
    /// Nothing can delete or recycle it: the volume fails.
    Fail(PlannedEvent),
    /// Recycle (deprecated): scrub the directory and make it Available.
    Recycle,
}

/// The binder's decision for one volume (`syncVolume`).
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeDecision {
    /// Ensure the phase (no write when it already is).
    Phase(&'static str),
    /// The claim is gone (or bound elsewhere): Released, then reclaim.
    Release(Reclaim),
    /// The binder reserved it for a claim that got another volume: undo.
    Unbind,
    /// Wait for the claim's sync to finish the bind.
    Wait,
}

/// How a claim referenced by a volume looks, as far as the volume cares.
pub struct ClaimSummary<'a> {
    pub uid: &'a str,
    pub volume_name: &'a str,
}

/// The binder's decision for one volume; `claim` is the claim named by its
/// claimRef, if it exists.
pub fn plan_volume(volume: &PersistentVolume, claim: Option<ClaimSummary<'_>>) -> VolumeDecision {
    let Some(reference) = claim_ref(volume) else {
        return VolumeDecision::Phase("Available");
    };
    let ref_uid = reference.uid.as_deref().unwrap_or_default();
    if ref_uid.is_empty() {
        // Pre-bound by an administrator to a claim that may not exist yet.
        return VolumeDecision::Phase("Available");
    }
    let volume_name = name_of(&volume.metadata);
    match claim {
        None => VolumeDecision::Release(reclaim_for(volume)),
        Some(claim) if claim.uid != ref_uid => VolumeDecision::Release(reclaim_for(volume)),
        Some(claim) if claim.volume_name.is_empty() => VolumeDecision::Wait,
        Some(claim) if claim.volume_name == volume_name => VolumeDecision::Phase("Bound"),
        Some(_) => {
            let dynamically_provisioned = annotation(&volume.metadata, PROVISIONED_BY).is_some();
            if dynamically_provisioned && reclaim_policy(volume) == "Delete" {
                VolumeDecision::Release(reclaim_for(volume))
            } else if annotation(&volume.metadata, BOUND_BY_CONTROLLER).is_some() {
                VolumeDecision::Unbind
            } else {
                VolumeDecision::Wait
            }
        }
    }
}

fn reclaim_policy(volume: &PersistentVolume) -> &str {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        .unwrap_or("Retain")
}

/// What the volume's reclaim policy means for it in the sandbox (`reclaimVolume`).
pub fn reclaim_for(volume: &PersistentVolume) -> Reclaim {
    let name = name_of(&volume.metadata);
    match reclaim_policy(volume) {
        "Delete" => match annotation(&volume.metadata, PROVISIONED_BY) {
            Some(by) => match SandboxProvisioner::from_name(by) {
                Some(provisioner) => Reclaim::Delete(provisioner),
                None => Reclaim::LeaveToExternal,
            },
            None => Reclaim::Fail(PlannedEvent::warning(
                "VolumeFailedDelete",
                format!(
                    "error getting deleter volume plugin for volume \"{name}\": no deletable volume plugin matched"
                ),
            )),
        },
        "Recycle" => {
            let spec = volume.spec.as_ref();
            if spec.is_some_and(|s| s.nfs.is_some() || s.host_path.is_some()) {
                Reclaim::Recycle
            } else {
                Reclaim::Fail(PlannedEvent::warning(
                    "VolumeFailedRecycle",
                    "No recycler plugin found for the volume!",
                ))
            }
        }
        _ => Reclaim::Keep,
    }
}

// ---------------------------------------------------------------------------
// Building the writes

/// The claimRef a bind writes into the volume.
pub fn claim_reference(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        namespace: claim.metadata.namespace.clone(),
        name: claim.metadata.name.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Write 1 of a bind: the volume points at the claim. `None` when it already does.
pub fn volume_with_claim_ref(
    volume: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Option<PersistentVolume> {
    let already = claim_ref(volume).is_some_and(|r| {
        r.uid.as_deref() == claim.metadata.uid.as_deref()
            && r.name.as_deref() == claim.metadata.name.as_deref()
            && r.namespace.as_deref() == claim.metadata.namespace.as_deref()
    });
    if already {
        return None;
    }
    let mut updated = volume.clone();
    let spec = updated.spec.get_or_insert_with(Default::default);
    if spec.claim_ref.is_none() {
        updated
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(BOUND_BY_CONTROLLER.into(), "yes".into());
    }
    updated.spec.get_or_insert_with(Default::default).claim_ref = Some(claim_reference(claim));
    Some(updated)
}

/// Write 3 of a bind: the claim names the volume and carries the binder's
/// annotations. `None` when nothing changes.
pub fn claim_with_volume(
    claim: &PersistentVolumeClaim,
    volume_name: &str,
) -> Option<PersistentVolumeClaim> {
    let mut updated = claim.clone();
    let spec = updated.spec.get_or_insert_with(Default::default);
    let set_by_controller = spec.volume_name.as_deref().unwrap_or_default().is_empty();
    spec.volume_name = Some(volume_name.to_string());
    let annotations = updated
        .metadata
        .annotations
        .get_or_insert_with(Default::default);
    annotations.insert(BIND_COMPLETED.into(), "yes".into());
    if set_by_controller {
        annotations.insert(BOUND_BY_CONTROLLER.into(), "yes".into());
    }
    (updated != *claim).then_some(updated)
}

/// Write 4 of a bind: claim status Bound with the volume's capacity and access modes.
pub fn claim_status_bound(
    claim: &PersistentVolumeClaim,
    volume: &PersistentVolume,
) -> Option<PersistentVolumeClaim> {
    let spec = volume.spec.as_ref();
    let mut updated = claim.clone();
    let status = updated
        .status
        .get_or_insert_with(PersistentVolumeClaimStatus::default);
    status.phase = Some("Bound".into());
    status.access_modes = spec.and_then(|s| s.access_modes.clone());
    status.capacity = spec.and_then(|s| s.capacity.clone());
    (updated != *claim).then_some(updated)
}

/// A volume with its phase set; `None` when it already has it.
pub fn volume_with_phase(
    volume: &PersistentVolume,
    phase: &str,
    message: Option<&str>,
) -> Option<PersistentVolume> {
    if volume_phase(volume) == phase
        && volume.status.as_ref().and_then(|s| s.message.as_deref()) == message
    {
        return None;
    }
    let mut updated = volume.clone();
    let status = updated
        .status
        .get_or_insert_with(PersistentVolumeStatus::default);
    status.phase = Some(phase.into());
    status.message = message.map(str::to_string);
    status.reason = None;
    let now = jiff::Timestamp::now();
    // metav1.Time carries whole seconds.
    status.last_phase_transition_time = Some(Time(
        jiff::Timestamp::from_second(now.as_second()).unwrap_or(now),
    ));
    Some(updated)
}

// ---------------------------------------------------------------------------
// The controller

/// How often a still-true event is repeated (upstream's resync period).
const EVENT_REPEAT: std::time::Duration = std::time::Duration::from_secs(15);

type Key = (String, String);

fn key_of(meta: &ObjectMeta) -> Key {
    (namespace_of(meta).to_string(), name_of(meta).to_string())
}

/// The claim a volume's claimRef names, as a key.
fn claim_ref_key(volume: &PersistentVolume) -> Option<Key> {
    claim_ref(volume).map(|r| {
        (
            r.namespace.clone().unwrap_or_default(),
            r.name.clone().unwrap_or_default(),
        )
    })
}

/// The binder's view of claims, volumes and classes, kept from the change
/// stream as upstream's informer caches are, with the indexes its decisions
/// need and the objects whose decision may have changed (upstream's work
/// queues), so a change costs work for the objects it concerns only.
#[derive(Default)]
pub struct StorageCache {
    claims: BTreeMap<Key, PersistentVolumeClaim>,
    volumes: BTreeMap<String, PersistentVolume>,
    classes: BTreeMap<String, StorageClass>,
    /// Claim named by a volume's claimRef -> those volumes.
    volumes_by_claim_ref: HashMap<Key, BTreeSet<String>>,
    /// Volumes without a claimRef: candidates for any claim.
    unclaimed: BTreeSet<String>,
    /// Volume name -> claims naming it in `spec.volumeName`.
    claims_by_volume_name: HashMap<String, BTreeSet<Key>>,
    /// Claims without a `volumeName`: any volume may become their match.
    unbound: BTreeSet<Key>,
    dirty_claims: BTreeSet<Key>,
    dirty_volumes: BTreeSet<String>,
}

impl StorageCache {
    /// Everything the binder needs, listed afresh; every object is dirty.
    pub fn from_cluster(cluster: &Cluster) -> Option<StorageCache> {
        let (Ok(claims), Ok(volumes), Ok(classes)) = (
            cluster.list_typed::<PersistentVolumeClaim>(None, None),
            cluster.list_typed::<PersistentVolume>(None, None),
            cluster.list_typed::<StorageClass>(None, None),
        ) else {
            tracing::warn!("volume binder: cannot list claims, volumes or classes");
            return None;
        };
        let mut cache = StorageCache::default();
        for class in classes {
            cache
                .classes
                .insert(name_of(&class.metadata).to_string(), class);
        }
        for volume in volumes {
            cache.put_volume(volume);
        }
        for claim in claims {
            cache.put_claim(claim);
        }
        cache.mark_all_dirty();
        Some(cache)
    }

    fn mark_all_dirty(&mut self) {
        self.dirty_claims.extend(self.claims.keys().cloned());
        self.dirty_volumes.extend(self.volumes.keys().cloned());
    }

    fn has_dirty(&self) -> bool {
        !self.dirty_claims.is_empty() || !self.dirty_volumes.is_empty()
    }

    /// Take in one change; returns the uid of an object that went away.
    fn apply(&mut self, change: &Change) -> Option<String> {
        let deleted = change.event.event_type == WatchEventType::Deleted;
        let object = &change.event.object;
        let rt = change.rt;
        if rt == &PERSISTENT_VOLUME_CLAIMS {
            let claim = PersistentVolumeClaim::deserialize(object).ok()?;
            if deleted {
                self.remove_claim(&key_of(&claim.metadata));
                return claim.metadata.uid;
            }
            self.put_claim(claim);
        } else if rt == &PERSISTENT_VOLUMES {
            let volume = PersistentVolume::deserialize(object).ok()?;
            if deleted {
                self.remove_volume(name_of(&volume.metadata));
                return volume.metadata.uid;
            }
            self.put_volume(volume);
        } else if rt == &STORAGE_CLASSES {
            let class = StorageClass::deserialize(object).ok()?;
            let name = name_of(&class.metadata).to_string();
            if deleted {
                self.classes.remove(&name);
            } else {
                self.classes.insert(name, class);
            }
            // Every claim's and volume's decision may depend on a class.
            self.mark_all_dirty();
        }
        None
    }

    fn unindex_claim(&mut self, key: &Key) -> Option<PersistentVolumeClaim> {
        let old = self.claims.remove(key)?;
        let volume_name = claim_volume_name(&old);
        if volume_name.is_empty() {
            self.unbound.remove(key);
        } else if let Some(keys) = self.claims_by_volume_name.get_mut(volume_name) {
            keys.remove(key);
            if keys.is_empty() {
                self.claims_by_volume_name.remove(volume_name);
            }
        }
        Some(old)
    }

    /// A claim changed: it, and the volumes whose claimRef names it, are dirty.
    fn touch_claim(&mut self, key: &Key) {
        self.dirty_claims.insert(key.clone());
        if let Some(volumes) = self.volumes_by_claim_ref.get(key) {
            self.dirty_volumes.extend(volumes.iter().cloned());
        }
    }

    fn put_claim(&mut self, claim: PersistentVolumeClaim) {
        let key = key_of(&claim.metadata);
        self.unindex_claim(&key);
        let volume_name = claim_volume_name(&claim);
        if volume_name.is_empty() {
            self.unbound.insert(key.clone());
        } else {
            self.claims_by_volume_name
                .entry(volume_name.to_string())
                .or_default()
                .insert(key.clone());
        }
        self.claims.insert(key.clone(), claim);
        self.touch_claim(&key);
    }

    fn remove_claim(&mut self, key: &Key) {
        self.unindex_claim(key);
        self.touch_claim(key);
    }

    fn unindex_volume(&mut self, name: &str) -> Option<PersistentVolume> {
        let old = self.volumes.remove(name)?;
        match claim_ref_key(&old) {
            Some(key) => {
                if let Some(names) = self.volumes_by_claim_ref.get_mut(&key) {
                    names.remove(name);
                    if names.is_empty() {
                        self.volumes_by_claim_ref.remove(&key);
                    }
                }
            }
            None => {
                self.unclaimed.remove(name);
            }
        }
        Some(old)
    }

    /// A volume changed (`before` and `after` are its versions): it is dirty,
    /// and so are the claims it can matter to: those naming it, the one its
    /// claimRef names, and, while it has no claimRef, every unbound claim.
    fn touch_volume(
        &mut self,
        name: &str,
        before: Option<&PersistentVolume>,
        after: Option<&PersistentVolume>,
    ) {
        self.dirty_volumes.insert(name.to_string());
        if let Some(keys) = self.claims_by_volume_name.get(name) {
            self.dirty_claims.extend(keys.iter().cloned());
        }
        for version in [before, after].into_iter().flatten() {
            match claim_ref_key(version) {
                Some(key) => {
                    self.dirty_claims.insert(key);
                }
                None => self.dirty_claims.extend(self.unbound.iter().cloned()),
            }
        }
    }

    fn put_volume(&mut self, volume: PersistentVolume) {
        let name = name_of(&volume.metadata).to_string();
        let old = self.unindex_volume(&name);
        match claim_ref_key(&volume) {
            Some(key) => {
                self.volumes_by_claim_ref
                    .entry(key)
                    .or_default()
                    .insert(name.clone());
            }
            None => {
                self.unclaimed.insert(name.clone());
            }
        }
        self.touch_volume(&name, old.as_ref(), Some(&volume));
        self.volumes.insert(name, volume);
    }

    fn remove_volume(&mut self, name: &str) {
        let old = self.unindex_volume(name);
        self.touch_volume(name, old.as_ref(), None);
    }

    /// The volumes that can matter to a claim's decision, in name order: the
    /// one it names, those whose claimRef names it and those without a
    /// claimRef (`find_best_match` considers no others).
    fn volumes_for(&self, claim: &PersistentVolumeClaim) -> Vec<&PersistentVolume> {
        let mut names: BTreeSet<&str> = self.unclaimed.iter().map(String::as_str).collect();
        if let Some(prebound) = self.volumes_by_claim_ref.get(&key_of(&claim.metadata)) {
            names.extend(prebound.iter().map(String::as_str));
        }
        let named = claim_volume_name(claim);
        if !named.is_empty() {
            names.insert(named);
        }
        names
            .into_iter()
            .filter_map(|name| self.volumes.get(name))
            .collect()
    }
}

/// The binder and the sandbox's provisioners over a `StorageCache`.
struct Binder {
    cluster: Cluster,
    recorder: EventRecorder,
    data_dir: PathBuf,
    reported: RepeatFilter,
    provisioning_failures: RepeatFilter,
    cache: StorageCache,
}

impl Binder {
    /// Take in every queued change; false once the cluster is gone.
    fn drain(&mut self, changes: &mut broadcast::Receiver<Change>) -> bool {
        resync::drain(changes, |seen| match seen {
            Queued::Change(change) => self.take(change),
            Queued::Lost => self.relist(),
        })
    }

    fn take(&mut self, change: &Change) {
        if let Some(uid) = self.cache.apply(change) {
            self.reported.forget(&uid);
            self.provisioning_failures.forget(&uid);
        }
    }

    /// Changes were lost (or it is time to look at everything): start afresh.
    fn relist(&mut self) {
        if let Some(cache) = StorageCache::from_cluster(&self.cluster) {
            self.cache = cache;
        } else {
            self.cache.mark_all_dirty();
        }
    }

    /// One pass over the dirty volumes, then the dirty claims, then the
    /// claims the provisioners may act on; false once the cluster is gone.
    fn sync(&mut self, changes: &mut broadcast::Receiver<Change>) -> bool {
        let volumes = std::mem::take(&mut self.cache.dirty_volumes);
        for name in &volumes {
            let Some(volume) = self.cache.volumes.get(name) else {
                continue;
            };
            let claim = claim_ref_key(volume)
                .and_then(|key| self.cache.claims.get(&key))
                .map(|c| ClaimSummary {
                    uid: uid_of(&c.metadata),
                    volume_name: claim_volume_name(c),
                });
            let decision = plan_volume(volume, claim);
            apply_volume_decision(
                &self.cluster,
                &self.recorder,
                &mut self.reported,
                &self.data_dir,
                volume,
                &self.cache.classes,
                decision,
            );
        }

        // Volumes may have changed phase above; match against fresh state.
        if !self.drain(changes) {
            return false;
        }
        let claims = std::mem::take(&mut self.cache.dirty_claims);
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let mut retry = Vec::new();
        for key in &claims {
            let Some(claim) = self.cache.claims.get(key) else {
                continue;
            };
            if claim.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let view = StorageView {
                volumes: self.cache.volumes_for(claim),
                classes: &self.cache.classes,
            };
            let decision = plan_claim(claim, &view);
            if let ClaimDecision::Bind { volume } = &decision
                && !taken.insert(volume.clone())
            {
                // Another claim took it in this pass; the next pass looks again.
                retry.push(key.clone());
                continue;
            }
            let volume = match &decision {
                ClaimDecision::Bind { volume } => self.cache.volumes.get(volume),
                _ => None,
            };
            apply_claim_decision(
                &self.cluster,
                &self.recorder,
                &mut self.reported,
                claim,
                volume,
                decision,
            );
        }
        self.cache.dirty_claims.extend(retry);

        // The provisioners see the claims as the binder left them.
        if !self.drain(changes) {
            return false;
        }
        let mut candidates = claims;
        candidates.extend(self.cache.dirty_claims.iter().cloned());
        provisioners::sync_claims(
            &self.cluster,
            &self.data_dir,
            &mut self.provisioning_failures,
            candidates
                .iter()
                .filter_map(|key| self.cache.claims.get(key)),
            &self.cache.classes,
        );
        true
    }

    /// After a resync, forget what was reported about objects that are gone.
    fn prune_reports(&mut self) {
        let cache = &self.cache;
        let alive: BTreeSet<&str> = cache
            .claims
            .values()
            .map(|c| uid_of(&c.metadata))
            .chain(cache.volumes.values().map(|v| uid_of(&v.metadata)))
            .collect();
        self.reported.retain(|uid| alive.contains(uid));
        self.provisioning_failures.retain(|uid| alive.contains(uid));
    }
}

fn report<K>(
    recorder: &EventRecorder,
    state: &mut RepeatFilter,
    target: &K,
    uid: &str,
    event: &PlannedEvent,
) where
    K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    let what = format!("{}: {}", event.reason, event.message);
    if state.should_report(uid, &what, EVENT_REPEAT) {
        let kind = if event.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        recorder.record(target, kind, event.reason, &event.message);
    }
}

/// `volume` is the volume a Bind decision names, if it exists.
fn apply_claim_decision(
    cluster: &Cluster,
    recorder: &EventRecorder,
    state: &mut RepeatFilter,
    claim: &PersistentVolumeClaim,
    volume: Option<&PersistentVolume>,
    decision: ClaimDecision,
) {
    let uid = uid_of(&claim.metadata).to_string();
    let ns = claim.metadata.namespace.as_deref();
    match decision {
        ClaimDecision::Bound { .. } => {}
        ClaimDecision::Bind { .. } => {
            let Some(volume) = volume else {
                return;
            };
            if let Err(err) = bind(cluster, claim, volume) {
                tracing::debug!(claim = %claim_key(claim), %err, "bind did not finish; retrying on the next sync");
            }
        }
        ClaimDecision::Pending(event) => {
            if let Some(event) = event {
                report(recorder, state, claim, &uid, &event);
            }
            ensure_claim_phase(cluster, claim, "Pending");
        }
        ClaimDecision::RequestProvisioning { provisioner, event } => {
            let annotations = claim.metadata.annotations.clone().unwrap_or_default();
            if annotations.get(STORAGE_PROVISIONER) != Some(&provisioner)
                || annotations.get(BETA_STORAGE_PROVISIONER) != Some(&provisioner)
            {
                let mut updated = claim.clone();
                let map = updated
                    .metadata
                    .annotations
                    .get_or_insert_with(Default::default);
                map.insert(STORAGE_PROVISIONER.into(), provisioner.clone());
                map.insert(BETA_STORAGE_PROVISIONER.into(), provisioner.clone());
                if let Err(err) = cluster.update_typed(ns, &updated, Subresource::Main) {
                    tracing::debug!(claim = %claim_key(claim), %err, "cannot annotate the claim for its provisioner");
                    return;
                }
            }
            report(recorder, state, claim, &uid, &event);
        }
        ClaimDecision::Lost(event) => {
            report(recorder, state, claim, &uid, &event);
            ensure_claim_phase(cluster, claim, "Lost");
        }
    }
}

fn ensure_claim_phase(cluster: &Cluster, claim: &PersistentVolumeClaim, phase: &str) {
    if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
        return;
    }
    let mut updated = claim.clone();
    updated.status.get_or_insert_with(Default::default).phase = Some(phase.into());
    if let Err(err) = cluster.update_typed(
        claim.metadata.namespace.as_deref(),
        &updated,
        Subresource::Status,
    ) {
        tracing::debug!(claim = %claim_key(claim), %err, "cannot set the claim phase");
    }
}

/// The four writes of a bind, each skipped when already done, in upstream's order.
fn bind(
    cluster: &Cluster,
    claim: &PersistentVolumeClaim,
    volume: &PersistentVolume,
) -> Result<(), crate::sandbox::api::error::ApiError> {
    let mut volume = volume.clone();
    if let Some(updated) = volume_with_claim_ref(&volume, claim) {
        volume = cluster.update_typed(None, &updated, Subresource::Main)?;
    }
    if let Some(updated) = volume_with_phase(&volume, "Bound", None) {
        volume = cluster.update_typed(None, &updated, Subresource::Status)?;
    }
    let ns = claim.metadata.namespace.as_deref();
    let mut claim = claim.clone();
    if let Some(updated) = claim_with_volume(&claim, name_of(&volume.metadata)) {
        claim = cluster.update_typed(ns, &updated, Subresource::Main)?;
    }
    if let Some(updated) = claim_status_bound(&claim, &volume) {
        cluster.update_typed(ns, &updated, Subresource::Status)?;
    }
    Ok(())
}

fn apply_volume_decision(
    cluster: &Cluster,
    recorder: &EventRecorder,
    state: &mut RepeatFilter,
    data_dir: &std::path::Path,
    volume: &PersistentVolume,
    classes: &BTreeMap<String, StorageClass>,
    decision: VolumeDecision,
) {
    let name = name_of(&volume.metadata).to_string();
    let set_phase = |volume: &PersistentVolume,
                     phase: &str,
                     message: Option<&str>|
     -> Option<PersistentVolume> {
        let updated = volume_with_phase(volume, phase, message)?;
        match cluster.update_typed(None, &updated, Subresource::Status) {
            Ok(v) => Some(v),
            Err(err) => {
                tracing::debug!(volume = %name, %err, "cannot set the volume phase");
                None
            }
        }
    };
    match decision {
        VolumeDecision::Wait => {}
        VolumeDecision::Phase(phase) => {
            set_phase(volume, phase, None);
        }
        VolumeDecision::Unbind => {
            let mut updated = volume.clone();
            if let Some(spec) = updated.spec.as_mut() {
                spec.claim_ref = None;
            }
            if let Some(annotations) = updated.metadata.annotations.as_mut() {
                annotations.remove(BOUND_BY_CONTROLLER);
            }
            match cluster.update_typed(None, &updated, Subresource::Main) {
                Ok(v) => {
                    set_phase(&v, "Available", None);
                }
                Err(err) => tracing::debug!(volume = %name, %err, "cannot unbind the volume"),
            }
        }
        VolumeDecision::Release(reclaim) => {
            let phase = volume_phase(volume);
            let volume = if phase == "Released" || phase == "Failed" {
                volume.clone()
            } else {
                match set_phase(volume, "Released", None) {
                    Some(v) => v,
                    None => return,
                }
            };
            if volume_phase(&volume) == "Failed" {
                return;
            }
            match reclaim {
                Reclaim::Keep | Reclaim::LeaveToExternal => {}
                Reclaim::Fail(event) => {
                    report(recorder, state, &volume, uid_of(&volume.metadata), &event);
                    set_phase(&volume, "Failed", Some(&event.message));
                }
                Reclaim::Delete(provisioner) => {
                    let class = classes.get(&volume_class(&volume));
                    provisioners::delete_volume(cluster, data_dir, provisioner, &volume, class);
                }
                Reclaim::Recycle => {
                    if let Some(dir) = crate::sandbox::node::pv_backing_dir(data_dir, &volume) {
                        provisioners::scrub_dir(&dir);
                    }
                    let mut updated = volume.clone();
                    if let Some(spec) = updated.spec.as_mut() {
                        spec.claim_ref = None;
                    }
                    if let Ok(v) = cluster.update_typed(None, &updated, Subresource::Main) {
                        report(
                            recorder,
                            state,
                            &v,
                            uid_of(&v.metadata),
                            &PlannedEvent::normal("VolumeRecycled", "Volume recycled"),
                        );
                        set_phase(&v, "Available", None);
                    }
                }
            }
        }
    }
}

/// How often the binder looks at everything even without changes (upstream
/// resyncs every 15s; faster here, as retries after a conflict rely on it).
const RESYNC: std::time::Duration = std::time::Duration::from_secs(5);

fn is_storage_change(change: &Change) -> bool {
    let rt = change.rt;
    rt == &PERSISTENT_VOLUME_CLAIMS || rt == &PERSISTENT_VOLUMES || rt == &STORAGE_CLASSES
}

/// The binder and the sandbox's provisioners, until the cluster goes away.
pub async fn run(cluster: Cluster, data_dir: PathBuf) {
    let mut changes = cluster.subscribe();
    let mut binder = Binder {
        recorder: EventRecorder::new(cluster.clone(), COMPONENT),
        cache: StorageCache::default(),
        cluster,
        data_dir,
        reported: RepeatFilter::default(),
        provisioning_failures: RepeatFilter::default(),
    };
    binder.relist();
    loop {
        if !binder.drain(&mut changes) {
            return;
        }
        if binder.cache.has_dirty() {
            if !binder.sync(&mut changes) {
                return;
            }
            // Let the API and the other controllers run between passes.
            tokio::task::yield_now().await;
            continue;
        }
        // Idle: wait for a storage change, or resync after a quiet period.
        let deadline = tokio::time::Instant::now() + RESYNC;
        loop {
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Err(_elapsed) => {
                    // The cache is current: looking at everything again is enough.
                    binder.cache.mark_all_dirty();
                    binder.prune_reports();
                    break;
                }
                Ok(Ok(change)) if is_storage_change(&change) => {
                    binder.take(&change);
                    break;
                }
                Ok(Ok(_)) => {}
                Ok(Err(RecvError::Lagged(_))) => {
                    binder.relist();
                    break;
                }
                Ok(Err(RecvError::Closed)) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
