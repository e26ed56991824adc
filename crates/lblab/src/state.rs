//! The record a running `lblab up` leaves for `switch` and `status`.

use std::path::{Path, PathBuf};

use lblab_config::NginxConfig;
use serde::{Deserialize, Serialize};

use crate::backends::BackendInfo;
use crate::child::alive;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub runner_pid: u32,
    pub url: String,
    pub nginx_bin: PathBuf,
    pub nginx_pid: u32,
    pub config: NginxConfig,
    pub backends: Vec<BackendInfo>,
}

pub fn dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_owned();
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("lblab"),
        // SAFETY: getuid cannot fail.
        _ => std::env::temp_dir().join(format!("lblab-{}", unsafe { libc::getuid() })),
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join("lab.json")
}

impl State {
    /// The running lab recorded in `dir`, or a sentence saying there is none.
    pub fn load(dir: &Path) -> Result<State, String> {
        let path = file(dir);
        let text = std::fs::read_to_string(&path).map_err(|_| {
            format!(
                "no lab is up (nothing in {}; start one with `lblab up`)",
                dir.display()
            )
        })?;
        let state: State = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a lab record: {e}", path.display()))?;
        if !alive(state.runner_pid) || !alive(state.nginx_pid) {
            return Err(format!(
                "no lab is up: {} records one whose runner (pid {}) is gone",
                path.display(),
                state.runner_pid
            ));
        }
        Ok(state)
    }

    pub fn save(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = file(dir);
        let tmp = path.with_extension("json.new");
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Removes the record if it is this process's own.
    pub fn remove(dir: &Path) {
        let path = file(dir);
        let own = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<State>(&t).ok())
            .is_some_and(|s| s.runner_pid == std::process::id());
        if own {
            let _ = std::fs::remove_file(&path);
        }
    }
}
