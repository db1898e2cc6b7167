//! SQLite: one file per server in the temporary directory, in WAL mode.

use std::time::Duration;

use rusqlite::Connection;

use super::{seed_row, Database, Target, SEED_ROWS};

/// lightapi's DDL for the Person model, plus `version`.
const PEER_DDL: &str =
    "CREATE TABLE person (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, \
                        email TEXT NOT NULL UNIQUE, email_verified INTEGER NOT NULL, \
                        version INTEGER NOT NULL DEFAULT 1)";

pub struct Sqlite;

fn path(t: &Target) -> &str {
    t.peer_url.strip_prefix("sqlite://").unwrap_or(&t.peer_url)
}

fn open(t: &Target) -> Result<Connection, String> {
    let c = Connection::open(path(t)).map_err(|e| format!("{}: {e}", path(t)))?;
    c.busy_timeout(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    Ok(c)
}

fn remove(path: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

impl Database for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn version(&mut self) -> String {
        format!(
            "SQLite {} (bundled by rusqlite in the peers; lightapi bundles its own build)",
            rusqlite::version()
        )
    }

    fn fresh(&mut self, tag: &str) -> Result<Target, String> {
        let file = std::env::temp_dir().join(format!("{}.db", super::ident("lightapi_cmp", tag)));
        let file = file.to_string_lossy().into_owned();
        remove(&file);
        let url = format!("sqlite://{file}");
        Ok(Target {
            lightapi_url: url.clone(),
            peer_url: url,
            schema: String::new(),
        })
    }

    fn create_peer_table(&mut self, t: &Target) -> Result<(), String> {
        let mut c = open(t)?;
        c.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| e.to_string())?;
        let tx = c.transaction().map_err(|e| e.to_string())?;
        tx.execute(PEER_DDL, []).map_err(|e| e.to_string())?;
        {
            let mut insert = tx
                .prepare("INSERT INTO person (name, email, email_verified) VALUES (?1, ?2, 0)")
                .map_err(|e| e.to_string())?;
            for i in 0..SEED_ROWS {
                let (name, email) = seed_row(i);
                insert.execute([name, email]).map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())
    }

    fn ids(&mut self, t: &Target, limit: u64) -> Result<Vec<i64>, String> {
        let c = open(t)?;
        let mut q = c
            .prepare("SELECT id FROM person ORDER BY id LIMIT ?1")
            .map_err(|e| e.to_string())?;
        let ids = q
            .query_map([limit as i64], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        ids.collect::<Result<Vec<i64>, _>>()
            .map_err(|e| e.to_string())
    }

    fn count(&mut self, t: &Target) -> Result<u64, String> {
        let c = open(t)?;
        c.query_row("SELECT COUNT(*) FROM person", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    fn add_rows_to_delete(&mut self, t: &Target, n: u64) -> Result<Vec<i64>, String> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let c = open(t)?;
        c.execute(
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?1) \
             INSERT INTO person (name, email, email_verified) SELECT 'Delete ' || i, 'del-' || i || '@example.com', 0 FROM k",
            [n as i64],
        )
        .map_err(|e| e.to_string())?;
        let mut q = c
            .prepare("SELECT id FROM person WHERE email LIKE 'del-%' ORDER BY id")
            .map_err(|e| e.to_string())?;
        let ids = q.query_map([], |r| r.get(0)).map_err(|e| e.to_string())?;
        ids.collect::<Result<Vec<i64>, _>>()
            .map_err(|e| e.to_string())
    }

    fn reset(&mut self, t: &Target) -> Result<(), String> {
        let c = open(t)?;
        c.execute("DELETE FROM person WHERE email NOT LIKE 'seed-%'", [])
            .map_err(|e| e.to_string())?;
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| e.to_string())
    }

    fn drop_target(&mut self, t: &Target) {
        remove(path(t));
    }
}
