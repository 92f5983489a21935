//! The CONTRACT.md reference server of jwt-gate: the smallest complete jwt-gate service,
//! configured only through environment variables.
//!
//! Run it with `cargo run -p contract-server` (listens on `127.0.0.1:$PORT`, default 5000), then
//! `curl -X POST localhost:5000/auth -H 'content-type: application/json'
//! -d '{"username":"user1","password":"abcxyz"}'`.
//!
//! # Keys
//!
//! - HMAC (`JWT_ALGORITHM` unset, `HS256`, `HS384` or `HS512`) with `JWT_SECRET_KEY`: exactly
//!   Flask-JWT's tokens (header `{"typ","alg"}`, an incoming `kid` ignored);
//!   `/.well-known/jwks.json` answers `{"keys": []}`. `JWT_PRIVATE_KEY_FILE` and
//!   `JWT_PUBLIC_KEY_FILE` are not read.
//! - A key pair (`RS256`/`384`/`512`, `PS256`/`384`/`512`, `ES256`, `ES384`, `EdDSA`):
//!   `JWT_PRIVATE_KEY_FILE` (PEM, PKCS#8, or PKCS#1 for RSA) signs and `JWT_PUBLIC_KEY_FILE`
//!   (PEM) must be its public half. Tokens carry `kid`, the RFC 7638 thumbprint of the public
//!   key, which `/.well-known/jwks.json` publishes. A missing, unreadable or mismatched file, a
//!   key of another algorithm or an RSA key under 2048 bits stops the server at start: exit
//!   status 2 and one line naming the variable (`JWT_SECRET_KEY` is not read).
//! - `JWT_ISSUER` / `JWT_AUDIENCE` (a comma-separated list): issued tokens get `iss` and the
//!   first audience as `aud`; verified ones must carry that `iss` and name one of the audiences.
//! - `/.well-known/jwks.json` is always mounted; `JWT_AUTH_URL_RULE` may not take its path (nor
//!   `/metrics` with `APP_METRICS=1`).
//! - Verify-only mode, `JWT_JWKS_URL` (http or https): tokens are verified with the keys of that
//!   JWKS, each with the algorithm its JWK names (`JWT_ALGORITHM` is only checked to be a valid
//!   name). They are fetched once at start, before the server listens (each fetch has 5 s); if that
//!   fails the server starts anyway (with a warning in the log), refuses every token, and fetches
//!   again when a token comes. They are cached for the JWKS's `Cache-Control: max-age` (300 s when
//!   it has none) and fetched again at once when a token names an unknown `kid`, at most once per
//!   10 s; a failed fetch keeps the last good keys for an hour past their expiry. The login route
//!   is not mounted (404, like any unknown path), nor the lifecycle's `/refresh`, `/logout` and
//!   `/logout-all`; `/.well-known/jwks.json` republishes the fetched keys. `JWT_JWKS_URL` with
//!   `JWT_PRIVATE_KEY_FILE` is refused (exit status 2, naming `JWT_JWKS_URL`): a server that signs
//!   publishes its own keys. `JWT_PUBLIC_KEY_FILE` is not used (a warning says so);
//!   `JWT_SECRET_KEY` neither, though a set one that is empty or under 32 bytes is still refused.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use contract_server::{KeySetting, Settings, app_with_metrics, connect_store, prometheus_recorder};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("contract-server: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let port = settings.port;
    if let KeySetting::Jwks(remote) = &settings.keys {
        if std::env::var_os("JWT_PUBLIC_KEY_FILE").is_some_and(|path| !path.is_empty()) {
            tracing::warn!(
                "contract-server: JWT_PUBLIC_KEY_FILE is not used: in verify-only mode the keys come from JWT_JWKS_URL"
            );
        }
        // Before listening, so that a server that answers has its keys; a key server that is
        // down does not keep this one from starting (the keys are fetched again on demand).
        match remote.refresh_now().await {
            Ok(()) => tracing::info!("contract-server: fetched the keys of JWT_JWKS_URL"),
            Err(error) => tracing::warn!(
                %error,
                "contract-server: could not fetch the keys of JWT_JWKS_URL; tokens are refused until a fetch succeeds"
            ),
        }
    }
    // With `JWT_REVOCATION_STORE=redis://...` the login throttle counts in that Redis too.
    let stores = match &settings.lifecycle {
        None => None,
        Some(setting) => match connect_store(setting).await {
            Ok(stores) => Some(stores),
            Err(error) => {
                eprintln!("contract-server: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    let metrics = settings.metrics.then(|| {
        let recorder = prometheus_recorder();
        let handle = recorder.handle();
        // The only recorder of this process: installing it cannot fail.
        metrics::set_global_recorder(recorder).ok();
        handle
    });
    let app = match app_with_metrics(settings, stores, metrics) {
        Ok(app) => app,
        Err(error) => {
            eprintln!("contract-server: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("contract-server: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%address, "contract-server listening");
    if let Err(error) = jwt_gate::serve(listener, app, jwt_gate::shutdown_signal()).await {
        eprintln!("contract-server: {error}");
        return ExitCode::FAILURE;
    }
    tracing::info!("contract-server stopped");
    ExitCode::SUCCESS
}
