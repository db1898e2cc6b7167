//! Query features of `GET /collection` over HTTP: filters with
//! every operator, search, ordering, whitelists, page and keyset pagination,
//! cursor tampering and cursor consistency under concurrent writes.
//!
//! Every scenario is a function of a database URL; the SQLite wiring is at
//! the bottom (`database_url` is the seam for other backends).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lightapi::{Field, Model};
use serde_json::{json, Value};

use crate::support::api::{enc, ids, Api, ApiClient};
use crate::support::unique;

/// The item model with every query feature on, at `/{name}`.
fn item_api(url: &str) -> (Api, String) {
    let name = unique("item");
    let path = format!("/{name}");
    let model = Model::new(&name)
        .field("title", Field::text().max_length(100))
        .field("price", Field::float())
        .field("qty", Field::integer().nullable())
        .field("active", Field::boolean().default(true))
        .field("created", Field::datetime().nullable())
        .field("secret", Field::text().nullable().write_only())
        .into_resource()
        .filter_fields(&["title", "price", "qty", "active", "created"])
        .search_fields(&["title"])
        .ordering_fields(&["title", "price", "qty"])
        .page_size(5, 20);
    let api = Api::start(url, |app| app.register(&path, model));
    (api, path)
}

fn seed(api: &Api, path: &str, rows: &[Value]) -> Vec<i64> {
    rows.iter()
        .map(|r| api.create(path, r)["id"].as_i64().unwrap())
        .collect()
}

/// All ids a query selects (one large page).
fn select(api: &Api, path: &str, query: &str) -> BTreeSet<i64> {
    let page = api.get_ok(&format!("{path}?page_size=20&{query}"));
    ids(&page).into_iter().collect()
}

fn operators_with_valid_and_invalid_values(url: &str) {
    let (api, path) = item_api(url);
    let ids = seed(
        &api,
        &path,
        &[
            json!({"title": "a", "price": 1.5, "qty": 1, "active": true, "created": "2024-01-01T00:00:00Z"}),
            json!({"title": "b", "price": 2.5, "qty": 2, "active": false, "created": "2024-06-01T12:00:00+02:00"}),
            json!({"title": "c", "price": 3.5, "qty": null, "active": true, "created": null}),
            json!({"title": "d", "price": 4.5, "qty": 4, "active": false}),
        ],
    );
    let set = |xs: &[usize]| xs.iter().map(|i| ids[*i]).collect::<BTreeSet<i64>>();
    let cases: &[(&str, &[usize])] = &[
        ("title=b", &[1]),
        ("title__eq=b", &[1]),
        ("title__ne=b", &[0, 2, 3]),
        ("price__lt=2.5", &[0]),
        ("price__lte=2.5", &[0, 1]),
        ("price__gt=2.5", &[2, 3]),
        ("price__gte=2.5", &[1, 2, 3]),
        ("price__gte=2&price__lt=4", &[1, 2]),
        ("qty__in=1,4", &[0, 3]),
        ("qty__in=2", &[1]),
        ("title__in=a,d,zz", &[0, 3]),
        ("qty__isnull=true", &[2]),
        ("qty__isnull=false", &[0, 1, 3]),
        ("qty__isnull=1", &[2]),
        ("qty__gt=1", &[1, 3]),
        ("active=true", &[0, 2]),
        ("active=0", &[1, 3]),
        ("created__gte=2024-03-01T00:00:00Z", &[1]),
        // The same instant in another offset.
        ("created=2024-06-01T10:00:00Z", &[1]),
        ("created__isnull=true", &[2, 3]),
    ];
    for (query, want) in cases {
        assert_eq!(select(&api, &path, query), set(want), "{query}");
    }
    assert_eq!(
        select(&api, &path, &format!("id__in={},{}", ids[0], ids[3])),
        set(&[0, 3])
    );
    assert_eq!(
        select(&api, &path, &format!("id__gt={}", ids[1])),
        set(&[2, 3])
    );
    // Any JSON number that is exactly an integer, as the OpenAPI document's
    // `integer` allows (and as bodies accept).
    assert_eq!(
        select(&api, &path, &format!("id__in={}.0,{}e0", ids[0], ids[3])),
        set(&[0, 3])
    );
    assert_eq!(select(&api, &path, "qty=2.0"), set(&[1]));
    // An empty list of numbers is a cleared selection: no filter.
    assert_eq!(select(&api, &path, "qty__in="), set(&[0, 1, 2, 3]));
    let bad = [
        ("price__gte=cheap", "price__gte"),
        ("price=NaN", "price"),
        ("price__lt=inf", "price__lt"),
        ("qty=1.5", "qty"),
        ("qty__lte=99999999999999999999", "qty__lte"),
        ("qty__in=1,x", "qty__in"),
        (&format!("qty__in={}", vec!["1"; 101].join(",")), "qty__in"),
        ("qty__isnull=maybe", "qty__isnull"),
        ("active=yes", "active"),
        ("created__gt=yesterday", "created__gt"),
        ("created=2024-13-01T00:00:00Z", "created"),
        ("qty__like=1", "qty__like"),
        ("id=abc", "id"),
        ("id__gte=1.5", "id__gte"),
        ("id__gte=1e-3", "id__gte"),
    ];
    for (query, param) in bad {
        api.assert_rejects(&format!("{path}?{query}"), param);
    }
}

fn search_treats_wildcards_and_quotes_literally(url: &str) {
    let (api, path) = item_api(url);
    let titles = [
        "100% cotton",
        "100 cotton",
        "a_b",
        "axb",
        "O'Brien",
        "say \"hi\"",
        "MiXeD Case",
        "back\\slash",
        "naïve ÉCOLE",
    ];
    let rows: Vec<Value> = titles
        .iter()
        .map(|t| json!({"title": t, "price": 1.0}))
        .collect();
    let ids = seed(&api, &path, &rows);
    let found = |term: &str| -> Vec<&str> {
        let got = select(&api, &path, &format!("search={}", enc(term)));
        titles
            .iter()
            .zip(&ids)
            .filter(|(_, id)| got.contains(id))
            .map(|(t, _)| *t)
            .collect()
    };
    assert_eq!(found("%"), ["100% cotton"]);
    assert_eq!(found("0%"), ["100% cotton"]);
    assert_eq!(found("_"), ["a_b"]);
    assert_eq!(found("a_b"), ["a_b"]);
    assert_eq!(found("'"), ["O'Brien"]);
    assert_eq!(found("o'brien"), ["O'Brien"]);
    assert_eq!(found("\"hi\""), ["say \"hi\""]);
    assert_eq!(found("\\"), ["back\\slash"]);
    assert_eq!(found("mixed case"), ["MiXeD Case"]);
    // Case folds beyond ASCII on every backend (SQLite's own lower() does
    // not: lightapi replaces it on its connections).
    assert_eq!(found("école"), ["naïve ÉCOLE"]);
    assert_eq!(found("NAÏVE"), ["naïve ÉCOLE"]);
    assert_eq!(found("'; DROP TABLE x; --"), Vec::<&str>::new());
    assert_eq!(found("cotton"), ["100% cotton", "100 cotton"]);
    // Empty search: no filter.
    assert_eq!(select(&api, &path, "search=").len(), titles.len());
    // Search combines with filters.
    assert_eq!(
        select(&api, &path, "search=cotton&title__ne=100%25%20cotton").len(),
        1
    );
}

/// Walks `next` links from `first`; the ids of every page.
fn walk(api: &Api, first: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut link = Some(first.to_string());
    while let Some(l) = link {
        let page = api.get_ok(&l);
        pages.push(ids(&page));
        link = page["next"].as_str().map(str::to_string);
        assert!(pages.len() < 100, "runaway pagination");
    }
    pages
}

fn ordering_is_stable_across_pages(url: &str) {
    let (api, path) = item_api(url);
    // Many ties on price and title, some null quantities.
    let rows: Vec<Value> = (0..17)
        .map(|i| {
            let title = ["x", "y"][i % 2];
            let qty = if i % 4 == 0 {
                Value::Null
            } else {
                json!(i % 5)
            };
            json!({"title": title, "price": (i % 3) as f64, "qty": qty})
        })
        .collect();
    let ids = seed(&api, &path, &rows);
    let all = api.get_ok(&format!("{path}?page_size=20"));
    let by_id: HashMap<i64, Value> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r.clone()))
        .collect();
    assert_eq!(by_id.len(), ids.len());
    for ordering in [
        "price",
        "-price",
        "title,-price",
        "-title,price,-id",
        "qty",
        "-qty",
        "qty.nullslast",
        "-qty.nullsfirst",
        "qty.nullsfirst",
        "-qty.nullslast",
        "title,qty.nullslast,-price",
        "-id",
    ] {
        // Expected: sort by the keys (NULL the smallest value unless
        // placed first or last), then id ascending unless given.
        let mut want = ids.clone();
        want.sort_by(|a, b| {
            for key in ordering.split(',') {
                let (key, desc) = key.strip_prefix('-').map_or((key, false), |f| (f, true));
                let (f, nulls) = key.split_once('.').unwrap_or((key, ""));
                let (x, y) = (&by_id[a][f], &by_id[b][f]);
                let ord = match (nulls, x.is_null(), y.is_null()) {
                    ("nullsfirst", true, false) | ("nullslast", false, true) => {
                        std::cmp::Ordering::Less
                    }
                    ("nullsfirst", false, true) | ("nullslast", true, false) => {
                        std::cmp::Ordering::Greater
                    }
                    _ => {
                        let ord = cmp_json(x, y);
                        if desc {
                            ord.reverse()
                        } else {
                            ord
                        }
                    }
                };
                if ord.is_ne() {
                    return ord;
                }
            }
            a.cmp(b)
        });
        for style in ["page=1", "cursor="] {
            let pages = walk(
                &api,
                &format!("{path}?ordering={ordering}&page_size=4&{style}"),
            );
            assert!(pages.iter().all(|p| p.len() <= 4));
            assert_eq!(pages.concat(), want, "{ordering} {style}");
        }
        // Cursor pages walked back give the same pages.
        let first = format!("{path}?ordering={ordering}&page_size=3&cursor=");
        let mut forward = Vec::new();
        let mut link = Some(first);
        let mut last = Value::Null;
        while let Some(l) = link {
            last = api.get_ok(&l);
            forward.push(crate::support::api::ids(&last));
            link = last["next"].as_str().map(str::to_string);
        }
        let mut back = vec![crate::support::api::ids(&last)];
        let mut link = last["previous"].as_str().map(str::to_string);
        while let Some(l) = link {
            let page = api.get_ok(&l);
            back.push(crate::support::api::ids(&page));
            link = page["previous"].as_str().map(str::to_string);
        }
        back.reverse();
        assert_eq!(back, forward, "{ordering} backwards");
    }
    // A modifier other than the two is a 400 naming the parameter.
    let r = api.get(&format!("{path}?ordering=qty.nullsmiddle"));
    assert_eq!(r.status, 400, "{r:?}");
}

fn cmp_json(x: &Value, y: &Value) -> std::cmp::Ordering {
    match (x, y) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().unwrap().total_cmp(&b.as_f64().unwrap()),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Less,
        (_, Value::Null) => std::cmp::Ordering::Greater,
        _ => panic!("cannot compare {x} and {y}"),
    }
}

fn lists_are_paginated_by_default(url: &str) {
    let (api, path) = item_api(url);
    seed(&api, &path, &vec![json!({"title": "t", "price": 1.0}); 12]);
    let page = api.get_ok(&path);
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        (page["count"].clone(), page["pages"].clone()),
        (json!(12), json!(3))
    );
    assert!(page["previous"].is_null());
    let next = page["next"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{path}?")) && next.contains("page=2"),
        "{next}"
    );
    let last = api.get_ok(&format!("{path}?page=3"));
    assert_eq!(ids(&last).len(), 2);
    assert!(last["next"].is_null());
    assert!(last["previous"].as_str().unwrap().contains("page=2"));
    // Past the end: empty, with a way back.
    let past = api.get_ok(&format!("{path}?page=9"));
    assert_eq!(ids(&past), Vec::<i64>::new());
    assert!(past["previous"].as_str().unwrap().contains("page=3"));
    let big = api.get_ok(&format!("{path}?page_size=20"));
    assert_eq!(ids(&big).len(), 12);
    let keyset = api.get_ok(&format!("{path}?cursor="));
    assert_eq!(ids(&keyset).len(), 5);
    assert_eq!(
        keyset.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["next", "previous", "results"]
    );
}

fn whitelist_rejections(url: &str) {
    let (api, path) = item_api(url);
    // Cleared selections (`fields=`, `ordering=`) are the defaults.
    let cleared = api.get_ok(&format!("{path}?fields=&ordering="));
    assert!(cleared["results"].is_array(), "{cleared}");
    for (query, param) in [
        ("nope=1", "nope"),
        ("secret=x", "secret"),
        ("secret__isnull=true", "secret__isnull"),
        ("ordering=secret", "ordering"),
        ("ordering=active", "ordering"),
        ("ordering=price,-price", "ordering"),
        ("ordering=id,nope", "ordering"),
        ("ordering=,", "ordering"),
        ("fields=secret", "fields"),
        ("fields=nope", "fields"),
        ("fields=id,,title", "fields"),
        ("page_size=21", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=-1", "page_size"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page=99999999999999999999", "page"),
        ("page=1&page=2", "page"),
        ("page=1&cursor=", "cursor"),
        ("search=a&search=b", "search"),
    ] {
        api.assert_rejects(&format!("{path}?{query}"), param);
    }
    // The largest page documented is accepted.
    let most = lightapi::__private::crud::query::max_page(20);
    api.get_ok(&format!("{path}?page={most}"));
    api.assert_rejects(&format!("{path}?page={}", most + 1), "page");
    // A resource without search fields refuses `search`.
    let name = unique("plain");
    let plain = Model::new(&name).field("title", Field::text());
    let api2 = Api::start(url, |app| app.register(&format!("/{name}"), plain));
    api2.assert_rejects(&format!("/{name}?search=x"), "search");
    api2.assert_rejects(&format!("/{name}?title=x"), "title");
    api2.assert_rejects(&format!("/{name}?ordering=title"), "ordering");
    api2.get_ok(&format!("/{name}?ordering=-id&id__gte=1"));
}

fn tampered_cursors_are_rejected(url: &str) {
    let (api, path) = item_api(url);
    seed(
        &api,
        &path,
        &vec![json!({"title": "t", "price": 1234.5}); 4],
    );
    let page = api.get_ok(&format!("{path}?cursor=&page_size=2&ordering=price"));
    let next = page["next"].as_str().unwrap().to_string();
    let token = next
        .split("cursor=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    // The genuine cursor works.
    assert_eq!(ids(&api.get_ok(&next)).len(), 2);
    let (body, tag) = token.split_once('.').unwrap();
    let flip = |s: &str, i: usize| {
        let mut b = s.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let forged_payload = {
        use std::fmt::Write as _;
        let json = br#"{"b":false,"i":1,"o":"price,id","v":[0.0,1]}"#;
        let mut s = String::new();
        for chunk in json.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
            for k in 0..=chunk.len() {
                let c = (n >> (18 - 6 * k)) & 63;
                let _ = s.write_char(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[c as usize]
                        as char,
                );
            }
        }
        s
    };
    for bad in [
        format!("{}.{tag}", flip(body, 3)),
        format!("{body}.{}", flip(tag, 0)),
        format!("{forged_payload}.{tag}"),
        format!("{body}.{}", &tag[..tag.len() - 1]),
        body.to_string(),
        "garbage".to_string(),
        "a.b".to_string(),
        "x".repeat(5000),
    ] {
        api.assert_rejects(
            &format!("{path}?cursor={}&ordering=price", enc(&bad)),
            "cursor",
        );
    }
    // A cursor is opaque: its body shows none of the ordering values.
    {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for plain in ["1234.5", "1234", "price", "\"v\":", "\"i\":"] {
            assert!(!text.contains(plain), "{plain} readable in {text:?}");
        }
    }
    // A cursor is bound to its ordering.
    api.assert_rejects(&format!("{path}?cursor={token}&ordering=-price"), "cursor");
    api.assert_rejects(&format!("{path}?cursor={token}&ordering=title"), "cursor");
    api.assert_rejects(&format!("{path}?cursor={token}"), "cursor");
    // And to its model: another model with the same fields, ordering and
    // secret refuses it, and takes its own.
    let (other, other_path) = item_api(url);
    seed(
        &other,
        &other_path,
        &vec![json!({"title": "t", "price": 1234.5}); 4],
    );
    other.assert_rejects(
        &format!("{other_path}?cursor={token}&ordering=price"),
        "cursor",
    );
    let own = other.get_ok(&format!("{other_path}?cursor=&page_size=2&ordering=price"));
    assert_eq!(ids(&other.get_ok(own["next"].as_str().unwrap())).len(), 2);
}

/// Pages through `first` with `next` links while rows are inserted and
/// deleted; every row of `original` must be seen exactly once.
fn page_under_writes(api: &ApiClient, path: &str, first: &str, original: &[i64]) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let writer = {
        let (api, path, stop) = (api.clone(), path.to_string(), Arc::clone(&stop));
        let started = Arc::clone(&started);
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let id = api.create(
                    &path,
                    &json!({"title": format!("w{n}"), "price": f64::from(n % 7)}),
                )["id"]
                    .as_i64()
                    .unwrap();
                if n % 2 == 0 {
                    assert_eq!(api.delete(&format!("{path}/{id}")).status, 204);
                }
                n += 1;
                started.store(true, Ordering::Release);
            }
            n
        })
    };
    // Paging starts once the concurrent writer has written, however
    // loaded the machine is.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !started.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut seen: HashMap<i64, usize> = HashMap::new();
    let mut link = Some(first.to_string());
    let mut pages = 0;
    let mut mine: Vec<i64> = Vec::new();
    while let Some(l) = link {
        let page = api.get_ok(&l);
        for id in ids(&page) {
            *seen.entry(id).or_default() += 1;
        }
        // Deterministic interleaving too: insert one, delete an earlier one.
        let id = api.create(path, &json!({"title": "m", "price": f64::from(pages % 7)}))["id"]
            .as_i64()
            .unwrap();
        mine.push(id);
        if mine.len() > 1 {
            let old = mine.remove(0);
            assert_eq!(api.delete(&format!("{path}/{old}")).status, 204);
        }
        link = page["next"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 200, "runaway pagination");
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(writes > 0 && pages > 3, "writes {writes}, pages {pages}");
    for id in original {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "row {id} seen {:?} times ({first})",
            seen.get(id)
        );
    }
    assert!(seen.values().all(|n| *n == 1), "a row repeated: {seen:?}");
}

fn cursor_pages_are_consistent_under_concurrent_writes(url: &str) {
    let (api, path) = item_api(url);
    let rows: Vec<Value> = (0..30)
        .map(|i| json!({"title": format!("o{i:02}"), "price": f64::from(i % 7)}))
        .collect();
    let original = seed(&api, &path, &rows);
    for ordering in ["id", "price", "-price", "-title"] {
        page_under_writes(
            &api,
            &path,
            &format!("{path}?cursor=&page_size=4&ordering={ordering}&title__ne=m"),
            &original,
        );
    }
}

fn previous_links_walk_back(url: &str) {
    let (api, path) = item_api(url);
    let rows: Vec<Value> = (0..11)
        .map(|i| json!({"title": "t", "price": f64::from(i % 3)}))
        .collect();
    seed(&api, &path, &rows);
    for ordering in ["id", "-price", "price,-id"] {
        let first = format!("{path}?cursor=&page_size=3&ordering={ordering}");
        let mut forward = Vec::new();
        let mut link = Some(first);
        let mut last = Value::Null;
        while let Some(l) = link {
            last = api.get_ok(&l);
            forward.push(ids(&last));
            link = last["next"].as_str().map(str::to_string);
        }
        assert_eq!(forward.len(), 4);
        let mut back = vec![ids(&last)];
        let mut link = last["previous"].as_str().map(str::to_string);
        while let Some(l) = link {
            let page = api.get_ok(&l);
            back.push(ids(&page));
            link = page["previous"].as_str().map(str::to_string);
            // A previous page links forward again.
            assert!(page["next"].is_string(), "{ordering}: {page}");
        }
        back.reverse();
        assert_eq!(back, forward, "{ordering}");
    }
}

/// Calls `$run!` with every scenario of this file (and an optional server).
macro_rules! for_each_query_case {
    ($run:ident $(, $server:expr)?) => {
        $run!($($server;)?
            operators_with_valid_and_invalid_values,
            search_treats_wildcards_and_quotes_literally,
            ordering_is_stable_across_pages,
            lists_are_paginated_by_default,
            whitelist_rejections,
            tampered_cursors_are_rejected,
            cursor_pages_are_consistent_under_concurrent_writes,
            previous_links_walk_back,
        );
    };
}

macro_rules! sqlite_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let db = database_url(stringify!($name));
            super::$name(&db.url);
        }
    )*};
}

mod sqlite {
    for_each_query_case!(sqlite_tests);
    use crate::support::api::database_url;
}

#[allow(unused_macros)] // used only with the postgres/mysql features
/// The same scenarios on live servers, each on a fresh schema/database;
/// skipped with a printed reason when the server does not answer.
macro_rules! live_tests {
    ($server:expr; $($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let Some(fresh) = FreshDb::new($server) else { return };
            super::$name(&fresh.url);
        }
    )*};
}

#[cfg(feature = "postgres")]
mod postgres {
    use crate::support::live_db::{FreshDb, Server};
    for_each_query_case!(live_tests, Server::Postgres);
}

#[cfg(feature = "mysql")]
mod mysql {
    use crate::support::live_db::{FreshDb, Server};
    for_each_query_case!(live_tests, Server::Mysql);
}

/// Each declaration mistake in a resource's query rules, or a generated
/// `POST` that could never store a row, stops start-up with one line
/// naming the model and the field, instead of failing clients' requests.
#[test]
fn declaration_mistakes_stop_start_up_naming_model_and_field() {
    use crate::support::{config, TestServer};
    use lightapi::Resource;
    let base = || {
        Model::new("gadget")
            .field("title", Field::text())
            .field("weight", Field::float())
            .field("pin", Field::text().write_only())
            .field("made_by", Field::text().read_only())
    };
    let cases: Vec<(Resource, &str)> = vec![
        (
            base()
                .into_resource()
                .methods(&[lightapi::Method::Get])
                .filter_fields(&["nope"]),
            "filter field `nope` is not a field of the model",
        ),
        (
            base()
                .into_resource()
                .methods(&[lightapi::Method::Get])
                .filter_fields(&["pin"]),
            "filter field `pin` is write-only",
        ),
        (
            base()
                .into_resource()
                .methods(&[lightapi::Method::Get])
                .search_fields(&["weight"]),
            "search field `weight` is not a text field",
        ),
        (
            base()
                .into_resource()
                .methods(&[lightapi::Method::Get])
                .default_ordering("-nope"),
            "default ordering key `nope`",
        ),
        (
            base()
                .into_resource()
                .methods(&[lightapi::Method::Get])
                .default_ordering("weight.nullsmiddle"),
            "default ordering key `weight.nullsmiddle`",
        ),
        (
            base()
                .into_resource()
                .methods(&[lightapi::Method::Get])
                .ignore_params(&["page"]),
            "ignored parameter `page`",
        ),
        (
            base().into_resource(),
            "field `made_by` is read-only and required",
        ),
    ];
    for (resource, says) in cases {
        let err = TestServer::try_start(config(), |app| app.register("/gadget", resource))
            .expect_err(says);
        let line = err.to_string();
        assert!(line.contains("model `gadget`"), "{line}");
        assert!(line.contains(says), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
    // The same model with those mistakes fixed starts.
    let fixed = base()
        .into_resource()
        .methods(&[lightapi::Method::Get])
        .filter_fields(&["title"])
        .search_fields(&["title"])
        .default_ordering("-weight.nullslast")
        .ignore_params(&["_"]);
    let server = TestServer::try_start(config(), |app| app.register("/gadget", fixed)).unwrap();
    let mut c =
        crate::support::Client::with_token(server.addr(), &crate::support::token("t", false));
    let r = c.get("/gadget?_=1712345678&search=x");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.get("/gadget?__=1");
    assert_eq!(r.status, 400, "{r:?}");
}
