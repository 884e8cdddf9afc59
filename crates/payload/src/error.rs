//! The one error type of this crate.

use crate::types::DeviceId;
use crate::types::TenantId;

/// Everything that can be wrong with a value, a publish batch or a device payload.
///
/// Messages say what was wrong and, where there is something to do, what to do. Wrapped errors
/// (serde's message, a field's own error) are reachable through [`std::error::Error::source`];
/// [`PayloadError::chain`] joins the whole chain into one line for a fault message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    // ---- single values ----
    /// A text value was empty.
    #[error("{what} is empty; a value is required")]
    Empty {
        /// Which kind of value.
        what: &'static str,
    },
    /// A text value was longer than allowed.
    #[error("{what} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// Which kind of value.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A text value held a character outside the allowed set.
    #[error(
        "{what} has a character that is not allowed at byte {position}; only printable ASCII without spaces is accepted"
    )]
    NotPrintable {
        /// Which kind of value.
        what: &'static str,
        /// Byte offset of the first offending character.
        position: usize,
    },
    /// A tenant id was not a GUID.
    #[error(
        "tenant id `{value}` is not a GUID; write it as 32 hex digits grouped 8-4-4-4-12, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47"
    )]
    NotGuid {
        /// The text given (cut to 64 bytes).
        value: String,
    },
    /// A language tag did not look like a BCP 47 tag.
    #[error("language `{value}` is not a language tag like `ja-JP`: {reason}")]
    BadLanguage {
        /// The text given (cut to 64 bytes).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An unseen count was negative, fractional or too large.
    #[error("unseen count {value} is out of range; it must be a whole number from 0 to {max}")]
    CountOutOfRange {
        /// The value given, as written.
        value: String,
        /// The largest count accepted.
        max: u32,
    },
    /// A background sync type code was not one this crate knows.
    #[error("background sync type {value} is unknown; known codes are {known}")]
    UnknownSyncType {
        /// The value given, as written.
        value: String,
        /// The codes this crate knows, for the message.
        known: &'static str,
    },
    /// A timestamp was not RFC 3339 or outside years 0..=9999.
    #[error("timestamp `{value}` is not an RFC 3339 date-time like 2024-05-01T09:30:00Z")]
    BadTimestamp {
        /// The text given (cut to 64 bytes).
        value: String,
        /// Why the time crate refused it, if it did.
        #[source]
        source: Option<time::error::Parse>,
    },

    // ---- publish batches ----
    /// The request body was larger than the limit.
    #[error(
        "publish body is {size} bytes; at most {limit} are accepted, send fewer notifications per batch"
    )]
    BodyTooLarge {
        /// Size of the body.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The body was not JSON at all (syntax error or cut short).
    #[error("publish body is not valid JSON")]
    NotJson {
        /// serde_json's description, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The body was JSON but not of the publish shape (missing or unknown member, wrong type).
    #[error("publish body does not have the expected shape")]
    WrongShape {
        /// serde_json's description, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A batch without notifications.
    #[error("publish batch has no notifications; send at least one")]
    EmptyBatch,
    /// Too many notifications in one batch.
    #[error(
        "publish batch has {count} notifications; at most {limit} are accepted, split the batch"
    )]
    TooManyNotifications {
        /// How many there were.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A notification without recipients.
    #[error("notification {notification} has no recipients; send at least one")]
    NoRecipients {
        /// Index of the notification in the batch.
        notification: usize,
    },
    /// Too many recipients in one notification.
    #[error(
        "notification {notification} has {count} recipients; at most {limit} are accepted, split it over several notifications"
    )]
    TooManyRecipients {
        /// Index of the notification in the batch.
        notification: usize,
        /// How many recipients there were.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// One member of a notification or recipient was invalid.
    #[error("invalid `{field}` in notification {notification}{}", recipient_suffix(*.recipient))]
    InvalidField {
        /// Index of the notification in the batch.
        notification: usize,
        /// Index of the recipient in the notification, if the member belongs to a recipient.
        recipient: Option<usize>,
        /// The member's wire name.
        field: &'static str,
        /// What is wrong with the value.
        #[source]
        source: Box<PayloadError>,
    },
    /// The same device twice in one notification.
    #[error(
        "device `{device_id}` appears twice in notification {notification} (recipients {first} and {second}); list each device once"
    )]
    DuplicateDevice {
        /// Index of the notification in the batch.
        notification: usize,
        /// The device.
        device_id: DeviceId,
        /// Index of its first appearance.
        first: usize,
        /// Index of its second appearance.
        second: usize,
    },
    /// Notifications of different tenants in one batch.
    #[error(
        "notification {notification} is for tenant {found} but the batch is for tenant {expected}; send one batch per tenant"
    )]
    MixedTenants {
        /// Index of the first notification whose tenant differs.
        notification: usize,
        /// The tenant of notification 0.
        expected: TenantId,
        /// The tenant found.
        found: TenantId,
    },
    /// A batch builder was asked for a recipient it does not hold.
    #[error(
        "notification {notification} names recipient {recipient} which the builder does not hold; upsert it first"
    )]
    UnknownRecipient {
        /// Index of the notification spec.
        notification: usize,
        /// Index of the key in the spec's recipient list.
        recipient: usize,
    },
    /// A response or fault body could not be read.
    #[error("{what} is not valid JSON of the expected shape")]
    BadResponse {
        /// Which document.
        what: &'static str,
        /// serde_json's description.
        #[source]
        source: serde_json::Error,
    },

    // ---- device payloads ----
    /// An APNs device token was not an even number of hex digits of the right length.
    #[error("APNs device token is invalid: {reason}")]
    BadDeviceToken {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An APNs topic was not a bundle id.
    #[error(
        "APNs topic `{value}` is not a bundle id; use letters, digits, '-' and '.' like com.example.mail"
    )]
    BadTopic {
        /// The text given (cut to 64 bytes).
        value: String,
    },
    /// An APNs priority other than 10, 5 or 1.
    #[error(
        "APNs priority {value} is not allowed; use 10 (immediate), 5 (power-conscious) or 1 (low)"
    )]
    BadPriority {
        /// The value given.
        value: u8,
    },
    /// A priority not allowed for the push type (background pushes must not use 10).
    #[error("APNs priority 10 is not allowed for background pushes; use 5 or 1")]
    PriorityNotAllowed,
    /// An APNs body above the push type's limit.
    #[error(
        "APNs body is {size} bytes; at most {limit} are allowed for {push_type} pushes, remove custom keys"
    )]
    ApnsBodyTooLarge {
        /// Size of the JSON body.
        size: usize,
        /// The limit for this push type.
        limit: usize,
        /// The push type's header value.
        push_type: &'static str,
    },
    /// An APNs payload whose `aps` content does not fit the push type.
    #[error("APNs push type {push_type} cannot carry this payload: {reason}")]
    PushTypeMismatch {
        /// The push type's header value.
        push_type: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A custom key named `aps`, which APNs reserves.
    #[error("custom key `aps` is reserved by APNs; pick another name")]
    ReservedKey,
    /// An APNs body that could not be read.
    #[error("APNs body is not a valid badge or background payload")]
    BadApnsBody {
        /// serde_json's description.
        #[source]
        source: serde_json::Error,
    },
    /// A WNS badge document that could not be read.
    #[error("WNS badge `{value}` is not of the form <badge value=\"N\"/>")]
    BadWnsBadge {
        /// The text given (cut to 64 bytes).
        value: String,
    },
}

fn recipient_suffix(recipient: Option<usize>) -> String {
    match recipient {
        Some(j) => format!(" recipient {j}"),
        None => String::new(),
    }
}

impl PayloadError {
    /// A short stable code for a JSON fault (`{"error":{"code":...}}`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "PayloadTooLarge",
            Self::NotJson { .. } => "MalformedJson",
            Self::WrongShape { .. } => "InvalidShape",
            Self::EmptyBatch | Self::NoRecipients { .. } => "EmptyBatch",
            Self::TooManyNotifications { .. } | Self::TooManyRecipients { .. } => "BatchTooLarge",
            Self::DuplicateDevice { .. } => "DuplicateDevice",
            Self::MixedTenants { .. } => "MixedTenants",
            Self::UnknownRecipient { .. } => "UnknownRecipient",
            Self::BadResponse { .. } => "InvalidResponse",
            _ => "InvalidValue",
        }
    }

    /// The message and every source below it, joined with `": "`, for showing to a person who
    /// only sees one line (a fault message, a log line).
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(source) = next {
            text.push_str(": ");
            text.push_str(&source.to_string());
            next = source.source();
        }
        text
    }

    /// Puts a value error at a position in a batch.
    pub(crate) fn at(
        self,
        notification: usize,
        recipient: Option<usize>,
        field: &'static str,
    ) -> Self {
        Self::InvalidField {
            notification,
            recipient,
            field,
            source: Box::new(self),
        }
    }
}

/// Cuts text shown back in an error to a bounded length, on a character boundary.
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 64;
    if value.len() <= MAX {
        return value.to_owned();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_sources() {
        let inner = PayloadError::Empty { what: "device id" };
        let outer = inner.at(2, Some(5), "deviceId");
        assert_eq!(
            outer.chain(),
            "invalid `deviceId` in notification 2 recipient 5: device id is empty; a value is required"
        );
        assert_eq!(outer.code(), "InvalidValue");
    }

    #[test]
    fn field_without_recipient_has_no_suffix() {
        let err = PayloadError::Empty { what: "language" }.at(0, None, "language");
        assert_eq!(err.to_string(), "invalid `language` in notification 0");
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        let long = "é".repeat(40);
        let cut = excerpt(&long);
        assert!(cut.ends_with("..."));
        assert!(cut.len() <= 67);
        assert_eq!(excerpt("short"), "short");
    }
}
