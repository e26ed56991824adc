//! `lblab compare`: one lab, the same load under each method (nginx switched between the runs as
//! `switch` does), and a table of how each spread it.

mod measure;
mod moved;
mod table;

use lblab_config::{Method, UpstreamConfig};
use loadtest::{BackendKey, Report, Stop};
use serde::Serialize;

use crate::comparison::CompareSpec;
use crate::lab::{Lab, LabInfo};
use crate::outcome::{Failure, Outcome, written};
use crate::report::{self, Page, Shown};
use crate::signals::{self, interrupted, say};
use crate::switch::switch_to;

pub use crate::scenario::{Contender, KeyKind, Scenario};
pub use measure::Measured;
pub use moved::Movement;

#[derive(Serialize)]
struct CompareOutput<'a> {
    scenario: Scenario,
    methods: &'a [Measured],
    #[serde(skip_serializing_if = "Option::is_none")]
    key_movement: Option<&'a KeyMovement>,
    lab: LabInfo,
    /// Each backend's own count equals the sum of the client's counts for it over every run.
    reconciled: bool,
    passed: bool,
}

/// lose-backend's result.
#[derive(Debug, Serialize)]
pub struct KeyMovement {
    pub lost_backend: u32,
    pub methods: Vec<MethodMovement>,
}

#[derive(Debug, Serialize)]
pub struct MethodMovement {
    pub method: Contender,
    pub key: KeyKind,
    /// The backend marked `down` in the upstream (nginx keeps it in the hash).
    pub marked_down: Movement,
    /// The backend's server line taken out of the upstream.
    pub removed: Movement,
}

/// Why a compare stopped before its end.
enum Halt {
    Signal(crate::signals::Stop),
    Failed(String),
}

pub async fn compare(spec: CompareSpec) -> Outcome {
    let mut lab = match Lab::start_unless_interrupted(&spec.lab, spec.load.concurrency()).await {
        Ok(lab) => lab,
        Err(e) => {
            // A lab that failed to start because the same Ctrl-C reached one of its programs was
            // interrupted, not broken.
            return match signals::received_within(SIGNAL_GRACE).await {
                Some(s) => Err(stopped(s)),
                None => Err(e.into()),
            };
        }
    };
    let outcome = run_all(&mut lab, &spec).await;
    let served = lab.served().await;
    let info = lab.info(&served);
    lab.stop();
    let outcome = match outcome {
        // As at the start: a step that failed of the same Ctrl-C was interrupted.
        Err(Halt::Failed(e)) => match signals::received_within(SIGNAL_GRACE).await {
            Some(s) => Err(Halt::Signal(s)),
            None => Err(Halt::Failed(e)),
        },
        // A signal after the last run still stops the compare: its table is not printed.
        Ok(done) => match signals::received() {
            Some(s) => Err(Halt::Signal(s)),
            None => Ok(done),
        },
        halted => halted,
    };
    let (measured, movement, totals) = match outcome {
        Ok(done) => done,
        Err(Halt::Signal(s)) => return Err(stopped(s)),
        Err(Halt::Failed(e)) => return Err(Failure::Usage(format!("{e}; the lab was stopped"))),
    };
    let reconciled = served.iter().enumerate().all(|(i, s)| {
        *s == totals
            .get(&BackendKey::Id(i as u32 + 1))
            .copied()
            .or(Some(0))
    });
    let passed = reconciled && measured.iter().all(|m| m.passed);
    let page = page(&spec, &measured, movement.as_ref());
    report::write_all(&spec.report, &page)?;
    let text = if spec.load.json() {
        let out = CompareOutput {
            scenario: spec.scenario,
            methods: &measured,
            key_movement: movement.as_ref(),
            lab: info,
            reconciled,
            passed,
        };
        serde_json::to_string(&out).unwrap_or_default() + "\n"
    } else {
        table::text(&spec, &measured, movement.as_ref(), &served, reconciled)
    };
    // The lab is already stopped: a reader that went away costs only the table.
    let code = if passed { 0 } else { 1 };
    if let Err(e) = crate::output::out(&text) {
        return written(Err(e), code);
    }
    // The table is out; a signal that came while it was written still ends the program as a
    // signal would, so that a script sees 130 whenever the Ctrl-C came.
    if let Some(s) = signals::received() {
        return Err(stopped(s));
    }
    Ok(code)
}

/// How long a failed step waits to learn whether a signal caused it.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// The end of a compare stopped by `s`, once its lab is stopped.
fn stopped(s: signals::Stop) -> Failure {
    say("lblab compare: interrupted; the lab was stopped");
    Failure::Signal(s)
}

type Done = (
    Vec<Measured>,
    Option<KeyMovement>,
    std::collections::BTreeMap<BackendKey, u64>,
);

async fn run_all(lab: &mut Lab, spec: &CompareSpec) -> Result<Done, Halt> {
    let config = spec.load.aimed_at(lab.config.listen);
    let lost = spec.backends();
    let mut measured = Vec::new();
    let mut movement = Vec::new();
    let mut totals = std::collections::BTreeMap::new();
    let mut tally = |r: &Report| {
        for (k, n) in &r.counts {
            *totals.entry(*k).or_insert(0) += n;
        }
    };
    for (i, c) in spec.contenders.iter().enumerate() {
        let m = spec.balancing(*c);
        // From the backends, not nginx's config: the last lose-backend run left one server out.
        let full = m.upstream(lab.backends.iter().map(|b| b.addr).collect());
        let failed = |e: String| Halt::Failed(format!("compare: the run of {c} failed: {e}"));
        if i > 0 {
            switch(lab, full.clone()).await.map_err(failed)?;
        }
        // A Ctrl-C that came during the switch (or the previous run's tally) ends the compare
        // here rather than after one more run.
        if let Some(s) = signals::received() {
            return Err(Halt::Signal(s));
        }
        say(&format!("lblab compare: {c}"));
        let report = load(lab, &config).await.map_err(|h| fail(h, *c, ""))?;
        tally(&report);
        if let (Scenario::LoseBackend, Some(kind)) = (spec.scenario, c.keys_on()) {
            let before = moved::backend_per_key(&report, kind);
            let mut down = full.clone();
            down.down = vec![lost as usize - 1];
            let mut removed = full.clone();
            removed.servers.remove(lost as usize - 1);
            if let Some(w) = &mut removed.weights {
                w.0.remove(lost as usize - 1);
            }
            let mut after = Vec::new();
            for (phase, u) in [("backend marked down", down), ("backend removed", removed)] {
                switch(lab, u).await.map_err(|e| {
                    Halt::Failed(format!("compare: the run of {c} ({phase}) failed: {e}"))
                })?;
                if let Some(s) = signals::received() {
                    return Err(Halt::Signal(s));
                }
                let r = load(lab, &config).await.map_err(|h| fail(h, *c, phase))?;
                tally(&r);
                after.push(moved::backend_per_key(&r, kind));
            }
            let lost_key = BackendKey::Id(lost);
            movement.push(MethodMovement {
                method: *c,
                key: kind,
                marked_down: moved::movement(&before, &after[0], lost_key),
                removed: moved::movement(&before, &after[1], lost_key),
            });
        }
        measured.push(measure::measure(
            *c,
            (c.method == Method::Hash).then(|| m.hash_key().to_owned()),
            lab.backends.len(),
            m.weights.as_ref().map(|w| w.0.as_slice()),
            report,
        ));
    }
    let movement = (spec.scenario == Scenario::LoseBackend).then_some(KeyMovement {
        lost_backend: lost,
        methods: movement,
    });
    Ok((measured, movement, totals))
}

fn fail(h: Halt, c: Contender, phase: &str) -> Halt {
    match h {
        Halt::Failed(e) if phase.is_empty() => {
            Halt::Failed(format!("compare: the run of {c} failed: {e}"))
        }
        Halt::Failed(e) => Halt::Failed(format!("compare: the run of {c} ({phase}) failed: {e}")),
        s => s,
    }
}

/// Reloads nginx with `u`, exactly as `lblab switch` does, and keeps the lab's config in step.
async fn switch(lab: &mut Lab, u: UpstreamConfig) -> Result<(), String> {
    // The servers the lab knows stay its backends; a removed server is only left out of nginx's.
    lab.config = switch_to(&lab.nginx_bin, &lab.config, lab.nginx.pid(), u).await?;
    Ok(())
}

/// One run of the load; a lab process that dies during it, or a signal, ends it.
async fn load(lab: &mut Lab, config: &loadtest::Config) -> Result<Report, Halt> {
    let stop = Stop::new();
    let run = loadtest::run_until(config, &stop);
    tokio::pin!(run);
    tokio::select! {
        r = &mut run => r.map_err(Halt::Failed),
        why = lab.watch() => {
            stop.trigger();
            let _ = run.await;
            Err(Halt::Failed(why))
        }
        s = interrupted() => {
            stop.trigger();
            let _ = run.await;
            Err(Halt::Signal(s))
        }
    }
}

fn page<'a>(
    spec: &CompareSpec,
    measured: &'a [Measured],
    movement: Option<&KeyMovement>,
) -> Page<'a> {
    Page {
        title: format!("lblab compare --scenario {}", spec.scenario),
        what: table::what(spec, measured.len()),
        runs: measured
            .iter()
            .map(|m| Shown {
                label: m.method.to_string(),
                report: &m.report,
            })
            .collect(),
        backends: spec.backends() as usize,
        markers: Vec::new(),
        sections: movement
            .map(|mv| {
                vec![(
                    format!("Keys moved when backend {} left", mv.lost_backend),
                    table::movement_html(mv),
                )]
            })
            .unwrap_or_default(),
    }
}
