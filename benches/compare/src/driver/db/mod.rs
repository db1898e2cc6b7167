//! Each server's own database, prepared by the driver: a fresh SQLite file,
//! PostgreSQL schema or MariaDB database per server, the same 1000 seed
//! rows in each, rows to delete added before a `DELETE` run, and every row
//! a run added removed after it (so every run of every server starts from
//! the same table).
//!
//! lightapi creates and seeds its own table when it starts
//! (`examples/bench.rs`: 1000 rows `Person <i>`, `seed-<i>@example.com`,
//! i = 0…999); the driver creates the peers' tables with the same columns
//! plus the `version` column of their ETags, and seeds the same rows.

pub mod mysql;
pub mod postgres;
pub mod sqlite;

/// Rows every server's table starts with (`bench_app::SEED_ROWS`).
pub const SEED_ROWS: u64 = 1000;

/// Where one server's data lives.
#[derive(Debug, Clone)]
pub struct Target {
    /// `LIGHTAPI_DATABASE_URL` for lightapi.
    pub lightapi_url: String,
    /// `--url` for a peer.
    pub peer_url: String,
    /// `--schema` for a PostgreSQL peer (empty elsewhere).
    pub schema: String,
}

/// The administration a section needs from its database.
pub trait Database {
    /// `sqlite`, `postgres` or `mysql` (the peers' `--db`).
    fn name(&self) -> &'static str;
    /// The server (or library) version.
    fn version(&mut self) -> String;
    /// A fresh, empty place for server `tag`.
    fn fresh(&mut self, tag: &str) -> Result<Target, String>;
    /// Creates the peers' table in `t` and seeds it.
    fn create_peer_table(&mut self, t: &Target) -> Result<(), String>;
    /// The ids of the first `limit` rows, by id.
    fn ids(&mut self, t: &Target, limit: u64) -> Result<Vec<i64>, String>;
    /// The number of rows.
    fn count(&mut self, t: &Target) -> Result<u64, String>;
    /// Adds `n` rows (`del-<i>@example.com`) and returns their ids.
    fn add_rows_to_delete(&mut self, t: &Target, n: u64) -> Result<Vec<i64>, String>;
    /// Removes every row that is not a seed row.
    fn reset(&mut self, t: &Target) -> Result<(), String>;
    /// Removes `t` (best effort).
    fn drop_target(&mut self, t: &Target);
}

/// The seed row `i`: `(name, email)`.
pub fn seed_row(i: u64) -> (String, String) {
    (format!("Person {i}"), format!("seed-{i}@example.com"))
}

/// `prefix_<pid>_<tag>` made safe as an SQL identifier.
pub fn ident(prefix: &str, tag: &str) -> String {
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{}_{tag}", std::process::id())
}
