//! The load-test client: fires requests at a URL, attributes every answer to the backend that served
//! it, and checks the distribution against an expectation. The `loadtest` binary and `lblab run` both
//! drive it through [`run`].

mod arrivals;
mod attribution;
mod backend_key;
pub mod cli;
mod config;
mod duration;
mod expect;
mod failure;
mod header;
mod histogram_codec;
mod http1;
mod limits;
pub mod merge;
mod output;
mod printer;
mod progress;
mod report;
mod reqwest_engine;
mod run;
mod schedule;
mod source_ip;
mod stats;
mod status;
mod stop;
mod tally;
mod timeline;

pub use arrivals::Arrivals;
pub use backend_key::BackendKey;
pub use config::{Config, MaxErrors};
pub use duration::parse_duration;
pub use expect::{Expectation, check_expectations};
pub use header::HeaderTemplate;
pub use limits::{check_open_files, prepare_process, raise_nofile_limit};
pub use output::{print_stderr, print_stdout};
pub use printer::print_text;
pub use report::Outcome;
pub use report::{BackendReport, Latency, Report};
pub use run::{run, run_until};
pub use schedule::{ScheduleReport, parse_rate};
pub use source_ip::{check_source_ips, parse_source_ips};
pub use stats::chi_square;
pub use status::OkStatus;
pub use stop::Stop;
pub use timeline::{MIN_WIDTH, TARGET, Timeline, bucket_width};
