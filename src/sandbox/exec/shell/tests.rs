//! The interpreter against a real container layer in a temporary directory.

use std::sync::Arc;

use super::*;
use crate::sandbox::exec::fs::{Mount, MountTable};

struct Run {
    status: ExecOutcome,
    stdout: String,
    stderr: String,
}

struct Sandbox {
    _tmp: tempfile::TempDir,
    container: Container,
    volume: std::path::PathBuf,
}

fn sandbox() -> Sandbox {
    let tmp = tempfile::tempdir().unwrap();
    let volume = tmp.path().join("pv");
    let fs = MountTable::prepare(
        &tmp.path().join("rootfs"),
        vec![
            Mount {
                container_path: "/data".into(),
                host_dir: volume.clone(),
                read_only: false,
            },
            Mount {
                container_path: "/config".into(),
                host_dir: tmp.path().join("config"),
                read_only: true,
            },
        ],
        "web-0",
    )
    .unwrap();
    let container = Container {
        fs: Arc::new(fs),
        hostname: "web-0".into(),
        env: vec![
            ("PATH".into(), DEFAULT_PATH.into()),
            ("HOSTNAME".into(), "web-0".into()),
            ("GREETING".into(), "hello world".into()),
            ("HOME".into(), "/root".into()),
        ],
        working_dir: "/".into(),
    };
    Sandbox {
        _tmp: tmp,
        container,
        volume,
    }
}

impl Sandbox {
    async fn exec_with_stdin(&self, argv: &[&str], stdin: Input) -> Run {
        let stdout = Arc::new(BufferSink::default());
        let stderr = Arc::new(BufferSink::default());
        let io = Io::new(stdin, stdout.clone(), stderr.clone());
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let status = run_exec(&self.container, &argv, io).await;
        Run {
            status,
            stdout: String::from_utf8(stdout.take()).unwrap(),
            stderr: String::from_utf8(stderr.take()).unwrap(),
        }
    }

    async fn exec(&self, argv: &[&str]) -> Run {
        self.exec_with_stdin(argv, Input::Empty).await
    }

    async fn sh(&self, script: &str) -> Run {
        self.exec(&["sh", "-c", script]).await
    }
}

fn exited(code: i32) -> ExecOutcome {
    ExecOutcome::Exited(code)
}

#[tokio::test]
async fn echo_redirect_then_cat_round_trips_through_the_volume() {
    let sb = sandbox();
    let run = sb.sh("echo hello > /data/index.html").await;
    assert_eq!((run.status, run.stdout.as_str()), (exited(0), ""));
    assert_eq!(
        std::fs::read_to_string(sb.volume.join("index.html")).unwrap(),
        "hello\n"
    );
    let run = sb.exec(&["cat", "/data/index.html"]).await;
    assert_eq!(run.stdout, "hello\n");
    assert_eq!(run.status, exited(0));
}

#[tokio::test]
async fn quoting_and_variable_expansion() {
    let sb = sandbox();
    let run = sb
        .sh(r#"X='a  b'; echo $X "$X" '$X' \$X ${GREETING} "${MISSING:-default}" ${#HOSTNAME}"#)
        .await;
    assert_eq!(run.stdout, "a b a  b $X $X hello world default 5\n");
}

#[tokio::test]
async fn command_substitution_like_the_statefulset_tutorial() {
    let sb = sandbox();
    let run = sb
        .sh(r#"echo "$(hostname)" > /data/index.html; cat /data/index.html"#)
        .await;
    assert_eq!(run.stdout, "web-0\n");
    let run = sb.sh("echo `echo nested` $(echo $(hostname))").await;
    assert_eq!(run.stdout, "nested web-0\n");
}

#[tokio::test]
async fn and_or_lists_follow_exit_statuses() {
    let sb = sandbox();
    let run = sb
        .sh("false && echo no; true && echo yes; false || echo fallback; true || echo never")
        .await;
    assert_eq!(run.stdout, "yes\nfallback\n");
    let run = sb.sh("false; echo $?; ! false; echo $?").await;
    assert_eq!(run.stdout, "1\n0\n");
}

#[tokio::test]
async fn exit_codes_propagate() {
    let sb = sandbox();
    assert_eq!(sb.sh("exit 3").await.status, exited(3));
    assert_eq!(
        sb.sh("echo before; exit 42; echo after").await.stdout,
        "before\n"
    );
    assert_eq!(sb.sh("false").await.status, exited(1));
    assert_eq!(sb.sh("sh -c 'exit 7'; echo $?").await.stdout, "7\n");
    assert_eq!(sb.sh("exit 256").await.status, exited(0));
}

#[tokio::test]
async fn unknown_commands_exit_127_with_not_found() {
    let sb = sandbox();
    let run = sb.sh("nosuchcmd arg").await;
    assert_eq!(run.status, exited(127));
    assert_eq!(run.stderr, "sh: nosuchcmd: not found\n");
}

#[tokio::test]
async fn a_missing_binary_fails_to_start_when_executed_directly() {
    let sb = sandbox();
    let run = sb.exec(&["nosuchcmd"]).await;
    assert_eq!(
        run.status,
        ExecOutcome::NotStarted("exec: \"nosuchcmd\": executable file not found in $PATH".into())
    );
    let run = sb.exec(&["/bin/bash", "-c", "true"]).await;
    assert_eq!(run.status, exited(0));
    let run = sb.exec(&["/opt/app"]).await;
    assert_eq!(
        run.status,
        ExecOutcome::NotStarted(
            "exec: \"/opt/app\": stat /opt/app: no such file or directory".into()
        )
    );
    // Shell built-ins are not programs a runtime can start.
    assert!(matches!(
        sb.exec(&["cd", "/"]).await.status,
        ExecOutcome::NotStarted(_)
    ));
}

#[tokio::test]
async fn redirections_append_and_merge_streams() {
    let sb = sandbox();
    let run = sb
        .sh("echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f /nope 2>/tmp/err; cat /tmp/err")
        .await;
    assert_eq!(
        run.stdout,
        "one\ntwo\ncat: /nope: No such file or directory\n"
    );
    let run = sb.sh("cat /nope 2>&1").await;
    assert_eq!(run.stdout, "cat: /nope: No such file or directory\n");
    assert_eq!(run.stderr, "");
    assert_eq!(run.status, exited(1));
    let run = sb.sh("echo quiet > /dev/null; echo loud >&2").await;
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", "loud\n"));
    let run = sb.sh("echo x > /missing/dir/f").await;
    assert_eq!(
        run.stderr,
        "sh: can't create /missing/dir/f: nonexistent directory\n"
    );
    assert_eq!(run.status, exited(1));
}

#[tokio::test]
async fn read_only_volumes_report_read_only_file_system() {
    let sb = sandbox();
    let run = sb.sh("echo x > /config/f").await;
    assert_eq!(
        run.stderr,
        "sh: can't create /config/f: Read-only file system\n"
    );
    let run = sb.exec(&["touch", "/config/f"]).await;
    assert_eq!(
        run.stderr,
        "touch: cannot touch '/config/f': Read-only file system\n"
    );
}

#[tokio::test]
async fn input_redirection_and_pipes() {
    let sb = sandbox();
    let run = sb
        .sh("printf 'a\\nb\\nc\\n' > /tmp/l; cat < /tmp/l | tail -n 2 | head -n 1; wc -l < /tmp/l")
        .await;
    assert_eq!(run.stdout, "b\n3\n");
}

#[tokio::test]
async fn stdin_from_the_exec_stream_feeds_cat() {
    let sb = sandbox();
    let (sender, receiver) = mpsc::unbounded_channel();
    sender.send(Bytes::from_static(b"from ")).unwrap();
    sender.send(Bytes::from_static(b"stdin\n")).unwrap();
    drop(sender);
    let run = sb
        .exec_with_stdin(
            &["sh", "-c", "cat > /data/in; cat /data/in"],
            Input::Stream(StdinStream::new(receiver)),
        )
        .await;
    assert_eq!(run.stdout, "from stdin\n");
}

#[tokio::test]
async fn printf_repeats_its_format_over_arguments() {
    let sb = sandbox();
    let run = sb
        .exec(&["printf", "%s=%d\\n", "a", "1", "b", "2", "c"])
        .await;
    assert_eq!(run.stdout, "a=1\nb=2\nc=0\n");
    let run = sb
        .exec(&["printf", "%5s|%-3s|%03d|%b|%%\n", "x", "y", "7", "t\\tab"])
        .await;
    assert_eq!(run.stdout, "    x|y  |007|t\tab|%\n");
}

#[tokio::test]
async fn echo_flags() {
    let sb = sandbox();
    assert_eq!(sb.exec(&["echo", "-n", "a", "b"]).await.stdout, "a b");
    assert_eq!(sb.exec(&["echo", "-e", "a\\tb"]).await.stdout, "a\tb\n");
    assert_eq!(sb.exec(&["echo", "a\\tb"]).await.stdout, "a\\tb\n");
    assert_eq!(sb.exec(&["echo", "-x"]).await.stdout, "-x\n");
}

#[tokio::test]
async fn test_and_brackets() {
    let sb = sandbox();
    let run = sb
        .sh(concat!(
            "echo hi > /data/f; : > /data/empty; ",
            "[ -f /data/f ] && echo f; [ -d /data ] && echo d; [ -e /nope ] || echo missing; ",
            "[ -s /data/empty ] || echo empty; [ -n \"$HOSTNAME\" ] && echo n; [ -z '' ] && echo z; ",
            "[ a = a ] && echo eq; [ a != b ] && echo ne; [ 3 -gt 2 ] && [ 2 -lt 3 ] && echo num; ",
            "[ ! -f /nope ] && echo not; test 1 -eq 1 -a 2 -ne 3 && echo and",
        ))
        .await;
    assert_eq!(
        run.stdout,
        "f\nd\nmissing\nempty\nn\nz\neq\nne\nnum\nnot\nand\n"
    );
    let run = sb.sh("[ -f /x").await;
    assert_eq!(
        (run.status, run.stderr.as_str()),
        (exited(2), "sh: [: missing ]\n")
    );
}

#[tokio::test]
async fn ls_mkdir_rm_touch_mv_cp() {
    let sb = sandbox();
    let run = sb
        .sh(concat!(
            "mkdir -p /data/a/b && touch /data/a/b/f /data/a/g && ls /data/a; ",
            "mv /data/a/g /data/a/h; cp /data/a/h /data/a/i; ls -1 /data/a; ",
            "rm -r /data/a/b; rm /data/a/h; ls /data/a",
        ))
        .await;
    assert_eq!(run.stdout, "b\ng\nb\nh\ni\ni\n");
    assert_eq!(run.stderr, "");
    let run = sb.sh("ls /nope; echo $?").await;
    assert_eq!(
        run.stderr,
        "ls: cannot access '/nope': No such file or directory\n"
    );
    assert_eq!(run.stdout, "2\n");
    let run = sb.sh("mkdir /data; rm /nope; rm -f /nope; rm /data").await;
    assert_eq!(
        run.stderr,
        concat!(
            "mkdir: cannot create directory '/data': File exists\n",
            "rm: cannot remove '/nope': No such file or directory\n",
            "rm: cannot remove '/data': Is a directory\n",
        )
    );
    let run = sb.sh("mkdir /x/y").await;
    assert_eq!(
        run.stderr,
        "mkdir: cannot create directory '/x/y': No such file or directory\n"
    );
}

#[tokio::test]
async fn ls_long_and_all() {
    let sb = sandbox();
    let run = sb.sh("echo hello > /data/f; ls -la /data").await;
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "total 12");
    assert!(lines[1].starts_with("drwxr-xr-x 2 root root 4096 ") && lines[1].ends_with(" ."));
    assert!(lines[3].starts_with("-rw-r--r-- 1 root root 6 ") && lines[3].ends_with(" f"));
}

#[tokio::test]
async fn rm_r_of_a_mount_point_empties_it_but_cannot_remove_it() {
    let sb = sandbox();
    let run = sb.sh("echo x > /data/f; rm -rf /data; ls /data").await;
    assert_eq!(
        run.stderr,
        "rm: cannot remove '/data': Device or resource busy\n"
    );
    assert_eq!(run.stdout, "");
    let run = sb.exec(&["rm", "-rf", "/"]).await;
    assert!(
        run.stderr
            .starts_with("rm: it is dangerous to operate recursively on '/'")
    );
}

#[tokio::test]
async fn cd_pwd_and_relative_paths() {
    let sb = sandbox();
    let run = sb
        .sh("cd /data && mkdir sub && cd sub && echo x > f && pwd && cat ../sub/f && cd .. && ls")
        .await;
    assert_eq!(run.stdout, "/data/sub\nx\nsub\n");
    let run = sb.sh("cd /nope").await;
    assert_eq!(
        (run.status, run.stderr.as_str()),
        (
            exited(2),
            "sh: cd: can't cd to /nope: No such file or directory\n"
        )
    );
}

#[tokio::test]
async fn env_hostname_id_and_assignment_prefixes() {
    let sb = sandbox();
    let run = sb.exec(&["env"]).await;
    assert_eq!(
        run.stdout,
        format!("PATH={DEFAULT_PATH}\nHOSTNAME=web-0\nGREETING=hello world\nHOME=/root\n")
    );
    let run = sb
        .sh("FOO=bar env | tail -n 1; echo ${FOO:-unset}; hostname; id")
        .await;
    assert_eq!(
        run.stdout,
        "FOO=bar\nunset\nweb-0\nuid=0(root) gid=0(root) groups=0(root)\n"
    );
    let run = sb.sh("export A=1; sh -c 'echo $A'").await;
    assert_eq!(run.stdout, "1\n");
}

#[tokio::test]
async fn compound_commands() {
    let sb = sandbox();
    let run = sb
        .sh(concat!(
            "for i in 1 2 3; do echo $i > /data/$i; done; ",
            "if [ -f /data/2 ]; then echo yes; else echo no; fi; ",
            "n=0; while [ $n -lt 2 ]; do echo loop; n=5; done; ",
            "{ echo grouped; } > /tmp/g; cat /tmp/g; ( cd /tmp; pwd ); pwd",
        ))
        .await;
    assert_eq!(run.stdout, "yes\nloop\ngrouped\n/tmp\n/\n");
    assert_eq!(sb.sh("ls /data").await.stdout, "1\n2\n3\n");
}

#[tokio::test]
async fn arithmetic_expansion_counts_loops() {
    let sb = sandbox();
    let run = sb
        .sh("i=0; while [ $i -lt 3 ]; do i=$((i + 1)); echo \"n=$(( i * 10 ))\"; done")
        .await;
    assert_eq!(run.stdout, "n=10\nn=20\nn=30\n");
    let run = sb.sh("echo $((1 / 0)); echo unreachable").await;
    assert_eq!(run.status, exited(2));
    assert_eq!(run.stdout, "");
}

#[tokio::test]
async fn globs_expand_against_the_filesystem() {
    let sb = sandbox();
    let run = sb
        .sh("touch /data/a.txt /data/b.txt /data/c.log; echo /data/*.txt; echo '/data/*.txt'; echo /data/*.none")
        .await;
    assert_eq!(
        run.stdout,
        "/data/a.txt /data/b.txt\n/data/*.txt\n/data/*.none\n"
    );
}

#[tokio::test]
async fn syntax_errors_exit_2() {
    let sb = sandbox();
    let run = sb.sh("echo 'unterminated").await;
    assert_eq!(run.status, exited(2));
    assert_eq!(run.stderr, "sh: syntax error: unterminated quoted string\n");
}

#[tokio::test]
async fn sleep_waits_asynchronously() {
    let sb = sandbox();
    let started = std::time::Instant::now();
    let run = sb.sh("sleep 0.2; sleep 0.1s; echo done").await;
    assert_eq!(run.stdout, "done\n");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let run = sb.exec(&["sleep", "soon"]).await;
    assert_eq!(run.stderr, "sleep: invalid time interval 'soon'\n");
}

#[tokio::test]
async fn sh_reads_its_script_from_stdin_without_c() {
    let sb = sandbox();
    let run = sb
        .exec_with_stdin(
            &["sh"],
            Input::Bytes(Arc::new(b"echo from script\nexit 4\n".to_vec())),
        )
        .await;
    assert_eq!(
        (run.status, run.stdout.as_str()),
        (exited(4), "from script\n")
    );
}

#[test]
fn normalize_never_leaves_the_root() {
    assert_eq!(normalize("/", "../../etc"), "/etc");
    assert_eq!(normalize("/data/sub", "../x/./y/"), "/data/x/y");
    assert_eq!(normalize("/a", "/"), "/");
}

#[test]
fn patterns_match_like_fnmatch() {
    assert!(pattern_matches("*.txt", "a.txt"));
    assert!(!pattern_matches("*.txt", "a.log"));
    assert!(pattern_matches("web-?", "web-0"));
    assert!(pattern_matches("[a-c]x", "bx"));
    assert!(!pattern_matches("[!a-c]x", "bx"));
    assert!(pattern_matches("a\\*", "a*"));
}
