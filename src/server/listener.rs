//! The HTTP server's connections: how many at once, how long a client may
//! take to send its headers (and to send the next request on a kept-alive
//! connection), and a graceful stop with a deadline. axum's own `serve`
//! has no timeout for a client that sends half a request and waits, and
//! waits for every connection at shutdown.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The limits of the connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more wait in the listen queue until one
    /// closes.
    pub max_connections: usize,
    /// A client must send a request's headers within this long, counted from
    /// the connection's start or from the end of the previous response (so
    /// this is also how long a kept-alive connection may stay idle).
    pub header_timeout: Duration,
    /// At shutdown, how long connections get to finish their requests.
    pub shutdown_grace: Duration,
}

/// The address a connection came in on (a request extension): the
/// interface's own, also when the listener is bound to `0.0.0.0`.
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// connections finish for at most `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let room = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {} // reap the finished
                                                       // At the cap, stop accepting: new connections wait in the kernel's
                                                       // listen queue, not in memory here.
        let permit = tokio::select! {
            permit = room.clone().acquire_owned() => permit.expect("never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a little, go on.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let local = match stream.local_addr() {
            Ok(local) => Some(LocalAddr(local)),
            Err(_) => None, // reset already: the request will not come
        };
        let service = app.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                if let Some(local) = local {
                    req.extensions_mut().insert(local);
                }
                req
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            // A client that went away, or timed out: nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                connections = connections.len(),
                "shutdown grace ended: closing the connections still open"
            );
            connections.abort_all();
        }
    }
    Ok(())
}
