//! The bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy):
//! the ClusterRoles and ClusterRoleBindings an API server creates at start.

use serde_json::{Value, json};

use super::{
    ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ClusterRoleRules, PolicyRule, SYSTEM_MASTERS, name_of,
};
use crate::sandbox::api::cluster::{Cluster, WriteOptions};
use crate::sandbox::resources::{CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES};

/// (apiGroups, resources, verbs) rows of a bootstrap role.
type RuleRow = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE: &[&str] = crate::sandbox::resources::STORED_VERBS;

const AGGREGATE_TO_ADMIN: &[RuleRow] = &[
    (
        &["authorization.k8s.io"],
        &["localsubjectaccessreviews"],
        &["create"],
    ),
    (
        &["rbac.authorization.k8s.io"],
        &["rolebindings", "roles"],
        READ_WRITE,
    ),
];

const AGGREGATE_TO_EDIT: &[RuleRow] = &[
    (
        &[""],
        &[
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "secrets",
            "services/proxy",
        ],
        READ,
    ),
    (&[""], &["serviceaccounts"], &["impersonate"]),
    (
        &[""],
        &[
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
        ],
        WRITE,
    ),
    (&[""], &["pods/eviction"], &["create"]),
    (
        &[""],
        &[
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
        WRITE,
    ),
    (&[""], &["serviceaccounts/token"], &["create"]),
    (
        &["apps"],
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
        WRITE,
    ),
    (&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
    (&["batch"], &["cronjobs", "jobs"], WRITE),
    (&["policy"], &["poddisruptionbudgets"], WRITE),
    (
        &["networking.k8s.io"],
        &["ingresses", "networkpolicies"],
        WRITE,
    ),
    (&["coordination.k8s.io"], &["leases"], READ_WRITE),
];

const AGGREGATE_TO_VIEW: &[RuleRow] = &[
    (
        &[""],
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
        READ,
    ),
    (
        &[""],
        &[
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
        READ,
    ),
    (&[""], &["namespaces"], READ),
    (&["discovery.k8s.io"], &["endpointslices"], READ),
    (
        &["apps"],
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
        READ,
    ),
    (
        &["autoscaling"],
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
        READ,
    ),
    (
        &["batch"],
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        READ,
    ),
    (
        &["policy"],
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        READ,
    ),
    (
        &["networking.k8s.io"],
        &["ingresses", "ingresses/status", "networkpolicies"],
        READ,
    ),
];

const BASIC_USER: &[RuleRow] = &[
    (
        &["authorization.k8s.io"],
        &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        &["create"],
    ),
    (
        &["authentication.k8s.io"],
        &["selfsubjectreviews"],
        &["create"],
    ),
];

const DISCOVERY_URLS: &[&str] = &[
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
];
const PUBLIC_INFO_URLS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

fn rows(rows: &[RuleRow]) -> Vec<Value> {
    rows.iter()
        .map(|(groups, resources, verbs)| {
            json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
        })
        .collect()
}

fn bootstrap_metadata(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    all.insert("kubernetes.io/bootstrapping".into(), json!("rbac-defaults"));
    for (k, v) in labels {
        all.insert((*k).into(), json!(v));
    }
    json!({"name": name, "labels": all,
           "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}})
}

fn aggregated_role(name: &str, labels: &[(&str, &str)], selects: &str) -> Value {
    json!({
        "metadata": bootstrap_metadata(name, labels),
        "aggregationRule": {"clusterRoleSelectors": [
            {"matchLabels": {format!("rbac.authorization.k8s.io/aggregate-to-{selects}"): "true"}}]},
        "rules": [],
    })
}

/// The bootstrap ClusterRoles, aggregated roles filled in as the controller would.
pub fn bootstrap_cluster_roles() -> Vec<Value> {
    let mut roles = vec![
        json!({"metadata": bootstrap_metadata("cluster-admin", &[]), "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
        aggregated_role("admin", &[], "admin"),
        aggregated_role(
            "edit",
            &[("rbac.authorization.k8s.io/aggregate-to-admin", "true")],
            "edit",
        ),
        aggregated_role(
            "view",
            &[("rbac.authorization.k8s.io/aggregate-to-edit", "true")],
            "view",
        ),
        json!({"metadata": bootstrap_metadata("system:aggregate-to-admin",
                   &[("rbac.authorization.k8s.io/aggregate-to-admin", "true")]),
               "rules": rows(AGGREGATE_TO_ADMIN)}),
        json!({"metadata": bootstrap_metadata("system:aggregate-to-edit",
                   &[("rbac.authorization.k8s.io/aggregate-to-edit", "true")]),
               "rules": rows(AGGREGATE_TO_EDIT)}),
        json!({"metadata": bootstrap_metadata("system:aggregate-to-view",
                   &[("rbac.authorization.k8s.io/aggregate-to-view", "true")]),
               "rules": rows(AGGREGATE_TO_VIEW)}),
        json!({"metadata": bootstrap_metadata("system:basic-user", &[]),
               "rules": rows(BASIC_USER)}),
        json!({"metadata": bootstrap_metadata("system:discovery", &[]),
               "rules": [{"nonResourceURLs": DISCOVERY_URLS, "verbs": ["get"]}]}),
        json!({"metadata": bootstrap_metadata("system:public-info-viewer", &[]),
               "rules": [{"nonResourceURLs": PUBLIC_INFO_URLS, "verbs": ["get"]}]}),
    ];
    let snapshot = roles.clone();
    let mut resolver = ClusterRoleRules::new(&snapshot);
    let filled: Vec<Option<Vec<Value>>> = roles
        .iter()
        .map(|role| {
            role["aggregationRule"].is_object().then(|| {
                resolver
                    .get(name_of(role))
                    .map(|rules| rules.iter().map(PolicyRule::to_value).collect())
                    .unwrap_or_default()
            })
        })
        .collect();
    for (role, rules) in roles.iter_mut().zip(filled) {
        if let Some(rules) = rules {
            role["rules"] = Value::Array(rules);
        }
    }
    roles
}

/// The bootstrap ClusterRoleBindings.
pub fn bootstrap_cluster_role_bindings() -> Vec<Value> {
    let binding = |name: &str, groups: &[&str]| {
        let subjects: Vec<Value> = groups
            .iter()
            .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
            .collect();
        json!({"metadata": bootstrap_metadata(name, &[]),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
               "subjects": subjects})
    };
    vec![
        binding("cluster-admin", &[SYSTEM_MASTERS]),
        binding("system:basic-user", &[ALL_AUTHENTICATED]),
        binding("system:discovery", &[ALL_AUTHENTICATED]),
        binding(
            "system:public-info-viewer",
            &[ALL_AUTHENTICATED, ALL_UNAUTHENTICATED],
        ),
    ]
}

/// Creates the bootstrap policy objects that are missing (the API server's
/// RBAC post-start hook); objects a user changed are left as they are.
pub fn ensure_bootstrap_policy(cluster: &Cluster) {
    let opts = WriteOptions::default();
    for (rt, objects) in [
        (&CLUSTER_ROLES, bootstrap_cluster_roles()),
        (&CLUSTER_ROLE_BINDINGS, bootstrap_cluster_role_bindings()),
    ] {
        for object in objects {
            let name = name_of(&object).to_string();
            if cluster.get(rt, None, &name).is_ok() {
                continue;
            }
            if let Err(err) = cluster.create(rt, None, object, &opts) {
                tracing::warn!(%name, %err, "cannot create a bootstrap RBAC object");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::rbac::test_user as user;
    use crate::sandbox::api::rbac::{Attributes, Authorizer, rules_of};

    fn attrs(method: &str, path: &str) -> Attributes {
        Attributes::from_request(method, path, false, None)
    }

    #[test]
    fn bootstrap_policy_lets_everyone_discover_and_review() {
        let cluster = Cluster::new();
        ensure_bootstrap_policy(&cluster);
        let authorizer = Authorizer::new(cluster);
        let jane = user("jane", &[ALL_AUTHENTICATED]);
        for (method, path) in [
            ("GET", "/api"),
            ("GET", "/apis/apps/v1"),
            ("GET", "/version"),
            ("GET", "/openapi/v3/apis/apps/v1"),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            ),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            ),
            ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews"),
        ] {
            assert!(
                authorizer.authorize(&jane, &attrs(method, path)).allowed,
                "{method} {path}"
            );
        }
        assert!(
            !authorizer
                .authorize(&jane, &attrs("GET", "/api/v1/pods"))
                .allowed
        );
        // view is aggregated from system:aggregate-to-view.
        let view = bootstrap_cluster_roles()
            .into_iter()
            .find(|r| r["metadata"]["name"] == "view")
            .unwrap();
        assert!(
            rules_of(&view)
                .iter()
                .any(|r| r.resources.contains(&"statefulsets".to_string()))
        );
        let edit = bootstrap_cluster_roles()
            .into_iter()
            .find(|r| r["metadata"]["name"] == "edit")
            .unwrap();
        assert!(
            rules_of(&edit)
                .iter()
                .any(|r| r.resources.contains(&"pods/exec".to_string())
                    && r.verbs.contains(&"create".to_string()))
        );
        assert!(
            rules_of(&edit)
                .iter()
                .any(|r| r.resources.contains(&"statefulsets".to_string())
                    && r.verbs.contains(&"list".to_string()))
        );
    }
}
