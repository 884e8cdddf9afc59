//! Checked by someone else: tokens minted here verify with `jsonwebtoken`, an independent
//! JWT implementation, given only the certificate; and its RS256 tokens verify here.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::{NOW, exchange, fixture, push_audience};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pushproxy_token::mint::{ActorToken, Lifetime};
use pushproxy_token::signer::Backend;
use pushproxy_token::verify::{self, KeySet};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use serde::Deserialize;

/// The claims as the Microsoft profile writes them: every value a string.
#[derive(Deserialize, Debug)]
struct WireClaims {
    aud: String,
    iss: String,
    nameid: String,
    nbf: String,
    exp: String,
    trustedfordelegation: String,
}

fn their_validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    // jsonwebtoken wants numeric times; the profile writes strings. Times are checked
    // below from the decoded strings instead.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.required_spec_claims = HashSet::new();
    v.set_audience(&[push_audience().to_string()]);
    v.set_issuer(&[exchange().to_string()]);
    v
}

#[test]
fn our_tokens_verify_with_jsonwebtoken_using_only_the_certificate() {
    let f = fixture();
    let public = f
        .certificate
        .rsa_public_key()
        .unwrap()
        .to_pkcs1_der()
        .unwrap();
    let key = DecodingKey::from_rsa_der(public.as_bytes());
    for backend in Backend::ALL.into_iter().filter(|b| b.is_available()) {
        let signer = backend.signer(&f.certificate, &f.key).unwrap();
        let minted = ActorToken::new(push_audience(), Lifetime::ONE_HOUR)
            .mint(signer.as_ref(), NOW)
            .unwrap();
        let data =
            jsonwebtoken::decode::<WireClaims>(minted.token.as_str(), &key, &their_validation())
                .unwrap();
        assert_eq!(data.header.alg, Algorithm::RS256);
        assert_eq!(data.header.typ.as_deref(), Some("JWT"));
        assert_eq!(
            data.header.x5t.as_deref(),
            Some(f.certificate.x5t().as_str())
        );
        let c = data.claims;
        assert_eq!(c.aud, push_audience().to_string());
        assert_eq!(c.iss, exchange().to_string());
        assert_eq!(c.nameid, exchange().to_string());
        assert_eq!(c.trustedfordelegation, "false");
        let (nbf, exp): (i64, i64) = (c.nbf.parse().unwrap(), c.exp.parse().unwrap());
        assert!(nbf <= NOW && NOW < exp && exp - nbf == 3600);
    }
}

#[test]
fn jsonwebtoken_refuses_our_token_when_it_is_for_someone_else_or_altered() {
    let f = fixture();
    let public = f
        .certificate
        .rsa_public_key()
        .unwrap()
        .to_pkcs1_der()
        .unwrap();
    let key = DecodingKey::from_rsa_der(public.as_bytes());
    let signer = Backend::RustCrypto.signer(&f.certificate, &f.key).unwrap();
    let minted = ActorToken::new(push_audience(), Lifetime::ONE_HOUR)
        .mint(signer.as_ref(), NOW)
        .unwrap();
    let mut wrong = their_validation();
    wrong.set_audience(&["someone-else"]);
    assert!(jsonwebtoken::decode::<WireClaims>(minted.token.as_str(), &key, &wrong).is_err());
    let mut altered = minted.token.into_string();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'Q' } else { 'A' });
    assert!(jsonwebtoken::decode::<WireClaims>(&altered, &key, &their_validation()).is_err());
}

#[test]
fn their_rs256_tokens_verify_here() {
    let f = fixture();
    let private = f.key.rsa().to_pkcs1_der().unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = Some(f.certificate.x5t());
    let claims = common::good_claims();
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_der(private.as_bytes()),
    )
    .unwrap();
    let keys = KeySet::from_certificates([&f.certificate]).unwrap();
    let validation = verify::Validation::new(push_audience(), exchange());
    let verified = verify::verify(&token, &keys, &validation, NOW).unwrap();
    assert_eq!(verified.claims(), &claims);
    assert_eq!(verified.thumbprint(), f.certificate.thumbprint());
}
