//! `lblab up --dashboard` for the dashboard tests, and plain HTTP/1.1 requests to it whose Host and
//! Origin the test chooses.

#![allow(dead_code)] // each test binary uses its own subset

pub mod cdp;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use crate::common::Up;

/// A lab with a dashboard, and the dashboard's address as `up` printed it.
pub fn up_with_dashboard(args: &[&str]) -> (Up, SocketAddr) {
    let mut all = vec!["--dashboard"];
    all.extend_from_slice(args);
    let mut up = Up::spawn(&all, Stdio::piped());
    let out = up.child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("lblab up printed its dashboard line before it ended")
            .expect("stdout is text");
        if let Some(url) = line.trim().strip_prefix("dashboard ") {
            break addr_of(url);
        }
    };
    up.wait_up();
    (up, addr)
}

/// The address in `http://ADDR/`.
pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("'{url}' is not http://ADDR/: {e}"))
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

pub fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, None, &[], "")
}

/// The token the page embeds in its forms.
pub fn token(addr: SocketAddr) -> String {
    let page = get(addr, "/").body;
    let at = page
        .find(r#"name="token" value=""#)
        .expect("the page has a token field")
        + r#"name="token" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

pub fn state(addr: SocketAddr) -> serde_json::Value {
    let a = get(addr, "/state.json");
    assert_eq!(a.status, 200, "{}", a.body);
    serde_json::from_str(&a.body).expect("state.json is JSON")
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
