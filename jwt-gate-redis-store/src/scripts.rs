//! The Lua scripts: every write of the store, each over exactly one key (`KEYS[1]`), so each is
//! atomic and touches one Redis Cluster slot.
//!
//! Numbers travel as decimal strings. The scripts compare them with `tonumber` (exact below
//! 2^53, far beyond any Unix time in seconds or milliseconds) but always store the caller's
//! original string, never a Lua number, whose formatting could lose digits.
//!
//! `ARGV` holding an `EXPIREAT` time is computed by the caller ([`crate::keys::expire_at`]).

use std::sync::LazyLock;

use redis::Script;

/// `revoke_token`: `KEYS[1]` the token key; `ARGV[1]` expiry, `ARGV[2]` its `EXPIREAT`.
/// Keeps the later expiry.
pub(crate) static REVOKE_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = tonumber(redis.call('GET', KEYS[1]))
if not current or tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('EXPIREAT', KEYS[1], ARGV[2])
end
return 1
",
    )
});

/// `create_family`: `KEYS[1]` the family key; `ARGV[1]` the live refresh `jti`, `ARGV[2]` the
/// expiry, `ARGV[3]` its `EXPIREAT`. Replaces whatever the key held.
pub(crate) static CREATE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'live', ARGV[1], 'revoked', '0', 'exp', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
",
    )
});

/// `rotate`: `KEYS[1]` the family key; `ARGV[1]` the presented `jti`, `ARGV[2]` the next one,
/// `ARGV[3]` the new expiry, `ARGV[4]` the caller's now, `ARGV[5]` the new expiry's
/// `EXPIREAT`. Returns `rotated`, `reuse` or `revoked`.
///
/// A family that is missing, revoked or expired before now is `revoked`; otherwise the
/// presented `jti` is either the live one (swap it, keep the later expiry: `rotated`) or a
/// spent one (revoke the family: `reuse`). One script, so two concurrent rotations of one
/// token cannot both see it live.
pub(crate) static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local family = redis.call('HMGET', KEYS[1], 'live', 'revoked', 'exp')
local exp = tonumber(family[3])
if not exp or family[2] == '1' or exp < tonumber(ARGV[4]) then
  return 'revoked'
end
if family[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'live', ARGV[2])
  if tonumber(ARGV[3]) > exp then
    redis.call('HSET', KEYS[1], 'exp', ARGV[3])
    redis.call('EXPIREAT', KEYS[1], ARGV[5])
  end
  return 'rotated'
end
redis.call('HSET', KEYS[1], 'revoked', '1')
return 'reuse'
",
    )
});

/// `revoke_family`: `KEYS[1]` the family key; `ARGV[1]` expiry, `ARGV[2]` its `EXPIREAT`.
/// Marks the family revoked (creating it if unknown) and keeps the later expiry.
pub(crate) static REVOKE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local exp = tonumber(redis.call('HGET', KEYS[1], 'exp'))
redis.call('HSET', KEYS[1], 'revoked', '1')
if not exp or tonumber(ARGV[1]) > exp then
  redis.call('HSET', KEYS[1], 'exp', ARGV[1])
  redis.call('EXPIREAT', KEYS[1], ARGV[2])
end
return 1
",
    )
});

/// `revoke_identity`: `KEYS[1]` the identity key; `ARGV[1]` the cut-off in ms, `ARGV[2]` the
/// expiry, `ARGV[3]` its `EXPIREAT`. Keeps the later cut-off and the later expiry.
pub(crate) static REVOKE_IDENTITY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local identity = redis.call('HMGET', KEYS[1], 'cutoff', 'exp')
local cutoff = tonumber(identity[1])
local exp = tonumber(identity[2])
if not cutoff or tonumber(ARGV[1]) > cutoff then
  redis.call('HSET', KEYS[1], 'cutoff', ARGV[1])
end
if not exp or tonumber(ARGV[2]) > exp then
  redis.call('HSET', KEYS[1], 'exp', ARGV[2])
  redis.call('EXPIREAT', KEYS[1], ARGV[3])
end
return 1
",
    )
});
