//! The on-premises data directory: the configuration document, the certificate store and the
//! private keys, all kept through [`pushproxy_config::Store`] (atomic writes, one lock).
//!
//! Layout:
//!
//! ```text
//! <data dir>/
//!   .lock                      the store's lock (held while writing)
//!   config.json                AuthConfig, AuthServer entries, PushNotificationApp entries
//!   certificates.json          the certificate store (certificate, friendly name, services)
//!   keys/<THUMBPRINT>.key.pem  each certificate's private key, PKCS#8 PEM, mode 0600
//!   OAuthConfig/OAuthCert.cer  the exported certificate of setup step 1 (DER)
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use pushproxy_cert::{Certificate, CertificateRecord, PrivateKey, Thumbprint};
use pushproxy_config::{ConfigDocument, Store, StoreLock};
use serde::{Deserialize, Serialize};

/// The name of the certificate store document.
pub const CERTIFICATES: &str = "certificates";
/// The folder of private keys inside the data directory.
pub const KEYS_DIR: &str = "keys";
/// The folder the certificate is exported to (the original script's `OAuthConfig`).
pub const EXPORT_DIR: &str = "OAuthConfig";
/// The exported certificate's file name, as in the original script.
pub const EXPORT_FILE: &str = "OAuthCert.cer";

/// The certificate store: what `Get-ExchangeCertificate` lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStore {
    /// Every certificate, in the order they were added.
    pub certificates: Vec<CertificateRecord>,
}

impl CertificateStore {
    /// The certificate with this thumbprint.
    pub fn get(&self, thumbprint: &Thumbprint) -> Option<&CertificateRecord> {
        self.certificates
            .iter()
            .find(|r| r.certificate.thumbprint() == *thumbprint)
    }
}

/// An opened data directory.
#[derive(Debug)]
pub struct DataDir {
    store: Store,
}

impl DataDir {
    /// Opens (creating if needed) the data directory at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let store = Store::open(&path)
            .with_context(|| format!("cannot open the data directory {}", path.display()))?;
        Ok(Self { store })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.store.dir()
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes the store's lock (waits for another process holding it).
    pub fn lock(&self) -> Result<StoreLock> {
        Ok(self.store.lock()?)
    }

    /// The configuration document (empty when none was written yet).
    pub fn config(&self) -> Result<ConfigDocument> {
        Ok(self.store.load_config()?)
    }

    /// The certificate store (empty when none was written yet).
    pub fn certificates(&self) -> Result<CertificateStore> {
        Ok(self.store.read(CERTIFICATES)?.unwrap_or_default())
    }

    /// Where the private key of `thumbprint` is kept.
    pub fn key_path(&self, thumbprint: &Thumbprint) -> PathBuf {
        self.path()
            .join(KEYS_DIR)
            .join(format!("{thumbprint}.key.pem"))
    }

    /// Where setup step 1 exports the certificate.
    pub fn export_path(&self) -> PathBuf {
        self.path().join(EXPORT_DIR).join(EXPORT_FILE)
    }

    /// Adds a certificate and its key under the lock: the key file first (mode 0600), then the
    /// store entry, so a store entry never points at a missing key. Adding a certificate that is
    /// already there is refused.
    pub fn add_certificate(
        &self,
        lock: &StoreLock,
        record: CertificateRecord,
        key: &PrivateKey,
    ) -> Result<()> {
        record
            .certificate
            .check_key(key)
            .context("the private key does not belong to the certificate")?;
        let thumbprint = record.certificate.thumbprint();
        let mut store = self.certificates()?;
        if store.get(&thumbprint).is_some() {
            bail!("certificate {thumbprint} is already in the certificate store");
        }
        let key_path = self.key_path(&thumbprint);
        let keys_dir = self.path().join(KEYS_DIR);
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&keys_dir)
            .with_context(|| format!("cannot create {}", keys_dir.display()))?;
        pushproxy_cert::write_private_key_file(&key_path, key)
            .with_context(|| format!("cannot write the private key {}", key_path.display()))?;
        store.certificates.push(record);
        self.store.write(lock, CERTIFICATES, &store)?;
        Ok(())
    }

    /// The certificate with this thumbprint, or an error saying it is not in the store.
    pub fn certificate(&self, thumbprint: &Thumbprint) -> Result<CertificateRecord> {
        self.certificates()?
            .get(thumbprint)
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "certificate {thumbprint} is not in the certificate store of {}; \
                 `pushproxy certificate list` shows what is there",
                    self.path().display()
                )
            })
    }

    /// Reads the private key of `thumbprint` and checks it against the certificate.
    pub fn private_key(&self, certificate: &Certificate) -> Result<PrivateKey> {
        let path = self.key_path(&certificate.thumbprint());
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the private key {}", path.display()))?,
        );
        let key = PrivateKey::from_pem(&pem)
            .with_context(|| format!("the private key {} is not valid", path.display()))?;
        certificate
            .check_key(&key)
            .with_context(|| format!("the private key {} does not match", path.display()))?;
        Ok(key)
    }

    /// The certificate that `AuthConfig.CurrentCertificateThumbprint` names, with its key.
    pub fn current_signing_certificate(&self) -> Result<(Certificate, PrivateKey)> {
        let config = self.config()?;
        let thumbprint = config
            .auth_config
            .current_certificate_thumbprint
            .ok_or_else(|| {
                anyhow!(
                    "AuthConfig has no CurrentCertificateThumbprint; run `pushproxy setup \
                 --tenant-domain <domain>` or `pushproxy auth-config set --certificate-thumbprint`"
                )
            })?;
        let record = self.certificate(&thumbprint)?;
        let key = self.private_key(&record.certificate)?;
        Ok((record.certificate, key))
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename), creating the parent
/// folder. Returns `false` without writing when the file already holds exactly these bytes.
pub fn write_file_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<bool> {
    use std::io::Write;
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(false);
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let temp = parent.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(not(unix))]
    let _ = mode;
    Ok(true)
}
