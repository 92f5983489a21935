//! Login throttling: a rolling window of failed logins per username and per client IP.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use http::request::Parts;

use crate::revocation::{StoreError, StoreFuture, ready};

/// Where failed logins are counted. Object safe, held as `Arc<dyn ThrottleStore>`:
/// [`MemoryThrottleStore`] for one instance, `RedisStore` (crate `jwt-gate-redis-store`) to
/// share the counts between instances.
///
/// Times are milliseconds since the Unix epoch from the [`Jwt`](crate::Jwt)'s clock.
pub trait ThrottleStore: Send + Sync + fmt::Debug + 'static {
    /// Records one failure of `key` at `now_ms`; the failure counts for `window_ms`.
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreFuture<'a, ()>;

    /// The failures of `key` within the window that ends at `now_ms`: how many, and when the
    /// oldest of them happened.
    fn failures<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreFuture<'a, (u64, Option<i64>)>;

    /// Forgets the failures of `key` (after a successful login).
    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

/// Failed logins counted in this process, bounded.
///
/// At most [`MemoryThrottleStore::DEFAULT_KEYS`] keys (usernames and IPs); when full, keys
/// whose failures all left the window are dropped first, and when still full the login fails
/// closed (503) rather than forgetting failures.
#[derive(Debug)]
pub struct MemoryThrottleStore {
    max_keys: usize,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

/// At most this many failures are remembered per key (by every [`ThrottleStore`]): enough to
/// count beyond any sensible limit, bounded whatever an attacker sends. Limits are capped to it.
pub const MAX_FAILURES_PER_KEY: usize = 1024;

impl MemoryThrottleStore {
    /// The default bound on keys.
    pub const DEFAULT_KEYS: usize = 100_000;

    /// An empty store bounded to [`DEFAULT_KEYS`](Self::DEFAULT_KEYS) keys.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_keys(Self::DEFAULT_KEYS)
    }

    /// An empty store bounded to `max_keys` keys.
    #[must_use]
    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            max_keys,
            failures: Mutex::new(HashMap::new()),
        }
    }
}

impl Default for MemoryThrottleStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ThrottleStore for MemoryThrottleStore {
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreFuture<'a, ()> {
        // Each update is one push or pop: a poisoned lock still holds a consistent map.
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if !failures.contains_key(key) && failures.len() >= self.max_keys {
            let horizon = now_ms.saturating_sub(window_ms);
            failures.retain(|_, times| times.back().is_some_and(|&t| t > horizon));
            if failures.len() >= self.max_keys {
                return ready(Err(StoreError::Full));
            }
        }
        let times = failures.entry(key.to_owned()).or_default();
        if times.len() >= MAX_FAILURES_PER_KEY {
            times.pop_front();
        }
        times.push_back(now_ms);
        ready(Ok(()))
    }

    fn failures<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreFuture<'a, (u64, Option<i64>)> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let horizon = now_ms.saturating_sub(window_ms);
        let Some(times) = failures.get_mut(key) else {
            return ready(Ok((0, None)));
        };
        while times.front().is_some_and(|&t| t <= horizon) {
            times.pop_front();
        }
        let count = times.len() as u64;
        let oldest = times.front().copied();
        if times.is_empty() {
            failures.remove(key);
        }
        ready(Ok((count, oldest)))
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        ready(Ok(()))
    }
}

/// Login throttling, switched on with [`JwtBuilder::login_throttle`](crate::JwtBuilder::login_throttle).
///
/// In a rolling window (60 s by default), at most `n` failed logins per username and `5 n` per
/// client IP; beyond that the login answers 429 `Too many failed login attempts; retry later`
/// with `Retry-After` (whole seconds until the oldest failure leaves the window, at least 1),
/// whatever the password. A successful login clears its username's window. Malformed bodies
/// (400, 413, 415) and bodies without usable credentials count for the IP only.
///
/// The client IP is the socket peer (from axum's `ConnectInfo<SocketAddr>`, which
/// [`serve`](crate::serve) and `into_make_service_with_connect_info` provide); behind proxies
/// listed with [`with_trusted_proxies`](Self::with_trusted_proxies) it is the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy.
///
/// ```
/// use jwt_gate::LoginThrottle;
/// let throttle = LoginThrottle::new(5); // 5 failures per username, 25 per IP, per minute
/// ```
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    per_username: u64,
    per_ip: u64,
    window: Duration,
    store: Arc<dyn ThrottleStore>,
    trusted_proxies: Vec<IpAddr>,
    fold_ascii_case: bool,
}

impl LoginThrottle {
    /// At most `failures` failed logins per username and `5 × failures` per client IP per
    /// minute, counted in a [`MemoryThrottleStore`]. Both limits are capped to
    /// [`MAX_FAILURES_PER_KEY`], the most failures a store remembers per key.
    #[must_use]
    pub fn new(failures: u32) -> Self {
        let cap = MAX_FAILURES_PER_KEY as u64;
        let per_username = u64::from(failures.max(1)).min(cap);
        Self {
            per_username,
            per_ip: per_username.saturating_mul(5).min(cap),
            window: Duration::from_secs(60),
            store: Arc::new(MemoryThrottleStore::new()),
            trusted_proxies: Vec::new(),
            fold_ascii_case: false,
        }
    }

    /// Counts usernames that differ only in ASCII case as one (for logins that match them
    /// that way, such as emails), so that `Joe@x` and `joe@x` share one window.
    #[must_use]
    pub fn with_ascii_case_insensitive_usernames(mut self) -> Self {
        self.fold_ascii_case = true;
        self
    }

    /// The store key of a username.
    pub(crate) fn username_key(&self, username: &str) -> String {
        if self.fold_ascii_case {
            format!("user:{}", username.to_ascii_lowercase())
        } else {
            format!("user:{username}")
        }
    }

    /// Counts failures in `store` (e.g. Redis, to share them between instances).
    #[must_use]
    pub fn with_store(mut self, store: Arc<dyn ThrottleStore>) -> Self {
        self.store = store;
        self
    }

    /// The length of the rolling window (default 60 s).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_secs(1));
        self
    }

    /// Proxies whose `X-Forwarded-For` is believed (default: none, the peer address counts).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    pub(crate) fn store(&self) -> &dyn ThrottleStore {
        &*self.store
    }

    pub(crate) fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }

    pub(crate) fn username_limit(&self) -> u64 {
        self.per_username
    }

    pub(crate) fn ip_limit(&self) -> u64 {
        self.per_ip
    }

    /// The store key of the request's client IP.
    pub(crate) fn ip_key(&self, request: &Parts) -> String {
        let peer = request
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let client = match peer {
            Some(peer) if self.trusted_proxies.contains(&peer) => {
                forwarded_client(request, &self.trusted_proxies).unwrap_or(peer)
            }
            Some(peer) => peer,
            None => return "ip:unknown".to_owned(),
        };
        format!("ip:{client}")
    }
}

/// The right-most `X-Forwarded-For` address that is not a trusted proxy.
fn forwarded_client(request: &Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut chain: Vec<IpAddr> = Vec::new();
    for value in request.headers.get_all("x-forwarded-for") {
        let value = value.to_str().ok()?;
        for entry in value.split(',') {
            chain.push(entry.trim().parse().ok()?);
        }
    }
    chain.into_iter().rev().find(|ip| !trusted.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_leave_the_window() {
        let store = MemoryThrottleStore::new();
        store.record_failure("k", 1_000, 60_000).await.unwrap();
        store.record_failure("k", 2_000, 60_000).await.unwrap();
        assert_eq!(
            store.failures("k", 3_000, 60_000).await.unwrap(),
            (2, Some(1_000))
        );
        assert_eq!(
            store.failures("k", 61_000, 60_000).await.unwrap(),
            (1, Some(2_000))
        );
        assert_eq!(
            store.failures("k", 62_000, 60_000).await.unwrap(),
            (0, None)
        );
        store.record_failure("k", 70_000, 60_000).await.unwrap();
        store.clear("k").await.unwrap();
        assert_eq!(
            store.failures("k", 70_001, 60_000).await.unwrap(),
            (0, None)
        );
    }

    #[tokio::test]
    async fn the_store_is_bounded() {
        let store = MemoryThrottleStore::with_max_keys(2);
        store.record_failure("a", 0, 1_000).await.unwrap();
        store.record_failure("b", 0, 1_000).await.unwrap();
        assert!(matches!(
            store.record_failure("c", 10, 1_000).await,
            Err(StoreError::Full)
        ));
        // Once a's and b's failures left the window there is room again.
        store.record_failure("c", 2_000, 1_000).await.unwrap();
        for i in 0..2_000 {
            store
                .record_failure("c", 2_000 + i, 1_000_000)
                .await
                .unwrap();
        }
        let (count, _) = store.failures("c", 5_000, 1_000_000).await.unwrap();
        assert_eq!(count, MAX_FAILURES_PER_KEY as u64);
    }

    #[test]
    fn limits_never_exceed_what_a_store_remembers() {
        let throttle = LoginThrottle::new(1000);
        assert_eq!(throttle.username_limit(), 1000);
        assert_eq!(throttle.ip_limit(), MAX_FAILURES_PER_KEY as u64);
        assert_eq!(
            LoginThrottle::new(5000).username_limit(),
            MAX_FAILURES_PER_KEY as u64
        );
        assert_eq!(LoginThrottle::new(0).username_limit(), 1);
    }

    #[test]
    fn usernames_fold_ascii_case_only_when_asked() {
        let exact = LoginThrottle::new(1);
        assert_ne!(exact.username_key("Joe@X"), exact.username_key("joe@x"));
        let folded = LoginThrottle::new(1).with_ascii_case_insensitive_usernames();
        assert_eq!(folded.username_key("Joe@X"), folded.username_key("joe@x"));
        assert_ne!(folded.username_key("É@x"), folded.username_key("é@x"));
    }

    fn parts(peer: &str, forwarded: &[&str]) -> Parts {
        let mut request = http::Request::new(());
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        for value in forwarded {
            request
                .headers_mut()
                .append("x-forwarded-for", value.parse().unwrap());
        }
        request.into_parts().0
    }

    #[test]
    fn client_ip_is_the_peer_unless_a_trusted_proxy_forwards() {
        let throttle = LoginThrottle::new(3);
        assert_eq!(
            throttle.ip_key(&parts("10.0.0.9:5000", &["1.2.3.4"])),
            "ip:10.0.0.9"
        );
        let proxied = throttle
            .with_trusted_proxies(["10.0.0.9".parse().unwrap(), "10.0.0.8".parse().unwrap()]);
        assert_eq!(
            proxied.ip_key(&parts("10.0.0.9:5000", &["6.6.6.6, 1.2.3.4", "10.0.0.8"])),
            "ip:1.2.3.4"
        );
        assert_eq!(proxied.ip_key(&parts("10.0.0.9:5000", &[])), "ip:10.0.0.9");
        assert_eq!(
            proxied.ip_key(&parts("10.0.0.9:5000", &["garbage"])),
            "ip:10.0.0.9"
        );
        assert_eq!(
            proxied.ip_key(&parts("5.5.5.5:1", &["1.2.3.4"])),
            "ip:5.5.5.5"
        );
        assert_eq!(
            proxied.ip_key(&http::Request::new(()).into_parts().0),
            "ip:unknown"
        );
    }
}
