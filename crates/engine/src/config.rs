//! The engine's policy knobs, with the defaults the proxy runs with.

use core::time::Duration;

use crate::error::EngineError;

/// How the engine coalesces, batches, retries and bounds its queues.
///
/// Build one with [`EngineConfig::default`] and change the fields you need;
/// [`crate::Engine::new`] checks the combination and refuses an impossible one with
/// [`EngineError::InvalidConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// How long a subscription waits after its first change before it is due, so that a burst
    /// of changes becomes one update carrying the final count. Default 2 s; zero sends every
    /// change at once (still one entry per subscription).
    pub coalesce_window: Duration,
    /// The most recipients in one publish batch. A batch goes out as soon as this many
    /// subscriptions are waiting, without waiting for the window. Default 100.
    pub max_recipients_per_batch: usize,
    /// The most notifications (distinct payloads, i.e. distinct counts) in one batch. Default 100.
    pub max_notifications_per_batch: usize,
    /// The first retry waits at most this long (full jitter: uniformly between zero and the
    /// ceiling). Default 1 s.
    pub backoff_base: Duration,
    /// The ceiling doubles with every failure in a row up to this cap. Default 60 s.
    pub backoff_cap: Duration,
    /// The longest a `Retry-After` from the cloud is obeyed; a longer one is cut to this.
    /// Default 10 min.
    pub retry_after_max: Duration,
    /// How long a batch is retried as it is. After this, its subscriptions are queued again and
    /// the next batch carries their counts as they are then. Default 2 min.
    pub batch_deadline: Duration,
    /// How long one publish request may take before it counts as timed out. Default 30 s.
    pub request_timeout: Duration,
    /// The most batches of one tenant between building and completion at the same time
    /// (being sent, or waiting to be retried). Default 1.
    pub max_in_flight_per_tenant: usize,
    /// The most subscriptions of one tenant waiting in its queue. When a change would exceed
    /// it, the oldest waiting subscriptions are moved to an overflow list (which costs no
    /// memory beyond the subscription itself) and queued again, with their count as it is then,
    /// once the queue has room. Default 100 000.
    pub max_pending_per_tenant: usize,
    /// Ask for a new access token this long before the current one expires (but never before
    /// half its lifetime has passed). Default 5 min.
    pub token_refresh_before: Duration,
    /// A token closer than this to its expiry is not put on a request any more, so it cannot
    /// expire on the way. Default 30 s.
    pub token_expiry_margin: Duration,
    /// A token request without an answer after this long counts as failed and is asked for
    /// again. Default 2 min.
    pub token_request_timeout: Duration,
    /// The most events kept for [`crate::Engine::poll_event`]. Beyond this, new informational
    /// events are dropped and counted in [`crate::Stats::events_dropped`]; token requests are
    /// always kept. Default 4096.
    pub max_queued_events: usize,
    /// Seed of the generator that draws retry jitter. Give each process its own (for example
    /// from the OS) so that proxies do not retry in step; a fixed seed makes runs repeatable.
    /// Default 0 (a fixed seed).
    pub seed: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            coalesce_window: Duration::from_secs(2),
            max_recipients_per_batch: 100,
            max_notifications_per_batch: 100,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            retry_after_max: Duration::from_secs(600),
            batch_deadline: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            max_in_flight_per_tenant: 1,
            max_pending_per_tenant: 100_000,
            token_refresh_before: Duration::from_secs(300),
            token_expiry_margin: Duration::from_secs(30),
            token_request_timeout: Duration::from_secs(120),
            max_queued_events: 4096,
            seed: 0,
        }
    }
}

impl EngineConfig {
    /// Checks that the values can work together.
    pub fn validate(&self) -> Result<(), EngineError> {
        let invalid = |field: &'static str, reason: &'static str| {
            Err(EngineError::InvalidConfig { field, reason })
        };
        if self.max_recipients_per_batch == 0 {
            return invalid("max_recipients_per_batch", "must be at least 1");
        }
        if self.max_notifications_per_batch == 0 {
            return invalid("max_notifications_per_batch", "must be at least 1");
        }
        if self.max_in_flight_per_tenant == 0 {
            return invalid(
                "max_in_flight_per_tenant",
                "must be at least 1, or nothing would ever be sent",
            );
        }
        if self.max_pending_per_tenant == 0 {
            return invalid(
                "max_pending_per_tenant",
                "must be at least 1, or no change could ever be queued",
            );
        }
        if self.backoff_base > self.backoff_cap {
            return invalid("backoff_base", "must not be larger than backoff_cap");
        }
        if self.batch_deadline.is_zero() {
            return invalid("batch_deadline", "must be longer than zero");
        }
        if self.request_timeout.is_zero() {
            return invalid("request_timeout", "must be longer than zero");
        }
        if self.token_request_timeout.is_zero() {
            return invalid("token_request_timeout", "must be longer than zero");
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_as_documented() {
        let config = EngineConfig::default();
        config.validate().unwrap();
        assert_eq!(config.coalesce_window, Duration::from_secs(2));
        assert_eq!(config.max_recipients_per_batch, 100);
        assert_eq!(config.backoff_base, Duration::from_secs(1));
        assert_eq!(config.backoff_cap, Duration::from_secs(60));
        assert_eq!(config.batch_deadline, Duration::from_secs(120));
        assert_eq!(config.max_in_flight_per_tenant, 1);
    }

    #[test]
    fn impossible_values_are_refused_with_the_field() {
        type Change = fn(&mut EngineConfig);
        let cases: [(Change, &str); 7] = [
            (
                |c| c.max_recipients_per_batch = 0,
                "max_recipients_per_batch",
            ),
            (
                |c| c.max_notifications_per_batch = 0,
                "max_notifications_per_batch",
            ),
            (
                |c| c.max_in_flight_per_tenant = 0,
                "max_in_flight_per_tenant",
            ),
            (|c| c.max_pending_per_tenant = 0, "max_pending_per_tenant"),
            (|c| c.backoff_base = Duration::from_secs(61), "backoff_base"),
            (|c| c.batch_deadline = Duration::ZERO, "batch_deadline"),
            (|c| c.request_timeout = Duration::ZERO, "request_timeout"),
        ];
        for (change, field) in cases {
            let mut config = EngineConfig::default();
            change(&mut config);
            match config.validate() {
                Err(EngineError::InvalidConfig { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}
