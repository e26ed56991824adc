//! `lblab run`: start, load, report, stop.

use std::fmt::Write as _;

use loadtest::Report;
use serde::Serialize;

use crate::Exit;
use crate::cli::RunArgs;
use crate::lab::{Lab, LabInfo};
use crate::signals::{INTERRUPTED_EXIT, interrupted};

#[derive(Serialize)]
struct RunOutput<'a> {
    #[serde(flatten)]
    report: &'a Report,
    lab: LabInfo,
    /// The backends' own count of answered requests equals the client's.
    reconciled: bool,
}

pub async fn run(args: RunArgs) -> Exit {
    loadtest::raise_nofile_limit();
    let lab = tokio::select! {
        lab = Lab::start(&args.lab, args.load.concurrency) => lab,
        () = interrupted() => return Exit::Code(INTERRUPTED_EXIT),
    };
    let lab = match lab {
        Ok(lab) => lab,
        Err(e) => return Exit::Usage(e),
    };
    let url = match loadtest::cli::parse_url(&lab.url()) {
        Ok(u) => u,
        Err(e) => return Exit::Usage(e),
    };
    let config = args.load.to_config(url, Some(lab.backends.len()));
    let outcome = tokio::select! {
        r = loadtest::run(&config) => r,
        () = interrupted() => {
            lab.stop();
            eprintln!("lblab: interrupted; the lab is stopped");
            return Exit::Code(INTERRUPTED_EXIT);
        }
    };
    let served = lab.served().await;
    let info = lab.info(&served);
    lab.stop();
    let report = match outcome {
        Ok(r) => r,
        Err(e) => return Exit::Usage(e),
    };
    let served_total: Option<u64> = served.iter().copied().sum();
    let reconciled = served_total == Some(report.ok);
    if args.load.json {
        let out = RunOutput {
            report: &report,
            lab: info,
            reconciled,
        };
        println!("{}", serde_json::to_string(&out).unwrap_or_default());
    } else {
        print!("{}", loadtest::print_text(&report));
        print!("{}", describe(&info, served_total, report.ok));
    }
    if report.passed && reconciled {
        Exit::Code(0)
    } else {
        Exit::Code(1)
    }
}

fn describe(info: &LabInfo, served_total: Option<u64>, answered: u64) -> String {
    let mut s = String::new();
    let per: Vec<String> = info
        .backends
        .iter()
        .map(|b| match b.served {
            Some(n) => format!("{}: {n}", b.id),
            None => format!("{}: ?", b.id),
        })
        .collect();
    let _ = writeln!(
        s,
        "lab      {} via nginx {} (method {})",
        info.url, info.nginx_pid, info.method
    );
    match served_total {
        Some(t) if t == answered => {
            let _ = writeln!(
                s,
                "served   {{{}}} by the backends' own count = {answered} answered",
                per.join(", ")
            );
        }
        _ => {
            let _ = writeln!(
                s,
                "FAIL: the backends' own count {{{}}} does not add up to the {answered} answered",
                per.join(", ")
            );
        }
    }
    s
}
