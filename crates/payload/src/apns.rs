//! What the cloud sends to Apple's push service (APNs) for one device.
//!
//! A badge update is `{"aps":{"badge":N}}` sent with `apns-push-type: alert`; the count is
//! always present, **0 included**, because an absent badge leaves the icon unchanged while 0
//! clears it. A silent push is `{"aps":{"content-available":1}}` with
//! `apns-push-type: background`. Custom keys may sit beside `aps`.
//!
//! ```
//! use pushproxy_payload::apns::{ApnsPayload, ApnsRequest, ApnsPushType, CollapseId};
//! use pushproxy_payload::UnseenCount;
//!
//! let token = "a1".repeat(32).parse()?;
//! let request = ApnsRequest::new(
//!     token,
//!     "com.example.mail".parse()?,
//!     ApnsPushType::Alert,
//!     &ApnsPayload::badge(UnseenCount::ZERO),
//! )?
//! .with_expiration(0)
//! .with_collapse_id("badge".parse::<CollapseId>()?);
//! assert_eq!(request.body(), br#"{"aps":{"badge":0}}"#);
//! assert!(request.path().starts_with("/3/device/a1a1"));
//! assert!(request.headers().contains(&("apns-priority", "10".to_owned())));
//! # Ok::<(), pushproxy_payload::PayloadError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{PayloadError, excerpt};
use crate::types::UnseenCount;

/// An APNs device token: 16 to 100 bytes, written as hex (lower case when displayed).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DeviceToken(Vec<u8>);

impl DeviceToken {
    /// Fewest bytes accepted.
    pub const MIN_BYTES: usize = 16;
    /// Most bytes accepted (Apple's stated upper bound).
    pub const MAX_BYTES: usize = 100;

    /// A token from its raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PayloadError> {
        if bytes.len() < Self::MIN_BYTES || bytes.len() > Self::MAX_BYTES {
            return Err(PayloadError::BadDeviceToken {
                reason: "it must be 16 to 100 bytes (32 to 200 hex digits)",
            });
        }
        Ok(Self(bytes.to_vec()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for DeviceToken {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        if !text.len().is_multiple_of(2) {
            return Err(PayloadError::BadDeviceToken {
                reason: "it has an odd number of hex digits",
            });
        }
        let mut bytes = Vec::with_capacity(text.len() / 2);
        for pair in text.as_bytes().chunks_exact(2) {
            let digit = |b: u8| {
                char::from(b)
                    .to_digit(16)
                    .ok_or(PayloadError::BadDeviceToken {
                        reason: "it has a character that is not a hex digit",
                    })
            };
            let byte = digit(pair[0])? << 4 | digit(pair[1])?;
            // Two hex digits make at most 0xff, so the value fits a byte.
            bytes.push(byte as u8);
        }
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceToken({self})")
    }
}

/// The `apns-topic`: the app's bundle id (`com.example.mail`, or `com.example.mail.voip` for
/// VoIP pushes). Letters, digits, `-` and `.`, at most 255 bytes, not starting or ending
/// with `.`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApnsTopic(String);

impl ApnsTopic {
    /// The topic as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ApnsTopic {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        let valid = !text.is_empty()
            && text.len() <= 255
            && !text.starts_with('.')
            && !text.ends_with('.')
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            return Err(PayloadError::BadTopic {
                value: excerpt(text),
            });
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for ApnsTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ApnsTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApnsTopic({})", self.0)
    }
}

/// The `apns-push-type` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApnsPushType {
    /// A visible change: badge updates use this.
    Alert,
    /// A silent push that wakes the app (`content-available`).
    Background,
    /// A VoIP push (larger body allowed, topic ends in `.voip`).
    Voip,
}

impl ApnsPushType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Background => "background",
            Self::Voip => "voip",
        }
    }

    /// The largest body APNs accepts for this push type, in bytes.
    pub fn body_limit(self) -> usize {
        match self {
            Self::Alert | Self::Background => 4096,
            Self::Voip => 5120,
        }
    }
}

/// The `apns-priority` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApnsPriority {
    /// 10: deliver now (the default, except for background pushes).
    Immediate,
    /// 5: may be grouped and delayed to save power (required for background pushes).
    PowerConscious,
    /// 1: low; may be delayed further.
    Low,
}

impl ApnsPriority {
    /// The header's number.
    pub fn value(self) -> u8 {
        match self {
            Self::Immediate => 10,
            Self::PowerConscious => 5,
            Self::Low => 1,
        }
    }
}

impl TryFrom<u8> for ApnsPriority {
    type Error = PayloadError;

    fn try_from(value: u8) -> Result<Self, PayloadError> {
        match value {
            10 => Ok(Self::Immediate),
            5 => Ok(Self::PowerConscious),
            1 => Ok(Self::Low),
            _ => Err(PayloadError::BadPriority { value }),
        }
    }
}

/// The `apns-collapse-id`: 1 to 64 bytes of printable ASCII (spaces allowed). Notifications
/// with the same id replace each other on the device.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CollapseId(String);

impl CollapseId {
    /// The longest id APNs accepts, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CollapseId {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        const WHAT: &str = "APNs collapse id";
        if text.is_empty() {
            return Err(PayloadError::Empty { what: WHAT });
        }
        if text.len() > Self::MAX_LEN {
            return Err(PayloadError::TooLong {
                what: WHAT,
                len: text.len(),
                max: Self::MAX_LEN,
            });
        }
        if let Some(position) = text
            .bytes()
            .position(|b| !(b == b' ' || b.is_ascii_graphic()))
        {
            return Err(PayloadError::NotPrintable {
                what: WHAT,
                position,
            });
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Debug for CollapseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CollapseId({:?})", self.0)
    }
}

/// The content of the `aps` dictionary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Aps {
    /// `{"badge":N}`: set the icon badge to N; 0 clears it.
    Badge(UnseenCount),
    /// `{"content-available":1}`: wake the app silently.
    ContentAvailable,
}

/// A device payload: the `aps` dictionary and custom keys beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct ApnsPayload {
    aps: Aps,
    custom: BTreeMap<String, Value>,
}

impl ApnsPayload {
    /// A badge update; the count is always written, 0 included.
    pub fn badge(count: UnseenCount) -> Self {
        Self {
            aps: Aps::Badge(count),
            custom: BTreeMap::new(),
        }
    }

    /// A silent background push.
    pub fn background() -> Self {
        Self {
            aps: Aps::ContentAvailable,
            custom: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) a custom key beside `aps`; the key `aps` itself is refused.
    pub fn with_custom(
        mut self,
        key: impl Into<String>,
        value: Value,
    ) -> Result<Self, PayloadError> {
        let key = key.into();
        if key == "aps" {
            return Err(PayloadError::ReservedKey);
        }
        self.custom.insert(key, value);
        Ok(self)
    }

    /// The `aps` content.
    pub fn aps(&self) -> Aps {
        self.aps
    }

    /// The custom keys, sorted by name (the order they are written in).
    pub fn custom(&self) -> &BTreeMap<String, Value> {
        &self.custom
    }

    /// Reads a payload body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        serde_json::from_slice(body).map_err(|source| PayloadError::BadApnsBody { source })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApsWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    badge: Option<UnseenCount>,
    #[serde(
        rename = "content-available",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    content_available: Option<u8>,
}

impl Serialize for ApnsPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let aps = match self.aps {
            Aps::Badge(count) => ApsWire {
                badge: Some(count),
                content_available: None,
            },
            Aps::ContentAvailable => ApsWire {
                badge: None,
                content_available: Some(1),
            },
        };
        let mut map = serializer.serialize_map(Some(1 + self.custom.len()))?;
        map.serialize_entry("aps", &aps)?;
        for (key, value) in &self.custom {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ApnsPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;

        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = ApnsPayload;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an APNs payload object with an `aps` dictionary")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ApnsPayload, A::Error> {
                let mut aps = None;
                let mut custom = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "aps" {
                        if aps.is_some() {
                            return Err(de::Error::duplicate_field("aps"));
                        }
                        let wire: ApsWire = map.next_value()?;
                        aps = Some(match (wire.badge, wire.content_available) {
                            (Some(count), None) => Aps::Badge(count),
                            (None, Some(1)) => Aps::ContentAvailable,
                            _ => {
                                return Err(de::Error::custom(
                                    "`aps` must hold either `badge` or `content-available`: 1",
                                ));
                            }
                        });
                    } else {
                        let value: Value = map.next_value()?;
                        if custom.insert(key, value).is_some() {
                            return Err(de::Error::custom("a custom key appears twice"));
                        }
                    }
                }
                let aps = aps.ok_or_else(|| de::Error::missing_field("aps"))?;
                Ok(ApnsPayload { aps, custom })
            }
        }

        deserializer.deserialize_map(PayloadVisitor)
    }
}

/// One request to APNs: `POST /3/device/<hex token>` over HTTP/2 with the `apns-*` headers and
/// the JSON body, checked against APNs' rules when built.
#[derive(Clone, Debug, PartialEq)]
pub struct ApnsRequest {
    device_token: DeviceToken,
    topic: ApnsTopic,
    push_type: ApnsPushType,
    priority: ApnsPriority,
    expiration: Option<u64>,
    collapse_id: Option<CollapseId>,
    body: Vec<u8>,
}

impl ApnsRequest {
    /// The HTTP method.
    pub const METHOD: &'static str = "POST";

    /// A request carrying `payload` to one device.
    ///
    /// Refused when the payload does not suit the push type (`alert` carries a badge,
    /// `background` carries `content-available`, `voip` either but needs a `.voip` topic), or
    /// when the body exceeds the push type's limit: 4096 bytes, 5120 for VoIP. The priority
    /// starts at 10, or 5 for background pushes.
    pub fn new(
        device_token: DeviceToken,
        topic: ApnsTopic,
        push_type: ApnsPushType,
        payload: &ApnsPayload,
    ) -> Result<Self, PayloadError> {
        let mismatch = |reason| PayloadError::PushTypeMismatch {
            push_type: push_type.as_str(),
            reason,
        };
        match (push_type, payload.aps) {
            (ApnsPushType::Alert, Aps::ContentAvailable) => {
                return Err(mismatch(
                    "an alert push needs a badge; use the background push type",
                ));
            }
            (ApnsPushType::Background, Aps::Badge(_)) => {
                return Err(mismatch(
                    "a background push must not carry a badge; use the alert push type",
                ));
            }
            (ApnsPushType::Voip, _) if !topic.as_str().ends_with(".voip") => {
                return Err(mismatch("a VoIP push needs a topic ending in .voip"));
            }
            _ => {}
        }
        let body =
            serde_json::to_vec(payload).map_err(|source| PayloadError::BadApnsBody { source })?;
        let limit = push_type.body_limit();
        if body.len() > limit {
            return Err(PayloadError::ApnsBodyTooLarge {
                size: body.len(),
                limit,
                push_type: push_type.as_str(),
            });
        }
        let priority = match push_type {
            ApnsPushType::Background => ApnsPriority::PowerConscious,
            ApnsPushType::Alert | ApnsPushType::Voip => ApnsPriority::Immediate,
        };
        Ok(Self {
            device_token,
            topic,
            push_type,
            priority,
            expiration: None,
            collapse_id: None,
            body,
        })
    }

    /// A badge update for one device (`alert` push type, priority 10).
    pub fn badge(
        device_token: DeviceToken,
        topic: ApnsTopic,
        count: UnseenCount,
    ) -> Result<Self, PayloadError> {
        Self::new(
            device_token,
            topic,
            ApnsPushType::Alert,
            &ApnsPayload::badge(count),
        )
    }

    /// Sets the priority; 10 is refused for background pushes.
    pub fn with_priority(mut self, priority: ApnsPriority) -> Result<Self, PayloadError> {
        if self.push_type == ApnsPushType::Background && priority == ApnsPriority::Immediate {
            return Err(PayloadError::PriorityNotAllowed);
        }
        self.priority = priority;
        Ok(self)
    }

    /// Sets `apns-expiration`: the Unix second after which APNs stops trying; 0 means deliver
    /// once and do not store. Without it the header is not sent.
    pub fn with_expiration(mut self, unix_seconds: u64) -> Self {
        self.expiration = Some(unix_seconds);
        self
    }

    /// Sets `apns-collapse-id`.
    pub fn with_collapse_id(mut self, collapse_id: CollapseId) -> Self {
        self.collapse_id = Some(collapse_id);
        self
    }

    /// The `:path` pseudo-header: `/3/device/<hex token>`.
    pub fn path(&self) -> String {
        format!("/3/device/{}", self.device_token)
    }

    /// The `apns-*` headers, in a fixed order; absent options are left out.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("apns-topic", self.topic.as_str().to_owned()),
            ("apns-push-type", self.push_type.as_str().to_owned()),
            ("apns-priority", self.priority.value().to_string()),
        ];
        if let Some(expiration) = self.expiration {
            headers.push(("apns-expiration", expiration.to_string()));
        }
        if let Some(collapse_id) = &self.collapse_id {
            headers.push(("apns-collapse-id", collapse_id.as_str().to_owned()));
        }
        headers
    }

    /// The JSON body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The device.
    pub fn device_token(&self) -> &DeviceToken {
        &self.device_token
    }

    /// The push type.
    pub fn push_type(&self) -> ApnsPushType {
        self.push_type
    }

    /// The priority.
    pub fn priority(&self) -> ApnsPriority {
        self.priority
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn token() -> DeviceToken {
        "00ff".repeat(16).parse().unwrap()
    }

    fn topic() -> ApnsTopic {
        "com.example.mail".parse().unwrap()
    }

    /// A badge payload padded with a custom string so that its body is exactly `size` bytes.
    fn payload_of_size(size: usize) -> ApnsPayload {
        let base = ApnsPayload::badge(UnseenCount::new(7).unwrap())
            .with_custom("pad", Value::String(String::new()))
            .unwrap();
        let empty = serde_json::to_vec(&base).unwrap().len();
        base.with_custom("pad", Value::String("x".repeat(size - empty)))
            .unwrap()
    }

    #[test]
    fn badge_zero_is_present() {
        let request = ApnsRequest::badge(token(), topic(), UnseenCount::ZERO).unwrap();
        assert_eq!(request.body(), br#"{"aps":{"badge":0}}"#);
        let back = ApnsPayload::from_json(request.body()).unwrap();
        assert_eq!(back.aps(), Aps::Badge(UnseenCount::ZERO));
    }

    #[test]
    fn background_body_and_priority() {
        let request = ApnsRequest::new(
            token(),
            topic(),
            ApnsPushType::Background,
            &ApnsPayload::background(),
        )
        .unwrap();
        assert_eq!(request.body(), br#"{"aps":{"content-available":1}}"#);
        assert_eq!(request.priority(), ApnsPriority::PowerConscious);
        assert!(matches!(
            request.clone().with_priority(ApnsPriority::Immediate),
            Err(PayloadError::PriorityNotAllowed)
        ));
        assert_eq!(
            request
                .with_priority(ApnsPriority::Low)
                .unwrap()
                .priority()
                .value(),
            1
        );
    }

    #[test]
    fn push_type_must_suit_payload() {
        assert!(
            ApnsRequest::new(
                token(),
                topic(),
                ApnsPushType::Alert,
                &ApnsPayload::background()
            )
            .is_err()
        );
        assert!(
            ApnsRequest::new(
                token(),
                topic(),
                ApnsPushType::Background,
                &ApnsPayload::badge(UnseenCount::ZERO)
            )
            .is_err()
        );
        assert!(
            ApnsRequest::new(
                token(),
                topic(),
                ApnsPushType::Voip,
                &ApnsPayload::background()
            )
            .is_err()
        );
        let voip: ApnsTopic = "com.example.mail.voip".parse().unwrap();
        assert!(
            ApnsRequest::new(
                token(),
                voip,
                ApnsPushType::Voip,
                &ApnsPayload::background()
            )
            .is_ok()
        );
    }

    #[test]
    fn rendering() {
        let request = ApnsRequest::badge(token(), topic(), UnseenCount::new(3).unwrap())
            .unwrap()
            .with_expiration(0)
            .with_collapse_id("mail-badge".parse().unwrap());
        assert_eq!(request.path(), format!("/3/device/{}", "00ff".repeat(16)));
        assert_eq!(
            request.headers(),
            vec![
                ("apns-topic", "com.example.mail".to_owned()),
                ("apns-push-type", "alert".to_owned()),
                ("apns-priority", "10".to_owned()),
                ("apns-expiration", "0".to_owned()),
                ("apns-collapse-id", "mail-badge".to_owned()),
            ]
        );
        assert_eq!(ApnsRequest::METHOD, "POST");
        let plain = ApnsRequest::badge(token(), topic(), UnseenCount::ZERO).unwrap();
        assert_eq!(plain.headers().len(), 3);
    }

    #[test]
    fn body_limit_4096() {
        let at = payload_of_size(4096);
        assert_eq!(serde_json::to_vec(&at).unwrap().len(), 4096);
        assert!(ApnsRequest::new(token(), topic(), ApnsPushType::Alert, &at).is_ok());
        let over = payload_of_size(4097);
        assert!(matches!(
            ApnsRequest::new(token(), topic(), ApnsPushType::Alert, &over),
            Err(PayloadError::ApnsBodyTooLarge {
                size: 4097,
                limit: 4096,
                push_type: "alert"
            })
        ));
    }

    #[test]
    fn body_limit_5120_for_voip() {
        let voip: ApnsTopic = "com.example.mail.voip".parse().unwrap();
        let at = payload_of_size(5120);
        assert!(ApnsRequest::new(token(), voip.clone(), ApnsPushType::Voip, &at).is_ok());
        assert!(matches!(
            ApnsRequest::new(token(), voip, ApnsPushType::Voip, &payload_of_size(5121)),
            Err(PayloadError::ApnsBodyTooLarge {
                size: 5121,
                limit: 5120,
                ..
            })
        ));
    }

    #[test]
    fn collapse_id_limit_64() {
        assert!("x".repeat(64).parse::<CollapseId>().is_ok());
        assert!(matches!(
            "x".repeat(65).parse::<CollapseId>(),
            Err(PayloadError::TooLong {
                len: 65,
                max: 64,
                ..
            })
        ));
        assert!("".parse::<CollapseId>().is_err());
        assert!("a\nb".parse::<CollapseId>().is_err());
        assert!("two words".parse::<CollapseId>().is_ok());
    }

    #[test]
    fn priority_values() {
        for value in [10u8, 5, 1] {
            assert_eq!(ApnsPriority::try_from(value).unwrap().value(), value);
        }
        assert!(matches!(
            ApnsPriority::try_from(7),
            Err(PayloadError::BadPriority { value: 7 })
        ));
    }

    #[test]
    fn device_token_checks() {
        assert!("0f".repeat(15).parse::<DeviceToken>().is_err());
        assert!("0f".repeat(100).parse::<DeviceToken>().is_ok());
        assert!("0f".repeat(101).parse::<DeviceToken>().is_err());
        assert!("0f0".parse::<DeviceToken>().is_err());
        assert!(
            format!("{}zz", "0f".repeat(20))
                .parse::<DeviceToken>()
                .is_err()
        );
        assert_eq!(
            "AB".repeat(16).parse::<DeviceToken>().unwrap().to_string(),
            "ab".repeat(16)
        );
    }

    #[test]
    fn topic_checks() {
        for bad in [
            "",
            ".com.example",
            "com.example.",
            "com example",
            "com/example",
        ] {
            assert!(bad.parse::<ApnsTopic>().is_err(), "{bad}");
        }
    }

    #[test]
    fn payload_reader_is_strict_about_aps() {
        for bad in [
            &br#"{}"#[..],
            br#"{"aps":{}}"#,
            br#"{"aps":{"badge":1,"content-available":1}}"#,
            br#"{"aps":{"content-available":0}}"#,
            br#"{"aps":{"badge":-1}}"#,
            br#"{"aps":{"badge":1,"sound":"x"}}"#,
            br#"{"aps":{"badge":1},"aps":{"badge":2}}"#,
            br#"{"aps":{"badge":1},"k":1,"k":2}"#,
        ] {
            assert!(
                ApnsPayload::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            ApnsPayload::badge(UnseenCount::ZERO).with_custom("aps", Value::Null),
            Err(PayloadError::ReservedKey)
        ));
    }

    fn custom_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn payload_round_trip(
            count in proptest::option::of(0u32..=UnseenCount::MAX),
            custom in proptest::collection::btree_map("\\PC{1,8}", custom_value(), 0..4),
        ) {
            let mut payload = match count {
                Some(n) => ApnsPayload::badge(UnseenCount::new(n).unwrap()),
                None => ApnsPayload::background(),
            };
            for (key, value) in custom {
                if key != "aps" {
                    payload = payload.with_custom(key, value).unwrap();
                }
            }
            let body = serde_json::to_vec(&payload).unwrap();
            if let Some(n) = count {
                let expected = format!("{{\"aps\":{{\"badge\":{n}}}");
                prop_assert!(body.starts_with(expected.as_bytes()));
            }
            prop_assert_eq!(ApnsPayload::from_json(&body).unwrap(), payload);
        }

        #[test]
        fn payload_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ApnsPayload::from_json(&bytes);
        }

        #[test]
        fn device_token_round_trip(bytes in proptest::collection::vec(any::<u8>(), 16..=100)) {
            let token = DeviceToken::from_bytes(&bytes).unwrap();
            prop_assert_eq!(token.to_string().parse::<DeviceToken>().unwrap(), token);
        }

        #[test]
        fn device_token_parser_never_panics(text in "\\PC{0,80}") {
            let _ = text.parse::<DeviceToken>();
        }

        #[test]
        fn collapse_id_accepts_up_to_64_bytes(text in "[ -~]{0,80}") {
            prop_assert_eq!(text.parse::<CollapseId>().is_ok(), (1..=64).contains(&text.len()));
        }

        #[test]
        fn body_limit_is_exact(size in 40usize..4200) {
            let result = ApnsRequest::new(token(), topic(), ApnsPushType::Alert, &payload_of_size(size));
            prop_assert_eq!(result.is_ok(), size <= 4096);
        }
    }
}
