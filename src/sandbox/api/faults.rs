//! The fault switch: make a chosen fraction of API requests fail, slow every
//! request down, cut open watches, expire resumed watches, or lose the answer
//! to writes, to test our commands against a flaky server.
//!
//! Set at start with `--faults` and comma-separated settings, or at run time
//! with `POST /sandbox/faults` and the JSON form; `DELETE /sandbox/faults`
//! clears it, `GET /sandbox/faults` shows it. Admin endpoints and health
//! probes are never faulted.
//!
//! | flag                  | JSON                      | effect |
//! |-----------------------|---------------------------|--------|
//! | `error-rate=0.1`      | `"errorRate": 0.1`        | that fraction of requests is refused before it is handled |
//! | `codes=500:429`       | `"codes": [500, 429]`     | the refusals' codes, picked at random (default 500) |
//! | `delay=50ms`          | `"delayMs": 50`           | every request waits that long first |
//! | `cut-watches=5s`      | `"cutWatchesAfterMs": 5000` | open watches end (the response closes) that long after they start |
//! | `expire-watches=0.3`  | `"expireWatches": 0.3`    | that fraction of watches resuming from a resourceVersion get 410 Expired |
//! | `timeout-writes=0.2`  | `"timeoutWrites": 0.2`    | that fraction of writes is carried out but answered 504 Timeout |
//!
//! Each refusal looks like the real API server's: 429 is the max-in-flight /
//! priority-and-fairness filter's plain-text `Too many requests, please try
//! again later.` with a `Retry-After: 1` header; 500 an InternalError Status;
//! 503 a ServiceUnavailable Status; 504 the timeout filter's Timeout Status
//! (`Timeout: request did not complete within the allotted timeout`); other
//! codes an InternalError Status with that code. An expired watch is answered
//! as the watch cache does: 200 with one ERROR event carrying the Status
//! `too old resource version: N (M)` (reason Expired, code 410), then the end
//! of the stream. A timed-out write is what the timeout filter does when a
//! handler outlives the request's deadline: the write happens, the client
//! only sees the 504, so a client that repeats it blindly repeats a write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// What the throttling filters put in `Retry-After` (upstream's constant "1").
pub const RETRY_AFTER_SECONDS: u64 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Fraction of requests (0.0 to 1.0) answered with an error instead.
    #[serde(default)]
    pub error_rate: f64,
    /// Status codes to fail with, picked at random; empty means 500.
    #[serde(default)]
    pub codes: Vec<u16>,
    /// Extra latency before every faultable request is handled.
    #[serde(default)]
    pub delay_ms: u64,
    /// Open watches are cut (the response ends) this long after they start.
    #[serde(default)]
    pub cut_watches_after_ms: Option<u64>,
    /// Fraction of watches resuming from a resourceVersion answered with a
    /// 410 Expired ERROR event, as if their resourceVersion had been compacted.
    #[serde(default)]
    pub expire_watches: f64,
    /// Fraction of writes carried out and then answered 504 Timeout.
    #[serde(default)]
    pub timeout_writes: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    #[error(
        "unknown fault setting `{0}` (expected error-rate, codes, delay, cut-watches, expire-watches, timeout-writes)"
    )]
    UnknownKey(String),
    #[error("invalid value for {key}: `{value}`")]
    InvalidValue { key: String, value: String },
    #[error("{key} is a fraction between 0 and 1, got {value}")]
    RateOutOfRange { key: &'static str, value: String },
}

/// An answer the switch gives instead of handling a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A Kubernetes Status body with the error's code.
    Status(ApiError),
    /// The throttling filters' plain-text 429 with a `Retry-After` header.
    Throttled { retry_after_seconds: u64 },
}

impl Refusal {
    pub fn code(&self) -> u16 {
        match self {
            Refusal::Status(err) => err.code,
            Refusal::Throttled { .. } => 429,
        }
    }

    pub fn into_response(self) -> Response {
        match self {
            Refusal::Status(err) => super::http::status_response(&err),
            // Go's http.Error: text/plain, nosniff, the message and a newline.
            Refusal::Throttled {
                retry_after_seconds,
            } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests, please try again later.\n",
                )
                    .into_response();
                let headers = response.headers_mut();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                headers.insert(
                    http::header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                headers.insert(
                    http::header::RETRY_AFTER,
                    HeaderValue::from(retry_after_seconds),
                );
                response
            }
        }
    }
}

impl FaultSpec {
    /// Parses the `--faults` flag: `error-rate=0.1,codes=500:429,delay=50ms,cut-watches=5s,expire-watches=0.3,timeout-writes=0.2`.
    pub fn parse_flag(text: &str) -> Result<Self, FaultSpecError> {
        let mut spec = FaultSpec::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let invalid = || FaultSpecError::InvalidValue {
                key: key.to_string(),
                value: value.to_string(),
            };
            match key {
                "error-rate" => spec.error_rate = value.parse().map_err(|_| invalid())?,
                "codes" => {
                    spec.codes = value
                        .split(':')
                        .map(|c| c.parse().map_err(|_| invalid()))
                        .collect::<Result<_, _>>()?;
                }
                "delay" => spec.delay_ms = millis(value).ok_or_else(invalid)?,
                "cut-watches" => {
                    spec.cut_watches_after_ms = Some(millis(value).ok_or_else(invalid)?)
                }
                "expire-watches" => spec.expire_watches = value.parse().map_err(|_| invalid())?,
                "timeout-writes" => spec.timeout_writes = value.parse().map_err(|_| invalid())?,
                _ => return Err(FaultSpecError::UnknownKey(key.to_string())),
            }
        }
        spec.check()?;
        Ok(spec)
    }

    pub fn check(&self) -> Result<(), FaultSpecError> {
        for (key, rate) in [
            ("error-rate", self.error_rate),
            ("expire-watches", self.expire_watches),
            ("timeout-writes", self.timeout_writes),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultSpecError::RateOutOfRange {
                    key,
                    value: rate.to_string(),
                });
            }
        }
        if let Some(code) = self.codes.iter().find(|c| !(400..=599).contains(*c)) {
            return Err(FaultSpecError::InvalidValue {
                key: "codes".to_string(),
                value: format!("{code} (not an HTTP error code, 400 to 599)"),
            });
        }
        Ok(())
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }

    pub fn watch_cut(&self) -> Option<Duration> {
        self.cut_watches_after_ms.map(Duration::from_millis)
    }

    /// The refusal for a request, given a uniform roll in [0, 1) and a
    /// random index for picking among the codes.
    pub fn failure(&self, roll: f64, pick: usize) -> Option<Refusal> {
        if roll >= self.error_rate {
            return None;
        }
        let code = if self.codes.is_empty() {
            500
        } else {
            self.codes[pick % self.codes.len()]
        };
        Some(refusal_for_code(code))
    }

    /// Whether a watch resuming from `resource_version` is told it expired, given a uniform roll in [0, 1).
    pub fn expires_watch(&self, roll: f64) -> bool {
        roll < self.expire_watches
    }

    /// Whether a write, once carried out, is answered with [`write_timeout`], given a uniform roll in [0, 1).
    pub fn times_out_write(&self, roll: f64) -> bool {
        roll < self.timeout_writes
    }
}

/// How many faults the switch injected, by kind: `GET /sandbox/metrics`
/// reports it as `faults`, so a test can tell it exercised them.
#[derive(Debug, Default)]
pub struct FaultTally {
    refused: AtomicU64,
    expired_watches: AtomicU64,
    timed_out_writes: AtomicU64,
}

impl FaultTally {
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn expired_watch(&self) {
        self.expired_watches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn timed_out_write(&self) {
        self.timed_out_writes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for counter in [&self.refused, &self.expired_watches, &self.timed_out_writes] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// `{"refused": N, "expiredWatches": N, "timedOutWrites": N}`
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "refused": self.refused.load(Ordering::Relaxed),
            "expiredWatches": self.expired_watches.load(Ordering::Relaxed),
            "timedOutWrites": self.timed_out_writes.load(Ordering::Relaxed),
        })
    }
}

/// The timeout filter's answer (WithTimeoutForNonLongRunningRequests).
pub fn write_timeout() -> ApiError {
    ApiError::new(
        504,
        "Timeout",
        "Timeout: request did not complete within the allotted timeout",
    )
}

fn refusal_for_code(code: u16) -> Refusal {
    match code {
        429 => Refusal::Throttled {
            retry_after_seconds: RETRY_AFTER_SECONDS,
        },
        503 => Refusal::Status(ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        )),
        504 => Refusal::Status(write_timeout()),
        500 => Refusal::Status(ApiError::internal("injected fault")),
        other => {
            let mut err = ApiError::internal("injected fault");
            err.code = other;
            Refusal::Status(err)
        }
    }
}

/// `250ms`, `5s`, `2m` or a plain number of milliseconds.
fn millis(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok();
    }
    if let Some(s) = text.strip_suffix('s') {
        return s
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0) as u64);
    }
    if let Some(m) = text.strip_suffix('m') {
        return m.parse::<u64>().ok().and_then(|m| m.checked_mul(60_000));
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_form_parses() {
        let spec = FaultSpec::parse_flag(
            "error-rate=0.25,codes=500:429,delay=50ms,cut-watches=5s,expire-watches=0.5,timeout-writes=0.1",
        )
        .unwrap();
        assert_eq!(
            spec,
            FaultSpec {
                error_rate: 0.25,
                codes: vec![500, 429],
                delay_ms: 50,
                cut_watches_after_ms: Some(5000),
                expire_watches: 0.5,
                timeout_writes: 0.1,
            }
        );
        assert_eq!(
            FaultSpec::parse_flag("cut-watches=2m, delay=1.5s").unwrap(),
            FaultSpec {
                cut_watches_after_ms: Some(120_000),
                delay_ms: 1500,
                ..FaultSpec::default()
            }
        );
    }

    #[test]
    fn bad_flags_name_the_setting() {
        assert!(matches!(
            FaultSpec::parse_flag("rate=1"),
            Err(FaultSpecError::UnknownKey(key)) if key == "rate"
        ));
        assert!(matches!(
            FaultSpec::parse_flag("error-rate=2"),
            Err(FaultSpecError::RateOutOfRange {
                key: "error-rate",
                ..
            })
        ));
        assert!(matches!(
            FaultSpec::parse_flag("expire-watches=-0.5"),
            Err(FaultSpecError::RateOutOfRange {
                key: "expire-watches",
                ..
            })
        ));
        assert!(matches!(
            FaultSpec::parse_flag("timeout-writes=often"),
            Err(FaultSpecError::InvalidValue { key, .. }) if key == "timeout-writes"
        ));
        assert!(matches!(
            FaultSpec::parse_flag("codes=500:abc"),
            Err(FaultSpecError::InvalidValue { key, .. }) if key == "codes"
        ));
        assert!(matches!(
            FaultSpec::parse_flag("codes=200"),
            Err(FaultSpecError::InvalidValue { key, .. }) if key == "codes"
        ));
        assert!(matches!(
            FaultSpec::parse_flag("delay=-1s"),
            Err(FaultSpecError::InvalidValue { key, .. }) if key == "delay"
        ));
        let message = FaultSpec::parse_flag("expire=1").unwrap_err().to_string();
        assert!(message.contains("expire-watches"), "{message}");
    }

    #[test]
    fn the_json_form_parses() {
        let spec: FaultSpec = serde_json::from_str(
            r#"{"errorRate":0.1,"codes":[429],"delayMs":0,"cutWatchesAfterMs":100,"expireWatches":0.3,"timeoutWrites":0.2}"#,
        )
        .unwrap();
        assert_eq!(spec.codes, vec![429]);
        assert_eq!(spec.watch_cut(), Some(Duration::from_millis(100)));
        assert_eq!(spec.expire_watches, 0.3);
        assert_eq!(spec.timeout_writes, 0.2);
        let only_expiry: FaultSpec = serde_json::from_str(r#"{"expireWatches":1}"#).unwrap();
        assert_eq!(only_expiry.error_rate, 0.0);
        assert!(only_expiry.expires_watch(0.99));
        assert!(serde_json::from_str::<FaultSpec>(r#"{"expireWatch":1}"#).is_err());
    }

    #[test]
    fn failures_follow_the_rate_and_codes() {
        let spec = FaultSpec {
            error_rate: 0.5,
            codes: vec![500, 429, 504],
            ..FaultSpec::default()
        };
        assert_eq!(spec.failure(0.7, 0), None);
        assert_eq!(spec.failure(0.2, 0).map(|r| r.code()), Some(500));
        assert_eq!(
            spec.failure(0.2, 1),
            Some(Refusal::Throttled {
                retry_after_seconds: 1
            })
        );
        let Some(Refusal::Status(timeout)) = spec.failure(0.2, 2) else {
            panic!("504 is a Status");
        };
        assert_eq!((timeout.code, timeout.reason.as_str()), (504, "Timeout"));
        assert_eq!(FaultSpec::default().failure(0.0, 0), None);
    }

    #[test]
    fn a_throttled_answer_is_plain_text_with_retry_after() {
        let response = Refusal::Throttled {
            retry_after_seconds: 1,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let status = Refusal::Status(ApiError::internal("injected fault")).into_response();
        assert_eq!(status.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(status.headers().get(http::header::RETRY_AFTER).is_none());
    }

    #[test]
    fn the_tally_counts_by_kind_and_resets() {
        let tally = FaultTally::default();
        tally.refused();
        tally.refused();
        tally.expired_watch();
        tally.timed_out_write();
        assert_eq!(
            tally.to_json(),
            serde_json::json!({"refused": 2, "expiredWatches": 1, "timedOutWrites": 1})
        );
        tally.reset();
        assert_eq!(tally.to_json()["refused"], 0);
    }

    #[test]
    fn expiry_and_write_timeouts_follow_their_rates() {
        let spec = FaultSpec {
            expire_watches: 0.3,
            timeout_writes: 0.6,
            ..FaultSpec::default()
        };
        assert!(spec.expires_watch(0.1));
        assert!(!spec.expires_watch(0.3));
        assert!(spec.times_out_write(0.5));
        assert!(!spec.times_out_write(0.6));
        assert!(!FaultSpec::default().expires_watch(0.0));
        assert!(!FaultSpec::default().times_out_write(0.0));
    }
}
