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
            emit(&access_line(
                &timestamp(),
                method,
                path,
                status,
                bytes,
                micros,
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
            emit(&message_line(&timestamp(), tag, msg));
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

/// An access line, with the client's path escaped.
fn access_line(
    time: &str,
    method: Option<Method>,
    path: &str,
    status: u16,
    bytes: usize,
    micros: u128,
) -> String {
    let method = method.map_or("-", Method::as_str);
    let mut line = format!("{time} access {method} ");
    escape_into(&mut line, path);
    line.push_str(&format!(" {status} {bytes} {micros}us\n"));
    line
}

/// A message line. The whole message is escaped: messages quote client
/// text (a path in a handler's failure, a panic's text, a refused head).
fn message_line(time: &str, tag: &str, msg: &str) -> String {
    let mut line = format!("{time} {tag} ");
    escape_into(&mut line, msg);
    line.push('\n');
    line
}

/// Appends `text` with everything outside printable ASCII (`0x20..=0x7E`)
/// escaped, so a log line is one line of plain ASCII whatever a client
/// sent: a character of the Basic Multilingual Plane as `\uXXXX`, one
/// above it as `\UXXXXXXXX`, and `\` itself as `\\` so an escape in the
/// log always stands for one character. Lines are not quoted, so `"` is
/// written as is.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, text);
        out
    }

    #[test]
    fn escape_keeps_printable_ascii() {
        assert_eq!(escaped("/a/b?x=1&y=\"z\" ~"), "/a/b?x=1&y=\"z\" ~");
    }

    #[test]
    fn escape_rewrites_controls_and_non_ascii() {
        assert_eq!(
            escaped("a\nb\rc\td\u{7f}"),
            "a\\u000Ab\\u000Dc\\u0009d\\u007F"
        );
        assert_eq!(escaped("x\u{2028}y\u{202E}z"), "x\\u2028y\\u202Ez");
        assert_eq!(escaped("\u{e9}\u{1F600}"), "\\u00E9\\U0001F600");
        assert_eq!(escaped("\u{0}"), "\\u0000");
    }

    #[test]
    fn escape_doubles_backslash() {
        // A literal `\u2028` typed by a client stays distinguishable from
        // an escaped U+2028.
        assert_eq!(escaped("\\u2028"), "\\\\u2028");
    }

    fn plain_ascii_line(line: &str) -> bool {
        let body = line.strip_suffix('\n').unwrap_or(line);
        line.ends_with('\n') && body.bytes().all(|b| (0x20..=0x7E).contains(&b))
    }

    const HOSTILE: &str = "/p\u{2028}\u{202E}\r\n1970 error forged\u{85}\u{0}\u{e9}";

    #[test]
    fn access_line_is_plain_ascii() {
        let line = access_line("T", Some(Method::Get), HOSTILE, 200, 5, 7);
        assert!(plain_ascii_line(&line), "{line:?}");
        assert_eq!(
            line,
            "T access GET /p\\u2028\\u202E\\u000D\\u000A1970 error forged\\u0085\\u0000\\u00E9 200 5 7us\n"
        );
    }

    #[test]
    fn message_line_is_plain_ascii() {
        let line = message_line("T", "error", &format!("GET {HOSTILE} failed: boom"));
        assert!(plain_ascii_line(&line), "{line:?}");
        assert!(line.contains("\\u2028\\u202E"));
    }
}
