//! The lean HTTP/1.1 engine for the measured load: one connection per task, the request written
//! from bytes encoded once (`request`), the answer's head parsed by httparse and its body framed by
//! Content-Length or chunked (`response`), keep-alive as the server allows it. Per request it
//! allocates nothing: the connection's read buffer and body scratch keep their capacity. reqwest
//! stays the engine of `--engine reqwest`, for comparison.

mod request;
mod response;

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, Sleep};

pub use request::RequestBytes;
use response::{Chunked, Framing, parse_head};

use crate::attribution::id_in_body;
use crate::backend_key::BackendKey;
use crate::failure::Failure;
use crate::status::OkStatus;

/// A response head may be this long at most.
const MAX_HEAD: usize = 64 * 1024;
/// Bytes asked of the kernel per read; the buffer keeps this capacity for the connection's life.
const READ_SIZE: usize = 16 * 1024;
/// Of a body, the part kept to find `Server N` in when there is no X-Backend-Id.
const BODY_KEPT: usize = 512;

/// One task's connection to the target, opened when needed and kept while the server allows.
pub struct Conn {
    wire: Wire,
    timeout: Duration,
    ok_status: OkStatus,
    /// `--timeout`, one timer for the connection's life, moved on per request: a later deadline
    /// is an atomic store in tokio's timer, where a new timer per request is a wheel insert and
    /// removal under its lock.
    timer: Option<Pin<Box<Sleep>>>,
}

/// The connection itself and the buffers it keeps.
struct Wire {
    target: SocketAddr,
    source: Option<IpAddr>,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    body: Vec<u8>,
    reused: bool,
    /// Whether the requests ask to keep the connection: one that sent `Connection: close` may
    /// send nothing more on it (RFC 9112 §9.6), whatever the server's answer says.
    keep_alive: bool,
}

impl Conn {
    /// `keep_alive`: whether the requests leave the connection open (no `Connection: close`);
    /// `ok_status`: the statuses that are answers rather than errors.
    pub fn new(
        target: SocketAddr,
        source: Option<IpAddr>,
        timeout: Duration,
        keep_alive: bool,
        ok_status: OkStatus,
    ) -> Conn {
        Conn {
            wire: Wire {
                target,
                source,
                stream: None,
                buf: Vec::new(),
                body: Vec::new(),
                reused: false,
                keep_alive,
            },
            timeout,
            ok_status,
            timer: None,
        }
    }

    /// Whether the last exchange went out on a connection kept alive from an earlier one: only
    /// then can a close before any answer be the keep-alive race.
    pub fn was_reused(&self) -> bool {
        self.wire.reused
    }

    /// Sends `request` and reads the whole answer: its status and who sent it. A status that is
    /// not in `--ok-status` is `Failure::Status`, after its body, so the connection stays usable.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<(u16, BackendKey), Failure> {
        let deadline = Instant::now() + self.timeout;
        let timer = match &mut self.timer {
            Some(timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        let outcome = tokio::select! {
            biased;
            outcome = self.wire.exchange_within(request) => outcome,
            () = timer.as_mut() => Err(Failure::Timeout),
        };
        match outcome {
            Ok((status, backend)) if self.ok_status.contains(status) => Ok((status, backend)),
            Ok((status, _)) => Err(Failure::Status(status)),
            Err(failure) => {
                // Whatever the connection was in the middle of, it cannot carry another request.
                self.wire.stream = None;
                Err(failure)
            }
        }
    }
}

impl Wire {
    async fn exchange_within(&mut self, request: &[u8]) -> Result<(u16, BackendKey), Failure> {
        self.reused = self.stream.is_some();
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => self.stream.insert(connect(self.target, self.source).await?),
        };
        if let Err(e) = stream.write_all(request).await {
            return Err(read_failure(&e));
        }
        let buf = &mut self.buf;
        buf.clear();
        let head = loop {
            match parse_head(buf) {
                // An interim answer (100 Continue): the real one follows it.
                Ok(Some(head)) if head.framing == Framing::Empty && head.status < 200 => {
                    buf.drain(..head.len);
                    continue;
                }
                Ok(Some(head)) => break head,
                Ok(None) if buf.len() >= MAX_HEAD => {
                    return Err(Failure::InvalidResponse("response head over 64 KiB".into()));
                }
                Ok(None) => {}
                Err(why) => return Err(Failure::InvalidResponse(why)),
            }
            if fill(stream, buf).await? == 0 {
                return Err(if buf.is_empty() {
                    Failure::Closed
                } else {
                    Failure::InvalidResponse("connection closed in the response head".into())
                });
            }
        };
        let body = &mut self.body;
        body.clear();
        // The body is looked at only where the head names no backend.
        let wanted = head.backend.is_none();
        let mut keep = |data: &[u8]| {
            if wanted && body.len() < BODY_KEPT {
                body.extend_from_slice(&data[..data.len().min(BODY_KEPT - body.len())]);
            }
        };
        let mut pos = head.len;
        match head.framing {
            Framing::Empty => {}
            Framing::Length(mut left) => loop {
                let take = ((buf.len() - pos) as u64).min(left) as usize;
                keep(&buf[pos..pos + take]);
                left -= take as u64;
                if left == 0 {
                    break;
                }
                buf.clear();
                pos = 0;
                if fill(stream, buf).await? == 0 {
                    return Err(Failure::Body);
                }
            },
            Framing::Chunked => {
                let mut state = Chunked::default();
                loop {
                    let (used, done) = state
                        .advance(&buf[pos..], &mut keep)
                        .map_err(Failure::InvalidResponse)?;
                    if done {
                        break;
                    }
                    buf.drain(..pos + used);
                    pos = 0;
                    if fill(stream, buf).await? == 0 {
                        return Err(Failure::Body);
                    }
                }
            }
            Framing::UntilClose => loop {
                keep(&buf[pos..]);
                buf.clear();
                pos = 0;
                if fill(stream, buf).await? == 0 {
                    break;
                }
            },
        }
        if !head.keep_alive || !self.keep_alive {
            self.stream = None;
        }
        let id = match head.backend {
            Some(id) => id,
            None => id_in_body(&self.body),
        };
        Ok((head.status, id.map_or(BackendKey::Unknown, BackendKey::Id)))
    }
}

/// Reads more of the answer into `buf`; 0 at the end of the stream.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize, Failure> {
    if buf.capacity() - buf.len() < READ_SIZE / 4 {
        buf.reserve(READ_SIZE);
    }
    stream.read_buf(buf).await.map_err(|e| read_failure(&e))
}

async fn connect(target: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, Failure> {
    let connect_failure = |e: std::io::Error| Failure::from_io(&e).unwrap_or(Failure::Connect);
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(connect_failure)?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(connect_failure)?;
    }
    let stream = socket.connect(target).await.map_err(connect_failure)?;
    // A request is one write and its answer should leave at once: no Nagle delay.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn read_failure(e: &std::io::Error) -> Failure {
    Failure::from_io(e).unwrap_or(Failure::Closed)
}

/// The address to connect to for `url`: an IP literal as it is, a name resolved once for the run,
/// preferring the family of the source addresses when there are any.
pub async fn resolve(url: &reqwest::Url, sources: &[IpAddr]) -> Result<SocketAddr, String> {
    let host = url.host_str().ok_or_else(|| format!("{url} has no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let wanted_v4 = sources.first().map(IpAddr::is_ipv4);
    found
        .iter()
        .find(|a| wanted_v4.is_none_or(|v4| a.is_ipv4() == v4))
        .or(found.first())
        .copied()
        .ok_or_else(|| format!("cannot resolve {host}: no address"))
}
