//! `GET /openapi.json`: structure checks in Rust. Full validation
//! against the OpenAPI 3.1 schema and fuzzing run in `.ci/schemathesis.sh`.

use lightapi::auth::Credentials;
use lightapi::{Access, Field, Method, Model};
use serde_json::{json, Value};

use crate::support::api::{database_url, Api};

fn shop(url: &str) -> Api {
    let category = Model::new("category")
        .field("name", Field::text().max_length(100).unique())
        .into_resource()
        .access(Method::Get, Access::Public)
        .filter_fields(&["name"])
        .ordering_fields(&["name"]);
    let product = Model::new("product")
        .field("title", Field::text().max_length(200))
        .field("description", Field::text().nullable())
        .field("price", Field::float())
        .field("stock", Field::integer().default(0))
        .field("category_id", Field::integer().references("category"))
        .field("internal_note", Field::text().nullable().write_only())
        .field("status", Field::text().nullable().read_only())
        .field("created", Field::datetime().nullable())
        .into_resource()
        .methods(&[Method::Get, Method::Post, Method::Patch])
        .filter_fields(&["title", "price", "stock", "created"])
        .search_fields(&["title", "description"])
        .ordering_fields(&["title", "price"])
        .page_size(20, 200)
        .max_bulk(50);
    Api::start(url, |app| {
        app.login(|_: &Credentials| Ok(None))
            .register("/category", category)
            .register("/product", product)
    })
}

fn param<'a>(op: &'a Value, name: &str) -> &'a Value {
    op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no parameter {name} in {op}"))
}

#[test]
fn every_route_and_method_is_documented_with_its_security() {
    let db = database_url("openapi-routes");
    let api = shop(&db.url);
    let r = api.send("GET", "/openapi.json", &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    // Written piece by piece, the document is still one canonical JSON
    // text: the bytes a `serde_json` object tree of it serialises to (keys
    // sorted, no whitespace, every key once).
    assert_eq!(
        serde_json::to_vec(&doc).unwrap(),
        r.body,
        "the document is not in canonical form"
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    let paths = doc["paths"].as_object().unwrap();
    let want: &[(&str, &[&str])] = &[
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/openapi.json", &["get"]),
        ("/auth/login", &["post"]),
        ("/category", &["get", "post"]),
        ("/category/{id}", &["get", "put", "patch", "delete"]),
        ("/product", &["get", "post"]),
        ("/product/{id}", &["get", "patch"]),
    ];
    assert_eq!(
        paths.len(),
        want.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    let mut ids = std::collections::BTreeSet::new();
    for (path, methods) in want {
        let item = paths[*path]
            .as_object()
            .unwrap_or_else(|| panic!("{path} missing"));
        let mut got: Vec<&str> = item
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "parameters")
            .collect();
        got.sort_unstable();
        let mut w = methods.to_vec();
        w.sort_unstable();
        assert_eq!(got, w, "{path}");
        for m in *methods {
            let op = &item[*m];
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "duplicate operationId"
            );
            let public = matches!(
                *path,
                "/healthz" | "/readyz" | "/openapi.json" | "/auth/login"
            ) || (*path == "/category" && *m == "get")
                || (*path == "/category/{id}" && *m == "get");
            let responses = op["responses"].as_object().unwrap();
            if public {
                assert_eq!(op["security"], json!([]), "{m} {path}");
                // Only a relation needing a token makes a public read a 401.
                if *path != "/auth/login" {
                    let about_relations = responses
                        .get("401")
                        .is_none_or(|r| r["description"].as_str().unwrap().contains("relation"));
                    assert!(about_relations, "{m} {path}");
                }
            } else {
                assert_eq!(op["security"], json!([{"bearerAuth": []}]), "{m} {path}");
                assert!(responses.contains_key("401") && responses.contains_key("403"));
            }
            assert!(responses.contains_key("500"));
            for (code, resp) in responses {
                assert!(resp["description"].is_string(), "{m} {path} {code}");
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem"
                    );
                }
            }
        }
    }
    let item = &paths["/product/{id}"];
    assert_eq!(
        item["parameters"],
        json!([{"name": "id", "in": "path", "required": true,
                "schema": {"type": "integer", "format": "int64", "minimum": 1}}])
    );
    assert_eq!(param(&item["patch"], "If-Match")["in"], "header");
    assert!(item["patch"]["responses"].get("412").is_some());
    assert!(paths["/auth/login"]["post"]["responses"]
        .get("429")
        .is_some());
    // Every `$ref` resolves.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 10);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"].get(name).is_some(), "{r}");
    }
}

#[test]
fn list_parameters_cover_filters_ordering_and_pagination() {
    let db = database_url("openapi-params");
    let api = shop(&db.url);
    let doc = api.get_ok("/openapi.json");
    let list = &doc["paths"]["/product"]["get"];
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in [
        "page",
        "page_size",
        "cursor",
        "fields",
        "ordering",
        "search",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    assert_eq!(param(list, "page_size")["schema"]["maximum"], 200);
    assert_eq!(param(list, "page_size")["schema"]["default"], 20);
    assert_eq!(
        param(list, "page")["schema"]["maximum"],
        json!(lightapi::__private::crud::query::max_page(200))
    );
    for field in ["id", "title", "price", "stock", "created"] {
        for op in [
            "", "__ne", "__lt", "__lte", "__gt", "__gte", "__in", "__isnull",
        ] {
            assert!(
                names.contains(&format!("{field}{op}").as_str()),
                "{field}{op}"
            );
        }
    }
    assert!(!names
        .iter()
        .any(|n| n.starts_with("internal_note") || n.starts_with("description")));
    assert_eq!(param(list, "price__gte")["schema"]["type"], "number");
    assert_eq!(param(list, "created")["schema"]["format"], "date-time");
    assert_eq!(param(list, "stock__isnull")["schema"]["type"], "boolean");
    let stock_in = param(list, "stock__in");
    assert_eq!(
        (stock_in["style"].clone(), stock_in["explode"].clone()),
        (json!("form"), json!(false))
    );
    assert_eq!(stock_in["schema"]["items"]["type"], "integer");
    assert_eq!(stock_in["schema"]["maxItems"], 100);
    let ordering = &param(list, "ordering")["schema"];
    assert_eq!(
        ordering["items"],
        json!({"type": "string", "enum": ["title", "-title", "price", "-price", "id", "-id"]})
    );
    assert_eq!(ordering["allOf"].as_array().unwrap().len(), 3);
    assert_eq!(param(list, "fields")["schema"]["items"]["type"], "string");
    let fields = &param(list, "fields")["schema"]["items"]["enum"];
    assert_eq!(
        fields,
        &json!([
            "id",
            "title",
            "description",
            "price",
            "stock",
            "category_id",
            "status",
            "created"
        ])
    );
    // Category has no search fields: no `search` parameter.
    assert!(doc["paths"]["/category"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["name"] != "search"));
    // Limits of the HTTP layer are documented too.
    for code in ["400", "414", "431"] {
        assert!(list["responses"].get(code).is_some(), "{code}");
    }
    let post = &doc["paths"]["/product"]["post"]["responses"];
    assert!(post.get("413").is_some() && post.get("422").is_some());
    let schema = &list["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(
        schema["oneOf"],
        json!([{"$ref": "#/components/schemas/ProductPage"}, {"$ref": "#/components/schemas/ProductCursorPage"}])
    );
}

#[test]
fn schemas_carry_the_field_constraints() {
    let db = database_url("openapi-schemas");
    let api = shop(&db.url);
    let doc = api.get_ok("/openapi.json");
    let s = &doc["components"]["schemas"];
    let read = &s["Product"];
    assert_eq!(read["additionalProperties"], false);
    assert_eq!(
        read["properties"]["title"],
        json!({"type": "string", "maxLength": 200})
    );
    assert_eq!(
        read["properties"]["description"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        read["properties"]["created"],
        json!({"type": ["string", "null"], "format": "date-time"})
    );
    assert_eq!(read["properties"]["stock"]["default"], 0);
    assert!(read["properties"].get("internal_note").is_none());
    let mut required: Vec<&str> = read["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "category_id",
            "created",
            "description",
            "id",
            "price",
            "status",
            "stock",
            "title"
        ]
    );
    assert!(s["ProductFields"].get("required").is_none());
    let create = &s["ProductCreate"];
    assert_eq!(create["additionalProperties"], false);
    assert!(create["properties"].get("internal_note").is_some());
    assert!(
        create["properties"].get("status").is_none() && create["properties"].get("id").is_none()
    );
    let mut required: Vec<&str> = create["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["category_id", "price", "title"]);
    assert!(s["ProductPatch"].get("required").is_none());
    assert_eq!(s["ProductPatch"]["additionalProperties"], false);
    for page in ["ProductPage", "ProductCursorPage"] {
        assert_eq!(s[page]["additionalProperties"], false, "{page}");
        assert_eq!(
            s[page]["properties"]["results"]["items"]["$ref"],
            "#/components/schemas/ProductFields"
        );
    }
    assert_eq!(s["Category"]["properties"]["name"]["maxLength"], 100);
    assert_eq!(
        s["Problem"]["required"],
        json!(["type", "title", "status", "detail"])
    );
}

#[cfg(feature = "pattern")]
#[test]
fn constraints_and_new_types_are_in_the_schemas_and_filters() {
    let db = database_url("openapi-constraints");
    let task = Model::new("task")
        .field(
            "status",
            Field::text()
                .choices(&["todo", "doing", "done"])
                .default("todo"),
        )
        .field("priority", Field::integer().nullable().choices(&[1, 2, 3]))
        .field("estimate", Field::integer().min(0).max(100))
        .field("ratio", Field::float().min(0.5))
        .field(
            "sku",
            Field::text()
                .min_length(8)
                .max_length(8)
                .pattern("^[A-Z]{3}-[0-9]{4}$"),
        )
        .field("code", Field::uuid())
        .field("due", Field::date().nullable().min("2000-01-01"))
        .field("price", Field::decimal(10, 2).min(0))
        .field("balance", Field::decimal(5, 0).max(500))
        .into_resource()
        .filter_fields(&["status", "estimate", "code", "due", "price", "sku"]);
    let api = Api::start(&db.url, |app| app.register("/task", task));
    let doc = api.get_ok("/openapi.json");
    for schema in ["Task", "TaskCreate"] {
        let p = &doc["components"]["schemas"][schema]["properties"];
        assert_eq!(
            p["status"],
            json!({"type": "string", "enum": ["todo", "doing", "done"], "default": "todo"}),
            "{schema}"
        );
        assert_eq!(
            p["priority"],
            json!({"type": ["integer", "null"], "format": "int64", "enum": [1, 2, 3, null]})
        );
        assert_eq!(
            p["estimate"],
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 100})
        );
        assert_eq!(p["ratio"], json!({"type": "number", "minimum": 0.5}));
        assert_eq!(
            p["sku"],
            json!({"type": "string", "minLength": 8, "maxLength": 8,
                "pattern": "^[A-Z]{3}-[0-9]{4}$"})
        );
        assert_eq!(p["code"]["format"], "uuid");
        assert_eq!(p["due"]["format"], "date");
        assert_eq!(p["due"]["type"], json!(["string", "null"]));
        assert_eq!(p["due"]["description"], "A date at least 2000-01-01");
        assert_eq!(p["price"]["format"], "decimal");
        assert_eq!(p["price"]["type"], "string");
        // A minimum of zero: no sign but a negative zero.
        assert_eq!(
            p["price"]["pattern"],
            "^(-0+(\\.0+)?|0*[0-9]{1,8}(\\.[0-9]{1,2}0*)?)$"
        );
        assert_eq!(p["balance"]["pattern"], "^-?0*[0-9]{1,5}(\\.0+)?$");
        assert_eq!(p["balance"]["description"], "A decimal at most 500");
    }
    let list = &doc["paths"]["/task"]["get"];
    // Filters take any value of the type: constraints aside.
    assert_eq!(param(list, "status")["schema"], json!({"type": "string"}));
    assert_eq!(param(list, "sku")["schema"], json!({"type": "string"}));
    assert_eq!(
        param(list, "estimate__gte")["schema"],
        json!({"type": "integer", "format": "int64"})
    );
    assert_eq!(param(list, "code")["schema"]["format"], "uuid");
    assert_eq!(param(list, "due__lt")["schema"]["format"], "date");
    assert_eq!(param(list, "due")["schema"]["type"], "string");
    let price = &param(list, "price__gte")["schema"];
    assert_eq!(price["format"], "decimal");
    assert_eq!(price["pattern"], "^-?0*[0-9]{1,8}(\\.[0-9]{1,2}0*)?$");
    assert_eq!(
        param(list, "price__in")["schema"]["items"]["format"],
        "decimal"
    );
}

#[test]
fn the_collection_post_takes_an_object_or_an_array() {
    let db = database_url("openapi-bulk");
    let api = shop(&db.url);
    let doc = api.get_ok("/openapi.json");
    let create = |name: &str| json!({"$ref": format!("#/components/schemas/{name}Create")});
    let row = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let many = |schema: Value, max: u64| json!({"type": "array", "items": schema, "minItems": 1, "maxItems": max});
    let post = &doc["paths"]["/product"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["oneOf"],
        json!([create("Product"), many(create("Product"), 50)])
    );
    assert_eq!(
        post["responses"]["201"]["content"]["application/json"]["schema"]["oneOf"],
        json!([row("Product"), {"type": "array", "items": row("Product"), "maxItems": 50}])
    );
    // No unique field: no upsert to describe.
    let names: Vec<&str> = post["parameters"]
        .as_array()
        .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"on_conflict"), "{post}");
    // The default maximum, and the upsert of a model with a unique field.
    let post = &doc["paths"]["/category"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]["maxItems"],
        1000
    );
    assert_eq!(
        param(post, "on_conflict")["schema"]["enum"],
        json!(["name"])
    );
    assert_eq!(param(post, "on_conflict")["in"], "query");
    let prefer = param(post, "Prefer");
    assert_eq!(prefer["schema"], json!({"type": "string"}));
    assert_eq!(
        prefer["examples"]["merge"]["value"],
        "resolution=merge-duplicates"
    );
    for code in ["200", "201", "204", "400", "409", "413", "422"] {
        assert!(post["responses"].get(code).is_some(), "{code}: {post}");
    }
}

#[test]
fn the_application_names_its_api() {
    use crate::support::{config, Client, TestServer};
    let server = TestServer::start(|app| {
        app.openapi_info("Tasks", "1.2.0")
            .openapi_description("A team's tasks.")
    });
    let doc = Client::new(server.addr()).get("/openapi.json").json();
    assert_eq!(
        doc["info"],
        json!({"title": "Tasks", "version": "1.2.0", "description": "A team's tasks."})
    );
    drop(server);
    let default = TestServer::start(|app| app);
    let doc = Client::new(default.addr()).get("/openapi.json").json();
    assert_eq!(doc["info"]["title"], "lightapi");
    assert!(doc["info"].get("description").is_none());
    drop(default);
    let err = TestServer::try_start(config(), |app| app.openapi_info(" ", "1")).unwrap_err();
    assert!(err.to_string().contains("openapi_info"), "{err}");
}

/// Every number in `v` with the path to it.
fn numbers<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Number(_) => out.push((at, v)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| numbers(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| numbers(x, format!("{at}/{i}"), out)),
        _ => {}
    }
}

#[test]
fn the_document_reads_well_in_tools() {
    let db = database_url("openapi-tools");
    let api = shop(&db.url);
    let doc = api.get_ok("/openapi.json");
    // A relative server: requests go where the document came from.
    assert_eq!(doc["servers"][0]["url"], "/");
    // One tag per model, each described, and every operation tagged with a
    // declared one and summarised.
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(
                t["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{t}"
            );
            t["name"].as_str().unwrap()
        })
        .collect();
    for t in ["category", "product", "auth", "meta"] {
        assert!(tags.contains(&t), "{t} in {tags:?}");
    }
    let mut summaries = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let tag = op["tags"][0].as_str().unwrap();
            assert!(tags.contains(&tag), "{method} {path}: {tag}");
            let summary = op["summary"].as_str().unwrap();
            assert!(summaries.insert(summary.to_owned()), "{summary} twice");
            assert!(op["operationId"].is_string());
        }
    }
    assert_eq!(doc["paths"]["/product"]["get"]["tags"], json!(["product"]));
    assert_eq!(
        doc["paths"]["/product/{id}"]["patch"]["summary"],
        "Change fields of a product row"
    );
    // Optional lists can be left empty, and the server takes them empty.
    let list = &doc["paths"]["/product"]["get"];
    for p in list["parameters"].as_array().unwrap() {
        if p["schema"]["type"] == "array" {
            assert!(p["schema"].get("minItems").is_none(), "{p}");
            assert!(p["schema"]["items"]["type"].is_string(), "{p}");
        }
    }
    api.create("/category", &json!({"name": "tools"}));
    let page = api.get_ok("/product?fields=&ordering=&stock__in=&price__in=");
    assert!(page["results"].is_array(), "{page}");
    // `cursor=` starts keyset paging, and tools may send it empty.
    let cursor = param(list, "cursor");
    assert_eq!(cursor["allowEmptyValue"], true);
    let first = api.get_ok("/product?cursor=");
    assert!(first.get("count").is_none() && first["results"].is_array());
    // No number a JavaScript client would read inexactly.
    const EXACT: u64 = (1 << 53) - 1;
    let mut all = Vec::new();
    numbers(&doc, String::new(), &mut all);
    assert!(all.len() > 20);
    for (at, n) in all {
        let exact = n.as_u64().is_some_and(|n| n <= EXACT)
            || n.as_i64().is_some_and(|n| n.unsigned_abs() <= EXACT);
        assert!(exact, "{at}: {n}");
    }
    let stock = &doc["components"]["schemas"]["Product"]["properties"]["stock"];
    assert_eq!(stock["format"], "int64");
}

#[test]
fn servers_and_licence_come_from_the_application() {
    use crate::support::{config, Client, TestServer};
    let server = TestServer::start(|app| {
        app.openapi_server("https://api.example.com/v1")
            .openapi_license("MIT License", "MIT")
    });
    let doc = Client::new(server.addr()).get("/openapi.json").json();
    assert_eq!(
        doc["servers"],
        json!([{"url": "https://api.example.com/v1"}])
    );
    assert_eq!(
        doc["info"]["license"],
        json!({"name": "MIT License", "identifier": "MIT"})
    );
    drop(server);
    let err = TestServer::try_start(config(), |app| app.openapi_server("")).unwrap_err();
    assert!(err.to_string().contains("server URL"), "{err}");
}

/// A custom endpoint that describes its operations.
struct Stats;

impl lightapi::Endpoint for Stats {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get, Method::Post])
    }
    fn get(&self, _req: &lightapi::Request) -> lightapi::HandlerResult {
        Ok(json!({"todo": 1}).into())
    }
    fn post(&self, _req: &lightapi::Request) -> lightapi::HandlerResult {
        Ok(json!({}).into())
    }
    fn access(&self, method: Method) -> Access {
        match method {
            Method::Post => Access::Admin,
            _ => Access::Authenticated,
        }
    }
    fn doc(&self, method: Method) -> Option<lightapi::OperationDoc> {
        let counts = json!({"type": "object", "additionalProperties": {"type": "integer"}});
        match method {
            Method::Get => Some(
                lightapi::OperationDoc::new("Tasks per status")
                    .description("Counts every task the caller can read.")
                    .query("project", json!({"type": "integer"}), "Only this project")
                    .path("kind", json!({"enum": ["task", "bug"]}), "What to count")
                    .response(200, "Counts by status", counts),
            ),
            _ => Some(
                lightapi::OperationDoc::new("Recount")
                    .request(json!({"type": "object", "required": ["full"],
                        "properties": {"full": {"type": "boolean"}}}))
                    .response(202, "Recount started", None),
            ),
        }
    }
}

#[test]
fn custom_endpoints_describe_their_operations_and_every_operation_its_access() {
    use crate::support::{Client, TestServer};
    let public = Model::new("note")
        .field("body", Field::text())
        .into_resource()
        .access(Method::Get, Access::Public)
        .access(Method::Delete, Access::Admin);
    let server = TestServer::start(|app| {
        app.register("/stats/{kind}", Stats)
            .register("/note", public)
    });
    let doc = Client::new(server.addr()).get("/openapi.json").json();
    let get = &doc["paths"]["/stats/{kind}"]["get"];
    assert_eq!(get["summary"], json!("Tasks per status"));
    assert_eq!(get["x-access"], json!("authenticated"));
    let description = get["description"].as_str().unwrap();
    assert!(
        description.starts_with("Counts every task"),
        "{description}"
    );
    assert!(description.contains("valid bearer token"), "{description}");
    assert_eq!(param(get, "project")["schema"], json!({"type": "integer"}));
    assert_eq!(param(get, "project")["in"], json!("query"));
    assert_eq!(
        param(get, "kind")["schema"],
        json!({"enum": ["task", "bug"]})
    );
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["additionalProperties"],
        json!({"type": "integer"})
    );
    assert!(get["responses"]["401"].is_object(), "{get}");
    let post = &doc["paths"]["/stats/{kind}"]["post"];
    assert_eq!(post["x-access"], json!("admin"));
    assert!(post["description"].as_str().unwrap().contains("is_admin"));
    assert_eq!(post["requestBody"]["required"], json!(true));
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["full"])
    );
    assert_eq!(
        post["responses"]["202"]["description"],
        json!("Recount started")
    );
    assert!(post["responses"].get("200").is_none(), "{post}");
    // Generated operations say their access too.
    let notes = &doc["paths"]["/note"];
    assert_eq!(notes["get"]["x-access"], json!("public"));
    assert_eq!(notes["get"]["security"], json!([]));
    assert_eq!(notes["post"]["x-access"], json!("authenticated"));
    assert_eq!(
        doc["paths"]["/note/{id}"]["delete"]["x-access"],
        json!("admin")
    );
}

#[test]
fn relations_and_nested_routes_are_documented() {
    let db = database_url("openapi-relations");
    let category = Model::new("category")
        .field("name", Field::text())
        .into_resource()
        .access(Method::Get, Access::Public);
    let product = Model::new("product")
        .field("title", Field::text())
        .field("category_id", Field::integer().references("category"));
    let api = Api::start(&db.url, |app| {
        app.register("/category", category)
            .register("/product", product)
            .register_nested("/category/{id}/product", "product", "category_id")
    });
    let doc = api.send("GET", "/openapi.json", &[], None).json();
    let list = &doc["paths"]["/product"]["get"];
    assert_eq!(
        param(list, "expand")["schema"]["items"]["enum"],
        json!(["category"])
    );
    let item = &doc["paths"]["/category/{id}"]["get"];
    assert_eq!(
        param(item, "embed")["schema"]["items"]["enum"],
        json!(["product"])
    );
    // A public read whose relation needs a token says so.
    assert!(item["responses"]["401"]["description"]
        .as_str()
        .unwrap()
        .contains("relation"));
    let schemas = &doc["components"]["schemas"];
    let shown = &schemas["ProductFields"]["properties"]["category"]["oneOf"];
    assert_eq!(
        shown[0]["$ref"],
        json!("#/components/schemas/CategoryFields")
    );
    let embedded = &schemas["CategoryFields"]["properties"]["product"];
    assert_eq!(
        embedded["properties"]["results"]["items"]["$ref"],
        json!("#/components/schemas/ProductFields")
    );
    let nested = &doc["paths"]["/category/{id}/product"];
    assert_eq!(nested["parameters"][0]["schema"]["type"], json!("integer"));
    assert!(nested["get"]["responses"]["200"].is_object());
    assert!(nested["post"]["responses"]["201"].is_object());
    // The foreign key comes from the path: optional in the body.
    let body = nested["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(schemas[body]["required"], json!(["title"]));
    assert!(schemas[body]["properties"].get("category_id").is_none());
    assert_eq!(
        schemas["ProductCreate"]["required"],
        json!(["title", "category_id"])
    );
}
