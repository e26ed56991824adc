//! Property test: every parser of user input returns `Ok` or `Err`, never panics, on arbitrary text
//! and on text shaped like its own syntax. Run counts are in `CASES`.

use lblab_backend::Delay;
use lblab_config::{Method, parse_weights};
use loadtest::{
    Expectation, HeaderTemplate, MaxErrors, parse_duration, parse_rate, parse_source_ips,
};
use proptest::prelude::*;

use crate::fault::Fault;

/// Cases per strategy and parser.
const CASES: u32 = 20_000;

fn every_parser(s: &str) {
    let _ = s.parse::<Method>();
    let _ = parse_weights(s);
    let _ = Delay::parse(s);
    let _ = parse_duration(s);
    let _ = parse_rate(s);
    let _ = Expectation::parse(s);
    let _ = HeaderTemplate::parse(s);
    let _ = MaxErrors::parse(s);
    let _ = parse_source_ips(s);
    let _ = Fault::parse(s, lblab_config::Proxy::Nginx);
    let _ = Fault::parse(s, lblab_config::Proxy::Haproxy);
    let _ = loadtest::cli::parse_url(s);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
        every_parser(&s);
    }

    #[test]
    fn syntax_shaped_text_never_panics(s in "[a-z0-9:@=,.%+{}\\-/ ]{0,30}") {
        every_parser(&s);
    }

    #[test]
    fn numbers_at_the_edges_never_panic(
        a in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
        b in prop_oneof![Just(0u64), Just(u32::MAX as u64 + 1), any::<u64>()],
        sep in "[-:@=,.%+]",
    ) {
        for s in [format!("{a}{sep}{b}"), format!("kill:{a}@{b}s"), format!("pause:{a}@{b}ms+{a}s"),
                  format!("max-share:{a}={b}%"), format!("X: {{n%{a}}}"), format!("127.0.{a}-{b}.1"),
                  format!("round-robin:{a},{b}"), format!("{a}.{b}s"), format!("{a}.{b}/s"),
                  format!("{a}e-{b}"), format!("0.{a}")] {
            every_parser(&s);
        }
    }
}
