//! The two dynamic provisioners the sandbox runs, each behaving like an
//! external provisioner built on sig-storage-lib-external-provisioner:
//!
//! - `sandbox.kubectl-sts.io/hostpath`, the provisioner of the default class
//!   `standard`: a hostPath volume in `<data>/volumes/hostpath/<pv-name>`;
//! - `k8s-sigs.io/nfs-subdir-external-provisioner` (kubernetes-sigs/
//!   nfs-subdir-external-provisioner): a directory `${namespace}-${pvcName}-${pvName}`
//!   (or the class's `pathPattern`) on a simulated NFS export, and an `nfs`
//!   volume pointing at it; on delete it honours `onDelete` and `archiveOnDelete`.
//!
//! Both name the volume `pvc-<claim uid>`, set its claimRef (the binder then
//! completes the bind), annotate it `pv.kubernetes.io/provisioned-by`, and
//! take the class's reclaim policy (Delete when unset).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NFSVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::events::{EventRecorder, EventType};
use super::resync::RepeatFilter;
use super::volumes::{
    BETA_STORAGE_PROVISIONER, PROVISIONED_BY, SELECTED_NODE, STORAGE_PROVISIONER, claim_class,
    claim_key, claim_reference, waits_for_first_consumer,
};
use crate::sandbox::api::cluster::{Cluster, DeleteOptions, NODE_NAME};
use crate::sandbox::node;

pub const NFS_SUBDIR_PROVISIONER: &str = "k8s-sigs.io/nfs-subdir-external-provisioner";
pub use crate::sandbox::node::HOSTPATH_PROVISIONER;

/// Default NFS server of the simulated export (class parameter `server` overrides).
pub const DEFAULT_NFS_SERVER: &str = "nfs.sandbox.local";
/// Default export path (class parameter `path` overrides), the provisioner's `NFS_PATH`.
pub const DEFAULT_NFS_EXPORT: &str = "/exports";

/// The provisioners the sandbox runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxProvisioner {
    Hostpath,
    NfsSubdir,
}

impl SandboxProvisioner {
    pub const ALL: [SandboxProvisioner; 2] =
        [SandboxProvisioner::Hostpath, SandboxProvisioner::NfsSubdir];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            SandboxProvisioner::Hostpath => HOSTPATH_PROVISIONER,
            SandboxProvisioner::NfsSubdir => NFS_SUBDIR_PROVISIONER,
        }
    }

    /// The claim annotation this provisioner watches: nfs-subdir is built on
    /// lib v6, which still reads the beta key.
    fn claim_annotation(self) -> &'static str {
        match self {
            SandboxProvisioner::Hostpath => STORAGE_PROVISIONER,
            SandboxProvisioner::NfsSubdir => BETA_STORAGE_PROVISIONER,
        }
    }

    /// Event source, `<provisioner>_<pod>_<id>` as a lib-based provisioner reports itself.
    pub fn component(self) -> String {
        match self {
            SandboxProvisioner::Hostpath => format!("{HOSTPATH_PROVISIONER}_{NODE_NAME}"),
            SandboxProvisioner::NfsSubdir => {
                format!("{NFS_SUBDIR_PROVISIONER}_nfs-subdir-external-provisioner-sandbox")
            }
        }
    }
}

/// The name of the volume provisioned for a claim.
pub fn volume_name_for(claim: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default())
}

fn class_param<'a>(class: &'a StorageClass, key: &str) -> Option<&'a str> {
    class.parameters.as_ref()?.get(key).map(String::as_str)
}

/// Where nfs-subdir puts a claim's directory, relative to the export:
/// `${namespace}-${pvcName}-${pvName}`, or the class's `pathPattern` with
/// `${.PVC.namespace}`, `${.PVC.name}`, `${.PVC.labels.X}` and
/// `${.PVC.annotations.X}` filled in (an empty result falls back to the default).
pub fn nfs_subdir_relative_path(
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
    pv_name: &str,
) -> String {
    let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    let default = format!("{namespace}-{name}-{pv_name}");
    let Some(pattern) = class_param(class, "pathPattern") else {
        return default;
    };
    let empty = BTreeMap::new();
    let labels = claim.metadata.labels.as_ref().unwrap_or(&empty);
    let annotations = claim.metadata.annotations.as_ref().unwrap_or(&empty);
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${.PVC.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "${.PVC.".len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let key = &after[..end];
        let value = if let Some(label) = key.strip_prefix("labels.") {
            labels.get(label).map(String::as_str).unwrap_or_default()
        } else if let Some(annotation) = key.strip_prefix("annotations.") {
            annotations
                .get(annotation)
                .map(String::as_str)
                .unwrap_or_default()
        } else {
            match key {
                "name" => name,
                "namespace" => namespace,
                _ => "",
            }
        };
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let cleaned = clean_relative(&out);
    if cleaned.is_empty() { default } else { cleaned }
}

/// `filepath.Join`-style cleaning of a relative path (no `.`, no empty parts).
fn clean_relative(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// The NFS export a class provisions on: (server, export path).
pub fn nfs_export(class: Option<&StorageClass>) -> (String, String) {
    let server = class
        .and_then(|c| class_param(c, "server"))
        .unwrap_or(DEFAULT_NFS_SERVER);
    let export = class
        .and_then(|c| class_param(c, "path"))
        .unwrap_or(DEFAULT_NFS_EXPORT);
    (server.to_string(), export.to_string())
}

/// The volume a provisioner creates for a claim, or the provisioner's error.
pub fn provisioned_volume(
    provisioner: SandboxProvisioner,
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
) -> Result<PersistentVolume, String> {
    let pv_name = volume_name_for(claim);
    let claim_spec = claim.spec.clone().unwrap_or_default();
    if provisioner == SandboxProvisioner::NfsSubdir && claim_spec.selector.is_some() {
        return Err("claim Selector is not supported".into());
    }
    let capacity = claim_spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .cloned()
        .ok_or_else(|| "claim has no storage request".to_string())?;
    let mut spec = PersistentVolumeSpec {
        access_modes: claim_spec.access_modes.clone(),
        capacity: Some([("storage".to_string(), capacity)].into()),
        claim_ref: Some(claim_reference(claim)),
        mount_options: class.mount_options.clone(),
        persistent_volume_reclaim_policy: Some(
            class
                .reclaim_policy
                .clone()
                .unwrap_or_else(|| "Delete".into()),
        ),
        storage_class_name: Some(claim_class(claim)),
        volume_mode: Some(
            claim_spec
                .volume_mode
                .clone()
                .unwrap_or_else(|| "Filesystem".into()),
        ),
        ..Default::default()
    };
    match provisioner {
        SandboxProvisioner::NfsSubdir => {
            let (server, export) = nfs_export(Some(class));
            let relative = nfs_subdir_relative_path(claim, class, &pv_name);
            spec.nfs = Some(NFSVolumeSource {
                server,
                path: format!("{}/{relative}", export.trim_end_matches('/')),
                read_only: None,
            });
        }
        SandboxProvisioner::Hostpath => {
            spec.host_path = Some(HostPathVolumeSource {
                path: format!("/var/lib/kubectl-sts/hostpath/{pv_name}"),
                type_: Some("DirectoryOrCreate".into()),
            });
            // The volume lives on the one node, as a local-path volume would.
            spec.node_affinity = Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: "kubernetes.io/hostname".into(),
                            operator: "In".into(),
                            values: Some(vec![NODE_NAME.into()]),
                        }]),
                        match_fields: None,
                    }],
                }),
            });
        }
    }
    Ok(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(pv_name),
            annotations: Some(
                [(PROVISIONED_BY.to_string(), provisioner.name().to_string())].into(),
            ),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// What nfs-subdir does with a deleted volume's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NfsCleanup {
    Remove,
    Keep,
    /// Rename to `archived-<dir name>` at the export root.
    Archive,
}

/// The class's `onDelete` (delete|retain) wins; else `archiveOnDelete`
/// parsed as Go's `strconv.ParseBool` (false removes); unset archives.
pub fn nfs_cleanup(class: Option<&StorageClass>) -> Result<NfsCleanup, String> {
    let Some(class) = class else {
        return Err("volume has no storage class".into());
    };
    match class_param(class, "onDelete") {
        Some("delete") => return Ok(NfsCleanup::Remove),
        Some("retain") => return Ok(NfsCleanup::Keep),
        _ => {}
    }
    match class_param(class, "archiveOnDelete") {
        None => Ok(NfsCleanup::Archive),
        Some(value) => match value {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(NfsCleanup::Archive),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(NfsCleanup::Remove),
            other => Err(format!(
                "strconv.ParseBool: parsing \"{other}\": invalid syntax"
            )),
        },
    }
}

// ---------------------------------------------------------------------------
// I/O

/// Event repeat period for provisioning failures (the library retries).
const RETRY_REPORT: std::time::Duration = std::time::Duration::from_secs(15);

/// One pass of every sandbox provisioner over every claim waiting for it.
pub fn sync_once(cluster: &Cluster, data_dir: &Path, failures: &mut RepeatFilter) {
    let (Ok(claims), Ok(classes)) = (
        cluster.list_typed::<PersistentVolumeClaim>(None, None),
        cluster.list_typed::<StorageClass>(None, None),
    ) else {
        return;
    };
    let classes: BTreeMap<String, StorageClass> = classes
        .into_iter()
        .map(|c| (c.metadata.name.clone().unwrap_or_default(), c))
        .collect();
    sync_claims(cluster, data_dir, failures, &claims, &classes);
}

/// The provisioners' look at these claims: each one annotated for a sandbox
/// provisioner, of its class, unbound and without a volume yet is provisioned.
pub fn sync_claims<'a>(
    cluster: &Cluster,
    data_dir: &Path,
    failures: &mut RepeatFilter,
    claims: impl IntoIterator<Item = &'a PersistentVolumeClaim>,
    classes: &BTreeMap<String, StorageClass>,
) {
    for claim in claims {
        if claim.metadata.deletion_timestamp.is_some()
            || claim
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .is_some_and(|v| !v.is_empty())
        {
            continue;
        }
        let Some(annotations) = claim.metadata.annotations.as_ref() else {
            continue;
        };
        let Some(provisioner) = SandboxProvisioner::ALL
            .into_iter()
            .find(|p| annotations.get(p.claim_annotation()).map(String::as_str) == Some(p.name()))
        else {
            continue;
        };
        let class_name = claim_class(claim);
        let Some(class) = classes.get(&class_name) else {
            continue;
        };
        if class.provisioner != provisioner.name()
            || (waits_for_first_consumer(class) && !annotations.contains_key(SELECTED_NODE))
        {
            continue;
        }
        let pv_name = volume_name_for(claim);
        if cluster
            .get_typed::<PersistentVolume>(None, &pv_name)
            .is_ok()
        {
            continue;
        }
        provision(cluster, data_dir, failures, provisioner, claim, class);
    }
}

fn provision(
    cluster: &Cluster,
    data_dir: &Path,
    failures: &mut RepeatFilter,
    provisioner: SandboxProvisioner,
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
) {
    let recorder = EventRecorder::new(cluster.clone(), provisioner.component());
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let volume = provisioned_volume(provisioner, claim, class).and_then(|volume| {
        let dir = node::pv_backing_dir(data_dir, &volume)
            .ok_or_else(|| "volume has no backing directory".to_string())?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("unable to create directory to provision new pv: {e}"))?;
        Ok(volume)
    });
    let failed = |message: String, failures: &mut RepeatFilter| {
        let message = format!(
            "failed to provision volume with StorageClass \"{}\": {message}",
            claim_class(claim)
        );
        if failures.should_report(&uid, &message, RETRY_REPORT) {
            recorder.record(claim, EventType::Warning, "ProvisioningFailed", &message);
        }
    };
    let volume = match volume {
        Ok(volume) => volume,
        Err(message) => return failed(message, failures),
    };
    recorder.record(
        claim,
        EventType::Normal,
        "Provisioning",
        &format!(
            "External provisioner is provisioning volume for claim \"{}\"",
            claim_key(claim)
        ),
    );
    match cluster.create_typed(None, &volume) {
        Ok(created) => recorder.record(
            claim,
            EventType::Normal,
            "ProvisioningSucceeded",
            &format!(
                "Successfully provisioned volume {}",
                created.metadata.name.as_deref().unwrap_or_default()
            ),
        ),
        Err(err) => failed(err.message.clone(), failures),
    }
}

/// A sandbox provisioner deletes a Released volume with reclaim policy
/// Delete: its data first (as the provisioner's `Delete`), then the object.
pub fn delete_volume(
    cluster: &Cluster,
    data_dir: &Path,
    provisioner: SandboxProvisioner,
    volume: &PersistentVolume,
    class: Option<&StorageClass>,
) {
    let recorder = EventRecorder::new(cluster.clone(), provisioner.component());
    if let Err(message) = delete_data(data_dir, provisioner, volume, class) {
        recorder.record(volume, EventType::Warning, "VolumeFailedDelete", &message);
        return;
    }
    let name = volume.metadata.name.as_deref().unwrap_or_default();
    if let Err(err) = cluster.delete(
        &crate::sandbox::resources::PERSISTENT_VOLUMES,
        None,
        name,
        &DeleteOptions::default(),
    ) && err.code != 404
    {
        tracing::debug!(volume = name, %err, "cannot delete the volume object");
    }
}

fn delete_data(
    data_dir: &Path,
    provisioner: SandboxProvisioner,
    volume: &PersistentVolume,
    class: Option<&StorageClass>,
) -> Result<(), String> {
    let Some(dir) = node::pv_backing_dir(data_dir, volume) else {
        return Ok(());
    };
    if !dir.exists() {
        // nfs-subdir: "path does not exist, deletion skipped".
        return Ok(());
    }
    let cleanup = match provisioner {
        SandboxProvisioner::Hostpath => NfsCleanup::Remove,
        SandboxProvisioner::NfsSubdir => nfs_cleanup(class)?,
    };
    match cleanup {
        NfsCleanup::Keep => Ok(()),
        NfsCleanup::Remove => std::fs::remove_dir_all(&dir).map_err(|e| e.to_string()),
        NfsCleanup::Archive => {
            let archive = archive_path(data_dir, volume, class, &dir);
            std::fs::rename(&dir, &archive).map_err(|e| e.to_string())
        }
    }
}

/// nfs-subdir archives to `<export root>/archived-<last path element>`.
fn archive_path(
    data_dir: &Path,
    volume: &PersistentVolume,
    class: Option<&StorageClass>,
    dir: &Path,
) -> PathBuf {
    let server = volume
        .spec
        .as_ref()
        .and_then(|s| s.nfs.as_ref())
        .map(|n| n.server.clone())
        .unwrap_or_else(|| DEFAULT_NFS_SERVER.into());
    let (_, export) = nfs_export(class);
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    node::nfs_dir(data_dir, &server, &export).join(format!("archived-{base}"))
}

/// Empty a directory, keeping the directory (the Recycle reclaim policy's scrub).
pub fn scrub_dir(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let removed = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(err) = removed {
            tracing::debug!(path = %path.display(), %err, "cannot scrub");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn claim() -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("www-web-0".into()),
                namespace: Some("default".into()),
                uid: Some("1234".into()),
                labels: Some([("app".to_string(), "nginx".to_string())].into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                storage_class_name: Some("managed-nfs-storage".into()),
                resources: Some(VolumeResourceRequirements {
                    requests: Some([("storage".to_string(), Quantity("1Gi".into()))].into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn class(params: &[(&str, &str)]) -> StorageClass {
        StorageClass {
            metadata: ObjectMeta {
                name: Some("managed-nfs-storage".into()),
                ..Default::default()
            },
            provisioner: NFS_SUBDIR_PROVISIONER.into(),
            parameters: Some(
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn nfs_subdir_names_directories_like_upstream() {
        let volume = provisioned_volume(SandboxProvisioner::NfsSubdir, &claim(), &class(&[]))
            .expect("provisioned");
        assert_eq!(volume.metadata.name.as_deref(), Some("pvc-1234"));
        let spec = volume.spec.expect("spec");
        let nfs = spec.nfs.expect("nfs source");
        assert_eq!(nfs.server, DEFAULT_NFS_SERVER);
        assert_eq!(nfs.path, "/exports/default-www-web-0-pvc-1234");
        assert_eq!(
            spec.persistent_volume_reclaim_policy.as_deref(),
            Some("Delete")
        );
        assert_eq!(
            spec.storage_class_name.as_deref(),
            Some("managed-nfs-storage")
        );
        assert_eq!(spec.claim_ref.and_then(|r| r.uid).as_deref(), Some("1234"));
        assert_eq!(
            volume
                .metadata
                .annotations
                .and_then(|a| a.get(PROVISIONED_BY).cloned())
                .as_deref(),
            Some(NFS_SUBDIR_PROVISIONER)
        );
    }

    #[test]
    fn path_patterns_fill_in_claim_fields() {
        let c = class(&[(
            "pathPattern",
            "${.PVC.namespace}/${.PVC.labels.app}/${.PVC.name}",
        )]);
        assert_eq!(
            nfs_subdir_relative_path(&claim(), &c, "pvc-1"),
            "default/nginx/www-web-0"
        );
        let empty = class(&[("pathPattern", "${.PVC.annotations.missing}")]);
        assert_eq!(
            nfs_subdir_relative_path(&claim(), &empty, "pvc-1"),
            "default-www-web-0-pvc-1"
        );
        let escape = class(&[("pathPattern", "../../${.PVC.name}")]);
        assert_eq!(
            nfs_subdir_relative_path(&claim(), &escape, "pvc-1"),
            "www-web-0"
        );
    }

    #[test]
    fn selectors_are_refused_by_nfs_subdir() {
        let mut c = claim();
        c.spec.as_mut().expect("spec").selector = Some(Default::default());
        assert_eq!(
            provisioned_volume(SandboxProvisioner::NfsSubdir, &c, &class(&[])),
            Err("claim Selector is not supported".to_string())
        );
    }

    #[test]
    fn cleanup_follows_on_delete_then_archive_on_delete() {
        assert_eq!(nfs_cleanup(Some(&class(&[]))), Ok(NfsCleanup::Archive));
        assert_eq!(
            nfs_cleanup(Some(&class(&[("archiveOnDelete", "false")]))),
            Ok(NfsCleanup::Remove)
        );
        assert_eq!(
            nfs_cleanup(Some(&class(&[("archiveOnDelete", "true")]))),
            Ok(NfsCleanup::Archive)
        );
        assert_eq!(
            nfs_cleanup(Some(&class(&[
                ("archiveOnDelete", "true"),
                ("onDelete", "retain")
            ]))),
            Ok(NfsCleanup::Keep)
        );
        assert_eq!(
            nfs_cleanup(Some(&class(&[
                ("archiveOnDelete", "false"),
                ("onDelete", "delete")
            ]))),
            Ok(NfsCleanup::Remove)
        );
        assert!(nfs_cleanup(Some(&class(&[("archiveOnDelete", "maybe")]))).is_err());
        assert!(nfs_cleanup(None).is_err());
    }

    #[test]
    fn archiving_renames_at_the_export_root() {
        let data = tempfile::tempdir().expect("temp dir");
        let c = class(&[]);
        let volume =
            provisioned_volume(SandboxProvisioner::NfsSubdir, &claim(), &c).expect("provisioned");
        let dir = node::pv_backing_dir(data.path(), &volume).expect("dir");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("index.html"), "hello").expect("write");
        delete_data(
            data.path(),
            SandboxProvisioner::NfsSubdir,
            &volume,
            Some(&c),
        )
        .expect("delete");
        let archived = node::nfs_dir(data.path(), DEFAULT_NFS_SERVER, "/exports")
            .join("archived-default-www-web-0-pvc-1234");
        assert!(!dir.exists());
        assert_eq!(
            std::fs::read_to_string(archived.join("index.html")).expect("read"),
            "hello"
        );
    }

    #[test]
    fn hostpath_volumes_live_under_the_data_dir() {
        let data = Path::new("/d");
        let mut standard = class(&[]);
        standard.provisioner = HOSTPATH_PROVISIONER.into();
        standard.reclaim_policy = Some("Retain".into());
        let volume = provisioned_volume(SandboxProvisioner::Hostpath, &claim(), &standard)
            .expect("provisioned");
        assert_eq!(
            node::pv_backing_dir(data, &volume),
            Some(PathBuf::from("/d/volumes/hostpath/pvc-1234"))
        );
        assert_eq!(
            volume
                .spec
                .and_then(|s| s.persistent_volume_reclaim_policy)
                .as_deref(),
            Some("Retain")
        );
    }
}
