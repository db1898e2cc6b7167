//! Restricted verbs, custom endpoints meeting a model, authentication and
//! row scoping, and concurrent writers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use super::*;

// ---------------------------------------------------------- verbs, custom

pub fn read_only_resource_offers_only_get(tdb: &dyn TestDb) {
    let db = tdb.database("readonly");
    let m = Model::new(&db.table("catalog")).field("title", Field::text());
    // Seed one row through the library, since the API cannot write.
    {
        let backend = lightapi::__private::backend::connect(&db.url, &Default::default()).unwrap();
        lightapi::__private::crud::schema::ensure_table(&*backend, &m).unwrap();
        let row =
            lightapi::__private::crud::validate::validate_create(&m, &json!({"title": "Book"}))
                .unwrap();
        lightapi::__private::crud::ops::create(
            &*backend,
            &crate::support::etag_key(),
            &m,
            row,
            None,
        )
        .unwrap();
        backend.close();
    }
    let resource = m.into_resource().methods(&[Method::Get]);
    let s = Server::start(db, |app| app.register("/catalog", resource));
    let mut c = s.client();
    let list = expect_json(&c.get("/catalog"), 200);
    assert_eq!(list["results"], json!([{"id": 1, "title": "Book"}]));
    expect_json(&c.get("/catalog/1"), 200);
    expect(&c.request("HEAD", "/catalog/1", &[], None), 200);
    let read_only = sorted(&["GET", "HEAD", "OPTIONS"]);
    let r = c.post("/catalog", &json!({"title": "New"}));
    problem(&r, 405);
    assert_eq!(r.allow(), read_only);
    for (m, body) in [
        ("PUT", Some(&br#"{"title": "X"}"#[..])),
        ("PATCH", Some(&br#"{"title": "X"}"#[..])),
        ("DELETE", None),
    ] {
        let h: &[(&str, &str)] = if body.is_some() {
            &[("Content-Type", "application/json")]
        } else {
            &[]
        };
        let r = c.request(m, "/catalog/1", h, body);
        problem(&r, 405);
        assert_eq!(r.allow(), read_only, "{m}");
    }
    for path in ["/catalog", "/catalog/1"] {
        let o = c.request("OPTIONS", path, &[], None);
        expect(&o, 204);
        assert_eq!(o.allow(), read_only, "{path}");
    }
    let list2 = expect_json(&c.get("/catalog"), 200);
    assert_eq!(list2, list);
}

pub fn excluded_delete_is_405(tdb: &dyn TestDb) {
    let db = tdb.database("nodelete");
    let m = person(&db).into_resource().exclude(&[Method::Delete]);
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let r = c.delete(&path);
    problem(&r, 405);
    let no_delete = sorted(&["GET", "HEAD", "OPTIONS", "PATCH", "PUT"]);
    assert_eq!(r.allow(), no_delete);
    let o = c.request("OPTIONS", &path, &[], None);
    assert_eq!(o.allow(), no_delete);
    let o = c.request("OPTIONS", "/person", &[], None);
    assert_eq!(o.allow(), sorted(COLLECTION_ALLOW));
    assert_eq!(expect_json(&c.get(&path), 200), a);
    expect_json(&c.patch(&path, &json!({"age": 2})), 200);
}

/// Overrides `POST` on a model: rejects blank titles with a 422, stamps
/// `created_by` from the token, then runs the generated create.
struct StampedPost;

impl Endpoint for StampedPost {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Post])
    }

    fn post(&self, req: &Request) -> HandlerResult {
        let mut body = req.json()?;
        let obj = body
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
        if obj
            .get("title")
            .and_then(Json::as_str)
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ApiError::validation(vec![FieldError {
                field: "title".into(),
                message: "must not be blank".into(),
            }]));
        }
        let sub = req.claims().and_then(|c| c.sub()).unwrap_or("").to_owned();
        obj.insert("created_by".into(), json!(sub));
        let stamped = req.clone().with_body(serde_json::to_vec(&body).unwrap());
        req.crud().unwrap().create(&stamped)
    }
}

/// Counts a model's rows by `created_by` with its own parameterised SQL.
struct CountBy {
    table: String,
}

impl Endpoint for CountBy {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        let db = req.backend().unwrap();
        let d = db.dialect();
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE {} = {}",
            d.quote(&self.table),
            d.quote("created_by"),
            d.placeholder(1)
        );
        let who = Value::Text(req.query_param("by").unwrap_or("").to_owned());
        let rows = read_with(&**db, |c| c.query(&sql, &[who], &[FieldType::Integer]))?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => Ok(json!({ "count": n }).into()),
            other => Err(ApiError::internal(format!("unexpected count {other:?}"))),
        }
    }
}

fn post_model(db: &TestDatabase) -> Model {
    Model::new(&db.table("post"))
        .field("title", Field::text())
        .field("created_by", Field::text())
}

pub fn custom_endpoint_overrides_post_and_list_stays_generated(tdb: &dyn TestDb) {
    let db = tdb.database("custompost");
    let m = post_model(&db).into_resource().endpoint(StampedPost);
    let s = Server::start(db, |app| app.register("/post", m));
    let mut alice = s.client_as("alice");
    let r = alice.post("/post", &json!({"title": "Hello", "created_by": "mallory"}));
    let row = expect_json(&r, 201);
    assert_eq!(row["created_by"], json!("alice"));
    assert_eq!(row["title"], json!("Hello"));
    assert_eq!(r.header("location"), Some(item("/post", &row).as_str()));
    strong_etag(&r);
    expect_invalid(&alice.post("/post", &json!({"title": "  "})), &["title"]);
    // The generated validation still runs behind the override.
    expect_invalid(
        &alice.post("/post", &json!({"title": 5, "extra": true})),
        &["extra", "title"],
    );
    problem(&alice.raw_json("POST", "/post", b"[1]"), 400);
    let mut bob = s.client_as("bob");
    let row_b = expect_json(&bob.post("/post", &json!({"title": "Hi"})), 201);
    assert_eq!(row_b["created_by"], json!("bob"));
    // GET list and GET one stay generated.
    let list = expect_json(&alice.get("/post"), 200);
    assert_eq!(list["results"], json!([row, row_b]));
    assert_eq!(list["count"], json!(2));
    assert_eq!(expect_json(&alice.get(&item("/post", &row)), 200), row);
    let p = alice.patch(&item("/post", &row), &json!({"title": "Edited"}));
    assert_eq!(expect_json(&p, 200)["title"], json!("Edited"));
    let o = alice.request("OPTIONS", "/post", &[], None);
    assert_eq!(o.allow(), sorted(COLLECTION_ALLOW));
    problem(&s.anon().post("/post", &json!({"title": "x"})), 401);
}

pub fn custom_endpoint_runs_its_own_sql(tdb: &dyn TestDb) {
    let db = tdb.database("customsql");
    let table = db.table("post");
    let m = post_model(&db);
    let s = Server::start(db, |app| {
        app.register("/post", m)
            .register("/post_stats", CountBy { table })
    });
    let mut c = s.client();
    for (title, by) in [("a", "alice"), ("b", "alice"), ("c", "bob")] {
        expect_json(
            &c.post("/post", &json!({"title": title, "created_by": by})),
            201,
        );
    }
    let n = |c: &mut Client, by: &str| {
        let r = c.get(&format!("/post_stats?by={by}"));
        expect_json(&r, 200)["count"].as_i64().unwrap()
    };
    assert_eq!(n(&mut c, "alice"), 2);
    assert_eq!(n(&mut c, "bob"), 1);
    assert_eq!(n(&mut c, "nobody"), 0);
    assert_eq!(n(&mut c, "x%27%20OR%20%271%27%3D%271"), 0);
    let o = c.request("OPTIONS", "/post_stats", &[], None);
    assert_eq!(o.allow(), sorted(&["GET", "HEAD", "OPTIONS"]));
    problem(&c.post("/post_stats", &json!({})), 405);
    problem(&s.anon().get("/post_stats?by=alice"), 401);
}

/// An endpoint that forgets to declare its verbs.
struct Undeclared;

impl Endpoint for Undeclared {
    fn post(&self, _req: &Request) -> HandlerResult {
        Err(lightapi::auth::AuthError::Forbidden.into())
    }
}

/// An override that would be silently ignored (the generated POST would run
/// instead of the user's checks) is a start-up error naming the fix.
pub fn endpoint_without_methods_is_refused_at_start(tdb: &dyn TestDb) {
    let db = tdb.database("undeclared");
    let m = person(&db).into_resource().endpoint(Undeclared);
    let err = TestServer::try_start(config(&db), |app| app.register("/person", m))
        .map(TestServer::stop)
        .unwrap_err();
    assert!(err.to_string().contains("methods"), "{err}");
}

// ------------------------------------------------------------------- auth

pub fn routes_require_a_token(tdb: &dyn TestDb) {
    let s = person_server(tdb, "401");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let other_secret = sign_subject(
        "alice",
        Duration::from_secs(3600),
        unix_now(),
        serde_json::Map::new(),
        b"another-secret-that-is-long-enough-0123456789",
    );
    let expired = sign_subject(
        "alice",
        Duration::from_secs(1),
        unix_now() - 7200,
        serde_json::Map::new(),
        SECRET,
    );
    let body = br#"{"name": "Eve", "email": "eve@x"}"#;
    for (auth, sent) in [
        (None, false),
        (Some("Bearer not.a.token".to_owned()), true),
        (Some(format!("Bearer {other_secret}")), true),
        (Some(format!("Bearer {expired}")), true),
    ] {
        let mut anon = s.anon();
        for (m, p, b) in [
            ("GET", "/person", None),
            ("POST", "/person", Some(&body[..])),
            ("GET", path.as_str(), None),
            ("PUT", path.as_str(), Some(&body[..])),
            ("PATCH", path.as_str(), Some(&body[..])),
            ("DELETE", path.as_str(), None),
            ("HEAD", path.as_str(), None),
        ] {
            let mut h = vec![("Content-Type", "application/json")];
            if let Some(v) = &auth {
                h.push(("Authorization", v.as_str()));
            }
            let r = anon.request(m, p, &h, b);
            if m == "HEAD" {
                expect(&r, 401);
            } else {
                problem(&r, 401);
            }
            let www = r
                .header("www-authenticate")
                .unwrap_or_else(|| panic!("{r:?}"));
            assert!(www.starts_with("Bearer"), "{www}");
            assert_eq!(www.contains("invalid_token"), sent, "{auth:?}: {www}");
        }
    }
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
}

pub fn public_get_with_authenticated_writes(tdb: &dyn TestDb) {
    let db = tdb.database("public");
    let m = person(&db)
        .into_resource()
        .access(Method::Get, Access::Public);
    let s = Server::start(db, |app| app.register("/person", m));
    let mut c = s.client();
    let mut anon = s.anon();
    problem(
        &anon.post("/person", &json!({"name": "Eve", "email": "eve@x"})),
        401,
    );
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let list = expect_json(&anon.get("/person"), 200);
    assert_eq!(list["results"], json!([a]));
    assert_eq!(expect_json(&anon.get(&path), 200), a);
    expect(&anon.request("HEAD", &path, &[], None), 200);
    problem(&anon.patch(&path, &json!({"name": "Eve"})), 401);
    problem(
        &anon.put(&path, &json!({"name": "Eve", "email": "e@x"})),
        401,
    );
    problem(&anon.delete(&path), 401);
    assert_eq!(expect_json(&anon.get(&path), 200), a);
    expect(&c.delete(&path), 204);
}

/// Text that differs only in trailing spaces is different text: for row
/// scoping (a token for `alice ` is not alice), unique keys and exact
/// filters, on every database (MySQL/MariaDB tables use a collation
/// without space padding).
pub fn trailing_spaces_are_significant(tdb: &dyn TestDb) {
    let db = tdb.database("pad");
    let m = Model::new(&db.table("note"))
        .field("owner_id", Field::text())
        .field("slug", Field::text().max_length(40).unique())
        .scope("owner_id", "sub")
        .into_resource()
        .filter_fields(&["slug"]);
    let s = Server::start(db, |app| app.register("/note", m));
    let mut alice = s.client_as("alice");
    let mut padded = s.client_as("alice ");
    let a = expect_json(&alice.post("/note", &json!({"slug": "x"})), 201);
    let mine = item("/note", &a);
    let other = expect_json(&padded.get("/note"), 200);
    assert_eq!(other["results"], json!([]));
    problem(&padded.get(&mine), 404);
    problem(&padded.patch(&mine, &json!({"slug": "taken"})), 404);
    problem(&padded.delete(&mine), 404);
    let p = expect_json(&padded.post("/note", &json!({"slug": "x  "})), 201);
    assert_eq!(p["owner_id"], json!("alice "));
    let b = expect_json(&alice.post("/note", &json!({"slug": "x "})), 201);
    let exact = expect_json(&alice.get("/note?slug=x"), 200);
    assert_eq!(exact["results"], json!([a]));
    let spaced = expect_json(&alice.get("/note?slug=x%20"), 200);
    assert_eq!(spaced["results"], json!([b]));
    assert_eq!(expect_json(&alice.get("/note"), 200)["count"], json!(2));
    assert_eq!(expect_json(&alice.get(&mine), 200), a);
}

pub fn scoped_rows_are_invisible_to_other_users(tdb: &dyn TestDb) {
    let db = tdb.database("scope");
    let m = Model::new(&db.table("note"))
        .field("owner_id", Field::text())
        .field("body", Field::text())
        .scope("owner_id", "sub");
    let s = Server::start(db, |app| app.register("/note", m));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    expect_invalid(
        &alice.post("/note", &json!({"body": "x", "owner_id": "bob"})),
        &["owner_id"],
    );
    let a1 = expect_json(&alice.post("/note", &json!({"body": "a1"})), 201);
    let r = alice.post("/note", &json!({"body": "a2"}));
    let a2 = expect_json(&r, 201);
    let a2_tag = strong_etag(&r);
    let b1 = expect_json(&bob.post("/note", &json!({"body": "b1"})), 201);
    assert_eq!(a1["owner_id"], json!("alice"));
    assert_eq!(b1["owner_id"], json!("bob"));

    let la = expect_json(&alice.get("/note"), 200);
    assert_eq!(la["results"], json!([a1, a2]));
    assert_eq!(la["count"], json!(2));
    let lb = expect_json(&bob.get("/note"), 200);
    assert_eq!(lb["results"], json!([b1]));
    assert_eq!(lb["count"], json!(1));

    let theirs = item("/note", &a2);
    problem(&bob.get(&theirs), 404);
    expect(&bob.request("HEAD", &theirs, &[], None), 404);
    problem(&bob.put(&theirs, &json!({"body": "hijacked"})), 404);
    problem(&bob.patch(&theirs, &json!({"body": "hijacked"})), 404);
    problem(
        &bob.request(
            "PATCH",
            &theirs,
            &[
                ("Content-Type", "application/json"),
                ("If-Match", a2_tag.as_str()),
            ],
            Some(br#"{"body": "hijacked"}"#),
        ),
        404,
    );
    problem(&bob.delete(&theirs), 404);
    problem(
        &bob.request("DELETE", &theirs, &[("If-Match", "*")], None),
        404,
    );
    let g = alice.get(&theirs);
    assert_eq!(expect_json(&g, 200), a2);
    assert_eq!(strong_etag(&g), a2_tag);

    // The owner can change and delete their own rows; the owner never moves.
    let p = alice.patch(&theirs, &json!({"body": "edited"}));
    assert_eq!(expect_json(&p, 200)["owner_id"], json!("alice"));
    expect_invalid(
        &alice.patch(&theirs, &json!({"owner_id": "bob"})),
        &["owner_id"],
    );
    let p = alice.put(&theirs, &json!({"body": "replaced"}));
    assert_eq!(expect_json(&p, 200)["owner_id"], json!("alice"));
    assert_eq!(count(&mut bob, "/note"), 1);
    expect(&alice.delete(&theirs), 204);
    assert_eq!(expect_json(&bob.get(&item("/note", &b1)), 200), b1);
}

/// A foreign key into a scoped model reaches only the caller's own rows
/// there: another owner's row and a missing one are the same `422` on the
/// field (so other scopes cannot be probed), on create, replace and patch,
/// in the write's transaction, after the precondition; nothing is written.
pub fn references_into_a_scoped_model_stay_in_the_callers_scope(tdb: &dyn TestDb) {
    let db = tdb.database("scref");
    let account_t = db.table("account");
    let account = Model::new(&account_t)
        .field("owner", Field::text().max_length(100))
        .field("name", Field::text())
        .scope("owner", "sub");
    let entry = Model::new(&db.table("entry"))
        .field("account_id", Field::integer().references(&account_t))
        .field("label", Field::text())
        .scope("owner", "sub");
    let s = Server::start(db, |app| {
        app.register("/account", account).register("/entry", entry)
    });
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    let a = id_of(&expect_json(
        &alice.post("/account", &json!({"name": "alice's"})),
        201,
    ));
    let b = id_of(&expect_json(
        &bob.post("/account", &json!({"name": "bob's"})),
        201,
    ));
    let missing = a.max(b) + 1000;

    // Another owner's account and a missing one read the same.
    let theirs = problem(
        &bob.post("/entry", &json!({"account_id": a, "label": "x"})),
        422,
    );
    let nowhere = problem(
        &bob.post("/entry", &json!({"account_id": missing, "label": "x"})),
        422,
    );
    assert_eq!(error_fields(&theirs), ["account_id"], "{theirs}");
    assert_eq!(
        theirs["errors"][0]["message"],
        json!(format!("no {account_t} with id {a}"))
    );
    assert_eq!(
        nowhere["errors"][0]["message"],
        json!(format!("no {account_t} with id {missing}"))
    );
    assert_eq!(theirs["detail"], nowhere["detail"]);
    assert_eq!(count(&mut bob, "/entry"), 0);

    // Their own account is fine; moving the entry to alice's is not.
    let r = bob.post("/entry", &json!({"account_id": b, "label": "mine"}));
    let e = expect_json(&r, 201);
    let tag = strong_etag(&r);
    let path = item("/entry", &e);
    expect_invalid(
        &bob.patch(&path, &json!({"account_id": a})),
        &["account_id"],
    );
    expect_invalid(
        &bob.put(&path, &json!({"account_id": a, "label": "moved"})),
        &["account_id"],
    );
    // A stale precondition is answered first.
    let stale = bob.request(
        "PATCH",
        &path,
        &[
            ("Content-Type", "application/json"),
            ("If-Match", "\"stale\""),
        ],
        Some(format!(r#"{{"account_id": {a}}}"#).as_bytes()),
    );
    problem(&stale, 412);
    // A change that keeps the reference passes, and the ETag still held.
    let ok = bob.request(
        "PATCH",
        &path,
        &[
            ("Content-Type", "application/json"),
            ("If-Match", tag.as_str()),
        ],
        Some(format!(r#"{{"account_id": {b}, "label": "kept"}}"#).as_bytes()),
    );
    assert_eq!(expect_json(&ok, 200)["label"], json!("kept"));
    assert_eq!(expect_json(&bob.get(&path), 200)["account_id"], json!(b));

    // No one else's rows point at alice's account: she can delete it.
    expect(&alice.delete(&item("/account", &json!({"id": a}))), 204);
    // Without a token there is no scope to look in.
    let anonymous = s
        .anon()
        .post("/entry", &json!({"account_id": b, "label": "x"}));
    expect(&anonymous, 401);
}

/// A field unique within its scope: two owners may hold the same value,
/// one owner cannot hold it twice (`409` naming the field).
pub fn uniqueness_can_be_declared_per_scope(tdb: &dyn TestDb) {
    let db = tdb.database("scuniq");
    let m = Model::new(&db.table("profile"))
        .field("owner", Field::text().max_length(100))
        .field("handle", Field::text().max_length(100).unique_in_scope())
        .scope("owner", "sub");
    let s = Server::start(db, |app| app.register("/profile", m));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    expect_json(&alice.post("/profile", &json!({"handle": "ada"})), 201);
    // bob learns nothing of alice's handles.
    expect_json(&bob.post("/profile", &json!({"handle": "ada"})), 201);
    let doc = problem(&alice.post("/profile", &json!({"handle": "ada"})), 409);
    assert_eq!(doc["field"], json!("handle"), "{doc}");
    let other = expect_json(&alice.post("/profile", &json!({"handle": "grace"})), 201);
    let doc = problem(
        &alice.patch(&item("/profile", &other), &json!({"handle": "ada"})),
        409,
    );
    assert_eq!(doc["field"], json!("handle"), "{doc}");
    assert_eq!(count(&mut alice, "/profile"), 2);
    assert_eq!(count(&mut bob, "/profile"), 1);
}

/// A scope claim holding U+0000: where the database cannot store it, every
/// verb is a `422` naming the scope column; elsewhere it is a value like any
/// other.
pub fn a_scope_claim_the_database_cannot_hold_names_the_column(tdb: &dyn TestDb) {
    let db = tdb.database("nulclaim");
    let m = Model::new(&db.table("memo"))
        .field("owner_id", Field::text())
        .field("body", Field::text())
        .scope("owner_id", "sub");
    let s = Server::start(db, |app| app.register("/memo", m));
    let mut odd = s.client_as("al\u{0}ice");
    if tdb.stores_nul() {
        expect(&odd.post("/memo", &json!({"body": "x"})), 201);
        assert_eq!(count(&mut odd, "/memo"), 1);
        return;
    }
    expect_invalid(&odd.post("/memo", &json!({"body": "x"})), &["owner_id"]);
    expect_invalid(&odd.get("/memo"), &["owner_id"]);
    expect_invalid(&odd.get("/memo/1"), &["owner_id"]);
}

pub fn rows_scoped_by_a_missing_claim_are_forbidden(tdb: &dyn TestDb) {
    let db = tdb.database("tenant");
    let m = Model::new(&db.table("doc"))
        .field("title", Field::text())
        .scope("tenant_id", "tenant");
    let s = Server::start(db, |app| app.register("/doc", m));
    let mut extra = serde_json::Map::new();
    extra.insert("tenant".into(), json!("t1"));
    let t1 = sign_subject(
        "carol",
        Duration::from_secs(3600),
        unix_now(),
        extra,
        SECRET,
    );
    let mut carol = Client::with_token(s.addr, &t1);
    let row = expect_json(&carol.post("/doc", &json!({"title": "x"})), 201);
    assert_eq!(row["tenant_id"], json!("t1"));
    // A valid token without the claim: 403, and nothing is shown or written.
    let mut alice = s.client();
    problem(&alice.get("/doc"), 403);
    problem(&alice.get(&item("/doc", &row)), 403);
    problem(&alice.post("/doc", &json!({"title": "y"})), 403);
    problem(
        &alice.patch(&item("/doc", &row), &json!({"title": "y"})),
        403,
    );
    problem(&alice.delete(&item("/doc", &row)), 403);
    let list = expect_json(&carol.get("/doc"), 200);
    assert_eq!(list["results"], json!([row]));
}

// ------------------------------------------------------------ concurrency

pub fn concurrent_creates_each_land_exactly_once(tdb: &dyn TestDb) {
    const THREADS: usize = 16;
    const PER_THREAD: usize = 50;
    let s = person_server(tdb, "concreate");
    let addr = s.addr;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, &token("alice"));
                barrier.wait();
                (0..PER_THREAD)
                    .map(|i| {
                        let email = format!("t{t}-{i}@x");
                        let r = c.post("/person", &json!({"name": "n", "email": email}));
                        let row = expect_json(&r, 201);
                        assert_eq!(row["email"], json!(email));
                        id_of(&row)
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), THREADS * PER_THREAD);
    let mut c = s.client();
    let all = expect_json(&c.get("/person?page_size=1000"), 200);
    assert_eq!(all["count"], json!(THREADS * PER_THREAD));
    let rows = all["results"].as_array().unwrap();
    let listed: BTreeSet<i64> = rows.iter().map(id_of).collect();
    assert_eq!(listed, unique);
    let emails: BTreeSet<&str> = rows.iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), THREADS * PER_THREAD);
}

/// Sixteen `PATCH`es racing with the same `If-Match`: one wins, the others
/// are `412`. Twice: with the tag of the create, then with the winner's
/// tag (on PostgreSQL the row image its write left stands for the read).
pub fn concurrent_if_match_patches_have_one_winner(tdb: &dyn TestDb) {
    const THREADS: usize = 16;
    let s = person_server(tdb, "conmatch");
    let mut c = s.client();
    let r = c.post("/person", &json!({"name": "start", "email": "race@x"}));
    let row = expect_json(&r, 201);
    let mut tag = strong_etag(&r);
    let path = item("/person", &row);
    let addr = s.addr;
    for round in 0..2 {
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (barrier, tag, path) = (Arc::clone(&barrier), tag.clone(), path.clone());
                std::thread::spawn(move || {
                    let mut c = Client::with_token(addr, &token("alice"));
                    // Connect before the race starts.
                    expect(&c.request("OPTIONS", &path, &[], None), 204);
                    barrier.wait();
                    let body = format!("{{\"name\": \"writer {round}.{t}\"}}");
                    let r = c.request(
                        "PATCH",
                        &path,
                        &[
                            ("Content-Type", "application/json"),
                            ("If-Match", tag.as_str()),
                        ],
                        Some(body.as_bytes()),
                    );
                    (t, r)
                })
            })
            .collect();
        let results: Vec<(usize, Resp)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<&(usize, Resp)> =
            results.iter().filter(|(_, r)| r.status == 200).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {:?}",
            results.iter().map(|(_, r)| r.status).collect::<Vec<_>>()
        );
        for (_, r) in &results {
            if r.status != 200 {
                problem(r, 412);
            }
        }
        let (winner, won) = winners[0];
        let g = c.get(&path);
        assert_eq!(
            expect_json(&g, 200)["name"],
            json!(format!("writer {round}.{winner}"))
        );
        assert_eq!(strong_etag(&g), strong_etag(won));
        tag = strong_etag(won);
    }
}

/// `Model::restrict_writes`: only the caller the row names (or an admin)
/// changes or deletes it; everyone reads it. Answers in order: a missing
/// row's 404, then 403, then the precondition's 412, then the body's 422.
pub fn write_rules_limit_changes_to_the_named_caller(tdb: &dyn TestDb) {
    let db = tdb.database("wrule");
    let task = Model::new(&db.table("task"))
        .field("title", Field::text())
        .field("assignee", Field::text())
        .field("estimate", Field::integer().nullable())
        .restrict_writes("assignee", "sub");
    let s = Server::start(db, |app| app.register("/task", task));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    let mut admin = Client::with_token(s.addr, &crate::support::token("root", true));
    // Anyone may create, naming anyone.
    let r = alice.post("/task", &json!({"title": "t", "assignee": "bob"}));
    let row = expect_json(&r, 201);
    let tag = strong_etag(&r);
    let path = item("/task", &row);
    // Reads stay open.
    assert_eq!(expect_json(&alice.get(&path), 200), row);
    let refused = |r: &Resp| {
        let doc = problem(r, 403);
        assert!(
            doc["detail"].as_str().unwrap().contains("`assignee`"),
            "{doc}"
        );
    };
    refused(&alice.patch(&path, &json!({"title": "mine"})));
    refused(&alice.put(&path, &json!({"title": "mine", "assignee": "alice"})));
    refused(&alice.delete(&path));
    // 403 comes before a stale If-Match's 412 and a bad body's 422 …
    let ct = ("Content-Type", "application/json");
    refused(&alice.request(
        "PATCH",
        &path,
        &[ct, ("If-Match", "\"stale\"")],
        Some(br#"{"title": "x"}"#),
    ));
    refused(&alice.request("DELETE", &path, &[("If-Match", "\"stale\"")], None));
    refused(&alice.patch(&path, &json!({"estimate": "many"})));
    // … and after a missing row's 404.
    problem(&alice.patch("/task/987654", &json!({"title": "x"})), 404);
    problem(&alice.delete("/task/987654"), 404);
    assert_eq!(expect_json(&alice.get(&path), 200), row);

    // The named caller writes, with the usual preconditions.
    problem(
        &bob.request(
            "PATCH",
            &path,
            &[ct, ("If-Match", "\"stale\"")],
            Some(br#"{"title": "x"}"#),
        ),
        412,
    );
    expect_invalid(
        &bob.patch(&path, &json!({"estimate": "many"})),
        &["estimate"],
    );
    let h = [ct, ("If-Match", tag.as_str())];
    let r = bob.request("PATCH", &path, &h, Some(br#"{"title": "bob's"}"#));
    assert_eq!(expect_json(&r, 200)["title"], json!("bob's"));
    // Handing the task over hands over the right to change it.
    let r = bob.patch(&path, &json!({"assignee": "alice"}));
    assert_eq!(expect_json(&r, 200)["assignee"], json!("alice"));
    refused(&bob.patch(&path, &json!({"title": "back"})));
    let r = alice.patch(&path, &json!({"estimate": 3}));
    assert_eq!(expect_json(&r, 200)["estimate"], json!(3));

    // An admin may change and delete any row.
    let r = admin.patch(&path, &json!({"title": "admin's"}));
    assert_eq!(expect_json(&r, 200)["title"], json!("admin's"));
    let other = expect_json(
        &bob.post("/task", &json!({"title": "u", "assignee": "carol"})),
        201,
    );
    refused(&bob.delete(&item("/task", &other)));
    expect(&admin.delete(&item("/task", &other)), 204);
    expect(&alice.delete(&path), 204);
    problem(&alice.get(&path), 404);
}

// ------------------------------------------------------------------ hooks

/// Hooks run in the write's transaction: they see the current row and the
/// new values, set values, add field errors (one 422), refuse with a
/// status, and write on the same connection (rolled back with the write).
pub fn hooks_run_inside_the_write(tdb: &dyn TestDb) {
    use lightapi::resource::{HookContext, HookError, Hooks};
    use lightapi::StatusCode;
    let db = tdb.database("hooks");
    let audit_table = db.table("audit");
    let audit = Model::new(&audit_table)
        .field("action", Field::text())
        .field("task", Field::integer());
    let log_table = audit_table.clone();
    let text = |v: Option<&lightapi::Value>| match v {
        Some(lightapi::Value::Text(t)) => Some(t.clone()),
        _ => None,
    };
    let hooks = Hooks::new()
        .before_create(move |ctx: &mut HookContext<'_>| {
            let title = text(ctx.value("title")).unwrap_or_default();
            if title.trim() == "forbidden" {
                return Err(HookError::refuse(StatusCode::FORBIDDEN, "not that title"));
            }
            ctx.set("title", title.trim().into())?;
            if matches!(ctx.value("status"), None | Some(lightapi::Value::Null)) {
                ctx.set("status", "todo".into())?;
            }
            if let Some(lightapi::Value::Integer(e)) = ctx.value("estimate") {
                if *e > 100 {
                    ctx.error("estimate", "more than 100 hours: split the task");
                }
            }
            if title.contains('!') {
                ctx.error("title", "no shouting");
            }
            Ok(())
        })
        .before_update(move |ctx: &mut HookContext<'_>| {
            let was = text(ctx.current("status"));
            let to = text(ctx.value("status"));
            if was.as_deref() == Some("done") && to.as_deref().is_some_and(|s| s != "done") {
                ctx.error("status", "a done task cannot be reopened");
            }
            Ok(())
        })
        .before_delete(|ctx: &mut HookContext<'_>| {
            if ctx.claims().is_some_and(|c| c.is_admin()) {
                Ok(())
            } else {
                Err(HookError::refuse(
                    StatusCode::FORBIDDEN,
                    "only admins delete tasks",
                ))
            }
        })
        .after_write(move |ctx: &mut HookContext<'_>| {
            let d = ctx.dialect();
            let id = ctx.stored("id").cloned().unwrap_or(lightapi::Value::Null);
            let action = format!("{:?}", ctx.kind()).to_lowercase();
            let sql = format!(
                "INSERT INTO {} ({}, {}) VALUES ({}, {})",
                d.quote(&log_table),
                d.quote("action"),
                d.quote("task"),
                d.placeholder(1),
                d.placeholder(2)
            );
            ctx.conn()
                .execute(&sql, &[lightapi::Value::Text(action), id])?;
            // A write the after-hook refuses is rolled back, audit row too.
            if text(ctx.stored("title")).as_deref() == Some("undo") {
                return Err(HookError::refuse(StatusCode::CONFLICT, "undone"));
            }
            Ok(())
        });
    let task = Model::new(&db.table("task"))
        .field("title", Field::text())
        .field("status", Field::text().nullable())
        .field("estimate", Field::integer().nullable())
        .into_resource()
        .hooks(hooks);
    let s = Server::start(db, |app| {
        app.register("/audit", audit).register("/task", task)
    });
    let mut c = s.client();
    let mut admin = Client::with_token(s.addr, &crate::support::token("root", true));
    let audit_rows = |c: &mut Client| -> Vec<(String, i64)> {
        let page = expect_json(&c.get("/audit?page_size=100"), 200);
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["action"].as_str().unwrap().to_owned(),
                    r["task"].as_i64().unwrap(),
                )
            })
            .collect()
    };

    // before_create sets values; after_write writes in the same transaction.
    let r = c.post("/task", &json!({"title": "  write docs  "}));
    let row = expect_json(&r, 201);
    assert_eq!(row["title"], json!("write docs"));
    assert_eq!(row["status"], json!("todo"));
    let id = id_of(&row);
    let path = item("/task", &row);
    assert_eq!(audit_rows(&mut c), [("create".to_owned(), id)]);
    // The stored row is what the answer and its ETag say.
    let g = c.get(&path);
    assert_eq!(expect_json(&g, 200), row);
    assert_eq!(g.header("etag"), r.header("etag"));

    // Field errors from the hook: one 422 listing each.
    expect_invalid(
        &c.post("/task", &json!({"title": "now!", "estimate": 500})),
        &["estimate", "title"],
    );
    // A refusal with its own status.
    let doc = problem(&c.post("/task", &json!({"title": "forbidden"})), 403);
    assert_eq!(doc["detail"], json!("not that title"));
    // Refused by the after-hook: the row and the audit row are rolled back.
    problem(&c.post("/task", &json!({"title": "undo"})), 409);
    assert_eq!(count(&mut c, "/task"), 1);
    assert_eq!(audit_rows(&mut c).len(), 1);

    // before_update sees the current row.
    let r = c.patch(&path, &json!({"status": "done"}));
    let done = expect_json(&r, 200);
    let tag = strong_etag(&r);
    expect_invalid(&c.patch(&path, &json!({"status": "doing"})), &["status"]);
    // The generated order stays: a stale If-Match is answered 412 first.
    let ct = ("Content-Type", "application/json");
    problem(
        &c.request(
            "PATCH",
            &path,
            &[ct, ("If-Match", "\"stale\"")],
            Some(br#"{"status": "doing"}"#),
        ),
        412,
    );
    let h = [ct, ("If-Match", tag.as_str())];
    let r = c.request("PATCH", &path, &h, Some(br#"{"estimate": 3}"#));
    assert_eq!(expect_json(&r, 200)["estimate"], json!(3));
    assert_eq!(expect_json(&c.get(&path), 200)["status"], done["status"]);

    // before_delete refuses; an admin deletes; after_write records it.
    let doc = problem(&c.delete(&path), 403);
    assert_eq!(doc["detail"], json!("only admins delete tasks"));
    expect(&admin.delete(&path), 204);
    problem(&c.get(&path), 404);
    let actions: Vec<String> = audit_rows(&mut c).into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, ["create", "update", "update", "delete"]);
}

/// A hook on a verb the resource does not generate stops start-up.
pub fn hooks_on_verbs_not_generated_stop_start_up(tdb: &dyn TestDb) {
    use lightapi::resource::Hooks;
    let db = tdb.database("hookverbs");
    let m = person(&db)
        .into_resource()
        .methods(&[Method::Get, Method::Post])
        .hooks(Hooks::new().before_delete(|_| Ok(())));
    let err = TestServer::try_start(config(&db), |app| app.register("/person", m))
        .map(TestServer::stop)
        .unwrap_err();
    assert!(err.to_string().contains("before_delete"), "{err}");
}
