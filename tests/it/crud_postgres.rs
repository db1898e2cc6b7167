//! The backend-agnostic CRUD suite against a live PostgreSQL server: the
//! same functions as `crud_sqlite.rs`, each on a fresh schema. Skipped,
//! with a printed `SKIPPED:` line, when the server does not answer.

use std::sync::Arc;

use lightapi::__private::backend::PoolOptions;

use crate::support::crud_suite as suite;
use crate::support::live_db::{FreshDb, Server};

macro_rules! postgres_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let Some(fresh) = FreshDb::new(Server::Postgres) else { return };
            let db = fresh.connect(&PoolOptions::default());
            suite::$name(Arc::clone(&db));
            db.close();
        }
    )*};
}

crate::for_each_crud_case!(postgres_tests);
