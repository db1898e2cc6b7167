//! What every peer answers, independent of the framework: the framework
//! modules extract the request (path, query, JSON body, `If-Match`), call
//! these, and turn the [`Reply`] into their own response type.

use super::model::{if_match, page_json, DbError, NewPerson, Paging, Patched, PersonPatch};
use super::store::{Offload, Store};

pub const HELLO: &str = "Hello, World!";

#[derive(serde::Serialize)]
pub struct Message {
    pub message: &'static str,
}

/// A response: status, optional JSON body, `ETag` and `Location`.
pub struct Reply {
    pub status: u16,
    pub body: Option<Vec<u8>>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            etag: None,
            location: None,
        }
    }

    fn json(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            body: Some(body),
            etag: None,
            location: None,
        }
    }

    fn error(e: DbError) -> Reply {
        match e {
            DbError::Conflict => Reply::json(409, br#"{"error":"conflict"}"#.to_vec()),
            DbError::Other(msg) => {
                let body = serde_json::json!({ "error": msg }).to_string().into_bytes();
                Reply::json(500, body)
            }
        }
    }
}

pub async fn get(store: &Store, how: Offload, id: i64) -> Reply {
    match store.get(how, id).await {
        Ok(Some(row)) => Reply {
            etag: Some(row.etag()),
            ..Reply::json(200, row.json())
        },
        Ok(None) => Reply::status(404),
        Err(e) => Reply::error(e),
    }
}

pub async fn list(store: &Store, how: Offload, paging: &Paging) -> Reply {
    let Some((page, size)) = paging.checked() else {
        return Reply::json(
            400,
            br#"{"error":"page must be >= 1, page_size 1..=1000"}"#.to_vec(),
        );
    };
    match store.page(how, (page - 1).saturating_mul(size), size).await {
        Ok((rows, count)) => Reply::json(200, page_json(&rows, count, page, size)),
        Err(e) => Reply::error(e),
    }
}

pub async fn create(store: &Store, how: Offload, new: NewPerson) -> Reply {
    match store.create(how, new).await {
        Ok(row) => Reply {
            etag: Some(row.etag()),
            location: Some(format!("/person/{}", row.id)),
            ..Reply::json(201, row.json())
        },
        Err(e) => Reply::error(e),
    }
}

pub async fn patch(
    store: &Store,
    how: Offload,
    id: i64,
    patch: PersonPatch,
    if_match_header: Option<&str>,
) -> Reply {
    let expect = if_match(if_match_header).version();
    match store.patch(how, id, patch, expect).await {
        Ok(Patched::Done(row)) => Reply {
            etag: Some(row.etag()),
            ..Reply::json(200, row.json())
        },
        Ok(Patched::Missing) => Reply::status(404),
        Ok(Patched::Mismatch) => {
            Reply::json(412, br#"{"error":"If-Match does not match"}"#.to_vec())
        }
        Err(e) => Reply::error(e),
    }
}

pub async fn delete(store: &Store, how: Offload, id: i64) -> Reply {
    match store.delete(how, id).await {
        Ok(true) => Reply::status(204),
        Ok(false) => Reply::status(404),
        Err(e) => Reply::error(e),
    }
}
