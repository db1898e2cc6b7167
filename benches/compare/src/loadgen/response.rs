//! Frames one HTTP/1.1 response at the start of a buffer: status, body by
//! `Content-Length` (none for 1xx/204/304, or when the header is absent),
//! and where its `ETag` value is. A chunked or otherwise unframeable
//! response is an error with its reason.

pub struct Head {
    /// Bytes of the whole response (head and body).
    pub len: usize,
    pub status: u16,
    /// Byte range of the `ETag` value within the response.
    pub etag: Option<(usize, usize)>,
    /// Byte range of the `Location` value.
    pub location: Option<(usize, usize)>,
    /// Byte range of the `Content-Type` value.
    pub content_type: Option<(usize, usize)>,
    /// Where the body starts.
    pub body_at: usize,
}

pub enum Parsed {
    Complete(Head),
    Partial,
    Invalid(String),
}

fn trim_range(buf: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    while a < b && buf[a].is_ascii_whitespace() {
        a += 1;
    }
    while b > a && buf[b - 1].is_ascii_whitespace() {
        b -= 1;
    }
    (a, b)
}

pub fn parse(buf: &[u8]) -> Parsed {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > 64 * 1024 {
            Parsed::Invalid("response head over 64 KiB".into())
        } else {
            Parsed::Partial
        };
    };
    if !buf.starts_with(b"HTTP/1.") {
        return Parsed::Invalid(format!(
            "not an HTTP/1.x response: {:?}",
            String::from_utf8_lossy(&buf[..end.min(60)])
        ));
    }
    let status = match buf
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
    {
        Some(s) => s,
        None => return Parsed::Invalid("no status code".into()),
    };
    let mut length = 0usize;
    let (mut etag, mut location, mut content_type) = (None, None, None);
    let mut pos = match buf[..end].iter().position(|&b| b == b'\n') {
        Some(p) => p + 1,
        None => end,
    };
    while pos < end {
        let line_end = buf[pos..end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(end, |p| pos + p);
        let line = &buf[pos..line_end];
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = &line[..colon];
            let value = trim_range(buf, pos + colon + 1, line_end);
            if name.eq_ignore_ascii_case(b"content-length") {
                match std::str::from_utf8(&buf[value.0..value.1])
                    .ok()
                    .and_then(|v| v.parse().ok())
                {
                    Some(n) => length = n,
                    None => return Parsed::Invalid("bad Content-Length".into()),
                }
            } else if name.eq_ignore_ascii_case(b"etag") {
                etag = Some(value);
            } else if name.eq_ignore_ascii_case(b"location") {
                location = Some(value);
            } else if name.eq_ignore_ascii_case(b"content-type") {
                content_type = Some(value);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                return Parsed::Invalid(
                    "a Transfer-Encoding response (the load generator frames by Content-Length)"
                        .into(),
                );
            }
        }
        pos = line_end + 1;
    }
    if status < 200 || status == 204 || status == 304 {
        length = 0;
    }
    let total = end + 4 + length;
    if buf.len() < total {
        Parsed::Partial
    } else {
        Parsed::Complete(Head {
            len: total,
            status,
            etag,
            location,
            content_type,
            body_at: end + 4,
        })
    }
}
