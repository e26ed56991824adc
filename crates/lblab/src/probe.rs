//! The runner's own requests to its backends (health, stats): minimal HTTP/1.0 GETs, and `/stats`
//! over HTTP/1.1 closed from this side; the load goes through loadtest.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `(status, body)` of `GET path`, or why not.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let io = async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(2), io)
        .await
        .map_err(|_| format!("{addr}{path}: no answer within 2 s"))?
        .map_err(|e| format!("{addr}{path}: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{addr}{path}: not an HTTP answer"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_owned()))
}

/// Polls until `GET path` answers 200 or `within` has passed; `still_running` is asked between tries
/// so that a process that died is reported at once instead of after the timeout.
pub async fn wait_ok(
    addr: SocketAddr,
    path: &str,
    within: Duration,
    mut still_running: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let until = Instant::now() + within;
    loop {
        still_running()?;
        match get(addr, path).await {
            Ok((200, _)) => return Ok(()),
            Ok((code, _)) if Instant::now() >= until => {
                return Err(format!(
                    "{addr}{path} answered {code}, not 200, within {within:?}"
                ));
            }
            Err(e) if Instant::now() >= until => return Err(e),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The `served` counter of a backend's `/stats`.
pub async fn served(addr: SocketAddr) -> Result<u64, String> {
    let (status, body) = get(addr, "/stats").await?;
    if status != 200 {
        return Err(format!("{addr}/stats answered {status}"));
    }
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{addr}/stats: {e}"))?;
    v["served"]
        .as_u64()
        .ok_or_else(|| format!("{addr}/stats has no 'served'"))
}

/// A backend's whole `/stats`, over HTTP/1.1: the answer is read by its length and the connection
/// closed by this side first. A connection the server closes first (HTTP/1.0, as [`get`] speaks)
/// leaves a TIME_WAIT on the backend's own port for a minute; a sample every 20 ms left dozens
/// there, and once the backend was killed, a listener bound to its port (another program taking
/// it) could meet `EADDRINUSE`. Closed from here, the TIME_WAIT is on this side's port.
pub async fn stats(addr: SocketAddr) -> Option<serde_json::Value> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(format!("GET /stats HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 16 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = std::str::from_utf8(&buf).ok()?;
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        if !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        let length: usize = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })?;
        if body.len() >= length {
            return serde_json::from_str(&body[..length]).ok();
        }
    }
}
