//! The backend-agnostic CRUD suite against a live PostgreSQL server: the
//! same functions as `crud_sqlite.rs`, each on a fresh schema. Skipped,
//! with a printed `SKIPPED:` line, when the server does not answer.

use std::sync::Arc;

use lightapi::__private::backend::PoolOptions;

use crate::support::crud_suite as suite;
use crate::support::live_db::{FreshDb, Server};

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

crate::for_each_crud_case!(postgres_tests);

/// A compare-and-set write on PostgreSQL whose row is written by someone
/// else between its read and its write changes nothing, reads the row
/// again and decides on what it finds: an unchanged ETag (a rewrite of the
/// same values) is written on the next attempt; a changed one is `412`,
/// with the other write kept.
mod compare_and_set {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use lightapi::__private::backend::PoolOptions;
    use lightapi::__private::crud::ops::{self, Precondition};
    use lightapi::__private::crud::schema;
    use lightapi::__private::crud::validate::{validate_create, validate_patch};
    use lightapi::backend::{
        read_with, write_with, Backend, BackendError, Conn, Dialect, Value, WriteJob, WriteOutput,
    };
    use lightapi::error::CrudError;
    use lightapi::model::FieldType;
    use lightapi::{Field, Model};
    use serde_json::json;

    use crate::support::etag_key;
    use crate::support::live_db::{FreshDb, Server};

    /// A backend whose statement-by-statement jobs see `interfere` run on
    /// another connection right after their first read of a row version.
    #[derive(Debug)]
    struct Interfering {
        inner: Arc<dyn Backend>,
        other: Arc<dyn Backend>,
        interfere: &'static str,
        done: Arc<AtomicBool>,
        log: Arc<Mutex<Vec<String>>>,
    }

    struct Spy<'c> {
        conn: &'c mut dyn Conn,
        other: Arc<dyn Backend>,
        interfere: &'static str,
        done: Arc<AtomicBool>,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Conn for Spy<'_> {
        fn query(
            &mut self,
            sql: &str,
            params: &[Value],
            columns: &[FieldType],
        ) -> Result<Vec<Vec<Value>>, BackendError> {
            let rows = self.conn.query(sql, params, columns)?;
            let verb = sql.split(' ').next().unwrap_or("").to_owned();
            self.log
                .lock()
                .unwrap()
                .push(format!("{verb} {}", rows.len()));
            if sql.starts_with("SELECT") && !self.done.swap(true, Ordering::SeqCst) {
                let interfere = self.interfere;
                write_with(&*self.other, move |c| c.execute(interfere, &[])).unwrap();
            }
            Ok(rows)
        }

        fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, BackendError> {
            self.conn.execute(sql, params)
        }
    }

    impl Backend for Interfering {
        fn dialect(&self) -> Dialect {
            self.inner.dialect()
        }
        fn read(
            &self,
            f: &mut dyn FnMut(&mut dyn Conn) -> Result<(), BackendError>,
        ) -> Result<(), BackendError> {
            self.inner.read(f)
        }
        fn write(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
            self.inner.write(job)
        }
        fn write_autocommit(&self, job: WriteJob) -> Result<WriteOutput, BackendError> {
            let (other, interfere) = (Arc::clone(&self.other), self.interfere);
            let (done, log) = (Arc::clone(&self.done), Arc::clone(&self.log));
            self.inner
                .write_autocommit(Box::new(move |conn: &mut dyn Conn| {
                    job(&mut Spy {
                        conn,
                        other,
                        interfere,
                        done,
                        log,
                    })
                }))
        }
        fn ping(&self) -> Result<(), BackendError> {
            self.inner.ping()
        }
        fn close(&self) {}
    }

    fn run(interfere: &'static str) -> (Result<String, CrudError>, Vec<String>, String) {
        let fresh = FreshDb::new(Server::Postgres).unwrap();
        let inner = fresh.connect(&PoolOptions::default());
        let other = fresh.connect(&PoolOptions::default());
        let model = Model::new("note").field("body", Field::text());
        schema::ensure_table(&*inner, &model).unwrap();
        let key = etag_key();
        let row = validate_create(&model, &json!({"body": "a"})).unwrap();
        let created = ops::create(&*inner, &key, &model, row, None).unwrap();
        let db = Interfering {
            inner: Arc::clone(&inner),
            other: Arc::clone(&other),
            interfere,
            done: Arc::new(AtomicBool::new(false)),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        let patch = validate_patch(&model, &json!({"body": "mine"})).unwrap();
        let pre = Precondition::IfMatch(vec![created.etag.clone()]);
        let result = ops::update(&db, &key, &model, &created.id, patch, pre, None)
            .map(|r| r.fields["body"].as_str().unwrap().to_owned());
        let log = db.log.lock().unwrap().clone();
        let stored = read_with(&*inner, |c| c.query("SELECT body FROM note", &[], &[]))
            .unwrap()
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next());
        let Some(Value::Text(stored)) = stored else {
            panic!("{stored:?}")
        };
        inner.close();
        other.close();
        (result, log, stored)
    }

    #[test]
    fn a_rewrite_of_the_same_values_in_between_is_retried() {
        if FreshDb::new(Server::Postgres).is_none() {
            return;
        }
        let (result, log, stored) = run("UPDATE note SET body = body");
        assert_eq!(result.unwrap(), "mine");
        assert_eq!(log, ["SELECT 1", "UPDATE 0", "SELECT 1", "UPDATE 1"]);
        assert_eq!(stored, "mine");
    }

    #[test]
    fn a_change_in_between_fails_the_precondition() {
        if FreshDb::new(Server::Postgres).is_none() {
            return;
        }
        let (result, log, stored) = run("UPDATE note SET body = 'theirs'");
        assert!(
            matches!(result, Err(CrudError::PreconditionFailed)),
            "{result:?}"
        );
        assert_eq!(log, ["SELECT 1", "UPDATE 0", "SELECT 1"]);
        assert_eq!(stored, "theirs");
    }
}
