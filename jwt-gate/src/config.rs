//! [`JwtConfig`]: Flask-JWT's `JWT_*` settings as plain, serializable data.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The largest NumericDate that jwt-gate issues: 2^53 − 1 seconds, the largest integer that
/// every JSON implementation reads exactly (I-JSON, RFC 7493). A lifetime that would push `exp`
/// past it is refused as an overflow.
pub(crate) const MAX_NUMERIC_DATE: i64 = (1 << 53) - 1;

/// Flask-JWT's settings, with Flask-JWT's defaults.
///
/// Plain data: build it in code, read it from the environment with [`JwtConfig::from_env`], or
/// deserialize it from a config file (durations are whole seconds). The secret and the
/// algorithm are not here: they live only in [`Keys`](crate::Keys), so this struct can be
/// logged and serialized safely.
///
/// ```
/// use jwt_gate::JwtConfig;
/// use std::time::Duration;
///
/// let mut config = JwtConfig::default();
/// config.auth_url_rule = "/login".into();
/// config.auth_username_key = "email".into();
/// config.expiration_delta = Duration::from_secs(1800);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JwtConfig {
    /// Path of the login route mounted by [`Jwt::routes`](crate::Jwt::routes). Read once, when
    /// the route is mounted. Defaults to `/auth`.
    #[doc(alias = "JWT_AUTH_URL_RULE")]
    pub auth_url_rule: String,
    /// Lifetime of an access token: `exp = iat + expiration_delta`. Whole seconds, at least 1.
    /// Defaults to 300 seconds.
    #[doc(alias = "JWT_EXPIRATION_DELTA")]
    #[serde(with = "seconds")]
    pub expiration_delta: Duration,
    /// Clock leeway applied to `exp`, `nbf` and `iat`. Defaults to 10 seconds.
    #[doc(alias = "JWT_LEEWAY")]
    #[serde(with = "seconds")]
    pub leeway: Duration,
    /// `nbf = iat + not_before_delta`. Defaults to 0 seconds.
    #[doc(alias = "JWT_NOT_BEFORE_DELTA")]
    #[serde(with = "seconds")]
    pub not_before_delta: Duration,
    /// JSON key of the username in the login body. Defaults to `username`.
    #[doc(alias = "JWT_AUTH_USERNAME_KEY")]
    pub auth_username_key: String,
    /// JSON key of the password in the login body. Defaults to `password`.
    #[doc(alias = "JWT_AUTH_PASSWORD_KEY")]
    pub auth_password_key: String,
    /// Scheme of `Authorization: <prefix> <token>`, compared case-insensitively; also the scheme
    /// of the `WWW-Authenticate` challenge. Defaults to `JWT`.
    #[doc(alias = "JWT_AUTH_HEADER_PREFIX")]
    pub auth_header_prefix: String,
    /// Realm of the `WWW-Authenticate` challenge. Defaults to `Login Required`.
    #[doc(alias = "JWT_DEFAULT_REALM")]
    pub default_realm: String,
    /// Checks to switch on: any of `signature`, `exp`, `nbf`, `iat`. As in Flask-JWT this can
    /// only switch checks on, and all of them are always on: removing a name weakens nothing.
    /// Defaults to `["signature", "exp", "nbf", "iat"]`.
    #[doc(alias = "JWT_VERIFY_CLAIMS")]
    pub verify_claims: Vec<String>,
    /// Claims a token must carry (not absent, not `null`): any of `exp`, `iat`, `nbf`, `iss`,
    /// `aud`, `sub`, `jti`, checked in that order. Defaults to `["exp", "iat", "nbf"]`.
    #[doc(alias = "JWT_REQUIRED_CLAIMS")]
    pub required_claims: Vec<String>,
    /// Largest login body accepted, in bytes; larger ones are 413. Defaults to 65536.
    pub max_body_bytes: usize,
    /// Lifetime of a refresh token (with a revocation store). Defaults to 30 days.
    #[doc(alias = "JWT_REFRESH_EXPIRATION_DELTA")]
    #[serde(with = "seconds")]
    pub refresh_expiration_delta: Duration,
    /// Path of the refresh route (with a revocation store). Defaults to `/refresh`.
    pub refresh_url_rule: String,
    /// Path of the logout route (with a revocation store). Defaults to `/logout`.
    pub logout_url_rule: String,
    /// Path of the logout-everywhere route (with a revocation store). Defaults to
    /// `/logout-all`.
    pub logout_all_url_rule: String,
    /// How long one revocation-store call may take before the request fails closed with 503.
    /// Serialized in milliseconds. Defaults to 1 second.
    #[serde(with = "millis")]
    pub store_timeout: Duration,
    /// How many verified tokens to remember, so that a token seen again skips decoding and the
    /// signature check (its time rules and revocation are still checked every time). `0`
    /// turns the cache off. Defaults to 16384.
    pub verify_cache_capacity: usize,
    /// Longest token accepted, in bytes; longer ones are 401 `Token too large` before any
    /// decoding. Defaults to 8192.
    pub max_token_bytes: usize,
    /// Deepest nesting of arrays and objects in a token's header or claims; deeper is 401
    /// `Token too deeply nested`. At most 100. Defaults to 32.
    pub max_json_depth: usize,
    /// Most claims a token may carry; more is 401 `Token has too many claims`. Defaults to 64.
    pub max_claims: usize,
    /// The issuer: put in every issued token as `iss`, and required of every verified one
    /// (401 `Invalid issuer`, or `Token is missing the "iss" claim`). Defaults to none: `iss`
    /// is neither issued nor checked, as in Flask-JWT.
    #[doc(alias = "JWT_ISSUER")]
    pub issuer: Option<String>,
    /// The audiences this service accepts. When not empty, every issued token gets the first
    /// as `aud`, and a verified token's `aud` (a string or a list of strings) must name at
    /// least one of them (401 `Invalid audience`). Empty (the default): as in Flask-JWT, any
    /// token with an `aud` claim is refused.
    #[doc(alias = "JWT_AUDIENCE")]
    pub audience: Vec<String>,
    /// The subject a verified token's `sub` must equal (401 `Invalid subject`). Defaults to
    /// none: `sub` is not checked.
    pub subject: Option<String>,
    /// How long clients may cache `/.well-known/jwks.json` (`Cache-Control: max-age`), at most;
    /// shorter when a key of the ring retires sooner. Whole seconds. Defaults to 300.
    #[serde(with = "seconds")]
    pub jwks_max_age: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            auth_url_rule: "/auth".to_owned(),
            expiration_delta: Duration::from_secs(300),
            leeway: Duration::from_secs(10),
            not_before_delta: Duration::ZERO,
            auth_username_key: "username".to_owned(),
            auth_password_key: "password".to_owned(),
            auth_header_prefix: "JWT".to_owned(),
            default_realm: "Login Required".to_owned(),
            verify_claims: ["signature", "exp", "nbf", "iat"]
                .map(str::to_owned)
                .to_vec(),
            required_claims: ["exp", "iat", "nbf"].map(str::to_owned).to_vec(),
            max_body_bytes: 64 * 1024,
            refresh_expiration_delta: Duration::from_secs(30 * 24 * 60 * 60),
            refresh_url_rule: "/refresh".to_owned(),
            logout_url_rule: "/logout".to_owned(),
            logout_all_url_rule: "/logout-all".to_owned(),
            store_timeout: Duration::from_secs(1),
            verify_cache_capacity: 16 * 1024,
            max_token_bytes: 8 * 1024,
            max_json_depth: 32,
            max_claims: 64,
            issuer: None,
            audience: Vec::new(),
            subject: None,
            jwks_max_age: Duration::from_secs(300),
        }
    }
}

const VERIFIABLE_CLAIMS: [&str; 4] = ["signature", "exp", "nbf", "iat"];
/// PyJWT 1.4 knows how to require the first three, in this order; the registered claims that
/// follow are jwt-gate's.
pub(crate) const REQUIRABLE_CLAIMS: [&str; 7] = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"];

impl JwtConfig {
    /// Reads the `JWT_*` environment variables over the defaults.
    ///
    /// Read: `JWT_AUTH_URL_RULE`, `JWT_EXPIRATION_DELTA`, `JWT_LEEWAY`,
    /// `JWT_NOT_BEFORE_DELTA`, `JWT_REFRESH_EXPIRATION_DELTA` (whole seconds, ASCII digits
    /// only), `JWT_AUTH_USERNAME_KEY`,
    /// `JWT_AUTH_PASSWORD_KEY`, `JWT_AUTH_HEADER_PREFIX`, `JWT_DEFAULT_REALM`,
    /// `JWT_VERIFY_CLAIMS`, `JWT_REQUIRED_CLAIMS` and `JWT_AUDIENCE` (comma-separated),
    /// `JWT_ISSUER`. An unset or empty
    /// variable keeps the default. `JWT_SECRET_KEY` and `JWT_ALGORITHM` are read by
    /// [`Keys::from_env`](crate::Keys::from_env).
    ///
    /// # Errors
    /// A value that cannot be parsed or is unsafe, with the variable named in the message.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), with the variables looked up by `lookup` (for tests
    /// and for other sources of settings).
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let mut config = Self::default();
        if let Some(rule) = get("JWT_AUTH_URL_RULE") {
            config.auth_url_rule = rule;
        }
        if let Some(value) = get("JWT_EXPIRATION_DELTA") {
            config.expiration_delta = parse_seconds("JWT_EXPIRATION_DELTA", &value)?;
        }
        if let Some(value) = get("JWT_REFRESH_EXPIRATION_DELTA") {
            config.refresh_expiration_delta =
                parse_seconds("JWT_REFRESH_EXPIRATION_DELTA", &value)?;
        }
        if let Some(value) = get("JWT_LEEWAY") {
            config.leeway = parse_seconds("JWT_LEEWAY", &value)?;
        }
        if let Some(value) = get("JWT_NOT_BEFORE_DELTA") {
            config.not_before_delta = parse_seconds("JWT_NOT_BEFORE_DELTA", &value)?;
        }
        if let Some(key) = get("JWT_AUTH_USERNAME_KEY") {
            config.auth_username_key = key;
        }
        if let Some(key) = get("JWT_AUTH_PASSWORD_KEY") {
            config.auth_password_key = key;
        }
        if let Some(prefix) = get("JWT_AUTH_HEADER_PREFIX") {
            config.auth_header_prefix = prefix;
        }
        if let Some(realm) = get("JWT_DEFAULT_REALM") {
            config.default_realm = realm;
        }
        if let Some(list) = get("JWT_VERIFY_CLAIMS") {
            config.verify_claims = parse_list(&list);
        }
        if let Some(list) = get("JWT_REQUIRED_CLAIMS") {
            config.required_claims = parse_list(&list);
        }
        if let Some(issuer) = get("JWT_ISSUER") {
            config.issuer = Some(issuer);
        }
        if let Some(list) = get("JWT_AUDIENCE") {
            config.audience = parse_list(&list);
        }
        config.validate(crate::clock::unix_seconds(&crate::clock::SystemClock))?;
        Ok(config)
    }

    /// Checks every setting; `now` is the current Unix time in seconds (for the `exp` overflow
    /// rule).
    pub(crate) fn validate(&self, now: i64) -> Result<(), ConfigError> {
        validate_url_rule("JWT_AUTH_URL_RULE", &self.auth_url_rule)?;
        validate_url_rule("refresh_url_rule", &self.refresh_url_rule)?;
        validate_url_rule("logout_url_rule", &self.logout_url_rule)?;
        validate_url_rule("logout_all_url_rule", &self.logout_all_url_rule)?;
        let latest_exp = |delta: Duration| {
            i64::try_from(delta.as_secs())
                .ok()
                .and_then(|d| now.checked_add(d))
                .is_some_and(|exp| exp <= MAX_NUMERIC_DATE)
        };
        if self.expiration_delta.as_secs() == 0 {
            return Err(ConfigError::invalid(
                "JWT_EXPIRATION_DELTA",
                "the token lifetime must be at least 1 second",
            ));
        }
        if self.expiration_delta.subsec_nanos() != 0 {
            return Err(ConfigError::invalid(
                "JWT_EXPIRATION_DELTA",
                "the token lifetime must be whole seconds",
            ));
        }
        if !latest_exp(self.expiration_delta) {
            return Err(ConfigError::invalid(
                "JWT_EXPIRATION_DELTA",
                "the token lifetime would overflow `exp`",
            ));
        }
        if self.refresh_expiration_delta.as_secs() == 0
            || self.refresh_expiration_delta.subsec_nanos() != 0
            || !latest_exp(self.refresh_expiration_delta)
        {
            return Err(ConfigError::invalid(
                "JWT_REFRESH_EXPIRATION_DELTA",
                "the refresh-token lifetime must be whole seconds, at least 1, without overflowing `exp`",
            ));
        }
        if self.store_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "store_timeout",
                "the store timeout must be positive",
            ));
        }
        if !latest_exp(self.not_before_delta) {
            return Err(ConfigError::invalid(
                "JWT_NOT_BEFORE_DELTA",
                "the not-before delta would overflow `nbf`",
            ));
        }
        if i64::try_from(self.leeway.as_secs()).map_or(true, |l| l > MAX_NUMERIC_DATE) {
            return Err(ConfigError::invalid(
                "JWT_LEEWAY",
                "the leeway is too large",
            ));
        }
        validate_key("JWT_AUTH_USERNAME_KEY", &self.auth_username_key)?;
        validate_key("JWT_AUTH_PASSWORD_KEY", &self.auth_password_key)?;
        if self.auth_username_key == self.auth_password_key {
            return Err(ConfigError::invalid(
                "JWT_AUTH_PASSWORD_KEY",
                "the username and password keys must differ",
            ));
        }
        if self.auth_header_prefix.is_empty() || !self.auth_header_prefix.bytes().all(is_token_char)
        {
            return Err(ConfigError::invalid(
                "JWT_AUTH_HEADER_PREFIX",
                "the prefix must be one HTTP token (letters, digits, !#$%&'*+-.^_`|~), such as JWT or Bearer",
            ));
        }
        if self.default_realm.is_empty()
            || !self
                .default_realm
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::invalid(
                "JWT_DEFAULT_REALM",
                "the realm must be printable ASCII without quotes or backslashes",
            ));
        }
        for claim in &self.verify_claims {
            if !VERIFIABLE_CLAIMS.contains(&claim.as_str()) {
                return Err(ConfigError::invalid(
                    "JWT_VERIFY_CLAIMS",
                    format!("unknown claim {claim:?}; expected any of signature, exp, nbf, iat"),
                ));
            }
        }
        for claim in &self.required_claims {
            if !REQUIRABLE_CLAIMS.contains(&claim.as_str()) {
                return Err(ConfigError::invalid(
                    "JWT_REQUIRED_CLAIMS",
                    format!(
                        "unknown claim {claim:?}; expected any of exp, iat, nbf, iss, aud, sub, jti"
                    ),
                ));
            }
        }
        if self
            .issuer
            .as_deref()
            .is_some_and(|issuer| issuer.trim().is_empty())
        {
            return Err(ConfigError::invalid(
                "JWT_ISSUER",
                "empty; unset it, or name the issuer",
            ));
        }
        if self
            .audience
            .iter()
            .any(|audience| audience.trim().is_empty())
        {
            return Err(ConfigError::invalid(
                "JWT_AUDIENCE",
                "an empty audience; name each one",
            ));
        }
        if self.max_token_bytes < 64 {
            return Err(ConfigError::invalid(
                "max_token_bytes",
                "tokens must be allowed at least 64 bytes",
            ));
        }
        // serde_json stops at 128 levels on its own; stay well inside it.
        if !(1..=100).contains(&self.max_json_depth) {
            return Err(ConfigError::invalid(
                "max_json_depth",
                "the nesting limit must be from 1 to 100",
            ));
        }
        // Identity, the three times and the lifecycle's five claims must always fit.
        if self.max_claims < 9 {
            return Err(ConfigError::invalid(
                "max_claims",
                "tokens must be allowed at least 9 claims",
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::invalid(
                "max_body_bytes",
                "the login body limit must be at least 1 byte",
            ));
        }
        Ok(())
    }

    /// The `WWW-Authenticate` challenge of this configuration: `<prefix> realm="<realm>"`.
    #[must_use]
    pub fn challenge(&self) -> String {
        format!(
            "{} realm=\"{}\"",
            self.auth_header_prefix, self.default_realm
        )
    }
}

/// Whole seconds, ASCII digits only: no sign, no space, no fraction, no exponent.
fn parse_seconds(setting: &'static str, value: &str) -> Result<Duration, ConfigError> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::invalid(
            setting,
            format!("{value:?} is not a whole number of seconds (ASCII digits only)"),
        ));
    }
    value
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| ConfigError::invalid(setting, format!("{value:?} is too large")))
}

fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn validate_key(setting: &'static str, key: &str) -> Result<(), ConfigError> {
    if key.is_empty() {
        return Err(ConfigError::invalid(setting, "the key must not be empty"));
    }
    Ok(())
}

/// RFC 9110 `tchar`.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A path that axum can mount literally: it starts with `/`, has no empty segment, and holds
/// nothing that axum would read as a parameter or wildcard.
fn validate_url_rule(setting: &'static str, rule: &str) -> Result<(), ConfigError> {
    let reason = if !rule.starts_with('/') {
        Some("the rule must start with `/`")
    } else if rule.contains("//") {
        Some("the rule must not contain an empty path segment")
    } else if !rule
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~!$&'()+,;=@".contains(c))
    {
        // What a client sends unencoded (RFC 3986 path characters), minus what axum reads
        // as a parameter or wildcard (`{}`, `*`, `:`): anything else would arrive
        // percent-encoded, and axum matches paths without decoding them.
        Some(
            "the rule must be a literal path of ASCII letters, digits and - . _ ~ ! $ & ' ( ) + , ; = @",
        )
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::invalid(setting, format!("{rule:?}: {reason}"))),
        None => Ok(()),
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<JwtConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        JwtConfig::from_lookup(|name| vars.get(name).cloned())
    }

    fn setting_of(error: ConfigError) -> &'static str {
        match error {
            ConfigError::Invalid { setting, .. } => setting,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_are_flask_jwts() {
        let config = from(&[]).unwrap();
        assert_eq!(config, JwtConfig::default());
        assert_eq!(config.auth_url_rule, "/auth");
        assert_eq!(config.expiration_delta, Duration::from_secs(300));
        assert_eq!(config.leeway, Duration::from_secs(10));
        assert_eq!(config.not_before_delta, Duration::ZERO);
        assert_eq!(config.auth_username_key, "username");
        assert_eq!(config.auth_password_key, "password");
        assert_eq!(config.auth_header_prefix, "JWT");
        assert_eq!(config.default_realm, "Login Required");
        assert_eq!(config.required_claims, ["exp", "iat", "nbf"]);
        assert_eq!(config.challenge(), "JWT realm=\"Login Required\"");
        assert_eq!(
            config.refresh_expiration_delta,
            Duration::from_secs(2_592_000)
        );
        assert_eq!(config.store_timeout, Duration::from_secs(1));
    }

    #[test]
    fn every_variable_is_read() {
        let config = from(&[
            ("JWT_AUTH_URL_RULE", "/login"),
            ("JWT_EXPIRATION_DELTA", "1800"),
            ("JWT_LEEWAY", "0"),
            ("JWT_NOT_BEFORE_DELTA", "5"),
            ("JWT_AUTH_USERNAME_KEY", "email"),
            ("JWT_AUTH_PASSWORD_KEY", "secret"),
            ("JWT_AUTH_HEADER_PREFIX", "Bearer"),
            ("JWT_DEFAULT_REALM", "api"),
            ("JWT_VERIFY_CLAIMS", "signature, exp"),
            ("JWT_REQUIRED_CLAIMS", "exp"),
            ("JWT_REFRESH_EXPIRATION_DELTA", "3600"),
        ])
        .unwrap();
        assert_eq!(config.auth_url_rule, "/login");
        assert_eq!(config.expiration_delta, Duration::from_secs(1800));
        assert_eq!(config.leeway, Duration::ZERO);
        assert_eq!(config.not_before_delta, Duration::from_secs(5));
        assert_eq!(config.auth_username_key, "email");
        assert_eq!(config.auth_password_key, "secret");
        assert_eq!(config.auth_header_prefix, "Bearer");
        assert_eq!(config.default_realm, "api");
        assert_eq!(config.verify_claims, ["signature", "exp"]);
        assert_eq!(config.required_claims, ["exp"]);
        assert_eq!(config.refresh_expiration_delta, Duration::from_secs(3600));
    }

    #[test]
    fn empty_variables_keep_the_defaults() {
        let config = from(&[("JWT_EXPIRATION_DELTA", ""), ("JWT_AUTH_URL_RULE", "")]).unwrap();
        assert_eq!(config, JwtConfig::default());
    }

    #[test]
    fn numbers_are_ascii_digits_only() {
        for bad in ["-1", "+5", " 5", "5 ", "1.5", "1e3", "0x10", "٣", "abc"] {
            let error = from(&[("JWT_LEEWAY", bad)]).unwrap_err();
            assert_eq!(setting_of(error), "JWT_LEEWAY", "{bad}");
        }
    }

    #[test]
    fn unusable_lifetimes_are_refused() {
        for bad in [
            "0",
            "18446744073709551616",
            "9223372036854775807",
            "9007199254740991",
        ] {
            let error = from(&[("JWT_EXPIRATION_DELTA", bad)]).unwrap_err();
            assert_eq!(setting_of(error), "JWT_EXPIRATION_DELTA", "{bad}");
        }
        let error = from(&[("JWT_NOT_BEFORE_DELTA", "9223372036854775807")]).unwrap_err();
        assert_eq!(setting_of(error), "JWT_NOT_BEFORE_DELTA");
        assert!(from(&[("JWT_EXPIRATION_DELTA", "31536000")]).is_ok());
    }

    #[test]
    fn url_rules_must_be_literal_paths() {
        for bad in [
            "auth", "/a b", "/{id}", "/*rest", "/a//b", "/a?b", "/:x", "/é", "/a|b", "/<x>", "/%41",
        ] {
            let error = from(&[("JWT_AUTH_URL_RULE", bad)]).unwrap_err();
            assert_eq!(setting_of(error), "JWT_AUTH_URL_RULE", "{bad}");
        }
        for good in ["/", "/login", "/api/v1/auth", "/auth/"] {
            assert!(from(&[("JWT_AUTH_URL_RULE", good)]).is_ok(), "{good}");
        }
    }

    #[test]
    fn unknown_claim_names_are_refused() {
        let error = from(&[("JWT_REQUIRED_CLAIMS", "exp,foo")]).unwrap_err();
        assert_eq!(setting_of(error), "JWT_REQUIRED_CLAIMS");
        let error = from(&[("JWT_VERIFY_CLAIMS", "signature,foo")]).unwrap_err();
        assert_eq!(setting_of(error), "JWT_VERIFY_CLAIMS");
        let config = from(&[
            ("JWT_REQUIRED_CLAIMS", "exp,iss,aud,sub,jti"),
            ("JWT_ISSUER", "https://issuer.example"),
            ("JWT_AUDIENCE", "api, admin"),
        ])
        .unwrap();
        assert_eq!(config.issuer.as_deref(), Some("https://issuer.example"));
        assert_eq!(config.audience, ["api", "admin"]);
        let empty = JwtConfig {
            issuer: Some(String::new()),
            ..JwtConfig::default()
        };
        assert!(empty.validate(0).is_err());
    }

    #[test]
    fn prefixes_are_single_tokens() {
        for bad in ["JWT X", "a\"b", "é"] {
            let error = from(&[("JWT_AUTH_HEADER_PREFIX", bad)]).unwrap_err();
            assert_eq!(setting_of(error), "JWT_AUTH_HEADER_PREFIX");
        }
    }

    #[test]
    fn same_username_and_password_key_is_refused() {
        let error = from(&[("JWT_AUTH_USERNAME_KEY", "password")]).unwrap_err();
        assert_eq!(setting_of(error), "JWT_AUTH_PASSWORD_KEY");
    }

    #[test]
    fn serde_round_trip_uses_seconds() {
        let json = serde_json::to_value(JwtConfig::default()).unwrap();
        assert_eq!(json["expiration_delta"], 300);
        let back: JwtConfig =
            serde_json::from_value(serde_json::json!({"expiration_delta": 60})).unwrap();
        assert_eq!(back.expiration_delta, Duration::from_secs(60));
        assert_eq!(back.auth_url_rule, "/auth");
    }
}
