//! The rustls client configuration for each [`SslMode`]: which server
//! certificates are accepted, on the ring crypto provider.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::{SslMode, TlsSettings};
use crate::backend::BackendError;

/// The client configuration for `settings`, or `None` for
/// [`SslMode::Disable`].
///
/// # Errors
///
/// [`BackendError::InvalidUrl`] when the root file cannot be read or holds
/// no usable certificate.
pub(super) fn client_config(
    settings: &TlsSettings,
) -> Result<Option<Arc<ClientConfig>>, BackendError> {
    // ring rather than aws-lc-rs: no CMake or C++ toolchain to build, and
    // the same provider the MySQL driver's TLS uses; its lack of
    // post-quantum key exchange is why rustls marks it deprecated.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| BackendError::Internal {
            cause: format!("TLS configuration: {e}"),
        })?;
    let config = match settings.mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName {
                roots: None,
                provider,
            }))
            .with_no_client_auth(),
        SslMode::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName {
                roots: Some(roots(settings)?),
                provider,
            }))
            .with_no_client_auth(),
        SslMode::VerifyFull => builder
            .with_root_certificates(roots(settings)?)
            .with_no_client_auth(),
    };
    Ok(Some(Arc::new(config)))
}

/// The trusted roots: the URL's PEM file, else the Mozilla roots.
fn roots(settings: &TlsSettings) -> Result<RootCertStore, BackendError> {
    let mut store = RootCertStore::empty();
    let Some(path) = &settings.root_cert else {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(store);
    };
    let invalid = |why: String| BackendError::InvalidUrl {
        reason: format!("sslrootcert {}: {why}", path.display()),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid("holds no PEM certificate".to_owned()));
    }
    for cert in certs {
        store.add(cert).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(store)
}

/// A verifier that checks no name: `verify-ca` (a certificate chaining to
/// one of `roots`), or with no roots `require`/`prefer` (any
/// certificate). Either way the server must prove it holds the
/// certificate's key (the handshake signature is checked).
struct AnyName {
    roots: Option<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for AnyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyName")
            .field("roots", &self.roots.as_ref().map(RootCertStore::len))
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
