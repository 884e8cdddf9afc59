//! Publish batches and device payloads of the push-notification proxy.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod types;

pub use error::PayloadError;
pub use types::{
    AppId, BackgroundSyncType, DeviceId, InstallationId, Language, TenantId, Timestamp,
    UnseenCount,
};
