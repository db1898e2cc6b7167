//! Calendar dates (`YYYY-MM-DD`) and UUIDs as text: parsing a client's
//! text into the canonical form stored and returned, and the conversions
//! a driver needs for the databases' native types.

use crate::calendar::{civil_from_days, days_from_civil};

/// The canonical text of a calendar date `YYYY-MM-DD` (years 0000–9999),
/// checked against the calendar.
///
/// # Errors
///
/// A lowercase, client-facing message when the text is not such a date.
///
/// ```
/// use lightapi::model::canonical_date;
/// assert_eq!(canonical_date("2024-02-29").as_deref(), Ok("2024-02-29"));
/// assert!(canonical_date("2023-02-29").is_err());
/// assert!(canonical_date("2024-2-1").is_err());
/// ```
pub fn canonical_date(text: &str) -> Result<String, String> {
    date_days(text)
        .map(|_| text.to_owned())
        .ok_or_else(|| "expected a date YYYY-MM-DD".to_owned())
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD` date.
pub(crate) fn date_days(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = b.get(from..to)?;
        part.iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (1..=month_days)
        .contains(&day)
        .then(|| days_from_civil(year, month, day))
}

/// The `YYYY-MM-DD` text of a day count since 1970-01-01; `None` outside
/// years 0000–9999.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn format_date(days: i64) -> Option<String> {
    let (year, month, day) = civil_from_days(days);
    (0..=9999)
        .contains(&year)
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// The canonical text of a UUID: 32 hexadecimal digits in the hyphenated
/// 8-4-4-4-12 form, lower-cased.
///
/// # Errors
///
/// A lowercase, client-facing message when the text is not such a UUID.
///
/// ```
/// use lightapi::model::canonical_uuid;
/// assert_eq!(
///     canonical_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").as_deref(),
///     Ok("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
/// );
/// assert!(canonical_uuid("a0eebc999c0b4ef8bb6d6bb9bd380a11").is_err());
/// ```
pub fn canonical_uuid(text: &str) -> Result<String, String> {
    uuid_bytes(text)
        .map(|_| text.to_ascii_lowercase())
        .ok_or_else(|| {
            "expected a UUID such as \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"".to_owned()
        })
}

/// The 16 bytes of a hyphenated UUID.
pub(crate) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let b = text.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut digits = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23));
    for slot in &mut out {
        let (_, hi) = digits.next()?;
        let (_, lo) = digits.next()?;
        *slot = (hex_digit(*hi)? << 4) | hex_digit(*lo)?;
    }
    [8, 13, 18, 23]
        .iter()
        .all(|i| b.get(*i) == Some(&b'-'))
        .then_some(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The canonical text of 16 UUID bytes.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_calendar() {
        for ok in ["0000-01-01", "1970-01-01", "2000-02-29", "9999-12-31"] {
            assert_eq!(canonical_date(ok).unwrap(), ok);
            assert_eq!(format_date(date_days(ok).unwrap()).unwrap(), ok);
        }
        for bad in [
            "",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-01-00",
            "24-01-01",
            "2024-01-01T00:00:00Z",
            "2024/01/01",
            "+024-01-01",
            "２０２４-01-01",
        ] {
            assert!(canonical_date(bad).is_err(), "{bad}");
        }
        assert_eq!(date_days("1970-01-02"), Some(1));
        assert_eq!(format_date(date_days("9999-12-31").unwrap() + 1), None);
    }

    #[test]
    fn uuids_are_hyphenated_hex() {
        let text = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11";
        let bytes = uuid_bytes(text).unwrap();
        assert_eq!(bytes[0], 0xa0);
        assert_eq!(format_uuid(&bytes), text.to_ascii_lowercase());
        for bad in [
            "",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "a0eebc999c0b-4ef8-bb6d-6bb9bd380a11-",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1}",
        ] {
            assert!(canonical_uuid(bad).is_err(), "{bad}");
        }
    }
}
