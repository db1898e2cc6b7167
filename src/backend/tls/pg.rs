//! TLS for the PostgreSQL driver: a [`MakeTlsConnect`] over tokio-rustls,
//! and the driver's `sslmode` for each [`SslMode`].

use std::error::Error as _;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;
use tokio_rustls::client::TlsStream as RustlsStream;
use tokio_rustls::TlsConnector;

use super::{verify, SslMode, TlsSettings};
use crate::backend::BackendError;

/// Sets the driver's `sslmode` for `settings` and returns the connector to
/// connect with, or `None` for plain TCP.
///
/// # Errors
///
/// As [`verify::client_config`]: the root file cannot be used.
pub(crate) fn configure(
    config: &mut tokio_postgres::Config,
    settings: &TlsSettings,
) -> Result<Option<PgTls>, BackendError> {
    config.ssl_mode(match settings.mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
    });
    Ok(verify::client_config(settings)?.map(|config| PgTls { config }))
}

/// The error for a connect that failed setting up TLS (the server offers
/// none, or its certificate is refused), or `None` when it failed
/// otherwise (the network, the server, the login).
pub(crate) fn refusal(e: &tokio_postgres::Error) -> Option<BackendError> {
    // The driver displays its TLS errors as this, with the cause as source.
    if !e.to_string().starts_with("error performing TLS handshake") {
        return None;
    }
    let source = e.source()?;
    // A connection lost during the handshake is the network's doing;
    // rustls reports what it refuses as invalid data.
    let refused = source.downcast_ref::<io::Error>().is_none_or(|io| {
        matches!(
            io.kind(),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput
        )
    });
    refused.then(|| BackendError::Tls {
        cause: format!("{e}: {source}"),
    })
}

/// Makes TLS connections for the driver, one per host.
#[derive(Clone)]
pub(crate) struct PgTls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for PgTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgTls")
    }
}

/// One TLS connection to make, to the host it is checked against.
pub(crate) struct PgTlsConnect {
    config: Arc<ClientConfig>,
    /// `None` when the host is no DNS name or IP address (a Unix socket):
    /// connecting then fails, as a server there cannot be checked.
    name: Option<ServerName<'static>>,
}

impl MakeTlsConnect<Socket> for PgTls {
    type Stream = PgTlsStream;
    type TlsConnect = PgTlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<PgTlsConnect> {
        Ok(PgTlsConnect {
            config: Arc::clone(&self.config),
            name: ServerName::try_from(domain).ok().map(|n| n.to_owned()),
        })
    }
}

impl TlsConnect<Socket> for PgTlsConnect {
    type Stream = PgTlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<PgTlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        let connector = TlsConnector::from(self.config);
        Box::pin(async move {
            let name = self.name.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the host is not a name or address a certificate can hold",
                )
            })?;
            connector
                .connect(name, stream)
                .await
                .map(|s| PgTlsStream(Box::new(s)))
        })
    }
}

/// An established TLS connection to the server.
pub(crate) struct PgTlsStream(Box<RustlsStream<Socket>>);

impl TlsStream for PgTlsStream {
    /// No channel binding: SCRAM authenticates without it.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for PgTlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for PgTlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}
