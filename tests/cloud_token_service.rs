//! The local cloud's token service over HTTP: organisations, credentials, metadata, the
//! token exchange, and the table of bad assertions against the library and the endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cloud_common;

use cloud_common::*;
use pushproxy::cloud_server::{DIRECTORY_DOCUMENT, SERVICE_KEY_FILE};
use pushproxy_cert::PrivateKey;
use pushproxy_cloud::{Directory, TokenService};
use pushproxy_config::Store;
use pushproxy_token::jwt::Claims;
use pushproxy_token::principal::{Principal, Realm, well_known};
use pushproxy_token::sts::{JWT_BEARER_GRANT, OAuthError, form_encode};
use pushproxy_token::testing::bad_token_cases;
use pushproxy_token::verify::{Validation, verify};

#[tokio::test]
async fn an_organisation_registers_uploads_and_gets_a_token_that_verifies_against_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();

    // Registration is idempotent.
    let (status, first) = post_json(
        &http,
        &cloud.url().join("/admin/organizations"),
        &serde_json::json!({ "domain": "Contoso.com" }),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["created"], true);
    let tenant = register(&http, &cloud, "contoso.com").await;
    assert_eq!(first["tenantId"], tenant.to_string());
    assert_eq!(first["pushUri"], cloud.push_uri());
    let (status, list) = get(&http, &cloud.url().join("/admin/organizations")).await;
    assert_eq!(status, 200);
    assert_eq!(list["organizations"].as_array().unwrap().len(), 1);

    // Setup step 3.
    let certificate = certificate("contoso.com");
    let stored = upload(&http, &cloud, "contoso.com", &certificate).await;
    assert_eq!(stored["thumbprint"], certificate.thumbprint().to_string());
    assert_eq!(stored["type"], "asymmetric");
    assert_eq!(stored["usage"], "Verify");
    let (status, listed) = get(
        &http,
        &cloud
            .url()
            .join("/admin/organizations/contoso.com/credentials"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["credentials"][0]["keyId"], stored["keyId"]);

    // The metadata document, by domain, by tenant id, and with the trailing slash.
    let by_domain = metadata(&http, &cloud, "contoso.com").await;
    let by_id = metadata(&http, &cloud, &tenant.to_string()).await;
    assert_eq!(by_domain, by_id);
    let slash = http
        .get(cloud.url().join("/metadata/json/1/?realm=contoso.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(slash.status().as_u16(), 200);
    assert_eq!(
        by_id.issuer.as_deref(),
        Some(format!("00000001-0000-0000-c000-000000000000@{tenant}").as_str())
    );
    assert_eq!(
        by_id.issuance_endpoint().unwrap().location,
        cloud.url().join(&format!("/{tenant}/tokens/OAuth/2"))
    );

    // The token exchange, as an on-premises server makes it.
    let response = fetch_token(&http, &cloud, tenant, &certificate, push_resource(tenant)).await;
    assert_eq!(response.token_type, "Bearer");
    assert_eq!(response.expires_in, 3600);
    assert_eq!(response.resource, push_resource(tenant));
    let keys = by_domain.key_set().unwrap();
    let validation = Validation::new(push_resource(tenant), TokenService::issuer(tenant));
    let verified = verify(response.access_token.as_str(), &keys, &validation, now()).unwrap();
    assert_eq!(verified.thumbprint(), cloud.certificate().thumbprint());
    assert_eq!(
        verified.claims().nameid,
        format!("00000002-0000-0ff1-ce00-000000000000@{tenant}")
    );

    cloud.stop().await.unwrap();
}

/// The token service exactly as the server runs it, read from its data directory.
fn library_service(
    dir: &std::path::Path,
    cloud: &pushproxy::cloud_server::RunningCloud,
) -> (TokenService, Directory) {
    let key = PrivateKey::from_pem(&std::fs::read_to_string(dir.join(SERVICE_KEY_FILE)).unwrap())
        .unwrap();
    let tokens = TokenService::new(cloud.url().clone(), cloud.certificate().clone(), &key).unwrap();
    let store = Store::open(dir).unwrap();
    let directory: Directory = store.read(DIRECTORY_DOCUMENT).unwrap().unwrap();
    (tokens, directory)
}

#[tokio::test]
async fn every_bad_assertion_is_refused_for_its_own_reason_by_the_library_and_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let tenant = register(&http, &cloud, "contoso.com").await;
    let certificate = certificate("contoso.com");
    upload(&http, &cloud, "contoso.com", &certificate).await;
    let (library, directory) = library_service(dir.path(), &cloud);

    let endpoint = cloud.url().join(&format!("/{tenant}/tokens/OAuth/2"));
    let me = Principal::new(well_known::EXCHANGE, Realm::Tenant(tenant));
    let at = now();
    let good = Claims::new(
        library.assertion_audience(tenant),
        me,
        me.to_string(),
        at - 10,
        at + 590,
    );
    let signer = signer(&certificate);
    let resource = push_resource(tenant).to_string();
    let form = |assertion: &str| {
        form_encode(&[
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", assertion),
            ("resource", resource.as_str()),
        ])
    };

    let cases = bad_token_cases(signer.as_ref(), &good, at).unwrap();
    assert!(cases.len() >= 12);
    for case in &cases {
        let from_library = library
            .handle_token_request(&directory, &tenant.to_string(), &form(&case.token), at)
            .unwrap_err();
        assert_eq!(from_library.check, case.expected, "library, {}", case.name);

        let response = post_form(&http, &endpoint, form(&case.token)).await;
        let status = response.status().as_u16();
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
        let text = response.text().await.unwrap();
        let error = OAuthError::from_json(&text).unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            body["check"], case.expected,
            "endpoint, {}: {text}",
            case.name
        );
        assert_eq!(status, from_library.http_status(), "{}: {text}", case.name);
        assert_eq!(
            error.error,
            from_library.code.as_str(),
            "{}: {text}",
            case.name
        );
        assert!(
            error.error_description.unwrap().contains(case.expected)
                || case.expected == "unknown_key",
            "{}: the description names the check: {text}",
            case.name
        );
    }
    // The good assertion still works, and the server kept serving through the table.
    let good_token = pushproxy_token::jwt::encode_signed(&good, signer.as_ref()).unwrap();
    let response = post_form(&http, &endpoint, form(good_token.as_str())).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_healthy(&http, &cloud).await;
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_requests_get_json_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let tenant = register(&http, &cloud, "contoso.com").await;
    let endpoint = cloud.url().join(&format!("/{tenant}/tokens/OAuth/2"));

    // The token endpoint answers in OAuth's words.
    let cases: Vec<(reqwest::RequestBuilder, u16, &str, &str)> = vec![
        (
            http.post(&endpoint)
                .header("content-type", "application/json")
                .body("{}"),
            400,
            "invalid_request",
            "content_type",
        ),
        (
            http.post(&endpoint)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&assertion=x&resource=y"),
            400,
            "unsupported_grant_type",
            "grant_type",
        ),
        (
            http.post(&endpoint).body(vec![0xff, 0xfe]),
            400,
            "invalid_request",
            "form",
        ),
        (
            http.post(cloud.url().join("/fabrikam.com/tokens/OAuth/2"))
                .body(format!("grant_type={}", JWT_BEARER_GRANT)),
            400,
            "invalid_request",
            "unknown_tenant",
        ),
        (
            http.post(&endpoint).body("x".repeat(600 * 1024)),
            400,
            "invalid_request",
            "body",
        ),
    ];
    for (request, status, error, check) in cases {
        let (got, body) = read(request.send().await.unwrap()).await;
        assert_eq!(
            (got, body["error"].as_str(), body["check"].as_str()),
            (status, Some(error), Some(check)),
            "{body}"
        );
    }

    // Everything else answers {"error":{"code","message"}}.
    let cases = [
        (
            http.get(cloud.url().join("/metadata/json/1")),
            400,
            "MissingRealm",
        ),
        (
            http.get(cloud.metadata_url("fabrikam.com")),
            404,
            "UnknownOrganization",
        ),
        (
            http.get(cloud.metadata_url("not a realm")),
            400,
            "InvalidRealm",
        ),
        (http.get(cloud.url().join("/nowhere")), 404, "NotFound"),
        (
            http.delete(cloud.url().join("/healthz")),
            405,
            "MethodNotAllowed",
        ),
        (
            http.post(cloud.url().join("/admin/organizations"))
                .body("{"),
            400,
            "InvalidJson",
        ),
        (
            http.post(cloud.url().join("/admin/organizations"))
                .json(&serde_json::json!({"domain": "-bad-"})),
            400,
            "InvalidDomain",
        ),
        (
            http.post(cloud.url().join("/admin/organizations"))
                .json(&serde_json::json!({"domain": "a.example", "extra": 1})),
            400,
            "InvalidJson",
        ),
        (
            http.post(
                cloud
                    .url()
                    .join("/admin/organizations/contoso.com/credentials"),
            )
            .json(&serde_json::json!({"type": "asymmetric", "usage": "Verify", "value": "MAA="})),
            400,
            "InvalidCertificate",
        ),
        (
            http.post(
                cloud
                    .url()
                    .join("/admin/organizations/contoso.com/credentials"),
            )
            .json(&serde_json::json!({"type": "symmetric", "usage": "Verify", "value": "MAA="})),
            400,
            "InvalidJson",
        ),
        (
            http.post(
                cloud
                    .url()
                    .join("/admin/organizations/fabrikam.com/credentials"),
            )
            .json(
                &serde_json::to_value(pushproxy_cloud::CredentialUpload::for_certificate(
                    &certificate("fabrikam.com"),
                ))
                .unwrap(),
            ),
            404,
            "UnknownOrganization",
        ),
        (
            http.delete(
                cloud
                    .url()
                    .join("/admin/organizations/contoso.com/credentials/nope"),
            ),
            400,
            "InvalidCredentialRef",
        ),
        (
            http.get(cloud.url().join(&format!("/{tenant}/delegation/issuance"))),
            501,
            "NotImplemented",
        ),
    ];
    for (request, status, code) in cases {
        let (got, body) = read(request.send().await.unwrap()).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_healthy(&http, &cloud).await;
    cloud.stop().await.unwrap();
}

#[tokio::test]
async fn removing_a_credential_stops_its_assertions_until_it_is_uploaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start(dir.path()).await;
    let http = client();
    let tenant = register(&http, &cloud, "contoso.com").await;
    let certificate = certificate("contoso.com");
    let stored = upload(&http, &cloud, "contoso.com", &certificate).await;
    fetch_token(&http, &cloud, tenant, &certificate, push_resource(tenant)).await;

    let credentials = cloud
        .url()
        .join("/admin/organizations/contoso.com/credentials");
    let (status, removed) = read(
        http.delete(format!("{credentials}/{}", certificate.thumbprint()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["keyId"], stored["keyId"]);

    let document = metadata(&http, &cloud, "contoso.com").await;
    let endpoint = document.issuance_endpoint().unwrap().location.clone();
    let assertion = pushproxy_token::mint::sts_assertion(
        signer(&certificate).as_ref(),
        &url_host(&endpoint),
        tenant,
        pushproxy_token::mint::Lifetime::ONE_HOUR,
        now(),
    )
    .unwrap();
    let form =
        pushproxy_token::sts::TokenRequest::new(assertion.token, push_resource(tenant)).to_form();
    let (status, body) = read(post_form(&http, &endpoint, form.clone()).await).await;
    assert_eq!(
        (status, body["error"].as_str(), body["check"].as_str()),
        (401, Some("invalid_client"), Some("unknown_key"))
    );
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(&certificate.thumbprint().to_string()),
        "{description}"
    );
    assert!(description.contains("contoso.com"), "{description}");

    // Uploaded again (a new key id), and removed by key id.
    let again = upload(&http, &cloud, "contoso.com", &certificate).await;
    assert_ne!(again["keyId"], stored["keyId"]);
    let (status, _) = read(post_form(&http, &endpoint, form).await).await;
    assert_eq!(status, 200);
    let key_id = again["keyId"].as_str().unwrap();
    let (status, _) = read(
        http.delete(format!("{credentials}/{key_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = read(
        http.delete(format!("{credentials}/{key_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("UnknownCredential"))
    );
    cloud.stop().await.unwrap();
}
