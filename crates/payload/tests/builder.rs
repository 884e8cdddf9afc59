//! The batch builder writes exactly what serde_json writes for the same batch.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use pushproxy_payload::{
    BatchBuilder, Limits, NotificationSpec, PublishBatch, Recipient, parse_batch,
};

/// Loads a builder with every recipient of `batch` under numeric keys (after first loading
/// stale versions under the same keys, so upserts must replace), and returns the key lists.
fn load(batch: &PublishBatch, stale: &[Recipient]) -> (BatchBuilder<usize>, Vec<Vec<usize>>) {
    let mut builder = BatchBuilder::new();
    let mut next = 0;
    let mut keys = Vec::new();
    for notification in batch.notifications() {
        let mut list = Vec::new();
        for recipient in notification.recipients() {
            if let Some(old) = stale.get(next) {
                builder.upsert_recipient(next, old);
            }
            // A key that is removed again must not disturb anything.
            builder.upsert_recipient(usize::MAX - next, recipient);
            builder.upsert_recipient(next, recipient);
            assert!(builder.remove_recipient(&(usize::MAX - next)));
            list.push(next);
            next += 1;
        }
        keys.push(list);
    }
    (builder, keys)
}

fn specs<'a>(batch: &'a PublishBatch, keys: &'a [Vec<usize>]) -> Vec<NotificationSpec<'a, usize>> {
    batch
        .notifications()
        .iter()
        .zip(keys)
        .map(|(notification, recipients)| {
            let payload = notification.payload();
            NotificationSpec {
                tenant: payload.tenant_id,
                count: payload.unseen_email_count,
                language: payload.language.as_ref(),
                sync_type: payload.background_sync_type,
                monitoring: payload.is_monitoring,
                recipients,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn builder_output_equals_serde_output(
        batch in batch(),
        stale in proptest::collection::vec(recipient(), 0..8),
    ) {
        let (mut builder, keys) = load(&batch, &stale);
        let mut out = Vec::new();
        builder.build(&specs(&batch, &keys), &mut out).unwrap();
        prop_assert_eq!(&out, &serde_json::to_vec(&batch).unwrap());
        prop_assert_eq!(parse_batch(&out, &Limits::default()).unwrap(), batch.clone());

        // The buffer is reusable: a second build appends the same bytes again.
        let first = out.len();
        builder.build(&specs(&batch, &keys), &mut out).unwrap();
        prop_assert_eq!(&out[..first], &out[first..]);
    }
}

#[test]
fn builder_handles_the_default_limits() {
    let tenant = pushproxy_payload::TenantId::from_u128(42);
    let mut builder = BatchBuilder::new();
    for i in 0..1000u32 {
        let recipient = Recipient::new(
            "com.example.mail".parse().unwrap(),
            format!("device-{i}").parse().unwrap(),
        );
        builder.upsert_recipient(i, &recipient);
    }
    let keys: Vec<u32> = (0..1000).collect();
    let spec = NotificationSpec {
        tenant,
        count: pushproxy_payload::UnseenCount::new(5).unwrap(),
        language: None,
        sync_type: pushproxy_payload::BackgroundSyncType::None,
        monitoring: false,
        recipients: &keys,
    };
    let mut out = Vec::new();
    builder.build(&[spec], &mut out).unwrap();
    let batch = parse_batch(&out, &Limits::default()).unwrap();
    assert_eq!(batch.recipient_count(), 1000);
}
