//! List pages have a byte budget: a page whose rows would pass it ends
//! after the last row that fits (always at least one), says so, and its
//! `next` link continues right after that row, for offset and cursor
//! pages alike.

use lightapi::{Field, Model};
use serde_json::{json, Value};

use crate::support::api::{database_url, ids, Api};
use crate::support::unique;

/// Rows of about 3,000 bytes each under a 10,000-byte page budget.
const ROW_TEXT: usize = 3000;

fn note_api(url: &str, max_page_bytes: usize) -> (Api, String) {
    let name = unique("note");
    let path = format!("/{name}");
    let model = Model::new(&name)
        .field("text", Field::text())
        .into_resource()
        .ordering_fields(&["text"]);
    let api = Api::start_with(
        url,
        |c| c.limits.max_page_bytes = max_page_bytes,
        |app| app.register(&path, model),
    );
    (api, path)
}

/// Walks `next` links from `first`: each page's ids and whether it says
/// it was cut short.
fn walk(api: &Api, first: &str) -> Vec<(Vec<i64>, bool)> {
    let mut pages = Vec::new();
    let mut link = Some(first.to_string());
    while let Some(l) = link {
        let page = api.get_ok(&l);
        let truncated = page.get("truncated") == Some(&json!(true));
        pages.push((ids(&page), truncated));
        link = page["next"].as_str().map(str::to_string);
        assert!(pages.len() < 100, "runaway pagination");
    }
    pages
}

fn seed(api: &Api, path: &str, n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let text = format!("{i:02}{}", "t".repeat(ROW_TEXT));
            api.create(path, &json!({ "text": text }))["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_page_stops_at_its_byte_budget_and_links_to_the_rest() {
    let db = database_url("page-budget");
    let (api, path) = note_api(&db.url, 10_000);
    let all = seed(&api, &path, 10);

    // An offset page: three rows fit, the `next` link continues at the
    // fourth; the pages still count the rows by the requested size.
    let first = api.get_ok(&format!("{path}?page_size=10"));
    assert_eq!(ids(&first), all[..3]);
    assert_eq!(first["truncated"], json!(true));
    assert_eq!(first["count"], json!(10));
    assert_eq!(first["pages"], json!(1));
    let next = first["next"].as_str().unwrap();
    assert!(next.contains("offset=3"), "{next}");
    assert!(next.contains("page_size=10"), "{next}");
    let pages = walk(&api, &format!("{path}?page_size=10"));
    let seen: Vec<i64> = pages.iter().flat_map(|(p, _)| p.clone()).collect();
    assert_eq!(seen, all, "every row once, in order: {pages:?}");
    assert!(pages.iter().all(|(p, _)| p.len() <= 3), "{pages:?}");
    // The last page held all it had to: it is not cut.
    assert_eq!(pages.last().map(|(_, cut)| *cut), Some(false));
    // From the second page on, the same.
    let pages = walk(&api, &format!("{path}?page_size=4&page=2"));
    let seen: Vec<i64> = pages.iter().flat_map(|(p, _)| p.clone()).collect();
    assert_eq!(seen, all[4..], "{pages:?}");

    // A cursor page, forwards and backwards: the `next` cursor continues
    // after the last row sent.
    let pages = walk(&api, &format!("{path}?cursor=&page_size=10&ordering=-text"));
    let seen: Vec<i64> = pages.iter().flat_map(|(p, _)| p.clone()).collect();
    let reversed: Vec<i64> = all.iter().rev().copied().collect();
    assert_eq!(seen, reversed, "{pages:?}");
    assert!(pages[0].1);
    let second = api.get_ok(&format!("{path}?cursor=&page_size=10"));
    let later = api.get_ok(second["next"].as_str().unwrap());
    assert_eq!(ids(&later), all[3..6]);
    let back = api.get_ok(later["previous"].as_str().unwrap());
    assert_eq!(ids(&back), all[..3]);

    // A page that fits is unchanged: no `truncated` key.
    let small = api.get_ok(&format!("{path}?page_size=2"));
    assert_eq!(ids(&small), all[..2]);
    assert!(small.get("truncated").is_none(), "{small}");
    assert!(small["next"].as_str().unwrap().contains("page=2"));
}

#[test]
fn a_row_larger_than_the_budget_is_sent_alone() {
    let db = database_url("page-budget-row");
    let (api, path) = note_api(&db.url, 1000);
    let all = seed(&api, &path, 3);
    for first in [format!("{path}?page_size=3"), format!("{path}?cursor=")] {
        let pages = walk(&api, &first);
        let expected: Vec<(Vec<i64>, bool)> = vec![
            (vec![all[0]], true),
            (vec![all[1]], true),
            (vec![all[2]], false),
        ];
        assert_eq!(pages, expected, "{first}");
    }
    // `offset` is a page parameter of its own.
    let page: Value = api.get_ok(&format!("{path}?offset=2&page_size=3"));
    assert_eq!(ids(&page), all[2..]);
    assert!(page["next"].is_null());
    assert!(page["previous"].as_str().unwrap().contains("offset=0"));
    api.assert_rejects(&format!("{path}?offset=1&page=1"), "offset");
    api.assert_rejects(&format!("{path}?offset=-1"), "offset");
}

/// On SQLite the rows past the budget are not even read: their stored
/// size ends the page, though a projection would have shown them small;
/// the count is still the whole count, and the pages still cover every
/// row once.
#[test]
fn reading_stops_at_the_budget_where_the_database_allows() {
    let db = database_url("page-budget-read");
    let (api, path) = note_api(&db.url, 10_000);
    let all = seed(&api, &path, 10);
    let first = api.get_ok(&format!("{path}?page_size=10&fields=id"));
    assert_eq!(first["count"], json!(10));
    if db.url.starts_with("sqlite") {
        assert_eq!(first["truncated"], json!(true), "{first}");
        assert!(ids(&first).len() < 10, "{first}");
    }
    for start in [
        format!("{path}?page_size=10&fields=id"),
        format!("{path}?cursor=&page_size=10&fields=id"),
    ] {
        let pages = walk(&api, &start);
        let seen: Vec<i64> = pages.iter().flat_map(|(p, _)| p.clone()).collect();
        assert_eq!(seen, all, "{start}: {pages:?}");
    }
    // Without the count, the next link still continues after the rows.
    let r = api.send(
        "GET",
        &format!("{path}?page_size=10&fields=id"),
        &[
            &format!("Authorization: Bearer {}", api.token),
            "Prefer: count=none",
        ],
        None,
    );
    let page = r.json();
    assert!(page.get("count").is_none(), "{page}");
    let shown = ids(&page).len();
    if shown < 10 {
        let next = page["next"].as_str().unwrap();
        assert!(next.contains(&format!("offset={shown}")), "{next}");
    }
}
