//! [`PushNotificationApp`]: the `OnPrem-Proxy` app that relays badge updates to the cloud,
//! with [`enable_push_proxy`] and [`disable_push_proxy`].

use core::fmt;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::list::{LIST_WIDTH, format_list_wrapped};
use crate::{Change, ConfigError, DnsName, Guid, HttpsUrl, Message, Outcome};

/// The name (and identity) of the proxy app.
pub const PROXY_APP_NAME: &str = "OnPrem-Proxy";
/// The display name of the proxy app.
pub const PROXY_APP_DISPLAY_NAME: &str = "On Premises Proxy app";
/// The `ExchangeVersion` every push-notification app shows.
pub const EXCHANGE_VERSION: &str = "0.20 (15.0.0.0)";
/// The directory classes of a push-notification app, as `ObjectClass` lists them.
pub const OBJECT_CLASS: [&str; 2] = ["top", "msExchPushNotificationsApp"];

/// The container of push-notification apps in the configuration directory; the organisation's
/// `DC=` parts follow.
const DN_CONTAINER: &str = "CN=Push Notifications Settings,CN=First Organization,CN=Microsoft Exchange,CN=Services,CN=Configuration";

/// Which push service an app talks to. The on-premises proxy is always [`Platform::Proxy`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    /// Relays to the cloud push-notification service (the on-premises proxy).
    #[default]
    Proxy,
    /// Apple Push Notification service.
    #[serde(rename = "APNS")]
    Apns,
    /// Windows Push Notification Services.
    #[serde(rename = "WNS")]
    Wns,
}

/// Where an object stands relative to the store, as Exchange's `ObjectState` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectState {
    /// Just created, not yet saved.
    New,
    /// Changed since it was read.
    Changed,
    /// As it is stored.
    #[default]
    Unchanged,
}

impl ObjectState {
    /// `New`, `Changed` or `Unchanged`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectState::New => "New",
            ObjectState::Changed => "Changed",
            ObjectState::Unchanged => "Unchanged",
        }
    }
}

impl fmt::Display for ObjectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A push-notification app entry, as `Enable-PushNotificationProxy` prints it.
///
/// The fields that can vary are stored; the bookkeeping ones that follow from them (Identity,
/// IsValid, ExchangeVersion, DistinguishedName, ObjectCategory, ObjectClass, the UTC times,
/// OrganizationId) are computed by methods. The JSON form carries every field, in the order of
/// the original output, plus `Platform`; when read back, a computed field that is present must
/// agree with the stored ones (a hand edit that breaks this is refused, not ignored).
///
/// `WhenChanged`/`WhenCreated` keep the UTC offset of the `now` they were made with, so the
/// list layout shows them in that local time, and `WhenChangedUTC`/`WhenCreatedUTC` in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub struct PushNotificationApp {
    /// The id of the session that printed the object (PowerShell's `RunspaceId`); the caller
    /// may set it before printing. Empty when not set.
    pub runspace_id: Option<Guid>,
    /// `On Premises Proxy app`.
    pub display_name: String,
    /// Whether the proxy publishes notifications.
    pub enabled: bool,
    /// The organisation's (tenant's) domain, lower case.
    pub organization: DnsName,
    /// The push-notification service to publish to.
    pub uri: HttpsUrl,
    /// `OnPrem-Proxy`; also the identity.
    pub name: String,
    /// The object's GUID, chosen when it was created.
    pub guid: Guid,
    /// When it was last changed, in the caller's local offset.
    pub when_changed: OffsetDateTime,
    /// When it was created, in the caller's local offset.
    pub when_created: OffsetDateTime,
    /// The server that made the last change.
    pub originating_server: DnsName,
    /// New, Changed or Unchanged.
    pub object_state: ObjectState,
    /// The push platform; `Proxy`.
    pub platform: Platform,
}

impl PushNotificationApp {
    /// The identity, the same as the name.
    pub fn identity(&self) -> &str {
        &self.name
    }

    /// Whether the object is valid; an object of this type always is.
    pub fn is_valid(&self) -> bool {
        true
    }

    /// `0.20 (15.0.0.0)`.
    pub fn exchange_version(&self) -> &'static str {
        EXCHANGE_VERSION
    }

    /// `CN=<name>,CN=Push Notifications Settings,...,CN=Configuration,DC=<label>,...` with one
    /// `DC=` part per label of the organisation's domain.
    pub fn distinguished_name(&self) -> String {
        let mut dn = format!("CN={},{DN_CONTAINER}", self.name);
        for label in self.organization.labels() {
            dn.push_str(",DC=");
            dn.push_str(label);
        }
        dn
    }

    /// `<organisation>/Configuration/Schema/ms-Exch-Push-Notifications-App`.
    pub fn object_category(&self) -> String {
        format!(
            "{}/Configuration/Schema/ms-Exch-Push-Notifications-App",
            self.organization
        )
    }

    /// `["top", "msExchPushNotificationsApp"]`.
    pub fn object_class(&self) -> [&'static str; 2] {
        OBJECT_CLASS
    }

    /// `WhenChanged` in UTC.
    pub fn when_changed_utc(&self) -> OffsetDateTime {
        self.when_changed.to_offset(UtcOffset::UTC)
    }

    /// `WhenCreated` in UTC.
    pub fn when_created_utc(&self) -> OffsetDateTime {
        self.when_created.to_offset(UtcOffset::UTC)
    }

    /// The organisation id; empty for an on-premises organisation.
    pub fn organization_id(&self) -> &'static str {
        ""
    }

    /// The rows of the list layout, in the order of the original output (without `Platform`,
    /// which the original does not show).
    pub fn to_list_rows(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "RunspaceId",
                self.runspace_id.map(|g| g.to_string()).unwrap_or_default(),
            ),
            ("DisplayName", self.display_name.clone()),
            ("Enabled", powershell_bool(self.enabled).to_owned()),
            ("Organization", self.organization.to_string()),
            ("Uri", self.uri.to_string()),
            ("Identity", self.identity().to_owned()),
            ("IsValid", powershell_bool(self.is_valid()).to_owned()),
            ("ExchangeVersion", self.exchange_version().to_owned()),
            ("Name", self.name.clone()),
            ("DistinguishedName", self.distinguished_name()),
            ("Guid", self.guid.to_string()),
            ("ObjectCategory", self.object_category()),
            ("ObjectClass", format!("{{{}}}", OBJECT_CLASS.join(", "))),
            ("WhenChanged", us_date_time(self.when_changed)),
            ("WhenCreated", us_date_time(self.when_created)),
            ("WhenChangedUTC", us_date_time(self.when_changed_utc())),
            ("WhenCreatedUTC", us_date_time(self.when_created_utc())),
            ("OrganizationId", self.organization_id().to_owned()),
            ("OriginatingServer", self.originating_server.to_string()),
            ("ObjectState", self.object_state.to_string()),
        ]
    }

    /// The object as `Enable-PushNotificationProxy` prints it: `Name : Value` lines, names
    /// padded to `DistinguishedName`, values wrapped at [`LIST_WIDTH`] columns as the original
    /// console did.
    pub fn to_list_layout(&self) -> String {
        format_list_wrapped(&self.to_list_rows(), LIST_WIDTH)
    }
}

/// `True` or `False`, as PowerShell prints a boolean.
fn powershell_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// A date and time in the US form PowerShell printed in the original: `8/27/2013 7:23:47 PM`.
pub fn us_date_time(t: OffsetDateTime) -> String {
    let (hour, period) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        hour,
        t.minute(),
        t.second(),
        period
    )
}

/// Keeps whole seconds, and an offset that RFC 3339 can write (whole minutes; else UTC).
fn normalise(now: OffsetDateTime) -> OffsetDateTime {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    if now.offset().seconds_past_minute() == 0 {
        now
    } else {
        now.to_offset(UtcOffset::UTC)
    }
}

/// Creates or enables the proxy app (`Enable-PushNotificationProxy -Organization <domain>
/// [-Uri <uri>]`) and says what was done.
///
/// - no app: a new enabled one with `new_guid`, created and changed at `now`, state `New`
///   ([`Change::Created`]);
/// - an app that is disabled, or has another organisation, URI or platform: enabled and set to
///   the values given, changed at `now`, state `Changed` ([`Change::Updated`]); its GUID and
///   creation time are kept;
/// - otherwise the app as it is, state `Unchanged` ([`Change::Unchanged`]).
///
/// `uri` defaults to [`DEFAULT_PUSH_URI`](crate::DEFAULT_PUSH_URI). `now` is the caller's
/// clock in the local offset that `WhenChanged` should be shown in (UTC if unknown).
pub fn enable_push_proxy(
    existing: Option<&PushNotificationApp>,
    organization: &DnsName,
    uri: Option<HttpsUrl>,
    now: OffsetDateTime,
    new_guid: Guid,
    originating_server: &DnsName,
) -> (PushNotificationApp, Outcome) {
    let now = normalise(now);
    let uri = uri.unwrap_or_else(HttpsUrl::default_push_uri);
    match existing {
        None => {
            let app = PushNotificationApp {
                runspace_id: None,
                display_name: PROXY_APP_DISPLAY_NAME.to_owned(),
                enabled: true,
                organization: organization.clone(),
                uri,
                name: PROXY_APP_NAME.to_owned(),
                guid: new_guid,
                when_changed: now,
                when_created: now,
                originating_server: originating_server.clone(),
                object_state: ObjectState::New,
                platform: Platform::Proxy,
            };
            let outcome = Outcome::new(Change::Created).with(Message::info(format!(
                "Created the push notification proxy {} for {organization}.",
                app.name
            )));
            (app, outcome)
        }
        Some(app)
            if app.enabled
                && app.organization == *organization
                && app.uri == uri
                && app.platform == Platform::Proxy =>
        {
            let app = PushNotificationApp {
                object_state: ObjectState::Unchanged,
                ..app.clone()
            };
            let outcome = Outcome::new(Change::Unchanged).with(Message::info(format!(
                "The push notification proxy {} is already enabled for {organization}.",
                app.name
            )));
            (app, outcome)
        }
        Some(app) => {
            let mut outcome = Outcome::new(Change::Updated);
            if app.organization != *organization {
                outcome.messages.push(Message::warning(format!(
                    "The push notification proxy {} was set up for {}; it now serves {organization}.",
                    app.name, app.organization
                )));
            }
            let app = PushNotificationApp {
                enabled: true,
                organization: organization.clone(),
                uri,
                platform: Platform::Proxy,
                when_changed: now,
                originating_server: originating_server.clone(),
                object_state: ObjectState::Changed,
                ..app.clone()
            };
            outcome.messages.push(Message::info(format!(
                "Enabled the push notification proxy {} for {organization}.",
                app.name
            )));
            (app, outcome)
        }
    }
}

/// Disables the proxy app (`Disable-PushNotificationProxy`): returns the app (if there is one)
/// and what was done. A missing or already disabled app is [`Change::Unchanged`].
pub fn disable_push_proxy(
    existing: Option<&PushNotificationApp>,
    now: OffsetDateTime,
    originating_server: &DnsName,
) -> (Option<PushNotificationApp>, Outcome) {
    match existing {
        None => (
            None,
            Outcome::new(Change::Unchanged).with(Message::info(
                "No push notification proxy is configured; nothing to disable.",
            )),
        ),
        Some(app) if !app.enabled => (
            Some(PushNotificationApp {
                object_state: ObjectState::Unchanged,
                ..app.clone()
            }),
            Outcome::new(Change::Unchanged).with(Message::info(format!(
                "The push notification proxy {} is already disabled.",
                app.name
            ))),
        ),
        Some(app) => {
            let app = PushNotificationApp {
                enabled: false,
                when_changed: normalise(now),
                originating_server: originating_server.clone(),
                object_state: ObjectState::Changed,
                ..app.clone()
            };
            let outcome = Outcome::new(Change::Updated).with(Message::info(format!(
                "Disabled the push notification proxy {}.",
                app.name
            )));
            (Some(app), outcome)
        }
    }
}

/// The JSON form: every field of the original output, in its order, plus `Platform`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Wire {
    #[serde(default)]
    runspace_id: Option<Guid>,
    display_name: String,
    enabled: bool,
    organization: DnsName,
    uri: HttpsUrl,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    is_valid: Option<bool>,
    #[serde(default)]
    exchange_version: Option<String>,
    name: String,
    #[serde(default)]
    distinguished_name: Option<String>,
    guid: Guid,
    #[serde(default)]
    object_category: Option<String>,
    #[serde(default)]
    object_class: Option<Vec<String>>,
    #[serde(with = "time::serde::rfc3339")]
    when_changed: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    when_created: OffsetDateTime,
    #[serde(
        rename = "WhenChangedUTC",
        default,
        with = "time::serde::rfc3339::option"
    )]
    when_changed_utc: Option<OffsetDateTime>,
    #[serde(
        rename = "WhenCreatedUTC",
        default,
        with = "time::serde::rfc3339::option"
    )]
    when_created_utc: Option<OffsetDateTime>,
    #[serde(default)]
    organization_id: Option<String>,
    originating_server: DnsName,
    #[serde(default)]
    object_state: ObjectState,
    #[serde(default)]
    platform: Platform,
}

impl From<PushNotificationApp> for Wire {
    fn from(app: PushNotificationApp) -> Self {
        Wire {
            identity: Some(app.identity().to_owned()),
            is_valid: Some(app.is_valid()),
            exchange_version: Some(EXCHANGE_VERSION.to_owned()),
            distinguished_name: Some(app.distinguished_name()),
            object_category: Some(app.object_category()),
            object_class: Some(OBJECT_CLASS.iter().map(|c| (*c).to_owned()).collect()),
            when_changed_utc: Some(app.when_changed_utc()),
            when_created_utc: Some(app.when_created_utc()),
            organization_id: Some(String::new()),
            runspace_id: app.runspace_id,
            display_name: app.display_name,
            enabled: app.enabled,
            organization: app.organization,
            uri: app.uri,
            name: app.name,
            guid: app.guid,
            when_changed: app.when_changed,
            when_created: app.when_created,
            originating_server: app.originating_server,
            object_state: app.object_state,
            platform: app.platform,
        }
    }
}

fn check<T: PartialEq + fmt::Debug>(
    field: &'static str,
    found: Option<T>,
    expected: T,
) -> Result<(), ConfigError> {
    match found {
        Some(found) if found != expected => Err(ConfigError::InconsistentField {
            field,
            found: format!("{found:?}").trim_matches('"').to_owned(),
            expected: format!("{expected:?}").trim_matches('"').to_owned(),
        }),
        _ => Ok(()),
    }
}

impl TryFrom<Wire> for PushNotificationApp {
    type Error = ConfigError;

    fn try_from(w: Wire) -> Result<Self, Self::Error> {
        let app = PushNotificationApp {
            runspace_id: w.runspace_id,
            display_name: w.display_name,
            enabled: w.enabled,
            organization: w.organization,
            uri: w.uri,
            name: w.name,
            guid: w.guid,
            when_changed: w.when_changed,
            when_created: w.when_created,
            originating_server: w.originating_server,
            object_state: w.object_state,
            platform: w.platform,
        };
        check("Identity", w.identity, app.name.clone())?;
        check("IsValid", w.is_valid, true)?;
        check(
            "ExchangeVersion",
            w.exchange_version,
            EXCHANGE_VERSION.to_owned(),
        )?;
        check(
            "DistinguishedName",
            w.distinguished_name,
            app.distinguished_name(),
        )?;
        check("ObjectCategory", w.object_category, app.object_category())?;
        check(
            "ObjectClass",
            w.object_class,
            OBJECT_CLASS.iter().map(|c| (*c).to_owned()).collect(),
        )?;
        check("WhenChangedUTC", w.when_changed_utc, app.when_changed_utc())?;
        check("WhenCreatedUTC", w.when_created_utc, app.when_created_utc())?;
        check("OrganizationId", w.organization_id, String::new())?;
        Ok(app)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth_config::tests::datetime_strategy;
    use crate::https_url::tests::url_strategy;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn dns(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    fn guid(s: &str) -> Guid {
        s.parse().unwrap()
    }

    /// The object the original document shows.
    fn original() -> PushNotificationApp {
        let (mut app, _) = enable_push_proxy(
            None,
            &dns("Fabrikam.com"),
            None,
            datetime!(2013-08-14 13:30:27 -7),
            guid("8b567958-58a4-403c-a8f0-524d7f1e9279"),
            &dns("server.fabrikam.com"),
        );
        app.enabled = false;
        let (mut app, _) = enable_push_proxy(
            Some(&app),
            &dns("fabrikam.com"),
            None,
            datetime!(2013-08-27 19:23:47 -7),
            guid("00000000-0000-0000-0000-000000000000"),
            &dns("server.fabrikam.com"),
        );
        app.runspace_id = Some(guid("4f2eb5cc-b696-482f-92bb-5b254cd19d60"));
        app.object_state = ObjectState::Unchanged;
        app
    }

    /// The output printed in the original document, with the `DC=` parts of the test forest
    /// there (`DC=Domain,DC=extest,DC=microsoft,DC=com`) replaced by those of the organisation.
    const ORIGINAL_OUTPUT: &str = "\
RunspaceId        : 4f2eb5cc-b696-482f-92bb-5b254cd19d60
DisplayName       : On Premises Proxy app
Enabled           : True
Organization      : fabrikam.com
Uri               : https://outlook.office365.com/PushNotifications
Identity          : OnPrem-Proxy
IsValid           : True
ExchangeVersion   : 0.20 (15.0.0.0)
Name              : OnPrem-Proxy
DistinguishedName : CN=OnPrem-Proxy,CN=Push Notifications Settings,CN=First Organization,CN=Microsoft
                    Exchange,CN=Services,CN=Configuration,DC=fabrikam,DC=com
Guid              : 8b567958-58a4-403c-a8f0-524d7f1e9279
ObjectCategory    : fabrikam.com/Configuration/Schema/ms-Exch-Push-Notifications-App
ObjectClass       : {top, msExchPushNotificationsApp}
WhenChanged       : 8/27/2013 7:23:47 PM
WhenCreated       : 8/14/2013 1:30:27 PM
WhenChangedUTC    : 8/28/2013 2:23:47 AM
WhenCreatedUTC    : 8/14/2013 8:30:27 PM
OrganizationId    :
OriginatingServer : server.fabrikam.com
ObjectState       : Unchanged
";

    #[test]
    fn list_layout_matches_the_original_output() {
        assert_eq!(original().to_list_layout(), ORIGINAL_OUTPUT);
    }

    #[test]
    fn creates_with_the_original_values() {
        let now = datetime!(2024-05-01 9:15:00.5 +9);
        let (app, outcome) = enable_push_proxy(
            None,
            &dns("Contoso.com"),
            None,
            now,
            guid("11111111-2222-4333-8444-555555555555"),
            &dns("ex1.contoso.com"),
        );
        assert_eq!(outcome.change, Change::Created);
        assert_eq!(
            outcome.messages,
            vec![Message::info(
                "Created the push notification proxy OnPrem-Proxy for contoso.com."
            )]
        );
        assert!(app.enabled);
        assert_eq!(app.display_name, "On Premises Proxy app");
        assert_eq!(app.name, "OnPrem-Proxy");
        assert_eq!(app.identity(), "OnPrem-Proxy");
        assert_eq!(app.organization.as_str(), "contoso.com");
        assert_eq!(
            app.uri.as_str(),
            "https://outlook.office365.com/PushNotifications"
        );
        assert_eq!(app.platform, Platform::Proxy);
        assert_eq!(app.object_state, ObjectState::New);
        assert_eq!(app.when_created, app.when_changed);
        assert_eq!(app.when_changed.nanosecond(), 0);
        assert_eq!(app.when_changed.offset(), now.offset());
        assert_eq!(
            app.distinguished_name(),
            "CN=OnPrem-Proxy,CN=Push Notifications Settings,CN=First Organization,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
        );
        assert_eq!(
            app.object_category(),
            "contoso.com/Configuration/Schema/ms-Exch-Push-Notifications-App"
        );
        let rows = app.to_list_rows();
        assert_eq!(rows[0], ("RunspaceId", String::new()));
        assert_eq!(rows[13], ("WhenChanged", "5/1/2024 9:15:00 AM".to_owned()));
        assert_eq!(
            rows[15],
            ("WhenChangedUTC", "5/1/2024 12:15:00 AM".to_owned())
        );
        assert!(app.to_list_layout().starts_with("RunspaceId        :\n"));
    }

    #[test]
    fn enable_again_is_unchanged() {
        let (app, _) = enable_push_proxy(
            None,
            &dns("contoso.com"),
            None,
            datetime!(2024-05-01 0:00 UTC),
            Guid::NIL,
            &dns("ex1.contoso.com"),
        );
        let later = datetime!(2024-06-01 0:00 UTC);
        let (again, outcome) = enable_push_proxy(
            Some(&app),
            &dns("CONTOSO.com"),
            Some(HttpsUrl::default_push_uri()),
            later,
            guid("11111111-2222-4333-8444-555555555555"),
            &dns("ex2.contoso.com"),
        );
        assert_eq!(outcome.change, Change::Unchanged);
        assert_eq!(
            outcome.messages[0].text,
            "The push notification proxy OnPrem-Proxy is already enabled for contoso.com."
        );
        assert_eq!(again.object_state, ObjectState::Unchanged);
        assert_eq!(
            PushNotificationApp {
                object_state: ObjectState::New,
                ..again
            },
            app
        );
    }

    #[test]
    fn a_new_uri_or_organisation_updates_and_keeps_identity() {
        let created = datetime!(2024-05-01 0:00 UTC);
        let (app, _) = enable_push_proxy(
            None,
            &dns("contoso.com"),
            None,
            created,
            Guid::NIL,
            &dns("ex1.contoso.com"),
        );
        let local: HttpsUrl = "http://127.0.0.1:8080/PushNotifications".parse().unwrap();
        let later = datetime!(2024-06-01 0:00 UTC);
        let (updated, outcome) = enable_push_proxy(
            Some(&app),
            &dns("contoso.com"),
            Some(local.clone()),
            later,
            guid("11111111-2222-4333-8444-555555555555"),
            &dns("ex2.contoso.com"),
        );
        assert_eq!(outcome.change, Change::Updated);
        assert!(!outcome.has_warnings());
        assert_eq!(updated.uri, local);
        assert_eq!(updated.guid, Guid::NIL);
        assert_eq!(updated.when_created, created);
        assert_eq!(updated.when_changed, later);
        assert_eq!(updated.originating_server.as_str(), "ex2.contoso.com");
        assert_eq!(updated.object_state, ObjectState::Changed);

        let (moved, outcome) = enable_push_proxy(
            Some(&updated),
            &dns("fabrikam.com"),
            Some(local),
            later,
            Guid::NIL,
            &dns("ex2.contoso.com"),
        );
        assert_eq!(outcome.change, Change::Updated);
        assert_eq!(
            outcome.messages[0].to_string(),
            "WARNING: The push notification proxy OnPrem-Proxy was set up for contoso.com; it now serves fabrikam.com."
        );
        assert_eq!(moved.organization.as_str(), "fabrikam.com");
        assert!(moved.distinguished_name().ends_with(",DC=fabrikam,DC=com"));
    }

    #[test]
    fn disable_and_re_enable() {
        let server = dns("ex1.contoso.com");
        let (none, outcome) = disable_push_proxy(None, datetime!(2024-05-01 0:00 UTC), &server);
        assert_eq!(none, None);
        assert_eq!(outcome.change, Change::Unchanged);
        assert_eq!(
            outcome.messages[0].text,
            "No push notification proxy is configured; nothing to disable."
        );

        let (app, _) = enable_push_proxy(
            None,
            &dns("contoso.com"),
            None,
            datetime!(2024-05-01 0:00 UTC),
            Guid::NIL,
            &server,
        );
        let off_at = datetime!(2024-05-02 0:00 UTC);
        let (off, outcome) = disable_push_proxy(Some(&app), off_at, &server);
        let off = off.unwrap();
        assert_eq!(outcome.change, Change::Updated);
        assert_eq!(
            outcome.messages[0].text,
            "Disabled the push notification proxy OnPrem-Proxy."
        );
        assert!(!off.enabled);
        assert_eq!(off.when_changed, off_at);
        assert_eq!(off.object_state, ObjectState::Changed);
        assert_eq!(off.to_list_rows()[2], ("Enabled", "False".to_owned()));

        let (again, outcome) =
            disable_push_proxy(Some(&off), datetime!(2024-05-03 0:00 UTC), &server);
        assert_eq!(outcome.change, Change::Unchanged);
        assert_eq!(again.unwrap().when_changed, off_at);

        let (on, outcome) = enable_push_proxy(
            Some(&off),
            &dns("contoso.com"),
            None,
            datetime!(2024-05-04 0:00 UTC),
            guid("11111111-2222-4333-8444-555555555555"),
            &server,
        );
        assert_eq!(outcome.change, Change::Updated);
        assert!(on.enabled);
        assert_eq!(on.guid, Guid::NIL);
    }

    #[test]
    fn us_time_covers_midnight_and_noon() {
        assert_eq!(
            us_date_time(datetime!(2013-01-02 0:05:09 UTC)),
            "1/2/2013 12:05:09 AM"
        );
        assert_eq!(
            us_date_time(datetime!(2013-12-31 12:00:00 UTC)),
            "12/31/2013 12:00:00 PM"
        );
        assert_eq!(
            us_date_time(datetime!(2013-12-31 23:59:59 UTC)),
            "12/31/2013 11:59:59 PM"
        );
        assert_eq!(
            us_date_time(datetime!(2013-12-31 11:59:59 UTC)),
            "12/31/2013 11:59:59 AM"
        );
    }

    #[test]
    fn offsets_with_seconds_fall_back_to_utc() {
        let odd = datetime!(2024-05-01 0:00 UTC).to_offset(UtcOffset::from_hms(0, 19, 32).unwrap());
        let (app, _) = enable_push_proxy(
            None,
            &dns("a.example"),
            None,
            odd,
            Guid::NIL,
            &dns("s.a.example"),
        );
        assert_eq!(app.when_changed.offset(), UtcOffset::UTC);
        assert_eq!(app.when_changed, odd);
        serde_json::to_string(&app).unwrap();
    }

    #[test]
    fn json_carries_every_field_in_order() {
        let app = original();
        let json = serde_json::to_string_pretty(&app).unwrap();
        let keys: Vec<&str> = json
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix('"'))
            .filter_map(|l| l.split_once("\":").map(|(k, _)| k))
            .filter(|k| !k.contains(' '))
            .collect();
        let mut expected: Vec<&str> = app.to_list_rows().iter().map(|(k, _)| *k).collect();
        expected.push("Platform");
        assert_eq!(keys, expected);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["WhenChanged"], "2013-08-27T19:23:47-07:00");
        assert_eq!(value["WhenChangedUTC"], "2013-08-28T02:23:47Z");
        assert_eq!(
            value["ObjectClass"],
            serde_json::json!(["top", "msExchPushNotificationsApp"])
        );
        assert_eq!(value["Platform"], "Proxy");
        let back: PushNotificationApp = serde_json::from_str(&json).unwrap();
        assert_eq!(back, app);
        assert_eq!(back.when_changed.offset(), app.when_changed.offset());
    }

    #[test]
    fn computed_fields_may_be_left_out_but_not_contradict() {
        let minimal = r#"{
            "DisplayName": "On Premises Proxy app", "Enabled": true,
            "Organization": "fabrikam.com", "Uri": "https://outlook.office365.com/PushNotifications",
            "Name": "OnPrem-Proxy", "Guid": "8b567958-58a4-403c-a8f0-524d7f1e9279",
            "WhenChanged": "2013-08-27T19:23:47-07:00", "WhenCreated": "2013-08-14T13:30:27-07:00",
            "OriginatingServer": "server.fabrikam.com"
        }"#;
        let app: PushNotificationApp = serde_json::from_str(minimal).unwrap();
        assert_eq!(app.platform, Platform::Proxy);
        assert_eq!(app.object_state, ObjectState::Unchanged);
        let mut value: serde_json::Value = serde_json::to_value(&app).unwrap();
        value["DistinguishedName"] = "CN=Other".into();
        let err = serde_json::from_value::<PushNotificationApp>(value)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DistinguishedName is \"CN=Other\" but should be"),
            "{err}"
        );
        let mut value: serde_json::Value = serde_json::to_value(&app).unwrap();
        value["WhenCreatedUTC"] = "2013-08-14T13:30:27Z".into();
        let err = serde_json::from_value::<PushNotificationApp>(value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("WhenCreatedUTC"), "{err}");
        let mut value: serde_json::Value = serde_json::to_value(&app).unwrap();
        value["Organization"] = "fabrikam".into();
        let err = serde_json::from_value::<PushNotificationApp>(value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("single label"), "{err}");
    }

    fn domain_strategy() -> impl Strategy<Value = DnsName> {
        proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", 1..4)
            .prop_map(|labels| format!("{}.example", labels.join(".")).parse().unwrap())
    }

    pub(crate) fn push_app_strategy() -> impl Strategy<Value = PushNotificationApp> {
        (
            (
                proptest::option::of(any::<[u8; 16]>()),
                "[ -~]{0,30}",
                any::<bool>(),
                domain_strategy(),
                url_strategy(),
                "[A-Za-z][A-Za-z0-9-]{0,15}",
            ),
            (
                any::<[u8; 16]>(),
                datetime_strategy(),
                datetime_strategy(),
                domain_strategy(),
                prop_oneof![
                    Just(ObjectState::New),
                    Just(ObjectState::Changed),
                    Just(ObjectState::Unchanged)
                ],
                prop_oneof![
                    Just(Platform::Proxy),
                    Just(Platform::Apns),
                    Just(Platform::Wns)
                ],
            ),
        )
            .prop_map(
                |(
                    (runspace, display_name, enabled, organization, uri, name),
                    (guid, changed, created, server, state, platform),
                )| PushNotificationApp {
                    runspace_id: runspace.map(Guid::from_bytes),
                    display_name,
                    enabled,
                    organization,
                    uri,
                    name,
                    guid: Guid::from_bytes(guid),
                    when_changed: changed,
                    when_created: created,
                    originating_server: server,
                    object_state: state,
                    platform,
                },
            )
    }

    proptest! {
        #[test]
        fn serde_round_trips(app in push_app_strategy()) {
            let json = serde_json::to_string_pretty(&app).unwrap();
            let back: PushNotificationApp = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.when_changed.offset(), app.when_changed.offset());
            prop_assert_eq!(back.when_created.offset(), app.when_created.offset());
            prop_assert_eq!(back, app);
        }

        #[test]
        fn enable_converges_in_one_step(
            existing in proptest::option::of(push_app_strategy()),
            organization in domain_strategy(),
            uri in proptest::option::of(url_strategy()),
            now in datetime_strategy(),
            later in datetime_strategy(),
            new_guid in any::<[u8; 16]>(),
            server in domain_strategy(),
        ) {
            let (first, outcome) = enable_push_proxy(
                existing.as_ref(), &organization, uri.clone(), now, Guid::from_bytes(new_guid), &server);
            prop_assert!(first.enabled);
            prop_assert_eq!(&first.organization, &organization);
            prop_assert_eq!(first.platform, Platform::Proxy);
            if let Some(old) = &existing {
                prop_assert_eq!(first.guid, old.guid);
                prop_assert_eq!(first.when_created, old.when_created);
            }
            let expected_state = match outcome.change {
                Change::Created => ObjectState::New,
                Change::Updated => ObjectState::Changed,
                Change::Unchanged => ObjectState::Unchanged,
            };
            prop_assert_eq!(first.object_state, expected_state);
            let (second, again) = enable_push_proxy(
                Some(&first), &organization, uri, later, Guid::NIL, &server);
            prop_assert_eq!(again.change, Change::Unchanged);
            prop_assert_eq!(PushNotificationApp { object_state: first.object_state, ..second }, first);
        }

        #[test]
        fn list_layout_has_one_row_per_field(app in push_app_strategy()) {
            let text = app.to_list_layout();
            let names: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with(' '))
                .map(|l| l.split(' ').next().unwrap())
                .collect();
            let expected: Vec<&str> = app.to_list_rows().iter().map(|(k, _)| *k).collect();
            prop_assert_eq!(names, expected);
            for line in text.lines() {
                prop_assert!(line.chars().count() <= LIST_WIDTH);
            }
        }
    }
}
