//! Rate limiting for `POST /auth/login`, per client address and per
//! username.
//!
//! A [`Key`] is what is counted: a client address (IPv6 grouped by its /64
//! prefix, the block one subscriber usually holds; an IPv4-mapped IPv6
//! address as its IPv4 address) or a username (by a digest, so a long name
//! costs no more memory than a short one). A success forgets its keys
//! ([`RateLimiter::forgive`]), so in effect failures count.
//!
//! Each key gets two fixed windows that start at its first attempt: at most
//! `per_minute` attempts per minute window and `per_hour` per hour window. When either
//! window is full, [`RateLimiter::check`] answers [`RetryAfter`] with the whole seconds
//! (rounded up, at least 1) until that window ends — the value of the `Retry-After`
//! header of the `429` answer. Refused attempts do not count.
//!
//! Fixed windows are approximate: a client can spend its minute allowance at the end of
//! one window and again at the start of the next. The hour window bounds what that buys.
//!
//! Memory is bounded: at most `max_tracked_clients` addresses are tracked. When a new
//! address arrives at the cap, entries whose windows have all ended are dropped first
//! (forgetting them loses nothing), then the entry whose hour window started first. A
//! flood of distinct addresses can therefore make the limiter forget a client early;
//! it can never make it grow.
//!
//! The clock is a parameter (`now`), so tests never sleep.
//!
//! ```
//! use lightapi::__private::auth::{RateLimitConfig, RateLimiter, RetryAfter};
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//!
//! let limiter = RateLimiter::new(RateLimitConfig { per_minute: 2, ..Default::default() });
//! let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
//! let start = Instant::now();
//! assert!(limiter.check(client, start).is_ok());
//! assert!(limiter.check(client, start).is_ok());
//! let later = start + Duration::from_secs(15);
//! assert_eq!(limiter.check(client, later), Err(RetryAfter { seconds: 45 }));
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default attempts per client per minute.
pub const DEFAULT_PER_MINUTE: u32 = 10;

/// Default attempts per client per hour.
pub const DEFAULT_PER_HOUR: u32 = 100;

/// Default number of client addresses tracked at once.
pub const DEFAULT_MAX_TRACKED_CLIENTS: usize = 10_000;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);

/// Limits of a [`RateLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Attempts allowed per client in each minute window (default
    /// 10). `0` refuses every attempt.
    pub per_minute: u32,
    /// Attempts allowed per client in each hour window (default 100).
    /// `0` refuses every attempt.
    pub per_hour: u32,
    /// Most client addresses remembered at once (default
    /// 10,000); `0` is treated as `1`.
    pub max_tracked_clients: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_minute: DEFAULT_PER_MINUTE,
            per_hour: DEFAULT_PER_HOUR,
            max_tracked_clients: DEFAULT_MAX_TRACKED_CLIENTS,
        }
    }
}

/// A refused attempt: the client may try again after `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    /// Whole seconds to wait, rounded up; at least 1.
    pub seconds: u64,
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many attempts, retry after {} s", self.seconds)
    }
}

impl std::error::Error for RetryAfter {}

/// What attempts are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A client address: IPv4, or the /64 prefix of an IPv6 address.
    Addr(IpAddr),
    /// A username, by the first 16 bytes of its SHA-256.
    User([u8; 16]),
}

impl Key {
    /// The key of a username.
    pub fn user(name: &str) -> Key {
        let digest = Sha256::digest(name.as_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
        Key::User(out)
    }
}

impl From<IpAddr> for Key {
    fn from(addr: IpAddr) -> Key {
        Key::Addr(crate::ratelimit::window::client_key(addr))
    }
}

/// A thread-safe attempt counter per `Key` (see the module documentation).
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    state: Mutex<State>,
}

/// The counters of one address.
#[derive(Debug, Clone, Copy)]
struct Entry {
    minute_start: Instant,
    minute_count: u32,
    hour_start: Instant,
    hour_count: u32,
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<Key, Entry>,
    /// `(hour_start, addr)` of every entry in `clients`, oldest window first. The minute
    /// window never starts before the hour window, so an entry has expired exactly when
    /// its hour window has ended, and expired entries come first.
    by_age: BTreeSet<(Instant, Key)>,
}

impl RateLimiter {
    /// A limiter with `config`, tracking no client yet.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config: RateLimitConfig {
                max_tracked_clients: config.max_tracked_clients.max(1),
                ..config
            },
            state: Mutex::new(State::default()),
        }
    }

    /// Records an attempt counted against `key` at `now`, or refuses it.
    ///
    /// # Errors
    ///
    /// [`RetryAfter`] when `key` has used its allowance for the current minute or hour
    /// window; the refused attempt is not counted.
    pub fn check(&self, key: impl Into<Key>, now: Instant) -> Result<(), RetryAfter> {
        let addr = key.into();
        // A panic while the lock was held cannot leave the maps inconsistent with each
        // other (see `State::make_room`), so a poisoned lock is still usable.
        let mut state = crate::sync::lock(&self.state);
        let State { clients, by_age } = &mut *state;

        if !clients.contains_key(&addr) {
            make_room(clients, by_age, self.config.max_tracked_clients, now);
            by_age.insert((now, addr));
        }
        let entry = clients.entry(addr).or_insert(Entry {
            minute_start: now,
            minute_count: 0,
            hour_start: now,
            hour_count: 0,
        });

        if now.saturating_duration_since(entry.hour_start) >= HOUR {
            by_age.remove(&(entry.hour_start, addr));
            by_age.insert((now, addr));
            entry.hour_start = now;
            entry.hour_count = 0;
            entry.minute_start = now;
            entry.minute_count = 0;
        } else if now.saturating_duration_since(entry.minute_start) >= MINUTE {
            entry.minute_start = now;
            entry.minute_count = 0;
        }

        let mut wait = Duration::ZERO;
        if entry.minute_count >= self.config.per_minute {
            wait = wait.max(remaining(MINUTE, entry.minute_start, now));
        }
        if entry.hour_count >= self.config.per_hour {
            wait = wait.max(remaining(HOUR, entry.hour_start, now));
        }
        if entry.minute_count >= self.config.per_minute || entry.hour_count >= self.config.per_hour
        {
            return Err(RetryAfter {
                seconds: whole_seconds_up(wait).max(1),
            });
        }
        entry.minute_count += 1;
        entry.hour_count += 1;
        Ok(())
    }

    /// Forgets the attempts counted against `key` (after a success).
    pub fn forgive(&self, key: impl Into<Key>) {
        let key = key.into();
        let mut state = crate::sync::lock(&self.state);
        let State { clients, by_age } = &mut *state;
        if let Some(entry) = clients.remove(&key) {
            by_age.remove(&(entry.hour_start, key));
        }
    }

    /// How many addresses are tracked now (never more than `max_tracked_clients`).
    #[cfg(test)]
    pub(crate) fn tracked_clients(&self) -> usize {
        crate::sync::lock(&self.state).clients.len()
    }
}

/// Frees at least one slot when `clients` is at `cap`: expired entries first, then the
/// entry with the oldest hour window.
fn make_room(
    clients: &mut HashMap<Key, Entry>,
    by_age: &mut BTreeSet<(Instant, Key)>,
    cap: usize,
    now: Instant,
) {
    if clients.len() < cap {
        return;
    }
    while let Some(&(start, addr)) = by_age.first() {
        let expired = now.saturating_duration_since(start) >= HOUR;
        if !expired && clients.len() < cap {
            break;
        }
        by_age.remove(&(start, addr));
        clients.remove(&addr);
    }
}

/// Time left in a `window` that started at `start`.
fn remaining(window: Duration, start: Instant, now: Instant) -> Duration {
    window.saturating_sub(now.saturating_duration_since(start))
}

fn whole_seconds_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn limiter(per_minute: u32, per_hour: u32, max_tracked_clients: usize) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            per_minute,
            per_hour,
            max_tracked_clients,
        })
    }

    fn secs(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = RateLimitConfig::default();
        assert_eq!(config.per_minute, 10);
        assert_eq!(config.per_hour, 100);
        assert_eq!(config.max_tracked_clients, 10_000);
    }

    #[test]
    fn limiter_is_send_and_sync() {
        fn assert_traits<T: Send + Sync>() {}
        assert_traits::<RateLimiter>();
    }

    #[test]
    fn minute_window_refuses_then_reopens() {
        let limiter = limiter(3, 100, 16);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(v4(1), t0), Ok(()));
        }
        // (offset into the window, expected answer)
        let table = [
            (secs(0), Err(RetryAfter { seconds: 60 })),
            (secs(1), Err(RetryAfter { seconds: 59 })),
            (secs(30), Err(RetryAfter { seconds: 30 })),
            (
                Duration::from_millis(59_001),
                Err(RetryAfter { seconds: 1 }),
            ),
            (
                Duration::from_millis(59_999),
                Err(RetryAfter { seconds: 1 }),
            ),
            (secs(60), Ok(())),
        ];
        for (offset, expected) in table {
            assert_eq!(limiter.check(v4(1), t0 + offset), expected, "{offset:?}");
        }
    }

    #[test]
    fn refused_attempts_do_not_count() {
        let limiter = limiter(1, 100, 16);
        let t0 = Instant::now();
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        for second in 1..60 {
            assert!(limiter.check(v4(1), t0 + secs(second)).is_err());
        }
        assert_eq!(limiter.check(v4(1), t0 + secs(60)), Ok(()));
    }

    #[test]
    fn hour_window_refuses_with_its_own_retry_after() {
        let limiter = limiter(2, 5, 16);
        let t0 = Instant::now();
        let mut allowed = 0;
        for minute in 0..10 {
            for _ in 0..2 {
                if limiter.check(v4(1), t0 + secs(minute * 60)).is_ok() {
                    allowed += 1;
                }
            }
        }
        assert_eq!(allowed, 5);
        // Minute 10 has a fresh minute window but the hour window (started at 0) is full.
        assert_eq!(
            limiter.check(v4(1), t0 + secs(600)),
            Err(RetryAfter { seconds: 3000 })
        );
        assert_eq!(limiter.check(v4(1), t0 + secs(3600)), Ok(()));
    }

    #[test]
    fn retry_after_is_the_longer_wait_when_both_windows_are_full() {
        let limiter = limiter(1, 1, 16);
        let t0 = Instant::now();
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        assert_eq!(
            limiter.check(v4(1), t0 + secs(10)),
            Err(RetryAfter { seconds: 3590 })
        );
    }

    #[test]
    fn zero_limit_refuses_with_positive_retry_after() {
        let limiter = limiter(0, 100, 16);
        let t0 = Instant::now();
        let refused = limiter.check(v4(1), t0);
        assert_eq!(refused, Err(RetryAfter { seconds: 60 }));
    }

    #[test]
    fn addresses_are_counted_separately() {
        let limiter = limiter(1, 100, 16);
        let t0 = Instant::now();
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        assert_eq!(limiter.check(v4(2), t0), Ok(()));
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(limiter.check(v6, t0), Ok(()));
        assert!(limiter.check(v4(1), t0).is_err());
        assert!(limiter.check(v6, t0).is_err());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_their_counters() {
        let limiter = limiter(1, 100, 16);
        let t0 = Instant::now();
        let a = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1));
        let b = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0xffff, 3, 4, 5));
        let other = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert_eq!(limiter.check(a, t0), Ok(()));
        assert!(limiter.check(b, t0).is_err());
        assert_eq!(limiter.check(other, t0), Ok(()));
    }

    #[test]
    fn usernames_are_counted_apart_from_addresses_and_a_success_forgives() {
        let limiter = limiter(2, 100, 16);
        let t0 = Instant::now();
        let alice = Key::user("alice");
        assert_ne!(alice, Key::user("bob"));
        // Failures from many addresses against one username.
        assert_eq!(limiter.check(alice, t0), Ok(()));
        assert_eq!(limiter.check(alice, t0), Ok(()));
        assert!(limiter.check(alice, t0).is_err());
        assert_eq!(limiter.check(Key::user("bob"), t0), Ok(()));
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        limiter.forgive(alice);
        assert_eq!(limiter.check(alice, t0), Ok(()));
        let state = crate::sync::lock(&limiter.state);
        assert_eq!(state.by_age.len(), state.clients.len());
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4() {
        let limiter = limiter(1, 100, 16);
        let t0 = Instant::now();
        assert_eq!(limiter.check(v4(7), t0), Ok(()));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert!(limiter.check(mapped, t0).is_err());
        assert_eq!(limiter.tracked_clients(), 1);
    }

    #[test]
    fn earlier_now_than_window_start_does_not_panic() {
        let limiter = limiter(1, 100, 16);
        let t0 = Instant::now() + secs(10);
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        assert_eq!(
            limiter.check(v4(1), t0 - secs(5)),
            Err(RetryAfter { seconds: 60 })
        );
    }

    #[test]
    fn a_million_distinct_addresses_stay_within_the_cap() {
        let cap = 1_000;
        let limiter = limiter(10, 100, cap);
        let t0 = Instant::now();
        for i in 0..1_000_000u32 {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            // All at the same instant: nothing expires, so the oldest go.
            assert_eq!(limiter.check(addr, t0), Ok(()));
            assert!(limiter.tracked_clients() <= cap);
        }
        assert_eq!(limiter.tracked_clients(), cap);
        let state = crate::sync::lock(&limiter.state);
        assert_eq!(state.by_age.len(), state.clients.len());
    }

    #[test]
    fn at_the_cap_expired_entries_go_before_live_ones() {
        let limiter = limiter(10, 100, 3);
        let t0 = Instant::now();
        for last in 1..=2 {
            assert_eq!(limiter.check(v4(last), t0), Ok(()));
        }
        // A live, limited client, whose window started later.
        let later = t0 + secs(3000);
        for _ in 0..10 {
            assert_eq!(limiter.check(v4(3), later), Ok(()));
        }
        // At 3601 s the first two have expired; two newcomers evict only them.
        let now = t0 + secs(3601);
        assert_eq!(limiter.check(v4(4), now), Ok(()));
        assert_eq!(limiter.tracked_clients(), 2);
        assert_eq!(limiter.check(v4(5), now), Ok(()));
        assert_eq!(limiter.tracked_clients(), 3);
        // Client 3 is still remembered with its hour count.
        let state = crate::sync::lock(&limiter.state);
        assert_eq!(
            state.clients.get(&Key::from(v4(3))).map(|e| e.hour_count),
            Some(10)
        );
        assert!(!state.clients.contains_key(&Key::from(v4(1))));
        assert!(!state.clients.contains_key(&Key::from(v4(2))));
    }

    #[test]
    fn at_the_cap_with_nothing_expired_the_oldest_goes() {
        let limiter = limiter(1, 100, 2);
        let t0 = Instant::now();
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        assert_eq!(limiter.check(v4(2), t0 + secs(1)), Ok(()));
        assert_eq!(limiter.check(v4(3), t0 + secs(2)), Ok(()));
        assert_eq!(limiter.tracked_clients(), 2);
        // Client 2 is still limited, client 1 was forgotten.
        assert!(limiter.check(v4(2), t0 + secs(3)).is_err());
        assert_eq!(limiter.check(v4(1), t0 + secs(3)), Ok(()));
    }

    #[test]
    fn zero_cap_tracks_one_client() {
        let limiter = limiter(1, 100, 0);
        let t0 = Instant::now();
        assert_eq!(limiter.check(v4(1), t0), Ok(()));
        assert_eq!(limiter.check(v4(2), t0), Ok(()));
        assert_eq!(limiter.tracked_clients(), 1);
    }

    #[test]
    fn concurrent_checks_never_exceed_the_allowance() {
        let limiter = std::sync::Arc::new(limiter(50, 1000, 16));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let limiter = std::sync::Arc::clone(&limiter);
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| limiter.check(v4(1), t0).is_ok())
                        .count()
                })
            })
            .collect();
        let allowed: usize = handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(0))
            .sum();
        assert_eq!(allowed, 50);
    }

    #[test]
    fn retry_after_displays_lowercase() {
        assert_eq!(
            RetryAfter { seconds: 3 }.to_string(),
            "too many attempts, retry after 3 s"
        );
    }
}
