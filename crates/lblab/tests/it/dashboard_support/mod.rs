//! `lblab up --dashboard` for the dashboard tests, and plain HTTP/1.1 requests to it whose Host and
//! Origin the test chooses.

pub mod cdp;
pub mod chart;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use crate::common::Up;

/// A running dashboard as its owner holds it: the URL `up` printed (with its key) and the session
/// cookie that URL gave.
pub struct Dash {
    pub addr: SocketAddr,
    /// The URL as `up` printed it, `http://ADDR/?key=KEY`.
    pub url: String,
    /// `name=value`, as a Cookie header carries it.
    pub cookie: String,
}

/// A lab with a dashboard, signed in with the URL `up` printed.
pub fn up_with_dashboard(args: &[&str]) -> (Up, Dash) {
    let mut all = vec!["--dashboard"];
    all.extend_from_slice(args);
    let mut up = Up::spawn(&all, Stdio::piped());
    let out = up.child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("lblab up printed its dashboard line before it ended")
            .expect("stdout is text");
        if let Some(url) = line.trim().strip_prefix("dashboard ") {
            break url.to_owned();
        }
    };
    up.wait_up();
    let addr = addr_of(&url);
    let cookie = sign_in(addr, &url);
    (up, Dash { addr, url, cookie })
}

/// The address in `http://ADDR/` or `http://ADDR/?key=KEY`.
pub fn addr_of(url: &str) -> SocketAddr {
    let rest = url.trim_start_matches("http://");
    rest[..rest.find('/').unwrap_or(rest.len())]
        .parse()
        .unwrap_or_else(|e| panic!("'{url}' is not http://ADDR/…: {e}"))
}

/// Visits the printed URL as a browser would: a 303 to `/` that sets the session cookie, which is
/// returned as `name=value`.
fn sign_in(addr: SocketAddr, url: &str) -> String {
    let path = &url[url
        .find(&addr.to_string())
        .expect("the URL names the address")
        + addr.to_string().len()..];
    let a = request(addr, "GET", path, None, &[], "");
    assert_eq!(a.status, 303, "the printed URL did not sign in: {}", a.body);
    assert_eq!(a.header("location"), Some("/"));
    let set = a.header("set-cookie").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            set.contains(attribute),
            "the cookie lacks {attribute}: {set}"
        );
    }
    set.split(';').next().unwrap().trim().to_owned()
}

impl Dash {
    /// One request with the session cookie; `host: None` sends the dashboard's own address.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        host: Option<&str>,
        extra: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut h = vec![("Cookie", self.cookie.as_str())];
        h.extend_from_slice(extra);
        request(self.addr, method, path, host, &h, body)
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, None, &[], "")
    }

    /// The token the page embeds in its forms.
    pub fn token(&self) -> String {
        token_in(&self.get("/").body).expect("the page has a token field")
    }

    pub fn state(&self) -> serde_json::Value {
        let a = self.get("/state.json");
        assert_eq!(a.status, 200, "{}", a.body);
        serde_json::from_str(&a.body).expect("state.json is JSON")
    }
}

/// The form token in a page, if it has one.
pub fn token_in(page: &str) -> Option<String> {
    let field = r#"name="token" value=""#;
    let at = page.find(field)? + field.len();
    page[at..].split('"').next().map(str::to_owned)
}

pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One request; `host: None` sends the dashboard's own address.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: Option<&str>,
    extra: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(addr).expect("the dashboard accepts");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        host.map_or(addr.to_string(), str::to_owned)
    );
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    // Read by Content-Length where there is one: DevTools keeps the connection open.
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("the server answers");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"));
    let mut answer = Answer {
        status,
        head,
        body: String::new(),
    };
    let mut raw = Vec::new();
    match answer
        .header("content-length")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(n) => {
            raw.resize(n, 0);
            r.read_exact(&mut raw).expect("the whole body");
        }
        None => {
            r.read_to_end(&mut raw).expect("the body");
        }
    }
    answer.body = String::from_utf8_lossy(&raw).into_owned();
    answer
}

/// A GET without the session cookie, as anyone else on the machine can send it.
pub fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, None, &[], "")
}

/// Each backend's `served`, from its own `/stats` (the addresses `lblab status` lists).
pub fn stats_served(status: &serde_json::Value) -> Vec<u64> {
    status["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let addr: SocketAddr = b["addr"].as_str().unwrap().parse().unwrap();
            let a = request(addr, "GET", "/stats", None, &[], "");
            let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            v["served"].as_u64().unwrap()
        })
        .collect()
}

/// The PIDs of the backends and of nginx's master, from `lblab status`.
pub fn pids(status: &serde_json::Value) -> Vec<u64> {
    let mut p: Vec<u64> = status["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["pid"].as_u64().unwrap())
        .collect();
    p.push(status["nginx_pid"].as_u64().unwrap());
    p
}
