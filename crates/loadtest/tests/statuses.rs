//! Which statuses are answers: 2xx and 3xx by default (a 304 or a redirect is the server doing its
//! job), 4xx and 5xx errors; `--ok-status` says otherwise. Against a real nginx, both engines.

use crate::support::{Nginx, json, loadtest};

const SERVERS: &str = r#"
    server {
        listen 127.0.0.1:{port0};
        add_header X-Backend-Id 2 always;
        location = /unchanged { return 304; }
        location = /moved { return 301 /elsewhere; }
        location = /missing { return 404; }
        location = /broken { return 503; }
    }
"#;

#[test]
fn redirects_and_not_modified_are_answers_and_ok_status_says_otherwise() {
    let nginx = Nginx::start(1, SERVERS);
    let cases: [(&str, &[&str], bool); 7] = [
        ("/unchanged", &[], true),
        ("/moved", &[], true),
        ("/missing", &[], false),
        ("/broken", &[], false),
        ("/unchanged", &["--ok-status", "2xx"], false),
        ("/missing", &["--ok-status", "2xx,404"], true),
        ("/broken", &["--ok-status", "200-299"], true),
    ];
    for (path, extra, answer) in cases {
        if extra.contains(&"200-299") {
            // Not a list of classes and codes: refused before anything is sent.
            let out = loadtest(&[&nginx.url(0, path), "--ok-status", "200-299"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert!(err.contains("'200-299' in '200-299' is not a status (accepted: a comma-separated list of classes 1xx to 5xx and statuses 100 to 599"), "{err}");
            continue;
        }
        let url = nginx.url(0, path);
        for engine in ["lean", "reqwest"] {
            let mut args = vec![
                &url[..],
                "-n",
                "30",
                "-c",
                "3",
                "--engine",
                engine,
                "--json",
            ];
            args.extend_from_slice(extra);
            let out = loadtest(&args);
            let v = json(&out);
            let what = format!("{engine} {path} {extra:?}: {v}");
            let status = v["status_codes"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            assert_eq!(v["status_codes"][&status], 30, "{what}");
            if answer {
                assert_eq!(
                    (v["ok"].as_u64(), v["errors"].as_u64()),
                    (Some(30), Some(0)),
                    "{what}"
                );
                assert_eq!(v["counts"]["2"], 30, "{what}: attributed like any answer");
                assert_eq!(out.status.code(), Some(0), "{what}");
            } else {
                assert_eq!(
                    v["errors_by_kind"][format!("status {status}")],
                    30,
                    "{what}"
                );
                assert_eq!(v["ok"], 0, "{what}");
                assert_eq!(out.status.code(), Some(1), "{what}");
            }
        }
    }
}
