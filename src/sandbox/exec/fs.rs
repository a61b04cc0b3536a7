//! The filesystem a container sees: its own writable layer, with the pod's
//! volumes mounted over it.
//!
//! Every container path resolves through the mount table (the longest
//! mountPath prefix wins) to a directory on the host: a claim's persistent
//! volume, a per-pod emptyDir, or the container layer, which dies with the
//! pod. Paths are normalised before resolution, so `..` cannot climb out of
//! a mount, and resolved host paths are checked against their backing
//! directory, so a symlink cannot lead out either.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use k8s_openapi::api::core::v1::{Container as ContainerSpec, Pod};

use super::shell::{ContainerFs, FileInfo, FileKind, FsError, normalize};

/// One mount: a container path backed by a host directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Normalised absolute container path (`/usr/share/nginx/html`).
    pub container_path: String,
    pub host_dir: PathBuf,
    pub read_only: bool,
}

/// A container's mount table, implementing the container's view of its files.
#[derive(Debug, Clone)]
pub struct MountTable {
    /// Longest container path first, the root layer (`/`) last.
    mounts: Vec<Mount>,
}

impl MountTable {
    /// A table over the container layer `rootfs` and the given volume mounts.
    /// Creates what a runtime creates before the container starts: the
    /// backing directories, the mount points in the layer below them, and a
    /// minimal root skeleton (`/tmp`, `/root`, `/etc/hostname`...).
    pub fn prepare(rootfs: &Path, volumes: Vec<Mount>, hostname: &str) -> io::Result<Self> {
        std::fs::create_dir_all(rootfs)?;
        for dir in ROOT_SKELETON {
            std::fs::create_dir_all(rootfs.join(dir))?;
        }
        let hostname_file = rootfs.join("etc/hostname");
        std::fs::write(&hostname_file, format!("{hostname}\n"))?;
        let mut mounts = vec![Mount {
            container_path: "/".into(),
            host_dir: rootfs.to_path_buf(),
            read_only: false,
        }];
        for mut mount in volumes {
            mount.container_path = normalize("/", &mount.container_path);
            if mount.container_path == "/" {
                continue;
            }
            std::fs::create_dir_all(&mount.host_dir)?;
            mounts.push(mount);
        }
        mounts.sort_by_key(|m| std::cmp::Reverse(m.container_path.len()));
        let table = MountTable { mounts };
        // Mount points exist in whatever is mounted below them.
        for mount in &table.mounts {
            if mount.container_path == "/" {
                continue;
            }
            let (parent, host) = table.resolve_below(&mount.container_path)?;
            if !parent.read_only {
                std::fs::create_dir_all(host)?;
            }
        }
        Ok(table)
    }

    /// The mount a container path lives on, and its host path.
    fn resolve(&self, path: &str) -> Result<(&Mount, PathBuf), FsError> {
        let path = normalize("/", path);
        for mount in &self.mounts {
            let Some(rest) = strip_mount_prefix(&path, &mount.container_path) else {
                continue;
            };
            let host = mount.host_dir.join(rest);
            ensure_contained(&mount.host_dir, &host)?;
            return Ok((mount, host));
        }
        Err(FsError::NotFound)
    }

    /// Where a mount point sits in the mount beneath it.
    fn resolve_below(&self, mount_path: &str) -> io::Result<(&Mount, PathBuf)> {
        for mount in &self.mounts {
            if mount.container_path == mount_path {
                continue;
            }
            if let Some(rest) = strip_mount_prefix(mount_path, &mount.container_path) {
                return Ok((mount, mount.host_dir.join(rest)));
            }
        }
        Err(io::Error::new(io::ErrorKind::NotFound, "no root mount"))
    }

    fn is_mount_point(&self, path: &str) -> bool {
        let path = normalize("/", path);
        self.mounts.iter().any(|m| m.container_path == path)
    }

    fn writable(&self, path: &str) -> Result<PathBuf, FsError> {
        let (mount, host) = self.resolve(path)?;
        if mount.read_only {
            return Err(FsError::ReadOnly);
        }
        Ok(host)
    }
}

/// Directories every image has; the layer starts with them.
const ROOT_SKELETON: &[&str] = &[
    "bin",
    "dev",
    "etc",
    "home",
    "root",
    "tmp",
    "usr/bin",
    "usr/local/bin",
    "usr/share",
    "var/log",
    "var/tmp",
];

const DEV_NULL: &str = "/dev/null";

/// `path` relative to `mount_path` when it is on that mount.
fn strip_mount_prefix<'a>(path: &'a str, mount_path: &str) -> Option<&'a str> {
    if mount_path == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(mount_path)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

/// Refuse host paths that leave the backing directory through a symlink.
fn ensure_contained(root: &Path, host: &Path) -> Result<(), FsError> {
    let Ok(canonical_root) = root.canonicalize() else {
        return Err(FsError::NotFound);
    };
    // The deepest existing ancestor decides where the path really leads.
    let mut existing = host.to_path_buf();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            return if canonical.starts_with(&canonical_root) {
                Ok(())
            } else {
                Err(FsError::PermissionDenied)
            };
        }
        if !existing.pop() {
            return Err(FsError::NotFound);
        }
    }
}

fn fs_error(error: io::Error) -> FsError {
    match error.kind() {
        io::ErrorKind::NotFound => FsError::NotFound,
        io::ErrorKind::AlreadyExists => FsError::AlreadyExists,
        io::ErrorKind::PermissionDenied => FsError::PermissionDenied,
        io::ErrorKind::NotADirectory => FsError::NotADirectory,
        io::ErrorKind::IsADirectory => FsError::IsADirectory,
        io::ErrorKind::DirectoryNotEmpty => FsError::NotEmpty,
        io::ErrorKind::ReadOnlyFilesystem => FsError::ReadOnly,
        io::ErrorKind::ResourceBusy => FsError::Busy,
        io::ErrorKind::InvalidInput => FsError::Invalid,
        _ => FsError::Other(error.to_string()),
    }
}

fn seconds(time: io::Result<SystemTime>) -> i64 {
    time.ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl ContainerFs for MountTable {
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        if normalize("/", path) == DEV_NULL {
            return Ok(Vec::new());
        }
        let (_, host) = self.resolve(path)?;
        if host.is_dir() {
            return Err(FsError::IsADirectory);
        }
        std::fs::read(host).map_err(fs_error)
    }

    fn write(&self, path: &str, data: &[u8], append: bool) -> Result<(), FsError> {
        if normalize("/", path) == DEV_NULL {
            return Ok(());
        }
        let host = self.writable(path)?;
        if host.is_dir() {
            return Err(FsError::IsADirectory);
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true);
        if append {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        let mut file = options.open(host).map_err(fs_error)?;
        io::Write::write_all(&mut file, data).map_err(fs_error)
    }

    fn info(&self, path: &str) -> Result<FileInfo, FsError> {
        if normalize("/", path) == DEV_NULL {
            return Ok(FileInfo {
                kind: FileKind::Device,
                len: 0,
                modified: 0,
            });
        }
        let (_, host) = self.resolve(path)?;
        let metadata = std::fs::metadata(host).map_err(fs_error)?;
        Ok(FileInfo {
            kind: if metadata.is_dir() {
                FileKind::Directory
            } else {
                FileKind::File
            },
            len: metadata.len(),
            modified: seconds(metadata.modified()),
        })
    }

    fn list(&self, path: &str) -> Result<Vec<String>, FsError> {
        let container_path = normalize("/", path);
        let (_, host) = self.resolve(&container_path)?;
        let metadata = std::fs::metadata(&host).map_err(fs_error)?;
        if !metadata.is_dir() {
            return Err(FsError::NotADirectory);
        }
        let mut names: Vec<String> = std::fs::read_dir(&host)
            .map_err(fs_error)?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        if container_path == "/dev" && !names.iter().any(|n| n == "null") {
            names.push("null".into());
        }
        // Mount points directly below show up even if the layer lost them.
        for mount in &self.mounts {
            if let Some(rest) = strip_mount_prefix(&mount.container_path, &container_path)
                && !rest.is_empty()
                && !rest.contains('/')
                && mount.container_path != container_path
                && !names.iter().any(|n| n == rest)
            {
                names.push(rest.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir(&self, path: &str) -> Result<(), FsError> {
        if self.is_mount_point(path) {
            return Err(FsError::AlreadyExists);
        }
        let host = self.writable(path)?;
        std::fs::create_dir(host).map_err(fs_error)
    }

    fn remove_file(&self, path: &str) -> Result<(), FsError> {
        if normalize("/", path) == DEV_NULL {
            return Err(FsError::PermissionDenied);
        }
        let host = self.writable(path)?;
        if host.is_dir() {
            return Err(FsError::IsADirectory);
        }
        std::fs::remove_file(host).map_err(fs_error)
    }

    fn remove_dir(&self, path: &str) -> Result<(), FsError> {
        if self.is_mount_point(path) || normalize("/", path) == "/" {
            return Err(FsError::Busy);
        }
        let host = self.writable(path)?;
        std::fs::remove_dir(host).map_err(fs_error)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
        if self.is_mount_point(from) || self.is_mount_point(to) {
            return Err(FsError::Busy);
        }
        let from_host = self.writable(from)?;
        let to_host = self.writable(to)?;
        std::fs::rename(from_host, to_host).map_err(fs_error)
    }

    fn touch(&self, path: &str) -> Result<(), FsError> {
        if normalize("/", path) == DEV_NULL {
            return Ok(());
        }
        let host = self.writable(path)?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&host)
            .or_else(|_| std::fs::File::open(&host))
            .map_err(fs_error)?;
        file.set_modified(SystemTime::now()).map_err(fs_error)
    }
}

// ---------------------------------------------------------------------------
// From the pod spec to a mount table

/// Why a container's mounts could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    #[error("volume \"{0}\" is not defined in the pod")]
    UnknownVolume(String),
    #[error("invalid subPath \"{0}\": must be a relative path without '..'")]
    InvalidSubPath(String),
    #[error("persistentvolumeclaim \"{0}\" is not bound to a volume")]
    UnboundClaim(String),
}

/// Host directories for a pod's volumes, looked up by the caller (which
/// knows where claims are bound and where the node keeps its state).
#[derive(Debug, Clone, Default)]
pub struct VolumeDirs {
    /// Claim name → the bound PersistentVolume's backing directory.
    pub claims: BTreeMap<String, PathBuf>,
    /// Directory for a pod-scoped volume (emptyDir, and the materialised
    /// configMap/secret/downwardAPI/projected volumes), by volume name.
    pub pod_volume: BTreeMap<String, PathBuf>,
}

/// The mounts of one container: each volumeMount mapped to its backing directory.
pub fn container_mounts(
    pod: &Pod,
    container: &ContainerSpec,
    dirs: &VolumeDirs,
) -> Result<Vec<Mount>, MountError> {
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.volumes.as_ref())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut mounts = Vec::new();
    for volume_mount in container.volume_mounts.iter().flatten() {
        let volume = volumes
            .iter()
            .find(|v| v.name == volume_mount.name)
            .ok_or_else(|| MountError::UnknownVolume(volume_mount.name.clone()))?;
        let mut read_only = volume_mount.read_only.unwrap_or(false);
        let base = if let Some(claim) = &volume.persistent_volume_claim {
            read_only |= claim.read_only.unwrap_or(false);
            dirs.claims
                .get(&claim.claim_name)
                .cloned()
                .ok_or_else(|| MountError::UnboundClaim(claim.claim_name.clone()))?
        } else {
            // The kubelet writes configMap/secret/downwardAPI volumes
            // read-only; emptyDir (and anything else) is the pod's scratch.
            if volume.config_map.is_some()
                || volume.secret.is_some()
                || volume.downward_api.is_some()
                || volume.projected.is_some()
            {
                read_only = true;
            }
            dirs.pod_volume
                .get(&volume.name)
                .cloned()
                .ok_or_else(|| MountError::UnknownVolume(volume.name.clone()))?
        };
        let host_dir = match volume_mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            Some(sub_path) => base.join(checked_sub_path(sub_path)?),
            None => base,
        };
        mounts.push(Mount {
            container_path: volume_mount.mount_path.clone(),
            host_dir,
            read_only,
        });
    }
    Ok(mounts)
}

/// A subPath must stay inside its volume (the API server validates the same).
fn checked_sub_path(sub_path: &str) -> Result<&Path, MountError> {
    let path = Path::new(sub_path);
    let safe = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if safe {
        Ok(path)
    } else {
        Err(MountError::InvalidSubPath(sub_path.to_string()))
    }
}

/// The pod's hostname as its containers see it: spec.hostname or the pod name,
/// cut to the 63 characters a hostname may have.
pub fn pod_hostname(pod: &Pod) -> String {
    let name = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.hostname.clone())
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_default();
    let cut: String = name.chars().take(63).collect();
    cut.trim_end_matches(['-', '.']).to_string()
}

/// The environment of a process exec'd into the container, in the order a
/// runtime builds it: PATH, HOSTNAME, the container's env, HOME.
pub fn container_env(pod: &Pod, container: &ContainerSpec) -> Vec<(String, String)> {
    let hostname = pod_hostname(pod);
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), super::shell::DEFAULT_PATH.into()),
        ("HOSTNAME".into(), hostname),
    ];
    let mut set = |name: &str, value: String| match env.iter_mut().find(|(n, _)| n == name) {
        Some(entry) => entry.1 = value,
        None => env.push((name.to_string(), value)),
    };
    // Values seen so far, for `$(VAR)` references as the kubelet expands them.
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    for var in container.env.iter().flatten() {
        let value = if let Some(value) = &var.value {
            expand_dependent_vars(value, &defined)
        } else if let Some(field) = var.value_from.as_ref().and_then(|v| v.field_ref.as_ref()) {
            match field_value(pod, &field.field_path) {
                Some(value) => value,
                None => continue,
            }
        } else {
            // configMapKeyRef/secretKeyRef/resourceFieldRef are not resolved here.
            continue;
        };
        defined.insert(var.name.clone(), value.clone());
        set(&var.name, value);
    }
    if !env.iter().any(|(n, _)| n == "HOME") {
        env.push(("HOME".into(), "/root".into()));
    }
    env
}

/// `$(NAME)` references to earlier variables; `$$(NAME)` escapes.
fn expand_dependent_vars(value: &str, defined: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix('$') {
            out.push('$');
            rest = escaped;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
            && let Some(found) = defined.get(&inner[..end])
        {
            out.push_str(found);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The downward-API value of a `fieldRef`.
fn field_value(pod: &Pod, field_path: &str) -> Option<String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let from_map = |map: &Option<BTreeMap<String, String>>, key: &str| {
        map.as_ref().and_then(|m| m.get(key).cloned())
    };
    if let Some(key) = field_path
        .strip_prefix("metadata.labels['")
        .and_then(|k| k.strip_suffix("']"))
    {
        return from_map(&meta.labels, key);
    }
    if let Some(key) = field_path
        .strip_prefix("metadata.annotations['")
        .and_then(|k| k.strip_suffix("']"))
    {
        return from_map(&meta.annotations, key);
    }
    match field_path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()),
        "status.hostIP" => status.and_then(|s| s.host_ip.clone()),
        _ => None,
    }
}

/// Write the keys of a configMap/secret volume as files (the kubelet's atomic
/// writer does the same, minus the symlink dance).
pub fn materialize_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (key, data) in files {
        let Ok(relative) = checked_sub_path(key) else {
            continue;
        };
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(root: &Path, mounts: Vec<Mount>) -> MountTable {
        MountTable::prepare(&root.join("rootfs"), mounts, "web-0").unwrap()
    }

    #[test]
    fn longest_mount_prefix_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let pv = tmp.path().join("pv");
        let fs = table(
            tmp.path(),
            vec![Mount {
                container_path: "/usr/share/nginx/html".into(),
                host_dir: pv.clone(),
                read_only: false,
            }],
        );
        fs.write("/usr/share/nginx/html/index.html", b"hello\n", false)
            .unwrap();
        fs.write("/usr/share/nginx/other", b"layer", false).unwrap();
        assert_eq!(std::fs::read(pv.join("index.html")).unwrap(), b"hello\n");
        assert_eq!(
            std::fs::read(tmp.path().join("rootfs/usr/share/nginx/other")).unwrap(),
            b"layer"
        );
        // The mount point shows up in the layer's listing.
        assert!(
            fs.list("/usr/share/nginx")
                .unwrap()
                .contains(&"html".into())
        );
    }

    #[test]
    fn dot_dot_cannot_leave_a_mount_or_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let pv = tmp.path().join("pv");
        let fs = table(
            tmp.path(),
            vec![Mount {
                container_path: "/data".into(),
                host_dir: pv.clone(),
                read_only: false,
            }],
        );
        fs.write("/data/../../../../escape", b"x", false).unwrap();
        assert!(tmp.path().join("rootfs/escape").exists());
        assert!(!tmp.path().join("escape").exists());
    }

    #[test]
    fn symlinks_out_of_a_backing_directory_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let fs = table(tmp.path(), Vec::new());
        std::os::unix::fs::symlink(&outside, tmp.path().join("rootfs/tmp/link")).unwrap();
        assert_eq!(
            fs.write("/tmp/link/file", b"x", false),
            Err(FsError::PermissionDenied)
        );
        assert!(!outside.join("file").exists());
    }

    #[test]
    fn read_only_mounts_refuse_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = table(
            tmp.path(),
            vec![Mount {
                container_path: "/config".into(),
                host_dir: tmp.path().join("cm"),
                read_only: true,
            }],
        );
        assert_eq!(fs.write("/config/x", b"x", false), Err(FsError::ReadOnly));
        assert_eq!(fs.create_dir("/config/d"), Err(FsError::ReadOnly));
        assert_eq!(fs.remove_dir("/config"), Err(FsError::Busy));
    }

    #[test]
    fn dev_null_swallows_writes_and_reads_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = table(tmp.path(), Vec::new());
        fs.write("/dev/null", b"gone", true).unwrap();
        assert_eq!(fs.read("/dev/null").unwrap(), b"");
        assert_eq!(fs.info("/dev/null").unwrap().kind, FileKind::Device);
    }

    fn pod_from_yaml(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: default, uid: u-1}
spec:
  hostname: web-0
  subdomain: headless-svc
  containers:
  - name: nginx
    image: nginx:1.25
    env:
    - {name: GREETING, value: hi}
    - {name: MESSAGE, value: "$(GREETING) there $$(GREETING)"}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    volumeMounts:
    - {name: www, mountPath: /usr/share/nginx/html}
    - {name: www, mountPath: /logs, subPath: logs}
    - {name: cache, mountPath: /cache}
    - {name: conf, mountPath: /etc/conf}
  volumes:
  - name: www
    persistentVolumeClaim: {claimName: www-web-0}
  - name: cache
    emptyDir: {}
  - name: conf
    configMap: {name: conf}
status:
  podIP: 10.244.0.5
"#;

    #[test]
    fn volume_mounts_map_to_claims_pod_dirs_and_sub_paths() {
        let pod = pod_from_yaml(POD);
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let dirs = VolumeDirs {
            claims: BTreeMap::from([("www-web-0".into(), PathBuf::from("/pv/www"))]),
            pod_volume: BTreeMap::from([
                ("cache".into(), PathBuf::from("/pod/cache")),
                ("conf".into(), PathBuf::from("/pod/conf")),
            ]),
        };
        let mounts = container_mounts(&pod, container, &dirs).unwrap();
        let summary: Vec<(&str, &Path, bool)> = mounts
            .iter()
            .map(|m| (m.container_path.as_str(), m.host_dir.as_path(), m.read_only))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/usr/share/nginx/html", Path::new("/pv/www"), false),
                ("/logs", Path::new("/pv/www/logs"), false),
                ("/cache", Path::new("/pod/cache"), false),
                ("/etc/conf", Path::new("/pod/conf"), true),
            ]
        );
        let unbound = container_mounts(&pod, container, &VolumeDirs::default());
        assert_eq!(unbound, Err(MountError::UnboundClaim("www-web-0".into())));
    }

    #[test]
    fn sub_paths_may_not_climb_out() {
        assert!(checked_sub_path("a/b").is_ok());
        assert!(checked_sub_path("../x").is_err());
        assert!(checked_sub_path("/abs").is_err());
    }

    #[test]
    fn environment_follows_the_runtime_order() {
        let pod = pod_from_yaml(POD);
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let env = container_env(&pod, container);
        let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "PATH", "HOSTNAME", "GREETING", "MESSAGE", "POD_NAME", "POD_IP", "HOME"
            ]
        );
        let value = |name: &str| env.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(value("HOSTNAME"), "web-0");
        assert_eq!(value("MESSAGE"), "hi there $(GREETING)");
        assert_eq!(value("POD_NAME"), "web-0");
        assert_eq!(value("POD_IP"), "10.244.0.5");
        assert_eq!(value("HOME"), "/root");
    }
}
