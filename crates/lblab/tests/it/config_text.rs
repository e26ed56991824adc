//! What lblab writes into nginx.conf from the user's words: a hash key is refused unless nginx reads
//! it as the one word it was given, and a prefix is written as given, never expanded again.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// `nginx -t` of `conf` in `prefix`: nginx's verdict and what it said.
fn nginx_t(prefix: &Path, conf: &Path) -> (bool, String) {
    let out = Command::new(nginx())
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .arg("-t")
        .output()
        .expect("nginx runs");
    (out.status.success(), stderr(&out))
}

/// `lblab ARGS` refused as bad input: exit 2, one line on stderr holding `needle`, nothing printed.
fn refused(args: &[&str], needle: &str) {
    let out = lblab().args(args).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected '{needle}' in {err}"
    );
    assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
}

#[test]
fn hash_keys_nginx_would_split_or_cut_are_refused_with_what_is_accepted() {
    for key in [
        "$request_uri consistent",
        "$uri\tx",
        "#$uri",
        "$uri#x",
        "$uri\\x",
        "$uri\u{1}",
        "$uri\r",
        " ",
    ] {
        refused(
            &["nginx-config", "--method", "hash", "--hash-key", key],
            "(accepted: printable ASCII without spaces",
        );
        // The lab commands refuse it the same way, before anything starts.
        refused(
            &["run", "--method", "hash", "--hash-key", key],
            "--hash-key",
        );
    }
}

#[test]
fn accepted_hash_keys_render_configs_nginx_accepts() {
    let scratch = scratch();
    for (i, key) in [
        "$request_uri",
        "$http_x_key",
        "$remote_addr$uri",
        "k-$arg_id:$host",
    ]
    .into_iter()
    .enumerate()
    {
        let prefix = scratch.path().join(i.to_string());
        std::fs::create_dir(&prefix).unwrap();
        let out = lblab()
            .args(["nginx-config", "--method", "hash", "--consistent"])
            .args(["--hash-key", key, "--prefix"])
            .arg(&prefix)
            .output()
            .unwrap();
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!("        hash {key} consistent;\n")),
            "{key}: {text}"
        );
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, &out.stdout).unwrap();
        let (ok, said) = nginx_t(&prefix, &conf);
        assert!(ok, "nginx -t rejected the config for {key}: {said}");
    }
}

#[test]
fn a_prefix_holding_a_placeholder_is_written_as_given() {
    let scratch = scratch();
    let prefix = scratch.path().join("at-{{listen}}-{{prefix}}");
    std::fs::create_dir(&prefix).unwrap();
    let out = lblab()
        .args(["nginx-config", "--listen", "127.0.0.1:8080", "--prefix"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("pid \"{}/nginx.pid\";", prefix.display())),
        "{text}"
    );
    assert_eq!(text.matches("127.0.0.1:8080").count(), 1, "{text}");
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, &out.stdout).unwrap();
    let (ok, said) = nginx_t(&prefix, &conf);
    assert!(ok, "nginx -t: {said}");
}

#[test]
fn a_lab_runs_in_a_temporary_directory_whose_name_holds_a_placeholder() {
    // The lab's prefix is made in TMPDIR; expanded again, its paths would name a directory that
    // does not exist and nginx would not start.
    let scratch = scratch();
    let tmp = scratch.path().join("t{{listen}}");
    std::fs::create_dir(&tmp).unwrap();
    let out = lblab()
        .args(["run", "-n", "30", "-c", "3", "--json"])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prefix = v["lab"]["prefix"].as_str().unwrap();
    assert!(prefix.contains("/t{{listen}}/lblab-"), "{prefix}");
    assert_eq!(v["ok"], 30, "{v}");
    assert!(!Path::new(prefix).exists(), "{prefix} left behind");
}

#[test]
fn a_weight_too_large_is_named_with_the_range() {
    // clap adds its own "For more information" hint below the one line that names the problem.
    let out = lblab()
        .args(["nginx-config", "--weights", "1,2,18446744073709551616"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .next()
            .unwrap_or("")
            .contains("'18446744073709551616' in '1,2,18446744073709551616' is too large for a weight (accepted: 1 to 4294967295)"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}
