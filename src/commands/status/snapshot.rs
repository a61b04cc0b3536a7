//! Everything `status` looks at, fetched with a constant number of list calls
//! (never one request per pod), and the pure selection of what belongs to one
//! StatefulSet.

use std::collections::{BTreeSet, HashSet};

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
    list_optional, list_required,
};
use crate::sts;

/// The objects in scope (one namespace or all), as listed.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub inventory: Inventory,
    pub identity: IdentityInventory,
    /// Whose pods and claims were read in full.
    pub examined: Examined,
}

/// Which sets the snapshot holds pods and full claims for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Examined {
    Every,
    /// The overview reads members only for the sets that are not `settled`;
    /// the others are taken at their status' word (and their claims' names).
    Unsettled,
}

/// Whether a set's own status says all is well: the controller has seen the
/// current spec, and every desired replica (no more) exists, is Ready and
/// Available, and runs the one current revision. Such a set has no pod-level
/// story to tell (no stalled or failing pod, no pending claim of a pod).
pub fn settled(set: &StatefulSet) -> bool {
    let Some(status) = &set.status else {
        return false;
    };
    let desired = sts::desired_replicas(set);
    let updated = status.updated_replicas.unwrap_or(0) == desired;
    // OnDelete sets keep currentRevision at the old revision after their pods
    // are all replaced (upstream moves it for RollingUpdate only).
    let one_revision = status.current_revision.is_some()
        && status.current_revision == status.update_revision
        || sts::update_strategy(set) == "OnDelete" && status.update_revision.is_some();
    sts::spec_observed(set)
        && status.replicas == desired
        && status.ready_replicas.unwrap_or(0) == desired
        && status.available_replicas.unwrap_or(0) == desired
        && updated
        && one_revision
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
    /// False when the set is `settled` and its pods were not read (the
    /// overview): `pods` is empty and `claims` hold their metadata only.
    pub pods_read: bool,
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
            pods_read: snapshot.examined == Examined::Every || !settled(set),
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
        examined: Examined::Every,
    })
}

/// Up to this many unsettled sets, the overview reads each one's pods by its
/// selector (and the claims of their namespaces); beyond, one list of each
/// for the whole scope.
const SELECTED_MEMBER_LISTS_UP_TO: usize = 3;

/// What the overview of many sets reads: sets, Services, budgets, classes and
/// the claims' metadata (orphans are found by name) in one concurrent round;
/// then pods and full claims only of the sets that are not `settled`, and
/// claim events only if one of those claims is unbound. Five requests when all
/// is well, however many pods there are.
pub async fn fetch_overview(
    connection: &Connection,
    namespaces: &NamespaceScope,
) -> Result<Snapshot> {
    let client = connection.client.clone();
    let (sets, services, budgets, classes, claim_names) = tokio::join!(
        list_required::<StatefulSet>(connection, connection.api_in(namespaces), None),
        list_required::<Service>(connection, connection.api_in(namespaces), None),
        list_optional::<PodDisruptionBudget>(connection, connection.api_in(namespaces), None),
        list_optional::<StorageClass>(connection, kube::Api::all(client), None),
        claim_metadata(connection, namespaces),
    );
    let mut statefulsets = sets?;
    statefulsets
        .sort_by(|a, b| (sts::namespace(a), sts::name(a)).cmp(&(sts::namespace(b), sts::name(b))));
    let unsettled: Vec<&StatefulSet> = statefulsets.iter().filter(|set| !settled(set)).collect();
    let (pods, full_claims) = members_of(connection, namespaces, &unsettled).await?;
    let unbound = full_claims
        .iter()
        .any(|claim| claim.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound"));
    let claim_events = if unbound {
        crate::inventory::claim_events(connection, namespaces).await?
    } else {
        Listing::Listed(Vec::new())
    };
    let key = |claim: &PersistentVolumeClaim| {
        (
            claim.metadata.namespace.clone(),
            claim.metadata.name.clone(),
        )
    };
    let read_in_full: HashSet<_> = full_claims.iter().map(key).collect();
    let mut claims = full_claims;
    claims.extend(
        claim_names?
            .into_iter()
            .filter(|claim| !read_in_full.contains(&key(claim))),
    );
    Ok(Snapshot {
        inventory: Inventory {
            statefulsets,
            pods,
            claims,
            volumes: Listing::Listed(Vec::new()),
            storage_classes: classes?,
            claim_events,
        },
        identity: IdentityInventory {
            services: services?,
            // Endpoint readiness is part of a set's identity view, not the overview.
            endpoint_slices: Listing::Listed(Vec::new()),
            pod_disruption_budgets: budgets?,
        },
        examined: Examined::Unsettled,
    })
}

/// Every claim in scope with its metadata only (PartialObjectMetadataList).
async fn claim_metadata(
    connection: &Connection,
    namespaces: &NamespaceScope,
) -> Result<Vec<PersistentVolumeClaim>> {
    let api: kube::Api<PersistentVolumeClaim> = connection.api_in(namespaces);
    let list = api
        .list_metadata(&kube::api::ListParams::default())
        .await
        .map_err(|err| connection.error(err))?;
    Ok(list
        .items
        .into_iter()
        .map(|partial| PersistentVolumeClaim {
            metadata: partial.metadata,
            ..Default::default()
        })
        .collect())
}

/// The lists that read the members of the unsettled sets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MemberLists {
    /// Every pod and claim in scope: many sets are unsettled.
    Scope,
    /// Each set's pods by its selector, each namespace's claims once (a
    /// claim need not carry the selector's labels: made by hand, restored).
    Selected {
        pods: Vec<(String, Option<String>)>,
        claim_namespaces: BTreeSet<String>,
    },
}

fn member_lists(sets: &[&StatefulSet]) -> MemberLists {
    if sets.len() > SELECTED_MEMBER_LISTS_UP_TO {
        return MemberLists::Scope;
    }
    MemberLists::Selected {
        pods: sets
            .iter()
            .map(|set| (sts::namespace(set).to_string(), sts::pod_selector(set)))
            .collect(),
        claim_namespaces: sets
            .iter()
            .map(|set| sts::namespace(set).to_string())
            .collect(),
    }
}

/// Pods and full claims of these sets, each object once.
async fn members_of(
    connection: &Connection,
    namespaces: &NamespaceScope,
    sets: &[&StatefulSet],
) -> Result<(Vec<Pod>, Vec<PersistentVolumeClaim>)> {
    if sets.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let (pod_lists, claim_lists) = match member_lists(sets) {
        MemberLists::Scope => (vec![(namespaces.clone(), None)], vec![namespaces.clone()]),
        MemberLists::Selected {
            pods,
            claim_namespaces,
        } => (
            pods.into_iter()
                .map(|(namespace, selector)| (NamespaceScope::One(namespace), selector))
                .collect(),
            claim_namespaces
                .into_iter()
                .map(NamespaceScope::One)
                .collect(),
        ),
    };
    let (pods, claims) = tokio::join!(
        futures::future::try_join_all(pod_lists.iter().map(|(namespace, selector)| {
            list_required::<Pod>(connection, connection.api_in(namespace), selector.clone())
        })),
        futures::future::try_join_all(claim_lists.iter().map(|namespace| {
            list_required::<PersistentVolumeClaim>(connection, connection.api_in(namespace), None)
        })),
    );
    // Selectors of sets in one namespace may overlap.
    let mut seen = HashSet::new();
    let pods = pods?
        .into_iter()
        .flatten()
        .filter(|pod| seen.insert((pod.metadata.namespace.clone(), pod.metadata.name.clone())))
        .collect();
    Ok((pods, claims?.into_iter().flatten().collect()))
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
        examined: Examined::Every,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::status::test_support::fixture;

    fn web() -> StatefulSet {
        fixture("web.yaml").inventory.statefulsets[0].clone()
    }

    fn with_status(
        change: impl Fn(&mut k8s_openapi::api::apps::v1::StatefulSetStatus),
    ) -> StatefulSet {
        let mut set = web();
        if let Some(status) = set.status.as_mut() {
            change(status);
        }
        set
    }

    #[test]
    fn a_set_is_settled_only_when_its_status_vouches_for_every_replica() {
        assert!(settled(&web()));
        let unsettled = [
            ("spec not yet observed", {
                let mut set = web();
                set.metadata.generation = Some(5);
                set
            }),
            (
                "never observed",
                with_status(|s| s.observed_generation = Some(0)),
            ),
            (
                "a pod not ready",
                with_status(|s| s.ready_replicas = Some(2)),
            ),
            (
                "not yet available",
                with_status(|s| s.available_replicas = Some(2)),
            ),
            (
                "scaling down: a pod above the range",
                with_status(|s| s.replicas = 4),
            ),
            ("mid-update", with_status(|s| s.updated_replicas = Some(1))),
            (
                "two revisions (a partition holds the update)",
                with_status(|s| s.update_revision = Some("web-new".into())),
            ),
            ("no status at all", {
                let mut set = web();
                set.status = None;
                set
            }),
        ];
        for (why, set) in unsettled {
            assert!(!settled(&set), "{why}");
        }
    }

    #[test]
    fn an_on_delete_set_with_every_pod_replaced_is_settled() {
        let mut set = with_status(|s| s.update_revision = Some("web-new".into()));
        set.spec.update_strategy = Some(
            serde_json::from_value(serde_json::json!({"type": "OnDelete"})).expect("strategy"),
        );
        assert!(settled(&set), "currentRevision stays old under OnDelete");
        if let Some(status) = set.status.as_mut() {
            status.updated_replicas = Some(2);
        }
        assert!(!settled(&set), "a pod still on the old revision");
    }

    #[test]
    fn few_unsettled_sets_are_read_by_selector_and_their_namespaces_claims_once() {
        let web = web();
        let mut other = web.clone();
        other.metadata.name = Some("db".into());
        let mut elsewhere = web.clone();
        elsewhere.metadata.namespace = Some("shop".into());
        let lists = member_lists(&[&web, &other, &elsewhere]);
        let MemberLists::Selected {
            pods,
            claim_namespaces,
        } = lists
        else {
            panic!("expected selected lists, got {lists:?}");
        };
        assert_eq!(pods.len(), 3);
        assert_eq!(pods[0], ("default".to_string(), sts::pod_selector(&web)));
        assert_eq!(
            claim_namespaces.into_iter().collect::<Vec<_>>(),
            vec!["default".to_string(), "shop".to_string()]
        );
        let many = [&web, &other, &elsewhere, &web];
        assert_eq!(member_lists(&many), MemberLists::Scope);
    }
}
