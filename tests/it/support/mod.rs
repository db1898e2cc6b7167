//! The shared harness of the integration tests: servers on ephemeral ports
//! that stop when dropped ([`TestServer`], [`ExampleProcess`]), the one raw
//! HTTP client ([`Client`]), tokens, temporary directories, and a few
//! endpoints.
//!
//! Every test of the binary may run at the same time as any other, on
//! threads of one process: nothing here uses a fixed port, a fixed file
//! name, the current directory or `set_var`. No sleeps for
//! synchronisation: waiting is polling with a deadline ([`eventually`]).

pub mod api;
pub mod client;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod crud_suite;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod http_crud_suite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod live_db;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lightapi::auth::ClaimsExt;
use lightapi::auth::{unix_now, JwtConfig};
use lightapi::config::{Config, JwtSecret, LogLevel};
use lightapi::{Access, Endpoint, HandlerResult, Method, Request};
use serde_json::{json, Map, Value};

pub use client::{Client, Resp};
pub use server::{ExampleProcess, TestServer};

/// The HS256 secret every test server (and example process) accepts.
pub const SECRET: &[u8] = b"integration-test-secret-0123456789abcdef";

/// The ETag key of servers started with [`SECRET`].
pub fn etag_key() -> lightapi::__private::crud::etag::EtagKey {
    lightapi::__private::crud::etag::EtagKey::derive(SECRET)
}

/// A quiet configuration on 127.0.0.1:0 with a known secret.
pub fn config() -> Config {
    let mut c = Config::default();
    c.server.port = 0;
    c.server.workers = 4;
    c.server.reactors = 2;
    c.log = LogLevel::Off;
    c.jwt.secrets = vec![JwtSecret::new(SECRET.to_vec()).unwrap()];
    c
}

/// [`config`] on the database at `url`.
pub fn config_on(url: &str) -> Config {
    let mut c = config();
    c.database.url = url.parse().unwrap();
    c
}

/// A token for `subject` signed with `secret` (at least 32 bytes), valid
/// for `ttl` from `now`, with `extra` claims.
pub fn sign_subject(
    subject: &str,
    ttl: Duration,
    now: u64,
    extra: Map<String, Value>,
    secret: &[u8],
) -> String {
    JwtConfig::new(secret)
        .unwrap()
        .sign_subject(subject, ttl, now, extra)
}

/// A valid token for `subject`, admin or not.
pub fn token(subject: &str, admin: bool) -> String {
    let mut extra = Map::new();
    if admin {
        extra.insert("is_admin".into(), Value::Bool(true));
    }
    sign_subject(subject, Duration::from_secs(600), unix_now(), extra, SECRET)
}

/// `base` made unique in this process and run: `<base>_<pid>_<n>` (table
/// names, file names).
pub fn unique(base: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{base}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory under the system temp directory, removed (with what
/// it holds) on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/lightapi-<label>_<pid>_<n>`, created.
    pub fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique(&format!("lightapi-{label}")));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A SQLite URL for the file `name` in the directory.
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` until it is true or `within` has passed.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
        std::thread::park_timeout(Duration::from_millis(5));
    }
}

/// Echoes everything a handler receives; public, worker-run.
pub struct Echo;

impl Endpoint for Echo {
    fn get(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn post(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn put(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn patch(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn delete(&self, req: &Request) -> HandlerResult {
        Ok(describe(req).into())
    }
    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
}

/// A JSON description of a request.
pub fn describe(req: &Request) -> Value {
    let params: Map<String, Value> = req
        .params()
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    let query: Vec<Value> = req.query().iter().map(|(n, v)| json!([n, v])).collect();
    let headers: Vec<Value> = req
        .headers()
        .iter()
        .map(|(n, v)| json!([n, String::from_utf8_lossy(v)]))
        .collect();
    json!({
        "method": req.method().as_str(),
        "path": req.path(),
        "params": params,
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(req.body()),
        "body_len": req.body().len(),
        "sub": req.claims().and_then(|c| c.sub()),
    })
}

/// Sleeps for its duration, then answers `{"slept_ms": …}`; public,
/// worker-run. (The sleep is the handler's work, not synchronisation.)
pub struct Slow(pub Duration);

impl Endpoint for Slow {
    fn methods(&self) -> Option<&[Method]> {
        Some(&[Method::Get])
    }
    fn get(&self, _req: &Request) -> HandlerResult {
        std::thread::sleep(self.0);
        Ok(json!({"slept_ms": self.0.as_millis() as u64}).into())
    }
    fn access(&self, _method: Method) -> Access {
        Access::Public
    }
}
