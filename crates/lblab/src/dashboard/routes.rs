//! The dashboard's routes: `/`, `/state.json`, its script and style (GET), `/switch` and `/burst`
//! (POST with the token). Every request must name the dashboard in Host (and Origin, if sent);
//! all but the script and style need the session cookie, which `/?key=KEY` gives.

use std::sync::Arc;

use warp::Filter;
use warp::http::{HeaderMap, HeaderValue, Method as Verb, Response, StatusCode, header};
use warp::hyper::body::Bytes;
use warp::path::FullPath;
use warp::reply::Response as Reply;

use super::serve::Started;
use super::view::View;
use super::{Shared, burst, form, methods, page, sample};
use crate::state::State;
use crate::switch;

/// The largest form accepted: a token, a method name or a count.
const MAX_BODY: u64 = 4096;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (Reply,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static
{
    let with = move || {
        let shared = shared.clone();
        warp::any().map(move || shared.clone())
    };
    let common = warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<Started>());
    // A POST body is read only when its Content-Length is small; any other request is handled
    // without one (a POST without it is answered 413 by `handle`).
    let with_body = with()
        .and(common)
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .then(|s, m, p, q, h, st: Option<Started>, b: Bytes| {
            mark(st);
            handle(s, m, p, q, h, Some(b))
        });
    let without = with()
        .and(common)
        .then(|s, m, p, q, h, st: Option<Started>| {
            mark(st);
            handle(s, m, p, q, h, None)
        });
    with_body.or(without).unify()
}

/// The request has come whole (its body, if any, read): from now on its connection is busy.
fn mark(started: Option<Started>) {
    if let Some(s) = started {
        s.mark();
    }
}

const NOT_SIGNED_IN: &str = "refused: this dashboard is its owner's; open the URL `lblab up --dashboard` printed in its terminal (it ends in ?key=…)";

async fn handle(
    shared: Arc<Shared>,
    verb: Verb,
    path: FullPath,
    query: String,
    headers: HeaderMap,
    body: Option<Bytes>,
) -> Reply {
    let named = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Err(e) = shared.own.check(named(header::HOST), named(header::ORIGIN)) {
        return text(StatusCode::FORBIDDEN, &e);
    }
    let path = path.as_str();
    let get = verb == Verb::GET || verb == Verb::HEAD;
    if path == "/"
        && get
        && let Some(key) = form::field(query.as_bytes(), "key")
    {
        return sign_in(&shared, &key);
    }
    let signed_in = has_session(&shared, &headers);
    match path {
        "/dashboard.js" | "/dashboard.css" if get => read(&shared, path),
        "/" if get && !signed_in => not_signed_in_page(),
        "/state.json" if get && !signed_in => text(StatusCode::FORBIDDEN, NOT_SIGNED_IN),
        "/" | "/state.json" if get => read(&shared, path),
        "/" | "/state.json" | "/dashboard.js" | "/dashboard.css" => not_allowed("GET, HEAD"),
        "/switch" | "/burst" if verb == Verb::POST && !signed_in => {
            text(StatusCode::FORBIDDEN, NOT_SIGNED_IN)
        }
        "/switch" | "/burst" if verb == Verb::POST => {
            let Some(body) = body else {
                return text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("a POST needs a Content-Length of at most {MAX_BODY} bytes"),
                );
            };
            let json = named(header::ACCEPT).is_some_and(|a| a.contains("application/json"));
            post(&shared, path, &body, json).await
        }
        "/switch" | "/burst" => not_allowed("POST"),
        _ => text(StatusCode::NOT_FOUND, &format!("not found: {path}")),
    }
}

/// The session cookie's name: cookies are kept per host, not per port, so two dashboards on one
/// machine each need their own.
fn cookie_name(shared: &Shared) -> String {
    format!("lblab-{}", shared.own.0.port())
}

/// Whether a Cookie header carries this dashboard's session.
fn has_session(shared: &Shared, headers: &HeaderMap) -> bool {
    let name = cookie_name(shared);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(n, v)| n == name && shared.session.matches(v))
}

/// `/?key=KEY`: the right key gets the session cookie and is sent on to the plain URL, so the key
/// leaves the address bar; a wrong one gets the page that says where the right one is.
fn sign_in(shared: &Shared, key: &str) -> Reply {
    if !shared.key.matches(key) {
        return not_signed_in_page();
    }
    let mut r = with_type(String::new(), "text/plain; charset=utf-8");
    *r.status_mut() = StatusCode::SEE_OTHER;
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_name(shared),
        shared.session.as_str()
    );
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// What anyone without the session sees: nothing of the lab, and where the owner finds the way in.
fn not_signed_in_page() -> Reply {
    let mut r = with_type(page::NOT_SIGNED_IN.to_owned(), "text/html; charset=utf-8");
    *r.status_mut() = StatusCode::FORBIDDEN;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

fn read(shared: &Shared, path: &str) -> Reply {
    match path {
        "/dashboard.js" => with_type(page::SCRIPT.into(), "text/javascript; charset=utf-8"),
        "/dashboard.css" => with_type(page::STYLE.into(), "text/css; charset=utf-8"),
        "/state.json" => state_json(shared),
        _ => {
            let mut r = with_type(
                page::render(&view(shared), &shared.token),
                "text/html; charset=utf-8",
            );
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            // Not no-referrer: under it a browser posts the forms with `Origin: null`, which the
            // guard refuses.
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            r
        }
    }
}

fn state_json(shared: &Shared) -> Reply {
    with_type(
        serde_json::to_string(&view(shared)).unwrap_or_default(),
        "application/json",
    )
}

/// A switch or a burst. Success: back to the page (303), or the new state for the page's script.
async fn post(shared: &Shared, path: &str, body: &[u8], json: bool) -> Reply {
    let token = form::field(body, "token");
    if !token.is_some_and(|t| shared.token.matches(&t)) {
        return text(
            StatusCode::FORBIDDEN,
            "refused: the form's token is missing or wrong (reload the dashboard page)",
        );
    }
    let done = if path == "/switch" {
        switch_to(shared, form::field(body, "method")).await
    } else {
        send_burst(shared, form::field(body, "count")).await
    };
    match done {
        Ok(message) => {
            if let Ok(mut m) = shared.message.lock() {
                *m = Some(message);
            }
            if json {
                return state_json(shared);
            }
            let mut r = Response::new(String::new().into());
            *r.status_mut() = StatusCode::SEE_OTHER;
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static("/"));
            r
        }
        Err((code, e)) => text(code, &e),
    }
}

async fn switch_to(
    shared: &Shared,
    method: Option<String>,
) -> Result<String, (StatusCode, String)> {
    let asked = method.clone().unwrap_or_default();
    let change =
        methods::change(shared.lab.proxy, method).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let _one = shared.switching.lock().await;
    // Its own task: a browser that goes away mid-switch must not cancel it between nginx's reload
    // and the lab's record.
    let dir = shared.lab.state_dir.clone();
    let done = tokio::spawn(async move { switch::apply(&dir, &change).await })
        .await
        .unwrap_or_else(|e| Err(format!("the switch did not finish: {e}")));
    match done {
        Ok(s) if s.unchanged => Ok(format!(
            "nothing to change: the lab already balances with {} ({})",
            s.after, s.how
        )),
        Ok(s) => {
            mark_chart(shared, "switch", format!("→ {}", s.after));
            Ok(format!(
                "switched {} → {} ({}; backends untouched)",
                s.before, s.after, s.how
            ))
        }
        // The method was valid; the lab could not take it (nginx rejected it, or the record is
        // gone): the lab is as it was.
        Err(e) => Err((
            StatusCode::CONFLICT,
            format!("switch to {asked} failed: {e}"),
        )),
    }
}

async fn send_burst(
    shared: &Shared,
    count: Option<String>,
) -> Result<String, (StatusCode, String)> {
    let n = burst::parse_count(count.as_deref()).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let Ok(_one) = shared.bursting.try_lock() else {
        return Err((
            StatusCode::CONFLICT,
            "a burst is already running; wait for it to end".to_owned(),
        ));
    };
    let (url, backends) = (shared.lab.url.clone(), shared.lab.backends.len());
    mark_chart(shared, "burst", format!("burst of {n}"));
    let result = tokio::spawn(async move { burst::send(&url, n, backends).await })
        .await
        .unwrap_or_else(|e| Err(format!("it did not finish: {e}")))
        .map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the burst failed: {e}"),
            )
        })?;
    let counts: Vec<String> = result
        .counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let message = format!(
        "sent {} requests: {{{}}}, {} errors",
        result.requests,
        counts.join(", "),
        result.errors
    );
    if let Ok(mut b) = shared.last_burst.lock() {
        *b = Some(result);
    }
    // The page that comes back shows the burst's own answers in the counts.
    sample(shared).await;
    Ok(message)
}

fn view(shared: &Shared) -> View {
    let (method, method_name) = match State::load(&shared.lab.state_dir) {
        Ok(s) => (s.front.describe(), methods::in_force(&s.front)),
        Err(e) => (format!("unknown ({e})"), None),
    };
    let (backends, recent, series) = match shared.live.lock() {
        Ok(l) => (
            l.backends.clone(),
            l.recent.iter().cloned().collect(),
            l.series.view(),
        ),
        Err(_) => (Vec::new(), Vec::new(), Default::default()),
    };
    View {
        method,
        method_name,
        proxy: shared.lab.proxy.to_string(),
        methods: methods::buttons(shared.lab.proxy),
        lab_url: shared.lab.url.clone(),
        total_served: backends.iter().filter_map(|b| b.served).sum(),
        backends,
        recent,
        burst: shared.last_burst.lock().ok().and_then(|b| b.clone()),
        message: shared.message.lock().ok().and_then(|m| m.clone()),
        series,
    }
}

/// Marks a switch or a burst on the chart, now.
fn mark_chart(shared: &Shared, kind: &'static str, label: String) {
    if let Ok(mut l) = shared.live.lock() {
        l.series.mark(std::time::Instant::now(), kind, label);
    }
}

fn with_type(body: String, content_type: &'static str) -> Reply {
    let mut r = Response::new(body.into());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// One line, as every refusal is.
fn text(code: StatusCode, line: &str) -> Reply {
    let mut r = with_type(format!("{line}\n"), "text/plain; charset=utf-8");
    *r.status_mut() = code;
    r
}

fn not_allowed(allow: &'static str) -> Reply {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed here (allowed: {allow})"),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}
