//! Field projection over HTTP: write-only fields never leave the server,
//! read-only fields are never taken from a client, `?fields=` selects a
//! subset of the readable ones (list, keyset list and item).

use lightapi::{Field, Model};
use serde_json::{json, Value};

use crate::support::api::{database_url, Api};
use crate::support::unique;

fn account_api(url: &str) -> (Api, String) {
    let name = unique("account");
    let path = format!("/{name}");
    let model = Model::new(&name)
        .field("login", Field::text().max_length(20))
        .field("password", Field::text().write_only())
        .field("note", Field::text().nullable())
        .field("status", Field::text().nullable().read_only())
        .field("level", Field::integer().default(1))
        .into_resource()
        .filter_fields(&["login", "level"])
        .ordering_fields(&["login"]);
    (Api::start(url, |app| app.register(&path, model)), path)
}

fn keys(row: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn write_only_never_leaves(url: &str) {
    let (api, path) = account_api(url);
    let created = api.create(
        &path,
        &json!({"login": "ada", "password": "s3cret", "note": "n"}),
    );
    let all = ["id", "level", "login", "note", "status"];
    assert_eq!(keys(&created), all);
    let id = created["id"].as_i64().unwrap();
    let item = format!("{path}/{id}");
    let r = api.get(&item);
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("s3cret"));
    assert_eq!(keys(&r.json()), all);
    let etag = r.header("etag").unwrap().to_string();
    let patched = api.with_body(
        "PATCH",
        &item,
        &[&format!("If-Match: {etag}")],
        &json!({"password": "n3w", "note": null}),
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert!(!patched.text().contains("n3w"));
    assert_eq!(keys(&patched.json()), all);
    let put = api.with_body("PUT", &item, &[], &json!({"login": "ada", "password": "p"}));
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(keys(&put.json()), all);
    for list in [path.clone(), format!("{path}?cursor=")] {
        let page = api.get_ok(&list);
        assert_eq!(keys(&page["results"][0]), all);
    }
    // Not selectable, filterable or orderable either.
    api.assert_rejects(&format!("{path}?fields=password"), "fields");
    api.assert_rejects(&format!("{item}?fields=id,password"), "fields");
    api.assert_rejects(&format!("{path}?password=p"), "password");
    api.assert_rejects(&format!("{path}?ordering=password"), "ordering");
}

fn read_only_is_never_accepted(url: &str) {
    let (api, path) = account_api(url);
    let r = api.post(
        &path,
        &json!({"login": "bob", "password": "x", "status": "admin"}),
    );
    r.assert_problem(422);
    assert!(r.text().contains("status"), "{}", r.text());
    let r = api.post(&path, &json!({"login": "bob", "password": "x", "id": 77}));
    r.assert_problem(422);
    let created = api.create(&path, &json!({"login": "bob", "password": "x"}));
    assert_eq!(created["status"], Value::Null);
    let item = format!("{path}/{}", created["id"]);
    let r = api.with_body("PATCH", &item, &[], &json!({"status": "admin"}));
    r.assert_problem(422);
    let r = api.with_body(
        "PUT",
        &item,
        &[],
        &json!({"login": "b", "password": "x", "status": "admin"}),
    );
    r.assert_problem(422);
    assert_eq!(api.get_ok(&item)["status"], Value::Null);
    // Unknown fields and out-of-range integers are refused too.
    api.post(&path, &json!({"login": "c", "password": "x", "extra": 1}))
        .assert_problem(422);
    for level in ["-9223372036854775809", "9223372036854775808", "1e30", "1.5"] {
        let body = format!(r#"{{"login": "c", "password": "x", "level": {level}}}"#);
        let v: Value = serde_json::from_str(&body).unwrap();
        api.post(&path, &v).assert_problem(422);
    }
    let min = api.create(
        &path,
        &json!({"login": "m", "password": "x", "level": i64::MIN}),
    );
    assert_eq!(min["level"], json!(i64::MIN));
}

fn fields_selects_a_subset(url: &str) {
    let (api, path) = account_api(url);
    for i in 0..3 {
        api.create(
            &path,
            &json!({"login": format!("u{i}"), "password": "x", "level": i}),
        );
    }
    for query in [
        "fields=login",
        "fields=id,login&cursor=",
        "fields=login,login,id&page=1",
    ] {
        let page = api.get_ok(&format!("{path}?{query}&ordering=login"));
        let rows = page["results"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        for row in rows {
            let want: Vec<&str> = if query.contains("id") {
                vec!["id", "login"]
            } else {
                vec!["login"]
            };
            assert_eq!(keys(row), want, "{query}");
        }
    }
    // Projection keeps the links working.
    let page = api.get_ok(&format!(
        "{path}?fields=login&cursor=&page_size=2&ordering=login"
    ));
    let next = api.get_ok(page["next"].as_str().unwrap());
    assert_eq!(next["results"], json!([{"login": "u2"}]));
    let id = api.get_ok(&format!("{path}?page_size=1"))["results"][0]["id"].clone();
    let item = api.get_ok(&format!("{path}/{id}?fields=level,note"));
    assert_eq!(keys(&item), ["level", "note"]);
    // A cleared selection is every field.
    let all = api.get_ok(&format!("{path}/{id}?fields="));
    assert_eq!(keys(&all).len(), 5, "{all}");
    for bad in ["fields=nope", "fields=login,", "fields=login&fields=id"] {
        api.assert_rejects(&format!("{path}/{id}?{bad}"), "fields");
    }
    api.assert_rejects(&format!("{path}/{id}?login=u1"), "login");
    // Checked before the conditional answer and before the lookup.
    let etag = api
        .get(&format!("{path}/{id}"))
        .header("etag")
        .unwrap()
        .to_string();
    for inm in ["*".to_string(), etag] {
        let r = api.send(
            "GET",
            &format!("{path}/{id}?fields=nope"),
            &[
                &format!("Authorization: Bearer {}", api.token),
                &format!("If-None-Match: {inm}"),
            ],
            None,
        );
        r.assert_problem(400);
    }
    api.assert_rejects(&format!("{path}/999999?fields=nope"), "fields");
}

/// A body of 80,000 unknown keys (about 1 MB) gets a small `422` that
/// names each listed field once, lists at most 100 and counts the rest.
#[test]
fn sqlite_thousands_of_unknown_keys_get_a_small_422() {
    let db = database_url("unknown-keys");
    let (api, path) = account_api(&db.url);
    let keys = 80_000;
    let mut body = String::from(r#"{"login":"a","password":"p""#);
    for i in 0..keys {
        body.push_str(&format!(r#","u{i:05}":0"#));
    }
    body.push('}');
    assert!(
        body.len() > 800_000 && body.len() < 1024 * 1024,
        "{}",
        body.len()
    );
    let mut c = crate::support::Client::with_token(api.addr, &api.token);
    let r = c.raw_json("POST", &path, body.as_bytes());
    r.assert_problem(422);
    assert!(r.body.len() < 20 * 1024, "{} bytes", r.body.len());
    let doc = r.json();
    let listed = doc["errors"].as_array().unwrap();
    assert_eq!(listed.len(), 100);
    assert_eq!(doc["truncated"], keys - 100);
    let text = r.text();
    for e in listed {
        let field = e["field"].as_str().unwrap();
        assert_eq!(text.matches(&format!("\"{field}\"")).count(), 1, "{field}");
    }
    assert_eq!(
        doc["detail"],
        format!("{keys} invalid fields; the first 100 are listed")
    );
}

#[test]
fn sqlite_write_only_never_leaves() {
    write_only_never_leaves(&database_url("wo").url);
}

#[test]
fn sqlite_read_only_is_never_accepted() {
    read_only_is_never_accepted(&database_url("ro").url);
}

#[test]
fn sqlite_fields_selects_a_subset() {
    fields_selects_a_subset(&database_url("fields").url);
}

/// The same scenarios on live servers, each on a fresh schema/database;
/// skipped with a printed reason when the server does not answer.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod live {
    use crate::support::live_db::{FreshDb, Server};

    fn each(f: fn(&str)) {
        #[cfg(feature = "postgres")]
        if let Some(db) = FreshDb::new(Server::Postgres) {
            f(&db.url);
        }
        #[cfg(feature = "mysql")]
        if let Some(db) = FreshDb::new(Server::Mysql) {
            f(&db.url);
        }
    }

    #[test]
    fn write_only_never_leaves() {
        each(super::write_only_never_leaves);
    }

    #[test]
    fn read_only_is_never_accepted() {
        each(super::read_only_is_never_accepted);
    }

    #[test]
    fn fields_selects_a_subset() {
        each(super::fields_selects_a_subset);
    }
}
