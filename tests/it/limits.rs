//! Size limits and hostile input: every limit answers its status
//! and closes; garbage gets a 4xx or a close; the server keeps serving and
//! never buffers more than its limits.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::{Echo, TestServer};

fn echo_server() -> TestServer {
    TestServer::start(|a| a.register("/echo", Echo))
}

/// Sends `raw` on a new connection; expects `status` and a close.
fn expect_refusal(server: &TestServer, raw: &[u8], status: u16) {
    let mut c = server.connect();
    c.send(raw);
    let r = c.read_response();
    r.assert_problem(status);
    assert!(r.closes());
    c.assert_closed();
}

fn headers(n: usize) -> String {
    (0..n).map(|i| format!("X-H{i}: v\r\n")).collect()
}

#[test]
fn head_over_8_kib_is_431() {
    let server = echo_server();
    let big = format!(
        "GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(8 * 1024)
    );
    expect_refusal(&server, big.as_bytes(), 431);
    // Just under the limit is fine.
    let ok = format!(
        "GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(7 * 1024)
    );
    let mut c = server.connect();
    c.send(ok);
    assert_eq!(c.read_response().status, 200);
    server.stop();
}

#[test]
fn more_than_100_headers_is_431() {
    let server = echo_server();
    // Host plus 99: exactly 100 fields.
    let mut c = server.connect();
    c.send(format!(
        "GET /echo HTTP/1.1\r\nHost: t\r\n{}\r\n",
        headers(99)
    ));
    assert_eq!(c.read_response().status, 200);
    let raw = format!("GET /echo HTTP/1.1\r\nHost: t\r\n{}\r\n", headers(100));
    expect_refusal(&server, raw.as_bytes(), 431);
    server.stop();
}

#[test]
fn uri_over_8_kib_is_414_even_with_large_headers() {
    let server = echo_server();
    let uri = format!("/echo?q={}", "a".repeat(8 * 1024));
    let raw = format!("GET {uri} HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_refusal(&server, raw.as_bytes(), 414);
    let raw = format!(
        "GET {uri} HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n{}\r\n",
        "b".repeat(9000),
        headers(150)
    );
    expect_refusal(&server, raw.as_bytes(), 414);
    // A target just under the limit is served.
    let ok = format!("/echo?q={}", "a".repeat(8000));
    let mut c = server.connect();
    c.send(format!("GET {ok} HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(c.read_response().status, 200);
    server.stop();
}

#[test]
fn body_over_1_mib_is_413_by_length_and_by_chunks() {
    let server = echo_server();
    let raw = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024 + 1
    );
    expect_refusal(&server, raw.as_bytes(), 413);
    // One declared chunk over the limit: refused before its data arrives.
    let raw = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        1024 * 1024 + 1
    );
    expect_refusal(&server, raw.as_bytes(), 413);
    // Many small chunks adding up to more than the limit.
    let mut c = server.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "c".repeat(64 * 1024));
    for _ in 0..17 {
        if c.try_send(&chunk).is_err() {
            break;
        }
    }
    let r = c.read_response();
    r.assert_problem(413);
    // Exactly 1 MiB is accepted.
    let mut c = server.connect();
    c.send(format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024
    ));
    c.send(vec![b'x'; 1024 * 1024]);
    let r = c.read_response();
    assert_eq!(r.json()["body_len"], 1024 * 1024);
    server.stop();
}

#[test]
fn custom_limits_from_config_are_honoured() {
    let server = TestServer::start_with(
        |c| {
            c.limits.max_head_bytes = 1024;
            c.limits.max_headers = 10;
            c.limits.max_uri_bytes = 256;
            c.limits.max_body_bytes = 100;
        },
        |a| a.register("/echo", Echo),
    );
    let raw = format!(
        "GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1100)
    );
    expect_refusal(&server, raw.as_bytes(), 431);
    let raw = format!("GET /echo HTTP/1.1\r\nHost: t\r\n{}\r\n", headers(10));
    expect_refusal(&server, raw.as_bytes(), 431);
    let raw = format!("GET /echo?{} HTTP/1.1\r\nHost: t\r\n\r\n", "q".repeat(300));
    expect_refusal(&server, raw.as_bytes(), 414);
    let raw = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n";
    expect_refusal(&server, raw.as_bytes(), 413);
    let raw = format!("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{0}\r\n40\r\n{0}\r\n0\r\n\r\n", "z".repeat(64));
    expect_refusal(&server, raw.as_bytes(), 413);
    // Within every limit.
    let mut c = server.connect();
    c.send(format!(
        "POST /echo?{} HTTP/1.1\r\nHost: t\r\n{}Content-Length: 100\r\n\r\n{}",
        "q".repeat(200),
        headers(8),
        "y".repeat(100)
    ));
    assert_eq!(c.read_response().json()["body_len"], 100);
    server.stop();
}

/// A small deterministic generator (xorshift) for garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Sends `bytes`; the server must answer 4xx and close, or just close.
fn garbage_is_refused(server: &TestServer, bytes: &[u8]) {
    let mut c = server.connect();
    let _ = c.try_send(bytes);
    c.shutdown_write();
    // A reset (Err) or a bare close (None) is a close too.
    if let Ok(Some(r)) = c.try_read(false) {
        assert!(
            (400..500).contains(&r.status),
            "{r:?} for {:?}",
            &bytes[..bytes.len().min(32)]
        );
        assert!(r.closes());
    }
    assert!(
        c.is_closed_within(Duration::from_secs(3)),
        "still open after garbage"
    );
}

#[test]
fn garbage_gets_4xx_or_close_and_the_server_carries_on() {
    let server = echo_server();
    let crafted: Vec<Vec<u8>> = vec![
        b"\0\0\0\r\n\r\n".to_vec(),
        vec![b'A'; 64 * 1024],
        b"\r\n".repeat(32 * 1024),
        b"\n".repeat(16 * 1024),
        b"GET / HTTP/1.1\r\nHost: t\r\n\r".to_vec(),
        b"GET /\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(),
        b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
    ];
    for bytes in &crafted {
        garbage_is_refused(&server, bytes);
    }
    for seed in 1..=40u64 {
        garbage_is_refused(&server, &garbage(seed, (seed as usize * 977) % 20_000 + 1));
    }
    let mut c = server.connect();
    assert_eq!(c.get_with("/healthz", "").status, 200);
    drop(c);
    server.stop();
}

/// Streams up to 50 MiB of `prefix` + filler without a line end; the server
/// must refuse with `status` and close long before it all is sent.
fn streaming_flood_is_cut_off(prefix: &str, status: u16) {
    let server = echo_server();
    let mut c = server.connect();
    let mut writer = c.writer();
    let prefix = prefix.to_string();
    let started = Instant::now();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = writer.write(prefix.as_bytes()).unwrap_or(0);
        while sent < 50 * 1024 * 1024 {
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    });
    let r = c.read_response();
    r.assert_problem(status);
    assert!(c.is_closed_within(Duration::from_secs(3)));
    let sent = sender.join().unwrap();
    assert!(
        sent < 50 * 1024 * 1024,
        "the server kept reading: {sent} bytes"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let mut fresh = server.connect();
    assert_eq!(fresh.get_with("/healthz", "").status, 200);
    drop(fresh);
    server.stop();
}

#[test]
fn endless_header_is_cut_off_with_431() {
    streaming_flood_is_cut_off("GET /echo HTTP/1.1\r\nHost: t\r\nX-Flood: ", 431);
}

#[test]
fn endless_request_line_is_cut_off_with_414() {
    streaming_flood_is_cut_off("GET /", 414);
}

/// A request refused from its head (no token, unknown path, a method the
/// route lacks) is answered at once, without waiting for its body, and its
/// connection closed: the body is never read or buffered.
#[test]
fn refused_requests_are_answered_without_reading_their_bodies() {
    let private = lightapi::Model::new(&crate::support::unique("private"))
        .field("note", lightapi::Field::text());
    let server = TestServer::start(|a| a.register("/echo", Echo).register("/private", private));
    for (head, status) in [
        ("POST /nowhere HTTP/1.1", 404),
        ("POST /private HTTP/1.1", 401),
        ("DELETE /private HTTP/1.1", 405),
    ] {
        for expect in ["", "Expect: 100-continue\r\n"] {
            let mut c = server.connect();
            // Announce a body of 1 MiB - 1 and send none of it.
            c.send(format!(
                "{head}\r\nHost: t\r\n{expect}Content-Length: 1048575\r\n\r\n"
            ));
            let started = Instant::now();
            let r = c.read_response();
            assert_eq!(r.status, status, "{head} {expect:?}: {r:?}");
            assert!(r.closes(), "{head}: the connection stays open");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{head}: answered only after {:?}",
                started.elapsed()
            );
            c.assert_closed();
        }
    }
}

/// `100 Continue` goes only to requests that will be handled.
#[test]
fn continue_only_for_requests_that_will_be_handled() {
    let server = echo_server();
    let mut c = server.connect();
    c.send(
        "POST /nowhere HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    let r = c.read_response();
    assert_eq!(r.status, 404, "{r:?}");
    let mut c = server.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 100, "{r:?}");
    c.send("ping");
    assert_eq!(c.read_response().status, 200);
}

/// The bodies being received across all connections share one budget:
/// past it, a new body is refused with `503` and its connection closed,
/// and once the others finish, uploads are taken again.
#[test]
fn bodies_in_flight_share_one_budget() {
    let server = TestServer::start_with(
        |c| c.limits.max_buffered_body_bytes = 100_000,
        |a| a.register("/echo", Echo),
    );
    // Two admitted uploads of 40,000 bytes each (a body is reserved whole
    // when its request is admitted, which `100 Continue` confirms), half
    // sent: 80,000 held.
    let mut holders: Vec<_> = (0..2)
        .map(|_| {
            let mut c = server.connect();
            c.send(
                "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 40000\r\n\r\n",
            );
            assert_eq!(c.read_response().status, 100);
            c.send(vec![b'a'; 20_000]);
            c
        })
        .collect();
    let mut over = server.connect();
    over.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 40000\r\n\r\n");
    let r = over.read_response();
    r.assert_problem(503);
    assert!(r.closes());
    // The held uploads complete normally, and release the budget.
    for c in &mut holders {
        c.send(vec![b'a'; 20_000]);
        assert_eq!(c.read_response().status, 200);
    }
    let mut after = server.connect();
    after.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 40000\r\n\r\n");
    after.send(vec![b'a'; 40_000]);
    assert_eq!(after.read_response().status, 200);
}
