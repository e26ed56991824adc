//! `--engine reqwest`: the load sent through reqwest clients instead of the lean engine (`http1`).
//! A client, so a connection pool, is shared by a few tasks of one thread and source address; each
//! task sends from a request prepared once, so that it sends what the lean engine sends.

use std::net::IpAddr;

use reqwest::header::{AUTHORIZATION, CONNECTION, HeaderValue};
use reqwest::{Client, Request};

use crate::attribution::{id_in_body, id_in_header};
use crate::backend_key::BackendKey;
use crate::config::Config;
use crate::failure::Failure;
use crate::header::{HeaderTemplate, basic_auth, given, without_credentials};
use crate::status::OkStatus;

/// Tasks that share one client, so one connection pool, at most. A task that finds no idle
/// connection waits in its pool's queue, and leaving that queue scans it: with all 1000 tasks of a
/// burst in one pool that is a fifth of the client's instructions.
const TASKS_PER_POOL: usize = 32;

/// The clients for one thread's `tasks`, per source address: as many per source as it takes for
/// each to serve about `TASKS_PER_POOL` tasks. Only this thread uses them, so their locks are never
/// contended.
pub(crate) fn build_clients(
    config: &Config,
    tasks: usize,
    reuse: bool,
) -> Result<Vec<Vec<Client>>, String> {
    let sources: Vec<Option<IpAddr>> = if config.source_ips.is_empty() {
        vec![None]
    } else {
        config.source_ips.iter().copied().map(Some).collect()
    };
    let per_source = tasks
        .div_ceil(sources.len())
        .div_ceil(TASKS_PER_POOL)
        .max(1);
    let pool = if reuse {
        tasks.div_ceil(sources.len() * per_source)
    } else {
        0
    };
    sources
        .iter()
        .map(|&ip| {
            (0..per_source)
                .map(|_| build_client(config, pool, ip))
                .collect()
        })
        .collect()
}

fn build_client(
    config: &Config,
    // Idle connections kept for reuse.
    pool: usize,
    ip: Option<IpAddr>,
) -> Result<Client, String> {
    Client::builder()
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        // Every request is sent exactly once: a retried request would be counted once by the
        // client and twice by the backends.
        .retry(reqwest::retry::never())
        .timeout(config.timeout)
        .tcp_nodelay(true)
        // Four setsockopt calls fewer per connection; a dead peer is bounded by --timeout.
        .tcp_keepalive(None)
        .tcp_keepalive_interval(None)
        .tcp_keepalive_retries(None)
        .tcp_user_timeout(None)
        .pool_max_idle_per_host(pool)
        .local_address(ip)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// One task's way of sending with reqwest: the client it shares, and the request it starts from.
pub(crate) struct Sender {
    client: Client,
    template: Option<Request>,
}

impl Sender {
    pub fn new(client: Client, config: &Config) -> Sender {
        let template = base_request(&client, config).ok();
        Sender { client, template }
    }

    /// Sends request `seq` and reads the whole answer.
    pub async fn send(
        &self,
        config: &Config,
        varying: &[&HeaderTemplate],
        seq: u64,
    ) -> Result<(u16, BackendKey), Failure> {
        let request = build_request(&self.client, self.template.as_ref(), config, varying, seq)?;
        send(&self.client, request, config.ok_status).await
    }
}

/// The request every request of the run starts from: the URL without its credentials, and the
/// headers but for those that vary. The run's headers are the request's own, not the client's
/// defaults, so that reqwest sends what the lean engine sends (`http1::RequestBytes`): a given
/// header replaces reqwest's own (its `Accept`, hyper's `Host`), a header given twice is sent
/// twice, and the URL's user and password are `Authorization: Basic` unless -H gives one.
fn base_request(client: &Client, cfg: &Config) -> Result<Request, Failure> {
    let mut request = client
        .get(without_credentials(&cfg.url))
        .build()
        .map_err(|e| Failure::Request(e.to_string()))?;
    let headers = request.headers_mut();
    if !cfg.keep_alive && !given(&cfg.headers, "connection") {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(auth) = basic_auth(&cfg.url).filter(|_| !given(&cfg.headers, "authorization")) {
        let value = HeaderValue::from_str(&auth).map_err(|e| Failure::Request(e.to_string()))?;
        headers.insert(AUTHORIZATION, value);
    }
    for h in cfg.headers.iter().filter(|h| h.is_constant()) {
        headers.append(h.name.clone(), h.value(0));
    }
    Ok(request)
}

/// The request for sequence number `seq`: the prepared one with the varying headers filled in.
fn build_request(
    client: &Client,
    template: Option<&Request>,
    cfg: &Config,
    varying: &[&HeaderTemplate],
    seq: u64,
) -> Result<Request, Failure> {
    let mut request = match template.and_then(Request::try_clone) {
        Some(r) => r,
        None => base_request(client, cfg)?,
    };
    for h in varying {
        request.headers_mut().append(h.name.clone(), h.value(seq));
    }
    Ok(request)
}

/// Sends one request and reads the whole answer: its status and who sent it. `Err` names the kind of
/// failure, a status not in `ok_status` included.
async fn send(
    client: &Client,
    request: Request,
    ok_status: OkStatus,
) -> Result<(u16, BackendKey), Failure> {
    let response = client
        .execute(request)
        .await
        .map_err(|e| Failure::classify(&e))?;
    let status = response.status();
    let by_header = id_in_header(response.headers());
    let body = response.bytes().await.map_err(|e| Failure::classify(&e))?;
    if !ok_status.contains(status.as_u16()) {
        return Err(Failure::Status(status.as_u16()));
    }
    let id = by_header.unwrap_or_else(|| id_in_body(&body));
    Ok((
        status.as_u16(),
        id.map_or(BackendKey::Unknown, BackendKey::Id),
    ))
}
