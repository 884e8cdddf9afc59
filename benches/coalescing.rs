//! The engine's coalescing throughput: mailbox events per second turned into publish batches.
//!
//! One tenant with a valid token, one device per mailbox, the default policy (2 s coalescing
//! window, batches of at most 100 recipients, one batch in flight). The driver does what the
//! proxy's does after every input: it drains the events (answering token requests) and the
//! due transmits, and a cloud that answers at once accepts each batch. One round feeds the
//! events, moves the clock past the window and drains until the queue is empty, so every
//! round ends in the state it started from. Three shapes:
//!
//! - `hot`: 100 000 count changes on 50 mailboxes inside one window: they collapse into one
//!   batch of 50 recipients (the path every event of a burst takes);
//! - `mixed`: 100 000 changes over 10 000 mailboxes in a shuffled order. A batch leaves as
//!   soon as 100 devices wait, so a change almost never finds its device still waiting: spread
//!   evenly, changes coalesce only when fewer mailboxes are busy than a batch holds;
//! - `spread`: one change for each of 100 000 mailboxes: every event becomes a badge update,
//!   1000 batches of 100 (queueing, building and completing batches dominate).
//!
//! Throughput is in events handled per second, batches built included.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::{Report, Side, interleaved};
use criterion::{Criterion, Throughput};
use pushproxy_engine::{
    Engine, EngineConfig, Event, MailboxHandle, PublishOutcome, TenantConfig, Timestamp,
};
use pushproxy_payload::{Recipient, UnseenCount};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const EVENTS: usize = 100_000;

fn recipient(i: u64) -> Recipient {
    let mut r = Recipient::new(
        "com.microsoft.Office.Outlook".parse().unwrap(),
        format!(
            "{:064x}",
            u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
        )
        .parse()
        .unwrap(),
    );
    r.installation_id = Some(format!("8a7b6c5d-0000-4000-8000-{i:012x}").parse().unwrap());
    r
}

/// The scenario being run.
#[derive(Clone, Copy, Debug)]
struct Shape {
    name: &'static str,
    mailboxes: usize,
    events: usize,
}

const SHAPES: [Shape; 3] = [
    Shape {
        name: "hot",
        mailboxes: 50,
        events: EVENTS,
    },
    Shape {
        name: "mixed",
        mailboxes: 10_000,
        events: EVENTS,
    },
    Shape {
        name: "spread",
        mailboxes: 100_000,
        events: 100_000,
    },
];

/// An engine, its driver state and what it has published.
struct Sim {
    engine: Engine,
    mailboxes: Vec<MailboxHandle>,
    now: Timestamp,
    window: Duration,
    shape: Shape,
    rounds: u64,
    batches: u64,
    recipients: u64,
}

impl Sim {
    fn new(shape: Shape) -> Self {
        let config = EngineConfig::default();
        let window = config.coalesce_window;
        let mut engine = Engine::new(config).unwrap();
        let now = Timestamp::from_secs(1_700_000_000);
        let tenant = engine
            .add_tenant(TenantConfig::new(TENANT.parse().unwrap()), now)
            .unwrap();
        engine.reserve(shape.mailboxes, shape.mailboxes);
        let mut mailboxes = Vec::with_capacity(shape.mailboxes);
        for i in 0..shape.mailboxes {
            let inbox = engine.add_mailbox(tenant, UnseenCount::ZERO).unwrap();
            engine.subscribe(inbox, &recipient(i as u64), now).unwrap();
            mailboxes.push(inbox);
        }
        let mut sim = Self {
            engine,
            mailboxes,
            now,
            window,
            shape,
            rounds: 0,
            batches: 0,
            recipients: 0,
        };
        sim.settle();
        (sim.batches, sim.recipients) = (0, 0);
        sim
    }

    /// Answers token requests and sends every due batch to a cloud that accepts it at once.
    fn drain(&mut self) {
        loop {
            while let Some(event) = self.engine.poll_event() {
                if let Event::NeedToken { tenant } = event {
                    self.engine
                        .handle_token(
                            tenant,
                            "token".parse().unwrap(),
                            self.now + Duration::from_secs(86_400),
                            self.now,
                        )
                        .unwrap();
                }
            }
            let Some(transmit) = self.engine.poll_transmit(self.now) else {
                break;
            };
            self.batches += 1;
            self.recipients += transmit.recipients as u64;
            self.engine.handle_publish_result(
                transmit.id,
                PublishOutcome::Accepted { dead: Vec::new() },
                self.now,
            );
        }
    }

    /// Moves past the window and drains until nothing waits.
    fn settle(&mut self) {
        self.now = self.now + self.window + Duration::from_millis(1);
        self.engine.handle_timeout(self.now);
        self.drain();
        assert_eq!(self.engine.queue_depth(), 0, "the queue did not empty");
    }

    /// One round: the shape's events at one instant, then the window passes.
    fn round(&mut self) {
        self.rounds += 1;
        let n = self.mailboxes.len();
        let offset = self.rounds as usize;
        for i in 0..self.shape.events {
            // A stride coprime with the mailbox counts visits every mailbox in a shuffled
            // order; the count changes every round, so no change is a no-op.
            let m = self.mailboxes[(i * 7919 + offset) % n];
            let count = UnseenCount::new(((i + offset) % 1000) as u32).unwrap();
            self.engine.handle_unseen_count(m, count, self.now).unwrap();
            self.drain();
        }
        self.settle();
    }
}

fn criterion_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("coalescing");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for shape in SHAPES {
        let mut sim = Sim::new(shape);
        group.throughput(Throughput::Elements(shape.events as u64));
        group.bench_function(
            format!(
                "{} ({} events, {} mailboxes)",
                shape.name, shape.events, shape.mailboxes
            ),
            |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        sim.round();
                    }
                    start.elapsed()
                })
            },
        );
    }
    group.finish();
}

fn ratios(report: &mut Report) {
    let mut sims: Vec<Sim> = SHAPES.into_iter().map(Sim::new).collect();
    let times = {
        let mut sides: Vec<Side<'_>> = sims
            .iter_mut()
            .map(|sim| {
                let name = sim.shape.name;
                Side::new(name, move || sim.round())
            })
            .collect();
        interleaved(7, Duration::from_millis(150), &mut sides)
    };
    for (sim, ns) in sims.iter().zip(times) {
        let Shape {
            name,
            mailboxes,
            events,
        } = sim.shape;
        let per_second = events as f64 / (ns / 1e9);
        report.add(
            format!("coalescing.{name}.events_per_s"),
            per_second,
            "events/s",
            format!("engine, {events} events on {mailboxes} mailboxes ({name})"),
        );
        report.add(
            format!("coalescing.{name}.recipients_per_round"),
            sim.recipients as f64 / sim.rounds as f64,
            "updates",
            format!("badge updates per {events} events ({name})"),
        );
        report.add(
            format!("coalescing.{name}.batches_per_round"),
            sim.batches as f64 / sim.rounds as f64,
            "batches",
            format!("batches per {events} events ({name})"),
        );
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    if common::ratios_wanted() {
        let mut report = Report::new("coalescing");
        report.add_clock();
        ratios(&mut report);
        report.finish();
    }
}
