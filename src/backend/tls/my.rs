//! TLS for the MySQL/MariaDB driver: its [`SslOpts`] for each [`SslMode`]
//! (the driver's own rustls connector), and `prefer`'s plain fallback.
//!
//! The driver always trusts the Mozilla roots (webpki-roots); a root file
//! adds its certificates to them.

use std::borrow::Cow;
use std::error::Error as _;
use std::path::Path;

use mysql::{DriverError, Opts, OptsBuilder, SslOpts};

use super::{SslMode, TlsSettings};
use crate::backend::BackendError;

/// What a MySQL connection is opened with.
#[derive(Debug, Clone)]
pub(crate) struct MyTls {
    /// The options of the first attempt (with TLS unless disabled).
    opts: Opts,
    /// `prefer`: the options without TLS, for a server that offers none.
    plain: Option<Opts>,
}

impl MyTls {
    /// Sets the TLS options of `opts` for `settings`. Without an `sslmode`
    /// the driver's own TLS parameters (`require_ssl`, …) stay as they were.
    ///
    /// # Errors
    ///
    /// [`BackendError::InvalidUrl`] when the root file cannot be read.
    pub(crate) fn new(opts: Opts, settings: &TlsSettings) -> Result<MyTls, BackendError> {
        if let Some(path) = &settings.root_cert {
            std::fs::File::open(path).map_err(|e| BackendError::InvalidUrl {
                reason: format!("ssl-ca {}: {e}", path.display()),
            })?;
        }
        let root = settings.root_cert.clone();
        let ssl = match settings.mode {
            SslMode::Disable => return Ok(MyTls { opts, plain: None }),
            SslMode::Prefer | SslMode::Require => {
                SslOpts::default().with_danger_accept_invalid_certs(true)
            }
            // The driver always trusts Mozilla's roots besides the root
            // file: without the name check, any certificate a public CA
            // issued, for any name, would pass.
            SslMode::VerifyCa => {
                return Err(BackendError::InvalidUrl {
                    reason: "sslmode=verify-ca is not offered on MySQL/MariaDB: the driver \
                             trusts the public web roots besides the root file, so without \
                             the name check any publicly issued certificate would pass; \
                             use verify-full"
                        .to_owned(),
                })
            }
            SslMode::VerifyFull => {
                SslOpts::default().with_root_cert_path(root.map(Cow::<'static, Path>::from))
            }
        };
        let plain = (settings.mode == SslMode::Prefer)
            .then(|| OptsBuilder::from_opts(opts.clone()).ssl_opts(None).into());
        Ok(MyTls {
            opts: OptsBuilder::from_opts(opts).ssl_opts(ssl).into(),
            plain,
        })
    }

    /// Opens a connection: with TLS as configured, and for `prefer`
    /// without it when the server offers none. A failed TLS set-up is
    /// [`BackendError::Tls`]; other errors go through `map_err`.
    ///
    /// # Errors
    ///
    /// [`BackendError::Tls`], or the driver's error as `map_err` maps it.
    pub(crate) fn connect(
        &self,
        map_err: impl FnOnce(mysql::Error) -> BackendError,
    ) -> Result<mysql::Conn, BackendError> {
        let result = match (mysql::Conn::new(self.opts.clone()), &self.plain) {
            (Err(mysql::Error::DriverError(DriverError::TlsNotSupported)), Some(plain)) => {
                mysql::Conn::new(plain.clone())
            }
            (result, _) => result,
        };
        result.map_err(|e| {
            if self.opts.get_ssl_opts().is_some() && is_tls_failure(&e) {
                BackendError::Tls {
                    cause: e.to_string(),
                }
            } else {
                map_err(e)
            }
        })
    }
}

/// Whether a connect error comes from TLS rather than from the network or
/// the server: no TLS on the server, a root file the driver cannot use,
/// or the handshake refused (rustls reports it as invalid data).
fn is_tls_failure(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::DriverError(DriverError::TlsNotSupported) | mysql::Error::TlsError(_) => true,
        mysql::Error::IoError(io) => io.kind() == std::io::ErrorKind::InvalidData,
        // The handshake's first read, through the packet codec.
        mysql::Error::CodecError(codec) => codec
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData),
        _ => false,
    }
}
