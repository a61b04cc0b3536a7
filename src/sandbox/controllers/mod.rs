//! Simulated controllers, each a client of the API server.

pub mod disruption;
pub mod endpoints;
pub mod events;
pub mod gc;
pub mod kubelet;
pub mod protection;
pub mod provisioners;
pub mod resync;
pub mod revision;
pub mod statefulset;
pub mod volumes;

use std::future::Future;
use std::path::PathBuf;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::sandbox::SandboxTiming;
use crate::sandbox::api::cluster::Cluster;

/// What the controllers take from the sandbox's configuration.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// The sandbox data directory (node state and volume contents live under it).
    pub data_dir: PathBuf,
    pub timing: SandboxTiming,
    /// Cancelling it stops every controller.
    pub shutdown: CancellationToken,
}

impl ControllerSettings {
    /// The kubelet's view of the timing: the grace scale also scales restart
    /// back-offs, so the whole sandbox runs at one speed.
    pub fn kubelet_timing(&self) -> kubelet::timeline::KubeletTiming {
        kubelet::timeline::KubeletTiming {
            start_delay: self.timing.pod_start_delay,
            ready_delay: self.timing.pod_ready_delay,
            scale: self.timing.grace_scale,
        }
    }
}

/// Run a controller until it returns or the sandbox shuts down.
fn spawn_until(
    shutdown: CancellationToken,
    controller: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = controller => {}
        }
    })
}

/// Start every controller of the sandbox.
pub fn spawn_all(cluster: Cluster, settings: &ControllerSettings) -> Vec<JoinHandle<()>> {
    let shutdown = &settings.shutdown;
    vec![
        spawn_until(shutdown.clone(), gc::run(cluster.clone(), shutdown.clone())),
        spawn_until(
            shutdown.clone(),
            volumes::run(cluster.clone(), settings.data_dir.clone()),
        ),
        spawn_until(
            shutdown.clone(),
            kubelet::run(
                cluster.clone(),
                settings.data_dir.clone(),
                settings.kubelet_timing(),
            ),
        ),
        spawn_until(
            shutdown.clone(),
            statefulset::run(cluster.clone(), shutdown.clone()),
        ),
        spawn_until(shutdown.clone(), protection::run(cluster.clone())),
        spawn_until(shutdown.clone(), endpoints::run(cluster.clone())),
        spawn_until(shutdown.clone(), disruption::run(cluster)),
    ]
}
