//! The resource types the sandbox serves, as an API server's registry knows them:
//! group, version, kind, plural and short names, scope and subresources.
//!
//! Discovery, routing, Table printing and the controllers' typed access all look
//! resources up here, so a type is added in exactly one place.

/// One served resource type (for example `statefulsets.apps/v1`).
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core (legacy `/api/v1`) group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Lower-case plural, the URL path segment (`statefulsets`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    /// Subresources served under `<plural>/<name>/<sub>`.
    pub subresources: &'static [&'static str],
    /// Discovery categories (`all` makes `kubectl get all` include it).
    pub categories: &'static [&'static str],
    /// Whether writes to the main resource ignore `.status` (status only
    /// changes through the `/status` subresource, as upstream).
    pub has_status_subresource: bool,
}

/// Every verb a stored resource serves, in discovery's order.
pub const STORED_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `statefulsets.apps`, or `pods` for the core group: the qualified
    /// resource name used in Status messages (`statefulsets.apps "web" not found`).
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The verbs discovery advertises.
    pub fn verbs(&self) -> &'static [&'static str] {
        if matches!(self.group, "authorization.k8s.io" | "authentication.k8s.io") {
            // Reviews are answered, never stored (see api/rbac.rs).
            return &["create"];
        }
        STORED_VERBS
    }
}

macro_rules! resource {
    ($name:ident, $group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr,
     short: [$($short:expr),*], namespaced: $ns:expr, sub: [$($sub:expr),*],
     categories: [$($cat:expr),*], status: $status:expr) => {
        pub static $name: ResourceType = ResourceType {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            short_names: &[$($short),*],
            namespaced: $ns,
            subresources: &[$($sub),*],
            categories: &[$($cat),*],
            has_status_subresource: $status,
        };
    };
}

resource!(NAMESPACES, "", "v1", "Namespace", "namespaces", "namespace",
    short: ["ns"], namespaced: false, sub: ["status"], categories: [], status: true);
resource!(NODES, "", "v1", "Node", "nodes", "node",
    short: ["no"], namespaced: false, sub: ["status"], categories: [], status: true);
resource!(PODS, "", "v1", "Pod", "pods", "pod",
    short: ["po"], namespaced: true, sub: ["status", "log", "exec", "eviction"], categories: ["all"], status: true);
resource!(SERVICES, "", "v1", "Service", "services", "service",
    short: ["svc"], namespaced: true, sub: ["status"], categories: ["all"], status: true);
resource!(ENDPOINTS, "", "v1", "Endpoints", "endpoints", "endpoints",
    short: ["ep"], namespaced: true, sub: [], categories: [], status: false);
resource!(PERSISTENT_VOLUME_CLAIMS, "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim",
    short: ["pvc"], namespaced: true, sub: ["status"], categories: [], status: true);
resource!(PERSISTENT_VOLUMES, "", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume",
    short: ["pv"], namespaced: false, sub: ["status"], categories: [], status: true);
resource!(EVENTS, "", "v1", "Event", "events", "event",
    short: ["ev"], namespaced: true, sub: [], categories: [], status: false);
resource!(CONFIG_MAPS, "", "v1", "ConfigMap", "configmaps", "configmap",
    short: ["cm"], namespaced: true, sub: [], categories: [], status: false);
resource!(SECRETS, "", "v1", "Secret", "secrets", "secret",
    short: [], namespaced: true, sub: [], categories: [], status: false);
resource!(SERVICE_ACCOUNTS, "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount",
    short: ["sa"], namespaced: true, sub: ["token"], categories: [], status: false);
resource!(STATEFUL_SETS, "apps", "v1", "StatefulSet", "statefulsets", "statefulset",
    short: ["sts"], namespaced: true, sub: ["status", "scale"], categories: ["all"], status: true);
resource!(CONTROLLER_REVISIONS, "apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision",
    short: [], namespaced: true, sub: [], categories: [], status: false);
resource!(ENDPOINT_SLICES, "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice",
    short: [], namespaced: true, sub: [], categories: [], status: false);
resource!(EVENTS_V1, "events.k8s.io", "v1", "Event", "events", "event",
    short: ["ev"], namespaced: true, sub: [], categories: [], status: false);
resource!(STORAGE_CLASSES, "storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass",
    short: ["sc"], namespaced: false, sub: [], categories: [], status: false);
resource!(POD_DISRUPTION_BUDGETS, "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget",
    short: ["pdb"], namespaced: true, sub: ["status"], categories: [], status: true);
resource!(LEASES, "coordination.k8s.io", "v1", "Lease", "leases", "lease",
    short: [], namespaced: true, sub: [], categories: [], status: false);
resource!(ROLES, "rbac.authorization.k8s.io", "v1", "Role", "roles", "role",
    short: [], namespaced: true, sub: [], categories: [], status: false);
resource!(ROLE_BINDINGS, "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding",
    short: [], namespaced: true, sub: [], categories: [], status: false);
resource!(CLUSTER_ROLES, "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole",
    short: [], namespaced: false, sub: [], categories: [], status: false);
resource!(CLUSTER_ROLE_BINDINGS, "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding",
    short: [], namespaced: false, sub: [], categories: [], status: false);
resource!(SELF_SUBJECT_ACCESS_REVIEWS, "authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview",
    short: [], namespaced: false, sub: [], categories: [], status: false);
resource!(SELF_SUBJECT_RULES_REVIEWS, "authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview",
    short: [], namespaced: false, sub: [], categories: [], status: false);
resource!(SELF_SUBJECT_REVIEWS, "authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview",
    short: [], namespaced: false, sub: [], categories: [], status: false);

/// Every served type, in the order discovery lists them.
pub static ALL: &[&ResourceType] = &[
    &NAMESPACES,
    &NODES,
    &PODS,
    &SERVICES,
    &ENDPOINTS,
    &PERSISTENT_VOLUME_CLAIMS,
    &PERSISTENT_VOLUMES,
    &EVENTS,
    &CONFIG_MAPS,
    &SECRETS,
    &SERVICE_ACCOUNTS,
    &STATEFUL_SETS,
    &CONTROLLER_REVISIONS,
    &ENDPOINT_SLICES,
    &EVENTS_V1,
    &STORAGE_CLASSES,
    &POD_DISRUPTION_BUDGETS,
    &LEASES,
    &ROLES,
    &ROLE_BINDINGS,
    &CLUSTER_ROLES,
    &CLUSTER_ROLE_BINDINGS,
    &SELF_SUBJECT_ACCESS_REVIEWS,
    &SELF_SUBJECT_RULES_REVIEWS,
    &SELF_SUBJECT_REVIEWS,
];

/// The type served at `/<api|apis/group>/<version>/<plural>`.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    ALL.iter()
        .copied()
        .find(|rt| rt.group == group && rt.version == version && rt.plural == plural)
}

/// The type of a typed k8s-openapi object, for in-process typed access.
pub fn of<K: k8s_openapi::Resource>() -> Option<&'static ResourceType> {
    lookup(K::GROUP, K::VERSION, K::URL_PATH_SEGMENT)
}

/// The group/versions served, in discovery order (core `v1` first).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut seen: Vec<(&'static str, &'static str)> = Vec::new();
    for rt in ALL {
        if !seen.contains(&(rt.group, rt.version)) {
            seen.push((rt.group, rt.version));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn typed_objects_find_their_resource_type() {
        assert_eq!(of::<StatefulSet>(), Some(&STATEFUL_SETS));
        assert_eq!(of::<Pod>(), Some(&PODS));
    }

    #[test]
    fn qualified_names_match_the_api_servers_messages() {
        assert_eq!(STATEFUL_SETS.group_resource(), "statefulsets.apps");
        assert_eq!(PODS.group_resource(), "pods");
        assert_eq!(STATEFUL_SETS.api_version(), "apps/v1");
        assert_eq!(PODS.api_version(), "v1");
    }

    #[test]
    fn plural_names_are_unique_within_a_group_version() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert!(
                    !(a.group == b.group && a.version == b.version && a.plural == b.plural),
                    "{} served twice",
                    a.plural
                );
            }
        }
    }
}
