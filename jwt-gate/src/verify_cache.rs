//! The verified-token cache: the outcome of the signature and claim checks of recent tokens,
//! so that a token seen again costs a lookup instead of a decode.
//!
//! It is keyed by the full token (never by a fast hash alone: a collision could otherwise
//! smuggle a token in), caches only successes, re-checks the time rules (`iat`, `nbf`, `exp`)
//! on every hit, never caches the identity lookup or the revocation check, and is flushed
//! whenever the keys or the settings change. It is bounded: sharded maps, each holding at most
//! its share of the capacity, dropping an arbitrary entry when full.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::claims::Claims;
use crate::error::TokenError;
use crate::token::check_times;

const SHARDS: usize = 16;

/// What a cache hit knows: the verified claims, and when the key that verified them retires.
struct Entry<Id> {
    claims: Claims<Id>,
    key_retires_at: Option<i64>,
}

/// One shard: full token → its entry. Keys are compared in full on every hit; only the hash
/// is taken from the end of the token.
type ShardMap<Id> = HashMap<Box<str>, Entry<Id>, BuildHasherDefault<SignatureTailHasher>>;
// An `RwLock`: every request of a client presenting one token reads the same shard, from
// every worker thread at once.
type Shard<Id> = RwLock<ShardMap<Id>>;

/// Hashes a token by its last 8 bytes: the end of its signature. Every token the cache holds
/// passed the signature check, so those bytes are as unpredictable as the MAC or signature
/// itself and nobody can pile entries into one bucket; hashing 8 bytes instead of the whole
/// token (SipHash over ~200 bytes) is most of the cost of a hit. Lookups of forged tokens
/// never add entries. The full token is still compared on every hit.
#[derive(Default)]
struct SignatureTailHasher(u64);

impl Hasher for SignatureTailHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let tail = &bytes[bytes.len().saturating_sub(8)..];
        let mut word = [0_u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        self.0 =
            (self.0.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) struct VerifyCache<Id> {
    shards: [Shard<Id>; SHARDS],
    /// The version of the key ring the entries were verified with.
    keys_version: AtomicU64,
}

impl<Id> VerifyCache<Id> {
    pub(crate) fn new() -> Self {
        Self {
            shards: std::array::from_fn(|_| RwLock::new(HashMap::default())),
            keys_version: AtomicU64::new(0),
        }
    }

    /// Empties the cache when the key ring is not the one its entries were verified with (a
    /// rotation, a retirement, a JWKS refresh): one atomic load per request otherwise.
    pub(crate) fn follow_keys(&self, version: u64) {
        // The version first, then the entries: an insert racing with this sees the new
        // version under its shard lock and stays out, or lands before that shard is cleared.
        // A plain load on the hot path: a write on every request would bounce the cache line
        // between cores.
        if self.keys_version.load(Ordering::Acquire) != version
            && self.keys_version.swap(version, Ordering::AcqRel) != version
        {
            self.clear();
        }
    }

    /// The shard of a token. Only tokens with a valid signature are ever inserted, so the last
    /// signature character spreads them evenly; a forged token only picks the shard it misses in.
    fn shard(&self, token: &str) -> &Shard<Id> {
        let index = token
            .as_bytes()
            .last()
            .map_or(0, |&b| usize::from(b) % SHARDS);
        &self.shards[index]
    }

    /// The cached claims of `token`, if they are still within their time rules at `now` and
    /// the key that verified them has not retired.
    pub(crate) fn get(
        &self,
        token: &str,
        now: i64,
        leeway: i64,
    ) -> Option<Result<Claims<Id>, TokenError>>
    where
        Id: Clone,
    {
        // A panic while holding the lock cannot leave a half-written map entry.
        let shard = self
            .shard(token)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = shard.get(token)?;
        if entry.key_retires_at.is_some_and(|at| at <= now) {
            return Some(Err(TokenError::UnknownKeyId));
        }
        let claims = &entry.claims;
        let rechecked = check_times(claims.iat, claims.nbf, claims.exp, now, leeway);
        // Cloned under the read lock: no reference count shared by every request of the token.
        Some(rechecked.map(|()| claims.clone()))
    }

    /// Remembers `claims`, verified with the key ring of `keys_version`, unless the ring has
    /// changed since.
    pub(crate) fn insert(
        &self,
        token: &str,
        claims: Claims<Id>,
        key_retires_at: Option<i64>,
        capacity: usize,
        keys_version: u64,
    ) {
        let per_shard = capacity.div_ceil(SHARDS);
        if per_shard == 0 {
            return;
        }
        let mut shard = self
            .shard(token)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if self.keys_version.load(Ordering::Acquire) != keys_version {
            return;
        }
        if shard.len() >= per_shard {
            // The first entry goes, taken out where it lies: no copy of its key to look it up
            // again. An unfinished `extract_if` keeps the rest.
            shard.extract_if(|_, _| true).next();
        }
        shard.insert(
            token.into(),
            Entry {
                claims,
                key_retires_at,
            },
        );
    }

    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Payload;
    use crate::token::Verified;

    fn claims(exp: i64) -> Claims<i64> {
        Claims::from_verified(Verified {
            payload: Payload::of(&serde_json::json!({"identity": 1})),
            exp: Some(exp),
            iat: Some(0),
            nbf: Some(0),
            key_retires_at: None,
        })
        .unwrap()
    }

    #[test]
    fn expired_entries_are_not_served() {
        let cache = VerifyCache::new();
        cache.insert("t", claims(100), None, 10, 0);
        assert!(cache.get("t", 105, 10).unwrap().is_ok());
        assert_eq!(
            cache.get("t", 111, 10).unwrap().unwrap_err(),
            TokenError::Expired
        );
        assert!(cache.get("other", 0, 10).is_none());
    }

    #[test]
    fn entries_of_a_retired_key_are_not_served() {
        let cache = VerifyCache::new();
        cache.insert("t", claims(1000), Some(50), 10, 0);
        assert!(cache.get("t", 49, 0).unwrap().is_ok());
        assert_eq!(
            cache.get("t", 50, 0).unwrap().unwrap_err(),
            TokenError::UnknownKeyId
        );
    }

    #[test]
    fn tokens_that_end_alike_are_still_told_apart() {
        let cache = VerifyCache::new();
        cache.insert("a.b.SAME-TAIL", claims(100), None, 10, 0);
        assert!(cache.get("x.y.SAME-TAIL", 0, 0).is_none());
        assert!(cache.get("a.b.SAME-TAIL", 0, 0).is_some());
        let hash = |text: &str| {
            let mut hasher = SignatureTailHasher::default();
            hasher.write(text.as_bytes());
            hasher.finish()
        };
        assert_ne!(hash("token-ending-AAAAAAAA"), hash("token-ending-AAAAAAAB"));
        assert_eq!(hash("short"), hash("short"));
    }

    #[test]
    fn size_stays_bounded() {
        let cache = VerifyCache::new();
        for i in 0..10_000 {
            cache.insert(&format!("token-{i}"), claims(100), None, 256, 0);
        }
        assert!(cache.len() <= 256, "{}", cache.len());
        cache.clear();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_new_key_ring_flushes_the_cache() {
        let cache = VerifyCache::new();
        cache.follow_keys(7);
        cache.insert("t", claims(100), None, 10, 6);
        assert!(
            cache.get("t", 0, 0).is_none(),
            "verified with an older ring"
        );
        cache.insert("t", claims(100), None, 10, 7);
        cache.follow_keys(7);
        assert!(cache.get("t", 0, 0).is_some());
        cache.follow_keys(8);
        assert!(cache.get("t", 0, 0).is_none());
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let cache = VerifyCache::new();
        cache.insert("t", claims(100), None, 0, 0);
        assert!(cache.get("t", 0, 0).is_none());
    }
}
