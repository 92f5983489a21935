//! The CONTRACT.md reference server of jwt-gate: the smallest complete jwt-gate service,
//! configured only through environment variables.
//!
//! Run it with `cargo run -p contract-server` (listens on `127.0.0.1:$PORT`, default 5000), then
//! `curl -X POST localhost:5000/auth -H 'content-type: application/json'
//! -d '{"username":"user1","password":"abcxyz"}'`.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use contract_server::{Settings, app};
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
    let app = match app(settings) {
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
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
    {
        eprintln!("contract-server: {error}");
        return ExitCode::FAILURE;
    }
    tracing::info!("contract-server stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
