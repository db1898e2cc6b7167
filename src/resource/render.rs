//! Rows, pages and links as the client sees them.

use serde_json::Value;

use crate::crud::ops::Record;
use crate::http::{Request, Response, StatusCode};

/// The rows as JSON objects, with only `fields` when projected.
pub(super) fn project(rows: Vec<Record>, fields: Option<&[String]>) -> Vec<Value> {
    rows.into_iter()
        .map(|r| match fields {
            None => Value::Object(r.fields),
            Some(keep) => Value::Object(
                r.fields
                    .into_iter()
                    .filter(|(k, _)| keep.iter().any(|f| f == k))
                    .collect(),
            ),
        })
        .collect()
}

/// The request's path and query with `set` parameters replaced and
/// `drop` parameters removed, percent-encoded.
pub(super) fn link_with(req: &Request, set: &[(&str, &str)], drop: &[&str]) -> String {
    let mut out = req.path().to_string();
    let mut sep = '?';
    let mut push = |out: &mut String, name: &str, value: &str| {
        out.push(sep);
        sep = '&';
        encode_component(out, name);
        out.push('=');
        encode_component(out, value);
    };
    for (name, value) in req.query() {
        if set.iter().any(|(n, _)| n == name) || drop.contains(&name.as_str()) {
            continue;
        }
        push(&mut out, name, value);
    }
    for (name, value) in set {
        push(&mut out, name, value);
    }
    out
}

fn encode_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A stored row as a response, with its `ETag`.
pub(super) fn record_response(status: StatusCode, record: Record) -> Response {
    let Record { fields, etag, .. } = record;
    Response::json(status, &Value::Object(fields)).with_header("ETag", etag)
}
