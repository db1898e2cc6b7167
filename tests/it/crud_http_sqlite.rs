//! The HTTP CRUD suite (`support::http_crud_suite`) against SQLite: each
//! case gets its own database file in a fresh temporary directory, removed
//! when the case ends.

use crate::support::http_crud_suite::{TestDatabase, TestDb};
use crate::support::TempDir;

/// One SQLite file per case, in `$TMPDIR/lightapi-http-<case>_<pid>_<n>/`.
struct SqliteFiles;

impl TestDb for SqliteFiles {
    fn database(&self, case: &str) -> TestDatabase {
        let dir = TempDir::new(&format!("http-{case}"));
        TestDatabase::new(dir.sqlite_url("crud.db"), "", move || drop(dir))
    }
}

crate::http_crud_tests!(SqliteFiles);
