//! TLS to PostgreSQL and MySQL/MariaDB: the URL's `sslmode=` and
//! `sslrootcert=` parameters, read once for both schemes, and what each
//! driver connects with (`pg`, `my`), on rustls.
//!
//! - `sslmode=disable` (the default): plain TCP;
//! - `prefer`: TLS when the server offers it, without certificate checks,
//!   else plain TCP;
//! - `require`: TLS without certificate checks; a server without TLS is
//!   refused;
//! - `verify-ca`: TLS, the certificate chains to a trusted root, any name;
//! - `verify-full`: as `verify-ca`, and the certificate names the host.
//!
//! MySQL's spelling is accepted too: `ssl-mode=DISABLED | PREFERRED |
//! REQUIRED | VERIFY_CA | VERIFY_IDENTITY`. The trusted roots are the PEM
//! file `sslrootcert=/path/ca.pem` (`ssl-ca=` for MySQL), else the Mozilla
//! roots compiled in (webpki-roots).

use std::path::PathBuf;

use super::BackendError;
use crate::http::query::decode_component;

#[cfg(feature = "mysql")]
pub(crate) mod my;
#[cfg(feature = "postgres")]
pub(crate) mod pg;
#[cfg(feature = "postgres")]
mod verify;

/// The URL parameters that choose the mode.
const MODE_KEYS: [&str; 3] = ["sslmode", "ssl-mode", "ssl_mode"];
/// The URL parameters that name the trusted roots.
const ROOT_KEYS: [&str; 3] = ["sslrootcert", "ssl-ca", "ssl_ca"];
/// The accepted `sslmode` values, for the error message.
const MODES: &str = "disable, prefer, require, verify-ca or verify-full \
                     (MySQL spelling: DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)";

/// How a connection uses TLS, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS if the server offers it, unchecked; else plain TCP.
    Prefer,
    /// TLS, unchecked; no plain fallback.
    Require,
    /// TLS with a certificate chaining to a trusted root, for any name.
    VerifyCa,
    /// TLS with a certificate chaining to a trusted root for the host name.
    VerifyFull,
}

impl SslMode {
    /// Reads a mode in libpq's or MySQL's spelling (case-insensitive).
    fn parse(value: &str) -> Option<SslMode> {
        Some(
            match value.to_ascii_lowercase().replace('_', "-").as_str() {
                "disable" | "disabled" => SslMode::Disable,
                "prefer" | "preferred" => SslMode::Prefer,
                "require" | "required" => SslMode::Require,
                "verify-ca" => SslMode::VerifyCa,
                "verify-full" | "verify-identity" => SslMode::VerifyFull,
                _ => return None,
            },
        )
    }
}

/// The TLS parameters of a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// How the connection uses TLS.
    pub(crate) mode: SslMode,
    /// The PEM file of the trusted roots (verify modes); `None` for the
    /// compiled-in Mozilla roots.
    pub(crate) root_cert: Option<PathBuf>,
}

/// Takes the TLS parameters out of a database URL's query, leaving the
/// rest (and the URL without a `?` when nothing is left) for the driver.
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] for an unknown mode, an empty or
/// badly escaped root file name, or a parameter given twice.
pub(crate) fn split_params(url: &str) -> Result<(String, TlsSettings), BackendError> {
    let invalid = |reason: String| BackendError::InvalidUrl { reason };
    let mut settings = TlsSettings {
        mode: SslMode::Disable,
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), settings));
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let mut mode_seen = false;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if MODE_KEYS.contains(&key) {
            if mode_seen {
                return Err(invalid(format!("{key}= given twice")));
            }
            mode_seen = true;
            settings.mode = SslMode::parse(value)
                .ok_or_else(|| invalid(format!("unknown {key} `{value}` (expected {MODES})")))?;
        } else if ROOT_KEYS.contains(&key) {
            if settings.root_cert.is_some() {
                return Err(invalid(format!("{key}= given twice")));
            }
            let path = decode_component(value, false)
                .map_err(|_| invalid(format!("{key}= is not a valid escaped file name")))?;
            if path.is_empty() {
                return Err(invalid(format!("empty {key}= parameter")));
            }
            settings.root_cert = Some(PathBuf::from(path.into_owned()));
        } else {
            rest.push(pair);
        }
    }
    let mut url = base.to_owned();
    if !rest.is_empty() {
        url.push('?');
        url.push_str(&rest.join("&"));
    }
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    Ok((url, settings))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings(url: &str) -> (String, SslMode, Option<PathBuf>) {
        let (rest, s) = split_params(url).unwrap();
        (rest, s.mode, s.root_cert)
    }

    #[test]
    fn no_parameters_mean_plain_tcp_and_an_unchanged_url() {
        for url in [
            "postgres://u@h/db",
            "mysql://u@h/db?pool_max=3",
            "postgres://h/db?",
        ] {
            let (rest, mode, root) = settings(url);
            assert_eq!(mode, SslMode::Disable);
            assert_eq!(root, None);
            assert_eq!(rest, url.trim_end_matches('?'));
        }
    }

    #[test]
    fn reads_every_mode_in_both_spellings() {
        for (value, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
            ("DISABLED", SslMode::Disable),
            ("PREFERRED", SslMode::Prefer),
            ("REQUIRED", SslMode::Require),
            ("VERIFY_CA", SslMode::VerifyCa),
            ("VERIFY_IDENTITY", SslMode::VerifyFull),
        ] {
            for key in MODE_KEYS {
                let (rest, got, _) = settings(&format!("mysql://h/db?{key}={value}"));
                assert_eq!(got, mode, "{key}={value}");
                assert_eq!(rest, "mysql://h/db");
            }
        }
    }

    #[test]
    fn leaves_the_other_parameters_in_order() {
        let (rest, mode, root) = settings(
            "postgres://u@h/db?schema=s&sslmode=verify-full&connect_timeout=3\
             &sslrootcert=/tmp/a%20b+c/ca.pem#frag",
        );
        assert_eq!(rest, "postgres://u@h/db?schema=s&connect_timeout=3#frag");
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(root, Some(PathBuf::from("/tmp/a b+c/ca.pem")));
    }

    #[test]
    fn refuses_unknown_modes_naming_the_allowed_ones() {
        let err = split_params("postgres://h/db?sslmode=verify").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, BackendError::InvalidUrl { .. }));
        assert!(text.contains("`verify`"), "{text}");
        assert!(text.contains("verify-full"), "{text}");
        assert!(split_params("postgres://h/db?sslmode=").is_err());
    }

    #[test]
    fn refuses_repeats_empty_and_broken_root_files() {
        for url in [
            "postgres://h/db?sslmode=require&ssl-mode=REQUIRED",
            "postgres://h/db?sslrootcert=a&sslrootcert=b",
            "postgres://h/db?sslrootcert=",
            "postgres://h/db?sslrootcert=%zz",
            "postgres://h/db?sslrootcert=%c3",
        ] {
            assert!(
                matches!(split_params(url), Err(BackendError::InvalidUrl { .. })),
                "{url}"
            );
        }
    }
}
