//! Watch over HTTP: a chunked response of newline-delimited
//! `{"type":"ADDED","object":{...}}` events with upstream's resourceVersion
//! semantics (unset or `0`: the current state as ADDED, then changes; `N`:
//! changes after N; too old: one ERROR event carrying the 410 Expired Status),
//! `sendInitialEvents` with its closing BOOKMARK, periodic bookmarks when
//! asked, `timeoutSeconds`, and the fault switch's watch cuts.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::cluster::{Cluster, ListOptions, WatchEvent};
use super::error::ApiError;
use super::store::WatchFilter;
use crate::sandbox::resources::ResourceType;

/// How often a watch that allows bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);
/// Upstream closes watches after a randomised ~30 minutes unless asked for less.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Unset or `0`: synthetic ADDED events for the current state first.
    CurrentState,
    /// Changes after this resourceVersion.
    After(u64),
}

#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub start: WatchStart,
    pub send_initial_events: bool,
    pub allow_bookmarks: bool,
    pub timeout: Option<Duration>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub filter: WatchFilter,
    /// Set by the fault switch: end the response this long after it starts.
    pub cut_after: Option<Duration>,
}

/// Turns an event's object into what goes on the wire (a Table row when asked).
pub type Encoder = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

pub fn event_line(event_type: &str, object: Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn bookmark(rt: &ResourceType, resource_version: u64, initial_events_end: bool) -> Value {
    let mut object = json!({
        "kind": rt.kind,
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": resource_version.to_string(), "creationTimestamp": null},
    });
    if initial_events_end {
        object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    object
}

/// Starts the watch and returns the streaming response; errors found before
/// the first byte (bad selectors) are returned as plain Status responses by the caller.
pub fn serve(
    cluster: Cluster,
    rt: &'static ResourceType,
    namespace: Option<String>,
    request: WatchRequest,
    encode: Encoder,
    shutdown: CancellationToken,
) -> Result<Response, ApiError> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let mut initial = Vec::new();
    let since = match request.start {
        WatchStart::After(rv) if !request.send_initial_events => Some(rv),
        _ => {
            let opts = ListOptions {
                label_selector: request.label_selector.clone(),
                field_selector: request.field_selector.clone(),
                ..ListOptions::default()
            };
            let list = cluster.list(rt, namespace.as_deref(), &opts)?;
            for item in list.items {
                initial.push(event_line("ADDED", encode(&item)));
            }
            if request.send_initial_events {
                initial.push(event_line(
                    "BOOKMARK",
                    bookmark(rt, list.resource_version, true),
                ));
            }
            Some(list.resource_version)
        }
    };
    let events =
        match cluster.watch_filtered(rt, namespace.as_deref(), since, request.filter.clone()) {
            Ok(events) => Some(events),
            Err(err) if err.code == 410 => {
                initial.push(event_line("ERROR", err.to_status()));
                None
            }
            Err(err) => return Err(err),
        };
    tokio::spawn(pump(PumpState {
        cluster,
        rt,
        initial,
        events,
        request,
        encode,
        shutdown,
        tx,
    }));
    let body = Body::from_stream(ReceiverStream::new(rx));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(body)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// A watch that ends at once with one ERROR event: how the watch cache
/// answers a resourceVersion it no longer holds (newErrWatcher), used by the
/// fault switch's `expire-watches`.
pub fn error_only(err: &ApiError) -> Result<Response, ApiError> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(Body::from(event_line("ERROR", err.to_status())))
        .map_err(|e| ApiError::internal(e.to_string()))
}

struct PumpState {
    cluster: Cluster,
    rt: &'static ResourceType,
    initial: Vec<Bytes>,
    events: Option<mpsc::UnboundedReceiver<WatchEvent>>,
    request: WatchRequest,
    encode: Encoder,
    shutdown: CancellationToken,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
}

async fn pump(state: PumpState) {
    let PumpState {
        cluster,
        rt,
        initial,
        events,
        request,
        encode,
        shutdown,
        tx,
    } = state;
    for line in initial {
        if tx.send(Ok(line)).await.is_err() {
            return;
        }
    }
    let Some(mut events) = events else { return };
    let limit = request.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let limit = request.cut_after.map_or(limit, |cut| cut.min(limit));
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut bookmarks = tokio::time::interval(BOOKMARK_INTERVAL);
    bookmarks.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return };
                let line = event_line(event.event_type.as_str(), encode(&event.object));
                if tx.send(Ok(line)).await.is_err() {
                    return;
                }
            }
            _ = bookmarks.tick(), if request.allow_bookmarks => {
                let line = event_line("BOOKMARK", bookmark(rt, cluster.resource_version(), false));
                if tx.send(Ok(line)).await.is_err() {
                    return;
                }
            }
            _ = &mut deadline => return,
            _ = shutdown.cancelled() => return,
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_one_json_object_per_line() {
        let line = event_line("ADDED", json!({"kind": "Pod"}));
        assert_eq!(
            &line[..],
            b"{\"object\":{\"kind\":\"Pod\"},\"type\":\"ADDED\"}\n"
        );
    }

    #[test]
    fn the_initial_events_bookmark_is_annotated() {
        let mark = bookmark(&crate::sandbox::resources::PODS, 42, true);
        assert_eq!(mark["metadata"]["resourceVersion"], "42");
        assert_eq!(
            mark["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert!(
            bookmark(&crate::sandbox::resources::PODS, 42, false)["metadata"]["annotations"]
                .is_null()
        );
    }
}
