//! A small client of the local cloud's administration API: what an administrator (setup step 3)
//! and the demo do against it.

use anyhow::{Context as _, Result, bail};
use pushproxy_cert::Credential;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// An organisation as the cloud shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The organisation's domain.
    pub domain: String,
    /// Its tenant id.
    pub tenant_id: String,
    /// Its metadata document.
    pub metadata_url: String,
    /// The push service URI for it.
    pub push_uri: String,
    /// The credentials of its Exchange service principal.
    #[serde(default)]
    pub credentials: Vec<CredentialSummary>,
}

/// A registered credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    /// The credential's key id.
    pub key_id: String,
    /// The certificate's thumbprint.
    pub thumbprint: String,
    /// Valid from.
    pub start_date: String,
    /// Valid until.
    pub end_date: String,
}

/// A device in the cloud's registry (what the phone shows).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The tenant.
    pub tenant_id: String,
    /// The app.
    pub app_id: String,
    /// The device.
    pub device_id: String,
    /// The badge the device shows.
    pub badge: u32,
    /// How many publishes reached it.
    #[serde(default)]
    pub publishes: u64,
    /// The APNs request a real delivery would carry.
    #[serde(default)]
    pub apns: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Devices {
    devices: Vec<Device>,
}

/// The local cloud at a base URL.
#[derive(Debug, Clone)]
pub struct CloudClient {
    base: String,
    http: reqwest::Client,
}

impl CloudClient {
    /// A client of the cloud at `base` (e.g. `http://127.0.0.1:8480`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the cloud at {}", self.base))?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/message")
                        .or_else(|| v.get("error_description"))
                        .and_then(|m| m.as_str().map(str::to_owned))
                })
                .unwrap_or(body);
            bail!("the cloud answered {status}: {message}");
        }
        serde_json::from_str(&body)
            .with_context(|| format!("unexpected answer from the cloud: {body}"))
    }

    /// Registers an organisation (idempotent) and returns it.
    pub async fn register(&self, domain: &str) -> Result<Organization> {
        self.send(
            self.http
                .post(format!("{}/admin/organizations", self.base))
                .json(&serde_json::json!({ "domain": domain })),
        )
        .await
    }

    /// An organisation by domain or tenant id.
    pub async fn organization(&self, realm: &str) -> Result<Organization> {
        self.send(
            self.http
                .get(format!("{}/admin/organizations/{realm}", self.base)),
        )
        .await
    }

    /// Uploads a credential to the organisation's Exchange service principal (setup step 3).
    pub async fn add_credential(
        &self,
        realm: &str,
        credential: &Credential,
    ) -> Result<serde_json::Value> {
        self.send(
            self.http
                .post(format!(
                    "{}/admin/organizations/{realm}/credentials",
                    self.base
                ))
                .json(credential),
        )
        .await
    }

    /// Removes a credential by thumbprint or key id.
    pub async fn remove_credential(&self, realm: &str, id: &str) -> Result<serde_json::Value> {
        self.send(self.http.delete(format!(
            "{}/admin/organizations/{realm}/credentials/{id}",
            self.base
        )))
        .await
    }

    /// Every device of a tenant.
    pub async fn devices(&self, tenant: &str) -> Result<Vec<Device>> {
        let devices: Devices = self
            .send(
                self.http
                    .get(format!("{}/devices?tenant={tenant}", self.base)),
            )
            .await?;
        Ok(devices.devices)
    }

    /// Marks a device dead, as APNs would answer 410 Unregistered.
    pub async fn mark_dead(
        &self,
        tenant: &str,
        app: &str,
        device: &str,
    ) -> Result<serde_json::Value> {
        self.send(self.http.post(format!(
            "{}/devices/{tenant}/{app}/{device}/dead",
            self.base
        )))
        .await
    }
}
