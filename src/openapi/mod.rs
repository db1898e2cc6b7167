//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the
//! registered routes — every path, method, parameter (filters, ordering,
//! pagination, projection), request and response schema with the field
//! constraints, error responses, and the bearer security scheme.
//!
//! What only model routes need (their component schemas, list parameters
//! and operations) is in `model`, reached through [`ModelDocs`], which
//! only the model part of the build hands over: a document without models
//! links none of it.

mod model;

use serde_json::{json, Map, Value};

use crate::auth::Access;
use crate::endpoint::{OperationDoc, Service};
use crate::http::{Method, MethodSet};
use crate::model::{decimal_pattern, Field, FieldType, Model, MAX_TEXT_KEY_BYTES};
use crate::resource::Crud;

pub(crate) use model::ModelSchemas;

/// The parts of the document that describe model routes.
pub(crate) trait ModelDocs {
    /// Adds the component schemas of the models of `routes`.
    fn add_schemas(&self, routes: &[RouteDoc<'_>], schemas: &mut Map<String, Value>);

    /// The request body, parameters and success answers of `method` on a
    /// model route (`doc` as a collection for a nested route, whose
    /// foreign key is `nested_fk`); `name` is the model's schema name.
    fn operation(
        &self,
        method: Method,
        doc: RouteKind<'_>,
        nested_fk: Option<&str>,
        name: &str,
        parts: &mut Operation,
    );

    /// Whether a relation of `crud`'s model leads to rows that need a
    /// token to read.
    fn relations_need_token(&self, crud: &Crud) -> bool;
}

/// An operation being described.
#[derive(Default)]
pub(crate) struct Operation {
    pub(crate) op: Map<String, Value>,
    pub(crate) responses: Map<String, Value>,
    pub(crate) params: Vec<Value>,
}

/// One route as the generator sees it.
pub(crate) struct RouteDoc<'a> {
    /// The route's pattern.
    pub(crate) pattern: &'a str,
    /// Its methods and their permissions.
    pub(crate) service: &'a dyn Service,
    /// What serves it.
    pub(crate) kind: RouteKind<'a>,
    /// The methods a rate limit applies to (`429`).
    pub(crate) limited: MethodSet,
}

/// What serves a route.
#[derive(Clone, Copy)]
pub(crate) enum RouteKind<'a> {
    /// A hand-written endpoint: methods only, bodies are any JSON.
    Custom,
    /// The collection route of a model.
    Collection(&'a Crud),
    /// The item route of a model.
    Item(&'a Crud),
    /// A model's collection under a parent row (`/parent/{id}/child`),
    /// with its foreign key into the parent, set from the path.
    Nested(&'a Crud, &'a str),
}

const ERRORS: [(u16, &str); 13] = [
    (400, "Malformed request or query"),
    (401, "Missing or invalid bearer token"),
    (403, "Not permitted"),
    (404, "Not found"),
    (409, "Conflict with stored data"),
    (412, "If-Match does not match"),
    (413, "Body too large"),
    (414, "Request target too long"),
    (415, "Body is not JSON"),
    (422, "Invalid fields"),
    (428, "If-Match required"),
    (431, "Request header fields too large"),
    (503, "Database unavailable"),
];

/// The document's `info`: what the application calls itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Info {
    pub(crate) title: String,
    pub(crate) version: String,
    pub(crate) description: Option<String>,
    /// The API's licence: its name and SPDX identifier.
    pub(crate) license: Option<(String, String)>,
    /// Base URLs of the API; none means the one relative `/`.
    pub(crate) servers: Vec<String>,
}

impl Default for Info {
    fn default() -> Self {
        Info {
            title: "lightapi".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: None,
            license: None,
            servers: Vec::new(),
        }
    }
}

/// The tag of the built-in routes that describe the server.
const META_TAG: &str = "meta";

/// The tag of a route and the tag's description.
fn tag(route: &RouteDoc<'_>) -> (String, String) {
    match route.kind {
        RouteKind::Collection(c) | RouteKind::Item(c) | RouteKind::Nested(c, _) => {
            let name = c.model().name();
            (
                name.to_owned(),
                format!("Rows of the `{name}` model: listed, created, read, changed, deleted"),
            )
        }
        RouteKind::Custom => match route.pattern {
            "/healthz" | "/readyz" | "/openapi.json" => (
                META_TAG.to_owned(),
                "The server's health and its description".to_owned(),
            ),
            "/auth/login" => (
                "auth".to_owned(),
                "Tokens for the other operations".to_owned(),
            ),
            pattern => {
                let first = pattern
                    .split('/')
                    .find(|s| !s.is_empty() && !s.starts_with('{'))
                    .unwrap_or("root");
                (first.to_owned(), format!("Endpoints under `/{first}`"))
            }
        },
    }
}

/// Builds the document for `routes` in registration order, serialised.
///
/// The document is written piece by piece: only the component schemas and
/// one operation at a time exist as JSON trees, so a large API does not
/// need its whole document in memory as a tree (several times the size of
/// its text) at start-up. Keys come out in the same sorted order a single
/// `serde_json` object would give.
///
/// `models` describes the model routes; without it, there are none.
pub(crate) fn document(
    routes: &[RouteDoc<'_>],
    info: &Info,
    models: Option<&dyn ModelDocs>,
) -> Vec<u8> {
    let mut schemas = Map::new();
    schemas.insert("Problem".into(), problem_schema());
    if let Some(models) = models {
        models.add_schemas(routes, &mut schemas);
    }
    let components = json!({
        "schemas": schemas,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
    });
    drop(schemas);
    let mut info_doc = json!({"title": info.title, "version": info.version});
    if let Some(d) = &info.description {
        info_doc["description"] = Value::from(d.as_str());
    }
    if let Some((name, identifier)) = &info.license {
        info_doc["license"] = json!({"name": name, "identifier": identifier});
    }
    let servers: Vec<Value> = if info.servers.is_empty() {
        vec![json!({"url": "/", "description": "The server this document came from"})]
    } else {
        info.servers.iter().map(|url| json!({"url": url})).collect()
    };
    let info = info_doc;
    // Path keys in sorted order; a pattern registered twice keeps its last
    // registration, as inserting into a map would.
    let mut order: Vec<usize> = (0..routes.len()).collect();
    order.sort_by(|&a, &b| routes[a].pattern.cmp(routes[b].pattern).then(b.cmp(&a)));
    order.dedup_by(|later, earlier| routes[*later].pattern == routes[*earlier].pattern);

    let mut out = Vec::with_capacity(16 * 1024);
    out.extend_from_slice(b"{\"components\":");
    write_json(&mut out, &components);
    drop(components);
    out.extend_from_slice(b",\"info\":");
    write_json(&mut out, &info);
    out.extend_from_slice(b",\"openapi\":\"3.1.0\",\"paths\":{");
    for (n, &i) in order.iter().enumerate() {
        let route = &routes[i];
        if n > 0 {
            out.push(b',');
        }
        write_json(&mut out, &Value::from(documented_pattern(route).as_ref()));
        out.push(b':');
        write_path_item(&mut out, route, models);
    }
    out.extend_from_slice(b"},\"servers\":");
    write_json(&mut out, &Value::from(servers));
    // Each tag once, in the order the paths first use it.
    let mut tags: Vec<(String, String)> = Vec::new();
    for &i in &order {
        let (name, description) = tag(&routes[i]);
        if !tags.iter().any(|(n, _)| *n == name) {
            tags.push((name, description));
        }
    }
    let tags: Vec<Value> = tags
        .into_iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    out.extend_from_slice(b",\"tags\":");
    write_json(&mut out, &Value::from(tags));
    out.push(b'}');
    out.shrink_to_fit();
    out
}

/// Appends `value` as JSON. Writing a `Value` into a `Vec` cannot fail.
fn write_json(out: &mut Vec<u8>, value: &Value) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// Appends the path item of one route: its path parameters and one
/// operation per method, each built and written on its own, in the sorted
/// key order a `serde_json` object would give.
fn write_path_item(out: &mut Vec<u8>, route: &RouteDoc<'_>, models: Option<&dyn ModelDocs>) {
    let (pattern, service, doc) = (route.pattern, route.service, route.kind);
    let (tag, _) = tag(route);
    let mut path_params = Vec::new();
    let key = path_key(doc);
    for seg in pattern.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (name, schema) = match &key {
                Some((column, schema)) if name == "id" => (column.as_str(), schema.clone()),
                _ => (name, json!({"type": "string"})),
            };
            path_params
                .push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
        }
    }
    // The keys in sorted order: `parameters` falls between `get` and
    // `patch`; HEAD and OPTIONS are not documented as operations.
    const KEYS: [(&str, Option<Method>); 6] = [
        ("delete", Some(Method::Delete)),
        ("get", Some(Method::Get)),
        ("parameters", None),
        ("patch", Some(Method::Patch)),
        ("post", Some(Method::Post)),
        ("put", Some(Method::Put)),
    ];
    let allowed = service.allowed();
    out.push(b'{');
    let mut first = true;
    for (key, method) in KEYS {
        let value = match method {
            Some(m) if allowed.contains(m) => {
                let access = service.access(m);
                let mut op = match service.doc(m) {
                    Some(given) => described_operation(pattern, m, &given, &access),
                    None => operation(pattern, m, &doc, &access, models),
                };
                if route.limited.contains(m) {
                    op["responses"]["429"] = problem("Too many requests (see Retry-After)");
                }
                op["tags"] = json!([tag]);
                say_access(&mut op, &access);
                op
            }
            None if !path_params.is_empty() => Value::from(std::mem::take(&mut path_params)),
            _ => continue,
        };
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        write_json(out, &value);
    }
    out.push(b'}');
}

/// The `{id}` parameter of an item or nested route: the name and schema
/// of the key it names (the model's own, or for a nested route the key its
/// foreign key references).
fn path_key(doc: RouteKind<'_>) -> Option<(String, Value)> {
    match doc {
        RouteKind::Item(c) => {
            let model = c.model();
            let schema = match model.key_field() {
                Some(field) if !model.has_generated_key() => key_schema(field),
                _ => json!({"type": "integer", "format": "int64", "minimum": 1}),
            };
            Some((model.key_column().to_owned(), schema))
        }
        RouteKind::Nested(c, fk) => {
            let field = c.model().field_named(fk)?;
            let schema = match field.field_type() {
                FieldType::Integer => json!({"type": "integer", "format": "int64", "minimum": 1}),
                _ => key_schema(field),
            };
            Some((field.referenced_column().to_owned(), schema))
        }
        RouteKind::Collection(_) | RouteKind::Custom => None,
    }
}

/// The schema of a text or uuid key in a path: a non-empty segment within
/// the field's length (or [`MAX_TEXT_KEY_BYTES`]), or a UUID.
fn key_schema(field: &Field) -> Value {
    let mut s = type_schema(field);
    if field.field_type() == FieldType::Text {
        s["minLength"] = json!(1);
        s["maxLength"] = json!(field.max_length_chars().unwrap_or(MAX_TEXT_KEY_BYTES));
    }
    s
}

/// A route's pattern as documented: the `{id}` of an item or nested route
/// named after the key it takes (`/thing/{code}`).
fn documented_pattern<'r>(route: &RouteDoc<'r>) -> std::borrow::Cow<'r, str> {
    match path_key(route.kind) {
        Some((column, _)) if column != "id" => {
            let named = format!("{{{column}}}");
            std::borrow::Cow::Owned(
                route
                    .pattern
                    .split('/')
                    .map(|seg| if seg == "{id}" { named.as_str() } else { seg })
                    .collect::<Vec<_>>()
                    .join("/"),
            )
        }
        _ => std::borrow::Cow::Borrowed(route.pattern),
    }
}

/// What calling an operation takes, in words (in its description) and as
/// `x-access`: `public`, `authenticated`, `admin` or `check`.
fn say_access(op: &mut Value, access: &Access) {
    let (name, words) = match access {
        Access::Public => ("public", "No token needed."),
        Access::Authenticated => ("authenticated", "Needs a valid bearer token."),
        Access::Admin => (
            "admin",
            "Needs a valid bearer token whose `is_admin` claim is `true`.",
        ),
        Access::Check(_) => (
            "check",
            "Needs a valid bearer token that passes this route's own permission check.",
        ),
    };
    let Some(op) = op.as_object_mut() else {
        return;
    };
    let description = match op.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d}\n\n{words}"),
        _ => words.to_owned(),
    };
    op.insert("description".into(), Value::from(description));
    op.insert("x-access".into(), Value::from(name));
}

/// An operation as its endpoint describes it ([`OperationDoc`]), with the
/// error answers every operation of its kind has.
fn described_operation(
    pattern: &str,
    method: Method,
    given: &OperationDoc,
    access: &Access,
) -> Value {
    let mut op = Map::new();
    let mut responses = Map::new();
    for (status, description, schema) in &given.responses {
        let response = match schema {
            Some(schema) => {
                json!({"description": description, "content": {"application/json": {"schema": schema}}})
            }
            None => json!({"description": description}),
        };
        responses.insert(status.to_string(), response);
    }
    if !responses
        .keys()
        .any(|k| k.starts_with('2') || k.starts_with('3'))
    {
        responses.insert(
            "200".into(),
            json!({"description": "Success", "content": {"application/json": {"schema": {}}}}),
        );
    }
    if let Some(schema) = &given.request {
        op.insert("requestBody".into(), required(json_body(schema.clone())));
    } else if matches!(method, Method::Post | Method::Put | Method::Patch) {
        op.insert("requestBody".into(), json_body(json!({})));
    }
    for (code, text) in ERRORS {
        let relevant = match code {
            401 | 403 => !access.is_public(),
            404 | 414 | 431 | 400 => true,
            413 | 415 | 422 => matches!(method, Method::Post | Method::Put | Method::Patch),
            _ => false,
        };
        if relevant && !responses.contains_key(&code.to_string()) {
            responses.insert(code.to_string(), problem(text));
        }
    }
    responses
        .entry("500")
        .or_insert_with(|| problem("Internal error"));
    op.insert(
        "operationId".into(),
        Value::from(operation_id(pattern, method)),
    );
    op.insert("summary".into(), Value::from(given.summary.as_str()));
    if let Some(d) = &given.description {
        op.insert("description".into(), Value::from(d.as_str()));
    }
    // Path parameters the endpoint describes replace the path item's
    // string defaults (OpenAPI lets an operation override them).
    finish_operation(op, given.parameters.clone(), responses, access)
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "field": {"type": "string"},
            "errors": {
                "type": "array",
                "maxItems": crate::crud::validate::MAX_LISTED_FIELD_ERRORS,
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "field": {"type": "string"},
                        "message": {"type": "string"}
                    }
                }
            },
            "index": {"type": "integer", "minimum": 0},
            "truncated": {"type": "integer", "minimum": 1}
        }
    })
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

fn json_body(schema: Value) -> Value {
    json!({"content": {"application/json": {"schema": schema}}})
}

fn operation(
    pattern: &str,
    method: Method,
    doc: &RouteKind<'_>,
    access: &Access,
    models: Option<&dyn ModelDocs>,
) -> Value {
    let mut parts = Operation::default();
    let name = match doc {
        RouteKind::Collection(c) | RouteKind::Item(c) | RouteKind::Nested(c, _) => {
            schema_name(c.model())
        }
        RouteKind::Custom => String::new(),
    };
    // Under a parent row, a model's collection is documented as its own,
    // but a created row takes its foreign key from the path.
    let summary_text = summary(pattern, method, doc);
    let nested_fk = match *doc {
        RouteKind::Nested(_, fk) => Some(fk),
        _ => None,
    };
    let doc = &match *doc {
        RouteKind::Nested(c, _) => RouteKind::Collection(c),
        other => other,
    };
    match doc {
        RouteKind::Custom => {
            let Operation { op, responses, .. } = &mut parts;
            if pattern == "/auth/login" {
                op.insert(
                    "requestBody".into(),
                    required(json_body(json!({"type": "object", "required": ["username", "password"],
                        "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}))),
                );
                responses.insert("200".into(), json!({"description": "A token", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token", "token_type", "expires_in"],
                    "properties": {"token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"}}
                }}}}));
                responses.insert("401".into(), problem("Invalid credentials"));
                responses.insert("429".into(), problem("Too many attempts"));
            } else {
                if matches!(method, Method::Post | Method::Put | Method::Patch) {
                    op.insert("requestBody".into(), json_body(json!({})));
                }
                responses.insert("200".into(), json!({"description": "Success", "content": {"application/json": {"schema": {}}}}));
            }
        }
        _ => {
            if let Some(models) = models {
                models.operation(method, *doc, nested_fk, &name, &mut parts);
            }
        }
    }
    let Operation {
        mut op,
        mut responses,
        params,
    } = parts;
    for (code, text) in ERRORS {
        let relevant = match code {
            401 | 403 => !access.is_public(),
            404 | 414 | 431 => true,
            400 | 503 | 409 => !matches!(doc, RouteKind::Custom) || code == 400,
            412 | 428 => matches!(doc, RouteKind::Item(_)) && method != Method::Get,
            413 | 415 | 422 => matches!(method, Method::Post | Method::Put | Method::Patch),
            _ => false,
        };
        if relevant {
            responses.insert(code.to_string(), problem(text));
        }
    }
    // A public read whose relations lead to resources that need a token.
    if let (RouteKind::Collection(c) | RouteKind::Item(c), Method::Get) = (doc, method) {
        if access.is_public() && models.is_some_and(|m| m.relations_need_token(c)) {
            responses.insert(
                "401".into(),
                problem("A relation asked for with `expand` or `embed` needs a token"),
            );
            responses.insert(
                "403".into(),
                problem("The token does not grant reading a relation asked for"),
            );
        }
    }
    responses.insert("500".into(), problem("Internal error"));
    op.insert(
        "operationId".into(),
        Value::from(operation_id(pattern, method)),
    );
    op.insert("summary".into(), Value::from(summary_text));
    finish_operation(op, params, responses, access)
}

/// An operation's last parts: its parameters (when it has any), its
/// answers, and the security it asks for (none for a public route).
fn finish_operation(
    mut op: Map<String, Value>,
    params: Vec<Value>,
    responses: Map<String, Value>,
    access: &Access,
) -> Value {
    if !params.is_empty() {
        op.insert("parameters".into(), Value::from(params));
    }
    op.insert("responses".into(), Value::Object(responses));
    let security = if access.is_public() {
        json!([])
    } else {
        json!([{"bearerAuth": []}])
    };
    op.insert("security".into(), security);
    Value::Object(op)
}

fn required(mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.insert("required".into(), Value::Bool(true));
    }
    body
}

fn row_response(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": schema}}
    })
}

fn header_param(name: &str) -> Value {
    json!({"name": name, "in": "header", "required": false, "schema": {"type": "string"}})
}

/// A one-line summary of an operation.
fn summary(pattern: &str, method: Method, doc: &RouteKind<'_>) -> String {
    let model = match doc {
        RouteKind::Collection(c) | RouteKind::Item(c) | RouteKind::Nested(c, _) => c.model().name(),
        RouteKind::Custom => "",
    };
    match (doc, method) {
        (RouteKind::Collection(_), Method::Get) => format!("List {model} rows"),
        (RouteKind::Collection(_), Method::Post) => format!("Create a {model} row"),
        (RouteKind::Nested(..), Method::Get) => format!("List the {model} rows of a parent row"),
        (RouteKind::Nested(..), Method::Post) => format!("Create a {model} row under a parent row"),
        (RouteKind::Item(_), Method::Get) => format!("Read a {model} row"),
        (RouteKind::Item(_), Method::Put) => format!("Replace a {model} row"),
        (RouteKind::Item(_), Method::Patch) => format!("Change fields of a {model} row"),
        (RouteKind::Item(_), Method::Delete) => format!("Delete a {model} row"),
        (RouteKind::Custom, _) => match pattern {
            "/healthz" => "Liveness".to_owned(),
            "/readyz" => "Readiness (the database answers)".to_owned(),
            "/openapi.json" => "This OpenAPI document".to_owned(),
            "/auth/login" => "Log in for a token".to_owned(),
            _ => format!("{} {pattern}", method.as_str()),
        },
        _ => format!("{} {pattern}", method.as_str()),
    }
}

fn operation_id(pattern: &str, method: Method) -> String {
    let path: String = pattern
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!(
        "{}{}",
        method.as_str().to_ascii_lowercase(),
        path.trim_end_matches('_')
    )
}

fn schema_name(model: &Model) -> String {
    let mut out = String::new();
    for part in model.name().split('_') {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// The JSON Schema of the values a field's type accepts (what a filter
/// parameter on it accepts): type, format and, for UUIDs, dates and
/// decimals, the exact text syntax.
fn type_schema(field: &Field) -> Value {
    match field.field_type() {
        // The 64-bit bounds are not numbers a JavaScript client can read
        // exactly: `format` says it instead.
        FieldType::Integer => json!({"type": "integer", "format": "int64"}),
        FieldType::Float => json!({"type": "number"}),
        FieldType::Text => json!({"type": "string"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldType::Uuid => json!({"type": "string", "format": "uuid",
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}),
        FieldType::Date => {
            json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
        }
        FieldType::Decimal => {
            let (precision, scale) = field.decimal_digits().unwrap_or((1, 0));
            json!({"type": "string", "format": "decimal",
                "pattern": decimal_pattern(precision, scale, false)})
        }
        _ => json!({}),
    }
}
