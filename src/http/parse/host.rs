//! The `Host` field's grammar (RFC 9112 §3.2, RFC 3986 §3.2.2), shared by
//! the request parser and the CORS origin check.

/// Whether a `Host` value is `uri-host [ ":" port ]` (RFC 9112 §3.2,
/// RFC 3986 §3.2.2): a bracketed IP literal or a reg-name (unreserved
/// characters, sub-delims, percent escapes; IPv4 addresses are reg-names
/// too), then optionally `:` and digits. Empty is allowed (a target URI
/// without authority). A user-info part, a path, whitespace inside, or two
/// values joined by a comma and a space are not.
pub(crate) fn valid_host(value: &[u8]) -> bool {
    // httparse has trimmed the optional whitespace around the value
    // (`host_values_follow_the_uri_grammar` checks it).
    // The usual value, a name or address and perhaps a port, in one pass
    // that ORs the bytes' classes; anything else takes the full grammar.
    let classes = value
        .iter()
        .fold(0u8, |acc, &b| acc | HOST_CLASS[usize::from(b)]);
    if classes == 0 {
        return true;
    }
    if classes == COLON {
        if let Some(i) = value.iter().position(|&b| b == b':') {
            let port = value.get(i + 1..).unwrap_or_default();
            return port.iter().all(u8::is_ascii_digit);
        }
    }
    let (host, port) = if let Some(literal) = value.strip_prefix(b"[") {
        let Some(end) = literal.iter().position(|&b| b == b']') else {
            return false;
        };
        let (inside, after) = literal.split_at(end);
        let after = after.get(1..).unwrap_or_default();
        let inside_ok = !inside.is_empty()
            && inside
                .iter()
                .all(|&b| b == b':' || HOST_CHAR[usize::from(b)] == 1);
        if !inside_ok {
            return false;
        }
        match after.split_first() {
            None => return true,
            Some((b':', port)) => (&[][..], port),
            Some(_) => return false,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(i) => (
                value.get(..i).unwrap_or_default(),
                value.get(i + 1..).unwrap_or_default(),
            ),
            None => (value, &[][..]),
        }
    };
    let mut i = 0;
    while let Some(&b) = host.get(i) {
        match HOST_CHAR[usize::from(b)] {
            1 => i += 1,
            2 if host
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                i += 3
            }
            _ => return false,
        }
    }
    port.iter().all(u8::is_ascii_digit)
}

/// [`valid_host`]'s quick look: 0 for the characters of a reg-name, the
/// [`COLON`] bit for `:`, another bit for anything else.
static HOST_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match HOST_CHAR[b] {
            1 => 0,
            _ if b == b':' as usize => COLON,
            _ => 2,
        };
        b += 1;
    }
    t
};

/// The class bit of `:` in [`HOST_CLASS`].
const COLON: u8 = 1;

/// 1 for the characters of a reg-name (RFC 3986 unreserved and
/// sub-delims), 2 for `%`, 0 for the rest.
static HOST_CHAR: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphanumeric() {
            1
        } else {
            match c {
                b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*'
                | b'+' | b',' | b';' | b'=' => 1,
                b'%' => 2,
                _ => 0,
            }
        };
        b += 1;
    }
    t
};

#[cfg(test)]
pub(super) mod tests {
    use super::valid_host;

    /// `Host` values the URI grammar admits (RFC 9110 §7.2).
    pub(in crate::http::parse) const GOOD_HOSTS: [&str; 10] = [
        "h",
        "127.0.0.1:8080",
        "[::1]:8000",
        "[::1]",
        "[v1.fe80::a+en1]",
        "example.com:",
        "xn--bcher-kva.example",
        "a%41b",
        "sub_domain.example~",
        "",
    ];

    /// `Host` values it does not.
    pub(in crate::http::parse) const BAD_HOSTS: [&str; 16] = [
        "[::1", "[::1]x", "[]", "[::1]:8a", "h:80a", "h:8:9", "a%4", "a%zz", "a b", "a, b", "a/b",
        "u@a", "a\\b", "a\"b", "{a}", "a\u{80}",
    ];

    #[test]
    fn accepts_names_addresses_and_ports() {
        for good in GOOD_HOSTS {
            assert!(valid_host(good.as_bytes()), "{good:?}");
        }
        for bad in BAD_HOSTS {
            assert!(!valid_host(bad.as_bytes()), "{bad:?}");
        }
    }
}
