//! The floor under `loadtest`: a reqwest client set up as loadtest sets up its own (HTTP/1 only, no
//! proxy, no redirects, no retries, TCP_NODELAY; only the TCP keepalive options are left at their
//! defaults, which cost nothing per request) and the same request loop (TASKS tasks on one thread,
//! one shared counter, a cloned prepared request, the whole body read) with nothing else — no
//! attribution, no counts, no latency. `checks/profile.sh` counts its instructions per request
//! beside loadtest's, and `checks/bench.sh` its requests per second, to show how much of loadtest's
//! cost is reqwest's. It prints how many answers it read, in how long, and the rate.
//!
//!   cargo run --release --example bare_reqwest -- http://127.0.0.1:8080/ 20000        # 64 tasks
//!   cargo run --release --example bare_reqwest -- http://127.0.0.1:8080/ 5s           # for 5 s
//!   cargo run --release --example bare_reqwest -- http://127.0.0.1:8080/ 1000 1000    # a burst

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When the loop stops: after a number of requests, or at a time.
#[derive(Clone, Copy)]
enum Stop {
    After(u64),
    At(Instant),
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_reqwest URL REQUESTS|DURATION [TASKS]";
    let url = loadtest::cli::parse_url(&args.next().ok_or(usage)?)?;
    let amount = args.next().ok_or(usage)?;
    let run_for = match amount.parse::<u64>() {
        Ok(n) => Err(n),
        Err(_) => Ok(loadtest::parse_duration(&amount)?),
    };
    let tasks: usize = args
        .next()
        .map_or(Ok(64), |t| t.parse().map_err(|_| usage))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(tasks)
        .build()
        .map_err(|e| e.to_string())?;
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let stop = match run_for {
        Ok(d) => Stop::At(start + d),
        Err(n) => Stop::After(n),
    };
    let answered = rt.block_on(async {
        let tasks: Vec<_> = (0..tasks)
            .map(|_| {
                let (client, issued, url) = (client.clone(), issued.clone(), url.clone());
                tokio::spawn(async move {
                    let template = client.get(url).build().expect("a GET of a valid URL");
                    let mut ok = 0u64;
                    while match stop {
                        Stop::After(n) => issued.fetch_add(1, Ordering::Relaxed) < n,
                        Stop::At(t) => Instant::now() < t,
                    } {
                        let request = template.try_clone().expect("a GET clones");
                        if let Ok(response) = client.execute(request).await
                            && response.bytes().await.is_ok()
                        {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut answered = 0;
        for t in tasks {
            answered += t.await.unwrap_or(0);
        }
        answered
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{answered} answered in {secs:.3} s, {:.0} req/s",
        answered as f64 / secs
    );
    Ok(())
}
