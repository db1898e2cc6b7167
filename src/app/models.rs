//! What registering a model adds to building an application: the models
//! checked and linked, their relations, the database opened with their
//! tables made or checked, each model's routes, parent-scoped routes, and
//! the models' part of the OpenAPI document.
//!
//! The build reaches all of it only through [`Prepare`], which the
//! [`Registration`](super::Registration) of a model holds: a program that
//! registers no model links none of it (no SQL, no database driver, no
//! bundled SQLite).

use std::sync::Arc;

use crate::backend::{Backend, Engine};
use crate::config::Config;
use crate::crud::cursor::CursorKey;
use crate::crud::etag::EtagKey;
use crate::crud::relations::Catalog;
use crate::crud::tables::Tables;
use crate::crud::CrudError;
use crate::endpoint::Service;
use crate::error::StartError;
use crate::log::Logger;
use crate::model::Model;
use crate::openapi::{ModelDocs, ModelSchemas, RouteKind};
use crate::resource::{build_routes, Crud, NestedService, Resource};

use super::builtin::Ready;
use super::{database, Reuse};

/// Prepares the model part of a build from the registered resources (in
/// registration order), the configuration and the secret the cursor and
/// ETag keys derive from.
pub(crate) type Prepare = fn(
    &Config,
    Vec<&mut Resource>,
    Logger,
    &Reuse,
    &[u8],
) -> Result<Box<dyn ModelPart>, StartError>;

/// The model part of an application being built.
pub(crate) trait ModelPart {
    /// The database the models are served from.
    fn engine(&self) -> &Arc<dyn Engine>;

    /// What `/readyz` asks: whether the models' tables are in place.
    fn ready(&self) -> Arc<dyn Ready>;

    /// The routes of `resource`, registered at `base`: each pattern and
    /// its service.
    fn routes(&mut self, base: &str, resource: Resource) -> Vec<(String, Arc<dyn Service>)>;

    /// The parent-scoped route `pattern` of the registered model `child`
    /// under the row its foreign key `fk` references.
    ///
    /// # Errors
    /// A child that is not registered, a `fk` that is not its foreign key
    /// into a registered model, a pattern without `{id}`.
    fn nested(
        &mut self,
        pattern: &str,
        child: &str,
        fk: &str,
    ) -> Result<Arc<dyn Service>, StartError>;

    /// What serves the route `pattern`, for the OpenAPI document.
    fn kind(&self, pattern: &str) -> RouteKind<'_>;

    /// The models' part of the OpenAPI document.
    fn docs(&self) -> &dyn ModelDocs;
}

/// Links the models' references, checks their relations, then opens the
/// database and makes or checks the tables (see [`database::open`]).
pub(super) fn prepare(
    config: &Config,
    mut resources: Vec<&mut Resource>,
    log: Logger,
    reuse: &Reuse,
    signing_secret: &[u8],
) -> Result<Box<dyn ModelPart>, StartError> {
    let keys = Model::keys_of(resources.iter().map(|r| r.model()));
    for r in &mut resources {
        r.model.link_references(&keys);
    }
    let relations = Arc::new(Catalog::new(
        resources.iter().map(|r| r.relation_node()).collect(),
    ));
    relations
        .check()
        .map_err(|reason| StartError::Declaration {
            at: None,
            source: reason.into(),
        })?;
    let models: Vec<Model> = resources.iter().map(|r| r.model().clone()).collect();
    let (engine, tables) = database::open(config, &models, log, reuse)?;
    Ok(Box::new(Models {
        backend: Arc::clone(&engine) as Arc<dyn Backend>,
        engine,
        tables,
        models,
        relations,
        limits: (config.limits.max_page_bytes, config.limits.max_bulk_items),
        cursor_key: CursorKey::derive(signing_secret),
        etag_key: EtagKey::derive(signing_secret),
        cruds: Vec::new(),
        collections: Vec::new(),
        nested: Vec::new(),
    }))
}

/// The model part of a build with its database open.
struct Models {
    engine: Arc<dyn Engine>,
    backend: Arc<dyn Backend>,
    tables: Arc<Tables>,
    models: Vec<Model>,
    relations: Arc<Catalog>,
    /// The page byte budget and the largest bulk write.
    limits: (usize, usize),
    cursor_key: CursorKey,
    etag_key: EtagKey,
    /// Each generated route's pattern and operations.
    cruds: Vec<(String, Arc<Crud>)>,
    /// Each model's collection route: its pattern, operations and service.
    collections: Vec<(String, Arc<Crud>, Arc<dyn Service>)>,
    /// Parent-scoped routes: pattern, the child's operations, foreign key.
    nested: Vec<(String, Arc<Crud>, String)>,
}

impl ModelPart for Models {
    fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    fn ready(&self) -> Arc<dyn Ready> {
        Arc::clone(&self.tables) as Arc<dyn Ready>
    }

    fn routes(&mut self, base: &str, resource: Resource) -> Vec<(String, Arc<dyn Service>)> {
        let (crud, routes) = build_routes(
            resource,
            Arc::clone(&self.backend),
            Arc::clone(&self.tables),
            self.limits,
            self.cursor_key.clone(),
            self.etag_key.clone(),
            (&self.models, Arc::clone(&self.relations)),
        );
        routes
            .into_iter()
            .map(|(suffix, service)| {
                let pattern = format!("{base}{suffix}");
                self.cruds.push((pattern.clone(), Arc::clone(&crud)));
                if suffix.is_empty() {
                    self.collections.push((
                        pattern.clone(),
                        Arc::clone(&crud),
                        Arc::clone(&service),
                    ));
                }
                (pattern, service)
            })
            .collect()
    }

    fn nested(
        &mut self,
        pattern: &str,
        child: &str,
        fk: &str,
    ) -> Result<Arc<dyn Service>, StartError> {
        let declared = |reason: String| StartError::declaration(Some(pattern), reason);
        let collections = &self.collections;
        let (base, crud, collection) = collections
            .iter()
            .find(|(_, c, _)| c.model().name() == child)
            .ok_or_else(|| declared(format!("`{child}` is not a registered model")))?;
        let parent = crud
            .model()
            .field_named(fk)
            .and_then(|f| f.referenced_table())
            .and_then(|t| collections.iter().find(|(_, c, _)| c.model().name() == t))
            .ok_or_else(|| {
                declared(format!(
                    "`{fk}` is not a foreign key of `{child}` into a registered model"
                ))
            })?;
        if !pattern.split('/').any(|s| s == "{id}") {
            return Err(declared(
                "the pattern has no `{id}` segment for the parent".into(),
            ));
        }
        let service: Arc<dyn Service> = Arc::new(NestedService {
            child: Arc::clone(crud),
            collection: Arc::clone(collection),
            parent: Arc::clone(&parent.1),
            fk: fk.to_owned(),
            item_base: base.clone(),
            tables: Arc::clone(&self.tables),
        });
        self.nested
            .push((pattern.to_owned(), Arc::clone(crud), fk.to_owned()));
        Ok(service)
    }

    fn kind(&self, pattern: &str) -> RouteKind<'_> {
        match self.cruds.iter().find(|(p, _)| p == pattern) {
            Some((p, crud)) if p.ends_with("/{id}") => RouteKind::Item(crud),
            Some((_, crud)) => RouteKind::Collection(crud),
            None => match self.nested.iter().find(|(p, _, _)| p == pattern) {
                Some((_, crud, fk)) => RouteKind::Nested(crud, fk),
                None => RouteKind::Custom,
            },
        }
    }

    fn docs(&self) -> &dyn ModelDocs {
        &ModelSchemas
    }
}

impl Ready for Tables {
    fn check(&self) -> Result<(), CrudError> {
        Tables::check(self)
    }
}
