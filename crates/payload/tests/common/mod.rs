//! Strategies shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use proptest::prelude::*;
use pushproxy_payload::{
    AppId, BackgroundSyncType, DeviceId, InstallationId, Language, Notification, Payload,
    PublishBatch, Recipient, TenantId, Timestamp, UnseenCount,
};

/// Printable ASCII without spaces, including `"` and `\` which JSON must escape.
pub fn printable(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0x21u8..=0x7e, 1..=max)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

pub fn tenant() -> impl Strategy<Value = TenantId> {
    any::<u128>().prop_map(TenantId::from_u128)
}

pub fn count() -> impl Strategy<Value = UnseenCount> {
    prop_oneof![Just(0u32), 0u32..=UnseenCount::MAX].prop_map(|n| UnseenCount::new(n).unwrap())
}

pub fn language() -> impl Strategy<Value = Language> {
    "[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-[a-zA-Z]{2}|-[0-9]{3})?".prop_map(|tag| tag.parse().unwrap())
}

pub fn sync_type() -> impl Strategy<Value = BackgroundSyncType> {
    proptest::sample::select(BackgroundSyncType::ALL.to_vec())
}

pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (
        0i64..4_102_444_800,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
    )
        .prop_map(|(seconds, nanos)| {
            let at = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                + time::Duration::nanoseconds(i64::from(nanos));
            Timestamp::from_datetime(at).unwrap()
        })
}

pub fn payload_for(tenant: TenantId) -> impl Strategy<Value = Payload> {
    (
        count(),
        proptest::option::of(language()),
        sync_type(),
        any::<bool>(),
    )
        .prop_map(
            move |(unseen_email_count, language, background_sync_type, is_monitoring)| Payload {
                tenant_id: tenant,
                unseen_email_count,
                language,
                background_sync_type,
                is_monitoring,
            },
        )
}

pub fn payload() -> impl Strategy<Value = Payload> {
    tenant().prop_flat_map(payload_for)
}

pub fn recipient() -> impl Strategy<Value = Recipient> {
    (
        printable(40),
        printable(80),
        proptest::option::of(printable(40)),
        proptest::option::of(timestamp()),
    )
        .prop_map(|(app, device, installation, updated)| Recipient {
            app_id: app.parse::<AppId>().unwrap(),
            device_id: device.parse::<DeviceId>().unwrap(),
            installation_id: installation.map(|i| i.parse::<InstallationId>().unwrap()),
            last_subscription_update: updated,
        })
}

/// Recipients with distinct device ids.
pub fn recipients(max: usize) -> impl Strategy<Value = Vec<Recipient>> {
    proptest::collection::vec(recipient(), 1..=max).prop_map(|mut list| {
        let mut seen = std::collections::HashSet::new();
        list.retain(|r| seen.insert(r.device_id.clone()));
        list
    })
}

pub fn notification_for(tenant: TenantId) -> impl Strategy<Value = Notification> {
    (payload_for(tenant), recipients(6))
        .prop_map(|(payload, list)| Notification::new(payload, list).unwrap())
}

pub fn batch() -> impl Strategy<Value = PublishBatch> {
    tenant()
        .prop_flat_map(|tenant| proptest::collection::vec(notification_for(tenant), 1..5))
        .prop_map(|notifications| PublishBatch::new(notifications).unwrap())
}
