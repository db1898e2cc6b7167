//! Two related models with every query feature: filters, search, ordering,
//! page and keyset pagination, field projection, related rows (`expand`,
//! `embed`), row scoping, a login endpoint, middleware and CORS; and field
//! constraints (a SKU pattern, a non-negative decimal price and stock, a
//! status from a list).
//!
//! ```sh
//! LIGHTAPI_DATABASE_URL=sqlite://shop.db cargo run --example shop
//! TOKEN=$(curl -s -H 'Content-Type: application/json' \
//!   -d '{"username":"alice","password":"alice-password"}' \
//!   http://127.0.0.1:8000/auth/login | sed 's/.*"token":"\([^"]*\)".*/\1/')
//! curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!   -d '{"name":"books"}' http://127.0.0.1:8000/category
//! curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!   -d '{"title":"Dune","price":"9.50","sku":"BKS-0001","category_id":1}' http://127.0.0.1:8000/product
//! curl -H "Authorization: Bearer $TOKEN" \
//!   'http://127.0.0.1:8000/product?price__gte=5&search=dune&ordering=-price&fields=id,title'
//! curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8000/product?cursor=&page_size=10'
//! curl -H "Authorization: Bearer $TOKEN" \
//!   'http://127.0.0.1:8000/product?expand=category&fields=id,title,category.name'
//! curl -H "Authorization: Bearer $TOKEN" \
//!   'http://127.0.0.1:8000/category/1?embed=product&product.price__gte=5'
//! curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8000/category/1/product'
//! ```

use lightapi::auth::Credentials;
use lightapi::middleware::{RequestId, Timing};
use lightapi::Cors;
use lightapi::{Access, Field, LightApi, Method, Model};
use serde_json::{Map, Value};

/// Demo users; a real application checks a password hash in its database.
fn check(c: &Credentials) -> Result<Option<Map<String, Value>>, String> {
    let known = [
        ("alice", "alice-password", false),
        ("admin", "admin-password", true),
    ];
    Ok(known
        .iter()
        .find(|(u, p, _)| *u == c.username && *p == c.password)
        .map(|(_, _, admin)| {
            let mut claims = Map::new();
            claims.insert("is_admin".into(), Value::Bool(*admin));
            claims
        }))
}

fn main() -> Result<(), lightapi::StartError> {
    let category = Model::new("category")
        .field("name", Field::text().max_length(100).unique())
        .into_resource()
        .access(Method::Get, Access::Public)
        .access(Method::Delete, Access::Admin)
        .filter_fields(&["name"])
        .ordering_fields(&["name"])
        .embed_limit(10);
    let product = Model::new("product")
        .field("title", Field::text().max_length(200))
        .field("description", Field::text().nullable())
        .field(
            "sku",
            Field::text().nullable().pattern("^[A-Z]{3}-[0-9]{4}$"),
        )
        .field("price", Field::decimal(10, 2).min(0))
        .field("stock", Field::integer().min(0).default(0))
        .field(
            "status",
            Field::text()
                .choices(&["draft", "active", "archived"])
                .default("draft"),
        )
        .field(
            "category_id",
            Field::integer().references("category").index(),
        )
        .field("owner_id", Field::text().read_only())
        .field("internal_note", Field::text().nullable().write_only())
        .field("created", Field::datetime().nullable())
        .scope("owner_id", "sub")
        .into_resource()
        .filter_fields(&[
            "title",
            "price",
            "stock",
            "status",
            "category_id",
            "created",
        ])
        .search_fields(&["title", "description"])
        .ordering_fields(&["title", "price", "stock", "created"])
        .page_size(20, 200);
    let mut app = LightApi::from_env()?
        .openapi_info("Shop", "1.0.0")
        .openapi_license("MIT License", "MIT")
        .middleware(RequestId::default())
        .middleware(Timing)
        .login(check)
        .register("/category", category)
        .register("/product", product)
        .register_nested("/category/{id}/product", "product", "category_id");
    if std::env::var_os("LIGHTAPI_CORS_ORIGINS").is_none() {
        app = app.cors(Cors::new().allow_origin("http://localhost:3000"));
    }
    app.run()
}
