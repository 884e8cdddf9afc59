//! The engine's hot paths and its memory per subscription.
//!
//! First a memory report: the engine's own estimate, in bytes per subscription, for 100 000 and
//! 1 000 000 subscriptions with realistic ids (64-hex-digit APNs tokens, GUID installation
//! ids, a subscription time), one mailbox per subscription, with the tables grown one insert
//! at a time and with [`Engine::reserve`]. Then criterion timings:
//!
//! - `change/coalesced`: a count change for a mailbox whose device is already waiting (the path
//!   every event of a burst takes);
//! - `change/queued`: a change that queues a device that was not waiting;
//! - `batch/100`: building, sending and completing one 100-recipient batch.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use pushproxy_engine::{
    Engine, EngineConfig, MailboxHandle, PublishOutcome, TenantConfig, TenantHandle, Timestamp,
};
use pushproxy_payload::{Recipient, UnseenCount};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn recipient(i: u64) -> Recipient {
    let mut r = Recipient::new(
        "com.microsoft.Office.Outlook".parse().unwrap(),
        format!("{:064x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .parse()
            .unwrap(),
    );
    r.installation_id = Some(format!("8a7b6c5d-0000-4000-8000-{i:012x}").parse().unwrap());
    r.last_subscription_update = Some("2024-05-01T09:30:00Z".parse().unwrap());
    r
}

/// An engine with a token and one tenant.
fn engine(config: EngineConfig) -> (Engine, TenantHandle, Timestamp) {
    let mut engine = Engine::new(config).unwrap();
    let now = Timestamp::from_secs(1_700_000_000);
    let tenant = engine
        .add_tenant(TenantConfig::new(TENANT.parse().unwrap()), now)
        .unwrap();
    engine
        .handle_token(
            tenant,
            "token".parse().unwrap(),
            now + Duration::from_secs(86_400),
            now,
        )
        .unwrap();
    while engine.poll_event().is_some() {}
    (engine, tenant, now)
}

/// Subscribes `n` devices, one mailbox each; returns bytes per subscription.
fn bytes_per_subscription(n: u64, reserve: bool) -> (usize, Duration) {
    let (mut engine, tenant, now) = engine(EngineConfig::default());
    let base = engine.approx_memory_bytes();
    if reserve {
        engine.reserve(n as usize, n as usize);
    }
    let start = Instant::now();
    for i in 0..n {
        let inbox = engine
            .add_mailbox(tenant, UnseenCount::new((i % 7) as u32).unwrap())
            .unwrap();
        engine.subscribe(inbox, &recipient(i), now).unwrap();
    }
    let elapsed = start.elapsed();
    let per = (engine.approx_memory_bytes() - base) / n as usize;
    (per, elapsed)
}

fn memory_report() {
    println!("engine memory per subscription (estimate, one mailbox each, ids 64 + 36 bytes):");
    for n in [100_000u64, 1_000_000] {
        for reserve in [false, true] {
            let (per, elapsed) = bytes_per_subscription(n, reserve);
            println!(
                "  {n:>9} subscriptions, {:<13} {per:>4} B/subscription  (loaded in {:.2?}, {:.0} ns each)",
                if reserve { "reserved:" } else { "grown:" },
                elapsed,
                elapsed.as_nanos() as f64 / n as f64,
            );
        }
    }
}

/// An engine with `n` subscriptions in `n` mailboxes, all delivered (nothing waiting).
fn settled(n: u64) -> (Engine, Vec<MailboxHandle>, Timestamp) {
    let (mut engine, tenant, mut now) = engine(EngineConfig::default());
    let mut mailboxes = Vec::new();
    for i in 0..n {
        let inbox = engine.add_mailbox(tenant, UnseenCount::ZERO).unwrap();
        engine.subscribe(inbox, &recipient(i), now).unwrap();
        mailboxes.push(inbox);
    }
    now = now + Duration::from_secs(3);
    engine.handle_timeout(now);
    while let Some(t) = engine.poll_transmit(now) {
        engine.handle_publish_result(t.id, PublishOutcome::Accepted { dead: Vec::new() }, now);
    }
    while engine.poll_event().is_some() {}
    assert_eq!(engine.queue_depth(), 0);
    (engine, mailboxes, now)
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("change");
    {
        let (mut engine, mailboxes, now) = settled(1000);
        engine.handle_message_arrived(mailboxes[0], now).unwrap();
        group.bench_function("coalesced", |b| {
            b.iter(|| {
                engine
                    .handle_message_arrived(black_box(mailboxes[0]), now)
                    .unwrap();
                while engine.poll_event().is_some() {}
            })
        });
    }
    group.bench_function("queued", |b| {
        b.iter_batched_ref(
            || settled(1),
            |(engine, mailboxes, now)| {
                engine.handle_message_arrived(mailboxes[0], *now).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("batch");
    group.bench_function("100", |b| {
        b.iter_batched_ref(
            || {
                let (mut engine, mailboxes, now) = settled(100);
                for &m in &mailboxes {
                    engine.handle_message_arrived(m, now).unwrap();
                }
                (engine, now)
            },
            |(engine, now)| {
                let t = engine.poll_transmit(*now).unwrap();
                assert_eq!(t.recipients, 100);
                engine.handle_publish_result(
                    t.id,
                    PublishOutcome::Accepted { dead: Vec::new() },
                    *now,
                );
                black_box(t.body.len())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn main() {
    memory_report();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
