//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
///
/// Every message says what was wrong and, where there is something to do, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A GUID did not parse.
    #[error("invalid GUID {input:?}: {reason}")]
    InvalidGuid {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A URL did not parse or is not allowed.
    #[error("invalid URL {input:?}: {reason}")]
    InvalidUrl {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An auth server type is not one of Exchange's.
    #[error("unknown auth server type {input:?}; use ACS, AzureAD or ADFS")]
    InvalidAuthServerKind {
        /// The text given.
        input: String,
    },

    /// A domain name or thumbprint from the certificate crate did not parse.
    #[error(transparent)]
    Cert(#[from] pushproxy_cert::Error),

    /// The next certificate asked for is the current one.
    #[error(
        "certificate {thumbprint} is already the current certificate; give the thumbprint of the new certificate as the next one"
    )]
    NextIsCurrent {
        /// The thumbprint given.
        thumbprint: pushproxy_cert::Thumbprint,
    },

    /// A configuration document holds an object whose key and name differ.
    #[error(
        "the {what} stored under the key {key:?} is named {name:?}; the key and the name must be the same"
    )]
    NameMismatch {
        /// Which kind of object.
        what: &'static str,
        /// The key in the document.
        key: String,
        /// The object's own name.
        name: String,
    },

    /// A stored push-notification app has a field that does not follow from its other fields.
    #[error("{field} is {found:?} but should be {expected:?}; remove the field or fix it")]
    InconsistentField {
        /// The field's name.
        field: &'static str,
        /// What is stored.
        found: String,
        /// What the other fields imply.
        expected: String,
    },

    /// A document name is not usable as a file name.
    #[error(
        "invalid document name {name:?}: use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit"
    )]
    InvalidDocumentName {
        /// The name given.
        name: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("create the data directory", "read", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Another process holds the store's lock.
    #[error(
        "the data directory is locked by another pushproxy process (lock file {}); wait for it to finish and try again",
        path.display()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },

    /// A lock guard from another store was given to [`Store::write`](crate::Store::write).
    #[error(
        "the lock given is for the store in {}, not the one in {}; lock this store first",
        lock_dir.display(),
        store_dir.display()
    )]
    ForeignLock {
        /// The directory the lock is for.
        lock_dir: PathBuf,
        /// The directory written to.
        store_dir: PathBuf,
    },

    /// A stored file does not parse: bad JSON, wrong shape or an invalid value.
    #[error(
        "{}:{line}:{column}: {problem}; the file was left as it is: fix it or move it away",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line of the problem (1-based; 0 if unknown).
        line: usize,
        /// The column of the problem (1-based; 0 if unknown).
        column: usize,
        /// What is wrong.
        problem: String,
        /// The underlying parse error.
        #[source]
        source: serde_json::Error,
    },

    /// A stored file was written by a newer version of the program.
    #[error(
        "{} has schema version {found}, but this program reads only version {supported}; use a newer pushproxy or move the file away",
        path.display()
    )]
    UnsupportedSchema {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this program reads and writes.
        supported: u64,
    },

    /// A stored file holds another kind of document than its name says.
    #[error(
        "{} holds a document of kind {found:?} where {expected:?} was expected; the file was left as it is: rename it back or move it away",
        path.display()
    )]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The kind its name implies.
        expected: String,
        /// The kind it holds.
        found: String,
    },

    /// A value could not be turned into JSON (for example a date outside years 0-9999).
    #[error("could not encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// A `Result` with [`ConfigError`].
pub type Result<T, E = ConfigError> = core::result::Result<T, E>;
