//! What a command prints on stdout.

/// Writes `text` to stdout and flushes it. Every command prints through this, never `print!`,
/// which panics (exit 101) when the reader has gone, as in `lblab status | head -1`.
pub fn out(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
