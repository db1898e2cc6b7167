//! The backend-agnostic CRUD suite against a live PostgreSQL server: the
//! same functions as `crud_sqlite.rs`, each on a fresh schema. Skipped,
//! with a printed `SKIPPED:` line, when the server does not answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use lightapi::backend::PoolOptions;
use support::crud_suite as suite;
use support::servers::{FreshDb, Server};

macro_rules! postgres_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let Some(fresh) = FreshDb::new(Server::Postgres) else { return };
            let db = fresh.connect(&PoolOptions::default());
            suite::$name(Arc::clone(&db));
            db.close();
        }
    )*};
}

postgres_tests!(
    every_type_round_trips,
    defaults_ids_and_write_only,
    unique_violation_is_a_conflict_on_the_field,
    foreign_key_violation_is_a_conflict,
    if_match_mismatch_writes_nothing,
    replace_resets_and_patch_keeps,
    versioned_models_lock_optimistically,
    require_if_match_is_enforced,
    concurrent_creates_each_land_once,
    concurrent_if_match_patches_have_one_winner,
    table_mismatch_is_detected,
    scoping_hides_other_owners_rows,
    list_filters_orders_and_pages,
    missing_server_value_is_reported,
);
