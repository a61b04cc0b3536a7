//! `kubectl sts canary` against the sandbox: the partitions it writes, the
//! order pods change in, automatic rollback, and control from a second process.

mod support;

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};
use kubectl_sts::commands::canary::state::{CanaryState, Phase, STATE_ANNOTATION};
use support::{
    TestSandbox, apply_yaml, fixture, kube_client, kubectl_ok, kubectl_sts, kubectl_sts_command,
    output_text, start_sandbox,
};

fn spawn(sandbox: &TestSandbox, args: &[&str]) -> Child {
    kubectl_sts_command(sandbox, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubectl-sts")
}

/// The web example with `replicas` pods, rolled out.
async fn web(replicas: u32) -> TestSandbox {
    let sandbox = start_sandbox().await;
    let manifest = fixture("web.yaml").replace("replicas: 3", &format!("replicas: {replicas}"));
    let output = apply_yaml(&sandbox, &manifest);
    assert!(output.status.success(), "{}", output_text(&output));
    kubectl_ok(
        &sandbox,
        &["rollout", "status", "sts/web", "--timeout=120s"],
    );
    sandbox
}

/// What the test saw happen: partitions written, the canary's recorded step,
/// and pods created per revision.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Partition(i32),
    Step(Option<usize>),
    PodCreated { ordinal: i32, revision: String },
}

/// What the watches saw, each with its resourceVersion: the sandbox has one
/// counter for every type, so sorting by it orders set and pod events.
type Journal = Arc<Mutex<Vec<(u64, Seen)>>>;

fn resource_version(meta: &kube::api::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

/// The journal in the order things happened.
fn in_order(journal: &Journal) -> Vec<Seen> {
    let mut entries = journal.lock().expect("lock").clone();
    entries.sort_by_key(|(rv, _)| *rv);
    entries.into_iter().map(|(_, seen)| seen).collect()
}

fn recorded_step(set: &StatefulSet) -> Option<usize> {
    set.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATE_ANNOTATION))
        .and_then(|text| CanaryState::parse(text).ok())
        .and_then(|state| state.current_step)
}

/// Partition and step changes and pod creations, recorded while a canary runs.
struct Recording {
    journal: Journal,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Recording {
    /// Starts the watches and gives them time to be established.
    async fn start(client: kube::Client) -> Recording {
        let (journal, tasks) = record(client);
        tokio::time::sleep(Duration::from_millis(300)).await;
        Recording { journal, tasks }
    }

    /// Lets the last events arrive, stops, and gives what was seen in order.
    async fn finish(self) -> Vec<Seen> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.tasks.iter().for_each(|task| task.abort());
        in_order(&self.journal)
    }
}

fn record(client: kube::Client) -> (Journal, Vec<tokio::task::JoinHandle<()>>) {
    let seen: Journal = Arc::new(Mutex::new(Vec::new()));
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let set_sink = seen.clone();
    let set_task = tokio::spawn(async move {
        let mut stream = watcher(sets, watcher::Config::default())
            .applied_objects()
            .boxed();
        let mut last_partition = None;
        let mut last_step = None;
        while let Some(item) = stream.next().await {
            let Ok(set) = item else { continue };
            let rv = resource_version(&set.metadata);
            let partition = kubectl_sts::sts::partition(&set);
            if last_partition != Some(partition) {
                last_partition = Some(partition);
                set_sink
                    .lock()
                    .expect("lock")
                    .push((rv, Seen::Partition(partition)));
            }
            let step = recorded_step(&set);
            if last_step != Some(step) {
                last_step = Some(step);
                set_sink.lock().expect("lock").push((rv, Seen::Step(step)));
            }
        }
    });
    let pod_sink = seen.clone();
    let pod_task = tokio::spawn(async move {
        let mut stream = watcher(pods, watcher::Config::default().labels("app=nginx"))
            .applied_objects()
            .boxed();
        let mut known_uids: BTreeMap<String, String> = BTreeMap::new();
        while let Some(item) = stream.next().await {
            let Ok(pod) = item else { continue };
            let name = pod.metadata.name.clone().unwrap_or_default();
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if known_uids.get(&name) == Some(&uid) {
                continue;
            }
            known_uids.insert(name.clone(), uid);
            if let Some(ordinal) = kubectl_sts::sts::ordinal_of_pod("web", &name) {
                pod_sink.lock().expect("lock").push((
                    resource_version(&pod.metadata),
                    Seen::PodCreated {
                        ordinal,
                        revision: kubectl_sts::sts::pod_revision(&pod)
                            .unwrap_or_default()
                            .to_string(),
                    },
                ));
            }
        }
    });
    (seen, vec![set_task, pod_task])
}

async fn live_set(client: &kube::Client) -> StatefulSet {
    Api::<StatefulSet>::namespaced(client.clone(), "default")
        .get("web")
        .await
        .expect("get web")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canary_steps_the_partition_and_updates_pods_highest_first() {
    let sandbox = web(5).await;
    let client = kube_client(&sandbox).await;
    let before = live_set(&client).await;
    let old_revision = before
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .expect("revision");
    let recording = Recording::start(client.clone()).await;

    let output = kubectl_sts(
        &sandbox,
        &[
            "canary",
            "web",
            "--image",
            "nginx=nginx:1.27",
            "--steps",
            "1,60%,100%",
            "--soak",
            "1s",
            "--yes",
        ],
    );
    assert!(output.status.success(), "{}", output_text(&output));

    let seen = recording.finish().await;
    let partitions: Vec<i32> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Partition(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(
        partitions,
        vec![0, 5, 4, 2, 0],
        "gate 5, then 4, 2, 0: {seen:?}"
    );

    // Every pod created on the new revision was at or above the partition in force, highest first within a step.
    let mut partition = 0;
    let mut new_pods = Vec::new();
    for event in &seen {
        match event {
            Seen::Partition(p) => partition = *p,
            Seen::PodCreated { ordinal, revision } if *revision != old_revision => {
                assert!(
                    *ordinal >= partition,
                    "web-{ordinal} updated while the partition was {partition}"
                );
                new_pods.push(*ordinal);
            }
            Seen::PodCreated { .. } | Seen::Step(_) => {}
        }
    }
    assert_eq!(new_pods, vec![4, 3, 2, 1, 0], "{seen:?}");

    let after = live_set(&client).await;
    assert_eq!(kubectl_sts::sts::partition(&after), 0);
    let status = after.status.expect("status");
    assert_eq!(status.updated_replicas, Some(5));
    assert_eq!(status.current_revision, status.update_revision);
    assert_ne!(
        status.update_revision.as_deref(),
        Some(old_revision.as_str())
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashing_canary_rolls_back_by_itself() {
    let sandbox = web(3).await;
    let client = kube_client(&sandbox).await;
    let before = live_set(&client).await;
    let old_revision = before
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .expect("revision");

    let output = kubectl_sts(
        &sandbox,
        &[
            "canary",
            "web",
            "--image",
            "nginx=nginx:1.27-crash",
            "--soak",
            "1s",
            "--step-timeout",
            "60s",
            "--yes",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("rolled back"),
        "{}",
        output_text(&output)
    );

    let after = live_set(&client).await;
    let image = after
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers[0].image.clone());
    assert_eq!(
        image,
        Some(Some("nginx:1.25".to_string())),
        "template restored"
    );
    assert_eq!(kubectl_sts::sts::partition(&after), 0, "partition restored");
    let pods = Api::<Pod>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels("app=nginx"))
        .await
        .expect("pods");
    assert_eq!(pods.items.len(), 3);
    for pod in &pods.items {
        assert_eq!(
            kubectl_sts::sts::pod_revision(pod),
            Some(old_revision.as_str())
        );
        assert!(kubectl_sts::sts::is_pod_ready(pod));
    }
    let events = Api::<Event>::namespaced(client, "default")
        .list(&ListParams::default())
        .await
        .expect("events");
    let reasons: Vec<String> = events
        .items
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("web"))
        .filter_map(|e| e.reason.clone())
        .collect();
    for reason in [
        "CanaryStarted",
        "CanaryStep",
        "CanaryRollingBack",
        "CanaryRolledBack",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} missing from {reasons:?}"
        );
    }
    let describe = kubectl_ok(&sandbox, &["describe", "sts", "web"]);
    assert!(describe.contains("CanaryRolledBack"), "{describe}");
    sandbox.shutdown().await;
}

async fn wait_for_phase(client: &kube::Client, phase: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let set = live_set(client).await;
        let state = set
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubectl-sts.io/canary"))
            .cloned()
            .unwrap_or_default();
        if state.contains(&format!("\"phase\":\"{phase}\"")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "phase {phase} never reached: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manual_pause_waits_for_promote_and_abort_rolls_back() {
    let sandbox = web(3).await;
    let client = kube_client(&sandbox).await;

    let canary = spawn(
        &sandbox,
        &[
            "canary",
            "web",
            "--image",
            "nginx=nginx:1.27",
            "--soak",
            "500ms",
            "--pause",
            "manual",
            "--yes",
        ],
    );
    wait_for_phase(&client, "Paused", Duration::from_secs(60)).await;
    assert_eq!(
        kubectl_sts::sts::partition(&live_set(&client).await),
        2,
        "paused after step 1"
    );
    let promote = kubectl_sts(&sandbox, &["canary", "web", "--promote"]);
    assert!(promote.status.success(), "{}", output_text(&promote));
    // Step 2 (50% of 3 = 2 pods) then pauses again.
    let deadline = Instant::now() + Duration::from_secs(60);
    while kubectl_sts::sts::partition(&live_set(&client).await) != 1 {
        assert!(Instant::now() < deadline, "promote did not lead to step 2");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_phase(&client, "Paused", Duration::from_secs(60)).await;
    let abort = kubectl_sts(&sandbox, &["canary", "web", "--abort"]);
    assert!(abort.status.success(), "{}", output_text(&abort));
    let output = tokio::task::spawn_blocking(move || canary.wait_with_output())
        .await
        .expect("join")
        .expect("canary output");
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("aborted"),
        "{}",
        output_text(&output)
    );
    let after = live_set(&client).await;
    let status = after.status.expect("status");
    assert_eq!(status.current_revision, status.update_revision);
    assert_eq!(
        after
            .spec
            .template
            .spec
            .map(|s| s.containers[0].image.clone()),
        Some(Some("nginx:1.25".into()))
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_canary_requests_change_nothing() {
    let sandbox = web(3).await;
    let cases: [(&[&str], i32, &str); 5] = [
        (&["canary", "web", "--yes"], 2, "say what to roll out"),
        (
            &[
                "canary",
                "web",
                "--image",
                "nginx:1.27",
                "--steps",
                "50%,1",
                "--yes",
            ],
            2,
            "must rise",
        ),
        (
            &["canary", "web", "--image", "nope=nginx:1.27", "--yes"],
            1,
            "\"nope\" is not in the pod template",
        ),
        (
            &["canary", "web", "--image", "nginx:1.25", "--yes"],
            1,
            "nothing to roll out",
        ),
        (&["canary", "web", "--image", "nginx:1.27"], 2, "--yes"),
    ];
    for (args, code, message) in cases {
        let output = kubectl_sts(&sandbox, args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            output_text(&output)
        );
        assert!(
            output_text(&output).contains(message),
            "{args:?}: {}",
            output_text(&output)
        );
    }
    let dry = kubectl_sts(
        &sandbox,
        &["canary", "web", "--image", "nginx:1.27", "--dry-run"],
    );
    assert!(dry.status.success(), "{}", output_text(&dry));
    assert!(
        output_text(&dry).contains("partition 2, 1 updated: web-2"),
        "{}",
        output_text(&dry)
    );
    let wrong_mode = kubectl_sts(
        &sandbox,
        &[
            "canary",
            "web",
            "--image",
            "nginx:1.27",
            "--on-delete",
            "--yes",
        ],
    );
    assert_eq!(wrong_mode.status.code(), Some(1));
    assert!(
        output_text(&wrong_mode).contains("drop --on-delete"),
        "{}",
        output_text(&wrong_mode)
    );
    let image = kubectl_ok(
        &sandbox,
        &[
            "get",
            "sts",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "nginx:1.25", "nothing may change");
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}"#,
        ],
    );
    let output = kubectl_sts(
        &sandbox,
        &["canary", "web", "--image", "nginx:1.27", "--yes"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output_text(&output).contains("OnDelete") && output_text(&output).contains("--on-delete"),
        "{}",
        output_text(&output)
    );
    sandbox.shutdown().await;
}

/// Switch web to the OnDelete strategy (the controller then replaces only pods someone deletes).
fn use_on_delete(sandbox: &TestSandbox) {
    kubectl_ok(
        sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}"#,
        ],
    );
}

fn reasons_of_events(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("web"))
        .filter_map(|e| e.reason.clone())
        .collect()
}

async fn web_events(client: &kube::Client) -> Vec<String> {
    let events = Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default())
        .await
        .expect("events");
    reasons_of_events(&events.items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_on_delete_canary_deletes_pods_highest_first_step_by_step() {
    let sandbox = web(5).await;
    use_on_delete(&sandbox);
    let client = kube_client(&sandbox).await;
    let old_revision = live_set(&client)
        .await
        .status
        .and_then(|s| s.current_revision)
        .expect("revision");
    let recording = Recording::start(client.clone()).await;

    let output = kubectl_sts(
        &sandbox,
        &[
            "canary",
            "web",
            "--on-delete",
            "--image",
            "nginx=nginx:1.27",
            "--steps",
            "1,60%,100%",
            "--soak",
            "500ms",
            "--yes",
        ],
    );
    assert!(output.status.success(), "{}", output_text(&output));

    let seen = recording.finish().await;
    // The partition is never written under OnDelete (the controller ignores it).
    assert!(
        seen.iter()
            .all(|s| !matches!(s, Seen::Partition(p) if *p != 0)),
        "{seen:?}"
    );
    // New pods, each under the step that allows it: steps 1, 60%, 100% of 5
    // pods cover ordinals 4, then 3-2, then 1-0.
    let step_floor = [4, 2, 0];
    let mut step = None;
    let mut new_pods = Vec::new();
    for event in &seen {
        match event {
            Seen::Step(s) => step = *s,
            Seen::PodCreated { ordinal, revision } if *revision != old_revision => {
                let floor = step.map(|s| step_floor[s]);
                assert!(
                    floor.is_some_and(|f| *ordinal >= f),
                    "web-{ordinal} updated at step {step:?}: {seen:?}"
                );
                new_pods.push((step.unwrap_or(99), *ordinal));
            }
            Seen::PodCreated { .. } | Seen::Partition(_) => {}
        }
    }
    assert_eq!(
        new_pods,
        vec![(0, 4), (1, 3), (1, 2), (2, 1), (2, 0)],
        "one pod at a time, highest first, step by step: {seen:?}"
    );

    let after = live_set(&client).await;
    assert_eq!(kubectl_sts::sts::update_strategy(&after), "OnDelete");
    let state = after
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATE_ANNOTATION))
        .and_then(|text| CanaryState::parse(text).ok())
        .expect("state recorded");
    assert_eq!(state.phase, Phase::Succeeded);
    assert_eq!(
        state.mode,
        kubectl_sts::commands::canary::plan::Mode::OnDelete
    );
    let status = after.status.expect("status");
    assert_eq!(status.updated_replicas, Some(5));
    let pods = Api::<Pod>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels("app=nginx"))
        .await
        .expect("pods");
    assert_eq!(pods.items.len(), 5);
    for pod in &pods.items {
        assert_eq!(
            kubectl_sts::sts::pod_revision(pod),
            status.update_revision.as_deref()
        );
        assert!(kubectl_sts::sts::is_pod_ready(pod));
    }
    let reasons = web_events(&client).await;
    for reason in [
        "CanaryStarted",
        "CanaryStep",
        "CanaryPodDeleted",
        "CanarySucceeded",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} missing from {reasons:?}"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashing_on_delete_canary_deletes_its_pods_back_to_the_old_revision() {
    let sandbox = web(3).await;
    use_on_delete(&sandbox);
    let client = kube_client(&sandbox).await;
    let old_revision = live_set(&client)
        .await
        .status
        .and_then(|s| s.current_revision)
        .expect("revision");
    let recording = Recording::start(client.clone()).await;

    let output = kubectl_sts(
        &sandbox,
        &[
            "canary",
            "web",
            "--on-delete",
            "--image",
            "nginx=nginx:1.27-crash",
            "--soak",
            "1s",
            "--step-timeout",
            "60s",
            "--yes",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("canary rolled back"),
        "{}",
        output_text(&output)
    );

    // Only step 1's pod (web-2) ever ran the crashing revision, and it came back on the old one.
    let seen = recording.finish().await;
    let created: Vec<(i32, bool)> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::PodCreated { ordinal, revision } => Some((*ordinal, *revision == old_revision)),
            _ => None,
        })
        .skip(3) // the three pods that were there before
        .collect();
    assert_eq!(created, vec![(2, false), (2, true)], "{seen:?}");

    let after = live_set(&client).await;
    assert_eq!(kubectl_sts::sts::update_strategy(&after), "OnDelete");
    assert_eq!(
        after
            .spec
            .template
            .spec
            .as_ref()
            .map(|s| s.containers[0].image.clone()),
        Some(Some("nginx:1.25".to_string())),
        "template restored"
    );
    let pods = Api::<Pod>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels("app=nginx"))
        .await
        .expect("pods");
    assert_eq!(pods.items.len(), 3);
    for pod in &pods.items {
        assert_eq!(
            kubectl_sts::sts::pod_revision(pod),
            Some(old_revision.as_str())
        );
        assert!(kubectl_sts::sts::is_pod_ready(pod));
    }
    let reasons = web_events(&client).await;
    for reason in ["CanaryPodDeleted", "CanaryRollingBack", "CanaryRolledBack"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} missing from {reasons:?}"
        );
    }
    sandbox.shutdown().await;
}

fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT failed");
}

fn recorded(set: &StatefulSet) -> CanaryState {
    set.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATE_ANNOTATION))
        .and_then(|text| CanaryState::parse(text).ok())
        .expect("a recorded canary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ctrl_c_leaves_a_resumable_canary_and_rolls_back_with_rollback_on_interrupt() {
    let sandbox = web(3).await;
    let client = kube_client(&sandbox).await;
    let canary_args = [
        "canary",
        "web",
        "--image",
        "nginx=nginx:1.27",
        "--soak",
        "300ms",
        "--pause",
        "manual",
        "--yes",
    ];

    // Ctrl-C without --rollback-on-interrupt: stopped where it is, lease released.
    let canary = spawn(&sandbox, &canary_args);
    wait_for_phase(&client, "Paused", Duration::from_secs(60)).await;
    interrupt(&canary);
    let output = tokio::task::spawn_blocking(move || canary.wait_with_output())
        .await
        .expect("join")
        .expect("canary output");
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("interrupted at step 1 of 3"),
        "{}",
        output_text(&output)
    );
    let set = live_set(&client).await;
    let state = recorded(&set);
    assert_eq!(state.phase, Phase::Paused);
    assert!(state.lease_expired(jiff::Timestamp::now()), "{state:?}");
    assert_eq!(kubectl_sts::sts::partition(&set), 2, "left at step 1");

    // Resumed without gate flags, it pauses again (the recorded --pause
    // manual); --rollback-on-interrupt given now wins, so Ctrl-C rolls back.
    let resumed = spawn(
        &sandbox,
        &["canary", "web", "--resume", "--rollback-on-interrupt"],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The interrupted run's message stays until the resumed run pauses by itself.
        let state = recorded(&live_set(&client).await);
        if state.holder.pid == resumed.id()
            && state.phase == Phase::Paused
            && state.message.starts_with("paused after step 1")
        {
            let gates = state.gates.expect("gates recorded");
            assert_eq!(
                gates.pause.as_deref(),
                Some("manual"),
                "recorded pause kept"
            );
            assert_eq!(gates.soak_ms, 300, "recorded soak kept");
            assert!(
                gates.rollback_on_interrupt,
                "the flag given on --resume is recorded"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the resumed canary never paused: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    interrupt(&resumed);
    let output = tokio::task::spawn_blocking(move || resumed.wait_with_output())
        .await
        .expect("join")
        .expect("resumed output");
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("canary rolled back"),
        "{}",
        output_text(&output)
    );
    let after = live_set(&client).await;
    assert_eq!(recorded(&after).phase, Phase::RolledBack);
    assert_eq!(kubectl_sts::sts::partition(&after), 0);
    assert_eq!(
        after
            .spec
            .template
            .spec
            .as_ref()
            .map(|s| s.containers[0].image.clone()),
        Some(Some("nginx:1.25".to_string()))
    );
    sandbox.shutdown().await;
}
