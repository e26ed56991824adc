//! Finding nginx: `--nginx`, else PATH, else /usr/sbin/nginx, and making sure it is nginx.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::command::{ProbeError, probe};

/// How long `nginx -v` may take: nginx answers at once, so a program that does not is not nginx.
const VERSION_WITHIN: Duration = Duration::from_secs(5);

const INSTALL_HINT: &str =
    "install it (Debian/Ubuntu: apt-get install -y nginx) or pass --nginx PATH";

/// The nginx binary: `--nginx` (a path, or a bare name looked up on PATH), else nginx on PATH, else
/// where distributions put it outside a normal user's PATH. Checked to be nginx by its `-v`.
pub async fn locate(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &Path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let found = match explicit {
        // A bare name, as a shell takes it: looked up on PATH (not in the current directory).
        Some(p) if !p.as_os_str().as_encoded_bytes().contains(&b'/') && !p.starts_with(".") => {
            on_path(p).ok_or_else(|| {
                format!(
                    "--nginx {}: not found on PATH; give its path, or {INSTALL_HINT}",
                    p.display()
                )
            })?
        }
        Some(p) if p.is_dir() => {
            let hint = if p.join("nginx").is_file() {
                format!("; did you mean --nginx {}?", p.join("nginx").display())
            } else {
                format!("; give the nginx binary itself, or {INSTALL_HINT}")
            };
            return Err(format!("--nginx {} is a directory{hint}", p.display()));
        }
        Some(p) if p.is_file() => p.to_owned(),
        Some(p) => {
            return Err(format!(
                "--nginx {}: no such file; {INSTALL_HINT}",
                p.display()
            ));
        }
        None => on_path(Path::new("nginx"))
            .or_else(|| {
                [
                    "/usr/sbin/nginx",
                    "/usr/local/sbin/nginx",
                    "/usr/local/nginx/sbin/nginx",
                ]
                .map(PathBuf::from)
                .into_iter()
                .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                format!("nginx was not found on PATH or in /usr/sbin; {INSTALL_HINT}")
            })?,
    };
    check_is_nginx(&found).await?;
    Ok(found)
}

/// nginx -v prints `nginx version: nginx/1.x` on stderr; anything else is not nginx.
async fn check_is_nginx(binary: &Path) -> Result<(), String> {
    let shown = binary.display();
    let mut cmd = Command::new(binary);
    cmd.arg("-v");
    let out = match probe(cmd, VERSION_WITHIN).await {
        Ok(out) => out,
        Err(ProbeError::Spawn(e)) => {
            return Err(format!("{shown} is not nginx: it cannot be run ({e})"));
        }
        Err(e) => return Err(format!("{shown} is not nginx: `{shown} -v` {e}")),
    };
    let text = out.text();
    if text.contains("nginx version:") {
        return Ok(());
    }
    let said = match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!("printed '{line}'"),
        None => "printed nothing".to_owned(),
    };
    Err(format!("{shown} is not nginx: `{shown} -v` {said}"))
}
