//! The connectivity probe (`PushNotifications.Proxy\PushNotificationsEnterpriseConnectivityProbe`):
//! one monitoring batch through the configured proxy URI, with every step checked in order, so
//! that a failure says exactly which step failed and what to do about it.

use std::path::Path;
use std::time::Duration;

use pushproxy_config::format_list;
use pushproxy_payload::wire::{Notification, Payload, PublishBatch, PublishResponse};
use pushproxy_payload::{AppId, DeviceId, Recipient, TenantId, UnseenCount};
use pushproxy_token::signer::Backend;
use serde::Serialize;

use crate::datadir::DataDir;
use crate::proxy::{
    OnPremises, TokenFailure, discover, error_chain, fetch_token, push_resource, unix_now,
};

/// The steps the probe walks through, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeStep {
    /// The OAuth certificate and its key (setup step 1).
    Certificate,
    /// AuthConfig, the auth server and the proxy app (setup steps 1, 2 and 4).
    AuthConfig,
    /// Reaching the token service and reading its metadata.
    TokenService,
    /// The certificate is registered as a credential in the cloud (setup step 3).
    CredentialNotRegistered,
    /// Reaching the push service.
    PushServiceUnreachable,
    /// The push service refused the monitoring batch.
    Rejected,
}

impl ProbeStep {
    /// The step's name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::AuthConfig => "auth config",
            Self::TokenService => "token service",
            Self::CredentialNotRegistered => "credential not registered",
            Self::PushServiceUnreachable => "push service unreachable",
            Self::Rejected => "rejected",
        }
    }
}

/// What the probe found: `ResultType`, `Error` and `Exception` as the original prints them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProbeReport {
    /// `Succeeded` or `Failed`.
    pub result_type: String,
    /// The failed step and what went wrong (empty on success).
    pub error: String,
    /// What to do about it, and the underlying error (empty on success).
    pub exception: String,
    /// The failed step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<ProbeStep>,
}

impl ProbeReport {
    fn succeeded() -> Self {
        Self {
            result_type: "Succeeded".to_owned(),
            error: String::new(),
            exception: String::new(),
            step: None,
        }
    }

    fn failed(step: ProbeStep, error: impl Into<String>, what_to_do: impl Into<String>) -> Self {
        Self {
            result_type: "Failed".to_owned(),
            error: format!("{}: {}", step.as_str(), error.into()),
            exception: what_to_do.into(),
            step: Some(step),
        }
    }

    /// Whether the probe succeeded.
    pub fn is_success(&self) -> bool {
        self.step.is_none()
    }

    /// The original's `fl ResultType, Error, Exception` layout.
    pub fn to_list_layout(&self) -> String {
        format_list(&[
            ("ResultType", self.result_type.clone()),
            ("Error", self.error.clone()),
            ("Exception", self.exception.clone()),
        ])
    }
}

/// The monitoring recipient: a batch needs one, and the cloud never delivers monitoring
/// batches to a device.
fn monitoring_recipient() -> Result<Recipient, String> {
    let app: AppId = "PushNotifications.Proxy.Monitoring"
        .parse()
        .map_err(|e| format!("{e}"))?;
    let device: DeviceId = "connectivity-probe".parse().map_err(|e| format!("{e}"))?;
    Ok(Recipient::new(app, device))
}

/// Runs the probe against the data directory's configuration.
pub async fn probe(data_dir: &Path, backend: Backend, timeout: Duration) -> ProbeReport {
    // Certificate and configuration.
    let data = match DataDir::open(data_dir) {
        Ok(data) => data,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::AuthConfig,
                format!("{e:#}"),
                "Check --data-dir (or PUSHPROXY_DATA_DIR) points at the proxy's data directory.",
            );
        }
    };
    let config = match data.config() {
        Ok(config) => config,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::AuthConfig,
                format!("{e:#}"),
                "Fix or move the configuration file named above, then run the probe again.",
            );
        }
    };
    if config.auth_config.current_certificate_thumbprint.is_none() {
        return ProbeReport::failed(
            ProbeStep::AuthConfig,
            "AuthConfig has no CurrentCertificateThumbprint",
            "Run setup step 1: `pushproxy setup --tenant-domain <tenant domain>`.",
        );
    }
    match data.current_signing_certificate() {
        Ok((certificate, _)) => {
            let now = time::OffsetDateTime::now_utc();
            if !certificate.is_valid_at(now) {
                return ProbeReport::failed(
                    ProbeStep::Certificate,
                    format!(
                        "certificate {} is outside its validity ({} to {})",
                        certificate.thumbprint(),
                        certificate.not_before(),
                        certificate.not_after()
                    ),
                    "Create a new certificate, upload it as a credential, and make it current \
                     (`pushproxy auth-config set --next-certificate-thumbprint ... \
                     --next-effective-date ...`).",
                );
            }
        }
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::Certificate,
                format!("{e:#}"),
                "Run setup step 1 again (`pushproxy setup --tenant-domain <tenant domain>`) or \
                 import the certificate with its key (`pushproxy certificate import`).",
            );
        }
    }
    let on_prem = match OnPremises::load(&data, backend) {
        Ok(on_prem) => on_prem,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::AuthConfig,
                format!("{e:#}"),
                "Complete setup steps 2 and 4 as the message says.",
            );
        }
    };

    let http = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(http) => http,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::TokenService,
                error_chain(&e),
                "The HTTP client could not start.",
            );
        }
    };

    // Token service.
    let service = match discover(&http, &on_prem.metadata_url).await {
        Ok((_, service)) => service,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::TokenService,
                e.to_string(),
                format!(
                    "Check that the token service is reachable from this server and that the \
                     MicrosoftSts AuthMetadataUrl ({}) names your tenant domain.",
                    on_prem.metadata_url
                ),
            );
        }
    };
    let resource = match push_resource(&on_prem.push_uri, service.realm) {
        Ok(r) => r,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::AuthConfig,
                format!("{e:#}"),
                "Fix the push proxy's Uri (`pushproxy push-proxy enable --uri ...`).",
            );
        }
    };
    let token = match fetch_token(
        &http,
        &service,
        on_prem.signer.as_ref(),
        resource,
        unix_now(),
    )
    .await
    {
        Ok(token) => token,
        Err(TokenFailure::Refused {
            status,
            error,
            description,
        }) if description.contains("no credential") || error == "invalid_client" => {
            return ProbeReport::failed(
                ProbeStep::CredentialNotRegistered,
                format!(
                    "the token service refused the assertion ({status} {error}): {description}"
                ),
                format!(
                    "Upload the certificate {} as a credential of the Exchange service principal \
                     (setup step 3): `pushproxy credential add`.",
                    on_prem.certificate.thumbprint()
                ),
            );
        }
        Err(e @ TokenFailure::Unreachable { .. }) => {
            return ProbeReport::failed(
                ProbeStep::TokenService,
                e.to_string(),
                "Check that the token service is reachable from this server.",
            );
        }
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::TokenService,
                e.to_string(),
                "The token service refused the request; its message says which check failed.",
            );
        }
    };

    // Push service: one monitoring batch.
    let body = match monitoring_batch(&service.realm.to_string()) {
        Ok(body) => body,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::AuthConfig,
                e,
                "The tenant id from the metadata cannot be used in a batch.",
            );
        }
    };
    let url = pushproxy_payload::wire::publish_url(on_prem.push_uri.as_str());
    let response = match http
        .post(&url)
        .bearer_auth(token.access_token.as_str())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return ProbeReport::failed(
                ProbeStep::PushServiceUnreachable,
                format!("POST {url}: {}", error_chain(&e)),
                format!(
                    "Check that {} is reachable from this server (proxy, firewall) and that the \
                     push proxy's Uri is right.",
                    on_prem.push_uri
                ),
            );
        }
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return ProbeReport::failed(
            ProbeStep::Rejected,
            format!("the push service answered {status}: {}", text.trim()),
            if status.as_u16() == 401 || status.as_u16() == 403 {
                "The push service did not accept the token: check the tenant domain of the push \
                 proxy and of the auth server."
            } else {
                "The push service refused the monitoring batch; its answer says why."
            },
        );
    }
    match PublishResponse::from_json(text.as_bytes()) {
        Ok(r) if r.monitoring => ProbeReport::succeeded(),
        Ok(_) => ProbeReport::failed(
            ProbeStep::Rejected,
            "the push service did not treat the batch as monitoring",
            "The push service may deliver monitoring batches to devices; check the Uri.",
        ),
        Err(e) => ProbeReport::failed(
            ProbeStep::Rejected,
            format!("the push service's answer cannot be read: {e}"),
            "Check that the push proxy's Uri points at the push service.",
        ),
    }
}

/// The monitoring batch for a tenant.
pub fn monitoring_batch(tenant: &str) -> Result<Vec<u8>, String> {
    let tenant: TenantId = tenant.parse().map_err(|e| format!("{e}"))?;
    let mut payload = Payload::new(tenant, UnseenCount::ZERO);
    payload.is_monitoring = true;
    let notification =
        Notification::new(payload, vec![monitoring_recipient()?]).map_err(|e| format!("{e}"))?;
    let batch = PublishBatch::new(vec![notification]).map_err(|e| format!("{e}"))?;
    serde_json::to_vec(&batch).map_err(|e| e.to_string())
}
