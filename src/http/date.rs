//! The `Date` header value (IMF-fixdate), cached and refreshed at most once a
//! second by each event loop.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

/// A formatted `Date` value for the current second.
///
/// ```
/// use lightapi::__private::http::DateCache;
/// let mut d = DateCache::new();
/// d.refresh();
/// assert!(d.as_bytes().ends_with(b" GMT"));
/// ```
#[derive(Debug, Clone)]
pub struct DateCache {
    second: u64,
    buf: [u8; DATE_LEN],
}

impl Default for DateCache {
    fn default() -> Self {
        DateCache::new()
    }
}

impl DateCache {
    /// A cache holding the current time.
    pub fn new() -> DateCache {
        let second = now_secs();
        DateCache {
            second,
            buf: format_imf(second),
        }
    }

    /// Re-formats if the second has changed.
    pub fn refresh(&mut self) {
        let now = now_secs();
        if now != self.second {
            self.second = now;
            self.buf = format_imf(now);
        }
    }

    /// The formatted value.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Formats seconds since the Unix epoch as an IMF-fixdate.
///
/// ```
/// use lightapi::__private::http::format_imf;
/// assert_eq!(&format_imf(784111777), b"Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn format_imf(secs: u64) -> [u8; DATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = crate::calendar::civil_from_days(days as i64);
    let (hh, mm, ss) = (rem / 3600, rem / 60 % 60, rem % 60);
    let wd = DAYS[(days % 7) as usize];
    let mon = MONTHS[((m as usize).clamp(1, 12)) - 1];
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(wd);
    let two = |n: u64| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    out[5..7].copy_from_slice(&two(d as u64));
    out[8..11].copy_from_slice(mon);
    let y = y.clamp(0, 9999) as u64;
    out[12..14].copy_from_slice(&two(y / 100));
    out[14..16].copy_from_slice(&two(y % 100));
    out[17..19].copy_from_slice(&two(hh));
    out[20..22].copy_from_slice(&two(mm));
    out[23..25].copy_from_slice(&two(ss));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(&format_imf(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format_imf(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&format_imf(1_700_000_000), b"Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(&format_imf(4_102_444_799), b"Thu, 31 Dec 2099 23:59:59 GMT");
    }
}
