//! Statements on many rows: [`select_list`] (a page of a [`ListQuery`]: its
//! filters, its ordering with the `id` tiebreak, its keyset position and
//! its limit and offset) and [`count`].

use super::columns::check_column;
use super::{Builder, Dialect, Filter, FilterOp, Keyset, ListQuery, Order, Scope, Sql};
use crate::backend::{BackendError, Value};
use crate::model::{Field, FieldType, Model};

fn field_nullable(model: &Model, name: &str) -> bool {
    model.field_named(name).is_some_and(Field::is_nullable)
}

/// Whether `column` holds decimals that MySQL must compare exactly: it
/// compares a DECIMAL column with a string as doubles, so such a
/// parameter is cast to a decimal.
fn cast_decimal(d: Dialect, model: &Model, column: &str) -> bool {
    d == Dialect::Mysql
        && model
            .field_named(column)
            .is_some_and(|f| f.field_type() == FieldType::Decimal)
}

/// A parameter, cast to an exact decimal when `exact`.
fn push_value(b: &mut Builder, exact: bool, v: &Value) {
    if exact {
        b.push("CAST(").param(v.clone()).push(" AS DECIMAL(65,30))");
    } else {
        b.param(v.clone());
    }
}

fn push_filter(b: &mut Builder, model: &Model, filter: &Filter) -> Result<(), BackendError> {
    if let FilterOp::Any(alternatives) = &filter.op {
        if alternatives.is_empty() {
            b.push("1 = 0");
            return Ok(());
        }
        b.push("(");
        for (i, f) in alternatives.iter().enumerate() {
            if i > 0 {
                b.push(" OR ");
            }
            push_filter(b, model, f)?;
        }
        b.push(")");
        return Ok(());
    }
    let field = check_column(model, &filter.field)?;
    if field.is_some_and(Field::is_write_only) {
        return Err(BackendError::InvalidQuery {
            message: format!("cannot filter on write-only field `{}`", filter.field),
        });
    }
    let kind = field.map_or(FieldType::Integer, Field::field_type);
    let exact = cast_decimal(b.dialect, model, &filter.field);
    let value = |b: &mut Builder, v: &Value| push_value(b, exact, v);
    let compare = |b: &mut Builder, op: &str, v: &Value| {
        b.ident(&filter.field).push(op);
        value(b, v);
    };
    match &filter.op {
        FilterOp::Eq(v) => compare(b, " = ", v),
        FilterOp::Ne(v) => compare(b, " <> ", v),
        FilterOp::Lt(v) => compare(b, " < ", v),
        FilterOp::Lte(v) => compare(b, " <= ", v),
        FilterOp::Gt(v) => compare(b, " > ", v),
        FilterOp::Gte(v) => compare(b, " >= ", v),
        FilterOp::In(values) if values.is_empty() => {
            b.push("1 = 0");
        }
        FilterOp::In(values) => {
            b.ident(&filter.field).push(" IN (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                value(b, v);
            }
            b.push(")");
        }
        FilterOp::IsNull(true) => {
            b.ident(&filter.field).push(" IS NULL");
        }
        FilterOp::IsNull(false) => {
            b.ident(&filter.field).push(" IS NOT NULL");
        }
        FilterOp::Contains(needle) => {
            if kind != FieldType::Text {
                return Err(BackendError::InvalidQuery {
                    message: format!("`{}` is not a text field", filter.field),
                });
            }
            let mut pattern = String::with_capacity(needle.len() + 2);
            pattern.push('%');
            for c in needle.chars() {
                if matches!(c, '!' | '%' | '_' | '[') {
                    pattern.push('!');
                }
                pattern.push(c);
            }
            pattern.push('%');
            b.push("LOWER(")
                .ident(&filter.field)
                .push(") LIKE LOWER(")
                .param(Value::Text(pattern))
                .push(") ESCAPE '!'");
        }
        FilterOp::Any(_) => {}
    }
    Ok(())
}

pub(super) fn push_where(
    b: &mut Builder,
    model: &Model,
    filters: &[Filter],
    scope: Option<&Scope>,
) -> Result<bool, BackendError> {
    let mut first = true;
    let mut and = |b: &mut Builder| {
        b.push(if first { " WHERE " } else { " AND " });
        first = false;
    };
    if let Some(s) = scope {
        and(b);
        b.ident(&s.column).push(" = ").param(s.value.clone());
    }
    for f in filters {
        and(b);
        push_filter(b, model, f)?;
    }
    Ok(!first)
}

/// One ordering key as the SQL needs it.
#[derive(Clone, Copy)]
struct Key<'q> {
    column: &'q str,
    desc: bool,
    nullable: bool,
    /// `NULL` compares as smaller than every value.
    nulls_smallest: bool,
    /// Compared as an exact decimal (see [`cast_decimal`]).
    exact: bool,
}

impl Key<'_> {
    /// Rows whose value is `NULL` come before the others in this key's
    /// direction.
    fn nulls_come_first(&self) -> bool {
        self.nulls_smallest != self.desc
    }
}

/// The ordering keys with the `id` tiebreak, checked against the model.
fn ordering<'q>(
    d: Dialect,
    model: &'q Model,
    order: &'q [Order],
) -> Result<Vec<Key<'q>>, BackendError> {
    let mut keys = Vec::with_capacity(order.len() + 1);
    for o in order {
        if let Some(f) = check_column(model, &o.field)? {
            if f.field_type() == FieldType::Json || f.is_write_only() {
                return Err(BackendError::InvalidQuery {
                    message: format!("cannot order by `{}`", o.field),
                });
            }
        }
        keys.push(Key {
            column: o.field.as_str(),
            desc: o.descending,
            nullable: field_nullable(model, &o.field),
            nulls_smallest: o.nulls_smallest(),
            exact: cast_decimal(d, model, &o.field),
        });
    }
    let key_column = model.key_column();
    if !order.iter().any(|o| o.field == key_column) {
        keys.push(Key {
            column: key_column,
            desc: false,
            nullable: false,
            nulls_smallest: true,
            exact: false,
        });
    }
    Ok(keys)
}

/// `0` for the rows that sort first, `1` for the others, ascending.
fn push_null_rank(b: &mut Builder, key: &Key<'_>) {
    let (null, other) = if key.nulls_come_first() {
        ("0", "1")
    } else {
        ("1", "0")
    };
    b.push("CASE WHEN ")
        .ident(key.column)
        .push(" IS NULL THEN ")
        .push(null)
        .push(" ELSE ")
        .push(other)
        .push(" END");
}

/// The key's column sorts strictly after `v` in the key's order.
fn push_after(b: &mut Builder, key: &Key<'_>, v: &Value) {
    let column = key.column;
    if v.is_null() {
        if key.nulls_come_first() {
            b.ident(column).push(" IS NOT NULL");
        } else {
            b.push("1 = 0");
        }
        return;
    }
    let cmp = if key.desc { " < " } else { " > " };
    if key.nullable && !key.nulls_come_first() {
        b.push("(").ident(column).push(cmp);
        push_value(b, key.exact, v);
        b.push(" OR ").ident(column).push(" IS NULL)");
    } else {
        b.ident(column).push(cmp);
        push_value(b, key.exact, v);
    }
}

fn push_keyset(
    b: &mut Builder,
    keys: &[Key<'_>],
    order_len: usize,
    after: &Keyset,
) -> Result<(), BackendError> {
    let mut values: Vec<Value> = after.values.clone();
    if values.len() != order_len {
        return Err(BackendError::InvalidQuery {
            message: "the keyset position does not match the ordering".to_owned(),
        });
    }
    if keys.len() > order_len {
        values.push(after.id.to_value());
    }
    if values.len() != keys.len() {
        return Err(BackendError::InvalidQuery {
            message: "the keyset position does not match the ordering".to_owned(),
        });
    }
    // A redundant bound on the first key lets every database seek an index
    // on it instead of scanning: the expansion below alone is an `OR`.
    if let (Some(key), Some(v)) = (keys.first(), values.first()) {
        if !key.nullable && keys.len() > 1 && !v.is_null() {
            b.ident(key.column)
                .push(if key.desc { " <= " } else { " >= " });
            push_value(b, key.exact, v);
            b.push(" AND ");
        }
    }
    b.push("(");
    for k in 0..keys.len() {
        if k > 0 {
            b.push(" OR ");
        }
        b.push("(");
        for (key, v) in keys.iter().zip(&values).take(k) {
            if v.is_null() {
                b.ident(key.column).push(" IS NULL AND ");
            } else {
                b.ident(key.column).push(" = ");
                push_value(b, key.exact, v);
                b.push(" AND ");
            }
        }
        if let (Some(key), Some(v)) = (keys.get(k), values.get(k)) {
            push_after(b, key, v);
        }
        b.push(")");
    }
    b.push(")");
    Ok(())
}

/// `SELECT` of a page of rows ([`select_columns`](super::select_columns)
/// order) matching `query` and `scope`.
///
/// # Errors
///
/// [`BackendError::InvalidQuery`] for an unknown field, a `Contains` on a
/// non-text field, an ordering on a JSON or write-only field, or a keyset
/// whose length does not match the ordering.
///
/// ```
/// use lightapi::__private::backend::sql::{select_list, ListQuery};
/// use lightapi::backend::Dialect;
/// use lightapi::model::Model;
/// let q = ListQuery { limit: Some(10), offset: 20, ..ListQuery::default() };
/// let s = select_list(Dialect::Oracle, &Model::new("t"), &q, None)?;
/// assert_eq!(s.text, r#"SELECT "id" FROM "t" ORDER BY "id" OFFSET :1 ROWS FETCH NEXT :2 ROWS ONLY"#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn select_list(
    d: Dialect,
    model: &Model,
    query: &ListQuery,
    scope: Option<&Scope>,
) -> Result<Sql, BackendError> {
    let keys = ordering(d, model, &query.order)?;
    let mut b = Builder::new(d);
    b.push("SELECT ")
        .column_list(model)
        .push(" FROM ")
        .ident(model.name());
    let has_where = push_where(&mut b, model, &query.filters, scope)?;
    if let Some(after) = &query.after {
        b.push(if has_where { " AND " } else { " WHERE " });
        push_keyset(&mut b, &keys, query.order.len(), after)?;
    }
    b.push(" ORDER BY ");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        if key.nullable {
            push_null_rank(&mut b, key);
            b.push(", ");
        }
        b.ident(key.column)
            .push(if key.desc { " DESC" } else { "" });
    }
    let clamp = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    match d {
        Dialect::Sqlite => {
            if query.limit.is_some() || query.offset > 0 {
                b.push(" LIMIT ")
                    .param(query.limit.map_or(Value::Integer(-1), clamp));
            }
            if query.offset > 0 {
                b.push(" OFFSET ").param(clamp(query.offset));
            }
        }
        Dialect::Postgres | Dialect::Mysql => {
            match query.limit {
                Some(n) => {
                    b.push(" LIMIT ").param(clamp(n));
                }
                None if d == Dialect::Mysql && query.offset > 0 => {
                    b.push(" LIMIT 18446744073709551615");
                }
                None => {}
            }
            if query.offset > 0 {
                b.push(" OFFSET ").param(clamp(query.offset));
            }
        }
        Dialect::MsSql | Dialect::Oracle => {
            if query.limit.is_some() || query.offset > 0 {
                b.push(" OFFSET ").param(clamp(query.offset)).push(" ROWS");
            }
            if let Some(n) = query.limit {
                b.push(" FETCH NEXT ").param(clamp(n)).push(" ROWS ONLY");
            }
        }
    }
    Ok(b.finish())
}

/// `SELECT COUNT(*)` of the rows matching `filters` and `scope` (for page
/// pagination's `count`).
///
/// # Errors
///
/// As [`select_list`] for the filters.
///
/// ```
/// use lightapi::__private::backend::sql;
/// use lightapi::backend::{Dialect};
/// use lightapi::model::Model;
/// let q = sql::count(Dialect::Sqlite, &Model::new("t"), &[], None)?;
/// assert_eq!(q.text, r#"SELECT COUNT(*) FROM "t""#);
/// # Ok::<(), lightapi::backend::BackendError>(())
/// ```
pub fn count(
    d: Dialect,
    model: &Model,
    filters: &[Filter],
    scope: Option<&Scope>,
) -> Result<Sql, BackendError> {
    let mut b = Builder::new(d);
    b.push("SELECT COUNT(*) FROM ").ident(model.name());
    push_where(&mut b, model, filters, scope)?;
    Ok(b.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::fixtures::{person, text, ALL};
    use crate::backend::sql::select_columns;
    use crate::model::Field;

    #[test]
    fn list_with_filters_order_and_pages() {
        let m = person();
        let q = ListQuery {
            filters: vec![
                Filter {
                    field: "age".into(),
                    op: FilterOp::Gte(Value::Integer(18)),
                },
                Filter {
                    field: "name".into(),
                    op: FilterOp::Contains("50%_off!".into()),
                },
                Filter {
                    field: "id".into(),
                    op: FilterOp::In(vec![Value::Integer(1), Value::Integer(2)]),
                },
                Filter {
                    field: "born".into(),
                    op: FilterOp::IsNull(false),
                },
            ],
            order: vec![Order {
                field: "name".into(),
                descending: true,
                nulls: Default::default(),
            }],
            limit: Some(10),
            offset: 20,
            after: None,
        };
        let scope = Scope {
            column: "email".into(),
            value: text("me"),
        };
        let where_ = |p: [&str; 5]| {
            format!(
                " WHERE {e} = {} AND {a} >= {} AND LOWER({n}) LIKE LOWER({}) ESCAPE '!' AND {i} IN ({}, {}) AND {b} IS NOT NULL",
                p[0], p[1], p[2], p[3], p[4],
                e = "{e}", a = "{a}", n = "{n}", i = "{i}", b = "{b}"
            )
        };
        let render = |d: Dialect, w: String| {
            w.replace("{e}", &d.quote("email"))
                .replace("{a}", &d.quote("age"))
                .replace("{n}", &d.quote("name"))
                .replace("{i}", &d.quote("id"))
                .replace("{b}", &d.quote("born"))
        };
        let cols = |d: Dialect| {
            select_columns(&m)
                .into_iter()
                .map(|(c, _)| d.quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let tails = [
            (Dialect::Sqlite, ["?"; 5], " LIMIT ? OFFSET ?"),
            (
                Dialect::Postgres,
                ["$1", "$2", "$3", "$4", "$5"],
                " LIMIT $6 OFFSET $7",
            ),
            (Dialect::Mysql, ["?"; 5], " LIMIT ? OFFSET ?"),
            (
                Dialect::MsSql,
                ["@P1", "@P2", "@P3", "@P4", "@P5"],
                " OFFSET @P6 ROWS FETCH NEXT @P7 ROWS ONLY",
            ),
            (
                Dialect::Oracle,
                [":1", ":2", ":3", ":4", ":5"],
                " OFFSET :6 ROWS FETCH NEXT :7 ROWS ONLY",
            ),
        ];
        for (d, p, tail) in tails {
            let s = select_list(d, &m, &q, Some(&scope)).unwrap();
            let want = format!(
                "SELECT {} FROM {}{} ORDER BY {} DESC, {}{}",
                cols(d),
                d.quote("person"),
                render(d, where_(p)),
                d.quote("name"),
                d.quote("id"),
                tail
            );
            assert_eq!(s.text, want, "{d:?}");
            assert_eq!(s.params[2], text("%50!%!_off!!%"));
            let (limit, offset) = match d {
                Dialect::MsSql | Dialect::Oracle => (&s.params[6], &s.params[5]),
                _ => (&s.params[5], &s.params[6]),
            };
            assert_eq!((limit, offset), (&Value::Integer(10), &Value::Integer(20)));
        }
    }

    #[test]
    fn list_without_limit() {
        let m = Model::new("t");
        let q = ListQuery {
            offset: 5,
            ..ListQuery::default()
        };
        let expected = [
            r#"SELECT "id" FROM "t" ORDER BY "id" LIMIT ? OFFSET ?"#,
            r#"SELECT "id" FROM "t" ORDER BY "id" OFFSET $1"#,
            "SELECT `id` FROM `t` ORDER BY `id` LIMIT 18446744073709551615 OFFSET ?",
            "SELECT [id] FROM [t] ORDER BY [id] OFFSET @P1 ROWS",
            r#"SELECT "id" FROM "t" ORDER BY "id" OFFSET :1 ROWS"#,
        ];
        for (d, want) in ALL.into_iter().zip(expected) {
            assert_eq!(select_list(d, &m, &q, None).unwrap().text, want);
        }
        let all = select_list(Dialect::Sqlite, &m, &ListQuery::default(), None).unwrap();
        assert_eq!(all.text, r#"SELECT "id" FROM "t" ORDER BY "id""#);
        assert!(all.params.is_empty());
    }

    #[test]
    fn mysql_compares_decimals_exactly() {
        let m = Model::new("t").field("price", Field::decimal(19, 2));
        let q = ListQuery {
            filters: vec![Filter {
                field: "price".into(),
                op: FilterOp::Gte(text("1.00")),
            }],
            order: vec![Order::asc("price")],
            after: Some(Keyset {
                values: vec![text("2.00")],
                id: crate::model::Key::Int(7),
            }),
            ..ListQuery::default()
        };
        let s = select_list(Dialect::Mysql, &m, &q, None).unwrap();
        assert_eq!(
            s.text,
            "SELECT `id`, `price` FROM `t` WHERE `price` >= CAST(? AS DECIMAL(65,30)) AND \
             `price` >= CAST(? AS DECIMAL(65,30)) AND ((`price` > CAST(? AS DECIMAL(65,30))) OR \
             (`price` = CAST(? AS DECIMAL(65,30)) AND `id` > ?)) ORDER BY `price`, `id`"
        );
        let pg = select_list(Dialect::Postgres, &m, &q, None).unwrap();
        assert!(!pg.text.contains("CAST"), "{}", pg.text);
    }

    #[test]
    fn empty_in_matches_nothing() {
        let m = Model::new("t");
        let q = ListQuery {
            filters: vec![Filter {
                field: "id".into(),
                op: FilterOp::In(vec![]),
            }],
            ..ListQuery::default()
        };
        let s = select_list(Dialect::MsSql, &m, &q, None).unwrap();
        assert_eq!(s.text, "SELECT [id] FROM [t] WHERE 1 = 0 ORDER BY [id]");
    }

    #[test]
    fn keyset_expands_mixed_directions_and_nulls() {
        let m = Model::new("t")
            .field("a", Field::integer())
            .field("b", Field::text().nullable());
        let order = vec![
            Order {
                field: "a".into(),
                descending: false,
                nulls: Default::default(),
            },
            Order {
                field: "b".into(),
                descending: true,
                nulls: Default::default(),
            },
        ];
        let q = ListQuery {
            order: order.clone(),
            after: Some(Keyset {
                values: vec![Value::Integer(5), text("m")],
                id: crate::model::Key::Int(42),
            }),
            limit: Some(3),
            ..ListQuery::default()
        };
        let s = select_list(Dialect::Postgres, &m, &q, None).unwrap();
        assert_eq!(
            s.text,
            "SELECT \"id\", \"a\", \"b\" FROM \"t\" WHERE \"a\" >= $1 AND ((\"a\" > $2) OR (\"a\" = $3 AND (\"b\" < $4 OR \"b\" IS NULL)) \
             OR (\"a\" = $5 AND \"b\" = $6 AND \"id\" > $7)) \
             ORDER BY \"a\", CASE WHEN \"b\" IS NULL THEN 1 ELSE 0 END, \"b\" DESC, \"id\" LIMIT $8"
        );
        let q = ListQuery {
            order,
            after: Some(Keyset {
                values: vec![Value::Integer(5), Value::Null],
                id: crate::model::Key::Int(42),
            }),
            ..ListQuery::default()
        };
        let s = select_list(Dialect::Sqlite, &m, &q, None).unwrap();
        assert!(s.text.contains(
            "WHERE \"a\" >= ? AND ((\"a\" > ?) OR (\"a\" = ? AND 1 = 0) OR (\"a\" = ? AND \"b\" IS NULL AND \"id\" > ?))"
        ));
        let bad = ListQuery {
            after: Some(Keyset {
                values: vec![Value::Integer(1)],
                id: crate::model::Key::Int(1),
            }),
            ..ListQuery::default()
        };
        assert!(select_list(Dialect::Sqlite, &m, &bad, None).is_err());
    }

    #[test]
    fn nulls_first_or_last_in_either_direction() {
        let m = Model::new("t").field("b", Field::text().nullable());
        // (key, rank of NULL, bound after a value, bound after NULL)
        let cases = [
            ("b", "THEN 0 ELSE 1", "\"b\" > $1", "\"b\" IS NOT NULL"),
            (
                "-b",
                "THEN 1 ELSE 0",
                "(\"b\" < $1 OR \"b\" IS NULL)",
                "1 = 0",
            ),
            (
                "b.nullslast",
                "THEN 1 ELSE 0",
                "(\"b\" > $1 OR \"b\" IS NULL)",
                "1 = 0",
            ),
            (
                "-b.nullsfirst",
                "THEN 0 ELSE 1",
                "\"b\" < $1",
                "\"b\" IS NOT NULL",
            ),
            (
                "b.nullsfirst",
                "THEN 0 ELSE 1",
                "\"b\" > $1",
                "\"b\" IS NOT NULL",
            ),
            (
                "-b.nullslast",
                "THEN 1 ELSE 0",
                "(\"b\" < $1 OR \"b\" IS NULL)",
                "1 = 0",
            ),
        ];
        for (key, rank, after_value, after_null) in cases {
            let order = vec![Order::parse(key).unwrap()];
            let dir = if key.starts_with('-') { " DESC" } else { "" };
            let plain = select_list(
                Dialect::Postgres,
                &m,
                &ListQuery {
                    order: order.clone(),
                    ..ListQuery::default()
                },
                None,
            )
            .unwrap();
            assert!(
                plain.text.ends_with(&format!(
                    "ORDER BY CASE WHEN \"b\" IS NULL {rank} END, \"b\"{dir}, \"id\""
                )),
                "{key}: {}",
                plain.text
            );
            for (v, bound) in [(text("m"), after_value), (Value::Null, after_null)] {
                let q = ListQuery {
                    order: order.clone(),
                    after: Some(Keyset {
                        values: vec![v],
                        id: crate::model::Key::Int(1),
                    }),
                    ..ListQuery::default()
                };
                let s = select_list(Dialect::Postgres, &m, &q, None).unwrap();
                assert!(
                    s.text.contains(&format!("WHERE (({bound}) OR")),
                    "{key}: {}",
                    s.text
                );
            }
            // Reversed, the same comparison in the other direction: the
            // same rows backwards.
            let back = order[0].reversed();
            assert_eq!(back.descending, !order[0].descending);
            assert_eq!(back.nulls_smallest(), order[0].nulls_smallest());
        }
    }

    #[test]
    fn list_rejects_unknown_or_unsuitable_fields() {
        let m = person().field("secret", Field::text().write_only());
        let bad = [
            ListQuery {
                filters: vec![Filter {
                    field: "nope".into(),
                    op: FilterOp::IsNull(true),
                }],
                ..ListQuery::default()
            },
            ListQuery {
                filters: vec![Filter {
                    field: "age".into(),
                    op: FilterOp::Contains("1".into()),
                }],
                ..ListQuery::default()
            },
            ListQuery {
                filters: vec![Filter {
                    field: "secret".into(),
                    op: FilterOp::Eq(text("x")),
                }],
                ..ListQuery::default()
            },
            ListQuery {
                order: vec![Order {
                    field: "extra".into(),
                    descending: false,
                    nulls: Default::default(),
                }],
                ..ListQuery::default()
            },
            ListQuery {
                order: vec![Order {
                    field: "name; DROP TABLE person".into(),
                    descending: false,
                    nulls: Default::default(),
                }],
                ..ListQuery::default()
            },
        ];
        for q in bad {
            assert!(
                matches!(
                    select_list(Dialect::Sqlite, &m, &q, None),
                    Err(BackendError::InvalidQuery { .. })
                ),
                "{q:?}"
            );
        }
    }

    #[test]
    fn count_with_scope() {
        let m = Model::new("t").field("a", Field::integer());
        let scope = Scope {
            column: "a".into(),
            value: Value::Integer(1),
        };
        let c = count(Dialect::Postgres, &m, &[], Some(&scope)).unwrap();
        assert_eq!(c.text, r#"SELECT COUNT(*) FROM "t" WHERE "a" = $1"#);
    }
}
