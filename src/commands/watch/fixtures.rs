//! Test fixtures shared by the watch's unit tests: the "web" set of the
//! scenarios and pods, claims and events of it at chosen moments.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use serde_json::json;

use super::model::{Change, SetView, Transition};

pub const UPDATE: &str = "web-5c7f8d9b6";
pub const OLD: &str = "web-7a1b2c3d4";

/// The "web" set of the scenarios: 4 replicas, partition 2, claims from `www`.
const WEB: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default, uid: set-1, generation: 2}
spec:
  replicas: 4
  serviceName: headless-svc
  selector: {matchLabels: {app: nginx}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
status:
  observedGeneration: 2
  replicas: 4
  readyReplicas: 4
  availableReplicas: 4
  updatedReplicas: 2
  currentReplicas: 2
  currentRevision: web-7a1b2c3d4
  updateRevision: web-5c7f8d9b6
"#;

pub fn web() -> StatefulSet {
    serde_saphyr::from_str(WEB).expect("valid StatefulSet YAML")
}

pub fn with_replicas(mut set: StatefulSet, replicas: i32) -> StatefulSet {
    set.spec.replicas = Some(replicas);
    set
}

pub fn at(seconds: f64) -> Timestamp {
    Timestamp::from_second(1_800_000_000)
        .and_then(|t| t.checked_add(jiff::SignedDuration::from_secs_f64(seconds)))
        .expect("valid test time")
}

/// A pod of `web` as the kubelet reports it at one stage of its life.
pub struct PodSpec<'a> {
    pub ordinal: i32,
    pub uid: &'a str,
    pub revision: &'a str,
    pub created: f64,
    pub waiting: Option<&'a str>,
    pub ready: bool,
    pub restarts: i32,
    pub terminating: bool,
}

impl<'a> PodSpec<'a> {
    pub fn new(ordinal: i32) -> Self {
        PodSpec {
            ordinal,
            uid: "",
            revision: UPDATE,
            created: 0.0,
            waiting: Some("ContainerCreating"),
            ready: false,
            restarts: 0,
            terminating: false,
        }
    }

    pub fn pod(&self) -> Pod {
        let name = format!("web-{}", self.ordinal);
        let uid = if self.uid.is_empty() {
            format!("uid-{name}")
        } else {
            self.uid.to_string()
        };
        let state = match self.waiting {
            Some(reason) => json!({"waiting": {"reason": reason}}),
            None => json!({"running": {}}),
        };
        let mut metadata = json!({
            "name": name, "namespace": "default", "uid": uid,
            "creationTimestamp": at(self.created).to_string(),
            "labels": {"app": "nginx", "controller-revision-hash": self.revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                 "uid": "set-1", "controller": true}],
        });
        if self.terminating {
            metadata["deletionTimestamp"] = json!(at(self.created + 100.0).to_string());
        }
        serde_json::from_value(json!({
            "metadata": metadata,
            "spec": {"containers": [{"name": "nginx"}], "nodeName": "node-1"},
            "status": {
                "phase": if self.waiting == Some("ContainerCreating") { "Pending" } else { "Running" },
                "conditions": [{"type": "Ready", "status": if self.ready { "True" } else { "False" },
                                "lastTransitionTime": at(self.created + 1.0).to_string()}],
                "containerStatuses": [{"name": "nginx", "ready": self.ready, "restartCount": self.restarts,
                                       "image": "nginx", "imageID": "", "state": state}],
            }
        }))
        .expect("valid Pod JSON")
    }

    pub fn running(mut self) -> Self {
        self.waiting = None;
        self
    }

    pub fn ready(mut self) -> Self {
        self.waiting = None;
        self.ready = true;
        self
    }
}

pub fn claim(ordinal: i32, phase: &str, volume: Option<&str>) -> PersistentVolumeClaim {
    let mut spec =
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
    if let Some(volume) = volume {
        spec["volumeName"] = json!(volume);
    }
    serde_json::from_value(json!({
        "metadata": {"name": format!("www-web-{ordinal}"), "namespace": "default", "labels": {"app": "nginx"}},
        "spec": spec,
        "status": {"phase": phase},
    }))
    .expect("valid claim JSON")
}

pub fn event(
    uid: &str,
    version: &str,
    kind: &str,
    name: &str,
    reason: &str,
    message: &str,
) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("{name}.{uid}"), "namespace": "default", "uid": uid, "resourceVersion": version},
        "involvedObject": {"kind": kind, "name": name, "namespace": "default"},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
    }))
    .expect("valid Event JSON")
}

pub fn lines(transitions: &[Transition]) -> Vec<String> {
    transitions.iter().map(ToString::to_string).collect()
}

/// A view of `web` whose set is known and whose pods `ordinals` are Ready on `revision`.
pub fn view_with(set: StatefulSet, pods: &[(i32, &str)]) -> SetView {
    let mut view = SetView::new("default", "web");
    view.apply(&Change::SetApplied(Box::new(set)), at(0.0));
    for (ordinal, revision) in pods {
        let mut spec = PodSpec::new(*ordinal).ready();
        spec.revision = revision;
        view.apply(&Change::PodApplied(Box::new(spec.pod())), at(0.0));
    }
    view
}
