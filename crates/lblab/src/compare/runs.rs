//! compare's runs: the same load under each contender in turn, nginx switched between them, and
//! for lose-backend the runs with the last backend marked down and removed.

use lblab_config::{Method, Proxy};
use loadtest::{BackendKey, Report, Stop};

use super::measure::{self, Measured};
use super::moved::{self, KeyMovement, MethodMovement, MovementTheory};
use crate::comparison::CompareSpec;
use crate::lab::Lab;
use crate::scenario::{Contender, Scenario};
use crate::signals::{self, interrupted, say};
use crate::spec::Balancer;
use crate::theory::{self, Theory, keys::Phase};

/// Why a compare stopped before its end.
pub enum Halt {
    Signal(crate::signals::Stop),
    Failed(String),
}

pub type Done = (
    Vec<Measured>,
    Option<KeyMovement>,
    std::collections::BTreeMap<BackendKey, u64>,
);

/// Every contender in `lab`, whose balancer is `proxy` (HAProxy runs each one's counterpart).
pub async fn run_all(lab: &mut Lab, spec: &CompareSpec, proxy: Proxy) -> Result<Done, Halt> {
    let config = spec.load.aimed_at(lab.listen());
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
        let c = &spec.contender_on(*c, proxy);
        let m = spec.balancing(*c);
        let balancer = match proxy {
            Proxy::Nginx => Balancer::Nginx(m.clone()),
            Proxy::Haproxy => Balancer::Haproxy(c.haproxy_balancing(m.weights.clone())),
        };
        // From the backends, not nginx's config: the last lose-backend run left one server out.
        let servers: Vec<_> = lab.backends.iter().map(|b| b.addr).collect();
        let full = m.upstream(servers.clone());
        let failed = |e: String| Halt::Failed(format!("compare: the run of {c} failed: {e}"));
        if i > 0 {
            match &balancer {
                Balancer::Nginx(_) => lab.run_upstream(full.clone()).await,
                Balancer::Haproxy(b) => lab.run_backend(b.backend(servers)).await,
            }
            .map_err(failed)?;
        }
        // A Ctrl-C that came during the switch (or the previous run's tally) ends the compare
        // here rather than after one more run.
        if let Some(s) = signals::received() {
            return Err(Halt::Signal(s));
        }
        say(&format!("lblab compare: {c}"));
        let picked_before = lab.picks().await;
        let report = load(lab, &config).await.map_err(|h| fail(h, *c, ""))?;
        if let Some(before) = picked_before {
            crate::haproxy::witness::run_agrees(before, lab.picks().await, &report)
                .map_err(|e| Halt::Failed(format!("compare: the run of {c}: {e}")))?;
        }
        tally(&report);
        let m_weighted = m.weights.is_some();
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
                // The servers the lab knows stay its backends; a removed server is only left out
                // of nginx's.
                lab.run_upstream(u).await.map_err(|e| {
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
            let marked_down = moved::movement(&before, &after[0], lost_key);
            let removed = moved::movement(&before, &after[1], lost_key);
            let phase = |p, m: &moved::Movement| {
                if proxy == Proxy::Haproxy {
                    return theory::keys::movement_haproxy(
                        c.consistent,
                        lab.backends.len(),
                        m_weighted,
                        lost,
                        p,
                        m.moved(),
                    );
                }
                theory::keys::movement(
                    c.method,
                    c.consistent,
                    lab.backends.len(),
                    m_weighted,
                    lost,
                    p,
                    m.moved(),
                )
            };
            movement.push(MethodMovement {
                method: *c,
                key: kind,
                theory: MovementTheory {
                    marked_down: phase(Phase::MarkedDown, &marked_down),
                    removed: phase(Phase::Removed, &removed),
                },
                marked_down,
                removed,
            });
        }
        let theory = theory::lab::for_run(&spec.lab, &balancer, &spec.load, &report);
        measured.push(measure::measure(
            *c,
            (c.method == Method::Hash).then(|| m.hash_key().to_owned()),
            lab.backends.len(),
            m.weights.as_ref().map(|w| w.0.as_slice()),
            theory,
            report,
        ));
    }
    beside_random(&mut measured);
    let movement = (spec.scenario == Scenario::LoseBackend).then_some(KeyMovement {
        lost_backend: lost,
        methods: movement,
    });
    Ok((measured, movement, totals))
}

/// Each random-two row's max/mean beside random's of the same balancer (HAProxy's random(2)
/// beside its random(1)), when the compare ran both.
fn beside_random(measured: &mut [Measured]) {
    for proxy in [Proxy::Nginx, Proxy::Haproxy] {
        let random: Option<Theory> = measured
            .iter()
            .find(|m| m.method.method == Method::Random && m.method.proxy == proxy)
            .map(|m| m.theory.clone());
        if let Some(r) = random {
            for m in measured
                .iter_mut()
                .filter(|m| m.method.method == Method::RandomTwo && m.method.proxy == proxy)
            {
                m.theory.set_versus_random(&r);
            }
        }
    }
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
