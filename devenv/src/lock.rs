//! One supervisor per directory: an exclusive `flock` on `<dir>/dev-up.lock`,
//! held while it runs and released by the kernel however it ends.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;

use crate::error::DevError;
use crate::layout::Layout;

pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock and writes this process's pid in it, or names the holder.
    pub fn acquire(layout: &Layout) -> Result<DirLock, DevError> {
        let mut file = Self::open(layout)?;
        if !Self::try_lock(&file) {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(DevError::Busy {
                dir: layout.dir().to_path_buf(),
                pid: pid.trim().parse().ok(),
            });
        }
        let unusable = |error: std::io::Error| DevError::Dir {
            dir: layout.dir().to_path_buf(),
            reason: error.to_string(),
        };
        file.set_len(0).map_err(unusable)?;
        file.rewind().map_err(unusable)?;
        write!(file, "{}", std::process::id()).map_err(unusable)?;
        Ok(DirLock { _file: file })
    }

    /// Whether a supervisor holds the lock of `layout` now.
    pub fn held(layout: &Layout) -> bool {
        match std::fs::File::open(layout.lock()) {
            Ok(file) => !Self::try_lock(&file),
            Err(_) => false,
        }
    }

    fn open(layout: &Layout) -> Result<File, DevError> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(layout.lock())
            .map_err(|error| DevError::Dir {
                dir: layout.dir().to_path_buf(),
                reason: error.to_string(),
            })
    }

    /// Takes the lock without waiting; released when `file` is closed.
    fn try_lock(file: &File) -> bool {
        // SAFETY: flock(2) on a descriptor this File owns.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_supervisor_is_told_who_holds_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        assert!(!DirLock::held(&layout));
        let lock = DirLock::acquire(&layout).unwrap();
        assert!(DirLock::held(&layout));
        let error = DirLock::acquire(&layout).err().unwrap().to_string();
        assert!(
            error.starts_with(&format!(
                "another `sbwctl dev up` (pid {}) already runs on {}",
                std::process::id(),
                layout.dir().display()
            )),
            "{error}"
        );
        drop(lock);
        // The kernel frees the lock once every copy of the descriptor is
        // closed: a child another test forks meanwhile holds one until its
        // exec closes it.
        let taken_again = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            DirLock::acquire(&layout).is_ok()
        });
        assert!(
            taken_again,
            "the lock is still held 5 s after it was dropped"
        );
    }
}
