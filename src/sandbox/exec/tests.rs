//! The protocol pieces that need no socket: query parsing, negotiation, the
//! pre-upgrade checks, channel framing and the error-channel `Status`.

use super::*;

struct OnePod(Pod);

impl ExecBackend for OnePod {
    fn pod(&self, _namespace: &str, name: &str) -> Result<Pod, ApiError> {
        if self.0.metadata.name.as_deref() == Some(name) {
            Ok(self.0.clone())
        } else {
            Err(ApiError::not_found(&crate::sandbox::resources::PODS, name))
        }
    }

    fn claim_dir(&self, _namespace: &str, _claim: &str) -> Result<Option<PathBuf>, ApiError> {
        Ok(None)
    }

    fn volume_files(
        &self,
        _namespace: &str,
        _source: &VolumeFilesSource,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, ApiError> {
        Ok(None)
    }
}

fn pod(yaml: &str) -> Pod {
    serde_saphyr::from_str(yaml).unwrap()
}

const RUNNING: &str = r#"
metadata: {name: web-0, namespace: default, uid: u1}
spec:
  nodeName: sandbox
  containers: [{name: nginx, image: "nginx:1.25"}]
status:
  phase: Running
  containerStatuses:
  - {name: nginx, image: "nginx:1.25", imageID: "", ready: true, restartCount: 0, state: {running: {}}}
"#;

fn query(text: &str) -> ExecQuery {
    ExecQuery::parse(Some(text)).unwrap()
}

#[test]
fn query_collects_repeated_commands_and_go_booleans() {
    // kube-rs starts its query with "&".
    let q = query(
        "&stdout=true&stderr=1&container=nginx&command=sh&command=-c&command=echo%20hi%20%3E%20%2Ftmp%2Fx",
    );
    assert_eq!(q.command, vec!["sh", "-c", "echo hi > /tmp/x"]);
    assert_eq!(q.container.as_deref(), Some("nginx"));
    assert!(q.stdout && q.stderr && !q.stdin && !q.tty);
    assert!(ExecQuery::parse(Some("stdin=maybe")).is_err());
    assert_eq!(ExecQuery::parse(None).unwrap(), ExecQuery::default());
}

#[test]
fn negotiation_takes_the_clients_first_supported_protocol() {
    assert_eq!(
        ChannelProtocol::negotiate(["v5.channel.k8s.io, v4.channel.k8s.io"]),
        Some(ChannelProtocol::V5)
    );
    assert_eq!(
        ChannelProtocol::negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"]),
        Some(ChannelProtocol::V4)
    );
    assert_eq!(
        ChannelProtocol::negotiate(["channel.k8s.io,v4.base64.channel.k8s.io"]),
        Some(ChannelProtocol::V4Base64)
    );
    assert_eq!(ChannelProtocol::negotiate(["SPDY/3.1"]), None);
}

#[test]
fn pre_upgrade_checks_use_the_api_servers_messages() {
    let backend = OnePod(pod(RUNNING));
    let q = query("command=ls&stdout=true");
    let err = |name: &str, q: &ExecQuery| match locate(&backend, "default", name, q) {
        Err(e) => (e.code, e.message),
        Ok(_) => panic!("expected an error"),
    };
    assert_eq!(err("web-9", &q), (404, "pods \"web-9\" not found".into()));
    let mut wrong = q.clone();
    wrong.container = Some("sidecar".into());
    assert_eq!(
        err("web-0", &wrong),
        (400, "container sidecar is not valid for pod web-0".into())
    );
    let mut no_streams = q.clone();
    no_streams.stdout = false;
    assert_eq!(
        err("web-0", &no_streams),
        (
            400,
            "you must specify at least 1 of stdin, stdout, stderr".into()
        )
    );
    let target = locate(&backend, "default", "web-0", &q).unwrap();
    assert_eq!(target.container_name, "nginx");
    assert!(target.running);
}

#[test]
fn unscheduled_and_multi_container_pods() {
    let unscheduled = OnePod(pod(
        "metadata: {name: web-0}\nspec: {containers: [{name: nginx}]}\n",
    ));
    let q = query("command=ls&stdout=true");
    assert_eq!(
        locate(&unscheduled, "default", "web-0", &q)
            .err()
            .map(|e| e.message),
        Some("pod web-0 does not have a host assigned".into())
    );
    let two = OnePod(pod(
        "metadata: {name: web-0}\nspec: {nodeName: n, containers: [{name: a}, {name: b}]}\n",
    ));
    assert_eq!(
        locate(&two, "default", "web-0", &q)
            .err()
            .map(|e| e.message),
        Some("a container name must be specified for pod web-0, choose one of: [a b]".into())
    );
    // Not running yet: found, but the exec will fail with "container not found".
    let creating = OnePod(pod(
        "metadata: {name: web-0}\nspec: {nodeName: n, containers: [{name: nginx}]}\nstatus: {phase: Pending}\n",
    ));
    assert!(!locate(&creating, "default", "web-0", &q).unwrap().running);
}

#[test]
fn status_json_matches_what_clients_decode() {
    let success = String::from_utf8(StreamStatus::success().to_json()).unwrap();
    assert_eq!(success, r#"{"metadata":{},"status":"Success"}"#);

    let command = vec!["sh".to_string(), "-c".into(), "exit 3".into()];
    let v4 = StreamStatus::from_outcome(ChannelProtocol::V4, &command, ExecOutcome::Exited(3));
    assert_eq!(
        String::from_utf8(v4.to_json()).unwrap(),
        r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
    );
    let v5 = StreamStatus::from_outcome(ChannelProtocol::V5, &command, ExecOutcome::Exited(3));
    assert_eq!(
        v5.message.as_deref(),
        Some("command terminated with non-zero exit code: command terminated with exit code 3")
    );

    let missing = StreamStatus::from_outcome(
        ChannelProtocol::V5,
        &["curl".to_string()],
        ExecOutcome::NotStarted("exec: \"curl\": executable file not found in $PATH".into()),
    );
    let message = missing.message.clone().unwrap();
    assert!(message.starts_with(
        "Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \""
    ));
    assert!(message.ends_with(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"curl\": executable file not found in $PATH: unknown"
    ));
    assert_eq!(missing.code, Some(500));
    assert_eq!(missing.reason, Some("InternalError"));
}

#[test]
fn frames_carry_the_channel_byte_or_digit() {
    let binary = Session {
        protocol: ChannelProtocol::V5,
        query: ExecQuery::default(),
    };
    assert_eq!(
        binary.encode(STDOUT, b"hi"),
        Message::Binary(Bytes::from_static(&[1, b'h', b'i']))
    );
    assert_eq!(
        binary.decode(Message::Binary(Bytes::from_static(&[CLOSE, STDIN]))),
        Some((CLOSE, vec![STDIN]))
    );
    let text = Session {
        protocol: ChannelProtocol::V4Base64,
        query: ExecQuery::default(),
    };
    assert_eq!(text.encode(STDERR, b"hi"), Message::Text("2aGk=".into()));
    assert_eq!(
        text.decode(Message::Text("0aGk=".into())),
        Some((STDIN, b"hi".to_vec()))
    );
}

#[test]
fn terminal_output_ends_lines_with_crlf() {
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let output = ChannelOutput {
        channel: STDOUT,
        tty: true,
        sender,
    };
    output.write(b"a\nb\n");
    let Some(Outgoing::Data(channel, data)) = receiver.try_recv().ok() else {
        panic!("nothing written");
    };
    assert_eq!((channel, data.as_ref()), (STDOUT, b"a\r\nb\r\n".as_slice()));
}
