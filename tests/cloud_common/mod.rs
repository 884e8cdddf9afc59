//! Shared by the local cloud's HTTP tests: a running server on a free loopback port with a
//! temporary data directory, an organisation's key and certificate, and small HTTP helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use pushproxy::cloud_server::{self, CloudConfig, RunningCloud};
use pushproxy_cert::{Certificate, CertificateParams, KeySize, PrivateKey, self_signed};
use pushproxy_cloud::CredentialUpload;
use pushproxy_token::metadata::MetadataDocument;
use pushproxy_token::mint::{Lifetime, sts_assertion};
use pushproxy_token::principal::{Audience, Guid, Host, Realm, well_known};
use pushproxy_token::signer::{Backend, Signer};
use pushproxy_token::sts::{TokenRequest, TokenResponse};
use rand::SeedableRng;
use serde_json::Value;

pub const APP: &str = "com.example.mail";
pub const DEVICE_A: &str = "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b";
pub const DEVICE_B: &str = "0123456789abcdef0123456789abcdef";

/// The wall clock in Unix seconds (the server reads the same clock).
pub fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(seconds).unwrap()
}

/// The organisations' key, made once per test binary.
pub fn org_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::generate(
            KeySize::Bits2048,
            &mut rand::rngs::StdRng::seed_from_u64(2026),
        )
    })
}

/// A certificate for `domain` with the shared key, valid from an hour ago.
pub fn certificate(domain: &str) -> Certificate {
    let start = time::OffsetDateTime::from_unix_timestamp(now() - 3600).unwrap();
    let params = CertificateParams::new(domain.parse().unwrap(), start);
    self_signed(&params, org_key(), &mut rand::rng()).unwrap()
}

pub fn signer(certificate: &Certificate) -> Box<dyn Signer> {
    Backend::best_available()
        .signer(certificate, org_key())
        .unwrap()
}

/// A cloud on a free loopback port over `dir`.
pub async fn start(dir: &std::path::Path) -> RunningCloud {
    cloud_server::spawn(CloudConfig::ephemeral(dir))
        .await
        .expect("the local cloud starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Status and JSON body of a response.
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {text}"));
    (status, value)
}

pub async fn get(http: &reqwest::Client, url: &str) -> (u16, Value) {
    read(http.get(url).send().await.unwrap()).await
}

pub async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    read(http.post(url).json(body).send().await.unwrap()).await
}

/// Registers `domain` and returns its tenant id.
pub async fn register(http: &reqwest::Client, cloud: &RunningCloud, domain: &str) -> Guid {
    let (status, body) = post_json(
        http,
        &cloud.url().join("/admin/organizations"),
        &serde_json::json!({ "domain": domain }),
    )
    .await;
    assert!(status == 201 || status == 200, "{status}: {body}");
    body["tenantId"].as_str().unwrap().parse().unwrap()
}

/// Uploads `certificate` as a credential of `domain` (setup step 3).
pub async fn upload(
    http: &reqwest::Client,
    cloud: &RunningCloud,
    domain: &str,
    certificate: &Certificate,
) -> Value {
    let upload = CredentialUpload::for_certificate(certificate);
    let (status, body) = post_json(
        http,
        &cloud
            .url()
            .join(&format!("/admin/organizations/{domain}/credentials")),
        &serde_json::to_value(&upload).unwrap(),
    )
    .await;
    assert!(status == 201 || status == 200, "{status}: {body}");
    body
}

/// The metadata document of `realm`, fetched over HTTP and read with the token crate.
pub async fn metadata(
    http: &reqwest::Client,
    cloud: &RunningCloud,
    realm: &str,
) -> MetadataDocument {
    let response = http.get(cloud.metadata_url(realm)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    MetadataDocument::parse(&response.text().await.unwrap()).unwrap()
}

/// The host of a URL (with its port).
pub fn url_host(url: &str) -> Host {
    let rest = url.split_once("://").unwrap().1;
    rest.split('/').next().unwrap().parse().unwrap()
}

/// The push service resource at Exchange Online's host.
pub fn push_resource(tenant: Guid) -> Audience {
    Audience::new(
        well_known::EXCHANGE,
        well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
        Realm::Tenant(tenant),
    )
}

/// Posts a form to the token endpoint named by the metadata document.
pub async fn post_form(http: &reqwest::Client, endpoint: &str, form: String) -> reqwest::Response {
    http.post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

/// What an on-premises server does: read the metadata, mint an assertion for the token
/// endpoint's host, exchange it for a token to `resource`.
pub async fn fetch_token(
    http: &reqwest::Client,
    cloud: &RunningCloud,
    tenant: Guid,
    certificate: &Certificate,
    resource: Audience,
) -> TokenResponse {
    let document = metadata(http, cloud, &tenant.to_string()).await;
    let endpoint = document.issuance_endpoint().unwrap().location.clone();
    let assertion = sts_assertion(
        signer(certificate).as_ref(),
        &url_host(&endpoint),
        tenant,
        Lifetime::from_secs(600).unwrap(),
        now(),
    )
    .unwrap();
    let form = TokenRequest::new(assertion.token, resource).to_form();
    let response = post_form(http, &endpoint, form).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    TokenResponse::from_json(&text).unwrap()
}

/// A publish body for `tenant`: one notification with `count` for `devices`.
pub fn batch(tenant: Guid, count: u32, monitoring: bool, devices: &[&str]) -> Value {
    let mut payload = serde_json::json!({ "tenantId": tenant.to_string() });
    if count > 0 {
        payload["unseenEmailCount"] = count.into();
    }
    if monitoring {
        payload["isMonitoring"] = true.into();
    }
    let recipients: Vec<Value> = devices
        .iter()
        .map(|d| serde_json::json!({ "appId": APP, "deviceId": d }))
        .collect();
    serde_json::json!({ "notifications": [{ "payload": payload, "recipients": recipients }] })
}

/// Publishes `body` with `token` as bearer.
pub async fn publish(
    http: &reqwest::Client,
    cloud: &RunningCloud,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    http.post(pushproxy_payload::wire::publish_url(&cloud.push_uri()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The device at (tenant, APP, device): status and JSON.
pub async fn device(
    http: &reqwest::Client,
    cloud: &RunningCloud,
    tenant: Guid,
    device: &str,
) -> (u16, Value) {
    get(
        http,
        &cloud
            .url()
            .join(&format!("/devices/{tenant}/{APP}/{device}")),
    )
    .await
}

/// The server answers its health check.
pub async fn assert_healthy(http: &reqwest::Client, cloud: &RunningCloud) {
    let (status, body) = get(http, &cloud.url().join("/healthz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
}
