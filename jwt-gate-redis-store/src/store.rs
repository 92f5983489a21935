//! [`RedisStore`]: revocations and families in Redis.

use std::time::Duration;

use jwt_gate::RevocationStore;
use jwt_gate::StoreError;
use jwt_gate::revocation::{Rotation, StoreFuture, TokenRecord};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::TcpSettings;
use redis::{Client, ErrorKind, IntoConnectionInfo, RedisError, Script};

use crate::keys::{self, DEFAULT_PREFIX, InvalidPrefix, Kind};
use crate::scripts;

/// How long establishing a connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a command may wait for its reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How many times one reconnection retries after its first attempt failed.
const RECONNECT_RETRIES: usize = 1;
/// The delay before the retry.
const RECONNECT_DELAY: Duration = Duration::from_millis(100);
/// How long the kernel keeps sending unacknowledged data before it drops the connection
/// (Linux `TCP_USER_TIMEOUT`): a server that vanished without a reset is noticed.
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(5);

/// Revocations and refresh-token families in Redis, shared by every instance of an
/// application.
///
/// Built on a [`ConnectionManager`]: one multiplexed connection that reconnects by itself. See
/// the [crate documentation](crate) for the key layout, the atomicity of each operation, and
/// the persistence Redis needs for revocations to survive a restart.
///
/// Cloning is cheap and shares the connection.
#[derive(Clone, Debug)]
pub struct RedisStore {
    manager: ConnectionManager,
    prefix: String,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`, or
    /// `rediss://` with a TLS feature of [`redis`] on) with [`manager_config`](Self::manager_config)'s
    /// bounded timeouts, `TCP_NODELAY`, and on Linux a 5 s `TCP_USER_TIMEOUT`.
    ///
    /// # Errors
    /// An invalid URL, or a server that cannot be reached within the connection timeout (with
    /// one retry).
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        let info = url.into_connection_info()?;
        let tcp = TcpSettings::default().set_nodelay(true);
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        let tcp = tcp.set_user_timeout(TCP_USER_TIMEOUT);
        let client = Client::open(info.set_tcp_settings(tcp))?;
        let manager = ConnectionManager::new_with_config(client, Self::manager_config()).await?;
        Ok(Self::new(manager))
    }

    /// A store on an existing connection manager, under the [default prefix](DEFAULT_PREFIX).
    ///
    /// Build the manager with [`manager_config`](Self::manager_config) (or timeouts of your
    /// own): a manager without timeouts can leave a call waiting forever on a server that
    /// stopped answering.
    #[must_use]
    pub fn new(manager: ConnectionManager) -> Self {
        Self {
            manager,
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// The connection settings [`connect`](Self::connect) uses, under which no call can hang
    /// and the manager recovers by itself once the server is back:
    ///
    /// - each connection attempt times out after 1 s, and each command after 1 s;
    /// - a reconnection makes one retry after 100 ms, then fails the commands waiting on it;
    ///   the next command starts a new reconnection, so the store works again as soon as the
    ///   server answers.
    ///
    /// A call therefore fails within about 3 s at worst (two connection attempts and one
    /// command), and at once when the server refuses connections. jwt-gate also bounds each
    /// store call on its side.
    #[must_use]
    pub fn manager_config() -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_DELAY)
            .set_max_delay(RECONNECT_DELAY)
    }

    /// Puts every key under `prefix` instead of `jwt-gate`: applications sharing a Redis keep
    /// apart by prefix.
    ///
    /// # Errors
    /// A prefix that is empty, longer than 64 bytes, or holds anything but ASCII letters,
    /// digits, `-`, `_` and `.`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Result<Self, InvalidPrefix> {
        self.prefix = keys::validate_prefix(prefix.into())?;
        Ok(self)
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection manager, for commands of your own.
    #[must_use]
    pub fn manager(&self) -> &ConnectionManager {
        &self.manager
    }

    fn key(&self, kind: Kind, id: &str) -> String {
        keys::key(&self.prefix, kind, id)
    }

    /// Runs a one-key script with `args` and reads its reply.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        key: String,
        args: &[&str],
    ) -> Result<T, StoreError> {
        let mut invocation = script.key(key);
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.manager.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(store_error)
    }

    /// Runs a one-key script that records an expiring entry.
    async fn record(
        &self,
        script: &Script,
        key: String,
        values: &[&str],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let expires = expires_at.to_string();
        let expire_at = keys::expire_at(expires_at).to_string();
        let mut args = values.to_vec();
        args.push(&expires);
        args.push(&expire_at);
        self.run::<i64>(script, key, &args).await.map(drop)
    }
}

/// A Redis failure as a store failure: timeouts as [`StoreError::Timeout`], the rest as
/// [`StoreError::Unavailable`]. Both fail closed.
fn store_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Timeout
    } else {
        StoreError::unavailable(error)
    }
}

/// A reply the scripts never give: someone else wrote the store's keys.
fn unexpected(detail: String) -> StoreError {
    StoreError::unavailable(RedisError::from((
        ErrorKind::UnexpectedReturnType,
        "unexpected reply from the jwt-gate rotation script",
        detail,
    )))
}

/// Whether an entry expiring at `expires_at` still counts at `now` (the caller's clock).
fn live(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_some_and(|expires_at| expires_at >= now)
}

/// Reads the three keys of [`RevocationStore::is_revoked`]: `(token expiry, (family revoked
/// flag, family expiry), (identity cut-off, identity expiry))`.
type Lookup = (
    Option<i64>,
    (Option<i64>, Option<i64>),
    (Option<i64>, Option<i64>),
);

impl RevocationStore for RedisStore {
    /// One pipeline of three reads (`GET`, `HMGET`, `HMGET`), sent in one round trip but not
    /// atomic together: the three keys lie in three cluster slots, so no transaction or script
    /// could read them all. Each read is atomic on its own key, and each check stands alone, so
    /// a revocation racing the lookup is simply ordered after it.
    fn is_revoked<'a>(&'a self, token: TokenRecord<'a>, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.manager.clone();
            let (token_exp, (family_revoked, family_exp), (cutoff, identity_exp)): Lookup =
                redis::pipe()
                    .get(self.key(Kind::Token, token.jti))
                    .cmd("HMGET")
                    .arg(self.key(Kind::Family, token.family))
                    .arg("revoked")
                    .arg("exp")
                    .cmd("HMGET")
                    .arg(self.key(Kind::Identity, token.identity))
                    .arg("cutoff")
                    .arg("exp")
                    .query_async(&mut connection)
                    .await
                    .map_err(store_error)?;
            Ok(live(token_exp, now)
                || (family_revoked == Some(1) && live(family_exp, now))
                || (cutoff.is_some_and(|cutoff| cutoff >= token.issued_at_ms)
                    && live(identity_exp, now)))
        })
    }

    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(self.record(
            &scripts::REVOKE_TOKEN,
            self.key(Kind::Token, jti),
            &[],
            expires_at,
        ))
    }

    /// Redis keeps no count of its keys, so this never refuses with [`StoreError::Full`]; set
    /// `maxmemory-policy noeviction` and a full Redis refuses the write (a 503).
    fn create_family<'a>(
        &'a self,
        family: &'a str,
        refresh_jti: &'a str,
        expires_at: i64,
        _now: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.record(
                &scripts::CREATE_FAMILY,
                self.key(Kind::Family, family),
                &[refresh_jti],
                expires_at,
            )
            .await
        })
    }

    fn rotate<'a>(
        &'a self,
        family: &'a str,
        presented_jti: &'a str,
        next_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Rotation> {
        Box::pin(async move {
            let expires = expires_at.to_string();
            let now = now.to_string();
            let expire_at = keys::expire_at(expires_at).to_string();
            let outcome: String = self
                .run(
                    &scripts::ROTATE,
                    self.key(Kind::Family, family),
                    &[presented_jti, next_jti, &expires, &now, &expire_at],
                )
                .await?;
            match outcome.as_str() {
                "rotated" => Ok(Rotation::Rotated),
                "reuse" => Ok(Rotation::ReuseDetected),
                "revoked" => Ok(Rotation::Revoked),
                _ => Err(unexpected(outcome)),
            }
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(self.record(
            &scripts::REVOKE_FAMILY,
            self.key(Kind::Family, family),
            &[],
            expires_at,
        ))
    }

    fn revoke_identity<'a>(
        &'a self,
        identity: &'a str,
        cutoff_ms: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let cutoff = cutoff_ms.to_string();
            self.record(
                &scripts::REVOKE_IDENTITY,
                self.key(Kind::Identity, identity),
                &[&cutoff],
                expires_at,
            )
            .await
        })
    }

    /// Returns 0 without a round trip: every key carries an `EXPIREAT` (its expiry plus a 60 s
    /// grace for clock skew), and Redis drops expired keys by itself.
    fn purge_expired(&self, _now: i64) -> StoreFuture<'_, u64> {
        Box::pin(std::future::ready(Ok(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_count_until_their_expiry_inclusive() {
        assert!(live(Some(100), 100));
        assert!(live(Some(100), 99));
        assert!(!live(Some(100), 101));
        assert!(!live(None, 0));
    }

    #[test]
    fn manager_config_bounds_every_wait() {
        let config = RedisStore::manager_config();
        assert_eq!(config.connection_timeout(), Some(CONNECTION_TIMEOUT));
        assert_eq!(config.response_timeout(), Some(RESPONSE_TIMEOUT));
        assert_eq!(config.number_of_retries(), RECONNECT_RETRIES);
        assert_eq!(config.max_delay(), Some(RECONNECT_DELAY));
    }

    #[test]
    fn timeouts_are_store_timeouts() {
        let timeout = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(matches!(store_error(timeout), StoreError::Timeout));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(store_error(refused), StoreError::Unavailable(_)));
    }
}
