//! `kubectl sts demo --no-pause` end to end: the built binary starts its own
//! sandbox, walks every stage, and must report each as passed and exit 0.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;

/// The stages the demo reports, numbered as it numbers them.
const STAGES: [&str; 8] = [
    "set-up",
    "ordered start",
    "the storage chain",
    "identity",
    "data survival",
    "canary",
    "automatic rollback",
    "history",
];

#[test]
fn the_demo_runs_every_stage_to_a_pass_without_a_terminal() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_kubectl-sts")))
        .args(["demo", "--no-pause"])
        .stdin(Stdio::null())
        .env_remove("KUBECONFIG")
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .output()
        .expect("run kubectl-sts demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let transcript = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");

    for (number, title) in STAGES.iter().enumerate() {
        let passed = format!("stage {number} ({title}): passed");
        assert!(
            stdout.lines().any(|l| l.starts_with(&passed)),
            "no \"{passed}\" line\n{transcript}"
        );
    }
    // Each stage shows the command it runs, as typed.
    for command in [
        "$ kubectl sts watch web --until ready",
        "$ kubectl sts volumes web",
        "$ kubectl sts status web",
        "$ kubectl sts verify web --yes",
        "$ kubectl sts canary web --image nginx:1.27 ",
        "$ kubectl sts canary web --image nginx:1.27-crash ",
        "$ kubectl sts history web",
    ] {
        assert!(
            stdout.contains(command),
            "{command:?} not shown\n{transcript}"
        );
    }
    assert_eq!(output.status.code(), Some(0), "{transcript}");
    assert!(
        stdout.contains("Stopped the sandbox and removed its data."),
        "{transcript}"
    );
    // The sandbox's data lived under TMPDIR and is gone.
    let left: Vec<_> = std::fs::read_dir(home.path())
        .expect("read TMPDIR")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("kubectl-sts-demo-")
        })
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
}

#[test]
fn the_demo_refuses_output_formats_it_does_not_print() {
    let output = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_kubectl-sts")))
        .args(["demo", "--no-pause", "-o", "json"])
        .stdin(Stdio::null())
        .output()
        .expect("run kubectl-sts demo");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("-o json"));
}

/// With --use-current-context the demo runs in a namespace of its own in the
/// cluster the kubeconfig names, shows `-n` in its command lines, and deletes
/// the namespace afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_can_run_in_a_fresh_namespace_of_the_current_cluster() {
    let sandbox = support::start_sandbox().await;
    let kubeconfig = sandbox.kubeconfig().to_path_buf();
    let home = sandbox.dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(PathBuf::from(env!("CARGO_BIN_EXE_kubectl-sts")))
            .args(["demo", "--no-pause", "--use-current-context"])
            .stdin(Stdio::null())
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", &home)
            .output()
            .expect("run kubectl-sts demo")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let transcript = format!(
        "--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let namespace = stdout
        .split_whitespace()
        .find(|w| w.starts_with("sts-demo-"))
        .map(|w| w.trim_end_matches('.').to_string())
        .unwrap_or_else(|| panic!("no demo namespace named\n{transcript}"));
    assert!(
        stdout.contains(&format!("$ kubectl sts volumes web -n {namespace}")),
        "{transcript}"
    );
    assert!(
        stdout.contains(&format!("Deleted namespace {namespace}.")),
        "{transcript}"
    );
    // The sandbox had no such class: the demo made it, and removes it.
    assert!(
        stdout.contains("Deleted storageclass managed-nfs-storage."),
        "{transcript}"
    );
    assert_eq!(output.status.code(), Some(0), "{transcript}");

    let client = support::kube_client(&sandbox).await;
    let classes: Api<StorageClass> = Api::all(client.clone());
    assert!(
        classes
            .get_opt("managed-nfs-storage")
            .await
            .expect("get storageclass")
            .is_none(),
        "the demo's storageclass is still there"
    );
    let namespaces: Api<Namespace> = Api::all(client);
    let left = namespaces.get_opt(&namespace).await.expect("get namespace");
    assert!(
        left.is_none_or(|ns| ns.metadata.deletion_timestamp.is_some()),
        "namespace {namespace} is still there"
    );
    sandbox.shutdown().await;
}
