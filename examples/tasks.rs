//! A team task tracker in declarations: projects, tasks and comments with
//! their business rules, and one hand-written endpoint, `GET /stats`.
//!
//! - `project`: a unique name, an optional description, `archived`
//!   (default false); every user reads, admins create, change and delete;
//!   a project that still has tasks cannot be deleted (`409`).
//! - `task`: a title, its project, an assignee, a status of todo, doing or
//!   done, an optional due time, an estimate of at least 0 hours, and the
//!   time it was created (set by the server); every user reads and
//!   creates, only the assignee (or an admin) changes or deletes it.
//! - `comment`: on a task (deleted with it), a body, and its author (the
//!   token's `sub`, set by the server); every user reads and comments,
//!   only the author (or an admin) changes or deletes it.
//!
//! ```sh
//! cargo run --example tasks      # SQLite file tasks.db, 127.0.0.1:8000
//! ```
//!
//! Without `LIGHTAPI_JWT_SECRET`, a ready-to-use token is printed at
//! start-up.

use lightapi::backend::{read_with, BackendExt, Value};
use lightapi::model::{FieldType, OnDelete};
use lightapi::{
    Access, ApiError, Endpoint, Field, HandlerResult, LightApi, Method, Model, OperationDoc,
    Request,
};
use serde_json::{json, Map};

/// The task statuses, in their order on a board.
const STATUSES: [&str; 3] = ["todo", "doing", "done"];

fn main() -> Result<(), lightapi::StartError> {
    let mut config = lightapi::Config::from_env()?;
    if std::env::var_os("LIGHTAPI_DATABASE_URL").is_none() {
        config.database.url = "sqlite://tasks.db".parse()?;
    }
    app(LightApi::with_config(config)).run()
}

/// The tracker's declarations on `api`.
fn app(api: LightApi) -> LightApi {
    let project = Model::new("project")
        .field("name", Field::text().min_length(1).max_length(200).unique())
        .field("description", Field::text().nullable())
        .field("archived", Field::boolean().default(false))
        .into_resource()
        .access(Method::Post, Access::Admin)
        .access(Method::Put, Access::Admin)
        .access(Method::Patch, Access::Admin)
        .access(Method::Delete, Access::Admin)
        .filter_fields(&["archived"])
        .search_fields(&["name"])
        .ordering_fields(&["name"]);
    let task = Model::new("task")
        .field("title", Field::text().min_length(1).max_length(300))
        .field("project_id", Field::integer().references("project"))
        .field("assignee", Field::text().min_length(1).max_length(100))
        .field("status", Field::text().choices(&STATUSES).default("todo"))
        .field("due", Field::datetime().nullable())
        .field("estimate_hours", Field::float().min(0).default(0))
        .field("created_at", Field::datetime().set_on_create())
        .restrict_writes("assignee", "sub")
        .into_resource()
        .filter_fields(&["project_id", "assignee", "status", "due"])
        .search_fields(&["title"])
        .ordering_fields(&["due", "created_at", "estimate_hours", "status"])
        .default_ordering("due.nullslast");
    let comment = Model::new("comment")
        .field(
            "task_id",
            Field::integer()
                .references("task")
                .on_delete(OnDelete::Cascade),
        )
        .field("body", Field::text().min_length(1).max_length(5000))
        .field("author", Field::text().from_claim("sub"))
        .field("created_at", Field::datetime().set_on_create())
        .restrict_writes("author", "sub")
        .into_resource()
        .filter_fields(&["task_id", "author"])
        .ordering_fields(&["created_at"]);
    api.openapi_info("Task tracker", "1.0.0")
        .openapi_description("Projects, their tasks and the comments on them.")
        .register("/project", project)
        .register("/task", task)
        .register("/comment", comment)
        .register("/stats", Stats)
}

/// `GET /stats`: how many tasks there are in each status.
struct Stats;

impl Endpoint for Stats {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        let db = req
            .backend()
            .ok_or_else(|| ApiError::internal("no database"))?;
        let d = db.dialect();
        let sql = format!(
            "SELECT {status}, COUNT(*) FROM {task} GROUP BY {status}",
            status = d.quote("status"),
            task = d.quote("task"),
        );
        let rows = read_with(&**db, move |c| {
            c.query(&sql, &[], &[FieldType::Text, FieldType::Integer])
        })?;
        let mut counts: Map<String, serde_json::Value> = STATUSES
            .iter()
            .map(|s| ((*s).to_owned(), json!(0)))
            .collect();
        for row in rows {
            if let [Value::Text(status), Value::Integer(n)] = row.as_slice() {
                counts.insert(status.clone(), json!(n));
            }
        }
        Ok(json!({ "tasks_per_status": counts }).into())
    }

    fn doc(&self, _method: Method) -> Option<OperationDoc> {
        let counts = json!({
            "type": "object",
            "required": ["tasks_per_status"],
            "properties": {"tasks_per_status": {
                "type": "object",
                "properties": {
                    "todo": {"type": "integer"},
                    "doing": {"type": "integer"},
                    "done": {"type": "integer"}
                }
            }}
        });
        Some(
            OperationDoc::new("Tasks per status")
                .description("Every task counted once, by its status.")
                .response(200, "Counts by status", counts),
        )
    }
}
