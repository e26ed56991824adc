//! Which connections carried the load: a connection is counted once, at its first request for
//! `/`, so that the runner's own requests (`/healthz`, `/stats`, `/metrics`) never count and the
//! count is the connections a proxy opened to send requests, beside all those accepted.

use std::sync::atomic::{AtomicBool, Ordering};

use hyper::Request;
use hyper::body::Incoming;
use hyper::service::Service;

/// One connection's service: the routes, what to do at its first request for `/` (count it), and
/// whether that has come yet.
pub struct Counted<S, F> {
    inner: S,
    first: F,
    /// Only this connection's: no other core writes it.
    seen: AtomicBool,
}

impl<S, F: Fn()> Counted<S, F> {
    pub fn new(inner: S, first: F) -> Self {
        Counted {
            inner,
            first,
            seen: AtomicBool::new(false),
        }
    }
}

impl<S: Service<Request<Incoming>>, F: Fn()> Service<Request<Incoming>> for Counted<S, F> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        // A load after the first: one relaxed load of a flag nobody else writes.
        if req.uri().path() == "/" && !self.seen.load(Ordering::Relaxed) {
            self.seen.store(true, Ordering::Relaxed);
            (self.first)();
        }
        self.inner.call(req)
    }
}
