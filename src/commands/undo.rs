//! `kubectl sts undo NAME [--to-revision N]`: roll the template back as
//! `kubectl rollout undo` does, then do what it does not: delete pods stuck
//! unready on another revision (the controller never replaces them itself,
//! kubernetes issue 67250) and wait for the set to be whole again.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};

use super::Outcome;
use super::history::{colour_diff, fetch_history};
use crate::cli::UndoArgs;
use crate::context::{Connection, Context, FIELD_MANAGER};
use crate::error::{Error, Result};
use crate::output;
use crate::prompt;
use crate::retry;
use crate::revisions;
use crate::sts;

/// Pods that will never move on by themselves: on a revision other than the
/// update revision and not Ready.
pub fn stuck_pods<'a>(set: &StatefulSet, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let Some(update_revision) = set
        .status
        .as_ref()
        .and_then(|s| s.update_revision.as_deref())
    else {
        return Vec::new();
    };
    let mut stuck: Vec<&Pod> = pods
        .iter()
        .filter(|pod| {
            pod.metadata
                .name
                .as_deref()
                .and_then(|name| sts::ordinal_of_pod(sts::name(set), name))
                .is_some()
        })
        .filter(|pod| !sts::is_pod_terminating(pod))
        .filter(|pod| sts::pod_revision(pod).is_some_and(|rev| rev != update_revision))
        .filter(|pod| !sts::is_pod_ready(pod))
        .collect();
    stuck.sort_by_key(|pod| std::cmp::Reverse(pod.metadata.name.clone()));
    stuck
}

pub async fn run(context: &Context, args: UndoArgs) -> Result<Outcome> {
    context.reject_all_namespaces("undo")?;
    let connection = context.connect().await?;
    let set = connection.statefulset(&args.name).await?;
    let (all_revisions, _) = fetch_history(&connection, &set).await?;
    let owned = revisions::controlled_revisions(&set, &all_revisions);
    let target = revisions::undo_target(&owned, args.to_revision).map_err(|e| {
        Error::Failed(format!(
            "cannot roll back statefulset \"{}\": {e}; see them with `kubectl sts history {}`",
            args.name, args.name
        ))
    })?;
    let number = target.revision.unwrap_or(0);
    let qualified = format!("statefulset.apps/{}", args.name);

    if revisions::template_matches(&set, &target) {
        output::print(&format!(
            "{qualified} skipped rollback (current template already matches revision {number})\n"
        ))?;
        return Ok(Outcome::Success);
    }

    let target_template = revisions::template_of(&target).map_err(Error::Failed)?;
    let diff = revisions::template_diff(
        "live template",
        &set.spec.template,
        &format!("revision {number}"),
        &target_template,
    )
    .map_err(Error::Failed)?;
    output::print(&colour_diff(&diff, context.styling.color))?;
    let action = format!(
        "Roll back {}/{} to revision {number} (and delete pods stuck unready on another revision)",
        sts::namespace(&set),
        args.name
    );
    if !prompt::confirm(&action, args.yes)? {
        output::print("Rollback cancelled; nothing was changed.\n")?;
        return Ok(Outcome::Failed);
    }

    let api: Api<StatefulSet> = Api::namespaced(connection.client.clone(), sts::namespace(&set));
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let patched = write_template(&connection, &api, &set, &target, &params).await?;
    output::print(&format!("{qualified} rolled back to revision {number}\n"))?;
    if args.no_wait {
        return Ok(Outcome::Success);
    }

    tokio::time::timeout(
        args.timeout,
        wait_and_unstick(&connection, &api, &patched, &args.name),
    )
    .await
    .map_err(|_| Error::Timeout {
        after: format!("{:?}", args.timeout),
        what: format!(
            "{qualified} did not finish rolling back; watch it with `kubectl sts watch {}`",
            args.name
        ),
    })??;
    output::print(&format!(
        "{qualified} is back on revision {number}, all pods Ready\n"
    ))?;
    Ok(Outcome::Success)
}

/// Writes the revision's template as `kubectl rollout undo` does, guarded by
/// the resourceVersion of what the diff above was made from, so the rollback
/// is all or nothing. The controller's status writes also move the
/// resourceVersion (a rollout in progress writes it often), so a conflict
/// with the template and generation unchanged is written again against the
/// new version; a changed template stops undo. Server errors are repeated;
/// when the last answer is not a success, the set is read again to tell a
/// write that landed (its answer lost) from one that did not.
async fn write_template(
    connection: &Connection,
    api: &Api<StatefulSet>,
    set: &StatefulSet,
    target: &ControllerRevision,
    params: &PatchParams,
) -> Result<StatefulSet> {
    const STATUS_ONLY_CONFLICTS: usize = 5;
    let name = sts::name(set);
    let mut patch = target.data.0.clone();
    let Some(fields) = patch.as_object_mut() else {
        return Err(Error::Failed(format!(
            "revision {} of statefulset {name} holds no template patch; nothing was changed",
            target.revision.unwrap_or(0)
        )));
    };
    let mut resource_version = set.metadata.resource_version.clone();
    for _ in 0..=STATUS_ONLY_CONFLICTS {
        fields.insert(
            "metadata".to_string(),
            serde_json::json!({"resourceVersion": resource_version}),
        );
        let patch = Patch::Strategic(serde_json::Value::Object(fields.clone()));
        let failure =
            match retry::idempotent("rolling back", || api.patch(name, params, &patch)).await {
                Ok(patched) => return Ok(patched),
                Err(err) => err,
            };
        let conflict = matches!(&failure, kube::Error::Api(status) if status.code == 409);
        match api.get(name).await {
            Ok(live) if revisions::template_matches(&live, target) => return Ok(live),
            Ok(live) if conflict && same_spec(&live, set) => {
                resource_version = live.metadata.resource_version;
            }
            Ok(_) if conflict => {
                return Err(Error::Failed(format!(
                    "statefulset {name} was changed by someone else while undo was writing; undo changed nothing. Look at `kubectl sts history {name}` and run undo again"
                )));
            }
            Ok(_) => {
                return Err(Error::Failed(format!(
                    "could not roll back statefulset {name}: {}\nNothing was changed: its template is still the live one shown above.",
                    connection.error(failure)
                )));
            }
            Err(read) => {
                return Err(Error::Failed(format!(
                    "could not roll back statefulset {name}: {}\nCould not read it back to see whether the rollback was applied ({}); check with `kubectl sts history {name}`.",
                    connection.error(failure),
                    connection.error(read)
                )));
            }
        }
    }
    Err(Error::Failed(format!(
        "statefulset {name} kept changing while undo was writing (its status moved {STATUS_ONLY_CONFLICTS} times in a row); undo changed nothing. Run undo again"
    )))
}

/// Whether only the status moved: same generation and the same template.
fn same_spec(live: &StatefulSet, seen: &StatefulSet) -> bool {
    live.metadata.generation == seen.metadata.generation && live.spec.template == seen.spec.template
}

async fn wait_and_unstick(
    connection: &Connection,
    api: &Api<StatefulSet>,
    patched: &StatefulSet,
    name: &str,
) -> Result<()> {
    let generation = patched.metadata.generation.unwrap_or(0);
    let observed = retry::await_condition(api.clone(), name, move |set: Option<&StatefulSet>| {
        set.and_then(|s| s.status.as_ref())
            .and_then(|s| s.observed_generation)
            .is_some_and(|g| g >= generation)
    })
    .await
    .map_err(|e| lost_watch(connection, name, e))?
    .ok_or_else(|| {
        Error::Failed(format!(
            "statefulset {name} was deleted during the rollback"
        ))
    })?;

    let pods_api: Api<Pod> = Api::namespaced(connection.client.clone(), sts::namespace(&observed));
    let params = match sts::pod_selector(&observed) {
        Some(selector) => ListParams::default().labels(&selector),
        None => ListParams::default(),
    };
    let pods = pods_api
        .list(&params)
        .await
        .map_err(|e| connection.error(e))?
        .items;
    for pod in stuck_pods(&observed, &pods) {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        // A repeat after a lost answer finds it gone (404) or replaced (409).
        match retry::idempotent("deleting a stuck pod", || {
            pods_api.delete(&pod_name, &params)
        })
        .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => {}
            Err(err) => {
                return Err(Error::Failed(format!(
                    "statefulset {name} is rolled back, but deleting its stuck pod {pod_name} failed: {}\nDelete it yourself: kubectl delete pod {pod_name}",
                    connection.error(err)
                )));
            }
        }
        output::print(&format!(
            "pod/{pod_name} deleted: it was stuck unready on revision {}\n",
            sts::pod_revision(pod).unwrap_or("?")
        ))?;
    }

    retry::await_condition(api.clone(), name, |set: Option<&StatefulSet>| {
        set.is_some_and(|s| {
            sts::rollout_status(s).is_ok_and(|r| r.done) && all_on_update_revision(s)
        })
    })
    .await
    .map_err(|e| lost_watch(connection, name, e))?;
    // A short settle so the final line reflects what `kubectl get pods` shows.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

fn lost_watch(connection: &Connection, name: &str, err: kube::Error) -> Error {
    Error::Failed(format!(
        "statefulset {name} is rolled back, but watching it finish failed: {}\nFollow it with `kubectl sts watch {name}`.",
        connection.error(err)
    ))
}

/// Every desired replica is updated and ready, as counted by the controller.
fn all_on_update_revision(set: &StatefulSet) -> bool {
    let status = set.status.clone().unwrap_or_default();
    let desired = sts::desired_replicas(set);
    status.updated_replicas.unwrap_or(0) >= desired && status.ready_replicas.unwrap_or(0) >= desired
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> StatefulSet {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx",
                     "template": {"metadata": {"labels": {"app": "nginx"}}}},
            "status": {"replicas": 3, "updateRevision": "web-good", "currentRevision": "web-good"},
        }))
        .expect("valid set")
    }

    fn pod(name: &str, revision: &str, ready: bool) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"controller-revision-hash": revision}},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .expect("valid pod")
    }

    #[test]
    fn only_unready_pods_on_another_revision_are_stuck() {
        let pods = vec![
            pod("web-0", "web-good", true),
            pod("web-1", "web-bad", true),
            pod("web-2", "web-bad", false),
            pod("web-3", "web-good", false),
            pod("other-0", "web-bad", false),
        ];
        let stuck: Vec<_> = stuck_pods(&set(), &pods)
            .into_iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        assert_eq!(stuck, vec!["web-2"]);
    }

    #[test]
    fn completion_needs_every_replica_updated_and_ready() {
        let mut s = set();
        s.spec.replicas = Some(3);
        if let Some(status) = s.status.as_mut() {
            status.updated_replicas = Some(3);
            status.ready_replicas = Some(2);
        }
        assert!(!all_on_update_revision(&s));
        if let Some(status) = s.status.as_mut() {
            status.ready_replicas = Some(3);
        }
        assert!(all_on_update_revision(&s));
    }
}
