//! Custom endpoints and authentication over the wire.

use lightapi::auth::ClaimsExt;
use lightapi::{Access, ApiError, Endpoint, HandlerResult, Method, Request, Response, StatusCode};
use serde_json::json;

use crate::support::{token, TestServer};

/// The seed's `CustomEndpoint`: GET and POST only; authenticated.
struct Custom;

impl Endpoint for Custom {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get, Method::Post])
    }
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"data": "ok", "message": "GET request"}).into())
    }
    fn post(&self, req: &Request) -> HandlerResult {
        Ok(json!({"data": req.json()?, "message": "POST request"}).into())
    }
}

/// Panics on GET, on a worker.
struct Panics;

impl Endpoint for Panics {
    fn get(&self, _req: &Request) -> HandlerResult {
        panic!("deliberate test panic");
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
}

/// Panics on GET, inline on the event loop.
struct PanicsInline;

impl Endpoint for PanicsInline {
    fn get(&self, _req: &Request) -> HandlerResult {
        panic!("deliberate inline test panic");
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
    fn inline(&self) -> bool {
        true
    }
}

/// Reports what it received, with a custom status and headers.
struct Inspect;

impl Endpoint for Inspect {
    fn post(&self, req: &Request) -> HandlerResult {
        let body = json!({
            "method": req.method().as_str(),
            "path": req.path(),
            "id": req.param("id"),
            "q": req.query_param("q"),
            "x_custom": req.header("x-custom"),
            "body_bytes": req.body().len(),
            "json": req.json()?,
            "sub": req.claims().and_then(|c| c.sub()),
        });
        Ok(Response::json(StatusCode::CREATED, &body)
            .with_header(
                "Location",
                format!("/inspect/{}", req.param("id").unwrap_or("")),
            )
            .with_header("X-Handled", "yes"))
    }
    fn delete(&self, _req: &Request) -> HandlerResult {
        Err(ApiError::status(
            StatusCode::CONFLICT,
            "cannot delete this one",
        ))
    }
}

/// Only admins.
struct AdminOnly;

impl Endpoint for AdminOnly {
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"admin": true}).into())
    }
    fn access(&self, _m: Method) -> Access {
        Access::Admin
    }
}

/// Public GET.
struct Open;

impl Endpoint for Open {
    fn get(&self, req: &Request) -> HandlerResult {
        Ok(json!({"open": true, "sub": req.claims().and_then(|c| c.sub())}).into())
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
}

fn server() -> TestServer {
    TestServer::start(|a| {
        a.register("/custom", Custom)
            .register("/panic", Panics)
            .register("/panic-inline", PanicsInline)
            .register("/inspect/{id}", Inspect)
            .register("/admin", AdminOnly)
            .register("/open", Open)
    })
}

fn bearer(admin: bool) -> String {
    format!("Authorization: Bearer {}\r\n", token("alice", admin))
}

#[test]
fn get_and_post_answer_json_and_the_rest_405() {
    let s = server();
    let auth = bearer(false);
    let mut c = s.connect();
    let r = c.get_with("/custom", &auth);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"data": "ok", "message": "GET request"}));
    let body = r#"{"name":"Ada"}"#;
    c.send(format!(
        "POST /custom HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    let r = c.read_response();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"data": {"name": "Ada"}, "message": "POST request"})
    );
    for m in ["PUT", "PATCH", "DELETE"] {
        // Refused from the head: answered without reading the body, and
        // the connection closes after it.
        let mut c = s.connect();
        c.send(format!(
            "{m} /custom HTTP/1.1\r\nHost: t\r\n{auth}Content-Length: 2\r\n\r\n{{}}"
        ));
        let r = c.read_response();
        r.assert_problem(405);
        assert_eq!(r.header("allow"), Some("GET, HEAD, POST, OPTIONS"), "{m}");
        assert_eq!(r.header("connection"), Some("close"), "{m}");
        c.assert_closed();
    }
    s.stop();
}

#[test]
fn panic_is_500_and_the_server_keeps_serving() {
    let s = server();
    for path in ["/panic", "/panic-inline"] {
        let mut c = s.connect();
        let r = c.get_with(path, "");
        r.assert_problem(500);
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.contains("deliberate"),
            "the panic message leaked: {text}"
        );
        // Same connection, then a new one.
        assert_eq!(c.get_with("/open", "").status, 200, "{path}");
        assert_eq!(c.get_with(path, "").status, 500);
        let mut fresh = s.connect();
        assert_eq!(fresh.get_with("/open", "").status, 200, "{path}");
    }
    s.stop();
}

#[test]
fn handler_receives_everything_and_returns_a_full_response() {
    let s = server();
    let mut c = s.connect();
    let auth = bearer(false);
    let body = r#"{"k":[1,2]}"#;
    c.send(format!(
        "POST /inspect/a%20b?q=x%20y HTTP/1.1\r\nHost: t\r\n{auth}X-Custom: hello\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    let r = c.read_response();
    assert_eq!(r.status, 201);
    assert_eq!(r.header("location"), Some("/inspect/a b"));
    assert_eq!(r.header("x-handled"), Some("yes"));
    assert_eq!(
        r.json(),
        json!({
            "method": "POST", "path": "/inspect/a%20b", "id": "a b", "q": "x y",
            "x_custom": "hello", "body_bytes": body.len(), "json": {"k": [1, 2]}, "sub": "alice",
        })
    );
    c.send(format!(
        "DELETE /inspect/1 HTTP/1.1\r\nHost: t\r\n{auth}\r\n"
    ));
    let r = c.read_response();
    r.assert_problem(409);
    assert_eq!(r.json()["detail"], "cannot delete this one");
    // A body that is not JSON: 400; not JSON by type: 415.
    c.send(format!(
        "POST /inspect/1 HTTP/1.1\r\nHost: t\r\n{auth}Content-Length: 1\r\n\r\n{{"
    ));
    c.read_response().assert_problem(400);
    c.send(format!(
        "POST /inspect/1 HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{{}}"
    ));
    c.read_response().assert_problem(415);
    s.stop();
}

#[test]
fn missing_token_is_401_bearer() {
    let s = server();
    let mut c = s.connect();
    let r = c.get_with("/custom", "");
    r.assert_problem(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    s.stop();
}

#[test]
fn bad_token_is_401_invalid_token() {
    let s = server();
    let mut c = s.connect();
    let good = token("alice", false);
    let forged = format!("{}x", &good[..good.len() - 1]);
    let wrong_key = crate::support::sign_subject(
        "alice",
        std::time::Duration::from_secs(60),
        lightapi::auth::unix_now(),
        Default::default(),
        b"another-secret-that-is-long-enough-000000",
    );
    for t in ["garbage", forged.as_str(), wrong_key.as_str(), "a.b.c"] {
        let r = c.get_with("/custom", &format!("Authorization: Bearer {t}\r\n"));
        r.assert_problem(401);
        let challenge = r.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
    s.stop();
}

#[test]
fn valid_token_is_accepted_and_admin_routes_need_admin() {
    let s = server();
    let mut c = s.connect();
    assert_eq!(c.get_with("/custom", &bearer(false)).status, 200);
    c.get_with("/admin", &bearer(false)).assert_problem(403);
    assert_eq!(c.get_with("/admin", &bearer(true)).json()["admin"], true);
    c.get_with("/admin", "").assert_problem(401);
    s.stop();
}

#[test]
fn public_routes_need_no_token() {
    let s = server();
    let mut c = s.connect();
    assert_eq!(
        c.get_with("/open", "").json(),
        json!({"open": true, "sub": null})
    );
    // A valid token is still read on a public route; a bad one is ignored.
    assert_eq!(c.get_with("/open", &bearer(false)).json()["sub"], "alice");
    assert_eq!(
        c.get_with("/open", "Authorization: Bearer nope\r\n").status,
        200
    );
    let r = c.get_with("/healthz", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"status": "ok"}));
    s.stop();
}

/// Marks requests that carry `X-Mark` with an extension.
struct Marker;

struct Marked;

impl lightapi::middleware::Middleware for Marker {
    fn before(&self, req: &mut Request) -> Option<Response> {
        if req.header("x-mark").is_some() {
            req.insert_extension(Marked);
        }
        None
    }
}

/// `crate::support::describe` plus whether the request was marked; on the event
/// loop or on a worker.
struct Describe {
    inline: bool,
}

impl Endpoint for Describe {
    fn get(&self, req: &Request) -> HandlerResult {
        let mut v = crate::support::describe(req);
        v["marked"] = json!(req.extension::<Marked>().is_some());
        Ok(v.into())
    }
    fn post(&self, req: &Request) -> HandlerResult {
        self.get(req)
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
    fn inline(&self) -> bool {
        self.inline
    }
}

/// A connection parses each request into the buffers of the one before;
/// nothing of a request (query, fields, body, parameters, extensions) may
/// reach the next, whether the handler runs inline or on a worker.
#[test]
fn pipelined_requests_share_nothing() {
    let s = TestServer::start(|a| {
        a.middleware(Marker)
            .register("/inline/{id}", Describe { inline: true })
            .register("/worker/{id}", Describe { inline: false })
    });
    for kind in ["inline", "worker"] {
        let mut c = s.connect();
        c.send(format!(
            "POST /{kind}/1?q=1&r=2 HTTP/1.1\r\nHost: x\r\nX-Mark: yes\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}\
             GET /{kind}/2 HTTP/1.1\r\nhost: y\r\n\r\n\
             GET /{kind}/3/ HTTP/1.1\r\nHost: z\r\n\r\n"
        ));
        let first = c.read_response().json();
        assert_eq!(first["method"], "POST", "{kind}");
        assert_eq!(first["query"], json!([["q", "1"], ["r", "2"]]), "{kind}");
        assert_eq!(first["body"], r#"{"a":1}"#, "{kind}");
        assert_eq!(first["marked"], true, "{kind}");
        assert_eq!(first["params"], json!({"id": "1"}), "{kind}");
        // Field names as sent.
        assert_eq!(first["headers"][1], json!(["X-Mark", "yes"]), "{kind}");
        for (n, host, slash) in [(2, "y", ""), (3, "z", "/")] {
            let next = c.read_response().json();
            assert_eq!(next["method"], "GET", "{kind} {n}");
            assert_eq!(
                next["path"],
                format!("/{kind}/{n}{slash}").as_str(),
                "{kind} {n}"
            );
            assert_eq!(next["query"], json!([]), "{kind} {n}");
            assert_eq!(
                next["headers"].as_array().map(Vec::len),
                Some(1),
                "{kind} {n}"
            );
            assert_eq!(next["headers"][0][1], host, "{kind} {n}");
            assert_eq!(next["body_len"], 0, "{kind} {n}");
            assert_eq!(next["marked"], false, "{kind} {n}");
            assert_eq!(next["params"], json!({"id": n.to_string()}), "{kind} {n}");
        }
    }
}

/// Middleware that panics on the paths it is told to.
struct PanickyMiddleware;

impl lightapi::middleware::Middleware for PanickyMiddleware {
    fn before(&self, req: &mut Request) -> Option<Response> {
        if req.path() == "/open-but-before-panics" {
            panic!("deliberate panic in before");
        }
        None
    }
    fn after(&self, req: &Request, _resp: &mut Response) {
        if req.path() == "/open-but-after-panics" {
            panic!("deliberate panic in after");
        }
    }
}

/// A route whose access check panics.
struct PanickyCheck;

impl Endpoint for PanickyCheck {
    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"reached": true}).into())
    }
    fn access(&self, _m: Method) -> Access {
        Access::check(|_claims, _req| panic!("deliberate panic in an access check"))
    }
}

#[test]
fn panics_in_middleware_and_access_checks_are_500_and_the_server_carries_on() {
    // One event loop: were a panic to end it, the next request would fail.
    let s = TestServer::start_with(
        |c| c.server.reactors = 1,
        |a| {
            a.middleware(PanickyMiddleware)
                .register("/open", Open)
                .register("/open-but-before-panics", Open)
                .register("/open-but-after-panics", Open)
                .register("/checked", PanickyCheck)
        },
    );
    let auth = bearer(false);
    for round in 0..3 {
        for (path, extra) in [
            ("/open-but-before-panics", ""),
            ("/open-but-after-panics", ""),
            ("/checked", auth.as_str()),
        ] {
            let mut c = s.connect();
            let r = c.get_with(path, extra);
            r.assert_problem(500);
            assert!(
                !String::from_utf8_lossy(&r.body).contains("deliberate"),
                "round {round} {path}: the panic message leaked"
            );
            assert_eq!(c.get_with("/open", "").status, 200, "round {round} {path}");
        }
    }
    s.stop();
}
