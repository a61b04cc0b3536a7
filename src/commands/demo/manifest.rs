//! The demo's example: the `web` StatefulSet of the walkthrough (nginx behind a
//! headless Service, one claim per pod from an nfs-subdir StorageClass), read
//! from the same manifest the integration tests apply.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::storage::v1::StorageClass;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `tests/fixtures/web.yaml`, compiled in so the demo needs no files.
pub const WEB_MANIFEST: &str = include_str!("../../../tests/fixtures/web.yaml");

/// The three objects the demo creates.
#[derive(Debug, Clone)]
pub struct WebExample {
    pub storage_class: StorageClass,
    pub service: Service,
    pub statefulset: StatefulSet,
}

impl WebExample {
    /// The objects of a multi-document manifest holding exactly one
    /// StorageClass, one Service and one StatefulSet.
    pub fn parse(text: &str) -> Result<WebExample, String> {
        let documents: Vec<Value> = serde_saphyr::from_multiple(text)
            .map_err(|e| format!("the demo manifest is not valid YAML: {e}"))?;
        let documents: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
        Ok(WebExample {
            storage_class: only_one(&documents, "StorageClass")?,
            service: only_one(&documents, "Service")?,
            statefulset: only_one(&documents, "StatefulSet")?,
        })
    }

    /// The example as shipped.
    pub fn shipped() -> Result<WebExample, String> {
        WebExample::parse(WEB_MANIFEST)
    }

    pub fn set_name(&self) -> &str {
        crate::sts::name(&self.statefulset)
    }

    /// The images of the StatefulSet's containers, in order.
    pub fn images(&self) -> Vec<String> {
        template_images(&self.statefulset)
    }
}

/// The images of a set's pod template containers, in order.
pub fn template_images(set: &StatefulSet) -> Vec<String> {
    set.spec
        .template
        .spec
        .iter()
        .flat_map(|spec| spec.containers.iter())
        .map(|c| c.image.clone().unwrap_or_default())
        .collect()
}

fn only_one<K: DeserializeOwned>(documents: &[Value], kind: &str) -> Result<K, String> {
    let mut matching = documents
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some(kind));
    let (Some(document), None) = (matching.next(), matching.next()) else {
        return Err(format!("the demo manifest must hold exactly one {kind}"));
    };
    serde_json::from_value(document.clone())
        .map_err(|e| format!("the {kind} in the demo manifest is invalid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_manifest_is_the_walkthrough_example() {
        let example = WebExample::shipped().unwrap();
        assert_eq!(example.set_name(), "web");
        assert_eq!(example.statefulset.spec.replicas, Some(3));
        assert_eq!(
            example.statefulset.spec.service_name.as_deref(),
            example.service.metadata.name.as_deref()
        );
        assert_eq!(
            example
                .service
                .spec
                .as_ref()
                .and_then(|s| s.cluster_ip.as_deref()),
            Some("None")
        );
        let claim_class = example
            .statefulset
            .spec
            .volume_claim_templates
            .as_ref()
            .and_then(|claims| claims.first()?.spec.as_ref()?.storage_class_name.clone());
        assert_eq!(claim_class, example.storage_class.metadata.name);
        assert_eq!(
            example.storage_class.provisioner,
            "k8s-sigs.io/nfs-subdir-external-provisioner"
        );
        assert_eq!(example.images(), vec!["nginx:1.25".to_string()]);
    }

    #[test]
    fn a_manifest_missing_a_kind_or_repeating_one_is_refused() {
        let without_service = "kind: StorageClass\napiVersion: storage.k8s.io/v1\nmetadata: {name: x}\nprovisioner: p\n";
        let err = WebExample::parse(without_service).unwrap_err();
        assert!(err.contains("exactly one Service"), "{err}");

        let twice = format!("{WEB_MANIFEST}\n---\n{without_service}");
        let err = WebExample::parse(&twice).unwrap_err();
        assert!(err.contains("exactly one StorageClass"), "{err}");
    }
}
