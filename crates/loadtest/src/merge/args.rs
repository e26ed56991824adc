//! `loadtest merge`'s command line, and the command itself.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use super::{Judging, merge_files};
use crate::config::MaxErrors;
use crate::expect::Expectation;
use crate::output::{print_stderr, print_stdout};
use crate::printer::print_text;

#[derive(Debug, Parser)]
#[command(
    name = "loadtest merge",
    about = "Combine the --json reports of several clients that loaded one target at the same time",
    after_help = "Counts add up per backend, status, error and client; the percentiles come from the reports' histograms added together, exactly as one histogram of all the samples would give them; each file is listed with its own counts. The expectations (--expect, or else those the files were judged by) are judged again on the whole.\n\nExample:\n  loadtest merge client1.json client2.json client3.json --expect uniform --expect 'p99<50ms'\n\nExit status: 0 every expectation held, 1 one failed, 2 a file could not be read or merged (one line naming it)."
)]
struct MergeArgs {
    /// The reports, as `loadtest --json` or `lblab run --json` wrote them.
    #[arg(required = true, value_name = "REPORT.json")]
    files: Vec<PathBuf>,

    /// Judge the merged report by this instead of the files' own expectations; repeatable, as
    /// loadtest's --expect.
    #[arg(long = "expect", value_name = "SPEC", value_parser = Expectation::parse)]
    expectations: Vec<Expectation>,

    /// How many backends stand behind the target, for --expect.
    #[arg(long, value_parser = crate::cli::parse_backends)]
    backends: Option<u64>,

    /// Failed requests allowed in all, as loadtest's --max-errors (default 0, or no limit of its own
    /// when an errors threshold is judged).
    #[arg(long, value_parser = MaxErrors::parse)]
    max_errors: Option<MaxErrors>,

    /// Print the merged report as JSON (the schema of loadtest --json, with `sources`).
    #[arg(long)]
    json: bool,
}

/// Runs `loadtest merge` with `args` (the words after `loadtest`).
/// `merge`'s clap definition as a subcommand of loadtest, for the completions and man pages: the
/// binary picks `merge` out before clap parses, so loadtest's own definition does not hold it.
pub fn command() -> clap::Command {
    <MergeArgs as clap::CommandFactory>::command().name("merge")
}

pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match MergeArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => match crate::cli::clap_refusal(&e) {
            Some(line) => {
                print_stderr(&line);
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    let judging = Judging {
        expectations: args.expectations,
        backends: args.backends.map(|k| k as usize),
        max_errors: args.max_errors,
    };
    let report = match merge_files(&args.files, &judging) {
        Ok(r) => r,
        Err(e) => {
            print_stderr(&format!("loadtest merge: {e}"));
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        serde_json::to_string(&report).unwrap_or_default() + "\n"
    } else {
        print_text(&report)
    };
    if let Err(e) = print_stdout(&text) {
        print_stderr(&format!("loadtest merge: {e}"));
        return ExitCode::from(2);
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
