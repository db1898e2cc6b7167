//! The HTTP CRUD suite (`support::http_crud_suite`) against SQLite: each
//! case gets its own database file in a fresh temporary directory, removed
//! when the case ends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::http_crud_suite::{TestDatabase, TestDb};

/// One SQLite file per case, in `$TMPDIR/lightapi-http-<pid>-<n>-<case>/`.
struct SqliteFiles;

impl TestDb for SqliteFiles {
    fn database(&self, case: &str) -> TestDatabase {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir: PathBuf = std::env::temp_dir().join(format!(
            "lightapi-http-{}-{}-{case}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("crud.db").display());
        TestDatabase::new(url, "", move || {
            let _ = std::fs::remove_dir_all(&dir);
        })
    }
}

crate::http_crud_tests!(SqliteFiles);
