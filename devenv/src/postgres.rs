//! The private PostgreSQL cluster in `<dir>/pg`, from the distribution's
//! binaries: made once with initdb, run as a supervised child on
//! 127.0.0.1 only (no Unix socket: its path could exceed the kernel's
//! 107 bytes in a deep checkout), password authentication for every role.

use std::ffi::{CString, OsString};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Child;

use crate::child::{self, ChildSpec, RunAs};
use crate::error::DevError;
use crate::layout::Layout;
use crate::notice::{Notice, Notify};

/// The child's name, in notices and the state file.
pub const NAME: &str = "PostgreSQL";

/// One installed major version's server programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub bin: PathBuf,
    pub major: u32,
}

/// Debian's layout (`/usr/lib/postgresql/<major>/bin`), and `pg_config --bindir`.
fn installations() -> Vec<Installation> {
    let mut found: Vec<Installation> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some(Installation {
                bin: entry.path().join("bin"),
                major,
            })
        })
        .collect();
    if let Some(bin) = pg_config_bindir() {
        if !found.iter().any(|i| i.bin == bin) {
            if let Some(major) = server_major(&bin) {
                found.push(Installation { bin, major });
            }
        }
    }
    found.retain(|i| i.bin.join("initdb").is_file() && i.bin.join("postgres").is_file());
    found.sort_by_key(|i| i.major);
    found
}

fn pg_config_bindir() -> Option<PathBuf> {
    let output = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()?;
    let bin = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(bin.trim()))
}

/// `postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` -> 15.
fn server_major(bin: &Path) -> Option<u32> {
    let output = std::process::Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    parse_major(&String::from_utf8_lossy(&output.stdout))
}

fn parse_major(version: &str) -> Option<u32> {
    version
        .split_whitespace()
        .find_map(|word| word.split('.').next()?.parse().ok())
}

/// The installation that can run the cluster in `data`: the one of its
/// major version when it exists, the newest for a new cluster.
fn choose(data: &Path) -> Result<Installation, DevError> {
    let installed = installations();
    let newest = installed.last().cloned().ok_or(DevError::NoPostgres)?;
    let Ok(version) = std::fs::read_to_string(data.join("PG_VERSION")) else {
        return Ok(newest);
    };
    let version = version.trim();
    installed
        .iter()
        .find(|i| i.major.to_string() == version)
        .cloned()
        .ok_or_else(|| DevError::OtherMajor {
            data: data.to_path_buf(),
            data_major: version.to_owned(),
            installed: installed
                .iter()
                .map(|i| i.major.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// PostgreSQL refuses to run as root: as root it runs as `postgres`.
fn identity() -> Result<RunAs, DevError> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(RunAs::Me);
    }
    user_ids("postgres").ok_or(DevError::NoPostgresUser)
}

fn user_ids(name: &str) -> Option<RunAs> {
    let name = CString::new(name).ok()?;
    // SAFETY: getpwnam_r writes into `entry` and `buffer`, both ours and
    // sized as passed; `found` points at `entry` or is null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let code = libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        (code == 0 && !found.is_null()).then_some(RunAs::User {
            uid: entry.pw_uid,
            gid: entry.pw_gid,
        })
    }
}

/// The cluster's data directory, ready to start.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub data: PathBuf,
    pub install: Installation,
    pub run_as: RunAs,
    pub log: PathBuf,
}

impl Cluster {
    /// Finds the binaries, stops a server an earlier run left behind, and
    /// makes the cluster (superuser `postgres` with `superuser_password`)
    /// if `<dir>/pg` holds none yet.
    pub async fn prepare(
        layout: &Layout,
        superuser_password: &str,
        notify: &Notify,
    ) -> Result<Cluster, DevError> {
        let data = layout.pg_data();
        let cluster = Cluster {
            install: choose(&data)?,
            run_as: identity()?,
            log: layout.log("postgres"),
            data,
        };
        cluster.stop_leftover(notify).await;
        if !cluster.data.join("PG_VERSION").is_file() {
            notify(Notice::Progress(format!(
                "database: creating a PostgreSQL {} cluster in {}",
                cluster.install.major,
                cluster.data.display()
            )));
            cluster.initdb(layout, superuser_password).await?;
        }
        Ok(cluster)
    }

    /// A postmaster still running on this data directory, which the lock
    /// on the platform's directory proves no supervisor owns: stopped with
    /// PostgreSQL's fast shutdown.
    async fn stop_leftover(&self, notify: &Notify) {
        let Some(pid) = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
        else {
            return;
        };
        let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|comm| comm.trim() == "postgres");
        if !is_postgres || !child::signal(pid, libc::SIGINT) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while child::alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        notify(Notice::LeftoverStopped {
            name: NAME.into(),
            pid,
        });
    }

    async fn initdb(&self, layout: &Layout, superuser_password: &str) -> Result<(), DevError> {
        let directory = |error| self.unusable(error);
        let made_here = !self.data.exists();
        std::fs::create_dir_all(&self.data).map_err(directory)?;
        std::fs::set_permissions(&self.data, std::fs::Permissions::from_mode(0o700))
            .map_err(directory)?;
        // initdb reads the superuser's password from a file it can open.
        let password_file = layout.dir().join(".pg-superuser-password");
        write_owner_only(&password_file, superuser_password).map_err(directory)?;
        let result = self.run_initdb(layout, &password_file).await;
        let _ = std::fs::remove_file(&password_file);
        if result.is_err() && made_here {
            // A half-made cluster would make every later start fail.
            let _ = std::fs::remove_dir_all(&self.data);
        }
        result
    }

    async fn run_initdb(&self, layout: &Layout, password_file: &Path) -> Result<(), DevError> {
        let directory = |error| self.unusable(error);
        if let RunAs::User { uid, gid } = self.run_as {
            for path in [&self.data, password_file] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(directory)?;
            }
            self.check_reachable()?;
        }
        let spec = ChildSpec {
            name: "initdb",
            program: self.install.bin.join("initdb"),
            args: vec![
                "-D".into(),
                self.data.clone().into_os_string(),
                "--username=postgres".into(),
                format!("--pwfile={}", password_file.display()).into(),
                "--auth-local=peer".into(),
                "--auth-host=scram-sha-256".into(),
                "--encoding=UTF8".into(),
                "--no-locale".into(),
            ],
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            log: layout.log("initdb"),
            run_as: self.run_as,
            stop_signal: libc::SIGTERM,
            grace: Duration::ZERO,
        };
        let failed = |reason: String| DevError::Initdb {
            data: self.data.clone(),
            reason,
            log: spec.log.clone(),
        };
        let status = spec
            .spawn()
            .map_err(|e| failed(e.to_string()))?
            .wait()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(failed(last_problem(&spec.log)))
        }
    }

    fn unusable(&self, error: std::io::Error) -> DevError {
        DevError::Dir {
            dir: self.data.clone(),
            reason: error.to_string(),
        }
    }

    /// The user postgres can write the data directory (every directory
    /// above it searchable).
    fn check_reachable(&self) -> Result<(), DevError> {
        let mut probe = std::process::Command::new("test");
        probe
            .arg("-w")
            .arg(&self.data)
            .stdin(Stdio::null())
            .current_dir("/");
        if let RunAs::User { uid, gid } = self.run_as {
            use std::os::unix::process::CommandExt;
            probe.uid(uid).gid(gid);
        }
        match probe.status() {
            Ok(status) if status.success() => Ok(()),
            _ => Err(DevError::PostgresCannotReach {
                dir: self.data.clone(),
            }),
        }
    }

    /// The server, listening on 127.0.0.1:`port` only.
    pub fn spec(&self, port: u16) -> ChildSpec {
        let settings = [
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",
            // Commits are not waited for on disk: a crash loses the last
            // moments, never consistency; the ETL runs again.
            "synchronous_commit=off",
            "logging_collector=off",
        ];
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            self.data.clone().into_os_string(),
            "-p".into(),
            port.to_string().into(),
        ];
        for setting in settings {
            args.push("-c".into());
            args.push(setting.into());
        }
        ChildSpec {
            name: NAME,
            program: self.install.bin.join("postgres"),
            args,
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            log: self.log.clone(),
            run_as: self.run_as,
            // pg_ctl stop -m fast: roll back open transactions, disconnect, checkpoint.
            stop_signal: libc::SIGINT,
            grace: Duration::from_secs(3),
        }
    }
}

/// Starts the server and waits until `admin` can connect.
pub async fn start(spec: &ChildSpec, admin: &tokio_postgres::Config) -> Result<Child, DevError> {
    let mut server = spec.spawn().map_err(|e| DevError::Spawn {
        program: spec.program.display().to_string(),
        reason: e.to_string(),
    })?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(_)) = server.try_wait() {
            return Err(DevError::PostgresStart {
                reason: last_problem(&spec.log),
                log: spec.log.clone(),
            });
        }
        if sbw_etl::db::connect(admin).await.is_ok() {
            return Ok(server);
        }
        if Instant::now() > deadline {
            child::stop(&mut server, spec).await;
            return Err(DevError::PostgresStart {
                reason: "it did not accept connections within 60 s".into(),
                log: spec.log.clone(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The last FATAL (or ERROR, or any) line of a PostgreSQL log.
fn last_problem(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    ["FATAL", "ERROR", "error"]
        .iter()
        .find_map(|word| lines.iter().rev().find(|l| l.contains(word)))
        .or(lines.last())
        .map_or_else(|| "no message".to_owned(), |line| line.to_string())
}

/// Writes `contents` to a new file only its owner can read.
pub fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests;
