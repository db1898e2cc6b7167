//! Related rows shown inside a model's rows: the rows its foreign keys name
//! (`?expand=`, to-one) and the rows whose foreign key names it (`?embed=`,
//! to-many), read in a bounded number of statements whatever the page size.
//!
//! Naming: a foreign key `category_id` into `category` is the to-one
//! relation `category` (the field name without `_id`; a foreign key whose
//! name does not end in `_id` is no relation). A model with exactly one
//! foreign key into another is that model's to-many relation, named after
//! the child model. A relation name equal to a field name stops start-up.
//!
//! Statements, for one page (or one row): the page's own, then one
//! `SELECT … WHERE id IN (…)` per expanded relation (nested ones included),
//! and two per embedded relation (the children numbered per parent and cut
//! at the limit, and one grouped `COUNT(*)`), all in the page's read job.

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::Access;
use crate::backend::sql::{self, Dialect, Filter, Scope};
use crate::backend::work::Work;
use crate::backend::{BackendError, Conn, Value, WriteOutput};
use crate::crud::ops::{column_types, stored, Planned, Stored};
use crate::crud::query::{parse_filter, QueryParamError, QueryRules};
use crate::crud::CrudError;
use crate::model::{FieldType, Model, ID_COLUMN, VERSION_COLUMN};

/// Children shown per parent when the resource declares no limit.
pub const DEFAULT_EMBED_LIMIT: u64 = 20;

/// What relations need to know of one registered resource.
#[derive(Clone)]
pub(crate) struct Node {
    pub(crate) model: Arc<Model>,
    /// The permission of its `GET`.
    pub(crate) read: Access,
    /// Its filter whitelist, for filters on embedded rows.
    pub(crate) rules: QueryRules,
    /// The to-one relations it lets clients expand (`None`: all).
    pub(crate) expandable: Option<Vec<String>>,
    /// The most children shown per row of it.
    pub(crate) embed_limit: u64,
}

/// The relations between every registered resource.
#[derive(Default)]
pub(crate) struct Catalog {
    nodes: Vec<Node>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nodes.iter().map(|n| n.model.name()))
            .finish()
    }
}

/// A relation's name and model.
pub(crate) type Named = (String, Arc<Model>);

/// A to-one relation of a model.
struct ToOne {
    name: String,
    /// The foreign key's position among the model's stored columns.
    column: usize,
    /// The referenced resource.
    target: usize,
}

/// A to-many relation of a model.
struct ToMany {
    /// The child resource (also the relation's name).
    child: usize,
    /// The child's foreign key into the model.
    fk: String,
}

/// The to-one relation name of foreign key `field`, if it is one.
fn relation_name(field: &str) -> Option<&str> {
    field.strip_suffix("_id").filter(|n| !n.is_empty())
}

impl Catalog {
    pub(crate) fn new(nodes: Vec<Node>) -> Catalog {
        Catalog { nodes }
    }

    fn index_of(&self, model: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.model.name() == model)
    }

    fn node(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i)
    }

    /// Every to-one relation of `model` into a registered resource, before
    /// the `expandable` whitelist.
    fn all_to_one(&self, model: &Model) -> Vec<ToOne> {
        model
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, (name, field))| {
                let table = field.referenced_table()?;
                Some(ToOne {
                    name: relation_name(name)?.to_owned(),
                    column: i + 1,
                    target: self.index_of(table)?,
                })
            })
            .collect()
    }

    /// The to-one relations clients may expand on `model`.
    fn to_one(&self, model: &Model) -> Vec<ToOne> {
        let allowed = self
            .index_of(model.name())
            .and_then(|i| self.node(i))
            .and_then(|n| n.expandable.clone());
        let mut all = self.all_to_one(model);
        if let Some(allowed) = allowed {
            all.retain(|r| allowed.contains(&r.name));
        }
        all
    }

    /// The to-many relations of `model`: the registered models with
    /// exactly one foreign key into it.
    fn to_many(&self, model: &Model) -> Vec<ToMany> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let mut fks = n
                    .model
                    .fields()
                    .iter()
                    .filter(|(_, f)| f.referenced_table() == Some(model.name()));
                let (fk, _) = fks.next()?;
                fks.next().is_none().then(|| ToMany {
                    child: i,
                    fk: fk.clone(),
                })
            })
            .collect()
    }

    /// The names `model`'s expand and embed relations take, which must be
    /// unique and differ from its fields; and every `expandable` name must
    /// be a to-one relation.
    ///
    /// # Errors
    /// The first clash or unknown name, naming the model.
    pub(crate) fn check(&self) -> Result<(), String> {
        for node in &self.nodes {
            let model = &node.model;
            let to_one = self.all_to_one(model);
            let mut names: Vec<&str> = Vec::new();
            let embeds: Vec<&str> = self
                .to_many(model)
                .iter()
                .filter_map(|r| self.node(r.child).map(|n| n.model.name()))
                .collect();
            for name in to_one.iter().map(|r| r.name.as_str()).chain(embeds) {
                if model.field_named(name).is_some() || name == ID_COLUMN || names.contains(&name) {
                    return Err(format!(
                        "model `{}`: relation `{name}` has the name of a field or of another \
                         relation (a foreign key `x_id` is the relation `x`, a model with one \
                         foreign key into this one the relation named after it)",
                        model.name()
                    ));
                }
                names.push(name);
            }
            for name in node.expandable.iter().flatten() {
                if !to_one.iter().any(|r| &r.name == name) {
                    return Err(format!(
                        "model `{}`: expandable `{name}` is not a foreign key `{name}_id` into \
                         a registered model",
                        model.name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The names clients may give `?expand=` (nested ones as
    /// `parent.child`) and `?embed=` on `model`.
    pub(crate) fn names(&self, model: &Model) -> (Vec<String>, Vec<String>) {
        let mut expand = Vec::new();
        for r in self.to_one(model) {
            if let Some(target) = self.node(r.target) {
                for nested in self.to_one(&target.model) {
                    expand.push(format!("{}.{}", r.name, nested.name));
                }
            }
            expand.push(r.name);
        }
        expand.sort();
        let embed = self
            .to_many(model)
            .iter()
            .filter_map(|r| self.node(r.child).map(|n| n.model.name().to_owned()))
            .collect();
        (expand, embed)
    }

    /// Whether a relation of `model` leads to a resource whose `GET`
    /// needs a token.
    pub(crate) fn needs_token(&self, model: &Model) -> bool {
        let one = self.to_one(model).into_iter().map(|r| r.target);
        let many = self.to_many(model).into_iter().map(|r| r.child);
        one.chain(many)
            .filter_map(|i| self.node(i))
            .any(|n| !n.read.is_public())
    }

    /// The model of the to-one relation `name` of `model`, and that of the
    /// to-many one.
    pub(crate) fn models_of(&self, model: &Model) -> (Vec<Named>, Vec<Arc<Model>>) {
        let one = self
            .to_one(model)
            .into_iter()
            .filter_map(|r| Some((r.name, Arc::clone(&self.node(r.target)?.model))))
            .collect();
        let many = self
            .to_many(model)
            .iter()
            .filter_map(|r| Some(Arc::clone(&self.node(r.child)?.model)))
            .collect();
        (one, many)
    }

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

    /// Plans the reads of the relations in `wanted`: `read` checks the
    /// caller may read a related model (its resource's `GET` permission
    /// given) and returns the caller's scope there.
    ///
    /// # Errors
    /// What `read` refuses.
    pub(crate) fn plan<E: From<CrudError>>(
        &self,
        wanted: Wanted,
        dialect: Dialect,
        read: impl Fn(&Model, &Access) -> Result<Option<Scope>, E>,
    ) -> Result<Option<Plan>, E> {
        if wanted.expand.is_empty() && wanted.embed.is_empty() {
            return Ok(None);
        }
        let reader = |i: usize| -> Result<(Arc<Model>, Option<Scope>), E> {
            let node = self
                .node(i)
                .ok_or_else(|| CrudError::from(internal("unknown relation")))?;
            let scope = read(&node.model, &node.read)?;
            Ok((Arc::clone(&node.model), scope))
        };
        fn one<E>(
            e: Expand,
            reader: &dyn Fn(usize) -> Result<(Arc<Model>, Option<Scope>), E>,
        ) -> Result<OnePlan, E> {
            let (model, scope) = reader(e.target)?;
            Ok(OnePlan {
                name: e.name,
                column: e.column,
                model,
                scope,
                fields: e.fields,
                nested: e
                    .nested
                    .into_iter()
                    .map(|n| one(n, reader))
                    .collect::<Result<_, _>>()?,
            })
        }
        let expand = wanted
            .expand
            .into_iter()
            .map(|e| one(e, &reader))
            .collect::<Result<_, _>>()?;
        let embed = wanted
            .embed
            .into_iter()
            .map(|e| {
                let (model, scope) = reader(e.child)?;
                let fk_column = model
                    .fields()
                    .iter()
                    .position(|(n, _)| *n == e.fk)
                    .map(|i| i + 1)
                    .ok_or_else(|| CrudError::from(internal("foreign key not in child")))?;
                Ok(ManyPlan {
                    name: e.name,
                    model,
                    scope,
                    fk: e.fk,
                    fk_column,
                    filters: e.filters,
                    limit: e.limit,
                    fields: e.fields,
                })
            })
            .collect::<Result<_, E>>()?;
        Ok(Some(Plan {
            dialect,
            expand,
            embed,
        }))
    }
}

/// Adds `field` of `model` to a relation's projection.
fn add_field(fields: &mut Option<Vec<String>>, model: &Model, field: &str) -> Result<(), String> {
    let readable = field == ID_COLUMN
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

fn internal(cause: &str) -> BackendError {
    BackendError::Internal {
        cause: cause.to_owned(),
    }
}

/// The relations a request asks for, checked against the declarations.
#[derive(Default)]
pub(crate) struct Wanted {
    expand: Vec<Expand>,
    embed: Vec<Embed>,
}

struct Expand {
    name: String,
    column: usize,
    target: usize,
    fields: Option<Vec<String>>,
    nested: Vec<Expand>,
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

struct Embed {
    name: String,
    child: usize,
    fk: String,
    filters: Vec<Filter>,
    limit: u64,
    fields: Option<Vec<String>>,
}

/// The reads of a request's relations, ready to run after its rows.
pub(crate) struct Plan {
    dialect: Dialect,
    expand: Vec<OnePlan>,
    embed: Vec<ManyPlan>,
}

struct OnePlan {
    name: String,
    column: usize,
    model: Arc<Model>,
    scope: Option<Scope>,
    fields: Option<Vec<String>>,
    nested: Vec<OnePlan>,
}

struct ManyPlan {
    name: String,
    model: Arc<Model>,
    scope: Option<Scope>,
    fk: String,
    fk_column: usize,
    filters: Vec<Filter>,
    limit: u64,
    fields: Option<Vec<String>>,
}

/// The related rows of a page or row, as read.
#[derive(Debug)]
pub(crate) struct Related {
    /// Expanded relations, in the order asked.
    pub(crate) one: Vec<RelatedOne>,
    /// Embedded relations, in the order asked.
    pub(crate) many: Vec<RelatedMany>,
}

/// The rows of one expanded relation, by id.
#[derive(Debug)]
pub(crate) struct RelatedOne {
    pub(crate) name: String,
    /// The foreign key's position among the parent's stored columns.
    pub(crate) column: usize,
    pub(crate) model: Arc<Model>,
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) rows: HashMap<i64, Stored>,
    /// Relations expanded inside this one.
    pub(crate) nested: Vec<RelatedOne>,
}

impl RelatedOne {
    /// The related row of a parent row, if its key names one the caller
    /// may read.
    pub(crate) fn of(&self, parent: &Stored) -> Option<&Stored> {
        match parent.values.get(self.column) {
            Some(Value::Integer(id)) => self.rows.get(id),
            _ => None,
        }
    }
}

/// The children of one embedded relation, by parent id.
#[derive(Debug)]
pub(crate) struct RelatedMany {
    pub(crate) name: String,
    pub(crate) model: Arc<Model>,
    pub(crate) fields: Option<Vec<String>>,
    /// The first children of each parent, by id.
    pub(crate) rows: HashMap<i64, Vec<Stored>>,
    /// How many children each parent has (missing: none).
    pub(crate) counts: HashMap<i64, u64>,
}

/// The distinct integers in column `column` of `rows`, sorted.
fn keys(rows: &[Vec<Value>], column: usize) -> Vec<i64> {
    let mut ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| match r.get(column) {
            Some(Value::Integer(id)) => Some(*id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl OnePlan {
    fn fetch(
        self,
        c: &mut dyn Conn,
        d: Dialect,
        parents: &[Vec<Value>],
    ) -> Result<RelatedOne, CrudError> {
        let ids = keys(parents, self.column);
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            let q = sql::select_in(d, &self.model, &ids, self.scope.as_ref())?;
            c.query(&q.text, &q.params, &column_types(&self.model))?
        };
        let nested = self
            .nested
            .into_iter()
            .map(|n| n.fetch(c, d, &rows))
            .collect::<Result<_, _>>()?;
        let mut by_id = HashMap::with_capacity(rows.len());
        for r in rows {
            let s = stored(&self.model, r)?;
            by_id.insert(s.id, s);
        }
        Ok(RelatedOne {
            name: self.name,
            column: self.column,
            model: self.model,
            fields: self.fields,
            rows: by_id,
            nested,
        })
    }
}

impl ManyPlan {
    fn fetch(
        self,
        c: &mut dyn Conn,
        d: Dialect,
        parents: &[Vec<Value>],
    ) -> Result<RelatedMany, CrudError> {
        let ids = keys(parents, 0);
        let mut rows: HashMap<i64, Vec<Stored>> = HashMap::new();
        let mut counts = HashMap::new();
        if !ids.is_empty() {
            let scope = self.scope.as_ref();
            let q = sql::select_children(
                d,
                &self.model,
                &self.fk,
                &ids,
                &self.filters,
                scope,
                self.limit,
            )?;
            for r in c.query(&q.text, &q.params, &column_types(&self.model))? {
                let parent = match r.get(self.fk_column) {
                    Some(Value::Integer(p)) => *p,
                    _ => continue,
                };
                rows.entry(parent)
                    .or_default()
                    .push(stored(&self.model, r)?);
            }
            // The statement leaves the order to us: by id, as numbered.
            for children in rows.values_mut() {
                children.sort_unstable_by_key(|s| s.id);
            }
            let q = sql::count_children(d, &self.model, &self.fk, &ids, &self.filters, scope)?;
            let types = [FieldType::Integer, FieldType::Integer];
            for r in c.query(&q.text, &q.params, &types)? {
                if let (Some(Value::Integer(p)), Some(Value::Integer(n))) = (r.first(), r.get(1)) {
                    counts.insert(*p, u64::try_from(*n).unwrap_or(0));
                }
            }
        }
        Ok(RelatedMany {
            name: self.name,
            model: self.model,
            fields: self.fields,
            rows,
            counts,
        })
    }
}

impl Plan {
    fn fetch(self, c: &mut dyn Conn, parents: &[Vec<Value>]) -> Result<Related, CrudError> {
        let d = self.dialect;
        let one = self
            .expand
            .into_iter()
            .map(|e| e.fetch(c, d, parents))
            .collect::<Result<_, _>>()?;
        let many = self
            .embed
            .into_iter()
            .map(|e| e.fetch(c, d, parents))
            .collect::<Result<_, _>>()?;
        Ok(Related { one, many })
    }
}

/// The rows a list's or a get's read job returned.
fn parent_rows(out: &WriteOutput) -> &[Vec<Value>] {
    type ListOutput = (Vec<Vec<Value>>, Option<Vec<Vec<Value>>>, bool);
    if let Some((rows, _, _)) = out.downcast_ref::<ListOutput>() {
        return rows;
    }
    out.downcast_ref::<Vec<Vec<Value>>>()
        .map_or(&[], Vec::as_slice)
}

/// `planned` (a list or a get) followed, in the same read job, by the
/// reads of `plan` for the rows it returned.
pub(crate) fn attach<T: 'static>(
    planned: Planned<T>,
    plan: Option<Plan>,
) -> Planned<(T, Option<Related>)> {
    let Some(plan) = plan else {
        return planned.map(|_, t| Ok((t, None)));
    };
    let Planned { work, finish } = planned;
    let Work::Read(job) = work else {
        return Planned {
            work,
            finish: Box::new(|_, _| Err(internal("relations of a write").into())),
        };
    };
    let work = Work::Read(Box::new(move |c: &mut dyn Conn| {
        let out = job(c)?;
        let related = plan.fetch(c, parent_rows(&out)).map_err(|e| match e {
            CrudError::Backend { source } => source,
            other => internal(&other.to_string()),
        })?;
        Ok(Box::new((out, related)) as WriteOutput)
    }));
    Planned {
        work,
        finish: Box::new(move |model, out| {
            let (inner, related): (WriteOutput, Related) = crate::backend::unbox_output(out?)?;
            let t = finish(model, Ok(inner))?;
            Ok((t, Some(related)))
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn node(model: Model) -> Node {
        Node {
            model: Arc::new(model),
            read: Access::Authenticated,
            rules: QueryRules {
                filter: vec!["price".into()],
                ..QueryRules::default()
            },
            expandable: None,
            embed_limit: 5,
        }
    }

    fn shop() -> Catalog {
        Catalog::new(vec![
            node(Model::new("category").field("name", Field::text()).field(
                "parent_id",
                Field::integer().nullable().references("category"),
            )),
            node(
                Model::new("product")
                    .field("price", Field::float())
                    .field("secret", Field::text().write_only())
                    .field("category_id", Field::integer().references("category")),
            ),
        ])
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn relation_names_follow_the_foreign_keys() {
        let c = shop();
        c.check().unwrap();
        let (category, product) = (c.nodes[0].model.clone(), c.nodes[1].model.clone());
        assert_eq!(
            c.names(&product),
            (vec!["category".into(), "category.parent".into()], vec![])
        );
        // A self-reference is also a to-many relation: the child categories.
        assert_eq!(
            c.names(&category).1,
            vec!["category".to_string(), "product".to_string()]
        );
    }

    #[test]
    fn clashing_or_unknown_names_stop_start_up() {
        let clash = Catalog::new(vec![node(
            Model::new("a")
                .field("b", Field::text())
                .field("b_id", Field::integer().references("a")),
        )]);
        assert!(clash.check().unwrap_err().contains("relation `b`"));
        let mut c = shop();
        c.nodes[1].expandable = Some(vec!["maker".into()]);
        assert!(c.check().unwrap_err().contains("expandable `maker`"));
    }

    #[test]
    fn parse_takes_relation_parameters_out() {
        let c = shop();
        let product = c.nodes[1].model.clone();
        let (w, rest) = c
            .parse(
                &product,
                &q(&[
                    ("expand", "category.parent"),
                    ("fields", "id,price,category.name"),
                    ("price__gte", "1"),
                ]),
            )
            .unwrap();
        assert_eq!(rest, q(&[("fields", "id,price"), ("price__gte", "1")]));
        assert_eq!(w.expand.len(), 1);
        assert_eq!(w.expand[0].nested.len(), 1);
        assert_eq!(w.expand[0].fields, Some(vec!["name".to_string()]));
        let category = c.nodes[0].model.clone();
        let (w, rest) = c
            .parse(
                &category,
                &q(&[("embed", "product"), ("product.price__gte", "5")]),
            )
            .unwrap();
        assert!(rest.is_empty());
        assert_eq!((w.embed[0].filters.len(), w.embed[0].limit), (1, 5));
    }

    #[test]
    fn empty_relation_lists_show_no_relations() {
        let c = shop();
        let product = c.nodes[1].model.clone();
        let (w, rest) = c
            .parse(&product, &q(&[("expand", ""), ("embed", "")]))
            .unwrap();
        assert!(w.expand.is_empty() && w.embed.is_empty() && rest.is_empty());
    }

    #[test]
    fn bad_relation_parameters_name_the_parameter() {
        let c = shop();
        let product = c.nodes[1].model.clone();
        let category = c.nodes[0].model.clone();
        let bad = |m: &Model, p: &[(&str, &str)]| c.parse(m, &q(p)).err().unwrap().param;
        assert_eq!(bad(&product, &[("expand", "maker")]), "expand");
        assert_eq!(bad(&product, &[("expand", "category,")]), "expand");
        assert_eq!(bad(&product, &[("expand", "category.nope")]), "expand");
        assert_eq!(bad(&product, &[("expand", "category,category")]), "expand");
        assert_eq!(bad(&product, &[("embed", "category")]), "embed");
        assert_eq!(bad(&product, &[("fields", "category.name")]), "fields");
        assert_eq!(
            bad(
                &category,
                &[("embed", "product"), ("fields", "product.secret")]
            ),
            "fields"
        );
        assert_eq!(
            bad(&category, &[("embed", "product"), ("product.secret", "x")]),
            "product.secret"
        );
    }
}
