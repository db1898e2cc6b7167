//! The functional check every server passes before anything is measured:
//! each workload's request once (or the few a stateful one needs), with
//! what is wrong spelled out. A server/workload pair that fails is not
//! measured.

use std::net::SocketAddr;

use serde_json::Value;

use super::client::{self, Response};
use super::workloads::{Workload, PAGE_SIZE, PIPELINE};

/// What a database check needs to know.
pub struct Rows {
    /// The server's seed ids, by id.
    pub ids: Vec<i64>,
    /// Rows in the table.
    pub count: u64,
    /// A row that exists only for the DELETE check.
    pub to_delete: Option<i64>,
}

fn expect_status(what: &str, r: &Response, status: u16) -> Result<(), String> {
    if r.status == status {
        Ok(())
    } else {
        Err(format!(
            "{what}: status {} (expected {status}): {}",
            r.status,
            r.text().chars().take(300).collect::<String>()
        ))
    }
}

/// A Person row: exactly the keys lightapi sends, of the right types.
fn check_row(what: &str, v: &Value, id: Option<i64>) -> Result<i64, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{what}: not a JSON object: {v}"))?;
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["email", "email_verified", "id", "name"] {
        return Err(format!(
            "{what}: keys {keys:?}, expected email, email_verified, id, name"
        ));
    }
    let got = obj["id"]
        .as_i64()
        .ok_or_else(|| format!("{what}: id is not an integer: {v}"))?;
    if !obj["name"].is_string() || !obj["email"].is_string() || !obj["email_verified"].is_boolean()
    {
        return Err(format!("{what}: wrong value types: {v}"));
    }
    if let Some(id) = id {
        if got != id {
            return Err(format!("{what}: id {got}, expected {id}"));
        }
    }
    Ok(got)
}

fn etag_of(what: &str, r: &Response) -> Result<String, String> {
    match &r.etag {
        Some(t) if t.starts_with('"') && t.ends_with('"') && t.len() > 2 => Ok(t.clone()),
        Some(t) => Err(format!("{what}: ETag {t} is not a strong entity tag")),
        None => Err(format!("{what}: no ETag")),
    }
}

fn plaintext(addr: SocketAddr) -> Result<(), String> {
    let r = client::get(addr, "/plaintext")?;
    expect_status("GET /plaintext", &r, 200)?;
    if r.body != b"Hello, World!" {
        return Err(format!("GET /plaintext: body {:?}", r.text()));
    }
    match &r.content_type {
        Some(t) if t.starts_with("text/plain") => Ok(()),
        other => Err(format!("GET /plaintext: Content-Type {other:?}")),
    }
}

fn json(addr: SocketAddr) -> Result<(), String> {
    let r = client::get(addr, "/json")?;
    expect_status("GET /json", &r, 200)?;
    if r.json()? != serde_json::json!({"message": "Hello, World!"}) {
        return Err(format!("GET /json: body {}", r.text()));
    }
    match &r.content_type {
        Some(t) if t.starts_with("application/json") => Ok(()),
        other => Err(format!("GET /json: Content-Type {other:?}")),
    }
}

fn pipelined(addr: SocketAddr) -> Result<(), String> {
    let raw = format!("GET /plaintext HTTP/1.1\r\nHost: {addr}\r\n\r\n").repeat(PIPELINE);
    let rs = client::exchange(addr, raw.as_bytes(), PIPELINE)?;
    match rs
        .iter()
        .find(|r| r.status != 200 || r.body != b"Hello, World!")
    {
        Some(r) => Err(format!(
            "pipelined GET /plaintext: status {} body {:?}",
            r.status,
            r.text()
        )),
        None => Ok(()),
    }
}

fn get_by_id(addr: SocketAddr, rows: &Rows) -> Result<(), String> {
    let id = *rows.ids.first().ok_or("no seed rows")?;
    let r = client::get(addr, &format!("/person/{id}"))?;
    expect_status("GET /person/{id}", &r, 200)?;
    let v = r.json()?;
    check_row("GET /person/{id}", &v, Some(id))?;
    if v["email"] != "seed-0@example.com" || v["name"] != "Person 0" || v["email_verified"] != false
    {
        return Err(format!("GET /person/{id}: not the first seed row: {v}"));
    }
    etag_of("GET /person/{id}", &r)?;
    let missing = client::get(addr, "/person/999999999")?;
    expect_status("GET of a missing row", &missing, 404)
}

fn list(addr: SocketAddr, rows: &Rows) -> Result<(), String> {
    let what = "GET /person?page_size=50";
    let r = client::get(addr, &format!("/person?page_size={PAGE_SIZE}"))?;
    expect_status(what, &r, 200)?;
    let v = r.json()?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{what}: not an object"))?;
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["count", "next", "pages", "previous", "results"] {
        return Err(format!("{what}: keys {keys:?}"));
    }
    if v["count"].as_u64() != Some(rows.count) {
        return Err(format!(
            "{what}: count {} but the table has {} rows",
            v["count"], rows.count
        ));
    }
    if v["pages"].as_u64() != Some(rows.count.div_ceil(PAGE_SIZE).max(1)) {
        return Err(format!("{what}: pages {}", v["pages"]));
    }
    let next = format!("/person?page_size={PAGE_SIZE}&page=2");
    if rows.count > PAGE_SIZE && v["next"] != next.as_str() {
        return Err(format!("{what}: next {} (expected {next})", v["next"]));
    }
    if !v["previous"].is_null() {
        return Err(format!("{what}: previous {} on page 1", v["previous"]));
    }
    let results = v["results"]
        .as_array()
        .ok_or_else(|| format!("{what}: results is not an array"))?;
    let want = rows.count.min(PAGE_SIZE) as usize;
    if results.len() != want {
        return Err(format!(
            "{what}: {} results, expected {want}",
            results.len()
        ));
    }
    for (row, id) in results.iter().zip(&rows.ids) {
        check_row(what, row, Some(*id))?;
    }
    Ok(())
}

fn post(addr: SocketAddr) -> Result<(), String> {
    let what = "POST /person";
    let body = r#"{"name":"Check User","email":"check-post@example.com"}"#;
    let r = client::request(addr, "POST", "/person", "", Some(body))?;
    expect_status(what, &r, 201)?;
    let v = r.json()?;
    let id = check_row(what, &v, None)?;
    if v["email"] != "check-post@example.com"
        || v["name"] != "Check User"
        || v["email_verified"] != false
    {
        return Err(format!("{what}: answered {v}"));
    }
    etag_of(what, &r)?;
    let location = format!("/person/{id}");
    if r.location.as_deref() != Some(location.as_str()) {
        return Err(format!(
            "{what}: Location {:?}, expected {location}",
            r.location
        ));
    }
    let again = client::get(addr, &location)?;
    expect_status("GET of the created row", &again, 200)?;
    if again.json()? != v {
        return Err(format!(
            "{what}: GET {location} answers {} but POST answered {v}",
            again.text()
        ));
    }
    let dup = client::request(addr, "POST", "/person", "", Some(body))?;
    expect_status("POST /person with a taken e-mail", &dup, 409)
}

fn patch(addr: SocketAddr, rows: &Rows) -> Result<(), String> {
    let what = "PATCH /person/{id}";
    let id = *rows.ids.get(1).ok_or("fewer than 2 seed rows")?;
    let path = format!("/person/{id}");
    let before = client::get(addr, &path)?;
    expect_status("GET before PATCH", &before, 200)?;
    let tag = etag_of("GET before PATCH", &before)?;
    let stale = client::request(
        addr,
        "PATCH",
        &path,
        "If-Match: \"no-such-tag\"\r\n",
        Some(r#"{"name":"Wrong"}"#),
    )?;
    expect_status("PATCH with a wrong If-Match", &stale, 412)?;
    let ok = client::request(
        addr,
        "PATCH",
        &path,
        &format!("If-Match: {tag}\r\n"),
        Some(r#"{"name":"Check Patched"}"#),
    )?;
    expect_status(what, &ok, 200)?;
    let v = ok.json()?;
    check_row(what, &v, Some(id))?;
    if v["name"] != "Check Patched" {
        return Err(format!("{what}: answered {v}"));
    }
    let new_tag = etag_of(what, &ok)?;
    if new_tag == tag {
        return Err(format!("{what}: the ETag did not change ({tag})"));
    }
    let after = client::get(addr, &path)?;
    if after.etag.as_deref() != Some(new_tag.as_str()) || after.json()? != v {
        return Err(format!(
            "{what}: GET after PATCH answers {} with ETag {:?}",
            after.text(),
            after.etag
        ));
    }
    let old = client::request(
        addr,
        "PATCH",
        &path,
        &format!("If-Match: {tag}\r\n"),
        Some(r#"{"name":"Stale"}"#),
    )?;
    expect_status("PATCH with the previous ETag", &old, 412)
}

fn delete(addr: SocketAddr, rows: &Rows) -> Result<(), String> {
    let id = rows.to_delete.ok_or("no row to delete")?;
    let path = format!("/person/{id}");
    let r = client::request(addr, "DELETE", &path, "", None)?;
    expect_status("DELETE /person/{id}", &r, 204)?;
    let again = client::request(addr, "DELETE", &path, "", None)?;
    expect_status("DELETE of a deleted row", &again, 404)?;
    let gone = client::get(addr, &path)?;
    expect_status("GET of a deleted row", &gone, 404)
}

/// Checks `w` against the server at `addr`.
pub fn check(addr: SocketAddr, w: Workload, rows: Option<&Rows>) -> Result<(), String> {
    let rows = || rows.ok_or_else(|| "no database".to_string());
    match w {
        Workload::Plaintext => plaintext(addr),
        Workload::Json => json(addr),
        Workload::Pipelined => pipelined(addr),
        Workload::GetById => get_by_id(addr, rows()?),
        Workload::List => list(addr, rows()?),
        Workload::Post => post(addr),
        Workload::Patch => patch(addr, rows()?),
        Workload::Delete => delete(addr, rows()?),
    }
}
