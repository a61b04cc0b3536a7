//! Running a command in a pod's container through the API (`pods/exec`), and
//! reading back what it printed and how it exited.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::AsyncReadExt;

/// What a command in a container did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    /// None when the API gave no exit status.
    pub exit_code: Option<i32>,
    /// The API's failure message, if any.
    pub message: Option<String>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The runtime could not find the program (a container without that binary).
    pub fn not_found(&self) -> bool {
        self.exit_code == Some(127)
            || self.stderr.contains("not found")
            || self.message.as_deref().is_some_and(|m| {
                m.contains("executable file not found") || m.contains("no such file")
            })
    }

    /// One line saying how it failed.
    pub fn failure(&self) -> String {
        let mut text = match (self.exit_code, &self.message) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(message)) => message.clone(),
            (None, None) => "no exit status".to_string(),
        };
        if !self.stderr.trim().is_empty() {
            text.push_str(": ");
            text.push_str(self.stderr.trim());
        }
        text
    }
}

/// Run `command` in `container` (the pod's first container when None).
/// An error means the exec itself could not happen (forbidden, pod gone...).
pub async fn run(
    pods: &Api<Pod>,
    pod: &str,
    container: Option<&str>,
    command: &[&str],
) -> Result<ExecOutput, kube::Error> {
    let mut params = AttachParams::default()
        .stdout(true)
        .stderr(true)
        .stdin(false);
    if let Some(container) = container {
        params = params.container(container);
    }
    let mut process = pods.exec(pod, command.to_vec(), &params).await?;
    let status = process.take_status();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let stdout_stream = process.stdout();
    let stderr_stream = process.stderr();
    let read_out = async {
        if let Some(mut s) = stdout_stream {
            let _ = s.read_to_string(&mut stdout).await;
        }
    };
    let read_err = async {
        if let Some(mut s) = stderr_stream {
            let _ = s.read_to_string(&mut stderr).await;
        }
    };
    tokio::join!(read_out, read_err);
    let status = match status {
        Some(status) => status.await,
        None => None,
    };
    let _ = process.join().await;
    let (exit_code, message) = match status {
        Some(s) if s.status.as_deref() == Some("Success") => (Some(0), None),
        Some(s) => {
            let code = s
                .details
                .as_ref()
                .and_then(|d| d.causes.as_ref())
                .and_then(|causes| {
                    causes
                        .iter()
                        .find(|c| c.reason.as_deref() == Some("ExitCode"))
                })
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.parse::<i32>().ok());
            (code, s.message)
        }
        None => (None, None),
    };
    Ok(ExecOutput {
        stdout,
        stderr,
        exit_code,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(code: Option<i32>, stderr: &str, message: Option<&str>) -> ExecOutput {
        ExecOutput {
            stdout: String::new(),
            stderr: stderr.into(),
            exit_code: code,
            message: message.map(String::from),
        }
    }

    #[test]
    fn missing_programs_are_recognised() {
        assert!(output(Some(127), "sh: redis-cli: not found", None).not_found());
        assert!(
            output(
                None,
                "",
                Some("exec: \"sh\": executable file not found in $PATH")
            )
            .not_found()
        );
        assert!(!output(Some(1), "cat: /x: No such file or directory", None).not_found());
    }

    #[test]
    fn failures_read_as_one_line() {
        assert_eq!(
            output(Some(3), "boom\n", None).failure(),
            "exit code 3: boom"
        );
        assert!(output(Some(0), "", None).success());
    }
}
