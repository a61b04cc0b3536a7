//! The authorization.k8s.io and authentication.k8s.io reviews: answered for
//! the caller from the authorizer and never stored (`kubectl auth can-i`,
//! `kubectl auth can-i --list`, `kubectl auth whoami`).

use serde_json::{Value, json};

use super::{Attributes, Authorizer, PolicyRule, UserInfo};
use crate::sandbox::api::error::ApiError;
use crate::sandbox::resources::ResourceType;

/// Whether `rt` is one of the review types answered here rather than stored.
pub fn is_review(rt: &ResourceType) -> bool {
    matches!(
        (rt.group, rt.plural),
        (
            "authorization.k8s.io",
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        ) | ("authentication.k8s.io", "selfsubjectreviews")
    )
}

/// Answers a create of a review: the object with its `status` filled in.
pub fn review(
    authorizer: &Authorizer,
    rt: &ResourceType,
    user: &UserInfo,
    mut object: Value,
) -> Result<Value, ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    object["apiVersion"] = json!(rt.api_version());
    object["kind"] = json!(rt.kind);
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"]["creationTimestamp"] = Value::Null;
    match rt.plural {
        "selfsubjectaccessreviews" => {
            let attrs = review_attributes(&object["spec"])?;
            let decision = authorizer.authorize(user, &attrs);
            let mut status = json!({"allowed": decision.allowed});
            if !decision.reason.is_empty() {
                status["reason"] = json!(decision.reason);
            }
            object["status"] = status;
        }
        "selfsubjectrulesreviews" => {
            let namespace = object["spec"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let (rules, errors) = authorizer.rules_for(user, &namespace);
            let mut status = rules_review_status(&rules);
            status["incomplete"] = json!(!errors.is_empty());
            if !errors.is_empty() {
                status["evaluationError"] = json!(errors.join(", "));
            }
            object["status"] = status;
        }
        _ => {
            let mut user_info = json!({"username": user.name, "groups": user.groups});
            if !user.uid.is_empty() {
                user_info["uid"] = json!(user.uid);
            }
            if !user.extra.is_empty() {
                let extra: serde_json::Map<String, Value> = user
                    .extra
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                user_info["extra"] = Value::Object(extra);
            }
            object["status"] = json!({"userInfo": user_info});
        }
    }
    Ok(object)
}

/// The attributes a SelfSubjectAccessReview spec asks about.
fn review_attributes(spec: &Value) -> Result<Attributes, ApiError> {
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_string();
    match (
        spec["resourceAttributes"].as_object(),
        spec["nonResourceAttributes"].as_object(),
    ) {
        (Some(_), None) => {
            let r = &spec["resourceAttributes"];
            Ok(Attributes {
                verb: text(r, "verb"),
                resource_request: true,
                api_group: text(r, "group"),
                api_version: text(r, "version"),
                namespace: text(r, "namespace"),
                resource: text(r, "resource"),
                subresource: text(r, "subresource"),
                name: text(r, "name"),
                path: String::new(),
            })
        }
        (None, Some(_)) => {
            let n = &spec["nonResourceAttributes"];
            Ok(Attributes {
                verb: text(n, "verb"),
                path: text(n, "path"),
                ..Attributes::default()
            })
        }
        (resource, _) => Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"{}\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
                if resource.is_some() { "object" } else { "null" }
            ),
        )),
    }
}

/// `resourceRules` and `nonResourceRules` as upstream's RBAC `RulesFor` splits them.
fn rules_review_status(rules: &[PolicyRule]) -> Value {
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for rule in rules {
        if !rule.resources.is_empty() {
            let mut entry = json!({"verbs": rule.verbs, "apiGroups": rule.api_groups,
                                   "resources": rule.resources});
            if !rule.resource_names.is_empty() {
                entry["resourceNames"] = json!(rule.resource_names);
            }
            resource_rules.push(entry);
        }
        if !rule.non_resource_urls.is_empty() {
            non_resource_rules
                .push(json!({"verbs": rule.verbs, "nonResourceURLs": rule.non_resource_urls}));
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::cluster::Cluster;
    use crate::sandbox::api::rbac::test_user as user;
    use crate::sandbox::api::rbac::{ALL_AUTHENTICATED, ensure_bootstrap_policy};

    #[test]
    fn access_reviews_answer_for_the_caller() {
        let cluster = Cluster::new();
        ensure_bootstrap_policy(&cluster);
        let authorizer = Authorizer::new(cluster);
        let jane = user("jane", &[ALL_AUTHENTICATED]);
        let ssar = crate::sandbox::resources::lookup(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
        )
        .unwrap();
        let answer = review(
            &authorizer,
            ssar,
            &jane,
            json!({"spec": {"resourceAttributes":
            {"verb": "list", "resource": "pods", "namespace": "default"}}}),
        )
        .unwrap();
        assert_eq!(answer["status"], json!({"allowed": false}));
        let answer = review(
            &authorizer,
            ssar,
            &jane,
            json!({"spec": {"nonResourceAttributes":
            {"verb": "get", "path": "/version"}}}),
        )
        .unwrap();
        assert_eq!(answer["status"]["allowed"], true);
        assert!(
            answer["status"]["reason"]
                .as_str()
                .unwrap()
                .contains("system:public-info-viewer")
                || answer["status"]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("system:discovery")
        );
        assert_eq!(
            review(&authorizer, ssar, &jane, json!({"spec": {}}))
                .unwrap_err()
                .code,
            422
        );
    }
}
