//! PostgreSQL statements sent by the event loop itself (a `GET` by id, a
//! plain `POST`): a statement held up on one database connection leaves
//! the others answering; killed database connections cost a read nothing
//! and never run a write twice; a database that does not answer is `503`
//! within the connect timeout while other routes answer at once; a
//! conditional write sent from the row image of the last write never misses
//! a write made elsewhere.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lightapi::__private::backend::PoolOptions;
use lightapi::backend::{read_with, write_with, Backend};
use lightapi::{Field, Model, Value};

use crate::support::live_db::{FreshDb, Server};
use crate::support::{eventually, token, unique, Client, Resp, TestServer};

fn note(name: &str) -> Model {
    Model::new(name).field("body", Field::text())
}

fn auth() -> String {
    format!("Authorization: Bearer {}\r\n", token("tester", true))
}

fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n{}\r\n", auth())
}

fn post_request(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\n{}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        auth(),
        body.len()
    )
}

/// An admin connection to `db` for the test's own statements.
fn admin(db: &FreshDb) -> Arc<dyn Backend> {
    db.connect(&PoolOptions {
        max_read_connections: 2,
        ..PoolOptions::default()
    })
}

/// The first column of the first row `sql` reads.
fn first_value(admin: &dyn Backend, sql: &str) -> Option<Value> {
    let sql = sql.to_owned();
    let rows = read_with(admin, move |c| c.query(&sql, &[], &[])).unwrap();
    rows.into_iter().next().and_then(|r| r.into_iter().next())
}

fn count(admin: &dyn Backend, sql: &str) -> i64 {
    match first_value(admin, sql) {
        Some(Value::Integer(n)) => n,
        other => panic!("count: {other:?}"),
    }
}

/// Holds `LOCK TABLE table IN ACCESS EXCLUSIVE MODE` in a transaction on
/// a thread of its own until the returned sender is dropped; returns once
/// the lock is held.
fn lock_table(
    admin: &Arc<dyn Backend>,
    table: &str,
) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (release, released) = mpsc::channel::<()>();
    let (held, is_held) = mpsc::channel();
    let admin = Arc::clone(admin);
    let sql = format!("LOCK TABLE \"{table}\" IN ACCESS EXCLUSIVE MODE");
    let holder = std::thread::spawn(move || {
        write_with(&*admin, move |c| {
            c.execute(&sql, &[])?;
            let _ = held.send(());
            // Until the sender is dropped.
            let _ = released.recv();
            Ok(())
        })
        .unwrap();
    });
    is_held.recv_timeout(Duration::from_secs(30)).unwrap();
    (release, holder)
}

/// Waits until some session waits for a lock on a statement naming `table`.
fn wait_for_lock_wait(admin: &dyn Backend, table: &str) {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND query LIKE '%{table}%' AND query NOT LIKE '%pg_stat_activity%'"
    );
    assert!(
        eventually(Duration::from_secs(20), || count(admin, &sql) > 0),
        "no statement on {table} ever waited for the lock"
    );
}

/// Closes every connection of `application` (the server's) to the database.
fn kill_connections(admin: &dyn Backend, application: &str) -> i64 {
    count(
        admin,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{application}'"
        ),
    )
}

/// The request held up by [`lock_table`]'s lock (`what`) still has its
/// connection open; once the lock is released it is answered `200`.
fn answer_once_released(
    slow: &mut Client,
    (release, holder): (mpsc::Sender<()>, std::thread::JoinHandle<()>),
    what: &str,
) -> Resp {
    assert!(
        !slow.is_closed_within(Duration::from_millis(50)),
        "{what}'s connection closed"
    );
    drop(release);
    holder.join().unwrap();
    let r = slow.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

/// A server with one event loop (and a pool of `pool` connections, when
/// given) serving two note models on `db`, each holding one row
/// (`{"body": "one"}`, id 1); returns it with the models' names: the one
/// to hold up first.
fn two_notes(db: &FreshDb, pool: Option<usize>) -> (TestServer, String, String) {
    let (slow_name, fast_name) = (unique("slow_note"), unique("fast_note"));
    let (slow_path, fast_path) = (format!("/{slow_name}"), format!("/{fast_name}"));
    let server = TestServer::start_with(
        |c| {
            c.database.url = db.url.parse().unwrap();
            c.server.reactors = 1;
            if let Some(pool) = pool {
                c.database.pool = pool;
            }
        },
        |app| {
            app.register(&slow_path, note(&slow_name))
                .register(&fast_path, note(&fast_name))
        },
    );
    let mut client = Client::connect(server.addr());
    for path in [&slow_path, &fast_path] {
        client.send(post_request(path, r#"{"body": "one"}"#));
        let r = client.read_response();
        assert_eq!(r.status, 201, "{}", r.text());
    }
    (server, slow_name, fast_name)
}

#[test]
fn a_statement_held_up_on_one_connection_leaves_the_others_answering() {
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    // One event loop: every statement below is sent by the same one.
    let (server, slow_name, fast_name) = two_notes(&db, None);
    let (slow_path, fast_path) = (format!("/{slow_name}"), format!("/{fast_name}"));
    let mut fast = Client::connect(server.addr());
    fast.send(get_request(&format!("{fast_path}/1")));
    assert_eq!(fast.read_response().status, 200);

    let admin = admin(&db);
    let (release, holder) = lock_table(&admin, &slow_name);
    let mut slow = Client::connect(server.addr());
    slow.send(get_request(&format!("{slow_path}/1")));
    wait_for_lock_wait(&*admin, &slow_name);
    // The held-up read occupies one database connection; reads and writes
    // of other clients go to others and are answered meanwhile.
    for i in 0..20 {
        fast.send(get_request(&format!("{fast_path}/1")));
        let r = fast.read_response();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["body"], "one");
        if i % 5 == 0 {
            fast.send(post_request(&fast_path, r#"{"body": "more"}"#));
            assert_eq!(fast.read_response().status, 201);
        }
    }
    let r = answer_once_released(&mut slow, (release, holder), "the held-up read");
    assert_eq!(r.json()["body"], "one");
    server.stop();
}

/// The one-statement verbs, list pages and conditional `PATCH` do not use
/// the pool: with its only connection held by a cursor-paged list waiting
/// for a lock, `GET` by id, a list page with its count (both statements
/// sent together), `POST`, `PATCH` with `If-Match` (a read, then a
/// compare-and-set update) and without, and `DELETE` without `If-Match`
/// are still answered, by the event loop's own connection.
#[test]
fn one_statement_verbs_are_answered_while_the_pool_is_taken() {
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    let (server, slow_name, fast_name) = two_notes(&db, Some(1));
    let (slow_path, fast_path) = (format!("/{slow_name}"), format!("/{fast_name}"));
    let mut fast = Client::connect(server.addr());

    let admin = admin(&db);
    let (release, holder) = lock_table(&admin, &slow_name);
    // A cursor-paged list runs on the pool: its only connection now waits
    // for the lock.
    let mut slow = Client::connect(server.addr());
    slow.send(get_request(&format!("{slow_path}?cursor=")));
    wait_for_lock_wait(&*admin, &slow_name);

    fast.send(get_request(&format!("{fast_path}/1")));
    let r = fast.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "one");
    fast.send(post_request(&fast_path, r#"{"body": "two"}"#));
    let r = fast.read_response();
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    // A full first page: its count comes from the database, not the page.
    fast.send(get_request(&format!("{fast_path}?page_size=1")));
    let r = fast.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["count"], 2, "{}", r.text());
    assert_eq!(r.json()["results"][0]["body"], "one", "{}", r.text());
    fast.send(get_request(&format!("{fast_path}?page=2&page_size=1")));
    let r = fast.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["count"], 2, "{}", r.text());
    assert_eq!(r.json()["results"][0]["body"], "two", "{}", r.text());
    let body = r#"{"body": "three"}"#;
    let patch = format!(
        "PATCH {fast_path}/{id} HTTP/1.1\r\nHost: t\r\n{}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        auth(),
        body.len()
    );
    fast.send(patch);
    let r = fast.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "three");
    let etag = r.header("etag").expect("an ETag").to_owned();
    let conditional = |body: &str, tag: &str| {
        format!(
            "PATCH {fast_path}/{id} HTTP/1.1\r\nHost: t\r\n{}If-Match: {tag}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            auth(),
            body.len()
        )
    };
    fast.send(conditional(r#"{"body": "four"}"#, &etag));
    let r = fast.read_response();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "four");
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // The tag of the row before that write no longer matches.
    fast.send(conditional(r#"{"body": "five"}"#, &etag));
    let r = fast.read_response();
    assert_eq!(r.status, 412, "{}", r.text());
    fast.send(get_request(&format!("{fast_path}/{id}")));
    assert_eq!(fast.read_response().json()["body"], "four");
    fast.send(format!(
        "DELETE {fast_path}/{id} HTTP/1.1\r\nHost: t\r\n{}\r\n",
        auth()
    ));
    let r = fast.read_response();
    assert!(
        r.status == 204 || r.status == 200,
        "{} {}",
        r.status,
        r.text()
    );
    answer_once_released(&mut slow, (release, holder), "the list page");
    server.stop();
}

#[test]
fn killed_database_connections_cost_a_read_nothing_and_never_repeat_a_write() {
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    let name = unique("kill_note");
    let path = format!("/{name}");
    let application = unique("lightapi_kill");
    let url = format!("{}&application_name={application}", db.url);
    let server = TestServer::start_with(
        |c| {
            c.database.url = url.parse().unwrap();
            c.server.reactors = 1;
        },
        |app| app.register(&path, note(&name)),
    );
    let admin = admin(&db);
    let mut c = Client::connect(server.addr());
    c.send(post_request(&path, r#"{"body": "kept"}"#));
    assert_eq!(c.read_response().status, 201);
    for round in 0..3 {
        c.send(get_request(&format!("{path}/1")));
        assert_eq!(c.read_response().status, 200);
        assert!(kill_connections(&*admin, &application) > 0, "round {round}");
        // Read again at once: a stale connection is replaced and the read
        // run again on the new one.
        c.send(get_request(&format!("{path}/1")));
        let r = c.read_response();
        assert_eq!(r.status, 200, "round {round}: {}", r.text());
        assert_eq!(r.json()["body"], "kept");
    }

    // A write held up in the database when its connection is killed: it
    // is answered 503 and not sent again.
    let (release, holder) = lock_table(&admin, &name);
    let mut writer = Client::connect(server.addr());
    writer.send(post_request(&path, r#"{"body": "once"}"#));
    wait_for_lock_wait(&*admin, &name);
    assert!(kill_connections(&*admin, &application) > 0);
    let r = writer.read_response();
    drop(release);
    holder.join().unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    let once = format!("SELECT count(*) FROM \"{name}\" WHERE body = 'once'");
    assert_eq!(count(&*admin, &once), 0, "the killed write ran");
    // Service goes on, and a write then runs exactly once.
    assert!(eventually(Duration::from_secs(10), || {
        writer.send(post_request(&path, r#"{"body": "twice"}"#));
        writer.read_response().status == 201
    }));
    let twice = format!("SELECT count(*) FROM \"{name}\" WHERE body = 'twice'");
    assert_eq!(count(&*admin, &twice), 1);
    writer.send(get_request(&format!("{path}/1")));
    assert_eq!(writer.read_response().status, 200);
    server.stop();
}

/// Forwards to the database until `swallow` is set; from then on accepts
/// connections and never answers them.
struct Silencer {
    addr: SocketAddr,
    swallow: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Silencer {
    fn start(upstream: String) -> Silencer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let swallow = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (sw, hd) = (Arc::clone(&swallow), Arc::clone(&held));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if sw.load(Ordering::SeqCst) {
                    hd.lock().unwrap().push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(client, server));
                std::thread::spawn(move || pipe(s2, c2));
            }
        });
        Silencer {
            addr,
            swallow,
            held,
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

#[test]
fn a_database_that_does_not_answer_is_a_503_while_other_routes_answer() {
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    let name = unique("silent_note");
    let path = format!("/{name}");
    let application = unique("lightapi_silent");
    let silencer = Silencer::start(Server::Postgres.address());
    let url = format!("{}&application_name={application}", db.url).replacen(
        &Server::Postgres.address(),
        &silencer.addr.to_string(),
        1,
    );
    let connect_timeout = Duration::from_secs(2);
    let server = TestServer::start_with(
        |c| {
            c.database.url = url.parse().unwrap();
            c.database.connect_timeout = connect_timeout;
            c.server.reactors = 1;
        },
        |app| app.register(&path, note(&name)),
    );
    let mut c = Client::connect(server.addr());
    c.send(post_request(&path, r#"{"body": "x"}"#));
    assert_eq!(c.read_response().status, 201);
    // The database stops answering: connections open, nothing comes back.
    silencer.swallow.store(true, Ordering::SeqCst);
    let admin = admin(&db);
    assert!(kill_connections(&*admin, &application) > 0);

    let started = Instant::now();
    let mut waiting = Client::connect(server.addr());
    waiting.send(get_request(&format!("{path}/1")));
    // The event loop that waits for the database answers other routes.
    let mut other = Client::connect(server.addr());
    for _ in 0..10 {
        other.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(other.read_response().status, 200);
    }
    let r = waiting.read_response();
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    let took = started.elapsed();
    assert!(
        took < connect_timeout + Duration::from_secs(10),
        "503 after {took:?}"
    );
    // While the probe's connect fails, the answer is 503, never a hang.
    waiting.send(get_request(&format!("{path}/1")));
    assert_eq!(waiting.read_response().status, 503);
    assert!(!silencer.held.lock().unwrap().is_empty(), "never connected");
    server.stop();
}

/// A conditional write whose `If-Match` is the tag of the server's last
/// write of the row is sent without reading the row first (the image that
/// write left stands for the read): a write made elsewhere in between, even
/// one that leaves the same content, is never missed, and a tag of content
/// changed elsewhere is `412` with nothing written.
#[test]
fn a_kept_row_image_never_hides_a_write_made_elsewhere() {
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    let name = unique("imaged_note");
    let path = format!("/{name}");
    let server = TestServer::start_with(
        |c| c.database.url = db.url.parse().unwrap(),
        |app| app.register(&path, note(&name)),
    );
    let admin = admin(&db);
    let body_of = |id: i64| -> String {
        let sql = format!("SELECT body FROM \"{name}\" WHERE id = {id}");
        match first_value(&*admin, &sql) {
            Some(Value::Text(s)) => s,
            other => panic!("body: {other:?}"),
        }
    };
    let set_elsewhere = |id: i64, body: &str| {
        let sql = format!("UPDATE \"{name}\" SET body = '{body}' WHERE id = {id}");
        write_with(&*admin, move |c| c.execute(&sql, &[])).unwrap();
    };
    let mut c = Client::connect(server.addr());
    let mut write = |method: &str, id: i64, tag: &str, body: Option<&str>| -> Resp {
        let body = body
            .map(|b| format!(r#"{{"body": "{b}"}}"#))
            .unwrap_or_default();
        c.send(format!(
            "{method} {path}/{id} HTTP/1.1\r\nHost: t\r\n{}If-Match: {tag}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            auth(),
            body.len()
        ));
        c.read_response()
    };
    let mut get = Client::connect(server.addr());
    let mut tag_of = |id: i64| -> String {
        get.send(get_request(&format!("{path}/{id}")));
        let r = get.read_response();
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("etag").expect("an ETag").to_owned()
    };
    let mut create = Client::connect(server.addr());
    let mut new_row = || -> i64 {
        create.send(post_request(&path, r#"{"body": "one"}"#));
        let r = create.read_response();
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_i64().unwrap()
    };
    let tag = |r: &Resp| r.header("etag").expect("an ETag").to_owned();

    // A chain of conditional writes, each with the tag of the one before.
    let id = new_row();
    let r = write("PATCH", id, &tag_of(id), Some("two"));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = write("PATCH", id, &tag(&r), Some("three"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "three");
    let r = write("PUT", id, &tag(&r), Some("four"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body_of(id), "four");
    let last = tag(&r);

    // Changed elsewhere: the last write's tag no longer matches.
    set_elsewhere(id, "elsewhere");
    let r = write("PATCH", id, &last, Some("five"));
    assert_eq!(r.status, 412, "{}", r.text());
    assert_eq!(body_of(id), "elsewhere");
    let r = write("DELETE", id, &last, None);
    assert_eq!(r.status, 412, "{}", r.text());
    assert_eq!(body_of(id), "elsewhere");

    // Written elsewhere with the same content: the tag still matches, and
    // the write lands on the row as it now is.
    let r = write("PATCH", id, &tag_of(id), Some("six"));
    assert_eq!(r.status, 200, "{}", r.text());
    let six = tag(&r);
    set_elsewhere(id, "six");
    let r = write("PATCH", id, &six, Some("seven"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body_of(id), "seven");

    // A delete with the last write's tag, then the row is gone.
    let r = write("DELETE", id, &tag(&r), None);
    assert!(
        r.status == 204 || r.status == 200,
        "{} {}",
        r.status,
        r.text()
    );
    get.send(get_request(&format!("{path}/{id}")));
    assert_eq!(get.read_response().status, 404);
    server.stop();
}
