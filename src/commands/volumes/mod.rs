//! `kubectl sts volumes`: the pod -> claim -> volume -> storage chain of each
//! StatefulSet, and what is wrong with it.
//!
//! `chain` decides (pure, over an `Inventory`), `render` shows; this file
//! fetches and prints.

pub mod chain;
pub mod render;

use super::Outcome;
use crate::cli::{OutputFormat, VolumesArgs};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::inventory::{Detail, Inventory, Need, SetScope};
use crate::output;

const SUPPORTED: &[OutputFormat] = &[
    OutputFormat::Table,
    OutputFormat::Wide,
    OutputFormat::Json,
    OutputFormat::Yaml,
    OutputFormat::Name,
    OutputFormat::Tree,
];

pub async fn run(context: &Context, args: VolumesArgs) -> Result<Outcome> {
    let format = context.output_format("volumes", SUPPORTED)?;
    let all_namespaces = context.global.all_namespaces;
    if all_namespaces && args.name.is_some() {
        return Err(Error::Usage(
            "a StatefulSet cannot be named across all namespaces: drop NAME or -A/--all-namespaces"
                .to_string(),
        ));
    }
    let connection = context.connect().await?;
    let scope = match args.name {
        Some(name) => SetScope::Named(name),
        None => SetScope::All(connection.scope(all_namespaces)),
    };
    // Classes and claim events only explain unbound claims, except that the
    // wide table names every class's provisioner.
    let detail = if format == OutputFormat::Wide {
        Detail::ALL
    } else {
        Detail {
            volumes: Need::Always,
            storage_classes: Need::WhenClaimsAreUnbound,
            claim_events: Need::WhenClaimsAreUnbound,
        }
    };
    let inventory = Inventory::fetch_with(&connection, &scope, detail).await?;
    let chains = chain::build_chains(&inventory);

    let text = match format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let document = render::document(&chains, forbidden_lists(&inventory));
            if format == OutputFormat::Json {
                output::to_json(&document)?
            } else {
                output::to_yaml(&document)?
            }
        }
        OutputFormat::Name => render::names(&chains),
        OutputFormat::Tree => {
            let mut text = render::tree_text(&render::tree(&chains), context.styling);
            text.push_str(&render::summary_text(
                &render::summary(&chains),
                context.styling,
            ));
            text
        }
        OutputFormat::Table | OutputFormat::Wide => {
            if chains.is_empty() {
                eprintln!(
                    "{}",
                    nothing_found(&inventory, &connection.namespace, all_namespaces)
                );
                return Ok(Outcome::Success);
            }
            let mut text = render::table(
                &chains,
                format == OutputFormat::Wide,
                all_namespaces,
                context.styling,
            );
            text.push_str(&render::summary_text(
                &render::summary(&chains),
                context.styling,
            ));
            text
        }
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}

/// The lists these credentials could not read, by resource name.
fn forbidden_lists(inventory: &Inventory) -> Vec<&'static str> {
    let mut forbidden = Vec::new();
    if inventory.volumes.is_forbidden() {
        forbidden.push("persistentvolumes");
    }
    if inventory.storage_classes.is_forbidden() {
        forbidden.push("storageclasses");
    }
    if inventory.claim_events.is_forbidden() {
        forbidden.push("events");
    }
    forbidden
}

/// What to say instead of an empty table, as kubectl does on stderr.
fn nothing_found(inventory: &Inventory, namespace: &str, all_namespaces: bool) -> String {
    if inventory.statefulsets.is_empty() {
        return if all_namespaces {
            "No StatefulSets found.".to_string()
        } else {
            format!("No StatefulSets found in {namespace} namespace.")
        };
    }
    let names: Vec<&str> = inventory
        .statefulsets
        .iter()
        .map(crate::sts::name)
        .collect();
    format!(
        "No volumeClaimTemplates in {}: their pods keep no per-pod storage.",
        names.join(", ")
    )
}
