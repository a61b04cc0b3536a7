//! RBAC: every command works under exactly the Role documented for it in
//! `rbac/<command>.yaml` (bound to a fresh identity, reached through `--as`
//! impersonation from the admin kubeconfig or a service-account token), and
//! fails with a forbidden message naming the missing permission when that
//! Role lacks one verb. The sandbox enforces RBAC as a real API server does;
//! the first tests check that against the real kubectl.

mod support;

use std::process::Output;

use serde_json::{Value, json};

use support::*;

/// The admin applies `rbac/<command>.yaml` under names private to `user`,
/// without `verb` on `resource` when asked, and binds it to `user` (the
/// ClusterRole too, if `cluster_role`).
fn grant(
    sandbox: &TestSandbox,
    user: &str,
    command: &str,
    without: Option<(&str, &str)>,
    cluster_role: bool,
) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rbac")
        .join(format!("{command}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{command}.yaml: {e}"));
    let mut removed = false;
    let mut objects = Vec::new();
    for mut role in documents.into_iter().filter(|d| d.is_object()) {
        let kind = role["kind"].as_str().unwrap_or_default().to_string();
        if kind == "ClusterRole" && !cluster_role {
            continue;
        }
        let name = format!(
            "{user}-{}",
            role["metadata"]["name"].as_str().unwrap_or_default()
        );
        role["metadata"]["name"] = json!(name);
        if let (Some((resource, verb)), Some(rules)) = (without, role["rules"].as_array_mut()) {
            // Take `resource` out of every rule naming it and give it a rule
            // of its own without `verb`: the other resources keep everything.
            let mut own_rules = Vec::new();
            for rule in rules.iter_mut() {
                let Some(resources) = rule["resources"].as_array_mut() else {
                    continue;
                };
                let before = resources.len();
                resources.retain(|r| r != resource);
                if resources.len() == before {
                    continue;
                }
                let mut own = rule.clone();
                own["resources"] = json!([resource]);
                if let Some(verbs) = own["verbs"].as_array_mut() {
                    let before = verbs.len();
                    verbs.retain(|v| v != verb);
                    removed |= verbs.len() < before;
                }
                own_rules.push(own);
            }
            rules.retain(|r| r["resources"].as_array().is_none_or(|r| !r.is_empty()));
            rules.extend(own_rules);
        }
        let binding_kind = if kind == "Role" {
            "RoleBinding"
        } else {
            "ClusterRoleBinding"
        };
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": binding_kind,
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        });
        objects.push(role);
        objects.push(binding);
    }
    if let Some((resource, verb)) = without {
        assert!(
            removed,
            "{command}.yaml grants no {verb} on {resource} to take away"
        );
    }
    // JSON documents are YAML documents.
    let documents: Vec<String> = objects.iter().map(Value::to_string).collect();
    let applied = kubectl_stdin(
        sandbox,
        &["apply", "-n", "default", "-f", "-"],
        &documents.join("\n---\n"),
    );
    assert!(applied.status.success(), "{}", output_text(&applied));
}

/// `kubectl-sts --as USER ARGS`.
fn run_as(sandbox: &TestSandbox, user: &str, args: &[&str]) -> Output {
    let mut all = vec!["--as", user];
    all.extend_from_slice(args);
    kubectl_sts(sandbox, &all)
}

fn assert_success(output: &Output, expected: &str) {
    let text = output_text(output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
}

/// Exit 1 with the server's denial and the permission it names.
fn assert_forbidden(output: &Output, user: &str, verb: &str, resource: &str) {
    let text = output_text(output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let denial = format!("User \"{user}\" cannot {verb} resource \"{resource}\"");
    assert!(text.contains(&denial), "expected {denial:?} in:\n{text}");
    let needed = format!("Missing permission: {verb} on \"{resource}\"");
    assert!(text.contains(&needed), "expected {needed:?} in:\n{text}");
    assert!(text.contains("docs/RBAC.md"), "{text}");
}

/// `kubectl-sts --kubeconfig CONFIG ARGS` with another user's kubeconfig.
fn run_with_kubeconfig(config: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"))
        .args(["--kubeconfig", config])
        .args(args)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running kubectl-sts {args:?}: {e}"))
}

/// A sandbox with the web StatefulSet rolled out.
async fn sandbox_with_web() -> TestSandbox {
    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, &fixture("web.yaml"));
    assert!(applied.status.success(), "{}", output_text(&applied));
    kubectl_ok(
        &sandbox,
        &["rollout", "status", "statefulset/web", "--timeout=120s"],
    );
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_sees_rbac_as_on_a_real_cluster() {
    let sandbox = start_sandbox().await;
    // The admin (system:masters) may do anything, impersonation included.
    assert_eq!(
        kubectl_ok(&sandbox, &["auth", "can-i", "delete", "nodes"]).trim(),
        "yes"
    );
    let whoami = kubectl_ok(
        &sandbox,
        &["auth", "whoami", "--as", "jane", "--as-group", "devs"],
    );
    assert!(
        whoami.contains("jane") && whoami.contains("[devs system:authenticated]"),
        "{whoami}"
    );

    // jane has nothing yet: denied, worded as kube-apiserver words it.
    let denied = kubectl(&sandbox, &["get", "pods", "--as", "jane"]);
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&denied.stderr).trim(),
        "Error from server (Forbidden): pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let cluster_wide = kubectl(&sandbox, &["get", "persistentvolumes", "--as", "jane"]);
    assert!(
        String::from_utf8_lossy(&cluster_wide.stderr).contains(
            "persistentvolumes is forbidden: User \"jane\" cannot list resource \"persistentvolumes\" in API group \"\" at the cluster scope"
        ),
        "{}",
        output_text(&cluster_wide)
    );
    let can_i = kubectl(&sandbox, &["auth", "can-i", "list", "pods", "--as", "jane"]);
    assert_eq!(String::from_utf8_lossy(&can_i.stdout).trim(), "no");
    assert_eq!(can_i.status.code(), Some(1));

    // Roles and bindings made with kubectl's own generators take effect at once.
    kubectl_ok(
        &sandbox,
        &[
            "create",
            "role",
            "pod-reader",
            "--verb=get,list",
            "--resource=pods",
        ],
    );
    kubectl_ok(
        &sandbox,
        &[
            "create",
            "rolebinding",
            "jane-reads",
            "--role=pod-reader",
            "--user=jane",
        ],
    );
    let can_i = kubectl_ok(&sandbox, &["auth", "can-i", "list", "pods", "--as", "jane"]);
    assert_eq!(can_i.trim(), "yes");
    let listed = kubectl(&sandbox, &["get", "pods", "--as", "jane"]);
    assert!(listed.status.success(), "{}", output_text(&listed));
    let elsewhere = kubectl(
        &sandbox,
        &[
            "auth",
            "can-i",
            "list",
            "pods",
            "-n",
            "kube-system",
            "--as",
            "jane",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&elsewhere.stdout).trim(), "no");
    let subresource = kubectl(
        &sandbox,
        &[
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=exec",
            "--as",
            "jane",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&subresource.stdout).trim(), "no");
    let rules = kubectl_ok(&sandbox, &["auth", "can-i", "--list", "--as", "jane"]);
    assert!(
        rules
            .lines()
            .any(|l| l.starts_with("pods ") && l.contains("[get list]")),
        "{rules}"
    );

    // Service-account tokens: `kubectl create token`, then the token alone.
    kubectl_ok(&sandbox, &["create", "serviceaccount", "robot"]);
    kubectl_ok(
        &sandbox,
        &[
            "create",
            "rolebinding",
            "robot-reads",
            "--role=pod-reader",
            "--serviceaccount=default:robot",
        ],
    );
    let token = kubectl_ok(&sandbox, &["create", "token", "robot", "--duration=15m"]);
    let as_robot = kubectl_ok(&sandbox, &["auth", "whoami", "--token", token.trim()]);
    assert!(
        as_robot.contains("system:serviceaccount:default:robot"),
        "{as_robot}"
    );
    assert!(
        as_robot.contains("system:serviceaccounts:default"),
        "{as_robot}"
    );
    let robot_pods = kubectl(&sandbox, &["get", "pods", "--token", token.trim()]);
    assert!(robot_pods.status.success(), "{}", output_text(&robot_pods));
    let robot_sts = kubectl(&sandbox, &["get", "statefulsets", "--token", token.trim()]);
    assert!(
        String::from_utf8_lossy(&robot_sts.stderr).contains(
            "User \"system:serviceaccount:default:robot\" cannot list resource \"statefulsets\" in API group \"apps\""
        ),
        "{}",
        output_text(&robot_sts)
    );
    // Without the impersonate verb there is no switching identity.
    let hop = kubectl(
        &sandbox,
        &["get", "pods", "--token", token.trim(), "--as", "jane"],
    );
    assert!(
        String::from_utf8_lossy(&hop.stderr).contains(
            "users \"jane\" is forbidden: User \"system:serviceaccount:default:robot\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        ),
        "{}",
        output_text(&hop)
    );
    let bogus = kubectl(&sandbox, &["get", "pods", "--token", "not-a-token"]);
    assert!(
        String::from_utf8_lossy(&bogus.stderr).contains("Unauthorized"),
        "{}",
        output_text(&bogus)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_runs_under_its_role_and_names_what_is_missing() {
    let sandbox = sandbox_with_web().await;
    grant(&sandbox, "st", "status", None, true);
    let full = run_as(&sandbox, "st", &["status", "web"]);
    assert_success(
        &full,
        "Service:     headless-svc (headless; selector app=nginx)",
    );
    assert!(
        !output_text(&full).contains("not-checked"),
        "{}",
        output_text(&full)
    );
    assert_success(&run_as(&sandbox, "st", &["status"]), "web    3/3");
    assert_success(&run_as(&sandbox, "st", &["status", "--details"]), "web-2");

    // Without the optional ClusterRole, the storage-class checks are skipped, said so.
    grant(&sandbox, "st-ns", "status", None, false);
    let namespaced = run_as(&sandbox, "st-ns", &["status", "web"]);
    assert_success(
        &namespaced,
        "not checked, listing forbidden: storage classes",
    );

    grant(
        &sandbox,
        "st-no-svc",
        "status",
        Some(("services", "list")),
        true,
    );
    let denied = run_as(&sandbox, "st-no-svc", &["status", "web"]);
    assert_forbidden(&denied, "st-no-svc", "list", "services");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn volumes_runs_under_its_role_and_marks_what_it_may_not_read() {
    let sandbox = sandbox_with_web().await;
    grant(&sandbox, "vol", "volumes", None, true);
    let full = run_as(&sandbox, "vol", &["volumes", "web", "-o", "wide"]);
    assert_success(&full, "k8s-sigs.io/nfs-subdir-external-provisioner");
    assert!(
        !output_text(&full).contains("forbidden"),
        "{}",
        output_text(&full)
    );

    // A namespaced Role only: claims shown, the volume end marked forbidden.
    grant(&sandbox, "vol-ns", "volumes", None, false);
    let namespaced = run_as(&sandbox, "vol-ns", &["volumes", "-o", "json"]);
    assert_success(&namespaced, "www-web-0");
    let document: Value = serde_json::from_slice(&namespaced.stdout).unwrap_or_default();
    assert_eq!(document["forbidden"], json!(["persistentvolumes"]));
    let table = run_as(&sandbox, "vol-ns", &["volumes"]);
    assert_success(&table, "forbidden");

    grant(
        &sandbox,
        "vol-no-pvc",
        "volumes",
        Some(("persistentvolumeclaims", "list")),
        true,
    );
    let denied = run_as(&sandbox, "vol-no-pvc", &["volumes", "web"]);
    assert_forbidden(&denied, "vol-no-pvc", "list", "persistentvolumeclaims");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_runs_under_its_role_and_stops_when_a_watch_is_refused() {
    let sandbox = sandbox_with_web().await;
    grant(&sandbox, "wt", "watch", None, false);
    let watched = run_as(
        &sandbox,
        "wt",
        &["watch", "web", "--until", "ready", "--timeout", "60s"],
    );
    assert_success(&watched, "statefulset web is ready");

    // Without `list` the first listing is refused, before the set can be
    // seen Ready. (A refused `watch` races the condition: the set may be
    // Ready from the listings before the watch request is answered.)
    grant(
        &sandbox,
        "wt-no-events",
        "watch",
        Some(("events", "list")),
        false,
    );
    let denied = run_as(
        &sandbox,
        "wt-no-events",
        &["watch", "web", "--until", "ready", "--timeout", "60s"],
    );
    assert_forbidden(&denied, "wt-no-events", "list", "events");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_runs_with_a_service_account_token_bound_to_its_role() {
    let sandbox = sandbox_with_web().await;
    // A service account, its token, and a kubeconfig holding only that token.
    kubectl_ok(&sandbox, &["create", "serviceaccount", "historian"]);
    let token = kubectl_ok(&sandbox, &["create", "token", "historian"]);
    grant(
        &sandbox,
        "system:serviceaccount:default:historian",
        "history",
        None,
        false,
    );
    let admin_config = std::fs::read_to_string(sandbox.kubeconfig()).unwrap_or_default();
    let token_config = admin_config
        .lines()
        .map(|line| match line.trim_start().strip_prefix("token: ") {
            Some(_) => format!("    token: {}", token.trim()),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config_path = sandbox.dir.path().join("historian.kubeconfig");
    std::fs::write(&config_path, token_config).unwrap_or_default();
    let config = config_path.to_string_lossy().into_owned();

    let history = run_with_kubeconfig(&config, &["history", "web"]);
    assert_success(&history, "web-0,web-1,web-2");

    kubectl_ok(&sandbox, &["create", "serviceaccount", "half-historian"]);
    let token = kubectl_ok(&sandbox, &["create", "token", "half-historian"]);
    let user = "system:serviceaccount:default:half-historian";
    grant(
        &sandbox,
        user,
        "history",
        Some(("controllerrevisions", "list")),
        false,
    );
    let half_config = std::fs::read_to_string(&config_path)
        .unwrap_or_default()
        .lines()
        .map(|line| match line.trim_start().strip_prefix("token: ") {
            Some(_) => format!("    token: {}", token.trim()),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config_path, half_config).unwrap_or_default();
    let denied = run_with_kubeconfig(&config, &["history", "web"]);
    assert_forbidden(&denied, user, "list", "controllerrevisions");
    sandbox.shutdown().await;
}

/// Changes web's image as the admin and waits for the roll-out: two revisions.
fn second_revision(sandbox: &TestSandbox) {
    kubectl_ok(
        sandbox,
        &["set", "image", "statefulset/web", "nginx=nginx:1.27"],
    );
    kubectl_ok(
        sandbox,
        &["rollout", "status", "statefulset/web", "--timeout=120s"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undo_runs_under_its_role_and_names_the_write_it_may_not_do() {
    let sandbox = sandbox_with_web().await;
    second_revision(&sandbox);
    grant(
        &sandbox,
        "un-no-patch",
        "undo",
        Some(("statefulsets", "patch")),
        false,
    );
    let denied = run_as(&sandbox, "un-no-patch", &["undo", "web", "--yes"]);
    assert_forbidden(&denied, "un-no-patch", "patch", "statefulsets");

    grant(&sandbox, "un", "undo", None, false);
    let undone = run_as(
        &sandbox,
        "un",
        &["undo", "web", "--yes", "--timeout", "120s"],
    );
    assert_success(&undone, "all pods Ready");
    let image = kubectl_ok(
        &sandbox,
        &[
            "get",
            "statefulset",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "nginx:1.25");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_runs_under_its_role_and_needs_create_on_pods_exec() {
    let sandbox = sandbox_with_web().await;
    grant(&sandbox, "vf", "verify", None, true);
    let verified = run_as(
        &sandbox,
        "vf",
        &["verify", "web", "--ordinal", "2", "--yes"],
    );
    assert_success(&verified, "Every marker survived pod recreation.");

    // WebSocket exec is a GET: without `create` the API server refuses it.
    grant(
        &sandbox,
        "vf-no-create",
        "verify",
        Some(("pods/exec", "create")),
        true,
    );
    let denied = run_as(
        &sandbox,
        "vf-no-create",
        &["verify", "web", "--ordinal", "1", "--yes"],
    );
    let text = output_text(&denied);
    assert_eq!(denied.status.code(), Some(1), "{text}");
    assert!(text.contains("pods \"web-1\" is forbidden"), "{text}");
    assert!(
        text.contains("verify needs `create` on pods/exec"),
        "{text}"
    );
    assert!(text.contains("docs/RBAC.md"), "{text}");
    // The refused write wrote nothing, so nothing is to be cleaned by hand.
    assert!(text.contains("no marker was written"), "{text}");
    assert!(!text.contains("delete them by hand"), "{text}");

    grant(
        &sandbox,
        "vf-no-delete",
        "verify",
        Some(("pods", "delete")),
        true,
    );
    let denied = run_as(
        &sandbox,
        "vf-no-delete",
        &["verify", "web", "--ordinal", "1", "--yes"],
    );
    assert_forbidden(&denied, "vf-no-delete", "delete", "pods");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canary_runs_under_its_role_and_names_the_write_it_may_not_do() {
    let sandbox = sandbox_with_web().await;
    grant(
        &sandbox,
        "cn-no-patch",
        "canary",
        Some(("statefulsets", "patch")),
        false,
    );
    let args = [
        "canary",
        "web",
        "--image",
        "nginx:1.27",
        "--steps",
        "1,100%",
        "--soak",
        "1s",
        "--yes",
    ];
    let denied = run_as(&sandbox, "cn-no-patch", &args);
    assert_forbidden(&denied, "cn-no-patch", "patch", "statefulsets");

    grant(&sandbox, "cn", "canary", None, false);
    let rolled = run_as(&sandbox, "cn", &args);
    let text = output_text(&rolled);
    assert_eq!(rolled.status.code(), Some(0), "{text}");
    let image = kubectl_ok(
        &sandbox,
        &[
            "get",
            "statefulset",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "nginx:1.27");
    sandbox.shutdown().await;
}

/// What `kubectl sts WORDS<TAB>` offers `user` (kubectl runs `kubectl-sts __complete WORDS`).
fn complete_as(sandbox: &TestSandbox, user: &str, words: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-sts"))
        .arg("__complete")
        .arg("--kubeconfig")
        .arg(sandbox.kubeconfig())
        .args(["--as", user])
        .args(words)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("running kubectl-sts __complete {words:?}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn completion_offers_names_under_its_role_and_nothing_without_it() {
    let sandbox = sandbox_with_web().await;
    grant(&sandbox, "cp", "completion", None, true);
    let names = complete_as(&sandbox, "cp", &["history", "w"]);
    assert_success(&names, "web\n:4");
    let namespaces = complete_as(&sandbox, "cp", &["status", "--namespace", "kube-s"]);
    assert_success(&namespaces, "kube-system\n:4");

    // Completion never prints errors into the shell: no candidates, error directive.
    grant(
        &sandbox,
        "cp-no-list",
        "completion",
        Some(("statefulsets", "list")),
        false,
    );
    let nothing = complete_as(&sandbox, "cp-no-list", &["history", "w"]);
    assert_eq!(String::from_utf8_lossy(&nothing.stdout), ":1\n");
    let no_namespaces = complete_as(&sandbox, "cp-no-list", &["status", "--namespace", "kube-s"]);
    assert_eq!(String::from_utf8_lossy(&no_namespaces.stdout), ":1\n");
    sandbox.shutdown().await;
}
