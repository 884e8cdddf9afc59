//! Times: Unix seconds inside, RFC 3339 text in documents.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::CloudError;

/// The date of `seconds`, if it is within the years 1 to 9999.
pub(crate) fn datetime(seconds: i64) -> Result<OffsetDateTime, CloudError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or(CloudError::TimeOutOfRange { seconds })
}

/// `seconds` as RFC 3339 text in UTC, or the number itself if it cannot be written.
pub(crate) fn rfc3339(seconds: i64) -> String {
    datetime(seconds)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{seconds} (Unix seconds)"))
}

/// Serde for Unix seconds written as RFC 3339 text.
pub(crate) mod text {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(crate) fn serialize<S: Serializer>(
        seconds: &i64,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let at = super::datetime(*seconds).map_err(serde::ser::Error::custom)?;
        let text = at.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(OffsetDateTime::unix_timestamp)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an RFC 3339 date like 2026-01-01T00:00:00Z: {e}"
                ))
            })
    }

    /// The same for an optional time.
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            seconds: &Option<i64>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match seconds {
                Some(seconds) => super::serialize(seconds, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<i64>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] i64);
            Ok(Option::<Wrap>::deserialize(deserializer)?.map(|Wrap(seconds)| seconds))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct At {
        #[serde(with = "text")]
        at: i64,
        #[serde(with = "text::option", default)]
        maybe: Option<i64>,
    }

    #[test]
    fn out_of_range_times_are_refused() {
        assert!(datetime(i64::MAX).is_err());
        assert!(datetime(-62_135_596_801).is_err()); // the second before year 1
        assert!(datetime(0).is_ok());
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), format!("{} (Unix seconds)", i64::MAX));
        let error = serde_json::to_string(&At {
            at: i64::MAX,
            maybe: None,
        })
        .unwrap_err();
        assert!(error.to_string().contains("outside the years"), "{error}");
    }

    #[test]
    fn text_that_is_not_a_date_is_refused() {
        let error = serde_json::from_str::<At>(r#"{"at":"yesterday"}"#).unwrap_err();
        assert!(
            error.to_string().contains("not an RFC 3339 date"),
            "{error}"
        );
    }

    proptest! {
        #[test]
        fn round_trips(at in -62_135_596_800i64..253_402_300_799, maybe in proptest::option::of(0i64..4_102_444_800)) {
            let value = At { at, maybe };
            let json = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(serde_json::from_str::<At>(&json).unwrap(), value);
        }
    }
}
