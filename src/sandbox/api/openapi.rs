//! A minimal OpenAPI surface: the `/openapi/v3` index and one document per
//! served group/version listing each resource path with its operations, and
//! an `/openapi/v2` document with no definitions.
//!
//! It exists so kubectl's field-validation probe finds the `fieldValidation`
//! query parameter on PATCH for our kinds and sends `fieldValidation=Strict`
//! instead of downloading a v2 schema for client-side validation. Schemas
//! (`components.schemas`) are not served; kubectl then computes apply patches
//! from its compiled-in types, as it does for every built-in kind.

use serde_json::{Map, Value, json};

use super::discovery::GIT_VERSION;
use super::protobuf::bytes_field;
use crate::sandbox::resources::{self, ResourceType};

/// `api/v1` or `apis/apps/v1`: the key of a group/version in the index.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable content hash for the index's cache-busting URLs (FNV-1a 64).
fn content_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016X}")
}

/// The Content-Type kube-openapi answers kubectl's
/// `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` with
/// (the `@` does not parse as a media type, so the answer spells it `.`).
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2` as JSON: the swagger header with no paths or definitions.
pub fn v2_document() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": {},
        "definitions": {},
    })
}

/// The same document in gnostic's OpenAPIv2 protobuf encoding (`Document`:
/// swagger = 1, info = 2 {title = 1, version = 2}, paths = 8,
/// definitions = 9). kubectl reads it to validate the items of a `kind:
/// List` client-side; with no definitions it validates nothing there and
/// leaves the objects to the server, as it does for any kind the schema
/// lacks.
pub fn v2_document_protobuf() -> Vec<u8> {
    let info = [
        bytes_field(1, b"Kubernetes"),
        bytes_field(2, GIT_VERSION.as_bytes()),
    ]
    .concat();
    [
        bytes_field(1, b"2.0"),
        bytes_field(2, &info),
        bytes_field(8, &[]),
        bytes_field(9, &[]),
    ]
    .concat()
}

pub fn index() -> Value {
    let mut paths = Map::new();
    for (group, version) in resources::group_versions() {
        let doc = group_version(group, version)
            .map(|d| d.to_string())
            .unwrap_or_default();
        let path = gv_path(group, version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", content_hash(&doc))}),
        );
    }
    json!({ "paths": paths })
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(rt: &ResourceType, action: &str, gvk: &Value, params: &[&str]) -> Value {
    let parameters: Vec<Value> = params.iter().map(|p| query_param(p)).collect();
    json!({
        "operationId": format!("{action}{}", rt.kind),
        "parameters": parameters,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    })
}

const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "pretty"];
const PATCH_PARAMS: &[&str] = &[
    "dryRun",
    "fieldManager",
    "fieldValidation",
    "force",
    "pretty",
];

/// The document for one group/version, or None when it is not served.
pub fn group_version(group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    let prefix = format!("/{}", gv_path(group, version));
    let mut served = false;
    for rt in resources::ALL
        .iter()
        .copied()
        .filter(|rt| rt.group == group && rt.version == version)
    {
        served = true;
        let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
        let scope = if rt.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", rt.plural)
        } else {
            format!("{prefix}/{}", rt.plural)
        };
        paths.insert(
            scope.clone(),
            json!({
                "get": operation(rt, "list", &gvk, &["labelSelector", "fieldSelector", "limit", "continue", "watch"]),
                "post": operation(rt, "post", &gvk, WRITE_PARAMS),
                "delete": operation(rt, "deletecollection", &gvk, &["dryRun", "labelSelector"]),
            }),
        );
        paths.insert(
            format!("{scope}/{{name}}"),
            json!({
                "get": operation(rt, "get", &gvk, &["pretty"]),
                "put": operation(rt, "put", &gvk, WRITE_PARAMS),
                "patch": operation(rt, "patch", &gvk, PATCH_PARAMS),
                "delete": operation(rt, "delete", &gvk, &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
        for sub in rt
            .subresources
            .iter()
            .filter(|s| matches!(**s, "status" | "scale"))
        {
            let sub_gvk = if *sub == "scale" {
                json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
            } else {
                gvk.clone()
            };
            paths.insert(
                format!("{scope}/{{name}}/{sub}"),
                json!({
                    "get": operation(rt, "get", &sub_gvk, &["pretty"]),
                    "put": operation(rt, "put", &sub_gvk, WRITE_PARAMS),
                    "patch": operation(rt, "patch", &sub_gvk, PATCH_PARAMS),
                }),
            );
        }
    }
    served.then(|| {
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": GIT_VERSION},
            "paths": paths,
            "components": {"schemas": {}},
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_points_at_each_group_version() {
        let index = index();
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(index["paths"]["api/v1"].is_object());
    }

    #[test]
    fn patch_operations_accept_field_validation() {
        let doc = group_version("apps", "v1").unwrap();
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "StatefulSet"
        );
        let params = patch["parameters"].as_array().unwrap();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(group_version("nope", "v1").is_none());
    }
}
