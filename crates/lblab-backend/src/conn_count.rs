//! Which connections carried the load: a connection is counted once, at its first request for
//! `/`, so that the runner's own requests (`/healthz`, `/stats`, `/metrics`) never count and the
//! count is the connections a proxy opened to send requests, beside all those accepted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hyper::Request;
use hyper::body::Incoming;
use hyper::service::Service;

use crate::server::State;

/// One connection's service: the routes, and whether this connection has asked for `/` yet.
pub struct Counted<S> {
    inner: S,
    state: Arc<State>,
    /// Only this connection's: no other core writes it.
    seen: AtomicBool,
}

impl<S> Counted<S> {
    pub fn new(inner: S, state: Arc<State>) -> Self {
        Counted {
            inner,
            state,
            seen: AtomicBool::new(false),
        }
    }
}

impl<S: Service<Request<Incoming>>> Service<Request<Incoming>> for Counted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        // A load after the first: one relaxed load of a flag nobody else writes.
        if req.uri().path() == "/" && !self.seen.load(Ordering::Relaxed) {
            self.seen.store(true, Ordering::Relaxed);
            self.state.metrics.request_connection();
        }
        self.inner.call(req)
    }
}
