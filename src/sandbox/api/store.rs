//! The versioned object store, the sandbox's etcd.
//!
//! Objects are JSON values keyed by resource type, namespace and name. One
//! global resourceVersion counter is shared by every type and bumped by every
//! write, as etcd's revision is. Each type keeps a bounded history of its
//! events so a watch can resume from a resourceVersion; anything older than the
//! kept window is `Expired` (410). Watchers registered here get every later
//! event in order, filtered by namespace and selectors, with no gap between
//! the replayed history and live events (both happen under the caller's lock).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::error::ApiError;
use super::selectors::{FieldSelector, LabelSelector};
use crate::sandbox::resources::{self, ResourceType};

/// Events kept per type for watch resume; older resourceVersions get 410.
pub const DEFAULT_HISTORY_LIMIT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

impl WatchEventType {
    /// The wire name (`ADDED`, `MODIFIED`, `DELETED`).
    pub fn as_str(self) -> &'static str {
        match self {
            WatchEventType::Added => "ADDED",
            WatchEventType::Modified => "MODIFIED",
            WatchEventType::Deleted => "DELETED",
        }
    }
}

/// One change as a watcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub event_type: WatchEventType,
    pub object: Value,
    pub resource_version: u64,
}

/// One change to any type, for controllers that re-sync on change. The
/// event is shared: every subscriber gets the same allocation, not a copy.
#[derive(Debug, Clone)]
pub struct Change {
    pub rt: &'static ResourceType,
    pub event: Arc<WatchEvent>,
    /// When the write was committed (the server's clock, for the write log).
    pub at: std::time::SystemTime,
}

/// A stored event also remembers the object before a modification, so a
/// selector-filtered watcher can tell an object entering or leaving its selection.
#[derive(Debug, Clone)]
struct StoredEvent {
    event: Arc<WatchEvent>,
    previous: Option<Arc<Value>>,
}

/// What a watcher wants to see: labels and fields as upstream's cacher filters them.
#[derive(Debug, Clone, Default)]
pub struct WatchFilter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl WatchFilter {
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    /// The event this watcher receives, if any: an object that stops matching
    /// is DELETED for it, one that starts matching is ADDED.
    fn translate(&self, stored: &StoredEvent) -> Option<WatchEvent> {
        let now = self.matches(&stored.event.object);
        let event_type = match stored.event.event_type {
            WatchEventType::Added | WatchEventType::Deleted => {
                now.then_some(stored.event.event_type)?
            }
            WatchEventType::Modified => {
                let before = stored.previous.as_ref().is_some_and(|p| self.matches(p));
                match (before, now) {
                    (true, true) => WatchEventType::Modified,
                    (false, true) => WatchEventType::Added,
                    (true, false) => WatchEventType::Deleted,
                    (false, false) => return None,
                }
            }
        };
        Some(WatchEvent {
            event_type,
            ..(*stored.event).clone()
        })
    }
}

struct Watcher {
    namespace: Option<String>,
    filter: WatchFilter,
    tx: mpsc::UnboundedSender<WatchEvent>,
}

impl Watcher {
    /// Sends the event if it concerns this watcher; false once the receiver is gone.
    fn offer(&self, stored: &StoredEvent) -> bool {
        if let Some(ns) = &self.namespace
            && stored.event.object["metadata"]["namespace"].as_str() != Some(ns.as_str())
        {
            return !self.tx.is_closed();
        }
        match self.filter.translate(stored) {
            Some(event) => self.tx.send(event).is_ok(),
            None => !self.tx.is_closed(),
        }
    }
}

/// (namespace, name); the namespace is empty for cluster-scoped objects.
pub type ObjectKey = (String, String);

struct Bucket {
    /// Shared so a snapshot for persistence costs a pointer per object under the lock.
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: VecDeque<StoredEvent>,
    /// Events up to this resourceVersion may be missing from `history`.
    compacted_through: u64,
    watchers: Vec<Watcher>,
}

impl Bucket {
    fn new(compacted_through: u64) -> Self {
        Bucket {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted_through,
            watchers: Vec::new(),
        }
    }
}

type TypeKey = (&'static str, &'static str);

fn type_key(rt: &ResourceType) -> TypeKey {
    match resources::lookup(rt.group, rt.version, rt.plural) {
        Some(known) => (known.group, known.plural),
        None => ("", ""),
    }
}

pub struct Store {
    resource_version: u64,
    /// The resourceVersion the kept history starts after (start or restore).
    origin: u64,
    buckets: HashMap<TypeKey, Bucket>,
    history_limit: usize,
    changes: broadcast::Sender<Change>,
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        // Events are shared (Arc), so a deep queue is cheap; a subscriber that
        // falls further behind than this relists.
        let (changes, _) = broadcast::channel(32_768);
        Store {
            resource_version: 1,
            origin: 1,
            buckets: HashMap::new(),
            history_limit: history_limit.max(1),
            changes,
        }
    }

    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    fn bucket(&mut self, rt: &ResourceType) -> &mut Bucket {
        let start = self.origin;
        self.buckets
            .entry(type_key(rt))
            .or_insert_with(|| Bucket::new(start))
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Option<&Value> {
        self.buckets
            .get(&type_key(rt))?
            .objects
            .get(&(ns.to_string(), name.to_string()))
            .map(|object| &**object)
    }

    /// Objects of a type in key order, in one namespace or in all (`None`).
    pub fn list<'a>(
        &'a self,
        rt: &ResourceType,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Value)> + 'a {
        self.list_shared(rt, ns)
            .map(|(key, object)| (key, &**object))
    }

    /// `list`, with the stored objects as shared pointers (taking one is cheap).
    pub fn list_shared<'a>(
        &'a self,
        rt: &ResourceType,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Arc<Value>)> + 'a {
        let bucket = self.buckets.get(&type_key(rt));
        // Keys sort by namespace first: one namespace is one contiguous range.
        let start = (ns.unwrap_or_default().to_string(), String::new());
        bucket
            .into_iter()
            .flat_map(move |b| b.objects.range(start.clone()..))
            .take_while(move |((obj_ns, _), _)| ns.is_none_or(|ns| ns == obj_ns))
    }

    /// Whether any object of any namespaced type lives in `ns`.
    pub fn namespace_is_empty(&self, ns: &str) -> bool {
        self.buckets
            .values()
            .all(|b| b.objects.keys().all(|(obj_ns, _)| obj_ns != ns))
    }

    /// Stores `object` (created or replaced), stamping a new resourceVersion.
    pub fn put(&mut self, rt: &'static ResourceType, mut object: Value) -> Value {
        self.resource_version += 1;
        let rv = self.resource_version;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = object_key(&object);
        let previous = self
            .bucket(rt)
            .objects
            .insert(key, Arc::new(object.clone()));
        let event_type = if previous.is_some() {
            WatchEventType::Modified
        } else {
            WatchEventType::Added
        };
        self.record(rt, event_type, object.clone(), previous);
        object
    }

    /// Removes an object; the DELETED event carries it with a new resourceVersion.
    pub fn remove(&mut self, rt: &'static ResourceType, ns: &str, name: &str) -> Option<Value> {
        let key = (ns.to_string(), name.to_string());
        let stored = self.bucket(rt).objects.remove(&key)?;
        let mut object = Arc::try_unwrap(stored).unwrap_or_else(|shared| (*shared).clone());
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.record(rt, WatchEventType::Deleted, object.clone(), None);
        Some(object)
    }

    fn record(
        &mut self,
        rt: &'static ResourceType,
        event_type: WatchEventType,
        object: Value,
        previous: Option<Arc<Value>>,
    ) {
        let stored = StoredEvent {
            event: Arc::new(WatchEvent {
                event_type,
                object,
                resource_version: self.resource_version,
            }),
            previous,
        };
        let event = Arc::clone(&stored.event);
        let limit = self.history_limit;
        let bucket = self.bucket(rt);
        bucket.watchers.retain(|w| w.offer(&stored));
        bucket.history.push_back(stored);
        while bucket.history.len() > limit {
            if let Some(dropped) = bucket.history.pop_front() {
                bucket.compacted_through = dropped.event.resource_version;
            }
        }
        // Nobody listening is fine: controllers subscribe when they start.
        let _ = self.changes.send(Change {
            rt,
            event,
            at: std::time::SystemTime::now(),
        });
    }

    /// Registers a watcher and replays the events after `since` (None: no
    /// replay). Err(Expired) when events after `since` are no longer kept.
    pub fn watch(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        since: Option<u64>,
        filter: WatchFilter,
    ) -> Result<mpsc::UnboundedReceiver<WatchEvent>, ApiError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let watcher = Watcher {
            namespace: ns.map(str::to_string),
            filter,
            tx,
        };
        let bucket = self.bucket(rt);
        if let Some(since) = since {
            if since < bucket.compacted_through {
                return Err(ApiError::expired(since, bucket.compacted_through + 1));
            }
            for stored in bucket
                .history
                .iter()
                .filter(|e| e.event.resource_version > since)
            {
                watcher.offer(stored);
            }
        }
        bucket.watchers.push(watcher);
        Ok(rx)
    }

    /// Every object with its type, for persistence: shared pointers, so the
    /// caller serialises it after releasing the lock.
    pub fn snapshot(&self) -> Snapshot {
        let mut types = BTreeMap::new();
        for ((group, plural), bucket) in &self.buckets {
            if bucket.objects.is_empty() {
                continue;
            }
            let name = if group.is_empty() {
                plural.to_string()
            } else {
                format!("{plural}.{group}")
            };
            types.insert(name, bucket.objects.values().cloned().collect());
        }
        Snapshot {
            resource_version: self.resource_version,
            types,
        }
    }

    /// Replaces the contents with a snapshot; history starts empty, so watches
    /// from before the snapshot get 410 and relist.
    pub fn restore(&mut self, snapshot: &Value) -> Result<(), String> {
        let rv = snapshot["resourceVersion"]
            .as_u64()
            .ok_or("state has no resourceVersion")?;
        let types = snapshot["types"]
            .as_object()
            .ok_or("state has no types map")?;
        self.resource_version = rv;
        self.origin = rv;
        self.buckets.clear();
        for (name, objects) in types {
            let (plural, group) = name.split_once('.').unwrap_or((name.as_str(), ""));
            let Some(rt) = resources::ALL
                .iter()
                .copied()
                .find(|rt| rt.plural == plural && rt.group == group)
            else {
                return Err(format!("state holds unknown resource type {name}"));
            };
            let bucket = self.bucket(rt);
            for object in objects.as_array().into_iter().flatten() {
                bucket
                    .objects
                    .insert(object_key(object), Arc::new(object.clone()));
            }
        }
        Ok(())
    }
}

/// The store's contents at one resourceVersion; serialises as
/// `{"resourceVersion": N, "types": {"<plural>[.<group>]": [objects...]}}`,
/// the form `Store::restore` reads.
#[derive(Debug, Clone)]
pub struct Snapshot {
    resource_version: u64,
    types: BTreeMap<String, Vec<Arc<Value>>>,
}

impl Snapshot {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl serde::Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Objects<'a>(&'a [Arc<Value>]);
        impl serde::Serialize for Objects<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|object| &**object))
            }
        }
        struct Types<'a>(&'a BTreeMap<String, Vec<Arc<Value>>>);
        impl serde::Serialize for Types<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(
                    self.0
                        .iter()
                        .map(|(name, objects)| (name, Objects(objects))),
                )
            }
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("resourceVersion", &self.resource_version)?;
        map.serialize_entry("types", &Types(&self.types))?;
        map.end()
    }
}

pub fn object_key(object: &Value) -> ObjectKey {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{PODS, STATEFUL_SETS};

    fn pod(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "default", "labels": labels}})
    }

    #[test]
    fn one_counter_versions_every_type() {
        let mut store = Store::new(10);
        let a = store.put(&PODS, pod("a", json!({})));
        let b = store.put(&STATEFUL_SETS, pod("b", json!({})));
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        assert_eq!(b["metadata"]["resourceVersion"], "3");
        let gone = store.remove(&PODS, "default", "a").unwrap();
        assert_eq!(gone["metadata"]["resourceVersion"], "4");
        assert_eq!(store.resource_version(), 4);
    }

    #[test]
    fn watch_replays_after_a_version_and_then_streams() {
        let mut store = Store::new(10);
        store.put(&PODS, pod("a", json!({})));
        let since = store.resource_version();
        store.put(&PODS, pod("b", json!({})));
        let mut rx = store
            .watch(&PODS, Some("default"), Some(since), WatchFilter::default())
            .unwrap();
        store.remove(&PODS, "default", "a");
        let first = rx.try_recv().unwrap();
        assert_eq!(first.event_type, WatchEventType::Added);
        assert_eq!(first.object["metadata"]["name"], "b");
        assert_eq!(rx.try_recv().unwrap().event_type, WatchEventType::Deleted);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn history_beyond_the_limit_expires() {
        let mut store = Store::new(2);
        for name in ["a", "b", "c", "d"] {
            store.put(&PODS, pod(name, json!({})));
        }
        let err = store
            .watch(&PODS, None, Some(2), WatchFilter::default())
            .unwrap_err();
        assert_eq!(err.code, 410);
        assert!(
            store
                .watch(&PODS, None, Some(3), WatchFilter::default())
                .is_ok()
        );
    }

    #[test]
    fn leaving_a_selection_is_a_deletion_for_that_watcher() {
        let mut store = Store::new(10);
        store.put(&PODS, pod("a", json!({"app": "web"})));
        let filter = WatchFilter {
            labels: LabelSelector::parse("app=web").unwrap(),
            ..WatchFilter::default()
        };
        let mut rx = store.watch(&PODS, None, None, filter).unwrap();
        store.put(&PODS, pod("a", json!({"app": "db"})));
        store.put(&PODS, pod("a", json!({"app": "web"})));
        assert_eq!(rx.try_recv().unwrap().event_type, WatchEventType::Deleted);
        assert_eq!(rx.try_recv().unwrap().event_type, WatchEventType::Added);
    }

    #[test]
    fn snapshots_restore_objects_and_the_counter() {
        let mut store = Store::new(10);
        store.put(&STATEFUL_SETS, pod("web", json!({})));
        let snapshot = store.snapshot().to_value();
        let mut restored = Store::new(10);
        restored.restore(&snapshot).unwrap();
        assert_eq!(restored.resource_version(), 2);
        assert!(restored.get(&STATEFUL_SETS, "default", "web").is_some());
        assert_eq!(
            restored
                .watch(&PODS, None, Some(1), WatchFilter::default())
                .unwrap_err()
                .code,
            410
        );
    }
}
