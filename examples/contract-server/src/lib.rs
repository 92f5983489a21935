//! The application of `contract-server`, as a library so that tests can drive its `Router`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::{Json, Router};
use jwt_gate::keys::remote::RemoteKeys;
use jwt_gate::{
    Algorithm, Claims, ConfigError, Credentials, CurrentIdentity, FreshIdentity, Identity, Jwt,
    JwtConfig, JwtError, Keys, LoginThrottle, MemoryStore, RevocationStore, ThrottleStore,
    TokenLocation, Tokens,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

/// The secret used when `JWT_SECRET_KEY` is unset (CONTRACT.md).
pub const DEFAULT_SECRET: &str = "super-secret-test-key-0123456789abcdef";

/// The routes of the app besides the login; the login's URL rule may not collide with them.
const APP_ROUTES: [&str; 3] = ["/protected", "/public", jwt_gate::JWKS_PATH];
/// The route of `APP_METRICS=1`.
const METRICS_ROUTE: &str = "/metrics";
/// Verify-only mode: the shortest time between two fetches of `JWT_JWKS_URL` that tokens naming
/// an unknown `kid` trigger (CONTRACT.md).
pub const JWKS_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Verify-only mode: the time allowed for one fetch of `JWT_JWKS_URL`.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The routes the lifecycle adds (the library's and the app's).
const LIFECYCLE_ROUTES: [&str; 5] = ["/refresh", "/logout", "/logout-all", "/fresh", "/optional"];

/// Where the lifecycle keeps revocations (`JWT_REVOCATION_STORE`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreSetting {
    /// `memory`: this process only.
    Memory,
    /// `sqlite://<path>`.
    Sqlite(String),
    /// `postgres://...` or `postgresql://...`.
    Postgres(String),
    /// `redis://<host>:<port>/<db>`.
    Redis(String),
}

impl StoreSetting {
    fn parse(value: &str) -> Result<Self, SettingsError> {
        if value == "memory" {
            Ok(Self::Memory)
        } else if value.starts_with("sqlite://") {
            Ok(Self::Sqlite(value.to_owned()))
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(Self::Postgres(value.to_owned()))
        } else if value.starts_with("redis://") {
            Ok(Self::Redis(value.to_owned()))
        } else {
            Err(SettingsError(
                "JWT_REVOCATION_STORE: expected memory, sqlite://<path>, postgres://... or redis://<host>:<port>/<db>"
                    .to_owned(),
            ))
        }
    }
}

/// Where the keys come from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum KeySetting {
    /// An HMAC secret (`JWT_SECRET_KEY`) or a key pair (`JWT_PRIVATE_KEY_FILE`,
    /// `JWT_PUBLIC_KEY_FILE`) for `JWT_ALGORITHM`: the server signs and verifies.
    Local(Keys),
    /// `JWT_JWKS_URL`: verify-only, with the keys fetched from that JWKS (cached, fetched again
    /// on an unknown `kid` at most once per [`JWKS_MIN_REFRESH_INTERVAL`]); no login route.
    Jwks(RemoteKeys),
}

/// One of the fixed users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The id, written to the token's `identity` claim.
    pub id: i64,
    /// The username.
    pub username: &'static str,
    email: &'static str,
    password: &'static str,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

const USERS: [User; 2] = [
    User {
        id: 1,
        username: "user1",
        email: "user1@example.com",
        password: "abcxyz",
    },
    User {
        id: 2,
        username: "user2",
        email: "user2@example.com",
        password: "xyzabc",
    },
];

/// Everything the environment configures.
#[non_exhaustive]
#[derive(Debug)]
pub struct Settings {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The jwt-gate settings (`JWT_*`).
    pub config: JwtConfig,
    /// The keys: `JWT_ALGORITHM` with `JWT_SECRET_KEY` or the key files, or `JWT_JWKS_URL`.
    pub keys: KeySetting,
    /// `APP_CUSTOM_AUTH_RESPONSE=1`: the seed tutorial's `{access_token, user_id}` login body.
    pub custom_auth_response: bool,
    /// `APP_CUSTOM_ERROR_HANDLER=1`: the seed tutorial's `{message, code}` errors.
    pub custom_error_handler: bool,
    /// `APP_LIFECYCLE=1`: refresh tokens, revocation, `/refresh`, `/logout`, `/logout-all`,
    /// `/fresh`, `/optional`; the store from `JWT_REVOCATION_STORE`.
    pub lifecycle: Option<StoreSetting>,
    /// `APP_LOGIN_THROTTLE=n`: at most n failed logins per username and 5n per client IP per
    /// rolling minute, counted in the Redis of `JWT_REVOCATION_STORE=redis://...` when the
    /// lifecycle is on with it (shared by every instance on that Redis), else in this process.
    pub login_throttle: Option<u32>,
    /// `APP_METRICS=1`: `GET /metrics` serves Prometheus metrics.
    pub metrics: bool,
    /// `APP_TOKEN_LOCATION`: `headers` (default), `cookies` or `headers,cookies`.
    pub token_location: TokenLocation,
    /// `APP_COOKIE_SECURE`: `1` (default) every cookie carries `Secure`, `0` none does.
    pub secure_cookies: bool,
}

/// Every setting but the keys, which are read last.
struct SettingsWithoutKeys {
    port: u16,
    config: JwtConfig,
    custom_auth_response: bool,
    custom_error_handler: bool,
    lifecycle: Option<StoreSetting>,
    token_location: TokenLocation,
    secure_cookies: bool,
    login_throttle: Option<u32>,
    metrics: bool,
}

impl SettingsWithoutKeys {
    fn with_keys(self, keys: KeySetting) -> Settings {
        Settings {
            port: self.port,
            config: self.config,
            keys,
            custom_auth_response: self.custom_auth_response,
            custom_error_handler: self.custom_error_handler,
            lifecycle: self.lifecycle,
            login_throttle: self.login_throttle,
            token_location: self.token_location,
            secure_cookies: self.secure_cookies,
            metrics: self.metrics,
        }
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug)]
pub struct SettingsError(String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

impl From<ConfigError> for SettingsError {
    fn from(error: ConfigError) -> Self {
        Self(error.to_string())
    }
}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// A variable that cannot be parsed or is unsafe, named in the message.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`.
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let port = match lookup("PORT").filter(|p| !p.is_empty()) {
            None => 5000,
            Some(port) => parse_port(&port)?,
        };
        let mut config = JwtConfig::from_lookup(&lookup)?;
        // `APP_VERIFY_CACHE=0` switches the verified-token cache off; it is on by default.
        match lookup("APP_VERIFY_CACHE").as_deref() {
            None | Some("" | "1") => {}
            Some("0") => config.verify_cache_capacity = 0,
            Some(other) => {
                return Err(SettingsError(format!(
                    "APP_VERIFY_CACHE: {other:?} is neither 1 (on) nor 0 (off)"
                )));
            }
        }
        let lifecycle = if flag(&lookup, "APP_LIFECYCLE")? {
            let store = lookup("JWT_REVOCATION_STORE").filter(|s| !s.is_empty());
            Some(store.map_or(Ok(StoreSetting::Memory), |s| StoreSetting::parse(&s))?)
        } else {
            None
        };
        let metrics = flag(&lookup, "APP_METRICS")?;
        let rule = config.auth_url_rule.as_str();
        if APP_ROUTES.contains(&rule)
            || (lifecycle.is_some() && LIFECYCLE_ROUTES.contains(&rule))
            || (metrics && rule == METRICS_ROUTE)
        {
            return Err(SettingsError(format!(
                "JWT_AUTH_URL_RULE: {:?} collides with the route of the same path",
                config.auth_url_rule
            )));
        }
        let settings = SettingsWithoutKeys {
            port,
            config,
            custom_auth_response: flag(&lookup, "APP_CUSTOM_AUTH_RESPONSE")?,
            custom_error_handler: flag(&lookup, "APP_CUSTOM_ERROR_HANDLER")?,
            lifecycle,
            token_location: match lookup("APP_TOKEN_LOCATION").filter(|v| !v.is_empty()) {
                None => TokenLocation::Headers,
                Some(list) => list.parse().map_err(|_| {
                    SettingsError(format!(
                        "APP_TOKEN_LOCATION: {list:?} is not a comma-separated list of headers and cookies"
                    ))
                })?,
            },
            secure_cookies: match lookup("APP_COOKIE_SECURE").as_deref() {
                None | Some("" | "1") => true,
                Some("0") => false,
                Some(other) => {
                    return Err(SettingsError(format!(
                        "APP_COOKIE_SECURE: {other:?} is neither 1 (on) nor 0 (off)"
                    )));
                }
            },
            metrics,
            login_throttle: match lookup("APP_LOGIN_THROTTLE").filter(|v| !v.is_empty()) {
                None => None,
                Some(value) => Some(
                    value
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| value.parse::<u32>().ok())
                        .flatten()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| {
                            SettingsError(format!(
                                "APP_LOGIN_THROTTLE: {value:?} is not a positive whole number"
                            ))
                        })?,
                ),
            },
        };
        if settings.token_location.uses_cookies() && settings.config.auth_url_rule == "/logout" {
            return Err(SettingsError(
                "JWT_AUTH_URL_RULE: \"/logout\" collides with the logout route of the cookie mode"
                    .to_owned(),
            ));
        }
        // Read last, so that a bad variable stops the server before `Keys` logs anything.
        let keys = match lookup("JWT_JWKS_URL").filter(|url| !url.is_empty()) {
            Some(url) => KeySetting::Jwks(remote_keys(&lookup, &url)?),
            // Unset means the contract's default secret; set but empty is refused by `Keys`.
            None => KeySetting::Local(Keys::from_lookup(|name| match name {
                "JWT_SECRET_KEY" => lookup(name).or_else(|| Some(DEFAULT_SECRET.to_owned())),
                _ => lookup(name),
            })?),
        };
        Ok(settings.with_keys(keys))
    }
}

/// Verify-only mode (`JWT_JWKS_URL`): the source of the keys, which fetches nothing yet.
///
/// `JWT_PRIVATE_KEY_FILE` is refused with it (a server that signs publishes its own keys: it
/// does not fetch another's). The algorithm of each key is the one its JWK names, so
/// `JWT_ALGORITHM` is only checked to be an algorithm; `JWT_PUBLIC_KEY_FILE` and
/// `JWT_SECRET_KEY` are not used (a secret that is set is still refused when empty or short,
/// as everywhere).
fn remote_keys(
    lookup: &impl Fn(&str) -> Option<String>,
    url: &str,
) -> Result<RemoteKeys, SettingsError> {
    if lookup("JWT_PRIVATE_KEY_FILE").is_some_and(|path| !path.is_empty()) {
        return Err(SettingsError(
            "JWT_JWKS_URL: verify-only mode signs nothing; unset JWT_PRIVATE_KEY_FILE, or \
             JWT_JWKS_URL to sign with the key pair"
                .to_owned(),
        ));
    }
    if let Some(name) = lookup("JWT_ALGORITHM").filter(|name| !name.is_empty()) {
        name.parse::<Algorithm>()?;
    }
    if let Some(secret) = lookup("JWT_SECRET_KEY")
        && secret.len() < jwt_gate::MIN_SECRET_BYTES
    {
        return Err(SettingsError(format!(
            "JWT_SECRET_KEY: the secret is {} bytes; use at least {} random bytes, or unset it",
            secret.len(),
            jwt_gate::MIN_SECRET_BYTES
        )));
    }
    Ok(RemoteKeys::jwks(url)
        .min_refresh_interval(JWKS_MIN_REFRESH_INTERVAL)
        .timeout(JWKS_FETCH_TIMEOUT)
        .build()?)
}

fn parse_port(value: &str) -> Result<u16, SettingsError> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u16>().ok())
        .flatten()
        .filter(|&port| port != 0)
        .ok_or_else(|| SettingsError(format!("PORT: {value:?} is not a port number (1-65535)")))
}

fn flag(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<bool, SettingsError> {
    match lookup(name).as_deref() {
        None | Some("" | "0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(SettingsError(format!(
            "{name}: {other:?} is neither 1 (on) nor 0 (off)"
        ))),
    }
}

/// The fixed user whose login name (username, or email when the username key is `email`)
/// and password match. Every user's password is compared, in constant time, so that the
/// answer's timing does not tell which names exist.
fn find_user(credentials: &Credentials, by_email: bool) -> Option<User> {
    let mut found = None;
    for user in &USERS {
        let name = if by_email { user.email } else { user.username };
        let name_ok = name.as_bytes().ct_eq(credentials.username.as_bytes());
        let password_ok = user
            .password
            .as_bytes()
            .ct_eq(credentials.password.as_bytes());
        if bool::from(name_ok & password_ok) {
            found = Some(user.clone());
        }
    }
    found
}

/// The stores the lifecycle connects (`JWT_REVOCATION_STORE`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Stores {
    /// Where revocations and refresh-token families are kept.
    pub revocation: Arc<dyn RevocationStore>,
    /// Where the login throttle counts failed logins when the store can share them between
    /// instances (Redis); `None`: in this process (jwt-gate's `MemoryThrottleStore`).
    pub throttle: Option<Arc<dyn ThrottleStore>>,
}

impl Stores {
    /// A revocation store only; failed logins are counted in this process.
    #[must_use]
    pub fn revocation_only(revocation: Arc<dyn RevocationStore>) -> Self {
        Self {
            revocation,
            throttle: None,
        }
    }
}

/// Connects the store of `setting` (and creates its tables): the revocation store, and for
/// Redis the same connection as the throttle's store.
///
/// # Errors
/// The store cannot be reached or set up.
pub async fn connect_store(setting: &StoreSetting) -> Result<Stores, String> {
    use jwt_gate_sqlx_store::sqlx;
    let unreachable = |error: &dyn fmt::Display| format!("JWT_REVOCATION_STORE: {error}");
    match setting {
        StoreSetting::Memory => Ok(Stores::revocation_only(Arc::new(MemoryStore::new()))),
        StoreSetting::Sqlite(url) => {
            let options = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .map_err(|e| unreachable(&e))?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(5));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .acquire_timeout(std::time::Duration::from_secs(1))
                .connect_with(options)
                .await
                .map_err(|e| unreachable(&e))?;
            let store = jwt_gate_sqlx_store::SqliteStore::new(pool);
            store.migrate().await.map_err(|e| unreachable(&e))?;
            Ok(Stores::revocation_only(Arc::new(store)))
        }
        StoreSetting::Postgres(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .acquire_timeout(std::time::Duration::from_secs(1))
                .connect(url)
                .await
                .map_err(|e| unreachable(&e))?;
            let store = jwt_gate_sqlx_store::PostgresStore::new(pool);
            store.migrate().await.map_err(|e| unreachable(&e))?;
            Ok(Stores::revocation_only(Arc::new(store)))
        }
        StoreSetting::Redis(url) => {
            let store = jwt_gate_redis_store::RedisStore::connect(url)
                .await
                .map_err(|e| unreachable(&e))?;
            // A clone shares the connection: one Redis for revocations and failed logins.
            Ok(Stores {
                revocation: Arc::new(store.clone()),
                throttle: Some(Arc::new(store)),
            })
        }
    }
}

/// The contract server's `Router`; `stores` are used when the lifecycle is on (the revocation
/// store, and the throttle's store when it has one and `APP_LOGIN_THROTTLE` is set).
///
/// # Errors
/// A configuration that jwt-gate refuses.
/// The Prometheus recorder of `APP_METRICS=1`, with explicit buckets for the verification
/// histogram. Install it (globally, or locally in tests) and give its handle to [`app`].
#[must_use]
pub fn prometheus_recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(jwt_gate::metrics::VERIFY_DURATION_SECONDS.to_owned()),
            &jwt_gate::metrics::VERIFY_DURATION_BUCKETS,
        )
        .unwrap_or_else(|_| PrometheusBuilder::new())
        .build_recorder()
}

/// The contract server's `Router`; `stores` are used when the lifecycle is on, `metrics`
/// serves `GET /metrics` (with `APP_METRICS=1`).
///
/// # Errors
/// A configuration that jwt-gate refuses.
pub fn app_with_metrics(
    settings: Settings,
    stores: Option<Stores>,
    metrics: Option<PrometheusHandle>,
) -> Result<Router, ConfigError> {
    build(settings, stores, metrics)
}

/// The contract server's `Router` without `/metrics`.
///
/// # Errors
/// A configuration that jwt-gate refuses.
pub fn app(settings: Settings, stores: Option<Stores>) -> Result<Router, ConfigError> {
    build(settings, stores, None)
}

fn build(
    settings: Settings,
    stores: Option<Stores>,
    metrics: Option<PrometheusHandle>,
) -> Result<Router, ConfigError> {
    let by_email = settings.config.auth_username_key == "email";
    let builder = match settings.keys {
        KeySetting::Local(keys) => Jwt::builder(keys),
        // Without a signing key `routes()` mounts no login: its path is 404 like any other.
        KeySetting::Jwks(remote) => Jwt::builder_with_key_source(remote),
    };
    let mut builder = builder
        .config(settings.config)
        .authenticate(move |credentials: Credentials| async move {
            Ok::<_, std::convert::Infallible>(find_user(&credentials, by_email))
        })
        .identity(|claims: Claims<i64>| async move {
            Ok::<_, std::convert::Infallible>(
                USERS.iter().find(|u| u.id == claims.identity).cloned(),
            )
        });
    if settings.custom_auth_response {
        builder = builder.auth_response(|tokens: Tokens, user: &User| {
            // The default body (`access_token`, `refresh_token` with the lifecycle, or
            // `login: true` with cookies only) plus the seed tutorial's `user_id`.
            let mut body = tokens.body();
            body.insert("user_id".to_owned(), Value::from(user.id));
            Json(body)
        });
    }
    if settings.custom_error_handler {
        builder = builder.error_handler(|error: &JwtError| {
            (
                error.status(),
                Json(json!({"message": error.to_string(), "code": error.status().as_u16()})),
            )
        });
    }
    let lifecycle = settings.lifecycle.is_some();
    let stores = stores.filter(|_| lifecycle);
    let cookies = settings.token_location.uses_cookies();
    builder = builder
        .token_location(settings.token_location)
        .secure_cookies(settings.secure_cookies);
    if let Some(failures) = settings.login_throttle {
        let mut throttle = LoginThrottle::new(failures);
        if let Some(shared) = stores.as_ref().and_then(|s| s.throttle.clone()) {
            throttle = throttle.with_store(shared);
        }
        builder = builder.login_throttle(throttle);
    }
    if let Some(stores) = stores {
        builder = builder.revocation_store(stores.revocation);
    }
    let jwt = builder.build()?;
    let mut router = Router::new()
        .route(
            "/protected",
            if cookies {
                // With cookies the same checks answer state-changing methods too (CSRF applies).
                get(protected)
                    .post(protected)
                    .put(protected)
                    .patch(protected)
                    .delete(protected)
            } else {
                get(protected)
            },
        )
        .route("/public", get(public))
        .merge(jwt.routes())
        // Always mounted: the public keys of the ring (`{"keys": []}` for an HMAC secret).
        .merge(jwt.jwks_route());
    if lifecycle {
        router = router
            .route("/fresh", get(fresh))
            .route("/optional", get(optional));
    }
    if let Some(handle) = metrics {
        router = router.route(
            METRICS_ROUTE,
            get(move || {
                let handle = handle.clone();
                async move {
                    (
                        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
                        handle.render(),
                    )
                }
            }),
        );
    }
    Ok(jwt.json_errors(router).with_state(jwt))
}

async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn fresh(FreshIdentity(user): FreshIdentity<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn optional(user: Option<CurrentIdentity<User>>) -> Json<Value> {
    Json(json!({"id": user.map(|CurrentIdentity(user)| user.id)}))
}

async fn public() -> Json<Value> {
    Json(json!({"ok": true}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.port, 5000);
        assert!(!s.custom_auth_response && !s.custom_error_handler);
        assert_eq!(s.config, JwtConfig::default());
        assert_eq!(s.lifecycle, None);
        assert!(s.config.verify_cache_capacity > 0);
        let uncached = settings(&[("APP_VERIFY_CACHE", "0")]).unwrap();
        assert_eq!(uncached.config.verify_cache_capacity, 0);
        let on = settings(&[("APP_LIFECYCLE", "1")]).unwrap();
        assert_eq!(on.lifecycle, Some(StoreSetting::Memory));
        let redis = settings(&[
            ("APP_LIFECYCLE", "1"),
            ("JWT_REVOCATION_STORE", "redis://127.0.0.1:6379/0"),
        ])
        .unwrap();
        assert_eq!(
            redis.lifecycle,
            Some(StoreSetting::Redis("redis://127.0.0.1:6379/0".into()))
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("PORT", "x"),
            ("PORT", "70000"),
            ("PORT", "0"),
            ("JWT_SECRET_KEY", ""),
            ("JWT_SECRET_KEY", "short"),
            ("JWT_ALGORITHM", "hs256"),
            ("JWT_ALGORITHM", "none"),
            ("JWT_AUTH_URL_RULE", "/protected"),
            ("JWT_AUTH_URL_RULE", "/public"),
            ("JWT_AUTH_URL_RULE", "/.well-known/jwks.json"),
            ("JWT_AUTH_URL_RULE", "auth"),
            ("JWT_EXPIRATION_DELTA", "0"),
            ("JWT_EXPIRATION_DELTA", "-5"),
            ("JWT_LEEWAY", "-1"),
            ("JWT_NOT_BEFORE_DELTA", "1.5"),
            ("APP_CUSTOM_AUTH_RESPONSE", "yes"),
            ("APP_LIFECYCLE", "true"),
            ("APP_VERIFY_CACHE", "off"),
            ("APP_LOGIN_THROTTLE", "0"),
            ("APP_LOGIN_THROTTLE", "-1"),
            ("APP_LOGIN_THROTTLE", "five"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(error.starts_with(name), "{name}={value}: {error}");
            assert!(!error.contains('\n'));
        }
        for (vars, name) in [
            (
                &[
                    ("APP_LIFECYCLE", "1"),
                    ("JWT_REVOCATION_STORE", "mysql://x"),
                ][..],
                "JWT_REVOCATION_STORE",
            ),
            (
                &[("APP_LIFECYCLE", "1"), ("JWT_AUTH_URL_RULE", "/refresh")][..],
                "JWT_AUTH_URL_RULE",
            ),
            (
                &[("APP_METRICS", "1"), ("JWT_AUTH_URL_RULE", "/metrics")][..],
                "JWT_AUTH_URL_RULE",
            ),
            (
                &[("JWT_REFRESH_EXPIRATION_DELTA", "0")][..],
                "JWT_REFRESH_EXPIRATION_DELTA",
            ),
        ] {
            let error = settings(vars).unwrap_err().to_string();
            assert!(error.starts_with(name), "{vars:?}: {error}");
        }
        assert!(settings(&[("JWT_AUTH_URL_RULE", "/refresh")]).is_ok());
        assert!(settings(&[("JWT_AUTH_URL_RULE", "/metrics")]).is_ok());
    }

    #[test]
    fn keys_are_local_unless_a_jwks_url_is_set() {
        let KeySetting::Local(keys) = settings(&[]).unwrap().keys else {
            panic!("the default secret");
        };
        assert_eq!(keys.algorithm(), Algorithm::HS256);
        assert!(matches!(
            settings(&[("JWT_JWKS_URL", "")]).unwrap().keys,
            KeySetting::Local(_)
        ));
        let url = ("JWT_JWKS_URL", "http://127.0.0.1:9/.well-known/jwks.json");
        for vars in [
            &[url][..],
            &[url, ("JWT_ALGORITHM", "ES256")],
            &[url, ("JWT_PUBLIC_KEY_FILE", "/nowhere.pem")],
            &[url, ("JWT_PRIVATE_KEY_FILE", "")],
        ] {
            let keys = settings(vars).unwrap().keys;
            assert!(matches!(keys, KeySetting::Jwks(_)), "{vars:?}: {keys:?}");
        }
        for (vars, name) in [
            (
                &[url, ("JWT_PRIVATE_KEY_FILE", "/key.pem")][..],
                "JWT_JWKS_URL",
            ),
            (&[("JWT_JWKS_URL", "not a url")], "JWT_JWKS_URL"),
            (
                &[("JWT_JWKS_URL", "ftp://127.0.0.1/jwks.json")],
                "JWT_JWKS_URL",
            ),
            (&[url, ("JWT_ALGORITHM", "es256")], "JWT_ALGORITHM"),
            (&[url, ("JWT_SECRET_KEY", "")], "JWT_SECRET_KEY"),
            (&[url, ("JWT_SECRET_KEY", "short")], "JWT_SECRET_KEY"),
            (
                &[url, ("JWT_AUTH_URL_RULE", "/.well-known/jwks.json")],
                "JWT_AUTH_URL_RULE",
            ),
        ] {
            let error = settings(vars).unwrap_err().to_string();
            assert!(error.starts_with(name), "{vars:?}: {error}");
            assert!(!error.contains('\n'));
        }
    }

    #[tokio::test]
    async fn a_verify_only_app_has_no_login() {
        use tower::ServiceExt as _;
        let vars = [("JWT_JWKS_URL", "http://127.0.0.1:9/.well-known/jwks.json")];
        let app = app(settings(&vars).unwrap(), None).unwrap();
        let login = axum::http::Request::post("/auth")
            .header(CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(
                r#"{"username":"user1","password":"abcxyz"}"#,
            ))
            .unwrap();
        let response = app.oneshot(login).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn only_a_redis_store_counts_failed_logins() {
        let memory = connect_store(&StoreSetting::Memory).await.unwrap();
        assert!(memory.throttle.is_none());
        let app = app(
            settings(&[("APP_LIFECYCLE", "1"), ("APP_LOGIN_THROTTLE", "3")]).unwrap(),
            Some(memory),
        );
        assert!(app.is_ok());
    }

    #[test]
    fn users_are_found_by_username_or_email() {
        let login = |u: &str, p: &str, by_email| find_user(&Credentials::new(u, p), by_email);
        assert_eq!(login("user1", "abcxyz", false).unwrap().id, 1);
        assert_eq!(login("user2", "xyzabc", false).unwrap().id, 2);
        assert!(login("user1", "xyzabc", false).is_none());
        assert!(login("user1@example.com", "abcxyz", false).is_none());
        assert_eq!(login("user1@example.com", "abcxyz", true).unwrap().id, 1);
        assert!(login("USER1@example.com", "abcxyz", true).is_none());
        assert!(login(" user1", "abcxyz", false).is_none());
    }
}
