//! Statements that read the related rows of a page in one go: the rows a
//! page's foreign keys name ([`select_in`], one `WHERE "id" IN (…)`), and
//! the children of a page's rows, at most `limit` per parent
//! ([`select_children`], numbered by `ROW_NUMBER() OVER (PARTITION BY fk
//! ORDER BY id)`), with how many each parent has ([`count_children`], one
//! grouped `COUNT(*)`). The window function is in SQLite from 3.25, MariaDB
//! from 10.2 and every supported PostgreSQL.

use super::list::push_where;
use super::{Builder, Dialect, Filter, FilterOp, Scope, Sql};
use crate::backend::{BackendError, Value};
use crate::model::{Key, Model};

/// The name of the row-number column of [`select_children`]'s inner query.
const ROW_NUMBER: &str = "lightapi_n";

fn id_filter(column: &str, ids: &[Key]) -> Filter {
    Filter {
        field: column.to_owned(),
        op: FilterOp::In(ids.iter().map(Key::to_value).collect()),
    }
}

/// The rows of `model` whose id is one of `ids`, within `scope`.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a scope column the model lacks.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Field, Key, Model};
/// let m = Model::new("category").field("name", Field::text());
/// let q = sql::select_in(Dialect::Postgres, &m, &[Key::Int(3), Key::Int(5)], None)?;
/// assert_eq!(q.text, r#"SELECT "id", "name" FROM "category" WHERE "id" IN ($1, $2)"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn select_in(
    d: Dialect,
    model: &Model,
    ids: &[Key],
    scope: Option<&Scope>,
) -> Result<Sql, BackendError> {
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(" FROM ")
        .ident(model.name());
    push_where(&mut b, model, &[id_filter(model.key_column(), ids)], scope)?;
    Ok(b.finish())
}

/// The rows of `child` whose foreign key `fk` is one of `parents`, within
/// `scope` and `filters`: the first `limit` of each parent by id, in no
/// particular order (sorting them is left to the caller: in SQLite an outer
/// `ORDER BY` costs more than the rows' own sort). The columns are the
/// model's stored columns.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for a filter or column the model lacks.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Field, Key, Model};
/// let m = Model::new("product").field("category_id", Field::integer().references("category"));
/// let q = sql::select_children(Dialect::Sqlite, &m, "category_id", &[Key::Int(1)], &[], None, 20)?;
/// assert_eq!(
///     q.text,
///     "SELECT \"id\", \"category_id\" FROM (SELECT \"id\", \"category_id\", ROW_NUMBER() \
///      OVER (PARTITION BY \"category_id\" ORDER BY \"id\") AS \"lightapi_n\" FROM \"product\" \
///      WHERE \"category_id\" IN (?)) \"lightapi_c\" WHERE \"lightapi_n\" <= ?"
/// );
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn select_children(
    d: Dialect,
    child: &Model,
    fk: &str,
    parents: &[Key],
    filters: &[Filter],
    scope: Option<&Scope>,
    limit: u64,
) -> Result<Sql, BackendError> {
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(child)
        .push(" FROM (SELECT ")
        .column_list(child)
        .push(", ROW_NUMBER() OVER (PARTITION BY ")
        .ident(fk)
        .push(" ORDER BY ")
        .ident(child.key_column())
        .push(") AS ")
        .ident(ROW_NUMBER)
        .push(" FROM ")
        .ident(child.name());
    let mut all = Vec::with_capacity(filters.len() + 1);
    all.push(id_filter(fk, parents));
    all.extend_from_slice(filters);
    push_where(&mut b, child, &all, scope)?;
    // No `AS` before a table alias: Oracle has none.
    b.push(") ")
        .ident("lightapi_c")
        .push(" WHERE ")
        .ident(ROW_NUMBER)
        .push(" <= ")
        .param(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    Ok(b.finish())
}

/// How many rows of `child` each of `parents` has through `fk`, within
/// `scope` and `filters`: rows of (parent id, count), parents without
/// children left out.
///
/// # Errors
///
/// As [`select_children`].
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::Dialect;
/// use lightapi::model::{Field, Key, Model};
/// let m = Model::new("product").field("category_id", Field::integer().references("category"));
/// let q = sql::count_children(Dialect::Mysql, &m, "category_id", &[Key::Int(1), Key::Int(2)], &[], None)?;
/// assert_eq!(
///     q.text,
///     "SELECT `category_id`, COUNT(*) FROM `product` WHERE `category_id` IN (?, ?) \
///      GROUP BY `category_id`"
/// );
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn count_children(
    d: Dialect,
    child: &Model,
    fk: &str,
    parents: &[Key],
    filters: &[Filter],
    scope: Option<&Scope>,
) -> Result<Sql, BackendError> {
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .ident(fk)
        .push(", COUNT(*) FROM ")
        .ident(child.name());
    let mut all = Vec::with_capacity(filters.len() + 1);
    all.push(id_filter(fk, parents));
    all.extend_from_slice(filters);
    push_where(&mut b, child, &all, scope)?;
    b.push(" GROUP BY ").ident(fk);
    Ok(b.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn product() -> Model {
        Model::new("product")
            .field("price", Field::float())
            .field("category_id", Field::integer().references("category"))
            .field("owner", Field::text())
            .scope("owner", "sub")
    }

    fn scope() -> Scope {
        Scope {
            column: "owner".into(),
            value: Value::Text("u1".into()),
        }
    }

    fn cheap() -> Vec<Filter> {
        vec![Filter {
            field: "price".into(),
            op: FilterOp::Gte(Value::Float(5.0)),
        }]
    }

    #[test]
    fn select_in_binds_every_id_and_the_scope() {
        let m = product();
        let s = scope();
        let q = select_in(
            Dialect::Sqlite,
            &m,
            &[Key::Int(1), Key::Int(2), Key::Int(3)],
            Some(&s),
        )
        .unwrap();
        assert_eq!(
            q.text,
            "SELECT \"id\", \"price\", \"category_id\", \"owner\" FROM \"product\" \
             WHERE \"owner\" = ? AND \"id\" IN (?, ?, ?)"
        );
        assert_eq!(q.params.len(), 4);
        let q = select_in(Dialect::Mysql, &m, &[Key::Int(7)], Some(&s)).unwrap();
        assert_eq!(
            q.text,
            "SELECT `id`, `price`, `category_id`, `owner` FROM `product` \
             WHERE `owner` = ? AND `id` IN (?)"
        );
    }

    #[test]
    fn children_are_numbered_per_parent_on_every_dialect() {
        let m = product();
        let s = scope();
        let q = select_children(
            Dialect::Postgres,
            &m,
            "category_id",
            &[Key::Int(4), Key::Int(9)],
            &cheap(),
            Some(&s),
            3,
        )
        .unwrap();
        assert_eq!(
            q.text,
            "SELECT \"id\", \"price\", \"category_id\", \"owner\" FROM (SELECT \"id\", \"price\", \
             \"category_id\", \"owner\", ROW_NUMBER() OVER (PARTITION BY \"category_id\" ORDER BY \
             \"id\") AS \"lightapi_n\" FROM \"product\" WHERE \"owner\" = $1 AND \"category_id\" \
             IN ($2, $3) AND \"price\" >= $4) \"lightapi_c\" WHERE \"lightapi_n\" <= $5"
        );
        assert_eq!(
            q.params,
            vec![
                Value::Text("u1".into()),
                Value::Integer(4),
                Value::Integer(9),
                Value::Float(5.0),
                Value::Integer(3)
            ]
        );
        let q = select_children(
            Dialect::Mysql,
            &m,
            "category_id",
            &[Key::Int(4)],
            &[],
            None,
            20,
        )
        .unwrap();
        assert_eq!(
            q.text,
            "SELECT `id`, `price`, `category_id`, `owner` FROM (SELECT `id`, `price`, \
             `category_id`, `owner`, ROW_NUMBER() OVER (PARTITION BY `category_id` ORDER BY \
             `id`) AS `lightapi_n` FROM `product` WHERE `category_id` IN (?)) `lightapi_c` \
             WHERE `lightapi_n` <= ?"
        );
    }

    #[test]
    fn children_are_counted_in_one_grouped_statement() {
        let m = product();
        let q = count_children(
            Dialect::Sqlite,
            &m,
            "category_id",
            &[Key::Int(1), Key::Int(2)],
            &cheap(),
            None,
        )
        .unwrap();
        assert_eq!(
            q.text,
            "SELECT \"category_id\", COUNT(*) FROM \"product\" WHERE \"category_id\" IN (?, ?) \
             AND \"price\" >= ? GROUP BY \"category_id\""
        );
    }

    #[test]
    fn unknown_columns_are_refused() {
        let m = product();
        let bad = vec![Filter {
            field: "nope".into(),
            op: FilterOp::Eq(Value::Integer(1)),
        }];
        assert!(select_children(
            Dialect::Sqlite,
            &m,
            "category_id",
            &[Key::Int(1)],
            &bad,
            None,
            1
        )
        .is_err());
        assert!(count_children(
            Dialect::Sqlite,
            &m,
            "category_id",
            &[Key::Int(1)],
            &bad,
            None
        )
        .is_err());
    }
}
