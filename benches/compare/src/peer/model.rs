//! The Person resource as the peers serve it: the stored row (with the
//! `version` column that gives its strong ETag), request bodies, and the
//! JSON the peers answer with (byte for byte the keys and order lightapi
//! sends: `{"email":…,"email_verified":…,"id":…,"name":…}`).

use serde::{Deserialize, Serialize};

/// A stored row. `version` starts at 1 and every write adds 1, so
/// `"<version>"` is a strong ETag for the row at `/person/<id>`.
pub struct Row {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub version: i64,
}

#[derive(Serialize)]
struct PersonJson<'a> {
    email: &'a str,
    email_verified: bool,
    id: i64,
    name: &'a str,
}

impl Row {
    fn as_json(&self) -> PersonJson<'_> {
        PersonJson {
            email: &self.email,
            email_verified: self.email_verified,
            id: self.id,
            name: &self.name,
        }
    }

    /// The row's JSON body.
    pub fn json(&self) -> Vec<u8> {
        // Serialising strings, integers and booleans cannot fail.
        serde_json::to_vec(&self.as_json()).unwrap_or_default()
    }

    /// The row's strong ETag, `"<version>"`.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// A `POST /person` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
}

/// A `PATCH /person/{id}` body: the fields to change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

/// `GET /person?page=&page_size=`.
#[derive(Deserialize)]
pub struct Paging {
    pub page: Option<u64>,
    pub page_size: Option<u64>,
}

/// lightapi's defaults: 50 rows a page, at most 1000.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;

impl Paging {
    /// `(page, size)`, or `None` when out of range (a 400).
    pub fn checked(&self) -> Option<(u64, u64)> {
        let page = self.page.unwrap_or(1);
        let size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        (page >= 1 && (1..=MAX_PAGE_SIZE).contains(&size)).then_some((page, size))
    }
}

#[derive(Serialize)]
struct PageJson<'a> {
    count: u64,
    next: Option<String>,
    pages: u64,
    previous: Option<String>,
    results: Vec<PersonJson<'a>>,
}

/// The list page lightapi answers, keys in its order: `count` (a
/// `COUNT(*)`), the next page's link, `pages`, the previous page's link, and
/// the rows.
pub fn page_json(rows: &[Row], count: u64, page: u64, size: u64) -> Vec<u8> {
    let pages = count.div_ceil(size).max(1);
    let link = |p: u64| format!("/person?page_size={size}&page={p}");
    let body = PageJson {
        count,
        pages,
        next: (page < pages).then(|| link(page + 1)),
        previous: (page > 1).then(|| link((page - 1).min(pages))),
        results: rows.iter().map(Row::as_json).collect(),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// What an `If-Match` header asks for a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No header, or `*`: write whatever the version.
    Any,
    /// Write only if the row is at this version.
    Version(i64),
}

/// Parses `If-Match` (RFC 9110 §13.1.1, strong comparison): `*`, or a list
/// of entity tags of which the first of the form `"<integer>"` is used. A
/// header with no such tag (a weak tag, garbage) can never match: it asks
/// for version 0, which no row has.
pub fn if_match(header: Option<&str>) -> Expect {
    let Some(value) = header else {
        return Expect::Any;
    };
    if value.trim() == "*" {
        return Expect::Any;
    }
    let version = value.split(',').find_map(|tag| {
        let tag = tag.trim();
        tag.strip_prefix('"')?
            .strip_suffix('"')?
            .parse::<i64>()
            .ok()
    });
    Expect::Version(version.unwrap_or(0))
}

impl Expect {
    /// The expected version, `None` for any.
    pub fn version(self) -> Option<i64> {
        match self {
            Expect::Any => None,
            Expect::Version(v) => Some(v),
        }
    }
}

/// Why a store call failed.
#[derive(Debug)]
pub enum DbError {
    /// A unique constraint (409).
    Conflict,
    /// Anything else (500).
    Other(String),
}

/// The outcome of a conditional update.
pub enum Patched {
    Done(Row),
    Missing,
    /// The row exists at another version (412).
    Mismatch,
}
