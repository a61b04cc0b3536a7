//! `kubectl sts status`: a StatefulSet's identity (governing Service, per-pod
//! hostnames and DNS names, endpoint readiness, storage) and checks for the
//! mistakes people make with StatefulSets.
//!
//! Without NAME it is an overview: one row per set (`SetOverview`: replicas,
//! rollout, Service, checks, `podsRead`), reading pods only of the sets whose
//! own status is not settled; `--details` gives every set's full report.
//!
//! Exit 0 when no check fails (warnings allowed), 1 when one fails; `--strict`
//! fails on warnings too. `-o json|yaml` prints the report: one object for a
//! named set, `{"items": [...]}` of overviews (or, with `--details`, of
//! reports) otherwise, each check with a stable `id`.
//!
//! # Severities, as a demanding SRE reads them
//!
//! **Fail**: the set does not deliver what a StatefulSet promises, or is stuck:
//! - `service-missing`: serviceName names no Service, so no pod has a DNS record.
//! - `service-not-headless`: a ClusterIP (or other) Service gives no per-pod
//!   records; they need `clusterIP: None`.
//! - `service-selector-mismatch`: the Service selects none of the pods, so none
//!   is in its EndpointSlices and no record resolves.
//! - `update-stalled`: an update waits on a pod with evidence it will never be
//!   Ready (crash loop, image pull error, unready restarts, unschedulable,
//!   unready for 5 minutes); it needs a human.
//! - `pod-failing`: the same evidence outside an update: under OrderedReady
//!   nothing above that pod moves.
//! - `storage-class-missing`, `provisioner-not-running`, `claim-pending`: claims
//!   that will not bind keep pods from starting. No API says which provisioners
//!   run, so `provisioner-not-running` rests on the claims' events:
//!   ProvisioningFailed, or ExternalProvisioning for over two minutes with no
//!   `Provisioning` event from the provisioner.
//! - `zero-grace-period`: pods killed without shutdown; the upstream docs call
//!   it unsafe for StatefulSets.
//!
//! **Warn**: works today, bites later:
//! - `partition-left-over` (the next update silently skips the low ordinals),
//!   `partition-holding-update` (kubectl calls the roll-out complete while two
//!   templates run), `on-delete-pending` (pods on an old revision until deleted),
//!   `orphan-claims` (scale-down leftovers that come back with old data),
//!   `no-readiness-probe` under OrderedReady (the ordering protects nothing),
//!   `no-pdb` (a drain can evict several members at once),
//!   `no-default-storage-class`, `service-name-empty`.
//!
//! **Info**: `claims-deleted-with-set` (whenDeleted: Delete), `not-checked`
//! (a list was forbidden, so the checks needing it were skipped).

mod checks;
mod overview;
mod render;
mod report;
mod snapshot;
#[cfg(test)]
mod test_support;

pub use checks::{Check, CheckId, Severity};
pub use overview::SetOverview;
pub use report::{StatusReport, build as build_report};
pub use snapshot::{Related, Snapshot, from_yaml as snapshot_from_yaml};

use serde::Serialize;

use super::Outcome;
use crate::cli::{OutputFormat, StatusArgs};
use crate::context::{Context, NamespaceScope};
use crate::error::{Error, Result};
use crate::inventory::SetScope;
use crate::output;

#[derive(Serialize)]
struct ReportList<'a> {
    items: &'a [StatusReport],
}

#[derive(Serialize)]
struct OverviewList<'a> {
    items: &'a [SetOverview],
}

/// Reports for every set in a snapshot, in namespace/name order.
pub fn reports_for(snapshot: &Snapshot, settings: &report::Settings) -> Vec<StatusReport> {
    let mut reports: Vec<StatusReport> = snapshot
        .inventory
        .statefulsets
        .iter()
        .map(|set| report::build(&Related::gather(set, snapshot), settings))
        .collect();
    reports.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    reports
}

/// Exit status: failed when a check fails, or with `strict` when one warns.
pub fn verdict<'a>(checks: impl IntoIterator<Item = &'a Check>, strict: bool) -> Outcome {
    let failing = |check: &Check| {
        check.severity == Severity::Fail || (strict && check.severity == Severity::Warn)
    };
    if checks.into_iter().any(failing) {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

pub async fn run(context: &Context, args: StatusArgs) -> Result<Outcome> {
    let format = context.output_format(
        "status",
        &[OutputFormat::Table, OutputFormat::Json, OutputFormat::Yaml],
    )?;
    if args.name.is_some() {
        context.reject_all_namespaces("status NAME")?;
    }
    if args.cluster_domain.trim_matches('.').is_empty() {
        return Err(Error::Usage(
            "--cluster-domain must not be empty (the usual one is cluster.local)".to_string(),
        ));
    }
    if args.details && args.name.is_some() {
        return Err(Error::Usage(
            "--details is for the listing of every set: `status NAME` already shows the details"
                .to_string(),
        ));
    }
    let connection = context.connect().await?;
    let scope = match &args.name {
        Some(name) => SetScope::Named(name.clone()),
        None => SetScope::All(connection.scope(context.global.all_namespaces)),
    };
    let snapshot = match &scope {
        SetScope::All(namespaces) if !args.details => {
            snapshot::fetch_overview(&connection, namespaces).await?
        }
        _ => snapshot::fetch(&connection, &scope).await?,
    };
    if snapshot.inventory.statefulsets.is_empty() {
        let place = match &scope {
            SetScope::All(NamespaceScope::All) => "any namespace".to_string(),
            _ => format!("namespace \"{}\"", connection.namespace),
        };
        match format {
            OutputFormat::Json => output::print(&output::to_json(&ReportList { items: &[] })?)?,
            OutputFormat::Yaml => output::print(&output::to_yaml(&ReportList { items: &[] })?)?,
            _ => eprintln!("No StatefulSets found in {place}."),
        }
        return Ok(Outcome::Success);
    }
    let settings = report::Settings {
        cluster_domain: args.cluster_domain.trim_matches('.').to_string(),
        now: jiff::Timestamp::now(),
    };
    if snapshot.examined == snapshot::Examined::Unsettled {
        let sets = overview::overviews(&snapshot, &settings);
        let text = match format {
            OutputFormat::Json => output::to_json(&OverviewList { items: &sets })?,
            OutputFormat::Yaml => output::to_yaml(&OverviewList { items: &sets })?,
            _ => overview::render(&sets, context.global.all_namespaces, context.styling),
        };
        output::print(&text)?;
        return Ok(verdict(
            sets.iter().flat_map(|s| s.checks.iter()),
            args.strict,
        ));
    }
    let reports = reports_for(&snapshot, &settings);
    let text = match (format, &args.name, reports.as_slice()) {
        (OutputFormat::Json, Some(_), [one]) => output::to_json(one)?,
        (OutputFormat::Yaml, Some(_), [one]) => output::to_yaml(one)?,
        (OutputFormat::Json, _, _) => output::to_json(&ReportList { items: &reports })?,
        (OutputFormat::Yaml, _, _) => output::to_yaml(&ReportList { items: &reports })?,
        _ => render::reports(&reports, context.styling),
    };
    output::print(&text)?;
    Ok(verdict(
        reports.iter().flat_map(|r| r.checks.iter()),
        args.strict,
    ))
}
