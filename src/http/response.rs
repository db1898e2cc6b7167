//! Responses and their serialisation straight into a connection's write
//! buffer.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::date::DATE_LEN;
use super::fields::Fields;
use super::status::StatusCode;

/// A response body.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// Bytes known at compile time.
    Static(&'static [u8]),
    /// Owned bytes.
    Bytes(Vec<u8>),
}

impl Body {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Static(b) => b,
            Body::Bytes(b) => b,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Body({} bytes)", self.len())
    }
}

/// A header name or value: static text costs no allocation.
pub type HeaderText = Cow<'static, str>;

/// A complete response: status, headers, body.
///
/// `Date`, `Content-Length` and `Connection` are added by the server; do not
/// set them yourself.
///
/// ```
/// use lightapi::{Response, StatusCode};
/// let r = Response::json(StatusCode::CREATED, &serde_json::json!({"id": 1}))
///     .with_header("Location", "/person/1");
/// assert_eq!(r.status(), StatusCode::CREATED);
/// assert_eq!(r.header("location"), Some("/person/1"));
/// assert_eq!(r.body().as_bytes(), br#"{"id":1}"#);
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    headers: Fields,
    body: Body,
}

impl Response {
    /// A response with no headers and no body.
    #[inline]
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            headers: Fields::default(),
            body: Body::Empty,
        }
    }

    /// `status` with a JSON body (`Content-Type: application/json`).
    pub fn json(status: StatusCode, value: &Value) -> Response {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Response::new(status)
            .with_header("Content-Type", "application/json")
            .with_body(Body::Bytes(body))
    }

    /// `200` with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<String>) -> Response {
        Response::new(StatusCode::OK)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(Body::Bytes(body.into().into_bytes()))
    }

    /// Adds a header (builder style).
    #[must_use]
    #[inline]
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Self {
        self.insert_header(name, value);
        self
    }

    /// Replaces the body (builder style).
    #[must_use]
    #[inline]
    pub fn with_body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Replaces the status.
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// Adds a header.
    ///
    /// A field that could split or re-frame the response is ignored: a
    /// name that is not an RFC 9110 token, a value holding CR, LF or NUL,
    /// and the fields the server writes itself (`Date`, `Connection`,
    /// `Content-Length`, `Transfer-Encoding`).
    ///
    /// ```
    /// use lightapi::{Response, StatusCode};
    /// let mut r = Response::new(StatusCode::OK);
    /// r.insert_header("X-Request", "a\r\nSet-Cookie: x=1");
    /// r.insert_header("Content-Length", "99");
    /// r.insert_header("X-Ok", "yes");
    /// assert_eq!(r.headers().len(), 1);
    /// assert_eq!(r.header("x-ok"), Some("yes"));
    /// ```
    #[inline]
    pub fn insert_header(&mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) {
        let (name, value) = (name.into(), value.into());
        if valid_header(&name, &value) && !is_framing_header(&name) {
            self.headers.push((name, value));
        }
    }

    /// Adds `name` to the response's `Vary` field (one field, the names
    /// comma-separated), unless it is listed there already or `Vary` is
    /// `*`. Without a `Vary` field yet, nothing is allocated.
    pub(crate) fn add_vary(&mut self, name: &'static str) {
        let mut listed: Option<String> = None;
        for (n, v) in self.headers.as_slice() {
            if !n.eq_ignore_ascii_case("vary") {
                continue;
            }
            let mut names = v.split(',').map(str::trim).filter(|x| !x.is_empty());
            if names
                .clone()
                .any(|x| x == "*" || x.eq_ignore_ascii_case(name))
            {
                return;
            }
            let all = listed.get_or_insert_with(String::new);
            for x in &mut names {
                if !all.is_empty() {
                    all.push_str(", ");
                }
                all.push_str(x);
            }
        }
        match listed {
            None => self.insert_header("Vary", name),
            Some(mut all) => {
                if !all.is_empty() {
                    all.push_str(", ");
                }
                all.push_str(name);
                self.remove_header("Vary");
                self.insert_header("Vary", all);
            }
        }
    }

    /// Removes every header called `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The status.
    #[inline]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_slice()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// Every header.
    pub fn headers(&self) -> &[(HeaderText, HeaderText)] {
        self.headers.as_slice()
    }

    /// The body.
    #[inline]
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Takes the body out, leaving it empty.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::Empty)
    }

    /// Serialises the response as HTTP/1.1 into `out`.
    ///
    /// Adds `Date`, `Content-Length` (except on 1xx/204/304) and, when the
    /// connection will close, `Connection: close`. `head_only` (a `HEAD`
    /// request) keeps GET's `Content-Length` and omits the body; 1xx, 204
    /// and 304 never carry a body. Fields that could split the response
    /// never get this far (see [`Response::insert_header`]).
    pub(crate) fn write_into(
        &self,
        out: &mut Vec<u8>,
        date: &[u8],
        head_only: bool,
        keep_alive: bool,
    ) {
        let connection = if keep_alive {
            ConnectionHeader::Omit
        } else {
            ConnectionHeader::Close
        };
        self.write_framed(out, date, head_only, connection);
    }

    /// Like [`Response::write_into`], with an explicit `Connection` header:
    /// an HTTP/1.0 client keeps the connection only when the response says
    /// `Connection: keep-alive` (RFC 9112 §9.3, appendix C.2.2).
    pub(crate) fn write_framed(
        &self,
        out: &mut Vec<u8>,
        date: &[u8],
        head_only: bool,
        connection: ConnectionHeader,
    ) {
        self.write_with_id(out, date, head_only, connection, None);
    }

    /// Like [`Response::write_framed`], adding `X-Request-Id: id` when an
    /// `id` is given. The caller makes sure `id` is a valid field value
    /// and that the response has no `X-Request-Id` of its own.
    pub(crate) fn write_with_id(
        &self,
        out: &mut Vec<u8>,
        date: &[u8],
        head_only: bool,
        connection: ConnectionHeader,
        id: Option<&[u8]>,
    ) {
        let fields = self.headers.as_slice();
        let bodiless = self.status.is_bodiless();
        let body = if bodiless || head_only {
            &[][..]
        } else {
            self.body.as_bytes()
        };
        // One reservation for the whole response in the common case: status
        // line, Date, Content-Length and Connection fit in 128 bytes, a
        // field usually in 64, a request id's in 16 plus the id.
        let id_bytes = id.map_or(0, |id| 16 + id.len());
        out.reserve(128 + 64 * fields.len() + id_bytes + body.len());
        if let Some(start) = self.status.head_start() {
            out.extend_from_slice(start);
        } else {
            let code = self.status.as_u16();
            out.extend_from_slice(b"HTTP/1.1 ");
            out.extend_from_slice(&[
                b'0' + (code / 100 % 10) as u8,
                b'0' + (code / 10 % 10) as u8,
                b'0' + (code % 10) as u8,
                b' ',
            ]);
            out.extend_from_slice(self.status.reason().as_bytes());
            out.extend_from_slice(b"\r\nDate: ");
        }
        // The cached date always has the fixed IMF-fixdate length: copied
        // as a fixed-size block.
        match <&[u8; DATE_LEN]>::try_from(date) {
            Ok(fixed) => out.extend_from_slice(fixed),
            Err(_) => out.extend_from_slice(date),
        }
        out.extend_from_slice(b"\r\n");
        // Every field was checked when it was added (`Response::insert_header`).
        for (name, value) in fields {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(id) = id {
            out.extend_from_slice(b"X-Request-Id: ");
            out.extend_from_slice(id);
            out.extend_from_slice(b"\r\n");
        }
        if !bodiless {
            out.extend_from_slice(b"Content-Length: ");
            let mut digits = [0u8; 20];
            // Byte by byte: a few digits, where a copy call costs more.
            for &d in format_usize(self.body.len(), &mut digits) {
                out.push(d);
            }
            out.extend_from_slice(b"\r\n");
        }
        match connection {
            ConnectionHeader::Omit => out.extend_from_slice(b"\r\n"),
            ConnectionHeader::KeepAlive => {
                out.extend_from_slice(b"Connection: keep-alive\r\n\r\n");
            }
            ConnectionHeader::Close => out.extend_from_slice(b"Connection: close\r\n\r\n"),
        }
        out.extend_from_slice(body);
    }
}

/// The `Connection` header the server adds to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionHeader {
    /// None: the HTTP/1.1 default, the connection stays open.
    Omit,
    /// `Connection: keep-alive`, for HTTP/1.0 clients that asked for it.
    KeepAlive,
    /// `Connection: close`: the server closes after this response.
    Close,
}

impl From<Value> for Response {
    fn from(value: Value) -> Self {
        Response::json(StatusCode::OK, &value)
    }
}

fn is_framing_header(name: &str) -> bool {
    // Each comparison rejects a name of another length at once.
    name.eq_ignore_ascii_case("date")
        || name.eq_ignore_ascii_case("connection")
        || name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("transfer-encoding")
}

/// `tchar` of RFC 9110 §5.6.2, the bytes a field name may hold.
const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

fn valid_header(name: &str, value: &str) -> bool {
    // Folds without an early exit: names and values are short and almost
    // always valid, and a branch-free loop runs faster over them.
    let name_ok = name.bytes().fold(true, |ok, b| ok & TCHAR[usize::from(b)]);
    let value_bad = value
        .bytes()
        .fold(false, |bad, b| bad | (b == b'\r') | (b == b'\n') | (b == 0));
    !name.is_empty() && name_ok && !value_bad
}

fn format_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn vary_lists_each_name_once_in_one_field() {
        use super::{Response, StatusCode};
        let mut r = Response::new(StatusCode::OK);
        r.add_vary("Origin");
        r.add_vary("origin");
        r.add_vary("Prefer");
        assert_eq!(r.header("vary"), Some("Origin, Prefer"));
        let mut r = Response::new(StatusCode::OK).with_header("Vary", "Accept");
        r.add_vary("Authorization");
        assert_eq!(r.header("vary"), Some("Accept, Authorization"));
        let mut r = Response::new(StatusCode::OK).with_header("Vary", "*");
        r.add_vary("Origin");
        assert_eq!(r.header("vary"), Some("*"));
        assert_eq!(r.headers().len(), 1);
    }

    #[test]
    fn a_response_is_moved_without_a_memcpy_call() {
        // Handlers return responses by value through several layers; up to
        // 128 bytes the compiler copies them inline (see http/fields.rs).
        assert!(std::mem::size_of::<Response>() <= 128);
    }

    use super::*;

    const DATE: &[u8] = b"Thu, 01 Jan 1970 00:00:00 GMT";

    fn wire(r: &Response, head_only: bool, keep_alive: bool) -> String {
        let mut out = Vec::new();
        r.write_into(&mut out, DATE, head_only, keep_alive);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_status_date_length_body() {
        let r = Response::text("hi");
        let w = wire(&r, false, true);
        assert!(w.starts_with("HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
        assert!(w.contains("Content-Length: 2\r\n"));
        assert!(w.ends_with("\r\n\r\nhi"));
        assert!(!w.contains("Connection"));
    }

    #[test]
    fn head_keeps_length_drops_body() {
        let w = wire(&Response::text("hello"), true, false);
        assert!(w.contains("Content-Length: 5\r\n"));
        assert!(w.contains("Connection: close\r\n"));
        assert!(w.ends_with("\r\n\r\n"));
    }

    #[test]
    fn a_request_id_is_a_field_of_its_own() {
        let mut out = Vec::new();
        Response::text("x").write_with_id(
            &mut out,
            DATE,
            false,
            ConnectionHeader::Omit,
            Some(b"abc-1".as_slice()),
        );
        let w = String::from_utf8(out).unwrap();
        assert!(w.contains("\r\nX-Request-Id: abc-1\r\n"), "{w}");
        assert!(w.ends_with("\r\n\r\nx"), "{w}");
    }

    #[test]
    fn a_large_response_with_a_request_id_takes_one_allocation() {
        // Growing past the reservation would double the buffer, which the
        // output budget counts.
        let body = vec![b'x'; 1 << 20];
        let r = Response::new(StatusCode::OK).with_body(Body::Bytes(body));
        let mut out = Vec::new();
        let id = "0123456789abcdef0123456789abcdef";
        r.write_with_id(
            &mut out,
            DATE,
            false,
            ConnectionHeader::Close,
            Some(id.as_bytes()),
        );
        assert!(out.capacity() < out.len() + 1024, "{}", out.capacity());
    }

    #[test]
    fn keep_alive_is_announced_when_asked() {
        let mut out = Vec::new();
        Response::text("x").write_framed(&mut out, DATE, false, ConnectionHeader::KeepAlive);
        let w = String::from_utf8(out).unwrap();
        assert!(w.contains("\r\nConnection: keep-alive\r\n"), "{w}");
        assert_eq!(w.matches("Connection").count(), 1);
    }

    #[test]
    fn bodiless_statuses_have_no_length_or_body() {
        for s in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let r = Response::new(s).with_body(Body::Static(b"x"));
            let w = wire(&r, false, true);
            assert!(!w.contains("Content-Length"), "{w}");
            assert!(w.ends_with("\r\n\r\n"));
        }
    }

    #[test]
    fn handler_cannot_split_or_reframe() {
        let r = Response::text("x")
            .with_header("X-Evil", "a\r\nSet-Cookie: b")
            .with_header("Content-Length", "99")
            .with_header("Bad Name", "v");
        let w = wire(&r, false, true);
        assert!(!w.contains("Set-Cookie"));
        assert!(!w.contains("99"));
        assert!(!w.contains("Bad Name"));
        assert_eq!(w.matches("Content-Length").count(), 1);
        assert_eq!(r.headers().len(), 1, "only Content-Type is kept");
    }

    #[test]
    fn unnamed_status_codes_get_a_status_line_and_date() {
        let code = StatusCode::from_u16(299).unwrap();
        let w = wire(&Response::new(code), false, true);
        assert!(w.starts_with("HTTP/1.1 299 "), "{w}");
        assert!(
            w.contains("\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
            "{w}"
        );
        assert!(w.ends_with("Content-Length: 0\r\n\r\n"), "{w}");
    }

    #[test]
    fn formats_numbers() {
        let mut b = [0u8; 20];
        assert_eq!(format_usize(0, &mut b), b"0");
        assert_eq!(format_usize(1_048_576, &mut b), b"1048576");
        assert_eq!(
            format_usize(usize::MAX, &mut b),
            usize::MAX.to_string().as_bytes()
        );
    }
}
