//! [`DnsName`]: a checked DNS domain name such as `contoso.com`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The longest domain name allowed, in characters, without a trailing dot.
const MAX_NAME_LEN: usize = 253;
/// The longest label allowed, in characters.
const MAX_LABEL_LEN: usize = 63;

/// A DNS domain name like `contoso.com`, as an organisation's domain or a certificate's
/// subject.
///
/// Construction checks the name and lower-cases it, so two values compare equal exactly
/// when DNS would treat them as the same name:
///
/// - every label has 1 to 63 letters, digits or hyphens, and neither starts nor ends with
///   a hyphen (RFC 1123);
/// - there are at least two labels, and the last one is not all digits (that would be an
///   IPv4 address, not a domain);
/// - the whole name has at most 253 characters and no trailing dot.
///
/// ```
/// use pushproxy_cert::DnsName;
///
/// let name: DnsName = "Mail.Contoso.COM".parse()?;
/// assert_eq!(name.as_ref(), "mail.contoso.com");
/// assert!("contoso".parse::<DnsName>().is_err());
/// # Ok::<(), pushproxy_cert::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DnsName(String);

impl DnsName {
    /// The name as a string slice (lower case).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels of the name, from left to right.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// Whether `pattern`, a DNS name as found in a certificate, names this domain: either
    /// the same name (ignoring case) or a wildcard `*.parent` whose parent is this name's
    /// parent (a wildcard covers exactly one label, as RFC 6125 says).
    pub fn is_matched_by(&self, pattern: &str) -> bool {
        let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
        if let Some(parent) = pattern.strip_prefix("*.") {
            // A wildcard covering a top-level domain (`*.com`) is never accepted.
            if !parent.contains('.') {
                return false;
            }
            return self
                .0
                .split_once('.')
                .is_some_and(|(_, own_parent)| own_parent == parent);
        }
        pattern == self.0
    }

    fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidDnsName {
            input: input.to_owned(),
            reason,
        };
        if input.is_empty() {
            return Err(invalid(
                "is empty; give a domain such as contoso.com".to_owned(),
            ));
        }
        if input.ends_with('.') {
            return Err(invalid(
                "ends with a dot; write the domain without the trailing dot".to_owned(),
            ));
        }
        if input.len() > MAX_NAME_LEN {
            return Err(invalid(format!(
                "is {} characters long; at most {MAX_NAME_LEN} are allowed",
                input.len()
            )));
        }
        let labels: Vec<&str> = input.split('.').collect();
        for label in &labels {
            check_label(label).map_err(invalid)?;
        }
        if labels.len() < 2 {
            return Err(invalid(
                "has a single label; give a full domain such as contoso.com".to_owned(),
            ));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid(
                "ends in an all-numeric label, like an IP address; give a domain name".to_owned(),
            ));
        }
        Ok(Self(input.to_ascii_lowercase()))
    }
}

/// Checks one label; the error text follows the domain in the message.
fn check_label(label: &str) -> std::result::Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label".to_owned());
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "contains `{bad}` in the label `{label}`; only letters, digits and hyphens are allowed"
        ));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!(
            "has a label of {} characters; at most {MAX_LABEL_LEN} are allowed",
            label.len()
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "has the label `{label}` starting or ending with a hyphen"
        ));
    }
    Ok(())
}

impl FromStr for DnsName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DnsName {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl TryFrom<&str> for DnsName {
    type Error = Error;

    fn try_from(value: &str) -> Result<Self> {
        Self::parse(value)
    }
}

impl From<DnsName> for String {
    fn from(name: DnsName) -> Self {
        name.0
    }
}

impl AsRef<str> for DnsName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    #[test]
    fn accepts_and_lower_cases() {
        assert_eq!(name("contoso.com").as_str(), "contoso.com");
        assert_eq!(name("Mail.CONTOSO.com").to_string(), "mail.contoso.com");
        assert_eq!(name("a-b.c0.de").as_str(), "a-b.c0.de");
        assert_eq!(name("123.example").as_str(), "123.example");
    }

    #[test]
    fn rejection_messages_name_the_problem() {
        let cases = [
            ("a..b", "domain `a..b` has an empty label"),
            ("", "is empty"),
            ("contoso", "single label"),
            ("contoso.com.", "trailing dot"),
            ("-a.com", "starting or ending with a hyphen"),
            ("a-.com", "starting or ending with a hyphen"),
            ("a_b.com", "contains `_`"),
            ("*.contoso.com", "contains `*`"),
            ("1.2.3.4", "IP address"),
            ("bücher.de", "contains `ü`"),
        ];
        for (input, expected) in cases {
            let message = input.parse::<DnsName>().unwrap_err().to_string();
            assert!(
                message.contains(expected),
                "{input:?}: {message:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn length_limits() {
        let label63 = "a".repeat(63);
        assert!(format!("{label63}.com").parse::<DnsName>().is_ok());
        let label64 = "a".repeat(64);
        let message = format!("{label64}.com")
            .parse::<DnsName>()
            .unwrap_err()
            .to_string();
        assert!(message.contains("64 characters"), "{message}");
        // 4 labels of 63 plus 3 dots = 255 characters.
        let long = [label63.as_str(); 4].join(".");
        let message = long.parse::<DnsName>().unwrap_err().to_string();
        assert!(message.contains("255 characters"), "{message}");
        let fits = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(fits.parse::<DnsName>().is_ok());
    }

    #[test]
    fn wildcard_matching() {
        let mail = name("mail.contoso.com");
        assert!(mail.is_matched_by("mail.contoso.com"));
        assert!(mail.is_matched_by("MAIL.Contoso.com."));
        assert!(mail.is_matched_by("*.contoso.com"));
        assert!(!mail.is_matched_by("*.mail.contoso.com"));
        assert!(!mail.is_matched_by("contoso.com"));
        let apex = name("contoso.com");
        assert!(!apex.is_matched_by("*.com"));
        assert!(!apex.is_matched_by("*.contoso.com"));
    }

    #[test]
    fn serde_goes_through_the_constructor() {
        let json = serde_json::to_string(&name("Contoso.com")).unwrap();
        assert_eq!(json, "\"contoso.com\"");
        let back: DnsName = serde_json::from_str("\"MAIL.contoso.com\"").unwrap();
        assert_eq!(back, name("mail.contoso.com"));
        let error = serde_json::from_str::<DnsName>("\"a..b\"").unwrap_err();
        assert!(error.to_string().contains("empty label"), "{error}");
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?"
    }

    fn domain() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(label(), 1..4),
            "[a-zA-Z][a-zA-Z0-9]{1,10}",
        )
            .prop_map(|(mut labels, tld)| {
                labels.push(tld);
                labels.join(".")
            })
    }

    proptest! {
        #[test]
        fn round_trips_through_display(input in domain()) {
            let parsed: DnsName = input.parse().unwrap();
            prop_assert_eq!(parsed.as_str(), input.to_ascii_lowercase());
            let again: DnsName = parsed.to_string().parse().unwrap();
            prop_assert_eq!(again, parsed);
        }

        #[test]
        fn rejects_any_forbidden_character(
            input in domain(),
            position in any::<prop::sample::Index>(),
            bad in "[^a-zA-Z0-9.-]",
        ) {
            let mut chars: Vec<char> = input.chars().collect();
            let at = position.index(chars.len());
            chars[at] = bad.chars().next().unwrap();
            let broken: String = chars.into_iter().collect();
            prop_assert!(broken.parse::<DnsName>().is_err());
        }

        #[test]
        fn rejects_empty_labels_and_edge_hyphens(input in domain(), which in 0usize..4) {
            let broken = match which {
                0 => format!("{input}."),
                1 => format!(".{input}"),
                2 => input.replacen('.', "..", 1),
                _ => format!("-{input}"),
            };
            prop_assert!(broken.parse::<DnsName>().is_err());
        }

        #[test]
        fn never_panics(input in "\\PC{0,80}") {
            if let Ok(name) = input.parse::<DnsName>() {
                prop_assert!(name.as_str().len() <= MAX_NAME_LEN);
                prop_assert_eq!(name.as_str(), input.to_ascii_lowercase());
            }
        }
    }
}
