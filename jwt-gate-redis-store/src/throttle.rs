//! [`ThrottleStore`] for [`RedisStore`]: failed logins counted in Redis, so that every instance
//! of an application sees the same counts.
//!
//! Each throttle key (`user:<name>`, `ip:<addr>`) is one sorted set
//! `{<prefix>:throttle:<key>}` of failure times (Unix ms, the caller's clock) as scores, and
//! each operation is one Lua script over that one key.

use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use jwt_gate::revocation::StoreFuture;
use jwt_gate::{StoreError, ThrottleStore};
use redis::{RedisError, Script};

use crate::store::RedisStore;

/// At most this many failures are kept per key (the newest): jwt-gate's memory store keeps as
/// many, enough to count beyond any sensible limit, bounded whatever an attacker sends.
pub(crate) const MAX_FAILURES_PER_KEY: u64 = 1024;

/// How long a set outlives its newest failure's window, in ms: Redis expires keys on its own
/// clock, and the grace keeps a set alive while an application clock that runs behind the
/// server's still counts it.
pub(crate) const EXPIRY_GRACE_MS: i64 = 60_000;

/// The longest `PEXPIRE` sent (about 100 years): Redis refuses TTLs that overflow its clock,
/// so absurd windows are clamped rather than turned into errors.
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 3_600_000;

/// `record_failure`: `KEYS[1]` the set; `ARGV[1]` now (ms), `ARGV[2]` a unique member,
/// `ARGV[3]` the horizon (now − window: failures at or before it have left the window),
/// `ARGV[4]` the cap, `ARGV[5]` the TTL in ms.
///
/// Adds the failure, drops the failures that left the window, keeps the newest `cap`, and
/// (re)sets the TTL: a set lives as long as its newest failure can count, plus a grace.
static RECORD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
",
    )
});

/// `failures`: `KEYS[1]` the set; `ARGV[1]` the horizon (now − window). Drops the failures
/// that left the window and returns `{count, oldest}` (`oldest` nil when none is left).
static FAILURES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if count == 0 then
  return {0, false}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {count, tonumber(oldest[2])}
",
    )
});

/// The name of the set of throttle key `key` under `prefix`: `{<prefix>:throttle:<key>}`.
///
/// The kind tag `throttle` differs from the revocation kinds (`jti`, `fam`, `id`), so the
/// names never collide with them; the braces make the whole name its Redis Cluster hash tag.
pub(crate) fn throttle_key(prefix: &str, key: &str) -> String {
    format!("{{{prefix}:throttle:{key}}}")
}

/// A member no other failure uses: `<now_ms>-<process seed>-<counter>`. The counter keeps the
/// members of this process apart, the random 64-bit seed those of other instances, so that
/// failures at the same millisecond all count.
fn unique_member(now_ms: i64) -> String {
    static SEED: LazyLock<u64> = LazyLock::new(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        RandomState::new().hash_one((nanos, std::process::id()))
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{now_ms}-{:016x}-{n}", *SEED)
}

/// The `PEXPIRE` of a set whose newest failure counts for `window_ms`.
fn ttl_ms(window_ms: i64) -> i64 {
    window_ms
        .saturating_add(EXPIRY_GRACE_MS)
        .clamp(1, MAX_TTL_MS)
}

/// A Redis failure as a store failure, as the revocation calls map them: timeouts as
/// [`StoreError::Timeout`], the rest as [`StoreError::Unavailable`]. Both fail closed.
fn store_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Timeout
    } else {
        StoreError::unavailable(error)
    }
}

impl RedisStore {
    /// Runs a one-key throttle script with `args` and reads its reply.
    async fn run_throttle<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        key: &str,
        args: &[&str],
    ) -> Result<T, StoreError> {
        let mut invocation = script.key(throttle_key(self.prefix(), key));
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.manager().clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store_error)
    }
}

/// Failed logins shared by every instance: hand a clone of the store to
/// [`LoginThrottle::with_store`](jwt_gate::LoginThrottle::with_store).
///
/// Every call is one script (`EVALSHA`) over one sorted set, so concurrent failures on several
/// instances are all counted and never interleave with a count. Times come from the caller
/// (jwt-gate's clock), never from Redis `TIME`; only the set's TTL runs on the server's clock.
/// Timeouts fail with [`StoreError::Timeout`], other Redis errors with
/// [`StoreError::Unavailable`]; jwt-gate answers both with a 503 (fail closed).
impl ThrottleStore for RedisStore {
    /// `ZADD` of `<now_ms>-<random>` scored `now_ms`, the failures that left the window
    /// dropped, the newest 1024 kept, `PEXPIRE` of the window plus 60 s; one script.
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let now = now_ms.to_string();
            let member = unique_member(now_ms);
            let horizon = now_ms.saturating_sub(window_ms).to_string();
            let cap = MAX_FAILURES_PER_KEY.to_string();
            let ttl = ttl_ms(window_ms).to_string();
            self.run_throttle::<i64>(&RECORD_FAILURE, key, &[&now, &member, &horizon, &cap, &ttl])
                .await
                .map(drop)
        })
    }

    /// Drops the failures that left the window, then `ZCARD` and the lowest score; one script.
    fn failures<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
        window_ms: i64,
    ) -> StoreFuture<'a, (u64, Option<i64>)> {
        Box::pin(async move {
            let horizon = now_ms.saturating_sub(window_ms).to_string();
            self.run_throttle(&FAILURES, key, &[&horizon]).await
        })
    }

    /// `DEL` of the key's set.
    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.manager().clone();
            redis::cmd("DEL")
                .arg(throttle_key(self.prefix(), key))
                .query_async::<i64>(&mut connection)
                .await
                .map(drop)
                .map_err(store_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_keys_are_whole_hash_tags() {
        assert_eq!(
            throttle_key("jwt-gate", "user:joe"),
            "{jwt-gate:throttle:user:joe}"
        );
        assert_eq!(
            throttle_key("app", "ip:2001:db8::1"),
            "{app:throttle:ip:2001:db8::1}"
        );
        // Never a revocation key: those are `{<prefix>:jti:`, `fam:` or `id:`.
        for kind in ["jti", "fam", "id"] {
            assert!(!throttle_key("p", "x").starts_with(&format!("{{p:{kind}:")));
        }
    }

    #[test]
    fn members_are_unique_even_in_one_millisecond() {
        let a = unique_member(1_700_000_000_000);
        let b = unique_member(1_700_000_000_000);
        assert_ne!(a, b);
        assert!(a.starts_with("1700000000000-"), "{a}");
    }

    #[test]
    fn ttls_cover_the_window_and_stay_in_range() {
        assert_eq!(ttl_ms(60_000), 60_000 + EXPIRY_GRACE_MS);
        assert_eq!(ttl_ms(i64::MAX), MAX_TTL_MS);
        assert_eq!(ttl_ms(i64::MIN), 1);
    }

    #[test]
    fn timeouts_are_store_timeouts() {
        let timeout = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(matches!(store_error(timeout), StoreError::Timeout));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(store_error(refused), StoreError::Unavailable(_)));
    }
}
