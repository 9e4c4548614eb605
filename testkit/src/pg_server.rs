//! A PostgreSQL server of a test's own, for the faults the shared server
//! must not suffer (a restart in the middle of a run): a new cluster in a
//! temporary directory on a free port, trust authentication, stopped
//! (immediately) and deleted when dropped.
//!
//! `initdb` refuses to run as root; as root, the cluster belongs to the
//! `postgres` user (Debian's packages create it) and every server command
//! runs through `runuser`. The binaries are Debian's newest
//! `/usr/lib/postgresql/<version>/bin`, or the directory `SBW_PG_BIN` names.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN_DIR_ENV: &str = "SBW_PG_BIN";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no PostgreSQL server binaries: set {BIN_DIR_ENV} or install Debian's postgresql")]
    NoBinaries,
    #[error("running {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{command} failed ({status}):\n{output}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        output: String,
    },
    #[error("finding a free port: {0}")]
    Port(std::io::Error),
}

pub struct PgServer {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Server settings beyond the defaults, as `-c name=value`.
    settings: Vec<(String, String)>,
    /// Whether commands run as the `postgres` user (this process is root).
    as_postgres: bool,
}

impl PgServer {
    /// Creates and starts a cluster; returns once it accepts connections.
    pub fn start() -> Result<PgServer, ServerError> {
        PgServer::start_with(&[])
    }

    /// As [`PgServer::start`], with server `settings` (`("ssl", "on")`, ...).
    pub fn start_with(settings: &[(&str, &str)]) -> Result<PgServer, ServerError> {
        let bin = bin_dir().ok_or(ServerError::NoBinaries)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(ServerError::Port)?
            .port();
        let server = PgServer {
            bin,
            data: std::env::temp_dir().join(format!("sbw-pg-{}", uuid::Uuid::new_v4().simple())),
            port,
            settings: settings
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            as_postgres: is_root(),
        };
        let data = server.data.to_string_lossy().into_owned();
        server.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        )?;
        server.pg_ctl(&["start"])?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A superuser URL (what `TestDb::create_on` takes).
    pub fn admin_url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts the server the way a package upgrade or an operator does
    /// (`pg_ctl restart -m fast`): every session is terminated, in-flight
    /// transactions roll back; returns once it accepts connections again.
    pub fn restart(&self) -> Result<(), ServerError> {
        self.pg_ctl(&["restart", "-m", "fast"])
    }

    fn pg_ctl(&self, action: &[&str]) -> Result<(), ServerError> {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.data.join("server.log").to_string_lossy().into_owned();
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        for (name, value) in &self.settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let mut args = action.to_vec();
        args.extend(["-w", "-D", &data, "-l", &log, "-o", &options]);
        self.run("pg_ctl", &args)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), ServerError> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command.args(args).current_dir(std::env::temp_dir());
        let described = format!("{} {}", program.display(), args.join(" "));
        let output = command.output().map_err(|source| ServerError::Spawn {
            command: described.clone(),
            source,
        })?;
        if output.status.success() {
            return Ok(());
        }
        Err(ServerError::Failed {
            command: described,
            status: output.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::metadata(Path::new("/proc/self")).is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    })
}
