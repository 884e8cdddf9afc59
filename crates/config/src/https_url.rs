//! [`HttpsUrl`]: an absolute URL that is safe to send a token to.

use core::fmt;
use core::ops::Range;
use core::str::FromStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// The authority (token service) used when none is given: Microsoft's ACS.
pub const DEFAULT_AUTHORITY: &str = "https://accounts.accesscontrol.windows.net";

/// The push-notification service used when `Enable-PushNotificationProxy` is given no `-Uri`.
pub const DEFAULT_PUSH_URI: &str = "https://outlook.office365.com/PushNotifications";

/// The hosts for which plain `http` is accepted, so that a local cloud can run on one machine.
pub const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// An absolute `https` URL (or `http` to a loopback host), without user credentials or
/// fragment.
///
/// The scheme and host are lower-cased and the port written without leading zeros; the rest
/// (path and query) is kept exactly as given, so a normalised URL prints back identically.
/// Characters outside the URL alphabet must be percent-encoded.
///
/// ```
/// use pushproxy_config::HttpsUrl;
///
/// let url: HttpsUrl = "HTTPS://Outlook.Office365.com/PushNotifications".parse()?;
/// assert_eq!(url.as_str(), "https://outlook.office365.com/PushNotifications");
/// assert!("http://127.0.0.1:8080/sts".parse::<HttpsUrl>()?.is_loopback());
///
/// let err = "http://example.com/".parse::<HttpsUrl>().unwrap_err();
/// assert!(err.to_string().contains("plain http is allowed only for a loopback host"));
/// # Ok::<(), pushproxy_config::ConfigError>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpsUrl {
    text: String,
    host: Range<usize>,
    port: Option<u16>,
    /// Where the path (or query) starts; `text.len()` when there is neither.
    rest: usize,
}

impl HttpsUrl {
    /// The default authority, [`DEFAULT_AUTHORITY`].
    pub fn default_authority() -> Self {
        Self::known_good(DEFAULT_AUTHORITY)
    }

    /// The default push-notification service, [`DEFAULT_PUSH_URI`].
    pub fn default_push_uri() -> Self {
        Self::known_good(DEFAULT_PUSH_URI)
    }

    fn known_good(text: &str) -> Self {
        // Only called with the constants above, which the unit test
        // `default_urls_are_valid` parses; parsing them cannot fail.
        text.parse().expect("built-in URL constants are valid")
    }

    /// The normalised text of the URL.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `"https"` or `"http"`.
    pub fn scheme(&self) -> &str {
        if self.text.starts_with("https:") {
            "https"
        } else {
            "http"
        }
    }

    /// The host, lower-cased; an IPv6 address keeps its brackets (`[::1]`).
    pub fn host(&self) -> &str {
        &self.text[self.host.clone()]
    }

    /// The explicit port, if the URL has one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to connect to: the explicit one or the scheme's default.
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme() == "https" { 443 } else { 80 })
    }

    /// The path and query as given (may be empty).
    pub fn path_and_query(&self) -> &str {
        &self.text[self.rest..]
    }

    /// The path without the query (may be empty).
    pub fn path(&self) -> &str {
        let rest = self.path_and_query();
        rest.split_once('?').map_or(rest, |(path, _)| path)
    }

    /// The query without its `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query().split_once('?').map(|(_, q)| q)
    }

    /// Whether the host is one of [`LOOPBACK_HOSTS`].
    pub fn is_loopback(&self) -> bool {
        LOOPBACK_HOSTS.contains(&self.host())
    }

    /// This URL without its query, with its path's trailing slashes removed and `suffix`
    /// appended. `suffix` must consist of URL characters only (the callers in this crate build
    /// it from a fixed path and percent-encoded values).
    pub(crate) fn with_suffix(&self, suffix: &str) -> Self {
        debug_assert!(check_rest(suffix).is_ok(), "suffix {suffix:?}");
        let path = self.path().trim_end_matches('/');
        let mut text = String::with_capacity(self.rest + path.len() + suffix.len());
        text.push_str(&self.text[..self.rest]);
        text.push_str(path);
        text.push_str(suffix);
        // The scheme, host and port are unchanged and valid; the path is a prefix of a valid
        // path and the suffix is made of URL characters, so the result is valid too.
        HttpsUrl {
            text,
            host: self.host.clone(),
            port: self.port,
            rest: self.rest,
        }
    }
}

/// Percent-encodes everything outside the unreserved set (`A-Z a-z 0-9 - . _ ~`), for a value
/// placed in a query.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn invalid(input: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidUrl {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

const SCHEME_RULE: &str =
    "only https is allowed (plain http only for a loopback host: 127.0.0.1, localhost or [::1])";

impl FromStr for HttpsUrl {
    type Err = ConfigError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some((i, c)) = input
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                input,
                format!(
                    "it contains {c:?} at byte {i}; remove it or percent-encode it (a space is %20)"
                ),
            ));
        }
        let Some((scheme, after)) = input.split_once("://") else {
            return Err(invalid(
                input,
                "it is not an absolute URL; it must start with https://",
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        let secure = match scheme.as_str() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(invalid(
                    input,
                    format!("it uses the scheme {scheme:?}; {SCHEME_RULE}"),
                ));
            }
        };
        let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(authority_end);
        if authority.contains('@') {
            return Err(invalid(
                input,
                "it contains user credentials before '@'; credentials do not belong in a URL",
            ));
        }
        let (host, port_text) = split_host_port(input, authority)?;
        let host = check_host(input, host)?;
        let port = match port_text {
            None => None,
            Some(p) => Some(check_port(input, p)?),
        };
        if !secure && !LOOPBACK_HOSTS.contains(&host.as_str()) {
            return Err(invalid(
                input,
                format!(
                    "it uses http with the host {host}; plain http is allowed only for a loopback host (127.0.0.1, localhost or [::1]); use https"
                ),
            ));
        }
        check_rest(rest).map_err(|reason| invalid(input, reason))?;

        let mut text = String::with_capacity(input.len());
        text.push_str(&scheme);
        text.push_str("://");
        let host_start = text.len();
        text.push_str(&host);
        let host_range = host_start..text.len();
        if let Some(p) = port {
            text.push(':');
            text.push_str(&p.to_string());
        }
        let rest_start = text.len();
        text.push_str(rest);
        Ok(HttpsUrl {
            text,
            host: host_range,
            port,
            rest: rest_start,
        })
    }
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port<'a>(
    input: &str,
    authority: &'a str,
) -> Result<(&'a str, Option<&'a str>), ConfigError> {
    if authority.starts_with('[') {
        let Some(close) = authority.find(']') else {
            return Err(invalid(input, "its host has a '[' without the closing ']'"));
        };
        let (host, after) = authority.split_at(close + 1);
        if after.is_empty() {
            Ok((host, None))
        } else if let Some(port) = after.strip_prefix(':') {
            Ok((host, Some(port)))
        } else {
            Err(invalid(
                input,
                format!("{after:?} follows the IPv6 host; only ':port' may follow it"),
            ))
        }
    } else {
        Ok(match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        })
    }
}

/// Checks a host and returns it lower-cased.
fn check_host(input: &str, host: &str) -> Result<String, ConfigError> {
    if host.is_empty() {
        return Err(invalid(input, "it has no host; write https://<host>/..."));
    }
    if let Some(v6) = host.strip_prefix('[') {
        let v6 = v6.strip_suffix(']').unwrap_or(v6);
        return match v6.parse::<Ipv6Addr>() {
            Ok(_) => Ok(host.to_ascii_lowercase()),
            Err(_) => Err(invalid(
                input,
                format!("its host {host} is not an IPv6 address"),
            )),
        };
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match host.parse::<Ipv4Addr>() {
            Ok(_) => Ok(host.to_owned()),
            Err(_) => Err(invalid(
                input,
                format!(
                    "its host {host} is not an IPv4 address (four numbers 0-255 without leading zeros)"
                ),
            )),
        };
    }
    if host.len() > 253 {
        return Err(invalid(
            input,
            format!(
                "its host is {} characters long; at most 253 are allowed",
                host.len()
            ),
        ));
    }
    for label in host.split('.') {
        let problem = if label.is_empty() {
            Some("has an empty label (two dots in a row, or a dot at an end)".to_owned())
        } else if label.len() > 63 {
            Some(format!(
                "has a label of {} characters; at most 63 are allowed",
                label.len()
            ))
        } else if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            Some(format!(
                "contains {c:?}; a host name may contain only letters, digits, '-' and '.' (write an internationalised name in its xn-- form)"
            ))
        } else if label.starts_with('-') || label.ends_with('-') {
            Some(format!(
                "has the label {label:?}, which starts or ends with '-'"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(invalid(input, format!("its host {host:?} {problem}")));
        }
    }
    Ok(host.to_ascii_lowercase())
}

fn check_port(input: &str, port: &str) -> Result<u16, ConfigError> {
    match port.parse::<u16>() {
        Ok(p) if p != 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(invalid(
            input,
            format!("its port {port:?} is not a number from 1 to 65535"),
        )),
    }
}

/// Checks the path and query: URL characters only, well-formed percent escapes, no fragment.
fn check_rest(rest: &str) -> Result<(), String> {
    if let Some(i) = rest.find('#') {
        return Err(format!(
            "it has a fragment ({:?}); remove it, a fragment is never sent to the server",
            &rest[i..]
        ));
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(format!(
                    "it has a '%' at byte {i} of its path that is not followed by two hex digits; write a literal '%' as %25"
                ));
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?'
            );
        if !allowed {
            let c = rest[i..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            return Err(format!(
                "its path or query contains {c:?}, which must be percent-encoded"
            ));
        }
        i += 1;
    }
    Ok(())
}

impl TryFrom<String> for HttpsUrl {
    type Error = ConfigError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<HttpsUrl> for String {
    fn from(value: HttpsUrl) -> Self {
        value.text
    }
}

// The other fields are derived from the text, so the text alone decides equality and order.
impl PartialEq for HttpsUrl {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for HttpsUrl {}

impl core::hash::Hash for HttpsUrl {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for HttpsUrl {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HttpsUrl {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl AsRef<str> for HttpsUrl {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpsUrl({:?})", self.text)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<HttpsUrl, String> {
        s.parse::<HttpsUrl>().map_err(|e| e.to_string())
    }

    #[test]
    fn default_urls_are_valid() {
        assert_eq!(HttpsUrl::default_authority().as_str(), DEFAULT_AUTHORITY);
        assert_eq!(HttpsUrl::default_push_uri().as_str(), DEFAULT_PUSH_URI);
        assert_eq!(
            DEFAULT_AUTHORITY.parse::<HttpsUrl>().unwrap().as_str(),
            DEFAULT_AUTHORITY
        );
    }

    #[test]
    fn parts_are_exposed() {
        let u = parse(
            "https://Accounts.AccessControl.windows.net:8443/metadata/json/1/?realm=Fabrikam.com",
        )
        .unwrap();
        assert_eq!(u.scheme(), "https");
        assert_eq!(u.host(), "accounts.accesscontrol.windows.net");
        assert_eq!(u.port(), Some(8443));
        assert_eq!(u.path(), "/metadata/json/1/");
        assert_eq!(u.query(), Some("realm=Fabrikam.com"));
        assert_eq!(
            u.as_str(),
            "https://accounts.accesscontrol.windows.net:8443/metadata/json/1/?realm=Fabrikam.com"
        );
        let bare = parse("https://a.example").unwrap();
        assert_eq!(bare.path_and_query(), "");
        assert_eq!(bare.port_or_default(), 443);
        assert_eq!(parse("http://[::1]:80").unwrap().port_or_default(), 80);
    }

    #[test]
    fn http_is_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:9000/sts",
            "http://localhost/PushNotifications",
            "http://LOCALHOST:1",
            "http://[::1]:8080/",
            "https://[2001:db8::1]/x",
            "https://192.0.2.1/",
        ] {
            parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(parse("http://127.0.0.1").unwrap().is_loopback());
        assert!(!parse("https://example.com").unwrap().is_loopback());
        let err = parse("http://example.com/").unwrap_err();
        assert!(
            err.contains("plain http is allowed only for a loopback host"),
            "{err}"
        );
        assert!(err.contains("example.com"), "{err}");
        let err = parse("http://127.0.0.2/").unwrap_err();
        assert!(err.contains("use https"), "{err}");
    }

    #[test]
    fn each_problem_is_named() {
        for (input, needle) in [
            ("", "not an absolute URL"),
            (
                "outlook.office365.com/PushNotifications",
                "not an absolute URL",
            ),
            ("ftp://example.com/", "scheme \"ftp\""),
            ("https://", "no host"),
            ("https:///path", "no host"),
            ("https://user:pw@example.com/", "credentials"),
            ("https://exa mple.com/", "' ' at byte 11"),
            ("https://example.com/a\tb", "'\\t'"),
            ("https://example.com:0/", "port \"0\""),
            ("https://example.com:65536/", "port \"65536\""),
            ("https://example.com:/", "port \"\""),
            ("https://example.com:+1/", "port \"+1\""),
            ("https://[::1/", "without the closing"),
            ("https://[::g]/", "not an IPv6 address"),
            ("https://[::1]x/", "only ':port'"),
            ("https://256.0.0.1/", "not an IPv4 address"),
            ("https://01.2.3.4/", "not an IPv4 address"),
            ("https://a..b/", "empty label"),
            ("https://-a.b/", "starts or ends with '-'"),
            ("https://a_b.c/", "contains '_'"),
            ("https://bücher.example/", "xn--"),
            ("https://example.com/a#frag", "fragment (\"#frag\")"),
            ("https://example.com/100%", "'%' at byte 4"),
            ("https://example.com/%zz", "not followed by two hex digits"),
            ("https://example.com/a\"b", "'\"'"),
            ("https://example.com/{x}", "'{'"),
            ("https://example.com/é", "'é'"),
        ] {
            let err = parse(input).map(|u| u.to_string()).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
            assert!(err.contains(&format!("{input:?}")), "{err}");
        }
        let long = format!("https://{}.com/", "a".repeat(64));
        assert!(parse(&long).unwrap_err().contains("63"));
        let long = format!("https://{}com/", "abcdefghi.".repeat(26));
        assert!(parse(&long).unwrap_err().contains("at most 253"));
    }

    #[test]
    fn with_suffix_replaces_query_and_trailing_slashes() {
        let base = parse("https://sts.example:444/tenant//?x=1").unwrap();
        let joined = base.with_suffix("/metadata/json/1/?realm=a.example");
        assert_eq!(
            joined.as_str(),
            "https://sts.example:444/tenant/metadata/json/1/?realm=a.example"
        );
        assert_eq!(joined, parse(joined.as_str()).unwrap());
        assert_eq!(percent_encode("a b/é"), "a%20b%2F%C3%A9");
    }

    /// A strategy for valid, already normalised URLs.
    pub(crate) fn url_strategy() -> impl Strategy<Value = HttpsUrl> {
        let label = "[a-z]([a-z0-9-]{0,10}[a-z0-9])?";
        let host = prop_oneof![
            4 => proptest::collection::vec(label, 1..4).prop_map(|l| l.join(".")),
            1 => any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
            1 => any::<[u16; 8]>().prop_map(|s| format!("[{}]", Ipv6Addr::from(s))),
        ];
        let port = proptest::option::of(1u16..=u16::MAX);
        let rest = "(/[A-Za-z0-9._~!$&'()*+,;=:@-]{0,12}){0,3}(\\?[A-Za-z0-9._~=&/?-]{0,16})?";
        (any::<bool>(), host, port, rest).prop_map(|(secure, host, port, rest)| {
            let host = if secure { host } else { "localhost".to_owned() };
            let scheme = if secure { "https" } else { "http" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{rest}")
                .parse()
                .unwrap_or_else(|e| panic!("strategy made an invalid URL: {e}"))
        })
    }

    proptest! {
        #[test]
        fn valid_urls_print_back_identically(url in url_strategy()) {
            let text = url.to_string();
            let again: HttpsUrl = text.parse().unwrap();
            prop_assert_eq!(again.as_str(), text.as_str());
            prop_assert_eq!(&again, &url);
            let json = serde_json::to_string(&url).unwrap();
            prop_assert_eq!(serde_json::from_str::<HttpsUrl>(&json).unwrap(), url);
        }

        #[test]
        fn scheme_and_host_case_do_not_matter(url in url_strategy()) {
            let shouted = format!(
                "{}://{}{}",
                url.scheme().to_uppercase(),
                url.host().to_uppercase(),
                &url.as_str()[url.scheme().len() + 3 + url.host().len()..]
            );
            prop_assert_eq!(shouted.parse::<HttpsUrl>().unwrap(), url);
        }

        #[test]
        fn http_to_other_hosts_is_refused(url in url_strategy()) {
            prop_assume!(!url.is_loopback());
            let plain = format!("http{}", &url.as_str()[5..]);
            let err = plain.parse::<HttpsUrl>().unwrap_err().to_string();
            prop_assert!(err.contains("plain http"), "{}", err);
        }

        #[test]
        fn a_bad_character_is_refused(url in url_strategy(), bad in "[ \"<>\\\\^`{|}\\x00-\\x1f\\x7f]") {
            let text = format!("{url}{}{bad}", if url.path_and_query().is_empty() { "/" } else { "" });
            prop_assert!(text.parse::<HttpsUrl>().is_err());
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
            if let Ok(url) = text.parse::<HttpsUrl>() {
                prop_assert_eq!(url.to_string().parse::<HttpsUrl>().unwrap(), url);
            }
        }
    }
}
