//! Publish bodies and device payloads.
//!
//! - `build/<n>`: writing the publish body of `n` recipients with the cached
//!   `BatchBuilder` (recipient objects serialized once, when subscribed; per build only the
//!   payloads are written between the cached fragments, into a reused buffer), against
//!   `serde_json::to_vec` of the same batch as a `PublishBatch` (already built, so serde is not
//!   charged for assembling it), against copying the same number of bytes (the floor). The
//!   two bodies are checked to be equal byte for byte first.
//! - `apns/badge`: rendering one device's APNs request (body, `:path`, `apns-*` headers) as
//!   the cloud does for each recipient.
//! - `parse/<n>`: the cloud reading a publish body with `parse_batch` and the default limits
//!   (every value validated, duplicates and tenants checked), beside `serde_json::from_slice`
//!   into an untyped `Value` as a reference.
//!
//! Recipients have realistic ids (64-hex-digit APNs tokens, GUID installation ids, a
//! subscription time) and their counts are spread over ten values, so a batch holds one
//! notification per count, as the engine groups them.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Report, Side, interleaved, keep};
use criterion::{BenchmarkId, Criterion, Throughput};
use pushproxy_payload::apns::{ApnsRequest, ApnsTopic, DeviceToken};
use pushproxy_payload::{
    BackgroundSyncType, BatchBuilder, Language, Limits, Notification, NotificationSpec, Payload,
    PublishBatch, Recipient, TenantId, Timestamp, UnseenCount, parse_batch,
};

const SIZES: [usize; 3] = [1, 100, 1000];
const DISTINCT_COUNTS: usize = 10;

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
    r.installation_id = Some(
        TenantId::from_u128(u128::from(i) << 32 | 0x5eed)
            .to_string()
            .parse()
            .unwrap(),
    );
    r.last_subscription_update = Some(Timestamp::from_unix_seconds(1_714_555_800).unwrap());
    r
}

fn count(group: usize) -> UnseenCount {
    UnseenCount::new((group * 7 + 1) as u32).unwrap()
}

/// One batch as the builder sees it (keys grouped per count) and as serde sees it.
struct Case {
    recipients: usize,
    builder: BatchBuilder<u32>,
    groups: Vec<Vec<u32>>,
    tenant: TenantId,
    language: Language,
    batch: PublishBatch,
    body: Vec<u8>,
}

impl Case {
    fn new(recipients: usize) -> Self {
        let tenant: TenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47".parse().unwrap();
        let language: Language = "ja-JP".parse().unwrap();
        let mut builder = BatchBuilder::new();
        let groups_n = DISTINCT_COUNTS.min(recipients);
        let mut groups: Vec<Vec<u32>> = vec![Vec::new(); groups_n];
        let mut members: Vec<Vec<Recipient>> = vec![Vec::new(); groups_n];
        for i in 0..recipients {
            let r = recipient(i as u64);
            builder.upsert_recipient(i as u32, &r);
            groups[i % groups_n].push(i as u32);
            members[i % groups_n].push(r);
        }
        let notifications = members
            .into_iter()
            .enumerate()
            .map(|(g, rs)| {
                let payload = Payload {
                    tenant_id: tenant,
                    unseen_email_count: count(g),
                    language: Some(language.clone()),
                    background_sync_type: BackgroundSyncType::Email,
                    is_monitoring: false,
                };
                Notification::new(payload, rs).unwrap()
            })
            .collect();
        let mut case = Self {
            recipients,
            builder,
            groups,
            tenant,
            language,
            batch: PublishBatch::new(notifications).unwrap(),
            body: Vec::new(),
        };
        let mut body = Vec::new();
        case.build(&mut body);
        assert_eq!(
            body,
            serde_json::to_vec(&case.batch).unwrap(),
            "builder and serde disagree"
        );
        case.body = body;
        case
    }

    fn build(&mut self, out: &mut Vec<u8>) {
        out.clear();
        let specs: Vec<NotificationSpec<'_, u32>> = self
            .groups
            .iter()
            .enumerate()
            .map(|(g, keys)| NotificationSpec {
                tenant: self.tenant,
                count: count(g),
                language: Some(&self.language),
                sync_type: BackgroundSyncType::Email,
                monitoring: false,
                recipients: keys,
            })
            .collect();
        self.builder.build(&specs, out).unwrap();
    }
}

/// Renders the APNs request of every recipient of a parsed batch; returns the bytes written.
fn render_apns(batch: &PublishBatch, topic: &ApnsTopic) -> usize {
    let mut bytes = 0;
    for notification in batch.notifications() {
        let count = notification.payload().unseen_email_count;
        for r in notification.recipients() {
            let token: DeviceToken = r.device_id.as_str().parse().unwrap();
            let request = ApnsRequest::badge(token, topic.clone(), count).unwrap();
            bytes += request.body().len() + request.path().len() + request.headers().len();
        }
    }
    bytes
}

/// "1 recipient", "100 recipients".
fn recipients(n: usize) -> String {
    if n == 1 {
        "1 recipient".to_owned()
    } else {
        format!("{n} recipients")
    }
}

fn topic() -> ApnsTopic {
    "com.microsoft.Office.Outlook".parse().unwrap()
}

fn criterion_benches(c: &mut Criterion, cases: &mut [Case]) {
    for case in cases.iter_mut() {
        let n = case.recipients;
        let mut group = c.benchmark_group(format!("payloads/build/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        let mut out = Vec::new();
        group.bench_function(BenchmarkId::from_parameter("BatchBuilder"), |b| {
            b.iter(|| {
                case.build(&mut out);
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::from_parameter("serde_json::to_vec"), |b| {
            b.iter(|| serde_json::to_vec(black_box(&case.batch)).unwrap())
        });
        let mut target = vec![0u8; case.body.len()];
        group.bench_function(BenchmarkId::from_parameter("copy"), |b| {
            b.iter(|| {
                target.copy_from_slice(black_box(&case.body));
                black_box(&target);
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("payloads/parse/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter("parse_batch"), |b| {
            b.iter(|| parse_batch(black_box(&case.body), &Limits::default()).unwrap())
        });
        group.bench_function(BenchmarkId::from_parameter("serde_json::Value"), |b| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&case.body)).unwrap())
        });
        group.finish();
    }
    let topic = topic();
    let one = &cases[0].batch;
    let mut group = c.benchmark_group("payloads/apns");
    group.throughput(Throughput::Elements(1));
    group.bench_function("badge request", |b| {
        b.iter(|| render_apns(black_box(one), &topic))
    });
    group.finish();
}

fn ratios(cases: &mut [Case], report: &mut Report) {
    let (rounds, slice) = (11, Duration::from_millis(150));
    for case in cases.iter_mut() {
        let n = case.recipients;
        let bytes = case.body.len();
        let body = case.body.clone();
        let batch = case.batch.clone();
        let mut out = Vec::new();
        let mut target = vec![0u8; bytes];
        let t = {
            let mut sides = [
                Side::new("builder", || {
                    case.build(&mut out);
                    black_box(out.len());
                }),
                Side::new(
                    "serde",
                    keep(|| serde_json::to_vec(black_box(&batch)).unwrap()),
                ),
                Side::new("copy", || {
                    target.copy_from_slice(black_box(&body));
                    black_box(&target);
                }),
                Side::new(
                    "parse",
                    keep(|| parse_batch(black_box(&body), &Limits::default()).unwrap()),
                ),
                Side::new(
                    "value",
                    keep(|| serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap()),
                ),
            ];
            interleaved(rounds, slice, &mut sides)
        };
        report.add(
            format!("batch{n}.bytes"),
            bytes as f64,
            "B",
            format!("publish body of {}", recipients(n)),
        );
        report.add(
            format!("batch{n}.builder.ns"),
            t[0],
            "ns",
            format!("BatchBuilder, {}", recipients(n)),
        );
        report.add(
            format!("batch{n}.serde.ns"),
            t[1],
            "ns",
            format!("serde_json::to_vec, {}", recipients(n)),
        );
        report.add(
            format!("batch{n}.copy.ns"),
            t[2],
            "ns",
            format!("copy of the same bytes, {}", recipients(n)),
        );
        report.add(
            format!("parse{n}.ns"),
            t[3],
            "ns",
            format!("parse_batch (cloud), {}", recipients(n)),
        );
        report.add(
            format!("parse{n}.value.ns"),
            t[4],
            "ns",
            format!("serde_json::Value parse, {}", recipients(n)),
        );
    }
    let topic = topic();
    let hundred = cases
        .iter()
        .find(|c| c.recipients == 100)
        .map_or(&cases[0].batch, |c| &c.batch);
    let t = interleaved(
        rounds,
        slice,
        &mut [Side::new(
            "apns",
            keep(|| render_apns(black_box(hundred), &topic)),
        )],
    );
    report.add(
        "apns.ns",
        t[0] / hundred.recipient_count() as f64,
        "ns",
        "APNs badge request, per device",
    );
}

fn main() {
    let mut cases: Vec<Case> = SIZES.iter().map(|&n| Case::new(n)).collect();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
        .configure_from_args();
    criterion_benches(&mut criterion, &mut cases);
    criterion.final_summary();
    if common::ratios_wanted() {
        let mut report = Report::new("payloads");
        report.add_clock();
        ratios(&mut cases, &mut report);
        report.finish();
    }
}
