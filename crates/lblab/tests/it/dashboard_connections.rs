//! The connections `up --dashboard` holds: idle ones, slow ones and a body that never comes neither
//! lock the owner out nor stay open past their timeout.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::dashboard_support::{request, up_with_dashboard};

/// Whether the other end has closed `s` (EOF or reset), without waiting.
fn closed(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let r = (&*s).read(&mut b);
    s.set_nonblocking(false).unwrap();
    match r {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Waits up to `limit` for the other end to close `s`; how long it took.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut b = [0u8; 4096];
    loop {
        match s.read(&mut b) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// Another local user held 19 990 idle connections and the dashboard stopped answering. It holds
/// at most 64 from one address, closes idle ones to make room, and closes a connection that sends
/// no request (or no next request, or no body) within 5 s; the owner is answered throughout, and
/// the lab too.
#[test]
fn idle_connections_neither_lock_the_owner_out_nor_stay_open() {
    let (up, d) = up_with_dashboard(&["-b", "2"]);
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(d.addr).expect("the dashboard accepts"))
        .collect();
    // Half a request header, as a slow client sends it, on one more.
    let mut slow = TcpStream::connect(d.addr).unwrap();
    slow.write_all(b"GET /state.json HTTP/1.1\r\nHost: ")
        .unwrap();

    let asked = Instant::now();
    let s = d.state();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the owner waited {:?} behind 400 idle connections",
        asked.elapsed()
    );
    assert_eq!(s["backends"].as_array().unwrap().len(), 2);
    let lab = crate::dashboard_support::addr_of(up.status()["url"].as_str().unwrap());
    assert_eq!(request(lab, "GET", "/", None, &[], "").status, 200);

    // A POST whose body never comes, from the owner's session even.
    let mut drip = TcpStream::connect(d.addr).unwrap();
    write!(
        drip,
        "POST /burst HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Length: 100\r\n\r\ntoken",
        d.addr, d.cookie
    )
    .unwrap();

    // All but the newest 64 were closed to make room, at once.
    let until = Instant::now() + Duration::from_secs(2);
    let open = loop {
        let open = idle.iter().filter(|s| !closed(s)).count();
        if open <= 64 || Instant::now() > until {
            break open;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(open <= 64, "{open} of 400 idle connections are still open");
    assert!(open > 0, "every idle connection was closed at once");

    // The rest, and the slow one, are closed by the header timeout.
    let last = idle.last_mut().unwrap();
    let waited = closed_within(last, Duration::from_secs(15))
        .expect("an idle connection was still open 15 s later");
    let total = started.elapsed();
    assert!(
        total >= Duration::from_secs(4) && total < Duration::from_secs(12),
        "an idle connection was closed after {total:?} (waited {waited:?})"
    );
    assert!(
        closed_within(&mut slow, Duration::from_secs(5)).is_some(),
        "a connection with half a header was still open"
    );
    assert!(
        closed_within(&mut drip, Duration::from_secs(8)).is_some(),
        "a POST whose body never came was still open"
    );

    // A kept-alive connection that asked once and then says nothing is closed too.
    let mut kept = TcpStream::connect(d.addr).unwrap();
    write!(
        kept,
        "GET /state.json HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\r\n",
        d.addr, d.cookie
    )
    .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let after = Instant::now();
    closed_within(&mut kept, Duration::from_secs(15))
        .expect("an idle kept-alive connection was still open 15 s later");
    assert!(
        after.elapsed() >= Duration::from_secs(4),
        "closed after {:?}, before its timeout",
        after.elapsed()
    );
}
