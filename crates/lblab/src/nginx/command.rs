//! How nginx is run: its command line (prefix, config, error log), and what nginx says when it
//! refuses, in one line.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::program::Probed;

/// nginx with `prefix` and `conf`, its error log in the prefix.
pub(super) fn base_command(binary: &Path, prefix: &Path, conf: &Path) -> Command {
    let mut cmd = Command::new(binary);
    // -e: nginx opens its compiled-in error log before it reads the config; point it into the prefix
    // so that an unprivileged user gets no alert about /var/log/nginx.
    cmd.arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .stdin(Stdio::null());
    cmd
}

/// Why nginx refused, in its own words: the lines of its stderr that say what went wrong, with the
/// text of the line of the config it names (read now: the file may be a candidate that is removed
/// once it is rejected).
pub(super) fn refusal(probed: &Probed) -> String {
    let message = nginx_message(&probed.stderr());
    let line = named_line(&message)
        .map(|(n, text)| format!(" (line {n}: `{text}`)"))
        .unwrap_or_default();
    format!("{message}{line}")
}

/// The line a message of nginx's names (`… in /path/nginx.conf:12`), as its number and its text,
/// control characters shown as escapes so that the message stays one line.
fn named_line(message: &str) -> Option<(usize, String)> {
    let (path, number) = message.split(" | ").find_map(|l| {
        let (_, place) = l.rsplit_once(" in ")?;
        let (path, number) = place.trim().rsplit_once(':')?;
        Some((path, number.parse::<usize>().ok()?))
    })?;
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().nth(number.checked_sub(1)?)?.trim();
    let shown = line
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    Some((number, shown))
}

/// The lines of nginx's output that say what went wrong.
pub(super) fn nginx_message(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("[emerg]") || l.contains("[alert]") || l.contains("[crit]"))
        .collect();
    let chosen = if lines.is_empty() {
        output.lines().collect()
    } else {
        lines
    };
    chosen.join(" | ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_line_keeps_the_message_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("c.conf");
        std::fs::write(&conf, "a;\n  hash \"$x\\r\" \u{7} ;  \n").unwrap();
        let message = format!("nginx: [emerg] oops in {}:2", conf.display());
        assert_eq!(
            named_line(&message),
            Some((2, r#"hash "$x\r" \u{7} ;"#.to_owned()))
        );
        assert_eq!(named_line("nginx: [emerg] no place"), None);
        assert_eq!(named_line(&format!("x in {}:9", conf.display())), None);
    }
}
