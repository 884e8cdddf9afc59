//! Certificate thumbprints: [`Thumbprint`] (SHA-1, what Exchange and `x5t` use) and
//! [`Sha256Thumbprint`] (SHA-256, `x5t#S256`).

use std::fmt;
use std::str::FromStr;

use base64ct::{Base64UrlUnpadded, Encoding};
use sha1::Digest;

use crate::error::{Error, Result};
use crate::hex;

/// Removes an openssl label such as `SHA1 Fingerprint=` or `sha256 Fingerprint=`.
fn strip_label<'a>(text: &'a str, algorithm: &str) -> &'a str {
    let text = text.trim();
    match text.split_once('=') {
        Some((label, rest))
            if label
                .trim()
                .eq_ignore_ascii_case(&format!("{algorithm} Fingerprint")) =>
        {
            rest.trim()
        }
        _ => text,
    }
}

/// Decodes unpadded base64url into exactly `N` bytes.
fn decode_x5t<const N: usize>(input: &str, kind: &str) -> Result<[u8; N]> {
    let invalid = |reason: String| Error::InvalidThumbprint {
        input: input.to_owned(),
        reason,
    };
    let bytes = Base64UrlUnpadded::decode_vec(input).map_err(|_| {
        invalid(format!(
            "it is not unpadded base64url; an {kind} value looks like hOBcHZi846VCHSJbFAs26Go9VTQ"
        ))
    })?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        invalid(format!(
            "it decodes to {} bytes; an {kind} value holds exactly {N}",
            bytes.len()
        ))
    })
}

/// The SHA-1 thumbprint of a certificate: the SHA-1 digest of its DER encoding.
///
/// This is what Exchange shows as `Thumbprint` and stores in
/// `AuthConfig.CurrentCertificateThumbprint`, and what a token header carries as `x5t`.
/// It prints as 40 upper-case hex digits; it parses from 40 hex digits in either case,
/// also grouped with `:` (openssl's `SHA1 Fingerprint=75:95:...`) or spaces.
///
/// ```
/// use pushproxy_cert::Thumbprint;
///
/// let t: Thumbprint = "84:e0:5c:1d:98:bc:e3:a5:42:1d:22:5b:14:0b:36:e8:6a:3d:55:34".parse()?;
/// assert_eq!(t.to_string(), "84E05C1D98BCE3A5421D225B140B36E86A3D5534");
/// assert_eq!(t.x5t(), "hOBcHZi846VCHSJbFAs26Go9VTQ");
/// assert_eq!(Thumbprint::from_x5t("hOBcHZi846VCHSJbFAs26Go9VTQ")?, t);
/// # Ok::<(), pushproxy_cert::Error>(())
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Thumbprint([u8; 20]);

impl Thumbprint {
    /// The thumbprint of the certificate whose DER encoding is `der`.
    pub fn of_der(der: &[u8]) -> Self {
        Self(sha1::Sha1::digest(der).into())
    }

    /// Wraps 20 digest bytes.
    pub const fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// The 20 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The `x5t` form: base64url without padding of the 20 bytes.
    pub fn x5t(&self) -> String {
        Base64UrlUnpadded::encode_string(&self.0)
    }

    /// Reads the `x5t` form back.
    pub fn from_x5t(x5t: &str) -> Result<Self> {
        decode_x5t::<20>(x5t, "x5t").map(Self)
    }

    /// The thumbprint as openssl prints it: upper-case hex pairs joined by `:`.
    pub fn to_colon_hex(&self) -> String {
        colon_hex(&self.0)
    }
}

/// Upper-case hex pairs joined by `:`.
fn colon_hex(bytes: &[u8]) -> String {
    let plain = hex::encode_upper(bytes);
    let pairs: Vec<&str> = plain
        .as_bytes()
        .chunks(2)
        // Upper-case hex is ASCII, so every chunk is valid UTF-8.
        .map(|pair| std::str::from_utf8(pair).unwrap_or_default())
        .collect();
    pairs.join(":")
}

/// The SHA-256 thumbprint of a certificate: the SHA-256 digest of its DER encoding,
/// carried in token headers as `x5t#S256`. Same textual forms as [`Thumbprint`], with 64
/// hex digits.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Thumbprint([u8; 32]);

impl Sha256Thumbprint {
    /// The thumbprint of the certificate whose DER encoding is `der`.
    pub fn of_der(der: &[u8]) -> Self {
        Self(sha2::Sha256::digest(der).into())
    }

    /// Wraps 32 digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The `x5t#S256` form: base64url without padding of the 32 bytes.
    pub fn x5t_s256(&self) -> String {
        Base64UrlUnpadded::encode_string(&self.0)
    }

    /// Reads the `x5t#S256` form back.
    pub fn from_x5t_s256(x5t: &str) -> Result<Self> {
        decode_x5t::<32>(x5t, "x5t#S256").map(Self)
    }

    /// The thumbprint as openssl prints it: upper-case hex pairs joined by `:`.
    pub fn to_colon_hex(&self) -> String {
        colon_hex(&self.0)
    }
}

macro_rules! text_forms {
    ($type:ident, $len:literal, $label:literal) => {
        impl FromStr for $type {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                let text = strip_label(s, $label);
                hex::decode_grouped::<$len>(text)
                    .map(Self)
                    .map_err(|reason| Error::InvalidThumbprint {
                        input: s.to_owned(),
                        reason,
                    })
            }
        }

        impl TryFrom<String> for $type {
            type Error = Error;

            fn try_from(value: String) -> Result<Self> {
                value.parse()
            }
        }

        impl TryFrom<&str> for $type {
            type Error = Error;

            fn try_from(value: &str) -> Result<Self> {
                value.parse()
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.to_string()
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode_upper(&self.0))
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($type), "({})"), self)
            }
        }
    };
}

text_forms!(Thumbprint, 20, "SHA1");
text_forms!(Sha256Thumbprint, 32, "SHA256");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "84E05C1D98BCE3A5421D225B140B36E86A3D5534";

    #[test]
    fn x5t_of_the_documented_example() {
        let t: Thumbprint = HEX.parse().unwrap();
        assert_eq!(t.x5t(), "hOBcHZi846VCHSJbFAs26Go9VTQ");
        assert_eq!(
            Thumbprint::from_x5t("hOBcHZi846VCHSJbFAs26Go9VTQ").unwrap(),
            t
        );
    }

    #[test]
    fn of_der_is_sha1_and_sha256() {
        // Digests of the empty input, from FIPS 180 test vectors.
        assert_eq!(
            Thumbprint::of_der(b"").to_string(),
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
        );
        assert_eq!(
            Thumbprint::of_der(b"abc").to_string(),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert_eq!(
            Sha256Thumbprint::of_der(b"abc").to_string(),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn accepts_openssl_and_windows_forms() {
        let t: Thumbprint = HEX.parse().unwrap();
        let colon = t.to_colon_hex();
        assert_eq!(&colon[..6], "84:E0:");
        assert_eq!(colon.parse::<Thumbprint>().unwrap(), t);
        assert_eq!(
            format!("SHA1 Fingerprint={colon}\n")
                .parse::<Thumbprint>()
                .unwrap(),
            t
        );
        assert_eq!(
            format!("sha1 Fingerprint={}", colon.to_lowercase())
                .parse::<Thumbprint>()
                .unwrap(),
            t
        );
        assert_eq!(colon.replace(':', " ").parse::<Thumbprint>().unwrap(), t);
        assert_eq!(HEX.to_lowercase().parse::<Thumbprint>().unwrap(), t);
    }

    #[test]
    fn rejections_say_why() {
        let short = &HEX[..38];
        let message = short.parse::<Thumbprint>().unwrap_err().to_string();
        assert!(message.contains("38 hex digits; exactly 40"), "{message}");
        let message = format!("{}G", &HEX[..39])
            .parse::<Thumbprint>()
            .unwrap_err()
            .to_string();
        assert!(message.contains("`G` at position 40"), "{message}");
        let message = HEX.parse::<Sha256Thumbprint>().unwrap_err().to_string();
        assert!(message.contains("exactly 64"), "{message}");
        // The SHA-256 label is not a SHA-1 label.
        assert!(
            format!("SHA256 Fingerprint={HEX}")
                .parse::<Thumbprint>()
                .is_err()
        );
        let message = Thumbprint::from_x5t("hOBcHZi846VCHSJbFAs26Go9VT")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("base64url") || message.contains("bytes"),
            "{message}"
        );
        let message = Thumbprint::from_x5t("AAAA").unwrap_err().to_string();
        assert!(message.contains("3 bytes"), "{message}");
        assert!(Thumbprint::from_x5t("hOBcHZi846VCHSJbFAs26Go9VTQ=").is_err());
        assert!(Thumbprint::from_x5t("hOBcHZi846VCHSJbFAs26Go9VTQ+").is_err());
    }

    #[test]
    fn serde_as_hex_string() {
        let t: Thumbprint = HEX.to_lowercase().parse().unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{HEX}\""));
        let back: Thumbprint = serde_json::from_str(&format!("\"{HEX}\"")).unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_str::<Thumbprint>("\"00\"").is_err());
        let s = Sha256Thumbprint::of_der(b"x");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Sha256Thumbprint>(&json).unwrap(), s);
    }

    #[test]
    fn debug_shows_hex() {
        let t: Thumbprint = HEX.parse().unwrap();
        assert_eq!(format!("{t:?}"), format!("Thumbprint({HEX})"));
    }

    proptest! {
        #[test]
        fn sha1_text_forms_round_trip(bytes in any::<[u8; 20]>(), lower in any::<bool>()) {
            let t = Thumbprint::from_bytes(bytes);
            let text = t.to_string();
            prop_assert_eq!(text.len(), 40);
            prop_assert!(text.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
            let text = if lower { text.to_lowercase() } else { text };
            prop_assert_eq!(text.parse::<Thumbprint>().unwrap(), t);
            prop_assert_eq!(t.to_colon_hex().parse::<Thumbprint>().unwrap(), t);
            prop_assert_eq!(Thumbprint::from_x5t(&t.x5t()).unwrap(), t);
            prop_assert_eq!(t.x5t().len(), 27);
        }

        #[test]
        fn sha256_text_forms_round_trip(bytes in any::<[u8; 32]>()) {
            let t = Sha256Thumbprint::from_bytes(bytes);
            prop_assert_eq!(t.to_string().parse::<Sha256Thumbprint>().unwrap(), t);
            prop_assert_eq!(t.to_colon_hex().parse::<Sha256Thumbprint>().unwrap(), t);
            prop_assert_eq!(Sha256Thumbprint::from_x5t_s256(&t.x5t_s256()).unwrap(), t);
        }

        #[test]
        fn wrong_lengths_are_refused(len in (0usize..60).prop_filter("not 40", |l| *l != 40)) {
            let text = "A".repeat(len);
            prop_assert!(text.parse::<Thumbprint>().is_err());
        }

        #[test]
        fn non_hex_is_refused(bytes in any::<[u8; 20]>(), at in 0usize..40, bad in "[g-zG-Z!#_.-]") {
            let mut text = Thumbprint::from_bytes(bytes).to_string();
            text.replace_range(at..=at, &bad);
            prop_assert!(text.parse::<Thumbprint>().is_err());
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,80}") {
            let _ = input.parse::<Thumbprint>();
            let _ = Thumbprint::from_x5t(&input);
        }
    }
}
