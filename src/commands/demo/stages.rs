//! The demo's script: each stage is a kubectl-sts command line as a user
//! would type it, what it shows, the outcome it should end with, and what the
//! cluster must show afterwards. Judging is pure: it reads snapshots of the
//! cluster taken before and after the stage.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};

use super::manifest::template_images;
use crate::commands::Outcome;
use crate::error::Error;
use crate::revisions;
use crate::sts;

/// The stages, in the order the demo runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    OrderedStart,
    StorageChain,
    Identity,
    DataSurvival,
    Canary,
    CanaryRollback,
    History,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::OrderedStart,
        Stage::StorageChain,
        Stage::Identity,
        Stage::DataSurvival,
        Stage::Canary,
        Stage::CanaryRollback,
        Stage::History,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Stage::OrderedStart => "ordered start",
            Stage::StorageChain => "the storage chain",
            Stage::Identity => "identity",
            Stage::DataSurvival => "data survival",
            Stage::Canary => "canary",
            Stage::CanaryRollback => "automatic rollback",
            Stage::History => "history",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Stage::OrderedStart => {
                "A StatefulSet starts its pods one at a time: web-1 is created only once web-0 is Ready."
            }
            Stage::StorageChain => {
                "Each pod gets its own claim, bound to its own volume, provisioned by the nfs-subdir class."
            }
            Stage::Identity => {
                "Each pod keeps a stable name and DNS name under the headless Service, whatever happens to it."
            }
            Stage::DataSurvival => {
                "Write a marker into each volume, delete the pods, and check each replacement finds its own data."
            }
            Stage::Canary => {
                "Roll out a new image one partition step at a time, each step gated on the updated pods' health."
            }
            Stage::CanaryRollback => {
                "Roll out an image that crashes: the first updated pod fails its gate and the canary rolls back by itself."
            }
            Stage::History => {
                "Every template the set has run is a revision; see which pods run which, and roll back with `undo`."
            }
        }
    }

    /// What the command must end with: the broken canary reports failure (exit 1)
    /// once it has rolled back, everything else succeeds.
    pub fn expected_outcome(self) -> Outcome {
        match self {
            Stage::CanaryRollback => Outcome::Failed,
            _ => Outcome::Success,
        }
    }

    /// Whether the stages after this one can mean anything when it fails:
    /// without running pods, none can.
    pub fn later_stages_need_it(self) -> bool {
        self == Stage::OrderedStart
    }

    /// The command line after `kubectl sts`, as the user would type it.
    pub fn words(self, script: &Script) -> Vec<String> {
        let set = script.set_name.as_str();
        let mut words: Vec<String> = match self {
            Stage::OrderedStart => vec![
                "watch",
                set,
                "--until",
                "ready",
                "--log",
                "--timeout",
                "60s",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            Stage::StorageChain => vec!["volumes".into(), set.into()],
            Stage::Identity => vec!["status".into(), set.into()],
            Stage::DataSurvival => vec!["verify".into(), set.into(), "--yes".into()],
            Stage::Canary => canary_words(set, &script.canary_image),
            Stage::CanaryRollback => canary_words(set, &script.broken_image),
            Stage::History => vec!["history".into(), set.into()],
        };
        if let Some(namespace) = &script.namespace {
            words.extend(["-n".to_string(), namespace.clone()]);
        }
        words
    }
}

/// Short soak so the demo is quick; a one-minute step timeout (it also bounds
/// the rollback) so a demo that goes wrong says so in minutes, not ten.
fn canary_words(set: &str, image: &str) -> Vec<String> {
    [
        "canary",
        set,
        "--image",
        image,
        "--steps",
        "1,50%,100%",
        "--soak",
        "3s",
        "--step-timeout",
        "1m",
        "--yes",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// What the stages act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub set_name: String,
    /// The image the example starts with.
    pub original_image: String,
    pub canary_image: String,
    /// An image whose containers exit shortly after starting.
    pub broken_image: String,
    /// Shown as `-n NAMESPACE` when the demo does not run in the context's own.
    pub namespace: Option<String>,
}

/// What the cluster holds for the demo's StatefulSet at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub set: StatefulSet,
    /// The pods the set's selector matches.
    pub pods: Vec<Pod>,
    pub claims: Vec<PersistentVolumeClaim>,
    pub volumes: Vec<PersistentVolume>,
    pub revisions: Vec<ControllerRevision>,
}

impl Snapshot {
    fn pod(&self, ordinal: i32) -> Option<&Pod> {
        let name = sts::pod_name(sts::name(&self.set), ordinal);
        self.pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name.as_str()))
    }

    fn claim(&self, name: &str) -> Option<&PersistentVolumeClaim> {
        self.claims
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name))
    }

    /// The claim names of one ordinal, one per volumeClaimTemplate.
    fn claim_names(&self, ordinal: i32) -> Vec<String> {
        let set_name = sts::name(&self.set);
        sts::claim_templates(&self.set)
            .iter()
            .map(|template| sts::claim_name(template, set_name, ordinal))
            .collect()
    }

    fn volume_of_claim(&self, claim: &str) -> Option<String> {
        self.claim(claim)?.spec.as_ref()?.volume_name.clone()
    }

    fn update_revision(&self) -> Option<&str> {
        self.set.status.as_ref()?.update_revision.as_deref()
    }

    fn current_revision(&self) -> Option<&str> {
        self.set.status.as_ref()?.current_revision.as_deref()
    }

    /// Every desired pod exists, is not terminating and is Ready.
    fn all_ready(&self) -> Result<Vec<&Pod>, String> {
        sts::ordinals(&self.set)
            .map(|ordinal| {
                let name = sts::pod_name(sts::name(&self.set), ordinal);
                match self.pod(ordinal) {
                    None => Err(format!("{name} does not exist")),
                    Some(pod) if sts::is_pod_terminating(pod) => {
                        Err(format!("{name} is terminating"))
                    }
                    Some(pod) if !sts::is_pod_ready(pod) => Err(format!("{name} is not Ready")),
                    Some(pod) => Ok(pod),
                }
            })
            .collect()
    }

    /// Every desired pod is Ready and runs `revision`.
    fn all_ready_on(&self, revision: &str) -> Result<(), String> {
        for pod in self.all_ready()? {
            if sts::pod_revision(pod) != Some(revision) {
                return Err(format!(
                    "{} runs revision {}, not {revision}",
                    pod_name(pod),
                    sts::pod_revision(pod).unwrap_or("(none)")
                ));
            }
        }
        Ok(())
    }
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

/// A stage's result, with a short reason either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed(String),
    Failed(String),
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed(_))
    }

    /// What passed, or why it failed.
    pub fn reason(&self) -> &str {
        match self {
            Verdict::Passed(text) | Verdict::Failed(text) => text,
        }
    }
}

/// Judge the command's own result: an error (including a command that is not
/// implemented yet) or an unexpected outcome fails the stage.
pub fn judge_outcome(stage: Stage, result: &crate::error::Result<Outcome>) -> Result<(), String> {
    match result {
        Err(Error::NotImplemented { command, .. }) => {
            Err(format!("`kubectl sts {command}` is not implemented yet"))
        }
        Err(err) => Err(format!(
            "the command failed: {}",
            first_line(&err.to_string())
        )),
        Ok(outcome) if *outcome == stage.expected_outcome() => Ok(()),
        Ok(Outcome::Success) => Err(
            "the command succeeded, but it should have detected the crash and rolled back"
                .to_string(),
        ),
        Ok(Outcome::Failed) => Err("the command reported a failure (exit 1)".to_string()),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Judge what the cluster shows after the stage, against before it.
pub fn judge_cluster(
    stage: Stage,
    script: &Script,
    before: &Snapshot,
    after: &Snapshot,
) -> Result<String, String> {
    match stage {
        Stage::OrderedStart => started_in_order(after),
        Stage::StorageChain => storage_chain_bound(after),
        Stage::Identity => stable_identity(after),
        Stage::DataSurvival => recreated_on_same_volumes(before, after),
        Stage::Canary => rolled_out(script, before, after),
        Stage::CanaryRollback => rolled_back(before, after),
        Stage::History => history_holds_every_template(script, after),
    }
}

/// The full verdict of a stage.
pub fn judge(
    stage: Stage,
    script: &Script,
    result: &crate::error::Result<Outcome>,
    before: &Snapshot,
    after: &Snapshot,
) -> Verdict {
    match judge_outcome(stage, result).and_then(|()| judge_cluster(stage, script, before, after)) {
        Ok(detail) => Verdict::Passed(detail),
        Err(reason) => Verdict::Failed(reason),
    }
}

fn started_in_order(after: &Snapshot) -> Result<String, String> {
    let pods = after.all_ready()?;
    for pair in pods.windows(2) {
        let (previous, next) = (pair[0], pair[1]);
        let ready = sts::ready_since(previous)
            .ok_or_else(|| format!("{} has no Ready time", pod_name(previous)))?;
        let created = next
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .ok_or_else(|| format!("{} has no creation time", pod_name(next)))?;
        if created < ready {
            return Err(format!(
                "{} was created at {created}, before {} was Ready at {ready}",
                pod_name(next),
                pod_name(previous)
            ));
        }
    }
    let names: Vec<&str> = pods.iter().map(|p| pod_name(p)).collect();
    Ok(format!(
        "{} Ready, each created after the one before it was Ready",
        names.join(", ")
    ))
}

fn storage_chain_bound(after: &Snapshot) -> Result<String, String> {
    let mut claims = 0;
    let mut classes: Vec<String> = Vec::new();
    for ordinal in sts::ordinals(&after.set) {
        for claim_name in after.claim_names(ordinal) {
            let claim = after
                .claim(&claim_name)
                .ok_or_else(|| format!("claim {claim_name} does not exist"))?;
            let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
            if phase != Some("Bound") {
                return Err(format!(
                    "claim {claim_name} is {}",
                    phase.unwrap_or("Pending")
                ));
            }
            let volume_name = after
                .volume_of_claim(&claim_name)
                .ok_or_else(|| format!("claim {claim_name} names no volume"))?;
            let volume = after
                .volumes
                .iter()
                .find(|v| v.metadata.name.as_deref() == Some(volume_name.as_str()))
                .ok_or_else(|| format!("volume {volume_name} of {claim_name} does not exist"))?;
            let spec = volume.spec.as_ref();
            let claimed_by = spec
                .and_then(|s| s.claim_ref.as_ref())
                .and_then(|r| r.name.as_deref());
            if claimed_by != Some(claim_name.as_str()) {
                return Err(format!(
                    "volume {volume_name} is not bound back to {claim_name}"
                ));
            }
            let class = spec
                .and_then(|s| s.storage_class_name.clone())
                .unwrap_or_default();
            if !classes.contains(&class) {
                classes.push(class);
            }
            claims += 1;
        }
    }
    if claims == 0 {
        return Err("the StatefulSet has no volumeClaimTemplates".to_string());
    }
    Ok(format!(
        "{claims} claims Bound to their own volumes (class {})",
        classes.join(", ")
    ))
}

fn stable_identity(after: &Snapshot) -> Result<String, String> {
    let service = after
        .set
        .spec
        .service_name
        .clone()
        .ok_or("the StatefulSet names no governing Service")?;
    let pods = after.all_ready()?;
    for pod in &pods {
        let spec = pod.spec.as_ref();
        let hostname = spec.and_then(|s| s.hostname.as_deref());
        let subdomain = spec.and_then(|s| s.subdomain.as_deref());
        if hostname != Some(pod_name(pod)) || subdomain != Some(service.as_str()) {
            return Err(format!(
                "{} has hostname {} and subdomain {}, not its own name under {service}",
                pod_name(pod),
                hostname.unwrap_or("(none)"),
                subdomain.unwrap_or("(none)")
            ));
        }
    }
    Ok(format!(
        "{} pods, each with its own name as hostname under {service}",
        pods.len()
    ))
}

fn recreated_on_same_volumes(before: &Snapshot, after: &Snapshot) -> Result<String, String> {
    let pods = after.all_ready()?;
    for pod in &pods {
        let name = pod_name(pod);
        let old = before
            .pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name));
        if let Some(old) = old
            && old.metadata.uid == pod.metadata.uid
        {
            return Err(format!("{name} was not recreated"));
        }
    }
    for ordinal in sts::ordinals(&after.set) {
        for claim in after.claim_names(ordinal) {
            let (was, is) = (
                before.volume_of_claim(&claim),
                after.volume_of_claim(&claim),
            );
            if was.is_none() || was != is {
                return Err(format!(
                    "claim {claim} was on volume {} and is now on {}",
                    was.as_deref().unwrap_or("(none)"),
                    is.as_deref().unwrap_or("(none)")
                ));
            }
        }
    }
    Ok(format!(
        "{} pods recreated, each back on its own volume",
        pods.len()
    ))
}

fn partition(set: &StatefulSet) -> i32 {
    sts::partition(set)
}

fn rolled_out(script: &Script, before: &Snapshot, after: &Snapshot) -> Result<String, String> {
    let images = template_images(&after.set);
    if images != std::slice::from_ref(&script.canary_image) {
        return Err(format!("the template runs {}", images.join(", ")));
    }
    let revision = after
        .update_revision()
        .ok_or("the StatefulSet reports no update revision")?;
    if before.update_revision() == Some(revision) {
        return Err(format!("the update revision is still {revision}"));
    }
    if after.current_revision() != Some(revision) {
        return Err(format!(
            "the current revision is {}, not {revision}",
            after.current_revision().unwrap_or("(none)")
        ));
    }
    after.all_ready_on(revision)?;
    if partition(&after.set) != 0 {
        return Err(format!("the partition is {}", partition(&after.set)));
    }
    Ok(format!(
        "every pod runs {} (revision {revision}), partition 0",
        script.canary_image
    ))
}

fn rolled_back(before: &Snapshot, after: &Snapshot) -> Result<String, String> {
    let (was, is) = (template_images(&before.set), template_images(&after.set));
    if was != is {
        return Err(format!(
            "the template runs {}, not {} as before",
            is.join(", "),
            was.join(", ")
        ));
    }
    let revision = before
        .update_revision()
        .ok_or("the StatefulSet reported no revision before the canary")?;
    if after.update_revision() != Some(revision) {
        return Err(format!(
            "the update revision is {}, not {revision} as before",
            after.update_revision().unwrap_or("(none)")
        ));
    }
    after.all_ready_on(revision)?;
    if partition(&after.set) != 0 {
        return Err(format!("the partition is {}", partition(&after.set)));
    }
    Ok(format!(
        "template and every pod back on {} (revision {revision}), partition 0",
        is.join(", ")
    ))
}

fn history_holds_every_template(script: &Script, after: &Snapshot) -> Result<String, String> {
    let owned = revisions::controlled_revisions(&after.set, &after.revisions);
    let mut images: Vec<String> = Vec::new();
    for revision in &owned {
        let template = revisions::template_of(revision)?;
        images.extend(
            template
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .filter_map(|c| c.image.clone()),
        );
    }
    for wanted in [
        &script.original_image,
        &script.canary_image,
        &script.broken_image,
    ] {
        if !images.contains(wanted) {
            return Err(format!("no revision holds {wanted}"));
        }
    }
    Ok(format!(
        "{} revisions, holding {}, {} and {}",
        owned.len(),
        script.original_image,
        script.canary_image,
        script.broken_image
    ))
}

#[cfg(test)]
mod tests;
