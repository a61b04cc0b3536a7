//! API errors in the exact shape of a Kubernetes `Status` object, so that
//! kubectl prints `Error from server (NotFound): statefulsets.apps "nope" not found`
//! and kube-rs yields `kube::Error::Api` with the right reason and code.

use serde_json::{Value, json};

use crate::sandbox::resources::ResourceType;

/// One field-level cause of a 422 Invalid (`details.causes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// `FieldValueForbidden`, `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`...
    pub reason: String,
    /// The cause message without the field prefix (`Forbidden: updates to ...`).
    pub message: String,
    /// The field path (`spec`, `spec.selector`).
    pub field: String,
}

/// An API failure: becomes a Status body with `code` as the HTTP status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: u16,
    /// Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    pub reason: String,
    pub message: String,
    /// Status details (`name`, `group`, `kind`, `causes`, `retryAfterSeconds`).
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    fn resource_details(rt: &ResourceType, name: &str) -> Value {
        let mut details = json!({ "name": name, "kind": rt.plural });
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        details
    }

    /// `statefulsets.apps "web" not found`
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", rt.group_resource(), name),
        )
        .with_details(Self::resource_details(rt, name))
    }

    /// `statefulsets.apps "web" already exists`
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", rt.group_resource(), name),
        )
        .with_details(Self::resource_details(rt, name))
    }

    /// A stale resourceVersion (or uid precondition) on update.
    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        Self::conflict_with(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict_with(rt: &ResourceType, name: &str, why: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                rt.group_resource(),
                name,
                why
            ),
        )
        .with_details(Self::resource_details(rt, name))
    }

    /// 422 with field causes: `StatefulSet.apps "web" is invalid: spec: Forbidden: ...`
    pub fn invalid(rt: &ResourceType, name: &str, causes: Vec<FieldCause>) -> Self {
        let kind = if rt.group.is_empty() {
            rt.kind.to_string()
        } else {
            format!("{}.{}", rt.kind, rt.group)
        };
        let summary: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let summary = if summary.len() == 1 {
            summary[0].clone()
        } else {
            format!("[{}]", summary.join(", "))
        };
        let mut details = json!({ "name": name, "kind": rt.kind });
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        details["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| {
                    json!({
                        "reason": c.reason,
                        "message": c.message,
                        "field": c.field,
                    })
                })
                .collect(),
        );
        ApiError::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {summary}"),
        )
        .with_details(details)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// `statefulsets.apps "web" is forbidden: User "u" cannot patch resource "statefulsets" in API group "apps" in the namespace "default"`
    pub fn forbidden(rt: &ResourceType, name: &str, message: impl Into<String>) -> Self {
        let prefix = if name.is_empty() {
            rt.group_resource()
        } else {
            format!("{} \"{}\"", rt.group_resource(), name)
        };
        ApiError::new(
            403,
            "Forbidden",
            format!("{prefix} is forbidden: {}", message.into()),
        )
        .with_details(Self::resource_details(rt, name))
    }

    pub fn method_not_supported(rt: &ResourceType, verb: &str) -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!(
                "{verb} is not supported on resources of kind \"{}\"",
                rt.group_resource()
            ),
        )
    }

    /// The plain 404 for a path no resource is served at.
    pub fn path_not_found() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 410 for a watch or list from a resourceVersion the server no longer keeps.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        ApiError::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// A request body in a media type the sandbox does not read.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type})"
            ),
        )
    }

    /// A PATCH whose Content-Type is not one of the four patch types.
    pub fn unsupported_patch_type(content_type: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    /// A protobuf body of a kind the sandbox's decoder has no table for
    /// (a real server reads them all).
    pub fn protobuf_kind_not_decoded(kind: &str, content_type: &str, decoded: &[&str]) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the sandbox reads {content_type} bodies only for {}; this {kind} was sent that way (kubectl create <kind> does): \
                 create it from a manifest instead (kubectl apply -f FILE sends JSON)",
                decoded.join(", ")
            ),
        )
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        ApiError::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        )
        .with_details(json!({ "retryAfterSeconds": retry_after_seconds }))
    }

    /// The eviction subresource's refusal: the pod's budget allows no
    /// disruption now (`cause` says why); clients such as `kubectl drain` retry.
    pub fn eviction_refused(cause: String, retry_after_seconds: u64) -> Self {
        ApiError::new(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
        )
        .with_details(json!({
            "causes": [{"reason": "DisruptionBudget", "message": cause}],
            "retryAfterSeconds": retry_after_seconds,
        }))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// The Status object sent as the response body (and inside watch ERROR events).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{PODS, STATEFUL_SETS};

    #[test]
    fn not_found_matches_the_api_servers_status() {
        let status = ApiError::not_found(&STATEFUL_SETS, "nope").to_status();
        assert_eq!(status["message"], "statefulsets.apps \"nope\" not found");
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["code"], 404);
        assert_eq!(status["details"]["group"], "apps");
        assert_eq!(status["details"]["kind"], "statefulsets");
        let pod = ApiError::not_found(&PODS, "web-0").to_status();
        assert!(pod["details"].get("group").is_none());
    }

    #[test]
    fn invalid_lists_field_causes_like_upstream() {
        let err = ApiError::invalid(
            &STATEFUL_SETS,
            "web",
            vec![FieldCause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: nope".into(),
                field: "spec".into(),
            }],
        );
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "StatefulSet.apps \"web\" is invalid: spec: Forbidden: nope"
        );
        assert_eq!(err.to_status()["details"]["causes"][0]["field"], "spec");
    }
}
