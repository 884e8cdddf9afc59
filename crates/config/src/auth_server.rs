//! [`AuthServer`]: the token service the organisation trusts, and [`ensure_auth_server`].

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::https_url::percent_encode;
use crate::{Change, DnsName, HttpsUrl, Message, Outcome};

/// The name of the auth server entry for Microsoft's token service.
pub const AUTH_SERVER_NAME: &str = "MicrosoftSts";

/// What kind of token service an [`AuthServer`] is (Exchange's `Type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthServerKind {
    /// Azure Access Control Service, `accounts.accesscontrol.windows.net`.
    #[default]
    #[serde(rename = "ACS")]
    Acs,
    /// Azure Active Directory.
    #[serde(rename = "AzureAD")]
    AzureAd,
    /// Active Directory Federation Services.
    #[serde(rename = "ADFS")]
    Adfs,
}

impl AuthServerKind {
    /// Exchange's name for the kind: `ACS`, `AzureAD` or `ADFS`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthServerKind::Acs => "ACS",
            AuthServerKind::AzureAd => "AzureAD",
            AuthServerKind::Adfs => "ADFS",
        }
    }
}

impl fmt::Display for AuthServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthServerKind {
    type Err = crate::ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            AuthServerKind::Acs,
            AuthServerKind::AzureAd,
            AuthServerKind::Adfs,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| crate::ConfigError::InvalidAuthServerKind {
            input: s.to_owned(),
        })
    }
}

/// A token service the organisation trusts, as `Get-AuthServer` shows it.
///
/// Only the name and the metadata URL are set by the administrator; the issuer, token
/// endpoint and realm are learnt from the metadata document and stay empty until a caller
/// that fetched it fills them in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AuthServer {
    /// The entry's name, `MicrosoftSts` for Microsoft's service.
    pub name: String,
    /// Where the service's metadata document is.
    pub auth_metadata_url: HttpsUrl,
    /// The service's issuer id (`<principal>@<realm>`), from the metadata.
    #[serde(default)]
    pub issuer_identifier: Option<String>,
    /// The endpoint that issues tokens (protocol `OAuth2` in the metadata).
    #[serde(default)]
    pub token_issuing_endpoint: Option<HttpsUrl>,
    /// The realm (tenant id), from the metadata.
    #[serde(default)]
    pub realm: Option<String>,
    /// What kind of service it is.
    #[serde(rename = "Type", default)]
    pub kind: AuthServerKind,
    /// Whether tokens from it are accepted.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl AuthServer {
    /// A new enabled ACS entry with only a name and a metadata URL.
    pub fn new(name: impl Into<String>, auth_metadata_url: HttpsUrl) -> Self {
        AuthServer {
            name: name.into(),
            auth_metadata_url,
            issuer_identifier: None,
            token_issuing_endpoint: None,
            realm: None,
            kind: AuthServerKind::Acs,
            enabled: true,
        }
    }
}

/// The metadata URL of a tenant at an authority:
/// `<authority>/metadata/json/1/?realm=<tenant domain>`.
///
/// The authority's query and trailing slashes are dropped.
///
/// ```
/// use pushproxy_config::{metadata_url, DnsName, HttpsUrl};
///
/// let tenant: DnsName = "Fabrikam.com".parse()?;
/// let url = metadata_url(&HttpsUrl::default_authority(), &tenant);
/// assert_eq!(
///     url.as_str(),
///     "https://accounts.accesscontrol.windows.net/metadata/json/1/?realm=fabrikam.com"
/// );
/// # Ok::<(), pushproxy_config::ConfigError>(())
/// ```
pub fn metadata_url(authority: &HttpsUrl, tenant_domain: &DnsName) -> HttpsUrl {
    authority.with_suffix(&format!(
        "/metadata/json/1/?realm={}",
        percent_encode(tenant_domain.as_str())
    ))
}

/// Makes sure the auth server `MicrosoftSts` points at the tenant's metadata, like the
/// original setup script: returns the entry to store and what was done.
///
/// - no entry: a new one, [`Change::Created`], "Creating AuthServer Config...";
/// - an entry with another `AuthMetadataUrl` (compared ignoring case, as PowerShell's `-ne`
///   does): the URL is replaced and the values learnt from the old metadata (issuer, token
///   endpoint, realm) are cleared, [`Change::Updated`], with the warning "AuthServer config
///   already exists but the AuthMetadataUrl doesn't match the appropriate value. Updating...";
/// - otherwise the entry as it is, [`Change::Unchanged`], "AuthServer Config already exists.".
///
/// `authority` is usually [`HttpsUrl::default_authority`]; a local cloud passes its own.
pub fn ensure_auth_server(
    existing: Option<&AuthServer>,
    tenant_domain: &DnsName,
    authority: &HttpsUrl,
) -> (AuthServer, Outcome) {
    let expected = metadata_url(authority, tenant_domain);
    match existing {
        None => (
            AuthServer::new(AUTH_SERVER_NAME, expected),
            Outcome::new(Change::Created).with(Message::info("Creating AuthServer Config...")),
        ),
        Some(server)
            if !server
                .auth_metadata_url
                .as_str()
                .eq_ignore_ascii_case(expected.as_str()) =>
        {
            let updated = AuthServer {
                auth_metadata_url: expected,
                issuer_identifier: None,
                token_issuing_endpoint: None,
                realm: None,
                ..server.clone()
            };
            (
                updated,
                Outcome::new(Change::Updated).with(Message::warning(
                    "AuthServer config already exists but the AuthMetadataUrl doesn't match the appropriate value. Updating...",
                )),
            )
        }
        Some(server) => (
            server.clone(),
            Outcome::new(Change::Unchanged)
                .with(Message::info("AuthServer Config already exists.")),
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::https_url::tests::url_strategy;
    use proptest::prelude::*;

    fn fabrikam() -> DnsName {
        "Fabrikam.com".parse().unwrap()
    }

    #[test]
    fn creates_when_missing() {
        let (server, outcome) =
            ensure_auth_server(None, &fabrikam(), &HttpsUrl::default_authority());
        assert_eq!(outcome.change, Change::Created);
        assert_eq!(
            outcome.messages,
            vec![Message::info("Creating AuthServer Config...")]
        );
        assert_eq!(server.name, "MicrosoftSts");
        assert_eq!(
            server.auth_metadata_url.as_str(),
            "https://accounts.accesscontrol.windows.net/metadata/json/1/?realm=fabrikam.com"
        );
        assert!(server.enabled);
        assert_eq!(server.kind, AuthServerKind::Acs);
    }

    #[test]
    fn unchanged_when_right_and_idempotent() {
        let authority = HttpsUrl::default_authority();
        let (server, _) = ensure_auth_server(None, &fabrikam(), &authority);
        let (again, outcome) = ensure_auth_server(Some(&server), &fabrikam(), &authority);
        assert_eq!(again, server);
        assert_eq!(outcome.change, Change::Unchanged);
        assert_eq!(
            outcome.messages,
            vec![Message::info("AuthServer Config already exists.")]
        );
        assert_eq!(
            outcome.messages[0].to_string(),
            "AuthServer Config already exists."
        );
    }

    #[test]
    fn url_compare_ignores_case_like_powershell() {
        let mut server = AuthServer::new(
            AUTH_SERVER_NAME,
            "https://accounts.accesscontrol.windows.net/metadata/json/1/?realm=FABRIKAM.COM"
                .parse()
                .unwrap(),
        );
        server.realm = Some("kept".into());
        let (again, outcome) =
            ensure_auth_server(Some(&server), &fabrikam(), &HttpsUrl::default_authority());
        assert_eq!(outcome.change, Change::Unchanged);
        assert_eq!(again, server);
    }

    #[test]
    fn updates_with_a_warning_when_the_url_differs() {
        let mut server = AuthServer::new(
            AUTH_SERVER_NAME,
            "https://accounts.accesscontrol.windows.net/metadata/json/1/?realm=contoso.com"
                .parse()
                .unwrap(),
        );
        server.enabled = false;
        server.kind = AuthServerKind::AzureAd;
        server.issuer_identifier = Some("00000001-0000-0000-c000-000000000000@old".into());
        server.realm = Some("old".into());
        server.token_issuing_endpoint = Some("https://old.example/tokens".parse().unwrap());
        let (updated, outcome) =
            ensure_auth_server(Some(&server), &fabrikam(), &HttpsUrl::default_authority());
        assert_eq!(outcome.change, Change::Updated);
        assert_eq!(outcome.messages.len(), 1);
        assert_eq!(
            outcome.messages[0].to_string(),
            "WARNING: AuthServer config already exists but the AuthMetadataUrl doesn't match the appropriate value. Updating..."
        );
        assert!(
            updated
                .auth_metadata_url
                .as_str()
                .ends_with("?realm=fabrikam.com")
        );
        assert_eq!(updated.issuer_identifier, None);
        assert_eq!(updated.token_issuing_endpoint, None);
        assert_eq!(updated.realm, None);
        // What the administrator set is kept.
        assert!(!updated.enabled);
        assert_eq!(updated.kind, AuthServerKind::AzureAd);
        let (_, second) =
            ensure_auth_server(Some(&updated), &fabrikam(), &HttpsUrl::default_authority());
        assert_eq!(second.change, Change::Unchanged);
    }

    #[test]
    fn a_local_authority_is_used() {
        let authority: HttpsUrl = "http://127.0.0.1:8443/sts/".parse().unwrap();
        let (server, _) = ensure_auth_server(None, &fabrikam(), &authority);
        assert_eq!(
            server.auth_metadata_url.as_str(),
            "http://127.0.0.1:8443/sts/metadata/json/1/?realm=fabrikam.com"
        );
    }

    #[test]
    fn kind_names_are_exchanges() {
        for kind in [
            AuthServerKind::Acs,
            AuthServerKind::AzureAd,
            AuthServerKind::Adfs,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(
                kind.as_str()
                    .to_lowercase()
                    .parse::<AuthServerKind>()
                    .unwrap(),
                kind
            );
        }
        let err = "Facebook"
            .parse::<AuthServerKind>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("ACS, AzureAD or ADFS"), "{err}");
    }

    #[test]
    fn json_uses_exchange_names() {
        let server = AuthServer::new(AUTH_SERVER_NAME, HttpsUrl::default_authority());
        let json = serde_json::to_value(&server).unwrap();
        assert_eq!(json["Name"], "MicrosoftSts");
        assert_eq!(json["AuthMetadataUrl"], crate::DEFAULT_AUTHORITY);
        assert_eq!(json["Type"], "ACS");
        assert_eq!(json["Enabled"], true);
        let bad = r#"{"Name":"MicrosoftSts","AuthMetadataUrl":"http://example.com/"}"#;
        let err = serde_json::from_str::<AuthServer>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain http"), "{err}");
    }

    pub(crate) fn auth_server_strategy() -> impl Strategy<Value = AuthServer> {
        (
            "[A-Za-z][A-Za-z0-9-]{0,15}",
            url_strategy(),
            proptest::option::of("[ -~]{0,30}"),
            proptest::option::of(url_strategy()),
            proptest::option::of("[0-9a-f-]{1,36}"),
            prop_oneof![
                Just(AuthServerKind::Acs),
                Just(AuthServerKind::AzureAd),
                Just(AuthServerKind::Adfs)
            ],
            any::<bool>(),
        )
            .prop_map(
                |(name, url, issuer, endpoint, realm, kind, enabled)| AuthServer {
                    name,
                    auth_metadata_url: url,
                    issuer_identifier: issuer,
                    token_issuing_endpoint: endpoint,
                    realm,
                    kind,
                    enabled,
                },
            )
    }

    fn domain_strategy() -> impl Strategy<Value = DnsName> {
        proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", 1..4)
            .prop_map(|labels| format!("{}.example", labels.join(".")).parse().unwrap())
    }

    proptest! {
        #[test]
        fn serde_round_trips(server in auth_server_strategy()) {
            let json = serde_json::to_string_pretty(&server).unwrap();
            prop_assert_eq!(serde_json::from_str::<AuthServer>(&json).unwrap(), server);
        }

        #[test]
        fn ensure_converges_in_one_step(
            existing in proptest::option::of(auth_server_strategy()),
            tenant in domain_strategy(),
            authority in url_strategy(),
        ) {
            let (first, outcome) = ensure_auth_server(existing.as_ref(), &tenant, &authority);
            prop_assert_eq!(outcome.changed(), existing.as_ref() != Some(&first));
            prop_assert!(first.auth_metadata_url.as_str().eq_ignore_ascii_case(metadata_url(&authority, &tenant).as_str()));
            let expected_query = format!("realm={tenant}");
            prop_assert_eq!(first.auth_metadata_url.query(), Some(expected_query.as_str()));
            let (second, again) = ensure_auth_server(Some(&first), &tenant, &authority);
            prop_assert_eq!(again.change, Change::Unchanged);
            prop_assert_eq!(second, first);
        }
    }
}
