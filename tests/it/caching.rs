//! What caches may do with each answer: `Cache-Control` chosen per route,
//! with safe defaults.

use lightapi::{Field, Model};
use serde_json::json;

use crate::support::{token, unique, Client, Echo, TestServer};

#[test]
fn cache_control_defaults_per_kind_of_answer() {
    let notes = Model::new(&unique("note")).field("body", Field::text());
    let server = TestServer::start(|a| a.register("/echo", Echo).register("/note", notes));
    let mut c = server.connect();
    // Health answers describe an instant.
    for path in ["/healthz", "/readyz"] {
        let r = c.get_with(path, "");
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(r.header_count("cache-control"), 1, "{path}");
    }
    // Errors are never kept, whether refused before or after routing.
    for (path, status) in [("/nowhere", 404), ("/note", 401)] {
        let r = c.get_with(path, "");
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
    // What a token unlocked is private and revalidated.
    let mut alice = Client::with_token(server.addr(), &token("alice", false));
    let created = alice.post("/note", &json!({"body": "x"}));
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.header("cache-control"), Some("private, no-cache"));
    let id = created.json()["id"].as_i64().unwrap();
    let r = alice.get(&format!("/note/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("private, no-cache"));
    assert!(r.header("etag").is_some());
    let r = alice.get("/note");
    assert_eq!(r.header("cache-control"), Some("private, no-cache"));
    // A public custom endpoint decides for itself: nothing is added.
    let r = c.get_with("/echo", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), None);
    server.stop();
}

#[test]
fn a_model_can_let_its_reads_be_reused() {
    use lightapi::{Access, Method};
    use std::time::Duration;
    let countries = Model::new(&unique("country"))
        .field("name", Field::text())
        .into_resource()
        .access(Method::Get, Access::Public)
        .cache_max_age(Duration::from_secs(3600));
    let notes = Model::new(&unique("note"))
        .field("body", Field::text())
        .into_resource()
        .cache_max_age(Duration::from_secs(60));
    let server = TestServer::start(|a| a.register("/country", countries).register("/note", notes));
    let mut admin = Client::with_token(server.addr(), &token("root", true));
    let created = admin.post("/country", &json!({"name": "Chad"}));
    assert_eq!(created.status, 201, "{created:?}");
    // Writes are never reused.
    assert_eq!(created.header("cache-control"), Some("private, no-cache"));
    let mut anyone = server.connect();
    for path in ["/country", "/country/1"] {
        let r = anyone.get_with(path, "");
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=3600"),
            "{path}"
        );
    }
    assert_eq!(admin.post("/note", &json!({"body": "x"})).status, 201);
    let r = admin.get("/note/1");
    assert_eq!(r.header("cache-control"), Some("private, max-age=60"));
    // Errors stay unstored.
    let r = admin.get("/note/99");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    server.stop();
}
