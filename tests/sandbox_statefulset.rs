//! The sandbox's StatefulSet controller, driven with the real kubectl 1.37 the
//! way the StatefulSet walkthroughs do: ordered creation, `rollout status`,
//! partitioned updates, history and undo, scale-down and claim retention, the
//! upstream "forced rollback" limitation, and `kubectl drain` held back by a
//! PodDisruptionBudget.
//!
//! The order in which things happen is read from the sandbox's change stream
//! (`Cluster::subscribe`), which sees every write in resourceVersion order.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kubectl_sts::sandbox::api::cluster::WatchEventType;
use kubectl_sts::sts;
use support::TestSandbox;

const WAIT: Duration = Duration::from_secs(60);

fn web_yaml(replicas: u32, image: &str, extra_spec: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector: {{app: nginx}}
  ports: [{{port: 80, name: web}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: {replicas}
  selector:
    matchLabels: {{app: nginx}}
{extra_spec}  template:
    metadata:
      labels: {{app: nginx}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: {image}
        ports: [{{containerPort: 80, name: web}}]
        volumeMounts: [{{name: www, mountPath: /usr/share/nginx/html}}]
  volumeClaimTemplates:
  - metadata: {{name: www}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
"#
    )
}

/// Runs kubectl without starving the sandbox of the runtime's threads.
fn kubectl_ok(sandbox: &TestSandbox, args: &[&str]) -> String {
    tokio::task::block_in_place(|| support::kubectl_ok(sandbox, args))
}

fn apply(sandbox: &TestSandbox, yaml: &str) {
    let output = tokio::task::block_in_place(|| support::apply_yaml(sandbox, yaml));
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One pod change as the change stream delivered it.
#[derive(Debug, Clone)]
struct PodChange {
    kind: WatchEventType,
    name: String,
    ready: bool,
    terminating: bool,
}

/// Records every pod change from now on.
fn record_pod_changes(sandbox: &TestSandbox) -> Arc<Mutex<Vec<PodChange>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut changes = sandbox.cluster.subscribe();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Ok(change) = changes.recv().await {
            if change.rt.plural != "pods" {
                continue;
            }
            let Ok(pod) = serde_json::from_value::<Pod>(change.event.object.clone()) else {
                continue;
            };
            let entry = PodChange {
                kind: change.event.event_type,
                name: pod.metadata.name.clone().unwrap_or_default(),
                ready: sts::is_pod_ready(&pod),
                terminating: sts::is_pod_terminating(&pod),
            };
            if let Ok(mut seen) = sink.lock() {
                seen.push(entry);
            }
        }
    });
    seen
}

fn changes(log: &Arc<Mutex<Vec<PodChange>>>) -> Vec<PodChange> {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

fn set(sandbox: &TestSandbox) -> StatefulSet {
    sandbox
        .cluster
        .get_typed::<StatefulSet>(Some("default"), "web")
        .expect("the StatefulSet exists")
}

fn pods(sandbox: &TestSandbox) -> Vec<Pod> {
    sandbox
        .cluster
        .list_typed::<Pod>(Some("default"), Some("app=nginx"))
        .expect("list pods")
}

fn pod_names(sandbox: &TestSandbox) -> Vec<String> {
    let mut names: Vec<String> = pods(sandbox)
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    names
}

fn claim_names(sandbox: &TestSandbox) -> Vec<String> {
    let mut names: Vec<String> = sandbox
        .cluster
        .list_typed::<PersistentVolumeClaim>(Some("default"), None)
        .expect("list claims")
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    names.sort();
    names
}

fn event_messages(sandbox: &TestSandbox) -> Vec<String> {
    sandbox
        .cluster
        .list_typed::<Event>(Some("default"), None)
        .expect("list events")
        .into_iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some("StatefulSet"))
        .filter_map(|e| e.message)
        .collect()
}

/// `kubectl rollout status` until it reports success.
fn rollout_status(sandbox: &TestSandbox) -> String {
    kubectl_ok(sandbox, &["rollout", "status", "sts/web", "--timeout=60s"])
}

fn image_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

/// Waits until every pod of the set runs `image`, is Ready and not terminating.
async fn wait_all_on(sandbox: &TestSandbox, replicas: usize, image: &str) {
    let done = support::eventually(WAIT, || {
        let pods = pods(sandbox);
        (pods.len() == replicas
            && pods.iter().all(|p| {
                image_of(p) == image && sts::is_pod_ready(p) && !sts::is_pod_terminating(p)
            }))
        .then_some(())
    })
    .await;
    assert!(
        done.is_some(),
        "pods never all ran {image}: {:?}",
        pods(sandbox)
    );
}

/// The position of the first change matching `what`.
fn first(log: &[PodChange], what: impl Fn(&PodChange) -> bool) -> Option<usize> {
    log.iter().position(what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_are_created_in_order_each_after_the_previous_is_ready() {
    let sandbox = support::start_sandbox().await;
    let log = record_pod_changes(&sandbox);
    apply(&sandbox, &web_yaml(3, "nginx:1.25", ""));

    let status = rollout_status(&sandbox);
    assert!(
        status.contains("partitioned roll out complete: 3 new pods have been updated..."),
        "{status}"
    );

    let log = changes(&log);
    for ordinal in 1..3 {
        let created = first(&log, |c| {
            c.kind == WatchEventType::Added && c.name == format!("web-{ordinal}")
        })
        .unwrap_or_else(|| panic!("web-{ordinal} was never created: {log:?}"));
        let previous_ready = first(&log, |c| {
            c.name == format!("web-{}", ordinal - 1) && c.ready
        })
        .unwrap_or_else(|| panic!("web-{} never became ready", ordinal - 1));
        assert!(
            previous_ready < created,
            "web-{ordinal} was created before web-{} was Ready: {log:?}",
            ordinal - 1
        );
    }
    assert_eq!(
        claim_names(&sandbox),
        ["www-web-0", "www-web-1", "www-web-2"]
    );

    let set = set(&sandbox);
    let status = set.status.clone().unwrap_or_default();
    assert_eq!(status.replicas, 3);
    assert_eq!(status.ready_replicas, Some(3));
    assert_eq!(status.available_replicas, Some(3));
    assert_eq!(status.current_revision, status.update_revision);
    assert_eq!(status.observed_generation, set.metadata.generation);
    for pod in pods(&sandbox) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels[sts::POD_NAME_LABEL], name);
        assert_eq!(
            Some(&labels[sts::REVISION_LABEL]),
            status.update_revision.as_ref()
        );
        let spec = pod.spec.clone().unwrap_or_default();
        assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
    }
    let messages = event_messages(&sandbox);
    for wanted in [
        "create Claim www-web-0 Pod web-0 in StatefulSet web success",
        "create Pod web-0 in StatefulSet web successful",
        "create Pod web-2 in StatefulSet web successful",
    ] {
        assert!(
            messages.iter().any(|m| m == wanted),
            "no event {wanted:?} in {messages:?}"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_update_goes_highest_first_and_undo_goes_back() {
    let sandbox = support::start_sandbox().await;
    apply(&sandbox, &web_yaml(4, "nginx:1.25", ""));
    rollout_status(&sandbox);
    let old_revision = set(&sandbox)
        .status
        .and_then(|s| s.update_revision)
        .unwrap_or_default();

    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}"#,
        ],
    );
    let log = record_pod_changes(&sandbox);
    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.26"]);
    let status = rollout_status(&sandbox);
    assert!(
        status.contains("partitioned roll out complete: 2 new pods have been updated..."),
        "{status}"
    );

    let log = changes(&log);
    let deleted = |name: &str| {
        first(&log, |c| c.name == name && c.terminating)
            .unwrap_or_else(|| panic!("{name} was never deleted: {log:?}"))
    };
    assert!(
        deleted("web-3") < deleted("web-2"),
        "web-3 goes before web-2: {log:?}"
    );
    assert!(
        !log.iter()
            .any(|c| (c.name == "web-0" || c.name == "web-1") && c.terminating),
        "pods below the partition were touched: {log:?}"
    );
    let by_image: Vec<(String, String)> = {
        let mut pods: Vec<(String, String)> = pods(&sandbox)
            .iter()
            .map(|p| (p.metadata.name.clone().unwrap_or_default(), image_of(p)))
            .collect();
        pods.sort();
        pods
    };
    assert_eq!(
        by_image,
        [
            ("web-0".to_string(), "nginx:1.25".to_string()),
            ("web-1".to_string(), "nginx:1.25".to_string()),
            ("web-2".to_string(), "nginx:1.26".to_string()),
            ("web-3".to_string(), "nginx:1.26".to_string()),
        ]
    );
    let partial = set(&sandbox).status.unwrap_or_default();
    assert_eq!(
        partial.current_revision.as_deref(),
        Some(old_revision.as_str())
    );
    assert_eq!(partial.updated_replicas, Some(2));

    // Lowering the partition finishes the update.
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}"#,
        ],
    );
    wait_all_on(&sandbox, 4, "nginx:1.26").await;
    let done = support::eventually(WAIT, || {
        let status = set(&sandbox).status.unwrap_or_default();
        (status.current_revision == status.update_revision && status.current_replicas == Some(4))
            .then_some(status)
    })
    .await;
    assert!(
        done.is_some(),
        "currentRevision never caught up: {:?}",
        set(&sandbox).status
    );

    let history = kubectl_ok(&sandbox, &["rollout", "history", "sts/web"]);
    let lines: Vec<&str> = history.lines().map(str::trim).collect();
    assert!(lines.iter().any(|l| l.starts_with("REVISION")), "{history}");
    assert!(lines.iter().any(|l| l.starts_with('1')), "{history}");
    assert!(lines.iter().any(|l| l.starts_with('2')), "{history}");

    kubectl_ok(&sandbox, &["rollout", "undo", "sts/web"]);
    wait_all_on(&sandbox, 4, "nginx:1.25").await;
    let undone = set(&sandbox).status.unwrap_or_default();
    assert_eq!(
        undone.update_revision.as_deref(),
        Some(old_revision.as_str()),
        "undo reuses the first revision"
    );
    let history = kubectl_ok(&sandbox, &["rollout", "history", "sts/web"]);
    assert!(
        history.lines().any(|l| l.trim().starts_with('3')),
        "{history}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_down_deletes_the_highest_ordinal_first_and_keeps_claims() {
    let sandbox = support::start_sandbox().await;
    apply(&sandbox, &web_yaml(3, "nginx:1.25", ""));
    rollout_status(&sandbox);
    let log = record_pod_changes(&sandbox);
    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=1"]);
    let gone = support::eventually(WAIT, || (pod_names(&sandbox) == ["web-0"]).then_some(())).await;
    assert!(gone.is_some(), "still running: {:?}", pod_names(&sandbox));

    let log = changes(&log);
    let removed = |name: &str| {
        first(&log, |c| {
            c.name == name && c.kind == WatchEventType::Deleted
        })
        .unwrap_or_else(|| panic!("{name} never went: {log:?}"))
    };
    let web1_terminating = first(&log, |c| c.name == "web-1" && c.terminating)
        .unwrap_or_else(|| panic!("web-1 was never deleted: {log:?}"));
    assert!(
        removed("web-2") < web1_terminating,
        "web-1 must wait until web-2 is gone: {log:?}"
    );
    assert_eq!(
        claim_names(&sandbox),
        ["www-web-0", "www-web-1", "www-web-2"]
    );
    let messages = event_messages(&sandbox);
    assert!(
        messages
            .iter()
            .any(|m| m == "delete Pod web-2 in StatefulSet web successful")
    );

    // With whenScaled: Delete, the claims of scaled-away pods go with them.
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete"}}}"#,
        ],
    );
    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=3"]);
    rollout_status(&sandbox);
    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=1"]);
    let claims_gone = support::eventually(WAIT, || {
        (pod_names(&sandbox) == ["web-0"] && claim_names(&sandbox) == ["www-web-0"]).then_some(())
    })
    .await;
    assert!(
        claims_gone.is_some(),
        "pods {:?}, claims {:?}",
        pod_names(&sandbox),
        claim_names(&sandbox)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_update_blocks_until_the_stuck_pod_is_deleted() {
    let sandbox = support::start_sandbox().await;
    apply(&sandbox, &web_yaml(3, "nginx:1.25", ""));
    rollout_status(&sandbox);

    kubectl_ok(
        &sandbox,
        &["set", "image", "sts/web", "nginx=nginx:1.25-crash"],
    );
    let stuck = support::eventually(WAIT, || {
        pods(&sandbox).into_iter().find(|p| {
            p.metadata.name.as_deref() == Some("web-2") && image_of(p) == "nginx:1.25-crash"
        })
    })
    .await
    .expect("web-2 is replaced by the crashing image");
    let stuck_uid = stuck.metadata.uid.clone();

    // Revert the template alone: upstream does not replace the stuck pod.
    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.25"]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let web2 = pods(&sandbox)
        .into_iter()
        .find(|p| p.metadata.name.as_deref() == Some("web-2"))
        .expect("web-2 still exists");
    assert_eq!(web2.metadata.uid, stuck_uid, "the stuck pod was replaced");
    assert_eq!(image_of(&web2), "nginx:1.25-crash");
    assert!(!sts::is_pod_ready(&web2));
    let status = set(&sandbox).status.unwrap_or_default();
    assert_ne!(status.ready_replicas, Some(3));

    // Deleting it lets the controller recreate it from the reverted template.
    kubectl_ok(&sandbox, &["delete", "pod", "web-2", "--wait=false"]);
    wait_all_on(&sandbox, 3, "nginx:1.25").await;
    rollout_status(&sandbox);
    sandbox.shutdown().await;
}

/// The budget's status figures, as `kubectl get pdb` reads them.
fn budget_figures(sandbox: &TestSandbox) -> String {
    kubectl_ok(
        sandbox,
        &[
            "get",
            "pdb",
            "web",
            "-o",
            "jsonpath={.status.expectedPods} {.status.currentHealthy} {.status.desiredHealthy} {.status.disruptionsAllowed}",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_evicts_one_pod_at_a_time_under_a_budget_and_waits_for_it() {
    let sandbox = support::start_sandbox().await;
    apply(&sandbox, &web_yaml(3, "nginx:1.25", ""));
    wait_all_on(&sandbox, 3, "nginx:1.25").await;
    kubectl_ok(
        &sandbox,
        &[
            "create",
            "pdb",
            "web",
            "--selector=app=nginx",
            "--max-unavailable=1",
        ],
    );
    let allowed = support::eventually(WAIT, || {
        (budget_figures(&sandbox) == "3 3 2 1").then_some(())
    })
    .await;
    assert!(allowed.is_some(), "budget: {}", budget_figures(&sandbox));

    // Evicted pods are marked DisruptionTarget before they go.
    let marked = Arc::new(Mutex::new(Vec::new()));
    let mut changes = sandbox.cluster.subscribe();
    let sink = marked.clone();
    tokio::spawn(async move {
        while let Ok(change) = changes.recv().await {
            let Ok(pod) = serde_json::from_value::<Pod>(change.event.object.clone()) else {
                continue;
            };
            if sts::disruption_reason(&pod) == Some("EvictionByEvictionAPI")
                && let Ok(mut marked) = sink.lock()
            {
                marked.push(pod.metadata.name.clone().unwrap_or_default());
            }
        }
    });

    // The node is cordoned, so an evicted pod's replacement cannot start: the
    // budget lets one eviction through and refuses the rest until the timeout.
    let drain = tokio::task::block_in_place(|| {
        support::kubectl(
            &sandbox,
            &[
                "drain",
                "sandbox-node",
                "--ignore-daemonsets",
                "--timeout=8s",
            ],
        )
    });
    let said = String::from_utf8_lossy(&drain.stdout).to_string()
        + &String::from_utf8_lossy(&drain.stderr);
    assert!(!drain.status.success(), "{said}");
    assert!(
        said.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{said}"
    );
    let pending: Vec<String> = pods(&sandbox)
        .iter()
        .filter(|p| !sts::is_pod_ready(p))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(
        pending.len(),
        1,
        "one pod evicted and not back: {pending:?}"
    );
    let marked = marked.lock().map(|m| m.clone()).unwrap_or_default();
    assert!(
        marked.contains(&pending[0]),
        "marked: {marked:?}, evicted: {pending:?}"
    );
    assert_eq!(budget_figures(&sandbox), "3 2 2 0");
    let unschedulable = sandbox
        .cluster
        .list_typed::<Event>(Some("default"), None)
        .expect("list events")
        .into_iter()
        .any(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && e.message
                    .as_deref()
                    .is_some_and(|m| m.contains("1 node(s) were unschedulable"))
        });
    assert!(unschedulable, "no FailedScheduling for the cordoned node");
    let taints = || {
        kubectl_ok(
            &sandbox,
            &[
                "get",
                "node",
                "sandbox-node",
                "-o",
                "jsonpath={.spec.taints[*].key}",
            ],
        )
    };
    assert_eq!(taints(), "node.kubernetes.io/unschedulable");
    // status names what holds the roll-out: the scheduler's reason.
    let status = tokio::task::block_in_place(|| {
        support::kubectl_sts(&sandbox, &["status", "web", "-o", "json"])
    });
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    let rollout = &report["update"]["rollout"];
    assert_eq!(rollout["pod"], pending[0].as_str(), "{rollout}");
    assert!(
        rollout["reason"].as_str().is_some_and(
            |r| r.contains("not scheduled") && r.contains("1 node(s) were unschedulable")
        ),
        "{rollout}"
    );

    // Uncordoned, the replacement starts and the budget allows one again.
    kubectl_ok(&sandbox, &["uncordon", "sandbox-node"]);
    wait_all_on(&sandbox, 3, "nginx:1.25").await;
    assert_eq!(taints(), "");
    let recovered = support::eventually(WAIT, || {
        (budget_figures(&sandbox) == "3 3 2 1").then_some(())
    })
    .await;
    assert!(recovered.is_some(), "budget: {}", budget_figures(&sandbox));
    sandbox.shutdown().await;
}
