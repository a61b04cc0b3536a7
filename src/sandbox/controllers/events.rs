//! core/v1 Events as client-go's legacy recorder writes them
//! (tools/record: `makeEvent`, `EventCorrelator`): named
//! `<object>.<hex unix nanos>`, with `source.component`, `reportingComponent`,
//! `firstTimestamp`/`lastTimestamp` and `count`; a repeat of the same
//! reason and message about the same object bumps `count` and
//! `lastTimestamp` of the existing Event instead of writing a new one.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::sandbox::api::cluster::{Cluster, PatchBody, Subresource, WriteOptions};
use crate::sandbox::resources::EVENTS;

/// `type` of an Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Records Events on behalf of one controller (`source.component`).
#[derive(Clone)]
pub struct EventRecorder {
    cluster: Cluster,
    component: String,
}

impl EventRecorder {
    pub fn new(cluster: Cluster, component: impl Into<String>) -> Self {
        EventRecorder {
            cluster,
            component: component.into(),
        }
    }

    /// Record an event about `involved` (a typed API object).
    /// Failures are logged, never returned: like upstream, a lost event never
    /// fails the controller's work.
    pub fn record<K>(&self, involved: &K, type_: EventType, reason: &str, message: &str)
    where
        K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>,
    {
        record(
            &self.cluster,
            &ObjectReference::of_typed(involved),
            type_,
            reason,
            message,
            &self.component,
        );
    }
}

/// `involvedObject`: what an Event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ObjectReference {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
}

impl ObjectReference {
    /// The reference to a stored object (`ref.GetReference`).
    pub fn of(object: &Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let meta = &object["metadata"];
        ObjectReference {
            api_version: text(&object["apiVersion"]),
            kind: text(&object["kind"]),
            namespace: text(&meta["namespace"]),
            name: text(&meta["name"]),
            uid: text(&meta["uid"]),
            resource_version: text(&meta["resourceVersion"]),
        }
    }

    /// The reference to a typed object: what `of` reads from its JSON form,
    /// without serialising the whole object.
    pub fn of_typed<K>(object: &K) -> Self
    where
        K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>,
    {
        let meta = object.metadata();
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        ObjectReference {
            api_version: K::API_VERSION.to_string(),
            kind: K::KIND.to_string(),
            namespace: text(&meta.namespace),
            name: text(&meta.name),
            uid: text(&meta.uid),
            resource_version: text(&meta.resource_version),
        }
    }

    fn to_json(&self) -> Value {
        let mut reference = json!({
            "kind": self.kind,
            "name": self.name,
            "apiVersion": self.api_version,
        });
        for (field, value) in [
            ("namespace", &self.namespace),
            ("uid", &self.uid),
            ("resourceVersion", &self.resource_version),
        ] {
            if !value.is_empty() {
                reference[field] = json!(value);
            }
        }
        reference
    }

    /// Events about cluster-scoped objects live in `default`, as upstream.
    fn event_namespace(&self) -> &str {
        if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }
}

/// What makes two events "the same" for aggregation (`getEventKey`): the
/// object (uid included, so separate sandboxes never share an entry), the
/// source, type, reason and message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AggregationKey {
    involved: (String, String, String, String, String),
    component: String,
    type_: EventType,
    reason: String,
    message: String,
}

/// Where the last event with a key went and how many times it has been seen.
#[derive(Debug, Clone)]
struct Seen {
    namespace: String,
    name: String,
    count: i64,
}

/// Upstream's correlator keeps an LRU of 4096 keys; forgetting everything at
/// that size is close enough and keeps memory bounded.
const MAX_REMEMBERED: usize = 4096;

fn remembered() -> &'static Mutex<HashMap<AggregationKey, Seen>> {
    static SEEN: OnceLock<Mutex<HashMap<AggregationKey, Seen>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The Event object the recorder writes the first time (`makeEvent`).
pub fn new_event(
    involved: &ObjectReference,
    type_: EventType,
    reason: &str,
    message: &str,
    component: &str,
    now: jiff::Timestamp,
) -> Value {
    let timestamp = crate::sandbox::api::cluster::timestamp_string(now);
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{:x}", involved.name, now.as_nanosecond()),
            "namespace": involved.event_namespace(),
        },
        "involvedObject": involved.to_json(),
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": timestamp,
        "lastTimestamp": timestamp,
        "count": 1,
        "type": type_.as_str(),
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": "",
    })
}

/// Record one event, aggregating repeats into the existing Event's `count`.
pub fn record(
    cluster: &Cluster,
    involved: &ObjectReference,
    type_: EventType,
    reason: &str,
    message: &str,
    component: &str,
) {
    let key = AggregationKey {
        involved: (
            involved.kind.clone(),
            involved.namespace.clone(),
            involved.name.clone(),
            involved.uid.clone(),
            involved.api_version.clone(),
        ),
        component: component.to_string(),
        type_,
        reason: reason.to_string(),
        message: message.to_string(),
    };
    let previous = remembered()
        .lock()
        .map(|seen| seen.get(&key).cloned())
        .unwrap_or_default();
    let now = jiff::Timestamp::now();
    if let Some(seen) = previous {
        let patch = json!({
            "count": seen.count + 1,
            "lastTimestamp": crate::sandbox::api::cluster::timestamp_string(now),
        });
        let bumped = cluster.patch(
            &EVENTS,
            Some(&seen.namespace),
            &seen.name,
            PatchBody::Merge(patch),
            Subresource::Main,
            &WriteOptions::default(),
        );
        if bumped.is_ok() {
            remember(
                key,
                Seen {
                    count: seen.count + 1,
                    ..seen
                },
            );
            return;
        }
        // The Event is gone (or expired): start a new one, as upstream does.
    }
    let event = new_event(involved, type_, reason, message, component, now);
    let namespace = involved.event_namespace().to_string();
    match cluster.create(&EVENTS, Some(&namespace), event, &WriteOptions::default()) {
        Ok(created) => {
            let name = created["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            remember(
                key,
                Seen {
                    namespace,
                    name,
                    count: 1,
                },
            );
        }
        Err(e) => tracing::warn!(
            "event {reason} about {} {}/{} not recorded: {e}",
            involved.kind,
            involved.namespace,
            involved.name
        ),
    }
}

fn remember(key: AggregationKey, seen: Seen) {
    if let Ok(mut remembered) = remembered().lock() {
        if remembered.len() >= MAX_REMEMBERED && !remembered.contains_key(&key) {
            remembered.clear();
        }
        remembered.insert(key, seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::cluster::ListOptions;

    fn web_ref(uid: &str) -> ObjectReference {
        ObjectReference {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            namespace: "default".into(),
            name: "web".into(),
            uid: uid.into(),
            resource_version: "7".into(),
        }
    }

    fn events(cluster: &Cluster) -> Vec<Value> {
        cluster
            .list(&EVENTS, Some("default"), &ListOptions::default())
            .unwrap()
            .items
    }

    #[test]
    fn a_typed_reference_is_the_one_its_json_gives() {
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-0", "namespace": "default", "uid": "u", "resourceVersion": "9"},
        }))
        .unwrap();
        let json = serde_json::to_value(&pod).unwrap();
        assert_eq!(ObjectReference::of_typed(&pod), ObjectReference::of(&json));
        assert_eq!(ObjectReference::of_typed(&pod).kind, "Pod");
    }

    #[test]
    fn first_event_has_the_upstream_fields() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let event = new_event(
            &web_ref("u1"),
            EventType::Normal,
            "SuccessfulCreate",
            "create Pod web-0 in StatefulSet web successful",
            "statefulset-controller",
            now,
        );
        assert_eq!(
            event["metadata"]["name"],
            format!("web.{:x}", now.as_nanosecond())
        );
        assert_eq!(event["involvedObject"]["uid"], "u1");
        assert_eq!(event["source"]["component"], "statefulset-controller");
        assert_eq!(event["reportingComponent"], "statefulset-controller");
        assert_eq!(event["count"], 1);
        assert_eq!(event["firstTimestamp"], event["lastTimestamp"]);
        assert_eq!(event["type"], "Normal");
    }

    #[test]
    fn repeats_bump_the_count_of_one_event() {
        let cluster = Cluster::new();
        let involved = web_ref(&uuid::Uuid::new_v4().to_string());
        for _ in 0..3 {
            record(
                &cluster,
                &involved,
                EventType::Warning,
                "FailedCreate",
                "boom",
                "statefulset-controller",
            );
        }
        record(
            &cluster,
            &involved,
            EventType::Warning,
            "FailedCreate",
            "other",
            "statefulset-controller",
        );
        let mut listed = events(&cluster);
        listed.sort_by_key(|e| e["count"].as_i64());
        let counts: Vec<(i64, &str)> = listed
            .iter()
            .map(|e| {
                (
                    e["count"].as_i64().unwrap_or(0),
                    e["message"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(counts, [(1, "other"), (3, "boom")]);
    }

    #[test]
    fn a_deleted_event_is_started_afresh() {
        let cluster = Cluster::new();
        let involved = web_ref(&uuid::Uuid::new_v4().to_string());
        record(&cluster, &involved, EventType::Normal, "R", "m", "c");
        let name = events(&cluster)[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        cluster
            .delete(&EVENTS, Some("default"), &name, &Default::default())
            .unwrap();
        record(&cluster, &involved, EventType::Normal, "R", "m", "c");
        let listed = events(&cluster);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["count"], 1);
    }
}
