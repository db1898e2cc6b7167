//! Routing rules seen from the wire: trailing slashes, path parameters,
//! 404/405, automatic OPTIONS and HEAD, `exclude()`, query decoding.

use lightapi::{Access, Endpoint, HandlerResult, Method, Request};

use crate::support::{Echo, TestServer};

/// GET and DELETE offered, DELETE then withdrawn by `exclude()`.
struct Excluding;

impl Endpoint for Excluding {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get, Method::Delete])
    }
    fn exclude(&self) -> &[Method] {
        &[Method::Delete]
    }
    fn get(&self, req: &Request) -> HandlerResult {
        Ok(serde_json::json!({"path": req.path(), "query": req.raw_query()}).into())
    }
    fn delete(&self, req: &Request) -> HandlerResult {
        Ok(crate::support::describe(req).into())
    }
    fn access(&self, _m: Method) -> Access {
        Access::Public
    }
}

fn server() -> TestServer {
    TestServer::start(|a| {
        a.register("/items", Echo)
            .register("/items/{id}", Echo)
            .register("/users/{user}/posts/{post}/", Echo)
            .register("/limited", Excluding)
    })
}

#[test]
fn trailing_slash_is_served_on_both_forms() {
    let s = server();
    let mut c = s.connect();
    for path in [
        "/items",
        "/items/",
        "/items/7",
        "/items/7/",
        "/users/a/posts/b",
        "/users/a/posts/b/",
    ] {
        let r = c.get_with(path, "");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json()["path"], path);
    }
    for path in ["/items//", "//items", "/items/7/x", "/itemsx"] {
        assert_eq!(c.get_with(path, "").status, 404, "{path}");
    }
    s.stop();
}

#[test]
fn path_parameters_are_percent_decoded() {
    let s = server();
    let mut c = s.connect();
    let v = c.get_with("/items/a%20b%2Fc+d", "").json();
    assert_eq!(v["params"]["id"], "a b/c+d");
    let v = c.get_with("/users/J%C3%BCrgen/posts/42", "").json();
    assert_eq!(v["params"]["user"], "Jürgen");
    assert_eq!(v["params"]["post"], "42");
    // An undecodable parameter matches no route.
    c.get_with("/items/%zz", "").assert_problem(404);
    s.stop();
}

#[test]
fn unknown_path_is_404_problem() {
    let s = server();
    let mut c = s.connect();
    let r = c.get_with("/nope", "");
    r.assert_problem(404);
    assert!(!r.closes(), "a 404 keeps the connection");
    assert_eq!(c.get_with("/items", "").status, 200);
    s.stop();
}

#[test]
fn method_not_offered_is_405_with_allow() {
    let s = server();
    let mut c = s.connect();
    c.send("POST /limited HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    let r = c.read_response();
    r.assert_problem(405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    s.stop();
}

#[test]
fn exclude_is_honoured() {
    let s = server();
    let mut c = s.connect();
    c.send("DELETE /limited HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response();
    r.assert_problem(405);
    assert!(!r.header("allow").unwrap().contains("DELETE"));
    assert_eq!(c.get_with("/limited", "").status, 200);
    s.stop();
}

#[test]
fn options_is_automatic() {
    let s = server();
    let mut c = s.connect();
    for (path, allow) in [
        ("/items", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        ("/limited/", "GET, HEAD, OPTIONS"),
        ("/healthz", "GET, HEAD, OPTIONS"),
    ] {
        c.send(format!("OPTIONS {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_response();
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("allow"), Some(allow), "{path}");
        assert!(r.header("content-length").is_none());
        assert!(r.body.is_empty());
    }
    // Nothing was left behind on the connection.
    assert_eq!(c.get_with("/items", "").status, 200);
    assert!(c.leftover().is_empty());
    s.stop();
}

#[test]
fn head_is_automatic() {
    let s = server();
    let mut c = s.connect();
    let get = c.get_with("/limited", "");
    c.send("HEAD /limited HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = c.read_head_response();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(head.header("content-length"), get.header("content-length"));
    c.send("HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_head_response();
    assert_eq!(r.status, 404);
    assert_eq!(c.get_with("/items", "").status, 200);
    assert!(c.leftover().is_empty());
    s.stop();
}

#[test]
fn query_is_decoded_and_bad_escapes_are_400() {
    let s = server();
    let mut c = s.connect();
    let v = c.get_with("/items?a=1&b=x%20y&c=p+q&d", "").json();
    assert_eq!(
        v["query"],
        serde_json::json!([["a", "1"], ["b", "x y"], ["c", "p q"], ["d", ""]])
    );
    for bad in ["/items?a=%zz", "/items?a=%4", "/items?%ff=1"] {
        let r = c.get_with(bad, "");
        r.assert_problem(400);
    }
    assert_eq!(c.get_with("/items", "").status, 200);
    s.stop();
}

#[test]
fn options_star_describes_the_server() {
    let server = TestServer::start(|a| a);
    let mut c = server.connect();
    c.send("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 204);
    assert!(r.header("allow").unwrap().contains("GET"));
    server.stop();
}
