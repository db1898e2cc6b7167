//! The dialects, model and value helper shared by the unit tests of this
//! module's files.

use crate::backend::{Dialect, Value};
use crate::model::{Field, Model};

pub(super) const ALL: [Dialect; 5] = [
    Dialect::Sqlite,
    Dialect::Postgres,
    Dialect::Mysql,
    Dialect::MsSql,
    Dialect::Oracle,
];

pub(super) fn person() -> Model {
    Model::new("person")
        .field("name", Field::text().max_length(100))
        .field("email", Field::text().unique())
        .field("age", Field::integer().nullable())
        .field("score", Field::float().default(0.0))
        .field("verified", Field::boolean().default(false))
        .field("born", Field::datetime().nullable())
        .field("extra", Field::json().nullable())
        .field("team", Field::integer().nullable().references("team"))
}

pub(super) fn text(v: &str) -> Value {
    Value::Text(v.to_owned())
}
