//! Metrics in the Prometheus text exposition format, hand-written over
//! atomics: counters, gauges and fixed-bucket histograms, rendered when
//! the metrics route is read.
//!
//! Series (route labels are route templates such as `/person/{id}`, or
//! `unmatched`; methods come from a closed set; statuses from a bounded
//! set, others as `other`, so no label takes unbounded values):
//! - `lightapi_http_requests_total{route,method,status}`
//! - `lightapi_http_request_duration_seconds{route,method}` (histogram)
//! - `lightapi_http_connections_open`, `lightapi_http_requests_in_flight`
//! - `lightapi_db_pool_connections_in_use`, `lightapi_db_pool_connections`,
//!   `lightapi_db_pool_waits_total` (PostgreSQL, MySQL/MariaDB)
//! - `lightapi_db_write_queue_depth` (every queueing database),
//!   `lightapi_db_commit_group_size` (histogram; the SQLite writer)
//! - `lightapi_rate_limit_refusals_total{limiter}` (process-wide)
//!
//! This module sits low in the layers so that the server and the
//! backends can count into it; it knows only the wire's `Method`.

mod db;
mod histogram;
mod http;
mod limits;
mod render;

pub(crate) use db::DbStats;
// For the network databases' pool, and the SQLite writer.
#[cfg_attr(
    not(any(
        feature = "postgres",
        feature = "mysql",
        feature = "mssql",
        feature = "oracle"
    )),
    allow(unused_imports)
)]
pub(crate) use db::PoolStats;
#[cfg_attr(not(feature = "sqlite"), allow(unused_imports))]
pub(crate) use histogram::{Histogram, GROUP_SIZE_BOUNDS};
pub(crate) use http::{HttpMetrics, InFlight, RouteId};
pub(crate) use limits::rate_limit_refused;
pub(crate) use render::CONTENT_TYPE;

use render::{Exposition, Kind, Scale};

/// The whole document: the server's HTTP series, the database's (when
/// there is one) and the rate limiters'.
pub(crate) fn render(http: &HttpMetrics, db: Option<&DbStats>) -> String {
    let mut e = Exposition::default();
    e.family(
        "lightapi_http_requests_total",
        Kind::Counter,
        "HTTP requests answered, by route template, method and status.",
    );
    for c in http.request_counts() {
        let status = c.status.to_string();
        e.sample(
            "lightapi_http_requests_total",
            &[
                ("route", c.route),
                ("method", c.method),
                ("status", &status),
            ],
            c.count,
        );
    }
    e.family(
        "lightapi_http_request_duration_seconds",
        Kind::Histogram,
        "Time from the start of a request's head to its response being queued.",
    );
    for (route, method, h) in http.durations() {
        e.histogram(
            "lightapi_http_request_duration_seconds",
            &[("route", route), ("method", method)],
            &h.snapshot(),
            Scale(1e6),
        );
    }
    e.family(
        "lightapi_http_connections_open",
        Kind::Gauge,
        "Client connections open.",
    );
    e.sample(
        "lightapi_http_connections_open",
        &[],
        http.connections_open(),
    );
    e.family(
        "lightapi_http_requests_in_flight",
        Kind::Gauge,
        "Requests whose head was read and whose response is not yet queued.",
    );
    e.sample("lightapi_http_requests_in_flight", &[], http.in_flight());
    if let Some(db) = db {
        render_db(&mut e, db);
    }
    e.family(
        "lightapi_rate_limit_refusals_total",
        Kind::Counter,
        "Requests refused by a rate limiter, by limiter, in this process.",
    );
    for (limiter, count) in limits::rate_limit_refusals() {
        e.sample(
            "lightapi_rate_limit_refusals_total",
            &[("limiter", limiter)],
            count,
        );
    }
    e.finish()
}

fn render_db(e: &mut Exposition, db: &DbStats) {
    if let Some(pool) = db.pool {
        e.family(
            "lightapi_db_pool_connections_in_use",
            Kind::Gauge,
            "Database connections checked out of the pool.",
        );
        e.sample("lightapi_db_pool_connections_in_use", &[], pool.in_use);
        e.family(
            "lightapi_db_pool_connections",
            Kind::Gauge,
            "Database connections open, in use or idle.",
        );
        e.sample("lightapi_db_pool_connections", &[], pool.open);
        e.family(
            "lightapi_db_pool_waits_total",
            Kind::Counter,
            "Pool checkouts that found every connection busy and waited.",
        );
        e.sample("lightapi_db_pool_waits_total", &[], pool.waits);
    }
    if let Some(depth) = db.write_queue_depth {
        e.family(
            "lightapi_db_write_queue_depth",
            Kind::Gauge,
            "Database jobs queued and not yet taken by a database thread.",
        );
        e.sample("lightapi_db_write_queue_depth", &[], depth);
    }
    if let Some(groups) = &db.commit_group_size {
        e.family(
            "lightapi_db_commit_group_size",
            Kind::Histogram,
            "Writes committed together by one SQLite transaction.",
        );
        e.histogram("lightapi_db_commit_group_size", &[], groups, Scale(1.0));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn every_family_is_declared_once_before_its_samples() {
        let http = HttpMetrics::new(vec!["/person/{id}".into()]);
        http.record(RouteId(1), Some(Method::Get), 200, 1_500);
        let groups = Histogram::new(GROUP_SIZE_BOUNDS);
        groups.observe(3);
        let db = DbStats {
            pool: Some(PoolStats {
                in_use: 1,
                open: 2,
                waits: 3,
            }),
            write_queue_depth: Some(0),
            commit_group_size: Some(groups.snapshot()),
        };
        let text = render(&http, Some(&db));
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!declared.contains(&name.to_owned()), "{name} twice");
                declared.push(name.to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .filter(|f| declared.last().is_some_and(|d| d == f))
                    .unwrap_or(name);
                assert_eq!(declared.last().map(String::as_str), Some(family), "{line}");
            }
        }
        assert!(text.contains(
            "lightapi_http_requests_total{route=\"/person/{id}\",method=\"GET\",status=\"200\"} 1\n"
        ));
        assert!(text.contains(
            "lightapi_http_request_duration_seconds_bucket{route=\"/person/{id}\",method=\"GET\",le=\"0.0025\"} 1\n"
        ));
        assert!(text.contains("lightapi_db_pool_waits_total 3\n"));
        assert!(text.contains("lightapi_db_commit_group_size_bucket{le=\"4\"} 1\n"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn database_series_appear_only_where_they_apply() {
        let http = HttpMetrics::new(Vec::new());
        let text = render(&http, None);
        assert!(!text.contains("lightapi_db_"));
        let sqlite = DbStats {
            write_queue_depth: Some(2),
            ..DbStats::default()
        };
        let text = render(&http, Some(&sqlite));
        assert!(text.contains("lightapi_db_write_queue_depth 2\n"));
        assert!(!text.contains("lightapi_db_pool_"));
    }
}
