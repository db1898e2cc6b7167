//! Typed values attached to a request by the layers above the wire (the
//! caller's claims, the database, middleware data): one value per type.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

/// A value of any type, shared or owned.
enum Item {
    /// Made for this request.
    Owned(Box<dyn Any + Send + Sync>),
    /// Shared between requests (the database, a model's operations, claims
    /// from the token cache): attaching one costs a reference count, not an
    /// allocation.
    Shared(Arc<dyn Any + Send + Sync>),
}

impl Item {
    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        match self {
            Item::Owned(b) => &**b,
            Item::Shared(a) => &**a,
        }
    }
}

/// Type-keyed values carried by a [`Request`](super::Request), one per type.
///
/// ```
/// use lightapi::http::Extensions;
/// let mut ext = Extensions::default();
/// ext.insert(5u8);
/// ext.insert(6u8);
/// assert_eq!(ext.get::<u8>(), Some(&6));
/// assert!(ext.get::<u16>().is_none());
/// ```
#[derive(Default)]
pub struct Extensions {
    items: Vec<Item>,
    /// How many of the first items outlive the request: values the server
    /// attaches to every request of a connection (the database), kept
    /// when the request's buffers are reused for the next one.
    persistent: usize,
}

impl Extensions {
    /// Attaches `value`, replacing a value of the same type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.remove_type(TypeId::of::<T>());
        self.items.push(Item::Owned(Box::new(value)));
    }

    /// Attaches a shared value (`Arc<T>` seen as a `T`), replacing a value
    /// of the same type, without allocating.
    pub(crate) fn insert_shared(&mut self, value: Arc<dyn Any + Send + Sync>) {
        let id = (*value).type_id();
        self.remove_type(id);
        self.items.push(Item::Shared(value));
    }

    /// Attaches a shared value that stays for the next requests parsed
    /// into the same buffers, unless one of its type is already there.
    pub(crate) fn insert_persistent(&mut self, value: &Arc<dyn Any + Send + Sync>) {
        if self.persistent > 0 {
            return;
        }
        self.remove_type((**value).type_id());
        self.items.insert(0, Item::Shared(Arc::clone(value)));
        self.persistent = 1;
    }

    fn remove_type(&mut self, id: TypeId) {
        if let Some(i) = self
            .items
            .iter()
            .position(|i| (*i.as_any()).type_id() == id)
        {
            self.items.remove(i);
            if i < self.persistent {
                self.persistent -= 1;
            }
        }
    }

    /// The value of type `T`, if attached.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.items
            .iter()
            .find_map(|i| i.as_any().downcast_ref::<T>())
    }

    /// Forgets every value but the persistent ones, keeping the list's
    /// room for the next request.
    pub(crate) fn clear(&mut self) {
        if self.items.len() > self.persistent {
            self.items.truncate(self.persistent);
        }
    }

    /// Whether nothing is attached.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Clone for Extensions {
    /// Extensions belong to one request; a cloned request starts without them.
    fn clone(&self) -> Self {
        Extensions::default()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extensions({})", self.items.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_and_owned_values_replace_each_other_by_type() {
        let mut ext = Extensions::default();
        ext.insert_shared(Arc::new(String::from("shared")));
        assert_eq!(ext.get::<String>().map(String::as_str), Some("shared"));
        ext.insert(String::from("owned"));
        assert_eq!(ext.get::<String>().map(String::as_str), Some("owned"));
        assert_eq!(ext.items.len(), 1);
        ext.clear();
        assert!(ext.is_empty());
    }

    #[test]
    fn persistent_values_outlive_clear_and_are_attached_once() {
        let mut ext = Extensions::default();
        let shared: Arc<dyn Any + Send + Sync> = Arc::new(7u32);
        ext.insert_persistent(&shared);
        ext.insert(1u8);
        ext.clear();
        assert_eq!(ext.get::<u32>(), Some(&7));
        assert!(ext.get::<u8>().is_none());
        let other: Arc<dyn Any + Send + Sync> = Arc::new(8u32);
        ext.insert_persistent(&other);
        assert_eq!(ext.get::<u32>(), Some(&7), "attached once");
        ext.insert(9u32);
        assert_eq!(ext.get::<u32>(), Some(&9));
        ext.clear();
        assert!(ext.is_empty(), "replaced, so no longer persistent");
    }
}
