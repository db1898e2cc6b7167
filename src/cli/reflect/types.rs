//! Pure mappings from what a catalogue states to what a model declares: a
//! column type to a field type (or none: never a guess), and a default's
//! expression to a literal value or to a default the database computes.

use crate::backend::Dialect;
use crate::model::{Field, FieldType};

/// A column type a field can be declared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapped {
    pub(crate) kind: FieldType,
    /// From `varchar(n)` / `char(n)`.
    pub(crate) max_length: Option<usize>,
    /// Precision and scale of a decimal.
    pub(crate) digits: Option<(u32, u32)>,
}

impl Mapped {
    fn of(kind: FieldType) -> Option<Mapped> {
        Some(Mapped {
            kind,
            max_length: None,
            digits: None,
        })
    }

    /// The field of this type, with its length or digits.
    pub(crate) fn field(&self) -> Field {
        let f = base_field(self.kind, self.digits);
        match self.max_length {
            Some(n) if self.kind == FieldType::Text => f.max_length(n),
            _ => f,
        }
    }

    /// The type as the file writes it (`text`, `decimal(10,2)`).
    pub(crate) fn file_name(&self) -> String {
        match (self.kind, self.digits) {
            (FieldType::Decimal, Some((p, s))) => format!("decimal({p},{s})"),
            (k, _) => k.name().to_owned(),
        }
    }
}

/// A field of `kind` (a decimal with `digits`, else `decimal(1,0)`).
pub(crate) fn base_field(kind: FieldType, digits: Option<(u32, u32)>) -> Field {
    match kind {
        FieldType::Integer => Field::integer(),
        FieldType::Float => Field::float(),
        FieldType::Boolean => Field::boolean(),
        FieldType::DateTime => Field::datetime(),
        FieldType::Json => Field::json(),
        FieldType::Uuid => Field::uuid(),
        FieldType::Date => Field::date(),
        FieldType::Decimal => {
            let (p, s) = digits.unwrap_or((1, 0));
            Field::decimal(p, s)
        }
        FieldType::Text => Field::text(),
    }
}

/// `name(a)` or `name(a,b)` → `(name, [a, b])`, lower-cased and trimmed;
/// the text after the parenthesis (`unsigned`, `with time zone`) is kept
/// apart.
fn split_type(reported: &str) -> (String, Vec<u64>, String) {
    let t = reported.trim().to_ascii_lowercase();
    let Some(open) = t.find('(') else {
        return (t, Vec::new(), String::new());
    };
    let Some(close) = t[open..].find(')').map(|i| i + open) else {
        return (t, Vec::new(), String::new());
    };
    let args = t[open + 1..close]
        .split(',')
        .map(|a| a.trim().parse::<u64>().unwrap_or(u64::MAX))
        .collect();
    let rest = t[close + 1..].trim().to_owned();
    (t[..open].trim().to_owned(), args, rest)
}

fn decimal(args: &[u64]) -> Option<Mapped> {
    let (p, s) = match args {
        [p] => (*p, 0),
        [p, s] => (*p, *s),
        _ => return None,
    };
    let p = u32::try_from(p).ok().filter(|p| (1..=65).contains(p))?;
    let s = u32::try_from(s).ok().filter(|s| *s <= 30 && *s <= p)?;
    Some(Mapped {
        kind: FieldType::Decimal,
        max_length: None,
        digits: Some((p, s)),
    })
}

fn text(args: &[u64]) -> Option<Mapped> {
    let max_length = match args {
        [] => None,
        [n] => Some(usize::try_from(*n).ok().filter(|n| *n > 0)?),
        _ => return None,
    };
    Some(Mapped {
        kind: FieldType::Text,
        max_length,
        digits: None,
    })
}

/// The field type of a column of type `reported` (as the catalogue
/// states it, with modifiers), or `None` when no field type stores it
/// faithfully.
pub(crate) fn map_type(d: Dialect, reported: &str) -> Option<Mapped> {
    let (name, args, rest) = split_type(reported);
    match d {
        Dialect::Sqlite => sqlite(&name, &args),
        Dialect::Postgres => postgres(&name, &args),
        Dialect::Mysql => mysql(&name, &args, &rest),
        Dialect::MsSql | Dialect::Oracle => None,
    }
}

/// SQLite: by the declared type's affinity (lightapi keeps datetimes,
/// dates, UUIDs, JSON and decimals as text there, so a `TEXT` column is
/// text and a column of numeric affinity, such as `DATETIME` or
/// `DECIMAL(10,2)`, is not any of them).
fn sqlite(name: &str, args: &[u64]) -> Option<Mapped> {
    let has = |s: &str| name.contains(s);
    if has("int") {
        Mapped::of(FieldType::Integer)
    } else if has("char") || has("clob") || has("text") {
        text(args)
    } else if has("real") || has("floa") || has("doub") {
        Mapped::of(FieldType::Float)
    } else if matches!(name, "bool" | "boolean") {
        Mapped::of(FieldType::Boolean)
    } else {
        None
    }
}

fn postgres(name: &str, args: &[u64]) -> Option<Mapped> {
    match name {
        "smallint" | "integer" | "bigint" => Mapped::of(FieldType::Integer),
        "real" | "double precision" => Mapped::of(FieldType::Float),
        "boolean" => Mapped::of(FieldType::Boolean),
        "text" => Mapped::of(FieldType::Text),
        "character varying" | "character" => text(args),
        "timestamp with time zone" | "timestamp without time zone" => {
            Mapped::of(FieldType::DateTime)
        }
        "timestamp" => Mapped::of(FieldType::DateTime),
        "date" => Mapped::of(FieldType::Date),
        "uuid" => Mapped::of(FieldType::Uuid),
        "json" | "jsonb" => Mapped::of(FieldType::Json),
        // A `numeric` without precision has none to declare.
        "numeric" => decimal(args),
        _ => None,
    }
}

fn mysql(name: &str, args: &[u64], rest: &str) -> Option<Mapped> {
    let unsigned = rest.contains("unsigned");
    match name {
        "tinyint" if args == [1] && !unsigned => Mapped::of(FieldType::Boolean),
        "bool" | "boolean" => Mapped::of(FieldType::Boolean),
        // An unsigned BIGINT may pass what a 64-bit signed integer holds.
        "bigint" if unsigned => None,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
            Mapped::of(FieldType::Integer)
        }
        "float" | "double" | "real" | "double precision" => Mapped::of(FieldType::Float),
        "decimal" | "numeric" => decimal(args),
        "varchar" | "char" => text(args),
        "tinytext" | "text" | "mediumtext" | "longtext" => Mapped::of(FieldType::Text),
        "datetime" | "timestamp" => Mapped::of(FieldType::DateTime),
        "date" => Mapped::of(FieldType::Date),
        "json" => Mapped::of(FieldType::Json),
        "uuid" => Mapped::of(FieldType::Uuid),
        _ => None,
    }
}

/// A column's default as a model takes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ColumnDefault {
    /// No default (or `NULL`).
    None,
    /// A constant: the field's default.
    Value(serde_json::Value),
    /// An expression the database computes on insert.
    Database,
}

/// A literal of SQL text.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Null,
    Text(String),
    Number(String),
    Bool(bool),
}

/// `inner` of `(inner)` when the parentheses enclose all of `s`.
fn unparenthesised(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0i32;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    (depth == 0).then_some(inner)
}

/// A quoted string at the start of `s` (`''` is a quote) and what
/// follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if let Some((_, '\'')) = chars.peek() {
                out.push('\'');
                chars.next();
                continue;
            }
            return Some((out, &body[i + 1..]));
        }
        out.push(c);
    }
    None
}

/// Whether `s` is a PostgreSQL cast suffix (`::text`, `::character
/// varying`, `::numeric(10,2)`), or nothing.
fn only_cast(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() {
        return true;
    }
    s.split("::").skip(1).all(|t| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '(' | ')' | ','))
    }) && s.starts_with("::")
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !s.ends_with('.')
}

fn literal(expr: &str) -> Option<Literal> {
    let mut s = expr.trim();
    while let Some(inner) = unparenthesised(s) {
        s = inner.trim();
    }
    if let Some((text, rest)) = quoted(s) {
        return only_cast(rest).then_some(Literal::Text(text));
    }
    let (head, cast) = match s.find("::") {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mut head = head.trim();
    while let Some(inner) = unparenthesised(head) {
        head = inner.trim();
    }
    if !only_cast(cast) {
        return None;
    }
    if is_number(head) {
        return Some(Literal::Number(head.to_owned()));
    }
    match head.to_ascii_lowercase().as_str() {
        "null" => Some(Literal::Null),
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        _ => None,
    }
}

/// The value of `literal` for a field of `kind`, when it is one.
fn value_for(kind: FieldType, lit: Literal) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    match (kind, lit) {
        (_, Literal::Null) => None,
        (FieldType::Integer, Literal::Number(n) | Literal::Text(n)) => {
            n.trim().parse::<i64>().ok().map(J::from)
        }
        (FieldType::Float, Literal::Number(n) | Literal::Text(n)) => n
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(J::Number),
        (FieldType::Boolean, Literal::Bool(b)) => Some(J::Bool(b)),
        (FieldType::Boolean, Literal::Number(n) | Literal::Text(n)) => {
            match n.trim().to_ascii_lowercase().as_str() {
                "1" | "t" | "true" => Some(J::Bool(true)),
                "0" | "f" | "false" => Some(J::Bool(false)),
                _ => None,
            }
        }
        (FieldType::Json, Literal::Text(t)) => serde_json::from_str(&t).ok(),
        (FieldType::Json, _) => None,
        (_, Literal::Text(t) | Literal::Number(t)) => Some(J::String(t)),
        (_, Literal::Bool(_)) => None,
    }
}

/// The default of a column of the type of `field` whose default
/// expression is `expr`: a constant the field accepts becomes its
/// default; anything else the database computes.
pub(crate) fn column_default(field: &Field, expr: Option<&str>) -> ColumnDefault {
    let Some(expr) = expr.map(str::trim).filter(|e| !e.is_empty()) else {
        return ColumnDefault::None;
    };
    match literal(expr) {
        Some(Literal::Null) => ColumnDefault::None,
        Some(lit) => match value_for(field.field_type(), lit) {
            Some(v) if field.to_value(&v).is_ok() => ColumnDefault::Value(v),
            _ => ColumnDefault::Database,
        },
        None => ColumnDefault::Database,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    type Seen = (FieldType, Option<usize>, Option<(u32, u32)>);

    fn kind(d: Dialect, t: &str) -> Option<Seen> {
        map_type(d, t).map(|m| (m.kind, m.max_length, m.digits))
    }

    #[test]
    fn postgres_types_map_with_their_modifiers() {
        use FieldType::*;
        let pg = Dialect::Postgres;
        assert_eq!(kind(pg, "integer"), Some((Integer, None, None)));
        assert_eq!(kind(pg, "bigint"), Some((Integer, None, None)));
        assert_eq!(kind(pg, "double precision"), Some((Float, None, None)));
        assert_eq!(
            kind(pg, "character varying(40)"),
            Some((Text, Some(40), None))
        );
        assert_eq!(kind(pg, "character varying"), Some((Text, None, None)));
        assert_eq!(
            kind(pg, "numeric(10,2)"),
            Some((Decimal, None, Some((10, 2))))
        );
        assert_eq!(
            kind(pg, "timestamp with time zone"),
            Some((DateTime, None, None))
        );
        assert_eq!(
            kind(pg, "timestamp(3) with time zone"),
            Some((DateTime, None, None))
        );
        assert_eq!(kind(pg, "time with time zone"), None);
        assert_eq!(kind(pg, "date"), Some((Date, None, None)));
        assert_eq!(kind(pg, "uuid"), Some((Uuid, None, None)));
        assert_eq!(kind(pg, "jsonb"), Some((Json, None, None)));
        assert_eq!(kind(pg, "boolean"), Some((Boolean, None, None)));
        for unmapped in [
            "numeric",
            "point",
            "tsvector",
            "bytea",
            "integer[]",
            "interval",
            "money",
        ] {
            assert_eq!(kind(pg, unmapped), None, "{unmapped}");
        }
    }

    #[test]
    fn mysql_types_map_with_their_modifiers() {
        use FieldType::*;
        let my = Dialect::Mysql;
        assert_eq!(kind(my, "tinyint(1)"), Some((Boolean, None, None)));
        assert_eq!(kind(my, "int(11)"), Some((Integer, None, None)));
        assert_eq!(kind(my, "int(10) unsigned"), Some((Integer, None, None)));
        assert_eq!(kind(my, "bigint(20) unsigned"), None);
        assert_eq!(kind(my, "varchar(255)"), Some((Text, Some(255), None)));
        assert_eq!(kind(my, "longtext"), Some((Text, None, None)));
        assert_eq!(
            kind(my, "decimal(12,4)"),
            Some((Decimal, None, Some((12, 4))))
        );
        assert_eq!(kind(my, "datetime(6)"), Some((DateTime, None, None)));
        assert_eq!(kind(my, "double"), Some((Float, None, None)));
        assert_eq!(kind(my, "uuid"), Some((Uuid, None, None)));
        for unmapped in [
            "set('a','b')",
            "enum('x')",
            "geometry",
            "blob",
            "time",
            "year(4)",
            "bit(1)",
        ] {
            assert_eq!(kind(my, unmapped), None, "{unmapped}");
        }
    }

    #[test]
    fn sqlite_types_map_by_affinity() {
        use FieldType::*;
        let lite = Dialect::Sqlite;
        assert_eq!(kind(lite, "INTEGER"), Some((Integer, None, None)));
        assert_eq!(kind(lite, "VARCHAR(20)"), Some((Text, Some(20), None)));
        assert_eq!(kind(lite, "TEXT"), Some((Text, None, None)));
        assert_eq!(kind(lite, "REAL"), Some((Float, None, None)));
        assert_eq!(kind(lite, "BOOLEAN"), Some((Boolean, None, None)));
        for unmapped in ["BLOB", "", "DATETIME", "DECIMAL(10,2)", "NUMERIC"] {
            assert_eq!(kind(lite, unmapped), None, "{unmapped}");
        }
        assert_eq!(
            map_type(lite, "varchar(20)")
                .unwrap()
                .field()
                .max_length_chars(),
            Some(20)
        );
        assert_eq!(
            map_type(Dialect::Postgres, "numeric(5,1)")
                .unwrap()
                .file_name(),
            "decimal(5,1)"
        );
    }

    #[test]
    fn constant_defaults_become_field_defaults() {
        let d = |f: Field, e: &str| column_default(&f, Some(e));
        assert_eq!(
            d(Field::text(), "'draft'::character varying"),
            ColumnDefault::Value(json!("draft"))
        );
        assert_eq!(
            d(Field::text(), "'it''s'"),
            ColumnDefault::Value(json!("it's"))
        );
        assert_eq!(d(Field::integer(), "0"), ColumnDefault::Value(json!(0)));
        assert_eq!(d(Field::integer(), "(-1)"), ColumnDefault::Value(json!(-1)));
        assert_eq!(
            d(Field::integer(), "'7'::bigint"),
            ColumnDefault::Value(json!(7))
        );
        assert_eq!(d(Field::float(), "1.5"), ColumnDefault::Value(json!(1.5)));
        assert_eq!(
            d(Field::boolean(), "true"),
            ColumnDefault::Value(json!(true))
        );
        assert_eq!(d(Field::boolean(), "1"), ColumnDefault::Value(json!(true)));
        assert_eq!(
            d(Field::boolean(), "FALSE"),
            ColumnDefault::Value(json!(false))
        );
        assert_eq!(
            d(Field::decimal(10, 2), "12.50"),
            ColumnDefault::Value(json!("12.50"))
        );
        assert_eq!(
            d(Field::json(), "'{\"a\": 1}'::jsonb"),
            ColumnDefault::Value(json!({"a": 1}))
        );
        assert_eq!(
            d(Field::date(), "'2024-02-29'::date"),
            ColumnDefault::Value(json!("2024-02-29"))
        );
        assert_eq!(d(Field::text().nullable(), "NULL"), ColumnDefault::None);
        assert_eq!(
            d(Field::text().nullable(), "NULL::character varying"),
            ColumnDefault::None
        );
        assert_eq!(column_default(&Field::text(), None), ColumnDefault::None);
    }

    #[test]
    fn expressions_are_left_to_the_database() {
        let d = |f: Field, e: &str| column_default(&f, Some(e));
        assert_eq!(
            d(Field::datetime(), "CURRENT_TIMESTAMP"),
            ColumnDefault::Database
        );
        assert_eq!(d(Field::datetime(), "now()"), ColumnDefault::Database);
        assert_eq!(
            d(Field::datetime(), "current_timestamp()"),
            ColumnDefault::Database
        );
        assert_eq!(
            d(Field::datetime(), "(CURRENT_TIMESTAMP)"),
            ColumnDefault::Database
        );
        assert_eq!(
            d(Field::integer(), "nextval('t_n_seq'::regclass)"),
            ColumnDefault::Database
        );
        assert_eq!(
            d(Field::text(), "(datetime('now'))"),
            ColumnDefault::Database
        );
        assert_eq!(
            d(Field::uuid(), "gen_random_uuid()"),
            ColumnDefault::Database
        );
        // A constant the field refuses is the database's to apply.
        assert_eq!(
            d(Field::text().max_length(2), "'long'"),
            ColumnDefault::Database
        );
        assert_eq!(d(Field::integer(), "'a' || 'b'"), ColumnDefault::Database);
    }
}
