#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! A Redis [`RevocationStore`](jwt_gate::RevocationStore) for jwt-gate: revocations, logout-all
//! cut-offs and refresh-token families shared by every instance of an application; and a
//! [`ThrottleStore`](jwt_gate::ThrottleStore), so that login throttling counts failed logins
//! across instances too.
//!
//! ```no_run
//! use std::sync::Arc;
//! use jwt_gate::RevocationStore;
//! use jwt_gate_redis_store::RedisStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379/")
//!     .await?
//!     .with_prefix("myapp-jwt")?;
//! // Hand it to `JwtBuilder::revocation_store`.
//! let store: Arc<dyn RevocationStore> = Arc::new(store);
//! # let _ = store;
//! # Ok(())
//! # }
//! ```
//!
//! The same store (a clone shares the connection) counts failed logins for
//! [`LoginThrottle`](jwt_gate::LoginThrottle):
//!
//! ```no_run
//! use std::sync::Arc;
//! use jwt_gate::LoginThrottle;
//! use jwt_gate_redis_store::RedisStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
//! // Hand it to `JwtBuilder::login_throttle`.
//! let throttle = LoginThrottle::new(5).with_store(Arc::new(store.clone()));
//! # let _ = throttle;
//! # Ok(())
//! # }
//! ```
//!
//! # Persistence: read this before production
//!
//! A Redis without persistence loses every revocation when it restarts: logged-out sessions,
//! revoked tokens and revoked refresh-token families work again until they expire. Production
//! Redis needs AOF (`appendonly yes`, ideally `appendfsync everysec` or `always`) and/or RDB
//! snapshots, or replication with failover (Sentinel or a managed service) where a primary
//! restarted empty cannot wipe its replicas. Also set `maxmemory-policy noeviction`: every
//! key of this store has a TTL, so any eviction policy could drop a live revocation under
//! memory pressure, whereas `noeviction` refuses the write, which jwt-gate turns into a 503.
//!
//! # Key layout
//!
//! Every key is named `{<prefix>:<kind>:<id>}` (prefix `jwt-gate` unless
//! [`with_prefix`](RedisStore::with_prefix) sets another). The braces make the whole name its
//! Redis Cluster hash tag, and every script touches exactly one key, so every script runs on
//! one slot.
//!
//! | key | type | content |
//! |---|---|---|
//! | `{<prefix>:jti:<jti>}` | string | the revoked token's expiry (Unix s) |
//! | `{<prefix>:fam:<family>}` | hash | `live` (the live refresh `jti`), `revoked` (`0`/`1`), `exp` (Unix s) |
//! | `{<prefix>:id:<identity>}` | hash | `cutoff` (logout-all cut-off, Unix ms), `exp` (Unix s) |
//! | `{<prefix>:throttle:<key>}` | sorted set | one member `<ms>-<random>-<n>` per failed login, scored by its time (Unix ms) |
//!
//! `<identity>` is the JSON text of the identity claim, so `1` and `"1"` are different keys.
//! `<key>` is the throttle's key: `user:<username>` or `ip:<address>`.
//!
//! # Expiry
//!
//! Each value holds its own expiry, and reads compare it with the caller's `now` (jwt-gate's
//! clock), so an entry stops counting exactly at its expiry even before Redis deletes it.
//! Each key also carries an `EXPIREAT` of its expiry plus 60 s (a grace for an application
//! clock that runs behind the server's), after which Redis deletes it by itself; hence
//! [`purge_expired`](jwt_gate::RevocationStore::purge_expired) does nothing and returns 0.
//! Redis expires keys on its own clock: an application clock far in the past of the server's
//! (a fixed test clock, say) sees entries vanish early.
//!
//! A throttle set's TTL is relative instead (`PEXPIRE`, reset by each failure): the window
//! plus 60 s from the newest failure, on the server's clock. The scores are the caller's
//! times, and every count compares them with the caller's `now`, so a fixed test clock counts
//! exactly.
//!
//! # Atomicity
//!
//! Every write is one Lua script over one key, run with `EVALSHA` through [`redis::Script`]
//! (which loads it on `NOSCRIPT`): Redis runs a script without interleaving any other command.
//!
//! - `rotate` reads the family hash and, in the same script, either swaps the live refresh
//!   `jti` (keeping the later expiry), or marks the family revoked on reuse, or reports it
//!   revoked. Of concurrent rotations of one token exactly one sees it live.
//! - `revoke_token`, `revoke_family` and `revoke_identity` compare with what the key holds and
//!   keep the later expiry and the later cut-off; `create_family` replaces the family.
//! - `record_failure` (throttle) adds the failure (`ZADD`), drops the failures that left the
//!   window (`ZREMRANGEBYSCORE`), keeps the newest 1024 (`ZREMRANGEBYRANK`) and resets the TTL
//!   (`PEXPIRE`): concurrent failures on several instances all count, and a set stays bounded
//!   whatever an attacker sends. `failures` drops the failures that left the window and reads
//!   the count (`ZCARD`) and the oldest time (`ZRANGE 0 0 WITHSCORES`) in one script; `clear`
//!   is a `DEL`.
//! - `is_revoked` reads the token, family and identity keys in one pipeline (`GET`, `HMGET`,
//!   `HMGET`; one round trip). The three keys lie in three slots, so the reads are not atomic
//!   together; none needs to be: each check stands alone, and a revocation racing the lookup is
//!   ordered after it.
//!
//! # Failures
//!
//! [`RedisStore::connect`] sets bounded timeouts ([`RedisStore::manager_config`]): no call
//! waits forever, a command that times out gives [`StoreError::Timeout`](jwt_gate::StoreError),
//! any other Redis error [`StoreError::Unavailable`](jwt_gate::StoreError), and jwt-gate fails
//! closed on both (503). The connection manager reconnects by itself: once the server answers
//! again, so does the store.

mod keys;
mod scripts;
mod store;
mod throttle;

#[doc(inline)]
pub use keys::{DEFAULT_PREFIX, InvalidPrefix};
#[doc(inline)]
pub use store::RedisStore;

/// The Redis driver this crate is built on, for building a
/// [`ConnectionManager`](redis::aio::ConnectionManager) of your own.
pub use redis;
