//! Model-based property test: whatever happens (count changes, subscriptions coming and going,
//! every kind of cloud failure, lost requests, token trouble, time jumps), once the cloud
//! accepts everything and time runs on, every live subscription's device shows its mailbox's
//! count, and the queue never holds more entries than there are subscriptions.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TENANT_ID, counts_in, recipient};
use proptest::prelude::*;
use pushproxy_engine::{
    Engine, EngineConfig, Event, FailureReason, MailboxHandle, PublishOutcome, TenantConfig,
    TenantHandle, Timestamp, Transmit,
};
use pushproxy_payload::UnseenCount;
use pushproxy_payload::wire::{DeadDevice, DeadReason};

const MAILBOXES: usize = 3;
const DEVICES: usize = 8;

#[derive(Clone, Debug)]
enum Answer {
    Accept {
        dead: Option<usize>,
    },
    RetryLater(Option<u64>),
    Fail(FailureReason),
    /// The request is lost: no answer ever comes.
    Lose,
}

#[derive(Clone, Debug)]
enum Op {
    Arrive(usize),
    Read(usize),
    Delete(usize, bool),
    Set(usize, u32),
    Subscribe(usize, usize),
    Unsubscribe(usize),
    Advance(u64),
    Answer(usize, Answer),
    Token(bool),
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => proptest::option::of(0..DEVICES).prop_map(|dead| Answer::Accept { dead }),
        1 => proptest::option::of(0u64..20).prop_map(Answer::RetryLater),
        1 => Just(Answer::Fail(FailureReason::Unauthorized)),
        1 => Just(Answer::Fail(FailureReason::Rejected)),
        1 => Just(Answer::Fail(FailureReason::Unreachable)),
        1 => Just(Answer::Fail(FailureReason::TimedOut)),
        1 => Just(Answer::Lose),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..MAILBOXES).prop_map(Op::Arrive),
        2 => (0..MAILBOXES).prop_map(Op::Read),
        1 => (0..MAILBOXES, any::<bool>()).prop_map(|(m, u)| Op::Delete(m, u)),
        1 => (0..MAILBOXES, 0u32..4).prop_map(|(m, c)| Op::Set(m, c)),
        2 => (0..DEVICES, 0..MAILBOXES).prop_map(|(d, m)| Op::Subscribe(d, m)),
        1 => (0..DEVICES).prop_map(Op::Unsubscribe),
        4 => prop_oneof![0u64..500, 0u64..5_000, 0u64..60_000].prop_map(Op::Advance),
        4 => (any::<usize>(), answer()).prop_map(|(i, a)| Op::Answer(i, a)),
        2 => any::<bool>().prop_map(Op::Token),
    ]
}

fn config() -> impl Strategy<Value = EngineConfig> {
    (
        1usize..4,
        1usize..3,
        1usize..3,
        1usize..6,
        any::<u64>(),
        0u64..3000,
    )
        .prop_map(
            |(recipients, notifications, in_flight, pending, seed, window)| {
                let mut config = EngineConfig::default();
                config.max_recipients_per_batch = recipients;
                config.max_notifications_per_batch = notifications;
                config.max_in_flight_per_tenant = in_flight;
                config.max_pending_per_tenant = pending;
                config.coalesce_window = Duration::from_millis(window);
                config.batch_deadline = Duration::from_secs(10);
                config.request_timeout = Duration::from_secs(3);
                config.backoff_base = Duration::from_millis(100);
                config.backoff_cap = Duration::from_secs(2);
                config.token_request_timeout = Duration::from_secs(5);
                config.seed = seed;
                config
            },
        )
}

fn device(d: usize) -> String {
    format!("dev{d:02}")
}

struct World {
    engine: Engine,
    now: Timestamp,
    tenant: TenantHandle,
    mailboxes: Vec<MailboxHandle>,
    /// The model: each mailbox's count, and which mailbox each subscribed device shows.
    counts: Vec<u32>,
    subscribed: BTreeMap<String, usize>,
    /// What each device shows, from accepted batches.
    shown: BTreeMap<String, u32>,
    outstanding: Vec<Transmit>,
    token_wanted: bool,
    tokens: u32,
    /// The last token given and when it expires.
    token: Option<(String, Timestamp)>,
}

impl World {
    fn new(config: EngineConfig) -> Self {
        let mut engine = Engine::new(config).unwrap();
        let now = Timestamp::from_secs(10_000);
        let tenant = engine
            .add_tenant(TenantConfig::new(TENANT_ID.parse().unwrap()), now)
            .unwrap();
        let mailboxes = (0..MAILBOXES)
            .map(|_| engine.add_mailbox(tenant, UnseenCount::ZERO).unwrap())
            .collect();
        let mut world = Self {
            engine,
            now,
            tenant,
            mailboxes,
            counts: vec![0; MAILBOXES],
            subscribed: BTreeMap::new(),
            shown: BTreeMap::new(),
            outstanding: Vec::new(),
            token_wanted: false,
            tokens: 0,
            token: None,
        };
        world.drain();
        world
    }

    /// Collects transmits and events; checks the bounds that must hold at every step.
    fn drain(&mut self) {
        while let Some(transmit) = self.engine.poll_transmit(self.now) {
            assert!(transmit.recipients >= 1);
            // Only the latest token, and never one about to expire.
            let (text, expires) = self.token.clone().expect("no publish without a token");
            assert_eq!(transmit.token.expose(), text);
            assert!(
                self.now + Duration::from_secs(30) < expires,
                "token too close to expiry"
            );
            self.outstanding.push(transmit);
        }
        while let Some(event) = self.engine.poll_event() {
            if let Event::NeedToken { .. } = event {
                self.token_wanted = true;
            }
        }
        let depth = self.engine.queue_depth();
        assert!(
            depth <= self.subscribed.len(),
            "queue {depth} > subscriptions {}",
            self.subscribed.len()
        );
        assert_eq!(self.engine.stats().subscriptions, self.subscribed.len());
    }

    fn give_token(&mut self) {
        self.tokens += 1;
        let text = format!("token-{}", self.tokens);
        let expires = self.now + Duration::from_secs(3600);
        self.engine
            .handle_token(self.tenant, text.parse().unwrap(), expires, self.now)
            .unwrap();
        self.token = Some((text, expires));
        self.token_wanted = false;
    }

    fn accept(&mut self, transmit: &Transmit, dead: Option<usize>) {
        // A driver gives up on a request at its deadline; only one answered before it can
        // have reached devices.
        let in_time = self.now < transmit.deadline;
        let mut dead_devices = Vec::new();
        if in_time {
            self.shown.extend(counts_in(transmit));
            if let Some(d) = dead {
                let name = device(d);
                if self.subscribed.remove(&name).is_some() {
                    self.shown.remove(&name);
                }
                dead_devices.push(DeadDevice {
                    device_id: name.parse().unwrap(),
                    reason: DeadReason::Unregistered,
                });
            }
        }
        self.engine.handle_publish_result(
            transmit.id,
            PublishOutcome::Accepted { dead: dead_devices },
            self.now,
        );
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Arrive(m) => {
                self.counts[m] += 1;
                self.engine
                    .handle_message_arrived(self.mailboxes[m], self.now)
                    .unwrap();
            }
            Op::Read(m) => {
                self.counts[m] = self.counts[m].saturating_sub(1);
                self.engine
                    .handle_message_read(self.mailboxes[m], self.now)
                    .unwrap();
            }
            Op::Delete(m, was_unseen) => {
                if was_unseen {
                    self.counts[m] = self.counts[m].saturating_sub(1);
                }
                self.engine
                    .handle_message_deleted(self.mailboxes[m], was_unseen, self.now)
                    .unwrap();
            }
            Op::Set(m, c) => {
                self.counts[m] = c;
                self.engine
                    .handle_unseen_count(self.mailboxes[m], UnseenCount::new(c).unwrap(), self.now)
                    .unwrap();
            }
            Op::Subscribe(d, m) => {
                self.subscribed.insert(device(d), m);
                self.engine
                    .subscribe(self.mailboxes[m], &recipient(&device(d)), self.now)
                    .unwrap();
            }
            Op::Unsubscribe(d) => {
                let was = self.subscribed.remove(&device(d)).is_some();
                let removed = self
                    .engine
                    .unsubscribe_device(self.tenant, &device(d).parse().unwrap(), self.now)
                    .unwrap();
                assert_eq!(was, removed);
            }
            Op::Advance(ms) => {
                self.now = self.now + Duration::from_millis(ms);
                self.engine.handle_timeout(self.now);
            }
            Op::Answer(i, answer) => {
                if self.outstanding.is_empty() {
                    return;
                }
                let transmit = self.outstanding.remove(i % self.outstanding.len());
                let outcome = match answer {
                    Answer::Accept { dead } => return self.accept(&transmit, dead),
                    Answer::RetryLater(secs) => PublishOutcome::RetryLater {
                        retry_after: secs.map(Duration::from_secs),
                    },
                    Answer::Fail(reason) => PublishOutcome::Failed(reason),
                    Answer::Lose => return,
                };
                self.engine
                    .handle_publish_result(transmit.id, outcome, self.now);
            }
            Op::Token(ok) => {
                if self.token_wanted {
                    if ok {
                        self.give_token();
                    } else {
                        self.engine
                            .handle_token_failed(self.tenant, self.now)
                            .unwrap();
                        self.token_wanted = false;
                    }
                }
            }
        }
    }

    /// The cloud now accepts everything in time and tokens are always given.
    fn recover(&mut self) {
        for _ in 0..10_000 {
            if self.token_wanted {
                self.give_token();
            }
            let outstanding = std::mem::take(&mut self.outstanding);
            for transmit in &outstanding {
                self.accept(transmit, None);
            }
            self.drain();
            if !self.outstanding.is_empty() || self.token_wanted {
                continue;
            }
            let stats = self.engine.stats();
            if stats.queue_depth == 0 && stats.in_flight_batches == 0 {
                return;
            }
            let at = self
                .engine
                .poll_timeout()
                .expect("work is waiting, so a timeout must be set");
            if at <= self.now {
                // "Now": handling it must make progress, or the driver would spin.
                self.engine.handle_timeout(self.now);
                self.drain();
                let again = self.engine.poll_timeout();
                assert!(
                    !self.outstanding.is_empty()
                        || self.token_wanted
                        || again.is_none_or(|a| a > self.now),
                    "busy loop: timeout {again:?} at {:?} with nothing to do",
                    self.now
                );
                continue;
            }
            self.now = at;
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        panic!("the engine did not settle");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_device_converges_to_its_mailbox_count(config in config(), ops in proptest::collection::vec(op(), 0..80)) {
        let mut world = World::new(config);
        for op in ops {
            world.apply(op);
            world.drain();
        }
        world.recover();
        for (m, &count) in world.counts.iter().enumerate() {
            prop_assert_eq!(world.engine.unseen(world.mailboxes[m]).unwrap().get(), count);
        }
        for (name, &m) in &world.subscribed {
            prop_assert_eq!(
                world.shown.get(name).copied(),
                Some(world.counts[m]),
                "device {} of mailbox {}", name, m
            );
        }
        prop_assert_eq!(world.engine.queue_depth(), 0);
    }
}
