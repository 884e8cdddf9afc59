//! Building a publish body: the cached `BatchBuilder` against serde_json on the same batch, with
//! a plain copy of the same number of bytes as the lower bound.
//!
//! Two shapes per size: one notification holding every recipient, and notifications of two
//! recipients each (a mailbox on a phone and a tablet), where more of the work is the
//! per-notification payload. After the criterion runs, a short timing loop prints the ratios.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use pushproxy_payload::{
    BackgroundSyncType, BatchBuilder, Language, Notification, NotificationSpec, Payload,
    PublishBatch, Recipient, TenantId, Timestamp, UnseenCount,
};

const SIZES: [usize; 3] = [1, 100, 1000];

/// One benchmark case: the same batch as specs for the builder and as a `PublishBatch`.
struct Case {
    name: String,
    builder: BatchBuilder<u64>,
    keys: Vec<u64>,
    per_notification: usize,
    language: Language,
    batch: PublishBatch,
}

impl Case {
    fn new(recipients: usize, per_notification: usize) -> Self {
        let tenant: TenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47".parse().unwrap();
        let language: Language = "ja-JP".parse().unwrap();
        let updated = Timestamp::from_unix_seconds(1_714_555_800).unwrap();
        let mut builder = BatchBuilder::new();
        let mut all = Vec::with_capacity(recipients);
        for i in 0..recipients as u64 {
            let recipient = Recipient {
                app_id: "com.microsoft.Office.Outlook".parse().unwrap(),
                device_id: format!("{:064x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15)
                    .parse()
                    .unwrap(),
                installation_id: Some(
                    TenantId::from_u128(u128::from(i) << 64 | 0xabcd)
                        .to_string()
                        .parse()
                        .unwrap(),
                ),
                last_subscription_update: Some(updated),
            };
            builder.upsert_recipient(i, &recipient);
            all.push(recipient);
        }
        let keys: Vec<u64> = (0..recipients as u64).collect();
        let notifications = all
            .chunks(per_notification)
            .enumerate()
            .map(|(n, chunk)| {
                let payload = Payload {
                    tenant_id: tenant,
                    unseen_email_count: count(n),
                    language: Some(language.clone()),
                    background_sync_type: BackgroundSyncType::Email,
                    is_monitoring: false,
                };
                Notification::new(payload, chunk.to_vec()).unwrap()
            })
            .collect();
        let batch = PublishBatch::new(notifications).unwrap();
        let shape = if per_notification >= recipients {
            "one notification"
        } else {
            "two per notification"
        };
        Self {
            name: format!("{recipients} recipients, {shape}"),
            builder,
            keys,
            per_notification,
            language,
            batch,
        }
    }

    fn build(&mut self, out: &mut Vec<u8>) {
        let tenant = self.batch.tenant();
        let specs: Vec<NotificationSpec<'_, u64>> = self
            .keys
            .chunks(self.per_notification)
            .enumerate()
            .map(|(n, recipients)| NotificationSpec {
                tenant,
                count: count(n),
                language: Some(&self.language),
                sync_type: BackgroundSyncType::Email,
                monitoring: false,
                recipients,
            })
            .collect();
        self.builder.build(&specs, out).unwrap();
    }
}

fn count(n: usize) -> UnseenCount {
    UnseenCount::new((n as u32 * 7 + 3) % 500).unwrap()
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for size in SIZES {
        cases.push(Case::new(size, size));
        if size > 1 {
            cases.push(Case::new(size, 2));
        }
    }
    cases
}

fn bench(c: &mut Criterion) {
    for mut case in cases() {
        let mut out = Vec::new();
        case.build(&mut out);
        assert_eq!(
            out,
            serde_json::to_vec(&case.batch).unwrap(),
            "builder and serde disagree"
        );
        let len = out.len();
        let mut group = c.benchmark_group(case.name.clone());
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::from_parameter("builder"), |b| {
            b.iter(|| {
                out.clear();
                case.build(&mut out);
                black_box(&out);
            })
        });
        group.bench_function(BenchmarkId::from_parameter("serde_json::to_vec"), |b| {
            b.iter(|| black_box(serde_json::to_vec(black_box(&case.batch)).unwrap()))
        });
        let mut reused = Vec::with_capacity(len);
        group.bench_function(
            BenchmarkId::from_parameter("serde_json::to_writer reused"),
            |b| {
                b.iter(|| {
                    reused.clear();
                    serde_json::to_writer(&mut reused, black_box(&case.batch)).unwrap();
                    black_box(&reused);
                })
            },
        );
        let source = out.clone();
        let mut target = vec![0u8; len];
        group.bench_function(BenchmarkId::from_parameter("memcpy"), |b| {
            b.iter(|| {
                target.copy_from_slice(black_box(&source));
                black_box(&target);
            })
        });
        group.finish();
    }
}

/// Nanoseconds per call of `f`, measured over about `budget`.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    let mut calls = 0u64;
    let started = Instant::now();
    while started.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        calls += 64;
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

fn print_ratios() {
    let budget = Duration::from_millis(300);
    println!();
    println!(
        "{:<40} {:>10} {:>12} {:>12} {:>10} {:>9} {:>9}",
        "case", "bytes", "builder ns", "to_vec ns", "memcpy ns", "to_vec/b", "b/memcpy"
    );
    for mut case in cases() {
        let mut out = Vec::new();
        case.build(&mut out);
        let len = out.len();
        let builder = time_per_call(budget, || {
            out.clear();
            case.build(&mut out);
            black_box(&out);
        });
        let serde = time_per_call(budget, || {
            black_box(serde_json::to_vec(black_box(&case.batch)).unwrap());
        });
        let source = out.clone();
        let mut target = vec![0u8; len];
        let memcpy = time_per_call(budget, || {
            target.copy_from_slice(black_box(&source));
            black_box(&target);
        });
        println!(
            "{:<40} {:>10} {:>12.0} {:>12.0} {:>10.0} {:>8.1}x {:>8.1}x",
            case.name,
            len,
            builder,
            serde,
            memcpy,
            serde / builder,
            builder / memcpy
        );
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    print_ratios();
}
