//! Unit tests of signing and verification: the RFC 7515 example, round trips, and one test
//! per known attack. Vectors from an independent implementation live in
//! `tests/jwt_vectors.rs`.

use super::*;
use serde_json::json;
use sha2::Sha512;

const SECRET: &[u8] = b"unit-test-secret-0123456789abcdef";
const OTHER_SECRET: &[u8] = b"another-secret-0123456789abcdefgh";
const NOW: u64 = 1_700_000_000;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hs256(input: &str, secret: &[u8]) -> String {
    let mut mac = hmac_key(secret);
    mac.update(input.as_bytes());
    b64(mac.finalize().into_bytes())
}

/// A token with exactly this header and payload JSON, HS256-signed with `secret`.
fn token_with(header: &str, payload: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = hs256(&input, secret);
    format!("{input}.{signature}")
}

fn signed(payload: &Value) -> String {
    token_with(HEADER, &payload.to_string(), SECRET)
}

fn config() -> JwtConfig {
    JwtConfig::new(SECRET).unwrap()
}

fn valid_payload() -> Value {
    json!({"sub": "alice", "exp": NOW + 600})
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn check(token: &str) -> Result<Claims, JwtError> {
    verify(token, &config(), NOW)
}

/// Replaces part `index` (0, 1 or 2) of `token`.
fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

fn part(token: &str, index: usize) -> &str {
    token.split('.').nth(index).unwrap()
}

#[test]
fn rfc7515_appendix_a1_example_verifies() {
    // RFC 7515 §A.1.1: the compact serialization and the JWK "k" value, verbatim.
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let k =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    let key = URL_SAFE_NO_PAD.decode(k).unwrap();
    let config = JwtConfig::new(&key).unwrap().with_issuer("joe");
    let exp = 1_300_819_380;

    let claims = verify(token, &config, exp - 1).unwrap();
    assert_eq!(claims.get("iss"), Some(&json!("joe")));
    assert_eq!(claims.exp(), Some(exp));
    assert_eq!(claims.get("http://example.com/is_root"), Some(&json!(true)));

    assert!(verify(token, &config, exp + 60).is_ok());
    assert_eq!(verify(token, &config, exp + 61), Err(JwtError::Expired));
    let mut tampered = token.to_owned();
    // 'k' (36) becomes 'g' (32): still canonical, since the two unused bits stay zero.
    tampered.replace_range(tampered.len() - 1.., "g");
    assert_eq!(verify(&tampered, &config, exp), Err(JwtError::BadSignature));
}

#[test]
fn header_constant_is_the_encoding_of_the_header_json() {
    assert_eq!(b64(r#"{"alg":"HS256","typ":"JWT"}"#), HEADER_B64);
    assert_eq!(MAX_HEADER_B64_BYTES, 683);
    assert_eq!(b64([0u8; SIGNATURE_BYTES]).len(), SIGNATURE_B64_BYTES);
}

#[test]
fn sign_then_verify_round_trips() {
    let claims = map(json!({
        "sub": "alice",
        "exp": NOW + 60,
        "is_admin": true,
        "roles": ["a", "b"],
        "name": "Zoë \"quoted\" \u{1f600}",
    }));
    let token = config().sign(&claims);
    assert!(token.starts_with(&format!("{HEADER_B64}.")));
    let verified = check(&token).unwrap();
    assert_eq!(verified.as_map(), &claims);
    assert!(verified.is_admin());
}

#[test]
fn sign_subject_sets_sub_iat_exp_over_extra_claims() {
    let extra = map(json!({"sub": "mallory", "exp": 1, "scope": "read"}));
    let token = config().sign_subject("alice", Duration::from_secs(300), NOW, extra);
    let claims = check(&token).unwrap();
    assert_eq!(claims.sub(), Some("alice"));
    assert_eq!(claims.exp(), Some(NOW + 300));
    assert_eq!(claims.get("iat"), Some(&json!(NOW)));
    assert_eq!(claims.get("scope"), Some(&json!("read")));
}

#[test]
fn config_sign_subject_sets_configured_iss_and_aud() {
    let config = config().with_issuer("lightapi").with_audience("api");
    let token = config.sign_subject("alice", Duration::from_secs(60), NOW, Map::new());
    let claims = config.verify(&token, NOW).unwrap();
    assert_eq!(claims.get("iss"), Some(&json!("lightapi")));
    assert_eq!(claims.get("aud"), Some(&json!("api")));
}

#[test]
fn config_defaults_and_builders() {
    let config = config();
    assert!(config.require_exp());
    assert_eq!(config.leeway(), Duration::from_secs(60));
    assert_eq!(config.issuer(), None);
    assert_eq!(config.audience(), None);
    assert_eq!(config.secret_count(), 1);
    let config = config
        .with_require_exp(false)
        .with_leeway(Duration::from_secs(5))
        .with_issuer("i")
        .with_audience("a")
        .with_accepted_secret(OTHER_SECRET)
        .unwrap();
    assert!(!config.require_exp());
    assert_eq!(config.leeway(), Duration::from_secs(5));
    assert_eq!(config.issuer(), Some("i"));
    assert_eq!(config.audience(), Some("a"));
    assert_eq!(config.secret_count(), 2);
}

#[test]
fn config_debug_redacts_secrets() {
    let debug = format!("{:?}", config());
    assert!(debug.contains("redacted"), "{debug}");
    assert!(!debug.contains("unit-test-secret"), "{debug}");
    assert!(!debug.contains("117, 110, 105"), "{debug}");
}

#[test]
fn weak_secrets_are_refused() {
    let weak = JwtError::WeakSecret {
        min_bytes: 32,
        actual_bytes: 31,
    };
    assert_eq!(JwtConfig::new([0u8; 31]).unwrap_err(), weak);
    assert_eq!(
        JwtConfig::new(b"").unwrap_err(),
        JwtError::WeakSecret {
            min_bytes: 32,
            actual_bytes: 0
        }
    );
    assert!(JwtConfig::new([0u8; 32]).is_ok());
    assert_eq!(config().with_accepted_secret([0u8; 31]).unwrap_err(), weak);
}

#[test]
fn rejects_alg_none_without_signature() {
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(valid_payload().to_string())
    );
    assert!(matches!(
        check(&format!("{input}.")),
        Err(JwtError::Malformed { .. })
    ));
    assert!(matches!(check(&input), Err(JwtError::Malformed { .. })));
}

#[test]
fn rejects_alg_none_with_signature() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let token = token_with(&header, &valid_payload().to_string(), SECRET);
        assert_eq!(check(&token), Err(JwtError::UnsupportedAlgorithm), "{alg}");
    }
}

#[test]
fn rejects_rs256_header_with_hs256_signature() {
    // Algorithm confusion: an HMAC made with the secret (as if it were an RSA public key).
    let token = token_with(
        r#"{"alg":"RS256","typ":"JWT"}"#,
        &valid_payload().to_string(),
        SECRET,
    );
    assert_eq!(check(&token), Err(JwtError::UnsupportedAlgorithm));
}

#[test]
fn rejects_hs512() {
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"HS512","typ":"JWT"}"#),
        b64(valid_payload().to_string())
    );
    let mut mac = Hmac::<Sha512>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let token = format!("{input}.{}", b64(mac.finalize().into_bytes()));
    assert_eq!(check(&token), Err(JwtError::UnsupportedAlgorithm));
}

#[test]
fn rejects_missing_non_string_or_other_alg() {
    let headers = [
        r#"{"typ":"JWT"}"#,
        r#"{}"#,
        r#"{"alg":null}"#,
        r#"{"alg":256}"#,
        r#"{"alg":true}"#,
        r#"{"alg":["HS256"]}"#,
        r#"{"alg":{"name":"HS256"}}"#,
        r#"{"alg":"hs256"}"#,
        r#"{"alg":"HS256 "}"#,
        r#"{"alg":"HS384"}"#,
        r#"{"alg":"ES256"}"#,
        r#"{"alg":"PS256"}"#,
        r#"{"alg":"HS\u0032\u0035\u0036"}"#,
    ];
    for header in headers {
        let token = token_with(header, &valid_payload().to_string(), SECRET);
        assert_eq!(
            check(&token),
            Err(JwtError::UnsupportedAlgorithm),
            "{header}"
        );
    }
}

#[test]
fn rejects_malformed_headers() {
    let headers = [
        "",
        "[]",
        r#""HS256""#,
        "not json",
        r#"{"alg":"HS256""#,
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"\u0061lg":"none","alg":"HS256"}"#,
    ];
    for header in headers {
        let token = token_with(header, &valid_payload().to_string(), SECRET);
        assert!(
            matches!(check(&token), Err(JwtError::Malformed { .. })),
            "{header}: {:?}",
            check(&token)
        );
    }
}

#[test]
fn accepts_headers_with_other_members_and_whitespace() {
    let headers = [
        r#"{"alg":"HS256"}"#,
        r#"{"typ":"JWT","alg":"HS256"}"#,
        "{\r\n \"alg\" : \"HS256\" ,\n\t\"kid\":\"2024-01\"}",
        r#"{"alg":"HS256","jku":null,"x":[1,2.5,{"y":"\"z\""}]}"#,
    ];
    for header in headers {
        let token = token_with(header, &valid_payload().to_string(), SECRET);
        assert!(check(&token).is_ok(), "{header}: {:?}", check(&token));
    }
}

#[test]
fn rejects_oversized_header() {
    let header = format!(r#"{{"alg":"HS256","pad":"{}"}}"#, "x".repeat(600));
    let token = token_with(&header, &valid_payload().to_string(), SECRET);
    assert_eq!(
        check(&token),
        Err(JwtError::Malformed {
            reason: "header is too large"
        })
    );
    // Just under the cap is fine.
    let pad = MAX_HEADER_BYTES - r#"{"alg":"HS256","pad":""}"#.len();
    let header = format!(r#"{{"alg":"HS256","pad":"{}"}}"#, "x".repeat(pad));
    assert_eq!(header.len(), MAX_HEADER_BYTES);
    let token = token_with(&header, &valid_payload().to_string(), SECRET);
    assert!(check(&token).is_ok());
}

#[test]
fn rejects_unknown_crit() {
    let headers = [
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"HS256","crit":[]}"#,
        r#"{"crit":"x","alg":"HS256"}"#,
    ];
    for header in headers {
        let token = token_with(header, &valid_payload().to_string(), SECRET);
        assert_eq!(
            check(&token),
            Err(JwtError::UnsupportedCritical),
            "{header}"
        );
    }
    // The algorithm is checked first.
    let token = token_with(
        r#"{"alg":"none","crit":["x"]}"#,
        &valid_payload().to_string(),
        SECRET,
    );
    assert_eq!(check(&token), Err(JwtError::UnsupportedAlgorithm));
}

#[test]
fn rejects_tampered_header_payload_or_signature() {
    let good = signed(&valid_payload());
    assert!(check(&good).is_ok());

    let header = b64(r#"{"alg":"HS256","typ":"jwt"}"#);
    let payload = b64(json!({"sub": "admin", "exp": NOW + 600}).to_string());
    let signature = part(&good, 2);
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered_signature = format!("{flipped}{}", &signature[1..]);
    let cases = [
        with_part(&good, 0, &header),
        with_part(&good, 1, &payload),
        with_part(&good, 2, &tampered_signature),
        // Signature of the right length for HS512 / too short.
        with_part(&good, 2, &b64([0u8; 64])),
        with_part(&good, 2, &b64([0u8; 31])),
        with_part(&good, 2, "AAAA"),
    ];
    for token in cases {
        assert_eq!(check(&token), Err(JwtError::BadSignature), "{token}");
    }
}

#[test]
fn rejects_wrong_secret() {
    let token = token_with(HEADER, &valid_payload().to_string(), OTHER_SECRET);
    assert_eq!(check(&token), Err(JwtError::BadSignature));
}

#[test]
fn key_rotation_accepts_second_secret_and_signs_with_first() {
    let rotated = JwtConfig::new(OTHER_SECRET)
        .unwrap()
        .with_accepted_secret(SECRET)
        .unwrap();
    let old_token = signed(&valid_payload());
    assert!(rotated.verify(&old_token, NOW).is_ok());

    let new_token = rotated.sign(&map(valid_payload()));
    assert!(JwtConfig::new(OTHER_SECRET)
        .unwrap()
        .verify(&new_token, NOW)
        .is_ok());
    assert_eq!(check(&new_token), Err(JwtError::BadSignature));
}

#[test]
fn rejects_padding() {
    let good = signed(&json!({"sub": "ab", "exp": NOW + 600}));
    for index in 0..3 {
        for padding in ["=", "==", "%3D"] {
            let padded = format!("{}{padding}", part(&good, index));
            let token = with_part(&good, index, &padded);
            assert!(
                matches!(check(&token), Err(JwtError::Malformed { .. })),
                "part {index} + {padding}"
            );
        }
    }
}

#[test]
fn rejects_extra_or_missing_parts() {
    let good = signed(&valid_payload());
    let cases = [
        format!("{good}.{}", part(&good, 2)),
        format!("{good}."),
        format!(".{good}"),
        format!("{}.{}", part(&good, 0), part(&good, 1)),
        part(&good, 0).to_owned(),
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
    ];
    for token in cases {
        assert!(
            matches!(check(&token), Err(JwtError::Malformed { .. })),
            "{token:?}"
        );
    }
}

#[test]
fn rejects_empty_parts() {
    let good = signed(&valid_payload());
    for index in 0..3 {
        assert_eq!(
            check(&with_part(&good, index, "")),
            Err(JwtError::Malformed {
                reason: "empty part"
            }),
            "part {index}"
        );
    }
}

#[test]
fn rejects_bytes_outside_the_url_safe_alphabet() {
    let good = signed(&valid_payload());
    for index in 0..3 {
        for byte in ["+", "/", " ", "\n", "\0", "é", "*"] {
            let original = part(&good, index);
            let changed = format!("{byte}{}", &original[1..]);
            let token = with_part(&good, index, &changed);
            assert_eq!(
                check(&token),
                Err(JwtError::Malformed {
                    reason: "invalid base64url"
                }),
                "part {index} with {byte:?}"
            );
        }
    }
}

#[test]
fn rejects_non_canonical_base64() {
    let good = signed(&json!({"sub": "a", "exp": NOW + 600}));
    for index in 0..3 {
        let original = part(&good, index);
        let unused_bits = match original.len() % 4 {
            2 => 0b1111,
            3 => 0b11,
            _ => continue,
        };
        let last = original.as_bytes()[original.len() - 1];
        let value = URL_SAFE_NO_PAD_ALPHABET
            .iter()
            .position(|&c| c == last)
            .unwrap();
        assert_eq!(value & unused_bits, 0, "sign() emits canonical base64");
        let sloppy = URL_SAFE_NO_PAD_ALPHABET[value | 1] as char;
        let changed = format!("{}{sloppy}", &original[..original.len() - 1]);
        let token = with_part(&good, index, &changed);
        assert_eq!(
            check(&token),
            Err(JwtError::Malformed {
                reason: "invalid base64url"
            }),
            "part {index}"
        );
    }
    // A part whose length is 1 mod 4 cannot be base64 at all.
    let token = with_part(&good, 1, &format!("{}A", part(&good, 1)));
    if part(&token, 1).len() % 4 == 1 {
        assert!(matches!(check(&token), Err(JwtError::Malformed { .. })));
    }
    assert!(matches!(
        check(&with_part(&good, 1, "A")),
        Err(JwtError::Malformed { .. })
    ));
}

const URL_SAFE_NO_PAD_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[test]
fn rejects_oversized_token_before_decoding() {
    // Not even base64: only the size is looked at.
    let garbage = "!".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(
        check(&garbage),
        Err(JwtError::TooLarge {
            limit: MAX_TOKEN_BYTES
        })
    );
    // A validly signed token just over the limit is rejected too; one at the limit passes.
    let sized = |target: usize| {
        (0..MAX_TOKEN_BYTES)
            .map(|pad| signed(&json!({"exp": NOW + 600, "pad": "x".repeat(pad)})))
            .find(|token| token.len() == target)
            .unwrap()
    };
    assert!(check(&sized(MAX_TOKEN_BYTES)).is_ok());
    assert_eq!(
        check(&sized(MAX_TOKEN_BYTES + 1)),
        Err(JwtError::TooLarge {
            limit: MAX_TOKEN_BYTES
        })
    );
}

#[test]
fn rejects_non_object_payload() {
    for payload in [
        "[]", r#""sub""#, "1", "null", "true", "not json", "{", "", "{}x",
    ] {
        let token = token_with(HEADER, payload, SECRET);
        let result = check(&token);
        if payload.is_empty() {
            // An empty payload is an empty part.
            assert!(matches!(result, Err(JwtError::Malformed { .. })));
        } else {
            assert_eq!(
                result,
                Err(JwtError::Malformed {
                    reason: "payload is not a json object"
                }),
                "{payload}"
            );
        }
    }
}

#[test]
fn payload_is_not_parsed_before_the_signature_is_verified() {
    // Garbage JSON under a wrong signature reports the signature, not the JSON.
    let token = token_with(HEADER, "not json", OTHER_SECRET);
    assert_eq!(check(&token), Err(JwtError::BadSignature));
}

#[test]
fn exp_and_leeway() {
    let exp = NOW;
    // (exp claim, now, leeway seconds, expected)
    let cases: &[(Value, u64, u64, Result<(), JwtError>)] = &[
        (json!(exp), exp, 60, Ok(())),
        (json!(exp), exp + 60, 60, Ok(())),
        (json!(exp), exp + 61, 60, Err(JwtError::Expired)),
        (json!(exp), exp, 0, Ok(())),
        (json!(exp), exp + 1, 0, Err(JwtError::Expired)),
        (json!(exp as f64 + 0.5), exp + 60, 60, Ok(())),
        (
            json!(exp as f64 + 0.5),
            exp + 61,
            60,
            Err(JwtError::Expired),
        ),
        (
            json!(exp as f64 - 0.5),
            exp + 60,
            60,
            Err(JwtError::Expired),
        ),
        (json!(1e300), exp, 60, Ok(())),
        (json!(0), exp, 60, Err(JwtError::Expired)),
        (json!(-1), 0, 60, Ok(())),
        (json!(-61), 0, 60, Err(JwtError::Expired)),
        (json!(u64::MAX), u64::MAX, 60, Ok(())),
        (json!(0), u64::MAX, 60, Err(JwtError::Expired)),
        (json!(0), u64::MAX, u64::MAX, Ok(())),
    ];
    for (claim, now, leeway, expected) in cases {
        let config = config().with_leeway(Duration::from_secs(*leeway));
        let token = signed(&json!({"exp": claim}));
        let result = verify(&token, &config, *now).map(|_| ());
        assert_eq!(&result, expected, "exp {claim} at {now} leeway {leeway}");
    }
}

#[test]
fn nbf_and_leeway() {
    // (nbf claim, now, expected)
    let cases: &[(Value, u64, Result<(), JwtError>)] = &[
        (json!(NOW), NOW, Ok(())),
        (json!(NOW + 60), NOW, Ok(())),
        (json!(NOW + 61), NOW, Err(JwtError::NotYetValid)),
        (json!(NOW as f64 + 60.5), NOW, Err(JwtError::NotYetValid)),
        (json!(NOW as f64 + 59.5), NOW, Ok(())),
        (json!(0), NOW, Ok(())),
        (json!(-5), NOW, Ok(())),
        (json!(1e300), NOW, Err(JwtError::NotYetValid)),
    ];
    for (claim, now, expected) in cases {
        let token = signed(&json!({"exp": NOW + 600, "nbf": claim}));
        let result = verify(&token, &config(), *now).map(|_| ());
        assert_eq!(&result, expected, "nbf {claim} at {now}");
    }
}

#[test]
fn numeric_dates_must_be_numbers() {
    let bad = [
        json!("1900000000"),
        json!(null),
        json!(true),
        json!([1]),
        json!({}),
    ];
    for value in bad {
        let token = signed(&json!({"exp": value}));
        assert_eq!(
            check(&token),
            Err(JwtError::InvalidClaim { claim: "exp" }),
            "exp {value}"
        );
        let token = signed(&json!({"exp": NOW + 600, "nbf": value}));
        assert_eq!(
            check(&token),
            Err(JwtError::InvalidClaim { claim: "nbf" }),
            "nbf {value}"
        );
    }
}

#[test]
fn missing_exp_depends_on_require_exp() {
    let token = signed(&json!({"sub": "alice"}));
    assert_eq!(check(&token), Err(JwtError::MissingClaim { claim: "exp" }));
    let lenient = config().with_require_exp(false);
    assert_eq!(lenient.verify(&token, NOW).unwrap().sub(), Some("alice"));
    // A present exp is still checked.
    let expired = signed(&json!({"exp": NOW - 61}));
    assert_eq!(lenient.verify(&expired, NOW), Err(JwtError::Expired));
}

#[test]
fn issuer_check() {
    let config = config().with_issuer("lightapi");
    let cases = [
        (json!({"exp": NOW + 60, "iss": "lightapi"}), Ok(())),
        (
            json!({"exp": NOW + 60, "iss": "other"}),
            Err(JwtError::WrongIssuer),
        ),
        (
            json!({"exp": NOW + 60, "iss": "Lightapi"}),
            Err(JwtError::WrongIssuer),
        ),
        (json!({"exp": NOW + 60}), Err(JwtError::WrongIssuer)),
        (
            json!({"exp": NOW + 60, "iss": ["lightapi"]}),
            Err(JwtError::InvalidClaim { claim: "iss" }),
        ),
    ];
    for (payload, expected) in cases {
        let result = config.verify(&signed(&payload), NOW).map(|_| ());
        assert_eq!(result, expected, "{payload}");
    }
    // Without a configured issuer any iss is accepted.
    assert!(check(&signed(&json!({"exp": NOW + 60, "iss": 5}))).is_ok());
}

#[test]
fn audience_check() {
    let config = config().with_audience("api");
    let cases = [
        (json!({"exp": NOW + 60, "aud": "api"}), Ok(())),
        (json!({"exp": NOW + 60, "aud": ["web", "api"]}), Ok(())),
        (
            json!({"exp": NOW + 60, "aud": "web"}),
            Err(JwtError::WrongAudience),
        ),
        (
            json!({"exp": NOW + 60, "aud": ["web"]}),
            Err(JwtError::WrongAudience),
        ),
        (
            json!({"exp": NOW + 60, "aud": []}),
            Err(JwtError::WrongAudience),
        ),
        (json!({"exp": NOW + 60}), Err(JwtError::WrongAudience)),
        (
            json!({"exp": NOW + 60, "aud": ["api", 1]}),
            Err(JwtError::InvalidClaim { claim: "aud" }),
        ),
        (
            json!({"exp": NOW + 60, "aud": 1}),
            Err(JwtError::InvalidClaim { claim: "aud" }),
        ),
    ];
    for (payload, expected) in cases {
        let result = config.verify(&signed(&payload), NOW).map(|_| ());
        assert_eq!(result, expected, "{payload}");
    }
}

#[test]
fn checks_run_in_the_documented_order() {
    let unsigned_none = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"none"}"#),
        b64("[]"),
        b64([0u8; 32])
    );
    // (token, expected) where each token fails two checks; the earlier one wins.
    let cases = [
        // size before structure
        (
            "!".repeat(MAX_TOKEN_BYTES + 1),
            JwtError::TooLarge {
                limit: MAX_TOKEN_BYTES,
            },
        ),
        // structure (payload padding) before alg
        (
            with_part(&unsigned_none, 1, &format!("{}=", b64("[]"))),
            JwtError::Malformed {
                reason: "invalid base64url",
            },
        ),
        // alg before signature and payload
        (unsigned_none.clone(), JwtError::UnsupportedAlgorithm),
        // signature before payload
        (
            token_with(HEADER, "[]", OTHER_SECRET),
            JwtError::BadSignature,
        ),
        // payload shape before claims
        (
            token_with(HEADER, "[]", SECRET),
            JwtError::Malformed {
                reason: "payload is not a json object",
            },
        ),
        // exp before nbf, iss, aud
        (
            signed(&json!({"exp": NOW - 61, "nbf": NOW + 61})),
            JwtError::Expired,
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(check(&token), Err(expected));
    }
}

#[test]
fn errors_display_lowercase_without_period() {
    let errors = [
        JwtError::TooLarge { limit: 8192 },
        JwtError::Malformed {
            reason: "empty part",
        },
        JwtError::UnsupportedAlgorithm,
        JwtError::UnsupportedCritical,
        JwtError::BadSignature,
        JwtError::Expired,
        JwtError::NotYetValid,
        JwtError::MissingClaim { claim: "exp" },
        JwtError::InvalidClaim { claim: "exp" },
        JwtError::WrongIssuer,
        JwtError::WrongAudience,
        JwtError::WeakSecret {
            min_bytes: 32,
            actual_bytes: 3,
        },
    ];
    for error in errors {
        let text = error.to_string();
        let first = text.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{text}");
        assert!(!text.ends_with('.'), "{text}");
    }
}

#[test]
fn error_is_send_sync_static() {
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<JwtError>();
    fn assert_config<T: Send + Sync + Clone + fmt::Debug>() {}
    assert_config::<JwtConfig>();
}

#[test]
fn unix_now_is_after_2020() {
    assert!(unix_now() > 1_577_836_800);
}
