//! `kubectl sts volumes` against the sandbox, the way a user runs it: apply
//! manifests with the real kubectl, then read the chain with the plugin.

mod support;

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use support::{TestSandbox, apply_yaml, fixture, kubectl_ok, start_sandbox};

const WAIT: Duration = Duration::from_secs(60);

/// `kubectl-sts --kubeconfig <sandbox> <args>`.
fn sts(sandbox: &TestSandbox, args: &[&str]) -> Output {
    support::kubectl_sts(sandbox, args)
}

fn sts_ok(sandbox: &TestSandbox, args: &[&str]) -> String {
    let output = sts(sandbox, args);
    assert!(
        output.status.success(),
        "kubectl-sts {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `-o json` document of `volumes <args>`.
fn chains(sandbox: &TestSandbox, args: &[&str]) -> Value {
    let mut all = vec!["volumes", "-o", "json"];
    all.extend_from_slice(args);
    let text = sts_ok(sandbox, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn items(document: &Value) -> Vec<Value> {
    document["items"].as_array().cloned().unwrap_or_default()
}

/// Polls `check` every 100ms until it holds; fails the test naming `what`.
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `kubectl get <what> -o jsonpath=<path>` (empty on error: the object may not exist yet).
fn jsonpath(sandbox: &TestSandbox, what: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    let template = format!("jsonpath={path}");
    args.extend(["-o", &template]);
    let output = support::kubectl(sandbox, &args);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn wait_for_ready_replicas(sandbox: &TestSandbox, set: &str, replicas: usize) {
    wait_until(&format!("{set} to have {replicas} ready replicas"), || {
        jsonpath(sandbox, &["sts", set], "{.status.readyReplicas}") == replicas.to_string()
    })
    .await;
}

/// The strings of an item's problems.
fn problems(item: &Value) -> Vec<String> {
    item["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_web_manifest_shows_three_claims_bound_to_provisioned_nfs_directories() {
    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, &fixture("web.yaml"));
    assert!(applied.status.success(), "{applied:?}");
    wait_for_ready_replicas(&sandbox, "web", 3).await;

    let document = chains(&sandbox, &["web"]);
    assert_eq!(document["apiVersion"], "kubectl-sts/v1");
    assert_eq!(document["kind"], "VolumeChainList");
    assert_eq!(document["forbidden"], serde_json::json!([]));
    let items = items(&document);
    assert_eq!(items.len(), 3, "{document:#}");
    for (ordinal, item) in items.iter().enumerate() {
        let claim_name = format!("www-web-{ordinal}");
        let claim_uid = jsonpath(&sandbox, &["pvc", &claim_name], "{.metadata.uid}");
        let pod_uid = jsonpath(
            &sandbox,
            &["pod", &format!("web-{ordinal}")],
            "{.metadata.uid}",
        );
        assert_eq!(item["namespace"], "default");
        assert_eq!(item["statefulSet"], "web");
        assert_eq!(item["ordinal"], ordinal);
        assert_eq!(item["template"], "www");
        assert_eq!(item["orphan"], false);

        let pod = &item["pod"];
        assert_eq!(pod["name"], format!("web-{ordinal}"));
        assert_eq!(pod["uid"], pod_uid);
        assert_eq!(pod["phase"], "Running");

        let claim = &item["claim"];
        assert_eq!(claim["name"], claim_name);
        assert_eq!(claim["uid"], claim_uid);
        assert_eq!(claim["phase"], "Bound");
        assert_eq!(claim["requested"], "1Gi");
        assert_eq!(claim["capacity"], "1Gi");
        assert_eq!(claim["accessModes"], serde_json::json!(["ReadWriteOnce"]));
        assert_eq!(claim["storageClass"], "managed-nfs-storage");

        let volume = &item["volume"];
        let volume_name = format!("pvc-{claim_uid}");
        assert_eq!(volume["name"], volume_name);
        assert_eq!(volume["phase"], "Bound");
        assert_eq!(volume["capacity"], "1Gi");
        // The class has no reclaimPolicy: provisioned volumes default to Delete.
        assert_eq!(volume["reclaimPolicy"], "Delete");
        let backend = &volume["backend"];
        assert_eq!(backend["type"], "nfs");
        let server = backend["server"].as_str().unwrap_or_default();
        assert!(!server.is_empty(), "{backend}");
        // nfs-subdir's directory: ${namespace}-${pvcName}-${pvName} under the export.
        let path = backend["path"].as_str().unwrap_or_default();
        assert!(
            path.ends_with(&format!("/default-{claim_name}-{volume_name}")),
            "{path}"
        );
        let export = path
            .rsplit_once('/')
            .map(|(export, _)| export)
            .unwrap_or_default();
        let on_disk = kubectl_sts::sandbox::node::nfs_dir(&sandbox.data_dir, server, export)
            .join(format!("default-{claim_name}-{volume_name}"));
        assert!(
            on_disk.is_dir(),
            "backend directory {} missing",
            on_disk.display()
        );

        assert_eq!(
            problems(item).len(),
            1,
            "only the Delete reclaim policy is worth a remark: {item:#}"
        );
        assert!(problems(item)[0].contains("reclaim policy Delete"));
    }

    // The table says the same, one row per pod.
    let table = sts_ok(&sandbox, &["volumes", "web"]);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("web-")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (ordinal, row) in rows.iter().enumerate() {
        let words: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            words[..4],
            [
                &*format!("web-{ordinal}"),
                "Running",
                &*format!("www-web-{ordinal}"),
                "Bound"
            ],
            "{row}"
        );
        assert!(words[4].starts_with("pvc-"), "{row}");
        assert!(row.contains(" nfs "), "{row}");
    }
    assert!(
        table.contains("3 volumes have reclaim policy Delete"),
        "{table}"
    );

    // The tree runs down to the backend; YAML carries the same document.
    let tree = sts_ok(&sandbox, &["volumes", "web", "-o", "tree"]);
    assert!(tree.starts_with("StatefulSet/web"), "{tree}");
    assert_eq!(tree.matches("└─ nfs ").count(), 3, "{tree}");
    let yaml = sts_ok(&sandbox, &["volumes", "web", "-o", "yaml"]);
    assert!(
        yaml.starts_with("apiVersion: kubectl-sts/v1\nkind: VolumeChainList\n"),
        "{yaml}"
    );
    let names = sts_ok(&sandbox, &["volumes", "web", "-o", "name"]);
    assert_eq!(
        names,
        "persistentvolumeclaim/www-web-0\npersistentvolumeclaim/www-web-1\npersistentvolumeclaim/www-web-2\n"
    );
    sandbox.shutdown().await;
}

/// Five static volumes, three of class nfs and two of another class.
fn static_volumes() -> String {
    let volume = |name: &str, class: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity: {{storage: 1Gi}}\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  storageClassName: {class}\n  hostPath: {{path: /srv/{name}}}\n"
        )
    };
    [
        volume("nfs-1", "nfs"),
        volume("nfs-2", "nfs"),
        volume("nfs-3", "nfs"),
        volume("slow-1", "slow"),
        volume("slow-2", "slow"),
    ]
    .join("---\n")
}

const DB: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 4
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: busybox:1.36
        command: [sh, -c, "sleep 3600"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: nfs
      resources: {requests: {storage: 1Gi}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_static_volumes_of_the_class_bind_and_the_fourth_claim_waits_with_its_reason() {
    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, &static_volumes());
    assert!(applied.status.success(), "{applied:?}");
    let applied = apply_yaml(&sandbox, DB);
    assert!(applied.status.success(), "{applied:?}");
    wait_for_ready_replicas(&sandbox, "db", 3).await;
    wait_until("claim data-db-3 and an event about it", || {
        !jsonpath(
            &sandbox,
            &[
                "events",
                "--field-selector",
                "involvedObject.name=data-db-3",
            ],
            "{.items[*].reason}",
        )
        .is_empty()
    })
    .await;

    let items = items(&chains(&sandbox, &["db"]));
    assert_eq!(items.len(), 4, "{items:#?}");
    let mut bound: Vec<String> = items[..3]
        .iter()
        .map(|item| {
            assert_eq!(item["claim"]["phase"], "Bound", "{item:#}");
            assert_eq!(item["volume"]["backend"]["type"], "hostPath", "{item:#}");
            item["volume"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    bound.sort();
    assert_eq!(bound, ["nfs-1", "nfs-2", "nfs-3"]);

    let fourth = &items[3];
    assert_eq!(fourth["claim"]["name"], "data-db-3");
    assert_eq!(fourth["claim"]["phase"], "Pending");
    assert!(fourth["volume"].is_null(), "{fourth:#}");
    let reason = jsonpath(
        &sandbox,
        &[
            "events",
            "--field-selector",
            "involvedObject.name=data-db-3",
        ],
        "{.items[-1:].message}",
    );
    let pending = problems(fourth);
    assert!(
        pending
            .iter()
            .any(|p| p.starts_with("claim data-db-3 is Pending: ") && p.contains(reason.trim())),
        "the latest event ({reason}) is not the reason: {pending:?}"
    );

    let table = sts_ok(&sandbox, &["volumes", "db"]);
    let row = table
        .lines()
        .find(|l| l.contains("data-db-3"))
        .unwrap_or_default();
    assert!(
        row.contains("Pending") && row.ends_with("pending"),
        "{table}"
    );
    assert!(table.contains("! claim data-db-3 is Pending: "), "{table}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scaling_down_leaves_orphan_claims_with_the_command_that_deletes_them() {
    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, &fixture("web.yaml"));
    assert!(applied.status.success(), "{applied:?}");
    wait_for_ready_replicas(&sandbox, "web", 3).await;
    kubectl_ok(&sandbox, &["scale", "sts", "web", "--replicas=1"]);
    wait_until("pods web-1 and web-2 to be gone", || {
        jsonpath(
            &sandbox,
            &["pods", "-l", "app=nginx"],
            "{.items[*].metadata.name}",
        ) == "web-0"
    })
    .await;

    let items = items(&chains(&sandbox, &["web"]));
    let orphans: Vec<(i64, bool)> = items
        .iter()
        .map(|i| {
            (
                i["ordinal"].as_i64().unwrap_or(-1),
                i["orphan"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(orphans, [(0, false), (1, true), (2, true)]);
    for item in &items[1..] {
        assert!(item["pod"].is_null(), "{item:#}");
        assert_eq!(item["claim"]["phase"], "Bound");
        let claim = item["claim"]["name"].as_str().unwrap_or_default();
        assert!(
            problems(item)
                .iter()
                .any(|p| p.contains(&format!("kubectl delete pvc {claim} -n default"))),
            "{item:#}"
        );
    }

    let table = sts_ok(&sandbox, &["volumes", "web"]);
    let flagged: Vec<&str> = table.lines().filter(|l| l.contains("orphan")).collect();
    assert!(flagged.iter().any(|l| l.contains("www-web-1")), "{table}");
    assert!(flagged.iter().any(|l| l.contains("www-web-2")), "{table}");
    assert!(
        table.contains("to delete them: kubectl delete pvc www-web-1 www-web-2 -n default"),
        "{table}"
    );
    sandbox.shutdown().await;
}

/// A pod made by hand before the StatefulSet, with an emptyDir where the
/// claim should be; the set adopts it (its labels match) and the controller
/// cannot change a pod's volumes.
const HAND_MADE_WEB_0: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  labels: {app: nginx}
spec:
  containers:
  - name: nginx
    image: nginx:1.25
    volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumes:
  - name: www
    emptyDir: {}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pod_mounting_an_emptydir_under_the_template_name_is_flagged() {
    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, HAND_MADE_WEB_0);
    assert!(applied.status.success(), "{applied:?}");
    wait_until("pod web-0 to run", || {
        jsonpath(&sandbox, &["pod", "web-0"], "{.status.phase}") == "Running"
    })
    .await;
    // OnDelete: the controller replaces no pod by itself (RollingUpdate would
    // delete the adopted pod, which has no revision label, and recreate it).
    let web = fixture("web.yaml").replace(
        "replicas: 3",
        "replicas: 1\n  updateStrategy: {type: OnDelete}",
    );
    let applied = apply_yaml(&sandbox, &web);
    assert!(applied.status.success(), "{applied:?}");
    wait_until("claim www-web-0 to be Bound", || {
        jsonpath(&sandbox, &["pvc", "www-web-0"], "{.status.phase}") == "Bound"
    })
    .await;

    let items = items(&chains(&sandbox, &["web"]));
    assert_eq!(items.len(), 1, "{items:#?}");
    let found = problems(&items[0]);
    assert!(
        found
            .iter()
            .any(|p| p.contains("pod web-0 mounts www from emptyDir")
                && p.contains("will not survive")),
        "{found:?}"
    );
    let table = sts_ok(&sandbox, &["volumes", "web"]);
    let row = table
        .lines()
        .find(|l| l.starts_with("web-0"))
        .unwrap_or_default();
    assert!(row.contains("not-from-claim"), "{table}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_namespaces_adds_the_namespace_column_and_a_name_with_it_is_refused() {
    let sandbox = start_sandbox().await;
    let namespace = apply_yaml(
        &sandbox,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    assert!(namespace.status.success(), "{namespace:?}");
    let applied = support::kubectl_stdin(
        &sandbox,
        &["apply", "-n", "shop", "-f", "-"],
        &fixture("web.yaml"),
    );
    assert!(applied.status.success(), "{applied:?}");
    wait_until("claims in shop", || {
        jsonpath(
            &sandbox,
            &["pvc", "-n", "shop"],
            "{.items[*].metadata.name}",
        )
        .contains("www-web-0")
    })
    .await;

    let table = sts_ok(&sandbox, &["volumes", "-A"]);
    assert!(table.starts_with("NAMESPACE "), "{table}");
    assert!(table.lines().any(|l| l.starts_with("shop ")), "{table}");
    // Nothing in default: kubectl's wording, on stderr, exit 0.
    let output = sts(&sandbox, &["volumes"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "No StatefulSets found in default namespace.\n"
    );

    let output = sts(&sandbox, &["volumes", "web", "-A"]);
    assert_eq!(output.status.code(), Some(2));
    let output = sts(&sandbox, &["volumes", "nope", "-n", "shop"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"nope\" not found") && stderr.contains("web"),
        "{stderr}"
    );
    sandbox.shutdown().await;
}
