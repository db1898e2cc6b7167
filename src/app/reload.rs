//! Swapping a new application into a running server: built as at
//! start-up (every declaration checked, the database's tables made or
//! checked), then served by every request that starts after the swap,
//! while requests already in flight finish under the application they
//! began with.
//!
//! What the server bound or sized when it started — the address, the
//! thread counts, the connection and message limits, the connection
//! timeouts, the metrics path — stays as it is; a change to it is
//! reported as needing a restart. The database is reused when its
//! settings are unchanged; otherwise the new one is opened first (a
//! failure keeps the running application) and the old one closed once
//! its last request is done. The metrics go on counting in the same
//! series. Rate limit counters held in this process, and the login
//! limiter's, start afresh (those held in Redis carry on).

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Engine;
use crate::config::Config;
use crate::error::StartError;
use crate::log::Logger;
use crate::server::swap::same_engine;
use crate::server::{ServerHandle, Swapper};

use super::{LightApi, Reuse};

/// How often a replaced database is checked for requests still using it.
const RETIRE_POLL: Duration = Duration::from_millis(20);

impl ServerHandle {
    /// Serves `app` from now on, without dropping a connection: every
    /// request that starts after the swap is served by it, on open
    /// keep-alive connections too, while requests already in flight
    /// finish under the application they began with.
    ///
    /// `app` is built as at start-up (declarations checked, tables made
    /// or checked), except that a database that does not answer is an
    /// error. Its database is the running one, not connected again, when
    /// the database settings are unchanged; the metrics go on counting.
    /// What the server bound or sized when it started (address, thread
    /// counts, connection and message limits, connection timeouts, the
    /// metrics path) is kept as it is, and a change to it is logged as
    /// needing a restart. Without a JWT secret of its own, `app` goes on
    /// with the running one (generated at start, if it was).
    ///
    /// ```no_run
    /// use lightapi::{Field, LightApi, Model};
    /// let person = || Model::new("person").field("name", Field::text());
    /// let server = LightApi::new().register("/person", person()).start()?;
    /// // Later: the same model, now also at /people.
    /// let next = LightApi::new()
    ///     .register("/person", person())
    ///     .register("/people", person());
    /// server.reload(next)?;
    /// # Ok::<(), lightapi::StartError>(())
    /// ```
    ///
    /// # Errors
    /// Any [`StartError`] of building `app`; the running application then
    /// goes on serving, unchanged.
    pub fn reload(&self, app: LightApi) -> Result<(), StartError> {
        let kept = reload(&self.swapper(), app)?;
        if !kept.is_empty() {
            let (current, _, _) = self.swapper().apps().current();
            current.log.warn(&needs_restart(&kept));
        }
        Ok(())
    }
}

/// The warning for settings a reload kept as the server started with.
pub(crate) fn needs_restart(kept: &[&str]) -> String {
    format!(
        "{} changed: this needs a restart, the running values are kept",
        kept.join(", ")
    )
}

/// Builds `app` and swaps it into the server `swapper` drives; answers
/// the settings kept as the server started with (a change to them needs
/// a restart).
///
/// # Errors
/// Any [`StartError`] of the build; nothing is swapped then.
pub(crate) fn reload(swapper: &Swapper, app: LightApi) -> Result<Vec<&'static str>, StartError> {
    let apps = swapper.apps();
    let _one_at_a_time = apps.reload_lock();
    let (running, running_config, _) = apps.current();
    let mut app = app;
    let kept = keep_restart_settings(&running_config, &mut app.config);
    if app.config.jwt.secrets.is_empty() {
        // No secret of its own: the running one goes on (which may be
        // the one generated at start), so tokens stay valid.
        app.config
            .jwt
            .secrets
            .clone_from(&running_config.jwt.secrets);
    }
    let same_database = same_database(&running_config, &app.config);
    let reuse = Reuse {
        engine: running.engine.clone().filter(|_| same_database),
        metrics: running.metrics.clone(),
        strict: true,
    };
    let built = app.build_with(reuse)?;
    let log = built.app.log;
    // The new application owns its database now; what `on_stop` would
    // close is the server's to close at shutdown.
    drop(built.on_stop);
    // The running database, unless the new application drives it too.
    let retired = running
        .engine
        .clone()
        .filter(|_| !same_engine(&running, &built.app));
    drop(running);
    drop(swapper.swap(built.app, built.config));
    if let Some(engine) = retired {
        retire(engine, log);
    }
    Ok(kept)
}

/// Copies into `next` what the running server bound or sized at start
/// (`running`), which a reload cannot change; answers the names of those
/// that differed.
fn keep_restart_settings(running: &Config, next: &mut Config) -> Vec<&'static str> {
    let mut kept = Vec::new();
    let s = &running.server;
    keep(&mut kept, "server.host", &mut next.server.host, &s.host);
    keep(&mut kept, "server.port", &mut next.server.port, &s.port);
    keep(
        &mut kept,
        "server.workers",
        &mut next.server.workers,
        &s.workers,
    );
    keep(
        &mut kept,
        "server.reactors",
        &mut next.server.reactors,
        &s.reactors,
    );
    let l = &running.limits;
    let n = &mut next.limits;
    keep(
        &mut kept,
        "limits.max_head_bytes",
        &mut n.max_head_bytes,
        &l.max_head_bytes,
    );
    keep(
        &mut kept,
        "limits.max_body_bytes",
        &mut n.max_body_bytes,
        &l.max_body_bytes,
    );
    keep(
        &mut kept,
        "limits.max_headers",
        &mut n.max_headers,
        &l.max_headers,
    );
    keep(
        &mut kept,
        "limits.max_uri_bytes",
        &mut n.max_uri_bytes,
        &l.max_uri_bytes,
    );
    keep(
        &mut kept,
        "limits.max_connections",
        &mut n.max_connections,
        &l.max_connections,
    );
    let pending = &l.max_pending_write_bytes;
    keep(
        &mut kept,
        "limits.max_pending_write_bytes",
        &mut n.max_pending_write_bytes,
        pending,
    );
    keep(
        &mut kept,
        "limits.max_unsent_bytes",
        &mut n.max_unsent_bytes,
        &l.max_unsent_bytes,
    );
    let bodies = &l.max_buffered_body_bytes;
    keep(
        &mut kept,
        "limits.max_buffered_body_bytes",
        &mut n.max_buffered_body_bytes,
        bodies,
    );
    let t = &running.timeouts;
    let n = &mut next.timeouts;
    keep(
        &mut kept,
        "timeouts.header_ms",
        &mut n.header_read,
        &t.header_read,
    );
    keep(
        &mut kept,
        "timeouts.body_ms",
        &mut n.body_read,
        &t.body_read,
    );
    keep(&mut kept, "timeouts.idle_ms", &mut n.idle, &t.idle);
    keep(&mut kept, "timeouts.write_ms", &mut n.write, &t.write);
    keep(
        &mut kept,
        "timeouts.min_send_rate",
        &mut n.min_send_rate,
        &t.min_send_rate,
    );
    let grace = &t.send_rate_grace;
    keep(
        &mut kept,
        "timeouts.send_rate_grace_ms",
        &mut n.send_rate_grace,
        grace,
    );
    keep(
        &mut kept,
        "timeouts.shutdown_ms",
        &mut n.shutdown,
        &t.shutdown,
    );
    let path = &running.metrics.path;
    keep(&mut kept, "metrics.path", &mut next.metrics.path, path);
    kept
}

fn keep<T: PartialEq + Clone>(
    kept: &mut Vec<&'static str>,
    name: &'static str,
    next: &mut T,
    running: &T,
) {
    if next != running {
        kept.push(name);
        next.clone_from(running);
    }
}

/// Whether `a` and `b` connect to the database the same way, so that a
/// database opened with `a` serves `b` as it is.
fn same_database(a: &Config, b: &Config) -> bool {
    let (x, y) = (&a.database, &b.database);
    x.url == y.url
        && x.pool == y.pool
        && x.sqlite_synchronous == y.sqlite_synchronous
        && x.connect_timeout == y.connect_timeout
        && a.timeouts.query == b.timeouts.query
        && x.effective_socket_timeout(a.timeouts.query)
            == y.effective_socket_timeout(b.timeouts.query)
}

/// Closes a replaced database once nothing uses it any more: the requests
/// in flight under the application it belonged to are done, and every
/// event loop has let that application go.
fn retire(engine: Arc<dyn Engine>, log: Logger) {
    let spawned = std::thread::Builder::new()
        .name("lightapi-retire".to_owned())
        .spawn(move || {
            while Arc::strong_count(&engine) > 1 {
                std::thread::sleep(RETIRE_POLL);
            }
            engine.as_backend().close();
            log.debug("the database replaced by a reload is closed");
        });
    if let Err(e) = spawned {
        log.warn(&format!(
            "cannot start a thread to close the replaced database ({e}); \
             it closes when its last user lets it go"
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use serde_json::json;

    use super::*;
    use crate::auth::Access;
    use crate::config::LogLevel;
    use crate::endpoint::{Endpoint, HandlerResult};
    use crate::http::{Method, Request};
    use crate::server::swap::{AppView, Apps};

    /// Answers its word to anyone.
    struct Word(&'static str);

    impl Endpoint for Word {
        fn methods(&self) -> Option<&[Method]> {
            Some(&[Method::Get])
        }

        fn get(&self, _req: &Request) -> HandlerResult {
            Ok(json!({ "word": self.0 }).into())
        }

        fn access(&self, _method: Method) -> Access {
            Access::Public
        }
    }

    fn quiet() -> LightApi {
        LightApi::new().configure(|c| {
            c.log = LogLevel::Off;
            c.server.port = 0;
            c.server.reactors = 1;
            c.server.workers = 1;
        })
    }

    /// `GET path` on `stream`, and the answer's status line and body.
    fn get(stream: &mut TcpStream, path: &str) -> (String, String) {
        write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).unwrap(),
                1,
                "the connection stays open"
            );
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf).unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).unwrap();
        let status = head.lines().next().unwrap().to_owned();
        (status, String::from_utf8(body).unwrap())
    }

    #[test]
    fn a_view_takes_a_new_application_once() {
        let first = quiet().build().unwrap();
        let apps = Apps::new(Arc::new(first.app), Arc::new(first.config));
        let mut view = AppView::new(&apps);
        assert!(view.refresh(&apps).is_none());
        let second = quiet().build().unwrap();
        let new = Arc::new(second.app);
        let old = apps.replace(Arc::clone(&new), Arc::new(second.config));
        let replaced = view.refresh(&apps).unwrap();
        assert!(Arc::ptr_eq(&replaced, &old));
        assert!(Arc::ptr_eq(view.app(), &new));
        assert!(view.refresh(&apps).is_none(), "once");
    }

    #[test]
    fn a_running_server_serves_the_reloaded_application_on_an_open_connection() {
        let server = quiet().register("/hello", Word("first")).start().unwrap();
        let mut stream = TcpStream::connect(server.local_addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (status, body) = get(&mut stream, "/hello");
        assert!(status.contains(" 200 "), "{status}");
        assert!(body.contains("first"), "{body}");
        assert!(get(&mut stream, "/extra").0.contains(" 404 "));

        let next = quiet()
            .register("/hello", Word("second"))
            .register("/extra", Word("more"));
        server.reload(next).unwrap();
        assert!(get(&mut stream, "/hello").1.contains("second"));
        assert!(get(&mut stream, "/extra").1.contains("more"));

        // A declaration mistake: refused, and the running one goes on.
        let bad = quiet()
            .register("/hello", Word("third"))
            .register("/a/{", Word("x"));
        assert!(matches!(
            server.reload(bad),
            Err(StartError::Declaration { .. })
        ));
        assert!(get(&mut stream, "/hello").1.contains("second"));
        drop(stream);
        server.stop();
    }

    #[test]
    fn restart_settings_are_kept_and_named() {
        let running = Config::default();
        let mut next = Config::default();
        next.server.port = running.server.port.wrapping_add(1);
        next.limits.max_page_bytes = running.limits.max_page_bytes + 1;
        next.limits.max_body_bytes = running.limits.max_body_bytes + 1;
        next.timeouts.query = running.timeouts.query + Duration::from_secs(1);
        next.metrics.path = Some("/metrics".to_owned());
        let kept = keep_restart_settings(&running, &mut next);
        assert_eq!(
            kept,
            ["server.port", "limits.max_body_bytes", "metrics.path"]
        );
        assert_eq!(next.server.port, running.server.port);
        assert_eq!(next.limits.max_body_bytes, running.limits.max_body_bytes);
        assert_eq!(next.metrics.path, None);
        // What the application itself uses goes through.
        assert_eq!(
            next.limits.max_page_bytes,
            running.limits.max_page_bytes + 1
        );
        assert_ne!(next.timeouts.query, running.timeouts.query);
    }

    #[test]
    fn the_database_is_the_same_only_with_the_same_connection_settings() {
        let a = Config::default();
        let mut b = Config::default();
        b.database.add_columns = !a.database.add_columns;
        assert!(same_database(&a, &b), "add_columns is about tables");
        b.database.pool += 1;
        assert!(!same_database(&a, &b));
        let mut c = Config::default();
        c.timeouts.query += Duration::from_secs(1);
        assert!(!same_database(&a, &c));
    }
}
