//! HAProxy's runtime API on the stats socket in the lab's prefix: `show stat` (each server's pick
//! count, `lbtot`), `set server … weight` and `set server … state`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long one command on the socket may take: HAProxy answers at once.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The most an answer may hold: `show stat` of a few dozen servers is a few KiB.
const MAX_ANSWER: u64 = 1 << 20;

pub fn socket_path(prefix: &Path) -> PathBuf {
    prefix.join("haproxy.sock")
}

/// Sends one command and returns HAProxy's whole answer (it closes the connection after it).
pub async fn command(prefix: &Path, line: &str) -> Result<String, String> {
    let path = socket_path(prefix);
    let talk = async {
        let mut s = tokio::net::UnixStream::connect(&path).await?;
        s.write_all(format!("{line}\n").as_bytes()).await?;
        let mut out = String::new();
        s.take(MAX_ANSWER).read_to_string(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    match tokio::time::timeout(ANSWER_WITHIN, talk).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("haproxy's socket {}: {e}", path.display())),
        Err(_) => Err(format!(
            "haproxy's socket {} did not answer `{line}` within {} s",
            path.display(),
            ANSWER_WITHIN.as_secs()
        )),
    }
}

/// Each server's `lbtot` (how often HAProxy's balancing picked it) in the backend `lblab`, in server
/// order (s1 first), from `show stat`'s CSV: its header line names the columns.
pub async fn picks(prefix: &Path, servers: usize) -> Result<Vec<u64>, String> {
    let csv = command(prefix, "show stat").await?;
    parse_picks(&csv, servers)
}

pub(super) fn parse_picks(csv: &str, servers: usize) -> Result<Vec<u64>, String> {
    let mut lines = csv.lines();
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| format!("`show stat` answered without its header: {:.80}", csv))?;
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("`show stat` has no {name} column"))
    };
    let (px, sv, lbtot) = (col("pxname")?, col("svname")?, col("lbtot")?);
    let mut out = vec![None; servers];
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f.get(px) != Some(&"lblab") {
            continue;
        }
        let Some(i) = f
            .get(sv)
            .and_then(|s| s.strip_prefix('s'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < servers)
        else {
            continue;
        };
        out[i] = f.get(lbtot).and_then(|n| n.parse::<u64>().ok());
    }
    out.into_iter()
        .enumerate()
        .map(|(i, n)| n.ok_or_else(|| format!("`show stat` has no lbtot for server s{}", i + 1)))
        .collect()
}

/// Sets a server's weight at run time, as `set server lblab/sN weight W`; HAProxy answers nothing
/// when it took it, and says why when not.
pub async fn set_weight(prefix: &Path, server: &str, weight: u32) -> Result<(), String> {
    let answer = command(
        prefix,
        &format!("set server lblab/{server} weight {weight}"),
    )
    .await?;
    let answer = answer.trim();
    if answer.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "haproxy refused weight {weight} for {server}: {answer}"
        ))
    }
}

/// A server's administrative state at run time, as `set server lblab/sN state maint|ready`:
/// `maint` takes it out of the balancing (HAProxy picks it no more, what it holds finishes),
/// `ready` puts it back. HAProxy answers nothing when it took it.
pub async fn set_state(prefix: &Path, server: &str, ready: bool) -> Result<(), String> {
    let state = if ready { "ready" } else { "maint" };
    let answer = command(prefix, &format!("set server lblab/{server} state {state}")).await?;
    let answer = answer.trim();
    if answer.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "haproxy refused state {state} for {server}: {answer}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbtot_is_read_by_its_column() {
        let csv = "# pxname,svname,qcur,lbtot,status\nlblab,FRONTEND,0,,OPEN\n\
                   lblab,s2,0,7,UP\nlblab,s1,0,5,UP\nother,s1,0,99,UP\nlblab,BACKEND,0,12,UP\n";
        assert_eq!(parse_picks(csv, 2), Ok(vec![5, 7]));
        assert!(parse_picks(csv, 3).unwrap_err().contains("s3"));
        assert!(parse_picks("Unknown command\n", 1).is_err());
    }
}
