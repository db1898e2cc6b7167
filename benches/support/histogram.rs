//! Fixed log-linear latency buckets, shared by `benches/support/loadgen.rs`
//! and the comparison's load generator (`benches/compare`): values below
//! 32 exactly, above that 32 sub-buckets per power of two (≤ 3.2 %
//! relative error); no allocation per value.

/// Counts per bucket.
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * SUB) as usize;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let e = 63 - v.leading_zeros();
        let mantissa = (v >> (e - SUB_BITS)) - SUB;
        (SUB + u64::from(e - SUB_BITS) * SUB + mantissa) as usize
    }

    /// The largest value that lands in bucket `i`.
    fn upper(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB {
            return i;
        }
        let e = (i - SUB) / SUB + u64::from(SUB_BITS);
        let m = (i - SUB) % SUB;
        ((SUB + m + 1) << (e - u64::from(SUB_BITS))) - 1
    }

    /// Records one value.
    pub fn record(&mut self, v: u64) {
        if let Some(c) = self.counts.get_mut(Self::index(v)) {
            *c += 1;
            self.total += 1;
        }
    }

    /// Number of values recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1), as the bucket's upper bound.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(i);
            }
        }
        Self::upper(BUCKETS - 1)
    }
}
