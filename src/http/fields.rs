//! The header fields of a response: a list that holds its first field
//! inline, so the common inline answer (one `Content-Type`) is built
//! without a heap allocation, and a `Response` stays small enough (88
//! bytes) to be moved without `memcpy` calls. More fields go to the heap:
//! responses that carry them (an `ETag`, CORS or middleware fields) come
//! from handlers that cost far more than one allocation.

use std::borrow::Cow;

use super::response::HeaderText;

/// One field.
pub(crate) type Field = (HeaderText, HeaderText);

/// Fields held without allocating.
const INLINE: usize = 1;

/// An unused inline slot.
const VACANT: Field = (Cow::Borrowed(""), Cow::Borrowed(""));

/// An ordered list of fields, inline up to [`INLINE`], on the heap beyond.
#[derive(Clone)]
pub(crate) enum Fields {
    /// The first `len` slots are in use; the rest are [`VACANT`].
    Inline { len: u8, slots: [Field; INLINE] },
    /// More than [`INLINE`] fields were added at some point.
    Heap(Vec<Field>),
}

impl Default for Fields {
    #[inline]
    fn default() -> Self {
        Fields::Inline {
            len: 0,
            slots: [VACANT; INLINE],
        }
    }
}

impl Fields {
    /// The fields, in the order added.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Field] {
        match self {
            Fields::Inline { len, slots } => slots.get(..usize::from(*len)).unwrap_or_default(),
            Fields::Heap(v) => v,
        }
    }

    /// Appends a field.
    #[inline]
    pub(crate) fn push(&mut self, field: Field) {
        match self {
            Fields::Inline { len, slots } => {
                if let Some(slot) = slots.get_mut(usize::from(*len)) {
                    *slot = field;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(INLINE * 2);
                    v.extend(slots.iter_mut().map(|f| std::mem::replace(f, VACANT)));
                    v.push(field);
                    *self = Fields::Heap(v);
                }
            }
            Fields::Heap(v) => v.push(field),
        }
    }

    /// Keeps only the fields `keep` accepts, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Field) -> bool) {
        match self {
            Fields::Inline { len, slots } => {
                let mut kept = 0usize;
                for i in 0..usize::from(*len) {
                    let Some(field) = slots.get_mut(i).map(|f| std::mem::replace(f, VACANT)) else {
                        break;
                    };
                    if keep(&field) {
                        if let Some(slot) = slots.get_mut(kept) {
                            *slot = field;
                        }
                        kept += 1;
                    }
                }
                // `kept` never exceeds the old length, itself at most INLINE.
                *len = u8::try_from(kept).unwrap_or(0);
            }
            Fields::Heap(v) => v.retain(|f| keep(f)),
        }
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: &Fields) -> Vec<&str> {
        f.as_slice().iter().map(|(n, _)| n.as_ref()).collect()
    }

    #[test]
    fn grows_from_inline_to_heap_in_order() {
        let mut f = Fields::default();
        assert!(f.as_slice().is_empty());
        for (i, n) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            f.push((Cow::Borrowed(n), Cow::Owned(i.to_string())));
            assert_eq!(f.as_slice().len(), i + 1);
        }
        assert!(matches!(f, Fields::Heap(_)));
        assert_eq!(names(&f), ["a", "b", "c", "d", "e"]);
        assert_eq!(f.as_slice()[4].1, "4");
    }

    #[test]
    fn retain_keeps_order_inline_and_on_heap() {
        let mut f = Fields::default();
        for n in ["x", "y", "x"] {
            f.push((Cow::Borrowed(n), Cow::Borrowed("v")));
        }
        f.retain(|(n, _)| n != "x");
        assert_eq!(names(&f), ["y"]);
        f.push((Cow::Borrowed("z"), Cow::Borrowed("v")));
        assert_eq!(names(&f), ["y", "z"]);
        for n in ["x", "w", "x"] {
            f.push((Cow::Borrowed(n), Cow::Borrowed("v")));
        }
        assert!(matches!(f, Fields::Heap(_)));
        f.retain(|(n, _)| n != "x");
        assert_eq!(names(&f), ["y", "z", "w"]);
        let mut g = Fields::default();
        g.retain(|_| false);
        assert!(g.as_slice().is_empty());
    }
}
