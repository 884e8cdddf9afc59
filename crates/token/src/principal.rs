//! Who a token names: principals (`<id>@<realm>`) and audiences (`<id>/<host>@<realm>`).
//!
//! In the Microsoft S2S profile every party is a *principal id* (a GUID, such as Exchange's
//! `00000002-0000-0ff1-ce00-000000000000`) qualified by a *realm*, the tenant id (also a
//! GUID). An audience adds the host the token is meant for. The realm `*` appears only in
//! patterns such as the `trusted_issuers` of a `WWW-Authenticate` challenge; it is never a
//! valid realm inside a token (the claim parser refuses it).
//!
//! Every type here parses with [`FromStr`] and prints with [`Display`](fmt::Display); the
//! printed form parses back to the same value. GUIDs and host names are case-insensitive
//! and print in lower case, the form Microsoft uses.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits in either case on
/// input, lower case on output).
///
/// ```
/// use pushproxy_token::principal::{Guid, well_known};
///
/// let id: Guid = "00000002-0000-0FF1-CE00-000000000000".parse()?;
/// assert_eq!(id, well_known::EXCHANGE);
/// assert_eq!(id.to_string(), "00000002-0000-0ff1-ce00-000000000000");
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Guid(u128);

impl Guid {
    /// The GUID whose 32 hex digits, read as one big-endian number, are `value`.
    pub const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The GUID as one big-endian number.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

/// Positions of the dashes in the 36-character form.
const DASHES: [usize; 4] = [8, 13, 18, 23];

impl FromStr for Guid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidGuid {
            input: s.to_owned(),
            reason,
        };
        if s.len() != 36 {
            return Err(invalid(format!(
                "it has {} characters; a GUID has 36, like 00000002-0000-0ff1-ce00-000000000000",
                s.chars().count()
            )));
        }
        let mut value: u128 = 0;
        for (at, c) in s.bytes().enumerate() {
            if DASHES.contains(&at) {
                if c != b'-' {
                    return Err(invalid(format!(
                        "position {} must be `-` (the form is 8-4-4-4-12 hex digits)",
                        at + 1
                    )));
                }
                continue;
            }
            let digit = char::from(c).to_digit(16).ok_or_else(|| {
                invalid(format!(
                    "`{}` at position {} is not a hex digit",
                    char::from(c).escape_default(),
                    at + 1
                ))
            })?;
            value = (value << 4) | u128::from(digit);
        }
        Ok(Self(value))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            v >> 96,
            (v >> 80) & 0xffff,
            (v >> 64) & 0xffff,
            (v >> 48) & 0xffff,
            v & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// Well-known principal ids and hosts of the Microsoft cloud.
pub mod well_known {
    use super::Guid;

    /// The token service (Azure Access Control Service, ACS).
    pub const ACS: Guid = Guid::from_u128(0x00000001_0000_0000_c000_000000000000);
    /// Exchange (on-premises and online): the issuer of the proxy's tokens.
    pub const EXCHANGE: Guid = Guid::from_u128(0x00000002_0000_0ff1_ce00_000000000000);
    /// SharePoint.
    pub const SHAREPOINT: Guid = Guid::from_u128(0x00000003_0000_0ff1_ce00_000000000000);
    /// Lync / Skype for Business.
    pub const LYNC: Guid = Guid::from_u128(0x00000004_0000_0ff1_ce00_000000000000);
    /// The issuer id a protected resource names in the `trusted_issuers` of its
    /// `WWW-Authenticate: Bearer` challenge (`00000001-0001-0000-c000-000000000000@*`).
    pub const TRUSTED_ISSUER: Guid = Guid::from_u128(0x00000001_0001_0000_c000_000000000000);

    /// The host of the token service.
    pub const ACS_HOST: &str = "accounts.accesscontrol.windows.net";
    /// The host of Exchange Online and of the push-notification service.
    pub const EXCHANGE_ONLINE_HOST: &str = "outlook.office365.com";
}

/// The realm of a principal: a tenant id, or `*` (any tenant) in patterns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Realm {
    /// One tenant.
    Tenant(Guid),
    /// Any tenant; written `*`. Only meaningful in patterns, never inside a token.
    Any,
}

impl Realm {
    /// The tenant id, unless this is the `*` pattern.
    pub const fn tenant(self) -> Option<Guid> {
        match self {
            Self::Tenant(id) => Some(id),
            Self::Any => None,
        }
    }

    /// Whether `found` is accepted by this realm used as a pattern: `*` accepts every
    /// tenant, a tenant accepts only itself.
    pub fn matches(self, found: Self) -> bool {
        match self {
            Self::Any => true,
            Self::Tenant(_) => self == found,
        }
    }
}

impl From<Guid> for Realm {
    fn from(id: Guid) -> Self {
        Self::Tenant(id)
    }
}

impl FromStr for Realm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s == "*" {
            Ok(Self::Any)
        } else {
            s.parse().map(Self::Tenant)
        }
    }
}

impl fmt::Display for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(id) => id.fmt(f),
            Self::Any => f.write_str("*"),
        }
    }
}

/// A principal, written `<id>@<realm>`: who issued a token (`iss`) or whom it names
/// (`nameid`).
///
/// ```
/// use pushproxy_token::principal::{Principal, Realm, well_known};
///
/// let p: Principal = "00000002-0000-0ff1-ce00-000000000000@*".parse()?;
/// assert_eq!(p.id, well_known::EXCHANGE);
/// assert_eq!(p.realm, Realm::Any);
/// let tenant = "4d2a1b3c-0000-4000-8000-00000000abcd".parse()?;
/// assert!(p.matches(&Principal::new(well_known::EXCHANGE, Realm::Tenant(tenant))));
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Principal {
    /// The principal id.
    pub id: Guid,
    /// The realm (tenant).
    pub realm: Realm,
}

impl Principal {
    /// The principal `id@realm`.
    pub const fn new(id: Guid, realm: Realm) -> Self {
        Self { id, realm }
    }

    /// Whether `found` is accepted by this principal used as a pattern: same id, and a
    /// realm accepted by [`Realm::matches`].
    pub fn matches(&self, found: &Self) -> bool {
        self.id == found.id && self.realm.matches(found.realm)
    }
}

impl FromStr for Principal {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidPrincipal {
            input: s.to_owned(),
            reason,
        };
        let (id, realm) = s.split_once('@').ok_or_else(|| {
            invalid("it has no `@`; write <principal id>@<realm>, like 00000002-0000-0ff1-ce00-000000000000@<tenant id>".to_owned())
        })?;
        let id = id
            .parse()
            .map_err(|e| invalid(format!("its principal id is wrong: {e}")))?;
        let realm = realm
            .parse()
            .map_err(|e| invalid(format!("its realm is wrong (a tenant id or `*`): {e}")))?;
        Ok(Self { id, realm })
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.realm)
    }
}

/// A host name with an optional port, as it appears in an audience: DNS labels of
/// letters, digits and `-` separated by dots (stored in lower case), then `:<port>`
/// optionally.
///
/// ```
/// use pushproxy_token::principal::Host;
///
/// let host: Host = "Outlook.Office365.com".parse()?;
/// assert_eq!(host.as_str(), "outlook.office365.com");
/// assert!("localhost:8443".parse::<Host>().is_ok());
/// assert!("bad/host".parse::<Host>().is_err());
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Host(String);

impl Host {
    /// The host as text (lower case).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Host {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidHost {
            input: s.to_owned(),
            reason,
        };
        let (name, port) = match s.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (s, None),
        };
        if name.is_empty() {
            return Err(invalid("the host name is empty".to_owned()));
        }
        if name.len() > 253 {
            return Err(invalid(format!(
                "the host name has {} characters; at most 253 are allowed",
                name.len()
            )));
        }
        for label in name.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(invalid(
                    "every dot-separated label must have 1 to 63 characters".to_owned(),
                ));
            }
            if let Some(bad) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(invalid(format!(
                    "`{}` is not allowed; use letters, digits, `-` and `.`",
                    bad.escape_default()
                )));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(invalid("a label must not begin or end with `-`".to_owned()));
            }
        }
        if let Some(port) = port {
            let valid = !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && !port.starts_with('0')
                && port.parse::<u16>().is_ok();
            if !valid {
                return Err(invalid(format!(
                    "port `{}` must be a number from 1 to 65535",
                    port.escape_default()
                )));
            }
        }
        Ok(Self(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Host({})", self.0)
    }
}

/// An audience, written `<id>/<host>@<realm>`: the principal a token is meant for, at a
/// host.
///
/// ```
/// use pushproxy_token::principal::{Audience, well_known};
///
/// let aud: Audience =
///     "00000002-0000-0ff1-ce00-000000000000/outlook.office365.com@4d2a1b3c-0000-4000-8000-00000000abcd"
///         .parse()?;
/// assert_eq!(aud.id, well_known::EXCHANGE);
/// assert_eq!(aud.host.as_str(), well_known::EXCHANGE_ONLINE_HOST);
/// assert_eq!(aud.to_string().parse::<Audience>()?, aud);
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Audience {
    /// The principal id of the recipient.
    pub id: Guid,
    /// The host the token is meant for.
    pub host: Host,
    /// The realm (tenant).
    pub realm: Realm,
}

impl Audience {
    /// The audience `id/host@realm`.
    pub const fn new(id: Guid, host: Host, realm: Realm) -> Self {
        Self { id, host, realm }
    }

    /// The principal part, `id@realm`.
    pub const fn principal(&self) -> Principal {
        Principal::new(self.id, self.realm)
    }

    /// Whether `found` is accepted by this audience used as a pattern: same id and host,
    /// and a realm accepted by [`Realm::matches`].
    pub fn matches(&self, found: &Self) -> bool {
        self.id == found.id && self.host == found.host && self.realm.matches(found.realm)
    }
}

impl FromStr for Audience {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidAudience {
            input: s.to_owned(),
            reason,
        };
        let (left, realm) = s.split_once('@').ok_or_else(|| {
            invalid("it has no `@`; write <principal id>/<host>@<realm>".to_owned())
        })?;
        let (id, host) = left.split_once('/').ok_or_else(|| {
            invalid("it has no `/` before the host; write <principal id>/<host>@<realm>".to_owned())
        })?;
        let id = id
            .parse()
            .map_err(|e| invalid(format!("its principal id is wrong: {e}")))?;
        let host = host
            .parse()
            .map_err(|e| invalid(format!("its host is wrong: {e}")))?;
        let realm = realm
            .parse()
            .map_err(|e| invalid(format!("its realm is wrong (a tenant id or `*`): {e}")))?;
        Ok(Self { id, host, realm })
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.id, self.host, self.realm)
    }
}

macro_rules! string_conversions {
    ($($type:ty),*) => {$(
        impl TryFrom<String> for $type {
            type Error = Error;

            fn try_from(value: String) -> Result<Self, Error> {
                value.parse()
            }
        }

        impl TryFrom<&str> for $type {
            type Error = Error;

            fn try_from(value: &str) -> Result<Self, Error> {
                value.parse()
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.to_string()
            }
        }
    )*};
}

string_conversions!(Guid, Host, Principal, Audience);

#[cfg(test)]
pub(crate) mod strategies {
    //! Generators of valid values in their canonical (printed) form.
    use super::*;
    use proptest::prelude::*;

    pub fn guid() -> impl Strategy<Value = Guid> {
        any::<u128>().prop_map(Guid::from_u128)
    }

    pub fn tenant() -> impl Strategy<Value = Realm> {
        guid().prop_map(Realm::Tenant)
    }

    pub fn realm() -> impl Strategy<Value = Realm> {
        prop_oneof![4 => tenant(), 1 => Just(Realm::Any)]
    }

    pub fn host() -> impl Strategy<Value = Host> {
        (
            proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1..4),
            proptest::option::of(1u16..),
        )
            .prop_map(|(labels, port)| {
                let name = labels.join(".");
                let text = match port {
                    Some(port) => format!("{name}:{port}"),
                    None => name,
                };
                text.parse().expect("generated hosts are valid")
            })
    }

    pub fn principal() -> impl Strategy<Value = Principal> {
        (guid(), realm()).prop_map(|(id, realm)| Principal::new(id, realm))
    }

    pub fn tenant_principal() -> impl Strategy<Value = Principal> {
        (guid(), tenant()).prop_map(|(id, realm)| Principal::new(id, realm))
    }

    pub fn audience() -> impl Strategy<Value = Audience> {
        (guid(), host(), realm()).prop_map(|(id, host, realm)| Audience::new(id, host, realm))
    }

    pub fn tenant_audience() -> impl Strategy<Value = Audience> {
        (guid(), host(), tenant()).prop_map(|(id, host, realm)| Audience::new(id, host, realm))
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use proptest::prelude::*;

    const TENANT: &str = "4d2a1b3c-0000-4000-8000-00000000abcd";

    #[test]
    fn well_known_ids_print_as_documented() {
        assert_eq!(
            well_known::ACS.to_string(),
            "00000001-0000-0000-c000-000000000000"
        );
        assert_eq!(
            well_known::EXCHANGE.to_string(),
            "00000002-0000-0ff1-ce00-000000000000"
        );
        assert_eq!(
            well_known::SHAREPOINT.to_string(),
            "00000003-0000-0ff1-ce00-000000000000"
        );
        assert_eq!(
            well_known::LYNC.to_string(),
            "00000004-0000-0ff1-ce00-000000000000"
        );
        assert_eq!(
            well_known::TRUSTED_ISSUER.to_string(),
            "00000001-0001-0000-c000-000000000000"
        );
    }

    #[test]
    fn guid_rejections_say_why() {
        let e = "0000000200000ff1ce00000000000000"
            .parse::<Guid>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("32 characters; a GUID has 36"), "{e}");
        let e = "00000002-0000-0ff1-ce00_000000000000"
            .parse::<Guid>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("position 24 must be `-`"), "{e}");
        let e = "0000000g-0000-0ff1-ce00-000000000000"
            .parse::<Guid>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("`g` at position 8"), "{e}");
        // A multi-byte character of the right byte length is not a hex digit either.
        assert!(
            "é0000002-0000-0ff1-ce00-00000000000"
                .parse::<Guid>()
                .is_err()
        );
    }

    #[test]
    fn upper_case_is_read_and_printed_lower() {
        let g: Guid = "ABCDEF01-2345-6789-ABCD-EF0123456789".parse().unwrap();
        assert_eq!(g.to_string(), "abcdef01-2345-6789-abcd-ef0123456789");
        assert_eq!(g.as_u128(), 0xabcdef01_2345_6789_abcd_ef0123456789);
        let h: Host = "LOCALHOST:8443".parse().unwrap();
        assert_eq!(h.to_string(), "localhost:8443");
    }

    #[test]
    fn principal_and_audience_forms() {
        let p: Principal = format!("00000002-0000-0ff1-ce00-000000000000@{TENANT}")
            .parse()
            .unwrap();
        assert_eq!(p.id, well_known::EXCHANGE);
        assert_eq!(p.realm.tenant().unwrap().to_string(), TENANT);
        let e = "00000002-0000-0ff1-ce00-000000000000"
            .parse::<Principal>()
            .unwrap_err();
        assert!(e.to_string().contains("no `@`"), "{e}");
        let e = "00000002-0000-0ff1-ce00-000000000000@contoso.com"
            .parse::<Principal>()
            .unwrap_err();
        assert!(e.to_string().contains("its realm is wrong"), "{e}");
        let a: Audience = format!(
            "00000001-0000-0000-c000-000000000000/accounts.accesscontrol.windows.net@{TENANT}"
        )
        .parse()
        .unwrap();
        assert_eq!(a.id, well_known::ACS);
        assert_eq!(a.principal(), Principal::new(well_known::ACS, a.realm));
        let e = format!("00000001-0000-0000-c000-000000000000@{TENANT}")
            .parse::<Audience>()
            .unwrap_err();
        assert!(e.to_string().contains("no `/`"), "{e}");
        assert!(
            format!("{}/a/b@{TENANT}", well_known::ACS)
                .parse::<Audience>()
                .is_err()
        );
        assert!(
            format!("{}/a@{TENANT}@x", well_known::ACS)
                .parse::<Audience>()
                .is_err()
        );
    }

    #[test]
    fn host_rejections() {
        for bad in [
            "", ".", "a..b", "-a", "a-", "a_b", "a:0", "a:65536", "a:", "a:08", ":80", "a b",
            "a/b", "a@b",
        ] {
            assert!(bad.parse::<Host>().is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            "localhost",
            "127.0.0.1:1",
            "xn--bcher-kva.example",
            "a:65535",
        ] {
            assert!(good.parse::<Host>().is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn wildcard_realm_matches_every_tenant_but_not_the_reverse() {
        let tenant: Realm = TENANT.parse().unwrap();
        let other = Realm::Tenant(Guid::from_u128(7));
        assert!(Realm::Any.matches(tenant));
        assert!(tenant.matches(tenant));
        assert!(!tenant.matches(other));
        assert!(!tenant.matches(Realm::Any));
    }

    #[test]
    fn serde_through_the_text_form() {
        let p = Principal::new(well_known::EXCHANGE, Realm::Any);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"00000002-0000-0ff1-ce00-000000000000@*\"");
        assert_eq!(serde_json::from_str::<Principal>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Principal>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn guid_round_trips(g in guid()) {
            let text = g.to_string();
            prop_assert_eq!(text.parse::<Guid>().unwrap(), g);
            prop_assert_eq!(text.to_uppercase().parse::<Guid>().unwrap(), g);
        }

        #[test]
        fn principal_round_trips(p in principal()) {
            let text = p.to_string();
            let back: Principal = text.parse().unwrap();
            prop_assert_eq!(back, p);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn audience_round_trips(a in audience()) {
            let text = a.to_string();
            let back: Audience = text.parse().unwrap();
            prop_assert_eq!(back.to_string(), text);
            prop_assert_eq!(back, a);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,90}") {
            let _ = s.parse::<Guid>();
            let _ = s.parse::<Host>();
            let _ = s.parse::<Principal>();
            let _ = s.parse::<Audience>();
        }

        #[test]
        fn a_changed_character_is_refused_or_changes_the_value(a in tenant_audience(), at in 0usize..200, c in "[!-~]") {
            let text = a.to_string();
            let at = at % text.len();
            let mut changed = text.clone();
            changed.replace_range(at..=at, &c);
            if let Ok(back) = changed.parse::<Audience>() {
                // Accepted only if it is a different audience, or the same text up to case.
                prop_assert!(back != a || changed.eq_ignore_ascii_case(&text));
            }
        }
    }
}
