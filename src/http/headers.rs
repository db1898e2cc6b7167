//! Request header fields, stored compactly: one byte buffer and a list of
//! offsets, so a request with many headers costs two allocations (none when
//! a connection reuses them).

use std::fmt;

#[derive(Clone, Copy)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

/// The header fields of a request, in the order received.
///
/// Names compare case-insensitively and are kept as sent; values are raw
/// bytes (`get` returns them as `&str` when they are UTF-8).
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

    /// Removes every field, keeping the allocations for reuse.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.entries.clear();
    }

    /// The bytes held, for bounding what an idle connection keeps.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.buf.capacity() + self.entries.capacity() * std::mem::size_of::<Entry>()
    }

    /// Replaces every field with `fields`, all of which lie inside `block`
    /// (the parsed head's header lines): `block` is copied once and each
    /// field is recorded by its offsets in the copy. Fields outside `block`
    /// are copied one by one instead.
    pub(crate) fn fill_from_block(&mut self, block: &[u8], fields: &[httparse::Header<'_>]) {
        self.clear();
        self.buf.extend_from_slice(block);
        let (base, held) = (block.as_ptr() as usize, block.len());
        // Offsets in the copy, computed for every field in one pass; a
        // slice outside `block` (before it: the subtraction wraps round to
        // a huge offset) marks the whole set as unusable.
        let mut outside = u32::try_from(held).is_err();
        self.entries.extend(fields.iter().map(|h| {
            let name = (h.name.as_ptr() as usize).wrapping_sub(base);
            let value = (h.value.as_ptr() as usize).wrapping_sub(base);
            let name_end = name.wrapping_add(h.name.len());
            let value_end = value.wrapping_add(h.value.len());
            outside |= name > name_end || name_end > held || value > value_end || value_end > held;
            // Truncation only matters when `outside` is set.
            Entry {
                name: (name as u32, name_end as u32),
                value: (value as u32, value_end as u32),
            }
        }));
        if outside {
            self.clear();
            for h in fields {
                self.push(h.name.as_bytes(), h.value);
            }
        }
    }

    /// Appends a field.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(name);
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

    /// Removes every `Host` field and appends one holding `value`.
    pub(crate) fn replace_host(&mut self, value: &[u8]) {
        let buf = &self.buf;
        self.entries.retain(|e| {
            !buf.get(e.name.0 as usize..e.name.1 as usize)
                .unwrap_or_default()
                .eq_ignore_ascii_case(b"host")
        });
        self.push(b"Host", value);
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

    /// Every field as `(name, value)`, names as sent.
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

    #[test]
    fn fills_from_a_block_and_copes_with_fields_outside_it() {
        let head = b"Host: a\r\nX-Long: b c\r\n";
        let other = b"Outside";
        let fields = [
            httparse::Header {
                name: std::str::from_utf8(&head[..4]).unwrap(),
                value: &head[6..7],
            },
            httparse::Header {
                name: std::str::from_utf8(&head[9..15]).unwrap(),
                value: &head[17..20],
            },
            httparse::Header {
                name: "Outside",
                value: &other[..],
            },
        ];
        let mut h = Headers::new();
        h.push(b"stale", b"x");
        h.fill_from_block(&head[..20], &fields);
        let all: Vec<(&str, &[u8])> = h.iter().collect();
        assert_eq!(
            all,
            vec![
                ("Host", &b"a"[..]),
                ("X-Long", &b"b c"[..]),
                ("Outside", &b"Outside"[..])
            ]
        );
        assert_eq!(h.get("x-long"), Some("b c"));
        assert!(!h.contains("stale"));
        h.fill_from_block(&[], &[]);
        assert!(h.is_empty());
    }
}
