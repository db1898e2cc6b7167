//! The application's database at start-up: connected, its models checked,
//! their tables made or checked.

use std::sync::Arc;

use crate::backend::open::open_engine;
use crate::backend::{Backend, BackendError, Engine, PoolOptions};
use crate::config::Config;
use crate::crud::tables::{is_unavailable, Tables};
use crate::error::StartError;
use crate::log::Logger;
use crate::model::{check_models, Model};

use super::Reuse;

/// Connects to the configured database, checks the models, and creates or
/// checks their tables. A network database that does not answer — refused,
/// or silent past the connect timeout — is not a start-up error: the
/// server starts at once, with a warning naming the cause, and the tables
/// are made on the first request after the database answers (until then,
/// `503`). Start-up never waits longer than one connect timeout for it.
///
/// With `reuse.engine`, that database is used as it is (not connected
/// again); with `reuse.strict`, a database that does not answer is an
/// error (a reload keeps the running application rather than swapping in
/// one without its database).
pub(super) fn open(
    config: &Config,
    models: &[Model],
    log: Logger,
    reuse: &Reuse,
) -> Result<(Arc<dyn Engine>, Arc<Tables>), StartError> {
    check_models(models).map_err(|e| StartError::declaration(None, e))?;
    let options = PoolOptions {
        max_read_connections: config.database.pool,
        synchronous: config.database.sqlite_synchronous,
        query_timeout: config.timeouts.query,
        connect_timeout: config.database.connect_timeout,
        socket_timeout: config
            .database
            .effective_socket_timeout(config.timeouts.query),
        ..PoolOptions::default()
    };
    let url = config.database.url.as_str();
    // SQLite is a local file: not answering is a mistake, never a wait.
    let network = !config.database.url.is_sqlite() && !reuse.strict;
    let mut answered = true;
    let opened = match &reuse.engine {
        Some(running) => Ok(Arc::clone(running)),
        None => open_engine(url, &options),
    };
    let db = match opened {
        Ok(db) => db,
        Err(e @ BackendError::Unavailable { .. }) if network => {
            answered = false;
            log.warn(&format!(
                "{e}; starting anyway: model routes and /readyz answer 503 until it answers"
            ));
            let lazy = PoolOptions {
                connect_at_open: false,
                ..options
            };
            open_engine(url, &lazy)?
        }
        Err(e) => return Err(e.into()),
    };
    // Closed again if a check below fails.
    let guard = Opened::new(Some(&db), reuse);
    let dialect = db.as_backend().dialect();
    if let Some((m, why)) = models
        .iter()
        .find_map(|m| crate::backend::sql::key_too_long(dialect, m).map(|w| (m, w)))
    {
        return Err(StartError::declaration(Some(m.name()), why));
    }
    let ordered = creation_order(models).into_iter().cloned().collect();
    let backend: Arc<dyn Backend> = Arc::clone(&db) as Arc<dyn Backend>;
    let tables = Arc::new(Tables::new(
        backend,
        ordered,
        config.database.add_columns,
        log,
    ));
    // A database that just failed to answer is not asked again here: each
    // attempt could take a whole connect timeout.
    match if answered {
        tables.ensure_now()
    } else {
        Ok(())
    } {
        Ok(()) => {}
        Err(e) if network && is_unavailable(&e) => log.warn(&format!(
            "{e}; starting anyway: the tables are made once the database answers"
        )),
        Err(e) => return Err(e.into()),
    }
    guard.keep();
    Ok((db, tables))
}

/// A database opened for an application being built: closed unless the
/// build succeeds ([`Opened::keep`]). A database the build reused is
/// never closed here.
pub(super) struct Opened(Option<Arc<dyn Engine>>);

impl Opened {
    pub(super) fn new(engine: Option<&Arc<dyn Engine>>, reuse: &Reuse) -> Opened {
        Opened(engine.filter(|_| reuse.engine.is_none()).cloned())
    }

    /// The build succeeded: the database is the application's.
    pub(super) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            db.as_backend().close();
        }
    }
}

/// The models ordered so that every table comes after the tables its
/// foreign keys reference (self-references and cycles keep declaration
/// order).
fn creation_order(models: &[Model]) -> Vec<&Model> {
    let mut done: Vec<&Model> = Vec::with_capacity(models.len());
    let mut left: Vec<&Model> = models.iter().collect();
    while !left.is_empty() {
        let ready = left.iter().position(|m| {
            m.fields().iter().all(|(_, f)| {
                f.referenced_table().is_none_or(|t| {
                    t == m.name()
                        || done.iter().any(|d| d.name() == t)
                        || !left.iter().any(|l| l.name() == t)
                })
            })
        });
        let next = left.remove(ready.unwrap_or(0));
        done.push(next);
    }
    done
}
