//! The load flags as `lblab run` takes them: it knows its backend count and its address, so it
//! refuses expectations about backends it does not have and source addresses that cannot reach it
//! before it starts anything.

use crate::common::*;

#[test]
fn an_expectation_about_a_missing_backend_is_refused_before_the_lab_starts() {
    for (spec, needle) in [
        (
            "max-share:9=10%",
            "backend 9 does not exist; there are 3 backends",
        ),
        ("uniform:1,2", "2 weights for 3 backends"),
        ("backends=4", "4 backends cannot answer"),
    ] {
        let out = lblab()
            .args(["run", "-n", "10", "--expect", spec])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains(needle), "{spec}: {err}");
        assert_eq!(err.lines().count(), 1, "{spec}: {err}");
        assert!(stdout(&out).is_empty(), "{spec}: the lab ran");
    }
}

#[test]
fn a_source_address_of_the_wrong_family_is_refused_before_the_lab_starts() {
    let out = lblab()
        .args(["run", "-n", "10", "--source-ip", "::1"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is IPv6 but the target 127.0.0.1 is IPv4"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "the lab ran");
}

#[test]
fn run_help_shows_the_header_template_whole() {
    let out = lblab().args(["run", "--help"]).output().unwrap();
    let help = stdout(&out);
    assert!(
        help.contains("{n} is the request number and {n%K} cycles"),
        "{help}"
    );
}
