// Output goes through `out` and `signals::say`, which fail or are ignored instead of panicking when
// the reader has gone; `print!` and `eprintln!` panic then (exit 101).
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;

mod access_log;
mod backend_load;
mod backends;
mod child;
mod cli;
mod compare;
mod comparison;
mod dashboard;
mod fault;
mod fault_player;
mod file_kind;
mod front;
mod haproxy;
mod haproxy_balancing;
mod haproxy_config;
mod lab;
mod limits;
mod load_plan;
mod nginx;
mod nginx_config;
mod outcome;
mod output;
mod pairs;
#[cfg(test)]
mod parse_fuzz;
mod prefix;
mod private;
mod probe;
mod procfs;
mod program;
mod report;
mod run;
mod scenario;
mod signals;
mod spec;
mod state;
mod status;
mod switch;
mod theory;
mod unprivileged;
mod up;

use cli::{Cli, Command};
use outcome::{Failure, Outcome};

fn main() -> ExitCode {
    // `lblab --generate …`: the completions and man pages, for packagers (lblab-generate).
    if let Some(code) = lblab_generate::on_request(<Cli as clap::CommandFactory>::command) {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return refused_by_clap(e),
    };
    lblab_trace::init();
    if let Command::Backend(args) = cli.command {
        // The backend runs its own runtime, exactly as the lblab-backend binary does.
        return match lblab_backend::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                signals::say(&format!("lblab backend: {e}"));
                ExitCode::from(2)
            }
        };
    }
    if let Command::Run(cli::RunArgs { load, .. })
    | Command::Compare(cli::CompareArgs { load, .. }) = &cli.command
    {
        // Before the runtime's threads exist, or growing the file table makes each new socket wait.
        loadtest::prepare_process(load.concurrency);
    }
    let outcome = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(command(cli.command)),
        Err(e) => Err(Failure::Usage(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if let Some(line) = failure.line() {
                signals::say(&line);
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The command, inside the runtime.
async fn command(command: Command) -> Outcome {
    if matches!(
        command,
        Command::Run(_) | Command::Up(_) | Command::Compare(_)
    ) {
        // From here on a Ctrl-C is remembered, whatever the command is doing when it comes.
        signals::catch();
    }
    match command {
        Command::Run(a) => run::run(a.spec()?).await,
        Command::Up(a) => up::up(a).await,
        Command::Compare(a) => compare::compare(a.spec()?).await,
        Command::Switch(a) => {
            switch::switch(&state::dir(a.state.state_dir.as_deref()), a.change()).await
        }
        Command::Status(a) => status::status(a).await,
        Command::NginxConfig(a) => nginx_config::nginx_config(a),
        Command::HaproxyConfig(a) => haproxy_config::haproxy_config(a),
        Command::Backend(_) => unreachable!("handled before the runtime"),
    }
}

/// clap's refusal of the command line, in one line as every refusal of lblab's, with exit 2; help
/// and the version are printed by clap as they are.
fn refused_by_clap(e: clap::Error) -> ExitCode {
    match loadtest::cli::clap_refusal(&e) {
        Some(line) => {
            signals::say(&line);
            ExitCode::from(2)
        }
        None => e.exit(),
    }
}
