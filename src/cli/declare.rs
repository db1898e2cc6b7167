//! From the parsed file to what the Rust API declares: the configuration
//! ([`settings`](super::settings)) and the models with their resources
//! ([`models`](super::models)), checked together.

use toml::Spanned;

use super::file::{FileDoc, FileError, LoginDecl, ModelDecl};
use super::models::{check_login, nested_routes, resource};
use super::settings::settings;
use crate::config::Config;
use crate::model::Model;
use crate::resource::Resource;

/// Everything the file declares, ready to build an application from.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) config: Config,
    pub(crate) openapi: OpenApiInfo,
    /// Each model with its route, in the file's order.
    pub(crate) resources: Vec<Declared>,
    /// The models read from their tables (`reflect = true`), not yet read.
    pub(crate) reflect: Vec<Pending>,
    pub(crate) login: Option<LoginDecl>,
}

/// A `[models.NAME]` with `reflect = true`, before its table is read.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Its position among all the file's models.
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) decl: ModelDecl,
}

impl Pending {
    /// The table it serves.
    pub(crate) fn table(&self) -> &str {
        self.decl.table.as_deref().unwrap_or(&self.name)
    }
}

/// One `[models.NAME]`.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) path: String,
    pub(crate) resource: Resource,
    /// Routes listing the model's rows under a parent row: each path with
    /// the foreign key into the parent.
    pub(crate) nested: Vec<(String, String)>,
}

/// `[openapi]` with its defaults filled.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpenApiInfo {
    pub(crate) title: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) license: Option<(String, String)>,
    pub(crate) servers: Vec<String>,
}

pub(super) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The plan `doc` declares, with `lookup` for `${VAR}` and the
/// `LIGHTAPI_*` overrides.
pub(crate) fn plan(doc: FileDoc, lookup: Lookup<'_>) -> Result<Plan, FileError> {
    let config = settings(&doc, lookup)?;
    let o = doc.openapi;
    let license = match (o.license_name, o.license_id) {
        (Some(n), Some(i)) => Some((n, i)),
        (None, None) => None,
        _ => {
            return Err(FileError::key(
                "openapi",
                "license_name and license_id go together",
            ))
        }
    };
    let openapi = OpenApiInfo {
        title: o.title,
        version: o.version,
        description: o.description,
        license,
        servers: o.servers,
    };
    let mut resources = Vec::new();
    let mut reflect = Vec::new();
    for (index, (name, model)) in doc.models.0.into_iter().enumerate() {
        let decl = model;
        let path = decl.path.clone().unwrap_or_else(|| format!("/{name}"));
        if !path.starts_with('/') {
            return Err(FileError::key(
                format!("models.{name}.path"),
                format!("{path:?} does not start with /"),
            ));
        }
        if decl.reflect {
            reflect.push(Pending {
                index,
                name,
                path,
                decl,
            });
            continue;
        }
        if let Some(policy) = &decl.unsupported {
            return Err(invalid(
                policy,
                &format!("models.{name}.unsupported"),
                "applies to a model read from its table (reflect = true)",
            ));
        }
        let nested = nested_routes(&name, &decl)?;
        let resource = resource(&name, decl)?;
        resources.push(Declared {
            path,
            resource,
            nested,
        });
    }
    let mut plan = Plan {
        config,
        openapi,
        resources,
        reflect,
        login: doc.login,
    };
    if plan.reflect.is_empty() {
        finish(&mut plan)?;
    }
    Ok(plan)
}

/// The checks across models (foreign keys, the login's table), once every
/// model is known.
pub(crate) fn finish(plan: &mut Plan) -> Result<(), FileError> {
    let keys = Model::keys_of(plan.resources.iter().map(|d| d.resource.model()));
    for d in &mut plan.resources {
        d.resource.model.link_references(&keys);
    }
    let models: Vec<Model> = plan
        .resources
        .iter()
        .map(|d| d.resource.model().clone())
        .collect();
    crate::model::check_models(&models).map_err(|e| FileError::key("models", e.to_string()))?;
    if let Some(login) = &plan.login {
        check_login(login, &plan.resources)?;
    }
    Ok(())
}

pub(super) fn invalid<T>(value: &Spanned<T>, key: &str, message: impl Into<String>) -> FileError {
    FileError::at(value.span(), key, message)
}

/// A `ConfigError`'s reason, without the variable it names.
pub(super) fn reason(e: impl ToString) -> String {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((var, rest)) if var.starts_with("LIGHTAPI_") => rest.to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::plan;
    use crate::cli::file::parse;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_model_mistake_names_the_model() {
        let text = "[models.p.fields]\nname = { type = \"text\", max_length = 0 }\n";
        let err = plan(parse(text).unwrap(), &no_env).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("models"));
        assert!(err.message.contains("model `p`"), "{err:?}");
    }
}
