//! The HTML report of `lblab run --html`: its time chart draws each backend's answers per bucket (the
//! name of the test is from when the bucket was a whole second) as the JSON's timeline says, with
//! the faults marked where they happened.

use crate::common::*;
use crate::svg::{Element, num, parse_svg};

#[test]
fn run_html_draws_each_backend_per_second_with_the_faults_marked() {
    let dir = scratch();
    let html = dir.path().join("run.html");
    let (code, v) = run_json(&[
        "-d",
        "3s",
        "-c",
        "10",
        "--fault",
        "switch:ip-hash@1500ms",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    let t = &v["timeline"];
    for b in 1..=3 {
        let row: Vec<u64> = t["answered"][b.to_string()]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect();
        assert_eq!(
            row.iter().sum::<u64>(),
            v["counts"][b.to_string()].as_u64().unwrap()
        );
        assert!(row.len() >= 3, "{row:?}");
    }
    let page = std::fs::read_to_string(&html).unwrap();
    let start = page
        .find("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\"")
        .expect("a time chart");
    let end = page[start..].find("</svg>").unwrap() + start + 6;
    let els = parse_svg(&page[start..end]);
    let lines: Vec<&Element> = els.iter().filter(|e| e.name == "polyline").collect();
    assert_eq!(lines.len(), 3);
    for l in lines {
        let b = l.attrs["data-series"].trim_start_matches("backend ");
        let drawn: Vec<u64> = l.attrs["data-values"]
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        let json: Vec<u64> = t["answered"][b]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect();
        assert_eq!(drawn, json, "backend {b}");
        assert_eq!(l.attrs["points"].split(' ').count(), json.len());
    }
    let marker = els
        .iter()
        .find(|e| e.attrs.get("class").map(String::as_str) == Some("marker"))
        .expect("the switch is marked");
    let at = num(marker, "data-at");
    assert!((1.4..2.5).contains(&at), "switch drawn at {at} s");
}
