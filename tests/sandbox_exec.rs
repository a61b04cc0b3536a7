//! `kubectl exec` and kube-rs `Api::exec` against the sandbox's exec endpoint.
//!
//! The first half serves one running pod from a minimal API (discovery, the
//! pod, and the real exec handler) so the wire protocol is checked with the
//! real kubectl 1.37 and kube-rs; the second half drives the full sandbox.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use kubectl_sts::sandbox::api::error::ApiError;
use kubectl_sts::sandbox::exec::{ExecBackend, VolumeFilesSource, serve_exec};
use kubectl_sts::sandbox::resources::PODS;

// ---------------------------------------------------------------------------
// A one-pod API server around the exec handler

struct OnePod {
    pod: Mutex<Value>,
    claim_dir: PathBuf,
}

impl ExecBackend for OnePod {
    fn pod(&self, _namespace: &str, name: &str) -> Result<Pod, ApiError> {
        let pod = self
            .pod
            .lock()
            .map_err(|_| ApiError::internal("lock"))?
            .clone();
        if pod["metadata"]["name"] != name {
            return Err(ApiError::not_found(&PODS, name));
        }
        serde_json::from_value(pod).map_err(|e| ApiError::internal(e.to_string()))
    }

    fn claim_dir(&self, _namespace: &str, claim: &str) -> Result<Option<PathBuf>, ApiError> {
        Ok((claim == "www-web-0").then(|| self.claim_dir.clone()))
    }

    fn volume_files(
        &self,
        _namespace: &str,
        _source: &VolumeFilesSource,
    ) -> Result<Option<std::collections::BTreeMap<String, Vec<u8>>>, ApiError> {
        Ok(None)
    }
}

#[derive(Clone)]
struct FakeApi {
    backend: Arc<OnePod>,
    data_dir: PathBuf,
}

fn web_0(running: bool) -> Value {
    let state = if running {
        json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
    } else {
        json!({"waiting": {"reason": "ContainerCreating"}})
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "uid": "uid-web-0"},
        "spec": {
            "nodeName": "sandbox",
            "hostname": "web-0",
            "containers": [{
                "name": "nginx",
                "image": "nginx:1.25",
                "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]
            }],
            "volumes": [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}]
        },
        "status": {
            "phase": if running { "Running" } else { "Pending" },
            "containerStatuses": [{
                "name": "nginx", "image": "nginx:1.25", "imageID": "", "ready": running,
                "restartCount": 0, "state": state
            }]
        }
    })
}

async fn exec_route(
    State(api): State<FakeApi>,
    UrlPath((namespace, pod)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    serve_exec(
        api.backend.clone(),
        api.data_dir.clone(),
        namespace,
        pod,
        query,
        upgrade,
    )
    .await
}

async fn pod_route(
    State(api): State<FakeApi>,
    UrlPath((_namespace, name)): UrlPath<(String, String)>,
) -> Response {
    match api.backend.pod("default", &name) {
        Ok(_) => axum::Json(
            api.backend
                .pod
                .lock()
                .map(|p| p.clone())
                .unwrap_or_default(),
        )
        .into_response(),
        Err(error) => (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(error.to_status()),
        )
            .into_response(),
    }
}

struct FakeServer {
    url: String,
    api: FakeApi,
    dir: tempfile::TempDir,
}

impl FakeServer {
    async fn start(running: bool) -> FakeServer {
        let dir = tempfile::tempdir().unwrap();
        let api = FakeApi {
            backend: Arc::new(OnePod {
                pod: Mutex::new(web_0(running)),
                claim_dir: dir.path().join("volumes/www-web-0"),
            }),
            data_dir: dir.path().join("data"),
        };
        let app = Router::new()
            .route("/api", get(|| async { axum::Json(json!({"kind": "APIVersions", "versions": ["v1"]})) }))
            .route(
                "/apis",
                get(|| async { axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})) }),
            )
            .route(
                "/api/v1",
                get(|| async {
                    axum::Json(json!({
                        "kind": "APIResourceList", "groupVersion": "v1",
                        "resources": [
                            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
                             "verbs": ["get", "list"], "shortNames": ["po"]},
                            {"name": "pods/exec", "singularName": "", "namespaced": true,
                             "kind": "PodExecOptions", "verbs": ["create", "get"]}
                        ]
                    }))
                }),
            )
            .route("/api/v1/namespaces/{ns}/pods/{name}", get(pod_route))
            .route(
                "/api/v1/namespaces/{ns}/pods/{name}/exec",
                get(exec_route).post(exec_route),
            )
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer { url, api, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        let path = self.dir.path().join("kubeconfig");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
             users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake, namespace: default}}\n\
             current-context: fake\n",
            self.url
        );
        std::fs::write(&path, config).unwrap();
        path
    }

    fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client(), "default")
    }

    fn claim_dir(&self) -> &Path {
        &self.api.backend.claim_dir
    }
}

struct KubectlRun {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> KubectlRun {
    let cache = kubeconfig.with_file_name("kube-cache");
    let mut command = tokio::process::Command::new(support::kubectl_path());
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("kubectl runs");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("kubectl finishes")
        .unwrap();
    KubectlRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------
// kubectl 1.37 (WebSocket v5)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_writes_into_the_claim_and_reads_it_back() {
    let server = FakeServer::start(true).await;
    let config = server.kubeconfig();
    let run = kubectl(
        &config,
        &[
            "exec",
            "web-0",
            "--",
            "sh",
            "-c",
            "echo hello > /usr/share/nginx/html/index.html",
        ],
        None,
    )
    .await;
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(
        std::fs::read_to_string(server.claim_dir().join("index.html")).unwrap(),
        "hello\n"
    );
    let run = kubectl(
        &config,
        &[
            "exec",
            "web-0",
            "--",
            "cat",
            "/usr/share/nginx/html/index.html",
        ],
        None,
    )
    .await;
    assert_eq!((run.code, run.stdout.as_str()), (0, "hello\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_propagates_exit_codes() {
    let server = FakeServer::start(true).await;
    let run = kubectl(
        &server.kubeconfig(),
        &[
            "exec",
            "web-0",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\ncommand terminated with exit code 3\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_of_an_unknown_command() {
    let server = FakeServer::start(true).await;
    let config = server.kubeconfig();
    // Through sh: the shell reports it and exits 127.
    let run = kubectl(
        &config,
        &["exec", "web-0", "--", "sh", "-c", "curl localhost"],
        None,
    )
    .await;
    assert_eq!(run.code, 127);
    assert_eq!(
        run.stderr,
        "sh: curl: not found\ncommand terminated with exit code 127\n"
    );
    // Directly: the runtime cannot start it, as on a containerd node.
    let run = kubectl(&config, &["exec", "web-0", "--", "curl", "localhost"], None).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with(
            "error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \""
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"curl\": executable file not found in $PATH: unknown\n"
        ),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_passes_stdin_and_half_closes_it() {
    let server = FakeServer::start(true).await;
    let run = kubectl(
        &server.kubeconfig(),
        &[
            "exec",
            "-i",
            "web-0",
            "--",
            "sh",
            "-c",
            "cat > /tmp/in; wc -c < /tmp/in; cat /tmp/in",
        ],
        Some("piped data\n"),
    )
    .await;
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout, "11\npiped data\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_errors_before_the_upgrade() {
    let server = FakeServer::start(true).await;
    let config = server.kubeconfig();
    let run = kubectl(
        &config,
        &["exec", "web-0", "-c", "sidecar", "--", "ls"],
        None,
    )
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: container sidecar is not valid for pod web-0 out of: nginx\n"
    );
    let run = kubectl(&config, &["exec", "web-9", "--", "ls"], None).await;
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): pods \"web-9\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_into_a_container_that_is_not_running() {
    let server = FakeServer::start(false).await;
    let run = kubectl(&server.kubeconfig(), &["exec", "web-0", "--", "ls"], None).await;
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: Internal error occurred: unable to upgrade connection: container not found (\"nginx\")\n"
    );
}

// ---------------------------------------------------------------------------
// kube-rs Api::exec (negotiates v5 too)

async fn read_all(reader: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let mut text = String::new();
    if let Some(mut reader) = reader {
        reader.read_to_string(&mut text).await.unwrap();
    }
    text
}

#[tokio::test]
async fn kube_rs_exec_reads_stdout_and_a_success_status() {
    let server = FakeServer::start(true).await;
    let mut process = server
        .pods()
        .exec(
            "web-0",
            [
                "sh",
                "-c",
                "echo hi from $(hostname) > /usr/share/nginx/html/x; cat /usr/share/nginx/html/x",
            ],
            &AttachParams::default(),
        )
        .await
        .unwrap();
    let stdout = read_all(process.stdout()).await;
    let status = process.take_status().unwrap().await.unwrap();
    assert_eq!(stdout, "hi from web-0\n");
    assert_eq!(status.status.as_deref(), Some("Success"));
}

#[tokio::test]
async fn kube_rs_exec_reports_non_zero_exit_codes() {
    let server = FakeServer::start(true).await;
    let mut process = server
        .pods()
        .exec(
            "web-0",
            ["sh", "-c", "echo oops >&2; exit 3"],
            &AttachParams::default(),
        )
        .await
        .unwrap();
    let stderr = read_all(process.stderr()).await;
    let status = process.take_status().unwrap().await.unwrap();
    assert_eq!(stderr, "oops\n");
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let cause = &status.details.unwrap().causes.unwrap()[0];
    assert_eq!(cause.reason.as_deref(), Some("ExitCode"));
    assert_eq!(cause.message.as_deref(), Some("3"));
}

/// kube-rs ends stdin by closing the socket (it does not send the v5 close
/// signal here), so it cannot read output after that: check the file instead.
#[tokio::test]
async fn kube_rs_exec_with_stdin() {
    let server = FakeServer::start(true).await;
    let mut process = server
        .pods()
        .exec(
            "web-0",
            ["sh", "-c", "cat > /usr/share/nginx/html/in"],
            &AttachParams::default().stdin(true).stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = process.stdin().unwrap();
    stdin.write_all(b"round trip\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    drop(stdin);
    let written = server.claim_dir().join("in");
    let mut content = String::new();
    for _ in 0..50 {
        content = std::fs::read_to_string(&written).unwrap_or_default();
        if !content.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(content, "round trip\n");
}

#[tokio::test]
async fn kube_rs_exec_errors_before_the_upgrade_are_api_errors() {
    let server = FakeServer::start(true).await;
    let error = server
        .pods()
        .exec(
            "web-0",
            ["ls"],
            &AttachParams::default().container("sidecar"),
        )
        .await
        .err()
        .expect("exec fails");
    match error {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 400);
            assert_eq!(
                status.message,
                "container sidecar is not valid for pod web-0"
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
}
