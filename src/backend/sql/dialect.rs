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
        let mut out = String::with_capacity(ident.len() + 2);
        self.quote_into(ident, &mut out);
        out
    }

    /// Appends the quoted identifier to `out` (see [`Dialect::quote`]).
    pub(crate) fn quote_into(self, ident: &str, out: &mut String) {
        let (open, close) = match self {
            Dialect::Mysql => ('`', '`'),
            Dialect::MsSql => ('[', ']'),
            _ => ('"', '"'),
        };
        out.push(open);
        for (i, part) in ident.split(close).enumerate() {
            if i > 0 {
                out.push(close);
                out.push(close);
            }
            out.push_str(part);
        }
        out.push(close);
    }

    /// The placeholder of the `n`th (1-based) parameter.
    ///
    /// ```
    /// use lightapi::backend::Dialect;
    /// assert_eq!(Dialect::Postgres.placeholder(2), "$2");
    /// assert_eq!(Dialect::Oracle.placeholder(2), ":2");
    /// ```
    pub fn placeholder(self, n: usize) -> String {
        let mut out = String::with_capacity(4);
        self.placeholder_into(n, &mut out);
        out
    }

    /// Appends the `n`th placeholder to `out` (see [`Dialect::placeholder`]).
    pub(crate) fn placeholder_into(self, n: usize, out: &mut String) {
        let prefix = match self {
            Dialect::Sqlite | Dialect::Mysql => {
                out.push('?');
                return;
            }
            Dialect::Postgres => "$",
            Dialect::MsSql => "@P",
            Dialect::Oracle => ":",
        };
        out.push_str(prefix);
        let mut buf = [0u8; 20];
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        for d in crate::model::decimal(n, &mut buf) {
            out.push(char::from(*d));
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
        assert_eq!(Dialect::Sqlite.quote("\"\""), "\"\"\"\"\"\"");
        assert_eq!(Dialect::Postgres.placeholder(10), "$10");
        assert_eq!(Dialect::MsSql.placeholder(1234), "@P1234");
        assert_eq!(
            Dialect::Oracle.placeholder(usize::MAX),
            format!(":{}", usize::MAX)
        );
    }
}
