//! RBAC authorization as upstream's RBAC authorizer does it
//! (plugin/pkg/auth/authorizer/rbac, pkg/registry/rbac/validation,
//! pkg/apis/rbac/v1/evaluation_helpers.go), in front of every request the
//! sandbox serves.
//!
//! - Request attributes come from the method and path as upstream's
//!   `RequestInfoFactory` derives them: `get` without a name is `list` or
//!   `watch`, `delete` without a name is `deletecollection`, a
//!   `metadata.name=` field selector names the object, `/namespaces/NS` sets
//!   the namespace (also for the namespace object itself).
//! - Members of `system:masters` are allowed everything before RBAC is asked,
//!   as kube-apiserver's privileged-group authorizer does; the sandbox's own
//!   admin token is such a member, so tests using it never meet RBAC.
//! - Everyone else is allowed what the rules of the (Cluster)Roles bound to
//!   their user name or groups allow; ClusterRoleBindings apply everywhere,
//!   RoleBindings in their namespace. Aggregated ClusterRoles take the rules
//!   of the roles their `aggregationRule` selects, as the aggregation
//!   controller would write them.
//! - The bindings are compiled into an index keyed by subject, rebuilt only
//!   when an RBAC object changes (seen through store watches that are offered
//!   every write before it returns), so a request costs a few hash lookups.
//! - Denials are 403 Status objects worded as upstream's
//!   `responsewriters.Forbidden`.
//!
//! The bootstrap policy (cluster-admin, admin/edit/view, system:discovery,
//! system:basic-user, system:public-info-viewer and their bindings) is created
//! at start when missing, as the API server's RBAC post-start hook does.
//! Not modelled: privilege-escalation checks on writes of RBAC objects, the
//! Node authorizer, webhook and ABAC modes, and label/field-selector
//! authorization.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;

use super::cluster::{Cluster, ListOptions};
use super::error::ApiError;
use super::selectors::{LabelSelector, selector_string};
use super::store::WatchEvent;
use crate::sandbox::resources::{
    CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES, ResourceType,
};

/// The group whose members may do anything (kube-apiserver's privileged group).
pub const SYSTEM_MASTERS: &str = "system:masters";
/// Every authenticated identity is a member.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
/// User names of service accounts: `system:serviceaccount:NS:NAME`.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// Every service account is a member, and of `system:serviceaccounts:NS`.
pub const ALL_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

/// Who is asking (upstream's `user.Info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// Extra attributes (`authentication.kubernetes.io/credential-id`...).
    pub extra: Vec<(String, Vec<String>)>,
}

impl UserInfo {
    pub fn is_superuser(&self) -> bool {
        self.groups.iter().any(|g| g == SYSTEM_MASTERS)
    }

    /// The identity of a service account, with the groups upstream gives it.
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> UserInfo {
        UserInfo {
            name: service_account_user(namespace, name),
            uid: uid.to_string(),
            groups: service_account_groups(namespace),
            extra: Vec::new(),
        }
    }
}

pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}")
}

/// `system:serviceaccounts`, `system:serviceaccounts:NS`, `system:authenticated`.
pub fn service_account_groups(namespace: &str) -> Vec<String> {
    vec![
        ALL_SERVICE_ACCOUNTS.to_string(),
        format!("{ALL_SERVICE_ACCOUNTS}:{namespace}"),
        ALL_AUTHENTICATED.to_string(),
    ]
}

/// (namespace, name) of a service-account user name.
pub fn parse_service_account_user(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// What a request asks to do (upstream's `authorizer.Attributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub resource_request: bool,
    /// The request path (what non-resource rules match).
    pub path: String,
    pub api_group: String,
    pub api_version: String,
    /// Empty for cluster-scoped requests and requests across all namespaces.
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

impl Attributes {
    /// The attributes of an HTTP request, as upstream's `RequestInfoFactory`
    /// derives them. `watch` is the `watch` query parameter, `field_selector`
    /// the `fieldSelector` one.
    pub fn from_request(
        method: &str,
        path: &str,
        watch: bool,
        field_selector: Option<&str>,
    ) -> Attributes {
        let mut attrs = Attributes {
            verb: method.to_ascii_lowercase(),
            path: path.to_string(),
            ..Attributes::default()
        };
        let trimmed = path.trim_matches('/');
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        if parts.len() < 3 || !matches!(parts[0], "api" | "apis") {
            return attrs;
        }
        let mut rest = &parts[1..];
        if parts[0] == "apis" {
            if rest.len() < 3 {
                return attrs;
            }
            attrs.api_group = rest[0].to_string();
            rest = &rest[1..];
        }
        attrs.resource_request = true;
        attrs.api_version = rest[0].to_string();
        rest = &rest[1..];
        if matches!(rest[0], "proxy" | "watch") {
            attrs.verb = rest[0].to_string();
            rest = &rest[1..];
        } else {
            attrs.verb = match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .to_string();
        }
        if rest.first() == Some(&"namespaces") && rest.len() > 1 {
            attrs.namespace = rest[1].to_string();
            if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
                rest = &rest[2..];
            }
        }
        if rest.len() >= 3 && attrs.verb != "proxy" {
            attrs.subresource = rest[2].to_string();
        }
        if rest.len() >= 2 {
            attrs.name = rest[1].to_string();
        }
        if let Some(resource) = rest.first() {
            attrs.resource = resource.to_string();
        }
        if attrs.name.is_empty() && attrs.verb == "get" {
            attrs.verb = if watch { "watch" } else { "list" }.to_string();
            if let Some(name) = field_selector.and_then(exact_name) {
                attrs.name = name;
            }
        }
        if attrs.name.is_empty() && attrs.verb == "delete" {
            attrs.verb = "deletecollection".to_string();
        }
        attrs
    }

    pub fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Attributes {
        Attributes {
            verb: verb.to_string(),
            resource_request: true,
            api_group: group.to_string(),
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            ..Attributes::default()
        }
    }

    /// `pods/exec`, or `pods` without a subresource.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// The name a field selector requires (`metadata.name=web-0`), if it is a
/// valid path segment, as `fields.Selector.RequiresExactMatch` finds it.
fn exact_name(selector: &str) -> Option<String> {
    selector
        .split(',')
        .find_map(|term| {
            if term.contains("!=") {
                return None;
            }
            let (field, value) = term.split_once("==").or_else(|| term.split_once('='))?;
            (field.trim() == "metadata.name").then(|| value.trim().to_string())
        })
        .filter(|name| {
            !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains('/')
                && !name.contains('%')
        })
}

/// One rule of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn has(set: &[String], wanted: &str) -> bool {
    set.iter().any(|s| s == "*" || s == wanted)
}

impl PolicyRule {
    pub fn from_value(rule: &Value) -> PolicyRule {
        PolicyRule {
            verbs: strings(&rule["verbs"]),
            api_groups: strings(&rule["apiGroups"]),
            resources: strings(&rule["resources"]),
            resource_names: strings(&rule["resourceNames"]),
            non_resource_urls: strings(&rule["nonResourceURLs"]),
        }
    }

    /// The rule as it appears in a Role (empty lists left out).
    pub fn to_value(&self) -> Value {
        let mut rule = serde_json::Map::new();
        for (key, list) in [
            ("verbs", &self.verbs),
            ("apiGroups", &self.api_groups),
            ("resources", &self.resources),
            ("resourceNames", &self.resource_names),
            ("nonResourceURLs", &self.non_resource_urls),
        ] {
            if !list.is_empty() || key == "verbs" {
                rule.insert(key.to_string(), json!(list));
            }
        }
        Value::Object(rule)
    }

    /// Upstream's `RuleAllows`.
    pub fn allows(&self, attrs: &Attributes) -> bool {
        if !has(&self.verbs, &attrs.verb) {
            return false;
        }
        if attrs.resource_request {
            has(&self.api_groups, &attrs.api_group)
                && self.resource_matches(attrs)
                && (self.resource_names.is_empty() || self.resource_names.contains(&attrs.name))
        } else {
            self.non_resource_urls.iter().any(|url| {
                url == "*"
                    || *url == attrs.path
                    || (url.ends_with('*') && attrs.path.starts_with(url.trim_end_matches('*')))
            })
        }
    }

    /// `*`, the combined `resource/subresource`, or `*/subresource`.
    fn resource_matches(&self, attrs: &Attributes) -> bool {
        self.resources.iter().any(|r| {
            r == "*"
                || (attrs.subresource.is_empty() && *r == attrs.resource)
                || (!attrs.subresource.is_empty()
                    && (r.split_once('/')
                        == Some((attrs.resource.as_str(), attrs.subresource.as_str()))
                        || r.strip_prefix("*/") == Some(attrs.subresource.as_str())))
        })
    }
}

/// The outcome of asking the authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// `RBAC: allowed by ...` when allowed; resolution errors when not.
    pub reason: String,
}

/// One binding as it applies to one of its subjects: where it applies, the
/// rules it grants (or why they could not be resolved) and how upstream
/// describes it in reasons.
#[derive(Debug)]
struct Grant {
    /// Order of the binding (ClusterRoleBindings first), for deterministic visits.
    order: usize,
    /// Index of the subject within the binding (the first that applies wins).
    subject: usize,
    /// `ClusterRoleBinding "x" of ClusterRole "y" to User "jane"`
    source: String,
    rules: Result<Arc<Vec<PolicyRule>>, String>,
}

/// The bindings by subject, compiled from the RBAC objects.
#[derive(Debug, Default)]
pub struct PolicyIndex {
    cluster_users: HashMap<String, Vec<Arc<Grant>>>,
    cluster_groups: HashMap<String, Vec<Arc<Grant>>>,
    /// namespace -> subject -> grants
    namespace_users: HashMap<String, HashMap<String, Vec<Arc<Grant>>>>,
    namespace_groups: HashMap<String, HashMap<String, Vec<Arc<Grant>>>>,
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace_of(object: &Value) -> &str {
    object["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// Rules of ClusterRoles, resolving `aggregationRule`s as the aggregation
/// controller would (the union of the selected roles' rules, transitively).
struct ClusterRoleRules<'a> {
    roles: HashMap<&'a str, &'a Value>,
    resolved: HashMap<String, Arc<Vec<PolicyRule>>>,
}

impl<'a> ClusterRoleRules<'a> {
    fn new(cluster_roles: &'a [Value]) -> Self {
        ClusterRoleRules {
            roles: cluster_roles.iter().map(|r| (name_of(r), r)).collect(),
            resolved: HashMap::new(),
        }
    }

    fn get(&mut self, name: &str) -> Option<Arc<Vec<PolicyRule>>> {
        if let Some(rules) = self.resolved.get(name) {
            return Some(rules.clone());
        }
        self.roles.get(name)?;
        let rules = Arc::new(self.effective(name, &mut HashSet::new()));
        self.resolved.insert(name.to_string(), rules.clone());
        Some(rules)
    }

    fn effective(&self, name: &str, visiting: &mut HashSet<String>) -> Vec<PolicyRule> {
        let Some(role) = self.roles.get(name) else {
            return Vec::new();
        };
        let Some(selectors) = role["aggregationRule"]["clusterRoleSelectors"].as_array() else {
            return rules_of(role);
        };
        if !visiting.insert(name.to_string()) {
            return Vec::new();
        }
        let selectors: Vec<LabelSelector> = selectors
            .iter()
            .filter_map(|s| LabelSelector::parse(&selector_string(s)).ok())
            .collect();
        let mut names: Vec<&&str> = self
            .roles
            .iter()
            .filter(|(other, role)| **other != name && selectors.iter().any(|s| s.matches(role)))
            .map(|(other, _)| other)
            .collect();
        names.sort();
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for other in names {
            for rule in self.effective(other, visiting) {
                if seen.insert(rule.clone()) {
                    rules.push(rule);
                }
            }
        }
        visiting.remove(name);
        rules
    }
}

fn rules_of(role: &Value) -> Vec<PolicyRule> {
    role["rules"]
        .as_array()
        .map(|rules| rules.iter().map(PolicyRule::from_value).collect())
        .unwrap_or_default()
}

/// Go's `%q` for the names in messages.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Upstream's `describeSubject`.
fn describe_subject(subject: &Value, binding_namespace: &str) -> String {
    let kind = subject["kind"].as_str().unwrap_or_default();
    let name = subject["name"].as_str().unwrap_or_default();
    if kind == "ServiceAccount" {
        let namespace = subject["namespace"]
            .as_str()
            .filter(|ns| !ns.is_empty())
            .unwrap_or(binding_namespace);
        format!("{kind} {}", quote(&format!("{name}/{namespace}")))
    } else {
        format!("{kind} {}", quote(name))
    }
}

enum SubjectKey {
    User(String),
    Group(String),
}

/// Which user name or group a subject stands for; service accounts are users.
fn subject_key(subject: &Value, binding_namespace: &str) -> Option<SubjectKey> {
    let name = subject["name"].as_str().unwrap_or_default();
    match subject["kind"].as_str()? {
        "User" => Some(SubjectKey::User(name.to_string())),
        "Group" => Some(SubjectKey::Group(name.to_string())),
        "ServiceAccount" => {
            let namespace = subject["namespace"]
                .as_str()
                .filter(|ns| !ns.is_empty())
                .unwrap_or(binding_namespace);
            (!namespace.is_empty()).then(|| SubjectKey::User(service_account_user(namespace, name)))
        }
        _ => None,
    }
}

impl PolicyIndex {
    /// Compiles the four RBAC types into the subject index.
    pub fn build(
        roles: &[Value],
        role_bindings: &[Value],
        cluster_roles: &[Value],
        cluster_role_bindings: &[Value],
    ) -> PolicyIndex {
        let mut index = PolicyIndex::default();
        let mut cluster_rules = ClusterRoleRules::new(cluster_roles);
        let role_rules: HashMap<(&str, &str), Arc<Vec<PolicyRule>>> = roles
            .iter()
            .map(|r| ((namespace_of(r), name_of(r)), Arc::new(rules_of(r))))
            .collect();
        let mut order = 0;
        for binding in cluster_role_bindings {
            order += 1;
            let role_ref = &binding["roleRef"];
            let role_kind = role_ref["kind"].as_str().unwrap_or_default();
            let role_name = role_ref["name"].as_str().unwrap_or_default();
            let rules = if role_kind == "ClusterRole" {
                cluster_rules.get(role_name).ok_or_else(|| {
                    format!(
                        "clusterrole.rbac.authorization.k8s.io {} not found",
                        quote(role_name)
                    )
                })
            } else {
                Err(format!(
                    "unsupported role reference kind: {}",
                    quote(role_kind)
                ))
            };
            index.add_binding(binding, "", order, role_kind, role_name, &rules);
        }
        for binding in role_bindings {
            order += 1;
            let namespace = namespace_of(binding);
            let role_ref = &binding["roleRef"];
            let role_kind = role_ref["kind"].as_str().unwrap_or_default();
            let role_name = role_ref["name"].as_str().unwrap_or_default();
            let rules = match role_kind {
                "ClusterRole" => cluster_rules.get(role_name).ok_or_else(|| {
                    format!(
                        "clusterrole.rbac.authorization.k8s.io {} not found",
                        quote(role_name)
                    )
                }),
                "Role" => role_rules
                    .get(&(namespace, role_name))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "role.rbac.authorization.k8s.io {} not found",
                            quote(role_name)
                        )
                    }),
                other => Err(format!("unsupported role reference kind: {}", quote(other))),
            };
            index.add_binding(binding, namespace, order, role_kind, role_name, &rules);
        }
        index
    }

    fn add_binding(
        &mut self,
        binding: &Value,
        namespace: &str,
        order: usize,
        role_kind: &str,
        role_name: &str,
        rules: &Result<Arc<Vec<PolicyRule>>, String>,
    ) {
        let Some(subjects) = binding["subjects"].as_array() else {
            return;
        };
        for (i, subject) in subjects.iter().enumerate() {
            let Some(key) = subject_key(subject, namespace) else {
                continue;
            };
            let source = if namespace.is_empty() {
                format!(
                    "ClusterRoleBinding {} of {role_kind} {} to {}",
                    quote(name_of(binding)),
                    quote(role_name),
                    describe_subject(subject, "")
                )
            } else {
                format!(
                    "RoleBinding {} of {role_kind} {} to {}",
                    quote(&format!("{}/{namespace}", name_of(binding))),
                    quote(role_name),
                    describe_subject(subject, namespace)
                )
            };
            let grant = Arc::new(Grant {
                order,
                subject: i,
                source,
                rules: rules.clone(),
            });
            let (users, groups) = if namespace.is_empty() {
                (&mut self.cluster_users, &mut self.cluster_groups)
            } else {
                (
                    self.namespace_users
                        .entry(namespace.to_string())
                        .or_default(),
                    self.namespace_groups
                        .entry(namespace.to_string())
                        .or_default(),
                )
            };
            match key {
                SubjectKey::User(name) => users.entry(name).or_default().push(grant),
                SubjectKey::Group(name) => groups.entry(name).or_default().push(grant),
            }
        }
    }

    /// The bindings that apply to `user` in `namespace` (empty: cluster-wide
    /// only), each once, in upstream's visiting order.
    fn grants_for(&self, user: &UserInfo, namespace: &str) -> Vec<&Arc<Grant>> {
        type BySubject = HashMap<String, Vec<Arc<Grant>>>;
        fn collect<'a>(
            grants: &mut Vec<&'a Arc<Grant>>,
            user: &UserInfo,
            users: Option<&'a BySubject>,
            groups: Option<&'a BySubject>,
        ) {
            if let Some(found) = users.and_then(|u| u.get(&user.name)) {
                grants.extend(found);
            }
            for group in &user.groups {
                if let Some(found) = groups.and_then(|g| g.get(group)) {
                    grants.extend(found);
                }
            }
        }
        let mut grants = Vec::new();
        collect(
            &mut grants,
            user,
            Some(&self.cluster_users),
            Some(&self.cluster_groups),
        );
        if !namespace.is_empty() {
            collect(
                &mut grants,
                user,
                self.namespace_users.get(namespace),
                self.namespace_groups.get(namespace),
            );
        }
        grants.sort_by_key(|g| (g.order, g.subject));
        grants.dedup_by_key(|g| g.order);
        grants
    }

    /// Upstream's RBAC `Authorize`: allowed by the first rule that allows,
    /// otherwise no opinion with the resolution errors met as the reason.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Decision {
        let mut errors = Vec::new();
        for grant in self.grants_for(user, &attrs.namespace) {
            match &grant.rules {
                Ok(rules) if rules.iter().any(|r| r.allows(attrs)) => {
                    return Decision {
                        allowed: true,
                        reason: format!("RBAC: allowed by {}", grant.source),
                    };
                }
                Ok(_) => {}
                Err(err) => errors.push(err.clone()),
            }
        }
        let reason = match errors.len() {
            0 => String::new(),
            1 => format!("RBAC: {}", errors[0]),
            _ => format!("RBAC: [{}]", errors.join(", ")),
        };
        Decision {
            allowed: false,
            reason,
        }
    }

    /// Every rule that applies to `user` in `namespace`, and the resolution
    /// errors met (for SelfSubjectRulesReview).
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for grant in self.grants_for(user, namespace) {
            match &grant.rules {
                Ok(found) => rules.extend(found.iter().cloned()),
                Err(err) => errors.push(err.clone()),
            }
        }
        (rules, errors)
    }
}

/// The RBAC types whose changes invalidate the index.
const RBAC_TYPES: [&ResourceType; 4] = [
    &ROLES,
    &ROLE_BINDINGS,
    &CLUSTER_ROLES,
    &CLUSTER_ROLE_BINDINGS,
];

/// The authorizer the HTTP layer asks: superusers first, then the RBAC index.
pub struct Authorizer {
    cluster: Cluster,
    cache: Mutex<IndexCache>,
}

#[derive(Default)]
struct IndexCache {
    /// One watch per RBAC type; any event means the index is stale.
    changes: Vec<UnboundedReceiver<WatchEvent>>,
    index: Option<Arc<PolicyIndex>>,
}

impl Authorizer {
    pub fn new(cluster: Cluster) -> Self {
        Authorizer {
            cluster,
            cache: Mutex::new(IndexCache::default()),
        }
    }

    /// The current index, rebuilt if an RBAC object changed since it was built.
    fn index(&self) -> Arc<PolicyIndex> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let mut stale = cache.index.is_none();
        let mut lost = cache.changes.len() != RBAC_TYPES.len();
        for rx in &mut cache.changes {
            loop {
                match rx.try_recv() {
                    Ok(_) => stale = true,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        lost = true;
                        break;
                    }
                }
            }
        }
        if lost {
            // Watch first, then list: a change in between is seen twice, never missed.
            cache.changes = RBAC_TYPES
                .iter()
                .filter_map(|rt| self.cluster.watch(rt, None, None).ok())
                .collect();
            stale = true;
        }
        if stale || cache.index.is_none() {
            cache.index = Some(Arc::new(self.build_index()));
        }
        cache.index.clone().unwrap_or_default()
    }

    fn build_index(&self) -> PolicyIndex {
        let list = |rt: &ResourceType| {
            self.cluster
                .list(rt, None, &ListOptions::default())
                .map(|l| l.items)
                .unwrap_or_default()
        };
        PolicyIndex::build(
            &list(&ROLES),
            &list(&ROLE_BINDINGS),
            &list(&CLUSTER_ROLES),
            &list(&CLUSTER_ROLE_BINDINGS),
        )
    }

    /// The decision for `user` doing `attrs`.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Decision {
        if user.is_superuser() {
            return Decision {
                allowed: true,
                reason: String::new(),
            };
        }
        self.index().authorize(user, attrs)
    }

    /// Ok, or the 403 upstream answers with.
    pub fn check(&self, user: &UserInfo, attrs: &Attributes) -> Result<(), ApiError> {
        let decision = self.authorize(user, attrs);
        if decision.allowed {
            Ok(())
        } else {
            Err(forbidden(user, attrs, &decision.reason))
        }
    }

    /// Authorizes an HTTP request. Streaming pod subresources reached by GET
    /// (WebSocket upgrades) also need `create`, as upstream's
    /// AuthorizePodWebsocketUpgradeCreatePermission (beta, on since 1.35) asks;
    /// that second denial is worded as upstream's `ensureAuthorizedForVerb`.
    pub fn check_request(&self, user: &UserInfo, attrs: &Attributes) -> Result<(), ApiError> {
        self.check(user, attrs)?;
        let streaming = attrs.resource_request
            && attrs.api_group.is_empty()
            && attrs.resource == "pods"
            && matches!(
                attrs.subresource.as_str(),
                "exec" | "attach" | "portforward"
            );
        if streaming && attrs.verb != "create" {
            let create = Attributes {
                verb: "create".to_string(),
                ..attrs.clone()
            };
            let decision = self.authorize(user, &create);
            if !decision.allowed {
                return Err(forbidden_resource(
                    &attrs.api_group,
                    &attrs.resource,
                    &attrs.name,
                    &decision.reason,
                ));
            }
        }
        Ok(())
    }

    /// The rules that apply to `user` in `namespace`, and whether the list is
    /// incomplete because some role could not be resolved.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        self.index().rules_for(user, namespace)
    }
}

/// Upstream's `forbiddenMessage`.
fn forbidden_message(user: &UserInfo, attrs: &Attributes) -> String {
    let who = quote(&user.name);
    if !attrs.resource_request {
        return format!(
            "User {who} cannot {} path {}",
            attrs.verb,
            quote(&attrs.path)
        );
    }
    let resource = quote(&attrs.combined_resource());
    let group = quote(&attrs.api_group);
    if attrs.namespace.is_empty() {
        format!(
            "User {who} cannot {} resource {resource} in API group {group} at the cluster scope",
            attrs.verb
        )
    } else {
        format!(
            "User {who} cannot {} resource {resource} in API group {group} in the namespace {}",
            attrs.verb,
            quote(&attrs.namespace)
        )
    }
}

/// The 403 for a denied request (upstream's `responsewriters.Forbidden`):
/// `pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"`.
pub fn forbidden(user: &UserInfo, attrs: &Attributes, reason: &str) -> ApiError {
    let message = forbidden_message(user, attrs)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let message = if reason.is_empty() {
        message
    } else {
        format!("{message}: {reason}")
    };
    let (group, resource) = if attrs.resource_request {
        (attrs.api_group.as_str(), attrs.resource.as_str())
    } else {
        ("", "")
    };
    forbidden_resource(group, resource, &attrs.name, &message)
}

/// `apierrors.NewForbidden(groupResource, name, err)`.
pub fn forbidden_resource(group: &str, resource: &str, name: &str, why: &str) -> ApiError {
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    let message = if qualified.is_empty() {
        format!("forbidden: {why}")
    } else if name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} {} is forbidden: {why}", quote(name))
    };
    let mut details = serde_json::Map::new();
    if !name.is_empty() {
        details.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        details.insert("group".into(), json!(group));
    }
    if !resource.is_empty() {
        details.insert("kind".into(), json!(resource));
    }
    let mut err = ApiError::new(403, "Forbidden", message);
    err.details = Some(Value::Object(details));
    err
}

mod bootstrap;
mod review;

pub use bootstrap::{
    bootstrap_cluster_role_bindings, bootstrap_cluster_roles, ensure_bootstrap_policy,
};
pub use review::{is_review, review};

/// A user in these groups, for unit tests.
#[cfg(test)]
pub(crate) fn test_user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..UserInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::test_user as user;
    use super::*;
    use crate::sandbox::api::cluster::WriteOptions;

    fn attrs(method: &str, path: &str) -> Attributes {
        Attributes::from_request(method, path, false, None)
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        PolicyRule::from_value(
            &json!({"apiGroups": groups, "resources": resources, "verbs": verbs}),
        )
    }

    #[test]
    fn request_attributes_follow_upstreams_request_info() {
        let list = attrs("GET", "/api/v1/namespaces/default/pods");
        assert_eq!(
            (
                list.verb.as_str(),
                list.namespace.as_str(),
                list.resource.as_str()
            ),
            ("list", "default", "pods")
        );
        let watch = Attributes::from_request("GET", "/apis/apps/v1/statefulsets", true, None);
        assert_eq!(
            (watch.verb.as_str(), watch.api_group.as_str()),
            ("watch", "apps")
        );
        assert!(watch.namespace.is_empty());
        let old_watch = attrs("GET", "/api/v1/watch/namespaces/default/pods/web-0");
        assert_eq!(
            (old_watch.verb.as_str(), old_watch.name.as_str()),
            ("watch", "web-0")
        );
        let exec = attrs("GET", "/api/v1/namespaces/default/pods/web-0/exec");
        assert_eq!(
            (
                exec.verb.as_str(),
                exec.combined_resource(),
                exec.name.as_str()
            ),
            ("get", "pods/exec".to_string(), "web-0")
        );
        let scale = attrs(
            "PATCH",
            "/apis/apps/v1/namespaces/db/statefulsets/web/scale",
        );
        assert_eq!(
            (scale.verb.as_str(), scale.subresource.as_str()),
            ("patch", "scale")
        );
        assert_eq!(
            attrs("DELETE", "/api/v1/namespaces/default/pods").verb,
            "deletecollection"
        );
        assert_eq!(
            attrs(
                "POST",
                "/api/v1/namespaces/default/serviceaccounts/robot/token"
            )
            .verb,
            "create"
        );
        // A namespace is in its own namespace; its status is a subresource.
        let namespace = attrs("GET", "/api/v1/namespaces/db/status");
        assert_eq!(
            (
                namespace.resource.as_str(),
                namespace.name.as_str(),
                namespace.namespace.as_str(),
                namespace.subresource.as_str()
            ),
            ("namespaces", "db", "db", "status")
        );
        let named = Attributes::from_request(
            "GET",
            "/api/v1/namespaces/default/pods",
            true,
            Some("metadata.name=web-0"),
        );
        assert_eq!(
            (named.verb.as_str(), named.name.as_str()),
            ("watch", "web-0")
        );
        for path in [
            "/api",
            "/api/v1",
            "/apis/apps",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3",
        ] {
            let a = attrs("GET", path);
            assert!(!a.resource_request, "{path}");
            assert_eq!((a.verb.as_str(), a.path.as_str()), ("get", path));
        }
    }

    #[test]
    fn rules_match_verbs_groups_resources_and_names() {
        let get_pods = attrs("GET", "/api/v1/namespaces/default/pods/web-0");
        assert!(rule(&[""], &["pods"], &["get"]).allows(&get_pods));
        assert!(!rule(&["apps"], &["pods"], &["get"]).allows(&get_pods));
        assert!(!rule(&[""], &["pods"], &["list"]).allows(&get_pods));
        assert!(rule(&["*"], &["*"], &["*"]).allows(&get_pods));
        let mut named = rule(&[""], &["pods"], &["get"]);
        named.resource_names = vec!["web-1".into()];
        assert!(!named.allows(&get_pods));
        named.resource_names.push("web-0".into());
        assert!(named.allows(&get_pods));
        // resourceNames never match a list (it has no name).
        assert!(!named.allows(&attrs("GET", "/api/v1/namespaces/default/pods")));
    }

    #[test]
    fn subresources_need_their_own_rule() {
        let exec = attrs("POST", "/api/v1/namespaces/default/pods/web-0/exec");
        assert!(!rule(&[""], &["pods"], &["create"]).allows(&exec));
        assert!(rule(&[""], &["pods/exec"], &["create"]).allows(&exec));
        assert!(rule(&[""], &["*/exec"], &["create"]).allows(&exec));
        assert!(!rule(&[""], &["*/log"], &["create"]).allows(&exec));
        assert!(rule(&[""], &["*"], &["create"]).allows(&exec));
        // ...and a subresource rule does not grant the resource.
        let pod = attrs("GET", "/api/v1/namespaces/default/pods/web-0");
        assert!(!rule(&[""], &["pods/exec", "pods/log"], &["get"]).allows(&pod));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_prefix() {
        let discovery = PolicyRule::from_value(
            &json!({"nonResourceURLs": ["/apis/*", "/version"], "verbs": ["get"]}),
        );
        assert!(discovery.allows(&attrs("GET", "/apis/apps/v1")));
        assert!(discovery.allows(&attrs("GET", "/version")));
        assert!(!discovery.allows(&attrs("GET", "/version/x")));
        assert!(!discovery.allows(&attrs("POST", "/version")));
        assert!(!discovery.allows(&attrs("GET", "/metrics")));
        // Resource rules never allow non-resource paths.
        assert!(!rule(&["*"], &["*"], &["*"]).allows(&attrs("GET", "/metrics")));
    }

    fn policy() -> PolicyIndex {
        let roles = vec![
            json!({"metadata": {"name": "sts-reader", "namespace": "db"},
            "rules": [{"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get", "list"]}]}),
        ];
        let role_bindings = vec![
            json!({"metadata": {"name": "readers", "namespace": "db"},
                   "roleRef": {"kind": "Role", "name": "sts-reader"},
                   "subjects": [{"kind": "User", "name": "jane"},
                                {"kind": "ServiceAccount", "name": "robot"},
                                {"kind": "Group", "name": "devs"}]}),
            json!({"metadata": {"name": "dangling", "namespace": "db"},
                   "roleRef": {"kind": "Role", "name": "gone"},
                   "subjects": [{"kind": "User", "name": "bob"}]}),
        ];
        let cluster_roles = vec![
            json!({"metadata": {"name": "pv-reader", "labels": {"agg": "yes"}},
                   "rules": [{"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["list"]}]}),
            json!({"metadata": {"name": "combined"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "yes"}}]}}),
        ];
        let cluster_role_bindings = vec![json!({"metadata": {"name": "storage"},
            "roleRef": {"kind": "ClusterRole", "name": "combined"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "db"}]})];
        PolicyIndex::build(
            &roles,
            &role_bindings,
            &cluster_roles,
            &cluster_role_bindings,
        )
    }

    #[test]
    fn role_bindings_apply_in_their_namespace_only() {
        let index = policy();
        let jane = user("jane", &[ALL_AUTHENTICATED]);
        let in_db = attrs("GET", "/apis/apps/v1/namespaces/db/statefulsets");
        let decision = index.authorize(&jane, &in_db);
        assert!(decision.allowed);
        assert_eq!(
            decision.reason,
            "RBAC: allowed by RoleBinding \"readers/db\" of Role \"sts-reader\" to User \"jane\""
        );
        assert!(
            !index
                .authorize(
                    &jane,
                    &attrs("GET", "/apis/apps/v1/namespaces/web/statefulsets")
                )
                .allowed
        );
        assert!(
            !index
                .authorize(&jane, &attrs("GET", "/apis/apps/v1/statefulsets"))
                .allowed
        );
        let dev = user("carl", &["devs"]);
        assert!(index.authorize(&dev, &in_db).allowed);
    }

    #[test]
    fn service_accounts_are_matched_by_user_name() {
        let index = policy();
        let robot = UserInfo::service_account("db", "robot", "uid");
        let decision = index.authorize(
            &robot,
            &attrs("GET", "/apis/apps/v1/namespaces/db/statefulsets"),
        );
        assert!(
            decision.reason.ends_with("to ServiceAccount \"robot/db\""),
            "{}",
            decision.reason
        );
        // The ClusterRoleBinding grants the aggregated ClusterRole's rules everywhere.
        assert!(
            index
                .authorize(&robot, &attrs("GET", "/api/v1/persistentvolumes"))
                .allowed
        );
        let other = UserInfo::service_account("web", "robot", "uid");
        assert!(
            !index
                .authorize(&other, &attrs("GET", "/api/v1/persistentvolumes"))
                .allowed
        );
    }

    #[test]
    fn missing_roles_are_reported_as_the_reason() {
        let index = policy();
        let bob = user("bob", &[]);
        let decision = index.authorize(
            &bob,
            &attrs("GET", "/apis/apps/v1/namespaces/db/statefulsets"),
        );
        assert!(!decision.allowed);
        assert_eq!(
            decision.reason,
            "RBAC: role.rbac.authorization.k8s.io \"gone\" not found"
        );
        let (rules, errors) = index.rules_for(&bob, "db");
        assert!(rules.is_empty());
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn forbidden_messages_are_worded_as_upstream() {
        let jane = user("jane", &[]);
        let err = forbidden(&jane, &attrs("GET", "/api/v1/namespaces/default/pods"), "");
        assert_eq!(err.code, 403);
        assert_eq!(err.reason, "Forbidden");
        assert_eq!(
            err.message,
            "pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        );
        assert_eq!(err.details, Some(json!({"kind": "pods"})));
        let scale = forbidden(
            &jane,
            &attrs("PUT", "/apis/apps/v1/namespaces/db/statefulsets/web/scale"),
            "",
        );
        assert_eq!(
            scale.message,
            "statefulsets.apps \"web\" is forbidden: User \"jane\" cannot update resource \"statefulsets/scale\" in API group \"apps\" in the namespace \"db\""
        );
        assert_eq!(
            scale.details,
            Some(json!({"name": "web", "group": "apps", "kind": "statefulsets"}))
        );
        let pvs = forbidden(&jane, &attrs("GET", "/api/v1/persistentvolumes"), "");
        assert_eq!(
            pvs.message,
            "persistentvolumes is forbidden: User \"jane\" cannot list resource \"persistentvolumes\" in API group \"\" at the cluster scope"
        );
        let path = forbidden(&jane, &attrs("GET", "/metrics"), "");
        assert_eq!(
            path.message,
            "forbidden: User \"jane\" cannot get path \"/metrics\""
        );
    }

    #[test]
    fn superusers_skip_rbac_and_websocket_exec_also_needs_create() {
        let authorizer = Authorizer::new(Cluster::new());
        let admin = user("admin", &[SYSTEM_MASTERS]);
        assert!(
            authorizer
                .check_request(&admin, &attrs("DELETE", "/api/v1/nodes"))
                .is_ok()
        );
        let cluster = Cluster::new();
        let opts = WriteOptions::default();
        cluster
            .create(
                &ROLES,
                Some("default"),
                json!({"metadata": {"name": "exec"},
                "rules": [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}]}),
                &opts,
            )
            .unwrap();
        cluster
            .create(&ROLE_BINDINGS, Some("default"), json!({"metadata": {"name": "exec"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "exec"},
                "subjects": [{"kind": "User", "name": "jane"}]}), &opts)
            .unwrap();
        let authorizer = Authorizer::new(cluster.clone());
        let jane = user("jane", &[]);
        let exec = attrs("GET", "/api/v1/namespaces/default/pods/web-0/exec");
        let err = authorizer.check_request(&jane, &exec).unwrap_err();
        assert_eq!(err.message, "pods \"web-0\" is forbidden: ");
        // The index sees the role change at once (no stale cache).
        let mut role = cluster.get(&ROLES, Some("default"), "exec").unwrap();
        role["rules"][0]["verbs"] = json!(["get", "create"]);
        cluster
            .update(
                &ROLES,
                Some("default"),
                "exec",
                role,
                super::super::cluster::Subresource::Main,
                &opts,
            )
            .unwrap();
        assert!(authorizer.check_request(&jane, &exec).is_ok());
    }
}
