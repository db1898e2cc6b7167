//! From the parsed file to what the Rust API declares: the configuration
//! ([`settings`](super::settings)) and the models with their resources
//! ([`models`](super::models)), checked together.

use toml::Spanned;

use super::file::{FileDoc, FileError, LoginDecl};
use super::models::{check_login, resource};
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
    pub(crate) login: Option<LoginDecl>,
}

/// One `[models.NAME]`.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) path: String,
    pub(crate) resource: Resource,
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
    for (name, model) in doc.models.0 {
        let decl = model;
        let path = decl.path.clone().unwrap_or_else(|| format!("/{name}"));
        if !path.starts_with('/') {
            return Err(FileError::key(
                format!("models.{name}.path"),
                format!("{path:?} does not start with /"),
            ));
        }
        let resource = resource(&name, decl)?;
        resources.push(Declared { path, resource });
    }
    let keys = Model::keys_of(resources.iter().map(|d| d.resource.model()));
    for d in &mut resources {
        d.resource.model.link_references(&keys);
    }
    let models: Vec<Model> = resources
        .iter()
        .map(|d| d.resource.model().clone())
        .collect();
    crate::model::check_models(&models).map_err(|e| FileError::key("models", e.to_string()))?;
    if let Some(login) = &doc.login {
        check_login(login, &resources)?;
    }
    Ok(Plan {
        config,
        openapi,
        resources,
        login: doc.login,
    })
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
