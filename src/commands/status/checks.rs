//! The checks `status` runs on one StatefulSet: pure functions over the
//! related objects and the report built so far. Severities are argued in the
//! module documentation of `status`.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use super::report::{RolloutState, StatusReport, age};
use super::snapshot::{self, Related};
use crate::sts;

/// Claims may wait this long for a volume before their wait counts as evidence
/// (dynamic provisioning takes seconds; a few cloud provisioners take a minute).
pub const PENDING_CLAIM_SECONDS: i64 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fail,
    Warn,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fail => "FAIL",
            Severity::Warn => "WARN",
            Severity::Info => "INFO",
        }
    }
}

/// Stable identifiers: scripts match on these, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    ServiceNameEmpty,
    ServiceMissing,
    ServiceNotHeadless,
    ServiceSelectorMismatch,
    PartitionLeftOver,
    PartitionHoldingUpdate,
    UpdateStalled,
    PodFailing,
    OnDeletePending,
    StorageClassMissing,
    NoDefaultStorageClass,
    ProvisionerNotRunning,
    ClaimPending,
    OrphanClaims,
    NoReadinessProbe,
    ZeroGracePeriod,
    NoPdb,
    PdbOverlap,
    PdbBlocksEviction,
    ClaimsDeletedWithSet,
    NotChecked,
}

impl CheckId {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::ServiceNameEmpty => "service-name-empty",
            CheckId::ServiceMissing => "service-missing",
            CheckId::ServiceNotHeadless => "service-not-headless",
            CheckId::ServiceSelectorMismatch => "service-selector-mismatch",
            CheckId::PartitionLeftOver => "partition-left-over",
            CheckId::PartitionHoldingUpdate => "partition-holding-update",
            CheckId::UpdateStalled => "update-stalled",
            CheckId::PodFailing => "pod-failing",
            CheckId::OnDeletePending => "on-delete-pending",
            CheckId::StorageClassMissing => "storage-class-missing",
            CheckId::NoDefaultStorageClass => "no-default-storage-class",
            CheckId::ProvisionerNotRunning => "provisioner-not-running",
            CheckId::ClaimPending => "claim-pending",
            CheckId::OrphanClaims => "orphan-claims",
            CheckId::NoReadinessProbe => "no-readiness-probe",
            CheckId::ZeroGracePeriod => "zero-grace-period",
            CheckId::NoPdb => "no-pdb",
            CheckId::PdbOverlap => "pdb-overlap",
            CheckId::PdbBlocksEviction => "pdb-blocks-eviction",
            CheckId::ClaimsDeletedWithSet => "claims-deleted-with-set",
            CheckId::NotChecked => "not-checked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub id: CheckId,
    pub severity: Severity,
    /// One line: what is wrong, naming the objects.
    pub summary: String,
    /// Why it matters.
    pub explanation: String,
    /// What to do, with commands to copy where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(
    id: CheckId,
    severity: Severity,
    summary: String,
    explanation: String,
    fix: Option<String>,
) -> Check {
    Check {
        id,
        severity,
        summary,
        explanation,
        fix,
    }
}

/// Everything a check may look at.
struct Input<'r, 'a> {
    related: &'r Related<'a>,
    report: &'r StatusReport,
    now: Timestamp,
}

impl Input<'_, '_> {
    fn name(&self) -> &str {
        &self.report.name
    }
    fn namespace(&self) -> &str {
        &self.report.namespace
    }
    /// `kubectl -n NS`, so a fix can be pasted whatever the current context.
    fn kubectl(&self) -> String {
        format!("kubectl -n {}", self.namespace())
    }
}

/// Run every check; failures first, then warnings, then notes.
pub fn run(related: &Related<'_>, report: &StatusReport, now: Timestamp) -> Vec<Check> {
    let input = Input {
        related,
        report,
        now,
    };
    let mut checks = Vec::new();
    checks.extend(governing_service(&input));
    checks.extend(partition(&input));
    checks.extend(stalled(&input));
    checks.extend(on_delete_pending(&input));
    checks.extend(storage_classes(&input));
    checks.extend(pending_claims(&input));
    checks.extend(orphan_claims(&input));
    checks.extend(readiness_probes(&input));
    checks.extend(grace_period(&input));
    checks.extend(disruption_budget(&input));
    checks.extend(retention(&input));
    checks.extend(not_checked(&input));
    checks.sort_by_key(|c| c.severity);
    checks
}

fn governing_service(input: &Input<'_, '_>) -> Vec<Check> {
    let set = input.related.set;
    let ns = input.namespace();
    let name = input.name();
    let labels = snapshot::template_labels(set);
    let selector = set.spec.selector.match_labels.clone().unwrap_or_default();
    let selector_text = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let Some(service_name) = snapshot::service_name(set) else {
        return vec![check(
            CheckId::ServiceNameEmpty,
            Severity::Warn,
            format!("StatefulSet {name} has no serviceName"),
            "Without a governing Service the pods get no DNS records of their own \
             (<pod>.<service>.<namespace>.svc); peers cannot address a particular ordinal."
                .to_string(),
            Some(
                "serviceName cannot be changed after creation: recreate the StatefulSet with \
                 serviceName set (`kubectl delete statefulset --cascade=orphan` keeps the pods and claims) \
                 and a headless Service of that name."
                    .to_string(),
            ),
        )];
    };
    let example_dns = input
        .report
        .identity
        .pods
        .first()
        .and_then(|pod| pod.dns_name.clone())
        .unwrap_or_else(|| format!("{name}-0.{service_name}.{ns}.svc.cluster.local"));
    let Some(service) = input.related.service else {
        let manifest = format!(
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{service_name}"}},"spec":{{"clusterIP":"None","selector":{}}}}}"#,
            serde_json::to_string(&selector).unwrap_or_else(|_| "{}".to_string())
        );
        return vec![check(
            CheckId::ServiceMissing,
            Severity::Fail,
            format!("governing Service \"{service_name}\" does not exist in namespace \"{ns}\""),
            format!(
                "spec.serviceName names the headless Service that creates each pod's DNS record \
                 ({example_dns}); without it the pods have no stable network identity."
            ),
            Some(format!(
                "create it headless, selecting the pods: echo '{manifest}' | {} apply -f -",
                input.kubectl()
            )),
        )];
    };
    let mut checks = Vec::new();
    if !super::report::is_headless(service) {
        let spec = service.spec.clone().unwrap_or_default();
        let service_type = spec.type_.unwrap_or_else(|| "ClusterIP".to_string());
        let what = match (service_type.as_str(), spec.cluster_ip.as_deref()) {
            ("ClusterIP", Some(ip)) => format!("has clusterIP {ip}"),
            ("ClusterIP", None) => "has no clusterIP: None".to_string(),
            (other, _) => format!("is of type {other}"),
        };
        checks.push(check(
            CheckId::ServiceNotHeadless,
            Severity::Fail,
            format!("governing Service \"{service_name}\" is not headless: it {what}"),
            format!(
                "Per-pod DNS records such as {example_dns} exist only when the governing Service \
                 is headless (`clusterIP: None`); this Service gives one load-balanced address, so \
                 clients cannot reach a particular pod."
            ),
            Some(format!(
                "clusterIP cannot be changed in place: `{} delete service {service_name}` and \
                 re-create it with `clusterIP: None` (keep a second, differently named Service if \
                 clients need a load-balanced address).",
                input.kubectl()
            )),
        ));
    }
    if !super::report::service_selects(service, &labels) {
        let current = input
            .report
            .identity
            .service
            .as_ref()
            .and_then(|s| s.selector.clone());
        let summary = match &current {
            Some(current) => format!(
                "Service \"{service_name}\" selector {current} does not select the pods of {name}"
            ),
            None => format!("Service \"{service_name}\" has no selector, so it selects no pods"),
        };
        checks.push(check(
            CheckId::ServiceSelectorMismatch,
            Severity::Fail,
            summary,
            format!(
                "The EndpointSlices of a Service list only the pods its selector selects; pods \
                 left out get no DNS record ({example_dns} will not resolve) and no traffic."
            ),
            Some(format!(
                "{} set selector service {service_name} '{selector_text}'",
                input.kubectl()
            )),
        ));
    }
    checks
}

fn partition_patch(input: &Input<'_, '_>) -> String {
    format!(
        r#"{} patch statefulset {} -p '{{"spec":{{"updateStrategy":{{"rollingUpdate":{{"partition":0}}}}}}}}'"#,
        input.kubectl(),
        input.name()
    )
}

fn partition(input: &Input<'_, '_>) -> Vec<Check> {
    let report = input.report;
    let set = input.related.set;
    let Some(partition) = report.update.partition.filter(|p| *p > 0) else {
        return Vec::new();
    };
    let status = set.status.clone().unwrap_or_default();
    if set.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Vec::new();
    }
    let name = input.name();
    let start = sts::ordinal_start(set);
    let held: Vec<String> = (start..(start + partition).min(sts::ordinals(set).end))
        .map(|ordinal| sts::pod_name(name, ordinal))
        .collect();
    let held_text = if held.is_empty() {
        "every pod".to_string()
    } else {
        held.join(", ")
    };
    let update = &report.update;
    let no_update_pending =
        update.current_revision.is_some() && update.current_revision == update.update_revision;
    if no_update_pending {
        return vec![check(
            CheckId::PartitionLeftOver,
            Severity::Warn,
            format!("partition is {partition} but no update is pending"),
            format!(
                "A left-over partition (a canary that was never finished, or a tool that died) \
                 makes the next template change replace only ordinals {partition} and up: {held_text} \
                 will keep the old template while `kubectl rollout status` reports the roll-out complete."
            ),
            Some(partition_patch(input)),
        )];
    }
    if report.update.rollout.state == RolloutState::Complete {
        let old_revision = update.current_revision.as_deref().unwrap_or("?");
        return vec![check(
            CheckId::PartitionHoldingUpdate,
            Severity::Warn,
            format!(
                "partition {partition} holds {held_text} on revision {old_revision}; only higher ordinals run {}",
                update.update_revision.as_deref().unwrap_or("?")
            ),
            "`kubectl rollout status` calls this roll-out complete, but the set runs two \
             templates until the partition comes down."
                .to_string(),
            Some(format!(
                "finish the update: {}; or revert it: kubectl sts undo {name} -n {}",
                partition_patch(input),
                input.namespace()
            )),
        )];
    }
    Vec::new()
}

fn stalled(input: &Input<'_, '_>) -> Vec<Check> {
    let rollout = &input.report.update.rollout;
    if rollout.state != RolloutState::Stalled {
        return Vec::new();
    }
    let pod = rollout.pod.clone().unwrap_or_default();
    let reason = rollout.reason.clone().unwrap_or_default();
    // A pod waiting for its own Pending claims is the storage checks' story.
    let waits_for_claims = input.report.storage.claims.iter().any(|claim| {
        Some(claim.ordinal) == rollout.ordinal && claim.phase.as_deref() == Some("Pending")
    });
    if waits_for_claims {
        return Vec::new();
    }
    let update = &input.report.update;
    let update_pending = update.current_revision != update.update_revision;
    let policy = input.report.pod_management_policy.as_str();
    let kubectl = input.kubectl();
    if update_pending {
        let revision = update.update_revision.as_deref().unwrap_or("?");
        return vec![check(
            CheckId::UpdateStalled,
            Severity::Fail,
            format!("update to {revision} is stalled on {pod}: {reason}"),
            format!(
                "The controller replaces the next pod only once {pod} is Ready, and it will not \
                 become Ready. Reverting the template alone does not help: a pod stuck on a broken \
                 revision is not replaced until it is deleted (kubernetes/kubernetes#67250)."
            ),
            Some(format!(
                "roll back with `kubectl sts undo {} -n {}` (or fix the template), then \
                 `{kubectl} delete pod {pod}` so it is recreated; see why with \
                 `{kubectl} logs {pod} --previous` and `{kubectl} describe pod {pod}`",
                input.name(),
                input.namespace()
            )),
        )];
    }
    let consequence = if policy == "OrderedReady" {
        "Under OrderedReady no higher ordinal is created, updated or removed until it is Ready."
    } else {
        "Scaling and updates wait for it to be Ready."
    };
    vec![check(
        CheckId::PodFailing,
        Severity::Fail,
        format!("{pod} is not becoming Ready: {reason}"),
        consequence.to_string(),
        Some(format!(
            "see why with `{kubectl} logs {pod} --previous` and `{kubectl} describe pod {pod}`"
        )),
    )]
}

fn on_delete_pending(input: &Input<'_, '_>) -> Vec<Check> {
    let update = &input.report.update;
    if update.strategy != "OnDelete" || update.update_revision.is_none() {
        return Vec::new();
    }
    let old: Vec<&str> = input
        .report
        .identity
        .pods
        .iter()
        .filter(|pod| pod.exists && !pod.condemned && pod.revision != update.update_revision)
        .map(|pod| pod.pod.as_str())
        .collect();
    let Some(highest) = old.last() else {
        return Vec::new();
    };
    vec![check(
        CheckId::OnDeletePending,
        Severity::Warn,
        format!(
            "{} pods still run an older revision than {}: {}",
            old.len(),
            update.update_revision.as_deref().unwrap_or("?"),
            old.join(", ")
        ),
        "With updateStrategy OnDelete the controller replaces a pod only when someone deletes \
         it, so the new template is not running there."
            .to_string(),
        Some(format!(
            "delete them one at a time from the highest ordinal, waiting for each to be Ready \
             (`{} delete pod {highest}`), or let `kubectl sts canary {} --on-delete` do it",
            input.kubectl(),
            input.name()
        )),
    )]
}

fn storage_classes(input: &Input<'_, '_>) -> Vec<Check> {
    let Some(classes) = input.related.storage_classes else {
        return Vec::new();
    };
    let names: Vec<&str> = classes
        .iter()
        .filter_map(|c| c.metadata.name.as_deref())
        .collect();
    let available = if names.is_empty() {
        "the cluster has none".to_string()
    } else {
        format!("classes that exist: {}", names.join(", "))
    };
    let mut checks = Vec::new();
    for template in &input.report.storage.templates {
        match (&template.storage_class, template.class_exists) {
            (Some(class), Some(false)) => checks.push(check(
                CheckId::StorageClassMissing,
                Severity::Fail,
                format!(
                    "volumeClaimTemplate {} asks for StorageClass \"{class}\", which does not exist",
                    template.name
                ),
                format!(
                    "Its claims ({}-{}-N) stay Pending (ProvisioningFailed: storageclass.storage.k8s.io \
                     \"{class}\" not found) and their pods never start.",
                    template.name,
                    input.name()
                ),
                Some(format!(
                    "create StorageClass {class} ({available}); volumeClaimTemplates cannot be \
                     changed, so to use another class recreate the StatefulSet \
                     (`{} delete statefulset {} --cascade=orphan`, edit, apply) and delete the Pending claims",
                    input.kubectl(),
                    input.name()
                )),
            )),
            (None, _) if template.effective_class.is_none() => checks.push(check(
                CheckId::NoDefaultStorageClass,
                Severity::Warn,
                format!(
                    "volumeClaimTemplate {} names no StorageClass and the cluster has no default one",
                    template.name
                ),
                "Its claims can only bind to pre-created PersistentVolumes without a class; with \
                 none available they stay Pending."
                    .to_string(),
                Some(format!(
                    "mark a class as default (`kubectl annotate storageclass NAME \
                     storageclass.kubernetes.io/is-default-class=true`; {available}) or create \
                     matching PersistentVolumes"
                )),
            )),
            _ => {}
        }
    }
    // Claims made by hand (or from an older template) can name a class too.
    let mut by_class: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for claim in pending_claims_of(input) {
        let class = claim_class(claim);
        let from_template = input
            .report
            .storage
            .templates
            .iter()
            .any(|t| t.effective_class.as_deref() == Some(class));
        if !from_template && class_is_missing(input, class) {
            let name = claim.metadata.name.as_deref().unwrap_or_default();
            by_class.entry(class).or_default().push(name);
        }
    }
    for (class, claims) in by_class {
        let pods: Vec<String> = claims
            .iter()
            .filter_map(|claim| {
                let (_, ordinal) = input
                    .related
                    .claims
                    .iter()
                    .find(|(_, _, c)| c.metadata.name.as_deref() == Some(claim))
                    .map(|(template, ordinal, _)| (template, *ordinal))?;
                Some(sts::pod_name(input.name(), ordinal))
            })
            .collect();
        checks.push(check(
            CheckId::StorageClassMissing,
            Severity::Fail,
            format!(
                "claim {} asks for StorageClass \"{class}\", which does not exist",
                claims.join(", ")
            ),
            format!(
                "Made outside the volumeClaimTemplates (by hand, or restored), it stays Pending \
                 (ProvisioningFailed: storageclass.storage.k8s.io \"{class}\" not found) and {} \
                 never starts.",
                pods.join(", ")
            ),
            Some(format!(
                "create StorageClass {class} ({available}), or delete the claim and its pod so \
                 the StatefulSet makes both again from its template: `{} delete pvc {} --wait=false \
                 && {} delete pod {}`",
                input.kubectl(),
                claims.join(" "),
                input.kubectl(),
                pods.join(" ")
            )),
        ));
    }
    checks
}

/// The set's Pending claims that are not being deleted.
fn pending_claims_of<'a>(
    input: &'a Input<'_, '_>,
) -> impl Iterator<Item = &'a PersistentVolumeClaim> + 'a {
    input
        .related
        .claims
        .iter()
        .map(|(_, _, claim)| *claim)
        .filter(|claim| {
            claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
                && claim.metadata.deletion_timestamp.is_none()
        })
}

fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or_default()
}

/// A class named but absent from the classes listed (unknown if they could not be).
fn class_is_missing(input: &Input<'_, '_>, class: &str) -> bool {
    !class.is_empty()
        && input.related.storage_classes.is_some_and(|classes| {
            !classes
                .iter()
                .any(|c| c.metadata.name.as_deref() == Some(class))
        })
}

fn event_time(event: &Event) -> i64 {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .map(|t| t.as_second())
        .unwrap_or(0)
}

/// Pending claims of the set and what their events say. Evidence of a
/// provisioner that is not running (which no API tells us directly): the claim
/// has ExternalProvisioning events, the provisioner never announced
/// "Provisioning", and it has waited over [`PENDING_CLAIM_SECONDS`]; or a
/// ProvisioningFailed event. Other long-Pending claims get `claim-pending`.
fn pending_claims(input: &Input<'_, '_>) -> Vec<Check> {
    let related = input.related;
    let events = related.claim_events.clone().unwrap_or_default();
    let mut by_class: std::collections::BTreeMap<String, (String, Vec<String>, String)> =
        Default::default();
    let mut other_pending: Vec<(String, String)> = Vec::new();
    for claim in pending_claims_of(input) {
        let name = claim.metadata.name.clone().unwrap_or_default();
        let class = claim_class(claim).to_string();
        // A class that does not exist is the storage-class checks' story.
        if class_is_missing(input, &class) {
            continue;
        }
        let waited = claim
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| input.now.as_second() - t.0.as_second())
            .unwrap_or(0);
        let mut own: Vec<&Event> = events
            .iter()
            .copied()
            .filter(|e| e.involved_object.name.as_deref() == Some(name.as_str()))
            .collect();
        own.sort_by_key(|e| event_time(e));
        let has = |reason: &str| own.iter().any(|e| e.reason.as_deref() == Some(reason));
        let failed = own
            .iter()
            .rev()
            .find(|e| e.reason.as_deref() == Some("ProvisioningFailed"));
        let external = own
            .iter()
            .rev()
            .find(|e| e.reason.as_deref() == Some("ExternalProvisioning"));
        let latest_message = |e: &&Event| {
            format!(
                "{}: {}",
                e.reason.as_deref().unwrap_or_default(),
                e.message.as_deref().unwrap_or_default()
            )
        };
        let evidence = match (failed, external) {
            (Some(event), _) => Some(latest_message(event)),
            (None, Some(event))
                if waited >= PENDING_CLAIM_SECONDS
                    && !has("Provisioning")
                    && !has("ProvisioningSucceeded") =>
            {
                Some(format!(
                    "Pending for {}; {}",
                    age(waited),
                    latest_message(event)
                ))
            }
            _ => None,
        };
        let waiting_for_consumer = own
            .last()
            .is_some_and(|e| e.reason.as_deref() == Some("WaitForFirstConsumer"));
        if let Some(evidence) = evidence {
            let provisioner = input
                .report
                .storage
                .templates
                .iter()
                .find(|t| t.effective_class.as_deref() == Some(class.as_str()))
                .and_then(|t| t.provisioner.clone())
                .unwrap_or_else(|| "its provisioner".to_string());
            let entry = by_class
                .entry(class.clone())
                .or_insert_with(|| (provisioner, Vec::new(), evidence));
            entry.1.push(name);
        } else if waited >= PENDING_CLAIM_SECONDS && !waiting_for_consumer {
            let why = own
                .last()
                .map(latest_message)
                .unwrap_or_else(|| "no events".to_string());
            other_pending.push((name, format!("Pending for {}; {why}", age(waited))));
        }
    }
    let mut checks: Vec<Check> = by_class
        .into_iter()
        .map(|(class, (provisioner, claims, evidence))| {
            check(
                CheckId::ProvisionerNotRunning,
                Severity::Fail,
                format!(
                    "StorageClass \"{class}\": provisioner {provisioner} is not provisioning ({} Pending: {})",
                    claims.len(),
                    claims.join(", ")
                ),
                format!(
                    "Which provisioners run cannot be read from the API; the evidence is the claims' \
                     events ({evidence}). Pods wait for their claims and never start."
                ),
                Some(format!(
                    "check that {provisioner} is deployed and running (`kubectl get pods -A | grep -i provisioner`, \
                     its logs), or use a class whose provisioner runs (`kubectl get storageclass`)"
                )),
            )
        })
        .collect();
    if !other_pending.is_empty() {
        let names: Vec<&str> = other_pending.iter().map(|(n, _)| n.as_str()).collect();
        checks.push(check(
            CheckId::ClaimPending,
            Severity::Fail,
            format!("claims Pending: {}", names.join(", ")),
            format!(
                "A pod starts only once its claims are Bound. {}",
                other_pending
                    .iter()
                    .map(|(n, why)| format!("{n}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Some(format!(
                "`{} describe pvc {}` shows what the binder is waiting for (a PersistentVolume \
                 matching class, size and access modes, or a provisioner)",
                input.kubectl(),
                names[0]
            )),
        ));
    }
    checks
}

fn orphan_claims(input: &Input<'_, '_>) -> Vec<Check> {
    let orphans: Vec<&str> = input
        .report
        .storage
        .claims
        .iter()
        .filter(|claim| claim.orphaned)
        .filter(|claim| {
            // Claims already being deleted are on their way out.
            !input.related.claims.iter().any(|(_, _, c)| {
                c.metadata.name.as_deref() == Some(claim.name.as_str())
                    && c.metadata.deletion_timestamp.is_some()
            })
        })
        // A pod above the range still uses its claim while it is scaled away.
        .filter(|claim| {
            !input
                .report
                .identity
                .pods
                .iter()
                .any(|pod| pod.exists && pod.ordinal == claim.ordinal)
        })
        .map(|claim| claim.name.as_str())
        .collect();
    if orphans.is_empty() {
        return Vec::new();
    }
    vec![check(
        CheckId::OrphanClaims,
        Severity::Warn,
        format!(
            "claims left beyond the {} desired replicas: {}",
            input.report.replicas.desired,
            orphans.join(", ")
        ),
        format!(
            "Left by a scale-down (whenScaled: {}): they keep their volumes (and cost), and a later \
             scale-up reattaches them with their old data.",
            input.report.retention_policy.when_scaled
        ),
        Some(format!(
            "if the data is not needed: `{} delete pvc {}`; to have scale-down delete claims, set \
             spec.persistentVolumeClaimRetentionPolicy.whenScaled: Delete",
            input.kubectl(),
            orphans.join(" ")
        )),
    )]
}

fn readiness_probes(input: &Input<'_, '_>) -> Vec<Check> {
    if input.report.pod_management_policy != "OrderedReady" {
        return Vec::new();
    }
    let without: Vec<&str> = input
        .related
        .set
        .spec
        .template
        .spec
        .iter()
        .flat_map(|spec| spec.containers.iter())
        .filter(|container| container.readiness_probe.is_none())
        .map(|container| container.name.as_str())
        .collect();
    if without.is_empty() {
        return Vec::new();
    }
    vec![check(
        CheckId::NoReadinessProbe,
        Severity::Warn,
        format!("no readiness probe on container {}", without.join(", ")),
        "OrderedReady starts (and rolling updates replace) the next pod once this one is Ready; \
         without a probe a pod is Ready as soon as its containers start, before the application \
         serves, so the ordering protects nothing."
            .to_string(),
        Some(
            "add a readinessProbe that passes only when the instance can serve (and has joined its peers)"
                .to_string(),
        ),
    )]
}

fn grace_period(input: &Input<'_, '_>) -> Vec<Check> {
    let grace = input
        .related
        .set
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|spec| spec.termination_grace_period_seconds);
    if grace != Some(0) {
        return Vec::new();
    }
    vec![check(
        CheckId::ZeroGracePeriod,
        Severity::Fail,
        "terminationGracePeriodSeconds is 0".to_string(),
        "Pods are killed without a chance to flush data or leave their cluster; the Kubernetes \
         StatefulSet documentation calls this unsafe and strongly discouraged."
            .to_string(),
        Some(format!(
            r#"{} patch statefulset {} -p '{{"spec":{{"template":{{"spec":{{"terminationGracePeriodSeconds":30}}}}}}}}' (this rolls the pods)"#,
            input.kubectl(),
            input.name()
        )),
    )]
}

fn disruption_budget(input: &Input<'_, '_>) -> Vec<Check> {
    let Some(budgets) = &input.related.pod_disruption_budgets else {
        return Vec::new();
    };
    match budgets.as_slice() {
        [] => {
            let selector = sts::selector_string(&input.related.set.spec.selector);
            vec![check(
                CheckId::NoPdb,
                Severity::Warn,
                "no PodDisruptionBudget covers the pods".to_string(),
                "A node drain may evict several members at once and take the application below \
                 quorum; a budget makes evictions wait."
                    .to_string(),
                Some(format!(
                    "{} create poddisruptionbudget {} --selector='{selector}' --max-unavailable=1",
                    input.kubectl(),
                    input.name()
                )),
            )]
        }
        [budget] => budget_blocking_eviction(input, budget)
            .into_iter()
            .collect(),
        several => {
            let names: Vec<&str> = several
                .iter()
                .map(|b| b.metadata.name.as_deref().unwrap_or_default())
                .collect();
            vec![check(
                CheckId::PdbOverlap,
                Severity::Warn,
                format!(
                    "{} PodDisruptionBudgets cover the pods: {}",
                    names.len(),
                    names.join(", ")
                ),
                "The eviction API refuses any pod covered by more than one budget (\"This pod has \
                 more than one PodDisruptionBudget, which the eviction subresource does not \
                 support.\"), so `kubectl drain` and cluster upgrades cannot move these pods at all."
                    .to_string(),
                Some(format!(
                    "keep one budget and delete the others: {} delete poddisruptionbudget {}",
                    input.kubectl(),
                    names[1..].join(" ")
                )),
            )]
        }
    }
}

/// The disruptions a budget allows with every desired replica Ready, as
/// the disruption controller works it out (percentages of the set's scale,
/// rounded up); `None` for a budget with neither field or a bad percentage.
fn disruptions_allowed_when_healthy(budget: &PodDisruptionBudget, replicas: i32) -> Option<i32> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let scaled = |value: &IntOrString| match value {
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(text) => {
            let percent: i32 = text.strip_suffix('%')?.parse().ok()?;
            Some((percent * replicas + 99).div_euclid(100))
        }
    };
    let spec = budget.spec.as_ref()?;
    let allowed = match (&spec.max_unavailable, &spec.min_available) {
        (Some(max_unavailable), _) => scaled(max_unavailable)?.min(replicas),
        (None, Some(min_available)) => replicas - scaled(min_available)?,
        (None, None) => return None,
    };
    Some(allowed.max(0))
}

/// A budget that refuses every eviction even when all replicas are Ready.
fn budget_blocking_eviction(input: &Input<'_, '_>, budget: &PodDisruptionBudget) -> Option<Check> {
    let replicas = input.related.set.spec.replicas.unwrap_or(1);
    if replicas == 0 || disruptions_allowed_when_healthy(budget, replicas)? > 0 {
        return None;
    }
    let name = budget.metadata.name.as_deref().unwrap_or_default();
    let rule = &input
        .report
        .disruption_budgets
        .iter()
        .flatten()
        .find(|summary| summary.name == name)?
        .rule;
    Some(check(
        CheckId::PdbBlocksEviction,
        Severity::Warn,
        format!(
            "PodDisruptionBudget {name} allows no eviction even with all {replicas} replicas Ready ({rule})"
        ),
        "Draining a node that runs one of these pods waits until it times out (`kubectl drain` \
         retries the refused evictions), so node maintenance and cluster upgrades stall."
            .to_string(),
        Some(format!(
            r#"{} patch poddisruptionbudget {name} --type=merge -p '{{"spec":{{"minAvailable":null,"maxUnavailable":1}}}}'"#,
            input.kubectl()
        )),
    ))
}

fn retention(input: &Input<'_, '_>) -> Vec<Check> {
    if input.report.retention_policy.when_deleted != "Delete" {
        return Vec::new();
    }
    vec![check(
        CheckId::ClaimsDeletedWithSet,
        Severity::Info,
        "deleting the StatefulSet deletes its claims (whenDeleted: Delete)".to_string(),
        "The claims are owned by the StatefulSet; with reclaim policy Delete their volumes and \
         data go too."
            .to_string(),
        None,
    )]
}

fn not_checked(input: &Input<'_, '_>) -> Vec<Check> {
    let related = input.related;
    let mut skipped = Vec::new();
    if related.endpoint_slices.is_none() {
        skipped.push("endpoint readiness (endpointslices)");
    }
    if related.pod_disruption_budgets.is_none() {
        skipped.push("disruption budgets (poddisruptionbudgets)");
    }
    if related.storage_classes.is_none() {
        skipped.push("storage classes (storageclasses)");
    }
    if related.claim_events.is_none() {
        skipped.push("provisioning evidence (events)");
    }
    if skipped.is_empty() {
        return Vec::new();
    }
    vec![check(
        CheckId::NotChecked,
        Severity::Info,
        format!("not checked, listing forbidden: {}", skipped.join(", ")),
        "Your credentials may not list these; the checks that need them were skipped.".to_string(),
        Some("ask for list permission on them (see the RBAC section of the README)".to_string()),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Outcome;
    use crate::commands::status::test_support::*;
    use crate::commands::status::verdict;
    use crate::inventory::Listing;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;

    #[test]
    fn a_healthy_set_passes_every_check() {
        let report = report_of(&fixture("web.yaml"));
        assert_eq!(ids(&report), Vec::<&str>::new());
        assert_eq!(verdict(&report.checks, true), Outcome::Success);
    }

    #[test]
    fn a_cluster_ip_governing_service_fails_naming_it_and_the_fix() {
        let report = report_of(&fixture("redis.yaml"));
        let check = find(&report, CheckId::ServiceNotHeadless);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.summary.contains("\"redis-svc\""), "{}", check.summary);
        assert!(check.summary.contains("10.96.0.20"), "{}", check.summary);
        assert!(check.explanation.contains("clusterIP: None"));
        assert!(
            check
                .explanation
                .contains("redis-sts-0.redis-svc.default.svc.cluster.local")
        );
        assert!(
            check
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("delete service redis-svc")
        );
        // The rest of the example's mistakes are warnings.
        assert_eq!(
            find(&report, CheckId::NoReadinessProbe).severity,
            Severity::Warn
        );
        assert_eq!(find(&report, CheckId::NoPdb).severity, Severity::Warn);
        assert_eq!(
            report.checks[0].id,
            CheckId::ServiceNotHeadless,
            "failures first"
        );
        assert_eq!(verdict(&report.checks, false), Outcome::Failed);
    }

    #[test]
    fn a_service_name_pointing_nowhere_fails_with_a_headless_service_to_create() {
        let mut snapshot = fixture("web.yaml");
        snapshot.identity.services.clear();
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::ServiceMissing);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.summary.contains("\"headless-svc\""));
        let fix = check.fix.as_deref().unwrap_or_default();
        assert!(fix.contains(r#""clusterIP":"None""#), "{fix}");
        assert!(fix.contains(r#""selector":{"app":"nginx"}"#), "{fix}");
        assert!(fix.contains("kubectl -n default apply -f -"), "{fix}");
        assert!(
            report
                .identity
                .pods
                .iter()
                .all(|p| p.endpoint == crate::commands::status::report::EndpointState::Unknown)
        );
    }

    #[test]
    fn a_selector_that_misses_the_pods_fails_with_the_selector_to_set() {
        let mut snapshot = fixture("web.yaml");
        let spec = snapshot.identity.services[0].spec.as_mut().unwrap();
        spec.selector = Some([("app".to_string(), "nginx-v1".to_string())].into());
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::ServiceSelectorMismatch);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.summary.contains("app=nginx-v1"), "{}", check.summary);
        assert_eq!(
            check.fix.as_deref(),
            Some("kubectl -n default set selector service headless-svc 'app=nginx'")
        );

        let spec = snapshot.identity.services[0].spec.as_mut().unwrap();
        spec.selector = None;
        let report = report_of(&snapshot);
        assert!(
            find(&report, CheckId::ServiceSelectorMismatch)
                .summary
                .contains("has no selector")
        );
    }

    #[test]
    fn an_empty_service_name_warns() {
        let mut snapshot = fixture("web.yaml");
        set_mut(&mut snapshot).spec.service_name = None;
        let report = report_of(&snapshot);
        assert_eq!(ids(&report), ["service-name-empty"]);
        assert_eq!(report.identity.pods[0].dns_name, None);
        assert_eq!(verdict(&report.checks, false), Outcome::Success);
        assert_eq!(verdict(&report.checks, true), Outcome::Failed);
    }

    fn set_partition(snapshot: &mut crate::commands::status::Snapshot, partition: i32) {
        let set = set_mut(snapshot);
        set.spec.update_strategy = serde_saphyr::from_str(&format!(
            "{{type: RollingUpdate, rollingUpdate: {{partition: {partition}}}}}"
        ))
        .ok();
    }

    #[test]
    fn a_partition_left_after_a_completed_update_warns_with_the_patch_to_clear_it() {
        let mut snapshot = fixture("web.yaml");
        set_partition(&mut snapshot, 2);
        let report = report_of(&snapshot);
        assert_eq!(ids(&report), ["partition-left-over"]);
        let check = &report.checks[0];
        assert_eq!(check.severity, Severity::Warn);
        assert!(check.summary.contains("partition is 2"));
        assert!(
            check.explanation.contains("web-0, web-1"),
            "{}",
            check.explanation
        );
        assert_eq!(
            check.fix.as_deref(),
            Some(
                r#"kubectl -n default patch statefulset web -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'"#
            )
        );
        assert_eq!(verdict(&report.checks, false), Outcome::Success);
        assert_eq!(verdict(&report.checks, true), Outcome::Failed);
    }

    #[test]
    fn a_partition_holding_back_an_update_kubectl_calls_complete_warns() {
        let mut snapshot = fixture("crash-stalled.yaml");
        // web-2 came up fine on the new revision; partition 2 holds the rest.
        let ready = snapshot.inventory.pods[0].status.clone();
        snapshot.inventory.pods[2].status = ready;
        set_partition(&mut snapshot, 2);
        if let Some(status) = set_mut(&mut snapshot).status.as_mut() {
            status.ready_replicas = Some(3);
        }
        let report = report_of(&snapshot);
        assert_eq!(
            report.update.rollout.state,
            crate::commands::status::report::RolloutState::Complete
        );
        let check = find(&report, CheckId::PartitionHoldingUpdate);
        assert_eq!(check.severity, Severity::Warn);
        assert!(
            check.summary.contains("web-0, web-1 on revision web-5d8f"),
            "{}",
            check.summary
        );
        assert!(
            check
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("kubectl sts undo web")
        );
        assert!(!ids(&report).contains(&"partition-left-over"));
    }

    #[test]
    fn an_update_stuck_on_a_crashing_pod_fails_and_says_to_undo_and_delete_it() {
        let report = report_of(&fixture("crash-stalled.yaml"));
        let check = find(&report, CheckId::UpdateStalled);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.summary.contains("web-7c9b"), "{}", check.summary);
        assert!(check.summary.contains("web-2"), "{}", check.summary);
        assert!(
            check.summary.contains("CrashLoopBackOff"),
            "{}",
            check.summary
        );
        let fix = check.fix.as_deref().unwrap_or_default();
        assert!(fix.contains("kubectl sts undo web -n default"), "{fix}");
        assert!(fix.contains("kubectl -n default delete pod web-2"), "{fix}");
        assert!(check.explanation.contains("67250"));
    }

    #[test]
    fn a_failing_pod_outside_an_update_fails_as_pod_failing() {
        let mut snapshot = fixture("crash-stalled.yaml");
        if let Some(status) = set_mut(&mut snapshot).status.as_mut() {
            status.current_revision = status.update_revision.clone();
        }
        let report = report_of(&snapshot);
        assert!(!ids(&report).contains(&"update-stalled"));
        let check = find(&report, CheckId::PodFailing);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.explanation.contains("OrderedReady"));
    }

    #[test]
    fn on_delete_with_pods_on_an_old_revision_warns() {
        let mut snapshot = fixture("web.yaml");
        let set = set_mut(&mut snapshot);
        set.spec.update_strategy = serde_saphyr::from_str("{type: OnDelete}").ok();
        if let Some(status) = set.status.as_mut() {
            status.update_revision = Some("web-9a9a".into());
        }
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::OnDeletePending);
        assert_eq!(check.severity, Severity::Warn);
        assert!(check.summary.contains("web-0, web-1, web-2"));
        assert!(
            check
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("delete pod web-2")
        );
    }

    #[test]
    fn a_storage_class_that_does_not_exist_fails_listing_the_ones_that_do() {
        let mut snapshot = fixture("web.yaml");
        let set = set_mut(&mut snapshot);
        let template = &mut set.spec.volume_claim_templates.as_mut().unwrap()[0];
        template.spec.as_mut().unwrap().storage_class_name = Some("nfs".into());
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::StorageClassMissing);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.summary.contains("\"nfs\""));
        assert!(
            check
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("classes that exist: managed-nfs-storage, standard")
        );
    }

    #[test]
    fn a_template_without_class_and_no_default_class_warns() {
        let mut snapshot = fixture("web.yaml");
        let set = set_mut(&mut snapshot);
        let template = &mut set.spec.volume_claim_templates.as_mut().unwrap()[0];
        template.spec.as_mut().unwrap().storage_class_name = None;
        assert_eq!(
            report_of(&snapshot).storage.templates[0]
                .effective_class
                .as_deref(),
            Some("standard")
        );
        snapshot.inventory.storage_classes = Listing::Listed(
            snapshot
                .inventory
                .storage_classes
                .items()
                .iter()
                .filter(|c| c.metadata.name.as_deref() != Some("standard"))
                .cloned()
                .collect(),
        );
        let report = report_of(&snapshot);
        assert_eq!(
            find(&report, CheckId::NoDefaultStorageClass).severity,
            Severity::Warn
        );
    }

    #[test]
    fn claims_waiting_on_an_absent_provisioner_fail_on_the_events_evidence() {
        let snapshot = fixture("provisioner-pending.yaml");
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::ProvisionerNotRunning);
        assert_eq!(check.severity, Severity::Fail);
        assert!(check.summary.contains("\"fast-nfs\""), "{}", check.summary);
        assert!(
            check.summary.contains("example.com/fast-nfs"),
            "{}",
            check.summary
        );
        assert!(check.summary.contains("data-db-0"), "{}", check.summary);
        assert!(
            check.explanation.contains("Pending for 10m"),
            "{}",
            check.explanation
        );
        assert!(check.explanation.contains("cannot be read from the API"));
        // db-0 is blocked by that claim: told once, by the storage check.
        assert_eq!(
            report.update.rollout.reason.as_deref(),
            Some("unschedulable for 10m: pod has unbound immediate PersistentVolumeClaims")
        );
        assert!(!ids(&report).contains(&"pod-failing"), "{:?}", ids(&report));

        // A minute of waiting is normal provisioning time, not evidence.
        let report = report_at(&snapshot, "2026-11-23T08:51:00Z");
        assert!(!ids(&report).contains(&"provisioner-not-running"));
    }

    #[test]
    fn a_provisioning_failure_is_evidence_at_once() {
        let mut snapshot = fixture("provisioner-pending.yaml");
        let mut failed = snapshot.inventory.claim_events.items()[0].clone();
        failed.reason = Some("ProvisioningFailed".into());
        failed.message = Some("failed to provision volume: quota exceeded".into());
        snapshot.inventory.claim_events = Listing::Listed(vec![failed]);
        let report = report_at(&snapshot, "2026-11-23T08:51:00Z");
        let check = find(&report, CheckId::ProvisionerNotRunning);
        assert!(
            check.explanation.contains("quota exceeded"),
            "{}",
            check.explanation
        );
    }

    #[test]
    fn a_claim_pending_for_another_reason_fails_with_its_last_event() {
        let mut snapshot = fixture("provisioner-pending.yaml");
        let mut event = snapshot.inventory.claim_events.items()[0].clone();
        event.reason = Some("FailedBinding".into());
        event.message = Some(
            "no persistent volumes available for this claim and no storage class is set".into(),
        );
        snapshot.inventory.claim_events = Listing::Listed(vec![event]);
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::ClaimPending);
        assert!(check.summary.contains("data-db-0"));
        assert!(
            check.explanation.contains("FailedBinding"),
            "{}",
            check.explanation
        );
    }

    fn add_claim(snapshot: &mut crate::commands::status::Snapshot, name: &str) {
        let mut claim: PersistentVolumeClaim = snapshot.inventory.claims[0].clone();
        claim.metadata.name = Some(name.to_string());
        snapshot.inventory.claims.push(claim);
    }

    #[test]
    fn a_claim_made_by_hand_with_a_class_that_does_not_exist_is_named() {
        let mut snapshot = fixture("web.yaml");
        add_claim(&mut snapshot, "www-web-3");
        let claim = snapshot.inventory.claims.last_mut().expect("added");
        claim.metadata.labels = None;
        if let Some(spec) = claim.spec.as_mut() {
            spec.storage_class_name = Some("no-such-class".into());
            spec.volume_name = None;
        }
        claim.status =
            Some(serde_json::from_value(serde_json::json!({"phase": "Pending"})).expect("status"));
        if let Some(spec) = set_mut(&mut snapshot).spec.replicas.as_mut() {
            *spec = 4;
        }
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::StorageClassMissing);
        assert_eq!(
            check.summary,
            "claim www-web-3 asks for StorageClass \"no-such-class\", which does not exist"
        );
        assert!(
            check.explanation.ends_with("and web-3 never starts."),
            "{}",
            check.explanation
        );
        assert!(
            !ids(&report).contains(&"provisioner-not-running"),
            "{:?}",
            ids(&report)
        );
        assert!(
            !ids(&report).contains(&"claim-pending"),
            "{:?}",
            ids(&report)
        );
    }

    #[test]
    fn claims_left_by_a_scale_down_warn() {
        let mut snapshot = fixture("web.yaml");
        add_claim(&mut snapshot, "www-web-3");
        add_claim(&mut snapshot, "www-web-4");
        // Another set's claims that merely look alike are not ours.
        add_claim(&mut snapshot, "www-webby-7");
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::OrphanClaims);
        assert_eq!(check.severity, Severity::Warn);
        assert!(
            check.summary.contains("www-web-3, www-web-4"),
            "{}",
            check.summary
        );
        assert!(!check.summary.contains("webby"));
        assert!(
            check
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("kubectl -n default delete pvc www-web-3 www-web-4")
        );

        // While web-3 still exists (being scaled away) its claim is in use.
        let mut web_3 = snapshot.inventory.pods[0].clone();
        web_3.metadata.name = Some("web-3".into());
        snapshot.inventory.pods.push(web_3);
        let report = report_of(&snapshot);
        let summary = &find(&report, CheckId::OrphanClaims).summary;
        assert!(summary.ends_with("replicas: www-web-4"), "{summary}");
        assert!(report.identity.pods[3].condemned);
    }

    #[test]
    fn readiness_probes_matter_under_ordered_ready_only() {
        let mut snapshot = fixture("web.yaml");
        let set = set_mut(&mut snapshot);
        set.spec.template.spec.as_mut().unwrap().containers[0].readiness_probe = None;
        assert_eq!(ids(&report_of(&snapshot)), ["no-readiness-probe"]);
        set_mut(&mut snapshot).spec.pod_management_policy = Some("Parallel".into());
        assert_eq!(ids(&report_of(&snapshot)), Vec::<&str>::new());
    }

    #[test]
    fn a_zero_grace_period_fails() {
        let mut snapshot = fixture("web.yaml");
        let set = set_mut(&mut snapshot);
        set.spec
            .template
            .spec
            .as_mut()
            .unwrap()
            .termination_grace_period_seconds = Some(0);
        let report = report_of(&snapshot);
        assert_eq!(ids(&report), ["zero-grace-period"]);
        assert_eq!(verdict(&report.checks, false), Outcome::Failed);
    }

    #[test]
    fn a_missing_budget_warns_and_an_unreadable_one_is_noted() {
        let mut snapshot = fixture("web.yaml");
        snapshot.identity.pod_disruption_budgets = Listing::Listed(Vec::new());
        let report = report_of(&snapshot);
        let check = find(&report, CheckId::NoPdb);
        assert_eq!(
            check.fix.as_deref(),
            Some(
                "kubectl -n default create poddisruptionbudget web --selector='app=nginx' --max-unavailable=1"
            )
        );
        snapshot.identity.pod_disruption_budgets = Listing::Forbidden;
        snapshot.inventory.storage_classes = Listing::Forbidden;
        let report = report_of(&snapshot);
        assert_eq!(ids(&report), ["not-checked"]);
        let check = &report.checks[0];
        assert_eq!(check.severity, Severity::Info);
        assert!(check.summary.contains("poddisruptionbudgets"));
        assert!(check.summary.contains("storageclasses"));
        assert_eq!(report.storage.templates[0].class_exists, None);
    }

    fn budget(name: &str, rule: &str) -> PodDisruptionBudget {
        serde_saphyr::from_str(&format!(
            "metadata: {{name: {name}, namespace: default}}\nspec: {{selector: {{matchLabels: {{app: nginx}}}}, {rule}}}"
        ))
        .unwrap()
    }

    #[test]
    fn two_budgets_over_the_pods_warn_that_evictions_are_refused() {
        let mut snapshot = fixture("web.yaml");
        snapshot.identity.pod_disruption_budgets = Listing::Listed(vec![
            budget("web", "maxUnavailable: 1"),
            budget("web-extra", "minAvailable: 1"),
        ]);
        let report = report_of(&snapshot);
        assert_eq!(ids(&report), ["pdb-overlap"]);
        let check = find(&report, CheckId::PdbOverlap);
        assert!(
            check.summary.contains("web, web-extra"),
            "{}",
            check.summary
        );
        assert_eq!(
            check.fix.as_deref(),
            Some(
                "keep one budget and delete the others: kubectl -n default delete poddisruptionbudget web-extra"
            )
        );
    }

    #[test]
    fn a_budget_that_never_allows_an_eviction_warns_with_the_patch() {
        let mut snapshot = fixture("web.yaml");
        for (rule, blocks) in [
            ("minAvailable: 3", true),
            ("minAvailable: '100%'", true),
            ("maxUnavailable: 0", true),
            ("maxUnavailable: '0%'", true),
            ("minAvailable: 2", false),
            ("minAvailable: '50%'", false),
            ("maxUnavailable: '10%'", false),
            ("maxUnavailable: 1", false),
        ] {
            snapshot.identity.pod_disruption_budgets = Listing::Listed(vec![budget("web", rule)]);
            let report = report_of(&snapshot);
            let found = report
                .checks
                .iter()
                .find(|c| c.id == CheckId::PdbBlocksEviction);
            assert_eq!(found.is_some(), blocks, "{rule}: {:?}", ids(&report));
            if let Some(check) = found {
                assert!(
                    check.summary.contains("all 3 replicas Ready"),
                    "{}",
                    check.summary
                );
                assert!(
                    check.fix.as_deref().is_some_and(|fix| fix.contains(
                        r#"kubectl -n default patch poddisruptionbudget web --type=merge -p '{"spec":{"minAvailable":null,"maxUnavailable":1}}'"#
                    )),
                    "{:?}",
                    check.fix
                );
            }
        }
    }

    #[test]
    fn claims_deleted_with_the_set_are_noted() {
        let mut snapshot = fixture("web.yaml");
        set_mut(&mut snapshot)
            .spec
            .persistent_volume_claim_retention_policy =
            serde_saphyr::from_str("{whenDeleted: Delete, whenScaled: Retain}").ok();
        let report = report_of(&snapshot);
        assert_eq!(ids(&report), ["claims-deleted-with-set"]);
        assert_eq!(verdict(&report.checks, true), Outcome::Success);
    }

    #[test]
    fn check_ids_and_severities_serialize_as_documented() {
        let every = [
            CheckId::ServiceNameEmpty,
            CheckId::ServiceMissing,
            CheckId::ServiceNotHeadless,
            CheckId::ServiceSelectorMismatch,
            CheckId::PartitionLeftOver,
            CheckId::PartitionHoldingUpdate,
            CheckId::UpdateStalled,
            CheckId::PodFailing,
            CheckId::OnDeletePending,
            CheckId::StorageClassMissing,
            CheckId::NoDefaultStorageClass,
            CheckId::ProvisionerNotRunning,
            CheckId::ClaimPending,
            CheckId::OrphanClaims,
            CheckId::NoReadinessProbe,
            CheckId::ZeroGracePeriod,
            CheckId::NoPdb,
            CheckId::PdbOverlap,
            CheckId::PdbBlocksEviction,
            CheckId::ClaimsDeletedWithSet,
            CheckId::NotChecked,
        ];
        for id in every {
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                serde_json::Value::String(id.as_str().to_string())
            );
        }
        assert_eq!(serde_json::to_value(Severity::Fail).unwrap(), "fail");
        let report = report_of(&fixture("redis.yaml"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["checks"][0]["id"], "service-not-headless");
        assert_eq!(json["checks"][0]["severity"], "fail");
        assert_eq!(
            json["identity"]["pods"][0]["dnsName"],
            "redis-sts-0.redis-svc.default.svc.cluster.local"
        );
        assert_eq!(json["identity"]["service"]["headless"], false);
        assert_eq!(json["update"]["rollout"]["state"], "complete");
    }
}
