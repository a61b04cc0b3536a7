//! ControllerRevisions as the StatefulSet controller writes them
//! (pkg/controller/statefulset `getPatch`/`newRevision`, pkg/controller/history).
//!
//! A revision's data is a strategic-merge patch that restores the pod template:
//! `{"spec":{"template":{..., "$patch":"replace"}}}`, serialized the way Go's
//! `json.Marshal` does (compact, map keys sorted, HTML characters escaped). Its
//! name is `<set>-<hash>`, the hash being FNV-1 32 over those bytes plus the
//! decimal collision count, printed in decimal and passed through
//! `rand.SafeEncodeString`. Everything here is pure.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use crate::sts;

/// Label carrying the (encoded) hash of a revision's data.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// `rand.SafeEncodeString`'s alphabet: no vowels, no 0/1/3, so no words.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Revision names keep at most this much of the parent's name (253 - 1 - hash).
const MAX_PREFIX_LEN: usize = 223;

#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    #[error("StatefulSet {0} has no name")]
    Unnamed(String),
    #[error("pod template of StatefulSet {set} cannot be serialized: {source}")]
    Template {
        set: String,
        source: serde_json::Error,
    },
}

/// Go `json.Marshal` of a decoded JSON value: compact, object keys in byte
/// order, and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u....`.
pub fn go_json(value: &Value) -> String {
    // serde_json (without preserve_order) keeps objects in a BTreeMap, so
    // keys come out sorted by byte order, as Go sorts map keys.
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len());
    for c in compact.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

/// The revision data for a pod template (`getPatch`).
pub fn revision_data(template: &PodTemplateSpec) -> Result<Value, serde_json::Error> {
    let mut template = serde_json::to_value(template)?;
    if let Some(map) = template.as_object_mut() {
        map.insert("$patch".to_string(), json!("replace"));
    }
    Ok(json!({ "spec": { "template": template } }))
}

/// FNV-1 (multiply, then xor), 32 bit: Go's `hash/fnv.New32`.
fn fnv1_32(chunks: &[&[u8]]) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let mut hash = OFFSET_BASIS;
    for chunk in chunks {
        for byte in *chunk {
            hash = hash.wrapping_mul(PRIME);
            hash ^= u32::from(*byte);
        }
    }
    hash
}

/// `rand.SafeEncodeString`: each character mapped through the safe alphabet.
pub fn safe_encode(text: &str) -> String {
    text.chars()
        .map(|c| char::from(SAFE_ALPHABET[(c as usize) % SAFE_ALPHABET.len()]))
        .collect()
}

/// `HashControllerRevision`: the encoded hash of serialized data and a collision count.
pub fn hash_data(data: &str, collision_count: i32) -> String {
    let probe = collision_count.to_string();
    let hash = fnv1_32(&[data.as_bytes(), probe.as_bytes()]);
    safe_encode(&hash.to_string())
}

/// `ControllerRevisionName`: `<parent>-<hash>`, the parent's name cut to 223 bytes.
pub fn revision_name(parent: &str, hash: &str) -> String {
    let mut cut = parent.len().min(MAX_PREFIX_LEN);
    while !parent.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hash}", &parent[..cut])
}

/// The serialized form of a revision's data, the bytes upstream compares and hashes.
pub fn data_bytes(revision: &ControllerRevision) -> String {
    go_json(&revision.data.0)
}

/// The controller ownerReference every object the StatefulSet controller creates carries.
pub fn controller_ref(set: &StatefulSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_string(),
        kind: "StatefulSet".to_string(),
        name: sts::name(set).to_string(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A new revision of the set's current template (`newRevision`): labels are
/// the template's labels plus the hash, annotations are the set's.
pub fn new_revision(
    set: &StatefulSet,
    revision: i64,
    collision_count: i32,
) -> Result<ControllerRevision, RevisionError> {
    let set_name = set
        .metadata
        .name
        .clone()
        .ok_or_else(|| RevisionError::Unnamed(format!("{:?}", set.metadata.namespace)))?;
    let data = revision_data(&set.spec.template).map_err(|source| RevisionError::Template {
        set: set_name.clone(),
        source,
    })?;
    let hash = hash_data(&go_json(&data), collision_count);
    let mut labels: BTreeMap<String, String> = set
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(HASH_LABEL.to_string(), hash.clone());
    let annotations = set.metadata.annotations.clone().filter(|a| !a.is_empty());
    Ok(ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(&set_name, &hash)),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            owner_references: Some(vec![controller_ref(set)]),
            ..ObjectMeta::default()
        },
        data: RawExtension(data),
        revision: Some(revision),
    })
}

/// The name the revision gets at another collision count (the retry loop of
/// `CreateControllerRevision` after a same-name, different-data conflict).
pub fn renamed_for_collision(
    set_name: &str,
    revision: &ControllerRevision,
    collision_count: i32,
) -> String {
    revision_name(set_name, &hash_data(&data_bytes(revision), collision_count))
}

/// `history.EqualRevision`: same data bytes (the hash labels are not numeric,
/// so upstream never gets to compare them).
pub fn equal_revision(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    data_bytes(a) == data_bytes(b)
}

/// `history.SortControllerRevisions`: by revision number, then creation time, then name.
pub fn sort_revisions(revisions: &mut [ControllerRevision]) {
    revisions.sort_by(|a, b| {
        a.revision
            .unwrap_or(0)
            .cmp(&b.revision.unwrap_or(0))
            .then_with(|| {
                let time =
                    |r: &ControllerRevision| r.metadata.creation_timestamp.clone().map(|t| t.0);
                time(a).cmp(&time(b))
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// `nextRevision`: one more than the highest (revisions sorted).
pub fn next_revision_number(sorted: &[ControllerRevision]) -> i64 {
    sorted.last().map_or(1, |r| r.revision.unwrap_or(0) + 1)
}

/// What `getStatefulSetRevisions` decided about the update revision.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateRevision {
    /// The newest revision already holds the template.
    Unchanged(ControllerRevision),
    /// An older revision holds the template (a rollback): its number goes to `revision`.
    Reuse {
        existing: ControllerRevision,
        revision: i64,
    },
    /// No revision holds the template: create this one.
    Create(ControllerRevision),
}

impl UpdateRevision {
    /// The revision as it is once the decision is applied.
    pub fn resolved(&self) -> ControllerRevision {
        match self {
            UpdateRevision::Unchanged(r) | UpdateRevision::Create(r) => r.clone(),
            UpdateRevision::Reuse { existing, revision } => {
                let mut r = existing.clone();
                r.revision = Some(*revision);
                r
            }
        }
    }
}

/// The current and update revisions of a set (`getStatefulSetRevisions`),
/// given its revisions sorted with [`sort_revisions`].
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionChoice {
    pub update: UpdateRevision,
    /// `None` when `status.currentRevision` names no existing revision: then
    /// the update revision is also the current one.
    pub current: Option<ControllerRevision>,
    pub collision_count: i32,
}

impl RevisionChoice {
    pub fn current_or_update(&self) -> ControllerRevision {
        self.current
            .clone()
            .unwrap_or_else(|| self.update.resolved())
    }
}

pub fn choose_revisions(
    set: &StatefulSet,
    sorted: &[ControllerRevision],
) -> Result<RevisionChoice, RevisionError> {
    let status = set.status.clone().unwrap_or_default();
    let collision_count = status.collision_count.unwrap_or(0);
    let candidate = new_revision(set, next_revision_number(sorted), collision_count)?;
    let newest_equal = sorted
        .iter()
        .rev()
        .find(|existing| equal_revision(existing, &candidate));
    let update = match newest_equal {
        Some(equal)
            if sorted
                .last()
                .is_some_and(|last| equal_revision(last, equal)) =>
        {
            UpdateRevision::Unchanged(sorted.last().cloned().unwrap_or_else(|| equal.clone()))
        }
        Some(equal) => UpdateRevision::Reuse {
            existing: equal.clone(),
            revision: candidate.revision.unwrap_or(1),
        },
        None => UpdateRevision::Create(candidate),
    };
    let current = status
        .current_revision
        .as_deref()
        .and_then(|name| {
            sorted
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(name))
        })
        .cloned();
    Ok(RevisionChoice {
        update,
        current,
        collision_count,
    })
}

/// `truncateHistory`: the revisions to delete so that at most `limit`
/// non-live revisions remain, oldest first. Live revisions (current, update,
/// and any a pod carries) are never deleted.
pub fn revisions_to_prune<'a>(
    sorted: &'a [ControllerRevision],
    live: &BTreeSet<&str>,
    limit: i32,
) -> Vec<&'a ControllerRevision> {
    let history: Vec<&ControllerRevision> = sorted
        .iter()
        .filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    let Ok(limit) = usize::try_from(limit) else {
        return Vec::new();
    };
    if history.len() <= limit {
        return Vec::new();
    }
    history[..history.len() - limit].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{StatefulSetSpec, StatefulSetStatus};

    fn set_with_image(image: &str) -> StatefulSet {
        let template: PodTemplateSpec = serde_json::from_value(json!({
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [{"name": "nginx", "image": image, "resources": {},
                                "imagePullPolicy": "IfNotPresent",
                                "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File"}],
                "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                "schedulerName": "default-scheduler", "securityContext": {},
                "terminationGracePeriodSeconds": 30
            }
        }))
        .unwrap();
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("uid-web".into()),
                annotations: Some(BTreeMap::from([(
                    "kubernetes.io/change-cause".to_string(),
                    format!("image {image}"),
                )])),
                ..ObjectMeta::default()
            },
            spec: StatefulSetSpec {
                template,
                ..StatefulSetSpec::default()
            },
            status: Some(StatefulSetStatus::default()),
        }
    }

    /// A revision captured from a live cluster (openkruise/kruise issue 125,
    /// `kubectl get controllerrevision sample-55d9756b4 -o yaml`): its data,
    /// re-serialized as Go does, must hash to its name.
    #[test]
    fn hash_matches_a_revision_from_a_real_cluster() {
        let data = json!({"spec": {"template": {
            "$patch": "replace",
            "metadata": {"creationTimestamp": null, "labels": {"app": "sample"}},
            "spec": {
                "containers": [{"image": "nginx:latest", "imagePullPolicy": "Always",
                    "name": "main", "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"}],
                "dnsPolicy": "ClusterFirst",
                "readinessGates": [{"conditionType": "InPlaceUpdateReady"}],
                "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "securityContext": {}, "terminationGracePeriodSeconds": 30
            }
        }}});
        assert_eq!(
            revision_name("sample", &hash_data(&go_json(&data), 0)),
            "sample-55d9756b4"
        );
    }

    #[test]
    fn fnv1_is_not_fnv1a() {
        // Reference values of Go's fnv.New32 (FNV-1) for "" and "a".
        assert_eq!(fnv1_32(&[b""]), 0x811c_9dc5);
        assert_eq!(fnv1_32(&[b"a"]), 0x050c_5d7e);
    }

    #[test]
    fn go_json_sorts_keys_and_escapes_html() {
        let value = json!({"b": 1, "a": "<x&y>", "$patch": "replace"});
        assert_eq!(
            go_json(&value),
            r#"{"$patch":"replace","a":"\u003cx\u0026y\u003e","b":1}"#
        );
    }

    #[test]
    fn safe_encoding_maps_digits_through_the_alphabet() {
        // '0' is 48: 48 % 27 = 21 -> '4'; '9' is 57: 57 % 27 = 3 -> 'f'.
        assert_eq!(safe_encode("09"), "4f");
    }

    #[test]
    fn new_revision_has_name_labels_annotations_and_owner() {
        let set = set_with_image("nginx:1.25");
        let revision = new_revision(&set, 1, 0).unwrap();
        let name = revision.metadata.name.clone().unwrap();
        let hash = revision.metadata.labels.as_ref().unwrap()[HASH_LABEL].clone();
        assert_eq!(name, format!("web-{hash}"));
        assert_eq!(revision.metadata.labels.as_ref().unwrap()["app"], "nginx");
        assert_eq!(
            revision.metadata.annotations.as_ref().unwrap()["kubernetes.io/change-cause"],
            "image nginx:1.25"
        );
        let owner = &revision.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("StatefulSet", "uid-web")
        );
        assert_eq!(owner.controller, Some(true));
        assert_eq!(revision.data.0["spec"]["template"]["$patch"], "replace");
        // 1.34+ omits a zero creationTimestamp, so the data holds none.
        assert!(
            revision.data.0["spec"]["template"]["metadata"]
                .get("creationTimestamp")
                .is_none()
        );
        let renamed = renamed_for_collision("web", &revision, 1);
        assert_ne!(renamed, name);
        assert_eq!(
            renamed,
            format!("web-{}", hash_data(&data_bytes(&revision), 1))
        );
    }

    fn stored(set: &StatefulSet, number: i64) -> ControllerRevision {
        new_revision(set, number, 0).unwrap()
    }

    #[test]
    fn first_sync_creates_revision_one_and_uses_it_as_current() {
        let set = set_with_image("nginx:1");
        let choice = choose_revisions(&set, &[]).unwrap();
        let UpdateRevision::Create(created) = &choice.update else {
            panic!("expected a new revision, got {:?}", choice.update);
        };
        assert_eq!(created.revision, Some(1));
        assert_eq!(choice.current_or_update(), *created);
    }

    #[test]
    fn unchanged_template_keeps_the_newest_revision() {
        let set = set_with_image("nginx:1");
        let revisions = vec![stored(&set, 1)];
        let choice = choose_revisions(&set, &revisions).unwrap();
        assert_eq!(
            choice.update,
            UpdateRevision::Unchanged(revisions[0].clone())
        );
    }

    #[test]
    fn new_template_creates_the_next_revision() {
        let old = stored(&set_with_image("nginx:1"), 1);
        let set = set_with_image("nginx:2");
        let choice = choose_revisions(&set, &[old]).unwrap();
        let UpdateRevision::Create(created) = choice.update else {
            panic!("expected a new revision");
        };
        assert_eq!(created.revision, Some(2));
    }

    #[test]
    fn returning_to_an_old_template_bumps_that_revision() {
        let one = stored(&set_with_image("nginx:1"), 1);
        let two = stored(&set_with_image("nginx:2"), 2);
        let mut set = set_with_image("nginx:1");
        set.status = Some(StatefulSetStatus {
            current_revision: two.metadata.name.clone(),
            ..StatefulSetStatus::default()
        });
        let choice = choose_revisions(&set, &[one.clone(), two.clone()]).unwrap();
        assert_eq!(
            choice.update,
            UpdateRevision::Reuse {
                existing: one,
                revision: 3
            }
        );
        assert_eq!(choice.current, Some(two));
    }

    #[test]
    fn sorting_is_by_revision_number() {
        let mut revisions = vec![
            stored(&set_with_image("b"), 3),
            stored(&set_with_image("a"), 1),
            stored(&set_with_image("c"), 2),
        ];
        sort_revisions(&mut revisions);
        let numbers: Vec<i64> = revisions.iter().filter_map(|r| r.revision).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    #[test]
    fn pruning_keeps_live_revisions_and_the_newest_history() {
        let revisions: Vec<ControllerRevision> = (1..=5)
            .map(|n| stored(&set_with_image(&format!("nginx:{n}")), n))
            .collect();
        let name = |i: usize| revisions[i].metadata.name.clone().unwrap();
        let (first, fourth, fifth) = (name(0), name(3), name(4));
        // Revision 1 is live (a pod still runs it); 4 and 5 are current/update.
        let live: BTreeSet<&str> = [first.as_str(), fourth.as_str(), fifth.as_str()].into();
        let pruned: Vec<i64> = revisions_to_prune(&revisions, &live, 1)
            .into_iter()
            .filter_map(|r| r.revision)
            .collect();
        assert_eq!(pruned, vec![2]);
        assert!(revisions_to_prune(&revisions, &live, 10).is_empty());
        assert!(revisions_to_prune(&revisions, &live, -1).is_empty());
    }
}
