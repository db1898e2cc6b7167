//! Backend-agnostic CRUD suite over real HTTP.
//!
//! Every case is a function taking a [`TestDb`], which hands out a fresh
//! database URL and a table-name prefix per case, so cases can run in
//! parallel against one shared server (PostgreSQL, MariaDB) or against a
//! file each (SQLite). A case starts its own `LightApi` on `127.0.0.1:0`
//! (a [`TestServer`]), talks to it with the shared [`Client`], and stops it.
//! Cases live in `routes` (both route tables), `types` (round trips and
//! hostile input), `constraints` (field constraints, uuid, date and
//! decimal fields), `access` (verbs, custom endpoints, auth, scoping,
//! concurrency, write rules, hooks), `relations` (expand and embed),
//! `bulk` (array creates and upserts), `keys` (primary keys of other
//! names and types), `evolution` (schema changes) and
//! `round_trips` (statements sent per verb); adding one
//! means adding it to [`http_crud_tests!`] too.
//!
//! To run the whole suite against a backend, a test module implements
//! [`TestDb`] and invokes the macro once:
//!
//! ```ignore
//! use crate::support::http_crud_suite::{TestDatabase, TestDb};
//! struct Postgres;
//! impl TestDb for Postgres {
//!     fn database(&self, case: &str) -> TestDatabase {
//!         // One database shared by every case, a unique table prefix each
//!         // (drop the `<prefix>*` tables in the cleanup closure if wanted).
//!         let prefix = crate::support::unique("h") + "_";
//!         TestDatabase::new(std::env::var("LIGHTAPI_TEST_POSTGRES_URL").unwrap(), prefix, || {})
//!     }
//! }
//! http_crud_tests!(Postgres);
//! ```

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use lightapi::auth::unix_now;
use lightapi::backend::{read_with, Value};
use lightapi::config::Config;
use lightapi::model::{FieldType, OnDelete};
use lightapi::prelude::{BackendExt, ClaimsExt, ResourceExt};
use lightapi::{
    Access, ApiError, Endpoint, Field, FieldError, HandlerResult, LightApi, Method, Model, Request,
};
use serde_json::{json, Value as Json};

use super::{sign_subject, Client, Resp, TestServer, SECRET};

mod access;
mod bulk;
mod constraints;
mod evolution;
mod keys;
mod relations;
mod round_trips;
mod routes;
mod types;

pub use access::*;
pub use bulk::*;
pub use constraints::*;
pub use evolution::*;
pub use keys::*;
pub use relations::*;
pub use round_trips::*;
pub use routes::*;
pub use types::*;

/// Expands to one `#[test]` per case of this suite, each calling the case
/// with the [`TestDb`] built by `$db` (an expression evaluated per test).
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
            foreign_keys_name_the_field_and_the_referencing_table,
            on_delete_cascades_or_sets_null,
            if_match_mismatch_is_412_and_writes_nothing,
            require_if_match_answers_428_without_it,
            preconditions_are_answered_before_the_body,
            if_none_match_answers_304,
            versioned_model_rejects_a_stale_version,
            integers_round_trip,
            floats_round_trip,
            texts_round_trip_literally,
            booleans_datetimes_and_json_round_trip,
            nullable_fields_and_defaults,
            server_set_fields_are_set_by_the_server,
            schema_evolution_adds_safe_columns_and_prints_fixes,
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
            trailing_spaces_are_significant,
            rows_scoped_by_a_missing_claim_are_forbidden,
            a_scope_claim_the_database_cannot_hold_names_the_column,
            references_into_a_scoped_model_stay_in_the_callers_scope,
            uniqueness_can_be_declared_per_scope,
            write_rules_limit_changes_to_the_named_caller,
            hooks_run_inside_the_write,
            hooks_on_verbs_not_generated_stop_start_up,
            prefer_return_and_count_are_honoured,
            concurrent_creates_each_land_exactly_once,
            concurrent_if_match_patches_have_one_winner,
            writes_take_the_fewest_round_trips,
            constraints_list_every_violated_field,
            uuid_date_and_decimal_round_trip_exactly,
            decimal_and_date_filters_and_ordering,
            the_database_enforces_the_constraints_itself,
            expand_shows_referenced_rows_on_lists_and_items,
            embed_shows_children_bounded_with_count_and_filters,
            related_rows_respect_scope_and_access,
            relations_take_a_bounded_number_of_statements,
            nested_routes_list_and_create_under_the_parent,
            nested_routes_are_checked_at_start_up,
            bulk_create_is_one_transaction_of_one_insert,
            bulk_create_returns_the_rows_in_order,
            bulk_create_lists_every_bad_item_and_writes_nothing,
            bulk_create_conflicts_write_nothing,
            bulk_create_names_the_item_of_a_missing_reference,
            bulk_create_over_the_maximum_is_413,
            bulk_create_scopes_every_row,
            bulk_create_runs_hooks_per_row,
            upsert_merges_into_existing_rows_and_creates_the_rest,
            upsert_ignore_skips_existing_rows,
            on_conflict_must_name_a_unique_field,
            merge_is_refused_where_updates_need_if_match,
            upsert_never_touches_another_owners_row,
            upsert_respects_the_write_rule,
            text_keys_are_given_by_the_client_and_never_change,
            keyset_pages_walk_text_keys,
            uuid_keys_are_generated_when_absent,
            integer_keys_may_have_another_name,
            foreign_keys_reference_text_keys,
            openapi_names_the_key_in_paths_and_schemas,
            an_existing_tables_key_must_be_the_models,
            bulk_writes_take_text_keys,
            hooks_see_the_key,
        );
    };
    (@cases $db:expr; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            let db = $db;
            if !$crate::support::http_crud_suite::TestDb::available(&db) {
                return;
            }
            $crate::support::http_crud_suite::$case(&db);
        }
    )*};
}

/// Hands out a database for one test case.
pub trait TestDb {
    /// A database (URL plus table prefix) no other running case uses.
    /// `case` names the case, for file or schema names.
    fn database(&self, case: &str) -> TestDatabase;

    /// Whether the server answers; when it does not, this prints a
    /// `SKIPPED:` line with the reason and the case returns.
    fn available(&self) -> bool {
        true
    }

    /// Whether text and JSON values may contain U+0000 (PostgreSQL refuses
    /// them with a `422` naming the field).
    fn stores_nul(&self) -> bool {
        true
    }
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

/// A token for `sub` (not an admin).
pub fn token(sub: &str) -> String {
    super::token(sub, false)
}

/// A running server on its own database; stopped (then the database cleaned
/// up) on drop.
pub struct Server {
    server: TestServer,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its database, cleaned up on drop (declared after `server`, so
    /// after the server has stopped).
    _db: TestDatabase,
}

/// The suite's configuration for `db`: port 0, the test secret, no logs.
pub fn config(db: &TestDatabase) -> Config {
    let mut c = crate::support::config_on(&db.url);
    c.server.reactors = 1;
    c
}

impl Server {
    /// Starts `build(app)` on `db` with the test secret and no logging.
    pub fn start(db: TestDatabase, build: impl FnOnce(LightApi) -> LightApi) -> Server {
        let server = TestServer::try_start(config(&db), build)
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        Server {
            addr: server.addr(),
            server,
            _db: db,
        }
    }

    /// A client with a token for `alice`.
    pub fn client(&self) -> Client {
        self.client_as("alice")
    }

    /// A client with a token for `sub`.
    pub fn client_as(&self, sub: &str) -> Client {
        self.server.client_as(sub)
    }

    /// A client without a token.
    pub fn anon(&self) -> Client {
        self.server.client()
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
