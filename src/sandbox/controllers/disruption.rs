//! PodDisruptionBudget status, as upstream's disruption controller
//! (pkg/controller/disruption) writes it: how many selected pods are
//! expected, how many are healthy (Ready, not being deleted, not just
//! evicted), how many must stay healthy, and so how many disruptions are
//! allowed now. The eviction subresource (`api/eviction.rs`) reads that
//! figure, which is how a budget makes `kubectl drain` wait.
//!
//! `assess` (status and events from one reading of the pods) is pure; `run`
//! keeps every budget's status current.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::events::{self, EventType, ObjectReference};
use super::resync::{self, RepeatFilter, Wake};
use crate::sandbox::api::cluster::{Change, Cluster, ListOptions, Subresource, WriteOptions};
use crate::sandbox::api::selectors::{LabelSelector, labels_of, selector_string};
use crate::sandbox::resources::{POD_DISRUPTION_BUDGETS, PODS, STATEFUL_SETS};

/// The event source of upstream's controller manager.
const COMPONENT: &str = "controllermanager";

/// How long an evicted pod counts as disrupted while its deletion is
/// pending (upstream's `DeletionTimeout`).
const DELETION_TIMEOUT: Duration = Duration::from_secs(120);

/// The budget condition's type, and its reasons.
const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
const SUFFICIENT_PODS: &str = "SufficientPods";
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
const SYNC_FAILED: &str = "SyncFailed";

/// The pods a budget's selector picks from its namespace's pods: none for
/// a missing selector, all for an empty one (the controller's reading of
/// policy/v1).
fn selected_pods<'a>(budget: &Value, pods: &'a [Value]) -> Vec<&'a Value> {
    let selector = &budget["spec"]["selector"];
    if selector.is_null() {
        return Vec::new();
    }
    let Ok(selector) = LabelSelector::from_object(selector) else {
        return Vec::new();
    };
    pods.iter()
        .filter(|pod| pod["metadata"]["namespace"] == budget["metadata"]["namespace"])
        .filter(|pod| selector.matches_labels(&labels_of(pod)))
        .collect()
}

pub fn is_pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn is_deleting(pod: &Value) -> bool {
    !pod["metadata"]["deletionTimestamp"].is_null()
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, "N%" of `total`.
fn scaled_value(value: &Value, total: i64, round_up: bool) -> Result<i64, String> {
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    let text = value.as_str().unwrap_or_default();
    let percent: i64 = text
        .strip_suffix('%')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("invalid value for IntOrString: invalid value {text:?}"))?;
    let scaled = percent * total;
    Ok(if round_up {
        (scaled + 99).div_euclid(100)
    } else {
        scaled.div_euclid(100)
    })
}

/// The sum of the scales of the controllers of `pods`, each counted once.
/// Pods without a controller are left out (upstream warns with an event);
/// a controller the sandbox cannot find is an error, as upstream's.
fn expected_scale(pods: &[&Value], sets: &[Value]) -> Result<i64, String> {
    let mut scales: HashMap<String, i64> = HashMap::new();
    for pod in pods {
        let owners = pod["metadata"]["ownerReferences"].as_array();
        let Some(owner) = owners
            .into_iter()
            .flatten()
            .find(|o| o["controller"] == true)
        else {
            continue;
        };
        let uid = owner["uid"].as_str().unwrap_or_default().to_string();
        if scales.contains_key(&uid) {
            continue;
        }
        let set = sets
            .iter()
            .find(|s| owner["kind"] == "StatefulSet" && s["metadata"]["uid"] == owner["uid"]);
        let Some(set) = set else {
            return Err(format!(
                "found no controllers for pod {:?}",
                pod["metadata"]["name"].as_str().unwrap_or_default()
            ));
        };
        scales.insert(uid, set["spec"]["replicas"].as_i64().unwrap_or(1));
    }
    Ok(scales.values().sum())
}

/// (expected pods, desired healthy), or why they cannot be worked out.
type Figures = Result<(i64, i64), String>;

/// What one sync makes of a budget, from its namespace's pods and
/// StatefulSets: the status to write and the events to record.
fn assess(
    budget: &Value,
    pods: &[Value],
    sets: &[Value],
    now: Timestamp,
) -> (Value, Vec<(EventType, &'static str, String)>) {
    let selected = selected_pods(budget, pods);
    let figures = expected_and_desired(&budget["spec"], &selected, sets);
    (
        budget_status(budget, &selected, &figures, now),
        budget_events(budget, &selected, &figures),
    )
}

/// (expected pods, desired healthy), as `getExpectedPodCount` works them out.
fn expected_and_desired(spec: &Value, pods: &[&Value], sets: &[Value]) -> Figures {
    if !spec["maxUnavailable"].is_null() {
        let expected = expected_scale(pods, sets)?;
        let max_unavailable = scaled_value(&spec["maxUnavailable"], expected, true)?;
        return Ok((expected, (expected - max_unavailable).max(0)));
    }
    match &spec["minAvailable"] {
        Value::Null => Ok((0, 0)),
        Value::Number(n) => Ok((pods.len() as i64, n.as_i64().unwrap_or(0))),
        percent => {
            let expected = expected_scale(pods, sets)?;
            Ok((expected, scaled_value(percent, expected, true)?))
        }
    }
}

/// The events a sync of `budget` records, as upstream's controller does:
/// no pods selected (Normal NoPods), the expected count not computable
/// (Warning CalculateExpectedPodCountFailed), or selected pods without a
/// controller under a rule that needs their scale (Warning UnmanagedPods).
fn budget_events(
    budget: &Value,
    selected: &[&Value],
    figures: &Figures,
) -> Vec<(EventType, &'static str, String)> {
    let spec = &budget["spec"];
    let mut events = Vec::new();
    if selected.is_empty() {
        events.push((
            EventType::Normal,
            "NoPods",
            "No matching pods found".to_string(),
        ));
    }
    if let Err(message) = figures {
        events.push((
            EventType::Warning,
            "CalculateExpectedPodCountFailed",
            format!("Failed to calculate the number of expected pods: {message}"),
        ));
    }
    let needs_scale = !spec["maxUnavailable"].is_null() || spec["minAvailable"].is_string();
    let unmanaged = selected.iter().any(|pod| {
        !pod["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["controller"] == true)
    });
    if needs_scale && unmanaged {
        events.push((
            EventType::Warning,
            "UnmanagedPods",
            format!(
                "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. \
                 As a result, the status of the PDB cannot be calculated correctly, which may result \
                 in undefined behavior. To account for these pods please set \".spec.minAvailable\" \
                 field of the PDB to an integer value.",
                selector_string(&spec["selector"])
            ),
        ));
    }
    events
}

fn parse_time(value: &Value) -> Option<Timestamp> {
    value.as_str()?.parse().ok()
}

/// The status the controller writes for `budget`, given its namespace's pods
/// and StatefulSets at `now`: the computed figures, or on failure upstream's
/// fail-safe (no disruption allowed, condition SyncFailed with the error).
fn budget_status(budget: &Value, selected: &[&Value], figures: &Figures, now: Timestamp) -> Value {
    let old = &budget["status"];
    let generation = budget["metadata"]["generation"].as_i64().unwrap_or(0);
    let (expected, desired) = match figures {
        Ok(figures) => *figures,
        Err(message) => {
            let mut status = old.clone();
            status["disruptionsAllowed"] = json!(0);
            let observed = old["observedGeneration"].as_i64().unwrap_or(0);
            let condition = (false, SYNC_FAILED, message.as_str(), observed);
            status["conditions"] = with_condition(old, condition, now);
            return status;
        }
    };
    let timeout = jiff::SignedDuration::try_from(DELETION_TIMEOUT).unwrap_or_default();
    // Evicted pods not yet being deleted, until their deletion is overdue.
    let mut disrupted = BTreeMap::new();
    for pod in selected {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let since = &old["disruptedPods"][name];
        if let Some(at) = parse_time(since).filter(|at| !is_deleting(pod) && *at + timeout > now) {
            disrupted.insert(name.to_string(), json!(at.to_string()));
        }
    }
    let healthy = selected
        .iter()
        .filter(|pod| !is_deleting(pod))
        .filter(|pod| !disrupted.contains_key(pod["metadata"]["name"].as_str().unwrap_or_default()))
        .filter(|pod| is_pod_ready(pod))
        .count() as i64;
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let reason = if allowed > 0 {
        SUFFICIENT_PODS
    } else {
        INSUFFICIENT_PODS
    };
    let mut status = json!({
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "disruptionsAllowed": allowed,
        "observedGeneration": generation,
        "conditions": with_condition(old, (allowed > 0, reason, "", generation), now),
    });
    if !disrupted.is_empty() {
        status["disruptedPods"] = json!(disrupted);
    }
    status
}

/// The budget's conditions with DisruptionAllowed set as
/// `meta.SetStatusCondition` does: the transition time moves only when the
/// status changes.
pub fn with_condition(
    old_status: &Value,
    (allowed, reason, message, observed_generation): (bool, &str, &str, i64),
    now: Timestamp,
) -> Value {
    let mut conditions: Vec<Value> = old_status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let status = if allowed { "True" } else { "False" };
    let position = conditions
        .iter()
        .position(|c| c["type"] == DISRUPTION_ALLOWED);
    let transition = position
        .map(|i| &conditions[i])
        .filter(|c| c["status"] == status)
        .map_or_else(
            || json!(crate::sandbox::api::cluster::timestamp_string(now)),
            |c| c["lastTransitionTime"].clone(),
        );
    let condition = json!({
        "type": DISRUPTION_ALLOWED,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": observed_generation,
        "lastTransitionTime": transition,
    });
    match position {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
    json!(conditions)
}

fn items(
    cluster: &Cluster,
    rt: &'static crate::sandbox::resources::ResourceType,
    ns: &str,
) -> Vec<Value> {
    cluster
        .list(rt, Some(ns), &ListOptions::default())
        .map(|list| list.items)
        .unwrap_or_default()
}

/// How often a still-true budget event is recorded again.
const EVENT_REPEAT: Duration = Duration::from_secs(15 * 60);

/// Write every budget's status that is out of date, and its events.
fn sync_once(cluster: &Cluster, reported: &mut RepeatFilter) {
    let Ok(budgets) = cluster.list(&POD_DISRUPTION_BUDGETS, None, &ListOptions::default()) else {
        return;
    };
    let now = Timestamp::now();
    let mut by_namespace: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for budget in budgets.items {
        let ns = budget["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (pods, sets) = by_namespace.entry(ns.clone()).or_insert_with(|| {
            (
                items(cluster, &PODS, &ns),
                items(cluster, &STATEFUL_SETS, &ns),
            )
        });
        let uid = budget["metadata"]["uid"].as_str().unwrap_or_default();
        let (status, budget_events) = assess(&budget, pods, sets, now);
        for (type_, reason, message) in budget_events {
            if reported.should_report(uid, &format!("{reason}: {message}"), EVENT_REPEAT) {
                let involved = ObjectReference::of(&budget);
                events::record(cluster, &involved, type_, reason, &message, COMPONENT);
            }
        }
        if same_status(&budget["status"], &status) {
            continue;
        }
        let mut updated = budget.clone();
        updated["status"] = status;
        let name = budget["metadata"]["name"].as_str().unwrap_or_default();
        // A conflict (an eviction wrote first) is retried on the next wake.
        if let Err(err) = cluster.update(
            &POD_DISRUPTION_BUDGETS,
            Some(&ns),
            name,
            updated,
            Subresource::Status,
            &WriteOptions::default(),
        ) {
            tracing::debug!(%err, "disruption: cannot update {ns}/{name}");
        }
    }
}

/// Equal but for the condition's transition time, which only moves with its status.
fn same_status(old: &Value, new: &Value) -> bool {
    let strip = |status: &Value| {
        let mut status = status.clone();
        if let Some(conditions) = status["conditions"].as_array_mut() {
            for condition in conditions {
                if let Some(map) = condition.as_object_mut() {
                    map.remove("lastTransitionTime");
                }
            }
        }
        status
    };
    strip(old) == strip(new)
}

fn is_relevant(change: &Change) -> bool {
    change.rt == &PODS || change.rt == &POD_DISRUPTION_BUDGETS || change.rt == &STATEFUL_SETS
}

/// How often budgets are synced without a change (expiring disrupted pods).
const RESYNC: Duration = Duration::from_secs(15);

/// Keep every budget's status current until the cluster goes away.
pub async fn run(cluster: Cluster) {
    let mut changes = cluster.subscribe();
    let mut reported = RepeatFilter::default();
    loop {
        sync_once(&cluster, &mut reported);
        if resync::next_wake(&mut changes, is_relevant, RESYNC).await == Wake::Closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, uid: &str, replicas: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": "db", "uid": uid}, "spec": {"replicas": replicas}})
    }

    fn pod(name: &str, ready: bool) -> Value {
        json!({
            "metadata": {
                "name": name, "namespace": "db", "labels": {"app": "db"},
                "ownerReferences": [{"kind": "StatefulSet", "name": "db", "uid": "set-uid", "controller": true}]
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        })
    }

    fn budget(spec: Value) -> Value {
        let mut spec = spec;
        spec["selector"] = json!({"matchLabels": {"app": "db"}});
        json!({"metadata": {"name": "db", "namespace": "db", "generation": 2}, "spec": spec, "status": {}})
    }

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn max_unavailable_one_allows_one_disruption_while_all_are_ready() {
        let pods = vec![pod("db-0", true), pod("db-1", true), pod("db-2", true)];
        let sets = vec![set("db", "set-uid", 3)];
        let status = assess(&budget(json!({"maxUnavailable": 1})), &pods, &sets, now()).0;
        assert_eq!(status["expectedPods"], 3);
        assert_eq!(status["desiredHealthy"], 2);
        assert_eq!(status["currentHealthy"], 3);
        assert_eq!(status["disruptionsAllowed"], 1);
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(status["conditions"][0]["status"], "True");
        assert_eq!(status["conditions"][0]["reason"], "SufficientPods");
        // One pod not Ready uses the budget up.
        let pods = vec![pod("db-0", true), pod("db-1", false), pod("db-2", true)];
        let status = assess(&budget(json!({"maxUnavailable": 1})), &pods, &sets, now()).0;
        assert_eq!(status["disruptionsAllowed"], 0);
        assert_eq!(status["conditions"][0]["reason"], "InsufficientPods");
    }

    #[test]
    fn percentages_count_the_controllers_scale_and_round_up() {
        // Two of five replicas exist; 50% of the set's 5 is 3 (rounded up).
        let pods = vec![pod("db-0", true), pod("db-1", true)];
        let sets = vec![set("db", "set-uid", 5)];
        let status = assess(&budget(json!({"minAvailable": "50%"})), &pods, &sets, now()).0;
        assert_eq!(status["expectedPods"], 5);
        assert_eq!(status["desiredHealthy"], 3);
        assert_eq!(status["disruptionsAllowed"], 0);
        // An integer minAvailable counts the pods that exist instead.
        let status = assess(&budget(json!({"minAvailable": 1})), &pods, &sets, now()).0;
        assert_eq!(status["expectedPods"], 2);
        assert_eq!(status["disruptionsAllowed"], 1);
        // maxUnavailable 34% of 5 rounds up to 2 unavailable.
        let status = assess(
            &budget(json!({"maxUnavailable": "34%"})),
            &pods,
            &sets,
            now(),
        )
        .0;
        assert_eq!(status["desiredHealthy"], 3);
    }

    #[test]
    fn recently_evicted_pods_do_not_count_as_healthy_until_overdue() {
        let pods = vec![pod("db-0", true), pod("db-1", true), pod("db-2", true)];
        let sets = vec![set("db", "set-uid", 3)];
        let mut evicted = budget(json!({"maxUnavailable": 1}));
        evicted["status"]["disruptedPods"] = json!({"db-0": "2026-11-23T11:59:30Z"});
        let status = assess(&evicted, &pods, &sets, now()).0;
        assert_eq!(status["currentHealthy"], 2);
        assert_eq!(status["disruptionsAllowed"], 0);
        assert_eq!(status["disruptedPods"]["db-0"], "2026-11-23T11:59:30Z");
        evicted["status"]["disruptedPods"] = json!({"db-0": "2026-11-23T11:50:00Z"});
        let status = assess(&evicted, &pods, &sets, now()).0;
        assert_eq!(status["currentHealthy"], 3);
        assert!(status.get("disruptedPods").is_none(), "{status}");
    }

    #[test]
    fn a_missing_controller_fails_safe_and_no_selector_selects_nothing() {
        let pods = vec![pod("db-0", true)];
        let status = assess(&budget(json!({"maxUnavailable": 1})), &pods, &[], now()).0;
        assert_eq!(status["disruptionsAllowed"], 0);
        assert_eq!(status["conditions"][0]["reason"], "SyncFailed");
        assert_eq!(
            status["conditions"][0]["message"],
            "found no controllers for pod \"db-0\""
        );
        let mut unselective = budget(json!({"minAvailable": 0}));
        unselective["spec"]
            .as_object_mut()
            .unwrap()
            .remove("selector");
        let status = assess(&unselective, &pods, &[], now()).0;
        assert_eq!(status["expectedPods"], 0);
        assert_eq!(status["disruptionsAllowed"], 0);
    }

    #[test]
    fn budgets_record_why_their_figures_cannot_be_trusted() {
        let sets = vec![set("db", "set-uid", 3)];
        let reasons = |budget: &Value, pods: &[Value]| -> Vec<&'static str> {
            assess(budget, pods, &sets, now())
                .1
                .into_iter()
                .map(|(_, r, _)| r)
                .collect()
        };
        let max_one = budget(json!({"maxUnavailable": 1}));
        assert_eq!(reasons(&max_one, &[pod("db-0", true)]), Vec::<&str>::new());
        assert_eq!(reasons(&max_one, &[]), ["NoPods"]);
        let mut bare = pod("db-9", true);
        bare["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("ownerReferences");
        let events = assess(&max_one, &[bare.clone()], &sets, now()).1;
        assert_eq!(events[0].1, "UnmanagedPods");
        assert!(
            events[0].2.contains("(selector: app=db)"),
            "{}",
            events[0].2
        );
        // An integer minAvailable counts pods, so unmanaged ones are fine.
        assert_eq!(
            reasons(&budget(json!({"minAvailable": 1})), &[bare]),
            Vec::<&str>::new()
        );
        let orphaned = assess(&max_one, &[pod("db-0", true)], &[], now()).1;
        assert_eq!(orphaned[0].1, "CalculateExpectedPodCountFailed");
        assert_eq!(
            orphaned[0].2,
            "Failed to calculate the number of expected pods: found no controllers for pod \"db-0\""
        );
    }

    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        let old = json!({"conditions": [{"type": DISRUPTION_ALLOWED, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
        let same = with_condition(&old, (true, SUFFICIENT_PODS, "", 1), now());
        assert_eq!(same[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
        let flipped = with_condition(&old, (false, INSUFFICIENT_PODS, "", 1), now());
        assert_eq!(flipped[0]["lastTransitionTime"], "2026-11-23T12:00:00Z");
        assert!(same_status(
            &json!({"conditions": same}),
            &json!({"conditions": with_condition(&old, (true, SUFFICIENT_PODS, "", 1), now())})
        ));
    }
}
