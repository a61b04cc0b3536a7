//! Drives a canary against the cluster: every partition change is written in
//! the same request as the state annotation (guarded by the resourceVersion
//! read just before), so the recorded step is always the one in force, and a
//! killed process is resumed from there.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{ObjectReference, Pod, PodTemplateSpec};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::Serialize;
use serde_json::{Value, json};

use super::change::{self, ChangeSource};
use super::gate::{self, GateOutcome};
use super::plan::{self, Mode, PlannedStep};
use super::state::{
    self, CanaryState, GateSettings, Holder, PendingRequest, Phase, REQUEST_ANNOTATION, Request,
    STATE_ANNOTATION, STATE_VERSION,
};
use super::{LEASE, Pause};
use crate::cli::{CanaryArgs, OutputFormat};
use crate::commands::Outcome;
use crate::context::{Connection, Context, FIELD_MANAGER};
use crate::error::{Error, Result};
use crate::output;
use crate::prompt;
use crate::retry;
use crate::revisions;
use crate::sts;

/// How often to look again while nothing changes (soak countdowns, lease renewal).
const TICK: Duration = Duration::from_millis(250);

/// One line of progress.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressEvent<'a> {
    time: String,
    stateful_set: &'a str,
    phase: Phase,
    step: Option<usize>,
    steps: usize,
    partition: u32,
    message: &'a str,
}

struct Reporting {
    json: bool,
}

impl Reporting {
    fn say(&self, set_name: &str, state: &CanaryState, replicas: u32, message: &str) -> Result<()> {
        let now = jiff::Timestamp::now();
        if self.json {
            let event = ProgressEvent {
                time: now.to_string(),
                stateful_set: set_name,
                phase: state.phase,
                step: state.current_step.map(|s| s + 1),
                steps: state.steps.len(),
                partition: state.current_partition(replicas),
                message,
            };
            let line = serde_json::to_string(&event)
                .map_err(|e| Error::Failed(format!("cannot encode progress: {e}")))?;
            output::print(&format!("{line}\n"))
        } else {
            let clock = now.strftime("%H:%M:%S");
            output::print(&format!("{clock} {message}\n"))
        }
    }
}

/// The live view of the set and its pods, kept by watches (never by polling).
struct LiveView {
    sets: Store<StatefulSet>,
    pods: Store<Pod>,
    changes: tokio::sync::mpsc::UnboundedReceiver<()>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    key: ObjectRef<StatefulSet>,
}

impl Drop for LiveView {
    /// The watches end with the view, not with the process.
    fn drop(&mut self) {
        self.tasks.iter().for_each(|task| task.abort());
    }
}

impl LiveView {
    fn start(connection: &Connection, set: &StatefulSet) -> Self {
        let namespace = sts::namespace(set).to_string();
        let name = sts::name(set).to_string();
        let (sets, set_writer) = reflector::store::<StatefulSet>();
        let (pods, pod_writer) = reflector::store::<Pod>();
        let (notify, changes) = tokio::sync::mpsc::unbounded_channel();
        let set_api: Api<StatefulSet> = Api::namespaced(connection.client.clone(), &namespace);
        let pod_api: Api<Pod> = Api::namespaced(connection.client.clone(), &namespace);
        let set_config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let pod_config = match sts::pod_selector(set) {
            Some(selector) => watcher::Config::default().labels(&selector),
            None => watcher::Config::default(),
        };
        let set_notify = notify.clone();
        let set_task = tokio::spawn(async move {
            let stream =
                reflector::reflector(set_writer, watcher(set_api, set_config)).default_backoff();
            futures::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                if let Err(err) = item {
                    tracing::debug!("statefulset watch: {err}");
                }
                if set_notify.send(()).is_err() {
                    break;
                }
            }
        });
        let pod_task = tokio::spawn(async move {
            let stream =
                reflector::reflector(pod_writer, watcher(pod_api, pod_config)).default_backoff();
            futures::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                if let Err(err) = item {
                    tracing::debug!("pod watch: {err}");
                }
                if notify.send(()).is_err() {
                    break;
                }
            }
        });
        LiveView {
            sets,
            pods,
            changes,
            tasks: vec![set_task, pod_task],
            key: ObjectRef::new(&name).within(&namespace),
        }
    }

    async fn ready(&self) -> Result<()> {
        let timeout = Duration::from_secs(30);
        let both = async {
            let _ = self.sets.wait_until_ready().await;
            let _ = self.pods.wait_until_ready().await;
        };
        tokio::time::timeout(timeout, both)
            .await
            .map_err(|_| Error::Timeout {
                after: "30s".into(),
                what: "starting watches on the StatefulSet and its pods".into(),
            })
    }

    fn set(&self) -> Option<Arc<StatefulSet>> {
        self.sets.get(&self.key)
    }

    fn pods(&self) -> Vec<Pod> {
        self.pods.state().iter().map(|p| (**p).clone()).collect()
    }

    /// Wait for the next change, or a tick.
    async fn next_change(&mut self) {
        let _ = tokio::time::timeout(TICK, self.changes.recv()).await;
        // Drain bursts so one evaluation covers them.
        while self.changes.try_recv().is_ok() {}
    }
}

struct Canary<'a> {
    connection: &'a Connection,
    api: Api<StatefulSet>,
    name: String,
    namespace: String,
    args: &'a CanaryArgs,
    /// The gates in force: the flags, or on `--resume` the recorded ones unless given again.
    gates: GateSettings,
    pause: Pause,
    mode: Mode,
    reporting: Reporting,
    recorder: Recorder,
    reference: ObjectReference,
    holder: Holder,
    /// The template this canary rolls out; anything else means someone else changed it.
    new_template: PodTemplateSpec,
    /// Interrupted: the state is written with an expired lease so anyone may resume it.
    lease_released: bool,
}

fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn now_string() -> String {
    jiff::Timestamp::now().to_string()
}

fn lease_until() -> String {
    let until = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(LEASE.as_secs() as i64))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    until.to_string()
}

/// The recorded canary state on a set, if any.
fn recorded_state(set: &StatefulSet) -> Result<Option<CanaryState>> {
    match set
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STATE_ANNOTATION))
    {
        Some(text) => CanaryState::parse(text).map(Some).map_err(Error::Failed),
        None => Ok(None),
    }
}

/// The request `--promote`/`--abort` left on a set, if any.
fn recorded_request(set: &StatefulSet) -> Result<Option<PendingRequest>> {
    match set
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REQUEST_ANNOTATION))
    {
        Some(text) => PendingRequest::parse(text).map(Some).map_err(Error::Failed),
        None => Ok(None),
    }
}

fn replicas_of(set: &StatefulSet) -> u32 {
    sts::desired_replicas(set).max(0) as u32
}

/// `spec.updateStrategy` with a new partition, keeping maxUnavailable.
fn strategy_with_partition(set: &StatefulSet, partition: u32) -> Value {
    let mut strategy = serde_json::to_value(set.spec.update_strategy.clone().unwrap_or_default())
        .unwrap_or_else(|_| json!({}));
    strategy["type"] = json!("RollingUpdate");
    if !strategy.get("rollingUpdate").is_some_and(Value::is_object) {
        strategy["rollingUpdate"] = json!({});
    }
    strategy["rollingUpdate"]["partition"] = json!(partition);
    strategy
}

/// The JSON-patch operation that sets one annotation, creating the map if needed.
fn set_annotation(set: &StatefulSet, key: &str, value: String) -> Value {
    if set.metadata.annotations.is_some() {
        let pointer = format!(
            "/metadata/annotations/{}",
            key.replace('~', "~0").replace('/', "~1")
        );
        json!({"op": "add", "path": pointer, "value": value})
    } else {
        json!({"op": "add", "path": "/metadata/annotations", "value": BTreeMap::from([(key.to_string(), value)])})
    }
}

/// A failed `test` operation: the object changed since we read it.
fn is_stale(status: &kube::core::Status) -> bool {
    status.code == 409
        || (status.code == 422
            && (status.message.contains("did not match") || status.message.contains("test failed")))
}

/// How long one request keeps being retried through transient server errors
/// before the canary gives up on it (the pods keep running meanwhile).
const TRANSIENT_RETRY_BUDGET: Duration = Duration::from_secs(60);

/// Sends a request again while it fails transiently, within the budget. Only
/// for requests that are safe to repeat: reads, deletes by name, merge patches
/// of our own annotations, and `write`'s guarded patches (a repeat after a
/// lost answer fails its `test` and is re-read, or sets the same values again).
async fn retry_transient<T, F, Fut>(what: &str, request: F) -> std::result::Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    retry::within(what, TRANSIENT_RETRY_BUDGET, request).await
}

pub async fn run(context: &Context, args: CanaryArgs, format: OutputFormat) -> Result<Outcome> {
    let connection = context.connect().await?;
    let sets: Api<StatefulSet> = Api::namespaced(connection.client.clone(), &connection.namespace);
    let found = retry_transient("reading the statefulset", || sets.get_opt(&args.name))
        .await
        .map_err(|e| connection.error(e))?;
    let set = match found {
        Some(set) => set,
        // Let the connection say which sets exist.
        None => connection.statefulset(&args.name).await?,
    };
    let recorded = recorded_state(&set)?;

    if args.status {
        return show_status(&set, recorded.as_ref(), format);
    }
    if args.promote || args.abort {
        return send_request(&connection, &set, recorded, &args).await;
    }

    let namespace = sts::namespace(&set).to_string();
    let holder = Holder {
        id: uuid::Uuid::new_v4().to_string(),
        host: this_host(),
        pid: std::process::id(),
    };
    let reference = ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("StatefulSet".into()),
        name: Some(args.name.clone()),
        namespace: Some(namespace.clone()),
        uid: set.metadata.uid.clone(),
        ..Default::default()
    };
    let resumed = if args.resume { recorded.as_ref() } else { None };
    let gates = super::gate_settings(&args, resumed.and_then(|s| s.gates.as_ref()))
        .map_err(Error::Usage)?;
    let pause = super::parse_pause(gates.pause.as_deref()).map_err(Error::Usage)?;
    let mode = match resumed {
        Some(state) => state.mode,
        None if args.on_delete => Mode::OnDelete,
        None => Mode::Partition,
    };
    let recorder = Recorder::new(
        connection.client.clone(),
        Reporter {
            controller: FIELD_MANAGER.to_string(),
            instance: Some(holder.id.clone()),
        },
    );
    let mut canary = Canary {
        connection: &connection,
        api: Api::namespaced(connection.client.clone(), &namespace),
        name: args.name.clone(),
        namespace,
        args: &args,
        gates,
        pause,
        mode,
        reporting: Reporting {
            json: format == OutputFormat::Json,
        },
        recorder,
        reference,
        holder,
        new_template: set.spec.template.clone(),
        lease_released: false,
    };

    if args.resume {
        let Some(state) = recorded else {
            return Err(Error::Failed(format!(
                "statefulset \"{}\" has no recorded canary to resume",
                args.name
            )));
        };
        if !state.phase.is_active() {
            return Err(Error::Failed(format!(
                "the canary of \"{}\" already ended ({:?}); start a new one instead",
                args.name, state.phase
            )));
        }
        if !state::may_take_over(&state, jiff::Timestamp::now(), &this_host(), process_alive) {
            return Err(Error::Failed(format!(
                "the canary of \"{}\" is still driven by {} (pid {} on {}) until {}; wait for its lease to expire",
                args.name,
                state.holder.id,
                state.holder.pid,
                state.holder.host,
                state.lease_expires_at
            )));
        }
        return canary.drive(state, true).await;
    }

    canary.start(set, recorded).await
}

fn show_status(
    set: &StatefulSet,
    recorded: Option<&CanaryState>,
    format: OutputFormat,
) -> Result<Outcome> {
    let Some(state) = recorded else {
        output::print(&format!(
            "statefulset \"{}\" has no canary recorded\n",
            sts::name(set)
        ))?;
        return Ok(Outcome::Success);
    };
    if format == OutputFormat::Json {
        output::print(&output::to_json(state)?)?;
        return Ok(Outcome::Success);
    }
    let replicas = replicas_of(set);
    let step = match state.current_step {
        Some(index) => format!("{} of {}", index + 1, state.steps.len()),
        None => format!("gate (0 of {})", state.steps.len()),
    };
    let gates = match &state.gates {
        Some(g) => format!(
            "soak {:?}, at most {} restart(s), step timeout {:?}{}{}{}{}",
            g.soak(),
            g.max_restarts,
            g.step_timeout(),
            g.check
                .as_ref()
                .map(|c| format!(", check `{c}`"))
                .unwrap_or_default(),
            g.pause
                .as_ref()
                .map(|p| format!(", pause {p}"))
                .unwrap_or_default(),
            if g.no_rollback { ", no rollback" } else { "" },
            if g.rollback_on_interrupt {
                ", rollback on interrupt"
            } else {
                ""
            },
        ),
        None => "not recorded (written by an older kubectl-sts)".to_string(),
    };
    let mode = match state.mode {
        Mode::Partition => "partition",
        Mode::OnDelete => "OnDelete (the canary deletes pods)",
    };
    output::print(&format!(
        "Canary of statefulset {}: {:?}\n  mode:       {mode}\n  step:       {step}, partition {}\n  gates:      {gates}\n  revisions:  {} -> {}\n  original partition: {}\n  holder:     {} (pid {} on {}), lease until {}\n  started:    {}\n  updated:    {}\n  message:    {}\n",
        sts::name(set),
        state.phase,
        state.current_partition(replicas),
        state.from_revision,
        state.to_revision.as_deref().unwrap_or("(not observed yet)"),
        state.original_partition,
        state.holder.id,
        state.holder.pid,
        state.holder.host,
        state.lease_expires_at,
        state.started_at,
        state.updated_at,
        state.message,
    ))?;
    Ok(Outcome::Success)
}

/// `--promote` / `--abort` from another terminal: record the request on the set.
async fn send_request(
    connection: &Connection,
    set: &StatefulSet,
    recorded: Option<CanaryState>,
    args: &CanaryArgs,
) -> Result<Outcome> {
    let name = sts::name(set);
    let Some(state) = recorded.filter(|s| s.phase.is_active()) else {
        return Err(Error::Failed(format!(
            "statefulset \"{name}\" has no canary in progress"
        )));
    };
    let request = match (args.abort, args.full) {
        (true, _) => Request::Abort,
        (false, true) => Request::PromoteFull,
        (false, false) => Request::Promote,
    };
    if request != Request::Abort && state.phase == Phase::RollingBack {
        return Err(Error::Failed(format!(
            "the canary of \"{name}\" is rolling back; it cannot be promoted"
        )));
    }
    let pending = PendingRequest {
        id: uuid::Uuid::new_v4().to_string(),
        request,
        at: now_string(),
    };
    let patch = json!({"metadata": {"annotations": {REQUEST_ANNOTATION: pending.to_json()}}});
    let api: Api<StatefulSet> = Api::namespaced(connection.client.clone(), sts::namespace(set));
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let patch = Patch::Merge(&patch);
    retry_transient("recording the request", || api.patch(name, &params, &patch))
        .await
        .map_err(|e| connection.error(e))?;
    let what = match request {
        Request::Abort => "abort",
        Request::Promote => "promotion",
        Request::PromoteFull => "full promotion",
    };
    let driver =
        if state::may_take_over(&state, jiff::Timestamp::now(), &this_host(), process_alive) {
            format!(
                "; no process drives it now: run `kubectl sts canary {name} --resume` to act on it"
            )
        } else {
            String::new()
        };
    output::print(&format!(
        "requested {what} of the canary of statefulset {name}{driver}\n"
    ))?;
    Ok(Outcome::Success)
}

impl Canary<'_> {
    /// The partition to write with a state change: none under OnDelete,
    /// where the controller ignores it.
    fn partition_write(&self, partition: u32) -> Option<u32> {
        match self.mode {
            Mode::Partition => Some(partition),
            Mode::OnDelete => None,
        }
    }

    /// OnDelete: delete the next pod at or above `partition` that is not on
    /// `target_revision` (the controller recreates it on the update revision),
    /// once the pods above it are there and Ready. `deleted` holds the uids
    /// already deleted, so a view that has not caught up does not delete twice.
    async fn delete_next(
        &self,
        state: &CanaryState,
        view: &LiveView,
        partition: u32,
        target_revision: &str,
        deleted: &mut Vec<String>,
    ) -> Result<()> {
        let Some(set) = view.set() else {
            return Ok(());
        };
        let pods = view.pods();
        let Some(pod) = gate::next_deletion(&set, &pods, partition, target_revision) else {
            return Ok(());
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if deleted.contains(&uid) {
            return Ok(());
        }
        let from = sts::pod_revision(pod).unwrap_or("no revision").to_string();
        // The uid precondition: never delete the replacement by mistake.
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        let pods_api: Api<Pod> = Api::namespaced(self.connection.client.clone(), &self.namespace);
        match retry_transient("deleting a pod", || pods_api.delete(&name, &params)).await {
            Ok(_) => {}
            // Gone already, or already replaced: nothing left to delete.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(err) => return Err(self.connection.error(err)),
        }
        deleted.push(uid);
        let message =
            format!("deleted {name} (on {from}): the controller recreates it on {target_revision}");
        self.event(EventType::Normal, "CanaryPodDeleted", message.clone())
            .await;
        let replicas = replicas_of(&set);
        self.reporting.say(&self.name, state, replicas, &message)
    }

    async fn event(&self, type_: EventType, reason: &str, note: String) {
        let event = KubeEvent {
            type_,
            reason: reason.to_string(),
            note: Some(note),
            action: "Canary".to_string(),
            secondary: None,
        };
        if let Err(err) = self.recorder.publish(&event, &self.reference).await {
            tracing::warn!("could not record event {reason}: {err}");
        }
    }

    fn params(&self) -> PatchParams {
        PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..Default::default()
        }
    }

    /// Write the state (and optionally a partition and a template) in one
    /// request. The state annotation is tested against what was just read, so
    /// a driver that lost its canary to another cannot overwrite it; writes that
    /// replace the template also test the resourceVersion. Refuses when someone
    /// else changed the template.
    async fn write(
        &self,
        state: &mut CanaryState,
        partition: Option<u32>,
        template: Option<&PodTemplateSpec>,
        check_template: bool,
    ) -> Result<StatefulSet> {
        for _attempt in 0..30 {
            let live = retry_transient("reading the statefulset", || self.api.get(&self.name))
                .await
                .map_err(|e| self.connection.error(e))?;
            if check_template && template.is_none() && live.spec.template != self.new_template {
                return Err(Error::Failed(format!(
                    "someone else changed the pod template of statefulset {} during the canary; stopping without touching it (see `kubectl sts history {}`)",
                    self.name, self.name
                )));
            }
            state.updated_at = now_string();
            state.lease_expires_at = if self.lease_released {
                state.updated_at.clone()
            } else {
                lease_until()
            };
            state.holder = self.holder.clone();
            let mut operations = Vec::new();
            if let Some(current) = live
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(STATE_ANNOTATION))
            {
                let pointer = format!(
                    "/metadata/annotations/{}",
                    STATE_ANNOTATION.replace('/', "~1")
                );
                operations.push(json!({"op": "test", "path": pointer, "value": current}));
            }
            if let Some(template) = template {
                operations.push(json!({
                    "op": "test", "path": "/metadata/resourceVersion", "value": live.metadata.resource_version,
                }));
                operations
                    .push(json!({"op": "replace", "path": "/spec/template", "value": template}));
            }
            if let Some(partition) = partition {
                operations.push(json!({
                    "op": "add", "path": "/spec/updateStrategy", "value": strategy_with_partition(&live, partition),
                }));
            }
            operations.push(set_annotation(&live, STATE_ANNOTATION, state.to_json()));
            let patch: json_patch::Patch = serde_json::from_value(Value::Array(operations))
                .map_err(|e| Error::Failed(format!("cannot build the patch: {e}")))?;
            let params = self.params();
            let patch = Patch::<()>::Json(patch);
            match retry_transient("recording the canary state", || {
                self.api.patch(&self.name, &params, &patch)
            })
            .await
            {
                Ok(written) => return Ok(written),
                Err(kube::Error::Api(status)) if is_stale(&status) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(err) => return Err(self.connection.error(err)),
            }
        }
        Err(Error::Failed(format!(
            "statefulset {} keeps changing under us; could not record the canary state",
            self.name
        )))
    }

    async fn start(&mut self, set: StatefulSet, recorded: Option<CanaryState>) -> Result<Outcome> {
        if let Some(existing) = recorded.filter(|s| s.phase.is_active()) {
            let hint = if state::may_take_over(
                &existing,
                jiff::Timestamp::now(),
                &this_host(),
                process_alive,
            ) {
                "its driver is gone: continue it with --resume, or roll it back with --abort then --resume"
            } else {
                "wait for it, or stop it with --abort"
            };
            return Err(Error::Failed(format!(
                "statefulset \"{}\" already has a canary in progress ({:?}); {hint}",
                self.name, existing.phase
            )));
        }
        match (sts::update_strategy(&set), self.mode) {
            ("RollingUpdate", Mode::Partition) | ("OnDelete", Mode::OnDelete) => {}
            ("OnDelete", Mode::Partition) => {
                return Err(Error::Failed(format!(
                    "statefulset \"{}\" uses the OnDelete update strategy: the controller ignores the partition and only replaces pods that someone deletes, so a partition canary cannot work; run it with --on-delete to have the canary delete pods itself, one at a time from the highest ordinal down, or switch the set to RollingUpdate",
                    self.name
                )));
            }
            ("RollingUpdate", Mode::OnDelete) => {
                return Err(Error::Failed(format!(
                    "--on-delete is for OnDelete StatefulSets; \"{}\" uses RollingUpdate, so the canary steps its partition and the controller replaces the pods: drop --on-delete",
                    self.name
                )));
            }
            (other, _) => {
                return Err(Error::Failed(format!(
                    "statefulset \"{}\" has the unknown update strategy {other}; a canary needs RollingUpdate (or OnDelete with --on-delete)",
                    self.name
                )));
            }
        }
        let replicas = replicas_of(&set);
        let status = set.status.clone().unwrap_or_default();
        let (Some(current), Some(update)) = (
            status.current_revision.clone(),
            status.update_revision.clone(),
        ) else {
            return Err(Error::Failed(format!(
                "statefulset \"{}\" has not been observed by its controller yet; try again in a moment",
                self.name
            )));
        };
        // Kubernetes before 1.36 never advances currentRevision under OnDelete:
        // there, every pod on the update revision means the rollout is done.
        let all_updated = status.updated_replicas.unwrap_or(0) == sts::desired_replicas(&set)
            && status.replicas == sts::desired_replicas(&set);
        let current = if current == update || (self.mode == Mode::OnDelete && all_updated) {
            update
        } else {
            return Err(Error::Failed(format!(
                "statefulset \"{}\" is already rolling out (revision {current} -> {update}); let it finish or `kubectl sts undo {}` first",
                self.name, self.name
            )));
        };
        let source = if !self.args.image.is_empty() {
            ChangeSource::Images(change::parse_images(&self.args.image).map_err(Error::Usage)?)
        } else if let Some(path) = &self.args.patch {
            ChangeSource::Patch(read_input(path)?)
        } else if let Some(path) = &self.args.from {
            ChangeSource::Manifest(read_input(&path.to_string_lossy())?)
        } else {
            return Err(Error::Usage(
                "say what to roll out: --image, --patch or --from".into(),
            ));
        };
        let new_template = change::new_template(&set, &source).map_err(Error::Failed)?;
        let steps = plan::parse_steps(self.args.steps.as_deref().unwrap_or(plan::DEFAULT_STEPS))
            .map_err(Error::Usage)?;
        if replicas == 0 {
            return Err(Error::Failed(format!(
                "statefulset \"{}\" has 0 replicas: there is no pod to canary; scale it up first",
                self.name
            )));
        }
        let planned =
            plan::plan(&steps, replicas, sts::ordinal_start(&set)).map_err(Error::Usage)?;
        let diff = revisions::template_diff(
            "live template",
            &set.spec.template,
            "canary template",
            &new_template,
        )
        .map_err(Error::Failed)?;
        if !self.reporting.json {
            output::print(&plan::describe(&planned, replicas, &self.name, self.mode))?;
            output::print(&format!(
                "  gates: Ready for {:?} with at most {} restart(s), each step within {:?}{}\n",
                self.gates.soak(),
                self.gates.max_restarts,
                self.gates.step_timeout(),
                self.gates
                    .check
                    .as_ref()
                    .map(|c| format!(", `{c}` exits 0"))
                    .unwrap_or_default()
            ))?;
            output::print(&super::super::history::colour_diff(&diff, false))?;
        }
        if self.args.dry_run {
            output::print("dry run: nothing was changed\n")?;
            return Ok(Outcome::Success);
        }
        // The one confirmation covers everything the canary then does,
        // including the pod deletions of an OnDelete canary and of a rollback.
        let action = match self.mode {
            Mode::Partition => format!(
                "Start the canary of {}/{}: change its pod template and lower the partition in {} step(s)",
                self.namespace,
                self.name,
                planned.len()
            ),
            Mode::OnDelete => format!(
                "Start the canary of {}/{}: change its pod template, then delete its {replicas} pod(s) one at a time from the highest ordinal, in {} step(s)",
                self.namespace,
                self.name,
                planned.len()
            ),
        };
        if !prompt::confirm(&action, self.args.yes)? {
            output::print("Canary cancelled; nothing was changed.\n")?;
            return Ok(Outcome::Failed);
        }
        self.new_template = new_template.clone();
        let now = now_string();
        let mut state = CanaryState {
            version: STATE_VERSION,
            mode: self.mode,
            from_revision: current,
            to_revision: None,
            original_partition: sts::partition(&set),
            steps: planned,
            current_step: None,
            gates: Some(self.gates.clone()),
            phase: Phase::Starting,
            holder: self.holder.clone(),
            lease_expires_at: lease_until(),
            started_at: now.clone(),
            updated_at: now,
            handled_request: None,
            message: match self.mode {
                Mode::Partition => "template changed; partition at the gate".to_string(),
                Mode::OnDelete => "template changed; no pod deleted yet".to_string(),
            },
        };
        let (gate, started, said) = match self.mode {
            Mode::Partition => (
                Some(replicas),
                format!(
                    "canary started: partition {replicas} (gate), {} step(s) to partition 0",
                    state.steps.len()
                ),
                format!(
                    "canary started: template changed, partition raised to {replicas} (no pod updated yet)"
                ),
            ),
            // OnDelete: the controller replaces nothing by itself, so the template alone is safe.
            Mode::OnDelete => (
                None,
                format!(
                    "canary started (OnDelete): {} step(s), the canary deletes the pods",
                    state.steps.len()
                ),
                "canary started: template changed (OnDelete: no pod updated until the canary deletes it)".to_string(),
            ),
        };
        self.write(&mut state, gate, Some(&new_template), false)
            .await?;
        self.event(EventType::Normal, "CanaryStarted", started)
            .await;
        self.reporting.say(&self.name, &state, replicas, &said)?;
        self.drive(state, false).await
    }

    /// Run (or resume) the steps from the recorded state.
    async fn drive(&mut self, mut state: CanaryState, resumed: bool) -> Result<Outcome> {
        let set = retry_transient("reading the statefulset", || self.api.get(&self.name))
            .await
            .map_err(|e| self.connection.error(e))?;
        if resumed {
            self.new_template = set.spec.template.clone();
            // Gate flags given to --resume win, and a later resume keeps them.
            state.gates = Some(self.gates.clone());
            // Take the canary over: from here on the recorded holder is us.
            self.write(&mut state, None, None, false).await?;
            let abort_pending = state::unhandled(&state, recorded_request(&set)?.as_ref())
                .is_some_and(|r| r.request == Request::Abort);
            if state.phase == Phase::RollingBack || abort_pending {
                let mut view = LiveView::start(self.connection, &set);
                view.ready().await?;
                return self
                    .roll_back(&mut state, &mut view, "resumed an interrupted rollback")
                    .await;
            }
            self.reporting.say(
                &self.name,
                &state,
                replicas_of(&set),
                &format!(
                    "resuming the canary at {}",
                    state
                        .current_step
                        .map(|s| format!("step {}", s + 1))
                        .unwrap_or_else(|| "the gate".into())
                ),
            )?;
        }
        let mut view = LiveView::start(self.connection, &set);
        view.ready().await?;

        // The controller must observe the new template before we know its revision.
        if state.to_revision.is_none() {
            let to_revision = self.await_new_revision(&mut view, &state).await?;
            state.to_revision = Some(to_revision);
        }
        let first = state.current_step.unwrap_or(0);
        let mut index = first;
        // Ctrl-C ends the step where it is: the recorded state says what happened.
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        while index < state.steps.len() {
            let outcome = tokio::select! {
                outcome = self.run_step(&mut state, &mut view, index) => outcome?,
                _ = &mut interrupt => StepResult::Interrupted,
            };
            match outcome {
                StepResult::Interrupted => return self.interrupted(&mut view).await,
                StepResult::Next => index += 1,
                StepResult::JumpToLast => index = state.steps.len() - 1,
                StepResult::Failed(reason) => {
                    if self.gates.no_rollback {
                        state.phase = Phase::Stopped;
                        state.message = format!(
                            "failed at step {}: {reason}; left as it is (--no-rollback)",
                            index + 1
                        );
                        self.write(&mut state, None, None, false).await?;
                        self.event(EventType::Warning, "CanaryStopped", state.message.clone())
                            .await;
                        self.reporting
                            .say(&self.name, &state, 0, &state.message.clone())?;
                        return Ok(Outcome::Failed);
                    }
                    return self
                        .roll_back(
                            &mut state,
                            &mut view,
                            &format!("step {} failed: {reason}", index + 1),
                        )
                        .await;
                }
                StepResult::Aborted => {
                    return self
                        .roll_back(&mut state, &mut view, "aborted on request")
                        .await;
                }
            }
        }
        // Done: put the partition back where it was.
        let replicas = view.set().map(|s| replicas_of(&s)).unwrap_or(0);
        state.phase = Phase::Succeeded;
        state.message = match self.mode {
            Mode::Partition => format!(
                "all {replicas} pods on revision {}; partition back to {}",
                state.to_revision.as_deref().unwrap_or("?"),
                state.original_partition
            ),
            Mode::OnDelete => format!(
                "all {replicas} pods on revision {}",
                state.to_revision.as_deref().unwrap_or("?"),
            ),
        };
        let original = self.partition_write(state.original_partition.max(0) as u32);
        self.write(&mut state, original, None, true).await?;
        self.event(EventType::Normal, "CanarySucceeded", state.message.clone())
            .await;
        self.reporting.say(
            &self.name,
            &state,
            replicas,
            &format!("canary succeeded: {}", state.message),
        )?;
        Ok(Outcome::Success)
    }

    /// After Ctrl-C: roll back with `--rollback-on-interrupt`, else leave the
    /// canary where it is, resumable at once (its lease released).
    async fn interrupted(&mut self, view: &mut LiveView) -> Result<Outcome> {
        // The step was cut short, possibly mid-write: go by what the cluster recorded.
        let set = retry_transient("reading the statefulset", || self.api.get(&self.name))
            .await
            .map_err(|e| self.connection.error(e))?;
        let Some(mut state) = recorded_state(&set)?.filter(|s| s.holder.id == self.holder.id)
        else {
            return Ok(Outcome::Failed);
        };
        if self.gates.rollback_on_interrupt {
            return self
                .roll_back(&mut state, view, "interrupted (Ctrl-C)")
                .await;
        }
        exit_on_ctrl_c();
        let at = state
            .current_step
            .map(|s| format!("step {} of {}", s + 1, state.steps.len()))
            .unwrap_or_else(|| "the gate".to_string());
        state.message = format!(
            "interrupted at {at}; continue with `kubectl sts canary {name} --resume`, or roll back with `kubectl sts canary {name} --abort` then --resume",
            name = self.name
        );
        self.lease_released = true;
        self.write(&mut state, None, None, false).await?;
        self.event(
            EventType::Warning,
            "CanaryInterrupted",
            state.message.clone(),
        )
        .await;
        self.reporting.say(
            &self.name,
            &state,
            replicas_of(&set),
            &state.message.clone(),
        )?;
        Ok(Outcome::Failed)
    }

    async fn await_new_revision(&self, view: &mut LiveView, state: &CanaryState) -> Result<String> {
        let deadline = Instant::now() + self.gates.step_timeout();
        loop {
            if let Some(set) = view.set() {
                let status = set.status.clone().unwrap_or_default();
                let observed =
                    status.observed_generation.unwrap_or(0) >= set.metadata.generation.unwrap_or(0);
                if let Some(update) = status
                    .update_revision
                    .filter(|u| observed && *u != state.from_revision)
                {
                    return Ok(update);
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    after: format!("{:?}", self.gates.step_timeout()),
                    what: "the StatefulSet controller did not observe the new template".into(),
                });
            }
            view.next_change().await;
        }
    }

    async fn run_step(
        &mut self,
        state: &mut CanaryState,
        view: &mut LiveView,
        index: usize,
    ) -> Result<StepResult> {
        let step = state.steps[index].clone();
        let to_revision = state.to_revision.clone().unwrap_or_default();
        let replicas = view.set().map(|s| replicas_of(&s)).unwrap_or(0);
        if state.current_step != Some(index) || matches!(state.phase, Phase::Starting) {
            state.current_step = Some(index);
            state.phase = Phase::Stepping;
            state.message = format!(
                "step {} of {}: partition {}",
                index + 1,
                state.steps.len(),
                step.partition
            );
            // OnDelete: recorded before any pod of the step is deleted, so a
            // resumed canary never deletes below the step in force.
            self.write(state, self.partition_write(step.partition), None, true)
                .await?;
            let described = describe_step(&self.name, index, state.steps.len(), &step, self.mode);
            self.event(EventType::Normal, "CanaryStep", described.clone())
                .await;
            self.reporting
                .say(&self.name, state, replicas, &described)?;
        }

        // Wait for the gate (OnDelete: deleting the step's pods one at a time).
        let deadline = Instant::now() + self.gates.step_timeout();
        let mut last_reason = String::new();
        let mut last_renewal = Instant::now();
        let mut deleted = Vec::new();
        loop {
            if let Some(result) = self.check_requests(state, view)? {
                return Ok(result);
            }
            match self.gate(view, step.partition, &to_revision)? {
                GateOutcome::Open => break,
                GateOutcome::Failed(reason) => return Ok(StepResult::Failed(reason)),
                GateOutcome::Waiting(reason) => {
                    if self.mode == Mode::OnDelete {
                        self.delete_next(state, view, step.partition, &to_revision, &mut deleted)
                            .await?;
                    }
                    if reason != last_reason {
                        self.reporting.say(
                            &self.name,
                            state,
                            replicas,
                            &format!("waiting: {reason}"),
                        )?;
                        last_reason = reason;
                    }
                }
            }
            if Instant::now() > deadline {
                return Ok(StepResult::Failed(format!(
                    "not Ready within --step-timeout {:?}: {last_reason}",
                    self.gates.step_timeout()
                )));
            }
            self.renew_if_due(state, &mut last_renewal).await?;
            view.next_change().await;
        }
        self.reporting.say(
            &self.name,
            state,
            replicas,
            &format!(
                "step {}: {} pod(s) on {to_revision} Ready; soaking for {:?}",
                index + 1,
                step.updated_pods,
                self.gates.soak()
            ),
        )?;

        // Soak: the gate must stay open.
        state.phase = Phase::Soaking;
        state.message = format!("step {} of {}: soaking", index + 1, state.steps.len());
        self.write(state, None, None, true).await?;
        let soak_end = Instant::now() + self.gates.soak();
        let mut last_renewal = Instant::now();
        while Instant::now() < soak_end {
            if let Some(result) = self.check_requests(state, view)? {
                return Ok(result);
            }
            match self.gate(view, step.partition, &to_revision)? {
                GateOutcome::Open => {}
                GateOutcome::Failed(reason) | GateOutcome::Waiting(reason) => {
                    return Ok(StepResult::Failed(format!("during the soak: {reason}")));
                }
            }
            self.renew_if_due(state, &mut last_renewal).await?;
            view.next_change().await;
        }

        if let Some(command) = self.gates.check.clone() {
            for ordinal in step.ordinals.clone().rev() {
                let pod = sts::pod_name(&self.name, ordinal);
                if let Err(reason) = self.run_check(&pod, &command).await {
                    return Ok(StepResult::Failed(format!("--check in {pod}: {reason}")));
                }
            }
            self.reporting.say(
                &self.name,
                state,
                replicas,
                &format!(
                    "step {}: `{command}` passed in every updated pod",
                    index + 1
                ),
            )?;
        }

        let last = index + 1 == state.steps.len();
        if last {
            return Ok(StepResult::Next);
        }
        self.wait_pause(state, view, index).await
    }

    async fn wait_pause(
        &mut self,
        state: &mut CanaryState,
        view: &mut LiveView,
        index: usize,
    ) -> Result<StepResult> {
        let replicas = view.set().map(|s| replicas_of(&s)).unwrap_or(0);
        let until = match self.pause {
            Pause::None => return Ok(StepResult::Next),
            Pause::For(duration) => Some(Instant::now() + duration),
            Pause::Manual => None,
        };
        state.phase = Phase::Paused;
        state.message = match until {
            Some(_) => format!("paused after step {}", index + 1),
            None => format!(
                "paused after step {}: promote with `kubectl sts canary {} --promote`",
                index + 1,
                self.name
            ),
        };
        self.write(state, None, None, true).await?;
        self.event(EventType::Normal, "CanaryPaused", state.message.clone())
            .await;
        self.reporting
            .say(&self.name, state, replicas, &state.message.clone())?;
        let mut key_press = key_press_channel(self.args.yes);
        let mut last_renewal = Instant::now();
        loop {
            if let Some(result) = self.check_requests(state, view)? {
                if matches!(result, StepResult::Next | StepResult::JumpToLast) {
                    self.event(
                        EventType::Normal,
                        "CanaryPromoted",
                        format!("promoted after step {}", index + 1),
                    )
                    .await;
                }
                return Ok(result);
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                return Ok(StepResult::Next);
            }
            if let Some(rx) = key_press.as_mut()
                && rx.try_recv().is_ok()
            {
                self.event(
                    EventType::Normal,
                    "CanaryPromoted",
                    format!("promoted after step {} at the terminal", index + 1),
                )
                .await;
                return Ok(StepResult::Next);
            }
            // Pods must stay healthy while paused too.
            if let Some(set) = view.set() {
                let step = &state.steps[index];
                if let GateOutcome::Failed(reason) | GateOutcome::Waiting(reason) = gate::evaluate(
                    &set,
                    &view.pods(),
                    step.partition,
                    state.to_revision.as_deref().unwrap_or_default(),
                    self.gates.max_restarts,
                ) {
                    return Ok(StepResult::Failed(format!("while paused: {reason}")));
                }
            }
            self.renew_if_due(state, &mut last_renewal).await?;
            view.next_change().await;
        }
    }

    /// The gate for `partition` as the pods are now; the set vanishing ends the canary.
    fn gate(&self, view: &LiveView, partition: u32, to_revision: &str) -> Result<GateOutcome> {
        let Some(set) = view.set() else {
            return Err(Error::Failed(format!(
                "statefulset {} was deleted during the canary",
                self.name
            )));
        };
        Ok(gate::evaluate(
            &set,
            &view.pods(),
            partition,
            to_revision,
            self.gates.max_restarts,
        ))
    }

    /// Requests from another terminal, and someone else's template change.
    fn check_requests(
        &self,
        state: &mut CanaryState,
        view: &LiveView,
    ) -> Result<Option<StepResult>> {
        let Some(set) = view.set() else {
            return Ok(None);
        };
        if set.spec.template != self.new_template {
            return Err(Error::Failed(format!(
                "someone else changed the pod template of statefulset {} during the canary; stopped without touching it (see `kubectl sts history {}`)",
                self.name, self.name
            )));
        }
        let expected = match self.mode {
            Mode::Partition => "RollingUpdate",
            Mode::OnDelete => "OnDelete",
        };
        if sts::update_strategy(&set) != expected {
            return Err(Error::Failed(format!(
                "someone switched statefulset {} from {expected} to {} during the canary, so its steps no longer hold; stopped without touching it (see `kubectl sts canary {} --status`)",
                self.name,
                sts::update_strategy(&set),
                self.name
            )));
        }
        let Some(recorded) = recorded_state(&set)? else {
            return Ok(None);
        };
        if recorded.holder.id != self.holder.id {
            return Err(Error::Failed(format!(
                "another kubectl-sts (pid {} on {}) took over this canary; stopping here",
                recorded.holder.pid, recorded.holder.host
            )));
        }
        let pending = recorded_request(&set)?;
        let Some(request) = state::unhandled(state, pending.as_ref()) else {
            return Ok(None);
        };
        // A promotion that arrives mid-step waits for the next pause.
        let result = match request.request {
            Request::Abort => Some(StepResult::Aborted),
            Request::Promote if state.phase == Phase::Paused => Some(StepResult::Next),
            Request::PromoteFull => Some(StepResult::JumpToLast),
            Request::Promote => None,
        };
        if result.is_some() {
            state.handled_request = Some(request.id.clone());
        }
        Ok(result)
    }

    async fn renew_if_due(&self, state: &mut CanaryState, last: &mut Instant) -> Result<()> {
        if last.elapsed() >= LEASE / 3 {
            self.write(state, None, None, true).await?;
            *last = Instant::now();
        }
        Ok(())
    }

    async fn run_check(&self, pod: &str, command: &str) -> std::result::Result<(), String> {
        let pods: Api<Pod> = Api::namespaced(self.connection.client.clone(), &self.namespace);
        let output = crate::podexec::run(&pods, pod, None, &["sh", "-c", command])
            .await
            .map_err(|e| format!("exec failed: {e}"))?;
        if output.success() {
            Ok(())
        } else {
            Err(output.failure())
        }
    }

    /// Restore the old template (and, while reverting, partition 0 so every
    /// pod goes back), delete updated pods stuck unready (the controller will
    /// not replace them itself), wait for every pod on the old revision, then
    /// put the original partition back.
    async fn roll_back(
        &mut self,
        state: &mut CanaryState,
        view: &mut LiveView,
        reason: &str,
    ) -> Result<Outcome> {
        exit_on_ctrl_c();
        let replicas = view.set().map(|s| replicas_of(&s)).unwrap_or(0);
        self.reporting.say(
            &self.name,
            state,
            replicas,
            &format!("rolling back: {reason}"),
        )?;
        self.event(EventType::Warning, "CanaryRollingBack", reason.to_string())
            .await;
        let revisions: Api<ControllerRevision> =
            Api::namespaced(self.connection.client.clone(), &self.namespace);
        let from = retry_transient("reading the old revision", || {
            revisions.get(&state.from_revision)
        })
        .await
        .map_err(|e| self.connection.error(e))?;
        let old_template = revisions::template_of(&from).map_err(Error::Failed)?;
        state.phase = Phase::RollingBack;
        state.message = format!("rolling back: {reason}");
        self.write(state, self.partition_write(0), Some(&old_template), false)
            .await?;
        self.new_template = old_template;

        let pods_api: Api<Pod> = Api::namespaced(self.connection.client.clone(), &self.namespace);
        let rollback_timeout = self.gates.step_timeout().max(Duration::from_secs(60));
        let deadline = Instant::now() + rollback_timeout;
        let mut deleted: Vec<String> = Vec::new();
        let mut deleted_uids: Vec<String> = Vec::new();
        // What the old revision's pods last waited on, for a timeout.
        let mut holdup: Option<String> = None;
        loop {
            let Some(set) = view.set() else {
                return Err(Error::Failed(format!(
                    "statefulset {} was deleted during the rollback",
                    self.name
                )));
            };
            let status = set.status.clone().unwrap_or_default();
            let observed =
                status.observed_generation.unwrap_or(0) >= set.metadata.generation.unwrap_or(0);
            if observed && status.update_revision.as_deref() == Some(state.from_revision.as_str()) {
                let pods = view.pods();
                // OnDelete: nothing goes back unless deleted, highest ordinal first.
                let stuck = match self.mode {
                    Mode::Partition => super::super::undo::stuck_pods(&set, &pods),
                    Mode::OnDelete => Vec::new(),
                };
                if self.mode == Mode::OnDelete {
                    let from = state.from_revision.clone();
                    self.delete_next(state, view, 0, &from, &mut deleted_uids)
                        .await?;
                }
                for pod in stuck {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    if deleted.contains(&name) {
                        continue;
                    }
                    let params = DeleteParams::default();
                    match retry_transient("deleting a stuck pod", || {
                        pods_api.delete(&name, &params)
                    })
                    .await
                    {
                        Ok(_) => {
                            self.reporting.say(
                                &self.name,
                                state,
                                replicas,
                                &format!("deleted {name}: stuck unready on the canary revision"),
                            )?;
                            deleted.push(name);
                        }
                        Err(kube::Error::Api(s)) if s.code == 404 => {}
                        Err(err) => return Err(self.connection.error(err)),
                    }
                }
                let gate = gate::evaluate(&set, &pods, 0, &state.from_revision, u32::MAX);
                if gate == GateOutcome::Open
                    && status.ready_replicas.unwrap_or(0) >= sts::desired_replicas(&set)
                {
                    break;
                }
                if let GateOutcome::Waiting(why) | GateOutcome::Failed(why) = gate {
                    holdup = Some(why);
                }
            }
            if Instant::now() > deadline {
                state.message = format!("rollback did not finish: {reason}");
                let _ = self.write(state, None, None, false).await;
                return Err(Error::Timeout {
                    after: format!("{rollback_timeout:?}"),
                    what: format!(
                        "rolling back statefulset {}{}; check it with `kubectl sts status {}`",
                        self.name,
                        holdup.map(|why| format!(" ({why})")).unwrap_or_default(),
                        self.name
                    ),
                });
            }
            view.next_change().await;
        }
        state.phase = Phase::RolledBack;
        state.message = format!("rolled back to {}: {reason}", state.from_revision);
        let original = self.partition_write(state.original_partition.max(0) as u32);
        self.write(state, original, None, false).await?;
        self.event(
            EventType::Warning,
            "CanaryRolledBack",
            state.message.clone(),
        )
        .await;
        self.reporting.say(
            &self.name,
            state,
            replicas,
            &match self.mode {
                Mode::Partition => format!(
                    "canary rolled back: every pod is on {} and Ready, partition back to {}",
                    state.from_revision, state.original_partition
                ),
                Mode::OnDelete => format!(
                    "canary rolled back: every pod is on {} and Ready",
                    state.from_revision
                ),
            },
        )?;
        Ok(Outcome::Failed)
    }
}

enum StepResult {
    Next,
    JumpToLast,
    Failed(String),
    Aborted,
    /// Ctrl-C.
    Interrupted,
}

fn describe_step(
    set_name: &str,
    index: usize,
    total: usize,
    step: &PlannedStep,
    mode: Mode,
) -> String {
    let pods: Vec<String> = step
        .ordinals
        .clone()
        .rev()
        .map(|o| sts::pod_name(set_name, o))
        .collect();
    match mode {
        Mode::Partition => format!(
            "step {} of {total} ({}): partition {} -> updating {}",
            index + 1,
            step.size,
            step.partition,
            pods.join(", ")
        ),
        Mode::OnDelete => format!(
            "step {} of {total} ({}): deleting pods not yet updated among {}, one at a time",
            index + 1,
            step.size,
            pods.join(", ")
        ),
    }
}

/// Once the canary handles Ctrl-C itself, a further Ctrl-C (during a
/// rollback, say) ends the process; the recorded state lets `--resume` finish.
fn exit_on_ctrl_c() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// A line typed at the terminal promotes a manual pause (not with --yes, which
/// means "no one is at the keyboard").
fn key_press_channel(unattended: bool) -> Option<tokio::sync::mpsc::UnboundedReceiver<()>> {
    use std::io::IsTerminal;
    if unattended || !std::io::stdin().is_terminal() {
        return None;
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_ok() {
            let _ = tx.send(());
        }
    });
    Some(rx)
}

fn read_input(path: &str) -> Result<String> {
    if path == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Error::io("reading the patch from stdin", e))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read {path}: {e}; check the path (- reads standard input)"
        ))
    })
}
