//! A model that grew since its table was created: columns the existing
//! rows can take are added when asked; anything else stops start-up with
//! the statements that would fix it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use super::*;

pub fn schema_evolution_adds_safe_columns_and_prints_fixes(tdb: &dyn TestDb) {
    let db = tdb.database("evolve");
    let table = db.table("note");
    let v1 = || Model::new(&table).field("title", Field::text().max_length(100));
    let start = |m: Model, add: bool| {
        let mut c = config(&db);
        c.database.add_columns = add;
        TestServer::try_start(c, |app| app.register("/note", m))
    };
    let s = start(v1(), false).unwrap();
    let old = expect_json(
        &s.client_as("alice").post("/note", &json!({"title": "old"})),
        201,
    );
    s.stop();

    // A required field without a default cannot be added for the rows
    // already there: start-up stops, naming it and printing statements.
    let grown = || {
        v1().field("body", Field::text().nullable())
            .field("pinned", Field::boolean().default(false))
            .field("rank", Field::integer().min(0).default(0))
    };
    for add in [false, true] {
        let err = start(grown().field("must", Field::text()), add)
            .map(TestServer::stop)
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no column `must`"), "{err}");
        assert!(err.contains("ALTER TABLE"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
    // Nullable and defaulted fields: reported with their statements unless
    // adding is asked for.
    let err = start(grown(), false)
        .map(TestServer::stop)
        .unwrap_err()
        .to_string();
    for says in [
        "has no column `body`",
        "has no column `pinned`",
        "ADD COLUMN",
        "LIGHTAPI_SCHEMA_ADD_COLUMNS",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
    let s = start(grown(), true).unwrap();
    let mut c = s.client_as("alice");
    // The existing row got NULL and the defaults.
    let row = expect_json(&c.get(&item("/note", &old)), 200);
    assert_eq!(
        row,
        json!({"id": old["id"], "title": "old", "body": null, "pinned": false, "rank": 0})
    );
    let new = expect_json(
        &c.post("/note", &json!({"title": "new", "body": "b", "rank": 2})),
        201,
    );
    assert_eq!(new["pinned"], json!(false));
    expect_invalid(
        &c.post("/note", &json!({"title": "x", "rank": -1})),
        &["rank"],
    );
    s.stop();
    // Adding again finds nothing to add.
    start(grown(), true).unwrap().stop();
    start(grown(), false).unwrap().stop();

    // A column of another type is never changed: the statements are shown.
    let retyped = Model::new(&table)
        .field("title", Field::integer())
        .field("body", Field::text().nullable());
    let err = start(retyped, true)
        .map(TestServer::stop)
        .unwrap_err()
        .to_string();
    assert!(err.contains("column `title` has type"), "{err}");
    assert!(
        err.contains("ALTER TABLE") || err.contains("RENAME TO"),
        "{err}"
    );
    // Nothing was changed: the data is still there.
    let s = start(grown(), false).unwrap();
    assert_eq!(count(&mut s.client_as("alice"), "/note"), 2);
    s.stop();
}
