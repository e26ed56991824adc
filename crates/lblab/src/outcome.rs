//! How a command ends: a status it chose, or a failure of one kind. Commands return an [`Outcome`]
//! and use `?`; `main` alone says the failure's one line and turns it into the exit status, so that
//! the exit policy lives in one place and the domain below the commands never sees it.

use crate::signals::Stop;

/// A status the command chose (0, or 1 for a run that did not pass), or why it failed.
pub type Outcome = Result<u8, Failure>;

/// Why a command failed, by what the caller of lblab should conclude from it.
#[derive(Debug)]
pub enum Failure {
    /// What was asked cannot be done: bad input, a lab that could not start, a report that cannot
    /// be written. One line and exit 2, before or instead of the work.
    Usage(String),
    /// The work was done but went wrong on the way (a switch not confirmed, output that could not
    /// be written). One line and exit 1.
    Runtime(String),
    /// A signal stopped the command; it has said what it had to, and ends as the signal would.
    Signal(Stop),
}

impl Failure {
    /// The exit status of a command that failed so.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Runtime(_) => 1,
            Failure::Signal(s) => s.exit_code(),
        }
    }

    /// The line `main` says for it, if any: a signal's command has already spoken.
    pub fn line(&self) -> Option<String> {
        match self {
            Failure::Usage(e) | Failure::Runtime(e) => Some(format!("lblab: {e}")),
            Failure::Signal(_) => None,
        }
    }
}

/// Most domain errors are words for a person: a command that meets one cannot do what was asked.
impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Usage(e)
    }
}

/// How a command ends once its output was written, or could not be, after it stopped what it
/// started. A reader that went away (`| head -1`, `| true`) wanted no more: the command ends quietly
/// with the status `code` it had, as coreutils and ripgrep do. Any other failure (a full disk) is
/// said in one line and fails the command.
pub fn written(result: std::io::Result<()>, code: u8) -> Outcome {
    match result {
        Ok(()) => Ok(code),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(Failure::Runtime(format!("cannot write the output: {e}"))),
    }
}
