//! The garbage collector (upstream pkg/controller/garbagecollector), a client
//! of `Cluster` like every controller.
//!
//! - Background (the default for every served type): an object whose owners
//!   (by uid) are all gone is deleted; references to owners that are gone are
//!   dropped from objects that still have a live owner.
//! - Foreground: an owner being deleted with the `foregroundDeletion`
//!   finalizer gets its dependents deleted, and loses the finalizer (and so
//!   goes) once no dependent with `blockOwnerDeletion: true` is left.
//! - Orphan: an owner being deleted with the `orphan` finalizer has its
//!   references removed from its dependents, then loses the finalizer.
//!
//! The collector keeps a graph of every object's ownership (as upstream's
//! `GraphBuilder` keeps it from informers), updated from the change stream,
//! with the owners being deleted and the objects naming a vanished owner
//! indexed, so a sweep plans over those only instead of over every object.
//! Each sweep plans with the pure `plan`, then acts; a write that races with
//! another client fails on its precondition and the next sweep (after the
//! next change, or within a couple of seconds) retries.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::resync::{self, Queued};
use crate::sandbox::api::cluster::{
    Change, Cluster, DeleteOptions, FOREGROUND_FINALIZER, ListOptions, ORPHAN_FINALIZER, PatchBody,
    Propagation, Subresource, WatchEventType, WriteOptions,
};
use crate::sandbox::resources::{self, EVENTS_V1, ResourceType};

/// Changes arriving within this window share one sweep.
const DEBOUNCE: Duration = Duration::from_millis(30);
/// Sweep at least this often, to retry what a race made fail.
const RESYNC: Duration = Duration::from_secs(2);

/// What the collector needs to know of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub owner_references: Vec<Value>,
    pub finalizers: Vec<String>,
    pub deleting: bool,
}

impl Node {
    pub fn from_object(rt: &'static ResourceType, object: &Value) -> Node {
        let meta = &object["metadata"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        Node {
            rt,
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            uid: meta["uid"].as_str().unwrap_or_default().to_string(),
            resource_version: meta["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            owner_references: meta["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            finalizers: strings(&meta["finalizers"]),
            deleting: !meta["deletionTimestamp"].is_null(),
        }
    }

    fn owner_uids(&self) -> impl Iterator<Item = &str> {
        self.owner_references
            .iter()
            .filter_map(|r| r["uid"].as_str())
    }

    fn has_finalizer(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }
}

/// One write the collector makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Delete a dependent (background), only if it is still that object.
    Delete { node: Node },
    /// Keep only these ownerReferences.
    SetOwnerReferences { node: Node, keep: Vec<Value> },
    /// Drop a finalizer the collector is responsible for.
    RemoveFinalizer { node: Node, finalizer: &'static str },
}

/// Where a node sits in the graph: its type's place in `resources::ALL`,
/// then namespace and name (the order a full listing visits objects in).
type NodeKey = (usize, String, String);

fn node_key(node: &Node) -> NodeKey {
    let index = resources::ALL
        .iter()
        .position(|rt| rt.group == node.rt.group && rt.plural == node.rt.plural)
        .unwrap_or(usize::MAX);
    (
        index,
        node.namespace.clone().unwrap_or_default(),
        node.name.clone(),
    )
}

/// The ownership graph, with the two sets a sweep acts on kept up to date.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: BTreeMap<NodeKey, Node>,
    by_uid: HashMap<String, NodeKey>,
    /// Owner uid (live or not) -> the objects naming it.
    dependents: HashMap<String, BTreeSet<NodeKey>>,
    /// Objects with a deletionTimestamp.
    deleting: BTreeSet<NodeKey>,
    /// Objects naming at least one owner that does not exist.
    dangling: BTreeSet<NodeKey>,
}

impl Graph {
    pub fn from_nodes(nodes: &[Node]) -> Graph {
        let mut graph = Graph::default();
        for node in nodes {
            graph.upsert(node.clone());
        }
        graph
    }

    /// Every object of the cluster, as a fresh graph.
    pub fn from_cluster(cluster: &Cluster) -> Graph {
        let mut graph = Graph::default();
        for rt in resources::ALL.iter().copied() {
            // events.k8s.io is a view of the core Events, already listed.
            if std::ptr::eq(rt, &EVENTS_V1) {
                continue;
            }
            match cluster.list(rt, None, &ListOptions::default()) {
                Ok(list) => {
                    for object in &list.items {
                        graph.upsert(Node::from_object(rt, object));
                    }
                }
                Err(err) => {
                    tracing::warn!(resource = rt.plural, %err, "garbage collector cannot list")
                }
            }
        }
        graph
    }

    /// Take in one change from the API.
    pub fn apply(&mut self, change: &Change) {
        if std::ptr::eq(change.rt, &EVENTS_V1) {
            return;
        }
        let node = Node::from_object(change.rt, &change.event.object);
        if change.event.event_type == WatchEventType::Deleted {
            self.remove(&node_key(&node));
        } else {
            self.upsert(node);
        }
    }

    fn names_missing_owner(&self, node: &Node) -> bool {
        node.owner_uids().any(|uid| !self.by_uid.contains_key(uid))
    }

    /// Re-decide whether the objects naming `uid` name a vanished owner.
    fn recheck_dependents_of(&mut self, uid: &str) {
        let Some(keys) = self.dependents.get(uid) else {
            return;
        };
        for key in keys.clone() {
            let dangling = self
                .nodes
                .get(&key)
                .is_some_and(|n| self.names_missing_owner(n));
            if dangling {
                self.dangling.insert(key);
            } else {
                self.dangling.remove(&key);
            }
        }
    }

    pub fn upsert(&mut self, node: Node) {
        let key = node_key(&node);
        if self.nodes.get(&key) == Some(&node) {
            return;
        }
        self.remove(&key);
        for owner in node.owner_uids() {
            self.dependents
                .entry(owner.to_string())
                .or_default()
                .insert(key.clone());
        }
        if node.deleting {
            self.deleting.insert(key.clone());
        }
        let uid = node.uid.clone();
        self.by_uid.insert(uid.clone(), key.clone());
        if self.names_missing_owner(&node) {
            self.dangling.insert(key.clone());
        }
        self.nodes.insert(key, node);
        // An owner appearing (again) may complete its dependents.
        self.recheck_dependents_of(&uid);
    }

    pub fn remove(&mut self, key: &NodeKey) {
        let Some(node) = self.nodes.remove(key) else {
            return;
        };
        for owner in node.owner_uids() {
            if let Some(keys) = self.dependents.get_mut(owner) {
                keys.remove(key);
                if keys.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
        self.deleting.remove(key);
        self.dangling.remove(key);
        if self.by_uid.get(&node.uid) == Some(key) {
            self.by_uid.remove(&node.uid);
        }
        self.recheck_dependents_of(&node.uid);
    }

    fn dependents_of(&self, uid: &str) -> Vec<&Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|key| self.nodes.get(key))
            .collect()
    }
}

/// What to do, given every object in the cluster.
pub fn plan(nodes: &[Node]) -> Vec<Action> {
    plan_graph(&Graph::from_nodes(nodes))
}

/// What to do, given the ownership graph: owners being deleted act on their
/// dependents, objects whose owners vanished are collected or trimmed.
pub fn plan_graph(graph: &Graph) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut touched: HashSet<&str> = HashSet::new();

    for owner in graph.deleting.iter().filter_map(|k| graph.nodes.get(k)) {
        let deps = graph.dependents_of(&owner.uid);
        if owner.has_finalizer(ORPHAN_FINALIZER) {
            for dep in &deps {
                if touched.insert(dep.uid.as_str()) {
                    let keep = dep
                        .owner_references
                        .iter()
                        .filter(|r| r["uid"].as_str() != Some(owner.uid.as_str()))
                        .cloned()
                        .collect();
                    actions.push(Action::SetOwnerReferences {
                        node: (*dep).clone(),
                        keep,
                    });
                }
            }
            if deps.is_empty() {
                actions.push(Action::RemoveFinalizer {
                    node: owner.clone(),
                    finalizer: ORPHAN_FINALIZER,
                });
            }
        } else if owner.has_finalizer(FOREGROUND_FINALIZER) {
            for dep in deps.iter().filter(|d| !d.deleting) {
                if touched.insert(dep.uid.as_str()) {
                    actions.push(Action::Delete {
                        node: (*dep).clone(),
                    });
                }
            }
            let blocked = deps.iter().any(|d| {
                d.owner_references.iter().any(|r| {
                    r["uid"].as_str() == Some(owner.uid.as_str())
                        && r["blockOwnerDeletion"] == json!(true)
                })
            });
            if !blocked {
                actions.push(Action::RemoveFinalizer {
                    node: owner.clone(),
                    finalizer: FOREGROUND_FINALIZER,
                });
            }
        }
    }

    for node in graph.dangling.iter().filter_map(|k| graph.nodes.get(k)) {
        if touched.contains(node.uid.as_str()) {
            continue;
        }
        let (live, gone): (Vec<&Value>, Vec<&Value>) =
            node.owner_references.iter().partition(|r| {
                r["uid"]
                    .as_str()
                    .is_some_and(|uid| graph.by_uid.contains_key(uid))
            });
        if gone.is_empty() {
            continue;
        }
        if live.is_empty() {
            if !node.deleting {
                actions.push(Action::Delete { node: node.clone() });
            }
        } else {
            let keep = live.into_iter().cloned().collect();
            actions.push(Action::SetOwnerReferences {
                node: node.clone(),
                keep,
            });
        }
    }
    actions
}

fn act(cluster: &Cluster, action: &Action) {
    let opts = WriteOptions::default();
    let result = match action {
        Action::Delete { node } => {
            let delete = DeleteOptions {
                propagation: Some(Propagation::Background),
                preconditions_uid: Some(node.uid.clone()),
                ..DeleteOptions::default()
            };
            cluster
                .delete(node.rt, node.namespace.as_deref(), &node.name, &delete)
                .map(drop)
        }
        Action::SetOwnerReferences { node, keep } => {
            let patch = json!({"metadata": {"ownerReferences": keep, "resourceVersion": node.resource_version}});
            cluster
                .patch(
                    node.rt,
                    node.namespace.as_deref(),
                    &node.name,
                    PatchBody::Merge(patch),
                    Subresource::Main,
                    &opts,
                )
                .map(drop)
        }
        Action::RemoveFinalizer { node, finalizer } => {
            let remaining: Vec<&String> =
                node.finalizers.iter().filter(|f| f != finalizer).collect();
            let patch = json!({"metadata": {"finalizers": remaining, "resourceVersion": node.resource_version}});
            cluster
                .patch(
                    node.rt,
                    node.namespace.as_deref(),
                    &node.name,
                    PatchBody::Merge(patch),
                    Subresource::Main,
                    &opts,
                )
                .map(drop)
        }
    };
    match result {
        Ok(()) => {}
        // Someone else got there first; the next sweep sees the new state.
        Err(err) if err.code == 404 || err.code == 409 => {}
        Err(err) => tracing::warn!(?action, %err, "garbage collector write failed"),
    }
}

/// One pass over a fresh listing of the cluster: plan and act.
pub fn sweep(cluster: &Cluster) {
    for action in plan_graph(&Graph::from_cluster(cluster)) {
        act(cluster, &action);
    }
}

/// Take in every queued change; false once the cluster is gone.
fn drain(cluster: &Cluster, graph: &mut Graph, changes: &mut broadcast::Receiver<Change>) -> bool {
    resync::drain(changes, |seen| match seen {
        Queued::Change(change) => graph.apply(change),
        Queued::Lost => *graph = Graph::from_cluster(cluster),
    })
}

/// Sweeps after changes (debounced) and periodically until `shutdown`.
pub async fn run(cluster: Cluster, shutdown: CancellationToken) {
    let mut changes = cluster.subscribe();
    let mut graph = Graph::from_cluster(&cluster);
    loop {
        // The graph must include the effect of every write so far (ours too).
        if !drain(&cluster, &mut graph, &mut changes) {
            return;
        }
        for action in plan_graph(&graph) {
            act(&cluster, &action);
        }
        tokio::select! {
            change = changes.recv() => {
                match change {
                    Ok(change) => graph.apply(&change),
                    Err(RecvError::Lagged(_)) => graph = Graph::from_cluster(&cluster),
                    Err(RecvError::Closed) => return,
                }
                tokio::time::sleep(DEBOUNCE).await;
            }
            _ = tokio::time::sleep(RESYNC) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{PERSISTENT_VOLUME_CLAIMS, PODS, STATEFUL_SETS};

    fn node(rt: &'static ResourceType, name: &str, uid: &str, owners: &[(&str, bool)]) -> Node {
        Node {
            rt,
            namespace: Some("default".into()),
            name: name.into(),
            uid: uid.into(),
            resource_version: "1".into(),
            owner_references: owners
                .iter()
                .map(|(uid, block)| json!({"uid": uid, "kind": "StatefulSet", "name": "web", "blockOwnerDeletion": block}))
                .collect(),
            finalizers: vec![],
            deleting: false,
        }
    }

    #[test]
    fn dependents_of_a_vanished_owner_are_deleted() {
        let pod = node(&PODS, "web-0", "p0", &[("gone", true)]);
        assert_eq!(
            plan(std::slice::from_ref(&pod)),
            vec![Action::Delete { node: pod }]
        );
    }

    #[test]
    fn references_to_vanished_owners_are_dropped_when_another_owner_lives() {
        let owner = node(&STATEFUL_SETS, "web", "s", &[]);
        let claim = node(
            &PERSISTENT_VOLUME_CLAIMS,
            "www-web-0",
            "c",
            &[("s", false), ("gone", false)],
        );
        let actions = plan(&[owner, claim.clone()]);
        assert_eq!(actions.len(), 1);
        match &actions[0] {
            Action::SetOwnerReferences { node, keep } => {
                assert_eq!(node, &claim);
                assert_eq!(keep.len(), 1);
                assert_eq!(keep[0]["uid"], "s");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn foreground_deletion_waits_for_blocking_dependents() {
        let mut owner = node(&STATEFUL_SETS, "web", "s", &[]);
        owner.deleting = true;
        owner.finalizers = vec![FOREGROUND_FINALIZER.into()];
        let pod = node(&PODS, "web-0", "p0", &[("s", true)]);
        let actions = plan(&[owner.clone(), pod.clone()]);
        assert_eq!(actions, vec![Action::Delete { node: pod.clone() }]);
        let mut terminating = pod;
        terminating.deleting = true;
        assert!(
            plan(&[owner.clone(), terminating]).is_empty(),
            "still blocked while the pod terminates"
        );
        assert_eq!(
            plan(&[owner.clone()]),
            vec![Action::RemoveFinalizer {
                node: owner,
                finalizer: FOREGROUND_FINALIZER
            }]
        );
    }

    #[test]
    fn orphaning_removes_references_then_the_finalizer() {
        let mut owner = node(&STATEFUL_SETS, "web", "s", &[]);
        owner.deleting = true;
        owner.finalizers = vec![ORPHAN_FINALIZER.into()];
        let pod = node(&PODS, "web-0", "p0", &[("s", true)]);
        assert_eq!(
            plan(&[owner.clone(), pod.clone()]),
            vec![Action::SetOwnerReferences {
                node: pod,
                keep: vec![]
            }]
        );
        assert_eq!(
            plan(&[owner.clone()]),
            vec![Action::RemoveFinalizer {
                node: owner,
                finalizer: ORPHAN_FINALIZER
            }]
        );
    }

    #[test]
    fn a_cluster_sweep_deletes_orphaned_dependents() {
        let cluster = Cluster::new();
        let opts = WriteOptions::default();
        let sts = cluster
            .create(&STATEFUL_SETS, Some("default"), json!({"metadata": {"name": "web"}, "spec": {"replicas": 0,
                "selector": {"matchLabels": {"a": "b"}}, "serviceName": "web",
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}), &opts)
            .unwrap();
        let uid = sts["metadata"]["uid"].clone();
        let claim = json!({"metadata": {"name": "www-web-0", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": uid, "blockOwnerDeletion": true, "controller": true}]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        cluster
            .create(&PERSISTENT_VOLUME_CLAIMS, Some("default"), claim, &opts)
            .unwrap();
        let foreground = DeleteOptions {
            propagation: Some(Propagation::Foreground),
            ..DeleteOptions::default()
        };
        cluster
            .delete(&STATEFUL_SETS, Some("default"), "web", &foreground)
            .unwrap();
        sweep(&cluster);
        // The claim carries pvc-protection; no pod uses it, so it may go.
        super::super::protection::sync_once(&cluster);
        sweep(&cluster);
        assert_eq!(
            cluster
                .get(&PERSISTENT_VOLUME_CLAIMS, Some("default"), "www-web-0")
                .unwrap_err()
                .code,
            404
        );
        assert_eq!(
            cluster
                .get(&STATEFUL_SETS, Some("default"), "web")
                .unwrap_err()
                .code,
            404
        );
    }
}
