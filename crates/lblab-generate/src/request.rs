//! What `BIN --generate …` asks for, read from the raw command line.

use std::ffi::OsString;
use std::path::PathBuf;

/// What is accepted, for the refusals.
pub const USAGE: &str = "--generate takes complete-bash, complete-zsh, complete-fish, or man DIR";

/// A shell whose completion script can be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub const ALL: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

    /// The word after `--generate` that asks for this shell's script.
    pub fn kind(self) -> &'static str {
        match self {
            Shell::Bash => "complete-bash",
            Shell::Zsh => "complete-zsh",
            Shell::Fish => "complete-fish",
        }
    }
}

/// One generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A completion script on stdout.
    Completion(Shell),
    /// The man pages, written into this directory (which must exist).
    Man(PathBuf),
}

impl Request {
    /// `None` unless the first argument is `--generate`; then the request, or why it is not one.
    pub fn from_args(args: &[OsString]) -> Option<Result<Request, String>> {
        let (first, rest) = args.split_first()?;
        if first != "--generate" {
            return None;
        }
        let words: Vec<&str> = match rest.iter().map(|a| a.to_str()).collect::<Option<_>>() {
            Some(words) => words,
            None => return Some(Err(format!("an argument is not UTF-8 ({USAGE})"))),
        };
        Some(match words.as_slice() {
            ["man", dir] if !dir.is_empty() => Ok(Request::Man(PathBuf::from(dir))),
            ["man"] => Err(format!(
                "--generate man needs the directory to write into ({USAGE})"
            )),
            [kind] => Shell::ALL
                .into_iter()
                .find(|s| s.kind() == *kind)
                .map(Request::Completion)
                .ok_or_else(|| format!("'{kind}' is not something to generate ({USAGE})")),
            [] => Err(format!("--generate needs what to generate ({USAGE})")),
            _ => Err(format!(
                "--generate takes nothing after what it generates, got '{}' ({USAGE})",
                words.join(" ")
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Option<Result<Request, String>> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        Request::from_args(&args)
    }

    #[test]
    fn reads_each_kind_and_refuses_the_rest() {
        assert_eq!(parse(&["run"]), None);
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&["--id", "1", "--generate", "man"]), None);
        for shell in Shell::ALL {
            assert_eq!(
                parse(&["--generate", shell.kind()]),
                Some(Ok(Request::Completion(shell)))
            );
        }
        assert_eq!(
            parse(&["--generate", "man", "out"]),
            Some(Ok(Request::Man(PathBuf::from("out"))))
        );
        for bad in [
            &["--generate"][..],
            &["--generate", "man"],
            &["--generate", "man", ""],
            &["--generate", "complete-pwsh"],
            &["--generate", "complete-bash", "x"],
        ] {
            let e = parse(bad).unwrap().unwrap_err();
            assert!(e.contains(USAGE), "{bad:?}: {e}");
        }
    }
}
