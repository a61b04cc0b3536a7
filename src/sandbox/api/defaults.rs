//! Server-side defaulting, as the API server applies it to every object it
//! decodes (k8s.io/kubernetes pkg/apis/core/v1/defaults.go,
//! pkg/apis/apps/v1/defaults.go, pkg/apis/storage/v1/defaults.go,
//! pkg/apis/discovery/v1/defaults.go, pkg/apis/rbac/v1/defaults.go), plus the
//! few things a real server adds at create that `kubectl get -o yaml` always
//! shows: a Service's allocated cluster IP and IP families, and a Pod's
//! service account, priority and default tolerations (the ServiceAccount,
//! Priority and DefaultTolerationSeconds admission plugins).
//!
//! Defaulting only fills what is absent, so applying it twice changes nothing;
//! the StatefulSet controller hashes the defaulted template, so the template
//! must come out exactly as a real server stores it.

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::sandbox::resources::ResourceType;

/// Fills the defaults of `obj` (a whole object of type `rt`) in place.
pub fn apply_defaults(rt: &ResourceType, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match (rt.group, rt.kind) {
        ("", "Pod") => default_pod(obj),
        ("", "Service") => default_service(obj),
        ("", "PersistentVolumeClaim") => default_claim(obj),
        ("", "PersistentVolume") => default_volume(obj),
        ("", "Namespace") => default_namespace(obj),
        ("", "Secret") => {
            fold_string_data(obj);
            set_absent(obj, "type", json!("Opaque"));
        }
        ("", "Endpoints") => default_endpoints(obj),
        ("apps", "StatefulSet") => default_stateful_set(obj),
        ("discovery.k8s.io", "EndpointSlice") => default_endpoint_slice(obj),
        ("storage.k8s.io", "StorageClass") => {
            set_absent(obj, "reclaimPolicy", json!("Delete"));
            set_absent(obj, "volumeBindingMode", json!("Immediate"));
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            default_role_binding(obj)
        }
        _ => {}
    }
}

/// A Secret's `stringData` is write-only: the conversion from v1 writes each
/// entry into `data` (over a key of the same name) and drops the field, so no
/// read ever shows it (pkg/apis/core/v1/conversion.go).
fn fold_string_data(secret: &mut Value) {
    use base64::Engine;
    let Some(string_data) = secret.as_object_mut().and_then(|s| s.remove("stringData")) else {
        return;
    };
    let Some(entries) = string_data.as_object() else {
        return;
    };
    if !secret["data"].is_object() {
        secret["data"] = json!({});
    }
    for (key, value) in entries {
        let text = value.as_str().unwrap_or_default();
        secret["data"][key] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

/// Sets `map[key] = value` when the key is absent or null.
fn set_absent(map: &mut Value, key: &str, value: Value) {
    if let Some(map) = map.as_object_mut() {
        let entry = map.entry(key).or_insert(Value::Null);
        if entry.is_null() {
            *entry = value;
        }
    }
}

/// Sets an absent or empty string field.
fn set_empty_string(map: &mut Value, key: &str, value: &str) {
    if map[key].as_str().is_none_or(str::is_empty) {
        set_absent(map, key, Value::Null);
        map[key] = json!(value);
    }
}

/// `obj[key]` as a mutable object, created when absent or null.
fn object_at<'a>(obj: &'a mut Value, key: &str) -> &'a mut Value {
    set_absent(obj, key, json!({}));
    &mut obj[key]
}

fn each_item(obj: &mut Value, key: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(items) = obj.get_mut(key).and_then(Value::as_array_mut) {
        items.iter_mut().filter(|i| i.is_object()).for_each(&mut f);
    }
}

// ---------------------------------------------------------------- pods

fn default_pod(pod: &mut Value) {
    let spec = object_at(pod, "spec");
    default_pod_spec(spec);
    // SetDefaults_Pod (not PodSpec: templates do not get these).
    set_absent(spec, "enableServiceLinks", json!(true));
    for list in ["containers", "initContainers"] {
        each_item(spec, list, requests_from_limits);
    }
    // Admission at create: ServiceAccount, Priority, DefaultTolerationSeconds.
    if spec["serviceAccountName"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        let account = spec["serviceAccount"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
            .to_string();
        spec["serviceAccountName"] = json!(account);
    }
    let account = spec["serviceAccountName"].clone();
    set_absent(spec, "serviceAccount", account);
    if spec["priorityClassName"].as_str().is_none_or(str::is_empty) {
        set_absent(spec, "priority", json!(0));
    }
    set_absent(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    add_default_tolerations(spec);
}

/// SetDefaults_Pod: a container with limits but no request for a resource
/// requests its limit.
fn requests_from_limits(container: &mut Value) {
    let Some(limits) = container["resources"]["limits"].as_object().cloned() else {
        return;
    };
    let resources = object_at(container, "resources");
    let requests = object_at(resources, "requests");
    for (name, quantity) in limits {
        set_absent(requests, &name, quantity);
    }
}

/// DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300s
/// unless the pod already tolerates them.
fn add_default_tolerations(spec: &mut Value) {
    set_absent(spec, "tolerations", json!([]));
    let Some(tolerations) = spec["tolerations"].as_array_mut() else {
        return;
    };
    for taint in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            let key_matches =
                t["key"] == taint || (t["key"].is_null() && t["operator"] == "Exists");
            let effect_matches =
                t["effect"].is_null() || t["effect"] == "" || t["effect"] == "NoExecute";
            key_matches && effect_matches
        });
        if !tolerated {
            tolerations.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }));
        }
    }
}

/// SetDefaults_PodSpec and the defaults of everything a PodSpec holds
/// (containers, ports, probes, volumes), shared by pods and pod templates.
fn default_pod_spec(spec: &mut Value) {
    set_empty_string(spec, "dnsPolicy", "ClusterFirst");
    set_empty_string(spec, "restartPolicy", "Always");
    set_absent(spec, "securityContext", json!({}));
    set_absent(spec, "terminationGracePeriodSeconds", json!(30));
    set_empty_string(spec, "schedulerName", "default-scheduler");
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        each_item(spec, list, default_container);
    }
    each_item(spec, "volumes", default_pod_volume);
}

fn default_container(container: &mut Value) {
    if container["imagePullPolicy"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        let policy = match container["image"].as_str().map(image_tag) {
            Some(Some(tag)) if tag == "latest" => "Always",
            _ => "IfNotPresent",
        };
        container["imagePullPolicy"] = json!(policy);
    }
    set_empty_string(container, "terminationMessagePath", "/dev/termination-log");
    set_empty_string(container, "terminationMessagePolicy", "File");
    // ResourceRequirements is a struct, not a pointer: it is always stored.
    set_absent(container, "resources", json!({}));
    each_item(container, "ports", |port| {
        set_empty_string(port, "protocol", "TCP")
    });
    each_item(container, "env", |env| {
        if env["valueFrom"]["fieldRef"].is_object() {
            set_empty_string(&mut env["valueFrom"]["fieldRef"], "apiVersion", "v1");
        }
    });
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if container[probe].is_object() {
            default_probe(&mut container[probe]);
        }
    }
    for hook in ["postStart", "preStop"] {
        if container["lifecycle"][hook].is_object() {
            default_handler(&mut container["lifecycle"][hook]);
        }
    }
}

/// The tag `parsers.ParseImageName` finds: `latest` when there is neither tag
/// nor digest, `None` (no tag) when there is only a digest.
fn image_tag(image: &str) -> Option<String> {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_component = name.rsplit('/').next().unwrap_or(name);
    match last_component.split_once(':') {
        Some((_, tag)) => Some(tag.to_string()),
        None if digest.is_some() => None,
        None => Some("latest".to_string()),
    }
}

fn default_probe(probe: &mut Value) {
    for (key, value) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        if probe[key].as_i64().unwrap_or(0) == 0 {
            set_absent(probe, key, Value::Null);
            probe[key] = json!(value);
        }
    }
    default_handler(probe);
}

/// HTTPGetAction: path `/`, scheme HTTP; GRPCAction: service "".
fn default_handler(handler: &mut Value) {
    if handler["httpGet"].is_object() {
        set_empty_string(&mut handler["httpGet"], "path", "/");
        set_empty_string(&mut handler["httpGet"], "scheme", "HTTP");
    }
    if handler["grpc"].is_object() {
        set_absent(&mut handler["grpc"], "service", json!(""));
    }
}

const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// SetDefaults_Volume and the volume sources' defaults.
fn default_pod_volume(volume: &mut Value) {
    if !VOLUME_SOURCES
        .iter()
        .any(|source| volume[*source].is_object())
    {
        volume["emptyDir"] = json!({});
    }
    // 0644, as SecretVolumeSourceDefaultMode & co.
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if volume[source].is_object() {
            set_absent(&mut volume[source], "defaultMode", json!(420));
        }
    }
    if volume["hostPath"].is_object() {
        set_absent(&mut volume["hostPath"], "type", json!(""));
    }
    if volume["downwardAPI"].is_object() {
        each_item(&mut volume["downwardAPI"], "items", default_field_ref);
    }
    if volume["projected"].is_object() {
        each_item(&mut volume["projected"], "sources", |source| {
            if source["serviceAccountToken"].is_object() {
                set_absent(
                    &mut source["serviceAccountToken"],
                    "expirationSeconds",
                    json!(3600),
                );
            }
            if source["downwardAPI"].is_object() {
                each_item(&mut source["downwardAPI"], "items", default_field_ref);
            }
        });
    }
}

fn default_field_ref(item: &mut Value) {
    if item["fieldRef"].is_object() {
        set_empty_string(&mut item["fieldRef"], "apiVersion", "v1");
    }
}

// ---------------------------------------------------------------- apps

fn default_stateful_set(sts: &mut Value) {
    let spec = object_at(sts, "spec");
    set_empty_string(spec, "podManagementPolicy", "OrderedReady");
    let strategy = object_at(spec, "updateStrategy");
    if strategy["type"].as_str().is_none_or(str::is_empty) {
        strategy["type"] = json!("RollingUpdate");
        set_absent(strategy, "rollingUpdate", json!({}));
    }
    // Only an existing rollingUpdate gets its partition: an explicit
    // `type: RollingUpdate` without one stays without (as upstream).
    if strategy["type"] == "RollingUpdate" && strategy["rollingUpdate"].is_object() {
        let rolling = &mut strategy["rollingUpdate"];
        set_absent(rolling, "partition", json!(0));
        // MaxUnavailableStatefulSet is on by default since 1.35.
        set_absent(rolling, "maxUnavailable", json!(1));
    }
    let retention = object_at(spec, "persistentVolumeClaimRetentionPolicy");
    set_empty_string(retention, "whenDeleted", "Retain");
    set_empty_string(retention, "whenScaled", "Retain");
    set_absent(spec, "replicas", json!(1));
    set_absent(spec, "revisionHistoryLimit", json!(10));
    let template = object_at(spec, "template");
    default_pod_template(template);
    each_item(spec, "volumeClaimTemplates", |claim| {
        set_empty_string(claim, "apiVersion", "v1");
        set_empty_string(claim, "kind", "PersistentVolumeClaim");
        default_claim(claim);
    });
}

/// A PodTemplateSpec: PodSpec defaults only (no pod-only defaults).
fn default_pod_template(template: &mut Value) {
    default_pod_spec(object_at(template, "spec"));
}

// ---------------------------------------------------------------- storage

fn default_claim(claim: &mut Value) {
    let spec = object_at(claim, "spec");
    set_empty_string(spec, "volumeMode", "Filesystem");
    let status = object_at(claim, "status");
    set_empty_string(status, "phase", "Pending");
}

fn default_volume(volume: &mut Value) {
    let spec = object_at(volume, "spec");
    set_empty_string(spec, "persistentVolumeReclaimPolicy", "Retain");
    set_empty_string(spec, "volumeMode", "Filesystem");
    if spec["hostPath"].is_object() {
        set_absent(&mut spec["hostPath"], "type", json!(""));
    }
    let status = object_at(volume, "status");
    set_empty_string(status, "phase", "Pending");
}

// ---------------------------------------------------------------- core, other

fn default_namespace(namespace: &mut Value) {
    // NamespaceDefaultLabelName: the label always carries the name.
    if let Some(name) = namespace["metadata"]["name"].as_str().map(str::to_string) {
        let metadata = object_at(namespace, "metadata");
        let labels = object_at(metadata, "labels");
        labels["kubernetes.io/metadata.name"] = json!(name);
    }
    let status = object_at(namespace, "status");
    set_empty_string(status, "phase", "Active");
}

fn default_endpoints(endpoints: &mut Value) {
    each_item(endpoints, "subsets", |subset| {
        each_item(subset, "ports", |port| {
            set_empty_string(port, "protocol", "TCP")
        });
    });
}

fn default_endpoint_slice(slice: &mut Value) {
    each_item(slice, "ports", |port| {
        set_absent(port, "name", json!(""));
        set_absent(port, "protocol", json!("TCP"));
    });
}

fn default_role_binding(binding: &mut Value) {
    let role_ref = object_at(binding, "roleRef");
    set_empty_string(role_ref, "apiGroup", "rbac.authorization.k8s.io");
    each_item(binding, "subjects", |subject| {
        if subject["apiGroup"].as_str().is_none_or(str::is_empty) {
            let group = match subject["kind"].as_str() {
                Some("User" | "Group") => "rbac.authorization.k8s.io",
                _ => "",
            };
            subject["apiGroup"] = json!(group);
        }
    });
}

// ---------------------------------------------------------------- services

fn default_service(service: &mut Value) {
    let spec = object_at(service, "spec");
    set_empty_string(spec, "sessionAffinity", "None");
    match spec["sessionAffinity"].as_str() {
        Some("None") => {
            if let Some(map) = spec.as_object_mut() {
                map.remove("sessionAffinityConfig");
            }
        }
        Some("ClientIP")
            if spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"].is_null() =>
        {
            spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
        }
        _ => {}
    }
    set_empty_string(spec, "type", "ClusterIP");
    let service_type = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    let needs_node_ports = matches!(service_type.as_str(), "NodePort" | "LoadBalancer");
    each_item(spec, "ports", |port| {
        set_empty_string(port, "protocol", "TCP");
        let unset = match &port["targetPort"] {
            Value::Null => true,
            Value::Number(n) => n.as_i64() == Some(0),
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if unset {
            port["targetPort"] = port["port"].clone();
        }
        if needs_node_ports && port["nodePort"].as_i64().unwrap_or(0) == 0 {
            port["nodePort"] = json!(rand::rng().random_range(30000..=32767));
        }
    });
    let has_external_ips = spec["externalIPs"]
        .as_array()
        .is_some_and(|ips| !ips.is_empty());
    if needs_node_ports || (service_type == "ClusterIP" && has_external_ips) {
        set_empty_string(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(
        service_type.as_str(),
        "ClusterIP" | "NodePort" | "LoadBalancer"
    ) {
        set_absent(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        set_absent(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if service_type != "ExternalName" {
        allocate_cluster_ip(spec);
    }
}

/// What the Service REST storage does at create: allocate a cluster IP from
/// the service CIDR (10.96.0.0/12, as kubeadm and kind configure it) unless
/// headless, and record the IP families of a single-stack IPv4 cluster.
fn allocate_cluster_ip(spec: &mut Value) {
    let headless = spec["clusterIP"] == "None";
    if spec["clusterIP"].as_str().is_none_or(str::is_empty) {
        let first_ip = spec["clusterIPs"][0]
            .as_str()
            .filter(|ip| !ip.is_empty())
            .map(str::to_string);
        spec["clusterIP"] = json!(first_ip.unwrap_or_else(random_service_ip));
    }
    let cluster_ip = spec["clusterIP"].clone();
    if spec["clusterIPs"]
        .as_array()
        .is_none_or(|ips| ips.is_empty())
    {
        spec["clusterIPs"] = json!([cluster_ip]);
    }
    let has_selector = spec["selector"].as_object().is_some_and(|s| !s.is_empty());
    // A headless Service without selector may span both families.
    let policy = if headless && !has_selector {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    set_empty_string(spec, "ipFamilyPolicy", policy);
    if spec["ipFamilies"]
        .as_array()
        .is_none_or(|families| families.is_empty())
    {
        spec["ipFamilies"] = json!(["IPv4"]);
    }
}

/// A random address of 10.96.0.0/12, skipping the ones kubeadm reserves
/// (10.96.0.1 for `kubernetes`, 10.96.0.10 for DNS) and the network and
/// broadcast addresses.
fn random_service_ip() -> String {
    let mut rng = rand::rng();
    loop {
        let offset: u32 = rng.random_range(2..(1 << 20) - 1);
        if offset == 10 {
            continue;
        }
        let ip = (10u32 << 24) | (96 << 16) | offset;
        return std::net::Ipv4Addr::from(ip).to_string();
    }
}

/// Copies what the server allocated (cluster IPs, node ports) from the stored
/// Service into an update that omits them, as the Service storage does
/// (`patchAllocatedValues`), so a `kubectl replace` of the original manifest
/// keeps the address instead of tripping the immutable-field check. Call it
/// before [`apply_defaults`] on update.
pub fn carry_over_service_allocations(old: &Value, new: &mut Value) {
    if !new["spec"].is_object() {
        return;
    }
    let same_kind_of_address = old["spec"]["type"] != "ExternalName"
        && new["spec"]["type"].as_str().unwrap_or("ClusterIP") != "ExternalName";
    if !same_kind_of_address {
        return;
    }
    for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        let absent = match &new["spec"][key] {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if absent && !old["spec"][key].is_null() {
            new["spec"][key] = old["spec"][key].clone();
        }
    }
    let old_ports: Vec<Map<String, Value>> = old["spec"]["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p.as_object().cloned())
                .collect()
        })
        .unwrap_or_default();
    each_item(&mut new["spec"], "ports", |port| {
        if port["nodePort"].as_i64().unwrap_or(0) != 0 {
            return;
        }
        let matching = old_ports
            .iter()
            .find(|old| old.get("port") == port.get("port") && old.get("nodePort").is_some());
        if let Some(old) = matching {
            port["nodePort"] = old["nodePort"].clone();
        }
    });
}

/// The manifests of /work/shared/scenarios, embedded so the unit tests of the
/// API modules run from any checkout.
#[cfg(test)]
pub(crate) mod scenarios {
    use serde_json::Value;

    pub const WEB: &str = r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: managed-nfs-storage
provisioner: k8s-sigs.io/nfs-subdir-external-provisioner
parameters:
  archiveOnDelete: "false"
---
apiVersion: v1
kind: Service
metadata:
  name: headless-svc
spec:
  clusterIP: None
  selector:
    app: nginx
  ports:
  - protocol: TCP
    port: 80
    targetPort: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx
  serviceName: headless-svc
  replicas: 3
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      storageClassName: managed-nfs-storage
      resources:
        requests:
          storage: 1Gi
"#;

    pub const REDIS: &str = r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: nfs-client
provisioner: k8s-sigs.io/nfs-subdir-external-provisioner
parameters:
  archiveOnDelete: "false"
---
apiVersion: v1
kind: Service
metadata:
  name: redis-svc
spec:
  selector:
    app: redis-sts
  ports:
  - port: 6379
    protocol: TCP
    targetPort: 6379
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis-sts
spec:
  serviceName: redis-svc
  replicas: 2
  selector:
    matchLabels:
      app: redis-sts
  template:
    metadata:
      labels:
        app: redis-sts
    spec:
      containers:
      - image: redis:6.2
        name: redis
        ports:
        - containerPort: 6379
        volumeMounts:
        - name: redis-pvc
          mountPath: /data
  volumeClaimTemplates:
  - metadata:
      name: redis-pvc
    spec:
      storageClassName: nfs-client
      accessModes:
      - ReadWriteMany
      resources:
        requests:
          storage: 500Mi
"#;

    /// The object of `kind` in a multi-document manifest.
    pub fn object(manifest: &str, kind: &str) -> Value {
        let docs: Vec<Value> = serde_saphyr::from_multiple(manifest).expect("manifest parses");
        docs.into_iter()
            .find(|doc| doc["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in the manifest"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{
        NAMESPACES, PERSISTENT_VOLUMES, PODS, ROLE_BINDINGS, SECRETS, SERVICES, STATEFUL_SETS,
        STORAGE_CLASSES,
    };

    fn defaulted(rt: &ResourceType, mut obj: Value) -> Value {
        apply_defaults(rt, &mut obj);
        obj
    }

    #[test]
    fn statefulset_spec_defaults_match_a_real_server() {
        let sts = defaulted(
            &STATEFUL_SETS,
            scenarios::object(scenarios::WEB, "StatefulSet"),
        );
        let spec = &sts["spec"];
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            spec["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 1}})
        );
        assert_eq!(
            spec["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(spec["replicas"], 3);
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(
            spec["volumeClaimTemplates"][0],
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "www"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "managed-nfs-storage",
                    "resources": {"requests": {"storage": "1Gi"}},
                    "volumeMode": "Filesystem",
                },
                "status": {"phase": "Pending"},
            })
        );
    }

    #[test]
    fn statefulset_template_gets_pod_spec_defaults_but_not_pod_only_ones() {
        let sts = defaulted(
            &STATEFUL_SETS,
            scenarios::object(scenarios::REDIS, "StatefulSet"),
        );
        assert_eq!(
            sts["spec"]["template"]["spec"],
            json!({
                "containers": [{
                    "image": "redis:6.2",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "redis",
                    "ports": [{"containerPort": 6379, "protocol": "TCP"}],
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": [{"mountPath": "/data", "name": "redis-pvc"}],
                }],
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
            })
        );
    }

    #[test]
    fn explicit_rolling_update_without_parameters_gets_no_partition() {
        let mut sts = scenarios::object(scenarios::WEB, "StatefulSet");
        sts["spec"]["updateStrategy"] = json!({"type": "RollingUpdate"});
        let sts = defaulted(&STATEFUL_SETS, sts);
        assert_eq!(
            sts["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate"})
        );
        let mut on_delete = scenarios::object(scenarios::WEB, "StatefulSet");
        on_delete["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        let on_delete = defaulted(&STATEFUL_SETS, on_delete);
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
    }

    #[test]
    fn defaulting_twice_changes_nothing() {
        let once = defaulted(
            &STATEFUL_SETS,
            scenarios::object(scenarios::WEB, "StatefulSet"),
        );
        assert_eq!(defaulted(&STATEFUL_SETS, once.clone()), once);
        let svc = defaulted(&SERVICES, scenarios::object(scenarios::REDIS, "Service"));
        assert_eq!(defaulted(&SERVICES, svc.clone()), svc);
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        for (image, policy) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("localhost:5000/nginx", "Always"),
            ("localhost:5000/nginx:1.0", "IfNotPresent"),
            ("nginx@sha256:abcd", "IfNotPresent"),
        ] {
            let pod = defaulted(
                &PODS,
                json!({"spec": {"containers": [{"name": "c", "image": image}]}}),
            );
            assert_eq!(
                pod["spec"]["containers"][0]["imagePullPolicy"], policy,
                "image {image}"
            );
        }
    }

    #[test]
    fn pods_get_pod_only_defaults_and_admission_fields() {
        let pod = defaulted(
            &PODS,
            json!({"spec": {"containers": [{
                "name": "c",
                "image": "busybox:1.36",
                "resources": {"limits": {"cpu": "1"}},
                "readinessProbe": {"httpGet": {"port": 80}},
            }]}}),
        );
        let spec = &pod["spec"];
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(spec["tolerations"][0]["tolerationSeconds"], 300);
        let container = &spec["containers"][0];
        assert_eq!(container["resources"]["requests"], json!({"cpu": "1"}));
        assert_eq!(
            container["readinessProbe"],
            json!({
                "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                "timeoutSeconds": 1,
                "periodSeconds": 10,
                "successThreshold": 1,
                "failureThreshold": 3,
            })
        );
    }

    #[test]
    fn volumes_without_a_source_become_empty_dirs_and_modes_default() {
        let pod = defaulted(
            &PODS,
            json!({"spec": {"containers": [], "volumes": [
                {"name": "scratch"},
                {"name": "conf", "configMap": {"name": "c"}},
                {"name": "host", "hostPath": {"path": "/x"}},
            ]}}),
        );
        let volumes = &pod["spec"]["volumes"];
        assert_eq!(volumes[0], json!({"name": "scratch", "emptyDir": {}}));
        assert_eq!(volumes[1]["configMap"]["defaultMode"], 420);
        assert_eq!(volumes[2]["hostPath"]["type"], "");
    }

    #[test]
    fn headless_service_keeps_none_and_gets_ip_families() {
        let svc = defaulted(&SERVICES, scenarios::object(scenarios::WEB, "Service"));
        let spec = &svc["spec"];
        assert_eq!(spec["clusterIP"], "None");
        assert_eq!(spec["clusterIPs"], json!(["None"]));
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    }

    #[test]
    fn cluster_ip_services_get_an_address_and_target_port() {
        let mut svc = scenarios::object(scenarios::REDIS, "Service");
        svc["spec"]["ports"][0]
            .as_object_mut()
            .unwrap()
            .remove("targetPort");
        let svc = defaulted(&SERVICES, svc);
        let ip: std::net::Ipv4Addr = svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert_eq!(ip.octets()[0], 10);
        assert_eq!(ip.octets()[1] & 0xf0, 96);
        assert_eq!(svc["spec"]["clusterIPs"][0], svc["spec"]["clusterIP"]);
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 6379);
        assert!(svc["spec"].get("externalTrafficPolicy").is_none());
    }

    #[test]
    fn node_port_services_get_node_ports_and_traffic_policy() {
        let svc = defaulted(
            &SERVICES,
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
        );
        let node_port = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!((30000..=32767).contains(&node_port));
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster");
    }

    #[test]
    fn a_replaced_service_keeps_its_allocations() {
        let old = defaulted(
            &SERVICES,
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
        );
        let mut new = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        carry_over_service_allocations(&old, &mut new);
        apply_defaults(&SERVICES, &mut new);
        assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
        assert_eq!(
            new["spec"]["ports"][0]["nodePort"],
            old["spec"]["ports"][0]["nodePort"]
        );
    }

    #[test]
    fn storage_namespace_secret_and_rbac_defaults() {
        let class = defaulted(
            &STORAGE_CLASSES,
            scenarios::object(scenarios::WEB, "StorageClass"),
        );
        assert_eq!(class["reclaimPolicy"], "Delete");
        assert_eq!(class["volumeBindingMode"], "Immediate");
        let pv = defaulted(
            &PERSISTENT_VOLUMES,
            json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}}}),
        );
        assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pv["status"]["phase"], "Pending");
        let ns = defaulted(&NAMESPACES, json!({"metadata": {"name": "team-a"}}));
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
        assert_eq!(ns["status"]["phase"], "Active");
        let secret = defaulted(&SECRETS, json!({"metadata": {"name": "s"}}));
        assert_eq!(secret["type"], "Opaque");
        let binding = defaulted(
            &ROLE_BINDINGS,
            json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [
                {"kind": "User", "name": "u"},
                {"kind": "ServiceAccount", "name": "sa", "namespace": "default"},
            ]}),
        );
        assert_eq!(binding["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(
            binding["subjects"][0]["apiGroup"],
            "rbac.authorization.k8s.io"
        );
        assert_eq!(binding["subjects"][1]["apiGroup"], "");
    }

    #[test]
    fn secret_string_data_is_written_into_data_and_dropped() {
        let secret = defaulted(
            &SECRETS,
            json!({
                "metadata": {"name": "db"},
                "data": {"user": "YWRtaW4=", "password": "b2xk"},
                "stringData": {"password": "s3cret", "host": "db-0.db"}
            }),
        );
        assert_eq!(
            secret["data"],
            json!({"user": "YWRtaW4=", "password": "czNjcmV0", "host": "ZGItMC5kYg=="})
        );
        assert!(secret.get("stringData").is_none(), "{secret}");
        let only_strings = defaulted(&SECRETS, json!({"stringData": {"k": "v"}}));
        assert_eq!(only_strings["data"], json!({"k": "dg=="}));
    }
}
