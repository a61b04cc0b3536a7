//! `kubectl sts status` against the sandbox, as a user runs it: apply the
//! manifests with the real kubectl, then read the identity and the checks.

mod support;

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use support::{TestSandbox, apply_yaml, fixture, kubectl_ok, start_sandbox};

const WAIT: Duration = Duration::from_secs(90);

/// Runs the built plugin with the sandbox's kubeconfig.
fn sts(sandbox: &TestSandbox, args: &[&str]) -> Output {
    support::kubectl_sts(sandbox, args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn apply(sandbox: &TestSandbox, yaml: &str) {
    let output = apply_yaml(sandbox, yaml);
    assert!(
        output.status.success(),
        "apply failed: {}",
        describe(&output)
    );
}

/// Polls `status NAME -o json` until `ready` holds for the report.
async fn report_when(sandbox: &TestSandbox, name: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = String::new();
    let found = support::eventually(WAIT, || {
        let output = sts(sandbox, &["status", name, "-o", "json"]);
        last = describe(&output);
        let report: Value = serde_json::from_slice(&output.stdout).ok()?;
        ready(&report).then_some(report)
    })
    .await;
    found.unwrap_or_else(|| panic!("status {name} never reached the expected state; last:\n{last}"))
}

fn rollout_state(report: &Value) -> &str {
    report["update"]["rollout"]["state"]
        .as_str()
        .unwrap_or_default()
}

fn all_pods_ready(report: &Value, replicas: usize) -> bool {
    let pods = report["identity"]["pods"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    pods.len() == replicas && pods.iter().all(|p| p["ready"] == true)
}

fn check<'a>(report: &'a Value, id: &str) -> Option<&'a Value> {
    report["checks"].as_array()?.iter().find(|c| c["id"] == id)
}

fn check_ids(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect()
}

/// A small StatefulSet (no volumes, so it comes up fast) and, unless
/// `service` is None, its governing Service.
fn stateful_set(name: &str, service_name: &str, service: Option<&str>) -> String {
    let service_yaml = match service {
        Some(spec) => format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {service_name}\nspec:\n{spec}\n---\n"
        ),
        None => String::new(),
    };
    format!(
        r#"{service_yaml}apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  replicas: 3
  serviceName: {service_name}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        readinessProbe: {{httpGet: {{path: /, port: 80}}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{app: {name}}}
"#
    )
}

fn headless_selecting(app: &str) -> String {
    format!("  clusterIP: None\n  selector: {{app: {app}}}\n  ports: [{{port: 80}}]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn web_behind_a_headless_service_has_dns_names_listed_in_its_endpoint_slices() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &fixture("web.yaml"));
    let report = report_when(&sandbox, "web", |r| {
        rollout_state(r) == "complete"
            && all_pods_ready(r, 3)
            && r["identity"]["pods"]
                .as_array()
                .is_some_and(|pods| pods.iter().all(|p| p["endpoint"] == "ready"))
    })
    .await;
    assert_eq!(report["identity"]["service"]["headless"], true);

    let output = sts(&sandbox, &["status", "web"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = stdout(&output);
    for ordinal in 0..3 {
        let dns = format!("web-{ordinal}.headless-svc.default.svc.cluster.local");
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("web-{ordinal} ")))
            .unwrap_or_else(|| panic!("no identity row for web-{ordinal}:\n{text}"));
        assert!(row.contains(&dns), "{row}");
        assert!(row.trim_end().ends_with("ready"), "{row}");
    }
    assert!(
        text.contains("Service:     headless-svc (headless; selector app=nginx)"),
        "{text}"
    );
    assert!(text.contains("www-web-2"), "{text}");
    // The walkthrough's manifest has no probe and no budget: warnings, exit 0...
    assert!(text.contains("WARN no-pdb"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    // ...which --strict turns into a failure.
    let strict = sts(&sandbox, &["status", "web", "--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", describe(&strict));

    // The budget's fix, pasted as printed, creates a budget kubectl can read.
    let report = report_when(&sandbox, "web", |_| true).await;
    let no_pdb = check(&report, "no-pdb").expect("no-pdb check");
    let fix = no_pdb["fix"].as_str().unwrap_or_default();
    let created = support::shell_with_kubectl(&sandbox, fix);
    assert!(created.status.success(), "{fix}: {}", describe(&created));
    let budget = kubectl_ok(
        &sandbox,
        &[
            "get",
            "pdb",
            "web",
            "-o",
            "jsonpath={.spec.maxUnavailable} {.spec.selector.matchLabels.app}",
        ],
    );
    assert_eq!(budget, "1 nginx");
    let report = report_when(&sandbox, "web", |r| check(r, "no-pdb").is_none()).await;
    assert!(
        check(&report, "no-readiness-probe").is_some(),
        "{:?}",
        check_ids(&report)
    );

    // A budget that allows no eviction at full health is reported; its fix,
    // pasted as printed, makes it allow one.
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "pdb",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"maxUnavailable":null,"minAvailable":3}}"#,
        ],
    );
    let report = report_when(&sandbox, "web", |r| {
        check(r, "pdb-blocks-eviction").is_some()
    })
    .await;
    let blocking = check(&report, "pdb-blocks-eviction").expect("pdb-blocks-eviction");
    assert!(
        blocking["summary"]
            .as_str()
            .is_some_and(|s| s.contains("(minAvailable 3)")),
        "{blocking}"
    );
    let fix = blocking["fix"].as_str().unwrap_or_default();
    let patched = support::shell_with_kubectl(&sandbox, fix);
    assert!(patched.status.success(), "{fix}: {}", describe(&patched));
    let allowed = support::eventually(WAIT, || {
        let figures = kubectl_ok(
            &sandbox,
            &[
                "get",
                "pdb",
                "web",
                "-o",
                "jsonpath={.spec.maxUnavailable} {.status.disruptionsAllowed}",
            ],
        );
        (figures == "1 1").then_some(())
    })
    .await;
    assert!(
        allowed.is_some(),
        "the patched budget never allowed a disruption"
    );
    let report = report_when(&sandbox, "web", |r| {
        check(r, "pdb-blocks-eviction").is_none()
            && r["disruptionBudgets"][0]["disruptionsAllowed"] == 1
    })
    .await;
    assert_eq!(
        report["disruptionBudgets"][0]["rule"], "maxUnavailable 1",
        "{}",
        report["disruptionBudgets"]
    );
    let text = stdout(&sts(&sandbox, &["status", "web"]));
    assert!(
        text.contains(
            "Budget:      web (maxUnavailable 1): 1 disruption(s) allowed now (3 healthy, 2 needed)"
        ),
        "{text}"
    );

    // --cluster-domain and the listing forms.
    let output = sts(
        &sandbox,
        &[
            "status",
            "web",
            "--cluster-domain",
            "corp.example",
            "-o",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        report["identity"]["pods"][0]["dnsName"],
        "web-0.headless-svc.default.svc.corp.example"
    );
    let output = sts(&sandbox, &["status", "-A", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let list: Value = serde_json::from_slice(&output.stdout).expect("json list");
    assert_eq!(list["items"][0]["name"], "web");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_ip_governing_service_fails_saying_per_pod_dns_needs_cluster_ip_none() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &fixture("redis.yaml"));
    let report = report_when(&sandbox, "redis-sts", |r| all_pods_ready(r, 2)).await;
    let failed = check(&report, "service-not-headless").expect("service-not-headless check");
    assert_eq!(failed["severity"], "fail");

    let output = sts(&sandbox, &["status", "redis-sts"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = stdout(&output);
    let line = text
        .lines()
        .find(|l| l.starts_with("FAIL service-not-headless"))
        .unwrap_or_else(|| panic!("no failed check line:\n{text}"));
    assert!(line.contains("\"redis-svc\""), "{line}");
    assert!(text.contains("clusterIP: None"), "{text}");
    assert!(
        text.contains("redis-sts-0.redis-svc.default.svc.cluster.local"),
        "{text}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_service_name_pointing_at_no_service_is_reported_with_the_service_to_create() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &stateful_set("lost", "nowhere", None));
    let report = report_when(&sandbox, "lost", |r| all_pods_ready(r, 3)).await;
    let missing = check(&report, "service-missing").expect("service-missing check");
    assert_eq!(missing["severity"], "fail");
    assert!(
        missing["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("\"nowhere\"")
    );
    let fix = missing["fix"].as_str().unwrap_or_default().to_string();
    assert!(fix.contains(r#""clusterIP":"None""#), "{fix}");

    // The fix, pasted as printed, makes the check pass.
    let manifest = fix.split('\'').nth(1).expect("the fix quotes the manifest");
    apply(&sandbox, manifest);
    let report = report_when(&sandbox, "lost", |r| {
        r["identity"]["pods"]
            .as_array()
            .is_some_and(|pods| pods.iter().all(|p| p["endpoint"] == "ready"))
    })
    .await;
    assert!(
        check(&report, "service-missing").is_none(),
        "{:?}",
        check_ids(&report)
    );
    let output = sts(&sandbox, &["status", "lost"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_service_selector_that_misses_the_pods_is_reported_with_the_selector_to_set() {
    let sandbox = start_sandbox().await;
    apply(
        &sandbox,
        &stateful_set("shop", "shop-svc", Some(&headless_selecting("shop-v1"))),
    );
    let report = report_when(&sandbox, "shop", |r| all_pods_ready(r, 3)).await;
    let mismatch = check(&report, "service-selector-mismatch").expect("selector check");
    assert_eq!(mismatch["severity"], "fail");
    assert!(
        mismatch["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("app=shop-v1"),
        "{mismatch}"
    );
    assert_eq!(
        mismatch["fix"],
        "kubectl -n default set selector service shop-svc 'app=shop'"
    );
    assert!(
        report["identity"]["pods"]
            .as_array()
            .is_some_and(|pods| pods.iter().all(|p| p["endpoint"] == "absent")),
        "{}",
        report["identity"]
    );
    let output = sts(&sandbox, &["status", "shop"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_left_at_2_after_an_update_completed_is_reported_with_the_patch() {
    let sandbox = start_sandbox().await;
    apply(
        &sandbox,
        &stateful_set("part", "part", Some(&headless_selecting("part"))),
    );
    report_when(&sandbox, "part", |r| all_pods_ready(r, 3)).await;
    kubectl_ok(
        &sandbox,
        &["set", "image", "statefulset/part", "nginx=nginx:1.26"],
    );
    let updated = report_when(&sandbox, "part", |r| {
        rollout_state(r) == "complete"
            && r["update"]["currentRevision"] == r["update"]["updateRevision"]
            && r["replicas"]["updated"] == 3
    })
    .await;
    assert!(check(&updated, "partition-left-over").is_none());

    // A canary tool that died after setting the partition.
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "statefulset",
            "part",
            "-p",
            r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}"#,
        ],
    );
    let report = report_when(&sandbox, "part", |r| r["update"]["partition"] == 2).await;
    let left = check(&report, "partition-left-over").expect("partition check");
    assert_eq!(left["severity"], "warn");
    assert!(
        left["explanation"]
            .as_str()
            .unwrap_or_default()
            .contains("part-0, part-1")
    );
    assert_eq!(
        left["fix"],
        r#"kubectl -n default patch statefulset part -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'"#
    );
    let output = sts(&sandbox, &["status", "part"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a warning: {}",
        describe(&output)
    );
    let output = sts(&sandbox, &["status", "part", "--strict"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_update_stalled_on_a_crashing_pod_names_it_and_says_how_to_recover() {
    let sandbox = start_sandbox().await;
    apply(
        &sandbox,
        &stateful_set("crashy", "crashy", Some(&headless_selecting("crashy"))),
    );
    report_when(&sandbox, "crashy", |r| all_pods_ready(r, 3)).await;
    kubectl_ok(
        &sandbox,
        &[
            "set",
            "image",
            "statefulset/crashy",
            "nginx=nginx:1.25-crash",
        ],
    );
    let report = report_when(&sandbox, "crashy", |r| rollout_state(r) == "stalled").await;
    assert_eq!(report["update"]["rollout"]["pod"], "crashy-2");
    let stalled = check(&report, "update-stalled").expect("update-stalled check");
    assert_eq!(stalled["severity"], "fail");
    let summary = stalled["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("crashy-2"), "{summary}");
    let fix = stalled["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("kubectl sts undo crashy -n default"), "{fix}");
    assert!(
        fix.contains("kubectl -n default delete pod crashy-2"),
        "{fix}"
    );

    let output = sts(&sandbox, &["status", "crashy"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = stdout(&output);
    assert!(text.contains("Rollout:     stalled"), "{text}");
    assert!(text.contains("blocked by crashy-2"), "{text}");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_without_statefulsets_says_so_and_a_wrong_name_lists_the_ones_that_exist() {
    let sandbox = start_sandbox().await;
    let output = sts(&sandbox, &["status"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("No StatefulSets found in namespace \"default\""),
        "{}",
        describe(&output)
    );
    apply(
        &sandbox,
        &stateful_set("one", "one", Some(&headless_selecting("one"))),
    );
    let output = sts(&sandbox, &["status", "onw"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("one"),
        "{}",
        describe(&output)
    );
    let output = sts(&sandbox, &["status", "one", "-o", "tree"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    sandbox.shutdown().await;
}

/// Requests by our user agent, as (verb, resource) -> count.
fn our_requests(metrics: &Value) -> std::collections::BTreeMap<(String, String), u64> {
    let mut counts = std::collections::BTreeMap::new();
    for request in metrics["requests"].as_array().into_iter().flatten() {
        if !request["userAgent"]
            .as_str()
            .is_some_and(|ua| ua.starts_with("kubectl-sts/v"))
        {
            continue;
        }
        let key = (
            request["verb"].as_str().unwrap_or_default().to_string(),
            request["resource"].as_str().unwrap_or_default().to_string(),
        );
        *counts.entry(key).or_insert(0) += request["count"].as_u64().unwrap_or(0);
    }
    counts
}

/// What one command asked for: the difference of two metric readings.
fn requests_between(
    before: &Value,
    after: &Value,
) -> std::collections::BTreeMap<(String, String), u64> {
    let before = our_requests(before);
    our_requests(after)
        .into_iter()
        .map(|(key, count)| {
            let earlier = before.get(&key).copied().unwrap_or(0);
            (key, count - earlier)
        })
        .filter(|(_, count)| *count > 0)
        .collect()
}

fn lists(resources: &[&str]) -> std::collections::BTreeMap<(String, String), u64> {
    resources
        .iter()
        .map(|r| (("list".to_string(), r.to_string()), 1))
        .collect()
}

/// Polls `status -A -o json` until the first set's `podsRead` is `pods_read`;
/// the report and the requests that run made.
async fn overview_when(
    sandbox: &TestSandbox,
    pods_read: bool,
) -> (Value, std::collections::BTreeMap<(String, String), u64>) {
    let found = support::eventually(WAIT, || {
        let before = sandbox.metrics();
        let output = sts(sandbox, &["status", "-A", "-o", "json"]);
        let after = sandbox.metrics();
        let report: Value = serde_json::from_slice(&output.stdout).ok()?;
        (report["items"][0]["podsRead"] == pods_read)
            .then(|| (report, requests_between(&before, &after)))
    })
    .await;
    found.unwrap_or_else(|| panic!("status -A never showed podsRead: {pods_read}"))
}

/// Our requests carry our own user agent (as kubectl's carry its). The
/// overview of a settled set reads five small lists (claims as metadata) and
/// no pods; once the set is mid-update its pods and claims are read too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overview_reads_pods_only_of_sets_whose_status_is_not_settled() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &fixture("web.yaml"));
    report_when(&sandbox, "web", |r| all_pods_ready(r, 3)).await;
    let (report, requests) = overview_when(&sandbox, false).await;
    assert_eq!(report["items"][0]["name"], "web", "{report}");
    assert_eq!(
        report["items"][0]["rollout"]["state"], "complete",
        "{report}"
    );
    assert_eq!(
        requests,
        lists(&[
            "persistentvolumeclaims",
            "poddisruptionbudgets.policy",
            "services",
            "statefulsets.apps",
            "storageclasses.storage.k8s.io"
        ]),
    );

    // A partitioned update holds two revisions: the set is no longer settled.
    kubectl_ok(
        &sandbox,
        &[
            "patch",
            "statefulset",
            "web",
            "-p",
            r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}},"template":{"metadata":{"labels":{"release":"two"}}}}}"#,
        ],
    );
    let (report, requests) = overview_when(&sandbox, true).await;
    let ids: Vec<&str> = report["items"][0]["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|check| check["id"].as_str())
        .collect();
    assert!(ids.contains(&"partition-holding-update"), "{report}");
    let mut expected = lists(&[
        "persistentvolumeclaims",
        "poddisruptionbudgets.policy",
        "pods",
        "services",
        "statefulsets.apps",
        "storageclasses.storage.k8s.io",
    ]);
    // The claims' metadata for the overview, then web's own claims in full.
    expected.insert(("list".into(), "persistentvolumeclaims".into()), 2);
    assert_eq!(requests, expected);

    // --details reads everything, as before the overview.
    let output = sts(&sandbox, &["status", "-A", "--details", "-o", "json"]);
    let detailed: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        detailed["items"][0]["identity"]["pods"][0]["pod"], "web-0",
        "{detailed}"
    );
    sandbox.shutdown().await;
}

/// A set mid-scale-up whose new pod waits for a claim made by hand (no
/// labels, a class that does not exist): the overview reads that claim in
/// full, so it tells the same story as `status NAME`: the missing class, not
/// a stalled pod or a provisioner that is not running.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_overview_of_an_unsettled_set_checks_what_status_name_checks() {
    let sandbox = start_sandbox().await;
    apply(&sandbox, &fixture("web.yaml"));
    report_when(&sandbox, "web", |r| all_pods_ready(r, 3)).await;
    apply(
        &sandbox,
        r#"{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"www-web-3"},
            "spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"no-such-class",
                    "resources":{"requests":{"storage":"1Gi"}}}}"#,
    );
    kubectl_ok(&sandbox, &["scale", "statefulset", "web", "--replicas=4"]);
    let named = report_when(&sandbox, "web", |r| {
        r["identity"]["pods"][3]["exists"] == true
    })
    .await;
    let (overview, _) = overview_when(&sandbox, true).await;
    let ids = |checks: &Value| -> Vec<String> {
        checks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|check| check["id"].as_str().map(str::to_string))
            .collect()
    };
    let named_ids = ids(&named["checks"]);
    assert_eq!(
        ids(&overview["items"][0]["checks"]),
        named_ids,
        "{overview}"
    );
    assert_eq!(
        named_ids,
        ["storage-class-missing", "no-readiness-probe", "no-pdb"],
        "{named}"
    );
    let missing = &named["checks"][0];
    assert_eq!(
        missing["summary"],
        "claim www-web-3 asks for StorageClass \"no-such-class\", which does not exist"
    );
    assert!(
        missing["fix"].as_str().is_some_and(|fix| fix
            .contains("delete pvc www-web-3 --wait=false && kubectl -n default delete pod web-3")),
        "{missing}"
    );
    sandbox.shutdown().await;
}
