//! `lblab --generate …`: the shell completions and man pages made from the clap definition.

use std::path::Path;
use std::process::Command;

const LBLAB: &str = env!("CARGO_BIN_EXE_lblab");

#[test]
fn completions_and_man_pages_cover_every_subcommand_and_flag() {
    let surface = lblab_generate::verify::surface(Path::new(LBLAB)).unwrap();
    // The check reads `--help`; these must be among what it found, or it would check too little.
    for sub in ["run", "up", "switch", "status", "compare", "nginx-config"] {
        assert!(surface.subcommands.iter().any(|s| s == sub), "{surface:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    match lblab_generate::verify::check(Path::new(LBLAB), dir.path()) {
        Ok(summary) => eprintln!("{summary}"),
        Err(e) => panic!("{e}"),
    }
}

/// `lblab backend`, hidden from `--help` (it is what `lblab run` starts), is offered by no script
/// and has no page; the subcommands keep `--version`, which lblab propagates to them.
#[test]
fn the_hidden_backend_subcommand_is_left_out() {
    for (kind, offered) in [
        ("complete-bash", "lblab,backend)"),
        ("complete-zsh", "'backend:"),
        ("complete-fish", "-a \"backend\""),
    ] {
        let out = Command::new(LBLAB)
            .args(["--generate", kind])
            .output()
            .unwrap();
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && script.contains("nginx-config"),
            "{kind}"
        );
        assert!(!script.contains(offered), "{kind} offers lblab backend");
    }
    let fish = Command::new(LBLAB)
        .args(["--generate", "complete-fish"])
        .output()
        .unwrap();
    let fish = String::from_utf8(fish.stdout).unwrap();
    assert!(
        fish.contains("__fish_lblab_using_subcommand run\" -s V -l version"),
        "{fish}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(LBLAB)
        .args(["--generate", "man", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("lblab-run.1").is_file());
    assert!(!dir.path().join("lblab-backend.1").exists());
}

#[test]
fn a_bad_generate_request_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    for args in [
        &["--generate"][..],
        &["--generate", "complete-powershell"],
        &["--generate", "man"],
        &["--generate", "man", missing],
        &["--generate", "complete-bash", "extra"],
    ] {
        let out = Command::new(LBLAB).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("lblab: "), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// A page is not written through a symbolic link planted where it goes.
#[test]
fn man_pages_are_not_written_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, "mine\n").unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    std::os::unix::fs::symlink(&target, pages.join("lblab.1")).unwrap();
    let out = Command::new(LBLAB)
        .args(["--generate", "man", pages.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
}
