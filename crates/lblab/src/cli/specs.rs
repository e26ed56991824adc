//! The one place where flags become the lab, the load and what each command runs: every check
//! that needs no lab is made here, in the order the flags are told about.

use std::net::SocketAddr;

use lblab_config::Proxy;
use loadtest::HeaderTemplate;
use loadtest::cli::LoadArgs;

use super::{CompareArgs, LabArgs, RunArgs};
use crate::comparison::{CompareSpec, balancing_of};
use crate::fault::{Action, Fault, SwitchTo};
use crate::load_plan::LoadPlan;
use crate::report::ReportFiles;
use crate::spec::{Balancer, Binaries, LabSpec};

/// The keyed scenarios' header, and hash's key on it.
const KEY_HEADER: &str = "X-Key: k{n%100}";
const HASH_KEY: &str = "$http_x_key";

/// What `lblab run` runs.
#[derive(Debug)]
pub struct RunSpec {
    pub lab: LabSpec,
    pub faults: Vec<Fault>,
    pub load: LoadPlan,
    pub report: ReportFiles,
}

impl LabArgs {
    /// The lab these flags describe, validated.
    pub fn spec(&self) -> Result<LabSpec, String> {
        if self.haproxy.is_some() && self.method.proxy != Proxy::Haproxy {
            return Err("--haproxy names HAProxy's binary: add --proxy haproxy".into());
        }
        let balancer = match self.method.proxy {
            Proxy::Nginx => Balancer::Nginx(self.method.balancing()?),
            Proxy::Haproxy => Balancer::Haproxy(self.method.haproxy_balancing()?),
        };
        self.spec_with(balancer, self.delay.clone())
    }

    /// The same with another balancing and delays than the flags' own (compare's first method,
    /// its scenario's delays).
    fn spec_with(
        &self,
        balancer: Balancer,
        delays: Vec<(Option<u32>, lblab_backend::Delay)>,
    ) -> Result<LabSpec, String> {
        // The lab is open to whoever reaches its address: loopback unless the user says otherwise,
        // as for the dashboard.
        if let Some(addr) = self.listen
            && !addr.ip().is_loopback()
            && !self.listen_public
        {
            return Err(format!(
                "--listen {addr} is not a loopback address: whoever reaches it can send the lab requests; add --listen-public to mean it, or listen on 127.0.0.1 or [::1]"
            ));
        }
        let binaries = Binaries {
            nginx: self.nginx.clone(),
            haproxy: self.haproxy.clone(),
        };
        LabSpec::new(
            balancer,
            self.backends,
            delays,
            self.listen,
            binaries,
            self.workers,
        )
    }
}

/// `load` checked against a lab of `backends` behind `listen` (127.0.0.1 unless given), with
/// `adjust` applied to the load first (compare's scenario fills in its workload).
fn load_plan(
    load: &LoadArgs,
    backends: u32,
    listen: Option<SocketAddr>,
    adjust: impl FnOnce(&mut loadtest::Config),
) -> Result<LoadPlan, String> {
    let ip = listen.map_or(std::net::Ipv4Addr::LOCALHOST.into(), |a| a.ip());
    // A stand-in for the lab's URL: its port is chosen when nginx starts, and the checks need only
    // the address. The plan is aimed at the real one when the lab listens.
    let stand_in = loadtest::cli::parse_url(&format!("http://{}/", SocketAddr::new(ip, 80)))?;
    let mut config = load.to_config(stand_in, Some(backends as usize));
    adjust(&mut config);
    LoadPlan::new(config, load.json)
}

impl RunArgs {
    /// What `run` runs, or the first thing wrong with the flags.
    pub fn spec(self) -> Result<RunSpec, String> {
        let backends = self.lab.backends;
        let proxy = self.lab.method.proxy;
        let faults = self
            .faults
            .iter()
            .map(|f| Fault::parse(f, proxy))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(n) = faults
            .iter()
            .filter_map(Fault::backend)
            .find(|&n| n > backends)
        {
            return Err(format!(
                "--fault names backend {n}, but the lab has backends 1..={backends}"
            ));
        }
        let is = |f: fn(&Action) -> bool| faults.iter().any(|x| f(&x.action));
        if proxy == Proxy::Haproxy
            && is(|a| matches!(a, Action::Down(..)))
            && is(|a| matches!(a, Action::Switch(_)))
        {
            return Err(
                "--fault down:N puts HAProxy's server in maintenance at run time, which a switch's reload undoes: give down or switch faults, not both, with --proxy haproxy"
                    .into(),
            );
        }
        // A switch fault keeps the lab's backups, so its method must take them as the lab's does.
        let backup = &self.lab.method.upstream.backup;
        if let Some(m) = faults.iter().find_map(|f| match f.action {
            Action::Switch(SwitchTo::Nginx(m)) if !m.takes_backup() => Some(m),
            _ => None,
        }) && backup.as_ref().is_some_and(|b| !b.0.is_empty())
        {
            return Err(format!(
                "--fault switch:{m} with --backup: nginx takes backup servers only with {}",
                lblab_config::Method::backup_names()
            ));
        }
        // A run always keeps its timeline: the text names its bucket, the JSON carries it and the
        // HTML draws it; its cost is a buffer per task and a lock per buffer-full.
        let load = load_plan(&self.load, backends, self.lab.listen, |c| {
            c.timeline = true;
        })?;
        if let Some(d) = self.load.duration {
            crate::fault::check_within(&faults, d)?;
        }
        let report = ReportFiles::new(self.report.html, self.report.svg)?;
        Ok(RunSpec {
            lab: self.lab.spec()?,
            faults,
            load,
            report,
        })
    }
}

impl CompareArgs {
    /// What `compare` runs: the scenario's workload where the flags leave it open, and every check
    /// that needs no lab.
    pub fn spec(self) -> Result<CompareSpec, String> {
        let method = &self.lab.method;
        if method.method != "round-robin" || method.consistent {
            return Err(
                "--method/--consistent: compare runs each method of --methods (e.g. --methods least-conn,hash-consistent); one method is `lblab run`".into(),
            );
        }
        if let Some(dup) = self
            .methods
            .iter()
            .enumerate()
            .find(|(i, m)| self.methods[..*i].contains(m))
        {
            return Err(format!("--methods names {} twice", dup.1));
        }
        let sc = self.scenario;
        let delays = if self.lab.delay.is_empty() {
            sc.delays()
        } else {
            self.lab.delay.clone()
        };
        let key_header = if sc.keyed() {
            Some(HeaderTemplate::parse(KEY_HEADER)?)
        } else {
            None
        };
        let hash_key = match &method.hash_key {
            None if sc.keyed() => Some(HASH_KEY.to_owned()),
            k => k.clone(),
        };
        let backends = self.lab.backends;
        if sc == crate::scenario::Scenario::LoseBackend && backends < 2 {
            return Err("--scenario lose-backend needs at least 2 backends (-b)".into());
        }
        let report = ReportFiles::new(self.report.html, self.report.svg)?;
        let contenders = if self.methods.is_empty() {
            sc.default_contenders()
        } else {
            self.methods.clone()
        };
        let tuning = method.upstream.tuning();
        let balancing =
            |c| balancing_of(c, method.weights.clone(), hash_key.clone(), tuning.clone());
        for c in &contenders {
            balancing(*c).validate(backends)?;
        }
        let load = load_plan(&self.load, backends, self.lab.listen, |c| {
            c.progress = false;
            if c.source_ips.is_empty() {
                c.source_ips = sc.clients();
            }
            if let Some(h) = key_header
                && c.headers.is_empty()
            {
                c.headers = vec![h];
            }
        })?;
        let proxies = if self.proxies.is_empty() {
            vec![method.proxy]
        } else {
            self.proxies.clone()
        };
        if let Some(dup) = proxies
            .iter()
            .enumerate()
            .find(|(i, p)| proxies[..*i].contains(p))
        {
            return Err(format!("--proxies names {} twice", dup.1));
        }
        if proxies.contains(&Proxy::Haproxy) {
            if method.maxconn.is_some() || method.hash_balance_factor.is_some() {
                return Err(
                    "compare pairs nginx's methods with HAProxy's; --maxconn and --hash-balance-factor are for `lblab run --proxy haproxy`"
                        .into(),
                );
            }
            crate::comparison::check_haproxy_pairs(
                &contenders,
                hash_key.as_deref(),
                method.weights.as_ref(),
                backends,
            )?;
        } else if self.lab.haproxy.is_some() {
            return Err("--haproxy names HAProxy's binary: add --proxies nginx,haproxy".into());
        }
        let lab = self
            .lab
            .spec_with(Balancer::Nginx(balancing(contenders[0])), delays)?;
        Ok(CompareSpec {
            scenario: sc,
            proxies,
            contenders,
            lab,
            hash_key,
            load,
            report,
        })
    }
}
