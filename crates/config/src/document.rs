//! [`ConfigDocument`]: every on-premises configuration object, kept together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    AUTH_SERVER_NAME, AuthConfig, AuthServer, ConfigError, DnsName, Guid, HttpsUrl, ObjectState,
    Outcome, PROXY_APP_NAME, PushNotificationApp, disable_push_proxy, enable_push_proxy,
    ensure_auth_server,
};

/// The on-premises configuration: the auth config, the auth servers by name and the
/// push-notification apps by name.
///
/// The methods run the setup operations against the objects held and store the result, so a
/// caller loads the document, calls them, and saves it (the `store` feature's
/// `Store::update_config` does the three under the lock). Apps are stored with
/// [`ObjectState::Unchanged`]; the app returned to the caller carries the state that describes
/// what the operation did.
///
/// ```
/// use pushproxy_config::{Change, ConfigDocument, DnsName, Guid, HttpsUrl};
/// use time::macros::datetime;
///
/// let tenant: DnsName = "fabrikam.com".parse()?;
/// let server: DnsName = "server.fabrikam.com".parse()?;
/// let mut doc = ConfigDocument::default();
/// let outcome = doc.ensure_auth_server(&tenant, &HttpsUrl::default_authority());
/// assert_eq!(outcome.messages[0].text, "Creating AuthServer Config...");
///
/// let now = datetime!(2013-08-14 13:30:27 -7);
/// let (app, outcome) = doc.enable_push_proxy(&tenant, None, now, Guid::from_random_bytes([7; 16]), &server);
/// assert_eq!(outcome.change, Change::Created);
/// assert!(app.to_list_layout().contains("ObjectState       : New"));
/// assert!(doc.push_app("OnPrem-Proxy").is_some_and(|a| a.enabled));
/// # Ok::<(), pushproxy_config::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub struct ConfigDocument {
    /// The built-in token issuer's configuration.
    pub auth_config: AuthConfig,
    auth_servers: BTreeMap<String, AuthServer>,
    push_apps: BTreeMap<String, PushNotificationApp>,
}

impl ConfigDocument {
    /// The name the document is stored under.
    pub const NAME: &'static str = "config";

    /// The auth server with this name.
    pub fn auth_server(&self, name: &str) -> Option<&AuthServer> {
        self.auth_servers.get(name)
    }

    /// All auth servers, by name.
    pub fn auth_servers(&self) -> impl Iterator<Item = &AuthServer> {
        self.auth_servers.values()
    }

    /// Stores an auth server under its name, replacing one of the same name; returns the old.
    pub fn put_auth_server(&mut self, server: AuthServer) -> Option<AuthServer> {
        self.auth_servers.insert(server.name.clone(), server)
    }

    /// Removes the auth server with this name.
    pub fn remove_auth_server(&mut self, name: &str) -> Option<AuthServer> {
        self.auth_servers.remove(name)
    }

    /// The push-notification app with this name.
    pub fn push_app(&self, name: &str) -> Option<&PushNotificationApp> {
        self.push_apps.get(name)
    }

    /// The proxy app `OnPrem-Proxy`, if it exists.
    pub fn proxy_app(&self) -> Option<&PushNotificationApp> {
        self.push_app(PROXY_APP_NAME)
    }

    /// All push-notification apps, by name.
    pub fn push_apps(&self) -> impl Iterator<Item = &PushNotificationApp> {
        self.push_apps.values()
    }

    /// Stores an app under its name (as [`ObjectState::Unchanged`], the state of a stored
    /// object), replacing one of the same name; returns the old.
    pub fn put_push_app(&mut self, app: PushNotificationApp) -> Option<PushNotificationApp> {
        let app = PushNotificationApp {
            object_state: ObjectState::Unchanged,
            ..app
        };
        self.push_apps.insert(app.name.clone(), app)
    }

    /// Removes the app with this name.
    pub fn remove_push_app(&mut self, name: &str) -> Option<PushNotificationApp> {
        self.push_apps.remove(name)
    }

    /// Runs [`ensure_auth_server`] on the `MicrosoftSts` entry and stores the result.
    pub fn ensure_auth_server(&mut self, tenant_domain: &DnsName, authority: &HttpsUrl) -> Outcome {
        let (server, outcome) =
            ensure_auth_server(self.auth_server(AUTH_SERVER_NAME), tenant_domain, authority);
        if outcome.changed() {
            self.put_auth_server(server);
        }
        outcome
    }

    /// Runs [`enable_push_proxy`] on the `OnPrem-Proxy` app and stores the result.
    pub fn enable_push_proxy(
        &mut self,
        organization: &DnsName,
        uri: Option<HttpsUrl>,
        now: OffsetDateTime,
        new_guid: Guid,
        originating_server: &DnsName,
    ) -> (PushNotificationApp, Outcome) {
        let (app, outcome) = enable_push_proxy(
            self.proxy_app(),
            organization,
            uri,
            now,
            new_guid,
            originating_server,
        );
        if outcome.changed() {
            self.put_push_app(app.clone());
        }
        (app, outcome)
    }

    /// Runs [`disable_push_proxy`] on the `OnPrem-Proxy` app and stores the result.
    pub fn disable_push_proxy(
        &mut self,
        now: OffsetDateTime,
        originating_server: &DnsName,
    ) -> (Option<PushNotificationApp>, Outcome) {
        let (app, outcome) = disable_push_proxy(self.proxy_app(), now, originating_server);
        if let (true, Some(app)) = (outcome.changed(), &app) {
            self.put_push_app(app.clone());
        }
        (app, outcome)
    }

    /// Runs [`AuthConfig::roll_forward`]: publishes the next certificate if its date has come.
    pub fn roll_forward(&mut self, now: OffsetDateTime) -> Outcome {
        self.auth_config.roll_forward(now)
    }
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Wire {
    #[serde(default)]
    auth_config: AuthConfig,
    #[serde(default)]
    auth_servers: BTreeMap<String, AuthServer>,
    #[serde(default)]
    push_notification_apps: BTreeMap<String, PushNotificationApp>,
}

impl From<ConfigDocument> for Wire {
    fn from(doc: ConfigDocument) -> Self {
        Wire {
            auth_config: doc.auth_config,
            auth_servers: doc.auth_servers,
            push_notification_apps: doc.push_apps,
        }
    }
}

impl TryFrom<Wire> for ConfigDocument {
    type Error = ConfigError;

    fn try_from(wire: Wire) -> Result<Self, Self::Error> {
        for (key, server) in &wire.auth_servers {
            if *key != server.name {
                return Err(ConfigError::NameMismatch {
                    what: "auth server",
                    key: key.clone(),
                    name: server.name.clone(),
                });
            }
        }
        for (key, app) in &wire.push_notification_apps {
            if *key != app.name {
                return Err(ConfigError::NameMismatch {
                    what: "push notification app",
                    key: key.clone(),
                    name: app.name.clone(),
                });
            }
        }
        Ok(ConfigDocument {
            auth_config: wire.auth_config,
            auth_servers: wire.auth_servers,
            push_apps: wire.push_notification_apps,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Change;
    use crate::auth_config::tests::{auth_config_strategy, datetime_strategy};
    use crate::auth_server::tests::auth_server_strategy;
    use crate::push_app::tests::push_app_strategy;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn dns(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    #[test]
    fn operations_store_their_results_and_converge() {
        let tenant = dns("fabrikam.com");
        let server = dns("server.fabrikam.com");
        let mut doc = ConfigDocument::default();
        assert_eq!(
            doc.ensure_auth_server(&tenant, &HttpsUrl::default_authority())
                .change,
            Change::Created
        );
        assert!(doc.auth_server("MicrosoftSts").is_some());
        assert_eq!(
            doc.ensure_auth_server(&tenant, &HttpsUrl::default_authority())
                .change,
            Change::Unchanged
        );

        let now = datetime!(2024-01-01 0:00 UTC);
        let (app, outcome) = doc.enable_push_proxy(&tenant, None, now, Guid::NIL, &server);
        assert_eq!(outcome.change, Change::Created);
        assert_eq!(app.object_state, ObjectState::New);
        assert_eq!(
            doc.proxy_app().unwrap().object_state,
            ObjectState::Unchanged
        );
        let before = doc.clone();
        let (_, outcome) = doc.enable_push_proxy(&tenant, None, now, Guid::NIL, &server);
        assert_eq!(outcome.change, Change::Unchanged);
        assert_eq!(doc, before);

        let (off, outcome) = doc.disable_push_proxy(now, &server);
        assert_eq!(outcome.change, Change::Updated);
        assert_eq!(off.unwrap().object_state, ObjectState::Changed);
        assert!(!doc.proxy_app().unwrap().enabled);
        let before = doc.clone();
        doc.disable_push_proxy(now, &server);
        assert_eq!(doc, before);
        assert_eq!(doc.push_apps().count(), 1);
        assert_eq!(doc.auth_servers().count(), 1);
        assert!(doc.remove_push_app("OnPrem-Proxy").is_some());
        assert!(doc.remove_auth_server("MicrosoftSts").is_some());
        assert_eq!(doc.roll_forward(now).change, Change::Unchanged);
    }

    #[test]
    fn keys_must_match_names() {
        let mut doc = ConfigDocument::default();
        doc.ensure_auth_server(&dns("fabrikam.com"), &HttpsUrl::default_authority());
        let mut value = serde_json::to_value(&doc).unwrap();
        let servers = value["AuthServers"].as_object_mut().unwrap();
        let server = servers.remove("MicrosoftSts").unwrap();
        servers.insert("Other".into(), server);
        let err = serde_json::from_value::<ConfigDocument>(value)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("stored under the key \"Other\" is named \"MicrosoftSts\""),
            "{err}"
        );
        let empty: ConfigDocument = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ConfigDocument::default());
    }

    pub(crate) fn document_strategy() -> impl Strategy<Value = ConfigDocument> {
        (
            auth_config_strategy(),
            proptest::collection::vec(auth_server_strategy(), 0..3),
            proptest::collection::vec(push_app_strategy(), 0..3),
        )
            .prop_map(|(auth_config, servers, apps)| {
                let mut doc = ConfigDocument {
                    auth_config,
                    ..ConfigDocument::default()
                };
                for s in servers {
                    doc.put_auth_server(s);
                }
                for a in apps {
                    doc.put_push_app(a);
                }
                doc
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn serde_round_trips(doc in document_strategy()) {
            let json = serde_json::to_string_pretty(&doc).unwrap();
            prop_assert_eq!(serde_json::from_str::<ConfigDocument>(&json).unwrap(), doc);
        }

        #[test]
        fn a_second_run_of_the_setup_changes_nothing(
            doc in document_strategy(),
            now in datetime_strategy(),
        ) {
            let tenant = dns("fabrikam.com");
            let server = dns("server.fabrikam.com");
            let mut doc = doc;
            doc.ensure_auth_server(&tenant, &HttpsUrl::default_authority());
            doc.enable_push_proxy(&tenant, None, now, Guid::NIL, &server);
            doc.roll_forward(now);
            let after_first = doc.clone();
            prop_assert!(!doc.ensure_auth_server(&tenant, &HttpsUrl::default_authority()).changed());
            prop_assert!(!doc.enable_push_proxy(&tenant, None, now, Guid::NIL, &server).1.changed());
            prop_assert!(!doc.roll_forward(now).changed());
            prop_assert_eq!(doc, after_first);
        }
    }
}
