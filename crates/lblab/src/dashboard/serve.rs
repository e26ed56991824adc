//! The dashboard's connections, bounded: another local user who opens thousands of connections and
//! sends nothing must not make it stop answering its owner, nor grow its memory without end.
//!
//! Each connection has a header timeout (which is also how long it may sit idle between requests,
//! since hyper waits for the next request's header then), and the dashboard holds at most
//! [`MAX_TOTAL`] connections, at most [`MAX_PER_PEER`] from one address. A connection beyond either
//! bound does not wait: the oldest connection that is not in the middle of a request (from that
//! address first) is closed to make room, so idle connections cannot lock a new one out; only when
//! every connection is busy answering is the new one refused.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::task::AbortHandle;
use warp::Filter;
use warp::reply::Response as Reply;

/// How long a client may take to send a request's header, and how long a kept-alive connection may
/// wait for its next request: a page polls every second, so 5 s idle means it went away (and a
/// browser opens a new connection when it comes back).
pub const HEADER_WITHIN: Duration = Duration::from_secs(5);
/// How long a request's body may take after its header: the forms are a few bytes.
pub const BODY_WITHIN: Duration = Duration::from_secs(5);
/// The most connections the dashboard holds at once: a browser opens a handful.
pub const MAX_TOTAL: usize = 256;
/// The most from one address. On loopback every local user is 127.0.0.1, so this bounds more than
/// one user; the eviction of idle connections is what keeps the owner served.
pub const MAX_PER_PEER: usize = 64;

struct Conn {
    peer: IpAddr,
    /// Set while a request is being answered, its body read (a switch may take seconds): such a
    /// connection is never closed to make room.
    busy: Arc<AtomicBool>,
    /// Set once its task runs; the task may finish before, and then there is nothing to abort.
    abort: Option<AbortHandle>,
}

/// The open connections, by when they were accepted (ids increase).
#[derive(Default)]
struct Table {
    next: u64,
    open: BTreeMap<u64, Conn>,
}

impl Table {
    /// Makes room for a connection from `peer` and records it, or `None`: refused.
    fn admit(&mut self, peer: IpAddr) -> Option<(u64, Arc<AtomicBool>)> {
        let from_peer = self.open.values().filter(|c| c.peer == peer).count();
        if from_peer >= MAX_PER_PEER && !self.evict(Some(peer)) {
            return None;
        }
        if self.open.len() >= MAX_TOTAL && !self.evict(None) {
            return None;
        }
        let id = self.next;
        self.next += 1;
        let busy = Arc::new(AtomicBool::new(false));
        self.open.insert(
            id,
            Conn {
                peer,
                busy: busy.clone(),
                abort: None,
            },
        );
        Some((id, busy))
    }

    /// Closes the oldest idle connection (from `peer`, if given); whether there was one.
    fn evict(&mut self, peer: Option<IpAddr>) -> bool {
        let victim = self.open.iter().find_map(|(&id, c)| {
            let idle = !c.busy.load(Ordering::Acquire);
            (idle && peer.is_none_or(|p| p == c.peer)).then_some(id)
        });
        match victim.and_then(|id| self.open.remove(&id)) {
            Some(c) => {
                if let Some(a) = c.abort {
                    a.abort();
                }
                true
            }
            None => false,
        }
    }
}

/// Removes its connection from the table when the connection's task ends, however it ends.
struct Leave(Arc<Mutex<Table>>, u64);

impl Drop for Leave {
    fn drop(&mut self) {
        if let Ok(mut t) = self.0.lock() {
            t.open.remove(&self.1);
        }
    }
}

/// Given to the routes with each request: they mark the connection busy once the request's body
/// has been read, so that a client who sends a header and then drips its body stays evictable.
#[derive(Clone)]
pub struct Started(Arc<AtomicBool>);

impl Started {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn marked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Clears its connection's busy mark when the request's answer is done (or dropped).
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Serves `filter` on `listener` until the task running this is aborted.
pub async fn run<F>(listener: tokio::net::TcpListener, filter: F)
where
    F: Filter<Extract = (Reply,), Error = Infallible> + Clone + Send + Sync + 'static,
{
    let table = Arc::new(Mutex::new(Table::default()));
    let service = TowerToHyperService::new(warp::service(filter));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors, most likely: a moment later some may have closed.
                tracing::warn!("dashboard: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let admitted = table.lock().ok().and_then(|mut t| t.admit(peer.ip()));
        let Some((id, busy)) = admitted else {
            // Every connection is answering a request: this one is closed unanswered.
            continue;
        };
        let leave = Leave(table.clone(), id);
        let service = service.clone();
        let task = tokio::spawn(async move {
            let _leave = leave;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                let started = Started(busy.clone());
                req.extensions_mut().insert(started.clone());
                let done = Done(busy.clone());
                let answer = service.call(req);
                async move {
                    let _done = done;
                    let mut answer = std::pin::pin!(answer);
                    // The header came within HEADER_WITHIN; the body must follow within
                    // BODY_WITHIN. Once the routes have it, the answer may take as long as a
                    // switch or a burst takes.
                    match tokio::time::timeout(BODY_WITHIN, &mut answer).await {
                        Ok(r) => r.map_err(|never: Infallible| match never {}),
                        Err(_) if started.marked() => {
                            answer.await.map_err(|never: Infallible| match never {})
                        }
                        Err(_) => Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the request's body did not come in time",
                        )),
                    }
                }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_WITHIN)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("dashboard: connection from {peer}: {e}");
            }
        });
        if let Ok(mut t) = table.lock()
            && let Some(c) = t.open.get_mut(&id)
        {
            c.abort = Some(task.abort_handle());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_connections_make_room_and_busy_ones_do_not() {
        let mut t = Table::default();
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap());
        let mut flags = Vec::new();
        for _ in 0..MAX_PER_PEER {
            flags.push(t.admit(a).unwrap());
        }
        // One more from the same address: its oldest idle connection goes.
        let (newest, _) = t.admit(a).unwrap();
        assert_eq!(t.open.len(), MAX_PER_PEER);
        assert!(!t.open.contains_key(&flags[0].0));
        assert!(t.open.contains_key(&newest));
        // All busy: the next one from it is refused, one from elsewhere is not.
        for c in t.open.values() {
            c.busy.store(true, Ordering::Release);
        }
        assert!(t.admit(a).is_none());
        assert!(t.admit(b).is_some());
    }
}
