//! `kubectl sts canary` survives its own death and a flaky API server: killed
//! with SIGKILL at many points of a rollout then `--resume`d, every run ends
//! exactly like an uninterrupted one and no pod is updated below the partition
//! in force; against a server failing requests and cutting watches, a canary
//! still completes.

mod support;

use std::collections::BTreeMap;
use std::process::{Child, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use kubectl_sts::commands::canary::state::{CanaryState, Phase, STATE_ANNOTATION};
use kubectl_sts::sandbox::api::faults::FaultSpec;
use support::{
    TestSandbox, apply_yaml, fixture, kube_client, kubectl_ok, kubectl_sts_command, output_text,
    start_sandbox,
};

const REPLICAS: usize = 5;

/// The web example with five pods, rolled out.
async fn web5() -> TestSandbox {
    let sandbox = start_sandbox().await;
    let manifest = fixture("web.yaml").replace("replicas: 3", "replicas: 5");
    let output = apply_yaml(&sandbox, &manifest);
    assert!(output.status.success(), "{}", output_text(&output));
    kubectl_ok(
        &sandbox,
        &["rollout", "status", "sts/web", "--timeout=120s"],
    );
    sandbox
}

fn canary_args<'a>(image: &'a str, soak: &'a str) -> Vec<&'a str> {
    vec![
        "canary",
        "web",
        "--image",
        image,
        "--steps",
        "1,60%,100%",
        "--soak",
        soak,
        "--yes",
    ]
}

fn spawn(sandbox: &TestSandbox, args: &[&str]) -> Child {
    kubectl_sts_command(sandbox, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl-sts")
}

/// Runs kubectl-sts off the async worker threads (the watchers keep running).
async fn run_sts(sandbox: &TestSandbox, args: &[&str]) -> Output {
    let command = kubectl_sts_command(sandbox, args);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = command;
        command
            .output()
            .unwrap_or_else(|e| panic!("running kubectl-sts {args:?}: {e}"))
    })
    .await
    .expect("join kubectl-sts")
}

/// What the watchers saw, each with the resourceVersion it was seen at: the
/// sandbox has one global resourceVersion counter, so sorting by it puts set
/// and pod events from two separate watches in the order they happened.
#[derive(Debug, Clone)]
enum Seen {
    Set {
        partition: i32,
        current: Option<String>,
        update: Option<String>,
    },
    PodCreated {
        name: String,
        ordinal: i32,
        revision: String,
    },
}

type Journal = Arc<Mutex<Vec<(u64, Seen)>>>;

fn resource_version(meta: &kube::api::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

/// Record every change of the set and every pod creation until aborted.
fn record(client: kube::Client) -> (Journal, Vec<tokio::task::JoinHandle<()>>) {
    let journal: Journal = Arc::new(Mutex::new(Vec::new()));
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let set_sink = journal.clone();
    let set_task = tokio::spawn(async move {
        let config = watcher::Config::default().fields("metadata.name=web");
        let mut stream = watcher(sets, config).applied_objects().boxed();
        while let Some(item) = stream.next().await {
            let Ok(set) = item else { continue };
            let status = set.status.clone().unwrap_or_default();
            set_sink.lock().expect("lock").push((
                resource_version(&set.metadata),
                Seen::Set {
                    partition: kubectl_sts::sts::partition(&set),
                    current: status.current_revision,
                    update: status.update_revision,
                },
            ));
        }
    });
    let pod_sink = journal.clone();
    let pod_task = tokio::spawn(async move {
        let config = watcher::Config::default().labels("app=nginx");
        let mut stream = watcher(pods, config).applied_objects().boxed();
        let mut known_uids: BTreeMap<String, String> = BTreeMap::new();
        while let Some(item) = stream.next().await {
            let Ok(pod) = item else { continue };
            let name = pod.metadata.name.clone().unwrap_or_default();
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if known_uids.get(&name) == Some(&uid) {
                continue;
            }
            known_uids.insert(name.clone(), uid);
            let Some(ordinal) = kubectl_sts::sts::ordinal_of_pod("web", &name) else {
                continue;
            };
            let revision = kubectl_sts::sts::pod_revision(&pod)
                .unwrap_or_default()
                .to_string();
            pod_sink.lock().expect("lock").push((
                resource_version(&pod.metadata),
                Seen::PodCreated {
                    name,
                    ordinal,
                    revision,
                },
            ));
        }
    });
    (journal, vec![set_task, pod_task])
}

/// Every pod created below the partition in force must have been created on
/// the current (old) revision; returns the violations, described.
fn pods_updated_early(journal: &[(u64, Seen)]) -> Vec<String> {
    let mut ordered = journal.to_vec();
    ordered.sort_by_key(|(rv, _)| *rv);
    let mut partition = 0;
    let mut current: Option<String> = None;
    let mut update: Option<String> = None;
    let mut violations = Vec::new();
    for (rv, seen) in &ordered {
        match seen {
            Seen::Set {
                partition: p,
                current: c,
                update: u,
            } => {
                partition = *p;
                current = c.clone();
                update = u.clone();
            }
            Seen::PodCreated {
                name,
                ordinal,
                revision,
            } => {
                if *ordinal < partition && Some(revision) != current.as_ref() {
                    violations.push(format!(
                        "{name} created on {revision} at resourceVersion {rv} while the partition was {partition} and the revisions {current:?} -> {update:?}"
                    ));
                }
            }
        }
    }
    violations
}

async fn live_set(client: &kube::Client) -> StatefulSet {
    Api::<StatefulSet>::namespaced(client.clone(), "default")
        .get("web")
        .await
        .expect("get web")
}

fn template_image(set: &StatefulSet) -> Option<String> {
    set.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
}

fn recorded_state(set: &StatefulSet) -> Option<CanaryState> {
    set.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATE_ANNOTATION))
        .and_then(|text| CanaryState::parse(text).ok())
}

/// The end state of a canary, in the terms an uninterrupted run is judged by.
#[derive(Debug, PartialEq)]
struct EndState {
    partition: i32,
    image: Option<String>,
    phase: Option<Phase>,
    current_step: Option<usize>,
    original_partition: Option<i32>,
    updated_replicas: Option<i32>,
    ready_replicas: Option<i32>,
    revisions_converged: bool,
    pods_on_update_revision_and_ready: usize,
}

/// The end state once the controller's status has caught up with the last
/// write (its status update may land a moment after the canary exits).
async fn settled_end_state(client: &kube::Client) -> EndState {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let state = end_state(client).await;
        let settled = state.revisions_converged
            && state.updated_replicas == Some(REPLICAS as i32)
            && state.ready_replicas == Some(REPLICAS as i32)
            && state.pods_on_update_revision_and_ready == REPLICAS;
        if settled || Instant::now() > deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn end_state(client: &kube::Client) -> EndState {
    let set = live_set(client).await;
    let recorded = recorded_state(&set);
    let status = set.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0) >= set.metadata.generation.unwrap_or(0);
    let pods = Api::<Pod>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels("app=nginx"))
        .await
        .expect("list pods");
    let on_update = pods
        .items
        .iter()
        .filter(|pod| {
            kubectl_sts::sts::pod_revision(pod) == status.update_revision.as_deref()
                && kubectl_sts::sts::is_pod_ready(pod)
        })
        .count();
    EndState {
        partition: kubectl_sts::sts::partition(&set),
        image: template_image(&set),
        phase: recorded.as_ref().map(|s| s.phase),
        current_step: recorded.as_ref().and_then(|s| s.current_step),
        original_partition: recorded.as_ref().map(|s| s.original_partition),
        updated_replicas: status.updated_replicas,
        ready_replicas: status.ready_replicas,
        revisions_converged: observed
            && status.current_revision.is_some()
            && status.current_revision == status.update_revision,
        pods_on_update_revision_and_ready: if pods.items.len() == REPLICAS {
            on_update
        } else {
            0
        },
    }
}

/// What an uninterrupted canary of `image` ends with.
fn expected_end_state(image: &str) -> EndState {
    EndState {
        partition: 0,
        image: Some(image.to_string()),
        phase: Some(Phase::Succeeded),
        current_step: Some(2),
        original_partition: Some(0),
        updated_replicas: Some(REPLICAS as i32),
        ready_replicas: Some(REPLICAS as i32),
        revisions_converged: true,
        pods_on_update_revision_and_ready: REPLICAS,
    }
}

fn killed_by_signal(status: &ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canary_killed_at_any_point_resumes_to_the_same_end_state() {
    let started = Instant::now();
    let sandbox = web5().await;
    let client = kube_client(&sandbox).await;
    let (journal, recorders) = record(client.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The reference: one uninterrupted run.
    let baseline_image = "nginx=nginx:1.27-r0";
    let output = run_sts(&sandbox, &canary_args(baseline_image, "300ms")).await;
    assert!(output.status.success(), "{}", output_text(&output));
    let baseline = settled_end_state(&client).await;
    assert_eq!(baseline, expected_end_state("nginx:1.27-r0"));

    let mut kill_phases = Vec::new();
    for run in 1..=10u64 {
        let image_arg = format!("nginx=nginx:1.27-r{run}");
        let image = format!("nginx:1.27-r{run}");
        let mut canary = spawn(&sandbox, &canary_args(&image_arg, "300ms"));
        // Spread the kills over the whole rollout: before the first write,
        // at the gate, in each step's wait and soak, and near the end.
        let delay = Duration::from_millis(20 + 340 * (run - 1));
        tokio::time::sleep(delay).await;
        canary.kill().expect("SIGKILL the canary");
        let killed = tokio::task::spawn_blocking(move || canary.wait_with_output())
            .await
            .expect("join")
            .expect("reap the killed canary");

        let set = live_set(&client).await;
        let recorded = recorded_state(&set);
        kill_phases.push((delay, recorded.as_ref().map(|s| (s.phase, s.current_step))));
        let this_run_started = template_image(&set).as_deref() == Some(image.as_str());
        let resumed = if !killed_by_signal(&killed.status) {
            // The canary finished before the kill landed: nothing to resume.
            assert!(killed.status.success(), "{}", output_text(&killed));
            None
        } else if !this_run_started {
            // Killed before its first write (template and gate partition go in
            // one request): `--resume` rightly finds nothing of this run to
            // resume, so the run starts afresh.
            let resume = run_sts(&sandbox, &["canary", "web", "--resume"]).await;
            assert!(!resume.status.success(), "{}", output_text(&resume));
            let fresh = run_sts(&sandbox, &canary_args(&image_arg, "300ms")).await;
            assert!(fresh.status.success(), "run {run}: {}", output_text(&fresh));
            Some(fresh)
        } else if recorded.as_ref().map(|s| s.phase) == Some(Phase::Succeeded) {
            // Killed after its last write: the canary is already complete.
            None
        } else {
            // No gate flags: the resumed run must apply the recorded 300ms
            // soak, not the 30s default.
            if let Some(state) = &recorded {
                assert_eq!(
                    state.gates.as_ref().map(|g| g.soak_ms),
                    Some(300),
                    "run {run}: the soak is recorded"
                );
            }
            let resume = run_sts(&sandbox, &["canary", "web", "--resume"]).await;
            assert!(
                resume.status.success(),
                "run {run} (killed after {delay:?} in {:?}): {}",
                recorded.as_ref().map(|s| s.phase),
                output_text(&resume)
            );
            Some(resume)
        };
        let end = settled_end_state(&client).await;
        assert_eq!(
            end,
            expected_end_state(&image),
            "run {run}, killed after {delay:?}: {}",
            resumed.as_ref().map(output_text).unwrap_or_default()
        );
        if let Some(output) = &resumed {
            // The resumed run soaked with the recorded 300ms, as its progress says.
            let text = output_text(output);
            assert!(
                !text.contains("soaking for 30s"),
                "run {run}: resumed with the default soak: {text}"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    recorders.iter().for_each(|task| task.abort());

    // The kills must have caught the canary mid-flight most of the time.
    let interrupted = kill_phases
        .iter()
        .filter(|(_, phase)| matches!(phase, Some((p, _)) if p.is_active()))
        .count();
    assert!(
        interrupted >= 5,
        "too few kills landed mid-rollout: {kill_phases:?}"
    );
    let journal = journal.lock().expect("lock").clone();
    let created = journal
        .iter()
        .filter(|(_, seen)| matches!(seen, Seen::PodCreated { .. }))
        .count();
    assert!(
        created >= REPLICAS * 12,
        "the pod watch missed creations: {created}"
    );
    let violations = pods_updated_early(&journal);
    assert!(violations.is_empty(), "{violations:#?}");
    eprintln!(
        "killed at {kill_phases:?}; whole test {:?}",
        started.elapsed()
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canary_completes_against_a_flaky_server() {
    let started = Instant::now();
    let sandbox = web5().await;
    let client = kube_client(&sandbox).await;
    let faults = FaultSpec::parse_flag("error-rate=0.1,codes=500:429,cut-watches=2s")
        .expect("a valid fault spec");
    sandbox.set_faults(Some(faults));
    let output = run_sts(&sandbox, &canary_args("nginx=nginx:1.27", "500ms")).await;
    sandbox.set_faults(None);
    assert!(output.status.success(), "{}", output_text(&output));
    let end = settled_end_state(&client).await;
    assert_eq!(end, expected_end_state("nginx:1.27"));
    eprintln!("flaky canary test took {:?}", started.elapsed());
    sandbox.shutdown().await;
}

#[test]
fn a_pod_created_on_the_new_revision_below_the_partition_is_caught() {
    let set = |partition: i32, current: &str, update: &str| Seen::Set {
        partition,
        current: Some(current.into()),
        update: Some(update.into()),
    };
    let pod = |ordinal: i32, revision: &str| Seen::PodCreated {
        name: format!("web-{ordinal}"),
        ordinal,
        revision: revision.into(),
    };
    // Listed out of order on purpose: the journal is sorted by resourceVersion.
    let fine = vec![
        (3, pod(4, "new")),
        (1, set(5, "old", "old")),
        (2, set(4, "old", "new")),
        (4, pod(1, "old")),
    ];
    assert!(pods_updated_early(&fine).is_empty());
    let early = vec![(1, set(4, "old", "new")), (2, pod(3, "new"))];
    assert_eq!(pods_updated_early(&early).len(), 1);
}
