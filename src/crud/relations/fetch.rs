//! The reads of a request's relations, run in the page's own read job
//! after its rows, and what they return for rendering.

use std::collections::HashMap;
use std::sync::Arc;

use super::parse::{Expand, Wanted};
use super::Catalog;
use crate::auth::Access;
use crate::backend::sql::{self, Dialect, Filter, Scope};
use crate::backend::work::Work;
use crate::backend::{BackendError, Conn, Value, WriteOutput};
use crate::crud::ops::{column_types, stored, Planned, Stored};
use crate::crud::CrudError;
use crate::model::{FieldType, Key, Model};

impl Catalog {
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

fn internal(cause: &str) -> BackendError {
    BackendError::Internal {
        cause: cause.to_owned(),
    }
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
    pub(crate) rows: HashMap<Key, Stored>,
    /// Relations expanded inside this one.
    pub(crate) nested: Vec<RelatedOne>,
}

impl RelatedOne {
    /// The related row of a parent row, if its key names one the caller
    /// may read.
    pub(crate) fn of(&self, parent: &Stored) -> Option<&Stored> {
        match parent.values.get(self.column) {
            Some(Value::Integer(id)) => self.rows.get(&Key::Int(*id)),
            Some(Value::Text(id)) => self.rows.get(&Key::Text(id.as_str().into())),
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
    pub(crate) rows: HashMap<Key, Vec<Stored>>,
    /// How many children each parent has (missing: none).
    pub(crate) counts: HashMap<Key, u64>,
}

/// The distinct keys in column `column` of `rows`, sorted.
fn keys(rows: &[Vec<Value>], column: usize) -> Vec<Key> {
    let mut ids: Vec<Key> = rows
        .iter()
        .filter_map(|r| r.get(column).and_then(Key::from_value))
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
            by_id.insert(s.id.clone(), s);
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
        let mut rows: HashMap<Key, Vec<Stored>> = HashMap::new();
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
                let Some(parent) = r.get(self.fk_column).and_then(Key::from_value) else {
                    continue;
                };
                rows.entry(parent)
                    .or_default()
                    .push(stored(&self.model, r)?);
            }
            // The statement leaves the order to us: by id, as numbered.
            for children in rows.values_mut() {
                children.sort_unstable_by(|a, b| a.id.cmp(&b.id));
            }
            let q = sql::count_children(d, &self.model, &self.fk, &ids, &self.filters, scope)?;
            let fk_type = self
                .model
                .field_named(&self.fk)
                .map_or(FieldType::Integer, |f| f.field_type());
            let types = [fk_type, FieldType::Integer];
            for r in c.query(&q.text, &q.params, &types)? {
                if let (Some(p), Some(Value::Integer(n))) =
                    (r.first().and_then(Key::from_value), r.get(1))
                {
                    counts.insert(p, u64::try_from(*n).unwrap_or(0));
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
    let job = match work.into_job() {
        Work::Read(job) => job,
        work => {
            return Planned {
                work,
                finish: Box::new(|_, _| Err(internal("relations of a write").into())),
            }
        }
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
