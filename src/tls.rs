//! What every TLS client of ours starts from: rustls over aws-lc-rs with
//! its safe default protocol versions, and the Mozilla roots for a server
//! checked without a CA of the operator's. Postgres (`storage::tls`) and
//! SMTP's implicit TLS (`mailer::smtp`) build on it.

use std::sync::Arc;

use rustls::client::WantsClientCert;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, WantsVerifier};

/// The crypto provider and a config builder that still needs its
/// certificate check.
pub(crate) fn builder() -> Result<
    (
        Arc<CryptoProvider>,
        ConfigBuilder<ClientConfig, WantsVerifier>,
    ),
    rustls::Error,
> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    Ok((provider, builder))
}

/// Certificates checked against the Mozilla roots (`webpki-roots`).
pub(crate) fn mozilla_roots(
    builder: ConfigBuilder<ClientConfig, WantsVerifier>,
) -> ConfigBuilder<ClientConfig, WantsClientCert> {
    builder.with_root_certificates(RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
}
