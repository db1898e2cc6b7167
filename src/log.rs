//! Logging: one access line per request and the server's own messages, on
//! standard error, filtered by [`LogLevel`].

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::LogLevel;
use crate::http::Method;

/// Writes log lines at or above a level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logger {
    level: LogLevel,
}

impl Logger {
    pub(crate) fn new(level: LogLevel) -> Logger {
        Logger { level }
    }

    pub(crate) fn enabled(&self, level: LogLevel) -> bool {
        level != LogLevel::Off && level <= self.level
    }

    /// Whether access lines are written.
    pub(crate) fn access_enabled(&self) -> bool {
        self.enabled(LogLevel::Info)
    }

    /// One access line: method, path, status, bytes, microseconds (`-` for
    /// the method and path of a request refused before they were read).
    pub(crate) fn access(
        &self,
        method: Option<Method>,
        path: &str,
        status: u16,
        bytes: usize,
        micros: u128,
    ) {
        if self.access_enabled() {
            let path: String = path
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            let method = method.map_or("-", Method::as_str);
            emit(&format!(
                "{} access {method} {path} {status} {bytes} {micros}us\n",
                timestamp()
            ));
        }
    }

    pub(crate) fn log(&self, level: LogLevel, msg: &str) {
        if self.enabled(level) {
            let tag = match level {
                LogLevel::Error => "error",
                LogLevel::Warn => "warn",
                LogLevel::Info => "info",
                _ => "debug",
            };
            emit(&format!("{} {tag} {msg}\n", timestamp()));
        }
    }

    pub(crate) fn error(&self, msg: &str) {
        self.log(LogLevel::Error, msg);
    }

    pub(crate) fn warn(&self, msg: &str) {
        self.log(LogLevel::Warn, msg);
    }

    pub(crate) fn info(&self, msg: &str) {
        self.log(LogLevel::Info, msg);
    }

    pub(crate) fn debug(&self, msg: &str) {
        self.log(LogLevel::Debug, msg);
    }
}

/// One `write` per line so lines from different threads never interleave.
fn emit(line: &str) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// RFC 3339 UTC time with milliseconds.
fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    format!(
        "{}.{:03}Z",
        crate::calendar::format_seconds(seconds),
        d.subsec_millis()
    )
}
