//! The `lightapi` command: `serve` of examples/person.toml answers as the
//! Rust example does, on SQLite, PostgreSQL and MariaDB; `check`,
//! `routes`, `openapi` and `hash-password` with their exit statuses; file
//! errors placed at their line and column; the file's login.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::server::ExampleProcess;
use crate::support::{token, Client, Resp, TempDir, SECRET};

pub(super) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_lightapi"))
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn secret() -> &'static str {
    std::str::from_utf8(SECRET).unwrap()
}

/// Runs `lightapi args…` to completion with `env` (and no `LIGHTAPI_*`
/// variable of the test's own environment).
pub(super) fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("LIGHTAPI_DATABASE_URL")
        .env_remove("LIGHTAPI_JWT_SECRET")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `lightapi serve file` on `url`, waited for until it listens.
pub(super) fn serve(file: &Path, url: &str) -> ExampleProcess {
    let mut cmd = ExampleProcess::command_for(bin());
    cmd.arg("serve").arg(file).env("LIGHTAPI_DATABASE_URL", url);
    ExampleProcess::spawn(cmd)
}

/// What one step of the CRUD sequence answered: the status, the headers
/// a client relies on, and the body.
pub(super) fn seen(r: &Resp) -> Value {
    let header = |n: &str| r.header(n).map(str::to_owned);
    json!({
        "status": r.status,
        "content-type": header("content-type"),
        "allow": header("allow"),
        "etag": header("etag"),
        "location": header("location"),
        "body": if r.body.is_empty() { Value::Null } else { r.json() },
    })
}

/// A CRUD sequence over HTTP on the Person API at `addr`, each answer
/// checked, and the transcript of what was answered.
fn person_sequence(addr: std::net::SocketAddr) -> Vec<Value> {
    let mut out = Vec::new();
    let mut anonymous = Client::new(addr);
    let r = anonymous.get("/person");
    assert_eq!(r.status, 401, "a token is required: {r:?}");
    out.push(seen(&r));
    let mut c = Client::with_token(addr, &token("alice", false));
    let r = c.post(
        "/person",
        &json!({"name": "Ann", "email": "ann@example.com"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["email_verified"], json!(false));
    out.push(seen(&r));
    let r = c.post(
        "/person",
        &json!({"name": "Other", "email": "ann@example.com"}),
    );
    assert_eq!(r.status, 409, "a unique email: {r:?}");
    out.push(seen(&r));
    let r = c.post("/person", &json!({"name": 7, "email": "b@example.com"}));
    assert_eq!(r.status, 422, "{r:?}");
    out.push(seen(&r));
    let item = format!("/person/{id}");
    let r = c.get(&item);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["name"], json!("Ann"));
    out.push(seen(&r));
    let r = c.put(
        &item,
        &json!({"name": "Anne", "email": "anne@example.com", "email_verified": false}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["name"], json!("Anne"));
    out.push(seen(&r));
    let r = c.patch(&item, &json!({"email_verified": true}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["email_verified"], json!(true));
    out.push(seen(&r));
    let r = c.request("HEAD", &item, &[], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.is_empty());
    out.push(seen(&r));
    let r = c.request("OPTIONS", "/person", &[], None);
    assert!(r.status == 204 || r.status == 200, "{r:?}");
    assert!(r.allow().iter().any(|m| m == "POST"), "{r:?}");
    out.push(seen(&r));
    let r = c.get("/person");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json()["results"][0]["email_verified"],
        json!(true),
        "{r:?}"
    );
    let r = c.get("/person?email_verified=true");
    assert_eq!(r.status, 400, "not a filter field: {r:?}");
    out.push(seen(&r));
    out.push(seen(&r));
    let r = c.delete(&item);
    assert_eq!(r.status, 204, "{r:?}");
    out.push(seen(&r));
    let r = c.get(&item);
    assert_eq!(r.status, 404, "{r:?}");
    out.push(seen(&r));
    out
}

/// The same sequence against `lightapi serve examples/person.toml` and
/// against the Rust example, each on its own fresh database: the same
/// answers, step by step.
/// `lightapi serve examples/<file>` on `file_url` and the Rust example
/// `example` on `rust_url` answer `sequence` alike, step by step: the two
/// servers, still running.
pub(super) fn answers_as_the_rust_example(
    (file, example_name): (&str, &str),
    (file_url, rust_url): (&str, &str),
    sequence: fn(std::net::SocketAddr) -> Vec<Value>,
) -> (ExampleProcess, ExampleProcess) {
    let served = serve(&example(file), file_url);
    let from_file = sequence(served.addr());
    let mut cmd = ExampleProcess::command(example_name);
    cmd.env("LIGHTAPI_DATABASE_URL", rust_url);
    let rust = ExampleProcess::spawn(cmd);
    let from_rust = sequence(rust.addr());
    assert_eq!(from_file.len(), from_rust.len());
    for (step, (a, b)) in from_file.iter().zip(&from_rust).enumerate() {
        assert_eq!(a, b, "step {step}: {file} answered differently");
    }
    (served, rust)
}

fn same_as_the_rust_example(file_url: &str, rust_url: &str) {
    let (served, rust) = answers_as_the_rust_example(
        ("person.toml", "person"),
        (file_url, rust_url),
        person_sequence,
    );
    let doc = Client::with_token(served.addr(), &token("alice", false))
        .get("/openapi.json")
        .json();
    let rust_doc = Client::with_token(rust.addr(), &token("alice", false))
        .get("/openapi.json")
        .json();
    assert_eq!(doc["info"]["title"], json!("People"));
    assert_eq!(doc, rust_doc, "the same OpenAPI document");
}

/// Three tests, `$sqlite`, `$postgres` and `$mariadb`, each calling
/// `$compare(file_url, rust_url)` with two fresh databases of its kind
/// (SQLite files in a directory named `$dir`).
macro_rules! on_each_database {
    ($dir:literal, $compare:path, $sqlite:ident, $postgres:ident, $mariadb:ident) => {
        #[test]
        fn $sqlite() {
            let dir = crate::support::TempDir::new($dir);
            $compare(&dir.sqlite_url("file.db"), &dir.sqlite_url("rust.db"));
        }

        #[cfg(feature = "postgres")]
        #[test]
        fn $postgres() {
            use crate::support::live_db::{FreshDb, Server};
            let (Some(a), Some(b)) = (
                FreshDb::new(Server::Postgres),
                FreshDb::new(Server::Postgres),
            ) else {
                return;
            };
            $compare(&a.url, &b.url);
        }

        #[cfg(feature = "mysql")]
        #[test]
        fn $mariadb() {
            use crate::support::live_db::{FreshDb, Server};
            let (Some(a), Some(b)) = (FreshDb::new(Server::Mysql), FreshDb::new(Server::Mysql))
            else {
                return;
            };
            $compare(&a.url, &b.url);
        }
    };
}
pub(crate) use on_each_database;

on_each_database!(
    "cli-person",
    same_as_the_rust_example,
    person_toml_answers_as_the_rust_example_on_sqlite,
    person_toml_answers_as_the_rust_example_on_postgres,
    person_toml_answers_as_the_rust_example_on_mariadb
);

#[test]
fn check_passes_a_matching_table_and_prints_the_fix_for_a_missing_column() {
    let dir = TempDir::new("cli-check");
    let url = dir.sqlite_url("check.db");
    let person = example("person.toml");
    let file = person.to_str().unwrap();
    let good = run(&["check", file], &[("LIGHTAPI_DATABASE_URL", &url)], None);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
    // No table yet: the statements that would create it.
    let shown = text(&good.stdout);
    assert!(shown.contains("table `person`: missing"), "{shown}");
    assert!(
        shown.contains(r#"CREATE TABLE IF NOT EXISTS "person" ("id" INTEGER PRIMARY KEY"#),
        "{shown}"
    );
    // A table without the `email` column.
    let db = lightapi::__private::backend::connect(
        &url,
        &lightapi::__private::backend::PoolOptions::default(),
    )
    .unwrap();
    lightapi::backend::write_with(&*db, |c| {
        c.execute(
            "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             email_verified INTEGER NOT NULL DEFAULT 0)",
            &[],
        )
    })
    .unwrap();
    db.close();
    let bad = run(&["check", file], &[("LIGHTAPI_DATABASE_URL", &url)], None);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));
    let shown = text(&bad.stdout);
    assert!(shown.contains("has no column `email`"), "{shown}");
    assert!(
        shown.contains(r#"ALTER TABLE "person" ADD COLUMN "email" TEXT NOT NULL"#),
        "{shown}"
    );
    // `check` changed nothing: the column is still missing.
    let again = run(&["check", file], &[("LIGHTAPI_DATABASE_URL", &url)], None);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn a_database_that_cannot_be_reached_is_a_runtime_failure() {
    let out = run(
        &["check", example("person.toml").to_str().unwrap()],
        &[(
            "LIGHTAPI_DATABASE_URL",
            "sqlite:///no/such/directory/at/all/x.db",
        )],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn an_unknown_key_is_a_file_error_with_its_place_and_the_keys_allowed() {
    let dir = TempDir::new("cli-unknown");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[server]\nport = 8000\n\n[models.person.fields]\nname = { type = \"text\", uniqe = true }\n",
    )
    .unwrap();
    let shown_file = file.to_str().unwrap();
    for command in ["check", "serve", "routes", "openapi"] {
        let out = run(&[command, shown_file], &[], None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("{shown_file}:5:")),
            "{command}: {err}"
        );
        assert!(err.contains("unknown field `uniqe`"), "{err}");
        assert!(
            err.contains("`unique`") && err.contains("`max_length`"),
            "{err}"
        );
    }
    let missing = run(&["check", "/no/such/lightapi.toml"], &[], None);
    assert_eq!(missing.status.code(), Some(2));
    let usage = run(&["serve", "a.toml", "b.toml"], &[], None);
    assert_eq!(usage.status.code(), Some(2));
    for command in ["serve", "check", "routes", "openapi", "hash-password"] {
        let help = run(&[command, "--help"], &[], None);
        assert_eq!(help.status.code(), Some(0));
        assert!(text(&help.stdout).contains(&format!("lightapi {command}")));
    }
}

#[test]
fn a_literal_secret_is_refused_and_an_environment_default_is_used() {
    let dir = TempDir::new("cli-secret");
    let literal = dir.path().join("literal.toml");
    std::fs::write(
        &literal,
        format!(
            "[jwt]\nsecret = \"{}\"\n\n[models.person.fields]\nname = {{ type = \"text\" }}\n",
            secret()
        ),
    )
    .unwrap();
    let out = run(&["routes", literal.to_str().unwrap()], &[], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("literal.toml:2:10: jwt.secret:"), "{err}");
    assert!(err.contains("refused"), "{err}");

    // `${VAR:-default}`: unset variables take their defaults, so the
    // database is the file named and tokens are checked with the secret.
    let db = dir.path().join("from-default.db");
    let file = dir.path().join("env.toml");
    std::fs::write(
        &file,
        format!(
            "[database]\nurl = \"${{LIGHTAPI_CLI_TEST_UNSET_URL:-sqlite://{}}}\"\n\n\
             [jwt]\nsecret = \"${{LIGHTAPI_CLI_TEST_UNSET_SECRET:-{}}}\"\n\n\
             [models.note]\nrate_limit = {{ post = \"1/1m\" }}\n\n\
             [models.note.fields]\ntext = {{ type = \"text\" }}\n",
            db.display(),
            secret()
        ),
    )
    .unwrap();
    let mut cmd = ExampleProcess::command_for(bin());
    cmd.arg("serve")
        .arg(&file)
        .env_remove("LIGHTAPI_JWT_SECRET");
    let served = ExampleProcess::spawn(cmd);
    let mut c = Client::with_token(served.addr(), &token("alice", false));
    let r = c.post("/note", &json!({"text": "hello"}));
    assert_eq!(
        r.status, 201,
        "the default secret verifies the token: {r:?}"
    );
    assert!(db.exists(), "the default database URL is used");
    let r = c.post("/note", &json!({"text": "again"}));
    assert_eq!(r.status, 429, "the model's own rate limit: {r:?}");
    let forged = Client::with_token(
        served.addr(),
        &crate::support::sign_subject(
            "alice",
            std::time::Duration::from_secs(600),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            serde_json::Map::new(),
            b"another-secret-0123456789abcdef-xyz",
        ),
    )
    .get("/note");
    assert_eq!(forged.status, 401);
    // A variable that is not set and has no default is a file error.
    let unset = dir.path().join("unset.toml");
    std::fs::write(
        &unset,
        "[database]\nurl = \"${LIGHTAPI_CLI_TEST_UNSET_URL}\"\n",
    )
    .unwrap();
    let out = run(&["check", unset.to_str().unwrap()], &[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("LIGHTAPI_CLI_TEST_UNSET_URL is not set"));
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_hashed_password_logs_in_through_the_files_login() {
    let hashed = run(&["hash-password"], &[], Some("wonderland\n"));
    assert_eq!(hashed.status.code(), Some(0), "{}", text(&hashed.stderr));
    let phc = text(&hashed.stdout).trim().to_owned();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    let empty = run(&["hash-password"], &[], Some("\n"));
    assert_eq!(empty.status.code(), Some(2));

    let dir = TempDir::new("cli-login");
    let file = dir.path().join("login.toml");
    std::fs::write(
        &file,
        "[login]\ntable = \"account\"\nusername_column = \"username\"\n\
         password_column = \"password\"\nclaims = { is_admin = \"admin\" }\n\n\
         [models.account]\naccess = { default = \"admin\" }\n\n\
         [models.account.fields]\nusername = { type = \"text\", unique = true }\n\
         password = { type = \"text\", write_only = true }\n\
         admin = { type = \"boolean\", default = false }\n",
    )
    .unwrap();
    let served = serve(&file, &dir.sqlite_url("login.db"));
    let addr = served.addr();
    let mut root = Client::with_token(addr, &token("root", true));
    let r = root.post(
        "/account",
        &json!({"username": "alice", "password": phc, "admin": true}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.json().get("password").is_none(), "write-only: {r:?}");
    let mut anyone = Client::new(addr);
    let login = |c: &mut Client, user: &str, password: &str| {
        c.post(
            "/auth/login",
            &json!({"username": user, "password": password}),
        )
    };
    let r = login(&mut anyone, "alice", "wonderland");
    assert_eq!(r.status, 200, "{r:?}");
    let issued = r.json()["token"].as_str().unwrap().to_owned();
    let claims = claims_of(&issued);
    assert_eq!(claims["sub"], json!("alice"));
    assert_eq!(claims["is_admin"], json!(true));
    let listed = Client::with_token(addr, &issued).get("/account");
    assert_eq!(
        listed.status, 200,
        "the admin claim opens an admin route: {listed:?}"
    );
    assert_eq!(login(&mut anyone, "alice", "wonderlant").status, 401);
    assert_eq!(login(&mut anyone, "nobody", "wonderland").status, 401);
}

#[test]
fn routes_lists_access_and_openapi_prints_the_document() {
    let shop = example("shop.toml");
    let out = run(&["routes", shop.to_str().unwrap()], &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    let has = |method: &str, path: &str, access: &str| {
        lines.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words == [method, path, access]
        })
    };
    assert!(has("GET", "/category", "public"), "{lines}");
    assert!(has("DELETE", "/category/{id}", "admin"), "{lines}");
    assert!(has("POST", "/product", "authenticated"), "{lines}");
    assert!(
        has("GET", "/category/{id}/product", "authenticated"),
        "{lines}"
    );
    assert!(has("POST", "/auth/login", "public"), "{lines}");
    assert!(has("GET", "/healthz", "public"), "{lines}");

    let out = run(
        &["openapi", example("person.toml").to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["info"]["title"], json!("People"));
    assert_eq!(doc["info"]["version"], json!("1.0.0"));
    assert_eq!(doc["info"]["license"]["identifier"], json!("MIT"));
    assert!(doc["paths"]["/person/{id}"]["patch"].is_object(), "{doc}");
}

/// `init --from-database` on a database with tables the file can serve
/// (one keyed by an integer `id`, one by a text `code`) and one it cannot
/// (a key of two columns): the starter file names the last as skipped,
/// `check` finds the others matching, and `serve` serves them.
fn init_writes_a_file_that_checks_and_serves(url: &str, tables: &[&str]) {
    let db = lightapi::__private::backend::connect(
        url,
        &lightapi::__private::backend::PoolOptions::default(),
    )
    .unwrap();
    for sql in tables {
        let sql = (*sql).to_owned();
        lightapi::backend::write_with(&*db, move |c| c.execute(&sql, &[])).unwrap();
    }
    db.close();
    let dir = TempDir::new("cli-init");
    let file = dir.path().join("lightapi.toml");
    let shown = file.to_str().unwrap();
    let out = run(&["init", "--from-database", url, shown], &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("skipped table `tag`: table `tag` has a primary key of 2 columns"),
        "{}",
        text(&out.stderr)
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("name = { type = \"text\""), "{written}");
    assert!(
        written.contains("age = { type = \"integer\", nullable = true }"),
        "{written}"
    );
    assert!(
        written.contains("active = { type = \"boolean\", default = false }"),
        "{written}"
    );
    let check = run(&["check", shown], &[], None);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{written}\n{}",
        text(&check.stderr)
    );
    for table in ["person", "country"] {
        assert!(
            text(&check.stdout).contains(&format!("table `{table}`: matches")),
            "{}",
            text(&check.stdout)
        );
    }
    assert!(
        written.contains("[models.country]\nprimary_key = \"code\""),
        "{written}"
    );
    let again = run(&["init", "--from-database", url, shown], &[], None);
    assert_eq!(again.status.code(), Some(2), "never overwrites");

    let mut cmd = ExampleProcess::command_for(bin());
    cmd.arg("serve")
        .arg(&file)
        .env_remove("LIGHTAPI_DATABASE_URL");
    let served = ExampleProcess::spawn(cmd);
    let mut c = Client::with_token(served.addr(), &token("alice", false));
    let r = c.post("/person", &json!({"name": "Ann", "active": true}));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json()["age"], Value::Null);
    let r = c.post("/country", &json!({"code": "de", "name": "Germany"}));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("location"), Some("/country/de"));
    let r = c.get("/country/de");
    assert_eq!(r.json(), json!({"code": "de", "name": "Germany"}), "{r:?}");
}

#[test]
fn init_from_a_sqlite_database() {
    let dir = TempDir::new("cli-init-db");
    init_writes_a_file_that_checks_and_serves(
        &dir.sqlite_url("app.db"),
        &[
            "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, \
             active BOOLEAN NOT NULL DEFAULT 0)",
            "CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE tag (a TEXT, b TEXT, PRIMARY KEY (a, b))",
        ],
    );
}

#[cfg(feature = "postgres")]
#[test]
fn init_from_a_postgres_database() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(fresh) = FreshDb::new(Server::Postgres) else {
        return;
    };
    init_writes_a_file_that_checks_and_serves(
        &fresh.url,
        &[
            "CREATE TABLE person (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
             name TEXT NOT NULL, age INTEGER, active BOOLEAN NOT NULL DEFAULT false, \
             born DATE, seen TIMESTAMPTZ)",
            "CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE tag (a TEXT, b TEXT, PRIMARY KEY (a, b))",
        ],
    );
}

#[cfg(feature = "mysql")]
#[test]
fn init_from_a_mariadb_database() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(fresh) = FreshDb::new(Server::Mysql) else {
        return;
    };
    init_writes_a_file_that_checks_and_serves(
        &fresh.url,
        &[
            "CREATE TABLE person (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
             name VARCHAR(100) NOT NULL, age INT NULL, active BOOLEAN NOT NULL DEFAULT 0, \
             born DATE NULL)",
            "CREATE TABLE country (code VARCHAR(2) PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE tag (a VARCHAR(20), b VARCHAR(20), PRIMARY KEY (a, b))",
        ],
    );
}

#[test]
fn serve_exits_1_when_it_cannot_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = TempDir::new("cli-bind");
    let url = dir.sqlite_url("bind.db");
    let out = run(
        &["serve", example("person.toml").to_str().unwrap()],
        &[
            ("LIGHTAPI_HOST", "127.0.0.1"),
            ("LIGHTAPI_PORT", &port),
            ("LIGHTAPI_DATABASE_URL", &url),
            ("LIGHTAPI_JWT_SECRET", secret()),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&port), "{}", text(&out.stderr));
    let bad_env = run(
        &["routes", example("person.toml").to_str().unwrap()],
        &[("LIGHTAPI_PORT", "http")],
        None,
    );
    assert_eq!(
        bad_env.status.code(),
        Some(2),
        "a bad LIGHTAPI_* value is a usage error"
    );
    assert!(text(&bad_env.stderr).contains("LIGHTAPI_PORT"));
}
