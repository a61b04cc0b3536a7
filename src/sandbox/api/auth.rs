//! Authentication: who a request comes from.
//!
//! - The admin bearer token the sandbox writes into its kubeconfig is user
//!   `sandbox-admin` in `system:masters` (allowed everything, as a
//!   kubeadm admin certificate is).
//! - Service-account tokens come from the TokenRequest subresource
//!   (`POST .../serviceaccounts/NAME/token`, what `kubectl create token NAME`
//!   sends). They look like upstream's JWTs but are checked against the tokens
//!   this process issued: they stop working at expiry, when the service account
//!   is deleted or recreated, and when the sandbox restarts (as the admin
//!   token does, since a restart writes a new one).
//! - Impersonation headers (`Impersonate-User`, `-Group`, `-Uid`,
//!   `-Extra-*`, what `--as`/`--as-group` send) switch identity when the
//!   requester may `impersonate` each of them, as upstream's impersonation
//!   filter checks.
//!
//! Every request but `/healthz`, `/readyz`, `/livez` must authenticate (no
//! anonymous access: 401 otherwise).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use http::HeaderMap;
use rand::Rng;
use serde_json::{Value, json};

use super::cluster::{Cluster, timestamp_string};
use super::error::ApiError;
use super::rbac::{
    ALL_AUTHENTICATED, Attributes, Authorizer, SYSTEM_MASTERS, UserInfo,
    parse_service_account_user, service_account_groups, service_account_user,
};
use crate::sandbox::resources::SERVICE_ACCOUNTS;

/// The user the admin token authenticates as.
pub const ADMIN_USER: &str = "sandbox-admin";
/// The issuer and default audience of service-account tokens.
const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
const DEFAULT_TOKEN_SECONDS: i64 = 3600;
const MIN_TOKEN_SECONDS: i64 = 600;
const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// A fresh random token (32 alphanumeric characters).
pub fn generate_token() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Paths open to anyone, as upstream's anonymous health checks are.
pub fn is_probe(path: &str) -> bool {
    ["/healthz", "/readyz", "/livez"]
        .iter()
        .any(|probe| path == *probe || path.starts_with(&format!("{probe}/")))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// A service-account token this process issued.
#[derive(Debug, Clone)]
struct IssuedToken {
    namespace: String,
    name: String,
    uid: String,
    expires: jiff::Timestamp,
    jti: String,
}

/// Maps bearer tokens to users.
pub struct Authenticator {
    admin_token: String,
    issued: Mutex<HashMap<String, IssuedToken>>,
}

impl Authenticator {
    pub fn new(admin_token: String) -> Self {
        Authenticator {
            admin_token,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn admin() -> UserInfo {
        UserInfo {
            name: ADMIN_USER.to_string(),
            uid: String::new(),
            groups: vec![SYSTEM_MASTERS.to_string(), ALL_AUTHENTICATED.to_string()],
            extra: Vec::new(),
        }
    }

    /// The user a request's bearer token stands for, or 401.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        cluster: &Cluster,
    ) -> Result<UserInfo, ApiError> {
        let token = bearer_token(headers).ok_or_else(ApiError::unauthorized)?;
        if constant_time_eq(token.as_bytes(), self.admin_token.as_bytes()) {
            return Ok(Self::admin());
        }
        let issued = self
            .issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
            .ok_or_else(ApiError::unauthorized)?;
        if issued.expires <= jiff::Timestamp::now() {
            return Err(ApiError::unauthorized());
        }
        // A token outlives neither its service account nor a recreated one.
        let account = cluster
            .get(&SERVICE_ACCOUNTS, Some(&issued.namespace), &issued.name)
            .map_err(|_| ApiError::unauthorized())?;
        if account["metadata"]["uid"].as_str() != Some(issued.uid.as_str()) {
            return Err(ApiError::unauthorized());
        }
        let mut user = UserInfo::service_account(&issued.namespace, &issued.name, &issued.uid);
        user.extra.push((
            CREDENTIAL_ID.to_string(),
            vec![format!("JTI={}", issued.jti)],
        ));
        Ok(user)
    }

    /// `POST .../serviceaccounts/NAME/token`: a TokenRequest answered with a token.
    pub fn request_token(
        &self,
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        mut request: Value,
    ) -> Result<Value, ApiError> {
        let account = cluster.get(&SERVICE_ACCOUNTS, Some(namespace), name)?;
        let uid = account["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let seconds = match &request["spec"]["expirationSeconds"] {
            Value::Null => DEFAULT_TOKEN_SECONDS,
            value => value.as_i64().ok_or_else(|| {
                ApiError::bad_request(format!("invalid expirationSeconds: {value}"))
            })?,
        };
        let too_short = seconds < MIN_TOKEN_SECONDS;
        if too_short || seconds > 1 << 32 {
            let why = if too_short {
                "may not specify a duration less than 10 minutes"
            } else {
                "may not specify a duration larger than 2^32 seconds"
            };
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: {seconds}: {why}"
                ),
            ));
        }
        let audiences = match request["spec"]["audiences"].as_array() {
            Some(list) if !list.is_empty() => Value::Array(list.clone()),
            _ => json!([API_AUDIENCE]),
        };
        let now = jiff::Timestamp::now();
        let expires = now + jiff::SignedDuration::from_secs(seconds);
        let jti = uuid::Uuid::new_v4().to_string();
        let token = jwt_like(&json!({
            "aud": audiences, "exp": expires.as_second(), "iat": now.as_second(),
            "iss": API_AUDIENCE, "jti": jti,
            "kubernetes.io": {"namespace": namespace,
                              "serviceaccount": {"name": name, "uid": uid}},
            "nbf": now.as_second(), "sub": service_account_user(namespace, name),
        }));
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                token.clone(),
                IssuedToken {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    uid,
                    expires,
                    jti,
                },
            );
        if !request.is_object() {
            request = json!({});
        }
        request["kind"] = json!("TokenRequest");
        request["apiVersion"] = json!("authentication.k8s.io/v1");
        request["metadata"] = json!({"name": name, "namespace": namespace,
                                     "creationTimestamp": timestamp_string(now)});
        request["spec"]["audiences"] = audiences;
        request["spec"]["expirationSeconds"] = json!(seconds);
        if request["spec"].get("boundObjectRef").is_none() {
            request["spec"]["boundObjectRef"] = Value::Null;
        }
        request["status"] =
            json!({"token": token, "expirationTimestamp": timestamp_string(expires)});
        Ok(request)
    }
}

/// `header.claims.signature` in base64url, shaped like upstream's tokens so
/// tools that decode them find the claims; the signature is random (the
/// token is checked by lookup, not by signature).
fn jwt_like(claims: &Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"alg": "RS256", "kid": "sandbox"});
    let signature: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
    format!(
        "{}.{}.{}",
        engine.encode(header.to_string()),
        engine.encode(claims.to_string()),
        engine.encode(signature)
    )
}

/// What one impersonation header asks to become.
enum Impersonation {
    User(String),
    ServiceAccount { namespace: String, name: String },
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Impersonation {
    /// The `impersonate` request upstream authorizes for it.
    fn attributes(&self) -> Attributes {
        let (group, resource, namespace, name, subresource) = match self {
            Impersonation::User(name) => ("", "users", "", name.as_str(), ""),
            Impersonation::ServiceAccount { namespace, name } => {
                ("", "serviceaccounts", namespace.as_str(), name.as_str(), "")
            }
            Impersonation::Group(name) => ("", "groups", "", name.as_str(), ""),
            Impersonation::Extra { key, value } => (
                "authentication.k8s.io",
                "userextras",
                "",
                value.as_str(),
                key.as_str(),
            ),
            Impersonation::Uid(uid) => ("authentication.k8s.io", "uids", "", uid.as_str(), ""),
        };
        let mut attrs = Attributes::resource("impersonate", group, resource, namespace, name);
        attrs.api_version = "v1".to_string();
        attrs.subresource = subresource.to_string();
        attrs
    }
}

/// `%XX` escapes in an `Impersonate-Extra-` key.
fn unescape_extra_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The impersonation requests in the headers, in upstream's order (user,
/// groups, extras, uid).
fn impersonation_requests(headers: &HeaderMap) -> Result<Vec<Impersonation>, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let mut requests = Vec::new();
    let user = values("impersonate-user").into_iter().next();
    if let Some(user) = &user {
        requests.push(match parse_service_account_user(user) {
            Some((namespace, name)) => Impersonation::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
            None => Impersonation::User(user.clone()),
        });
    }
    let others_before = requests.len();
    for group in values("impersonate-group") {
        requests.push(Impersonation::Group(group));
    }
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix("impersonate-extra-") {
            let value = value.to_str().unwrap_or_default().to_string();
            requests.push(Impersonation::Extra {
                key: unescape_extra_key(key),
                value,
            });
        }
    }
    if let Some(uid) = values("impersonate-uid").into_iter().next() {
        requests.push(Impersonation::Uid(uid));
    }
    if user.is_none() && requests.len() > others_before {
        return Err(ApiError::internal(
            "requested impersonation of groups, extra or uid without impersonating a user",
        ));
    }
    Ok(requests)
}

/// The identity the request acts as: `requester` itself, or whom its
/// impersonation headers name if `requester` may impersonate each of them.
pub fn impersonate(
    authorizer: &Authorizer,
    requester: UserInfo,
    headers: &HeaderMap,
) -> Result<UserInfo, ApiError> {
    let requests = impersonation_requests(headers)?;
    if requests.is_empty() {
        return Ok(requester);
    }
    let groups_given = requests
        .iter()
        .any(|r| matches!(r, Impersonation::Group(_)));
    let mut user = UserInfo::default();
    for request in &requests {
        authorizer.check(&requester, &request.attributes())?;
        match request {
            Impersonation::User(name) => user.name = name.clone(),
            Impersonation::ServiceAccount { namespace, name } => {
                user.name = service_account_user(namespace, name);
                if !groups_given {
                    user.groups = service_account_groups(namespace);
                    user.groups.retain(|g| g != ALL_AUTHENTICATED);
                }
            }
            Impersonation::Group(group) => user.groups.push(group.clone()),
            Impersonation::Extra { key, value } => {
                match user.extra.iter_mut().find(|(k, _)| k == key) {
                    Some((_, values)) => values.push(value.clone()),
                    None => user.extra.push((key.clone(), vec![value.clone()])),
                }
            }
            Impersonation::Uid(uid) => user.uid = uid.clone(),
        }
    }
    // Upstream adds system:authenticated unless the caller named it or
    // system:unauthenticated itself (and never for system:anonymous).
    let named_auth_group = user
        .groups
        .iter()
        .any(|g| g == ALL_AUTHENTICATED || g == "system:unauthenticated");
    if user.name != "system:anonymous" && !named_auth_group {
        user.groups.push(ALL_AUTHENTICATED.to_string());
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::api::cluster::WriteOptions;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        headers
    }

    #[test]
    fn only_known_bearer_tokens_authenticate() {
        let cluster = Cluster::new();
        let token = generate_token();
        assert_eq!(token.len(), 32);
        let authn = Authenticator::new(token.clone());
        assert!(authn.authenticate(&HeaderMap::new(), &cluster).is_err());
        let admin = authn.authenticate(&bearer(&token), &cluster).unwrap();
        assert!(admin.is_superuser());
        assert_eq!(
            authn
                .authenticate(&bearer("nope"), &cluster)
                .unwrap_err()
                .code,
            401
        );
    }

    #[test]
    fn service_account_tokens_map_to_the_account_until_it_is_deleted() {
        let cluster = Cluster::new();
        cluster
            .create(
                &SERVICE_ACCOUNTS,
                Some("default"),
                json!({"metadata": {"name": "robot"}}),
                &WriteOptions::default(),
            )
            .unwrap();
        let authn = Authenticator::new(generate_token());
        let response = authn
            .request_token(&cluster, "default", "robot", json!({"spec": {}}))
            .unwrap();
        assert_eq!(response["spec"]["expirationSeconds"], 3600);
        let token = response["status"]["token"].as_str().unwrap().to_string();
        assert_eq!(token.split('.').count(), 3);
        let user = authn.authenticate(&bearer(&token), &cluster).unwrap();
        assert_eq!(user.name, "system:serviceaccount:default:robot");
        assert_eq!(
            user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:default",
                "system:authenticated"
            ]
        );
        assert!(!user.is_superuser());
        cluster
            .delete(
                &SERVICE_ACCOUNTS,
                Some("default"),
                "robot",
                &Default::default(),
            )
            .unwrap();
        assert_eq!(
            authn
                .authenticate(&bearer(&token), &cluster)
                .unwrap_err()
                .code,
            401
        );
        let missing = authn
            .request_token(&cluster, "default", "robot", json!({}))
            .unwrap_err();
        assert_eq!(missing.message, "serviceaccounts \"robot\" not found");
    }

    #[test]
    fn short_token_lifetimes_are_refused_as_upstream() {
        let cluster = Cluster::new();
        cluster
            .create(
                &SERVICE_ACCOUNTS,
                Some("default"),
                json!({"metadata": {"name": "robot"}}),
                &WriteOptions::default(),
            )
            .unwrap();
        let err = Authenticator::new(generate_token())
            .request_token(
                &cluster,
                "default",
                "robot",
                json!({"spec": {"expirationSeconds": 60}}),
            )
            .unwrap_err();
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .ends_with("may not specify a duration less than 10 minutes")
        );
    }

    #[test]
    fn impersonation_needs_the_impersonate_verb() {
        let cluster = Cluster::new();
        let authorizer = Authorizer::new(cluster);
        let mut headers = HeaderMap::new();
        headers.insert("impersonate-user", "jane".parse().unwrap());
        headers.append("impersonate-group", "devs".parse().unwrap());
        headers.append("impersonate-group", "ops".parse().unwrap());
        let jane = impersonate(&authorizer, Authenticator::admin(), &headers).unwrap();
        assert_eq!(jane.name, "jane");
        assert_eq!(jane.groups, ["devs", "ops", "system:authenticated"]);
        let denied = impersonate(&authorizer, jane, &headers).unwrap_err();
        assert_eq!(denied.code, 403);
        assert_eq!(
            denied.message,
            "users \"jane\" is forbidden: User \"jane\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        );
    }

    #[test]
    fn impersonating_a_service_account_gives_its_groups() {
        let authorizer = Authorizer::new(Cluster::new());
        let mut headers = HeaderMap::new();
        headers.insert(
            "impersonate-user",
            "system:serviceaccount:apps:robot".parse().unwrap(),
        );
        let robot = impersonate(&authorizer, Authenticator::admin(), &headers).unwrap();
        assert_eq!(
            robot.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:apps",
                "system:authenticated"
            ]
        );
        let mut groups_only = HeaderMap::new();
        groups_only.insert("impersonate-group", "devs".parse().unwrap());
        assert_eq!(
            impersonate(&authorizer, Authenticator::admin(), &groups_only)
                .unwrap_err()
                .code,
            500
        );
    }

    #[test]
    fn probes_are_open() {
        assert!(is_probe("/healthz"));
        assert!(is_probe("/readyz/ping"));
        assert!(!is_probe("/api/v1/pods"));
    }
}
