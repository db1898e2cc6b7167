//! Rate limit declarations: a [`RateLimit`] (a quota of requests per
//! window, counted per [`RateLimitKey`]) and the [`RateLimitConfig`] group
//! that holds the default limit and where counters are kept.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

/// Default most counters (one per policy and client) kept in memory.
pub const DEFAULT_RATE_LIMIT_MAX_KEYS: usize = 100_000;
/// Default prefix of the Redis keys of the counters.
pub const DEFAULT_RATE_LIMIT_REDIS_PREFIX: &str = "lightapi:rl:";
/// Default time limit of each Redis connect, write and read.
pub const DEFAULT_RATE_LIMIT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// Longest window a [`RateLimit`] may have: one day.
pub const MAX_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(86_400);
/// Longest policy name, in bytes.
pub const MAX_RATE_LIMIT_NAME_BYTES: usize = 64;

/// What requests are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RateLimitKey {
    /// The client's address (the socket's peer, or the forwarded client
    /// behind a trusted proxy; an IPv6 address by its /64). The default.
    #[default]
    Address,
    /// The `sub` claim of the caller's valid token; a request without one
    /// is counted by its address.
    Subject,
}

/// A quota of requests per fixed window, counted per [`RateLimitKey`].
///
/// ```
/// use std::time::Duration;
/// use lightapi::ratelimit::{RateLimit, RateLimitKey};
/// let limit = RateLimit::per_minute(100).by(RateLimitKey::Subject);
/// assert_eq!(limit.quota(), 100);
/// assert_eq!(limit.window(), Duration::from_secs(60));
/// let parsed: RateLimit = "100/60s".parse()?;
/// assert_eq!(parsed, RateLimit::per_minute(100));
/// # Ok::<(), lightapi::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimit {
    quota: u32,
    window: Duration,
    key: RateLimitKey,
    name: Option<String>,
}

impl RateLimit {
    /// `quota` requests per `window`, by address. A window is whole seconds
    /// from 1 s to one day: a shorter one is taken as 1 s, a longer one as
    /// a day, and fractions of a second are dropped. A quota of `0` refuses
    /// every request.
    pub fn new(quota: u32, window: Duration) -> RateLimit {
        let secs = window.as_secs().clamp(1, MAX_RATE_LIMIT_WINDOW.as_secs());
        RateLimit {
            quota,
            window: Duration::from_secs(secs),
            key: RateLimitKey::Address,
            name: None,
        }
    }

    /// `quota` requests per second.
    pub fn per_second(quota: u32) -> RateLimit {
        RateLimit::new(quota, Duration::from_secs(1))
    }

    /// `quota` requests per minute.
    pub fn per_minute(quota: u32) -> RateLimit {
        RateLimit::new(quota, Duration::from_secs(60))
    }

    /// `quota` requests per hour.
    pub fn per_hour(quota: u32) -> RateLimit {
        RateLimit::new(quota, Duration::from_secs(3600))
    }

    /// Counts by `key` instead of by address.
    #[must_use]
    pub fn by(mut self, key: RateLimitKey) -> RateLimit {
        self.key = key;
        self
    }

    /// Names the policy, as the `RateLimit` headers and the shared
    /// counters know it. Routes whose limits carry the same name share
    /// one budget (their quota, window and key must then agree). Names
    /// are 1 to 64 of `A-Z a-z 0-9 - _ . /`; others stop start-up.
    #[must_use]
    pub fn named(mut self, name: &str) -> RateLimit {
        self.name = Some(name.to_owned());
        self
    }

    /// Requests allowed per window.
    pub fn quota(&self) -> u32 {
        self.quota
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// What requests are counted against.
    pub fn key(&self) -> RateLimitKey {
        self.key
    }

    /// The policy's name, when given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The same limit named `name` unless it has a name already.
    pub(crate) fn or_named(mut self, name: impl FnOnce() -> String) -> RateLimit {
        if self.name.is_none() {
            self.name = Some(name());
        }
        self
    }
}

/// Whether `name` can name a policy (see [`RateLimit::named`]).
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RATE_LIMIT_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

/// `"<quota>/<window>"`, the window a number of seconds, minutes or hours
/// (`100/60s`, `5/1m`, `1000/h`; a bare unit is one of it).
impl FromStr for RateLimit {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<RateLimit, ConfigError> {
        let invalid = || ConfigError::Invalid {
            variable: "LIGHTAPI_RATE_LIMIT",
            reason: format!(
                "{s:?} is not <requests>/<window> with the window in s, m or h (e.g. 100/60s)"
            ),
        };
        let (quota, window) = s.trim().split_once('/').ok_or_else(invalid)?;
        let quota: u32 = quota.trim().parse().map_err(|_| invalid())?;
        let window = window.trim();
        let digits = window.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = window.split_at(digits);
        let count: u64 = if number.is_empty() {
            1
        } else {
            number.parse().map_err(|_| invalid())?
        };
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(invalid()),
        };
        let secs = count.checked_mul(unit_secs).ok_or_else(invalid)?;
        if secs == 0 || secs > MAX_RATE_LIMIT_WINDOW.as_secs() {
            return Err(ConfigError::Invalid {
                variable: "LIGHTAPI_RATE_LIMIT",
                reason: format!("the window of {s:?} must be from 1 s to one day"),
            });
        }
        Ok(RateLimit::new(quota, Duration::from_secs(secs)))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.quota, self.window.as_secs())
    }
}

/// What a server does with a request while Redis does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RedisFailure {
    /// Counts in this process alone until Redis answers again: the limits
    /// still hold per instance (the default).
    #[default]
    Open,
    /// Refuses limited requests with `503` until Redis answers again.
    Closed,
}

/// Rate limits on every route, and where their counters live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// The limit of every route the application registers, counted per
    /// client across all of them (`LIGHTAPI_RATE_LIMIT`, e.g. `100/60s`,
    /// counted by `LIGHTAPI_RATE_LIMIT_KEY`: `address` or `subject`;
    /// default none). Routes may declare limits of their own on top.
    pub default: Option<RateLimit>,
    /// Most counters kept in memory at once, across all policies
    /// (`LIGHTAPI_RATE_LIMIT_MAX_KEYS`, default 100,000); past it the
    /// counters closest to their window's end are dropped.
    pub max_keys: usize,
    /// A Redis server holding the counters, shared by every instance that
    /// names it (`LIGHTAPI_RATE_LIMIT_REDIS_URL`, `redis://host[:port][/db]`,
    /// optionally with `:password@` or `user:password@`; needs the `redis`
    /// feature; default none: each process counts alone).
    pub redis_url: Option<String>,
    /// Prefix of the counters' Redis keys (`LIGHTAPI_RATE_LIMIT_REDIS_PREFIX`,
    /// default `lightapi:rl:`).
    pub redis_prefix: String,
    /// Time limit of each Redis connect, write and read
    /// (`LIGHTAPI_RATE_LIMIT_REDIS_TIMEOUT_MS`, default 50 ms).
    pub redis_timeout: Duration,
    /// What happens while Redis does not answer
    /// (`LIGHTAPI_RATE_LIMIT_REDIS_FAILURE`: `open`, the default, or `closed`).
    pub redis_failure: RedisFailure,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            default: None,
            max_keys: DEFAULT_RATE_LIMIT_MAX_KEYS,
            redis_url: None,
            redis_prefix: DEFAULT_RATE_LIMIT_REDIS_PREFIX.to_owned(),
            redis_timeout: DEFAULT_RATE_LIMIT_REDIS_TIMEOUT,
            redis_failure: RedisFailure::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_in_seconds_minutes_and_hours() {
        let table = [
            ("100/60s", Some((100, 60))),
            ("5/1m", Some((5, 60))),
            ("1000/h", Some((1000, 3600))),
            (" 7 / 2h ", Some((7, 7200))),
            ("0/s", Some((0, 1))),
            ("10/24h", Some((10, 86_400))),
            ("10/25h", None),
            ("10/0s", None),
            ("10/60", None),
            ("10/60d", None),
            ("ten/60s", None),
            ("-1/60s", None),
            ("100", None),
            ("10/99999999999999999999s", None),
        ];
        for (text, expected) in table {
            let parsed = text
                .parse::<RateLimit>()
                .ok()
                .map(|l| (l.quota(), l.window().as_secs()));
            assert_eq!(parsed, expected, "{text}");
        }
        let e = "x".parse::<RateLimit>().unwrap_err();
        assert!(e.to_string().starts_with("LIGHTAPI_RATE_LIMIT:"), "{e}");
    }

    #[test]
    fn windows_are_whole_seconds_within_bounds() {
        assert_eq!(
            RateLimit::new(1, Duration::ZERO).window(),
            Duration::from_secs(1)
        );
        assert_eq!(
            RateLimit::new(1, Duration::from_millis(2500)).window(),
            Duration::from_secs(2)
        );
        assert_eq!(
            RateLimit::new(1, Duration::from_secs(1 << 40)).window(),
            MAX_RATE_LIMIT_WINDOW
        );
    }

    #[test]
    fn names_are_short_and_plain() {
        assert!(is_valid_name("person.post"));
        assert!(is_valid_name("get/upload"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name("\"x\""));
        assert!(!is_valid_name(&"a".repeat(65)));
        let named = RateLimit::per_second(1).named("x").or_named(|| "y".into());
        assert_eq!(named.name(), Some("x"));
        assert_eq!(
            RateLimit::per_second(1).or_named(|| "y".into()).name(),
            Some("y")
        );
    }
}
