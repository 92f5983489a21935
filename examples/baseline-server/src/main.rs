//! The baseline of the HTTP benchmark (`bench/http.sh`): contract-server's routes written the
//! way a typical axum JWT example writes them, without jwt-gate.
//!
//! - `GET /public` → `{"ok": true}`.
//! - `GET /protected-noauth` → `{"id": 1, "username": "user1"}`, contract-server's `/protected`
//!   body with no authentication at all: the cost of the route itself.
//! - `GET /protected` → the same body for the token's user, behind a hand-written middleware:
//!   `Authorization: JWT <token>` (or `Bearer <token>`), `jsonwebtoken::decode` with HS256 and
//!   leeway 10, the user looked up in a fixed array. Any failure is 401 `{"error": ...}`.
//!
//! Configured like contract-server: `PORT` (default 5000, on 127.0.0.1), `JWT_SECRET_KEY`
//! (default `super-secret-test-key-0123456789abcdef`, so that contract-server's tokens are
//! accepted here), `RUST_LOG` (default `info`; nothing is logged per request at `info`).
//! Stops cleanly on SIGINT and SIGTERM.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

/// contract-server's default secret.
const DEFAULT_SECRET: &str = "super-secret-test-key-0123456789abcdef";

#[derive(Clone, Debug)]
struct User {
    id: i64,
    username: &'static str,
}

const USERS: [User; 2] = [
    User {
        id: 1,
        username: "user1",
    },
    User {
        id: 2,
        username: "user2",
    },
];

/// The claims contract-server issues.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // The time claims are read by `Validation`; declared so they must exist.
struct Claims {
    identity: i64,
    exp: u64,
    iat: u64,
    nbf: u64,
}

#[derive(Clone)]
struct Keys {
    decoding: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

enum AuthError {
    MissingToken,
    InvalidHeader,
    InvalidToken,
    UnknownUser,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let message = match self {
            Self::MissingToken => "Authorization header is missing",
            Self::InvalidHeader => "Unsupported authorization type",
            Self::InvalidToken => "Invalid token",
            Self::UnknownUser => "User does not exist",
        };
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, r#"JWT realm="Login Required""#)],
            Json(json!({"error": message})),
        )
            .into_response()
    }
}

async fn auth(State(keys): State<Keys>, mut request: Request, next: Next) -> Response {
    match authenticate(&keys, &request) {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

fn authenticate(keys: &Keys, request: &Request) -> Result<User, AuthError> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidHeader)?;
    let token = value
        .strip_prefix("JWT ")
        .or_else(|| value.strip_prefix("Bearer "))
        .ok_or(AuthError::InvalidHeader)?;
    let data = decode::<Claims>(token, &keys.decoding, &keys.validation)
        .map_err(|_| AuthError::InvalidToken)?;
    USERS
        .iter()
        .find(|user| user.id == data.claims.identity)
        .cloned()
        .ok_or(AuthError::UnknownUser)
}

async fn protected(Extension(user): Extension<User>) -> Json<Value> {
    Json(json!({"id": user.id, "username": user.username}))
}

async fn protected_noauth() -> Json<Value> {
    let user = &USERS[0];
    Json(json!({"id": user.id, "username": user.username}))
}

async fn public() -> Json<Value> {
    Json(json!({"ok": true}))
}

fn app(keys: Keys) -> Router {
    let protected = Router::new()
        .route("/protected", get(protected))
        .route_layer(middleware::from_fn_with_state(keys, auth));
    Router::new()
        .route("/public", get(public))
        .route("/protected-noauth", get(protected_noauth))
        .merge(protected)
}

fn keys(secret: &str) -> Result<Keys, String> {
    let decoding = DecodingKey::from_secret(secret.as_bytes()).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 10;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf"]);
    Ok(Keys {
        decoding: Arc::new(decoding),
        validation: Arc::new(validation),
    })
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let port = match std::env::var("PORT").ok().filter(|p| !p.is_empty()) {
        None => 5000,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => {
                eprintln!(
                    "baseline-server: configuration error: PORT: {port:?} is not a port number (1-65535)"
                );
                return ExitCode::from(2);
            }
        },
    };
    let secret = std::env::var("JWT_SECRET_KEY").unwrap_or_else(|_| DEFAULT_SECRET.to_owned());
    if secret.is_empty() {
        eprintln!("baseline-server: configuration error: JWT_SECRET_KEY: set but empty");
        return ExitCode::from(2);
    }
    let keys = match keys(&secret) {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("baseline-server: configuration error: JWT_SECRET_KEY: {error}");
            return ExitCode::from(2);
        }
    };

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("baseline-server: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%address, "baseline-server listening");
    if let Err(error) = axum::serve(listener, app(keys))
        .with_graceful_shutdown(shutdown_signal())
        .await
    {
        eprintln!("baseline-server: {error}");
        return ExitCode::FAILURE;
    }
    tracing::info!("baseline-server stopped");
    ExitCode::SUCCESS
}
