//! `kubectl sts verify` against the sandbox: data in claims survives pod
//! recreation, data in an emptyDir does not, and the difference is explained.

mod support;

use support::{
    TestSandbox, apply_yaml, fixture, kubectl, kubectl_ok, kubectl_sts, output_text, start_sandbox,
};

async fn rolled_out(manifest: &str, name: &str) -> TestSandbox {
    let sandbox = start_sandbox().await;
    let output = apply_yaml(&sandbox, manifest);
    assert!(output.status.success(), "{}", output_text(&output));
    kubectl_ok(
        &sandbox,
        &[
            "rollout",
            "status",
            &format!("sts/{name}"),
            "--timeout=120s",
        ],
    );
    sandbox
}

fn uid(sandbox: &TestSandbox, pod: &str) -> String {
    kubectl_ok(
        sandbox,
        &["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_in_claims_survives_and_no_marker_is_left_behind() {
    let sandbox = rolled_out(&fixture("web.yaml"), "web").await;
    let uids: Vec<String> = (0..3).map(|i| uid(&sandbox, &format!("web-{i}"))).collect();
    let output = kubectl_sts(&sandbox, &["verify", "web", "--yes", "-o", "json"]);
    assert!(output.status.success(), "{}", output_text(&output));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("verify -o json parses");
    assert_eq!(report["survived"], true);
    let rows = report["rows"].as_array().expect("rows");
    let ordinals: Vec<i64> = rows.iter().filter_map(|r| r["ordinal"].as_i64()).collect();
    assert_eq!(ordinals, vec![2, 1, 0], "highest ordinal first");
    for row in rows {
        assert_eq!(row["verdict"]["marker"], "survived", "{row}");
        assert_eq!(row["verdict"]["claim"], "same", "{row}");
        assert_eq!(row["verdict"]["volume"], "same", "{row}");
        assert_ne!(row["oldPodUid"], row["newPodUid"], "the pod was recreated");
    }
    for (i, old) in uids.iter().enumerate() {
        assert_ne!(&uid(&sandbox, &format!("web-{i}")), old);
        let listing = kubectl_ok(
            &sandbox,
            &[
                "exec",
                &format!("web-{i}"),
                "--",
                "ls",
                "-a",
                "/usr/share/nginx/html",
            ],
        );
        assert!(
            !listing.contains(".kubectl-sts-verify-"),
            "marker left in web-{i}: {listing}"
        );
    }
    sandbox.shutdown().await;
}

const EMPTYDIR_SET: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: scratch}
spec:
  clusterIP: None
  selector: {app: scratch}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: scratch}
spec:
  serviceName: scratch
  replicas: 1
  selector: {matchLabels: {app: scratch}}
  template:
    metadata: {labels: {app: scratch}}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - name: data
        emptyDir: {}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_in_an_emptydir_is_reported_lost_with_the_cause() {
    let sandbox = rolled_out(EMPTYDIR_SET, "scratch").await;
    let output = kubectl_sts(&sandbox, &["verify", "scratch", "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    let report = output_text(&output);
    assert!(report.contains("lost"), "{report}");
    assert!(report.contains("emptyDir"), "{report}");
    assert!(report.contains("FAIL"), "{report}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replacement_that_cannot_be_scheduled_times_out_saying_why() {
    let sandbox = rolled_out(&fixture("web.yaml"), "web").await;
    kubectl_ok(&sandbox, &["cordon", "sandbox-node"]);
    let output = kubectl_sts(&sandbox, &["verify", "web", "--yes", "--timeout", "5s"]);
    let said = output_text(&output);
    assert_ne!(output.status.code(), Some(0), "{said}");
    assert!(
        said.contains("the replacement of pod web-2 did not become Ready: it is Pending, not scheduled: 0/1 nodes are available: 1 node(s) were unschedulable"),
        "{said}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_output_is_compared_before_and_after() {
    let sandbox = rolled_out(&fixture("web.yaml"), "web").await;
    kubectl_ok(
        &sandbox,
        &[
            "exec",
            "web-1",
            "--",
            "sh",
            "-c",
            "echo abc > /usr/share/nginx/html/k1",
        ],
    );
    let output = kubectl_sts(
        &sandbox,
        &[
            "verify",
            "web",
            "--ordinal",
            "1",
            "--check",
            "cat /usr/share/nginx/html/k1",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert!(output.status.success(), "{}", output_text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["rows"][0]["verdict"]["check"], "same");
    assert_eq!(report["rows"][0]["pod"], "web-1");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_terminal_or_yes_it_refuses_and_deletes_nothing() {
    let sandbox = rolled_out(&fixture("web.yaml"), "web").await;
    let before = uid(&sandbox, "web-2");
    let output = kubectl_sts(&sandbox, &["verify", "web"]);
    assert_eq!(output.status.code(), Some(2), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("--yes"),
        "{}",
        output_text(&output)
    );
    assert_eq!(uid(&sandbox, "web-2"), before, "nothing may be deleted");
    let dry = kubectl_sts(&sandbox, &["verify", "web", "--dry-run"]);
    assert!(dry.status.success(), "{}", output_text(&dry));
    assert!(
        output_text(&dry).contains("web-2: write /usr/share/nginx/html/.kubectl-sts-verify-"),
        "{}",
        output_text(&dry)
    );
    assert_eq!(uid(&sandbox, "web-2"), before);
    let no_such = kubectl(&sandbox, &["get", "pod", "web-2"]);
    assert!(no_such.status.success());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_recreated_while_the_pod_is_away_is_reported_as_lost_data() {
    let sandbox = rolled_out(&fixture("web.yaml"), "web").await;
    // Deleting a claim in use only marks it (pvc-protection): it goes when
    // verify deletes its pod, and the controller then creates a new, empty one.
    kubectl_ok(&sandbox, &["delete", "pvc", "www-web-0", "--wait=false"]);
    let output = kubectl_sts(
        &sandbox,
        &[
            "verify",
            "web",
            "--ordinal",
            "0",
            "--yes",
            "--timeout",
            "90s",
            "-o",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let verdict = &report["rows"][0]["verdict"];
    assert_eq!(verdict["claim"], "changed", "{report}");
    assert_eq!(verdict["marker"], "lost", "{report}");
    assert!(
        verdict["causes"]
            .to_string()
            .contains("deleted and recreated"),
        "{report}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answering_no_at_the_prompt_deletes_nothing() {
    use std::io::Write;
    let sandbox = rolled_out(&fixture("web.yaml"), "web").await;
    let before: Vec<String> = (0..3).map(|i| uid(&sandbox, &format!("web-{i}"))).collect();
    // script(1) gives kubectl-sts a terminal to ask on, as an interactive shell would.
    let command = format!(
        "exec '{}' --kubeconfig '{}' verify web",
        env!("CARGO_BIN_EXE_kubectl-sts"),
        sandbox.kubeconfig().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start script(1) for a pseudo-terminal");
    // The answer waits in the terminal's input until the prompt reads it.
    child
        .stdin
        .as_mut()
        .expect("piped stdin")
        .write_all(b"n\n")
        .expect("answer the prompt");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("script output");
    let text = output_text(&output);
    assert!(text.contains("[y/N]"), "no prompt shown: {text}");
    assert!(text.contains("nothing was written or deleted"), "{text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
    let after: Vec<String> = (0..3).map(|i| uid(&sandbox, &format!("web-{i}"))).collect();
    assert_eq!(before, after, "no pod may be deleted");
    sandbox.shutdown().await;
}
