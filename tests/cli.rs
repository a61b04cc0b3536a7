//! The command-line contract, exercised through the built binary the way a user
//! (and kubectl's plugin machinery) runs it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kubectl_sts::cli::Shell;
use kubectl_sts::completion::{ALL_SHELLS, script_file_name};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubectl-sts"))
}

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run kubectl-sts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A PATH on which `kubectl-sts` and `kubectl_complete-sts` are found first,
/// then the real kubectl.
fn plugin_path() -> String {
    let bin_dir = binary().parent().map(Path::to_path_buf).unwrap_or_default();
    let completions = project_root().join("completions");
    let kubectl_dir = support::kubectl_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let rest = std::env::var("PATH").unwrap_or_default();
    format!(
        "{}:{}:{}:{rest}",
        bin_dir.display(),
        completions.display(),
        kubectl_dir.display()
    )
}

const SUBCOMMANDS: [&str; 10] = [
    "watch",
    "canary",
    "volumes",
    "verify",
    "status",
    "history",
    "undo",
    "completion",
    "sandbox",
    "demo",
];

#[test]
fn help_lists_every_subcommand() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for name in SUBCOMMANDS {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(name)),
            "{name} missing from --help:\n{text}"
        );
    }
}

#[test]
fn each_subcommand_has_help_with_its_flags_and_the_global_ones() {
    let expected_flags: [(&str, &[&str]); 10] = [
        ("watch", &["--until", "--timeout", "--log"]),
        (
            "canary",
            &[
                "--image",
                "--steps",
                "--soak",
                "--pause",
                "--promote",
                "--abort",
                "--resume",
                "--dry-run",
            ],
        ),
        ("volumes", &[]),
        (
            "verify",
            &[
                "--ordinal",
                "--check",
                "--yes",
                "--keep-marker",
                "--dry-run",
            ],
        ),
        ("status", &["--cluster-domain", "--strict"]),
        ("history", &["--revision", "--diff"]),
        ("undo", &["--to-revision", "--yes", "--no-wait"]),
        ("completion", &[]),
        (
            "sandbox",
            &["--port", "--listen", "--kubeconfig-out", "--data-dir"],
        ),
        ("demo", &["--no-pause", "--use-current-context", "--keep"]),
    ];
    for (name, flags) in expected_flags {
        let output = run(&[name, "--help"]);
        assert!(output.status.success(), "{name} --help failed");
        let text = stdout(&output);
        for flag in flags.iter().chain(
            [
                "--kubeconfig",
                "--context",
                "--namespace",
                "--output",
                "--no-color",
            ]
            .iter(),
        ) {
            assert!(text.contains(flag), "{name} --help lacks {flag}:\n{text}");
        }
    }
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let output = run(&["volumes", "-o", "xml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid value 'xml'"));

    let output = run(&["canary", "web", "--promote", "--abort"]);
    assert_eq!(output.status.code(), Some(2));

    let output = run(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_missing_kubeconfig_is_named_in_one_line() {
    let output = run(&["--kubeconfig", "/nonexistent", "volumes"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("/nonexistent"), "{text}");
    assert!(text.starts_with("error: cannot read kubeconfig"), "{text}");
}

#[test]
fn an_unreachable_server_is_named() {
    // A port that nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"
        ),
    )
    .expect("write kubeconfig");
    let output = run(&[
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8 path"),
        "--request-timeout",
        "5s",
        "volumes",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}")),
        "the server URL is not named: {text}"
    );
    assert!(text.contains("cannot reach the API server"), "{text}");
    assert!(!text.contains("Error {"), "debug dump leaked: {text}");
}

#[test]
fn several_kubeconfig_files_in_kubeconfig_merge_like_kubectl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("a");
    let second = dir.path().join("b");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Config\ncurrent-context: second\nclusters: []\nusers: []\ncontexts: []\n",
    )
    .expect("write");
    std::fs::write(
        &second,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:9\"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: second\n  context: {cluster: c, user: u, namespace: merged-ns}\n",
    )
    .expect("write");
    // The current context comes from the first file, its definition from the second.
    let output = Command::new(binary())
        .args(["__complete", "--context", ""])
        .env(
            "KUBECONFIG",
            format!("{}:{}", first.display(), second.display()),
        )
        .output()
        .expect("run");
    let text = stdout(&output);
    assert!(text.lines().any(|l| l == "second"), "{text}");
    assert!(text.ends_with(":4\n"), "{text}");
}

#[test]
fn shipped_completion_scripts_are_current() {
    for shell in ALL_SHELLS {
        let file = project_root()
            .join("completions")
            .join(script_file_name(shell));
        let name = format!("{shell:?}").to_lowercase();
        let generated = stdout(&run(&["completion", &name]));
        if std::env::var_os("UPDATE_COMPLETIONS").is_some() {
            std::fs::write(&file, &generated).expect("update completions");
            continue;
        }
        let shipped = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            shipped == generated,
            "{} is stale: regenerate with `UPDATE_COMPLETIONS=1 cargo test --test cli shipped_completion_scripts_are_current`",
            file.display()
        );
    }
    // Make sure the enum still covers every shell we ship.
    assert_eq!(
        ALL_SHELLS.len(),
        [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell].len()
    );
}

#[test]
fn kubectl_complete_sts_speaks_cobras_protocol() {
    let shim = project_root()
        .join("completions")
        .join("kubectl_complete-sts");
    let complete = |words: &[&str]| {
        let output = Command::new(&shim)
            .args(words)
            .env("PATH", plugin_path())
            .env_remove("KUBECONFIG")
            .env("HOME", std::env::temp_dir())
            .output()
            .expect("run kubectl_complete-sts");
        assert!(output.status.success());
        stdout(&output)
    };
    let all = complete(&[""]);
    assert!(all.lines().any(|l| l.starts_with("watch\t")), "{all}");
    assert!(all.lines().any(|l| l.starts_with("canary\t")), "{all}");
    let last = all.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(':') && last[1..].parse::<u32>().is_ok(),
        "no directive line: {all}"
    );

    let partial = complete(&["ca"]);
    assert!(partial.starts_with("canary\t"), "{partial}");
    let flags = complete(&["watch", "--un"]);
    assert!(flags.starts_with("--until\t"), "{flags}");
    let values = complete(&["watch", "--until", "r"]);
    assert_eq!(
        values
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec!["ready", "rolled", ":4"]
    );
}

#[test]
fn kubectl_finds_and_runs_the_plugin() {
    let kubectl = support::kubectl_path();
    let home = tempfile::tempdir().expect("tempdir");
    let output = Command::new(&kubectl)
        .args(["plugin", "list"])
        .env("PATH", plugin_path())
        .env("HOME", home.path())
        .output()
        .expect("run kubectl plugin list");
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert!(text.contains("kubectl-sts"), "kubectl plugin list: {text}");

    let output = Command::new(&kubectl)
        .args(["sts", "--help"])
        .env("PATH", plugin_path())
        .env("HOME", home.path())
        .output()
        .expect("run kubectl sts --help");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("canary"));

    // kubectl's own completion delegates to kubectl_complete-sts.
    let output = Command::new(&kubectl)
        .args(["__complete", "sts", "vo"])
        .env("PATH", plugin_path())
        .env("HOME", home.path())
        .output()
        .expect("run kubectl __complete");
    let text = stdout(&output);
    assert!(text.lines().any(|l| l.starts_with("volumes")), "{text}");
}
