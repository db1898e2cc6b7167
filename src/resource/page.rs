//! List pages as the client sees them: an offset page (with `count` and
//! `pages` unless `Prefer: count=none`) or a cursor page, each with its
//! `next` and `previous` links, under a byte budget. Rows that would take
//! a page's results past the budget are left for the next page: the page
//! ends after the last row that fits (at least one), says so with
//! `"truncated": true`, and its `next` link starts right after that row.
//! Rows past the budget, their column data measured as stored, are left
//! unread where the database lets reading stop early (SQLite) and unshown
//! elsewhere. A page showing nothing beside its rows (no `expand` or
//! `embed`) is rendered row by row as the driver hands the rows over,
//! without a copy of their values ([`RenderedRows`]).

use std::sync::Arc;

use super::render::{
    link_with, page_response, push_row_within, write_link, write_rows, write_values,
};
use crate::crud::etag::EtagKey;
use crate::crud::keyset::KeysetPage;
use crate::crud::ops::{RowSink, Stored};
use crate::crud::relations::Related;
use crate::http::{Request, Response};
use crate::model::{write_integer, Model, ValueRef};

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
pub(super) struct OffsetPage {
    pub(super) start: Start,
    pub(super) size: u64,
    /// The number of rows read, at most `size`.
    pub(super) read: usize,
    /// The number of matching rows, when counted.
    pub(super) count: Option<u64>,
    /// Reading stopped at the byte budget with rows left unread.
    pub(super) capped: bool,
}

impl OffsetPage {
    fn totals(&self) -> Option<(u64, u64)> {
        self.count
            .map(|count| (count, count.div_ceil(self.size).max(1)))
    }
}

/// An offset page of `rows` as a response.
pub(super) fn offset_page(
    req: &Request,
    shown: &Shown<'_>,
    page: &OffsetPage,
    rows: &[Stored],
) -> Response {
    let totals = page.totals();
    let mut body = Vec::with_capacity(256 + 128 * rows.len());
    let links = offset_links(req, page, totals, None);
    write_offset_head(&mut body, totals, &links);
    let fits = write_results(&mut body, shown, rows, false);
    body.push(b'}');
    if fits < rows.len() || page.capped {
        body.clear();
        let links = offset_links(req, page, totals, Some(fits));
        let rows = rows.get(..fits).unwrap_or_default();
        let whole = Shown {
            max_bytes: usize::MAX,
            ..*shown
        };
        write_offset_head(&mut body, totals, &links);
        write_results(&mut body, &whole, rows, true);
        body.push(b'}');
    }
    page_response(req, shown.key, body)
}

/// The rows of a page rendered as they are read (a list job's
/// [`RowSink`]): the results array, ended before the first row that
/// would take it past the budget (the first row is always taken).
pub(super) struct RenderedRows {
    model: Arc<Model>,
    fields: Option<Vec<String>>,
    max_bytes: usize,
    /// `[` and the rows taken, comma-separated; without the closing `]`.
    out: Vec<u8>,
    rows: usize,
    stopped: bool,
}

impl RenderedRows {
    pub(super) fn new(
        model: Arc<Model>,
        fields: Option<Vec<String>>,
        max_bytes: usize,
        size: u64,
    ) -> RenderedRows {
        let room = usize::try_from(size.min(1000)).unwrap_or(0) * 128 + 2;
        let mut out = Vec::with_capacity(room.min(max_bytes.saturating_add(2)));
        out.push(b'[');
        RenderedRows {
            model,
            fields,
            max_bytes,
            out,
            rows: 0,
            stopped: false,
        }
    }
}

impl RowSink for RenderedRows {
    fn take(&mut self, values: &[ValueRef<'_>]) -> bool {
        let (model, fields) = (&self.model, self.fields.as_deref());
        let fits = push_row_within(&mut self.out, 0, self.rows, self.max_bytes, |out| {
            write_values(out, model, values, fields);
        });
        if fits {
            self.rows += 1;
        } else {
            self.stopped = true;
        }
        fits
    }

    fn taken(&self) -> usize {
        self.rows
    }

    fn stopped(&self) -> bool {
        self.stopped
    }
}

/// An offset page whose rows were rendered as read, as a response.
pub(super) fn rendered_offset_page(
    req: &Request,
    key: &EtagKey,
    page: &OffsetPage,
    rows: RenderedRows,
) -> Response {
    let totals = page.totals();
    let links = offset_links(req, page, totals, page.capped.then_some(rows.rows));
    let mut body = Vec::with_capacity(rows.out.len() + 256);
    write_offset_head(&mut body, totals, &links);
    body.extend_from_slice(b",\"results\":");
    body.extend_from_slice(&rows.out);
    body.push(b']');
    if page.capped {
        body.extend_from_slice(b",\"truncated\":true");
    }
    body.push(b'}');
    page_response(req, key, body)
}

/// The `next` and `previous` links of an offset page; `cut`: the rows
/// shown when the budget ended the page early.
fn offset_links(
    req: &Request,
    page: &OffsetPage,
    totals: Option<(u64, u64)>,
    cut: Option<usize>,
) -> (Option<String>, Option<String>) {
    let size = page.size;
    let at_offset = |o: u64| link_with(req, &[("offset", &o.to_string())], &["page", "cursor"]);
    let at_page = |p: u64| link_with(req, &[("page", &p.to_string())], &["cursor", "offset"]);
    let read = page.read as u64;
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

/// Appends the start of an offset page (keys in sorted order), up to its
/// results.
fn write_offset_head(
    body: &mut Vec<u8>,
    totals: Option<(u64, u64)>,
    (next, previous): &(Option<String>, Option<String>),
) {
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
