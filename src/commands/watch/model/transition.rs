//! Transitions: the changes worth a line in the log, with their wording, and
//! the time and revision formats they use.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

use crate::sts;

/// A change worth a line in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub at: Timestamp,
    pub namespace: String,
    pub stateful_set: String,
    pub kind: TransitionKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransitionKind {
    SetCreated {
        replicas: i32,
        revision: Option<String>,
    },
    SetDeleted,
    SetScaled {
        from: i32,
        to: i32,
    },
    PartitionChanged {
        from: i32,
        to: i32,
    },
    UpdateRevisionChanged {
        from: String,
        to: String,
    },
    RolloutComplete {
        replicas: i32,
        revision: String,
    },
    PodCreated {
        ordinal: i32,
        revision: Option<String>,
    },
    /// The pod at this ordinal came back on another revision than the one before it.
    PodRevisionChanged {
        ordinal: i32,
        revision: String,
    },
    PodStatus {
        ordinal: i32,
        status: String,
        restarts: i32,
    },
    PodReady {
        ordinal: i32,
        after: Option<Duration>,
    },
    PodNotReady {
        ordinal: i32,
        status: String,
    },
    PodRestarted {
        ordinal: i32,
        restarts: i32,
    },
    PodTerminating {
        ordinal: i32,
        /// The DisruptionTarget reason, when something disrupted the pod.
        disruption: Option<String>,
    },
    PodDeleted {
        ordinal: i32,
    },
    ClaimCreated {
        ordinal: i32,
        claim: String,
        phase: String,
    },
    ClaimPending {
        ordinal: i32,
        claim: String,
        reason: Option<String>,
    },
    ClaimBound {
        ordinal: i32,
        claim: String,
        volume: Option<String>,
    },
    ClaimPhase {
        ordinal: i32,
        claim: String,
        phase: String,
    },
    ClaimTerminating {
        ordinal: i32,
        claim: String,
    },
    ClaimDeleted {
        ordinal: i32,
        claim: String,
    },
    /// An Event about the set, one of its pods or claims.
    Event {
        object: String,
        warning: bool,
        reason: String,
        message: String,
        count: i32,
    },
}

impl TransitionKind {
    /// Stable camelCase name for machine-readable output.
    pub fn type_name(&self) -> &'static str {
        match self {
            TransitionKind::SetCreated { .. } => "setCreated",
            TransitionKind::SetDeleted => "setDeleted",
            TransitionKind::SetScaled { .. } => "setScaled",
            TransitionKind::PartitionChanged { .. } => "partitionChanged",
            TransitionKind::UpdateRevisionChanged { .. } => "updateRevisionChanged",
            TransitionKind::RolloutComplete { .. } => "rolloutComplete",
            TransitionKind::PodCreated { .. } => "podCreated",
            TransitionKind::PodRevisionChanged { .. } => "podRevisionChanged",
            TransitionKind::PodStatus { .. } => "podStatus",
            TransitionKind::PodReady { .. } => "podReady",
            TransitionKind::PodNotReady { .. } => "podNotReady",
            TransitionKind::PodRestarted { .. } => "podRestarted",
            TransitionKind::PodTerminating { .. } => "podTerminating",
            TransitionKind::PodDeleted { .. } => "podDeleted",
            TransitionKind::ClaimCreated { .. } => "claimCreated",
            TransitionKind::ClaimPending { .. } => "claimPending",
            TransitionKind::ClaimBound { .. } => "claimBound",
            TransitionKind::ClaimPhase { .. } => "claimPhase",
            TransitionKind::ClaimTerminating { .. } => "claimTerminating",
            TransitionKind::ClaimDeleted { .. } => "claimDeleted",
            TransitionKind::Event { .. } => "event",
        }
    }

    pub fn ordinal(&self) -> Option<i32> {
        match self {
            TransitionKind::PodCreated { ordinal, .. }
            | TransitionKind::PodRevisionChanged { ordinal, .. }
            | TransitionKind::PodStatus { ordinal, .. }
            | TransitionKind::PodReady { ordinal, .. }
            | TransitionKind::PodNotReady { ordinal, .. }
            | TransitionKind::PodRestarted { ordinal, .. }
            | TransitionKind::PodTerminating { ordinal, .. }
            | TransitionKind::PodDeleted { ordinal }
            | TransitionKind::ClaimCreated { ordinal, .. }
            | TransitionKind::ClaimPending { ordinal, .. }
            | TransitionKind::ClaimBound { ordinal, .. }
            | TransitionKind::ClaimPhase { ordinal, .. }
            | TransitionKind::ClaimTerminating { ordinal, .. }
            | TransitionKind::ClaimDeleted { ordinal, .. } => Some(*ordinal),
            _ => None,
        }
    }

    pub fn claim(&self) -> Option<&str> {
        match self {
            TransitionKind::ClaimCreated { claim, .. }
            | TransitionKind::ClaimPending { claim, .. }
            | TransitionKind::ClaimBound { claim, .. }
            | TransitionKind::ClaimPhase { claim, .. }
            | TransitionKind::ClaimTerminating { claim, .. }
            | TransitionKind::ClaimDeleted { claim, .. } => Some(claim),
            _ => None,
        }
    }

    /// Something went wrong (colour it as a problem).
    pub fn is_problem(&self) -> bool {
        match self {
            TransitionKind::PodNotReady { .. } | TransitionKind::PodRestarted { .. } => true,
            TransitionKind::PodStatus { status, .. } => status_is_problem(status),
            TransitionKind::ClaimPending { reason, .. } => reason.is_some(),
            TransitionKind::ClaimPhase { phase, .. } => phase == "Lost",
            TransitionKind::Event { warning, .. } => *warning,
            _ => false,
        }
    }
}

/// Pod statuses that mean trouble rather than progress.
pub fn status_is_problem(status: &str) -> bool {
    matches!(
        status,
        "CrashLoopBackOff"
            | "ErrImagePull"
            | "ImagePullBackOff"
            | "InvalidImageName"
            | "CreateContainerConfigError"
            | "CreateContainerError"
            | "RunContainerError"
            | "Error"
            | "OOMKilled"
            | "Failed"
            | "Unknown"
            | "Evicted"
            | "NotReady"
    ) || status.starts_with("Init:Error")
        || status.starts_with("Init:CrashLoopBackOff")
        || status.starts_with("ExitCode:")
        || status.starts_with("Signal:")
        || status.starts_with("Init:ExitCode:")
}

impl Transition {
    /// The pod name for pod and claim transitions.
    pub fn pod(&self) -> Option<String> {
        self.kind
            .ordinal()
            .map(|ordinal| sts::pod_name(&self.stateful_set, ordinal))
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = &self.stateful_set;
        let pod = |ordinal: &i32| sts::pod_name(set, *ordinal);
        match &self.kind {
            TransitionKind::SetCreated { replicas, revision } => {
                write!(f, "statefulset {set} created: {replicas} replicas")?;
                if let Some(revision) = revision {
                    write!(f, ", revision {}", short_revision(set, revision))?;
                }
                Ok(())
            }
            TransitionKind::SetDeleted => write!(f, "statefulset {set} deleted"),
            TransitionKind::SetScaled { from, to } => write!(f, "{set} scaled {from} -> {to}"),
            TransitionKind::PartitionChanged { from, to } => {
                write!(f, "{set} partition {from} -> {to}")
            }
            TransitionKind::UpdateRevisionChanged { from, to } => write!(
                f,
                "{set} update revision {} -> {}",
                short_revision(set, from),
                short_revision(set, to)
            ),
            TransitionKind::RolloutComplete { replicas, revision } => write!(
                f,
                "{set} rollout complete: {replicas} pods Ready at revision {}",
                short_revision(set, revision)
            ),
            TransitionKind::PodCreated { ordinal, revision } => {
                write!(f, "{} created", pod(ordinal))?;
                if let Some(revision) = revision {
                    write!(f, " (revision {})", short_revision(set, revision))?;
                }
                Ok(())
            }
            TransitionKind::PodRevisionChanged { ordinal, revision } => write!(
                f,
                "{} -> revision {}",
                pod(ordinal),
                short_revision(set, revision)
            ),
            TransitionKind::PodStatus {
                ordinal,
                status,
                restarts,
            } => {
                write!(f, "{} {status}", pod(ordinal))?;
                if *restarts > 0 {
                    write!(f, " (restarts {restarts})")?;
                }
                Ok(())
            }
            TransitionKind::PodReady { ordinal, after } => match after {
                Some(after) => write!(f, "{} Ready after {}", pod(ordinal), short_duration(*after)),
                None => write!(f, "{} Ready", pod(ordinal)),
            },
            TransitionKind::PodNotReady { ordinal, status } => {
                write!(f, "{} not Ready ({status})", pod(ordinal))
            }
            TransitionKind::PodRestarted { ordinal, restarts } => {
                write!(f, "{} restarted (restarts {restarts})", pod(ordinal))
            }
            TransitionKind::PodTerminating {
                ordinal,
                disruption,
            } => match disruption {
                Some(reason) => write!(
                    f,
                    "{} terminating: {}",
                    pod(ordinal),
                    disruption_text(reason)
                ),
                None => write!(f, "{} terminating", pod(ordinal)),
            },
            TransitionKind::PodDeleted { ordinal } => write!(f, "{} deleted", pod(ordinal)),
            TransitionKind::ClaimCreated { claim, phase, .. } => {
                write!(f, "claim {claim} created ({phase})")
            }
            TransitionKind::ClaimPending { claim, reason, .. } => match reason {
                Some(reason) => write!(f, "claim {claim} Pending: {reason}"),
                None => write!(f, "claim {claim} Pending"),
            },
            TransitionKind::ClaimBound { claim, volume, .. } => match volume {
                Some(volume) => write!(f, "claim {claim} Bound to {volume}"),
                None => write!(f, "claim {claim} Bound"),
            },
            TransitionKind::ClaimPhase { claim, phase, .. } => write!(f, "claim {claim} {phase}"),
            TransitionKind::ClaimTerminating { claim, .. } => {
                write!(f, "claim {claim} terminating")
            }
            TransitionKind::ClaimDeleted { claim, .. } => write!(f, "claim {claim} deleted"),
            TransitionKind::Event {
                object,
                reason,
                message,
                count,
                ..
            } => {
                write!(f, "{object} {reason}: {message}")?;
                if *count > 1 {
                    write!(f, " (x{count})")?;
                }
                Ok(())
            }
        }
    }
}

/// `web-6d8f7c9b5` -> `6d8f7`: enough of the hash to tell revisions apart.
pub fn short_revision(set_name: &str, revision: &str) -> String {
    let hash = revision
        .strip_prefix(set_name)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(revision);
    hash.chars().take(5).collect()
}

/// `3.2s` under a minute, then kubectl's age form (`2m5s`, `3h`...).
/// What a DisruptionTarget reason means, in a few words.
fn disruption_text(reason: &str) -> String {
    match reason {
        "EvictionByEvictionAPI" => {
            "evicted through the eviction API (a drain, an autoscaler)".into()
        }
        "PreemptionByScheduler" => "preempted by the scheduler for a higher-priority pod".into(),
        "DeletionByTaintManager" => "deleted for a NoExecute taint on its node".into(),
        "TerminationByKubelet" => "terminated by the kubelet (node pressure or shutdown)".into(),
        other => format!("disrupted ({other})"),
    }
}

pub fn short_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(60) {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        human_duration(duration)
    }
}

/// kubectl's AGE column (apimachinery duration.HumanDuration).
pub fn human_duration(duration: Duration) -> String {
    crate::output::human_duration(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

/// Time from `since` to `now`, zero when the clocks disagree.
pub fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    now.duration_since(since)
        .try_into()
        .unwrap_or(Duration::ZERO)
}
