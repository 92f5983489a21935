//! Memory of the verified-token cache under a stream of distinct tokens: the measurement behind
//! BENCHMARKS.md's "memory stays bounded".
//!
//! ```sh
//! cargo run --release -p jwt-gate --example verify_cache_memory            # 1 M tokens
//! cargo run --release -p jwt-gate --example verify_cache_memory -- 200000 0  # 200 k, cache off
//! ```
//!
//! Arguments: the number of distinct tokens (default 1 000 000) and the cache capacity
//! (default jwt-gate's, 16384; 0 turns the cache off). Each token is issued for a new identity,
//! verified once (a cache miss that inserts it), and dropped. The program prints the resident
//! set size (`VmRSS` of `/proc/self/status`) every tenth of the run, and last a line
//! `rss_growth_kib=<after - before> cache_entries_bound=<capacity> bytes_per_entry=<growth /
//! min(tokens, capacity)>`, so that the growth can be compared with the bound: it must stop
//! growing once the cache is full, whatever the number of tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use jwt_gate::{Claims, Credentials, Identity, Jwt, JwtConfig, Keys};

#[derive(Clone, Debug)]
struct User {
    id: i64,
}

impl Identity for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
}

/// The resident set size of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tokens: usize = args
        .next()
        .map_or(1_000_000, |n| n.parse().expect("a count"));
    let mut config = JwtConfig::default();
    if let Some(capacity) = args.next() {
        config.verify_cache_capacity = capacity.parse().expect("a capacity");
    }
    config.expiration_delta = std::time::Duration::from_secs(3600);
    let capacity = config.verify_cache_capacity;
    let jwt: Jwt<User> =
        Jwt::builder(Keys::hs256("super-secret-test-key-0123456789abcdef").unwrap())
            .config(config)
            .authenticate(|_: Credentials| async { Ok::<Option<User>, Infallible>(None) })
            .identity(|claims: Claims<i64>| async move {
                Ok::<_, Infallible>(Some(User {
                    id: claims.identity,
                }))
            })
            .build()
            .unwrap();

    // Warm up the allocator and the code paths with one token before the first reading.
    let first = jwt.issue(&User { id: -1 }).unwrap();
    jwt.verify(&first).unwrap();
    let before = rss_kib();
    println!("tokens=0 rss_kib={before}");
    let step = (tokens / 10).max(1);
    for id in 0..tokens {
        let token = jwt.issue(&User { id: id as i64 }).unwrap();
        let claims = jwt.verify(&token).unwrap();
        assert_eq!(claims.identity, id as i64);
        if (id + 1) % step == 0 {
            println!("tokens={} rss_kib={}", id + 1, rss_kib());
        }
    }
    let after = rss_kib();
    let entries = tokens.min(capacity).max(1);
    println!(
        "rss_growth_kib={} cache_entries_bound={capacity} bytes_per_entry={}",
        after.saturating_sub(before),
        after.saturating_sub(before) * 1024 / entries as u64
    );
}
