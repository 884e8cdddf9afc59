//! Engine memory per subscription at 100 000 and 1 000 000 subscriptions, three ways:
//!
//! - the engine's own estimate (`Engine::approx_memory_bytes`: tables by capacity, id strings,
//!   the lookup table, batches in flight, queued events);
//! - a counting global allocator in this binary (`stats_alloc`): the bytes the engine has asked
//!   for and not given back, which checks the estimate;
//! - the process's resident memory (`VmRSS`), which adds the allocator's own overhead.
//!
//! Realistic ids: 64-hex-digit APNs device tokens, GUID installation ids, a subscription time,
//! one mailbox per subscription, the tables grown one insert at a time (no `reserve`), as when
//! a proxy starts and its subscriptions arrive. Each figure is the growth over an empty engine,
//! divided by the number of subscriptions. With `--test`, 1000 subscriptions only.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use std::alloc::System;
use std::time::{Duration, Instant};

use common::Report;
use pushproxy_engine::{Engine, EngineConfig, TenantConfig, Timestamp};
use pushproxy_payload::{Recipient, UnseenCount};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

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
    r.last_subscription_update = Some("2024-05-01T09:30:00Z".parse().unwrap());
    r
}

/// Resident memory of this process in bytes, if the system says.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What one population cost.
struct Measured {
    estimate: f64,
    counted: f64,
    resident: Option<f64>,
    load: Duration,
}

fn measure(n: usize) -> Measured {
    let now = Timestamp::from_secs(1_700_000_000);
    let rss_before = resident_bytes();
    let region = Region::new(GLOBAL);
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let tenant = engine
        .add_tenant(TenantConfig::new(TENANT.parse().unwrap()), now)
        .unwrap();
    while engine.poll_event().is_some() {}
    let estimate_empty = engine.approx_memory_bytes();
    let change = region.change();
    let live_empty = change.bytes_allocated as i64 - change.bytes_deallocated as i64;

    let start = Instant::now();
    for i in 0..n {
        let inbox = engine
            .add_mailbox(tenant, UnseenCount::new((i % 7) as u32).unwrap())
            .unwrap();
        engine.subscribe(inbox, &recipient(i as u64), now).unwrap();
        // The driver drains events after every input; the queue of events is bounded anyway.
        while engine.poll_event().is_some() {}
    }
    let load = start.elapsed();

    let change = region.change();
    let live = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
    let rss_after = resident_bytes();
    let per = |bytes: f64| bytes / n as f64;
    let measured = Measured {
        estimate: per((engine.approx_memory_bytes() - estimate_empty) as f64),
        counted: per((live - live_empty) as f64),
        resident: rss_before
            .zip(rss_after)
            .map(|(before, after)| per(after.saturating_sub(before) as f64)),
        load,
    };
    assert_eq!(engine.stats().subscriptions, n);
    drop(engine);
    measured
}

fn main() {
    let sizes: &[usize] = if common::test_mode() {
        &[1000]
    } else {
        &[100_000, 1_000_000]
    };
    let mut report = Report::new("memory");
    for &n in sizes {
        let m = measure(n);
        report.add(
            format!("memory.{n}.estimate"),
            m.estimate,
            "B/sub",
            format!("engine estimate, {n} subscriptions"),
        );
        report.add(
            format!("memory.{n}.counted"),
            m.counted,
            "B/sub",
            format!("counting allocator, {n} subscriptions"),
        );
        if let Some(resident) = m.resident {
            report.add(
                format!("memory.{n}.resident"),
                resident,
                "B/sub",
                format!("resident memory growth, {n} subscriptions"),
            );
        }
        report.add(
            format!("memory.{n}.load_ns"),
            m.load.as_nanos() as f64 / n as f64,
            "ns/sub",
            format!("time to add one mailbox and subscription, {n}"),
        );
    }
    if common::test_mode() {
        println!("memory: test mode, nothing written");
    } else {
        report.finish();
    }
}
