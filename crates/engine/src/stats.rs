//! Counters and gauges for a driver's `/metrics`.

use crate::io::FailureReason;
use crate::time::Timestamp;

/// Failed attempts, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailureCounts {
    /// The cloud asked to come back later.
    pub retry_later: u64,
    /// The cloud refused the token.
    pub unauthorized: u64,
    /// The cloud refused the batch.
    pub rejected: u64,
    /// The cloud could not be reached.
    pub unreachable: u64,
    /// No answer in time.
    pub timed_out: u64,
}

impl FailureCounts {
    /// The counter for one reason.
    pub fn get(&self, reason: FailureReason) -> u64 {
        match reason {
            FailureReason::RetryLater => self.retry_later,
            FailureReason::Unauthorized => self.unauthorized,
            FailureReason::Rejected => self.rejected,
            FailureReason::Unreachable => self.unreachable,
            FailureReason::TimedOut => self.timed_out,
        }
    }

    pub(crate) fn bump(&mut self, reason: FailureReason) {
        let counter = match reason {
            FailureReason::RetryLater => &mut self.retry_later,
            FailureReason::Unauthorized => &mut self.unauthorized,
            FailureReason::Rejected => &mut self.rejected,
            FailureReason::Unreachable => &mut self.unreachable,
            FailureReason::TimedOut => &mut self.timed_out,
        };
        *counter += 1;
    }

    /// All failed attempts.
    pub fn total(&self) -> u64 {
        self.retry_later + self.unauthorized + self.rejected + self.unreachable + self.timed_out
    }
}

/// A snapshot of the engine's counters (since it was created) and gauges (now).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    // ---- gauges ----
    /// Tenants.
    pub tenants: usize,
    /// Mailboxes.
    pub mailboxes: usize,
    /// Device subscriptions.
    pub subscriptions: usize,
    /// Subscriptions waiting to be published (pending and overflow lists of all tenants).
    pub queue_depth: usize,
    /// Of those, the ones on overflow lists (their tenant's queue was full).
    pub overflow_depth: usize,
    /// Batches being sent or waiting to be retried.
    pub in_flight_batches: usize,
    /// The engine's estimate of its own memory use, in bytes.
    pub memory_bytes: usize,

    // ---- counters ----
    /// Subscriptions put in a queue (by a count change or a new subscription).
    pub queued: u64,
    /// Count changes absorbed by an entry that was already waiting.
    pub coalesced: u64,
    /// Batches built.
    pub batches_built: u64,
    /// Batches the cloud accepted.
    pub published_batches: u64,
    /// Recipients in accepted batches.
    pub published_recipients: u64,
    /// Attempts after the first one of their batch.
    pub retried: u64,
    /// Failed attempts, by reason.
    pub failed: FailureCounts,
    /// Batches given up as they were (deadline or rejection); their subscriptions were queued
    /// again.
    pub requeued_batches: u64,
    /// Subscriptions removed because the cloud reported their device dead.
    pub dead_removed: u64,
    /// Subscriptions moved to an overflow list because their tenant's queue was full.
    pub overflowed: u64,
    /// Re-subscriptions of a known device (updated in place).
    pub refreshed_subscriptions: u64,
    /// Access tokens asked for.
    pub token_requests: u64,
    /// Token requests that failed or went unanswered.
    pub token_failures: u64,
    /// When the last access token arrived.
    pub last_token_at: Option<Timestamp>,
    /// Answers for attempts the engine no longer waits for (late, or unknown).
    pub stale_answers: u64,
    /// Informational events dropped because the event queue was full.
    pub events_dropped: u64,
    /// Batches that could not be built.
    pub build_failures: u64,
}

/// Where one tenant stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantStatus {
    /// Mailboxes of the tenant.
    pub mailboxes: usize,
    /// Device subscriptions of the tenant.
    pub subscriptions: usize,
    /// Subscriptions waiting to be published (pending and overflow).
    pub queue_depth: usize,
    /// Of those, the ones on the overflow list.
    pub overflow_depth: usize,
    /// Batches being sent or waiting to be retried.
    pub in_flight_batches: usize,
    /// Failed attempts in a row; 0 after a success.
    pub consecutive_failures: u32,
    /// Nothing is sent before this time (backoff or `Retry-After`), if that is in the future.
    pub sending_paused_until: Option<Timestamp>,
    /// When the current token expires, if there is one.
    pub token_expires_at: Option<Timestamp>,
    /// Whether the token may go on a request now.
    pub token_usable: bool,
    /// Whether a token request is waiting for an answer.
    pub token_requested: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn failure_counts_by_reason() {
        let mut counts = FailureCounts::default();
        counts.bump(FailureReason::Unauthorized);
        counts.bump(FailureReason::Unauthorized);
        counts.bump(FailureReason::TimedOut);
        assert_eq!(counts.get(FailureReason::Unauthorized), 2);
        assert_eq!(counts.get(FailureReason::TimedOut), 1);
        assert_eq!(counts.get(FailureReason::Rejected), 0);
        assert_eq!(counts.total(), 3);
    }
}
