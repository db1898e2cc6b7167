//! The application a running server serves, and its replacement while it
//! runs.
//!
//! [`Apps`] holds the current [`AppState`] with the configuration it was
//! built from, and a generation counter. Each event loop keeps its own
//! `Arc<AppState>` and the generation it was taken at; once per pass of its
//! loop it compares that with the counter (one atomic load) and takes the
//! new `Arc` only when the counter moved. A request answered, or handed to
//! a worker or to the database, before that keeps the state it began with
//! (`Conn` holds it until the answer), so nothing in flight changes state
//! half-way. The old state is dropped when its last user lets it go.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::Config;
use crate::dispatch::AppState;

/// The current application of a server and its generation.
pub(crate) struct Apps {
    generation: AtomicU64,
    current: Mutex<(Arc<AppState>, Arc<Config>)>,
    /// Held across a whole reload, so two never interleave.
    reloading: Mutex<()>,
}

impl Apps {
    pub(crate) fn new(app: Arc<AppState>, config: Arc<Config>) -> Apps {
        Apps {
            generation: AtomicU64::new(0),
            current: Mutex::new((app, config)),
            reloading: Mutex::new(()),
        }
    }

    /// The generation of the current application: it moves at each
    /// [`Apps::replace`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current application, its configuration and its generation.
    pub(crate) fn current(&self) -> (Arc<AppState>, Arc<Config>, u64) {
        let current = crate::sync::lock(&self.current);
        // Read under the lock that `replace` moves it under: the
        // generation always belongs to the application beside it.
        let generation = self.generation.load(Ordering::Acquire);
        (Arc::clone(&current.0), Arc::clone(&current.1), generation)
    }

    /// Makes `app` (built from `config`) the current application; answers
    /// the one it replaces.
    pub(crate) fn replace(&self, app: Arc<AppState>, config: Arc<Config>) -> Arc<AppState> {
        let mut current = crate::sync::lock(&self.current);
        let (old, _) = std::mem::replace(&mut *current, (app, config));
        self.generation.fetch_add(1, Ordering::AcqRel);
        old
    }

    /// Serialises reloads: hold the guard from reading the current
    /// application to replacing it.
    pub(crate) fn reload_lock(&self) -> MutexGuard<'_, ()> {
        crate::sync::lock(&self.reloading)
    }
}

/// An event loop's view of [`Apps`]: the application it serves now.
pub(crate) struct AppView {
    app: Arc<AppState>,
    generation: u64,
}

impl AppView {
    pub(crate) fn new(apps: &Apps) -> AppView {
        let (app, _, generation) = apps.current();
        AppView { app, generation }
    }

    pub(crate) fn app(&self) -> &Arc<AppState> {
        &self.app
    }

    /// Takes the current application if it changed since this view last
    /// looked; answers the one it had then. One atomic load when nothing
    /// changed.
    pub(crate) fn refresh(&mut self, apps: &Apps) -> Option<Arc<AppState>> {
        if apps.generation() == self.generation {
            return None;
        }
        let (app, _, generation) = apps.current();
        self.generation = generation;
        Some(std::mem::replace(&mut self.app, app))
    }
}

/// Whether `a` and `b` drive the same database (both none counts as the
/// same).
pub(crate) fn same_engine(a: &AppState, b: &AppState) -> bool {
    match (&a.engine, &b.engine) {
        (Some(x), Some(y)) => std::ptr::addr_eq(Arc::as_ptr(x), Arc::as_ptr(y)),
        (None, None) => true,
        _ => false,
    }
}
