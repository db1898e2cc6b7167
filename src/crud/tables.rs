//! The tables of the registered models: created or checked at start-up, or,
//! when a network database does not answer then, on the first request
//! after it does. Until then model routes and `/readyz` answer `503` with
//! `Retry-After`, and the server serves everything else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use super::error::CrudError;
use super::schema::ensure_table_adding;
use crate::backend::{Backend, BackendError};
use crate::log::Logger;
use crate::model::Model;

/// How often requests may trigger another attempt while the tables are not
/// in place; in between they are answered `503` at once.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// The models' tables on one backend, and whether they are in place.
pub(crate) struct Tables {
    backend: Arc<dyn Backend>,
    /// In creation order (referenced tables first).
    models: Vec<Model>,
    /// Missing columns that can be added are added (see
    /// [`ensure_table_adding`]).
    add_columns: bool,
    ready: AtomicBool,
    /// When the last failed attempt started; held while one runs.
    last_attempt: Mutex<Option<Instant>>,
    log: Logger,
}

impl Tables {
    /// `models` in creation order.
    pub(crate) fn new(
        backend: Arc<dyn Backend>,
        models: Vec<Model>,
        add_columns: bool,
        log: Logger,
    ) -> Tables {
        Tables {
            backend,
            models,
            add_columns,
            ready: AtomicBool::new(false),
            last_attempt: Mutex::new(None),
            log,
        }
    }

    /// Creates or checks every table now.
    ///
    /// # Errors
    /// As [`ensure_table`]: a schema mismatch, or the database's error.
    pub(crate) fn ensure_now(&self) -> Result<(), CrudError> {
        for m in &self.models {
            let added = ensure_table_adding(&*self.backend, m, self.add_columns)?;
            if !added.is_empty() {
                let names: Vec<String> = added.iter().map(|c| format!("`{c}`")).collect();
                self.log.warn(&format!(
                    "table `{}`: added column {} (LIGHTAPI_SCHEMA_ADD_COLUMNS)",
                    m.name(),
                    names.join(", ")
                ));
            }
        }
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    /// `Ok` once the tables are in place. Before that, one request a
    /// second tries again; the others, and a failed try, are told the
    /// database is unavailable.
    pub(crate) fn check(&self) -> Result<(), CrudError> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let unavailable = |cause: String| CrudError::Backend {
            source: BackendError::Unavailable { cause },
        };
        // Another request is trying right now (connecting can take the
        // connect timeout): do not queue behind it.
        let mut last = match self.last_attempt.try_lock() {
            Ok(guard) => guard,
            // A panic during an earlier attempt left nothing half-done
            // that a new attempt cannot redo.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                return Err(unavailable("the tables are being created".to_owned()));
            }
        };
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = Instant::now();
        if last.is_some_and(|t| now.saturating_duration_since(t) < RETRY_EVERY) {
            return Err(unavailable(
                "the database was unavailable a moment ago".to_owned(),
            ));
        }
        *last = Some(now);
        match self.ensure_now() {
            Ok(()) => {
                self.log
                    .info("the database answers: tables created or checked");
                Ok(())
            }
            Err(e) => {
                self.log.warn(&format!("tables not ready: {e}"));
                Err(unavailable(e.to_string()))
            }
        }
    }
}

/// Whether a start-up failure is the database not answering (start, and
/// keep trying), rather than a mistake to report (stop).
pub(crate) fn is_unavailable(e: &CrudError) -> bool {
    matches!(
        e,
        CrudError::Backend {
            source: BackendError::Unavailable { .. } | BackendError::Busy
        }
    )
}
