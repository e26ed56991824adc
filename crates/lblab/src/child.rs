//! Child processes that cannot outlive the lab: each is asked (PR_SET_PDEATHSIG) to receive a signal
//! when the runner dies, even by SIGKILL, and is stopped and reaped on drop.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Guarded {
    pub name: String,
    child: Child,
    /// It leads a process group of its own (nginx: the master and its workers), killed whole on
    /// stop, because workers outlive a master that dies by SIGKILL.
    group: bool,
}

impl Guarded {
    /// Spawns `cmd`; `on_parent_death` is delivered to the child if the runner dies first.
    pub fn spawn(
        name: String,
        cmd: &mut Command,
        on_parent_death: libc::c_int,
    ) -> std::io::Result<Guarded> {
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, on_parent_death as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        Ok(Guarded {
            name,
            child,
            group: false,
        })
    }

    /// As [`Guarded::spawn`], in a new process group led by the child, which its own children
    /// inherit.
    pub fn spawn_group(
        name: String,
        cmd: &mut Command,
        on_parent_death: libc::c_int,
    ) -> std::io::Result<Guarded> {
        cmd.process_group(0);
        let mut g = Guarded::spawn(name, cmd, on_parent_death)?;
        g.group = true;
        Ok(g)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// `Some(status)` once it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn signal(&self, sig: libc::c_int) -> std::io::Result<()> {
        // SAFETY: kill(2) with a PID this process spawned and has not reaped yet.
        if unsafe { libc::kill(self.child.id() as libc::pid_t, sig) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Sends SIGTERM (a backend drains, nginx shuts down fast), waits up to `grace`, then SIGKILLs;
    /// always reaps.
    pub fn stop(&mut self, grace: Duration) {
        self.stop_leader(grace);
        if self.group {
            // SAFETY: kill(2) of the group this child led; what is left of it are its orphans.
            unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        }
    }

    fn stop_leader(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let _ = self.signal(libc::SIGTERM);
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        tracing::warn!("{} did not stop within {grace:?}; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}
