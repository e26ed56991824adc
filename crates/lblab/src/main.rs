// Output goes through `out` and `signals::say`, which fail or are ignored instead of panicking when
// the reader has gone; `print!` and `eprintln!` panic then (exit 101).
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use lblab_config::NginxConfig;

mod backends;
mod child;
mod cli;
mod compare;
mod dashboard;
mod fault;
mod lab;
mod nginx;
#[cfg(test)]
mod parse_fuzz;
mod private;
mod probe;
mod procfs;
mod report;
mod run;
mod scenario;
mod signals;
mod spec;
mod state;
mod status;
mod switch;
mod up;

use cli::{Cli, Command, NginxConfigArgs};

/// How a command ended: a status, or bad input / a lab that could not start (one line, exit 2).
pub enum Exit {
    Code(u8),
    Usage(String),
}

/// Writes `text` to stdout and flushes it. Every command prints through this, never `print!`,
/// which panics (exit 101) when the reader has gone, as in `lblab status | head -1`.
pub fn out(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// How a command ends when its output could not be written, once it has stopped what it started.
/// A reader that went away (`| head -1`, `| true`) wanted no more: the command ends quietly with
/// the status `code` it had, as coreutils and ripgrep do. Any other failure (a full disk) is said
/// in one line and fails the command.
pub fn output_failed(e: std::io::Error, code: u8) -> Exit {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Exit::Code(code)
    } else {
        signals::say(&format!("lblab: cannot write the output: {e}"));
        Exit::Code(1)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            signals::say(&format!("lblab: cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    let exit = runtime.block_on(async {
        if matches!(
            cli.command,
            Command::Run(_) | Command::Up(_) | Command::Compare(_)
        ) {
            // From here on a Ctrl-C is remembered, whatever the command is doing when it comes.
            signals::catch();
        }
        match cli.command {
            Command::Run(a) => run::run(a).await,
            Command::Up(a) => up::up(a).await,
            Command::Compare(a) => compare::compare(a).await,
            Command::Switch(a) => {
                switch::switch(&state::dir(a.state.state_dir.as_deref()), a.change()).await
            }
            Command::Status(a) => status::status(a).await,
            Command::NginxConfig(a) => nginx_config(a),
            Command::Backend(_) => unreachable!("handled above"),
        }
    });
    match exit {
        Exit::Code(c) => ExitCode::from(c),
        Exit::Usage(msg) => {
            signals::say(&format!("lblab: {msg}"));
            ExitCode::from(2)
        }
    }
}

fn nginx_config(a: NginxConfigArgs) -> Exit {
    let balancing = a.method.balancing();
    if let Err(e) = balancing
        .validate(a.backends)
        .and_then(|()| lblab_config::check_prefix(&a.prefix).map_err(|e| format!("--{e}")))
    {
        return Exit::Usage(e);
    }
    let servers = (0..a.backends)
        .map(|i| match a.base_port.checked_add(i as u16) {
            Some(p) => Ok(std::net::SocketAddr::new(a.address, p)),
            None => Err(format!(
                "--base-port {} + {} backends runs past port 65535",
                a.base_port, a.backends
            )),
        })
        .collect::<Result<Vec<_>, _>>();
    let servers = match servers {
        Ok(s) => s,
        Err(e) => return Exit::Usage(e),
    };
    let config = NginxConfig {
        prefix: a.prefix,
        listen: a.listen,
        worker_processes: a.workers.unwrap_or_else(lab::default_workers),
        concurrency: a.concurrency,
        nofile_limit: None,
        upstream: balancing.upstream(servers),
    };
    let text = if a.upstream_only {
        config.upstream.render()
    } else {
        config.render()
    };
    match out(&text) {
        Ok(()) => Exit::Code(0),
        Err(e) => output_failed(e, 0),
    }
}
