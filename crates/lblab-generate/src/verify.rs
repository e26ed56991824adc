//! The check each binary's tests run on the built binary: what its `--help` offers (every
//! subcommand, every long flag of each) is in every completion script and in the man pages, and
//! each page is well-formed roff. It reads `--help`, not the clap definition, so that it checks the
//! generated files against what a user sees, from the outside.

use std::path::Path;
use std::process::Command;

use crate::request::Shell;

/// What a user can type: the subcommands (without `help`) and, for the binary and each
/// subcommand, its long flags.
#[derive(Debug)]
pub struct Surface {
    pub subcommands: Vec<String>,
    /// (`""` for the binary itself, or the subcommand; its long flags).
    pub flags: Vec<(String, Vec<String>)>,
}

/// Checks `bin`'s completions and man pages (written into `dir`, an empty directory); on success,
/// a line saying what was checked and how the pages were read.
pub fn check(bin: &Path, dir: &Path) -> Result<String, String> {
    let name = bin
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the binary has no name")?
        .to_owned();
    let surface = surface(bin)?;
    let words: Vec<&str> = surface
        .subcommands
        .iter()
        .map(String::as_str)
        .chain(
            surface
                .flags
                .iter()
                .flat_map(|(_, f)| f.iter().map(String::as_str)),
        )
        .collect();
    if words.is_empty() {
        return Err(format!("{name} --help offers no subcommand and no flag"));
    }

    for shell in Shell::ALL {
        let script = run(bin, &["--generate", shell.kind()])?;
        for word in &words {
            // fish names a long option `-l NAME`.
            let spelled = match (shell, word.strip_prefix("--")) {
                (Shell::Fish, Some(long)) => format!("-l {long}"),
                _ => (*word).to_owned(),
            };
            if !script.contains(&spelled) {
                return Err(format!("{name}'s {} script lacks {word}", shell.kind()));
            }
        }
    }

    let listed = run(bin, &["--generate", "man", path_str(dir)?])?;
    let mut pages: Vec<String> = listed.lines().map(str::to_owned).collect();
    pages.sort();
    let mut expected: Vec<String> = std::iter::once(name.clone())
        .chain(surface.subcommands.iter().map(|s| format!("{name}-{s}")))
        .map(|p| dir.join(format!("{p}.1")).display().to_string())
        .collect();
    expected.sort();
    if pages != expected {
        return Err(format!(
            "{name} --generate man wrote {pages:?}, not {expected:?}"
        ));
    }
    let groff = on_path("groff");
    for (sub, flags) in &surface.flags {
        let page_name = if sub.is_empty() {
            name.clone()
        } else {
            format!("{name}-{sub}")
        };
        let path = dir.join(format!("{page_name}.1"));
        let roff =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        well_formed(&roff).map_err(|e| format!("{page_name}.1: {e}"))?;
        // roff writes a hyphen that must stay one as `\-`.
        let text = roff.replace("\\-", "-");
        for flag in flags {
            if !text.contains(flag.as_str()) {
                return Err(format!("{page_name}.1 lacks {flag}"));
            }
        }
        if sub.is_empty() {
            for s in &surface.subcommands {
                if !text.contains(&format!("{name}-{s}(1)")) {
                    return Err(format!("{page_name}.1 does not name {name}-{s}(1)"));
                }
            }
        }
        if groff {
            groff_reads(&path).map_err(|e| format!("{page_name}.1: {e}"))?;
        }
    }
    Ok(format!(
        "{name}: {} subcommands and {} flags in the bash, zsh and fish scripts and in {} man pages, read by {}",
        surface.subcommands.len(),
        surface.flags.iter().map(|(_, f)| f.len()).sum::<usize>(),
        pages.len(),
        if groff {
            "groff -k -man -ww without a warning and the structure check"
        } else {
            "the structure check only (groff is not on PATH)"
        }
    ))
}

/// The subcommands and flags `--help` lists, for the binary and each subcommand.
pub fn surface(bin: &Path) -> Result<Surface, String> {
    let help = run(bin, &["--help"])?;
    let subcommands = section(&help, "Commands:")
        .into_iter()
        .filter(|s| s != "help")
        .collect::<Vec<_>>();
    let mut flags = vec![(String::new(), long_flags(&help))];
    for sub in &subcommands {
        let help = run(bin, &[sub, "--help"])?;
        flags.push((sub.clone(), long_flags(&help)));
    }
    Ok(Surface { subcommands, flags })
}

/// The first word of each entry of a help section (`Commands:`), entries being indented by two.
fn section(help: &str, heading: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Every `--flag` that starts an option's entry in a help text.
fn long_flags(help: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
    {
        for word in line.split([' ', ',', '=', '<', '[']) {
            if word.len() > 2 && word.starts_with("--") && !flags.iter().any(|f| f == word) {
                flags.push(word.to_owned());
            }
        }
    }
    flags
}

/// A man page as man(7) expects it: `.TH` first, the NAME and SYNOPSIS sections, only requests
/// of the man macros and roff's own that clap_mangen uses, balanced `.RS`/`.RE`, and no text line
/// that roff would take for a request.
pub fn well_formed(roff: &str) -> Result<(), String> {
    const REQUESTS: &[&str] = &[
        "TH", "SH", "SS", "TP", "PP", "LP", "P", "IP", "RS", "RE", "B", "I", "BR", "IR", "RB",
        "RI", "BI", "IB", "br", "sp", "nf", "fi", "in", "ie", "el", "if", "ds", "\\\"", "EX", "EE",
        "UR", "UE", "TQ",
    ];
    // Before the title only string definitions and their conditions (clap_mangen defines `\*(Aq`).
    let preamble = |l: &&str| {
        [".\\\"", ".ie ", ".el ", ".if ", ".ds "]
            .iter()
            .any(|p| l.starts_with(p))
    };
    match roff.lines().find(|l| !preamble(l)) {
        Some(first) if first.starts_with(".TH ") => {}
        other => {
            return Err(format!(
                "the first line after the string definitions is {other:?}, not .TH"
            ));
        }
    }
    let mut depth = 0i32;
    for (n, line) in roff.lines().enumerate() {
        if let Some(request) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) {
            let word = request.split_whitespace().next().unwrap_or("");
            if !REQUESTS.contains(&word) {
                return Err(format!("line {}: unknown request .{word}", n + 1));
            }
            match word {
                "RS" => depth += 1,
                "RE" => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                return Err(format!("line {}: .RE without .RS", n + 1));
            }
        }
    }
    if depth != 0 {
        return Err(format!("{depth} .RS without .RE"));
    }
    for section in ["NAME", "SYNOPSIS"] {
        if !roff.lines().any(|l| l == format!(".SH {section}")) {
            return Err(format!("no .SH {section}"));
        }
    }
    Ok(())
}

/// groff formats the page with every warning on, and says nothing.
fn groff_reads(page: &Path) -> Result<(), String> {
    let out = Command::new("groff")
        // -k: through preconv, as man(1) reads a page, for the help texts' UTF-8.
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .map_err(|e| format!("cannot run groff: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.trim().is_empty() {
        return Err(format!("groff: {} {}", out.status, stderr.trim()));
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()))
}

fn run(bin: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} exited with {}: {}",
            bin.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| format!("{} {} wrote non-UTF-8", bin.display(), args.join(" ")))
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH x 1 \"\" \"x 1\"\n.SH NAME\nx \\- y\n.SH SYNOPSIS\n.RS\n\\fBx\\fR\n.RE\n";

    #[test]
    fn the_structure_check_takes_a_page_and_refuses_broken_ones() {
        assert_eq!(well_formed(PAGE), Ok(()));
        let broken = [
            (PAGE.replace(".TH x", ".SH x"), "not .TH"),
            (PAGE.replace(".RE\n", ""), ".RS without .RE"),
            (PAGE.replace(".RS\n", ""), ".RE without .RS"),
            (PAGE.replace(".SH SYNOPSIS", ".SH USAGE"), "no .SH SYNOPSIS"),
            (PAGE.replace("\\fBx", ".frob x"), "unknown request .frob"),
        ];
        for (page, why) in broken {
            let e = well_formed(&page).unwrap_err();
            assert!(e.contains(why), "{e}: {page}");
        }
    }

    #[test]
    fn help_sections_and_flags_are_read_as_clap_writes_them() {
        let help = "About\n\nUsage: x <COMMAND>\n\nCommands:\n  run     Run it\n          more\n  nginx-config  Print\n  help    Print help\n\nOptions:\n  -n, --requests <N>  How many\n      --json          JSON\n  -h, --help          Print help\n";
        assert_eq!(section(help, "Commands:"), ["run", "nginx-config", "help"]);
        assert_eq!(long_flags(help), ["--requests", "--json", "--help"]);
    }
}
