//! What can be registered at a path: a custom endpoint or a model.

use std::sync::Arc;

use crate::endpoint::{Endpoint, EndpointService, Service};
use crate::error::BoxError;
use crate::model::Model;
use crate::resource::Resource;

use super::models::{self, Prepare};

/// Something that can be registered at a path: a custom [`Endpoint`], a
/// [`Model`] or a [`Resource`]. Built with `.into()`;
/// [`LightApi::register`](crate::LightApi::register) does that for you.
pub struct Registration {
    pub(crate) kind: Kind,
    /// A declaration mistake, reported at start-up.
    pub(crate) error: Option<BoxError>,
}

pub(crate) enum Kind {
    /// A hand-written endpoint at the path itself.
    Endpoint(Arc<dyn Service>),
    /// A model's collection and item routes, and what builds the models'
    /// part of an application (the only way the build reaches it).
    Resource(Box<Resource>, Prepare),
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Endpoint(_) => "endpoint",
            Kind::Resource(..) => "resource",
        };
        f.debug_struct("Registration")
            .field("kind", &kind)
            .field("error", &self.error.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl<E: Endpoint> From<E> for Registration {
    fn from(endpoint: E) -> Self {
        Registration {
            kind: Kind::Endpoint(Arc::new(EndpointService::new(endpoint))),
            error: None,
        }
    }
}

impl From<Model> for Registration {
    fn from(model: Model) -> Self {
        model.into_resource().into()
    }
}

impl From<Resource> for Registration {
    fn from(resource: Resource) -> Self {
        let undeclared = resource
            .endpoint
            .as_ref()
            .is_some_and(|e| e.methods().is_none());
        let error: Option<BoxError> = if undeclared {
            Some(
                "the endpoint given to Resource::endpoint must list the verbs it takes over \
                 with Endpoint::methods"
                    .into(),
            )
        } else {
            resource.check().err().map(Into::into)
        };
        Registration {
            kind: Kind::Resource(Box::new(resource), models::prepare),
            error,
        }
    }
}
