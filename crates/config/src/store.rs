//! [`Store`]: documents kept as JSON files in a data directory, written atomically under a
//! lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::{ConfigDocument, ConfigError, Result};

/// The data directory used when none is given.
pub const DEFAULT_DATA_DIR: &str = "./pushproxy-data";
/// The environment variable that names the data directory.
pub const DATA_DIR_ENV: &str = "PUSHPROXY_DATA_DIR";
/// The schema version this program reads and writes.
pub const SCHEMA_VERSION: u64 = 1;
/// The lock file inside the data directory.
pub const LOCK_FILE: &str = ".lock";

/// A data directory holding one JSON file per document, `<name>.json`.
///
/// Each file is `{"schemaVersion": 1, "kind": "<name>", "data": ...}`. Writes go to a
/// temporary file in the same directory that is flushed to disk and then renamed over the
/// target, so a crash leaves either the old or the new document, never a mix. Writers hold
/// the store's lock ([`Store::lock`]), an advisory lock on `<dir>/.lock`, so two processes never
/// interleave read-modify-write cycles. A file that does not parse is reported with its path,
/// line and column and is never overwritten. On Unix the directory is created with mode 0700
/// and files with mode 0600.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
}

/// The store's exclusive lock, held until dropped. [`Store::write`] takes it as a witness.
#[derive(Debug)]
pub struct StoreLock {
    file: File,
    dir: PathBuf,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first makes it prompt and
        // explicit. There is nothing useful to do if it fails.
        let _ = self.file.unlock();
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    schema_version: u64,
    kind: String,
    #[serde(rename = "data")]
    _data: IgnoredAny,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope<T> {
    schema_version: u64,
    kind: String,
    data: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeRef<'a, T> {
    schema_version: u64,
    kind: &'a str,
    data: &'a T,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ConfigError {
    let path = path.to_owned();
    move |source| ConfigError::Io {
        action,
        path,
        source,
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidDocumentName {
            name: name.to_owned(),
        })
    }
}

fn corrupt(path: &Path, source: serde_json::Error) -> ConfigError {
    let (line, column) = (source.line(), source.column());
    let text = source.to_string();
    let suffix = format!(" at line {line} column {column}");
    let problem = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    ConfigError::Corrupt {
        path: path.to_owned(),
        line,
        column,
        problem,
        source,
    }
}

impl Store {
    /// Opens the data directory, creating it (mode 0700 on Unix) if it does not exist.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store> {
        let dir = dir.into();
        if !dir.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(&dir)
                .map_err(io_error("create the data directory", &dir))?;
        }
        let dir = fs::canonicalize(&dir).map_err(io_error("open the data directory", &dir))?;
        Ok(Store { dir })
    }

    /// The data directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a document is kept in, `<dir>/<name>.json`.
    ///
    /// A name is 1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter or
    /// digit.
    pub fn path_of(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// The lock file, `<dir>/.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    fn open_lock_file(&self) -> Result<File> {
        let path = self.lock_path();
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .map_err(io_error("open the lock file", &path))
    }

    /// Takes the store's exclusive lock, waiting while another process holds it.
    pub fn lock(&self) -> Result<StoreLock> {
        let file = self.open_lock_file()?;
        file.lock()
            .map_err(io_error("lock the lock file", &self.lock_path()))?;
        Ok(StoreLock {
            file,
            dir: self.dir.clone(),
        })
    }

    /// Takes the store's exclusive lock, or fails at once with [`ConfigError::Locked`] (naming
    /// the lock file) if another process or guard holds it.
    pub fn try_lock(&self) -> Result<StoreLock> {
        let file = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(StoreLock {
                file,
                dir: self.dir.clone(),
            }),
            Err(fs::TryLockError::WouldBlock) => Err(ConfigError::Locked {
                path: self.lock_path(),
            }),
            Err(fs::TryLockError::Error(source)) => Err(ConfigError::Io {
                action: "lock the lock file",
                path: self.lock_path(),
                source,
            }),
        }
    }

    /// Reads a document: `None` if its file does not exist.
    ///
    /// Refuses a file that is not valid JSON, is not an envelope, holds another kind, has a
    /// newer schema version or holds an invalid value, naming the path, line and column.
    pub fn read<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        let path = self.path_of(name)?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        let header: Header = serde_json::from_str(&text).map_err(|e| corrupt(&path, e))?;
        if header.schema_version != SCHEMA_VERSION {
            return Err(ConfigError::UnsupportedSchema {
                path,
                found: header.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        if header.kind != name {
            return Err(ConfigError::WrongKind {
                path,
                expected: name.to_owned(),
                found: header.kind,
            });
        }
        let envelope: Envelope<T> = serde_json::from_str(&text).map_err(|e| corrupt(&path, e))?;
        Ok(Some(envelope.data))
    }

    /// Writes a document atomically, holding `lock` (which must be this store's).
    ///
    /// Refuses to replace an existing file that does not read back as a valid document (the
    /// error is the one [`Store::read`] gives), so a hand edit gone wrong is never lost.
    pub fn write<T: Serialize + DeserializeOwned>(
        &self,
        lock: &StoreLock,
        name: &str,
        value: &T,
    ) -> Result<()> {
        if lock.dir != self.dir {
            return Err(ConfigError::ForeignLock {
                lock_dir: lock.dir.clone(),
                store_dir: self.dir.clone(),
            });
        }
        let path = self.path_of(name)?;
        // Only to prove the existing file parses; its content is replaced.
        self.read::<T>(name)?;
        let mut text = serde_json::to_string_pretty(&EnvelopeRef {
            schema_version: SCHEMA_VERSION,
            kind: name,
            data: value,
        })
        .map_err(|source| ConfigError::Encode {
            what: format!("the document {name:?}"),
            source,
        })?;
        text.push('\n');

        let temp = self.dir.join(format!(
            ".{name}.json.{}.{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_new_file(&temp, text.as_bytes())
            .and_then(|()| fs::rename(&temp, &path).map_err(io_error("replace", &path)));
        if result.is_err() {
            // Best effort: the temporary file may not even exist.
            let _ = fs::remove_file(&temp);
        }
        result?;
        sync_dir(&self.dir)
    }

    /// Reads a document (or its default), lets `f` change it and writes it back if it changed,
    /// all under the store's lock (waiting for it). `f`'s error aborts without writing.
    pub fn update<T, R, E>(
        &self,
        name: &str,
        f: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<R, E>
    where
        T: Default + Serialize + DeserializeOwned,
        E: From<ConfigError>,
    {
        let lock = self.lock()?;
        self.update_locked(&lock, name, f)
    }

    /// [`Store::update`] for a caller that already holds the lock.
    pub fn update_locked<T, R, E>(
        &self,
        lock: &StoreLock,
        name: &str,
        f: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<R, E>
    where
        T: Default + Serialize + DeserializeOwned,
        E: From<ConfigError>,
    {
        let mut doc: T = self.read(name)?.unwrap_or_default();
        let encode = |source| ConfigError::Encode {
            what: format!("the document {name:?}"),
            source,
        };
        let before = serde_json::to_value(&doc).map_err(encode)?;
        let result = f(&mut doc)?;
        let after = serde_json::to_value(&doc).map_err(encode)?;
        if after != before {
            self.write(lock, name, &doc)?;
        }
        Ok(result)
    }

    /// Reads the [`ConfigDocument`] (empty if there is none yet).
    pub fn load_config(&self) -> Result<ConfigDocument> {
        Ok(self.read(ConfigDocument::NAME)?.unwrap_or_default())
    }

    /// Loads the [`ConfigDocument`], lets `f` change it and saves it if it changed, under the
    /// lock.
    pub fn update_config<R, E>(
        &self,
        f: impl FnOnce(&mut ConfigDocument) -> Result<R, E>,
    ) -> Result<R, E>
    where
        E: From<ConfigError>,
    {
        self.update(ConfigDocument::NAME, f)
    }
}

/// Creates `path` (mode 0600 on Unix; it must not exist), writes `bytes` and flushes them to
/// disk.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(io_error("create the temporary file", path))?;
    file.write_all(bytes)
        .map_err(io_error("write the temporary file", path))?;
    file.sync_all()
        .map_err(io_error("flush the temporary file to disk", path))
}

/// Flushes a directory's entries (the rename) to disk. Only Unix can open a directory for
/// this; elsewhere the rename is left to the file system.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("flush the data directory to disk", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names_are_checked() {
        for ok in ["config", "cloud-state", "a_1", "0"] {
            check_name(ok).unwrap();
        }
        for bad in [
            "",
            "Config",
            "../x",
            "a/b",
            "-a",
            "_a",
            ".lock",
            "a.json",
            &"a".repeat(65),
        ] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn corrupt_strips_the_position_from_the_problem() {
        let e = serde_json::from_str::<u8>("\n  x").unwrap_err();
        let err = corrupt(Path::new("d/config.json"), e);
        let text = err.to_string();
        assert!(
            text.starts_with("d/config.json:2:3: expected value;"),
            "{text}"
        );
        assert!(!text.contains("at line"), "{text}");
    }
}
