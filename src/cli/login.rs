//! `[login]`: `POST /auth/login` checked against a users table holding
//! argon2id PHC strings, with claims taken from the user's columns.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde_json::{Map, Value as Json};

use super::file::LoginDecl;
use crate::auth::Credentials;
use crate::backend::open::connect;
use crate::backend::{read_with, Backend, PoolOptions, Value};
use crate::config::Config;
use crate::model::{FieldType, Model};

/// Hashes `password` with argon2id (the crate's default parameters) and a
/// random salt, as a PHC string.
///
/// # Errors
/// The hasher's error, as text.
pub(crate) fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `phc` (compared in constant
/// time by the verifier). A string that is not a PHC hash never matches.
fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// The login validator: one query by username, then an argon2 check. An
/// unknown user is checked against a fixed dummy hash, so that it costs as
/// much as a wrong password.
pub(crate) struct TableLogin {
    url: String,
    options: PoolOptions,
    /// `SELECT password, claim columns… FROM table WHERE username = ?`,
    /// made once the dialect is known.
    columns: Vec<String>,
    table: String,
    username: String,
    /// Each claim with the column it comes from.
    claims: Vec<String>,
    /// The declared types of the selected columns, when the table is a
    /// declared model (else the database's own types decode them).
    types: Vec<FieldType>,
    dummy: String,
    db: Mutex<Option<Arc<dyn Backend>>>,
}

impl std::fmt::Debug for TableLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableLogin")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl TableLogin {
    /// The validator `decl` describes, on `config`'s database; `model` is
    /// the table's declaration when it is one of the file's models.
    pub(crate) fn new(
        decl: &LoginDecl,
        config: &Config,
        model: Option<&Model>,
    ) -> Result<TableLogin, String> {
        let password = decl.password_column.get_ref().clone();
        let mut columns = vec![password];
        let mut claims = Vec::new();
        for (claim, column) in &decl.claims.0 {
            claims.push(claim.clone());
            columns.push(column.get_ref().clone());
        }
        let types = match model {
            Some(m) => std::iter::once(FieldType::Text)
                .chain(
                    columns[1..]
                        .iter()
                        .map(|c| m.field_named(c).map_or(FieldType::Text, |f| f.field_type())),
                )
                .collect(),
            None => vec![FieldType::Text],
        };
        let options = PoolOptions {
            max_read_connections: 1,
            synchronous: config.database.sqlite_synchronous,
            query_timeout: config.timeouts.query,
            connect_timeout: config.database.connect_timeout,
            socket_timeout: config
                .database
                .effective_socket_timeout(config.timeouts.query),
            ..PoolOptions::default()
        };
        // A hash of a random password: nobody knows a password it matches.
        let dummy = hash_password(SaltString::generate(&mut OsRng).as_str())?;
        Ok(TableLogin {
            url: config.database.url.as_str().to_owned(),
            options,
            columns,
            table: decl.table.get_ref().clone(),
            username: decl.username_column.get_ref().clone(),
            claims,
            types,
            dummy,
            db: Mutex::new(None),
        })
    }

    /// The database, connected on first use and kept.
    fn db(&self) -> Result<Arc<dyn Backend>, String> {
        let mut slot = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(db) = &*slot {
            return Ok(Arc::clone(db));
        }
        let db = connect(&self.url, &self.options).map_err(|e| e.to_string())?;
        *slot = Some(Arc::clone(&db));
        Ok(db)
    }

    /// The user's stored hash and claim values, if the user exists.
    fn user(&self, username: &str) -> Result<Option<Vec<Value>>, String> {
        let db = self.db()?;
        let d = db.dialect();
        let select: Vec<String> = self.columns.iter().map(|c| d.quote(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = {}",
            select.join(", "),
            d.quote(&self.table),
            d.quote(&self.username),
            d.placeholder(1)
        );
        let rows = read_with(&*db, |c| {
            c.query(&sql, &[Value::Text(username.to_owned())], &self.types)
        })
        .map_err(|e| e.to_string())?;
        Ok(rows.into_iter().next())
    }

    /// Checks `c`: `Ok(Some(claims))` for the right password.
    pub(crate) fn check(&self, c: &Credentials) -> Result<Option<Map<String, Json>>, String> {
        let row = self.user(&c.username)?;
        let stored = match row.as_ref().and_then(|r| r.first()) {
            Some(Value::Text(phc)) => phc.as_str(),
            _ => self.dummy.as_str(),
        };
        let matches = verify(&c.password, stored);
        let Some(row) = row.filter(|_| matches) else {
            return Ok(None);
        };
        let claims = self
            .claims
            .iter()
            .zip(row.iter().skip(1))
            .map(|(claim, v)| (claim.clone(), v.to_json()))
            .collect();
        Ok(Some(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horsf", &phc));
        assert!(!verify("correct horse", "not a hash"));
    }
}
