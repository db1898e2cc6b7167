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

mod fetch;
mod parse;

use std::sync::Arc;

use crate::auth::Access;
use crate::crud::query::QueryRules;
use crate::model::Model;

pub(crate) use fetch::{attach, Plan, Related, RelatedOne};
pub(crate) use parse::Wanted;

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
pub(super) struct ToOne {
    pub(super) name: String,
    /// The foreign key's position among the model's stored columns.
    pub(super) column: usize,
    /// The referenced resource.
    pub(super) target: usize,
}

/// A to-many relation of a model.
pub(super) struct ToMany {
    /// The child resource (also the relation's name).
    pub(super) child: usize,
    /// The child's foreign key into the model.
    pub(super) fk: String,
}

/// The to-one relation name of foreign key `field`, if it is one.
fn relation_name(field: &str) -> Option<&str> {
    field.strip_suffix("_id").filter(|n| !n.is_empty())
}

impl Catalog {
    pub(crate) fn new(nodes: Vec<Node>) -> Catalog {
        Catalog { nodes }
    }

    pub(super) fn index_of(&self, model: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.model.name() == model)
    }

    pub(super) fn node(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i)
    }

    /// Every to-one relation of `model` into a registered resource, before
    /// the `expandable` whitelist.
    pub(super) fn all_to_one(&self, model: &Model) -> Vec<ToOne> {
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
    pub(super) fn to_one(&self, model: &Model) -> Vec<ToOne> {
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
    pub(super) fn to_many(&self, model: &Model) -> Vec<ToMany> {
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
                if model.field_named(name).is_some()
                    || name == model.key_column()
                    || names.contains(&name)
                {
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
