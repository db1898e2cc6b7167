//! A JSON API under test, for the query, projection, CORS and OpenAPI
//! tests: one server per test on port 0, its database given by URL so the
//! same tests can run on other backends, one connection per request.

use std::net::SocketAddr;

use lightapi::{Config, LightApi};
use serde_json::Value;

use super::{token, Client, Resp, TempDir, TestServer};

/// A database for one test. SQLite: a file in a fresh temporary directory,
/// removed on drop. The seam for other backends: set
/// `LIGHTAPI_TEST_DATABASE_URL` (tests use uniquely named tables).
pub struct TestDb {
    pub url: String,
    _dir: Option<TempDir>,
}

/// The database URL for test `name`.
pub fn database_url(name: &str) -> TestDb {
    if let Ok(url) = std::env::var("LIGHTAPI_TEST_DATABASE_URL") {
        return TestDb { url, _dir: None };
    }
    let dir = TempDir::new(name);
    TestDb {
        url: dir.sqlite_url("api.db"),
        _dir: Some(dir),
    }
}

/// A running server; derefs to a client with an admin token.
pub struct Api {
    pub client: ApiClient,
    _server: TestServer,
}

/// Where a server is and a token for it; cheap to clone into threads.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub addr: SocketAddr,
    pub token: String,
}

impl std::ops::Deref for Api {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.client
    }
}

impl Api {
    /// Starts `build` on the test configuration with `database_url`.
    pub fn start(database_url: &str, build: impl FnOnce(LightApi) -> LightApi) -> Api {
        Api::start_with(database_url, |_| {}, build)
    }

    /// As [`Api::start`], changing the configuration first.
    pub fn start_with(
        database_url: &str,
        tweak: impl FnOnce(&mut Config),
        build: impl FnOnce(LightApi) -> LightApi,
    ) -> Api {
        let server = TestServer::start_with(
            |c| {
                c.database.url = database_url.parse().unwrap();
                c.server.workers = 2;
                c.server.reactors = 1;
                tweak(c);
            },
            build,
        );
        Api {
            client: ApiClient {
                addr: server.addr(),
                token: token("tester", true),
            },
            _server: server,
        }
    }
}

impl ApiClient {
    /// Sends one request on a connection of its own (`Connection: close`);
    /// `headers` are full lines (`Name: value`) without CRLF; a body is
    /// sent as JSON.
    pub fn send(&self, method: &str, path: &str, headers: &[&str], body: Option<&Value>) -> Resp {
        let mut fields = vec![("Connection", "close")];
        fields.extend(headers.iter().map(|h| {
            let (n, v) = h
                .split_once(':')
                .unwrap_or_else(|| panic!("header line {h:?}"));
            (n, v.trim_start())
        }));
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
        if bytes.is_some() {
            fields.push(("Content-Type", "application/json"));
        }
        Client::new(self.addr).request(method, path, &fields, bytes.as_deref())
    }

    fn auth(&self) -> String {
        format!("Authorization: Bearer {}", self.token)
    }

    /// Authenticated `GET`.
    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[&self.auth()], None)
    }

    /// Authenticated `GET` expecting `200`; the JSON body.
    pub fn get_ok(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {r:?}");
        r.json()
    }

    /// Authenticated `POST` of a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, &[&self.auth()], Some(body))
    }

    /// Authenticated `POST` expecting `201`; the stored row.
    pub fn create(&self, path: &str, body: &Value) -> Value {
        let r = self.post(path, body);
        assert_eq!(r.status, 201, "POST {path} {body}: {}", r.text());
        r.json()
    }

    /// Authenticated request with a JSON body and extra headers.
    pub fn with_body(&self, method: &str, path: &str, extra: &[&str], body: &Value) -> Resp {
        let mut headers = vec![self.auth()];
        headers.extend(extra.iter().map(|h| h.to_string()));
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        self.send(method, path, &refs, Some(body))
    }

    /// Authenticated `DELETE`.
    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, &[&self.auth()], None)
    }

    /// Asserts `GET path` is a `400` problem whose detail names `param`.
    pub fn assert_rejects(&self, path: &str, param: &str) {
        let r = self.get(path);
        r.assert_problem(400);
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            detail.contains(&format!("`{param}`")),
            "GET {path}: detail {detail:?} does not name `{param}`"
        );
    }
}

/// Percent-encodes a query component.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The ids of a page's `results`.
pub fn ids(page: &Value) -> Vec<i64> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {page}"))
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}
