//! A simulated driver and cloud for the engine's tests: time moves only when a test moves it.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use pushproxy_engine::{
    BearerToken, Engine, EngineConfig, Event, MailboxHandle, PublishOutcome, SubscriptionHandle,
    TenantConfig, TenantHandle, Timestamp, Transmit,
};
use pushproxy_payload::{Limits, Recipient, UnseenCount, parse_batch};

pub const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const APP: &str = "com.example.mail";
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The counts one transmit carries, by device id.
pub fn counts_in(transmit: &Transmit) -> BTreeMap<String, u32> {
    let batch = parse_batch(&transmit.body, &Limits::DEFAULT).expect("engine bodies parse");
    let mut out = BTreeMap::new();
    for notification in batch.notifications() {
        let count = notification.payload().unseen_email_count.get();
        for recipient in notification.recipients() {
            let previous = out.insert(recipient.device_id.as_str().to_owned(), count);
            assert!(previous.is_none(), "device listed twice in one batch");
        }
    }
    assert_eq!(out.len(), transmit.recipients);
    out
}

pub fn recipient(device: &str) -> Recipient {
    Recipient::new(APP.parse().unwrap(), device.parse().unwrap())
}

pub fn count(n: u32) -> UnseenCount {
    UnseenCount::new(n).unwrap()
}

pub struct Harness {
    pub engine: Engine,
    pub now: Timestamp,
    pub tenant: TenantHandle,
    /// The last count each device received from an accepted batch.
    pub devices: BTreeMap<String, u32>,
    /// Events seen so far, in order.
    pub events: Vec<Event>,
    /// Whether the harness answers token requests by itself.
    pub auto_token: bool,
    tokens_issued: u32,
}

impl Harness {
    pub fn new(config: EngineConfig) -> Self {
        let mut engine = Engine::new(config).unwrap();
        let now = Timestamp::from_secs(1_000);
        let tenant = engine
            .add_tenant(TenantConfig::new(TENANT_ID.parse().unwrap()), now)
            .unwrap();
        let mut harness = Self {
            engine,
            now,
            tenant,
            devices: BTreeMap::new(),
            events: Vec::new(),
            auto_token: true,
            tokens_issued: 0,
        };
        harness.pump_events();
        harness
    }

    pub fn default_config() -> EngineConfig {
        EngineConfig::default()
    }

    /// Drains events, answering token requests when `auto_token` is on.
    pub fn pump_events(&mut self) {
        while let Some(event) = self.engine.poll_event() {
            if self.auto_token
                && let Event::NeedToken { tenant } = event
            {
                self.tokens_issued += 1;
                let token: BearerToken = format!("token-{}", self.tokens_issued).parse().unwrap();
                self.engine
                    .handle_token(tenant, token, self.now + TOKEN_LIFETIME, self.now)
                    .unwrap();
            }
            self.events.push(event);
        }
    }

    pub fn tokens_issued(&self) -> u32 {
        self.tokens_issued
    }

    pub fn mailbox(&mut self, unseen: u32) -> MailboxHandle {
        self.engine.add_mailbox(self.tenant, count(unseen)).unwrap()
    }

    pub fn subscribe(&mut self, mailbox: MailboxHandle, device: &str) -> SubscriptionHandle {
        let handle = self
            .engine
            .subscribe(mailbox, &recipient(device), self.now)
            .unwrap();
        self.pump_events();
        handle
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        self.engine.handle_timeout(self.now);
        self.pump_events();
    }

    /// Every transmit the engine wants to send now.
    pub fn transmits(&mut self) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(transmit) = self.engine.poll_transmit(self.now) {
            out.push(transmit);
        }
        self.pump_events();
        out
    }

    /// The cloud accepts the transmit: its devices now show its counts.
    pub fn accept(&mut self, transmit: &Transmit) {
        self.devices.extend(counts_in(transmit));
        self.engine.handle_publish_result(
            transmit.id,
            PublishOutcome::Accepted { dead: Vec::new() },
            self.now,
        );
        self.pump_events();
    }

    pub fn answer(&mut self, transmit: &Transmit, outcome: PublishOutcome) {
        if matches!(outcome, PublishOutcome::Accepted { .. }) {
            self.devices.extend(counts_in(transmit));
        }
        self.engine
            .handle_publish_result(transmit.id, outcome, self.now);
        self.pump_events();
    }

    /// Runs time forward with a cloud that accepts everything at once, until the engine has
    /// nothing left to do (or `limit` passes). Returns the transmits sent.
    pub fn run_accepting(&mut self, limit: Duration) -> Vec<Transmit> {
        let end = self.now + limit;
        let mut sent = Vec::new();
        loop {
            for transmit in self.transmits() {
                self.accept(&transmit);
                sent.push(transmit);
            }
            if self.engine.queue_depth() == 0 && self.engine.stats().in_flight_batches == 0 {
                break;
            }
            match self.engine.poll_timeout() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.engine.handle_timeout(self.now);
                    self.pump_events();
                }
                _ => break,
            }
        }
        sent
    }

    /// Moves time to the engine's next timeout (at least 1 ms on).
    pub fn jump_to_next_timeout(&mut self) -> Timestamp {
        let at = self
            .engine
            .poll_timeout()
            .expect("the engine is waiting on something");
        self.now = self.now.max(at);
        self.engine.handle_timeout(self.now);
        self.pump_events();
        self.now
    }

    pub fn count_events(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }
}
