//! The Prometheus metrics route, request ids and JSON log lines, over real
//! HTTP: the route is off by default and protected like any route; the
//! counters count each request exactly; the document is valid exposition
//! format; databases report their pool and writer figures.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::api::{database_url, Api};
use crate::support::{eventually, token, Client, ExampleProcess, TempDir, TestServer};
use lightapi::auth::Credentials;
use lightapi::{Field, Model};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn person() -> Model {
    Model::new("person").field("name", Field::text())
}

/// A SQLite person API with the metrics at `/metrics`.
fn api_with_metrics(name: &str, public: bool) -> (Api, crate::support::api::TestDb) {
    let db = database_url(name);
    let api = Api::start(&db.url, |app| {
        app.register("/person", person())
            .metrics("/metrics")
            .metrics_public(public)
    });
    (api, db)
}

/// One sample line of the exposition format.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses a label set `k="v",…` (with `\\`, `\"` and `\n` escapes).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label name");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => panic!("bad escape \\{c}"),
                },
                (_, c) => value.push(c),
            }
        };
        assert!(
            labels.insert(name.to_owned(), value).is_none(),
            "label {name} twice"
        );
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    labels
}

/// Checks that `text` is a valid exposition document and returns its
/// samples: `# HELP` then `# TYPE` open each family once, samples follow
/// their family, counters end in `_total`, histogram buckets are
/// cumulative and end with `+Inf` equal to `_count`, with a `_sum`.
fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "the document ends with a newline");
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let mut help_for: Option<String> = None;
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            help_for = Some(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(help_for.as_deref(), Some(name), "HELP before TYPE: {line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                families.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} declared twice"
            );
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{name}");
            }
            current = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        assert!(!line.starts_with('#'), "{line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, parse_labels(l.strip_suffix('}').unwrap())),
            None => (series, BTreeMap::new()),
        };
        let (family, kind) = current.clone().expect("a sample before any TYPE");
        let ok = match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| name.strip_suffix(s) == Some(family.as_str())),
            _ => name == family,
        };
        assert!(ok, "{name} outside its family {family}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    // Histograms: per label set, cumulative buckets ending at +Inf = count.
    for (family, kind) in &families {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut key = s.labels.clone();
            let le = key.remove("le").expect("a bucket has le");
            let le: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            series.entry(key).or_default().push((le, s.value));
        }
        for (labels, buckets) in series {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{family}{labels:?}: {buckets:?}"
            );
            let &(last_le, last) = buckets.last().unwrap();
            assert!(last_le.is_infinite(), "{family}{labels:?} ends at +Inf");
            let find = |suffix: &str| {
                samples
                    .iter()
                    .find(|s| s.name == format!("{family}{suffix}") && s.labels == labels)
                    .unwrap_or_else(|| panic!("{family}{suffix}{labels:?}"))
                    .value
            };
            assert_eq!(find("_count"), last, "{family}{labels:?}");
            assert!(find("_sum") >= 0.0);
        }
    }
    samples
}

/// The value of the series `name{labels}` (exactly those labels), if
/// present.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

fn scrape(api: &Api) -> Vec<Sample> {
    let r = api.get("/metrics");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
    parse_exposition(&r.text())
}

fn requests(samples: &[Sample], route: &str, method: &str, status: &str) -> f64 {
    value(
        samples,
        "lightapi_http_requests_total",
        &[("route", route), ("method", method), ("status", status)],
    )
    .unwrap_or(0.0)
}

#[test]
fn metrics_are_off_by_default() {
    let db = database_url("metrics_off");
    let api = Api::start(&db.url, |app| app.register("/person", person()));
    assert_eq!(api.get("/metrics").status, 404);
}

#[test]
fn metrics_need_a_token_unless_declared_public() {
    let (api, _db) = api_with_metrics("metrics_protected", false);
    let anonymous = api.send("GET", "/metrics", &[], None);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(api.get("/metrics").status, 200);

    let (public, _db2) = api_with_metrics("metrics_public", true);
    let r = public.send("GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // Not part of the API's description.
    let doc = public.get_ok("/openapi.json");
    assert!(doc["paths"].get("/metrics").is_none());
}

#[test]
fn the_path_can_come_from_the_configuration() {
    let server = TestServer::start_with(
        |c| {
            c.metrics.path = Some("/internal/metrics".to_owned());
            c.metrics.public = true;
        },
        |app| app,
    );
    let r = server.client().get("/internal/metrics");
    assert_eq!(r.status, 200, "{r:?}");
    let samples = parse_exposition(&r.text());
    // No database: no database series.
    assert!(samples.iter().all(|s| !s.name.starts_with("lightapi_db_")));
}

#[test]
fn a_metrics_path_that_cannot_be_a_route_stops_start_up() {
    for path in ["metrics", "/healthz"] {
        let mut c = crate::support::config();
        c.metrics.path = Some(path.to_owned());
        let e = TestServer::try_start(c, |app| app).unwrap_err();
        assert!(e.to_string().contains(path), "{path}: {e}");
    }
}

#[test]
fn counters_count_each_request_exactly() {
    let (api, _db) = api_with_metrics("metrics_counts", false);
    let id = api.create("/person", &json!({"name": "Ada"}))["id"].clone();
    let item = format!("/person/{id}");
    let before = scrape(&api);
    const N: usize = 7;
    for _ in 0..N {
        assert_eq!(api.get(&item).status, 200);
    }
    for _ in 0..2 {
        assert_eq!(api.get("/nowhere/at/all").status, 404);
    }
    assert_eq!(api.send("GET", &item, &[], None).status, 401);
    assert_eq!(
        api.send(
            "DELETE",
            "/person/999999",
            &[&format!("Authorization: Bearer {}", api.token)],
            None
        )
        .status,
        404
    );
    let after = scrape(&api);
    let delta = |route: &str, method: &str, status: &str| {
        requests(&after, route, method, status) - requests(&before, route, method, status)
    };
    assert_eq!(delta("/person/{id}", "GET", "200"), N as f64);
    assert_eq!(delta("unmatched", "GET", "404"), 2.0);
    assert_eq!(delta("/person/{id}", "GET", "401"), 1.0);
    assert_eq!(delta("/person/{id}", "DELETE", "404"), 1.0);
    assert_eq!(delta("/person", "POST", "201"), 0.0);
    assert_eq!(requests(&after, "/person", "POST", "201"), 1.0);
    // The scrape before this one was counted when it was answered.
    assert!(requests(&after, "/metrics", "GET", "200") >= 1.0);
    // The durations of the same route and method count the same requests.
    let count = |s: &[Sample]| {
        value(
            s,
            "lightapi_http_request_duration_seconds_count",
            &[("route", "/person/{id}"), ("method", "GET")],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(count(&after) - count(&before), (N + 1) as f64);
    // Every request label comes from the bounded sets.
    for s in after
        .iter()
        .filter(|s| s.name == "lightapi_http_requests_total")
    {
        let route = &s.labels["route"];
        assert!(
            ["/person", "/person/{id}", "/metrics", "unmatched"].contains(&route.as_str()),
            "{route}"
        );
    }
}

#[test]
fn the_document_is_valid_exposition_with_every_sqlite_series() {
    let (api, _db) = api_with_metrics("metrics_format", false);
    let before = scrape(&api);
    for i in 0..3 {
        api.create("/person", &json!({"name": format!("p{i}")}));
    }
    let samples = scrape(&api);
    for family in [
        "lightapi_http_requests_total",
        "lightapi_http_request_duration_seconds_bucket",
        "lightapi_http_request_duration_seconds_sum",
        "lightapi_http_request_duration_seconds_count",
        "lightapi_http_connections_open",
        "lightapi_http_requests_in_flight",
        "lightapi_db_write_queue_depth",
        "lightapi_db_commit_group_size_bucket",
        "lightapi_db_commit_group_size_count",
    ] {
        assert!(samples.iter().any(|s| s.name == family), "{family} missing");
    }
    // Three writes were committed since, in one to three groups.
    let delta =
        |name: &str| value(&samples, name, &[]).unwrap() - value(&before, name, &[]).unwrap_or(0.0);
    let groups = delta("lightapi_db_commit_group_size_count");
    assert!((1.0..=3.0).contains(&groups), "{groups}");
    assert_eq!(delta("lightapi_db_commit_group_size_sum"), 3.0);
    // No write waits now.
    assert_eq!(
        value(&samples, "lightapi_db_write_queue_depth", &[]),
        Some(0.0)
    );
    // SQLite has no pool.
    assert!(samples
        .iter()
        .all(|s| !s.name.starts_with("lightapi_db_pool")));
}

#[test]
fn gauges_show_open_connections_and_requests_in_flight() {
    let server = TestServer::start(|app| app.metrics("/metrics").metrics_public(true));
    let mut held: Vec<Client> = (0..2).map(|_| server.connect()).collect();
    for c in &mut held {
        assert_eq!(c.get_with("/healthz", "").status, 200);
    }
    let gauges_settle = eventually(Duration::from_secs(10), || {
        let r =
            Client::new(server.addr()).request("GET", "/metrics", &[("Connection", "close")], None);
        let s = parse_exposition(&r.text());
        // The two held connections and the one asking; only the asking
        // request is in flight.
        value(&s, "lightapi_http_connections_open", &[]) == Some(3.0)
            && value(&s, "lightapi_http_requests_in_flight", &[]) == Some(1.0)
    });
    assert!(gauges_settle);
    drop(held);
    let closed = eventually(Duration::from_secs(10), || {
        let r =
            Client::new(server.addr()).request("GET", "/metrics", &[("Connection", "close")], None);
        value(
            &parse_exposition(&r.text()),
            "lightapi_http_connections_open",
            &[],
        ) == Some(1.0)
    });
    assert!(closed, "closed connections leave the gauge");
}

#[test]
fn login_refusals_are_counted_per_limiter() {
    let server = TestServer::start_with(
        |c| {
            c.login.per_minute = 2;
            c.login.per_hour = 100;
        },
        |app| {
            app.login(|_: &Credentials| Ok(None))
                .metrics("/metrics")
                .metrics_public(true)
        },
    );
    let refusals = |server: &TestServer| {
        let r = server.client().get("/metrics");
        value(
            &parse_exposition(&r.text()),
            "lightapi_rate_limit_refusals_total",
            &[("limiter", "login")],
        )
        .unwrap_or(0.0)
    };
    let before = refusals(&server);
    let mut refused = 0;
    for _ in 0..5 {
        let r = server.client().json(
            "POST",
            "/auth/login",
            &json!({"username": "u", "password": "p"}),
        );
        if r.status == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 2, "{refused}");
    // Process-wide: other tests' limiters may add to it, never take away.
    assert!(refusals(&server) >= before + f64::from(refused));
}

#[test]
fn request_ids_are_echoed_generated_or_replaced() {
    let server = TestServer::start(|app| app);
    let mut c = server.client();
    let r = c.request("GET", "/healthz", &[("X-Request-Id", "trace-42.a_b")], None);
    assert_eq!(r.header("x-request-id"), Some("trace-42.a_b"));
    assert_eq!(r.header_count("x-request-id"), 1);

    let fresh = |r: &crate::support::Resp| -> String {
        let id = r.header("x-request-id").expect("an id").to_owned();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        id
    };
    let a = fresh(&c.request("GET", "/healthz", &[], None));
    let b = fresh(&c.request("GET", "/healthz", &[], None));
    assert_ne!(a, b);
    let long = "x".repeat(129);
    for bad in ["has space", "semi;colon", long.as_str()] {
        let r = c.request("GET", "/healthz", &[("X-Request-Id", bad)], None);
        let id = fresh(&r);
        assert_ne!(id, bad);
    }
    // Errors carry one too, including a request refused before routing.
    let r = c.request("GET", "/missing", &[("X-Request-Id", "e-1")], None);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-request-id"), Some("e-1"));
    let mut raw = server.connect();
    raw.send(
        "GET /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let r = raw.read_response();
    assert_eq!(r.status, 400);
    fresh(&r);
}

#[test]
fn json_log_lines_carry_the_request_id() {
    let dir = TempDir::new("metrics_json_log");
    let mut cmd = ExampleProcess::command("person");
    cmd.env("LIGHTAPI_DATABASE_URL", dir.sqlite_url("p.db"))
        .env("LIGHTAPI_LOG_FORMAT", "json")
        .env("LIGHTAPI_METRICS_PATH", "/metrics")
        .env("LIGHTAPI_METRICS_PUBLIC", "true");
    let ex = ExampleProcess::spawn(cmd);
    let mut c = Client::new(ex.addr());
    let r = c.request("GET", "/metrics", &[("X-Request-Id", "json-log-1")], None);
    assert_eq!(r.status, 200, "{r:?}");
    let auth = format!("Bearer {}", token("tester", true));
    let r = c.request("GET", "/person", &[("Authorization", auth.as_str())], None);
    assert_eq!(r.status, 200);
    let generated = r.header("x-request-id").unwrap().to_owned();
    let line = ex
        .wait_for_line(Duration::from_secs(20), |l| l.contains(&generated))
        .expect("an access line with the generated id");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["path"], "/person");
    assert_eq!(v["request_id"], generated.as_str());
    let line = ex
        .wait_for_line(Duration::from_secs(20), |l| l.contains("json-log-1"))
        .expect("an access line with the client's id");
    assert!(line.is_ascii(), "{line}");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["msg"], "access");
    assert_eq!(v["level"], "info");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/metrics");
    assert_eq!(v["status"], 200);
    assert_eq!(v["request_id"], "json-log-1");
    assert!(v["bytes"].as_u64().unwrap() > 0);
    assert!(v["micros"].is_u64());
    assert!(v["duration_seconds"].is_f64());
    assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    // Every line, start-up messages included, is a JSON object.
    for line in ex.log() {
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            v["ts"].is_string() && v["level"].is_string() && v["msg"].is_string(),
            "{line}"
        );
    }
}

/// PostgreSQL and MariaDB report their pool: connections open within the
/// configured size, none in use between requests, and checkouts that had
/// to wait.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod pool {
    use super::*;
    use crate::support::live_db::{FreshDb, Server};

    fn pool_series(server: Server) {
        let Some(db) = FreshDb::new(server) else {
            return;
        };
        let api = Api::start_with(
            &db.url,
            |c| c.database.pool = 2,
            |app| app.register("/person", person()).metrics("/metrics"),
        );
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let client = api.client.clone();
                std::thread::spawn(move || {
                    let r = client.post("/person", &json!({"name": format!("p{i}")}));
                    assert_eq!(r.status, 201, "{r:?}");
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Between requests every connection goes back to the pool.
        let settled = eventually(Duration::from_secs(10), || {
            value(&scrape(&api), "lightapi_db_pool_connections_in_use", &[]) == Some(0.0)
        });
        assert!(settled, "connections are returned");
        let samples = scrape(&api);
        let open = value(&samples, "lightapi_db_pool_connections", &[]).unwrap();
        assert!((1.0..=2.0).contains(&open), "{open}");
        assert!(value(&samples, "lightapi_db_pool_waits_total", &[]).unwrap() >= 0.0);
        assert_eq!(
            value(&samples, "lightapi_db_write_queue_depth", &[]),
            Some(0.0)
        );
        assert!(samples
            .iter()
            .all(|s| !s.name.starts_with("lightapi_db_commit")));
        assert_eq!(requests(&samples, "/person", "POST", "201"), 6.0);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_reports_its_pool() {
        pool_series(Server::Postgres);
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mariadb_reports_its_pool() {
        pool_series(Server::Mysql);
    }
}
