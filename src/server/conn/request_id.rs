//! Request ids: the client's `X-Request-Id` when it is well-formed (1 to
//! 128 characters of `A-Z a-z 0-9 . _ -`), else a fresh one. A fresh id
//! is held as the number behind it, so giving a request one allocates
//! nothing; its text is written only where it is sent.
//!
//! A fresh id is 32 lowercase hexadecimal digits: a random 64-bit prefix
//! drawn once per process, then a number passed through a keyed bijection
//! of 64-bit integers. The numbers come from a process-wide counter, which
//! each thread draws on in blocks of [`BLOCK`] (so that a request costs no
//! atomic operation shared between cores). Ids are therefore unique within
//! a process (until the counter wraps after 2^64 requests), differ between
//! processes with overwhelming probability, and do not show how many
//! requests the process has seen.

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Longest client id kept.
pub(crate) const MAX_REQUEST_ID_BYTES: usize = 128;

/// Bytes of a fresh id's text.
pub(crate) const FRESH_ID_BYTES: usize = 32;

/// A request id: a fresh one as the number behind it (its text is written
/// only where it is sent), or the client's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequestId {
    /// Made here: the counter through the process's bijection.
    Fresh(u64),
    /// The client's, well-formed.
    Given(Box<str>),
}

/// The per-process secrets of fresh ids: the prefix and the bijection's
/// keys (the multiplier odd, so multiplying is invertible).
struct Keys {
    /// The prefix's 16 hexadecimal digits.
    prefix: [u8; 16],
    xor: u64,
    mul: u64,
    add: u64,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // `RandomState` is seeded from the operating system's randomness.
        let seed = RandomState::new();
        Keys {
            prefix: hex16(seed.hash_one(0u8)),
            xor: seed.hash_one(1u8),
            mul: seed.hash_one(2u8) | 1,
            add: seed.hash_one(3u8),
        }
    })
}

/// The numbers of fresh ids handed out to threads so far.
static FRESH: AtomicU64 = AtomicU64::new(0);

/// How many numbers a thread takes from [`FRESH`] at a time.
const BLOCK: u64 = 256;

thread_local! {
    /// The next number of this thread's block, and the block's end.
    static BLOCK_LEFT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A number no other fresh id of this process has had: the next of the
/// thread's block, a new block when it is used up.
fn next_number() -> u64 {
    BLOCK_LEFT.with(|left| {
        let (mut next, mut end) = left.get();
        if next == end {
            next = FRESH.fetch_add(BLOCK, Ordering::Relaxed);
            end = next.wrapping_add(BLOCK);
        }
        left.set((next.wrapping_add(1), end));
        next
    })
}

/// `n` through a keyed bijection of `u64`: each step (xor with a key,
/// multiplication by an odd number, xor with a right shift of itself,
/// addition) is invertible, so distinct inputs give distinct outputs.
fn permute(n: u64, k: &Keys) -> u64 {
    let mut x = n ^ k.xor;
    x = x.wrapping_mul(k.mul);
    x ^= x >> 29;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 32;
    x.wrapping_add(k.add)
}

/// `n` as 16 lowercase hexadecimal digits, most significant first.
fn hex16(n: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    let (high, low) = out.split_at_mut(8);
    high.copy_from_slice(&hex8((n >> 32) as u32));
    low.copy_from_slice(&hex8(n as u32));
    out
}

/// `n` as 8 lowercase hexadecimal digits, most significant first: the
/// nibbles spread one to a byte, then all eight turned into digits at
/// once (a branch-free `'0' + d`, plus `'a' - '0' - 10` where `d > 9`).
fn hex8(n: u32) -> [u8; 8] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from(n);
    // Nibble i (counting from the least significant) ends up in byte i.
    let x = ((x & 0xFFFF_0000) << 16) | (x & 0xFFFF);
    let x = ((x & 0x0000_FF00_0000_FF00) << 8) | (x & 0x0000_00FF_0000_00FF);
    let x = ((x & 0x00F0_00F0_00F0_00F0) << 4) | (x & 0x000F_000F_000F_000F);
    // A byte's 4s bit after adding 6 says the nibble is above 9 (no carry
    // crosses bytes: every byte is at most 15 + 6).
    let letters = ((x + 6 * ONES) >> 4) & ONES;
    let digits = x + u64::from(b'0') * ONES + letters * u64::from(b'a' - b'0' - 10);
    // The most significant nibble sits in the highest byte.
    digits.to_be_bytes()
}

fn is_well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl RequestId {
    /// The client's id when well-formed, else a fresh one.
    pub(crate) fn from_client(given: Option<&str>) -> RequestId {
        match given.filter(|id| is_well_formed(id)) {
            Some(id) => RequestId::Given(id.into()),
            None => RequestId::fresh(),
        }
    }

    /// A fresh id.
    pub(crate) fn fresh() -> RequestId {
        RequestId::Fresh(permute(next_number(), keys()))
    }

    /// The id's text (ASCII); a fresh id's is written into `buf`.
    pub(crate) fn bytes<'a>(&'a self, buf: &'a mut [u8; FRESH_ID_BYTES]) -> &'a [u8] {
        match self {
            RequestId::Given(id) => id.as_bytes(),
            RequestId::Fresh(low) => {
                write_fresh(&keys().prefix, *low, buf);
                buf
            }
        }
    }

    /// The id's text.
    #[cfg(test)]
    fn text(&self) -> String {
        let mut buf = [0u8; FRESH_ID_BYTES];
        String::from_utf8_lossy(self.bytes(&mut buf)).into_owned()
    }
}

/// A fresh id's text: the prefix's digits, then `low`'s.
fn write_fresh(prefix: &[u8; 16], low: u64, buf: &mut [u8; FRESH_ID_BYTES]) {
    let (head, tail) = buf.split_at_mut(16);
    head.copy_from_slice(prefix);
    tail.copy_from_slice(&hex16(low));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_client_id_is_kept() {
        for id in ["a", "abc-1.X_y", &"z".repeat(128)] {
            assert_eq!(RequestId::from_client(Some(id)).text(), id);
        }
    }

    #[test]
    fn a_malformed_or_missing_id_is_replaced() {
        let long = "z".repeat(129);
        for given in [
            None,
            Some(""),
            Some("has space"),
            Some("semi;colon"),
            Some("caf\u{e9}"),
            Some("a\r\nX-Evil: 1"),
            Some(long.as_str()),
        ] {
            let id = RequestId::from_client(given).text();
            assert_eq!(id.len(), 32, "{given:?}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
    }

    #[test]
    fn fresh_ids_are_unique_and_share_the_process_prefix() {
        let ids: Vec<String> = (0..1000).map(|_| RequestId::fresh().text()).collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        let prefix = &ids[0][..16];
        assert!(ids.iter().all(|id| &id[..16] == prefix));
    }

    #[test]
    fn fresh_ids_made_on_several_threads_are_all_different() {
        let made: Vec<Vec<String>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..3 * BLOCK)
                            .map(|_| RequestId::fresh().text())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap_or_default())
                .collect()
        });
        let all: Vec<&String> = made.iter().flatten().collect();
        assert_eq!(all.len(), 4 * 3 * BLOCK as usize);
        let unique: std::collections::HashSet<&&String> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn permute_is_injective_on_a_range_and_hides_the_counter() {
        let k = Keys {
            prefix: hex16(0),
            xor: 0x1234,
            mul: 0x5555_5555_5555_5555,
            add: 7,
        };
        let out: std::collections::HashSet<u64> = (0..10_000).map(|n| permute(n, &k)).collect();
        assert_eq!(out.len(), 10_000);
        assert_ne!(permute(1, &k).wrapping_sub(permute(0, &k)), 1);
    }

    #[test]
    fn hex_digits_match_the_formatter() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for n in [0, 1, 9, 10, 15, 16, u64::MAX, 0x0123_4567_89ab_cdef]
            .into_iter()
            .chain((0..10_000).map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            }))
        {
            assert_eq!(hex16(n), format!("{n:016x}").as_bytes(), "{n:#x}");
        }
    }

    #[test]
    fn ids_are_written_as_32_hex_digits() {
        let mut buf = [0u8; FRESH_ID_BYTES];
        write_fresh(
            &hex16(0x0123_4567_89ab_cdef),
            0xfedc_ba98_7654_3210,
            &mut buf,
        );
        assert_eq!(&buf, b"0123456789abcdeffedcba9876543210");
    }
}
