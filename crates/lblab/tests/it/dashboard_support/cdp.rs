//! Headless Chromium driven over the DevTools protocol: a small synchronous client (an HTTP GET for
//! the page's target, then JSON messages over one WebSocket), so the browser test needs no crate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const INSTALL: &str = "the browser test needs headless Chromium and found none on PATH \
     (chromium, chromium-browser, google-chrome): install it with `apt-get install -y chromium` \
     (Debian/Ubuntu), or name the binary in LBLAB_CHROMIUM";

fn find_chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("LBLAB_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

pub struct Browser {
    child: Child,
    ws: TcpStream,
    next_id: u64,
    /// A `Page.loadEventFired` came since the last navigation: the styles are in and the layout
    /// that clicks aim at is final.
    loaded: bool,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on `about:blank` with a fresh profile and attaches to its page.
    pub fn launch() -> Browser {
        let profile = tempfile::Builder::new()
            .prefix("lblab-chromium-")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new(find_chromium());
        // Its own process group, killed whole on drop; and killed with this test process should
        // that die without unwinding (a closed pipe, a timeout).
        cmd.process_group(0);
        // SAFETY: prctl(2) only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-crash-reporter",
                "--disable-breakpad",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL} ({e})"));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads on until Chromium exits, so that its chatter never fills the pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let browser_ws = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("Chromium printed its DevTools address within 30 s");
        let port: SocketAddr = browser_ws
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let targets = super::request(port, "GET", "/json/list", None, &[], "");
        let targets: Value = serde_json::from_str(&targets.body).expect("the target list");
        let page = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("Chromium has a page");
        let ws_url = page["webSocketDebuggerUrl"].as_str().unwrap();
        let path = &ws_url[ws_url.find("/devtools").unwrap()..];
        let ws = handshake(port, path);
        let mut b = Browser {
            child,
            ws,
            next_id: 0,
            loaded: false,
            _profile: profile,
        };
        b.call("Page.enable", json!({}));
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1000, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    /// Sends one command and returns its result; events in between are skipped.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    /// As `call`, with Chromium's error (e.g. a node gone with a navigation) as `Err`.
    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        send_text(&mut self.ws, msg.as_bytes());
        loop {
            let m: Value = serde_json::from_slice(&recv(&mut self.ws)).expect("DevTools JSON");
            if m["method"] == "Page.loadEventFired" {
                self.loaded = true;
            }
            if m["id"] == id {
                return match m["error"].is_null() {
                    true => Ok(m["result"].clone()),
                    false => Err(m["error"].clone()),
                };
            }
        }
    }

    /// Loads `url` and returns once its document (not the one before it) has a body.
    pub fn navigate(&mut self, url: &str) {
        let old = self.document();
        self.loaded = false;
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for("the page to load", |b| b.loaded && b.document() != old);
    }

    /// Which document is loaded: each load (a reload of the same URL too) makes a new one.
    fn document(&mut self) -> Option<u64> {
        self.try_call("DOM.getDocument", json!({"depth": 0})).ok()?["root"]["backendNodeId"]
            .as_u64()
    }

    /// Waits until the document has loaded and `ok` holds; panics after 15 s saying what was awaited.
    pub fn wait_for(&mut self, what: &str, mut ok: impl FnMut(&mut Browser) -> bool) {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let ready = self.query("body").is_some();
            if ready && ok(self) {
                return;
            }
            assert!(Instant::now() < until, "waited 15 s for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The node of `selector` in the current document, through the DOM domain (which works with the
    /// page's scripts off too).
    fn query(&mut self, selector: &str) -> Option<u64> {
        let root =
            self.try_call("DOM.getDocument", json!({"depth": 0})).ok()?["root"]["nodeId"].clone();
        let id = self
            .try_call(
                "DOM.querySelector",
                json!({"nodeId": root, "selector": selector}),
            )
            .ok()?["nodeId"]
            .as_u64()?;
        (id != 0).then_some(id)
    }

    /// The text of the element `selector`, or `None` if there is none.
    pub fn text(&mut self, selector: &str) -> Option<String> {
        let node = self.query(selector)?;
        let html = self
            .try_call("DOM.getOuterHTML", json!({"nodeId": node}))
            .ok()?["outerHTML"]
            .as_str()?
            .to_owned();
        let mut text = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        Some(text.trim().to_owned())
    }

    /// Every attribute of the element `selector`, read at once (so from one drawing of it), or
    /// `None` if there is no such element.
    pub fn attrs(&mut self, selector: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let node = self.query(selector)?;
        let a = self
            .try_call("DOM.getAttributes", json!({"nodeId": node}))
            .ok()?;
        // A flat list: name, value, name, value, …
        let flat = a["attributes"].as_array()?;
        Some(
            flat.chunks(2)
                .filter_map(|p| Some((p[0].as_str()?.to_owned(), p.get(1)?.as_str()?.to_owned())))
                .collect(),
        )
    }

    /// A real click: the mouse pressed and released at the middle of `selector`.
    pub fn click(&mut self, selector: &str) {
        let mut q = Value::Null;
        self.wait_for(&format!("{selector} to be on the page"), |b| {
            let Some(node) = b.query(selector) else {
                return false;
            };
            // A mouse clicks only what is in the viewport: a long page is scrolled to it first.
            if b.try_call("DOM.scrollIntoViewIfNeeded", json!({"nodeId": node}))
                .is_err()
            {
                return false;
            }
            match b.try_call("DOM.getBoxModel", json!({"nodeId": node})) {
                Ok(m) => q = m["model"]["content"].clone(),
                Err(_) => return false,
            }
            true
        });
        let xs: Vec<f64> = q
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let x = (xs[0] + xs[2] + xs[4] + xs[6]) / 4.0;
        let y = (xs[1] + xs[3] + xs[5] + xs[7]) / 4.0;
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Turns the page's scripts off (or on) for what it loads next.
    pub fn scripts(&mut self, on: bool) {
        self.call(
            "Emulation.setScriptExecutionDisabled",
            json!({"value": !on}),
        );
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        base64_decode(shot["data"].as_str().expect("screenshot data"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this test started Chromium in.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn handshake(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("DevTools accepts");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // Any 16 bytes in base64 are a valid key; the server's accept value is not checked here.
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("a handshake answer");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "WebSocket refused: {head}"
    );
    s
}

/// One masked text frame, as a client must send.
fn send_text(s: &mut TcpStream, payload: &[u8]) {
    let mut f = vec![0x81u8];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [0x1f, 0x8b, 0x3c, 0x77];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).unwrap();
}

/// One whole message (continuation frames joined); pings are answered.
fn recv(s: &mut TcpStream) -> Vec<u8> {
    let mut message = Vec::new();
    loop {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).expect("a DevTools message");
        let fin = h[0] & 0x80 != 0;
        let opcode = h[0] & 0x0f;
        let len = match h[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                s.read_exact(&mut b).unwrap();
                u16::from_be_bytes(b) as usize
            }
            127 => {
                let mut b = [0u8; 8];
                s.read_exact(&mut b).unwrap();
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).unwrap();
        match opcode {
            8 => panic!("Chromium closed the DevTools connection"),
            9 => {
                let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                pong.extend_from_slice(&payload);
                s.write_all(&pong).unwrap();
            }
            10 => {}
            _ => {
                message.extend_from_slice(&payload);
                if fin {
                    return message;
                }
            }
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &d)| acc | (u32::from(d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_round_trips_what_chromium_sends() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
