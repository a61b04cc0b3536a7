//! Everything `status` looks at, fetched with a constant number of list calls
//! (never one request per pod), and the pure selection of what belongs to one
//! StatefulSet.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use serde::de::DeserializeOwned;

use crate::context::{Connection, NamespaceScope};
use crate::error::Result;
use crate::inventory::{
    Detail, IdentityInventory, Inventory, Listing, Need, SERVICE_NAME_LABEL, SetScope,
};
use crate::sts;

/// The objects in scope (one namespace or all), as listed.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub inventory: Inventory,
    pub identity: IdentityInventory,
}

fn readable<T>(listing: &Listing<T>) -> Option<&[T]> {
    (!listing.is_forbidden()).then(|| listing.items())
}

/// The objects related to one StatefulSet, picked out of a snapshot.
#[derive(Debug, Clone)]
pub struct Related<'a> {
    pub set: &'a StatefulSet,
    /// Pods the set controls, by ordinal (condemned ones above the range included).
    pub pods: Vec<(i32, &'a Pod)>,
    /// Claims named after the set's templates: (template, ordinal, claim), by template then ordinal.
    pub claims: Vec<(String, i32, &'a PersistentVolumeClaim)>,
    /// The governing Service, when `serviceName` names one that exists.
    pub service: Option<&'a Service>,
    /// The governing Service's EndpointSlices; None when they could not be read.
    pub endpoint_slices: Option<Vec<&'a EndpointSlice>>,
    /// Budgets whose selector covers the pod template; None when they could not be read.
    pub pod_disruption_budgets: Option<Vec<&'a PodDisruptionBudget>>,
    pub storage_classes: Option<&'a [StorageClass]>,
    /// Events about this set's claims; None when events could not be read.
    pub claim_events: Option<Vec<&'a Event>>,
}

fn namespace_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// The governing Service's name, if `serviceName` is set.
pub fn service_name(set: &StatefulSet) -> Option<&str> {
    set.spec
        .service_name
        .as_deref()
        .filter(|name| !name.is_empty())
}

/// Whether a PodDisruptionBudget's selector covers pods with these labels
/// (policy/v1: a null selector selects nothing, an empty one every pod).
pub fn budget_covers(
    budget: &PodDisruptionBudget,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    budget
        .spec
        .as_ref()
        .and_then(|spec| spec.selector.as_ref())
        .is_some_and(|selector| sts::selector_matches(selector, labels))
}

/// The labels every pod of the set gets from its template.
pub fn template_labels(set: &StatefulSet) -> std::collections::BTreeMap<String, String> {
    set.spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

impl<'a> Related<'a> {
    pub fn gather(set: &'a StatefulSet, snapshot: &'a Snapshot) -> Self {
        let namespace = sts::namespace(set);
        let set_name = sts::name(set);
        let in_namespace = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            namespace_of(meta) == namespace
        };

        let inventory = &snapshot.inventory;
        let identity = &snapshot.identity;
        let mut pods: Vec<(i32, &Pod)> = inventory.pods_of(set).collect();
        pods.sort_by_key(|(ordinal, _)| *ordinal);

        let templates = sts::claim_templates(set);
        let mut claims: Vec<(String, i32, &PersistentVolumeClaim)> = inventory
            .claims
            .iter()
            .filter(|claim| in_namespace(&claim.metadata))
            .filter_map(|claim| {
                let name = claim.metadata.name.as_deref()?;
                templates.iter().find_map(|template| {
                    sts::ordinal_of_claim(template, set_name, name)
                        .map(|ordinal| (template.clone(), ordinal, claim))
                })
            })
            .collect();
        claims.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));

        let service = service_name(set).and_then(|wanted| {
            identity.services.iter().find(|service| {
                in_namespace(&service.metadata) && service.metadata.name.as_deref() == Some(wanted)
            })
        });

        let endpoint_slices = readable(&identity.endpoint_slices).map(|slices| {
            slices
                .iter()
                .filter(|slice| {
                    in_namespace(&slice.metadata)
                        && service.is_some()
                        && slice
                            .metadata
                            .labels
                            .as_ref()
                            .and_then(|labels| labels.get(SERVICE_NAME_LABEL))
                            .map(String::as_str)
                            == service_name(set)
                })
                .collect()
        });

        let labels = template_labels(set);
        let pod_disruption_budgets = readable(&identity.pod_disruption_budgets).map(|budgets| {
            budgets
                .iter()
                .filter(|budget| in_namespace(&budget.metadata) && budget_covers(budget, &labels))
                .collect()
        });

        let claim_events = readable(&inventory.claim_events).map(|events| {
            events
                .iter()
                .filter(|event| {
                    let object = &event.involved_object;
                    object.kind.as_deref() == Some("PersistentVolumeClaim")
                        && object.namespace.as_deref().unwrap_or(namespace) == namespace
                        && claims
                            .iter()
                            .any(|(_, _, claim)| claim.metadata.name == object.name)
                })
                .collect()
        });

        Related {
            set,
            pods,
            claims,
            service,
            endpoint_slices,
            pod_disruption_budgets,
            storage_classes: readable(&inventory.storage_classes),
            claim_events,
        }
    }
}

/// What `status` reads beyond sets, pods and claims: classes (templates name
/// them), claim events only to explain unbound claims, never the volumes.
const STATUS_DETAIL: Detail = Detail {
    volumes: Need::Never,
    storage_classes: Need::Always,
    claim_events: Need::WhenClaimsAreUnbound,
};

/// Fetch what `status` needs: the inventory's lists and three more (Services,
/// EndpointSlices, PodDisruptionBudgets); a constant number of calls whatever
/// the size, all at once across namespaces. A named set is read first: its
/// governing Service narrows the EndpointSlices.
pub async fn fetch(connection: &Connection, scope: &SetScope) -> Result<Snapshot> {
    let (inventory, identity) = match scope {
        SetScope::All(namespaces) => {
            let (inventory, identity) = tokio::join!(
                Inventory::fetch_with(connection, scope, STATUS_DETAIL),
                IdentityInventory::fetch(connection, namespaces, None),
            );
            (inventory?, identity?)
        }
        SetScope::Named(_) => {
            let inventory = Inventory::fetch_with(connection, scope, STATUS_DETAIL).await?;
            let namespaces = NamespaceScope::One(connection.namespace.clone());
            let governing_service = inventory.statefulsets.first().and_then(service_name);
            let identity =
                IdentityInventory::fetch(connection, &namespaces, governing_service).await?;
            (inventory, identity)
        }
    };
    Ok(Snapshot {
        inventory,
        identity,
    })
}

/// A snapshot from a multi-document YAML file (test fixtures, `kubectl get -o yaml`
/// output of the objects involved).
pub fn from_yaml(text: &str) -> std::result::Result<Snapshot, String> {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| format!("invalid YAML: {e}"))?;
    fn parse<T: DeserializeOwned>(
        kind: &str,
        value: serde_json::Value,
    ) -> std::result::Result<T, String> {
        serde_json::from_value(value).map_err(|e| format!("invalid {kind}: {e}"))
    }
    let mut sets: Vec<StatefulSet> = Vec::new();
    let mut pods: Vec<Pod> = Vec::new();
    let mut claims: Vec<PersistentVolumeClaim> = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    let mut slices: Vec<EndpointSlice> = Vec::new();
    let mut budgets: Vec<PodDisruptionBudget> = Vec::new();
    let mut classes: Vec<StorageClass> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    for document in documents.into_iter().filter(|d| !d.is_null()) {
        let kind = document
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        match kind.as_str() {
            "StatefulSet" => sets.push(parse(&kind, document)?),
            "Pod" => pods.push(parse(&kind, document)?),
            "PersistentVolumeClaim" => claims.push(parse(&kind, document)?),
            "Service" => services.push(parse(&kind, document)?),
            "EndpointSlice" => slices.push(parse(&kind, document)?),
            "PodDisruptionBudget" => budgets.push(parse(&kind, document)?),
            "StorageClass" => classes.push(parse(&kind, document)?),
            "Event" => events.push(parse(&kind, document)?),
            other => return Err(format!("unexpected kind {other:?} in fixture")),
        }
    }
    Ok(Snapshot {
        inventory: Inventory {
            statefulsets: sets,
            pods,
            claims,
            volumes: Listing::Listed(Vec::new()),
            storage_classes: Listing::Listed(classes),
            claim_events: Listing::Listed(events),
        },
        identity: IdentityInventory {
            services,
            endpoint_slices: Listing::Listed(slices),
            pod_disruption_budgets: Listing::Listed(budgets),
        },
    })
}
