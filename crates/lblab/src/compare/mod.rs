//! `lblab compare`: one lab, the same load under each method (nginx switched between the runs as
//! `switch` does), and a table of how each spread it.

mod measure;
mod moved;
mod page;
mod runs;
mod table;
mod theory_view;

use loadtest::BackendKey;
use serde::Serialize;

use crate::comparison::CompareSpec;
use crate::lab::{Lab, LabInfo};
use crate::outcome::{Failure, Outcome, written};
use crate::report;
use crate::scenario::Scenario;
use crate::signals::{self, say};
use measure::Measured;
use moved::KeyMovement;
use runs::{Halt, run_all};

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

pub async fn compare(spec: CompareSpec) -> Outcome {
    let mut by_proxy = Vec::new();
    let mut info = None;
    let mut served_sum: Vec<Option<u64>> = Vec::new();
    let mut reconciled = true;
    let mut movements = Vec::new();
    for &proxy in &spec.proxies {
        let lab_spec = spec.lab_on(proxy).map_err(Failure::Usage)?;
        let (measured, moved, served, lab_info, agreed) =
            on_one_lab(&spec, &lab_spec, proxy).await?;
        reconciled &= agreed;
        served_sum = sum(&served_sum, &served);
        info.get_or_insert(lab_info);
        movements.extend(moved);
        by_proxy.push(measured);
    }
    let movement = beside(movements);
    // Each contender's rows side by side: nginx's method, then its HAProxy counterpart.
    let mut measured = Vec::new();
    let mut rows: Vec<_> = by_proxy.into_iter().map(Vec::into_iter).collect();
    for _ in 0..spec.contenders.len() {
        measured.extend(rows.iter_mut().filter_map(Iterator::next));
    }
    let served = served_sum;
    let Some(info) = info else {
        return Err(Failure::Usage("compare: no balancer to run".into()));
    };
    let passed = reconciled && measured.iter().all(|m| m.passed);
    let page = page::page(&spec, &measured, movement.as_ref());
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
        table::text(
            &spec,
            &page.what,
            &measured,
            movement.as_ref(),
            &served,
            reconciled,
        )
    };
    // The lab is already stopped: a reader that went away costs only the table.
    let code = if passed { 0 } else { 1 };
    if let Err(e) = crate::output::out(&text) {
        return written(Err(e), code);
    }
    // The table is out; a signal that came while it was written still ends the program as a
    // signal would, so that a script sees 130 whenever the Ctrl-C came. The short wait lets a
    // signal already sent be handled, leaving only the process's own exit after this look.
    if let Some(s) = signals::received_within(END_GRACE).await {
        return Err(stopped(s));
    }
    Ok(code)
}

/// The key movement of every lab in one, each of nginx's methods followed by its HAProxy
/// counterpart, as the rows of the table are.
fn beside(movements: Vec<KeyMovement>) -> Option<KeyMovement> {
    let lost_backend = movements.first()?.lost_backend;
    let mut each: Vec<_> = movements
        .into_iter()
        .map(|m| m.methods.into_iter())
        .collect();
    let mut methods = Vec::new();
    loop {
        let next: Vec<_> = each.iter_mut().filter_map(Iterator::next).collect();
        if next.is_empty() {
            break;
        }
        methods.extend(next);
    }
    Some(KeyMovement {
        lost_backend,
        methods,
    })
}

/// Each backend's count over the labs: `None` where any lab could not read it.
fn sum(a: &[Option<u64>], b: &[Option<u64>]) -> Vec<Option<u64>> {
    if a.is_empty() {
        return b.to_vec();
    }
    a.iter().zip(b).map(|(x, y)| Some((*x)? + (*y)?)).collect()
}

/// The whole comparison in a lab of `proxy`'s: its rows, key movement, the backends' own counts,
/// the lab, and whether the backends' own counts equal the client's.
async fn on_one_lab(
    spec: &CompareSpec,
    lab_spec: &crate::spec::LabSpec,
    proxy: lblab_config::Proxy,
) -> Result<
    (
        Vec<Measured>,
        Option<KeyMovement>,
        Vec<Option<u64>>,
        LabInfo,
        bool,
    ),
    Failure,
> {
    let mut lab =
        match Lab::start_unless_interrupted(lab_spec, spec.load.concurrency(), false).await {
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
    let outcome = run_all(&mut lab, spec, proxy).await;
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
    let counted = |i: usize| {
        totals
            .get(&BackendKey::Id(i as u32 + 1))
            .copied()
            .unwrap_or(0)
    };
    // HAProxy's own picks are reconciled run by run (`runs.rs`): a reload starts its counts anew.
    let reconciled = served
        .iter()
        .enumerate()
        .all(|(i, s)| *s == Some(counted(i)));
    Ok((measured, movement, served, info, reconciled))
}

/// How long the compare's last look for a signal waits, after its table is out.
const END_GRACE: std::time::Duration = std::time::Duration::from_millis(20);

/// How long a failed step waits to learn whether a signal caused it.
const SIGNAL_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// The end of a compare stopped by `s`, once its lab is stopped.
fn stopped(s: signals::Stop) -> Failure {
    say("lblab compare: interrupted; the lab was stopped");
    Failure::Signal(s)
}
