//! The canary's state, kept in the cluster rather than in the process: a JSON
//! annotation on the StatefulSet, written in the same request as each
//! partition change, so a killed process can be resumed from the last step
//! that really happened.
//!
//! Annotation `kubectl-sts.io/canary`, a JSON document (every field is
//! described in docs/CANARY.md):
//! ```json
//! {"version":1,"mode":"Partition","fromRevision":"web-6c5d8f7b9","toRevision":"web-7d9f5c6b8",
//!  "originalPartition":0,"steps":[...PlannedStep...],"currentStep":1,
//!  "gates":{"soakMs":30000,"maxRestarts":0,"stepTimeoutMs":300000,"check":null,
//!           "pause":null,"noRollback":false,"rollbackOnInterrupt":false},
//!  "phase":"Soaking","holder":{"id":"...","host":"...","pid":123},
//!  "leaseExpiresAt":"2026-11-23T10:00:30Z","startedAt":"...","updatedAt":"...",
//!  "handledRequest":null,"message":"step 2 of 3: partition 2"}
//! ```
//! `mode` and `gates` came later: an annotation without them reads as a
//! partition canary whose gates are not recorded (`--resume` then takes the
//! flags it is given, or their defaults).
//! `--promote` and `--abort` from another terminal write a second annotation,
//! `kubectl-sts.io/canary-request` (`{"id":"...","request":"Abort","at":"..."}`),
//! which only they write; the driver records the id it acted on as
//! `handledRequest`, so neither side can overwrite the other.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::plan::{Mode, PlannedStep};

pub const STATE_ANNOTATION: &str = "kubectl-sts.io/canary";
pub const REQUEST_ANNOTATION: &str = "kubectl-sts.io/canary-request";
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Template changed, partition at the gate, waiting for the controller.
    Starting,
    /// Waiting for the pods of the current step to be updated and Ready.
    Stepping,
    /// Pods Ready; watching them for `--soak`.
    Soaking,
    /// Waiting for `--promote` (or the pause duration).
    Paused,
    /// Restoring the old template after a failure or abort.
    RollingBack,
    Succeeded,
    RolledBack,
    /// Stopped without rollback (`--no-rollback`, or someone else changed the template).
    Stopped,
}

impl Phase {
    /// A canary in these phases is still in charge of the StatefulSet.
    pub fn is_active(self) -> bool {
        !matches!(self, Phase::Succeeded | Phase::RolledBack | Phase::Stopped)
    }
}

/// Who drives the canary; a lease so a dead driver can be taken over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub id: String,
    pub host: String,
    pub pid: u32,
}

/// A request from another terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Request {
    Promote,
    PromoteFull,
    Abort,
}

/// The gate flags a canary runs with, recorded so `--resume` applies the
/// same gates (flags given again to `--resume` win).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateSettings {
    /// `--soak`, in milliseconds.
    pub soak_ms: u64,
    /// `--max-restarts`.
    pub max_restarts: u32,
    /// `--step-timeout`, in milliseconds.
    pub step_timeout_ms: u64,
    /// `--check`.
    #[serde(default)]
    pub check: Option<String>,
    /// `--pause` as given (`30s`, `manual`), None for no pause.
    #[serde(default)]
    pub pause: Option<String>,
    /// `--no-rollback`.
    #[serde(default)]
    pub no_rollback: bool,
    /// `--rollback-on-interrupt`.
    #[serde(default)]
    pub rollback_on_interrupt: bool,
}

impl GateSettings {
    pub fn soak(&self) -> Duration {
        Duration::from_millis(self.soak_ms)
    }

    pub fn step_timeout(&self) -> Duration {
        Duration::from_millis(self.step_timeout_ms)
    }
}

/// A duration in whole milliseconds, saturating.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryState {
    pub version: u32,
    /// How pods are moved to the new revision; `Partition` when absent (older annotations).
    #[serde(default)]
    pub mode: Mode,
    pub from_revision: String,
    /// Known once the controller has observed the new template.
    pub to_revision: Option<String>,
    pub original_partition: i32,
    pub steps: Vec<PlannedStep>,
    /// Index into `steps` of the step whose partition is written; None at the gate.
    pub current_step: Option<usize>,
    /// The gate flags; None in annotations written before they were recorded.
    #[serde(default)]
    pub gates: Option<GateSettings>,
    pub phase: Phase,
    pub holder: Holder,
    pub lease_expires_at: String,
    pub started_at: String,
    pub updated_at: String,
    /// The id of the last request from another terminal that the driver acted on.
    #[serde(default)]
    pub handled_request: Option<String>,
    #[serde(default)]
    pub message: String,
}

/// A request written by `--promote` or `--abort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRequest {
    pub id: String,
    pub request: Request,
    pub at: String,
}

impl PendingRequest {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            format!("the {REQUEST_ANNOTATION} annotation is not a canary request: {e}")
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The request the driver has not acted on yet, if any.
pub fn unhandled<'a>(
    state: &CanaryState,
    request: Option<&'a PendingRequest>,
) -> Option<&'a PendingRequest> {
    request.filter(|r| state.handled_request.as_deref() != Some(r.id.as_str()))
}

impl CanaryState {
    pub fn parse(text: &str) -> Result<Self, String> {
        let state: CanaryState = serde_json::from_str(text)
            .map_err(|e| format!("the {STATE_ANNOTATION} annotation is not a canary state: {e}"))?;
        if state.version != STATE_VERSION {
            return Err(format!(
                "the {STATE_ANNOTATION} annotation has version {}; this kubectl-sts understands version {STATE_VERSION}",
                state.version
            ));
        }
        Ok(state)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data cannot fail; fall back to an empty object rather than panic.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// The partition the current step wrote (the gate before the first step).
    pub fn current_partition(&self, replicas: u32) -> u32 {
        match self.current_step {
            Some(index) => self.steps.get(index).map(|s| s.partition).unwrap_or(0),
            None => replicas,
        }
    }

    pub fn lease_expired(&self, now: jiff::Timestamp) -> bool {
        self.lease_expires_at
            .parse::<jiff::Timestamp>()
            .map(|expires| expires <= now)
            .unwrap_or(true)
    }
}

/// Whether a new driver may take over a canary recorded as `state`: when it is
/// finished, its lease expired, or its holder is a process on this host that no
/// longer runs.
pub fn may_take_over(
    state: &CanaryState,
    now: jiff::Timestamp,
    this_host: &str,
    process_alive: impl Fn(u32) -> bool,
) -> bool {
    !state.phase.is_active()
        || state.lease_expired(now)
        || (state.holder.host == this_host && !process_alive(state.holder.pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(phase: Phase, lease: &str) -> CanaryState {
        CanaryState {
            version: STATE_VERSION,
            mode: Mode::OnDelete,
            from_revision: "web-a".into(),
            to_revision: Some("web-b".into()),
            original_partition: 0,
            steps: super::super::plan::plan(&[super::super::plan::StepSize::Pods(1)], 3, 0)
                .unwrap(),
            current_step: Some(0),
            gates: Some(GateSettings {
                soak_ms: 300,
                max_restarts: 1,
                step_timeout_ms: 60_000,
                check: Some("test -f /ready".into()),
                pause: Some("manual".into()),
                no_rollback: false,
                rollback_on_interrupt: true,
            }),
            phase,
            holder: Holder {
                id: "x".into(),
                host: "box".into(),
                pid: 42,
            },
            lease_expires_at: lease.into(),
            started_at: "2026-11-23T10:00:00Z".into(),
            updated_at: "2026-11-23T10:00:00Z".into(),
            handled_request: None,
            message: String::new(),
        }
    }

    #[test]
    fn state_round_trips_through_the_annotation() {
        let original = state(Phase::Soaking, "2026-11-23T10:00:30Z");
        let parsed = CanaryState::parse(&original.to_json()).unwrap();
        assert_eq!(parsed, original);
        assert!(original.to_json().contains("\"fromRevision\":\"web-a\""));
        assert!(original.to_json().contains("\"mode\":\"OnDelete\""));
        assert!(original.to_json().contains("\"soakMs\":300"));
        assert_eq!(parsed.current_partition(3), 2);
        let gates = parsed.gates.expect("gates recorded");
        assert_eq!(gates.soak(), Duration::from_millis(300));
        assert_eq!(gates.step_timeout(), Duration::from_secs(60));
        assert_eq!(gates.pause.as_deref(), Some("manual"));
        assert!(gates.rollback_on_interrupt && !gates.no_rollback);
    }

    #[test]
    fn an_annotation_written_before_gates_and_mode_were_recorded_still_parses() {
        // Exactly what kubectl-sts wrote before `mode` and `gates` existed.
        let old = r#"{"version":1,"fromRevision":"web-6c5d8f7b9","toRevision":"web-7d9f5c6b8","originalPartition":0,"steps":[{"size":"1","updatedPods":1,"partition":2,"ordinals":{"start":2,"end":3}},{"size":"100%","updatedPods":3,"partition":0,"ordinals":{"start":0,"end":3}}],"currentStep":0,"phase":"Soaking","holder":{"id":"h","host":"box","pid":7},"leaseExpiresAt":"2026-11-23T10:00:30Z","startedAt":"2026-11-23T10:00:00Z","updatedAt":"2026-11-23T10:00:00Z","handledRequest":null,"message":"step 1 of 2: soaking"}"#;
        let parsed = CanaryState::parse(old).unwrap();
        assert_eq!(parsed.mode, Mode::Partition);
        assert_eq!(parsed.gates, None);
        assert_eq!(parsed.current_partition(3), 2);
        assert_eq!(parsed.steps[1].ordinals, 0..3);
        // Written back, it gains the new fields and still round-trips.
        assert_eq!(CanaryState::parse(&parsed.to_json()).unwrap(), parsed);
    }

    #[test]
    fn a_request_counts_until_its_id_is_handled() {
        let mut s = state(Phase::Paused, "2026-11-23T10:00:30Z");
        let request = PendingRequest {
            id: "r1".into(),
            request: Request::Promote,
            at: "2026-11-23T10:00:05Z".into(),
        };
        let parsed = PendingRequest::parse(&request.to_json()).unwrap();
        assert_eq!(unhandled(&s, Some(&parsed)), Some(&request));
        s.handled_request = Some("r1".into());
        assert_eq!(unhandled(&s, Some(&parsed)), None);
        assert_eq!(unhandled(&s, None), None);
    }

    #[test]
    fn foreign_or_future_annotations_are_refused() {
        assert!(CanaryState::parse("not json").is_err());
        let mut future = state(Phase::Soaking, "2026-11-23T10:00:30Z");
        future.version = 9;
        assert!(
            CanaryState::parse(&future.to_json())
                .unwrap_err()
                .contains("version 9")
        );
    }

    #[test]
    fn a_live_holder_keeps_the_canary_until_its_lease_expires() {
        let now: jiff::Timestamp = "2026-11-23T10:00:10Z".parse().unwrap();
        let live = state(Phase::Soaking, "2026-11-23T10:00:30Z");
        assert!(!may_take_over(&live, now, "box", |_| true));
        assert!(!may_take_over(&live, now, "other-host", |_| false));
        assert!(
            may_take_over(&live, now, "box", |_| false),
            "dead local holder"
        );
        let later: jiff::Timestamp = "2026-11-23T10:01:00Z".parse().unwrap();
        assert!(
            may_take_over(&live, later, "other-host", |_| true),
            "lease expired"
        );
        let done = state(Phase::Succeeded, "2026-11-23T10:00:30Z");
        assert!(may_take_over(&done, now, "other-host", |_| true));
    }
}
