//! The sandbox API server judged by clients we did not write: the real
//! kubectl 1.37 with default flags, and kube-rs as our commands use it.

mod support;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use support::{
    TestSandbox, fixture, fixture_path, kubectl, kubectl_ok, kubectl_stdin, start_sandbox,
};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn jsonpath(sandbox: &TestSandbox, resource: &str, path: &str) -> String {
    kubectl_ok(
        sandbox,
        &["get", resource, "-o", &format!("jsonpath={path}")],
    )
}

fn web_yaml() -> String {
    fixture_path("web.yaml").display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_reads_version_resources_and_namespaces() {
    let sandbox = start_sandbox().await;
    let version = kubectl_ok(&sandbox, &["version"]);
    assert!(
        version.contains("Server Version: v1.37.1-sandbox"),
        "{version}"
    );

    let resources = kubectl_ok(&sandbox, &["api-resources"]);
    let sts_line = resources
        .lines()
        .find(|l| l.starts_with("statefulsets "))
        .unwrap_or_else(|| panic!("no statefulsets in:\n{resources}"));
    assert!(
        sts_line.contains(" sts ") && sts_line.contains("apps/v1"),
        "{sts_line}"
    );

    let namespaces = kubectl_ok(&sandbox, &["get", "ns"]);
    for ns in ["default", "kube-system"] {
        assert!(
            namespaces.lines().any(|l| l.starts_with(ns)),
            "{namespaces}"
        );
    }

    // The node's heartbeat Lease, as `kubectl describe node` reads it.
    let node = kubectl_ok(&sandbox, &["describe", "node", "sandbox-node"]);
    assert!(node.contains("HolderIdentity:  sandbox-node"), "{node}");
    let leases = kubectl_ok(&sandbox, &["get", "leases", "-n", "kube-node-lease"]);
    assert!(
        leases.starts_with("NAME           HOLDER         AGE\nsandbox-node   sandbox-node"),
        "{leases}"
    );

    // Imperative creates send protobuf bodies; these kinds must be understood.
    let created = kubectl_ok(&sandbox, &["create", "namespace", "staging"]);
    assert_eq!(created.trim(), "namespace/staging created");
    kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "create",
            "configmap",
            "settings",
            "--from-literal=mode=fast",
        ],
    );
    let mode = kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "get",
            "configmap",
            "settings",
            "-o",
            "jsonpath={.data.mode}",
        ],
    );
    assert_eq!(mode, "fast");
    kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "create",
            "secret",
            "generic",
            "db",
            "--from-literal=password=s3cret",
        ],
    );
    let password = kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "get",
            "secret",
            "db",
            "-o",
            "jsonpath={.type} {.data.password}",
        ],
    );
    assert_eq!(password, "Opaque czNjcmV0");
    // A headless Service, the way a StatefulSet's is made without a manifest.
    kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "create",
            "service",
            "clusterip",
            "db",
            "--clusterip=None",
            "--tcp=5432:5432",
        ],
    );
    let service = kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "get",
            "service",
            "db",
            "-o",
            "jsonpath={.spec.clusterIP} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.selector.app}",
        ],
    );
    assert_eq!(service, "None 5432 5432 db");
    kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "create",
            "pdb",
            "db",
            "--selector=app=db",
            "--min-available=50%",
        ],
    );
    let budget = kubectl_ok(
        &sandbox,
        &[
            "-n",
            "staging",
            "get",
            "pdb",
            "db",
            "-o",
            "jsonpath={.spec.minAvailable}",
        ],
    );
    assert_eq!(budget, "50%");
    // It selects no pod, which its controller says as an event on it.
    let no_pods = support::eventually(Duration::from_secs(10), || {
        let events = kubectl_ok(
            &sandbox,
            &[
                "-n",
                "staging",
                "get",
                "events",
                "--field-selector",
                "involvedObject.kind=PodDisruptionBudget,reason=NoPods",
                "-o",
                "jsonpath={.items[*].message}",
            ],
        );
        (events == "No matching pods found").then_some(())
    })
    .await;
    assert!(no_pods.is_some(), "no NoPods event on the budget");
    // A kind the sandbox does not serve is not found, as on a server without it.
    let deployment = kubectl(&sandbox, &["create", "deployment", "x", "--image=nginx"]);
    assert!(!deployment.status.success());
    assert!(
        String::from_utf8_lossy(&deployment.stderr)
            .contains("the server could not find the requested resource"),
        "{deployment:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_web_scenario_creates_applies_and_round_trips() {
    let sandbox = start_sandbox().await;
    let created = kubectl_ok(&sandbox, &["create", "-f", &web_yaml()]);
    assert!(
        created.contains("statefulset.apps/web created"),
        "{created}"
    );
    assert!(
        created.contains("service/headless-svc created"),
        "{created}"
    );
    let listed = kubectl_ok(&sandbox, &["get", "sts,svc,sc"]);
    for name in [
        "statefulset.apps/web",
        "service/headless-svc",
        "storageclass.storage.k8s.io/managed-nfs-storage",
        "storageclass.storage.k8s.io/standard",
    ] {
        assert!(listed.contains(name), "{name} missing from:\n{listed}");
    }

    // `get -o yaml` round-trips: replacing with it changes nothing. Wait for the
    // rollout first: until then the controller's status writes move the
    // resourceVersion and a replace rightly gets a Conflict.
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=90s"]);
    let before = jsonpath(
        &sandbox,
        "sts/web",
        "{.metadata.resourceVersion} {.metadata.generation}",
    );
    let yaml = kubectl_ok(&sandbox, &["get", "sts", "web", "-o", "yaml"]);
    assert!(yaml.contains("serviceName: headless-svc"), "{yaml}");
    let replaced = kubectl_stdin(&sandbox, &["replace", "-f", "-"], &yaml);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert_eq!(
        jsonpath(
            &sandbox,
            "sts/web",
            "{.metadata.resourceVersion} {.metadata.generation}"
        ),
        before
    );

    // apply over create, then again: the second apply changes nothing. (kubectl
    // still prints `configured` for the StatefulSet: volumeClaimTemplates has no
    // merge key, so its three-way patch always resends it, as on a real cluster.)
    kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    let settled = jsonpath(
        &sandbox,
        "sts/web",
        "{.metadata.resourceVersion} {.metadata.generation}",
    );
    let again = kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    assert!(
        again.contains("storageclass.storage.k8s.io/managed-nfs-storage unchanged"),
        "{again}"
    );
    assert!(again.contains("service/headless-svc unchanged"), "{again}");
    assert_eq!(
        jsonpath(
            &sandbox,
            "sts/web",
            "{.metadata.resourceVersion} {.metadata.generation}"
        ),
        settled
    );

    // Editing the image and applying updates it, bumping the generation.
    let edited = fixture("web.yaml").replace("nginx:1.25", "nginx:1.26");
    let out = kubectl_stdin(&sandbox, &["apply", "-f", "-"], &edited);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("statefulset.apps/web configured"),
        "{}",
        stderr(&out)
    );
    let image = jsonpath(
        &sandbox,
        "sts/web",
        "{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}",
    );
    assert_eq!(image, "nginx:1.26 80");
    let generation: i64 = jsonpath(&sandbox, "sts/web", "{.metadata.generation}")
        .parse()
        .unwrap_or_default();
    assert_eq!(generation, 2);

    // A `kind: List` (what `kubectl get A B -o yaml` prints) applies: kubectl
    // validates its items against /openapi/v2 first. The listing carries
    // resourceVersions, so the roll-out to 1.26 must be over (as for replace).
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=90s"]);
    let listed = kubectl_ok(&sandbox, &["get", "sts,svc", "-o", "yaml"]);
    assert!(listed.starts_with("apiVersion: v1\nitems:"), "{listed}");
    let reapplied = kubectl_stdin(
        &sandbox,
        &["apply", "-f", "-"],
        &listed.replace("nginx:1.26", "nginx:1.27"),
    );
    assert!(reapplied.status.success(), "{}", stderr(&reapplied));
    assert!(
        String::from_utf8_lossy(&reapplied.stdout).contains("statefulset.apps/web configured"),
        "{}",
        String::from_utf8_lossy(&reapplied.stdout)
    );
    assert_eq!(
        jsonpath(
            &sandbox,
            "sts/web",
            "{.spec.template.spec.containers[0].image}"
        ),
        "nginx:1.27"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_patch_set_image_scale_label_and_annotate() {
    let sandbox = start_sandbox().await;
    kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}"#,
        ],
    );
    assert_eq!(
        jsonpath(
            &sandbox,
            "sts/web",
            "{.spec.updateStrategy.type} {.spec.updateStrategy.rollingUpdate.partition}"
        ),
        "RollingUpdate 2"
    );
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"minReadySeconds":3}}"#,
        ],
    );
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
        ],
    );
    assert_eq!(
        jsonpath(
            &sandbox,
            "sts/web",
            "{.spec.minReadySeconds} {.spec.replicas}"
        ),
        "3 4"
    );
    let set = kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.27"]);
    assert!(set.contains("statefulset.apps/web image updated"), "{set}");
    let scaled = kubectl_ok(&sandbox, &["scale", "sts", "web", "--replicas=5"]);
    assert!(scaled.contains("statefulset.apps/web scaled"), "{scaled}");
    kubectl_ok(&sandbox, &["label", "sts", "web", "tier=front"]);
    kubectl_ok(&sandbox, &["annotate", "sts", "web", "note=hello"]);
    assert_eq!(
        jsonpath(
            &sandbox,
            "sts/web",
            "{.spec.template.spec.containers[0].image} {.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.note}"
        ),
        "nginx:1.27 5 front hello"
    );
    // Metadata-only changes leave the generation alone: 1 + partition, minReady, replicas, image, scale.
    assert_eq!(jsonpath(&sandbox, "sts/web", "{.metadata.generation}"), "6");
    sandbox.shutdown().await;
}

/// Reads lines from a spawned `kubectl ... -w` until one satisfies `wanted`.
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    wanted: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .ok()?
            .ok()??;
        if wanted(&line) {
            return Some(line);
        }
    }
}

fn spawn_kubectl_watch(sandbox: &TestSandbox, args: &[&str]) -> tokio::process::Child {
    let mut command: tokio::process::Command = support::kubectl_command(sandbox, args).into();
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn kubectl -w")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_get_w_streams_changes_made_by_another_client() {
    let sandbox = start_sandbox().await;
    kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    let client = support::kube_client(&sandbox).await;

    let mut sts_watch = spawn_kubectl_watch(&sandbox, &["get", "sts", "-w"]);
    let mut sts_lines = BufReader::new(sts_watch.stdout.take().expect("stdout")).lines();
    assert!(
        read_until(&mut sts_lines, |l| l.starts_with("web "))
            .await
            .is_some(),
        "initial row"
    );
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 7}})),
    )
    .await
    .expect("scale through kube-rs");
    let row = read_until(&mut sts_lines, |l| {
        l.starts_with("web ") && l.contains("/7")
    })
    .await;
    assert!(row.is_some(), "kubectl get sts -w did not show the scale");

    let mut pod_watch = spawn_kubectl_watch(&sandbox, &["get", "pods", "-w"]);
    let mut pod_lines = BufReader::new(pod_watch.stdout.take().expect("stdout")).lines();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "watched-pod"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create a pod");
    let row = read_until(&mut pod_lines, |l| l.starts_with("watched-pod ")).await;
    assert!(
        row.is_some(),
        "kubectl get pods -w did not show the new pod"
    );
    drop(sts_watch);
    drop(pod_watch);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn errors_read_like_a_real_api_servers() {
    let sandbox = start_sandbox().await;
    let missing = kubectl(&sandbox, &["get", "sts", "nope"]);
    assert!(!missing.status.success());
    assert_eq!(
        stderr(&missing).trim(),
        r#"Error from server (NotFound): statefulsets.apps "nope" not found"#
    );

    kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    let stale = kubectl_ok(&sandbox, &["get", "sts", "web", "-o", "json"]);
    kubectl_ok(&sandbox, &["label", "sts", "web", "moved=on"]);
    let conflict = kubectl_stdin(&sandbox, &["replace", "-f", "-"], &stale);
    assert!(!conflict.status.success());
    assert!(
        stderr(&conflict).contains(r#"Operation cannot be fulfilled on statefulsets.apps "web": the object has been modified; please apply your changes to the latest version and try again"#),
        "{}",
        stderr(&conflict)
    );

    let immutable = kubectl(
        &sandbox,
        &[
            "patch",
            "sts",
            "web",
            "-p",
            r#"{"spec":{"serviceName":"other"}}"#,
        ],
    );
    assert!(!immutable.status.success());
    assert!(
        stderr(&immutable).contains(r#"The StatefulSet "web" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"#),
        "{}",
        stderr(&immutable)
    );

    let in_missing_ns = kubectl(&sandbox, &["-n", "nowhere", "create", "configmap", "x"]);
    assert!(!in_missing_ns.status.success());

    let no_token = kubectl(&sandbox, &["--token", "wrong", "get", "ns"]);
    assert!(!no_token.status.success());
    assert!(
        stderr(&no_token).contains("Unauthorized") || stderr(&no_token).contains("logged in"),
        "{}",
        stderr(&no_token)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kube_rs_lists_watches_patches_and_records_events() {
    let sandbox = start_sandbox().await;
    kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    let client = support::kube_client(&sandbox).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let listed = sets.list(&ListParams::default()).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    assert!(listed.metadata.resource_version.is_some());

    let mut applied = watcher(sets.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(10), applied.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "watcher's initial object");
    sets.patch(
        "web",
        &PatchParams::default(),
        &Patch::Strategic(json!({"spec": {"replicas": 2}})),
    )
    .await
    .expect("strategic patch");
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(sts)) = applied.next().await {
            if sts.spec.replicas == Some(2) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "the watcher saw the patch");

    let events: Api<Event> = Api::namespaced(client, "default");
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "StatefulSet", "name": "web", "namespace": "default"},
        "reason": "Tested", "message": "hello", "type": "Normal",
    }))
    .expect("event");
    events
        .create(&PostParams::default(), &event)
        .await
        .expect("create event");
    let found = events
        .list(&ListParams::default().fields("involvedObject.name=web,type=Normal"))
        .await
        .expect("list events");
    let reasons: Vec<String> = found
        .items
        .iter()
        .map(|e| e.reason.clone().unwrap_or_default())
        .collect();
    assert!(reasons.contains(&"Tested".to_string()), "{reasons:?}");
    assert!(
        found
            .items
            .iter()
            .all(|e| e.involved_object.name.as_deref() == Some("web"))
    );
    assert!(
        events
            .list(&ListParams::default().fields("involvedObject.name=other"))
            .await
            .expect("list")
            .items
            .is_empty()
    );
    sandbox.shutdown().await;
}

/// A ConfigMap `owner` and a dependent ConfigMap `<owner>-dep` referring to it.
async fn owner_and_dependent(maps: &Api<ConfigMap>, owner: &str) {
    let created = maps
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": owner}})).expect("owner"),
        )
        .await
        .expect("create owner");
    let uid = created.metadata.uid.expect("uid");
    let dependent: ConfigMap = serde_json::from_value(json!({"metadata": {"name": format!("{owner}-dep"), "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid, "blockOwnerDeletion": true}]}}))
    .expect("dependent");
    maps.create(&PostParams::default(), &dependent)
        .await
        .expect("create dependent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_owner_collects_or_orphans_its_dependents() {
    let sandbox = start_sandbox().await;
    let maps: Api<ConfigMap> = Api::namespaced(support::kube_client(&sandbox).await, "default");
    let gone = |name: &str| {
        !kubectl(&sandbox, &["get", "configmap", name])
            .status
            .success()
    };

    // Foreground: kubectl waits until the owner is gone, and the dependent went first.
    owner_and_dependent(&maps, "fg").await;
    kubectl_ok(
        &sandbox,
        &[
            "delete",
            "configmap",
            "fg",
            "--cascade=foreground",
            "--timeout=20s",
        ],
    );
    assert!(gone("fg") && gone("fg-dep"));

    // Background (the default): the collector removes the dependent after the owner.
    owner_and_dependent(&maps, "bg").await;
    kubectl_ok(&sandbox, &["delete", "configmap", "bg"]);
    let collected =
        support::eventually(Duration::from_secs(10), || gone("bg-dep").then_some(())).await;
    assert!(collected.is_some(), "the dependent was not collected");

    // Orphan: the dependent stays, without its reference to the owner.
    owner_and_dependent(&maps, "or").await;
    kubectl_ok(
        &sandbox,
        &[
            "delete",
            "configmap",
            "or",
            "--cascade=orphan",
            "--timeout=20s",
        ],
    );
    let refs = jsonpath(&sandbox, "configmap/or-dep", "{.metadata.ownerReferences}");
    assert_eq!(refs, "");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_survives_a_restart() {
    let sandbox = start_sandbox().await;
    kubectl_ok(&sandbox, &["apply", "-f", &web_yaml()]);
    let uid = jsonpath(&sandbox, "sts/web", "{.metadata.uid}");
    // A second sandbox on the same directory would overwrite this one's state.
    let second = kubectl_sts::sandbox::start(kubectl_sts::sandbox::SandboxConfig::new(
        sandbox.dir.path().join("data"),
    ))
    .await;
    let message = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("another sandbox is already running on") && message.contains("--data-dir"),
        "{message:?}"
    );
    let TestSandbox {
        sandbox: running,
        dir,
    } = sandbox;
    running.shutdown().await;
    let restarted = support::restart_sandbox(dir).await;
    assert_eq!(jsonpath(&restarted, "sts/web", "{.metadata.uid}"), uid);
    restarted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_fail_requests_and_metrics_count_them() {
    let sandbox = start_sandbox().await;
    kubectl_ok(&sandbox, &["get", "ns"]);
    let metrics = sandbox.metrics();
    let counted = metrics["requests"].as_array().is_some_and(|rs| {
        rs.iter().any(|r| {
            r["verb"] == "list"
                && r["resource"] == "namespaces"
                && r["userAgent"]
                    .as_str()
                    .is_some_and(|ua| ua.starts_with("kubectl/"))
        })
    });
    assert!(counted, "{metrics}");

    sandbox.set_faults(Some(kubectl_sts::sandbox::api::faults::FaultSpec {
        error_rate: 1.0,
        codes: vec![500],
        ..Default::default()
    }));
    let failed = kubectl(&sandbox, &["get", "sts", "--request-timeout=5s"]);
    assert!(!failed.status.success());
    assert!(
        stderr(&failed).contains("InternalError") || stderr(&failed).contains("injected fault"),
        "{}",
        stderr(&failed)
    );
    sandbox.set_faults(None);
    kubectl_ok(&sandbox, &["get", "sts"]);
    sandbox.shutdown().await;
}
