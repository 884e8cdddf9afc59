//! Finding PEM blocks in files that hold more than one thing (a certificate and its key,
//! bag attributes printed by `openssl pkcs12`, explanatory text before or after).

/// One `-----BEGIN <label>----- ... -----END <label>-----` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block<'a> {
    /// The label, e.g. `CERTIFICATE`.
    pub(crate) label: &'a str,
    /// The whole block, boundaries included, ready for a strict PEM decoder.
    pub(crate) text: &'a str,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// All well-delimited blocks of `text`, in order. A `BEGIN` without its matching `END`
/// is skipped.
pub(crate) fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut found = Vec::new();
    let mut rest_start = 0;
    while let Some(offset) = text[rest_start..].find(BEGIN) {
        let start = rest_start + offset;
        let after_begin = start + BEGIN.len();
        let Some(label_len) = text[after_begin..].find(DASHES) else {
            break;
        };
        let label = &text[after_begin..after_begin + label_len];
        if label.contains('\n') {
            rest_start = after_begin;
            continue;
        }
        let end_marker = format!("{END}{label}{DASHES}");
        let body_start = after_begin + label_len + DASHES.len();
        match text[body_start..].find(&end_marker) {
            Some(end_offset) => {
                let end = body_start + end_offset + end_marker.len();
                found.push(Block {
                    label,
                    text: &text[start..end],
                });
                rest_start = end;
            }
            None => rest_start = body_start,
        }
    }
    found
}

/// Whether the bytes look like PEM rather than DER (DER starts with a SEQUENCE tag).
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii_start();
    trimmed.first() != Some(&0x30) && std::str::from_utf8(bytes).is_ok_and(|t| t.contains(BEGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_among_other_text() {
        let text = "Bag Attributes\n    friendlyName: x\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\njunk\n-----BEGIN RSA PRIVATE KEY-----\nBBBB\n-----END RSA PRIVATE KEY-----\n";
        let found = blocks(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].label, "CERTIFICATE");
        assert_eq!(
            found[0].text,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
        );
        assert_eq!(found[1].label, "RSA PRIVATE KEY");
    }

    #[test]
    fn skips_unterminated_blocks() {
        let text = "-----BEGIN CERTIFICATE-----\nAAAA\n-----BEGIN X-----\nB\n-----END X-----";
        let found = blocks(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].label, "X");
        assert!(blocks("-----BEGIN CERT").is_empty());
        assert!(blocks("").is_empty());
    }

    #[test]
    fn sniffs_pem_and_der() {
        assert!(looks_like_pem(b"\n-----BEGIN CERTIFICATE-----"));
        assert!(!looks_like_pem(&[0x30, 0x82, 0x01]));
        assert!(!looks_like_pem(b"hello"));
        assert!(!looks_like_pem(&[0xff, 0xfe]));
    }
}
