//! Writing what a request asks for.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use clap::Command;
use clap_complete::Shell as Target;

use crate::request::{Request, Shell};

/// Writes the completion script on `out`, or the man pages into their directory (naming each file
/// written on `out`). An error is one sentence, for the binary's one line.
pub fn generate(
    request: &Request,
    command: &mut Command,
    out: &mut dyn Write,
) -> Result<(), String> {
    match request {
        Request::Completion(shell) => {
            let target = match shell {
                Shell::Bash => Target::Bash,
                Shell::Zsh => Target::Zsh,
                Shell::Fish => Target::Fish,
            };
            let name = command.get_name().to_owned();
            let mut script = Vec::new();
            clap_complete::generate(target, &mut visible(command), name, &mut script);
            quiet_when_gone(out.write_all(&script).and_then(|()| out.flush()))
                .map_err(|e| format!("cannot write the {} script: {e}", shell.kind()))
        }
        Request::Man(dir) => man_pages(command.clone(), dir, out),
    }
}

/// `command` without its hidden subcommands (`lblab backend`, which `lblab run` starts), which
/// clap_complete would offer: clap cannot remove a subcommand, so the command is made again from its
/// arguments, groups and texts, and its visible subcommands, made the same way.
fn visible(command: &Command) -> Command {
    let mut copy = Command::new(command.get_name().to_owned())
        .args(command.get_arguments().cloned())
        .groups(command.get_groups().cloned())
        .subcommands(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(visible),
        );
    if let Some(about) = command.get_about() {
        copy = copy.about(about.clone());
    }
    if let Some(version) = command.get_version() {
        copy = copy.version(version.to_owned());
    }
    if command.is_propagate_version_set() {
        copy = copy.propagate_version(true);
    }
    copy
}

/// The binary's page and one per visible subcommand (`lblab-run.1`, …), as the pages' own
/// SUBCOMMANDS sections name them.
fn man_pages(command: Command, dir: &Path, out: &mut dyn Write) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!(
            "{} is not a directory (--generate man DIR writes the pages into an existing directory)",
            dir.display()
        ));
    }
    let mut command = command.disable_help_subcommand(true);
    // Built, so that each subcommand knows its display name (`lblab-run`).
    command.build();
    // Every page names the program and its version (clap_mangen's default is the subcommand's).
    let source = format!(
        "{} {}",
        command.get_name(),
        command.get_version().unwrap_or_default()
    );
    let mut pending = vec![command];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command).source(source.clone());
        let mut page = Vec::new();
        man.render(&mut page)
            .map_err(|e| format!("cannot render a man page: {e}"))?;
        let path = dir.join(man.get_filename());
        write_page(&path, &page).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        quiet_when_gone(writeln!(out, "{}", path.display()))
            .map_err(|e| format!("cannot write on stdout: {e}"))?;
    }
    Ok(())
}

/// A page replaces an earlier one of the same name, but never through a symbolic link.
fn write_page(path: &Path, page: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(page)
}

/// A reader that stops reading (`| head -1`) ends the output quietly, as everywhere in lblab.
fn quiet_when_gone(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
