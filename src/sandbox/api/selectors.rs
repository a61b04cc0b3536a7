//! Label and field selectors in their string forms (`app=web,tier!=db`,
//! `env in (a,b)`, `!canary`; `metadata.name=web-0,status.phase!=Running`), parsed
//! once and matched against stored objects.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::ApiError;
use crate::sandbox::resources::ResourceType;

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for term in split_top_level(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_label_term(term)?);
        }
        Ok(LabelSelector { requirements })
    }

    /// The selector of a `LabelSelector` object (`{matchLabels, matchExpressions}`).
    pub fn from_object(selector: &Value) -> Result<Self, ApiError> {
        Self::parse(&selector_string(selector))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|req| match req {
            LabelRequirement::Equals(k, v) => labels.get(k) == Some(v),
            LabelRequirement::NotEquals(k, v) => labels.get(k) != Some(v),
            LabelRequirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            LabelRequirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            LabelRequirement::Exists(k) => labels.contains_key(k),
            LabelRequirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.is_empty() || self.matches_labels(&labels_of(object))
    }
}

/// The labels of a stored object as a map (non-string values are ignored).
pub fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Split on commas that are not inside `( ... )`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn invalid_selector(term: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: found '{term}', expected: ',', '!=', '==', '=', 'in', 'notin' or end of string"
    ))
}

fn parse_label_term(term: &str) -> Result<LabelRequirement, ApiError> {
    if let Some(key) = term.strip_prefix('!') {
        let key = key.trim();
        return valid_key(key, term).map(|k| LabelRequirement::DoesNotExist(k.to_string()));
    }
    if let Some((key, value)) = term.split_once("!=") {
        let key = valid_key(key.trim(), term)?;
        return Ok(LabelRequirement::NotEquals(
            key.to_string(),
            value.trim().to_string(),
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        let key = valid_key(key.trim(), term)?;
        return Ok(LabelRequirement::Equals(
            key.to_string(),
            value.trim().to_string(),
        ));
    }
    for (operator, negate) in [(" notin ", true), (" in ", false)] {
        if let Some((key, rest)) = term.split_once(operator) {
            let key = valid_key(key.trim(), term)?;
            let values = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| invalid_selector(term))?;
            let values: Vec<String> = values
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            return Ok(if negate {
                LabelRequirement::NotIn(key.to_string(), values)
            } else {
                LabelRequirement::In(key.to_string(), values)
            });
        }
    }
    valid_key(term, term).map(|k| LabelRequirement::Exists(k.to_string()))
}

fn valid_key<'a>(key: &'a str, term: &str) -> Result<&'a str, ApiError> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(key)
    } else {
        Err(invalid_selector(term))
    }
}

/// The string form of a `LabelSelector` object (`{matchLabels, matchExpressions}`),
/// as `/scale` reports it in `status.selector`.
pub fn selector_string(selector: &Value) -> String {
    let mut terms = Vec::new();
    if let Some(labels) = selector["matchLabels"].as_object() {
        for (k, v) in labels {
            terms.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    if let Some(expressions) = selector["matchExpressions"].as_array() {
        for e in expressions {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|vs| vs.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str().unwrap_or_default() {
                "In" => terms.push(format!("{key} in ({})", values.join(","))),
                "NotIn" => terms.push(format!("{key} notin ({})", values.join(","))),
                "Exists" => terms.push(key.to_string()),
                "DoesNotExist" => terms.push(format!("!{key}")),
                _ => {}
            }
        }
    }
    terms.sort();
    terms.join(",")
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRequirement {
    field: String,
    value: String,
    negate: bool,
}

/// A parsed field selector over the fields each type supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn parse(rt: &ResourceType, text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for term in text.split(',') {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let (field, value, negate) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !supported_field(rt, field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                value: value.trim().to_string(),
                negate,
            });
        }
        Ok(FieldSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|req| {
            let actual = field_value(object, &req.field);
            (actual == req.value) != req.negate
        })
    }
}

fn supported_field(rt: &ResourceType, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match (rt.group, rt.kind) {
        ("", "Pod") => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        ("", "Event") | ("events.k8s.io", "Event") => {
            field.starts_with("involvedObject.")
                || field.starts_with("regarding.")
                || matches!(field, "reason" | "source" | "type" | "reportingComponent")
        }
        ("", "Namespace") | ("", "PersistentVolumeClaim") | ("", "PersistentVolume") => {
            field == "status.phase"
        }
        ("", "Secret") => field == "type",
        ("", "Node") => field == "spec.unschedulable",
        _ => false,
    }
}

/// A field's value as a selector sees it: strings as-is, other scalars
/// printed, missing as the empty string.
fn field_value(object: &Value, field: &str) -> String {
    let mut current = object;
    for part in field.split('.') {
        current = &current[part];
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{EVENTS, PODS, STATEFUL_SETS};
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "web-0", "namespace": "default", "labels": labels},
               "spec": {"nodeName": "sandbox-node"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selectors_support_every_operator() {
        let p = pod(json!({"app": "web", "tier": "front"}));
        for (selector, expected) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web,db)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!canary", true),
            ("app=web,tier in (front, back)", true),
            ("missing!=x", true),
            ("", true),
        ] {
            let parsed = LabelSelector::parse(selector).unwrap();
            assert_eq!(parsed.matches(&p), expected, "{selector}");
        }
    }

    #[test]
    fn malformed_label_selectors_are_bad_requests() {
        let err = LabelSelector::parse("app in web").unwrap_err();
        assert_eq!(err.code, 400);
    }

    #[test]
    fn field_selectors_check_supported_fields() {
        let p = pod(json!({}));
        let by_name = FieldSelector::parse(&PODS, "metadata.name=web-0").unwrap();
        assert!(by_name.matches(&p));
        let not_running = FieldSelector::parse(&PODS, "status.phase!=Running").unwrap();
        assert!(!not_running.matches(&p));
        let node = FieldSelector::parse(&PODS, "spec.nodeName=sandbox-node").unwrap();
        assert!(node.matches(&p));
        assert_eq!(
            FieldSelector::parse(&STATEFUL_SETS, "status.phase=x")
                .unwrap_err()
                .message,
            "field label not supported: status.phase"
        );
        let event = json!({"involvedObject": {"kind": "Pod", "name": "web-0"}, "type": "Normal"});
        let sel = FieldSelector::parse(&EVENTS, "involvedObject.name=web-0,type=Normal").unwrap();
        assert!(sel.matches(&event));
    }

    #[test]
    fn selector_objects_render_as_strings() {
        let sel = json!({"matchLabels": {"app": "web"},
                         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]});
        assert_eq!(selector_string(&sel), "app=web,tier in (a,b)");
        let parsed = LabelSelector::parse(&selector_string(&sel)).unwrap();
        assert!(parsed.matches(&pod(json!({"app": "web", "tier": "b"}))));
    }
}
