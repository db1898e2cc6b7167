//! Request header fields, stored compactly: one byte buffer and a list of
//! offsets, so a request with many headers costs two allocations.

use std::fmt;

#[derive(Clone, Copy)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

/// The header fields of a request, in the order received.
///
/// Names compare case-insensitively; values are raw bytes (`get` returns them
/// as `&str` when they are UTF-8).
///
/// ```
/// use lightapi::Headers;
/// let mut h = Headers::new();
/// h.push(b"Content-Type", b"application/json");
/// assert_eq!(h.get("content-type"), Some("application/json"));
/// assert_eq!(h.get("CONTENT-TYPE"), Some("application/json"));
/// ```
#[derive(Clone, Default)]
pub struct Headers {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    pub(crate) fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(fields),
        }
    }

    /// Appends a field; the name is stored in lower case.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.buf.len();
        self.buf.extend(name.iter().map(u8::to_ascii_lowercase));
        let mid = self.buf.len();
        self.buf.extend_from_slice(value);
        let end = self.buf.len();
        // Offsets fit: a head is bounded by `Limits::max_head_bytes`.
        let [s, m, e] = [start, mid, end].map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        self.entries.push(Entry {
            name: (s, m),
            value: (m, e),
        });
    }

    fn slice(&self, (a, b): (u32, u32)) -> &[u8] {
        self.buf.get(a as usize..b as usize).unwrap_or_default()
    }

    /// The first value of `name` as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| self.slice(e.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(|e| self.slice(e.value))
    }

    /// The first value of `name`, if present and UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |e| self.slice(e.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(move |e| self.slice(e.value))
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// Every field as `(lower-case name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|e| {
            let name = std::str::from_utf8(self.slice(e.name)).unwrap_or("");
            (name, self.slice(e.value))
        })
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_and_ordered() {
        let mut h = Headers::new();
        h.push(b"X-A", b"1");
        h.push(b"x-a", b"2");
        h.push(b"Other", b"\xff");
        assert_eq!(h.get_all("X-a").collect::<Vec<_>>(), vec![&b"1"[..], b"2"]);
        assert_eq!(h.get("other"), None, "non-UTF-8 value is not a str");
        assert_eq!(h.get_bytes("other"), Some(&b"\xff"[..]));
        assert_eq!(h.len(), 3);
        assert!(!h.contains("missing"));
    }
}
