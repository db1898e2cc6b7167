//! The backend-agnostic CRUD suite against a live MariaDB (or MySQL) server: the
//! same functions as `crud_sqlite.rs`, each on a fresh database. Skipped,
//! with a printed `SKIPPED:` line, when the server does not answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use lightapi::backend::PoolOptions;
use support::crud_suite as suite;
use support::servers::{FreshDb, Server};

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

for_each_crud_case!(mysql_tests);
