//! What goes into the engine and what comes out of it.

use core::fmt;
use core::str::FromStr;
use core::time::Duration;
use std::sync::Arc;

use pushproxy_payload::wire::{DeadDevice, DeadReason};
use pushproxy_payload::{
    BackgroundSyncType, DeviceId, Language, PublishResponse, TenantId, UnseenCount,
};

use crate::error::EngineError;
use crate::ids::{BatchId, MailboxHandle, SubscriptionHandle, TenantHandle, TransmitId};
use crate::time::Timestamp;

/// One on-premises organisation served by the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantConfig {
    /// The tenant id carried in every notification (`tenantId`).
    pub tenant_id: TenantId,
    /// The language put in every notification of this tenant, if any.
    pub language: Option<Language>,
    /// What the app should fetch in the background when a notification arrives.
    pub background_sync_type: BackgroundSyncType,
}

impl TenantConfig {
    /// A tenant with no language and no background sync.
    pub fn new(tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            language: None,
            background_sync_type: BackgroundSyncType::None,
        }
    }
}

/// A change to a mailbox's unseen count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailboxChange {
    /// A new (unseen) message arrived: the count goes up by one.
    Arrived,
    /// An unseen message was read: the count goes down by one (not below zero).
    Read,
    /// A message was deleted; the count goes down by one if it was unseen, and nothing
    /// changes otherwise.
    Deleted {
        /// Whether the deleted message was still unseen.
        was_unseen: bool,
    },
    /// The count is now exactly this (for example after a full resynchronisation).
    Set(UnseenCount),
}

/// An access token for the publish call, as the token service issued it.
///
/// Its text is a bearer credential: `Debug` shows only its length, and the text is reached
/// through [`BearerToken::expose`] by the code that writes the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(Arc<str>);

impl BearerToken {
    /// The token's text, for the `Authorization: Bearer` header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn check(text: &str) -> Result<(), EngineError> {
        if text.is_empty() {
            return Err(EngineError::InvalidToken {
                reason: "it is empty",
            });
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(EngineError::InvalidToken {
                reason: "it holds spaces or characters that cannot go in an HTTP header",
            });
        }
        Ok(())
    }
}

impl TryFrom<String> for BearerToken {
    type Error = EngineError;

    fn try_from(text: String) -> Result<Self, EngineError> {
        Self::check(&text)?;
        Ok(Self(Arc::from(text)))
    }
}

impl FromStr for BearerToken {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self, EngineError> {
        Self::check(text)?;
        Ok(Self(Arc::from(text)))
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerToken([redacted; {} bytes])", self.0.len())
    }
}

/// A publish request the driver must send: `POST` the body to the push app's publish URL
/// with the token as bearer, then give the answer back with
/// [`crate::Engine::handle_publish_result`] under [`Transmit::id`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Transmit {
    /// This attempt; the answer is given back under it.
    pub id: TransmitId,
    /// The batch; every attempt of one batch carries the same body.
    pub batch: BatchId,
    /// Which attempt of the batch this is, from 1.
    pub attempt: u32,
    /// The tenant the batch is for.
    pub tenant: TenantHandle,
    /// The JSON body (`{"notifications":[...]}`).
    pub body: Vec<u8>,
    /// How many recipients the body names.
    pub recipients: usize,
    /// How many notifications (distinct counts) the body holds.
    pub notifications: usize,
    /// Give up on the request at this time. Without an answer by then the engine counts the
    /// attempt as timed out, and a late answer is ignored.
    pub deadline: Timestamp,
    /// The access token to send as bearer.
    pub token: BearerToken,
}

/// Why an attempt to publish did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// The cloud asked to come back later (HTTP 429 or 503, maybe with `Retry-After`).
    RetryLater,
    /// The cloud refused the token (HTTP 401): a new token is fetched before the retry.
    Unauthorized,
    /// The cloud refused the batch itself (HTTP 400 with a fault). It is not sent again as
    /// it is; its subscriptions are queued again with their current counts.
    Rejected,
    /// The cloud could not be reached (connection refused, DNS, TLS, HTTP 5xx).
    Unreachable,
    /// No answer before the transmit's deadline.
    TimedOut,
}

impl FailureReason {
    /// A short lower-case name, for metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetryLater => "retry_later",
            Self::Unauthorized => "unauthorized",
            Self::Rejected => "rejected",
            Self::Unreachable => "unreachable",
            Self::TimedOut => "timed_out",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cloud's answer to one [`Transmit`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishOutcome {
    /// The batch was accepted. Devices the cloud found dead are removed.
    Accepted {
        /// Devices to forget.
        dead: Vec<DeadDevice>,
    },
    /// Come back later; `retry_after` is the server's `Retry-After`, if it sent one.
    RetryLater {
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// The attempt failed for this reason (use [`PublishOutcome::RetryLater`] for
    /// [`FailureReason::RetryLater`]).
    Failed(FailureReason),
}

impl From<PublishResponse> for PublishOutcome {
    fn from(response: PublishResponse) -> Self {
        Self::Accepted {
            dead: response.dead,
        }
    }
}

/// Something observable that happened inside the engine. Drain with
/// [`crate::Engine::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Fetch an access token for the tenant and give it with
    /// [`crate::Engine::handle_token`] (or report [`crate::Engine::handle_token_failed`]).
    /// Nothing of the tenant is published without a valid token.
    NeedToken {
        /// The tenant.
        tenant: TenantHandle,
    },
    /// A token request failed or went unanswered; it is asked for again at `retry_at`.
    TokenFailed {
        /// The tenant.
        tenant: TenantHandle,
        /// When the next [`Event::NeedToken`] comes.
        retry_at: Timestamp,
    },
    /// A mailbox's count changed and its subscriptions are waiting to be published.
    Queued {
        /// The tenant.
        tenant: TenantHandle,
        /// The mailbox.
        mailbox: MailboxHandle,
        /// The count now.
        unseen: UnseenCount,
        /// Subscriptions that were not waiting before.
        queued: usize,
        /// Subscriptions already waiting: the new count replaces the old one in their entry.
        coalesced: usize,
    },
    /// The cloud accepted a batch.
    Published {
        /// The tenant.
        tenant: TenantHandle,
        /// The batch.
        batch: BatchId,
        /// How many recipients it named.
        recipients: usize,
        /// How many attempts it took.
        attempts: u32,
    },
    /// An attempt failed. The batch is retried no earlier than `retry_at` unless its deadline
    /// comes first.
    PublishFailed {
        /// The tenant.
        tenant: TenantHandle,
        /// The batch.
        batch: BatchId,
        /// Why.
        reason: FailureReason,
        /// The earliest time the tenant sends again.
        retry_at: Timestamp,
    },
    /// A batch was given up as it was (deadline passed, or the cloud rejected it); its
    /// subscriptions are queued again and go out with their counts as they are then.
    BatchRequeued {
        /// The tenant.
        tenant: TenantHandle,
        /// The batch.
        batch: BatchId,
        /// How many of its subscriptions still existed and were queued again.
        requeued: usize,
        /// What ended it: [`FailureReason::TimedOut`] for the deadline, else the reason.
        reason: FailureReason,
    },
    /// A subscription was removed because the cloud reported its device dead.
    DeviceRemoved {
        /// The tenant.
        tenant: TenantHandle,
        /// The removed subscription.
        subscription: SubscriptionHandle,
        /// Its device.
        device_id: DeviceId,
        /// Why the cloud dropped it.
        reason: DeadReason,
    },
    /// The tenant's queue reached its cap: the oldest waiting subscriptions move to the
    /// overflow list and are queued again when there is room. Reported once each time the
    /// overflow list goes from empty to non-empty.
    QueueFull {
        /// The tenant.
        tenant: TenantHandle,
    },
    /// A batch could not be built; its subscriptions were dropped from the queue.
    BuildFailed {
        /// The tenant.
        tenant: TenantHandle,
        /// The payload crate's description.
        error: String,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_debug_is_redacted() {
        let token: BearerToken = "eyJhbGciOiJSUzI1NiJ9.secret.sig".parse().unwrap();
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(shown, "BearerToken([redacted; 31 bytes])");
        assert_eq!(token.expose(), "eyJhbGciOiJSUzI1NiJ9.secret.sig");
    }

    #[test]
    fn bad_tokens_are_refused() {
        assert!("".parse::<BearerToken>().is_err());
        assert!("a b".parse::<BearerToken>().is_err());
        assert!(BearerToken::try_from("a\r\nX-Injected: 1".to_owned()).is_err());
    }

    #[test]
    fn failure_reasons_have_stable_names() {
        let all = [
            FailureReason::RetryLater,
            FailureReason::Unauthorized,
            FailureReason::Rejected,
            FailureReason::Unreachable,
            FailureReason::TimedOut,
        ];
        let names: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "retry_later",
                "unauthorized",
                "rejected",
                "unreachable",
                "timed_out"
            ]
        );
    }

    proptest! {
        #[test]
        fn token_validator_accepts_exactly_header_safe_text(text in "\\PC{0,40}") {
            let expected = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
            match text.parse::<BearerToken>() {
                Ok(token) => {
                    prop_assert!(expected);
                    prop_assert_eq!(token.expose(), text.as_str());
                    prop_assert_eq!(BearerToken::try_from(text.clone()).ok(), Some(token));
                }
                Err(_) => prop_assert!(!expected),
            }
        }

        #[test]
        fn graphic_ascii_tokens_are_accepted(text in "[!-~]{1,64}") {
            prop_assert!(text.parse::<BearerToken>().is_ok());
        }
    }
}
