//! `lblab up`: the lab kept running until Ctrl-C.

use std::path::Path;

use crate::cli::UpArgs;
use crate::dashboard;
use crate::lab::{Lab, LabInfo};
use crate::outcome::{Failure, Outcome, written};
use crate::signals::{interrupted, say};
use crate::state::{self, State};

pub async fn up(args: UpArgs) -> Outcome {
    loadtest::raise_nofile_limit();
    let dir = state::dir(args.state.state_dir.as_deref());
    state::prepare(&dir)?;
    // Held until the record is removed, after the lab stopped: a second `up` with this directory
    // is refused even while this one is still starting.
    let _claim = state::claim(&dir)?;
    if let Ok(other) = State::load(&dir) {
        return Err(Failure::Usage(format!(
            "a lab is already up at {} (runner pid {}); stop it, or give this one another --state-dir",
            other.url, other.runner_pid
        )));
    }
    let dashboard = args
        .dashboard
        .map(|a| dashboard::bind(a, args.dashboard_public))
        .transpose()?;
    let spec = args.lab.spec()?;
    // Size nginx for a large load: `up` does not know what will be sent through it.
    let mut lab = Lab::start_unless_interrupted(&spec, 10_000, false).await?;
    let info = lab.info(&[]);

    let state = State {
        runner_pid: std::process::id(),
        runner_start: crate::procfs::start_time(std::process::id()),
        url: info.url.clone(),
        front: lab.front.clone(),
        nginx_pid: info.nginx_pid,
        backends: info.backends.clone(),
    };
    if let Err(e) = state.save(&dir) {
        lab.stop();
        return Err(Failure::Usage(e));
    }
    // What the user is told, written at once after the dashboard started: a stdout whose reader
    // has gone (`lblab up | head -1`) then stops the lab here, record and all, instead of
    // panicking with the lab left recorded.
    let mut banner = format!(
        "lblab: {} balancing {} backends at {}\n",
        info.method,
        info.backends.len(),
        info.url
    );
    for b in &info.backends {
        banner += &format!("  backend {} pid {} at http://{}/\n", b.id, b.pid, b.addr);
    }
    let dashboard = match dashboard {
        Some(l) => match dashboard::start(l, dashboard_of(&dir, &info, lab.front.proxy())).await {
            Ok(d) => {
                banner += &format!("  dashboard {}\n", d.url);
                Some(d)
            }
            Err(e) => {
                State::remove(&dir);
                lab.stop();
                return Err(Failure::Usage(e));
            }
        },
        None => None,
    };
    banner += &format!(
        "  {} pid {}, config {}\n",
        info.proxy,
        info.nginx_pid,
        lab.front.conf_path().display()
    );
    banner += "Switch with `lblab switch --method M`; Ctrl-C stops the lab.\n";
    if let Err(e) = crate::output::out(&banner) {
        drop(dashboard);
        State::remove(&dir);
        lab.stop();
        return written(Err(e), 0);
    }
    let died = tokio::select! {
        _ = interrupted() => None,
        why = lab.watch() => Some(why),
    };
    drop(dashboard);
    State::remove(&dir);
    lab.stop();
    match died {
        None => {
            say("lblab: stopped");
            Ok(0)
        }
        Some(why) => {
            say(&format!(
                "lblab: {why} while the lab was up; the lab is stopped"
            ));
            Ok(1)
        }
    }
}

fn dashboard_of(dir: &Path, info: &LabInfo, proxy: lblab_config::Proxy) -> dashboard::LabRef {
    dashboard::LabRef {
        state_dir: dir.to_owned(),
        proxy,
        url: info.url.clone(),
        backends: info.backends.iter().map(|b| (b.id, b.addr)).collect(),
    }
}
