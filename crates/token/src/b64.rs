//! Strict unpadded base64url (RFC 4648 §5), as JWS compact serialisation requires.
//!
//! Strict means: only the 64 characters of the URL-safe alphabet, no `=` padding, no
//! whitespace, a length that can come from encoding (never 1 modulo 4), and canonical
//! trailing bits (the unused low bits of the last character are zero). Every accepted
//! text is then the one and only encoding of its bytes, so changing any character of a
//! token changes the bytes it stands for.

use base64ct::{Base64UrlUnpadded, Encoding};

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes strict unpadded base64url; `None` if the text is not the canonical encoding of
/// any byte string.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    if !is_canonical(text) {
        return None;
    }
    Base64UrlUnpadded::decode_vec(text).ok()
}

/// The value of one base64url character, if it belongs to the alphabet.
fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Checks the alphabet, the length and the trailing bits without decoding.
fn is_canonical(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.iter().all(|&c| value(c).is_some()) {
        return false;
    }
    // Two characters carry 12 bits for one byte (4 unused), three carry 18 bits for two
    // bytes (2 unused); a lone character cannot carry a whole byte.
    let unused_mask = match bytes.len() % 4 {
        0 => return true,
        1 => return false,
        2 => 0b1111,
        _ => 0b11,
    };
    match bytes.last().copied().and_then(value) {
        Some(last) => last & unused_mask == 0,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        assert_eq!(decode("-_8").unwrap(), b"\xfb\xff");
        assert_eq!(decode("QQ").unwrap(), b"A");
    }

    #[test]
    fn non_canonical_and_foreign_text_is_refused() {
        // "QR" would decode to "A" in a lenient decoder: the low bits are not zero.
        assert!(decode("QR").is_none());
        assert!(decode("QUJ").is_none());
        assert!(decode("QUI").is_some());
        for bad in ["QQ==", "Q", "QQ=", "+/8", "Q Q", "QQ\n", "é"] {
            assert!(decode(bad).is_none(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let text = encode(&bytes);
            prop_assert!(!text.contains('='));
            prop_assert_eq!(decode(&text).unwrap(), bytes);
        }

        #[test]
        fn whatever_decodes_is_the_canonical_encoding(text in "[A-Za-z0-9_=+/-]{0,12}") {
            if let Some(bytes) = decode(&text) {
                prop_assert_eq!(encode(&bytes), text);
            }
        }
    }
}
