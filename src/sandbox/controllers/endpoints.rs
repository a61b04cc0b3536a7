//! EndpointSlices and the legacy Endpoints object for Services with a
//! selector, as upstream's endpointslice controller (pkg/controller/endpointslice,
//! staging endpointslice reconciler) and endpoints controller write them.
//!
//! Each Service with a selector gets slices labelled
//! `kubernetes.io/service-name` and managed by `endpointslice-controller.k8s.io`
//! (at most 100 endpoints each), listing every pod it selects that has an IP:
//! ready / serving / terminating conditions, targetRef, nodeName, and
//! `hostname` when the pod's subdomain names the Service (headless DNS).
//! `desired_slices` and `desired_endpoints` are pure; `sync_once` applies them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::resync::{self, Queued};
use crate::sandbox::api::cluster::{
    Change, Cluster, DeleteOptions, ListOptions, Subresource, WatchEventType, WriteOptions,
};
use crate::sandbox::resources::{ENDPOINT_SLICES, ENDPOINTS, PODS, SERVICES};

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// Upstream's `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

fn is_headless(service: &Service) -> bool {
    service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

fn selector_of(service: &Service) -> Option<&BTreeMap<String, String>> {
    service
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .filter(|s| !s.is_empty())
}

fn publish_not_ready(service: &Service) -> bool {
    service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

fn pod_is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .filter(|ip| !ip.is_empty())
}

/// Whether two versions of a pod give the same endpoints: equal in every
/// field `desired_slices` and `desired_subsets` read (most status writes,
/// container states for example, change none of them).
fn same_for_endpoints(a: &Pod, b: &Pod) -> bool {
    fn ports(pod: &Pod) -> Vec<Option<&Vec<k8s_openapi::api::core::v1::ContainerPort>>> {
        pod.spec
            .iter()
            .flat_map(|s| s.containers.iter().map(|c| c.ports.as_ref()))
            .collect()
    }
    let (ma, mb) = (&a.metadata, &b.metadata);
    let spec_field = |f: fn(&k8s_openapi::api::core::v1::PodSpec) -> &Option<String>| {
        a.spec.as_ref().map(f) == b.spec.as_ref().map(f)
    };
    let status_field = |f: fn(&k8s_openapi::api::core::v1::PodStatus) -> &Option<String>| {
        a.status.as_ref().map(f) == b.status.as_ref().map(f)
    };
    ma.namespace == mb.namespace
        && ma.name == mb.name
        && ma.uid == mb.uid
        && ma.labels == mb.labels
        && ma.deletion_timestamp.is_some() == mb.deletion_timestamp.is_some()
        && spec_field(|s| &s.hostname)
        && spec_field(|s| &s.subdomain)
        && spec_field(|s| &s.node_name)
        && status_field(|s| &s.phase)
        && status_field(|s| &s.pod_ip)
        && pod_is_ready(a) == pod_is_ready(b)
        && ports(a) == ports(b)
}

/// Whether a Service's (non-empty) selector matches a pod's labels.
fn selects(service: &Service, pod: &Pod) -> bool {
    let Some(selector) = selector_of(service) else {
        return false;
    };
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The pods a Service's endpoints list: selected, in its namespace, with an
/// IP, not finished.
pub fn selected_pods<'a>(
    service: &Service,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Vec<&'a Pod> {
    if selector_of(service).is_none() {
        return Vec::new();
    }
    let mut selected: Vec<&Pod> = pods
        .into_iter()
        .filter(|p| p.metadata.namespace == service.metadata.namespace)
        .filter(|p| selects(service, p))
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            phase != Some("Succeeded") && phase != Some("Failed")
        })
        .filter(|p| pod_ip(p).is_some())
        .collect();
    selected.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    selected
}

/// The port a Service port reaches on a pod: a number, a named container
/// port, or the Service port itself when no targetPort is set.
pub fn resolve_target_port(port: &ServicePort, pod: &Pod) -> Option<i32> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port),
    }
}

/// `hostname` of an endpoint: the pod's hostname when its subdomain is the Service.
fn endpoint_hostname(service: &Service, pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    (spec.subdomain.as_deref() == service.metadata.name.as_deref()).then(|| hostname.to_string())
}

fn target_ref(pod: &Pod) -> Value {
    json!({
        "kind": "Pod",
        "namespace": pod.metadata.namespace,
        "name": pod.metadata.name,
        "uid": pod.metadata.uid,
    })
}

fn slice_ports(service: &Service, pods: &[&Pod]) -> Vec<Value> {
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    ports
        .iter()
        .filter_map(|port| {
            let target = pods
                .iter()
                .find_map(|pod| resolve_target_port(port, pod))
                .or_else(|| pods.is_empty().then_some(port.port))?;
            let mut value = json!({
                "name": port.name.clone().unwrap_or_default(),
                "port": target,
                "protocol": port.protocol.clone().unwrap_or_else(|| "TCP".into()),
            });
            if let Some(app) = &port.app_protocol {
                value["appProtocol"] = json!(app);
            }
            Some(value)
        })
        .collect()
}

/// The labels upstream puts on a Service's slices and Endpoints: the
/// Service's own, plus the headless marker.
fn derived_labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    if is_headless(service) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    }
    labels
}

/// The content of one EndpointSlice (no name: slices are matched by content).
#[derive(Debug, Clone, PartialEq)]
pub struct SliceContent {
    pub labels: BTreeMap<String, String>,
    pub endpoints: Vec<Value>,
    pub ports: Vec<Value>,
}

/// The slices a Service should have.
pub fn desired_slices<'a>(
    service: &Service,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Vec<SliceContent> {
    let selected = selected_pods(service, pods);
    let mut labels = derived_labels(service);
    labels.insert(
        SERVICE_NAME_LABEL.into(),
        service.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    let ports = slice_ports(service, &selected);
    let publish = publish_not_ready(service);
    let endpoints: Vec<Value> = selected
        .iter()
        .filter_map(|pod| {
            let ip = pod_ip(pod)?;
            let terminating = pod.metadata.deletion_timestamp.is_some();
            let serving = publish || pod_is_ready(pod);
            let mut endpoint = json!({
                "addresses": [ip],
                "conditions": {"ready": serving && !terminating, "serving": serving, "terminating": terminating},
                "targetRef": target_ref(pod),
            });
            if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
                endpoint["nodeName"] = json!(node);
            }
            if let Some(hostname) = endpoint_hostname(service, pod) {
                endpoint["hostname"] = json!(hostname);
            }
            Some(endpoint)
        })
        .collect();
    if endpoints.is_empty() {
        return vec![SliceContent {
            labels,
            endpoints: Vec::new(),
            ports,
        }];
    }
    endpoints
        .chunks(MAX_ENDPOINTS_PER_SLICE)
        .map(|chunk| SliceContent {
            labels: labels.clone(),
            endpoints: chunk.to_vec(),
            ports: ports.clone(),
        })
        .collect()
}

/// The legacy Endpoints object's `subsets` for a Service (`None` when empty).
/// Terminating pods are left out; unready ones go to `notReadyAddresses`.
pub fn desired_subsets<'a>(
    service: &Service,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Option<Value> {
    let selected = selected_pods(service, pods);
    let publish = publish_not_ready(service);
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for pod in selected
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let Some(ip) = pod_ip(pod) else {
            continue;
        };
        let mut address = json!({"ip": ip, "targetRef": target_ref(pod)});
        if let Some(hostname) = endpoint_hostname(service, pod) {
            address["hostname"] = json!(hostname);
        }
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            address["nodeName"] = json!(node);
        }
        if publish || pod_is_ready(pod) {
            ready.push(address);
        } else {
            not_ready.push(address);
        }
    }
    if ready.is_empty() && not_ready.is_empty() {
        return None;
    }
    let by_ip = |a: &Value, b: &Value| a["ip"].as_str().cmp(&b["ip"].as_str());
    ready.sort_by(by_ip);
    not_ready.sort_by(by_ip);
    let ports: Vec<Value> = slice_ports(service, &selected)
        .into_iter()
        .map(|mut p| {
            if p["name"].as_str().is_some_and(str::is_empty)
                && let Some(map) = p.as_object_mut()
            {
                map.remove("name");
            }
            p
        })
        .collect();
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    Some(json!([subset]))
}

// ---------------------------------------------------------------------------
// I/O

fn owner_reference(service: &Service) -> Value {
    json!([{
        "apiVersion": "v1",
        "kind": "Service",
        "name": service.metadata.name,
        "uid": service.metadata.uid,
        "controller": true,
        "blockOwnerDeletion": true,
    }])
}

fn now_annotation() -> Value {
    json!({"endpoints.kubernetes.io/last-change-trigger-time": crate::sandbox::api::cluster::now_string()})
}

fn slice_matches(existing: &Value, want: &SliceContent) -> bool {
    let labels: BTreeMap<String, String> =
        serde_json::from_value(existing["metadata"]["labels"].clone()).unwrap_or_default();
    labels == want.labels
        && existing["endpoints"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            == want.endpoints.as_slice()
        && existing["ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            == want.ports.as_slice()
}

/// `pods`: at least every pod of the Service's namespace.
fn sync_service(cluster: &Cluster, service: &Service, pods: &[&Pod]) {
    let namespace = service.metadata.namespace.clone().unwrap_or_default();
    let name = service.metadata.name.clone().unwrap_or_default();
    let opts = WriteOptions::default();
    let listed = cluster.list(
        &ENDPOINT_SLICES,
        Some(&namespace),
        &ListOptions {
            label_selector: Some(format!(
                "{SERVICE_NAME_LABEL}={name},{MANAGED_BY_LABEL}={MANAGED_BY}"
            )),
            ..ListOptions::default()
        },
    );
    let Ok(listed) = listed else {
        return;
    };
    let mut existing = listed.items;
    let want = desired_slices(service, pods.iter().copied());
    for (index, content) in want.iter().enumerate() {
        if let Some(slice) = existing.get(index) {
            if slice_matches(slice, content) {
                continue;
            }
            let mut updated = slice.clone();
            updated["metadata"]["labels"] = json!(content.labels);
            updated["metadata"]["annotations"] = now_annotation();
            updated["endpoints"] = json!(content.endpoints);
            updated["ports"] = json!(content.ports);
            let slice_name = slice["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Err(err) = cluster.update(
                &ENDPOINT_SLICES,
                Some(&namespace),
                &slice_name,
                updated,
                Subresource::Main,
                &opts,
            ) {
                tracing::debug!(%err, "endpointslices: cannot update {namespace}/{slice_name}");
            }
        } else {
            let slice = json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": format!("{name}-"),
                    "namespace": namespace,
                    "labels": content.labels,
                    "annotations": now_annotation(),
                    "ownerReferences": owner_reference(service),
                },
                "addressType": "IPv4",
                "endpoints": content.endpoints,
                "ports": content.ports,
            });
            if let Err(err) = cluster.create(&ENDPOINT_SLICES, Some(&namespace), slice, &opts) {
                tracing::debug!(%err, "endpointslices: cannot create a slice for {namespace}/{name}");
            }
        }
    }
    for extra in existing.drain(want.len().min(existing.len())..) {
        let slice_name = extra["metadata"]["name"].as_str().unwrap_or_default();
        if let Err(err) = cluster.delete(
            &ENDPOINT_SLICES,
            Some(&namespace),
            slice_name,
            &DeleteOptions::default(),
        ) {
            tracing::debug!(%err, "endpointslices: cannot delete {namespace}/{slice_name}");
        }
    }
    sync_endpoints(cluster, service, pods);
}

fn sync_endpoints(cluster: &Cluster, service: &Service, pods: &[&Pod]) {
    let namespace = service.metadata.namespace.clone().unwrap_or_default();
    let name = service.metadata.name.clone().unwrap_or_default();
    let subsets = desired_subsets(service, pods.iter().copied());
    let labels = derived_labels(service);
    let opts = WriteOptions::default();
    match cluster.get(&ENDPOINTS, Some(&namespace), &name) {
        Ok(existing) => {
            let existing_labels: BTreeMap<String, String> =
                serde_json::from_value(existing["metadata"]["labels"].clone()).unwrap_or_default();
            let existing_subsets = existing.get("subsets").filter(|s| !s.is_null()).cloned();
            if existing_subsets == subsets && existing_labels == labels {
                return;
            }
            let mut updated = existing.clone();
            updated["metadata"]["labels"] = json!(labels);
            updated["metadata"]["annotations"] = now_annotation();
            match (subsets, updated.as_object_mut()) {
                (Some(subsets), Some(map)) => {
                    map.insert("subsets".into(), subsets);
                }
                (None, Some(map)) => {
                    map.remove("subsets");
                }
                _ => {}
            }
            if let Err(err) = cluster.update(
                &ENDPOINTS,
                Some(&namespace),
                &name,
                updated,
                Subresource::Main,
                &opts,
            ) {
                tracing::debug!(%err, "endpoints: cannot update {namespace}/{name}");
            }
        }
        Err(err) if err.code == 404 => {
            let mut endpoints = json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": now_annotation()},
            });
            if let Some(subsets) = subsets {
                endpoints["subsets"] = subsets;
            }
            if let Err(err) = cluster.create(&ENDPOINTS, Some(&namespace), endpoints, &opts) {
                tracing::debug!(%err, "endpoints: cannot create {namespace}/{name}");
            }
        }
        Err(err) => tracing::debug!(%err, "endpoints: cannot read {namespace}/{name}"),
    }
}

type Key = (String, String);

fn key_of(meta: &ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Services and pods as the controller knows them, kept from the change
/// stream (upstream's informers), and the Services whose endpoints may
/// have changed (upstream's work queue): a pod's change concerns only the
/// Services of its namespace that select it, before or after the change.
#[derive(Default)]
pub struct EndpointsCache {
    services: BTreeMap<Key, Service>,
    pods: BTreeMap<Key, Pod>,
    dirty: BTreeSet<Key>,
    /// Slices managed by the controller -> the Service (namespace, label) they are for.
    slices: BTreeMap<Key, Key>,
    /// Endpoints objects the controller wrote.
    endpoints: BTreeSet<Key>,
}

/// The Service a managed slice is for, or None for a slice that is not the controller's.
fn managed_slice(slice: &Value) -> Option<(Key, Key)> {
    let meta = &slice["metadata"];
    if meta["labels"][MANAGED_BY_LABEL].as_str() != Some(MANAGED_BY) {
        return None;
    }
    let namespace = meta["namespace"].as_str().unwrap_or_default().to_string();
    let name = meta["name"].as_str().unwrap_or_default().to_string();
    let service = meta["labels"][SERVICE_NAME_LABEL]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Some(((namespace.clone(), name), (namespace, service)))
}

/// Whether the controller wrote an Endpoints object (selector-less
/// Services' Endpoints are the user's).
fn our_endpoints(endpoints: &Value) -> Option<Key> {
    let meta = &endpoints["metadata"];
    if meta["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"].is_null() {
        return None;
    }
    Some((
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    ))
}

impl EndpointsCache {
    /// A fresh listing, every Service dirty.
    pub fn from_cluster(cluster: &Cluster) -> Option<EndpointsCache> {
        let all = ListOptions::default();
        let (Ok(services), Ok(pods), Ok(slices), Ok(endpoints)) = (
            cluster.list_typed::<Service>(None, None),
            cluster.list_typed::<Pod>(None, None),
            cluster.list(&ENDPOINT_SLICES, None, &all),
            cluster.list(&ENDPOINTS, None, &all),
        ) else {
            return None;
        };
        let mut cache = EndpointsCache {
            services: services
                .into_iter()
                .map(|s| (key_of(&s.metadata), s))
                .collect(),
            pods: pods.into_iter().map(|p| (key_of(&p.metadata), p)).collect(),
            dirty: BTreeSet::new(),
            slices: slices.items.iter().filter_map(managed_slice).collect(),
            endpoints: endpoints.items.iter().filter_map(our_endpoints).collect(),
        };
        cache.mark_all_dirty();
        Some(cache)
    }

    fn mark_all_dirty(&mut self) {
        self.dirty.extend(self.services.keys().cloned());
    }

    fn services_selecting(&self, pod: &Pod) -> Vec<Key> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        self.services
            .range((namespace.clone(), String::new())..)
            .take_while(|((ns, _), _)| *ns == namespace)
            .filter(|(_, service)| selects(service, pod))
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn apply(&mut self, change: &Change) {
        let deleted = change.event.event_type == WatchEventType::Deleted;
        let object = &change.event.object;
        if change.rt == &SERVICES {
            let Ok(service) = Service::deserialize(object) else {
                return;
            };
            let key = key_of(&service.metadata);
            if deleted {
                self.services.remove(&key);
            } else {
                self.services.insert(key.clone(), service);
            }
            self.dirty.insert(key);
        } else if change.rt == &PODS {
            let Ok(pod) = Pod::deserialize(object) else {
                return;
            };
            let key = key_of(&pod.metadata);
            let unchanged = !deleted
                && self
                    .pods
                    .get(&key)
                    .is_some_and(|old| same_for_endpoints(old, &pod));
            let mut concerned = if unchanged {
                Vec::new()
            } else {
                self.services_selecting(&pod)
            };
            let old = if deleted {
                self.pods.remove(&key)
            } else {
                self.pods.insert(key, pod)
            };
            if let Some(old) = old.filter(|_| !unchanged) {
                concerned.extend(self.services_selecting(&old));
            }
            self.dirty.extend(concerned);
        } else if change.rt == &ENDPOINT_SLICES {
            let meta = &object["metadata"];
            let key = (
                meta["namespace"].as_str().unwrap_or_default().to_string(),
                meta["name"].as_str().unwrap_or_default().to_string(),
            );
            self.slices.remove(&key);
            if !deleted && let Some((key, service)) = managed_slice(object) {
                self.slices.insert(key, service);
            }
        } else if change.rt == &ENDPOINTS {
            let meta = &object["metadata"];
            let key = (
                meta["namespace"].as_str().unwrap_or_default().to_string(),
                meta["name"].as_str().unwrap_or_default().to_string(),
            );
            self.endpoints.remove(&key);
            if !deleted && let Some(key) = our_endpoints(object) {
                self.endpoints.insert(key);
            }
        }
    }

    /// Sync the dirty Services, then remove what belongs to no Service.
    pub fn sync(&mut self, cluster: &Cluster) {
        for key in std::mem::take(&mut self.dirty) {
            let Some(service) = self.services.get(&key) else {
                continue;
            };
            if selector_of(service).is_none() {
                continue;
            }
            let pods: Vec<&Pod> = self
                .pods
                .range((key.0.clone(), String::new())..)
                .take_while(|((ns, _), _)| *ns == key.0)
                .map(|(_, pod)| pod)
                .collect();
            sync_service(cluster, service, &pods);
        }
        self.remove_orphans(cluster);
    }

    /// Slices and Endpoints whose Service is gone (or lost its selector) go too.
    fn remove_orphans(&self, cluster: &Cluster) {
        let opts = DeleteOptions::default();
        for ((namespace, name), service) in &self.slices {
            let managed = self
                .services
                .get(service)
                .is_some_and(|s| selector_of(s).is_some());
            if !managed {
                let _ = cluster.delete(&ENDPOINT_SLICES, Some(namespace), name, &opts);
            }
        }
        for key in &self.endpoints {
            if !self.services.contains_key(key) {
                let _ = cluster.delete(&ENDPOINTS, Some(&key.0), &key.1, &opts);
            }
        }
    }
}

/// One pass over every Service, from a fresh listing.
pub fn sync_once(cluster: &Cluster) {
    if let Some(mut cache) = EndpointsCache::from_cluster(cluster) {
        cache.sync(cluster);
    }
}

fn is_relevant(change: &Change) -> bool {
    change.rt == &PODS || change.rt == &SERVICES
}

/// How often every Service is synced again without a change.
const RESYNC: Duration = Duration::from_secs(30);

/// Keep endpoints current until the cluster goes away.
pub async fn run(cluster: Cluster) {
    let mut changes = cluster.subscribe();
    let mut cache = EndpointsCache::from_cluster(&cluster).unwrap_or_default();
    loop {
        // Everything queued goes into this sync (a burst of changes costs one).
        let open = resync::drain(&mut changes, |seen| match seen {
            Queued::Change(change) => cache.apply(change),
            Queued::Lost => cache = EndpointsCache::from_cluster(&cluster).unwrap_or_default(),
        });
        if !open {
            return;
        }
        cache.sync(&cluster);
        let deadline = tokio::time::Instant::now() + RESYNC;
        loop {
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Err(_elapsed) => {
                    cache.mark_all_dirty();
                    break;
                }
                Ok(Ok(change)) => {
                    cache.apply(&change);
                    if is_relevant(&change) {
                        break;
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => {
                    cache = EndpointsCache::from_cluster(&cluster).unwrap_or_default();
                    break;
                }
                Ok(Err(RecvError::Closed)) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, PodCondition, PodSpec, PodStatus, ServiceSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn service(headless: bool) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("headless-svc".into()),
                namespace: Some("default".into()),
                uid: Some("svc-uid".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                cluster_ip: headless.then(|| "None".to_string()),
                selector: Some([("app".to_string(), "nginx".to_string())].into()),
                ports: Some(vec![ServicePort {
                    port: 80,
                    target_port: Some(IntOrString::String("web".into())),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                labels: Some([("app".to_string(), "nginx".to_string())].into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                hostname: Some(name.into()),
                subdomain: Some("headless-svc".into()),
                node_name: Some("sandbox-node".into()),
                containers: vec![Container {
                    name: "nginx".into(),
                    ports: Some(vec![ContainerPort {
                        name: Some("web".into()),
                        container_port: 8080,
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                pod_ip: ip.map(str::to_string),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn only_changes_endpoints_read_make_a_service_dirty() {
        let before = pod("web-0", Some("10.244.0.2"), false);
        let mut restarted = before.clone();
        if let Some(status) = restarted.status.as_mut() {
            status.start_time = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        }
        assert!(same_for_endpoints(&before, &restarted));
        assert!(!same_for_endpoints(
            &before,
            &pod("web-0", Some("10.244.0.2"), true)
        ));
        assert!(!same_for_endpoints(
            &before,
            &pod("web-0", Some("10.244.0.3"), false)
        ));
        let mut terminating = before.clone();
        terminating.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        assert!(!same_for_endpoints(&before, &terminating));
    }

    #[test]
    fn slices_list_pods_with_hostnames_for_the_governing_service() {
        let pods = vec![
            pod("web-1", Some("10.244.0.6"), false),
            pod("web-0", Some("10.244.0.5"), true),
            pod("web-2", None, false),
        ];
        let slices = desired_slices(&service(true), &pods);
        assert_eq!(slices.len(), 1);
        let slice = &slices[0];
        assert_eq!(
            slice.labels.get(SERVICE_NAME_LABEL).map(String::as_str),
            Some("headless-svc")
        );
        assert_eq!(
            slice.labels.get(MANAGED_BY_LABEL).map(String::as_str),
            Some(MANAGED_BY)
        );
        assert_eq!(
            slice.labels.get(HEADLESS_LABEL).map(String::as_str),
            Some("")
        );
        assert_eq!(
            slice.ports,
            vec![json!({"name": "", "port": 8080, "protocol": "TCP"})]
        );
        assert_eq!(
            slice.endpoints.len(),
            2,
            "the pod without an IP is left out"
        );
        let first = &slice.endpoints[0];
        assert_eq!(first["addresses"], json!(["10.244.0.5"]));
        assert_eq!(first["hostname"], "web-0");
        assert_eq!(
            first["conditions"],
            json!({"ready": true, "serving": true, "terminating": false})
        );
        assert_eq!(first["targetRef"]["uid"], "uid-web-0");
        assert_eq!(slice.endpoints[1]["conditions"]["ready"], false);
    }

    #[test]
    fn hostnames_need_the_matching_subdomain() {
        let mut other = pod("web-0", Some("10.244.0.5"), true);
        other.spec.as_mut().expect("spec").subdomain = Some("other".into());
        let slices = desired_slices(&service(false), &[other]);
        assert!(slices[0].endpoints[0].get("hostname").is_none());
        assert!(!slices[0].labels.contains_key(HEADLESS_LABEL));
    }

    #[test]
    fn terminating_pods_stay_in_slices_but_leave_endpoints() {
        let mut going = pod("web-0", Some("10.244.0.5"), true);
        going.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        let pods = vec![going, pod("web-1", Some("10.244.0.6"), false)];
        let slices = desired_slices(&service(true), &pods);
        assert_eq!(
            slices[0].endpoints[0]["conditions"],
            json!({"ready": false, "serving": true, "terminating": true})
        );
        let subsets = desired_subsets(&service(true), &pods).expect("subsets");
        assert!(subsets[0].get("addresses").is_none());
        assert_eq!(subsets[0]["notReadyAddresses"][0]["ip"], "10.244.0.6");
        assert_eq!(subsets[0]["notReadyAddresses"][0]["hostname"], "web-1");
        assert_eq!(
            subsets[0]["ports"],
            json!([{"port": 8080, "protocol": "TCP"}])
        );
    }

    #[test]
    fn large_services_split_into_slices_of_one_hundred() {
        let pods: Vec<Pod> = (0..250)
            .map(|i| {
                pod(
                    &format!("web-{i:03}"),
                    Some(&format!("10.244.{}.{}", i / 200, i % 200 + 2)),
                    true,
                )
            })
            .collect();
        let slices = desired_slices(&service(true), &pods);
        let sizes: Vec<usize> = slices.iter().map(|s| s.endpoints.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(desired_subsets(&service(true), &[]), None);
        assert_eq!(desired_slices(&service(true), &[])[0].endpoints.len(), 0);
    }
}
