//! Exact decimal numbers as text: parsing a client's text into the
//! canonical form of a `decimal(precision, scale)` field, and comparing
//! decimal texts by value. Never goes through a float.
//!
//! The canonical form is an optional `-`, the integer digits without
//! leading zeros (`0` when there are none), then, when the scale is not
//! zero, `.` and exactly `scale` fraction digits: `12.50`, `-0.07`, `3`.

use std::cmp::Ordering;

/// Largest precision accepted (MySQL/MariaDB's `DECIMAL` limit).
pub(crate) const MAX_DECIMAL_PRECISION: u32 = 65;
/// Largest scale accepted (MySQL/MariaDB's `DECIMAL` limit).
pub(crate) const MAX_DECIMAL_SCALE: u32 = 30;

/// The parts of a plain decimal text `-?[0-9]+(\.[0-9]+)?`.
struct Parts<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

fn split(text: &str) -> Option<Parts<'_>> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((int, frac)) if !frac.is_empty() => (int, frac),
        Some(_) => return None,
        None => (rest, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    Some(Parts {
        negative,
        int: int.trim_start_matches('0'),
        frac: frac.trim_end_matches('0'),
    })
}

/// The canonical text of `text` for a `decimal(precision, scale)` field.
/// Leading zeros and trailing fraction zeros do not count as digits, so
/// `0012.500` fits `decimal(4, 2)` as `12.50`.
///
/// # Errors
///
/// A lowercase, client-facing message: not a plain decimal, or too many
/// digits before or after the point.
///
/// ```
/// use lightapi::model::canonical_decimal;
/// assert_eq!(canonical_decimal("12345678901234567.89", 19, 2).as_deref(), Ok("12345678901234567.89"));
/// assert_eq!(canonical_decimal("-0.5", 4, 2).as_deref(), Ok("-0.50"));
/// assert_eq!(canonical_decimal("-0", 4, 2).as_deref(), Ok("0.00"));
/// assert!(canonical_decimal("1.234", 4, 2).is_err());
/// assert!(canonical_decimal("1e3", 4, 2).is_err());
/// ```
pub fn canonical_decimal(text: &str, precision: u32, scale: u32) -> Result<String, String> {
    let Some(p) = split(text) else {
        return Err("expected a decimal number as a string, such as \"12.50\"".to_owned());
    };
    let int_max = precision.saturating_sub(scale) as usize;
    let scale = scale as usize;
    if p.int.len() > int_max {
        return Err(format!(
            "too many digits: at most {int_max} before the decimal point"
        ));
    }
    if p.frac.len() > scale {
        return Err(format!(
            "too many digits: at most {scale} after the decimal point"
        ));
    }
    let zero = p.int.is_empty() && p.frac.is_empty();
    let mut out = String::with_capacity(p.int.len() + scale + 3);
    if p.negative && !zero {
        out.push('-');
    }
    out.push_str(if p.int.is_empty() { "0" } else { p.int });
    if scale > 0 {
        out.push('.');
        out.push_str(p.frac);
        out.extend(std::iter::repeat_n('0', scale - p.frac.len()));
    }
    Ok(out)
}

/// Compares two decimal texts by value (`-?[0-9]+(\.[0-9]+)?`, any
/// number of digits): `9.5 < 10.00`, `-0.0 = 0`; `None` when either is
/// not such a text.
pub(crate) fn compare_decimal(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (split(a)?, split(b)?);
    let sign = |p: &Parts<'_>| {
        if p.int.is_empty() && p.frac.is_empty() {
            0
        } else if p.negative {
            -1
        } else {
            1
        }
    };
    let (sa, sb) = (sign(&a), sign(&b));
    if sa != sb || sa == 0 {
        return Some(sa.cmp(&sb));
    }
    let magnitude = a
        .int
        .len()
        .cmp(&b.int.len())
        .then_with(|| a.int.cmp(b.int))
        .then_with(|| a.frac.cmp(b.frac));
    Some(if sa < 0 {
        magnitude.reverse()
    } else {
        magnitude
    })
}

/// The ECMA-262 pattern of the texts [`canonical_decimal`] accepts for a
/// `decimal(precision, scale)`; without the minus sign (bar a negative
/// zero) when `non_negative`.
pub(crate) fn decimal_pattern(precision: u32, scale: u32, non_negative: bool) -> String {
    let int_max = precision.saturating_sub(scale);
    let int = if int_max == 0 {
        "0+".to_owned()
    } else {
        format!("0*[0-9]{{1,{int_max}}}")
    };
    let frac = if scale == 0 {
        "(\\.0+)?".to_owned()
    } else {
        format!("(\\.[0-9]{{1,{scale}}}0*)?")
    };
    if non_negative {
        format!("^(-0+(\\.0+)?|{int}{frac})$")
    } else {
        format!("^-?{int}{frac}$")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        for (text, p, s, want) in [
            ("0", 5, 2, "0.00"),
            ("007.1", 5, 2, "7.10"),
            ("123.45", 5, 2, "123.45"),
            ("-123.450000", 5, 2, "-123.45"),
            ("-0.000", 5, 2, "0.00"),
            ("42", 2, 0, "42"),
            ("42.000", 2, 0, "42"),
            ("0.99", 2, 2, "0.99"),
        ] {
            assert_eq!(canonical_decimal(text, p, s).unwrap(), want, "{text}");
        }
        for (text, p, s) in [
            ("", 5, 2),
            ("-", 5, 2),
            ("1.", 5, 2),
            (".5", 5, 2),
            ("+1", 5, 2),
            (" 1", 5, 2),
            ("1e2", 5, 2),
            ("1,5", 5, 2),
            ("1234", 5, 2),
            ("1.234", 5, 2),
            ("1.5", 2, 0),
            ("1", 2, 2),
            ("١", 5, 2),
        ] {
            assert!(canonical_decimal(text, p, s).is_err(), "{text}");
        }
        assert_eq!(
            canonical_decimal("1234", 5, 2).unwrap_err(),
            "too many digits: at most 3 before the decimal point"
        );
    }

    #[test]
    fn comparison_is_by_value() {
        use Ordering::*;
        for (a, b, want) in [
            ("1", "1.000", Equal),
            ("0.10", "0.09", Greater),
            ("-0.10", "-0.09", Less),
            ("-1", "0", Less),
            ("0", "-0", Equal),
            ("100", "99.999", Greater),
            ("12345678901234567.89", "12345678901234567.88", Greater),
            ("0012", "12", Equal),
        ] {
            assert_eq!(compare_decimal(a, b), Some(want), "{a} {b}");
            assert_eq!(compare_decimal(b, a), Some(want.reverse()), "{b} {a}");
        }
    }

    #[test]
    fn patterns_describe_what_is_accepted() {
        assert_eq!(
            decimal_pattern(5, 2, false),
            "^-?0*[0-9]{1,3}(\\.[0-9]{1,2}0*)?$"
        );
        assert_eq!(decimal_pattern(2, 2, false), "^-?0+(\\.[0-9]{1,2}0*)?$");
        assert_eq!(
            decimal_pattern(3, 0, true),
            "^(-0+(\\.0+)?|0*[0-9]{1,3}(\\.0+)?)$"
        );
    }
}
