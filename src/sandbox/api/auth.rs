//! Bearer-token authentication: every request but the health probes must carry
//! `Authorization: Bearer <token>`, the token the sandbox writes into its kubeconfig.

use http::HeaderMap;
use rand::Rng;

/// A fresh random token (32 alphanumeric characters).
pub fn generate_token() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Whether the request carries the expected bearer token.
pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_bearer_token_passes() {
        let token = generate_token();
        assert_eq!(token.len(), 32);
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, &token));
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert!(authorized(&headers, &token));
        headers.insert(http::header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert!(!authorized(&headers, &token));
    }

    #[test]
    fn probes_are_open() {
        assert!(is_probe("/healthz"));
        assert!(is_probe("/readyz/ping"));
        assert!(!is_probe("/api/v1/pods"));
    }
}
