//! The rows of both route tables: routes, statuses, headers, preconditions.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use super::*;

// ---------------------------------------------------------- route table 1

pub fn post_creates_row_with_id_defaults_location_and_etag(tdb: &dyn TestDb) {
    let s = person_server(tdb, "post");
    let mut c = s.client();
    let r = c.post(
        "/person",
        &json!({"name": "Ada", "email": "ada@example.com"}),
    );
    let row = expect_json(&r, 201);
    let id = id_of(&row);
    assert!(id > 0);
    assert_eq!(
        row,
        json!({"id": id, "name": "Ada", "email": "ada@example.com",
               "email_verified": false, "age": null})
    );
    assert_eq!(r.header("location"), Some(format!("/person/{id}").as_str()));
    let tag = strong_etag(&r);

    let g = c.get(&format!("/person/{id}"));
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag);

    let r2 = c.post(
        "/person",
        &json!({"name": "Bob", "email": "bob@example.com", "email_verified": true, "age": 41}),
    );
    let row2 = expect_json(&r2, 201);
    assert_ne!(id_of(&row2), id);
    assert_eq!(row2["email_verified"], json!(true));
    assert_eq!(row2["age"], json!(41));
    assert_ne!(strong_etag(&r2), tag);
    assert_eq!(count(&mut c, "/person"), 2);
}

pub fn list_returns_results_with_pagination(tdb: &dyn TestDb) {
    let s = person_server(tdb, "list");
    let mut c = s.client();
    let empty = expect_json(&c.get("/person"), 200);
    assert_eq!(empty["results"], json!([]));
    assert_eq!(empty["count"], json!(0));
    assert_eq!(empty["next"], Json::Null);
    assert_eq!(empty["previous"], Json::Null);

    let rows: Vec<Json> = (0..5)
        .map(|i| create_person(&mut c, &format!("p{i}"), &format!("p{i}@x")))
        .collect();
    let all = expect_json(&c.get("/person"), 200);
    assert_eq!(all["results"], json!(rows));
    assert_eq!(all["count"], json!(5));
    assert_eq!(all["pages"], json!(1));
    assert_eq!(all["next"], Json::Null);
    assert_eq!(all["previous"], Json::Null);

    let p1 = expect_json(&c.get("/person?page_size=2"), 200);
    assert_eq!(p1["results"], json!(rows[..2]));
    assert_eq!(p1["count"], json!(5));
    assert_eq!(p1["pages"], json!(3));
    assert_eq!(p1["previous"], Json::Null);
    let next = p1["next"].as_str().unwrap().to_owned();
    let p2 = expect_json(&c.get(&next), 200);
    assert_eq!(p2["results"], json!(rows[2..4]));
    assert!(p2["previous"].is_string(), "{p2}");
    let p3 = expect_json(&c.get(p2["next"].as_str().unwrap()), 200);
    assert_eq!(p3["results"], json!(rows[4..]));
    assert_eq!(p3["next"], Json::Null);
    let back = expect_json(&c.get(p3["previous"].as_str().unwrap()), 200);
    assert_eq!(back["results"], p2["results"]);

    let beyond = expect_json(&c.get("/person?page=9&page_size=2"), 200);
    assert_eq!(beyond["results"], json!([]));
    assert_eq!(beyond["count"], json!(5));

    for bad in [
        "/person?page=0",
        "/person?page=-1",
        "/person?page_size=0",
        "/person?page_size=abc",
        "/person?page_size=1000000",
        "/person?nope=1",
        "/person?page=1;DROP%20TABLE%20person",
    ] {
        problem(&c.get(bad), 400);
    }
    assert_eq!(count(&mut c, "/person"), 5);
}

pub fn get_returns_the_row_with_its_etag(tdb: &dyn TestDb) {
    let s = person_server(tdb, "get");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let b = create_person(&mut c, "Bob", "bob@x");
    let ga = c.get(&item("/person", &a));
    assert_eq!(expect_json(&ga, 200), a);
    let gb = c.get(&item("/person", &b));
    assert_eq!(expect_json(&gb, 200), b);
    assert_ne!(strong_etag(&ga), strong_etag(&gb));
    // The tag is stable while the row is.
    assert_eq!(strong_etag(&c.get(&item("/person", &a))), strong_etag(&ga));
}

pub fn put_replaces_the_whole_row(tdb: &dyn TestDb) {
    let s = person_server(tdb, "put");
    let mut c = s.client();
    let r = c.post(
        "/person",
        &json!({"name": "Ada", "email": "ada@x", "email_verified": true, "age": 36}),
    );
    let row = expect_json(&r, 201);
    let path = item("/person", &row);
    let tag = strong_etag(&r);

    let p = c.put(&path, &json!({"name": "Ada L.", "email": "ada@lovelace"}));
    let replaced = expect_json(&p, 200);
    // Absent optional fields are reset to their default, or null.
    assert_eq!(
        replaced,
        json!({"id": id_of(&row), "name": "Ada L.", "email": "ada@lovelace",
               "email_verified": false, "age": null})
    );
    let tag2 = strong_etag(&p);
    assert_ne!(tag2, tag);
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), replaced);
    assert_eq!(strong_etag(&g), tag2);

    // Every required field must be present; nothing is written otherwise.
    expect_invalid(&c.put(&path, &json!({"name": "Only name"})), &["email"]);
    expect_invalid(&c.put(&path, &json!({})), &["email", "name"]);
    expect_invalid(
        &c.put(&path, &json!({"name": "x", "email": "y", "id": 99})),
        &["id"],
    );
    assert_eq!(expect_json(&c.get(&path), 200), replaced);
}

pub fn patch_changes_only_the_fields_sent(tdb: &dyn TestDb) {
    let s = person_server(tdb, "patch");
    let mut c = s.client();
    let r = c.post(
        "/person",
        &json!({"name": "Ada", "email": "ada@x", "age": 36}),
    );
    let row = expect_json(&r, 201);
    let path = item("/person", &row);

    let p = c.patch(&path, &json!({"age": 37}));
    let mut want = row.clone();
    want["age"] = json!(37);
    assert_eq!(expect_json(&p, 200), want);
    assert_ne!(strong_etag(&p), strong_etag(&r));

    // Explicit null clears a nullable field.
    let p = c.patch(&path, &json!({"age": null}));
    want["age"] = Json::Null;
    assert_eq!(expect_json(&p, 200), want);

    // Null on a non-null field is a 422 and writes nothing.
    expect_invalid(&c.patch(&path, &json!({"name": null})), &["name"]);
    expect_invalid(
        &c.patch(
            &path,
            &json!({"name": null, "email_verified": null, "age": 1}),
        ),
        &["email_verified", "name"],
    );
    assert_eq!(expect_json(&c.get(&path), 200), want);

    // An empty patch changes nothing.
    let p = c.patch(&path, &json!({}));
    assert_eq!(expect_json(&p, 200), want);

    let p = c.patch(&path, &json!({"email_verified": true, "name": "Ada L."}));
    want["email_verified"] = json!(true);
    want["name"] = json!("Ada L.");
    assert_eq!(expect_json(&p, 200), want);
    assert_eq!(expect_json(&c.get(&path), 200), want);
}

pub fn delete_answers_204_without_body_then_404(tdb: &dyn TestDb) {
    let s = person_server(tdb, "delete");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let b = create_person(&mut c, "Bob", "bob@x");
    let d = c.delete(&item("/person", &a));
    expect(&d, 204);
    assert!(!d.has_header("content-length"), "{d:?}");
    assert!(!d.has_header("content-type"), "{d:?}");
    // The same keep-alive connection carries on: nothing followed the 204.
    problem(&c.get(&item("/person", &a)), 404);
    problem(&c.delete(&item("/person", &a)), 404);
    let list = expect_json(&c.get("/person"), 200);
    assert_eq!(list["results"], json!([b]));
    // The id is not reused.
    let again = create_person(&mut c, "Ada", "ada@x");
    assert_ne!(id_of(&again), id_of(&a));
}

pub fn options_answers_204_with_allow_on_both_routes(tdb: &dyn TestDb) {
    let s = person_server(tdb, "options");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    for (path, allow) in [
        ("/person".to_owned(), COLLECTION_ALLOW),
        (item("/person", &a), ITEM_ALLOW),
        ("/person/424242".to_owned(), ITEM_ALLOW),
    ] {
        let r = c.request("OPTIONS", &path, &[], None);
        expect(&r, 204);
        assert_eq!(r.allow(), sorted(allow), "{path}");
        assert!(r.body.is_empty());
    }
}

pub fn head_mirrors_get_without_a_body(tdb: &dyn TestDb) {
    let s = person_server(tdb, "head");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    create_person(&mut c, "Bob", "bob@x");
    for path in ["/person".to_owned(), item("/person", &a)] {
        let g = c.get(&path);
        expect(&g, 200);
        let h = c.request("HEAD", &path, &[], None);
        expect(&h, 200);
        assert!(h.body.is_empty());
        assert_eq!(
            h.header("content-length"),
            Some(g.body.len().to_string().as_str()),
            "{path}"
        );
        assert_eq!(h.header("content-type"), g.header("content-type"));
        assert_eq!(h.header("etag"), g.header("etag"));
    }
    // A missing row: GET's status and headers, still no body.
    let g = c.get("/person/424242");
    let h = c.request("HEAD", "/person/424242", &[], None);
    expect(&h, 404);
    assert!(h.body.is_empty());
    assert_eq!(
        h.header("content-length"),
        Some(g.body.len().to_string().as_str())
    );
    // The connection is still in sync.
    expect_json(&c.get("/person"), 200);
}

pub fn trailing_slashes_are_served_on_both_routes(tdb: &dyn TestDb) {
    let s = person_server(tdb, "slash");
    let mut c = s.client();
    let r = c.post("/person/", &json!({"name": "Ada", "email": "ada@x"}));
    let row = expect_json(&r, 201);
    let id = id_of(&row);
    assert_eq!(r.header("location"), Some(format!("/person/{id}").as_str()));
    let list = expect_json(&c.get("/person/"), 200);
    assert_eq!(list["results"], json!([row]));
    let slash = format!("/person/{id}/");
    assert_eq!(expect_json(&c.get(&slash), 200), row);
    expect(&c.request("HEAD", &slash, &[], None), 200);
    expect(&c.request("HEAD", "/person/", &[], None), 200);
    let o = c.request("OPTIONS", "/person/", &[], None);
    expect(&o, 204);
    assert_eq!(o.allow(), sorted(COLLECTION_ALLOW));
    let o = c.request("OPTIONS", &slash, &[], None);
    expect(&o, 204);
    assert_eq!(o.allow(), sorted(ITEM_ALLOW));
    let p = c.put(&slash, &json!({"name": "Ada L.", "email": "ada@x"}));
    assert_eq!(expect_json(&p, 200)["name"], json!("Ada L."));
    let p = c.patch(&slash, &json!({"age": 3}));
    assert_eq!(expect_json(&p, 200)["age"], json!(3));
    expect(&c.delete(&slash), 204);
    problem(&c.get(&slash), 404);
}

pub fn unknown_paths_are_404(tdb: &dyn TestDb) {
    let s = person_server(tdb, "unknown");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let mut anon = s.anon();
    let extra = format!("{}/extra", item("/person", &a));
    for path in [
        "/",
        "/nope",
        "/personx",
        "/person2",
        "/PERSON",
        extra.as_str(),
        "/person/1/2/3",
        "/person//",
    ] {
        problem(&c.get(path), 404);
        problem(&c.post(path, &json!({})), 404);
        problem(&anon.get(path), 404);
    }
}

const BAD_IDS: &[&str] = &[
    "-1",
    "0",
    "1e3",
    "99999999999999999999",
    "abc",
    "01",
    "1.0",
    "+1",
];

pub fn ids_that_are_not_positive_integers_are_404(tdb: &dyn TestDb) {
    let s = person_server(tdb, "badids");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    assert_eq!(id_of(&a).to_string(), "1", "the first id is 1: {a}");
    let body = json!({"name": "Changed", "email": "changed@x"});
    for id in BAD_IDS {
        let path = format!("/person/{id}");
        problem(&c.get(&path), 404);
        problem(&c.put(&path, &body), 404);
        problem(&c.patch(&path, &json!({"name": "Changed"})), 404);
        problem(&c.delete(&path), 404);
        expect(&c.request("HEAD", &path, &[], None), 404);
    }
    assert_eq!(expect_json(&c.get(&item("/person", &a)), 200), a);
    assert_eq!(count(&mut c, "/person"), 1);
}

pub fn missing_rows_are_404_for_every_verb(tdb: &dyn TestDb) {
    let s = person_server(tdb, "missing");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    for id in ["424242", "9223372036854775807"] {
        let path = format!("/person/{id}");
        problem(&c.get(&path), 404);
        problem(
            &c.put(&path, &json!({"name": "New", "email": "new@x"})),
            404,
        );
        problem(&c.patch(&path, &json!({"name": "New"})), 404);
        problem(&c.delete(&path), 404);
    }
    // PUT does not create.
    let list = expect_json(&c.get("/person"), 200);
    assert_eq!(list["results"], json!([a]));
}

pub fn methods_not_offered_are_405_with_allow(tdb: &dyn TestDb) {
    let s = person_server(tdb, "405");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    for m in ["PUT", "PATCH", "DELETE"] {
        let r = c.request(
            m,
            "/person",
            &[("Content-Type", "application/json")],
            Some(b"{}"),
        );
        problem(&r, 405);
        assert_eq!(r.allow(), sorted(COLLECTION_ALLOW), "{m}");
    }
    let r = c.post(&item("/person", &a), &json!({"name": "x", "email": "y"}));
    problem(&r, 405);
    assert_eq!(r.allow(), sorted(ITEM_ALLOW));
    assert_eq!(count(&mut c, "/person"), 1);
}

pub fn bodies_that_are_not_json_objects_are_400(tdb: &dyn TestDb) {
    let s = person_server(tdb, "400");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let bodies: &[&[u8]] = &[
        b"",
        b"{",
        b"not json",
        b"{\"name\": }",
        b"{\"name\": \"a\",}",
        b"{'name': 'a'}",
        b"{\"name\": \"a\"} trailing",
        b"[]",
        b"[{\"name\": \"a\", \"email\": \"b\"}]",
        b"\"a string\"",
        b"null",
        b"42",
        b"true",
        b"\xff\xfe{}",
        b"{\"name\": \"\xff\"}",
    ];
    for body in bodies {
        for (m, p) in [
            ("POST", "/person"),
            ("PUT", path.as_str()),
            ("PATCH", path.as_str()),
        ] {
            // An array is a bulk create on POST (see `bulk`).
            if m == "POST" && body.starts_with(b"[") {
                continue;
            }
            let r = c.raw_json(m, p, body);
            problem(&r, 400);
        }
    }
    // No body at all.
    for (m, p) in [
        ("POST", "/person"),
        ("PUT", path.as_str()),
        ("PATCH", path.as_str()),
    ] {
        problem(&c.request(m, p, &[], None), 400);
    }
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
}

pub fn non_json_content_types_are_415(tdb: &dyn TestDb) {
    let s = person_server(tdb, "415");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let body = br#"{"name": "Eve", "email": "eve@x"}"#;
    for ct in [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "text/json",
    ] {
        for (m, p) in [
            ("POST", "/person"),
            ("PUT", path.as_str()),
            ("PATCH", path.as_str()),
        ] {
            let r = c.request(m, p, &[("Content-Type", ct)], Some(body));
            problem(&r, 415);
        }
    }
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
    // No Content-Type at all is read as JSON.
    let r = c.request(
        "POST",
        "/person",
        &[],
        Some(br#"{"name": "Nat", "email": "nat@x"}"#),
    );
    expect_json(&r, 201);
    // JSON with parameters, or a +json type, is fine.
    let r = c.request(
        "POST",
        "/person",
        &[("Content-Type", "application/json; charset=utf-8")],
        Some(br#"{"name": "Eve", "email": "eve@x"}"#),
    );
    expect_json(&r, 201);
    let r = c.request(
        "PATCH",
        &path,
        &[("Content-Type", "application/merge-patch+json")],
        Some(br#"{"age": 5}"#),
    );
    assert_eq!(expect_json(&r, 200)["age"], json!(5));
}

pub fn validation_lists_every_bad_field(tdb: &dyn TestDb) {
    let s = person_server(tdb, "422");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let everything_wrong = json!({
        "name": "x".repeat(41),
        "email": 5,
        "email_verified": "yes",
        "age": 1.5,
        "extra": 1,
        "id": 7,
    });
    let all = ["age", "email", "email_verified", "extra", "id", "name"];
    expect_invalid(&c.post("/person", &everything_wrong), &all);
    expect_invalid(&c.put(&path, &everything_wrong), &all);
    expect_invalid(&c.patch(&path, &everything_wrong), &all);

    expect_invalid(&c.post("/person", &json!({})), &["email", "name"]);
    expect_invalid(&c.post("/person", &json!({"name": "Eve"})), &["email"]);
    expect_invalid(
        &c.post(
            "/person",
            &json!({"name": ["Eve"], "email": {"a": 1}, "age": "30"}),
        ),
        &["age", "email", "name"],
    );
    expect_invalid(
        &c.post(
            "/person",
            &json!({"name": "Eve", "email": "eve@x", "nickname": "E", "x\"; DROP TABLE person; --": 1}),
        ),
        &["nickname", "x\"; DROP TABLE person; --"],
    );
    expect_invalid(
        &c.patch(&path, &json!({"age": "old", "zzz": 1})),
        &["age", "zzz"],
    );
    // The missing field is reported as required, and named once: in
    // `errors`, the detail only counts.
    let doc = problem(&c.post("/person", &json!({"name": "Eve"})), 422);
    assert_eq!(doc["errors"][0]["field"], json!("email"));
    assert_eq!(doc["errors"][0]["message"], json!("required"));
    assert_eq!(doc["detail"], json!("1 invalid field"), "{doc}");

    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
}

pub fn unique_violation_is_409_naming_the_field(tdb: &dyn TestDb) {
    let s = person_server(tdb, "409u");
    let mut c = s.client();
    create_person(&mut c, "Ada", "ada@x");
    let b = create_person(&mut c, "Bob", "bob@x");
    let path = item("/person", &b);
    let doc = problem(
        &c.post("/person", &json!({"name": "Other Ada", "email": "ada@x"})),
        409,
    );
    assert_eq!(doc["field"], json!("email"), "{doc}");
    let doc = problem(&c.patch(&path, &json!({"email": "ada@x"})), 409);
    assert_eq!(doc["field"], json!("email"), "{doc}");
    let doc = problem(
        &c.put(&path, &json!({"name": "Bob", "email": "ada@x"})),
        409,
    );
    assert_eq!(doc["field"], json!("email"), "{doc}");
    assert_eq!(count(&mut c, "/person"), 2);
    assert_eq!(expect_json(&c.get(&path), 200), b);
    // The server carries on writing after a conflict.
    create_person(&mut c, "Cy", "cy@x");
}

/// The `message` of the one field error of a 422 about `field`.
#[track_caller]
fn reference_error(r: &Resp, field: &str) -> String {
    let doc = problem(r, 422);
    assert_eq!(error_fields(&doc), vec![field.to_owned()], "{doc}");
    doc["errors"][0]["message"].as_str().unwrap().to_owned()
}

pub fn foreign_keys_name_the_field_and_the_referencing_table(tdb: &dyn TestDb) {
    let db = tdb.database("fkname");
    let parent_table = db.table("parent");
    let other_table = db.table("other");
    let child_table = db.table("child");
    let parent = Model::new(&parent_table).field("name", Field::text());
    let other = Model::new(&other_table).field("name", Field::text());
    // Two foreign keys: the answer must say which one names no row.
    let child = Model::new(&child_table)
        .field("parent_id", Field::integer().references(&parent_table))
        .field(
            "other_id",
            Field::integer().nullable().references(&other_table),
        )
        .field("label", Field::text());
    let s = Server::start(db, |app| {
        app.register("/parent", parent)
            .register("/other", other)
            .register("/child", child)
    });
    let mut c = s.client();
    let msg = reference_error(
        &c.post("/child", &json!({"parent_id": 424242, "label": "orphan"})),
        "parent_id",
    );
    assert_eq!(msg, format!("no {parent_table} with id 424242"));
    assert_eq!(count(&mut c, "/child"), 0);

    let p = expect_json(&c.post("/parent", &json!({"name": "P"})), 201);
    let o = expect_json(&c.post("/other", &json!({"name": "O"})), 201);
    let pid = id_of(&p);
    // Each of the two, whichever is missing.
    let msg = reference_error(
        &c.post(
            "/child",
            &json!({"parent_id": pid, "other_id": 777, "label": "x"}),
        ),
        "other_id",
    );
    assert_eq!(msg, format!("no {other_table} with id 777"));
    let msg = reference_error(
        &c.post(
            "/child",
            &json!({"parent_id": 888, "other_id": id_of(&o), "label": "x"}),
        ),
        "parent_id",
    );
    assert_eq!(msg, format!("no {parent_table} with id 888"));
    assert_eq!(count(&mut c, "/child"), 0);

    let k = expect_json(
        &c.post(
            "/child",
            &json!({"parent_id": pid, "other_id": id_of(&o), "label": "kid"}),
        ),
        201,
    );
    let kid = item("/child", &k);
    let msg = reference_error(&c.patch(&kid, &json!({"parent_id": 424242})), "parent_id");
    assert_eq!(msg, format!("no {parent_table} with id 424242"));
    reference_error(&c.patch(&kid, &json!({"other_id": 5})), "other_id");
    reference_error(
        &c.put(
            &kid,
            &json!({"parent_id": 424242, "other_id": null, "label": "kid"}),
        ),
        "parent_id",
    );
    assert_eq!(expect_json(&c.get(&kid), 200), k);

    // A referenced row cannot be deleted: 409 naming the referencing table.
    let doc = problem(&c.delete(&item("/parent", &p)), 409);
    let detail = doc["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("`{child_table}`")), "{doc}");
    assert!(doc.get("field").is_none(), "{doc}");
    assert_eq!(expect_json(&c.get(&item("/parent", &p)), 200), p);
    problem(&c.delete(&item("/other", &o)), 409);
    expect(&c.delete(&kid), 204);
    expect(&c.delete(&item("/parent", &p)), 204);
    expect(&c.delete(&item("/other", &o)), 204);
}

pub fn on_delete_cascades_or_sets_null(tdb: &dyn TestDb) {
    let db = tdb.database("ondelete");
    let project_table = db.table("project");
    let project = Model::new(&project_table).field("name", Field::text());
    let task = Model::new(&db.table("task"))
        .field(
            "project_id",
            Field::integer()
                .references(&project_table)
                .on_delete(OnDelete::Cascade),
        )
        .field("title", Field::text());
    let note = Model::new(&db.table("note"))
        .field(
            "project_id",
            Field::integer()
                .nullable()
                .references(&project_table)
                .on_delete(OnDelete::SetNull),
        )
        .field("body", Field::text());
    let s = Server::start(db, |app| {
        app.register("/project", project)
            .register("/task", task)
            .register("/note", note)
    });
    let mut c = s.client();
    let a = id_of(&expect_json(
        &c.post("/project", &json!({"name": "a"})),
        201,
    ));
    let b = id_of(&expect_json(
        &c.post("/project", &json!({"name": "b"})),
        201,
    ));
    for (p, title) in [(a, "a1"), (a, "a2"), (b, "b1")] {
        expect(
            &c.post("/task", &json!({"project_id": p, "title": title})),
            201,
        );
    }
    let n = expect_json(
        &c.post("/note", &json!({"project_id": a, "body": "n"})),
        201,
    );
    expect(&c.delete(&format!("/project/{a}")), 204);
    // The tasks of `a` went with it; `b`'s stayed; the note lost its project.
    let tasks = expect_json(&c.get("/task?page_size=10"), 200);
    let titles: Vec<&str> = tasks["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["b1"]);
    let note = expect_json(&c.get(&item("/note", &n)), 200);
    assert_eq!(note["project_id"], Json::Null, "{note}");
    assert_eq!(note["body"], json!("n"));
}

pub fn if_match_mismatch_is_412_and_writes_nothing(tdb: &dyn TestDb) {
    let s = person_server(tdb, "412");
    let mut c = s.client();
    let (row, tag0, path) = create_ada(&mut c);
    let ct = ("Content-Type", "application/json");
    let weak = format!("W/{tag0}");
    for wrong in ["\"deadbeef\"", "\"\"", weak.as_str(), "\"x\", \"y\""] {
        let h = [ct, ("If-Match", wrong)];
        problem(
            &c.request("PATCH", &path, &h, Some(br#"{"name": "Eve"}"#)),
            412,
        );
        problem(
            &c.request(
                "PUT",
                &path,
                &h,
                Some(br#"{"name": "Eve", "email": "eve@x"}"#),
            ),
            412,
        );
        problem(
            &c.request("DELETE", &path, &[("If-Match", wrong)], None),
            412,
        );
    }
    // Nothing was written: the row and its tag are unchanged.
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag0);

    let p = c.request(
        "PATCH",
        &path,
        &[ct, ("If-Match", tag0.as_str())],
        Some(br#"{"name": "Ada L."}"#),
    );
    assert_eq!(expect_json(&p, 200)["name"], json!("Ada L."));
    let tag1 = strong_etag(&p);
    assert_ne!(tag1, tag0);
    // The old tag is now stale.
    problem(
        &c.request(
            "PATCH",
            &path,
            &[ct, ("If-Match", tag0.as_str())],
            Some(br#"{"name": "Lost update"}"#),
        ),
        412,
    );
    // A list with the current tag matches.
    let list = format!("\"nope\", {tag1}");
    let p = c.request(
        "PUT",
        &path,
        &[ct, ("If-Match", list.as_str())],
        Some(br#"{"name": "Ada", "email": "ada@x"}"#),
    );
    let tag2 = strong_etag(&p);
    assert_eq!(expect_json(&p, 200)["name"], json!("Ada"));
    problem(
        &c.request("DELETE", &path, &[("If-Match", tag1.as_str())], None),
        412,
    );
    expect(
        &c.request("DELETE", &path, &[("If-Match", tag2.as_str())], None),
        204,
    );
    problem(&c.get(&path), 404);
    // `*` matches any existing row, and no missing one.
    let b = create_person(&mut c, "Bob", "bob@x");
    expect(
        &c.request("DELETE", &item("/person", &b), &[("If-Match", "*")], None),
        204,
    );
    problem(
        &c.request("DELETE", &item("/person", &b), &[("If-Match", "*")], None),
        404,
    );
}

pub fn require_if_match_answers_428_without_it(tdb: &dyn TestDb) {
    let db = tdb.database("428");
    let m = person(&db).require_if_match();
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let (row, tag, path) = create_ada(&mut c);
    problem(&c.patch(&path, &json!({"name": "Eve"})), 428);
    problem(
        &c.put(&path, &json!({"name": "Eve", "email": "eve@x"})),
        428,
    );
    problem(&c.delete(&path), 428);
    // A bad body does not hide the missing precondition.
    problem(&c.patch(&path, &json!({"nope": 1})), 428);
    // A missing row is 404 whether or not If-Match was sent.
    let missing = format!("/person/{}", row["id"].as_i64().unwrap() + 1000);
    problem(&c.patch(&missing, &json!({"name": "Eve"})), 404);
    problem(
        &c.put(&missing, &json!({"name": "Eve", "email": "eve@x"})),
        404,
    );
    problem(&c.delete(&missing), 404);
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag);
    let ct = ("Content-Type", "application/json");
    let p = c.request(
        "PATCH",
        &path,
        &[ct, ("If-Match", tag.as_str())],
        Some(br#"{"name": "Eve"}"#),
    );
    let tag = strong_etag(&p);
    assert_eq!(expect_json(&p, 200)["name"], json!("Eve"));
    problem(
        &c.request("DELETE", &path, &[("If-Match", "\"stale\"")], None),
        412,
    );
    expect(
        &c.request("DELETE", &path, &[("If-Match", tag.as_str())], None),
        204,
    );
}

/// Preconditions are evaluated before the content (RFC 9110 §13.2.1): a
/// write whose If-Match fails and whose body is bad too is a 412, and one
/// for a missing row a 404; with the precondition holding, the body's own
/// error stands.
pub fn preconditions_are_answered_before_the_body(tdb: &dyn TestDb) {
    let s = person_server(tdb, "prebody");
    let mut c = s.client();
    let (row, tag, path) = create_ada(&mut c);
    let missing = format!("/person/{}", row["id"].as_i64().unwrap() + 1000);
    let ct = ("Content-Type", "application/json");
    let stale = ("If-Match", "\"stale\"");
    let current = ("If-Match", tag.as_str());
    let invalid = br#"{"name": 5, "nope": 1}"#;
    for method in ["PUT", "PATCH"] {
        problem(&c.request(method, &path, &[ct, stale], Some(invalid)), 412);
        problem(
            &c.request(method, &path, &[ct, stale], Some(b"{not json")),
            412,
        );
        problem(
            &c.request(method, &missing, &[ct, current], Some(invalid)),
            404,
        );
        problem(
            &c.request(method, &path, &[ct, current], Some(invalid)),
            422,
        );
        problem(&c.request(method, &path, &[ct], Some(invalid)), 422);
        problem(
            &c.request(method, &path, &[ct, current], Some(b"{not json")),
            400,
        );
    }
    // Nothing was written.
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(strong_etag(&g), tag);
}

pub fn if_none_match_answers_304(tdb: &dyn TestDb) {
    let s = person_server(tdb, "304");
    let mut c = s.client();
    let (row, tag, path) = create_ada(&mut c);
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    for inm in [tag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let n = c.request("GET", &path, &[("If-None-Match", inm)], None);
        expect(&n, 304);
        assert!(n.body.is_empty());
        assert_eq!(n.header("etag"), Some(tag.as_str()));
        assert!(!n.has_header("content-length"), "{n:?}");
        let h = c.request("HEAD", &path, &[("If-None-Match", inm)], None);
        expect(&h, 304);
    }
    // The connection is in sync after the bodiless answers.
    let g = c.request("GET", &path, &[("If-None-Match", "\"other\"")], None);
    assert_eq!(expect_json(&g, 200), row);
    // After a change the old tag no longer matches.
    expect_json(&c.patch(&path, &json!({"age": 1})), 200);
    let g = c.request("GET", &path, &[("If-None-Match", tag.as_str())], None);
    assert_eq!(expect_json(&g, 200)["age"], json!(1));
}

pub fn versioned_model_rejects_a_stale_version(tdb: &dyn TestDb) {
    let db = tdb.database("version");
    let m = person(&db).versioned();
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let row = create_person(&mut c, "Ada", "ada@x");
    assert_eq!(row["version"], json!(1), "{row}");
    let path = item("/person", &row);
    expect_invalid(
        &c.post(
            "/person",
            &json!({"name": "Eve", "email": "eve@x", "version": 5}),
        ),
        &["version"],
    );
    let p = c.patch(&path, &json!({"name": "Ada L.", "version": 1}));
    let v2 = expect_json(&p, 200);
    assert_eq!(v2["version"], json!(2));
    let doc = problem(
        &c.patch(&path, &json!({"name": "Stale", "version": 1})),
        409,
    );
    assert_eq!(doc["field"], json!("version"), "{doc}");
    let doc = problem(
        &c.put(
            &path,
            &json!({"name": "Stale", "email": "stale@x", "version": 1}),
        ),
        409,
    );
    assert_eq!(doc["field"], json!("version"), "{doc}");
    assert_eq!(expect_json(&c.get(&path), 200), v2);
    let p = c.put(
        &path,
        &json!({"name": "Ada", "email": "ada@x", "version": 2}),
    );
    assert_eq!(expect_json(&p, 200)["version"], json!(3));
    // Without a version the write is unconditional and still bumps it.
    let p = c.patch(&path, &json!({"age": 9}));
    assert_eq!(expect_json(&p, 200)["version"], json!(4));
    expect_invalid(&c.patch(&path, &json!({"version": "4"})), &["version"]);
}

/// Creates Ada through `c`: her row, its strong ETag and its item path.
fn create_ada(c: &mut Client) -> (Json, String, String) {
    let r = c.post("/person", &json!({"name": "Ada", "email": "ada@x"}));
    let row = expect_json(&r, 201);
    let tag = strong_etag(&r);
    let path = item("/person", &row);
    (row, tag, path)
}

/// `Prefer` (RFC 7240): `return=minimal` answers writes without a body,
/// `return=representation` with the row, `count=none` a page without its
/// total; `Preference-Applied` names what was honoured.
pub fn prefer_return_and_count_are_honoured(tdb: &dyn TestDb) {
    let s = person_server(tdb, "prefer");
    let mut c = s.client();
    let body = br#"{"name": "Ada", "email": "ada@example.com"}"#;
    let json = ("Content-Type", "application/json");
    let r = c.request(
        "POST",
        "/person",
        &[json, ("Prefer", "return=minimal")],
        Some(body),
    );
    expect(&r, 201);
    assert!(r.body.is_empty(), "{r:?}");
    assert_eq!(r.header("preference-applied"), Some("return=minimal"));
    let location = r.header("location").unwrap().to_owned();
    let tag = strong_etag(&r);
    let g = c.get(&location);
    assert_eq!(strong_etag(&g), tag);
    let row = expect_json(&g, 200);

    let r = c.request(
        "PATCH",
        &location,
        &[
            json,
            ("Prefer", "return=minimal"),
            ("If-Match", tag.as_str()),
        ],
        Some(br#"{"age": 36}"#),
    );
    expect(&r, 204);
    assert_eq!(r.header("preference-applied"), Some("return=minimal"));
    let tag2 = strong_etag(&r);
    assert_ne!(tag2, tag);
    let r = c.request(
        "PUT",
        &location,
        &[json, ("Prefer", "return=representation")],
        Some(br#"{"name": "Ada L", "email": "ada@example.com"}"#),
    );
    let replaced = expect_json(&r, 200);
    assert_eq!(replaced["id"], row["id"]);
    assert_eq!(replaced["name"], json!("Ada L"));
    assert_eq!(
        r.header("preference-applied"),
        Some("return=representation")
    );
    // Without Prefer: the row, and no Preference-Applied.
    let r = c.post("/person", &json!({"name": "Bo", "email": "bo@example.com"}));
    expect_json(&r, 201);
    assert_eq!(r.header("preference-applied"), None);

    for i in 0..3 {
        let r = c.post(
            "/person",
            &json!({"name": format!("P{i}"), "email": format!("p{i}@example.com")}),
        );
        expect_json(&r, 201);
    }
    // Five rows, pages of two.
    let r = c.request(
        "GET",
        "/person?page_size=2",
        &[("Prefer", "count=none")],
        None,
    );
    let page = expect_json(&r, 200);
    assert_eq!(r.header("preference-applied"), Some("count=none"));
    assert!(
        page.get("count").is_none() && page.get("pages").is_none(),
        "{page}"
    );
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert!(page["next"].as_str().unwrap().contains("page=2"), "{page}");
    let last = c.request(
        "GET",
        "/person?page_size=2&page=3",
        &[("Prefer", "count=none")],
        None,
    );
    let last = expect_json(&last, 200);
    assert_eq!(last["results"].as_array().unwrap().len(), 1);
    assert_eq!(last["next"], json!(null));
    assert!(
        last["previous"].as_str().unwrap().contains("page=2"),
        "{last}"
    );
    let counted = expect_json(&c.get("/person?page_size=2"), 200);
    assert_eq!(counted["count"], json!(5));
    assert_eq!(counted["pages"], json!(3));
}
