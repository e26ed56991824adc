//! `lblab up`: the lab kept running until Ctrl-C.

use std::path::Path;

use crate::Exit;
use crate::cli::UpArgs;
use crate::dashboard;
use crate::lab::{Lab, LabInfo};
use crate::signals::{interrupted, say};
use crate::state::{self, State};

pub async fn up(args: UpArgs) -> Exit {
    loadtest::raise_nofile_limit();
    let dir = state::dir(args.state.state_dir.as_deref());
    if let Err(e) = state::prepare(&dir) {
        return Exit::Usage(e);
    }
    // Held until the record is removed, after the lab stopped: a second `up` with this directory
    // is refused even while this one is still starting.
    let _claim = match state::claim(&dir) {
        Ok(c) => c,
        Err(e) => return Exit::Usage(e),
    };
    if let Ok(other) = State::load(&dir) {
        return Exit::Usage(format!(
            "a lab is already up at {} (runner pid {}); stop it, or give this one another --state-dir",
            other.url, other.runner_pid
        ));
    }
    let bound = args
        .dashboard
        .map(|a| dashboard::bind(a, args.dashboard_public))
        .transpose();
    let dashboard = match bound {
        Ok(d) => d,
        Err(e) => return Exit::Usage(e),
    };
    let spec = match args.lab.spec() {
        Ok(spec) => spec,
        Err(e) => return Exit::Usage(e),
    };
    // Size nginx for a large load: `up` does not know what will be sent through it.
    let mut lab = match Lab::start_for_command(&spec, 10_000).await {
        Ok(lab) => lab,
        Err(exit) => return exit,
    };
    let info = lab.info(&[]);
    let state = State {
        runner_pid: std::process::id(),
        runner_start: crate::procfs::start_time(std::process::id()),
        url: info.url.clone(),
        nginx_bin: lab.nginx_bin.clone(),
        nginx_pid: info.nginx_pid,
        config: lab.config.clone(),
        backends: info.backends.clone(),
    };
    if let Err(e) = state.save(&dir) {
        lab.stop();
        return Exit::Usage(e);
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
        Some(l) => match dashboard::start(l, dashboard_of(&dir, &info)).await {
            Ok(d) => {
                banner += &format!("  dashboard {}\n", d.url);
                Some(d)
            }
            Err(e) => {
                State::remove(&dir);
                lab.stop();
                return Exit::Usage(e);
            }
        },
        None => None,
    };
    banner += &format!(
        "  nginx pid {}, config {}\n",
        info.nginx_pid,
        info.prefix.join("nginx.conf").display()
    );
    banner += "Switch with `lblab switch --method M`; Ctrl-C stops the lab.\n";
    if let Err(e) = crate::out(&banner) {
        drop(dashboard);
        State::remove(&dir);
        lab.stop();
        return crate::output_failed(e, 0);
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
            Exit::Code(0)
        }
        Some(why) => {
            say(&format!(
                "lblab: {why} while the lab was up; the lab is stopped"
            ));
            Exit::Code(1)
        }
    }
}

fn dashboard_of(dir: &Path, info: &LabInfo) -> dashboard::LabRef {
    dashboard::LabRef {
        state_dir: dir.to_owned(),
        url: info.url.clone(),
        backends: info.backends.iter().map(|b| (b.id, b.addr)).collect(),
    }
}
