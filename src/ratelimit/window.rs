//! Fixed-window counters kept in this process.
//!
//! A counter ([`Windows::hit`]) belongs to one policy and one client
//! ([`Who`]). Its window starts at the client's first request and lasts
//! the policy's window; at most `quota` requests are allowed in it, and
//! refused requests are not counted. When it ends, the next request starts
//! a new one.
//!
//! Counters live in [`SHARDS`] independently locked shards, chosen by a
//! hash of the counter's key, so requests of different clients seldom wait
//! for each other. Memory is bounded: each shard holds at most its share
//! of `max_keys` counters. A new counter in a full shard first drops the
//! counters whose window has ended (forgetting them loses nothing), then
//! the one whose window ends soonest. A flood of distinct clients can make
//! the limiter forget a client early; it can never make it grow.
//!
//! The clock is a parameter (`now`), so tests never sleep.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many independently locked shards hold the counters.
pub(crate) const SHARDS: usize = 16;

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Who {
    /// A client address, normalised by [`client_key`].
    Address(IpAddr),
    /// A token subject, by the first 16 bytes of its SHA-256.
    Subject([u8; 16]),
}

/// The state of one counter after a request, as the `RateLimit` header
/// tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Whether the request was allowed (and counted).
    pub(crate) allowed: bool,
    /// Requests left in the window.
    pub(crate) remaining: u32,
    /// Whole seconds until the window ends, rounded up; at least 1.
    pub(crate) reset_secs: u64,
}

impl Budget {
    /// The budget of a window with `count` requests counted (this one
    /// included when `allowed`) and `left` to run.
    pub(crate) fn new(allowed: bool, quota: u32, count: u64, left: Duration) -> Budget {
        let remaining = u64::from(quota).saturating_sub(count);
        Budget {
            allowed,
            remaining: if allowed {
                u32::try_from(remaining).unwrap_or(u32::MAX)
            } else {
                0
            },
            reset_secs: whole_seconds_up(left).max(1),
        }
    }
}

/// A counter's identity: its policy and its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Slot {
    policy: u32,
    who: Who,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    ends: Instant,
    count: u32,
}

#[derive(Debug, Default)]
struct Shard {
    windows: HashMap<Slot, Window>,
    /// `(ends, slot)` of every entry of `windows`, soonest end first.
    by_end: BTreeSet<(Instant, Slot)>,
}

/// Fixed-window counters per policy and client (see the module
/// documentation).
#[derive(Debug)]
pub(crate) struct Windows {
    shards: Box<[Mutex<Shard>]>,
    cap_per_shard: usize,
    hasher: RandomState,
}

impl Windows {
    /// Counters for at most about `max_keys` clients and policies (each
    /// shard holds its share, at least one).
    pub(crate) fn new(max_keys: usize) -> Windows {
        Windows {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            cap_per_shard: max_keys.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// Counts a request of `who` under `policy` (`quota` per `window`) at
    /// `now`, unless its window is full.
    pub(crate) fn hit(
        &self,
        policy: u32,
        who: Who,
        quota: u32,
        window: Duration,
        now: Instant,
    ) -> Budget {
        let slot = Slot { policy, who };
        let index = (self.hasher.hash_one(slot) % SHARDS as u64) as usize;
        let Some(shard) = self.shards.get(index) else {
            return Budget::new(true, quota, 0, window);
        };
        // The maps are consistent with each other between statements that
        // cannot panic, so a poisoned lock is still usable.
        let mut shard = crate::sync::lock(shard);
        let Shard { windows, by_end } = &mut *shard;
        let current = windows.get(&slot).copied();
        let mut entry = match current {
            Some(w) if now < w.ends => w,
            Some(w) => {
                by_end.remove(&(w.ends, slot));
                let fresh = Window {
                    ends: now + window,
                    count: 0,
                };
                by_end.insert((fresh.ends, slot));
                fresh
            }
            None => {
                make_room(windows, by_end, self.cap_per_shard, now);
                let fresh = Window {
                    ends: now + window,
                    count: 0,
                };
                by_end.insert((fresh.ends, slot));
                fresh
            }
        };
        let left = entry.ends.saturating_duration_since(now);
        let allowed = entry.count < quota;
        if allowed {
            entry.count += 1;
        }
        windows.insert(slot, entry);
        Budget::new(allowed, quota, u64::from(entry.count), left)
    }

    /// How many counters are kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| crate::sync::lock(s).windows.len())
            .sum()
    }
}

/// Frees at least one entry when `windows` is at `cap`: ended windows
/// first, then the one that ends soonest.
fn make_room(
    windows: &mut HashMap<Slot, Window>,
    by_end: &mut BTreeSet<(Instant, Slot)>,
    cap: usize,
    now: Instant,
) {
    if windows.len() < cap {
        return;
    }
    while let Some(&(ends, slot)) = by_end.first() {
        if ends > now && windows.len() < cap {
            break;
        }
        by_end.remove(&(ends, slot));
        windows.remove(&slot);
    }
}

fn whole_seconds_up(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The address a client is counted by: an IPv4-mapped IPv6 address as the
/// IPv4 address it carries, any other IPv6 address as its /64 prefix (the
/// block one subscriber usually holds).
pub(crate) fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
        IpAddr::V4(_) => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(last: u8) -> Who {
        Who::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_window_counts_down_then_refuses_until_it_ends() {
        let w = Windows::new(100);
        let t0 = Instant::now();
        let minute = secs(60);
        // (offset, allowed, remaining, reset)
        let table = [
            (secs(0), true, 2, 60),
            (secs(10), true, 1, 50),
            (Duration::from_millis(10_500), true, 0, 50),
            (secs(30), false, 0, 30),
            (Duration::from_millis(59_999), false, 0, 1),
            (secs(60), true, 2, 60),
        ];
        for (offset, allowed, remaining, reset_secs) in table {
            let expected = Budget {
                allowed,
                remaining,
                reset_secs,
            };
            assert_eq!(
                w.hit(1, v4(1), 3, minute, t0 + offset),
                expected,
                "{offset:?}"
            );
        }
    }

    #[test]
    fn refused_requests_are_not_counted() {
        let w = Windows::new(100);
        let t0 = Instant::now();
        assert!(w.hit(1, v4(1), 1, secs(10), t0).allowed);
        for s in 1..10 {
            assert!(!w.hit(1, v4(1), 1, secs(10), t0 + secs(s)).allowed);
        }
        assert!(w.hit(1, v4(1), 1, secs(10), t0 + secs(10)).allowed);
    }

    #[test]
    fn zero_quota_refuses_with_a_positive_reset() {
        let w = Windows::new(100);
        let b = w.hit(1, v4(1), 0, secs(5), Instant::now());
        assert_eq!(
            b,
            Budget {
                allowed: false,
                remaining: 0,
                reset_secs: 5
            }
        );
    }

    #[test]
    fn policies_and_clients_count_apart() {
        let w = Windows::new(100);
        let t0 = Instant::now();
        assert!(w.hit(1, v4(1), 1, secs(10), t0).allowed);
        assert!(w.hit(2, v4(1), 1, secs(10), t0).allowed);
        assert!(w.hit(1, v4(2), 1, secs(10), t0).allowed);
        assert!(w.hit(1, Who::Subject([7; 16]), 1, secs(10), t0).allowed);
        assert!(!w.hit(1, v4(1), 1, secs(10), t0).allowed);
        assert!(!w.hit(1, Who::Subject([7; 16]), 1, secs(10), t0).allowed);
    }

    #[test]
    fn an_earlier_now_than_the_window_start_does_not_panic() {
        let w = Windows::new(100);
        let t0 = Instant::now() + secs(10);
        assert!(w.hit(1, v4(1), 1, secs(10), t0).allowed);
        let b = w.hit(1, v4(1), 1, secs(10), t0 - secs(5));
        assert!(!b.allowed);
        assert_eq!(b.reset_secs, 15);
    }

    #[test]
    fn a_flood_of_distinct_clients_stays_within_the_cap() {
        let cap = 160;
        let w = Windows::new(cap);
        let t0 = Instant::now();
        for i in 0..100_000u32 {
            let who = Who::Address(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
            assert!(w.hit(1, who, 5, secs(60), t0).allowed);
        }
        assert!(w.len() <= cap, "{}", w.len());
        for shard in w.shards.iter() {
            let shard = crate::sync::lock(shard);
            assert_eq!(shard.by_end.len(), shard.windows.len());
        }
    }

    #[test]
    fn at_the_cap_ended_windows_go_before_live_ones() {
        // Two counters per shard.
        let w = Windows::new(2 * SHARDS);
        let t0 = Instant::now();
        let limited = v4(1);
        assert!(w.hit(1, limited, 1, secs(3600), t0).allowed);
        // Clients with 1 s windows arrive 2 s apart: in a full shard, a
        // newcomer always finds an ended window to drop before the live one.
        for i in 0..1000u32 {
            let who = Who::Address(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
            let now = t0 + secs(u64::from(i) * 2 + 1);
            assert!(w.hit(2, who, 5, secs(1), now).allowed);
        }
        assert!(!w.hit(1, limited, 1, secs(3600), t0 + secs(2001)).allowed);
    }

    #[test]
    fn at_the_cap_with_nothing_ended_the_soonest_end_goes() {
        let w = Windows::new(SHARDS);
        let t0 = Instant::now();
        let limited = v4(1);
        assert!(w.hit(1, limited, 1, secs(3600), t0).allowed);
        for i in 0..1000u32 {
            let who = Who::Address(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
            assert!(w.hit(2, who, 5, secs(7200), t0).allowed);
        }
        // Its shard had room for one: a newcomer with a later end took it.
        assert!(w.hit(1, limited, 1, secs(3600), t0 + secs(1)).allowed);
        assert!(w.len() <= SHARDS);
    }

    #[test]
    fn concurrent_hits_never_exceed_the_quota() {
        let w = std::sync::Arc::new(Windows::new(100));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let w = std::sync::Arc::clone(&w);
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| w.hit(1, v4(1), 50, secs(60), t0).allowed)
                        .count()
                })
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        assert_eq!(allowed, 50);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:3:4:5".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert_eq!(client_key(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    }
}
