//! The node `sandbox-node`: a scheduler step and a kubelet.
//!
//! - Scheduling (`scheduler.rs`): a pod is bound once its claims are Bound;
//!   WaitForFirstConsumer claims first get `volume.kubernetes.io/selected-node`.
//! - Pod lifecycle (`timeline.rs`, `status.rs`): containers are pulled,
//!   created and started, become ready, or crash-loop / fail to pull / stay
//!   unready as their image tags ask, with upstream's statuses and events;
//!   logs and per-pod directories live where `node.rs` says.
//! - Deletion: a pod marked for deletion gets Killing events, waits its
//!   grace period (scaled), then is deleted with grace 0 and its node
//!   directories removed.
//!
//! The kubelet keeps one timer per pod (the next step of its timeline) and
//! otherwise reacts to the API's change stream, so a thousand idle pods
//! cost nothing.

pub mod scheduler;
pub mod status;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, Node, PersistentVolumeClaim, Pod, PodCondition, PodStatus,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use self::scheduler::{SchedulingDecision, claim_names, plan_scheduling};
use self::status::{
    PodStatusInput, crash_log, events_for, main_shift, pod_status, start_log, time_at,
};
use self::timeline::{
    Happening, KubeletTiming, container_steps, image_trouble, next_step_after, snapshot_at,
};
use super::events::{EventRecorder, EventType};
use super::resync::RepeatFilter;
use super::volumes::SELECTED_NODE;
use crate::sandbox::api::cluster::{
    Change, Cluster, DeleteOptions, NODE_NAME, PatchBody, Subresource, WatchEventType, WriteOptions,
};
use crate::sandbox::node;
use crate::sandbox::resources::{NODES, PERSISTENT_VOLUME_CLAIMS, PODS};

/// Event source of the kubelet.
pub const COMPONENT: &str = "kubelet";

/// How often pods waiting on the scheduler are looked at again (and their
/// FailedScheduling event repeated), as the scheduler's retry queue would.
const SCHEDULER_RETRY: Duration = Duration::from_secs(10);

/// What the kubelet remembers of a pod it runs.
struct PodRecord {
    namespace: String,
    name: String,
    /// When the kubelet took the pod (status.startTime).
    t0: Timestamp,
    t0_instant: Instant,
    /// Offset up to which happenings were reported (events, logs); `None`
    /// before the first look.
    reported_until: Option<Duration>,
    ip: Ipv4Addr,
    /// When a pod being deleted may go.
    kill_at: Option<Instant>,
    /// The pending timer, to replace it.
    timer: Option<Instant>,
    /// The status last written, so a server-normalised copy of it is not
    /// mistaken for a change to undo.
    last_written: Option<PodStatus>,
}

struct Kubelet {
    cluster: Cluster,
    data_dir: PathBuf,
    timing: KubeletTiming,
    host_ip: String,
    events: EventRecorder,
    scheduler_events: EventRecorder,
    pods: HashMap<String, PodRecord>,
    timers: BTreeSet<(Instant, String)>,
    /// Pods waiting for claims (unscheduled, or scheduled with unbound claims).
    waiting: WaitingPods,
    ips_in_use: HashSet<Ipv4Addr>,
    scheduling_reports: RepeatFilter,
}

/// Run the node until the cluster goes away.
pub async fn run(cluster: Cluster, data_dir: PathBuf, timing: KubeletTiming) {
    let mut changes = cluster.subscribe();
    let mut kubelet = Kubelet::new(cluster, data_dir, timing);
    kubelet.resync();
    let mut retry = tokio::time::interval(SCHEDULER_RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next_timer = kubelet.timers.first().map(|(at, _)| *at);
        tokio::select! {
            change = changes.recv() => match change {
                Ok(change) => kubelet.on_change(change),
                Err(RecvError::Lagged(_)) => kubelet.resync(),
                Err(RecvError::Closed) => return,
            },
            () = sleep_until_or_forever(next_timer) => kubelet.run_due_timers(),
            _ = retry.tick() => kubelet.retry_waiting(),
        }
    }
}

async fn sleep_until_or_forever(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Pods waiting for their claims, indexed by claim so that a change to one
/// claim re-examines only the pods mounting it (as the scheduler's queue
/// moves pods back on claim events), not every waiting pod.
#[derive(Default)]
struct WaitingPods {
    /// (namespace, pod) -> the claims it mounts.
    pods: BTreeMap<(String, String), Vec<String>>,
    /// (namespace, claim) -> pods mounting it.
    by_claim: HashMap<(String, String), BTreeSet<String>>,
}

impl WaitingPods {
    fn insert(&mut self, pod: &Pod) {
        let key = pod_key(pod);
        let claims = claim_names(pod);
        if self.pods.get(&key) == Some(&claims) {
            return;
        }
        self.remove(&key);
        for claim in &claims {
            self.by_claim
                .entry((key.0.clone(), claim.clone()))
                .or_default()
                .insert(key.1.clone());
        }
        self.pods.insert(key, claims);
    }

    fn remove(&mut self, key: &(String, String)) {
        let Some(claims) = self.pods.remove(key) else {
            return;
        };
        for claim in claims {
            let claim_key = (key.0.clone(), claim);
            if let Some(pods) = self.by_claim.get_mut(&claim_key) {
                pods.remove(&key.1);
                if pods.is_empty() {
                    self.by_claim.remove(&claim_key);
                }
            }
        }
    }

    fn all(&self) -> Vec<(String, String)> {
        self.pods.keys().cloned().collect()
    }

    fn using_claim(&self, (namespace, claim): &(String, String)) -> Vec<(String, String)> {
        self.by_claim
            .get(&(namespace.clone(), claim.clone()))
            .into_iter()
            .flatten()
            .map(|pod| (namespace.clone(), pod.clone()))
            .collect()
    }
}

fn pod_key(pod: &Pod) -> (String, String) {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn containers_of(pod: &Pod) -> (Vec<Container>, Vec<Container>) {
    let spec = pod.spec.clone().unwrap_or_default();
    (spec.containers, spec.init_containers.unwrap_or_default())
}

fn parse_time(time: &Time) -> Timestamp {
    time.0
}

impl Kubelet {
    fn new(cluster: Cluster, data_dir: PathBuf, timing: KubeletTiming) -> Self {
        let host_ip = cluster
            .get_typed::<Node>(None, NODE_NAME)
            .ok()
            .and_then(|n| n.status)
            .and_then(|s| s.addresses)
            .into_iter()
            .flatten()
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address)
            .unwrap_or_else(|| "127.0.0.1".into());
        Kubelet {
            events: EventRecorder::new(cluster.clone(), COMPONENT),
            scheduler_events: EventRecorder::new(cluster.clone(), scheduler::COMPONENT),
            cluster,
            data_dir,
            timing,
            host_ip,
            pods: HashMap::new(),
            timers: BTreeSet::new(),
            waiting: WaitingPods::default(),
            ips_in_use: HashSet::new(),
            scheduling_reports: RepeatFilter::default(),
        }
    }

    /// Look at every pod (at start and when changes were lost), and forget
    /// pods that are gone, on disk too.
    fn resync(&mut self) {
        let Ok(pods) = self.cluster.list_typed::<Pod>(None, None) else {
            tracing::warn!("kubelet: cannot list pods");
            return;
        };
        let alive: HashSet<String> = pods.iter().map(uid_of).collect();
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !alive.contains(*uid))
            .cloned()
            .collect();
        for uid in gone {
            self.forget(&uid);
        }
        for uid in node::pod_uids_on_disk(&self.data_dir) {
            if !alive.contains(&uid)
                && let Err(err) = node::remove_pod_dirs(&self.data_dir, &uid)
            {
                tracing::warn!(%err, "kubelet: cannot remove a departed pod's directories");
            }
        }
        for pod in pods {
            self.sync_pod(pod);
        }
    }

    fn on_change(&mut self, change: Change) {
        if change.rt == &PODS {
            let Ok(pod) = Pod::deserialize(&change.event.object) else {
                return;
            };
            if change.event.event_type == WatchEventType::Deleted {
                self.forget(&uid_of(&pod));
                self.waiting.remove(&pod_key(&pod));
            } else {
                self.sync_pod(pod);
            }
        } else if change.rt == &PERSISTENT_VOLUME_CLAIMS {
            // Only the pods mounting this claim can be unblocked by it.
            let meta = &change.event.object["metadata"];
            let claim = (
                meta["namespace"].as_str().unwrap_or_default().to_string(),
                meta["name"].as_str().unwrap_or_default().to_string(),
            );
            let pods = self.waiting.using_claim(&claim);
            self.retry(pods);
        } else if change.rt == &NODES {
            if let Ok(node) = Node::deserialize(&change.event.object) {
                self.follow_cordon(&node);
            }
            // Uncordoned: the waiting pods may fit now (upstream requeues
            // them on the node update, as the NodeUnschedulable plugin asks).
            self.retry_waiting();
        }
    }

    /// The unschedulable taint follows a cordon (`kubectl describe node`
    /// shows it), as the node lifecycle controller keeps it.
    fn follow_cordon(&self, node: &Node) {
        let now = crate::sandbox::api::cluster::now_string();
        let Some(taints) = scheduler::taints_following_cordon(node, &now) else {
            return;
        };
        if let Err(err) = self.cluster.patch(
            &NODES,
            None,
            NODE_NAME,
            PatchBody::Merge(json!({"spec": {"taints": taints}})),
            Subresource::Main,
            &WriteOptions::default(),
        ) {
            tracing::debug!(%err, "node lifecycle: cannot update the unschedulable taint");
        }
    }

    /// Pods waiting on claims get another look.
    fn retry_waiting(&mut self) {
        let pods = self.waiting.all();
        self.retry(pods);
    }

    fn retry(&mut self, pods: Vec<(String, String)>) {
        for (namespace, name) in pods {
            match self.cluster.get_typed::<Pod>(Some(&namespace), &name) {
                Ok(pod) => self.sync_pod(pod),
                Err(_) => {
                    self.waiting.remove(&(namespace, name));
                }
            }
        }
    }

    fn run_due_timers(&mut self) {
        let now = Instant::now();
        let due: Vec<(Instant, String)> = self
            .timers
            .iter()
            .take_while(|(at, _)| *at <= now)
            .cloned()
            .collect();
        for (at, uid) in due {
            self.timers.remove(&(at, uid.clone()));
            let Some(record) = self.pods.get_mut(&uid) else {
                continue;
            };
            record.timer = None;
            let (namespace, name) = (record.namespace.clone(), record.name.clone());
            match self.cluster.get_typed::<Pod>(Some(&namespace), &name) {
                Ok(pod) if uid_of(&pod) == uid => self.sync_pod(pod),
                _ => self.forget(&uid),
            }
        }
    }

    fn set_timer(&mut self, uid: &str, at: Option<Instant>) {
        let Some(record) = self.pods.get_mut(uid) else {
            return;
        };
        if record.timer == at {
            return;
        }
        if let Some(old) = record.timer.take() {
            self.timers.remove(&(old, uid.to_string()));
        }
        if let Some(at) = at {
            record.timer = Some(at);
            self.timers.insert((at, uid.to_string()));
        }
    }

    /// The pod is gone: free what the node held for it.
    fn forget(&mut self, uid: &str) {
        self.set_timer(uid, None);
        self.scheduling_reports.forget(uid);
        if let Some(record) = self.pods.remove(uid) {
            self.ips_in_use.remove(&record.ip);
        }
        if let Err(err) = node::remove_pod_dirs(&self.data_dir, uid) {
            tracing::warn!(%err, "kubelet: cannot remove a pod's directories");
        }
    }

    fn sync_pod(&mut self, pod: Pod) {
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if pod.metadata.deletion_timestamp.is_some() {
            if !node_name.is_empty() {
                self.sync_terminating(&pod);
            }
            return;
        }
        if node_name.is_empty() {
            self.schedule(&pod);
            return;
        }
        if node_name != NODE_NAME {
            return;
        }
        let uid = uid_of(&pod);
        if !self.pods.contains_key(&uid) {
            if !self.claims_bound(&pod) {
                self.waiting.insert(&pod);
                return;
            }
            self.waiting.remove(&pod_key(&pod));
            self.admit(&pod);
        }
        self.advance(pod);
    }

    /// Every claim the pod mounts is Bound (the kubelet cannot mount otherwise).
    fn claims_bound(&self, pod: &Pod) -> bool {
        let namespace = pod.metadata.namespace.as_deref();
        claim_names(pod).iter().all(|name| {
            self.cluster
                .get_typed::<PersistentVolumeClaim>(namespace, name)
                .ok()
                .and_then(|c| c.status)
                .and_then(|s| s.phase)
                .as_deref()
                == Some("Bound")
        })
    }

    /// Take a pod: a fresh one starts now; one the kubelet already reported
    /// on (a sandbox restart) continues from its startTime, without
    /// repeating what it already reported.
    fn admit(&mut self, pod: &Pod) {
        let uid = uid_of(pod);
        let status = pod.status.clone().unwrap_or_default();
        let now = Timestamp::now();
        let now_instant = Instant::now();
        let started = status.start_time.as_ref().map(parse_time);
        let (t0, t0_instant, reported_until) = match started {
            Some(t0) if status.container_statuses.is_some() => {
                let elapsed = Duration::try_from(now.duration_since(t0)).unwrap_or_default();
                let t0_instant = now_instant.checked_sub(elapsed).unwrap_or(now_instant);
                (t0, t0_instant, Some(elapsed))
            }
            _ => (now, now_instant, None),
        };
        let ip = status
            .pod_ip
            .as_deref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            .filter(|ip| !self.ips_in_use.contains(ip))
            .unwrap_or_else(|| self.allocate_ip());
        self.ips_in_use.insert(ip);
        let (namespace, name) = pod_key(pod);
        self.pods.insert(
            uid,
            PodRecord {
                namespace,
                name,
                t0,
                t0_instant,
                reported_until,
                ip,
                kill_at: None,
                timer: None,
                last_written: None,
            },
        );
    }

    /// The next free address of the node's pod range, handed out in order
    /// from 10.244.0.2 as host-local IPAM does (the /24 first, then on).
    fn allocate_ip(&self) -> Ipv4Addr {
        (2..65_534u32)
            .map(|n| Ipv4Addr::new(10, 244, (n >> 8) as u8, (n & 0xff) as u8))
            .find(|ip| {
                let last = ip.octets()[3];
                last != 0 && last != 255 && !self.ips_in_use.contains(ip)
            })
            .unwrap_or(Ipv4Addr::new(10, 244, 0, 2))
    }

    /// Replay the pod's timeline up to now: report what happened since the
    /// last look, write the status if it changed, and set the next timer.
    fn advance(&mut self, pod: Pod) {
        let uid = uid_of(&pod);
        let Some(record) = self.pods.get(&uid) else {
            return;
        };
        let offset = Instant::now().saturating_duration_since(record.t0_instant);
        let reported_until = record.reported_until;
        let (t0, t0_instant, ip) = (record.t0, record.t0_instant, record.ip);
        let (containers, init_containers) = containers_of(&pod);
        let shift = main_shift(&init_containers, &self.timing);
        let new = |at: Duration| reported_until.is_none_or(|until| at > until) && at <= offset;

        // Init containers: pulled, created and started at once, done after the start delay.
        for container in &init_containers {
            for (at, happening) in [
                (Duration::ZERO, Happening::Pulling),
                (self.timing.start_delay, Happening::Pulled { fresh: true }),
                (self.timing.start_delay, Happening::Created),
                (self.timing.start_delay, Happening::Started),
            ] {
                if new(at) {
                    self.report(&pod, container, happening, t0, at);
                }
            }
        }

        let main_offset = offset.saturating_sub(shift);
        let mut snapshots = Vec::with_capacity(containers.len());
        let mut next: Option<Duration> = None;
        for container in &containers {
            let image = container.image.as_deref().unwrap_or_default();
            let steps = container_steps(image_trouble(image), &self.timing, main_offset);
            if offset >= shift {
                for step in steps.iter().filter(|s| new(s.at + shift)) {
                    self.report(&pod, container, step.happening, t0, step.at + shift);
                }
            }
            if let Some(at) = next_step_after(&steps, main_offset) {
                next = Some(next.map_or(at + shift, |n: Duration| n.min(at + shift)));
            }
            snapshots.push((container.clone(), snapshot_at(&steps, main_offset)));
        }
        if offset < shift {
            next = Some(shift);
        }

        let existing = pod.status.clone().unwrap_or_default();
        let ip_text = ip.to_string();
        let input = PodStatusInput {
            pod: &pod,
            t0,
            now: offset,
            timing: &self.timing,
            containers: &snapshots,
            init_containers: &init_containers,
            pod_ip: &ip_text,
            host_ip: &self.host_ip,
        };
        let desired = pod_status(&input, &existing);
        let already_written =
            self.pods.get(&uid).and_then(|r| r.last_written.as_ref()) == Some(&desired);
        let written =
            (desired != existing && !already_written && self.write_status(&pod, desired.clone()))
                .then_some(desired);
        if let Some(record) = self.pods.get_mut(&uid) {
            record.reported_until = Some(offset);
            if written.is_some() {
                record.last_written = written;
            }
        }
        // Status times are whole seconds and the sandbox IP appears after 200ms: look again then too.
        let sandbox_ready_at = self.timing.start_delay.min(Duration::from_millis(200));
        if offset < sandbox_ready_at {
            next = Some(next.map_or(sandbox_ready_at, |n| n.min(sandbox_ready_at)));
        }
        self.set_timer(&uid, next.map(|at| t0_instant + at));
    }

    /// Events and log lines for one happening of one container.
    fn report(
        &self,
        pod: &Pod,
        container: &Container,
        happening: Happening,
        t0: Timestamp,
        at: Duration,
    ) {
        for event in events_for(happening, pod, container, &self.timing) {
            self.events
                .record(pod, event.type_, event.reason, &event.message);
        }
        let uid = uid_of(pod);
        let when = time_at(t0, at).0;
        let result = match happening {
            Happening::Started => self.prepare_dirs(pod, container).and_then(|()| {
                node::append_log(
                    &self.data_dir,
                    &uid,
                    &container.name,
                    &start_log(container, when),
                )
            }),
            // The exited instance's log becomes the previous one.
            Happening::Crashed => node::append_log(
                &self.data_dir,
                &uid,
                &container.name,
                &crash_log(container, when),
            )
            .and_then(|()| node::rotate_log(&self.data_dir, &uid, &container.name)),
            _ => Ok(()),
        };
        if let Err(err) = result {
            tracing::warn!(%err, "kubelet: cannot write a container's files");
        }
    }

    /// The container layer and the pod's emptyDirs, before a container starts.
    fn prepare_dirs(&self, pod: &Pod, container: &Container) -> Result<(), node::NodeError> {
        let uid = uid_of(pod);
        let mut dirs = vec![node::container_root(&self.data_dir, &uid, &container.name)];
        for volume in pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .into_iter()
            .flatten()
        {
            if volume.empty_dir.is_some() {
                dirs.push(node::empty_dir(&self.data_dir, &uid, &volume.name));
            }
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).map_err(|source| node::NodeError::Io {
                action: "creating",
                path: dir.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Write a pod's status; whether it was written.
    fn write_status(&self, pod: &Pod, status: PodStatus) -> bool {
        let mut updated = pod.clone();
        updated.status = Some(status.clone());
        let namespace = pod.metadata.namespace.as_deref();
        match self
            .cluster
            .update_typed(namespace, &updated, Subresource::Status)
        {
            Ok(_) => true,
            Err(err) if err.code == 409 => {
                // Someone else wrote the pod meanwhile: write over its latest version.
                let name = pod.metadata.name.as_deref().unwrap_or_default();
                let Ok(mut fresh) = self.cluster.get_typed::<Pod>(namespace, name) else {
                    return false;
                };
                if fresh.metadata.uid != pod.metadata.uid {
                    return false;
                }
                fresh.status = Some(status);
                match self
                    .cluster
                    .update_typed(namespace, &fresh, Subresource::Status)
                {
                    Ok(_) => true,
                    Err(err) => {
                        tracing::debug!(%err, "kubelet: status write lost a race; the next change retries");
                        false
                    }
                }
            }
            Err(err) => {
                tracing::debug!(%err, "kubelet: cannot write pod status");
                false
            }
        }
    }

    /// A pod marked for deletion: stop its containers, wait out the grace
    /// period (scaled), then let the API server remove it.
    fn sync_terminating(&mut self, pod: &Pod) {
        let uid = uid_of(pod);
        if !self.pods.contains_key(&uid) {
            self.admit(pod);
            if let Some(record) = self.pods.get_mut(&uid) {
                // Nothing to replay for a pod that is going away.
                record.reported_until = Some(Duration::MAX);
            }
        }
        let now = Instant::now();
        let kill_at = match self.pods.get(&uid).and_then(|r| r.kill_at) {
            Some(at) => at,
            None => {
                let grace = pod
                    .metadata
                    .deletion_grace_period_seconds
                    .unwrap_or(30)
                    .max(0);
                let wait =
                    Duration::from_secs(grace.unsigned_abs()).mul_f64(self.timing.scale.max(0.0));
                let (containers, _) = containers_of(pod);
                let running: Vec<&Container> = containers
                    .iter()
                    .filter(|c| {
                        pod.status
                            .as_ref()
                            .and_then(|s| s.container_statuses.as_ref())
                            .into_iter()
                            .flatten()
                            .any(|s| {
                                s.name == c.name
                                    && s.state.as_ref().is_some_and(|st| st.running.is_some())
                            })
                    })
                    .collect();
                for container in running {
                    self.events.record(
                        pod,
                        EventType::Normal,
                        "Killing",
                        &format!("Stopping container {}", container.name),
                    );
                }
                let at = now + wait;
                if let Some(record) = self.pods.get_mut(&uid) {
                    record.kill_at = Some(at);
                }
                at
            }
        };
        if now >= kill_at {
            let options = DeleteOptions {
                grace_period_seconds: Some(0),
                preconditions_uid: Some(uid.clone()),
                ..DeleteOptions::default()
            };
            let (namespace, name) = pod_key(pod);
            match self
                .cluster
                .delete(&PODS, Some(&namespace), &name, &options)
            {
                Ok(_) => {}
                Err(err) if err.code == 404 || err.code == 409 => self.forget(&uid),
                Err(err) => tracing::debug!(%err, "kubelet: cannot finish a pod's deletion"),
            }
            self.set_timer(&uid, None);
        } else {
            self.set_timer(&uid, Some(kill_at));
        }
    }

    /// The scheduler's turn for an unscheduled pod.
    fn schedule(&mut self, pod: &Pod) {
        // The change that brought this pod may predate a bind already done.
        let (namespace, name) = pod_key(pod);
        let fresh = match self.cluster.get_typed::<Pod>(Some(&namespace), &name) {
            Ok(fresh) if fresh.metadata.uid == pod.metadata.uid => fresh,
            _ => return,
        };
        let unscheduled = fresh
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_none_or(str::is_empty);
        if !unscheduled || fresh.metadata.deletion_timestamp.is_some() {
            return;
        }
        let pod = &fresh;
        let key = pod_key(pod);
        let namespace = key.0.clone();
        let node = self.cluster.get_typed::<Node>(None, NODE_NAME);
        if node.is_ok_and(|node| !scheduler::node_admits(&node, pod)) {
            self.waiting.insert(pod);
            let message = scheduler::unschedulable_message("1 node(s) were unschedulable");
            self.report_unschedulable(pod, &message);
            return;
        }
        let mut claims: BTreeMap<String, Option<PersistentVolumeClaim>> = BTreeMap::new();
        for name in claim_names(pod) {
            match self
                .cluster
                .get_typed::<PersistentVolumeClaim>(Some(&namespace), &name)
            {
                Ok(claim) => claims.insert(name, Some(claim)),
                Err(err) if err.code == 404 => claims.insert(name, None),
                Err(err) => {
                    tracing::debug!(%err, "scheduler: cannot read a claim");
                    self.waiting.insert(pod);
                    return;
                }
            };
        }
        let classes: BTreeMap<String, StorageClass> = self
            .cluster
            .list_typed::<StorageClass>(None, None)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.metadata.name.clone().unwrap_or_default(), c))
            .collect();
        match plan_scheduling(pod, &claims, &classes) {
            SchedulingDecision::Bind => {
                self.waiting.remove(&key);
                self.bind(pod);
            }
            SchedulingDecision::SelectNodeFor(names) => {
                self.waiting.insert(pod);
                for name in names {
                    let patch = json!({"metadata": {"annotations": {SELECTED_NODE: NODE_NAME}}});
                    if let Err(err) = self.cluster.patch(
                        &PERSISTENT_VOLUME_CLAIMS,
                        Some(&namespace),
                        &name,
                        PatchBody::Merge(patch),
                        Subresource::Main,
                        &WriteOptions::default(),
                    ) {
                        tracing::debug!(%err, "scheduler: cannot select the node for a claim");
                    }
                }
            }
            SchedulingDecision::WaitForBinding => {
                self.waiting.insert(pod);
            }
            SchedulingDecision::Unschedulable(message) => {
                self.waiting.insert(pod);
                self.report_unschedulable(pod, &message);
            }
        }
    }

    fn bind(&mut self, pod: &Pod) {
        let (namespace, name) = pod_key(pod);
        let patch = json!({"spec": {"nodeName": NODE_NAME}});
        match self.cluster.patch(
            &PODS,
            Some(&namespace),
            &name,
            PatchBody::Merge(patch),
            Subresource::Main,
            &WriteOptions::default(),
        ) {
            Ok(_) => self.scheduler_events.record(
                pod,
                EventType::Normal,
                "Scheduled",
                &format!("Successfully assigned {namespace}/{name} to {NODE_NAME}"),
            ),
            Err(err) => tracing::warn!(%err, "scheduler: cannot bind {namespace}/{name}"),
        }
    }

    fn report_unschedulable(&mut self, pod: &Pod, message: &str) {
        let uid = uid_of(pod);
        if self
            .scheduling_reports
            .should_report(&uid, message, Duration::from_secs(15))
        {
            self.scheduler_events
                .record(pod, EventType::Warning, "FailedScheduling", message);
        }
        let mut status = pod.status.clone().unwrap_or_default();
        let mut conditions: Vec<PodCondition> = status.conditions.take().unwrap_or_default();
        let current = conditions.iter().find(|c| c.type_ == "PodScheduled");
        if current.is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(message)) {
            return;
        }
        conditions.retain(|c| c.type_ != "PodScheduled");
        conditions.push(PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("Unschedulable".into()),
            message: Some(message.to_string()),
            last_transition_time: Some(time_at(Timestamp::now(), Duration::ZERO)),
            last_probe_time: None,
            observed_generation: None,
        });
        status.conditions = Some(conditions);
        status.phase = Some("Pending".into());
        self.write_status(pod, status);
    }
}
