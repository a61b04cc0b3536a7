//! Persistence: the store (objects and the resourceVersion counter) is
//! snapshotted to `<data-dir>/state.json` shortly after changes (debounced)
//! and at shutdown, written to a temporary file and renamed into place so a
//! crash never leaves half a file; a restarted sandbox loads it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::cluster::Cluster;

pub const STATE_FILE: &str = "state.json";
/// How long after a change the snapshot is written (changes in between coalesce).
const DEBOUNCE: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a sandbox state file: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STATE_FILE)
}

/// The saved snapshot, or None for a fresh data dir.
pub fn load(data_dir: &Path) -> Result<Option<Value>, PersistError> {
    let path = state_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Io {
                action: "reading",
                path,
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| PersistError::Corrupt {
            path,
            reason: e.to_string(),
        })
}

/// The cluster restored from the data dir, or a fresh one.
pub fn load_cluster(data_dir: &Path) -> Result<Cluster, PersistError> {
    match load(data_dir)? {
        Some(snapshot) => {
            Cluster::from_snapshot(&snapshot).map_err(|reason| PersistError::Corrupt {
                path: state_path(data_dir),
                reason,
            })
        }
        None => Ok(Cluster::new()),
    }
}

pub fn save(data_dir: &Path, snapshot: &impl serde::Serialize) -> Result<(), PersistError> {
    use std::io::Write as _;
    let path = state_path(data_dir);
    let tmp = data_dir.join(format!(".{STATE_FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        serde_json::to_writer(&mut out, snapshot)?;
        out.flush()
    };
    write().map_err(|source| PersistError::Io {
        action: "writing",
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| PersistError::Io {
        action: "renaming",
        path,
        source,
    })
}

/// Saves after every burst of changes until `shutdown`, then once more.
pub async fn run(cluster: Cluster, data_dir: PathBuf, shutdown: CancellationToken) {
    let mut changes = cluster.subscribe();
    let mut debounce = DEBOUNCE;
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            _ = shutdown.cancelled() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(debounce) => {}
            _ = shutdown.cancelled() => break,
        }
        // Everything that arrived meanwhile is in this snapshot.
        while let Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) =
            changes.try_recv()
        {}
        let started = std::time::Instant::now();
        let snapshot = cluster.snapshot();
        let saved = {
            let data_dir = data_dir.clone();
            tokio::task::spawn_blocking(move || save(&data_dir, &snapshot)).await
        };
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%err, "cannot save the sandbox state"),
            Err(err) => tracing::warn!(%err, "saving the sandbox state failed"),
        }
        // A large state takes a while to write: space the saves so that
        // writing never takes more than a tenth of the time.
        debounce = DEBOUNCE.max(started.elapsed() * 10);
    }
    if let Err(err) = save(&data_dir, &cluster.snapshot()) {
        tracing::warn!(%err, "cannot save the sandbox state at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::cluster::WriteOptions;
    use crate::sandbox::resources::CONFIG_MAPS;
    use serde_json::json;

    #[test]
    fn a_saved_cluster_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        let cluster = Cluster::new();
        cluster
            .create(
                &CONFIG_MAPS,
                Some("default"),
                json!({"metadata": {"name": "kept"}}),
                &WriteOptions::default(),
            )
            .unwrap();
        save(dir.path(), &cluster.snapshot()).unwrap();
        let loaded = load_cluster(dir.path()).unwrap();
        assert!(loaded.get(&CONFIG_MAPS, Some("default"), "kept").is_ok());
        assert_eq!(loaded.resource_version(), cluster.resource_version());
    }

    #[test]
    fn a_corrupt_state_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(state_path(dir.path()), "{not json").unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(PersistError::Corrupt { .. })
        ));
    }
}
