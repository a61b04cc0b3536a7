//! Everything a StatefulSet-centred view reads from the cluster, fetched with a
//! constant number of list calls whatever the replica count: the StatefulSets
//! in scope, their pods, the claims, volumes and storage classes, and the
//! events on claims (they say why a claim is Pending).
//!
//! Fetching is the only I/O here; the lookups (`pods_of`, `claim`, `volume`,
//! `storage_class`, `latest_claim_event`) are pure and unit-tested.
//!
//! Cluster-scoped lists (PersistentVolumes, StorageClasses) and events may be
//! forbidden to a user with a namespace-scoped Role: they come back as
//! [`Listing::Forbidden`] so a view can show what it can and mark the rest.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use crate::context::{Connection, NamespaceScope};
use crate::error::Result;
use crate::sts;

/// A list the user may or may not be allowed to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing<T> {
    Listed(Vec<T>),
    /// The API answered 403: a namespace-scoped Role, for example.
    Forbidden,
}

impl<T> Listing<T> {
    /// The items, empty when forbidden.
    pub fn items(&self) -> &[T] {
        match self {
            Listing::Listed(items) => items,
            Listing::Forbidden => &[],
        }
    }

    pub fn is_forbidden(&self) -> bool {
        matches!(self, Listing::Forbidden)
    }

    /// Find an item; `Forbidden` when the list could not be read.
    pub fn find(&self, wanted: impl Fn(&T) -> bool) -> Lookup<&T> {
        match self {
            Listing::Forbidden => Lookup::Forbidden,
            Listing::Listed(items) => items
                .iter()
                .find(|item| wanted(item))
                .map_or(Lookup::Missing, Lookup::Found),
        }
    }
}

/// The answer to "which object is this?" when the list may have been forbidden.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    Forbidden,
}

impl<T> Lookup<T> {
    pub fn found(self) -> Option<T> {
        match self {
            Lookup::Found(item) => Some(item),
            _ => None,
        }
    }
}

/// What the cluster holds for the StatefulSets in scope.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Sorted by namespace, then name.
    pub statefulsets: Vec<StatefulSet>,
    /// Pods in scope (for one named set, only those its selector matches).
    pub pods: Vec<Pod>,
    pub claims: Vec<PersistentVolumeClaim>,
    pub volumes: Listing<PersistentVolume>,
    pub storage_classes: Listing<StorageClass>,
    /// core/v1 Events whose involved object is a PersistentVolumeClaim.
    pub claim_events: Listing<Event>,
}

/// When a view needs one of the optional lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Always,
    /// Only when some claim is not Bound (the list explains why).
    WhenClaimsAreUnbound,
    Never,
}

/// What a view needs beyond the sets, pods and claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    pub volumes: Need,
    pub storage_classes: Need,
    pub claim_events: Need,
}

impl Detail {
    /// Everything, always.
    pub const ALL: Detail = Detail {
        volumes: Need::Always,
        storage_classes: Need::Always,
        claim_events: Need::Always,
    };
}

/// Which StatefulSets a view covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetScope {
    /// One set by name, in the connection's namespace.
    Named(String),
    /// Every set in the namespace scope.
    All(NamespaceScope),
}

impl Inventory {
    /// Fetch with six list calls at most (one get for a named set), the
    /// independent ones concurrently.
    pub async fn fetch(connection: &Connection, scope: &SetScope) -> Result<Inventory> {
        Self::fetch_with(connection, scope, Detail::ALL).await
    }

    /// `fetch`, skipping the lists `detail` does not need. Lists needed only
    /// for unbound claims are read after the claims, and only if one is not
    /// Bound; everything else goes out at once (after the get of a named set,
    /// whose selector narrows the pods).
    pub async fn fetch_with(
        connection: &Connection,
        scope: &SetScope,
        detail: Detail,
    ) -> Result<Inventory> {
        let client = connection.client.clone();
        let (named_set, namespaces, pod_selector) = match scope {
            SetScope::Named(name) => {
                let set = connection.statefulset(name).await?;
                let selector = sts::pod_selector(&set);
                (
                    Some(set),
                    NamespaceScope::One(connection.namespace.clone()),
                    selector,
                )
            }
            SetScope::All(namespaces) => (None, namespaces.clone(), None),
        };
        let (statefulsets, pods, claims, volumes, classes, events) = tokio::join!(
            async {
                match named_set {
                    Some(set) => Ok(vec![set]),
                    None => list_required(connection, connection.api_in(&namespaces), None).await,
                }
            },
            list_required::<Pod>(connection, connection.api_in(&namespaces), pod_selector),
            list_required::<PersistentVolumeClaim>(
                connection,
                connection.api_in(&namespaces),
                None
            ),
            list_when(detail.volumes == Need::Always, || {
                list_optional::<PersistentVolume>(connection, Api::all(client.clone()), None)
            }),
            list_when(detail.storage_classes == Need::Always, || {
                list_optional::<StorageClass>(connection, Api::all(client.clone()), None)
            }),
            list_when(detail.claim_events == Need::Always, || claim_events(
                connection,
                &namespaces
            )),
        );
        let mut statefulsets = statefulsets?;
        statefulsets.sort_by(|a, b| {
            (sts::namespace(a), sts::name(a)).cmp(&(sts::namespace(b), sts::name(b)))
        });
        let claims = claims?;
        let unbound = claims
            .iter()
            .any(|claim| claim.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound"));
        let later = |need: Need| unbound && need == Need::WhenClaimsAreUnbound;
        let (late_volumes, late_classes, late_events) = tokio::join!(
            list_when(later(detail.volumes), || {
                list_optional::<PersistentVolume>(connection, Api::all(client.clone()), None)
            }),
            list_when(later(detail.storage_classes), || {
                list_optional::<StorageClass>(connection, Api::all(client.clone()), None)
            }),
            list_when(later(detail.claim_events), || claim_events(
                connection,
                &namespaces
            )),
        );
        Ok(Inventory {
            statefulsets,
            pods: pods?,
            claims,
            volumes: not_asked_is_empty(volumes?.or(late_volumes?)),
            storage_classes: not_asked_is_empty(classes?.or(late_classes?)),
            claim_events: not_asked_is_empty(events?.or(late_events?)),
        })
    }

    /// The pods a set owns, or would adopt: same namespace, a name with one of
    /// its ordinals, and either its controller reference or none at all with
    /// labels its selector matches.
    pub fn pods_of<'a>(&'a self, set: &'a StatefulSet) -> impl Iterator<Item = (i32, &'a Pod)> {
        set_pods_among(set, &self.pods)
    }

    /// A claim by namespace and name.
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&PersistentVolumeClaim> {
        self.claims.iter().find(|claim| {
            claim.metadata.name.as_deref() == Some(name)
                && claim.metadata.namespace.as_deref().unwrap_or("default") == namespace
        })
    }

    /// A PersistentVolume by name.
    pub fn volume(&self, name: &str) -> Lookup<&PersistentVolume> {
        self.volumes
            .find(|volume| volume.metadata.name.as_deref() == Some(name))
    }

    /// The volume whose claimRef names this claim, bound or not (a Released
    /// volume still names the claim that was deleted).
    pub fn volume_claimed_by(&self, namespace: &str, claim: &str) -> Lookup<&PersistentVolume> {
        self.volumes.find(|volume| {
            volume
                .spec
                .as_ref()
                .and_then(|spec| spec.claim_ref.as_ref())
                .is_some_and(|claim_ref| {
                    claim_ref.name.as_deref() == Some(claim)
                        && claim_ref.namespace.as_deref() == Some(namespace)
                })
        })
    }

    /// A StorageClass by name.
    pub fn storage_class(&self, name: &str) -> Lookup<&StorageClass> {
        self.storage_classes
            .find(|class| class.metadata.name.as_deref() == Some(name))
    }

    /// The most recent event about this claim (this incarnation of it when the
    /// event records a uid).
    pub fn latest_claim_event(&self, claim: &PersistentVolumeClaim) -> Option<&Event> {
        let name = claim.metadata.name.as_deref()?;
        let namespace = claim.metadata.namespace.as_deref().unwrap_or("default");
        let uid = claim.metadata.uid.as_deref();
        self.claim_events
            .items()
            .iter()
            .filter(|event| {
                let object = &event.involved_object;
                object.name.as_deref() == Some(name)
                    && object.namespace.as_deref().unwrap_or("default") == namespace
                    && object.kind.as_deref().unwrap_or("PersistentVolumeClaim")
                        == "PersistentVolumeClaim"
                    && match (object.uid.as_deref(), uid) {
                        (Some(event_uid), Some(claim_uid)) => event_uid == claim_uid,
                        _ => true,
                    }
            })
            // max_by_key keeps the last of equals: later in the list wins a tie.
            .max_by_key(|event| event_time(event))
    }
}

impl Inventory {
    /// An inventory of the objects in multi-document YAML (a `kind: List`
    /// document contributes its items), every list readable: how fixtures
    /// describe a cluster. Kinds a view does not read are refused.
    pub fn from_manifests(yaml: &str) -> std::result::Result<Inventory, String> {
        let documents: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(yaml).map_err(|e| format!("invalid YAML: {e}"))?;
        let mut objects = Vec::new();
        for document in documents {
            match document.get("kind").and_then(|k| k.as_str()) {
                Some("List") => objects.extend(
                    document
                        .get("items")
                        .and_then(|items| items.as_array())
                        .cloned()
                        .unwrap_or_default(),
                ),
                _ if document.is_null() => {}
                _ => objects.push(document),
            }
        }
        let mut inventory = Inventory {
            statefulsets: Vec::new(),
            pods: Vec::new(),
            claims: Vec::new(),
            volumes: Listing::Listed(Vec::new()),
            storage_classes: Listing::Listed(Vec::new()),
            claim_events: Listing::Listed(Vec::new()),
        };
        let mut volumes = Vec::new();
        let mut classes = Vec::new();
        let mut events = Vec::new();
        for object in objects {
            let kind = object
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_string();
            let typed = |e: serde_json::Error| format!("invalid {kind}: {e}");
            match kind.as_str() {
                "StatefulSet" => inventory
                    .statefulsets
                    .push(serde_json::from_value(object).map_err(typed)?),
                "Pod" => inventory
                    .pods
                    .push(serde_json::from_value(object).map_err(typed)?),
                "PersistentVolumeClaim" => inventory
                    .claims
                    .push(serde_json::from_value(object).map_err(typed)?),
                "PersistentVolume" => volumes.push(serde_json::from_value(object).map_err(typed)?),
                "StorageClass" => classes.push(serde_json::from_value(object).map_err(typed)?),
                "Event" => events.push(serde_json::from_value(object).map_err(typed)?),
                other => return Err(format!("an inventory holds no {other:?}")),
            }
        }
        inventory.statefulsets.sort_by(|a, b| {
            (sts::namespace(a), sts::name(a)).cmp(&(sts::namespace(b), sts::name(b)))
        });
        inventory.volumes = Listing::Listed(volumes);
        inventory.storage_classes = Listing::Listed(classes);
        inventory.claim_events = Listing::Listed(events);
        Ok(inventory)
    }
}

/// `Inventory::pods_of` over any list of pods (a namespace's, say): the pods
/// a set owns, or would adopt, with their ordinals.
pub fn set_pods_among<'a>(
    set: &'a StatefulSet,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> impl Iterator<Item = (i32, &'a Pod)> {
    let set_uid = set.metadata.uid.as_deref();
    let set_name = sts::name(set);
    let namespace = sts::namespace(set);
    pods.into_iter().filter_map(move |pod| {
        if pod.metadata.namespace.as_deref().unwrap_or("default") != namespace {
            return None;
        }
        let ordinal = sts::ordinal_of_pod(set_name, pod.metadata.name.as_deref()?)?;
        let controller = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|owner| owner.controller == Some(true));
        let belongs = match controller {
            Some(owner) => Some(owner.uid.as_str()) == set_uid,
            None => pod
                .metadata
                .labels
                .as_ref()
                .is_some_and(|labels| sts::selector_matches(&set.spec.selector, labels)),
        };
        belongs.then_some((ordinal, pod))
    })
}

/// When an event last happened, as kubectl orders them: the series' last
/// observation, else lastTimestamp, else eventTime, else creation.
pub fn event_time(event: &Event) -> Option<Timestamp> {
    event
        .series
        .as_ref()
        .and_then(|series| series.last_observed_time.as_ref())
        .map(|time| time.0)
        .or_else(|| event.last_timestamp.as_ref().map(|time| time.0))
        .or_else(|| event.event_time.as_ref().map(|time| time.0))
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|time| time.0)
        })
}

/// Run `fetch` only when `wanted`; otherwise nothing was asked for.
async fn list_when<T, F, Fut>(wanted: bool, fetch: F) -> Result<Option<Listing<T>>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Listing<T>>>,
{
    if wanted {
        fetch().await.map(Some)
    } else {
        Ok(None)
    }
}

/// A list nobody asked for reads as empty.
fn not_asked_is_empty<T>(listing: Option<Listing<T>>) -> Listing<T> {
    listing.unwrap_or_else(|| Listing::Listed(Vec::new()))
}

/// Events about claims: they say why a claim is Pending.
pub(crate) async fn claim_events(
    connection: &Connection,
    namespaces: &NamespaceScope,
) -> Result<Listing<Event>> {
    list_optional(
        connection,
        connection.api_in(namespaces),
        Some("involvedObject.kind=PersistentVolumeClaim".to_string()),
    )
    .await
}

/// A list the view cannot do without: any failure, 403 included, is an error.
pub(crate) async fn list_required<K>(
    connection: &Connection,
    api: Api<K>,
    label_selector: Option<String>,
) -> Result<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    list(api, label_selector, None)
        .await
        .map_err(|err| connection.error(err))
}

/// A list the view can do without: 403 becomes `Listing::Forbidden`.
pub(crate) async fn list_optional<K>(
    connection: &Connection,
    api: Api<K>,
    field_selector: Option<String>,
) -> Result<Listing<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    listing(connection, list(api, None, field_selector).await)
}

/// A list's answer as a [`Listing`]: 403 is `Forbidden`, other errors are errors.
fn listing<K>(
    connection: &Connection,
    answer: std::result::Result<Vec<K>, kube::Error>,
) -> Result<Listing<K>> {
    match answer {
        Ok(items) => Ok(Listing::Listed(items)),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(Listing::Forbidden),
        Err(err) => Err(connection.error(err)),
    }
}

/// One list call without paging: one request whatever the size.
async fn list<K>(
    api: Api<K>,
    label_selector: Option<String>,
    field_selector: Option<String>,
) -> std::result::Result<Vec<K>, kube::Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut params = ListParams::default();
    if let Some(labels) = label_selector {
        params = params.labels(&labels);
    }
    if let Some(fields) = field_selector {
        params = params.fields(&fields);
    }
    Ok(api.list(&params).await?.items)
}

/// What gives StatefulSets their network identity and disruption protection:
/// Services, their EndpointSlices and PodDisruptionBudgets (for `status`).
#[derive(Debug, Clone)]
pub struct IdentityInventory {
    pub services: Vec<k8s_openapi::api::core::v1::Service>,
    /// For one governing Service, only its slices (label `kubernetes.io/service-name`).
    pub endpoint_slices: Listing<k8s_openapi::api::discovery::v1::EndpointSlice>,
    pub pod_disruption_budgets: Listing<k8s_openapi::api::policy::v1::PodDisruptionBudget>,
}

/// Label the EndpointSlice controller puts on each slice: the Service it serves.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

impl IdentityInventory {
    /// Three list calls, concurrently. With `governing_service`, the slices are
    /// narrowed to that Service's on the server.
    pub async fn fetch(
        connection: &Connection,
        namespaces: &NamespaceScope,
        governing_service: Option<&str>,
    ) -> Result<IdentityInventory> {
        let slice_selector =
            governing_service.map(|service| format!("{SERVICE_NAME_LABEL}={service}"));
        let (services, endpoint_slices, pod_disruption_budgets) = tokio::join!(
            list_required(connection, connection.api_in(namespaces), None),
            async {
                listing(
                    connection,
                    list(connection.api_in(namespaces), slice_selector, None).await,
                )
            },
            list_optional(connection, connection.api_in(namespaces), None),
        );
        Ok(IdentityInventory {
            services: services?,
            endpoint_slices: endpoint_slices?,
            pod_disruption_budgets: pod_disruption_budgets?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};

    use super::*;
    use crate::error::Error;

    const BOUND_NFS: &str = include_str!("../tests/fixtures/volumes/bound-nfs.yaml");

    /// What the fake API server answers for a path (query excluded).
    type Route = fn(&str, &Inventory) -> (u16, Value);

    fn list<T: serde::Serialize>(kind: &str, items: &[T]) -> (u16, Value) {
        let items: Vec<Value> = items
            .iter()
            .filter_map(|item| serde_json::to_value(item).ok())
            .collect();
        (
            200,
            json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "7"}, "items": items}),
        )
    }

    fn forbidden(resource: &str) -> (u16, Value) {
        (
            403,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                   "message": format!("{resource} is forbidden: User \"dev\" cannot list resource \"{resource}\" at the cluster scope")}),
        )
    }

    /// A namespace-scoped Role: everything in `default`, nothing cluster-wide.
    fn namespaced_role(path: &str, cluster: &Inventory) -> (u16, Value) {
        match path {
            "/apis/apps/v1/namespaces/default/statefulsets" => {
                list("StatefulSetList", &cluster.statefulsets)
            }
            "/apis/apps/v1/namespaces/default/statefulsets/web" => (
                200,
                serde_json::to_value(&cluster.statefulsets[0]).unwrap_or_default(),
            ),
            "/api/v1/namespaces/default/pods" => list("PodList", &cluster.pods),
            "/api/v1/namespaces/default/persistentvolumeclaims" => {
                list("PersistentVolumeClaimList", &cluster.claims)
            }
            "/api/v1/namespaces/default/events" => list("EventList", &[] as &[Event]),
            "/api/v1/persistentvolumes" => forbidden("persistentvolumes"),
            "/apis/storage.k8s.io/v1/storageclasses" => forbidden("storageclasses"),
            _ => (
                404,
                json!({"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}),
            ),
        }
    }

    fn no_pods(path: &str, cluster: &Inventory) -> (u16, Value) {
        if path.ends_with("/pods") {
            return forbidden("pods");
        }
        namespaced_role(path, cluster)
    }

    /// A connection to a fake API server serving the fixture through `route`,
    /// and the requests it saw (path and query).
    fn fake_server(route: Route) -> (Connection, Arc<Mutex<Vec<String>>>) {
        let cluster = Arc::new(Inventory::from_manifests(BOUND_NFS).expect("fixture"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let uri = request.uri().clone();
            if let Ok(mut log) = log.lock() {
                log.push(uri.to_string());
            }
            let (status, body) = route(uri.path(), &cluster);
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&body).unwrap_or_default()));
            async move { response }
        });
        let connection = Connection {
            client: kube::Client::new(service, "default"),
            namespace: "default".to_string(),
            server_url: "https://fake".to_string(),
        };
        (connection, seen)
    }

    #[tokio::test]
    async fn a_namespace_role_gets_everything_but_volumes_and_classes_in_six_calls() {
        let (connection, seen) = fake_server(namespaced_role);
        let scope = SetScope::All(NamespaceScope::One("default".into()));
        let inventory = Inventory::fetch(&connection, &scope).await.expect("fetch");
        assert_eq!(inventory.statefulsets.len(), 1);
        assert_eq!(inventory.pods.len(), 3);
        assert_eq!(inventory.claims.len(), 3);
        assert!(inventory.volumes.is_forbidden());
        assert!(inventory.storage_classes.is_forbidden());
        assert_eq!(inventory.claim_events, Listing::Listed(Vec::new()));
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen.len(), 6, "{seen:#?}");
        assert!(
            seen.iter()
                .any(|uri| uri.starts_with("/api/v1/namespaces/default/events?")
                    && uri.contains("fieldSelector=involvedObject.kind%3DPersistentVolumeClaim")),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn a_named_set_lists_only_the_pods_its_selector_matches() {
        let (connection, seen) = fake_server(namespaced_role);
        let inventory = Inventory::fetch(&connection, &SetScope::Named("web".into()))
            .await
            .expect("fetch");
        assert_eq!(inventory.pods_of(&inventory.statefulsets[0]).count(), 3);
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen.len(), 6, "{seen:#?}");
        assert!(
            seen.iter()
                .any(|uri| uri.starts_with("/api/v1/namespaces/default/pods?")
                    && uri.contains("labelSelector=app%3Dnginx")),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn bound_claims_need_no_classes_or_events_when_the_view_allows() {
        let (connection, seen) = fake_server(namespaced_role);
        let scope = SetScope::All(NamespaceScope::One("default".into()));
        let detail = Detail {
            volumes: Need::Always,
            storage_classes: Need::WhenClaimsAreUnbound,
            claim_events: Need::WhenClaimsAreUnbound,
        };
        let inventory = Inventory::fetch_with(&connection, &scope, detail)
            .await
            .expect("fetch");
        assert_eq!(inventory.claims.len(), 3);
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen.len(), 4, "{seen:#?}");
        assert!(!seen.iter().any(|uri| uri.contains("/events")), "{seen:#?}");
    }

    #[tokio::test]
    async fn lists_a_view_never_needs_are_not_requested() {
        let (connection, seen) = fake_server(namespaced_role);
        let scope = SetScope::All(NamespaceScope::One("default".into()));
        let detail = Detail {
            volumes: Need::Never,
            storage_classes: Need::Always,
            claim_events: Need::WhenClaimsAreUnbound,
        };
        let inventory = Inventory::fetch_with(&connection, &scope, detail)
            .await
            .expect("fetch");
        assert_eq!(inventory.volumes, Listing::Listed(Vec::new()));
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen.len(), 4, "{seen:#?}");
        assert!(
            !seen.iter().any(|uri| uri.contains("/persistentvolumes")),
            "{seen:#?}"
        );
        assert!(
            seen.iter().any(|uri| uri.contains("/storageclasses")),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn pods_the_user_cannot_list_are_an_error() {
        let (connection, _) = fake_server(no_pods);
        let scope = SetScope::All(NamespaceScope::One("default".into()));
        let err = Inventory::fetch(&connection, &scope).await.err();
        assert!(
            matches!(&err, Some(Error::Forbidden { message }) if message.contains("cannot list resource \"pods\"")),
            "{err:?}"
        );
    }

    #[test]
    fn pods_belong_by_controller_reference_or_by_selector_when_orphaned() {
        let mut inventory = Inventory::from_manifests(BOUND_NFS).expect("fixture");
        let set = inventory.statefulsets[0].clone();
        // web-1 controlled by something else; web-2 orphaned (no controller) but matching.
        if let Some(owner) = inventory.pods[1]
            .metadata
            .owner_references
            .as_mut()
            .and_then(|o| o.first_mut())
        {
            owner.uid = "another-set".into();
        }
        inventory.pods[2].metadata.owner_references = None;
        let ordinals: Vec<i32> = inventory.pods_of(&set).map(|(o, _)| o).collect();
        assert_eq!(ordinals, vec![0, 2]);
    }

    #[test]
    fn the_latest_event_about_this_claim_wins() {
        let yaml = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: c, namespace: ns, uid: u1}}
- {apiVersion: v1, kind: Event, metadata: {name: e1, namespace: ns}, involvedObject: {kind: PersistentVolumeClaim, namespace: ns, name: c, uid: u1},
   reason: Old, lastTimestamp: "2026-01-01T00:00:00Z"}
- {apiVersion: v1, kind: Event, metadata: {name: e2, namespace: ns}, involvedObject: {kind: PersistentVolumeClaim, namespace: ns, name: c, uid: u1},
   reason: Newest, series: {count: 3, lastObservedTime: "2026-01-01T00:10:00.000000Z"}, eventTime: "2026-01-01T00:01:00.000000Z"}
- {apiVersion: v1, kind: Event, metadata: {name: e3, namespace: ns}, involvedObject: {kind: PersistentVolumeClaim, namespace: ns, name: c, uid: u0},
   reason: EarlierClaim, lastTimestamp: "2026-01-01T01:00:00Z"}
- {apiVersion: v1, kind: Event, metadata: {name: e4, namespace: other}, involvedObject: {kind: PersistentVolumeClaim, namespace: other, name: c},
   reason: OtherNamespace, lastTimestamp: "2026-01-01T02:00:00Z"}
"#;
        let inventory = Inventory::from_manifests(yaml).expect("fixture");
        let event = inventory.latest_claim_event(&inventory.claims[0]);
        assert_eq!(event.and_then(|e| e.reason.as_deref()), Some("Newest"));
    }

    #[test]
    fn manifests_of_other_kinds_are_refused() {
        let err =
            Inventory::from_manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
        assert!(err.is_err_and(|e| e.contains("ConfigMap")));
    }
}
