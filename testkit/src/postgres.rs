//! A throwaway warehouse database on the real PostgreSQL server, set up the
//! way the warehouse bootstrap sets up production: owned by the non-superuser
//! role `sbw_etl`, readable by the read-only role `sbw_dashboard`.
//!
//! The server is the one `scripts/test.sh` makes sure runs: `SBW_TEST_PG_URL`
//! (a superuser URL) or `postgresql://postgres@127.0.0.1:5432/postgres`.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

pub const ADMIN_URL_ENV: &str = "SBW_TEST_PG_URL";
const DEFAULT_ADMIN_URL: &str = "postgresql://postgres@127.0.0.1:5432/postgres";

/// The roles the warehouse bootstrap creates, created here if missing, and
/// the dashboard's read access in each new database (shared with the benchmarks).
const ROLES_SQL: &str = include_str!("../sql/roles.sql");
const GRANTS_SQL: &str = include_str!("../sql/grants.sql");

pub fn admin_url() -> String {
    std::env::var(ADMIN_URL_ENV).unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// The first column of every row `sql` returns, as text.
pub async fn texts(client: &Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Vec<String> {
    let rows = client.query(sql, params).await.unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

/// Connects and drives the connection on the current runtime.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A fresh database, dropped (with its connections) when this is dropped.
pub struct TestDb {
    pub name: String,
    admin_url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        TestDb::create_on(&admin_url()).await
    }

    /// A fresh database on the server of `admin_url` (a superuser URL), e.g.
    /// a test's own [`crate::pg_server::PgServer`].
    pub async fn create_on(admin_url: &str) -> TestDb {
        let admin_url = admin_url.to_owned();
        let admin = connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach PostgreSQL at {admin_url} ({e}); run the tests through \
                 scripts/test.sh, which starts one, or set {ADMIN_URL_ENV}"
            )
        });
        // Concurrent tests race to create the roles; a lost race is harmless.
        if admin.batch_execute(ROLES_SQL).await.is_err() {
            admin
                .batch_execute(ROLES_SQL)
                .await
                .expect("creating the roles");
        }
        let name = format!("sbw_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER sbw_etl"))
            .await
            .expect("creating the test database");
        let db = TestDb { name, admin_url };
        let admin_here = connect(&db.url_with(None)).await.expect("connecting");
        admin_here
            .batch_execute(GRANTS_SQL)
            .await
            .expect("granting the dashboard role");
        db
    }

    /// The URL of this database for `role` (trust authentication, as on the test server).
    pub fn url_as(&self, role: &str) -> String {
        self.url_with(Some(role))
    }

    fn url_with(&self, role: Option<&str>) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("a valid admin URL");
        url.set_path(&self.name);
        if let Some(role) = role {
            url.set_username(role).expect("a URL with a host");
            url.set_password(None).expect("a URL with a host");
        }
        url.to_string()
    }

    /// What the ETL connects as.
    pub fn etl_url(&self) -> String {
        self.url_as("sbw_etl")
    }

    pub async fn etl_client(&self) -> Client {
        connect(&self.etl_url())
            .await
            .expect("connecting as sbw_etl")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside a runtime; a thread with its own runtime avoids blocking it.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(admin) = connect(&admin_url).await {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}
