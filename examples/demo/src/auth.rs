//! The demo's jwt-gate: `authenticate` against the users table, `identity` by id, the login
//! answer `{access_token, user_id}`, and errors as `{message, code}`.

use axum::Json;
use jwt_gate::{
    BoxError, Claims, ConfigError, Credentials, Jwt, JwtError, Keys, LoginThrottle, Tokens,
};
use serde_json::json;

use crate::config::Config;
use crate::db::{Db, User};
use crate::error::error_body;
use crate::password;
use crate::routes::valid_email;

/// Builds the [`Jwt`] of the demo.
pub(crate) fn jwt(config: &Config, db: &Db) -> Result<Jwt<User>, ConfigError> {
    let for_login = db.clone();
    let for_identity = db.clone();
    let mut builder = Jwt::<User>::builder(Keys::hs256(&config.jwt_secret)?);
    if let Some(failures) = config.login_throttle {
        // Per email (the login's username key) and 5× per client IP, per rolling minute.
        builder = builder
            .login_throttle(LoginThrottle::new(failures).with_ascii_case_insensitive_usernames());
    }
    builder
        .config(config.jwt_config())
        .authenticate(move |credentials: Credentials| {
            let db = for_login.clone();
            async move { authenticate(&db, credentials).await }
        })
        .identity(move |claims: Claims<i64>| {
            let db = for_identity.clone();
            async move { db.user(claims.identity).await }
        })
        .auth_response(|tokens: Tokens, user: &User| {
            Json(json!({ "access_token": tokens.access_token, "user_id": user.id }))
        })
        .error_handler(|error: &JwtError| error_body(error.status(), &error.to_string()))
        .build()
}

/// The user whose email (ignoring ASCII case) and password match. An unknown email still
/// costs one argon2 verification, so timing does not tell which emails are registered.
async fn authenticate(db: &Db, credentials: Credentials) -> Result<Option<User>, BoxError> {
    let Credentials {
        username: email,
        password,
        ..
    } = credentials;
    // An email that could never have been registered is looked up nowhere (PostgreSQL refuses
    // text with NUL characters).
    let found = if valid_email(&email) {
        db.login(&email.to_ascii_lowercase()).await?
    } else {
        None
    };
    let (user, hash) = found.unzip();
    let matches = password::verify(password, hash).await?;
    Ok(user.filter(|_| matches))
}
