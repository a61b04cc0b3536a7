//! `events.k8s.io/v1` Events are a second view of the core/v1 Events, as in
//! the real API server (one storage, converted on the way in and out), so an
//! event recorded through either API shows in both — and in `kubectl describe`.

use serde_json::{Map, Value, json};

/// (core/v1 field, events.k8s.io/v1 field) pairs copied as they are.
const RENAMED: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("reason", "reason"),
    ("type", "type"),
    ("action", "action"),
    ("eventTime", "eventTime"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// A core/v1 Event as events.k8s.io/v1 shows it.
pub fn to_v1(core: &Value) -> Value {
    let source = object(core);
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("events.k8s.io/v1"));
    out.insert("kind".into(), json!("Event"));
    if let Some(metadata) = source.get("metadata") {
        out.insert("metadata".into(), metadata.clone());
    }
    for (core_field, v1_field) in RENAMED {
        if let Some(value) = source.get(*core_field).filter(|v| !v.is_null()) {
            out.insert((*v1_field).into(), value.clone());
        }
    }
    if let Some(series) = source.get("series").filter(|v| !v.is_null()) {
        out.insert("series".into(), series.clone());
    }
    Value::Object(out)
}

/// An events.k8s.io/v1 Event in core/v1 form, as it is stored.
pub fn to_core(v1: &Value) -> Value {
    let source = object(v1);
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("v1"));
    out.insert("kind".into(), json!("Event"));
    if let Some(metadata) = source.get("metadata") {
        out.insert("metadata".into(), metadata.clone());
    }
    for (core_field, v1_field) in RENAMED {
        if let Some(value) = source.get(*v1_field).filter(|v| !v.is_null()) {
            out.insert((*core_field).into(), value.clone());
        }
    }
    if let Some(series) = source.get("series").filter(|v| !v.is_null()) {
        out.insert("series".into(), series.clone());
        // Readers of core/v1 (kubectl describe) look at count and lastTimestamp.
        if let Some(count) = series.get("count") {
            out.insert("count".into(), count.clone());
        }
        if let Some(last) = series.get("lastObservedTime") {
            out.insert("lastTimestamp".into(), last.clone());
        }
    }
    if !out.contains_key("firstTimestamp")
        && let Some(time) = source.get("eventTime").filter(|v| !v.is_null())
    {
        out.insert("firstTimestamp".into(), time.clone());
        out.entry("lastTimestamp").or_insert_with(|| time.clone());
    }
    if !out.contains_key("source")
        && let Some(controller) = source.get("reportingController")
    {
        out.insert("source".into(), json!({ "component": controller }));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kube_rs_recorder_event_reads_as_a_core_event() {
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "regarding": {"kind": "StatefulSet", "name": "web", "namespace": "default"},
            "note": "step 1 of 3", "reason": "CanaryStep", "type": "Normal", "action": "Canary",
            "eventTime": "2026-11-23T10:00:00.000000Z",
            "reportingController": "kubectl-sts", "reportingInstance": "abc",
        });
        let core = to_core(&v1);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "web");
        assert_eq!(core["message"], "step 1 of 3");
        assert_eq!(core["firstTimestamp"], "2026-11-23T10:00:00.000000Z");
        assert_eq!(core["source"]["component"], "kubectl-sts");
        let back = to_v1(&core);
        for field in [
            "regarding",
            "note",
            "reason",
            "type",
            "action",
            "eventTime",
            "reportingController",
        ] {
            assert_eq!(back[field], v1[field], "{field}");
        }
    }

    #[test]
    fn series_become_count_and_last_timestamp() {
        let v1 = json!({
            "metadata": {"name": "e"}, "reason": "R",
            "series": {"count": 3, "lastObservedTime": "2026-11-23T10:01:00.000000Z"},
        });
        let core = to_core(&v1);
        assert_eq!(core["count"], 3);
        assert_eq!(core["lastTimestamp"], "2026-11-23T10:01:00.000000Z");
    }
}
