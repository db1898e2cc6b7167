//! A slow query on one connection does not delay the answers on others:
//! SQLite reads start on the event loop under a time budget, and a read
//! that outruns it finishes on a worker while the event loop goes on.

use std::time::{Duration, Instant};

use lightapi::{Field, Model};

use crate::support::{unique, Client, TempDir, TestServer};

/// Rows added per round until a full-table search takes long enough.
const ROWS_PER_ROUND: u32 = 100_000;
/// How long the slow search must take for the test to say anything.
const SLOW_AT_LEAST: Duration = Duration::from_millis(200);

#[test]
fn a_slow_query_on_one_connection_does_not_delay_answers_on_others() {
    let dir = TempDir::new("slow-query");
    let file = dir.path().join("api.db");
    let name = unique("note");
    let path = format!("/{name}");
    let model = Model::new(&name)
        .field("body", Field::text())
        .into_resource()
        .search_fields(&["body"]);
    // One event loop: anything that ran on it would hold up every other
    // connection.
    let server = TestServer::start_with(
        |c| {
            c.database.url = format!("sqlite://{}", file.display()).parse().unwrap();
            c.server.reactors = 1;
        },
        |app| app.register(&path, model),
    );
    let token = crate::support::token("tester", true);
    let auth = format!("Authorization: Bearer {token}\r\n");
    // A search for a term no row holds scans the whole table.
    let slow_request =
        format!("GET {path}?search=nowhere&page_size=5 HTTP/1.1\r\nHost: t\r\n{auth}\r\n");
    let seed = rusqlite::Connection::open(&file).unwrap();
    let mut slow_alone = Duration::ZERO;
    for _round in 0..8 {
        seed.execute(
            &format!(
                "INSERT INTO \"{name}\" (body) WITH RECURSIVE n(i) AS \
                 (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS_PER_ROUND}) \
                 SELECT printf('%.300c row %d', 'x', i) FROM n"
            ),
            [],
        )
        .unwrap();
        let mut c = Client::connect(server.addr());
        let t = Instant::now();
        c.send(&slow_request);
        let r = c.read_response();
        slow_alone = t.elapsed();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["count"], 0);
        if slow_alone >= SLOW_AT_LEAST {
            break;
        }
    }
    assert!(
        slow_alone >= SLOW_AT_LEAST,
        "the search never took {SLOW_AT_LEAST:?} (last: {slow_alone:?})"
    );
    drop(seed);

    let mut fast = Client::connect(server.addr());
    let warm = fast.get_with(&format!("{path}/1"), &auth);
    assert_eq!(warm.status, 200, "{}", warm.text());

    let mut slow = Client::connect(server.addr());
    let started = Instant::now();
    slow.send(&slow_request);
    let mut latencies = Vec::new();
    // Fast reads on another connection for as long as the slow one is
    // certainly still running.
    while started.elapsed() < slow_alone / 2 {
        let t = Instant::now();
        let r = fast.get_with(&format!("{path}/2"), &auth);
        latencies.push(t.elapsed());
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains("row 2"), "{}", r.text());
    }
    let r = slow.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        latencies.len() >= 5,
        "only {} fast answers while the slow query ran",
        latencies.len()
    );
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let worst = latencies[latencies.len() - 1];
    assert!(
        median <= Duration::from_millis(10),
        "median fast answer {median:?} while a slow query ran (worst {worst:?})"
    );
    assert!(
        worst < slow_alone / 4,
        "a fast answer waited {worst:?} behind a {slow_alone:?} query"
    );
    drop((fast, slow));
    server.stop();
}
