//! Every example of `lblab --help`, `run --help`, `compare --help` and `nginx-config --help` is run
//! as written and must pass: they are what people copy first. The examples of `up`, `switch` and
//! `status` act on a lab kept running and are not run here; `lifecycle.rs` runs those commands.

use crate::common::*;

/// The words of `line` as a POSIX shell splits them, for the quoting the examples use: single
/// quotes, no escapes, no expansions.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "an unclosed quote in {line:?}");
    if any {
        out.push(word);
    }
    out
}

/// The `lblab SUB …` example lines of `lblab ARGS --help`, comments cut off.
fn examples(args: &[&str], sub: &str) -> Vec<String> {
    let out = lblab().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help: {}", stderr(&out));
    let help = stdout(&out);
    let tail = &help[help.find("Examples:").expect("an Examples: section")..];
    tail.lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .filter(|l| l.starts_with(&format!("lblab {sub} ")) || *l == format!("lblab {sub}"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_help_examples_of_run_compare_and_nginx_config_pass_as_written() {
    let mut all = Vec::new();
    for sub in ["run", "compare", "nginx-config"] {
        all.extend(examples(&[], sub));
        let own = examples(&[sub], sub);
        assert!(own.len() >= 2, "{sub} --help has {own:?}");
        all.extend(own);
    }
    assert!(all.len() >= 10, "{all:?}");
    let scratch = scratch();
    for example in &all {
        let mut w = words(example);
        assert_eq!(w[0], "lblab");
        // `> FILE`, as the shell would: stdout goes to FILE.
        let into = w
            .iter()
            .position(|x| x == ">")
            .map(|i| w.drain(i..).nth(1).expect("a file after >"));
        // In a directory of its own, so that --html report.html and the like land there.
        let out = lblab()
            .args(&w[1..])
            .current_dir(scratch.path())
            .env("TMPDIR", scratch.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "the help's example `{example}` failed:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        if let Some(file) = into {
            std::fs::write(scratch.path().join(file), &out.stdout).unwrap();
        }
    }
}

#[test]
fn the_first_run_example_is_the_robust_least_conn_one() {
    let first = examples(&["run"], "run").remove(0);
    assert_eq!(
        first,
        "lblab run --method least-conn --delay 1=50 -c 100 -n 2000 --expect max-share:1=15%"
    );
}

#[test]
fn words_are_split_as_a_shell_splits_them() {
    assert_eq!(
        words("lblab x --hash-key '$http_x_key' -H 'X-Key: k{n%100}'  a"),
        [
            "lblab",
            "x",
            "--hash-key",
            "$http_x_key",
            "-H",
            "X-Key: k{n%100}",
            "a"
        ]
    );
}
