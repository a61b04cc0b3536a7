//! `kubectl sts completion SHELL`, and the dynamic completion behind
//! `kubectl_complete-sts` (`kubectl-sts __complete WORDS...`).

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

use super::Outcome;
use crate::cli::CompletionArgs;
use crate::completion::{
    self, Candidate, Completion, DIRECTIVE_DEFAULT, DIRECTIVE_ERROR, DIRECTIVE_NO_FILE, Lookup,
};
use crate::context::{Context, read_kubeconfig};
use crate::error::{Error, Result};
use crate::output;

/// Completion must feel instant; a slow cluster gets no candidates, not a hang.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

pub fn run(_context: &Context, args: CompletionArgs) -> Result<Outcome> {
    output::print(&completion::script(args.shell))?;
    Ok(Outcome::Success)
}

/// Answer one completion request from kubectl: candidates and a directive on stdout.
pub fn run_dynamic(words: &[String]) -> Result<Outcome> {
    let (typed, completion) = completion::complete(words);
    let text = match completion {
        Completion::Candidates(candidates, directive) => completion::render(&candidates, directive),
        Completion::Files => completion::render(&[], DIRECTIVE_DEFAULT),
        Completion::Lookup {
            lookup,
            prefix,
            partial,
        } => {
            let mut global = typed.global;
            global.request_timeout = Some(LOOKUP_TIMEOUT);
            let context = Context::new(global);
            match look_up(&context, &lookup) {
                Ok(candidates) => {
                    let candidates: Vec<Candidate> = candidates
                        .into_iter()
                        .filter(|c| c.value.starts_with(&partial))
                        .map(|c| Candidate {
                            value: format!("{prefix}{}", c.value),
                            description: c.description,
                        })
                        .collect();
                    completion::render(&candidates, DIRECTIVE_NO_FILE)
                }
                Err(_) => completion::render(&[], DIRECTIVE_ERROR),
            }
        }
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

fn look_up(context: &Context, lookup: &Lookup) -> Result<Vec<Candidate>> {
    if *lookup == Lookup::Contexts {
        let kubeconfig = read_kubeconfig(context.global.kubeconfig.as_deref())?;
        return Ok(kubeconfig
            .map(|k| {
                k.contexts
                    .into_iter()
                    .map(|c| Candidate {
                        value: c.name,
                        description: String::new(),
                    })
                    .collect()
            })
            .unwrap_or_default());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the completion runtime", e))?;
    runtime.block_on(async {
        let connection = context.connect().await?;
        let params = ListParams::default();
        let names: Vec<String> = match lookup {
            Lookup::StatefulSets => {
                let api: Api<StatefulSet> =
                    Api::namespaced(connection.client.clone(), &connection.namespace);
                api.list_metadata(&params)
                    .await
                    .map_err(|e| connection.error(e))?
                    .items
                    .into_iter()
                    .filter_map(|m| m.metadata.name)
                    .collect()
            }
            Lookup::Namespaces => {
                let api: Api<Namespace> = Api::all(connection.client.clone());
                api.list_metadata(&params)
                    .await
                    .map_err(|e| connection.error(e))?
                    .items
                    .into_iter()
                    .filter_map(|m| m.metadata.name)
                    .collect()
            }
            Lookup::Contexts => Vec::new(),
        };
        Ok(names
            .into_iter()
            .map(|value| Candidate {
                value,
                description: String::new(),
            })
            .collect())
    })
}
