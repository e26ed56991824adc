use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{SignalKind, signal};
use warp::Filter;
use warp::http::{HeaderValue, Method, Response, StatusCode, header};
use warp::path::FullPath;
use warp::reply::Response as Reply;

use crate::cli::Args;
use crate::delay::Delay;
use crate::metrics::{self, Metrics};
use crate::notify::notify;

/// The first line the backend prints on stdout once it accepts connections; the lab runner reads it
/// to learn the port when started with port 0.
pub const LISTENING_PREFIX: &str = "listening on http://";

pub(crate) struct State {
    id: u32,
    greeting: &'static str,
    id_header: HeaderValue,
    delay: Option<Delay>,
    pub(crate) metrics: Metrics,
}

/// Runs the backend until SIGTERM or SIGINT, then drains: the listener closes, requests in flight
/// complete, idle keep-alive connections are closed, and the function returns.
pub fn run(args: Args) -> std::io::Result<()> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n as usize);
    }
    rt.enable_all().build()?.block_on(serve(args))
}

async fn serve(args: Args) -> std::io::Result<()> {
    let listener = bind(args.listen).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", args.listen))
    })?;
    let local = listener.local_addr()?;
    let state = Arc::new(State {
        id: args.id,
        // Leaked once: the body is then a &'static str that every response shares without a copy.
        greeting: Box::leak(format!("Hello from Server {}!", args.id).into_boxed_str()),
        id_header: HeaderValue::from(args.id),
        delay: args.delay,
        metrics: Metrics::default(),
    });

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("signal received: draining");
        notify("STOPPING=1");
    };

    let counted = state.clone();
    let routes = warp::method()
        .and(warp::path::full())
        .and(warp::any().map(move || state.clone()))
        .then(handle);

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{LISTENING_PREFIX}{local}")?;
        out.flush()?;
    }
    tracing::info!(id = args.id, %local, "listening");
    notify("READY=1");
    // Each connection is served as warp's graceful server serves it (hyper's HTTP/1.1 with HTTP/2
    // detected, each watched so that a shutdown waits for the requests in flight), but accepted
    // here and counted first: warp 0.4 keeps its acceptor trait private, so no counting listener
    // can be handed to it. On shutdown the listener closes, requests in flight complete, idle
    // keep-alive connections are closed, and this returns.
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        counted.metrics.connected();
        let state = counted.clone();
        let svc = crate::conn_count::Counted::new(
            hyper_util::service::TowerToHyperService::new(warp::service(routes.clone())),
            move || state.metrics.request_connection(),
        );
        let conn =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), svc)
                .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("a connection ended with an error: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    tracing::info!("drained, exiting");
    Ok(())
}

/// A failed accept: one the peer caused (refused, aborted, reset) is passed over; any other (out of
/// files) is logged and waited out for a second, as warp does, so as not to spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept failed: {e}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}

/// A listener with a deep accept queue: the lab opens up to thousands of connections at once.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

async fn handle(method: Method, path: FullPath, state: Arc<State>) -> Reply {
    let known = matches!(path.as_str(), "/" | "/healthz" | "/stats" | "/metrics");
    if !known {
        return status(StatusCode::NOT_FOUND, "not found\n");
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path.as_str() {
        "/" => greet(&state).await,
        "/healthz" => status(StatusCode::OK, "ok\n"),
        "/metrics" => prometheus(&state),
        _ => stats(&state),
    }
}

async fn greet(state: &State) -> Reply {
    // Leaves the in-flight count when dropped, also when the client goes away during a delay.
    let request = state.metrics.start();
    if let Some(delay) = state.delay {
        tokio::time::sleep(delay.sample()).await;
    }
    request.answered();
    let mut r = Response::new(state.greeting.into());
    let h = r.headers_mut();
    h.insert("x-backend-id", state.id_header.clone());
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn stats(state: &State) -> Reply {
    let body = serde_json::json!({
        "id": state.id,
        "served": state.metrics.served(),
        "in_flight": state.metrics.in_flight(),
        "connections": state.metrics.connections(),
        "request_connections": state.metrics.request_connections(),
        "pid": std::process::id(),
    });
    let mut r = Response::new(body.to_string().into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn prometheus(state: &State) -> Reply {
    let mut r = Response::new(state.metrics.render(state.id).into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    r
}

fn status(code: StatusCode, body: &'static str) -> Reply {
    let mut r = Response::new(body.into());
    *r.status_mut() = code;
    r
}
