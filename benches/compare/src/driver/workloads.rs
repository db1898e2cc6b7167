//! The workloads, in the order they run.

use crate::loadgen::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Plaintext,
    Json,
    Pipelined,
    GetById,
    List,
    Patch,
    Post,
    Delete,
}

/// Requests per write in the pipelined workload.
pub const PIPELINE: usize = 16;
/// `page_size` of the list workload.
pub const PAGE_SIZE: u64 = 50;

impl Workload {
    pub const HTTP: [Workload; 3] = [Workload::Plaintext, Workload::Json, Workload::Pipelined];
    /// `POST` and `DELETE` last: the rows they add and remove are reset
    /// after each of their runs, but nothing measured reads them anyway.
    pub const DB: [Workload; 5] = [
        Workload::GetById,
        Workload::List,
        Workload::Patch,
        Workload::Post,
        Workload::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Plaintext => "plaintext",
            Workload::Json => "json",
            Workload::Pipelined => "plaintext pipelined x16",
            Workload::GetById => "GET /person/{id}",
            Workload::List => "GET /person?page_size=50",
            Workload::Patch => "PATCH /person/{id} If-Match",
            Workload::Post => "POST /person",
            Workload::Delete => "DELETE /person/{id}",
        }
    }

    /// What the load generator sends.
    pub fn kind(self) -> Kind {
        match self {
            Workload::Plaintext => Kind::Get {
                path: "/plaintext".into(),
                pipeline: 1,
            },
            Workload::Json => Kind::Get {
                path: "/json".into(),
                pipeline: 1,
            },
            Workload::Pipelined => Kind::Get {
                path: "/plaintext".into(),
                pipeline: PIPELINE,
            },
            Workload::GetById => Kind::GetIds,
            Workload::List => Kind::Get {
                path: format!("/person?page_size={PAGE_SIZE}"),
                pipeline: 1,
            },
            Workload::Patch => Kind::Patch,
            Workload::Post => Kind::Post,
            Workload::Delete => Kind::Delete,
        }
    }

    /// The `loadgen` flags for it.
    pub fn loadgen_args(self) -> Vec<String> {
        let mut a = Vec::new();
        match self.kind() {
            Kind::Get { path, pipeline } => {
                a.extend([
                    "--workload".into(),
                    "get".into(),
                    "--path".into(),
                    path,
                    "--pipeline".into(),
                    pipeline.to_string(),
                ]);
            }
            Kind::GetIds => a.extend(["--workload".into(), "get-ids".into()]),
            Kind::Post => a.extend(["--workload".into(), "post".into()]),
            Kind::Patch => a.extend(["--workload".into(), "patch".into()]),
            Kind::Delete => a.extend(["--workload".into(), "delete".into()]),
        }
        a
    }

    /// Whether a run leaves rows the driver must remove.
    pub fn adds_or_removes_rows(self) -> bool {
        matches!(self, Workload::Post | Workload::Delete)
    }
}
