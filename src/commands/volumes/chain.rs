//! The pure core of `kubectl sts volumes`: one `VolumeChain` per (ordinal,
//! volumeClaimTemplate) linking pod -> claim -> volume -> backend, and the
//! problems found along it. No I/O: everything comes from an `Inventory`.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube_quantity::ParsedQuantity;

use crate::inventory::{Inventory, Listing, Lookup, set_pods_among};
use crate::sts;

/// Annotation older clusters and manifests use instead of `storageClassName`.
const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";
/// The provisioner name of classes that only bind pre-created volumes.
const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

/// One link of storage: what pod `ordinal` of a set mounts for one template.
#[derive(Debug, Clone)]
pub struct VolumeChain<'a> {
    pub set: &'a StatefulSet,
    pub ordinal: i32,
    /// The volumeClaimTemplate's name (the pod volume the controller wires).
    pub template: String,
    /// `resources.requests.storage` of the template.
    pub template_request: Option<Quantity>,
    pub pod: Option<&'a Pod>,
    /// `<template>-<set>-<ordinal>`, whether or not it exists.
    pub claim_name: String,
    pub claim: Option<&'a PersistentVolumeClaim>,
    pub volume: VolumeLink<'a>,
    /// The claim's class (the template's when there is no claim).
    pub storage_class_name: Option<String>,
    pub storage_class: Lookup<&'a StorageClass>,
    /// The claim exists for an ordinal the set no longer has, and no pod uses it.
    pub orphan: bool,
    pub problems: Vec<Problem>,
}

/// How a chain reaches its PersistentVolume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VolumeLink<'a> {
    /// No claim names a volume and no volume names the claim.
    Unbound,
    Found(&'a PersistentVolume),
    /// The claim names a volume that does not exist.
    Missing,
    /// PersistentVolumes could not be listed.
    Forbidden,
}

impl<'a> VolumeLink<'a> {
    pub fn volume(self) -> Option<&'a PersistentVolume> {
        match self {
            VolumeLink::Found(volume) => Some(volume),
            _ => None,
        }
    }
}

impl<'a> VolumeChain<'a> {
    pub fn namespace(&self) -> &'a str {
        sts::namespace(self.set)
    }

    pub fn set_name(&self) -> &'a str {
        sts::name(self.set)
    }

    pub fn pod_name(&self) -> String {
        sts::pod_name(self.set_name(), self.ordinal)
    }

    /// The volume's name: the bound volume's, else the one the claim names.
    pub fn volume_name(&self) -> Option<String> {
        self.volume
            .volume()
            .and_then(|v| v.metadata.name.clone())
            .or_else(|| self.claim.and_then(claim_volume_name).map(str::to_string))
    }

    /// The claim's actual capacity (from its status once bound).
    pub fn capacity(&self) -> Option<&'a Quantity> {
        self.claim
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
    }

    /// The claim's request, else the template's.
    pub fn requested(&self) -> Option<Quantity> {
        self.claim
            .and_then(claim_request)
            .cloned()
            .or_else(|| self.template_request.clone())
    }
}

/// What kind of problem, for tags, severity and grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    ClaimMissing,
    Pending,
    ClaimLost,
    VolumeMissing,
    VolumeReleased,
    VolumeFailed,
    NotMountedFromClaim,
    Orphan,
    ClaimUnused,
    CapacityDiffers,
    ReclaimDelete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Data is at risk or a pod cannot run.
    Error,
    /// Worth knowing; nothing is broken yet.
    Warning,
}

impl ProblemKind {
    /// Short tag for the table's PROBLEMS column.
    pub fn tag(self) -> &'static str {
        match self {
            ProblemKind::ClaimMissing => "no-claim",
            ProblemKind::Pending => "pending",
            ProblemKind::ClaimLost => "lost",
            ProblemKind::VolumeMissing => "no-volume",
            ProblemKind::VolumeReleased => "released",
            ProblemKind::VolumeFailed => "volume-failed",
            ProblemKind::NotMountedFromClaim => "not-from-claim",
            ProblemKind::Orphan => "orphan",
            ProblemKind::ClaimUnused => "unmounted",
            ProblemKind::CapacityDiffers => "capacity",
            ProblemKind::ReclaimDelete => "reclaim-delete",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            ProblemKind::Orphan
            | ProblemKind::ClaimUnused
            | ProblemKind::CapacityDiffers
            | ProblemKind::ReclaimDelete => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Something wrong with one chain, said in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// What is wrong, naming the objects.
    pub message: String,
    /// What to do about it, when there is one clear step.
    pub fix: Option<String>,
}

impl Problem {
    fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            message: message.into(),
            fix: None,
        }
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The problem as one sentence, fix included.
    pub fn sentence(&self) -> String {
        match &self.fix {
            Some(fix) => format!("{}; {fix}", self.message),
            None => self.message.clone(),
        }
    }
}

/// What a PersistentVolume is backed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Nfs {
        server: String,
        path: String,
    },
    HostPath {
        path: String,
    },
    Local {
        path: String,
    },
    Csi {
        driver: String,
        volume_handle: String,
    },
    /// Any other in-tree source, by its field name, with its identifier when it has one.
    Other {
        type_name: String,
        id: Option<String>,
    },
}

impl Backend {
    pub fn type_name(&self) -> &str {
        match self {
            Backend::Nfs { .. } => "nfs",
            Backend::HostPath { .. } => "hostPath",
            Backend::Local { .. } => "local",
            Backend::Csi { .. } => "csi",
            Backend::Other { type_name, .. } => type_name,
        }
    }

    /// The fields besides the type, in a stable order, named as in the API.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::Nfs { server, path } => {
                vec![("server", server.clone()), ("path", path.clone())]
            }
            Backend::HostPath { path } | Backend::Local { path } => vec![("path", path.clone())],
            Backend::Csi {
                driver,
                volume_handle,
            } => vec![
                ("driver", driver.clone()),
                ("volumeHandle", volume_handle.clone()),
            ],
            Backend::Other { id, .. } => id.iter().map(|id| ("id", id.clone())).collect(),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Nfs { server, path } => write!(f, "nfs {server}:{path}"),
            Backend::HostPath { path } => write!(f, "hostPath {path}"),
            Backend::Local { path } => write!(f, "local {path}"),
            Backend::Csi {
                driver,
                volume_handle,
            } => write!(f, "csi {driver} {volume_handle}"),
            Backend::Other {
                type_name,
                id: Some(id),
            } => write!(f, "{type_name} {id}"),
            Backend::Other {
                type_name,
                id: None,
            } => f.write_str(type_name),
        }
    }
}

/// The source of a PersistentVolume; None when it declares none.
pub fn backend(volume: &PersistentVolume) -> Option<Backend> {
    let spec = volume.spec.as_ref()?;
    if let Some(nfs) = &spec.nfs {
        return Some(Backend::Nfs {
            server: nfs.server.clone(),
            path: nfs.path.clone(),
        });
    }
    if let Some(host_path) = &spec.host_path {
        return Some(Backend::HostPath {
            path: host_path.path.clone(),
        });
    }
    if let Some(local) = &spec.local {
        return Some(Backend::Local {
            path: local.path.clone(),
        });
    }
    if let Some(csi) = &spec.csi {
        return Some(Backend::Csi {
            driver: csi.driver.clone(),
            volume_handle: csi.volume_handle.clone(),
        });
    }
    let other = |type_name: &str, id: Option<String>| {
        Some(Backend::Other {
            type_name: type_name.to_string(),
            id,
        })
    };
    if let Some(s) = &spec.aws_elastic_block_store {
        return other("awsElasticBlockStore", Some(s.volume_id.clone()));
    }
    if let Some(s) = &spec.gce_persistent_disk {
        return other("gcePersistentDisk", Some(s.pd_name.clone()));
    }
    if let Some(s) = &spec.azure_disk {
        return other("azureDisk", Some(s.disk_name.clone()));
    }
    if let Some(s) = &spec.azure_file {
        return other("azureFile", Some(s.share_name.clone()));
    }
    if let Some(s) = &spec.cinder {
        return other("cinder", Some(s.volume_id.clone()));
    }
    if let Some(s) = &spec.vsphere_volume {
        return other("vsphereVolume", Some(s.volume_path.clone()));
    }
    if let Some(s) = &spec.rbd {
        return other("rbd", Some(s.image.clone()));
    }
    if let Some(s) = &spec.iscsi {
        return other("iscsi", Some(format!("{} {}", s.target_portal, s.iqn)));
    }
    if let Some(s) = &spec.flex_volume {
        return other("flexVolume", Some(s.driver.clone()));
    }
    if let Some(s) = &spec.portworx_volume {
        return other("portworxVolume", Some(s.volume_id.clone()));
    }
    let unnamed = [
        ("cephfs", spec.cephfs.is_some()),
        ("fc", spec.fc.is_some()),
        ("flocker", spec.flocker.is_some()),
        ("glusterfs", spec.glusterfs.is_some()),
        (
            "photonPersistentDisk",
            spec.photon_persistent_disk.is_some(),
        ),
        ("quobyte", spec.quobyte.is_some()),
        ("scaleIO", spec.scale_io.is_some()),
        ("storageos", spec.storageos.is_some()),
    ];
    unnamed
        .iter()
        .find(|(_, present)| *present)
        .and_then(|(type_name, _)| other(type_name, None))
}

/// The nodes a volume is reachable from, as `key=value` terms (`|` between
/// alternatives); None when it has no node affinity.
pub fn node_affinity(volume: &PersistentVolume) -> Option<String> {
    let terms = &volume
        .spec
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?
        .node_selector_terms;
    let rendered: Vec<String> = terms
        .iter()
        .map(|term| {
            term.match_expressions
                .iter()
                .flatten()
                .chain(term.match_fields.iter().flatten())
                .map(|req| {
                    let values = req.values.clone().unwrap_or_default();
                    match (req.operator.as_str(), values.as_slice()) {
                        ("In", [one]) => format!("{}={one}", req.key),
                        ("In", _) => format!("{} in ({})", req.key, values.join(",")),
                        ("NotIn", _) => format!("{} notin ({})", req.key, values.join(",")),
                        ("Exists", _) => req.key.clone(),
                        ("DoesNotExist", _) => format!("!{}", req.key),
                        (op, _) => format!("{} {op} {}", req.key, values.join(",")),
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|term| !term.is_empty())
        .collect();
    (!rendered.is_empty()).then(|| rendered.join(" | "))
}

/// kubectl's short names for access modes.
pub fn short_access_mode(mode: &str) -> &str {
    match mode {
        "ReadWriteOnce" => "RWO",
        "ReadOnlyMany" => "ROX",
        "ReadWriteMany" => "RWX",
        "ReadWriteOncePod" => "RWOP",
        other => other,
    }
}

pub fn claim_phase(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim.status.as_ref().and_then(|s| s.phase.as_deref())
}

pub fn volume_phase(volume: &PersistentVolume) -> Option<&str> {
    volume.status.as_ref().and_then(|s| s.phase.as_deref())
}

pub fn reclaim_policy(volume: &PersistentVolume) -> Option<&str> {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
}

pub fn volume_capacity(volume: &PersistentVolume) -> Option<&Quantity> {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
}

fn claim_volume_name(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .filter(|name| !name.is_empty())
}

fn claim_request(claim: &PersistentVolumeClaim) -> Option<&Quantity> {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
}

/// The class a claim asks for: the beta annotation first, as upstream's
/// `GetPersistentVolumeClaimClass` reads it, then `storageClassName`.
pub fn claim_class(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_CLASS_ANNOTATION))
        .map(String::as_str)
        .or_else(|| {
            claim
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
        })
        .filter(|name| !name.is_empty())
}

/// Equal as amounts (`1Gi` == `1073741824`); text comparison when unparsable.
pub fn same_quantity(a: &Quantity, b: &Quantity) -> bool {
    match (ParsedQuantity::try_from(a), ParsedQuantity::try_from(b)) {
        // Whole bytes compare exactly across binary and decimal suffixes.
        (Ok(a), Ok(b)) => match (a.to_bytes_i128(), b.to_bytes_i128()) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
        _ => a.0 == b.0,
    }
}

/// The chains of every StatefulSet in the inventory, in set order, then by
/// ordinal, then by template order.
pub fn build_chains(inventory: &Inventory) -> Vec<VolumeChain<'_>> {
    let index = Index::new(inventory);
    inventory
        .statefulsets
        .iter()
        .flat_map(|set| chains_of_set(&index, set))
        .collect()
}

/// The inventory's lookups by key, built once: the same answers as
/// `Inventory::claim`, `volume`, `volume_claimed_by` and `pods_of` (first
/// match in list order), without scanning every list for every row.
struct Index<'a> {
    inventory: &'a Inventory,
    /// Pods and claims by namespace, in list order.
    pods_in: HashMap<&'a str, Vec<&'a Pod>>,
    claims_in: HashMap<&'a str, Vec<&'a PersistentVolumeClaim>>,
    claims: HashMap<(&'a str, &'a str), &'a PersistentVolumeClaim>,
    volumes: HashMap<&'a str, &'a PersistentVolume>,
    /// (namespace, claim) named by a volume's claimRef.
    volumes_by_claim: HashMap<(&'a str, &'a str), &'a PersistentVolume>,
}

impl<'a> Index<'a> {
    fn new(inventory: &'a Inventory) -> Self {
        let mut index = Index {
            inventory,
            pods_in: HashMap::new(),
            claims_in: HashMap::new(),
            claims: HashMap::new(),
            volumes: HashMap::new(),
            volumes_by_claim: HashMap::new(),
        };
        for pod in &inventory.pods {
            let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
            index.pods_in.entry(namespace).or_default().push(pod);
        }
        for claim in &inventory.claims {
            let namespace = claim.metadata.namespace.as_deref().unwrap_or("default");
            index.claims_in.entry(namespace).or_default().push(claim);
            if let Some(name) = claim.metadata.name.as_deref() {
                index.claims.entry((namespace, name)).or_insert(claim);
            }
        }
        for volume in inventory.volumes.items() {
            if let Some(name) = volume.metadata.name.as_deref() {
                index.volumes.entry(name).or_insert(volume);
            }
            let claim_ref = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
            if let Some((Some(namespace), Some(name))) =
                claim_ref.map(|r| (r.namespace.as_deref(), r.name.as_deref()))
            {
                index
                    .volumes_by_claim
                    .entry((namespace, name))
                    .or_insert(volume);
            }
        }
        index
    }

    fn claim(&self, namespace: &str, name: &str) -> Option<&'a PersistentVolumeClaim> {
        self.claims.get(&(namespace, name)).copied()
    }

    fn claims_in(&self, namespace: &str) -> &[&'a PersistentVolumeClaim] {
        self.claims_in.get(namespace).map_or(&[], Vec::as_slice)
    }

    fn pods_of(&self, set: &'a StatefulSet) -> Vec<(i32, &'a Pod)> {
        let pods = self
            .pods_in
            .get(sts::namespace(set))
            .map_or(&[][..], Vec::as_slice);
        set_pods_among(set, pods.iter().copied()).collect()
    }

    fn lookup(&self, found: Option<&'a PersistentVolume>) -> Lookup<&'a PersistentVolume> {
        match (&self.inventory.volumes, found) {
            (Listing::Forbidden, _) => Lookup::Forbidden,
            (Listing::Listed(_), Some(volume)) => Lookup::Found(volume),
            (Listing::Listed(_), None) => Lookup::Missing,
        }
    }

    fn volume(&self, name: &str) -> Lookup<&'a PersistentVolume> {
        self.lookup(self.volumes.get(name).copied())
    }

    fn volume_claimed_by(&self, namespace: &str, claim: &str) -> Lookup<&'a PersistentVolume> {
        self.lookup(self.volumes_by_claim.get(&(namespace, claim)).copied())
    }
}

/// One set's chains: every ordinal in range, plus out-of-range ordinals that
/// still have a pod or a claim.
fn chains_of_set<'a>(index: &Index<'a>, set: &'a StatefulSet) -> Vec<VolumeChain<'a>> {
    let inventory = index.inventory;
    let set_name = sts::name(set);
    let namespace = sts::namespace(set);
    let templates = set
        .spec
        .volume_claim_templates
        .as_deref()
        .unwrap_or_default();
    let in_range = sts::ordinals(set);
    let pods = index.pods_of(set);

    let mut ordinals: BTreeSet<i32> = in_range.clone().collect();
    ordinals.extend(pods.iter().map(|(ordinal, _)| *ordinal));
    for claim in index
        .claims_in(namespace)
        .iter()
        .filter(|claim| !owned_by_another_set(claim, set))
    {
        let Some(name) = claim.metadata.name.as_deref() else {
            continue;
        };
        ordinals.extend(templates.iter().filter_map(|template| {
            sts::ordinal_of_claim(template.metadata.name.as_deref()?, set_name, name)
        }));
    }

    let mut chains = Vec::new();
    for ordinal in ordinals {
        let pod = pods
            .iter()
            .find(|(pod_ordinal, _)| *pod_ordinal == ordinal)
            .map(|(_, pod)| *pod);
        for template in templates {
            let Some(template_name) = template.metadata.name.as_deref() else {
                continue;
            };
            let claim_name = sts::claim_name(template_name, set_name, ordinal);
            let claim = index.claim(namespace, &claim_name);
            let wanted = in_range.contains(&ordinal) || pod.is_some() || claim.is_some();
            if !wanted {
                continue;
            }
            let mut chain = link(index, set, template, ordinal, pod, claim_name, claim);
            chain.problems = problems(inventory, &chain);
            chains.push(chain);
        }
    }
    chains
}

/// A claim whose controller or owner is a different StatefulSet is not ours,
/// even when its name parses as one of our ordinals.
fn owned_by_another_set(claim: &PersistentVolumeClaim, set: &StatefulSet) -> bool {
    claim
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.kind == "StatefulSet" && Some(&owner.uid) != set.metadata.uid.as_ref())
}

fn link<'a>(
    index: &Index<'a>,
    set: &'a StatefulSet,
    template: &'a PersistentVolumeClaim,
    ordinal: i32,
    pod: Option<&'a Pod>,
    claim_name: String,
    claim: Option<&'a PersistentVolumeClaim>,
) -> VolumeChain<'a> {
    let namespace = sts::namespace(set);
    let inventory = index.inventory;
    let volume = match claim.and_then(claim_volume_name) {
        Some(name) => match index.volume(name) {
            Lookup::Found(volume) => VolumeLink::Found(volume),
            Lookup::Missing => VolumeLink::Missing,
            Lookup::Forbidden => VolumeLink::Forbidden,
        },
        // A volume can still name the claim: pre-bound, or Released after an
        // earlier claim of this name was deleted.
        None => match index.volume_claimed_by(namespace, &claim_name) {
            Lookup::Found(volume) => VolumeLink::Found(volume),
            Lookup::Missing => VolumeLink::Unbound,
            Lookup::Forbidden => VolumeLink::Forbidden,
        },
    };
    let storage_class_name = claim
        .map(claim_class)
        .unwrap_or_else(|| claim_class(template))
        .map(str::to_string);
    let storage_class = match &storage_class_name {
        Some(name) => inventory.storage_class(name),
        None => Lookup::Missing,
    };
    let orphan = !sts::ordinals(set).contains(&ordinal) && claim.is_some() && pod.is_none();
    VolumeChain {
        set,
        ordinal,
        template: template.metadata.name.clone().unwrap_or_default(),
        template_request: claim_request(template).cloned(),
        pod,
        claim_name,
        claim,
        volume,
        storage_class_name,
        storage_class,
        orphan,
        problems: Vec::new(),
    }
}

fn problems(inventory: &Inventory, chain: &VolumeChain<'_>) -> Vec<Problem> {
    let mut found = Vec::new();
    let namespace = chain.namespace();
    let claim_name = &chain.claim_name;
    match chain.claim {
        None if !chain.orphan && sts::ordinals(chain.set).contains(&chain.ordinal) => {
            found.push(
                Problem::new(
                    ProblemKind::ClaimMissing,
                    format!("claim {claim_name} does not exist, so pod {} cannot start", chain.pod_name()),
                )
                .with_fix(format!(
                    "the StatefulSet controller creates it: look for FailedCreate in `kubectl describe sts {} -n {namespace}`",
                    chain.set_name()
                )),
            );
        }
        None => {}
        Some(claim) => match claim_phase(claim) {
            Some("Pending") | None => found.push(Problem::new(
                ProblemKind::Pending,
                format!("claim {claim_name} is Pending: {}", pending_reason(inventory, chain, claim)),
            )),
            Some("Lost") => found.push(
                Problem::new(
                    ProblemKind::ClaimLost,
                    format!(
                        "claim {claim_name} is Lost: its volume {} is gone, and the data with it unless a backup exists",
                        chain.volume_name().unwrap_or_else(|| "<none>".to_string())
                    ),
                )
                .with_fix(format!(
                    "delete the claim (kubectl delete pvc {claim_name} -n {namespace}) and the pod so the controller provisions a new, empty one"
                )),
            ),
            _ => {}
        },
    }

    if chain.volume == VolumeLink::Missing && chain.claim.and_then(claim_phase) != Some("Lost") {
        found.push(Problem::new(
            ProblemKind::VolumeMissing,
            format!(
                "claim {claim_name} names volume {} which does not exist",
                chain.volume_name().unwrap_or_default()
            ),
        ));
    }
    if let Some(volume) = chain.volume.volume() {
        let volume_name = volume.metadata.name.as_deref().unwrap_or_default();
        match volume_phase(volume) {
            Some("Released") => found.push(
                Problem::new(
                    ProblemKind::VolumeReleased,
                    format!(
                        "volume {volume_name} is Released: the claim {claim_name} it was bound to was deleted; its data is still there"
                    ),
                )
                .with_fix(format!(
                    "to bind it again, clear its claimRef: kubectl patch pv {volume_name} --type json -p '[{{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}}]'"
                )),
            ),
            Some("Failed") => {
                let reason = volume
                    .status
                    .as_ref()
                    .and_then(|s| s.message.as_deref())
                    .unwrap_or("no message");
                found.push(Problem::new(
                    ProblemKind::VolumeFailed,
                    format!("volume {volume_name} Failed: {reason}"),
                ));
            }
            _ => {}
        }
        if reclaim_policy(volume) == Some("Delete") {
            found.push(
                Problem::new(
                    ProblemKind::ReclaimDelete,
                    format!(
                        "volume {volume_name} has reclaim policy Delete: deleting claim {claim_name} deletes the data"
                    ),
                )
                .with_fix(format!(
                    "to keep it: kubectl patch pv {volume_name} -p '{{\"spec\":{{\"persistentVolumeReclaimPolicy\":\"Retain\"}}}}'"
                )),
            );
        }
    }

    if let (Some(claim), Some(capacity), Some(request)) = (
        chain.claim,
        chain.capacity(),
        chain.template_request.as_ref(),
    ) && claim_phase(claim) == Some("Bound")
        && !same_quantity(capacity, request)
    {
        found.push(Problem::new(
            ProblemKind::CapacityDiffers,
            format!(
                "claim {claim_name} has {} where the template asks for {}",
                capacity.0, request.0
            ),
        ));
    }

    if let Some(pod) = chain.pod {
        found.extend(mount_problem(pod, &chain.template, claim_name));
    }

    if chain.orphan {
        let set = chain.set_name();
        let when_scaled = chain
            .set
            .spec
            .persistent_volume_claim_retention_policy
            .as_ref()
            .and_then(|p| p.when_scaled.as_deref())
            .unwrap_or("Retain");
        let why = if when_scaled == "Delete" {
            "whenScaled=Delete should have removed it: check its ownerReferences and the garbage collector".to_string()
        } else {
            format!("the retention policy (whenScaled={when_scaled}) kept it")
        };
        found.push(
            Problem::new(
                ProblemKind::Orphan,
                format!(
                    "orphan claim {claim_name}: ordinal {} is beyond {set}'s {} replicas and {why}; scaling up reuses it",
                    chain.ordinal,
                    sts::desired_replicas(chain.set)
                ),
            )
            .with_fix(format!(
                "to delete it: kubectl delete pvc {claim_name} -n {namespace}"
            )),
        );
    }
    found
}

/// Why a claim is Pending: the latest event about it, else what the inventory
/// shows (class missing, no provisioner, waiting for a consumer).
fn pending_reason(
    inventory: &Inventory,
    chain: &VolumeChain<'_>,
    claim: &PersistentVolumeClaim,
) -> String {
    if let Some(event) = inventory.latest_claim_event(claim) {
        let reason = event.reason.as_deref().unwrap_or("Event");
        let message = event.message.as_deref().unwrap_or_default().trim();
        return format!("{reason}: {message}");
    }
    let Some(class_name) = &chain.storage_class_name else {
        return "no persistent volumes available for this claim and no storage class is set"
            .to_string();
    };
    match chain.storage_class {
        Lookup::Missing => format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
        Lookup::Forbidden => "no event explains it yet (storage classes and volumes cannot be listed with these credentials)".to_string(),
        Lookup::Found(class) if class.provisioner == NO_PROVISIONER => format!(
            "class {class_name} has no provisioner and no available volume of class {class_name} fits (capacity {}, access modes {})",
            chain.requested().map(|q| q.0).unwrap_or_else(|| "?".to_string()),
            access_modes_text(claim.spec.as_ref().and_then(|s| s.access_modes.as_deref()).unwrap_or_default()),
        ),
        Lookup::Found(class)
            if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer") =>
        {
            "waiting for first consumer to be created before binding".to_string()
        }
        Lookup::Found(class) => format!(
            "no event yet: waiting for provisioner {}; check that it is running",
            class.provisioner
        ),
    }
}

/// Access modes in kubectl's short form, comma-separated.
pub fn access_modes_text(modes: &[String]) -> String {
    modes
        .iter()
        .map(|m| short_access_mode(m))
        .collect::<Vec<_>>()
        .join(",")
}

/// A pod whose volume of the template's name is not the claim does not keep
/// its data; a claim no container mounts holds none.
fn mount_problem(pod: &Pod, template: &str, claim_name: &str) -> Option<Problem> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let spec = pod.spec.as_ref()?;
    let volume = spec.volumes.iter().flatten().find(|v| v.name == template);
    let Some(volume) = volume else {
        return Some(Problem::new(
            ProblemKind::NotMountedFromClaim,
            format!(
                "pod {pod_name} has no volume {template}: claim {claim_name} is not attached to it"
            ),
        ));
    };
    match &volume.persistent_volume_claim {
        Some(source) if source.claim_name == claim_name => {}
        Some(source) => {
            return Some(Problem::new(
                ProblemKind::NotMountedFromClaim,
                format!(
                    "pod {pod_name} mounts {template} from claim {}, not {claim_name}",
                    source.claim_name
                ),
            ));
        }
        None => {
            return Some(
                Problem::new(
                    ProblemKind::NotMountedFromClaim,
                    format!(
                        "pod {pod_name} mounts {template} from {}, not from claim {claim_name}: its data will not survive the pod",
                        volume_source_name(volume)
                    ),
                )
                .with_fix(format!(
                    "delete pod {pod_name} so the StatefulSet controller recreates it with the claim"
                )),
            );
        }
    }
    let mounted = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.volume_mounts.iter().flatten())
        .any(|m| m.name == template);
    (!mounted).then(|| {
        Problem::new(
            ProblemKind::ClaimUnused,
            format!(
                "no container of pod {pod_name} mounts volume {template}: claim {claim_name} holds none of its data"
            ),
        )
    })
}

/// The field name of a pod volume's source (`emptyDir`, `hostPath`, ...).
fn volume_source_name(volume: &k8s_openapi::api::core::v1::Volume) -> String {
    serde_json::to_value(volume)
        .ok()
        .and_then(|value| {
            value
                .as_object()?
                .keys()
                .find(|key| key.as_str() != "name")
                .cloned()
        })
        .unwrap_or_else(|| "an unknown source".to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::inventory::Listing;

    pub(crate) const BOUND_NFS: &str =
        include_str!("../../../tests/fixtures/volumes/bound-nfs.yaml");
    pub(crate) const STATIC_PENDING: &str =
        include_str!("../../../tests/fixtures/volumes/static-pending.yaml");
    pub(crate) const ORPHANS: &str = include_str!("../../../tests/fixtures/volumes/orphans.yaml");
    pub(crate) const TROUBLES: &str = include_str!("../../../tests/fixtures/volumes/troubles.yaml");

    pub(crate) fn inventory(yaml: &str) -> Inventory {
        Inventory::from_manifests(yaml).expect("fixture parses")
    }

    fn tags(chain: &VolumeChain<'_>) -> Vec<&'static str> {
        chain.problems.iter().map(|p| p.kind.tag()).collect()
    }

    fn message(chain: &VolumeChain<'_>, kind: ProblemKind) -> String {
        chain
            .problems
            .iter()
            .find(|p| p.kind == kind)
            .map(Problem::sentence)
            .unwrap_or_else(|| panic!("no {kind:?} on {}: {:?}", chain.claim_name, chain.problems))
    }

    fn only_chain_of<'a>(chains: &'a [VolumeChain<'a>], set: &str) -> &'a VolumeChain<'a> {
        let of_set: Vec<_> = chains.iter().filter(|c| c.set_name() == set).collect();
        assert_eq!(of_set.len(), 1, "chains of {set}");
        of_set[0]
    }

    #[test]
    fn a_provisioned_set_links_each_pod_to_its_claim_volume_and_nfs_directory() {
        let inventory = inventory(BOUND_NFS);
        let chains = build_chains(&inventory);
        assert_eq!(chains.len(), 3);
        for (ordinal, chain) in (0..).zip(&chains) {
            assert_eq!(chain.ordinal, ordinal);
            assert_eq!(chain.template, "www");
            assert_eq!(chain.pod_name(), format!("web-{ordinal}"));
            assert!(chain.pod.is_some());
            assert_eq!(chain.claim_name, format!("www-web-{ordinal}"));
            assert_eq!(chain.claim.and_then(claim_phase), Some("Bound"));
            let volume = chain.volume.volume().expect("bound volume");
            assert_eq!(
                volume.metadata.name.as_deref(),
                Some(&*format!("pvc-c{ordinal}"))
            );
            assert_eq!(
                backend(volume),
                Some(Backend::Nfs {
                    server: "192.168.56.18".into(),
                    path: format!("/ifs/kubernetes/default-www-web-{ordinal}-pvc-c{ordinal}"),
                })
            );
            assert_eq!(
                chain.storage_class_name.as_deref(),
                Some("managed-nfs-storage")
            );
            assert!(chain.storage_class.found().is_some());
            assert!(!chain.orphan);
            assert_eq!(tags(chain), vec!["reclaim-delete"]);
        }
        assert!(
            message(&chains[0], ProblemKind::ReclaimDelete)
                .contains("persistentVolumeReclaimPolicy")
        );
    }

    #[test]
    fn static_volumes_bind_the_first_ordinals_and_the_last_waits_with_the_latest_events_reason() {
        let inventory = inventory(STATIC_PENDING);
        let chains = build_chains(&inventory);
        let volumes: Vec<Option<String>> = chains.iter().map(VolumeChain::volume_name).collect();
        assert_eq!(
            volumes,
            vec![
                Some("nfs-a".into()),
                Some("local-b".into()),
                Some("csi-c".into()),
                None
            ]
        );
        let backends: Vec<String> = chains
            .iter()
            .filter_map(|c| c.volume.volume().and_then(backend))
            .map(|b| b.to_string())
            .collect();
        assert_eq!(
            backends,
            vec![
                "nfs nfs.example.com:/exports/a",
                "local /mnt/disks/b",
                "csi ebs.csi.aws.com vol-0abc"
            ]
        );
        // 2Gi bound for a 1Gi template is flagged; 1073741824 is 1Gi.
        assert_eq!(tags(&chains[0]), vec!["capacity"]);
        assert!(
            message(&chains[0], ProblemKind::CapacityDiffers)
                .contains("2Gi where the template asks for 1Gi")
        );
        assert!(tags(&chains[1]).is_empty());
        assert!(tags(&chains[2]).is_empty());

        assert_eq!(tags(&chains[3]), vec!["pending"]);
        let pending = message(&chains[3], ProblemKind::Pending);
        assert_eq!(
            pending,
            "claim data-db-3 is Pending: ProvisioningFailed: storageclass.storage.k8s.io \"nfs\" not found"
        );
        // The storage class list was readable and has no "nfs".
        assert_eq!(chains[3].storage_class, Lookup::Missing);
    }

    #[test]
    fn volume_sources_and_node_affinity_are_described() {
        let inventory = inventory(STATIC_PENDING);
        let by_name = |name: &str| inventory.volume(name).found().expect("volume");
        assert_eq!(
            backend(by_name("host-d")).map(|b| b.to_string()).as_deref(),
            Some("hostPath /tmp/d")
        );
        let gce = backend(by_name("host-e")).expect("gce backend");
        assert_eq!(gce.to_string(), "gcePersistentDisk disk-e");
        assert_eq!(gce.fields(), vec![("id", "disk-e".to_string())]);
        assert_eq!(
            node_affinity(by_name("local-b")).as_deref(),
            Some("kubernetes.io/hostname=node-1")
        );
        assert_eq!(node_affinity(by_name("nfs-a")), None);
    }

    #[test]
    fn claims_beyond_the_replicas_are_orphans_with_a_delete_command() {
        let inventory = inventory(ORPHANS);
        let chains = build_chains(&inventory);
        // www-web-7 belongs to an earlier StatefulSet named web: not this one's.
        let ordinals: Vec<i32> = chains.iter().map(|c| c.ordinal).collect();
        assert_eq!(ordinals, vec![0, 1, 2]);
        assert!(!chains[0].orphan);
        assert!(tags(&chains[0]).is_empty());
        for chain in &chains[1..] {
            assert!(chain.orphan);
            assert!(chain.pod.is_none());
            assert_eq!(tags(chain), vec!["orphan"]);
            let text = message(chain, ProblemKind::Orphan);
            assert!(text.contains("whenScaled=Retain"), "{text}");
            assert!(
                text.ends_with(&format!(
                    "to delete it: kubectl delete pvc {} -n default",
                    chain.claim_name
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn each_broken_link_is_named() {
        let inventory = inventory(TROUBLES);
        let chains = build_chains(&inventory);
        let expect = |set: &str, expected_tags: &[&str], words: &[&str]| {
            let chain = only_chain_of(&chains, set);
            assert_eq!(tags(chain), expected_tags, "{set}: {:?}", chain.problems);
            let text: Vec<String> = chain.problems.iter().map(Problem::sentence).collect();
            let text = text.join(" | ");
            for word in words {
                assert!(text.contains(word), "{set}: {word:?} not in {text}");
            }
        };
        expect(
            "emptydir",
            &["not-from-claim"],
            &[
                "pod emptydir-0 mounts www from emptyDir",
                "www-emptydir-0",
                "will not survive",
            ],
        );
        expect(
            "noclass",
            &["pending"],
            &["storageclass.storage.k8s.io \"fast\" not found"],
        );
        expect(
            "noprov",
            &["pending"],
            &[
                "class local-storage has no provisioner",
                "capacity 1Gi",
                "RWO",
            ],
        );
        expect("wffc", &["pending"], &["waiting for first consumer"]);
        expect(
            "external",
            &["pending"],
            &["waiting for provisioner example.com/external"],
        );
        expect(
            "released",
            &["pending", "released"],
            &[
                "no storage class is set",
                "volume old-vol is Released",
                "/spec/claimRef",
            ],
        );
        expect(
            "lost",
            &["lost"],
            &["claim data-lost-0 is Lost", "gone-vol"],
        );
        expect(
            "failed",
            &["volume-failed"],
            &["recycle failed: no recycler pod"],
        );
        expect(
            "unmounted",
            &["unmounted"],
            &["no container of pod unmounted-0 mounts volume data"],
        );
        expect(
            "otherclaim",
            &["not-from-claim"],
            &["from claim someone-elses, not data-otherclaim-0"],
        );
        expect(
            "noclaim",
            &["no-claim"],
            &["claim data-noclaim-0 does not exist"],
        );
    }

    #[test]
    fn unreadable_volumes_and_classes_are_forbidden_not_missing() {
        let mut inventory = inventory(BOUND_NFS);
        inventory.volumes = Listing::Forbidden;
        inventory.storage_classes = Listing::Forbidden;
        let chains = build_chains(&inventory);
        assert_eq!(chains.len(), 3);
        for chain in &chains {
            assert_eq!(chain.volume, VolumeLink::Forbidden);
            assert_eq!(chain.storage_class, Lookup::Forbidden);
            // The claim still names its volume.
            assert_eq!(chain.volume_name(), Some(format!("pvc-c{}", chain.ordinal)));
            assert!(chain.problems.is_empty(), "{:?}", chain.problems);
        }
    }

    #[test]
    fn quantities_compare_as_amounts() {
        let q = |s: &str| Quantity(s.to_string());
        assert!(same_quantity(&q("1Gi"), &q("1073741824")));
        assert!(same_quantity(&q("1000M"), &q("1G")));
        assert!(!same_quantity(&q("1Gi"), &q("1G")));
        assert!(!same_quantity(&q("garbage"), &q("1Gi")));
    }
}
