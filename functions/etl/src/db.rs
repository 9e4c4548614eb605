//! Connecting to the warehouse, and the limits every ETL session runs under.
//! TLS follows the connection's `sslmode` the
//! way libpq does for `prefer` and `require`: the channel is encrypted, the
//! server's certificate is not checked against a CA (the warehouse's
//! certificate is self-signed, reached only inside the VPC). `disable`
//! (local development) uses no TLS.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
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

/// Connects with TCP keepalives on and drives the connection in the background.
pub async fn connect(config: &tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
    let mut config = config.clone();
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
        .with_no_client_auth();
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
