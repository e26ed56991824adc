use std::net::SocketAddr;

use clap::Parser;

use crate::Delay;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "lblab-backend",
    version,
    about = "One lblab backend: answers 'Hello from Server N!' and counts what it served",
    after_help = "Endpoints: GET / (the greeting, header X-Backend-Id: N), GET /healthz, GET /stats (JSON: id, served, in_flight, pid).\n\
                  SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0."
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
