//! [`Guid`]: a GUID (UUID) as Exchange prints it.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// A GUID, parsed from the hyphenated `8-4-4-4-12` form or from 32 hex digits (the .NET `"N"`
/// form), in either case. It is printed lower-case and hyphenated, as Exchange prints
/// `Guid : 8b567958-58a4-403c-a8f0-524d7f1e9279`.
///
/// The crate never draws random numbers: a new GUID is built with
/// [`Guid::from_random_bytes`] from 16 bytes the caller took from its own random source.
///
/// ```
/// use pushproxy_config::Guid;
///
/// let g: Guid = "8B56795858A4403CA8F0524D7F1E9279".parse()?;
/// assert_eq!(g.to_string(), "8b567958-58a4-403c-a8f0-524d7f1e9279");
/// assert_eq!(g.to_simple_string(), "8b56795858a4403ca8f0524d7f1e9279");
/// # Ok::<(), pushproxy_config::ConfigError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Guid([u8; 16]);

/// The positions of the hyphens in the `8-4-4-4-12` form.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl Guid {
    /// The all-zero GUID.
    pub const NIL: Guid = Guid([0; 16]);

    /// A GUID from its 16 bytes, in the order they are printed.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Guid(bytes)
    }

    /// A version-4 (random) GUID from 16 random bytes supplied by the caller: the version
    /// nibble is set to 4 and the variant bits to the RFC 9562 variant, the other 122 bits are
    /// kept.
    pub const fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Guid(bytes)
    }

    /// The 16 bytes, in the order they are printed.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The version nibble (4 for a random GUID).
    pub const fn version(&self) -> u8 {
        self.0[6] >> 4
    }

    /// The 32 lower-case hex digits without hyphens (the .NET `ToString("N")` form, used for
    /// the certificate's subject key identifier).
    pub fn to_simple_string(&self) -> String {
        let mut out = String::with_capacity(32);
        for b in self.0 {
            push_hex(&mut out, b);
        }
        out
    }
}

fn push_hex(out: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(char::from(DIGITS[usize::from(b >> 4)]));
    out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidGuid {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

impl FromStr for Guid {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = s.as_bytes();
        let digits: Vec<u8> = match raw.len() {
            32 => raw.to_vec(),
            36 => {
                for (i, &c) in raw.iter().enumerate() {
                    let want_hyphen = HYPHENS.contains(&i);
                    if want_hyphen != (c == b'-') {
                        return Err(invalid(
                            s,
                            format!(
                                "character {} should be {}",
                                i + 1,
                                if want_hyphen { "'-'" } else { "a hex digit" }
                            ),
                        ));
                    }
                }
                raw.iter().copied().filter(|&c| c != b'-').collect()
            }
            n => {
                return Err(invalid(
                    s,
                    format!(
                        "it has {n} characters; write it as 8-4-4-4-12 hex digits with hyphens (36 characters) or as 32 hex digits"
                    ),
                ));
            }
        };
        let mut bytes = [0u8; 16];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(invalid(
                    s,
                    "it contains a character that is not a hex digit",
                ));
            };
            bytes[i] = (hi << 4) | lo;
        }
        Ok(Guid(bytes))
    }
}

impl TryFrom<String> for Guid {
    type Error = ConfigError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Guid> for String {
    fn from(value: Guid) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let simple = self.to_simple_string();
        // `simple` is 32 ASCII hex digits, so every slice below is on a char boundary.
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &simple[0..8],
            &simple[8..12],
            &simple[12..16],
            &simple[16..20],
            &simple[20..32]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_forms_and_prints_hyphenated_lower_case() {
        let a: Guid = "8b567958-58a4-403c-a8f0-524d7f1e9279".parse().unwrap();
        let b: Guid = "8B56795858A4403CA8F0524D7F1E9279".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(b.to_string(), "8b567958-58a4-403c-a8f0-524d7f1e9279");
        assert_eq!(a.as_bytes()[0], 0x8b);
        assert_eq!(a.version(), 4);
    }

    #[test]
    fn rejects_bad_forms_with_a_reason() {
        for (input, needle) in [
            ("", "0 characters"),
            ("8b567958-58a4-403c-a8f0-524d7f1e927", "35 characters"),
            (
                "8b567958_58a4-403c-a8f0-524d7f1e9279",
                "character 9 should be '-'",
            ),
            (
                "8b567958-58a4-403c-a8f0-524d7f1e92-9",
                "character 35 should be a hex",
            ),
            ("8b56795858a4403ca8f0524d7f1e927g", "not a hex digit"),
            (
                "{8b567958-58a4-403c-a8f0-524d7f1e92}",
                "character 9 should be '-'",
            ),
            ("8b567958-58a4-403c-a8f0-524d7f1e9279 ", "37 characters"),
        ] {
            let err = input.parse::<Guid>().unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
            assert!(err.contains(&format!("{input:?}")), "{err}");
        }
    }

    #[test]
    fn random_bytes_become_a_version_4_guid() {
        let g = Guid::from_random_bytes([0xff; 16]);
        assert_eq!(g.to_string(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let g = Guid::from_random_bytes([0; 16]);
        assert_eq!(g.to_string(), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn serde_is_the_string_form() {
        let g: Guid = "00000002-0000-0ff1-ce00-000000000000".parse().unwrap();
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, "\"00000002-0000-0ff1-ce00-000000000000\"");
        assert_eq!(serde_json::from_str::<Guid>(&json).unwrap(), g);
        let err = serde_json::from_str::<Guid>("\"nope\"").unwrap_err();
        assert!(err.to_string().contains("4 characters"), "{err}");
    }

    proptest! {
        #[test]
        fn hyphenated_form_round_trips(bytes in any::<[u8; 16]>()) {
            let g = Guid::from_bytes(bytes);
            let text = g.to_string();
            prop_assert_eq!(text.len(), 36);
            prop_assert_eq!(text.parse::<Guid>().unwrap(), g);
            prop_assert_eq!(g.to_simple_string().parse::<Guid>().unwrap(), g);
            prop_assert_eq!(text.to_uppercase().parse::<Guid>().unwrap(), g);
            let json = serde_json::to_string(&g).unwrap();
            prop_assert_eq!(serde_json::from_str::<Guid>(&json).unwrap(), g);
        }

        #[test]
        fn valid_text_prints_back_identically(text in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
            prop_assert_eq!(text.parse::<Guid>().unwrap().to_string(), text);
        }

        #[test]
        fn random_guids_are_version_4(bytes in any::<[u8; 16]>()) {
            let g = Guid::from_random_bytes(bytes);
            prop_assert_eq!(g.version(), 4);
            prop_assert_eq!(g.as_bytes()[8] >> 6, 0b10);
            let text = g.to_string();
            prop_assert_eq!(&text[14..15], "4");
        }

        #[test]
        fn anything_else_is_refused(text in "\\PC{0,40}") {
            let looks_valid = (text.len() == 32 && text.bytes().all(|c| c.is_ascii_hexdigit()))
                || (text.len() == 36
                    && text.bytes().enumerate().all(|(i, c)| {
                        if HYPHENS.contains(&i) { c == b'-' } else { c.is_ascii_hexdigit() }
                    }));
            prop_assert_eq!(text.parse::<Guid>().is_ok(), looks_valid);
        }
    }
}
