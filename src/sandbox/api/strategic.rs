//! Strategic merge patch (`application/strategic-merge-patch+json`) as the API
//! server applies it to the built-in types we serve
//! (k8s.io/apimachinery/pkg/util/strategicpatch, `StrategicMergeMapPatch`).
//!
//! Maps merge recursively and `null` deletes a key. A list merges element by
//! element only where the Go struct tag says `patchStrategy:"merge"` (by its
//! `patchMergeKey`, or as a set for lists of scalars); every other list is
//! replaced. The directives kubectl sends are honoured: `$patch`
//! (`replace`/`delete` in maps, `replace`/`delete` elements in lists),
//! `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and
//! `$retainKeys`.
//!
//! The struct tags live in [`Shape::field`], transcribed from k8s.io/api
//! (core/v1/types.go, apps/v1/types.go, policy/v1/types.go) and
//! k8s.io/apimachinery (meta/v1 ObjectMeta).

use serde_json::{Map, Value};

use crate::sandbox::api::error::ApiError;
use crate::sandbox::resources::ResourceType;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch to `original` (a whole object) and returns
/// the patched object. Directive keys never reach the result: the API server
/// decodes the result into a typed object, which drops them.
pub fn strategic_merge(
    rt: &ResourceType,
    original: &Value,
    patch: &Value,
) -> Result<Value, ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::bad_request(
            "the body of a strategic merge patch must be a JSON object",
        ));
    };
    let original = match original {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    merge_map(original, patch.clone(), Shape::root(rt)).map(Value::Object)
}

/// A Go struct whose patch metadata we know, or `Opaque` below which no list
/// merges (maps of strings, RawExtension data, structs without merge lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Opaque,
    /// Any object: only `metadata` has patch metadata.
    Object,
    ObjectMeta,
    Pod,
    PodTemplateSpec,
    PodSpec,
    Container,
    PodStatus,
    ContainerStatus,
    StatefulSet,
    StatefulSetSpec,
    StatefulSetStatus,
    Service,
    ServiceSpec,
    ServiceStatus,
    PersistentVolumeClaim,
    PersistentVolumeClaimStatus,
    Node,
    NodeSpec,
    NodeStatus,
    Namespace,
    NamespaceStatus,
    ServiceAccount,
    PodDisruptionBudget,
    PodDisruptionBudgetStatus,
}

/// How a list field patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStrategy {
    Replace,
    /// `patchStrategy:"merge"`; `None` for lists of scalars (merged as a set).
    Merge(Option<&'static str>),
}

#[derive(Debug, Clone, Copy)]
struct FieldMeta {
    list: ListStrategy,
    child: Shape,
}

const fn opaque() -> FieldMeta {
    FieldMeta {
        list: ListStrategy::Replace,
        child: Shape::Opaque,
    }
}

const fn child(shape: Shape) -> FieldMeta {
    FieldMeta {
        list: ListStrategy::Replace,
        child: shape,
    }
}

const fn merge_by(key: &'static str, shape: Shape) -> FieldMeta {
    FieldMeta {
        list: ListStrategy::Merge(Some(key)),
        child: shape,
    }
}

const fn merge_set() -> FieldMeta {
    FieldMeta {
        list: ListStrategy::Merge(None),
        child: Shape::Opaque,
    }
}

impl Shape {
    fn root(rt: &ResourceType) -> Shape {
        match (rt.group, rt.kind) {
            ("", "Pod") => Shape::Pod,
            ("", "Service") => Shape::Service,
            ("", "PersistentVolumeClaim") => Shape::PersistentVolumeClaim,
            ("", "Node") => Shape::Node,
            ("", "Namespace") => Shape::Namespace,
            ("", "ServiceAccount") => Shape::ServiceAccount,
            ("apps", "StatefulSet") => Shape::StatefulSet,
            ("policy", "PodDisruptionBudget") => Shape::PodDisruptionBudget,
            _ => Shape::Object,
        }
    }

    /// The patch metadata of field `name` of this struct (its
    /// `patchStrategy`/`patchMergeKey` tags and the struct below it).
    fn field(self, name: &str) -> FieldMeta {
        use Shape::*;
        match (self, name) {
            (Opaque, _) => opaque(),
            (_, "metadata") if self.is_object() => child(ObjectMeta),
            (ObjectMeta, "finalizers") => merge_set(),
            (ObjectMeta, "ownerReferences") => merge_by("uid", Opaque),

            (Pod, "spec") => child(PodSpec),
            (Pod, "status") => child(PodStatus),
            (PodTemplateSpec, "metadata") => child(ObjectMeta),
            (PodTemplateSpec, "spec") => child(PodSpec),
            // `volumes` and `resourceClaims` are `merge,retainKeys`; `$retainKeys`
            // is honoured in any map, so the `retainKeys` part needs no entry.
            (PodSpec, "volumes") => merge_by("name", Opaque),
            (PodSpec, "initContainers" | "containers" | "ephemeralContainers") => {
                merge_by("name", Container)
            }
            (PodSpec, "imagePullSecrets" | "schedulingGates" | "resourceClaims") => {
                merge_by("name", Opaque)
            }
            (PodSpec, "evictionResponders") => merge_by("name", Opaque),
            (PodSpec, "hostAliases") => merge_by("ip", Opaque),
            // listType=map with keys topologyKey+whenUnsatisfiable, but the
            // strategic patch merges on topologyKey alone.
            (PodSpec, "topologySpreadConstraints") => merge_by("topologyKey", Opaque),
            (Container, "ports") => merge_by("containerPort", Opaque),
            (Container, "env") => merge_by("name", Opaque),
            (Container, "volumeMounts") => merge_by("mountPath", Opaque),
            (Container, "volumeDevices") => merge_by("devicePath", Opaque),
            (PodStatus, "conditions") => merge_by("type", Opaque),
            (PodStatus, "hostIPs" | "podIPs") => merge_by("ip", Opaque),
            (PodStatus, "resourceClaimStatuses") => merge_by("name", Opaque),
            (PodStatus, "nodeAllocatableResourceClaimStatuses") => {
                merge_by("resourceClaimName", Opaque)
            }
            (
                PodStatus,
                "containerStatuses" | "initContainerStatuses" | "ephemeralContainerStatuses",
            ) => child(ContainerStatus),
            (ContainerStatus, "volumeMounts") => merge_by("mountPath", Opaque),
            (ContainerStatus, "allocatedResourcesStatus") => merge_by("name", Opaque),

            (StatefulSet, "spec") => child(StatefulSetSpec),
            (StatefulSet, "status") => child(StatefulSetStatus),
            // volumeClaimTemplates carries no patch tags: it is replaced whole.
            (StatefulSetSpec, "template") => child(PodTemplateSpec),
            (StatefulSetStatus, "conditions") => merge_by("type", Opaque),

            (Service, "spec") => child(ServiceSpec),
            (Service, "status") => child(ServiceStatus),
            (ServiceSpec, "ports") => merge_by("port", Opaque),
            (ServiceStatus, "conditions") => merge_by("type", Opaque),

            (PersistentVolumeClaim, "status") => child(PersistentVolumeClaimStatus),
            (PersistentVolumeClaimStatus, "conditions") => merge_by("type", Opaque),

            (Node, "spec") => child(NodeSpec),
            (Node, "status") => child(NodeStatus),
            (NodeSpec, "podCIDRs") => merge_set(),
            (NodeStatus, "conditions" | "addresses") => merge_by("type", Opaque),

            (Namespace, "status") => child(NamespaceStatus),
            (NamespaceStatus, "conditions") => merge_by("type", Opaque),

            (ServiceAccount, "secrets") => merge_by("name", Opaque),

            (PodDisruptionBudget, "status") => child(PodDisruptionBudgetStatus),
            (PodDisruptionBudgetStatus, "conditions") => merge_by("type", Opaque),

            _ => opaque(),
        }
    }

    /// Top-level object shapes: their `metadata` is an ObjectMeta.
    fn is_object(self) -> bool {
        matches!(
            self,
            Shape::Object
                | Shape::Pod
                | Shape::StatefulSet
                | Shape::Service
                | Shape::PersistentVolumeClaim
                | Shape::Node
                | Shape::Namespace
                | Shape::ServiceAccount
                | Shape::PodDisruptionBudget
        )
    }
}

/// `mergeMap`: merges `patch` into `original` following `shape`'s tags.
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    shape: Shape,
) -> Result<Map<String, Value>, ApiError> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        return match directive.as_str() {
            // The patch replaces the map as it stands.
            Some("replace") => Ok(strip_directives_map(patch)),
            Some("delete") => Ok(Map::new()),
            _ => Err(ApiError::bad_request(format!(
                "unknown patch type: {directive} in map: {}",
                Value::Object(patch)
            ))),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    apply_element_orders(&mut original, &mut patch, shape)?;

    for (key, patch_value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            delete_from_primitive_list(&mut original, field, &patch_value)?;
            continue;
        }
        if key.starts_with('$') {
            // Unknown directives would be dropped by the typed decode.
            continue;
        }
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let meta = shape.field(&key);
        let merged = match original.remove(&key) {
            Some(Value::Object(existing)) => match patch_value {
                Value::Object(patch_map) => {
                    Value::Object(merge_map(existing, patch_map, meta.child)?)
                }
                other => strip_directives(other),
            },
            Some(Value::Array(existing)) => match patch_value {
                Value::Array(patch_list) => merge_list_field(existing, patch_list, meta)?,
                other => strip_directives(other),
            },
            // Absent (or scalar) in the original: merging into nothing drops
            // nulls and directives from the patch value, as upstream does.
            _ => match patch_value {
                Value::Object(patch_map) => {
                    Value::Object(merge_map(Map::new(), patch_map, meta.child)?)
                }
                Value::Array(patch_list) => merge_list_field(Vec::new(), patch_list, meta)?,
                other => other,
            },
        };
        original.insert(key, merged);
    }
    Ok(original)
}

/// `mergeSliceHandler`: merge lists merge, every other list is replaced.
fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta,
) -> Result<Value, ApiError> {
    match meta.list {
        ListStrategy::Merge(key) => merge_list(original, patch, key, meta.child).map(Value::Array),
        ListStrategy::Replace => Ok(strip_directives(Value::Array(patch))),
    }
}

/// `mergeSlice`: merges a `patchStrategy:"merge"` list, then orders it: the
/// patch's items in patch order, the server-only items kept where they were.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: Option<&'static str>,
    child: Shape,
) -> Result<Vec<Value>, ApiError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let of_maps = original.iter().chain(&patch).any(Value::is_object);
    if !of_maps {
        let server_order = original.clone();
        let mut merged = original;
        for item in &patch {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        let (patch_items, server_only) = partition_by_presence(merged, &patch, None);
        return Ok(normalize_element_order(
            patch_items,
            server_only,
            &patch,
            &server_order,
            None,
        ));
    }
    let Some(key) = merge_key else {
        return Ok(patch.into_iter().map(strip_directives).collect());
    };
    let server_order = original.clone();
    let (mut merged, patch) = apply_special_elements(original, patch, key)?;
    let replaced = patch.is_none();
    let patch = patch.unwrap_or_default();
    for item in &patch {
        let Value::Object(item_map) = item else {
            return Err(no_merge_key(item, key));
        };
        let Some(key_value) = item_map.get(key) else {
            return Err(no_merge_key(item, key));
        };
        let position = merged
            .iter()
            .position(|existing| existing.get(key) == Some(key_value));
        match position {
            Some(index) => {
                let existing = match std::mem::take(&mut merged[index]) {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                merged[index] = Value::Object(merge_map(existing, item_map.clone(), child)?);
            }
            None => merged.push(Value::Object(merge_map(
                Map::new(),
                item_map.clone(),
                child,
            )?)),
        }
    }
    if replaced {
        return Ok(merged);
    }
    let (patch_items, server_only) = partition_by_presence(merged, &patch, Some(key));
    Ok(normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &server_order,
        Some(key),
    ))
}

/// `mergeSliceWithSpecialElements`: `{"$patch": "delete", key: v}` removes the
/// element, `{"$patch": "replace"}` makes the rest of the patch the whole list
/// (then the returned patch is `None` and the returned list is the new list).
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Option<Vec<Value>>), ApiError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(key_value) = item.get(key) else {
                    return Err(no_merge_key(&item, key));
                };
                original.retain(|existing| existing.get(key) != Some(key_value));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(ApiError::bad_request(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown patch type: {directive} in map: {item}"
                )));
            }
        }
    }
    if replace {
        let mut list = Vec::with_capacity(plain.len());
        for item in plain {
            let map = match item {
                Value::Object(map) => map,
                other => return Err(no_merge_key(&other, key)),
            };
            list.push(Value::Object(merge_map(Map::new(), map, Shape::Opaque)?));
        }
        return Ok((list, None));
    }
    Ok((original, Some(plain)))
}

/// `applyRetainKeysDirective`: keys of the original not listed go away.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(ApiError::bad_request(
            "invalid patch: the $retainKeys directive must be a list of strings",
        ));
    };
    let mut keep = Vec::with_capacity(retain.len());
    for key in &retain {
        match key.as_str() {
            Some(key) => keep.push(key),
            None => {
                return Err(ApiError::bad_request(
                    "invalid patch: the $retainKeys directive must be a list of strings",
                ));
            }
        }
    }
    original.retain(|key, _| keep.contains(&key.as_str()));
    Ok(())
}

/// `mergePatchIntoOriginal`: each `$setElementOrder/<field>` merges the
/// field's patch list and orders the result: listed items in the listed
/// order, server-only items interleaved where they stood.
fn apply_element_orders(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    shape: Shape,
) -> Result<(), ApiError> {
    let order_keys: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for order_key in order_keys {
        let field = order_key[SET_ELEMENT_ORDER.len()..].to_string();
        let order = match patch.remove(&order_key) {
            Some(Value::Array(order)) => order,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid patch: the $setElementOrder directive must be a list",
                ));
            }
        };
        let patch_list = match patch.remove(&field) {
            Some(Value::Array(list)) => Some(list),
            Some(Value::Null) | None => None,
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid patch: {field} must be a list to go with its $setElementOrder directive"
                )));
            }
        };
        let original_list = match original.remove(&field) {
            Some(Value::Array(list)) => Some(list),
            Some(other) => {
                original.insert(field.clone(), other);
                None
            }
            None => None,
        };
        let meta = shape.field(&field);
        let merge_key = match meta.list {
            ListStrategy::Merge(key) => key,
            ListStrategy::Replace => None,
        };
        let server_order = original_list.clone().unwrap_or_default();
        let merged = match (original_list, patch_list) {
            (None, None) => continue,
            (None, Some(patch_list)) => match merge_list_field(Vec::new(), patch_list, meta)? {
                Value::Array(list) => list,
                _ => Vec::new(),
            },
            (Some(original_list), None) => original_list,
            (Some(original_list), Some(patch_list)) => {
                match merge_list_field(original_list, patch_list, meta)? {
                    Value::Array(list) => list,
                    _ => Vec::new(),
                }
            }
        };
        let (listed, server_only) = partition_by_presence(merged, &order, merge_key);
        let ordered =
            normalize_element_order(listed, server_only, &order, &server_order, merge_key);
        original.insert(field, Value::Array(ordered));
    }
    Ok(())
}

/// `$deleteFromPrimitiveList/<field>: [values]` removes those values.
fn delete_from_primitive_list(
    original: &mut Map<String, Value>,
    field: &str,
    values: &Value,
) -> Result<(), ApiError> {
    let Value::Array(values) = values else {
        return Err(ApiError::bad_request(
            "invalid patch: the $deleteFromPrimitiveList directive must be a list",
        ));
    };
    if let Some(Value::Array(list)) = original.get_mut(field) {
        list.retain(|item| !values.contains(item));
    }
    Ok(())
}

/// The identity an element is ordered by: its merge key's value, or itself.
fn identity<'a>(item: &'a Value, merge_key: Option<&str>) -> Option<&'a Value> {
    match merge_key {
        Some(key) => item.get(key),
        None => Some(item),
    }
}

fn position_in(list: &[Value], item: &Value, merge_key: Option<&str>) -> Option<usize> {
    let id = identity(item, merge_key)?;
    list.iter()
        .position(|candidate| identity(candidate, merge_key) == Some(id))
}

/// Splits `merged` into the items present in `list` and the others.
fn partition_by_presence(
    merged: Vec<Value>,
    list: &[Value],
    merge_key: Option<&str>,
) -> (Vec<Value>, Vec<Value>) {
    merged
        .into_iter()
        .partition(|item| position_in(list, item, merge_key).is_some())
}

/// `normalizeElementOrder`: sorts the patch items by `patch_order` and the
/// server-only items by `server_order`, then interleaves them
/// (`mergeSortedSlice`): a server-only item goes before a patch item only when
/// both appear in the server order and it came first there.
fn normalize_element_order(
    mut patch_items: Vec<Value>,
    mut server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: Option<&str>,
) -> Vec<Value> {
    patch_items.sort_by_key(|item| position_in(patch_order, item, merge_key).unwrap_or(usize::MAX));
    server_only
        .sort_by_key(|item| position_in(server_order, item, merge_key).unwrap_or(usize::MAX));
    let mut result = Vec::with_capacity(patch_items.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => match (
                position_in(server_order, l, merge_key),
                position_in(server_order, r, merge_key),
            ) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            },
        };
        let next = if take_left { left.next() } else { right.next() };
        result.extend(next);
    }
    result
}

fn no_merge_key(item: &Value, key: &str) -> ApiError {
    ApiError::bad_request(format!(
        "map: {item} does not contain declared merge key: {key}"
    ))
}

/// Drops `$` directives and nulls from a value taken over from the patch as it
/// stands, as the typed decode of the result would.
fn strip_directives(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip_directives_map(map)),
        Value::Array(list) => Value::Array(
            list.into_iter()
                .filter(|item| !is_directive_only(item))
                .map(strip_directives)
                .collect(),
        ),
        other => other,
    }
}

fn strip_directives_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter(|(key, value)| !key.starts_with('$') && !value.is_null())
        .map(|(key, value)| (key, strip_directives(value)))
        .collect()
}

fn is_directive_only(item: &Value) -> bool {
    item.as_object()
        .is_some_and(|map| !map.is_empty() && map.keys().all(|key| key.starts_with('$')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::defaults::scenarios;
    use crate::sandbox::resources::{CONFIG_MAPS, NAMESPACES, PODS, SERVICES, STATEFUL_SETS};
    use serde_json::json;

    /// The StatefulSet of /work/shared/scenarios/web.yaml, as stored after defaulting.
    fn web() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "labels": {"app": "nginx"},
                "finalizers": ["a", "b"],
            },
            "spec": {
                "replicas": 3,
                "serviceName": "headless-svc",
                "selector": {"matchLabels": {"app": "nginx"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "containers": [{
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "name": "web", "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}],
                        }],
                        "volumes": [{"name": "scratch", "emptyDir": {}}],
                    }
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "www"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }],
            }
        })
    }

    fn patched(original: &Value, patch: Value) -> Value {
        strategic_merge(&STATEFUL_SETS, original, &patch).expect("patch applies")
    }

    #[test]
    fn kubectl_set_image_changes_only_the_named_container() {
        let mut original = web();
        original["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "busybox"}));
        let result = patched(
            &original,
            json!({"spec":{"template":{"spec":{"containers":[{"image":"nginx:1.27","name":"nginx"}]}}}}),
        );
        let containers = &result["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 2);
        assert_eq!(containers[0]["name"], "nginx");
        assert_eq!(containers[0]["image"], "nginx:1.27");
        // The rest of the container is untouched.
        assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
        assert_eq!(containers[1]["image"], "busybox");
    }

    #[test]
    fn kubectl_patch_partition_merges_into_the_update_strategy() {
        let result = patched(
            &web(),
            json!({"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}),
        );
        assert_eq!(
            result["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2, "maxUnavailable": 1}})
        );
    }

    #[test]
    fn kubectl_apply_three_way_patch_with_element_order_and_deletions() {
        // What `kubectl apply` sends after the user changed the image, added
        // env C before A, dropped env B and dropped the volume mount.
        let patch = json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "nginx"}],
                "containers": [{
                    "name": "nginx",
                    "image": "nginx:1.27",
                    "$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
                    "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
                    "volumeMounts": [{"$patch": "delete", "mountPath": "/usr/share/nginx/html"}],
                }],
            }}}
        });
        let result = patched(&web(), patch);
        let container = &result["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], "nginx:1.27");
        assert_eq!(
            container["env"],
            json!([{"name": "C", "value": "3"}, {"name": "A", "value": "1"}])
        );
        assert_eq!(container["volumeMounts"], json!([]));
        assert_eq!(
            result["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
            "{}"
        );
        assert!(
            !result.to_string().contains('$'),
            "no directive leaks: {result}"
        );
    }

    fn container_names(sts: &Value) -> Vec<String> {
        sts["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn set_element_order_reorders_without_dropping_server_only_items() {
        let reorder = json!({"spec":{"template":{"spec":{
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        }}}});
        let mut original = web();
        original["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "a", "image": "a"},
            {"name": "b", "image": "b"},
            {"name": "injected", "image": "i"},
        ]);
        let result = patched(&original, reorder.clone());
        assert_eq!(container_names(&result), ["b", "a", "injected"]);
        // mergeSortedSlice: a server-only item goes before the first listed
        // item it preceded in the live list.
        original["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "a", "image": "a"},
            {"name": "injected", "image": "i"},
            {"name": "b", "image": "b"},
        ]);
        let result = patched(&original, reorder);
        assert_eq!(container_names(&result), ["injected", "b", "a"]);
    }

    #[test]
    fn retain_keys_switches_a_volume_source() {
        // kubectl apply after changing volume "scratch" from emptyDir to hostPath.
        let patch = json!({"spec":{"template":{"spec":{
            "$setElementOrder/volumes": [{"name": "scratch"}],
            "volumes": [{"$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/tmp"}, "name": "scratch"}],
        }}}});
        let result = patched(&web(), patch);
        assert_eq!(
            result["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "scratch", "hostPath": {"path": "/tmp"}}])
        );
    }

    #[test]
    fn rollout_undo_replaces_the_whole_template() {
        let patch = json!({"spec":{"template":{
            "$patch": "replace",
            "metadata": {"creationTimestamp": null, "labels": {"app": "nginx", "rev": "1"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]},
        }}});
        let result = patched(&web(), patch);
        assert_eq!(
            result["spec"]["template"],
            json!({
                "metadata": {"labels": {"app": "nginx", "rev": "1"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]},
            })
        );
        // Outside the template nothing changed.
        assert_eq!(result["spec"]["replicas"], 3);
    }

    #[test]
    fn label_and_annotate_patches_merge_maps_and_null_deletes() {
        let result = patched(
            &web(),
            json!({"metadata":{"labels":{"tier":"frontend","app":null},"annotations":{"note":"x"}}}),
        );
        assert_eq!(result["metadata"]["labels"], json!({"tier": "frontend"}));
        assert_eq!(result["metadata"]["annotations"], json!({"note": "x"}));
        let result = patched(&web(), json!({"spec": {"serviceName": null}}));
        assert!(result["spec"].get("serviceName").is_none());
    }

    #[test]
    fn volume_claim_templates_and_plain_lists_are_replaced() {
        let result = patched(
            &web(),
            json!({"spec":{"volumeClaimTemplates":[{"metadata":{"name":"data"}}]}}),
        );
        assert_eq!(
            result["spec"]["volumeClaimTemplates"],
            json!([{"metadata": {"name": "data"}}])
        );
        let original = json!({"spec": {"containers": [{"name": "c", "args": ["a", "b"]}]}});
        let result = strategic_merge(
            &PODS,
            &original,
            &json!({"spec": {"containers": [{"name": "c", "args": ["z"]}]}}),
        )
        .unwrap();
        assert_eq!(result["spec"]["containers"][0]["args"], json!(["z"]));
    }

    #[test]
    fn finalizers_merge_as_a_set_and_delete_from_primitive_list() {
        let result = patched(&web(), json!({"metadata": {"finalizers": ["b", "c"]}}));
        assert_eq!(result["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let result = patched(
            &web(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(result["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn owner_references_merge_by_uid() {
        let original = json!({"metadata": {"ownerReferences": [
            {"uid": "1", "name": "web", "kind": "StatefulSet"},
        ]}});
        let result = strategic_merge(
            &PODS,
            &original,
            &json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "other", "kind": "StatefulSet"}]}}),
        )
        .unwrap();
        assert_eq!(
            result["metadata"]["ownerReferences"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn list_replace_directive_and_map_delete_directive() {
        let result = patched(
            &web(),
            json!({"spec":{"template":{"spec":{"containers":[
                {"$patch": "replace"},
                {"name": "only", "image": "x"},
            ]}}}}),
        );
        assert_eq!(
            result["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "x"}])
        );
        let result = patched(
            &web(),
            json!({"spec": {"updateStrategy": {"$patch": "delete"}}}),
        );
        assert_eq!(result["spec"]["updateStrategy"], json!({}));
    }

    #[test]
    fn service_ports_merge_by_port_and_pod_conditions_by_type() {
        let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 80}, {"port": 443}]}});
        let result = strategic_merge(
            &SERVICES,
            &svc,
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
        )
        .unwrap();
        assert_eq!(
            result["spec"]["ports"],
            json!([{"port": 80, "targetPort": 8080}, {"port": 443}])
        );
        let pod = json!({"status": {"conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "PodScheduled", "status": "True"},
        ]}});
        let result = strategic_merge(
            &PODS,
            &pod,
            &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        )
        .unwrap();
        assert_eq!(
            result["status"]["conditions"],
            json!([{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}])
        );
    }

    #[test]
    fn a_merge_list_element_without_its_key_is_a_bad_request() {
        let err = strategic_merge(
            &STATEFUL_SETS,
            &web(),
            &json!({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}),
        )
        .unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message
                .contains("does not contain declared merge key: name")
        );
    }

    #[test]
    fn new_subtrees_lose_directives_and_nulls() {
        let result = strategic_merge(
            &CONFIG_MAPS,
            &json!({"metadata": {"name": "c"}}),
            &json!({"data": {"a": "1", "b": null}}),
        )
        .unwrap();
        assert_eq!(result["data"], json!({"a": "1"}));
        let result = strategic_merge(
            &NAMESPACES,
            &json!({"metadata": {"name": "n"}}),
            &json!({"metadata": {"$setElementOrder/finalizers": ["x"], "finalizers": ["x"]}}),
        )
        .unwrap();
        assert_eq!(
            result["metadata"],
            json!({"name": "n", "finalizers": ["x"]})
        );
    }

    #[test]
    fn applies_to_the_scenario_manifests() {
        let sts = scenarios::object(scenarios::WEB, "StatefulSet");
        let result = patched(
            &sts,
            json!({"spec":{"template":{"spec":{"containers":[{"image":"nginx:1.27","name":"nginx"}]}}}}),
        );
        assert_eq!(
            result["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.27"
        );
        assert_eq!(
            result["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"],
            "www"
        );
    }
}
