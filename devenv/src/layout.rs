//! Where the platform keeps its files, all under one directory (`--dir`,
//! `.sbw/dev` by default): deleting it resets the platform.

use std::path::{Path, PathBuf};

use crate::error::DevError;

#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout of `dir`, which is not touched.
    pub fn of(dir: &Path) -> Layout {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Layout { dir }
    }

    /// The layout of `dir`, made (with its `logs/`) and checked writable.
    pub fn create(dir: &Path) -> Result<Layout, DevError> {
        let layout = Layout::of(dir);
        let unusable = |error: std::io::Error| DevError::Dir {
            dir: layout.dir.clone(),
            reason: error.to_string(),
        };
        std::fs::create_dir_all(layout.logs()).map_err(unusable)?;
        let probe = layout.dir.join(".write-test");
        std::fs::write(&probe, b"").map_err(unusable)?;
        let _ = std::fs::remove_file(probe);
        Ok(layout)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The private PostgreSQL cluster's data directory.
    pub fn pg_data(&self) -> PathBuf {
        self.dir.join("pg")
    }

    /// The raw store (what `sbwctl dev seed --raw-dir` and the ingest server write).
    pub fn raw(&self) -> PathBuf {
        self.dir.join("raw")
    }

    pub fn dead_letter(&self) -> PathBuf {
        self.dir.join("dead-letter")
    }

    /// The identifier hashing key, where `sbwctl dev ingest` keeps it for this raw store.
    pub fn hash_key(&self) -> PathBuf {
        self.dir.join("dev-hash-key")
    }

    /// The passwords of the database roles (owner-only).
    pub fn secrets(&self) -> PathBuf {
        self.dir.join("secrets.json")
    }

    /// What runs: pids, ports, URLs (owner-only: the database URL holds a password).
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Held by the running supervisor, so a second `dev up` on the same directory stops at once.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("dev-up.lock")
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.logs().join(format!("{name}.log"))
    }
}
