//! One connection to an application, driven in memory: for the
//! connection's behaviour tests and the `conn_bytes` fuzz target.

use std::sync::Arc;

use crate::error::StartError;
use crate::server::memory::MemoryConn;
use crate::LightApi;

/// An application and one connection to it, with no socket or thread:
/// input is delivered in pieces (one readiness event each), handlers that
/// would go to the worker pool run on the calling thread, and the output
/// is collected.
pub struct MemoryConnection(MemoryConn);

impl std::fmt::Debug for MemoryConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryConnection")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl MemoryConnection {
    /// Builds `app` (without binding or starting threads) and opens a
    /// connection to it.
    ///
    /// # Errors
    /// Whatever start-up would report.
    pub fn new(app: LightApi) -> Result<MemoryConnection, StartError> {
        let built = app.build()?;
        Ok(MemoryConnection(MemoryConn::shared(
            Arc::new(built.app),
            Arc::new(built.config),
        )))
    }

    /// Delivers `bytes` as one readiness event and runs until nothing more
    /// can happen without the client.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.0.feed(bytes);
    }

    /// Ends the client's input and runs until nothing more can happen.
    pub fn finish(&mut self) {
        self.0.finish();
    }

    /// Everything the server wrote so far.
    pub fn output(&mut self) -> &[u8] {
        self.0.output()
    }

    /// Whether the server closed the connection.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::{Config, LogLevel};
    use crate::{Access, Endpoint, HandlerResult, Method, Request, Response};

    /// Echoes the path and body length; `inline` ones run on the event loop.
    struct Echo {
        inline: bool,
    }

    impl Endpoint for Echo {
        fn get(&self, req: &Request) -> HandlerResult {
            Ok(Response::text(req.path().to_owned()))
        }
        fn post(&self, req: &Request) -> HandlerResult {
            Ok(Response::text(format!("{} bytes", req.body().len())))
        }
        fn access(&self, _method: Method) -> Access {
            Access::Public
        }
        fn inline(&self) -> bool {
            self.inline
        }
    }

    fn conn() -> MemoryConnection {
        let mut config = Config {
            log: LogLevel::Off,
            ..Config::default()
        };
        config.limits.max_body_bytes = 64;
        let app = LightApi::with_config(config)
            .register("/fast/{x}", Echo { inline: true })
            .register("/slow/{x}", Echo { inline: false });
        MemoryConnection::new(app).unwrap()
    }

    fn text(c: &mut MemoryConnection) -> String {
        String::from_utf8_lossy(c.output()).into_owned()
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_across_inline_and_worker_handlers() {
        let mut c = conn();
        c.feed(
            b"GET /slow/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /fast/2 HTTP/1.1\r\nHost: h\r\n\r\n\
              GET /slow/3 HTTP/1.1\r\nHost: h\r\n\r\n",
        );
        let out = text(&mut c);
        let order: Vec<usize> = ["/slow/1", "/fast/2", "/slow/3"]
            .iter()
            .map(|p| out.find(&format!("\r\n\r\n{p}")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
        assert!(!c.is_closed());
        c.finish();
        assert!(c.is_closed());
    }

    #[test]
    fn a_body_split_at_every_byte_arrives_whole() {
        let raw = b"POST /slow/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                    3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        for cut in 1..raw.len() {
            let mut c = conn();
            c.feed(&raw[..cut]);
            c.feed(&raw[cut..]);
            let out = text(&mut c);
            assert!(out.ends_with("\r\n\r\n5 bytes"), "cut {cut}: {out}");
            assert_eq!(out.matches("HTTP/1.1 200").count(), 1, "cut {cut}");
        }
    }

    #[test]
    fn a_refused_head_is_answered_once_and_closes() {
        let mut c = conn();
        c.feed(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /fast/x HTTP/1.1\r\n\r\n");
        let out = text(&mut c);
        assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
        assert_eq!(out.matches("HTTP/1.1").count(), 1, "{out}");
        assert!(out.contains("Connection: close"), "{out}");
        c.finish();
        assert!(c.is_closed());
    }

    #[test]
    fn a_body_over_the_limit_is_refused_unread() {
        let mut c = conn();
        c.feed(b"POST /slow/x HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n");
        assert!(text(&mut c).starts_with("HTTP/1.1 413 "));
    }

    #[test]
    fn output_larger_than_the_socket_buffer_is_written_in_turns() {
        let mut c = conn();
        let one = b"GET /fast/abcdefghijklmnopqrstuvwxyz HTTP/1.1\r\nHost: h\r\n\r\n";
        let many: Vec<u8> = one.iter().copied().cycle().take(one.len() * 200).collect();
        c.feed(&many);
        c.finish();
        assert_eq!(text(&mut c).matches("HTTP/1.1 200").count(), 200);
        assert!(c.is_closed());
    }

    #[test]
    fn expect_continue_is_answered_before_the_body() {
        let mut c = conn();
        c.feed(b"POST /slow/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(text(&mut c), "HTTP/1.1 100 Continue\r\n\r\n");
        c.feed(b"hi");
        assert!(text(&mut c).ends_with("2 bytes"));
    }
}
