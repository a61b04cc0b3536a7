//! The fault suite: with the sandbox refusing a fraction of requests (500,
//! 502, 503, 504, 429 with Retry-After), answering slowly, cutting watches,
//! expiring resumed watches (410) and losing the answers to writes it carried
//! out (504), every command either reaches the same result as on a healthy
//! server or fails with a clear error, within a bound, and never leaves the
//! StatefulSet half-changed.
//!
//! Each test starts its own sandbox with a small StatefulSet, takes what it
//! needs as a reference before switching faults on, and judges the end
//! state through the in-process `Cluster` (which the fault switch does not
//! touch). Timings are printed, never asserted.

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::client::{Body, ClientBuilder};
use kubectl_sts::commands::canary::state::{CanaryState, Phase, STATE_ANNOTATION};
use kubectl_sts::sandbox::SandboxTiming;
use kubectl_sts::sandbox::api::cluster::{PatchBody, Subresource, WriteOptions};
use kubectl_sts::sandbox::api::faults::FaultSpec;
use kubectl_sts::sandbox::resources::STATEFUL_SETS;
use serde_json::{Value, json};
use support::{
    TestSandbox, apply_yaml, fixture, kubectl_ok, kubectl_sts_command, output_text,
    start_sandbox_with,
};

/// No command here should run longer; one that does is killed and the test fails.
const BOUND: Duration = Duration::from_secs(60);

/// The web example with `replicas` pods, rolled out, before any fault.
async fn web(replicas: usize, timing: SandboxTiming) -> TestSandbox {
    let sandbox = start_sandbox_with(timing).await;
    let manifest = fixture("web.yaml").replace("replicas: 3", &format!("replicas: {replicas}"));
    let output = apply_yaml(&sandbox, &manifest);
    assert!(output.status.success(), "{}", output_text(&output));
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=60s"]);
    sandbox
}

fn faults(spec: &str) -> Option<FaultSpec> {
    Some(FaultSpec::parse_flag(spec).expect("a valid fault spec"))
}

/// What the fault switch injected so far.
fn tally(sandbox: &TestSandbox) -> Value {
    sandbox.metrics()["faults"].clone()
}

fn injected(tally: &Value) -> u64 {
    ["refused", "expiredWatches", "timedOutWrites"]
        .iter()
        .map(|kind| tally[kind].as_u64().unwrap_or(0))
        .sum()
}

/// Runs kubectl-sts off the async workers, killed if it outlives [`BOUND`].
async fn run_sts(sandbox: &TestSandbox, args: &[&str]) -> (Output, Duration) {
    let mut command = kubectl_sts_command(sandbox, args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let shown = args.join(" ");
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting kubectl-sts {shown}: {e}"));
        // Drain the pipes while waiting, so a chatty command cannot block on them.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let status = loop {
            if let Some(status) = child.try_wait().expect("poll kubectl-sts") {
                break status;
            }
            if started.elapsed() > BOUND {
                let _ = child.kill();
                panic!("kubectl-sts {shown} did not end within {BOUND:?} under faults");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let collect = |handle: Option<std::thread::JoinHandle<Vec<u8>>>| {
            handle
                .map(|h| h.join().expect("join a pipe reader"))
                .unwrap_or_default()
        };
        let output = Output {
            status,
            stdout: collect(stdout),
            stderr: collect(stderr),
        };
        (output, started.elapsed())
    })
    .await
    .expect("join kubectl-sts")
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The set as stored, read in-process (never faulted).
fn stored_set(sandbox: &TestSandbox) -> StatefulSet {
    sandbox
        .cluster
        .get_typed::<StatefulSet>(Some("default"), "web")
        .expect("get web in-process")
}

fn stored_pods(sandbox: &TestSandbox) -> Vec<Pod> {
    sandbox
        .cluster
        .list_typed::<Pod>(Some("default"), Some("app=nginx"))
        .expect("list pods in-process")
}

fn template_image(set: &StatefulSet) -> Option<String> {
    set.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
}

fn uid_of(pods: &[Pod], name: &str) -> Option<String> {
    pods.iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .and_then(|p| p.metadata.uid.clone())
}

/// Polls the stored state until every replica is on the update revision and
/// Ready (the command may end a moment before the last status write).
async fn settled(sandbox: &TestSandbox, replicas: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let set = stored_set(sandbox);
        let status = set.status.clone().unwrap_or_default();
        let pods = stored_pods(sandbox);
        let on_update = pods
            .iter()
            .filter(|pod| {
                kubectl_sts::sts::pod_revision(pod) == status.update_revision.as_deref()
                    && kubectl_sts::sts::is_pod_ready(pod)
                    && pod.metadata.deletion_timestamp.is_none()
            })
            .count();
        if status.ready_replicas == Some(replicas as i32)
            && status.update_revision == status.current_revision
            && on_update == replicas
            && pods.len() == replicas
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Marker files verify leaves behind anywhere in the sandbox's node and volume data.
fn markers_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(markers_under(&path));
        } else if entry
            .file_name()
            .to_string_lossy()
            .starts_with(kubectl_sts::commands::verify::MARKER_PREFIX)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// An HTTP client for the sandbox without any retry: sees each answer as sent.
async fn raw_client(sandbox: &TestSandbox) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(sandbox.kubeconfig()).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("load the kubeconfig");
    config.default_retry = false;
    ClientBuilder::try_from(config).expect("client").build()
}

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (http::StatusCode, http::HeaderMap, String) {
    let mut request = http::Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        request = request.header(http::header::CONTENT_TYPE, content_type);
    }
    let request = request.body(Body::from(body)).expect("a request");
    let response = client.send(request).await.expect("an answer");
    let (parts, body) = response.into_parts();
    let bytes = body.collect_bytes().await.expect("the body");
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fault_modes_answer_as_the_real_api_server_does() {
    let sandbox = web(1, SandboxTiming::fast()).await;
    let client = raw_client(&sandbox).await;

    // Throttled: the max-in-flight / priority-and-fairness filters' plain text and Retry-After.
    sandbox.set_faults(faults("error-rate=1,codes=429"));
    let (status, headers, body) = send(&client, "GET", "/api/v1/namespaces", None, vec![]).await;
    assert_eq!(status, http::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[http::header::RETRY_AFTER], "1");
    assert_eq!(body, "Too many requests, please try again later.\n");

    // The timeout filter's Status.
    sandbox.set_faults(faults("error-rate=1,codes=504"));
    let (status, _, body) = send(&client, "GET", "/api/v1/namespaces", None, vec![]).await;
    assert_eq!(status, http::StatusCode::GATEWAY_TIMEOUT);
    let answer: Value = serde_json::from_str(&body).expect("a Status");
    assert_eq!(answer["reason"], "Timeout");
    assert_eq!(
        answer["message"],
        "Timeout: request did not complete within the allotted timeout"
    );

    // A watch resuming from a resourceVersion: 200, one ERROR event, the end.
    sandbox.set_faults(faults("expire-watches=1"));
    let path = "/apis/apps/v1/namespaces/default/statefulsets?watch=true&resourceVersion=1";
    let (status, _, body) = send(&client, "GET", path, None, vec![]).await;
    assert_eq!(status, http::StatusCode::OK);
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a watch event"))
        .collect();
    assert_eq!(lines.len(), 1, "{body}");
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(lines[0]["object"]["code"], 410);
    assert_eq!(lines[0]["object"]["reason"], "Expired");
    assert!(
        lines[0]["object"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("too old resource version: 1 (")),
        "{body}"
    );
    // A watch from the current state (no resourceVersion) is not resuming: it is served.
    let (status, _, _) = send(
        &client,
        "GET",
        "/apis/apps/v1/namespaces/default/statefulsets?watch=true&timeoutSeconds=1",
        None,
        vec![],
    )
    .await;
    assert_eq!(status, http::StatusCode::OK);

    // A write whose answer is lost still happened.
    sandbox.set_faults(faults("timeout-writes=1"));
    let patch = json!({"metadata": {"labels": {"fault": "landed"}}}).to_string();
    let (status, _, body) = send(
        &client,
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/web",
        Some("application/merge-patch+json"),
        patch.into_bytes(),
    )
    .await;
    sandbox.set_faults(None);
    assert_eq!(status, http::StatusCode::GATEWAY_TIMEOUT, "{body}");
    let labels = stored_set(&sandbox).metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("fault").map(String::as_str), Some("landed"));

    let counted = tally(&sandbox);
    assert_eq!(counted["refused"], 2, "{counted}");
    assert_eq!(counted["expiredWatches"], 1, "{counted}");
    assert_eq!(counted["timedOutWrites"], 1, "{counted}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_give_the_same_answers_through_refusals_throttling_and_slowness() {
    let sandbox = web(2, SandboxTiming::fast()).await;
    let commands: [&[&str]; 3] = [
        &["status", "web", "-o", "json"],
        &["volumes", "web", "-o", "json"],
        &["history", "web", "-o", "json"],
    ];
    let mut reference = Vec::new();
    for args in commands {
        let (output, _) = run_sts(&sandbox, args).await;
        assert!(output.status.success(), "{}", output_text(&output));
        reference.push(stdout(&output));
    }

    sandbox.set_faults(faults(
        "error-rate=0.3,codes=500:502:503:504:429,delay=20ms",
    ));
    for round in 0..2 {
        for (args, expected) in commands.iter().zip(&reference) {
            let (output, took) = run_sts(&sandbox, args).await;
            assert!(
                output.status.success(),
                "{args:?} under faults: {}",
                output_text(&output)
            );
            assert_eq!(&stdout(&output), expected, "{args:?} under faults");
            eprintln!(
                "round {round}: {} took {took:?} under faults",
                args.join(" ")
            );
        }
    }
    let counted = tally(&sandbox);
    eprintln!("injected: {counted}");
    assert!(counted["refused"].as_u64() > Some(0), "{counted}");

    // Slow answers: waited for, or reported as slow when --request-timeout is shorter.
    sandbox.set_faults(faults("delay=300ms"));
    let (output, took) = run_sts(&sandbox, commands[0]).await;
    assert!(output.status.success(), "{}", output_text(&output));
    assert_eq!(stdout(&output), reference[0]);
    eprintln!("status with every answer 300ms late took {took:?}");
    let (output, _) = run_sts(&sandbox, &["status", "web", "--request-timeout", "100ms"]).await;
    sandbox.set_faults(None);
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    let text = stderr(&output);
    assert!(text.contains("did not answer in time"), "{text}");
    assert!(text.contains("--request-timeout"), "{text}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_that_keeps_failing_gets_a_clear_error_and_nothing_changes() {
    let sandbox = web(2, SandboxTiming::fast()).await;
    // Something to undo, so undo would write if it could.
    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.26"]);
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=60s"]);
    let before = stored_set(&sandbox);
    let pods_before: Vec<(Option<String>, Option<String>)> = stored_pods(&sandbox)
        .iter()
        .map(|p| (p.metadata.name.clone(), p.metadata.uid.clone()))
        .collect();

    sandbox.set_faults(faults("error-rate=1,codes=500:503"));
    let commands: Vec<Vec<&str>> = vec![
        vec!["status", "web"],
        vec!["volumes", "web"],
        vec!["history", "web"],
        vec!["verify", "web", "--yes"],
        vec!["undo", "web", "--yes"],
        // Not the canary: it keeps retrying for a minute by design
        // (canary/driver.rs TRANSIENT_RETRY_BUDGET), past this suite's bound.
        vec!["watch", "web", "--until", "ready", "--timeout", "4s"],
    ];
    let runs = commands.iter().map(|args| run_sts(&sandbox, args));
    let results = futures::future::join_all(runs).await;
    sandbox.set_faults(None);

    for (args, (output, took)) in commands.iter().zip(&results) {
        let text = stderr(output);
        eprintln!("{} failed after {took:?}", args.join(" "));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            output_text(output)
        );
        assert!(
            text.contains("failed the request with 500 InternalError")
                || text.contains("failed the request with 503 ServiceUnavailable"),
            "{args:?} should name the server's answer: {text}"
        );
        assert!(
            text.contains(&sandbox.url),
            "{args:?} should name the server: {text}"
        );
        if args[0] != "watch" {
            assert!(
                text.contains("try again shortly"),
                "{args:?} should say what to do: {text}"
            );
        }
    }

    let after = stored_set(&sandbox);
    assert_eq!(after.metadata.generation, before.metadata.generation);
    assert_eq!(after.spec.template, before.spec.template);
    assert_eq!(after.spec.update_strategy, before.spec.update_strategy);
    assert_eq!(after.metadata.annotations, before.metadata.annotations);
    let pods_after: Vec<(Option<String>, Option<String>)> = stored_pods(&sandbox)
        .iter()
        .map(|p| (p.metadata.name.clone(), p.metadata.uid.clone()))
        .collect();
    assert_eq!(pods_after, pods_before, "no pod was deleted");
    assert!(markers_under(&sandbox.data_dir).is_empty());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_until_ready_rides_out_cut_expired_and_refused_watches() {
    // Slow enough pods that the watch lives through several cuts.
    let timing = SandboxTiming {
        pod_start_delay: Duration::from_millis(200),
        pod_ready_delay: Duration::from_millis(200),
        ..SandboxTiming::fast()
    };
    let sandbox = web(2, timing).await;
    sandbox.set_faults(faults(
        "error-rate=0.3,codes=500:503:429,cut-watches=300ms,expire-watches=0.6",
    ));
    sandbox
        .cluster
        .patch(
            &STATEFUL_SETS,
            Some("default"),
            "web",
            PatchBody::Merge(json!({"spec": {"replicas": 4}})),
            Subresource::Main,
            &WriteOptions::default(),
        )
        .expect("scale web in-process");
    let (output, took) = run_sts(
        &sandbox,
        &["watch", "web", "--until", "ready", "--timeout", "50s"],
    )
    .await;
    let counted = tally(&sandbox);
    sandbox.set_faults(None);
    eprintln!("watch --until ready took {took:?}; injected: {counted}");
    assert!(output.status.success(), "{}", output_text(&output));
    let text = stdout(&output);
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.ends_with("statefulset web is ready")),
        "{text}"
    );
    // It said ready because it was: four pods, all Ready, as stored.
    let status = stored_set(&sandbox).status.unwrap_or_default();
    assert_eq!(status.ready_replicas, Some(4));
    let ready = stored_pods(&sandbox)
        .iter()
        .filter(|p| kubectl_sts::sts::is_pod_ready(p))
        .count();
    assert_eq!(ready, 4);
    assert!(
        text.contains("web-3"),
        "the final view shows the new pods: {text}"
    );
    assert!(injected(&counted) > 0, "{counted}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_under_faults_recreates_every_pod_and_leaves_no_marker() {
    let sandbox = web(2, SandboxTiming::fast()).await;
    let before = stored_pods(&sandbox);
    sandbox.set_faults(faults(
        "error-rate=0.2,codes=500:503:429,cut-watches=500ms,expire-watches=0.7,timeout-writes=0.5",
    ));
    let (output, took) = run_sts(
        &sandbox,
        &["verify", "web", "--yes", "-o", "json", "--timeout", "40s"],
    )
    .await;
    let counted = tally(&sandbox);
    sandbox.set_faults(None);
    eprintln!("verify took {took:?}; injected: {counted}");
    assert!(output.status.success(), "{}", output_text(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("a JSON report");
    assert_eq!(report["survived"], true, "{report}");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{report}");
    let after = stored_pods(&sandbox);
    for row in rows {
        let pod = row["pod"].as_str().expect("pod");
        let old = uid_of(&before, pod);
        assert_eq!(row["oldPodUid"].as_str(), old.as_deref(), "{row}");
        // The pod it deleted is back, as a new pod, and Ready.
        let new = uid_of(&after, pod);
        assert!(
            new.is_some() && new != old,
            "{pod} was not recreated: {row}"
        );
        assert_eq!(row["newPodUid"].as_str(), new.as_deref(), "{row}");
        assert!(row["markerLeft"].is_null(), "{row}");
    }
    assert!(settled(&sandbox, 2).await, "the set is whole again");
    let left = markers_under(&sandbox.data_dir);
    assert!(left.is_empty(), "markers left behind: {left:?}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_under_faults_rolls_back_completely() {
    let sandbox = web(2, SandboxTiming::fast()).await;
    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.26"]);
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=60s"]);
    sandbox.set_faults(faults(
        "error-rate=0.2,codes=500:503:429,expire-watches=0.7,timeout-writes=0.5",
    ));
    let (output, took) = run_sts(&sandbox, &["undo", "web", "--yes", "--timeout", "40s"]).await;
    let counted = tally(&sandbox);
    sandbox.set_faults(None);
    eprintln!("undo took {took:?}; injected: {counted}");
    assert!(output.status.success(), "{}", output_text(&output));
    assert!(
        stdout(&output).contains("is back on revision 1, all pods Ready"),
        "{}",
        output_text(&output)
    );
    assert_eq!(
        template_image(&stored_set(&sandbox)).as_deref(),
        Some("nginx:1.25")
    );
    assert!(
        settled(&sandbox, 2).await,
        "every pod back on the old template"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_whose_every_write_answer_is_lost_still_knows_it_rolled_back() {
    let sandbox = web(2, SandboxTiming::fast()).await;
    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.26"]);
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=60s"]);
    let generation = stored_set(&sandbox).metadata.generation;
    // Every write is carried out and answered 504: repeats meet the
    // resourceVersion guard, and undo reads back what actually happened.
    sandbox.set_faults(faults("timeout-writes=1"));
    let (output, took) = run_sts(&sandbox, &["undo", "web", "--yes", "--timeout", "40s"]).await;
    let counted = tally(&sandbox);
    sandbox.set_faults(None);
    eprintln!("undo with lost answers took {took:?}; injected: {counted}");
    assert!(output.status.success(), "{}", output_text(&output));
    let set = stored_set(&sandbox);
    assert_eq!(template_image(&set).as_deref(), Some("nginx:1.25"));
    // One rollback, not one per repeat.
    assert_eq!(set.metadata.generation, generation.map(|g| g + 1));
    assert!(counted["timedOutWrites"].as_u64() > Some(0), "{counted}");
    assert!(settled(&sandbox, 2).await);
    sandbox.shutdown().await;
}

/// The canary's promise: the partition and template always agree with the
/// state it recorded, whether it finished, rolled back or stopped midway.
fn assert_canary_consistent(set: &StatefulSet, old_image: &str, new_image: &str) -> Phase {
    let text = set
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATE_ANNOTATION))
        .expect("the canary recorded its state");
    let state = CanaryState::parse(text).expect("a canary state");
    let partition = kubectl_sts::sts::partition(set);
    let image = template_image(set);
    match state.phase {
        Phase::Succeeded => {
            assert_eq!(image.as_deref(), Some(new_image));
            assert_eq!(partition, state.original_partition);
        }
        Phase::RolledBack => {
            assert_eq!(image.as_deref(), Some(old_image));
            assert_eq!(partition, state.original_partition);
        }
        Phase::RollingBack => assert_eq!(image.as_deref(), Some(old_image)),
        _ => {
            assert_eq!(image.as_deref(), Some(new_image));
            let replicas = kubectl_sts::sts::desired_replicas(set).max(0) as u32;
            assert_eq!(
                partition as u32,
                state.current_partition(replicas),
                "{text}"
            );
        }
    }
    state.phase
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canary_under_faults_ends_where_its_recorded_state_says() {
    let sandbox = web(3, SandboxTiming::fast()).await;
    sandbox.set_faults(faults(
        "error-rate=0.15,codes=500:503:429,cut-watches=1s,expire-watches=0.5,timeout-writes=0.3",
    ));
    let (output, took) = run_sts(
        &sandbox,
        &[
            "canary",
            "web",
            "--image",
            "nginx=nginx:1.27",
            "--steps",
            "1,100%",
            "--soak",
            "300ms",
            "--yes",
        ],
    )
    .await;
    let counted = tally(&sandbox);
    sandbox.set_faults(None);
    eprintln!("canary took {took:?}; injected: {counted}");
    let phase = assert_canary_consistent(&stored_set(&sandbox), "nginx:1.25", "nginx:1.27");
    assert!(output.status.success(), "{}", output_text(&output));
    assert_eq!(phase, Phase::Succeeded);
    assert!(settled(&sandbox, 3).await, "every pod on the new template");
    sandbox.shutdown().await;
}
