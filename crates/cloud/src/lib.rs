#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod devices;
pub mod directory;
mod error;
pub mod push_service;
pub mod token_service;
mod url;
mod when;

#[cfg(test)]
mod test_support;

pub use devices::{ApnsView, Dead, DeviceKey, DeviceRecord, DeviceRegistry};
pub use directory::{
    CredentialAdded, CredentialRef, CredentialUpload, Directory, KeyCredential, OrgRef,
    Organization, Registration,
};
pub use error::CloudError;
pub use push_service::{PushConfig, PushFailure, PushService};
pub use token_service::{OAuthCode, OAuthFailure, TokenService};
pub use url::ServiceUrl;
