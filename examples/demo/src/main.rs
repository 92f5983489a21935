//! The `demo` binary: configuration from the environment, the database, the router, the
//! server. Configured by environment variables only (DEMO-API.md §1).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use demo::{Config, Db, StartError};
use tokio::net::TcpListener;
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
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), StartError> {
    let config = Config::from_env()?;
    if config.secret_generated {
        eprintln!(
            "demo: warning: JWT_SECRET_KEY is not set; using a random secret for this run \
             (tokens will not survive a restart)"
        );
    }
    let db = Db::connect(&config.database_url).await?;
    let router = demo::router(&config, db.clone())?;
    let address = format!("{}:{}", config.host, config.port);
    let listen_error = |source| StartError::Listen {
        address: address.clone(),
        source,
    };
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(listen_error)?;
    let local = listener.local_addr().map_err(listen_error)?;
    tracing::info!("listening on http://{local}");
    // Stops on SIGTERM or SIGINT, letting requests in progress finish for up to 4 s.
    jwt_gate::serve(listener, router, jwt_gate::shutdown_signal())
        .await
        .map_err(listen_error)?;
    db.close(Duration::from_millis(500)).await;
    tracing::info!("stopped");
    Ok(())
}
