//! The sandbox's storage and node, driven with the real kubectl 1.37: the
//! PV binder and the provisioners (nfs-subdir and the default hostpath
//! class), static binding by class, reclaim policies, WaitForFirstConsumer,
//! the kubelet's pod lifecycle and the EndpointSlices of a headless Service.
//!
//! Checks read the sandbox's state in-process (`RunningSandbox::cluster`)
//! and its data directory; every change is made with kubectl, as a user would.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kubectl_sts::sandbox::node;
use support::{TestSandbox, apply_yaml, eventually, kubectl, kubectl_ok};

const WAIT: Duration = Duration::from_secs(60);

async fn sandbox() -> TestSandbox {
    support::start_sandbox().await
}

fn apply(sandbox: &TestSandbox, yaml: &str) {
    let output = apply_yaml(sandbox, yaml);
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn claim(sandbox: &TestSandbox, name: &str) -> Option<PersistentVolumeClaim> {
    sandbox.cluster.get_typed(Some("default"), name).ok()
}

fn volume(sandbox: &TestSandbox, name: &str) -> Option<PersistentVolume> {
    sandbox.cluster.get_typed(None, name).ok()
}

fn pod(sandbox: &TestSandbox, name: &str) -> Option<Pod> {
    sandbox.cluster.get_typed(Some("default"), name).ok()
}

fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn volume_phase(volume: &PersistentVolume) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn bound_volume_name(claim: &PersistentVolumeClaim) -> String {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .unwrap_or_default()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// `reason: message` of the events about one object.
fn events_about(sandbox: &TestSandbox, kind: &str, name: &str) -> Vec<String> {
    let events: Vec<Event> = sandbox.cluster.list_typed(None, None).unwrap_or_default();
    events
        .into_iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some(kind)
                && e.involved_object.name.as_deref() == Some(name)
        })
        .map(|e| {
            format!(
                "{}: {}",
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default()
            )
        })
        .collect()
}

async fn wait_bound(sandbox: &TestSandbox, name: &str) -> PersistentVolumeClaim {
    eventually(WAIT, || {
        claim(sandbox, name).filter(|c| claim_phase(c) == "Bound")
    })
    .await
    .unwrap_or_else(|| panic!("claim {name} never bound: {:?}", claim(sandbox, name)))
}

async fn wait_ready(sandbox: &TestSandbox, name: &str) -> Pod {
    eventually(WAIT, || pod(sandbox, name).filter(is_ready))
        .await
        .unwrap_or_else(|| {
            panic!(
                "pod {name} never became Ready: {:?}",
                pod(sandbox, name).and_then(|p| p.status)
            )
        })
}

async fn wait_event(sandbox: &TestSandbox, kind: &str, name: &str, expected: &str) {
    let found = eventually(WAIT, || {
        events_about(sandbox, kind, name)
            .into_iter()
            .find(|e| e == expected)
    })
    .await;
    assert!(
        found.is_some(),
        "no event {expected:?} about {kind} {name}; events: {:?}",
        events_about(sandbox, kind, name)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn web_claims_bind_to_provisioned_nfs_volumes_with_real_directories() {
    let sandbox = sandbox().await;
    apply(&sandbox, &support::fixture("web.yaml"));
    for ordinal in 0..3 {
        wait_ready(&sandbox, &format!("web-{ordinal}")).await;
    }
    let output = kubectl(&sandbox, &["rollout", "status", "sts/web", "--timeout=60s"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    for ordinal in 0..3 {
        let name = format!("www-web-{ordinal}");
        let bound = wait_bound(&sandbox, &name).await;
        let uid = bound.metadata.uid.clone().unwrap_or_default();
        assert_eq!(bound_volume_name(&bound), format!("pvc-{uid}"));
        let annotations = bound.metadata.annotations.clone().unwrap_or_default();
        for (key, value) in [
            ("pv.kubernetes.io/bind-completed", "yes"),
            ("pv.kubernetes.io/bound-by-controller", "yes"),
            (
                "volume.kubernetes.io/storage-provisioner",
                "k8s-sigs.io/nfs-subdir-external-provisioner",
            ),
            (
                "volume.beta.kubernetes.io/storage-provisioner",
                "k8s-sigs.io/nfs-subdir-external-provisioner",
            ),
        ] {
            assert_eq!(
                annotations.get(key).map(String::as_str),
                Some(value),
                "{name} annotation {key}"
            );
        }
        let capacity = bound
            .status
            .as_ref()
            .and_then(|s| s.capacity.clone())
            .unwrap_or_default();
        assert_eq!(capacity.get("storage").map(|q| q.0.as_str()), Some("1Gi"));

        let pv = volume(&sandbox, &format!("pvc-{uid}")).expect("the provisioned volume");
        assert_eq!(volume_phase(&pv), "Bound");
        let spec = pv.spec.clone().expect("volume spec");
        let nfs = spec.nfs.clone().expect("an nfs volume");
        assert_eq!(nfs.path, format!("/exports/default-{name}-pvc-{uid}"));
        assert_eq!(
            spec.persistent_volume_reclaim_policy.as_deref(),
            Some("Delete")
        );
        assert_eq!(
            spec.claim_ref.and_then(|r| r.uid).as_deref(),
            Some(uid.as_str())
        );
        let dir = node::pv_backing_dir(&sandbox.data_dir, &pv).expect("a backing directory");
        assert!(dir.is_dir(), "{} should exist", dir.display());

        wait_event(
            &sandbox,
            "PersistentVolumeClaim",
            &name,
            &format!("ProvisioningSucceeded: Successfully provisioned volume pvc-{uid}"),
        )
        .await;
        wait_event(
            &sandbox,
            "PersistentVolumeClaim",
            &name,
            &format!("Provisioning: External provisioner is provisioning volume for claim \"default/{name}\""),
        )
        .await;
    }
    let pvcs = kubectl_ok(&sandbox, &["get", "pvc"]);
    assert_eq!(pvcs.matches("Bound").count(), 3, "{pvcs}");

    // The headless Service's slice lists each pod under its hostname.
    let slices: Vec<EndpointSlice> = sandbox
        .cluster
        .list_typed(
            Some("default"),
            Some("kubernetes.io/service-name=headless-svc"),
        )
        .expect("list slices");
    assert_eq!(slices.len(), 1);
    let mut hostnames: Vec<String> = slices[0]
        .endpoints
        .iter()
        .flatten()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
        .filter_map(|e| e.hostname.clone())
        .collect();
    hostnames.sort();
    assert_eq!(hostnames, ["web-0", "web-1", "web-2"]);
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn static_volumes_bind_only_within_their_class_and_the_fourth_claim_waits() {
    let sandbox = sandbox().await;
    let mut volumes = String::new();
    for (index, class) in ["nfs", "nfs", "", "nfs", "slow"].iter().enumerate() {
        volumes.push_str(&format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv{index}\nspec:\n  capacity: {{storage: {size}}}\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  storageClassName: \"{class}\"\n  nfs: {{server: nfs.example.com, path: /srv/pv{index}}}\n---\n",
            size = if index == 3 { "5Gi" } else { "1Gi" },
        ));
    }
    apply(&sandbox, &volumes);
    let set = support::fixture("web.yaml")
        .replace("storageClassName: managed-nfs-storage", "storageClassName: nfs")
        .replace(
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: managed-nfs-storage\nprovisioner: k8s-sigs.io/nfs-subdir-external-provisioner\nparameters:\n  archiveOnDelete: \"false\"\n---\n",
            "",
        );
    assert!(
        !set.contains("kind: StorageClass"),
        "the fixture changed shape"
    );
    apply(&sandbox, &set);
    let mut bound_to = Vec::new();
    for ordinal in 0..3 {
        wait_ready(&sandbox, &format!("web-{ordinal}")).await;
        bound_to.push(bound_volume_name(
            &wait_bound(&sandbox, &format!("www-web-{ordinal}")).await,
        ));
    }
    bound_to.sort();
    assert_eq!(
        bound_to,
        ["pv0", "pv1", "pv3"],
        "only the class-nfs volumes, the smallest first"
    );
    for unused in ["pv2", "pv4"] {
        let pv = volume(&sandbox, unused).expect("volume");
        assert_eq!(volume_phase(&pv), "Available");
    }

    kubectl_ok(&sandbox, &["scale", "sts/web", "--replicas=4"]);
    wait_event(
        &sandbox,
        "PersistentVolumeClaim",
        "www-web-3",
        "ProvisioningFailed: storageclass.storage.k8s.io \"nfs\" not found",
    )
    .await;
    wait_event(
        &sandbox,
        "Pod",
        "web-3",
        "FailedScheduling: 0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    )
    .await;
    let stuck = pod(&sandbox, "web-3").expect("web-3 exists");
    assert_eq!(
        stuck.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Pending")
    );
    assert!(
        stuck
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .is_none()
    );
    let scheduled = stuck
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled")
        .cloned()
        .expect("a PodScheduled condition");
    assert_eq!(
        (scheduled.status.as_str(), scheduled.reason.as_deref()),
        ("False", Some("Unschedulable"))
    );
    assert_eq!(
        claim_phase(&claim(&sandbox, "www-web-3").expect("claim")),
        "Pending"
    );
    sandbox.shutdown().await;
}

const CLASSES: &str = r#"apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: k8s-sigs.io/nfs-subdir-external-provisioner
reclaimPolicy: Retain
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: wipe}
provisioner: k8s-sigs.io/nfs-subdir-external-provisioner
parameters: {archiveOnDelete: "false"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: archive}
provisioner: k8s-sigs.io/nfs-subdir-external-provisioner
"#;

fn claim_yaml(name: &str, class: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}}}\nspec:\n  storageClassName: {class}\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n---\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_claims_release_their_volumes_by_reclaim_policy() {
    let sandbox = sandbox().await;
    apply(&sandbox, CLASSES);
    apply(
        &sandbox,
        &[
            claim_yaml("kept", "keep"),
            claim_yaml("wiped", "wipe"),
            claim_yaml("archived", "archive"),
            claim_yaml("plain", "standard"),
        ]
        .concat(),
    );
    let mut volumes = Vec::new();
    for name in ["kept", "wiped", "archived", "plain"] {
        let bound = wait_bound(&sandbox, name).await;
        let pv = volume(&sandbox, &bound_volume_name(&bound)).expect("volume");
        let dir = node::pv_backing_dir(&sandbox.data_dir, &pv).expect("backing dir");
        assert!(dir.is_dir(), "{} should exist", dir.display());
        std::fs::write(dir.join("data.txt"), name).expect("write into the volume");
        volumes.push((name, pv, dir));
    }
    kubectl_ok(
        &sandbox,
        &["delete", "pvc", "kept", "wiped", "archived", "plain"],
    );

    let (_, kept, kept_dir) = &volumes[0];
    let kept_name = kept.metadata.name.clone().unwrap_or_default();
    let released = eventually(WAIT, || {
        volume(&sandbox, &kept_name).filter(|v| volume_phase(v) == "Released")
    })
    .await;
    assert!(
        released.is_some(),
        "Retain keeps the volume, Released: {:?}",
        volume(&sandbox, &kept_name)
    );
    assert!(kept_dir.join("data.txt").is_file());

    for (name, pv, dir) in &volumes[1..] {
        let pv_name = pv.metadata.name.clone().unwrap_or_default();
        let gone = eventually(WAIT, || volume(&sandbox, &pv_name).is_none().then_some(())).await;
        assert!(
            gone.is_some(),
            "{name}: Delete removes the volume {pv_name}"
        );
        assert!(
            !dir.exists(),
            "{name}: the directory {} goes with it",
            dir.display()
        );
    }
    // nfs-subdir archives by default: archived-<dir> at the export root.
    let (_, archived_pv, archived_dir) = &volumes[2];
    let base = archived_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let archive = node::nfs_dir(&sandbox.data_dir, "nfs.sandbox.local", "/exports")
        .join(format!("archived-{base}"));
    assert_eq!(
        std::fs::read_to_string(archive.join("data.txt"))
            .ok()
            .as_deref(),
        Some("archived")
    );
    assert!(
        archived_pv
            .spec
            .as_ref()
            .and_then(|s| s.nfs.as_ref())
            .is_some()
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_for_first_consumer_provisions_once_a_pod_needs_the_claim() {
    let sandbox = sandbox().await;
    apply(
        &sandbox,
        &format!(
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: late}}\nprovisioner: sandbox.kubectl-sts.io/hostpath\nvolumeBindingMode: WaitForFirstConsumer\n---\n{}",
            claim_yaml("data", "late")
        ),
    );
    wait_event(
        &sandbox,
        "PersistentVolumeClaim",
        "data",
        "WaitForFirstConsumer: waiting for first consumer to be created before binding",
    )
    .await;
    assert_eq!(
        claim_phase(&claim(&sandbox, "data").expect("claim")),
        "Pending"
    );
    apply(
        &sandbox,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: user}\nspec:\n  containers: [{name: app, image: busybox:1.36, volumeMounts: [{name: d, mountPath: /data}]}]\n  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n",
    );
    let bound = wait_bound(&sandbox, "data").await;
    let annotations = bound.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations
            .get("volume.kubernetes.io/selected-node")
            .map(String::as_str),
        Some("sandbox-node")
    );
    let pv = volume(&sandbox, &bound_volume_name(&bound)).expect("volume");
    assert_eq!(
        node::pv_backing_dir(&sandbox.data_dir, &pv),
        Some(
            sandbox
                .data_dir
                .join("volumes/hostpath")
                .join(bound_volume_name(&bound))
        )
    );
    wait_ready(&sandbox, "user").await;
    wait_event(
        &sandbox,
        "Pod",
        "user",
        "Scheduled: Successfully assigned default/user to sandbox-node",
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_whose_volume_disappears_is_lost() {
    let sandbox = sandbox().await;
    apply(&sandbox, &claim_yaml("fragile", "standard"));
    let bound = wait_bound(&sandbox, "fragile").await;
    let pv_name = bound_volume_name(&bound);
    kubectl_ok(&sandbox, &["delete", "pv", &pv_name, "--wait=false"]);
    // pv-protection holds a Bound volume (when the API server adds it); an
    // administrator forcing it out removes the finalizer.
    if volume(&sandbox, &pv_name).is_some() {
        kubectl_ok(
            &sandbox,
            &[
                "patch",
                "pv",
                &pv_name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ],
        );
    }
    let lost = eventually(WAIT, || {
        claim(&sandbox, "fragile").filter(|c| claim_phase(c) == "Lost")
    })
    .await;
    assert!(
        lost.is_some(),
        "claim should be Lost: {:?}",
        claim(&sandbox, "fragile")
    );
    wait_event(
        &sandbox,
        "PersistentVolumeClaim",
        "fragile",
        "ClaimLost: Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
    )
    .await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubelet_crash_loops_crash_images_and_keeps_their_logs() {
    let sandbox = sandbox().await;
    apply(
        &sandbox,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: crashy}\nspec:\n  terminationGracePeriodSeconds: 5\n  containers: [{name: nginx, image: nginx:1.25-crash}]\n",
    );
    let looping = eventually(WAIT, || {
        pod(&sandbox, "crashy").filter(|p| {
            let status = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first().cloned());
            status.is_some_and(|c| {
                c.restart_count >= 2
                    && c.state
                        .and_then(|s| s.waiting)
                        .and_then(|w| w.reason)
                        .as_deref()
                        == Some("CrashLoopBackOff")
            })
        })
    })
    .await
    .expect("the pod should crash-loop");
    assert_eq!(
        looping.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Running")
    );
    assert!(!is_ready(&looping));
    let uid = looping.metadata.uid.clone().unwrap_or_default();
    wait_event(
        &sandbox,
        "Pod",
        "crashy",
        &format!(
            "BackOff: Back-off restarting failed container nginx in pod crashy_default({uid})"
        ),
    )
    .await;
    let previous = node::read_log(
        &sandbox.data_dir,
        &uid,
        "nginx",
        &node::LogQuery {
            previous: true,
            ..Default::default()
        },
    )
    .expect("a previous log");
    assert!(previous.contains("exiting with status 1"), "{previous}");

    // Deletion: Killing, then the pod and its node directories go.
    assert!(node::pod_dir(&sandbox.data_dir, &uid).exists());
    kubectl_ok(&sandbox, &["delete", "pod", "crashy", "--wait=false"]);
    let gone = eventually(WAIT, || pod(&sandbox, "crashy").is_none().then_some(())).await;
    assert!(
        gone.is_some(),
        "the pod should be deleted after its (scaled) grace period"
    );
    let cleaned = eventually(WAIT, || {
        (!node::pod_dir(&sandbox.data_dir, &uid).exists()).then_some(())
    })
    .await;
    assert!(
        cleaned.is_some(),
        "the pod's node directories should be removed"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unpullable_images_back_off_and_keep_the_pod_pending() {
    let sandbox = sandbox().await;
    apply(
        &sandbox,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: nopull}\nspec:\n  containers: [{name: app, image: nginx:1.25-pullerr}]\n",
    );
    wait_event(&sandbox, "Pod", "nopull", "Failed: Error: ErrImagePull").await;
    wait_event(
        &sandbox,
        "Pod",
        "nopull",
        "BackOff: Back-off pulling image \"nginx:1.25-pullerr\"",
    )
    .await;
    let reason = eventually(WAIT, || {
        let p = pod(&sandbox, "nopull")?;
        let waiting = p
            .status?
            .container_statuses?
            .first()?
            .state
            .clone()?
            .waiting?;
        (waiting.reason.as_deref() == Some("ImagePullBackOff")).then_some(())
    })
    .await;
    assert!(
        reason.is_some(),
        "the container should show ImagePullBackOff"
    );
    let table = kubectl_ok(&sandbox, &["get", "pod", "nopull"]);
    assert!(
        table.contains("ImagePullBackOff") || table.contains("ErrImagePull"),
        "{table}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn running_pods_and_their_volumes_survive_a_sandbox_restart() {
    let sandbox = sandbox().await;
    apply(
        &sandbox,
        &format!(
            "{}apiVersion: v1\nkind: Pod\nmetadata: {{name: keeper}}\nspec:\n  containers: [{{name: app, image: nginx:1.25, volumeMounts: [{{name: d, mountPath: /data}}]}}]\n  volumes: [{{name: d, persistentVolumeClaim: {{claimName: kept}}}}]\n",
            claim_yaml("kept", "standard")
        ),
    );
    let before = wait_ready(&sandbox, "keeper").await;
    let bound = wait_bound(&sandbox, "kept").await;
    let pv = volume(&sandbox, &bound_volume_name(&bound)).expect("volume");
    let dir = node::pv_backing_dir(&sandbox.data_dir, &pv).expect("backing dir");
    std::fs::write(dir.join("index.html"), "hello").expect("write into the volume");
    let started_events = events_about(&sandbox, "Pod", "keeper")
        .iter()
        .filter(|e| e.starts_with("Started:"))
        .count();

    let TestSandbox {
        sandbox: running,
        dir: temp,
    } = sandbox;
    running.shutdown().await;
    let sandbox = support::restart_sandbox(temp).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = pod(&sandbox, "keeper").expect("the pod is still there");
    assert_eq!(after.metadata.uid, before.metadata.uid);
    assert!(is_ready(&after), "still Ready: {:?}", after.status);
    let restarts = after
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c[0].restart_count);
    assert_eq!(restarts, Some(0));
    assert_eq!(
        after.status.as_ref().and_then(|s| s.pod_ip.clone()),
        before.status.as_ref().and_then(|s| s.pod_ip.clone())
    );
    let started_after = events_about(&sandbox, "Pod", "keeper")
        .iter()
        .filter(|e| e.starts_with("Started:"))
        .count();
    assert_eq!(
        started_after, started_events,
        "a restart of the sandbox is not a restart of the container"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("index.html"))
            .ok()
            .as_deref(),
        Some("hello")
    );
    assert_eq!(
        claim_phase(&claim(&sandbox, "kept").expect("claim")),
        "Bound"
    );
    sandbox.shutdown().await;
}
