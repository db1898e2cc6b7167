//! Field constraints (choices, bounds, lengths, patterns) and the uuid,
//! date and decimal types: the 422 listing every violation, exact round
//! trips, filters and ordering, and the database's own `CHECK`s.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use lightapi::backend::write_with;

use super::*;

/// A SKU: a pattern, or without the `pattern` feature the one valid SKU
/// the cases send.
fn sku() -> Field {
    #[cfg(feature = "pattern")]
    let f = Field::text().pattern("^[A-Z]{3}-[0-9]{4}$");
    #[cfg(not(feature = "pattern"))]
    let f = Field::text().choices(&["ABC-1234"]);
    f
}

/// A task tracker with one field per constraint and new type.
fn task(db: &TestDatabase) -> Model {
    Model::new(&db.table("task"))
        .field(
            "status",
            Field::text()
                .choices(&["todo", "doing", "done"])
                .default("todo"),
        )
        .field("estimate", Field::integer().min(0).max(100))
        .field("ratio", Field::float().min(0).max(1).default(0.5))
        .field("title", Field::text().min_length(2).max_length(40))
        .field("sku", sku())
        .field("code", Field::uuid())
        .field("due", Field::date())
        .field("price", Field::decimal(19, 2).min(0))
}

fn valid_task() -> Json {
    json!({
        "status": "doing", "estimate": 0, "ratio": 1, "title": "ab",
        "sku": "ABC-1234", "code": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
        "due": "2024-02-29", "price": "12345678901234567.89"
    })
}

pub fn constraints_list_every_violated_field(tdb: &dyn TestDb) {
    let db = tdb.database("constraints");
    let m = task(&db);
    let s = Server::start(db, |app| app.register("/task", m));
    let mut c = s.client();
    let bad = json!({
        "status": "blocked", "estimate": -1, "ratio": 1.5, "title": "a",
        "sku": "abc-1234", "code": "not-a-uuid", "due": "2023-02-29", "price": "-0.01"
    });
    let r = c.post("/task", &bad);
    expect_invalid(
        &r,
        &[
            "status", "estimate", "ratio", "title", "sku", "code", "due", "price",
        ],
    );
    let doc = r.json();
    let message = |field: &str| {
        doc["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(message("status"), "must be one of: todo, doing, done");
    assert_eq!(message("estimate"), "must be at least 0");
    assert_eq!(message("ratio"), "must be at most 1");
    assert_eq!(message("title"), "text shorter than 2 characters");
    assert_eq!(message("price"), "must be at least 0.00");
    #[cfg(feature = "pattern")]
    assert!(message("sku").contains("pattern"), "{doc}");
    // Too many digits, the upper bound, and a decimal sent as a number
    // (which a JSON parser may already have rounded).
    let mut over = valid_task();
    over["estimate"] = json!(101);
    over["price"] = json!("123456789012345678.9");
    expect_invalid(&c.post("/task", &over), &["estimate", "price"]);
    over = valid_task();
    over["price"] = json!("1.001");
    over["title"] = json!("x".repeat(41));
    expect_invalid(&c.post("/task", &over), &["price", "title"]);
    over = valid_task();
    over["price"] = json!(1.5);
    expect_invalid(&c.post("/task", &over), &["price"]);
    assert_eq!(count(&mut c, "/task"), 0);
    // PATCH and PUT are held to the same rules.
    let row = expect_json(&c.post("/task", &valid_task()), 201);
    let path = item("/task", &row);
    expect_invalid(&c.patch(&path, &json!({"status": "blocked"})), &["status"]);
    let mut put = valid_task();
    put["estimate"] = json!(1000);
    expect_invalid(&c.put(&path, &put), &["estimate"]);
    expect_json(&c.patch(&path, &json!({"status": "done"})), 200);
}

pub fn uuid_date_and_decimal_round_trip_exactly(tdb: &dyn TestDb) {
    let db = tdb.database("newtypes");
    let m = task(&db);
    let s = Server::start(db, |app| app.register("/task", m));
    let mut c = s.client();
    let row = expect_json(&c.post("/task", &valid_task()), 201);
    assert_eq!(row["code"], json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    assert_eq!(row["due"], json!("2024-02-29"));
    assert_eq!(row["price"], json!("12345678901234567.89"));
    assert_eq!(row["status"], json!("doing"));
    let got = expect_json(&c.get(&item("/task", &row)), 200);
    assert_eq!(got, row);
    // Decimals come back with exactly the scale's digits, never through
    // a float.
    for (sent, stored) in [
        ("1.5", "1.50"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("007", "7.00"),
        ("99999999999999999.99", "99999999999999999.99"),
        ("0.10", "0.10"),
    ] {
        let mut t = valid_task();
        t["price"] = json!(sent);
        let r = expect_json(&c.post("/task", &t), 201);
        assert_eq!(r["price"], json!(stored), "{sent}");
        let g = expect_json(&c.get(&item("/task", &r)), 200);
        assert_eq!(g["price"], json!(stored), "{sent}");
    }
    // Raw bytes: the decimal is a JSON string on the wire.
    let r = c.get(&item("/task", &row));
    assert!(
        r.text().contains(r#""price":"12345678901234567.89""#),
        "{}",
        r.text()
    );
}

/// Prices and dates for the filter and ordering case, in id order.
const PRICED: [(&str, &str); 5] = [
    ("9.50", "2024-03-01"),
    ("10.00", "1999-12-31"),
    ("12345678901234567.89", "2024-02-29"),
    ("12345678901234567.88", "2000-01-01"),
    ("100.00", "2024-10-01"),
];

pub fn decimal_and_date_filters_and_ordering(tdb: &dyn TestDb) {
    let db = tdb.database("decfilter");
    let table = db.table("item");
    let m = Model::new(&table)
        .field("price", Field::decimal(19, 2).nullable())
        .field("day", Field::date().nullable())
        .into_resource()
        .filter_fields(&["price", "day"])
        .ordering_fields(&["price", "day"]);
    let s = Server::start(db, |app| app.register("/item", m));
    let mut c = s.client();
    for (price, day) in PRICED {
        expect_json(&c.post("/item", &json!({"price": price, "day": day})), 201);
    }
    let prices = |c: &mut Client, query: &str| -> Vec<String> {
        let r = c.get(&format!("/item?{query}"));
        expect_json(&r, 200)["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["price"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        prices(&mut c, "ordering=price"),
        [
            "9.50",
            "10.00",
            "100.00",
            "12345678901234567.88",
            "12345678901234567.89"
        ]
    );
    assert_eq!(
        prices(&mut c, "price__gte=10&ordering=-price"),
        [
            "12345678901234567.89",
            "12345678901234567.88",
            "100.00",
            "10.00"
        ]
    );
    assert_eq!(
        prices(&mut c, "price__gt=12345678901234567.88"),
        ["12345678901234567.89"]
    );
    assert_eq!(prices(&mut c, "price=9.5"), ["9.50"]);
    assert_eq!(
        prices(&mut c, "price__in=10,100.0&ordering=price"),
        ["10.00", "100.00"]
    );
    assert_eq!(
        prices(&mut c, "day__lt=2024-01-01&ordering=day"),
        ["10.00", "12345678901234567.88"]
    );
    assert_eq!(
        prices(&mut c, "ordering=-day"),
        [
            "100.00",
            "9.50",
            "12345678901234567.89",
            "12345678901234567.88",
            "10.00"
        ]
    );
    // Keyset pages in decimal order, one boundary between two values a
    // double cannot tell apart.
    let second_page = |c: &mut Client, size: usize| -> Json {
        let first = c.get(&format!("/item?ordering=price&cursor=&page_size={size}"));
        let next = expect_json(&first, 200)["next"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = next
            .split_once("/item")
            .map(|(_, p)| format!("/item{p}"))
            .unwrap();
        expect_json(&c.get(&path), 200)
    };
    let second = second_page(&mut c, 2);
    assert_eq!(second["results"][0]["price"], json!("100.00"), "{second}");
    let second = second_page(&mut c, 4);
    assert_eq!(
        second["results"],
        json!([{"id": 3, "price": "12345678901234567.89", "day": "2024-02-29"}]),
        "{second}"
    );
    for bad in [
        "price__gte=abc",
        "price=1.001",
        "day=2023-02-29",
        "day__lt=yesterday",
    ] {
        problem(&c.get(&format!("/item?{bad}")), 400);
    }
}

/// Inserts one column's value with the backend's own SQL, behind the
/// API's back: `{"column": name, "value": v}`.
struct RawInsert {
    table: String,
}

impl Endpoint for RawInsert {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Post])
    }

    fn post(&self, req: &Request) -> HandlerResult {
        let body: Json = serde_json::from_slice(req.body()).unwrap();
        let db = req.backend().unwrap();
        let d = db.dialect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            d.quote(&self.table),
            d.quote(body["column"].as_str().unwrap()),
            d.placeholder(1)
        );
        let value = match &body["value"] {
            Json::String(s) => Value::Text(s.clone()),
            Json::Number(n) if n.is_i64() => Value::Integer(n.as_i64().unwrap()),
            Json::Number(n) => Value::Float(n.as_f64().unwrap()),
            other => panic!("unexpected {other}"),
        };
        write_with(&**db, move |conn| conn.execute(&sql, &[value]))?;
        Ok(json!({"inserted": true}).into())
    }
}

pub fn the_database_enforces_the_constraints_itself(tdb: &dyn TestDb) {
    let db = tdb.database("checks");
    let table = db.table("checked");
    let m = Model::new(&table)
        .field(
            "status",
            Field::text().nullable().choices(&["todo", "done"]),
        )
        .field("estimate", Field::integer().nullable().min(0).max(100))
        .field(
            "title",
            Field::text().nullable().min_length(2).max_length(40),
        )
        .field(
            "price",
            Field::decimal(10, 2).nullable().min(0).max("999.99"),
        )
        .field("ratio", Field::float().nullable().max(1));
    let s = Server::start(db, |app| {
        app.register("/checked", m)
            .register("/raw", RawInsert { table })
    });
    let mut c = s.client();
    let raw = |c: &mut Client, column: &str, value: Json| {
        c.post("/raw", &json!({"column": column, "value": value}))
            .status
    };
    // What the constraints allow goes in: the endpoint itself works.
    for (column, value) in [
        ("status", json!("done")),
        ("estimate", json!(100)),
        ("title", json!("ab")),
        ("price", json!("999.99")),
        ("price", json!("0.00")),
        ("ratio", json!(1.0)),
    ] {
        assert_eq!(raw(&mut c, column, value.clone()), 200, "{column} {value}");
    }
    let before = count(&mut c, "/checked");
    assert_eq!(before, 6);
    for (column, value) in [
        ("status", json!("blocked")),
        ("estimate", json!(-1)),
        ("estimate", json!(101)),
        ("title", json!("a")),
        ("title", json!("x".repeat(41))),
        ("price", json!("-0.01")),
        ("price", json!("1000.00")),
        ("ratio", json!(1.5)),
    ] {
        let status = raw(&mut c, column, value.clone());
        assert!(status >= 400, "{column} {value}: {status}");
    }
    assert_eq!(count(&mut c, "/checked"), before);
    // Texts the API accepts are never refused by the table's checks: two
    // characters, one of them NUL (SQLite's length() stops at a NUL).
    if tdb.stores_nul() {
        let r = c.post("/checked", &json!({"title": "\u{0}é"}));
        assert_eq!(expect_json(&r, 201)["title"], json!("\u{0}é"));
    }
    let r = c.post("/checked", &json!({"title": "é".repeat(40)}));
    expect_json(&r, 201);
}
