//! The statements each generated verb sends to PostgreSQL and MariaDB,
//! counted by the backend: a write takes the fewest round trips that keep
//! its guarantees, and a round trip that creeps back fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use lightapi::backend::Dialect;

use super::*;

/// `GET /sent`: the database's dialect and the statements the backend has
/// sent so far (`null` where it does not count them).
struct Sent;

impl Endpoint for Sent {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &Request) -> HandlerResult {
        let db = req.backend().unwrap();
        Ok(json!({
            "dialect": format!("{:?}", db.dialect()),
            "sent": db.statements_sent(),
        })
        .into())
    }
}

/// Statements per verb: (PostgreSQL, MariaDB). Each is one round trip once
/// its prepared statement is cached on the connection.
struct Expected {
    verb: &'static str,
    postgres: u64,
    mariadb: u64,
}

const fn e(verb: &'static str, postgres: u64, mariadb: u64) -> Expected {
    Expected {
        verb,
        postgres,
        mariadb,
    }
}

pub fn writes_take_the_fewest_round_trips(tdb: &dyn TestDb) {
    let db = tdb.database("trips");
    let m = person(&db);
    let s = Server::start(db, |app| app.register("/person", m).register("/sent", Sent));
    let mut c = s.client();
    let stats = expect_json(&c.get("/sent"), 200);
    let dialect = stats["dialect"].as_str().unwrap().to_owned();
    if stats["sent"].is_null() {
        // SQLite: its writer thread commits in groups; nothing to count.
        return;
    }
    let postgres = dialect == format!("{:?}", Dialect::Postgres);
    let sent = |c: &mut Client| expect_json(&c.get("/sent"), 200)["sent"].as_u64().unwrap();
    let check = |c: &mut Client,
                 want: &Expected,
                 send: &mut dyn FnMut(&mut Client) -> Resp,
                 status: u16| {
        let before = sent(c);
        let r = send(c);
        expect(&r, status);
        let n = sent(c) - before;
        let expected = if postgres {
            want.postgres
        } else {
            want.mariadb
        };
        assert_eq!(
            n, expected,
            "{dialect} {}: {n} statements, expected {expected}",
            want.verb
        );
        r
    };

    let r = check(
        &mut c,
        &e("POST", 1, 1),
        &mut |c| c.post("/person", &json!({"name": "Ada", "email": "ada@x"})),
        201,
    );
    let row = r.json();
    let path = item("/person", &row);
    let tag = strong_etag(&r);
    check(&mut c, &e("GET", 1, 1), &mut |c| c.get(&path), 200);
    // MariaDB has no UPDATE … RETURNING: BEGIN, UPDATE, SELECT, COMMIT.
    check(
        &mut c,
        &e("PATCH", 1, 4),
        &mut |c| c.patch(&path, &json!({"name": "Ada L."})),
        200,
    );
    check(
        &mut c,
        &e("PUT", 1, 4),
        &mut |c| c.put(&path, &json!({"name": "Ada P.", "email": "ada@x"})),
        200,
    );
    // A stale If-Match reads and writes nothing (MariaDB: in its
    // transaction, BEGIN, SELECT … FOR UPDATE, COMMIT).
    check(
        &mut c,
        &e("PATCH If-Match stale", 1, 3),
        &mut |c| if_match(c, "PATCH", &path, &tag, &json!({"name": "x"})),
        412,
    );
    let tag = strong_etag(&c.get(&path));
    // PostgreSQL: read with the row version, compare-and-set UPDATE.
    let r = check(
        &mut c,
        &e("PATCH If-Match", 2, 5),
        &mut |c| if_match(c, "PATCH", &path, &tag, &json!({"name": "Ada B."})),
        200,
    );
    let tag = strong_etag(&r);
    // The tag of the last conditional write: PostgreSQL keeps the row it
    // wrote with its row version, which stands for the read.
    let r = check(
        &mut c,
        &e("PATCH If-Match, the last write's tag", 1, 5),
        &mut |c| if_match(c, "PATCH", &path, &tag, &json!({"name": "Ada C."})),
        200,
    );
    let tag = strong_etag(&r);
    check(
        &mut c,
        &e("PATCH missing", 1, 3),
        &mut |c| c.patch("/person/999999", &json!({"name": "x"})),
        404,
    );
    check(
        &mut c,
        &e("DELETE missing", 1, 1),
        &mut |c| c.delete("/person/999999"),
        404,
    );
    check(
        &mut c,
        &e("DELETE If-Match, the last write's tag", 1, 4),
        &mut |c| c.request("DELETE", &path, &[("If-Match", tag.as_str())], None),
        204,
    );
    let other = create_person(&mut c, "Eve", "eve@x");
    let other = item("/person", &other);
    check(&mut c, &e("DELETE", 1, 1), &mut |c| c.delete(&other), 204);
}

/// `method path` with `If-Match: tag` and a JSON body.
fn if_match(c: &mut Client, method: &str, path: &str, tag: &str, body: &Json) -> Resp {
    let body = serde_json::to_vec(body).unwrap();
    c.request(
        method,
        path,
        &[("Content-Type", "application/json"), ("If-Match", tag)],
        Some(&body),
    )
}

/// A bulk create of 100 rows is one transaction of one multi-row insert:
/// `BEGIN`, `INSERT … VALUES (…), … RETURNING`, `COMMIT` on PostgreSQL and
/// MariaDB (SQLite: one job of the writer's group, not counted).
pub fn bulk_create_is_one_transaction_of_one_insert(tdb: &dyn TestDb) {
    let db = tdb.database("bulktrips");
    let m = person(&db);
    let s = Server::start(db, |app| app.register("/person", m).register("/sent", Sent));
    let mut c = s.client();
    let body = Json::Array(
        (0..100)
            .map(|i| json!({"name": format!("p{i}"), "email": format!("p{i}@x"), "age": i}))
            .collect(),
    );
    let stats = expect_json(&c.get("/sent"), 200);
    let before = stats["sent"].as_u64();
    let rows = expect_json(&c.post("/person", &body), 201);
    assert_eq!(rows.as_array().unwrap().len(), 100);
    assert_eq!(rows[99]["age"], json!(99));
    let Some(before) = before else {
        return;
    };
    let n = expect_json(&c.get("/sent"), 200)["sent"].as_u64().unwrap() - before;
    assert_eq!(n, 3, "{}: {n} statements", stats["dialect"]);
}
