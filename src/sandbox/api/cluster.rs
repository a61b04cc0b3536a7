//! `Cluster`: the in-process API with API-server semantics, shared by the HTTP
//! layer and the controllers (which must not go over HTTP, so that request
//! counts stay those of real clients).
//!
//! What it adds on top of the store, as upstream's registry does: uid and
//! creationTimestamp, `generation` bumped on spec changes only, optimistic
//! concurrency on resourceVersion, status written only through `/status`, the
//! `/scale` subresource, graceful deletion of scheduled pods, finalizers
//! (including the `orphan` and `foregroundDeletion` propagation finalizers the
//! garbage collector acts on), namespace existence and termination, dry run,
//! defaulting and validation, and the DefaultStorageClass admission plugin.
//!
//! Every call takes the store's lock once and never awaits while holding it.

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::error::{ApiError, FieldCause};
use super::events_v1;
use super::selectors::{FieldSelector, LabelSelector, selector_string};
pub use super::store::Snapshot;
pub use super::store::{Change, WatchEvent, WatchEventType, WatchFilter};
use super::store::{DEFAULT_HISTORY_LIMIT, Store, object_key};
use crate::sandbox::resources::{
    self, EVENTS, EVENTS_V1, LEASES, NAMESPACES, NODES, PERSISTENT_VOLUME_CLAIMS,
    PERSISTENT_VOLUMES, PODS, ResourceType, STATEFUL_SETS, STORAGE_CLASSES,
};

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Main,
    Status,
    Scale,
}

/// A patch body by content type.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchBody {
    /// `application/merge-patch+json` (RFC 7386).
    Merge(Value),
    /// `application/json-patch+json` (RFC 6902).
    Json(Value),
    /// `application/strategic-merge-patch+json`.
    Strategic(Value),
    /// `application/apply-patch+yaml`: server-side apply, approximated as a
    /// strategic merge of the applied fields (no managedFields, no conflicts).
    Apply(Value),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
    pub preconditions_uid: Option<String>,
    pub preconditions_resource_version: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList {
    pub items: Vec<Value>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<u64>,
}

/// An `ObjectList` whose items are shared with the store (see `list_shared`).
#[derive(Debug, Clone)]
pub struct SharedList {
    pub items: Vec<Arc<Value>>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<u64>,
}

impl SharedList {
    /// The JSON list body a list request returns (`kind`, `apiVersion`,
    /// `metadata`, `items`), serialised as `serde_json::json!` would write it.
    pub fn body<'a>(&'a self, rt: &ResourceType, metadata: &'a Value) -> ListBody<'a> {
        ListBody {
            kind: rt.list_kind(),
            api_version: rt.api_version(),
            metadata,
            items: &self.items,
            metadata_only: false,
        }
    }

    /// The same list as a meta.k8s.io/v1 PartialObjectMetadataList: each item
    /// a PartialObjectMetadata holding only the object's metadata.
    pub fn metadata_body<'a>(&'a self, metadata: &'a Value) -> ListBody<'a> {
        ListBody {
            kind: "PartialObjectMetadataList".to_string(),
            api_version: "meta.k8s.io/v1".to_string(),
            metadata,
            items: &self.items,
            metadata_only: true,
        }
    }
}

/// A list response body written straight from shared items.
pub struct ListBody<'a> {
    kind: String,
    api_version: String,
    metadata: &'a Value,
    items: &'a [Arc<Value>],
    metadata_only: bool,
}

/// An object as PartialObjectMetadata, written without copying its metadata.
pub struct PartialItem<'a>(pub &'a Value);

impl Serialize for PartialItem<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        map.serialize_entry("kind", "PartialObjectMetadata")?;
        map.serialize_entry("metadata", &self.0["metadata"])?;
        map.end()
    }
}

impl Serialize for ListBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Items<'a>(&'a [Arc<Value>], bool);
        impl Serialize for Items<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if self.1 {
                    serializer.collect_seq(self.0.iter().map(|item| PartialItem(item)))
                } else {
                    serializer.collect_seq(self.0.iter().map(|item| &**item))
                }
            }
        }
        // Keys in the order a serde_json map (sorted) writes them.
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("apiVersion", &self.api_version)?;
        map.serialize_entry("items", &Items(self.items, self.metadata_only))?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("metadata", self.metadata)?;
        map.end()
    }
}

/// What a delete did: removed the object, or marked it (graceful deletion or finalizers pending).
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOutcome {
    pub object: Value,
    pub removed: bool,
}

/// Finalizer the garbage collector honours for `propagationPolicy=Orphan`.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// Finalizer the garbage collector honours for `propagationPolicy=Foreground`.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
pub const DEFAULT_STORAGE_CLASS: &str = "standard";
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
pub const HOSTPATH_PROVISIONER: &str = "sandbox.kubectl-sts.io/hostpath";
pub const NODE_NAME: &str = "sandbox-node";
/// Namespaces a fresh cluster has.
pub const INITIAL_NAMESPACES: &[&str] =
    &["default", "kube-node-lease", "kube-public", "kube-system"];

/// Namespaces the API server refuses to delete.
const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

#[derive(Clone)]
pub struct Cluster {
    store: Arc<Mutex<Store>>,
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Cluster {
    /// A cluster with the initial namespaces, the default StorageClass and the node.
    pub fn new() -> Self {
        Self::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }

    pub fn with_history_limit(limit: usize) -> Self {
        let cluster = Cluster {
            store: Arc::new(Mutex::new(Store::new(limit))),
        };
        cluster.bootstrap();
        cluster
    }

    /// A cluster restored from a persisted snapshot (see `snapshot`).
    pub fn from_snapshot(snapshot: &Value) -> Result<Self, String> {
        let mut store = Store::new(DEFAULT_HISTORY_LIMIT);
        store.restore(snapshot)?;
        let cluster = Cluster {
            store: Arc::new(Mutex::new(store)),
        };
        cluster.bootstrap();
        Ok(cluster)
    }

    /// Every object (shared, cheap to take); serialise it with serde.
    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot()
    }

    /// Creates whatever a fresh cluster has and the state lacks.
    fn bootstrap(&self) {
        let opts = WriteOptions::default();
        for ns in INITIAL_NAMESPACES {
            let namespace =
                json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}});
            self.ensure(&NAMESPACES, None, namespace, &opts);
        }
        let class = json!({
            "metadata": {"name": DEFAULT_STORAGE_CLASS,
                         "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": HOSTPATH_PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        });
        self.ensure(&STORAGE_CLASSES, None, class, &opts);
        if self.get(&NODES, None, NODE_NAME).is_err() {
            let node = json!({
                "metadata": {"name": NODE_NAME, "labels": {
                    "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": std::env::consts::ARCH,
                    "node-role.kubernetes.io/control-plane": ""}},
                "spec": {},
            });
            self.ensure(&NODES, None, node, &opts);
        }
        self.refresh_node_status();
        self.ensure_node_lease();
    }

    /// The node's heartbeat Lease in kube-node-lease (`kubectl describe node`
    /// shows it), held by the node and owned by it, as the kubelet keeps it.
    fn ensure_node_lease(&self) {
        let Ok(node) = self.get(&NODES, None, NODE_NAME) else {
            return;
        };
        let renewed = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let lease = json!({
            "metadata": {
                "name": NODE_NAME,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": NODE_NAME,
                                     "uid": node["metadata"]["uid"]}],
            },
            "spec": {"holderIdentity": NODE_NAME, "leaseDurationSeconds": 40, "renewTime": renewed},
        });
        self.ensure(
            &LEASES,
            Some("kube-node-lease"),
            lease,
            &WriteOptions::default(),
        );
    }

    fn ensure(&self, rt: &ResourceType, ns: Option<&str>, object: Value, opts: &WriteOptions) {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if self.get(rt, ns, &name).is_err()
            && let Err(err) = self.create(rt, ns, object, opts)
        {
            tracing::warn!(%name, %err, "cannot create an initial object");
        }
    }

    /// Marks the node Ready with the sandbox's capacity (a kubelet's heartbeat).
    fn refresh_node_status(&self) {
        let now = now_string();
        let status = json!({
            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": NODE_NAME}],
            "nodeInfo": {"kubeletVersion": "v1.37.1-sandbox", "containerRuntimeVersion": "sandbox://1.0",
                         "operatingSystem": "linux", "architecture": std::env::consts::ARCH,
                         "osImage": "kubectl-sts sandbox", "kernelVersion": "", "kubeProxyVersion": "",
                         "machineID": "", "systemUUID": "", "bootID": ""},
        });
        if let Ok(mut node) = self.get(&NODES, None, NODE_NAME)
            && node["status"]["conditions"].is_null()
        {
            node["status"] = status;
            if let Err(err) = self.update(
                &NODES,
                None,
                NODE_NAME,
                node,
                Subresource::Status,
                &WriteOptions::default(),
            ) {
                tracing::warn!(%err, "cannot mark the node Ready");
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves a consistent store (every write is one insert).
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version()
    }

    pub fn get(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        if is_events_v1(rt) {
            return self.get(&EVENTS, ns, name).map(|e| events_v1::to_v1(&e));
        }
        let store = self.lock();
        get_locked(&store, rt, ns, name)
    }

    /// A subresource as a GET returns it (`/status` is the object; `/scale` is a Scale).
    pub fn get_subresource(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        sub: Subresource,
    ) -> Result<Value, ApiError> {
        let object = self.get(rt, ns, name)?;
        match sub {
            Subresource::Scale => scale_of(rt, &object),
            _ => Ok(object),
        }
    }

    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ObjectList, ApiError> {
        let shared = self.list_shared(rt, ns, opts)?;
        Ok(ObjectList {
            items: shared.items.iter().map(|item| (**item).clone()).collect(),
            resource_version: shared.resource_version,
            continue_token: shared.continue_token,
            remaining: shared.remaining,
        })
    }

    /// `list` without copying the objects: they are shared with the store,
    /// so a large list costs a pointer per object under the lock (for serving
    /// lists, which only serialise them).
    pub fn list_shared(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<SharedList, ApiError> {
        if is_events_v1(rt) {
            let mut listed = self.list_shared(
                &EVENTS,
                ns,
                &ListOptions {
                    field_selector: opts.field_selector.as_deref().map(core_event_fields),
                    ..opts.clone()
                },
            )?;
            listed.items = listed
                .items
                .iter()
                .map(|e| Arc::new(events_v1::to_v1(e)))
                .collect();
            return Ok(listed);
        }
        let labels = LabelSelector::parse(opts.label_selector.as_deref().unwrap_or_default())?;
        let fields = FieldSelector::parse(rt, opts.field_selector.as_deref().unwrap_or_default())?;
        let start = opts
            .continue_token
            .as_deref()
            .map(ContinueToken::decode)
            .transpose()?;
        let store = self.lock();
        let ns = scope_namespace(rt, ns);
        let resource_version = start
            .as_ref()
            .map_or(store.resource_version(), |t| t.resource_version);
        let mut items = Vec::new();
        let mut remaining = 0u64;
        let mut last_key = None;
        for (key, object) in store.list_shared(rt, ns) {
            if start.as_ref().is_some_and(|t| key <= &t.after) {
                continue;
            }
            if !(labels.matches(object) && fields.matches(object)) {
                continue;
            }
            if opts
                .limit
                .is_some_and(|limit| limit > 0 && items.len() >= limit)
            {
                remaining += 1;
                continue;
            }
            last_key = Some(key.clone());
            items.push(Arc::clone(object));
        }
        let continue_token = match last_key {
            Some(after) if remaining > 0 => Some(
                ContinueToken {
                    resource_version,
                    after,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(SharedList {
            items,
            resource_version,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }

    pub fn create(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        if is_events_v1(rt) {
            return self
                .create(&EVENTS, ns, events_v1::to_core(&obj), opts)
                .map(|e| events_v1::to_v1(&e));
        }
        let rt = known(rt)?;
        let mut store = self.lock();
        create_locked(&mut store, rt, ns, obj, opts)
    }

    pub fn update(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Subresource,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        if is_events_v1(rt) {
            return self
                .update(&EVENTS, ns, name, events_v1::to_core(&obj), sub, opts)
                .map(|e| events_v1::to_v1(&e));
        }
        let rt = known(rt)?;
        let mut store = self.lock();
        let existing = get_locked(&store, rt, ns, name)?;
        if sub == Subresource::Scale {
            return update_scale(&mut store, rt, existing, &obj, opts);
        }
        update_locked(&mut store, rt, existing, obj, sub, opts)
    }

    pub fn patch(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: PatchBody,
        sub: Subresource,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        if is_events_v1(rt) {
            // Patches apply to the v1 form; the result is stored in core form.
            let mut store = self.lock();
            let existing = get_locked(&store, &EVENTS, ns, name)?;
            let patched = apply_patch(rt, &events_v1::to_v1(&existing), &patch)?;
            return update_locked(
                &mut store,
                &EVENTS,
                existing,
                events_v1::to_core(&patched),
                sub,
                opts,
            )
            .map(|e| events_v1::to_v1(&e));
        }
        let rt = known(rt)?;
        let mut store = self.lock();
        let existing = match get_locked(&store, rt, ns, name) {
            Ok(existing) => existing,
            Err(err) if err.code == 404 && sub == Subresource::Main => {
                // Server-side apply creates what does not exist yet.
                if let PatchBody::Apply(applied) = patch {
                    let mut applied = applied;
                    if applied["metadata"]["name"].is_null() {
                        applied["metadata"]["name"] = json!(name);
                    }
                    return create_locked(&mut store, rt, ns, applied, opts);
                }
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        if sub == Subresource::Scale {
            let scale = scale_of(rt, &existing)?;
            let patched = apply_patch(rt, &scale, &patch)?;
            return update_scale(&mut store, rt, existing, &patched, opts);
        }
        let patched = apply_patch(rt, &existing, &patch)?;
        update_locked(&mut store, rt, existing, patched, sub, opts)
    }

    /// Returns the object as it is after the call (with deletionTimestamp when
    /// deletion is graceful or blocked by finalizers).
    pub fn delete(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        self.delete_with_outcome(rt, ns, name, opts)
            .map(|outcome| outcome.object)
    }

    /// Like `delete`, saying whether the object is gone (HTTP answers 200) or pending (202).
    pub fn delete_with_outcome(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, ApiError> {
        if is_events_v1(rt) {
            let mut outcome = self.delete_with_outcome(&EVENTS, ns, name, opts)?;
            outcome.object = events_v1::to_v1(&outcome.object);
            return Ok(outcome);
        }
        let rt = known(rt)?;
        let mut store = self.lock();
        delete_locked(&mut store, rt, ns, name, opts)
    }

    /// Deletes every object a list with `list_opts` would return; returns those affected.
    pub fn delete_collection(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        list_opts: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Vec<Value>, ApiError> {
        let listed = self.list(
            rt,
            ns,
            &ListOptions {
                limit: None,
                continue_token: None,
                ..list_opts.clone()
            },
        )?;
        let rt = if is_events_v1(rt) {
            &EVENTS
        } else {
            known(rt)?
        };
        let mut store = self.lock();
        let mut affected = Vec::new();
        for item in listed.items {
            let (item_ns, item_name) = object_key(&item);
            let item_ns = (!item_ns.is_empty()).then_some(item_ns);
            match delete_locked(&mut store, rt, item_ns.as_deref(), &item_name, opts) {
                Ok(outcome) => affected.push(outcome.object),
                Err(err) if err.code == 404 => {}
                Err(err) => return Err(err),
            }
        }
        Ok(affected)
    }

    /// Events after `since` (None = from now on, no replay); Err(Expired) when
    /// `since` is older than the kept history.
    pub fn watch(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        since: Option<u64>,
    ) -> Result<mpsc::UnboundedReceiver<WatchEvent>, ApiError> {
        self.watch_filtered(rt, ns, since, WatchFilter::default())
    }

    /// `watch` through label/field selectors: an object leaving the selection
    /// arrives as DELETED, one entering it as ADDED.
    pub fn watch_filtered(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        since: Option<u64>,
        filter: WatchFilter,
    ) -> Result<mpsc::UnboundedReceiver<WatchEvent>, ApiError> {
        if is_events_v1(rt) {
            // Watch the stored core Events and show them in v1 form; the
            // selectors speak v1 field names, so they apply after conversion.
            let mut core = self.watch_filtered(&EVENTS, ns, since, WatchFilter::default())?;
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Some(mut event) = core.recv().await {
                    event.object = events_v1::to_v1(&event.object);
                    if filter.matches(&event.object) && tx.send(event).is_err() {
                        break;
                    }
                }
            });
            return Ok(rx);
        }
        let rt = known(rt)?;
        let mut store = self.lock();
        store.watch(rt, scope_namespace(rt, ns), since, filter)
    }

    /// Every change to every type, for controllers that re-sync on change.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.lock().subscribe()
    }

    pub fn get_typed<K: k8s_openapi::Resource + DeserializeOwned>(
        &self,
        ns: Option<&str>,
        name: &str,
    ) -> Result<K, ApiError> {
        from_value(self.get(typed_rt::<K>()?, ns, name)?)
    }

    pub fn list_typed<K: k8s_openapi::Resource + DeserializeOwned>(
        &self,
        ns: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<K>, ApiError> {
        let opts = ListOptions {
            label_selector: label_selector.map(str::to_string),
            ..ListOptions::default()
        };
        self.list(typed_rt::<K>()?, ns, &opts)?
            .items
            .into_iter()
            .map(from_value)
            .collect()
    }

    pub fn create_typed<K: k8s_openapi::Resource + DeserializeOwned + Serialize>(
        &self,
        ns: Option<&str>,
        obj: &K,
    ) -> Result<K, ApiError> {
        from_value(self.create(
            typed_rt::<K>()?,
            ns,
            to_value(obj)?,
            &WriteOptions::default(),
        )?)
    }

    pub fn update_typed<K: k8s_openapi::Resource + DeserializeOwned + Serialize>(
        &self,
        ns: Option<&str>,
        obj: &K,
        sub: Subresource,
    ) -> Result<K, ApiError> {
        let value = to_value(obj)?;
        let name = value["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        from_value(self.update(
            typed_rt::<K>()?,
            ns,
            &name,
            value,
            sub,
            &WriteOptions::default(),
        )?)
    }
}

fn typed_rt<K: k8s_openapi::Resource>() -> Result<&'static ResourceType, ApiError> {
    resources::of::<K>()
        .ok_or_else(|| ApiError::internal(format!("{} is not served by the sandbox", K::KIND)))
}

fn from_value<K: DeserializeOwned>(value: Value) -> Result<K, ApiError> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::internal(format!("decoding a stored object: {e}")))
}

fn to_value<K: Serialize>(obj: &K) -> Result<Value, ApiError> {
    serde_json::to_value(obj)
        .map_err(|e| ApiError::bad_request(format!("encoding the object: {e}")))
}

fn is_events_v1(rt: &ResourceType) -> bool {
    rt.group == EVENTS_V1.group && rt.plural == EVENTS_V1.plural
}

/// events.k8s.io field selectors in the core/v1 names the store filters on.
fn core_event_fields(selector: &str) -> String {
    selector
        .replace("regarding.", "involvedObject.")
        .replace("reportingController", "reportingComponent")
}

fn known(rt: &ResourceType) -> Result<&'static ResourceType, ApiError> {
    resources::lookup(rt.group, rt.version, rt.plural).ok_or_else(ApiError::path_not_found)
}

/// The namespace an object of this type lives in: cluster-scoped types ignore it.
fn scope_namespace<'a>(rt: &ResourceType, ns: Option<&'a str>) -> Option<&'a str> {
    if rt.namespaced { ns } else { None }
}

fn get_locked(
    store: &Store,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
) -> Result<Value, ApiError> {
    let ns = if rt.namespaced {
        ns.unwrap_or_default()
    } else {
        ""
    };
    store
        .get(rt, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, name))
}

/// RFC 3339 at whole seconds, as metav1.Time serialises.
pub fn now_string() -> String {
    timestamp_string(jiff::Timestamp::now())
}

pub fn timestamp_string(at: jiff::Timestamp) -> String {
    jiff::Timestamp::from_second(at.as_second()).map_or_else(|_| at.to_string(), |t| t.to_string())
}

fn random_suffix(len: usize) -> String {
    // The alphabet of upstream's rand.String: no vowels, no confusable digits.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Types whose registry strategy maintains `metadata.generation`.
fn has_generation(rt: &ResourceType) -> bool {
    matches!(
        (rt.group, rt.kind),
        ("apps", _) | ("", "Pod") | ("policy", "PodDisruptionBudget")
    ) && rt.kind != "ControllerRevision"
}

/// Everything but metadata and status: what a generation bump compares.
fn spec_part(object: &Value) -> Value {
    let mut spec = object.clone();
    if let Some(map) = spec.as_object_mut() {
        for key in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(key);
        }
    }
    spec
}

/// The status a freshly created object starts with (the strategies' PrepareForCreate).
fn initial_status(rt: &ResourceType) -> Option<Value> {
    if !rt.has_status_subresource {
        return None;
    }
    Some(match (rt.group, rt.kind) {
        ("", "Pod") => json!({"phase": "Pending", "qosClass": "BestEffort"}),
        ("", "Namespace") => json!({"phase": "Active"}),
        ("", "PersistentVolumeClaim") | ("", "PersistentVolume") => json!({"phase": "Pending"}),
        ("", "Service") => json!({"loadBalancer": {}}),
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        // Go's non-omitempty counters, until the disruption controller writes them.
        ("policy", "PodDisruptionBudget") => json!({
            "disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0
        }),
        _ => json!({}),
    })
}

/// Drops empty metadata lists and maps, as Go's `omitempty` does on the way out.
fn drop_empty_metadata(object: &mut Value) {
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.retain(|key, value| {
            let empty = match value {
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Null => true,
                _ => false,
            };
            !(empty
                && matches!(
                    key.as_str(),
                    "labels" | "annotations" | "finalizers" | "ownerReferences" | "managedFields"
                ))
        });
    }
}

fn set_type_meta(rt: &ResourceType, object: &mut Value) {
    object["apiVersion"] = json!(rt.api_version());
    object["kind"] = json!(rt.kind);
}

fn create_locked(
    store: &mut Store,
    rt: &'static ResourceType,
    ns: Option<&str>,
    mut obj: Value,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object",
        ));
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    check_type_meta(rt, &obj)?;
    set_type_meta(rt, &mut obj);
    drop_empty_metadata(&mut obj);
    let namespace = resolve_namespace(rt, ns, &obj)?;
    let meta = &mut obj["metadata"];
    if let Some(namespace) = &namespace {
        meta["namespace"] = json!(namespace);
    } else if let Some(map) = meta.as_object_mut() {
        map.remove("namespace");
    }
    let name = match meta["name"].as_str().filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => match meta["generateName"].as_str().filter(|n| !n.is_empty()) {
            Some(prefix) => format!("{prefix}{}", random_suffix(5)),
            None => {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    vec![FieldCause {
                        reason: "FieldValueRequired".into(),
                        message: "Required value: name or generateName is required".into(),
                        field: "metadata.name".into(),
                    }],
                ));
            }
        },
    };
    meta["name"] = json!(name);
    if let Some(namespace) = &namespace {
        match store.get(&NAMESPACES, "", namespace) {
            None => return Err(ApiError::not_found(&NAMESPACES, namespace)),
            Some(ns_obj) if !ns_obj["metadata"]["deletionTimestamp"].is_null() => {
                return Err(ApiError::forbidden(
                    rt,
                    &name,
                    format!(
                        "unable to create new content in namespace {namespace} because it is being terminated"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if store
        .get(rt, namespace.as_deref().unwrap_or_default(), &name)
        .is_some()
    {
        return Err(ApiError::already_exists(rt, &name));
    }
    if let Some(map) = meta.as_object_mut() {
        for key in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "managedFields",
        ] {
            map.remove(key);
        }
    }
    meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
    meta["creationTimestamp"] = json!(now_string());
    if has_generation(rt) {
        meta["generation"] = json!(1);
    } else if let Some(map) = meta.as_object_mut() {
        map.remove("generation");
    }
    if let Some(status) = initial_status(rt) {
        obj["status"] = status;
    }
    admit_on_create(store, rt, &mut obj);
    hooks::apply_defaults(rt, &mut obj);
    hooks::validate_create(rt, &obj)?;
    if opts.dry_run {
        return Ok(obj);
    }
    Ok(store.put(rt, obj))
}

/// Admission plugins that act at create: DefaultStorageClass, NamespaceLifecycle's finalizer.
fn admit_on_create(store: &Store, rt: &ResourceType, obj: &mut Value) {
    if rt == &PERSISTENT_VOLUME_CLAIMS
        && obj["spec"]["storageClassName"].is_null()
        && let Some(class) = default_storage_class(store)
    {
        obj["spec"]["storageClassName"] = json!(class);
    }
    if rt == &NAMESPACES && obj["spec"]["finalizers"].is_null() {
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    // StorageObjectInUseProtection: claims and volumes in use are not removed
    // until the protection controllers release them.
    let protection = if rt == &PERSISTENT_VOLUME_CLAIMS {
        Some("kubernetes.io/pvc-protection")
    } else if rt == &PERSISTENT_VOLUMES {
        Some("kubernetes.io/pv-protection")
    } else {
        None
    };
    if let Some(finalizer) = protection {
        let finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !finalizers.iter().any(|f| f == finalizer) {
            let mut finalizers = finalizers;
            finalizers.push(json!(finalizer));
            obj["metadata"]["finalizers"] = Value::Array(finalizers);
        }
    }
}

/// The newest StorageClass annotated as default, as the admission plugin picks it.
fn default_storage_class(store: &Store) -> Option<String> {
    store
        .list(&STORAGE_CLASSES, None)
        .map(|(_, class)| class)
        .filter(|class| class["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION] == "true")
        .max_by_key(|class| {
            class["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .and_then(|class| class["metadata"]["name"].as_str().map(str::to_string))
}

fn check_type_meta(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    if let Some(kind) = obj["kind"].as_str()
        && !kind.is_empty()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {kind}",
            rt.kind
        )));
    }
    if let Some(api_version) = obj["apiVersion"].as_str()
        && !api_version.is_empty()
        && api_version != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    Ok(())
}

/// The namespace from the path, checked against the body's (None for cluster-scoped types).
fn resolve_namespace(
    rt: &ResourceType,
    ns: Option<&str>,
    obj: &Value,
) -> Result<Option<String>, ApiError> {
    if !rt.namespaced {
        return Ok(None);
    }
    let in_body = obj["metadata"]["namespace"]
        .as_str()
        .filter(|n| !n.is_empty());
    match (ns, in_body) {
        (Some(path), Some(body)) if path != body => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        (Some(path), _) => Ok(Some(path.to_string())),
        (None, Some(body)) => Ok(Some(body.to_string())),
        (None, None) => Ok(Some("default".to_string())),
    }
}

fn check_resource_version(
    rt: &ResourceType,
    name: &str,
    existing: &Value,
    requested: &Value,
) -> Result<(), ApiError> {
    match requested["metadata"]["resourceVersion"].as_str() {
        Some(rv)
            if !rv.is_empty() && Some(rv) != existing["metadata"]["resourceVersion"].as_str() =>
        {
            Err(ApiError::conflict(rt, name))
        }
        _ => Ok(()),
    }
}

fn update_locked(
    store: &mut Store,
    rt: &'static ResourceType,
    existing: Value,
    obj: Value,
    sub: Subresource,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    let (ns, name) = object_key(&existing);
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object",
        ));
    }
    check_type_meta(rt, &obj)?;
    if let Some(body_name) = obj["metadata"]["name"].as_str()
        && !body_name.is_empty()
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if rt.namespaced
        && let Some(body_ns) = obj["metadata"]["namespace"].as_str()
        && !body_ns.is_empty()
        && body_ns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    check_resource_version(rt, &name, &existing, &obj)?;
    let mut updated = match sub {
        Subresource::Status => {
            let mut updated = existing.clone();
            updated["status"] = obj["status"].clone();
            updated
        }
        _ => {
            let mut updated = obj;
            if !updated["metadata"].is_object() {
                updated["metadata"] = json!({});
            }
            if rt.has_status_subresource {
                updated["status"] = existing["status"].clone();
            }
            updated
        }
    };
    set_type_meta(rt, &mut updated);
    drop_empty_metadata(&mut updated);
    // Fields a client cannot change through an update.
    for key in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "resourceVersion",
    ] {
        match existing["metadata"].get(key) {
            Some(value) => updated["metadata"][key] = value.clone(),
            None => {
                if let Some(map) = updated["metadata"].as_object_mut() {
                    map.remove(key);
                }
            }
        }
    }
    if updated["status"].is_null()
        && let Some(map) = updated.as_object_mut()
    {
        map.remove("status");
    }
    if sub == Subresource::Main {
        hooks::apply_update_defaults(rt, &existing, &mut updated);
        hooks::validate_update(rt, &existing, &updated)?;
    }
    if has_generation(rt) && spec_part(&existing) != spec_part(&updated) {
        let generation = existing["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        updated["metadata"]["generation"] = json!(generation);
    }
    if updated == existing {
        // A no-op update writes nothing and keeps the resourceVersion, as upstream.
        return Ok(existing);
    }
    if opts.dry_run {
        return Ok(updated);
    }
    let finalized = !updated["metadata"]["deletionTimestamp"].is_null()
        && finalizers(&updated).is_empty()
        && existing["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0)
            == 0;
    if finalized {
        store.put(rt, updated);
        return Ok(remove_locked(store, rt, &ns, &name).unwrap_or(existing));
    }
    Ok(store.put(rt, updated))
}

/// The autoscaling/v1 Scale view of a StatefulSet.
fn scale_of(rt: &ResourceType, object: &Value) -> Result<Value, ApiError> {
    if rt != &STATEFUL_SETS {
        return Err(ApiError::path_not_found());
    }
    let meta = &object["metadata"];
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": object["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&object["spec"]["selector"]),
        },
    }))
}

fn update_scale(
    store: &mut Store,
    rt: &'static ResourceType,
    existing: Value,
    scale: &Value,
    opts: &WriteOptions,
) -> Result<Value, ApiError> {
    let (_, name) = object_key(&existing);
    scale_of(rt, &existing)?;
    check_resource_version(rt, &name, &existing, scale)?;
    let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::invalid(
            &SCALE_TYPE,
            &name,
            vec![FieldCause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                field: "spec.replicas".into(),
            }],
        ));
    }
    let mut updated = existing.clone();
    updated["spec"]["replicas"] = json!(replicas);
    updated["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"].clone();
    let result = update_locked(store, rt, existing, updated, Subresource::Main, opts)?;
    scale_of(rt, &result)
}

/// Scale errors name the kind `Scale.autoscaling`.
static SCALE_TYPE: ResourceType = ResourceType {
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
    plural: "scale",
    singular: "scale",
    short_names: &[],
    namespaced: true,
    subresources: &[],
    categories: &[],
    has_status_subresource: false,
};

fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The grace period a pod deletion gets (pod strategy CheckGracefulDelete):
/// unscheduled and finished pods go at once.
fn pod_grace_period(pod: &Value, requested: Option<i64>) -> i64 {
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    if !scheduled || phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    requested
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0)
}

fn delete_locked(
    store: &mut Store,
    rt: &'static ResourceType,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<DeleteOutcome, ApiError> {
    let existing = get_locked(store, rt, ns, name)?;
    // NamespaceLifecycle admission: the system namespaces stay.
    if rt == &NAMESPACES && IMMORTAL_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(
            rt,
            name,
            "this namespace may not be deleted",
        ));
    }
    let meta = &existing["metadata"];
    if let Some(uid) = &opts.preconditions_uid
        && meta["uid"].as_str() != Some(uid.as_str())
    {
        return Err(ApiError::conflict_with(
            rt,
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta["uid"].as_str().unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &opts.preconditions_resource_version
        && meta["resourceVersion"].as_str() != Some(rv.as_str())
    {
        return Err(ApiError::conflict_with(
            rt,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta["resourceVersion"].as_str().unwrap_or_default()
            ),
        ));
    }
    let grace = if rt == &PODS {
        pod_grace_period(&existing, opts.grace_period_seconds)
    } else {
        0
    };
    let mut wanted_finalizers = finalizers(&existing);
    let propagation_finalizer = match opts.propagation {
        Some(Propagation::Orphan) => Some(ORPHAN_FINALIZER),
        Some(Propagation::Foreground) => Some(FOREGROUND_FINALIZER),
        _ => None,
    };
    if let Some(f) = propagation_finalizer
        && !wanted_finalizers.iter().any(|w| w == f)
    {
        wanted_finalizers.push(f.to_string());
    }
    let (ns_key, _) = object_key(&existing);
    let already_deleting = !meta["deletionTimestamp"].is_null();
    if already_deleting {
        // A second delete may only shorten a pending grace period.
        let current = meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0);
        if grace >= current || opts.dry_run {
            return Ok(DeleteOutcome {
                object: existing,
                removed: false,
            });
        }
    }
    if opts.dry_run {
        let mut marked = existing.clone();
        if grace > 0 || !wanted_finalizers.is_empty() {
            mark_deleting(&mut marked, grace, &wanted_finalizers);
        }
        return Ok(DeleteOutcome {
            object: marked,
            removed: false,
        });
    }
    if rt == &NAMESPACES {
        return Ok(delete_namespace(store, existing, name));
    }
    if grace > 0 || !wanted_finalizers.is_empty() {
        let mut marked = existing.clone();
        mark_deleting(&mut marked, grace, &wanted_finalizers);
        if marked != existing {
            marked = store.put(rt, marked);
        }
        return Ok(DeleteOutcome {
            object: marked,
            removed: false,
        });
    }
    let object = remove_locked(store, rt, &ns_key, name).unwrap_or(existing);
    Ok(DeleteOutcome {
        object,
        removed: true,
    })
}

fn mark_deleting(object: &mut Value, grace: i64, finalizers: &[String]) {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
    object["metadata"]["deletionTimestamp"] = json!(timestamp_string(at));
    object["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    if !finalizers.is_empty() {
        object["metadata"]["finalizers"] = json!(finalizers);
    }
}

/// Namespace deletion: mark it Terminating, delete its contents, and remove it
/// once nothing is left (the namespace controller's job upstream).
fn delete_namespace(store: &mut Store, existing: Value, name: &str) -> DeleteOutcome {
    let mut marked = existing;
    if marked["metadata"]["deletionTimestamp"].is_null() {
        marked["metadata"]["deletionTimestamp"] = json!(now_string());
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        marked["status"]["phase"] = json!("Terminating");
        marked = store.put(&NAMESPACES, marked);
    }
    for rt in resources::ALL.iter().copied().filter(|rt| rt.namespaced) {
        let names: Vec<String> = store
            .list(rt, Some(name))
            .map(|((_, n), _)| n.clone())
            .collect();
        for object_name in names {
            let opts = DeleteOptions {
                propagation: Some(Propagation::Background),
                ..DeleteOptions::default()
            };
            if let Err(err) = delete_locked(store, rt, Some(name), &object_name, &opts) {
                tracing::warn!(namespace = name, object = object_name, %err, "cannot delete namespace content");
            }
        }
    }
    match finish_namespace(store, name) {
        Some(object) => DeleteOutcome {
            object,
            removed: true,
        },
        None => DeleteOutcome {
            object: marked,
            removed: false,
        },
    }
}

/// Removes a terminating namespace once it is empty.
fn finish_namespace(store: &mut Store, name: &str) -> Option<Value> {
    let terminating = store
        .get(&NAMESPACES, "", name)
        .is_some_and(|ns| !ns["metadata"]["deletionTimestamp"].is_null());
    if terminating && store.namespace_is_empty(name) {
        store.remove(&NAMESPACES, "", name)
    } else {
        None
    }
}

fn remove_locked(
    store: &mut Store,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let removed = store.remove(rt, ns, name);
    if rt.namespaced && removed.is_some() {
        finish_namespace(store, ns);
    }
    removed
}

fn patch_error(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!("the server rejected our request due to an error in our request: {err}"),
    )
}

/// The object after a patch, before the update semantics run.
fn apply_patch(rt: &ResourceType, original: &Value, patch: &PatchBody) -> Result<Value, ApiError> {
    let mut doc = original.clone();
    match patch {
        PatchBody::Merge(p) => {
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "the body of the request was not a JSON object",
                ));
            }
            json_patch::merge(&mut doc, p);
        }
        PatchBody::Json(p) => {
            let operations: json_patch::Patch = serde_json::from_value(p.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &operations).map_err(patch_error)?;
        }
        PatchBody::Strategic(p) | PatchBody::Apply(p) => {
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "the body of the request was not a JSON object",
                ));
            }
            doc = hooks::strategic_merge(rt, original, p)?;
        }
    }
    Ok(doc)
}

/// Where the next page of a list starts: after `after`, at `resource_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContinueToken {
    resource_version: u64,
    after: (String, String),
}

impl ContinueToken {
    fn encode(&self) -> String {
        let start = format!("{}/{}", self.after.0, self.after.1);
        BASE64.encode(
            json!({"v": "meta.k8s.io/v1", "rv": self.resource_version, "start": start}).to_string(),
        )
    }

    fn decode(token: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::bad_request("continue key is not valid: the token is malformed");
        let bytes = BASE64.decode(token).map_err(|_| invalid())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let resource_version = value["rv"].as_u64().ok_or_else(invalid)?;
        let start = value["start"].as_str().ok_or_else(invalid)?;
        let (ns, name) = start.split_once('/').ok_or_else(invalid)?;
        Ok(ContinueToken {
            resource_version,
            after: (ns.to_string(), name.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{CONFIG_MAPS, PERSISTENT_VOLUME_CLAIMS};

    fn sts(name: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": name, "labels": {"app": name}},
               "spec": {"replicas": 1, "serviceName": name,
                        "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
    }

    fn opts() -> WriteOptions {
        WriteOptions::default()
    }

    #[test]
    fn a_fresh_cluster_has_namespaces_a_default_class_and_a_node() {
        let cluster = Cluster::new();
        assert!(cluster.get(&NAMESPACES, None, "default").is_ok());
        assert!(cluster.get(&NAMESPACES, None, "kube-system").is_ok());
        let class = cluster.get(&STORAGE_CLASSES, None, "standard").unwrap();
        assert_eq!(class["provisioner"], HOSTPATH_PROVISIONER);
        let node = cluster.get(&NODES, None, NODE_NAME).unwrap();
        assert_eq!(node["status"]["conditions"][0]["status"], "True");
    }

    #[test]
    fn create_stamps_identity_and_versions() {
        let cluster = Cluster::new();
        let created = cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &opts())
            .unwrap();
        assert_eq!(created["metadata"]["generation"], 1);
        assert_eq!(created["metadata"]["namespace"], "default");
        assert!(
            created["metadata"]["uid"]
                .as_str()
                .is_some_and(|u| u.len() == 36)
        );
        assert_eq!(
            created["metadata"]["resourceVersion"],
            cluster.resource_version().to_string()
        );
        let again = cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &opts())
            .unwrap_err();
        assert_eq!(again.reason, "AlreadyExists");
        let missing_ns = cluster
            .create(&STATEFUL_SETS, Some("nope"), sts("web"), &opts())
            .unwrap_err();
        assert_eq!(missing_ns.message, "namespaces \"nope\" not found");
    }

    #[test]
    fn generation_follows_spec_and_status_needs_the_subresource() {
        let cluster = Cluster::new();
        let created = cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &opts())
            .unwrap();
        let mut relabelled = created.clone();
        relabelled["metadata"]["labels"]["x"] = json!("y");
        relabelled["status"]["replicas"] = json!(7);
        let updated = cluster
            .update(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                relabelled,
                Subresource::Main,
                &opts(),
            )
            .unwrap();
        assert_eq!(updated["metadata"]["generation"], 1);
        assert_eq!(
            updated["status"]["replicas"], 0,
            "status ignored on the main resource"
        );
        let patched = cluster
            .patch(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                PatchBody::Merge(json!({"spec": {"replicas": 3}})),
                Subresource::Main,
                &opts(),
            )
            .unwrap();
        assert_eq!(patched["metadata"]["generation"], 2);
        let status = cluster
            .patch(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                PatchBody::Merge(json!({"status": {"replicas": 3}, "spec": {"replicas": 9}})),
                Subresource::Status,
                &opts(),
            )
            .unwrap();
        assert_eq!(status["status"]["replicas"], 3);
        assert_eq!(status["spec"]["replicas"], 3, "spec ignored on /status");
        assert_eq!(status["metadata"]["generation"], 2);
    }

    #[test]
    fn stale_resource_versions_conflict() {
        let cluster = Cluster::new();
        let created = cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &opts())
            .unwrap();
        cluster
            .patch(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                PatchBody::Merge(json!({"spec": {"replicas": 2}})),
                Subresource::Main,
                &opts(),
            )
            .unwrap();
        let err = cluster
            .update(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                created,
                Subresource::Main,
                &opts(),
            )
            .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Operation cannot be fulfilled on statefulsets.apps \"web\": the object has been modified; please apply your changes to the latest version and try again"
        );
    }

    #[test]
    fn no_op_updates_keep_the_resource_version() {
        let cluster = Cluster::new();
        let created = cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &opts())
            .unwrap();
        let same = cluster
            .update(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                created.clone(),
                Subresource::Main,
                &opts(),
            )
            .unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn scale_reads_and_writes_replicas() {
        let cluster = Cluster::new();
        cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &opts())
            .unwrap();
        let scale = cluster
            .get_subresource(&STATEFUL_SETS, Some("default"), "web", Subresource::Scale)
            .unwrap();
        assert_eq!(scale["spec"]["replicas"], 1);
        assert_eq!(scale["status"]["selector"], "app=web");
        let scaled = cluster
            .patch(
                &STATEFUL_SETS,
                Some("default"),
                "web",
                PatchBody::Merge(json!({"spec": {"replicas": 5}})),
                Subresource::Scale,
                &opts(),
            )
            .unwrap();
        assert_eq!(scaled["kind"], "Scale");
        assert_eq!(
            cluster.get(&STATEFUL_SETS, Some("default"), "web").unwrap()["spec"]["replicas"],
            5
        );
    }

    #[test]
    fn scheduled_pods_are_deleted_gracefully_and_finalizers_block_removal() {
        let cluster = Cluster::new();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": NODE_NAME, "terminationGracePeriodSeconds": 10,
                          "containers": [{"name": "c", "image": "x"}]}});
        cluster
            .create(&PODS, Some("default"), pod, &opts())
            .unwrap();
        let outcome = cluster
            .delete_with_outcome(&PODS, Some("default"), "p", &DeleteOptions::default())
            .unwrap();
        assert!(!outcome.removed);
        assert_eq!(outcome.object["metadata"]["deletionGracePeriodSeconds"], 10);
        let forced = DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        assert!(
            cluster
                .delete_with_outcome(&PODS, Some("default"), "p", &forced)
                .unwrap()
                .removed
        );

        let cm = json!({"metadata": {"name": "c", "finalizers": ["example.com/hold"]}});
        cluster
            .create(&CONFIG_MAPS, Some("default"), cm, &opts())
            .unwrap();
        let marked = cluster
            .delete(
                &CONFIG_MAPS,
                Some("default"),
                "c",
                &DeleteOptions::default(),
            )
            .unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        cluster
            .patch(
                &CONFIG_MAPS,
                Some("default"),
                "c",
                PatchBody::Merge(json!({"metadata": {"finalizers": null}})),
                Subresource::Main,
                &opts(),
            )
            .unwrap();
        assert_eq!(
            cluster
                .get(&CONFIG_MAPS, Some("default"), "c")
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn deleting_a_namespace_deletes_its_contents() {
        let cluster = Cluster::new();
        let refused = cluster
            .delete(&NAMESPACES, None, "default", &DeleteOptions::default())
            .unwrap_err();
        assert_eq!(
            refused.message,
            "namespaces \"default\" is forbidden: this namespace may not be deleted"
        );
        cluster
            .create(
                &NAMESPACES,
                None,
                json!({"metadata": {"name": "tmp"}}),
                &opts(),
            )
            .unwrap();
        cluster
            .create(
                &CONFIG_MAPS,
                Some("tmp"),
                json!({"metadata": {"name": "c"}}),
                &opts(),
            )
            .unwrap();
        cluster
            .delete(&NAMESPACES, None, "tmp", &DeleteOptions::default())
            .unwrap();
        assert_eq!(cluster.get(&NAMESPACES, None, "tmp").unwrap_err().code, 404);
        assert_eq!(
            cluster
                .get(&CONFIG_MAPS, Some("tmp"), "c")
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn dry_run_stores_nothing() {
        let cluster = Cluster::new();
        let dry = WriteOptions {
            dry_run: true,
            ..WriteOptions::default()
        };
        let created = cluster
            .create(&STATEFUL_SETS, Some("default"), sts("web"), &dry)
            .unwrap();
        assert_eq!(created["metadata"]["name"], "web");
        assert_eq!(
            cluster
                .get(&STATEFUL_SETS, Some("default"), "web")
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn claims_without_a_class_get_the_default_one() {
        let cluster = Cluster::new();
        let claim = json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                           "resources": {"requests": {"storage": "1Gi"}}}});
        let created = cluster
            .create(&PERSISTENT_VOLUME_CLAIMS, Some("default"), claim, &opts())
            .unwrap();
        assert_eq!(created["spec"]["storageClassName"], DEFAULT_STORAGE_CLASS);
    }

    #[test]
    fn a_shared_list_writes_the_same_body_as_a_copied_one() {
        let cluster = Cluster::new();
        for name in ["a", "b"] {
            cluster
                .create(
                    &CONFIG_MAPS,
                    Some("default"),
                    json!({"metadata": {"name": name}, "data": {"k": "v\"q"}}),
                    &opts(),
                )
                .unwrap();
        }
        let all = ListOptions::default();
        let copied = cluster.list(&CONFIG_MAPS, Some("default"), &all).unwrap();
        let shared = cluster
            .list_shared(&CONFIG_MAPS, Some("default"), &all)
            .unwrap();
        let metadata = json!({"resourceVersion": copied.resource_version.to_string()});
        let expected = json!({
            "kind": CONFIG_MAPS.list_kind(), "apiVersion": CONFIG_MAPS.api_version(),
            "metadata": metadata, "items": copied.items,
        });
        assert_eq!(
            serde_json::to_string(&shared.body(&CONFIG_MAPS, &metadata)).unwrap(),
            expected.to_string()
        );
    }

    #[test]
    fn lists_page_with_continue_tokens() {
        let cluster = Cluster::new();
        for name in ["a", "b", "c"] {
            cluster
                .create(
                    &CONFIG_MAPS,
                    Some("default"),
                    json!({"metadata": {"name": name, "labels": {"k": "v"}}}),
                    &opts(),
                )
                .unwrap();
        }
        let first = cluster
            .list(
                &CONFIG_MAPS,
                Some("default"),
                &ListOptions {
                    limit: Some(2),
                    ..ListOptions::default()
                },
            )
            .unwrap();
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.remaining, Some(1));
        let second = cluster
            .list(
                &CONFIG_MAPS,
                Some("default"),
                &ListOptions {
                    limit: Some(2),
                    continue_token: first.continue_token.clone(),
                    ..ListOptions::default()
                },
            )
            .unwrap();
        assert_eq!(second.items[0]["metadata"]["name"], "c");
        assert_eq!(second.continue_token, None);
        assert_eq!(second.resource_version, first.resource_version);
    }
}

/// The defaulting, validation and strategic-merge modules, in one place so the
/// write paths above read the same whichever of them is present.
mod hooks {
    use serde_json::Value;

    use crate::sandbox::api::error::ApiError;
    use crate::sandbox::api::{defaults, strategic, validation};
    use crate::sandbox::resources::ResourceType;

    pub fn apply_defaults(rt: &ResourceType, obj: &mut Value) {
        defaults::apply_defaults(rt, obj);
    }

    /// Defaults on update, keeping what the server allocated at create.
    pub fn apply_update_defaults(rt: &ResourceType, old: &Value, obj: &mut Value) {
        if (rt.group, rt.kind) == ("", "Service") {
            defaults::carry_over_service_allocations(old, obj);
        }
        defaults::apply_defaults(rt, obj);
    }

    pub fn validate_create(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
        validation::validate_create(rt, obj)
    }

    pub fn validate_update(rt: &ResourceType, old: &Value, new: &Value) -> Result<(), ApiError> {
        validation::validate_update(rt, old, new)
    }

    pub fn strategic_merge(
        rt: &ResourceType,
        original: &Value,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        strategic::strategic_merge(rt, original, patch)
    }
}
