//! [`serve`]: axum's `serve` with an HTTP layer that leaves header limits to
//! [`Jwt::json_errors`](crate::Jwt::json_errors), and a graceful shutdown.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::routing::MAX_HEADER_BYTES;

/// How long requests in progress may run on after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);
/// hyper refuses more than 100 header fields by default, with a bare 431 that no error handler
/// sees. Allow more, so that the JSON 431 of `json_errors` decides for headers of any usual
/// shape (CONTRACT: the limit is 16 KiB in all, so 300 small headers are served); not as many
/// as 16 KiB could hold (4096), because hyper allocates and fills room for the maximum on
/// every request: 512 slots cost ~6.5 k instructions a request (callgrind: 5.0 k filling, 1.5 k
/// allocating), a quarter of a `/public` request; the contract wins over that (BENCHMARKS.md).
const MAX_HEADER_FIELDS: usize = 512;
/// A client gets this long to send its request headers (slow-loris protection).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2) until `shutdown` completes, then stops
/// accepting, lets requests in progress finish for up to 4 seconds, and returns.
///
/// It is `axum::serve` with `ConnectInfo<SocketAddr>` on every request, and two differences:
/// the header size limit is left to [`Jwt::json_errors`](crate::Jwt::json_errors), so that an
/// oversized request gets the JSON 431 of the error handler instead of hyper's bare one (for
/// up to 512 header fields; more fields get hyper's bodiless 431), and slow clients time out.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// jwt_gate::serve(listener, app, jwt_gate::shutdown_signal()).await
/// # }
/// ```
///
/// # Errors
/// Never for a single connection's failure (that connection is dropped); only if the listener
/// itself fails permanently.
pub async fn serve<F>(listener: TcpListener, app: Router, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_headers(MAX_HEADER_FIELDS);
    builder
        .http2()
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES * 4).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::error!(%error, "jwt-gate: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Every request knows its peer, as with axum's `into_make_service_with_connect_info`
        // (the login throttle counts per client IP).
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that hangs up mid-request is not the server's error.
            connection.await.ok();
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("jwt-gate: requests still running after the shutdown grace period");
    }
    Ok(())
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Completes on SIGTERM or SIGINT (Ctrl-C): the usual `shutdown` for [`serve`].
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
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
