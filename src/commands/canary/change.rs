//! The template change a canary rolls out, from `--image`, `--patch` or
//! `--from`. Only the pod template may change: a canary that also changed the
//! replicas or the claims would not be a canary. Pure.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// Where the new template comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeSource {
    /// `CONTAINER=IMAGE` pairs; a bare image is `(None, image)`.
    Images(Vec<(Option<String>, String)>),
    /// The text of an RFC 6902 JSON patch (a JSON array) or a merge patch (an object), YAML or JSON.
    Patch(String),
    /// The text of a manifest holding a StatefulSet whose template to take.
    Manifest(String),
}

/// Parse repeated `--image` values.
pub fn parse_images(values: &[String]) -> Result<Vec<(Option<String>, String)>, String> {
    values
        .iter()
        .map(|value| match value.split_once('=') {
            Some((container, image)) if !container.is_empty() && !image.is_empty() => {
                Ok((Some(container.to_string()), image.to_string()))
            }
            Some(_) => Err(format!(
                "invalid --image \"{value}\": use CONTAINER=IMAGE, or IMAGE for a single-container pod"
            )),
            None if value.is_empty() => Err("invalid --image \"\": the image is empty".to_string()),
            None => Ok((None, value.clone())),
        })
        .collect()
}

fn container_names(template: &PodTemplateSpec) -> Vec<String> {
    template
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
        .collect()
}

fn with_images(
    set: &StatefulSet,
    images: &[(Option<String>, String)],
) -> Result<PodTemplateSpec, String> {
    let mut template = set.spec.template.clone();
    let names = container_names(&template);
    let Some(spec) = template.spec.as_mut() else {
        return Err("the StatefulSet's pod template has no spec".to_string());
    };
    for (container, image) in images {
        let target = match container {
            Some(name) => name.clone(),
            None if names.len() == 1 => names[0].clone(),
            None => {
                return Err(format!(
                    "the pod has {} containers ({}): say which with --image CONTAINER={image}",
                    names.len(),
                    names.join(", ")
                ));
            }
        };
        let found = spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
            .find(|c| c.name == target);
        match found {
            Some(c) => c.image = Some(image.clone()),
            None => {
                return Err(format!(
                    "container \"{target}\" is not in the pod template; use --image CONTAINER=IMAGE with one of: {}",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(template)
}

/// Parse YAML or JSON text (JSON is YAML, but serde_json's errors read better).
fn parse_document(text: &str, what: &str) -> Result<Value, String> {
    serde_json::from_str(text)
        .or_else(|_| serde_saphyr::from_str::<Value>(text))
        .map_err(|e| {
            // The parser's first line says where; the rest is a source excerpt.
            let text = e.to_string();
            let line = text.lines().next().unwrap_or_default();
            format!(
                "{what} is neither JSON nor YAML ({}): write a JSON patch (a list of operations) or a merge patch (an object)",
                line.strip_prefix("error: ").unwrap_or(line)
            )
        })
}

/// The set without its template: what a canary change must leave alone.
fn without_template(set: &Value) -> Value {
    let mut copy = set.clone();
    if let Some(spec) = copy.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("template");
    }
    copy
}

fn first_difference(before: &Value, after: &Value, path: &str) -> Option<String> {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let keys = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k)));
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                if let Some(found) = first_difference(x, y, &child) {
                    return Some(found);
                }
            }
            None
        }
        (a, b) if a == b => None,
        _ => Some(if path.is_empty() {
            "the object".to_string()
        } else {
            path.to_string()
        }),
    }
}

fn with_patch(set: &StatefulSet, text: &str) -> Result<PodTemplateSpec, String> {
    let patch = parse_document(text, "the --patch file")?;
    let before = serde_json::to_value(set).map_err(|e| e.to_string())?;
    let mut after = before.clone();
    match &patch {
        Value::Array(_) => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| format!("the --patch file is not a valid RFC 6902 JSON patch: {e}"))?;
            json_patch::patch(&mut after, &operations)
                .map_err(|e| {
                    format!(
                        "the JSON patch does not apply to the StatefulSet: {e}; compare its paths and values with `kubectl get statefulset {} -o json`",
                        set.metadata.name.as_deref().unwrap_or_default()
                    )
                })?;
        }
        Value::Object(_) => json_patch::merge(&mut after, &patch),
        _ => {
            return Err(
                "the --patch file must hold a JSON patch (an array of operations) or a merge patch (an object)"
                    .to_string(),
            );
        }
    }
    if let Some(path) = first_difference(&without_template(&before), &without_template(&after), "")
    {
        return Err(format!(
            "the patch changes {path}; a canary rolls out pod template changes only (spec.template)"
        ));
    }
    let template = after
        .pointer("/spec/template")
        .cloned()
        .ok_or_else(|| "the patch removes spec.template".to_string())?;
    serde_json::from_value(template).map_err(|e| format!("the patched template is not valid: {e}"))
}

fn from_manifest(set: &StatefulSet, text: &str) -> Result<PodTemplateSpec, String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple::<Value>(text)
        .map_err(|e| format!("the --from file is not valid YAML: {e}"))?;
    let sets: Vec<&Value> = documents
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some("StatefulSet"))
        .collect();
    let name = set.metadata.name.as_deref().unwrap_or_default();
    let chosen = match sets.as_slice() {
        [] => return Err("the --from file holds no StatefulSet".to_string()),
        [only] => *only,
        several => several
            .iter()
            .find(|d| d.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
            .copied()
            .ok_or_else(|| {
                format!("the --from file holds several StatefulSets and none is named \"{name}\"")
            })?,
    };
    let template = chosen
        .pointer("/spec/template")
        .cloned()
        .ok_or_else(|| "the StatefulSet in the --from file has no spec.template".to_string())?;
    serde_json::from_value(template)
        .map_err(|e| format!("the template in the --from file is not valid: {e}"))
}

/// The template the canary rolls out; an error when it equals the live one.
pub fn new_template(set: &StatefulSet, source: &ChangeSource) -> Result<PodTemplateSpec, String> {
    let template = match source {
        ChangeSource::Images(images) => with_images(set, images)?,
        ChangeSource::Patch(text) => with_patch(set, text)?,
        ChangeSource::Manifest(text) => from_manifest(set, text)?,
    };
    if template == set.spec.template {
        return Err("the change leaves the pod template as it is: nothing to roll out".to_string());
    }
    if template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
        .is_none_or(|labels| !crate::sts::selector_matches(&set.spec.selector, labels))
    {
        return Err("the new template's labels do not match the StatefulSet's selector; the API server would refuse it".to_string());
    }
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(containers: &str) -> StatefulSet {
        serde_saphyr::from_str(&format!(
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web, namespace: default}}
spec:
  replicas: 5
  serviceName: nginx
  selector: {{matchLabels: {{app: nginx}}}}
  template:
    metadata: {{labels: {{app: nginx}}}}
    spec:
      containers: {containers}
"#
        ))
        .expect("valid set")
    }

    fn image_of(template: &PodTemplateSpec, container: &str) -> Option<String> {
        template
            .spec
            .as_ref()?
            .containers
            .iter()
            .find(|c| c.name == container)?
            .image
            .clone()
    }

    #[test]
    fn a_bare_image_changes_the_only_container() {
        let s = set("[{name: nginx, image: 'nginx:1.25'}]");
        let images = parse_images(&["nginx:1.27".to_string()]).unwrap();
        let t = new_template(&s, &ChangeSource::Images(images)).unwrap();
        assert_eq!(image_of(&t, "nginx").as_deref(), Some("nginx:1.27"));
    }

    #[test]
    fn several_containers_need_names() {
        let s = set("[{name: nginx, image: 'nginx:1.25'}, {name: exporter, image: 'exp:1'}]");
        let bare = parse_images(&["nginx:1.27".to_string()]).unwrap();
        let err = new_template(&s, &ChangeSource::Images(bare)).unwrap_err();
        assert!(err.contains("2 containers (nginx, exporter)"), "{err}");
        let named = parse_images(&["exporter=exp:2".to_string()]).unwrap();
        let t = new_template(&s, &ChangeSource::Images(named)).unwrap();
        assert_eq!(image_of(&t, "exporter").as_deref(), Some("exp:2"));
        let unknown = parse_images(&["sidecar=x:1".to_string()]).unwrap();
        assert!(
            new_template(&s, &ChangeSource::Images(unknown))
                .unwrap_err()
                .contains("\"sidecar\" is not in")
        );
        assert!(parse_images(&["=x".to_string()]).is_err());
    }

    #[test]
    fn json_and_merge_patches_may_change_only_the_template() {
        let s = set("[{name: nginx, image: 'nginx:1.25'}]");
        let json = r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"}]"#;
        let t = new_template(&s, &ChangeSource::Patch(json.into())).unwrap();
        assert_eq!(image_of(&t, "nginx").as_deref(), Some("nginx:1.27"));

        let merge = "spec:\n  template:\n    metadata:\n      annotations: {rollout: '2'}\n";
        let t = new_template(&s, &ChangeSource::Patch(merge.into())).unwrap();
        assert!(
            t.metadata
                .unwrap()
                .annotations
                .unwrap()
                .contains_key("rollout")
        );

        let replicas = r#"[{"op":"replace","path":"/spec/replicas","value":9}]"#;
        let err = new_template(&s, &ChangeSource::Patch(replicas.into())).unwrap_err();
        assert!(err.contains("changes spec.replicas"), "{err}");

        let broken = r#"[{"op":"replace","path":"/spec/nothing/here","value":1}]"#;
        assert!(
            new_template(&s, &ChangeSource::Patch(broken.into()))
                .unwrap_err()
                .contains("does not apply")
        );
        assert!(new_template(&s, &ChangeSource::Patch("42".into())).is_err());
    }

    #[test]
    fn a_manifest_supplies_the_template_by_name() {
        let s = set("[{name: nginx, image: 'nginx:1.25'}]");
        let manifest = r#"
apiVersion: v1
kind: Service
metadata: {name: nginx}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: 'nginx:1.27'}]}
"#;
        let t = new_template(&s, &ChangeSource::Manifest(manifest.into())).unwrap();
        assert_eq!(image_of(&t, "nginx").as_deref(), Some("nginx:1.27"));
        assert!(new_template(&s, &ChangeSource::Manifest("kind: Service\n".into())).is_err());
    }

    #[test]
    fn no_change_and_unselected_labels_are_refused() {
        let s = set("[{name: nginx, image: 'nginx:1.25'}]");
        let same = parse_images(&["nginx:1.25".to_string()]).unwrap();
        assert!(
            new_template(&s, &ChangeSource::Images(same))
                .unwrap_err()
                .contains("nothing to roll out")
        );
        let relabel =
            r#"[{"op":"replace","path":"/spec/template/metadata/labels/app","value":"other"}]"#;
        assert!(
            new_template(&s, &ChangeSource::Patch(relabel.into()))
                .unwrap_err()
                .contains("selector")
        );
    }
}
