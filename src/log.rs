//! Logging: one access line per request and the server's own messages, on
//! standard error, filtered by [`LogLevel`], as plain text or as JSON lines
//! ([`LogFormat`]).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::config::{LogFormat, LogLevel};
use crate::http::Method;

/// Writes log lines at or above a level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logger {
    level: LogLevel,
    format: LogFormat,
}

/// What an access line records of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access<'a> {
    /// `None` for a request refused before its method was read.
    pub(crate) method: Option<Method>,
    pub(crate) path: &'a str,
    pub(crate) status: u16,
    /// Bytes of the response as sent (head and body).
    pub(crate) bytes: usize,
    pub(crate) micros: u128,
    pub(crate) request_id: &'a str,
}

impl Logger {
    pub(crate) fn new(level: LogLevel) -> Logger {
        Logger {
            level,
            format: LogFormat::Text,
        }
    }

    /// The same, writing lines in `format`.
    pub(crate) fn with_format(self, format: LogFormat) -> Logger {
        Logger { format, ..self }
    }

    pub(crate) fn enabled(&self, level: LogLevel) -> bool {
        level != LogLevel::Off && level <= self.level
    }

    /// Whether access lines are written.
    pub(crate) fn access_enabled(&self) -> bool {
        self.enabled(LogLevel::Info)
    }

    /// One access line: method, path, status, bytes, microseconds and
    /// request id (`-` for the method and path of a request refused before
    /// they were read).
    pub(crate) fn access(&self, entry: &Access<'_>) {
        if self.access_enabled() {
            let time = timestamp();
            emit(&match self.format {
                LogFormat::Json => access_json(&time, entry),
                LogFormat::Text => access_line(&time, entry),
            });
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
            let time = timestamp();
            emit(&match self.format {
                LogFormat::Json => message_json(&time, tag, msg),
                LogFormat::Text => message_line(&time, tag, msg),
            });
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

/// An access line as JSON: `ts`, `level`, `msg` (`access`), `method`
/// (`null` when unknown), `path`, `status`, `bytes`, `micros`,
/// `duration_seconds` and `request_id`.
fn access_json(time: &str, a: &Access<'_>) -> String {
    #[allow(clippy::cast_precision_loss)]
    let seconds = a.micros as f64 / 1e6;
    json_line(&json!({
        "ts": time,
        "level": "info",
        "msg": "access",
        "method": a.method.map(Method::as_str),
        "path": a.path,
        "status": a.status,
        "bytes": a.bytes,
        "micros": u64::try_from(a.micros).unwrap_or(u64::MAX),
        "duration_seconds": seconds,
        "request_id": a.request_id,
    }))
}

/// A message as JSON: `ts`, `level`, `msg`.
fn message_json(time: &str, tag: &str, msg: &str) -> String {
    json_line(&json!({"ts": time, "level": tag, "msg": msg}))
}

/// `value` as one line of JSON in plain ASCII: serde_json escapes quotes,
/// `\` and controls; what is left outside ASCII (which can only stand in
/// a string) is written as `\uXXXX` escapes, surrogate pairs above the
/// Basic Multilingual Plane, so the line means the same and holds no
/// line separator a reader could split on.
fn json_line(value: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let text = value.to_string();
    let mut line = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if c.is_ascii() {
            line.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(line, "\\u{:04x}", unit);
            }
        }
    }
    line.push('\n');
    line
}

/// An access line, with the client's path escaped.
fn access_line(time: &str, a: &Access<'_>) -> String {
    let method = a.method.map_or("-", Method::as_str);
    let mut line = format!("{time} access {method} ");
    escape_into(&mut line, a.path);
    line.push_str(&format!(" {} {} {}us ", a.status, a.bytes, a.micros));
    escape_into(&mut line, a.request_id);
    line.push('\n');
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

    fn entry(path: &str) -> Access<'_> {
        Access {
            method: Some(Method::Get),
            path,
            status: 200,
            bytes: 5,
            micros: 7,
            request_id: "r-1",
        }
    }

    #[test]
    fn access_line_is_plain_ascii() {
        let line = access_line("T", &entry(HOSTILE));
        assert!(plain_ascii_line(&line), "{line:?}");
        assert_eq!(
            line,
            "T access GET /p\\u2028\\u202E\\u000D\\u000A1970 error forged\\u0085\\u0000\\u00E9 200 5 7us r-1\n"
        );
    }

    #[test]
    fn access_json_is_one_ascii_line_that_parses_back() {
        let line = access_json("2026-01-01T00:00:00.000Z", &entry(HOSTILE));
        assert!(plain_ascii_line(&line), "{line:?}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ts"], "2026-01-01T00:00:00.000Z");
        assert_eq!(v["level"], "info");
        assert_eq!(v["msg"], "access");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["path"], HOSTILE);
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 5);
        assert_eq!(v["micros"], 7);
        assert_eq!(v["duration_seconds"].as_f64(), Some(7e-6));
        assert_eq!(v["request_id"], "r-1");
        let unknown = Access {
            method: None,
            ..entry("-")
        };
        let v: serde_json::Value = serde_json::from_str(&access_json("T", &unknown)).unwrap();
        assert!(v["method"].is_null());
    }

    #[test]
    fn message_json_escapes_client_text() {
        let msg = format!("GET {HOSTILE} failed: \"quoted\" \\ boom");
        let line = message_json("T", "error", &msg);
        assert!(plain_ascii_line(&line), "{line:?}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], msg.as_str());
        assert_eq!(v.as_object().unwrap().len(), 3);
    }

    #[test]
    fn json_line_writes_astral_characters_as_surrogate_pairs() {
        let line = json_line(&serde_json::json!({"s": "\u{1F600}\u{e9}"}));
        assert_eq!(line, "{\"s\":\"\\ud83d\\ude00\\u00e9\"}\n");
    }

    #[test]
    fn message_line_is_plain_ascii() {
        let line = message_line("T", "error", &format!("GET {HOSTILE} failed: boom"));
        assert!(plain_ascii_line(&line), "{line:?}");
        assert!(line.contains("\\u2028\\u202E"));
    }
}
