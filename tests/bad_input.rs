//! The bad-input catalogue: wrong command lines, files, kubeconfigs and
//! clusters, each run through the built binary as a user would, asserting the
//! exit code and that the message names the problem and says what to do.
//!
//! `CASES` is the one table: the test runs it, and README.md's troubleshooting
//! section is rendered from it (`UPDATE_README=1 cargo test --test bad_input`
//! rewrites the section; the test fails while the README is stale).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use support::{TestSandbox, apply_yaml, fixture, kubectl_ok, output_text, start_sandbox};

/// What a case needs around its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// The shared sandbox (see `SETS`), via --kubeconfig; the working directory
    /// holds `FILES`.
    Sandbox,
    /// No --kubeconfig, no KUBECONFIG, a HOME without ~/.kube/config.
    NoKubeconfig,
    /// KUBECONFIG names a file of this kind.
    Kubeconfig(Kubeconfig),
    /// A sandbox of its own, stopped once the command has shown its first output.
    ServerGoesAway,
    /// Something already listens on the port written as `PORT` in the command line.
    PortTaken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kubeconfig {
    Empty,
    NotYaml,
    /// The shared sandbox's kubeconfig with a token the server does not know.
    WrongToken,
    /// The shared sandbox's kubeconfig pointing at a port nobody listens on.
    Unreachable,
}

struct Case {
    /// The problem as a user would describe it.
    problem: &'static str,
    setup: Setup,
    /// The words after `kubectl sts` (split at spaces).
    line: &'static str,
    exit: i32,
    /// Text of the message that names the problem.
    shows: &'static str,
    /// Text of the message that says what to do.
    fix: &'static str,
}

const USAGE: i32 = 2;
const FAILED: i32 = 1;

const CASES: &[Case] = &[
    // Reaching the cluster.
    Case {
        problem: "No kubeconfig anywhere",
        setup: Setup::NoKubeconfig,
        line: "status",
        exit: FAILED,
        shows: "no kubeconfig found",
        fix: "set KUBECONFIG, pass --kubeconfig FILE, or start the built-in sandbox with `kubectl sts sandbox`",
    },
    Case {
        problem: "--kubeconfig names a file that does not exist",
        setup: Setup::NoKubeconfig,
        line: "--kubeconfig missing.yaml status",
        exit: FAILED,
        shows: "cannot read kubeconfig missing.yaml: No such file or directory",
        fix: "check --kubeconfig and KUBECONFIG",
    },
    Case {
        problem: "KUBECONFIG names an empty file",
        setup: Setup::Kubeconfig(Kubeconfig::Empty),
        line: "status",
        exit: FAILED,
        shows: "defines no clusters or contexts",
        fix: "point --kubeconfig or KUBECONFIG at your cluster's kubeconfig",
    },
    Case {
        problem: "The kubeconfig is not YAML",
        setup: Setup::Kubeconfig(Kubeconfig::NotYaml),
        line: "status",
        exit: FAILED,
        shows: "not valid kubeconfig YAML",
        fix: "check --kubeconfig and KUBECONFIG",
    },
    Case {
        problem: "--context names a context the kubeconfig does not have",
        setup: Setup::Sandbox,
        line: "--context prod status",
        exit: FAILED,
        shows: "context \"prod\" is not in the kubeconfig",
        fix: "list contexts with `kubectl config get-contexts`",
    },
    Case {
        problem: "--cluster names a cluster the kubeconfig does not have",
        setup: Setup::Sandbox,
        line: "--cluster prod status",
        exit: FAILED,
        shows: "cluster \"prod\" is not in the kubeconfig",
        fix: "list clusters with `kubectl config get-clusters`",
    },
    Case {
        problem: "--user names a user the kubeconfig does not have",
        setup: Setup::Sandbox,
        line: "--user admin status",
        exit: FAILED,
        shows: "user \"admin\" is not in the kubeconfig",
        fix: "list users with `kubectl config get-users`",
    },
    Case {
        problem: "The token in the kubeconfig is expired or wrong",
        setup: Setup::Kubeconfig(Kubeconfig::WrongToken),
        line: "status web",
        exit: FAILED,
        shows: "rejected our credentials (401 Unauthorized)",
        fix: "Refresh the token or certificate in your kubeconfig",
    },
    Case {
        problem: "The kubeconfig points at a server that is not running",
        setup: Setup::Kubeconfig(Kubeconfig::Unreachable),
        line: "status",
        exit: FAILED,
        shows: "cannot reach the API server at https://127.0.0.1:1: Connection refused",
        fix: "Is the cluster running? Check --context/--kubeconfig",
    },
    Case {
        problem: "The API server goes away during a watch",
        setup: Setup::ServerGoesAway,
        line: "watch web --timeout 5s",
        exit: FAILED,
        shows: "the watch was failing when --timeout ended it: cannot reach the API server",
        fix: "Is the cluster running?",
    },
    Case {
        problem: "No RBAC permission at all",
        setup: Setup::Sandbox,
        line: "--as someone status web",
        exit: FAILED,
        shows: "User \"someone\" cannot get resource \"statefulsets\" in API group \"apps\"",
        fix: "Ask your cluster admin for the missing permission",
    },
    Case {
        problem: "Read-only RBAC access, asked to change a StatefulSet",
        setup: Setup::Sandbox,
        line: "--as viewer undo plain --yes",
        exit: FAILED,
        shows: "User \"viewer\" cannot patch resource \"statefulsets\"",
        fix: "Ask your cluster admin for the missing permission",
    },
    Case {
        problem: "A typo in --request-timeout",
        setup: Setup::Sandbox,
        line: "status --request-timeout 5x",
        exit: USAGE,
        shows: "invalid duration \"5x\": unknown unit \"x\"",
        fix: "use ms, s, m or h",
    },
    // Naming the StatefulSet.
    Case {
        problem: "The StatefulSet name is misspelt",
        setup: Setup::Sandbox,
        line: "status wbe",
        exit: FAILED,
        shows: "statefulset \"wbe\" not found in namespace \"default\"",
        fix: "StatefulSets in \"default\": ondel, plain, web, zero",
    },
    Case {
        problem: "The StatefulSet lives in another namespace",
        setup: Setup::Sandbox,
        line: "history cart",
        exit: FAILED,
        shows: "statefulset \"cart\" not found in namespace \"default\"",
        fix: "It exists in namespace \"shop\": add -n shop.",
    },
    Case {
        problem: "The namespace has no StatefulSets",
        setup: Setup::Sandbox,
        line: "undo db -n staging",
        exit: FAILED,
        shows: "statefulset \"db\" not found in namespace \"staging\"",
        fix: "pick another with -n NAMESPACE, or look everywhere with `kubectl sts status -A`",
    },
    Case {
        problem: "-A with a command that acts on one StatefulSet",
        setup: Setup::Sandbox,
        line: "history web -A",
        exit: USAGE,
        shows: "`history` acts on one StatefulSet: -A/--all-namespaces does not apply",
        fix: "use -n NAMESPACE",
    },
    Case {
        problem: "-A and a NAME with volumes",
        setup: Setup::Sandbox,
        line: "volumes web -A",
        exit: USAGE,
        shows: "a StatefulSet cannot be named across all namespaces",
        fix: "drop NAME or -A/--all-namespaces",
    },
    Case {
        problem: "-A and a NAME with watch",
        setup: Setup::Sandbox,
        line: "watch web -A",
        exit: USAGE,
        shows: "`watch NAME` watches one StatefulSet",
        fix: "drop -A/--all-namespaces, or drop NAME to watch every StatefulSet",
    },
    Case {
        problem: "An output format that does not exist",
        setup: Setup::Sandbox,
        line: "status -o xml",
        exit: USAGE,
        shows: "invalid value 'xml' for '--output <FORMAT>'",
        fix: "possible values: table, wide, json, yaml, name, tree",
    },
    Case {
        problem: "An output format the command does not offer",
        setup: Setup::Sandbox,
        line: "history web -o tree",
        exit: USAGE,
        shows: "`history` cannot print -o tree",
        fix: "use one of table, wide, json, yaml",
    },
    // watch
    Case {
        problem: "watch --until with a condition that does not exist",
        setup: Setup::Sandbox,
        line: "watch web --until healthy",
        exit: USAGE,
        shows: "invalid value 'healthy' for '--until <UNTIL>'",
        fix: "possible values: ready, rolled, deleted",
    },
    Case {
        problem: "watch --until without a StatefulSet",
        setup: Setup::Sandbox,
        line: "watch --until ready",
        exit: USAGE,
        shows: "--until waits for one StatefulSet",
        fix: "give its NAME (kubectl sts watch NAME --until ready)",
    },
    Case {
        problem: "A negative duration",
        setup: Setup::Sandbox,
        line: "watch web --timeout -1s",
        exit: USAGE,
        shows: "invalid duration \"-1s\": a duration cannot be negative",
        fix: "use e.g. 30s, 5m or 1h",
    },
    // canary: flags
    Case {
        problem: "A typo in a canary duration",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --soak 5x",
        exit: USAGE,
        shows: "invalid value '5x' for '--soak <DURATION>'",
        fix: "use ms, s, m or h",
    },
    Case {
        problem: "A typo in --pause",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --pause later",
        exit: USAGE,
        shows: "invalid --pause",
        fix: "or use --pause manual",
    },
    Case {
        problem: "Canary steps that go down",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --steps 3,1",
        exit: USAGE,
        shows: "1 (1 of 3 pods) comes after 3 (3 pods)",
        fix: "--steps must rise",
    },
    Case {
        problem: "A canary step of 0 pods",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --steps 0,100%",
        exit: USAGE,
        shows: "invalid --steps \"0,100%\": a step of 0 pods updates nothing",
        fix: "start at 1 or more",
    },
    Case {
        problem: "A canary step over 100%",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --steps 50%,150%",
        exit: USAGE,
        shows: "invalid --steps \"50%,150%\": 150% is out of range",
        fix: "use percentages from 1% to 100%",
    },
    Case {
        problem: "Canary steps that are not numbers",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --steps one,all",
        exit: USAGE,
        shows: "invalid --steps \"one,all\": \"one\" is neither a pod count nor a percentage",
        fix: "use e.g. 1,25%,100%",
    },
    Case {
        problem: "Two sources of change at once",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --patch replicas.json",
        exit: USAGE,
        shows: "use one of --image, --patch and --from, not several",
        fix: "use one of --image, --patch and --from",
    },
    Case {
        problem: "A canary with nothing to roll out",
        setup: Setup::Sandbox,
        line: "canary web",
        exit: USAGE,
        shows: "say what to roll out",
        fix: "--image [CONTAINER=]IMAGE, --patch FILE or --from FILE",
    },
    Case {
        problem: "A new image given to --promote",
        setup: Setup::Sandbox,
        line: "canary web --promote --image nginx=nginx:1.27",
        exit: USAGE,
        shows: "--promote, --abort, --resume and --status act on the running canary",
        fix: "do not pass --image, --patch or --from with them",
    },
    Case {
        problem: "--rollback without --resume",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27 --rollback",
        exit: USAGE,
        shows: "switch off a choice recorded by the canary being resumed",
        fix: "use them with --resume",
    },
    Case {
        problem: "New steps given to a canary being resumed",
        setup: Setup::Sandbox,
        line: "canary web --resume --steps 1,2",
        exit: USAGE,
        shows: "a running one keeps the steps it recorded",
        fix: "abort it and start again to change them",
    },
    // canary: the change
    Case {
        problem: "--image names a container the pods do not have",
        setup: Setup::Sandbox,
        line: "canary web --image web=nginx:1.27 --yes",
        exit: FAILED,
        shows: "container \"web\" is not in the pod template",
        fix: "use --image CONTAINER=IMAGE with one of: nginx",
    },
    Case {
        problem: "The patch file is not JSON or YAML",
        setup: Setup::Sandbox,
        line: "canary web --patch broken.json --yes",
        exit: FAILED,
        shows: "the --patch file is neither JSON nor YAML",
        fix: "write a JSON patch (a list of operations) or a merge patch (an object)",
    },
    Case {
        problem: "The patch file does not exist",
        setup: Setup::Sandbox,
        line: "canary web --patch nothere.json --yes",
        exit: USAGE,
        shows: "cannot read nothere.json: No such file or directory",
        fix: "check the path (- reads standard input)",
    },
    Case {
        problem: "The patch changes spec.replicas",
        setup: Setup::Sandbox,
        line: "canary web --patch replicas.json --yes",
        exit: FAILED,
        shows: "the patch changes spec.replicas",
        fix: "a canary rolls out pod template changes only (spec.template)",
    },
    Case {
        problem: "The patch changes something outside the pod template",
        setup: Setup::Sandbox,
        line: "canary web --patch strategy.yaml --yes",
        exit: FAILED,
        shows: "the patch changes spec.updateStrategy",
        fix: "a canary rolls out pod template changes only (spec.template)",
    },
    Case {
        problem: "A JSON patch operation fails",
        setup: Setup::Sandbox,
        line: "canary web --patch stale.json --yes",
        exit: FAILED,
        shows: "the JSON patch does not apply to the StatefulSet",
        fix: "compare its paths and values with `kubectl get statefulset web -o json`",
    },
    Case {
        problem: "A canary of an OnDelete StatefulSet",
        setup: Setup::Sandbox,
        line: "canary ondel --image app=nginx:1.27 --yes",
        exit: FAILED,
        shows: "statefulset \"ondel\" uses the OnDelete update strategy",
        fix: "run it with --on-delete",
    },
    Case {
        problem: "A canary of a StatefulSet scaled to 0",
        setup: Setup::Sandbox,
        line: "canary zero --image app=nginx:1.27 --yes",
        exit: FAILED,
        shows: "statefulset \"zero\" has 0 replicas: there is no pod to canary",
        fix: "scale it up first",
    },
    Case {
        problem: "A canary from a script without --yes",
        setup: Setup::Sandbox,
        line: "canary web --image nginx=nginx:1.27",
        exit: USAGE,
        shows: "refusing to start the canary of default/web",
        fix: "no terminal to ask on; pass --yes to proceed",
    },
    // verify
    Case {
        problem: "verify of a StatefulSet scaled to 0",
        setup: Setup::Sandbox,
        line: "verify zero --yes",
        exit: FAILED,
        shows: "statefulset \"zero\" has 0 replicas: there is no pod to verify",
        fix: "scale it up first",
    },
    Case {
        problem: "verify of a StatefulSet without volumeClaimTemplates",
        setup: Setup::Sandbox,
        line: "verify plain --yes",
        exit: FAILED,
        shows: "pod plain-0 mounts no data volume",
        fix: "give the StatefulSet volumeClaimTemplates",
    },
    Case {
        problem: "verify --ordinal beyond the replicas",
        setup: Setup::Sandbox,
        line: "verify web --ordinal 7 --yes",
        exit: USAGE,
        shows: "--ordinal 7 is not one of statefulset web's ordinals",
        fix: "pick from 0 to 2, or leave --ordinal out to verify them all",
    },
    Case {
        problem: "verify from a script without --yes",
        setup: Setup::Sandbox,
        line: "verify web",
        exit: USAGE,
        shows: "refusing to delete and recreate web-2, web-1, web-0",
        fix: "pass --yes to proceed",
    },
    // history and undo
    Case {
        problem: "history --revision of a revision that does not exist",
        setup: Setup::Sandbox,
        line: "history web --revision 99",
        exit: FAILED,
        shows: "statefulset \"web\" has no revision 99",
        fix: "list them with `kubectl sts history web`",
    },
    Case {
        problem: "history --diff with one revision that does not exist",
        setup: Setup::Sandbox,
        line: "history web --diff 1 99",
        exit: FAILED,
        shows: "statefulset \"web\" has no revision 99",
        fix: "list them with `kubectl sts history web`",
    },
    Case {
        problem: "undo --to-revision of a revision that does not exist",
        setup: Setup::Sandbox,
        line: "undo web --to-revision 99 --yes",
        exit: FAILED,
        shows: "cannot roll back statefulset \"web\": revision 99 not found (revisions: 1)",
        fix: "see them with `kubectl sts history web`",
    },
    Case {
        problem: "undo of a StatefulSet that has one revision",
        setup: Setup::Sandbox,
        line: "undo web --yes",
        exit: FAILED,
        shows: "there is no earlier revision to roll back to (revisions: 1)",
        fix: "see them with `kubectl sts history web`",
    },
    Case {
        problem: "undo from a script without --yes",
        setup: Setup::Sandbox,
        line: "undo plain",
        exit: USAGE,
        shows: "refusing to roll back default/plain to revision 1",
        fix: "pass --yes to proceed",
    },
    // completion, sandbox, demo
    Case {
        problem: "Completion for a shell we do not support",
        setup: Setup::NoKubeconfig,
        line: "completion tcsh",
        exit: USAGE,
        shows: "invalid value 'tcsh' for '<SHELL>'",
        fix: "possible values: bash, zsh, fish, powershell",
    },
    Case {
        problem: "A sandbox fault rate over 1",
        setup: Setup::NoKubeconfig,
        line: "sandbox --faults error-rate=2",
        exit: USAGE,
        shows: "invalid --faults",
        fix: "between 0 and 1",
    },
    Case {
        problem: "A sandbox fault setting that does not exist",
        setup: Setup::NoKubeconfig,
        line: "sandbox --faults drop=0.5",
        exit: USAGE,
        shows: "unknown fault setting `drop`",
        fix: "expected error-rate, codes, delay",
    },
    Case {
        problem: "The sandbox's --port is taken",
        setup: Setup::PortTaken,
        line: "sandbox --port PORT",
        exit: FAILED,
        shows: "Address already in use",
        fix: "pick another --port, or leave it out for any free port",
    },
    Case {
        problem: "demo --use-current-context without a kubeconfig",
        setup: Setup::NoKubeconfig,
        line: "demo --use-current-context --no-pause",
        exit: FAILED,
        shows: "no kubeconfig found",
        fix: "set KUBECONFIG, pass --kubeconfig FILE",
    },
];

/// What the shared sandbox holds besides the `web` fixture: the StatefulSets,
/// and user `viewer` bound to the `view` ClusterRole in `default`.
const SETS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewer, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: viewer}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cart, namespace: shop}
spec:
  selector: {matchLabels: {app: cart}}
  serviceName: cart
  replicas: 1
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers: [{name: app, image: "nginx:1.25"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ondel}
spec:
  selector: {matchLabels: {app: ondel}}
  serviceName: ondel
  replicas: 1
  updateStrategy: {type: OnDelete}
  template:
    metadata: {labels: {app: ondel}}
    spec:
      containers: [{name: app, image: "nginx:1.25"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zero}
spec:
  selector: {matchLabels: {app: zero}}
  serviceName: zero
  replicas: 0
  template:
    metadata: {labels: {app: zero}}
    spec:
      containers: [{name: app, image: "nginx:1.25"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: plain}
spec:
  selector: {matchLabels: {app: plain}}
  serviceName: plain
  replicas: 1
  template:
    metadata: {labels: {app: plain}}
    spec:
      containers: [{name: app, image: "nginx:1.25"}]
"#;

/// Files in the working directory of `Setup::Sandbox` cases.
const FILES: &[(&str, &str)] = &[
    ("broken.json", r#"{"spec": {"template": "#),
    (
        "replicas.json",
        r#"[{"op": "replace", "path": "/spec/replicas", "value": 5}]"#,
    ),
    (
        "strategy.yaml",
        "spec:\n  updateStrategy:\n    type: OnDelete\n",
    ),
    (
        "stale.json",
        r#"[{"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.24"},
 {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"}]"#,
    ),
];

/// The shared sandbox with `web` (3 replicas with claims), `plain` (two
/// revisions, no claims), `ondel`, `zero`, and `cart` in namespace `shop`.
async fn shared_sandbox() -> TestSandbox {
    let sandbox = start_sandbox().await;
    for yaml in [fixture("web.yaml"), SETS.to_string()] {
        let applied = apply_yaml(&sandbox, &yaml);
        assert!(applied.status.success(), "{}", output_text(&applied));
    }
    kubectl_ok(
        &sandbox,
        &["set", "image", "statefulset/plain", "app=nginx:1.26"],
    );
    for set in ["statefulset/web", "statefulset/plain"] {
        kubectl_ok(&sandbox, &["rollout", "status", set, "--timeout=90s"]);
    }
    sandbox
}

/// Where a case runs: files, HOME, and the kubeconfigs it may need.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(sandbox: &TestSandbox) -> Workspace {
        let dir = tempfile::tempdir().expect("create the workspace");
        for (name, text) in FILES {
            std::fs::write(dir.path().join(name), text).expect("write a case file");
        }
        std::fs::create_dir_all(dir.path().join("home")).expect("create HOME");
        let kubeconfig =
            std::fs::read_to_string(sandbox.kubeconfig()).expect("read the sandbox kubeconfig");
        let wrong_token = replace_field(&kubeconfig, "token:", "token: expired-or-wrong");
        let unreachable = replace_field(&kubeconfig, "server:", "server: https://127.0.0.1:1");
        for (kind, text) in [
            (Kubeconfig::Empty, String::new()),
            (Kubeconfig::NotYaml, "clusters: [\n".to_string()),
            (Kubeconfig::WrongToken, wrong_token),
            (Kubeconfig::Unreachable, unreachable),
        ] {
            std::fs::write(Workspace::kubeconfig_path(dir.path(), kind), text)
                .expect("write a kubeconfig");
        }
        Workspace { dir }
    }

    fn kubeconfig_path(dir: &Path, kind: Kubeconfig) -> PathBuf {
        dir.join(format!("kubeconfig-{kind:?}.yaml").to_lowercase())
    }

    /// The command line of `case`, before anything it needs is started.
    fn command(&self, case: &Case, kubeconfig: &Path, port: Option<u16>) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-sts"));
        let home = self.dir.path().join("home");
        command
            .current_dir(self.dir.path())
            .env_remove("KUBECONFIG")
            .env("HOME", &home)
            .env("XDG_DATA_HOME", &home)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match case.setup {
            Setup::Sandbox | Setup::ServerGoesAway => {
                command.arg("--kubeconfig").arg(kubeconfig);
            }
            Setup::Kubeconfig(kind) => {
                command.env(
                    "KUBECONFIG",
                    Workspace::kubeconfig_path(self.dir.path(), kind),
                );
            }
            Setup::NoKubeconfig | Setup::PortTaken => {}
        }
        for arg in case.line.split_whitespace() {
            match (arg, port) {
                ("PORT", Some(port)) => command.arg(port.to_string()),
                _ => command.arg(arg),
            };
        }
        command
    }
}

fn replace_field(yaml: &str, field: &str, replacement: &str) -> String {
    let mut replaced = false;
    let lines: Vec<String> = yaml
        .lines()
        .map(|line| match line.find(field) {
            Some(at) => {
                replaced = true;
                format!("{}{replacement}", &line[..at])
            }
            None => line.to_string(),
        })
        .collect();
    assert!(replaced, "the sandbox kubeconfig has no {field}");
    lines.join("\n") + "\n"
}

/// Runs a case whose command needs nothing started around it.
fn run_plain(workspace: &Workspace, case: &Case, kubeconfig: &Path) -> Output {
    workspace
        .command(case, kubeconfig, None)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", case.line))
}

/// Binds a port, then runs the case with it as PORT.
fn run_port_taken(workspace: &Workspace, case: &Case) -> Output {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = taken.local_addr().expect("the bound port").port();
    let output = workspace
        .command(case, Path::new(""), Some(port))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", case.line));
    drop(taken);
    output
}

/// Starts the command against a sandbox of its own, waits for its first line
/// of output (it is connected and has shown the state), then stops the sandbox.
async fn run_server_goes_away(workspace: &Workspace, case: &Case) -> Output {
    use std::io::{BufRead, BufReader, Read};

    let sandbox = start_sandbox().await;
    let applied = apply_yaml(&sandbox, &fixture("web.yaml"));
    assert!(applied.status.success(), "{}", output_text(&applied));
    let mut child = workspace
        .command(case, sandbox.kubeconfig(), None)
        .spawn()
        .expect("start the command");
    let stdout = child.stdout.take().expect("piped stdout");
    let first_line = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        (reader, line)
    });
    let (mut reader, first) = tokio::time::timeout(Duration::from_secs(30), first_line)
        .await
        .expect("the command printed nothing within 30s")
        .expect("reading stdout");
    sandbox.shutdown().await;
    tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        let mut output = child.wait_with_output().expect("wait for the command");
        output.stdout = format!("{first}{rest}").into_bytes();
        output
    })
    .await
    .expect("join the command")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_input_is_named_with_a_way_out() {
    assert!(
        CASES.len() >= 30,
        "the catalogue promises at least 30 cases"
    );
    let sandbox = shared_sandbox().await;
    let workspace = Arc::new(Workspace::new(&sandbox));

    // The case that stops its own sandbox runs beside the others.
    let away = tokio::spawn({
        let workspace = Arc::clone(&workspace);
        async move {
            let mut outputs = Vec::new();
            for case in CASES.iter().filter(|c| c.setup == Setup::ServerGoesAway) {
                outputs.push((case, run_server_goes_away(&workspace, case).await));
            }
            outputs
        }
    });
    let rest = tokio::task::spawn_blocking({
        let workspace = Arc::clone(&workspace);
        let kubeconfig = sandbox.kubeconfig().to_path_buf();
        move || {
            let mut outputs = Vec::new();
            for case in CASES {
                let output = match case.setup {
                    Setup::ServerGoesAway => continue,
                    Setup::PortTaken => run_port_taken(&workspace, case),
                    _ => run_plain(&workspace, case, &kubeconfig),
                };
                outputs.push((case, output));
            }
            outputs
        }
    });
    let mut outputs: Vec<(&Case, Output)> = rest.await.expect("run the cases");
    outputs.extend(away.await.expect("run the server-goes-away cases"));

    let mut failures = Vec::new();
    for (case, output) in &outputs {
        let text = output_text(output);
        let code = output.status.code();
        let mut wrong = Vec::new();
        if code != Some(case.exit) {
            wrong.push(format!("exit {code:?}, expected {}", case.exit));
        }
        for wanted in [case.shows, case.fix] {
            if !text.contains(wanted) {
                wrong.push(format!("no {wanted:?}"));
            }
        }
        if text.contains("panicked") {
            wrong.push("a panic".to_string());
        }
        // The error is said once, in words: no library log lines, no colour codes.
        if text.contains('\u{1b}')
            || text
                .lines()
                .any(|l| l.contains(" ERROR ") || l.contains(" WARN "))
        {
            wrong.push("log noise besides the message".to_string());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} (kubectl sts {}): {}\n{}",
                case.problem,
                case.line,
                wrong.join("; "),
                text.trim_end()
            ));
        }
    }
    sandbox.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

const README_START: &str = "<!-- troubleshooting:start -->";
const README_END: &str = "<!-- troubleshooting:end -->";

/// Table cells: pipes would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn render_table() -> String {
    let mut table = String::from("| problem | what you see | what to do |\n|---|---|---|\n");
    for case in CASES {
        table.push_str(&format!(
            "| {} | `kubectl sts {}` exits {}: {} | {} |\n",
            cell(case.problem),
            case.line.replace('|', "\\|"),
            case.exit,
            cell(case.shows),
            cell(case.fix)
        ));
    }
    table
}

#[test]
fn readme_troubleshooting_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let (Some(start), Some(end)) = (readme.find(README_START), readme.find(README_END)) else {
        panic!("README.md lacks the {README_START} ... {README_END} markers");
    };
    let body_start = start + README_START.len();
    assert!(
        body_start <= end,
        "the troubleshooting markers are out of order"
    );
    let wanted = format!("\n{}", render_table());
    if readme[body_start..end] == wanted {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{wanted}{}", &readme[..body_start], &readme[end..]);
        std::fs::write(&path, updated).expect("update README.md");
        return;
    }
    panic!(
        "README.md's troubleshooting table is stale: regenerate it with `UPDATE_README=1 cargo test --test bad_input`"
    );
}
