//! The last image of rows a conditional write left, with the row version
//! it left them at, so that the next conditional write of the same row can
//! check its `If-Match` without reading the row first.
//!
//! A client that writes a row again with the ETag of its last write (or
//! that reads, then writes, then writes again) names the image this server
//! answered with. When the cached image matches the request's
//! preconditions, the write is sent at once, guarded by the image's row
//! version ([`Guard::RowVersion`](crate::backend::sql::Guard)): it changes
//! the row only if no write has touched it since, that is only if the row
//! is still exactly that image. If it changes nothing the image was stale:
//! it is forgotten (unless another write has kept a newer one meanwhile),
//! and the write reads the row as it would have without it. A stale image
//! therefore costs one round trip and never a wrong answer.
//!
//! Bounded three ways: at most [`MAX_ROWS`] images (two generations of
//! half that: when the newer fills up, the older is dropped), none larger
//! than [`MAX_IMAGE_BYTES`], and none older than [`MAX_AGE`] (well inside
//! the billions of transactions before a row version could be reused).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::Value;
use crate::sync::lock;

/// Most images kept, of all the rows of one model.
pub(crate) const MAX_ROWS: usize = 1024;
/// Largest image kept, by the bytes of its values (see [`image_bytes`]).
pub(crate) const MAX_IMAGE_BYTES: usize = 4096;
/// Oldest image used.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);

/// One row's image.
#[derive(Debug, Clone)]
struct Image {
    values: Vec<Value>,
    row_version: Value,
    at: Instant,
}

#[derive(Debug, Default)]
struct Generations {
    newer: HashMap<String, Image>,
    older: HashMap<String, Image>,
}

/// The images of one model's rows (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct RowImages {
    inner: Mutex<Generations>,
}

impl RowImages {
    /// The image kept under `key` and its row version, unless it is older
    /// than [`MAX_AGE`] at `now`.
    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<(Vec<Value>, Value)> {
        let g = lock(&self.inner);
        let image = g.newer.get(key).or_else(|| g.older.get(key))?;
        if now.saturating_duration_since(image.at) > MAX_AGE {
            return None;
        }
        Some((image.values.clone(), image.row_version.clone()))
    }

    /// Keeps `values` at `row_version` as the image under `key`, replacing
    /// any before; an image over [`MAX_IMAGE_BYTES`] is not kept (and the
    /// one before is forgotten).
    pub(crate) fn put(&self, key: String, values: &[Value], row_version: Value, now: Instant) {
        let mut g = lock(&self.inner);
        g.older.remove(&key);
        if image_bytes(values) > MAX_IMAGE_BYTES {
            g.newer.remove(&key);
            return;
        }
        if g.newer.len() >= MAX_ROWS / 2 && !g.newer.contains_key(&key) {
            g.older = std::mem::take(&mut g.newer);
        }
        g.newer.insert(
            key,
            Image {
                values: values.to_vec(),
                row_version,
                at: now,
            },
        );
    }

    /// Forgets the image under `key`: the row is gone.
    pub(crate) fn forget(&self, key: &str) {
        let mut g = lock(&self.inner);
        g.newer.remove(key);
        g.older.remove(key);
    }

    /// Forgets the image under `key` if it is still the one at
    /// `row_version`: the row is no longer as that image showed it (a
    /// newer image, kept meanwhile by another write, stays).
    pub(crate) fn forget_version(&self, key: &str, row_version: &Value) {
        let mut guard = lock(&self.inner);
        let g = &mut *guard;
        for generation in [&mut g.newer, &mut g.older] {
            if generation
                .get(key)
                .is_some_and(|i| i.row_version == *row_version)
            {
                generation.remove(key);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = lock(&self.inner);
        g.newer.len() + g.older.len()
    }
}

/// About how many bytes `values` hold: text and JSON by their length, other
/// values by their size.
fn image_bytes(values: &[Value]) -> usize {
    values
        .iter()
        .map(|v| match v {
            Value::Text(s) => s.len() + 8,
            Value::Json(j) => j.to_string().len() + 8,
            _ => 16,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> Vec<Value> {
        vec![Value::Integer(1), Value::Text(name.to_owned())]
    }

    #[test]
    fn an_image_is_given_back_until_forgotten_or_replaced() {
        let images = RowImages::default();
        let now = Instant::now();
        assert!(images.get("a", now).is_none());
        images.put("a".into(), &row("Ann"), Value::Text("7".into()), now);
        assert_eq!(
            images.get("a", now),
            Some((row("Ann"), Value::Text("7".into())))
        );
        images.put("a".into(), &row("Bea"), Value::Text("8".into()), now);
        assert_eq!(
            images.get("a", now),
            Some((row("Bea"), Value::Text("8".into())))
        );
        assert!(images.get("b", now).is_none());
        // Only the image at that row version is forgotten by it.
        images.forget_version("a", &Value::Text("7".into()));
        assert!(images.get("a", now).is_some());
        images.forget_version("a", &Value::Text("8".into()));
        assert!(images.get("a", now).is_none());
        images.put("a".into(), &row("Cy"), Value::Text("9".into()), now);
        images.forget("a");
        assert!(images.get("a", now).is_none());
    }

    #[test]
    fn an_old_image_is_not_used() {
        let images = RowImages::default();
        let then = Instant::now();
        images.put("a".into(), &row("Ann"), Value::Text("7".into()), then);
        assert!(images.get("a", then + MAX_AGE).is_some());
        assert!(images
            .get("a", then + MAX_AGE + Duration::from_millis(1))
            .is_none());
    }

    #[test]
    fn a_large_image_is_not_kept_and_drops_the_one_before() {
        let images = RowImages::default();
        let now = Instant::now();
        images.put("a".into(), &row("Ann"), Value::Text("7".into()), now);
        let big = row(&"x".repeat(MAX_IMAGE_BYTES));
        images.put("a".into(), &big, Value::Text("8".into()), now);
        assert!(images.get("a", now).is_none());
    }

    #[test]
    fn images_are_bounded_and_the_newest_kept() {
        let images = RowImages::default();
        let now = Instant::now();
        for i in 0..MAX_ROWS * 3 {
            images.put(format!("k{i}"), &row("n"), Value::Integer(i as i64), now);
            assert!(
                images.len() <= MAX_ROWS,
                "{} images after {i}",
                images.len()
            );
        }
        let last = MAX_ROWS * 3 - 1;
        assert_eq!(
            images.get(&format!("k{last}"), now).map(|(_, v)| v),
            Some(Value::Integer(last as i64))
        );
        assert!(images.get("k0", now).is_none());
        // An image moved from the older generation is found once, in the newer.
        let older = format!("k{}", last - MAX_ROWS / 2);
        assert!(images.get(&older, now).is_some());
        images.put(older.clone(), &row("m"), Value::Integer(-1), now);
        assert_eq!(
            images.get(&older, now).map(|(_, v)| v),
            Some(Value::Integer(-1))
        );
        assert!(images.len() <= MAX_ROWS);
    }
}
