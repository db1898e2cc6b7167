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

#[test]
fn public_reads_without_a_declared_time_are_revalidated() {
    use lightapi::{Access, Method};
    let tags = Model::new(&unique("tag"))
        .field("name", Field::text())
        .into_resource()
        .access(Method::Get, Access::Public);
    let server = TestServer::start(|a| a.register("/tag", tags));
    let mut admin = Client::with_token(server.addr(), &token("root", true));
    assert_eq!(admin.post("/tag", &json!({"name": "x"})).status, 201);
    // Kept, but never reused on a cache's own guess: revalidated with the
    // ETag each time.
    let mut anyone = server.connect();
    for path in ["/tag", "/tag/1", "/tag?cursor="] {
        let r = anyone.get_with(path, "");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert!(r.header("etag").is_some(), "{path}");
    }
    // A token makes the same read private.
    assert_eq!(
        admin.get("/tag").header("cache-control"),
        Some("private, no-cache")
    );
    server.stop();
}

#[test]
fn list_pages_carry_a_weak_etag_and_answer_304_when_unchanged() {
    let notes = Model::new(&unique("note")).field("body", Field::text());
    let server = TestServer::start(|a| a.register("/note", notes));
    let mut alice = Client::with_token(server.addr(), &token("alice", false));
    assert_eq!(alice.post("/note", &json!({"body": "a"})).status, 201);
    assert_eq!(alice.post("/note", &json!({"body": "b"})).status, 201);
    // Pages with links to others (the same signed cursor each time) too.
    for path in [
        "/note",
        "/note?cursor=",
        "/note?cursor=&page_size=1",
        "/note?page_size=1&ordering=-id",
    ] {
        let first = alice.get(path);
        assert_eq!(first.status, 200, "{path}: {first:?}");
        let etag = first.header("etag").unwrap().to_owned();
        assert!(etag.starts_with("W/\"") && etag.ends_with('"'), "{etag}");
        // The same page again: the same validator.
        assert_eq!(alice.get(path).header("etag"), Some(etag.as_str()));
        for inm in [etag.clone(), format!("\"other\", {etag}"), "*".to_owned()] {
            let r = alice.request("GET", path, &[("If-None-Match", &inm)], None);
            assert_eq!(r.status, 304, "{path} If-None-Match: {inm}");
            assert!(r.body.is_empty());
            assert_eq!(r.header("etag"), Some(etag.as_str()));
            assert_eq!(r.header("cache-control"), Some("private, no-cache"));
            assert_eq!(r.header("vary"), first.header("vary"));
        }
        // The strong form of the same opaque tag matches too (weak
        // comparison); another tag does not.
        let strong = etag.trim_start_matches("W/");
        let r = alice.request("GET", path, &[("If-None-Match", strong)], None);
        assert_eq!(r.status, 304, "{path}");
        let r = alice.request("GET", path, &[("If-None-Match", "W/\"0\"")], None);
        assert_eq!(r.status, 200, "{path}");
        // `count=none` is another representation: another tag.
        let r = alice.request("GET", path, &[("Prefer", "count=none")], None);
        if !path.contains("cursor") {
            assert_ne!(r.header("etag"), Some(etag.as_str()), "{path}");
        }
    }
    // A change to the rows changes the page's validator.
    let before = alice.get("/note").header("etag").unwrap().to_owned();
    assert_eq!(alice.post("/note", &json!({"body": "c"})).status, 201);
    let r = alice.request("GET", "/note", &[("If-None-Match", &before)], None);
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag"), Some(before.as_str()));
    assert_eq!(r.json()["count"], 3);
    server.stop();
}

fn vary(r: &crate::support::Resp) -> Vec<String> {
    r.header("vary")
        .unwrap_or("")
        .split(',')
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

#[test]
fn vary_names_the_request_headers_an_answer_depends_on() {
    use lightapi::{Access, Cors, Method};
    let notes = Model::new(&unique("note")).field("body", Field::text());
    let tags = Model::new(&unique("tag"))
        .field("name", Field::text())
        .into_resource()
        .access(Method::Get, Access::Public);
    let server = TestServer::start(|a| {
        a.register("/note", notes)
            .register("/tag", tags)
            .cors(Cors::new().allow_origin("https://app.example"))
    });
    let mut alice = Client::with_token(server.addr(), &token("root", true));
    // A route that needs a token: the answer depends on `Authorization`;
    // a page on `Prefer`; with CORS on, every answer on `Origin`.
    let created = alice.post("/note", &json!({"body": "a"}));
    assert_eq!(vary(&created), ["prefer", "origin", "authorization"]);
    let page = alice.get("/note");
    assert_eq!(vary(&page), ["prefer", "origin", "authorization"]);
    let row = alice.get("/note/1");
    assert_eq!(vary(&row), ["origin", "authorization"]);
    let refused = server.connect().get_with("/note", "");
    assert_eq!(refused.status, 401);
    assert!(vary(&refused).contains(&"authorization".to_owned()));
    // A public read does not depend on who asks.
    assert_eq!(alice.post("/tag", &json!({"name": "x"})).status, 201);
    let public = server.connect().get_with("/tag", "");
    assert_eq!(public.status, 200);
    assert_eq!(vary(&public), ["prefer", "origin"]);
    // Each name once, in one field.
    assert_eq!(page.header_count("vary"), 1);
    server.stop();
}

#[test]
fn the_openapi_document_is_revalidated_with_its_etag() {
    let server = TestServer::start(|a| a);
    let mut c = server.client();
    let r = c.get("/openapi.json");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let etag = r.header("etag").unwrap().to_owned();
    let again = c.request("GET", "/openapi.json", &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    server.stop();
}
