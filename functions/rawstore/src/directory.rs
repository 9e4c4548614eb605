//! The local raw store: a directory with the bucket's keys as paths. Writes
//! are all-or-nothing, so a reader (the ETL) never sees half an object.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::{Operation, RawObject, StoreError};

/// Writes a new object so that readers (the ETL) never see half of it: on
/// Linux an unnamed file linked into place once written (`O_TMPFILE`), else a
/// hidden temporary file beside `path` renamed into place. Runs on the
/// calling task: an object is a few kilobytes written into the page cache (no
/// fsync; this is the dev store), which costs less than a hop to tokio's
/// blocking pool and back.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    in_its_directory(path, |dir, name| {
        #[cfg(target_os = "linux")]
        if let Some(written) = unnamed_file::write_and_link(dir, path, contents) {
            return written;
        }
        write_then_rename(dir, name, path, contents)
    })
}

/// Replaces the object at `path` (or writes it) so that readers see either
/// the previous contents or the new ones whole: a hidden temporary file
/// renamed over it. For objects rewritten in place: the operational
/// snapshot, the ETL's run summary.
pub fn replace_atomically(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    in_its_directory(path, |dir, name| {
        write_then_rename(dir, name, path, contents)
    })
}

/// Objects below `root/prefix`, sorted by key. Hidden files are the ingest
/// server's writes in progress and are skipped. A local object's etag is its
/// size and modification time: enough to notice a rewrite.
pub(crate) fn list(root: &Path, prefix: &str) -> Result<Vec<RawObject>, StoreError> {
    let (dir, name_prefix) = match prefix.rsplit_once('/') {
        Some((dir, rest)) => (root.join(dir), rest),
        None => (root.to_owned(), prefix),
    };
    let mut objects = Vec::new();
    let mut pending = vec![dir.clone()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(StoreError::Directory {
                    operation: Operation::Listing,
                    path: current,
                    source,
                })
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Directory {
                operation: Operation::Listing,
                path: current.clone(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || (current == dir && !name.starts_with(name_prefix)) {
                continue;
            }
            let metadata = entry.metadata().map_err(|source| StoreError::Directory {
                operation: Operation::Listing,
                path: path.clone(),
                source,
            })?;
            if metadata.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let modified: DateTime<Utc> =
                metadata.modified().map(DateTime::from).unwrap_or_default();
            objects.push(RawObject {
                key: relative.to_string_lossy().replace('\\', "/"),
                etag: format!(
                    "{}-{}",
                    metadata.len(),
                    modified.timestamp_nanos_opt().unwrap_or_default()
                ),
                size: metadata.len() as i64,
                last_modified: modified,
            });
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(objects)
}

/// Runs `write` with the directory and file name of `path`, creating the
/// directory when `write` finds it missing.
fn in_its_directory(
    path: &Path,
    write: impl Fn(&Path, &std::ffi::OsStr) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    let written = match (path.parent(), path.file_name()) {
        // The hour's directory exists for all but its first object: create it only then.
        (Some(dir), Some(name)) => match write(dir, name) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).and_then(|()| write(dir, name))
            }
            other => other,
        },
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an object path needs a directory and a file name",
        )),
    };
    written.map_err(|source| StoreError::Directory {
        operation: Operation::Writing,
        path: path.to_owned(),
        source,
    })
}

fn write_then_rename(
    dir: &Path,
    name: &std::ffi::OsStr,
    path: &Path,
    contents: &[u8],
) -> std::io::Result<()> {
    // Unique, so that two writers replacing one object never share a file.
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let temporary = dir.join(hidden);
    std::fs::write(&temporary, contents)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// An unnamed file (`O_TMPFILE`) written, then linked under its name: one
/// directory entry added, where a named temporary file costs a look-up, an
/// entry, and a rename that removes one entry and adds another. In a
/// directory holding an hour of objects that is most of a write's cost.
#[cfg(target_os = "linux")]
mod unnamed_file {
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::path::Path;
    use std::sync::atomic::{AtomicU8, Ordering};

    use rustix::fs::{linkat, openat, AtFlags, Mode, OFlags, CWD};
    use rustix::io::Errno;

    /// How this process links unnamed files; it moves on to the next way
    /// when one turns out not to work here, and stays there.
    static METHOD: AtomicU8 = AtomicU8::new(EMPTY_PATH);
    /// `linkat(fd, "")`: needs CAP_DAC_READ_SEARCH before Linux 6.10.
    const EMPTY_PATH: u8 = 0;
    /// `linkat("/proc/self/fd/N")`: needs /proc, and some sandboxes refuse it (EXDEV).
    const PROC_FD: u8 = 1;
    /// Neither works, or the file system has no `O_TMPFILE`: named files.
    const UNSUPPORTED: u8 = 2;

    /// `None` when unnamed files cannot be used here; the caller then
    /// writes a named temporary file.
    pub(super) fn write_and_link(
        dir: &Path,
        path: &Path,
        contents: &[u8],
    ) -> Option<std::io::Result<()>> {
        write_and_link_with(&METHOD, dir, path, contents)
    }

    pub(super) fn write_and_link_with(
        method: &AtomicU8,
        dir: &Path,
        path: &Path,
        contents: &[u8],
    ) -> Option<std::io::Result<()>> {
        let mut current = method.load(Ordering::Relaxed);
        if current == UNSUPPORTED {
            return None;
        }
        let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
        let mut file = match openat(CWD, dir, flags, Mode::from_raw_mode(0o666)) {
            Ok(fd) => File::from(fd),
            // What kernels and file systems without O_TMPFILE answer.
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => {
                method.store(UNSUPPORTED, Ordering::Relaxed);
                return None;
            }
            Err(error) => return Some(Err(error.into())),
        };
        if let Err(error) = file.write_all(contents) {
            return Some(Err(error));
        }
        loop {
            let linked = match current {
                EMPTY_PATH => linkat(&file, "", CWD, path, AtFlags::EMPTY_PATH),
                PROC_FD => linkat(
                    CWD,
                    format!("/proc/self/fd/{}", file.as_raw_fd()),
                    CWD,
                    path,
                    AtFlags::SYMLINK_FOLLOW,
                ),
                _ => return None,
            };
            match linked {
                Ok(()) => return Some(Ok(())),
                // This way is not allowed here (the directory was just opened,
                // so ENOENT is about privileges or /proc, not the path).
                Err(Errno::NOENT | Errno::PERM | Errno::XDEV | Errno::ACCESS) => {
                    current += 1;
                    method.store(current, Ordering::Relaxed);
                }
                Err(error) => return Some(Err(error.into())),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Every way a process may end up using writes the whole object under
        /// its name, or declines; none leaves anything else behind.
        #[test]
        fn each_way_links_the_whole_object_or_declines() {
            for start in [EMPTY_PATH, PROC_FD, UNSUPPORTED] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("events-1.ndjson.gz");
                let method = AtomicU8::new(start);
                match write_and_link_with(&method, dir.path(), &path, b"0123456789") {
                    Some(written) => {
                        written.unwrap();
                        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
                    }
                    None => assert_eq!(method.load(Ordering::Relaxed), UNSUPPORTED),
                }
                let names = std::fs::read_dir(dir.path()).unwrap().count();
                assert!(names <= 1, "start {start}: {names} entries");
            }
        }

        #[test]
        fn an_existing_object_is_never_replaced() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("events-1.ndjson.gz");
            std::fs::write(&path, b"first").unwrap();
            let method = AtomicU8::new(EMPTY_PATH);
            if let Some(written) = write_and_link_with(&method, dir.path(), &path, b"second") {
                assert_eq!(
                    written.unwrap_err().kind(),
                    std::io::ErrorKind::AlreadyExists
                );
            }
            assert_eq!(std::fs::read(&path).unwrap(), b"first");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_land_whole_under_their_key_in_new_directories() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("events/hour=07/events-1.ndjson.gz");
        write_atomically(&path, b"abc").unwrap();
        let second = root.path().join("events/hour=07/events-2.ndjson.gz");
        write_atomically(&second, b"defg").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        assert_eq!(std::fs::read(&second).unwrap(), b"defg");
        let names = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(names, 2, "no temporary files are left behind");
    }

    #[test]
    fn the_named_fallback_renames_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events-1.ndjson.gz");
        write_then_rename(dir.path(), path.file_name().unwrap(), &path, b"abc").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_replaced_object_is_whole_and_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("_ops/snapshot.json");
        replace_atomically(&path, b"first").unwrap();
        replace_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(names, 1, "no temporary files are left behind");
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let error = write_atomically(Path::new("/"), b"abc").unwrap_err();
        assert!(
            error.to_string().contains("a directory and a file name"),
            "{error}"
        );
    }
}
