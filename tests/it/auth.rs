//! Authentication over HTTP: login success, failure and rate
//! limiting; token checks at the door; key rotation; the generated secret
//! and its start-up token; row scoping through filters.

use std::time::Duration;

use lightapi::auth::ClaimsExt;
use lightapi::auth::Credentials;
use lightapi::auth::{unix_now, JwtConfig};
use lightapi::config::JwtSecret;
use lightapi::{Access, Field, Method, Model};
use serde_json::{json, Map, Value};

use crate::support::{
    sign_subject, token, Client, ExampleProcess, Resp, TempDir, TestServer, SECRET,
};

fn login_body(user: &str, password: &str) -> String {
    let body = json!({"username": user, "password": password}).to_string();
    format!(
        "POST /auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn validator(c: &Credentials) -> Result<Option<Map<String, Value>>, String> {
    match (c.username.as_str(), c.password.as_str()) {
        ("alice", "wonderland") => Ok(Some(Map::new())),
        ("root", "toor") => {
            let mut m = Map::new();
            m.insert("is_admin".into(), Value::Bool(true));
            Ok(Some(m))
        }
        ("broken", _) => Err("directory unreachable: ldap://10.0.0.1".into()),
        _ => Ok(None),
    }
}

/// A protected endpoint answering the caller's subject.
struct Private;

impl lightapi::Endpoint for Private {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }

    fn get(&self, req: &lightapi::Request) -> lightapi::HandlerResult {
        Ok(json!({"sub": req.claims().and_then(|c| c.sub())}).into())
    }
}

fn bearer(r: &Resp) -> String {
    format!(
        "Authorization: Bearer {}\r\n",
        r.json()["token"].as_str().unwrap()
    )
}

#[test]
fn login_issues_tokens_that_open_protected_routes() {
    let server = TestServer::start(|app| app.login(validator).register("/echo", Private));
    let mut c = server.connect();
    c.send(login_body("alice", "wonderland"));
    let r = c.read_response();
    assert_eq!(r.status, 200, "{r:?}");
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let claims = JwtConfig::verify(
        &JwtConfig::new(SECRET).unwrap(),
        body["token"].as_str().unwrap(),
        unix_now(),
    )
    .unwrap();
    assert_eq!(claims.sub(), Some("alice"));
    assert!(!claims.is_admin());
    let auth = bearer(&r);
    assert_eq!(c.get_with("/echo", &auth).status, 200);
    // Without the token the same route is refused.
    let r = c.get_with("/echo", "");
    r.assert_problem(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    server.stop();
}

#[test]
fn login_failures_are_401_without_detail_of_why() {
    let server = TestServer::start(|app| app.login(validator));
    let mut c = server.connect();
    for (user, pass) in [("alice", "wrong"), ("nobody", "x"), ("broken", "x")] {
        c.send(login_body(user, pass));
        let r = c.read_response();
        r.assert_problem(401);
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(text.contains("invalid username or password"), "{text}");
        assert!(
            !text.contains("ldap"),
            "validator errors are logged, never shown"
        );
    }
    // A body without the two strings is a 400, not a 401.
    let body = r#"{"username": 1}"#;
    c.send(format!(
        "POST /auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    c.read_response().assert_problem(400);
    server.stop();
}

#[test]
fn login_answers_are_never_stored() {
    let server = login_server();
    let mut c = server.connect();
    c.send(login_body("alice", "wonderland"));
    let ok = c.read_response();
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.json()["token"].is_string());
    c.send(login_body("alice", "wrong"));
    let refused = c.read_response();
    assert_eq!(refused.status, 401);
    let body = r#"{"username": 1}"#;
    c.send(format!(
        "POST /auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    let bad = c.read_response();
    assert_eq!(bad.status, 400);
    c.send(login_body("alice", "wrong again"));
    assert_eq!(c.read_response().status, 401);
    c.send(login_body("alice", "wonderland"));
    let limited = c.read_response();
    assert_eq!(limited.status, 429);
    // Answers the dispatcher makes for the route itself too.
    let get = c.get_with("/auth/login", "");
    assert_eq!(get.status, 405, "{get:?}");
    c.send("OPTIONS /auth/login HTTP/1.1\r\nHost: t\r\n\r\n");
    let options = c.read_response();
    assert_eq!(options.status, 204, "{options:?}");
    for r in [&ok, &refused, &bad, &limited, &get, &options] {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
        assert_eq!(r.header_count("cache-control"), 1, "{r:?}");
    }
    server.stop();
}

#[test]
fn login_is_rate_limited_per_client_address() {
    let server = login_server();
    let mut c = server.connect();
    for _ in 0..3 {
        c.send(login_body("alice", "wrong"));
        assert_eq!(c.read_response().status, 401);
    }
    c.send(login_body("alice", "wonderland"));
    let r = c.read_response();
    r.assert_problem(429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    server.stop();
}

#[test]
fn a_successful_login_forgives_earlier_failures() {
    let server = login_server();
    let mut c = server.connect();
    for round in 0..3 {
        for _ in 0..2 {
            c.send(login_body("alice", "wrong"));
            assert_eq!(c.read_response().status, 401, "round {round}");
        }
        c.send(login_body("alice", "wonderland"));
        assert_eq!(c.read_response().status, 200, "round {round}");
    }
    server.stop();
}

fn login_from(c: &mut crate::support::Client, user: &str, forwarded_for: &str) -> u16 {
    let body = json!({"username": user, "password": "wrong"}).to_string();
    c.send(format!(
        "POST /auth/login HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: {forwarded_for}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    c.read_response().status
}

#[test]
fn behind_a_trusted_proxy_login_limits_key_on_the_forwarded_client() {
    let server = TestServer::start_with(
        |c| {
            c.login.per_minute = 2;
            c.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        },
        |app| app.login(validator),
    );
    let mut c = server.connect();
    assert_eq!(login_from(&mut c, "u1", "198.51.100.1"), 401);
    assert_eq!(login_from(&mut c, "u2", "198.51.100.1"), 401);
    assert_eq!(login_from(&mut c, "u3", "198.51.100.1"), 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(login_from(&mut c, "u4", "198.51.100.2"), 401);
    // What the client wrote itself, left of the proxy's entry, is not believed.
    assert_eq!(login_from(&mut c, "u5", "198.51.100.9, 198.51.100.1"), 429);
    server.stop();
}

#[test]
fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let server = TestServer::start_with(|c| c.login.per_minute = 2, |app| app.login(validator));
    let mut c = server.connect();
    assert_eq!(login_from(&mut c, "u1", "198.51.100.1"), 401);
    assert_eq!(login_from(&mut c, "u2", "198.51.100.2"), 401);
    assert_eq!(login_from(&mut c, "u3", "198.51.100.3"), 429);
    server.stop();
}

#[test]
fn tokens_are_checked_at_the_door() {
    // Room in the head for a token over the 8 KiB token cap.
    let server = TestServer::start_with(
        |c| c.limits.max_head_bytes = 32 * 1024,
        |app| app.register("/echo", Private),
    );
    let mut c = server.connect();
    let now = unix_now();
    let mut expired = Map::new();
    expired.insert("sub".into(), json!("a"));
    expired.insert("exp".into(), json!(now - 3600));
    let mut no_exp = Map::new();
    no_exp.insert("sub".into(), json!("a"));
    let cases = [
        JwtConfig::new(SECRET).unwrap().sign(&expired),
        JwtConfig::new(SECRET).unwrap().sign(&no_exp),
        sign_subject(
            "a",
            Duration::from_secs(60),
            now,
            Map::new(),
            b"another-secret-another-secret-0123",
        ),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.".to_string(),
        "not a token".to_string(),
        "a".repeat(9000),
    ];
    for t in cases {
        let r = c.get_with("/echo", &format!("Authorization: Bearer {t}\r\n"));
        r.assert_problem(401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let detail = r.json()["detail"].as_str().unwrap().to_string();
        assert_eq!(
            detail, "the bearer token is invalid or expired",
            "one generic message"
        );
    }
    // Another scheme is not a bearer token: a plain challenge.
    let r = c.get_with("/echo", "Authorization: Basic YTpi\r\n");
    r.assert_problem(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    server.stop();
}

#[test]
fn rotated_secrets_verify_and_the_first_signs() {
    let old = b"the-old-secret-the-old-secret-0123456".to_vec();
    let server = TestServer::start_with(
        |c| {
            c.jwt.secrets = vec![
                JwtSecret::new(SECRET.to_vec()).unwrap(),
                JwtSecret::new(old.clone()).unwrap(),
            ]
        },
        |app| app.login(validator).register("/echo", Private),
    );
    let mut c = server.connect();
    let legacy = sign_subject("a", Duration::from_secs(60), unix_now(), Map::new(), &old);
    assert_eq!(
        c.get_with("/echo", &format!("Authorization: Bearer {legacy}\r\n"))
            .status,
        200
    );
    c.send(login_body("alice", "wonderland"));
    let t = c.read_response().json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(JwtConfig::verify(&JwtConfig::new(SECRET).unwrap(), &t, unix_now()).is_ok());
    server.stop();
}

#[test]
fn permissions_per_route_and_method() {
    let dir = TempDir::new("auth");
    let url = dir.sqlite_url("auth.db");
    let note = Model::new("note")
        .field("text", Field::text())
        .into_resource()
        .access(Method::Get, Access::Public)
        .access(Method::Delete, Access::Admin)
        .access(
            Method::Post,
            Access::check(|claims, _req| claims.sub() != Some("mallory")),
        );
    let server = TestServer::start_with(
        |c| c.database.url = url.parse().unwrap(),
        |app| app.register("/note", note),
    );
    let mut c = server.connect();
    let post = |who: &str| {
        let body = r#"{"text":"hi"}"#;
        format!(
            "POST /note HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            token(who, false),
            body.len()
        )
    };
    assert_eq!(c.get_with("/note", "").status, 200, "public read");
    c.send(post("alice"));
    assert_eq!(c.read_response().status, 201);
    c.send(post("mallory"));
    c.read_response().assert_problem(403);
    // A request refused from its head is answered without reading its
    // body, so the connection closes after it.
    c.assert_closed();
    let mut c = server.connect();
    let del = |admin: bool| {
        format!(
            "DELETE /note/1 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\r\n",
            token("alice", admin)
        )
    };
    c.send(del(false));
    c.read_response().assert_problem(403);
    c.send(del(true));
    assert_eq!(c.read_response().status, 204);
    for p in ["/healthz", "/readyz", "/openapi.json"] {
        assert_eq!(c.get_with(p, "").status, 200, "{p} is public");
    }
    // OPTIONS is as open as the route's most open method: `/note` has a
    // public GET, so anyone may ask which methods it has.
    c.send("OPTIONS /note HTTP/1.1\r\nHost: t\r\n\r\n");
    let o = c.read_response();
    assert_eq!(o.status, 204);
    assert_eq!(o.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    server.stop();
}

#[test]
fn options_on_a_protected_route_needs_a_token() {
    let server = TestServer::start(|app| app.register("/echo", Private));
    let mut c = server.connect();
    c.send("OPTIONS /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_response();
    r.assert_problem(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(r.header("allow"), None, "the methods are not told");
    c.send("OPTIONS /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer not-a-token\r\n\r\n");
    c.read_response().assert_problem(401);
    c.send(format!(
        "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\r\n",
        token("alice", false)
    ));
    let o = c.read_response();
    assert_eq!(o.status, 204);
    assert_eq!(o.header("allow"), Some("GET, HEAD, OPTIONS"));
    // `OPTIONS *` names only the methods the server knows.
    c.send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response().status, 204);
    server.stop();
}

#[test]
fn scoped_rows_cannot_be_reached_through_filters() {
    let dir = TempDir::new("scope");
    let url = dir.sqlite_url("scope.db");
    let doc = Model::new("doc")
        .field("title", Field::text())
        .scope("owner_id", "sub")
        .into_resource()
        .filter_fields(&["title", "owner_id"])
        .search_fields(&["title"]);
    let server = TestServer::start_with(
        |c| c.database.url = url.parse().unwrap(),
        |app| app.register("/doc", doc),
    );
    let mut c = server.connect();
    let body = r#"{"title":"secret plan"}"#;
    c.send(format!(
        "POST /doc HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        token("alice", false),
        body.len()
    ));
    assert_eq!(c.read_response().status, 201);
    let bob = format!("Authorization: Bearer {}\r\n", token("bob", false));
    for q in [
        "?owner_id=alice",
        "?title=secret%20plan",
        "?search=secret",
        "?id=1",
        "?owner_id__in=alice,bob",
    ] {
        let r = c.get_with(&format!("/doc{q}"), &bob);
        assert_eq!(r.status, 200, "{q}");
        assert_eq!(r.json()["results"], json!([]), "{q}");
        assert_eq!(r.json()["count"], 0, "{q}");
    }
    server.stop();
}

/// `cargo run --example person` without a secret is secure and usable in one
/// step: it logs a working token.
#[test]
fn generated_secret_logs_a_working_token() {
    let dir = TempDir::new("gen");
    let mut cmd = ExampleProcess::command("person");
    cmd.env_remove("LIGHTAPI_JWT_SECRET")
        .env("LIGHTAPI_DATABASE_URL", dir.sqlite_url("p.db"));
    let ex = ExampleProcess::spawn(cmd);
    let line = ex
        .wait_for_line(Duration::from_secs(20), |l| {
            l.contains("valid for 1 hour: ")
        })
        .expect("a token is logged at start-up");
    assert!(
        line.contains("LIGHTAPI_JWT_SECRET"),
        "says how to set a persistent secret"
    );
    let token = line
        .split("valid for 1 hour: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the token follows");
    let mut c = Client::connect(ex.addr());
    assert_eq!(
        c.get_with("/person", &format!("Authorization: Bearer {token}\r\n"))
            .status,
        200
    );
    assert_eq!(c.get_with("/person", "").status, 401);
}

/// A server with the login endpoint, allowing 3 failed attempts a minute.
fn login_server() -> TestServer {
    TestServer::start_with(
        |c| {
            c.login.per_minute = 3;
            c.login.per_hour = 100;
        },
        |app| app.login(validator),
    )
}
