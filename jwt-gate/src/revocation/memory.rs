//! [`MemoryStore`]: revocations and families in this process, bounded.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{RevocationStore, Rotation, StoreError, StoreFuture, TokenRecord, ready};

/// The default bound of a [`MemoryStore`]: one million entries.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// Revocations and refresh-token families in this process's memory.
///
/// For one instance, tests and development: nothing is shared between processes and
/// nothing survives a restart (use the SQLite, PostgreSQL or Redis stores for that).
///
/// Bounded: at most `capacity` entries (default 1 M). Expired entries are dropped first; when
/// the store is still full, new logins fail closed (503) while revocations are always
/// recorded, so a full store can never un-revoke a token. Refreshes still work: a rotation
/// replaces its family's entry in place and never grows the store.
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Revoked `jti` → expiry.
    tokens: HashMap<String, i64>,
    families: HashMap<String, Family>,
    /// Identity → (logout-all cut-off in ms, expiry).
    identities: HashMap<String, (i64, i64)>,
}

#[derive(Debug)]
struct Family {
    live_refresh: String,
    revoked: bool,
    expires_at: i64,
}

impl State {
    fn len(&self) -> usize {
        self.tokens.len() + self.families.len() + self.identities.len()
    }

    fn purge(&mut self, now: i64) -> u64 {
        let before = self.len();
        self.tokens.retain(|_, expires_at| *expires_at >= now);
        self.families.retain(|_, family| family.expires_at >= now);
        self.identities
            .retain(|_, (_, expires_at)| *expires_at >= now);
        (before - self.len()) as u64
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store bounded to [`DEFAULT_CAPACITY`] entries.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty store bounded to `capacity` entries.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    /// How many entries the store holds (expired ones included until purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.state().len()
    }

    /// Whether the store holds no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update below is a single insert or field write, so a panic elsewhere cannot
        // leave the maps half-changed: the state is still consistent after a poison.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RevocationStore for MemoryStore {
    fn is_revoked<'a>(&'a self, token: TokenRecord<'a>, now: i64) -> StoreFuture<'a, bool> {
        let state = self.state();
        let live = |expires_at: i64| expires_at >= now;
        let revoked = state.tokens.get(token.jti).is_some_and(|&e| live(e))
            || state
                .families
                .get(token.family)
                .is_some_and(|f| f.revoked && live(f.expires_at))
            || state
                .identities
                .get(token.identity)
                .is_some_and(|&(cutoff, e)| live(e) && cutoff >= token.issued_at_ms);
        ready(Ok(revoked))
    }

    fn revoke_token<'a>(&'a self, jti: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        let mut state = self.state();
        let entry = state.tokens.entry(jti.to_owned()).or_insert(expires_at);
        *entry = (*entry).max(expires_at);
        ready(Ok(()))
    }

    fn create_family<'a>(
        &'a self,
        family: &'a str,
        refresh_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, ()> {
        let mut state = self.state();
        if state.len() >= self.capacity {
            state.purge(now);
            if state.len() >= self.capacity {
                return ready(Err(StoreError::Full));
            }
        }
        state.families.insert(
            family.to_owned(),
            Family {
                live_refresh: refresh_jti.to_owned(),
                revoked: false,
                expires_at,
            },
        );
        ready(Ok(()))
    }

    fn rotate<'a>(
        &'a self,
        family: &'a str,
        presented_jti: &'a str,
        next_jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Rotation> {
        let mut state = self.state();
        let outcome = match state.families.get_mut(family) {
            Some(f) if f.revoked || f.expires_at < now => Rotation::Revoked,
            Some(f) if f.live_refresh == presented_jti => {
                next_jti.clone_into(&mut f.live_refresh);
                f.expires_at = f.expires_at.max(expires_at);
                Rotation::Rotated
            }
            Some(f) => {
                f.revoked = true;
                Rotation::ReuseDetected
            }
            None => Rotation::Revoked,
        };
        ready(Ok(outcome))
    }

    fn revoke_family<'a>(&'a self, family: &'a str, expires_at: i64) -> StoreFuture<'a, ()> {
        let mut state = self.state();
        let entry = state.families.entry(family.to_owned()).or_insert(Family {
            live_refresh: String::new(),
            revoked: true,
            expires_at,
        });
        entry.revoked = true;
        entry.expires_at = entry.expires_at.max(expires_at);
        ready(Ok(()))
    }

    fn revoke_identity<'a>(
        &'a self,
        identity: &'a str,
        cutoff_ms: i64,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        let mut state = self.state();
        let entry = state
            .identities
            .entry(identity.to_owned())
            .or_insert((cutoff_ms, expires_at));
        *entry = (entry.0.max(cutoff_ms), entry.1.max(expires_at));
        ready(Ok(()))
    }

    fn purge_expired(&self, now: i64) -> StoreFuture<'_, u64> {
        let purged = self.state().purge(now);
        ready(Ok(purged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_store_refuses_sessions_but_records_revocations() {
        let store = MemoryStore::with_capacity(2);
        store.create_family("f1", "r1", 100, 0).await.unwrap();
        store.create_family("f2", "r2", 100, 0).await.unwrap();
        assert!(matches!(
            store.create_family("f3", "r3", 100, 0).await,
            Err(StoreError::Full)
        ));
        store.revoke_token("a1", 100).await.unwrap();
        assert!(
            store
                .is_revoked(TokenRecord::new("a1", "f9", "1", 0), 50)
                .await
                .unwrap()
        );
        // Once the old entries expire there is room again.
        store.create_family("f3", "r3", 300, 200).await.unwrap();
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn expired_entries_no_longer_count() {
        let store = MemoryStore::new();
        store.revoke_token("a1", 100).await.unwrap();
        let token = TokenRecord::new("a1", "f", "1", 0);
        assert!(store.is_revoked(token, 100).await.unwrap());
        assert!(!store.is_revoked(token, 101).await.unwrap());
        assert_eq!(store.purge_expired(101).await.unwrap(), 1);
        assert!(store.is_empty());
    }
}
