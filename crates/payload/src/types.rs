//! Validated values: each can only be built through a checked constructor, so an invalid value
//! never reaches a batch or a device.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{PayloadError, excerpt};

/// Checks an identifier: non-empty, at most `max` bytes, printable ASCII without spaces.
fn check_printable(what: &'static str, value: &str, max: usize) -> Result<(), PayloadError> {
    if value.is_empty() {
        return Err(PayloadError::Empty { what });
    }
    if value.len() > max {
        return Err(PayloadError::TooLong {
            what,
            len: value.len(),
            max,
        });
    }
    if let Some(position) = value.bytes().position(|b| !b.is_ascii_graphic()) {
        return Err(PayloadError::NotPrintable { what, position });
    }
    Ok(())
}

/// Declares a printable, bounded identifier newtype over `String`.
macro_rules! printable_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in bytes.
            pub const MAX_LEN: usize = $max;

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = PayloadError;

            fn try_from(value: String) -> Result<Self, PayloadError> {
                check_printable($what, &value, Self::MAX_LEN)?;
                Ok(Self(value))
            }
        }

        impl FromStr for $name {
            type Err = PayloadError;

            fn from_str(value: &str) -> Result<Self, PayloadError> {
                check_printable($what, value, Self::MAX_LEN)?;
                Ok(Self(value.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

printable_id!(
    /// The push application a device subscription belongs to (for example the iOS mail app's
    /// bundle id). 1 to 256 bytes of printable ASCII, no spaces.
    AppId,
    "app id",
    256
);

printable_id!(
    /// A device as the cloud knows it (for APNs, the hex device token). 1 to 512 bytes of
    /// printable ASCII, no spaces.
    DeviceId,
    "device id",
    512
);

printable_id!(
    /// One installation of the app on a device. 1 to 128 bytes of printable ASCII, no spaces.
    InstallationId,
    "installation id",
    128
);

/// A tenant (organisation) id: a GUID, written in lower case as `8-4-4-4-12` hex digits.
///
/// Parsing accepts either case; the value is stored as a number, so two spellings of the same
/// GUID are equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(u128);

impl TenantId {
    /// The tenant id with this 128-bit value (big-endian reading of the GUID text).
    pub const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The 128-bit value.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// The canonical text as ASCII bytes: 36 bytes, lower-case hex, hyphens at 8, 13, 18, 23.
    pub(crate) fn encode(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in self.0.to_be_bytes().into_iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1; // leave the hyphen
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0xf)];
            at += 2;
        }
        out
    }
}

impl FromStr for TenantId {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        let bytes = text.as_bytes();
        let refuse = || PayloadError::NotGuid {
            value: excerpt(text),
        };
        if bytes.len() != 36 {
            return Err(refuse());
        }
        let mut value: u128 = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return Err(refuse());
                }
                continue;
            }
            let digit = (b as char).to_digit(16).ok_or_else(refuse)?;
            value = (value << 4) | u128::from(digit);
        }
        Ok(Self(value))
    }
}

impl TryFrom<String> for TenantId {
    type Error = PayloadError;

    fn try_from(value: String) -> Result<Self, PayloadError> {
        value.parse()
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> String {
        value.to_string()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.encode() {
            fmt::Write::write_char(f, char::from(b))?;
        }
        Ok(())
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({self})")
    }
}

/// A BCP 47-style language tag such as `ja-JP`, `en`, `zh-Hant-TW` or `sr-Latn-RS`.
///
/// Accepted: subtags of 1 to 8 ASCII letters or digits joined by `-`, the first one 2 to 8
/// letters, at most 64 bytes in all. The tag is stored in the conventional case: language
/// lower case, a two-letter region upper case, a four-letter script title case (`ZH-hant-tw`
/// becomes `zh-Hant-TW`); everything after a one-letter extension subtag is lower case. The
/// registry of subtags is not consulted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    /// The longest tag accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Language {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        let refuse = |reason| PayloadError::BadLanguage {
            value: excerpt(text),
            reason,
        };
        if text.is_empty() {
            return Err(refuse("it is empty"));
        }
        if text.len() > Self::MAX_LEN {
            return Err(refuse("it is longer than 64 bytes"));
        }
        let mut out = String::with_capacity(text.len());
        let mut in_extension = false;
        for (index, subtag) in text.split('-').enumerate() {
            if subtag.is_empty() || subtag.len() > 8 {
                return Err(refuse(
                    "each part between hyphens must be 1 to 8 characters",
                ));
            }
            if !subtag.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(refuse("only letters, digits and hyphens are allowed"));
            }
            if index == 0 {
                if subtag.len() < 2 || !subtag.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(refuse("the language part must be 2 to 8 letters"));
                }
            } else {
                out.push('-');
            }
            if subtag.len() == 1 {
                in_extension = true;
            }
            match (index, subtag.len(), in_extension) {
                (1.., 2, false) => out.push_str(&subtag.to_ascii_uppercase()),
                (1.., 4, false) => {
                    let mut chars = subtag.chars();
                    if let Some(first) = chars.next() {
                        out.push(first.to_ascii_uppercase());
                    }
                    out.push_str(&chars.as_str().to_ascii_lowercase());
                }
                _ => out.push_str(&subtag.to_ascii_lowercase()),
            }
        }
        Ok(Self(out))
    }
}

impl TryFrom<String> for Language {
    type Error = PayloadError;

    fn try_from(value: String) -> Result<Self, PayloadError> {
        value.parse()
    }
}

impl From<Language> for String {
    fn from(value: Language) -> String {
        value.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.0)
    }
}

/// The number of unseen messages in an inbox: 0 to 99 999.
///
/// 0 is a real value (it clears the badge) and is always sent to devices.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub struct UnseenCount(u32);

impl UnseenCount {
    /// No unseen messages: clears the badge.
    pub const ZERO: Self = Self(0);
    /// The largest count accepted.
    pub const MAX: u32 = 99_999;

    /// A count, refused above [`UnseenCount::MAX`].
    pub fn new(value: u32) -> Result<Self, PayloadError> {
        if value > Self::MAX {
            return Err(PayloadError::CountOutOfRange {
                value: value.to_string(),
                max: Self::MAX,
            });
        }
        Ok(Self(value))
    }

    /// The count.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether the count is 0.
    pub const fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl TryFrom<u32> for UnseenCount {
    type Error = PayloadError;

    fn try_from(value: u32) -> Result<Self, PayloadError> {
        Self::new(value)
    }
}

impl TryFrom<u64> for UnseenCount {
    type Error = PayloadError;

    fn try_from(value: u64) -> Result<Self, PayloadError> {
        match u32::try_from(value) {
            Ok(small) => Self::new(small),
            Err(_) => Err(PayloadError::CountOutOfRange {
                value: value.to_string(),
                max: Self::MAX,
            }),
        }
    }
}

impl From<UnseenCount> for u32 {
    fn from(value: UnseenCount) -> u32 {
        value.0
    }
}

impl FromStr for UnseenCount {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        let refuse = || PayloadError::CountOutOfRange {
            value: excerpt(text),
            max: Self::MAX,
        };
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        let value: u64 = text.parse().map_err(|_| refuse())?;
        Self::try_from(value)
    }
}

impl fmt::Display for UnseenCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for UnseenCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnseenCount({})", self.0)
    }
}

/// Which data the app should fetch in the background when the notification arrives.
///
/// The wire codes are in [`crate::wire`]; [`BackgroundSyncType::None`] is the default and is
/// left out of the wire form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BackgroundSyncType {
    /// No background fetch: only the badge changes.
    #[default]
    None,
    /// Fetch new mail.
    Email,
    /// Fetch calendar changes.
    Calendar,
    /// Fetch both mail and calendar.
    EmailAndCalendar,
}

impl BackgroundSyncType {
    /// Every variant, in wire-code order.
    pub const ALL: [Self; 4] = [
        Self::None,
        Self::Email,
        Self::Calendar,
        Self::EmailAndCalendar,
    ];

    /// Whether this is the default, [`BackgroundSyncType::None`].
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }
}

/// A point in time in UTC, as carried by `lastSubscriptionUpdate`; years 0 to 9999.
///
/// Its text form is RFC 3339 in UTC (`2024-05-01T09:30:00Z`, with a fraction only when the
/// time has one); parsing accepts any offset and converts to UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The time at these Unix seconds.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, PayloadError> {
        let at = OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| {
            PayloadError::BadTimestamp {
                value: seconds.to_string(),
                source: None,
            }
        })?;
        Self::from_datetime(at)
    }

    /// This time converted to UTC; refused outside years 0 to 9999 (which RFC 3339 cannot write).
    pub fn from_datetime(at: OffsetDateTime) -> Result<Self, PayloadError> {
        let utc = at.to_offset(time::UtcOffset::UTC);
        if !(0..=9999).contains(&utc.year()) {
            return Err(PayloadError::BadTimestamp {
                value: utc.to_string(),
                source: None,
            });
        }
        Ok(Self(utc))
    }

    /// The time, in UTC.
    pub fn as_datetime(&self) -> OffsetDateTime {
        self.0
    }

    /// Whole Unix seconds (rounded down).
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }
}

impl FromStr for Timestamp {
    type Err = PayloadError;

    fn from_str(text: &str) -> Result<Self, PayloadError> {
        let at =
            OffsetDateTime::parse(text, &Rfc3339).map_err(|source| PayloadError::BadTimestamp {
                value: excerpt(text),
                source: Some(source),
            })?;
        Self::from_datetime(at)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The constructor keeps the year within 0..=9999 and the offset at UTC, the only
        // conditions under which RFC 3339 formatting fails; map to fmt::Error regardless.
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tenant_id_canonical_form() {
        let id: TenantId = "72F988BF-86F1-41AF-91AB-2D7CD011DB47".parse().unwrap();
        assert_eq!(id.to_string(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(id, "72f988bf-86f1-41af-91ab-2d7cd011db47".parse().unwrap());
    }

    #[test]
    fn tenant_id_refuses_non_guids() {
        for bad in [
            "",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "72f988bf-86f1-41af-91ab-2d7cd011db4g",
            "72f988bf-86f1-41af-91ab+2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4",
            "+2f988bf-86f1-41af-91ab-2d7cd011db47",
        ] {
            assert!(
                matches!(bad.parse::<TenantId>(), Err(PayloadError::NotGuid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn identifiers_check_length_and_characters() {
        assert!("com.microsoft.Office.Outlook".parse::<AppId>().is_ok());
        assert!(matches!(
            "".parse::<DeviceId>(),
            Err(PayloadError::Empty { .. })
        ));
        assert!(matches!(
            "a b".parse::<DeviceId>(),
            Err(PayloadError::NotPrintable { position: 1, .. })
        ));
        assert!(matches!(
            "é".parse::<InstallationId>(),
            Err(PayloadError::NotPrintable { position: 0, .. })
        ));
        assert!("x".repeat(512).parse::<DeviceId>().is_ok());
        assert!(matches!(
            "x".repeat(513).parse::<DeviceId>(),
            Err(PayloadError::TooLong {
                len: 513,
                max: 512,
                ..
            })
        ));
    }

    #[test]
    fn language_case_is_canonical() {
        let cases = [
            ("ja-jp", "ja-JP"),
            ("EN", "en"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("SR-LATN-rs", "sr-Latn-RS"),
            ("es-419", "es-419"),
            ("en-US-x-Twain", "en-US-x-twain"),
            ("de-CH-1996", "de-CH-1996"),
        ];
        for (given, canonical) in cases {
            assert_eq!(given.parse::<Language>().unwrap().as_str(), canonical);
        }
    }

    #[test]
    fn language_refuses_non_tags() {
        for bad in [
            "",
            "j",
            "ja_JP",
            "ja--JP",
            "ja-",
            "1a-JP",
            "ja-JPJPJPJPJ",
            "日本",
        ] {
            assert!(
                matches!(
                    bad.parse::<Language>(),
                    Err(PayloadError::BadLanguage { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn unseen_count_bounds() {
        assert_eq!(UnseenCount::new(99_999).unwrap().get(), 99_999);
        assert!(matches!(
            UnseenCount::new(100_000),
            Err(PayloadError::CountOutOfRange { max: 99_999, .. })
        ));
        assert!(UnseenCount::try_from(u64::MAX).is_err());
        assert!("-1".parse::<UnseenCount>().is_err());
        assert!("+1".parse::<UnseenCount>().is_err());
        assert_eq!("007".parse::<UnseenCount>().unwrap().get(), 7);
    }

    #[test]
    fn timestamp_normalises_to_utc() {
        let t: Timestamp = "2024-05-01T18:30:00+09:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-05-01T09:30:00Z");
        assert_eq!(t.unix_seconds(), 1_714_555_800);
        assert_eq!(Timestamp::from_unix_seconds(1_714_555_800).unwrap(), t);
        assert!(Timestamp::from_unix_seconds(-62_167_219_201).is_err());
        assert!("2024-05-01 09:30:00".parse::<Timestamp>().is_err());
    }

    proptest! {
        #[test]
        fn tenant_id_text_round_trip(value: u128) {
            let id = TenantId::from_u128(value);
            let text = id.to_string();
            prop_assert_eq!(text.parse::<TenantId>().unwrap(), id);
            prop_assert_eq!(text.to_uppercase().parse::<TenantId>().unwrap(), id);
        }

        #[test]
        fn tenant_id_parser_never_panics(text in "\\PC{0,40}") {
            let _ = text.parse::<TenantId>();
        }

        #[test]
        fn identifiers_accept_exactly_printable(text in "\\PC{0,20}|[!-~]{1,40}") {
            let expected = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
            prop_assert_eq!(text.parse::<DeviceId>().is_ok(), expected);
            if let Ok(id) = text.parse::<AppId>() {
                prop_assert_eq!(id.as_str(), text.as_str());
            }
        }

        #[test]
        fn language_canonical_form_is_stable(text in "[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8}){0,4}") {
            let lang: Language = text.parse().unwrap();
            prop_assert!(lang.as_str().eq_ignore_ascii_case(&text));
            let again: Language = lang.as_str().parse().unwrap();
            prop_assert_eq!(again, lang);
        }

        #[test]
        fn language_parser_never_panics(text in "\\PC{0,70}") {
            let _ = text.parse::<Language>();
        }

        #[test]
        fn unseen_count_text_round_trip(value in 0u32..=200_000) {
            let parsed = value.to_string().parse::<UnseenCount>();
            prop_assert_eq!(parsed.is_ok(), value <= UnseenCount::MAX);
            if let Ok(count) = parsed {
                prop_assert_eq!(count.get(), value);
            }
        }

        #[test]
        fn timestamp_text_round_trip(seconds in -62_167_219_200i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap() + time::Duration::nanoseconds(i64::from(nanos));
            if let Ok(t) = Timestamp::from_datetime(at) {
                prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
            }
        }
    }
}
