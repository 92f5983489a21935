//! The token lifecycle on [`Jwt`]: revocation checks, store calls that fail closed, issuing a
//! login's token pair, rotation with reuse detection, logout and logout everywhere.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tracing::Instrument as _;

use super::{Jwt, new_id, seconds};
use crate::claims::{Claims, TokenType};
use crate::clock::{unix_millis, unix_seconds};
use crate::error::{JwtError, TokenError};
use crate::handlers::Tokens;
use crate::identity::Identity;
use crate::revocation::{RevocationStore, StoreError, StoreFuture, TokenRecord};

impl<I: Identity> Jwt<I> {
    /// With a revocation store: the token's type must be `expected`, it must carry its
    /// lifecycle claims, and none of its `jti`, family or identity may be revoked.
    pub(super) async fn check_lifecycle(
        &self,
        claims: &Claims<I::Id>,
        expected: TokenType,
    ) -> Result<(), JwtError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        if claims.token_type != Some(expected) {
            return Err(match expected {
                TokenType::Refresh => TokenError::RefreshTokenRequired,
                TokenType::Access => TokenError::AccessTokenRequired,
            }
            .into());
        }
        let identity = identity_key(&claims.identity)?;
        let record = lifecycle_record(claims, &identity)?;
        let now = unix_seconds(&*self.inner.clock);
        if self.store_call(store.is_revoked(record, now)).await? {
            return Err(JwtError::Revoked);
        }
        Ok(())
    }

    /// Runs a store call within the configured timeout; any failure fails closed.
    pub(crate) async fn store_call<T>(&self, call: StoreFuture<'_, T>) -> Result<T, JwtError> {
        let span = tracing::trace_span!("jwt_gate.store", outcome = tracing::field::Empty);
        let result = match tokio::time::timeout(self.config().store_timeout, call)
            .instrument(span.clone())
            .await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(JwtError::StoreUnavailable(error)),
            Err(_) => Err(JwtError::StoreUnavailable(StoreError::Timeout)),
        };
        span.record("outcome", if result.is_ok() { "ok" } else { "unavailable" });
        result
    }

    /// The revocation store, when the lifecycle is on.
    #[must_use]
    pub fn revocation_store(&self) -> Option<&Arc<dyn RevocationStore>> {
        self.inner.store.as_ref()
    }

    /// A login's tokens: the access token, and with a revocation store a fresh access token
    /// and a refresh token that start a new family.
    pub(crate) async fn login_tokens(&self, user: &I) -> Result<Tokens, JwtError> {
        let Some(store) = &self.inner.store else {
            let access = self.encode(user, unix_millis(&*self.inner.clock), None)?;
            return Ok(self.tokens(access, None));
        };
        let now_ms = unix_millis(&*self.inner.clock);
        let now = now_ms.div_euclid(1000);
        let (family, access_jti, refresh_jti) = (new_id()?, new_id()?, new_id()?);
        let keep_until = self.keep_until(now, self.config().refresh_expiration_delta);
        self.store_call(store.create_family(&family, &refresh_jti, keep_until, now))
            .await?;
        self.purge_now_and_then(store, now);
        Ok(self.tokens(
            self.encode_access(user, now_ms, &access_jti, &family, true)?,
            Some(self.encode_refresh(user, now_ms, &refresh_jti, &family)?),
        ))
    }

    /// Rotates the refresh token of `claims` (already verified as a live refresh token of
    /// `user`): a non-fresh access token and the family's next refresh token.
    pub(crate) async fn rotate(
        &self,
        claims: &Claims<I::Id>,
        user: &I,
    ) -> Result<Tokens, JwtError> {
        let store = self.require_store()?;
        let identity = identity_key(&claims.identity)?;
        let record = lifecycle_record(claims, &identity)?;
        let now_ms = unix_millis(&*self.inner.clock);
        let now = now_ms.div_euclid(1000);
        let (access_jti, next_jti) = (new_id()?, new_id()?);
        let keep_until = self.keep_until(now, self.config().refresh_expiration_delta);
        let rotation = store.rotate(record.family, record.jti, &next_jti, keep_until, now);
        match self.store_call(rotation).await? {
            crate::revocation::Rotation::Rotated => Ok(self.tokens(
                self.encode_access(user, now_ms, &access_jti, record.family, false)?,
                Some(self.encode_refresh(user, now_ms, &next_jti, record.family)?),
            )),
            crate::revocation::Rotation::ReuseDetected => {
                tracing::warn!(
                    family = record.family,
                    "jwt-gate: refresh token reuse; family revoked"
                );
                Err(JwtError::RefreshTokenReused)
            }
            _ => Err(JwtError::Revoked),
        }
    }

    /// Logout: revokes the access token of `claims` and its whole family.
    pub(crate) async fn revoke_session(&self, claims: &Claims<I::Id>) -> Result<(), JwtError> {
        let store = self.require_store()?;
        let identity = identity_key(&claims.identity)?;
        let record = lifecycle_record(claims, &identity)?;
        let now = unix_seconds(&*self.inner.clock);
        let config = self.config();
        let token_until = claims
            .exp
            .unwrap_or_else(|| now.saturating_add(seconds(config.expiration_delta)))
            .saturating_add(seconds(config.leeway))
            .min(crate::config::MAX_NUMERIC_DATE);
        self.store_call(store.revoke_token(record.jti, token_until))
            .await?;
        let family_until = self.keep_until(
            now,
            config.refresh_expiration_delta.max(config.expiration_delta),
        );
        self.store_call(store.revoke_family(record.family, family_until))
            .await
    }

    /// Logout everywhere: revokes every token of the identity of `claims` issued up to now.
    pub(crate) async fn revoke_identity(&self, claims: &Claims<I::Id>) -> Result<(), JwtError> {
        let store = self.require_store()?;
        let identity = identity_key(&claims.identity)?;
        let now_ms = unix_millis(&*self.inner.clock);
        let config = self.config();
        let until = self.keep_until(
            now_ms.div_euclid(1000),
            config.refresh_expiration_delta.max(config.expiration_delta),
        );
        // The token presented was issued up to now by definition, even by an instance whose
        // clock runs ahead of this one: the cut-off covers it.
        let cutoff = now_ms.max(claims.issued_at_ms.unwrap_or(now_ms));
        self.store_call(store.revoke_identity(&identity, cutoff, until))
            .await?;
        // Tokens issued after this answer must carry a later `iat_ms` than the cut-off, even
        // within the same millisecond: let the clock pass it.
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        Ok(())
    }

    /// Every [`PURGE_EVERY`] logins, drops the store's expired entries in the background, so
    /// that stores without their own expiry (SQL) stay bounded by the live sessions.
    fn purge_now_and_then(&self, store: &Arc<dyn RevocationStore>, now: i64) {
        let logins = self.inner.logins.fetch_add(1, Ordering::Relaxed);
        if logins % PURGE_EVERY != PURGE_EVERY - 1 {
            return;
        }
        let store = Arc::clone(store);
        let timeout = self.config().store_timeout.saturating_mul(10);
        tokio::spawn(async move {
            match tokio::time::timeout(timeout, store.purge_expired(now)).await {
                Ok(Ok(purged)) => tracing::debug!(purged, "jwt-gate: purged expired store entries"),
                Ok(Err(error)) => tracing::warn!(%error, "jwt-gate: purging the store failed"),
                Err(_) => tracing::warn!("jwt-gate: purging the store timed out"),
            }
        });
    }

    fn require_store(&self) -> Result<&Arc<dyn RevocationStore>, JwtError> {
        self.inner
            .store
            .as_ref()
            .ok_or_else(|| JwtError::internal("the lifecycle needs a revocation store"))
    }

    /// Until when a store entry about a token of `lifetime` issued at `now` must be kept: its
    /// `exp` plus the leeway, since verification accepts it that long.
    fn keep_until(&self, now: i64, lifetime: std::time::Duration) -> i64 {
        now.saturating_add(seconds(lifetime))
            .saturating_add(seconds(self.config().leeway))
            .min(crate::config::MAX_NUMERIC_DATE)
    }
}

/// How many logins pass between two background purges of the revocation store.
const PURGE_EVERY: u64 = 256;

/// The store key of an identity: the JSON text of its id (`1`, `"alice"`), so ids of
/// different JSON types never collide.
fn identity_key<Id: serde::Serialize>(identity: &Id) -> Result<String, JwtError> {
    serde_json::to_string(identity).map_err(JwtError::internal)
}

/// The lifecycle claims of a verified token, as the store sees them.
fn lifecycle_record<'a, Id>(
    claims: &'a Claims<Id>,
    identity: &'a str,
) -> Result<TokenRecord<'a>, JwtError> {
    let jti = claims
        .jti
        .as_deref()
        .ok_or(TokenError::MissingClaim("jti"))?;
    let family = claims
        .family
        .as_deref()
        .ok_or(TokenError::MissingClaim("fam"))?;
    let issued_at_ms = claims
        .issued_at_ms
        .ok_or(TokenError::MissingClaim("iat_ms"))?;
    Ok(TokenRecord::new(jti, family, identity, issued_at_ms))
}
