use std::process::ExitCode;

use clap::Parser;
use loadtest::cli::{LoadArgs, parse_url};
use reqwest::Url;

/// The exit status of a program stopped by SIGINT, by shell convention.
const INTERRUPTED_EXIT: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "loadtest",
    version,
    about = "Fire many HTTP requests at once and report which backend answered each",
    after_help = "Commands:\n  merge  Combine several clients' --json reports into one (loadtest merge --help)\n\nExamples:\n  loadtest http://127.0.0.1:8080/ --backends 3 --expect round-robin\n  loadtest http://127.0.0.1:8080/ -d 10s -c 64 --json\n  loadtest http://127.0.0.1:8080/ --source-ip 127.0.1-30.1 --expect sticky\n  loadtest merge a.json b.json --expect 'p99<50ms'   # several clients' --json reports as one\n\nExit status: 0 when every expectation held and the errors are within --max-errors, 1 when not, 2 on bad input, 130 when interrupted (Ctrl-C; the report of what was done is printed)."
)]
struct Args {
    /// The target.
    #[arg(default_value = "http://127.0.0.1:80/", value_parser = parse_url)]
    url: Url,

    /// How many backends stand behind the target, for --expect (default: as many as answered).
    #[arg(long, allow_negative_numbers = true, value_parser = loadtest::cli::parse_backends)]
    backends: Option<u64>,

    #[command(flatten)]
    load: LoadArgs,
}

fn main() -> ExitCode {
    // `loadtest --generate …`: the completions and man pages, for packagers (lblab-generate), with
    // `merge`, which is picked out below before clap parses, as the subcommand it is.
    let command =
        || <Args as clap::CommandFactory>::command().subcommand(loadtest::merge::command());
    if let Some(code) = lblab_generate::on_request(command) {
        return code;
    }
    lblab_trace::init();
    // `loadtest merge FILE…` is the one subcommand; anything else is the URL and flags of a run.
    if std::env::args_os().nth(1).is_some_and(|a| a == "merge") {
        return loadtest::merge::main(std::env::args_os().skip(1));
    }
    let args = match Args::try_parse() {
        Ok(args) => args,
        // One line and exit 2, as every refusal; help and the version as clap prints them.
        Err(e) => match loadtest::cli::clap_refusal(&e) {
            Some(line) => {
                loadtest::print_stderr(&line);
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    loadtest::prepare_process(args.load.concurrency);
    let config = args
        .load
        .to_config(args.url, args.backends.map(|k| k as usize));
    // The sending threads have their own runtimes; this one only waits for them and draws the
    // progress bar, so it needs no worker threads of its own.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            loadtest::print_stderr(&format!("loadtest: cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    // Ctrl-C ends the run early with the report of what was done, as oha and wrk do.
    let stop = loadtest::Stop::new();
    let outcome = runtime.block_on(async {
        let on_interrupt = stop.clone();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.trigger();
            }
        });
        let outcome = loadtest::run_until(&config, &stop).await;
        watcher.abort();
        outcome
    });
    match outcome {
        Ok(report) => {
            let text = if args.load.json {
                serde_json::to_string(&report).unwrap_or_default() + "\n"
            } else {
                loadtest::print_text(&report)
            };
            // A reader that has gone (`| head -1`) is no failure: the exit status stays the run's.
            if let Err(e) = loadtest::print_stdout(&text) {
                loadtest::print_stderr(&format!("loadtest: {e}"));
                return ExitCode::from(2);
            }
            if report.interrupted {
                ExitCode::from(INTERRUPTED_EXIT)
            } else if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            loadtest::print_stderr(&format!("loadtest: {e}"));
            ExitCode::from(2)
        }
    }
}
