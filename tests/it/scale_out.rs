//! Scale-out: two lightapi *processes* (the `person` example, built by
//! `cargo test`) on one PostgreSQL schema, and two on one MariaDB database.
//! Creates from both all land exactly once; concurrent `If-Match` PATCHes of
//! one row through both processes have exactly one winner. Each part is
//! skipped, with a printed `SKIPPED:` line, when its server does not answer
//! or the example binary is missing.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Barrier};

use lightapi::__private::backend::PoolOptions;
use lightapi::backend::{read_with, Value};
use lightapi::model::FieldType;

use crate::support::live_db::{FreshDb, Server};
use crate::support::{token, Client, ExampleProcess, Resp};

const THREADS_PER_PROCESS: usize = 8;
const CREATES_PER_THREAD: usize = 25;

/// The `person` example on `database_url`, killed on drop.
fn start_instance(binary: &Path, database_url: &str) -> ExampleProcess {
    let mut cmd = ExampleProcess::command_for(binary);
    cmd.env("LIGHTAPI_DATABASE_URL", database_url)
        .env("LIGHTAPI_DATABASE_POOL", "4")
        .env("LIGHTAPI_WORKERS", "4");
    ExampleProcess::spawn(cmd)
}

/// One request on a connection of its own.
fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let mut fields = vec![("Connection", "close")];
    fields.extend_from_slice(headers);
    if body.is_some() {
        fields.push(("Content-Type", "application/json"));
    }
    Client::new(addr).request(method, path, &fields, body.map(str::as_bytes))
}

fn scale_out(server: Server) {
    let Some(binary) = ExampleProcess::binary("person") else {
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
    let a = start_instance(&binary, &fresh.url);
    let b = start_instance(&binary, &fresh.url);
    let bearer = Arc::new(format!("Bearer {}", token("tester", false)));

    // Creates from both processes at once.
    let threads = 2 * THREADS_PER_PROCESS;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let addr = if t % 2 == 0 { a.addr() } else { b.addr() };
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
                        );
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
        a.addr(),
        "GET",
        &path,
        &[("Authorization", bearer.as_str())],
        None,
    );
    assert_eq!(current.status, 200);
    let etag = Arc::new(current.header("ETag").unwrap().to_owned());
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let addr = if t % 2 == 0 { a.addr() } else { b.addr() };
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
        b.addr(),
        "GET",
        &path,
        &[("Authorization", bearer.as_str())],
        None,
    );
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
