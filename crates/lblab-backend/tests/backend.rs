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
    // A connection per request above, this one's included; two of them asked for `/`.
    assert_eq!(v["connections"], 5);
    assert_eq!(v["request_connections"], 2);
}

#[test]
fn connections_count_the_tcp_connections_not_the_requests() {
    let b = Backend::start(&["--id", "2"]);
    let mut s = TcpStream::connect(b.addr).unwrap();
    // Three requests on one kept-alive connection, the last asking for the counts.
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let body = &out[out.rfind("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (v["served"].as_u64(), v["connections"].as_u64()),
        (Some(2), Some(1)),
        "{out}"
    );
    let (samples, types) = parse_exposition(&scrape(b.addr));
    assert!(
        types.contains(&("lblab_backend_connections_total".into(), "counter".into())),
        "{types:?}"
    );
    assert_eq!(
        value(&samples, "lblab_backend_connections_total", None),
        2.0
    );
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

/// One sample of the text exposition: the metric's name, its labels in order, its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The text format 0.0.4 as Prometheus reads it, strictly enough to fail on what it would refuse:
/// `# HELP` and `# TYPE` once per family and before its samples, a sample `name{k="v",…} value`,
/// histogram series only under a histogram's name.
fn parse_exposition(text: &str) -> (Vec<Sample>, Vec<(String, String)>) {
    assert!(
        text.ends_with('\n'),
        "the exposition must end with a newline"
    );
    let mut types: Vec<(String, String)> = Vec::new();
    let mut helps: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect(line);
            assert!(
                !help.is_empty() && !helps.contains(&name.to_owned()),
                "{line}"
            );
            helps.push(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(line);
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                !types.iter().any(|(n, _)| n == name),
                "two TYPE lines: {line}"
            );
            assert!(
                !samples.iter().any(|s: &Sample| s.name.starts_with(name)),
                "TYPE after its samples: {line}"
            );
            types.push((name.to_owned(), kind.to_owned()));
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (series, value) = line.rsplit_once(' ').expect(line);
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().expect(line),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').expect(line);
                let labels = inner
                    .split(',')
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').expect(line);
                        let v = v
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .expect(line);
                        (k.to_owned(), v.to_owned())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let family = types
            .iter()
            .find(|(n, kind)| {
                n == name
                    || (kind == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| name.strip_suffix(s) == Some(n.as_str())))
            })
            .unwrap_or_else(|| panic!("a sample with no TYPE before it: {line}"));
        assert!(helps.contains(&family.0), "no HELP for {}", family.0);
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

/// The body of `/metrics` after checking its status and content type.
fn scrape(addr: SocketAddr) -> String {
    let (status, rest) = request(addr, "GET", "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let (head, body) = rest.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_owned()
}

fn value(samples: &[Sample], name: &str, le: Option<&str>) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name && s.label("le") == le)
        .collect();
    assert_eq!(found.len(), 1, "{name} le={le:?}: {samples:?}");
    found[0].value
}

#[test]
fn metrics_count_the_answers_in_prometheus_text() {
    let b = Backend::start(&["--id", "7"]);
    let (samples, types) = parse_exposition(&scrape(b.addr));
    assert_eq!(value(&samples, "lblab_backend_requests_total", None), 0.0);
    for (name, kind) in [
        ("lblab_backend_requests_total", "counter"),
        ("lblab_backend_requests_in_flight", "gauge"),
        ("lblab_backend_request_duration_seconds", "histogram"),
    ] {
        assert!(
            types.contains(&(name.to_owned(), kind.to_owned())),
            "{types:?}"
        );
    }

    const N: usize = 25;
    for _ in 0..N {
        assert_eq!(request(b.addr, "GET", "/").0, "HTTP/1.1 200 OK");
    }
    // Neither the scrapes, the health checks nor the 404s count.
    request(b.addr, "GET", "/healthz");
    request(b.addr, "GET", "/nope");
    let (samples, _) = parse_exposition(&scrape(b.addr));
    for s in &samples {
        assert_eq!(s.label("backend"), Some("7"), "{s:?}");
    }
    let n = N as f64;
    assert_eq!(value(&samples, "lblab_backend_requests_total", None), n);
    assert_eq!(
        value(&samples, "lblab_backend_requests_in_flight", None),
        0.0
    );
    let hist = "lblab_backend_request_duration_seconds";
    assert_eq!(value(&samples, &format!("{hist}_count"), None), n);
    assert_eq!(value(&samples, &format!("{hist}_bucket"), Some("+Inf")), n);
    let sum = value(&samples, &format!("{hist}_sum"), None);
    assert!(sum > 0.0 && sum < n, "{sum}");
    // Cumulative buckets: each bound holds at least what the one below holds.
    let buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.name == format!("{hist}_bucket"))
        .map(|s| {
            let le = s.label("le").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, s.value)
        })
        .collect();
    assert!(buckets.len() > 5, "{buckets:?}");
    for pair in buckets.windows(2) {
        assert!(
            pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1,
            "{buckets:?}"
        );
    }
    // /stats says the same.
    let (_, stats) = request(b.addr, "GET", "/stats");
    let v: serde_json::Value =
        serde_json::from_str(stats.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(v["served"], N);
}

#[test]
fn metrics_time_the_delay_and_show_what_is_in_flight() {
    let b = Backend::start(&["--id", "2", "--delay", "300"]);
    let addr = b.addr;
    let slow = std::thread::spawn(move || request(addr, "GET", "/"));
    // A client that goes away during its delay leaves the in-flight count too.
    let mut gone = TcpStream::connect(addr).unwrap();
    write!(gone, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (samples, _) = parse_exposition(&scrape(addr));
    assert_eq!(
        value(&samples, "lblab_backend_requests_in_flight", None),
        2.0
    );
    drop(gone);
    assert_eq!(slow.join().unwrap().0, "HTTP/1.1 200 OK");
    let until = Instant::now() + Duration::from_secs(5);
    let samples = loop {
        let (samples, _) = parse_exposition(&scrape(addr));
        if value(&samples, "lblab_backend_requests_in_flight", None) == 0.0 {
            break samples;
        }
        assert!(
            Instant::now() < until,
            "the in-flight gauge did not come back to 0"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let hist = "lblab_backend_request_duration_seconds";
    assert_eq!(value(&samples, "lblab_backend_requests_total", None), 1.0);
    assert_eq!(value(&samples, &format!("{hist}_count"), None), 1.0);
    assert_eq!(
        value(&samples, &format!("{hist}_bucket"), Some("0.25")),
        0.0
    );
    assert_eq!(
        value(&samples, &format!("{hist}_bucket"), Some("+Inf")),
        1.0
    );
    let sum = value(&samples, &format!("{hist}_sum"), None);
    assert!((0.3..10.0).contains(&sum), "{sum}");
}
