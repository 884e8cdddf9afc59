//! [`ServiceUrl`]: the address the local cloud is reached at, as its documents advertise it.

use std::fmt;
use std::str::FromStr;

use pushproxy_token::principal::Host;

use crate::CloudError;

/// The base URL of the local cloud, such as `http://127.0.0.1:8080` or
/// `https://sts.example.com/cloud`: `http` or `https`, a host (with an optional port) and
/// an optional path prefix, without user name, query or fragment.
///
/// The host (with its port) is what tokens name: the token service's assertions are
/// addressed to `00000001-0000-0000-c000-000000000000/<host>@<tenant>`. Host names are
/// kept in lower case and a trailing `/` is dropped, so the printed form is canonical.
///
/// ```
/// use pushproxy_cloud::ServiceUrl;
///
/// let url: ServiceUrl = "HTTP://LocalHost:8080/cloud/".parse()?;
/// assert_eq!(url.to_string(), "http://localhost:8080/cloud");
/// assert_eq!(url.host().as_str(), "localhost:8080");
/// assert_eq!(url.join("/healthz"), "http://localhost:8080/cloud/healthz");
/// assert!("ftp://example.com".parse::<ServiceUrl>().is_err());
/// # Ok::<(), pushproxy_cloud::CloudError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceUrl {
    secure: bool,
    host: Host,
    path: String,
}

impl ServiceUrl {
    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.secure
    }

    /// The host and port, as tokens name them.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The path prefix: empty, or starting with `/` and not ending with one.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The URL of `path` (which should start with `/`) below this one.
    pub fn join(&self, path: &str) -> String {
        let separator = if path.starts_with('/') { "" } else { "/" };
        format!("{self}{separator}{path}")
    }
}

impl FromStr for ServiceUrl {
    type Err = CloudError;

    fn from_str(input: &str) -> Result<Self, CloudError> {
        let invalid = |reason: &str| CloudError::InvalidServiceUrl {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = input
            .split_once("://")
            .ok_or_else(|| invalid("it has no scheme; write http://host:port or https://host"))?;
        let secure = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err(invalid("the scheme must be http or https"));
        };
        if let Some(bad) = rest.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(CloudError::InvalidServiceUrl {
                input: input.to_owned(),
                reason: format!(
                    "it contains `{}`; only printable ASCII without spaces is allowed",
                    bad.escape_default()
                ),
            });
        }
        if rest.contains(['?', '#']) {
            return Err(invalid(
                "it has a query or fragment; give only scheme, host, port and path",
            ));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(invalid(
                "it has a user name; give only scheme, host, port and path",
            ));
        }
        let host: Host = authority.parse().map_err(|e: pushproxy_token::Error| {
            CloudError::InvalidServiceUrl {
                input: input.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let path = path.trim_end_matches('/');
        if path.contains("//") {
            return Err(invalid("its path has an empty segment (`//`)"));
        }
        Ok(Self {
            secure,
            host,
            path: path.to_owned(),
        })
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.host, self.path)
    }
}

impl fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceUrl({self})")
    }
}

impl TryFrom<String> for ServiceUrl {
    type Error = CloudError;

    fn try_from(value: String) -> Result<Self, CloudError> {
        value.parse()
    }
}

impl From<ServiceUrl> for String {
    fn from(value: ServiceUrl) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepted_forms() {
        for (input, printed, host) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                "127.0.0.1:8080",
            ),
            (
                "https://Sts.Example.COM/",
                "https://sts.example.com",
                "sts.example.com",
            ),
            (
                "http://localhost/a/b//",
                "http://localhost/a/b",
                "localhost",
            ),
        ] {
            let url: ServiceUrl = input.parse().unwrap();
            assert_eq!(url.to_string(), printed);
            assert_eq!(url.host().as_str(), host);
        }
    }

    #[test]
    fn refused_forms_say_why() {
        for (input, reason) in [
            ("127.0.0.1:8080", "no scheme"),
            ("ftp://x.example", "http or https"),
            ("http://x.example/a b", "printable ASCII"),
            ("http://x.example/?a=1", "query"),
            ("http://u@x.example", "user name"),
            ("http://x.example/a//b", "empty segment"),
            ("http://", "empty"),
            ("http://x.example:99999", "port"),
        ] {
            let error = input.parse::<ServiceUrl>().unwrap_err().to_string();
            assert!(error.contains(reason), "{input}: {error}");
        }
    }

    #[test]
    fn join_puts_one_slash_between() {
        let url: ServiceUrl = "http://localhost:1/base".parse().unwrap();
        assert_eq!(url.join("/x"), "http://localhost:1/base/x");
        assert_eq!(url.join("x"), "http://localhost:1/base/x");
    }

    proptest! {
        #[test]
        fn printed_form_parses_back(
            secure in any::<bool>(),
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 1..4),
            port in proptest::option::of(1u16..),
            path in proptest::collection::vec("[A-Za-z0-9._~-]{1,8}", 0..3),
        ) {
            let scheme = if secure { "https" } else { "http" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let path: String = path.iter().map(|s| format!("/{s}")).collect();
            let text = format!("{scheme}://{}{port}{path}", labels.join("."));
            let url: ServiceUrl = text.parse().unwrap();
            prop_assert_eq!(url.to_string(), text.clone());
            prop_assert_eq!(url.to_string().parse::<ServiceUrl>().unwrap(), url.clone());
            let json = serde_json::to_string(&url).unwrap();
            prop_assert_eq!(serde_json::from_str::<ServiceUrl>(&json).unwrap(), url);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,60}") {
            let _ = text.parse::<ServiceUrl>();
        }
    }
}
