//! A slow query on one connection does not delay the answers on others:
//! SQLite reads start on the event loop under a time budget, and a read
//! that outruns it finishes on a worker while the event loop goes on.

use std::time::{Duration, Instant};

use lightapi::{Field, Model, Resource};

use crate::support::{unique, Client, TempDir, TestServer};

/// Rows added per round until a full-table search takes long enough.
const ROWS_PER_ROUND: u32 = 100_000;
/// How long the slow search must take for the test to say anything.
const SLOW_AT_LEAST: Duration = Duration::from_millis(200);

#[test]
fn a_slow_query_on_one_connection_does_not_delay_answers_on_others() {
    let dir = TempDir::new("slow-query");
    let file = dir.path().join("api.db");
    let (name, path, model) = searchable_note();
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
    // The same reads with nothing slow running: what this machine's load
    // (other tests run beside this one) costs them anyway.
    let mut idle = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let r = fast.get_with(&format!("{path}/2"), &auth);
        idle.push(t.elapsed());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    idle.sort();
    let idle_median = idle[idle.len() / 2];

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
    // Within 10 ms, or (on a machine loaded by other tests) within a few
    // times what the same reads took with nothing slow running; a read
    // queued behind the slow query would take about as long as it.
    let bound = Duration::from_millis(10).max(idle_median * 4);
    assert!(
        median <= bound,
        "median fast answer {median:?} while a slow query ran (worst {worst:?}; \
         {idle_median:?} with nothing slow running)"
    );
    assert!(
        worst < slow_alone / 4,
        "a fast answer waited {worst:?} behind a {slow_alone:?} query"
    );
    drop((fast, slow));
    server.stop();
}

/// Rows seeded for the time-limit tests: a search over them takes well
/// over [`QUERY_LIMIT`] on every database.
const LIMIT_ROWS: u32 = 600_000;
/// The query time limit those tests set.
const QUERY_LIMIT: Duration = Duration::from_millis(100);

/// Options for the connection that seeds a table: filling it takes longer
/// than the default query time limit on a busy machine.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn seeding() -> lightapi::__private::backend::PoolOptions {
    lightapi::__private::backend::PoolOptions {
        query_timeout: Duration::from_secs(600),
        // Filling the table takes seconds, more on a loaded machine.
        socket_timeout: Duration::from_secs(600),
        ..Default::default()
    }
}

/// Starts a server on `url` with a 100 ms query limit, lets `seed` fill
/// the model's table (given its name), and checks that a search which
/// runs past the limit is a `504` naming the time limit, while other
/// requests, on the same connection and on a new one, are answered as
/// usual afterwards.
fn a_query_past_its_time_limit_is_a_504(url: &str, seed: impl FnOnce(&str)) {
    let (name, path, model) = searchable_note();
    let server = TestServer::start_with(
        |c| {
            c.database.url = url.parse().unwrap();
            c.timeouts.query = QUERY_LIMIT;
        },
        |app| app.register(&path, model),
    );
    seed(&name);
    let token = crate::support::token("tester", true);
    let auth = format!("Authorization: Bearer {token}\r\n");
    let mut c = Client::connect(server.addr());
    let r = c.get_with(&format!("{path}?search=nowhere"), &auth);
    r.assert_problem(504);
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("time limit"), "{detail}");
    let r = c.get_with(&format!("{path}/1"), &auth);
    assert_eq!(r.status, 200, "{}", r.text());
    // (A page's count would scan the whole table: the limit applies to it
    // as well.)
    let r = Client::connect(server.addr()).get_with(&format!("{path}/2"), &auth);
    assert_eq!(r.status, 200, "{}", r.text());
    drop(c);
    server.stop();
}

#[test]
fn a_sqlite_query_past_its_time_limit_is_a_504() {
    let dir = TempDir::new("query-limit");
    let file = dir.path().join("api.db");
    a_query_past_its_time_limit_is_a_504(&format!("sqlite://{}", file.display()), |table| {
        rusqlite::Connection::open(&file)
            .unwrap()
            .execute(
                &format!(
                    "INSERT INTO \"{table}\" (body) WITH RECURSIVE n(i) AS \
                     (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {LIMIT_ROWS}) \
                     SELECT printf('%.300c row %d', 'x', i) FROM n"
                ),
                [],
            )
            .unwrap();
    });
}

#[cfg(feature = "postgres")]
#[test]
fn a_postgres_query_past_its_time_limit_is_a_504() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    let url = db.url.clone();
    a_query_past_its_time_limit_is_a_504(&url, |table| {
        let sql = format!(
            "INSERT INTO \"{table}\" (body) SELECT repeat('x', 300) || ' row ' || i \
             FROM generate_series(1, {LIMIT_ROWS}) AS i"
        );
        let backend = db.connect(&seeding());
        lightapi::backend::write_with(&*backend, move |c| c.execute(&sql, &[])).unwrap();
        backend.close();
    });
}

#[cfg(feature = "mysql")]
#[test]
fn a_mariadb_query_past_its_time_limit_is_a_504() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(db) = FreshDb::new(Server::Mysql) else {
        return;
    };
    let url = db.url.clone();
    a_query_past_its_time_limit_is_a_504(&url, |table| {
        let sql = format!(
            "INSERT INTO `{table}` (body) WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {LIMIT_ROWS}) \
             SELECT CONCAT(REPEAT('x', 300), ' row ', i) FROM n"
        );
        let backend = db.connect(&seeding());
        lightapi::backend::write_with(&*backend, move |c| {
            // MariaDB as Debian configures it stops recursion at 1,000.
            c.execute("SET SESSION max_recursive_iterations = 100000000", &[])?;
            c.execute(&sql, &[])
        })
        .unwrap();
        backend.close();
    });
}

/// A fresh `note` model (its table name, its path) whose `body` can be
/// searched.
fn searchable_note() -> (String, String, Resource) {
    let name = unique("note");
    let path = format!("/{name}");
    let model = Model::new(&name)
        .field("body", Field::text())
        .into_resource()
        .search_fields(&["body"]);
    (name, path, model)
}
