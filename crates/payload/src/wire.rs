//! The publish call between the on-premises proxy and the cloud: **every inferred wire detail
//! lives in this module and nowhere else.**
//!
//! No official specification of `PublishOnPremNotifications` exists. The following are
//! *inferred* and may change when better information appears; change them here only:
//!
//! - the path [`PUBLISH_PATH`] below the app's `Uri`, the method and the content type;
//! - the member names (`notifications`, `payload`, `recipients`, `tenantId`,
//!   `unseenEmailCount`, `language`, `backgroundSyncType`, `isMonitoring`, `appId`, `deviceId`,
//!   `installationId`, `lastSubscriptionUpdate`) and their order;
//! - that members holding their default value are left out (0, `false`, none, no sync type),
//!   the way a WCF data contract with `EmitDefaultValue = false` writes them, so an absent
//!   `unseenEmailCount` **means 0** and is read back as 0;
//! - the numeric codes of [`BackgroundSyncType`] (0 none, 1 email, 2 calendar, 3 both);
//! - `lastSubscriptionUpdate` as RFC 3339 text in UTC;
//! - the response [`PublishResponse`] `{"accepted":N,"dead":[{"deviceId","reason"}],
//!   "monitoring":bool}`, which is this project's design for its local cloud;
//! - the fault [`Fault`] `{"error":{"code","message"}}`.
//!
//! Readers are strict about the request: an unknown member is refused rather than ignored,
//! since a misspelt `unseenEmailCount` would otherwise read as 0 and clear every badge.
//! Readers of the response and the fault ignore members they do not know.
//!
//! The batch builder ([`crate::BatchBuilder`]) writes the same bytes without serde through
//! the `splice` functions of this module; a property test proves both agree byte for byte.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::PayloadError;
use crate::types::{
    AppId, BackgroundSyncType, DeviceId, InstallationId, Language, TenantId, Timestamp, UnseenCount,
};

/// The path of the publish call, appended to the push app's `Uri`
/// (`https://outlook.office365.com/PushNotifications` by default).
pub const PUBLISH_PATH: &str = "/service.svc/PublishOnPremNotifications";

/// The HTTP method of the publish call.
pub const PUBLISH_METHOD: &str = "POST";

/// The content type of the publish body, the response and the fault.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The publish URL for an app `Uri`: the path appended with exactly one `/` between them.
///
/// ```
/// use pushproxy_payload::wire::publish_url;
/// assert_eq!(
///     publish_url("https://outlook.office365.com/PushNotifications/"),
///     "https://outlook.office365.com/PushNotifications/service.svc/PublishOnPremNotifications"
/// );
/// ```
pub fn publish_url(uri: &str) -> String {
    format!("{}{PUBLISH_PATH}", uri.trim_end_matches('/'))
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One publish request: notifications for a single tenant.
///
/// Holds at least one notification, and every notification is for the same tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishBatch {
    #[serde(skip)]
    tenant: TenantId,
    notifications: Vec<Notification>,
}

impl PublishBatch {
    /// A batch of these notifications; refused when empty or when the tenants differ.
    pub fn new(notifications: Vec<Notification>) -> Result<Self, PayloadError> {
        let Some(first) = notifications.first() else {
            return Err(PayloadError::EmptyBatch);
        };
        let expected = first.payload.tenant_id;
        if let Some((index, other)) = notifications
            .iter()
            .enumerate()
            .find(|(_, n)| n.payload.tenant_id != expected)
        {
            return Err(PayloadError::MixedTenants {
                notification: index,
                expected,
                found: other.payload.tenant_id,
            });
        }
        Ok(Self {
            tenant: expected,
            notifications,
        })
    }

    /// The notifications, in order.
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    /// The tenant all notifications are for.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The total number of recipients over all notifications.
    pub fn recipient_count(&self) -> usize {
        self.notifications.iter().map(|n| n.recipients.len()).sum()
    }

    /// The notifications, taking them out of the batch.
    pub fn into_notifications(self) -> Vec<Notification> {
        self.notifications
    }
}

impl<'de> Deserialize<'de> for PublishBatch {
    /// Reads a batch with the structural rules (non-empty, one tenant, each device once per
    /// notification) but without size limits: for untrusted input use
    /// [`crate::parse_batch`], which also applies [`crate::Limits`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawBatch::deserialize(deserializer)?;
        crate::parse::from_raw(raw, &crate::Limits::UNBOUNDED).map_err(serde::de::Error::custom)
    }
}

/// One count update for one mailbox, sent to the devices subscribed to it.
///
/// Holds at least one recipient and each device at most once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    payload: Payload,
    recipients: Vec<Recipient>,
}

impl Notification {
    /// A notification; refused without recipients or with a device listed twice.
    pub fn new(payload: Payload, recipients: Vec<Recipient>) -> Result<Self, PayloadError> {
        Self::checked(payload, recipients, 0)
    }

    /// As [`Notification::new`], naming `index` as the notification's place in errors.
    pub(crate) fn checked(
        payload: Payload,
        recipients: Vec<Recipient>,
        index: usize,
    ) -> Result<Self, PayloadError> {
        if recipients.is_empty() {
            return Err(PayloadError::NoRecipients {
                notification: index,
            });
        }
        let mut seen: HashMap<&DeviceId, usize> = HashMap::with_capacity(recipients.len());
        for (position, recipient) in recipients.iter().enumerate() {
            if let Some(first) = seen.insert(&recipient.device_id, position) {
                return Err(PayloadError::DuplicateDevice {
                    notification: index,
                    device_id: recipient.device_id.clone(),
                    first,
                    second: position,
                });
            }
        }
        Ok(Self {
            payload,
            recipients,
        })
    }

    /// What to tell the devices.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// Who to tell.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }
}

impl<'de> Deserialize<'de> for Notification {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawNotification::deserialize(deserializer)?;
        crate::parse::notification_from_raw(raw, 0, &crate::Limits::UNBOUNDED)
            .map_err(serde::de::Error::custom)
    }
}

/// What a notification says: the tenant, the unseen count and how the app should react.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Payload {
    /// The tenant (organisation) of the mailbox.
    pub tenant_id: TenantId,
    /// The unseen count; 0 is left out of the wire form and read back as 0.
    #[serde(default, skip_serializing_if = "UnseenCount::is_zero")]
    pub unseen_email_count: UnseenCount,
    /// The mailbox's language, for any text the device shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// What the app should fetch in the background.
    #[serde(default, skip_serializing_if = "BackgroundSyncType::is_none")]
    pub background_sync_type: BackgroundSyncType,
    /// A probe: the cloud checks and answers but must not reach a real device.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_monitoring: bool,
}

impl Payload {
    /// A payload with this tenant and count and every other member at its default.
    pub fn new(tenant_id: TenantId, unseen_email_count: UnseenCount) -> Self {
        Self {
            tenant_id,
            unseen_email_count,
            language: None,
            background_sync_type: BackgroundSyncType::None,
            is_monitoring: false,
        }
    }
}

/// One device subscription to notify.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipient {
    /// The push application.
    pub app_id: AppId,
    /// The device.
    pub device_id: DeviceId,
    /// The app installation on the device, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<InstallationId>,
    /// When the subscription last changed, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_subscription_update: Option<Timestamp>,
}

impl Recipient {
    /// A recipient with only the app and the device.
    pub fn new(app_id: AppId, device_id: DeviceId) -> Self {
        Self {
            app_id,
            device_id,
            installation_id: None,
            last_subscription_update: None,
        }
    }
}

// ---- BackgroundSyncType and Timestamp on the wire ----

/// The codes [`BackgroundSyncType`] is written as, for error messages.
const SYNC_CODES: &str = "0 (none), 1 (email), 2 (calendar) and 3 (email and calendar)";

impl BackgroundSyncType {
    /// The wire code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Email => 1,
            Self::Calendar => 2,
            Self::EmailAndCalendar => 3,
        }
    }

    /// The sync type with this wire code (given as JSON number text in errors).
    pub(crate) fn from_code(
        code: Option<u64>,
        written: &dyn std::fmt::Display,
    ) -> Result<Self, PayloadError> {
        match code {
            Some(0) => Ok(Self::None),
            Some(1) => Ok(Self::Email),
            Some(2) => Ok(Self::Calendar),
            Some(3) => Ok(Self::EmailAndCalendar),
            _ => Err(PayloadError::UnknownSyncType {
                value: written.to_string(),
                known: SYNC_CODES,
            }),
        }
    }
}

impl Serialize for BackgroundSyncType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for BackgroundSyncType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        Self::from_code(number.as_u64(), &number).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// ---- the loose shape read before validation, so errors can name their position ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBatch<'a> {
    #[serde(borrow)]
    pub(crate) notifications: Vec<RawNotification<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotification<'a> {
    #[serde(borrow)]
    pub(crate) payload: RawPayload<'a>,
    #[serde(borrow)]
    pub(crate) recipients: Vec<RawRecipient<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawPayload<'a> {
    #[serde(borrow)]
    pub(crate) tenant_id: Cow<'a, str>,
    #[serde(default)]
    pub(crate) unseen_email_count: Option<serde_json::Number>,
    #[serde(default, borrow)]
    pub(crate) language: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) background_sync_type: Option<serde_json::Number>,
    #[serde(default)]
    pub(crate) is_monitoring: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RawRecipient<'a> {
    #[serde(borrow)]
    pub(crate) app_id: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) device_id: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(crate) installation_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) last_subscription_update: Option<Cow<'a, str>>,
}

/// Wire names of the members, for errors that point at one.
pub(crate) mod field {
    pub(crate) const TENANT_ID: &str = "tenantId";
    pub(crate) const UNSEEN_EMAIL_COUNT: &str = "unseenEmailCount";
    pub(crate) const LANGUAGE: &str = "language";
    pub(crate) const BACKGROUND_SYNC_TYPE: &str = "backgroundSyncType";
    pub(crate) const APP_ID: &str = "appId";
    pub(crate) const DEVICE_ID: &str = "deviceId";
    pub(crate) const INSTALLATION_ID: &str = "installationId";
    pub(crate) const LAST_SUBSCRIPTION_UPDATE: &str = "lastSubscriptionUpdate";
}

// ---- the same bytes written by hand, for the batch builder ----

/// Writers producing exactly the bytes serde_json writes for [`PublishBatch`], in pieces the
/// batch builder can cache and join.
pub(crate) mod splice {
    use super::{BackgroundSyncType, Language, Recipient, TenantId, UnseenCount};

    pub(crate) const BATCH_OPEN: &[u8] = b"{\"notifications\":[";
    pub(crate) const BATCH_CLOSE: &[u8] = b"]}";
    pub(crate) const NOTIFICATION_CLOSE: &[u8] = b"]}";
    pub(crate) const SEPARATOR: u8 = b',';

    /// Appends the decimal digits of `value`.
    pub(crate) fn write_u32(out: &mut Vec<u8>, mut value: u32) {
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        loop {
            start -= 1;
            // `value % 10` is below 10, so the cast cannot truncate.
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[start..]);
    }

    /// Appends a JSON string whose content is printable ASCII (every validated identifier):
    /// only `"` and `\` need escaping there, exactly as serde_json escapes them.
    fn write_printable_str(out: &mut Vec<u8>, text: &str) {
        out.push(b'"');
        let bytes = text.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'"' || b == b'\\' {
                out.extend_from_slice(&bytes[start..i]);
                out.push(b'\\');
                out.push(b);
                start = i + 1;
            }
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
    }

    /// Appends one recipient object, as serde_json writes it.
    pub(crate) fn write_recipient(out: &mut Vec<u8>, recipient: &Recipient) {
        out.extend_from_slice(b"{\"appId\":");
        write_printable_str(out, recipient.app_id.as_str());
        out.extend_from_slice(b",\"deviceId\":");
        write_printable_str(out, recipient.device_id.as_str());
        if let Some(installation) = &recipient.installation_id {
            out.extend_from_slice(b",\"installationId\":");
            write_printable_str(out, installation.as_str());
        }
        if let Some(updated) = &recipient.last_subscription_update {
            out.extend_from_slice(b",\"lastSubscriptionUpdate\":");
            // RFC 3339 text is digits, '-', ':', '.', 'T' and 'Z': nothing to escape.
            write_printable_str(out, &updated.to_string());
        }
        out.push(b'}');
    }

    /// The tenant id as written between quotes, computed once per build.
    pub(crate) fn tenant_text(tenant: TenantId) -> [u8; 36] {
        tenant.encode()
    }

    /// Appends a notification's opening, its payload and the start of its recipient list;
    /// `tenant` comes from [`tenant_text`].
    pub(crate) fn write_notification_open(
        out: &mut Vec<u8>,
        tenant: &[u8; 36],
        count: UnseenCount,
        language: Option<&Language>,
        sync_type: BackgroundSyncType,
        monitoring: bool,
    ) {
        out.extend_from_slice(b"{\"payload\":{\"tenantId\":\"");
        out.extend_from_slice(tenant);
        out.push(b'"');
        if !count.is_zero() {
            out.extend_from_slice(b",\"unseenEmailCount\":");
            write_u32(out, count.get());
        }
        if let Some(language) = language {
            // A language tag is letters, digits and '-': nothing to escape.
            out.extend_from_slice(b",\"language\":\"");
            out.extend_from_slice(language.as_str().as_bytes());
            out.push(b'"');
        }
        if !sync_type.is_none() {
            out.extend_from_slice(b",\"backgroundSyncType\":");
            write_u32(out, u32::from(sync_type.code()));
        }
        if monitoring {
            out.extend_from_slice(b",\"isMonitoring\":true");
        }
        out.extend_from_slice(b"},\"recipients\":[");
    }
}

// ---- the answer ----

/// Why the cloud dropped a device subscription; the proxy must forget the subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeadReason {
    /// APNs 410: the app was removed or the token is no longer valid.
    Unregistered,
    /// APNs 400: the token is malformed or for the other environment.
    BadDeviceToken,
    /// APNs 400: the token belongs to another app.
    DeviceTokenNotForTopic,
}

/// A device the cloud found dead while delivering.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadDevice {
    /// The device.
    pub device_id: DeviceId,
    /// Why it is dead.
    pub reason: DeadReason,
}

/// The cloud's answer to an accepted publish call:
/// `{"accepted":N,"dead":[{"deviceId":"...","reason":"Unregistered"}],"monitoring":true}`.
///
/// `accepted` is always written; `dead` when not empty; `monitoring` when true (the batch was
/// a probe and reached no device).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishResponse {
    /// How many recipients were accepted for delivery.
    pub accepted: u32,
    /// Subscriptions to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dead: Vec<DeadDevice>,
    /// Whether the batch was a monitoring probe.
    #[serde(default, skip_serializing_if = "is_false")]
    pub monitoring: bool,
}

impl PublishResponse {
    /// Reads a response body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        serde_json::from_slice(body).map_err(|source| PayloadError::BadResponse {
            what: "publish response",
            source,
        })
    }
}

/// An error answer: `{"error":{"code":"PayloadTooLarge","message":"..."}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// A short machine-readable code, such as [`PayloadError::code`] gives.
    pub code: String,
    /// A sentence for an administrator.
    pub message: String,
}

#[derive(Serialize, Deserialize)]
struct FaultEnvelope<'a> {
    #[serde(borrow)]
    error: FaultDetail<'a>,
}

#[derive(Serialize, Deserialize)]
struct FaultDetail<'a> {
    #[serde(borrow)]
    code: Cow<'a, str>,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

impl Fault {
    /// The fault describing a refused batch: its code and its whole error chain.
    pub fn from_error(error: &PayloadError) -> Self {
        Self {
            code: error.code().to_owned(),
            message: error.chain(),
        }
    }

    /// Reads a fault body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        serde_json::from_slice(body).map_err(|source| PayloadError::BadResponse {
            what: "fault",
            source,
        })
    }
}

impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        FaultEnvelope {
            error: FaultDetail {
                code: Cow::Borrowed(&self.code),
                message: Cow::Borrowed(&self.message),
            },
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let envelope = FaultEnvelope::deserialize(deserializer)?;
        Ok(Self {
            code: envelope.error.code.into_owned(),
            message: envelope.error.message.into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        "72f988bf-86f1-41af-91ab-2d7cd011db47".parse().unwrap()
    }

    fn recipient(device: &str) -> Recipient {
        Recipient::new("com.example.mail".parse().unwrap(), device.parse().unwrap())
    }

    #[test]
    fn defaults_are_left_out() {
        let payload = Payload::new(tenant(), UnseenCount::ZERO);
        assert_eq!(
            serde_json::to_string(&payload).unwrap(),
            r#"{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"}"#
        );
        let r = recipient("ab12");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"appId":"com.example.mail","deviceId":"ab12"}"#
        );
    }

    #[test]
    fn full_payload_matches_spec_shape() {
        let payload = Payload {
            tenant_id: tenant(),
            unseen_email_count: UnseenCount::new(3).unwrap(),
            language: Some("ja-JP".parse().unwrap()),
            background_sync_type: BackgroundSyncType::Email,
            is_monitoring: true,
        };
        let batch = PublishBatch::new(vec![
            Notification::new(payload, vec![recipient("ab12")]).unwrap(),
        ])
        .unwrap();
        assert_eq!(
            serde_json::to_string(&batch).unwrap(),
            concat!(
                r#"{"notifications":[{"payload":{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","#,
                r#""unseenEmailCount":3,"language":"ja-JP","backgroundSyncType":1,"isMonitoring":true},"#,
                r#""recipients":[{"appId":"com.example.mail","deviceId":"ab12"}]}]}"#
            )
        );
    }

    #[test]
    fn absent_count_reads_as_zero() {
        let payload: Payload =
            serde_json::from_str(r#"{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"}"#).unwrap();
        assert_eq!(payload.unseen_email_count, UnseenCount::ZERO);
        assert!(!payload.is_monitoring);
    }

    #[test]
    fn misspelt_member_is_refused() {
        let err = serde_json::from_str::<Payload>(
            r#"{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","unseenEmailcount":4}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn batch_constructor_checks_structure() {
        assert!(matches!(
            PublishBatch::new(vec![]),
            Err(PayloadError::EmptyBatch)
        ));
        let other: TenantId = "00000000-0000-0000-0000-000000000001".parse().unwrap();
        let a = Notification::new(
            Payload::new(tenant(), UnseenCount::ZERO),
            vec![recipient("a")],
        )
        .unwrap();
        let b = Notification::new(Payload::new(other, UnseenCount::ZERO), vec![recipient("b")])
            .unwrap();
        assert!(matches!(
            PublishBatch::new(vec![a.clone(), b]),
            Err(PayloadError::MixedTenants {
                notification: 1,
                ..
            })
        ));
        assert!(matches!(
            Notification::new(Payload::new(tenant(), UnseenCount::ZERO), vec![]),
            Err(PayloadError::NoRecipients { .. })
        ));
        assert!(matches!(
            Notification::new(
                Payload::new(tenant(), UnseenCount::ZERO),
                vec![recipient("a"), recipient("b"), recipient("a")]
            ),
            Err(PayloadError::DuplicateDevice {
                first: 0,
                second: 2,
                ..
            })
        ));
        assert_eq!(PublishBatch::new(vec![a]).unwrap().tenant(), tenant());
    }

    #[test]
    fn sync_type_codes_round_trip() {
        for sync in BackgroundSyncType::ALL {
            let text = serde_json::to_string(&sync).unwrap();
            assert_eq!(
                serde_json::from_str::<BackgroundSyncType>(&text).unwrap(),
                sync
            );
        }
        assert!(serde_json::from_str::<BackgroundSyncType>("4").is_err());
        assert!(serde_json::from_str::<BackgroundSyncType>("1.5").is_err());
    }

    #[test]
    fn response_shape() {
        let response = PublishResponse {
            accepted: 2,
            dead: vec![DeadDevice {
                device_id: "ab12".parse().unwrap(),
                reason: DeadReason::Unregistered,
            }],
            monitoring: false,
        };
        let json = serde_json::to_string(&response).unwrap();
        assert_eq!(
            json,
            r#"{"accepted":2,"dead":[{"deviceId":"ab12","reason":"Unregistered"}]}"#
        );
        assert_eq!(
            PublishResponse::from_json(json.as_bytes()).unwrap(),
            response
        );
        let quiet =
            PublishResponse::from_json(br#"{"accepted":0,"monitoring":true,"later":1}"#).unwrap();
        assert!(quiet.monitoring && quiet.dead.is_empty());
        assert!(matches!(
            PublishResponse::from_json(b"{}"),
            Err(PayloadError::BadResponse { .. })
        ));
    }

    #[test]
    fn fault_shape() {
        let error = PayloadError::EmptyBatch;
        let fault = Fault::from_error(&error);
        let json = serde_json::to_string(&fault).unwrap();
        assert_eq!(
            json,
            r#"{"error":{"code":"EmptyBatch","message":"publish batch has no notifications; send at least one"}}"#
        );
        assert_eq!(Fault::from_json(json.as_bytes()).unwrap(), fault);
    }

    #[test]
    fn integer_writer_matches_display() {
        for value in [0, 1, 9, 10, 99, 100, 99_999, u32::MAX] {
            let mut out = Vec::new();
            splice::write_u32(&mut out, value);
            assert_eq!(out, value.to_string().into_bytes());
        }
    }

    #[test]
    fn recipient_writer_escapes_quotes_and_backslashes() {
        let r = Recipient {
            app_id: r#"a"b\c"#.parse().unwrap(),
            device_id: "/dev\\".parse().unwrap(),
            installation_id: Some("i".parse().unwrap()),
            last_subscription_update: Some("2024-05-01T09:30:00.25Z".parse().unwrap()),
        };
        let mut out = Vec::new();
        splice::write_recipient(&mut out, &r);
        assert_eq!(out, serde_json::to_vec(&r).unwrap());
    }
}
