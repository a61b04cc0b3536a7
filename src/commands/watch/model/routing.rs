//! Several watched sets: which view a change belongs to, and what a relist
//! (after a watch expired) implies.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use super::{Change, SetView, Transition, WatchedKind};
use crate::sts;

/// Which sets a watch follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchTarget {
    One {
        namespace: String,
        name: String,
    },
    /// Every set in one namespace, or in all of them (None).
    All {
        namespace: Option<String>,
    },
}

/// Several `SetView`s with the routing of changes between them.
#[derive(Debug, Clone)]
pub struct WatchedSets {
    target: WatchTarget,
    views: BTreeMap<(String, String), SetView>,
    /// Claims seen before their set (different watches race); adopted when it appears.
    unrouted_claims: BTreeMap<(String, String), PersistentVolumeClaim>,
}

fn namespace_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| "default".to_string())
}

impl WatchedSets {
    pub fn new(target: WatchTarget) -> Self {
        let mut views = BTreeMap::new();
        if let WatchTarget::One { namespace, name } = &target {
            views.insert(
                (namespace.clone(), name.clone()),
                SetView::new(namespace, name),
            );
        }
        WatchedSets {
            target,
            views,
            unrouted_claims: BTreeMap::new(),
        }
    }

    pub fn target(&self) -> &WatchTarget {
        &self.target
    }

    pub fn views(&self) -> impl Iterator<Item = &SetView> {
        self.views.values()
    }

    pub fn view(&self, namespace: &str, name: &str) -> Option<&SetView> {
        self.views.get(&(namespace.to_string(), name.to_string()))
    }

    fn wants_set(&self, namespace: &str, name: &str) -> bool {
        match &self.target {
            WatchTarget::One {
                namespace: ns,
                name: n,
            } => ns == namespace && n == name,
            WatchTarget::All { namespace: None } => true,
            WatchTarget::All {
                namespace: Some(ns),
            } => ns == namespace,
        }
    }

    /// The view a change belongs to, creating views for sets in scope as they appear.
    fn route(&mut self, change: &Change) -> Option<(String, String)> {
        match change {
            Change::SetApplied(set) | Change::SetDeleted(set) => {
                let key = (namespace_of(&set.metadata), sts::name(set).to_string());
                if !self.wants_set(&key.0, &key.1) {
                    return None;
                }
                Some(key)
            }
            Change::PodApplied(pod) | Change::PodDeleted(pod) => {
                let namespace = namespace_of(&pod.metadata);
                let owner = pod
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .find(|o| o.controller == Some(true) && o.kind == "StatefulSet")
                    .map(|o| o.name.clone());
                if let Some(owner) = owner
                    && self.wants_set(&namespace, &owner)
                {
                    return Some((namespace, owner));
                }
                self.views
                    .iter()
                    .find(|(_, view)| view.pod_ordinal(pod).is_some())
                    .map(|(key, _)| key.clone())
            }
            Change::ClaimApplied(claim) | Change::ClaimDeleted(claim) => {
                let name = claim.metadata.name.as_deref().unwrap_or_default();
                let namespace = claim.metadata.namespace.as_deref();
                self.views
                    .iter()
                    .find(|(_, view)| view.claim_slot(namespace, name).is_some())
                    .map(|(key, _)| key.clone())
            }
            Change::EventApplied(event) | Change::EventDeleted(event) => self
                .views
                .iter()
                .find(|(_, view)| view.event_is_about_this_set(event))
                .map(|(key, _)| key.clone()),
        }
    }

    pub fn apply(&mut self, change: &Change, now: Timestamp) -> Vec<Transition> {
        let Some(key) = self.route(change) else {
            if let Change::ClaimApplied(claim) = change {
                let key = (
                    namespace_of(&claim.metadata),
                    claim.metadata.name.clone().unwrap_or_default(),
                );
                self.unrouted_claims.insert(key, (**claim).clone());
            } else if let Change::ClaimDeleted(claim) = change {
                let key = (
                    namespace_of(&claim.metadata),
                    claim.metadata.name.clone().unwrap_or_default(),
                );
                self.unrouted_claims.remove(&key);
            }
            return Vec::new();
        };
        let is_new = !self.views.contains_key(&key);
        let view = self
            .views
            .entry(key.clone())
            .or_insert_with(|| SetView::new(&key.0, &key.1));
        let mut out = view.apply(change, now);
        let forgotten = view.set.is_none() && view.pods.is_empty();
        if is_new || matches!(change, Change::SetApplied(_)) {
            out.extend(self.adopt_claims(&key, now));
        }
        // Watching every set: a set that is gone with all its pods leaves the view.
        if forgotten && matches!(self.target, WatchTarget::All { .. }) {
            self.views.remove(&key);
        }
        out
    }

    fn adopt_claims(&mut self, key: &(String, String), now: Timestamp) -> Vec<Transition> {
        let Some(view) = self.views.get_mut(key) else {
            return Vec::new();
        };
        let adopted: Vec<(String, String)> = self
            .unrouted_claims
            .iter()
            .filter(|((ns, name), _)| view.claim_slot(Some(ns), name).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for claim_key in adopted {
            if let Some(claim) = self.unrouted_claims.remove(&claim_key) {
                out.extend(view.apply(&Change::ClaimApplied(Box::new(claim)), now));
            }
        }
        out
    }

    /// A watch of `kind` relisted: everything of that kind not in `listed` is
    /// gone; everything listed is applied (unchanged objects cause no transitions).
    pub fn relist(
        &mut self,
        kind: WatchedKind,
        listed: Vec<Change>,
        now: Timestamp,
    ) -> Vec<Transition> {
        let key = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            format!(
                "{}/{}",
                namespace_of(meta),
                meta.name.as_deref().unwrap_or_default()
            )
        };
        let names: HashSet<String> = listed
            .iter()
            .filter_map(|change| match (kind, change) {
                (WatchedKind::Sets, Change::SetApplied(o)) => Some(key(&o.metadata)),
                (WatchedKind::Pods, Change::PodApplied(o)) => Some(key(&o.metadata)),
                (WatchedKind::Claims, Change::ClaimApplied(o)) => Some(key(&o.metadata)),
                (WatchedKind::Events, Change::EventApplied(o)) => o.metadata.uid.clone(),
                _ => None,
            })
            .collect();
        if kind == WatchedKind::Claims {
            self.unrouted_claims
                .retain(|(ns, name), _| names.contains(&format!("{ns}/{name}")));
        }
        let mut out = Vec::new();
        for view in self.views.values_mut() {
            out.extend(view.forget_unlisted(kind, &names, now));
        }
        for change in &listed {
            out.extend(self.apply(change, now));
        }
        out
    }
}
