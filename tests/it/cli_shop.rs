//! `lightapi serve examples/shop.toml` answers as `examples/shop.rs` does,
//! step by step, on SQLite, PostgreSQL and MariaDB: constraints, row
//! scoping, admin-only deletes, foreign keys, relations, the nested route
//! and bulk writes. (The files differ where the file cannot say what the
//! Rust does: shop.rs's middleware and in-code demo users; the sequence
//! signs its own tokens, so neither login is used.)

use serde_json::{json, Value};

use super::cli::{answers_as_the_rust_example, on_each_database, seen};
use crate::support::{token, Client};

/// A sequence over HTTP on the shop at `addr`, each answer checked, and
/// the transcript of what was answered.
fn shop_sequence(addr: std::net::SocketAddr) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |r: &crate::support::Resp| out.push(seen(r));
    let mut anonymous = Client::new(addr);
    let mut alice = Client::with_token(addr, &token("alice", false));
    let mut bob = Client::with_token(addr, &token("bob", false));
    let mut admin = Client::with_token(addr, &token("root", true));

    let r = anonymous.get("/category");
    assert_eq!(r.status, 200, "categories are public: {r:?}");
    push(&r);
    let r = anonymous.post("/product", &json!({"title": "x"}));
    assert_eq!(r.status, 401, "{r:?}");
    push(&r);
    let r = alice.post("/category", &json!({"name": "books"}));
    assert_eq!(r.status, 201, "{r:?}");
    let cat = r.json()["id"].as_i64().unwrap();
    push(&r);
    let r = alice.post("/category", &json!({"name": "books"}));
    assert_eq!(r.status, 409, "a unique name: {r:?}");
    push(&r);

    let r = alice.post(
        "/product",
        &json!({"title": "Rust", "price": "12.50", "category_id": cat, "sku": "ABC-1234"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json()["owner_id"], json!("alice"), "{r:?}");
    assert_eq!(r.json()["status"], json!("draft"), "{r:?}");
    let id = r.json()["id"].as_i64().unwrap();
    push(&r);
    let r = alice.post(
        "/product",
        &json!({"title": "Bad", "price": "-1", "category_id": cat, "status": "gone", "sku": "bad"}),
    );
    assert_eq!(r.status, 422, "{r:?}");
    push(&r);
    let r = alice.post(
        "/product",
        &json!({"title": "Orphan", "price": "1.00", "category_id": 999}),
    );
    assert_eq!(r.status, 422, "a missing category: {r:?}");
    push(&r);
    let r = alice.post(
        "/product",
        &json!([
            {"title": "Second", "price": "3.00", "category_id": cat},
            {"title": "Third", "price": "30.00", "category_id": cat, "stock": 4}
        ]),
    );
    assert_eq!(r.status, 201, "a bulk create: {r:?}");
    push(&r);

    let r = alice.get("/product?expand=category&ordering=-price");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["results"][0]["category"]["name"], json!("books"));
    push(&r);
    let r = alice.get(&format!("/category/{cat}?embed=product"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["product"]["count"], json!(3), "{r:?}");
    push(&r);
    let r = alice.get(&format!("/category/{cat}/product?search=rust"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["count"], json!(1), "{r:?}");
    push(&r);
    let r = alice.post(
        &format!("/category/{cat}/product"),
        &json!({"title": "Nested", "price": "1.00"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json()["category_id"], json!(cat));
    push(&r);

    let item = format!("/product/{id}");
    let r = bob.get(&item);
    assert_eq!(r.status, 404, "another owner's row: {r:?}");
    push(&r);
    let r = bob.get("/product");
    assert_eq!(r.json()["count"], json!(0), "{r:?}");
    push(&r);
    let r = alice.patch(&item, &json!({"stock": 5, "status": "active"}));
    assert_eq!(r.status, 200, "{r:?}");
    push(&r);
    let r = alice.patch(&item, &json!({"owner_id": "bob"}));
    assert_eq!(r.status, 422, "read-only: {r:?}");
    push(&r);
    let r = alice.delete(&format!("/category/{cat}"));
    assert_eq!(r.status, 403, "admins delete categories: {r:?}");
    push(&r);
    let r = admin.delete(&format!("/category/{cat}"));
    assert_eq!(r.status, 409, "still referenced: {r:?}");
    push(&r);
    let r = alice.delete(&item);
    assert_eq!(r.status, 204, "{r:?}");
    push(&r);
    let r = alice.get(&item);
    assert_eq!(r.status, 404, "{r:?}");
    push(&r);
    out
}

fn same_as_the_rust_example(file_url: &str, rust_url: &str) {
    answers_as_the_rust_example(("shop.toml", "shop"), (file_url, rust_url), shop_sequence);
}

on_each_database!(
    "cli-shop",
    same_as_the_rust_example,
    shop_toml_answers_as_the_rust_example_on_sqlite,
    shop_toml_answers_as_the_rust_example_on_postgres,
    shop_toml_answers_as_the_rust_example_on_mariadb
);
