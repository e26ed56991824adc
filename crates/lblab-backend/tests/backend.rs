//! The backend binary over real sockets: its endpoints, its errors, and its drain on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Backend {
    child: Child,
    addr: SocketAddr,
}

impl Backend {
    fn start(args: &[&str]) -> Backend {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lblab-backend"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .expect(&line)
            .parse()
            .unwrap();
        Backend { child, addr }
    }

    fn term(&self) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(status line, headers+body)` of one request.
fn request(addr: SocketAddr, method: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (status, rest) = out.split_once("\r\n").unwrap();
    (status.to_owned(), rest.to_owned())
}

#[test]
fn endpoints() {
    let b = Backend::start(&["--id", "7"]);
    let (status, rest) = request(b.addr, "GET", "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(rest.contains("x-backend-id: 7\r\n"), "{rest}");
    assert!(rest.ends_with("\r\n\r\nHello from Server 7!"), "{rest}");
    assert_eq!(request(b.addr, "GET", "/healthz").0, "HTTP/1.1 200 OK");
    assert_eq!(request(b.addr, "GET", "/nope").0, "HTTP/1.1 404 Not Found");
    let (status, rest) = request(b.addr, "POST", "/");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(rest.to_lowercase().contains("allow: get, head"), "{rest}");
    let (_, stats) = request(b.addr, "GET", "/stats");
    let body = stats.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    // Only `/` counts: health checks, 404s and 405s do not.
    assert_eq!(v["id"], 7);
    assert_eq!(v["served"], 1);
    assert_eq!(v["pid"], b.child.id());
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits_0() {
    let mut b = Backend::start(&["--id", "1", "--delay", "400"]);
    let addr = b.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/"));
    std::thread::sleep(Duration::from_millis(100));
    b.term();
    let (status, rest) = slow.join().unwrap();
    assert_eq!(
        status, "HTTP/1.1 200 OK",
        "the in-flight request was cut: {rest}"
    );
    let until = Instant::now() + Duration::from_secs(5);
    let code = loop {
        if let Some(s) = b.child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            Instant::now() < until,
            "the backend did not exit after draining"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(code, Some(0));
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after the drain"
    );
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &["--id", "0"][..],
        &["--id", "1", "--delay", "soon"],
        &["--id", "1", "--listen", "nowhere"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lblab-backend"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_lblab-backend"))
        .args(["--id", "1", "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}
