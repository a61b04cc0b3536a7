//! The fault switch: make a chosen fraction of API requests fail, slow every
//! request down, or cut open watches, to test our commands against a flaky
//! server.
//!
//! Set at start with `--faults error-rate=0.1,codes=500:429,delay=50ms,cut-watches=5s`
//! or at run time with `POST /sandbox/faults` and a JSON body
//! `{"errorRate":0.1,"codes":[500,429],"delayMs":50,"cutWatchesAfterMs":5000}`;
//! `DELETE /sandbox/faults` clears it, `GET /sandbox/faults` shows it. Admin
//! endpoints and health probes are never faulted. Codes 500, 429 (with
//! retryAfterSeconds 1), 503 and 504 (a server-side timeout) give the matching
//! Kubernetes Status; other codes give an InternalError Status with that code.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ApiError;

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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("unknown fault setting `{0}` (expected error-rate, codes, delay, cut-watches)")]
    UnknownKey(String),
    #[error("invalid value for {key}: `{value}`")]
    InvalidValue { key: String, value: String },
    #[error("error rate must be between 0 and 1, got {0}")]
    RateOutOfRange(String),
}

impl FaultSpec {
    /// Parses the `--faults` flag: `error-rate=0.1,codes=500:429,delay=50ms,cut-watches=5s`.
    pub fn parse_flag(text: &str) -> Result<Self, FaultSpecError> {
        let mut spec = FaultSpec::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let invalid = || FaultSpecError::InvalidValue {
                key: key.to_string(),
                value: value.to_string(),
            };
            match key {
                "error-rate" => {
                    spec.error_rate = value.parse().map_err(|_| invalid())?;
                }
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
                _ => return Err(FaultSpecError::UnknownKey(key.to_string())),
            }
        }
        spec.check()?;
        Ok(spec)
    }

    pub fn check(&self) -> Result<(), FaultSpecError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(FaultSpecError::RateOutOfRange(self.error_rate.to_string()));
        }
        Ok(())
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }

    pub fn watch_cut(&self) -> Option<Duration> {
        self.cut_watches_after_ms.map(Duration::from_millis)
    }

    /// The failure for a request, given a uniform roll in [0, 1) and a
    /// random index for picking among the codes.
    pub fn failure(&self, roll: f64, pick: usize) -> Option<ApiError> {
        if roll >= self.error_rate {
            return None;
        }
        let code = if self.codes.is_empty() {
            500
        } else {
            self.codes[pick % self.codes.len()]
        };
        Some(error_for_code(code))
    }
}

fn error_for_code(code: u16) -> ApiError {
    match code {
        429 => ApiError::too_many_requests(1),
        503 => ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        504 => ApiError::new(
            504,
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still be processing the request",
        ),
        500 => ApiError::internal("injected fault"),
        other => {
            let mut err = ApiError::internal("injected fault");
            err.code = other;
            err
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
        return s.parse::<f64>().ok().map(|s| (s * 1000.0) as u64);
    }
    if let Some(m) = text.strip_suffix('m') {
        return m.parse::<u64>().ok().map(|m| m * 60_000);
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_form_parses() {
        let spec = FaultSpec::parse_flag("error-rate=0.25,codes=500:429,delay=50ms,cut-watches=5s")
            .unwrap();
        assert_eq!(
            spec,
            FaultSpec {
                error_rate: 0.25,
                codes: vec![500, 429],
                delay_ms: 50,
                cut_watches_after_ms: Some(5000)
            }
        );
        assert!(matches!(
            FaultSpec::parse_flag("rate=1"),
            Err(FaultSpecError::UnknownKey(_))
        ));
        assert!(matches!(
            FaultSpec::parse_flag("error-rate=2"),
            Err(FaultSpecError::RateOutOfRange(_))
        ));
    }

    #[test]
    fn the_json_form_parses() {
        let spec: FaultSpec = serde_json::from_str(
            r#"{"errorRate":0.1,"codes":[429],"delayMs":0,"cutWatchesAfterMs":100}"#,
        )
        .unwrap();
        assert_eq!(spec.codes, vec![429]);
        assert_eq!(spec.watch_cut(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn failures_follow_the_rate_and_codes() {
        let spec = FaultSpec {
            error_rate: 0.5,
            codes: vec![500, 429],
            ..FaultSpec::default()
        };
        assert_eq!(spec.failure(0.7, 0), None);
        assert_eq!(spec.failure(0.2, 0).map(|e| e.code), Some(500));
        let throttled = spec.failure(0.2, 1).unwrap();
        assert_eq!(throttled.reason, "TooManyRequests");
        assert_eq!(FaultSpec::default().failure(0.0, 0), None);
    }
}
