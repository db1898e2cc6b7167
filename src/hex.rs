//! Hexadecimal digits: reading one, writing bytes as lowercase pairs.

/// The value of one hexadecimal digit (either case).
pub(crate) fn digit_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` to `out` as lowercase hexadecimal, two digits a byte.
pub(crate) fn encode_into(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
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
