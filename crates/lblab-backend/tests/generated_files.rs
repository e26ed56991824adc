//! `lblab-backend --generate …`: the shell completions and man page made from the clap definition.

use std::path::Path;

#[test]
fn completions_and_man_page_cover_every_flag() {
    let bin = Path::new(env!("CARGO_BIN_EXE_lblab-backend"));
    let surface = lblab_generate::verify::surface(bin).unwrap();
    // The check reads `--help`; these must be among what it found, or it would check too little.
    for flag in ["--id", "--listen", "--delay", "--threads"] {
        assert!(surface.flags[0].1.iter().any(|f| f == flag), "{surface:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    match lblab_generate::verify::check(bin, dir.path()) {
        Ok(summary) => eprintln!("{summary}"),
        Err(e) => panic!("{e}"),
    }
}
