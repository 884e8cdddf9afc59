#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backoff;
mod config;
mod engine;
mod error;
mod ids;
mod io;
mod stats;
mod store;
mod time;

pub use backoff::backoff_ceiling;
pub use config::EngineConfig;
pub use engine::Engine;
pub use error::EngineError;
pub use ids::{BatchId, MailboxHandle, SubscriptionHandle, TenantHandle, TransmitId};
pub use io::{
    BearerToken, Event, FailureReason, MailboxChange, PublishOutcome, TenantConfig, Transmit,
};
pub use stats::{FailureCounts, Stats, TenantStatus};
pub use time::Timestamp;
