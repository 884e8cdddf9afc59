//! The setup view: from the tenant domain and the certificate, the objects the four setup
//! steps make (AuthConfig, AuthServer, the service principal's credential, the proxy app),
//! each as JSON and in the administrator's list layout, and the step-1 reuse rule applied to
//! the certificate.

use std::rc::Rc;

use pushproxy_cert::{Assessment, CertificateRecord, Credential, Services, assess};
use pushproxy_config::{
    AuthConfig, DnsName, EXCHANGE_PRINCIPAL, Guid, HttpsUrl, LIST_WIDTH, PushNotificationApp,
    enable_push_proxy, ensure_auth_server, format_list_wrapped, us_date_time,
};
use time::OffsetDateTime;
use yew::Reducible;

use crate::model::credentials::Credentials;
use crate::model::format;

/// Every Exchange service, in Exchange's order, with its name.
pub fn all_services() -> Vec<(Services, &'static str)> {
    (Services::IMAP
        | Services::POP
        | Services::UM
        | Services::IIS
        | Services::SMTP
        | Services::FEDERATION
        | Services::UM_CALL_ROUTER)
        .iter()
        .collect()
}

/// The setup view's state.
#[derive(Clone, Debug, PartialEq)]
pub struct SetupState {
    /// The tenant (organisation) domain, as typed.
    pub domain: String,
    /// The server running the setup, as typed (empty: `ex01.<domain>`).
    pub server: String,
    /// A push service URI other than the default, as typed (empty: the default).
    pub push_uri: String,
    /// The certificate's friendly name in the store.
    pub friendly_name: String,
    /// The services the certificate is assigned to.
    pub services: Services,
    /// The certificate.
    pub credentials: Option<Rc<Credentials>>,
    /// When the setup runs, in the browser's local offset.
    pub now: OffsetDateTime,
    /// The new proxy app's GUID.
    pub guid: [u8; 16],
}

/// What can happen in the setup view.
#[derive(Debug)]
pub enum SetupAction {
    /// The domain was edited.
    SetDomain(String),
    /// The server name was edited.
    SetServer(String),
    /// The push URI was edited.
    SetPushUri(String),
    /// The friendly name was edited.
    SetFriendlyName(String),
    /// A service was switched on or off.
    ToggleService(Services),
    /// Another certificate is in use (its domain, friendly name and services are taken
    /// over), at `now` (local offset): the setup runs when the certificate is there.
    Credentials {
        /// The certificate.
        credentials: Option<Rc<Credentials>>,
        /// The time, in the local offset.
        now: OffsetDateTime,
    },
    /// Run the setup again now, with a new GUID for the app.
    Rerun {
        /// The time, in the local offset.
        now: OffsetDateTime,
        /// Random bytes for the GUID.
        guid: [u8; 16],
    },
}

/// One configuration object as JSON and as the list layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    /// Pretty JSON.
    pub json: String,
    /// `Name : Value` lines.
    pub list: String,
}

/// The reuse verdict on the certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reuse {
    /// Whether it can be reused.
    pub fits: bool,
    /// Each reason why not, as an administrator reads it.
    pub reasons: Vec<String>,
}

impl From<Assessment> for Reuse {
    fn from(assessment: Assessment) -> Self {
        Self {
            fits: assessment.fits,
            reasons: assessment.reasons.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Everything the setup view shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupOutputs {
    /// The lines the setup prints, step by step.
    pub transcript: Vec<String>,
    /// Step 1: the reuse rule on the certificate.
    pub reuse: Option<Reuse>,
    /// Step 1: AuthConfig.
    pub auth_config: Option<Shown>,
    /// Step 2: the AuthServer `MicrosoftSts`.
    pub auth_server: Shown,
    /// Step 3: the credential of the Exchange service principal.
    pub credential: Option<Shown>,
    /// Step 4: the app `OnPrem-Proxy`.
    pub push_app: Shown,
}

impl SetupState {
    /// The view for `now` (local offset) with the GUID bytes of the new app.
    pub fn new(now: OffsetDateTime, guid: [u8; 16]) -> Self {
        Self {
            domain: "contoso.com".to_owned(),
            server: String::new(),
            push_uri: String::new(),
            friendly_name: String::new(),
            services: Services::NONE,
            credentials: None,
            now,
            guid,
        }
    }

    /// What the setup makes of the inputs, or what is wrong with them.
    pub fn outputs(&self) -> Result<SetupOutputs, String> {
        let domain: DnsName = self
            .domain
            .trim()
            .parse()
            .map_err(|e| format!("tenant domain: {e}"))?;
        let server: DnsName = if self.server.trim().is_empty() {
            format!("ex01.{domain}").parse()
        } else {
            self.server.trim().parse()
        }
        .map_err(|e| format!("server: {e}"))?;
        let uri = if self.push_uri.trim().is_empty() {
            None
        } else {
            Some(
                self.push_uri
                    .trim()
                    .parse::<HttpsUrl>()
                    .map_err(|e| format!("push service URI: {e}"))?,
            )
        };

        let mut transcript = Vec::new();
        let mut reuse = None;
        let mut auth_config = None;
        let mut credential = None;
        match &self.credentials {
            Some(credentials) => {
                let certificate = &credentials.certificate;
                let record = CertificateRecord::new(
                    certificate.clone(),
                    self.friendly_name.clone(),
                    self.services,
                );
                let verdict: Reuse = assess(&record, &domain, self.now).into();
                transcript.push(if verdict.fits {
                    format!(
                        "Step 1: certificate {} fits the OAuth rule and is used.",
                        certificate.thumbprint()
                    )
                } else {
                    format!(
                        "Step 1: certificate {} does not fit the OAuth rule ({} reason(s)); setup would create a new self-signed one. Shown here with the certificate you have.",
                        certificate.thumbprint(),
                        verdict.reasons.len()
                    )
                });
                reuse = Some(verdict);

                let mut config = AuthConfig::default();
                let outcome = config.set_current_certificate(certificate.thumbprint());
                transcript.extend(outcome.messages.iter().map(ToString::to_string));
                auth_config = Some(Shown {
                    json: format::pretty_value(&config)?,
                    list: format_list_wrapped(&auth_config_rows(&config), LIST_WIDTH),
                });

                let value = Credential::for_certificate(certificate);
                transcript.push(format!(
                    "Step 3: upload the certificate to the service principal {EXCHANGE_PRINCIPAL} as an asymmetric Verify credential."
                ));
                credential = Some(Shown {
                    json: format::pretty_value(&value)?,
                    list: format_list_wrapped(&credential_rows(&value), LIST_WIDTH),
                });
            }
            None => transcript.push(
                "Step 1: no certificate yet: generate or load one on the Certificate tab."
                    .to_owned(),
            ),
        }

        let (server_entry, outcome) =
            ensure_auth_server(None, &domain, &HttpsUrl::default_authority());
        transcript.extend(outcome.messages.iter().map(ToString::to_string));
        let auth_server = Shown {
            json: format::pretty_value(&server_entry)?,
            list: format_list_wrapped(
                &[
                    ("Name", server_entry.name.clone()),
                    (
                        "IssuerIdentifier",
                        server_entry.issuer_identifier.clone().unwrap_or_default(),
                    ),
                    (
                        "TokenIssuingEndpoint",
                        server_entry
                            .token_issuing_endpoint
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    ),
                    (
                        "AuthMetadataUrl",
                        server_entry.auth_metadata_url.to_string(),
                    ),
                    ("Type", server_entry.kind.as_str().to_owned()),
                    ("Realm", server_entry.realm.clone().unwrap_or_default()),
                    ("Enabled", powershell_bool(server_entry.enabled).to_owned()),
                ],
                LIST_WIDTH,
            ),
        };

        let (app, outcome): (PushNotificationApp, _) = enable_push_proxy(
            None,
            &domain,
            uri,
            self.now,
            Guid::from_random_bytes(self.guid),
            &server,
        );
        transcript.extend(outcome.messages.iter().map(ToString::to_string));
        let push_app = Shown {
            json: format::pretty_value(&app)?,
            list: app.to_list_layout(),
        };

        Ok(SetupOutputs {
            transcript,
            reuse,
            auth_config,
            auth_server,
            credential,
            push_app,
        })
    }
}

fn powershell_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

fn auth_config_rows(config: &AuthConfig) -> Vec<(&'static str, String)> {
    let thumbprint =
        |t: Option<pushproxy_config::Thumbprint>| t.map(|t| t.to_string()).unwrap_or_default();
    vec![
        (
            "CurrentCertificateThumbprint",
            thumbprint(config.current_certificate_thumbprint),
        ),
        (
            "PreviousCertificateThumbprint",
            thumbprint(config.previous_certificate_thumbprint),
        ),
        (
            "NextCertificateThumbprint",
            thumbprint(config.next_certificate_thumbprint),
        ),
        (
            "NextCertificateEffectiveDate",
            config
                .next_certificate_effective_date
                .map(us_date_time)
                .unwrap_or_default(),
        ),
        ("ServiceName", config.service_name.to_string()),
        ("Realm", config.realm.clone().unwrap_or_default()),
    ]
}

fn credential_rows(credential: &Credential) -> Vec<(&'static str, String)> {
    vec![
        ("Type", "Asymmetric".to_owned()),
        ("Usage", "Verify".to_owned()),
        ("StartDate", us_date_time(credential.start_date)),
        ("EndDate", us_date_time(credential.end_date)),
        ("Value", credential.value.clone()),
    ]
}

impl Reducible for SetupState {
    type Action = SetupAction;

    fn reduce(self: Rc<Self>, action: SetupAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            SetupAction::SetDomain(domain) => next.domain = domain,
            SetupAction::SetServer(server) => next.server = server,
            SetupAction::SetPushUri(uri) => next.push_uri = uri,
            SetupAction::SetFriendlyName(name) => next.friendly_name = name,
            SetupAction::ToggleService(flag) => {
                next.services = if next.services.contains(flag) {
                    all_services()
                        .into_iter()
                        .map(|(s, _)| s)
                        .filter(|s| *s != flag && next.services.contains(*s))
                        .fold(Services::NONE, |all, s| all | s)
                } else {
                    next.services | flag
                };
            }
            SetupAction::Credentials { credentials, now } => {
                next.now = now;
                if let Some(credentials) = &credentials {
                    if let Some(name) = credentials.certificate.subject_common_name() {
                        next.domain = name.to_owned();
                    }
                    next.friendly_name = credentials.friendly_name.clone();
                    next.services = credentials.services;
                }
                next.credentials = credentials;
            }
            SetupAction::Rerun { now, guid } => {
                next.now = now;
                next.guid = guid;
            }
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials::tests::{NOW, generated};
    use time::macros::offset;

    fn state() -> Rc<SetupState> {
        Rc::new(SetupState::new(NOW.to_offset(offset!(-7)), [42; 16]))
    }

    #[test]
    fn without_a_certificate_steps_two_and_four_still_show() {
        let outputs = state().outputs().unwrap();
        assert!(outputs.auth_config.is_none());
        assert!(outputs.credential.is_none());
        assert!(outputs.reuse.is_none());
        assert!(outputs.auth_server.list.contains(
            "AuthMetadataUrl      : https://accounts.accesscontrol.windows.net/metadata/json/1/?realm=contoso.com"
        ));
        assert!(
            outputs
                .push_app
                .list
                .contains("DisplayName       : On Premises Proxy app")
        );
        assert!(
            outputs
                .push_app
                .list
                .contains("OriginatingServer : ex01.contoso.com")
        );
        assert!(
            outputs
                .push_app
                .list
                .contains("WhenCreated       : 3/1/2026 5:00:00 AM")
        );
        assert!(
            outputs
                .push_app
                .list
                .contains("WhenCreatedUTC    : 3/1/2026 12:00:00 PM")
        );
        assert!(
            outputs
                .transcript
                .contains(&"Creating AuthServer Config...".to_owned())
        );
    }

    #[test]
    fn a_generated_certificate_fits_and_fills_every_step() {
        let credentials = Rc::new(generated());
        let thumbprint = credentials.certificate.thumbprint().to_string();
        let state = state().reduce(SetupAction::Credentials {
            credentials: Some(credentials.clone()),
            now: NOW,
        });
        assert_eq!(state.friendly_name, "Exchange S2S OAuth");
        let outputs = state.outputs().unwrap();
        let reuse = outputs.reuse.unwrap();
        assert!(reuse.fits, "{:?}", reuse.reasons);
        let auth_config = outputs.auth_config.unwrap();
        assert!(auth_config.json.contains(&format!(
            "\"CurrentCertificateThumbprint\": \"{thumbprint}\""
        )));
        assert!(
            auth_config
                .list
                .starts_with(&format!("CurrentCertificateThumbprint  : {thumbprint}\n"))
        );
        let credential = outputs.credential.unwrap();
        assert!(credential.json.contains("\"type\": \"asymmetric\""));
        assert!(
            credential
                .json
                .contains(&credentials.certificate.to_base64_der())
        );
        assert!(outputs.transcript.contains(&format!(
            "Configured Certificate Thumbprint is: {thumbprint}"
        )));
    }

    #[test]
    fn regression_a_certificate_made_after_the_page_opened_is_valid_at_setup() {
        // The view was created an hour before the certificate; the setup runs when the
        // certificate arrives, so it must not find the certificate "not valid yet".
        let opened = Rc::new(SetupState::new(NOW - time::Duration::hours(1), [7; 16]));
        let state = opened.reduce(SetupAction::Credentials {
            credentials: Some(Rc::new(generated())),
            now: NOW,
        });
        let reuse = state.outputs().unwrap().reuse.unwrap();
        assert!(reuse.fits, "{:?}", reuse.reasons);
    }

    #[test]
    fn each_misfit_is_explained() {
        let state = state()
            .reduce(SetupAction::Credentials {
                credentials: Some(Rc::new(generated())),
                now: NOW,
            })
            .reduce(SetupAction::SetDomain("fabrikam.com".to_owned()))
            .reduce(SetupAction::SetFriendlyName("IIS".to_owned()))
            .reduce(SetupAction::ToggleService(Services::FEDERATION))
            .reduce(SetupAction::ToggleService(Services::IIS));
        assert_eq!(state.services, Services::IIS);
        let reuse = state.outputs().unwrap().reuse.unwrap();
        assert!(!reuse.fits);
        assert_eq!(reuse.reasons.len(), 3, "{:?}", reuse.reasons);
        assert!(reuse.reasons[0].contains("fabrikam.com"));
        assert!(reuse.reasons[1].contains("neither SMTP nor Federation"));
        assert!(reuse.reasons[2].contains("OAuth"));

        let later = state.reduce(SetupAction::Rerun {
            now: NOW + time::Duration::days(2000),
            guid: [1; 16],
        });
        let reuse = later.outputs().unwrap().reuse.unwrap();
        assert!(reuse.reasons.iter().any(|r| r.contains("expired")));
    }

    #[test]
    fn bad_inputs_say_which_field() {
        let state = state().reduce(SetupAction::SetDomain("no spaces allowed".to_owned()));
        assert!(state.outputs().unwrap_err().starts_with("tenant domain:"));
        let state = state
            .reduce(SetupAction::SetDomain("contoso.com".to_owned()))
            .reduce(SetupAction::SetPushUri(
                "http://example.com/push".to_owned(),
            ));
        assert!(
            state
                .outputs()
                .unwrap_err()
                .starts_with("push service URI:")
        );
        let state = state.reduce(SetupAction::SetPushUri(
            "https://push.example.com/PushNotifications".to_owned(),
        ));
        assert!(
            state
                .outputs()
                .unwrap()
                .push_app
                .list
                .contains("Uri               : https://push.example.com/PushNotifications")
        );
    }

    #[test]
    fn services_toggle_on_and_off() {
        let state = state()
            .reduce(SetupAction::ToggleService(Services::SMTP))
            .reduce(SetupAction::ToggleService(Services::IMAP));
        assert_eq!(state.services, Services::SMTP | Services::IMAP);
        let state = state.reduce(SetupAction::ToggleService(Services::SMTP));
        assert_eq!(state.services, Services::IMAP);
        assert_eq!(all_services().len(), 7);
    }
}
