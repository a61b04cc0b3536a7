//! The HTTP face of the API server (axum): routing of every Kubernetes path
//! shape onto `Cluster`, content negotiation (JSON, YAML request bodies,
//! `as=Table` responses), patch content types, DeleteOptions, watch, pod logs
//! and exec, discovery and OpenAPI, bearer-token auth, request counting and
//! the fault switch.
//!
//! Admin endpoints (token required, never faulted, not counted):
//! - `GET /sandbox/metrics`: `{"total": N, "requests": [{"verb", "resource",
//!   "userAgent", "count"}]}`, requests counted by verb (`get`, `list`,
//!   `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, or
//!   the HTTP method for non-resource paths), resource (`statefulsets.apps`,
//!   `pods/log`, or the path) and user agent (its first word, e.g.
//!   `kubectl/v1.37.1`), and `"faults": {"refused", "expiredWatches",
//!   "timedOutWrites"}` the fault switch injected; `DELETE /sandbox/metrics`
//!   resets the counts.
//! - `GET|POST|DELETE /sandbox/faults`: see `faults.rs`.
//! - `GET|DELETE /sandbox/writes`: every committed write with a microsecond
//!   clock, see `writelog.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::auth::{self, Authenticator};
use super::cluster::{
    Cluster, DeleteOptions, ListOptions, PatchBody, Propagation, Subresource, WriteOptions,
};
use super::discovery;
use super::error::ApiError;
use super::faults::{self, FaultSpec};
use super::openapi;
use super::rbac::{self, Authorizer, UserInfo};
use super::selectors::{FieldSelector, LabelSelector};
use super::store::WatchFilter;
use super::table::{self, IncludeObject};
use super::watch::{self, WatchRequest, WatchStart};
use crate::sandbox::node;
use crate::sandbox::resources::{self, PODS, ResourceType};

/// Largest request body accepted.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Everything the handlers share.
pub struct ServerState {
    pub cluster: Cluster,
    pub token: String,
    pub data_dir: PathBuf,
    /// `host:port` clients reach us at (for `/api`'s serverAddressByClientCIDRs).
    pub server_address: String,
    /// Ends open watches and log streams at shutdown.
    pub shutdown: CancellationToken,
    /// Who a request comes from (admin token, service-account tokens).
    pub authn: Authenticator,
    /// What they may do (RBAC).
    pub authz: Authorizer,
    faults: RwLock<Option<FaultSpec>>,
    /// What the fault switch injected (`faults` in the metrics).
    pub fault_tally: faults::FaultTally,
    metrics: Mutex<BTreeMap<RequestKey, u64>>,
    /// Every committed write with a microsecond clock (`GET /sandbox/writes`).
    pub writes: super::writelog::WriteLog,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    verb: String,
    resource: String,
    user_agent: String,
}

impl ServerState {
    pub fn new(
        cluster: Cluster,
        token: String,
        data_dir: PathBuf,
        server_address: String,
        faults: Option<FaultSpec>,
    ) -> Self {
        // The RBAC post-start hook: the bootstrap roles and bindings exist.
        rbac::ensure_bootstrap_policy(&cluster);
        ServerState {
            authn: Authenticator::new(token.clone()),
            authz: Authorizer::new(cluster.clone()),
            cluster,
            token,
            data_dir,
            server_address,
            shutdown: CancellationToken::new(),
            faults: RwLock::new(faults),
            fault_tally: faults::FaultTally::default(),
            metrics: Mutex::new(BTreeMap::new()),
            writes: super::writelog::WriteLog::default(),
        }
    }

    pub fn faults(&self) -> Option<FaultSpec> {
        self.faults
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_faults(&self, spec: Option<FaultSpec>) {
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = spec;
    }

    fn count(&self, key: RequestKey) {
        *self
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    /// The request counts as `GET /sandbox/metrics` reports them.
    pub fn metrics(&self) -> Value {
        let metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        let requests: Vec<Value> = metrics
            .iter()
            .map(|(k, count)| json!({"verb": k.verb, "resource": k.resource, "userAgent": k.user_agent, "count": count}))
            .collect();
        json!({"total": metrics.values().sum::<u64>(), "requests": requests, "faults": self.fault_tally.to_json()})
    }
}

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    if auth::is_probe(&path) {
        return (StatusCode::OK, "ok").into_response();
    }
    let query = Query::parse(parts.uri.query());
    match authenticate_and_authorize(&state, &parts, &path, &query) {
        Ok(user) => {
            parts.extensions.insert(user);
        }
        Err(err) => return status_response(&err),
    }
    if path == "/sandbox" || path.starts_with("/sandbox/") {
        return admin(&state, &parts.method, &path, body).await;
    }
    let route = Route::parse(&path);
    let (verb, resource) = route.describe(&parts.method, &query);
    state.count(RequestKey {
        verb,
        resource,
        user_agent: user_agent(&parts.headers),
    });
    let faults = state.faults();
    if let Some(spec) = &faults {
        if spec.delay_ms > 0 {
            tokio::time::sleep(spec.delay()).await;
        }
        if let Some(refusal) = spec.failure(rand::random::<f64>(), rand::random_range(0..1024)) {
            state.fault_tally.refused();
            return refusal.into_response();
        }
    }
    let lose_answer = faults.as_ref().is_some_and(|spec| {
        is_plain_write(&parts.method, &route) && spec.times_out_write(rand::random::<f64>())
    });
    let result = match route {
        Route::Resource(target) => serve_resource(&state, &mut parts, target, query, body).await,
        other => serve_non_resource(&state, &parts, other),
    };
    if lose_answer {
        // The write happened; the client only hears that it timed out.
        state.fault_tally.timed_out_write();
        return status_response(&faults::write_timeout());
    }
    result.unwrap_or_else(|err| status_response(&err))
}

/// A write to a resource (not a streaming exec/attach/port-forward).
fn is_plain_write(method: &Method, route: &Route) -> bool {
    let Route::Resource(target) = route else {
        return false;
    };
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && !matches!(
        target.subresource.as_deref(),
        Some("exec" | "attach" | "portforward" | "proxy")
    )
}

/// The identity the request acts as (after impersonation), if it may do
/// what it asks; 401 or 403 otherwise.
fn authenticate_and_authorize(
    state: &ServerState,
    parts: &Parts,
    path: &str,
    query: &Query,
) -> Result<UserInfo, ApiError> {
    let requester = state.authn.authenticate(&parts.headers, &state.cluster)?;
    let user = auth::impersonate(&state.authz, requester, &parts.headers)?;
    let attributes = rbac::Attributes::from_request(
        parts.method.as_str(),
        path,
        query.flag("watch"),
        query.get("fieldSelector"),
    );
    state.authz.check_request(&user, &attributes)?;
    Ok(user)
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split_whitespace().next())
        .unwrap_or("unknown")
        .to_string()
}

async fn admin(state: &ServerState, method: &Method, path: &str, body: Body) -> Response {
    match (method.as_str(), path) {
        ("GET", "/sandbox/metrics") => json_response(StatusCode::OK, &state.metrics()),
        ("DELETE", "/sandbox/metrics") => {
            state
                .metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            state.fault_tally.reset();
            json_response(StatusCode::OK, &state.metrics())
        }
        ("GET", "/sandbox/writes") => json_response(StatusCode::OK, &state.writes.to_json()),
        ("DELETE", "/sandbox/writes") => {
            state.writes.clear();
            json_response(StatusCode::OK, &state.writes.to_json())
        }
        ("GET", "/sandbox/faults") => json_response(StatusCode::OK, &json!(state.faults())),
        ("DELETE", "/sandbox/faults") => {
            state.set_faults(None);
            json_response(StatusCode::OK, &json!(null))
        }
        ("POST", "/sandbox/faults") | ("PUT", "/sandbox/faults") => {
            let spec = read_body(body)
                .await
                .and_then(|bytes| {
                    serde_json::from_slice::<FaultSpec>(&bytes)
                        .map_err(|e| ApiError::bad_request(e.to_string()))
                })
                .and_then(|spec| {
                    spec.check()
                        .map(|()| spec)
                        .map_err(|e| ApiError::bad_request(e.to_string()))
                });
            match spec {
                Ok(spec) => {
                    state.set_faults(Some(spec.clone()));
                    json_response(StatusCode::OK, &json!(spec))
                }
                Err(err) => status_response(&err),
            }
        }
        _ => status_response(&ApiError::path_not_found()),
    }
}

/// A parsed request path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Version,
    CoreRoot,
    GroupsRoot,
    Group(String),
    GroupVersion(String, String),
    OpenApiV2,
    OpenApiV3Index,
    OpenApiV3(String, String),
    Resource(Target),
    NotFound,
}

/// A resource path: `/api/v1/namespaces/ns/pods/web-0/log`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    rt: &'static ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    /// The deprecated `/watch/` path prefix.
    watch_path: bool,
}

impl Route {
    fn parse(path: &str) -> Route {
        let segments: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match segments.as_slice() {
            ["version"] => Route::Version,
            ["api"] => Route::CoreRoot,
            ["apis"] => Route::GroupsRoot,
            ["openapi", "v2"] => Route::OpenApiV2,
            ["openapi", "v3"] => Route::OpenApiV3Index,
            ["openapi", "v3", "api", version] => {
                Route::OpenApiV3(String::new(), version.to_string())
            }
            ["openapi", "v3", "apis", group, version] => {
                Route::OpenApiV3(group.to_string(), version.to_string())
            }
            ["api", "v1"] => Route::GroupVersion(String::new(), "v1".into()),
            ["apis", group] => Route::Group(group.to_string()),
            ["apis", group, version] => Route::GroupVersion(group.to_string(), version.to_string()),
            ["api", "v1", rest @ ..] => Self::resource("", "v1", rest),
            ["apis", group, version, rest @ ..] => Self::resource(group, version, rest),
            _ => Route::NotFound,
        }
    }

    fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
        let (watch_path, rest) = match rest {
            ["watch", rest @ ..] => (true, rest),
            _ => (false, rest),
        };
        let lookup = |plural: &str| resources::lookup(group, version, plural);
        let (rt, namespace, rest) = match rest {
            ["namespaces", ns, plural, rest @ ..] if !matches!(*plural, "status" | "finalize") => {
                match lookup(plural) {
                    Some(rt) if rt.namespaced => (rt, Some(ns.to_string()), rest),
                    _ => return Route::NotFound,
                }
            }
            [plural, rest @ ..] => match lookup(plural) {
                Some(rt) => (rt, None, rest),
                None => return Route::NotFound,
            },
            [] => return Route::NotFound,
        };
        let (name, subresource) = match rest {
            [] => (None, None),
            [name] => (Some(name.to_string()), None),
            [name, sub] if rt.subresources.contains(sub) => {
                (Some(name.to_string()), Some(sub.to_string()))
            }
            _ => return Route::NotFound,
        };
        if rt.namespaced && namespace.is_none() && name.is_some() {
            return Route::NotFound;
        }
        Route::Resource(Target {
            rt,
            namespace,
            name,
            subresource,
            watch_path,
        })
    }

    /// (verb, resource) for request counting.
    fn describe(&self, method: &Method, query: &Query) -> (String, String) {
        match self {
            Route::Resource(t) => {
                let verb = match (method.as_str(), &t.name) {
                    ("GET", None) if t.watch_path || query.flag("watch") => "watch",
                    ("GET", None) => "list",
                    ("GET", Some(_)) if t.watch_path => "watch",
                    ("GET", Some(_)) => "get",
                    ("POST", _) => "create",
                    ("PUT", _) => "update",
                    ("PATCH", _) => "patch",
                    ("DELETE", None) => "deletecollection",
                    ("DELETE", Some(_)) => "delete",
                    (other, _) => other,
                };
                let resource = match &t.subresource {
                    Some(sub) => format!("{}/{sub}", t.rt.group_resource()),
                    None => t.rt.group_resource(),
                };
                (verb.to_string(), resource)
            }
            _ => (method.as_str().to_lowercase(), "nonresource".to_string()),
        }
    }
}

/// Query parameters (the last value wins, as Go's `Get` does for one value).
#[derive(Debug, Clone, Default)]
struct Query {
    raw: Option<String>,
    values: HashMap<String, String>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Query {
        let values = raw
            .and_then(|raw| format!("/?{raw}").parse::<http::Uri>().ok())
            .and_then(|uri| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri).ok())
            .map(|axum::extract::Query(pairs)| pairs.into_iter().collect())
            .unwrap_or_default();
        Query {
            raw: raw.map(str::to_string),
            values,
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A boolean as Go's strconv.ParseBool reads it.
    fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }

    fn int<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v}")))
            })
            .transpose()
    }

    fn write_options(&self) -> WriteOptions {
        WriteOptions {
            dry_run: self.get("dryRun") == Some("All"),
            field_manager: self.get("fieldManager").map(str::to_string),
        }
    }

    fn list_options(&self) -> Result<ListOptions, ApiError> {
        Ok(ListOptions {
            label_selector: self.get("labelSelector").map(str::to_string),
            field_selector: self.get("fieldSelector").map(str::to_string),
            limit: self.int("limit")?,
            continue_token: self.get("continue").map(str::to_string),
        })
    }
}

fn serve_non_resource(
    state: &ServerState,
    parts: &Parts,
    route: Route,
) -> Result<Response, ApiError> {
    let accept = header(&parts.headers, http::header::ACCEPT);
    // An unknown path is 404 whatever the method (a POST to a resource this
    // server lacks included), as upstream's not-found handler answers.
    if parts.method != Method::GET && !matches!(route, Route::NotFound) {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ));
    }
    Ok(match route {
        Route::Version => json_response(StatusCode::OK, &discovery::version_info()),
        Route::CoreRoot if discovery::wants_aggregated(accept) => {
            aggregated_response(discovery::aggregated(true))
        }
        Route::CoreRoot => json_response(
            StatusCode::OK,
            &discovery::api_versions(&state.server_address),
        ),
        Route::GroupsRoot if discovery::wants_aggregated(accept) => {
            aggregated_response(discovery::aggregated(false))
        }
        Route::GroupsRoot => json_response(StatusCode::OK, &discovery::api_group_list()),
        Route::Group(group) => {
            let (g, v) = discovery::served_group(&group).ok_or_else(ApiError::path_not_found)?;
            json_response(StatusCode::OK, &discovery::api_group(g, v))
        }
        Route::GroupVersion(group, version) => {
            if !resources::group_versions().contains(&(group.as_str(), version.as_str())) {
                return Err(ApiError::path_not_found());
            }
            json_response(
                StatusCode::OK,
                &discovery::api_resource_list(&group, &version),
            )
        }
        Route::OpenApiV2 if accept.contains("protobuf") => {
            let mut response = Response::new(Body::from(openapi::v2_document_protobuf()));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(openapi::V2_PROTOBUF_CONTENT_TYPE),
            );
            response
        }
        Route::OpenApiV2 => json_response(StatusCode::OK, &openapi::v2_document()),
        Route::OpenApiV3Index => json_response(StatusCode::OK, &openapi::index()),
        Route::OpenApiV3(group, version) => {
            let doc =
                openapi::group_version(&group, &version).ok_or_else(ApiError::path_not_found)?;
            json_response(StatusCode::OK, &doc)
        }
        Route::Resource(_) | Route::NotFound => return Err(ApiError::path_not_found()),
    })
}

fn aggregated_response(doc: Value) -> Response {
    let mut response = json_response(StatusCode::OK, &doc);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE),
    );
    response
}

fn header(headers: &HeaderMap, name: http::header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// What the client asked the response to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rendering {
    Json,
    /// A meta.k8s.io/v1 Table, rows carrying what `includeObject` asks for.
    Table {
        include: IncludeObject,
    },
    /// meta.k8s.io/v1 PartialObjectMetadata (get, watch) or
    /// PartialObjectMetadataList (list): the objects' metadata only.
    Metadata {
        list: bool,
    },
}

/// The metadata-only form of an object, as `as=PartialObjectMetadata` asks.
fn partial_metadata(object: &Value) -> Value {
    serde_json::to_value(super::cluster::PartialItem(object)).unwrap_or(Value::Null)
}

fn rendering(headers: &HeaderMap, query: &Query) -> Result<Rendering, ApiError> {
    let accept = header(headers, http::header::ACCEPT);
    let wants_table = accept.split(',').next().is_some_and(|first| {
        let first = first.replace(' ', "");
        first.contains("as=Table") && first.contains("g=meta.k8s.io") && first.contains("v=v1")
    });
    if wants_table {
        return Ok(Rendering::Table {
            include: table::include_object_mode(query.get("includeObject"))?,
        });
    }
    // The first media type naming a meta.k8s.io/v1 metadata form wins.
    let metadata_form = accept.split(',').find_map(|offered| {
        let offered = offered.replace(' ', "");
        let params: Vec<&str> = offered.split(';').skip(1).collect();
        let form = params.iter().find_map(|p| p.strip_prefix("as="))?;
        (params.contains(&"g=meta.k8s.io") && params.contains(&"v=v1")).then(|| form.to_string())
    });
    Ok(match metadata_form.as_deref() {
        Some("PartialObjectMetadataList") => Rendering::Metadata { list: true },
        Some("PartialObjectMetadata") => Rendering::Metadata { list: false },
        _ => Rendering::Json,
    })
}

/// A list answers only as a PartialObjectMetadataList, a get or a watch only
/// as PartialObjectMetadata (the upstream server refuses the others with 406).
fn check_metadata_form(rendering: Rendering, is_list: bool) -> Result<(), ApiError> {
    match rendering {
        Rendering::Metadata { list } if list != is_list => {
            let wanted = if is_list {
                "PartialObjectMetadataList"
            } else {
                "PartialObjectMetadata"
            };
            Err(ApiError::new(
                406,
                "NotAcceptable",
                format!(
                    "only the following media types are accepted: application/json;as={wanted};g=meta.k8s.io;v=v1"
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn target_namespace(target: &Target) -> Option<&str> {
    target.namespace.as_deref()
}

async fn serve_resource(
    state: &Arc<ServerState>,
    parts: &mut Parts,
    target: Target,
    query: Query,
    body: Body,
) -> Result<Response, ApiError> {
    let rt = target.rt;
    let cluster = &state.cluster;
    let ns = target_namespace(&target);
    let rendering = rendering(&parts.headers, &query)?;
    if rbac::is_review(rt) {
        if parts.method != Method::POST {
            let verb = parts.method.as_str().to_lowercase();
            return Err(ApiError::method_not_supported(rt, &verb));
        }
        let user = parts.extensions.get::<UserInfo>().cloned();
        let object = parse_body(&parts.headers, body).await?;
        let reviewed = rbac::review(&state.authz, rt, &user.unwrap_or_default(), object)?;
        return Ok(json_response(StatusCode::CREATED, &reviewed));
    }
    let sub = match target.subresource.as_deref() {
        None => Subresource::Main,
        Some("status") => Subresource::Status,
        Some("scale") => Subresource::Scale,
        Some("exec") => return Ok(exec(state, parts, &target, query).await),
        Some("log") if parts.method == Method::GET => return serve_log(state, &target, &query),
        Some("eviction") if parts.method == Method::POST => {
            let eviction = parse_body(&parts.headers, body).await?;
            let options = delete_options_from(&query, &eviction["deleteOptions"])?;
            let name = target.name.as_deref().unwrap_or_default();
            let namespace = ns.unwrap_or_default();
            let status = super::eviction::evict(cluster, namespace, name, &eviction, options)?;
            return Ok(json_response(StatusCode::CREATED, &status));
        }
        Some("token") if parts.method == Method::POST => {
            let object = parse_body(&parts.headers, body).await?;
            let name = target.name.as_deref().unwrap_or_default();
            let namespace = ns.unwrap_or_default();
            let issued = state
                .authn
                .request_token(cluster, namespace, name, object)?;
            return Ok(json_response(StatusCode::CREATED, &issued));
        }
        Some(_) => return Err(ApiError::method_not_supported(rt, parts.method.as_str())),
    };
    let method = parts.method.clone();
    match (method.as_str(), target.name.as_deref()) {
        ("GET", None) if target.watch_path || query.flag("watch") => {
            check_metadata_form(rendering, false)?;
            start_watch(state, &target, &query, rendering)
        }
        ("GET", Some(name)) if target.watch_path => {
            check_metadata_form(rendering, false)?;
            let mut query = query;
            query
                .values
                .insert("fieldSelector".into(), format!("metadata.name={name}"));
            let target = Target {
                name: None,
                ..target.clone()
            };
            start_watch(state, &target, &query, rendering)
        }
        ("GET", None) => {
            // Shared with the store: a large list is not copied before it is written.
            check_metadata_form(rendering, true)?;
            let list = cluster.list_shared(rt, ns, &query.list_options()?)?;
            let mut metadata = json!({"resourceVersion": list.resource_version.to_string()});
            if let Some(token) = &list.continue_token {
                metadata["continue"] = json!(token);
            }
            if let Some(remaining) = list.remaining {
                metadata["remainingItemCount"] = json!(remaining);
            }
            Ok(match rendering {
                Rendering::Table { include } => {
                    let items: Vec<Value> =
                        list.items.iter().map(|item| (**item).clone()).collect();
                    let mut table = render_table(rt, &items, include);
                    table["metadata"] = metadata;
                    json_response(StatusCode::OK, &table)
                }
                Rendering::Metadata { .. } => {
                    serialized_response(StatusCode::OK, &list.metadata_body(&metadata))
                }
                Rendering::Json => serialized_response(StatusCode::OK, &list.body(rt, &metadata)),
            })
        }
        ("GET", Some(name)) => {
            check_metadata_form(rendering, false)?;
            let object = cluster.get_subresource(rt, ns, name, sub)?;
            Ok(match rendering {
                Rendering::Metadata { .. } if sub == Subresource::Main => {
                    json_response(StatusCode::OK, &partial_metadata(&object))
                }
                Rendering::Table { include } if sub == Subresource::Main => {
                    let mut table = render_table(rt, std::slice::from_ref(&object), include);
                    table["metadata"] =
                        json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                    json_response(StatusCode::OK, &table)
                }
                _ => json_response(StatusCode::OK, &object),
            })
        }
        ("POST", None) => {
            let object = parse_body(&parts.headers, body).await?;
            let created = cluster.create(rt, ns, object, &query.write_options())?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        ("PUT", Some(name)) => {
            let object = parse_body(&parts.headers, body).await?;
            let updated = cluster.update(rt, ns, name, object, sub, &query.write_options())?;
            Ok(json_response(StatusCode::OK, &updated))
        }
        ("PATCH", Some(name)) => {
            let content_type = header(&parts.headers, http::header::CONTENT_TYPE).to_string();
            let bytes = read_body(body).await?;
            let patch = patch_body(&content_type, &bytes)?;
            if matches!(patch, PatchBody::Apply(_)) && query.get("fieldManager").is_none() {
                return Err(ApiError::invalid_field_manager());
            }
            let existed = cluster.get(rt, ns, name).is_ok();
            let patched = cluster.patch(rt, ns, name, patch, sub, &query.write_options())?;
            let code = if existed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok(json_response(code, &patched))
        }
        ("DELETE", Some(name)) => {
            let bytes = read_body(body).await?;
            let opts = delete_options(&query, &bytes)?;
            let outcome = cluster.delete_with_outcome(rt, ns, name, &opts)?;
            Ok(json_response(StatusCode::OK, &outcome.object))
        }
        ("DELETE", None) => {
            let bytes = read_body(body).await?;
            let opts = delete_options(&query, &bytes)?;
            let deleted = cluster.delete_collection(rt, ns, &query.list_options()?, &opts)?;
            let list = json!({
                "kind": rt.list_kind(), "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": cluster.resource_version().to_string()},
                "items": deleted,
            });
            Ok(json_response(StatusCode::OK, &list))
        }
        (verb, _) => Err(ApiError::method_not_supported(rt, &verb.to_lowercase())),
    }
}

impl ApiError {
    /// Server-side apply without `fieldManager`.
    fn invalid_field_manager() -> ApiError {
        ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        )
    }
}

fn start_watch(
    state: &Arc<ServerState>,
    target: &Target,
    query: &Query,
    rendering: Rendering,
) -> Result<Response, ApiError> {
    let rt = target.rt;
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(rt, query.get("fieldSelector").unwrap_or_default())?;
    let start = match query.get("resourceVersion") {
        None | Some("0") => WatchStart::CurrentState,
        Some(rv) => WatchStart::After(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?,
        ),
    };
    if let (WatchStart::After(rv), Some(spec)) = (start, state.faults())
        && spec.expires_watch(rand::random::<f64>())
    {
        state.fault_tally.expired_watch();
        let oldest = state.cluster.resource_version().max(rv + 1);
        return watch::error_only(&ApiError::expired(rv, oldest));
    }
    let send_initial_events = query.flag("sendInitialEvents");
    if send_initial_events && query.get("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    let timeout = query.int::<u64>("timeoutSeconds")?.map(Duration::from_secs);
    let request = WatchRequest {
        start,
        send_initial_events,
        allow_bookmarks: query.flag("allowWatchBookmarks"),
        timeout,
        label_selector: query.get("labelSelector").map(str::to_string),
        field_selector: query.get("fieldSelector").map(str::to_string),
        filter: WatchFilter { labels, fields },
        cut_after: state.faults().and_then(|f| f.watch_cut()),
    };
    let encode: watch::Encoder = match rendering {
        Rendering::Json => Arc::new(|object: &Value| object.clone()),
        Rendering::Metadata { .. } => Arc::new(partial_metadata),
        Rendering::Table { include } => {
            Arc::new(move |object: &Value| render_table(rt, std::slice::from_ref(object), include))
        }
    };
    watch::serve(
        state.cluster.clone(),
        rt,
        target.namespace.clone(),
        request,
        encode,
        state.shutdown.clone(),
    )
}

async fn exec(
    state: &Arc<ServerState>,
    parts: &mut Parts,
    target: &Target,
    query: Query,
) -> Response {
    let upgrade = WebSocketUpgrade::from_request_parts(parts, state).await;
    crate::sandbox::exec::handle_exec(
        state.cluster.clone(),
        state.data_dir.clone(),
        target.namespace.clone().unwrap_or_default(),
        target.name.clone().unwrap_or_default(),
        query.raw,
        upgrade,
    )
    .await
}

/// `pods/{name}/log`: the kubelet's log files, optionally followed.
fn serve_log(
    state: &Arc<ServerState>,
    target: &Target,
    query: &Query,
) -> Result<Response, ApiError> {
    let name = target.name.clone().unwrap_or_default();
    let pod = state
        .cluster
        .get(&PODS, target.namespace.as_deref(), &name)?;
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let container = match query.get("container") {
        Some(c) if containers.iter().any(|n| n == c) => c.to_string(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let since = match (query.get("sinceTime"), query.int::<i64>("sinceSeconds")?) {
        (Some(t), _) => Some(
            t.parse::<jiff::Timestamp>()
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        (None, Some(secs)) => Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs)),
        _ => None,
    };
    let log_query = node::LogQuery {
        previous: query.flag("previous"),
        timestamps: query.flag("timestamps"),
        tail_lines: query.int("tailLines")?,
        since,
        limit_bytes: query.int("limitBytes")?,
    };
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = match node::read_log(&state.data_dir, &uid, &container, &log_query) {
        Ok(text) => text,
        Err(node::NodeError::NoLog { .. }) => {
            return Err(no_log_error(&pod, &name, &container, log_query.previous));
        }
        Err(err) => return Err(ApiError::internal(err.to_string())),
    };
    if !query.flag("follow") {
        return Ok(([(http::header::CONTENT_TYPE, "text/plain")], text).into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
    let follow = LogFollow {
        cluster: state.cluster.clone(),
        data_dir: state.data_dir.clone(),
        namespace: target.namespace.clone(),
        pod: name,
        uid,
        container,
        query: node::LogQuery {
            tail_lines: None,
            limit_bytes: None,
            ..log_query
        },
        shutdown: state.shutdown.clone(),
    };
    tokio::spawn(follow.run(text, tx));
    Ok(Response::builder()
        .header(http::header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .unwrap_or_else(|e| status_response(&ApiError::internal(e.to_string()))))
}

/// The kubelet's answers when a container has no log to show.
fn no_log_error(pod: &Value, pod_name: &str, container: &str, previous: bool) -> ApiError {
    if previous {
        return ApiError::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
        ));
    }
    let reason = pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c["state"]["waiting"]["reason"].as_str())
        .unwrap_or("ContainerCreating");
    ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
    ))
}

struct LogFollow {
    cluster: Cluster,
    data_dir: PathBuf,
    namespace: Option<String>,
    pod: String,
    uid: String,
    container: String,
    query: node::LogQuery,
    shutdown: CancellationToken,
}

impl LogFollow {
    /// Sends what was read, then new lines as the kubelet appends them, until
    /// the pod (this instance of it) is gone or the client hangs up.
    async fn run(
        self,
        first: String,
        tx: tokio::sync::mpsc::Sender<Result<Bytes, std::convert::Infallible>>,
    ) {
        let mut seen = node::read_log(&self.data_dir, &self.uid, &self.container, &self.query)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = self.shutdown.cancelled() => return,
                _ = tx.closed() => return,
            }
            let alive = self
                .cluster
                .get(&PODS, self.namespace.as_deref(), &self.pod)
                .is_ok_and(|p| p["metadata"]["uid"] == self.uid.as_str());
            let text = node::read_log(&self.data_dir, &self.uid, &self.container, &self.query)
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() < seen {
                // Rotated by a restart: this instance's log is over.
                return;
            }
            if lines.len() > seen {
                let mut chunk = lines[seen..].join("\n");
                chunk.push('\n');
                seen = lines.len();
                if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                    return;
                }
            }
            if !alive {
                return;
            }
        }
    }
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))
}

/// A JSON or YAML object body.
async fn parse_body(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let bytes = read_body(body).await?;
    let content_type = header(headers, http::header::CONTENT_TYPE);
    decode(content_type, &bytes)
}

fn decode(content_type: &str, bytes: &[u8]) -> Result<Value, ApiError> {
    if content_type.contains("protobuf") {
        // The kinds `kubectl create <kind>` and `kubectl auth` send; others get 415.
        return super::protobuf::decode_object(bytes, content_type);
    }
    if content_type.contains("cbor") {
        // Only JSON and YAML are decoded; see the module docs.
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    if content_type.contains("yaml") {
        serde_saphyr::from_str::<Value>(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
    }
}

fn patch_body(content_type: &str, bytes: &[u8]) -> Result<PatchBody, ApiError> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    Ok(match media {
        "application/json-patch+json" => PatchBody::Json(decode(media, bytes)?),
        "application/merge-patch+json" => PatchBody::Merge(decode(media, bytes)?),
        "application/strategic-merge-patch+json" => PatchBody::Strategic(decode(media, bytes)?),
        "application/apply-patch+yaml" | "application/apply-patch+json" => {
            PatchBody::Apply(decode("yaml", bytes)?)
        }
        other => return Err(ApiError::unsupported_patch_type(other)),
    })
}

/// DeleteOptions from the body (if any) and the query (which wins).
fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let from_body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    delete_options_from(query, &from_body)
}

/// DeleteOptions from a decoded DeleteOptions object and the query (which wins).
fn delete_options_from(query: &Query, from_body: &Value) -> Result<DeleteOptions, ApiError> {
    let propagation = query
        .get("propagationPolicy")
        .or_else(|| from_body["propagationPolicy"].as_str())
        .map(|p| match p {
            "Background" => Ok(Propagation::Background),
            "Foreground" => Ok(Propagation::Foreground),
            "Orphan" => Ok(Propagation::Orphan),
            other => Err(ApiError::bad_request(format!(
                "invalid propagationPolicy: {other}"
            ))),
        })
        .transpose()?
        .or_else(|| match from_body["orphanDependents"].as_bool() {
            Some(true) => Some(Propagation::Orphan),
            Some(false) => Some(Propagation::Background),
            None => None,
        });
    let dry_run = query.get("dryRun") == Some("All")
        || from_body["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        grace_period_seconds: query
            .int("gracePeriodSeconds")?
            .or_else(|| from_body["gracePeriodSeconds"].as_i64()),
        propagation,
        preconditions_uid: from_body["preconditions"]["uid"]
            .as_str()
            .map(str::to_string),
        preconditions_resource_version: from_body["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
        dry_run,
    })
}

/// `json_response` for a body that serialises itself (the same compact JSON).
fn serialized_response(code: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (code, bytes).into_response();
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(err) => status_response(&ApiError::internal(format!("encoding the response: {err}"))),
    }
}

pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let mut response = (code, body.to_string()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

pub fn status_response(err: &ApiError) -> Response {
    let code = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(code, &err.to_status());
    if let Some(retry) = err
        .details
        .as_ref()
        .and_then(|d| d["retryAfterSeconds"].as_u64())
    {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry));
    }
    response
}

/// A meta.k8s.io/v1 Table for these objects.
fn render_table(rt: &ResourceType, objects: &[Value], include: IncludeObject) -> Value {
    table::to_table_with(rt, objects, jiff::Timestamp::now(), include)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::resources::{NAMESPACES, STATEFUL_SETS};

    fn target(route: Route) -> Target {
        match route {
            Route::Resource(t) => t,
            other => panic!("not a resource route: {other:?}"),
        }
    }

    #[test]
    fn resource_paths_parse() {
        let t = target(Route::parse(
            "/apis/apps/v1/namespaces/default/statefulsets/web/scale",
        ));
        assert_eq!(t.rt, &STATEFUL_SETS);
        assert_eq!(t.namespace.as_deref(), Some("default"));
        assert_eq!(t.name.as_deref(), Some("web"));
        assert_eq!(t.subresource.as_deref(), Some("scale"));
        let all = target(Route::parse("/api/v1/pods"));
        assert_eq!((all.namespace, all.name), (None, None));
        let ns = target(Route::parse("/api/v1/namespaces/default"));
        assert_eq!(ns.rt, &NAMESPACES);
        assert_eq!(ns.name.as_deref(), Some("default"));
        let ns_status = target(Route::parse("/api/v1/namespaces/default/status"));
        assert_eq!(ns_status.subresource.as_deref(), Some("status"));
        let watched = target(Route::parse("/api/v1/watch/namespaces/default/pods"));
        assert!(watched.watch_path);
        assert_eq!(Route::parse("/apis/apps/v1/nope"), Route::NotFound);
        assert_eq!(Route::parse("/api/v1/pods/web-0"), Route::NotFound);
        assert_eq!(
            Route::parse("/apis/apps/v1"),
            Route::GroupVersion("apps".into(), "v1".into())
        );
    }

    #[test]
    fn requests_are_described_by_verb_and_resource() {
        let route = Route::parse("/apis/apps/v1/namespaces/default/statefulsets");
        let watch = Query::parse(Some("watch=true&resourceVersion=5"));
        assert_eq!(
            route.describe(&Method::GET, &watch),
            ("watch".into(), "statefulsets.apps".into())
        );
        assert_eq!(route.describe(&Method::GET, &Query::default()).0, "list");
        assert_eq!(
            route.describe(&Method::DELETE, &Query::default()).0,
            "deletecollection"
        );
    }

    #[test]
    fn delete_options_come_from_body_and_query() {
        let body = br#"{"kind":"DeleteOptions","propagationPolicy":"Foreground","preconditions":{"uid":"u"},"dryRun":["All"]}"#;
        let opts = delete_options(&Query::parse(Some("gracePeriodSeconds=0")), body).unwrap();
        assert_eq!(opts.propagation, Some(Propagation::Foreground));
        assert_eq!(opts.grace_period_seconds, Some(0));
        assert_eq!(opts.preconditions_uid.as_deref(), Some("u"));
        assert!(opts.dry_run);
        assert!(delete_options(&Query::parse(Some("propagationPolicy=Sideways")), b"").is_err());
    }

    #[test]
    fn patch_content_types_select_the_patch_kind() {
        assert!(matches!(
            patch_body("application/merge-patch+json", b"{}"),
            Ok(PatchBody::Merge(_))
        ));
        assert!(matches!(
            patch_body("application/json-patch+json", b"[]"),
            Ok(PatchBody::Json(_))
        ));
        assert!(matches!(
            patch_body(
                "application/strategic-merge-patch+json; charset=utf-8",
                b"{}"
            ),
            Ok(PatchBody::Strategic(_))
        ));
        assert!(matches!(
            patch_body("application/apply-patch+yaml", b"a: 1\n"),
            Ok(PatchBody::Apply(_))
        ));
        assert_eq!(patch_body("text/plain", b"").unwrap_err().code, 415);
    }

    #[test]
    fn tables_are_chosen_by_the_accept_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            rendering(&headers, &Query::default()).unwrap(),
            Rendering::Table {
                include: IncludeObject::Metadata
            }
        );
        headers.insert(http::header::ACCEPT, "application/json".parse().unwrap());
        assert_eq!(
            rendering(&headers, &Query::default()).unwrap(),
            Rendering::Json
        );
    }

    #[test]
    fn metadata_forms_are_chosen_by_the_accept_header_and_must_fit_the_verb() {
        let mut headers = HeaderMap::new();
        // What kube-rs sends for `list_metadata`.
        headers.insert(
            http::header::ACCEPT,
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io,application/json"
                .parse()
                .unwrap(),
        );
        let list = rendering(&headers, &Query::default()).unwrap();
        assert_eq!(list, Rendering::Metadata { list: true });
        assert!(check_metadata_form(list, true).is_ok());
        assert_eq!(check_metadata_form(list, false).unwrap_err().code, 406);
        headers.insert(
            http::header::ACCEPT,
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
                .parse()
                .unwrap(),
        );
        let one = rendering(&headers, &Query::default()).unwrap();
        assert_eq!(one, Rendering::Metadata { list: false });
        assert_eq!(check_metadata_form(one, true).unwrap_err().code, 406);
        let object = json!({"kind": "Pod", "metadata": {"name": "web-0"}, "spec": {}});
        assert_eq!(
            partial_metadata(&object),
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "web-0"}})
        );
    }
}
