//! `kubectl sts watch` against the sandbox, run as a user runs it: the built
//! binary with the sandbox's kubeconfig, its output piped (so not a terminal:
//! one line per transition), while kubectl changes the StatefulSet.

mod support;

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{TestSandbox, apply_yaml, fixture, kubectl_ok, start_sandbox};

/// A running `kubectl-sts watch` whose stdout and stderr are collected line by line.
struct Watch {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// Everything a pipe delivers, as it arrives (a redrawn screen has no newlines).
fn collect(mut reader: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let text = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("output buffer")
                .extend_from_slice(&chunk[..n]);
        }
    });
    text
}

impl Watch {
    fn start(sandbox: &TestSandbox, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-sts"))
            .arg("--kubeconfig")
            .arg(sandbox.kubeconfig())
            .arg("watch")
            .args(args)
            .env_remove("KUBECONFIG")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl-sts watch");
        let stdout = collect(child.stdout.take().expect("piped stdout"));
        let stderr = collect(child.stderr.take().expect("piped stderr"));
        Watch {
            child,
            stdout,
            stderr,
        }
    }

    fn lines(&self) -> Vec<String> {
        let bytes = self.stdout.lock().expect("output buffer");
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn errors(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("output buffer")).into_owned()
    }

    /// Wait until some stdout line satisfies `found`.
    async fn wait_for(&self, timeout: Duration, what: &str, found: impl Fn(&str) -> bool) {
        let seen = support::eventually(timeout, || {
            self.lines().iter().any(|l| found(l)).then_some(())
        })
        .await;
        assert!(
            seen.is_some(),
            "no line with {what} within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
            self.lines().join("\n"),
            self.errors()
        );
    }

    /// Start a watch and wait until it has printed its starting state (it
    /// states the set, or that the set does not exist yet): from then on it
    /// sees every change.
    async fn listening(sandbox: &TestSandbox, args: &[&str]) -> Watch {
        let watch = Watch::start(sandbox, args);
        watch
            .wait_for(Duration::from_secs(20), "the starting state", |l| {
                l.starts_with("statefulset default/web:") || l.contains("\"type\":\"state\"")
            })
            .await;
        watch
    }

    /// Wait for the process to exit on its own.
    async fn exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll kubectl-sts") {
                // Let the reader threads drain the pipes.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "kubectl-sts watch still running after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                self.lines().join("\n"),
                self.errors()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Position of the first line containing `needle`, failing with the whole log.
fn position(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{}", lines.join("\n")))
}

fn assert_plain(lines: &[String]) {
    assert!(
        lines.iter().all(|l| !l.contains('\u{1b}')),
        "escape codes in non-terminal output:\n{}",
        lines.join("\n")
    );
}

/// The web fixture with another replica count and extra `updateStrategy`.
fn web_manifest(replicas: u32, partition: Option<u32>) -> String {
    let mut yaml = fixture("web.yaml").replace("replicas: 3", &format!("replicas: {replicas}"));
    if let Some(partition) = partition {
        yaml = yaml.replace(
            "  serviceName: headless-svc\n",
            &format!(
                "  serviceName: headless-svc\n  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      partition: {partition}\n"
            ),
        );
    }
    yaml
}

fn apply(sandbox: &TestSandbox, yaml: &str) {
    let output = apply_yaml(sandbox, yaml);
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Wait for the set to be ready the way a script would: with the watch itself.
async fn wait_ready(sandbox: &TestSandbox) {
    let mut watch = Watch::start(sandbox, &["web", "--until", "ready", "--timeout", "60s"]);
    let status = watch.exit(Duration::from_secs(70)).await;
    assert!(
        status.success(),
        "web never became ready:\n{}",
        watch.errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creating_a_set_shows_ordered_start_and_until_ready_exits_0() {
    let sandbox = start_sandbox().await;
    let mut watch =
        Watch::listening(&sandbox, &["web", "--until", "ready", "--timeout", "60s"]).await;

    apply(&sandbox, &web_manifest(3, None));
    let status = watch.exit(Duration::from_secs(70)).await;
    let lines = watch.lines();
    assert!(
        status.success(),
        "exit {status}:\n{}\n{}",
        lines.join("\n"),
        watch.errors()
    );

    let web0_ready = position(&lines, "Z web-0 Ready after");
    let web1_created = position(&lines, "Z web-1 created");
    let web1_ready = position(&lines, "Z web-1 Ready after");
    let web2_created = position(&lines, "Z web-2 created");
    assert!(
        web0_ready < web1_created && web1_created < web1_ready && web1_ready < web2_created,
        "start was not ordered:\n{}",
        lines.join("\n")
    );
    assert!(
        lines.iter().any(|l| l.contains("claim www-web-0")),
        "{}",
        lines.join("\n")
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("statefulset web is ready"))
    );
    assert_plain(&lines);
    // Every transition line starts with a timestamp.
    let transitions: Vec<&String> = lines.iter().filter(|l| l.contains(" web-")).collect();
    assert!(
        transitions
            .iter()
            .filter(|l| l.contains("created") || l.contains("Ready after"))
            .all(|l| l.starts_with("20") && l.as_bytes().get(10) == Some(&b'T')),
        "{}",
        lines.join("\n")
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scaling_up_creates_in_rising_order_and_down_deletes_in_falling_order() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &web_manifest(3, None));
    wait_ready(&sandbox).await;

    let watch = Watch::listening(&sandbox, &["web", "--log"]).await;
    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=5"]);
    watch
        .wait_for(Duration::from_secs(60), "web-4 Ready", |l| {
            l.contains("Z web-4 Ready after")
        })
        .await;
    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=2"]);
    watch
        .wait_for(Duration::from_secs(60), "Z web-2 deleted", |l| {
            l.contains("Z web-2 deleted")
        })
        .await;

    let lines = watch.lines();
    assert!(
        lines.iter().any(|l| l.contains("web scaled 3 -> 5")),
        "{}",
        lines.join("\n")
    );
    assert!(position(&lines, "Z web-3 created") < position(&lines, "Z web-3 Ready after"));
    assert!(position(&lines, "Z web-3 Ready after") < position(&lines, "Z web-4 created"));
    assert!(position(&lines, "Z web-4 deleted") < position(&lines, "Z web-3 terminating"));
    assert!(position(&lines, "Z web-3 deleted") < position(&lines, "Z web-2 terminating"));
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("Z web-1 deleted") || l.contains("Z web-0 deleted"))
    );
    assert_plain(&lines);
    drop(watch);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_update_is_rolled_once_the_ordinals_above_the_partition_are_new() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &web_manifest(4, Some(2)));
    wait_ready(&sandbox).await;

    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.26"]);
    let mut watch = Watch::start(&sandbox, &["web", "--until", "rolled", "--timeout", "60s"]);
    let status = watch.exit(Duration::from_secs(70)).await;
    let lines = watch.lines();
    assert!(
        status.success(),
        "exit {status}:\n{}\n{}",
        lines.join("\n"),
        watch.errors()
    );
    assert!(
        position(&lines, "web-3 -> revision") < position(&lines, "web-2 -> revision"),
        "{}",
        lines.join("\n")
    );
    // The final rows: 0 and 1 stay on the old revision, 2 and 3 are new.
    let row = |pod: &str| {
        lines
            .iter()
            .rev()
            .find(|l| l.starts_with(&format!("{pod} ")))
            .cloned()
            .unwrap_or_else(|| panic!("no row for {pod}:\n{}", lines.join("\n")))
    };
    assert!(row("web-0").contains("(old)"), "{}", row("web-0"));
    assert!(row("web-1").contains("(old)"), "{}", row("web-1"));
    assert!(row("web-2").contains("(new)"), "{}", row("web-2"));
    assert!(row("web-3").contains("(new)"), "{}", row("web-3"));
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("statefulset web has rolled out"))
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("web-1 -> revision") || l.contains("web-0 -> revision"))
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashing_update_times_out_naming_the_blocked_ordinal() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &web_manifest(3, None));
    wait_ready(&sandbox).await;

    kubectl_ok(
        &sandbox,
        &["set", "image", "sts/web", "nginx=nginx:1.25-crash"],
    );
    let started = Instant::now();
    let mut watch = Watch::start(&sandbox, &["web", "--until", "rolled", "--timeout", "20s"]);
    let status = watch.exit(Duration::from_secs(40)).await;
    let lines = watch.lines();
    let errors = watch.errors();
    assert_eq!(status.code(), Some(1), "{}\n{errors}", lines.join("\n"));
    assert!(started.elapsed() >= Duration::from_secs(20));
    assert!(
        errors.contains("timed out after 20s")
            && errors.contains("web-2 not Ready: CrashLoopBackOff (restarts "),
        "{errors}"
    );
    // The restarts rise in the log, and the final row shows the crash loop.
    let restarts: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.split("web-2 restarted (restarts ").nth(1))
        .filter_map(|rest| rest.trim_end_matches(')').parse().ok())
        .collect();
    assert!(restarts.len() >= 2, "{}", lines.join("\n"));
    assert!(restarts.windows(2).all(|w| w[0] < w[1]), "{restarts:?}");
    let web2_row = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("web-2 "))
        .unwrap_or_else(|| panic!("no web-2 row:\n{}", lines.join("\n")));
    assert!(
        web2_row.contains("CrashLoopBackOff") || web2_row.contains("Error"),
        "{web2_row}"
    );
    assert_plain(&lines);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_output_is_one_parseable_object_per_line() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &web_manifest(1, None));
    wait_ready(&sandbox).await;

    let watch = Watch::listening(&sandbox, &["web", "-o", "json"]).await;
    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=2"]);
    watch
        .wait_for(Duration::from_secs(60), "web-1 Ready", |l| {
            l.contains("\"message\":\"web-1 Ready after")
        })
        .await;
    let lines = watch.lines();
    drop(watch);
    let records: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(records[0]["type"], "state");
    assert_eq!(records[0]["rows"][0]["pod"], "web-0");
    assert_eq!(records[0]["rows"][0]["ready"], true);
    let ready = records
        .iter()
        .find(|r| r["type"] == "podReady" && r["pod"] == "web-1")
        .unwrap_or_else(|| panic!("no podReady for web-1:\n{}", lines.join("\n")));
    assert_eq!(ready["statefulSet"], "web");
    assert_eq!(ready["namespace"], "default");
    assert_eq!(ready["ordinal"], 1);
    assert!(ready["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(records.iter().any(|r| r["type"] == "setScaled"));

    // With --until, the last line says how it ended.
    let mut until = Watch::start(&sandbox, &["web", "-o", "json", "--until", "ready"]);
    assert!(
        until.exit(Duration::from_secs(60)).await.success(),
        "{}",
        until.errors()
    );
    let lines = until.lines();
    let last: serde_json::Value =
        serde_json::from_str(lines.last().expect("output")).expect("JSON");
    assert_eq!(last["type"], "until");
    assert_eq!(last["until"], "ready");
    assert_eq!(last["met"], true);
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watch_follows_a_set_through_deletion_and_recreation() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &web_manifest(1, None));
    wait_ready(&sandbox).await;

    let watch = Watch::listening(&sandbox, &["web"]).await;
    let mut deleted = Watch::start(&sandbox, &["web", "--until", "deleted", "--timeout", "60s"]);
    kubectl_ok(&sandbox, &["delete", "sts/web", "--wait=false"]);
    assert!(
        deleted.exit(Duration::from_secs(70)).await.success(),
        "{}",
        deleted.errors()
    );
    watch
        .wait_for(Duration::from_secs(60), "Z web-0 deleted", |l| {
            l.contains("Z web-0 deleted")
        })
        .await;

    apply(&sandbox, &web_manifest(1, None));
    watch
        .wait_for(Duration::from_secs(60), "the new web-0 Ready", |l| {
            l.contains("Z web-0 Ready after")
        })
        .await;
    let lines = watch.lines();
    assert!(lines.iter().any(|l| l.contains("statefulset web deleted")));
    assert!(lines.iter().any(|l| l.contains("statefulset web created")));
    assert!(position(&lines, "Z web-0 deleted") < position(&lines, "Z web-0 created"));
    drop(watch);
    sandbox.shutdown().await;
}

/// The live view on a terminal: `script` gives the watch a pseudo-terminal,
/// as an interactive shell would; q and Ctrl-C leave it with the terminal restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_terminal_the_view_redraws_in_place_and_q_or_ctrl_c_restore_the_terminal() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &web_manifest(2, None));
    wait_ready(&sandbox).await;

    for quit in ["q", "\u{3}"] {
        let command = format!(
            "stty cols 120 rows 30; exec '{}' --kubeconfig '{}' watch web",
            env!("CARGO_BIN_EXE_kubectl-sts"),
            sandbox.kubeconfig().display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start script(1) for a pseudo-terminal");
        let stdout = collect(child.stdout.take().expect("piped stdout"));
        let mut watch = Watch {
            child,
            stdout,
            stderr: Arc::new(Mutex::new(Vec::new())),
        };
        watch
            // Running, not the "not created" placeholder drawn while listing.
            .wait_for(Duration::from_secs(20), "web-1 Running", |l| {
                l.contains("web-1") && l.contains("Running")
            })
            .await;
        {
            use std::io::Write;
            let stdin = watch.child.stdin.as_mut().expect("piped stdin");
            stdin.write_all(quit.as_bytes()).expect("send the key");
            stdin.flush().expect("send the key");
        }
        let status = watch.exit(Duration::from_secs(20)).await;
        let output = watch.lines().join("\n");
        assert!(status.success(), "exit {status} after {quit:?}:\n{output}");
        // Alternate screen entered and left, frames drawn as synchronized updates.
        let entered = output
            .find("\u{1b}[?1049h")
            .expect("alternate screen entered");
        let left = output
            .rfind("\u{1b}[?1049l")
            .expect("alternate screen left");
        assert!(entered < left);
        assert!(output.contains("\u{1b}[?2026h") && output.contains("\u{1b}[?25h"));
        // Running pods are coloured, and the final state stays on the screen after leaving.
        assert!(
            output[..left].contains("\u{1b}[38;5;10mRunning"),
            "{output:?}"
        );
        let after = &output[left..];
        assert!(
            after.contains("web-0") && after.contains("web-1"),
            "{after:?}"
        );
    }
    sandbox.shutdown().await;
}

/// Watches cut by the server every second (as load balancers and API server
/// restarts do) are resumed or relisted by the runtime, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cut_watches_are_resumed_without_losing_transitions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = kubectl_sts::sandbox::SandboxConfig::new(dir.path().join("data"));
    config.timing = kubectl_sts::sandbox::SandboxTiming::fast();
    config.faults = Some(
        kubectl_sts::sandbox::api::faults::FaultSpec::parse_flag("cut-watches=1s")
            .expect("valid fault spec"),
    );
    let sandbox = kubectl_sts::sandbox::start(config)
        .await
        .expect("start the sandbox");
    let sandbox = TestSandbox { sandbox, dir };

    let mut watch =
        Watch::listening(&sandbox, &["web", "--until", "ready", "--timeout", "60s"]).await;
    // Outlive a few cuts before anything happens.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    apply(&sandbox, &web_manifest(3, None));
    let status = watch.exit(Duration::from_secs(70)).await;
    let lines = watch.lines();
    assert!(
        status.success(),
        "exit {status}:\n{}\n{}",
        lines.join("\n"),
        watch.errors()
    );
    for pod in ["web-0", "web-1", "web-2"] {
        let created = format!("Z {pod} created");
        assert_eq!(
            lines.iter().filter(|l| l.contains(&created)).count(),
            1,
            "{pod} created once:\n{}",
            lines.join("\n")
        );
    }
    assert!(position(&lines, "Z web-1 Ready after") < position(&lines, "Z web-2 created"));
    sandbox.shutdown().await;
}
