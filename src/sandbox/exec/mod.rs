//! `pods/exec`: run a command in a simulated container over a WebSocket,
//! speaking the channel protocols kubectl and kube-rs use.
//!
//! # Wire protocol (what a real API server does, and what this reproduces)
//!
//! The client upgrades `GET /api/v1/namespaces/{ns}/pods/{name}/exec?command=..`
//! to a WebSocket, offering subprotocols in its order of preference (kubectl
//! 1.37 offers only `v5.channel.k8s.io`; kube-rs offers v5 then v4). The server
//! picks the first offered one it supports (wsstream's `handshake`), and
//! echoes it in `Sec-WebSocket-Protocol`. Every binary message starts with a
//! channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (a `Status` JSON written
//! once, at the end), 4 terminal resize. v5 adds `[255, channel]`, sent by the
//! client to half-close its stdin. `v4.base64.channel.k8s.io` sends text
//! messages: the channel as an ASCII digit, then base64 data.
//!
//! On connect the server writes an empty message on the lowest output channel
//! it opened; at the end it writes the status, sends a close frame and waits
//! for the client to close (the apiserver's stream translator `finish`).
//!
//! Errors found before the upgrade (no such pod, bad container, pod not
//! scheduled) are answered as plain `Status` responses; kubectl then retries
//! over SPDY (a POST with `Upgrade: SPDY/3.1`), gets the same `Status` again
//! and prints `Error from server (BadRequest): ...`. So the router must send
//! POSTs here too: they get the same checks, then `400 Upgrade request required`.
//!
//! # Failures inside the container, as a containerd node reports them
//!
//! * non-zero exit: status `NonZeroExitCode` with an `ExitCode` cause; kubectl
//!   prints `command terminated with exit code N` and exits N.
//! * a missing executable: runc cannot start the process, and the status is an
//!   `InternalError` whose message ends in `exec: "foo": executable file not
//!   found in $PATH: unknown`; kubectl prints it after `error: ` and exits 1.
//!   (Through a 1.30+ API server the message is prefixed twice with `Internal
//!   error occurred: `, because the v5 translator wraps the kubelet's error.)
//! * a container that is not running: `unable to upgrade connection: container
//!   not found ("nginx")`, from the kubelet.

pub mod fs;
pub mod shell;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, Secret};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::sandbox::api::cluster::Cluster;
use crate::sandbox::api::error::ApiError;
use crate::sandbox::node;
use fs::{MountTable, VolumeDirs};
use shell::{Container, ExecOutcome, Input, Io, OutputSink, StdinStream};

/// Channel numbers of the remote command protocols.
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
/// v5: `[CLOSE, channel]` half-closes a channel.
const CLOSE: u8 = 255;

/// How long the server waits for the client to close after the status was sent.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// A subprotocol this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelProtocol {
    V5,
    V4,
    V4Base64,
}

impl ChannelProtocol {
    const SUPPORTED: [ChannelProtocol; 3] = [
        ChannelProtocol::V5,
        ChannelProtocol::V4,
        ChannelProtocol::V4Base64,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChannelProtocol::V5 => "v5.channel.k8s.io",
            ChannelProtocol::V4 => "v4.channel.k8s.io",
            ChannelProtocol::V4Base64 => "v4.base64.channel.k8s.io",
        }
    }

    /// The first protocol in the client's list that is supported, as
    /// wsstream's handshake chooses. `offered` holds the raw
    /// `Sec-WebSocket-Protocol` header values (comma-separated lists).
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<ChannelProtocol> {
        offered
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .find_map(|name| Self::SUPPORTED.into_iter().find(|p| p.name() == name))
    }
}

/// The query of a `pods/exec` request.
///
/// `command` repeats (`?command=sh&command=-c&command=...`), so it cannot come
/// from a plain `Query<ExecQuery>`: build it with [`ExecQuery::parse`] from
/// the raw query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecQuery {
    pub command: Vec<String>,
    pub container: Option<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ExecQuery {
    /// Parse a raw query string (`None` when the URL has none). Booleans
    /// accept what Go's `strconv.ParseBool` accepts (`true`, `1`, `T`...).
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let uri: axum::http::Uri = format!("/?{}", raw.unwrap_or_default())
            .parse()
            .map_err(|_| ApiError::bad_request("invalid query string"))?;
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let mut query = ExecQuery::default();
        for (key, value) in pairs {
            let flag = || parse_bool(&key, &value);
            match key.as_str() {
                "command" => query.command.push(value),
                "container" => query.container = Some(value).filter(|c| !c.is_empty()),
                "stdin" => query.stdin = flag()?,
                "stdout" => query.stdout = flag()?,
                "stderr" => query.stderr = flag()?,
                "tty" => query.tty = flag()?,
                _ => {}
            }
        }
        Ok(query)
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "strconv.ParseBool: parsing \"{value}\": invalid syntax for {key}"
        ))),
    }
}

/// What exec needs from the cluster: the pod, and where its volumes live.
/// `Cluster` implements it; tests use a fixed pod.
pub trait ExecBackend: Send + Sync + 'static {
    fn pod(&self, namespace: &str, name: &str) -> Result<Pod, ApiError>;
    /// Backing directory of the volume bound to a claim (`None` while unbound).
    fn claim_dir(&self, namespace: &str, claim: &str) -> Result<Option<PathBuf>, ApiError>;
    /// The files of a configMap or secret volume (`None` if it does not exist).
    fn volume_files(
        &self,
        namespace: &str,
        source: &VolumeFilesSource,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, ApiError>;
}

/// The sandbox's API server as the exec backend.
struct ClusterBackend {
    cluster: Cluster,
    data_dir: PathBuf,
}

/// `Ok(None)` for a 404, the object otherwise.
fn found<T>(result: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(object) => Ok(Some(object)),
        Err(error) if error.code == 404 => Ok(None),
        Err(error) => Err(error),
    }
}

impl ExecBackend for ClusterBackend {
    fn pod(&self, namespace: &str, name: &str) -> Result<Pod, ApiError> {
        self.cluster.get_typed::<Pod>(Some(namespace), name)
    }

    fn claim_dir(&self, namespace: &str, claim: &str) -> Result<Option<PathBuf>, ApiError> {
        let Some(claim) = found(
            self.cluster
                .get_typed::<PersistentVolumeClaim>(Some(namespace), claim),
        )?
        else {
            return Ok(None);
        };
        let Some(volume_name) = claim
            .spec
            .and_then(|spec| spec.volume_name)
            .filter(|name| !name.is_empty())
        else {
            return Ok(None);
        };
        let volume = found(
            self.cluster
                .get_typed::<PersistentVolume>(None, &volume_name),
        )?;
        Ok(volume.and_then(|pv| node::pv_backing_dir(&self.data_dir, &pv)))
    }

    fn volume_files(
        &self,
        namespace: &str,
        source: &VolumeFilesSource,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, ApiError> {
        Ok(match source {
            VolumeFilesSource::ConfigMap(name) => {
                found(self.cluster.get_typed::<ConfigMap>(Some(namespace), name))?.map(|cm| {
                    let mut files: BTreeMap<String, Vec<u8>> = cm
                        .data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.into_bytes()))
                        .collect();
                    for (key, value) in cm.binary_data.unwrap_or_default() {
                        files.insert(key, value.0);
                    }
                    files
                })
            }
            VolumeFilesSource::Secret(name) => {
                found(self.cluster.get_typed::<Secret>(Some(namespace), name))?.map(|secret| {
                    let mut files: BTreeMap<String, Vec<u8>> = secret
                        .data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.0))
                        .collect();
                    for (key, value) in secret.string_data.unwrap_or_default() {
                        files.insert(key, value.into_bytes());
                    }
                    files
                })
            }
        })
    }
}

/// A configMap or secret a volume projects into files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeFilesSource {
    ConfigMap(String),
    Secret(String),
}

/// A container found in the pod and ready to run commands.
struct Target {
    pod: Pod,
    container_name: String,
    running: bool,
}

/// The checks the API server makes before it proxies to the kubelet.
fn locate(
    backend: &dyn ExecBackend,
    namespace: &str,
    pod_name: &str,
    query: &ExecQuery,
) -> Result<Target, ApiError> {
    let pod = backend.pod(namespace, pod_name)?;
    let spec = pod.spec.clone().unwrap_or_default();
    let container_name = match &query.container {
        Some(name) => {
            let known = spec
                .containers
                .iter()
                .map(|c| &c.name)
                .chain(spec.init_containers.iter().flatten().map(|c| &c.name))
                .chain(spec.ephemeral_containers.iter().flatten().map(|c| &c.name))
                .any(|n| n == name);
            if !known {
                return Err(ApiError::bad_request(format!(
                    "container {name} is not valid for pod {pod_name}"
                )));
            }
            name.clone()
        }
        None => match spec.containers.as_slice() {
            [only] => only.name.clone(),
            [] => {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {pod_name}"
                )));
            }
            many => {
                let names: Vec<&str> = many
                    .iter()
                    .map(|c| c.name.as_str())
                    .chain(
                        spec.init_containers
                            .iter()
                            .flatten()
                            .map(|c| c.name.as_str()),
                    )
                    .chain(
                        spec.ephemeral_containers
                            .iter()
                            .flatten()
                            .map(|c| c.name.as_str()),
                    )
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
        },
    };
    if spec.node_name.as_deref().unwrap_or_default().is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {pod_name} does not have a host assigned"
        )));
    }
    if !(query.stdin || query.stdout || query.stderr) {
        return Err(ApiError::bad_request(
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    if query.command.is_empty() {
        return Err(ApiError::bad_request("you must specify a command"));
    }
    let running = pod
        .status
        .as_ref()
        .into_iter()
        .flat_map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
                .chain(s.ephemeral_container_statuses.iter().flatten())
        })
        .any(|status| {
            status.name == container_name
                && status.state.as_ref().is_some_and(|s| s.running.is_some())
        });
    Ok(Target {
        pod,
        container_name,
        running,
    })
}

/// Build the container's view: mounts, hostname, environment.
fn prepare_container(
    backend: &dyn ExecBackend,
    data_dir: &Path,
    target: &Target,
) -> Result<Container, String> {
    let pod = &target.pod;
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let container_spec = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == target.container_name)
        .cloned()
        .unwrap_or_default();
    let mut dirs = VolumeDirs::default();
    for volume in spec.volumes.iter().flatten() {
        if let Some(claim) = &volume.persistent_volume_claim {
            let dir = backend
                .claim_dir(&namespace, &claim.claim_name)
                .map_err(|e| e.message)?;
            if let Some(dir) = dir {
                dirs.claims.insert(claim.claim_name.clone(), dir);
            }
            continue;
        }
        let dir = node::empty_dir(data_dir, &uid, &volume.name);
        let source = match (&volume.config_map, &volume.secret) {
            (Some(cm), _) => Some(VolumeFilesSource::ConfigMap(cm.name.clone())),
            (_, Some(secret)) => secret.secret_name.clone().map(VolumeFilesSource::Secret),
            _ => None,
        };
        if let Some(source) = source
            && let Some(files) = backend
                .volume_files(&namespace, &source)
                .map_err(|e| e.message)?
        {
            fs::materialize_files(&dir, &files).map_err(|e| e.to_string())?;
        }
        dirs.pod_volume.insert(volume.name.clone(), dir);
    }
    let mounts = fs::container_mounts(pod, &container_spec, &dirs).map_err(|e| e.to_string())?;
    let hostname = fs::pod_hostname(pod);
    let layer = node::container_root(data_dir, &uid, &target.container_name);
    let table = MountTable::prepare(&layer, mounts, &hostname).map_err(|e| e.to_string())?;
    Ok(Container {
        fs: Arc::new(table),
        hostname,
        env: fs::container_env(pod, &container_spec),
        working_dir: container_spec
            .working_dir
            .clone()
            .unwrap_or_else(|| "/".into()),
    })
}

fn status_response(error: &ApiError) -> Response {
    let code = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        error.to_status().to_string(),
    )
        .into_response()
}

/// Serve `GET|POST /api/v1/namespaces/{namespace}/pods/{pod}/exec` from the
/// sandbox's cluster; `data_dir` is the sandbox data directory (node state
/// and volume contents live under it, see `node.rs`).
///
/// The router passes the raw query string (`axum::extract::RawQuery`) and the
/// upgrade extractor as a `Result`, so that requests without WebSocket
/// headers (kubectl's SPDY fallback) still get the pre-upgrade checks and a
/// `Status` answer:
///
/// ```text
/// async fn exec(
///     State(state): State<AppState>,
///     Path((ns, pod)): Path<(String, String)>,
///     RawQuery(query): RawQuery,
///     upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
/// ) -> Response {
///     exec::handle_exec(state.cluster.clone(), state.data_dir.clone(), ns, pod, query, upgrade).await
/// }
/// ```
pub async fn handle_exec(
    cluster: Cluster,
    data_dir: PathBuf,
    namespace: String,
    pod_name: String,
    raw_query: Option<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let backend = Arc::new(ClusterBackend {
        cluster,
        data_dir: data_dir.clone(),
    });
    serve_exec(backend, data_dir, namespace, pod_name, raw_query, upgrade).await
}

/// [`handle_exec`] over any [`ExecBackend`] (tests serve a fixed pod).
pub async fn serve_exec<B: ExecBackend>(
    backend: Arc<B>,
    data_dir: PathBuf,
    namespace: String,
    pod_name: String,
    raw_query: Option<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let query = match ExecQuery::parse(raw_query.as_deref()) {
        Ok(query) => query,
        Err(error) => return status_response(&error),
    };
    let target = match locate(backend.as_ref(), &namespace, &pod_name, &query) {
        Ok(target) => target,
        Err(error) => return status_response(&error),
    };
    let Ok(mut upgrade) = upgrade else {
        return status_response(&ApiError::bad_request("Upgrade request required"));
    };
    let offered: Vec<String> = upgrade
        .requested_protocols()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let Some(protocol) = ChannelProtocol::negotiate(offered.iter().map(String::as_str)) else {
        let supported: Vec<&str> = ChannelProtocol::SUPPORTED
            .iter()
            .map(|p| p.name())
            .collect();
        return status_response(&ApiError::bad_request(format!(
            "requested protocol(s) are not supported: [{}]; supports [{}]",
            offered.join(" "),
            supported.join(" ")
        )));
    };
    if !target.running && protocol != ChannelProtocol::V5 {
        // A v4 request reaches the kubelet, which answers in plain text.
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("container not found (\"{}\")", target.container_name),
        )
            .into_response();
    }
    upgrade.set_selected_protocol(HeaderValue::from_static(protocol.name()));
    upgrade.on_upgrade(move |socket| async move {
        let session = Session { protocol, query };
        let container = if target.running {
            prepare_container(backend.as_ref(), &data_dir, &target).map_err(|reason| {
                StreamStatus::internal(&format!("failed to prepare container: {reason}"))
            })
        } else {
            Err(StreamStatus::internal(&format!(
                "unable to upgrade connection: container not found (\"{}\")",
                target.container_name
            )))
        };
        session.run(socket, container).await;
    })
}

/// The `Status` written on the error channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamStatus {
    metadata: serde_json::Map<String, serde_json::Value>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<StatusDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct StatusDetails {
    causes: Vec<StatusCause>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct StatusCause {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    message: String,
}

impl StreamStatus {
    fn success() -> Self {
        StreamStatus {
            metadata: Default::default(),
            status: "Success",
            message: None,
            reason: None,
            details: None,
            code: None,
        }
    }

    /// A non-zero exit. The message is what the component that reports it
    /// writes: the API server's v5 translator, or containerd for v4.
    fn exit_code(protocol: ChannelProtocol, command: &[String], code: i32) -> Self {
        let cause = match protocol {
            ChannelProtocol::V5 => format!("command terminated with exit code {code}"),
            _ => format!(
                "error executing command [{}], exit code {code}",
                command.join(" ")
            ),
        };
        StreamStatus {
            metadata: Default::default(),
            status: "Failure",
            message: Some(format!(
                "command terminated with non-zero exit code: {cause}"
            )),
            reason: Some("NonZeroExitCode"),
            details: Some(StatusDetails {
                causes: vec![StatusCause {
                    reason: Some("ExitCode"),
                    message: code.to_string(),
                }],
            }),
            code: None,
        }
    }

    /// An error from the runtime or kubelet (`apierrors.NewInternalError`).
    /// Under v5 the API server wraps the kubelet's message once more.
    fn internal(error: &str) -> Self {
        let (message, cause) = (
            format!("Internal error occurred: {error}"),
            error.to_string(),
        );
        StreamStatus {
            metadata: Default::default(),
            status: "Failure",
            message: Some(message),
            reason: Some("InternalError"),
            details: Some(StatusDetails {
                causes: vec![StatusCause {
                    reason: None,
                    message: cause,
                }],
            }),
            code: Some(500),
        }
    }

    fn from_outcome(protocol: ChannelProtocol, command: &[String], outcome: ExecOutcome) -> Self {
        match outcome {
            ExecOutcome::Exited(0) => StreamStatus::success(),
            ExecOutcome::Exited(code) => StreamStatus::exit_code(protocol, command, code),
            ExecOutcome::NotStarted(reason) => {
                // runc's wording, wrapped by containerd's CRI exec as it reports it.
                let exec_id = uuid::Uuid::new_v4().simple().to_string()
                    + &uuid::Uuid::new_v4().simple().to_string();
                let kubelet_error = format!(
                    "error executing command in container: failed to exec in container: \
                         failed to start exec \"{exec_id}\": OCI runtime exec failed: exec failed: \
                         unable to start container process: {reason}: unknown"
                );
                // Under v5 the API server's translator wraps the kubelet's
                // InternalError status once more.
                match protocol {
                    ChannelProtocol::V5 => {
                        StreamStatus::internal(&format!("Internal error occurred: {kubelet_error}"))
                    }
                    _ => StreamStatus::internal(&kubelet_error),
                }
            }
        }
    }

    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// A message to the client, in order.
enum Outgoing {
    Data(u8, Bytes),
}

/// Output of the command onto one channel.
struct ChannelOutput {
    channel: u8,
    tty: bool,
    sender: mpsc::UnboundedSender<Outgoing>,
}

impl OutputSink for ChannelOutput {
    fn write(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        // A terminal turns "\n" into "\r\n" (onlcr).
        let data = if self.tty {
            let mut translated = Vec::with_capacity(data.len() + 8);
            for &byte in data {
                if byte == b'\n' {
                    translated.push(b'\r');
                }
                translated.push(byte);
            }
            Bytes::from(translated)
        } else {
            Bytes::copy_from_slice(data)
        };
        // The receiver only goes away when the client did: the command is
        // being cancelled and the output has nowhere to go.
        let _ = self.sender.send(Outgoing::Data(self.channel, data));
    }
}

/// Output the client did not ask for.
struct Discard;

impl OutputSink for Discard {
    fn write(&self, _data: &[u8]) {}
}

struct Session {
    protocol: ChannelProtocol,
    query: ExecQuery,
}

impl Session {
    fn encode(&self, channel: u8, data: &[u8]) -> Message {
        match self.protocol {
            ChannelProtocol::V4Base64 => {
                let mut text = String::from(char::from(b'0' + channel));
                text.push_str(&base64::engine::general_purpose::STANDARD.encode(data));
                Message::Text(text.into())
            }
            _ => {
                let mut frame = Vec::with_capacity(data.len() + 1);
                frame.push(channel);
                frame.extend_from_slice(data);
                Message::Binary(frame.into())
            }
        }
    }

    /// A client message as (channel, payload).
    fn decode(&self, message: Message) -> Option<(u8, Vec<u8>)> {
        match (self.protocol, message) {
            (ChannelProtocol::V4Base64, Message::Text(text)) => {
                let mut chars = text.as_str().chars();
                let channel = chars.next()?.to_digit(10)? as u8;
                let data = base64::engine::general_purpose::STANDARD
                    .decode(chars.as_str())
                    .ok()?;
                Some((channel, data))
            }
            (ChannelProtocol::V5 | ChannelProtocol::V4, Message::Binary(data)) => {
                let (&channel, rest) = data.split_first()?;
                Some((channel, rest.to_vec()))
            }
            _ => None,
        }
    }

    async fn run(self, socket: WebSocket, container: Result<Container, StreamStatus>) {
        let (mut sink, mut stream) = socket.split();
        // The lowest output channel opened gets an empty message: "connected".
        let hello = if self.query.stdout {
            STDOUT
        } else if self.query.stderr && !self.query.tty {
            STDERR
        } else {
            ERROR
        };
        if sink.send(self.encode(hello, &[])).await.is_err() {
            return;
        }

        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Outgoing>();
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel::<Bytes>();
        let mut stdin_tx = self.query.stdin.then_some(stdin_tx);

        let status = match container {
            Err(status) => status,
            Ok(container) => {
                let stdout: Arc<dyn OutputSink> = if self.query.stdout {
                    Arc::new(ChannelOutput {
                        channel: STDOUT,
                        tty: self.query.tty,
                        sender: out_tx.clone(),
                    })
                } else {
                    Arc::new(Discard)
                };
                // With a terminal, stderr goes to the terminal too (the
                // kubelet drops the stderr stream when tty is set).
                let stderr: Arc<dyn OutputSink> = if self.query.tty && self.query.stdout {
                    stdout.clone()
                } else if self.query.stderr && !self.query.tty {
                    Arc::new(ChannelOutput {
                        channel: STDERR,
                        tty: false,
                        sender: out_tx.clone(),
                    })
                } else {
                    Arc::new(Discard)
                };
                let stdin = if self.query.stdin {
                    Input::Stream(StdinStream::new(stdin_rx))
                } else {
                    Input::Empty
                };
                let io = Io::new(stdin, stdout, stderr);
                let command = self.query.command.clone();
                let mut task =
                    tokio::spawn(async move { shell::run_exec(&container, &command, io).await });
                let mut client_open = true;
                let outcome = loop {
                    tokio::select! {
                        result = &mut task => {
                            break Some(result.unwrap_or_else(|e| {
                                ExecOutcome::NotStarted(format!("exec task failed: {e}"))
                            }));
                        }
                        Some(Outgoing::Data(channel, data)) = out_rx.recv() => {
                            if sink.send(self.encode(channel, &data)).await.is_err() {
                                break None;
                            }
                        }
                        incoming = stream.next(), if client_open => {
                            match incoming {
                                // A v4 client without the v5 close signal (kube-rs)
                                // closes the socket to end stdin: let the command finish.
                                Some(Ok(Message::Close(_))) => {
                                    stdin_tx = None;
                                    client_open = false;
                                }
                                None | Some(Err(_)) => break None,
                                Some(Ok(message)) => self.handle_client_message(message, &mut stdin_tx),
                            }
                        }
                    }
                };
                let Some(outcome) = outcome else {
                    // The client went away: kill the process.
                    task.abort();
                    return;
                };
                // Output written just before the process ended goes first.
                drop(out_tx);
                while let Some(Outgoing::Data(channel, data)) = out_rx.recv().await {
                    if sink.send(self.encode(channel, &data)).await.is_err() {
                        return;
                    }
                }
                StreamStatus::from_outcome(self.protocol, &self.query.command, outcome)
            }
        };

        // finish: status, close frame, then wait for the client's close.
        if sink
            .send(self.encode(ERROR, &status.to_json()))
            .await
            .is_err()
        {
            return;
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: close_code::NORMAL,
                reason: "".into(),
            })))
            .await;
        let _ = tokio::time::timeout(FINISH_TIMEOUT, async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    fn handle_client_message(
        &self,
        message: Message,
        stdin: &mut Option<mpsc::UnboundedSender<Bytes>>,
    ) {
        let Some((channel, data)) = self.decode(message) else {
            return;
        };
        match channel {
            STDIN => {
                if let Some(sender) = stdin.as_ref() {
                    let _ = sender.send(Bytes::from(data));
                }
            }
            CLOSE if self.protocol == ChannelProtocol::V5 && data.first() == Some(&STDIN) => {
                // Half-close: the process sees end of input.
                *stdin = None;
            }
            // Terminal sizes change nothing in the built-in programs.
            RESIZE => {}
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
