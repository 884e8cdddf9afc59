//! Writing a private key to a file that only its owner can read.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::key::PrivateKey;

/// Writes `key` as PKCS#8 PEM to `path`, replacing any file there, so that the file is
/// never readable by others and never half-written.
///
/// The key goes first into a new temporary file in the same directory, created with mode
/// 0600 (on Unix), written and flushed to disk; that file is then renamed over `path`,
/// and the directory is synced so that the rename survives a crash.
pub fn write_private_key_file(path: impl AsRef<Path>, key: &PrivateKey) -> io::Result<()> {
    let path = path.as_ref();
    let pem = key.to_pkcs8_pem().map_err(io::Error::other)?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;

    let (temporary, mut file) = create_temporary(&directory, &file_name.to_string_lossy())?;
    let written = file
        .write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&temporary, path));
    if let Err(error) = written {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    sync_directory(&directory)
}

/// Creates a new file beside the target, readable and writable by its owner only.
fn create_temporary(directory: &Path, file_name: &str) -> io::Result<(PathBuf, File)> {
    let mut attempt = 0u32;
    loop {
        let candidate =
            directory.join(format!(".{file_name}.{}.{attempt}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(unix)]
fn sync_directory(directory: &Path) -> io::Result<()> {
    File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeySize;
    use rand::SeedableRng;

    #[test]
    fn writes_a_private_file_and_replaces_atomically() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oauth.key");
        fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_private_key_file(&path, &key).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(PrivateKey::from_pem(&text).unwrap().rsa(), key.rsa());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [std::ffi::OsString::from("oauth.key")]);
    }

    #[test]
    fn missing_directory_is_an_error() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("oauth.key");
        assert!(write_private_key_file(&path, &key).is_err());
        assert!(write_private_key_file(dir.path().join(".."), &key).is_err());
    }
}
