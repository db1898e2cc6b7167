//! MariaDB: one database per server (`lightapi_cmp_<pid>_<tag>`) on the
//! server of `--mysql-url`.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use super::{seed_row, Database, Target, SEED_ROWS};

pub struct Mysql {
    base: String,
    conn: Conn,
}

impl Mysql {
    /// Connects to `base` (`mysql://user[:password]@host:port/db`), or says
    /// why not.
    pub fn connect(base: &str) -> Result<Mysql, String> {
        let opts = Opts::from_url(base).map_err(|e| format!("{base}: {e}"))?;
        let conn = Conn::new(opts).map_err(|e| format!("{base}: {e}"))?;
        Ok(Mysql {
            base: base.into(),
            conn,
        })
    }

    fn exec(&mut self, sql: &str) -> Result<(), String> {
        self.conn.query_drop(sql).map_err(|e| format!("{sql}: {e}"))
    }

    /// `base` with its database replaced by `db`.
    fn url_for(&self, db: &str) -> String {
        let (before_query, query) = match self.base.split_once('?') {
            Some((a, q)) => (a, format!("?{q}")),
            None => (self.base.as_str(), String::new()),
        };
        let scheme_end = before_query.find("://").map_or(0, |i| i + 3);
        let host_end = before_query[scheme_end..]
            .find('/')
            .map_or(before_query.len(), |i| scheme_end + i);
        format!("{}/{db}{query}", &before_query[..host_end])
    }
}

impl Database for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn version(&mut self) -> String {
        match self.conn.query_first::<String, _>("SELECT VERSION()") {
            Ok(Some(v)) => format!("MariaDB/MySQL {v}"),
            Ok(None) => "MariaDB/MySQL (version unknown)".into(),
            Err(e) => format!("MariaDB/MySQL (version unknown: {e})"),
        }
    }

    fn fresh(&mut self, tag: &str) -> Result<Target, String> {
        let db = super::ident("lightapi_cmp", tag);
        self.exec(&format!("DROP DATABASE IF EXISTS `{db}`"))?;
        self.exec(&format!("CREATE DATABASE `{db}`"))?;
        let url = self.url_for(&db);
        Ok(Target {
            lightapi_url: url.clone(),
            peer_url: url,
            schema: db,
        })
    }

    fn create_peer_table(&mut self, t: &Target) -> Result<(), String> {
        let db = &t.schema;
        // lightapi's DDL for the Person model (as SHOW CREATE TABLE
        // prints it), plus `version`.
        self.exec(&format!(
            "CREATE TABLE `{db}`.person (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, name LONGTEXT NOT NULL, \
             email VARCHAR(768) NOT NULL UNIQUE, email_verified BOOLEAN NOT NULL, version BIGINT NOT NULL DEFAULT 1) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
        ))?;
        let rows: Vec<(String, String)> = (0..SEED_ROWS).map(seed_row).collect();
        let mut tx = self
            .conn
            .start_transaction(mysql::TxOpts::default())
            .map_err(|e| e.to_string())?;
        tx.exec_batch(
            format!("INSERT INTO `{db}`.person (name, email, email_verified) VALUES (?, ?, 0)"),
            rows.iter().map(|(n, e)| (n, e)),
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    fn ids(&mut self, t: &Target, limit: u64) -> Result<Vec<i64>, String> {
        let q = format!(
            "SELECT id FROM `{}`.person ORDER BY id LIMIT {limit}",
            t.schema
        );
        self.conn.query(q).map_err(|e| e.to_string())
    }

    fn count(&mut self, t: &Target) -> Result<u64, String> {
        let q = format!("SELECT COUNT(*) FROM `{}`.person", t.schema);
        Ok(self
            .conn
            .query_first::<u64, _>(q)
            .map_err(|e| e.to_string())?
            .unwrap_or(0))
    }

    fn add_rows_to_delete(&mut self, t: &Target, n: u64) -> Result<Vec<i64>, String> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let db = &t.schema;
        // MariaDB's SEQUENCE engine numbers the rows.
        self.exec(&format!(
            "INSERT INTO `{db}`.person (name, email, email_verified) \
             SELECT CONCAT('Delete ', seq), CONCAT('del-', seq, '@example.com'), 0 FROM seq_0_to_{}",
            n.saturating_sub(1)
        ))?;
        let q = format!("SELECT id FROM `{db}`.person WHERE email LIKE 'del-%' ORDER BY id");
        self.conn.query(q).map_err(|e| e.to_string())
    }

    fn reset(&mut self, t: &Target) -> Result<(), String> {
        self.exec(&format!(
            "DELETE FROM `{}`.person WHERE email NOT LIKE 'seed-%'",
            t.schema
        ))
    }

    fn drop_target(&mut self, t: &Target) {
        let _ = self.exec(&format!("DROP DATABASE IF EXISTS `{}`", t.schema));
    }
}
