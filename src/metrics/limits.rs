//! Requests refused by rate limiters, counted per limiter name for the
//! whole process, without a lock: [`rate_limit_refused`] is what a
//! limiter calls when it refuses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// How many distinct limiter names are counted; refusals by further names
/// are not.
const MAX_LIMITERS: usize = 16;

struct Slot {
    name: OnceLock<String>,
    count: AtomicU64,
}

static LIMITERS: [Slot; MAX_LIMITERS] = [const {
    Slot {
        name: OnceLock::new(),
        count: AtomicU64::new(0),
    }
}; MAX_LIMITERS];

/// Counts one refusal by the rate limiter `limiter` (`"login"`, or a
/// declared policy's name: it becomes the `limiter` label; the names are
/// declared at start-up, so the label's values are bounded).
pub(crate) fn rate_limit_refused(limiter: &str) {
    for slot in &LIMITERS {
        if slot.name.get_or_init(|| limiter.to_owned()) == limiter {
            slot.count.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
}

/// Each limiter that has refused something, with its count.
pub(crate) fn rate_limit_refusals() -> impl Iterator<Item = (&'static str, u64)> {
    LIMITERS.iter().map_while(|s| {
        s.name
            .get()
            .map(|n| (n.as_str(), s.count.load(Ordering::Relaxed)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(name: &str) -> u64 {
        rate_limit_refusals()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| c)
    }

    #[test]
    fn refusals_are_counted_per_limiter() {
        let (a, b) = (count("test-a"), count("test-b"));
        rate_limit_refused("test-a");
        rate_limit_refused("test-a");
        rate_limit_refused("test-b");
        assert_eq!(count("test-a"), a + 2);
        assert_eq!(count("test-b"), b + 1);
    }
}
