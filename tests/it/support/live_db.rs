//! Live database servers for the backend tests: a fresh PostgreSQL schema or
//! MariaDB/MySQL database per test, dropped afterwards; a printed `SKIPPED:`
//! line (never a silent pass) when the server does not answer.
//!
//! The servers default to the CI ones (`postgres://postgres@127.0.0.1:5432/test`,
//! `mysql://root@127.0.0.1:3306/test`); override with
//! `LIGHTAPI_TEST_POSTGRES_URL` / `LIGHTAPI_TEST_MYSQL_URL`. With
//! `LIGHTAPI_TEST_REQUIRE_SERVERS=1` an absent server fails the test instead.
use std::io::Write as _;
use std::sync::Arc;

use lightapi::__private::backend::{connect, PoolOptions};
use lightapi::backend::{write_with, Backend};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Mysql,
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::Mysql => "MariaDB/MySQL",
        }
    }

    /// The admin URL (database `test`).
    pub fn base_url(self) -> String {
        let (var, default) = match self {
            Server::Postgres => (
                "LIGHTAPI_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Server::Mysql => (
                "LIGHTAPI_TEST_MYSQL_URL",
                "mysql://root@127.0.0.1:3306/test",
            ),
        };
        std::env::var(var).unwrap_or_else(|_| default.to_owned())
    }

    /// `host:port` of the base URL.
    pub fn address(self) -> String {
        let url = self.base_url();
        let after = url.split_once('@').map_or(url.as_str(), |(_, r)| r);
        let after = after.split_once("://").map_or(after, |(_, r)| r);
        after.split('/').next().unwrap_or("").to_owned()
    }
}

/// Prints why a test is skipped, past the test harness's output capture
/// (so `cargo test` shows it), or panics when servers are required.
pub fn skip(server: Server, why: &str) {
    let line = format!(
        "SKIPPED: {} not reachable at {}: {why}",
        server.name(),
        server.address()
    );
    if std::env::var_os("LIGHTAPI_TEST_REQUIRE_SERVERS").is_some() {
        panic!("{line}");
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// An admin connection to the server, or `None` (after printing why).
pub fn admin(server: Server) -> Option<Arc<dyn Backend>> {
    let options = PoolOptions {
        max_read_connections: 2,
        ..PoolOptions::default()
    };
    match connect(&server.base_url(), &options) {
        Ok(db) => Some(db),
        Err(e) => {
            skip(server, &e.to_string());
            None
        }
    }
}

/// A schema (PostgreSQL) or database (MySQL) of its own, dropped on drop.
pub struct FreshDb {
    pub server: Server,
    /// The URL that selects it (`…?schema=NAME` or `…/NAME`).
    pub url: String,
    pub name: String,
    admin: Arc<dyn Backend>,
}

impl FreshDb {
    /// A fresh schema/database, or `None` (after printing why) when the
    /// server does not answer.
    pub fn new(server: Server) -> Option<FreshDb> {
        let admin = admin(server)?;
        let name = super::unique("lightapi_test");
        let base = server.base_url();
        let (create, url) = match server {
            Server::Postgres => {
                let sep = if base.contains('?') { '&' } else { '?' };
                (
                    format!("CREATE SCHEMA \"{name}\""),
                    format!("{base}{sep}schema={name}"),
                )
            }
            Server::Mysql => {
                let (prefix, rest) = base.rsplit_once('/').unwrap();
                let query = rest
                    .split_once('?')
                    .map_or(String::new(), |(_, q)| format!("?{q}"));
                (
                    format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
                    format!("{prefix}/{name}{query}"),
                )
            }
        };
        write_with(&*admin, move |c| c.execute(&create, &[])).unwrap();
        Some(FreshDb {
            server,
            url,
            name,
            admin,
        })
    }

    /// A backend on it.
    pub fn connect(&self, options: &PoolOptions) -> Arc<dyn Backend> {
        connect(&self.url, options).unwrap()
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let drop_sql = match self.server {
            Server::Postgres => format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name),
            Server::Mysql => format!("DROP DATABASE IF EXISTS `{}`", self.name),
        };
        let _ = write_with(&*self.admin, move |c| c.execute(&drop_sql, &[]));
        self.admin.close();
    }
}
