//! The model routes' part of the OpenAPI document: component schemas
//! for each model's rows, create, replace and patch bodies and pages; list
//! parameters (paging, ordering, search, filters, relations); and the
//! operations of the generated verbs.

use serde_json::{json, Map, Value};

use super::{
    header_param, json_body, required, row_response, schema_name, type_schema, ModelDocs,
    Operation, RouteDoc, RouteKind,
};
use crate::crud::cursor::MAX_CURSOR_BYTES;
use crate::crud::query::{max_page, MAX_IN_VALUES, MAX_OFFSET};
use crate::http::Method;
use crate::model::{compare_decimal, decimal_pattern, Field, FieldType, Model};
use crate::resource::Crud;

/// The document's model parts, as the model part of the build hands them
/// to [`super::document`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModelSchemas;

impl ModelDocs for ModelSchemas {
    fn add_schemas(&self, routes: &[RouteDoc<'_>], schemas: &mut Map<String, Value>) {
        for route in routes {
            if let RouteKind::Collection(c) | RouteKind::Item(c) = route.kind {
                add_model_schemas(schemas, c);
            }
        }
        // The body of a create under a parent row: without the foreign key,
        // which the path gives.
        for route in routes {
            if let RouteKind::Nested(c, fk) = route.kind {
                let name = schema_name(c.model());
                let mut body = schemas
                    .get(&format!("{name}Create"))
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                if let Some(Value::Array(required)) = body.get_mut("required") {
                    required.retain(|f| f != fk);
                }
                if let Some(Value::Object(properties)) = body.get_mut("properties") {
                    properties.remove(fk);
                }
                schemas.insert(format!("{name}{}", nested_create_suffix(fk)), body);
            }
        }
    }

    fn operation(
        &self,
        method: Method,
        doc: RouteKind<'_>,
        nested_fk: Option<&str>,
        name: &str,
        parts: &mut Operation,
    ) {
        let Operation {
            op,
            responses,
            params,
        } = parts;
        let reference =
            |suffix: &str| json!({"$ref": format!("#/components/schemas/{name}{suffix}")});
        match (doc, method) {
            (RouteKind::Collection(c), Method::Get) => {
                params.extend(list_parameters(c));
                params.extend(relation_parameters(c));
                responses.insert(
                    "200".into(),
                    json!({"description": "A page of rows", "content": {"application/json": {"schema": {
                        "oneOf": [reference("Page"), reference("CursorPage")]
                    }}}}),
                );
            }
            (RouteKind::Collection(c), Method::Post) => {
                if let Some(fk) = nested_fk {
                    // A parent-scoped route creates one row under its parent.
                    op.insert(
                        "requestBody".into(),
                        required(json_body(reference(&nested_create_suffix(fk)))),
                    );
                    responses.insert("201".into(), row_response("Created", reference("")));
                } else {
                    // One object, or an array of them created in one transaction.
                    let many = |schema: Value| json!({"type": "array", "items": schema, "minItems": 1, "maxItems": c.max_bulk()});
                    op.insert(
                        "requestBody".into(),
                        required(json_body(json!({"oneOf": [
                            reference("Create"),
                            many(reference("Create")),
                        ]}))),
                    );
                    // An upsert that ignored every item answers an empty array.
                    let rows = json!({"oneOf": [
                        reference(""),
                        {"type": "array", "items": reference(""), "maxItems": c.max_bulk()},
                    ]});
                    let model = c.model();
                    // A key the client gives is a conflict key too.
                    let key = (!model.has_generated_key()).then(|| Value::from(model.key_column()));
                    let unique: Vec<Value> = key
                        .into_iter()
                        .chain(
                            model
                                .fields()
                                .iter()
                                .filter(|(_, f)| f.is_unique() || f.is_unique_in_scope())
                                .map(|(n, _)| Value::from(n.as_str())),
                        )
                        .collect();
                    let mut created = row_response(
                        "Created (for an array body: every row, in order, and no ETag)",
                        rows.clone(),
                    );
                    created["headers"]["Location"] = json!({"schema": {"type": "string"}});
                    responses.insert("201".into(), created);
                    if !unique.is_empty() {
                        params.push(json!({
                            "name": "on_conflict",
                            "in": "query",
                            "required": false,
                            "description": "The unique field whose taken value an upsert resolves, \
                                with `Prefer: resolution=…` (either alone is a plain create)",
                            "schema": {"type": "string", "enum": unique},
                        }));
                        params.push(json!({
                            "name": "Prefer",
                            "in": "header",
                            "required": false,
                            "description": "With `on_conflict` (else not applied): \
                                `resolution=merge-duplicates` updates a row whose key is taken with \
                                the fields sent, `resolution=ignore-duplicates` leaves it, and out of \
                                the answer",
                            // A preference the server does not know is ignored
                            // (RFC 7240 §2), so any text is a valid value.
                            "schema": {"type": "string"},
                            "examples": {
                                "merge": {"value": "resolution=merge-duplicates"},
                                "ignore": {"value": "resolution=ignore-duplicates"},
                            },
                        }));
                        responses.insert(
                            "200".into(),
                            row_response("Upserted: no row created, existing rows updated", rows),
                        );
                        responses.insert(
                        "204".into(),
                        json!({"description": "The one object sent was ignored (`resolution=ignore-duplicates`)"}),
                    );
                    }
                }
            }
            (RouteKind::Item(c), Method::Get) => {
                params.push(fields_parameter(c.model()));
                params.extend(relation_parameters(c));
                params.push(header_param("If-None-Match"));
                responses.insert("200".into(), row_response("The row", reference("Fields")));
                responses.insert("304".into(), json!({"description": "Not modified"}));
            }
            (RouteKind::Item(c), Method::Put | Method::Patch) => {
                let suffix = match method {
                    Method::Patch => "Patch",
                    // A key the client gives may be repeated, not required.
                    _ if !c.model().has_generated_key() => "Replace",
                    _ => "Create",
                };
                params.push(header_param("If-Match"));
                op.insert("requestBody".into(), required(json_body(reference(suffix))));
                responses.insert("200".into(), row_response("The updated row", reference("")));
            }
            (RouteKind::Item(_), Method::Delete) => {
                params.push(header_param("If-Match"));
                responses.insert("204".into(), json!({"description": "Deleted"}));
            }
            _ => {}
        }
    }

    fn relations_need_token(&self, crud: &Crud) -> bool {
        crud.relations().needs_token(crud.model())
    }
}

/// Whether a decimal field's minimum is zero or more.
fn non_negative(field: &Field) -> bool {
    matches!(field.bounds_stored().0, Some(crate::model::Value::Text(min))
        if compare_decimal(&min, "0").is_some_and(|o| o.is_ge()))
}

/// The JSON Schema of one field's values: its type and constraints
/// (`enum`, `minimum`/`maximum`, `minLength`/`maxLength`, `pattern`).
/// Decimals, dates and datetimes are strings, which `minimum` cannot
/// bound: their bounds are stated in `description`, and a decimal's
/// minimum of zero or more drops the sign from its pattern.
fn field_schema(field: &Field) -> Value {
    let mut s = type_schema(field);
    let kind = field.field_type();
    if let Some(choices) = field.choice_values() {
        let mut list = choices.to_vec();
        if field.is_nullable() {
            list.push(Value::Null);
        }
        s["enum"] = Value::Array(list);
    }
    let (min, max) = field.bounds_stored();
    match kind {
        FieldType::Integer | FieldType::Float => {
            for (key, bound) in [("minimum", min), ("maximum", max)] {
                if let Some(b) = bound {
                    s[key] = b.to_json();
                }
            }
        }
        FieldType::Decimal | FieldType::Date | FieldType::DateTime => {
            if kind == FieldType::Decimal && non_negative(field) {
                let (precision, scale) = field.decimal_digits().unwrap_or((1, 0));
                s["pattern"] = json!(decimal_pattern(precision, scale, true));
            }
            let shown: Vec<String> = [("at least", min), ("at most", max)]
                .into_iter()
                .filter_map(|(word, b)| {
                    b.map(|b| format!("{word} {}", b.to_json().as_str().unwrap_or_default()))
                })
                .collect();
            if !shown.is_empty() {
                s["description"] = json!(format!("A {} {}", kind.name(), shown.join(" and ")));
            }
        }
        _ => {}
    }
    if kind == FieldType::Text {
        if let Some(n) = field.min_length_chars() {
            s["minLength"] = json!(n);
        }
        if let Some(n) = field.max_length_chars() {
            s["maxLength"] = json!(n);
        }
        if let Some(p) = field.pattern_source() {
            s["pattern"] = json!(p);
        }
    }
    if field.is_nullable() {
        if let Some(t) = s.get("type").cloned() {
            s["type"] = json!([t, "null"]);
        }
    }
    if let Some(d) = field.default_value() {
        s["default"] = d.clone();
    }
    s
}

fn add_model_schemas(schemas: &mut Map<String, Value>, crud: &Crud) {
    let model = crud.model();
    let name = schema_name(model);
    if schemas.contains_key(&name) {
        return;
    }
    let mut read = Map::new();
    let mut write = Map::new();
    let mut required_write: Vec<Value> = Vec::new();
    match model.key_field() {
        // A text or uuid key: sent on create (a text one must be), then
        // never changed.
        Some(field) if !model.has_generated_key() => {
            read.insert(model.key_column().into(), field_schema(field));
            write.insert(model.key_column().into(), field_schema(field));
            if field.field_type() == FieldType::Text {
                required_write.push(Value::from(model.key_column()));
            }
        }
        // The database's: read-only for a declared integer key.
        Some(_) => {
            read.insert(
                model.key_column().into(),
                json!({"type": "integer", "format": "int64", "minimum": 1, "readOnly": true}),
            );
        }
        None => {
            read.insert(
                "id".into(),
                json!({"type": "integer", "format": "int64", "minimum": 1}),
            );
        }
    }
    for (fname, field) in model.fields() {
        if !field.is_write_only() {
            read.insert(fname.clone(), field_schema(field));
        }
        if !field.is_read_only() {
            write.insert(fname.clone(), field_schema(field));
            if field.is_required() {
                required_write.push(Value::from(fname.as_str()));
            }
        }
    }
    if model.is_versioned() {
        read.insert("version".into(), json!({"type": "integer", "minimum": 1}));
    }
    let read_required: Vec<Value> = read.keys().map(|k| Value::from(k.as_str())).collect();
    let mut patch = write.clone();
    if model.is_versioned() {
        patch.insert("version".into(), json!({"type": "integer"}));
    }
    let mut create = write;
    let mut create_schema = json!({"type": "object", "properties": create.clone(),
        "required": required_write, "additionalProperties": false});
    if model.is_versioned() {
        create.insert("version".into(), json!({"type": "integer"}));
        create_schema["properties"] = Value::Object(create);
    }
    // A stored row as written responses return it: every readable field.
    schemas.insert(
        name.clone(),
        json!({"type": "object", "properties": read.clone(), "required": read_required,
            "additionalProperties": false}),
    );
    // A row as `GET` returns it: `?fields=` may leave out any field, and
    // `?expand=` / `?embed=` add related rows.
    let mut shown = read;
    let (one, many) = crud.relations().models_of(model);
    for (relation, target) in one {
        let target = format!("#/components/schemas/{}Fields", schema_name(&target));
        shown.insert(
            relation,
            json!({"oneOf": [{"$ref": target}, {"type": "null"}],
                "description": "The referenced row, with `expand` (null: no row the caller may read)"}),
        );
    }
    for child in many {
        let rows = format!("#/components/schemas/{}Fields", schema_name(&child));
        shown.insert(
            child.name().to_owned(),
            json!({"type": "object", "required": ["count", "results"], "additionalProperties": false,
                "description": "The first rows referencing this one, with `embed`, and how many there are",
                "properties": {"count": {"type": "integer", "minimum": 0},
                    "results": {"type": "array", "items": {"$ref": rows}}}}),
        );
    }
    schemas.insert(
        format!("{name}Fields"),
        json!({"type": "object", "properties": shown, "additionalProperties": false,
            "description": "The row's readable fields, or the subset `fields` asked for"}),
    );
    if !model.has_generated_key() {
        // A replace (PUT) may repeat the key, which the path gives.
        let mut replace = create_schema.clone();
        if let Some(Value::Array(required)) = replace.get_mut("required") {
            required.retain(|f| f != model.key_column());
        }
        schemas.insert(format!("{name}Replace"), replace);
    }
    schemas.insert(format!("{name}Create"), create_schema);
    schemas.insert(
        format!("{name}Patch"),
        json!({"type": "object", "properties": patch, "additionalProperties": false}),
    );
    let rows =
        json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{name}Fields")}});
    let link = json!({"type": ["string", "null"]});
    // Present only on a page its byte budget ended early.
    let truncated = json!({"type": "boolean", "const": true,
        "description": "The page ends early, its rows having reached the byte budget; `next` links to the rest"});
    schemas.insert(
        format!("{name}Page"),
        json!({"type": "object", "required": ["count", "pages", "next", "previous", "results"],
            "additionalProperties": false,
            "properties": {"count": {"type": "integer", "minimum": 0}, "pages": {"type": "integer", "minimum": 1},
                "next": link, "previous": link, "results": rows, "truncated": truncated}}),
    );
    schemas.insert(
        format!("{name}CursorPage"),
        json!({"type": "object", "required": ["next", "previous", "results"],
            "additionalProperties": false,
            "properties": {"next": link, "previous": link, "results": rows, "truncated": truncated}}),
    );
}

/// The readable field names of `model`, the key first.
fn readable_fields(model: &Model) -> Vec<String> {
    let mut out = vec![model.key_column().to_string()];
    out.extend(
        model
            .fields()
            .iter()
            .filter(|(_, f)| !f.is_write_only())
            .map(|(n, _)| n.clone()),
    );
    if model.is_versioned() {
        out.push("version".into());
    }
    out
}

/// The `fields` query parameter: a comma-separated subset of the readable
/// fields; empty (a cleared selection) for all of them.
pub(crate) fn fields_parameter(model: &Model) -> Value {
    json!({"name": "fields", "in": "query", "required": false,
        "description": "Comma-separated readable fields to return (the others are left out); \
            empty for all of them",
        "style": "form", "explode": false,
        "schema": {"type": "array", "items": {"type": "string", "enum": readable_fields(model)}}})
}

/// The schema name suffix of a create body under a parent row.
fn nested_create_suffix(fk: &str) -> String {
    format!("CreateUnder_{fk}")
}

/// The `expand` and `embed` query parameters of a model with relations.
fn relation_parameters(crud: &Crud) -> Vec<Value> {
    let (expand, embed) = crud.relations().names(crud.model());
    let mut out = Vec::new();
    for (name, names, description) in [
        (
            "expand",
            expand,
            "Comma-separated to-one relations to show as objects (`a.b` also expands `a`)",
        ),
        (
            "embed",
            embed,
            "Comma-separated to-many relations to show as `{count, results}`; \
             `<relation>.<filter>=` filters them",
        ),
    ] {
        if names.is_empty() {
            continue;
        }
        out.push(json!({"name": name, "in": "query", "required": false,
            "description": format!("{description}; empty for none"),
            "style": "form", "explode": false, "allowEmptyValue": true,
            "schema": {"type": "array", "uniqueItems": true,
                "items": {"type": "string", "enum": names}}}));
    }
    out
}

/// The `cursor` query parameter. `cursor=` (empty) starts keyset paging,
/// so tools must be able to send it empty.
fn cursor_parameter() -> Value {
    json!({"name": "cursor", "in": "query", "required": false, "allowEmptyValue": true,
        "description": "Keyset pagination: empty for the first page, else the opaque, signed \
            cursor of a `next`/`previous` link (anything else is a 400); not with `page` or `offset`",
        "schema": {"type": "string", "maxLength": MAX_CURSOR_BYTES,
            "pattern": "^([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)?$"}})
}

fn list_parameters(crud: &Crud) -> Vec<Value> {
    let model = crud.model();
    let rules = crud.query_rules();
    let (default_size, max) = crud.page_sizes();
    let q = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    // A comma-separated list (`a,b`), as OpenAPI spells it.
    let list = |name: &str, schema: Value, description: &str| {
        let mut p = q(name, schema, description);
        p["style"] = json!("form");
        p["explode"] = json!(false);
        p
    };
    let mut out = vec![
        q(
            "page",
            json!({"type": "integer", "minimum": 1, "maximum": max_page(max)}),
            "Page number (page pagination); not with `offset` or `cursor`",
        ),
        q(
            "offset",
            json!({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
            "Rows to skip (page pagination from any row, as the `next` link of a page \
             its byte budget ended early gives); not with `page` or `cursor`",
        ),
        q(
            "page_size",
            json!({"type": "integer", "minimum": 1, "maximum": max, "default": default_size}),
            "Rows per page",
        ),
        cursor_parameter(),
        fields_parameter(model),
    ];
    let mut orderable: Vec<&str> = rules.ordering.iter().map(String::as_str).collect();
    if !orderable.contains(&model.key_column()) {
        orderable.push(model.key_column());
    }
    // Each field in either direction; a nullable one also with its `NULL`s
    // placed first or last.
    let spellings = |f: &str| -> Vec<String> {
        let mut keys = vec![f.to_string(), format!("-{f}")];
        if model.field_named(f).is_some_and(Field::is_nullable) {
            for nulls in [".nullsfirst", ".nullslast"] {
                keys.push(format!("{f}{nulls}"));
                keys.push(format!("-{f}{nulls}"));
            }
        }
        keys
    };
    let keys: Vec<String> = orderable.iter().flat_map(|f| spellings(f)).collect();
    // Each field at most once.
    let once: Vec<Value> = orderable
        .iter()
        .map(|f| json!({"contains": {"enum": spellings(f)}, "minContains": 0, "maxContains": 1}))
        .collect();
    out.push(list(
        "ordering",
        json!({"type": "array", "items": {"type": "string", "enum": keys}, "allOf": once}),
        &format!(
            "Sort keys, `-` for descending, each field once: {}; `{}` breaks ties; \
             `.nullsfirst` / `.nullslast` after a nullable field place its `NULL`s \
             (by default they sort as the smallest value); empty for the default order",
            orderable.join(", "),
            model.key_column()
        ),
    ));
    if !rules.search.is_empty() {
        out.push(q(
            "search",
            json!({"type": "string"}),
            &format!(
                "Case-insensitive substring of {} (`%` and `_` are literal)",
                rules.search.join(", ")
            ),
        ));
    }
    let key = match model.key_field() {
        Some(field) if !model.has_generated_key() => type_schema(field),
        _ => json!({"type": "integer", "format": "int64"}),
    };
    let mut filterable: Vec<(String, Value)> = vec![(model.key_column().into(), key)];
    for f in &rules.filter {
        if f == model.key_column() {
            continue;
        }
        if let Some(field) = model.field_named(f) {
            if field.is_write_only() || field.field_type() == FieldType::Json {
                continue;
            }
            // A filter compares: any value of the type, constraints aside.
            filterable.push((f.clone(), type_schema(field)));
        }
    }
    for (f, schema) in filterable {
        for op in ["", "__ne", "__lt", "__lte", "__gt", "__gte"] {
            out.push(q(&format!("{f}{op}"), schema.clone(), "Filter"));
        }
        // Text items cannot hold the separator; `x__in=` is the one empty
        // string. For other types an empty list is no filter.
        let (item, description) = if schema["type"] == "string" && schema.get("format").is_none() {
            (
                json!({"type": "string", "pattern": "^[^,]*$"}),
                "One of these comma-separated values (empty: the empty string)",
            )
        } else {
            (
                schema,
                "One of these comma-separated values (empty: no filter)",
            )
        };
        out.push(list(
            &format!("{f}__in"),
            json!({"type": "array", "items": item, "maxItems": MAX_IN_VALUES}),
            description,
        ));
        out.push(q(
            &format!("{f}__isnull"),
            json!({"type": "boolean"}),
            "Null or not",
        ));
    }
    out
}
