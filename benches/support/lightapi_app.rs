//! The benchmark job, as lightapi serves it: `GET /plaintext` and
//! `GET /json` (public, inline) and the Person model of
//! `examples/person.rs` at `/person` with every verb public (`GET` of the
//! list and of a row, `POST`, `PATCH`/`PUT` and `DELETE`), plus the same routes behind a bearer token under
//! `/protected/...` for the "with JWT" workloads (the protected Person is a
//! second table, `person_jwt`, of the same shape: one model per table).
//!
//! [`seed`] creates the tables and the rows `GET /person/{id}` reads before
//! anything is measured; [`fresh_postgres_schema`] gives a PostgreSQL run a
//! schema of its own.
//!
//! Shared by `examples/bench.rs`, `benches/e2e.rs` and the comparison crate
//! through `#[path]`, so every measurement runs exactly this code.

#![allow(dead_code)]

use lightapi::__private::backend::sql::{ListQuery, Order};
use lightapi::__private::backend::{connect, PoolOptions};
use lightapi::__private::crud::etag::EtagKey;
use lightapi::__private::crud::validate::validate_create;
use lightapi::__private::crud::{ops, schema};
use lightapi::backend::write_with;
use lightapi::{
    Access, Body, Endpoint, Field, HandlerResult, LightApi, Method, Model, Request, Response,
    StatusCode,
};
use serde_json::json;

/// The key ETags are computed under here (the rows' ETags are not compared
/// with a server's).
fn etag_key() -> EtagKey {
    EtagKey::derive(b"lightapi bench etag key 0123456789")
}

/// The plaintext body.
pub const HELLO: &[u8] = b"Hello, World!";

/// Rows created before measuring; `GET /person/{id}` cycles through them.
pub const SEED_ROWS: usize = 1000;

/// The `POST /person` body; `{n}` becomes a number unique to each request.
pub const PERSON_BODY: &str = r#"{"name":"Bench User","email":"user{n}@example.com"}"#;

/// The table of the token-protected Person routes.
pub const PROTECTED_TABLE: &str = "person_jwt";

/// The Person model of `examples/person.rs`, stored in `table`.
pub fn person(table: &str) -> Model {
    Model::new(table)
        .field("name", Field::text())
        .field("email", Field::text().unique())
        .field("email_verified", Field::boolean().default(false))
}

/// `GET /plaintext`: `Hello, World!` as `text/plain`.
pub struct Plaintext {
    /// Whether the route needs no token.
    pub public: bool,
}

impl Endpoint for Plaintext {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(Response::new(StatusCode::OK)
            .with_header("Content-Type", "text/plain")
            .with_body(Body::Static(HELLO)))
    }

    fn access(&self, _method: Method) -> Access {
        if self.public {
            Access::Public
        } else {
            Access::Authenticated
        }
    }

    fn inline(&self) -> bool {
        true
    }
}

/// `GET /json`: `{"message":"Hello, World!"}`, serialised per request.
pub struct Json {
    /// Whether the route needs no token.
    pub public: bool,
}

impl Endpoint for Json {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"message": "Hello, World!"}).into())
    }

    fn access(&self, _method: Method) -> Access {
        if self.public {
            Access::Public
        } else {
            Access::Authenticated
        }
    }

    fn inline(&self) -> bool {
        true
    }
}

/// Registers the benchmark job on `app`: `/plaintext`, `/json` and the
/// Person model at `/person`, every verb public (the comparison's list,
/// `PATCH` and `DELETE` workloads send no token). The database is the
/// app's `database_url`; see [`seed`].
pub fn register(app: LightApi) -> LightApi {
    let person = person("person")
        .into_resource()
        .default_access(Access::Public);
    app.register("/plaintext", Plaintext { public: true })
        .register("/json", Json { public: true })
        .register("/person", person)
}

/// Adds the same routes requiring a bearer token: `/protected/plaintext`,
/// `/protected/json` and `/protected/person` (table [`PROTECTED_TABLE`]).
pub fn register_protected(app: LightApi) -> LightApi {
    app.register("/protected/plaintext", Plaintext { public: false })
        .register("/protected/json", Json { public: false })
        .register("/protected/person", person(PROTECTED_TABLE))
}

/// Creates `table` (the Person shape) in the database at `url` if needed,
/// fills it up to `rows` rows (`seed-<i>@example.com`), and returns the ids
/// of its first `rows` rows, in order.
///
/// # Errors
/// A message when the database cannot be reached or written.
pub fn seed(url: &str, table: &str, rows: usize) -> Result<Vec<i64>, String> {
    let model = person(table);
    let db = connect(url, &PoolOptions::default()).map_err(|e| e.to_string())?;
    let result = (|| {
        schema::ensure_table(&*db, &model).map_err(|e| e.to_string())?;
        let have = ops::count(&*db, &model, &[], None).map_err(|e| e.to_string())?;
        for i in have..rows as u64 {
            let body =
                json!({"name": format!("Person {i}"), "email": format!("seed-{i}@example.com")});
            let row = validate_create(&model, &body).map_err(|e| format!("{e:?}"))?;
            ops::create(&*db, &etag_key(), &model, row, None).map_err(|e| e.to_string())?;
        }
        let first = ListQuery {
            filters: Vec::new(),
            order: vec![Order {
                field: "id".into(),
                descending: false,
                nulls: Default::default(),
            }],
            limit: Some(rows as u64),
            offset: 0,
            after: None,
        };
        let records =
            ops::list(&*db, &etag_key(), &model, &first, None).map_err(|e| e.to_string())?;
        Ok(records.into_iter().filter_map(|r| r.id.as_int()).collect())
    })();
    db.close();
    result
}

/// `GET` paths for `ids` under `base` (`/person/1`, …).
pub fn item_paths(base: &str, ids: &[i64]) -> Vec<String> {
    ids.iter().map(|id| format!("{base}/{id}")).collect()
}

/// Drops and re-creates schema `schema` in the PostgreSQL database at
/// `base_url` (a URL without `schema=`) and returns the URL that uses it.
///
/// # Errors
/// Why not: the server is unreachable, or lightapi was built without its
/// `postgres` feature.
pub fn fresh_postgres_schema(base_url: &str, schema: &str) -> Result<String, String> {
    let db = connect(base_url, &PoolOptions::default()).map_err(|e| e.to_string())?;
    let ddl = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\"");
    let result = write_with(&*db, move |c| {
        for statement in ddl.split("; ") {
            c.execute(statement, &[])?;
        }
        Ok(())
    })
    .map_err(|e| e.to_string());
    db.close();
    result?;
    let sep = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!("{base_url}{sep}schema={schema}"))
}

/// Drops a schema made by [`fresh_postgres_schema`] (best effort).
pub fn drop_postgres_schema(base_url: &str, schema: &str) {
    if let Ok(db) = connect(base_url, &PoolOptions::default()) {
        let ddl = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        let _ = write_with(&*db, move |c| c.execute(&ddl, &[]));
        db.close();
    }
}

/// A fresh SQLite database file in the temporary directory (removed first,
/// with its WAL), as a `sqlite://` URL.
pub fn fresh_sqlite(tag: &str) -> String {
    let path = std::env::temp_dir().join(format!("lightapi-bench-{tag}-{}.db", std::process::id()));
    remove_sqlite(&path.to_string_lossy());
    format!("sqlite://{}", path.display())
}

/// Removes a SQLite database file and its `-wal`/`-shm` companions.
pub fn remove_sqlite(path_or_url: &str) {
    let path = path_or_url.strip_prefix("sqlite://").unwrap_or(path_or_url);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}
