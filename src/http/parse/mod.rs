//! Request-head parsing and message framing (RFC 9112 §2–§6), sans I/O.
//!
//! [`parse_head`] takes the bytes received so far and answers "need more",
//! a complete [`Head`] with the number of bytes it used, or a [`ParseError`].
//! Every request-smuggling defence is applied here and none of them is
//! configurable: both `Content-Length` and `Transfer-Encoding`, differing
//! `Content-Length` values, a `Transfer-Encoding` other than a final
//! `chunked`, obsolete line folding, bare CR or NUL in a field, a bare LF
//! among CRLF line ends, whitespace in or after a field name, and a missing
//! or repeated `Host` on HTTP/1.1.
//!
//! A target is origin-form (`/path?query`), `*` for `OPTIONS`, or
//! absolute-form (`http://authority/path?query`, RFC 9112 §3.2.2): the
//! last is kept as its path and query, and its authority replaces `Host`.

mod error;
mod fields;
mod host;

use std::mem::MaybeUninit;

pub use error::ParseError;
pub(crate) use host::valid_host;

use super::headers::Headers;
use super::limits::MessageLimits;
use super::method::Method;
use fields::FieldScan;

/// Header arrays up to this size live on the stack.
const STACK_HEADERS: usize = 128;
/// Room for the method, spaces and version around a maximal target.
const REQUEST_LINE_SLACK: usize = 32;

/// The protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[cfg(any(test, feature = "__private"))]
#[derive(Debug, Clone)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// The protocol version.
    pub version: Version,
    /// The request target in origin-form: path and query (an absolute-form
    /// target's, `/` for an empty path), or `*`.
    pub target: String,
    /// The header fields.
    pub headers: Headers,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// Whether the client sent `Expect: 100-continue`.
    pub expect_continue: bool,
}

#[cfg(any(test, feature = "__private"))]
impl Head {
    /// The path part of the target.
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The query part of the target, without `?`.
    pub fn query(&self) -> Option<&str> {
        split_target(&self.target).1
    }
}

/// A request target split at its first `?` into path and query.
///
/// ```
/// use lightapi::__private::http::split_target;
/// assert_eq!(split_target("/a?b=1?c"), ("/a", Some("b=1?c")));
/// assert_eq!(split_target("/a"), ("/a", None));
/// ```
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    // Targets are short: a plain scan beats the general substring search.
    match target.bytes().position(|b| b == b'?') {
        Some(i) => (target.get(..i).unwrap_or(target), target.get(i + 1..)),
        None => (target, None),
    }
}

#[cfg(any(test, feature = "__private"))]
/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed (and the limits are not yet
/// exceeded), or the head and the number of bytes it occupied.
///
/// # Errors
/// A [`ParseError`] for anything the module documentation lists.
///
/// ```
/// use lightapi::__private::http::{parse_head, Framing};
/// use lightapi::http::MessageLimits;
/// let limits = MessageLimits::default();
/// let raw = b"POST /person HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
/// let (head, used) = parse_head(raw, &limits).unwrap().unwrap();
/// assert_eq!(head.path(), "/person");
/// assert_eq!(head.framing, Framing::Length(2));
/// assert_eq!(&raw[used..], b"{}");
/// assert!(parse_head(b"GET / HTTP/1.1\r\nHo", &limits).unwrap().is_none());
/// ```
pub fn parse_head(buf: &[u8], limits: &MessageLimits) -> Result<Option<(Head, usize)>, ParseError> {
    let mut target = String::new();
    let mut headers = Headers::new();
    Ok(
        parse_into(buf, limits, &mut target, &mut headers)?.map(|(line, used)| {
            (
                Head {
                    method: line.method,
                    version: line.version,
                    target,
                    headers,
                    framing: line.framing,
                    keep_alive: line.keep_alive,
                    expect_continue: line.expect_continue,
                },
                used,
            )
        }),
    )
}

/// What a parsed head says besides its target and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadLine {
    pub(crate) method: Method,
    pub(crate) version: Version,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// [`parse_head`] into buffers the caller reuses from request to request:
/// `target` and `headers` are overwritten when a head is complete (and left
/// alone otherwise), so a connection parses without allocating once its
/// buffers have grown to its requests' size.
pub(crate) fn parse_into(
    buf: &[u8],
    limits: &MessageLimits,
    target: &mut String,
    headers: &mut Headers,
) -> Result<Option<(HeadLine, usize)>, ParseError> {
    let max = limits.max_headers;
    if max <= STACK_HEADERS {
        // Uninitialised slots: httparse writes each before it is read, and
        // the array costs nothing to set up.
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        parse_with(
            buf,
            limits,
            slots.get_mut(..max).unwrap_or_default(),
            target,
            headers,
        )
    } else {
        let mut slots = Vec::with_capacity(max);
        slots.resize_with(max, MaybeUninit::uninit);
        parse_with(buf, limits, &mut slots, target, headers)
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    limits: &MessageLimits,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
    target_out: &mut String,
    out: &mut Headers,
) -> Result<Option<(HeadLine, usize)>, ParseError> {
    let mut req = httparse::Request::new(&mut []);
    let used = match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            // `414` wins over `431` when the target alone is too long, and
            // is known before the head is complete.
            check_request_line(buf, limits)?;
            if buf.len() > limits.max_head_bytes {
                return Err(ParseError::HeadTooLarge {
                    limit: limits.max_head_bytes,
                });
            }
            return Ok(None);
        }
        Err(e) => {
            check_request_line(buf, limits)?;
            return Err(map_httparse(e, limits));
        }
    };
    let target = req.path.unwrap_or("");
    let fields = &*req.headers;
    check_line_endings(buf, used, target, fields)?;
    let (method, version) = request_line(&req, target, used, limits)?;
    let mut scan = FieldScan::default();
    for h in fields {
        scan.field(h.name.as_bytes(), h.value)?;
    }
    copy_fields(buf, fields, out);
    let absolute = absolute_form(target)?;
    if let Some(form) = &absolute {
        // The target's authority stands for `Host` (RFC 9112 §3.2.2): it
        // replaces the `Host` field. An HTTP/1.1 request must still carry
        // one (§3.2: `400` without it), and a repeated `Host` is still
        // refused; an HTTP/1.0 request may lack it, and the authority
        // stands in.
        if scan.hosts > 0 || version == Version::Http10 {
            out.replace_host(form.authority.as_bytes());
            scan.hosts = scan.hosts.max(1);
        }
    }
    let framing = framing(&scan, version, limits)?;
    let keep_alive = match version {
        Version::Http11 => !scan.conn_close,
        Version::Http10 => scan.conn_keep_alive && !scan.conn_close,
    };
    target_out.clear();
    match absolute {
        Some(form) => {
            if !form.path.starts_with('/') {
                target_out.push('/');
            }
            target_out.push_str(form.path);
        }
        None => target_out.push_str(target),
    }
    Ok(Some((
        HeadLine {
            method,
            version,
            framing,
            keep_alive,
            expect_continue: scan.expect_continue
                && version == Version::Http11
                && framing != Framing::Empty,
        },
        used,
    )))
}

/// The method and version of a complete head, after the size checks and
/// the target's form.
#[inline]
fn request_line(
    req: &httparse::Request<'_, '_>,
    target: &str,
    used: usize,
    limits: &MessageLimits,
) -> Result<(Method, Version), ParseError> {
    if target.len() > limits.max_uri_bytes {
        return Err(ParseError::UriTooLong {
            limit: limits.max_uri_bytes,
        });
    }
    if used > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge {
            limit: limits.max_head_bytes,
        });
    }
    let version = match req.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(ParseError::UnsupportedVersion),
    };
    let method =
        Method::from_bytes(req.method.unwrap_or("").as_bytes()).ok_or(ParseError::UnknownMethod)?;
    if target == "*" && method != Method::Options {
        return Err(ParseError::Malformed {
            reason: "asterisk-form is only for OPTIONS",
        });
    }
    Ok((method, version))
}

/// An absolute-form target (RFC 9112 §3.2.2), split into its authority
/// and the rest (path and query, as an origin-form target holds them,
/// except that the path may be empty).
#[derive(Debug, PartialEq, Eq)]
struct AbsoluteForm<'t> {
    authority: &'t str,
    path: &'t str,
}

/// `None` for an origin-form target (`/…`) or `*`; the parts of an
/// absolute-form one, whose scheme must be `http` or `https` (in any case)
/// and whose authority must be a valid `Host` value, not empty and without
/// user information; anything else is refused.
fn absolute_form(target: &str) -> Result<Option<AbsoluteForm<'_>>, ParseError> {
    if target.starts_with('/') || target == "*" {
        return Ok(None);
    }
    let refused = ParseError::Malformed {
        reason: "request target must be origin-form or an http(s) absolute URI",
    };
    let Some((scheme, rest)) = target.split_once("://") else {
        return Err(refused);
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(refused);
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || path.starts_with('#') || !valid_host(authority.as_bytes()) {
        return Err(ParseError::BadHost {
            reason: "request target's authority is not host[:port]",
        });
    }
    Ok(Some(AbsoluteForm { authority, path }))
}

/// Refuses a head that ends some lines with CRLF and others with a bare
/// LF. RFC 9112 §2.2 lets a recipient take a bare LF for a line end, and a
/// head written with bare LFs throughout is accepted; but a mix
/// is what a request crafted to be read differently by another parser on
/// the way (a proxy that splits lines only at CRLF) looks like, so it is
/// refused rather than guessed at. The head is `buf[..used]`, empty line
/// included, as httparse read it into `target` and `fields`.
#[inline]
fn check_line_endings(
    buf: &[u8],
    used: usize,
    target: &str,
    fields: &[httparse::Header<'_>],
) -> Result<(), ParseError> {
    let head = buf.get(..used).unwrap_or_default();
    let (crlf, bare) = line_ends_at_fields(head, target, fields).unwrap_or_else(|| line_ends(head));
    if crlf && bare {
        return Err(ParseError::Malformed {
            reason: "bare LF among CRLF line ends",
        });
    }
    Ok(())
}

/// [`line_ends`] of a complete head, looked up only where its lines end
/// rather than scanned for: every LF of a head httparse accepted ends a
/// line (a field value stops at any control byte other than HTAB, and
/// httparse refuses a CR not followed by LF), and it knows the lines: the
/// request line ends 9 bytes after its target (one space, then
/// `HTTP/1.x`), each field line after its value (httparse trimmed the
/// value's trailing spaces and tabs; an empty value points at its line
/// end), and the head with its empty line. `None`, for the full scan,
/// when the head begins with the empty lines httparse skips, or when a
/// line end is not where it should be.
fn line_ends_at_fields(
    head: &[u8],
    target: &str,
    fields: &[httparse::Header<'_>],
) -> Option<(bool, bool)> {
    if matches!(head.first(), Some(b'\r' | b'\n')) {
        return None;
    }
    let base = head.as_ptr() as usize;
    let target_end = (target.as_ptr() as usize).checked_sub(base)? + target.len();
    // Whether the line ending at `at` (after spaces and tabs) ends in
    // CRLF: true, or in a bare LF: false.
    let ends_crlf = |at: usize| -> Option<bool> {
        let rest = head.get(at..)?;
        let skip = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
        match rest.get(skip)? {
            b'\r' => Some(true),
            b'\n' => Some(false),
            _ => None,
        }
    };
    let (mut crlf, mut bare) = (false, false);
    let mut note = |is_crlf: bool| {
        crlf |= is_crlf;
        bare |= !is_crlf;
    };
    note(ends_crlf(target_end + 9)?);
    for field in fields {
        let value_end = (field.value.as_ptr() as usize).checked_sub(base)? + field.value.len();
        note(ends_crlf(value_end)?);
    }
    // The empty line: its LF ends the head, after a CR or not.
    let last = head.len().checked_sub(2)?;
    note(head.get(last) == Some(&b'\r'));
    Some((crlf, bare))
}

/// Whether `bytes` has an LF right after a CR, and an LF that is not.
/// Eight bytes at a time: a head is read once per request, and a branch
/// per byte costs more than the rest of the field checks together.
fn line_ends(bytes: &[u8]) -> (bool, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// The high bit of every byte of `word` equal to `b`, exactly.
    fn equal(word: u64, b: u8) -> u64 {
        let x = word ^ (ONES * u64::from(b));
        !(((x & LOW7) + LOW7) | x) & HIGH
    }
    let (mut crlf, mut bare) = (0u64, 0u64);
    // A CR ending the previous word, at the high bit of byte 0.
    let mut carried = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let (lf, cr) = (equal(word, b'\n'), equal(word, b'\r'));
        // Little-endian: byte i + 1 sits 8 bits above byte i.
        let after_cr = (cr << 8) | carried;
        crlf |= lf & after_cr;
        bare |= lf & !after_cr;
        carried = (cr >> 56) & 0x80;
    }
    let mut prev_cr = carried != 0;
    for &b in chunks.remainder() {
        if b == b'\n' {
            if prev_cr {
                crlf = 1;
            } else {
                bare = 1;
            }
        }
        prev_cr = b == b'\r';
    }
    (crlf != 0, bare != 0)
}

/// Copies the header lines, from the first name to the end of the last
/// value, into `out` in one piece, each field recorded by offsets.
#[inline]
fn copy_fields(buf: &[u8], fields: &[httparse::Header<'_>], out: &mut Headers) {
    let block = match (fields.first(), fields.last()) {
        (Some(first), Some(last)) => {
            let base = buf.as_ptr() as usize;
            let start = (first.name.as_ptr() as usize).saturating_sub(base);
            let end = (last.value.as_ptr() as usize + last.value.len()).saturating_sub(base);
            buf.get(start..end).unwrap_or_default()
        }
        _ => &[],
    };
    out.fill_from_block(block, fields);
}

/// How the body is delimited, once every field is read: the `Host` rules
/// and every ambiguity between `Content-Length` and `Transfer-Encoding`
/// (request smuggling) are refused here.
#[inline]
fn framing(
    scan: &FieldScan,
    version: Version,
    limits: &MessageLimits,
) -> Result<Framing, ParseError> {
    if scan.hosts > 1 {
        return Err(ParseError::BadHost {
            reason: "repeated Host",
        });
    }
    if scan.hosts == 0 && version == Version::Http11 {
        return Err(ParseError::BadHost {
            reason: "missing Host",
        });
    }
    if scan.te_seen && scan.content_length.is_some() {
        return Err(ParseError::AmbiguousFraming {
            reason: "both Content-Length and Transfer-Encoding",
        });
    }
    if scan.te_seen && !scan.chunked {
        return Err(ParseError::AmbiguousFraming {
            reason: "Transfer-Encoding without chunked",
        });
    }
    if scan.te_seen && version == Version::Http10 {
        return Err(ParseError::AmbiguousFraming {
            reason: "Transfer-Encoding on HTTP/1.0",
        });
    }
    Ok(match (scan.chunked, scan.content_length) {
        (true, _) => Framing::Chunked,
        (false, Some(0) | None) => Framing::Empty,
        (false, Some(n)) => {
            if n > limits.max_body_bytes as u64 {
                return Err(ParseError::BodyTooLarge {
                    limit: limits.max_body_bytes,
                });
            }
            Framing::Length(n)
        }
    })
}

/// Refuses an over-long request target before the whole head has arrived,
/// so `414` wins over `431` when the URI alone is too long.
fn check_request_line(buf: &[u8], limits: &MessageLimits) -> Result<(), ParseError> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = buf.get(start..).unwrap_or_default();
    let line_end = rest.iter().position(|&b| b == b'\n');
    let line = line_end.map_or(rest, |e| rest.get(..e).unwrap_or_default());
    let target_len = match line.iter().position(|&b| b == b' ') {
        Some(sp) => {
            let after = line.get(sp + 1..).unwrap_or_default();
            match after.iter().position(|&b| b == b' ') {
                Some(end) => end,
                None if line_end.is_some() => after.len(),
                None => after.len(),
            }
        }
        None => 0,
    };
    if target_len > limits.max_uri_bytes
        || (line_end.is_none() && rest.len() > limits.max_uri_bytes + REQUEST_LINE_SLACK)
    {
        return Err(ParseError::UriTooLong {
            limit: limits.max_uri_bytes,
        });
    }
    Ok(())
}

fn map_httparse(e: httparse::Error, limits: &MessageLimits) -> ParseError {
    match e {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders {
            limit: limits.max_headers,
        },
        httparse::Error::Version => ParseError::UnsupportedVersion,
        httparse::Error::HeaderName => ParseError::Malformed {
            reason: "invalid header name",
        },
        httparse::Error::HeaderValue => ParseError::Malformed {
            reason: "invalid header value",
        },
        httparse::Error::NewLine | httparse::Error::Status => ParseError::Malformed {
            reason: "invalid line ending",
        },
        httparse::Error::Token => ParseError::Malformed {
            reason: "invalid request line",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Option<(Head, usize)>, ParseError> {
        parse_head(raw, &MessageLimits::default())
    }

    fn head(raw: &[u8]) -> Head {
        parse(raw).unwrap().unwrap().0
    }

    fn err(raw: &[u8]) -> ParseError {
        parse(raw).unwrap_err()
    }

    #[test]
    fn parses_simple_get() {
        let h = head(b"GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.path(), "/a/b");
        assert_eq!(h.query(), Some("x=1"));
        assert_eq!(h.framing, Framing::Empty);
        assert!(h.keep_alive);
    }

    #[test]
    fn partial_input_needs_more_at_every_split() {
        let raw = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
        for i in 0..raw.len() {
            assert!(parse(&raw[..i]).unwrap().is_none(), "split at {i}");
        }
        assert_eq!(parse(raw).unwrap().unwrap().1, raw.len());
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        assert!(!head(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(!head(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive);
    }

    #[test]
    fn smuggling_defences() {
        let cases: &[(&[u8], &str)] = &[
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "cl+te"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "two cl"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", "cl list"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", "cl sign"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\n", "cl hex"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n", "te not final"),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "te twice"),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "te on 1.0"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", "obs-fold"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", "bare cr"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", "nul"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n", "space before colon"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX Y: a\r\n\r\n", "space in name"),
            (b"GET / HTTP/1.1\r\n\r\n", "no host"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "two hosts"),
            (b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", "two hosts joined"),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "space in host"),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "path in host"),
            (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "userinfo in host"),
            (b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", "bad host on 1.0"),
            (b"GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n", "absolute form, not http"),
        ];
        for (raw, why) in cases {
            let e = parse(raw);
            assert!(e.is_err(), "{why}: {e:?}");
        }
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            ParseError::UnsupportedTransferCoding
        );
    }

    #[test]
    fn every_control_byte_in_a_value_is_refused() {
        // Before, inside and after the value, in a short value and in one
        // long enough for the vectorised scan. (A line feed after the value
        // ends the line, as RFC 9112 §2.2 allows.)
        let long = "v".repeat(70);
        for b in (0u8..0x20).filter(|&b| b != b'\t').chain([0x7f]) {
            let c = char::from(b);
            for value in [
                format!("{c}a"),
                format!("a{c}b"),
                format!("ab{c}"),
                format!("{long}{c}{long}"),
            ]
            .into_iter()
            .filter(|v| !(b == b'\n' && v.ends_with('\n')))
            {
                let raw = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {value}\r\n\r\n");
                assert!(parse(raw.as_bytes()).is_err(), "byte {b:#04x} in {value:?}");
            }
        }
        let h = head(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \x80\xff~\r\n\r\n");
        assert_eq!(h.headers.get_bytes("x"), Some(&b"a\tb \x80\xff~"[..]));
    }

    #[test]
    fn identical_repeated_content_length_is_accepted() {
        let h =
            head(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(3));
    }

    #[test]
    fn host_values_follow_the_uri_grammar() {
        for good in host::tests::GOOD_HOSTS {
            let raw = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert!(parse(raw.as_bytes()).is_ok(), "{good:?}");
            let padded = format!("GET / HTTP/1.1\r\nHost: \t {good} \t\r\n\r\n");
            assert!(parse(padded.as_bytes()).is_ok(), "{good:?} with whitespace");
        }
        for bad in host::tests::BAD_HOSTS {
            let raw = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(
                err(raw.as_bytes()),
                ParseError::BadHost {
                    reason: "invalid Host value"
                },
                "{bad:?}"
            );
        }
    }

    #[test]
    fn http10_without_host_is_fine() {
        assert_eq!(head(b"GET / HTTP/1.0\r\n\r\n").version, Version::Http10);
    }

    #[test]
    fn limits() {
        let limits = MessageLimits::default();
        let long_uri = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(9000));
        assert_eq!(
            err(long_uri.as_bytes()),
            ParseError::UriTooLong { limit: 8192 }
        );
        // Even before the line is complete.
        let partial = format!("GET /{}", "a".repeat(9000));
        assert_eq!(
            err(partial.as_bytes()),
            ParseError::UriTooLong { limit: 8192 }
        );
        let big_head = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(9000)
        );
        assert_eq!(
            err(big_head.as_bytes()),
            ParseError::HeadTooLarge { limit: 8192 }
        );
        let many: String = (0..101).map(|i| format!("X{i}: v\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n");
        assert_eq!(
            err(raw.as_bytes()),
            ParseError::TooManyHeaders { limit: 100 }
        );
        let hundred: String = (0..99).map(|i| format!("X{i}: v\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\nHost: h\r\n{hundred}\r\n");
        assert!(parse(raw.as_bytes()).unwrap().is_some());
        let body = format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
            limits.max_body_bytes + 1
        );
        assert_eq!(
            err(body.as_bytes()),
            ParseError::BodyTooLarge { limit: 1 << 20 }
        );
        assert!(parse(
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"
        )
        .is_err());
    }

    #[test]
    fn methods_versions_and_expectations() {
        assert_eq!(
            err(b"BREW / HTTP/1.1\r\nHost: h\r\n\r\n"),
            ParseError::UnknownMethod
        );
        assert!(parse(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n").is_err());
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\n"),
            ParseError::UnsupportedExpectation
        );
        let h = head(
            b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
        );
        assert!(h.expect_continue);
        assert!(head(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").target == "*");
    }

    #[test]
    fn line_ends_match_a_byte_by_byte_reading() {
        fn slow(bytes: &[u8]) -> (bool, bool) {
            let (mut crlf, mut bare) = (false, false);
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'\n' {
                    if i > 0 && bytes[i - 1] == b'\r' {
                        crlf = true;
                    } else {
                        bare = true;
                    }
                }
            }
            (crlf, bare)
        }
        // Every arrangement of CR, LF and other bytes over the lengths
        // around a word boundary, then pseudo-random longer heads.
        let alphabet = [b'\r', b'\n', b'a', 0x8d, 0x0a ^ 0x80];
        for len in 0..=10 {
            let total = alphabet.len().pow(u32::try_from(len).unwrap());
            for mut n in 0..total.min(200_000) {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[n % alphabet.len()];
                        n /= alphabet.len();
                        b
                    })
                    .collect();
                assert_eq!(line_ends(&bytes), slow(&bytes), "{bytes:?}");
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let len = usize::try_from(state % 97).unwrap();
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[usize::try_from(state % 5).unwrap()]
                })
                .collect();
            assert_eq!(line_ends(&bytes), slow(&bytes), "{bytes:?}");
        }
    }

    #[test]
    fn line_ends_at_fields_match_the_full_scan() {
        // Heads httparse accepts, each line ended by CRLF or a bare LF at
        // random, with values empty, padded with spaces and tabs, or
        // holding bytes above 0x7f, and sometimes empty lines first.
        let values: [&[u8]; 7] = [b"", b" ", b"\t \t", b"v", b"a b \t", b"\x80\xff", b"x\t"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap()
        };
        let mut fast = 0;
        for _ in 0..20_000 {
            let mut raw = Vec::new();
            let end = |raw: &mut Vec<u8>, crlf: bool| {
                raw.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            };
            let blank = next(4) == 0;
            if blank {
                end(&mut raw, next(2) == 0);
            }
            raw.extend_from_slice(b"GET /a?b HTTP/1.1");
            end(&mut raw, next(2) == 0);
            for i in 0..next(5) {
                raw.extend_from_slice(format!("X{i}:").as_bytes());
                raw.extend_from_slice(&b" \t"[..next(3)]);
                raw.extend_from_slice(values[next(values.len())]);
                end(&mut raw, next(2) == 0);
            }
            end(&mut raw, next(2) == 0);
            let mut slots = [httparse::EMPTY_HEADER; 8];
            let mut req = httparse::Request::new(&mut slots);
            let Ok(httparse::Status::Complete(used)) = req.parse(&raw) else {
                panic!("not accepted: {:?}", String::from_utf8_lossy(&raw));
            };
            let head = &raw[..used];
            let at_fields = line_ends_at_fields(head, req.path.unwrap(), req.headers);
            if let Some(found) = at_fields {
                fast += 1;
                assert_eq!(
                    found,
                    line_ends(head),
                    "{:?}",
                    String::from_utf8_lossy(head)
                );
            }
            assert_eq!(
                at_fields.is_some(),
                !blank,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        assert!(fast > 10_000);
    }

    #[test]
    fn bare_lf_among_crlf_is_refused() {
        let mixed: [&[u8]; 4] = [
            b"GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n",
            b"GET / HTTP/1.1\nHost: h\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nX: a\nContent-Length: 5\r\n\r\n",
        ];
        for raw in mixed {
            assert_eq!(
                err(raw),
                ParseError::Malformed {
                    reason: "bare LF among CRLF line ends"
                },
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        // Consistent line ends, either kind, are still accepted.
        assert_eq!(head(b"GET / HTTP/1.1\nHost: h\nX: a\n\n").path(), "/");
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\r\n").path(),
            "/"
        );
        // The body after the head is not looked at.
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n\n\n";
        let (_, used) = parse(raw).unwrap().unwrap();
        assert_eq!(used, raw.len() - 2);
    }

    #[test]
    fn absolute_form_targets_are_accepted() {
        let h = head(b"GET http://example.com:8080/healthz?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(h.target, "/healthz?x=1");
        assert_eq!(h.path(), "/healthz");
        assert_eq!(h.query(), Some("x=1"));
        // The target's authority wins over the Host field.
        assert_eq!(h.headers.get("host"), Some("example.com:8080"));
        assert_eq!(h.headers.get_all("host").count(), 1);
        // HTTP/1.1 still needs Host; HTTP/1.0 may lack it, and the
        // authority stands in.
        assert!(matches!(
            err(b"GET HTTPS://[::1]:9 HTTP/1.1\r\n\r\n"),
            ParseError::BadHost { .. }
        ));
        let h = head(b"GET HTTPS://[::1]:9 HTTP/1.0\r\n\r\n");
        assert_eq!(h.target, "/");
        assert_eq!(h.headers.get("host"), Some("[::1]:9"));
        let h = head(b"DELETE hTtP://a?q HTTP/1.1\r\nHost: b\r\nX: y\r\n\r\n");
        assert_eq!(h.target, "/?q");
        assert_eq!(h.headers.get("x"), Some("y"));
        // A bad or repeated Host field is still refused.
        assert!(matches!(
            err(b"GET http://a/ HTTP/1.1\r\nHost: a b\r\n\r\n"),
            ParseError::BadHost { .. }
        ));
        assert!(matches!(
            err(b"GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            ParseError::BadHost { .. }
        ));
    }

    #[test]
    fn other_absolute_targets_are_refused() {
        for target in [
            "ftp://a/",
            "http:/a",
            "http:a",
            "http://",
            "http:///p",
            "http://u@a/",
            "http://a b/",
            "http://a#f",
            "a/b",
            "*x",
            "h://a/",
            "httpx://a/",
        ] {
            let raw = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
            assert!(parse(raw.as_bytes()).is_err(), "{target}");
        }
        assert!(parse(b"GET * HTTP/1.1\r\nHost: h\r\n\r\n").is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let samples: &[&[u8]] = &[
            b"\0\0\0\r\n\r\n",
            b"\r\n\r\n",
            b"GET",
            b" / HTTP/1.1\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n",
        ];
        for s in samples {
            let _ = parse(s);
        }
    }
}
