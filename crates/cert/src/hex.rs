//! Upper-case hex encoding and a lenient-but-checked decoder shared by the value types.

/// Encodes bytes as upper-case hex digits without separators.
pub(crate) fn encode_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The value of one hex digit, either case.
fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `N` bytes from contiguous hex digits (either case).
///
/// On failure returns a short description of the problem, for the caller's error.
pub(crate) fn decode_exact<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = text.as_bytes();
    if let Some(position) = bytes.iter().position(|c| digit(*c).is_none()) {
        let bad = text[position..].chars().next().unwrap_or('?');
        return Err(format!(
            "`{bad}` at position {} is not a hex digit",
            position + 1
        ));
    }
    if bytes.len() != N * 2 {
        return Err(format!(
            "it has {} hex digits; exactly {} are required",
            bytes.len(),
            N * 2
        ));
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        // Both digits were checked above, so the fallbacks are never taken.
        let high = digit(pair[0]).unwrap_or(0);
        let low = digit(pair[1]).unwrap_or(0);
        *slot = (high << 4) | low;
    }
    Ok(out)
}

/// Decodes `N` bytes written either as contiguous hex digits or as two-digit groups
/// separated by one kind of separator (`:` as openssl prints, or a space as Windows shows).
pub(crate) fn decode_grouped<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let separator = text.chars().find(|c| *c == ':' || *c == ' ');
    let Some(separator) = separator else {
        return decode_exact::<N>(text);
    };
    let other = if separator == ':' { ' ' } else { ':' };
    if text.contains(other) {
        return Err("it mixes `:` and space separators; use one kind".to_owned());
    }
    let groups: Vec<&str> = text.split(separator).collect();
    if let Some(group) = groups.iter().find(|group| group.len() != 2) {
        return Err(format!(
            "the group `{group}` does not have two hex digits; separators must sit between every pair of digits"
        ));
    }
    decode_exact::<N>(&groups.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_upper_case() {
        assert_eq!(encode_upper(&[0x00, 0xab, 0x7f, 0xff]), "00AB7FFF");
        assert_eq!(encode_upper(&[]), "");
    }

    #[test]
    fn decodes_either_case() {
        assert_eq!(decode_exact::<2>("aBcD"), Ok([0xab, 0xcd]));
    }

    #[test]
    fn rejects_wrong_length_and_bad_digit() {
        assert!(
            decode_exact::<2>("abc")
                .unwrap_err()
                .contains("3 hex digits")
        );
        assert!(decode_exact::<2>("abxd").unwrap_err().contains("`x`"));
    }

    #[test]
    fn grouped_forms() {
        assert_eq!(decode_grouped::<2>("ab:cd"), Ok([0xab, 0xcd]));
        assert_eq!(decode_grouped::<2>("ab cd"), Ok([0xab, 0xcd]));
        assert_eq!(decode_grouped::<2>("abcd"), Ok([0xab, 0xcd]));
        assert!(decode_grouped::<2>("ab:c:d").is_err());
        assert!(decode_grouped::<2>("ab: cd").is_err());
        assert!(decode_grouped::<2>("abc:d").is_err());
    }
}
