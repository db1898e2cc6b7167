//! The query string of `GET /collection`: whitelisted filters,
//! search, ordering, field projection and pagination, parsed into a
//! `ListQuery` — never into SQL text.
//!
//! | parameter | meaning |
//! |---|---|
//! | `field=v` | equal (`field__eq=v` too) |
//! | `field__ne`, `__lt`, `__lte`, `__gt`, `__gte` | comparisons |
//! | `field__in=a,b` | one of |
//! | `field__isnull=true\|false` | null or not |
//! | `search=term` | case-insensitive substring over the search fields |
//! | `ordering=a,-b.nullslast` | sort keys (`-` descending; `.nullsfirst` / `.nullslast` place `NULL`s, by default the smallest value); `id` breaks ties |
//! | `fields=a,b` | only these fields in each row |
//! | `page`, `page_size` | page pagination |
//! | `offset` | page pagination from any row (what the `next` link of a page cut short by its byte budget uses) |
//! | `cursor` | keyset pagination (empty: first page) |
//! | `expand=a,a.b`, `embed=c`, `c.field__op=v`, `fields=a.x` | related rows (parsed first, by `crud::relations`) |
//!
//! Values are typed by the field; a bad value, an unknown parameter or a
//! field outside the whitelist is a `400` naming the parameter.

use std::fmt;

use crate::backend::sql::{Filter, FilterOp, Order};
use crate::backend::Value;
use crate::model::{FieldType, Model};

/// The longest `?search=` term, in characters. A substring search scans
/// every candidate row and costs in proportion to the term's length, so a
/// bound on the term bounds each row's cost; longer terms are a `400`.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Which fields a resource lets clients filter, search and order on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryRules {
    /// Fields usable in filters (`id` is always allowed).
    pub filter: Vec<String>,
    /// Text fields `?search=` looks in.
    pub search: Vec<String>,
    /// Fields usable in `?ordering=` (`id` is always allowed).
    pub ordering: Vec<String>,
    /// Ordering when the client gives none (default: `id`).
    pub default_ordering: Vec<Order>,
    /// Query parameters ignored rather than refused (cache busters such
    /// as `_`).
    pub ignored: Vec<String>,
}

impl QueryRules {
    /// Checks the rules against `model` at start-up, so that a mistake in
    /// them is reported then, naming the field, and never blamed on a
    /// client's request.
    ///
    /// # Errors
    ///
    /// What is wrong, naming the rule and the field.
    pub fn check(&self, model: &Model) -> Result<(), String> {
        let usable = |rule: &str, name: &str, text_only: bool| -> Result<(), String> {
            if name == model.key_column() && model.key_field().is_none() && !text_only {
                return Ok(());
            }
            let Some(field) = model.field_named(name) else {
                return Err(format!("{rule} `{name}` is not a field of the model"));
            };
            if field.is_write_only() {
                return Err(format!(
                    "{rule} `{name}` is write-only: clients may not see its values"
                ));
            }
            match field.field_type() {
                FieldType::Json => Err(format!("{rule} `{name}` is a JSON field")),
                FieldType::Text => Ok(()),
                _ if text_only => Err(format!("{rule} `{name}` is not a text field")),
                _ => Ok(()),
            }
        };
        for f in &self.filter {
            usable("filter field", f, false)?;
        }
        for f in &self.search {
            usable("search field", f, true)?;
        }
        for f in &self.ordering {
            usable("ordering field", f, false)?;
        }
        for o in &self.default_ordering {
            usable("default ordering key", &o.field, false)?;
        }
        for name in &self.ignored {
            let taken = RESERVED.contains(&name.as_str())
                || name == model.key_column()
                || self.filter.iter().any(|f| {
                    name == f
                        || name
                            .strip_prefix(f.as_str())
                            .is_some_and(|r| r.starts_with("__"))
                });
            if taken || name.is_empty() {
                return Err(format!(
                    "ignored parameter `{name}` is a query parameter the resource uses"
                ));
            }
        }
        Ok(())
    }
}

/// How the client asked to page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// `?page=&page_size=`.
    Page {
        /// 1-based page number.
        page: u64,
        /// Rows per page.
        size: u64,
    },
    /// `?offset=&page_size=`: a page starting at any row.
    Offset {
        /// Rows skipped before the page.
        offset: u64,
        /// Rows per page.
        size: u64,
    },
    /// `?cursor=` (`None`: the first page).
    Cursor {
        /// The opaque cursor as sent.
        token: Option<String>,
        /// Rows per page.
        size: u64,
    },
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// Filters, combined with `AND`.
    pub filters: Vec<Filter>,
    /// Ordering keys (without the `id` tiebreak).
    pub order: Vec<Order>,
    /// Requested fields, if projected.
    pub fields: Option<Vec<String>>,
    /// Pagination.
    pub paging: Paging,
}

/// A query parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParamError {
    /// The parameter as sent.
    pub param: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for QueryParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query parameter `{}`: {}", self.param, self.message)
    }
}

impl std::error::Error for QueryParamError {}

/// Most values one `__in` filter may list.
pub const MAX_IN_VALUES: usize = 100;

/// The largest page number accepted when pages hold at most `max_size`
/// rows: the offset of any page stays within `i64`, and the number itself
/// within what a JavaScript client reads exactly (2^53 − 1), so the bound
/// `/openapi.json` states is exact.
///
/// ```
/// use lightapi::__private::crud::query::{max_page, MAX_EXACT_INTEGER};
/// assert_eq!(max_page(1), MAX_EXACT_INTEGER);
/// assert_eq!(max_page(200_000), i64::MAX as u64 / 200_000);
/// ```
pub fn max_page(max_size: u64) -> u64 {
    (i64::MAX as u64 / max_size.max(1)).min(MAX_EXACT_INTEGER)
}

/// The largest integer an IEEE double (a JavaScript number) holds exactly.
pub const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;

/// The largest `offset` accepted: within `i64`, and read exactly by a
/// JavaScript client, as `/openapi.json` states.
pub const MAX_OFFSET: u64 = MAX_EXACT_INTEGER;

const RESERVED: [&str; 7] = [
    "page",
    "page_size",
    "offset",
    "cursor",
    "ordering",
    "search",
    "fields",
];

/// Parses the query parameters of a list request.
///
/// # Errors
/// The first parameter that is unknown, outside the whitelist, repeated
/// (for the reserved ones), or has a value of the wrong type.
///
/// ```
/// use lightapi::__private::crud::query::{parse_list_query, QueryRules};
/// use lightapi::model::{Field, Model};
/// let m = Model::new("item").field("price", Field::float()).field("name", Field::text());
/// let rules = QueryRules { filter: vec!["price".into()], ..Default::default() };
/// let q = vec![("price__gte".to_string(), "10".to_string())];
/// assert_eq!(parse_list_query(&m, &rules, &q, 50, 1000).unwrap().filters.len(), 1);
/// let bad = vec![("name".to_string(), "x".to_string())];
/// assert!(parse_list_query(&m, &rules, &bad, 50, 1000).is_err());
/// ```
pub fn parse_list_query(
    model: &Model,
    rules: &QueryRules,
    params: &[(String, String)],
    default_size: u64,
    max_size: u64,
) -> Result<ListRequest, QueryParamError> {
    let err = |param: &str, message: String| QueryParamError {
        param: param.to_string(),
        message,
    };
    for r in RESERVED {
        if params.iter().filter(|(n, _)| n == r).count() > 1 {
            return Err(err(r, "given more than once".into()));
        }
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let positive = |name: &str, v: &str| -> Result<u64, QueryParamError> {
        crate::model::integer_text(v)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| err(name, "must be a positive integer".into()))
    };
    let size = match get("page_size") {
        None => default_size,
        Some(v) => {
            let n = positive("page_size", v)?;
            if n > max_size {
                return Err(err("page_size", format!("must be at most {max_size}")));
            }
            n
        }
    };
    let paging = match (get("page"), get("offset"), get("cursor")) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(err(
                "cursor",
                "cannot be combined with `page` or `offset`".into(),
            ));
        }
        (Some(_), Some(_), None) => {
            return Err(err("offset", "cannot be combined with `page`".into()));
        }
        (None, None, Some(token)) => Paging::Cursor {
            token: (!token.is_empty()).then(|| token.to_string()),
            size,
        },
        (Some(p), None, None) => {
            let page = positive("page", p)?;
            let most = max_page(max_size);
            if page > most {
                return Err(err("page", format!("must be at most {most}")));
            }
            Paging::Page { page, size }
        }
        (None, Some(o), None) => {
            let offset = crate::model::integer_text(o)
                .ok()
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n <= MAX_OFFSET)
                .ok_or_else(|| {
                    err(
                        "offset",
                        format!("must be a whole number from 0 to {MAX_OFFSET}"),
                    )
                })?;
            Paging::Offset { offset, size }
        }
        (None, None, None) => Paging::Page { page: 1, size },
    };
    let mut filters = Vec::new();
    for (name, value) in params {
        if RESERVED.contains(&name.as_str()) || rules.ignored.iter().any(|i| i == name) {
            continue;
        }
        if let Some(filter) = parse_filter(model, rules, name, value).map_err(|m| err(name, m))? {
            filters.push(filter);
        }
    }
    if let Some(term) = get("search") {
        if rules.search.is_empty() {
            return Err(err("search", "this resource has no search fields".into()));
        }
        if term.chars().count() > MAX_SEARCH_CHARS {
            return Err(err(
                "search",
                format!("a search term is at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        if !term.is_empty() {
            let alternatives = rules
                .search
                .iter()
                .map(|f| Filter {
                    field: f.clone(),
                    op: FilterOp::Contains(term.to_string()),
                })
                .collect();
            filters.push(Filter {
                field: String::new(),
                op: FilterOp::Any(alternatives),
            });
        }
    }
    // An empty `ordering=` or `fields=` is a selection a client cleared:
    // the defaults, as when the parameter is absent.
    let order = match get("ordering").filter(|v| !v.is_empty()) {
        None => rules.default_ordering.clone(),
        Some(spec) => {
            parse_ordering(model.key_column(), rules, spec).map_err(|m| err("ordering", m))?
        }
    };
    let fields = match get("fields").filter(|v| !v.is_empty()) {
        None => None,
        Some(list) => Some(parse_fields(model, list).map_err(|m| err("fields", m))?),
    };
    Ok(ListRequest {
        filters,
        order,
        fields,
        paging,
    })
}

/// One filter parameter; `None` for an empty `__in` list of a type other
/// than text, a selection a client cleared (for text, `x__in=` is the one
/// empty string).
pub(crate) fn parse_filter(
    model: &Model,
    rules: &QueryRules,
    name: &str,
    value: &str,
) -> Result<Option<Filter>, String> {
    let (field, op) = match name.rsplit_once("__") {
        Some((f, op)) if !f.is_empty() => (f, op),
        _ => (name, "eq"),
    };
    let kind = if field == model.key_column() {
        model.key_type()
    } else if rules.filter.iter().any(|f| f == field) {
        match model.field_named(field) {
            Some(f) if !f.is_write_only() => f.field_type(),
            _ => return Err("is not a filterable field".into()),
        }
    } else {
        return Err("is not a known parameter or filterable field".into());
    };
    if kind == FieldType::Json {
        return Err("JSON fields cannot be filtered".into());
    }
    let typed = |text: &str| -> Result<Value, String> {
        match model.field_named(field) {
            Some(f) => f.parse_text(text),
            None => crate::model::integer_text(text).map(Value::Integer),
        }
    };
    let op = match op {
        "eq" => FilterOp::Eq(typed(value)?),
        "ne" => FilterOp::Ne(typed(value)?),
        "lt" => FilterOp::Lt(typed(value)?),
        "lte" => FilterOp::Lte(typed(value)?),
        "gt" => FilterOp::Gt(typed(value)?),
        "gte" => FilterOp::Gte(typed(value)?),
        "in" if value.is_empty() && kind != FieldType::Text => return Ok(None),
        "in" => {
            let items: Vec<&str> = value.split(',').collect();
            if items.len() > MAX_IN_VALUES {
                return Err(format!("at most {MAX_IN_VALUES} values"));
            }
            FilterOp::In(items.into_iter().map(typed).collect::<Result<_, _>>()?)
        }
        "isnull" => match value {
            "true" | "1" => FilterOp::IsNull(true),
            "false" | "0" => FilterOp::IsNull(false),
            _ => return Err("expected true or false".into()),
        },
        other => {
            return Err(format!(
                "unknown operator `{other}` (use eq, ne, lt, lte, gt, gte, in, isnull)"
            ))
        }
    };
    Ok(Some(Filter {
        field: field.to_string(),
        op,
    }))
}

/// `key_column` is the model's key, always orderable.
fn parse_ordering(key_column: &str, rules: &QueryRules, spec: &str) -> Result<Vec<Order>, String> {
    let mut out: Vec<Order> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for key in spec.split(',') {
        let order = Order::parse(key)?;
        let unsigned = key.strip_prefix('-').unwrap_or(key);
        let field = unsigned.split_once('.').map_or(unsigned, |(f, _)| f);
        if field != key_column && !rules.ordering.iter().any(|f| f == field) {
            return Err(format!("cannot order by `{field}`"));
        }
        if seen.contains(&field) {
            return Err(format!("`{field}` given twice"));
        }
        // The key is unique: keys after it are checked but change nothing.
        if !seen.contains(&key_column) {
            out.push(order);
        }
        seen.push(field);
    }
    Ok(out)
}

fn parse_fields(model: &Model, list: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for f in list.split(',') {
        if f.is_empty() {
            return Err("has an empty field name".into());
        }
        let readable = f == model.key_column()
            || (model.is_versioned() && f == "version")
            || model.field_named(f).is_some_and(|x| !x.is_write_only());
        if !readable {
            return Err(format!("`{f}` is not a readable field"));
        }
        if !out.iter().any(|o| o == f) {
            out.push(f.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    fn model() -> Model {
        Model::new("item")
            .field("name", Field::text())
            .field("price", Field::float())
            .field("qty", Field::integer().nullable())
            .field("secret", Field::text().write_only())
            .field("meta", Field::json().nullable())
    }

    fn rules() -> QueryRules {
        QueryRules {
            filter: vec![
                "name".into(),
                "price".into(),
                "qty".into(),
                "secret".into(),
                "meta".into(),
            ],
            search: vec!["name".into()],
            ordering: vec!["name".into(), "price".into()],
            default_ordering: vec![],
            ignored: vec![],
        }
    }

    /// [`rules`] without the entries only a request-time test wants (a
    /// write-only and a JSON filter field, which start-up refuses).
    fn valid_rules() -> QueryRules {
        let mut r = rules();
        r.filter.retain(|f| f != "secret" && f != "meta");
        r
    }

    fn parse_with(
        model: &Model,
        rules: &QueryRules,
        q: &[(&str, &str)],
    ) -> Result<ListRequest, QueryParamError> {
        let q: Vec<(String, String)> = q
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        parse_list_query(model, rules, &q, 10, 100)
    }

    fn parse(q: &[(&str, &str)]) -> Result<ListRequest, QueryParamError> {
        let q: Vec<(String, String)> = q
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        parse_list_query(&model(), &rules(), &q, 10, 100)
    }

    #[test]
    fn operators_are_typed() {
        let q = parse(&[
            ("price__gte", "1.5"),
            ("qty__in", "1,2,3"),
            ("qty__isnull", "false"),
            ("name", "x"),
        ])
        .unwrap();
        assert_eq!(q.filters.len(), 4);
        assert_eq!(q.filters[0].op, FilterOp::Gte(Value::Float(1.5)));
        assert_eq!(
            q.filters[1].op,
            FilterOp::In(vec![
                Value::Integer(1),
                Value::Integer(2),
                Value::Integer(3)
            ])
        );
        for bad in [
            ("price__gte", "cheap"),
            ("qty", "1.5"),
            ("qty__in", "1,x"),
            ("qty__isnull", "maybe"),
            ("qty__like", "1"),
            ("nope", "1"),
            ("secret", "x"),
            ("meta", "{}"),
            ("id", "abc"),
        ] {
            let e = parse(&[bad]).unwrap_err();
            assert_eq!(e.param, bad.0, "{bad:?}");
        }
    }

    #[test]
    fn ignored_parameters_are_skipped() {
        let model = model();
        let mut rules = rules();
        assert!(parse_with(&model, &rules, &[("_", "123")]).is_err());
        rules.ignored = vec!["_".into()];
        let q = parse_with(&model, &rules, &[("_", "123")]).unwrap();
        assert!(q.filters.is_empty());
    }

    #[test]
    fn rules_are_checked_against_the_model() {
        let model = model();
        assert_eq!(valid_rules().check(&model), Ok(()));
        let bad = |change: fn(&mut QueryRules), says: &str| {
            let mut r = valid_rules();
            change(&mut r);
            let e = r.check(&model).unwrap_err();
            assert!(e.contains(says), "{e}");
        };
        bad(
            |r| r.filter.push("nope".into()),
            "filter field `nope` is not a field",
        );
        bad(|r| r.filter.push("secret".into()), "`secret` is write-only");
        bad(
            |r| r.search.push("price".into()),
            "search field `price` is not a text field",
        );
        bad(|r| r.ordering.push("meta".into()), "`meta` is a JSON field");
        bad(
            |r| {
                r.default_ordering = vec![Order {
                    field: "nope".into(),
                    descending: true,
                    nulls: Default::default(),
                }]
            },
            "default ordering key `nope`",
        );
        bad(
            |r| r.ignored.push("page".into()),
            "ignored parameter `page`",
        );
        bad(
            |r| r.ignored.push("price__gte".into()),
            "ignored parameter `price__gte`",
        );
    }

    #[test]
    fn ordering_search_fields_paging() {
        let q = parse(&[
            ("ordering", "-price,name"),
            ("search", "a%b"),
            ("fields", "id,name"),
            ("page", "2"),
            ("page_size", "5"),
        ])
        .unwrap();
        assert_eq!(q.order.len(), 2);
        assert!(q.order[0].descending);
        assert_eq!(q.fields, Some(vec!["id".into(), "name".into()]));
        assert_eq!(q.paging, Paging::Page { page: 2, size: 5 });
        assert!(matches!(q.filters[0].op, FilterOp::Any(_)));
        assert!(parse(&[("search", &"é".repeat(MAX_SEARCH_CHARS))]).is_ok());
        let e = parse(&[("search", &"é".repeat(MAX_SEARCH_CHARS + 1))]).unwrap_err();
        assert_eq!(e.param, "search");
        assert!(parse(&[("ordering", "qty")]).is_err());
        let q = parse(&[("ordering", "-price.nullslast,name.nullsfirst")]).unwrap();
        assert_eq!(q.order[0].to_string(), "-price.nullslast");
        assert_eq!(q.order[1].nulls, crate::backend::sql::Nulls::First);
        for bad in [
            "price.nullsmiddle",
            "price.nullslast,-price",
            "--price",
            "qty.nullslast",
        ] {
            assert!(parse(&[("ordering", bad)]).is_err(), "{bad}");
        }
        // An empty list names no key (the OpenAPI schema says at least one).
        // Cleared selections are the defaults.
        let cleared = parse(&[("ordering", ""), ("fields", ""), ("qty__in", "")]).unwrap();
        assert!(cleared.order.is_empty() && cleared.fields.is_none());
        assert!(cleared.filters.is_empty());
        assert!(parse(&[("ordering", ",")]).is_err());
        assert!(parse(&[("fields", "secret")]).is_err());
        assert!(parse(&[("page_size", "101")]).is_err());
        assert!(parse(&[("page", "0")]).is_err());
        // Integers in any JSON number form that is exactly one, as the
        // OpenAPI document's `integer` allows.
        let q = parse(&[("id", "1.0"), ("qty__lte", "2e1"), ("page", "3.0")]).unwrap();
        assert_eq!(q.filters[0].op, FilterOp::Eq(Value::Integer(1)));
        assert_eq!(q.filters[1].op, FilterOp::Lte(Value::Integer(20)));
        assert_eq!(q.paging, Paging::Page { page: 3, size: 10 });
        for bad in [
            ("id", "1.5"),
            ("qty", " 1"),
            ("page", "1e-1"),
            ("page", "-1.0"),
        ] {
            assert!(parse(&[bad]).is_err(), "{bad:?}");
        }
        assert!(parse(&[("page", "1"), ("page", "2")]).is_err());
        assert!(parse(&[("page", "1"), ("cursor", "")]).is_err());
        assert!(parse(&[("offset", "1"), ("cursor", "")]).is_err());
        assert!(parse(&[("offset", "1"), ("page", "1")]).is_err());
        assert!(parse(&[("offset", "-1")]).is_err());
        assert!(parse(&[("offset", "1"), ("offset", "2")]).is_err());
        assert_eq!(
            parse(&[("offset", "0"), ("page_size", "3")])
                .unwrap()
                .paging,
            Paging::Offset { offset: 0, size: 3 }
        );
        assert_eq!(
            parse(&[("offset", "9007199254740991")]).unwrap().paging,
            Paging::Offset {
                offset: MAX_OFFSET,
                size: 10
            }
        );
        assert!(parse(&[("offset", "9007199254740992")]).is_err());
        assert!(parse(&[("offset", "9223372036854775808")]).is_err());
        assert_eq!(
            parse(&[("cursor", "")]).unwrap().paging,
            Paging::Cursor {
                token: None,
                size: 10
            }
        );
    }
}
