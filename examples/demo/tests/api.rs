//! DEMO-API.md end to end through the router (`oneshot`), on a fresh database per test: the
//! whole suite on SQLite, and again on PostgreSQL when `TEST_POSTGRES_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking; helpers outside #[test] fns too"
)]

mod common;

mod sqlite {
    crate::behaviour_suite!(crate::common::sqlite);
}

mod postgres {
    crate::behaviour_suite!(crate::common::postgres);
}
