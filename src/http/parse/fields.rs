//! The header fields that frame a message or steer the connection
//! (`Host`, `Content-Length`, `Transfer-Encoding`, `Connection`, `Expect`),
//! read in one pass over the fields.

use super::error::ParseError;
use super::host::valid_host;

/// What the framing fields of one head said.
#[derive(Debug, Default)]
pub(super) struct FieldScan {
    pub(super) hosts: usize,
    pub(super) content_length: Option<u64>,
    pub(super) chunked: bool,
    pub(super) te_seen: bool,
    pub(super) conn_close: bool,
    pub(super) conn_keep_alive: bool,
    pub(super) expect_continue: bool,
}

impl FieldScan {
    /// Reads one field; other fields are passed over.
    #[inline]
    pub(super) fn field(&mut self, name: &[u8], value: &[u8]) -> Result<(), ParseError> {
        // httparse admits only HTAB, SP, VCHAR and obs-text in a value
        // (`every_control_byte_in_a_value_is_refused` pins that).
        if is_name(name, b"host") {
            self.hosts += 1;
            if !valid_host(value) {
                return Err(ParseError::BadHost {
                    reason: "invalid Host value",
                });
            }
        } else if is_name(name, b"content-length") {
            let n = parse_content_length(value)?;
            match self.content_length {
                Some(prev) if prev != n => {
                    return Err(ParseError::AmbiguousFraming {
                        reason: "differing Content-Length values",
                    })
                }
                _ => self.content_length = Some(n),
            }
        } else if is_name(name, b"transfer-encoding") {
            self.te_seen = true;
            for coding in split_tokens(value) {
                if self.chunked {
                    // Anything after `chunked`, even another `chunked`.
                    return Err(ParseError::AmbiguousFraming {
                        reason: "chunked is not the final transfer coding",
                    });
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    self.chunked = true;
                } else if coding.is_empty() {
                    return Err(ParseError::Malformed {
                        reason: "empty transfer coding",
                    });
                } else {
                    return Err(ParseError::UnsupportedTransferCoding);
                }
            }
        } else if is_name(name, b"connection") {
            // The usual values first, without splitting the list.
            if value.eq_ignore_ascii_case(b"keep-alive") {
                self.conn_keep_alive = true;
            } else if value.eq_ignore_ascii_case(b"close") {
                self.conn_close = true;
            } else {
                for token in split_tokens(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.conn_close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.conn_keep_alive = true;
                    }
                }
            }
        } else if is_name(name, b"expect") {
            if value.eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            } else {
                return Err(ParseError::UnsupportedExpectation);
            }
        }
        Ok(())
    }
}

fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    let bad = ParseError::AmbiguousFraming {
        reason: "invalid Content-Length",
    };
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    value
        .iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(bad)
}

/// Whether `name` (a token, as httparse admits) is `lower` in any case.
/// Every byte of `lower` is a lower-case letter or `-`, and for token
/// bytes setting bit 0x20 maps exactly the upper-case letters to lower case
/// (the only other byte it could map to `-` is CR, never in a token).
fn is_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(&a, &b)| a | 0x20 == b)
}

/// Comma-separated list elements with optional whitespace trimmed.
fn split_tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|t| t.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_names_match_in_any_case() {
        assert!(is_name(b"Content-Length", b"content-length"));
        assert!(is_name(b"HOST", b"host"));
        assert!(!is_name(b"hosts", b"host"));
        assert!(!is_name(b"h0st", b"host"));
    }

    #[test]
    fn content_lengths_are_plain_decimal() {
        assert_eq!(parse_content_length(b"0").ok(), Some(0));
        assert_eq!(parse_content_length(b"1048576").ok(), Some(1_048_576));
        for bad in [&b""[..], b"+3", b"0x3", b"3, 4", b"99999999999999999999"] {
            assert!(parse_content_length(bad).is_err(), "{bad:?}");
        }
    }
}
