//! Why the platform could not start or stop: each one sentence that says
//! what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("cannot use {} for the platform's files ({reason}); pass --dir with a directory you can write", dir.display())]
    Dir { dir: PathBuf, reason: String },

    #[error("another `sbwctl dev up`{} already runs on {}; stop it with `sbwctl dev down --dir {}` or pass another --dir",
            pid.map_or_else(String::new, |p| format!(" (pid {p})")), dir.display(), dir.display())]
    Busy { dir: PathBuf, pid: Option<u32> },

    #[error("port {port} is in use, and the {service} needs it; stop what listens there or pass {flag} with another port (0 picks a free one)")]
    PortInUse {
        service: &'static str,
        port: u16,
        flag: &'static str,
    },

    #[error("the {first} ({first_flag}) and the {second} ({second_flag}) would both listen on port {port}; pass another port to one of them (0 picks a free one)")]
    SamePort {
        port: u16,
        first: &'static str,
        first_flag: &'static str,
        second: &'static str,
        second_flag: &'static str,
    },

    #[error("cannot listen on 127.0.0.1:{port} for the {service}: {reason}")]
    Listen {
        service: &'static str,
        port: u16,
        reason: String,
    },

    #[error("the {what} is not at {} (sbwctl serves it from the checkout it was built in)", path.display())]
    MissingFiles { what: &'static str, path: PathBuf },

    #[error("PostgreSQL's server programs are not installed (no initdb under /usr/lib/postgresql/*/bin nor in `pg_config --bindir`); install them with `sudo apt-get install postgresql`, or pass --database-url of a running server")]
    NoPostgres,

    #[error("running as root, PostgreSQL has to run as the user postgres, which this machine lacks; install the postgresql package, or run as a normal user")]
    NoPostgresUser,

    #[error("{} holds a PostgreSQL {data_major} cluster, but this machine has PostgreSQL {installed}; install postgresql-{data_major} to keep using it, or delete {} to start afresh", data.display(), data.display())]
    OtherMajor {
        data: PathBuf,
        data_major: String,
        installed: String,
    },

    #[error("the user postgres cannot write {}; every directory above it needs search permission for others (chmod o+x), or run as a normal user", dir.display())]
    PostgresCannotReach { dir: PathBuf },

    #[error("initdb could not create the cluster in {}: {reason} (log: {})", data.display(), log.display())]
    Initdb {
        data: PathBuf,
        reason: String,
        log: PathBuf,
    },

    #[error("PostgreSQL did not start: {reason} (log: {})", log.display())]
    PostgresStart { reason: String, log: PathBuf },

    #[error("cannot reach the PostgreSQL server at {url}: {reason}")]
    Unreachable { url: String, reason: String },

    #[error("{user} is not a superuser on {url}; --database-url needs one, since the platform creates the warehouse database, its roles and the hll extension")]
    NotSuperuser { user: String, url: String },

    #[error("the database name {0:?} is not a plain identifier; use lower-case letters, digits and _ (e.g. sbw)")]
    DatabaseName(String),

    #[error("the PostgreSQL extension hll is not installed for PostgreSQL {major}; install it with `sudo apt-get install postgresql-{major}-hll`")]
    NoHll { major: u32 },

    #[error("{0:?} is not a time zone PostgreSQL knows; use an IANA name such as Asia/Ho_Chi_Minh or UTC")]
    Timezone(String),

    #[error("setting up the warehouse failed: {0}")]
    Warehouse(String),

    #[error("the ingest server could not start: {0}")]
    Ingest(String),

    #[error("the simulated shoppers cannot start: {0}")]
    Traffic(String),

    #[error("the {service} did not answer at {url} within {seconds} s (log: {})", log.display())]
    NotAnswering {
        service: &'static str,
        url: String,
        seconds: u64,
        log: PathBuf,
    },

    #[error("the {service} exited while starting ({status}); see {}", log.display())]
    ExitedWhileStarting {
        service: &'static str,
        status: String,
        log: PathBuf,
    },

    #[error("cannot start {program}: {reason}")]
    Spawn { program: String, reason: String },

    #[error("the platform's state file {} cannot be written: {reason}", path.display())]
    State { path: PathBuf, reason: String },

    #[error("the background platform stopped while starting: {0}")]
    DetachedFailed(String),

    #[error("the background platform did not report ready within {seconds} s (log: {})", log.display())]
    DetachedTimeout { seconds: u64, log: PathBuf },
}
