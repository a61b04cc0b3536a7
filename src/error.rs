//! The one error type users see: each variant renders as one or two lines that
//! say what went wrong and what to do, and maps to an exit code in one place.

use std::path::PathBuf;

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the operation failed or a check did not hold.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: the command line was wrong.
pub const EXIT_USAGE: i32 = 2;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or argument the user gave cannot work.
    #[error("{0}")]
    Usage(String),

    #[error(
        "no kubeconfig found: set KUBECONFIG, pass --kubeconfig FILE, or start the built-in sandbox with `kubectl sts sandbox`"
    )]
    NoKubeconfig,

    #[error(
        "cannot read kubeconfig {path}: {reason}; check --kubeconfig and KUBECONFIG, or start the built-in sandbox with `kubectl sts sandbox`"
    )]
    KubeconfigUnreadable { path: PathBuf, reason: String },

    #[error("invalid kubeconfig: {0}")]
    KubeconfigInvalid(String),

    #[error(
        "cannot reach the API server at {url}: {reason}\nIs the cluster running? Check --context/--kubeconfig, or start one with `kubectl sts sandbox`."
    )]
    Unreachable { url: String, reason: String },

    #[error(
        "the API server at {url} rejected our credentials (401 Unauthorized): {message}\nRefresh the token or certificate in your kubeconfig."
    )]
    Unauthorized { url: String, message: String },

    /// The API server's 403 message, then the permission it names and where
    /// the Roles are documented.
    #[error("{message}\n{}", forbidden_advice(.message))]
    Forbidden { message: String },

    #[error("{}", not_found_message(.name, .namespace, .existing, .elsewhere))]
    StatefulSetNotFound {
        name: String,
        namespace: String,
        /// StatefulSets that do exist in the namespace (shown when there are few).
        existing: Vec<String>,
        /// Other namespaces that hold a StatefulSet of this name (a forgotten -n).
        elsewhere: Vec<String>,
    },

    /// Any other failure the API server reported, with its own message.
    #[error("{reason} ({code}): {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },

    /// The server throttled or failed the request (429, 5xx) and went on
    /// doing so through the retries `retry.rs` makes where they are safe.
    #[error(
        "the API server at {url} failed the request with {code} {reason}: {message}\nIt may be overloaded or restarting (kubectl-sts already repeated what was safe to repeat): try again shortly; `kubectl get --raw='/readyz?verbose'` shows its health."
    )]
    ServerFailing {
        url: String,
        code: u16,
        reason: String,
        message: String,
    },

    /// The server did not answer within --request-timeout: it is there, but slow.
    #[error(
        "the API server at {url} did not answer in time (--request-timeout)\nIt is slow or overloaded: try again shortly, or allow it longer with --request-timeout (0 means no limit)."
    )]
    ServerTimedOut { url: String },

    #[error("timed out after {after}: {what}")]
    Timeout { after: String, what: String },

    /// The operation ran and did not succeed; the message says how.
    #[error("{0}")]
    Failed(String),

    #[error("`kubectl sts {command}` is not implemented yet (tracked in issue {issue})")]
    NotImplemented { command: &'static str, issue: u32 },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// stdout was closed by the reader (`kubectl sts volumes | head`): not an error for the user.
    #[error("broken pipe")]
    BrokenPipe,

    #[error("unexpected error from the Kubernetes client: {0}")]
    Client(String),
}

/// What to do about a 403: the missing permission, when the message names it.
fn forbidden_advice(message: &str) -> String {
    let needed = missing_permission(message)
        .map(|p| format!("Missing permission: {p}.\n"))
        .unwrap_or_default();
    format!(
        "{needed}Ask your cluster admin for the missing permission; docs/RBAC.md lists the Role each kubectl-sts command needs (rbac/*.yaml)."
    )
}

/// The permission an upstream 403 message says is missing: from `User "u"
/// cannot list resource "pods" in API group "" in the namespace "db"` comes
/// `list on "pods" (API group "") in namespace "db"`.
pub fn missing_permission(message: &str) -> Option<String> {
    let (_, denied) = message.split_once("\" cannot ")?;
    if let Some((verb, rest)) = denied.split_once(" path \"") {
        let path = rest.split('"').next()?;
        return Some(format!(
            "{verb} on path \"{path}\" (a ClusterRole's nonResourceURLs)"
        ));
    }
    let (verb, rest) = denied.split_once(" resource \"")?;
    let (resource, rest) = rest.split_once('"')?;
    let (group, rest) = rest.strip_prefix(" in API group \"")?.split_once('"')?;
    let scope = if let Some(rest) = rest.strip_prefix(" in the namespace \"") {
        format!("in namespace \"{}\"", rest.split('"').next()?)
    } else if rest.starts_with(" at the cluster scope") {
        "cluster-wide (a ClusterRole with a ClusterRoleBinding)".to_string()
    } else {
        return None;
    };
    Some(format!(
        "{verb} on \"{resource}\" (API group \"{group}\") {scope}"
    ))
}

fn not_found_message(
    name: &str,
    namespace: &str,
    existing: &[String],
    elsewhere: &[String],
) -> String {
    let mut message = format!("statefulset \"{name}\" not found in namespace \"{namespace}\"");
    match elsewhere {
        [] => {}
        [other] => {
            message.push_str(&format!(
                "\nIt exists in namespace \"{other}\": add -n {other}."
            ));
            return message;
        }
        several => {
            message.push_str(&format!(
                "\nIt exists in namespaces {}: add -n NAMESPACE.",
                several.join(", ")
            ));
            return message;
        }
    }
    match existing.len() {
        0 => message.push_str(
            "\nThis namespace has no StatefulSets; pick another with -n NAMESPACE, or look everywhere with `kubectl sts status -A`.",
        ),
        1..=8 => message.push_str(&format!(
            "\nStatefulSets in \"{namespace}\": {}",
            existing.join(", ")
        )),
        n => message.push_str(&format!(
            "\n{n} StatefulSets exist in \"{namespace}\"; list them with `kubectl sts status`."
        )),
    }
    message
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::BrokenPipe => EXIT_OK,
            _ => EXIT_FAILED,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::BrokenPipe;
        }
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Translate a kube client error into what the user should read, naming the
    /// server for connection problems.
    pub fn from_kube(err: kube::Error, server_url: &str) -> Self {
        match err {
            kube::Error::Api(status) => Self::from_status(&status, server_url),
            kube::Error::HyperError(e) if is_timeout(&e) => Error::ServerTimedOut {
                url: server_url.to_string(),
            },
            kube::Error::Service(e) if is_timeout(e.as_ref()) => Error::ServerTimedOut {
                url: server_url.to_string(),
            },
            kube::Error::HyperError(e) => Error::Unreachable {
                url: server_url.to_string(),
                reason: root_cause(&e),
            },
            kube::Error::Service(e) => Error::Unreachable {
                url: server_url.to_string(),
                reason: root_cause(e.as_ref()),
            },
            kube::Error::Auth(e) => Error::Unauthorized {
                url: server_url.to_string(),
                message: e.to_string(),
            },
            kube::Error::InferKubeconfig(e) => Error::KubeconfigInvalid(e.to_string()),
            other => Error::Client(root_cause(&other)),
        }
    }

    fn from_status(status: &kube::core::Status, server_url: &str) -> Self {
        match status.code {
            401 => Error::Unauthorized {
                url: server_url.to_string(),
                message: status.message.clone(),
            },
            403 => Error::Forbidden {
                message: status.message.clone(),
            },
            429 | 500 | 502 | 503 | 504 => Error::ServerFailing {
                url: server_url.to_string(),
                code: status.code,
                // A plain-text answer (the throttling filters') has no reason: kube
                // puts a placeholder there; the HTTP reason phrase says more.
                reason: match status.reason.as_str() {
                    "" | "Failed to parse error data" => http::StatusCode::from_u16(status.code)
                        .ok()
                        .and_then(|code| code.canonical_reason())
                        .unwrap_or("Error")
                        .to_string(),
                    reason => reason.to_string(),
                },
                message: status.message.trim().to_string(),
            },
            _ => Error::Api {
                code: status.code,
                reason: if status.reason.is_empty() {
                    "Error".to_string()
                } else {
                    status.reason.clone()
                },
                message: status.message.clone(),
            },
        }
    }

    /// True when the API said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { code: 404, .. })
    }
}

/// A client-side timeout anywhere in the chain (--request-timeout's read or
/// connect timeout), as opposed to a refused or broken connection.
fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
            // An io::Error's source() skips the error it wraps.
            if let Some(inner) = io.get_ref() {
                current = Some(inner as &(dyn std::error::Error + 'static));
                continue;
            }
        }
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// The innermost message of an error chain: "Connection refused (os error 111)"
/// says more to a user than "client error (Connect)".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    let mut messages = vec![current.to_string()];
    while let Some(next) = current.source() {
        messages.push(next.to_string());
        current = next;
    }
    messages
        .into_iter()
        .rev()
        .find(|m| !m.is_empty())
        .unwrap_or_else(|| "unknown error".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_lists_the_statefulsets_that_exist_when_few() {
        let err = Error::StatefulSetNotFound {
            name: "wbe".into(),
            namespace: "default".into(),
            existing: vec!["web".into(), "redis-sts".into()],
            elsewhere: vec![],
        };
        let text = err.to_string();
        assert!(text.starts_with("statefulset \"wbe\" not found in namespace \"default\""));
        assert!(text.contains("web, redis-sts"));
        assert_eq!(err.exit_code(), EXIT_FAILED);
    }

    #[test]
    fn not_found_in_an_empty_namespace_suggests_where_to_look() {
        let err = Error::StatefulSetNotFound {
            name: "web".into(),
            namespace: "prod".into(),
            existing: vec![],
            elsewhere: vec![],
        };
        assert!(err.to_string().contains("-n NAMESPACE"));
    }

    #[test]
    fn not_found_points_at_the_namespace_that_has_it() {
        let err = Error::StatefulSetNotFound {
            name: "cart".into(),
            namespace: "default".into(),
            existing: vec!["web".into()],
            elsewhere: vec!["shop".into()],
        };
        assert!(err.to_string().contains("add -n shop"), "{err}");
        let err = Error::StatefulSetNotFound {
            name: "cart".into(),
            namespace: "default".into(),
            existing: vec![],
            elsewhere: vec!["shop".into(), "staging".into()],
        };
        assert!(
            err.to_string().contains("namespaces shop, staging"),
            "{err}"
        );
    }

    #[test]
    fn server_trouble_names_the_server_the_code_and_what_to_do() {
        let throttled = kube::core::Status::failure(
            "Too many requests, please try again later.\n",
            "Failed to parse error data",
        )
        .with_code(429);
        let text =
            Error::from_kube(kube::Error::Api(throttled.boxed()), "https://x:6443").to_string();
        assert!(
            text.starts_with("the API server at https://x:6443 failed the request with 429 Too Many Requests: Too many requests, please try again later.\n"),
            "{text}"
        );
        assert!(text.contains("try again shortly"), "{text}");
        let unavailable =
            kube::core::Status::failure("etcd is down", "ServiceUnavailable").with_code(503);
        let err = Error::from_kube(kube::Error::Api(unavailable.boxed()), "https://x:6443");
        assert!(
            err.to_string()
                .contains("503 ServiceUnavailable: etcd is down"),
            "{err}"
        );
        assert_eq!(err.exit_code(), EXIT_FAILED);
    }

    #[test]
    fn a_timeout_says_the_server_is_slow_not_gone() {
        let timed_out = kube::Error::Service(Box::new(std::io::Error::other(
            std::io::Error::from(std::io::ErrorKind::TimedOut),
        )));
        let text = Error::from_kube(timed_out, "https://x:6443").to_string();
        assert!(text.contains("did not answer in time"), "{text}");
        assert!(text.contains("--request-timeout"), "{text}");
        let refused = kube::Error::Service(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        let err = Error::from_kube(refused, "https://x:6443");
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    }

    #[test]
    fn usage_errors_exit_2_and_broken_pipes_exit_0() {
        assert_eq!(Error::Usage("bad".into()).exit_code(), EXIT_USAGE);
        let pipe = Error::io(
            "writing",
            std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        );
        assert!(matches!(pipe, Error::BrokenPipe));
        assert_eq!(pipe.exit_code(), EXIT_OK);
    }

    #[test]
    fn forbidden_messages_name_the_missing_permission() {
        assert_eq!(
            missing_permission(
                "pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"db\""
            )
            .as_deref(),
            Some("list on \"pods\" (API group \"\") in namespace \"db\"")
        );
        assert_eq!(
            missing_permission(
                "persistentvolumes is forbidden: User \"jane\" cannot list resource \"persistentvolumes\" in API group \"\" at the cluster scope: RBAC: role.rbac.authorization.k8s.io \"x\" not found"
            )
            .as_deref(),
            Some("list on \"persistentvolumes\" (API group \"\") cluster-wide (a ClusterRole with a ClusterRoleBinding)")
        );
        assert_eq!(
            missing_permission("forbidden: User \"jane\" cannot get path \"/metrics\"").as_deref(),
            Some("get on path \"/metrics\" (a ClusterRole's nonResourceURLs)")
        );
        assert_eq!(missing_permission("pods \"web-0\" is forbidden: "), None);
        let err = Error::Forbidden {
            message: "statefulsets.apps \"web\" is forbidden: User \"u\" cannot patch resource \"statefulsets\" in API group \"apps\" in the namespace \"default\"".into(),
        };
        let text = err.to_string();
        let needed = "Missing permission: patch on \"statefulsets\" (API group \"apps\") in namespace \"default\".";
        assert!(text.contains(needed), "{text}");
        assert!(
            text.contains("Ask your cluster admin for the missing permission"),
            "{text}"
        );
    }

    #[test]
    fn api_statuses_map_to_forbidden_and_unauthorized() {
        let forbidden = kube::core::Status::failure(
            "statefulsets.apps \"web\" is forbidden: User \"u\" cannot patch resource \"statefulsets\" in API group \"apps\" in the namespace \"default\"",
            "Forbidden",
        )
        .with_code(403);
        let err = Error::from_kube(kube::Error::Api(forbidden.boxed()), "http://x");
        assert!(matches!(err, Error::Forbidden { .. }));
        assert!(
            err.to_string()
                .contains("cannot patch resource \"statefulsets\"")
        );

        let unauthorized =
            kube::core::Status::failure("Unauthorized", "Unauthorized").with_code(401);
        let err = Error::from_kube(kube::Error::Api(unauthorized.boxed()), "http://x");
        assert!(err.to_string().contains("http://x"));
    }
}
