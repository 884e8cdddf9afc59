//! The one error type of this crate.

/// Everything that can go wrong while handling a certificate, a key or one of the
/// small value types of this crate.
///
/// Each message says what was wrong and, where there is something to do, what to do.
/// Errors from the underlying libraries are kept as the [`source`](std::error::Error::source).
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
        "services `{input}` are invalid: {reason}; use a comma-separated list of None, IIS, SMTP, IMAP, POP, UM, Federation, UMCallRouter"
    )]
    InvalidServices {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An RSA key below the minimum size.
    #[error("RSA key of {bits} bits refused; at least 2048 bits are required")]
    KeyTooSmall {
        /// The size that was asked for or found.
        bits: usize,
    },

    /// An RSA key size above the minimum that is still not one of the sizes offered for
    /// new keys.
    #[error("RSA key size of {bits} bits is not offered; choose 2048, 3072 or 4096")]
    UnsupportedKeySize {
        /// The size that was asked for.
        bits: usize,
    },

    /// A key size that is not a number.
    #[error("key size `{input}` is not a number of bits; choose 2048, 3072 or 4096")]
    InvalidKeySize {
        /// The text that was given.
        input: String,
    },

    /// The key given for a new certificate does not have the size its parameters ask for.
    #[error(
        "the key has {key_bits} bits but the certificate parameters ask for {requested}; generate a key of that size or change the parameters"
    )]
    KeySizeMismatch {
        /// The size of the key given.
        key_bits: usize,
        /// The size the parameters ask for.
        requested: usize,
    },

    /// A private key file is encrypted with a password.
    #[error(
        "the private key is encrypted; decrypt it first (for example `openssl pkey -in key.pem -out plain-key.pem`) and keep the result with mode 0600"
    )]
    EncryptedPrivateKey,

    /// A private key file has no usable key in it.
    #[error("private key could not be read: {reason}")]
    InvalidPrivateKey {
        /// What went wrong.
        reason: String,
    },

    /// A PKCS#8 private key could not be decoded.
    #[error(
        "private key could not be read as PKCS#8; give an unencrypted RSA key as PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`)"
    )]
    Pkcs8 {
        /// The underlying error.
        #[source]
        source: pkcs8::Error,
    },

    /// A PKCS#1 private key could not be decoded.
    #[error(
        "private key could not be read as PKCS#1; give an unencrypted RSA key as PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`)"
    )]
    Pkcs1 {
        /// The underlying error.
        #[source]
        source: rsa::pkcs1::Error,
    },

    /// The key is not an RSA key.
    #[error("the {what} uses the {algorithm} algorithm; only RSA keys are supported")]
    NotRsa {
        /// Which key or certificate.
        what: &'static str,
        /// The algorithm found (a name or an OID).
        algorithm: String,
    },

    /// A certificate file has no usable certificate in it.
    #[error("certificate could not be read: {reason}")]
    InvalidCertificate {
        /// What went wrong.
        reason: String,
    },

    /// The certificate's DER could not be parsed as X.509.
    #[error(
        "certificate could not be parsed as X.509; give a DER (`.cer`) or PEM (`BEGIN CERTIFICATE`) certificate"
    )]
    CertificateParse {
        /// The underlying error.
        #[source]
        source: x509_parser::error::X509Error,
    },

    /// PEM text could not be decoded.
    #[error("PEM text could not be decoded while {context}; check that the file was not altered")]
    Pem {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: der::pem::Error,
    },

    /// Base64 text could not be decoded.
    #[error("base64 text could not be decoded while {context}")]
    Base64 {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: base64ct::Error,
    },

    /// A public key could not be encoded or decoded.
    #[error("public key could not be processed while {context}")]
    Spki {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: spki::Error,
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
    #[error("certificate could not be built while {context}")]
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
