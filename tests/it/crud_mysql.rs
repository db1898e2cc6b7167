//! The backend-agnostic CRUD suite against a live MariaDB (or MySQL) server: the
//! same functions as `crud_sqlite.rs`, each on a fresh database. Skipped,
//! with a printed `SKIPPED:` line, when the server does not answer.

use std::sync::Arc;

use lightapi::__private::backend::PoolOptions;

use crate::support::crud_suite as suite;
use crate::support::live_db::{FreshDb, Server};

macro_rules! mysql_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let Some(fresh) = FreshDb::new(Server::Mysql) else { return };
            let db = fresh.connect(&PoolOptions::default());
            suite::$name(Arc::clone(&db));
            db.close();
        }
    )*};
}

crate::for_each_crud_case!(mysql_tests);

/// A table made before lightapi chose a collation without space padding
/// (or by hand with `utf8mb4_bin`): on its scope column `'alice' =
/// 'alice '` holds, so start-up refuses it, naming the column and the
/// statement that converts it; once converted it starts.
#[test]
fn a_space_padding_scope_column_stops_start_up() {
    use lightapi::__private::crud::schema;
    use lightapi::backend::{write_with, Conn};
    use lightapi::error::CrudError;
    use lightapi::{Field, Model};
    let Some(fresh) = FreshDb::new(Server::Mysql) else {
        return;
    };
    let db = fresh.connect(&PoolOptions::default());
    let run = |sql: &'static str| {
        write_with(&*db, move |c: &mut dyn Conn| c.execute(sql, &[])).unwrap();
    };
    run("CREATE TABLE note (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
         owner_id VARCHAR(100) NOT NULL, body LONGTEXT NOT NULL) \
         DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    let model = Model::new("note")
        .field("owner_id", Field::text())
        .field("body", Field::text())
        .scope("owner_id", "sub");
    let unscoped = Model::new("note")
        .field("owner_id", Field::text())
        .field("body", Field::text());
    schema::ensure_table(&*db, &unscoped).unwrap();
    let e = schema::ensure_table(&*db, &model).unwrap_err();
    assert!(matches!(e, CrudError::Schema { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("`owner_id`") && text.contains("ALTER TABLE note CONVERT"),
        "{text}"
    );
    run("ALTER TABLE note CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin");
    schema::ensure_table(&*db, &model).unwrap();
    db.close();
}
