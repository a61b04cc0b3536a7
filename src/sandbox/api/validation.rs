//! Create and update validation with the API server's field errors
//! (k8s.io/kubernetes pkg/apis/apps/validation, pkg/apis/core/validation,
//! k8s.io/apimachinery pkg/api/validation and pkg/util/validation/field).
//!
//! Every failure is a 422 Invalid whose causes read exactly like upstream's
//! `field.Error`s (`spec.replicas: Invalid value: -1: must be greater than or
//! equal to 0`). As upstream, a StatefulSet's pod template is not validated
//! as a pod spec: a bad container only shows when the controller's pod create
//! fails.

use serde_json::{Map, Value};

use crate::sandbox::api::error::{ApiError, FieldCause};
use crate::sandbox::resources::ResourceType;

/// Validates an object about to be created (after defaulting).
pub fn validate_create(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let mut errors = Errors::default();
    validate_name(rt, obj, &mut errors);
    match (rt.group, rt.kind) {
        ("apps", "StatefulSet") => validate_stateful_set_spec(&obj["spec"], &mut errors),
        ("", "Pod") => validate_pod_spec(&obj["spec"], "spec", &mut errors),
        ("", "Service") => validate_service(obj, &mut errors),
        ("", "PersistentVolumeClaim") => validate_claim_spec(&obj["spec"], &mut errors),
        ("", "PersistentVolume") => validate_volume_spec(&obj["spec"], &mut errors),
        _ => {}
    }
    errors.into_result(rt, obj)
}

/// Validates an update of `old` to `new` (both defaulted). Names are not
/// revalidated, as upstream (they cannot change anyway).
pub fn validate_update(rt: &ResourceType, old: &Value, new: &Value) -> Result<(), ApiError> {
    let mut errors = Errors::default();
    match (rt.group, rt.kind) {
        ("apps", "StatefulSet") => {
            validate_stateful_set_spec(&new["spec"], &mut errors);
            validate_stateful_set_spec_update(&old["spec"], &new["spec"], &mut errors);
        }
        ("", "Pod") => validate_pod_update(&old["spec"], &new["spec"], &mut errors),
        ("", "Service") => {
            validate_service(new, &mut errors);
            validate_service_update(&old["spec"], &new["spec"], &mut errors);
        }
        ("", "PersistentVolumeClaim") => validate_claim_update(old, new, &mut errors),
        ("", "PersistentVolume") => validate_volume_spec(&new["spec"], &mut errors),
        _ => {}
    }
    errors.into_result(rt, new)
}

// ---------------------------------------------------------------- field errors

/// The `field.ErrorList` being collected.
#[derive(Default)]
struct Errors(Vec<FieldCause>);

impl Errors {
    fn push(&mut self, reason: &str, field: &str, message: String) {
        self.0.push(FieldCause {
            reason: reason.to_string(),
            message,
            field: field.to_string(),
        });
    }

    /// `field.Required`: `Required value[: detail]`.
    fn required(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueRequired",
            field,
            with_detail("Required value", detail),
        );
    }

    /// `field.Invalid`: `Invalid value: <value>: detail`.
    fn invalid(&mut self, field: &str, value: &str, detail: &str) {
        let body = format!("Invalid value: {value}");
        self.push("FieldValueInvalid", field, with_detail(&body, detail));
    }

    fn forbidden(&mut self, field: &str, detail: &str) {
        self.push(
            "FieldValueForbidden",
            field,
            with_detail("Forbidden", detail),
        );
    }

    /// `field.NotSupported`: `Unsupported value: "x": supported values: "a", "b"`.
    fn not_supported(&mut self, field: &str, value: &str, supported: &[&str]) {
        let supported: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        self.push(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {}: supported values: {}",
                go_quote(value),
                supported.join(", ")
            ),
        );
    }

    fn not_found(&mut self, field: &str, value: &str) {
        self.push(
            "FieldValueNotFound",
            field,
            format!("Not found: {}", go_quote(value)),
        );
    }

    fn duplicate(&mut self, field: &str, value: &str) {
        self.push(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {}", go_quote(value)),
        );
    }

    /// `ValidateNonnegativeField`.
    fn nonnegative(&mut self, field: &str, value: &Value) {
        if let Some(n) = value.as_i64()
            && n < 0
        {
            self.invalid(field, &n.to_string(), "must be greater than or equal to 0");
        }
    }

    fn into_result(self, rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::invalid(rt, name, self.0))
    }
}

fn with_detail(body: &str, detail: &str) -> String {
    if detail.is_empty() {
        body.to_string()
    } else {
        format!("{body}: {detail}")
    }
}

/// Go's `%q` for the plain strings that appear in API fields.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Go's `%#v` of a `map[string]string`: keys sorted, `(nil)` when absent.
fn go_string_map(value: &Value) -> String {
    let Some(map) = value.as_object() else {
        return "map[string]string(nil)".to_string();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                go_quote(k),
                go_quote(v.as_str().unwrap_or_default())
            )
        })
        .collect();
    pairs.sort();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

// ---------------------------------------------------------------- names

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Dns1123Label,
    Dns1123Subdomain,
    Dns1035Label,
    PathSegment,
}

fn name_rule(rt: &ResourceType) -> NameRule {
    match (rt.group, rt.kind) {
        ("apps", "StatefulSet") | ("", "Namespace") => NameRule::Dns1123Label,
        ("", "Service") => NameRule::Dns1035Label,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    }
}

fn is_label(s: &str, first_alpha: bool) -> bool {
    let bytes = s.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.iter().all(ok_char)
                && (if first_alpha {
                    first.is_ascii_lowercase()
                } else {
                    first.is_ascii_alphanumeric()
                })
                && last.is_ascii_alphanumeric()
        }
        _ => false,
    }
}

/// The messages `NameIsDNSLabel` & co return for `name`.
fn name_problems(rule: NameRule, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    match rule {
        NameRule::Dns1123Label | NameRule::Dns1035Label => {
            if name.len() > 63 {
                problems.push("must be no more than 63 characters".to_string());
            }
            let first_alpha = rule == NameRule::Dns1035Label;
            if !is_label(name, first_alpha) {
                let msg = if first_alpha {
                    DNS1035_LABEL_MSG
                } else {
                    DNS1123_LABEL_MSG
                };
                problems.push(msg.to_string());
            }
        }
        NameRule::Dns1123Subdomain => {
            if name.len() > 253 {
                problems.push("must be no more than 253 characters".to_string());
            }
            if !name.split('.').all(|part| is_label(part, false)) {
                problems.push(DNS1123_SUBDOMAIN_MSG.to_string());
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                problems.push(format!("may not be '{name}'"));
            }
            for bad in ["/", "%"] {
                if name.contains(bad) {
                    problems.push(format!("may not contain '{bad}'"));
                }
            }
        }
    }
    problems
}

fn validate_name(rt: &ResourceType, obj: &Value, errors: &mut Errors) {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        if obj["metadata"]["generateName"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            errors.required("metadata.name", "name or generateName is required");
        }
        return;
    }
    for problem in name_problems(name_rule(rt), name) {
        errors.invalid("metadata.name", &go_quote(name), &problem);
    }
}

// ---------------------------------------------------------------- statefulsets

fn validate_stateful_set_spec(spec: &Value, errors: &mut Errors) {
    match spec["podManagementPolicy"].as_str().unwrap_or_default() {
        "" => errors.required("spec.podManagementPolicy", ""),
        "OrderedReady" | "Parallel" => {}
        other => errors.invalid(
            "spec.podManagementPolicy",
            &go_quote(other),
            "must be 'OrderedReady' or 'Parallel'",
        ),
    }

    let strategy = &spec["updateStrategy"];
    let rolling = &strategy["rollingUpdate"];
    match strategy["type"].as_str().unwrap_or_default() {
        "" => errors.required("spec.updateStrategy", ""),
        "OnDelete" => {
            if rolling.is_object() {
                errors.invalid(
                    "spec.updateStrategy.rollingUpdate",
                    &go_rolling_update(rolling),
                    "only allowed for updateStrategy 'RollingUpdate'",
                );
            }
        }
        "RollingUpdate" => {
            if rolling.is_object() {
                validate_rolling_update(rolling, errors);
            }
        }
        other => errors.invalid(
            "spec.updateStrategy",
            &format!(
                "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                if rolling.is_object() {
                    format!("&{}", go_rolling_update(rolling))
                } else {
                    "(*apps.RollingUpdateStatefulSetStrategy)(nil)".to_string()
                }
            ),
            "must be 'RollingUpdate' or 'OnDelete'",
        ),
    }

    let retention = &spec["persistentVolumeClaimRetentionPolicy"];
    if retention.is_object() {
        for when in ["whenDeleted", "whenScaled"] {
            let value = retention[when].as_str().unwrap_or_default();
            if !matches!(value, "Retain" | "Delete") {
                errors.not_supported(
                    &format!("spec.persistentVolumeClaimRetentionPolicy.{when}"),
                    value,
                    &["Retain", "Delete"],
                );
            }
        }
    }

    errors.nonnegative("spec.replicas", &spec["replicas"]);
    errors.nonnegative("spec.minReadySeconds", &spec["minReadySeconds"]);
    if spec["ordinals"].is_object() {
        errors.nonnegative("spec.ordinals.start", &spec["ordinals"]["start"]);
    }

    let selector = &spec["selector"];
    if !selector.is_object() {
        errors.required("spec.selector", "");
    } else {
        let match_labels = selector["matchLabels"].as_object().map_or(0, Map::len);
        let expressions = selector["matchExpressions"].as_array().map_or(0, Vec::len);
        if match_labels + expressions == 0 {
            errors.invalid(
                "spec.selector",
                "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}",
                "empty selector is invalid for statefulset",
            );
        } else {
            let labels = &spec["template"]["metadata"]["labels"];
            if !selector_matches(selector, labels) {
                errors.invalid(
                    "spec.template.metadata.labels",
                    &go_string_map(labels),
                    "`selector` does not match template `labels`",
                );
            }
        }
    }

    let restart_policy = spec["template"]["spec"]["restartPolicy"]
        .as_str()
        .unwrap_or_default();
    if restart_policy != "Always" {
        errors.not_supported(
            "spec.template.spec.restartPolicy",
            restart_policy,
            &["Always"],
        );
    }
    if !spec["template"]["spec"]["activeDeadlineSeconds"].is_null() {
        errors.forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in StatefulSet is not Supported",
        );
    }
}

/// Go's `%#v` of the RollingUpdateStatefulSetStrategy (pointer fields print
/// as addresses upstream; we print their values).
fn go_rolling_update(rolling: &Value) -> String {
    let partition = rolling["partition"].as_i64().unwrap_or(0);
    let max_unavailable = match &rolling["maxUnavailable"] {
        Value::Null => "(*intstr.IntOrString)(nil)".to_string(),
        other => format!("&{other}"),
    };
    format!(
        "apps.RollingUpdateStatefulSetStrategy{{Partition:{partition}, MaxUnavailable:{max_unavailable}}}"
    )
}

fn validate_rolling_update(rolling: &Value, errors: &mut Errors) {
    errors.nonnegative(
        "spec.updateStrategy.rollingUpdate.partition",
        &rolling["partition"],
    );
    let field = "spec.updateStrategy.rollingUpdate.maxUnavailable";
    match &rolling["maxUnavailable"] {
        Value::Null => {}
        Value::Number(n) => {
            let n = n.as_i64().unwrap_or(0);
            if n < 0 {
                errors.invalid(field, &n.to_string(), "must be greater than or equal to 0");
            }
            if n == 0 {
                errors.invalid(field, &n.to_string(), "cannot be 0");
            }
        }
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(percent) => {
                if percent == 0 {
                    errors.invalid(field, &go_quote(s), "cannot be 0");
                }
                if percent > 100 {
                    errors.invalid(field, &go_quote(s), "must not be greater than 100%");
                }
            }
            None => errors.invalid(
                field,
                &go_quote(s),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            ),
        },
        other => errors.invalid(field, &other.to_string(), "must be an integer or percentage (e.g '5%')"),
    }
}

/// Whether a LabelSelector (matchLabels and matchExpressions) selects `labels`.
fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let labels_match = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let expressions_match = selector["matchExpressions"].as_array().is_none_or(|exprs| {
        exprs.iter().all(|expr| {
            let key = expr["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = expr["values"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match expr["operator"].as_str() {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        })
    });
    labels_match && expressions_match
}

/// Spec fields an update may change.
const STATEFUL_SET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn validate_stateful_set_spec_update(old: &Value, new: &Value, errors: &mut Errors) {
    if without(old, STATEFUL_SET_MUTABLE) != without(new, STATEFUL_SET_MUTABLE) {
        errors.forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
    }
}

/// `value` without `keys`, normalized as `Semantic.DeepEqual` compares: null,
/// empty lists and empty maps count as absent.
fn without(value: &Value, keys: &[&str]) -> Value {
    let mut value = value.clone();
    if let Some(map) = value.as_object_mut() {
        for key in keys {
            map.remove(*key);
        }
    }
    normalized(value)
}

fn normalized(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, normalized(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.into_iter().map(normalized).collect()),
        other => other,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(list) => list.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

// ---------------------------------------------------------------- pods

fn validate_pod_spec(spec: &Value, path: &str, errors: &mut Errors) {
    let mut volume_names: Vec<&str> = Vec::new();
    for (i, volume) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        let name = volume["name"].as_str().unwrap_or_default();
        let field = format!("{path}.volumes[{i}].name");
        if name.is_empty() {
            errors.required(&field, "");
        } else if volume_names.contains(&name) {
            errors.duplicate(&field, name);
        } else {
            volume_names.push(name);
        }
    }
    let containers = spec["containers"].as_array().filter(|c| !c.is_empty());
    if containers.is_none() {
        errors.required(&format!("{path}.containers"), "");
    }
    let mut container_names: Vec<&str> = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, container) in spec[list].as_array().into_iter().flatten().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            let name = container["name"].as_str().unwrap_or_default();
            if name.is_empty() {
                errors.required(&format!("{at}.name"), "");
            } else if container_names.contains(&name) {
                errors.duplicate(&format!("{at}.name"), name);
            } else {
                for problem in name_problems(NameRule::Dns1123Label, name) {
                    errors.invalid(&format!("{at}.name"), &go_quote(name), &problem);
                }
                container_names.push(name);
            }
            if container["image"]
                .as_str()
                .is_none_or(|i| i.trim().is_empty())
            {
                errors.required(&format!("{at}.image"), "");
            }
            for (j, mount) in container["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let mount_name = mount["name"].as_str().unwrap_or_default();
                let field = format!("{at}.volumeMounts[{j}].name");
                if mount_name.is_empty() {
                    errors.required(&field, "");
                } else if !volume_names.contains(&mount_name) {
                    errors.not_found(&field, mount_name);
                }
                if mount["mountPath"].as_str().is_none_or(str::is_empty) {
                    errors.required(&format!("{at}.volumeMounts[{j}].mountPath"), "");
                }
            }
        }
    }
    let restart_policy = spec["restartPolicy"].as_str().unwrap_or_default();
    if !matches!(restart_policy, "Always" | "OnFailure" | "Never") {
        errors.not_supported(
            &format!("{path}.restartPolicy"),
            restart_policy,
            &["Always", "OnFailure", "Never"],
        );
    }
}

const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn validate_pod_update(old: &Value, new: &Value, errors: &mut Errors) {
    for list in ["initContainers", "containers"] {
        for (i, container) in new[list].as_array().into_iter().flatten().enumerate() {
            if container["image"]
                .as_str()
                .is_none_or(|i| i.trim().is_empty())
            {
                errors.required(&format!("spec.{list}[{i}].image"), "");
            }
        }
    }
    // Take over what may change into a copy of the old spec; anything left
    // different is forbidden (ValidatePodUpdate's "munged" spec).
    let mut munged = new.clone();
    for list in ["initContainers", "containers"] {
        let old_list = old[list].as_array();
        if let (Some(old_list), Some(new_list)) = (old_list, munged[list].as_array_mut())
            && old_list.len() == new_list.len()
        {
            for (new_container, old_container) in new_list.iter_mut().zip(old_list) {
                new_container["image"] = old_container["image"].clone();
            }
        }
    }
    let old_deadline = old["activeDeadlineSeconds"].as_i64();
    if let Some(new_deadline) = new["activeDeadlineSeconds"].as_i64()
        && new_deadline > 0
        && old_deadline.is_none_or(|old| new_deadline <= old)
    {
        munged["activeDeadlineSeconds"] = old["activeDeadlineSeconds"].clone();
    }
    let old_tolerations = old["tolerations"].as_array().cloned().unwrap_or_default();
    let new_tolerations = new["tolerations"].as_array().cloned().unwrap_or_default();
    if old_tolerations.iter().all(|t| new_tolerations.contains(t)) {
        munged["tolerations"] = old["tolerations"].clone();
    }
    if old["terminationGracePeriodSeconds"]
        .as_i64()
        .is_some_and(|g| g < 0)
        && new["terminationGracePeriodSeconds"].as_i64() == Some(1)
    {
        munged["terminationGracePeriodSeconds"] = old["terminationGracePeriodSeconds"].clone();
    }
    // Upstream binds through pods/binding; the sandbox scheduler sets
    // nodeName with an update, so a first assignment is let through.
    if old["nodeName"].as_str().is_none_or(str::is_empty) {
        munged["nodeName"] = old["nodeName"].clone();
    }
    if normalized(munged.clone()) != normalized(old.clone()) {
        let diff = spec_diff(old, &munged);
        errors.forbidden("spec", &format!("{POD_UPDATE_FORBIDDEN}\n{diff}"));
    }
}

/// A short listing of the spec fields that differ, standing in for the
/// `cmp.Diff` upstream appends.
fn spec_diff(old: &Value, new: &Value) -> String {
    let empty = Map::new();
    let old_map = old.as_object().unwrap_or(&empty);
    let new_map = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut lines = Vec::new();
    for key in keys {
        let (before, after) = (old_map.get(key), new_map.get(key));
        if before.map(|v| normalized(v.clone())) != after.map(|v| normalized(v.clone())) {
            if let Some(before) = before {
                lines.push(format!("-   {key}: {before}"));
            }
            if let Some(after) = after {
                lines.push(format!("+   {key}: {after}"));
            }
        }
    }
    format!("  core.PodSpec{{\n{}\n  }}", lines.join("\n"))
}

// ---------------------------------------------------------------- services

fn validate_service(service: &Value, errors: &mut Errors) {
    let spec = &service["spec"];
    let service_type = spec["type"].as_str().unwrap_or("ClusterIP");
    if !matches!(
        service_type,
        "ClusterIP" | "ExternalName" | "LoadBalancer" | "NodePort"
    ) {
        errors.not_supported(
            "spec.type",
            service_type,
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        );
    }
    let headless = spec["clusterIP"] == "None";
    let ports = spec["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        errors.required("spec.ports", "");
    }
    for (i, port) in ports.iter().enumerate() {
        let number = port["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&number) {
            errors.invalid(
                &format!("spec.ports[{i}].port"),
                &number.to_string(),
                "must be between 1 and 65535, inclusive",
            );
        }
        if ports.len() > 1 && port["name"].as_str().is_none_or(str::is_empty) {
            errors.required(&format!("spec.ports[{i}].name"), "");
        }
    }
}

fn validate_service_update(old: &Value, new: &Value, errors: &mut Errors) {
    let old_ip = old["clusterIPs"][0].as_str().or(old["clusterIP"].as_str());
    let new_ip = new["clusterIPs"][0].as_str().or(new["clusterIP"].as_str());
    let to_or_from_external_name = old["type"] == "ExternalName" || new["type"] == "ExternalName";
    if !to_or_from_external_name
        && let Some(old_ip) = old_ip.filter(|ip| !ip.is_empty())
        && new_ip != Some(old_ip)
    {
        let ips: Vec<String> = new["clusterIPs"]
            .as_array()
            .map(|ips| ips.iter().filter_map(Value::as_str).map(go_quote).collect())
            .unwrap_or_default();
        errors.invalid(
            "spec.clusterIPs[0]",
            &format!("[]string{{{}}}", ips.join(", ")),
            "may not change once set",
        );
    }
}

// ---------------------------------------------------------------- storage

fn validate_claim_spec(spec: &Value, errors: &mut Errors) {
    if spec["accessModes"].as_array().is_none_or(Vec::is_empty) {
        errors.required("spec.accessModes", "at least 1 access mode is required");
    }
    if spec["resources"]["requests"]["storage"].is_null() {
        errors.required("spec.resources[storage]", "");
    }
}

fn validate_claim_update(old: &Value, new: &Value, errors: &mut Errors) {
    validate_claim_spec(&new["spec"], errors);
    let mut old_spec = old["spec"].clone();
    let mut new_spec = new["spec"].clone();
    // volumeAttributesClassName may change; volumeName may be set once;
    // requests may change once the claim is bound.
    new_spec["volumeAttributesClassName"] = old_spec["volumeAttributesClassName"].clone();
    if old_spec["volumeName"].as_str().is_none_or(str::is_empty) {
        old_spec["volumeName"] = new_spec["volumeName"].clone();
    }
    if new["status"]["phase"] == "Bound" {
        new_spec["resources"]["requests"]["storage"] =
            old_spec["resources"]["requests"]["storage"].clone();
    }
    if normalized(old_spec) != normalized(new_spec) {
        errors.forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        );
    }
    let old_size = quantity_bytes(&old["spec"]["resources"]["requests"]["storage"]);
    let new_size = quantity_bytes(&new["spec"]["resources"]["requests"]["storage"]);
    if let (Some(old_size), Some(new_size)) = (old_size, new_size)
        && new_size < old_size
    {
        errors.forbidden(
            "spec.resources.requests.storage",
            "field can not be less than previous value",
        );
    }
}

/// A storage quantity in bytes, for comparisons.
fn quantity_bytes(value: &Value) -> Option<f64> {
    let text = value.as_str()?;
    let quantity: kube_quantity::ParsedQuantity = text.try_into().ok()?;
    quantity.to_bytes_f64()
}

fn validate_volume_spec(spec: &Value, errors: &mut Errors) {
    match spec["capacity"].as_object() {
        None => errors.required("spec.capacity", ""),
        Some(capacity) if capacity.is_empty() => errors.required("spec.capacity", ""),
        Some(capacity) => {
            if !capacity.contains_key("storage") || capacity.len() > 1 {
                let mut keys: Vec<&str> = capacity.keys().map(String::as_str).collect();
                keys.sort();
                errors.not_supported("spec.capacity", &keys.join(","), &["storage"]);
            }
        }
    }
    if spec["accessModes"].as_array().is_none_or(Vec::is_empty) {
        errors.required("spec.accessModes", "");
    }
    const SOURCES: &[&str] = &[
        "hostPath",
        "nfs",
        "local",
        "csi",
        "iscsi",
        "fc",
        "rbd",
        "cephfs",
        "glusterfs",
        "azureDisk",
        "azureFile",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "cinder",
        "flexVolume",
        "flocker",
        "vsphereVolume",
        "quobyte",
        "photonPersistentDisk",
        "portworxVolume",
        "scaleIO",
        "storageos",
    ];
    if !SOURCES.iter().any(|source| spec[*source].is_object()) {
        errors.required("spec", "must specify a volume type");
    }
    let policy = spec["persistentVolumeReclaimPolicy"]
        .as_str()
        .unwrap_or_default();
    if !matches!(policy, "Delete" | "Recycle" | "Retain") {
        errors.not_supported(
            "spec.persistentVolumeReclaimPolicy",
            policy,
            &["Delete", "Recycle", "Retain"],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::defaults::{apply_defaults, scenarios};
    use crate::sandbox::resources::{
        NAMESPACES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, SERVICES, STATEFUL_SETS,
    };
    use serde_json::json;

    fn web() -> Value {
        let mut sts = scenarios::object(scenarios::WEB, "StatefulSet");
        apply_defaults(&STATEFUL_SETS, &mut sts);
        sts
    }

    fn causes(err: &ApiError) -> Vec<(String, String)> {
        err.to_status()["details"]["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["field"].as_str().unwrap().to_string(),
                    c["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn the_scenario_manifests_are_valid() {
        assert_eq!(validate_create(&STATEFUL_SETS, &web()), Ok(()));
        let mut redis = scenarios::object(scenarios::REDIS, "StatefulSet");
        apply_defaults(&STATEFUL_SETS, &mut redis);
        assert_eq!(validate_create(&STATEFUL_SETS, &redis), Ok(()));
        for manifest in [scenarios::WEB, scenarios::REDIS] {
            let mut svc = scenarios::object(manifest, "Service");
            apply_defaults(&SERVICES, &mut svc);
            assert_eq!(validate_create(&SERVICES, &svc), Ok(()));
        }
    }

    #[test]
    fn changing_service_name_is_the_single_forbidden_cause() {
        let old = web();
        let mut new = old.clone();
        new["spec"]["serviceName"] = json!("other");
        let err = validate_update(&STATEFUL_SETS, &old, &new).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "StatefulSet.apps \"web\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
        );
        assert_eq!(
            err.to_status()["details"]["causes"][0]["reason"],
            "FieldValueForbidden"
        );
        let mut claims = old.clone();
        claims["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
            json!("2Gi");
        assert!(validate_update(&STATEFUL_SETS, &old, &claims).is_err());
    }

    #[test]
    fn allowed_statefulset_updates_pass() {
        let old = web();
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        new["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
        new["spec"]["revisionHistoryLimit"] = json!(3);
        new["spec"]["minReadySeconds"] = json!(10);
        new["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = json!("Delete");
        assert_eq!(validate_update(&STATEFUL_SETS, &old, &new), Ok(()));
    }

    #[test]
    fn selector_must_match_template_labels() {
        let mut sts = web();
        sts["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "tier": "a"});
        let err = validate_create(&STATEFUL_SETS, &sts).unwrap_err();
        assert_eq!(
            causes(&err),
            [(
                "spec.template.metadata.labels".to_string(),
                "Invalid value: map[string]string{\"app\":\"web\", \"tier\":\"a\"}: `selector` does not match template `labels`".to_string()
            )]
        );
        let mut missing = web();
        missing["spec"].as_object_mut().unwrap().remove("selector");
        let err = validate_create(&STATEFUL_SETS, &missing).unwrap_err();
        assert_eq!(
            causes(&err)[0],
            ("spec.selector".to_string(), "Required value".to_string())
        );
        let mut expressions = web();
        expressions["spec"]["selector"] = json!({"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["nginx", "web"]},
        ]});
        assert_eq!(validate_create(&STATEFUL_SETS, &expressions), Ok(()));
    }

    #[test]
    fn statefulset_enums_and_numbers() {
        let mut sts = web();
        sts["spec"]["replicas"] = json!(-1);
        sts["spec"]["podManagementPolicy"] = json!("Random");
        sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(-2);
        sts["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
        let err = validate_create(&STATEFUL_SETS, &sts).unwrap_err();
        assert_eq!(
            causes(&err),
            [
                (
                    "spec.podManagementPolicy",
                    "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"
                ),
                (
                    "spec.updateStrategy.rollingUpdate.partition",
                    "Invalid value: -2: must be greater than or equal to 0"
                ),
                (
                    "spec.replicas",
                    "Invalid value: -1: must be greater than or equal to 0"
                ),
                (
                    "spec.template.spec.restartPolicy",
                    "Unsupported value: \"OnFailure\": supported values: \"Always\""
                ),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
        let mut on_delete = web();
        on_delete["spec"]["updateStrategy"]["type"] = json!("OnDelete");
        let err = validate_create(&STATEFUL_SETS, &on_delete).unwrap_err();
        assert_eq!(causes(&err)[0].0, "spec.updateStrategy.rollingUpdate");
        assert!(
            causes(&err)[0]
                .1
                .ends_with(": only allowed for updateStrategy 'RollingUpdate'")
        );
    }

    #[test]
    fn names_follow_each_types_rule() {
        let mut sts = web();
        sts["metadata"]["name"] = json!("web.v1");
        let err = validate_create(&STATEFUL_SETS, &sts).unwrap_err();
        assert_eq!(
            err.message,
            format!(
                "StatefulSet.apps \"web.v1\" is invalid: metadata.name: Invalid value: \"web.v1\": {DNS1123_LABEL_MSG}"
            )
        );
        let pod = json!({"metadata": {"name": "web.v1"}, "spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Always"}});
        assert_eq!(validate_create(&PODS, &pod), Ok(()));
        let svc = json!({"metadata": {"name": "1svc"}, "spec": {"clusterIP": "None"}});
        let err = validate_create(&SERVICES, &svc).unwrap_err();
        assert!(err.message.contains(DNS1035_LABEL_MSG));
        let nameless = json!({"metadata": {}});
        let err = validate_create(&NAMESPACES, &nameless).unwrap_err();
        assert_eq!(
            causes(&err),
            [(
                "metadata.name".to_string(),
                "Required value: name or generateName is required".to_string()
            )]
        );
        let long = "a".repeat(64);
        let err = validate_create(&NAMESPACES, &json!({"metadata": {"name": long}})).unwrap_err();
        assert_eq!(
            causes(&err)[0].1,
            format!("Invalid value: \"{long}\": must be no more than 63 characters")
        );
    }

    #[test]
    fn pods_need_container_names_images_and_known_volumes() {
        let pod = json!({"metadata": {"name": "web-0"}, "spec": {"restartPolicy": "Always", "containers": [
            {"name": "nginx", "image": "", "volumeMounts": [{"name": "www", "mountPath": "/data"}]},
            {"name": "nginx", "image": "x"},
        ]}});
        let err = validate_create(&PODS, &pod).unwrap_err();
        assert_eq!(
            causes(&err),
            [
                ("spec.containers[0].image", "Required value"),
                (
                    "spec.containers[0].volumeMounts[0].name",
                    "Not found: \"www\""
                ),
                ("spec.containers[1].name", "Duplicate value: \"nginx\""),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
    }

    #[test]
    fn pod_updates_may_change_images_but_not_ports() {
        let mut old = json!({"metadata": {"name": "web-0"}, "spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
        ]}});
        apply_defaults(&PODS, &mut old);
        let mut image = old.clone();
        image["spec"]["containers"][0]["image"] = json!("nginx:1.27");
        image["spec"]["tolerations"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "k", "operator": "Exists"}));
        assert_eq!(validate_update(&PODS, &old, &image), Ok(()));
        let mut bound = old.clone();
        bound["spec"]["nodeName"] = json!("sandbox-node");
        assert_eq!(validate_update(&PODS, &old, &bound), Ok(()));
        let mut moved = bound.clone();
        moved["spec"]["nodeName"] = json!("elsewhere");
        assert!(validate_update(&PODS, &bound, &moved).is_err());
        let mut port = old.clone();
        port["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(8080);
        let err = validate_update(&PODS, &old, &port).unwrap_err();
        let (field, message) = &causes(&err)[0];
        assert_eq!(field, "spec");
        assert!(message.starts_with(&format!("Forbidden: {POD_UPDATE_FORBIDDEN}\n")));
        assert!(message.contains("8080"));
    }

    #[test]
    fn service_cluster_ip_is_immutable() {
        let old = json!({"metadata": {"name": "svc"}, "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "ports": [{"port": 80}]}});
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.96.0.21");
        new["spec"]["clusterIPs"] = json!(["10.96.0.21"]);
        let err = validate_update(&SERVICES, &old, &new).unwrap_err();
        assert_eq!(
            causes(&err),
            [(
                "spec.clusterIPs[0]".to_string(),
                "Invalid value: []string{\"10.96.0.21\"}: may not change once set".to_string()
            )]
        );
    }

    #[test]
    fn bound_claims_may_only_grow() {
        let mut old =
            scenarios::object(scenarios::WEB, "StatefulSet")["spec"]["volumeClaimTemplates"][0]
                .clone();
        old["metadata"] = json!({"name": "www-web-0"});
        apply_defaults(&PERSISTENT_VOLUME_CLAIMS, &mut old);
        old["spec"]["volumeName"] = json!("pvc-1");
        old["status"]["phase"] = json!("Bound");
        assert_eq!(validate_create(&PERSISTENT_VOLUME_CLAIMS, &old), Ok(()));
        let mut grown = old.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert_eq!(
            validate_update(&PERSISTENT_VOLUME_CLAIMS, &old, &grown),
            Ok(())
        );
        let mut shrunk = old.clone();
        shrunk["spec"]["resources"]["requests"]["storage"] = json!("512Mi");
        let err = validate_update(&PERSISTENT_VOLUME_CLAIMS, &old, &shrunk).unwrap_err();
        assert_eq!(causes(&err)[0].0, "spec.resources.requests.storage");
        let mut modes = old.clone();
        modes["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        let err = validate_update(&PERSISTENT_VOLUME_CLAIMS, &old, &modes).unwrap_err();
        assert_eq!(
            err.message,
            "PersistentVolumeClaim \"www-web-0\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
        );
    }

    #[test]
    fn volumes_need_capacity_modes_and_a_source() {
        let mut pv = json!({"metadata": {"name": "pv1"}, "spec": {}});
        apply_defaults(&PERSISTENT_VOLUMES, &mut pv);
        let err = validate_create(&PERSISTENT_VOLUMES, &pv).unwrap_err();
        assert_eq!(
            causes(&err),
            [
                ("spec.capacity", "Required value"),
                ("spec.accessModes", "Required value"),
                ("spec", "Required value: must specify a volume type"),
            ]
            .map(|(f, m)| (f.to_string(), m.to_string()))
        );
        pv["spec"]["capacity"] = json!({"storage": "1Gi"});
        pv["spec"]["accessModes"] = json!(["ReadWriteOnce"]);
        pv["spec"]["hostPath"] = json!({"path": "/tmp/pv1"});
        assert_eq!(validate_create(&PERSISTENT_VOLUMES, &pv), Ok(()));
    }
}
