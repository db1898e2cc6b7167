//! Opaque, tamper-evident keyset cursors: the position after (or before)
//! a row in a given ordering of a given model.
//!
//! The position (JSON) is encrypted, then authenticated (encrypt-then-MAC):
//! a 12-byte nonce, HMAC-SHA256 of the position under the encryption key,
//! truncated (so one position always gives one cursor); the position XORed
//! with the keystream HMAC-SHA256(encryption key, nonce ‖ block counter);
//! and a tag, HMAC-SHA256 under a separate MAC key over the model's name,
//! the ordering, the nonce and the ciphertext, truncated to 16 bytes. A
//! cursor is `base64url(nonce ‖ ciphertext) . base64url(tag)`: it reveals
//! nothing of the row's values, and is refused by another model, another
//! ordering, or a server with another secret.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// Longest cursor accepted.
pub const MAX_CURSOR_BYTES: usize = 4096;
/// Bytes of the MAC kept in a cursor.
const TAG_BYTES: usize = 16;
/// Bytes of the nonce at the start of a cursor's body.
const NONCE_BYTES: usize = 12;

/// A cursor that was not made by this server for this model and ordering.
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
    /// The row's key.
    pub id: crate::model::Key,
    /// Whether the page is the one before this row (a `previous` link).
    pub backwards: bool,
}

/// The encryption and MAC keys for cursors.
#[derive(Clone)]
pub struct CursorKey {
    enc: Hmac<Sha256>,
    mac: Hmac<Sha256>,
}

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey([redacted])")
    }
}

/// An HMAC-SHA256 key derived from `secret` under `label`.
fn derive_mac(label: &[u8], secret: &[u8]) -> Hmac<Sha256> {
    let derived = Sha256::new()
        .chain_update(label)
        .chain_update(secret)
        .finalize();
    // An HMAC key shorter than the block is zero-padded to it (RFC 2104).
    let mut block = [0u8; 64];
    for (slot, b) in block.iter_mut().zip(derived.iter()) {
        *slot = *b;
    }
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

impl CursorKey {
    /// Keys derived from an application secret, so processes sharing the
    /// secret accept each other's cursors.
    pub fn derive(secret: &[u8]) -> CursorKey {
        CursorKey {
            enc: derive_mac(b"lightapi keyset cursor encryption v2\0", secret),
            mac: derive_mac(b"lightapi keyset cursor mac v2\0", secret),
        }
    }

    /// The nonce for `payload`: the same position gives the same cursor.
    fn nonce(&self, payload: &[u8]) -> [u8; NONCE_BYTES] {
        let mut m = self.enc.clone();
        m.update(b"n");
        m.update(payload);
        let full = m.finalize().into_bytes();
        let mut nonce = [0u8; NONCE_BYTES];
        for (slot, b) in nonce.iter_mut().zip(full.iter()) {
            *slot = *b;
        }
        nonce
    }

    /// XORs `data` with the keystream of `nonce` (encrypts and decrypts).
    fn apply_keystream(&self, nonce: &[u8], data: &mut [u8]) {
        for (counter, chunk) in (0u32..).zip(data.chunks_mut(32)) {
            let mut m = self.enc.clone();
            m.update(b"k");
            m.update(nonce);
            m.update(&counter.to_be_bytes());
            let block = m.finalize().into_bytes();
            for (d, k) in chunk.iter_mut().zip(block.iter()) {
                *d ^= *k;
            }
        }
    }

    /// The MAC over the context and the body (`nonce ‖ ciphertext`).
    fn tag(&self, model: &str, ordering: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut m = self.mac.clone();
        for part in [model.as_bytes(), ordering.as_bytes()] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part);
        }
        m.update(body);
        m
    }

    /// Encodes `pos` for `model` in the ordering described by `ordering`.
    ///
    /// ```
    /// use lightapi::__private::crud::cursor::{CursorKey, Position};
    /// let key = CursorKey::derive(b"0123456789abcdef0123456789abcdef");
    /// use lightapi::model::Key;
    /// let pos = Position { values: vec![serde_json::json!("Ada")], id: Key::Int(7), backwards: false };
    /// let token = key.encode("person", "name", &pos);
    /// assert_eq!(key.decode("person", "name", &token).unwrap(), pos);
    /// assert!(key.decode("person", "-name", &token).is_err());
    /// assert!(key.decode("team", "name", &token).is_err());
    /// ```
    pub fn encode(&self, model: &str, ordering: &str, pos: &Position) -> String {
        let payload = json!({"v": pos.values, "i": pos.id.to_json(), "b": pos.backwards});
        let plain = serde_json::to_vec(&payload).unwrap_or_default();
        let nonce = self.nonce(&plain);
        let mut body = Vec::with_capacity(NONCE_BYTES + plain.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&plain);
        if let Some(cipher) = body.get_mut(NONCE_BYTES..) {
            self.apply_keystream(&nonce, cipher);
        }
        let tag = self.tag(model, ordering, &body).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(tag.get(..TAG_BYTES).unwrap_or_default())
        )
    }

    /// Decodes and verifies a cursor for `model` and `ordering`.
    ///
    /// # Errors
    /// [`CursorError`] for anything not made by [`CursorKey::encode`] with
    /// this key, model and ordering.
    pub fn decode(
        &self,
        model: &str,
        ordering: &str,
        token: &str,
    ) -> Result<Position, CursorError> {
        if token.len() > MAX_CURSOR_BYTES {
            return Err(CursorError);
        }
        let (body, tag) = token.split_once('.').ok_or(CursorError)?;
        let mut body = URL_SAFE_NO_PAD.decode(body).map_err(|_| CursorError)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError)?;
        if tag.len() != TAG_BYTES || body.len() < NONCE_BYTES {
            return Err(CursorError);
        }
        self.tag(model, ordering, &body)
            .verify_truncated_left(&tag)
            .map_err(|_| CursorError)?;
        let (nonce, cipher) = body.split_at_mut(NONCE_BYTES);
        self.apply_keystream(nonce, cipher);
        let v: Value = serde_json::from_slice(cipher).map_err(|_| CursorError)?;
        Ok(Position {
            values: v
                .get("v")
                .and_then(Value::as_array)
                .cloned()
                .ok_or(CursorError)?,
            id: v
                .get("i")
                .and_then(crate::model::Key::from_json)
                .ok_or(CursorError)?,
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
            "item",
            "id",
            &Position {
                values: vec![],
                id: crate::model::Key::Int(3),
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
            assert_eq!(key.decode("item", "id", &bad), Err(CursorError), "{bad}");
        }
        let other = CursorKey::derive(b"another secret another secret 00");
        assert!(other.decode("item", "id", &token).is_err());
    }

    #[test]
    fn cursors_are_opaque_and_bound_to_model_and_ordering() {
        let key = CursorKey::derive(b"0123456789abcdef0123456789abcdef");
        let pos = Position {
            values: vec![json!("Ada Lovelace"), json!(1815)],
            id: crate::model::Key::Int(4242),
            backwards: false,
        };
        let token = key.encode("person", "name,-born,id", &pos);
        // Deterministic: the same position gives the same cursor.
        assert_eq!(token, key.encode("person", "name,-born,id", &pos));
        let (body, _) = token.split_once('.').unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for plain in ["Ada", "1815", "4242", "\"v\":", "\"i\":"] {
            assert!(!text.contains(plain), "{plain} readable in {text:?}");
        }
        assert_eq!(
            key.decode("person", "name,-born,id", &token),
            Ok(pos.clone())
        );
        for (model, ordering) in [
            ("people", "name,-born,id"),
            ("person", "-name,-born,id"),
            ("person", "name,born,id"),
            ("person", "name,id"),
            ("personname", ",-born,id"),
        ] {
            assert_eq!(key.decode(model, ordering, &token), Err(CursorError));
        }
        // A long position spans several keystream blocks and comes back.
        let long = Position {
            values: vec![json!("x".repeat(200))],
            ..pos
        };
        let token = key.encode("person", "name,id", &long);
        assert_eq!(key.decode("person", "name,id", &token), Ok(long));
    }
}
