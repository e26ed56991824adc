use std::net::SocketAddr;

use clap::Parser;

use crate::delay::Delay;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "lblab-backend",
    version,
    about = "One lblab backend: answers 'Hello from Server N!' and counts what it served",
    after_help = "Endpoints: GET / (the greeting, header X-Backend-Id: N), GET /healthz, GET /stats (JSON: id, served, in_flight, pid), GET /metrics (Prometheus text: requests served, in flight, latency histogram).\n\
                  SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0.\n\n\
                  Examples:\n  \
                  lblab-backend --id 1 --listen 127.0.0.1:8001\n  \
                  lblab-backend --id 2 --listen 127.0.0.1:8002 --delay 50      # 50 ms late, for least-conn\n  \
                  lblab-backend --id 3 --delay 10-40                             # a free port, a random 10-40 ms\n\n\
                  Exit status: 0 stopped by SIGTERM or SIGINT after draining; 2 bad input or the address cannot be used."
)]
pub struct Args {
    /// This backend's number, shown in the greeting and the X-Backend-Id header.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub id: u32,

    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Delay every answer on / by MS milliseconds, or by a random time in MIN-MAX: a slow backend
    /// for least-conn experiments.
    #[arg(long, value_name = "MS|MIN-MAX", value_parser = Delay::parse)]
    pub delay: Option<Delay>,

    /// Worker threads of the async runtime (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
}
