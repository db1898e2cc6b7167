//! Backend-agnostic CRUD suite over real HTTP (SPEC §3, §5).
//!
//! Every case is a function taking a [`TestDb`], which hands out a fresh
//! database URL and a table-name prefix per case, so cases can run in
//! parallel against one shared server (PostgreSQL, MariaDB) or against a
//! file each (SQLite). A case starts its own `LightApi` on `127.0.0.1:0`,
//! talks to it with the raw client of [`super::http`], and stops it.
//!
//! To run the whole suite against a backend, a test file declares
//! `mod support;`, implements [`TestDb`] and invokes the macro once:
//!
//! ```ignore
//! mod support;
//! use support::http_crud_suite::{TestDatabase, TestDb};
//! struct Postgres;
//! impl TestDb for Postgres {
//!     fn database(&self, case: &str) -> TestDatabase {
//!         // one schema-less database shared by every case: unique table prefix
//!         TestDatabase::new(std::env::var("PG_URL").unwrap(), support::crud_suite::unique("t") + "_", || {})
//!     }
//! }
//! http_crud_tests!(Postgres);
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use lightapi::auth::jwt::{sign_subject, unix_now};
use lightapi::backend::{read_with, Value};
use lightapi::model::FieldType;
use lightapi::{
    Access, ApiError, Config, Endpoint, Field, FieldError, HandlerResult, LightApi, LogLevel,
    Method, Model, Request, ServerHandle,
};
use serde_json::{json, Value as Json};

use super::http::{Client, Resp};

/// Expands to one `#[test]` per case of this suite, each calling the case
/// with the [`TestDb`] built by `$db` (an expression evaluated per test).
/// The test file must declare `mod support;` at its root.
#[macro_export]
macro_rules! http_crud_tests {
    ($db:expr) => {
        $crate::http_crud_tests!(@cases $db;
            post_creates_row_with_id_defaults_location_and_etag,
            list_returns_results_with_pagination,
            get_returns_the_row_with_its_etag,
            put_replaces_the_whole_row,
            patch_changes_only_the_fields_sent,
            delete_answers_204_without_body_then_404,
            options_answers_204_with_allow_on_both_routes,
            head_mirrors_get_without_a_body,
            trailing_slashes_are_served_on_both_routes,
            unknown_paths_are_404,
            ids_that_are_not_positive_integers_are_404,
            missing_rows_are_404_for_every_verb,
            methods_not_offered_are_405_with_allow,
            bodies_that_are_not_json_objects_are_400,
            non_json_content_types_are_415,
            validation_lists_every_bad_field,
            unique_violation_is_409_naming_the_field,
            foreign_key_violation_is_409,
            if_match_mismatch_is_412_and_writes_nothing,
            require_if_match_answers_428_without_it,
            if_none_match_answers_304,
            versioned_model_rejects_a_stale_version,
            integers_round_trip,
            floats_round_trip,
            texts_round_trip_literally,
            booleans_datetimes_and_json_round_trip,
            nullable_fields_and_defaults,
            max_length_counts_characters,
            bad_input_is_a_clean_4xx_and_writes_nothing,
            read_only_resource_offers_only_get,
            excluded_delete_is_405,
            custom_endpoint_overrides_post_and_list_stays_generated,
            custom_endpoint_runs_its_own_sql,
            endpoint_without_methods_is_refused_at_start,
            routes_require_a_token,
            public_get_with_authenticated_writes,
            scoped_rows_are_invisible_to_other_users,
            rows_scoped_by_a_missing_claim_are_forbidden,
            concurrent_creates_each_land_exactly_once,
            concurrent_if_match_patches_have_one_winner,
        );
    };
    (@cases $db:expr; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            let db = $db;
            $crate::support::http_crud_suite::$case(&db);
        }
    )*};
}

/// Hands out a database for one test case.
pub trait TestDb {
    /// A database (URL plus table prefix) no other running case uses.
    /// `case` names the case, for file or schema names.
    fn database(&self, case: &str) -> TestDatabase;
}

/// A database URL for one case, a table-name prefix, and what to do when the
/// case ends (delete the file, drop the tables…).
pub struct TestDatabase {
    /// The `LIGHTAPI_DATABASE_URL` to use.
    pub url: String,
    prefix: String,
    cleanup: Option<Box<dyn FnOnce() + Send>>,
}

impl TestDatabase {
    /// `prefix` is prepended to every table name (keep it short: MySQL and
    /// PostgreSQL limit identifiers to 63 bytes).
    pub fn new(
        url: impl Into<String>,
        prefix: impl Into<String>,
        cleanup: impl FnOnce() + Send + 'static,
    ) -> TestDatabase {
        TestDatabase {
            url: url.into(),
            prefix: prefix.into(),
            cleanup: Some(Box::new(cleanup)),
        }
    }

    /// The table name for `base` in this database.
    pub fn table(&self, base: &str) -> String {
        format!("{}{base}", self.prefix)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(f) = self.cleanup.take() {
            f();
        }
    }
}

/// The HS256 secret every suite server verifies with.
pub const SECRET: &[u8] = b"lightapi-http-crud-suite-secret-0123456789";

/// A token for `sub`, valid for an hour.
pub fn token(sub: &str) -> String {
    sign_subject(
        sub,
        Duration::from_secs(3600),
        unix_now(),
        serde_json::Map::new(),
        SECRET,
    )
}

/// A running server on its own database; stopped (then the database cleaned
/// up) on drop.
pub struct Server {
    handle: Option<ServerHandle>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database.
    pub db: TestDatabase,
}

/// The suite's configuration for `db`: port 0, the suite's secret, no logs.
pub fn config(db: &TestDatabase) -> Config {
    Config {
        port: 0,
        database_url: db.url.clone(),
        jwt_secrets: vec![SECRET.to_vec()],
        log_level: LogLevel::Off,
        workers: 4,
        reactors: 1,
        ..Config::default()
    }
}

impl Server {
    /// Starts `build(app)` on `db` with the suite's secret and no logging.
    pub fn start(db: TestDatabase, build: impl FnOnce(LightApi) -> LightApi) -> Server {
        let handle = build(LightApi::with_config(config(&db)))
            .start()
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        Server {
            addr: handle.local_addr(),
            handle: Some(handle),
            db,
        }
    }

    /// A client with a token for `alice`.
    pub fn client(&self) -> Client {
        self.client_as("alice")
    }

    /// A client with a token for `sub`.
    pub fn client_as(&self, sub: &str) -> Client {
        Client::with_token(self.addr, &token(sub))
    }

    /// A client without a token.
    pub fn anon(&self) -> Client {
        Client::new(self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }
}

// ---------------------------------------------------------------- helpers

/// Asserts the status, showing the response when it differs.
#[track_caller]
pub fn expect(r: &Resp, status: u16) {
    assert_eq!(r.status, status, "unexpected response: {r:?}");
}

/// Asserts a successful JSON response with `status` and returns its body.
#[track_caller]
pub fn expect_json(r: &Resp, status: u16) -> Json {
    expect(r, status);
    let ct = r.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "content-type {ct:?}: {r:?}"
    );
    r.json()
}

/// Asserts an RFC 9457 problem document with `status` and returns it: the
/// content type, `status`, `title`, a `detail` string, and no SQL, driver
/// or constraint text.
#[track_caller]
pub fn problem(r: &Resp, status: u16) -> Json {
    expect(r, status);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{r:?}"
    );
    let doc = r.json();
    assert_eq!(doc["status"], json!(status), "{doc}");
    assert!(
        doc["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{doc}"
    );
    assert!(
        doc["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{doc}"
    );
    let text = r.text();
    let lower = text.to_ascii_lowercase();
    for leak in ["SELECT", "INSERT", "UPDATE ", "DELETE FROM"] {
        assert!(!text.contains(leak), "SQL text {leak:?} in {text}");
    }
    for leak in [
        "sqlite",
        "constraint",
        "postgres",
        "mysql",
        "mariadb",
        "syntax error",
        "panicked",
    ] {
        assert!(!lower.contains(leak), "driver text {leak:?} in {text}");
    }
    doc
}

/// The `field`s of a 422's `errors`, sorted; each entry must also carry a
/// non-empty `message`.
#[track_caller]
pub fn error_fields(doc: &Json) -> Vec<String> {
    let errors = doc["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {doc}"));
    let mut fields: Vec<String> = errors
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{doc}"
            );
            e["field"].as_str().unwrap().to_owned()
        })
        .collect();
    fields.sort();
    fields
}

/// Asserts a 422 listing exactly `fields`.
#[track_caller]
pub fn expect_invalid(r: &Resp, fields: &[&str]) {
    let doc = problem(r, 422);
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(error_fields(&doc), want, "{doc}");
}

/// The number of rows the collection at `path` reports.
#[track_caller]
pub fn count(c: &mut Client, path: &str) -> u64 {
    let r = c.get(&format!("{path}?page_size=1"));
    expect_json(&r, 200)["count"].as_u64().unwrap()
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

const COLLECTION_ALLOW: &[&str] = &["GET", "HEAD", "OPTIONS", "POST"];
const ITEM_ALLOW: &[&str] = &["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"];

/// The seed's Person, plus a nullable integer.
pub fn person(db: &TestDatabase) -> Model {
    Model::new(&db.table("person"))
        .field("name", Field::text().max_length(40))
        .field("email", Field::text().unique())
        .field("email_verified", Field::boolean().default(false))
        .field("age", Field::integer().nullable())
}

fn person_server(tdb: &dyn TestDb, case: &str) -> Server {
    let db = tdb.database(case);
    let m = person(&db);
    Server::start(db, |app| app.register("/person", m))
}

/// Creates a person and returns the stored row.
#[track_caller]
fn create_person(c: &mut Client, name: &str, email: &str) -> Json {
    let r = c.post("/person", &json!({"name": name, "email": email}));
    expect_json(&r, 201)
}

fn id_of(row: &Json) -> i64 {
    row["id"].as_i64().unwrap()
}

fn item(base: &str, row: &Json) -> String {
    format!("{base}/{}", id_of(row))
}

/// A strong entity tag: quoted, not weak.
#[track_caller]
fn strong_etag(r: &Resp) -> String {
    let tag = r.header("etag").unwrap_or_else(|| panic!("no ETag: {r:?}"));
    assert!(
        tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"'),
        "{tag}"
    );
    tag.to_owned()
}

// ---------------------------------------------------------- SPEC §3 table 1

pub fn post_creates_row_with_id_defaults_location_and_etag(tdb: &dyn TestDb) {
    let s = person_server(tdb, "post");
    let mut c = s.client();
    let r = c.post(
        "/person",
        &json!({"name": "Ada", "email": "ada@example.com"}),
    );
    let row = expect_json(&r, 201);
    let id = id_of(&row);
    assert!(id > 0);
    assert_eq!(
        row,
        json!({"id": id, "name": "Ada", "email": "ada@example.com",
               "email_verified": false, "age": null})
    );
    assert_eq!(r.header("location"), Some(format!("/person/{id}").as_str()));
    let tag = strong_etag(&r);

    let g = c.get(&format!("/person/{id}"));
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag);

    let r2 = c.post(
        "/person",
        &json!({"name": "Bob", "email": "bob@example.com", "email_verified": true, "age": 41}),
    );
    let row2 = expect_json(&r2, 201);
    assert_ne!(id_of(&row2), id);
    assert_eq!(row2["email_verified"], json!(true));
    assert_eq!(row2["age"], json!(41));
    assert_ne!(strong_etag(&r2), tag);
    assert_eq!(count(&mut c, "/person"), 2);
}

pub fn list_returns_results_with_pagination(tdb: &dyn TestDb) {
    let s = person_server(tdb, "list");
    let mut c = s.client();
    let empty = expect_json(&c.get("/person"), 200);
    assert_eq!(empty["results"], json!([]));
    assert_eq!(empty["count"], json!(0));
    assert_eq!(empty["next"], Json::Null);
    assert_eq!(empty["previous"], Json::Null);

    let rows: Vec<Json> = (0..5)
        .map(|i| create_person(&mut c, &format!("p{i}"), &format!("p{i}@x")))
        .collect();
    let all = expect_json(&c.get("/person"), 200);
    assert_eq!(all["results"], json!(rows));
    assert_eq!(all["count"], json!(5));
    assert_eq!(all["pages"], json!(1));
    assert_eq!(all["next"], Json::Null);
    assert_eq!(all["previous"], Json::Null);

    let p1 = expect_json(&c.get("/person?page_size=2"), 200);
    assert_eq!(p1["results"], json!(rows[..2]));
    assert_eq!(p1["count"], json!(5));
    assert_eq!(p1["pages"], json!(3));
    assert_eq!(p1["previous"], Json::Null);
    let next = p1["next"].as_str().unwrap().to_owned();
    let p2 = expect_json(&c.get(&next), 200);
    assert_eq!(p2["results"], json!(rows[2..4]));
    assert!(p2["previous"].is_string(), "{p2}");
    let p3 = expect_json(&c.get(p2["next"].as_str().unwrap()), 200);
    assert_eq!(p3["results"], json!(rows[4..]));
    assert_eq!(p3["next"], Json::Null);
    let back = expect_json(&c.get(p3["previous"].as_str().unwrap()), 200);
    assert_eq!(back["results"], p2["results"]);

    let beyond = expect_json(&c.get("/person?page=9&page_size=2"), 200);
    assert_eq!(beyond["results"], json!([]));
    assert_eq!(beyond["count"], json!(5));

    for bad in [
        "/person?page=0",
        "/person?page=-1",
        "/person?page_size=0",
        "/person?page_size=abc",
        "/person?page_size=1000000",
        "/person?nope=1",
        "/person?page=1;DROP%20TABLE%20person",
    ] {
        problem(&c.get(bad), 400);
    }
    assert_eq!(count(&mut c, "/person"), 5);
}

pub fn get_returns_the_row_with_its_etag(tdb: &dyn TestDb) {
    let s = person_server(tdb, "get");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let b = create_person(&mut c, "Bob", "bob@x");
    let ga = c.get(&item("/person", &a));
    assert_eq!(expect_json(&ga, 200), a);
    let gb = c.get(&item("/person", &b));
    assert_eq!(expect_json(&gb, 200), b);
    assert_ne!(strong_etag(&ga), strong_etag(&gb));
    // The tag is stable while the row is.
    assert_eq!(strong_etag(&c.get(&item("/person", &a))), strong_etag(&ga));
}

pub fn put_replaces_the_whole_row(tdb: &dyn TestDb) {
    let s = person_server(tdb, "put");
    let mut c = s.client();
    let r = c.post(
        "/person",
        &json!({"name": "Ada", "email": "ada@x", "email_verified": true, "age": 36}),
    );
    let row = expect_json(&r, 201);
    let path = item("/person", &row);
    let tag = strong_etag(&r);

    let p = c.put(&path, &json!({"name": "Ada L.", "email": "ada@lovelace"}));
    let replaced = expect_json(&p, 200);
    // Absent optional fields are reset to their default, or null.
    assert_eq!(
        replaced,
        json!({"id": id_of(&row), "name": "Ada L.", "email": "ada@lovelace",
               "email_verified": false, "age": null})
    );
    let tag2 = strong_etag(&p);
    assert_ne!(tag2, tag);
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), replaced);
    assert_eq!(strong_etag(&g), tag2);

    // Every required field must be present; nothing is written otherwise.
    expect_invalid(&c.put(&path, &json!({"name": "Only name"})), &["email"]);
    expect_invalid(&c.put(&path, &json!({})), &["email", "name"]);
    expect_invalid(
        &c.put(&path, &json!({"name": "x", "email": "y", "id": 99})),
        &["id"],
    );
    assert_eq!(expect_json(&c.get(&path), 200), replaced);
}

pub fn patch_changes_only_the_fields_sent(tdb: &dyn TestDb) {
    let s = person_server(tdb, "patch");
    let mut c = s.client();
    let r = c.post(
        "/person",
        &json!({"name": "Ada", "email": "ada@x", "age": 36}),
    );
    let row = expect_json(&r, 201);
    let path = item("/person", &row);

    let p = c.patch(&path, &json!({"age": 37}));
    let mut want = row.clone();
    want["age"] = json!(37);
    assert_eq!(expect_json(&p, 200), want);
    assert_ne!(strong_etag(&p), strong_etag(&r));

    // Explicit null clears a nullable field.
    let p = c.patch(&path, &json!({"age": null}));
    want["age"] = Json::Null;
    assert_eq!(expect_json(&p, 200), want);

    // Null on a non-null field is a 422 and writes nothing.
    expect_invalid(&c.patch(&path, &json!({"name": null})), &["name"]);
    expect_invalid(
        &c.patch(
            &path,
            &json!({"name": null, "email_verified": null, "age": 1}),
        ),
        &["email_verified", "name"],
    );
    assert_eq!(expect_json(&c.get(&path), 200), want);

    // An empty patch changes nothing.
    let p = c.patch(&path, &json!({}));
    assert_eq!(expect_json(&p, 200), want);

    let p = c.patch(&path, &json!({"email_verified": true, "name": "Ada L."}));
    want["email_verified"] = json!(true);
    want["name"] = json!("Ada L.");
    assert_eq!(expect_json(&p, 200), want);
    assert_eq!(expect_json(&c.get(&path), 200), want);
}

pub fn delete_answers_204_without_body_then_404(tdb: &dyn TestDb) {
    let s = person_server(tdb, "delete");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let b = create_person(&mut c, "Bob", "bob@x");
    let d = c.delete(&item("/person", &a));
    expect(&d, 204);
    assert!(!d.has_header("content-length"), "{d:?}");
    assert!(!d.has_header("content-type"), "{d:?}");
    // The same keep-alive connection carries on: nothing followed the 204.
    problem(&c.get(&item("/person", &a)), 404);
    problem(&c.delete(&item("/person", &a)), 404);
    let list = expect_json(&c.get("/person"), 200);
    assert_eq!(list["results"], json!([b]));
    // The id is not reused.
    let again = create_person(&mut c, "Ada", "ada@x");
    assert_ne!(id_of(&again), id_of(&a));
}

pub fn options_answers_204_with_allow_on_both_routes(tdb: &dyn TestDb) {
    let s = person_server(tdb, "options");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    for (path, allow) in [
        ("/person".to_owned(), COLLECTION_ALLOW),
        (item("/person", &a), ITEM_ALLOW),
        ("/person/424242".to_owned(), ITEM_ALLOW),
    ] {
        let r = c.send("OPTIONS", &path, &[], None);
        expect(&r, 204);
        assert_eq!(r.allow(), sorted(allow), "{path}");
        assert!(r.body.is_empty());
    }
}

pub fn head_mirrors_get_without_a_body(tdb: &dyn TestDb) {
    let s = person_server(tdb, "head");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    create_person(&mut c, "Bob", "bob@x");
    for path in ["/person".to_owned(), item("/person", &a)] {
        let g = c.get(&path);
        expect(&g, 200);
        let h = c.send("HEAD", &path, &[], None);
        expect(&h, 200);
        assert!(h.body.is_empty());
        assert_eq!(
            h.header("content-length"),
            Some(g.body.len().to_string().as_str()),
            "{path}"
        );
        assert_eq!(h.header("content-type"), g.header("content-type"));
        assert_eq!(h.header("etag"), g.header("etag"));
    }
    // A missing row: GET's status and headers, still no body.
    let g = c.get("/person/424242");
    let h = c.send("HEAD", "/person/424242", &[], None);
    expect(&h, 404);
    assert!(h.body.is_empty());
    assert_eq!(
        h.header("content-length"),
        Some(g.body.len().to_string().as_str())
    );
    // The connection is still in sync.
    expect_json(&c.get("/person"), 200);
}

pub fn trailing_slashes_are_served_on_both_routes(tdb: &dyn TestDb) {
    let s = person_server(tdb, "slash");
    let mut c = s.client();
    let r = c.post("/person/", &json!({"name": "Ada", "email": "ada@x"}));
    let row = expect_json(&r, 201);
    let id = id_of(&row);
    assert_eq!(r.header("location"), Some(format!("/person/{id}").as_str()));
    let list = expect_json(&c.get("/person/"), 200);
    assert_eq!(list["results"], json!([row]));
    let slash = format!("/person/{id}/");
    assert_eq!(expect_json(&c.get(&slash), 200), row);
    expect(&c.send("HEAD", &slash, &[], None), 200);
    expect(&c.send("HEAD", "/person/", &[], None), 200);
    let o = c.send("OPTIONS", "/person/", &[], None);
    expect(&o, 204);
    assert_eq!(o.allow(), sorted(COLLECTION_ALLOW));
    let o = c.send("OPTIONS", &slash, &[], None);
    expect(&o, 204);
    assert_eq!(o.allow(), sorted(ITEM_ALLOW));
    let p = c.put(&slash, &json!({"name": "Ada L.", "email": "ada@x"}));
    assert_eq!(expect_json(&p, 200)["name"], json!("Ada L."));
    let p = c.patch(&slash, &json!({"age": 3}));
    assert_eq!(expect_json(&p, 200)["age"], json!(3));
    expect(&c.delete(&slash), 204);
    problem(&c.get(&slash), 404);
}

pub fn unknown_paths_are_404(tdb: &dyn TestDb) {
    let s = person_server(tdb, "unknown");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let mut anon = s.anon();
    let extra = format!("{}/extra", item("/person", &a));
    for path in [
        "/",
        "/nope",
        "/personx",
        "/person2",
        "/PERSON",
        extra.as_str(),
        "/person/1/2/3",
        "/person//",
    ] {
        problem(&c.get(path), 404);
        problem(&c.post(path, &json!({})), 404);
        problem(&anon.get(path), 404);
    }
}

const BAD_IDS: &[&str] = &[
    "-1",
    "0",
    "1e3",
    "99999999999999999999",
    "abc",
    "01",
    "1.0",
    "+1",
];

pub fn ids_that_are_not_positive_integers_are_404(tdb: &dyn TestDb) {
    let s = person_server(tdb, "badids");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    assert_eq!(id_of(&a).to_string(), "1", "the first id is 1: {a}");
    let body = json!({"name": "Changed", "email": "changed@x"});
    for id in BAD_IDS {
        let path = format!("/person/{id}");
        problem(&c.get(&path), 404);
        problem(&c.put(&path, &body), 404);
        problem(&c.patch(&path, &json!({"name": "Changed"})), 404);
        problem(&c.delete(&path), 404);
        expect(&c.send("HEAD", &path, &[], None), 404);
    }
    assert_eq!(expect_json(&c.get(&item("/person", &a)), 200), a);
    assert_eq!(count(&mut c, "/person"), 1);
}

pub fn missing_rows_are_404_for_every_verb(tdb: &dyn TestDb) {
    let s = person_server(tdb, "missing");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    for id in ["424242", "9223372036854775807"] {
        let path = format!("/person/{id}");
        problem(&c.get(&path), 404);
        problem(
            &c.put(&path, &json!({"name": "New", "email": "new@x"})),
            404,
        );
        problem(&c.patch(&path, &json!({"name": "New"})), 404);
        problem(&c.delete(&path), 404);
    }
    // PUT does not create.
    let list = expect_json(&c.get("/person"), 200);
    assert_eq!(list["results"], json!([a]));
}

pub fn methods_not_offered_are_405_with_allow(tdb: &dyn TestDb) {
    let s = person_server(tdb, "405");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    for m in ["PUT", "PATCH", "DELETE"] {
        let r = c.send(
            m,
            "/person",
            &[("Content-Type", "application/json")],
            Some(b"{}"),
        );
        problem(&r, 405);
        assert_eq!(r.allow(), sorted(COLLECTION_ALLOW), "{m}");
    }
    let r = c.post(&item("/person", &a), &json!({"name": "x", "email": "y"}));
    problem(&r, 405);
    assert_eq!(r.allow(), sorted(ITEM_ALLOW));
    assert_eq!(count(&mut c, "/person"), 1);
}

pub fn bodies_that_are_not_json_objects_are_400(tdb: &dyn TestDb) {
    let s = person_server(tdb, "400");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let bodies: &[&[u8]] = &[
        b"",
        b"{",
        b"not json",
        b"{\"name\": }",
        b"{\"name\": \"a\",}",
        b"{'name': 'a'}",
        b"{\"name\": \"a\"} trailing",
        b"[]",
        b"[{\"name\": \"a\", \"email\": \"b\"}]",
        b"\"a string\"",
        b"null",
        b"42",
        b"true",
        b"\xff\xfe{}",
        b"{\"name\": \"\xff\"}",
    ];
    for body in bodies {
        for (m, p) in [
            ("POST", "/person"),
            ("PUT", path.as_str()),
            ("PATCH", path.as_str()),
        ] {
            let r = c.raw_json(m, p, body);
            problem(&r, 400);
        }
    }
    // No body at all.
    for (m, p) in [
        ("POST", "/person"),
        ("PUT", path.as_str()),
        ("PATCH", path.as_str()),
    ] {
        problem(&c.send(m, p, &[], None), 400);
    }
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
}

pub fn non_json_content_types_are_415(tdb: &dyn TestDb) {
    let s = person_server(tdb, "415");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let body = br#"{"name": "Eve", "email": "eve@x"}"#;
    for ct in [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "text/json",
    ] {
        for (m, p) in [
            ("POST", "/person"),
            ("PUT", path.as_str()),
            ("PATCH", path.as_str()),
        ] {
            let r = c.send(m, p, &[("Content-Type", ct)], Some(body));
            problem(&r, 415);
        }
    }
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
    // No Content-Type at all is read as JSON.
    let r = c.send(
        "POST",
        "/person",
        &[],
        Some(br#"{"name": "Nat", "email": "nat@x"}"#),
    );
    expect_json(&r, 201);
    // JSON with parameters, or a +json type, is fine.
    let r = c.send(
        "POST",
        "/person",
        &[("Content-Type", "application/json; charset=utf-8")],
        Some(br#"{"name": "Eve", "email": "eve@x"}"#),
    );
    expect_json(&r, 201);
    let r = c.send(
        "PATCH",
        &path,
        &[("Content-Type", "application/merge-patch+json")],
        Some(br#"{"age": 5}"#),
    );
    assert_eq!(expect_json(&r, 200)["age"], json!(5));
}

pub fn validation_lists_every_bad_field(tdb: &dyn TestDb) {
    let s = person_server(tdb, "422");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let everything_wrong = json!({
        "name": "x".repeat(41),
        "email": 5,
        "email_verified": "yes",
        "age": 1.5,
        "extra": 1,
        "id": 7,
    });
    let all = ["age", "email", "email_verified", "extra", "id", "name"];
    expect_invalid(&c.post("/person", &everything_wrong), &all);
    expect_invalid(&c.put(&path, &everything_wrong), &all);
    expect_invalid(&c.patch(&path, &everything_wrong), &all);

    expect_invalid(&c.post("/person", &json!({})), &["email", "name"]);
    expect_invalid(&c.post("/person", &json!({"name": "Eve"})), &["email"]);
    expect_invalid(
        &c.post(
            "/person",
            &json!({"name": ["Eve"], "email": {"a": 1}, "age": "30"}),
        ),
        &["age", "email", "name"],
    );
    expect_invalid(
        &c.post(
            "/person",
            &json!({"name": "Eve", "email": "eve@x", "nickname": "E", "x\"; DROP TABLE person; --": 1}),
        ),
        &["nickname", "x\"; DROP TABLE person; --"],
    );
    expect_invalid(
        &c.patch(&path, &json!({"age": "old", "zzz": 1})),
        &["age", "zzz"],
    );
    // The missing field is reported as required.
    let doc = problem(&c.post("/person", &json!({"name": "Eve"})), 422);
    assert_eq!(doc["errors"][0]["field"], json!("email"));
    assert!(doc["detail"].as_str().unwrap().contains("email"), "{doc}");

    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
}

pub fn unique_violation_is_409_naming_the_field(tdb: &dyn TestDb) {
    let s = person_server(tdb, "409u");
    let mut c = s.client();
    create_person(&mut c, "Ada", "ada@x");
    let b = create_person(&mut c, "Bob", "bob@x");
    let path = item("/person", &b);
    let doc = problem(
        &c.post("/person", &json!({"name": "Other Ada", "email": "ada@x"})),
        409,
    );
    assert_eq!(doc["field"], json!("email"), "{doc}");
    let doc = problem(&c.patch(&path, &json!({"email": "ada@x"})), 409);
    assert_eq!(doc["field"], json!("email"), "{doc}");
    let doc = problem(
        &c.put(&path, &json!({"name": "Bob", "email": "ada@x"})),
        409,
    );
    assert_eq!(doc["field"], json!("email"), "{doc}");
    assert_eq!(count(&mut c, "/person"), 2);
    assert_eq!(expect_json(&c.get(&path), 200), b);
    // The server carries on writing after a conflict.
    create_person(&mut c, "Cy", "cy@x");
}

pub fn foreign_key_violation_is_409(tdb: &dyn TestDb) {
    let db = tdb.database("409fk");
    let parent_table = db.table("parent");
    let parent = Model::new(&parent_table).field("name", Field::text());
    let child = Model::new(&db.table("child"))
        .field("parent_id", Field::integer().references(&parent_table))
        .field("label", Field::text());
    let s = Server::start(db, |app| {
        app.register("/parent", parent).register("/child", child)
    });
    let mut c = s.client();
    let doc = problem(
        &c.post("/child", &json!({"parent_id": 424242, "label": "orphan"})),
        409,
    );
    assert_eq!(doc["field"], json!("parent_id"), "{doc}");
    assert_eq!(count(&mut c, "/child"), 0);

    let p = expect_json(&c.post("/parent", &json!({"name": "P"})), 201);
    let k = expect_json(
        &c.post("/child", &json!({"parent_id": id_of(&p), "label": "kid"})),
        201,
    );
    let kid = item("/child", &k);
    problem(&c.patch(&kid, &json!({"parent_id": 424242})), 409);
    problem(
        &c.put(&kid, &json!({"parent_id": 424242, "label": "kid"})),
        409,
    );
    assert_eq!(expect_json(&c.get(&kid), 200), k);
    // A referenced row cannot be deleted.
    problem(&c.delete(&item("/parent", &p)), 409);
    assert_eq!(expect_json(&c.get(&item("/parent", &p)), 200), p);
    expect(&c.delete(&kid), 204);
    expect(&c.delete(&item("/parent", &p)), 204);
}

pub fn if_match_mismatch_is_412_and_writes_nothing(tdb: &dyn TestDb) {
    let s = person_server(tdb, "412");
    let mut c = s.client();
    let r = c.post("/person", &json!({"name": "Ada", "email": "ada@x"}));
    let row = expect_json(&r, 201);
    let tag0 = strong_etag(&r);
    let path = item("/person", &row);
    let ct = ("Content-Type", "application/json");
    let weak = format!("W/{tag0}");
    for wrong in ["\"deadbeef\"", "\"\"", weak.as_str(), "\"x\", \"y\""] {
        let h = [ct, ("If-Match", wrong)];
        problem(
            &c.send("PATCH", &path, &h, Some(br#"{"name": "Eve"}"#)),
            412,
        );
        problem(
            &c.send(
                "PUT",
                &path,
                &h,
                Some(br#"{"name": "Eve", "email": "eve@x"}"#),
            ),
            412,
        );
        problem(&c.send("DELETE", &path, &[("If-Match", wrong)], None), 412);
    }
    // Nothing was written: the row and its tag are unchanged.
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag0);

    let p = c.send(
        "PATCH",
        &path,
        &[ct, ("If-Match", tag0.as_str())],
        Some(br#"{"name": "Ada L."}"#),
    );
    assert_eq!(expect_json(&p, 200)["name"], json!("Ada L."));
    let tag1 = strong_etag(&p);
    assert_ne!(tag1, tag0);
    // The old tag is now stale.
    problem(
        &c.send(
            "PATCH",
            &path,
            &[ct, ("If-Match", tag0.as_str())],
            Some(br#"{"name": "Lost update"}"#),
        ),
        412,
    );
    // A list with the current tag matches.
    let list = format!("\"nope\", {tag1}");
    let p = c.send(
        "PUT",
        &path,
        &[ct, ("If-Match", list.as_str())],
        Some(br#"{"name": "Ada", "email": "ada@x"}"#),
    );
    let tag2 = strong_etag(&p);
    assert_eq!(expect_json(&p, 200)["name"], json!("Ada"));
    problem(
        &c.send("DELETE", &path, &[("If-Match", tag1.as_str())], None),
        412,
    );
    expect(
        &c.send("DELETE", &path, &[("If-Match", tag2.as_str())], None),
        204,
    );
    problem(&c.get(&path), 404);
    // `*` matches any existing row, and no missing one.
    let b = create_person(&mut c, "Bob", "bob@x");
    expect(
        &c.send("DELETE", &item("/person", &b), &[("If-Match", "*")], None),
        204,
    );
    problem(
        &c.send("DELETE", &item("/person", &b), &[("If-Match", "*")], None),
        404,
    );
}

pub fn require_if_match_answers_428_without_it(tdb: &dyn TestDb) {
    let db = tdb.database("428");
    let m = person(&db).require_if_match();
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let r = c.post("/person", &json!({"name": "Ada", "email": "ada@x"}));
    let row = expect_json(&r, 201);
    let tag = strong_etag(&r);
    let path = item("/person", &row);
    problem(&c.patch(&path, &json!({"name": "Eve"})), 428);
    problem(
        &c.put(&path, &json!({"name": "Eve", "email": "eve@x"})),
        428,
    );
    problem(&c.delete(&path), 428);
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag);
    let ct = ("Content-Type", "application/json");
    let p = c.send(
        "PATCH",
        &path,
        &[ct, ("If-Match", tag.as_str())],
        Some(br#"{"name": "Eve"}"#),
    );
    let tag = strong_etag(&p);
    assert_eq!(expect_json(&p, 200)["name"], json!("Eve"));
    problem(
        &c.send("DELETE", &path, &[("If-Match", "\"stale\"")], None),
        412,
    );
    expect(
        &c.send("DELETE", &path, &[("If-Match", tag.as_str())], None),
        204,
    );
}

pub fn if_none_match_answers_304(tdb: &dyn TestDb) {
    let s = person_server(tdb, "304");
    let mut c = s.client();
    let r = c.post("/person", &json!({"name": "Ada", "email": "ada@x"}));
    let row = expect_json(&r, 201);
    let tag = strong_etag(&r);
    let path = item("/person", &row);
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    for inm in [tag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let n = c.send("GET", &path, &[("If-None-Match", inm)], None);
        expect(&n, 304);
        assert!(n.body.is_empty());
        assert_eq!(n.header("etag"), Some(tag.as_str()));
        assert!(!n.has_header("content-length"), "{n:?}");
        let h = c.send("HEAD", &path, &[("If-None-Match", inm)], None);
        expect(&h, 304);
    }
    // The connection is in sync after the bodiless answers.
    let g = c.send("GET", &path, &[("If-None-Match", "\"other\"")], None);
    assert_eq!(expect_json(&g, 200), row);
    // After a change the old tag no longer matches.
    expect_json(&c.patch(&path, &json!({"age": 1})), 200);
    let g = c.send("GET", &path, &[("If-None-Match", tag.as_str())], None);
    assert_eq!(expect_json(&g, 200)["age"], json!(1));
}

pub fn versioned_model_rejects_a_stale_version(tdb: &dyn TestDb) {
    let db = tdb.database("version");
    let m = person(&db).versioned();
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let row = create_person(&mut c, "Ada", "ada@x");
    assert_eq!(row["version"], json!(1), "{row}");
    let path = item("/person", &row);
    expect_invalid(
        &c.post(
            "/person",
            &json!({"name": "Eve", "email": "eve@x", "version": 5}),
        ),
        &["version"],
    );
    let p = c.patch(&path, &json!({"name": "Ada L.", "version": 1}));
    let v2 = expect_json(&p, 200);
    assert_eq!(v2["version"], json!(2));
    let doc = problem(
        &c.patch(&path, &json!({"name": "Stale", "version": 1})),
        409,
    );
    assert_eq!(doc["field"], json!("version"), "{doc}");
    let doc = problem(
        &c.put(
            &path,
            &json!({"name": "Stale", "email": "stale@x", "version": 1}),
        ),
        409,
    );
    assert_eq!(doc["field"], json!("version"), "{doc}");
    assert_eq!(expect_json(&c.get(&path), 200), v2);
    let p = c.put(
        &path,
        &json!({"name": "Ada", "email": "ada@x", "version": 2}),
    );
    assert_eq!(expect_json(&p, 200)["version"], json!(3));
    // Without a version the write is unconditional and still bumps it.
    let p = c.patch(&path, &json!({"age": 9}));
    assert_eq!(expect_json(&p, 200)["version"], json!(4));
    expect_invalid(&c.patch(&path, &json!({"version": "4"})), &["version"]);
}

// ------------------------------------------------------------------ types

fn single_field_server(tdb: &dyn TestDb, case: &str, field: Field) -> Server {
    let db = tdb.database(case);
    let m = Model::new(&db.table("v")).field("v", field);
    Server::start(db, |app| app.register("/v", m))
}

/// POSTs `{"v": value}`, checks the 201 against a GET of the row, and
/// returns the stored `v`.
#[track_caller]
fn round_trip(c: &mut Client, value: &Json) -> Json {
    let r = c.post("/v", &json!({ "v": value }));
    let created = expect_json(&r, 201);
    let g = c.get(&item("/v", &created));
    assert_eq!(expect_json(&g, 200), created);
    assert_eq!(g.header("etag"), r.header("etag"));
    created["v"].clone()
}

pub fn integers_round_trip(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "ints", Field::integer());
    let mut c = s.client();
    for v in [i64::MIN, i64::MAX, 0, -1, 1, 1 << 53, (1 << 53) + 1] {
        assert_eq!(round_trip(&mut c, &json!(v)), json!(v), "{v}");
    }
    // Raw text, so no client-side float conversion can hide a problem.
    let r = c.raw_json("POST", "/v", br#"{"v": -9223372036854775808}"#);
    assert_eq!(expect_json(&r, 201)["v"].as_i64(), Some(i64::MIN));
    let r = c.raw_json("POST", "/v", br#"{"v": 9223372036854775807}"#);
    assert_eq!(expect_json(&r, 201)["v"].as_i64(), Some(i64::MAX));
    let r = c.raw_json("POST", "/v", br#"{"v": 2.0}"#);
    assert_eq!(expect_json(&r, 201)["v"].as_i64(), Some(2));
    let before = count(&mut c, "/v");
    for bad in [
        &b"{\"v\": 9223372036854775808}"[..],
        b"{\"v\": -9223372036854775809}",
        b"{\"v\": 99999999999999999999}",
        b"{\"v\": 1e400}",
        b"{\"v\": -1e400}",
        b"{\"v\": 1e300}",
        b"{\"v\": 1.5}",
        b"{\"v\": \"1\"}",
        b"{\"v\": true}",
        b"{\"v\": null}",
        b"{\"v\": [1]}",
    ] {
        expect_invalid(&c.raw_json("POST", "/v", bad), &["v"]);
    }
    assert_eq!(count(&mut c, "/v"), before);
}

pub fn floats_round_trip(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "floats", Field::float());
    let mut c = s.client();
    for v in [
        0.1,
        -1e308,
        1.5,
        0.0,
        -0.5,
        1e-300,
        f64::MAX,
        f64::MIN_POSITIVE,
        123_456.789,
    ] {
        let got = round_trip(&mut c, &json!(v));
        assert_eq!(got.as_f64(), Some(v), "{v}: {got}");
    }
    // An integer is a valid float.
    assert_eq!(round_trip(&mut c, &json!(3)).as_f64(), Some(3.0));
    let before = count(&mut c, "/v");
    for bad in [
        &b"{\"v\": 1e400}"[..],
        b"{\"v\": -1e400}",
        b"{\"v\": \"1.5\"}",
        b"{\"v\": \"NaN\"}",
        b"{\"v\": false}",
        b"{\"v\": null}",
    ] {
        expect_invalid(&c.raw_json("POST", "/v", bad), &["v"]);
    }
    for bad in [&b"{\"v\": NaN}"[..], b"{\"v\": Infinity}", b"{\"v\": .5}"] {
        problem(&c.raw_json("POST", "/v", bad), 400);
    }
    assert_eq!(count(&mut c, "/v"), before);
}

/// Strings that look like SQL, stored as plain data.
pub const SQL_LOOKING: &[&str] = &[
    "'); DROP TABLE person;--",
    "Robert'); DROP TABLE v; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "1; SELECT * FROM sqlite_master",
    "%_\\%",
    "$1 ? :1 @P1",
    "`v`",
    "[v]",
    "/* comment */ --",
    "\\'; --",
];

pub fn texts_round_trip_literally(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "texts", Field::text());
    let mut c = s.client();
    let big = "lorem ipsum é 😀 ".repeat(100 * 1024 / 20);
    assert!(big.len() >= 100 * 1024);
    let mut cases: Vec<String> = vec![
        String::new(),
        " ".into(),
        "héllo wörld — 日本語 — Привет — مرحبا".into(),
        "😀👍🏽👨‍👩‍👧‍👦🇫🇷".into(),
        "a\u{0}b".into(),
        "\u{0}".into(),
        "\u{0}\u{0}trailing\u{0}".into(),
        "tab\tnewline\ncr\r quote\" backslash\\ slash/".into(),
        "\u{1}\u{1f}\u{7f}\u{80}\u{ffff}\u{10ffff}".into(),
        "null".into(),
        big,
    ];
    cases.extend(SQL_LOOKING.iter().map(|s| (*s).to_owned()));
    for v in &cases {
        let got = round_trip(&mut c, &json!(v));
        assert_eq!(got.as_str(), Some(v.as_str()), "{:?}", v.get(..40));
    }
    // NUL written as a JSON escape by hand.
    let r = c.raw_json("POST", "/v", br#"{"v": "x\u0000y\u0000"}"#);
    let row = expect_json(&r, 201);
    assert_eq!(row["v"], json!("x\u{0}y\u{0}"));
    let g = c.get(&item("/v", &row));
    assert_eq!(expect_json(&g, 200)["v"], json!("x\u{0}y\u{0}"));
    // Surrogate pairs as escapes; a lone surrogate is not valid JSON text.
    let r = c.raw_json("POST", "/v", br#"{"v": "\ud83d\ude00"}"#);
    assert_eq!(expect_json(&r, 201)["v"], json!("😀"));
    problem(&c.raw_json("POST", "/v", br#"{"v": "\ud83d"}"#), 400);
    // The table survived every SQL-looking string, and holds each row once.
    let n = count(&mut c, "/v");
    assert_eq!(n, cases.len() as u64 + 2);
    let all = expect_json(&c.get("/v?page_size=1000"), 200);
    let stored: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["v"].as_str().unwrap())
        .collect();
    for sql in SQL_LOOKING {
        assert_eq!(stored.iter().filter(|s| *s == sql).count(), 1, "{sql}");
    }
    expect_invalid(&c.post("/v", &json!({"v": 1})), &["v"]);
    expect_invalid(&c.post("/v", &json!({"v": null})), &["v"]);
    expect_invalid(&c.post("/v", &json!({"v": ["a"]})), &["v"]);
}

pub fn booleans_datetimes_and_json_round_trip(tdb: &dyn TestDb) {
    let db = tdb.database("bdj");
    let bools = Model::new(&db.table("b")).field("v", Field::boolean());
    let dates = Model::new(&db.table("d")).field("v", Field::datetime());
    let docs = Model::new(&db.table("j")).field("v", Field::json());
    let s = Server::start(db, |app| {
        app.register("/b", bools)
            .register("/d", dates)
            .register("/j", docs)
    });
    let mut c = s.client();
    let mut at = |path: &str, v: &Json| -> Json {
        let r = c.post(path, &json!({ "v": v }));
        let created = expect_json(&r, 201);
        let g = c.get(&item(path, &created));
        assert_eq!(expect_json(&g, 200), created);
        created["v"].clone()
    };
    assert_eq!(at("/b", &json!(true)), json!(true));
    assert_eq!(at("/b", &json!(false)), json!(false));

    for (input, utc) in [
        (
            "2024-02-29T12:00:00.123+05:30",
            "2024-02-29T06:30:00.123000Z",
        ),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000000Z"),
        ("1999-12-31T23:59:59-01:00", "2000-01-01T00:59:59.000000Z"),
        (
            "2021-06-15T08:09:10.654321+00:00",
            "2021-06-15T08:09:10.654321Z",
        ),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
    ] {
        assert_eq!(at("/d", &json!(input)), json!(utc), "{input}");
    }

    for doc in [
        json!({"a": {"b": [1, 2, {"c": null}]}, "s": "😀", "t": true}),
        json!([1, "x", true, null, 1.5, {"k": []}]),
        json!([[[[[]]]]]),
        json!({}),
        json!([]),
        json!("a string"),
        json!(42),
        json!(-7.25),
        json!(false),
        json!({"sql": "'); DROP TABLE j;--", "nul": "\u{0}"}),
    ] {
        assert_eq!(at("/j", &doc), doc, "{doc}");
    }
    // A non-null JSON field rejects null, like every other type.
    let mut c = s.client();
    expect_invalid(&c.post("/j", &json!({"v": null})), &["v"]);
    for bad in [json!("yes"), json!(1), json!(null), json!([true])] {
        expect_invalid(&c.post("/b", &json!({ "v": bad })), &["v"]);
    }
    for bad in [
        json!("2024-02-30T00:00:00Z"),
        json!("2024-01-01"),
        json!("2024-01-01 00:00:00"),
        json!("yesterday"),
        json!(1_700_000_000),
        json!("2024-01-01T25:00:00Z"),
    ] {
        expect_invalid(&c.post("/d", &json!({ "v": bad })), &["v"]);
    }
    assert_eq!(count(&mut c, "/b"), 2);
    assert_eq!(count(&mut c, "/d"), 5);
}

pub fn nullable_fields_and_defaults(tdb: &dyn TestDb) {
    let db = tdb.database("defaults");
    let m = Model::new(&db.table("dflt"))
        .field("n_int", Field::integer().nullable())
        .field("n_float", Field::float().nullable())
        .field("n_text", Field::text().nullable())
        .field("n_bool", Field::boolean().nullable())
        .field("n_dt", Field::datetime().nullable())
        .field("n_json", Field::json().nullable())
        .field("d_int", Field::integer().default(7))
        .field("d_float", Field::float().default(0.5))
        .field("d_text", Field::text().default("dflt"))
        .field("d_bool", Field::boolean().default(true))
        .field(
            "d_dt",
            Field::datetime().default("2020-01-01T00:00:00+02:00"),
        )
        .field("d_json", Field::json().default(json!({"k": [1]})))
        .field("d_null", Field::text().nullable().default("x"));
    let s = Server::start(db, |app| app.register("/dflt", m));
    let mut c = s.client();
    let row = expect_json(&c.post("/dflt", &json!({})), 201);
    let id = id_of(&row);
    let defaults = json!({
        "id": id,
        "n_int": null, "n_float": null, "n_text": null, "n_bool": null,
        "n_dt": null, "n_json": null,
        "d_int": 7, "d_float": 0.5, "d_text": "dflt", "d_bool": true,
        "d_dt": "2019-12-31T22:00:00.000000Z", "d_json": {"k": [1]}, "d_null": "x",
    });
    assert_eq!(row, defaults);
    assert_eq!(expect_json(&c.get(&item("/dflt", &row)), 200), defaults);

    let full = json!({
        "n_int": 1, "n_float": 2.5, "n_text": "t", "n_bool": false,
        "n_dt": "2000-01-01T00:00:00.000000Z", "n_json": [1],
        "d_int": -7, "d_float": -0.5, "d_text": "", "d_bool": false,
        "d_dt": "2001-01-01T00:00:00.000000Z", "d_json": null, "d_null": null,
    });
    // d_json is non-null with a default: explicit null is rejected.
    expect_invalid(&c.post("/dflt", &full), &["d_json"]);
    let mut full = full;
    full["d_json"] = json!({"other": true});
    let r = c.post("/dflt", &full);
    let got = expect_json(&r, 201);
    let mut want = full.clone();
    want["id"] = got["id"].clone();
    assert_eq!(got, want);
    let path = item("/dflt", &got);

    // PATCH null clears each nullable field; PUT {} resets to defaults.
    let cleared = json!({"n_int": null, "n_float": null, "n_text": null,
                         "n_bool": null, "n_dt": null, "n_json": null});
    let p = expect_json(&c.patch(&path, &cleared), 200);
    for k in cleared.as_object().unwrap().keys() {
        assert_eq!(p[k], Json::Null, "{k}");
    }
    assert_eq!(p["d_int"], json!(-7));
    let p = expect_json(&c.put(&path, &json!({})), 200);
    let mut want = defaults.clone();
    want["id"] = got["id"].clone();
    assert_eq!(p, want);
    for k in ["d_int", "d_float", "d_text", "d_bool", "d_dt", "d_json"] {
        expect_invalid(&c.patch(&path, &json!({ k: null })), &[k]);
    }
    assert_eq!(expect_json(&c.get(&path), 200), want);
}

pub fn max_length_counts_characters(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "maxlen", Field::text().max_length(5));
    let mut c = s.client();
    for ok in ["", "abcde", "ééééé", "😀😀😀😀😀", "日本語日本"] {
        assert_eq!(round_trip(&mut c, &json!(ok)), json!(ok));
    }
    let row = expect_json(&c.post("/v", &json!({"v": "abc"})), 201);
    let path = item("/v", &row);
    for bad in ["abcdef", "éééééé", "😀😀😀😀😀😀", "      "] {
        expect_invalid(&c.post("/v", &json!({ "v": bad })), &["v"]);
        expect_invalid(&c.put(&path, &json!({ "v": bad })), &["v"]);
        expect_invalid(&c.patch(&path, &json!({ "v": bad })), &["v"]);
    }
    assert_eq!(count(&mut c, "/v"), 6);
    assert_eq!(expect_json(&c.get(&path), 200), row);
}

pub fn bad_input_is_a_clean_4xx_and_writes_nothing(tdb: &dyn TestDb) {
    let s = person_server(tdb, "badinput");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let deep_array = "[".repeat(10_000);
    let deep_object = format!("{{\"name\": {}", "{\"a\":".repeat(10_000));
    let deep_valid = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let in_field = format!(
        "{{\"name\": \"n\", \"email\": \"e\", \"age\": {}1{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let cases: Vec<(Vec<u8>, u16, &[&str])> = vec![
        (b"{\"name\": \"a\", \"email\": \"b\"".to_vec(), 400, &[]),
        (b"{\"name\": 'a'}".to_vec(), 400, &[]),
        (b"{\"name\": \"a\" \"email\": \"b\"}".to_vec(), 400, &[]),
        (b"{\"name\": \"unterminated}".to_vec(), 400, &[]),
        (b"{\"name\": \"bad escape \\q\"}".to_vec(), 400, &[]),
        (b"{\"name\": \"ctrl \x01 char\"}".to_vec(), 400, &[]),
        (
            b"{\"name\": \"a\", \"email\": \"b\", \"age\": 01}".to_vec(),
            400,
            &[],
        ),
        (b"{\"name\": 1, \"email\": \"b\"}".to_vec(), 422, &["name"]),
        (
            br#"{"name": "a", "email": "b", "email_verified": "true"}"#.to_vec(),
            422,
            &["email_verified"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 99999999999999999999}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 1e400}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": 5, "email": "b", "age": -1e400}"#.to_vec(),
            422,
            &["age", "name"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 9223372036854775808}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 1.0000001}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": {"$gt": 1}}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": ["b", "c"]}"#.to_vec(),
            422,
            &["email"],
        ),
    ];
    for (body, status, fields) in &cases {
        for (m, p) in [
            ("POST", "/person"),
            ("PUT", path.as_str()),
            ("PATCH", path.as_str()),
        ] {
            let r = c.raw_json(m, p, body);
            if *status == 422 {
                expect_invalid(&r, fields);
            } else {
                problem(&r, *status);
            }
        }
    }
    // Pathological nesting: a 4xx, never a crash or a stack overflow.
    for body in [&deep_array, &deep_object, &deep_valid, &in_field] {
        for (m, p) in [("POST", "/person"), ("PATCH", path.as_str())] {
            let r = c.raw_json(m, p, body.as_bytes());
            assert!((400..500).contains(&r.status), "{m}: {r:?}");
            problem(&r, r.status);
        }
    }
    // Nothing was written, and the server still serves.
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
    let mut fresh = s.client();
    create_person(&mut fresh, "Bob", "bob@x");
    assert_eq!(count(&mut fresh, "/person"), 2);
}

// ---------------------------------------------------------- verbs, custom

pub fn read_only_resource_offers_only_get(tdb: &dyn TestDb) {
    let db = tdb.database("readonly");
    let m = Model::new(&db.table("catalog")).field("title", Field::text());
    // Seed one row through the library, since the API cannot write.
    {
        let backend = lightapi::backend::connect(&db.url, &Default::default()).unwrap();
        lightapi::crud::ops::ensure_table(&*backend, &m).unwrap();
        let row = lightapi::crud::validate::validate_create(&m, &json!({"title": "Book"})).unwrap();
        lightapi::crud::ops::create(&*backend, &m, row, None).unwrap();
        backend.close();
    }
    let resource = m.into_resource().methods(&[Method::Get]);
    let s = Server::start(db, |app| app.register("/catalog", resource));
    let mut c = s.client();
    let list = expect_json(&c.get("/catalog"), 200);
    assert_eq!(list["results"], json!([{"id": 1, "title": "Book"}]));
    expect_json(&c.get("/catalog/1"), 200);
    expect(&c.send("HEAD", "/catalog/1", &[], None), 200);
    let read_only = sorted(&["GET", "HEAD", "OPTIONS"]);
    let r = c.post("/catalog", &json!({"title": "New"}));
    problem(&r, 405);
    assert_eq!(r.allow(), read_only);
    for (m, body) in [
        ("PUT", Some(&br#"{"title": "X"}"#[..])),
        ("PATCH", Some(&br#"{"title": "X"}"#[..])),
        ("DELETE", None),
    ] {
        let h: &[(&str, &str)] = if body.is_some() {
            &[("Content-Type", "application/json")]
        } else {
            &[]
        };
        let r = c.send(m, "/catalog/1", h, body);
        problem(&r, 405);
        assert_eq!(r.allow(), read_only, "{m}");
    }
    for path in ["/catalog", "/catalog/1"] {
        let o = c.send("OPTIONS", path, &[], None);
        expect(&o, 204);
        assert_eq!(o.allow(), read_only, "{path}");
    }
    let list2 = expect_json(&c.get("/catalog"), 200);
    assert_eq!(list2, list);
}

pub fn excluded_delete_is_405(tdb: &dyn TestDb) {
    let db = tdb.database("nodelete");
    let m = person(&db).into_resource().exclude(&[Method::Delete]);
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let r = c.delete(&path);
    problem(&r, 405);
    let no_delete = sorted(&["GET", "HEAD", "OPTIONS", "PATCH", "PUT"]);
    assert_eq!(r.allow(), no_delete);
    let o = c.send("OPTIONS", &path, &[], None);
    assert_eq!(o.allow(), no_delete);
    let o = c.send("OPTIONS", "/person", &[], None);
    assert_eq!(o.allow(), sorted(COLLECTION_ALLOW));
    assert_eq!(expect_json(&c.get(&path), 200), a);
    expect_json(&c.patch(&path, &json!({"age": 2})), 200);
}

/// Overrides `POST` on a model: rejects blank titles with a 422, stamps
/// `created_by` from the token, then runs the generated create.
struct StampedPost;

impl Endpoint for StampedPost {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Post])
    }

    fn post(&self, req: &Request) -> HandlerResult {
        let mut body = req.json()?;
        let obj = body
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
        if obj
            .get("title")
            .and_then(Json::as_str)
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ApiError::Validation {
                errors: vec![FieldError {
                    field: "title".into(),
                    message: "must not be blank".into(),
                }],
            });
        }
        let sub = req.claims().and_then(|c| c.sub()).unwrap_or("").to_owned();
        obj.insert("created_by".into(), json!(sub));
        let stamped = req.clone().with_body(serde_json::to_vec(&body).unwrap());
        req.crud().unwrap().create(&stamped)
    }
}

/// Counts a model's rows by `created_by` with its own parameterised SQL.
struct CountBy {
    table: String,
}

impl Endpoint for CountBy {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        let db = req.backend().unwrap();
        let d = db.dialect();
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE {} = {}",
            d.quote(&self.table),
            d.quote("created_by"),
            d.placeholder(1)
        );
        let who = Value::Text(req.query_param("by").unwrap_or("").to_owned());
        let rows = read_with(&**db, |c| c.query(&sql, &[who], &[FieldType::Integer]))?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => Ok(json!({ "count": n }).into()),
            other => Err(ApiError::internal(format!("unexpected count {other:?}"))),
        }
    }
}

fn post_model(db: &TestDatabase) -> Model {
    Model::new(&db.table("post"))
        .field("title", Field::text())
        .field("created_by", Field::text())
}

pub fn custom_endpoint_overrides_post_and_list_stays_generated(tdb: &dyn TestDb) {
    let db = tdb.database("custompost");
    let m = post_model(&db).into_resource().endpoint(StampedPost);
    let s = Server::start(db, |app| app.register("/post", m));
    let mut alice = s.client_as("alice");
    let r = alice.post("/post", &json!({"title": "Hello", "created_by": "mallory"}));
    let row = expect_json(&r, 201);
    assert_eq!(row["created_by"], json!("alice"));
    assert_eq!(row["title"], json!("Hello"));
    assert_eq!(r.header("location"), Some(item("/post", &row).as_str()));
    strong_etag(&r);
    expect_invalid(&alice.post("/post", &json!({"title": "  "})), &["title"]);
    // The generated validation still runs behind the override.
    expect_invalid(
        &alice.post("/post", &json!({"title": 5, "extra": true})),
        &["extra", "title"],
    );
    problem(&alice.raw_json("POST", "/post", b"[1]"), 400);
    let mut bob = s.client_as("bob");
    let row_b = expect_json(&bob.post("/post", &json!({"title": "Hi"})), 201);
    assert_eq!(row_b["created_by"], json!("bob"));
    // GET list and GET one stay generated.
    let list = expect_json(&alice.get("/post"), 200);
    assert_eq!(list["results"], json!([row, row_b]));
    assert_eq!(list["count"], json!(2));
    assert_eq!(expect_json(&alice.get(&item("/post", &row)), 200), row);
    let p = alice.patch(&item("/post", &row), &json!({"title": "Edited"}));
    assert_eq!(expect_json(&p, 200)["title"], json!("Edited"));
    let o = alice.send("OPTIONS", "/post", &[], None);
    assert_eq!(o.allow(), sorted(COLLECTION_ALLOW));
    problem(&s.anon().post("/post", &json!({"title": "x"})), 401);
}

pub fn custom_endpoint_runs_its_own_sql(tdb: &dyn TestDb) {
    let db = tdb.database("customsql");
    let table = db.table("post");
    let m = post_model(&db);
    let s = Server::start(db, |app| {
        app.register("/post", m)
            .register("/post_stats", CountBy { table })
    });
    let mut c = s.client();
    for (title, by) in [("a", "alice"), ("b", "alice"), ("c", "bob")] {
        expect_json(
            &c.post("/post", &json!({"title": title, "created_by": by})),
            201,
        );
    }
    let n = |c: &mut Client, by: &str| {
        let r = c.get(&format!("/post_stats?by={by}"));
        expect_json(&r, 200)["count"].as_i64().unwrap()
    };
    assert_eq!(n(&mut c, "alice"), 2);
    assert_eq!(n(&mut c, "bob"), 1);
    assert_eq!(n(&mut c, "nobody"), 0);
    assert_eq!(n(&mut c, "x%27%20OR%20%271%27%3D%271"), 0);
    let o = c.send("OPTIONS", "/post_stats", &[], None);
    assert_eq!(o.allow(), sorted(&["GET", "HEAD", "OPTIONS"]));
    problem(&c.post("/post_stats", &json!({})), 405);
    problem(&s.anon().get("/post_stats?by=alice"), 401);
}

/// An endpoint that forgets to declare its verbs.
struct Undeclared;

impl Endpoint for Undeclared {
    fn post(&self, _req: &Request) -> HandlerResult {
        Err(ApiError::Forbidden)
    }
}

/// An override that would be silently ignored (the generated POST would run
/// instead of the user's checks) is a start-up error naming the fix.
pub fn endpoint_without_methods_is_refused_at_start(tdb: &dyn TestDb) {
    let db = tdb.database("undeclared");
    let m = person(&db).into_resource().endpoint(Undeclared);
    let err = LightApi::with_config(config(&db))
        .register("/person", m)
        .start()
        .map(ServerHandle::stop)
        .unwrap_err();
    assert!(err.to_string().contains("methods"), "{err}");
}

// ------------------------------------------------------------------- auth

pub fn routes_require_a_token(tdb: &dyn TestDb) {
    let s = person_server(tdb, "401");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let other_secret = sign_subject(
        "alice",
        Duration::from_secs(3600),
        unix_now(),
        serde_json::Map::new(),
        b"another-secret-that-is-long-enough-0123456789",
    );
    let expired = sign_subject(
        "alice",
        Duration::from_secs(1),
        unix_now() - 7200,
        serde_json::Map::new(),
        SECRET,
    );
    let body = br#"{"name": "Eve", "email": "eve@x"}"#;
    for (auth, sent) in [
        (None, false),
        (Some("Bearer not.a.token".to_owned()), true),
        (Some(format!("Bearer {other_secret}")), true),
        (Some(format!("Bearer {expired}")), true),
    ] {
        let mut anon = s.anon();
        for (m, p, b) in [
            ("GET", "/person", None),
            ("POST", "/person", Some(&body[..])),
            ("GET", path.as_str(), None),
            ("PUT", path.as_str(), Some(&body[..])),
            ("PATCH", path.as_str(), Some(&body[..])),
            ("DELETE", path.as_str(), None),
            ("HEAD", path.as_str(), None),
        ] {
            let mut h = vec![("Content-Type", "application/json")];
            if let Some(v) = &auth {
                h.push(("Authorization", v.as_str()));
            }
            let r = anon.send(m, p, &h, b);
            if m == "HEAD" {
                expect(&r, 401);
            } else {
                problem(&r, 401);
            }
            let www = r
                .header("www-authenticate")
                .unwrap_or_else(|| panic!("{r:?}"));
            assert!(www.starts_with("Bearer"), "{www}");
            assert_eq!(www.contains("invalid_token"), sent, "{auth:?}: {www}");
        }
    }
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
}

pub fn public_get_with_authenticated_writes(tdb: &dyn TestDb) {
    let db = tdb.database("public");
    let m = person(&db)
        .into_resource()
        .access(Method::Get, Access::Public);
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let mut anon = s.anon();
    problem(
        &anon.post("/person", &json!({"name": "Eve", "email": "eve@x"})),
        401,
    );
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let list = expect_json(&anon.get("/person"), 200);
    assert_eq!(list["results"], json!([a]));
    assert_eq!(expect_json(&anon.get(&path), 200), a);
    expect(&anon.send("HEAD", &path, &[], None), 200);
    problem(&anon.patch(&path, &json!({"name": "Eve"})), 401);
    problem(
        &anon.put(&path, &json!({"name": "Eve", "email": "e@x"})),
        401,
    );
    problem(&anon.delete(&path), 401);
    assert_eq!(expect_json(&anon.get(&path), 200), a);
    expect(&c.delete(&path), 204);
}

pub fn scoped_rows_are_invisible_to_other_users(tdb: &dyn TestDb) {
    let db = tdb.database("scope");
    let m = Model::new(&db.table("note"))
        .field("owner_id", Field::text())
        .field("body", Field::text())
        .scope("owner_id", "sub");
    let s = Server::start(db, |app| app.register("/note", m));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    expect_invalid(
        &alice.post("/note", &json!({"body": "x", "owner_id": "bob"})),
        &["owner_id"],
    );
    let a1 = expect_json(&alice.post("/note", &json!({"body": "a1"})), 201);
    let r = alice.post("/note", &json!({"body": "a2"}));
    let a2 = expect_json(&r, 201);
    let a2_tag = strong_etag(&r);
    let b1 = expect_json(&bob.post("/note", &json!({"body": "b1"})), 201);
    assert_eq!(a1["owner_id"], json!("alice"));
    assert_eq!(b1["owner_id"], json!("bob"));

    let la = expect_json(&alice.get("/note"), 200);
    assert_eq!(la["results"], json!([a1, a2]));
    assert_eq!(la["count"], json!(2));
    let lb = expect_json(&bob.get("/note"), 200);
    assert_eq!(lb["results"], json!([b1]));
    assert_eq!(lb["count"], json!(1));

    let theirs = item("/note", &a2);
    problem(&bob.get(&theirs), 404);
    expect(&bob.send("HEAD", &theirs, &[], None), 404);
    problem(&bob.put(&theirs, &json!({"body": "hijacked"})), 404);
    problem(&bob.patch(&theirs, &json!({"body": "hijacked"})), 404);
    problem(
        &bob.send(
            "PATCH",
            &theirs,
            &[
                ("Content-Type", "application/json"),
                ("If-Match", a2_tag.as_str()),
            ],
            Some(br#"{"body": "hijacked"}"#),
        ),
        404,
    );
    problem(&bob.delete(&theirs), 404);
    problem(
        &bob.send("DELETE", &theirs, &[("If-Match", "*")], None),
        404,
    );
    let g = alice.get(&theirs);
    assert_eq!(expect_json(&g, 200), a2);
    assert_eq!(strong_etag(&g), a2_tag);

    // The owner can change and delete their own rows; the owner never moves.
    let p = alice.patch(&theirs, &json!({"body": "edited"}));
    assert_eq!(expect_json(&p, 200)["owner_id"], json!("alice"));
    expect_invalid(
        &alice.patch(&theirs, &json!({"owner_id": "bob"})),
        &["owner_id"],
    );
    let p = alice.put(&theirs, &json!({"body": "replaced"}));
    assert_eq!(expect_json(&p, 200)["owner_id"], json!("alice"));
    assert_eq!(count(&mut bob, "/note"), 1);
    expect(&alice.delete(&theirs), 204);
    assert_eq!(expect_json(&bob.get(&item("/note", &b1)), 200), b1);
}

pub fn rows_scoped_by_a_missing_claim_are_forbidden(tdb: &dyn TestDb) {
    let db = tdb.database("tenant");
    let m = Model::new(&db.table("doc"))
        .field("title", Field::text())
        .scope("tenant_id", "tenant");
    let s = Server::start(db, |app| app.register("/doc", m));
    let mut extra = serde_json::Map::new();
    extra.insert("tenant".into(), json!("t1"));
    let t1 = sign_subject(
        "carol",
        Duration::from_secs(3600),
        unix_now(),
        extra,
        SECRET,
    );
    let mut carol = Client::with_token(s.addr, &t1);
    let row = expect_json(&carol.post("/doc", &json!({"title": "x"})), 201);
    assert_eq!(row["tenant_id"], json!("t1"));
    // A valid token without the claim: 403, and nothing is shown or written.
    let mut alice = s.client();
    problem(&alice.get("/doc"), 403);
    problem(&alice.get(&item("/doc", &row)), 403);
    problem(&alice.post("/doc", &json!({"title": "y"})), 403);
    problem(
        &alice.patch(&item("/doc", &row), &json!({"title": "y"})),
        403,
    );
    problem(&alice.delete(&item("/doc", &row)), 403);
    let list = expect_json(&carol.get("/doc"), 200);
    assert_eq!(list["results"], json!([row]));
}

// ------------------------------------------------------------ concurrency

pub fn concurrent_creates_each_land_exactly_once(tdb: &dyn TestDb) {
    const THREADS: usize = 16;
    const PER_THREAD: usize = 50;
    let s = person_server(tdb, "concreate");
    let addr = s.addr;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, &token("alice"));
                barrier.wait();
                (0..PER_THREAD)
                    .map(|i| {
                        let email = format!("t{t}-{i}@x");
                        let r = c.post("/person", &json!({"name": "n", "email": email}));
                        let row = expect_json(&r, 201);
                        assert_eq!(row["email"], json!(email));
                        id_of(&row)
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), THREADS * PER_THREAD);
    let mut c = s.client();
    let all = expect_json(&c.get("/person?page_size=1000"), 200);
    assert_eq!(all["count"], json!(THREADS * PER_THREAD));
    let rows = all["results"].as_array().unwrap();
    let listed: BTreeSet<i64> = rows.iter().map(id_of).collect();
    assert_eq!(listed, unique);
    let emails: BTreeSet<&str> = rows.iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), THREADS * PER_THREAD);
}

pub fn concurrent_if_match_patches_have_one_winner(tdb: &dyn TestDb) {
    const THREADS: usize = 16;
    let s = person_server(tdb, "conmatch");
    let mut c = s.client();
    let r = c.post("/person", &json!({"name": "start", "email": "race@x"}));
    let row = expect_json(&r, 201);
    let tag = strong_etag(&r);
    let path = item("/person", &row);
    let addr = s.addr;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (barrier, tag, path) = (Arc::clone(&barrier), tag.clone(), path.clone());
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, &token("alice"));
                // Connect before the race starts.
                expect(&c.send("OPTIONS", &path, &[], None), 204);
                barrier.wait();
                let body = format!("{{\"name\": \"writer {t}\"}}");
                let r = c.send(
                    "PATCH",
                    &path,
                    &[
                        ("Content-Type", "application/json"),
                        ("If-Match", tag.as_str()),
                    ],
                    Some(body.as_bytes()),
                );
                (t, r)
            })
        })
        .collect();
    let results: Vec<(usize, Resp)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.status == 200)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        results.iter().map(|(_, r)| r.status).collect::<Vec<_>>()
    );
    for (_, r) in &results {
        if r.status != 200 {
            problem(r, 412);
        }
    }
    let g = expect_json(&c.get(&path), 200);
    assert_eq!(g["name"], json!(format!("writer {}", winners[0])));
}
