//! PostgreSQL servers of a test's own that serve the certificate the
//! warehouse bootstrap makes: its `warehouse-tls` step, rendered from
//! examples/sbw.yaml and run by bash here, this machine standing in for the
//! instance (`HOST_NAME` and `HOST_IPV4` as the instance metadata gives them).

use std::path::{Path, PathBuf};

use sbw_testkit::pg_server::PgServer;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sbw.yaml");

/// A server whose certificate names `host_name` and `ipv4`, signed by a CA
/// of its own; it listens on 127.0.0.1.
pub struct TlsWarehouse {
    pub server: PgServer,
    /// The CA certificate the bootstrap publishes with the ETL's login.
    pub ca_pem: String,
    dir: PathBuf,
}

impl TlsWarehouse {
    pub fn start(host_name: &str, ipv4: &str) -> TlsWarehouse {
        let dir = std::env::temp_dir().join(format!("sbw-tls-{}", uuid::Uuid::new_v4().simple()));
        bootstrap_certificates(&dir, host_name, ipv4);
        let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let server = PgServer::start_with(&[
            ("ssl", "on"),
            ("ssl_cert_file", &file("server.crt")),
            ("ssl_key_file", &file("server.key")),
        ])
        .expect("a PostgreSQL server with TLS");
        let ca_pem = std::fs::read_to_string(dir.join("ca.crt")).expect("the CA certificate");
        TlsWarehouse {
            server,
            ca_pem,
            dir,
        }
    }
}

impl Drop for TlsWarehouse {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the bootstrap's certificate step into `dir`.
fn bootstrap_certificates(dir: &Path, host_name: &str, ipv4: &str) {
    let deployment =
        sbw_infra::config::load(Path::new(EXAMPLE), "prod", None).expect("examples/sbw.yaml loads");
    let step = sbw_infra::render::render(&deployment)
        .expect("examples/sbw.yaml renders")
        .warehouse_user_data_step("warehouse-tls")
        .expect("the bootstrap has a warehouse-tls step");
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{step}"))
        .env("TLS_DIR", dir)
        .env("HOST_NAME", host_name)
        .env("HOST_IPV4", ipv4)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "the warehouse-tls step failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
