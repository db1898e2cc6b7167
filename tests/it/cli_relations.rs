//! Relations and bulk limits declared in a `lightapi` file: `expandable`,
//! `embed_limit`, `max_bulk` and `[[models.NAME.nested]]` routes behave as
//! their Rust declarations do, and a nested route without `{id}` is a file
//! error at its place.

use serde_json::{json, Value};

use super::cli::{run, serve, text};
use crate::support::{Client, TempDir};

const SHOP: &str = r#"
[jwt]
secret = "${RELATIONS_TEST_SECRET:-}"

[models.category]
access = { default = "public" }
embed_limit = 2

[models.category.fields]
name = { type = "text", unique = true }

[models.supplier]
access = { default = "public" }

[models.supplier.fields]
name = { type = "text" }

[models.product]
access = { default = "public" }
expandable = ["category"]
max_bulk = 3

[models.product.fields]
title = { type = "text" }
category_id = { type = "integer", references = "category" }
supplier_id = { type = "integer", references = "supplier", nullable = true }

[[models.product.nested]]
path = "/category/{id}/product"
foreign_key = "category_id"
"#;

#[test]
fn relations_and_bulk_limits_come_from_the_file() {
    let dir = TempDir::new("cli-relations");
    let file = dir.path().join("shop.toml");
    std::fs::write(&file, SHOP).unwrap();
    let served = serve(&file, &dir.sqlite_url("shop.db"));
    let mut c = Client::new(served.addr());

    let books = c.post("/category", &json!({"name": "books"}));
    assert_eq!(books.status, 201, "{books:?}");
    let books = books.json()["id"].as_i64().unwrap();
    let acme = c.post("/supplier", &json!({"name": "acme"})).json()["id"]
        .as_i64()
        .unwrap();

    // `max_bulk = 3`: three items are one write, four are refused whole.
    let three: Vec<Value> = (0..3)
        .map(|i| json!({"title": format!("book {i}"), "category_id": books, "supplier_id": acme}))
        .collect();
    let created = c.post("/product", &Value::Array(three));
    assert_eq!(created.status, 201, "{created:?}");
    let four: Vec<Value> = (0..4)
        .map(|i| json!({"title": format!("extra {i}"), "category_id": books}))
        .collect();
    let refused = c.post("/product", &Value::Array(four));
    assert_eq!(refused.status, 413, "{refused:?}");
    let listed = c.get("/product").json();
    assert_eq!(listed["count"], json!(3), "{listed}");

    // `expandable = ["category"]`: category expands, supplier does not.
    let expanded = c.get("/product?expand=category").json();
    assert_eq!(
        expanded["results"][0]["category"]["name"],
        json!("books"),
        "{expanded}"
    );
    let not_declared = c.get("/product?expand=supplier");
    assert_eq!(not_declared.status, 400, "{not_declared:?}");
    assert!(not_declared.text().contains("expand"), "{not_declared:?}");

    // `embed_limit = 2`: two children shown, all three counted.
    let embedded = c.get(&format!("/category/{books}?embed=product")).json();
    assert_eq!(embedded["product"]["count"], json!(3), "{embedded}");
    assert_eq!(
        embedded["product"]["results"].as_array().unwrap().len(),
        2,
        "{embedded}"
    );

    // The nested route lists the category's products and creates under it.
    let nested = c.get(&format!("/category/{books}/product")).json();
    assert_eq!(nested["count"], json!(3), "{nested}");
    let under = c.post(
        &format!("/category/{books}/product"),
        &json!({"title": "under"}),
    );
    assert_eq!(under.status, 201, "{under:?}");
    assert_eq!(under.json()["category_id"], json!(books));
    assert_eq!(c.get("/category/999/product").status, 404);

    let routes = run(&["routes", file.to_str().unwrap()], &[], None);
    assert_eq!(routes.status.code(), Some(0), "{}", text(&routes.stderr));
    assert!(
        text(&routes.stdout).contains("/category/{id}/product"),
        "{}",
        text(&routes.stdout)
    );
}

#[test]
fn a_nested_route_without_its_parent_is_a_file_error_at_its_place() {
    let dir = TempDir::new("cli-relations-bad");
    let file = dir.path().join("bad.toml");
    let bad = SHOP.replace("/category/{id}/product", "/category/product");
    std::fs::write(&file, &bad).unwrap();
    let line = bad
        .lines()
        .position(|l| l.contains("\"/category/product\""))
        .unwrap()
        + 1;
    let shown = file.to_str().unwrap();
    let out = run(&["check", shown], &[], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{shown}:{line}:")), "{err}");
    assert!(
        err.contains("models.product.nested[0].path") && err.contains("{id}"),
        "{err}"
    );

    for (key, value) in [("embed_limit", "0"), ("max_bulk", "0")] {
        let bad = SHOP.replace("max_bulk = 3", &format!("{key} = {value}"));
        std::fs::write(&file, &bad).unwrap();
        let out = run(&["check", shown], &[], None);
        assert_eq!(out.status.code(), Some(2), "{key}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&format!("models.product.{key}")),
            "{}",
            text(&out.stderr)
        );
    }
}
