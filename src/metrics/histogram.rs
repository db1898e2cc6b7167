//! A histogram with fixed buckets over atomics: observing a value is one
//! scan of a short bound table and two relaxed additions, with no lock and
//! no allocation.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bucket upper bounds of request durations, in microseconds
/// (0.5 ms to 10 s).
pub(crate) const DURATION_BOUNDS_MICROS: &[u64] = &[
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// Bucket upper bounds of the number of writes one commit holds.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) const GROUP_SIZE_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// Counts of observations per bucket (not cumulative: each observation is
/// counted once, in the first bucket whose bound holds it, or in the
/// overflow slot past the last bound), and their sum.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [u64],
    /// One slot per bound, then the overflow slot (`+Inf`).
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

/// A histogram's values read at one moment, cumulative as the exposition
/// format wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistogramSnapshot {
    /// `(upper bound, observations at or below it)`, in bound order.
    pub(crate) buckets: Vec<(u64, u64)>,
    /// Every observation (the `+Inf` bucket).
    pub(crate) count: u64,
    /// The sum of the observed values, in the unit of the bounds.
    pub(crate) sum: u64,
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending).
    pub(crate) fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Counts one observation of `value`.
    pub(crate) fn observe(&self, value: u64) {
        let slot = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(slot) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Whether nothing was observed yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| c.load(Ordering::Relaxed) == 0)
    }

    /// The cumulative counts now. The count is the sum of the buckets read,
    /// so `+Inf` always equals the count even while others observe.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0u64;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (bound, count) in self.bounds.iter().zip(self.counts.iter()) {
            running = running.saturating_add(count.load(Ordering::Relaxed));
            buckets.push((*bound, running));
        }
        let overflow = self
            .counts
            .get(self.bounds.len())
            .map_or(0, |c| c.load(Ordering::Relaxed));
        HistogramSnapshot {
            buckets,
            count: running.saturating_add(overflow),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_inclusive() {
        let h = Histogram::new(&[1, 2, 4]);
        for v in [0, 1, 2, 3, 4, 5, 100] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(1, 2), (2, 3), (4, 5)]);
        assert_eq!(s.count, 7);
        assert_eq!(s.sum, 115);
    }

    #[test]
    fn an_empty_histogram_reads_zero() {
        let h = Histogram::new(GROUP_SIZE_BOUNDS);
        assert!(h.is_empty());
        let s = h.snapshot();
        assert_eq!(s.count, 0);
        assert!(s.buckets.iter().all(|&(_, n)| n == 0));
        h.observe(1000);
        assert!(!h.is_empty());
        assert_eq!(h.snapshot().buckets.last(), Some(&(512, 0)));
        assert_eq!(h.snapshot().count, 1);
    }

    #[test]
    fn bounds_ascend() {
        for bounds in [DURATION_BOUNDS_MICROS, GROUP_SIZE_BOUNDS] {
            assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn concurrent_observations_are_all_counted() {
        let h = std::sync::Arc::new(Histogram::new(DURATION_BOUNDS_MICROS));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = std::sync::Arc::clone(&h);
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        h.observe(i * 37 + t);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(h.snapshot().count, 4000);
    }
}
