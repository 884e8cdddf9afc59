//! Reading a publish body from untrusted bytes, within limits.

use serde_json::error::Category;

use crate::error::PayloadError;
use crate::types::{
    AppId, BackgroundSyncType, DeviceId, InstallationId, Language, TenantId, Timestamp, UnseenCount,
};
use crate::wire::{
    Notification, Payload, PublishBatch, RawBatch, RawNotification, RawPayload, RawRecipient,
    Recipient, field,
};

/// How much a publish body may hold. The defaults suit one on-premises server's batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest body in bytes (default 256 KiB).
    pub max_body_bytes: usize,
    /// Most notifications per batch (default 100).
    pub max_notifications: usize,
    /// Most recipients per notification (default 1000).
    pub max_recipients_per_notification: usize,
}

impl Limits {
    /// The default limits: 256 KiB, 100 notifications, 1000 recipients per notification.
    pub const DEFAULT: Self = Self {
        max_body_bytes: 256 * 1024,
        max_notifications: 100,
        max_recipients_per_notification: 1000,
    };

    /// No size limits, only the structural rules (used by the plain serde path).
    pub(crate) const UNBOUNDED: Self = Self {
        max_body_bytes: usize::MAX,
        max_notifications: usize::MAX,
        max_recipients_per_notification: usize::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Reads a publish body, refusing anything over `limits` or not of the publish shape.
///
/// Checks, in order: the body size (before reading any of it); JSON syntax
/// ([`PayloadError::NotJson`]) and shape, including unknown members
/// ([`PayloadError::WrongShape`]), both carrying serde_json's message; the number of
/// notifications, then per notification the number of recipients, each member's value (an
/// [`PayloadError::InvalidField`] naming the notification, the recipient and the member) and
/// duplicate devices; finally that every notification is for the same tenant.
///
/// Any input, however malformed, gives an error and never a panic.
pub fn parse_batch(body: &[u8], limits: &Limits) -> Result<PublishBatch, PayloadError> {
    if body.len() > limits.max_body_bytes {
        return Err(PayloadError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let raw: RawBatch<'_> =
        serde_json::from_slice(body).map_err(|source| match source.classify() {
            Category::Data => PayloadError::WrongShape { source },
            Category::Io | Category::Syntax | Category::Eof => PayloadError::NotJson { source },
        })?;
    from_raw(raw, limits)
}

/// Validates a loosely read batch.
pub(crate) fn from_raw(raw: RawBatch<'_>, limits: &Limits) -> Result<PublishBatch, PayloadError> {
    let count = raw.notifications.len();
    if count == 0 {
        return Err(PayloadError::EmptyBatch);
    }
    if count > limits.max_notifications {
        return Err(PayloadError::TooManyNotifications {
            count,
            limit: limits.max_notifications,
        });
    }
    let notifications = raw
        .notifications
        .into_iter()
        .enumerate()
        .map(|(index, notification)| notification_from_raw(notification, index, limits))
        .collect::<Result<Vec<_>, _>>()?;
    PublishBatch::new(notifications)
}

/// Validates one loosely read notification, `index` being its place in the batch.
pub(crate) fn notification_from_raw(
    raw: RawNotification<'_>,
    index: usize,
    limits: &Limits,
) -> Result<Notification, PayloadError> {
    let count = raw.recipients.len();
    if count > limits.max_recipients_per_notification {
        return Err(PayloadError::TooManyRecipients {
            notification: index,
            count,
            limit: limits.max_recipients_per_notification,
        });
    }
    let payload = payload_from_raw(raw.payload, index)?;
    let recipients = raw
        .recipients
        .into_iter()
        .enumerate()
        .map(|(position, recipient)| recipient_from_raw(recipient, index, position))
        .collect::<Result<Vec<_>, _>>()?;
    Notification::checked(payload, recipients, index)
}

fn payload_from_raw(raw: RawPayload<'_>, index: usize) -> Result<Payload, PayloadError> {
    let at = |field| move |error: PayloadError| error.at(index, None, field);
    let tenant_id: TenantId = raw.tenant_id.parse().map_err(at(field::TENANT_ID))?;
    let unseen_email_count = match raw.unseen_email_count {
        None => UnseenCount::ZERO,
        Some(number) => match number.as_u64() {
            Some(value) => UnseenCount::try_from(value),
            None => Err(PayloadError::CountOutOfRange {
                value: number.to_string(),
                max: UnseenCount::MAX,
            }),
        }
        .map_err(at(field::UNSEEN_EMAIL_COUNT))?,
    };
    let language = raw
        .language
        .map(|text| text.parse::<Language>())
        .transpose()
        .map_err(at(field::LANGUAGE))?;
    let background_sync_type = match raw.background_sync_type {
        None => BackgroundSyncType::None,
        Some(number) => BackgroundSyncType::from_code(number.as_u64(), &number)
            .map_err(at(field::BACKGROUND_SYNC_TYPE))?,
    };
    Ok(Payload {
        tenant_id,
        unseen_email_count,
        language,
        background_sync_type,
        is_monitoring: raw.is_monitoring.unwrap_or(false),
    })
}

fn recipient_from_raw(
    raw: RawRecipient<'_>,
    index: usize,
    position: usize,
) -> Result<Recipient, PayloadError> {
    let at = |field| move |error: PayloadError| error.at(index, Some(position), field);
    Ok(Recipient {
        app_id: raw.app_id.parse::<AppId>().map_err(at(field::APP_ID))?,
        device_id: raw
            .device_id
            .parse::<DeviceId>()
            .map_err(at(field::DEVICE_ID))?,
        installation_id: raw
            .installation_id
            .map(|text| text.parse::<InstallationId>())
            .transpose()
            .map_err(at(field::INSTALLATION_ID))?,
        last_subscription_update: raw
            .last_subscription_update
            .map(|text| text.parse::<Timestamp>())
            .transpose()
            .map_err(at(field::LAST_SUBSCRIPTION_UPDATE))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn body(notifications: &[String]) -> Vec<u8> {
        format!(r#"{{"notifications":[{}]}}"#, notifications.join(",")).into_bytes()
    }

    fn notification(tenant: &str, recipients: &[&str]) -> String {
        let list: Vec<String> = recipients
            .iter()
            .map(|device| format!(r#"{{"appId":"com.example.mail","deviceId":"{device}"}}"#))
            .collect();
        format!(
            r#"{{"payload":{{"tenantId":"{tenant}","unseenEmailCount":4}},"recipients":[{}]}}"#,
            list.join(",")
        )
    }

    #[test]
    fn reads_a_valid_batch() {
        let batch = parse_batch(
            &body(&[notification(TENANT, &["a", "b"])]),
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(batch.tenant().to_string(), TENANT);
        assert_eq!(batch.recipient_count(), 2);
        assert_eq!(
            batch.notifications()[0].payload().unseen_email_count.get(),
            4
        );
    }

    #[test]
    fn body_too_large_is_refused_before_reading() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::DEFAULT
        };
        let err = parse_batch(b"not even json but long", &limits).unwrap_err();
        assert!(matches!(
            err,
            PayloadError::BodyTooLarge {
                size: 22,
                limit: 10
            }
        ));
        let exact = parse_batch(
            b"{}",
            &Limits {
                max_body_bytes: 2,
                ..Limits::DEFAULT
            },
        )
        .unwrap_err();
        assert!(
            matches!(exact, PayloadError::WrongShape { .. }),
            "{exact:?}"
        );
    }

    #[test]
    fn syntax_and_shape_errors_carry_serde_message() {
        let err = parse_batch(b"{\"notifications\":[", &Limits::DEFAULT).unwrap_err();
        assert!(matches!(err, PayloadError::NotJson { .. }));
        assert!(err.chain().contains("EOF"), "{}", err.chain());
        let err = parse_batch(b"{\"notifications\":3}", &Limits::DEFAULT).unwrap_err();
        assert!(matches!(err, PayloadError::WrongShape { .. }));
        assert!(err.chain().contains("invalid type"), "{}", err.chain());
        let err = parse_batch(b"{\"notification\":[]}", &Limits::DEFAULT).unwrap_err();
        assert!(err.chain().contains("unknown field"), "{}", err.chain());
    }

    #[test]
    fn counts_are_limited() {
        let limits = Limits {
            max_notifications: 2,
            max_recipients_per_notification: 3,
            ..Limits::DEFAULT
        };
        let three = vec![notification(TENANT, &["a"]); 3];
        assert!(matches!(
            parse_batch(&body(&three), &limits),
            Err(PayloadError::TooManyNotifications { count: 3, limit: 2 })
        ));
        let crowded = [
            notification(TENANT, &["a"]),
            notification(TENANT, &["a", "b", "c", "d"]),
        ];
        assert!(matches!(
            parse_batch(&body(&crowded), &limits),
            Err(PayloadError::TooManyRecipients {
                notification: 1,
                count: 4,
                limit: 3
            })
        ));
        assert!(matches!(
            parse_batch(&body(&[]), &limits),
            Err(PayloadError::EmptyBatch)
        ));
        assert!(matches!(
            parse_batch(&body(&[notification(TENANT, &[])]), &limits),
            Err(PayloadError::NoRecipients { notification: 0 })
        ));
    }

    #[test]
    fn invalid_field_names_its_position() {
        let bad = [
            notification(TENANT, &["a"]),
            notification(TENANT, &["b", "c d"]),
        ];
        match parse_batch(&body(&bad), &Limits::DEFAULT).unwrap_err() {
            PayloadError::InvalidField {
                notification: 1,
                recipient: Some(1),
                field: "deviceId",
                source,
            } => assert!(matches!(
                *source,
                PayloadError::NotPrintable { position: 1, .. }
            )),
            other => panic!("{other:?}"),
        }
        let bad_tenant = [notification("not-a-guid", &["a"])];
        assert!(matches!(
            parse_batch(&body(&bad_tenant), &Limits::DEFAULT),
            Err(PayloadError::InvalidField {
                notification: 0,
                recipient: None,
                field: "tenantId",
                ..
            })
        ));
    }

    #[test]
    fn payload_numbers_are_checked() {
        for (count, ok) in [
            ("0", true),
            ("99999", true),
            ("100000", false),
            ("-1", false),
            ("2.5", false),
            ("1e3", false),
        ] {
            let text = format!(
                r#"{{"notifications":[{{"payload":{{"tenantId":"{TENANT}","unseenEmailCount":{count}}},"recipients":[{{"appId":"a","deviceId":"b"}}]}}]}}"#
            );
            let result = parse_batch(text.as_bytes(), &Limits::DEFAULT);
            assert_eq!(result.is_ok(), ok, "{count}: {result:?}");
            if let Err(err) = result {
                assert!(
                    matches!(
                        err,
                        PayloadError::InvalidField {
                            field: "unseenEmailCount",
                            ..
                        }
                    ),
                    "{err:?}"
                );
            }
        }
        let sync = format!(
            r#"{{"notifications":[{{"payload":{{"tenantId":"{TENANT}","backgroundSyncType":9}},"recipients":[{{"appId":"a","deviceId":"b"}}]}}]}}"#
        );
        assert!(matches!(
            parse_batch(sync.as_bytes(), &Limits::DEFAULT),
            Err(PayloadError::InvalidField {
                field: "backgroundSyncType",
                ..
            })
        ));
    }

    #[test]
    fn duplicate_device_is_refused() {
        let dup = [notification(TENANT, &["a", "b", "a"])];
        assert!(matches!(
            parse_batch(&body(&dup), &Limits::DEFAULT),
            Err(PayloadError::DuplicateDevice {
                notification: 0,
                first: 0,
                second: 2,
                ..
            })
        ));
        // The same device in two notifications (two mailboxes on one phone) is fine.
        let two = [notification(TENANT, &["a"]), notification(TENANT, &["a"])];
        assert!(parse_batch(&body(&two), &Limits::DEFAULT).is_ok());
    }

    #[test]
    fn mixed_tenants_are_refused() {
        let mixed = [
            notification(TENANT, &["a"]),
            notification(TENANT, &["b"]),
            notification("00000000-0000-0000-0000-000000000001", &["c"]),
        ];
        assert!(matches!(
            parse_batch(&body(&mixed), &Limits::DEFAULT),
            Err(PayloadError::MixedTenants {
                notification: 2,
                ..
            })
        ));
    }

    #[test]
    fn deeply_nested_input_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(parse_batch(deep.as_bytes(), &Limits::UNBOUNDED).is_err());
    }
}
