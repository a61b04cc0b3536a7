//! `meta.k8s.io/v1` Table rendering: the columns and cells the real API
//! server prints for each type (k8s.io/kubernetes
//! pkg/printers/internalversion/printers.go), so `kubectl get` looks as it
//! does against a cluster. The server always fills the wide (priority 1)
//! columns; kubectl hides them unless `-o wide`.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::sandbox::api::error::ApiError;
use crate::sandbox::resources::ResourceType;

/// What each row's `object` holds (`includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A `PartialObjectMetadata` with the object's metadata: the server's
    /// default, and what `kubectl get` gets (it asks for `Object` only with
    /// `--sort-by`).
    Metadata,
    /// The full object.
    Object,
}

/// Parses `includeObject`; an unknown value is a 400, as upstream.
pub fn include_object_mode(value: Option<&str>) -> Result<IncludeObject, ApiError> {
    match value {
        None | Some("") | Some("Metadata") => Ok(IncludeObject::Metadata),
        Some("None") => Ok(IncludeObject::None),
        Some("Object") => Ok(IncludeObject::Object),
        Some(other) => Err(ApiError::bad_request(format!(
            "unrecognized includeObject value: {other:?}"
        ))),
    }
}

/// Whether rows carry the full object (`includeObject=Object`); otherwise
/// they carry PartialObjectMetadata, the default.
pub fn include_object_from_query(value: Option<&str>) -> bool {
    matches!(include_object_mode(value), Ok(IncludeObject::Object))
}

/// The Table of `objects` (all of type `rt`) as of `now`.
pub fn to_table(
    rt: &ResourceType,
    objects: &[Value],
    now: Timestamp,
    include_object: bool,
) -> Value {
    let include = if include_object {
        IncludeObject::Object
    } else {
        IncludeObject::Metadata
    };
    to_table_with(rt, objects, now, include)
}

/// [`to_table`] with every `includeObject` mode.
pub fn to_table_with(
    rt: &ResourceType,
    objects: &[Value],
    now: Timestamp,
    include: IncludeObject,
) -> Value {
    let printer = Printer::of(rt);
    let columns: Vec<Value> = printer.columns().iter().map(Column::to_json).collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut row = json!({ "cells": printer.cells(obj, now) });
            if let Some(conditions) = printer.row_conditions(obj) {
                row["conditions"] = conditions;
            }
            match include {
                IncludeObject::Object => row["object"] = obj.clone(),
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    })
                }
                IncludeObject::None => {}
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    description: &'static str,
    priority: i32,
}

impl Column {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 0,
    }
}

const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 1,
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: docs::NAME,
    priority: 0,
};
const AGE: Column = col("Age", "string", docs::CREATION_TIMESTAMP);
const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

/// One upstream print handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printer {
    Pod,
    StatefulSet,
    Service,
    Endpoints,
    EndpointSlice,
    PersistentVolumeClaim,
    PersistentVolume,
    StorageClass,
    Namespace,
    Node,
    ControllerRevision,
    Event,
    EventV1,
    ConfigMap,
    Secret,
    ServiceAccount,
    PodDisruptionBudget,
    Lease,
    Role,
    RoleBinding,
    /// The generic convertor: NAME and CREATED AT.
    Default,
}

impl Printer {
    fn of(rt: &ResourceType) -> Printer {
        match (rt.group, rt.kind) {
            ("", "Pod") => Printer::Pod,
            ("apps", "StatefulSet") => Printer::StatefulSet,
            ("", "Service") => Printer::Service,
            ("", "Endpoints") => Printer::Endpoints,
            ("discovery.k8s.io", "EndpointSlice") => Printer::EndpointSlice,
            ("", "PersistentVolumeClaim") => Printer::PersistentVolumeClaim,
            ("", "PersistentVolume") => Printer::PersistentVolume,
            ("storage.k8s.io", "StorageClass") => Printer::StorageClass,
            ("", "Namespace") => Printer::Namespace,
            ("", "Node") => Printer::Node,
            ("apps", "ControllerRevision") => Printer::ControllerRevision,
            ("", "Event") => Printer::Event,
            ("events.k8s.io", "Event") => Printer::EventV1,
            ("", "ConfigMap") => Printer::ConfigMap,
            ("", "Secret") => Printer::Secret,
            ("", "ServiceAccount") => Printer::ServiceAccount,
            ("policy", "PodDisruptionBudget") => Printer::PodDisruptionBudget,
            ("coordination.k8s.io", "Lease") => Printer::Lease,
            ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => Printer::Role,
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                Printer::RoleBinding
            }
            _ => Printer::Default,
        }
    }

    fn columns(self) -> Vec<Column> {
        match self {
            Printer::Pod => vec![
                NAME,
                col(
                    "Ready",
                    "string",
                    "The aggregate readiness state of this pod for accepting traffic.",
                ),
                col(
                    "Status",
                    "string",
                    "The aggregate status of the containers in this pod.",
                ),
                col(
                    "Restarts",
                    "string",
                    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                ),
                AGE,
                wide("IP", "string", docs::POD_IP),
                wide("Node", "string", docs::NODE_NAME),
                wide("Nominated Node", "string", docs::NOMINATED_NODE_NAME),
                wide("Readiness Gates", "string", docs::READINESS_GATES),
            ],
            Printer::StatefulSet => vec![
                NAME,
                col("Ready", "string", "Number of the pod with ready state"),
                AGE,
                CONTAINERS,
                IMAGES,
            ],
            Printer::Service => vec![
                NAME,
                col("Type", "string", docs::SERVICE_TYPE),
                col("Cluster-IP", "string", docs::CLUSTER_IP),
                col("External-IP", "string", docs::EXTERNAL_IPS),
                col("Port(s)", "string", docs::SERVICE_PORTS),
                AGE,
                wide("Selector", "string", docs::SERVICE_SELECTOR),
            ],
            Printer::Endpoints => vec![
                NAME,
                col("Endpoints", "string", docs::ENDPOINTS_SUBSETS),
                AGE,
            ],
            Printer::EndpointSlice => vec![
                NAME,
                col("AddressType", "string", docs::ADDRESS_TYPE),
                col("Ports", "string", docs::SLICE_PORTS),
                col("Endpoints", "string", docs::SLICE_ENDPOINTS),
                AGE,
            ],
            Printer::PersistentVolumeClaim => vec![
                NAME,
                col("Status", "string", docs::CLAIM_PHASE),
                col("Volume", "string", docs::CLAIM_VOLUME_NAME),
                col("Capacity", "string", docs::CLAIM_CAPACITY),
                col("Access Modes", "string", docs::CLAIM_ACCESS_MODES),
                col("StorageClass", "string", "StorageClass of the pvc"),
                col(
                    "VolumeAttributesClass",
                    "string",
                    "VolumeAttributesClass of the pvc",
                ),
                AGE,
                wide("VolumeMode", "string", docs::CLAIM_VOLUME_MODE),
            ],
            Printer::PersistentVolume => vec![
                NAME,
                col("Capacity", "string", docs::PV_CAPACITY),
                col("Access Modes", "string", docs::PV_ACCESS_MODES),
                col("Reclaim Policy", "string", docs::PV_RECLAIM_POLICY),
                col("Status", "string", docs::PV_PHASE),
                col("Claim", "string", docs::PV_CLAIM_REF),
                col("StorageClass", "string", "StorageClass of the pv"),
                col(
                    "VolumeAttributesClass",
                    "string",
                    "VolumeAttributesClass of the pv",
                ),
                col("Reason", "string", docs::PV_REASON),
                AGE,
                wide("VolumeMode", "string", docs::PV_VOLUME_MODE),
            ],
            Printer::StorageClass => vec![
                NAME,
                col("Provisioner", "string", docs::PROVISIONER),
                col("ReclaimPolicy", "string", docs::RECLAIM_POLICY),
                col("VolumeBindingMode", "string", docs::VOLUME_BINDING_MODE),
                col(
                    "AllowVolumeExpansion",
                    "string",
                    docs::ALLOW_VOLUME_EXPANSION,
                ),
                AGE,
            ],
            Printer::Namespace => vec![
                NAME,
                col("Status", "string", "The status of the namespace"),
                AGE,
            ],
            Printer::Node => vec![
                NAME,
                col("Status", "string", "The status of the node"),
                col("Roles", "string", "The roles of the node"),
                AGE,
                col("Version", "string", docs::KUBELET_VERSION),
                wide("Internal-IP", "string", docs::NODE_ADDRESSES),
                wide("External-IP", "string", docs::NODE_ADDRESSES),
                wide("OS-Image", "string", docs::OS_IMAGE),
                wide("Kernel-Version", "string", docs::KERNEL_VERSION),
                wide(
                    "Container-Runtime",
                    "string",
                    docs::CONTAINER_RUNTIME_VERSION,
                ),
            ],
            Printer::ControllerRevision => vec![
                NAME,
                col("Controller", "string", "Controller of the object"),
                col("Revision", "string", docs::REVISION),
                AGE,
            ],
            Printer::Event | Printer::EventV1 => vec![
                col("Last Seen", "string", docs::EVENT_LAST_TIMESTAMP),
                col("Type", "string", docs::EVENT_TYPE),
                col("Reason", "string", docs::EVENT_REASON),
                col("Object", "string", docs::EVENT_INVOLVED_OBJECT),
                wide("Subobject", "string", docs::FIELD_PATH),
                wide("Source", "string", docs::EVENT_SOURCE),
                col("Message", "string", docs::EVENT_MESSAGE),
                wide("First Seen", "string", docs::EVENT_FIRST_TIMESTAMP),
                wide("Count", "string", docs::EVENT_COUNT),
                Column {
                    priority: 1,
                    ..NAME
                },
            ],
            Printer::ConfigMap => vec![NAME, col("Data", "string", docs::CONFIG_MAP_DATA), AGE],
            Printer::Lease => vec![NAME, col("Holder", "string", docs::LEASE_HOLDER), AGE],
            Printer::Secret => vec![
                NAME,
                col("Type", "string", docs::SECRET_TYPE),
                col("Data", "string", docs::SECRET_DATA),
                AGE,
            ],
            Printer::ServiceAccount => vec![
                NAME,
                col("Secrets", "string", docs::SERVICE_ACCOUNT_SECRETS),
                AGE,
            ],
            Printer::PodDisruptionBudget => vec![
                NAME,
                col(
                    "Min Available",
                    "string",
                    "The minimum number of pods that must be available.",
                ),
                col(
                    "Max Unavailable",
                    "string",
                    "The maximum number of pods that may be unavailable.",
                ),
                col(
                    "Allowed Disruptions",
                    "integer",
                    "Calculated number of pods that may be disrupted at this time.",
                ),
                AGE,
            ],
            Printer::Role | Printer::Default => {
                vec![NAME, col("Created At", "date", docs::CREATION_TIMESTAMP)]
            }
            Printer::RoleBinding => vec![
                NAME,
                col("Role", "string", docs::ROLE_REF),
                AGE,
                wide("Users", "string", "Users in the roleBinding"),
                wide("Groups", "string", "Groups in the roleBinding"),
                wide(
                    "ServiceAccounts",
                    "string",
                    "ServiceAccounts in the roleBinding",
                ),
            ],
        }
    }

    fn cells(self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let name = json!(str_at(&obj["metadata"]["name"]));
        let age = json!(age_of(&obj["metadata"]["creationTimestamp"], now));
        match self {
            Printer::Pod => pod_cells(obj, now),
            Printer::StatefulSet => {
                let (names, images) =
                    container_cells(&obj["spec"]["template"]["spec"]["containers"]);
                let ready = obj["status"]["readyReplicas"].as_i64().unwrap_or(0);
                let desired = obj["spec"]["replicas"].as_i64().unwrap_or(1);
                vec![
                    name,
                    json!(format!("{ready}/{desired}")),
                    age,
                    json!(names),
                    json!(images),
                ]
            }
            Printer::Service => service_cells(obj, name, age),
            Printer::Endpoints => vec![name, json!(format_endpoints(obj)), age],
            Printer::EndpointSlice => vec![
                name,
                json!(str_at(&obj["addressType"])),
                json!(format_slice_ports(&obj["ports"])),
                json!(format_slice_endpoints(&obj["endpoints"])),
                age,
            ],
            Printer::PersistentVolumeClaim => claim_cells(obj, name, age),
            Printer::PersistentVolume => volume_cells(obj, name, age),
            Printer::StorageClass => {
                let mut display = str_at(&obj["metadata"]["name"]).to_string();
                if is_default_class(obj) {
                    display.push_str(" (default)");
                }
                vec![
                    json!(display),
                    json!(str_at(&obj["provisioner"])),
                    json!(obj["reclaimPolicy"].as_str().unwrap_or("Delete")),
                    json!(obj["volumeBindingMode"].as_str().unwrap_or("Immediate")),
                    json!(obj["allowVolumeExpansion"].as_bool().unwrap_or(false)),
                    age,
                ]
            }
            Printer::Namespace => vec![name, json!(str_at(&obj["status"]["phase"])), age],
            Printer::Node => node_cells(obj, name, age),
            Printer::ControllerRevision => {
                let controller = controller_of(obj).unwrap_or_else(|| "<none>".to_string());
                vec![
                    name,
                    json!(controller),
                    json!(obj["revision"].as_i64().unwrap_or(0)),
                    age,
                ]
            }
            Printer::Event => event_cells(&EventView::core(obj), now),
            Printer::EventV1 => event_cells(&EventView::events_v1(obj), now),
            Printer::ConfigMap => {
                let count = key_count(&obj["data"]) + key_count(&obj["binaryData"]);
                vec![name, json!(count), age]
            }
            Printer::Lease => vec![name, json!(str_at(&obj["spec"]["holderIdentity"])), age],
            Printer::Secret => {
                // stringData is folded into data by the decode, so count both once.
                let mut keys: Vec<&String> = Vec::new();
                for field in ["data", "stringData"] {
                    if let Some(map) = obj[field].as_object() {
                        keys.extend(map.keys());
                    }
                }
                keys.sort();
                keys.dedup();
                vec![name, json!(str_at(&obj["type"])), json!(keys.len()), age]
            }
            Printer::ServiceAccount => {
                let secrets = obj["secrets"].as_array().map_or(0, Vec::len);
                vec![name, json!(secrets), age]
            }
            Printer::PodDisruptionBudget => {
                let bound = |v: &Value| match v {
                    Value::Null => "N/A".to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                vec![
                    name,
                    json!(bound(&obj["spec"]["minAvailable"])),
                    json!(bound(&obj["spec"]["maxUnavailable"])),
                    json!(obj["status"]["disruptionsAllowed"].as_i64().unwrap_or(0)),
                    age,
                ]
            }
            Printer::Role | Printer::Default => {
                vec![
                    name,
                    json!(created_at(&obj["metadata"]["creationTimestamp"])),
                ]
            }
            Printer::RoleBinding => {
                let role = format!(
                    "{}/{}",
                    str_at(&obj["roleRef"]["kind"]),
                    str_at(&obj["roleRef"]["name"])
                );
                let (users, groups, accounts) = subjects(&obj["subjects"]);
                vec![
                    name,
                    json!(role),
                    age,
                    json!(users.join(", ")),
                    json!(groups.join(", ")),
                    json!(accounts.join(", ")),
                ]
            }
        }
    }

    /// Completed pods carry a row condition (kubectl uses it to tell them apart).
    fn row_conditions(self, obj: &Value) -> Option<Value> {
        if self != Printer::Pod {
            return None;
        }
        let (reason, message) = match obj["status"]["phase"].as_str() {
            Some("Succeeded") => ("Succeeded", "The pod has completed successfully."),
            Some("Failed") => ("Failed", "The pod failed."),
            _ => return None,
        };
        Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
    }
}

fn str_at(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn key_count(value: &Value) -> usize {
    value.as_object().map_or(0, Map::len)
}

fn parse_time(value: &Value) -> Option<Timestamp> {
    value.as_str().and_then(|s| s.parse::<Timestamp>().ok())
}

/// `translateTimestampSince`: `<unknown>` for a missing time.
fn age_of(value: &Value, now: Timestamp) -> String {
    match parse_time(value) {
        Some(then) => human_duration(now.as_second() - then.as_second()),
        None => "<unknown>".to_string(),
    }
}

/// `Created At`: RFC 3339 in UTC, Go's zero time when absent.
fn created_at(value: &Value) -> String {
    match parse_time(value) {
        Some(time) => time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// k8s.io/apimachinery/pkg/util/duration.HumanDuration, from whole seconds.
pub use crate::output::human_duration;

/// `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty.
fn format_labels(value: &Value) -> String {
    let Some(map) = value.as_object().filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// `layoutContainerCells`: container names and images, comma-joined.
fn container_cells(containers: &Value) -> (String, String) {
    let containers = containers.as_array().map(Vec::as_slice).unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_at(&c["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(&c["image"])).collect();
    (names.join(","), images.join(","))
}

// ---------------------------------------------------------------- pods

fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let empty = Vec::new();
    let list = |v: &'_ Value| v.as_array().unwrap_or(&empty).clone();
    let init_specs = list(&spec["initContainers"]);
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| c["name"] == name && c["restartPolicy"] == "Always")
    };

    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let total = list(&spec["containers"]).len()
        + init_specs
            .iter()
            .filter(|c| c["restartPolicy"] == "Always")
            .count();
    let mut ready = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_restart: Option<Timestamp> = None;
    let later =
        |current: Option<Timestamp>, candidate: Option<Timestamp>| match (current, candidate) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };

    let mut reason = status["phase"].as_str().unwrap_or_default().to_string();
    if let Some(r) = status["reason"].as_str().filter(|r| !r.is_empty()) {
        reason = r.to_string();
    }
    for condition in list(&status["conditions"]) {
        if condition["type"] == "PodScheduled" && condition["reason"] == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    let init_statuses = list(&status["initContainerStatuses"]);
    let init_count = init_specs.len();
    let mut initializing = false;
    for (index, container) in init_statuses.iter().enumerate() {
        let count = container["restartCount"].as_i64().unwrap_or(0);
        let finished = parse_time(&container["lastState"]["terminated"]["finishedAt"]);
        restarts += count;
        last_restart = later(last_restart, finished);
        let name = str_at(&container["name"]);
        if restartable(name) {
            restartable_restarts += count;
            last_restartable_restart = later(last_restartable_restart, finished);
        }
        let terminated = &container["state"]["terminated"];
        let waiting_reason = str_at(&container["state"]["waiting"]["reason"]);
        if terminated.is_object() && terminated["exitCode"].as_i64().unwrap_or(0) == 0 {
            continue;
        }
        if restartable(name) && container["started"].as_bool() == Some(true) {
            if container["ready"].as_bool() == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.is_object() {
            match terminated["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match terminated["signal"].as_i64().filter(|s| *s != 0) {
                    Some(signal) => format!("Init:Signal:{signal}"),
                    None => format!(
                        "Init:ExitCode:{}",
                        terminated["exitCode"].as_i64().unwrap_or(0)
                    ),
                },
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{init_count}")
        };
        initializing = true;
        break;
    }

    let initialized = list(&status["conditions"])
        .iter()
        .any(|c| c["type"] == "Initialized" && c["status"] == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for container in list(&status["containerStatuses"]).iter().rev() {
            restarts += container["restartCount"].as_i64().unwrap_or(0);
            last_restart = later(
                last_restart,
                parse_time(&container["lastState"]["terminated"]["finishedAt"]),
            );
            let waiting = str_at(&container["state"]["waiting"]["reason"]);
            let terminated = &container["state"]["terminated"];
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(r) = terminated["reason"].as_str().filter(|r| !r.is_empty()) {
                reason = r.to_string();
            } else if terminated.is_object() {
                reason = match terminated["signal"].as_i64().filter(|s| *s != 0) {
                    Some(signal) => format!("Signal:{signal}"),
                    None => format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0)),
                };
            } else if container["ready"].as_bool() == Some(true)
                && container["state"]["running"].is_object()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = list(&status["conditions"])
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }

    if !pod["metadata"]["deletionTimestamp"].is_null() {
        let terminal = matches!(status["phase"].as_str(), Some("Succeeded" | "Failed"));
        if status["reason"] == "NodeLost" {
            reason = "Unknown".to_string();
        } else if !terminal {
            reason = "Terminating".to_string();
        }
    }
    let restarts_cell = match last_restart {
        Some(when) if restarts != 0 => {
            format!(
                "{restarts} ({} ago)",
                human_duration(now.as_second() - when.as_second())
            )
        }
        _ => restarts.to_string(),
    };

    let pod_ip = status["podIPs"][0]["ip"]
        .as_str()
        .or(status["podIP"].as_str())
        .filter(|ip| !ip.is_empty())
        .unwrap_or("<none>");
    let node = spec["nodeName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or("<none>");
    let nominated = status["nominatedNodeName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or("<none>");
    let gates = list(&spec["readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = list(&status["conditions"]);
        let passed = gates
            .iter()
            .filter(|gate| {
                conditions
                    .iter()
                    .find(|c| c["type"] == gate["conditionType"])
                    .is_some_and(|c| c["status"] == "True")
            })
            .count();
        format!("{passed}/{}", gates.len())
    };

    vec![
        json!(str_at(&pod["metadata"]["name"])),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(age_of(&pod["metadata"]["creationTimestamp"], now)),
        json!(pod_ip),
        json!(node),
        json!(nominated),
        json!(readiness_gates),
    ]
}

// ---------------------------------------------------------------- services

fn service_cells(svc: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &svc["spec"];
    let service_type = str_at(&spec["type"]);
    let cluster_ip = spec["clusterIPs"][0]
        .as_str()
        .or(spec["clusterIP"].as_str())
        .filter(|ip| !ip.is_empty())
        .unwrap_or("<none>");
    let external_ips: Vec<&str> = spec["externalIPs"]
        .as_array()
        .map(|ips| ips.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let external = match service_type {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let mut ingress: Vec<String> = svc["status"]["loadBalancer"]["ingress"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|i| {
                            i["ip"]
                                .as_str()
                                .filter(|s| !s.is_empty())
                                .or(i["hostname"].as_str().filter(|s| !s.is_empty()))
                                .map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default();
            ingress.sort();
            ingress.dedup();
            ingress.extend(external_ips.iter().map(|s| s.to_string()));
            if ingress.is_empty() {
                "<pending>".to_string()
            } else {
                ingress.join(",")
            }
        }
        "ExternalName" => str_at(&spec["externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let port = p["port"].as_i64().unwrap_or(0);
                    let protocol = str_at(&p["protocol"]);
                    match p["nodePort"].as_i64().filter(|n| *n > 0) {
                        Some(node_port) => format!("{port}:{node_port}/{protocol}"),
                        None => format!("{port}/{protocol}"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name,
        json!(service_type),
        json!(cluster_ip),
        json!(external),
        json!(ports),
        age,
        json!(format_labels(&spec["selector"])),
    ]
}

/// `formatEndpoints`: up to three `ip:port`, then `+ N more...`.
fn format_endpoints(endpoints: &Value) -> String {
    let Some(subsets) = endpoints["subsets"].as_array().filter(|s| !s.is_empty()) else {
        return "<none>".to_string();
    };
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for subset in subsets {
        let addresses = subset["addresses"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let ports = subset["ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if ports.is_empty() {
            count += addresses.len();
            for address in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(&address["ip"]).to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for address in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                let ip = str_at(&address["ip"]);
                let port = port["port"].as_i64().unwrap_or(0);
                // net.JoinHostPort brackets IPv6 addresses.
                if ip.contains(':') {
                    list.push(format!("[{ip}]:{port}"));
                } else {
                    list.push(format!("{ip}:{port}"));
                }
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

fn list_with_more(list: Vec<String>, more: bool, count: usize) -> String {
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - 3)
    } else if joined.is_empty() {
        "<unset>".to_string()
    } else {
        joined
    }
}

fn format_slice_ports(ports: &Value) -> String {
    let ports = ports.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut list = Vec::new();
    let mut more = false;
    for port in ports {
        if list.len() < 3 {
            let shown = match (port["port"].as_i64(), port["name"].as_str()) {
                (Some(number), _) => number.to_string(),
                (None, Some(name)) => name.to_string(),
                (None, None) => "*".to_string(),
            };
            list.push(shown);
        } else {
            more = true;
        }
    }
    list_with_more(list, more, ports.len())
}

fn format_slice_endpoints(endpoints: &Value) -> String {
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    for endpoint in endpoints.as_array().map(Vec::as_slice).unwrap_or_default() {
        for address in endpoint["addresses"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if list.len() < 3 {
                list.push(str_at(address).to_string());
            } else {
                more = true;
            }
            count += 1;
        }
    }
    list_with_more(list, more, count)
}

// ---------------------------------------------------------------- storage

/// `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order.
fn access_modes(modes: &Value) -> String {
    let modes = modes.as_array().map(Vec::as_slice).unwrap_or_default();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| modes.iter().any(|m| m == *mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The class of a claim or volume: the beta annotation wins over the field.
fn storage_class_of(obj: &Value, spec: &Value) -> String {
    obj["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"]
        .as_str()
        .or(spec["storageClassName"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn claim_cells(claim: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &claim["spec"];
    let phase = if claim["metadata"]["deletionTimestamp"].is_null() {
        str_at(&claim["status"]["phase"])
    } else {
        "Terminating"
    };
    let volume_name = str_at(&spec["volumeName"]);
    let (capacity, modes) = if volume_name.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity_string(&claim["status"]["capacity"]["storage"]),
            access_modes(&claim["status"]["accessModes"]),
        )
    };
    let attributes_class = spec["volumeAttributesClassName"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("<unset>");
    let volume_mode = spec["volumeMode"].as_str().unwrap_or("<unset>");
    vec![
        name,
        json!(phase),
        json!(volume_name),
        json!(capacity),
        json!(modes),
        json!(storage_class_of(claim, spec)),
        json!(attributes_class),
        age,
        json!(volume_mode),
    ]
}

fn volume_cells(volume: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &volume["spec"];
    let claim = if spec["claimRef"].is_object() {
        format!(
            "{}/{}",
            str_at(&spec["claimRef"]["namespace"]),
            str_at(&spec["claimRef"]["name"])
        )
    } else {
        String::new()
    };
    let phase = if volume["metadata"]["deletionTimestamp"].is_null() {
        str_at(&volume["status"]["phase"])
    } else {
        "Terminating"
    };
    vec![
        name,
        json!(quantity_string(&spec["capacity"]["storage"])),
        json!(access_modes(&spec["accessModes"])),
        json!(str_at(&spec["persistentVolumeReclaimPolicy"])),
        json!(phase),
        json!(claim),
        json!(storage_class_of(volume, spec)),
        json!(
            spec["volumeAttributesClassName"]
                .as_str()
                .unwrap_or("<unset>")
        ),
        json!(str_at(&volume["status"]["reason"])),
        age,
        json!(spec["volumeMode"].as_str().unwrap_or("<unset>")),
    ]
}

/// A stored quantity as `Quantity.String()` prints it; absent is `0`.
fn quantity_string(value: &Value) -> String {
    match value {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".to_string(),
    }
}

fn is_default_class(class: &Value) -> bool {
    let annotations = &class["metadata"]["annotations"];
    annotations["storageclass.kubernetes.io/is-default-class"] == "true"
        || annotations["storageclass.beta.kubernetes.io/is-default-class"] == "true"
}

// ---------------------------------------------------------------- nodes, owners

fn node_cells(node: &Value, name: Value, age: Value) -> Vec<Value> {
    let mut status: Vec<String> = Vec::new();
    if let Some(ready) = node["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
    {
        status.push(
            if ready["status"] == "True" {
                "Ready"
            } else {
                "NotReady"
            }
            .to_string(),
        );
    }
    if status.is_empty() {
        status.push("Unknown".to_string());
    }
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push("SchedulingDisabled".to_string());
    }
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = node["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            if let Some(role) = key.strip_prefix("node-role.kubernetes.io/")
                && !role.is_empty()
            {
                roles.push(role.to_string());
            }
            if key == "kubernetes.io/role"
                && let Some(role) = value.as_str().filter(|r| !r.is_empty())
            {
                roles.push(role.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let info = &node["status"]["nodeInfo"];
    let or_unknown = |v: &Value| {
        v.as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("<unknown>")
            .to_string()
    };
    let address = |kind: &str| {
        node["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["type"] == kind))
            .map(|a| str_at(&a["address"]).to_string())
            .unwrap_or_else(|| "<none>".to_string())
    };
    vec![
        name,
        json!(status.join(",")),
        json!(roles),
        age,
        json!(str_at(&info["kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(or_unknown(&info["osImage"])),
        json!(or_unknown(&info["kernelVersion"])),
        json!(or_unknown(&info["containerRuntimeVersion"])),
    ]
}

/// `statefulset.apps/web` for the controller owner reference.
fn controller_of(obj: &Value) -> Option<String> {
    let owner = obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))?;
    let group = str_at(&owner["apiVersion"])
        .rsplit_once('/')
        .map(|(group, _)| group)
        .unwrap_or_default();
    let kind = str_at(&owner["kind"]);
    let name = str_at(&owner["name"]);
    if kind.is_empty() {
        return Some(name.to_string());
    }
    let group_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    Some(format!("{}/{name}", group_kind.to_lowercase()))
}

/// `rbac.SubjectsStrings`: users, groups, and `namespace:name` accounts.
fn subjects(list: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut users, mut groups, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
    for subject in list.as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = str_at(&subject["name"]).to_string();
        match str_at(&subject["kind"]) {
            "User" => users.push(name),
            "Group" => groups.push(name),
            "ServiceAccount" => accounts.push(format!("{}:{name}", str_at(&subject["namespace"]))),
            _ => {}
        }
    }
    (users, groups, accounts)
}

// ---------------------------------------------------------------- events

/// The fields the event printer reads, from either API version.
struct EventView<'a> {
    name: &'a Value,
    event_type: &'a Value,
    reason: &'a Value,
    regarding: &'a Value,
    message: &'a Value,
    source_component: &'a Value,
    source_host: &'a Value,
    reporting_controller: &'a Value,
    reporting_instance: &'a Value,
    first_timestamp: &'a Value,
    last_timestamp: &'a Value,
    event_time: &'a Value,
    count: &'a Value,
    series: &'a Value,
}

impl<'a> EventView<'a> {
    fn core(event: &'a Value) -> Self {
        EventView {
            name: &event["metadata"]["name"],
            event_type: &event["type"],
            reason: &event["reason"],
            regarding: &event["involvedObject"],
            message: &event["message"],
            source_component: &event["source"]["component"],
            source_host: &event["source"]["host"],
            reporting_controller: &event["reportingComponent"],
            reporting_instance: &event["reportingInstance"],
            first_timestamp: &event["firstTimestamp"],
            last_timestamp: &event["lastTimestamp"],
            event_time: &event["eventTime"],
            count: &event["count"],
            series: &event["series"],
        }
    }

    fn events_v1(event: &'a Value) -> Self {
        EventView {
            name: &event["metadata"]["name"],
            event_type: &event["type"],
            reason: &event["reason"],
            regarding: &event["regarding"],
            message: &event["note"],
            source_component: &event["deprecatedSource"]["component"],
            source_host: &event["deprecatedSource"]["host"],
            reporting_controller: &event["reportingController"],
            reporting_instance: &event["reportingInstance"],
            first_timestamp: &event["deprecatedFirstTimestamp"],
            last_timestamp: &event["deprecatedLastTimestamp"],
            event_time: &event["eventTime"],
            count: &event["deprecatedCount"],
            series: &event["series"],
        }
    }
}

fn event_cells(event: &EventView, now: Timestamp) -> Vec<Value> {
    let first = if parse_time(event.first_timestamp).is_some() {
        age_of(event.first_timestamp, now)
    } else {
        age_of(event.event_time, now)
    };
    let mut last = if parse_time(event.last_timestamp).is_some() {
        age_of(event.last_timestamp, now)
    } else {
        first.clone()
    };
    let mut count = event.count.as_i64().unwrap_or(0);
    if event.series.is_object() {
        last = age_of(&event.series["lastObservedTime"], now);
        count = event.series["count"].as_i64().unwrap_or(0);
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let kind = str_at(&event.regarding["kind"]).to_lowercase();
    let target = match event.regarding["name"].as_str().filter(|n| !n.is_empty()) {
        Some(name) => format!("{kind}/{name}"),
        None => kind,
    };
    let first_non_empty = |a: &Value, b: &Value| {
        a.as_str()
            .filter(|s| !s.is_empty())
            .or(b.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let component = first_non_empty(event.source_component, event.reporting_controller);
    let host = first_non_empty(event.source_host, event.reporting_instance);
    let source = if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    };
    vec![
        json!(last),
        json!(str_at(event.event_type)),
        json!(str_at(event.reason)),
        json!(target),
        json!(str_at(&event.regarding["fieldPath"])),
        json!(source),
        json!(str_at(event.message).trim()),
        json!(first),
        json!(count),
        json!(str_at(event.name)),
    ]
}

/// Column descriptions: the API's field documentation (SwaggerDoc), as upstream's printers use it.
mod docs {
    pub const NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
    pub const CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
    pub const POD_IP: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
    pub const NODE_NAME: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
    pub const NOMINATED_NODE_NAME: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
    pub const READINESS_GATES: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
    pub const SERVICE_TYPE: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
    pub const CLUSTER_IP: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
    pub const EXTERNAL_IPS: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
    pub const SERVICE_PORTS: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
    pub const SERVICE_SELECTOR: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
    pub const ENDPOINTS_SUBSETS: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
    pub const KUBELET_VERSION: &str = "Kubelet Version reported by the node.";
    pub const NODE_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
    pub const OS_IMAGE: &str =
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
    pub const KERNEL_VERSION: &str =
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
    pub const CONTAINER_RUNTIME_VERSION: &str = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
    pub const EVENT_LAST_TIMESTAMP: &str =
        "The time at which the most recent occurrence of this event was recorded.";
    pub const EVENT_TYPE: &str =
        "Type of this event (Normal, Warning), new types could be added in the future";
    pub const EVENT_REASON: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
    pub const EVENT_INVOLVED_OBJECT: &str = "The object that this event is about.";
    pub const FIELD_PATH: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers\\[2\\]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers\\[2\\]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
    pub const EVENT_SOURCE: &str =
        "The component reporting this event. Should be a short machine understandable string.";
    pub const EVENT_MESSAGE: &str = "A human-readable description of the status of this operation.";
    pub const EVENT_FIRST_TIMESTAMP: &str =
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
    pub const EVENT_COUNT: &str = "The number of times this event has occurred.";
    pub const SECRET_TYPE: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
    pub const SECRET_DATA: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
    pub const LEASE_HOLDER: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";
    pub const CONFIG_MAP_DATA: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
    pub const SERVICE_ACCOUNT_SECRETS: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
    pub const CLAIM_PHASE: &str = "phase represents the current phase of PersistentVolumeClaim.";
    pub const CLAIM_VOLUME_NAME: &str =
        "volumeName is the binding reference to the PersistentVolume backing this claim.";
    pub const CLAIM_CAPACITY: &str =
        "capacity represents the actual resources of the underlying volume.";
    pub const CLAIM_ACCESS_MODES: &str = "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1";
    pub const CLAIM_VOLUME_MODE: &str = "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.";
    pub const PV_CAPACITY: &str = "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity";
    pub const PV_ACCESS_MODES: &str = "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
    pub const PV_RECLAIM_POLICY: &str = "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming";
    pub const PV_PHASE: &str = "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase";
    pub const PV_CLAIM_REF: &str = "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding";
    pub const PV_REASON: &str = "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.";
    pub const PV_VOLUME_MODE: &str = "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.";
    pub const PROVISIONER: &str = "provisioner indicates the type of the provisioner.";
    pub const RECLAIM_POLICY: &str = "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.";
    pub const VOLUME_BINDING_MODE: &str = "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.";
    pub const ALLOW_VOLUME_EXPANSION: &str =
        "allowVolumeExpansion shows whether the storage class allow volume expand.";
    pub const REVISION: &str = "Revision indicates the revision of the state represented by Data.";
    pub const ADDRESS_TYPE: &str = "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name. (Deprecated) The EndpointSlice controller only generates, and kube-proxy only processes, slices of addressType \"IPv4\" and \"IPv6\". No semantics are defined for the \"FQDN\" type.";
    pub const SLICE_PORTS: &str = "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. Each slice may include a maximum of 100 ports. Services always have at least 1 port, so EndpointSlices generated by the EndpointSlice controller will likewise always have at least 1 port. EndpointSlices used for other purposes may have an empty ports list.";
    pub const SLICE_ENDPOINTS: &str = "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.";
    pub const ROLE_REF: &str = "roleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::defaults::{apply_defaults, scenarios};
    use crate::sandbox::resources::{
        CLUSTER_ROLES, CONFIG_MAPS, CONTROLLER_REVISIONS, ENDPOINT_SLICES, ENDPOINTS, EVENTS,
        EVENTS_V1, NAMESPACES, NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS,
        ROLE_BINDINGS, SECRETS, SERVICES, STATEFUL_SETS, STORAGE_CLASSES,
    };

    const CREATED: &str = "2026-11-23T08:00:00Z";

    fn now() -> Timestamp {
        "2026-11-23T09:00:00Z".parse().unwrap()
    }

    fn column_names(table: &Value) -> Vec<(String, i64)> {
        table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["priority"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    fn cells(rt: &ResourceType, obj: Value) -> Vec<Value> {
        let table = to_table(rt, &[obj], now(), false);
        table["rows"][0]["cells"].as_array().unwrap().clone()
    }

    #[test]
    fn human_duration_uses_kubectls_thresholds() {
        for (seconds, shown) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (123, "2m3s"),
            (180, "3m"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600 + 1, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (5 * 86400 + 3 * 3600, "5d3h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (800 * 86400, "2y70d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(seconds), shown, "{seconds}s");
        }
    }

    #[test]
    fn table_shape_and_partial_object_metadata_by_default() {
        let mut sts = scenarios::object(scenarios::WEB, "StatefulSet");
        sts["metadata"]["creationTimestamp"] = json!(CREATED);
        let table = to_table(
            &STATEFUL_SETS,
            std::slice::from_ref(&sts),
            now(),
            include_object_from_query(None),
        );
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(table["columnDefinitions"][0]["format"], "name");
        assert_eq!(table["columnDefinitions"][1]["format"], "");
        let object = &table["rows"][0]["object"];
        assert_eq!(object["kind"], "PartialObjectMetadata");
        assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(object["metadata"]["name"], "web");
        assert!(object.get("spec").is_none());
        let full = to_table(
            &STATEFUL_SETS,
            std::slice::from_ref(&sts),
            now(),
            include_object_from_query(Some("Object")),
        );
        assert_eq!(full["rows"][0]["object"], sts);
        let none = to_table_with(&STATEFUL_SETS, &[sts], now(), IncludeObject::None);
        assert!(none["rows"][0].get("object").is_none());
        assert!(include_object_mode(Some("Everything")).is_err());
    }

    #[test]
    fn statefulset_columns_and_cells() {
        let mut sts = scenarios::object(scenarios::WEB, "StatefulSet");
        sts["metadata"]["creationTimestamp"] = json!(CREATED);
        sts["status"] = json!({"replicas": 3, "readyReplicas": 2});
        let table = to_table(&STATEFUL_SETS, &[sts], now(), false);
        assert_eq!(
            column_names(&table),
            [
                ("Name", 0),
                ("Ready", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1)
            ]
            .map(|(n, p)| (n.to_string(), p))
        );
        assert_eq!(
            table["rows"][0]["cells"],
            json!(["web", "2/3", "60m", "nginx", "nginx:1.25"])
        );
    }

    fn running_pod() -> Value {
        json!({
            "metadata": {"name": "web-0", "creationTimestamp": CREATED},
            "spec": {"nodeName": "sandbox", "containers": [{"name": "nginx"}, {"name": "sidecar"}]},
            "status": {
                "phase": "Running",
                "podIP": "10.244.0.5",
                "podIPs": [{"ip": "10.244.0.5"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {"name": "nginx", "ready": true, "restartCount": 0, "state": {"running": {}}},
                    {"name": "sidecar", "ready": true, "restartCount": 3,
                     "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-23T08:59:48Z"}}},
                ],
            }
        })
    }

    #[test]
    fn pod_columns_and_a_running_pod_with_restarts() {
        let table = to_table(&PODS, &[running_pod()], now(), false);
        let names: Vec<String> = column_names(&table).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ]
        );
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "web-0",
                "2/2",
                "Running",
                "3 (12s ago)",
                "60m",
                "10.244.0.5",
                "sandbox",
                "<none>",
                "<none>"
            ])
        );
    }

    #[test]
    fn pod_status_from_waiting_reasons_init_containers_and_deletion() {
        let mut pod = running_pod();
        pod["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff"}});
        pod["status"]["containerStatuses"][0]["ready"] = json!(false);
        let row = cells(&PODS, pod.clone());
        assert_eq!(row[1], "1/2");
        assert_eq!(row[2], "CrashLoopBackOff");

        let mut pending = json!({
            "metadata": {"name": "web-1", "creationTimestamp": CREATED},
            "spec": {"containers": [{"name": "nginx"}], "initContainers": [{"name": "init"}]},
            "status": {
                "phase": "Pending",
                "initContainerStatuses": [{"name": "init", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}],
                "containerStatuses": [{"name": "nginx", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}],
            }
        });
        assert_eq!(cells(&PODS, pending.clone())[2], "Init:0/1");
        pending["status"]["initContainerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "ImagePullBackOff"}});
        assert_eq!(cells(&PODS, pending.clone())[2], "Init:ImagePullBackOff");
        pending["status"]["initContainerStatuses"][0]["state"] =
            json!({"terminated": {"exitCode": 2}});
        assert_eq!(cells(&PODS, pending)[2], "Init:ExitCode:2");

        let mut terminating = running_pod();
        terminating["metadata"]["deletionTimestamp"] = json!("2026-11-23T08:59:59Z");
        assert_eq!(cells(&PODS, terminating)[2], "Terminating");

        let creating = json!({
            "metadata": {"name": "web-2"},
            "spec": {"containers": [{"name": "nginx"}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "nginx", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
            ]}
        });
        let row = cells(&PODS, creating);
        assert_eq!(row[1], "0/1");
        assert_eq!(row[2], "ContainerCreating");
        assert_eq!(row[3], "0");
        assert_eq!(row[4], "<unknown>");
        assert_eq!(row[5], "<none>");
    }

    #[test]
    fn completed_pods_carry_a_row_condition() {
        let mut pod = running_pod();
        pod["status"]["phase"] = json!("Succeeded");
        let table = to_table(&PODS, &[pod], now(), false);
        assert_eq!(table["rows"][0]["conditions"][0]["reason"], "Succeeded");
    }

    #[test]
    fn services_headless_and_cluster_ip() {
        let mut headless = scenarios::object(scenarios::WEB, "Service");
        apply_defaults(&SERVICES, &mut headless);
        headless["metadata"]["creationTimestamp"] = json!(CREATED);
        assert_eq!(
            cells(&SERVICES, headless),
            [
                json!("headless-svc"),
                json!("ClusterIP"),
                json!("None"),
                json!("<none>"),
                json!("80/TCP"),
                json!("60m"),
                json!("app=nginx")
            ]
        );
        let node_port = json!({
            "metadata": {"name": "np"},
            "spec": {"type": "NodePort", "clusterIPs": ["10.96.4.2"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}
        });
        let row = cells(&SERVICES, node_port);
        assert_eq!(row[2], "10.96.4.2");
        assert_eq!(row[4], "80:30080/TCP");
        assert_eq!(row[6], "<none>");
        let lb = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": []}});
        let row = cells(&SERVICES, lb);
        assert_eq!(row[3], "<pending>");
        assert_eq!(row[4], "<none>");
    }

    #[test]
    fn claims_and_volumes_print_binding_state() {
        let mut claim =
            scenarios::object(scenarios::WEB, "StatefulSet")["spec"]["volumeClaimTemplates"][0]
                .clone();
        claim["metadata"] = json!({"name": "www-web-0", "creationTimestamp": CREATED});
        apply_defaults(&PERSISTENT_VOLUME_CLAIMS, &mut claim);
        let table = to_table(
            &PERSISTENT_VOLUME_CLAIMS,
            std::slice::from_ref(&claim),
            now(),
            false,
        );
        let names: Vec<String> = column_names(&table).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Name",
                "Status",
                "Volume",
                "Capacity",
                "Access Modes",
                "StorageClass",
                "VolumeAttributesClass",
                "Age",
                "VolumeMode"
            ]
        );
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "www-web-0",
                "Pending",
                "",
                "",
                "",
                "managed-nfs-storage",
                "<unset>",
                "60m",
                "Filesystem"
            ])
        );
        claim["spec"]["volumeName"] = json!("pvc-1");
        claim["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]});
        let row = cells(&PERSISTENT_VOLUME_CLAIMS, claim);
        assert_eq!(
            row[1..5],
            [
                json!("Bound"),
                json!("pvc-1"),
                json!("1Gi"),
                json!("RWO,RWX")
            ]
        );

        let volume = json!({
            "metadata": {"name": "pvc-1", "creationTimestamp": CREATED},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                     "claimRef": {"namespace": "default", "name": "www-web-0"}, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"}
        });
        let table = to_table(&PERSISTENT_VOLUMES, &[volume], now(), false);
        assert_eq!(table["columnDefinitions"].as_array().unwrap().len(), 11);
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "pvc-1",
                "1Gi",
                "RWO",
                "Delete",
                "Bound",
                "default/www-web-0",
                "standard",
                "<unset>",
                "",
                "60m",
                "Filesystem"
            ])
        );
    }

    #[test]
    fn storage_classes_mark_the_default() {
        let mut class = scenarios::object(scenarios::WEB, "StorageClass");
        class["metadata"]["annotations"] =
            json!({"storageclass.kubernetes.io/is-default-class": "true"});
        assert_eq!(
            cells(&STORAGE_CLASSES, class),
            [
                json!("managed-nfs-storage (default)"),
                json!("k8s-sigs.io/nfs-subdir-external-provisioner"),
                json!("Delete"),
                json!("Immediate"),
                json!(false),
                json!("<unknown>")
            ]
        );
    }

    #[test]
    fn namespaces_nodes_and_revisions() {
        let ns = json!({"metadata": {"name": "default", "creationTimestamp": CREATED}, "status": {"phase": "Active"}});
        assert_eq!(
            cells(&NAMESPACES, ns),
            [json!("default"), json!("Active"), json!("60m")]
        );
        let node = json!({
            "metadata": {"name": "sandbox", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.1"}}
        });
        let row = cells(&NODES, node);
        assert_eq!(
            row[..3],
            [json!("sandbox"), json!("Ready"), json!("control-plane")]
        );
        assert_eq!(
            row[4..7],
            [json!("v1.37.1"), json!("172.18.0.2"), json!("<none>")]
        );
        let revision = json!({
            "metadata": {"name": "web-5d4f8c7b9", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u", "controller": true}
            ]},
            "revision": 2
        });
        let row = cells(&CONTROLLER_REVISIONS, revision);
        assert_eq!(
            row[..3],
            [
                json!("web-5d4f8c7b9"),
                json!("statefulset.apps/web"),
                json!(2)
            ]
        );
    }

    #[test]
    fn events_in_both_api_versions() {
        let event = json!({
            "metadata": {"name": "web.1"},
            "involvedObject": {"kind": "StatefulSet", "name": "web"},
            "type": "Normal",
            "reason": "SuccessfulCreate",
            "message": "create Pod web-0 in StatefulSet web successful",
            "source": {"component": "statefulset-controller"},
            "firstTimestamp": "2026-11-23T08:58:00Z",
            "lastTimestamp": "2026-11-23T08:59:30Z",
            "count": 2,
        });
        let table = to_table(&EVENTS, &[event], now(), false);
        let names: Vec<(String, i64)> = column_names(&table);
        assert_eq!(names[0], ("Last Seen".to_string(), 0));
        assert_eq!(names[3], ("Object".to_string(), 0));
        assert_eq!(names[9], ("Name".to_string(), 1));
        assert_eq!(
            table["rows"][0]["cells"],
            json!([
                "30s",
                "Normal",
                "SuccessfulCreate",
                "statefulset/web",
                "",
                "statefulset-controller",
                "create Pod web-0 in StatefulSet web successful",
                "2m",
                2,
                "web.1"
            ])
        );
        let v1 = json!({
            "metadata": {"name": "web-0.2"},
            "regarding": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{nginx}"},
            "type": "Normal", "reason": "Pulled", "note": "pulled",
            "reportingController": "kubelet", "reportingInstance": "sandbox",
            "eventTime": "2026-11-23T08:59:50.000000Z",
        });
        let row = cells(&EVENTS_V1, v1);
        assert_eq!(row[0], "10s");
        assert_eq!(row[3], "pod/web-0");
        assert_eq!(row[4], "spec.containers{nginx}");
        assert_eq!(row[5], "kubelet, sandbox");
        assert_eq!(row[8], 1);
    }

    #[test]
    fn endpoints_and_slices_list_up_to_three_addresses() {
        let endpoints = json!({"metadata": {"name": "web"}, "subsets": [{
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}],
            "ports": [{"port": 80}],
        }]});
        assert_eq!(
            cells(&ENDPOINTS, endpoints)[1],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
        );
        assert_eq!(
            cells(&ENDPOINTS, json!({"metadata": {"name": "e"}}))[1],
            "<none>"
        );
        let slice = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "ports": [{"port": 80, "name": "web"}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]});
        let row = cells(&ENDPOINT_SLICES, slice);
        assert_eq!(
            row[1..4],
            [json!("IPv4"), json!("80"), json!("10.0.0.1,10.0.0.2")]
        );
        let empty = json!({"metadata": {"name": "e"}, "addressType": "IPv4"});
        assert_eq!(cells(&ENDPOINT_SLICES, empty)[3], "<unset>");
    }

    #[test]
    fn config_secret_and_rbac_printers() {
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
        assert_eq!(cells(&CONFIG_MAPS, cm)[1], 3);
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": ""}});
        assert_eq!(cells(&SECRETS, secret)[1..3], [json!("Opaque"), json!(1)]);
        let role =
            json!({"metadata": {"name": "view", "creationTimestamp": "2026-11-23T08:00:00Z"}});
        let table = to_table(&CLUSTER_ROLES, &[role], now(), false);
        assert_eq!(table["columnDefinitions"][1]["name"], "Created At");
        assert_eq!(table["columnDefinitions"][1]["type"], "date");
        assert_eq!(table["rows"][0]["cells"][1], "2026-11-23T08:00:00Z");
        let binding = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}]});
        let row = cells(&ROLE_BINDINGS, binding);
        assert_eq!(row[1], "Role/r");
        assert_eq!(row[3..6], [json!("u"), json!(""), json!("ns:sa")]);
    }
}
