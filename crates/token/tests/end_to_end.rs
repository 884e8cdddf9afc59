//! The whole flow with a real certificate: sign with each backend, publish the
//! certificate in a metadata document, verify from it, and refuse the bad-token table.
#![allow(clippy::unwrap_used)]

mod common;

use common::{NOW, exchange, fixture, good_claims, push_audience, tenant};
use proptest::prelude::*;
use pushproxy_cert::{Certificate, CertificateParams, KeySize, PrivateKey, self_signed};
use pushproxy_token::jwt;
use pushproxy_token::metadata::{Endpoint, MetadataDocument, MetadataKey, PROTOCOL_OAUTH2};
use pushproxy_token::mint::{self, ActorToken, Lifetime};
use pushproxy_token::principal::{Host, Principal, Realm, well_known};
use pushproxy_token::signer::{Backend, RustCryptoSigner, Signer};
use pushproxy_token::sts::{TokenRequest, TokenResponse};
use pushproxy_token::testing::bad_token_cases;
use pushproxy_token::verify::{KeySet, Validation, verify};
use pushproxy_token::{Error, VerifyError};
use rand::SeedableRng;

fn signers() -> Vec<Box<dyn Signer>> {
    let f = fixture();
    Backend::ALL
        .into_iter()
        .filter(|b| b.is_available())
        .map(|b| b.signer(&f.certificate, &f.key).unwrap())
        .collect()
}

#[test]
fn every_backend_signs_identically_and_verifies() {
    let f = fixture();
    let keys = KeySet::from_certificates([&f.certificate]).unwrap();
    let validation = Validation::new(push_audience(), exchange());
    let tokens: Vec<String> = signers()
        .iter()
        .map(|s| {
            assert_eq!(s.thumbprint(), f.certificate.thumbprint());
            assert_eq!(s.x5t(), f.certificate.x5t());
            let minted = ActorToken::new(push_audience(), Lifetime::ONE_HOUR)
                .mint(s.as_ref(), NOW)
                .unwrap();
            verify(minted.token.as_str(), &keys, &validation, NOW).unwrap();
            minted.token.into_string()
        })
        .collect();
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn unavailable_backend_is_a_typed_error() {
    let f = fixture();
    match Backend::AwsLc.signer(&f.certificate, &f.key) {
        Ok(signer) => assert!(Backend::AwsLc.is_available() && signer.backend() == Backend::AwsLc),
        Err(e) => assert!(matches!(
            e,
            Error::BackendUnavailable {
                backend: Backend::AwsLc
            }
        )),
    }
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let f = fixture();
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let other = PrivateKey::generate(KeySize::Bits2048, &mut rng);
    let e = RustCryptoSigner::new(&f.certificate, &other).unwrap_err();
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&f.certificate.thumbprint().to_string())
    );
    // A second certificate for rotation verifies beside the first.
    let params = CertificateParams::new(
        "contoso.com".parse().unwrap(),
        time::OffsetDateTime::UNIX_EPOCH,
    );
    let second: Certificate = self_signed(&params, &other, &mut rng).unwrap();
    let mut keys = KeySet::from_certificates([&f.certificate]).unwrap();
    let signer = RustCryptoSigner::new(&second, &other).unwrap();
    let token = jwt::encode_signed(&good_claims(), &signer).unwrap();
    let validation = Validation::new(push_audience(), exchange());
    let e = verify(token.as_str(), &keys, &validation, NOW).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownKey { .. }));
    assert!(
        e.to_string().contains(&second.thumbprint().to_string()),
        "{e}"
    );
    keys.insert_der(second.der()).unwrap();
    assert_eq!(
        verify(token.as_str(), &keys, &validation, NOW)
            .unwrap()
            .thumbprint(),
        second.thumbprint()
    );
}

#[test]
fn metadata_document_carries_the_certificate_and_the_endpoint() {
    let f = fixture();
    let realm = tenant().to_string();
    let doc = MetadataDocument {
        version: Some("1.0".to_owned()),
        realm: Some(realm.clone()),
        issuer: Some(format!("{}@{realm}", well_known::ACS)),
        keys: vec![MetadataKey::signing_certificate(f.certificate.der())],
        endpoints: vec![Endpoint::new(
            format!("https://{}/{realm}/tokens/OAuth/2", well_known::ACS_HOST),
            PROTOCOL_OAUTH2,
            "issuance",
        )],
        ..MetadataDocument::default()
    };
    let published = doc.to_json();
    assert!(published.contains(&format!("\"x5t\":\"{}\"", f.certificate.x5t())));
    let read = MetadataDocument::parse(&published).unwrap();
    let keys = read.key_set().unwrap();
    assert!(keys.contains(&f.certificate.thumbprint()));
    let endpoint = read.issuance_endpoint().unwrap();
    assert!(endpoint.location.ends_with("/tokens/OAuth/2"));

    // The proxy's assertion to the token service, and the service's check of it.
    let host: Host = well_known::ACS_HOST.parse().unwrap();
    let signer = Backend::best_available()
        .signer(&f.certificate, &f.key)
        .unwrap();
    let assertion = mint::sts_assertion(
        signer.as_ref(),
        &host,
        tenant(),
        Lifetime::from_secs(300).unwrap(),
        NOW,
    )
    .unwrap();
    let request = TokenRequest::new(assertion.token, push_audience());
    let received = TokenRequest::from_form(&request.to_form()).unwrap();
    let sts_audience = pushproxy_token::principal::Audience::new(well_known::ACS, host, Realm::Any);
    let validation = Validation::new(
        sts_audience,
        Principal::new(well_known::EXCHANGE, Realm::Any),
    );
    let verified = verify(received.assertion.as_str(), &keys, &validation, NOW).unwrap();
    assert_eq!(verified.claims().iss, exchange());
    let response = TokenResponse::bearer(
        jwt::Token::new("access"),
        received.resource,
        NOW,
        NOW + 3600,
    );
    assert_eq!(
        TokenResponse::from_json(&response.to_json())
            .unwrap()
            .expires_in,
        3600
    );

    // A document whose x5t disagrees with its certificate is refused.
    let mut bad = doc.clone();
    bad.keys[0].x5t = Some(pushproxy_cert::Thumbprint::of_der(b"other").x5t());
    let e = MetadataDocument::parse(&bad.to_json())
        .unwrap()
        .key_set()
        .unwrap_err();
    assert!(e.to_string().contains("keyInfo.x5t"), "{e}");
}

#[test]
fn the_bad_token_table_is_refused_case_by_case() {
    let f = fixture();
    let keys = KeySet::from_certificates([&f.certificate]).unwrap();
    let validation = Validation::new(push_audience(), exchange());
    for signer in signers() {
        let cases = bad_token_cases(signer.as_ref(), &good_claims(), NOW).unwrap();
        let mut codes: Vec<&str> = cases.iter().map(|c| c.expected).collect();
        codes.sort_unstable();
        codes.dedup();
        // Claims changed and signature changed both fail the signature check.
        assert_eq!(codes.len(), cases.len() - 1);
        for case in &cases {
            let verdict = verify(&case.token, &keys, &validation, NOW)
                .map(|_| ())
                .map_err(|e| e.code());
            assert_eq!(verdict, Err(case.expected), "{}", case.name);
        }
    }
}

fn signed_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        let signer = Backend::best_available()
            .signer(&fixture().certificate, &fixture().key)
            .unwrap();
        jwt::encode_signed(&good_claims(), signer.as_ref())
            .unwrap()
            .into_string()
    })
}

fn key_set() -> &'static KeySet {
    static KEYS: std::sync::OnceLock<KeySet> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| KeySet::from_certificates([&fixture().certificate]).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any single-byte change to the header, claims or signature segment is refused.
    #[test]
    fn any_single_byte_change_is_refused(at in any::<prop::sample::Index>(), byte in 0u8..0x80) {
        let token = signed_token();
        let validation = Validation::new(push_audience(), exchange());
        prop_assert!(verify(token, key_set(), &validation, NOW).is_ok());
        let at = at.index(token.len());
        prop_assume!(token.as_bytes()[at] != byte);
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = byte;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(verify(&changed, key_set(), &validation, NOW).is_err());
    }
}
