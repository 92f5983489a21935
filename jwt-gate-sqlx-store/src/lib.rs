//! SQLite and PostgreSQL [`RevocationStore`](jwt_gate::RevocationStore)s for
//! [jwt-gate](jwt_gate), on [sqlx]: revocations and refresh-token families that every
//! instance shares and that survive restarts.
//!
//! # Features
//!
//! None is on by default; enable the back ends you use:
//!
//! - `sqlite`: [`SqliteStore`], on a `SqlitePool` (SQLite bundled, as sqlx's `sqlite` feature).
//! - `postgres`: [`PostgresStore`], on a `PgPool`.
//!
//! ```toml
//! jwt-gate-sqlx-store = { version = "0.1", features = ["sqlite"] }
//! ```
//!
//! This crate re-exports its [`sqlx`], so the pool is built with the very sqlx the store
//! takes. For TLS to PostgreSQL, add `sqlx` with one of its `tls-*` features to your own
//! dependencies (same version): features add up.
//!
//! # Wiring a store
//!
//! Build the pool, create the tables with `migrate()` (idempotent: run it at every start-up),
//! then hold the store as `Arc<dyn RevocationStore>`:
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use jwt_gate::RevocationStore;
//! use jwt_gate_sqlx_store::SqliteStore;
//! use jwt_gate_sqlx_store::sqlx::sqlite::{
//!     SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions,
//! };
//!
//! let options = SqliteConnectOptions::new()
//!     .filename("revocations.db")
//!     .create_if_missing(true)
//!     // Readers never wait for the writer.
//!     .journal_mode(SqliteJournalMode::Wal)
//!     // Writers queue for SQLite's one write lock instead of failing with SQLITE_BUSY.
//!     .busy_timeout(Duration::from_secs(5));
//! let pool = SqlitePoolOptions::new().connect_with(options).await?;
//!
//! let store = SqliteStore::new(pool);
//! store.migrate().await?;
//! let store: Arc<dyn RevocationStore> = Arc::new(store);
//! # let _ = store;
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
//!
//! # Tables
//!
//! Three tables, named `jwt_gate_*` unless `with_table_prefix` says otherwise
//! (`PostgresStore::with_schema` also puts them in a schema):
//!
//! | table | key | columns |
//! |---|---|---|
//! | `jwt_gate_revoked_tokens` | `jti` | `expires_at` |
//! | `jwt_gate_families` | `family` | `live_refresh`, `revoked`, `expires_at` |
//! | `jwt_gate_identity_cutoffs` | `identity` | `cutoff_ms`, `expires_at` |
//!
//! Times come from jwt-gate's clock, never the database's: `expires_at` in Unix seconds,
//! `cutoff_ms` in Unix milliseconds. A row counts until its `expires_at` has passed; upserts
//! keep the later expiry and the later cut-off. Expired rows stay until
//! [`purge_expired`](jwt_gate::RevocationStore::purge_expired), which an application calls now
//! and then (say hourly, from a `tokio::time::interval` task).
//!
//! Every query is a runtime query with bind parameters: no `query!` macros, no
//! `DATABASE_URL` at build time. Each store's documentation explains how its refresh rotation
//! stays atomic.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod names;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod statements;

pub use sqlx;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[doc(inline)]
pub use names::{DEFAULT_TABLE_PREFIX, InvalidIdentifier};
#[cfg(feature = "postgres")]
#[doc(inline)]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[doc(inline)]
pub use sqlite::SqliteStore;
