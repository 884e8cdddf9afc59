//! The Windows (WNS) badge, for comparison with APNs: `<badge value="N"/>`.
//!
//! The number is always written as it is, 0 included: 0 clears the badge, and a device shows
//! any number above 99 as "99+" by itself, so no capping happens here.
//!
//! ```
//! use pushproxy_payload::wns::WnsBadge;
//! use pushproxy_payload::UnseenCount;
//!
//! let badge = WnsBadge::new(UnseenCount::new(120)?);
//! assert_eq!(badge.to_xml(), r#"<badge value="120"/>"#); // the device shows 99+
//! assert_eq!(WnsBadge::from_xml(&badge.to_xml())?, badge);
//! # Ok::<(), pushproxy_payload::PayloadError>(())
//! ```

use crate::error::{PayloadError, excerpt};
use crate::types::UnseenCount;

/// A WNS badge notification carrying an unseen count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WnsBadge(UnseenCount);

impl WnsBadge {
    /// The content type of the request body.
    pub const CONTENT_TYPE: &'static str = "text/xml";
    /// The `X-WNS-Type` header value for badges.
    pub const WNS_TYPE: &'static str = "wns/badge";

    const OPEN: &'static str = "<badge value=\"";
    const CLOSE: &'static str = "\"/>";

    /// A badge showing `count`.
    pub fn new(count: UnseenCount) -> Self {
        Self(count)
    }

    /// The count.
    pub fn count(self) -> UnseenCount {
        self.0
    }

    /// The XML document.
    pub fn to_xml(self) -> String {
        format!("{}{}{}", Self::OPEN, self.0, Self::CLOSE)
    }

    /// Reads a document in exactly the form [`WnsBadge::to_xml`] writes.
    pub fn from_xml(text: &str) -> Result<Self, PayloadError> {
        let refuse = || PayloadError::BadWnsBadge {
            value: excerpt(text),
        };
        let digits = text
            .strip_prefix(Self::OPEN)
            .and_then(|rest| rest.strip_suffix(Self::CLOSE))
            .ok_or_else(refuse)?;
        let count = digits.parse::<UnseenCount>().map_err(|_| refuse())?;
        Ok(Self(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_is_written() {
        assert_eq!(
            WnsBadge::new(UnseenCount::ZERO).to_xml(),
            r#"<badge value="0"/>"#
        );
    }

    #[test]
    fn malformed_documents_are_refused() {
        for bad in [
            "",
            "<badge/>",
            r#"<badge value=""/>"#,
            r#"<badge value="-1"/>"#,
            r#"<badge value="none"/>"#,
            r#"<badge value="1">"#,
        ] {
            assert!(WnsBadge::from_xml(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(count in 0u32..=UnseenCount::MAX) {
            let badge = WnsBadge::new(UnseenCount::new(count).unwrap());
            prop_assert_eq!(WnsBadge::from_xml(&badge.to_xml()).unwrap(), badge);
        }

        #[test]
        fn reader_never_panics(text in "\\PC{0,40}") {
            let _ = WnsBadge::from_xml(&text);
        }
    }
}
