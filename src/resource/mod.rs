//! Generated REST resources: a [`Model`] exposed over HTTP.
//!
//! A model registered at `/person` serves the collection route `/person`
//! (`GET` list, `POST` create) and the item route `/person/{id}` (`GET`,
//! `PUT`, `PATCH`, `DELETE`), each with automatic `HEAD` and `OPTIONS`.
//! [`Resource`] restricts the verbs, sets their permissions, and lets a
//! custom [`Endpoint`] take over some verbs while the rest stay generated;
//! [`Crud`] is the generated behaviour, which such an endpoint can call.

mod conditional;
mod crud;
mod nested;
mod page;
mod render;
mod service;

use std::sync::Arc;

use crate::auth::Access;
use crate::backend::sql::Order;
use crate::crud::query::QueryRules;
use crate::crud::relations::Node;
pub use crate::crud::relations::DEFAULT_EMBED_LIMIT;
use crate::endpoint::{offered, Endpoint};
use crate::http::{Method, MethodSet};
use crate::model::Model;
use crate::ratelimit::RateLimit;

pub use crate::crud::hooks::{Hook, HookContext, HookError, Hooks, WriteKind};
pub(crate) use conditional::none_match_hits;
pub use crud::{Crud, ResourceExt};
pub(crate) use nested::NestedService;
pub(crate) use service::build_routes;
use service::serves;

/// Default number of rows in one page of a list.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A model plus how it is exposed: which verbs, who may call them, and
/// which verbs a custom endpoint handles instead.
///
/// ```
/// use lightapi::{Access, Field, Method, Model};
/// // A read-only, public catalogue.
/// let product = Model::new("product")
///     .field("title", Field::text())
///     .into_resource()
///     .methods(&[Method::Get])
///     .access(Method::Get, Access::Public);
/// # let _ = product;
/// ```
pub struct Resource {
    pub(crate) model: Model,
    pub(crate) methods: Option<Vec<Method>>,
    pub(crate) exclude: Vec<Method>,
    pub(crate) access: Vec<(Method, Access)>,
    pub(crate) default_access: Access,
    pub(crate) endpoint: Option<Arc<dyn Endpoint>>,
    pub(crate) page_size: u64,
    pub(crate) max_page_size: u64,
    pub(crate) rules: QueryRules,
    pub(crate) max_age: Option<std::time::Duration>,
    pub(crate) hooks: Hooks,
    pub(crate) rate_limits: Vec<(Method, RateLimit)>,
    pub(crate) expandable: Option<Vec<String>>,
    pub(crate) embed_limit: u64,
    pub(crate) max_bulk: Option<usize>,
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("model", &self.model.name())
            .field("methods", &self.methods)
            .field("exclude", &self.exclude)
            .field("access", &self.access)
            .field("endpoint", &self.endpoint.is_some())
            .finish()
    }
}

impl Model {
    /// This model as a [`Resource`], to restrict or customise its routes.
    pub fn into_resource(self) -> Resource {
        Resource {
            model: self,
            methods: None,
            exclude: Vec::new(),
            access: Vec::new(),
            default_access: Access::Authenticated,
            endpoint: None,
            page_size: DEFAULT_PAGE_SIZE,
            max_page_size: MAX_PAGE_SIZE,
            rules: QueryRules::default(),
            max_age: None,
            hooks: Hooks::new(),
            rate_limits: Vec::new(),
            expandable: None,
            embed_limit: DEFAULT_EMBED_LIMIT,
            max_bulk: None,
        }
    }
}

impl Resource {
    /// Offers only these verbs; the rest
    /// answer `405` with `Allow`.
    #[must_use]
    pub fn methods(mut self, methods: &[Method]) -> Resource {
        self.methods = Some(methods.to_vec());
        self
    }

    /// Runs `hooks` in the generated writes' transactions (see [`Hooks`]).
    /// A hook on a verb the resource does not generate stops start-up.
    ///
    /// ```
    /// use lightapi::resource::{HookContext, Hooks};
    /// use lightapi::{Field, Model};
    /// let task = Model::new("task")
    ///     .field("title", Field::text())
    ///     .into_resource()
    ///     .hooks(Hooks::new().before_create(|ctx: &mut HookContext<'_>| {
    ///         let title = ctx.value("title").cloned();
    ///         if let Some(lightapi::Value::Text(t)) = title {
    ///             ctx.set("title", t.trim().into())?;
    ///         }
    ///         Ok(())
    ///     }));
    /// # let _ = task;
    /// ```
    #[must_use]
    pub fn hooks(mut self, hooks: Hooks) -> Resource {
        self.hooks = hooks;
        self
    }

    /// Withdraws these verbs.
    #[must_use]
    pub fn exclude(mut self, methods: &[Method]) -> Resource {
        self.exclude.extend_from_slice(methods);
        self
    }

    /// The permission `method` requires (default: any valid token).
    #[must_use]
    pub fn access(mut self, method: Method, access: Access) -> Resource {
        self.access.push((method, access));
        self
    }

    /// The permission of every verb not given one with [`Resource::access`].
    #[must_use]
    pub fn default_access(mut self, access: Access) -> Resource {
        self.default_access = access;
        self
    }

    /// Hands the verbs `endpoint.methods()` lists to `endpoint`; the others
    /// stay generated. Inside it, [`ResourceExt::crud`] runs the generated
    /// behaviour and [`BackendExt::backend`](crate::backend::BackendExt::backend)
    /// gives the database.
    ///
    /// The endpoint must list its verbs with [`Endpoint::methods`]: one that
    /// does not is refused at start-up, since its handlers would otherwise
    /// never run and the generated ones would answer in their place.
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Endpoint) -> Resource {
        self.endpoint = Some(Arc::new(endpoint));
        self
    }

    /// Lets clients reuse a successful `GET` of this model's rows or pages
    /// for `max_age` without asking again: `Cache-Control: public,
    /// max-age=N` where reading is public, `private, max-age=N` where it
    /// needs a token (default, and for zero: `no-cache` or `private,
    /// no-cache` — kept, but revalidated with the `ETag` before each
    /// reuse).
    ///
    /// ```
    /// use std::time::Duration;
    /// use lightapi::{Field, Model};
    /// let countries = Model::new("country")
    ///     .field("name", Field::text())
    ///     .into_resource()
    ///     .cache_max_age(Duration::from_secs(3600));
    /// # let _ = countries;
    /// ```
    #[must_use]
    pub fn cache_max_age(mut self, max_age: std::time::Duration) -> Resource {
        self.max_age = Some(max_age);
        self
    }

    /// Limits how often `method` may be called (`HEAD` counts as `GET`),
    /// on top of the application's default; a later call for the same
    /// verb replaces it. The collection and item routes share the verb's
    /// budget. Unnamed, the policy is named after the model and the verb,
    /// as in `note.post`.
    ///
    /// ```
    /// use lightapi::ratelimit::{RateLimit, RateLimitKey};
    /// use lightapi::{Field, Method, Model};
    /// let notes = Model::new("note")
    ///     .field("body", Field::text())
    ///     .into_resource()
    ///     .rate_limit(Method::Post, RateLimit::per_minute(10).by(RateLimitKey::Subject));
    /// # let _ = notes;
    /// ```
    #[must_use]
    pub fn rate_limit(mut self, method: Method, limit: RateLimit) -> Resource {
        let method = if method == Method::Head {
            Method::Get
        } else {
            method
        };
        self.rate_limits.retain(|(m, _)| *m != method);
        self.rate_limits.push((method, limit));
        self
    }

    /// Query parameters to ignore instead of refusing them with `400`, such
    /// as a cache buster (`?_=1712345678`). A name the resource uses (a
    /// filter, `page`, …) is refused at start-up.
    ///
    /// ```
    /// use lightapi::{Field, Model};
    /// let notes = Model::new("note")
    ///     .field("body", Field::text())
    ///     .into_resource()
    ///     .ignore_params(&["_"]);
    /// # let _ = notes;
    /// ```
    #[must_use]
    pub fn ignore_params(mut self, names: &[&str]) -> Resource {
        self.rules.ignored = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// The declaration mistakes of this resource that would otherwise
    /// surface on clients' requests: query rules naming fields the model
    /// lacks or cannot use that way, and a generated `POST` that could never
    /// succeed (a read-only field that is required and has no default).
    pub(crate) fn check(&self) -> Result<(), String> {
        let model = self.model.name();
        self.rules
            .check(&self.model)
            .map_err(|e| format!("model `{model}`: {e}"))?;
        let generated_post = self.offered(false).contains(Method::Post)
            && !self
                .endpoint
                .as_ref()
                .and_then(|e| e.methods())
                .is_some_and(|m| m.contains(&Method::Post));
        let generated =
            |m: Method| self.offered(true).contains(m) || self.offered(false).contains(m);
        let taken = |m: Method| {
            self.endpoint
                .as_ref()
                .and_then(|e| e.methods())
                .is_some_and(|ms| ms.contains(&m))
        };
        let generates = |m: Method| generated(m) && !taken(m);
        let unused = [
            (
                self.hooks.has_before_create(),
                "before_create",
                generates(Method::Post),
            ),
            (
                self.hooks.has_before_update(),
                "before_update",
                generates(Method::Put) || generates(Method::Patch),
            ),
            (
                self.hooks.has_before_delete(),
                "before_delete",
                generates(Method::Delete),
            ),
            (
                self.hooks.has_after_write(),
                "after_write",
                [Method::Post, Method::Put, Method::Patch, Method::Delete]
                    .into_iter()
                    .any(generates),
            ),
        ];
        for (declared, hook, used) in unused {
            if declared && !used {
                return Err(format!(
                    "model `{model}`: hook `{hook}` is declared but the resource generates \
                     no verb it runs for"
                ));
            }
        }
        if generated_post {
            let scope = self.model.scope_rule().map(|r| r.column());
            for (name, field) in self.model.fields() {
                let unset = field.is_read_only()
                    && !field.is_nullable()
                    && field.default_value().is_none()
                    && !field.has_database_default()
                    && field.server_set().is_none()
                    && scope != Some(name.as_str());
                if unset {
                    return Err(format!(
                        "model `{model}`: field `{name}` is read-only and required but has \
                         no default, so a generated POST could never store a row \
                         (give it a default, make it nullable, or take over POST)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Page size when the client gives none, and the largest it may ask for.
    #[must_use]
    pub fn page_size(mut self, default: u64, max: u64) -> Resource {
        self.max_page_size = max.max(1);
        self.page_size = default.clamp(1, self.max_page_size);
        self
    }

    /// The most items one bulk write (a JSON array posted to the
    /// collection) may hold, in place of `LIGHTAPI_MAX_BULK_ITEMS`; at
    /// least 1.
    ///
    /// ```
    /// use lightapi::{Field, Model};
    /// let r = Model::new("t").field("a", Field::text()).into_resource().max_bulk(100);
    /// # let _ = r;
    /// ```
    #[must_use]
    pub fn max_bulk(mut self, items: usize) -> Resource {
        self.max_bulk = Some(items.max(1));
        self
    }

    /// Fields clients may filter on (`?field=`, `?field__gte=`, …).
    #[must_use]
    pub fn filter_fields(mut self, fields: &[&str]) -> Resource {
        self.rules.filter = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Text fields `?search=` looks in (case-insensitive substring).
    #[must_use]
    pub fn search_fields(mut self, fields: &[&str]) -> Resource {
        self.rules.search = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Fields clients may order by (`?ordering=name,-price`).
    #[must_use]
    pub fn ordering_fields(mut self, fields: &[&str]) -> Resource {
        self.rules.ordering = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// The ordering when the client gives none, as in `?ordering=`
    /// (e.g. `"-created"`, `"due.nullslast"`); `id` breaks ties. A key that
    /// names no orderable field stops start-up.
    #[must_use]
    pub fn default_ordering(mut self, spec: &str) -> Resource {
        self.rules.default_ordering = spec
            .split(',')
            .filter(|k| !k.is_empty())
            // An unknown modifier keeps the whole key as the field name,
            // which the start-up check then reports.
            .map(|k| Order::parse(k).unwrap_or_else(|_| Order::asc(k)))
            .collect();
        self
    }

    /// The to-one relations clients may expand with `?expand=` (default:
    /// every foreign key `x_id` into a registered model, as relation `x`).
    /// A name that is no such relation stops start-up. See the README's
    /// "Relations" section.
    ///
    /// ```
    /// use lightapi::{Field, Model};
    /// let product = Model::new("product")
    ///     .field("category_id", Field::integer().references("category"))
    ///     .field("supplier_id", Field::integer().references("supplier"))
    ///     .into_resource()
    ///     .expandable(&["category"]);
    /// # let _ = product;
    /// ```
    #[must_use]
    pub fn expandable(mut self, relations: &[&str]) -> Resource {
        self.expandable = Some(relations.iter().map(|r| r.to_string()).collect());
        self
    }

    /// The most children `?embed=` shows under each row of this resource
    /// (default [`DEFAULT_EMBED_LIMIT`], at least 1); each embedded
    /// relation also gives the full `count`.
    ///
    /// ```
    /// use lightapi::{Field, Model};
    /// let category = Model::new("category")
    ///     .field("name", Field::text())
    ///     .into_resource()
    ///     .embed_limit(5);
    /// # let _ = category;
    /// ```
    #[must_use]
    pub fn embed_limit(mut self, limit: u64) -> Resource {
        self.embed_limit = limit.max(1);
        self
    }

    /// What the relations of every resource need of this one.
    pub(crate) fn relation_node(&self) -> Node {
        // A model without a generated or custom `GET` shows its rows to
        // no one, in relations either.
        let read = if self.offered(false).contains(Method::Get) {
            self.access_for(Method::Get)
        } else {
            Access::check(|_, _| false)
        };
        Node {
            model: std::sync::Arc::new(self.model.clone()),
            read,
            rules: self.rules.clone(),
            expandable: self.expandable.clone(),
            embed_limit: self.embed_limit,
        }
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Default and largest page size.
    pub fn page_sizes(&self) -> (u64, u64) {
        (self.page_size, self.max_page_size)
    }

    /// The verbs offered on the collection (`false`) or item (`true`) route.
    pub fn offered(&self, item: bool) -> MethodSet {
        let mut allowed = offered(self.methods.as_deref(), &self.exclude)
            .intersect(serves(item).with(Method::Head));
        if allowed.contains(Method::Get) {
            allowed = allowed.with(Method::Head);
        }
        allowed.with(Method::Options)
    }

    /// The permission `method` requires.
    pub fn access_of(&self, method: Method) -> Access {
        self.access_for(method)
    }

    pub(crate) fn access_for(&self, method: Method) -> Access {
        self.access
            .iter()
            .rev()
            .find(|(m, _)| *m == method)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| self.default_access.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_defaults_and_overrides() {
        let r = Model::new("t")
            .into_resource()
            .access(Method::Get, Access::Public)
            .default_access(Access::Admin);
        assert!(r.access_for(Method::Get).is_public());
        assert!(matches!(r.access_for(Method::Post), Access::Admin));
    }
}
