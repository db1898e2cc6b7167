//! Every integration test of lightapi, in one test binary: each module was
//! a test binary of its own, and [`support`] (servers that stop when
//! dropped, the one raw HTTP client, the backend suites) is compiled once
//! for all of them.
//!
//! The tests run concurrently on the harness's threads, so none relies on
//! having the process to itself: ports are ephemeral, files live in unique
//! temporary directories, and no test changes the environment or the
//! current directory. Suites that need a database server are modules gated
//! on its driver's feature.

// Tests may unwrap: a panic is how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod auth;
mod caching;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod cli_reflect;
#[cfg(feature = "cli")]
mod cli_relations;
#[cfg(feature = "cli")]
mod cli_reload;
#[cfg(feature = "cli")]
mod cli_shop;
mod concurrency;
mod cors_middleware;
mod custom;
mod declarations;
#[cfg(feature = "docs")]
mod docs;
mod fuzz_corpus;
mod jwt_vectors;
mod limits;
mod metrics;
mod openapi;
mod output;
mod page_budget;
mod projection;
mod query;
mod rate_limit;
mod router;
mod shutdown;
#[cfg(feature = "sqlite")]
mod slow_query;
mod smuggling;
mod tasks_example;
mod wire;

#[cfg(feature = "sqlite")]
mod crud_durability;
#[cfg(feature = "sqlite")]
mod crud_http_sqlite;
#[cfg(feature = "sqlite")]
mod crud_sqlite;
#[cfg(feature = "sqlite")]
mod descriptors;

#[cfg(feature = "postgres")]
mod crud_http_postgres;
#[cfg(feature = "postgres")]
mod crud_postgres;
#[cfg(feature = "postgres")]
mod pg_loop;

#[cfg(feature = "mysql")]
mod crud_http_mysql;
#[cfg(feature = "mysql")]
mod crud_mysql;

#[cfg(all(feature = "postgres", feature = "mysql"))]
mod db_outage;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod db_timeouts;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod db_tls;
#[cfg(all(feature = "postgres", feature = "mysql"))]
mod scale_out;
