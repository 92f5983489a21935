//! The conformance suites of jwt-gate's stores: one macro per trait, the same tests for every
//! store: [`revocation_store_tests!`] for [`RevocationStore`]s, [`throttle_store_tests!`] for
//! [`ThrottleStore`](jwt_gate::ThrottleStore)s (its tests in [`throttle`]).
//!
//! ```text
//! store_tests::revocation_store_tests!(async { MyStore::connect(url).await.unwrap() });
//! store_tests::throttle_store_tests!(async { MyStore::connect(url).await.unwrap() });
//! ```
//!
//! The expression is evaluated once per test and must give a fresh, empty store (its own key
//! prefix, schema or file), so that the tests can run in parallel against one server.
//!
//! A store that needs a server names the variable holding its URL; each test then prints a
//! skip line and passes when that variable is unset, and runs (so fails when the server is
//! unreachable) when it is set:
//!
//! ```text
//! store_tests::revocation_store_tests!(skip_unless_env = "TEST_POSTGRES_URL", async {
//!     let url = std::env::var("TEST_POSTGRES_URL").unwrap();
//!     MyStore::connect(&url).await.unwrap()
//! });
//! ```

// A test suite: a failed store call is a failed test, and panicking says so best.
#![allow(clippy::unwrap_used)]
#![forbid(unsafe_code)]

use std::sync::Arc;

use jwt_gate::RevocationStore;
use jwt_gate::revocation::{Rotation, TokenRecord};

/// The tests' "now" in seconds: the real time when the test starts, so that stores whose back
/// end expires entries on its own clock (Redis) drop the test's entries soon after.
fn now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

fn record<'a>(
    jti: &'a str,
    family: &'a str,
    identity: &'a str,
    issued_at_ms: i64,
) -> TokenRecord<'a> {
    TokenRecord::new(jti, family, identity, issued_at_ms)
}

/// A token of nobody revoked is not revoked.
pub async fn fresh_store_revokes_nothing(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    assert!(
        !store
            .is_revoked(record("j1", "f1", "1", now_ms), now)
            .await
            .unwrap()
    );
}

/// `revoke_token` revokes that `jti` only, until its expiry.
pub async fn revoked_token_until_expiry(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    store.revoke_token("j1", now + 60).await.unwrap();
    assert!(
        store
            .is_revoked(record("j1", "f1", "1", now_ms), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(record("j1", "f1", "1", now_ms), now + 60)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(record("j2", "f1", "1", now_ms), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(record("j1", "f1", "1", now_ms), now + 61)
            .await
            .unwrap()
    );
}

/// Rotation swaps the live refresh token; the spent one is then a reuse that revokes the
/// whole family, access tokens included.
pub async fn rotation_then_reuse_revokes_the_family(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    store
        .create_family("fam", "r1", now + 100, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate("fam", "r1", "r2", now + 200, now)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .rotate("fam", "r2", "r3", now + 300, now)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert!(
        !store
            .is_revoked(record("a3", "fam", "1", now_ms), now)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .rotate("fam", "r1", "r4", now + 400, now)
            .await
            .unwrap(),
        Rotation::ReuseDetected
    );
    // Every token of the family is revoked now, the live refresh token included.
    assert!(
        store
            .is_revoked(record("a3", "fam", "1", now_ms), now)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .rotate("fam", "r3", "r5", now + 400, now)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    // Rotation kept the family until the latest refresh token's expiry.
    assert!(
        store
            .is_revoked(record("a3", "fam", "1", now_ms), now + 300)
            .await
            .unwrap()
    );
    // Another family is untouched.
    assert!(
        !store
            .is_revoked(record("b1", "other", "1", now_ms), now)
            .await
            .unwrap()
    );
}

/// Unknown and revoked families do not rotate.
pub async fn unknown_or_revoked_family_does_not_rotate(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    assert_eq!(
        store
            .rotate("nobody", "r1", "r2", now + 100, now)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    store
        .create_family("fam", "r1", now + 100, now)
        .await
        .unwrap();
    store.revoke_family("fam", now + 100).await.unwrap();
    assert_eq!(
        store
            .rotate("fam", "r1", "r2", now + 200, now)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    assert!(
        store
            .is_revoked(record("a1", "fam", "1", now_ms), now)
            .await
            .unwrap()
    );
}

/// A family past its expiry does not rotate.
pub async fn expired_family_does_not_rotate(store: Arc<dyn RevocationStore>) {
    let now = now();
    store
        .create_family("fam", "r1", now + 10, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate("fam", "r1", "r2", now + 100, now + 11)
            .await
            .unwrap(),
        Rotation::Revoked
    );
}

/// 20 concurrent rotations of one refresh token: exactly one wins, and the losers' reuse
/// revokes the family.
pub async fn concurrent_rotations_have_one_winner(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    store
        .create_family("fam", "r0", now + 100, now)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let next = format!("next-{i}");
            store
                .rotate("fam", "r0", &next, now + 200, now)
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let winners = outcomes.iter().filter(|o| **o == Rotation::Rotated).count();
    assert_eq!(winners, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Rotation::Rotated | Rotation::ReuseDetected | Rotation::Revoked
        )),
        "{outcomes:?}"
    );
    assert!(
        store
            .is_revoked(record("a", "fam", "1", now_ms), now)
            .await
            .unwrap()
    );
}

/// Logout-all revokes every token of the identity issued at or before the cut-off, with
/// millisecond precision; tokens issued after it, and other identities, stay good.
pub async fn identity_cutoff_has_millisecond_precision(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    store
        .revoke_identity("7", now_ms + 500, now + 100)
        .await
        .unwrap();
    assert!(
        store
            .is_revoked(record("a", "f", "7", now_ms + 499), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(record("a", "f", "7", now_ms + 500), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(record("a", "f", "7", now_ms + 501), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(record("a", "f", "8", now_ms), now)
            .await
            .unwrap()
    );
    // A smaller cut-off never lowers the earlier one.
    store.revoke_identity("7", now_ms, now + 100).await.unwrap();
    assert!(
        store
            .is_revoked(record("a", "f", "7", now_ms + 400), now)
            .await
            .unwrap()
    );
    // It lapses with its expiry.
    assert!(
        !store
            .is_revoked(record("a", "f", "7", now_ms), now + 101)
            .await
            .unwrap()
    );
}

/// Identities are compared exactly: `"1"` (a string id) is not `1`.
pub async fn identities_are_exact_keys(store: Arc<dyn RevocationStore>) {
    let now = now();
    let now_ms = now * 1000;
    store.revoke_identity("1", now_ms, now + 100).await.unwrap();
    assert!(
        !store
            .is_revoked(record("a", "f", "\"1\"", 0), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(record("a", "f", "11", 0), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .is_revoked(record("a", "f", "1", 0), now)
            .await
            .unwrap()
    );
}

/// Purging drops what expired and keeps what is live.
pub async fn purge_keeps_live_entries(store: Arc<dyn RevocationStore>) {
    let now = now();
    store.revoke_token("old", now - 10).await.unwrap();
    store.revoke_token("live", now + 10).await.unwrap();
    store.purge_expired(now).await.unwrap();
    assert!(
        store
            .is_revoked(record("live", "f", "1", 0), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_revoked(record("old", "f", "1", 0), now)
            .await
            .unwrap()
    );
}

/// Runs every conformance test against the store that `$make` (an `async` expression giving
/// a fresh store) builds, one `#[tokio::test]` each.
///
/// With `skip_unless_env = "VAR",` first, each test checks that environment variable before
/// evaluating `$make`: unset, it prints `skipped: VAR unset` and returns; set, it runs.
#[macro_export]
macro_rules! revocation_store_tests {
    (skip_unless_env = $var:literal, $make:expr $(,)?) => {
        $crate::revocation_store_tests!(@suite ::std::option::Option::Some($var), $make);
    };
    ($make:expr $(,)?) => {
        $crate::revocation_store_tests!(@suite ::std::option::Option::<&str>::None, $make);
    };
    (@suite $skip_unless_env:expr, $make:expr) => {
        $crate::revocation_store_tests!(@tests $skip_unless_env, $make;
            fresh_store_revokes_nothing,
            revoked_token_until_expiry,
            rotation_then_reuse_revokes_the_family,
            unknown_or_revoked_family_does_not_rotate,
            expired_family_does_not_rotate,
            concurrent_rotations_have_one_winner,
            identity_cutoff_has_millisecond_precision,
            identities_are_exact_keys,
            purge_keeps_live_entries,
        );
    };
    (@tests $skip_unless_env:expr, $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let ::std::option::Option::Some(var) = $skip_unless_env {
                    if ::std::env::var_os(var).is_none() {
                        ::std::eprintln!("{}: skipped: {var} unset", ::std::stringify!($name));
                        return;
                    }
                }
                let store: ::std::sync::Arc<dyn ::jwt_gate::RevocationStore> =
                    ::std::sync::Arc::new($make.await);
                $crate::$name(store).await;
            }
        )*
    };
}

/// The conformance tests of [`ThrottleStore`](jwt_gate::ThrottleStore)s, run by
/// [`throttle_store_tests!`](crate::throttle_store_tests).
///
/// Times are the tests' own (milliseconds from the real time when the test starts, offsets
/// explicit), never the store's: a store must count with the caller's `now_ms` only.
pub mod throttle {
    use std::sync::Arc;

    use jwt_gate::ThrottleStore;

    /// The window of most tests: jwt-gate's default minute.
    const WINDOW: i64 = 60_000;

    /// How many failures a store keeps per key: the newest 1024, like jwt-gate's
    /// `MemoryThrottleStore`, so that a throttle behaves the same whatever its store.
    pub const MAX_FAILURES_PER_KEY: u64 = 1024;

    fn now_ms() -> i64 {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    /// Failures within the window are counted, and the oldest of them is reported.
    pub async fn failures_count_within_the_window(store: Arc<dyn ThrottleStore>) {
        let t = now_ms();
        assert_eq!(
            store.failures("user:a", t, WINDOW).await.unwrap(),
            (0, None)
        );
        store.record_failure("user:a", t, WINDOW).await.unwrap();
        assert_eq!(
            store.failures("user:a", t, WINDOW).await.unwrap(),
            (1, Some(t))
        );
        store
            .record_failure("user:a", t + 1_000, WINDOW)
            .await
            .unwrap();
        store
            .record_failure("user:a", t + 2_500, WINDOW)
            .await
            .unwrap();
        assert_eq!(
            store.failures("user:a", t + 3_000, WINDOW).await.unwrap(),
            (3, Some(t))
        );
        // Reading does not count.
        assert_eq!(
            store.failures("user:a", t + 3_000, WINDOW).await.unwrap(),
            (3, Some(t))
        );
    }

    /// A failure at `t` counts while `now - window < t`: up to `t + window - 1` inclusive.
    /// The oldest reported moves on as failures leave.
    pub async fn failures_leave_the_window(store: Arc<dyn ThrottleStore>) {
        let t = now_ms();
        store.record_failure("user:a", t, WINDOW).await.unwrap();
        store
            .record_failure("user:a", t + 20_000, WINDOW)
            .await
            .unwrap();
        assert_eq!(
            store
                .failures("user:a", t + WINDOW - 1, WINDOW)
                .await
                .unwrap(),
            (2, Some(t))
        );
        assert_eq!(
            store.failures("user:a", t + WINDOW, WINDOW).await.unwrap(),
            (1, Some(t + 20_000))
        );
        assert_eq!(
            store
                .failures("user:a", t + 20_000 + WINDOW, WINDOW)
                .await
                .unwrap(),
            (0, None)
        );
        // The key works again after its failures all left.
        store
            .record_failure("user:a", t + 90_000, WINDOW)
            .await
            .unwrap();
        assert_eq!(
            store.failures("user:a", t + 90_001, WINDOW).await.unwrap(),
            (1, Some(t + 90_000))
        );
        // A shorter window sees fewer failures.
        store
            .record_failure("user:a", t + 95_000, WINDOW)
            .await
            .unwrap();
        assert_eq!(
            store.failures("user:a", t + 96_000, 2_000).await.unwrap(),
            (1, Some(t + 95_000))
        );
    }

    /// `clear` forgets every failure of its key, and the key counts from zero afterwards.
    pub async fn clear_forgets_the_key(store: Arc<dyn ThrottleStore>) {
        let t = now_ms();
        for i in 0..3 {
            store.record_failure("user:a", t + i, WINDOW).await.unwrap();
        }
        store.clear("user:a").await.unwrap();
        assert_eq!(
            store.failures("user:a", t + 10, WINDOW).await.unwrap(),
            (0, None)
        );
        // Clearing an unknown key is no error.
        store.clear("user:nobody").await.unwrap();
        store
            .record_failure("user:a", t + 20, WINDOW)
            .await
            .unwrap();
        assert_eq!(
            store.failures("user:a", t + 30, WINDOW).await.unwrap(),
            (1, Some(t + 20))
        );
    }

    /// Keys are exact and independent: other names, other kinds, other case, and names holding
    /// separators or braces.
    pub async fn keys_are_independent(store: Arc<dyn ThrottleStore>) {
        let t = now_ms();
        let keys = [
            "user:a",
            "user:A",
            "user:a ",
            "ip:a",
            "ip:127.0.0.1",
            "ip:::1",
            "user:a}",
            "user:{a}",
            "user:a:b",
            "user:é",
        ];
        for (i, key) in keys.iter().enumerate() {
            for j in 0..=i {
                let at = t + i64::try_from(j).unwrap();
                store.record_failure(key, at, WINDOW).await.unwrap();
            }
        }
        for (i, key) in keys.iter().enumerate() {
            let count = u64::try_from(i + 1).unwrap();
            assert_eq!(
                store.failures(key, t + 100, WINDOW).await.unwrap(),
                (count, Some(t)),
                "{key:?}"
            );
        }
        store.clear("user:a").await.unwrap();
        assert_eq!(
            store.failures("user:a", t + 100, WINDOW).await.unwrap(),
            (0, None)
        );
        assert_eq!(
            store.failures("user:A", t + 100, WINDOW).await.unwrap(),
            (2, Some(t))
        );
        assert_eq!(
            store.failures("user:a}", t + 100, WINDOW).await.unwrap(),
            (7, Some(t))
        );
    }

    /// Failures at the same millisecond, recorded concurrently, all count.
    pub async fn concurrent_failures_all_count(store: Arc<dyn ThrottleStore>) {
        let t = now_ms();
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store
                    .record_failure("ip:10.0.0.1", t, WINDOW)
                    .await
                    .unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            store.failures("ip:10.0.0.1", t + 1, WINDOW).await.unwrap(),
            (50, Some(t))
        );
    }

    /// A key keeps its newest [`MAX_FAILURES_PER_KEY`] failures, however many are recorded:
    /// the count stops there and the oldest reported is the oldest one kept.
    pub async fn failures_per_key_are_capped(store: Arc<dyn ThrottleStore>) {
        let t = now_ms();
        let recorded = MAX_FAILURES_PER_KEY + 100;
        for i in 0..recorded {
            let at = t + i64::try_from(i).unwrap();
            store
                .record_failure("ip:10.0.0.2", at, WINDOW)
                .await
                .unwrap();
        }
        let first_kept = t + i64::try_from(recorded - MAX_FAILURES_PER_KEY).unwrap();
        assert_eq!(
            store
                .failures("ip:10.0.0.2", t + 5_000, WINDOW)
                .await
                .unwrap(),
            (MAX_FAILURES_PER_KEY, Some(first_kept))
        );
        // Other keys are unaffected.
        assert_eq!(
            store
                .failures("ip:10.0.0.3", t + 5_000, WINDOW)
                .await
                .unwrap(),
            (0, None)
        );
    }
}

/// Runs every throttle conformance test (module [`throttle`]) against the
/// [`ThrottleStore`](jwt_gate::ThrottleStore) that `$make` (an `async` expression giving a
/// fresh store) builds, one `#[tokio::test]` each, named `throttle_<test>`.
///
/// With `skip_unless_env = "VAR",` first, each test checks that environment variable before
/// evaluating `$make`: unset, it prints `skipped: VAR unset` and returns; set, it runs.
///
/// ```text
/// store_tests::throttle_store_tests!(async { jwt_gate::MemoryThrottleStore::new() });
/// ```
#[macro_export]
macro_rules! throttle_store_tests {
    (skip_unless_env = $var:literal, $make:expr $(,)?) => {
        $crate::throttle_store_tests!(@suite ::std::option::Option::Some($var), $make);
    };
    ($make:expr $(,)?) => {
        $crate::throttle_store_tests!(@suite ::std::option::Option::<&str>::None, $make);
    };
    (@suite $skip_unless_env:expr, $make:expr) => {
        $crate::throttle_store_tests!(@tests $skip_unless_env, $make;
            throttle_failures_count_within_the_window = failures_count_within_the_window,
            throttle_failures_leave_the_window = failures_leave_the_window,
            throttle_clear_forgets_the_key = clear_forgets_the_key,
            throttle_keys_are_independent = keys_are_independent,
            throttle_concurrent_failures_all_count = concurrent_failures_all_count,
            throttle_failures_per_key_are_capped = failures_per_key_are_capped,
        );
    };
    (@tests $skip_unless_env:expr, $make:expr; $($test:ident = $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                if let ::std::option::Option::Some(var) = $skip_unless_env {
                    if ::std::env::var_os(var).is_none() {
                        ::std::eprintln!("{}: skipped: {var} unset", ::std::stringify!($test));
                        return;
                    }
                }
                let store: ::std::sync::Arc<dyn ::jwt_gate::ThrottleStore> =
                    ::std::sync::Arc::new($make.await);
                $crate::throttle::$name(store).await;
            }
        )*
    };
}
