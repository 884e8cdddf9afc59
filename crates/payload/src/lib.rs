#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod apns;
mod builder;
mod error;
mod parse;
mod types;
pub mod wire;
pub mod wns;

pub use builder::{BatchBuilder, NotificationSpec};
pub use error::PayloadError;
pub use parse::{Limits, parse_batch};
pub use types::{
    AppId, BackgroundSyncType, DeviceId, InstallationId, Language, TenantId, Timestamp, UnseenCount,
};
pub use wire::{Notification, Payload, PublishBatch, PublishResponse, Recipient};
