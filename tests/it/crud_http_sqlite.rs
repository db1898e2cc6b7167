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

/// ETags are keyed by the JWT signing secret: two servers sharing the
/// secret and the database give a row the same ETag (and honour each
/// other's `If-None-Match`), a server with another secret gives another.
#[test]
fn etags_are_shared_by_servers_with_the_same_secret_only() {
    use lightapi::config::JwtSecret;
    use lightapi::{Access, Field, Method, Model};
    use serde_json::json;

    use crate::support::{Client, TestServer};

    let dir = TempDir::new("etag-key");
    let url = dir.sqlite_url("crud.db");
    let start = |secret: &[u8]| {
        let secret = secret.to_vec();
        let url = url.clone();
        TestServer::start_with(
            move |c| {
                c.database.url = url.parse().unwrap();
                c.jwt.secrets = vec![JwtSecret::new(secret).unwrap()];
            },
            |app| {
                let pin = Model::new("pin")
                    .field("label", Field::text())
                    .field("pin", Field::text().write_only())
                    .into_resource()
                    .access(Method::Get, Access::Public)
                    .access(Method::Post, Access::Public);
                app.register("/pin", pin)
            },
        )
    };
    let etag = |s: &TestServer, path: &str| {
        let r = Client::new(s.addr()).get(path);
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("etag").unwrap().to_owned()
    };
    let a = start(crate::support::SECRET);
    let r = Client::new(a.addr()).post("/pin", &json!({"label": "door", "pin": "4821"}));
    assert_eq!(r.status, 201, "{}", r.text());
    let tag = r.header("etag").unwrap().to_owned();
    assert_eq!(etag(&a, "/pin/1"), tag);
    let b = start(crate::support::SECRET);
    assert_eq!(etag(&b, "/pin/1"), tag);
    let r = Client::new(b.addr()).request("GET", "/pin/1", &[("If-None-Match", &tag)], None);
    assert_eq!(r.status, 304);
    let other = start(b"another-secret-for-etags-0123456789abcdef");
    let other_tag = etag(&other, "/pin/1");
    assert_ne!(other_tag, tag);
    let r = Client::new(other.addr()).request("GET", "/pin/1", &[("If-None-Match", &tag)], None);
    assert_eq!(r.status, 200);
}
