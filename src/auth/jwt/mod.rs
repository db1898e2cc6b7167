//! HS256 JSON Web Tokens (RFC 7519 over RFC 7515 compact serialization): sign and verify.
//!
//! Only HMAC-SHA-256 exists here. There is no algorithm negotiation: a token whose header
//! says anything but `"alg":"HS256"` is rejected before its signature is looked at, which
//! rules out `alg: none` and RS256/HS256 confusion by construction.
//!
//! Everything in this module is pure: the current time is a parameter (`now`, unix
//! seconds), so expiry is tested without sleeping. [`unix_now`] reads the system clock for
//! callers that need it.
//!
//! # Verification order
//!
//! [`verify`] checks, in this order, and stops at the first failure:
//!
//! 1. the token is at most [`MAX_TOKEN_BYTES`] long (a longer token is not read at all);
//! 2. it has exactly three non-empty parts, each canonical unpadded base64url;
//! 3. the header is a JSON object of at most [`MAX_HEADER_BYTES`] whose `alg` is exactly
//!    `"HS256"`, without a `crit` member (we implement no extension);
//! 4. the signature matches one of the accepted secrets (constant-time comparison);
//! 5. the payload is a JSON object — it is not parsed before the signature is verified;
//! 6. `exp`, `nbf`, `iss` and `aud`, as configured in [`JwtConfig`].
//!
//! Verification does not allocate except for the decoded payload, which becomes the
//! returned [`Claims`]: the header and signature are decoded into stack buffers and the
//! MAC runs over the token's own bytes with a key prepared once in [`JwtConfig`].
//!
//! # Example
//!
//! ```
//! use lightapi::auth::JwtConfig;
//! use std::time::Duration;
//!
//! let config = JwtConfig::new(b"0123456789abcdef0123456789abcdef".to_vec())?;
//! let now = 1_700_000_000;
//! let token = config.sign_subject("alice", Duration::from_secs(3600), now, Default::default());
//! let claims = config.verify(&token, now)?;
//! assert_eq!(claims.sub(), Some("alice"));
//! # Ok::<(), lightapi::auth::JwtError>(())
//! ```

mod claims;
mod header;

pub use claims::Claims;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Number, Value};
use sha2::Sha256;
use std::cmp::Ordering;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use header::Alg;

/// Tokens longer than this many bytes are rejected without being decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Decoded headers longer than this many bytes are rejected.
///
/// A real HS256 header is a few dozen bytes; the cap lets the header be decoded into a
/// stack buffer.
pub const MAX_HEADER_BYTES: usize = 512;

/// Shortest secret [`JwtConfig`] accepts: 32 bytes, the output size of SHA-256 (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// Default clock-skew allowance for `exp` and `nbf`: 60 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// The header every token signed here carries, `{"alg":"HS256","typ":"JWT"}`, in unpadded
/// base64url (a unit test checks the encoding).
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Length of an HMAC-SHA-256 tag.
const SIGNATURE_BYTES: usize = 32;

/// Length of an HMAC-SHA-256 tag in unpadded base64url: ceil(32 * 4 / 3).
const SIGNATURE_B64_BYTES: usize = 43;

/// Longest base64url text that decodes to at most `MAX_HEADER_BYTES`: ceil(512 * 4 / 3).
const MAX_HEADER_B64_BYTES: usize = (MAX_HEADER_BYTES * 4).div_ceil(3);

type HmacSha256 = Hmac<Sha256>;

/// Why a token or a secret was refused.
///
/// The variants are precise so that logs can tell what happened; the HTTP layer answers
/// every verification failure with the same generic `401`, so they never reach a client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than `limit` bytes and was not read.
    TooLarge {
        /// The limit in bytes ([`MAX_TOKEN_BYTES`]).
        limit: usize,
    },
    /// The token is not three canonical base64url parts with a JSON header and payload.
    Malformed {
        /// What was wrong, for logs.
        reason: &'static str,
    },
    /// The header's `alg` is missing, not a string, or not exactly `HS256`.
    UnsupportedAlgorithm,
    /// The header has a `crit` member: the token relies on an extension we do not implement.
    UnsupportedCritical,
    /// The signature matches none of the accepted secrets.
    BadSignature,
    /// The token's `exp` is past, even allowing for the leeway.
    Expired,
    /// The token's `nbf` is still in the future, even allowing for the leeway.
    NotYetValid,
    /// A required claim is absent.
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// A claim has the wrong type (for example a string `exp`).
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// The `iss` claim is absent or differs from the configured issuer.
    WrongIssuer,
    /// The `aud` claim is absent or does not name the configured audience.
    WrongAudience,
    /// A secret is too short to be safe for HS256.
    WeakSecret {
        /// The minimum length in bytes ([`MIN_SECRET_BYTES`]).
        min_bytes: usize,
        /// The length of the refused secret in bytes.
        actual_bytes: usize,
    },
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(f, "token is larger than {limit} bytes"),
            Self::Malformed { reason } => write!(f, "malformed token: {reason}"),
            Self::UnsupportedAlgorithm => f.write_str("token algorithm is not HS256"),
            Self::UnsupportedCritical => f.write_str("token has an unsupported crit header"),
            Self::BadSignature => f.write_str("token signature is invalid"),
            Self::Expired => f.write_str("token has expired"),
            Self::NotYetValid => f.write_str("token is not valid yet"),
            Self::MissingClaim { claim } => write!(f, "token has no {claim} claim"),
            Self::InvalidClaim { claim } => write!(f, "token claim {claim} has an invalid type"),
            Self::WrongIssuer => f.write_str("token issuer is not accepted"),
            Self::WrongAudience => f.write_str("token audience is not accepted"),
            Self::WeakSecret {
                min_bytes,
                actual_bytes,
            } => write!(
                f,
                "jwt secret is {actual_bytes} bytes, at least {min_bytes} are required"
            ),
        }
    }
}

impl std::error::Error for JwtError {}

/// How tokens are verified (and signed by [`JwtConfig::sign`]).
///
/// | setting       | default          | meaning                                              |
/// |---------------|------------------|------------------------------------------------------|
/// | secrets       | (required)       | accepted keys; the first signs, all verify (rotation) |
/// | `require_exp` | `true`           | a token without `exp` is rejected                    |
/// | `leeway`      | 60 s             | clock skew allowed on `exp` and `nbf`                |
/// | `issuer`      | `None`           | when set, `iss` must equal it                        |
/// | `audience`    | `None`           | when set, `aud` (string or array) must contain it    |
///
/// Each secret is turned into a keyed HMAC once, here, so verification does not repeat the
/// key schedule. `Debug` never prints the secrets.
#[derive(Clone)]
pub struct JwtConfig {
    /// Signs, and verifies.
    signing_key: HmacSha256,
    /// Also verify (older keys during a rotation).
    accepted_keys: Vec<HmacSha256>,
    require_exp: bool,
    leeway: Duration,
    issuer: Option<String>,
    audience: Option<String>,
}

impl JwtConfig {
    /// A configuration that signs and verifies with `secret`, with the defaults above.
    ///
    /// # Errors
    ///
    /// [`JwtError::WeakSecret`] when `secret` is shorter than [`MIN_SECRET_BYTES`].
    ///
    /// ```
    /// use lightapi::auth::{JwtConfig, JwtError};
    ///
    /// assert!(JwtConfig::new(vec![7u8; 32]).is_ok());
    /// assert!(matches!(JwtConfig::new(b"hunter2"), Err(JwtError::WeakSecret { .. })));
    /// ```
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        Ok(Self {
            signing_key: prepare_key(secret.as_ref())?,
            accepted_keys: Vec::new(),
            require_exp: true,
            leeway: DEFAULT_LEEWAY,
            issuer: None,
            audience: None,
        })
    }

    /// Also accepts tokens signed with `secret`, typically the previous key during a
    /// rotation. Signing keeps using the first secret.
    ///
    /// # Errors
    ///
    /// [`JwtError::WeakSecret`] when `secret` is shorter than [`MIN_SECRET_BYTES`].
    pub fn with_accepted_secret(mut self, secret: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        self.accepted_keys.push(prepare_key(secret.as_ref())?);
        Ok(self)
    }

    /// Whether a token must carry `exp` (default `true`).
    pub fn with_require_exp(mut self, require_exp: bool) -> Self {
        self.require_exp = require_exp;
        self
    }

    /// Clock skew allowed when checking `exp` and `nbf` (default 60 s). Whole seconds
    /// count; a fractional part is ignored.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires `iss` to equal `issuer`; [`JwtConfig::sign_subject`] then sets it.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to be `audience` or an array containing it;
    /// [`JwtConfig::sign_subject`] then sets it.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Whether a token must carry `exp`.
    pub fn require_exp(&self) -> bool {
        self.require_exp
    }

    /// The clock skew allowed on `exp` and `nbf`.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The required issuer, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The required audience, if any.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// How many secrets verification accepts (at least one).
    pub fn secret_count(&self) -> usize {
        1 + self.accepted_keys.len()
    }

    /// Signs `claims` as they are with the first secret.
    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        sign_with_key(claims, &self.signing_key)
    }

    /// Signs a token for `subject` valid for `ttl` from `now` (unix seconds) with the first
    /// secret: `extra` plus `sub`, `iat = now`, `exp = now + ttl`, and `iss`/`aud` when
    /// configured (these override the same names in `extra`). Sub-second parts of `ttl`
    /// are ignored.
    pub fn sign_subject(
        &self,
        subject: &str,
        ttl: Duration,
        now: u64,
        extra: Map<String, Value>,
    ) -> String {
        let mut claims = subject_claims(subject, ttl, now, extra);
        if let Some(issuer) = &self.issuer {
            claims.insert("iss".to_owned(), Value::from(issuer.as_str()));
        }
        if let Some(audience) = &self.audience {
            claims.insert("aud".to_owned(), Value::from(audience.as_str()));
        }
        self.sign(&claims)
    }

    /// Verifies `token` at `now`; see [`verify`].
    ///
    /// # Errors
    ///
    /// The first check that fails: size, structure, algorithm, signature, then
    /// the payload and its claims.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, JwtError> {
        verify(token, self, now)
    }
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtConfig")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secret_count()),
            )
            .field("require_exp", &self.require_exp)
            .field("leeway", &self.leeway)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// Checks the length of `secret` and keys an HMAC with it.
fn prepare_key(secret: &[u8]) -> Result<HmacSha256, JwtError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(JwtError::WeakSecret {
            min_bytes: MIN_SECRET_BYTES,
            actual_bytes: secret.len(),
        });
    }
    Ok(hmac_key(secret))
}

/// Keys an HMAC-SHA-256 with `secret`, whatever its length.
fn hmac_key(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (RFC 2104 §2: long keys are hashed, short ones
    // zero-padded), and `Hmac::new_from_slice` never fails; this is not input validation.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(secret).expect("hmac accepts keys of any length")
}

fn subject_claims(
    subject: &str,
    ttl: Duration,
    now: u64,
    mut claims: Map<String, Value>,
) -> Map<String, Value> {
    claims.insert("sub".to_owned(), Value::from(subject));
    claims.insert("iat".to_owned(), Value::from(now));
    claims.insert(
        "exp".to_owned(),
        Value::from(now.saturating_add(ttl.as_secs())),
    );
    claims
}

fn sign_with_key(claims: &Map<String, Value>, key: &HmacSha256) -> String {
    // Serializing a map with string keys into a Vec cannot fail.
    #[allow(clippy::expect_used)]
    let payload = serde_json::to_vec(claims).expect("a json map always serializes");
    let mut token = String::with_capacity(
        HEADER_B64.len() + 2 + payload.len().div_ceil(3) * 4 + SIGNATURE_B64_BYTES,
    );
    token.push_str(HEADER_B64);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let mut mac = key.clone();
    mac.update(token.as_bytes());
    let tag = mac.finalize().into_bytes();
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
}

/// The current time in unix seconds (0 if the clock is before 1970). The one impure
/// function here, for callers of [`verify`] and [`JwtConfig::sign_subject`].
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Verifies `token` against `config` at `now` (unix seconds) and returns its claims.
///
/// # Errors
///
/// The first failed check, in this order:
/// [`JwtError::TooLarge`], [`JwtError::Malformed`], [`JwtError::UnsupportedAlgorithm`],
/// [`JwtError::UnsupportedCritical`], [`JwtError::BadSignature`], then the payload and
/// claim errors.
///
/// ```
/// use lightapi::auth::{JwtConfig, JwtError};
///
/// let config = JwtConfig::new([1u8; 32])?;
/// assert_eq!(
///     config.verify("not.a.token", 0),
///     Err(JwtError::Malformed { reason: "invalid base64url" }),
/// );
/// # Ok::<(), JwtError>(())
/// ```
pub fn verify(token: &str, config: &JwtConfig, now: u64) -> Result<Claims, JwtError> {
    // 1. Size, before reading anything.
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::TooLarge {
            limit: MAX_TOKEN_BYTES,
        });
    }

    // 2. Structure: three non-empty canonical base64url parts.
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("token does not have three parts"));
    };
    for part in [header_b64, payload_b64, signature_b64] {
        check_base64url(part.as_bytes())?;
    }

    // 3. Header, decoded on the stack.
    if header_b64.len() > MAX_HEADER_B64_BYTES {
        return Err(malformed("header is too large"));
    }
    let mut header_buf = [0u8; MAX_HEADER_BYTES];
    let header_len = URL_SAFE_NO_PAD
        .decode_slice(header_b64, &mut header_buf)
        .map_err(|_| malformed("invalid base64url"))?;
    let header = header_buf
        .get(..header_len)
        .ok_or(malformed("header is too large"))?;
    let info = header::scan(header).map_err(malformed)?;
    if info.alg != Alg::Raw(b"HS256") {
        return Err(JwtError::UnsupportedAlgorithm);
    }
    if info.has_crit {
        return Err(JwtError::UnsupportedCritical);
    }

    // 4. Signature, decoded on the stack, MAC over the token's own bytes.
    if signature_b64.len() != SIGNATURE_B64_BYTES {
        return Err(JwtError::BadSignature);
    }
    let mut signature = [0u8; SIGNATURE_BYTES];
    match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
        Ok(SIGNATURE_BYTES) => {}
        _ => return Err(JwtError::BadSignature),
    }
    let signing_input = token
        .as_bytes()
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(malformed("token does not have three parts"))?;
    let mut keys = std::iter::once(&config.signing_key).chain(&config.accepted_keys);
    let signed_by_accepted_key = keys.any(|key| {
        let mut mac = key.clone();
        mac.update(signing_input);
        mac.verify_slice(&signature).is_ok()
    });
    if !signed_by_accepted_key {
        return Err(JwtError::BadSignature);
    }

    // 5. Payload, only now decoded and parsed.
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| malformed("invalid base64url"))?;
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&payload) else {
        return Err(malformed("payload is not a json object"));
    };

    // 6. Registered claims.
    check_claims(&claims, config, now)?;
    Ok(Claims::from_map(claims))
}

fn malformed(reason: &'static str) -> JwtError {
    JwtError::Malformed { reason }
}

/// Accepts only non-empty unpadded base64url whose unused trailing bits are zero, so each
/// value has exactly one encoding.
fn check_base64url(part: &[u8]) -> Result<(), JwtError> {
    if part.is_empty() {
        return Err(malformed("empty part"));
    }
    let mut last = 0u8;
    for &byte in part {
        last = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return Err(malformed("invalid base64url")),
        };
    }
    // The last character of a 2- or 3-character final group carries 4 or 2 unused bits.
    let canonical = match part.len() % 4 {
        0 => true,
        2 => last & 0b1111 == 0,
        3 => last & 0b11 == 0,
        _ => false,
    };
    if canonical {
        Ok(())
    } else {
        Err(malformed("invalid base64url"))
    }
}

/// Checks `exp`, `nbf`, `iss` and `aud` against `config` at `now`.
fn check_claims(claims: &Map<String, Value>, config: &JwtConfig, now: u64) -> Result<(), JwtError> {
    let now = i128::from(now);
    let leeway = i128::from(config.leeway.as_secs());

    match claims.get("exp") {
        Some(exp) => {
            let exp = numeric_date(exp, "exp")?;
            // now <= exp + leeway
            if !matches!(
                compare(exp, now - leeway),
                Some(Ordering::Greater | Ordering::Equal)
            ) {
                return Err(JwtError::Expired);
            }
        }
        None if config.require_exp => return Err(JwtError::MissingClaim { claim: "exp" }),
        None => {}
    }

    if let Some(nbf) = claims.get("nbf") {
        let nbf = numeric_date(nbf, "nbf")?;
        // now + leeway >= nbf
        if !matches!(
            compare(nbf, now + leeway),
            Some(Ordering::Less | Ordering::Equal)
        ) {
            return Err(JwtError::NotYetValid);
        }
    }

    if let Some(issuer) = &config.issuer {
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == issuer => {}
            Some(Value::String(_)) | None => return Err(JwtError::WrongIssuer),
            Some(_) => return Err(JwtError::InvalidClaim { claim: "iss" }),
        }
    }

    if let Some(audience) = &config.audience {
        let accepted = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => {
                let mut found = false;
                for aud in auds {
                    match aud {
                        Value::String(aud) => found |= aud == audience,
                        _ => return Err(JwtError::InvalidClaim { claim: "aud" }),
                    }
                }
                found
            }
            None => false,
            Some(_) => return Err(JwtError::InvalidClaim { claim: "aud" }),
        };
        if !accepted {
            return Err(JwtError::WrongAudience);
        }
    }
    Ok(())
}

/// A NumericDate claim (RFC 7519 §2): any JSON number, integer or not.
fn numeric_date<'a>(value: &'a Value, claim: &'static str) -> Result<&'a Number, JwtError> {
    value.as_number().ok_or(JwtError::InvalidClaim { claim })
}

/// Compares a JSON number with whole seconds; exact for integers. `None` (incomparable,
/// which JSON numbers never are) makes the callers reject the token.
fn compare(date: &Number, seconds: i128) -> Option<Ordering> {
    if let Some(date) = date.as_i64() {
        Some(i128::from(date).cmp(&seconds))
    } else if let Some(date) = date.as_u64() {
        Some(i128::from(date).cmp(&seconds))
    } else {
        // `seconds` is within u64 ± u64, so the conversion to f64 only rounds.
        date.as_f64()?.partial_cmp(&(seconds as f64))
    }
}

// Tests may unwrap: a panic is how they fail.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
