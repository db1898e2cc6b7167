//! Primary keys other than the implicit integer `id`: a text key the
//! client gives (`/thing/{code}`), a uuid key generated when absent, an
//! integer key of another name, foreign keys into a text key, and how the
//! OpenAPI document names them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use super::*;

/// `thing`, keyed by its text `code`.
fn thing(db: &TestDatabase) -> Model {
    Model::new(&db.table("thing"))
        .field("code", Field::text().max_length(40))
        .field("label", Field::text())
        .primary_key("code")
}

/// `token`, keyed by a uuid `uid`.
fn token_model(db: &TestDatabase) -> Model {
    Model::new(&db.table("token"))
        .field("uid", Field::uuid())
        .field("n", Field::integer())
        .primary_key("uid")
}

/// `ticket`, keyed by a database-generated integer `num`.
fn ticket(db: &TestDatabase) -> Model {
    Model::new(&db.table("ticket"))
        .field("title", Field::text())
        .field("num", Field::integer())
        .primary_key("num")
}

/// The path of a `next`/`previous` link, from `base` on.
fn link_path(link: &Json, base: &str) -> String {
    let link = link.as_str().unwrap();
    link.split_once(base)
        .map(|(_, p)| format!("{base}{p}"))
        .unwrap()
}

pub fn text_keys_are_given_by_the_client_and_never_change(tdb: &dyn TestDb) {
    let db = tdb.database("textkey");
    let m = thing(&db);
    let thing_t = m.name().to_owned();
    let s = Server::start(db, |app| {
        app.register("/thing", m.into_resource().filter_fields(&["label"]))
    });
    let mut c = s.client();
    let r = c.post("/thing", &json!({"code": "abc", "label": "A"}));
    let created = expect_json(&r, 201);
    assert_eq!(created, json!({"code": "abc", "label": "A"}));
    assert_eq!(r.header("location"), Some("/thing/abc"));
    let etag = strong_etag(&r);
    // The key is required, and taken only once.
    expect_invalid(&c.post("/thing", &json!({"label": "B"})), &["code"]);
    expect_invalid(
        &c.post("/thing", &json!({"code": "", "label": "B"})),
        &["code"],
    );
    expect_invalid(
        &c.post("/thing", &json!({"code": 5, "label": "B"})),
        &["code"],
    );
    let doc = problem(
        &c.post("/thing", &json!({"code": "abc", "label": "again"})),
        409,
    );
    assert_eq!(doc["field"], json!("code"), "{doc}");
    // Read by its key, with the same ETag as the create gave.
    let r = c.get("/thing/abc");
    assert_eq!(expect_json(&r, 200), created);
    assert_eq!(strong_etag(&r), etag);
    let doc = problem(&c.get("/thing/nope"), 404);
    assert_eq!(
        doc["detail"],
        json!(format!("no {thing_t} with code \"nope\"")),
        "{doc}"
    );
    expect(&c.get(&format!("/thing/{}", "x".repeat(41))), 404);
    // PUT and PATCH may repeat the key, never change it.
    let r = c.put("/thing/abc", &json!({"label": "B"}));
    assert_eq!(expect_json(&r, 200), json!({"code": "abc", "label": "B"}));
    let r = c.put("/thing/abc", &json!({"code": "abc", "label": "C"}));
    assert_eq!(expect_json(&r, 200), json!({"code": "abc", "label": "C"}));
    expect_invalid(
        &c.put("/thing/abc", &json!({"code": "xyz", "label": "D"})),
        &["code"],
    );
    expect_invalid(&c.patch("/thing/abc", &json!({"code": "xyz"})), &["code"]);
    let r = c.patch("/thing/abc", &json!({"code": "abc", "label": "E"}));
    assert_eq!(expect_json(&r, 200), json!({"code": "abc", "label": "E"}));
    expect(&c.get("/thing/xyz"), 404);
    // If-Match on a text key.
    let tag = strong_etag(&c.get("/thing/abc"));
    expect(
        &c.request(
            "PATCH",
            "/thing/abc",
            &[("If-Match", "\"stale\"")],
            Some(br#"{"label": "F"}"#),
        ),
        412,
    );
    expect(
        &c.request(
            "PATCH",
            "/thing/abc",
            &[("If-Match", tag.as_str())],
            Some(br#"{"label": "F"}"#),
        ),
        200,
    );
    // A key holding spaces, a slash, a question mark and non-ASCII text is
    // percent-encoded in Location and read back through it.
    let odd = "a b/é?#%";
    let r = c.post("/thing", &json!({"code": odd, "label": "odd"}));
    expect_json(&r, 201);
    let location = r.header("location").unwrap().to_owned();
    assert_eq!(location, "/thing/a%20b%2F%C3%A9%3F%23%25");
    assert_eq!(expect_json(&c.get(&location), 200)["code"], json!(odd));
    // Filters on the key.
    let page = expect_json(&c.get("/thing?code=abc"), 200);
    assert_eq!(page["count"], json!(1), "{page}");
    let page = expect_json(&c.get("/thing?code__in=abc,zzz"), 200);
    assert_eq!(page["results"][0]["code"], json!("abc"), "{page}");
    // Deleted, then gone.
    expect(&c.delete(&location), 204);
    expect(&c.delete(&location), 404);
    expect(&c.get(&location), 404);
    assert_eq!(count(&mut c, "/thing"), 1);
}

pub fn keyset_pages_walk_text_keys(tdb: &dyn TestDb) {
    let db = tdb.database("textcursor");
    let m = thing(&db);
    let s = Server::start(db, |app| {
        app.register("/thing", m.into_resource().ordering_fields(&["label"]))
    });
    let mut c = s.client();
    let codes = ["k1", "k5", "k3", "k2", "k4", "k 6", "k\"7"];
    for code in codes {
        expect_json(
            &c.post("/thing", &json!({"code": code, "label": "same"})),
            201,
        );
    }
    // By the key itself, and by a label every row shares (the key breaks
    // the ties), forwards and back.
    for ordering in ["code", "label"] {
        let mut seen: Vec<String> = Vec::new();
        let mut path = format!("/thing?ordering={ordering}&cursor=&page_size=2");
        let mut pages = 0;
        loop {
            let page = expect_json(&c.get(&path), 200);
            for row in page["results"].as_array().unwrap() {
                seen.push(row["code"].as_str().unwrap().to_owned());
            }
            pages += 1;
            assert!(pages <= 4, "{page}");
            if page["next"].is_null() {
                // The last page leads back to the one before it.
                let previous = link_path(&page["previous"], "/thing");
                let before = expect_json(&c.get(&previous), 200);
                let back: Vec<&str> = before["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["code"].as_str().unwrap())
                    .collect();
                assert_eq!(back, seen[seen.len() - 3..seen.len() - 1], "{before}");
                break;
            }
            path = link_path(&page["next"], "/thing");
        }
        // Every row once, in the database's own order of the keys.
        let all = expect_json(&c.get("/thing?ordering=code&page_size=100"), 200);
        let want: Vec<String> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(want.len(), codes.len());
        assert_eq!(seen, want, "ordering={ordering}");
    }
}

pub fn uuid_keys_are_generated_when_absent(tdb: &dyn TestDb) {
    let db = tdb.database("uuidkey");
    let m = token_model(&db);
    let s = Server::start(db, |app| app.register("/token", m));
    let mut c = s.client();
    let r = c.post("/token", &json!({"n": 1}));
    let made = expect_json(&r, 201);
    let uid = made["uid"].as_str().unwrap().to_owned();
    assert_eq!(uid.len(), 36, "{made}");
    assert_eq!(uid, uid.to_ascii_lowercase());
    assert_eq!(uid.as_bytes()[14], b'4', "a version 4 UUID: {uid}");
    assert_eq!(r.header("location"), Some(format!("/token/{uid}").as_str()));
    let other = expect_json(&c.post("/token", &json!({"n": 2})), 201);
    assert_ne!(other["uid"], made["uid"]);
    // Given, in any case: stored lower-case.
    let given = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11";
    let lower = given.to_ascii_lowercase();
    let r = c.post("/token", &json!({"uid": given, "n": 3}));
    assert_eq!(expect_json(&r, 201), json!({"uid": lower, "n": 3}));
    assert_eq!(
        r.header("location"),
        Some(format!("/token/{lower}").as_str())
    );
    let doc = problem(&c.post("/token", &json!({"uid": lower, "n": 4})), 409);
    assert_eq!(doc["field"], json!("uid"), "{doc}");
    expect_invalid(&c.post("/token", &json!({"uid": "nope", "n": 5})), &["uid"]);
    expect_invalid(&c.post("/token", &json!({"uid": 7, "n": 5})), &["uid"]);
    // Read in either case; anything else in the path is no row.
    assert_eq!(
        expect_json(&c.get(&format!("/token/{given}")), 200)["n"],
        json!(3)
    );
    for bad in ["nope", "1", "a0eebc999c0b4ef8bb6d6bb9bd380a11"] {
        expect(&c.get(&format!("/token/{bad}")), 404);
        expect(&c.delete(&format!("/token/{bad}")), 404);
    }
    expect_invalid(
        &c.patch(&format!("/token/{lower}"), &json!({"uid": uid})),
        &["uid"],
    );
    let r = c.patch(&format!("/token/{given}"), &json!({"uid": given, "n": 30}));
    assert_eq!(expect_json(&r, 200), json!({"uid": lower, "n": 30}));
    // Keyset pages over uuid keys.
    let first = expect_json(&c.get("/token?cursor=&page_size=2"), 200);
    let next = expect_json(&c.get(&link_path(&first["next"], "/token")), 200);
    let mut all: Vec<String> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(next["results"].as_array().unwrap())
        .map(|r| r["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 3, "{next}");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 3);
    expect(&c.delete(&format!("/token/{given}")), 204);
    expect(&c.get(&format!("/token/{lower}")), 404);
}

pub fn integer_keys_may_have_another_name(tdb: &dyn TestDb) {
    let db = tdb.database("numkey");
    let m = ticket(&db);
    let s = Server::start(db, |app| app.register("/ticket", m));
    let mut c = s.client();
    let r = c.post("/ticket", &json!({"title": "a"}));
    let a = expect_json(&r, 201);
    let num = a["num"].as_i64().unwrap();
    assert!(num >= 1, "{a}");
    assert_eq!(a, json!({"num": num, "title": "a"}));
    assert!(a.get("id").is_none());
    assert_eq!(
        r.header("location"),
        Some(format!("/ticket/{num}").as_str())
    );
    let b = expect_json(&c.post("/ticket", &json!({"title": "b"})), 201);
    assert!(b["num"].as_i64().unwrap() > num);
    // The database gives it: a client never does.
    expect_invalid(
        &c.post("/ticket", &json!({"num": 99, "title": "c"})),
        &["num"],
    );
    expect_invalid(
        &c.patch(&format!("/ticket/{num}"), &json!({"num": num})),
        &["num"],
    );
    expect_invalid(&c.post("/ticket", &json!({"id": 1, "title": "c"})), &["id"]);
    assert_eq!(expect_json(&c.get(&format!("/ticket/{num}")), 200), a);
    for bad in ["abc", "0", "01", "-1"] {
        expect(&c.get(&format!("/ticket/{bad}")), 404);
    }
    let page = expect_json(&c.get("/ticket?ordering=-num"), 200);
    assert_eq!(page["results"][0], b, "{page}");
    let page = expect_json(&c.get(&format!("/ticket?num={num}")), 200);
    assert_eq!(page["results"], json!([a]), "{page}");
    let first = expect_json(&c.get("/ticket?cursor=&page_size=1"), 200);
    let next = expect_json(&c.get(&link_path(&first["next"], "/ticket")), 200);
    assert_eq!(next["results"], json!([b]), "{next}");
    expect(&c.delete(&format!("/ticket/{num}")), 204);
    expect(&c.get(&format!("/ticket/{num}")), 404);
}

pub fn foreign_keys_reference_text_keys(tdb: &dyn TestDb) {
    let db = tdb.database("textfk");
    let parent = thing(&db);
    let thing_t = parent.name().to_owned();
    let part = Model::new(&db.table("part"))
        .field("name", Field::text())
        .field("thing_id", Field::text().references(&thing_t));
    let part_t = part.name().to_owned();
    let s = Server::start(db, |app| {
        app.register("/thing", parent)
            .register("/part", part)
            .register_nested("/thing/{id}/part", &part_t, "thing_id")
    });
    let mut c = s.client();
    expect_json(
        &c.post("/thing", &json!({"code": "t 1", "label": "one"})),
        201,
    );
    expect_json(
        &c.post("/thing", &json!({"code": "t2", "label": "two"})),
        201,
    );
    let p = expect_json(
        &c.post("/part", &json!({"name": "p", "thing_id": "t 1"})),
        201,
    );
    let pid = p["id"].as_i64().unwrap();
    // A reference to no row is the field's fault.
    let doc = problem(
        &c.post("/part", &json!({"name": "q", "thing_id": "missing"})),
        422,
    );
    assert_eq!(error_fields(&doc), ["thing_id"], "{doc}");
    expect_invalid(
        &c.post("/part", &json!({"name": "q", "thing_id": 5})),
        &["thing_id"],
    );
    expect_invalid(
        &c.patch(&format!("/part/{pid}"), &json!({"thing_id": "missing"})),
        &["thing_id"],
    );
    // Expanded and embedded.
    let item = expect_json(&c.get(&format!("/part/{pid}?expand=thing")), 200);
    assert_eq!(
        item,
        json!({"id": pid, "name": "p", "thing_id": "t 1",
            "thing": {"code": "t 1", "label": "one"}})
    );
    let page = expect_json(&c.get("/part?expand=thing"), 200);
    assert_eq!(page["results"][0]["thing"]["label"], json!("one"), "{page}");
    let parent = expect_json(&c.get(&format!("/thing/t%201?embed={part_t}")), 200);
    assert_eq!(
        parent[part_t.as_str()],
        json!({"count": 1, "results": [{"id": pid, "name": "p", "thing_id": "t 1"}]}),
        "{parent}"
    );
    let page = expect_json(&c.get(&format!("/thing?embed={part_t}")), 200);
    let counts: Vec<&Json> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r[part_t.as_str()]["count"])
        .collect();
    assert_eq!(counts, [&json!(1), &json!(0)], "{page}");
    // Under the parent's key in the path.
    let r = c.post("/thing/t2/part", &json!({"name": "under"}));
    let under = expect_json(&r, 201);
    assert_eq!(under["thing_id"], json!("t2"));
    let listed = expect_json(&c.get("/thing/t2/part"), 200);
    assert_eq!(listed["results"], json!([under]), "{listed}");
    expect(&c.get("/thing/nope/part"), 404);
    // A parent still referenced is not deleted.
    let doc = problem(&c.delete("/thing/t%201"), 409);
    assert!(
        doc["detail"].as_str().unwrap().contains("still referenced"),
        "{doc}"
    );
    expect_json(&c.get("/thing/t%201"), 200);
    expect(&c.delete(&format!("/part/{pid}")), 204);
    expect(&c.delete("/thing/t%201"), 204);
}

pub fn openapi_names_the_key_in_paths_and_schemas(tdb: &dyn TestDb) {
    let db = tdb.database("keydoc");
    let (a, b, t, p) = (thing(&db), token_model(&db), ticket(&db), person(&db));
    let s = Server::start(db, |app| {
        app.register("/thing", a)
            .register("/token", b)
            .register("/ticket", t)
            .register("/person", p)
    });
    let doc = expect_json(&s.client().get("/openapi.json"), 200);
    let paths = doc["paths"].as_object().unwrap();
    for (path, name, schema) in [
        (
            "/thing/{code}",
            "code",
            json!({"type": "string", "minLength": 1, "maxLength": 40}),
        ),
        ("/token/{uid}", "uid", json!("uuid")),
        (
            "/ticket/{num}",
            "num",
            json!({"type": "integer", "format": "int64", "minimum": 1}),
        ),
        (
            "/person/{id}",
            "id",
            json!({"type": "integer", "format": "int64", "minimum": 1}),
        ),
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("no {path} in {paths:?}"));
        let params = item["parameters"].as_array().unwrap();
        assert_eq!(params.len(), 1, "{item}");
        assert_eq!(params[0]["name"], json!(name), "{item}");
        assert_eq!(params[0]["in"], json!("path"));
        match schema {
            Json::String(format) => {
                assert_eq!(params[0]["schema"]["type"], json!("string"));
                assert_eq!(params[0]["schema"]["format"], json!(format));
            }
            schema => assert_eq!(params[0]["schema"], schema, "{path}"),
        }
    }
    for gone in ["/thing/{id}", "/token/{id}", "/ticket/{id}"] {
        assert!(!paths.contains_key(gone), "{gone}");
    }
    // The row schemas show the key as declared.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let with = |field: &str, other: &str| -> (&String, &Json) {
        schemas
            .iter()
            .find(|(n, s)| {
                !n.ends_with("Fields")
                    && !n.ends_with("Patch")
                    && s["properties"].get(field).is_some()
                    && s["properties"].get(other).is_some()
            })
            .unwrap_or_else(|| panic!("no schema with {field} and {other}: {:?}", schemas.keys()))
    };
    let row = |field: &str, other: &str| -> Json {
        let (name, _) = with(field, other);
        let base = name.trim_end_matches("Create");
        schemas
            .get(base)
            .cloned()
            .unwrap_or_else(|| panic!("no {base}: {:?}", schemas.keys()))
    };
    let create = |field: &str, other: &str| -> Json {
        let (name, _) = with(field, other);
        let want = format!("{}Create", name.trim_end_matches("Create"));
        schemas
            .get(&want)
            .cloned()
            .unwrap_or_else(|| panic!("no {want}: {:?}", schemas.keys()))
    };
    let thing_row = row("code", "label");
    assert_eq!(thing_row["properties"]["code"]["type"], json!("string"));
    assert!(thing_row["properties"]["code"].get("readOnly").is_none());
    let thing_create = create("code", "label");
    assert!(
        thing_create["required"]
            .as_array()
            .unwrap()
            .contains(&json!("code")),
        "{thing_create}"
    );
    // A replace may leave the key out: the path gives it.
    let (name, _) = with("code", "label");
    let replace = &schemas[&format!("{}Replace", name.trim_end_matches("Create"))];
    assert!(
        !replace["required"]
            .as_array()
            .unwrap()
            .contains(&json!("code")),
        "{replace}"
    );
    assert_eq!(replace["properties"]["code"]["type"], json!("string"));
    let put =
        &paths["/thing/{code}"]["put"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(put["$ref"].as_str().unwrap().ends_with("Replace"), "{put}");
    let token_create = create("uid", "n");
    assert_eq!(token_create["properties"]["uid"]["format"], json!("uuid"));
    assert!(
        !token_create["required"]
            .as_array()
            .unwrap()
            .contains(&json!("uid")),
        "{token_create}"
    );
    let ticket_row = row("num", "title");
    assert_eq!(ticket_row["properties"]["num"]["readOnly"], json!(true));
    let ticket_create = create("num", "title");
    assert!(
        ticket_create["properties"].get("num").is_none(),
        "{ticket_create}"
    );
}

pub fn an_existing_tables_key_must_be_the_models(tdb: &dyn TestDb) {
    let db = tdb.database("keyschema");
    let plain = Model::new(&db.table("plain"))
        .field("code", Field::text().max_length(40))
        .field("label", Field::text());
    let keyed_t = db.table("keyed");
    let start = |m: Model| TestServer::try_start(config(&db), |app| app.register("/x", m));
    // A table keyed by `id` does not serve a model keyed by `code`.
    start(plain.clone()).unwrap().stop();
    let err = start(plain.clone().primary_key("code"))
        .map(TestServer::stop)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has the primary key (`id`), but the model's key is `code`"),
        "{err}"
    );
    // A table made for a text key serves it again, and not the implicit
    // `id` (which it has no column for).
    let keyed = Model::new(&keyed_t)
        .field("code", Field::text().max_length(40))
        .field("label", Field::text())
        .primary_key("code");
    let s = start(keyed.clone()).unwrap();
    expect_json(
        &s.client_as("alice")
            .post("/x", &json!({"code": "a", "label": "b"})),
        201,
    );
    s.stop();
    let s = start(keyed).unwrap();
    assert_eq!(
        expect_json(&s.client_as("alice").get("/x/a"), 200),
        json!({"code": "a", "label": "b"})
    );
    s.stop();
    let unkeyed = Model::new(&keyed_t)
        .field("code", Field::text().max_length(40))
        .field("label", Field::text());
    let err = start(unkeyed)
        .map(TestServer::stop)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no column `id`"), "{err}");
}

pub fn bulk_writes_take_text_keys(tdb: &dyn TestDb) {
    let db = tdb.database("textbulk");
    let m = thing(&db);
    let s = Server::start(db, |app| app.register("/thing", m));
    let mut c = s.client();
    // Created in one transaction, answered in the order sent.
    let r = c.post(
        "/thing",
        &json!([{"code": "m", "label": "1"}, {"code": "b", "label": "2"}, {"code": "x", "label": "3"}]),
    );
    let rows = expect_json(&r, 201);
    let codes: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["m", "b", "x"], "{rows}");
    // A key taken, in the database or earlier in the array: nothing written.
    for body in [
        json!([{"code": "n", "label": "4"}, {"code": "b", "label": "5"}]),
        json!([{"code": "p", "label": "6"}, {"code": "p", "label": "7"}]),
    ] {
        let doc = problem(&c.post("/thing", &body), 409);
        assert_eq!(doc["field"], json!("code"), "{doc}");
        assert_eq!(count(&mut c, "/thing"), 3);
    }
    expect_invalid(&c.post("/thing", &json!([{"label": "no key"}])), &["code"]);
    // Upserts on the key: merged into the existing row, created otherwise.
    let body = serde_json::to_vec(&json!([
        {"code": "b", "label": "two"},
        {"code": "z", "label": "26"},
    ]))
    .unwrap();
    let r = c.request(
        "POST",
        "/thing?on_conflict=code",
        &[
            ("Content-Type", "application/json"),
            ("Prefer", "resolution=merge-duplicates"),
        ],
        Some(&body),
    );
    assert_eq!(
        expect_json(&r, 201),
        json!([{"code": "b", "label": "two"}, {"code": "z", "label": "26"}])
    );
    assert_eq!(
        expect_json(&c.get("/thing/b"), 200),
        json!({"code": "b", "label": "two"})
    );
    assert_eq!(count(&mut c, "/thing"), 4);
}

pub fn hooks_see_the_key(tdb: &dyn TestDb) {
    use lightapi::model::Key;
    use lightapi::resource::{HookContext, Hooks};
    let db = tdb.database("keyhooks");
    let m = thing(&db).field("seen", Field::text().nullable());
    let key_text = |ctx: &HookContext<'_>| match ctx.key() {
        Some(Key::Text(k)) => k.to_string(),
        other => format!("{other:?}"),
    };
    let hooks = Hooks::new()
        .before_create(move |ctx: &mut HookContext<'_>| {
            let seen = format!("create {}", key_text(ctx));
            ctx.set("seen", seen.into())
        })
        .before_update(move |ctx: &mut HookContext<'_>| {
            if matches!(ctx.value("label"), Some(lightapi::Value::Text(l)) if l == "rekey") {
                // The key is not a hook's to change.
                ctx.set("code", "other".into())?;
            }
            let seen = format!("update {}", key_text(ctx));
            ctx.set("seen", seen.into())
        });
    let s = Server::start(db, |app| {
        app.register("/thing", m.into_resource().hooks(hooks))
    });
    let mut c = s.client();
    let made = expect_json(
        &c.post("/thing", &json!({"code": "k 1", "label": "a"})),
        201,
    );
    assert_eq!(made["seen"], json!("create k 1"), "{made}");
    let changed = expect_json(&c.patch("/thing/k%201", &json!({"label": "b"})), 200);
    assert_eq!(changed["seen"], json!("update k 1"), "{changed}");
    problem(&c.patch("/thing/k%201", &json!({"label": "rekey"})), 500);
    assert_eq!(
        expect_json(&c.get("/thing/k%201"), 200)["label"],
        json!("b")
    );
}
