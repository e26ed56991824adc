//! `lblab up --dashboard`: a page that shows the backends' own counts live and switches the
//! balancer's method (nginx's or HAProxy's, whichever the lab runs) with a click. It listens on loopback unless told otherwise, answers only requests that
//! name it (DNS rebinding), and changes the lab only on a POST that carries the page's token.
//!
//! Only the user who started the lab may see or drive it: on a shared machine every local user can
//! connect to a loopback port. `up` prints the dashboard's URL with a secret key, in the owner's
//! terminal only; the first visit with that key is answered with a session cookie (HttpOnly,
//! SameSite=Strict) and sent on to the plain URL, as notebook servers do. Without the cookie the
//! page only says to open the printed URL, and `/state.json`, `/switch` and `/burst` are refused.

mod burst;
mod form;
mod guard;
mod live;
mod methods;
mod page;
mod routes;
mod series;
mod serve;
mod token;
mod view;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::JoinHandle;

use burst::BurstResult;
use guard::Own;
use live::Live;
use token::Token;

/// What the dashboard shows and acts on.
pub struct LabRef {
    /// Where `lblab up` recorded the lab: the method is read from, and switched through, the same
    /// record `lblab status` and `lblab switch` use.
    pub state_dir: PathBuf,
    /// The balancer the lab runs: its methods are the page's buttons.
    pub proxy: lblab_config::Proxy,
    /// The balancer's URL, where bursts go.
    pub url: String,
    /// Each backend's id and address.
    pub backends: Vec<(u32, SocketAddr)>,
}

/// The running dashboard; dropping it stops it.
pub struct Dashboard {
    /// Its URL with the key: for the owner's terminal only.
    pub url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    own: Own,
    /// The form token: a page of another origin cannot read it, so it cannot forge a POST.
    token: Token,
    /// The key in the URL `up` prints, exchanged for the session cookie.
    key: Token,
    /// The session cookie's value, given only for the key.
    session: Token,
    lab: LabRef,
    live: Mutex<Live>,
    last_burst: Mutex<Option<BurstResult>>,
    message: Mutex<Option<String>>,
    /// One switch at a time: two would race on the lab's record.
    switching: tokio::sync::Mutex<()>,
    /// One burst at a time; a second press is told to wait.
    bursting: tokio::sync::Mutex<()>,
}

/// Takes the dashboard's address before anything starts, so that a refused or taken one stops
/// `up` with nothing running.
pub fn bind(addr: SocketAddr, public: bool) -> Result<std::net::TcpListener, String> {
    if !addr.ip().is_loopback() && !public {
        return Err(format!(
            "--dashboard {addr} is not a loopback address; add --dashboard-public to let the network reach the dashboard (and its switch buttons)"
        ));
    }
    let l = std::net::TcpListener::bind(addr).map_err(|e| {
        format!(
            "--dashboard {addr}: {e} (choose another address or port, or give --dashboard alone for a free port on 127.0.0.1)"
        )
    })?;
    l.set_nonblocking(true)
        .map_err(|e| format!("--dashboard {addr}: {e}"))?;
    Ok(l)
}

pub async fn start(listener: std::net::TcpListener, lab: LabRef) -> Result<Dashboard, String> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| format!("cannot serve the dashboard: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot serve the dashboard: {e}"))?;
    let shared = Arc::new(Shared {
        own: Own(addr),
        token: Token::new()?,
        key: Token::new()?,
        session: Token::new()?,
        live: Mutex::new(Live::new(&lab.backends)),
        lab,
        last_burst: Mutex::new(None),
        message: Mutex::new(None),
        switching: tokio::sync::Mutex::new(()),
        bursting: tokio::sync::Mutex::new(()),
    });
    // A baseline first, so that the page never opens on empty counts.
    sample(&shared).await;
    let sampler = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(live::SAMPLE_EVERY);
            loop {
                tick.tick().await;
                sample(&shared).await;
            }
        })
    };
    let url = format!("http://{addr}/?key={}", shared.key.as_str());
    let server = tokio::spawn(serve::run(listener, routes::routes(shared)));
    Ok(Dashboard {
        url,
        tasks: vec![sampler, server],
    })
}

async fn sample(shared: &Shared) {
    let addrs: Vec<SocketAddr> = shared.lab.backends.iter().map(|&(_, a)| a).collect();
    let read = Live::read(&addrs).await;
    if let Ok(mut live) = shared.live.lock() {
        live.record(Instant::now(), read);
    }
}
