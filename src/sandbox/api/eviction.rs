//! The `pods/eviction` subresource, as upstream's EvictionREST
//! (pkg/registry/core/pod/storage/eviction.go) answers it: a pod covered by
//! a PodDisruptionBudget is deleted only when the budget's status allows a
//! disruption, and the budget is charged for it first (`disruptionsAllowed`
//! goes down, the pod is listed in `disruptedPods` until the disruption
//! controller sees it deleted). Otherwise 429, which `kubectl drain` retries.
//! An evicted pod is marked DisruptionTarget=True before it is deleted.

use serde_json::{Value, json};

use super::cluster::{
    Cluster, DeleteOptions, ListOptions, Subresource, WriteOptions, timestamp_string,
};
use super::error::ApiError;
use super::selectors::{LabelSelector, labels_of};
use crate::sandbox::controllers::disruption;
use crate::sandbox::resources::{POD_DISRUPTION_BUDGETS, PODS};

/// Budget status writes lost to a concurrent writer are retried this often.
const CONFLICT_RETRIES: usize = 5;

/// Pods that are already down (or going) are evicted without asking their budget.
fn can_ignore_budget(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed" | "Pending")
    ) || !pod["metadata"]["deletionTimestamp"].is_null()
}

/// The budgets whose (non-empty) selector matches the pod.
fn budgets_of(cluster: &Cluster, namespace: &str, pod: &Value) -> Result<Vec<Value>, ApiError> {
    let budgets = cluster.list(
        &POD_DISRUPTION_BUDGETS,
        Some(namespace),
        &ListOptions::default(),
    )?;
    let labels = labels_of(pod);
    Ok(budgets
        .items
        .into_iter()
        .filter(|budget| {
            // A nil or empty selector matches no pod here.
            LabelSelector::from_object(&budget["spec"]["selector"])
                .is_ok_and(|s| !s.is_empty() && s.matches_labels(&labels))
        })
        .collect())
}

/// Charges `budget` for evicting `pod_name`, or says why it cannot.
fn check_and_decrement(
    cluster: &Cluster,
    namespace: &str,
    pod_name: &str,
    mut budget: Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let name = budget["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let status = &budget["status"];
    let generation = budget["metadata"]["generation"].as_i64().unwrap_or(0);
    if status["observedGeneration"].as_i64().unwrap_or(0) < generation {
        return Err(still_processing(&name));
    }
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0);
    if allowed < 0 {
        return Err(ApiError::forbidden(
            &POD_DISRUPTION_BUDGETS,
            &name,
            "pdb disruptions allowed is negative",
        ));
    }
    if allowed == 0 {
        let cause = format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            status["desiredHealthy"].as_i64().unwrap_or(0),
            status["currentHealthy"].as_i64().unwrap_or(0)
        );
        return Err(ApiError::eviction_refused(cause, 0));
    }
    if dry_run {
        return Ok(());
    }
    let now = jiff::Timestamp::now();
    budget["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed == 1 {
        let observed = budget["status"]["observedGeneration"].as_i64().unwrap_or(0);
        budget["status"]["conditions"] = disruption::with_condition(
            &budget["status"],
            (false, disruption::INSUFFICIENT_PODS, "", observed),
            now,
        );
    }
    if !budget["status"]["disruptedPods"].is_object() {
        budget["status"]["disruptedPods"] = json!({});
    }
    budget["status"]["disruptedPods"][pod_name] = json!(timestamp_string(now));
    cluster
        .update(
            &POD_DISRUPTION_BUDGETS,
            Some(namespace),
            &name,
            budget,
            Subresource::Status,
            &WriteOptions::default(),
        )
        .map(|_| ())
}

/// Marks the pod as a disruption target (DisruptionTarget=True, reason
/// EvictionByEvictionAPI), as the API server does before it deletes an
/// evicted pod, then deletes it. A pinned resourceVersion must still hold
/// and moves to the marked pod's.
fn mark_and_delete(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    mut options: DeleteOptions,
) -> Result<(), ApiError> {
    if !options.dry_run {
        let mut pod = cluster.get(&PODS, Some(namespace), name)?;
        let version = pod["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        if options.preconditions_resource_version.is_some()
            && options.preconditions_resource_version != version
        {
            return Err(ApiError::conflict(&PODS, name));
        }
        let condition = json!({
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
            "lastProbeTime": null,
            "lastTransitionTime": timestamp_string(jiff::Timestamp::now()),
        });
        let mut conditions: Vec<Value> = pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        conditions.retain(|c| c["type"] != "DisruptionTarget");
        conditions.push(condition);
        pod["status"]["conditions"] = json!(conditions);
        let marked = cluster.update(
            &PODS,
            Some(namespace),
            name,
            pod,
            Subresource::Status,
            &WriteOptions::default(),
        )?;
        if options.preconditions_resource_version.is_some() {
            options.preconditions_resource_version = marked["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string);
        }
    }
    cluster.delete(&PODS, Some(namespace), name, &options)?;
    Ok(())
}

fn is_conflict(err: &ApiError) -> bool {
    err.code == 409
}

/// The 429 for a budget whose latest change the controller has not seen yet.
fn still_processing(budget_name: &str) -> ApiError {
    ApiError::eviction_refused(
        format!("The disruption budget {budget_name} is still being processed by the server."),
        10,
    )
}

/// `check_and_decrement`, read again and retried when another writer (the
/// disruption controller, another eviction) changed the budget first.
fn charge_budget(
    cluster: &Cluster,
    namespace: &str,
    pod_name: &str,
    budget: Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let budget_name = budget["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut attempt = budget;
    for _ in 0..CONFLICT_RETRIES {
        match check_and_decrement(cluster, namespace, pod_name, attempt, dry_run) {
            Err(err) if is_conflict(&err) => {
                attempt = cluster.get(&POD_DISRUPTION_BUDGETS, Some(namespace), &budget_name)?;
            }
            outcome => return outcome,
        }
    }
    Err(ApiError::new(
        504,
        "Timeout",
        format!("couldn't update PodDisruptionBudget {budget_name:?} due to conflicts"),
    ))
}

/// Evicts pod `name` in `namespace`: the `Eviction` body and the delete
/// options it carries, merged with the request's. Answers the Status the
/// API server sends on success.
pub fn evict(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    eviction: &Value,
    mut options: DeleteOptions,
) -> Result<Value, ApiError> {
    if eviction["metadata"]["name"].as_str() != Some(name) {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let pod = cluster.get(&PODS, Some(namespace), name)?;
    let pod_version = pod["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_string);
    let success =
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    if can_ignore_budget(&pod) {
        let terminal = matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) || !pod["metadata"]["deletionTimestamp"].is_null();
        if !terminal && options.preconditions_resource_version.is_none() {
            options.preconditions_resource_version = pod_version;
        }
        mark_and_delete(cluster, namespace, name, options)?;
        return Ok(success);
    }
    let budgets = budgets_of(cluster, namespace, &pod)?;
    if budgets.len() > 1 {
        return Err(ApiError::new(
            500,
            "",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    // When set, the delete must find the pod as it was read: it must not
    // have become Ready (and so counted as healthy) in between.
    let mut pin_version = false;
    let mut budget_name = String::new();
    if let Some(budget) = budgets.into_iter().next() {
        budget_name = budget["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let status = &budget["status"];
        let desired = status["desiredHealthy"].as_i64().unwrap_or(0);
        let always_allow = budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow";
        let enough_healthy =
            status["currentHealthy"].as_i64().unwrap_or(0) >= desired && desired > 0;
        if !disruption::is_pod_ready(&pod) && (always_allow || enough_healthy) {
            pin_version = true;
        } else {
            charge_budget(cluster, namespace, name, budget, options.dry_run)?;
        }
    }
    let pinned_here = pin_version && options.preconditions_resource_version.is_none();
    if pinned_here {
        options.preconditions_resource_version = pod_version;
    }
    match mark_and_delete(cluster, namespace, name, options) {
        // The pod changed since it was read: let the client try again.
        Err(err) if pinned_here && is_conflict(&err) => Err(still_processing(&budget_name)),
        Err(err) => Err(err),
        Ok(_) => Ok(success),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running_pod(cluster: &Cluster, name: &str, ready: bool) {
        let pod = json!({
            "metadata": {"name": name, "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}
        });
        let created = cluster
            .create(&PODS, Some("default"), pod, &WriteOptions::default())
            .unwrap();
        let mut running = created;
        let ready = if ready { "True" } else { "False" };
        running["status"] =
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]});
        cluster
            .update(
                &PODS,
                Some("default"),
                name,
                running,
                Subresource::Status,
                &WriteOptions::default(),
            )
            .unwrap();
    }

    fn budget(cluster: &Cluster, name: &str, status: Value) {
        let budget = json!({
            "metadata": {"name": name},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "db"}}}
        });
        let mut created = cluster
            .create(
                &POD_DISRUPTION_BUDGETS,
                Some("default"),
                budget,
                &WriteOptions::default(),
            )
            .unwrap();
        created["status"] = status;
        cluster
            .update(
                &POD_DISRUPTION_BUDGETS,
                Some("default"),
                name,
                created,
                Subresource::Status,
                &WriteOptions::default(),
            )
            .unwrap();
    }

    fn eviction(name: &str) -> Value {
        json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}})
    }

    fn evict_pod(cluster: &Cluster, name: &str) -> Result<Value, ApiError> {
        evict(
            cluster,
            "default",
            name,
            &eviction(name),
            DeleteOptions::default(),
        )
    }

    fn exists(cluster: &Cluster, name: &str) -> bool {
        cluster
            .get(&PODS, Some("default"), name)
            .is_ok_and(|p| p["metadata"]["deletionTimestamp"].is_null())
    }

    #[test]
    fn without_a_budget_the_pod_is_deleted() {
        let cluster = Cluster::new();
        running_pod(&cluster, "db-0", true);
        let mut changes = cluster.subscribe();
        assert_eq!(evict_pod(&cluster, "db-0").unwrap()["status"], "Success");
        assert!(!exists(&cluster, "db-0"));
        // The pod was marked before it went.
        let mut marked = false;
        while let Ok(change) = changes.try_recv() {
            let conditions = change.event.object["status"]["conditions"]
                .as_array()
                .cloned();
            marked |= conditions
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "DisruptionTarget" && c["reason"] == "EvictionByEvictionAPI");
        }
        assert!(marked, "no DisruptionTarget condition was written");
        let other = evict(
            &cluster,
            "default",
            "db-0",
            &eviction("db-1"),
            DeleteOptions::default(),
        );
        assert_eq!(other.unwrap_err().code, 400);
    }

    #[test]
    fn a_budget_allowing_one_disruption_is_charged_for_it() {
        let cluster = Cluster::new();
        running_pod(&cluster, "db-0", true);
        let allowing = json!({"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3, "observedGeneration": 1});
        budget(&cluster, "db", allowing);
        evict_pod(&cluster, "db-0").unwrap();
        assert!(!exists(&cluster, "db-0"));
        let charged = cluster
            .get(&POD_DISRUPTION_BUDGETS, Some("default"), "db")
            .unwrap();
        assert_eq!(charged["status"]["disruptionsAllowed"], 0);
        assert!(
            charged["status"]["disruptedPods"]["db-0"].is_string(),
            "{charged}"
        );
        assert_eq!(
            charged["status"]["conditions"][0]["reason"],
            "InsufficientPods"
        );
    }

    #[test]
    fn a_spent_or_unprocessed_budget_refuses_with_429_and_keeps_the_pod() {
        let cluster = Cluster::new();
        running_pod(&cluster, "db-0", true);
        let spent = json!({"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 3, "observedGeneration": 1});
        budget(&cluster, "db", spent);
        let refused = evict_pod(&cluster, "db-0").unwrap_err();
        assert_eq!(refused.code, 429);
        assert_eq!(
            refused.message,
            "Cannot evict pod as it would violate the pod's disruption budget."
        );
        let cause = &refused.details.unwrap()["causes"][0];
        assert_eq!(cause["reason"], "DisruptionBudget");
        assert_eq!(
            cause["message"],
            "The disruption budget db needs 2 healthy pods and has 2 currently"
        );
        assert!(exists(&cluster, "db-0"));

        let cluster = Cluster::new();
        running_pod(&cluster, "db-0", true);
        budget(
            &cluster,
            "db",
            json!({"disruptionsAllowed": 1, "observedGeneration": 0}),
        );
        let refused = evict_pod(&cluster, "db-0").unwrap_err();
        assert_eq!(refused.code, 429);
        assert!(format!("{:?}", refused.details).contains("still being processed"));
        assert!(exists(&cluster, "db-0"));
    }

    #[test]
    fn an_unready_pod_goes_while_the_rest_are_healthy_and_two_budgets_are_refused() {
        let cluster = Cluster::new();
        running_pod(&cluster, "db-1", false);
        let healthy = json!({"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 3, "observedGeneration": 1});
        budget(&cluster, "db", healthy.clone());
        evict_pod(&cluster, "db-1").unwrap();
        assert!(!exists(&cluster, "db-1"));

        running_pod(&cluster, "db-2", true);
        budget(&cluster, "db-again", healthy);
        let refused = evict_pod(&cluster, "db-2").unwrap_err();
        assert_eq!(refused.code, 500);
        assert!(
            refused
                .message
                .contains("more than one PodDisruptionBudget")
        );
    }
}
