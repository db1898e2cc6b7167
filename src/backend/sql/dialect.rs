//! The five SQL dialects: how each quotes an identifier and writes a
//! parameter's placeholder.

/// A SQL dialect: quoting, placeholders, types and statement forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// SQLite 3.35+ (`?`, `"x"`, `RETURNING`).
    Sqlite,
    /// PostgreSQL 10+ (`$1`, `"x"`, `RETURNING`).
    Postgres,
    /// MySQL 8 / MariaDB 10.5+ (`?`, `` `x` ``, `LAST_INSERT_ID()`).
    Mysql,
    /// Microsoft SQL Server 2012+ (`@P1`, `[x]`, `OUTPUT INSERTED`).
    MsSql,
    /// Oracle 12c+ (`:1`, `"x"`, `RETURNING … INTO`).
    Oracle,
}

impl Dialect {
    /// Quotes an identifier (doubling any closing quote character).
    ///
    /// ```
    /// use lightapi::backend::Dialect;
    /// assert_eq!(Dialect::Mysql.quote("name"), "`name`");
    /// assert_eq!(Dialect::MsSql.quote("name"), "[name]");
    /// ```
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", ident.replace('`', "``")),
            Dialect::MsSql => format!("[{}]", ident.replace(']', "]]")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// The placeholder of the `n`th (1-based) parameter.
    ///
    /// ```
    /// use lightapi::backend::Dialect;
    /// assert_eq!(Dialect::Postgres.placeholder(2), "$2");
    /// assert_eq!(Dialect::Oracle.placeholder(2), ":2");
    /// ```
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite | Dialect::Mysql => "?".to_owned(),
            Dialect::Postgres => format!("${n}"),
            Dialect::MsSql => format!("@P{n}"),
            Dialect::Oracle => format!(":{n}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backend::sql::fixtures::ALL;

    #[test]
    fn quoting_and_placeholders() {
        let expected = [
            ("\"a\"", "?", "?"),
            ("\"a\"", "$1", "$2"),
            ("`a`", "?", "?"),
            ("[a]", "@P1", "@P2"),
            ("\"a\"", ":1", ":2"),
        ];
        for (d, (q, p1, p2)) in ALL.into_iter().zip(expected) {
            assert_eq!(d.quote("a"), q);
            assert_eq!(d.placeholder(1), p1);
            assert_eq!(d.placeholder(2), p2);
        }
        assert_eq!(Dialect::Sqlite.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::MsSql.quote("a]b"), "[a]]b]");
    }
}
