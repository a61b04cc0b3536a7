//! Discovery documents built from the resource table: `/version`, the legacy
//! `/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>` documents, and the aggregated
//! discovery (`apidiscovery.k8s.io/v2`) kubectl 1.37 asks for first.

use serde_json::{Value, json};

use crate::sandbox::resources::{self, ResourceType};

/// The Kubernetes version the sandbox claims to be.
pub const GIT_VERSION: &str = "v1.37.1-sandbox";

/// The Content-Type of an aggregated discovery answer; clients check it to
/// tell aggregated from legacy documents.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "37",
        "emulationMajor": "1",
        "emulationMinor": "37",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "36",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// Go's name for the architecture (`amd64`, `arm64`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Whether an Accept header asks for aggregated discovery (v2).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let part = part.replace(' ', "");
        part.contains("g=apidiscovery.k8s.io")
            && part.contains("v=v2")
            && !part.contains("v=v2beta1")
            && part.contains("as=APIGroupDiscoveryList")
    })
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// Named groups (everything but core), in discovery order.
fn named_groups() -> Vec<(&'static str, &'static str)> {
    resources::group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .collect()
}

pub fn api_group_list() -> Value {
    let groups: Vec<Value> = named_groups()
        .into_iter()
        .map(|(g, v)| api_group(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": group,
           "versions": [gv.clone()], "preferredVersion": gv})
}

/// The one named group with this name, if served.
pub fn served_group(group: &str) -> Option<(&'static str, &'static str)> {
    named_groups().into_iter().find(|(g, _)| *g == group)
}

fn types_in(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceType> {
    resources::ALL
        .iter()
        .copied()
        .filter(move |rt| rt.group == group && rt.version == version)
}

/// A subresource's kind (group, version, kind) and verbs.
fn subresource_meta(
    rt: &ResourceType,
    sub: &str,
) -> (&'static str, &'static str, String, &'static [&'static str]) {
    const READ_WRITE: &[&str] = &["get", "patch", "update"];
    match sub {
        "scale" => ("autoscaling", "v1", "Scale".into(), READ_WRITE),
        "log" => ("", "v1", rt.kind.into(), &["get"]),
        "exec" => ("", "v1", "PodExecOptions".into(), &["create", "get"]),
        "eviction" => ("policy", "v1", "Eviction".into(), &["create"]),
        "token" => (
            "authentication.k8s.io",
            "v1",
            "TokenRequest".into(),
            &["create"],
        ),
        _ => ("", "", rt.kind.into(), READ_WRITE),
    }
}

pub fn api_resource_list(group: &str, version: &str) -> Value {
    let mut entries = Vec::new();
    for rt in types_in(group, version) {
        let mut entry = json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs(),
        });
        if !rt.short_names.is_empty() {
            entry["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            entry["categories"] = json!(rt.categories);
        }
        entries.push(entry);
        for sub in rt.subresources {
            let (sub_group, sub_version, kind, verbs) = subresource_meta(rt, sub);
            let mut entry = json!({
                "name": format!("{}/{sub}", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if !sub_group.is_empty() {
                entry["group"] = json!(sub_group);
            }
            if !sub_version.is_empty() && sub_group != rt.group {
                entry["version"] = json!(sub_version);
            }
            entries.push(entry);
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1",
           "groupVersion": group_version, "resources": entries})
}

fn discovery_resource(rt: &ResourceType) -> Value {
    let subresources: Vec<Value> = rt
        .subresources
        .iter()
        .map(|sub| {
            let (g, v, kind, verbs) = subresource_meta(rt, sub);
            json!({"subresource": sub,
                   "responseKind": {"group": g, "version": v, "kind": kind},
                   "verbs": verbs})
        })
        .collect();
    let mut entry = json!({
        "resource": rt.plural,
        "responseKind": {"group": "", "version": "", "kind": rt.kind},
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": rt.verbs(),
    });
    if !rt.short_names.is_empty() {
        entry["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        entry["categories"] = json!(rt.categories);
    }
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

fn discovery_group(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = types_in(group, version).map(discovery_resource).collect();
    json!({
        "metadata": {"name": group, "creationTimestamp": null},
        "versions": [{"version": version, "resources": resources, "freshness": "Current"}],
    })
}

/// Aggregated discovery for `/api` (core only) or `/apis` (named groups).
pub fn aggregated(core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![discovery_group("", "v1")]
    } else {
        named_groups()
            .into_iter()
            .map(|(g, v)| discovery_group(g, v))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
           "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == name))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn apps_lists_statefulsets_with_their_subresources() {
        let list = api_resource_list("apps", "v1");
        assert_eq!(list["groupVersion"], "apps/v1");
        let sts = entry(&list, "statefulsets");
        assert_eq!(sts["shortNames"][0], "sts");
        assert_eq!(sts["namespaced"], true);
        let scale = entry(&list, "statefulsets/scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(entry(&list, "statefulsets/status")["kind"], "StatefulSet");
    }

    #[test]
    fn core_lists_pod_log_and_exec() {
        let list = api_resource_list("", "v1");
        assert_eq!(entry(&list, "pods/log")["verbs"][0], "get");
        assert_eq!(entry(&list, "pods/exec")["kind"], "PodExecOptions");
        assert_eq!(entry(&list, "namespaces")["namespaced"], false);
    }

    #[test]
    fn aggregated_discovery_is_asked_for_by_accept_header() {
        assert!(wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated("application/json, */*"));
        let apis = aggregated(false);
        let apps = apis["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["metadata"]["name"] == "apps"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            apps["versions"][0]["resources"][0]["resource"],
            "statefulsets"
        );
        assert_eq!(aggregated(true)["items"][0]["metadata"]["name"], "");
    }
}
