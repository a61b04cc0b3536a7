//! `kubectl sts history NAME`: ControllerRevisions oldest first, with the pods
//! running each; `--revision N` prints a template, `--diff A B` compares two.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::Outcome;
use crate::cli::{HistoryArgs, OutputFormat};
use crate::context::{Connection, Context};
use crate::error::{Error, Result};
use crate::output::{self, Styled, Tone};
use crate::revisions::{self, RevisionEntry};
use crate::sts;

/// The set's revisions and pods, in two list calls whatever the replica count.
pub async fn fetch_history(
    connection: &Connection,
    set: &StatefulSet,
) -> Result<(Vec<ControllerRevision>, Vec<Pod>)> {
    let namespace = sts::namespace(set);
    let params = match sts::pod_selector(set) {
        Some(selector) => ListParams::default().labels(&selector),
        None => ListParams::default(),
    };
    let revisions: Api<ControllerRevision> = Api::namespaced(connection.client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(connection.client.clone(), namespace);
    let (revisions, pods) = tokio::try_join!(revisions.list(&params), pods.list(&params))
        .map_err(|e| connection.error(e))?;
    Ok((revisions.items, pods.items))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryDocument<'a> {
    api_version: &'static str,
    kind: &'static str,
    namespace: &'a str,
    stateful_set: &'a str,
    revisions: &'a [RevisionEntry],
}

pub async fn run(context: &Context, args: HistoryArgs) -> Result<Outcome> {
    context.reject_all_namespaces("history")?;
    let format = context.output_format(
        "history",
        &[
            OutputFormat::Table,
            OutputFormat::Wide,
            OutputFormat::Json,
            OutputFormat::Yaml,
        ],
    )?;
    let connection = context.connect().await?;
    let set = connection.statefulset(&args.name).await?;
    let (all_revisions, pods) = fetch_history(&connection, &set).await?;
    let owned = revisions::controlled_revisions(&set, &all_revisions);

    let find = |number: i64| {
        owned
            .iter()
            .find(|rev| rev.revision == Some(number))
            .ok_or_else(|| {
                Error::Failed(format!(
                    "statefulset \"{}\" has no revision {number}; list them with `kubectl sts history {}`",
                    args.name, args.name
                ))
            })
    };

    if let Some(number) = args.revision {
        let template = revisions::template_of(find(number)?).map_err(Error::Failed)?;
        let text = match format {
            OutputFormat::Json => output::to_json(&template)?,
            _ => output::to_yaml(&template)?,
        };
        output::print(&text)?;
        return Ok(Outcome::Success);
    }

    if let Some(pair) = &args.diff {
        let (a, b) = (pair[0], pair[1]);
        let from = revisions::template_of(find(a)?).map_err(Error::Failed)?;
        let to = revisions::template_of(find(b)?).map_err(Error::Failed)?;
        let diff = revisions::template_diff(
            &format!("revision {a}"),
            &from,
            &format!("revision {b}"),
            &to,
        )
        .map_err(Error::Failed)?;
        if diff.is_empty() {
            output::print(&format!("revisions {a} and {b} have the same template\n"))?;
        } else {
            output::print(&colour_diff(&diff, context.styling.color))?;
        }
        return Ok(Outcome::Success);
    }

    let entries = revisions::history(&set, &owned, &pods);
    match format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let document = HistoryDocument {
                api_version: "kubectl-sts/v1",
                kind: "RevisionHistory",
                namespace: sts::namespace(&set),
                stateful_set: sts::name(&set),
                revisions: &entries,
            };
            let text = if format == OutputFormat::Json {
                output::to_json(&document)?
            } else {
                output::to_yaml(&document)?
            };
            output::print(&text)?;
        }
        _ => {
            if entries.is_empty() {
                output::print(&format!(
                    "statefulset \"{}\" has no revisions yet (the controller has not observed it)\n",
                    args.name
                ))?;
                return Ok(Outcome::Success);
            }
            let created: Vec<_> = owned
                .iter()
                .map(|rev| output::age(rev.metadata.creation_timestamp.as_ref()))
                .collect();
            output::print(&history_table(
                &entries,
                &created,
                format == OutputFormat::Wide,
                context,
            ))?;
        }
    }
    Ok(Outcome::Success)
}

fn history_table(
    entries: &[RevisionEntry],
    ages: &[String],
    wide: bool,
    context: &Context,
) -> String {
    let mut headers = vec![
        "revision",
        "name",
        "state",
        "age",
        "pods",
        "images",
        "change-cause",
    ];
    if !wide {
        headers.retain(|h| *h != "name");
    }
    let rows: Vec<Vec<Styled>> = entries
        .iter()
        .zip(ages)
        .map(|(entry, age)| {
            let state = match (entry.is_current, entry.is_update) {
                (true, true) => Styled::new("current", Tone::Good),
                (true, false) => Styled::new("current", Tone::Plain),
                (false, true) => Styled::new("update", Tone::Warn),
                (false, false) => Styled::new("", Tone::Plain),
            };
            let pods = if wide || entry.pods.len() <= 4 {
                entry.pods.join(",")
            } else {
                format!("{} ({} pods)", entry.pods[..3].join(","), entry.pods.len())
            };
            let mut row = vec![Styled::from(entry.number.to_string())];
            if wide {
                row.push(Styled::from(entry.name.as_str()));
            }
            row.extend([
                state,
                Styled::from(age.as_str()),
                Styled::from(if pods.is_empty() {
                    "<none>".to_string()
                } else {
                    pods
                }),
                Styled::from(entry.images.join(",")),
                Styled::from(
                    entry
                        .change_cause
                        .clone()
                        .unwrap_or_else(|| "<none>".to_string()),
                ),
            ]);
            row
        })
        .collect();
    output::render_table(&headers, &rows, context.styling)
}

/// Red removals and green additions on a terminal.
pub fn colour_diff(diff: &str, color: bool) -> String {
    use owo_colors::OwoColorize;
    if !color {
        return diff.to_string();
    }
    diff.lines()
        .map(|line| {
            if line.starts_with('+') && !line.starts_with("+++") {
                line.green().to_string()
            } else if line.starts_with('-') && !line.starts_with("---") {
                line.red().to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
