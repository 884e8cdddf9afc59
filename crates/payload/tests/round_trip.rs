//! Every structure survives serialize -> parse, and defaults stay off the wire.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use pushproxy_payload::wire::{DeadDevice, DeadReason, Fault};
use pushproxy_payload::{
    Limits, Notification, Payload, PublishBatch, PublishResponse, Recipient, parse_batch,
};
use serde_json::Value;

fn object(bytes: &[u8]) -> serde_json::Map<String, Value> {
    match serde_json::from_slice(bytes).unwrap() {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn batch_round_trips_through_parse_batch(batch in batch()) {
        let body = serde_json::to_vec(&batch).unwrap();
        prop_assert_eq!(parse_batch(&body, &Limits::default()).unwrap(), batch.clone());
        prop_assert_eq!(serde_json::from_slice::<PublishBatch>(&body).unwrap(), batch);
    }

    #[test]
    fn notification_round_trips(notification in tenant().prop_flat_map(notification_for)) {
        let body = serde_json::to_vec(&notification).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Notification>(&body).unwrap(), notification);
    }

    #[test]
    fn payload_round_trips_and_leaves_defaults_out(payload in payload()) {
        let body = serde_json::to_vec(&payload).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Payload>(&body).unwrap(), payload.clone());
        let members = object(&body);
        prop_assert!(members.contains_key("tenantId"));
        prop_assert_eq!(members.contains_key("unseenEmailCount"), !payload.unseen_email_count.is_zero());
        prop_assert_eq!(members.contains_key("language"), payload.language.is_some());
        prop_assert_eq!(members.contains_key("backgroundSyncType"), !payload.background_sync_type.is_none());
        prop_assert_eq!(members.contains_key("isMonitoring"), payload.is_monitoring);
        prop_assert!(members.values().all(|v| !v.is_null()));
    }

    #[test]
    fn recipient_round_trips_and_leaves_defaults_out(recipient in recipient()) {
        let body = serde_json::to_vec(&recipient).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Recipient>(&body).unwrap(), recipient.clone());
        let members = object(&body);
        prop_assert_eq!(members.contains_key("installationId"), recipient.installation_id.is_some());
        prop_assert_eq!(members.contains_key("lastSubscriptionUpdate"), recipient.last_subscription_update.is_some());
    }

    #[test]
    fn response_round_trips(
        accepted: u32,
        dead in proptest::collection::vec((printable(30), 0usize..3), 0..4),
        monitoring: bool,
    ) {
        let reasons = [DeadReason::Unregistered, DeadReason::BadDeviceToken, DeadReason::DeviceTokenNotForTopic];
        let response = PublishResponse {
            accepted,
            dead: dead
                .into_iter()
                .map(|(device, reason)| DeadDevice { device_id: device.parse().unwrap(), reason: reasons[reason] })
                .collect(),
            monitoring,
        };
        let body = serde_json::to_vec(&response).unwrap();
        prop_assert_eq!(PublishResponse::from_json(&body).unwrap(), response.clone());
        let members = object(&body);
        prop_assert!(members.contains_key("accepted"));
        prop_assert_eq!(members.contains_key("dead"), !response.dead.is_empty());
        prop_assert_eq!(members.contains_key("monitoring"), monitoring);
    }

    #[test]
    fn fault_round_trips(code in "\\PC{0,20}", message in "\\PC{0,80}") {
        let fault = Fault { code, message };
        let body = serde_json::to_vec(&fault).unwrap();
        prop_assert_eq!(Fault::from_json(&body).unwrap(), fault);
    }
}

#[test]
fn a_zero_count_notification_reads_back_as_zero() {
    let body = br#"{"notifications":[{"payload":{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"},"recipients":[{"appId":"a","deviceId":"d"}]}]}"#;
    let batch = parse_batch(body, &Limits::default()).unwrap();
    assert!(
        batch.notifications()[0]
            .payload()
            .unseen_email_count
            .is_zero()
    );
    assert_eq!(serde_json::to_vec(&batch).unwrap(), body.to_vec());
}
