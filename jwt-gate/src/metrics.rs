//! Metrics through the `metrics` facade: counted only when the application installs a recorder
//! (for Prometheus, `metrics-exporter-prometheus`); otherwise each call is a no-op.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `jwtgate_logins_total` | counter | `outcome`: `success`, `failure` |
//! | `jwtgate_auth_failures_total` | counter | `reason`: `missing_token`, `invalid_header`, `invalid_token`, `expired`, `unknown_identity`, `revoked`, `not_fresh`, `wrong_type`, `csrf`, `store_unavailable` |
//! | `jwtgate_tokens_issued_total` | counter | `type`: `access`, `refresh` |
//! | `jwtgate_verify_duration_seconds` | histogram | – |

use std::time::Duration;

use crate::error::{JwtError, TokenError};

/// Login attempts by outcome.
pub const LOGINS_TOTAL: &str = "jwtgate_logins_total";
/// Refused authentications of protected requests, by reason.
pub const AUTH_FAILURES_TOTAL: &str = "jwtgate_auth_failures_total";
/// Tokens signed, by type.
pub const TOKENS_ISSUED_TOTAL: &str = "jwtgate_tokens_issued_total";
/// Time spent verifying a token (decoding, signature and claims; cache hits included).
pub const VERIFY_DURATION_SECONDS: &str = "jwtgate_verify_duration_seconds";
/// Buckets suited to [`VERIFY_DURATION_SECONDS`], for exporters that take explicit buckets:
/// from 1 µs to 10 ms.
pub const VERIFY_DURATION_BUCKETS: [f64; 10] = [
    0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.01,
];

pub(crate) fn login(success: bool) {
    let outcome = if success { "success" } else { "failure" };
    metrics::counter!(LOGINS_TOTAL, "outcome" => outcome).increment(1);
}

pub(crate) fn issued(token_type: &'static str) {
    metrics::counter!(TOKENS_ISSUED_TOTAL, "type" => token_type).increment(1);
}

pub(crate) fn verify_duration(elapsed: Duration) {
    metrics::histogram!(VERIFY_DURATION_SECONDS).record(elapsed.as_secs_f64());
}

/// Counts a refused authentication (not a failed login, not a server error).
pub(crate) fn auth_failure(error: &JwtError) {
    if let Some(reason) = failure_reason(error) {
        metrics::counter!(AUTH_FAILURES_TOTAL, "reason" => reason).increment(1);
    }
}

/// The `reason` label of an authentication failure.
pub(crate) fn failure_reason(error: &JwtError) -> Option<&'static str> {
    Some(match error {
        JwtError::MissingToken => "missing_token",
        JwtError::BadHeader(_) => "invalid_header",
        JwtError::InvalidToken(TokenError::Expired) => "expired",
        JwtError::InvalidToken(
            TokenError::AccessTokenRequired | TokenError::RefreshTokenRequired,
        ) => "wrong_type",
        JwtError::InvalidToken(_) => "invalid_token",
        JwtError::UnknownIdentity => "unknown_identity",
        JwtError::Revoked | JwtError::RefreshTokenReused => "revoked",
        JwtError::FreshTokenRequired => "not_fresh",
        JwtError::MissingCsrfToken | JwtError::CsrfMismatch => "csrf",
        JwtError::StoreUnavailable(_) => "store_unavailable",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HeaderError;

    #[test]
    fn every_refusal_has_a_reason() {
        let cases = [
            (JwtError::MissingToken, "missing_token"),
            (HeaderError::TokenMissing.into(), "invalid_header"),
            (TokenError::Expired.into(), "expired"),
            (TokenError::RefreshTokenRequired.into(), "wrong_type"),
            (TokenError::SignatureInvalid.into(), "invalid_token"),
            (JwtError::UnknownIdentity, "unknown_identity"),
            (JwtError::RefreshTokenReused, "revoked"),
            (JwtError::FreshTokenRequired, "not_fresh"),
        ];
        for (error, reason) in cases {
            assert_eq!(failure_reason(&error), Some(reason), "{error:?}");
        }
        assert_eq!(failure_reason(&JwtError::BadCredentials), None);
        assert_eq!(failure_reason(&JwtError::internal("x")), None);
    }
}
