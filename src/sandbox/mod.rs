//! The sandbox: a local, simulated Kubernetes cluster.
//!
//! `api` is the API server (object store, API semantics, HTTP); `controllers`
//! are clients of it, each mirroring one upstream controller; `node` and `exec`
//! simulate what a kubelet and container runtime would hold on a node.

pub mod api;
pub mod controllers;
pub mod exec;
pub mod node;
pub mod resources;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use api::cluster::Cluster;
use api::faults::FaultSpec;
use api::http::ServerState;
use api::persist::PersistError;

/// How fast simulated things happen.
///
/// Defaults: a container starts 0.5s after its pod is scheduled and turns
/// Ready 0.5s later, so a 3-replica OrderedReady StatefulSet is Ready in
/// about 3s; termination grace periods are scaled by 0.05 (the default 30s
/// becomes 1.5s). Tests use faster settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SandboxTiming {
    pub pod_start_delay: Duration,
    pub pod_ready_delay: Duration,
    /// Factor applied to terminationGracePeriodSeconds before a pod is killed.
    pub grace_scale: f64,
}

impl Default for SandboxTiming {
    fn default() -> Self {
        SandboxTiming {
            pod_start_delay: Duration::from_millis(500),
            pod_ready_delay: Duration::from_millis(500),
            grace_scale: 0.05,
        }
    }
}

impl SandboxTiming {
    /// Fast settings for tests.
    pub fn fast() -> Self {
        SandboxTiming {
            pod_start_delay: Duration::from_millis(50),
            pod_ready_delay: Duration::from_millis(50),
            grace_scale: 0.01,
        }
    }
}

/// Everything `start` needs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where to write the kubeconfig (default `<data_dir>/kubeconfig`).
    pub kubeconfig_out: Option<PathBuf>,
    /// The bearer token to require (default: a fresh random one).
    pub token: Option<String>,
    pub timing: SandboxTiming,
    pub faults: Option<FaultSpec>,
}

impl SandboxConfig {
    /// Loopback, any free port, default timing.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        SandboxConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            kubeconfig_out: None,
            token: None,
            timing: SandboxTiming::default(),
            faults: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] PersistError),
    #[error("invalid --faults: {0}")]
    Faults(#[from] api::faults::FaultSpecError),
    #[error(transparent)]
    Tls(#[from] api::http_tls::TlsError),
    #[error("waiting for a shutdown signal: {0}")]
    Signal(std::io::Error),
    #[error(
        "another sandbox is already running on {}: stop it first, or give this one its own --data-dir DIR",
        path.display()
    )]
    InUse { path: PathBuf },
}

/// A running sandbox; `shutdown` stops it and saves its state.
pub struct RunningSandbox {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    pub addr: SocketAddr,
    pub kubeconfig_path: PathBuf,
    pub token: String,
    pub data_dir: PathBuf,
    pub cluster: Cluster,
    state: Arc<ServerState>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
    persister: JoinHandle<()>,
    /// Held while running: one sandbox per data directory (state and kubeconfig).
    _data_dir_lock: std::fs::File,
}

impl RunningSandbox {
    /// Replace (or clear) the fault switch, as `POST /sandbox/faults` does.
    pub fn set_faults(&self, faults: Option<FaultSpec>) {
        self.state.set_faults(faults);
    }

    /// The request counts `GET /sandbox/metrics` reports.
    pub fn metrics(&self) -> serde_json::Value {
        self.state.metrics()
    }

    /// The write log `GET /sandbox/writes` serves (committed writes, microsecond clock).
    pub fn writes(&self) -> &api::writelog::WriteLog {
        &self.state.writes
    }

    /// Stops serving, ends watches and controllers, and saves the state.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        for task in &self.tasks {
            task.abort();
        }
        // The server drains gracefully once watches end; bound the wait anyway.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        let _ = self.persister.await;
    }
}

/// Starts the API server, the controllers and persistence; returns once the
/// server accepts requests and the kubeconfig is written.
pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| SandboxError::Io {
        action: "creating",
        path: data_dir.clone(),
        source,
    })?;
    let data_dir_lock = lock_data_dir(&data_dir)?;
    let cluster = api::persist::load_cluster(&data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SandboxError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SandboxError::Listen {
            addr: config.listen,
            source,
        })?;
    let url = format!("https://{}", client_address(addr));
    let certificate = api::http_tls::generate(Some(config.listen.ip()))?;
    let acceptor = api::http_tls::acceptor(&certificate)?;
    let token = config
        .token
        .clone()
        .unwrap_or_else(api::auth::generate_token);
    let kubeconfig_path = config
        .kubeconfig_out
        .clone()
        .unwrap_or_else(|| data_dir.join("kubeconfig"));
    write_kubeconfig(&kubeconfig_path, &url, &certificate.ca_pem, &token)?;

    let state = Arc::new(ServerState::new(
        cluster.clone(),
        token.clone(),
        data_dir.clone(),
        client_address(addr),
        config.faults.clone(),
    ));
    let shutdown = state.shutdown.clone();
    let app = api::http::router(state.clone());
    let server = tokio::spawn(api::http_tls::serve(
        listener,
        acceptor,
        app,
        shutdown.clone(),
    ));
    let persister = tokio::spawn(api::persist::run(
        cluster.clone(),
        data_dir.clone(),
        shutdown.clone(),
    ));
    let mut tasks = controllers::spawn_all(
        cluster.clone(),
        &controllers::ControllerSettings {
            data_dir: data_dir.clone(),
            timing: config.timing,
            shutdown: shutdown.clone(),
        },
    );
    tasks.push(state.writes.follow(&cluster, shutdown.clone()));
    Ok(RunningSandbox {
        url,
        addr,
        kubeconfig_path,
        token,
        data_dir,
        cluster,
        state,
        tasks,
        server,
        persister,
        _data_dir_lock: data_dir_lock,
    })
}

/// An exclusive lock on `DATA_DIR/sandbox.lock`, released when the sandbox ends
/// (or its process dies): two sandboxes on one directory would overwrite each
/// other's state and kubeconfig.
fn lock_data_dir(data_dir: &std::path::Path) -> Result<std::fs::File, SandboxError> {
    let path = data_dir.join("sandbox.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SandboxError::Io {
            action: "creating",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SandboxError::InUse {
            path: data_dir.to_path_buf(),
        }),
        // A file system without locks (some NFS mounts): run unguarded.
        Err(std::fs::TryLockError::Error(_)) => Ok(file),
    }
}

/// The address clients should use: a wildcard listen address is reached via loopback.
fn client_address(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    SocketAddr::new(ip, addr.port()).to_string()
}

/// The kubeconfig text for a sandbox at `url`, trusting `ca_pem`, with `token`.
pub fn kubeconfig_yaml(url: &str, ca_pem: &str, token: &str) -> String {
    use base64::Engine as _;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: sts-sandbox
  cluster:
    server: {url}
    certificate-authority-data: {ca_data}
users:
- name: sts-sandbox
  user:
    token: {token}
contexts:
- name: sts-sandbox
  context:
    cluster: sts-sandbox
    user: sts-sandbox
    namespace: default
current-context: sts-sandbox
preferences: {{}}
"
    )
}

fn write_kubeconfig(path: &Path, url: &str, ca_pem: &str, token: &str) -> Result<(), SandboxError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| SandboxError::Io {
            action: "creating",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, kubeconfig_yaml(url, ca_pem, token)).map_err(|source| {
        SandboxError::Io {
            action: "writing",
            path: path.to_path_buf(),
            source,
        }
    })?;
    // The token grants full access: keep the file private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

/// What `kubectl sts sandbox` passes in (the CLI maps its clap args onto this).
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    pub port: u16,
    /// Listen address; loopback unless set explicitly.
    pub listen: Option<std::net::IpAddr>,
    pub kubeconfig_out: Option<PathBuf>,
    /// Default: `default_data_dir()`.
    pub data_dir: Option<PathBuf>,
    /// The `--faults` flag text.
    pub faults: Option<String>,
    pub start_delay: Option<Duration>,
    pub ready_delay: Option<Duration>,
}

/// `$XDG_DATA_HOME/kubectl-sts/sandbox`, else `~/.local/share/kubectl-sts/sandbox`,
/// else a directory under the system temp dir.
pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kubectl-sts").join("sandbox")
}

impl SandboxOptions {
    pub fn into_config(self) -> Result<SandboxConfig, SandboxError> {
        let ip = self
            .listen
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        let defaults = SandboxTiming::default();
        Ok(SandboxConfig {
            listen: SocketAddr::new(ip, self.port),
            data_dir: self.data_dir.unwrap_or_else(default_data_dir),
            kubeconfig_out: self.kubeconfig_out,
            token: None,
            timing: SandboxTiming {
                pod_start_delay: self.start_delay.unwrap_or(defaults.pod_start_delay),
                pod_ready_delay: self.ready_delay.unwrap_or(defaults.pod_ready_delay),
                grace_scale: defaults.grace_scale,
            },
            faults: self
                .faults
                .as_deref()
                .map(FaultSpec::parse_flag)
                .transpose()?,
        })
    }
}

/// Runs the sandbox in the foreground until SIGINT or SIGTERM.
pub async fn run_cli(options: SandboxOptions) -> Result<(), SandboxError> {
    let sandbox = start(options.into_config()?).await?;
    println!("Sandbox API server listening on {}", sandbox.url);
    println!("export KUBECONFIG={}", sandbox.kubeconfig_path.display());
    let signal = wait_for_signal().await;
    sandbox.shutdown().await;
    signal
}

async fn wait_for_signal() -> Result<(), SandboxError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(SandboxError::Signal)?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(SandboxError::Signal),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(SandboxError::Signal)
    }
}
