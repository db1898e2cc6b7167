//! The backend-agnostic CRUD suite against SQLite: a fresh database file in
//! the temp directory per test, plus a few runs on `sqlite::memory:`.

use std::sync::Arc;

use lightapi::__private::backend::{connect, PoolOptions};
use lightapi::backend::Backend;

use crate::support::crud_suite as suite;
use crate::support::TempDir;

/// A database file of its own; closed, then removed, on drop.
struct TempDb {
    backend: Arc<dyn Backend>,
    url: String,
    _dir: TempDir,
}

impl TempDb {
    fn new(test: &str) -> TempDb {
        let dir = TempDir::new(&format!("crud-{test}"));
        let url = dir.sqlite_url("crud.db");
        let backend = connect(&url, &PoolOptions::default()).unwrap();
        TempDb {
            backend,
            url,
            _dir: dir,
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.backend.close();
    }
}

macro_rules! sqlite_file_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let db = TempDb::new(stringify!($name));
            suite::$name(Arc::clone(&db.backend));
        }
    )*};
}

crate::for_each_crud_case!(sqlite_file_tests);

#[test]
fn memory_database_runs_the_suite() {
    let db = connect("sqlite::memory:", &PoolOptions::default()).unwrap();
    suite::every_type_round_trips(Arc::clone(&db));
    suite::unique_violation_is_a_conflict_on_the_field(Arc::clone(&db));
    suite::foreign_keys_name_the_missing_row_and_the_referencing_table(Arc::clone(&db));
    suite::concurrent_creates_each_land_once(Arc::clone(&db));
    suite::concurrent_if_match_patches_have_one_winner(Arc::clone(&db));
    suite::scoping_hides_other_owners_rows(Arc::clone(&db));
    db.close();
}

#[test]
fn data_survives_reopening_the_file() {
    use crate::support::etag_key;
    use lightapi::__private::crud::{ops, schema, validate};
    use lightapi::model::{Field, Model};
    let db = TempDb::new("reopen");
    let m = Model::new("person").field("name", Field::text());
    schema::ensure_table(&*db.backend, &m).unwrap();
    let row = validate::validate_create(&m, &serde_json::json!({"name": "Ada"})).unwrap();
    let created = ops::create(&*db.backend, &etag_key(), &m, row, None).unwrap();
    db.backend.close();
    let again = connect(&db.url, &PoolOptions::default()).unwrap();
    schema::ensure_table(&*again, &m).unwrap();
    let got = ops::get(&*again, &etag_key(), &m, &created.id, None)
        .unwrap()
        .unwrap();
    assert_eq!(got, created);
    again.close();
}
