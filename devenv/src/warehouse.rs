//! The warehouse database as the warehouse bootstrap makes it: the roles
//! `sbw_etl` (owner, loads) and `sbw_dashboard` (reads only), the `hll`
//! extension the non-superuser ETL cannot create, the dashboard's read
//! access, and the ETL's migrations.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};

use crate::error::DevError;
use crate::postgres::write_owner_only;

/// The bootstrap's SQL, shared with the tests and benchmarks, which set up
/// their warehouses the same way.
const ROLES_SQL: &str = include_str!("../../testkit/sql/roles.sql");
const GRANTS_SQL: &str = include_str!("../../testkit/sql/grants.sql");

const ETL_ROLE: &str = "sbw_etl";
const DASHBOARD_ROLE: &str = "sbw_dashboard";

/// The roles' passwords, made once and kept (owner-only) in the platform's directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Passwords {
    /// The private cluster's superuser `postgres`.
    pub superuser: String,
    pub etl: String,
    pub dashboard: String,
}

impl Passwords {
    pub fn load_or_create(path: &Path) -> Result<Passwords, DevError> {
        let unusable = |reason: String| DevError::Dir {
            dir: path.to_path_buf(),
            reason,
        };
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text)
                .map_err(|e| unusable(format!("it is not the passwords file sbwctl writes: {e}")));
        }
        let passwords = Passwords {
            superuser: random_password(),
            etl: random_password(),
            dashboard: random_password(),
        };
        let json = serde_json::to_string_pretty(&passwords).expect("strings serialize");
        write_owner_only(path, &json).map_err(|e| unusable(e.to_string()))?;
        Ok(passwords)
    }
}

/// 64 hex digits: nothing to quote in SQL or a URL.
fn random_password() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A warehouse database, set up, and how each role reaches it.
#[derive(Debug, Clone)]
pub struct Warehouse {
    server: Config,
    pub database: String,
    etl_password: String,
    dashboard_password: String,
}

impl Warehouse {
    fn config_as(&self, role: &str, password: &str) -> Config {
        let mut config = self.server.clone();
        config
            .user(role)
            .password(password)
            .dbname(&self.database)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// What the ETL connects with.
    pub fn etl_config(&self) -> Config {
        self.config_as(ETL_ROLE, &self.etl_password)
    }

    /// The ETL role's URL, for psql and `sbwctl etl run`.
    pub fn etl_url(&self) -> String {
        url_of(&self.etl_config())
    }

    /// The libpq variables the dashboard connects with.
    pub fn dashboard_env(&self) -> Vec<(String, String)> {
        let (host, port) = host_and_port(&self.server);
        let ssl_mode = match self.server.get_ssl_mode() {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            _ => "prefer",
        };
        [
            ("PGHOST", host),
            ("PGPORT", port.to_string()),
            ("PGDATABASE", self.database.clone()),
            ("PGUSER", DASHBOARD_ROLE.to_owned()),
            ("PGPASSWORD", self.dashboard_password.clone()),
            ("PGSSLMODE", ssl_mode.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

fn host_and_port(config: &Config) -> (String, u16) {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

/// A libpq URL of `config` (user, password, host, port, database).
pub fn url_of(config: &Config) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let user = config.get_user().unwrap_or_default();
    let login = match config.get_password() {
        Some(password) => format!(
            "{}:{}",
            encode(user),
            encode(&String::from_utf8_lossy(password))
        ),
        None => encode(user),
    };
    let database = config.get_dbname().unwrap_or_default();
    let (host, port) = host_and_port(config);
    match config.get_hosts().first() {
        Some(Host::Unix(_)) => {
            format!(
                "postgresql://{login}@/{database}?host={}&port={port}",
                encode(&host)
            )
        }
        _ if host.contains(':') => format!("postgresql://{login}@[{host}]:{port}/{database}"),
        _ => format!("postgresql://{login}@{host}:{port}/{database}"),
    }
}

/// Connects, or says in one sentence why the server cannot be reached.
pub async fn connect(config: &Config, shown_as: &str) -> Result<Client, DevError> {
    let mut config = config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    sbw_etl::db::connect(&config)
        .await
        .map_err(|error| DevError::Unreachable {
            url: shown_as.to_owned(),
            reason: error_text(&error),
        })
}

/// The server's own message when there is one, else the error's chain.
fn error_text(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

fn valid_database_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// Sets up the warehouse `database` on the server `admin` (a superuser)
/// reaches, again on every start (each step is idempotent): the roles with
/// `passwords`, the database, the extension and grants, the migrations;
/// and checks the shop's `timezone`.
pub async fn bootstrap(
    admin: &Config,
    shown_as: &str,
    database: &str,
    passwords: &Passwords,
    timezone: &str,
) -> Result<Warehouse, DevError> {
    if !valid_database_name(database) {
        return Err(DevError::DatabaseName(database.to_owned()));
    }
    let failed = |error: tokio_postgres::Error| DevError::Warehouse(error_text(&error));
    let client = connect(admin, shown_as).await?;
    let row = client
        .query_one(
            "SELECT current_user::text, rolsuper, current_setting('server_version_num')::int
             FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(failed)?;
    let (user, superuser, version): (String, bool, i32) = (row.get(0), row.get(1), row.get(2));
    if !superuser {
        return Err(DevError::NotSuperuser {
            user,
            url: shown_as.to_owned(),
        });
    }
    client.batch_execute(ROLES_SQL).await.map_err(failed)?;
    client
        .batch_execute(&format!(
            "ALTER ROLE {ETL_ROLE} PASSWORD '{}'; ALTER ROLE {DASHBOARD_ROLE} PASSWORD '{}';",
            passwords.etl, passwords.dashboard
        ))
        .await
        .map_err(failed)?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
        .await
        .map_err(failed)?
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {database} OWNER {ETL_ROLE}"))
            .await
            .map_err(failed)?;
    }
    drop(client);

    let mut in_warehouse = admin.clone();
    in_warehouse.dbname(database);
    let client = connect(&in_warehouse, shown_as).await?;
    if let Err(error) = client.batch_execute(GRANTS_SQL).await {
        if error.code() == Some(&SqlState::UNDEFINED_FILE) {
            return Err(DevError::NoHll {
                major: u32::try_from(version / 10_000).unwrap_or_default(),
            });
        }
        return Err(failed(error));
    }
    drop(client);

    let warehouse = Warehouse {
        server: admin.clone(),
        database: database.to_owned(),
        etl_password: passwords.etl.clone(),
        dashboard_password: passwords.dashboard.clone(),
    };
    let mut etl = connect(&warehouse.etl_config(), &redacted(&warehouse.etl_url())).await?;
    sbw_etl::migrate::migrate(&mut etl)
        .await
        .map_err(|e| DevError::Warehouse(e.to_string()))?;
    match sbw_etl::settings::use_timezone(&etl, timezone).await {
        Ok(()) => Ok(warehouse),
        Err(sbw_etl::settings::SettingsError::UnknownTimezone(zone)) => {
            Err(DevError::Timezone(zone))
        }
        Err(sbw_etl::settings::SettingsError::Database(error)) => Err(failed(error)),
    }
}

/// A URL with its password replaced, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_tcp_and_socket_hosts() {
        let tcp: Config = "postgresql://sbw_etl:pw@127.0.0.1:5433/sbw"
            .parse()
            .unwrap();
        assert_eq!(url_of(&tcp), "postgresql://sbw_etl:pw@127.0.0.1:5433/sbw");
        let socket: Config = "host=/var/run/postgresql user=sbw_etl dbname=sbw"
            .parse()
            .unwrap();
        assert_eq!(
            url_of(&socket),
            "postgresql://sbw_etl@/sbw?host=%2Fvar%2Frun%2Fpostgresql&port=5432"
        );
        assert_eq!(
            redacted("postgresql://sbw_etl:secret@127.0.0.1:5433/sbw"),
            "postgresql://sbw_etl:***@127.0.0.1:5433/sbw"
        );
    }

    #[test]
    fn database_names_are_plain_identifiers() {
        for good in ["sbw", "sbw_dev_2", "_x"] {
            assert!(valid_database_name(good), "{good}");
        }
        for bad in ["", "Sbw", "2sbw", "sbw-dev", "sbw; DROP", &"x".repeat(64)] {
            assert!(!valid_database_name(bad), "{bad}");
        }
    }

    #[test]
    fn passwords_are_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let first = Passwords::load_or_create(&path).unwrap();
        assert_eq!(first.etl.len(), 64);
        assert_ne!(first.etl, first.dashboard);
        assert_eq!(Passwords::load_or_create(&path).unwrap().etl, first.etl);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(Passwords::load_or_create(&path)
            .unwrap_err()
            .to_string()
            .contains("not the passwords file"));
    }
}
