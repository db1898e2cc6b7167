//! What each connection sends next, and what counts as success.
//!
//! | kind | request | success |
//! |---|---|---|
//! | `get PATH` | `GET PATH`, `pipeline` per write | 200 |
//! | `get-ids` | `GET /person/{id}`, ids in turn | 200 |
//! | `post` | `POST /person`, an e-mail unique to the request | 201 |
//! | `patch` | `PATCH /person/{id}` of the connection's own row with `If-Match` set to the ETag of the previous response (a `GET` fetches it first, and again after a failure; those `GET`s are not counted) | 200 |
//! | `delete` | `DELETE /person/{id}`, each id of the list once | 204 |

use std::io::Write as _;

#[derive(Debug, Clone)]
pub enum Kind {
    Get { path: String, pipeline: usize },
    GetIds,
    Post,
    Patch,
    Delete,
}

impl Kind {
    pub fn expect(&self) -> u16 {
        match self {
            Kind::Post => 201,
            Kind::Delete => 204,
            _ => 200,
        }
    }

    pub fn pipeline(&self) -> usize {
        match self {
            Kind::Get { pipeline, .. } => (*pipeline).max(1),
            _ => 1,
        }
    }

    /// Whether the workload needs `--ids-file`.
    pub fn needs_ids(&self) -> bool {
        matches!(self, Kind::GetIds | Kind::Patch | Kind::Delete)
    }
}

/// The requests' common parts and the shared cursor over the ids.
pub struct Requests {
    pub kind: Kind,
    host: String,
    /// The whole batch of a `get PATH` workload, built once.
    fixed: Vec<u8>,
    ids: Vec<i64>,
    next_id: usize,
    unique: u64,
}

/// What a connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A measured request (or batch).
    Measured,
    /// The `GET` a `patch` connection sends to learn its row's ETag.
    Refresh,
}

impl Requests {
    pub fn new(kind: Kind, port: u16, ids: Vec<i64>, unique_base: u64) -> Requests {
        let host = format!("127.0.0.1:{port}");
        let mut fixed = Vec::new();
        if let Kind::Get { path, pipeline } = &kind {
            for _ in 0..(*pipeline).max(1) {
                let _ = write!(fixed, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
            }
        }
        Requests {
            kind,
            host,
            fixed,
            ids,
            next_id: 0,
            unique: unique_base,
        }
    }

    /// The row connection `conn` owns in a `patch` workload.
    pub fn own_row(&self, conn: usize) -> Option<i64> {
        self.ids.get(conn).copied()
    }

    fn unique(&mut self) -> u64 {
        self.unique += 1;
        self.unique
    }

    fn next_id(&mut self) -> Option<i64> {
        let id = match self.kind {
            Kind::Delete => self.ids.get(self.next_id).copied(),
            _ => self.ids.get(self.next_id % self.ids.len().max(1)).copied(),
        };
        self.next_id += 1;
        id
    }

    /// Writes the connection's next request (batch) into `out`: `None` when
    /// there is no more work (a `delete` out of ids).
    pub fn fill(
        &mut self,
        out: &mut Vec<u8>,
        row: Option<i64>,
        etag: Option<&[u8]>,
    ) -> Option<Sent> {
        out.clear();
        match self.kind {
            Kind::Get { .. } => out.extend_from_slice(&self.fixed),
            Kind::GetIds => {
                let id = self.next_id()?;
                let host = &self.host;
                let _ = write!(out, "GET /person/{id} HTTP/1.1\r\nHost: {host}\r\n\r\n");
            }
            Kind::Post => {
                let n = self.unique();
                let host = &self.host;
                let body = format!(r#"{{"name":"Bench User","email":"user{n:020}@example.com"}}"#);
                let _ = write!(
                    out,
                    "POST /person HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
            Kind::Patch => {
                let id = row?;
                let host = &self.host;
                let Some(etag) = etag else {
                    let _ = write!(out, "GET /person/{id} HTTP/1.1\r\nHost: {host}\r\n\r\n");
                    return Some(Sent::Refresh);
                };
                let body = format!(r#"{{"name":"Patched {:020}"}}"#, self.unique());
                let host = &self.host;
                let _ = write!(
                    out,
                    "PATCH /person/{id} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nIf-Match: "
                );
                out.extend_from_slice(etag);
                let _ = write!(out, "\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            }
            Kind::Delete => {
                let id = self.next_id()?;
                let host = &self.host;
                let _ = write!(out, "DELETE /person/{id} HTTP/1.1\r\nHost: {host}\r\n\r\n");
            }
        }
        Some(Sent::Measured)
    }
}
