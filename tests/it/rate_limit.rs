//! Rate limits over real HTTP: the default limit per address or subject,
//! `429` with `Retry-After`, the `RateLimit` headers, trusted proxies,
//! per-route declarations, CORS, and (with the `redis` feature) counters
//! shared by two servers through the local Redis (`127.0.0.1:6379`;
//! `SKIPPED:` without it, unless `LIGHTAPI_TEST_REQUIRE_SERVERS` is set),
//! and what happens when Redis cannot be reached.

use lightapi::ratelimit::{RateLimit, RateLimitKey};
use lightapi::{Access, Cors, Endpoint, HandlerResult, LightApi, Method, Request};
use serde_json::json;

use crate::support::{Client, Resp, TestServer};

/// `GET`/`POST /hello`, public; `POST` limited to `post_limit` when given.
struct Hello {
    post_limit: Option<RateLimit>,
}

impl Endpoint for Hello {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get, Method::Post])
    }

    fn get(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"hello": "world"}).into())
    }

    fn post(&self, _req: &Request) -> HandlerResult {
        Ok(json!({"posted": true}).into())
    }

    fn access(&self, _method: Method) -> Access {
        Access::Public
    }

    fn rate_limit(&self, method: Method) -> Option<RateLimit> {
        self.post_limit.clone().filter(|_| method == Method::Post)
    }
}

fn hello(app: LightApi) -> LightApi {
    app.register("/hello", Hello { post_limit: None })
}

/// The server with `limit` as the default of every route.
fn limited(limit: RateLimit) -> TestServer {
    TestServer::start_with(|c| c.rate_limit.default = Some(limit), hello)
}

/// The `r` (remaining) of policy `name` in a `RateLimit` field.
fn remaining(resp: &Resp, name: &str) -> Option<u64> {
    param(resp.header("ratelimit")?, name, "r")
}

/// Parameter `key` of the item `"name"` in a structured-field list.
fn param(field: &str, name: &str, key: &str) -> Option<u64> {
    let quoted = format!("\"{name}\"");
    let item = field
        .split(',')
        .map(str::trim)
        .find(|item| item.starts_with(&quoted))?;
    item.split(';')
        .skip(1)
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

#[test]
fn per_address_limit_answers_429_with_retry_after_once_spent() {
    let server = limited(RateLimit::per_minute(3));
    let mut c = server.client();
    for left in [2, 1, 0] {
        let r = c.get("/hello");
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            r.header("ratelimit-policy"),
            Some("\"default\";q=3;w=60"),
            "{r:?}"
        );
        assert_eq!(remaining(&r, "default"), Some(left), "{r:?}");
        let reset = param(r.header("ratelimit").unwrap(), "default", "t").unwrap();
        assert!((1..=60).contains(&reset), "{r:?}");
    }
    let refused = c.get("/hello");
    refused.assert_problem(429);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{refused:?}");
    assert_eq!(remaining(&refused, "default"), Some(0));
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("too many requests"));
    // The default counts across all the application's routes, and every
    // verb; built-in routes are not counted.
    assert_eq!(c.request("POST", "/hello", &[], None).status, 429);
    let health = c.get("/healthz");
    assert_eq!(health.status, 200);
    assert!(health.header("ratelimit").is_none(), "{health:?}");
    server.stop();
}

#[test]
fn per_subject_limits_keep_two_tokens_apart() {
    let server = limited(RateLimit::per_minute(2).by(RateLimitKey::Subject));
    let mut alice = server.client_as("alice");
    let mut bob = server.client_as("bob");
    let mut anonymous = server.client();
    assert_eq!(remaining(&alice.get("/hello"), "default"), Some(1));
    assert_eq!(remaining(&alice.get("/hello"), "default"), Some(0));
    alice.get("/hello").assert_problem(429);
    // Bob, from the same address, has his own budget.
    let r = bob.get("/hello");
    assert_eq!((r.status, remaining(&r, "default")), (200, Some(1)));
    // A caller without a token is counted by address, apart from both.
    let r = anonymous.get("/hello");
    assert_eq!((r.status, remaining(&r, "default")), (200, Some(1)));
    server.stop();
}

fn get_from(c: &mut Client, forwarded_for: &str) -> u16 {
    c.request("GET", "/hello", &[("X-Forwarded-For", forwarded_for)], None)
        .status
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let server = TestServer::start_with(
        |c| {
            c.rate_limit.default = Some(RateLimit::per_minute(1));
            c.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        },
        hello,
    );
    let mut c = server.client();
    assert_eq!(get_from(&mut c, "198.51.100.1"), 200);
    assert_eq!(get_from(&mut c, "198.51.100.1"), 429);
    assert_eq!(get_from(&mut c, "198.51.100.2"), 200);
    server.stop();

    // Without trusted proxies the header is the client's own word: ignored.
    let server = limited(RateLimit::per_minute(1));
    let mut c = server.client();
    assert_eq!(get_from(&mut c, "198.51.100.1"), 200);
    assert_eq!(get_from(&mut c, "198.51.100.2"), 429);
    server.stop();
}

#[test]
fn a_route_declaration_limits_only_that_route_and_verb() {
    let server = TestServer::start(|app| {
        app.register(
            "/limited",
            Hello {
                post_limit: Some(RateLimit::per_minute(1)),
            },
        )
        .register("/other", Hello { post_limit: None })
    });
    let mut c = server.client();
    let first = c.request("POST", "/limited", &[], None);
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"post/limited\";q=1;w=60")
    );
    assert_eq!(remaining(&first, "post/limited"), Some(0));
    c.request("POST", "/limited", &[], None).assert_problem(429);
    for (method, path) in [("GET", "/limited"), ("POST", "/other"), ("GET", "/other")] {
        let r = c.request(method, path, &[], None);
        assert_eq!(r.status, 200, "{method} {path}");
        assert!(r.header("ratelimit").is_none(), "{method} {path}: {r:?}");
    }
    // The OpenAPI document tells which operations may answer 429.
    let doc = c.get("/openapi.json").json();
    let paths = &doc["paths"];
    assert!(paths["/limited"]["post"]["responses"]["429"].is_object());
    assert!(paths["/limited"]["get"]["responses"]["429"].is_null());
    assert!(paths["/other"]["post"]["responses"]["429"].is_null());
    server.stop();
}

#[cfg(feature = "sqlite")]
#[test]
fn a_model_verb_limit_is_shared_by_its_two_routes_and_adds_to_the_default() {
    use crate::support::TempDir;
    use lightapi::{Field, Model};

    let dir = TempDir::new("rate_limit_model");
    let url = dir.sqlite_url("notes");
    let server = TestServer::start_with(
        |c| {
            c.database.url = url.parse().unwrap();
            c.rate_limit.default = Some(RateLimit::per_minute(100));
        },
        |app| {
            let note = Model::new("note")
                .field("body", Field::text())
                .into_resource()
                .default_access(Access::Public)
                .rate_limit(Method::Get, RateLimit::per_minute(2));
            app.register("/note", note)
        },
    );
    let mut c = server.client();
    let list = c.get("/note");
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(
        list.header("ratelimit-policy"),
        Some("\"note.get\";q=2;w=60, \"default\";q=100;w=60")
    );
    assert_eq!(remaining(&list, "default"), Some(99));
    assert_eq!(remaining(&list, "note.get"), Some(1));
    // The item route spends the same budget, whatever it answers.
    let item = c.get("/note/1");
    assert_eq!(item.status, 404);
    assert_eq!(remaining(&item, "note.get"), Some(0));
    c.get("/note").assert_problem(429);
    // `HEAD` is counted as `GET`.
    assert_eq!(c.request("HEAD", "/note", &[], None).status, 429);
    // Refused by its own policy, a request did not spend the default.
    let created = c.json("POST", "/note", &json!({"body": "hi"}));
    assert_eq!(remaining(&created, "default"), Some(97), "{created:?}");
    // Other verbs have only the default.
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(
        created.header("ratelimit-policy"),
        Some("\"default\";q=100;w=60")
    );
    server.stop();
}

#[test]
fn conflicting_declarations_of_one_policy_stop_start_up() {
    let bad = TestServer::try_start(crate::support::config(), |app| {
        app.register(
            "/a",
            Hello {
                post_limit: Some(RateLimit::per_minute(1).named("shared")),
            },
        )
        .register(
            "/b",
            Hello {
                post_limit: Some(RateLimit::per_minute(2).named("shared")),
            },
        )
    });
    let e = bad.expect_err("two quotas under one name");
    assert!(e.to_string().contains("shared"), "{e}");
}

#[test]
fn routes_naming_one_policy_share_its_budget() {
    let server = TestServer::start(|app| {
        let shared = || Hello {
            post_limit: Some(RateLimit::per_minute(2).named("writes")),
        };
        app.register("/a", shared()).register("/b", shared())
    });
    let mut c = server.client();
    assert_eq!(c.request("POST", "/a", &[], None).status, 200);
    assert_eq!(c.request("POST", "/b", &[], None).status, 200);
    assert_eq!(c.request("POST", "/a", &[], None).status, 429);
    assert_eq!(c.request("POST", "/b", &[], None).status, 429);
    server.stop();
}

#[test]
fn cors_exposes_the_rate_limit_headers() {
    let server = TestServer::start(|app| {
        hello(app)
            .cors(Cors::new().allow_origin("https://app.example"))
            .configure(|c| c.rate_limit.default = Some(RateLimit::per_minute(5)))
    });
    let mut c = server.client();
    let r = c.request("GET", "/hello", &[("Origin", "https://app.example")], None);
    assert_eq!(r.status, 200);
    let exposed = r.header("access-control-expose-headers").unwrap();
    let names: Vec<&str> = exposed.split(',').map(str::trim).collect();
    assert!(names.contains(&"RateLimit"), "{exposed}");
    assert!(names.contains(&"RateLimit-Policy"), "{exposed}");
    assert!(names.contains(&"Retry-After"), "{exposed}");
    server.stop();
}

#[cfg(feature = "redis")]
mod redis {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use lightapi::config::{Config, RedisFailure};
    use lightapi::ratelimit::RateLimit;

    use super::{hello, remaining};
    use crate::support::{eventually, unique, TestServer};

    const REDIS_URL: &str = "redis://127.0.0.1:6379";

    /// Prints why a test is skipped, or panics when servers are required
    /// (`LIGHTAPI_TEST_REQUIRE_SERVERS`, as CI runs the tests).
    fn skip(why: &str) {
        let line = format!("SKIPPED: {why}");
        if std::env::var_os("LIGHTAPI_TEST_REQUIRE_SERVERS").is_some() {
            panic!("{line}");
        }
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// Whether the local Redis answers `PING` (printing why not).
    fn local_redis() -> bool {
        let addr = "127.0.0.1:6379".parse().unwrap();
        let answer = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"PING\r\n")?;
            let mut buf = [0u8; 7];
            s.read_exact(&mut buf)?;
            Ok(buf)
        });
        match answer {
            Ok(buf) if &buf == b"+PONG\r\n" => true,
            Ok(buf) => {
                skip(&format!("Redis at {addr} answered {buf:?} to PING"));
                false
            }
            Err(e) => {
                skip(&format!("Redis not reachable at {addr}: {e}"));
                false
            }
        }
    }

    /// A server whose default limit is counted in Redis under `prefix`.
    fn shared(prefix: &str, url: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_with(
            |c| {
                c.rate_limit.default = Some(RateLimit::per_minute(3));
                c.rate_limit.redis_url = Some(url.to_owned());
                c.rate_limit.redis_prefix = prefix.to_owned();
                // Generous: the machine may be loaded.
                c.rate_limit.redis_timeout = Duration::from_secs(2);
                tweak(c);
            },
            hello,
        )
    }

    /// A port nothing listens on (freed by the system a moment ago).
    fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A Redis URL nothing listens on.
    fn closed_port_url() -> String {
        format!("redis://127.0.0.1:{}", free_port())
    }

    /// A Redis server of the test's own, without persistence; killed on
    /// drop.
    struct OwnRedis(Child);

    impl OwnRedis {
        /// Starts `redis-server` on `port`, or says why it cannot.
        fn start(port: u16) -> Option<OwnRedis> {
            let started = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match started {
                Ok(child) => Some(OwnRedis(child)),
                Err(e) => {
                    skip(&format!("redis-server does not start: {e}"));
                    None
                }
            }
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn two_servers_share_one_budget() {
        if !local_redis() {
            return;
        }
        let prefix = format!("{}:", unique("lightapi_test_rl"));
        let one = shared(&prefix, REDIS_URL, |_| {});
        let two = shared(&prefix, REDIS_URL, |_| {});
        let (mut a, mut b) = (one.client(), two.client());
        assert_eq!(remaining(&a.get("/hello"), "default"), Some(2));
        assert_eq!(remaining(&b.get("/hello"), "default"), Some(1));
        assert_eq!(remaining(&a.get("/hello"), "default"), Some(0));
        b.get("/hello").assert_problem(429);
        let refused = a.get("/hello");
        refused.assert_problem(429);
        let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{refused:?}");
        // Another prefix is another set of counters.
        let other = shared(
            &format!("{}:", unique("lightapi_test_rl")),
            REDIS_URL,
            |_| {},
        );
        assert_eq!(other.client().get("/hello").status, 200);
        one.stop();
        two.stop();
        other.stop();
    }

    #[test]
    fn unreachable_redis_fails_open_to_this_process_counters() {
        let server = shared("x:", &closed_port_url(), |_| {});
        let mut c = server.client();
        for left in [2, 1, 0] {
            let r = c.get("/hello");
            assert_eq!((r.status, remaining(&r, "default")), (200, Some(left)));
        }
        c.get("/hello").assert_problem(429);
        server.stop();
    }

    #[test]
    fn unreachable_redis_fails_closed_with_503_when_configured() {
        let server = shared("x:", &closed_port_url(), |c| {
            c.rate_limit.redis_failure = RedisFailure::Closed;
        });
        let mut c = server.client();
        for _ in 0..3 {
            let r = c.get("/hello");
            r.assert_problem(503);
            assert!(r.header("retry-after").is_some(), "{r:?}");
        }
        // Routes without limits are unaffected.
        assert_eq!(c.get("/healthz").status, 200);
        server.stop();
    }

    #[test]
    fn shared_counting_resumes_once_redis_answers_again() {
        let port = free_port();
        let url = format!("redis://127.0.0.1:{port}");
        let server = shared("back:", &url, |c| {
            c.rate_limit.default = Some(RateLimit::per_minute(1000));
            c.rate_limit.redis_failure = RedisFailure::Closed;
        });
        let mut c = server.client();
        c.get("/hello").assert_problem(503);
        let Some(_redis) = OwnRedis::start(port) else {
            return;
        };
        // Redis is tried again a second after each failure: generous bound.
        let back = eventually(Duration::from_secs(30), || c.get("/hello").status == 200);
        assert!(back, "requests are still refused with Redis back");
        let r = c.get("/hello");
        assert_eq!(r.status, 200);
        assert!(
            remaining(&r, "default").is_some_and(|left| left < 999),
            "{r:?}"
        );
        server.stop();
    }
}
