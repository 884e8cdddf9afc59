//! [`Ski`]: the subject key identifier written into a new certificate.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::hex;

/// A subject key identifier of 16 bytes, written as 32 hex digits.
///
/// Exchange's setup gives a new OAuth certificate a fresh GUID as its subject key
/// identifier, written without dashes (`[Guid]::NewGuid().ToString("N")`). [`Ski::random`]
/// makes such a value: the 16 bytes of a random (version 4) UUID.
///
/// It parses from 32 hex digits in either case, and also from the dashed GUID form
/// (`8-4-4-4-12`, optionally in braces); it prints as 32 upper-case hex digits, as openssl
/// shows the extension (without its colons).
///
/// ```
/// use pushproxy_cert::Ski;
///
/// let ski: Ski = "0f1e2d3c4b5a69788796a5b4c3d2e1f0".parse()?;
/// assert_eq!(ski.to_string(), "0F1E2D3C4B5A69788796A5B4C3D2E1F0");
/// let dashed: Ski = "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}".parse()?;
/// assert_eq!(dashed, ski);
/// # Ok::<(), pushproxy_cert::Error>(())
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Ski([u8; 16]);

impl Ski {
    /// A new random GUID (UUID version 4, RFC 9562 variant) as 16 bytes.
    pub fn random(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        // Version 4 in the high nibble of byte 6, variant 0b10 in the top bits of byte 8.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidSki {
            input: input.to_owned(),
            reason,
        };
        let text = input.trim();
        let text = match text.strip_prefix('{') {
            Some(inner) => inner
                .strip_suffix('}')
                .ok_or_else(|| invalid("the opening brace has no closing brace".to_owned()))?,
            None => text,
        };
        if text.contains('-') {
            let groups: Vec<&str> = text.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            if lengths != [8, 4, 4, 4, 12] {
                return Err(invalid(
                    "dashes are only accepted in the GUID form 8-4-4-4-12".to_owned(),
                ));
            }
            return hex::decode_exact::<16>(&groups.concat())
                .map(Self)
                .map_err(invalid);
        }
        hex::decode_exact::<16>(text).map(Self).map_err(invalid)
    }
}

impl FromStr for Ski {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Ski {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl TryFrom<&str> for Ski {
    type Error = Error;

    fn try_from(value: &str) -> Result<Self> {
        Self::parse(value)
    }
}

impl From<Ski> for String {
    fn from(value: Ski) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Ski {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(&self.0))
    }
}

impl fmt::Debug for Ski {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ski({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn random_is_a_version_4_guid() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = Ski::random(&mut rng);
        let b = Ski::random(&mut rng);
        assert_ne!(a, b);
        for ski in [a, b] {
            let text = ski.to_string();
            assert_eq!(text.len(), 32);
            assert_eq!(&text[12..13], "4", "{text}");
            assert!(matches!(&text[16..17], "8" | "9" | "A" | "B"), "{text}");
        }
    }

    #[test]
    fn rejections_say_why() {
        let message = "abc".parse::<Ski>().unwrap_err().to_string();
        assert!(message.contains("3 hex digits; exactly 32"), "{message}");
        assert!(message.contains("32 hex digits (a GUID"), "{message}");
        let message = "0f1e2d3c-4b5a69788796a5b4c3d2e1f0"
            .parse::<Ski>()
            .unwrap_err()
            .to_string();
        assert!(message.contains("8-4-4-4-12"), "{message}");
        assert!("{0f1e2d3c4b5a69788796a5b4c3d2e1f0".parse::<Ski>().is_err());
        assert!("0f1e2d3c4b5a69788796a5b4c3d2e1fz".parse::<Ski>().is_err());
    }

    #[test]
    fn serde_as_hex() {
        let ski = Ski::from_bytes([0xab; 16]);
        let json = serde_json::to_string(&ski).unwrap();
        assert_eq!(json, format!("\"{}\"", "AB".repeat(16)));
        assert_eq!(serde_json::from_str::<Ski>(&json).unwrap(), ski);
        assert!(serde_json::from_str::<Ski>("\"AB\"").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(bytes in any::<[u8; 16]>(), lower in any::<bool>()) {
            let ski = Ski::from_bytes(bytes);
            let text = ski.to_string();
            let text = if lower { text.to_lowercase() } else { text };
            prop_assert_eq!(text.parse::<Ski>().unwrap(), ski);
            let dashed = format!(
                "{}-{}-{}-{}-{}",
                &text[..8], &text[8..12], &text[12..16], &text[16..20], &text[20..]
            );
            prop_assert_eq!(dashed.parse::<Ski>().unwrap(), ski);
            prop_assert_eq!(format!("{{{dashed}}}").parse::<Ski>().unwrap(), ski);
        }

        #[test]
        fn wrong_lengths_are_refused(len in (0usize..70).prop_filter("not 32", |l| *l != 32)) {
            prop_assert!("a".repeat(len).parse::<Ski>().is_err());
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,50}") {
            let _ = input.parse::<Ski>();
        }
    }
}
