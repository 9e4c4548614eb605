//! Connecting to the warehouse, and the limits every ETL session runs under.
//!
//! Two ways to trust the server:
//! - [`connect_verified`], the deployed function: TLS is required and the
//!   server's certificate must chain to the warehouse instance's own CA (which
//!   the instance publishes with the login) and name the host, as libpq's
//!   `sslmode=verify-full` does. A server that offers no TLS, or another
//!   certificate, is refused.
//! - [`connect`], a URL an operator or the local platform gives: its `sslmode`
//!   as libpq reads `disable`, `prefer` and `require` (encrypted, the
//!   certificate not checked against a CA).

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres::Client;

/// The error with its causes, e.g. `db error: ERROR: canceling statement
/// due to lock timeout` where its own message says only `db error`.
pub fn describe(error: &tokio_postgres::Error) -> String {
    std::iter::successors(Some(error as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// TCP keepalives, both ways: the ETL notices a warehouse that vanished
/// (an instance stopped, a network path gone) within about a minute instead
/// of waiting on a read until its deadline, and the server notices a
/// function that vanished and ends its session, which frees the run lock.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;

/// How long the ETL's statements may run and wait. They are well under the
/// function's timeout (60 to 900 s, 300 by default): a stuck statement
/// fails the run with PostgreSQL's reason instead of the function dying at
/// its deadline with nothing recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// One statement; the longest is the rebuild after a large backfill.
    pub statement: Duration,
    /// Waiting for a lock another session holds (a migration, a manual
    /// `LOCK`, a long dashboard query in the way of a new partition).
    pub lock: Duration,
    /// A transaction left open between statements (a client stopped mid-batch).
    pub idle_in_transaction: Duration,
    /// The session waiting for its client's next statement outside a
    /// transaction: between batches a run is only ever that idle while it
    /// reads S3 (under a minute, the call and body timeouts), so a session
    /// idle for longer lost its client, and ending it frees the run lock
    /// (keepalives end it too, unless something on the path answers them).
    pub idle_session: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            statement: Duration::from_secs(120),
            lock: Duration::from_secs(10),
            idle_in_transaction: Duration::from_secs(60),
            idle_session: Duration::from_secs(300),
        }
    }
}

impl SessionLimits {
    /// These limits, none of the statement's longer than a third of
    /// `run_time` (the time the function has left), so a statement that
    /// times out still leaves the run the time to record its failure. The
    /// idle session's stays: it must outlast the run's S3 reads.
    pub fn within(self, run_time: Duration) -> SessionLimits {
        let third = (run_time / 3).max(Duration::from_secs(1));
        SessionLimits {
            statement: self.statement.min(third),
            lock: self.lock.min(third),
            idle_in_transaction: self.idle_in_transaction.min(third),
            idle_session: self.idle_session,
        }
    }

    /// Sets the limits, and the server's keepalives, on the session.
    pub async fn apply(&self, client: &Client) -> Result<(), tokio_postgres::Error> {
        let ms = |d: Duration| d.as_millis();
        client
            .batch_execute(&format!(
                "SET statement_timeout = {};
                 SET lock_timeout = {};
                 SET idle_in_transaction_session_timeout = {};
                 SET idle_session_timeout = {};
                 SET tcp_keepalives_idle = {};
                 SET tcp_keepalives_interval = {};
                 SET tcp_keepalives_count = {KEEPALIVE_RETRIES};",
                ms(self.statement),
                ms(self.lock),
                ms(self.idle_in_transaction),
                ms(self.idle_session),
                KEEPALIVE_IDLE.as_secs(),
                KEEPALIVE_INTERVAL.as_secs(),
            ))
            .await
    }
}

/// Connects as the URL's `sslmode` says (see the module's documentation).
pub async fn connect(config: &tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
    let provider = crypto_provider();
    let tls = client_config(&provider)
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
        .with_no_client_auth();
    connect_with(config, tls).await
}

/// Connects over TLS only, to a server whose certificate chains to one of
/// `roots` and names the configured host (libpq's `verify-full`).
pub async fn connect_verified(
    config: &tokio_postgres::Config,
    roots: TrustedRoots,
) -> Result<Client, tokio_postgres::Error> {
    let tls = client_config(&crypto_provider())
        .with_root_certificates(roots.0)
        .with_no_client_auth();
    let mut config = config.clone();
    config.ssl_mode(SslMode::Require);
    connect_with(&config, tls).await
}

/// The certificates a verified connection trusts: the warehouse instance's CA.
#[derive(Debug, Clone)]
pub struct TrustedRoots(Arc<RootCertStore>);

#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("it holds no PEM certificate")]
    NoCertificate,
    #[error("a certificate in it cannot be read: {0}")]
    Unreadable(String),
}

impl TrustedRoots {
    /// The certificates of a PEM text (one or more `BEGIN CERTIFICATE` blocks).
    pub fn from_pem(pem: &str) -> Result<TrustedRoots, RootsError> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let certificate = certificate.map_err(|e| RootsError::Unreadable(e.to_string()))?;
            roots
                .add(certificate)
                .map_err(|e| RootsError::Unreadable(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(RootsError::NoCertificate);
        }
        Ok(TrustedRoots(Arc::new(roots)))
    }
}

fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn client_config(
    provider: &Arc<CryptoProvider>,
) -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default protocol versions")
}

/// Connects with TCP keepalives on and drives the connection in the background.
async fn connect_with(
    config: &tokio_postgres::Config,
    tls: ClientConfig,
) -> Result<Client, tokio_postgres::Error> {
    let mut config = config.clone();
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES);
    let (client, connection) = config
        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "the database connection ended");
        }
    });
    Ok(client)
}

/// Accepts the server's certificate, still verifying that the server holds
/// its key (handshake signatures), as libpq's `sslmode=require` does.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

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
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
