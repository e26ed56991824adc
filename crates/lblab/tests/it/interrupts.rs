//! Ctrl-C as a terminal sends it: to the whole foreground process group, at any moment of a run or
//! a compare. Each test starts lblab in a process group of its own and signals that group, so the
//! runner and every child still in its group receive it, as they would at a terminal.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;

/// `lblab ARGS` in its own process group, its temporary files in `tmp`.
fn spawn(args: &[&str], tmp: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lblab"));
    require_nginx();
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lblab starts")
}

/// The lines of `child`'s stderr as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The runner's children and theirs (backends, nginx and its workers) as they are now.
fn lab_of(runner: u32) -> BTreeSet<u64> {
    let kids = children_of(runner);
    let grandkids: Vec<u64> = kids.iter().flat_map(|&p| children_of(p as u32)).collect();
    kids.into_iter().chain(grandkids).collect()
}

/// What the runner printed on stdout and stderr once it has exited, and how it exited.
fn finish(
    mut child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
) -> (Option<i32>, String, String) {
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < until,
            "lblab did not exit after Ctrl-C; stderr so far: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let err: Vec<String> = seen.into_iter().chain(lines.iter()).collect();
    (status.code(), out, err.join("\n"))
}

/// When, in a compare, the Ctrl-C is sent.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// As soon as the first backend exists: the lab is starting.
    Starting,
    /// Once the compare says it runs this method, after this long.
    After(&'static str, Duration),
}

/// Whether process `pid` has ended (a zombie not yet reaped, or gone).
fn ended(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Starts a compare, sends Ctrl-C to its process group at `moment`, and checks that it exits 130
/// saying it was interrupted, with every process of its lab gone and its nginx prefix removed.
/// `false`: the compare had already ended when the Ctrl-C was to be sent (after its last method, on
/// a busy machine, the test can come too late), so nothing was tried.
fn compare_interrupted(load: &[&str], moment: Moment) -> bool {
    let scratch = scratch();
    let mut args = vec!["compare", "--json"];
    args.extend_from_slice(load);
    let mut child = spawn(&args, scratch.path());
    let runner = child.id();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(20);
    let mut lab = BTreeSet::new();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{moment:?}: the compare ended before the moment came: {seen:?}"
        );
        assert!(Instant::now() < until, "{moment:?} never came: {seen:?}");
        lab.extend(lab_of(runner));
        while let Ok(l) = lines.try_recv() {
            seen.push(l);
        }
        let now = match moment {
            Moment::Starting => !lab.is_empty(),
            Moment::After(m, _) => seen.iter().any(|l| *l == format!("lblab compare: {m}")),
        };
        if now {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if let Moment::After(_, wait) = moment {
        std::thread::sleep(wait);
    }
    lab.extend(lab_of(runner));
    if ended(runner) {
        let _ = finish(child, lines, seen);
        return false;
    }
    ctrl_c(runner);
    let (code, out, err) = finish(child, lines, seen);
    assert_eq!(code, Some(130), "{moment:?}: stderr: {err}\nstdout: {out}");
    assert!(
        err.contains("lblab compare: interrupted; the lab was stopped"),
        "{moment:?}: {err}"
    );
    for wrong in ["failed", "rejected", "exited"] {
        assert!(!err.contains(wrong), "{moment:?}: {err}");
    }
    // After the last method the table may already be out when the signal comes; before it, a
    // table would mean the Ctrl-C was not acted on.
    if !matches!(moment, Moment::After("random-two", _)) {
        assert!(out.is_empty(), "{moment:?}: a table after Ctrl-C: {out}");
    }
    let lab: Vec<u64> = lab.into_iter().collect();
    assert!(
        !lab.is_empty(),
        "{moment:?}: no process of the lab was seen"
    );
    assert_all_gone(&lab, Duration::from_secs(2));
    let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert!(left.is_empty(), "{moment:?}: left behind: {left:?}");
    true
}

#[test]
fn ctrl_c_while_a_compare_starts_its_lab_stops_it() {
    assert!(compare_interrupted(
        &["-n", "1", "-c", "1"],
        Moment::Starting
    ));
}

/// With one request per method a compare is almost all switches: a Ctrl-C right after a method
/// starts lands in its switch to the next one, between two runs, where it used to be lost.
#[test]
fn ctrl_c_between_two_methods_stops_the_compare() {
    for m in ["round-robin", "least-conn", "ip-hash", "hash", "random"] {
        assert!(compare_interrupted(
            &["-n", "1", "-c", "1"],
            Moment::After(m, Duration::ZERO)
        ));
    }
}

#[test]
fn ctrl_c_during_a_method_s_load_or_after_the_last_stops_the_compare() {
    assert!(compare_interrupted(
        &["-n", "3000", "-c", "20"],
        Moment::After("least-conn", Duration::from_millis(100)),
    ));
    // After the last method the compare has only its teardown and table left, which a loaded
    // machine can let it finish before the test sends the signal: tried until the signal comes
    // while it still runs, at most five times.
    assert!(
        (0..5).any(|_| compare_interrupted(
            &["-n", "1", "-c", "1"],
            Moment::After("random-two", Duration::ZERO),
        )),
        "five compares ended before a Ctrl-C after their last method could reach them"
    );
}

/// A `run` interrupted during its load reports what was done, and its last line says that the
/// backends' own counts were not compared, with the counts, instead of a verdict with nothing after it.
#[test]
fn ctrl_c_during_a_run_says_the_counts_were_not_compared() {
    let scratch = scratch();
    let mut child = spawn(&["run", "-d", "60s", "-c", "20"], scratch.path());
    let runner = child.id();
    let lines = lines_of(&mut child);
    let until = Instant::now() + Duration::from_secs(20);
    // The lab is up once nginx has workers; then some load runs before the Ctrl-C.
    while !children_of(runner)
        .iter()
        .any(|&p| !children_of(p as u32).is_empty())
    {
        assert!(Instant::now() < until, "the lab did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    ctrl_c(runner);
    let (code, out, err) = finish(child, lines, Vec::new());
    assert_eq!(code, Some(130), "{err}\n{out}");
    assert!(!out.contains("= the client's:"), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("served "))
        .unwrap_or_else(|| panic!("no served line: {out}"));
    let counts = line
        .split_once("(interrupted); the backends' own: ")
        .unwrap_or_else(|| panic!("{line}"))
        .1;
    let own: Vec<u64> = counts
        .split(", ")
        .map(|c| {
            let (id, n) = c.split_once(": ").unwrap_or_else(|| panic!("{line}"));
            assert!(["1", "2", "3"].contains(&id), "{line}");
            n.parse().unwrap_or_else(|_| panic!("{line}"))
        })
        .collect();
    assert_eq!(own.len(), 3, "{line}");
    assert!(own.iter().sum::<u64>() > 0, "nothing served: {line}");
    let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
