//! Plays `--fault`s against a running lab, on their schedule, beside the load: signals to the
//! backends, and nginx's upstream and restarted backends through the lab's own doors.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::fault::{Action, Fault, SwitchTo};
use crate::front::Front;
use crate::lab::Lab;
use crate::spec::{Balancing, Change};
use crate::{probe, procfs};

/// What happened, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at_ms: u64,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<u32>,
    /// The backend's `served` just before it was signalled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_before: Option<u64>,
    /// Every backend's `served` just before the fault (`null`: it did not answer), so that the
    /// report can split each backend's requests into before and after.
    pub served_at: Vec<Option<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was not done: the load had ended before its time ("not reached: …"), or its backend
    /// was already dead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_done: Option<String>,
    /// When it was done, in ms since the load started (the timeline's clock): right after the
    /// signal was sent, nginx reloaded or the backend answered again. `at_ms` is when the step
    /// began, before the backends' counts were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fired_ms: Option<f64>,
    /// The same moment, until the load's start is known.
    #[serde(skip)]
    pub fired: Option<Instant>,
    /// The fault ended the backend's process (kill, term, the kill of a restart).
    #[serde(skip)]
    pub ended: bool,
}

impl Event {
    /// Puts `fired_ms` on the clock of a load that started at `load_start`.
    pub fn place(&mut self, load_start: Instant) {
        self.fired_ms = self.fired.map(|f| {
            let ms = if f >= load_start {
                f.duration_since(load_start).as_secs_f64()
            } else {
                -load_start.duration_since(f).as_secs_f64()
            } * 1000.0;
            (ms * 1000.0).round() / 1000.0
        });
    }
}

/// One step of the timeline: a pause is a stop and, later, a continue; a restart is a kill and,
/// later, a start; a down with a duration is a removal and, later, a return.
enum Step<'a> {
    Fault(&'a Fault),
    Resume(u32),
    Respawn(u32),
    Return(u32),
}

/// Plays `faults` against `lab`, timed from `start`, until they are all done or `load_done` says
/// the load has ended: what is left is then reported as not reached, and paused backends are
/// continued at once.
pub async fn play(
    lab: &mut Lab,
    faults: &[Fault],
    start: Instant,
    mut load_done: tokio::sync::watch::Receiver<bool>,
) -> Vec<Event> {
    let mut steps: Vec<(Duration, Step)> = Vec::new();
    for f in faults {
        steps.push((f.at, Step::Fault(f)));
        match f.action {
            Action::Pause(n, d) => steps.push((f.at + d, Step::Resume(n))),
            Action::Restart(n, d) => steps.push((f.at + d, Step::Respawn(n))),
            Action::Down(n, Some(d)) => steps.push((f.at + d, Step::Return(n))),
            _ => {}
        }
    }
    steps.sort_by_key(|(at, _)| *at);
    let mut events = Vec::new();
    let mut paused: Vec<u32> = Vec::new();
    let mut ended_at: Option<u64> = None;
    for (at, step) in steps {
        if ended_at.is_none() {
            tokio::select! {
                // A step already due when the load ends is still done.
                biased;
                () = tokio::time::sleep_until((start + at).into()) => {}
                _ = load_done.wait_for(|d| *d) => ended_at = Some(start.elapsed().as_millis() as u64),
            }
        }
        if let (Some(end), Step::Fault(_) | Step::Respawn(_) | Step::Return(_)) = (ended_at, &step)
        {
            events.push(Event {
                at_ms: at.as_millis() as u64,
                action: match step {
                    Step::Fault(f) => f.action.to_string(),
                    Step::Return(n) => format!("put backend {n} back in the balancing"),
                    _ => "start it again".into(),
                },
                backend: match step {
                    Step::Fault(f) => f.backend(),
                    Step::Respawn(n) | Step::Resume(n) | Step::Return(n) => Some(n),
                },
                served_before: None,
                served_at: Vec::new(),
                error: None,
                not_done: Some(format!("not reached: the load ended at +{end} ms")),
                fired_ms: None,
                fired: None,
                ended: false,
            });
            continue;
        }
        // The backend about to be signalled is read last, as close to its signal as possible; a
        // stopped one would hold the probe for its whole timeout and delay the schedule.
        let target = match step {
            Step::Fault(f) => f.backend(),
            Step::Resume(n) | Step::Respawn(n) | Step::Return(n) => Some(n),
        };
        let mut served_at = vec![None; lab.backends.len()];
        let mut order: Vec<&crate::backends::Backend> = lab.backends.iter().collect();
        order.sort_by_key(|b| Some(b.id) == target);
        // Nor is a dead one: whatever holds its address now is not it.
        for b in order
            .into_iter()
            .filter(|b| !paused.contains(&b.id) && procfs::alive(b.process.pid()))
        {
            served_at[b.id as usize - 1] = probe::served(b.addr).await.ok();
        }
        let mut event = Event {
            at_ms: start.elapsed().as_millis() as u64,
            action: String::new(),
            backend: None,
            served_before: None,
            served_at,
            error: None,
            not_done: None,
            fired_ms: None,
            fired: None,
            ended: false,
        };
        let result = match step {
            Step::Resume(n) => {
                event.action = match ended_at {
                    // The pause was cut short: the load ended first, and a paused backend is not
                    // left stopped after the run.
                    Some(end) if (end as u128) < at.as_millis() => format!(
                        "kill -CONT backend {n}, early: the load ended at +{end} ms, before the pause's end at +{} ms",
                        at.as_millis()
                    ),
                    _ => format!("kill -CONT backend {n}"),
                };
                event.backend = Some(n);
                paused.retain(|&p| p != n);
                signal(lab, n, libc::SIGCONT)
            }
            Step::Return(n) => {
                event.action = format!("put backend {n} back in the balancing");
                event.backend = Some(n);
                lab.set_down(n, false).await
            }
            Step::Respawn(n) => {
                event.backend = Some(n);
                match lab.backends.get(n as usize - 1).map(|old| old.addr) {
                    Some(addr) => {
                        event.action = format!("start backend {n} again on {addr}");
                        match lab.restart_backend(n).await {
                            Ok(()) => Ok(()),
                            // Whatever holds its address now (another program took the port) is
                            // not backend n: nginx is told to send it nothing more, so that its
                            // answers are not counted as the backend's.
                            Err(e) => Err(match lab.set_down(n, true).await {
                                Ok(()) => format!(
                                    "{e}; its server is out of {}'s balancing from here on",
                                    lab.front.proxy()
                                ),
                                Err(down) => format!(
                                    "{e}; taking it out of {}'s balancing failed too: {down}",
                                    lab.front.proxy()
                                ),
                            }),
                        }
                    }
                    None => Err(format!("there is no backend {n}")),
                }
            }
            Step::Fault(f) => {
                event.action = f.action.to_string();
                event.backend = f.backend();
                match &f.action {
                    Action::Kill(n)
                    | Action::Term(n)
                    | Action::Pause(n, _)
                    | Action::Restart(n, _)
                        if !backend_alive(lab, *n) =>
                    {
                        event.not_done = Some(format!("backend {n} was already dead"));
                        Ok(())
                    }
                    Action::Kill(n)
                    | Action::Term(n)
                    | Action::Pause(n, _)
                    | Action::Restart(n, _) => {
                        event.served_before =
                            event.served_at.get(*n as usize - 1).copied().flatten();
                        event.ended = !matches!(f.action, Action::Pause(..));
                        let sig = match f.action {
                            Action::Kill(_) | Action::Restart(..) => libc::SIGKILL,
                            Action::Term(_) => libc::SIGTERM,
                            _ => {
                                paused.push(*n);
                                libc::SIGSTOP
                            }
                        };
                        signal(lab, *n, sig)
                    }
                    Action::Switch(to) => switch(lab, to).await,
                    Action::Down(n, _) => lab.set_down(*n, true).await,
                }
            }
        };
        if event.not_done.is_none() {
            event.fired = Some(Instant::now());
        }
        event.error = result.err();
        events.push(event);
    }
    events
}

/// The balancer switched to `to`, the weights kept: nginx through its one door for a new
/// upstream; HAProxy through the one for a new backend, with what `lblab switch --method M` would
/// make of the current one (the same merge, the same seamless reload).
async fn switch(lab: &mut Lab, to: &SwitchTo) -> Result<(), String> {
    match (to, &lab.front) {
        (SwitchTo::Nginx(m), Front::Nginx { config, .. }) => {
            let now = &config.upstream;
            let balancing = Balancing {
                weights: now.weights.clone(),
                tuning: now.tuning.clone(),
                ..Balancing::of(*m)
            };
            let mut upstream = balancing.upstream(now.servers.clone());
            // A server a down fault (or a failed restart) took out stays out.
            upstream.down = now.down.clone();
            lab.run_upstream(upstream).await
        }
        (SwitchTo::Haproxy(m), Front::Haproxy { config, .. }) => {
            let change = Change {
                other_method: Some(m.to_string()),
                ..Change::default()
            };
            let balancing = crate::switch::haproxy::merged(&config.backend, &change)?;
            balancing.validate(lab.backends.len() as u32)?;
            let backend = balancing.backend(config.backend.servers.clone());
            lab.run_backend(backend).await
        }
        // The faults were parsed against the lab's own balancer (`cli/specs.rs`).
        (to, front) => Err(format!(
            "a switch to {to} does not apply to this lab, which runs {}",
            front.proxy()
        )),
    }
}

/// The process of backend `n` (the one started again, if it was) still runs.
fn backend_alive(lab: &Lab, n: u32) -> bool {
    lab.backends
        .get(n as usize - 1)
        .is_some_and(|b| procfs::alive(b.process.pid()))
}

/// Signals backend `n` (the one started again, if it was).
fn signal(lab: &Lab, n: u32, sig: libc::c_int) -> Result<(), String> {
    let b = lab
        .backends
        .get(n as usize - 1)
        .ok_or_else(|| format!("there is no backend {n}"))?;
    b.process
        .signal(sig)
        .map_err(|e| format!("cannot signal backend {n}: {e}"))
}
