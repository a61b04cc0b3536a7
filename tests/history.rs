//! `kubectl sts history` and `undo`, checked against what `kubectl rollout
//! history/undo` report on the same StatefulSet in the sandbox.

mod support;

use std::time::Duration;

use support::{
    TestSandbox, apply_yaml, fixture, kubectl, kubectl_ok, kubectl_sts, output_text, start_sandbox,
};

fn image(sandbox: &TestSandbox) -> String {
    kubectl_ok(
        sandbox,
        &[
            "get",
            "sts",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
}

/// The REVISION column of `kubectl rollout history sts/web`.
fn kubectl_revisions(sandbox: &TestSandbox) -> Vec<i64> {
    kubectl_ok(sandbox, &["rollout", "history", "sts/web"])
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

fn rolled_out(sandbox: &TestSandbox) {
    kubectl_ok(sandbox, &["rollout", "status", "sts/web", "--timeout=90s"]);
}

async fn web_with_two_revisions() -> TestSandbox {
    let sandbox = start_sandbox().await;
    let output = apply_yaml(&sandbox, &fixture("web.yaml"));
    assert!(output.status.success(), "{}", output_text(&output));
    rolled_out(&sandbox);
    kubectl_ok(&sandbox, &["set", "image", "sts/web", "nginx=nginx:1.27"]);
    rolled_out(&sandbox);
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_lists_the_revisions_kubectl_lists_with_their_pods() {
    let sandbox = web_with_two_revisions().await;
    let output = kubectl_sts(&sandbox, &["history", "web", "-o", "json"]);
    assert!(output.status.success(), "{}", output_text(&output));
    let document: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("history -o json parses");
    let revisions = document["revisions"].as_array().expect("revisions list");
    let numbers: Vec<i64> = revisions
        .iter()
        .filter_map(|r| r["number"].as_i64())
        .collect();
    assert_eq!(
        numbers,
        kubectl_revisions(&sandbox),
        "same revisions as kubectl rollout history"
    );
    assert_eq!(numbers, vec![1, 2]);
    assert_eq!(revisions[0]["images"][0], "nginx=nginx:1.25");
    assert_eq!(revisions[1]["images"][0], "nginx=nginx:1.27");
    assert_eq!(
        revisions[1]["pods"],
        serde_json::json!(["web-0", "web-1", "web-2"])
    );
    assert_eq!(revisions[1]["isUpdate"], true);

    let table = output_text(&kubectl_sts(&sandbox, &["history", "web"]));
    assert!(table.starts_with("REVISION"), "{table}");

    let template = output_text(&kubectl_sts(
        &sandbox,
        &["history", "web", "--revision", "1"],
    ));
    assert!(template.contains("nginx:1.25"), "{template}");
    let diff = output_text(&kubectl_sts(
        &sandbox,
        &["history", "web", "--diff", "1", "2"],
    ));
    assert!(
        diff.lines()
            .any(|l| l.starts_with('-') && l.contains("nginx:1.25")),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with('+') && l.contains("nginx:1.27")),
        "{diff}"
    );

    let missing = kubectl_sts(&sandbox, &["history", "web", "--revision", "9"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        output_text(&missing).contains("no revision 9"),
        "{}",
        output_text(&missing)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_numbers_revisions_as_kubectl_rollout_undo_does() {
    let sandbox = web_with_two_revisions().await;
    let output = kubectl_sts(&sandbox, &["undo", "web", "--yes", "--timeout", "90s"]);
    assert!(output.status.success(), "{}", output_text(&output));
    assert_eq!(image(&sandbox), "nginx:1.25");
    // Going back reuses revision 1's ControllerRevision under a new number, as upstream.
    assert_eq!(kubectl_revisions(&sandbox), vec![2, 3]);

    // kubectl's own undo, from here, goes back to 1.27 the same way.
    kubectl_ok(&sandbox, &["rollout", "undo", "sts/web"]);
    rolled_out(&sandbox);
    assert_eq!(image(&sandbox), "nginx:1.27");
    assert_eq!(kubectl_revisions(&sandbox), vec![3, 4]);

    // And ours to an explicit revision.
    let output = kubectl_sts(&sandbox, &["undo", "web", "--to-revision", "3", "--yes"]);
    assert!(output.status.success(), "{}", output_text(&output));
    assert_eq!(image(&sandbox), "nginx:1.25");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_deletes_the_pod_stuck_on_a_crashing_revision() {
    let sandbox = start_sandbox().await;
    assert!(apply_yaml(&sandbox, &fixture("web.yaml")).status.success());
    rolled_out(&sandbox);
    kubectl_ok(
        &sandbox,
        &["set", "image", "sts/web", "nginx=nginx:1.27-crash"],
    );
    // web-2 is replaced first and crash-loops; OrderedReady then stops.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let restarts = kubectl(
            &sandbox,
            &[
                "get",
                "pod",
                "web-2",
                "-o",
                "jsonpath={.status.containerStatuses[0].restartCount}",
            ],
        );
        let count: i64 = String::from_utf8_lossy(&restarts.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        if count >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "web-2 never crash-looped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let output = kubectl_sts(&sandbox, &["undo", "web", "--yes", "--timeout", "90s"]);
    assert!(output.status.success(), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("pod/web-2 deleted"),
        "{}",
        output_text(&output)
    );
    assert_eq!(image(&sandbox), "nginx:1.25");
    let status = kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=5s"]);
    assert!(status.contains("complete"), "{status}");
    let pods_images = kubectl_ok(
        &sandbox,
        &[
            "get",
            "pods",
            "-l",
            "app=nginx",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ],
    );
    assert!(
        pods_images.split_whitespace().all(|i| i == "nginx:1.25"),
        "{pods_images}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_without_a_terminal_or_yes_changes_nothing() {
    let sandbox = web_with_two_revisions().await;
    let output = kubectl_sts(&sandbox, &["undo", "web"]);
    assert_eq!(output.status.code(), Some(2), "{}", output_text(&output));
    assert!(
        output_text(&output).contains("--yes"),
        "{}",
        output_text(&output)
    );
    assert_eq!(image(&sandbox), "nginx:1.27", "nothing may change");
    sandbox.shutdown().await;
}
