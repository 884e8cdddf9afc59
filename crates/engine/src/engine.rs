//! The state machine: inputs through `handle_*`, decisions through `poll_*`.

use core::mem::size_of;
use core::time::Duration;
use std::collections::VecDeque;

use pushproxy_payload::wire::DeadDevice;
use pushproxy_payload::{BatchBuilder, DeviceId, NotificationSpec, Recipient, UnseenCount};

use crate::backoff::{Jitter, full_jitter};
use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::ids::{BatchId, MailboxHandle, SubscriptionHandle, TenantHandle, TransmitId};
use crate::io::{
    BearerToken, Event, FailureReason, MailboxChange, PublishOutcome, TenantConfig, Transmit,
};
use crate::stats::{Stats, TenantStatus};
use crate::store::{List, NIL, Queue, Store};
use crate::time::Timestamp;

/// The token a tenant holds.
#[derive(Debug)]
struct CurrentToken {
    token: BearerToken,
    expires_at: Timestamp,
    /// When to ask for the next one.
    refresh_at: Timestamp,
    /// Tells this token from its successors, so a 401 for an old token does not throw away a
    /// new one.
    generation: u64,
}

/// Where the tenant's token request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenRequest {
    /// No request out; the next one may start at `not_before`.
    Idle { not_before: Timestamp },
    /// Asked for at `since`; waiting for the driver.
    Outstanding { since: Timestamp },
}

#[derive(Debug)]
struct TokenState {
    current: Option<CurrentToken>,
    request: TokenRequest,
    /// Failed requests in a row.
    failures: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlightState {
    /// Built or failed: to be sent when the tenant may send again.
    Ready,
    /// Sent; waiting for the answer to `transmit`.
    Outstanding {
        transmit: TransmitId,
        timeout_at: Timestamp,
        token_generation: u64,
    },
}

/// A batch between building and completion.
#[derive(Debug)]
struct Flight {
    batch: BatchId,
    /// Slot index and generation of each subscription in the body.
    members: Vec<(u32, u32)>,
    body: Vec<u8>,
    notifications: usize,
    deadline: Timestamp,
    attempts: u32,
    state: FlightState,
}

#[derive(Debug)]
struct Tenant {
    config: TenantConfig,
    /// Subscriptions waiting to be published, oldest first.
    pending: List,
    /// Subscriptions that changed while `pending` was full, oldest first.
    overflow: List,
    flights: Vec<Flight>,
    /// Failed attempts in a row (any batch of this tenant).
    failures: u32,
    /// Nothing of this tenant is sent before this time (backoff, `Retry-After`).
    not_before: Timestamp,
    token: TokenState,
    mailboxes: usize,
    subscriptions: usize,
    /// Devices whose subscription was removed while in a batch that is still in flight.
    orphans: Vec<Orphan>,
}

/// A device that is in a batch in flight although its subscription is gone.
///
/// That batch may still reach the device (a retry, or a late delivery) with the old
/// subscription's count. A new subscription of the same device must not go out in another
/// batch before it, or the old count could overtake the new one; so the new subscription (the
/// heir) counts as in flight until the batch finishes, and goes out after it.
#[derive(Debug)]
struct Orphan {
    device: Box<str>,
    batch: BatchId,
    /// The new subscription of the device, by slot index and generation.
    heir: Option<(u32, u32)>,
}

/// The proxy engine. See the [crate documentation](crate) for the design and an example.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    /// The latest time seen; time never goes backwards inside the engine.
    now: Timestamp,
    tenants: Vec<Tenant>,
    store: Store,
    builder: BatchBuilder<u32>,
    events: VecDeque<Event>,
    jitter: Jitter,
    stats: Stats,
    next_batch: u64,
    next_transmit: u64,
    next_token_generation: u64,
    /// The tenant `poll_transmit` looks at first, so that one busy tenant cannot starve others.
    cursor: usize,
}

impl Engine {
    /// An engine with no tenants, or an error naming the first impossible setting.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        config.validate()?;
        Ok(Self {
            jitter: Jitter::new(config.seed),
            config,
            now: Timestamp::ZERO,
            tenants: Vec::new(),
            store: Store::new(),
            builder: BatchBuilder::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            next_batch: 0,
            next_transmit: 0,
            next_token_generation: 0,
            cursor: 0,
        })
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Makes room for this many more mailboxes and subscriptions at once, so that a driver
    /// loading a known population does not leave the tables with the slack of repeated
    /// doubling.
    pub fn reserve(&mut self, mailboxes: usize, subscriptions: usize) {
        self.store.reserve_mailboxes(mailboxes);
        self.store.reserve_subscriptions(subscriptions);
    }

    // ------------------------------------------------------------------------------------
    // Tenants, mailboxes, subscriptions
    // ------------------------------------------------------------------------------------

    /// Adds a tenant. The engine asks for its first token right away ([`Event::NeedToken`]).
    pub fn add_tenant(
        &mut self,
        config: TenantConfig,
        now: Timestamp,
    ) -> Result<TenantHandle, EngineError> {
        let now = self.advance(now);
        let index = u32::try_from(self.tenants.len())
            .ok()
            .filter(|&i| i != NIL)
            .ok_or(EngineError::Capacity {
                what: "tenants",
                limit: NIL as usize,
            })?;
        self.tenants.push(Tenant {
            config,
            pending: List::EMPTY,
            overflow: List::EMPTY,
            flights: Vec::new(),
            failures: 0,
            not_before: Timestamp::ZERO,
            token: TokenState {
                current: None,
                request: TokenRequest::Idle { not_before: now },
                failures: 0,
            },
            mailboxes: 0,
            subscriptions: 0,
            orphans: Vec::new(),
        });
        self.settle(now);
        Ok(TenantHandle(index))
    }

    /// The configuration of a tenant.
    pub fn tenant_config(&self, tenant: TenantHandle) -> Result<&TenantConfig, EngineError> {
        self.tenant_index(tenant).map(|t| &self.tenants[t].config)
    }

    /// Adds a mailbox of `tenant` with its current unseen count.
    pub fn add_mailbox(
        &mut self,
        tenant: TenantHandle,
        unseen: UnseenCount,
    ) -> Result<MailboxHandle, EngineError> {
        let t = self.tenant_index(tenant)?;
        let handle = self.store.insert_mailbox(tenant.0, unseen.get())?;
        self.tenants[t].mailboxes += 1;
        Ok(handle)
    }

    /// Removes a mailbox and every subscription to it (nothing more is sent to those devices).
    pub fn remove_mailbox(
        &mut self,
        mailbox: MailboxHandle,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let m = self.store.mailbox_index(mailbox)?;
        let now = self.advance(now);
        for index in self.store.mailbox_members(m) {
            self.remove_subscription(index);
        }
        let t = self.store.mailbox(m).tenant as usize;
        self.store.remove_mailbox(m);
        self.tenants[t].mailboxes -= 1;
        self.settle(now);
        Ok(())
    }

    /// The unseen count of a mailbox.
    pub fn unseen(&self, mailbox: MailboxHandle) -> Result<UnseenCount, EngineError> {
        let m = self.store.mailbox_index(mailbox)?;
        Ok(count_of(self.store.mailbox(m).unseen))
    }

    /// The tenant of a mailbox.
    pub fn mailbox_tenant(&self, mailbox: MailboxHandle) -> Result<TenantHandle, EngineError> {
        let m = self.store.mailbox_index(mailbox)?;
        Ok(TenantHandle(self.store.mailbox(m).tenant))
    }

    /// Subscribes a device to a mailbox's count, and queues it so the device gets the current
    /// count.
    ///
    /// A device is known by its device id within the mailbox's tenant. If it is already
    /// subscribed (a re-subscription), the existing subscription is updated in place: same
    /// handle, new app, installation, time and mailbox.
    pub fn subscribe(
        &mut self,
        mailbox: MailboxHandle,
        recipient: &Recipient,
        now: Timestamp,
    ) -> Result<SubscriptionHandle, EngineError> {
        let m = self.store.mailbox_index(mailbox)?;
        let now = self.advance(now);
        let t = self.store.mailbox(m).tenant;
        let index = match self.store.find(t, recipient.device_id.as_str()) {
            Some(index) => {
                self.store.refresh_sub(index, m, recipient)?;
                self.stats.refreshed_subscriptions += 1;
                index
            }
            None => {
                let index = self.store.insert_sub(m, recipient)?;
                let tenant = &mut self.tenants[t as usize];
                tenant.subscriptions += 1;
                let device = recipient.device_id.as_str();
                if let Some(orphan) = tenant.orphans.iter_mut().find(|o| &*o.device == device) {
                    orphan.heir = Some((index, self.store.sub_handle(index).generation));
                    self.store.set_in_flight(index, true);
                }
                index
            }
        };
        if self.enqueue(t as usize, index, now) {
            self.stats.queued += 1;
        } else {
            self.stats.coalesced += 1;
        }
        self.settle(now);
        Ok(self.store.sub_handle(index))
    }

    /// Removes a subscription; nothing more is sent to its device, and its waiting entry (if
    /// any) is dropped.
    pub fn unsubscribe(
        &mut self,
        subscription: SubscriptionHandle,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let index = self
            .store
            .sub_index(subscription)
            .ok_or(EngineError::UnknownSubscription(subscription))?;
        let now = self.advance(now);
        self.remove_subscription(index);
        self.settle(now);
        Ok(())
    }

    /// Removes the subscription of a device of `tenant`; returns whether there was one.
    pub fn unsubscribe_device(
        &mut self,
        tenant: TenantHandle,
        device_id: &DeviceId,
        now: Timestamp,
    ) -> Result<bool, EngineError> {
        let t = self.tenant_index(tenant)?;
        let now = self.advance(now);
        let found = self.store.find(t as u32, device_id.as_str());
        if let Some(index) = found {
            self.remove_subscription(index);
        }
        self.settle(now);
        Ok(found.is_some())
    }

    /// The subscription of a device of `tenant`, if there is one.
    pub fn find_subscription(
        &self,
        tenant: TenantHandle,
        device_id: &DeviceId,
    ) -> Option<SubscriptionHandle> {
        self.store
            .find(tenant.0, device_id.as_str())
            .map(|index| self.store.sub_handle(index))
    }

    /// What the cloud is told about a subscription's device.
    pub fn subscription_recipient(
        &self,
        subscription: SubscriptionHandle,
    ) -> Result<Recipient, EngineError> {
        let index = self
            .store
            .sub_index(subscription)
            .ok_or(EngineError::UnknownSubscription(subscription))?;
        Ok(self.store.recipient(index))
    }

    /// The mailbox a subscription shows.
    pub fn subscription_mailbox(
        &self,
        subscription: SubscriptionHandle,
    ) -> Result<MailboxHandle, EngineError> {
        let index = self
            .store
            .sub_index(subscription)
            .ok_or(EngineError::UnknownSubscription(subscription))?;
        Ok(self.store.mailbox_handle(self.store.sub(index).mailbox))
    }

    /// Whether a subscription is waiting to be published.
    pub fn is_queued(&self, subscription: SubscriptionHandle) -> Result<bool, EngineError> {
        let index = self
            .store
            .sub_index(subscription)
            .ok_or(EngineError::UnknownSubscription(subscription))?;
        Ok(self.store.sub(index).queue != Queue::None)
    }

    // ------------------------------------------------------------------------------------
    // Inputs
    // ------------------------------------------------------------------------------------

    /// A change to a mailbox's unseen count. Every change that states a count queues all the
    /// mailbox's subscriptions, whatever the count (0 included: a cleared badge is news too);
    /// only deleting an already seen message changes nothing.
    pub fn handle_mailbox_change(
        &mut self,
        mailbox: MailboxHandle,
        change: MailboxChange,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let m = self.store.mailbox_index(mailbox)?;
        let now = self.advance(now);
        let unseen = self.store.mailbox(m).unseen;
        let unseen = match change {
            MailboxChange::Arrived => (unseen + 1).min(UnseenCount::MAX),
            MailboxChange::Read | MailboxChange::Deleted { was_unseen: true } => {
                unseen.saturating_sub(1)
            }
            MailboxChange::Deleted { was_unseen: false } => {
                self.settle(now);
                return Ok(());
            }
            MailboxChange::Set(count) => count.get(),
        };
        self.store.set_unseen(m, unseen);
        self.queue_mailbox(m, now);
        self.settle(now);
        Ok(())
    }

    /// A new unseen message arrived in the mailbox.
    pub fn handle_message_arrived(
        &mut self,
        mailbox: MailboxHandle,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.handle_mailbox_change(mailbox, MailboxChange::Arrived, now)
    }

    /// An unseen message of the mailbox was read.
    pub fn handle_message_read(
        &mut self,
        mailbox: MailboxHandle,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.handle_mailbox_change(mailbox, MailboxChange::Read, now)
    }

    /// A message of the mailbox was deleted.
    pub fn handle_message_deleted(
        &mut self,
        mailbox: MailboxHandle,
        was_unseen: bool,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.handle_mailbox_change(mailbox, MailboxChange::Deleted { was_unseen }, now)
    }

    /// The mailbox's unseen count is now exactly `count`.
    pub fn handle_unseen_count(
        &mut self,
        mailbox: MailboxHandle,
        count: UnseenCount,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.handle_mailbox_change(mailbox, MailboxChange::Set(count), now)
    }

    /// The cloud's answer to the transmit `id`. An answer for an attempt the engine no longer
    /// waits for (it timed out, or its batch is gone) is ignored and counted in
    /// [`Stats::stale_answers`].
    pub fn handle_publish_result(
        &mut self,
        id: TransmitId,
        outcome: PublishOutcome,
        now: Timestamp,
    ) {
        let now = self.advance(now);
        let Some((t, f)) = self.find_outstanding(id) else {
            self.stats.stale_answers += 1;
            self.settle(now);
            return;
        };
        match outcome {
            PublishOutcome::Accepted { dead } => self.accept(t, f, &dead),
            PublishOutcome::RetryLater { retry_after } => {
                self.fail_attempt(t, f, FailureReason::RetryLater, retry_after, now)
            }
            PublishOutcome::Failed(reason) => self.fail_attempt(t, f, reason, None, now),
        }
        self.settle(now);
    }

    /// An access token for `tenant`, valid until `expires_at` (engine time). It is used for
    /// every publish until it comes near its expiry; a new one is asked for before that.
    ///
    /// A token that arrives already too close to its expiry to be used counts as a failed
    /// request.
    pub fn handle_token(
        &mut self,
        tenant: TenantHandle,
        token: BearerToken,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let t = self.tenant_index(tenant)?;
        let now = self.advance(now);
        if expires_at <= now + self.config.token_expiry_margin {
            self.token_failed(t, now);
            self.settle(now);
            return Ok(());
        }
        let lifetime = expires_at - now;
        let refresh_at = expires_at - self.config.token_refresh_before.min(lifetime / 2);
        self.next_token_generation += 1;
        let state = &mut self.tenants[t].token;
        state.current = Some(CurrentToken {
            token,
            expires_at,
            refresh_at,
            generation: self.next_token_generation,
        });
        state.request = TokenRequest::Idle { not_before: now };
        state.failures = 0;
        self.stats.last_token_at = Some(now);
        self.settle(now);
        Ok(())
    }

    /// The token request for `tenant` failed; it is asked for again after a backoff.
    pub fn handle_token_failed(
        &mut self,
        tenant: TenantHandle,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let t = self.tenant_index(tenant)?;
        let now = self.advance(now);
        self.token_failed(t, now);
        self.settle(now);
        Ok(())
    }

    /// Time passed: expire what is due (attempts without an answer, batches past their
    /// deadline, token requests without an answer) and ask for tokens that need refreshing.
    /// Call it at [`Engine::poll_timeout`], then drain [`Engine::poll_transmit`] and
    /// [`Engine::poll_event`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.advance(now);
        self.settle(now);
    }

    // ------------------------------------------------------------------------------------
    // Outputs
    // ------------------------------------------------------------------------------------

    /// The next publish request to send, if any may go now. Call it until it returns `None`
    /// after every input and at every timeout.
    ///
    /// A tenant sends only with a valid token, not before its backoff ends, and with at most
    /// [`EngineConfig::max_in_flight_per_tenant`] batches at once. A batch waiting for a retry
    /// goes first; otherwise a new batch is built when the tenant's queue holds a full batch or
    /// its oldest entry has waited the coalescing window. The counts are read when the batch is
    /// built, so it carries the latest value of every mailbox.
    pub fn poll_transmit(&mut self, now: Timestamp) -> Option<Transmit> {
        let now = self.advance(now);
        self.settle(now);
        let n = self.tenants.len();
        for k in 0..n {
            let t = (self.cursor + k) % n;
            if let Some(transmit) = self.transmit_for(t, now) {
                self.cursor = (t + 1) % n;
                return Some(transmit);
            }
        }
        None
    }

    /// When [`Engine::handle_timeout`] should be called next, if anything is waiting on time.
    /// A time at or before the present means "now".
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let mut next: Option<Timestamp> = None;
        let mut consider = |at: Timestamp| next = Some(next.map_or(at, |n| n.min(at)));
        for tenant in &self.tenants {
            match tenant.token.request {
                TokenRequest::Outstanding { since } => {
                    consider(since + self.config.token_request_timeout)
                }
                TokenRequest::Idle { not_before } => match &tenant.token.current {
                    None => consider(not_before),
                    Some(current) => consider(not_before.max(current.refresh_at)),
                },
            }
            let can_send = self.usable_token(tenant).is_some();
            for flight in &tenant.flights {
                match flight.state {
                    FlightState::Outstanding { timeout_at, .. } => consider(timeout_at),
                    FlightState::Ready => {
                        consider(flight.deadline);
                        if can_send {
                            consider(tenant.not_before);
                        }
                    }
                }
            }
            if can_send
                && tenant.flights.len() < self.config.max_in_flight_per_tenant
                && let Some(due) = self.batch_due_at(tenant)
            {
                consider(due.max(tenant.not_before));
            }
        }
        next
    }

    /// The next observable event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Subscriptions waiting to be published, over all tenants (pending and overflow lists).
    /// Never more than the number of subscriptions, whatever the rate of changes.
    pub fn queue_depth(&self) -> usize {
        self.tenants
            .iter()
            .map(|tenant| tenant.pending.len() + tenant.overflow.len())
            .sum()
    }

    /// Subscriptions of one tenant waiting to be published.
    pub fn tenant_queue_depth(&self, tenant: TenantHandle) -> Result<usize, EngineError> {
        let t = self.tenant_index(tenant)?;
        let tenant = &self.tenants[t];
        Ok(tenant.pending.len() + tenant.overflow.len())
    }

    /// An estimate of the bytes the engine holds: its tables (by capacity), the id strings,
    /// the lookup table, the batches in flight and the queued events.
    pub fn approx_memory_bytes(&self) -> usize {
        let tenants: usize = self
            .tenants
            .iter()
            .map(|tenant| {
                tenant.flights.capacity() * size_of::<Flight>()
                    + tenant.orphans.capacity() * size_of::<Orphan>()
                    + tenant.orphans.iter().map(|o| o.device.len()).sum::<usize>()
                    + tenant
                        .flights
                        .iter()
                        .map(|f| f.body.capacity() + f.members.capacity() * size_of::<(u32, u32)>())
                        .sum::<usize>()
            })
            .sum();
        size_of::<Self>()
            + self.tenants.capacity() * size_of::<Tenant>()
            + tenants
            + self.store.memory_bytes()
            + self.events.capacity() * size_of::<Event>()
    }

    /// The counters and gauges.
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats.clone();
        stats.tenants = self.tenants.len();
        stats.mailboxes = self.store.mailbox_count();
        stats.subscriptions = self.store.subscription_count();
        stats.queue_depth = self.queue_depth();
        stats.overflow_depth = self.tenants.iter().map(|t| t.overflow.len()).sum();
        stats.in_flight_batches = self.tenants.iter().map(|t| t.flights.len()).sum();
        stats.memory_bytes = self.approx_memory_bytes();
        stats
    }

    /// When the token of `tenant` expires, if it has one.
    pub fn token_expires_at(&self, tenant: TenantHandle) -> Result<Option<Timestamp>, EngineError> {
        let t = self.tenant_index(tenant)?;
        Ok(self.tenants[t].token.current.as_ref().map(|c| c.expires_at))
    }

    /// Where one tenant stands, for per-tenant metrics and the connectivity probe.
    pub fn tenant_status(&self, tenant: TenantHandle) -> Result<TenantStatus, EngineError> {
        let t = self.tenant_index(tenant)?;
        let state = &self.tenants[t];
        Ok(TenantStatus {
            mailboxes: state.mailboxes,
            subscriptions: state.subscriptions,
            queue_depth: state.pending.len() + state.overflow.len(),
            overflow_depth: state.overflow.len(),
            in_flight_batches: state.flights.len(),
            consecutive_failures: state.failures,
            sending_paused_until: (state.not_before > self.now).then_some(state.not_before),
            token_expires_at: state.token.current.as_ref().map(|c| c.expires_at),
            token_usable: self.usable_token(state).is_some(),
            token_requested: matches!(state.token.request, TokenRequest::Outstanding { .. }),
        })
    }

    // ------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------

    fn tenant_index(&self, tenant: TenantHandle) -> Result<usize, EngineError> {
        let t = tenant.0 as usize;
        if t < self.tenants.len() {
            Ok(t)
        } else {
            Err(EngineError::UnknownTenant(tenant))
        }
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.config.max_queued_events
            && !matches!(event, Event::NeedToken { .. })
        {
            self.stats.events_dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }

    /// The tenant and flight waiting for the answer to `id`.
    fn find_outstanding(&self, id: TransmitId) -> Option<(usize, usize)> {
        for (t, tenant) in self.tenants.iter().enumerate() {
            for (f, flight) in tenant.flights.iter().enumerate() {
                if let FlightState::Outstanding { transmit, .. } = flight.state
                    && transmit == id
                {
                    return Some((t, f));
                }
            }
        }
        None
    }

    /// Moves engine time forward to `now` (never back) and fires everything due by then.
    fn advance(&mut self, now: Timestamp) -> Timestamp {
        let now = now.max(self.now);
        self.now = now;
        for t in 0..self.tenants.len() {
            if let TokenRequest::Outstanding { since } = self.tenants[t].token.request
                && now >= since + self.config.token_request_timeout
            {
                self.token_failed(t, now);
            }
            // Attempts without an answer in time.
            let mut f = 0;
            while f < self.tenants[t].flights.len() {
                if let FlightState::Outstanding { timeout_at, .. } =
                    self.tenants[t].flights[f].state
                    && now >= timeout_at
                {
                    self.fail_attempt(t, f, FailureReason::TimedOut, None, now);
                }
                f += 1;
            }
            // Batches past their deadline are given up as they are.
            let mut f = 0;
            while f < self.tenants[t].flights.len() {
                let flight = &self.tenants[t].flights[f];
                if flight.state == FlightState::Ready && now >= flight.deadline {
                    self.requeue(t, f, FailureReason::TimedOut, now);
                } else {
                    f += 1;
                }
            }
        }
        now
    }

    /// Brings every tenant to rest after a change: refills pending lists from overflow lists
    /// and asks for tokens that are due.
    fn settle(&mut self, now: Timestamp) {
        for t in 0..self.tenants.len() {
            self.refill(t, now);
            let tenant = &mut self.tenants[t];
            let wants = match tenant.token.request {
                TokenRequest::Outstanding { .. } => false,
                TokenRequest::Idle { not_before } => {
                    now >= not_before
                        && tenant
                            .token
                            .current
                            .as_ref()
                            .is_none_or(|c| now >= c.refresh_at)
                }
            };
            if wants {
                tenant.token.request = TokenRequest::Outstanding { since: now };
                self.stats.token_requests += 1;
                self.push_event(Event::NeedToken {
                    tenant: TenantHandle(t as u32),
                });
            }
        }
    }

    fn token_failed(&mut self, t: usize, now: Timestamp) {
        let state = &mut self.tenants[t].token;
        state.failures = state.failures.saturating_add(1);
        let delay = full_jitter(
            &mut self.jitter,
            self.config.backoff_base,
            self.config.backoff_cap,
            state.failures,
        );
        let retry_at = now + delay;
        state.request = TokenRequest::Idle {
            not_before: retry_at,
        };
        self.stats.token_failures += 1;
        self.push_event(Event::TokenFailed {
            tenant: TenantHandle(t as u32),
            retry_at,
        });
    }

    /// The token of a tenant if it may go on a request now.
    fn usable_token<'a>(&self, tenant: &'a Tenant) -> Option<&'a CurrentToken> {
        tenant
            .token
            .current
            .as_ref()
            .filter(|c| self.now + self.config.token_expiry_margin < c.expires_at)
    }

    fn remove_subscription(&mut self, index: u32) {
        let t = self.store.tenant_of(index) as usize;
        let queue = self.store.sub(index).queue;
        let tenant = &mut self.tenants[t];
        match queue {
            Queue::Pending => self.store.queue_unlink(&mut tenant.pending, index),
            Queue::Overflow => self.store.queue_unlink(&mut tenant.overflow, index),
            Queue::None => {}
        }
        tenant.subscriptions -= 1;
        if self.store.sub(index).in_flight {
            let member = (index, self.store.sub_handle(index).generation);
            if let Some(orphan) = tenant.orphans.iter_mut().find(|o| o.heir == Some(member)) {
                // An heir removed before its device's old batch finished.
                orphan.heir = None;
            } else if let Some(flight) = tenant.flights.iter().find(|f| f.members.contains(&member))
            {
                tenant.orphans.push(Orphan {
                    device: self.store.sub(index).device_id().into(),
                    batch: flight.batch,
                    heir: None,
                });
            }
        }
        self.store.remove_sub(index);
    }

    /// A batch finished: the heirs of devices orphaned in it may go out now.
    fn release_orphans(&mut self, t: usize, batch: BatchId) {
        let store = &mut self.store;
        self.tenants[t].orphans.retain(|orphan| {
            if orphan.batch != batch {
                return true;
            }
            if let Some((index, generation)) = orphan.heir
                && store.is_live(index, generation)
            {
                store.set_in_flight(index, false);
            }
            false
        });
    }

    /// Puts a subscription in its tenant's queue unless it is waiting already; returns whether
    /// it was newly queued. A full pending list moves its oldest entry to the overflow list.
    fn enqueue(&mut self, t: usize, index: u32, now: Timestamp) -> bool {
        if self.store.sub(index).queue != Queue::None {
            return false;
        }
        let tenant = &mut self.tenants[t];
        if tenant.pending.len() >= self.config.max_pending_per_tenant
            && let Some(oldest) = tenant.pending.head()
        {
            self.store.queue_unlink(&mut tenant.pending, oldest);
            let was_empty = tenant.overflow.is_empty();
            self.store
                .queue_push_back(&mut tenant.overflow, Queue::Overflow, oldest, now);
            self.stats.overflowed += 1;
            if was_empty {
                self.push_event(Event::QueueFull {
                    tenant: TenantHandle(t as u32),
                });
            }
        }
        let tenant = &mut self.tenants[t];
        self.store
            .queue_push_back(&mut tenant.pending, Queue::Pending, index, now);
        true
    }

    /// Moves overflow entries back to the pending list while it has room.
    fn refill(&mut self, t: usize, now: Timestamp) {
        let tenant = &mut self.tenants[t];
        while tenant.pending.len() < self.config.max_pending_per_tenant
            && let Some(index) = tenant.overflow.head()
        {
            self.store.queue_unlink(&mut tenant.overflow, index);
            self.store
                .queue_push_back(&mut tenant.pending, Queue::Pending, index, now);
        }
    }

    /// Queues every subscription of a mailbox whose count changed.
    fn queue_mailbox(&mut self, m: u32, now: Timestamp) {
        let (t, unseen) = {
            let mailbox = self.store.mailbox(m);
            (mailbox.tenant as usize, mailbox.unseen)
        };
        let (mut queued, mut coalesced) = (0, 0);
        let mut at = self.store.mailbox_head(m);
        while let Some(index) = at {
            // Queueing moves no mailbox links, so the walk can go on from here.
            at = self.store.mailbox_next(index);
            if self.enqueue(t, index, now) {
                queued += 1;
            } else {
                coalesced += 1;
            }
        }
        self.stats.queued += queued as u64;
        self.stats.coalesced += coalesced as u64;
        if queued + coalesced == 0 {
            // A mailbox nobody watches: nothing happened worth an event.
            return;
        }
        self.push_event(Event::Queued {
            tenant: TenantHandle(t as u32),
            mailbox: self.store.mailbox_handle(m),
            unseen: count_of(unseen),
            queued,
            coalesced,
        });
    }

    /// When the tenant's next batch may be built, judged by its queue alone: now if a full
    /// batch is waiting, else when the oldest entry has waited the window. Entries already in
    /// a batch in flight wait for it to finish and do not count.
    fn batch_due_at(&self, tenant: &Tenant) -> Option<Timestamp> {
        let max = self.config.max_recipients_per_batch;
        if tenant.flights.is_empty() {
            // Nothing is in flight, so every entry is eligible.
            let head = tenant.pending.head()?;
            if tenant.pending.len() >= max {
                return Some(Timestamp::ZERO);
            }
            return Some(self.store.sub(head).queued_at + self.config.coalesce_window);
        }
        let mut first = None;
        let mut eligible = 0;
        let mut at = tenant.pending.head();
        while let Some(index) = at {
            let sub = self.store.sub(index);
            if !sub.in_flight {
                first.get_or_insert(sub.queued_at);
                eligible += 1;
                if eligible >= max {
                    return Some(Timestamp::ZERO);
                }
            }
            at = self.store.queue_next(index);
        }
        first.map(|queued_at| queued_at + self.config.coalesce_window)
    }

    /// The next transmit of tenant `t`, if it may send now.
    fn transmit_for(&mut self, t: usize, now: Timestamp) -> Option<Transmit> {
        let tenant = &self.tenants[t];
        if now < tenant.not_before {
            return None;
        }
        let (token, generation) = {
            let current = self.usable_token(tenant)?;
            (current.token.clone(), current.generation)
        };
        let f = match tenant
            .flights
            .iter()
            .position(|f| f.state == FlightState::Ready)
        {
            Some(f) => f,
            None => {
                if tenant.flights.len() >= self.config.max_in_flight_per_tenant
                    || self.batch_due_at(tenant).is_none_or(|due| due > now)
                {
                    return None;
                }
                self.build_batch(t, now)?
            }
        };
        self.next_transmit += 1;
        let id = TransmitId(self.next_transmit);
        let timeout_at =
            (now + self.config.request_timeout).min(self.tenants[t].flights[f].deadline);
        let flight = &mut self.tenants[t].flights[f];
        flight.attempts += 1;
        if flight.attempts > 1 {
            self.stats.retried += 1;
        }
        flight.state = FlightState::Outstanding {
            transmit: id,
            timeout_at,
            token_generation: generation,
        };
        Some(Transmit {
            id,
            batch: flight.batch,
            attempt: flight.attempts,
            tenant: TenantHandle(t as u32),
            body: flight.body.clone(),
            recipients: flight.members.len(),
            notifications: flight.notifications,
            deadline: timeout_at,
            token,
        })
    }

    /// Takes up to a batch of eligible entries from the front of the tenant's pending list,
    /// groups them by count and builds the body. Returns the new flight's position.
    fn build_batch(&mut self, t: usize, now: Timestamp) -> Option<usize> {
        let max_recipients = self.config.max_recipients_per_batch;
        let max_notifications = self.config.max_notifications_per_batch;
        // (count, members) in order of first appearance.
        let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
        let mut taken = 0;
        let mut at = self.tenants[t].pending.head();
        while let Some(index) = at {
            if taken >= max_recipients {
                break;
            }
            at = self.store.queue_next(index);
            let sub = self.store.sub(index);
            if sub.in_flight {
                continue;
            }
            let count = self.store.mailbox(sub.mailbox).unseen;
            match groups.iter().position(|(c, _)| *c == count) {
                Some(g) => groups[g].1.push(index),
                None if groups.len() < max_notifications => groups.push((count, vec![index])),
                None => break,
            }
            taken += 1;
        }
        if taken == 0 {
            return None;
        }
        let mut members = Vec::with_capacity(taken);
        for (_, group) in &groups {
            for &index in group {
                let tenant = &mut self.tenants[t];
                self.store.queue_unlink(&mut tenant.pending, index);
                self.store.set_in_flight(index, true);
                members.push((index, self.store.sub_handle(index).generation));
                self.builder
                    .upsert_recipient(index, &self.store.recipient(index));
            }
        }
        let config = &self.tenants[t].config;
        let specs: Vec<NotificationSpec<'_, u32>> = groups
            .iter()
            .map(|(count, group)| NotificationSpec {
                tenant: config.tenant_id,
                count: count_of(*count),
                language: config.language.as_ref(),
                sync_type: config.background_sync_type,
                monitoring: false,
                recipients: group,
            })
            .collect();
        let mut body = Vec::new();
        let built = self.builder.build(&specs, &mut body);
        drop(specs);
        for &(index, _) in &members {
            self.builder.remove_recipient(&index);
        }
        self.stats.batches_built += 1;
        if let Err(error) = built {
            // Cannot happen with the engine's invariants (one entry per device per tenant,
            // at least one recipient per group); if it does, dropping the entries from the
            // queue keeps the engine from retrying the same broken batch forever.
            for &(index, _) in &members {
                self.store.set_in_flight(index, false);
            }
            self.stats.build_failures += 1;
            self.push_event(Event::BuildFailed {
                tenant: TenantHandle(t as u32),
                error: error.chain(),
            });
            return None;
        }
        self.next_batch += 1;
        let tenant = &mut self.tenants[t];
        tenant.flights.push(Flight {
            batch: BatchId(self.next_batch),
            members,
            body,
            notifications: groups.len(),
            deadline: now + self.config.batch_deadline,
            attempts: 0,
            state: FlightState::Ready,
        });
        self.refill(t, now);
        Some(self.tenants[t].flights.len() - 1)
    }

    /// The flight's subscriptions are out of flight (those that still exist).
    fn land(&mut self, flight: &Flight) -> Vec<u32> {
        let mut live = Vec::with_capacity(flight.members.len());
        for &(index, generation) in &flight.members {
            if self.store.is_live(index, generation) {
                self.store.set_in_flight(index, false);
                live.push(index);
            }
        }
        live
    }

    fn accept(&mut self, t: usize, f: usize, dead: &[DeadDevice]) {
        let flight = self.tenants[t].flights.remove(f);
        self.land(&flight);
        self.release_orphans(t, flight.batch);
        self.tenants[t].failures = 0;
        self.stats.published_batches += 1;
        self.stats.published_recipients += flight.members.len() as u64;
        let tenant = TenantHandle(t as u32);
        self.push_event(Event::Published {
            tenant,
            batch: flight.batch,
            recipients: flight.members.len(),
            attempts: flight.attempts,
        });
        for device in dead {
            if let Some(index) = self.store.find(t as u32, device.device_id.as_str()) {
                let subscription = self.store.sub_handle(index);
                self.remove_subscription(index);
                self.stats.dead_removed += 1;
                self.push_event(Event::DeviceRemoved {
                    tenant,
                    subscription,
                    device_id: device.device_id.clone(),
                    reason: device.reason,
                });
            }
        }
    }

    fn fail_attempt(
        &mut self,
        t: usize,
        f: usize,
        reason: FailureReason,
        retry_after: Option<Duration>,
        now: Timestamp,
    ) {
        self.stats.failed.bump(reason);
        let tenant = &mut self.tenants[t];
        tenant.failures = tenant.failures.saturating_add(1);
        let delay = match retry_after {
            Some(wait) => wait.min(self.config.retry_after_max),
            None => full_jitter(
                &mut self.jitter,
                self.config.backoff_base,
                self.config.backoff_cap,
                tenant.failures,
            ),
        };
        tenant.not_before = tenant.not_before.max(now + delay);
        let retry_at = tenant.not_before;
        let flight = &mut tenant.flights[f];
        if reason == FailureReason::Unauthorized
            && let FlightState::Outstanding {
                token_generation, ..
            } = flight.state
            && tenant
                .token
                .current
                .as_ref()
                .is_some_and(|c| c.generation == token_generation)
        {
            // The token that was refused goes; the next publish waits for a new one.
            tenant.token.current = None;
        }
        flight.state = FlightState::Ready;
        let batch = flight.batch;
        self.push_event(Event::PublishFailed {
            tenant: TenantHandle(t as u32),
            batch,
            reason,
            retry_at,
        });
        if reason == FailureReason::Rejected {
            self.requeue(t, f, reason, now);
        }
    }

    /// Gives a batch up as it is: its subscriptions are queued again, to go out with the
    /// counts their mailboxes have when the next batch is built.
    fn requeue(&mut self, t: usize, f: usize, reason: FailureReason, now: Timestamp) {
        let flight = self.tenants[t].flights.remove(f);
        let live = self.land(&flight);
        self.release_orphans(t, flight.batch);
        for &index in &live {
            self.enqueue(t, index, now);
        }
        self.stats.requeued_batches += 1;
        self.push_event(Event::BatchRequeued {
            tenant: TenantHandle(t as u32),
            batch: flight.batch,
            requeued: live.len(),
            reason,
        });
    }
}

/// A stored count as the wire type. Stored counts never exceed [`UnseenCount::MAX`]: they come
/// from an `UnseenCount` or from a change clamped to it.
fn count_of(count: u32) -> UnseenCount {
    UnseenCount::new(count.min(UnseenCount::MAX)).unwrap_or(UnseenCount::ZERO)
}
