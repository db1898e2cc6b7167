//! Slow handlers run on workers and never hold up other connections.

use std::time::{Duration, Instant};

use lightapi::{Access, Endpoint, HandlerResult, Method, Request};
use serde_json::json;

use crate::support::{Client, Slow, TestServer};

/// A quick worker-run handler.
struct Fast;

impl Endpoint for Fast {
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"fast": true}).into())
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
}

#[test]
fn slow_handlers_do_not_stall_other_connections() {
    let server = TestServer::start_with(
        |c| c.server.workers = 4,
        |a| {
            a.register("/slow", Slow(Duration::from_secs(1)))
                .register("/fast", Fast)
        },
    );
    let addr = server.addr();
    let started = Instant::now();
    let mut slow: Vec<Client> = (0..2).map(|_| Client::connect(addr)).collect();
    for c in &mut slow {
        c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    // Both slow requests are now in flight (or about to be).
    let mut other = Client::connect(addr);
    let t = Instant::now();
    assert_eq!(other.get_with("/healthz", "").status, 200);
    let healthz = t.elapsed();
    let t = Instant::now();
    assert_eq!(other.get_with("/fast", "").json()["fast"], true);
    let fast = t.elapsed();
    let mut fresh = Client::connect(addr);
    let t = Instant::now();
    assert_eq!(fresh.get_with("/fast", "").status, 200);
    let fresh_fast = t.elapsed();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "slow requests were not in flight meanwhile"
    );
    for (what, d) in [
        ("healthz", healthz),
        ("fast", fast),
        ("fast on a new connection", fresh_fast),
    ] {
        assert!(
            d < Duration::from_millis(500),
            "{what} took {d:?} while slow handlers ran"
        );
    }
    for c in &mut slow {
        assert_eq!(c.read_response().json()["slept_ms"], 1000);
    }
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "slow handlers ran one after the other"
    );
    drop((slow, other, fresh));
    server.stop();
}

#[test]
fn many_concurrent_clients_are_all_answered() {
    let server = TestServer::start_with(|c| c.server.workers = 2, |a| a.register("/fast", Fast));
    let addr = server.addr();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for _ in 0..20 {
                    let path = if i % 2 == 0 { "/fast" } else { "/healthz" };
                    assert_eq!(c.get_with(path, "").status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    server.stop();
}
