//! Hexadecimal digits: reading one, writing bytes as lowercase pairs.

use std::fmt::Write;

/// The value of one hexadecimal digit (either case).
pub(crate) fn digit_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `bytes` to `out` as lowercase hexadecimal, two digits a byte.
pub(crate) fn encode_into(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// `bytes` as lowercase hexadecimal.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    encode_into(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_encoding() {
        assert_eq!(digit_value(b'7'), Some(7));
        assert_eq!(digit_value(b'f'), Some(15));
        assert_eq!(digit_value(b'F'), Some(15));
        assert_eq!(digit_value(b'g'), None);
        assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff");
    }
}
