//! `lblab run`: start, load (and break things, if asked), report, stop.

use std::fmt::Write as _;
use std::time::Instant;

use loadtest::{BackendKey, Report};
use serde::Serialize;

use crate::access_log::{self, Logged};
use crate::backend_load::{self, Sampled};
use crate::cli::RunSpec;
use crate::fault::{Action, Fault};
use crate::fault_player::{self, Event};
use crate::lab::{Lab, LabInfo, PeakRss};
use crate::outcome::{Failure, Outcome, written};
use crate::signals::{self, interrupted, say};
use crate::theory::{self, Theory};

#[derive(Serialize)]
struct RunOutput<'a> {
    #[serde(flatten)]
    report: &'a Report,
    lab: LabInfo,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    faults: Vec<Event>,
    /// Each backend's own requests in flight (its `/stats`), asked on an interval during the load.
    backends_in_flight: &'a Sampled,
    /// nginx's access log counted per backend (the third witness); absent when it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    logged: Option<&'a Logged>,
    /// Every backend that can still be asked served exactly what the client counted for it, and
    /// nginx's access log (or, with HAProxy, its picks) names each backend for exactly as many
    /// answers as the client counted.
    reconciled: bool,
    /// HAProxy's own count of its picks per server (`lbtot`), backend 1 first; absent for nginx.
    #[serde(skip_serializing_if = "Option::is_none")]
    picked: Option<Vec<u64>>,
    /// Every fault was done as asked (one that could not be, such as a restart whose port another
    /// program took, fails the run).
    faults_applied: bool,
    peak_rss: PeakRss,
    /// What the method should have given, and whether the run fits.
    theory: Theory,
}

pub async fn run(spec: RunSpec) -> Outcome {
    let mut lab =
        match Lab::start_unless_interrupted(&spec.lab, spec.load.concurrency(), true).await {
            Ok(lab) => lab,
            Err(e) => {
                // A lab that failed to start because the same Ctrl-C reached one of its programs was
                // interrupted, not broken.
                return match signals::received_within(SIGNAL_GRACE).await {
                    Some(s) => {
                        say("lblab: interrupted before the load started; the lab was stopped");
                        Err(Failure::Signal(s))
                    }
                    None => Err(e.into()),
                };
            }
        };
    let config = spec.load.aimed_at(lab.listen());
    // Each backend's connection count before the load, so that the report can say how many nginx
    // opened during it (one per request without keep-alive).
    let connections_before = lab.connections().await;
    let pids_before: Vec<u32> = lab.backends.iter().map(|b| b.process.pid()).collect();
    let start = Instant::now();
    let (done, load_done) = tokio::sync::watch::channel(false);
    // Ctrl-C (or SIGTERM, SIGHUP) ends the load early; the report of what was done is printed
    // before the lab is stopped, as oha and wrk do.
    let stop_load = loadtest::Stop::new();
    let load = async {
        let outcome = loadtest::run_until(&config, &stop_load).await;
        let _ = done.send(true);
        outcome
    };
    let first_method = lab.front.method();
    let targets = lab
        .backends
        .iter()
        .map(|b| backend_load::Target::new(b.id, b.addr, b.process.pid()))
        .collect();
    let every = backend_load::interval(loadtest::bucket_width(config.duration), lab.backends.len());
    let sampled = backend_load::sample(targets, every, start, load_done.clone());
    let mut signalled = None;
    let (outcome, mut events, sampled) = {
        let work = async {
            tokio::join!(
                load,
                fault_player::play(&mut lab, &spec.faults, start, load_done),
                sampled
            )
        };
        tokio::pin!(work);
        loop {
            tokio::select! {
                both = &mut work => break both,
                stop = interrupted(), if signalled.is_none() => {
                    signalled = Some(stop);
                    stop_load.trigger();
                    say("lblab: interrupted; the report of what was done follows");
                }
            }
        }
    };
    // A signal that came after the load ended, while the faults finished, is still an
    // interruption: the exit status says so, and the counts are shown but not judged.
    if signalled.is_none() {
        signalled = signals::received();
    }
    // A backend whose process is gone has no count (Lab::served does not ask its address).
    let served = lab.served().await;
    let connections_after = lab.connections().await;
    // Read before the lab is stopped, which removes the prefix the log is in. nginx writes each
    // line unbuffered as the request ends, so every answer the client has is in it by now.
    let addrs: Vec<_> = lab.backends.iter().map(|b| b.addr).collect();
    // `None`: a HAProxy lab, which writes no log (its own count of its picks is its witness).
    let logged = lab
        .access_log()
        .map(|path| access_log::count(&path, &addrs, |c| config.ok_status.contains(c)));
    // HAProxy's own count of its picks, read before it stops; nginx keeps none.
    let picks = lab.picks().await;
    let mut info = lab.info(&served);
    // A backend started again counts from 0 in a new process: its difference is not known.
    for ((b, pid), (before, after)) in info
        .backends
        .iter_mut()
        .zip(&pids_before)
        .zip(connections_before.iter().zip(&connections_after))
    {
        b.connections = after
            .zip(*before)
            .filter(|_| b.pid == *pid)
            .and_then(|(a, b)| a.checked_sub(b));
    }
    let peak_rss = lab.peak_rss();
    lab.stop();
    let report = match (outcome, signalled) {
        (Ok(r), _) => r,
        (Err(_), Some(s)) => return Err(Failure::Signal(s)),
        (Err(e), None) => return Err(Failure::Usage(e)),
    };
    // The faults and the samples were timed from the runner's start, a little before the load's:
    // they are put on the timeline's clock, so a kill is drawn where the answers stopped.
    let load_start = report
        .timeline
        .as_ref()
        .and_then(|t| t.start)
        .unwrap_or(start);
    for e in &mut events {
        e.place(load_start);
    }
    let sampled = sampled.shifted(load_start.saturating_duration_since(start));
    // An interrupted run left requests unanswered that the backends may have served: their
    // counts are shown, not judged.
    let checks = match signalled {
        Some(_) => Vec::new(),
        None => reconcile(
            &report,
            &served,
            logged.as_ref(),
            &spec.faults,
            &events,
            u64::from(spec.load.concurrency()),
        ),
    };
    let witness = picks.as_ref().map(|p| {
        let judged = signalled.is_none() && spec.faults.iter().all(Fault::keeps_picks_exact);
        crate::haproxy::witness::line(p, &report, judged)
    });
    let reconciled = signalled.is_none()
        && checks.iter().all(|c| c.ok)
        && witness.as_ref().is_none_or(|(ok, _)| *ok);
    // A fault that could not be applied leaves a run that is not the one asked for.
    let faults_applied = events.iter().all(|e| e.error.is_none());
    let theory = theory_of(&spec, &report, &events, signalled.is_some());
    write_report(
        &spec,
        &report,
        &info,
        &first_method,
        &events,
        &theory,
        &sampled,
    )?;
    let text = if spec.load.json() {
        let out = RunOutput {
            report: &report,
            lab: info,
            faults: events,
            backends_in_flight: &sampled,
            logged: logged.as_ref().and_then(|l| l.as_ref().ok()),
            reconciled,
            picked: picks.and_then(Result::ok),
            faults_applied,
            peak_rss,
            theory,
        };
        serde_json::to_string(&out).unwrap_or_default() + "\n"
    } else {
        loadtest::print_text(&report)
            + &describe(
                &info,
                &first_method,
                &events,
                &checks,
                signalled.is_some(),
                logged.as_ref(),
            )
            + &witness.map(|(_, l)| l + "\n").unwrap_or_default()
            + &format!("theory   {}\n", theory.line())
    };
    let printed = crate::output::out(&text);
    // A signal that came while the report was printed still ends the program as the signal
    // would, so that a script sees 128+N whenever it came.
    let code = if let Some(stop) = signalled.or_else(signals::received) {
        stop.exit_code()
    } else if report.passed && reconciled && faults_applied {
        0
    } else {
        1
    };
    // The lab is already stopped: a reader that went away costs only the report.
    written(printed, code)
}

/// `--html` and `--svg`: the run as one method's column, its faults marked on the time chart.
fn write_report(
    spec: &RunSpec,
    report: &Report,
    info: &LabInfo,
    first: &str,
    events: &[Event],
    theory: &Theory,
    sampled: &Sampled,
) -> Result<(), String> {
    let label = if first == info.method {
        first.to_owned()
    } else {
        format!("{first} → {}", info.method)
    };
    let page = crate::report::Page {
        title: format!("lblab run --method {label}"),
        what: match &info.upstream {
            Some(t) => format!(
                "{} backends ({}); {}",
                spec.lab.backends(),
                t.summary(),
                spec.load.sentence()
            ),
            None => format!("{} backends; {}", spec.lab.backends(), spec.load.sentence()),
        },
        runs: vec![crate::report::Shown { label, report }],
        backends: spec.lab.backends() as usize,
        // Where each was done, not where it was planned.
        markers: events
            .iter()
            .filter(|e| e.not_done.is_none())
            .map(|e| {
                let ms = e.fired_ms.unwrap_or(e.at_ms as f64);
                (ms / 1000.0, e.action.clone())
            })
            .collect(),
        backends_in_flight: Some(sampled),
        sections: vec![(
            "Theory beside measurement".to_owned(),
            format!(
                "<p class=\"theory\">{}</p>\n",
                crate::report::esc(&theory.line())
            ),
        )],
    };
    crate::report::write_all(&spec.report, &page)
}

/// Theory judges a run that went as the lab was set up: faults and switches change the shares
/// in ways it does not model, and an interrupted run stopped at no particular count.
fn theory_of(spec: &RunSpec, report: &Report, events: &[Event], interrupted: bool) -> Theory {
    if interrupted {
        return Theory::not_judged("not judged: the run was interrupted");
    }
    if !events.is_empty() {
        return Theory::not_judged(
            "not judged: faults and switches change the shares in ways theory does not model",
        );
    }
    theory::lab::for_run(&spec.lab, spec.lab.balancer(), &spec.load, report)
}

/// One backend's count against the client's.
struct Check {
    id: u32,
    ok: bool,
    text: String,
}

/// Compares each backend's own `served` with the client's count for it. A backend that was killed
/// cannot be asked any more: what it had served when it was signalled must not exceed what the
/// client counted for it. A restarted one counts from its restart: that plus what it had served at
/// each kill must not exceed the client's count either. A paused backend is shown but not judged: nginx gives up on the requests
/// it holds after the read timeout, and the backend still counts them once it runs again.
///
/// A backend that is dead at the end (killed, or not started again) answered nothing after its
/// kill but what was in flight: at most one request per client connection (`concurrency`). More
/// means answers on its address came from another process. That is judged on the client's own
/// timeline, by the answers in the buckets that began after the kill: its count read just before
/// the signal cannot be the base, since a busy runner may take milliseconds, and the backend
/// answer dozens, between the read and the signal.
///
/// nginx's access log is the third witness, and it is exact whatever the faults: each answer the
/// client counted for a backend is one line that names the backend's address last.
fn reconcile(
    report: &Report,
    served: &[Option<u64>],
    logged: Option<&Result<Logged, String>>,
    faults: &[Fault],
    events: &[Event],
    concurrency: u64,
) -> Vec<Check> {
    served
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = i as u32 + 1;
            let client = report.counts.get(&BackendKey::Id(id)).copied().unwrap_or(0);
            let paused = faults.iter().any(|f| matches!(f.action, Action::Pause(n, _) if n == id));
            let restarted =
                faults.iter().any(|f| matches!(f.action, Action::Restart(n, _) if n == id));
            let killed: u64 = events
                .iter()
                .filter(|e| e.backend == Some(id) && e.ended)
                .filter_map(|e| e.served_before)
                .sum();
            let before = events
                .iter()
                .find(|e| e.backend == Some(id) && e.served_before.is_some())
                .and_then(|e| e.served_before);
            let late = events
                .iter()
                .rfind(|e| e.backend == Some(id) && e.served_before.is_some())
                .and_then(|e| e.fired_ms)
                .and_then(|at| answered_after(report, id, at));
            let check = match (s, before) {
                (Some(s), _) if restarted => Check {
                    id,
                    ok: killed + s <= client,
                    text: format!("{id}: {killed} served before it was killed, {s} since it was started again, {client} counted ({} answered between its last count and its end)", client.saturating_sub(killed + s)),
                },
                (Some(s), _) if paused => Check { id, ok: true, text: format!("{id}: {s} served, {client} counted (paused: not judged)") },
                (Some(s), _) => Check { id, ok: *s == client, text: format!("{id}: {s} served = {client} counted") },
                (None, Some(b)) if late.is_some_and(|n| n > concurrency) => Check {
                    id,
                    ok: false,
                    text: format!("{id}: {b} served when signalled, {client} counted: {} answered after the kill, more than the {concurrency} that can be in flight, answered by another process on its address", late.unwrap_or(0)),
                },
                (None, Some(b)) => Check {
                    id,
                    ok: b <= client,
                    text: format!("{id}: {b} served when signalled, {client} counted ({} answered between its last count and its end)", client.saturating_sub(b)),
                },
                (None, None) => Check { id, ok: false, text: format!("{id}: its count could not be read, {client} counted") },
            };
            match logged {
                Some(l) => witness(check, client, l.as_ref().map(|l| l.answered.get(i).copied().unwrap_or(0))),
                None => check,
            }
        })
        .collect()
}

/// The answers the client counted from backend `id` in the timeline's buckets that began after
/// `at_ms` (on the timeline's clock); `None` without a timeline.
fn answered_after(report: &Report, id: u32, at_ms: f64) -> Option<u64> {
    let t = report.timeline.as_ref()?;
    let row = t.answered.get(&BackendKey::Id(id))?;
    let first = (at_ms / t.bucket_ms).floor() as usize + 1;
    Some(row.iter().skip(first).sum())
}

/// A check with nginx's log beside it: the log must name the backend for exactly what the client
/// counted.
fn witness(mut check: Check, client: u64, logged: Result<u64, &String>) -> Check {
    match logged {
        Ok(l) => {
            check.ok &= l == client;
            let counted = format!("{client} counted");
            check.text = check
                .text
                .replacen(&counted, &format!("{counted} = {l} logged"), 1);
        }
        Err(e) => {
            check.ok = false;
            check.text.push_str(&format!("; not logged: {e}"));
        }
    }
    check
}

/// How long a failed start waits to learn whether a signal caused it.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

fn describe(
    info: &LabInfo,
    first: &str,
    events: &[Event],
    checks: &[Check],
    interrupted: bool,
    logged: Option<&Result<Logged, String>>,
) -> String {
    let mut s = String::new();
    let method = if first == info.method {
        format!("method {}", info.method)
    } else {
        format!("method {} at the end, {first} at the start", info.method)
    };
    let _ = writeln!(
        s,
        "lab      {} via {} {} ({method})",
        info.url, info.proxy, info.nginx_pid
    );
    if let Some(t) = &info.upstream {
        let _ = writeln!(s, "upstream {}", t.summary());
    }
    for e in events {
        let _ = write!(s, "fault    +{} ms {}", e.at_ms, e.action);
        if let Some(why) = &e.not_done {
            let _ = writeln!(s, ": not done, {why}");
            continue;
        }
        let before: Vec<String> = e
            .served_at
            .iter()
            .enumerate()
            .map(|(i, n)| match n {
                Some(n) => format!("{}: {n}", i + 1),
                None => format!("{}: -", i + 1),
            })
            .collect();
        let _ = write!(s, " (served so far {{{}}})", before.join(", "));
        if let Some(err) = &e.error {
            let _ = write!(s, ": FAILED: {err}");
        }
        let _ = writeln!(s);
    }
    let bad: Vec<u32> = checks.iter().filter(|c| !c.ok).map(|c| c.id).collect();
    let lines: Vec<&str> = checks.iter().map(|c| c.text.as_str()).collect();
    if interrupted {
        // Requests in flight when the load stopped may have been served without being counted,
        // so the two counts are shown and not compared.
        let own: Vec<String> = info
            .backends
            .iter()
            .map(|b| match b.served {
                Some(n) => format!("{}: {n}", b.id),
                None => format!("{}: -", b.id),
            })
            .collect();
        let _ = writeln!(
            s,
            "served   not compared with the client's counts (interrupted); the backends' own: {}",
            own.join(", ")
        );
    } else if bad.is_empty() {
        let _ = writeln!(
            s,
            "served   by the backends' own count = the client's{}: {}",
            if logged.is_some() {
                " = nginx's access log"
            } else {
                ""
            },
            lines.join("; ")
        );
    } else {
        let _ = writeln!(
            s,
            "FAIL: the backends' own counts, the client's{} disagree for {bad:?}: {}",
            if logged.is_some() {
                " and nginx's access log"
            } else {
                ""
            },
            lines.join("; ")
        );
    }
    // How many connections carried the requests: one each without keep-alive, a pool's worth with.
    if info.backends.iter().any(|b| b.connections.is_some()) {
        let conns: Vec<String> = info
            .backends
            .iter()
            .map(|b| match b.connections {
                Some(n) => format!("{}: {n}", b.id),
                None => format!("{}: -", b.id),
            })
            .collect();
        let _ = writeln!(
            s,
            "conns    TCP connections each backend accepted from nginx during the load: {}",
            conns.join(", ")
        );
    }
    // What nginx did with the tries that failed: each went on to the next upstream, and the log
    // shows the retries the client never saw.
    if let Some(Ok(l)) = logged
        && l.passed_on.iter().any(|&n| n > 0)
    {
        let tries: Vec<String> = l
            .passed_on
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{}: {n}", i + 1))
            .collect();
        let _ = writeln!(
            s,
            "logged   tries that failed on a backend and went on to the next: {}",
            tries.join(", ")
        );
    }
    let failed = events.iter().filter(|e| e.error.is_some()).count();
    if failed > 0 {
        let _ = writeln!(
            s,
            "FAIL: {failed} fault step(s) could not be done (FAILED above): the run is not the one asked for"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ok: bool) -> Check {
        Check {
            id: 2,
            ok,
            text: "2: 726 served when signalled, 727 counted (1 answered between its last count and its end)".into(),
        }
    }

    #[test]
    fn the_log_must_name_a_backend_for_exactly_the_clients_count() {
        let agreed = witness(check(true), 727, Ok(727));
        assert!(agreed.ok);
        assert_eq!(
            agreed.text,
            "2: 726 served when signalled, 727 counted = 727 logged (1 answered between its last count and its end)"
        );
        assert!(
            !witness(check(true), 727, Ok(726)).ok,
            "one answer fewer in the log"
        );
        assert!(
            !witness(check(false), 727, Ok(727)).ok,
            "the other witnesses disagreed"
        );
        let unread = witness(check(true), 727, Err(&"cannot read it".to_string()));
        assert!(!unread.ok && unread.text.ends_with("; not logged: cannot read it"));
    }
}
