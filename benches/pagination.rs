//! Keyset vs page-number pagination on 500,000 rows (SQLite): the cost of a
//! keyset page does not grow with its position; an `OFFSET` page does.
//!
//! `cargo bench --bench pagination` (set `LIGHTAPI_BENCH_ROWS` to change the
//! table size).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use lightapi::__private::backend::sql::{Keyset, ListQuery, Order};
use lightapi::__private::backend::{connect, PoolOptions};
use lightapi::__private::crud::etag::EtagKey;
use lightapi::__private::crud::{ops, schema};
use lightapi::backend::{write_with, Value};
use lightapi::model::{Field, Key, Model};

/// The key ETags are computed under here (the rows' ETags are not compared
/// with a server's).
fn etag_key() -> EtagKey {
    EtagKey::derive(b"lightapi bench etag key 0123456789")
}

const PAGE: u64 = 100;

fn time(label: &str, mut f: impl FnMut()) -> Duration {
    f();
    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    let per = start.elapsed() / runs;
    println!("{label:<44} {:>10.1} µs/page", per.as_secs_f64() * 1e6);
    per
}

fn main() {
    let rows: i64 = std::env::var("LIGHTAPI_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let dir = std::env::temp_dir().join(format!("lightapi-pagination-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let db = connect(&url, &PoolOptions::default()).expect("database");
    let model = Model::new("item")
        .field("name", Field::text())
        .field("price", Field::float().index());
    schema::ensure_table(&*db, &model).expect("table");
    let started = Instant::now();
    write_with(&*db, move |c| {
        for i in 0..rows {
            c.execute(
                "INSERT INTO \"item\" (\"name\", \"price\") VALUES (?, ?)",
                &[
                    Value::Text(format!("item {i}")),
                    Value::Float((i % 1000) as f64),
                ],
            )?;
        }
        Ok(())
    })
    .expect("fill");
    println!(
        "filled {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let deep_page = (rows as u64 / PAGE).saturating_sub(1).min(5_000);
    let by_offset = |page: u64| ListQuery {
        limit: Some(PAGE),
        offset: page * PAGE,
        ..ListQuery::default()
    };
    let first = time("page-number, page 1 (id order)", || {
        black_box(ops::list(&*db, &etag_key(), &model, &by_offset(0), None).expect("list"));
    });
    let deep = time(&format!("page-number, page {deep_page} (id order)"), || {
        black_box(ops::list(&*db, &etag_key(), &model, &by_offset(deep_page), None).expect("list"));
    });
    let after = |id: i64| ListQuery {
        limit: Some(PAGE),
        after: Some(Keyset {
            values: vec![],
            id: Key::Int(id),
        }),
        ..ListQuery::default()
    };
    let k_first = time("keyset, first page (id order)", || {
        black_box(
            ops::list(
                &*db,
                &etag_key(),
                &model,
                &ListQuery {
                    limit: Some(PAGE),
                    ..ListQuery::default()
                },
                None,
            )
            .expect("list"),
        );
    });
    let deep_id = (deep_page * PAGE) as i64;
    let k_deep = time(&format!("keyset, page {deep_page} (id order)"), || {
        black_box(ops::list(&*db, &etag_key(), &model, &after(deep_id), None).expect("list"));
    });
    let by_price = vec![Order {
        field: "price".into(),
        descending: false,
        nulls: Default::default(),
    }];
    let price_after = |price: f64, id: i64| ListQuery {
        order: by_price.clone(),
        limit: Some(PAGE),
        after: Some(Keyset {
            values: vec![Value::Float(price)],
            id: Key::Int(id),
        }),
        ..ListQuery::default()
    };
    let kp_first = time("keyset, first page (price order)", || {
        black_box(ops::list(&*db, &etag_key(), &model, &price_after(-1.0, 0), None).expect("list"));
    });
    let kp_deep = time(&format!("keyset, page {deep_page} (price order)"), || {
        black_box(
            ops::list(
                &*db,
                &etag_key(),
                &model,
                &price_after(500.0, 250_000),
                None,
            )
            .expect("list"),
        );
    });
    println!();
    println!(
        "deep/first ratio: page-number {:.1}x, keyset(id) {:.1}x, keyset(price) {:.1}x",
        deep.as_secs_f64() / first.as_secs_f64(),
        k_deep.as_secs_f64() / k_first.as_secs_f64(),
        kp_deep.as_secs_f64() / kp_first.as_secs_f64()
    );
    db.close();
    let _ = std::fs::remove_dir_all(&dir);
}
