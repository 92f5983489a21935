//! Revocation and refresh-token families: the [`RevocationStore`] trait and the bounded
//! in-process [`MemoryStore`].
//!
//! A *family* is every token that descends from one password login: its first access and
//! refresh tokens and every pair issued by refreshes in that chain. Each token carries its
//! family id (claim `fam`), its own id (`jti`) and its issue time in milliseconds (`iat_ms`), so
//! a store can answer "is this token still good?" from three lookups:
//!
//! - its `jti` was not revoked (logout revokes the access token it was called with);
//! - its family was not revoked (logout, and reuse of a spent refresh token, revoke the family:
//!   every refresh token of the chain and every access token issued from it);
//! - its identity has no logout-all cut-off at or after the token's `iat_ms`.
//!
//! Rotation: a family remembers the `jti` of its one live refresh token. Presenting it swaps in
//! the next one atomically; presenting any other (spent) refresh token of the family is a reuse,
//! which revokes the family. Of concurrent refreshes with one token exactly one wins.
//!
//! Every entry carries an expiry (the latest `exp` of a token it concerns) after which it can
//! be dropped, so no store grows without bound.

mod memory;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

#[doc(inline)]
pub use memory::{DEFAULT_CAPACITY, MemoryStore};

/// A boxed future, as the object-safe [`RevocationStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An answer that is already known, as a [`StoreFuture`]: for stores that need no I/O.
pub(crate) fn ready<'a, T: Send + 'a>(value: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

/// A store failure. Every one fails closed: the request gets 503 `Token store unavailable`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The back end could not be reached or answered an error.
    #[error("token store unavailable: {0}")]
    Unavailable(#[source] crate::BoxError),
    /// The back end did not answer within the store timeout.
    #[error("token store timed out")]
    Timeout,
    /// A bounded store is full of live entries: new sessions are refused, revocations are not.
    #[error("token store is full")]
    Full,
}

impl StoreError {
    /// Wraps a back-end error.
    pub fn unavailable(error: impl Into<crate::BoxError>) -> Self {
        Self::Unavailable(error.into())
    }
}

/// The token facts a store checks: borrowed from verified claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRecord<'a> {
    /// The token's unique id (`jti`).
    pub jti: &'a str,
    /// The token's family id (`fam`).
    pub family: &'a str,
    /// The token's identity, as a store key: the JSON text of the `identity` claim.
    pub identity: &'a str,
    /// When the token was issued, in milliseconds since the Unix epoch (`iat_ms`).
    pub issued_at_ms: i64,
}

impl<'a> TokenRecord<'a> {
    /// A record of these facts.
    #[must_use]
    pub fn new(jti: &'a str, family: &'a str, identity: &'a str, issued_at_ms: i64) -> Self {
        Self {
            jti,
            family,
            identity,
            issued_at_ms,
        }
    }
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// It was the family's live refresh token; the next one is now live.
    Rotated,
    /// It was already spent: a reuse. The family is now revoked.
    ReuseDetected,
    /// The family is revoked, expired or unknown.
    Revoked,
}

/// Where revocations and refresh-token families live. Object safe: held as
/// `Arc<dyn RevocationStore>`, so one [`Jwt`](crate::Jwt) type serves every back end.
///
/// Times are Unix seconds (`expires_at`, `now`) or milliseconds (cut-offs), from the
/// [`Jwt`](crate::Jwt)'s clock, never the store's own, so tests with a fixed clock are exact.
/// An entry whose `expires_at` has passed may be dropped at any time; until then it must be
/// kept. Implementations: [`MemoryStore`] here, `SqliteStore` and `PostgresStore` in
/// `jwt-gate-sqlx-store`, `RedisStore` in `jwt-gate-redis-store`; every one runs the
/// conformance suite of the `store-tests` crate.
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Whether `token` is revoked: its `jti`, its family, or its identity's cut-off
    /// (`cutoff >= issued_at_ms`). Entries that expired before `now` do not count.
    fn is_revoked<'a>(&'a self, token: TokenRecord<'a>, now: i64) -> StoreFuture<'a, bool>;

    /// Revokes one token until `expires_at` (its `exp`).
    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: i64) -> StoreFuture<'a, ()>;

    /// Starts a family whose live refresh token is `refresh_jti`, kept until `expires_at`.
    ///
    /// A bounded store may refuse with [`StoreError::Full`] (after dropping what expired
    /// before `now`).
    fn create_family<'a>(
        &'a self,
        family: &'a str,
        refresh_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()>;

    /// Atomically: if `presented_jti` is the family's live refresh token, makes `next_jti` the
    /// live one and keeps the family until `expires_at` ([`Rotation::Rotated`]); if the family
    /// is live but `presented_jti` is not its live token, revokes the family
    /// ([`Rotation::ReuseDetected`]); otherwise [`Rotation::Revoked`].
    fn rotate<'a>(
        &'a self,
        family: &'a str,
        presented_jti: &'a str,
        next_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Rotation>;

    /// Revokes a family (every token that carries its id) until `expires_at`.
    fn revoke_family<'a>(&'a self, family: &'a str, expires_at: i64) -> StoreFuture<'a, ()>;

    /// Revokes every token of `identity` issued at or before `cutoff_ms`, until `expires_at`.
    /// A later, smaller cut-off never lowers an earlier one.
    fn revoke_identity<'a>(
        &'a self,
        identity: &'a str,
        cutoff_ms: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()>;

    /// Drops entries that expired before `now`; returns how many. Stores whose back end
    /// expires entries by itself may return 0.
    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64>;
}
