//! List pages as the client sees them: an offset page (with `count` and
//! `pages` unless `Prefer: count=none`) or a cursor page, each with its
//! `next` and `previous` links, under a byte budget. Rows that would take
//! a page's results past the budget are left for the next page: the page
//! ends after the last row that fits (at least one), says so with
//! `"truncated": true`, and its `next` link starts right after that row.
//! Where the database lets reading stop early (SQLite), rows past the
//! budget are not even read, their column data measured as stored.

use super::render::{link_with, page_response, write_link, write_rows};
use crate::crud::etag::EtagKey;
use crate::crud::keyset::KeysetPage;
use crate::crud::ops::Stored;
use crate::crud::relations::Related;
use crate::http::{Request, Response};
use crate::model::{write_integer, Model};

/// Where an offset page starts, as the client asked for it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Start {
    /// `?page=`, 1-based.
    Page(u64),
    /// `?offset=`, the rows skipped.
    Offset(u64),
}

/// How rows are shown: which model, which fields, and the most bytes the
/// rows of one page may take.
pub(super) struct Shown<'a> {
    pub(super) model: &'a Model,
    pub(super) fields: Option<&'a [String]>,
    pub(super) max_bytes: usize,
    /// The key of the page's weak `ETag`.
    pub(super) key: &'a EtagKey,
    /// Rows of other models shown inside each row.
    pub(super) related: Option<&'a Related>,
}

/// One offset page as read.
pub(super) struct OffsetPage<'a> {
    pub(super) start: Start,
    pub(super) size: u64,
    /// The rows read, at most `size`.
    pub(super) rows: &'a [Stored],
    /// The number of matching rows, when counted.
    pub(super) count: Option<u64>,
    /// Reading stopped at the byte budget with rows left unread.
    pub(super) capped: bool,
}

/// An offset page as a response.
pub(super) fn offset_page(req: &Request, shown: &Shown<'_>, page: &OffsetPage<'_>) -> Response {
    let totals = page
        .count
        .map(|count| (count, count.div_ceil(page.size).max(1)));
    let mut body = Vec::with_capacity(256 + 96 * page.rows.len());
    let links = offset_links(req, page, totals, None);
    let fits = write_offset_page(&mut body, shown, totals, &links, page.rows, false);
    if fits < page.rows.len() || page.capped {
        body.clear();
        let links = offset_links(req, page, totals, Some(fits));
        let rows = page.rows.get(..fits).unwrap_or_default();
        let whole = Shown {
            max_bytes: usize::MAX,
            ..*shown
        };
        write_offset_page(&mut body, &whole, totals, &links, rows, true);
    }
    page_response(req, shown.key, body)
}

/// The `next` and `previous` links of an offset page; `cut`: the rows
/// shown when the budget ended the page early.
fn offset_links(
    req: &Request,
    page: &OffsetPage<'_>,
    totals: Option<(u64, u64)>,
    cut: Option<usize>,
) -> (Option<String>, Option<String>) {
    let size = page.size;
    let at_offset = |o: u64| link_with(req, &[("offset", &o.to_string())], &["page", "cursor"]);
    let at_page = |p: u64| link_with(req, &[("page", &p.to_string())], &["cursor", "offset"]);
    let read = page.rows.len() as u64;
    // Without the total, a full page may have more after it.
    let full = read == size;
    let next = match (cut, page.start) {
        (Some(shown), Start::Page(p)) => {
            let first = p.saturating_sub(1).saturating_mul(size);
            Some(at_offset(first.saturating_add(shown as u64)))
        }
        (Some(shown), Start::Offset(o)) => Some(at_offset(o.saturating_add(shown as u64))),
        (None, Start::Page(p)) => match totals {
            Some((_, pages)) => (p < pages).then(|| at_page(p + 1)),
            None => full.then(|| at_page(p + 1)),
        },
        (None, Start::Offset(o)) => {
            let end = o.saturating_add(read);
            match totals {
                Some((count, _)) => (end < count).then(|| at_offset(end)),
                None => full.then(|| at_offset(end)),
            }
        }
    };
    let previous = match page.start {
        Start::Page(p) => (p > 1).then(|| {
            at_page(match totals {
                Some((_, pages)) => p.saturating_sub(1).min(pages),
                None => p.saturating_sub(1),
            })
        }),
        Start::Offset(o) => (o > 0).then(|| {
            let back = o.saturating_sub(size);
            at_offset(match totals {
                Some((_, pages)) => back.min(pages.saturating_sub(1).saturating_mul(size)),
                None => back,
            })
        }),
    };
    (next, previous)
}

/// Appends an offset page (keys in sorted order): the number of rows that
/// fit the budget, all of them unless fewer.
fn write_offset_page(
    body: &mut Vec<u8>,
    shown: &Shown<'_>,
    totals: Option<(u64, u64)>,
    (next, previous): &(Option<String>, Option<String>),
    rows: &[Stored],
    truncated: bool,
) -> usize {
    body.push(b'{');
    if let Some((count, _)) = totals {
        body.extend_from_slice(b"\"count\":");
        write_integer(body, i64::try_from(count).unwrap_or(i64::MAX));
        body.push(b',');
    }
    body.extend_from_slice(b"\"next\":");
    write_link(body, next.as_deref());
    if let Some((_, pages)) = totals {
        body.extend_from_slice(b",\"pages\":");
        write_integer(body, i64::try_from(pages).unwrap_or(i64::MAX));
    }
    body.extend_from_slice(b",\"previous\":");
    write_link(body, previous.as_deref());
    let fits = write_results(body, shown, rows, truncated);
    body.push(b'}');
    fits
}

/// A cursor page as a response.
pub(super) fn cursor_page(req: &Request, shown: &Shown<'_>, mut page: KeysetPage) -> Response {
    let mut body = Vec::with_capacity(256 + 96 * page.rows.len());
    let fits = write_cursor_page(&mut body, req, shown, &page, page.capped);
    if fits < page.rows.len() {
        page.cut(shown.model, fits);
        body.clear();
        let whole = Shown {
            max_bytes: usize::MAX,
            ..*shown
        };
        write_cursor_page(&mut body, req, &whole, &page, true);
    }
    page_response(req, shown.key, body)
}

/// Appends a cursor page: the number of rows that fit the budget.
fn write_cursor_page(
    body: &mut Vec<u8>,
    req: &Request,
    shown: &Shown<'_>,
    page: &KeysetPage,
    truncated: bool,
) -> usize {
    let link = |token: Option<&String>| {
        token.map(|t| link_with(req, &[("cursor", t)], &["page", "offset"]))
    };
    body.extend_from_slice(b"{\"next\":");
    write_link(body, link(page.next.as_ref()).as_deref());
    body.extend_from_slice(b",\"previous\":");
    write_link(body, link(page.previous.as_ref()).as_deref());
    let fits = write_results(body, shown, &page.rows, truncated);
    body.push(b'}');
    fits
}

/// Appends `,"results":[…]` (and `,"truncated":true` when `truncated`):
/// the number of rows that fit the budget.
fn write_results(body: &mut Vec<u8>, shown: &Shown<'_>, rows: &[Stored], truncated: bool) -> usize {
    body.extend_from_slice(b",\"results\":");
    let fits = write_rows(
        body,
        shown.model,
        rows,
        shown.fields,
        shown.related,
        shown.max_bytes,
    );
    if truncated {
        body.extend_from_slice(b",\"truncated\":true");
    }
    fits
}
