//! A small per-thread cache of verified bearer tokens.
//!
//! Clients send the same token with every request, so each event-loop thread
//! keeps the last few tokens it verified, with their claims. A hit costs one
//! comparison of the whole token and a check of `exp`/`nbf` against the
//! clock with the configured leeway — no HMAC, no JSON. Only tokens that
//! passed full verification enter the cache; a token that has since expired
//! misses and is verified (and refused) in full. Memory is bounded:
//! [`SLOTS`] entries of at most [`MAX_CACHED_TOKEN_BYTES`] each, per thread.

use std::cell::RefCell;
use std::time::Duration;

use super::jwt::{Claims, JwtConfig, JwtError};

/// Entries per thread (direct-mapped).
pub(crate) const SLOTS: usize = 64;
/// Longer tokens are verified every time, never cached.
pub(crate) const MAX_CACHED_TOKEN_BYTES: usize = 1024;

struct Entry {
    owner: u64,
    token: Box<str>,
    claims: Claims,
    exp: Option<u64>,
    nbf: Option<u64>,
}

thread_local! {
    static CACHE: RefCell<Vec<Option<Entry>>> = RefCell::new((0..SLOTS).map(|_| None).collect());
}

/// The slot of a token: from the tail of its signature, which differs
/// between any two tokens (a collision only costs a miss).
fn slot(token: &str) -> usize {
    let tail = token.as_bytes().iter().rev().take(8);
    let h = tail.fold(0u64, |h, &b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    (h % SLOTS as u64) as usize
}

fn in_time(e: &Entry, now: u64, leeway: Duration) -> bool {
    let leeway = leeway.as_secs();
    e.exp.is_none_or(|exp| now <= exp.saturating_add(leeway))
        && e.nbf.is_none_or(|nbf| now.saturating_add(leeway) >= nbf)
}

/// Verifies `token` for the authenticator `owner` (one id per running
/// server, so servers never see each other's entries).
pub(crate) fn verify(
    owner: u64,
    jwt: &JwtConfig,
    token: &str,
    now: u64,
) -> Result<Claims, JwtError> {
    let i = slot(token);
    let hit = CACHE.with(|c| {
        let c = c.borrow();
        c.get(i)
            .and_then(Option::as_ref)
            .filter(|e| e.owner == owner && &*e.token == token && in_time(e, now, jwt.leeway()))
            .map(|e| e.claims.clone())
    });
    if let Some(claims) = hit {
        return Ok(claims);
    }
    let claims = jwt.verify(token, now)?;
    if token.len() <= MAX_CACHED_TOKEN_BYTES {
        let nbf = claims
            .get("nbf")
            .and_then(serde_json::Value::as_f64)
            .map(|n| n.max(0.0).ceil() as u64);
        let entry = Entry {
            owner,
            token: token.into(),
            claims: claims.clone(),
            exp: claims.exp(),
            nbf,
        };
        CACHE.with(|c| {
            if let Some(s) = c.borrow_mut().get_mut(i) {
                *s = Some(entry);
            }
        });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    const SECRET: &[u8] = b"cache-test-secret-0123456789abcdef01";

    fn token(exp: u64) -> String {
        let mut m = Map::new();
        m.insert("sub".into(), json!("a"));
        m.insert("exp".into(), json!(exp));
        JwtConfig::new(SECRET).unwrap().sign(&m)
    }

    #[test]
    fn hits_until_expiry_then_refuses() {
        let jwt = JwtConfig::new(SECRET).unwrap();
        let t = token(1_000);
        assert_eq!(verify(1, &jwt, &t, 900).unwrap().sub(), Some("a"));
        // Cached: still valid within the leeway…
        assert!(verify(1, &jwt, &t, 1_060).is_ok());
        // …and refused after it, exactly as without the cache.
        assert_eq!(verify(1, &jwt, &t, 1_061), Err(JwtError::Expired));
    }

    #[test]
    fn entries_belong_to_one_server() {
        let jwt = JwtConfig::new(SECRET).unwrap();
        let other = JwtConfig::new(b"a-completely-different-secret-01234").unwrap();
        let t = token(u64::MAX / 2);
        assert!(verify(7, &jwt, &t, 0).is_ok());
        assert!(
            verify(8, &other, &t, 0).is_err(),
            "another server's key must verify it again"
        );
    }

    #[test]
    fn tampered_tokens_never_hit() {
        let jwt = JwtConfig::new(SECRET).unwrap();
        let t = token(u64::MAX / 2);
        assert!(verify(3, &jwt, &t, 0).is_ok());
        let mut forged = t.clone();
        forged.insert(t.find('.').unwrap() + 2, 'x');
        assert!(verify(3, &jwt, &forged, 0).is_err());
    }
}
