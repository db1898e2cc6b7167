//! The HTTP CRUD suite (`support::http_crud_suite`) against a live PostgreSQL
//! server: the same cases as `crud_http_sqlite.rs`, each on a fresh
//! schema, dropped when the case ends. Skipped, with a printed
//! `SKIPPED:` line, when the server does not answer.

use crate::support::http_crud_suite::{TestDatabase, TestDb};
use crate::support::live_db::{admin, FreshDb, Server};

struct Live;

impl TestDb for Live {
    fn database(&self, _case: &str) -> TestDatabase {
        let fresh = FreshDb::new(Server::Postgres).expect("server answered a moment ago");
        TestDatabase::new(fresh.url.clone(), "", move || drop(fresh))
    }

    fn available(&self) -> bool {
        admin(Server::Postgres).map(|db| db.close()).is_some()
    }

    fn stores_nul(&self) -> bool {
        false
    }
}

crate::http_crud_tests!(Live);
