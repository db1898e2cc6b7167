//! A per-thread memo of row ETags: the canonical form of a row (exactly
//! the bytes its HMAC is computed over) and the tag computed from it.
//!
//! Rows are read far more often than they change, and the same rows are
//! read again and again; a hit costs building the canonical form and one
//! comparison of it with the stored one, byte for byte, instead of three
//! SHA-256 compressions. Only an identical canonical form under the same
//! key hits, so a hit is the tag a computation would give. Slots are
//! direct-mapped by a hash of the row's first value (its primary key), so
//! the rows of a table with consecutive ids take consecutive slots; a
//! collision only costs a computation. Memory is bounded: [`SLOTS`]
//! entries of at most [`MAX_CANONICAL_BYTES`] each, per thread, taken as
//! rows are seen.

/// Entries per thread.
pub(super) const SLOTS: usize = 1024;
/// Rows whose canonical form is longer are computed every time.
pub(super) const MAX_CANONICAL_BYTES: usize = 256;

struct Entry {
    /// The key the tag was computed under ([`super::EtagKey`]'s identity).
    key: u64,
    canonical: Vec<u8>,
    tag: String,
}

/// The memo of one thread.
pub(super) struct Memo {
    slots: Vec<Option<Entry>>,
}

impl Memo {
    pub(super) const fn new() -> Memo {
        Memo { slots: Vec::new() }
    }

    /// The tag of `canonical` under key `key`: the stored one if the slot
    /// of `hint` holds exactly this canonical form under this key, else
    /// `compute(canonical)`, which is then stored.
    pub(super) fn tag(
        &mut self,
        key: u64,
        hint: u64,
        canonical: &[u8],
        compute: impl FnOnce(&[u8]) -> String,
    ) -> String {
        if canonical.len() > MAX_CANONICAL_BYTES {
            return compute(canonical);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let at = (hint % SLOTS as u64) as usize;
        let Some(slot) = self.slots.get_mut(at) else {
            return compute(canonical);
        };
        match slot {
            Some(e) if e.key == key && e.canonical == canonical => e.tag.clone(),
            Some(e) => {
                let tag = compute(canonical);
                e.key = key;
                e.canonical.clear();
                e.canonical.extend_from_slice(canonical);
                e.tag.clear();
                e.tag.push_str(&tag);
                tag
            }
            None => {
                let tag = compute(canonical);
                *slot = Some(Entry {
                    key,
                    canonical: canonical.to_vec(),
                    tag: tag.clone(),
                });
                tag
            }
        }
    }
}

/// The slot hint of a value's canonical bytes: an integer is its own
/// hint (consecutive ids take consecutive slots), anything else is
/// hashed (FNV-1a).
pub(super) fn hint(bytes: &[u8]) -> u64 {
    if let [1, rest @ ..] = bytes {
        if let Ok(be) = <[u8; 8]>::try_from(rest) {
            return u64::from_be_bytes(be);
        }
    }
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A tag computation that counts its calls.
    fn counting(calls: &Cell<u32>) -> impl Fn(&[u8]) -> String + '_ {
        move |bytes: &[u8]| {
            calls.set(calls.get() + 1);
            format!("{}:{}", bytes.len(), crate::hex::encode(bytes))
        }
    }

    #[test]
    fn hits_only_the_same_bytes_under_the_same_key() {
        let calls = Cell::new(0);
        let mut m = Memo::new();
        let a = m.tag(1, 5, b"row a", counting(&calls));
        assert_eq!(a, "5:726f772061");
        assert_eq!(m.tag(1, 5, b"row a", counting(&calls)), a);
        assert_eq!(calls.get(), 1, "the second lookup hits");
        // Another key, the same bytes: computed again.
        assert_eq!(m.tag(2, 5, b"row a", counting(&calls)), a);
        assert_eq!(calls.get(), 2);
        // The row changed: its new form is computed, never the old tag.
        let b = m.tag(2, 5, b"row b", counting(&calls));
        assert_eq!(b, "5:726f772062");
        assert_eq!(calls.get(), 3);
        // A prefix or an extension of a stored form is not a hit.
        assert_eq!(m.tag(2, 5, b"row", counting(&calls)), "3:726f77");
        assert_eq!(m.tag(2, 5, b"row bb", counting(&calls)), "6:726f77206262");
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn slots_are_independent_and_collisions_replace() {
        let calls = Cell::new(0);
        let mut m = Memo::new();
        m.tag(1, 7, b"seven", counting(&calls));
        m.tag(1, 8, b"eight", counting(&calls));
        m.tag(1, 7, b"seven", counting(&calls));
        m.tag(1, 8, b"eight", counting(&calls));
        assert_eq!(calls.get(), 2);
        // The same slot for another row: it replaces the first.
        let other = 7 + SLOTS as u64;
        assert_eq!(m.tag(1, other, b"other", counting(&calls)), "5:6f74686572");
        assert_eq!(m.tag(1, 7, b"seven", counting(&calls)), "5:736576656e");
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn long_forms_are_never_stored() {
        let calls = Cell::new(0);
        let mut m = Memo::new();
        let long = vec![b'x'; MAX_CANONICAL_BYTES + 1];
        let first = m.tag(1, 0, &long, counting(&calls));
        assert_eq!(m.tag(1, 0, &long, counting(&calls)), first);
        assert_eq!(calls.get(), 2);
        assert!(m.slots.iter().all(Option::is_none));
    }

    #[test]
    fn consecutive_integers_take_consecutive_slots() {
        let of = |i: i64| {
            let mut b = vec![1u8];
            b.extend_from_slice(&i.to_be_bytes());
            hint(&b) % SLOTS as u64
        };
        let slots: std::collections::HashSet<u64> = (1..=SLOTS as i64).map(of).collect();
        assert_eq!(slots.len(), SLOTS);
        // Text keys spread too.
        let texts: std::collections::HashSet<u64> = (0..64)
            .map(|i| hint(format!("key-{i}").as_bytes()) % SLOTS as u64)
            .collect();
        assert!(texts.len() > 48, "{} slots", texts.len());
    }
}
