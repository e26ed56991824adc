//! `lblab run --fault …`: things that break while the load runs, on a schedule.

use std::fmt;
use std::time::{Duration, Instant};

use lblab_config::{Method, NginxConfig};
use loadtest::parse_duration;
use serde::Serialize;

use crate::backends::{self, Backend};
use crate::lab::Lab;
use crate::spec::{Balancing, LabSpec};
use crate::{nginx, probe, procfs};

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// SIGKILL: the backend dies mid-request.
    Kill(u32),
    /// SIGTERM: the backend drains and exits.
    Term(u32),
    /// SIGSTOP for a while, then SIGCONT: a hung backend that accepts but never answers.
    Pause(u32, Duration),
    /// SIGKILL, then after a while the same backend started again on the same address: a crash
    /// that a supervisor (systemd's Restart=) repairs.
    Restart(u32, Duration),
    /// Reload nginx with another method.
    Switch(Method),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub at: Duration,
    pub action: Action,
}

const ACCEPTED: &str = "kill:N@T, term:N@T, pause:N@T+D, restart:N@T+D, switch:METHOD@T (e.g. kill:2@2s, pause:1@1s+3s, restart:2@1s+500ms, switch:ip-hash@500ms)";

/// When a fault happens, from the start of the load: a duration, or zero (`0`, `0s`, `0ms`), which
/// is a fault as the load starts. Only the time may be zero; a pause or a restart lasts a while.
fn parse_at(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let num = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[num.len()..];
    let zero = !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if zero && matches!(unit, "" | "s" | "ms" | "m" | "min" | "h") && num.parse::<f64>() == Ok(0.0)
    {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

impl Fault {
    pub fn parse(s: &str) -> Result<Fault, String> {
        let bad = || format!("'{s}' is not a fault (accepted: {ACCEPTED})");
        let (what, when) = s.split_once('@').ok_or_else(bad)?;
        let (kind, arg) = what.split_once(':').ok_or_else(bad)?;
        let backend = || -> Result<u32, String> {
            arg.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                format!("'{arg}' in '{s}' is not a backend number (accepted: 1 to 64)")
            })
        };
        let (at, action) = match kind {
            "kill" => (parse_at(when)?, Action::Kill(backend()?)),
            "term" => (parse_at(when)?, Action::Term(backend()?)),
            "pause" | "restart" => {
                let (at, len) = when
                    .split_once('+')
                    .ok_or_else(|| format!("'{s}': {kind} needs @T+D, e.g. {kind}:1@1s+3s"))?;
                let (n, len) = (backend()?, parse_duration(len)?);
                let action = if kind == "pause" {
                    Action::Pause(n, len)
                } else {
                    Action::Restart(n, len)
                };
                (parse_at(at)?, action)
            }
            "switch" => (parse_at(when)?, Action::Switch(arg.parse()?)),
            _ => return Err(bad()),
        };
        Ok(Fault { at, action })
    }

    pub fn backend(&self) -> Option<u32> {
        match self.action {
            Action::Kill(n) | Action::Term(n) | Action::Pause(n, _) | Action::Restart(n, _) => {
                Some(n)
            }
            Action::Switch(_) => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Kill(n) => write!(f, "kill -KILL backend {n}"),
            Action::Term(n) => write!(f, "kill -TERM backend {n}"),
            Action::Pause(n, d) => write!(f, "kill -STOP backend {n} for {d:?}"),
            Action::Restart(n, d) => {
                write!(f, "kill -KILL backend {n}, start it again after {d:?}")
            }
            Action::Switch(m) => write!(f, "switch to {m} (nginx reload)"),
        }
    }
}

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
    /// The fault ended the backend's process (kill, term, the kill of a restart).
    #[serde(skip)]
    pub ended: bool,
}

/// One step of the timeline: a pause is a stop and, later, a continue; a restart is a kill and,
/// later, a start.
enum Step<'a> {
    Fault(&'a Fault),
    Resume(u32),
    Respawn(u32),
}

/// What the faults did.
pub struct Played {
    pub events: Vec<Event>,
    /// Backends started again (`restart`), which the caller puts in place of the dead ones once the
    /// run is over.
    pub restarted: Vec<Backend>,
    /// nginx's config at the end: another method after `switch` faults.
    pub config: NginxConfig,
}

/// Refuses a fault that cannot happen within a run of known length `duration`.
pub fn check_within(faults: &[Fault], duration: Duration) -> Result<(), String> {
    match faults.iter().find(|f| f.at >= duration) {
        Some(f) => Err(format!(
            "--fault {} at {:?} comes after the run ends (-d {duration:?}); give a time within the run",
            f.action, f.at
        )),
        None => Ok(()),
    }
}

/// Plays `faults` against `lab`, timed from `start`, until they are all done or `load_done` says
/// the load has ended: what is left is then reported as not reached, and paused backends are
/// continued at once.
pub async fn play(
    lab: &Lab,
    args: &LabSpec,
    faults: &[Fault],
    start: Instant,
    mut load_done: tokio::sync::watch::Receiver<bool>,
) -> Played {
    let mut steps: Vec<(Duration, Step)> = Vec::new();
    for f in faults {
        steps.push((f.at, Step::Fault(f)));
        match f.action {
            Action::Pause(n, d) => steps.push((f.at + d, Step::Resume(n))),
            Action::Restart(n, d) => steps.push((f.at + d, Step::Respawn(n))),
            _ => {}
        }
    }
    steps.sort_by_key(|(at, _)| *at);
    let mut events = Vec::new();
    let mut config = lab.config.clone();
    let mut paused: Vec<u32> = Vec::new();
    let mut restarted: Vec<Backend> = Vec::new();
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
        if let (Some(end), Step::Fault(_) | Step::Respawn(_)) = (ended_at, &step) {
            events.push(Event {
                at_ms: at.as_millis() as u64,
                action: match step {
                    Step::Fault(f) => f.action.to_string(),
                    _ => "start it again".into(),
                },
                backend: match step {
                    Step::Fault(f) => f.backend(),
                    Step::Respawn(n) | Step::Resume(n) => Some(n),
                },
                served_before: None,
                served_at: Vec::new(),
                error: None,
                not_done: Some(format!("not reached: the load ended at +{end} ms")),
                ended: false,
            });
            continue;
        }
        // The backend about to be signalled is read last, as close to its signal as possible; a
        // stopped one would hold the probe for its whole timeout and delay the schedule.
        let target = match step {
            Step::Fault(f) => f.backend(),
            Step::Resume(n) | Step::Respawn(n) => Some(n),
        };
        let mut served_at = vec![None; lab.backends.len()];
        let mut order: Vec<&crate::backends::Backend> = lab.backends.iter().collect();
        order.sort_by_key(|b| Some(b.id) == target);
        // Nor is a dead one: whatever holds its address now is not it.
        for b in order
            .into_iter()
            .filter(|b| !paused.contains(&b.id) && backend_alive(lab, &restarted, b.id))
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
                signal(lab, &restarted, n, libc::SIGCONT)
            }
            Step::Respawn(n) => {
                event.backend = Some(n);
                match lab.backends.get(n as usize - 1) {
                    Some(old) => {
                        event.action = format!("start backend {n} again on {}", old.addr);
                        match backends::restart(args, n, old.addr).await {
                            Ok(b) => {
                                restarted.retain(|r| r.id != n);
                                restarted.push(b);
                                Ok(())
                            }
                            // Whatever holds its address now (another program took the port) is
                            // not backend n: nginx is told to send it nothing more, so that its
                            // answers are not counted as the backend's.
                            Err(e) => Err(match mark_down(lab, &mut config, n).await {
                                Ok(()) => {
                                    format!("{e}; its server is marked down in nginx from here on")
                                }
                                Err(down) => {
                                    format!("{e}; marking it down in nginx failed too: {down}")
                                }
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
                        if !backend_alive(lab, &restarted, *n) =>
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
                        signal(lab, &restarted, *n, sig)
                    }
                    Action::Switch(m) => {
                        let balancing = Balancing {
                            weights: config.upstream.weights.clone(),
                            ..Balancing::of(*m)
                        };
                        config.upstream = balancing.upstream(config.upstream.servers.clone());
                        nginx::apply(&lab.nginx_bin, &config, lab.nginx.pid()).await
                    }
                }
            }
        };
        event.error = result.err();
        events.push(event);
    }
    Played {
        events,
        restarted,
        config,
    }
}

/// Reloads nginx with backend `n`'s server marked `down`.
async fn mark_down(lab: &Lab, config: &mut NginxConfig, n: u32) -> Result<(), String> {
    let i = n as usize - 1;
    if !config.upstream.down.contains(&i) {
        config.upstream.down.push(i);
    }
    nginx::apply(&lab.nginx_bin, config, lab.nginx.pid()).await
}

/// The process of backend `n` (the one started again, if it was) still runs.
fn backend_alive(lab: &Lab, restarted: &[Backend], n: u32) -> bool {
    restarted
        .iter()
        .find(|b| b.id == n)
        .or_else(|| lab.backends.get(n as usize - 1))
        .is_some_and(|b| procfs::alive(b.process.pid()))
}

/// Signals backend `n`: the one started again, if it was.
fn signal(lab: &Lab, restarted: &[Backend], n: u32, sig: libc::c_int) -> Result<(), String> {
    let b = restarted
        .iter()
        .find(|b| b.id == n)
        .or_else(|| lab.backends.get(n as usize - 1))
        .ok_or_else(|| format!("there is no backend {n}"))?;
    b.process
        .signal(sig)
        .map_err(|e| format!("cannot signal backend {n}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            Fault::parse("kill:2@2s"),
            Ok(Fault {
                at: Duration::from_secs(2),
                action: Action::Kill(2)
            })
        );
        assert_eq!(
            Fault::parse("pause:1@1s+3s").unwrap().action,
            Action::Pause(1, Duration::from_secs(3))
        );
        assert_eq!(
            Fault::parse("restart:2@1s+500ms"),
            Ok(Fault {
                at: Duration::from_secs(1),
                action: Action::Restart(2, Duration::from_millis(500))
            })
        );
        assert_eq!(
            Fault::parse("switch:ip-hash@500ms").unwrap().action,
            Action::Switch(Method::IpHash)
        );
    }

    #[test]
    fn a_fault_may_start_at_zero_but_not_last_zero() {
        for at in ["0", "0s", "0ms", "0.0s"] {
            assert_eq!(
                Fault::parse(&format!("kill:1@{at}")).map(|f| f.at),
                Ok(Duration::ZERO),
                "{at}"
            );
        }
        assert_eq!(
            Fault::parse("pause:1@0s+1s").unwrap().action,
            Action::Pause(1, Duration::from_secs(1))
        );
        assert!(Fault::parse("pause:1@0s+0s").is_err());
        assert!(Fault::parse("kill:1@0x").is_err());
        assert!(Fault::parse("kill:1@-0").is_err());
    }

    #[test]
    fn rejects() {
        for s in [
            "kill:2",
            "kill@2s",
            "kill:0@1s",
            "nuke:1@1s",
            "pause:1@1s",
            "restart:1@1s",
            "restart:0@1s+1s",
            "switch:fast@1s",
            "term:x@1s",
        ] {
            assert!(Fault::parse(s).is_err(), "{s}");
        }
        assert!(
            Fault::parse("nuke:1@1s")
                .unwrap_err()
                .contains("accepted: kill:N@T")
        );
    }
}
