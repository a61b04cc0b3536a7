//! Cluster access from the global flags: kubeconfig loading as kubectl does it
//! (--kubeconfig, else every file in KUBECONFIG merged, else ~/.kube/config,
//! else in-cluster), context/cluster/user overrides, namespace resolution.

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{Error, Result};
use crate::output::Styling;

/// The field manager of every write kubectl-sts makes, so GitOps tools
/// (Argo CD, Flux) can tell our changes from theirs.
pub const FIELD_MANAGER: &str = "kubectl-sts";

/// What every command gets: the global flags and how to present output.
#[derive(Debug, Clone)]
pub struct Context {
    pub global: GlobalArgs,
    pub styling: Styling,
}

/// Which namespaces a listing command looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceScope {
    All,
    One(String),
}

/// A connected client with the namespace the user meant.
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    /// The namespace commands act in (from -n, else the context, else `default`).
    pub namespace: String,
    pub server_url: String,
}

/// -n wins, then the kubeconfig context's namespace, then `default`.
pub fn resolve_namespace(flag: Option<&str>, context_namespace: Option<&str>) -> String {
    flag.filter(|ns| !ns.is_empty())
        .or(context_namespace.filter(|ns| !ns.is_empty()))
        .unwrap_or("default")
        .to_string()
}

impl Context {
    pub fn new(global: GlobalArgs) -> Self {
        let styling = Styling::detect(global.no_color);
        Context { global, styling }
    }

    /// The output format, defaulting to a table, refused when the command does not offer it.
    pub fn output_format(&self, command: &str, supported: &[OutputFormat]) -> Result<OutputFormat> {
        let format = self.global.output.unwrap_or(OutputFormat::Table);
        if supported.contains(&format) {
            Ok(format)
        } else {
            let names: Vec<&str> = supported.iter().map(|f| f.as_str()).collect();
            Err(Error::Usage(format!(
                "`{command}` cannot print -o {}: use one of {}",
                format.as_str(),
                names.join(", ")
            )))
        }
    }

    /// Refuse -A on commands that act on one StatefulSet.
    pub fn reject_all_namespaces(&self, command: &str) -> Result<()> {
        if self.global.all_namespaces {
            return Err(Error::Usage(format!(
                "`{command}` acts on one StatefulSet: -A/--all-namespaces does not apply; use -n NAMESPACE"
            )));
        }
        Ok(())
    }

    /// Load the kubeconfig as kubectl would and connect.
    pub async fn connect(&self) -> Result<Connection> {
        let config = load_config(&self.global).await?;
        let server_url = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let namespace = resolve_namespace(
            self.global.namespace.as_deref(),
            Some(&config.default_namespace),
        );
        // Retries what a flaky server refuses or drops, where repeating is safe.
        let client = crate::retry::client(config).map_err(|e| Error::from_kube(e, &server_url))?;
        Ok(Connection {
            client,
            namespace,
            server_url,
        })
    }
}

impl Connection {
    /// A kube error in the user's terms, naming this server when it is unreachable.
    pub fn error(&self, err: kube::Error) -> Error {
        Error::from_kube(err, &self.server_url)
    }

    /// The namespaces a listing command covers, given -A.
    pub fn scope(&self, all_namespaces: bool) -> NamespaceScope {
        if all_namespaces {
            NamespaceScope::All
        } else {
            NamespaceScope::One(self.namespace.clone())
        }
    }

    /// An `Api` for a namespaced type over the scope.
    pub fn api_in<K>(&self, scope: &NamespaceScope) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        match scope {
            NamespaceScope::All => Api::all(self.client.clone()),
            NamespaceScope::One(ns) => Api::namespaced(self.client.clone(), ns),
        }
    }

    /// Fetch one StatefulSet; when it is missing, say which ones exist.
    pub async fn statefulset(&self, name: &str) -> Result<StatefulSet> {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        match api.get_opt(name).await.map_err(|e| self.error(e))? {
            Some(set) => Ok(set),
            None => {
                let existing = api
                    .list_metadata(&ListParams::default())
                    .await
                    .map(|list| {
                        list.items
                            .into_iter()
                            .filter_map(|m| m.metadata.name)
                            .collect()
                    })
                    .unwrap_or_default();
                Err(Error::StatefulSetNotFound {
                    name: name.to_string(),
                    namespace: self.namespace.clone(),
                    existing,
                    elsewhere: self.namespaces_holding(name).await,
                })
            }
        }
    }
}

impl Connection {
    /// Other namespaces with a StatefulSet of this name, for the "forgot -n"
    /// hint; empty when we may not list across namespaces.
    async fn namespaces_holding(&self, name: &str) -> Vec<String> {
        let api: Api<StatefulSet> = Api::all(self.client.clone());
        let params = ListParams::default().fields(&format!("metadata.name={name}"));
        api.list_metadata(&params)
            .await
            .map(|list| {
                list.items
                    .into_iter()
                    .filter_map(|m| m.metadata.namespace)
                    .filter(|ns| *ns != self.namespace)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn kubeconfig_error(err: KubeconfigError, path: Option<&Path>) -> Error {
    match err {
        KubeconfigError::ReadConfig(io, file) => Error::KubeconfigUnreadable {
            path: file,
            reason: io.to_string(),
        },
        KubeconfigError::Parse(parse) => Error::KubeconfigUnreadable {
            path: kubeconfig_source(path),
            // The parser's first line says where; the rest is a source excerpt.
            reason: format!(
                "not valid kubeconfig YAML: {}",
                first_line(&parse.to_string())
            ),
        },
        KubeconfigError::LoadContext(name) => Error::KubeconfigInvalid(format!(
            "context \"{name}\" is not in the kubeconfig; list contexts with `kubectl config get-contexts`"
        )),
        KubeconfigError::LoadClusterOfContext(name) => Error::KubeconfigInvalid(format!(
            "cluster \"{name}\" is not in the kubeconfig; list clusters with `kubectl config get-clusters`"
        )),
        KubeconfigError::CurrentContextNotSet => Error::KubeconfigInvalid(
            "no current context is set; pass --context NAME or run `kubectl config use-context NAME`".to_string(),
        ),
        other => Error::KubeconfigInvalid(other.to_string()),
    }
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line)
}

/// Where the kubeconfig came from, for messages: the flag, else KUBECONFIG as
/// given (possibly several files), else ~/.kube/config.
fn kubeconfig_source(flag: Option<&Path>) -> PathBuf {
    if let Some(path) = flag {
        return path.to_path_buf();
    }
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(value) => PathBuf::from(value),
        None => default_kubeconfig_path().unwrap_or_else(|| PathBuf::from("~/.kube/config")),
    }
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube").join("config"))
}

/// The kubeconfig the user meant: --kubeconfig, else $KUBECONFIG (several files
/// merged, as kubectl does), else ~/.kube/config; None when there is none.
pub fn read_kubeconfig(flag: Option<&Path>) -> Result<Option<Kubeconfig>> {
    if let Some(path) = flag {
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|e| kubeconfig_error(e, Some(path)));
    }
    if let Some(merged) = Kubeconfig::from_env().map_err(|e| kubeconfig_error(e, None))? {
        return Ok(Some(merged));
    }
    match default_kubeconfig_path() {
        Some(path) if path.exists() => Kubeconfig::read_from(&path)
            .map(Some)
            .map_err(|e| kubeconfig_error(e, Some(&path))),
        _ => Ok(None),
    }
}

/// Problems kube would report vaguely or not at all: an empty file, and a
/// --user that names nobody (client-go then sends no credentials).
fn check_usable(kubeconfig: &Kubeconfig, global: &GlobalArgs) -> Result<()> {
    let file = kubeconfig_source(global.kubeconfig.as_deref())
        .display()
        .to_string();
    if kubeconfig.contexts.is_empty() && kubeconfig.clusters.is_empty() {
        return Err(Error::KubeconfigInvalid(format!(
            "{file} defines no clusters or contexts: point --kubeconfig or KUBECONFIG at your cluster's kubeconfig, or start the built-in sandbox with `kubectl sts sandbox`"
        )));
    }
    if let Some(user) = &global.user
        && !kubeconfig.auth_infos.iter().any(|info| &info.name == user)
    {
        return Err(Error::KubeconfigInvalid(format!(
            "user \"{user}\" is not in the kubeconfig; list users with `kubectl config get-users`"
        )));
    }
    Ok(())
}

/// `kubectl-sts/vVERSION (OS/ARCH)`, in the shape of kubectl's user agent.
fn user_agent() -> String {
    format!(
        "kubectl-sts/v{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

async fn load_config(global: &GlobalArgs) -> Result<kube::Config> {
    let options = KubeConfigOptions {
        context: global.context.clone(),
        cluster: global.cluster.clone(),
        user: global.user.clone(),
    };
    let mut config = match read_kubeconfig(global.kubeconfig.as_deref())? {
        Some(kubeconfig) => {
            check_usable(&kubeconfig, global)?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| kubeconfig_error(e, global.kubeconfig.as_deref()))?
        }
        None => kube::Config::incluster().map_err(|_| Error::NoKubeconfig)?,
    };
    if let Some(timeout) = global.request_timeout.filter(|t| !t.is_zero()) {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    if global.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    // As kubectl does, so audit logs and API priority rules can tell us apart.
    if let Ok(agent) = http::HeaderValue::from_str(&user_agent()) {
        config.headers.push((http::header::USER_AGENT, agent));
    }
    if let Some(user) = &global.impersonate {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !global.impersonate_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(global.impersonate_groups.clone());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_flag_wins_then_context_then_default() {
        assert_eq!(resolve_namespace(Some("prod"), Some("dev")), "prod");
        assert_eq!(resolve_namespace(None, Some("dev")), "dev");
        assert_eq!(resolve_namespace(None, None), "default");
        assert_eq!(resolve_namespace(Some(""), Some("")), "default");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u1
  user: {token: abc}
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: dev-ns}
- name: plain
  context: {cluster: c1, user: u1}
current-context: dev
"#;

    #[tokio::test]
    async fn the_contexts_namespace_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config", TWO_CONTEXTS);
        let global = GlobalArgs {
            kubeconfig: Some(path.clone()),
            ..Default::default()
        };
        let connection = Context::new(global).connect().await.unwrap();
        assert_eq!(connection.namespace, "dev-ns");
        assert_eq!(connection.server_url, "http://127.0.0.1:1");

        let global = GlobalArgs {
            kubeconfig: Some(path.clone()),
            context: Some("plain".into()),
            ..Default::default()
        };
        assert_eq!(
            Context::new(global).connect().await.unwrap().namespace,
            "default"
        );

        let global = GlobalArgs {
            kubeconfig: Some(path),
            namespace: Some("flag-ns".into()),
            ..Default::default()
        };
        assert_eq!(
            Context::new(global).connect().await.unwrap().namespace,
            "flag-ns"
        );
    }

    #[tokio::test]
    async fn a_missing_kubeconfig_or_context_is_named() {
        let global = GlobalArgs {
            kubeconfig: Some(PathBuf::from("/nonexistent/kubeconfig")),
            ..Default::default()
        };
        let err = Context::new(global).connect().await.err().unwrap();
        assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config", TWO_CONTEXTS);
        let global = GlobalArgs {
            kubeconfig: Some(path),
            context: Some("nope".into()),
            ..Default::default()
        };
        let err = Context::new(global).connect().await.err().unwrap();
        assert!(err.to_string().contains("context \"nope\""), "{err}");
    }

    #[test]
    fn output_formats_a_command_does_not_offer_are_usage_errors() {
        let global = GlobalArgs {
            output: Some(OutputFormat::Tree),
            ..Default::default()
        };
        let err = Context::new(global)
            .output_format("status", &[OutputFormat::Table, OutputFormat::Json])
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(err.to_string().contains("-o tree"));
    }
}
