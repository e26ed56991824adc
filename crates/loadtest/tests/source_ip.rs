//! Source addresses the requests could not leave from are refused before any is sent.

use crate::support::{Answer, OK_FROM_1, RawServer, loadtest};

#[test]
fn unusable_source_addresses_are_refused_up_front() {
    let server = RawServer::start(Answer::Bytes(OK_FROM_1));
    for (ip, needle) in [
        (
            "10.0.0.1",
            "--source-ip 10.0.0.1 is not an address of this machine",
        ),
        ("198.51.100.1", "is not an address of this machine"),
        (
            "::1",
            "--source-ip ::1 is IPv6 but the target 127.0.0.1 is IPv4",
        ),
        ("255.255.255.255", "the broadcast address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),
    ] {
        let out = loadtest(&[&server.url, "-n", "3", "--source-ip", ip]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{ip}: {err}");
        assert!(err.contains(needle), "{ip}: {err}");
        // One line of its own; clap adds a pointer to --help after the ones it refuses.
        let said = err
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("For more information"));
        assert_eq!(said.count(), 1, "{ip}: {err}");
    }
    assert_eq!(server.accepted(), 0, "nothing was sent");
    // A loopback address of the right family still works.
    let out = loadtest(&[
        &server.url,
        "-n",
        "3",
        "-c",
        "1",
        "--source-ip",
        "127.0.0.2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(server.accepted(), 3);
}
