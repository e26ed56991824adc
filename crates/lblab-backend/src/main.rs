use std::process::ExitCode;

use clap::Parser;
use lblab_backend::Args;

fn main() -> ExitCode {
    // `lblab-backend --generate …`: the completions and man pages, for packagers (lblab-generate).
    if let Some(code) = lblab_generate::on_request(<Args as clap::CommandFactory>::command) {
        return code;
    }
    lblab_trace::init();
    let args = Args::parse();
    match lblab_backend::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lblab-backend: {e}");
            ExitCode::from(2)
        }
    }
}
