//! The one error type of this crate.

use crate::ids::{MailboxHandle, SubscriptionHandle, TenantHandle};

/// What the engine refused to do.
///
/// The engine's state is unchanged when a call returns an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A configuration value that cannot work.
    #[error("engine setting `{field}` {reason}; change it in the engine configuration")]
    InvalidConfig {
        /// The field of [`crate::EngineConfig`].
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tenant handle this engine never gave out.
    #[error("{0:?} is not a tenant of this engine; use a handle returned by add_tenant")]
    UnknownTenant(TenantHandle),
    /// A mailbox handle that was never valid or whose mailbox was removed.
    #[error("{0:?} does not exist (removed, or from another engine); add the mailbox again")]
    UnknownMailbox(MailboxHandle),
    /// A subscription handle that was never valid or whose subscription was removed.
    #[error(
        "{0:?} does not exist (removed, found dead, or from another engine); subscribe the device again"
    )]
    UnknownSubscription(SubscriptionHandle),
    /// More entries of one kind than the engine's 32-bit indexes can hold.
    #[error("the engine holds {limit} {what} already, its limit; remove unused ones first")]
    Capacity {
        /// Which kind of entry.
        what: &'static str,
        /// How many it can hold.
        limit: usize,
    },
    /// An access token that cannot be sent in an `Authorization` header.
    #[error(
        "access token refused: {reason}; pass the access_token member of the token response as it is"
    )]
    InvalidToken {
        /// What is wrong with it.
        reason: &'static str,
    },
}
