//! The key layout: names, prefix validation and expiry times.

/// The key prefix of a [`RedisStore`](crate::RedisStore) unless
/// [`with_prefix`](crate::RedisStore::with_prefix) sets another.
pub const DEFAULT_PREFIX: &str = "jwt-gate";

/// The longest accepted key prefix, in bytes.
const MAX_PREFIX_LEN: usize = 64;

/// How long after its `expires_at` a key stays in Redis, in seconds.
///
/// Every value carries its own expiry, which is compared with the caller's `now`; the key's
/// TTL only lets Redis reclaim it. The grace keeps an entry alive while an application clock
/// that runs behind the Redis server's still considers it live.
pub(crate) const EXPIRY_GRACE_SECS: i64 = 60;

/// The latest `EXPIREAT` sent: 9999-12-31T23:59:59Z. Redis refuses times whose milliseconds
/// overflow an `i64`, so absurd expiries are clamped rather than turned into errors.
const MAX_EXPIRE_AT: i64 = 253_402_300_799;

/// A key prefix that [`RedisStore::with_prefix`](crate::RedisStore::with_prefix) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Redis key prefix {prefix:?}: use 1 to 64 ASCII letters, digits, `-`, `_` or `.` \
     (e.g. \"myapp-jwt\"); `:` separates the prefix from the key kind and `{{`/`}}` delimit \
     the Redis Cluster hash tag, so neither may appear in it"
)]
pub struct InvalidPrefix {
    prefix: String,
}

impl InvalidPrefix {
    /// The refused prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Checks a prefix: 1 to 64 of `[A-Za-z0-9._-]`.
pub(crate) fn validate_prefix(prefix: String) -> Result<String, InvalidPrefix> {
    let valid = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(prefix)
    } else {
        Err(InvalidPrefix { prefix })
    }
}

/// The three kinds of key. Each is named `{<prefix>:<kind>:<id>}`: the braces make the whole
/// name the Redis Cluster hash tag, so the key, and every script over it, lives in one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A revoked `jti`: a string holding its expiry.
    Token,
    /// A refresh-token family: a hash of `live`, `revoked` and `exp`.
    Family,
    /// An identity's logout-all cut-off: a hash of `cutoff` (ms) and `exp`.
    Identity,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Self::Token => "jti",
            Self::Family => "fam",
            Self::Identity => "id",
        }
    }
}

/// The name of the key of `id` of this kind under `prefix`.
///
/// Names are unique whatever `id` holds: the prefix has no `:`, so `{<prefix>:<kind>:` fixes
/// both, and the rest is the id verbatim. An id holding `}` only shortens the hash tag; every
/// script still touches a single key, hence a single slot.
pub(crate) fn key(prefix: &str, kind: Kind, id: &str) -> String {
    let tag = kind.tag();
    format!("{{{prefix}:{tag}:{id}}}")
}

/// The `EXPIREAT` time of an entry that expires at `expires_at`: the grace added, clamped.
pub(crate) fn expire_at(expires_at: i64) -> i64 {
    expires_at
        .saturating_add(EXPIRY_GRACE_SECS)
        .clamp(0, MAX_EXPIRE_AT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_whole_hash_tags() {
        assert_eq!(key("jwt-gate", Kind::Token, "abc"), "{jwt-gate:jti:abc}");
        assert_eq!(key("jwt-gate", Kind::Family, "f1"), "{jwt-gate:fam:f1}");
        assert_eq!(key("app", Kind::Identity, "\"1\""), "{app:id:\"1\"}");
    }

    #[test]
    fn kinds_and_ids_never_collide() {
        // The same id under three kinds, and ids that look like other kinds' names.
        let names = [
            key("p", Kind::Token, "x"),
            key("p", Kind::Family, "x"),
            key("p", Kind::Identity, "x"),
            key("p", Kind::Token, "fam:x"),
            key("p", Kind::Identity, "jti:x"),
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Identities are compared exactly: `1` and `"1"` are two keys.
        assert_ne!(
            key("p", Kind::Identity, "1"),
            key("p", Kind::Identity, "\"1\"")
        );
    }

    #[test]
    fn accepts_plain_prefixes() {
        for prefix in ["jwt-gate", "a", "myapp_jwt.v2", "A-Z.0_9", &"x".repeat(64)] {
            assert_eq!(validate_prefix(prefix.to_owned()).as_deref(), Ok(prefix));
        }
        assert_eq!(
            validate_prefix(DEFAULT_PREFIX.to_owned()).as_deref(),
            Ok(DEFAULT_PREFIX)
        );
    }

    #[test]
    fn refuses_prefixes_that_break_the_layout() {
        let too_long = "x".repeat(65);
        for prefix in [
            "", "my:app", "{app}", "app}", "{app", "my app", "app\n", "ünï", &too_long,
        ] {
            let error = validate_prefix(prefix.to_owned()).unwrap_err();
            assert_eq!(error.prefix(), prefix);
            assert!(error.to_string().contains("myapp-jwt"), "{error}");
        }
    }

    #[test]
    fn expiry_has_grace_and_stays_in_range() {
        assert_eq!(expire_at(1_700_000_000), 1_700_000_000 + EXPIRY_GRACE_SECS);
        assert_eq!(expire_at(i64::MAX), MAX_EXPIRE_AT);
        assert_eq!(expire_at(i64::MIN), 0);
        assert_eq!(expire_at(-EXPIRY_GRACE_SECS - 5), 0);
    }
}
