//! The HTTP series of one server: requests by route, method and status,
//! their durations, and the connection and in-flight gauges.
//!
//! Every slot is allocated when the server is built, one per route
//! template × method × status of a bounded set, so counting a request is a
//! few array indexings and relaxed atomic additions: no lock, no
//! allocation, no label text built.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::histogram::{Histogram, DURATION_BOUNDS_MICROS};
use crate::http::Method;

/// A route's index in the table: [`RouteId::UNMATCHED`] for a request no
/// route matched (or refused before its path was known), else one per
/// registered template in the order registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RouteId(pub(crate) u32);

impl RouteId {
    /// Requests no route matched: label `route="unmatched"`.
    pub(crate) const UNMATCHED: RouteId = RouteId(0);
}

/// The label of [`RouteId::UNMATCHED`].
const UNMATCHED_LABEL: &str = "unmatched";

/// The method labels: [`Method::ALL`] then `other` (a request refused
/// before its method was read, or with a method the server does not know).
const METHODS: usize = Method::ALL.len() + 1;

/// The status codes counted under their own label; any other is counted
/// as `other`.
pub(crate) const STATUSES: &[u16] = &[
    100, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 408,
    409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 428, 429, 431, 500, 501, 502, 503,
    504, 505,
];

/// Slots per route and method: one per listed status, then `other`.
const STATUS_SLOTS: usize = STATUSES.len() + 1;

/// The slot of each status code below 600; the `other` slot for the rest.
const STATUS_SLOT: [u8; 600] = {
    let mut table = [STATUSES.len() as u8; 600];
    let mut i = 0;
    while i < STATUSES.len() {
        table[STATUSES[i] as usize] = i as u8;
        i += 1;
    }
    table
};

fn status_slot(status: u16) -> usize {
    STATUS_SLOT
        .get(usize::from(status))
        .map_or(STATUSES.len(), |&s| usize::from(s))
}

/// The index of `method`'s label (`None`: `other`).
fn method_slot(method: Option<Method>) -> usize {
    match method {
        Some(Method::Get) => 0,
        Some(Method::Head) => 1,
        Some(Method::Post) => 2,
        Some(Method::Put) => 3,
        Some(Method::Patch) => 4,
        Some(Method::Delete) => 5,
        Some(Method::Options) => 6,
        None => 7,
    }
}

/// The label of method slot `i`.
fn method_label(i: usize) -> &'static str {
    Method::ALL.get(i).map_or("other", |m| m.as_str())
}

/// The HTTP metrics of one server.
///
/// A server that swaps in a new application keeps counting in the same
/// series: the new table ([`HttpMetrics::continuing`]) shares the route
/// series and the gauges of the one it follows, so counts made under
/// either table land in the same counters.
#[derive(Debug)]
pub(crate) struct HttpMetrics {
    /// The series of each route template, by [`RouteId`] (index 0:
    /// `unmatched`).
    routes: Box<[Arc<RouteSeries>]>,
    gauges: Arc<Gauges>,
}

/// The counters of one route template.
#[derive(Debug)]
struct RouteSeries {
    template: String,
    /// `METHODS × STATUS_SLOTS` request counters.
    requests: Box<[AtomicU64]>,
    /// `METHODS` duration histograms, in microseconds.
    durations: Box<[Histogram]>,
}

impl RouteSeries {
    fn new(template: String) -> Arc<RouteSeries> {
        Arc::new(RouteSeries {
            template,
            requests: (0..METHODS * STATUS_SLOTS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            durations: (0..METHODS)
                .map(|_| Histogram::new(DURATION_BOUNDS_MICROS))
                .collect(),
        })
    }
}

/// The connection and in-flight gauges.
#[derive(Debug, Default)]
struct Gauges {
    connections_open: AtomicUsize,
    in_flight: AtomicUsize,
}

/// One request counted as in flight until this is dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<HttpMetrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.gauges.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One request's counters, as the renderer reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestCount<'a> {
    pub(crate) route: &'a str,
    pub(crate) method: &'static str,
    /// The status code, or `other`.
    pub(crate) status: StatusLabel,
    pub(crate) count: u64,
}

/// A status label: a code of [`STATUSES`], or `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusLabel {
    Code(u16),
    Other,
}

impl std::fmt::Display for StatusLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusLabel::Code(c) => write!(f, "{c}"),
            StatusLabel::Other => f.write_str("other"),
        }
    }
}

impl HttpMetrics {
    /// Slots for the route `templates` (in [`RouteId`] order from 1).
    pub(crate) fn new(templates: Vec<String>) -> HttpMetrics {
        let mut routes = Vec::with_capacity(templates.len() + 1);
        routes.push(RouteSeries::new(UNMATCHED_LABEL.to_owned()));
        routes.extend(templates.into_iter().map(RouteSeries::new));
        HttpMetrics {
            routes: routes.into_boxed_slice(),
            gauges: Arc::default(),
        }
    }

    /// The route templates of this table, in [`RouteId`] order from 1.
    pub(crate) fn templates(&self) -> impl Iterator<Item = &str> + '_ {
        self.routes.iter().skip(1).map(|r| r.template.as_str())
    }

    /// A table for `templates` that goes on counting where this one
    /// counts: `templates` must begin with [`HttpMetrics::templates`], in
    /// order (so every [`RouteId`] of this table names the same route in
    /// the new one); those share this table's series, and the gauges are
    /// shared too. Templates past them get series of their own.
    pub(crate) fn continuing(&self, templates: Vec<String>) -> HttpMetrics {
        let mut routes = Vec::with_capacity(templates.len() + 1);
        routes.push(
            self.routes
                .first()
                .map_or_else(|| RouteSeries::new(UNMATCHED_LABEL.to_owned()), Arc::clone),
        );
        for (i, template) in templates.into_iter().enumerate() {
            match self.routes.get(i + 1) {
                Some(known) if known.template == template => routes.push(Arc::clone(known)),
                _ => routes.push(RouteSeries::new(template)),
            }
        }
        HttpMetrics {
            routes: routes.into_boxed_slice(),
            gauges: Arc::clone(&self.gauges),
        }
    }

    /// Counts an answered request and its duration. A route id outside
    /// the table counts as `unmatched`.
    pub(crate) fn record(&self, route: RouteId, method: Option<Method>, status: u16, micros: u64) {
        let series = usize::try_from(route.0)
            .ok()
            .and_then(|r| self.routes.get(r))
            .or_else(|| self.routes.first());
        let Some(series) = series else {
            return;
        };
        let m = method_slot(method);
        if let Some(c) = series.requests.get(m * STATUS_SLOTS + status_slot(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(h) = series.durations.get(m) {
            h.observe(micros);
        }
    }

    /// Counts a request as in flight until the guard is dropped.
    pub(crate) fn begin_request(self: &Arc<Self>) -> InFlight {
        self.gauges.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    pub(crate) fn connection_opened(&self) {
        self.gauges.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.gauges.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connections_open(&self) -> usize {
        self.gauges.connections_open.load(Ordering::Relaxed)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.gauges.in_flight.load(Ordering::Relaxed)
    }

    /// Every request counter that has counted something.
    pub(crate) fn request_counts(&self) -> impl Iterator<Item = RequestCount<'_>> + '_ {
        self.routes.iter().flat_map(|series| {
            series.requests.iter().enumerate().filter_map(|(i, c)| {
                let count = c.load(Ordering::Relaxed);
                if count == 0 {
                    return None;
                }
                let (m, s) = (i / STATUS_SLOTS, i % STATUS_SLOTS);
                Some(RequestCount {
                    route: series.template.as_str(),
                    method: method_label(m),
                    status: STATUSES
                        .get(s)
                        .map_or(StatusLabel::Other, |&c| StatusLabel::Code(c)),
                    count,
                })
            })
        })
    }

    /// Every duration histogram that has observed something, with its
    /// route and method labels.
    pub(crate) fn durations(&self) -> impl Iterator<Item = (&str, &'static str, &Histogram)> + '_ {
        self.routes.iter().flat_map(|series| {
            series
                .durations
                .iter()
                .enumerate()
                .filter(|(_, h)| !h.is_empty())
                .map(|(m, h)| (series.template.as_str(), method_label(m), h))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_status_has_its_slot_and_others_share_one() {
        for (i, &s) in STATUSES.iter().enumerate() {
            assert_eq!(status_slot(s), i);
        }
        for s in [0, 199, 299, 418, 599, 600, 999, u16::MAX] {
            assert_eq!(status_slot(s), STATUSES.len(), "{s}");
        }
    }

    #[test]
    fn method_slots_follow_method_all() {
        for (i, m) in Method::ALL.iter().enumerate() {
            assert_eq!(method_slot(Some(*m)), i);
            assert_eq!(method_label(i), m.as_str());
        }
        assert_eq!(method_label(method_slot(None)), "other");
    }

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let m = HttpMetrics::new(vec!["/person".into(), "/person/{id}".into()]);
        m.record(RouteId(2), Some(Method::Get), 200, 10);
        m.record(RouteId(2), Some(Method::Get), 200, 20);
        m.record(RouteId(1), Some(Method::Post), 418, 5);
        m.record(RouteId(99), None, 400, 1);
        let mut counts: Vec<_> = m
            .request_counts()
            .map(|c| (c.route, c.method, c.status.to_string(), c.count))
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            vec![
                ("/person", "POST", "other".to_owned(), 1),
                ("/person/{id}", "GET", "200".to_owned(), 2),
                ("unmatched", "other", "400".to_owned(), 1),
            ]
        );
        let durations: Vec<_> = m
            .durations()
            .map(|(r, me, h)| (r, me, h.snapshot().count, h.snapshot().sum))
            .collect();
        assert_eq!(durations.len(), 3);
        assert!(durations.contains(&("/person/{id}", "GET", 2, 30)));
    }

    #[test]
    fn in_flight_follows_its_guards() {
        let m = Arc::new(HttpMetrics::new(Vec::new()));
        let a = m.begin_request();
        let b = m.begin_request();
        assert_eq!(m.in_flight(), 2);
        drop(a);
        assert_eq!(m.in_flight(), 1);
        drop(b);
        assert_eq!(m.in_flight(), 0);
    }

    #[test]
    fn a_continuing_table_shares_the_series_and_gauges() {
        let old = Arc::new(HttpMetrics::new(vec!["/a".into(), "/b".into()]));
        old.connection_opened();
        old.record(RouteId(1), Some(Method::Get), 200, 10);
        let new = HttpMetrics::continuing(&old, vec!["/a".into(), "/b".into(), "/c".into()]);
        assert_eq!(new.templates().collect::<Vec<_>>(), ["/a", "/b", "/c"]);
        // A request the old table began ends in the new one's counts.
        old.record(RouteId(1), Some(Method::Get), 200, 10);
        new.record(RouteId(3), Some(Method::Post), 201, 10);
        let counts: Vec<_> = new.request_counts().map(|c| (c.route, c.count)).collect();
        assert_eq!(counts, [("/a", 2), ("/c", 1)]);
        assert_eq!(new.connections_open(), 1);
        new.connection_closed();
        assert_eq!(old.connections_open(), 0);
    }
}
