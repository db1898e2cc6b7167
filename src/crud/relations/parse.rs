//! The relation parameters of a request (`expand`, `embed`, filters on
//! embedded rows, relation entries of `fields`), checked against the
//! declarations.

use super::{Catalog, ToOne, DEFAULT_EMBED_LIMIT};
use crate::backend::sql::Filter;
use crate::crud::query::{parse_filter, QueryParamError};
use crate::model::{Model, VERSION_COLUMN};

impl Catalog {
    /// Takes the relation parameters out of a request's query: `expand`,
    /// `embed`, filters on embedded rows (`child.field__op=`), and the
    /// `fields` entries that name a relation or one of its fields; the
    /// rest is returned for the list query parser.
    ///
    /// # Errors
    /// A `400` naming the parameter: an unknown relation, a relation given
    /// twice, or a field or filter of a relation that is not shown.
    pub(crate) fn parse(
        &self,
        model: &Model,
        params: &[(String, String)],
    ) -> Result<(Wanted, Vec<(String, String)>), QueryParamError> {
        let err = |param: &str, message: String| QueryParamError {
            param: param.to_owned(),
            message,
        };
        for r in ["expand", "embed"] {
            if params.iter().filter(|(n, _)| n == r).count() > 1 {
                return Err(err(r, "given more than once".into()));
            }
        }
        // Empty, as for `fields=`: a selection the client cleared.
        let value = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };

        let mut wanted = Wanted::default();
        if let Some(list) = value("expand") {
            let to_one = self.to_one(model);
            let (mut top, mut nested): (Vec<&str>, Vec<(&str, &str)>) = (Vec::new(), Vec::new());
            for name in list.split(',') {
                match name.split_once('.') {
                    Some((a, b)) => nested.push((a, b)),
                    None => top.push(name),
                }
            }
            // `a.b` expands `a` too.
            for (a, _) in &nested {
                if !top.contains(a) {
                    top.push(a);
                }
            }
            for name in top {
                let r = to_one.iter().find(|r| r.name == name).ok_or_else(|| {
                    err("expand", format!("`{name}` is not an expandable relation"))
                })?;
                if wanted.expand.iter().any(|e| e.name == name) {
                    return Err(err("expand", format!("`{name}` given twice")));
                }
                let mut e = Expand::new(r);
                if let Some(target) = self.node(r.target) {
                    let inner = self.to_one(&target.model);
                    for (_, b) in nested.iter().filter(|(a, _)| *a == name) {
                        let n = inner.iter().find(|n| n.name == *b).ok_or_else(|| {
                            err(
                                "expand",
                                format!("`{name}.{b}` is not an expandable relation"),
                            )
                        })?;
                        if e.nested.iter().any(|x| x.name == *b) {
                            return Err(err("expand", format!("`{name}.{b}` given twice")));
                        }
                        e.nested.push(Expand::new(n));
                    }
                }
                wanted.expand.push(e);
            }
        }
        if let Some(list) = value("embed") {
            let to_many = self.to_many(model);
            for name in list.split(',') {
                let (r, child) = to_many
                    .iter()
                    .find_map(|r| {
                        let n = self.node(r.child)?;
                        (n.model.name() == name).then_some((r, n))
                    })
                    .ok_or_else(|| {
                        err("embed", format!("`{name}` is not an embeddable relation"))
                    })?;
                if wanted.embed.iter().any(|e| e.name == name) {
                    return Err(err("embed", format!("`{name}` given twice")));
                }
                let limit = self
                    .index_of(model.name())
                    .and_then(|i| self.node(i))
                    .map_or(DEFAULT_EMBED_LIMIT, |n| n.embed_limit);
                let mut filters = Vec::new();
                let prefix = format!("{name}.");
                for (param, v) in params {
                    if let Some(f) = param.strip_prefix(&prefix) {
                        if let Some(filter) = parse_filter(&child.model, &child.rules, f, v)
                            .map_err(|m| err(param, m))?
                        {
                            filters.push(filter);
                        }
                    }
                }
                wanted.embed.push(Embed {
                    name: name.to_owned(),
                    child: r.child,
                    fk: r.fk.clone(),
                    filters,
                    limit,
                    fields: None,
                });
            }
        }
        let mut rest: Vec<(String, String)> = Vec::with_capacity(params.len());
        for (name, v) in params {
            let embedded = wanted.embed.iter().any(|e| {
                name.strip_prefix(e.name.as_str())
                    .is_some_and(|r| r.starts_with('.'))
            });
            if name == "expand" || name == "embed" || embedded {
                continue;
            }
            if name == "fields" {
                let own = self
                    .take_fields(&mut wanted, v)
                    .map_err(|m| err("fields", m))?;
                rest.push((name.clone(), own));
                continue;
            }
            rest.push((name.clone(), v.clone()));
        }
        Ok((wanted, rest))
    }

    /// Moves the `fields` entries of shown relations into `wanted`; what is
    /// left is the model's own list.
    fn take_fields(&self, wanted: &mut Wanted, list: &str) -> Result<String, String> {
        let mut own: Vec<&str> = Vec::new();
        for entry in list.split(',') {
            let (head, tail) = match entry.split_once('.') {
                Some((h, t)) => (h, Some(t)),
                None => (entry, None),
            };
            let shown = |w: &Wanted| {
                w.expand.iter().any(|e| e.name == head) || w.embed.iter().any(|e| e.name == head)
            };
            match tail {
                // A relation named alone is shown whole; it always shows.
                None if shown(wanted) => {}
                None => own.push(entry),
                Some(_) if !shown(wanted) => {
                    return Err(format!("`{head}` is not an expanded or embedded relation"))
                }
                Some(tail) => {
                    if let Some(e) = wanted.expand.iter_mut().find(|e| e.name == head) {
                        self.expand_field(e, tail)?;
                    } else if let Some(e) = wanted.embed.iter_mut().find(|e| e.name == head) {
                        let model = &self.node(e.child).ok_or("unknown relation")?.model;
                        add_field(&mut e.fields, model, tail)?;
                    }
                }
            }
        }
        // Only relation entries: the model's own fields stay whole.
        Ok(own.join(","))
    }

    fn expand_field(&self, e: &mut Expand, tail: &str) -> Result<(), String> {
        let model = &self.node(e.target).ok_or("unknown relation")?.model;
        if let Some((head, rest)) = tail.split_once('.') {
            let n = e
                .nested
                .iter_mut()
                .find(|n| n.name == head)
                .ok_or_else(|| format!("`{head}` is not an expanded relation"))?;
            return self.expand_field(n, rest);
        }
        if e.nested.iter().any(|n| n.name == tail) {
            return Ok(());
        }
        add_field(&mut e.fields, model, tail)
    }
}

/// Adds `field` of `model` to a relation's projection.
fn add_field(fields: &mut Option<Vec<String>>, model: &Model, field: &str) -> Result<(), String> {
    let readable = field == model.key_column()
        || (model.is_versioned() && field == VERSION_COLUMN)
        || model.field_named(field).is_some_and(|f| !f.is_write_only());
    if !readable {
        return Err(format!(
            "`{field}` is not a readable field of `{}`",
            model.name()
        ));
    }
    let list = fields.get_or_insert_with(Vec::new);
    if !list.iter().any(|f| f == field) {
        list.push(field.to_owned());
    }
    Ok(())
}

/// The relations a request asks for, checked against the declarations.
#[derive(Default)]
pub(crate) struct Wanted {
    pub(super) expand: Vec<Expand>,
    pub(super) embed: Vec<Embed>,
}

pub(super) struct Expand {
    pub(super) name: String,
    pub(super) column: usize,
    pub(super) target: usize,
    pub(super) fields: Option<Vec<String>>,
    pub(super) nested: Vec<Expand>,
}

impl Expand {
    fn new(r: &ToOne) -> Expand {
        Expand {
            name: r.name.clone(),
            column: r.column,
            target: r.target,
            fields: None,
            nested: Vec::new(),
        }
    }
}

pub(super) struct Embed {
    pub(super) name: String,
    pub(super) child: usize,
    pub(super) fk: String,
    pub(super) filters: Vec<Filter>,
    pub(super) limit: u64,
    pub(super) fields: Option<Vec<String>>,
}
