//! Printing where the reader may have gone. Rust ignores SIGPIPE, so a write to a pipe whose reader
//! has exited (`loadtest … | head -1`, `| true`) fails with EPIPE, and `print!` panics on that
//! (exit 101). Here a reader that has gone ends the output quietly, as in ripgrep and coreutils:
//! what it did not want to read is not an error of the program's. The `loadtest` binary prints
//! through these, and so should any program that prints a report of this crate.

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout and flushes it. `Ok` also when the reader has gone (EPIPE): then the
/// rest is dropped, and the caller goes on to its own exit status. Any other failure (a full disk
/// behind `>`) is the line to print on stderr.
pub fn print_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => {
            Err(format!("cannot write the report to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// Writes `line` and a newline to stderr. A failure is ignored: stderr is where it would be said.
pub fn print_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
