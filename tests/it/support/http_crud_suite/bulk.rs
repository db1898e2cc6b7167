//! Bulk writes on the collection route: an array of objects created in one
//! transaction, and upserts (`Prefer: resolution=…` with `on_conflict`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// `POST path` with a JSON body and `Prefer: prefer`.
fn post_prefer(c: &mut Client, path: &str, prefer: &str, body: &Json) -> Resp {
    let body = serde_json::to_vec(body).unwrap();
    c.request(
        "POST",
        path,
        &[("Content-Type", "application/json"), ("Prefer", prefer)],
        Some(&body),
    )
}

/// `n` people, `first`-numbered names and emails.
fn people(first: usize, n: usize) -> Json {
    Json::Array(
        (first..first + n)
            .map(|i| json!({"name": format!("p{i}"), "email": format!("p{i}@x")}))
            .collect(),
    )
}

/// `(index, field)` of every entry of a problem's `errors`, sorted.
#[track_caller]
fn indexed_errors(doc: &Json) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = doc["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {doc}"))
        .iter()
        .map(|e| {
            assert!(
                e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{doc}"
            );
            (
                e["index"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no index: {doc}")),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn bulk_create_returns_the_rows_in_order(tdb: &dyn TestDb) {
    let s = person_server(tdb, "bulkok");
    let mut c = s.client();
    let r = c.post("/person", &people(0, 5));
    let rows = expect_json(&r, 201);
    assert!(r.header("etag").is_none(), "{r:?}");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let mut last = 0;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["name"], json!(format!("p{i}")), "{row}");
        assert_eq!(row["email_verified"], json!(false), "{row}");
        let id = id_of(row);
        assert!(id > last, "ids in order: {rows:?}");
        last = id;
        // Each row is stored as answered.
        assert_eq!(&expect_json(&c.get(&item("/person", row)), 200), row);
    }
    // `return=minimal`: the same status, no body.
    let r = post_prefer(&mut c, "/person", "return=minimal", &people(5, 2));
    expect(&r, 201);
    assert!(r.body.is_empty(), "{r:?}");
    assert_eq!(r.header("preference-applied"), Some("return=minimal"));
    assert_eq!(count(&mut c, "/person"), 7);
    // A single object keeps its shape.
    let one = expect_json(
        &c.post("/person", &json!({"name": "o", "email": "o@x"})),
        201,
    );
    assert!(one.is_object(), "{one}");
}

pub fn bulk_create_lists_every_bad_item_and_writes_nothing(tdb: &dyn TestDb) {
    let s = person_server(tdb, "bulkbad");
    let mut c = s.client();
    create_person(&mut c, "Ada", "ada@x");
    let body = json!([
        {"name": "ok", "email": "a@x"},
        {"name": "x".repeat(41), "email": "b@x"},
        {"name": "ok", "email": "c@x"},
        {"email": "d@x", "age": "old"},
        7,
    ]);
    let doc = problem(&c.post("/person", &body), 422);
    assert_eq!(
        indexed_errors(&doc),
        [
            (1, "name".to_owned()),
            (3, "age".to_owned()),
            (3, "name".to_owned()),
            (4, String::new()),
        ],
        "{doc}"
    );
    assert_eq!(count(&mut c, "/person"), 1);
    // No item at all.
    let doc = problem(&c.post("/person", &json!([])), 422);
    assert!(doc["detail"].as_str().unwrap().contains("no item"), "{doc}");
    assert_eq!(count(&mut c, "/person"), 1);
}

pub fn bulk_create_conflicts_write_nothing(tdb: &dyn TestDb) {
    let s = person_server(tdb, "bulkdup");
    let mut c = s.client();
    create_person(&mut c, "Ada", "ada@x");
    // Item 5 repeats item 2's email.
    let mut body = people(0, 7);
    body[5]["email"] = json!("p2@x");
    let doc = problem(&c.post("/person", &body), 409);
    assert_eq!(doc["field"], json!("email"), "{doc}");
    assert_eq!(doc["index"], json!(5), "{doc}");
    assert_eq!(count(&mut c, "/person"), 1);
    // Item 5 takes a stored row's email: named where the database keeps
    // the transaction usable to look it up (SQLite, MariaDB), a plain 409
    // on PostgreSQL.
    let mut body = people(0, 7);
    body[5]["email"] = json!("ada@x");
    let doc = problem(&c.post("/person", &body), 409);
    assert_eq!(doc["field"], json!("email"), "{doc}");
    assert!(doc.get("index").is_none_or(|i| *i == json!(5)), "{doc}");
    assert_eq!(count(&mut c, "/person"), 1);
    // The same items without the conflict are all written.
    expect_json(&c.post("/person", &people(0, 7)), 201);
    assert_eq!(count(&mut c, "/person"), 8);
}

/// A foreign key naming no row, in one item of a multi-row insert: a `422`
/// on that item's field, as for a single create, and nothing written.
pub fn bulk_create_names_the_item_of_a_missing_reference(tdb: &dyn TestDb) {
    let db = tdb.database("bulkfk");
    let project = Model::new(&db.table("project")).field("name", Field::text());
    let task = Model::new(&db.table("task"))
        .field("title", Field::text())
        .field(
            "project_id",
            Field::integer().references(&db.table("project")),
        );
    let s = Server::start(db, |app| {
        app.register("/project", project).register("/task", task)
    });
    let mut c = s.client();
    let p = expect_json(&c.post("/project", &json!({"name": "p"})), 201);
    let pid = id_of(&p);
    let body = json!([
        {"title": "a", "project_id": pid},
        {"title": "b", "project_id": pid},
        {"title": "c", "project_id": pid + 1000},
        {"title": "d", "project_id": pid},
    ]);
    let doc = problem(&c.post("/task", &body), 422);
    assert_eq!(doc["index"], json!(2), "{doc}");
    assert_eq!(
        indexed_errors(&doc),
        [(2, "project_id".to_owned())],
        "{doc}"
    );
    assert_eq!(count(&mut c, "/task"), 0);
    let ok = json!([{"title": "a", "project_id": pid}, {"title": "b", "project_id": pid}]);
    expect_json(&c.post("/task", &ok), 201);
    assert_eq!(count(&mut c, "/task"), 2);
}

pub fn bulk_create_over_the_maximum_is_413(tdb: &dyn TestDb) {
    let db = tdb.database("bulkmax");
    let m = person(&db).into_resource().max_bulk(3);
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let doc = problem(&c.post("/person", &people(0, 4)), 413);
    assert!(
        doc["detail"].as_str().unwrap().contains("at most 3"),
        "{doc}"
    );
    assert_eq!(count(&mut c, "/person"), 0);
    expect_json(&c.post("/person", &people(0, 3)), 201);
    assert_eq!(count(&mut c, "/person"), 3);
}

pub fn bulk_create_scopes_every_row(tdb: &dyn TestDb) {
    let db = tdb.database("bulkscope");
    let m = Model::new(&db.table("note"))
        .field("owner", Field::text().max_length(100))
        .field("body", Field::text())
        .field("created_at", Field::datetime().set_on_create())
        .scope("owner", "sub");
    let s = Server::start(db, |app| app.register("/note", m));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    let body = json!([{"body": "a"}, {"body": "b"}, {"body": "c"}]);
    let rows = expect_json(&alice.post("/note", &body), 201);
    for row in rows.as_array().unwrap() {
        assert_eq!(row["owner"], json!("alice"), "{row}");
        assert!(row["created_at"].is_string(), "{row}");
    }
    // The scope column is the server's, in every item.
    let doc = problem(
        &bob.post(
            "/note",
            &json!([{"body": "x"}, {"body": "y", "owner": "alice"}]),
        ),
        422,
    );
    assert_eq!(indexed_errors(&doc), [(1, "owner".to_owned())], "{doc}");
    assert_eq!(count(&mut alice, "/note"), 3);
    assert_eq!(count(&mut bob, "/note"), 0);
}

pub fn bulk_create_runs_hooks_per_row(tdb: &dyn TestDb) {
    use lightapi::resource::{HookContext, HookError, Hooks};
    use lightapi::StatusCode;
    let db = tdb.database("bulkhooks");
    let audit_table = db.table("audit");
    let audit = Model::new(&audit_table).field("task", Field::integer());
    let log_table = audit_table.clone();
    let hooks = Hooks::new()
        .before_create(|ctx: &mut HookContext<'_>| {
            let title = match ctx.value("title") {
                Some(lightapi::Value::Text(t)) => t.clone(),
                _ => String::new(),
            };
            if title == "forbidden" {
                return Err(HookError::refuse(StatusCode::FORBIDDEN, "not that title"));
            }
            ctx.set("title", title.to_uppercase().into())?;
            Ok(())
        })
        .after_write(move |ctx: &mut HookContext<'_>| {
            let d = ctx.dialect();
            let id = ctx.stored("id").cloned().unwrap_or(lightapi::Value::Null);
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                d.quote(&log_table),
                d.quote("task"),
                d.placeholder(1)
            );
            ctx.conn().execute(&sql, &[id])?;
            Ok(())
        });
    let task = Model::new(&db.table("task"))
        .field("title", Field::text())
        .into_resource()
        .hooks(hooks);
    let s = Server::start(db, |app| {
        app.register("/audit", audit).register("/task", task)
    });
    let mut c = s.client();
    let rows = expect_json(
        &c.post(
            "/task",
            &json!([{"title": "a"}, {"title": "b"}, {"title": "c"}]),
        ),
        201,
    );
    let titles: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["A", "B", "C"]);
    assert_eq!(count(&mut c, "/audit"), 3);
    // A hook refusing item 2 rolls back items 0 and 1 and their audit rows.
    let doc = problem(
        &c.post(
            "/task",
            &json!([{"title": "d"}, {"title": "e"}, {"title": "forbidden"}]),
        ),
        403,
    );
    assert_eq!(doc["index"], json!(2), "{doc}");
    assert_eq!(count(&mut c, "/task"), 3);
    assert_eq!(count(&mut c, "/audit"), 3);
}

pub fn upsert_merges_into_existing_rows_and_creates_the_rest(tdb: &dyn TestDb) {
    let s = person_server(tdb, "upmerge");
    let mut c = s.client();
    let ada = expect_json(
        &c.post(
            "/person",
            &json!({"name": "Ada", "email": "ada@x", "age": 36, "email_verified": true}),
        ),
        201,
    );
    let merge = "resolution=merge-duplicates";
    let body = json!([
        {"name": "Ada L.", "email": "ada@x"},
        {"name": "Bob", "email": "bob@x"},
    ]);
    let r = post_prefer(&mut c, "/person?on_conflict=email", merge, &body);
    let rows = expect_json(&r, 201);
    assert!(
        r.header("preference-applied")
            .is_some_and(|p| p.contains(merge)),
        "{r:?}"
    );
    let rows = rows.as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    // The existing row took the fields sent, and kept the others.
    assert_eq!(rows[0]["id"], ada["id"]);
    assert_eq!(rows[0]["name"], json!("Ada L."));
    assert_eq!(rows[0]["age"], json!(36));
    assert_eq!(rows[0]["email_verified"], json!(true));
    assert_eq!(expect_json(&c.get(&item("/person", &ada)), 200), rows[0]);
    assert_eq!(rows[1]["name"], json!("Bob"));
    assert_eq!(count(&mut c, "/person"), 2);
    // The same request again creates nothing, changes nothing, and answers
    // the same rows.
    let again = expect_json(
        &post_prefer(&mut c, "/person?on_conflict=email", merge, &body),
        200,
    );
    assert_eq!(again, Json::Array(rows.clone()));
    assert_eq!(count(&mut c, "/person"), 2);
    // One object: the row, with its ETag.
    let r = post_prefer(
        &mut c,
        "/person?on_conflict=email",
        merge,
        &json!({"name": "Bobby", "email": "bob@x"}),
    );
    let row = expect_json(&r, 200);
    assert_eq!(row["id"], rows[1]["id"]);
    assert_eq!(row["name"], json!("Bobby"));
    assert_eq!(strong_etag(&r), strong_etag(&c.get(&item("/person", &row))));
}

pub fn upsert_ignore_skips_existing_rows(tdb: &dyn TestDb) {
    let s = person_server(tdb, "upignore");
    let mut c = s.client();
    let ada = create_person(&mut c, "Ada", "ada@x");
    let ignore = "resolution=ignore-duplicates";
    let body = json!([
        {"name": "Ada L.", "email": "ada@x"},
        {"name": "Cy", "email": "cy@x"},
    ]);
    let r = post_prefer(&mut c, "/person?on_conflict=email", ignore, &body);
    let rows = expect_json(&r, 201);
    assert_eq!(r.header("preference-applied"), Some(ignore));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["email"], json!("cy@x"));
    assert_eq!(expect_json(&c.get(&item("/person", &ada)), 200), ada);
    // Everything taken: nothing created, nothing shown.
    let r = post_prefer(&mut c, "/person?on_conflict=email", ignore, &body);
    assert_eq!(expect_json(&r, 200), json!([]));
    let r = post_prefer(
        &mut c,
        "/person?on_conflict=email",
        ignore,
        &json!({"name": "x", "email": "ada@x"}),
    );
    expect(&r, 204);
    assert_eq!(count(&mut c, "/person"), 2);
}

pub fn on_conflict_must_name_a_unique_field(tdb: &dyn TestDb) {
    let s = person_server(tdb, "upbad");
    let mut c = s.client();
    let merge = "resolution=merge-duplicates";
    let one = json!({"name": "Ada", "email": "ada@x"});
    for (path, prefer) in [
        ("/person?on_conflict=name", merge),
        ("/person?on_conflict=nope", merge),
        ("/person?on_conflict=age", "return=representation"),
        ("/person?on_conflict=email&on_conflict=email", merge),
    ] {
        let doc = problem(&post_prefer(&mut c, path, prefer, &one), 400);
        assert!(
            doc["detail"].as_str().unwrap().contains("`on_conflict`"),
            "{path}: {doc}"
        );
    }
    assert_eq!(count(&mut c, "/person"), 0);
    // Either alone is a plain create: the preference is not applied, and a
    // taken key is a conflict.
    let r = post_prefer(&mut c, "/person", merge, &one);
    expect_json(&r, 201);
    assert_eq!(r.header("preference-applied"), None, "{r:?}");
    let r = post_prefer(&mut c, "/person", merge, &one);
    assert_eq!(problem(&r, 409)["field"], json!("email"));
    let r = c.post("/person?on_conflict=email", &one);
    assert_eq!(problem(&r, 409)["field"], json!("email"));
    assert_eq!(count(&mut c, "/person"), 1);
}

/// A merge is an update: a model that requires `If-Match` refuses it
/// (`428`), while creating and ignoring stay open.
pub fn merge_is_refused_where_updates_need_if_match(tdb: &dyn TestDb) {
    let db = tdb.database("upifm");
    let m = person(&db).require_if_match();
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let one = json!({"name": "Ada", "email": "ada@x"});
    let path = "/person?on_conflict=email";
    problem(
        &post_prefer(&mut c, path, "resolution=merge-duplicates", &one),
        428,
    );
    assert_eq!(count(&mut c, "/person"), 0);
    expect_json(
        &post_prefer(&mut c, path, "resolution=ignore-duplicates", &one),
        201,
    );
    expect(
        &post_prefer(&mut c, path, "resolution=ignore-duplicates", &one),
        204,
    );
    assert_eq!(count(&mut c, "/person"), 1);
}

pub fn upsert_never_touches_another_owners_row(tdb: &dyn TestDb) {
    let db = tdb.database("upscope");
    let m = Model::new(&db.table("account"))
        .field("owner", Field::text().max_length(100))
        .field("email", Field::text().max_length(100).unique())
        .field("handle", Field::text().max_length(100).unique_in_scope())
        .field("note", Field::text().nullable())
        .scope("owner", "sub");
    let s = Server::start(db, |app| app.register("/account", m));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    let bobs = expect_json(
        &bob.post(
            "/account",
            &json!({"email": "b@x", "handle": "h", "note": "bob's"}),
        ),
        201,
    );
    let merge = "resolution=merge-duplicates";
    // A globally unique key held by another owner: a conflict, as for an
    // insert, and neither changed nor shown.
    for prefer in [merge, "resolution=ignore-duplicates"] {
        let body = json!([
            {"email": "a@x", "handle": "a"},
            {"email": "b@x", "handle": "z", "note": "alice's"},
        ]);
        let r = post_prefer(&mut alice, "/account?on_conflict=email", prefer, &body);
        let doc = problem(&r, 409);
        assert_eq!(doc["index"], json!(1), "{doc}");
        assert!(!r.text().contains("bob"), "{r:?}");
    }
    assert_eq!(count(&mut alice, "/account"), 0);
    assert_eq!(expect_json(&bob.get(&item("/account", &bobs)), 200), bobs);
    // A key unique within the scope resolves within the caller's rows.
    let mine = json!({"email": "a@x", "handle": "h", "note": "alice's"});
    let created = expect_json(
        &post_prefer(&mut alice, "/account?on_conflict=handle", merge, &mine),
        201,
    );
    assert_eq!(created["owner"], json!("alice"));
    let updated = expect_json(
        &post_prefer(
            &mut alice,
            "/account?on_conflict=handle",
            merge,
            &json!({"email": "a@x", "handle": "h", "note": "again"}),
        ),
        200,
    );
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["note"], json!("again"));
    assert_eq!(expect_json(&bob.get(&item("/account", &bobs)), 200), bobs);
}

pub fn upsert_respects_the_write_rule(tdb: &dyn TestDb) {
    let db = tdb.database("uprule");
    let task = Model::new(&db.table("task"))
        .field("code", Field::text().max_length(20).unique())
        .field("title", Field::text())
        .field("assignee", Field::text())
        .restrict_writes("assignee", "sub");
    let s = Server::start(db, |app| app.register("/task", task));
    let mut alice = s.client_as("alice");
    let bobs = expect_json(
        &alice.post(
            "/task",
            &json!({"code": "b", "title": "t", "assignee": "bob"}),
        ),
        201,
    );
    let body = json!([
        {"code": "new", "title": "n", "assignee": "alice"},
        {"code": "b", "title": "mine", "assignee": "alice"},
    ]);
    let doc = problem(
        &post_prefer(
            &mut alice,
            "/task?on_conflict=code",
            "resolution=merge-duplicates",
            &body,
        ),
        403,
    );
    assert_eq!(doc["index"], json!(1), "{doc}");
    // Rolled back: item 0 is not there, bob's row unchanged.
    assert_eq!(count(&mut alice, "/task"), 1);
    assert_eq!(expect_json(&alice.get(&item("/task", &bobs)), 200), bobs);
    // Ignoring it changes nothing and is allowed.
    let rows = expect_json(
        &post_prefer(
            &mut alice,
            "/task?on_conflict=code",
            "resolution=ignore-duplicates",
            &body,
        ),
        201,
    );
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(count(&mut alice, "/task"), 2);
}
