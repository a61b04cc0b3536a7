//! Riding out a flaky API server, in one place.
//!
//! - [`client`] builds the kube client with [`TransientRetry`] in place of
//!   kube's default retry layer. It repeats a request the server refused or
//!   lost only when repeating cannot do anything twice: any request answered
//!   429 (the throttling filters refuse before handling anything), and reads
//!   answered 500, 502, 503 or 504 or cut off mid-answer. It waits as long as
//!   `Retry-After` says (at most [`MAX_SERVER_WAIT`]), else backs off
//!   exponentially, and gives up after [`MAX_RETRIES`] repeats. kube's own
//!   layer would also repeat writes answered 503/504 (a 504 write may have
//!   happened) and keep going for minutes, past any command's timeout.
//! - [`idempotent`] repeats a write its caller knows is safe to repeat (a
//!   patch guarded by resourceVersion, a delete guarded by uid, a merge patch
//!   setting values) through 5xx answers and dropped connections; the caller
//!   handles what a repeat may answer when the first try had landed (409 for
//!   the guard, 404 for a delete).
//! - [`within`] does the same, 429s too, for as long as a time budget
//!   rather than a count: the canary, mid-change, outlasts a restarting server.
//! - [`watch_backoff`] and [`await_condition`] keep a watch going through
//!   cut streams, 410 Expired (the runtime relists) and transient errors.

use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use kube::Api;
use kube::client::{Body, ClientBuilder};
use kube::runtime::utils::Backoff;
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tower::BoxError;
use tower::buffer::BufferLayer;
use tower::retry::{Policy, RetryLayer};

/// How many times one request is repeated before its failure is reported.
/// With the backoff below that is about 5 s of trying without `Retry-After`.
pub const MAX_RETRIES: u32 = 8;
/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(10);
/// First pause; doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A kube client for `config` whose requests go through [`TransientRetry`].
pub fn client(mut config: kube::Config) -> Result<kube::Client, kube::Error> {
    config.default_retry = false;
    let builder = ClientBuilder::try_from(config)?;
    // The retry layer needs a service it can clone: the buffer makes one.
    Ok(builder
        .with_layer(&BufferLayer::new(1024))
        .with_layer(&RetryLayer::new(TransientRetry::default()))
        .build())
}

/// The tower retry policy of [`client`]; one per request (tower clones it).
#[derive(Debug, Clone, Default)]
pub struct TransientRetry {
    retries: u32,
}

/// Whether an answer with this status is worth asking again for.
pub fn retryable_status(method: &Method, status: StatusCode) -> bool {
    match status.as_u16() {
        // Refused before any handler ran, whatever the verb.
        429 => true,
        // A read can be repeated whatever happened; a write may have happened.
        500 | 502 | 503 | 504 => is_read(method),
        _ => false,
    }
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// `Retry-After` in seconds (the only form the API server sends).
pub fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The pause before repeat number `retry` (from 0): exponential backoff
/// scaled by `jitter` in [0, 1) to between half and all of it, or the
/// server's wait when that is longer (capped).
pub fn pause(retry: u32, server_wait: Option<Duration>, jitter: f64) -> Duration {
    let backoff = FIRST_BACKOFF
        .saturating_mul(1 << retry.min(16))
        .min(MAX_BACKOFF)
        .mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
    match server_wait {
        Some(wait) => wait.min(MAX_SERVER_WAIT).max(backoff),
        None => backoff,
    }
}

/// A connection that broke mid-request (reset, closed early): the server may
/// have restarted. Connection refused and timeouts are not in it: the first
/// says the server is down, the second is the user's --request-timeout.
fn is_dropped_connection(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(hyper) = err.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_canceled())
        {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return true;
            }
            // An io::Error's source() skips the error it wraps.
            if let Some(inner) = io.get_ref() {
                current = Some(inner as &(dyn std::error::Error + 'static));
                continue;
            }
        }
        current = err.source();
    }
    false
}

impl<B> Policy<Request<Body>, Response<B>, BoxError> for TransientRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<Body>,
        result: &mut Result<Response<B>, BoxError>,
    ) -> Option<Self::Future> {
        if self.retries >= MAX_RETRIES {
            return None;
        }
        let wait = match result {
            Ok(response) if retryable_status(request.method(), response.status()) => {
                server_wait(response.headers())
            }
            Err(err) if is_read(request.method()) && is_dropped_connection(err.as_ref()) => None,
            _ => return None,
        };
        let pause = pause(self.retries, wait, rand::random::<f64>());
        self.retries += 1;
        tracing::debug!(
            "{} {}: {}; retry {} in {pause:?}",
            request.method(),
            request.uri().path(),
            match result {
                Ok(response) => response.status().to_string(),
                Err(err) => err.to_string(),
            },
            self.retries
        );
        Some(tokio::time::sleep(pause))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        // Streaming bodies cannot be replayed: such requests are sent once.
        let body = request.body().try_clone()?;
        let mut copy = Request::new(body);
        *copy.method_mut() = request.method().clone();
        *copy.uri_mut() = request.uri().clone();
        *copy.version_mut() = request.version();
        *copy.headers_mut() = request.headers().clone();
        *copy.extensions_mut() = request.extensions().clone();
        Some(copy)
    }
}

/// Errors that say the server, or the way to it, failed this time rather
/// than that the request is wrong.
pub fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Sends a write again while it fails transiently (5xx, a dropped
/// connection; 429s were already repeated by the client), up to
/// [`MAX_RETRIES`] times. Only for writes that are safe to repeat; the caller
/// handles the answers a repeat can get when an earlier try had landed.
pub async fn idempotent<T, F, Fut>(what: &str, request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    repeat(what, Limit::Times(MAX_RETRIES), request).await
}

/// Sends a request again while it fails transiently, 429s included, for up
/// to `budget`: for a change in progress (the canary) that must ride out a
/// busy or restarting server. Only for requests that are safe to repeat.
pub async fn within<T, F, Fut>(what: &str, budget: Duration, request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let deadline = tokio::time::Instant::now() + budget;
    repeat(what, Limit::Until(deadline), request).await
}

/// How long [`repeat`] keeps trying.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// At most this many repeats; 429s were repeated by the client already.
    Times(u32),
    /// Until then, whatever the count, 429s too.
    Until(tokio::time::Instant),
}

async fn repeat<T, F, Fut>(what: &str, limit: Limit, mut request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut retries = 0;
    loop {
        match request().await {
            Err(err)
                if is_transient(&err)
                    && match limit {
                        Limit::Times(max) => retries < max && !is_throttled(&err),
                        Limit::Until(deadline) => tokio::time::Instant::now() < deadline,
                    } =>
            {
                let wait = match &err {
                    kube::Error::Api(status) => status
                        .details
                        .as_ref()
                        .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
                        .filter(|d| !d.is_zero()),
                    _ => None,
                };
                let pause = pause(retries, wait, rand::random::<f64>());
                tracing::debug!("{what}: {err}; retry {} in {pause:?}", retries + 1);
                tokio::time::sleep(pause).await;
                retries += 1;
            }
            other => return other,
        }
    }
}

fn is_throttled(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 429)
}

/// The backoff between watch restarts: 100 ms doubling to 5 s, back to
/// 100 ms once the watch delivers. A 410 Expired costs one short pause before
/// the relist (the runtime's default starts at 800 ms and grows for two
/// minutes of errors).
#[derive(Debug, Clone, Default)]
pub struct WatchBackoff {
    failures: u32,
}

pub fn watch_backoff() -> WatchBackoff {
    WatchBackoff::default()
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let pause = Duration::from_millis(100)
            .saturating_mul(1 << self.failures.min(16))
            .min(Duration::from_secs(5));
        self.failures = self.failures.saturating_add(1);
        Some(pause)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Whether a watcher error is worth carrying on through: the runtime
/// restarts the watch (relisting after 410 Expired); permissions and bad
/// requests do not mend.
pub fn watch_error_is_transient(err: &watcher::Error) -> bool {
    match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => is_transient(e),
        watcher::Error::WatchError(status) => {
            status.code == 410 || matches!(status.code, 429 | 500 | 502 | 503 | 504)
        }
        _ => true,
    }
}

/// The kube error inside a watcher error, for reporting.
pub fn watch_error_source(err: watcher::Error) -> kube::Error {
    match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(status) => kube::Error::Api(status),
        other => kube::Error::Service(other.into()),
    }
}

/// Waits until `condition` holds for the object `name` (None: it does not
/// exist) and returns the object it held for. Unlike kube's
/// `await_condition`, a cut watch, 410 Expired or transient error does not
/// end the wait: the watch restarts (with [`watch_backoff`]) and the wait
/// goes on; only errors no retry mends (403, 401, 4xx) are returned. Bound
/// it with `tokio::time::timeout`.
pub async fn await_condition<K>(
    api: Api<K>,
    name: &str,
    mut condition: impl FnMut(Option<&K>) -> bool,
) -> Result<Option<K>, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(api, config).backoff(watch_backoff()).boxed();
    let mut listed: Option<K> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Init) => listed = None,
            Ok(watcher::Event::InitApply(object)) => listed = Some(object),
            Ok(watcher::Event::InitDone) => {
                if condition(listed.as_ref()) {
                    return Ok(listed);
                }
            }
            Ok(watcher::Event::Apply(object)) => {
                if condition(Some(&object)) {
                    return Ok(Some(object));
                }
            }
            Ok(watcher::Event::Delete(_)) => {
                if condition(None) {
                    return Ok(None);
                }
            }
            Err(err) if watch_error_is_transient(&err) => {
                tracing::debug!("watching {name}: {err}; restarting the watch");
            }
            Err(err) => return Err(watch_error_source(err)),
        }
    }
    Err(kube::Error::Service(
        format!("the watch on {name} ended").into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retried_for_every_verb_server_errors_only_for_reads() {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            assert!(retryable_status(&method, StatusCode::TOO_MANY_REQUESTS));
        }
        for code in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(retryable_status(&Method::GET, status), "{code}");
            assert!(!retryable_status(&Method::POST, status), "{code}");
            assert!(!retryable_status(&Method::PATCH, status), "{code}");
            assert!(!retryable_status(&Method::DELETE, status), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 410, 422, 501] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(!retryable_status(&Method::GET, status), "{code}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(server_wait(&headers), None);
        headers.insert(http::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(server_wait(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(server_wait(&headers), None);
    }

    #[test]
    fn pauses_double_to_a_second_and_honour_the_servers_wait() {
        assert_eq!(pause(0, None, 0.999_999).as_millis(), 49);
        assert_eq!(pause(0, None, 0.0), Duration::from_millis(25));
        assert_eq!(pause(2, None, 0.0), Duration::from_millis(100));
        assert_eq!(pause(30, None, 0.0), Duration::from_millis(500));
        assert!(pause(30, None, 0.999_999) <= MAX_BACKOFF);
        assert_eq!(
            pause(0, Some(Duration::from_secs(1)), 0.5),
            Duration::from_secs(1)
        );
        assert_eq!(
            pause(0, Some(Duration::from_secs(3600)), 0.5),
            MAX_SERVER_WAIT
        );
        // A server asking for less than our backoff gets the backoff.
        assert_eq!(
            pause(10, Some(Duration::ZERO), 0.0),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn a_reset_connection_is_a_dropped_one_a_refused_one_is_not() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_dropped_connection(&reset));
        let wrapped = kube::Error::Service(Box::new(std::io::Error::other(std::io::Error::from(
            std::io::ErrorKind::UnexpectedEof,
        ))));
        assert!(is_dropped_connection(&wrapped));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!is_dropped_connection(&refused));
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert!(!is_dropped_connection(&timed_out));
    }

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("injected", "InternalError")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn transient_errors_are_server_trouble_not_wrong_requests() {
        for code in [429, 500, 502, 503, 504] {
            assert!(is_transient(&api_error(code)), "{code}");
        }
        for code in [400, 403, 404, 409, 410, 422] {
            assert!(!is_transient(&api_error(code)), "{code}");
        }
        let expired = watcher::Error::WatchError(
            kube::core::Status::failure("too old resource version: 5 (9)", "Expired")
                .with_code(410)
                .boxed(),
        );
        assert!(watch_error_is_transient(&expired));
        assert!(!watch_error_is_transient(
            &watcher::Error::InitialListFailed(api_error(403))
        ));
        assert!(watch_error_is_transient(&watcher::Error::WatchFailed(
            api_error(503)
        )));
    }

    #[tokio::test(start_paused = true)]
    async fn within_a_budget_throttling_and_server_errors_are_outlasted_then_given_up() {
        let mut calls = 0u32;
        let result = within("test", Duration::from_secs(60), || {
            calls += 1;
            let answer = match calls {
                1 => Err(api_error(429)),
                2..=20 => Err(api_error(503)),
                _ => Ok(calls),
            };
            async move { answer }
        })
        .await;
        assert_eq!(result.ok(), Some(21), "more than MAX_RETRIES, 429 included");

        let started = tokio::time::Instant::now();
        let result: Result<(), _> = within("test", Duration::from_secs(5), || async {
            Err(api_error(500))
        })
        .await;
        assert!(result.is_err());
        let spent = started.elapsed();
        assert!(
            spent >= Duration::from_secs(5) && spent < Duration::from_secs(7),
            "{spent:?}"
        );

        let mut calls = 0;
        let result: Result<(), _> = within("test", Duration::from_secs(60), || {
            calls += 1;
            async { Err(api_error(404)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1, "a 404 is final");
    }

    #[tokio::test]
    async fn an_idempotent_write_is_repeated_through_server_errors_only() {
        let mut calls = 0;
        let result = idempotent("test", || {
            calls += 1;
            let answer = if calls < 3 {
                Err(api_error(500))
            } else {
                Ok(calls)
            };
            async move { answer }
        })
        .await;
        assert_eq!(result.ok(), Some(3));

        let mut calls = 0;
        let result: Result<(), _> = idempotent("test", || {
            calls += 1;
            async { Err(api_error(409)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1, "a conflict is the caller's to judge");

        let mut calls = 0;
        let result: Result<(), _> = repeat("test", Limit::Times(2), || {
            calls += 1;
            async { Err(api_error(503)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 3, "bounded");

        let mut calls = 0;
        let _: Result<(), _> = idempotent("test", || {
            calls += 1;
            async { Err(api_error(429)) }
        })
        .await;
        assert_eq!(calls, 1, "the client already repeated a 429");
    }

    #[test]
    fn watch_backoff_starts_short_and_resets() {
        let mut backoff = watch_backoff();
        assert_eq!(backoff.next(), Some(Duration::from_millis(100)));
        assert_eq!(backoff.next(), Some(Duration::from_millis(200)));
        for _ in 0..10 {
            backoff.next();
        }
        assert_eq!(backoff.next(), Some(Duration::from_secs(5)));
        backoff.reset();
        assert_eq!(backoff.next(), Some(Duration::from_millis(100)));
    }
}
