use std::process::ExitCode;

use clap::Parser;
use lblab_backend::Args;

fn main() -> ExitCode {
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
