//! The "stores and items" REST API of the Flask course (*REST APIs with Flask and Python*,
//! sections 5 and 6), ported to axum, [jwt-gate](jwt_gate), sqlx and argon2. The contract is
//! `DEMO-API.md`; `README.md` beside this crate shows it with curl.
//!
//! The binary only wires [`Config::from_env`], [`Db::connect`], [`router`] and
//! [`jwt_gate::serve`]; tests build the same [`Router`] with [`app`] and drive it with
//! `oneshot`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
pub mod config;
pub mod db;
pub mod error;
mod extract;
mod password;
mod routes;

use axum::Router;

#[doc(inline)]
pub use config::{Config, ConfigError};
#[doc(inline)]
pub use db::{Db, OpenError, User};

/// Largest request body read, in bytes; larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// An environment variable has an unusable value.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// jwt-gate refused the JWT settings.
    #[error(transparent)]
    Jwt(#[from] jwt_gate::ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] OpenError),
    /// The listening socket could not be opened, or serving failed.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// `HOST:PORT`.
        address: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// The whole API on `db`, configured by `config`.
///
/// # Errors
/// jwt-gate refuses the JWT settings (such as a lifetime that overflows `exp`).
pub fn router(config: &Config, db: Db) -> Result<Router, jwt_gate::ConfigError> {
    let jwt = auth::jwt(config, &db)?;
    Ok(routes::router(routes::AppState { jwt, db }))
}

/// Opens (and migrates) `config.database_url`, then builds the [`router`].
///
/// # Errors
/// The database cannot be opened or migrated, or jwt-gate refuses the JWT settings.
pub async fn app(config: &Config) -> Result<Router, StartError> {
    let db = Db::connect(&config.database_url).await?;
    Ok(router(config, db)?)
}
