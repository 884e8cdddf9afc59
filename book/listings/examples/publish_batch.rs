//! The publish batch: the body the on-premises proxy POSTs to the cloud, written two ways,
//! read back as the cloud reads it, and the cloud's answers.

use std::error::Error;

use pushproxy_book_listings::{NOW, TENANT_ID};
use pushproxy_payload::wire::{DeadDevice, DeadReason, Fault, PublishResponse, publish_url};
use pushproxy_payload::{
    BackgroundSyncType, BatchBuilder, Limits, Notification, NotificationSpec, Payload,
    PublishBatch, Recipient, TenantId, Timestamp, UnseenCount, parse_batch,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

pub fn main() -> Result<()> {
    let tenant: TenantId = TENANT_ID.parse()?;
    let (phone, tablet) = devices()?;
    let body = batch(tenant, &phone, &tablet)?;
    zero(tenant, &tablet)?;
    let built = builder(tenant, &phone, &tablet)?;
    assert_eq!(built, body, "the builder writes the same bytes as serde");
    cloud(&built, &tablet)?;
    Ok(())
}

// ANCHOR: batch
/// Alice's phone and tablet.
fn devices() -> Result<(Recipient, Recipient)> {
    let mut phone = Recipient::new(
        "com.microsoft.exchange.mowa".parse()?,
        "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b".parse()?,
    );
    phone.installation_id = Some("0f3c5a9e-2b7d-4c1e-8a6f-9d0b2c4e6a8f".parse()?);
    phone.last_subscription_update = Some(Timestamp::from_unix_seconds(NOW - 86_400)?);
    let tablet = Recipient::new(
        "com.microsoft.exchange.mowa".parse()?,
        "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9".parse()?,
    );
    Ok((phone, tablet))
}

/// Her inbox has three unseen messages: one notification for both devices.
fn batch(tenant: TenantId, phone: &Recipient, tablet: &Recipient) -> Result<Vec<u8>> {
    let mut payload = Payload::new(tenant, UnseenCount::new(3)?);
    payload.language = Some("ja-JP".parse()?);
    payload.background_sync_type = BackgroundSyncType::Email;
    let notification = Notification::new(payload, vec![phone.clone(), tablet.clone()])?;
    let batch = PublishBatch::new(vec![notification])?;
    println!(
        "POST {}",
        publish_url("https://outlook.office365.com/PushNotifications")
    );
    println!("{}", serde_json::to_string_pretty(&batch)?);
    Ok(serde_json::to_vec(&batch)?)
}
// ANCHOR_END: batch

// ANCHOR: zero
/// A count of 0 is left out of the batch, and an absent count reads back as 0: "clear the
/// badge", never "nothing to say".
fn zero(tenant: TenantId, tablet: &Recipient) -> Result<()> {
    let cleared = PublishBatch::new(vec![Notification::new(
        Payload::new(tenant, UnseenCount::ZERO),
        vec![tablet.clone()],
    )?])?;
    let body = serde_json::to_string(&cleared)?;
    println!("{body}");
    assert!(!body.contains("unseenEmailCount"));
    let read_back = parse_batch(body.as_bytes(), &Limits::default())?;
    let payload = read_back.notifications()[0].payload();
    assert_eq!(payload.unseen_email_count, UnseenCount::ZERO);
    Ok(())
}
// ANCHOR_END: zero

// ANCHOR: builder
/// The proxy's hot path: each subscription's recipient object is serialized once, when it
/// subscribes; a build only writes the values that change between the cached bytes.
fn builder(tenant: TenantId, phone: &Recipient, tablet: &Recipient) -> Result<Vec<u8>> {
    let mut builder = BatchBuilder::new();
    builder.upsert_recipient("alice/phone", phone);
    builder.upsert_recipient("alice/tablet", tablet);
    let language = "ja-JP".parse()?;
    let mut body = Vec::new();
    builder.build(
        &[NotificationSpec {
            tenant,
            count: UnseenCount::new(3)?,
            language: Some(&language),
            sync_type: BackgroundSyncType::Email,
            monitoring: false,
            recipients: &["alice/phone", "alice/tablet"],
        }],
        &mut body,
    )?;
    Ok(body)
}
// ANCHOR_END: builder

// ANCHOR: cloud
fn cloud(body: &[u8], tablet: &Recipient) -> Result<()> {
    // The cloud reads the body with limits, checking every member before it acts.
    let received = parse_batch(body, &Limits::default())?;
    println!(
        "the cloud read {} notification(s) for {} recipient(s) of tenant {}",
        received.notifications().len(),
        received.recipient_count(),
        received.tenant()
    );
    // Its answer: how many it accepted, and which devices are gone for good.
    let answer = PublishResponse {
        accepted: 1,
        dead: vec![DeadDevice {
            device_id: tablet.device_id.clone(),
            reason: DeadReason::Unregistered,
        }],
        ..PublishResponse::default()
    };
    println!("{}", serde_json::to_string(&answer)?);
    // A batch it refuses comes back as a fault that says what to fix.
    let misspelt = br#"{"notifications":[{"payload":{"tenantId":"4d2a1b3c-5e6f-4a8b-9c0d-1e2f3a4b5c6d","unseenMailCount":3},"recipients":[{"appId":"a","deviceId":"b"}]}]}"#;
    let error = parse_batch(misspelt, &Limits::default())
        .err()
        .ok_or("a misspelt member is refused")?;
    println!("{}", serde_json::to_string(&Fault::from_error(&error))?);
    Ok(())
}
// ANCHOR_END: cloud
