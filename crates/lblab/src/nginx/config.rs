//! nginx's config on disk: written whole, checked by `nginx -t`, and nginx's words when it refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lblab_config::NginxConfig;

use super::probe::probe;

/// How long `nginx -t` may take: it reads the config and opens its files, which takes milliseconds
/// even on a busy machine.
const TEST_WITHIN: Duration = Duration::from_secs(10);

pub fn conf_path(prefix: &Path) -> PathBuf {
    prefix.join("nginx.conf")
}

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

/// Writes `config` to `path` via a rename, so a reload never reads half a file.
pub fn write_config(path: &Path, config: &NginxConfig) -> Result<(), String> {
    let tmp = path.with_extension("conf.new");
    std::fs::write(&tmp, config.render())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `nginx -t` on `conf`: nginx's own words when it rejects it, with the text of the line it names
/// (read now: the file may be a candidate that is removed once it is rejected).
pub async fn test_config(binary: &Path, prefix: &Path, conf: &Path) -> Result<(), String> {
    let mut cmd = base_command(binary, prefix, conf);
    cmd.arg("-t");
    let out = probe(cmd, TEST_WITHIN)
        .await
        .map_err(|e| format!("`{} -t` {e}", binary.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let message = nginx_message(&String::from_utf8_lossy(&out.stderr));
    let line = named_line(&message)
        .map(|(n, text)| format!(" (line {n}: `{text}`)"))
        .unwrap_or_default();
    Err(format!("nginx rejected the config: {message}{line}"))
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
    use crate::nginx::locate;

    /// nginx names the line of a candidate that lblab removes once it is rejected; the message
    /// carries that line's text, so it still says what was wrong after the file is gone.
    #[tokio::test]
    async fn a_rejected_config_is_shown_with_its_line() {
        let nginx = locate(None)
            .await
            .unwrap_or_else(|e| panic!("this test needs nginx: {e}"));
        let prefix = tempfile::tempdir().unwrap();
        let candidate = prefix.path().join("nginx.conf.candidate");
        std::fs::write(
            &candidate,
            "events {}\nhttp {\n    upstream lblab { server 127.0.0.1:9; hash $x consistent consistent; }\n}\n",
        )
        .unwrap();
        let e = test_config(&nginx, prefix.path(), &candidate)
            .await
            .unwrap_err();
        std::fs::remove_file(&candidate).unwrap();
        assert!(e.starts_with("nginx rejected the config: "), "{e}");
        assert!(e.contains("[emerg]"), "nginx's own words are missing: {e}");
        assert!(
            e.ends_with(
                "(line 3: `upstream lblab { server 127.0.0.1:9; hash $x consistent consistent; }`)"
            ),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }

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
