//! Shell completions and man pages for lblab's three binaries, made from each one's clap definition
//! when asked, so that they always match the flags the binary parses.
//!
//! Each binary answers a hidden first argument, as ripgrep does:
//!
//! ```text
//! BIN --generate complete-bash|complete-zsh|complete-fish   (the script on stdout)
//! BIN --generate man DIR                                    (BIN.1 and one page per subcommand in DIR)
//! ```
//!
//! It is read before clap parses, because `lblab` requires a subcommand and `lblab-backend` requires
//! `--id`: neither fits a generator's command line, and neither binary's clap structs should carry a
//! flag that only packagers use. `nixos/package.nix` calls it after the build; a cargo user runs the
//! same commands on the installed binaries (docs/usage.md).

mod request;
mod write;

pub mod verify;

pub use request::{Request, Shell, USAGE};
pub use write::generate;

use std::ffi::OsString;
use std::process::ExitCode;

/// The whole of a binary's generator: when its command line is `BIN --generate …`, does what it
/// asks and returns the exit status (0, or 2 with one line on stderr for anything wrong); otherwise
/// `None`, and the binary parses its command line as always. `command` is only called when needed.
pub fn on_request(command: impl FnOnce() -> clap::Command) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let request = Request::from_args(&args)?;
    let mut command = command();
    let name = command.get_name().to_owned();
    let result = request.and_then(|request| {
        let mut stdout = std::io::stdout().lock();
        generate(&request, &mut command, &mut stdout)
    });
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "{name}: {e}");
            ExitCode::from(2)
        }
    })
}
