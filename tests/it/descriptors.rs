//! An example server started under a low open-files limit: its connection
//! cap is clamped below the limit at start-up, clients over the limit get a
//! `503` or a prompt close instead of waiting in the backlog, and once the
//! flood is gone a new request is answered at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{eventually, Client, ExampleProcess, TempDir};

/// The open-files soft limit the server runs under.
const OPEN_FILES: usize = 128;
/// Clients in the flood: more than the limit leaves room for.
const FLOOD: usize = 300;
/// How long a flood client may wait for its answer or close.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

/// What a flood client saw.
#[derive(Debug, PartialEq)]
enum Seen {
    Status(u16),
    Closed,
    Hung,
}

/// Reads a status line from `s` until `deadline`.
fn seen(s: &mut TcpStream, deadline: Instant) -> Seen {
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Seen::Hung;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Seen::Closed,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Seen::Hung
            }
            Err(_) => return Seen::Closed,
        }
        let text = String::from_utf8_lossy(&head);
        if let Some(line) = text.split("\r\n").next().filter(|_| text.contains("\r\n")) {
            let status = line.split(' ').nth(1).and_then(|c| c.parse().ok());
            return status.map_or(Seen::Closed, Seen::Status);
        }
    }
}

/// A flood client: connects and sends one request; `None` if it could not
/// even connect.
fn flood_client(addr: SocketAddr) -> Option<TcpStream> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let _ = s.write_all(REQUEST);
    Some(s)
}

#[test]
fn at_the_descriptor_limit_clients_are_answered_and_accepting_resumes() {
    let Some(bin) = ExampleProcess::binary("person") else {
        panic!("examples/person is not built: run `cargo build --all-features --examples`");
    };
    let dir = TempDir::new("emfile");
    let mut cmd = ExampleProcess::command_for(Path::new("bash"));
    cmd.args([
        "-c".as_ref(),
        format!("ulimit -n {OPEN_FILES} && exec \"$0\"").as_ref(),
        bin.as_os_str(),
    ])
    .env("LIGHTAPI_DATABASE_URL", dir.sqlite_url("p.db"))
    .env("LIGHTAPI_REACTORS", "1")
    .env("LIGHTAPI_WORKERS", "2");
    let ex = ExampleProcess::spawn(cmd);
    let clamp = ex
        .wait_for_line(Duration::from_secs(5), |l| {
            l.contains("connection cap 16384 lowered to")
        })
        .expect("the clamp is logged");
    assert!(
        clamp.contains(&format!("soft limit is {OPEN_FILES}")),
        "names the limit: {clamp}"
    );

    let clients: Vec<TcpStream> = (0..FLOOD).filter_map(|_| flood_client(ex.addr())).collect();
    let deadline = Instant::now() + ANSWER_WITHIN;
    let mut clients = clients;
    let seen: Vec<Seen> = clients.iter_mut().map(|s| seen(s, deadline)).collect();
    let hung = seen.iter().filter(|s| **s == Seen::Hung).count();
    let refused = seen.iter().filter(|s| **s == Seen::Status(503)).count();
    let served = seen.iter().filter(|s| **s == Seen::Status(200)).count();
    assert_eq!(
        hung,
        0,
        "every client is answered or closed ({served} served, {refused} refused, \
         {} connected of {FLOOD}): {seen:?}",
        clients.len()
    );
    assert!(
        served > 0 && refused > 0,
        "{served} served, {refused} refused"
    );
    assert!(
        served < OPEN_FILES,
        "no more served than descriptors allow: {served}"
    );
    drop(clients);

    // The flood is gone: a new client is answered at once.
    let start = Instant::now();
    let up = eventually(Duration::from_secs(1), || {
        let r = Client::new(ex.addr()).try_request("GET", "/healthz", &[], None);
        r.is_ok_and(|r| r.status == 200)
    });
    assert!(
        up,
        "a request after the flood is answered within 1 s (waited {:?}): {:#?}",
        start.elapsed(),
        ex.log()
    );
}
