//! Backend-agnostic CRUD suite: every function takes a fresh or shared
//! `Arc<dyn Backend>` and uses its own uniquely named tables, so the same
//! suite runs against SQLite, PostgreSQL and MariaDB.

/// Calls `$run!` with every case of this suite, so each backend's test file
/// names the cases once, here.
#[macro_export]
macro_rules! for_each_crud_case {
    ($run:ident) => {
        $run!(
            every_type_round_trips,
            defaults_ids_and_write_only,
            unique_violation_is_a_conflict_on_the_field,
            foreign_keys_name_the_missing_row_and_the_referencing_table,
            if_match_mismatch_writes_nothing,
            replace_resets_and_patch_keeps,
            versioned_models_lock_optimistically,
            require_if_match_is_enforced,
            concurrent_creates_each_land_once,
            concurrent_if_match_patches_have_one_winner,
            concurrent_first_starts_create_the_table_once,
            table_mismatch_is_detected,
            scoping_hides_other_owners_rows,
            list_filters_orders_and_pages,
            missing_server_value_is_reported,
        );
    };
}

use std::sync::{Arc, Barrier};

use super::etag_key;
use lightapi::__private::backend::sql::{Filter, FilterOp, Keyset, ListQuery, Order, Scope};
use lightapi::__private::crud::ops::{self, scope_for, Precondition};
use lightapi::__private::crud::schema;
use lightapi::__private::crud::validate::{validate_create, validate_patch, validate_replace};
use lightapi::backend::{write_with, Backend, BackendError, ConflictKind, Dialect, Value};
use lightapi::error::CrudError;
use lightapi::model::{Field, Key, Model};
use serde_json::{json, Value as Json};

use super::unique;

fn person(name: &str) -> Model {
    Model::new(name)
        .field("name", Field::text())
        .field("email", Field::text().unique())
        .field("email_verified", Field::boolean().default(false))
}

fn setup(db: &Arc<dyn Backend>, model: &Model) {
    model.check().unwrap();
    schema::ensure_table(&**db, model).unwrap();
}

fn create(db: &Arc<dyn Backend>, model: &Model, body: Json) -> Result<ops::Record, CrudError> {
    ops::create(
        &**db,
        &etag_key(),
        model,
        validate_create(model, &body).unwrap(),
        None,
    )
}

pub fn every_type_round_trips(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("types"))
        .field("i", Field::integer())
        .field("f", Field::float())
        .field("t", Field::text())
        .field("b", Field::boolean())
        .field("d", Field::datetime())
        .field("j", Field::json())
        .field("n", Field::text().nullable());
    setup(&db, &m);
    let long = "é".repeat(50 * 1024);
    let cases = [
        json!({"i": i64::MIN, "f": -1.5e300, "t": "", "b": false,
               "d": "0000-01-01T00:00:00Z", "j": null, "n": null}),
        json!({"i": i64::MAX, "f": f64::MIN_POSITIVE, "t": "😀 \u{0} nul'; DROP TABLE x; --",
               "b": true, "d": "9999-12-31T23:59:59.999999Z", "j": {"a": [1, {"b": [null, true, 1.5]}], "c": "😀"},
               "n": "x"}),
        json!({"i": 0, "f": 0.1, "t": long, "b": true,
               "d": "2024-02-29T12:00:00.123+05:30", "j": [[[[[]]]]], "n": "\u{0}"}),
        json!({"i": -1, "f": 1e-300, "t": "日本語 \t\n\r \\ \"", "b": false,
               "d": "1969-12-31T23:59:59.999999Z", "j": "a string", "n": ""}),
    ];
    for mut body in cases {
        let has_nul = ["t", "n"]
            .iter()
            .any(|k| body[*k].as_str().is_some_and(|s| s.contains('\u{0}')));
        if has_nul && db.dialect() == Dialect::Postgres {
            // PostgreSQL text cannot hold U+0000: the value is refused
            // (422) and nothing is stored; the rest of the case must still
            // round-trip.
            let e = create(&db, &m, body.clone()).unwrap_err();
            assert!(
                matches!(
                    e,
                    CrudError::Backend {
                        source: BackendError::InvalidValue { .. }
                    }
                ),
                "{e:?}"
            );
            for k in ["t", "n"] {
                if let Some(s) = body[k].as_str() {
                    body[k] = json!(s.replace('\u{0}', ""));
                }
            }
        }
        let j_null = body["j"].is_null();
        if j_null {
            // A non-null JSON field rejects null.
            assert!(validate_create(&m, &body).is_err());
            continue;
        }
        let created = create(&db, &m, body.clone()).unwrap();
        let fetched = ops::get(&*db, &etag_key(), &m, &created.id, None)
            .unwrap()
            .unwrap();
        assert_eq!(created, fetched);
        for key in ["i", "f", "t", "b", "j", "n"] {
            assert_eq!(fetched.fields[key], body[key], "{key}");
        }
        let d = lightapi::model::datetime::parse_rfc3339(body["d"].as_str().unwrap()).unwrap();
        assert_eq!(
            fetched.fields["d"],
            json!(lightapi::model::datetime::format_rfc3339(d))
        );
        assert_eq!(fetched.fields["id"], created.id.to_json());
    }
    let body = json!({"i": 1, "f": 1, "t": "x", "b": true, "d": "2024-01-01T00:00:00Z", "j": {}, "n": null});
    let r = create(&db, &m, body).unwrap();
    assert_eq!(r.fields["f"], json!(1.0));
}

pub fn defaults_ids_and_write_only(db: Arc<dyn Backend>) {
    let m = person(&unique("person")).field("password_hash", Field::text().write_only().nullable());
    setup(&db, &m);
    let a = create(
        &db,
        &m,
        json!({"name": "Ada", "email": "ada@x", "password_hash": "h"}),
    )
    .unwrap();
    let b = create(&db, &m, json!({"name": "Bob", "email": "bob@x"})).unwrap();
    assert!(b.id > a.id);
    assert_eq!(a.fields["email_verified"], json!(false));
    assert!(!a.fields.contains_key("password_hash"));
    let keys: Vec<&str> = a.fields.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(ops::get(
        &*db,
        &etag_key(),
        &m,
        &Key::Int(b.id.as_int().unwrap() + 1000),
        None
    )
    .unwrap()
    .is_none());
    // The write-only field still changes the ETag.
    let before = ops::get(&*db, &etag_key(), &m, &a.id, None)
        .unwrap()
        .unwrap();
    let patch = validate_patch(&m, &json!({"password_hash": "h2"})).unwrap();
    let after = ops::update(
        &*db,
        &etag_key(),
        &m,
        &a.id,
        patch,
        Precondition::None,
        None,
    )
    .unwrap();
    assert_ne!(before.etag, after.etag);
    assert_eq!(before.fields, after.fields);
}

pub fn unique_violation_is_a_conflict_on_the_field(db: Arc<dyn Backend>) {
    let m = person(&unique("person"));
    setup(&db, &m);
    create(&db, &m, json!({"name": "Ada", "email": "ada@x"})).unwrap();
    let e = create(&db, &m, json!({"name": "Ada 2", "email": "ada@x"})).unwrap_err();
    assert_eq!(
        e,
        CrudError::Conflict {
            field: Some("email".into()),
            kind: ConflictKind::Unique
        }
    );
    let b = create(&db, &m, json!({"name": "Bob", "email": "bob@x"})).unwrap();
    let patch = validate_patch(&m, &json!({"email": "ada@x"})).unwrap();
    let e = ops::update(
        &*db,
        &etag_key(),
        &m,
        &b.id,
        patch,
        Precondition::None,
        None,
    )
    .unwrap_err();
    assert!(matches!(e, CrudError::Conflict { .. }), "{e:?}");
    assert_eq!(
        ops::list(&*db, &etag_key(), &m, &ListQuery::default(), None)
            .unwrap()
            .len(),
        2
    );
}

pub fn foreign_keys_name_the_missing_row_and_the_referencing_table(db: Arc<dyn Backend>) {
    let team = Model::new(&unique("team")).field("name", Field::text());
    let member = Model::new(&unique("member"))
        .field("name", Field::text())
        .field("team", Field::integer().references(team.name()));
    lightapi::model::check_models(&[team.clone(), member.clone()]).unwrap();
    schema::ensure_table(&*db, &team).unwrap();
    schema::ensure_table(&*db, &member).unwrap();
    let t = create(&db, &team, json!({"name": "red"})).unwrap();
    create(&db, &member, json!({"name": "a", "team": t.id.to_json()})).unwrap();
    let e = create(
        &db,
        &member,
        json!({"name": "b", "team": t.id.as_int().unwrap() + 99}),
    )
    .unwrap_err();
    assert_eq!(
        e,
        CrudError::UnknownReference {
            field: "team".into(),
            table: team.name().into(),
            key: "id".into(),
            id: Key::Int(t.id.as_int().unwrap() + 99),
        }
    );
    // Deleting a referenced row is a conflict naming the referencing table.
    let e = ops::delete(&*db, &etag_key(), &team, &t.id, Precondition::None, None).unwrap_err();
    assert_eq!(
        e,
        CrudError::Referenced {
            model: team.name().into(),
            id: t.id.clone(),
            by: Some(member.name().into()),
        }
    );
    assert!(ops::get(&*db, &etag_key(), &team, &t.id, None)
        .unwrap()
        .is_some());
}

pub fn if_match_mismatch_writes_nothing(db: Arc<dyn Backend>) {
    let m = person(&unique("person"));
    setup(&db, &m);
    let a = create(&db, &m, json!({"name": "Ada", "email": "ada@x"})).unwrap();
    let stale = Precondition::IfMatch(vec!["\"0000\"".into()]);
    let patch = validate_patch(&m, &json!({"name": "Eve"})).unwrap();
    let e = ops::update(
        &*db,
        &etag_key(),
        &m,
        &a.id,
        patch.clone(),
        stale.clone(),
        None,
    )
    .unwrap_err();
    assert_eq!(e, CrudError::PreconditionFailed);
    let put = validate_replace(&m, &json!({"name": "Eve", "email": "eve@x"})).unwrap();
    let e = ops::update(&*db, &etag_key(), &m, &a.id, put, stale.clone(), None).unwrap_err();
    assert_eq!(e, CrudError::PreconditionFailed);
    let e = ops::delete(&*db, &etag_key(), &m, &a.id, stale, None).unwrap_err();
    assert_eq!(e, CrudError::PreconditionFailed);
    assert_eq!(
        ops::get(&*db, &etag_key(), &m, &a.id, None)
            .unwrap()
            .unwrap(),
        a
    );
    // Weak tags never match; `*` and the current tag do.
    let weak = Precondition::IfMatch(vec![format!("W/{}", a.etag)]);
    let e = ops::update(&*db, &etag_key(), &m, &a.id, patch.clone(), weak, None).unwrap_err();
    assert_eq!(e, CrudError::PreconditionFailed);
    let ok = ops::update(
        &*db,
        &etag_key(),
        &m,
        &a.id,
        patch,
        Precondition::IfMatch(vec![a.etag.clone()]),
        None,
    )
    .unwrap();
    assert_eq!(ok.fields["name"], json!("Eve"));
    let star = Precondition::IfMatch(vec!["*".into()]);
    ops::delete(&*db, &etag_key(), &m, &a.id, star.clone(), None).unwrap();
    assert!(matches!(
        ops::delete(&*db, &etag_key(), &m, &a.id, star, None).unwrap_err(),
        CrudError::NotFound { .. }
    ));
}

pub fn replace_resets_and_patch_keeps(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("doc"))
        .field("title", Field::text())
        .field("note", Field::text().nullable())
        .field("stars", Field::integer().default(3));
    setup(&db, &m);
    let a = create(&db, &m, json!({"title": "t", "note": "n", "stars": 5})).unwrap();
    let p = validate_patch(&m, &json!({"title": "t2"})).unwrap();
    let r = ops::update(&*db, &etag_key(), &m, &a.id, p, Precondition::None, None).unwrap();
    assert_eq!(r.fields["note"], json!("n"));
    assert_eq!(r.fields["stars"], json!(5));
    let p = validate_patch(&m, &json!({"note": null})).unwrap();
    let r = ops::update(&*db, &etag_key(), &m, &a.id, p, Precondition::None, None).unwrap();
    assert_eq!(r.fields["note"], Json::Null);
    let put = validate_replace(&m, &json!({"title": "t3", "note": "x"})).unwrap();
    let r = ops::update(&*db, &etag_key(), &m, &a.id, put, Precondition::None, None).unwrap();
    assert_eq!(r.fields["stars"], json!(3));
    let empty = validate_patch(&m, &json!({})).unwrap();
    let same = ops::update(
        &*db,
        &etag_key(),
        &m,
        &a.id,
        empty.clone(),
        Precondition::None,
        None,
    )
    .unwrap();
    assert_eq!(same, r);
    assert!(matches!(
        ops::update(
            &*db,
            &etag_key(),
            &m,
            &Key::Int(a.id.as_int().unwrap() + 1000),
            empty,
            Precondition::None,
            None
        )
        .unwrap_err(),
        CrudError::NotFound { .. }
    ));
}

pub fn versioned_models_lock_optimistically(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("ver"))
        .field("title", Field::text())
        .versioned();
    setup(&db, &m);
    let a = create(&db, &m, json!({"title": "a"})).unwrap();
    assert_eq!(a.fields["version"], json!(1));
    let p = validate_patch(&m, &json!({"title": "b", "version": 1})).unwrap();
    let b = ops::update(&*db, &etag_key(), &m, &a.id, p, Precondition::None, None).unwrap();
    assert_eq!(b.fields["version"], json!(2));
    let stale = validate_patch(&m, &json!({"title": "c", "version": 1})).unwrap();
    assert_eq!(
        ops::update(
            &*db,
            &etag_key(),
            &m,
            &a.id,
            stale,
            Precondition::None,
            None
        )
        .unwrap_err(),
        CrudError::VersionConflict { current: 2 }
    );
    let put = validate_replace(&m, &json!({"title": "d"})).unwrap();
    let d = ops::update(&*db, &etag_key(), &m, &a.id, put, Precondition::None, None).unwrap();
    assert_eq!(d.fields["version"], json!(3));
    let empty = validate_patch(&m, &json!({})).unwrap();
    let e = ops::update(
        &*db,
        &etag_key(),
        &m,
        &a.id,
        empty,
        Precondition::None,
        None,
    )
    .unwrap();
    assert_eq!(e.fields["version"], json!(4));
}

pub fn require_if_match_is_enforced(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("strict"))
        .field("title", Field::text())
        .require_if_match();
    setup(&db, &m);
    let a = create(&db, &m, json!({"title": "a"})).unwrap();
    let p = validate_patch(&m, &json!({"title": "b"})).unwrap();
    assert_eq!(
        ops::update(
            &*db,
            &etag_key(),
            &m,
            &a.id,
            p.clone(),
            Precondition::None,
            None
        )
        .unwrap_err(),
        CrudError::PreconditionRequired
    );
    assert_eq!(
        ops::delete(&*db, &etag_key(), &m, &a.id, Precondition::None, None).unwrap_err(),
        CrudError::PreconditionRequired
    );
    // A row that does not exist is 404 whether or not If-Match was sent.
    let missing = Key::Int(a.id.as_int().unwrap() + 1000);
    assert!(matches!(
        ops::delete(&*db, &etag_key(), &m, &missing, Precondition::None, None).unwrap_err(),
        CrudError::NotFound { .. }
    ));
    assert!(matches!(
        ops::update(
            &*db,
            &etag_key(),
            &m,
            &missing,
            p.clone(),
            Precondition::None,
            None
        )
        .unwrap_err(),
        CrudError::NotFound { .. }
    ));
    ops::update(
        &*db,
        &etag_key(),
        &m,
        &a.id,
        p,
        Precondition::IfMatch(vec![a.etag]),
        None,
    )
    .unwrap();
    // Nothing was written by the refused requests.
    assert_eq!(ops::count(&*db, &m, &[], None).unwrap(), 1);
}

/// Several processes (here: threads with their own connections) starting
/// at once on a schema without the table: every one of them gets a usable
/// table, and there is one.
pub fn concurrent_first_starts_create_the_table_once(db: Arc<dyn Backend>) {
    let m = Arc::new(person(&unique("first")).field("age", Field::integer().nullable().index()));
    m.check().unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (db, m, barrier) = (Arc::clone(&db), Arc::clone(&m), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                schema::ensure_table(&*db, &m)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    schema::ensure_table(&*db, &m).unwrap();
    create(&db, &m, json!({"name": "a", "email": "a@x", "age": 3})).unwrap();
    assert_eq!(ops::count(&*db, &m, &[], None).unwrap(), 1);
}

pub fn concurrent_creates_each_land_once(db: Arc<dyn Backend>) {
    let m = Arc::new(person(&unique("person")));
    setup(&db, &m);
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let (db, m, barrier) = (Arc::clone(&db), Arc::clone(&m), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                (0..50)
                    .map(|i| {
                        let body =
                            json!({"name": format!("n{t}-{i}"), "email": format!("{t}-{i}@x")});
                        create(&db, &m, body).unwrap().id
                    })
                    .collect::<Vec<Key>>()
            })
        })
        .collect();
    let mut ids: Vec<Key> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 800);
    let rows = ops::list(&*db, &etag_key(), &m, &ListQuery::default(), None).unwrap();
    assert_eq!(rows.len(), 800);
    let mut emails: Vec<String> = rows
        .iter()
        .map(|r| r.fields["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), 800);
    assert_eq!(ops::count(&*db, &m, &[], None).unwrap(), 800);
}

pub fn concurrent_if_match_patches_have_one_winner(db: Arc<dyn Backend>) {
    let m = Arc::new(person(&unique("person")));
    setup(&db, &m);
    let a = create(&db, &m, json!({"name": "Ada", "email": "ada@x"})).unwrap();
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let (db, m, barrier) = (Arc::clone(&db), Arc::clone(&m), Arc::clone(&barrier));
            let (tag, id) = (a.etag.clone(), a.id.clone());
            std::thread::spawn(move || {
                let p = validate_patch(&m, &json!({"name": format!("writer {t}")})).unwrap();
                barrier.wait();
                ops::update(
                    &*db,
                    &etag_key(),
                    &m,
                    &id,
                    p,
                    Precondition::IfMatch(vec![tag]),
                    None,
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1);
    let failed = results
        .iter()
        .filter(|r| matches!(r, Err(CrudError::PreconditionFailed)))
        .count();
    assert_eq!(failed, 15);
    let now = ops::get(&*db, &etag_key(), &m, &a.id, None)
        .unwrap()
        .unwrap();
    assert_eq!(&now, winners[0]);
}

pub fn table_mismatch_is_detected(db: Arc<dyn Backend>) {
    let name = unique("legacy");
    let ddl = format!("CREATE TABLE {name} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age TEXT)");
    write_with(&*db, move |c| c.execute(&ddl, &[])).unwrap();
    let ok = Model::new(&name).field("name", Field::text());
    schema::ensure_table(&*db, &ok).unwrap();
    let missing = ok.clone().field("email", Field::text());
    let e = schema::ensure_table(&*db, &missing).unwrap_err();
    let CrudError::Schema { message } = e else {
        panic!("{e:?}")
    };
    assert!(
        message.contains(&name) && message.contains("email"),
        "{message}"
    );
    let wrong_type = ok.clone().field("age", Field::integer().nullable());
    let CrudError::Schema { message } = schema::ensure_table(&*db, &wrong_type).unwrap_err() else {
        panic!()
    };
    assert!(message.contains("age"), "{message}");
    let nullable = Model::new(&name).field("name", Field::text().nullable());
    assert!(matches!(
        schema::ensure_table(&*db, &nullable),
        Err(CrudError::Schema { .. })
    ));
    // A second ensure of a table it created is a no-op.
    let fresh = person(&unique("person")).versioned();
    schema::ensure_table(&*db, &fresh).unwrap();
    schema::ensure_table(&*db, &fresh).unwrap();
}

pub fn scoping_hides_other_owners_rows(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("note"))
        .field("title", Field::text())
        .scope("owner_id", "sub");
    setup(&db, &m);
    let alice = scope_for(&m, &json!({"sub": "alice"})).unwrap().unwrap();
    let bob = scope_for(&m, &json!({"sub": "bob"})).unwrap().unwrap();
    let row = |t: &str| validate_create(&m, &json!({"title": t})).unwrap();
    let a = ops::create(&*db, &etag_key(), &m, row("a1"), Some(&alice)).unwrap();
    assert_eq!(a.fields["owner_id"], json!("alice"));
    ops::create(&*db, &etag_key(), &m, row("a2"), Some(&alice)).unwrap();
    let b = ops::create(&*db, &etag_key(), &m, row("b1"), Some(&bob)).unwrap();
    assert!(validate_create(&m, &json!({"title": "x", "owner_id": "bob"})).is_err());

    assert!(ops::get(&*db, &etag_key(), &m, &b.id, Some(&alice))
        .unwrap()
        .is_none());
    let p = validate_patch(&m, &json!({"title": "stolen"})).unwrap();
    assert!(matches!(
        ops::update(
            &*db,
            &etag_key(),
            &m,
            &b.id,
            p.clone(),
            Precondition::None,
            Some(&alice)
        )
        .unwrap_err(),
        CrudError::NotFound { .. }
    ));
    assert!(matches!(
        ops::delete(
            &*db,
            &etag_key(),
            &m,
            &b.id,
            Precondition::IfMatch(vec!["*".into()]),
            Some(&alice)
        )
        .unwrap_err(),
        CrudError::NotFound { .. }
    ));
    assert_eq!(
        ops::list(&*db, &etag_key(), &m, &ListQuery::default(), Some(&alice))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        ops::list(&*db, &etag_key(), &m, &ListQuery::default(), Some(&bob))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ops::count(&*db, &m, &[], Some(&bob)).unwrap(), 1);
    assert_eq!(
        ops::get(&*db, &etag_key(), &m, &b.id, Some(&bob))
            .unwrap()
            .unwrap()
            .fields["title"],
        json!("b1")
    );
    // Fail closed: a scoped model without its scope is refused.
    assert!(matches!(
        ops::get(&*db, &etag_key(), &m, &b.id, None),
        Err(CrudError::ScopeMismatch { .. })
    ));
    let wrong = Scope {
        column: "title".into(),
        value: Value::Text("b1".into()),
    };
    assert!(matches!(
        ops::list(&*db, &etag_key(), &m, &ListQuery::default(), Some(&wrong)),
        Err(CrudError::ScopeMismatch { .. })
    ));
}

pub fn list_filters_orders_and_pages(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("item"))
        .field("name", Field::text())
        .field("rank", Field::integer().nullable())
        .field("at", Field::datetime());
    setup(&db, &m);
    let names = [
        "Apple",
        "banana",
        "50% off",
        "under_score",
        "Cherry",
        "apricot",
    ];
    for (i, n) in names.iter().enumerate() {
        let rank = if i % 3 == 0 { Json::Null } else { json!(i % 3) };
        let at = format!("2024-01-0{}T00:00:00Z", i + 1);
        create(&db, &m, json!({"name": n, "rank": rank, "at": at})).unwrap();
    }
    let q = |filters: Vec<Filter>| ListQuery {
        filters,
        ..ListQuery::default()
    };
    let names_of = |rows: Vec<ops::Record>| -> Vec<String> {
        rows.into_iter()
            .map(|r| r.fields["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let contains = |s: &str| Filter {
        field: "name".into(),
        op: FilterOp::Contains(s.into()),
    };
    assert_eq!(
        names_of(ops::list(&*db, &etag_key(), &m, &q(vec![contains("AP")]), None).unwrap()),
        ["Apple", "apricot"]
    );
    assert_eq!(
        names_of(ops::list(&*db, &etag_key(), &m, &q(vec![contains("%")]), None).unwrap()),
        ["50% off"]
    );
    assert_eq!(
        names_of(ops::list(&*db, &etag_key(), &m, &q(vec![contains("_")]), None).unwrap()),
        ["under_score"]
    );
    let at = lightapi::model::datetime::parse_rfc3339("2024-01-04T00:00:00Z").unwrap();
    let later = Filter {
        field: "at".into(),
        op: FilterOp::Gte(Value::DateTime(at)),
    };
    assert_eq!(
        ops::list(&*db, &etag_key(), &m, &q(vec![later]), None)
            .unwrap()
            .len(),
        3
    );
    let nulls = Filter {
        field: "rank".into(),
        op: FilterOp::IsNull(true),
    };
    assert_eq!(ops::count(&*db, &m, &[nulls], None).unwrap(), 2);
    let e = ops::list(
        &*db,
        &etag_key(),
        &m,
        &q(vec![Filter {
            field: "nope".into(),
            op: FilterOp::IsNull(true),
        }]),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, CrudError::InvalidQuery { .. }));

    // Keyset pagination over a nullable column, descending, pages of 2.
    let order = vec![Order {
        field: "rank".into(),
        descending: true,
        nulls: Default::default(),
    }];
    let all = ops::list(
        &*db,
        &etag_key(),
        &m,
        &ListQuery {
            order: order.clone(),
            ..ListQuery::default()
        },
        None,
    )
    .unwrap();
    let ranks: Vec<Json> = all.iter().map(|r| r.fields["rank"].clone()).collect();
    assert_eq!(
        ranks,
        [
            json!(2),
            json!(2),
            json!(1),
            json!(1),
            Json::Null,
            Json::Null
        ]
    );
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = ops::list(
            &*db,
            &etag_key(),
            &m,
            &ListQuery {
                order: order.clone(),
                limit: Some(2),
                after: after.clone(),
                ..ListQuery::default()
            },
            None,
        )
        .unwrap();
        let Some(last) = page.last() else { break };
        let rank = match &last.fields["rank"] {
            Json::Null => Value::Null,
            v => Value::Integer(v.as_i64().unwrap()),
        };
        after = Some(Keyset {
            values: vec![rank],
            id: last.id.clone(),
        });
        seen.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(seen, all.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
    // Offset pagination.
    let page = ops::list(
        &*db,
        &etag_key(),
        &m,
        &ListQuery {
            limit: Some(2),
            offset: 4,
            ..ListQuery::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(names_of(page), ["Cherry", "apricot"]);
}

pub fn missing_server_value_is_reported(db: Arc<dyn Backend>) {
    let m = Model::new(&unique("audit"))
        .field("what", Field::text())
        .field("created_by", Field::text().read_only());
    setup(&db, &m);
    let row = validate_create(&m, &json!({"what": "x"})).unwrap();
    assert_eq!(
        ops::create(&*db, &etag_key(), &m, row.clone(), None).unwrap_err(),
        CrudError::MissingValue {
            field: "created_by".into()
        }
    );
    let mut row = row;
    row.set("created_by", Value::Text("admin".into()));
    let r = ops::create(&*db, &etag_key(), &m, row, None).unwrap();
    assert_eq!(r.fields["created_by"], json!("admin"));
}
