//! The one error type of this crate.

/// Everything that can go wrong while handling a certificate, a key or one of the
/// small value types of this crate.
///
/// Each message says what was wrong and, where there is something to do, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A DNS domain name was malformed.
    #[error("domain `{input}` {reason}")]
    InvalidDnsName {
        /// The text that was given.
        input: String,
        /// What is wrong with it, phrased to follow the domain.
        reason: String,
    },

    /// A SHA-1 or SHA-256 thumbprint was malformed.
    #[error("thumbprint `{input}` is invalid: {reason}")]
    InvalidThumbprint {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A subject key identifier was malformed.
    #[error(
        "subject key identifier `{input}` is invalid: {reason}; write it as 32 hex digits (a GUID without dashes)"
    )]
    InvalidSki {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A list of Exchange services could not be read.
    #[error(
        "unknown service `{name}`; use a comma-separated list of None, IIS, SMTP, IMAP, POP, UM, Federation, UMCallRouter"
    )]
    InvalidService {
        /// The service name that was not recognised.
        name: String,
    },

    /// An RSA key size that is not offered.
    #[error("RSA key of {bits} bits refused; at least 2048 bits are required")]
    KeyTooSmall {
        /// The size that was asked for or found.
        bits: usize,
    },

    /// An RSA key size above the minimum that is still not one of the offered sizes.
    #[error("RSA key size of {bits} bits is not supported; use 2048, 3072 or 4096")]
    UnsupportedKeySize {
        /// The size that was asked for.
        bits: usize,
    },

    /// A private key could not be read.
    #[error(
        "private key could not be read: {reason}; give an RSA key as PKCS#8 or PKCS#1, PEM or DER"
    )]
    InvalidPrivateKey {
        /// What went wrong.
        reason: String,
    },

    /// The key is not an RSA key.
    #[error("the {what} uses the {algorithm} algorithm; only RSA keys are supported")]
    NotRsa {
        /// Which key or certificate.
        what: &'static str,
        /// The algorithm found (an OID or a name).
        algorithm: String,
    },

    /// A certificate could not be read.
    #[error("certificate could not be read: {reason}; give an X.509 certificate as PEM or DER")]
    InvalidCertificate {
        /// What went wrong.
        reason: String,
    },

    /// The private key does not belong to the certificate.
    #[error(
        "the private key does not match the certificate's public key; give the key the certificate was issued for"
    )]
    KeyMismatch,

    /// A validity period that cannot be written in a certificate.
    #[error("validity is invalid: {reason}")]
    InvalidValidity {
        /// What is wrong with it.
        reason: String,
    },

    /// A friendly name that cannot be used.
    #[error("friendly name is invalid: {reason}")]
    InvalidFriendlyName {
        /// What is wrong with it.
        reason: String,
    },

    /// The RSA library refused an operation.
    #[error("RSA operation failed while {context}")]
    Rsa {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: rsa::Error,
    },

    /// DER encoding or decoding failed.
    #[error("DER encoding failed while {context}")]
    Der {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: der::Error,
    },

    /// Building or signing a certificate failed.
    #[error("certificate could not be built: {context}")]
    Builder {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: x509_cert::builder::Error,
    },
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
