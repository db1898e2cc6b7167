//! `lightapi-compare peer <actix|axum|may> --port N [--db D --variant V --url U [--schema S]]`:
//! one peer server in this process, serving `/plaintext`, `/json` and, with
//! a database, `/person` (list, create) and `/person/{id}` (get, patch,
//! delete) until killed. The driver starts it pinned to one core.

mod actix;
mod axum;
mod handlers;
mod may;
pub mod model;
pub mod store;

use std::sync::Arc;

use store::{my, pg, sqlite, Store};

/// Which database a peer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
    Mysql,
}

impl Db {
    pub fn parse(s: &str) -> Option<Db> {
        match s {
            "sqlite" => Some(Db::Sqlite),
            "postgres" => Some(Db::Postgres),
            "mysql" => Some(Db::Mysql),
            _ => None,
        }
    }
}

/// How a peer calls its database (see `store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Inline,
    Blocking,
}

impl Variant {
    pub fn parse(s: &str) -> Option<Variant> {
        match s {
            "inline" => Some(Variant::Inline),
            "blocking" => Some(Variant::Blocking),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::Inline => "inline",
            Variant::Blocking => "blocking",
        }
    }
}

/// Everything needed to open a peer's store.
#[derive(Debug, Clone)]
pub struct StoreSpec {
    pub db: Db,
    pub variant: Variant,
    /// A SQLite file path, a PostgreSQL URL, or a MariaDB URL.
    pub url: String,
    /// PostgreSQL: the schema the tables are in.
    pub schema: String,
}

/// Readers of the blocking SQLite store, and the pool size of every other:
/// lightapi's default `LIGHTAPI_DATABASE_POOL`.
pub const POOL_SIZE: usize = 8;

impl StoreSpec {
    /// The store, when it can be opened outside an async runtime; `None`
    /// for the async drivers (see [`StoreSpec::open_async`]).
    pub fn open_now(&self) -> Result<Option<Store>, String> {
        let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
        Ok(Some(match (self.db, self.variant) {
            (Db::Sqlite, Variant::Inline) => Store::SqliteInline(sqlite::Inline::new(path)?),
            (Db::Sqlite, Variant::Blocking) => {
                Store::Blocking(Arc::new(sqlite::Pooled::new(path, POOL_SIZE)?))
            }
            (Db::Postgres, Variant::Blocking) => {
                Store::Blocking(Arc::new(pg::Blocking::new(&self.url, &self.schema)?))
            }
            (Db::Mysql, Variant::Blocking) => {
                Store::Blocking(Arc::new(my::Blocking::new(&self.url)?))
            }
            (Db::Postgres | Db::Mysql, Variant::Inline) => return Ok(None),
        }))
    }

    /// The async drivers' stores, opened on the running runtime.
    pub async fn open_async(&self) -> Result<Store, String> {
        match self.db {
            Db::Postgres => Ok(Store::PgAsync(
                pg::Async::new(&self.url, &self.schema).await?,
            )),
            Db::Mysql => Ok(Store::MyAsync(my::Async::new(&self.url).await?)),
            Db::Sqlite => self.open_now()?.ok_or_else(|| "no store".to_string()),
        }
    }
}

/// Runs the peer named by `args` (after `peer`).
pub fn main(args: &[String]) -> Result<(), String> {
    let framework = args
        .first()
        .ok_or("peer: which framework? actix, axum or may")?;
    let mut port = None;
    let (mut db, mut variant, mut url, mut schema) = (None, Variant::Inline, None, String::new());
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("peer: {flag} needs a value"))?;
        match flag.as_str() {
            "--port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|e| format!("--port {value}: {e}"))?,
                )
            }
            "--db" => {
                db = Some(
                    Db::parse(value)
                        .ok_or_else(|| format!("--db {value}: sqlite, postgres or mysql"))?,
                )
            }
            "--variant" => {
                variant = Variant::parse(value)
                    .ok_or_else(|| format!("--variant {value}: inline or blocking"))?
            }
            "--url" => url = Some(value.clone()),
            "--schema" => schema = value.clone(),
            _ => return Err(format!("peer: unknown flag {flag}")),
        }
    }
    let port = port.ok_or("peer: --port is required")?;
    let spec = match db {
        Some(db) => Some(StoreSpec {
            db,
            variant,
            url: url.ok_or("peer: --db needs --url")?,
            schema,
        }),
        None => None,
    };
    match framework.as_str() {
        "actix" => actix::run(port, spec),
        "axum" => axum::run(port, spec),
        "may" if spec.is_none() => may::run(port).map_err(|e| e.to_string()),
        "may" => Err("peer may: no database variant".into()),
        other => Err(format!("peer: unknown framework {other}")),
    }
}
