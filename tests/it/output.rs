//! Bounds on output: the response bytes held unsent across all
//! connections share one budget, and a client that takes its response
//! slower than the minimum send rate is dropped.

use std::io::Read;
use std::time::{Duration, Instant};

use lightapi::{Endpoint, HandlerResult, Method, Request, Response, StatusCode};

use crate::support::{eventually, Client, TestServer};

/// Answers that many bytes: more than the socket buffers hold.
struct Big(usize);

impl Endpoint for Big {
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(Response::new(StatusCode::OK).with_body(lightapi::Body::Bytes(vec![b'x'; self.0])))
    }
    fn access(&self, _m: Method) -> lightapi::Access {
        lightapi::Access::Public
    }
}

/// Whether the server has sent `c` anything yet (looked at, not read).
fn has_answer(c: &mut Client) -> bool {
    let s = c.writer();
    s.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let answered = matches!(s.peek(&mut byte), Ok(n) if n > 0);
    // The clone shares the socket's mode with the client.
    s.set_nonblocking(false).unwrap();
    answered
}

/// Ten clients ask for 4 MiB each and read nothing: the first answers the
/// 6 MiB budget holds are sent, the others are answered `503` with
/// `Retry-After` and closed. Once the held answers are read, the budget
/// is free again.
#[test]
fn unsent_output_across_connections_is_bounded() {
    const SIZE: usize = 4 << 20;
    let server = TestServer::start_with(
        |c| c.limits.max_unsent_bytes = 6 << 20,
        |a| a.register("/big", Big(SIZE)),
    );
    let mut clients: Vec<Client> = (0..10)
        .map(|_| {
            let mut c = server.connect();
            c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
            c
        })
        .collect();
    assert!(
        eventually(Duration::from_secs(30), || clients
            .iter_mut()
            .all(has_answer)),
        "every client is answered"
    );
    let (mut sent, mut refused) = (0, 0);
    for c in &mut clients {
        let r = c.read_response();
        match r.status {
            200 => {
                assert_eq!(r.body.len(), SIZE);
                sent += 1;
            }
            503 => {
                r.assert_problem(503);
                assert_eq!(r.header("retry-after"), Some("1"));
                assert!(r.closes());
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // One 4 MiB answer fits the budget, two do not; a client's kernel
    // buffers take a little of it, never most.
    assert!(sent >= 1, "{sent} sent, {refused} refused");
    assert!(refused >= 5, "{sent} sent, {refused} refused");
    // Everything was read: the budget is whole again.
    let mut later = server.connect();
    later.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(later.read_response().status, 200);
    server.stop();
}

/// A client that keeps reading, but slower than the minimum send rate, is
/// dropped long before the write timeout (which each byte it takes
/// restarts) would drop it; one that reads at speed gets the whole answer.
#[test]
fn a_client_reading_slower_than_the_minimum_rate_is_dropped() {
    const SIZE: usize = 16 << 20;
    let server = TestServer::start_with(
        |c| {
            // No other deadline may end the slow client's connection.
            c.timeouts.write = Duration::from_secs(120);
            c.timeouts.header_read = Duration::from_secs(120);
            c.timeouts.idle = Duration::from_secs(120);
            c.timeouts.min_send_rate = 256 * 1024;
            c.timeouts.send_rate_grace = Duration::from_millis(500);
        },
        |a| a.register("/big", Big(SIZE)),
    );
    let mut fast = server.connect();
    fast.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(fast.read_response().body.len(), SIZE);
    drop(fast);
    assert!(eventually(Duration::from_secs(10), || server
        .open_connections()
        == 0));

    let mut slow = server.connect();
    slow.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(eventually(Duration::from_secs(10), || server
        .open_connections()
        == 1));
    let mut socket = slow.writer();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // About 32 KiB a second, a little at a time: far below the rate, yet
    // never so slow that the write timeout notices.
    let started = Instant::now();
    let mut chunk = [0u8; 4096];
    let mut taken = 0;
    while server.open_connections() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the slow client is still served after {taken} bytes"
        );
        if let Ok(n) = socket.read(&mut chunk) {
            taken += n;
        }
        std::thread::sleep(Duration::from_millis(125));
    }
    assert!(taken < SIZE, "dropped before the end ({taken} bytes read)");
    server.stop();
}
