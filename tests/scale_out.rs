//! Scale-out: two lightapi *processes* (the `person` example, built by
//! `cargo test`) on one PostgreSQL schema, and two on one MariaDB database.
//! Creates from both all land exactly once; concurrent `If-Match` PATCHes of
//! one row through both processes have exactly one winner. Each part is
//! skipped, with a printed `SKIPPED:` line, when its server does not answer
//! or the example binary is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use lightapi::auth::jwt::{sign_subject, unix_now};
use lightapi::backend::{read_with, PoolOptions, Value};
use lightapi::model::FieldType;
use support::servers::{FreshDb, Server};
use support::simple_http::send;

const SECRET: &str = "scale-out-test-secret-0123456789abcdef";
const THREADS_PER_PROCESS: usize = 8;
const CREATES_PER_THREAD: usize = 25;

/// `target/debug/examples/person`, next to this test's `deps/` directory.
fn person_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join("person");
    path.exists().then_some(path)
}

/// A running `person` example, killed on drop.
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    fn start(binary: &PathBuf, database_url: &str) -> Instance {
        let mut child = Command::new(binary)
            .env("LIGHTAPI_DATABASE_URL", database_url)
            .env("LIGHTAPI_JWT_SECRET", SECRET)
            .env("LIGHTAPI_PORT", "0")
            .env("LIGHTAPI_HOST", "127.0.0.1")
            .env("LIGHTAPI_DATABASE_POOL", "4")
            .env("LIGHTAPI_WORKERS", "4")
            .env("LIGHTAPI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let status = child.wait();
                panic!("person example exited before listening: {status:?}");
            };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        // Keep draining the log so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Instance { child, addr }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scale_out(server: Server) {
    let Some(binary) = person_binary() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: scale-out on {}: target/debug/examples/person is not built \
             (run `cargo test` without --test, or `cargo build --examples` first)",
            server.name()
        );
        return;
    };
    let Some(fresh) = FreshDb::new(server) else {
        return;
    };
    // One after the other: the first creates the table, the second checks it.
    let a = Instance::start(&binary, &fresh.url);
    let b = Instance::start(&binary, &fresh.url);
    let token = sign_subject(
        "tester",
        Duration::from_secs(600),
        unix_now(),
        serde_json::Map::new(),
        SECRET.as_bytes(),
    );
    let bearer = Arc::new(format!("Bearer {token}"));

    // Creates from both processes at once.
    let threads = 2 * THREADS_PER_PROCESS;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let addr = if t % 2 == 0 { a.addr } else { b.addr };
            let (barrier, bearer) = (Arc::clone(&barrier), Arc::clone(&bearer));
            std::thread::spawn(move || {
                barrier.wait();
                (0..CREATES_PER_THREAD)
                    .map(|i| {
                        let body = format!(r#"{{"name": "n{t}-{i}", "email": "{t}-{i}@x"}}"#);
                        let r = send(
                            addr,
                            "POST",
                            "/person",
                            &[("Authorization", bearer.as_str())],
                            Some(&body),
                        )
                        .unwrap();
                        assert_eq!(r.status, 201, "{r:?}");
                        r.json()["id"].as_i64().unwrap()
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let mut ids: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let total = threads * CREATES_PER_THREAD;
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total);
    let db = fresh.connect(&PoolOptions::default());
    let counts = read_with(&*db, |c| {
        c.query(
            "SELECT COUNT(*), COUNT(DISTINCT email) FROM person",
            &[],
            &[FieldType::Integer, FieldType::Integer],
        )
    })
    .unwrap();
    let n = Value::Integer(i64::try_from(total).unwrap());
    assert_eq!(counts, vec![vec![n.clone(), n]]);

    // Concurrent If-Match PATCHes of one row through both processes.
    let id = ids[0];
    let path = format!("/person/{id}");
    let current = send(
        a.addr,
        "GET",
        &path,
        &[("Authorization", bearer.as_str())],
        None,
    )
    .unwrap();
    assert_eq!(current.status, 200);
    let etag = Arc::new(current.header("ETag").unwrap().to_owned());
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let addr = if t % 2 == 0 { a.addr } else { b.addr };
            let (barrier, bearer, etag) =
                (Arc::clone(&barrier), Arc::clone(&bearer), Arc::clone(&etag));
            let path = path.clone();
            std::thread::spawn(move || {
                let body = format!(r#"{{"name": "writer {t}"}}"#);
                barrier.wait();
                send(
                    addr,
                    "PATCH",
                    &path,
                    &[("Authorization", bearer.as_str()), ("If-Match", &etag)],
                    Some(&body),
                )
                .unwrap()
            })
        })
        .collect();
    let replies: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    assert_eq!(
        replies.iter().filter(|r| r.status == 412).count(),
        threads - 1,
        "{replies:?}"
    );
    let now = send(
        b.addr,
        "GET",
        &path,
        &[("Authorization", bearer.as_str())],
        None,
    )
    .unwrap();
    assert_eq!(now.json()["name"], winners[0].json()["name"]);
    db.close();
}

#[test]
fn two_processes_share_one_postgres_schema() {
    scale_out(Server::Postgres);
}

#[test]
fn two_processes_share_one_mariadb_database() {
    scale_out(Server::Mysql);
}
