//! Types round-tripping through POST then GET, and hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use super::*;

// ------------------------------------------------------------------ types

fn single_field_server(tdb: &dyn TestDb, case: &str, field: Field) -> Server {
    let db = tdb.database(case);
    let m = Model::new(&db.table("v")).field("v", field);
    Server::start(db, |app| app.register("/v", m))
}

/// POSTs `{"v": value}`, checks the 201 against a GET of the row, and
/// returns the stored `v`.
#[track_caller]
fn round_trip(c: &mut Client, value: &Json) -> Json {
    let r = c.post("/v", &json!({ "v": value }));
    let created = expect_json(&r, 201);
    let g = c.get(&item("/v", &created));
    assert_eq!(expect_json(&g, 200), created);
    assert_eq!(g.header("etag"), r.header("etag"));
    created["v"].clone()
}

pub fn integers_round_trip(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "ints", Field::integer());
    let mut c = s.client();
    for v in [i64::MIN, i64::MAX, 0, -1, 1, 1 << 53, (1 << 53) + 1] {
        assert_eq!(round_trip(&mut c, &json!(v)), json!(v), "{v}");
    }
    // Raw text, so no client-side float conversion can hide a problem.
    let r = c.raw_json("POST", "/v", br#"{"v": -9223372036854775808}"#);
    assert_eq!(expect_json(&r, 201)["v"].as_i64(), Some(i64::MIN));
    let r = c.raw_json("POST", "/v", br#"{"v": 9223372036854775807}"#);
    assert_eq!(expect_json(&r, 201)["v"].as_i64(), Some(i64::MAX));
    let r = c.raw_json("POST", "/v", br#"{"v": 2.0}"#);
    assert_eq!(expect_json(&r, 201)["v"].as_i64(), Some(2));
    let before = count(&mut c, "/v");
    for bad in [
        &b"{\"v\": 9223372036854775808}"[..],
        b"{\"v\": -9223372036854775809}",
        b"{\"v\": 99999999999999999999}",
        b"{\"v\": 1e400}",
        b"{\"v\": -1e400}",
        b"{\"v\": 1e300}",
        b"{\"v\": 1.5}",
        b"{\"v\": \"1\"}",
        b"{\"v\": true}",
        b"{\"v\": null}",
        b"{\"v\": [1]}",
    ] {
        expect_invalid(&c.raw_json("POST", "/v", bad), &["v"]);
    }
    assert_eq!(count(&mut c, "/v"), before);
}

pub fn floats_round_trip(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "floats", Field::float());
    let mut c = s.client();
    for v in [
        0.1,
        -1e308,
        1.5,
        0.0,
        -0.5,
        1e-300,
        f64::MAX,
        f64::MIN_POSITIVE,
        123_456.789,
    ] {
        let got = round_trip(&mut c, &json!(v));
        assert_eq!(got.as_f64(), Some(v), "{v}: {got}");
    }
    // An integer is a valid float.
    assert_eq!(round_trip(&mut c, &json!(3)).as_f64(), Some(3.0));
    let before = count(&mut c, "/v");
    for bad in [
        &b"{\"v\": 1e400}"[..],
        b"{\"v\": -1e400}",
        b"{\"v\": \"1.5\"}",
        b"{\"v\": \"NaN\"}",
        b"{\"v\": false}",
        b"{\"v\": null}",
    ] {
        expect_invalid(&c.raw_json("POST", "/v", bad), &["v"]);
    }
    for bad in [&b"{\"v\": NaN}"[..], b"{\"v\": Infinity}", b"{\"v\": .5}"] {
        problem(&c.raw_json("POST", "/v", bad), 400);
    }
    assert_eq!(count(&mut c, "/v"), before);
}

/// Strings that look like SQL, stored as plain data.
pub const SQL_LOOKING: &[&str] = &[
    "'); DROP TABLE person;--",
    "Robert'); DROP TABLE v; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "1; SELECT * FROM sqlite_master",
    "%_\\%",
    "$1 ? :1 @P1",
    "`v`",
    "[v]",
    "/* comment */ --",
    "\\'; --",
];

pub fn texts_round_trip_literally(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "texts", Field::text());
    let mut c = s.client();
    let big = "lorem ipsum é 😀 ".repeat(100 * 1024 / 20);
    assert!(big.len() >= 100 * 1024);
    let mut cases: Vec<String> = vec![
        String::new(),
        " ".into(),
        "héllo wörld — 日本語 — Привет — مرحبا".into(),
        "😀👍🏽👨‍👩‍👧‍👦🇫🇷".into(),
        "a\u{0}b".into(),
        "\u{0}".into(),
        "\u{0}\u{0}trailing\u{0}".into(),
        "tab\tnewline\ncr\r quote\" backslash\\ slash/".into(),
        "\u{1}\u{1f}\u{7f}\u{80}\u{ffff}\u{10ffff}".into(),
        "null".into(),
        big,
    ];
    cases.extend(SQL_LOOKING.iter().map(|s| (*s).to_owned()));
    for v in &cases {
        if v.contains('\0') && !tdb.stores_nul() {
            expect_invalid(&c.post("/v", &json!({ "v": v })), &["v"]);
            continue;
        }
        let got = round_trip(&mut c, &json!(v));
        assert_eq!(got.as_str(), Some(v.as_str()), "{:?}", v.get(..40));
    }
    // NUL written as a JSON escape by hand.
    let r = c.raw_json("POST", "/v", br#"{"v": "x\u0000y\u0000"}"#);
    if tdb.stores_nul() {
        let row = expect_json(&r, 201);
        assert_eq!(row["v"], json!("x\u{0}y\u{0}"));
        let g = c.get(&item("/v", &row));
        assert_eq!(expect_json(&g, 200)["v"], json!("x\u{0}y\u{0}"));
    } else {
        expect_invalid(&r, &["v"]);
    }
    // Surrogate pairs as escapes; a lone surrogate is not valid JSON text.
    let r = c.raw_json("POST", "/v", br#"{"v": "\ud83d\ude00"}"#);
    assert_eq!(expect_json(&r, 201)["v"], json!("😀"));
    problem(&c.raw_json("POST", "/v", br#"{"v": "\ud83d"}"#), 400);
    // The table survived every SQL-looking string, and holds each row once.
    let n = count(&mut c, "/v");
    if !tdb.stores_nul() {
        // The refused NUL values were not stored; nothing else was.
        cases.retain(|v| !v.contains('\0'));
        assert_eq!(n, cases.len() as u64 + 1);
        return;
    }
    assert_eq!(n, cases.len() as u64 + 2);
    let all = expect_json(&c.get("/v?page_size=1000"), 200);
    let stored: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["v"].as_str().unwrap())
        .collect();
    for sql in SQL_LOOKING {
        assert_eq!(stored.iter().filter(|s| *s == sql).count(), 1, "{sql}");
    }
    expect_invalid(&c.post("/v", &json!({"v": 1})), &["v"]);
    expect_invalid(&c.post("/v", &json!({"v": null})), &["v"]);
    expect_invalid(&c.post("/v", &json!({"v": ["a"]})), &["v"]);
}

pub fn booleans_datetimes_and_json_round_trip(tdb: &dyn TestDb) {
    let db = tdb.database("bdj");
    let bools = Model::new(&db.table("b")).field("v", Field::boolean());
    let dates = Model::new(&db.table("d")).field("v", Field::datetime());
    let docs = Model::new(&db.table("j")).field("v", Field::json());
    let s = Server::start(db, |app| {
        app.register("/b", bools)
            .register("/d", dates)
            .register("/j", docs)
    });
    let mut c = s.client();
    let mut at = |path: &str, v: &Json| -> Json {
        let r = c.post(path, &json!({ "v": v }));
        let created = expect_json(&r, 201);
        let g = c.get(&item(path, &created));
        assert_eq!(expect_json(&g, 200), created);
        created["v"].clone()
    };
    assert_eq!(at("/b", &json!(true)), json!(true));
    assert_eq!(at("/b", &json!(false)), json!(false));

    for (input, utc) in [
        (
            "2024-02-29T12:00:00.123+05:30",
            "2024-02-29T06:30:00.123000Z",
        ),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000000Z"),
        ("1999-12-31T23:59:59-01:00", "2000-01-01T00:59:59.000000Z"),
        (
            "2021-06-15T08:09:10.654321+00:00",
            "2021-06-15T08:09:10.654321Z",
        ),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
    ] {
        assert_eq!(at("/d", &json!(input)), json!(utc), "{input}");
    }

    for doc in [
        json!({"a": {"b": [1, 2, {"c": null}]}, "s": "😀", "t": true}),
        json!([1, "x", true, null, 1.5, {"k": []}]),
        json!([[[[[]]]]]),
        json!({}),
        json!([]),
        json!("a string"),
        json!(42),
        json!(-7.25),
        json!(false),
        json!({"sql": "'); DROP TABLE j;--", "nul": "\u{0}"}),
    ] {
        if doc.to_string().contains("\\u0000") && !tdb.stores_nul() {
            let mut other = s.client();
            expect_invalid(&other.post("/j", &json!({ "v": doc })), &["v"]);
            continue;
        }
        assert_eq!(at("/j", &doc), doc, "{doc}");
    }
    // A non-null JSON field rejects null, like every other type.
    let mut c = s.client();
    expect_invalid(&c.post("/j", &json!({"v": null})), &["v"]);
    for bad in [json!("yes"), json!(1), json!(null), json!([true])] {
        expect_invalid(&c.post("/b", &json!({ "v": bad })), &["v"]);
    }
    for bad in [
        json!("2024-02-30T00:00:00Z"),
        json!("2024-01-01"),
        json!("2024-01-01 00:00:00"),
        json!("yesterday"),
        json!(1_700_000_000),
        json!("2024-01-01T25:00:00Z"),
    ] {
        expect_invalid(&c.post("/d", &json!({ "v": bad })), &["v"]);
    }
    assert_eq!(count(&mut c, "/b"), 2);
    assert_eq!(count(&mut c, "/d"), 5);
}

pub fn nullable_fields_and_defaults(tdb: &dyn TestDb) {
    let db = tdb.database("defaults");
    let m = Model::new(&db.table("dflt"))
        .field("n_int", Field::integer().nullable())
        .field("n_float", Field::float().nullable())
        .field("n_text", Field::text().nullable())
        .field("n_bool", Field::boolean().nullable())
        .field("n_dt", Field::datetime().nullable())
        .field("n_json", Field::json().nullable())
        .field("d_int", Field::integer().default(7))
        .field("d_float", Field::float().default(0.5))
        .field("d_text", Field::text().default("dflt"))
        .field("d_bool", Field::boolean().default(true))
        .field(
            "d_dt",
            Field::datetime().default("2020-01-01T00:00:00+02:00"),
        )
        .field("d_json", Field::json().default(json!({"k": [1]})))
        .field("d_null", Field::text().nullable().default("x"));
    let s = Server::start(db, |app| app.register("/dflt", m));
    let mut c = s.client();
    let row = expect_json(&c.post("/dflt", &json!({})), 201);
    let id = id_of(&row);
    let defaults = json!({
        "id": id,
        "n_int": null, "n_float": null, "n_text": null, "n_bool": null,
        "n_dt": null, "n_json": null,
        "d_int": 7, "d_float": 0.5, "d_text": "dflt", "d_bool": true,
        "d_dt": "2019-12-31T22:00:00.000000Z", "d_json": {"k": [1]}, "d_null": "x",
    });
    assert_eq!(row, defaults);
    assert_eq!(expect_json(&c.get(&item("/dflt", &row)), 200), defaults);

    let full = json!({
        "n_int": 1, "n_float": 2.5, "n_text": "t", "n_bool": false,
        "n_dt": "2000-01-01T00:00:00.000000Z", "n_json": [1],
        "d_int": -7, "d_float": -0.5, "d_text": "", "d_bool": false,
        "d_dt": "2001-01-01T00:00:00.000000Z", "d_json": null, "d_null": null,
    });
    // d_json is non-null with a default: explicit null is rejected.
    expect_invalid(&c.post("/dflt", &full), &["d_json"]);
    let mut full = full;
    full["d_json"] = json!({"other": true});
    let r = c.post("/dflt", &full);
    let got = expect_json(&r, 201);
    let mut want = full.clone();
    want["id"] = got["id"].clone();
    assert_eq!(got, want);
    let path = item("/dflt", &got);

    // PATCH null clears each nullable field; PUT {} resets to defaults.
    let cleared = json!({"n_int": null, "n_float": null, "n_text": null,
                         "n_bool": null, "n_dt": null, "n_json": null});
    let p = expect_json(&c.patch(&path, &cleared), 200);
    for k in cleared.as_object().unwrap().keys() {
        assert_eq!(p[k], Json::Null, "{k}");
    }
    assert_eq!(p["d_int"], json!(-7));
    let p = expect_json(&c.put(&path, &json!({})), 200);
    let mut want = defaults.clone();
    want["id"] = got["id"].clone();
    assert_eq!(p, want);
    for k in ["d_int", "d_float", "d_text", "d_bool", "d_dt", "d_json"] {
        expect_invalid(&c.patch(&path, &json!({ k: null })), &[k]);
    }
    assert_eq!(expect_json(&c.get(&path), 200), want);
}

pub fn max_length_counts_characters(tdb: &dyn TestDb) {
    let s = single_field_server(tdb, "maxlen", Field::text().max_length(5));
    let mut c = s.client();
    for ok in ["", "abcde", "ééééé", "😀😀😀😀😀", "日本語日本"] {
        assert_eq!(round_trip(&mut c, &json!(ok)), json!(ok));
    }
    let row = expect_json(&c.post("/v", &json!({"v": "abc"})), 201);
    let path = item("/v", &row);
    for bad in ["abcdef", "éééééé", "😀😀😀😀😀😀", "      "] {
        expect_invalid(&c.post("/v", &json!({ "v": bad })), &["v"]);
        expect_invalid(&c.put(&path, &json!({ "v": bad })), &["v"]);
        expect_invalid(&c.patch(&path, &json!({ "v": bad })), &["v"]);
    }
    assert_eq!(count(&mut c, "/v"), 6);
    assert_eq!(expect_json(&c.get(&path), 200), row);
}

pub fn bad_input_is_a_clean_4xx_and_writes_nothing(tdb: &dyn TestDb) {
    let s = person_server(tdb, "badinput");
    let mut c = s.client();
    let a = create_person(&mut c, "Ada", "ada@x");
    let path = item("/person", &a);
    let deep_array = "[".repeat(10_000);
    let deep_object = format!("{{\"name\": {}", "{\"a\":".repeat(10_000));
    let deep_valid = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let in_field = format!(
        "{{\"name\": \"n\", \"email\": \"e\", \"age\": {}1{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let cases: Vec<(Vec<u8>, u16, &[&str])> = vec![
        (b"{\"name\": \"a\", \"email\": \"b\"".to_vec(), 400, &[]),
        (b"{\"name\": 'a'}".to_vec(), 400, &[]),
        (b"{\"name\": \"a\" \"email\": \"b\"}".to_vec(), 400, &[]),
        (b"{\"name\": \"unterminated}".to_vec(), 400, &[]),
        (b"{\"name\": \"bad escape \\q\"}".to_vec(), 400, &[]),
        (b"{\"name\": \"ctrl \x01 char\"}".to_vec(), 400, &[]),
        (
            b"{\"name\": \"a\", \"email\": \"b\", \"age\": 01}".to_vec(),
            400,
            &[],
        ),
        (b"{\"name\": 1, \"email\": \"b\"}".to_vec(), 422, &["name"]),
        (
            br#"{"name": "a", "email": "b", "email_verified": "true"}"#.to_vec(),
            422,
            &["email_verified"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 99999999999999999999}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 1e400}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": 5, "email": "b", "age": -1e400}"#.to_vec(),
            422,
            &["age", "name"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 9223372036854775808}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": 1.0000001}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": "b", "age": {"$gt": 1}}"#.to_vec(),
            422,
            &["age"],
        ),
        (
            br#"{"name": "a", "email": ["b", "c"]}"#.to_vec(),
            422,
            &["email"],
        ),
    ];
    for (body, status, fields) in &cases {
        for (m, p) in [
            ("POST", "/person"),
            ("PUT", path.as_str()),
            ("PATCH", path.as_str()),
        ] {
            let r = c.raw_json(m, p, body);
            if *status == 422 {
                expect_invalid(&r, fields);
            } else {
                problem(&r, *status);
            }
        }
    }
    // Pathological nesting: a 4xx, never a crash or a stack overflow.
    for body in [&deep_array, &deep_object, &deep_valid, &in_field] {
        for (m, p) in [("POST", "/person"), ("PATCH", path.as_str())] {
            let r = c.raw_json(m, p, body.as_bytes());
            assert!((400..500).contains(&r.status), "{m}: {r:?}");
            problem(&r, r.status);
        }
    }
    // Nothing was written, and the server still serves.
    assert_eq!(count(&mut c, "/person"), 1);
    assert_eq!(expect_json(&c.get(&path), 200), a);
    let mut fresh = s.client();
    create_person(&mut fresh, "Bob", "bob@x");
    assert_eq!(count(&mut fresh, "/person"), 2);
}

/// Fields the server sets: a creation time, a last-write time, and the
/// creating caller's `sub`; clients cannot send them.
pub fn server_set_fields_are_set_by_the_server(tdb: &dyn TestDb) {
    let db = tdb.database("serverset");
    let m = Model::new(&db.table("comment"))
        .field("body", Field::text())
        .field("author", Field::text().from_claim("sub"))
        .field("created_at", Field::datetime().set_on_create())
        .field("updated_at", Field::datetime().set_on_write());
    let s = Server::start(db, |app| app.register("/comment", m));
    let mut alice = s.client_as("alice");
    let mut bob = s.client_as("bob");
    let micros = |v: &Json| -> i64 {
        let t = v.as_str().unwrap_or_else(|| panic!("not a datetime: {v}"));
        lightapi::model::datetime::parse_rfc3339(t).unwrap_or_else(|e| panic!("{t}: {e}"))
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64
    };
    let before = now();
    let row = expect_json(&alice.post("/comment", &json!({"body": "hi"})), 201);
    let after = now();
    assert_eq!(row["author"], json!("alice"));
    let created = micros(&row["created_at"]);
    assert!((before..=after).contains(&created), "{row}");
    assert_eq!(row["updated_at"], row["created_at"]);
    let path = item("/comment", &row);
    assert_eq!(expect_json(&bob.get(&path), 200), row);
    // Clients cannot set them.
    for (field, value) in [
        ("author", json!("eve")),
        ("created_at", json!("2000-01-01T00:00:00Z")),
        ("updated_at", json!("2000-01-01T00:00:00Z")),
    ] {
        let mut body = json!({"body": "x"});
        body[field] = value.clone();
        expect_invalid(&alice.post("/comment", &body), &[field]);
        expect_invalid(&alice.patch(&path, &body), &[field]);
    }
    // A write sets the write time only; author and creation time stay.
    std::thread::sleep(Duration::from_millis(5));
    let patched = expect_json(&bob.patch(&path, &json!({"body": "edited"})), 200);
    assert_eq!(patched["author"], json!("alice"));
    assert_eq!(patched["created_at"], row["created_at"]);
    assert!(micros(&patched["updated_at"]) > created, "{patched}");
    std::thread::sleep(Duration::from_millis(5));
    let put = expect_json(&bob.put(&path, &json!({"body": "replaced"})), 200);
    assert_eq!(put["author"], json!("alice"));
    assert_eq!(put["created_at"], row["created_at"]);
    assert!(
        micros(&put["updated_at"]) > micros(&patched["updated_at"]),
        "{put}"
    );
    assert_eq!(expect_json(&alice.get(&path), 200), put);
    // Without a token there is no claim to set from.
    expect(&s.anon().post("/comment", &json!({"body": "x"})), 401);
}
