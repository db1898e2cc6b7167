//! `examples/tasks`, the task tracker declared without handlers (but
//! `/stats`), run as a process on SQLite, PostgreSQL and MariaDB: every
//! rule it declares, over HTTP.

use serde_json::{json, Value};

use crate::support::{token, Client, ExampleProcess, Resp, TempDir};

/// The `field`s of a 422's errors, sorted.
fn bad_fields(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 422, "{r:?}");
    let mut fields: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {r:?}"))
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    fields.sort();
    fields
}

#[track_caller]
fn ok(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{r:?}");
    r.json()
}

fn tracker_rules_hold(url: &str) {
    let mut cmd = ExampleProcess::command("tasks");
    cmd.env("LIGHTAPI_DATABASE_URL", url)
        .env("LIGHTAPI_REACTORS", "1");
    let ex = ExampleProcess::spawn(cmd);
    let addr = ex.addr();
    let mut admin = Client::with_token(addr, &token("root", true));
    let mut alice = Client::with_token(addr, &token("alice", false));
    let mut bob = Client::with_token(addr, &token("bob", false));

    // The application names its API.
    let doc = Client::new(addr).get("/openapi.json").json();
    assert_eq!(doc["info"]["title"], json!("Task tracker"));
    assert_eq!(
        doc["paths"]["/stats"]["get"]["summary"],
        json!("Tasks per status")
    );
    assert_eq!(doc["paths"]["/project"]["post"]["x-access"], json!("admin"));
    let status = &doc["components"]["schemas"]["TaskFields"]["properties"]["status"];
    assert_eq!(status["enum"], json!(["todo", "doing", "done"]), "{status}");

    // Projects: only admins create them; names are unique.
    assert_eq!(alice.post("/project", &json!({"name": "web"})).status, 403);
    let web = ok(&admin.post("/project", &json!({"name": "web"})), 201);
    assert_eq!(web["archived"], json!(false));
    assert_eq!(admin.post("/project", &json!({"name": "web"})).status, 409);
    let web_id = web["id"].as_i64().unwrap();

    // Tasks: constraints, a server-set creation time, a foreign key.
    let r = alice.post(
        "/task",
        &json!({"title": "", "project_id": web_id, "assignee": "bob",
                "status": "blocked", "estimate_hours": -1}),
    );
    assert_eq!(bad_fields(&r), ["estimate_hours", "status", "title"]);
    let r = alice.post(
        "/task",
        &json!({"title": "t", "project_id": 999_999, "assignee": "bob"}),
    );
    assert_eq!(bad_fields(&r), ["project_id"]);
    let r = alice.post(
        "/task",
        &json!({"title": "t", "project_id": web_id, "assignee": "bob",
                "created_at": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(bad_fields(&r), ["created_at"]);
    let task = ok(
        &alice.post(
            "/task",
            &json!({"title": "landing page", "project_id": web_id, "assignee": "bob",
                    "estimate_hours": 3.5}),
        ),
        201,
    );
    assert_eq!(task["status"], json!("todo"));
    assert!(task["created_at"].is_string(), "{task}");
    let task_path = format!("/task/{}", task["id"]);
    // Declaration order: `id` first.
    let first_key = alice.get(&task_path).text();
    assert!(first_key.starts_with("{\"id\":"), "{first_key}");

    // Only the assignee (or an admin) changes or deletes a task.
    assert_eq!(
        alice.patch(&task_path, &json!({"status": "doing"})).status,
        403
    );
    assert_eq!(alice.request("DELETE", &task_path, &[], None).status, 403);
    let doing = ok(&bob.patch(&task_path, &json!({"status": "doing"})), 200);
    assert_eq!(doing["status"], json!("doing"));
    assert_eq!(doing["created_at"], task["created_at"]);
    assert_eq!(
        bob.patch(&task_path, &json!({"status": "paused"})).status,
        422
    );
    let done = ok(&admin.patch(&task_path, &json!({"status": "done"})), 200);
    assert_eq!(done["status"], json!("done"));
    // Everyone reads; nulls last by default.
    ok(
        &alice.post(
            "/task",
            &json!({"title": "due soon", "project_id": web_id, "assignee": "alice",
                    "due": "2030-01-01T00:00:00Z"}),
        ),
        201,
    );
    let page = ok(&bob.get("/task?page_size=10"), 200);
    let titles: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["due soon", "landing page"]);
    let page = ok(&bob.get("/task?status=done"), 200);
    assert_eq!(page["count"], json!(1));

    // Comments: the author is the caller; only the author changes them.
    let r = bob.post(
        "/comment",
        &json!({"task_id": task["id"], "body": "done!", "author": "mallory"}),
    );
    assert_eq!(bad_fields(&r), ["author"]);
    let comment = ok(
        &bob.post("/comment", &json!({"task_id": task["id"], "body": "done!"})),
        201,
    );
    assert_eq!(comment["author"], json!("bob"));
    let comment_path = format!("/comment/{}", comment["id"]);
    assert_eq!(
        alice.patch(&comment_path, &json!({"body": "mine"})).status,
        403
    );
    ok(&alice.get(&comment_path), 200);
    let edited = ok(&bob.patch(&comment_path, &json!({"body": "done."})), 200);
    assert_eq!(edited["body"], json!("done."));

    // /stats counts tasks per status.
    let stats = ok(&alice.get("/stats"), 200);
    assert_eq!(
        stats["tasks_per_status"],
        json!({"todo": 1, "doing": 0, "done": 1})
    );

    // A project with tasks cannot be deleted; its tasks say why.
    let r = admin.request("DELETE", &format!("/project/{web_id}"), &[], None);
    assert_eq!(r.status, 409, "{r:?}");
    assert!(
        r.json()["detail"].as_str().unwrap().contains("`task`"),
        "{r:?}"
    );
    // Deleting a task deletes its comments.
    assert_eq!(bob.request("DELETE", &task_path, &[], None).status, 204);
    assert_eq!(alice.get(&comment_path).status, 404);
}

#[test]
fn tracker_rules_hold_on_sqlite() {
    let dir = TempDir::new("tasks-example");
    let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    tracker_rules_hold(&url);
}

#[cfg(feature = "postgres")]
#[test]
fn tracker_rules_hold_on_postgres() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(fresh) = FreshDb::new(Server::Postgres) else {
        return;
    };
    tracker_rules_hold(&fresh.url);
}

#[cfg(feature = "mysql")]
#[test]
fn tracker_rules_hold_on_mariadb() {
    use crate::support::live_db::{FreshDb, Server};
    let Some(fresh) = FreshDb::new(Server::Mysql) else {
        return;
    };
    tracker_rules_hold(&fresh.url);
}
