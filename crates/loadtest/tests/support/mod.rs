//! What the `loadtest` binary is tested against: the binary itself, and raw TCP servers on loopback
//! that answer the way a broken or hung target does.

mod backend;

pub use backend::Backend;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub fn loadtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .output()
        .unwrap()
}

/// `--json`'s object; panics with stderr when stdout is not one.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A URL on a port nobody listens on: bind one, learn it, close it.
pub fn refusing_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/")
}

/// What a raw server does with each connection once it has read a request head.
#[derive(Clone, Copy)]
pub enum Answer {
    /// Write these bytes, then close.
    Bytes(&'static [u8]),
    /// Wait, then write these bytes and close.
    After(Duration, &'static [u8]),
    /// Keep the connection open and never write.
    Never,
}

/// A TCP server on 127.0.0.1 that counts the connections it accepts. Its threads end with the test
/// process.
pub struct RawServer {
    pub url: String,
    accepted: Arc<AtomicU64>,
}

impl RawServer {
    pub fn start(answer: Answer) -> RawServer {
        RawServer::cycling(vec![answer])
    }

    /// Answers the i-th connection it accepts with `answers[i % len]`.
    pub fn cycling(answers: Vec<Answer>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let i = count.fetch_add(1, Ordering::SeqCst) as usize;
                let answer = answers[i % answers.len()];
                std::thread::spawn(move || serve(stream, answer));
            }
        });
        RawServer { url, accepted }
    }

    /// Connections accepted so far: each is one request, as the server answers once and closes.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, answer: Answer) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    match answer {
        Answer::Bytes(b) => {
            let _ = stream.write_all(b);
        }
        Answer::After(d, b) => {
            std::thread::sleep(d);
            let _ = stream.write_all(b);
        }
        Answer::Never => {
            // Hold the connection until the client gives up on it.
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        }
    }
}

/// A server that keeps every connection open whatever the request says (`Connection: close`
/// included, as some servers do) and answers each request on it the same way, keeping the heads it
/// read. After `answers_per_connection` answers on a connection (if set) it reads one more request
/// and closes without answering it, as a server closing an idle kept-alive connection does when
/// the close crosses the client's next request.
pub struct KeepAliveServer {
    pub url: String,
    connections: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl KeepAliveServer {
    pub fn start(answer: &'static [u8], answers_per_connection: Option<u64>) -> KeepAliveServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = KeepAliveServer {
            url: format!("http://{}/", listener.local_addr().unwrap()),
            connections: Arc::default(),
            answered: Arc::default(),
            heads: Arc::default(),
        };
        let (connections, answered, heads) = (
            server.connections.clone(),
            server.answered.clone(),
            server.heads.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                let (answered, heads) = (answered.clone(), heads.clone());
                std::thread::spawn(move || {
                    keep_serving(stream, answer, answers_per_connection, &answered, &heads)
                });
            }
        });
        server
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// The heads of the requests read so far, answered or not.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn keep_serving(
    mut stream: TcpStream,
    answer: &[u8],
    limit: Option<u64>,
    answered: &AtomicU64,
    heads: &std::sync::Mutex<Vec<String>>,
) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    let mut answers = 0;
    loop {
        // Requests are GETs without a body: each ends at its blank line.
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = pending.drain(..end + 4).collect();
            heads
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            if limit.is_some_and(|n| answers >= n) {
                return;
            }
            if stream.write_all(answer).is_err() {
                return;
            }
            answers += 1;
            answered.fetch_add(1, Ordering::SeqCst);
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// A complete HTTP/1.1 answer from backend 1 that leaves its connection open.
pub const OK_KEPT_ALIVE: &[u8] =
    b"HTTP/1.1 200 OK\r\nX-Backend-Id: 1\r\nContent-Length: 2\r\n\r\nok";

/// A complete HTTP/1.1 answer from backend 1 that closes its connection.
pub const OK_FROM_1: &[u8] =
    b"HTTP/1.1 200 OK\r\nX-Backend-Id: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/// A real nginx in a temporary prefix, with `http` holding the given server blocks (which may use
/// `{port0}`, `{port1}`, … for free ports, and `{prefix}`); stopped and removed on drop.
pub struct Nginx {
    pub ports: Vec<u16>,
    pub prefix: tempfile::TempDir,
    child: std::process::Child,
}

impl Nginx {
    pub fn start(ports: usize, http: &str) -> Nginx {
        // Found on PATH only, as in Nix's build sandbox, where there is no /usr.
        let nginx = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
            .expect(
                "nginx is needed for these tests and was not found on PATH (Debian: apt-get \
                 install nginx; it is in /usr/sbin, which an ordinary user adds to PATH)",
            );
        let prefix = tempfile::Builder::new()
            .prefix("loadtest-nginx-")
            .tempdir()
            .unwrap();
        let listeners: Vec<TcpListener> = (0..ports)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        drop(listeners);
        let p = prefix.path().display().to_string();
        let mut http = http.replace("{prefix}", &p);
        for (i, port) in ports.iter().enumerate() {
            http = http.replace(&format!("{{port{i}}}"), &port.to_string());
        }
        let conf = format!(
            "worker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n access_log off;\n client_body_temp_path {p}/cb; proxy_temp_path {p}/px; fastcgi_temp_path {p}/fc; uwsgi_temp_path {p}/uw; scgi_temp_path {p}/sc;\n{http}\n}}\n"
        );
        std::fs::write(prefix.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .args([
                "-p",
                &p,
                "-c",
                &format!("{p}/nginx.conf"),
                "-g",
                "daemon off;",
            ])
            .spawn()
            .unwrap();
        for port in &ports {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "nginx did not listen on {port}: {}",
                    std::fs::read_to_string(prefix.path().join("error.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Nginx {
            ports,
            prefix,
            child,
        }
    }

    pub fn url(&self, i: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[i])
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: nginx's workers outlive a SIGKILLed master.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
