//! Rows, pages and links as the client sees them.

use super::conditional::none_match_hits;
use crate::crud::etag::{weak_etag, EtagKey};
use crate::crud::ops::Stored;
use crate::crud::relations::{Related, RelatedOne};
use crate::http::prefer::Preferences;
use crate::http::{Body, Request, Response, StatusCode};
use crate::model::{write_integer, Model, Value, ValueRef, VERSION_COLUMN};

/// Appends a stored row as the JSON object clients see: its readable
/// columns (the key first, then the other fields in declaration order, then
/// `version`), only `fields` when projected.
pub(super) fn write_row(out: &mut Vec<u8>, model: &Model, row: &Stored, fields: Option<&[String]>) {
    write_values(out, model, &row.values, fields);
}

/// A column's value, written as JSON where it lies.
pub(super) trait ColumnJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

impl ColumnJson for ValueRef<'_> {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        ValueRef::write_json(self, out);
    }
}

impl ColumnJson for Value {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        self.view().write_json(out);
    }
}

/// Appends a row as [`write_row`] does, from its values in
/// `sql::select_columns` order. Each value is written from where it lies
/// in `values`: a copy of it made on the way costs a stalled load per
/// column (the copy's pieces do not line up with the reads that follow).
#[inline]
pub(super) fn write_values<V: ColumnJson>(
    out: &mut Vec<u8>,
    model: &Model,
    values: &[V],
    fields: Option<&[String]>,
) {
    let wanted = |name: &str| fields.is_none_or(|keep| keep.iter().any(|f| f == name));
    let mut first = true;
    let mut column = |out: &mut Vec<u8>, name: &str, at: usize| {
        if !wanted(name) {
            return;
        }
        out.push(if first { b'{' } else { b',' });
        first = false;
        // Names are identifiers: nothing in them needs escaping.
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match values.get(at) {
            Some(v) => v.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    };
    if model.key_field().is_none_or(|f| !f.is_write_only()) {
        column(out, model.key_column(), 0);
    }
    for (i, (name, field)) in model.fields().iter().enumerate() {
        if !field.is_write_only() {
            column(out, name, i + 1);
        }
    }
    if model.is_versioned() {
        column(out, VERSION_COLUMN, model.fields().len() + 1);
    }
    if first {
        out.push(b'{');
    }
    out.push(b'}');
}

/// Appends a stored row as [`write_row`] does, with its `related` rows
/// after its own fields: each expanded relation as an object under its
/// name (`null` when the key is null or names no row the caller may
/// read), each embedded one as `{"count": n, "results": [...]}`.
pub(super) fn write_row_related(
    out: &mut Vec<u8>,
    model: &Model,
    row: &Stored,
    fields: Option<&[String]>,
    related: Option<&Related>,
) {
    write_row(out, model, row, fields);
    let Some(related) = related else {
        return;
    };
    for one in &related.one {
        write_one(out, one, row);
    }
    for many in &related.many {
        open_member(out, &many.name);
        out.extend_from_slice(b"{\"count\":");
        let count = many.counts.get(&row.id).copied().unwrap_or(0);
        write_integer(out, i64::try_from(count).unwrap_or(i64::MAX));
        out.extend_from_slice(b",\"results\":[");
        for (i, child) in many.rows.get(&row.id).into_iter().flatten().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_row(out, &many.model, child, many.fields.as_deref());
        }
        out.extend_from_slice(b"]}}");
    }
}

/// Reopens the object `out` ends with and starts its member `name`.
fn open_member(out: &mut Vec<u8>, name: &str) {
    out.pop();
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    out.push(b'"');
    // Relation names are identifiers: nothing in them needs escaping.
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends the expanded relation `one` of `parent` as a member of the
/// object `out` ends with.
fn write_one(out: &mut Vec<u8>, one: &RelatedOne, parent: &Stored) {
    open_member(out, &one.name);
    match one.of(parent) {
        Some(row) => {
            write_row(out, &one.model, row, one.fields.as_deref());
            for nested in &one.nested {
                write_one(out, nested, row);
            }
        }
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

/// Appends `rows` as a JSON array of [`write_row`] objects, ending it
/// before the first row that would take the array past `max_bytes` (the
/// first row is always written): the number of rows written.
pub(super) fn write_rows(
    out: &mut Vec<u8>,
    model: &Model,
    rows: &[Stored],
    fields: Option<&[String]>,
    related: Option<&Related>,
    max_bytes: usize,
) -> usize {
    let start = out.len();
    out.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        let fits = push_row_within(out, start, i, max_bytes, |out| {
            write_row_related(out, model, row, fields, related);
        });
        if !fits {
            out.push(b']');
            return i;
        }
    }
    out.push(b']');
    rows.len()
}

/// Appends one more row (the `index`-th, with its separating comma) to a
/// results array that starts at `start` in `out`, as `write` renders it;
/// `false`, with the row taken back off, when it would take the array past
/// `max_bytes` (never for the first row, which is always shown).
pub(super) fn push_row_within(
    out: &mut Vec<u8>,
    start: usize,
    index: usize,
    max_bytes: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> bool {
    let mark = out.len();
    if index > 0 {
        out.push(b',');
    }
    write(out);
    if index > 0 && out.len() - start > max_bytes {
        out.truncate(mark);
        return false;
    }
    true
}

/// Appends a link (or `null`) as a JSON value.
pub(super) fn write_link(out: &mut Vec<u8>, link: Option<&str>) {
    match link {
        Some(l) => {
            if serde_json::to_writer(&mut *out, l).is_err() {
                out.extend_from_slice(b"null");
            }
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// `body`, JSON, as a response.
pub(super) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    Response::new(status)
        .with_header("Content-Type", "application/json")
        .with_body(Body::Bytes(body))
}

/// A page of rows as a response: `200` with `body` and its weak `ETag`,
/// or `304` with the same `ETag` when `If-None-Match` matches it. The
/// page depends on `Prefer` (`count=none`), so it varies on it.
pub(super) fn page_response(req: &Request, key: &EtagKey, body: Vec<u8>) -> Response {
    let etag = weak_etag(key, &body);
    let unchanged = req
        .header("if-none-match")
        .is_some_and(|inm| none_match_hits(inm, &etag));
    let mut resp = if unchanged {
        Response::new(StatusCode::NOT_MODIFIED)
    } else {
        json_response(StatusCode::OK, body)
    };
    resp.insert_header("ETag", etag);
    resp.add_vary("Prefer");
    resp
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
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

/// The answer to a write that stored `row`, as the request's `Prefer`
/// asks: the row (`return=representation`, the default), or no body but
/// the same status line and headers (`return=minimal`; `204` in place of
/// `200`), naming what was honoured in `Preference-Applied`.
pub(super) fn written_response(
    status: StatusCode,
    model: &Model,
    key: &EtagKey,
    row: &Stored,
    prefs: Preferences,
) -> Response {
    let mut resp = if prefs.return_minimal == Some(true) {
        let status = if status == StatusCode::OK {
            StatusCode::NO_CONTENT
        } else {
            status
        };
        Response::new(status).with_header("ETag", row.etag(key))
    } else {
        row_response(status, model, key, row)
    };
    if let Some(applied) = prefs.applied_return() {
        resp.insert_header("Preference-Applied", applied);
    }
    resp.add_vary("Prefer");
    resp
}

/// A stored row as a response, with its `ETag` under `key`.
pub(super) fn row_response(
    status: StatusCode,
    model: &Model,
    key: &EtagKey,
    row: &Stored,
) -> Response {
    let mut body = Vec::with_capacity(128);
    write_row(&mut body, model, row, None);
    json_response(status, body).with_header("ETag", row.etag(key))
}

/// The answer to a bulk write that stored `rows`, as the request's
/// `Prefer` asks: the rows as a JSON array in the order written
/// (`return=representation`, the default; each row's `version` is in it
/// for a versioned model, and there is no `ETag` of the whole), or no body
/// (`return=minimal`; `204` in place of `200`). `applied` names further
/// preferences honoured, for `Preference-Applied`.
pub(super) fn written_rows_response(
    status: StatusCode,
    model: &Model,
    rows: &[Stored],
    prefs: Preferences,
    applied: Option<&str>,
) -> Response {
    let mut resp = if prefs.return_minimal == Some(true) {
        let status = if status == StatusCode::OK {
            StatusCode::NO_CONTENT
        } else {
            status
        };
        Response::new(status)
    } else {
        let mut body = Vec::with_capacity(64 * rows.len() + 2);
        write_rows(&mut body, model, rows, None, None, usize::MAX);
        json_response(status, body)
    };
    let applied: Vec<&str> = applied.into_iter().chain(prefs.applied_return()).collect();
    if !applied.is_empty() {
        resp.insert_header("Preference-Applied", applied.join(", "));
    }
    resp.add_vary("Prefer");
    resp
}
