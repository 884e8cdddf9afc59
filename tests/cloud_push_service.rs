//! The local cloud's push service over HTTP: publishing with a token from the token
//! service, badges read back from the device registry, tenant isolation, monitoring, dead
//! devices, refused tokens, and a restart on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cloud_common;

use cloud_common::*;
use pushproxy::cloud_server::{CloudConfig, SERVICE_KEY_FILE, spawn};
use pushproxy_cert::PrivateKey;
use pushproxy_cloud::TokenService;
use pushproxy_payload::wire::{Fault, PublishResponse};
use pushproxy_token::jwt::{Claims, encode_signed};
use pushproxy_token::principal::{Audience, Guid, Realm, well_known};
use pushproxy_token::signer::Backend;
use pushproxy_token::sts::BearerChallenge;
use pushproxy_token::testing::bad_token_cases;
use serde_json::Value;

const CHALLENGE: &str = r#"Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0001-0000-c000-000000000000@*""#;

struct Org {
    tenant: Guid,
    token: String,
}

/// Registers `domain`, uploads its certificate and fetches a push-service token.
async fn org(
    http: &reqwest::Client,
    cloud: &pushproxy::cloud_server::RunningCloud,
    domain: &str,
) -> Org {
    let tenant = register(http, cloud, domain).await;
    let certificate = certificate(domain);
    upload(http, cloud, domain, &certificate).await;
    let token = fetch_token(http, cloud, tenant, &certificate, push_resource(tenant))
        .await
        .access_token
        .into_string();
    Org { tenant, token }
}

async fn accepted(response: reqwest::Response) -> PublishResponse {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    PublishResponse::from_json(text.as_bytes()).unwrap()
}

fn badge(device: &Value) -> u64 {
    device["badge"].as_u64().unwrap()
}

#[tokio::test]
async fn a_published_count_becomes_the_badge_with_its_apns_request() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let contoso = org(&http, &cloud, "contoso.com").await;
    let tenant = contoso.tenant;

    let response = accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(tenant, 3, false, &[DEVICE_A, DEVICE_B]),
        )
        .await,
    )
    .await;
    assert_eq!(
        response,
        PublishResponse {
            accepted: 2,
            ..PublishResponse::default()
        }
    );
    let (status, phone) = device(&http, &cloud, tenant, DEVICE_A).await;
    assert_eq!(status, 200, "{phone}");
    assert_eq!(badge(&phone), 3);
    assert_eq!(phone["apns"]["method"], "POST");
    assert_eq!(phone["apns"]["path"], format!("/3/device/{DEVICE_A}"));
    assert_eq!(phone["apns"]["body"], r#"{"aps":{"badge":3}}"#);
    assert_eq!(
        phone["apns"]["headers"][0],
        serde_json::json!(["apns-topic", APP])
    );
    assert_eq!(
        phone["apns"]["headers"][1],
        serde_json::json!(["apns-push-type", "alert"])
    );

    // The count drops to 0: the badge is cleared with an explicit 0.
    accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(tenant, 0, false, &[DEVICE_A]),
        )
        .await,
    )
    .await;
    let (_, phone) = device(&http, &cloud, tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 0);
    assert_eq!(phone["apns"]["body"], r#"{"aps":{"badge":0}}"#);
    let (_, other) = device(&http, &cloud, tenant, DEVICE_B).await;
    assert_eq!(badge(&other), 3);

    // The registry lists the tenant's devices, by tenant id or domain.
    for tenant_ref in [tenant.to_string(), "contoso.com".to_owned()] {
        let (status, list) = get(
            &http,
            &cloud.url().join(&format!("/devices?tenant={tenant_ref}")),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(list["devices"].as_array().unwrap().len(), 2, "{list}");
    }
    let (status, missing) = device(&http, &cloud, tenant, "ffffffffffffffffffffffffffffffff").await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("UnknownDevice"))
    );
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn a_token_for_the_clouds_own_host_works_with_or_without_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let tenant = register(&http, &cloud, "contoso.com").await;
    let certificate = certificate("contoso.com");
    upload(&http, &cloud, "contoso.com", &certificate).await;
    let with_port = url_host(&cloud.push_uri());
    let without_port: pushproxy_token::principal::Host =
        cloud.addr().ip().to_string().parse().unwrap();
    for host in [with_port, without_port] {
        let resource = Audience::new(well_known::EXCHANGE, host, Realm::Tenant(tenant));
        let token = fetch_token(&http, &cloud, tenant, &certificate, resource).await;
        let body = batch(tenant, 1, false, &[DEVICE_A]);
        accepted(publish(&http, &cloud, token.access_token.as_str(), &body).await).await;
    }
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn an_organisation_cannot_push_to_another_organisations_devices() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let contoso = org(&http, &cloud, "contoso.com").await;
    let fabrikam = org(&http, &cloud, "fabrikam.com").await;
    accepted(
        publish(
            &http,
            &cloud,
            &fabrikam.token,
            &batch(fabrikam.tenant, 7, false, &[DEVICE_A]),
        )
        .await,
    )
    .await;

    let response = publish(
        &http,
        &cloud,
        &contoso.token,
        &batch(fabrikam.tenant, 99, false, &[DEVICE_A]),
    )
    .await;
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.headers().get("www-authenticate").is_none());
    let fault = Fault::from_json(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(fault.code, "TenantMismatch");
    assert!(
        fault.message.contains(&contoso.tenant.to_string()),
        "{}",
        fault.message
    );
    assert!(
        fault.message.contains(&fabrikam.tenant.to_string()),
        "{}",
        fault.message
    );

    let (_, phone) = device(&http, &cloud, fabrikam.tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 7);
    let (status, _) = device(&http, &cloud, contoso.tenant, DEVICE_A).await;
    assert_eq!(status, 404);
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn monitoring_is_acknowledged_and_never_reaches_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let contoso = org(&http, &cloud, "contoso.com").await;
    accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(contoso.tenant, 4, false, &[DEVICE_A]),
        )
        .await,
    )
    .await;
    let (_, before) = get(&http, &cloud.url().join("/devices")).await;

    let response = accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(contoso.tenant, 50, true, &[DEVICE_A, DEVICE_B]),
        )
        .await,
    )
    .await;
    assert!(response.monitoring);
    assert_eq!(response.accepted, 2);
    let (_, after) = get(&http, &cloud.url().join("/devices")).await;
    assert_eq!(after, before);
    let (_, phone) = device(&http, &cloud, contoso.tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 4);
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn dead_devices_are_reported_back() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let contoso = org(&http, &cloud, "contoso.com").await;
    let tenant = contoso.tenant;
    accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(tenant, 1, false, &[DEVICE_A, DEVICE_B]),
        )
        .await,
    )
    .await;

    let dead_url = cloud
        .url()
        .join(&format!("/devices/contoso.com/{APP}/{DEVICE_A}/dead"));
    let (status, record) = read(http.post(&dead_url).send().await.unwrap()).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["dead"]["reason"], "Unregistered");
    let (status, body) =
        post_json(&http, &dead_url, &serde_json::json!({ "reason": "Gone" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("InvalidJson"))
    );

    let response = accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(tenant, 5, false, &[DEVICE_A, DEVICE_B, "zz"]),
        )
        .await,
    )
    .await;
    assert_eq!(response.accepted, 1);
    let dead: Vec<(String, String)> = response
        .dead
        .iter()
        .map(|d| (d.device_id.to_string(), format!("{:?}", d.reason)))
        .collect();
    assert_eq!(
        dead,
        [
            (DEVICE_A.to_owned(), "Unregistered".to_owned()),
            ("zz".to_owned(), "BadDeviceToken".to_owned())
        ]
    );
    let (_, phone) = device(&http, &cloud, tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 1);
    let (_, other) = device(&http, &cloud, tenant, DEVICE_B).await;
    assert_eq!(badge(&other), 5);
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn refused_tokens_get_401_with_the_challenge_each_for_its_own_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let contoso = org(&http, &cloud, "contoso.com").await;
    let tenant = contoso.tenant;
    let body = batch(tenant, 2, false, &[DEVICE_A]);
    let url = pushproxy_payload::wire::publish_url(&cloud.push_uri());

    // No token at all.
    let response = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(challenge, CHALLENGE);
    let parsed = BearerChallenge::parse(&challenge).unwrap();
    assert_eq!(parsed.client_id, Some(well_known::EXCHANGE));
    let (_, fault) = read(response).await;
    assert_eq!(fault["error"]["check"], "missing_token");

    // The shared table of bad tokens, signed with the token service's own key (read from
    // its data directory, where it must be private to its owner).
    let key_path = dir.path().join(SERVICE_KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = PrivateKey::from_pem(&std::fs::read_to_string(&key_path).unwrap()).unwrap();
    let signer = Backend::best_available()
        .signer(cloud.certificate(), &key)
        .unwrap();
    let at = now();
    let issuer = TokenService::issuer(tenant);
    let good = Claims::new(
        push_resource(tenant),
        issuer,
        format!("00000002-0000-0ff1-ce00-000000000000@{tenant}"),
        at - 10,
        at + 590,
    );
    let good_token = encode_signed(&good, signer.as_ref()).unwrap();
    accepted(publish(&http, &cloud, good_token.as_str(), &body).await).await;
    for case in bad_token_cases(signer.as_ref(), &good, at).unwrap() {
        let response = publish(&http, &cloud, &case.token, &body).await;
        assert_eq!(response.status().as_u16(), 401, "{}", case.name);
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            CHALLENGE,
            "{}",
            case.name
        );
        let (_, fault) = read(response).await;
        assert_eq!(fault["error"]["code"], "InvalidToken", "{}", case.name);
        assert_eq!(
            fault["error"]["check"], case.expected,
            "{}: {fault}",
            case.name
        );
    }

    // The organisation's own certificate does not make push-service tokens.
    let own = signer_for_contoso();
    let forged = encode_signed(&good, own.as_ref()).unwrap();
    let (status, fault) = read(publish(&http, &cloud, forged.as_str(), &body).await).await;
    assert_eq!(
        (status, fault["error"]["check"].as_str()),
        (401, Some("unknown_key"))
    );

    let (_, phone) = device(&http, &cloud, tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 2);
    assert_healthy(&http, &cloud).await;
    cloud.stop().await.unwrap();
}

fn signer_for_contoso() -> Box<dyn pushproxy_token::signer::Signer> {
    signer(&certificate("contoso.com"))
}

#[tokio::test]
async fn a_restart_keeps_the_tenant_the_service_certificate_and_the_badges() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let contoso = org(&http, &cloud, "contoso.com").await;
    accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(contoso.tenant, 6, false, &[DEVICE_A]),
        )
        .await,
    )
    .await;
    let before = metadata(&http, &cloud, "contoso.com").await;
    let addr = cloud.addr();
    let thumbprint = cloud.certificate().thumbprint();
    cloud.stop().await.unwrap();

    // The same address and data directory.
    let mut config = CloudConfig::ephemeral(dir.path());
    config.listen = addr;
    let cloud = spawn(config).await.unwrap();
    assert_eq!(cloud.certificate().thumbprint(), thumbprint);
    let after = metadata(&http, &cloud, "contoso.com").await;
    assert_eq!(after.realm, Some(contoso.tenant.to_string()));
    assert_eq!(after, before);
    let (_, list) = get(&http, &cloud.url().join("/admin/organizations")).await;
    assert_eq!(
        list["organizations"][0]["tenantId"],
        contoso.tenant.to_string()
    );
    assert_eq!(
        list["organizations"][0]["credentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, phone) = device(&http, &cloud, contoso.tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 6);

    // A token issued before the restart is still good.
    accepted(
        publish(
            &http,
            &cloud,
            &contoso.token,
            &batch(contoso.tenant, 8, false, &[DEVICE_A]),
        )
        .await,
    )
    .await;
    let (_, phone) = device(&http, &cloud, contoso.tenant, DEVICE_A).await;
    assert_eq!(badge(&phone), 8);
    cloud.stop().await.unwrap();
}
