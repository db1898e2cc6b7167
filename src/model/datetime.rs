//! RFC 3339 datetimes, normalised to UTC microseconds since the Unix epoch.
//!
//! Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`T` and `Z` may be
//! lowercase). Fraction digits beyond microseconds are truncated. Leap seconds
//! (`:60`) are rejected, as are instants outside years 0000–9999 once
//! converted to UTC. Output is always `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so
//! every backend stores and returns exactly the same text, and text order is
//! time order.
//!
//! ```
//! use lightapi::model::datetime::{format_rfc3339, parse_rfc3339};
//!
//! let us = parse_rfc3339("2024-02-29T23:30:00.5+01:00")?;
//! assert_eq!(format_rfc3339(us), "2024-02-29T22:30:00.500000Z");
//! # Ok::<(), lightapi::model::datetime::DateTimeError>(())
//! ```

use std::fmt;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// 0000-01-01T00:00:00Z in microseconds since the epoch.
const MIN_MICROS: i64 = -62_167_219_200 * MICROS_PER_SECOND;
/// 9999-12-31T23:59:59.999999Z in microseconds since the epoch.
const MAX_MICROS: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;

/// Why a datetime string was rejected.
///
/// ```
/// use lightapi::model::datetime::{parse_rfc3339, DateTimeError};
/// assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), Err(DateTimeError::OutOfRange { part: "day" }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateTimeError {
    /// The text does not have the `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)` shape.
    Syntax {
        /// What was expected where parsing stopped.
        expected: &'static str,
    },
    /// A component is out of its range (month 13, February 30, hour 24…).
    OutOfRange {
        /// The component: `"month"`, `"day"`, `"hour"`, …
        part: &'static str,
    },
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateTimeError::Syntax { expected } => write!(f, "expected {expected}"),
            DateTimeError::OutOfRange { part } => write!(f, "{part} out of range"),
        }
    }
}

impl std::error::Error for DateTimeError {}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize, what: &'static str) -> Result<i64, DateTimeError> {
        let mut value = 0i64;
        for _ in 0..n {
            match self.bytes.get(self.pos) {
                Some(b) if b.is_ascii_digit() => {
                    value = value * 10 + i64::from(b - b'0');
                    self.pos += 1;
                }
                _ => return Err(DateTimeError::Syntax { expected: what }),
            }
        }
        Ok(value)
    }

    fn byte(&mut self, allowed: &[u8], what: &'static str) -> Result<u8, DateTimeError> {
        match self.bytes.get(self.pos) {
            Some(b) if allowed.contains(b) => {
                self.pos += 1;
                Ok(*b)
            }
            _ => Err(DateTimeError::Syntax { expected: what }),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an RFC 3339 datetime to microseconds since the epoch, UTC.
///
/// # Errors
///
/// [`DateTimeError`] when the text is not a valid RFC 3339 datetime within
/// years 0000–9999 (UTC).
///
/// ```
/// use lightapi::model::datetime::parse_rfc3339;
/// assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Ok(1_000_000));
/// assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Ok(0));
/// assert!(parse_rfc3339("1970-01-01 00:00:00Z").is_err());
/// ```
pub fn parse_rfc3339(text: &str) -> Result<i64, DateTimeError> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let year = c.digits(4, "a four-digit year")?;
    c.byte(b"-", "'-' after the year")?;
    let month = c.digits(2, "a two-digit month")?;
    c.byte(b"-", "'-' after the month")?;
    let day = c.digits(2, "a two-digit day")?;
    c.byte(b"Tt", "'T' between date and time")?;
    let hour = c.digits(2, "a two-digit hour")?;
    c.byte(b":", "':' after the hour")?;
    let minute = c.digits(2, "two-digit minutes")?;
    c.byte(b":", "':' after the minutes")?;
    let second = c.digits(2, "two-digit seconds")?;
    let mut micros = 0i64;
    if c.peek() == Some(b'.') {
        c.pos += 1;
        let mut n = 0;
        while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
            if n < 6 {
                micros = micros * 10 + i64::from(b - b'0');
            }
            n += 1;
            c.pos += 1;
        }
        if n == 0 {
            return Err(DateTimeError::Syntax {
                expected: "digits after '.'",
            });
        }
        for _ in n..6 {
            micros *= 10;
        }
    }
    let offset_seconds = match c.byte(b"Zz+-", "'Z' or a ±HH:MM offset")? {
        b'Z' | b'z' => 0,
        sign => {
            let oh = c.digits(2, "a two-digit offset hour")?;
            c.byte(b":", "':' in the offset")?;
            let om = c.digits(2, "two-digit offset minutes")?;
            if oh > 23 {
                return Err(DateTimeError::OutOfRange {
                    part: "offset hour",
                });
            }
            if om > 59 {
                return Err(DateTimeError::OutOfRange {
                    part: "offset minutes",
                });
            }
            let s = oh * 3600 + om * 60;
            if sign == b'-' {
                -s
            } else {
                s
            }
        }
    };
    if c.pos != c.bytes.len() {
        return Err(DateTimeError::Syntax {
            expected: "end of text after the offset",
        });
    }
    if !(1..=12).contains(&month) {
        return Err(DateTimeError::OutOfRange { part: "month" });
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(DateTimeError::OutOfRange { part: "day" });
    }
    if hour > 23 {
        return Err(DateTimeError::OutOfRange { part: "hour" });
    }
    if minute > 59 {
        return Err(DateTimeError::OutOfRange { part: "minutes" });
    }
    if second > 59 {
        return Err(DateTimeError::OutOfRange { part: "seconds" });
    }
    let seconds = crate::calendar::days_from_civil(year, month, day) * SECONDS_PER_DAY
        + hour * 3600
        + minute * 60
        + second
        - offset_seconds;
    let total = seconds * MICROS_PER_SECOND + micros;
    if !(MIN_MICROS..=MAX_MICROS).contains(&total) {
        return Err(DateTimeError::OutOfRange { part: "year" });
    }
    Ok(total)
}

/// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
///
/// Values outside years 0000–9999 (which [`parse_rfc3339`] never produces)
/// are clamped to that range.
///
/// ```
/// use lightapi::model::datetime::format_rfc3339;
/// assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000Z");
/// assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
/// ```
pub fn format_rfc3339(micros: i64) -> String {
    let micros = micros.clamp(MIN_MICROS, MAX_MICROS);
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let frac = micros.rem_euclid(MICROS_PER_SECOND);
    format!("{}.{frac:06}Z", crate::calendar::format_seconds(seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn roundtrip(input: &str, normal: &str) {
        let us = parse_rfc3339(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(format_rfc3339(us), normal, "{input}");
        assert_eq!(parse_rfc3339(normal), Ok(us));
    }

    #[test]
    fn parses_and_normalises() {
        roundtrip("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z");
        roundtrip("2024-02-29T12:34:56Z", "2024-02-29T12:34:56.000000Z");
        roundtrip("2000-02-29T00:00:00z", "2000-02-29T00:00:00.000000Z");
        roundtrip("2024-01-01t00:00:00.1Z", "2024-01-01T00:00:00.100000Z");
        roundtrip(
            "2024-01-01T00:00:00.123456789Z",
            "2024-01-01T00:00:00.123456Z",
        );
        roundtrip("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00.000000Z");
        roundtrip("2023-12-31T23:30:00-00:30", "2024-01-01T00:00:00.000000Z");
        roundtrip("2024-03-01T05:00:00+05:45", "2024-02-29T23:15:00.000000Z");
        roundtrip("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z");
        roundtrip("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000000Z");
        roundtrip("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z");
        roundtrip("1900-03-01T00:00:00Z", "1900-03-01T00:00:00.000000Z");
    }

    #[test]
    fn known_epoch_values() {
        assert_eq!(
            parse_rfc3339("2001-09-09T01:46:40Z"),
            Ok(1_000_000_000 * 1_000_000)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Ok(-1_000_000));
    }

    #[test]
    fn leap_years() {
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
        assert!(parse_rfc3339("1900-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_err());
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "2024",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00Z",
            "2024-1-01T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T00:00:00Z ",
            "2024-01-01T00:00:00ZZ",
            "+2024-01-01T00:00:00Z",
            "２０２４-01-01T00:00:00Z",
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn format_clamps_out_of_range() {
        assert_eq!(format_rfc3339(i64::MIN), "0000-01-01T00:00:00.000000Z");
        assert_eq!(format_rfc3339(i64::MAX), "9999-12-31T23:59:59.999999Z");
    }

    #[test]
    fn every_day_of_a_leap_cycle_roundtrips() {
        let start = parse_rfc3339("1999-12-25T00:00:00Z").unwrap();
        let day = SECONDS_PER_DAY * MICROS_PER_SECOND;
        for i in 0..(366 * 5) {
            let us = start + i * day + 1;
            assert_eq!(parse_rfc3339(&format_rfc3339(us)), Ok(us));
        }
    }
}
