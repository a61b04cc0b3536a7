//! On-disk layout of what a node holds: container layers, emptyDirs, logs,
//! and the backing directories of persistent volumes.
//!
//! This module is the only place that knows the layout; the kubelet, the
//! provisioners, exec and the log endpoint all go through it.
//!
//! ```text
//! <data>/node/pods/<pod-uid>/containers/<container>/rootfs   container layer (dies with the pod)
//! <data>/node/pods/<pod-uid>/volumes/<volume>                emptyDir and other pod-scoped volumes
//! <data>/node/pods/<pod-uid>/logs/<container>.log            current container log
//! <data>/node/pods/<pod-uid>/logs/<container>.previous.log   the log before the last restart
//! <data>/volumes/hostpath/<pv-name>                          sandbox hostpath provisioner volumes
//! <data>/volumes/nfs/<server>/<export path>                  simulated NFS exports (nfs-subdir)
//! <data>/volumes/csi/<driver>/<volume handle>                sandbox CSI volumes
//! <data>/volumes/host/<path>                                 static hostPath / local volumes
//! ```
//!
//! Every name and path taken from an API object is reduced to safe path
//! segments first (see [`segment`] and [`contained`]), so nothing a client
//! writes into a pod or volume spec can point outside the data directory.

use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Component, Path, PathBuf};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PersistentVolume;

/// Provisioner name of the sandbox's own default class: hostPath volumes
/// under `<data>/volumes/hostpath/<pv-name>`.
pub const HOSTPATH_PROVISIONER: &str = "sandbox.kubectl-sts.io/hostpath";

/// Annotation the PV controller and external provisioners put on the
/// volumes they create; it tells hostpath-provisioned volumes apart from
/// static hostPath volumes.
pub const PROVISIONED_BY_ANNOTATION: &str = "pv.kubernetes.io/provisioned-by";

/// Errors of the node's file operations.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The log that was asked for was never written (a container that has
    /// not started, or `previous` before any restart).
    #[error("no log for container \"{container}\"")]
    NoLog { container: String },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl NodeError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        NodeError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

// ---------------------------------------------------------------------------
// Pod directories

/// Everything the node keeps for one pod: `<data>/node/pods/<pod-uid>`.
/// A recreated pod has a new uid and so starts from nothing.
pub fn pod_dir(data_dir: &Path, pod_uid: &str) -> PathBuf {
    data_dir.join("node").join("pods").join(segment(pod_uid))
}

/// A container's own writable layer (`/` in the container, minus mounts).
pub fn container_root(data_dir: &Path, pod_uid: &str, container: &str) -> PathBuf {
    pod_dir(data_dir, pod_uid)
        .join("containers")
        .join(segment(container))
        .join("rootfs")
}

/// The directory of a pod-scoped volume (emptyDir; also where materialised
/// configMap/secret volumes would live), shared by the pod's containers.
pub fn empty_dir(data_dir: &Path, pod_uid: &str, volume: &str) -> PathBuf {
    pod_dir(data_dir, pod_uid)
        .join("volumes")
        .join(segment(volume))
}

/// Which of a container's logs: the running instance's, or the one before
/// the last restart (`kubectl logs --previous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogInstance {
    Current,
    Previous,
}

/// The file holding a container's log.
pub fn log_path(data_dir: &Path, pod_uid: &str, container: &str, which: LogInstance) -> PathBuf {
    let name = segment(container);
    let file = match which {
        LogInstance::Current => format!("{name}.log"),
        LogInstance::Previous => format!("{name}.previous.log"),
    };
    pod_dir(data_dir, pod_uid).join("logs").join(file)
}

/// Remove everything the node holds for a pod (after the pod is gone).
/// A pod that never got directories is not an error.
pub fn remove_pod_dirs(data_dir: &Path, pod_uid: &str) -> Result<(), NodeError> {
    let dir = pod_dir(data_dir, pod_uid);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NodeError::io("removing", &dir, e)),
    }
}

/// The pod uids the node holds directories for (to clean up after pods
/// that went away while the sandbox was stopped).
pub fn pod_uids_on_disk(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(data_dir.join("node").join("pods")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

// ---------------------------------------------------------------------------
// Logs
//
// Lines are stored the way the CRI stores them, `<RFC3339Nano> <stream> F
// <text>`, so the log endpoint can honour `timestamps`, `sinceTime` and
// `tailLines` without guessing.

/// Output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// One stored log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub time: Timestamp,
    pub stream: LogStream,
    pub text: String,
}

/// What the `pods/log` request asked for (the PodLogOptions the sandbox
/// honours). `Default` is a plain `kubectl logs`.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub previous: bool,
    /// Prefix each line with its RFC3339Nano timestamp and a space.
    pub timestamps: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only lines at or after this time (`sinceTime`, or now - `sinceSeconds`).
    pub since: Option<Timestamp>,
    /// Cut the output after this many bytes.
    pub limit_bytes: Option<usize>,
}

/// Append lines to a container's current log, creating it if needed.
pub fn append_log(
    data_dir: &Path,
    pod_uid: &str,
    container: &str,
    lines: &[LogLine],
) -> Result<(), NodeError> {
    let path = log_path(data_dir, pod_uid, container, LogInstance::Current);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| NodeError::io("creating", parent, e))?;
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| NodeError::io("opening", &path, e))?;
    let mut buf = String::new();
    for line in lines {
        buf.push_str(&format_stored_line(line));
    }
    file.write_all(buf.as_bytes())
        .map_err(|e| NodeError::io("writing", &path, e))
}

/// A container exited: its log becomes the previous one (one previous
/// instance is kept) and the next start begins a new log.
pub fn rotate_log(data_dir: &Path, pod_uid: &str, container: &str) -> Result<(), NodeError> {
    let current = log_path(data_dir, pod_uid, container, LogInstance::Current);
    let previous = log_path(data_dir, pod_uid, container, LogInstance::Previous);
    match fs::rename(&current, &previous) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NodeError::io("rotating", &current, e)),
    }
}

/// The log text a `pods/log` request returns, filtered as `query` asks.
///
/// As the kubelet's `validateContainerLogStatus`: `previous` reads the last
/// terminated instance; otherwise the running instance, or, while the
/// container waits to restart (CrashLoopBackOff), the last terminated one.
/// The kubelet rotates a container's log when it exits, so "no current log
/// but a previous one" is exactly that waiting state.
pub fn read_log(
    data_dir: &Path,
    pod_uid: &str,
    container: &str,
    query: &LogQuery,
) -> Result<String, NodeError> {
    let which = if query.previous {
        LogInstance::Previous
    } else {
        LogInstance::Current
    };
    let mut path = log_path(data_dir, pod_uid, container, which);
    if which == LogInstance::Current && !path.exists() {
        path = log_path(data_dir, pod_uid, container, LogInstance::Previous);
    }
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(NodeError::NoLog {
                container: container.to_string(),
            });
        }
        Err(e) => return Err(NodeError::io("opening", &path, e)),
    };
    let mut lines = Vec::new();
    for raw in io::BufReader::new(file).lines() {
        let raw = raw.map_err(|e| NodeError::io("reading", &path, e))?;
        if let Some(line) = parse_stored_line(&raw) {
            lines.push(line);
        }
    }
    Ok(render_log(&lines, query))
}

/// Apply a query to stored lines: since, then tail, then timestamps, then
/// the byte limit (the kubelet's order).
pub fn render_log(lines: &[LogLine], query: &LogQuery) -> String {
    let after_since: Vec<&LogLine> = lines
        .iter()
        .filter(|l| query.since.is_none_or(|since| l.time >= since))
        .collect();
    let start = query
        .tail_lines
        .map_or(0, |n| after_since.len().saturating_sub(n));
    let mut out = String::new();
    for line in &after_since[start..] {
        if query.timestamps {
            out.push_str(&line.time.to_string());
            out.push(' ');
        }
        out.push_str(&line.text);
        out.push('\n');
    }
    if let Some(limit) = query.limit_bytes
        && out.len() > limit
    {
        let mut cut = limit;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

fn format_stored_line(line: &LogLine) -> String {
    // One stored line per text line: embedded newlines would break parsing.
    let mut out = String::new();
    for text in line.text.split('\n') {
        out.push_str(&format!(
            "{} {} F {}\n",
            line.time,
            line.stream.as_str(),
            text
        ));
    }
    out
}

fn parse_stored_line(raw: &str) -> Option<LogLine> {
    let mut parts = raw.splitn(4, ' ');
    let time: Timestamp = parts.next()?.parse().ok()?;
    let stream = match parts.next()? {
        "stdout" => LogStream::Stdout,
        "stderr" => LogStream::Stderr,
        _ => return None,
    };
    let _tag = parts.next()?;
    let text = parts.next().unwrap_or_default().to_string();
    Some(LogLine { time, stream, text })
}

// ---------------------------------------------------------------------------
// Persistent volume contents

/// Root of all persistent volume contents: survives pods and restarts.
pub fn volumes_root(data_dir: &Path) -> PathBuf {
    data_dir.join("volumes")
}

/// Directory of a volume made by the sandbox hostpath provisioner.
pub fn hostpath_provisioner_dir(data_dir: &Path, pv_name: &str) -> PathBuf {
    volumes_root(data_dir)
        .join("hostpath")
        .join(segment(pv_name))
}

/// The simulated NFS export `server:path`, as a directory. The nfs-subdir
/// provisioner creates its per-claim directories here, and a PV with
/// `nfs: {server, path}` is backed by exactly this directory.
pub fn nfs_dir(data_dir: &Path, server: &str, export_path: &str) -> PathBuf {
    contained(
        &volumes_root(data_dir).join("nfs").join(segment(server)),
        export_path,
    )
}

/// A node path of a static hostPath or local volume, kept inside the data dir.
pub fn host_dir(data_dir: &Path, node_path: &str) -> PathBuf {
    contained(&volumes_root(data_dir).join("host"), node_path)
}

/// Directory of a CSI volume (any driver; the sandbox has no CSI plugins,
/// so the handle simply names a directory).
pub fn csi_dir(data_dir: &Path, driver: &str, volume_handle: &str) -> PathBuf {
    volumes_root(data_dir)
        .join("csi")
        .join(segment(driver))
        .join(segment(volume_handle))
}

/// Where a persistent volume's contents live, for the volume sources the
/// sandbox can back with a directory (nfs, hostPath, local, csi); `None`
/// for anything else (it cannot be mounted in the sandbox).
pub fn pv_backing_dir(data_dir: &Path, pv: &PersistentVolume) -> Option<PathBuf> {
    let spec = pv.spec.as_ref()?;
    if let Some(nfs) = &spec.nfs {
        return Some(nfs_dir(data_dir, &nfs.server, &nfs.path));
    }
    if let Some(host_path) = &spec.host_path {
        let provisioned_by_sandbox = pv
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PROVISIONED_BY_ANNOTATION))
            .is_some_and(|p| p == HOSTPATH_PROVISIONER);
        return Some(match (&pv.metadata.name, provisioned_by_sandbox) {
            (Some(name), true) => hostpath_provisioner_dir(data_dir, name),
            _ => host_dir(data_dir, &host_path.path),
        });
    }
    if let Some(local) = &spec.local {
        return Some(host_dir(data_dir, &local.path));
    }
    if let Some(csi) = &spec.csi {
        return Some(csi_dir(data_dir, &csi.driver, &csi.volume_handle));
    }
    None
}

// ---------------------------------------------------------------------------
// Path safety

/// A name as one safe path segment: characters outside `[A-Za-z0-9._-]`
/// (and the names `.`, `..` and the empty name) are percent-encoded, so the
/// result never contains a separator and never climbs a level.
pub fn segment(name: &str) -> String {
    if name.is_empty() || name == "." || name == ".." {
        return name
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
            + "%";
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `root` joined with an absolute (or relative) path interpreted inside
/// it: `.` is dropped and `..` never climbs above `root`, as if `root` were
/// a chroot.
pub fn contained(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let mut out = root.to_path_buf();
    out.extend(parts);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        HostPathVolumeSource, LocalVolumeSource, NFSVolumeSource, PersistentVolumeSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pv(
        name: &str,
        spec: PersistentVolumeSpec,
        provisioned_by: Option<&str>,
    ) -> PersistentVolume {
        PersistentVolume {
            metadata: ObjectMeta {
                name: Some(name.into()),
                annotations: provisioned_by
                    .map(|p| [(PROVISIONED_BY_ANNOTATION.to_string(), p.to_string())].into()),
                ..Default::default()
            },
            spec: Some(spec),
            status: None,
        }
    }

    #[test]
    fn pod_paths_follow_the_layout() {
        let data = Path::new("/d");
        assert_eq!(
            container_root(data, "u1", "nginx"),
            Path::new("/d/node/pods/u1/containers/nginx/rootfs")
        );
        assert_eq!(
            empty_dir(data, "u1", "cache"),
            Path::new("/d/node/pods/u1/volumes/cache")
        );
        assert_eq!(
            log_path(data, "u1", "nginx", LogInstance::Previous),
            Path::new("/d/node/pods/u1/logs/nginx.previous.log")
        );
    }

    #[test]
    fn names_cannot_escape_their_directory() {
        let data = Path::new("/d");
        assert_eq!(pod_dir(data, ".."), Path::new("/d/node/pods/%2E%2E%"));
        assert_eq!(
            empty_dir(data, "u", "a/../../x"),
            Path::new("/d/node/pods/u/volumes/a%2F..%2F..%2Fx")
        );
        assert_eq!(
            host_dir(data, "/../../etc/passwd"),
            Path::new("/d/volumes/host/etc/passwd")
        );
    }

    #[test]
    fn nfs_volumes_map_to_their_export_directory() {
        let spec = PersistentVolumeSpec {
            nfs: Some(NFSVolumeSource {
                server: "nfs.sandbox.local".into(),
                path: "/exports/default-www-web-0-pvc-1".into(),
                read_only: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            pv_backing_dir(Path::new("/d"), &pv("pvc-1", spec, None)),
            Some(PathBuf::from(
                "/d/volumes/nfs/nfs.sandbox.local/exports/default-www-web-0-pvc-1"
            ))
        );
    }

    #[test]
    fn hostpath_volumes_depend_on_who_made_them() {
        let spec = PersistentVolumeSpec {
            host_path: Some(HostPathVolumeSource {
                path: "/mnt/data".into(),
                type_: None,
            }),
            ..Default::default()
        };
        let data = Path::new("/d");
        assert_eq!(
            pv_backing_dir(data, &pv("pv1", spec.clone(), None)),
            Some(PathBuf::from("/d/volumes/host/mnt/data"))
        );
        assert_eq!(
            pv_backing_dir(data, &pv("pvc-9", spec, Some(HOSTPATH_PROVISIONER))),
            Some(PathBuf::from("/d/volumes/hostpath/pvc-9"))
        );
        let local = PersistentVolumeSpec {
            local: Some(LocalVolumeSource {
                path: "/mnt/disks/ssd1".into(),
                fs_type: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            pv_backing_dir(data, &pv("l", local, None)),
            Some(PathBuf::from("/d/volumes/host/mnt/disks/ssd1"))
        );
        assert_eq!(
            pv_backing_dir(data, &pv("none", PersistentVolumeSpec::default(), None)),
            None
        );
    }

    #[test]
    fn logs_round_trip_and_honour_the_query() {
        let dir = tempfile::tempdir().expect("temp dir");
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
        let t1: Timestamp = "2026-01-01T00:00:01.5Z".parse().expect("time");
        let lines = [
            LogLine {
                time: t0,
                stream: LogStream::Stdout,
                text: "first".into(),
            },
            LogLine {
                time: t1,
                stream: LogStream::Stderr,
                text: "second".into(),
            },
        ];
        append_log(dir.path(), "u", "c", &lines).expect("append");
        let all = read_log(dir.path(), "u", "c", &LogQuery::default()).expect("read");
        assert_eq!(all, "first\nsecond\n");
        let tail = LogQuery {
            tail_lines: Some(1),
            timestamps: true,
            ..Default::default()
        };
        assert_eq!(
            read_log(dir.path(), "u", "c", &tail).expect("read"),
            "2026-01-01T00:00:01.5Z second\n"
        );
        let since = LogQuery {
            since: Some(t1),
            limit_bytes: Some(3),
            ..Default::default()
        };
        assert_eq!(read_log(dir.path(), "u", "c", &since).expect("read"), "sec");
    }

    #[test]
    fn a_restart_keeps_one_previous_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let line = |text: &str| LogLine {
            time: Timestamp::UNIX_EPOCH,
            stream: LogStream::Stdout,
            text: text.into(),
        };
        let previous = LogQuery {
            previous: true,
            ..Default::default()
        };
        assert!(matches!(
            read_log(dir.path(), "u", "c", &previous),
            Err(NodeError::NoLog { .. })
        ));
        append_log(dir.path(), "u", "c", &[line("run 1")]).expect("append");
        rotate_log(dir.path(), "u", "c").expect("rotate");
        // Waiting to restart: both reads give the instance that exited.
        assert_eq!(
            read_log(dir.path(), "u", "c", &LogQuery::default()).expect("read"),
            "run 1\n"
        );
        append_log(dir.path(), "u", "c", &[line("run 2")]).expect("append");
        assert_eq!(
            read_log(dir.path(), "u", "c", &previous).expect("read"),
            "run 1\n"
        );
        assert_eq!(
            read_log(dir.path(), "u", "c", &LogQuery::default()).expect("read"),
            "run 2\n"
        );
        assert_eq!(pod_uids_on_disk(dir.path()), ["u"]);
        remove_pod_dirs(dir.path(), "u").expect("remove");
        assert!(pod_uids_on_disk(dir.path()).is_empty());
        assert!(!pod_dir(dir.path(), "u").exists());
        remove_pod_dirs(dir.path(), "u").expect("removing twice is fine");
    }
}
