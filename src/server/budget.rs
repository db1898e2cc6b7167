//! A byte budget shared by every connection of a server: bounds what all
//! of them together may hold, whatever each one's own limits allow.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes taken from a shared limit, given back when no longer held.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Budget {
        Budget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `n` bytes, or nothing when that would pass the limit.
    pub(crate) fn try_take(&self, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `n` bytes taken earlier.
    pub(crate) fn give_back(&self, n: usize) {
        if n > 0 {
            let _ = self
                .used
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                    Some(used.saturating_sub(n))
                });
        }
    }

    /// Bytes taken now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_passes_its_limit() {
        let b = Budget::new(10);
        assert!(b.try_take(6));
        assert!(!b.try_take(5));
        assert!(b.try_take(4));
        assert!(!b.try_take(1));
        b.give_back(6);
        assert_eq!(b.used(), 4);
        assert!(b.try_take(6));
        b.give_back(100);
        assert_eq!(b.used(), 0);
    }
}
