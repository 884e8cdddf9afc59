#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod certificate;
mod create;
mod credential;
mod error;
#[cfg(feature = "fs")]
mod fs;
mod hex;
mod key;
mod name;
mod pem;
mod record;
mod services;
mod ski;
mod thumbprint;

pub use certificate::{Certificate, CertificateInfo};
pub use create::{CertificateParams, DEFAULT_FRIENDLY_NAME, DEFAULT_VALIDITY, create, self_signed};
pub use credential::{Credential, CredentialType, CredentialUsage};
pub use error::{Error, Result};
#[cfg(feature = "fs")]
pub use fs::write_private_key_file;
pub use key::{KeyGen, KeyGenProgress, KeySize, MIN_KEY_BITS, PrivateKey};
pub use name::DnsName;
pub use record::{Assessment, CertificateRecord, Misfit, assess, choose};
pub use services::Services;
pub use ski::Ski;
pub use thumbprint::{Sha256Thumbprint, Thumbprint};
