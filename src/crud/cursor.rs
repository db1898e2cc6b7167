//! Opaque, tamper-evident keyset cursors: the position after (or before)
//! a row in a given ordering, signed with HMAC-SHA256.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Longest cursor accepted.
pub const MAX_CURSOR_BYTES: usize = 4096;
/// Bytes of the MAC kept in a cursor.
const TAG_BYTES: usize = 16;

/// A cursor that was not made by this server for this ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorError;

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the cursor is invalid, altered, or belongs to another ordering")
    }
}

impl std::error::Error for CursorError {}

/// A keyset position.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The ordering values of the row (JSON, as the client saw them).
    pub values: Vec<Value>,
    /// The row's id.
    pub id: i64,
    /// Whether the page is the one before this row (a `previous` link).
    pub backwards: bool,
}

/// The signing key for cursors.
#[derive(Clone)]
pub struct CursorKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey([redacted])")
    }
}

impl CursorKey {
    /// A key derived from an application secret, so processes sharing the
    /// secret accept each other's cursors.
    pub fn derive(secret: &[u8]) -> CursorKey {
        use sha2::Digest as _;
        let derived = Sha256::new()
            .chain_update(b"lightapi keyset cursor v1\0")
            .chain_update(secret)
            .finalize();
        // An HMAC key shorter than the block is zero-padded to it (RFC 2104).
        let mut block = [0u8; 64];
        for (slot, b) in block.iter_mut().zip(derived.iter()) {
            *slot = *b;
        }
        let mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
        CursorKey { mac }
    }

    /// Encodes `pos` for the ordering described by `ordering`.
    ///
    /// ```
    /// use lightapi::__private::crud::cursor::{CursorKey, Position};
    /// let key = CursorKey::derive(b"0123456789abcdef0123456789abcdef");
    /// let pos = Position { values: vec![serde_json::json!("Ada")], id: 7, backwards: false };
    /// let token = key.encode("name", &pos);
    /// assert_eq!(key.decode("name", &token).unwrap(), pos);
    /// assert!(key.decode("-name", &token).is_err());
    /// ```
    pub fn encode(&self, ordering: &str, pos: &Position) -> String {
        let payload = json!({"o": ordering, "v": pos.values, "i": pos.id, "b": pos.backwards});
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let mut mac = self.mac.clone();
        mac.update(&bytes);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&bytes),
            URL_SAFE_NO_PAD.encode(tag.get(..TAG_BYTES).unwrap_or_default())
        )
    }

    /// Decodes and verifies a cursor for `ordering`.
    ///
    /// # Errors
    /// [`CursorError`] for anything not made by [`CursorKey::encode`] with
    /// this key and ordering.
    pub fn decode(&self, ordering: &str, token: &str) -> Result<Position, CursorError> {
        if token.len() > MAX_CURSOR_BYTES {
            return Err(CursorError);
        }
        let (body, tag) = token.split_once('.').ok_or(CursorError)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| CursorError)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError)?;
        let mut mac = self.mac.clone();
        mac.update(&bytes);
        mac.verify_truncated_left(&tag).map_err(|_| CursorError)?;
        if tag.len() != TAG_BYTES {
            return Err(CursorError);
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| CursorError)?;
        if v.get("o").and_then(Value::as_str) != Some(ordering) {
            return Err(CursorError);
        }
        Ok(Position {
            values: v
                .get("v")
                .and_then(Value::as_array)
                .cloned()
                .ok_or(CursorError)?,
            id: v.get("i").and_then(Value::as_i64).ok_or(CursorError)?,
            backwards: v.get("b").and_then(Value::as_bool).ok_or(CursorError)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_is_detected() {
        let key = CursorKey::derive(b"0123456789abcdef0123456789abcdef");
        let token = key.encode(
            "id",
            &Position {
                values: vec![],
                id: 3,
                backwards: false,
            },
        );
        let (body, tag) = token.split_once('.').unwrap();
        let forged_body = URL_SAFE_NO_PAD.encode(br#"{"b":false,"i":999,"o":"id","v":[]}"#);
        for bad in [
            format!("{forged_body}.{tag}"),
            format!("{body}.{}", &tag[..tag.len() - 2]),
            format!("{body}x.{tag}"),
            body.to_string(),
            String::new(),
            "a".repeat(MAX_CURSOR_BYTES + 1),
        ] {
            assert_eq!(key.decode("id", &bad), Err(CursorError), "{bad}");
        }
        let other = CursorKey::derive(b"another secret another secret 00");
        assert!(other.decode("id", &token).is_err());
    }
}
