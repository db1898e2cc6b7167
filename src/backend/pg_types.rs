//! PostgreSQL's binary formats of the types lightapi keeps as canonical
//! text (`UUID`, `DATE`, `NUMERIC`): pure conversions between that text
//! and the bytes of the wire protocol, used by the PostgreSQL driver.

use crate::model::{date_days, format_date, format_uuid, uuid_bytes};

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// `NUMERIC` sign words.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;

/// The 16 bytes of a `UUID` parameter.
pub(crate) fn encode_uuid(text: &str) -> Result<Vec<u8>, String> {
    uuid_bytes(text)
        .map(|b| b.to_vec())
        .ok_or_else(|| format!("not a UUID: {text:?}"))
}

/// The canonical text of a `UUID` column.
pub(crate) fn decode_uuid(raw: &[u8]) -> Result<String, String> {
    let bytes: &[u8; 16] = raw
        .try_into()
        .map_err(|_| "a UUID is 16 bytes".to_owned())?;
    Ok(format_uuid(bytes))
}

/// The bytes of a `DATE` parameter: days since 2000-01-01, big-endian.
pub(crate) fn encode_date(text: &str) -> Result<Vec<u8>, String> {
    let days = date_days(text).ok_or_else(|| format!("not a date: {text:?}"))?;
    let days = i32::try_from(days - PG_EPOCH_DAYS).map_err(|_| "date out of range".to_owned())?;
    Ok(days.to_be_bytes().to_vec())
}

/// The `YYYY-MM-DD` text of a `DATE` column (not `infinity`, not outside
/// years 0000–9999).
pub(crate) fn decode_date(raw: &[u8]) -> Result<String, String> {
    let bytes: [u8; 4] = raw.try_into().map_err(|_| "a date is 4 bytes".to_owned())?;
    let days = i64::from(i32::from_be_bytes(bytes)) + PG_EPOCH_DAYS;
    format_date(days).ok_or_else(|| "date outside years 0000-9999".to_owned())
}

/// The bytes of a `NUMERIC` parameter from decimal text
/// `-?[0-9]+(\.[0-9]+)?`: base-10000 digits with a weight, a sign and the
/// number of fraction digits shown (the display scale).
pub(crate) fn encode_numeric(text: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("not a decimal: {text:?}");
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) || rest.ends_with('.') {
        return Err(bad());
    }
    let dscale = u16::try_from(frac.len()).map_err(|_| bad())?;
    // Integer digits padded on the left, fraction digits on the right, to
    // whole groups of four.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let mut all = String::with_capacity(int.len() + frac.len() + 6);
    all.extend(std::iter::repeat_n('0', int_pad));
    all.push_str(int);
    all.push_str(frac);
    all.extend(std::iter::repeat_n('0', frac_pad));
    let groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |n, d| n * 10 + i16::from(d - b'0')))
        .collect();
    let int_groups = (int.len() + int_pad) / 4;
    let first = groups.iter().position(|g| *g != 0);
    let last = groups.iter().rposition(|g| *g != 0);
    let (weight, digits) = match (first, last) {
        (Some(first), Some(last)) => {
            let weight = i64::try_from(int_groups).map_err(|_| bad())?
                - 1
                - i64::try_from(first).map_err(|_| bad())?;
            (
                i16::try_from(weight).map_err(|_| bad())?,
                groups.get(first..=last).unwrap_or_default(),
            )
        }
        _ => (0, &[][..]),
    };
    let sign = if negative && !digits.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    let ndigits = u16::try_from(digits.len()).map_err(|_| bad())?;
    let mut out = Vec::with_capacity(8 + 2 * digits.len());
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(out)
}

/// The decimal text of a `NUMERIC` column, with as many fraction digits as
/// its display scale (a `NUMERIC(p,s)` column's `s`); NaN and infinities
/// are errors.
pub(crate) fn decode_numeric(raw: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<[u8; 2], String> {
        raw.get(i * 2..i * 2 + 2)
            .and_then(|w| w.try_into().ok())
            .ok_or_else(|| "truncated numeric".to_owned())
    };
    let ndigits = usize::from(u16::from_be_bytes(word(0)?));
    let weight = i64::from(i16::from_be_bytes(word(1)?));
    let sign = u16::from_be_bytes(word(2)?);
    let dscale = usize::from(u16::from_be_bytes(word(3)?));
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        digits.push(i16::from_be_bytes(word(4 + i)?));
    }
    if raw.len() != 8 + 2 * ndigits {
        return Err("malformed numeric".to_owned());
    }
    if sign != NUMERIC_POS && sign != NUMERIC_NEG {
        return Err("numeric is NaN or infinite".to_owned());
    }
    // The group of base-10000 exponent `e` is digits[weight - e].
    let group = |e: i64| -> i16 {
        usize::try_from(weight - e)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut int = String::new();
    for e in (0..=weight).rev() {
        int.push_str(&format!("{:04}", group(e)));
    }
    let int = int.trim_start_matches('0');
    let mut frac = String::with_capacity(dscale + 4);
    let mut e = -1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", group(e)));
        e -= 1;
    }
    frac.truncate(dscale);
    let zero = int.is_empty() && frac.bytes().all(|b| b == b'0');
    let mut out = String::with_capacity(int.len() + dscale + 3);
    if sign == NUMERIC_NEG && !zero {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if dscale > 0 {
        out.push('.');
        out.push_str(&frac);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn words(raw: &[u8]) -> Vec<i16> {
        raw.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numerics_use_base_10000_groups() {
        // 12345.678: groups 1 | 2345 . 6780, weight 1, dscale 3.
        assert_eq!(
            words(&encode_numeric("12345.678").unwrap()),
            [3, 1, 0, 3, 1, 2345, 6780]
        );
        assert_eq!(
            words(&encode_numeric("-0.0001").unwrap()),
            [1, -1, 0x4000, 4, 1]
        );
        assert_eq!(words(&encode_numeric("0.00").unwrap()), [0, 0, 0, 2]);
        assert_eq!(words(&encode_numeric("10000").unwrap()), [1, 1, 0, 0, 1]);
        for bad in ["", "-", "1.", ".5", "1e3", "x"] {
            assert!(encode_numeric(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numerics_round_trip() {
        for text in [
            "0",
            "0.00",
            "1",
            "-1",
            "10000",
            "99999999",
            "12345678901234567.89",
            "-0.0001",
            "0.10",
            "123.4500",
            "100000000.00000001",
            "99999999999999999999999999999999999.999999999999999999999999999999",
        ] {
            assert_eq!(
                decode_numeric(&encode_numeric(text).unwrap()).unwrap(),
                text
            );
        }
        assert!(decode_numeric(&[0, 0, 0, 0, 0xC0, 0, 0, 0]).is_err());
        assert!(decode_numeric(&[0, 1, 0, 0]).is_err());
    }

    #[test]
    fn uuids_and_dates() {
        let u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        assert_eq!(decode_uuid(&encode_uuid(u).unwrap()).unwrap(), u);
        assert!(decode_uuid(&[1, 2]).is_err());
        assert_eq!(encode_date("2000-01-02").unwrap(), [0, 0, 0, 1]);
        for d in ["0001-01-01", "1969-12-31", "9999-12-31"] {
            assert_eq!(decode_date(&encode_date(d).unwrap()).unwrap(), d);
        }
        assert!(decode_date(&i32::MAX.to_be_bytes()).is_err());
    }
}
