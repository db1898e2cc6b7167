//! `lightapi serve` on SIGHUP: the file read again and swapped in without
//! dropping a connection. Every check goes over one keep-alive connection
//! opened before the reload (raw client calls, which never reconnect):
//! new routes and access rules apply to the requests after the reload, a
//! bad file is logged at its line and column and changes nothing, a
//! request in flight finishes under the configuration it began with, and
//! a new JWT secret turns the old tokens away. On SQLite, PostgreSQL and
//! MariaDB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::support::server::ExampleProcess;
use crate::support::{eventually, sign_subject, token, Client, Resp, TempDir};

/// How long a reload may take to be logged.
const RELOAD_WITHIN: Duration = Duration::from_secs(20);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lightapi"))
}

/// `lightapi serve file`, with `url` as `LIGHTAPI_DATABASE_URL` when
/// given, and without the test secret in the environment when the file
/// declares its own (`own_secret`).
fn serve(file: &Path, url: Option<&str>, own_secret: bool) -> ExampleProcess {
    let mut cmd = ExampleProcess::command_for(bin());
    cmd.arg("serve")
        .arg(file)
        .env_remove("LIGHTAPI_DATABASE_URL");
    if let Some(url) = url {
        cmd.env("LIGHTAPI_DATABASE_URL", url);
    }
    if own_secret {
        cmd.env_remove("LIGHTAPI_JWT_SECRET");
    }
    ExampleProcess::spawn(cmd)
}

/// Writes `text` to `file`, sends the server SIGHUP and waits until it
/// has logged the outcome of that reload (its `n`th); answers that line.
fn reload(server: &ExampleProcess, file: &Path, text: &str, n: usize) -> String {
    std::fs::write(file, text).unwrap();
    let status = Command::new("kill")
        .arg("-HUP")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -HUP");
    let outcomes = || -> Vec<String> {
        server
            .log()
            .into_iter()
            .filter(|l| l.contains("reloaded ") || l.contains("reload of "))
            .collect()
    };
    assert!(
        eventually(RELOAD_WITHIN, || outcomes().len() >= n),
        "reload {n} was not logged: {:#?}",
        server.log()
    );
    outcomes().swap_remove(n - 1)
}

/// One request on the client's open connection (never a new one).
fn ask(
    c: &mut Client,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
    if let Some(t) = bearer {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.map(|b| serde_json::to_vec(b).unwrap());
    if let Some(b) = &body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_deref().unwrap_or_default());
    c.send(bytes);
    let r = c.read_response();
    assert!(!r.closes(), "the connection stays open: {r:?}");
    r
}

/// A file with `models` (TOML) after the common settings.
fn file_text(models: &str) -> String {
    format!("[metrics]\npath = \"/metrics\"\npublic = true\n\n{models}")
}

const PERSON_PUBLIC: &str = r#"
[models.person]
access = { default = "public" }

[models.person.fields]
name = { type = "text" }
"#;

const PERSON_ADMIN_AND_PET: &str = r#"
[models.person]
access = { default = "admin" }

[models.person.fields]
name = { type = "text" }

[models.pet]
access = { default = "public" }

[models.pet.fields]
name = { type = "text" }
"#;

/// The count of `GET /person` answered `200` in the metrics document.
fn person_gets(c: &mut Client) -> u64 {
    let r = ask(c, "GET", "/metrics", None, None);
    assert_eq!(r.status, 200, "{r:?}");
    let wanted = r#"lightapi_http_requests_total{route="/person",method="GET",status="200"} "#;
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(wanted))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// (a) and (b) on the database at `url` (the file's own, when `None`).
fn routes_and_access_follow_the_file(dir: &TempDir, url: Option<&str>) {
    let file = dir.path().join("api.toml");
    std::fs::write(&file, file_text(PERSON_PUBLIC)).unwrap();
    let server = serve(&file, url, false);
    let mut c = Client::connect(server.addr());
    let r = ask(
        &mut c,
        "POST",
        "/person",
        None,
        Some(&json!({"name": "Ann"})),
    );
    assert_eq!(r.status, 201, "public before the reload: {r:?}");
    assert_eq!(ask(&mut c, "GET", "/person", None, None).status, 200);
    assert_eq!(ask(&mut c, "GET", "/pet", None, None).status, 404);
    let before = person_gets(&mut c);
    assert_eq!(before, 1);

    // A new model, and the old one admin-only.
    let line = reload(&server, &file, &file_text(PERSON_ADMIN_AND_PET), 1);
    assert!(line.contains("info reloaded "), "{line}");
    let r = ask(&mut c, "POST", "/pet", None, Some(&json!({"name": "Rex"})));
    assert_eq!(r.status, 201, "the new model's table was made: {r:?}");
    assert_eq!(
        ask(&mut c, "GET", "/pet", None, None).json()["count"],
        json!(1)
    );
    let r = ask(&mut c, "GET", "/person", None, None);
    assert_eq!(r.status, 401, "admin-only now: {r:?}");
    let user = token("bob", false);
    assert_eq!(ask(&mut c, "GET", "/person", Some(&user), None).status, 403);
    let admin = token("root", true);
    let r = ask(&mut c, "GET", "/person", Some(&admin), None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json()["results"][0]["name"],
        json!("Ann"),
        "the same database"
    );
    assert_eq!(
        person_gets(&mut c),
        before + 1,
        "the metrics go on counting"
    );

    // A file that does not parse: logged at its line and column, and the
    // configuration before it goes on serving.
    let mut bad = file_text(PERSON_ADMIN_AND_PET);
    bad.push_str("\n[models.pet.colour]\n");
    let bad_line = bad.lines().count();
    let line = reload(&server, &file, &bad, 2);
    assert!(line.contains("error reload of "), "{line}");
    assert!(line.contains(&format!("api.toml:{bad_line}:")), "{line}");
    assert!(line.contains("previous configuration"), "{line}");
    assert_eq!(ask(&mut c, "GET", "/pet", None, None).status, 200);
    assert_eq!(ask(&mut c, "GET", "/person", None, None).status, 401);

    // A model that its table contradicts is refused like at start-up.
    let clash = file_text(&PERSON_ADMIN_AND_PET.replace(
        "[models.pet.fields]\nname = { type = \"text\" }",
        "[models.pet.fields]\nname = { type = \"text\" }\nage = { type = \"integer\" }",
    ));
    let line = reload(&server, &file, &clash, 3);
    assert!(line.contains("error reload of "), "{line}");
    assert!(line.contains("age"), "the missing column is named: {line}");
    let r = ask(&mut c, "POST", "/pet", None, Some(&json!({"name": "Tom"})));
    assert_eq!(r.status, 201, "still the previous model: {r:?}");
}

#[test]
fn reload_applies_new_routes_and_access_on_an_open_connection_on_sqlite() {
    let dir = TempDir::new("cli-reload");
    let url = dir.sqlite_url("api.db");
    routes_and_access_follow_the_file(&dir, Some(&url));
}

#[cfg(feature = "postgres")]
#[test]
fn reload_applies_new_routes_and_access_on_an_open_connection_on_postgres() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(db) = FreshDb::new(Server::Postgres) else {
        return;
    };
    routes_and_access_follow_the_file(&TempDir::new("cli-reload-pg"), Some(&db.url));
}

#[cfg(feature = "mysql")]
#[test]
fn reload_applies_new_routes_and_access_on_an_open_connection_on_mariadb() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(db) = FreshDb::new(Server::Mysql) else {
        return;
    };
    routes_and_access_follow_the_file(&TempDir::new("cli-reload-my"), Some(&db.url));
}

/// (c): a request whose body is still arriving when the file is reloaded
/// is answered under the configuration it began with (its access, and no
/// CORS grant); the next one on the same connection under the new one.
#[test]
fn a_request_in_flight_during_a_reload_finishes_under_its_configuration() {
    let dir = TempDir::new("cli-reload-flight");
    let file = dir.path().join("api.toml");
    std::fs::write(&file, file_text(PERSON_PUBLIC)).unwrap();
    let url = dir.sqlite_url("api.db");
    let server = serve(&file, Some(&url), false);
    let mut c = Client::connect(server.addr());
    let body = br#"{"name": "Slow"}"#;
    c.send(format!(
        "POST /person HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let (first, rest) = body.split_at(5);
    c.send(first);
    let cors = format!("[cors]\norigins = [\"{ORIGIN}\"]\n\n{PERSON_ADMIN_AND_PET}");
    let line = reload(&server, &file, &file_text(&cors), 1);
    assert!(line.contains("info reloaded "), "{line}");
    c.send(rest);
    let r = c.read_response();
    assert_eq!(r.status, 201, "admitted as public, answered so: {r:?}");
    assert_eq!(r.json()["name"], json!("Slow"));
    assert_eq!(r.header("access-control-allow-origin"), None, "{r:?}");
    assert!(!r.closes());
    c.send(format!(
        "GET /pet HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n\r\n"
    ));
    let r = c.read_response();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    // (Without its body: a refused request's body is not read, so its
    // connection closes.)
    let r = ask(&mut c, "GET", "/person", None, None);
    assert_eq!(r.status, 401, "the next request is admin-only: {r:?}");
    assert_eq!(ask(&mut c, "GET", "/pet", None, None).status, 200);
}

/// The origin the reloaded file grants CORS to.
const ORIGIN: &str = "https://app.example";

fn secret_file(default: &str) -> String {
    format!(
        "[jwt]\nsecret = \"${{LIGHTAPI_RELOAD_TEST_UNSET_SECRET:-{default}}}\"\n\n\
         [models.person]\naccess = {{ default = \"authenticated\" }}\n\n\
         [models.person.fields]\nname = {{ type = \"text\" }}\n"
    )
}

fn token_for(secret: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    sign_subject(
        "carol",
        Duration::from_secs(600),
        now,
        Map::new(),
        secret.as_bytes(),
    )
}

/// (d): a new secret in the file (its `${VAR:-default}` default) turns the
/// tokens signed with the old one away.
#[test]
fn a_new_jwt_secret_turns_old_tokens_away() {
    let dir = TempDir::new("cli-reload-jwt");
    let file: PathBuf = dir.path().join("api.toml");
    let (old, new) = (
        "old-secret-0123456789abcdef-0123456789",
        "new-secret-0123456789abcdef-0123456789",
    );
    std::fs::write(&file, secret_file(old)).unwrap();
    let url = dir.sqlite_url("api.db");
    let server = serve(&file, Some(&url), true);
    let mut c = Client::connect(server.addr());
    let (old_token, new_token) = (token_for(old), token_for(new));
    assert_eq!(
        ask(&mut c, "GET", "/person", Some(&old_token), None).status,
        200
    );
    assert_eq!(
        ask(&mut c, "GET", "/person", Some(&new_token), None).status,
        401
    );
    let line = reload(&server, &file, &secret_file(new), 1);
    assert!(line.contains("info reloaded "), "{line}");
    let r = ask(&mut c, "GET", "/person", Some(&old_token), None);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        ask(&mut c, "GET", "/person", Some(&new_token), None).status,
        200
    );
}

/// A changed database is opened before the swap; one that cannot be
/// reached keeps the running one. Settings bound at start are kept, and
/// the reload says they need a restart.
#[test]
fn a_new_database_is_opened_first_and_restart_settings_are_kept() {
    let dir = TempDir::new("cli-reload-db");
    let file = dir.path().join("api.toml");
    let with_db = |url: &str, workers: u16| {
        format!("[server]\nworkers = {workers}\n\n[database]\nurl = \"{url}\"\n{PERSON_PUBLIC}")
    };
    let (a, b) = (dir.sqlite_url("a.db"), dir.sqlite_url("b.db"));
    std::fs::write(&file, with_db(&a, 2)).unwrap();
    let server = serve(&file, None, false);
    let mut c = Client::connect(server.addr());
    let r = ask(
        &mut c,
        "POST",
        "/person",
        None,
        Some(&json!({"name": "InA"})),
    );
    assert_eq!(r.status, 201, "{r:?}");

    // Unreachable: refused, and database `a` goes on serving.
    let line = reload(
        &server,
        &file,
        &with_db("postgres://nobody@127.0.0.1:1/none", 2),
        1,
    );
    assert!(line.contains("error reload of "), "{line}");
    assert_eq!(
        ask(&mut c, "GET", "/person", None, None).json()["count"],
        json!(1)
    );

    // Another database (and another worker count, which needs a
    // restart).
    let line = reload(&server, &file, &with_db(&b, 3), 2);
    assert!(line.contains("warn reloaded "), "{line}");
    assert!(line.contains("server.workers changed"), "{line}");
    assert!(line.contains("needs a restart"), "{line}");
    assert_eq!(
        ask(&mut c, "GET", "/person", None, None).json()["count"],
        json!(0)
    );
    let mut fresh = Client::connect(server.addr());
    assert_eq!(
        ask(&mut fresh, "GET", "/person", None, None).status,
        200,
        "still listening where it started"
    );
}
