//! TLS for Postgres connections, over rustls (no libpq, no OpenSSL).
//!
//! Semantics follow libpq: `sslmode=prefer` (the default) and `require`
//! encrypt without checking the server's certificate, because managed
//! Postgres services commonly use private CAs. `sslmode=verify-full` (and
//! `verify-ca`, checked as strictly) verifies the chain and host name against
//! DATABASE_CA_FILE, or against the Mozilla roots when it is unset. Setting
//! DATABASE_CA_FILE alone also turns verification on.

use std::path::Path;
use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Splits libpq's `sslmode=verify-ca|verify-full`, which tokio-postgres does
/// not know, into `sslmode=require` plus "verify the certificate".
pub(crate) fn split_sslmode(url: &str) -> (String, bool) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), false);
    };
    let mut verify = false;
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair {
            "sslmode=verify-full" | "sslmode=verify-ca" => {
                verify = true;
                "sslmode=require".to_owned()
            }
            other => other.to_owned(),
        })
        .collect();
    (format!("{base}?{}", params.join("&")), verify)
}

/// Why the TLS settings for Postgres cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS protocol versions: {0}")]
    Protocol(#[source] rustls::Error),
    #[error("cannot read DATABASE_CA_FILE {path}: {source}")]
    ReadCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("DATABASE_CA_FILE {path}: {source}")]
    BadCa {
        path: String,
        #[source]
        source: rustls::Error,
    },
    #[error("DATABASE_CA_FILE {0} holds no PEM certificate")]
    NoCertificate(String),
}

pub(crate) fn client_config(
    ca_file: Option<&Path>,
    verify: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let (provider, builder) = crate::tls::builder().map_err(TlsError::Protocol)?;
    let config = match ca_file {
        Some(path) => {
            let shown = || path.display().to_string();
            let pem = std::fs::read(path).map_err(|source| TlsError::ReadCa {
                path: shown(),
                source,
            })?;
            let mut roots = RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|source| TlsError::ReadCa {
                    path: shown(),
                    source,
                })?;
                roots.add(cert).map_err(|source| TlsError::BadCa {
                    path: shown(),
                    source,
                })?;
            }
            if roots.is_empty() {
                return Err(TlsError::NoCertificate(shown()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None if verify => crate::tls::mozilla_roots(builder).with_no_client_auth(),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

pub(crate) async fn establish(
    url: String,
    tls: Arc<ClientConfig>,
) -> diesel::ConnectionResult<AsyncPgConnection> {
    let connector = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
    let (client, connection) = tokio_postgres::connect(&url, connector)
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// libpq's `sslmode=require`: the channel is encrypted and the handshake
/// signature checked, but the certificate chain is not.
#[derive(Debug)]
struct EncryptOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::split_sslmode;

    #[test]
    fn verify_modes_become_require_plus_verification() {
        assert_eq!(
            split_sslmode("postgres://u@h/db?sslmode=verify-full&application_name=x"),
            (
                "postgres://u@h/db?sslmode=require&application_name=x".to_owned(),
                true
            )
        );
        assert!(split_sslmode("postgres://u@h/db?sslmode=verify-ca").1);
        assert_eq!(
            split_sslmode("postgres://u@h/db?sslmode=require"),
            ("postgres://u@h/db?sslmode=require".to_owned(), false)
        );
        assert_eq!(
            split_sslmode("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), false)
        );
    }
}
