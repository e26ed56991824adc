//! `loadtest --generate …`: the shell completions and man pages made from the clap definition.

use std::path::Path;

#[test]
fn completions_and_man_pages_cover_every_subcommand_and_flag() {
    let bin = Path::new(env!("CARGO_BIN_EXE_loadtest"));
    let surface = lblab_generate::verify::surface(bin).unwrap();
    // The check reads `--help`; these must be among what it found, or it would check too little.
    for flag in [
        "--requests",
        "--concurrency",
        "--rate",
        "--expect",
        "--json",
    ] {
        assert!(surface.flags[0].1.iter().any(|f| f == flag), "{surface:?}");
    }
    // `merge` is picked out before clap parses; its completions and page come from its own
    // definition, and --help lists it, so the check covers it as it covers lblab's subcommands.
    assert_eq!(surface.subcommands, ["merge"], "{surface:?}");
    let dir = tempfile::tempdir().unwrap();
    match lblab_generate::verify::check(bin, dir.path()) {
        Ok(summary) => eprintln!("{summary}"),
        Err(e) => panic!("{e}"),
    }
}
