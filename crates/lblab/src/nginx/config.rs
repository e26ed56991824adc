//! nginx's config on disk: written whole, checked by `nginx -t`, and nginx's words when it refuses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lblab_config::NginxConfig;

use super::command::{base_command, refusal};
use crate::program::probe;

/// How long `nginx -t` may take: it reads the config and opens its files, which takes milliseconds
/// even on a busy machine.
const TEST_WITHIN: Duration = Duration::from_secs(10);

pub fn conf_path(prefix: &Path) -> PathBuf {
    prefix.join("nginx.conf")
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
    Err(format!("nginx rejected the config: {}", refusal(&out)))
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
}
