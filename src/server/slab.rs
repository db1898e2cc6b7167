//! Token ↔ connection table with a free list; its capacity is the
//! connection cap, so tokens never grow without bound.

pub(crate) struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<usize>,
    len: usize,
    cap: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new(cap: usize) -> Slab<T> {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            cap,
        }
    }

    pub(crate) fn insert(&mut self, value: T) -> Option<usize> {
        if let Some(i) = self.free.pop() {
            if let Some(slot) = self.entries.get_mut(i) {
                *slot = Some(value);
                self.len += 1;
                return Some(i);
            }
        }
        if self.entries.len() >= self.cap {
            return None;
        }
        self.entries.push(Some(value));
        self.len += 1;
        Some(self.entries.len() - 1)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.entries.get_mut(i).and_then(Option::as_mut)
    }

    pub(crate) fn remove(&mut self, i: usize) -> Option<T> {
        let v = self.entries.get_mut(i).and_then(Option::take)?;
        self.free.push(i);
        self.len -= 1;
        Some(v)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len >= self.cap
    }

    pub(crate) fn tokens(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|_| i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_slots_and_respects_cap() {
        let mut s = Slab::new(2);
        let a = s.insert('a').unwrap();
        let b = s.insert('b').unwrap();
        assert!(s.insert('c').is_none());
        assert_eq!(s.remove(a), Some('a'));
        assert_eq!(s.insert('d'), Some(a));
        assert_eq!(s.tokens().collect::<Vec<_>>(), vec![a, b]);
        assert!(s.remove(99).is_none());
    }
}
