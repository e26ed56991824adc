//! Finding a balancer's program: the flag's path (or a bare name on PATH), else the name on PATH,
//! else where distributions put it outside a normal user's PATH, and making sure it is that program
//! by what its `-v` prints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::probe::{ProbeError, probe};

/// How long `-v` may take: nginx and HAProxy answer at once, so a program that does not is not one.
const VERSION_WITHIN: Duration = Duration::from_secs(5);

/// What finding one program needs to know of it.
pub struct Program {
    /// Its binary's name, as on PATH: `nginx`.
    pub name: &'static str,
    /// The flag that names it: `--nginx`.
    pub flag: &'static str,
    /// Where distributions install it outside a normal user's PATH, tried in order.
    pub fallbacks: &'static [&'static str],
    /// What its `-v` prints (on stdout or stderr) and nothing else does: `nginx version:`.
    pub says: &'static str,
}

impl Program {
    fn install_hint(&self) -> String {
        format!(
            "install it (Debian/Ubuntu: apt-get install -y {}) or pass {} PATH",
            self.name, self.flag
        )
    }
}

/// `program`'s binary: `explicit` (a path, or a bare name looked up on PATH, as a shell takes it),
/// else its name on PATH, else its fallbacks. Checked by its `-v`.
pub async fn locate(program: &Program, explicit: Option<&Path>) -> Result<PathBuf, String> {
    let Program { name, flag, .. } = program;
    let hint = program.install_hint();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &Path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let found = match explicit {
        // A bare name is looked up on PATH, not in the current directory.
        Some(p) if !p.as_os_str().as_encoded_bytes().contains(&b'/') && !p.starts_with(".") => {
            on_path(p).ok_or_else(|| {
                format!(
                    "{flag} {}: not found on PATH; give its path, or {hint}",
                    p.display()
                )
            })?
        }
        Some(p) if p.is_dir() => {
            let inside = p.join(name);
            let tail = if inside.is_file() {
                format!("; did you mean {flag} {}?", inside.display())
            } else {
                format!("; give the {name} binary itself, or {hint}")
            };
            return Err(format!("{flag} {} is a directory{tail}", p.display()));
        }
        Some(p) if p.is_file() => p.to_owned(),
        Some(p) => return Err(format!("{flag} {}: no such file; {hint}", p.display())),
        None => on_path(Path::new(name))
            .or_else(|| {
                program
                    .fallbacks
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| format!("{name} was not found on PATH or in /usr/sbin; {hint}"))?,
    };
    check_is(program, &found).await?;
    Ok(found)
}

/// Runs `binary -v`; a program that does not print what `program`'s does is not it.
async fn check_is(program: &Program, binary: &Path) -> Result<(), String> {
    let (shown, name) = (binary.display(), program.name);
    let mut cmd = Command::new(binary);
    cmd.arg("-v");
    let out = match probe(cmd, VERSION_WITHIN).await {
        Ok(out) => out,
        Err(ProbeError::Spawn(e)) => {
            return Err(format!("{shown} is not {name}: it cannot be run ({e})"));
        }
        Err(e) => return Err(format!("{shown} is not {name}: `{shown} -v` {e}")),
    };
    let text = out.text();
    if text.contains(program.says) {
        return Ok(());
    }
    let said = match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(line) => format!("printed '{line}'"),
        None => "printed nothing".to_owned(),
    };
    Err(format!("{shown} is not {name}: `{shown} -v` {said}"))
}
