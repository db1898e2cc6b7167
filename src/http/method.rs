//! Request methods.

use std::fmt;

/// An HTTP request method understood by lightapi.
///
/// Methods outside this closed set are answered `501 Not Implemented` by the
/// server before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// Every method, in the order `Allow` headers list them.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    /// Parses a method token exactly (methods are case-sensitive).
    ///
    /// ```
    /// use lightapi::Method;
    /// assert_eq!(Method::from_bytes(b"PATCH"), Some(Method::Patch));
    /// assert_eq!(Method::from_bytes(b"get"), None);
    /// ```
    pub fn from_bytes(token: &[u8]) -> Option<Method> {
        Some(match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"PATCH" => Method::Patch,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            _ => return None,
        })
    }

    /// The method's token as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A small set of methods, as used for `Allow` headers and route tables.
///
/// ```
/// use lightapi::{Method, MethodSet};
/// let set = MethodSet::from_slice(&[Method::Get, Method::Post]);
/// assert!(set.contains(Method::Get));
/// assert_eq!(set.to_allow_header(), "GET, POST");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct MethodSet(u8);

impl MethodSet {
    /// The empty set.
    pub const EMPTY: MethodSet = MethodSet(0);
    /// Every method.
    pub const ALL: MethodSet = MethodSet(0x7f);

    /// A set holding the given methods.
    pub fn from_slice(methods: &[Method]) -> MethodSet {
        methods.iter().fold(MethodSet::EMPTY, |s, m| s.with(*m))
    }

    /// This set plus `method`.
    #[must_use]
    pub const fn with(self, method: Method) -> MethodSet {
        MethodSet(self.0 | method.bit())
    }

    /// This set without `method`.
    #[must_use]
    pub const fn without(self, method: Method) -> MethodSet {
        MethodSet(self.0 & !method.bit())
    }

    /// The methods in both sets.
    #[must_use]
    pub const fn intersect(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 & other.0)
    }

    /// Whether `method` is in the set.
    pub const fn contains(self, method: Method) -> bool {
        self.0 & method.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The methods in `Allow` order.
    pub fn iter(self) -> impl Iterator<Item = Method> {
        Method::ALL.into_iter().filter(move |m| self.contains(*m))
    }

    /// The value of an `Allow` header for this set.
    pub fn to_allow_header(self) -> String {
        let mut out = String::with_capacity(48);
        for m in self.iter() {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(m.as_str());
        }
        out
    }
}

impl FromIterator<Method> for MethodSet {
    fn from_iter<I: IntoIterator<Item = Method>>(iter: I) -> Self {
        iter.into_iter().fold(MethodSet::EMPTY, |s, m| s.with(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_method_and_rejects_others() {
        for m in Method::ALL {
            assert_eq!(Method::from_bytes(m.as_str().as_bytes()), Some(m));
        }
        for bad in [&b"Get"[..], b"CONNECT", b"TRACE", b"", b"GET "] {
            assert_eq!(Method::from_bytes(bad), None);
        }
    }

    #[test]
    fn allow_header_lists_in_order() {
        let s = MethodSet::from_slice(&[Method::Options, Method::Get, Method::Delete]);
        assert_eq!(s.to_allow_header(), "GET, DELETE, OPTIONS");
        assert_eq!(MethodSet::ALL.iter().count(), 7);
        assert!(s.without(Method::Get).contains(Method::Delete));
        assert!(!s.without(Method::Get).contains(Method::Get));
    }
}
