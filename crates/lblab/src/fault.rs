//! `lblab run --fault …`: things that break while the load runs, on a schedule. This is what they
//! are; `fault_player.rs` does them to a lab.

use std::fmt;
use std::time::Duration;

use lblab_config::{HaproxyMethod, Method, Proxy};
use loadtest::parse_duration;

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
    /// The balancer reloaded with another method, as `lblab switch --method M` does.
    Switch(SwitchTo),
    /// Backend N taken out of the balancing while its process runs on: nginx reloads with its
    /// server marked `down`, HAProxy puts it in maintenance through its runtime API. With a
    /// duration, it is put back after it (`ready` for HAProxy, nginx reloads without `down`).
    Down(u32, Option<Duration>),
}

/// The method a switch fault changes to: one of the lab's balancer's, so that what the fault names
/// is what that balancer does.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchTo {
    Nginx(Method),
    Haproxy(HaproxyMethod),
}

impl SwitchTo {
    /// `method` as `proxy`'s, or why not, naming `proxy`'s methods.
    pub fn parse(method: &str, proxy: Proxy) -> Result<SwitchTo, String> {
        Ok(match proxy {
            Proxy::Nginx => SwitchTo::Nginx(method.parse()?),
            Proxy::Haproxy => SwitchTo::Haproxy(method.parse()?),
        })
    }
}

impl fmt::Display for SwitchTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchTo::Nginx(m) => write!(f, "{m}"),
            SwitchTo::Haproxy(m) => write!(f, "{m}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub at: Duration,
    pub action: Action,
}

const ACCEPTED: &str = "kill:N@T, term:N@T, pause:N@T+D, restart:N@T+D, switch:METHOD@T, down:N@T, down:N@T+D (e.g. kill:2@2s, pause:1@1s+3s, restart:2@1s+500ms, switch:ip-hash@500ms, down:2@1s+2s)";

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
    /// One `--fault` of a lab that runs `proxy`: a switch names one of its methods.
    pub fn parse(s: &str, proxy: Proxy) -> Result<Fault, String> {
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
            "switch" => (
                parse_at(when)?,
                Action::Switch(
                    SwitchTo::parse(arg, proxy).map_err(|e| format!("--fault {s}: {e}"))?,
                ),
            ),
            "down" => match when.split_once('+') {
                Some((at, len)) => (
                    parse_at(at)?,
                    Action::Down(backend()?, Some(parse_duration(len)?)),
                ),
                None => (parse_at(when)?, Action::Down(backend()?, None)),
            },
            _ => return Err(bad()),
        };
        Ok(Fault { at, action })
    }

    /// Whether HAProxy's own pick counts still equal the client's with this fault: a server taken
    /// out of the balancing (or put back) stays on the same worker, whose counts go on, and no
    /// request is retried; a signal to a backend makes HAProxy retry, a switch starts a new worker.
    pub fn keeps_picks_exact(&self) -> bool {
        matches!(self.action, Action::Down(..))
    }

    pub fn backend(&self) -> Option<u32> {
        match self.action {
            Action::Kill(n)
            | Action::Term(n)
            | Action::Pause(n, _)
            | Action::Restart(n, _)
            | Action::Down(n, _) => Some(n),
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
            Action::Switch(m @ SwitchTo::Nginx(_)) => write!(f, "switch to {m} (nginx reload)"),
            Action::Switch(m @ SwitchTo::Haproxy(_)) => {
                write!(f, "switch to {m} (haproxy reload)")
            }
            Action::Down(n, None) => write!(f, "take backend {n} out of the balancing"),
            Action::Down(n, Some(d)) => {
                write!(f, "take backend {n} out of the balancing for {d:?}")
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            Fault::parse("kill:2@2s", Proxy::Nginx),
            Ok(Fault {
                at: Duration::from_secs(2),
                action: Action::Kill(2)
            })
        );
        assert_eq!(
            Fault::parse("pause:1@1s+3s", Proxy::Nginx).unwrap().action,
            Action::Pause(1, Duration::from_secs(3))
        );
        assert_eq!(
            Fault::parse("restart:2@1s+500ms", Proxy::Nginx),
            Ok(Fault {
                at: Duration::from_secs(1),
                action: Action::Restart(2, Duration::from_millis(500))
            })
        );
        assert_eq!(
            Fault::parse("switch:ip-hash@500ms", Proxy::Nginx)
                .unwrap()
                .action,
            Action::Switch(SwitchTo::Nginx(Method::IpHash))
        );
    }

    #[test]
    fn a_fault_may_start_at_zero_but_not_last_zero() {
        for at in ["0", "0s", "0ms", "0.0s"] {
            assert_eq!(
                Fault::parse(&format!("kill:1@{at}"), Proxy::Nginx).map(|f| f.at),
                Ok(Duration::ZERO),
                "{at}"
            );
        }
        assert_eq!(
            Fault::parse("pause:1@0s+1s", Proxy::Nginx).unwrap().action,
            Action::Pause(1, Duration::from_secs(1))
        );
        assert!(Fault::parse("pause:1@0s+0s", Proxy::Nginx).is_err());
        assert_eq!(
            Fault::parse("down:2@1s", Proxy::Haproxy).unwrap().action,
            Action::Down(2, None)
        );
        assert_eq!(
            Fault::parse("down:2@0s+1s", Proxy::Nginx).unwrap().action,
            Action::Down(2, Some(Duration::from_secs(1)))
        );
        assert!(Fault::parse("down:0@1s", Proxy::Nginx).is_err());
        assert!(Fault::parse("down:1@1s+0s", Proxy::Nginx).is_err());
        assert!(Fault::parse("kill:1@0x", Proxy::Nginx).is_err());
        assert!(Fault::parse("kill:1@-0", Proxy::Nginx).is_err());
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
            assert!(Fault::parse(s, Proxy::Nginx).is_err(), "{s}");
        }
        assert!(
            Fault::parse("nuke:1@1s", Proxy::Nginx)
                .unwrap_err()
                .contains("accepted: kill:N@T")
        );
    }
}
