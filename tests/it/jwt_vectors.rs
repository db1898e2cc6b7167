//! Tokens made by an independent implementation (`tests/fixtures/gen_jwt_vectors.py`,
//! Python standard library only) verified through the public API.

use lightapi::auth::JwtConfig;

use crate::support::sign_subject;
use serde_json::Value;
use std::time::Duration;

const VECTORS: &str = include_str!("../fixtures/jwt_vectors.json");

fn config_for(vector: &Value) -> JwtConfig {
    let secret = vector["secret"].as_str().unwrap();
    let mut config = JwtConfig::new(secret.as_bytes()).unwrap();
    if let Some(issuer) = vector.get("issuer").and_then(Value::as_str) {
        config = config.with_issuer(issuer);
    }
    if let Some(audience) = vector.get("audience").and_then(Value::as_str) {
        config = config.with_audience(audience);
    }
    if let Some(require_exp) = vector.get("require_exp").and_then(Value::as_bool) {
        config = config.with_require_exp(require_exp);
    }
    if let Some(leeway) = vector.get("leeway").and_then(Value::as_u64) {
        config = config.with_leeway(Duration::from_secs(leeway));
    }
    config
}

#[test]
fn independent_vectors_verify_as_expected() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    assert!(vectors.len() >= 40, "only {} vectors", vectors.len());
    let mut failures = Vec::new();
    for vector in &vectors {
        let why = vector["why"].as_str().unwrap();
        let token = vector["token"].as_str().unwrap();
        let now = vector["now"].as_u64().unwrap();
        let valid = vector["valid"].as_bool().unwrap();
        let result = JwtConfig::verify(&config_for(vector), token, now);
        match (&result, valid) {
            (Ok(_), true) => {}
            (Err(error), false) => {
                // The variant name, e.g. "BadSignature" from `BadSignature` or
                // `Malformed { reason: .. }`.
                let debug = format!("{error:?}");
                let variant = debug.split([' ', '{']).next().unwrap_or_default();
                let expected = vector["error"].as_str().unwrap();
                if variant != expected {
                    failures.push(format!("{why}: expected {expected}, got {error:?}"));
                }
            }
            (Ok(_), false) => failures.push(format!("{why}: accepted an invalid token")),
            (Err(error), true) => failures.push(format!("{why}: rejected with {error:?}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn valid_vectors_expose_their_claims() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let vector = vectors
        .iter()
        .find(|v| v["why"] == "is_admin and nested claims")
        .unwrap();
    let claims = JwtConfig::verify(
        &config_for(vector),
        vector["token"].as_str().unwrap(),
        vector["now"].as_u64().unwrap(),
    )
    .unwrap();
    assert_eq!(claims.sub(), Some("root"));
    assert!(claims.is_admin());
    assert_eq!(claims.get("perm"), Some(&serde_json::json!({"a": [1, 2]})));
}

#[test]
fn tokens_signed_here_verify_in_the_same_way_as_the_vectors() {
    let secret = b"vectors-secret-0123456789abcdef!";
    let config = JwtConfig::new(secret).unwrap();
    let token = sign_subject(
        "alice",
        Duration::from_secs(600),
        1_700_000_000,
        Default::default(),
        secret,
    );
    let claims = JwtConfig::verify(&config, &token, 1_700_000_000).unwrap();
    assert_eq!(claims.exp(), Some(1_700_000_600));
}
