//! Finding HAProxy: `--haproxy`, else PATH, else /usr/sbin/haproxy, and making sure it is HAProxy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::nginx::{ProbeError, probe};

/// How long `haproxy -v` may take: HAProxy answers at once.
const VERSION_WITHIN: Duration = Duration::from_secs(5);

const INSTALL_HINT: &str =
    "install it (Debian/Ubuntu: apt-get install -y haproxy) or pass --haproxy PATH";

/// The HAProxy binary: `--haproxy` (a path, or a bare name looked up on PATH), else haproxy on
/// PATH, else where distributions put it outside a normal user's PATH. Checked by its `-v`.
pub async fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &Path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let found = match explicit {
        Some(p) if !p.as_os_str().as_encoded_bytes().contains(&b'/') && !p.starts_with(".") => {
            on_path(p).ok_or_else(|| {
                format!(
                    "--haproxy {}: not found on PATH; give its path, or {INSTALL_HINT}",
                    p.display()
                )
            })?
        }
        Some(p) if p.is_file() => p.to_owned(),
        Some(p) if p.is_dir() => {
            return Err(format!(
                "--haproxy {} is a directory; give the haproxy binary itself, or {INSTALL_HINT}",
                p.display()
            ));
        }
        Some(p) => {
            return Err(format!(
                "--haproxy {}: no such file; {INSTALL_HINT}",
                p.display()
            ));
        }
        None => on_path(Path::new("haproxy"))
            .or_else(|| {
                ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
                    .map(PathBuf::from)
                    .into_iter()
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                format!("haproxy was not found on PATH or in /usr/sbin; {INSTALL_HINT}")
            })?,
    };
    check_is_haproxy(&found).await?;
    Ok(found)
}

/// `haproxy -v` prints `HAProxy version 2.x…`; anything else is not HAProxy.
async fn check_is_haproxy(binary: &Path) -> Result<(), String> {
    let shown = binary.display();
    let mut cmd = Command::new(binary);
    cmd.arg("-v");
    let out = match probe(cmd, VERSION_WITHIN).await {
        Ok(out) => out,
        Err(ProbeError::Spawn(e)) => {
            return Err(format!("{shown} is not haproxy: it cannot be run ({e})"));
        }
        Err(e) => return Err(format!("{shown} is not haproxy: `{shown} -v` {e}")),
    };
    let text = out.text();
    if text.contains("HAProxy version") {
        return Ok(());
    }
    let said = match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!("printed '{line}'"),
        None => "printed nothing".to_owned(),
    };
    Err(format!("{shown} is not haproxy: `{shown} -v` {said}"))
}
