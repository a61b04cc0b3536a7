//! A StatefulSet's ControllerRevisions as history: which revisions the set
//! controls, the pod template each holds, which pods run it, and the rollback
//! target `kubectl rollout undo` would pick. Pure functions, no I/O.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use serde::Serialize;

use crate::sts;

/// The annotation `kubectl rollout history` shows as CHANGE-CAUSE.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";

/// One revision as a person reads history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionEntry {
    pub number: i64,
    /// The ControllerRevision's name (`web-6c5d8f7b9`), which pods carry as `controller-revision-hash`.
    pub name: String,
    /// The hash part of the name.
    pub hash: String,
    pub created: Option<String>,
    pub change_cause: Option<String>,
    pub images: Vec<String>,
    /// Pods currently on this revision, by name in ordinal order.
    pub pods: Vec<String>,
    pub is_current: bool,
    pub is_update: bool,
}

/// Revisions the set controls (ownerReference controller = the set's uid),
/// oldest first, as `kubectl rollout history` lists them.
pub fn controlled_revisions(
    set: &StatefulSet,
    revisions: &[ControllerRevision],
) -> Vec<ControllerRevision> {
    let uid = set.metadata.uid.as_deref();
    let mut owned: Vec<ControllerRevision> = revisions
        .iter()
        .filter(|rev| {
            rev.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|owner| owner.controller == Some(true) && Some(owner.uid.as_str()) == uid)
        })
        .cloned()
        .collect();
    owned.sort_by_key(|rev| rev.revision.unwrap_or(0));
    owned
}

/// The pod template a revision holds (its data is a patch `{"spec":{"template":{..., "$patch":"replace"}}}`).
pub fn template_of(revision: &ControllerRevision) -> Result<PodTemplateSpec, String> {
    let mut template = revision
        .data
        .0
        .pointer("/spec/template")
        .cloned()
        .ok_or_else(|| {
            format!(
                "ControllerRevision {} holds no spec.template",
                revision.metadata.name.as_deref().unwrap_or_default()
            )
        })?;
    if let Some(map) = template.as_object_mut() {
        map.remove("$patch");
    }
    serde_json::from_value(template).map_err(|e| {
        format!(
            "ControllerRevision {} holds an unreadable template: {e}",
            revision.metadata.name.as_deref().unwrap_or_default()
        )
    })
}

fn images_of(template: &PodTemplateSpec) -> Vec<String> {
    template
        .spec
        .iter()
        .flat_map(|spec| spec.containers.iter())
        .map(|c| match &c.image {
            Some(image) => format!("{}={image}", c.name),
            None => c.name.clone(),
        })
        .collect()
}

/// History rows for a set, oldest first.
pub fn history(
    set: &StatefulSet,
    revisions: &[ControllerRevision],
    pods: &[Pod],
) -> Vec<RevisionEntry> {
    let set_name = sts::name(set);
    let status = set.status.clone().unwrap_or_default();
    let mut set_pods: Vec<(i32, &Pod)> = pods
        .iter()
        .filter_map(|pod| {
            let ordinal = sts::ordinal_of_pod(set_name, pod.metadata.name.as_deref()?)?;
            Some((ordinal, pod))
        })
        .collect();
    set_pods.sort_by_key(|(ordinal, _)| *ordinal);
    controlled_revisions(set, revisions)
        .into_iter()
        .map(|rev| {
            let name = rev.metadata.name.clone().unwrap_or_default();
            let hash = name
                .strip_prefix(set_name)
                .and_then(|rest| rest.strip_prefix('-'))
                .unwrap_or(&name)
                .to_string();
            let pods_on_it = set_pods
                .iter()
                .filter(|(_, pod)| sts::pod_revision(pod) == Some(name.as_str()))
                .filter_map(|(_, pod)| pod.metadata.name.clone())
                .collect();
            RevisionEntry {
                number: rev.revision.unwrap_or(0),
                hash,
                created: rev
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string()),
                change_cause: rev
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION))
                    .cloned(),
                images: template_of(&rev).map(|t| images_of(&t)).unwrap_or_default(),
                pods: pods_on_it,
                is_current: status.current_revision.as_deref() == Some(name.as_str()),
                is_update: status.update_revision.as_deref() == Some(name.as_str()),
                name,
            }
        })
        .collect()
}

/// The revision to roll back to, as `kubectl rollout undo` chooses it: the
/// given number, or the second-highest revision.
pub fn undo_target(
    revisions: &[ControllerRevision],
    to_revision: Option<i64>,
) -> Result<ControllerRevision, String> {
    let mut sorted = revisions.to_vec();
    sorted.sort_by_key(|rev| rev.revision.unwrap_or(0));
    let numbers = sorted
        .iter()
        .filter_map(|rev| rev.revision)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match to_revision {
        None if sorted.len() < 2 => Err(format!(
            "there is no earlier revision to roll back to (revisions: {numbers})"
        )),
        None => Ok(sorted[sorted.len() - 2].clone()),
        Some(number) => sorted
            .into_iter()
            .find(|rev| rev.revision == Some(number))
            .ok_or_else(|| format!("revision {number} not found (revisions: {numbers})")),
    }
}

/// Whether the set's live template already equals the revision's.
pub fn template_matches(set: &StatefulSet, revision: &ControllerRevision) -> bool {
    match (
        serde_json::to_value(&set.spec.template),
        template_of(revision).and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string())),
    ) {
        (Ok(live), Ok(stored)) => live == stored,
        _ => false,
    }
}

/// A unified diff of two templates rendered as YAML; empty when equal.
pub fn template_diff(
    from_label: &str,
    from: &PodTemplateSpec,
    to_label: &str,
    to: &PodTemplateSpec,
) -> Result<String, String> {
    let render = |t: &PodTemplateSpec| serde_saphyr::to_string(t).map_err(|e| e.to_string());
    let (before, after) = (render(from)?, render(to)?);
    if before == after {
        return Ok(String::new());
    }
    Ok(similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(from_label, to_label)
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(name: &str, number: i64, owner_uid: &str, image: &str) -> ControllerRevision {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                     "uid": owner_uid, "controller": true}],
            },
            "revision": number,
            "data": {"spec": {"template": {
                "$patch": "replace",
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]},
            }}},
        }))
        .expect("valid revision")
    }

    fn set(image: &str) -> StatefulSet {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "set-uid"},
            "spec": {
                "selector": {"matchLabels": {"app": "nginx"}},
                "serviceName": "nginx",
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": image}]},
                },
            },
            "status": {"replicas": 2, "currentRevision": "web-aaa", "updateRevision": "web-bbb"},
        }))
        .expect("valid set")
    }

    fn pod(name: &str, revision: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"controller-revision-hash": revision}},
        }))
        .expect("valid pod")
    }

    #[test]
    fn history_lists_controlled_revisions_oldest_first_with_their_pods() {
        let revisions = vec![
            revision("web-bbb", 2, "set-uid", "nginx:1.27"),
            revision("web-aaa", 1, "set-uid", "nginx:1.25"),
            revision("other-ccc", 1, "other-uid", "redis:7"),
        ];
        let pods = vec![
            pod("web-1", "web-bbb"),
            pod("web-0", "web-aaa"),
            pod("web-10", "web-bbb"),
        ];
        let rows = history(&set("nginx:1.27"), &revisions, &pods);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].number, 1);
        assert_eq!(rows[0].hash, "aaa");
        assert_eq!(rows[0].images, vec!["nginx=nginx:1.25"]);
        assert_eq!(rows[0].pods, vec!["web-0"]);
        assert!(rows[0].is_current && !rows[0].is_update);
        assert_eq!(rows[1].pods, vec!["web-1", "web-10"]);
        assert!(rows[1].is_update);
    }

    #[test]
    fn undo_picks_the_second_highest_revision_like_kubectl() {
        let revisions = vec![
            revision("web-aaa", 1, "set-uid", "nginx:1.25"),
            revision("web-ccc", 3, "set-uid", "nginx:1.28"),
            revision("web-bbb", 2, "set-uid", "nginx:1.27"),
        ];
        assert_eq!(undo_target(&revisions, None).unwrap().revision, Some(2));
        assert_eq!(undo_target(&revisions, Some(1)).unwrap().revision, Some(1));
        assert!(
            undo_target(&revisions, Some(9))
                .unwrap_err()
                .contains("revision 9 not found (revisions: 1, 2, 3)")
        );
        assert!(undo_target(&revisions[..1], None).is_err());
    }

    #[test]
    fn templates_compare_and_diff() {
        let old = revision("web-aaa", 1, "set-uid", "nginx:1.25");
        assert!(template_matches(&set("nginx:1.25"), &old));
        assert!(!template_matches(&set("nginx:1.27"), &old));
        let from = template_of(&old).unwrap();
        let to = set("nginx:1.27").spec.template;
        let diff = template_diff("revision 1", &from, "live", &to).unwrap();
        assert!(
            diff.contains("-    image: nginx:1.25") || diff.contains("-  - image: nginx:1.25"),
            "{diff}"
        );
        assert!(diff.contains("nginx:1.27"), "{diff}");
        assert_eq!(template_diff("a", &from, "b", &from).unwrap(), "");
    }
}
