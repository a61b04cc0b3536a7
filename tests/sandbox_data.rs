//! Data in the sandbox lives where it would on a cluster: in a claim's volume
//! it survives pod recreation, in the container's own layer it does not.

mod support;

use std::time::{Duration, Instant};

use support::{apply_yaml, fixture, kubectl, kubectl_ok, output_text, start_sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_in_the_claim_survive_pod_recreation_and_files_in_tmp_do_not() {
    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, &fixture("web.yaml"));
    assert!(applied.status.success(), "{}", output_text(&applied));
    kubectl_ok(&sandbox, &["rollout", "status", "sts/web", "--timeout=90s"]);
    let old_uid = kubectl_ok(
        &sandbox,
        &["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}"],
    );
    let volume = kubectl_ok(
        &sandbox,
        &[
            "get",
            "pvc",
            "www-web-0",
            "-o",
            "jsonpath={.spec.volumeName}",
        ],
    );
    assert!(volume.starts_with("pvc-"), "{volume}");

    kubectl_ok(
        &sandbox,
        &[
            "exec",
            "web-0",
            "--",
            "sh",
            "-c",
            "echo hello > /usr/share/nginx/html/index.html",
        ],
    );
    kubectl_ok(
        &sandbox,
        &[
            "exec",
            "web-0",
            "--",
            "sh",
            "-c",
            "echo scratch > /tmp/scratch",
        ],
    );
    kubectl_ok(&sandbox, &["delete", "pod", "web-0"]);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let uid = kubectl(
            &sandbox,
            &["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}"],
        );
        let uid = String::from_utf8_lossy(&uid.stdout).to_string();
        if !uid.is_empty() && uid != old_uid {
            break;
        }
        assert!(Instant::now() < deadline, "web-0 was not recreated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kubectl_ok(
        &sandbox,
        &[
            "wait",
            "--for=condition=Ready",
            "pod/web-0",
            "--timeout=60s",
        ],
    );
    let same_volume = kubectl_ok(
        &sandbox,
        &[
            "get",
            "pvc",
            "www-web-0",
            "-o",
            "jsonpath={.spec.volumeName}",
        ],
    );
    assert_eq!(same_volume, volume, "the claim keeps its volume");

    let index = kubectl_ok(
        &sandbox,
        &[
            "exec",
            "web-0",
            "--",
            "cat",
            "/usr/share/nginx/html/index.html",
        ],
    );
    assert_eq!(index, "hello\n");
    let scratch = kubectl(&sandbox, &["exec", "web-0", "--", "cat", "/tmp/scratch"]);
    assert_eq!(scratch.status.code(), Some(1), "{}", output_text(&scratch));
    assert!(
        output_text(&scratch).contains("No such file or directory"),
        "{}",
        output_text(&scratch)
    );
    sandbox.shutdown().await;
}
