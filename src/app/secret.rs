//! The token verifier and signer of a running server.

use std::io::Read;
use std::time::Duration;

use serde_json::json;

use crate::auth::{unix_now, JwtConfig, JwtError};
use crate::config::JwtSettings;
use crate::error::StartError;
use crate::log::Logger;

/// The verifier the settings describe, and the secret that signs; without
/// a configured secret, a random one for this process, announced with a
/// ready-to-use token.
pub(super) fn jwt_config(
    settings: &JwtSettings,
    log: &Logger,
) -> Result<(JwtConfig, Vec<u8>), StartError> {
    let invalid = |e: JwtError| StartError::declaration(Some("LIGHTAPI_JWT_SECRET"), e);
    let generated = settings.secrets.is_empty();
    let secrets: Vec<Vec<u8>> = if generated {
        vec![random_secret().map_err(|e| {
            StartError::declaration(
                Some("LIGHTAPI_JWT_SECRET"),
                format!("not set, and no random secret could be generated: {e}"),
            )
        })?]
    } else {
        settings
            .secrets
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect()
    };
    let mut iter = secrets.iter();
    let first = iter.next().map(Vec::as_slice).unwrap_or_default();
    let mut jwt = JwtConfig::new(first).map_err(invalid)?;
    for s in iter {
        jwt = jwt.with_accepted_secret(s).map_err(invalid)?;
    }
    jwt = jwt
        .with_require_exp(settings.require_exp)
        .with_leeway(settings.leeway);
    if let Some(iss) = &settings.issuer {
        jwt = jwt.with_issuer(iss.clone());
    }
    if let Some(aud) = &settings.audience {
        jwt = jwt.with_audience(aud.clone());
    }
    if generated {
        let mut extra = serde_json::Map::new();
        extra.insert("is_admin".into(), json!(true));
        let ttl = Duration::from_secs(3600);
        let token = jwt.sign_subject("dev", ttl, unix_now(), extra);
        log.warn(&format!(
            "LIGHTAPI_JWT_SECRET is not set: generated a random secret for this process only \
             (tokens stop working at restart). An admin token valid for 1 hour: {token} \
             (use: curl -H 'Authorization: Bearer {token}' ...). \
             For a persistent secret: export LIGHTAPI_JWT_SECRET=$(openssl rand -hex 32)"
        ));
    }
    Ok((jwt, first.to_vec()))
}

/// 32 random bytes from the operating system, hex-encoded.
fn random_secret() -> std::io::Result<Vec<u8>> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(crate::hex::encode(&bytes).into_bytes())
}
