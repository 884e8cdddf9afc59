//! [`Services`]: the Exchange services a certificate is assigned to.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::str::FromStr;

use crate::error::{Error, Result};

/// A set of Exchange services a certificate is assigned to, as the certificate store of
/// Exchange keeps them (`AllowedServices`): `None`, `IIS`, `SMTP`, `IMAP`, `POP`, `UM`,
/// `Federation`, `UMCallRouter`.
///
/// It prints like Exchange does, in Exchange's own order (`IMAP, POP, SMTP`), and `None`
/// for the empty set. It parses from a comma-separated list in any order and case.
///
/// ```
/// use pushproxy_cert::Services;
///
/// let services: Services = "smtp, imap,POP".parse()?;
/// assert_eq!(services.to_string(), "IMAP, POP, SMTP");
/// assert!(services.contains(Services::SMTP));
/// assert_eq!(Services::default().to_string(), "None");
/// # Ok::<(), pushproxy_cert::Error>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Services(u8);

/// The flags in Exchange's order, with their names.
const NAMES: [(Services, &str); 7] = [
    (Services::IMAP, "IMAP"),
    (Services::POP, "POP"),
    (Services::UM, "UM"),
    (Services::IIS, "IIS"),
    (Services::SMTP, "SMTP"),
    (Services::FEDERATION, "Federation"),
    (Services::UM_CALL_ROUTER, "UMCallRouter"),
];

impl Services {
    /// No service.
    pub const NONE: Self = Self(0);
    /// IMAP4.
    pub const IMAP: Self = Self(1);
    /// POP3.
    pub const POP: Self = Self(1 << 1);
    /// Unified Messaging.
    pub const UM: Self = Self(1 << 2);
    /// The web server (OWA, EWS, ActiveSync).
    pub const IIS: Self = Self(1 << 3);
    /// SMTP transport.
    pub const SMTP: Self = Self(1 << 4);
    /// Federation and server-to-server OAuth.
    pub const FEDERATION: Self = Self(1 << 5);
    /// The Unified Messaging call router.
    pub const UM_CALL_ROUTER: Self = Self(1 << 6);

    /// Whether every service of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` have a service in common.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no service is assigned.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The services of `self` and `other` together.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The single services in this set, in Exchange's order, with their names.
    pub fn iter(self) -> impl Iterator<Item = (Self, &'static str)> {
        NAMES
            .into_iter()
            .filter(move |(flag, _)| self.contains(*flag))
    }

    fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidServices {
            input: input.to_owned(),
            reason,
        };
        if input.trim().is_empty() {
            return Err(invalid(
                "the list is empty; write `None` for no service".to_owned(),
            ));
        }
        let mut services = Self::NONE;
        for item in input.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(invalid("the list has an empty item".to_owned()));
            }
            if item.eq_ignore_ascii_case("None") {
                continue;
            }
            let flag = NAMES
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(item))
                .map(|(flag, _)| *flag)
                .ok_or_else(|| invalid(format!("`{item}` is not an Exchange service")))?;
            services |= flag;
        }
        Ok(services)
    }
}

impl BitOr for Services {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for Services {
    fn bitor_assign(&mut self, rhs: Self) {
        *self = self.union(rhs);
    }
}

impl FromStr for Services {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Services {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<Services> for String {
    fn from(value: Services) -> Self {
        value.to_string()
    }
}

impl fmt::Display for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("None");
        }
        for (index, (_, name)) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Services({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_in_exchange_order() {
        let services = Services::SMTP | Services::POP | Services::IMAP;
        assert_eq!(services.to_string(), "IMAP, POP, SMTP");
        assert_eq!(
            (Services::FEDERATION | Services::IIS).to_string(),
            "IIS, Federation"
        );
        assert_eq!(Services::NONE.to_string(), "None");
    }

    #[test]
    fn parses_lists() {
        assert_eq!(
            "Federation".parse::<Services>().unwrap(),
            Services::FEDERATION
        );
        assert_eq!(
            " umcallrouter ,UM".parse::<Services>().unwrap(),
            Services::UM | Services::UM_CALL_ROUTER
        );
        assert_eq!("None".parse::<Services>().unwrap(), Services::NONE);
        assert_eq!("None, SMTP".parse::<Services>().unwrap(), Services::SMTP);
        assert_eq!("SMTP,SMTP".parse::<Services>().unwrap(), Services::SMTP);
    }

    #[test]
    fn rejections_say_why() {
        let message = "SMTP, HTTP".parse::<Services>().unwrap_err().to_string();
        assert!(
            message.contains("`HTTP` is not an Exchange service"),
            "{message}"
        );
        assert!(message.contains("UMCallRouter"), "{message}");
        assert!(
            "".parse::<Services>()
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!("SMTP,,IIS".parse::<Services>().is_err());
    }

    #[test]
    fn set_operations() {
        let s = Services::SMTP | Services::IIS;
        assert!(s.contains(Services::SMTP));
        assert!(!s.contains(Services::SMTP | Services::FEDERATION));
        assert!(s.intersects(Services::SMTP | Services::FEDERATION));
        assert!(!s.intersects(Services::FEDERATION));
        assert!(s.contains(Services::NONE));
        assert!(Services::default().is_empty());
    }

    #[test]
    fn serde_as_text() {
        let s = Services::SMTP | Services::FEDERATION;
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"SMTP, Federation\"");
        assert_eq!(serde_json::from_str::<Services>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Services>("\"Web\"").is_err());
    }

    fn services() -> impl Strategy<Value = Services> {
        (0u8..128).prop_map(Services)
    }

    proptest! {
        #[test]
        fn round_trips(services in services()) {
            prop_assert_eq!(services.to_string().parse::<Services>().unwrap(), services);
        }

        #[test]
        fn parses_any_order_and_case(services in services(), seed in any::<u64>()) {
            let mut names: Vec<String> = services.iter().map(|(_, n)| n.to_owned()).collect();
            // A deterministic shuffle and case change driven by the seed.
            names.sort_by_key(|n| (seed.rotate_left(n.len() as u32)) ^ n.len() as u64);
            let names: Vec<String> = names
                .into_iter()
                .enumerate()
                .map(|(i, n)| if (seed >> i) & 1 == 1 { n.to_lowercase() } else { n.to_uppercase() })
                .collect();
            let text = if names.is_empty() { "none".to_owned() } else { names.join(" , ") };
            prop_assert_eq!(text.parse::<Services>().unwrap(), services);
        }

        #[test]
        fn unknown_names_are_refused(name in "[A-Za-z]{1,12}") {
            let known = name.eq_ignore_ascii_case("none")
                || NAMES.iter().any(|(_, n)| n.eq_ignore_ascii_case(&name));
            prop_assert_eq!(name.parse::<Services>().is_ok(), known);
        }
    }
}
