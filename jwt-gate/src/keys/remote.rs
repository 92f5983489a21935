//! [`RemoteKeys`]: the keys of another service, fetched over HTTP(S) from its JWKS (RFC 7517),
//! directly or through OpenID Connect discovery, for a service that only verifies tokens.
//!
//! The keys are cached for the response's `Cache-Control: max-age` (default 300 s, at most 24 h)
//! and refreshed in the background once that has passed, while verification goes on with the
//! cached keys. A token naming a `kid` the cache lacks (the issuer has rotated its keys) fetches
//! the keys again at once, but at most once per
//! [`min_refresh_interval`](RemoteKeysBuilder::min_refresh_interval) (default 10 s): anyone can
//! send unknown `kid`s. A failed fetch keeps the last good keys for
//! [`stale_if_error`](RemoteKeysBuilder::stale_if_error) (default 1 h) after they expire; after
//! that every token is refused until a fetch succeeds. Verification never waits on the network:
//! the hot path reads the cache, and every request has a [timeout](RemoteKeysBuilder::timeout)
//! and a [size limit](RemoteKeysBuilder::max_response_bytes).
//!
//! With [`RemoteKeys::discover`], the `Jwt` requires the issuer as `iss` of every token, and
//! requires an audience to be configured (without one, a token the issuer made for any other
//! application would be accepted here).
//!
//! Requires the `remote-keys` feature. The client is reqwest on rustls (aws-lc-rs), trusting the
//! platform's certificate store; it honours the `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`
//! environment variables, follows at most 3 redirects and never from `https` to `http`.
//!
//! ```no_run
//! use jwt_gate::keys::remote::RemoteKeys;
//! use jwt_gate::{Claims, Credentials, CurrentIdentity, Identity, Jwt, JwtConfig};
//!
//! #[derive(Clone)]
//! struct User { id: String }
//! impl Identity for User {
//!     type Id = String;
//!     fn id(&self) -> String { self.id.clone() }
//! }
//!
//! async fn protected(CurrentIdentity(user): CurrentIdentity<User>) -> String {
//!     format!("hello {}", user.id)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = RemoteKeys::discover("https://issuer.example").build()?;
//! // Optional: fail at start-up rather than refuse the first tokens if the issuer is down.
//! keys.refresh_now().await?;
//!
//! let mut config = JwtConfig::default();
//! config.audience = vec!["my-api".into()];
//! let jwt = Jwt::builder_with_key_source(keys)
//!     .config(config)
//!     // This service has no login route: nobody logs in here.
//!     .authenticate(|_: Credentials| async { Ok::<_, std::io::Error>(None) })
//!     // The user is whoever the issuer says the token's `identity` claim names.
//!     .identity(|claims: Claims<String>| async move {
//!         Ok::<_, std::io::Error>(Some(User { id: claims.identity }))
//!     })
//!     .build()?;
//!
//! let app = axum::Router::new()
//!     .route("/protected", axum::routing::get(protected))
//!     .with_state(jwt);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

use std::error::Error as _;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use http::HeaderMap;
use http::header::{ACCEPT, AGE, CACHE_CONTROL};
use reqwest::{Url, redirect};
use serde_json::Value;

use super::{Key, KeySource, Keys};
use crate::clock::Clock;
use crate::error::ConfigError;

/// The longest a response's `Cache-Control: max-age` keeps the keys.
const MAX_CACHE_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Redirects followed per request.
const MAX_REDIRECTS: usize = 3;
/// The path OpenID Connect discovery appends to the issuer.
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// A [`KeySource`] whose keys are fetched over HTTP(S) from a JWKS, directly
/// ([`jwks`](Self::jwks)) or found through OpenID Connect discovery
/// ([`discover`](Self::discover)); see the [module documentation](self).
///
/// Cheap to clone: clones share the cache.
#[derive(Clone)]
pub struct RemoteKeys {
    inner: Arc<Inner>,
}

/// Settings of a [`RemoteKeys`], from [`RemoteKeys::jwks`] or [`RemoteKeys::discover`].
#[must_use = "a builder does nothing until build() is called"]
#[derive(Debug)]
pub struct RemoteKeysBuilder {
    target: TargetSpec,
    settings: Settings,
    clock: Option<Arc<dyn Clock>>,
}

/// Why the keys could not be fetched. The current keys stay in place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteKeysError {
    /// No connection, or the connection failed before a complete response.
    #[error("{url}: unreachable: {reason}")]
    Unreachable {
        /// The URL requested (without credentials).
        url: String,
        /// What failed.
        reason: String,
    },
    /// No complete response within the [timeout](RemoteKeysBuilder::timeout).
    #[error("{url}: no complete response within {timeout:?}")]
    Timeout {
        /// The URL requested (without credentials).
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// A redirect that is not followed: more than 3, or from `https` to `http`.
    #[error("{url}: redirect refused: {reason}")]
    Redirect {
        /// The URL requested (without credentials).
        url: String,
        /// Why.
        reason: String,
    },
    /// An HTTP status other than 2xx.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL requested (without credentials).
        url: String,
        /// The status code.
        status: u16,
    },
    /// A response larger than [`max_response_bytes`](RemoteKeysBuilder::max_response_bytes).
    #[error("{url}: the response is larger than {limit} bytes")]
    TooLarge {
        /// The URL requested (without credentials).
        url: String,
        /// The limit.
        limit: usize,
    },
    /// A response body that is not JSON.
    #[error("{url}: the response is not JSON: {reason}")]
    NotJson {
        /// The URL requested (without credentials).
        url: String,
        /// The parser's message (it never quotes the body).
        reason: String,
    },
    /// JSON that is not a JWK Set with at least one usable key, or with two keys of one `kid`.
    #[error("{url}: not a usable JWK Set: {reason}")]
    NotJwks {
        /// The URL requested (without credentials).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// JSON that is not an OpenID Connect discovery document: no `issuer`, no usable
    /// `jwks_uri`.
    #[error("{url}: not an OpenID Connect discovery document: {reason}")]
    NotDiscovery {
        /// The URL requested (without credentials).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The discovery document names another issuer than the one discovered (OpenID Connect
    /// Discovery §4.3: they must be identical).
    #[error("{url}: the discovery document names the issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        /// The URL requested (without credentials).
        url: String,
        /// The issuer given to [`RemoteKeys::discover`].
        expected: String,
        /// The document's `issuer`.
        found: String,
    },
}

#[derive(Clone, Debug)]
struct Settings {
    min_refresh_interval: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    default_max_age: Duration,
    stale_if_error: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            min_refresh_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            max_response_bytes: 256 * 1024,
            default_max_age: Duration::from_secs(300),
            stale_if_error: Duration::from_secs(60 * 60),
        }
    }
}

/// What the builder was given, parsed by `build`.
#[derive(Debug)]
enum TargetSpec {
    Jwks(String),
    Discover(String),
}

/// Where the keys come from.
#[derive(Debug)]
enum Target {
    Jwks(Url),
    Discover {
        /// Exactly as given: the discovery document and every token must name it.
        issuer: String,
        configuration: Url,
    },
}

/// Monotonic time since the source was built: an [`Instant`], or an injected [`Clock`] (tests).
#[derive(Debug)]
enum Ticker {
    Monotonic(Instant),
    Clock {
        clock: Arc<dyn Clock>,
        base: SystemTime,
    },
}

impl Ticker {
    fn now(&self) -> Duration {
        match self {
            Self::Monotonic(base) => base.elapsed(),
            Self::Clock { clock, base } => clock.now().duration_since(*base).unwrap_or_default(),
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

struct Inner {
    target: Target,
    settings: Settings,
    client: reqwest::Client,
    ticker: Ticker,
    /// The last good keys (an empty ring before the first).
    keys: ArcSwap<Keys>,
    /// What [`KeySource::keys`] answers once the last good keys are too old to use.
    empty: Keys,
    /// Nanoseconds of the ticker before which the cached keys are fresh.
    fresh_until: AtomicU64,
    /// Nanoseconds of the ticker before which the cached keys are used (fresh, or stale while
    /// fetching fails).
    usable_until: AtomicU64,
    /// One more than the nanoseconds of the ticker when the last fetch started; 0: never.
    last_attempt: AtomicU64,
    /// Whether a background refresh is spawned and not yet done.
    background: AtomicBool,
    /// Held for the whole of a fetch: one at a time, and concurrent callers wait for it.
    fetching: tokio::sync::Mutex<()>,
}

impl RemoteKeys {
    /// A source fetching the JWKS at `url` (http or https). Its tokens' issuer is not known:
    /// set [`JwtConfig::issuer`](crate::JwtConfig::issuer) and
    /// [`audience`](crate::JwtConfig::audience) yourself if the issuer serves other
    /// applications.
    pub fn jwks(url: impl Into<String>) -> RemoteKeysBuilder {
        RemoteKeysBuilder::new(TargetSpec::Jwks(url.into()))
    }

    /// A source for the OpenID Connect provider `issuer`: each fetch reads
    /// `{issuer}/.well-known/openid-configuration`, checks that its `issuer` is exactly the one
    /// given, and fetches the JWKS at its `jwks_uri` (which must be https when the issuer is).
    /// The [`Jwt`](crate::Jwt) built on it requires `iss` to be `issuer`, and an audience.
    pub fn discover(issuer: impl Into<String>) -> RemoteKeysBuilder {
        RemoteKeysBuilder::new(TargetSpec::Discover(issuer.into()))
    }

    /// Fetches the keys now, whatever the rate limit (at start-up, say); waits for a fetch
    /// already under way to end first.
    ///
    /// # Errors
    /// [`RemoteKeysError`] when the keys cannot be fetched; the current keys stay in place.
    pub async fn refresh_now(&self) -> Result<(), RemoteKeysError> {
        let _fetching = self.inner.fetching.lock().await;
        self.inner.fetch().await
    }

    /// Starts one background refresh, unless one is under way, a fetch started less than
    /// `min_refresh_interval` ago, or there is no Tokio runtime here.
    fn spawn_refresh(&self, now: Duration) {
        if !self.inner.due(now) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self
            .inner
            .background
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        // Made before the task: a task dropped unpolled (a runtime shutting down) clears the
        // flag too.
        let done = BackgroundDone(Arc::clone(&self.inner));
        runtime.spawn(async move {
            let inner = &*done.0;
            let _fetching = inner.fetching.lock().await;
            // Another fetch may have ended while this one waited.
            let now = inner.ticker.now();
            if nanos(now) < inner.fresh_until.load(Ordering::SeqCst) || !inner.due(now) {
                return;
            }
            if let Err(error) = inner.fetch().await {
                inner.log_failure(&error);
            }
        });
    }
}

/// Clears the background flag when the task ends, even by a panic or cancellation.
struct BackgroundDone(Arc<Inner>);

impl Drop for BackgroundDone {
    fn drop(&mut self) {
        self.0.background.store(false, Ordering::SeqCst);
    }
}

impl KeySource for RemoteKeys {
    fn keys(&self) -> Keys {
        let inner = &*self.inner;
        let now = inner.ticker.now();
        let at = nanos(now);
        if at >= inner.fresh_until.load(Ordering::SeqCst) {
            // Expired: revalidate in the background, answer with what is cached meanwhile.
            self.spawn_refresh(now);
            if at >= inner.usable_until.load(Ordering::SeqCst) {
                return inner.empty.clone();
            }
        }
        Keys::clone(&inner.keys.load())
    }

    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let inner = &*self.inner;
            // Waits for a fetch under way (which then counts as the refresh).
            let _fetching = inner.fetching.lock().await;
            if !inner.due(inner.ticker.now()) {
                return;
            }
            if let Err(error) = inner.fetch().await {
                inner.log_failure(&error);
            }
        })
    }

    fn issuer(&self) -> Option<&str> {
        match &self.inner.target {
            Target::Discover { issuer, .. } => Some(issuer),
            Target::Jwks(_) => None,
        }
    }
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut debug = f.debug_struct("RemoteKeys");
        match &inner.target {
            Target::Jwks(url) => debug.field("jwks", &shown(url)),
            Target::Discover { issuer, .. } => debug.field("issuer", issuer),
        };
        debug
            .field("settings", &inner.settings)
            .field("keys", &**inner.keys.load())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Whether the last fetch started at least `min_refresh_interval` before `now`.
    fn due(&self, now: Duration) -> bool {
        match self.last_attempt.load(Ordering::SeqCst) {
            0 => true,
            started => {
                nanos(now).saturating_sub(started - 1) >= nanos(self.settings.min_refresh_interval)
            }
        }
    }

    /// One fetch; the caller holds `fetching`.
    async fn fetch(&self) -> Result<(), RemoteKeysError> {
        let started = self.ticker.now();
        self.last_attempt
            .store(nanos(started).saturating_add(1), Ordering::SeqCst);
        match self.download().await {
            Ok((keys, lifetime)) => {
                let fresh_until = started.saturating_add(lifetime);
                tracing::debug!(
                    keys = keys.iter().count(),
                    fresh_for = ?lifetime,
                    "jwt-gate: fetched the remote keys"
                );
                // The keys first: a reader that sees the new deadlines sees them.
                self.keys.store(Arc::new(keys));
                self.usable_until.store(
                    nanos(fresh_until.saturating_add(self.settings.stale_if_error)),
                    Ordering::SeqCst,
                );
                self.fresh_until.store(nanos(fresh_until), Ordering::SeqCst);
                Ok(())
            }
            Err(error) => {
                if nanos(self.ticker.now()) >= self.usable_until.load(Ordering::SeqCst) {
                    self.keys.store(Arc::new(self.empty.clone()));
                }
                Err(error)
            }
        }
    }

    fn log_failure(&self, error: &RemoteKeysError) {
        if nanos(self.ticker.now()) < self.usable_until.load(Ordering::SeqCst) {
            tracing::warn!(%error, "jwt-gate: could not refresh the remote keys; verifying with the cached ones");
        } else {
            tracing::warn!(%error, "jwt-gate: could not fetch the remote keys; every token is refused until a fetch succeeds");
        }
    }

    /// The keys, and how long they are fresh.
    async fn download(&self) -> Result<(Keys, Duration), RemoteKeysError> {
        let discovered;
        let url = match &self.target {
            Target::Jwks(url) => url,
            Target::Discover {
                issuer,
                configuration,
            } => {
                discovered = self.discover(issuer, configuration).await?;
                &discovered
            }
        };
        let (body, headers) = self.get(url).await?;
        let keys = parse_jwks(&body, url)?;
        Ok((keys, self.lifetime(&headers)))
    }

    /// The `jwks_uri` of `issuer`'s discovery document at `configuration`.
    async fn discover(&self, issuer: &str, configuration: &Url) -> Result<Url, RemoteKeysError> {
        let (body, _) = self.get(configuration).await?;
        let url = shown(configuration);
        let fail = |reason: &str| RemoteKeysError::NotDiscovery {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        let document: Value =
            serde_json::from_slice(&body).map_err(|error| RemoteKeysError::NotJson {
                url: url.clone(),
                reason: error.to_string(),
            })?;
        let found = document
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("no \"issuer\" string"))?;
        if found != issuer {
            return Err(RemoteKeysError::IssuerMismatch {
                url,
                expected: issuer.to_owned(),
                found: found.chars().take(200).collect(),
            });
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("no \"jwks_uri\" string"))?;
        let jwks_uri = Url::parse(jwks_uri).map_err(|_| fail("\"jwks_uri\" is not a URL"))?;
        match (configuration.scheme(), jwks_uri.scheme()) {
            ("https", "https") | ("http", "http" | "https") => Ok(jwks_uri),
            ("https", "http") => Err(fail("\"jwks_uri\" is http for an https issuer")),
            _ => Err(fail("\"jwks_uri\" is not an http or https URL")),
        }
    }

    /// The body (at most `max_response_bytes`) and headers of a 2xx answer to `GET url`.
    async fn get(&self, url: &Url) -> Result<(Vec<u8>, HeaderMap), RemoteKeysError> {
        let limit = self.settings.max_response_bytes;
        let too_large = || RemoteKeysError::TooLarge {
            url: shown(url),
            limit,
        };
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|error| self.transport(error, url))?;
        let status = response.status();
        if !status.is_success() {
            return Err(RemoteKeysError::Status {
                url: shown(url),
                status: status.as_u16(),
            });
        }
        let announced = response.content_length();
        if announced.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
            return Err(too_large());
        }
        let capacity = announced
            .and_then(|length| usize::try_from(length).ok())
            .unwrap_or(0)
            .min(limit);
        let mut body = Vec::with_capacity(capacity);
        // Streamed: a body without a length (or lying about it) stops at the limit.
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.transport(error, url))?
        {
            if chunk.len() > limit - body.len() {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, response.headers().clone()))
    }

    fn transport(&self, error: reqwest::Error, url: &Url) -> RemoteKeysError {
        let url = shown(url);
        if error.is_timeout() {
            return RemoteKeysError::Timeout {
                url,
                timeout: self.settings.timeout,
            };
        }
        let redirect = error.is_redirect();
        // The message and its causes, without the URL (given once, without credentials).
        let error = error.without_url();
        let mut reason = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        if redirect {
            RemoteKeysError::Redirect { url, reason }
        } else {
            RemoteKeysError::Unreachable { url, reason }
        }
    }

    /// How long a response with `headers` is fresh: its `max-age` (at most 24 h) less its
    /// `Age`, else `default_max_age`; never under `min_refresh_interval`.
    fn lifetime(&self, headers: &HeaderMap) -> Duration {
        let max_age = cache_max_age(headers).unwrap_or(self.settings.default_max_age);
        let age = headers
            .get(AGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map_or(Duration::ZERO, Duration::from_secs);
        max_age
            .saturating_sub(age)
            .max(self.settings.min_refresh_interval)
    }
}

/// The freshness lifetime that `Cache-Control` gives: zero for `no-cache` or `no-store`, else
/// `max-age` (at most 24 h; an invalid one is zero, RFC 9111 §4.2.1); `None` without either.
fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            return Some(Duration::ZERO);
        };
        for directive in value.split(',') {
            let (name, argument) = directive
                .split_once('=')
                .map_or((directive, None), |(name, arg)| (name, Some(arg)));
            let name = name.trim();
            if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                let seconds = argument
                    .map(|arg| arg.trim().trim_matches('"'))
                    .filter(|arg| !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()))
                    // All digits: only an overflow fails, and means "very long".
                    .map_or(0, |arg| arg.parse::<u64>().unwrap_or(u64::MAX));
                max_age = Some(Duration::from_secs(seconds).min(MAX_CACHE_LIFETIME));
            }
        }
    }
    max_age
}

/// The usable keys of a JWKS document; the others are skipped with a warning.
fn parse_jwks(body: &[u8], url: &Url) -> Result<Keys, RemoteKeysError> {
    let fail = |reason: String| RemoteKeysError::NotJwks {
        url: shown(url),
        reason,
    };
    let document: Value =
        serde_json::from_slice(body).map_err(|error| RemoteKeysError::NotJson {
            url: shown(url),
            reason: error.to_string(),
        })?;
    let listed = match document.get("keys") {
        Some(Value::Array(listed)) => listed,
        Some(_) => return Err(fail("\"keys\" is not an array".to_owned())),
        None => return Err(fail("no \"keys\" member".to_owned())),
    };
    let mut keys = Vec::with_capacity(listed.len());
    for (index, jwk) in listed.iter().enumerate() {
        match Key::from_jwk(jwk) {
            Ok(key) => keys.push(key),
            // The reason names what is wrong, never the key material.
            Err(error) => {
                let kid = jwk.get("kid").and_then(|kid| kid.as_str());
                tracing::warn!(
                    url = %shown(url),
                    index,
                    kid = ?kid,
                    %error,
                    "jwt-gate: skipped a key of the remote JWKS"
                );
            }
        }
    }
    if keys.is_empty() {
        return Err(fail(format!(
            "none of its {} keys is usable for verification",
            listed.len()
        )));
    }
    Keys::verify_only(keys).map_err(|error| fail(error.to_string()))
}

/// `url` without user name and password, for errors and logs.
fn shown(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut url = url.clone();
    // Only fails for URLs that cannot have credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

impl RemoteKeysBuilder {
    fn new(target: TargetSpec) -> Self {
        Self {
            target,
            settings: Settings::default(),
            clock: None,
        }
    }

    /// The shortest time between two fetches triggered by tokens naming an unknown `kid`
    /// (default 10 s), and the shortest time the keys are cached, whatever `Cache-Control`
    /// says. A token whose `kid` is still unknown within it is refused without a fetch.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.settings.min_refresh_interval = interval;
        self
    }

    /// The time allowed for each request, from connecting to the end of the body (default
    /// 5 s). Past it the fetch fails and the current keys stay.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The largest response body read (default 256 KiB); a larger one fails the fetch, and is
    /// not read past the limit.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_response_bytes = bytes;
        self
    }

    /// How long the keys are fresh when the JWKS response has no `Cache-Control: max-age`
    /// (default 300 s).
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.settings.default_max_age = max_age;
        self
    }

    /// How long after they expire the last good keys are still used while fetching fails
    /// (default 1 h). Past it every token is refused until a fetch succeeds.
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.settings.stale_if_error = window;
        self
    }

    /// The clock the cache's deadlines read instead of a monotonic [`Instant`]: for tests,
    /// with a [`FixedClock`](crate::FixedClock) moved by hand. Request timeouts keep real time.
    #[doc(hidden)]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the URL and builds the source. Nothing is fetched until the keys are first
    /// asked for (or [`refresh_now`](RemoteKeys::refresh_now)).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming `JWT_JWKS_URL` or `JWT_ISSUER` for a URL that does not
    /// parse or is not http or https, or if the HTTP client cannot be set up.
    pub fn build(self) -> Result<RemoteKeys, ConfigError> {
        let (setting, text) = match &self.target {
            TargetSpec::Jwks(url) => ("JWT_JWKS_URL", url),
            TargetSpec::Discover(issuer) => ("JWT_ISSUER", issuer),
        };
        let invalid = |reason: &str| ConfigError::invalid(setting, reason);
        let url = Url::parse(text).map_err(|error| invalid(&format!("not a URL: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(invalid("must be an http or https URL"));
        }
        let target = match self.target {
            TargetSpec::Jwks(_) => Target::Jwks(url),
            TargetSpec::Discover(issuer) => {
                let configuration = format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'));
                let configuration = Url::parse(&configuration)
                    .map_err(|error| invalid(&format!("not a URL: {error}")))?;
                Target::Discover {
                    issuer,
                    configuration,
                }
            }
        };
        let client = reqwest::Client::builder()
            .timeout(self.settings.timeout)
            .redirect(redirect::Policy::custom(|attempt| {
                let downgrade = attempt.url().scheme() == "http"
                    && attempt
                        .previous()
                        .last()
                        .is_some_and(|previous| previous.scheme() == "https");
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                } else if downgrade {
                    attempt.error("a redirect from https to http")
                } else {
                    attempt.follow()
                }
            }))
            .referer(false)
            .user_agent(concat!("jwt-gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| invalid(&format!("the HTTP client: {error}")))?;
        let ticker = match self.clock {
            Some(clock) => Ticker::Clock {
                base: clock.now(),
                clock,
            },
            None => Ticker::Monotonic(Instant::now()),
        };
        let empty = Keys::verify_only([])?;
        Ok(RemoteKeys {
            inner: Arc::new(Inner {
                target,
                settings: self.settings,
                client,
                ticker,
                keys: ArcSwap::from_pointee(empty.clone()),
                empty,
                fresh_until: AtomicU64::new(0),
                usable_until: AtomicU64::new(0),
                last_attempt: AtomicU64::new(0),
                background: AtomicBool::new(false),
                fetching: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn cache_control_max_age() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(cache_max_age(&headers(&[])), None);
        assert_eq!(cache_max_age(&headers(&["public"])), None);
        assert_eq!(cache_max_age(&headers(&["public, max-age=60"])), secs(60));
        assert_eq!(cache_max_age(&headers(&["Max-Age = \"60\" "])), secs(60));
        assert_eq!(
            cache_max_age(&headers(&["max-age=60", "no-cache"])),
            secs(0)
        );
        assert_eq!(cache_max_age(&headers(&["no-store, max-age=60"])), secs(0));
        assert_eq!(cache_max_age(&headers(&["max-age=-1"])), secs(0));
        assert_eq!(cache_max_age(&headers(&["max-age"])), secs(0));
        assert_eq!(
            cache_max_age(&headers(&["max-age=99999999999999999999999"])),
            Some(MAX_CACHE_LIFETIME)
        );
    }

    #[test]
    fn build_checks_the_url_without_fetching() {
        assert!(
            RemoteKeys::jwks("https://issuer.example/jwks.json")
                .build()
                .is_ok()
        );
        assert!(RemoteKeys::discover("http://127.0.0.1:1").build().is_ok());
        for bad in [
            "",
            "issuer.example",
            "ftp://issuer.example/jwks",
            "file:///etc/jwks",
        ] {
            let error = RemoteKeys::jwks(bad).build().unwrap_err();
            assert!(error.to_string().starts_with("JWT_JWKS_URL"), "{error}");
            let error = RemoteKeys::discover(bad).build().unwrap_err();
            assert!(error.to_string().starts_with("JWT_ISSUER"), "{error}");
        }
    }

    #[test]
    fn credentials_never_shown() {
        let url = Url::parse("https://user:pass@issuer.example/jwks").unwrap();
        assert_eq!(shown(&url), "https://issuer.example/jwks");
        let keys = RemoteKeys::jwks(url.as_str()).build().unwrap();
        assert!(!format!("{keys:?}").contains("pass"));
    }

    #[test]
    fn discovery_url_and_issuer() {
        let keys = RemoteKeys::discover("https://issuer.example/tenant/")
            .build()
            .unwrap();
        assert_eq!(keys.issuer(), Some("https://issuer.example/tenant/"));
        match &keys.inner.target {
            Target::Discover { configuration, .. } => assert_eq!(
                configuration.as_str(),
                "https://issuer.example/tenant/.well-known/openid-configuration"
            ),
            Target::Jwks(_) => panic!("discovery"),
        }
        let keys = RemoteKeys::jwks("https://issuer.example/jwks")
            .build()
            .unwrap();
        assert_eq!(keys.issuer(), None);
        assert_eq!(keys.keys().iter().count(), 0);
    }
}
