//! CORS (preflight without authentication, simple requests, `Vary`,
//! credentials) and middleware (declared order before, reverse after,
//! early answers, the shipped `RequestId` and `Timing`) over HTTP.

use std::sync::{Arc, Mutex};

use lightapi::middleware::{Middleware, RequestId, Timing};
use lightapi::Cors;
use lightapi::{ApiError, Field, Model, Request, Response};
use serde_json::json;

use crate::support::api::{database_url, Api};
use crate::support::{unique, Resp, TestServer};

const APP: &str = "https://app.example";

fn send(api: &Api, method: &str, path: &str, headers: &[&str]) -> Resp {
    api.send(method, path, headers, None)
}

fn cors_api(url: &str, cors: Cors) -> (Api, String) {
    let name = unique("note");
    let path = format!("/{name}");
    let model = Model::new(&name).field("text", Field::text());
    (
        Api::start(url, |app| app.cors(cors).register(&path, model)),
        path,
    )
}

fn vary_has_origin(r: &Resp) -> bool {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .any(|(_, v)| {
            v.split(',')
                .any(|x| x.trim().eq_ignore_ascii_case("origin"))
        })
}

#[test]
fn preflight_is_answered_without_authentication() {
    let db = database_url("cors-preflight");
    let (api, path) = cors_api(&db.url, Cors::new().allow_origin(APP));
    let item = format!("{path}/1");
    let ok = send(
        &api,
        "OPTIONS",
        &item,
        &[
            &format!("Origin: {APP}"),
            "Access-Control-Request-Method: PATCH",
            "Access-Control-Request-Headers: authorization, content-type, if-match",
        ],
    );
    assert_eq!(ok.status, 204, "{ok:?}");
    assert_eq!(ok.header("access-control-allow-origin"), Some(APP));
    let methods = ok.header("access-control-allow-methods").unwrap();
    for m in ["GET", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = ok
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("if-match"));
    assert!(ok.header("access-control-max-age").is_some());
    assert!(ok.header("access-control-allow-credentials").is_none());
    assert!(vary_has_origin(&ok));
    // Refusals: another origin, a verb the route lacks, a header not allowed.
    for (origin, method, hdrs) in [
        ("https://evil.example", "GET", ""),
        (APP, "POST", ""),
        (APP, "GET", "x-secret"),
    ] {
        let mut h = vec![
            format!("Origin: {origin}"),
            format!("Access-Control-Request-Method: {method}"),
        ];
        if !hdrs.is_empty() {
            h.push(format!("Access-Control-Request-Headers: {hdrs}"));
        }
        let refs: Vec<&str> = h.iter().map(String::as_str).collect();
        let r = send(&api, "OPTIONS", &item, &refs);
        assert_eq!(r.status, 204);
        assert!(
            r.header("access-control-allow-origin").is_none(),
            "{origin} {method} {hdrs}: {r:?}"
        );
        assert!(vary_has_origin(&r));
    }
    // A plain OPTIONS (not a preflight) is an ordinary request on a
    // protected route: it needs the token, then gets `Allow`.
    let plain = send(&api, "OPTIONS", &path, &[]);
    assert_eq!(plain.status, 401);
    let auth = format!("Authorization: Bearer {}", api.token);
    let plain = send(&api, "OPTIONS", &path, &[&auth]);
    assert_eq!(plain.status, 204);
    assert!(plain.header("allow").unwrap().contains("POST"));
}

#[test]
fn simple_requests_get_cors_headers() {
    let db = database_url("cors-simple");
    let (api, path) = cors_api(&db.url, Cors::new().allow_origin(APP));
    let auth = format!("Authorization: Bearer {}", api.token);
    let r = send(&api, "GET", &path, &[&format!("Origin: {APP}"), &auth]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert!(r
        .header("access-control-expose-headers")
        .unwrap()
        .contains("ETag"));
    assert!(vary_has_origin(&r));
    // Errors carry them too, so the browser can read the problem.
    let r = send(&api, "GET", &path, &[&format!("Origin: {APP}")]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    // Another origin: no grant, but still `Vary: Origin` for caches.
    let r = send(&api, "GET", &path, &["Origin: https://evil.example", &auth]);
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(vary_has_origin(&r));
    let r = send(&api, "GET", &path, &[&auth]);
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(vary_has_origin(&r));
}

#[test]
fn credentials_echo_the_origin_and_never_pair_with_wildcard() {
    let db = database_url("cors-cred");
    let (api, path) = cors_api(
        &db.url,
        Cors::new().allow_origin(APP).allow_credentials(true),
    );
    let auth = format!("Authorization: Bearer {}", api.token);
    let r = send(&api, "GET", &path, &[&format!("Origin: {APP}"), &auth]);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    drop(api);
    // `*` without credentials answers `*`.
    let (api, path) = cors_api(&db.url, Cors::new().allow_origin("*"));
    let r = send(&api, "GET", &path, &["Origin: https://any.example", &auth]);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-credentials").is_none());
    drop(api);
    // `*` with credentials refuses to start, in code and from the environment.
    let mut c = crate::support::config();
    c.database.url = db.url.parse().unwrap();
    let err = TestServer::try_start(c, |app| {
        app.cors(Cors::new().allow_origin("*").allow_credentials(true))
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            lightapi::StartError::Declaration {
                at: Some(ref at),
                ..
            } if at == "CORS"
        ),
        "{err}"
    );
}

/// Records its hooks in a shared log; answers early when asked.
struct Recorder {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
    stop_on: Option<&'static str>,
}

impl Middleware for Recorder {
    fn before(&self, req: &mut Request) -> Option<Response> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}.before", self.name));
        if self.stop_on.is_some_and(|h| req.header(h).is_some()) {
            return Some(
                ApiError::bad_request(format!("stopped by {}", self.name)).into_response(),
            );
        }
        None
    }
    fn after(&self, _req: &Request, resp: &mut Response) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}.after", self.name));
        let trail = resp.header("x-trail").unwrap_or("").to_string();
        resp.remove_header("x-trail");
        resp.insert_header("X-Trail", format!("{trail}{}", self.name));
    }
}

struct Probe(Arc<Mutex<Vec<String>>>);

impl lightapi::Endpoint for Probe {
    fn get(&self, _req: &Request) -> lightapi::HandlerResult {
        self.0.lock().unwrap().push("endpoint".into());
        Ok(json!({"ok": true}).into())
    }
    fn access(&self, _m: lightapi::Method) -> lightapi::Access {
        lightapi::Access::Public
    }
}

#[test]
fn middleware_runs_in_order_and_may_answer_early() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let rec = |name, stop_on| Recorder {
        name,
        log: Arc::clone(&log),
        stop_on,
    };
    let server = TestServer::start(|app| {
        app.middleware(rec("a", None))
            .middleware(rec("b", Some("x-stop")))
            .middleware(rec("c", None))
            .register("/probe", Probe(Arc::clone(&log)))
    });
    let mut client = server.connect();
    let r = client.get_with("/probe", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-trail"), Some("cba"));
    assert_eq!(
        log.lock().unwrap().drain(..).collect::<Vec<_>>(),
        ["a.before", "b.before", "c.before", "endpoint", "c.after", "b.after", "a.after"]
    );
    let r = client.get_with("/probe", "X-Stop: 1\r\n");
    r.assert_problem(400);
    assert_eq!(r.header("x-trail"), Some("ba"));
    assert_eq!(
        log.lock().unwrap().drain(..).collect::<Vec<_>>(),
        ["a.before", "b.before", "b.after", "a.after"]
    );
    // Errors from routing and auth pass through every `after` too.
    let r = client.get_with("/missing", "");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-trail"), Some("cba"));
    server.stop();
}

#[test]
fn request_id_and_timing_are_shipped() {
    let server = TestServer::start(|app| {
        app.middleware(RequestId::default())
            .middleware(Timing)
            .register("/probe", Probe(Arc::default()))
    });
    let mut client = server.connect();
    let r = client.get_with("/probe", "X-Request-Id: abc-123.X_y\r\n");
    assert_eq!(r.header("x-request-id"), Some("abc-123.X_y"));
    let timing = r.header("server-timing").unwrap();
    assert!(timing.starts_with("app;dur="), "{timing}");
    timing["app;dur=".len()..].parse::<f64>().unwrap();
    let a = client.get_with("/probe", "X-Request-Id: bad id with spaces\r\n");
    let b = client.get_with("/probe", "");
    let (a, b) = (
        a.header("x-request-id").unwrap(),
        b.header("x-request-id").unwrap(),
    );
    assert!(!a.contains(' ') && !a.is_empty() && a != b, "{a} {b}");
    // Fresh ids are opaque: 32 lowercase hexadecimal digits, not the old
    // `<pid>-<counter>` form.
    for id in [a, b] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
        assert!(!id.contains('-'), "{id}");
    }
    let long = "x".repeat(200);
    let r = client.get_with("/probe", &format!("X-Request-Id: {long}\r\n"));
    assert_ne!(r.header("x-request-id"), Some(long.as_str()));
    server.stop();
}

/// Sets the headers the middleware and CORS layers own.
struct SetsOwnHeaders;

impl lightapi::Endpoint for SetsOwnHeaders {
    fn get(&self, _req: &Request) -> lightapi::HandlerResult {
        Ok(Response::json(lightapi::StatusCode::OK, &json!({}))
            .with_header("X-Request-Id", "endpoint")
            .with_header("Access-Control-Allow-Origin", "*")
            .with_header("Vary", "Accept, Origin"))
    }
    fn access(&self, _m: lightapi::Method) -> lightapi::Access {
        lightapi::Access::Public
    }
}

#[test]
fn layers_replace_rather_than_duplicate_headers() {
    let server = TestServer::start(|app| {
        app.middleware(RequestId::default())
            .cors(Cors::new().allow_origin(APP))
            .register("/own", SetsOwnHeaders)
    });
    let mut client = server.connect();
    let r = client.get_with(
        "/own",
        &format!("Origin: {APP}\r\nX-Request-Id: client-1\r\n"),
    );
    assert_eq!(r.header_count("x-request-id"), 1);
    assert_eq!(r.header("x-request-id"), Some("client-1"));
    assert_eq!(r.header_count("access-control-allow-origin"), 1);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert_eq!(r.header_count("vary"), 1);
    let r = client.get_with("/own", "Origin: https://evil.example\r\n");
    assert_eq!(r.header_count("access-control-allow-origin"), 0, "{r:?}");
    server.stop();
}

#[test]
fn cors_is_configured_from_the_environment() {
    use lightapi::config::Config;
    let vars = [
        ("LIGHTAPI_CORS_ORIGINS", APP),
        ("LIGHTAPI_CORS_ALLOW_HEADERS", "X-Tenant"),
        ("LIGHTAPI_CORS_EXPOSE_HEADERS", "X-Total"),
        ("LIGHTAPI_CORS_CREDENTIALS", "true"),
        ("LIGHTAPI_CORS_MAX_AGE_SECS", "120"),
    ];
    let from_env = Config::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
    .cors;
    let name = unique("note");
    let path = format!("/{name}");
    let model = Model::new(&name).field("text", Field::text());
    let server = TestServer::start_with(|c| c.cors = from_env, |app| app.register(&path, model));
    let mut raw = server.connect();
    raw.send(format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: t\r\nOrigin: {APP}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type, x-tenant\r\n\r\n"
    ));
    let pre = raw.read_response();
    assert_eq!(pre.status, 204, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), Some(APP));
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(pre.header("access-control-max-age"), Some("120"));
    assert!(pre
        .header("access-control-allow-headers")
        .unwrap()
        .contains("x-tenant"));
    let mut alice = server.client_as("alice");
    let r = alice.request("GET", &path, &[("Origin", APP)], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some(APP));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let exposed = r.header("access-control-expose-headers").unwrap();
    assert!(
        exposed.contains("ETag") && exposed.contains("X-Total"),
        "{exposed}"
    );
    drop(server);
    // `*` with credentials from the environment stops start-up, naming the
    // variable.
    let err = Config::from_lookup(|name| match name {
        "LIGHTAPI_CORS_ORIGINS" => Some("*".to_owned()),
        "LIGHTAPI_CORS_CREDENTIALS" => Some("true".to_owned()),
        _ => None,
    })
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("LIGHTAPI_CORS_CREDENTIALS:"), "{err}");
    assert!(err.contains("credentials"), "{err}");
}
