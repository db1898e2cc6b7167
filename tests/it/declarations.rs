//! Declaration mistakes in field constraints and types stop the server at
//! start-up with one line naming the model and the field.

use lightapi::{Field, Model};

use crate::support::{config, TestServer};

#[test]
fn constraint_mistakes_are_start_up_errors_naming_model_and_field() {
    let cases = [
        (Field::integer().min(10).max(1), "min is greater than max"),
        (
            Field::float().choices(&[0.5]),
            "choices apply to text and integer fields only",
        ),
        (
            Field::text().choices(&["todo", "done"]).default("blocked"),
            "must be one of: todo, done",
        ),
        (Field::integer().min(0).default(-1), "must be at least 0"),
        (
            Field::text().min_length(5).max_length(2),
            "min_length is greater than max_length",
        ),
        (Field::boolean().max(1), "max applies to"),
        (Field::decimal(70, 2), "decimal precision must be 1 to 65"),
        (Field::decimal(4, 2).default("123.4"), "too many digits"),
        (Field::date().default("2023-02-29"), "expected a date"),
        (Field::uuid().default("xyz"), "expected a UUID"),
        (Field::text().pattern("(unclosed"), "pattern"),
    ];
    for (field, want) in cases {
        let m = Model::new("task").field("bad", field.clone());
        let err = TestServer::try_start(config(), |app| app.register("/task", m))
            .map(TestServer::stop)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model `task`") && err.contains("`bad`") && err.contains(want),
            "{field:?}: {err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}
