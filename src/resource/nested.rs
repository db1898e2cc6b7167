//! Parent-scoped routes: `GET`/`POST /category/{id}/product` list and
//! create the rows of a child model whose foreign key names the parent in
//! the path. The parent must exist where the caller could read it (else
//! `404`); the child's verbs, permissions, rate limits and scope apply as
//! on its own collection route.

use std::sync::Arc;

use super::conditional::path_id;
use super::crud::Crud;
use crate::auth::Access;
use crate::crud::tables::Tables;
use crate::crud::CrudError;
use crate::endpoint::{HandlerResult, Service};
use crate::http::{Method, MethodSet, Request};
use crate::ratelimit::RateLimit;

/// A nested route: the child's collection under one parent row.
pub(crate) struct NestedService {
    /// The child's generated operations.
    pub(crate) child: Arc<Crud>,
    /// The child's own collection route, whose verbs and rules apply.
    pub(crate) collection: Arc<dyn Service>,
    /// The parent's generated operations.
    pub(crate) parent: Arc<Crud>,
    /// The child's foreign key into the parent.
    pub(crate) fk: String,
    /// The child's item route, for the `Location` of a created row.
    pub(crate) item_base: String,
    pub(crate) tables: Arc<Tables>,
}

impl Service for NestedService {
    fn allowed(&self) -> MethodSet {
        self.collection.allowed()
    }

    fn call(&self, method: Method, req: &mut Request) -> HandlerResult {
        self.tables.check()?;
        let parent = self.parent.model();
        let id = path_id(req, parent)?;
        if !self.parent.exists(req, &id)? {
            return Err(CrudError::NotFound {
                model: parent.name().to_owned(),
                key: parent.key_column().to_owned(),
                id,
            }
            .into());
        }
        match method {
            Method::Post => {
                let mut resp = self.child.create_under(req, &self.fk, id)?;
                // The created row lives at the child's own item route.
                let created = resp
                    .header("Location")
                    .and_then(|l| l.rsplit('/').next())
                    .map(|row| format!("{}/{row}", self.item_base));
                if let Some(location) = created {
                    resp.remove_header("Location");
                    resp.insert_header("Location", location);
                }
                Ok(resp)
            }
            _ => self.child.list_under(req, &self.fk, &id),
        }
    }

    fn access(&self, method: Method) -> Access {
        self.collection.access(method)
    }

    fn inline(&self) -> bool {
        false
    }

    fn max_age(&self) -> Option<std::time::Duration> {
        self.collection.max_age()
    }

    fn rate_limit(&self, method: Method) -> Option<RateLimit> {
        self.collection.rate_limit(method)
    }
}
