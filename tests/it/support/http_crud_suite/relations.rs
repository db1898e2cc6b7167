//! Related rows: `?expand=` (to-one, nested one level), `?embed=`
//! (to-many, bounded per parent, counted, filtered), projection, scope and
//! access inside them, and the statements a page with both costs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use super::*;

/// `category` (self-referencing through `parent_id`) and `product`
/// (`category_id`, a write-only `secret`, filterable `price`).
fn shop(db: &TestDatabase) -> (Model, Model) {
    let category_t = db.table("category");
    let category = Model::new(&category_t).field("name", Field::text()).field(
        "parent_id",
        Field::integer().nullable().references(&category_t),
    );
    let product = Model::new(&db.table("product"))
        .field("title", Field::text())
        .field("price", Field::float())
        .field("secret", Field::text().nullable().write_only())
        .field("category_id", Field::integer().references(&category_t));
    (category, product)
}

fn shop_server(tdb: &dyn TestDb, case: &str) -> (Server, String) {
    let db = tdb.database(case);
    let (category, product) = shop(&db);
    let product_name = product.name().to_owned();
    let s = Server::start(db, |app| {
        app.register("/category", category.into_resource().embed_limit(2))
            .register(
                "/product",
                product.into_resource().filter_fields(&["price"]),
            )
    });
    (s, product_name)
}

fn post_id(c: &mut Client, path: &str, body: Json) -> i64 {
    expect_json(&c.post(path, &body), 201)["id"]
        .as_i64()
        .unwrap()
}

pub fn expand_shows_referenced_rows_on_lists_and_items(tdb: &dyn TestDb) {
    let (s, _) = shop_server(tdb, "expand");
    let mut c = s.client();
    let root = post_id(&mut c, "/category", json!({"name": "all"}));
    let books = post_id(
        &mut c,
        "/category",
        json!({"name": "books", "parent_id": root}),
    );
    let p = post_id(
        &mut c,
        "/product",
        json!({"title": "Dune", "price": 9.5, "secret": "s3", "category_id": books}),
    );

    let item = expect_json(&c.get(&format!("/product/{p}?expand=category")), 200);
    assert_eq!(
        item,
        json!({"id": p, "title": "Dune", "price": 9.5, "category_id": books,
            "category": {"id": books, "name": "books", "parent_id": root}})
    );
    let page = expect_json(&c.get("/product?expand=category.parent"), 200);
    assert_eq!(
        page["results"][0]["category"]["parent"],
        json!({"id": root, "name": "all", "parent_id": null})
    );
    let keyset = expect_json(&c.get("/product?cursor=&expand=category"), 200);
    assert_eq!(keyset["results"][0]["category"]["name"], json!("books"));
    // With relations the item's ETag covers the whole body, and still
    // answers a matching If-None-Match with 304.
    let path = format!("/product/{p}?expand=category");
    let r = c.get(&path);
    let tag = r.header("etag").unwrap().to_owned();
    assert!(tag.starts_with("W/"), "{tag}");
    expect(
        &c.request("GET", &path, &[("If-None-Match", tag.as_str())], None),
        304,
    );
    // A change to the related row changes it.
    expect(
        &c.patch(&format!("/category/{books}"), &json!({"name": "novels"})),
        200,
    );
    let r = c.request("GET", &path, &[("If-None-Match", tag.as_str())], None);
    assert_eq!(expect_json(&r, 200)["category"]["name"], json!("novels"));
    expect(
        &c.patch(&format!("/category/{books}"), &json!({"name": "books"})),
        200,
    );
    // A null key expands to null.
    let cats = expect_json(&c.get("/category?expand=parent&ordering=id"), 200);
    assert_eq!(cats["results"][0]["parent"], json!(null));
    assert_eq!(cats["results"][1]["parent"]["name"], json!("all"));

    // Projection inside, write-only fields never.
    let shown = expect_json(
        &c.get("/product?expand=category&fields=id,title,category.name"),
        200,
    );
    assert_eq!(
        shown["results"][0],
        json!({"id": p, "title": "Dune", "category": {"name": "books"}})
    );
    let body = c.get("/product?expand=category").body;
    assert!(!String::from_utf8_lossy(&body).contains("s3"));
    for bad in [
        "/product?expand=maker",
        "/product?expand=category.nope",
        "/product?fields=category.name",
        "/product?expand=category&fields=category.secret",
    ] {
        let doc = problem(&c.get(bad), 400);
        let detail = doc["detail"].as_str().unwrap();
        assert!(
            detail.contains("expand") || detail.contains("fields"),
            "{bad}: {detail}"
        );
    }
    problem(&c.get(&format!("/product/{p}?expand=maker")), 400);
}

pub fn embed_shows_children_bounded_with_count_and_filters(tdb: &dyn TestDb) {
    let (s, product) = shop_server(tdb, "embed");
    let mut c = s.client();
    let a = post_id(&mut c, "/category", json!({"name": "a"}));
    let b = post_id(&mut c, "/category", json!({"name": "b"}));
    let mut ids = Vec::new();
    for (i, price) in [1.0, 6.0, 7.0, 8.0].into_iter().enumerate() {
        ids.push(post_id(
            &mut c,
            "/product",
            json!({"title": format!("p{i}"), "price": price, "secret": "s3", "category_id": a}),
        ));
    }
    let one = expect_json(&c.get(&format!("/category/{a}?embed={product}")), 200);
    let embedded = &one[product.as_str()];
    assert_eq!(embedded["count"], json!(4));
    let results = embedded["results"].as_array().unwrap();
    // `embed_limit(2)`: the first two by id.
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["id"], json!(ids[0]));
    assert_eq!(results[1]["id"], json!(ids[1]));
    assert!(results[0].get("secret").is_none());

    let page = expect_json(
        &c.get(&format!(
            "/category?embed={product}&{product}.price__gte=5&fields=id,{product}.title&ordering=id"
        )),
        200,
    );
    assert_eq!(
        page["results"][0],
        json!({"id": a, product.as_str(): {"count": 3, "results": [{"title": "p1"}, {"title": "p2"}]}})
    );
    assert_eq!(
        page["results"][1],
        json!({"id": b, product.as_str(): {"count": 0, "results": []}})
    );
    // A filter outside the child's whitelist, or on a relation not shown.
    problem(
        &c.get(&format!("/category?embed={product}&{product}.title=x")),
        400,
    );
    problem(&c.get(&format!("/category?{product}.price__gte=5")), 400);
    problem(&c.get("/category?embed=nothing"), 400);
}

pub fn related_rows_respect_scope_and_access(tdb: &dyn TestDb) {
    let db = tdb.database("relscope");
    let (category, _) = shop(&db);
    let category_t = category.name().to_owned();
    let note = Model::new(&db.table("note"))
        .field("owner_id", Field::text())
        .field("body", Field::text())
        .field("category_id", Field::integer().references(&category_t))
        .scope("owner_id", "sub");
    let note_t = note.name().to_owned();
    let audit = Model::new(&db.table("audit"))
        .field("what", Field::text())
        .field("category_id", Field::integer().references(&category_t));
    let audit_t = audit.name().to_owned();
    let s = Server::start(db, |app| {
        app.register("/category", category)
            .register("/note", note)
            .register(
                "/audit",
                audit.into_resource().default_access(Access::Admin),
            )
    });
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    let cat = post_id(&mut alice, "/category", json!({"name": "c"}));
    let mine = post_id(
        &mut alice,
        "/note",
        json!({"body": "a", "category_id": cat}),
    );
    post_id(&mut bob, "/note", json!({"body": "b", "category_id": cat}));

    let seen = expect_json(&alice.get(&format!("/category/{cat}?embed={note_t}")), 200);
    assert_eq!(seen[note_t.as_str()]["count"], json!(1));
    assert_eq!(seen[note_t.as_str()]["results"][0]["id"], json!(mine));
    let none = expect_json(
        &s.client_as("carol")
            .get(&format!("/category?embed={note_t}")),
        200,
    );
    assert_eq!(
        none["results"][0][note_t.as_str()],
        json!({"count": 0, "results": []})
    );

    // A scope claim the database cannot hold, as on the child's own route.
    let mut odd = s.client_as("al\u{0}ice");
    let r = odd.get(&format!("/category/{cat}?embed={note_t}"));
    if tdb.stores_nul() {
        assert_eq!(expect_json(&r, 200)[note_t.as_str()]["count"], json!(0));
    } else {
        expect_invalid(&r, &["owner_id"]);
    }

    // A child resource the caller may not read directly: 403, for either
    // direction; an admin sees it.
    problem(&alice.get(&format!("/category/{cat}?embed={audit_t}")), 403);
    let mut admin = Client::with_token(s.addr, &crate::support::token("root", true));
    post_id(
        &mut admin,
        "/audit",
        json!({"what": "x", "category_id": cat}),
    );
    problem(&alice.get("/audit"), 403);
    let seen = expect_json(&admin.get(&format!("/category/{cat}?embed={audit_t}")), 200);
    assert_eq!(seen[audit_t.as_str()]["count"], json!(1));
    let expanded = expect_json(&admin.get("/audit?expand=category"), 200);
    assert_eq!(expanded["results"][0]["category"]["name"], json!("c"));
}

/// `GET /sent`: the statements the backend has sent so far (`null` where
/// it does not count them).
struct Sent;

impl Endpoint for Sent {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        let db = req.backend().unwrap();
        Ok(json!({ "sent": db.statements_sent() }).into())
    }
}

pub fn relations_take_a_bounded_number_of_statements(tdb: &dyn TestDb) {
    let db = tdb.database("relcount");
    let (category, product) = shop(&db);
    let product_t = product.name().to_owned();
    let s = Server::start(db, |app| {
        app.register("/category", category)
            .register("/product", product)
            .register("/sent", Sent)
    });
    let mut c = s.client();
    let root = post_id(&mut c, "/category", json!({"name": "root"}));
    let mut cats = vec![root];
    for i in 1..50 {
        cats.push(post_id(
            &mut c,
            "/category",
            json!({"name": format!("c{i}"), "parent_id": root}),
        ));
    }
    for (i, cat) in cats.iter().enumerate().take(30) {
        for j in 0..2 {
            post_id(
                &mut c,
                "/product",
                json!({"title": format!("p{i}.{j}"), "price": 1.0, "category_id": cat}),
            );
        }
    }
    let sent = |c: &mut Client| expect_json(&c.get("/sent"), 200)["sent"].as_u64();
    let Some(start) = sent(&mut c) else {
        // SQLite: the backend does not count statements.
        let page = expect_json(
            &c.get(&format!(
                "/category?page_size=50&expand=parent&embed={product_t}"
            )),
            200,
        );
        assert_eq!(page["results"].as_array().unwrap().len(), 50);
        return;
    };
    expect_json(&c.get("/category?page_size=50"), 200);
    let plain = sent(&mut c).unwrap() - start - 1;
    let before = sent(&mut c).unwrap();
    let page = expect_json(
        &c.get(&format!(
            "/category?page_size=50&expand=parent&embed={product_t}"
        )),
        200,
    );
    let with = sent(&mut c).unwrap() - before - 1;
    let rows = page["results"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[1]["parent"]["id"], json!(root));
    assert_eq!(rows[1][product_t.as_str()]["count"], json!(2));
    // One statement for the expansion, two for the embedding (children,
    // counts), whatever the number of rows.
    assert_eq!(with, plain + 3, "{plain} statements without relations");
    assert!(with <= 5, "{with} statements");
}

pub fn nested_routes_list_and_create_under_the_parent(tdb: &dyn TestDb) {
    let db = tdb.database("nested");
    let (category, product) = shop(&db);
    let product_t = product.name().to_owned();
    let note = Model::new(&db.table("note"))
        .field("owner_id", Field::text())
        .field("body", Field::text())
        .field("category_id", Field::integer().references(category.name()))
        .scope("owner_id", "sub");
    let note_t = note.name().to_owned();
    let s = Server::start(db, |app| {
        app.register("/category", category)
            .register(
                "/product",
                product.into_resource().filter_fields(&["price"]),
            )
            .register("/note", note)
            .register_nested("/category/{id}/product", &product_t, "category_id")
            .register_nested("/category/{id}/note", &note_t, "category_id")
    });
    let mut c = s.client_as("alice");
    let a = post_id(&mut c, "/category", json!({"name": "a"}));
    let b = post_id(&mut c, "/category", json!({"name": "b"}));
    // The foreign key comes from the path; a body naming it is refused.
    expect_invalid(
        &c.post(
            &format!("/category/{a}/product"),
            &json!({"title": "t1", "price": 3.0, "category_id": b}),
        ),
        &["category_id"],
    );
    let r = c.post(
        &format!("/category/{a}/product"),
        &json!({"title": "t1", "price": 3.0}),
    );
    let created = expect_json(&r, 201);
    assert_eq!(created["category_id"], json!(a));
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/product/{id}").as_str())
    );
    let r = c.post(
        &format!("/category/{a}/product"),
        &json!({"title": "t2", "price": 9.0}),
    );
    expect_json(&r, 201);
    post_id(
        &mut c,
        "/product",
        json!({"title": "other", "price": 9.0, "category_id": b}),
    );

    let page = expect_json(&c.get(&format!("/category/{a}/product?ordering=id")), 200);
    assert_eq!(page["count"], json!(2));
    let titles: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["t1", "t2"]);
    let cheap = expect_json(
        &c.get(&format!(
            "/category/{a}/product?price__lt=5&expand=category"
        )),
        200,
    );
    assert_eq!(cheap["count"], json!(1));
    assert_eq!(cheap["results"][0]["category"]["name"], json!("a"));
    let empty = expect_json(&c.get(&format!("/category/{b}/product")), 200);
    assert_eq!(empty["count"], json!(1));

    // A missing parent is a 404 for both verbs, and nothing is written.
    problem(&c.get("/category/999999/product"), 404);
    problem(
        &c.post(
            "/category/999999/product",
            &json!({"title": "x", "price": 1.0}),
        ),
        404,
    );
    problem(&c.get("/category/abc/product"), 404);
    assert_eq!(count(&mut c, "/product"), 3);
    // Bad bodies and queries are the child's usual answers.
    problem(&c.get(&format!("/category/{a}/product?nope=1")), 400);
    expect(
        &c.post(&format!("/category/{a}/product"), &json!({"price": "x"})),
        422,
    );
    // The child's scope applies: bob sees none of alice's notes there.
    post_id(
        &mut c,
        &format!("/category/{a}/note"),
        json!({"body": "mine"}),
    );
    let mine = expect_json(&c.get(&format!("/category/{a}/note")), 200);
    assert_eq!(mine["results"][0]["owner_id"], json!("alice"));
    let theirs = expect_json(&s.client_as("bob").get(&format!("/category/{a}/note")), 200);
    assert_eq!(theirs["count"], json!(0));
    // Without a token: the child's permission.
    problem(&s.anon().get(&format!("/category/{a}/product")), 401);
}

pub fn nested_routes_are_checked_at_start_up(tdb: &dyn TestDb) {
    let db = tdb.database("nestedbad");
    let (category, product) = shop(&db);
    let product_t = product.name().to_owned();
    let config = config(&db);
    for (pattern, child, fk) in [
        ("/category/{id}/product", "nothing", "category_id"),
        ("/category/{id}/product", product_t.as_str(), "title"),
        ("/category/product", product_t.as_str(), "category_id"),
    ] {
        let started = LightApi::with_config(config.clone())
            .register("/category", category.clone())
            .register("/product", product.clone())
            .register_nested(pattern, child, fk)
            .start();
        let Err(err) = started else {
            panic!("{pattern} {child} {fk}: started");
        };
        assert!(err.to_string().contains(pattern), "{err}");
    }
}
