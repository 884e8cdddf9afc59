//! The actor token the proxy sends: mint it, look inside, verify it as the cloud does, and
//! see what verification refuses.

use std::error::Error;

use pushproxy_book_listings::{Fixture, NOW, TENANT_ID, fixture};
use pushproxy_cert::{Certificate, Thumbprint};
use pushproxy_token::jwt::{DEFAULT_MAX_SIZE, Token, decode};
use pushproxy_token::mint::{ActorToken, Lifetime, Minted, outer_token};
use pushproxy_token::principal::{Audience, Principal, Realm, well_known};
use pushproxy_token::signer::{Backend, Signer};
use pushproxy_token::verify::{DEFAULT_LEEWAY, KeySet, Validation, verify};
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

pub fn main() -> Result<()> {
    let fixture = fixture()?;
    let certificate = &fixture.record.certificate;
    let signer = signer(fixture)?;
    let push = push_service()?;
    let actor = ActorToken::new(push.clone(), Lifetime::ONE_HOUR);
    let minted = mint(&actor, signer.as_ref())?;
    show(&minted.token)?;
    compare_x5t(certificate, &minted.token)?;
    let (keys, validation) = cloud_checks(certificate, &push)?;
    verify_as_the_cloud(&minted.token, &keys, &validation)?;
    refusals(&minted.token, &keys, &validation)?;
    on_behalf_of_a_user(&actor, &minted)?;
    Ok(())
}

// ANCHOR: signer
/// The signer of the certificate of setup step 1: its key is parsed once, here, and the signer
/// then signs every token.
fn signer(fixture: &Fixture) -> Result<Box<dyn Signer>> {
    Ok(Backend::best_available().signer(&fixture.record.certificate, &fixture.key)?)
}
// ANCHOR_END: signer

// ANCHOR: mint
/// The resource: Exchange's principal at the push service's host, in the tenant's realm.
fn push_service() -> Result<Audience> {
    Ok(Audience::new(
        well_known::EXCHANGE,
        well_known::EXCHANGE_ONLINE_HOST.parse()?,
        Realm::Tenant(TENANT_ID.parse()?),
    ))
}

/// The app-only actor token, valid for an hour from the caller's clock.
fn mint(actor: &ActorToken, signer: &dyn Signer) -> Result<Minted> {
    let minted = actor.mint(signer, NOW)?;
    assert_eq!(minted.expires_at(), NOW + 3600);
    Ok(minted)
}
// ANCHOR_END: mint

// ANCHOR: decode
/// Prints the header and the claims; decoding checks the form, not the signature.
fn show(token: &Token) -> Result<()> {
    let decoded = decode(token.as_str(), DEFAULT_MAX_SIZE)?;
    let header: Value = serde_json::from_str(&decoded.header().to_json())?;
    let claims: Value = serde_json::from_str(&decoded.claims().to_json())?;
    println!("header: {}", serde_json::to_string_pretty(&header)?);
    println!("claims: {}", serde_json::to_string_pretty(&claims)?);
    // On the wire the times are strings of Unix seconds; in Rust they are integers.
    assert_eq!(claims["nbf"], Value::String(NOW.to_string()));
    assert_eq!(decoded.claims().exp, NOW + 3600);
    Ok(())
}
// ANCHOR_END: decode

// ANCHOR: x5t
/// The thumbprint an administrator sees and the `x5t` a token carries: the same 20 bytes.
fn compare_x5t(certificate: &Certificate, token: &Token) -> Result<()> {
    let thumbprint = certificate.thumbprint();
    println!("thumbprint (hex):    {thumbprint}");
    println!("x5t (base64url):     {}", thumbprint.x5t());
    let header = decode(token.as_str(), DEFAULT_MAX_SIZE)?.header().clone();
    assert_eq!(header.x5t, Some(thumbprint.x5t()));
    assert_eq!(Thumbprint::from_x5t(&thumbprint.x5t())?, thumbprint);
    // The conversion is plain re-encoding:
    let example: Thumbprint = "84E05C1D98BCE3A5421D225B140B36E86A3D5534".parse()?;
    assert_eq!(example.x5t(), "hOBcHZi846VCHSJbFAs26Go9VTQ");
    Ok(())
}
// ANCHOR_END: x5t

// ANCHOR: verify
/// What the cloud knows: the certificate uploaded in setup step 3, and whom it expects.
fn cloud_checks(certificate: &Certificate, push: &Audience) -> Result<(KeySet, Validation)> {
    let keys = KeySet::from_certificates([certificate])?;
    let issuer = Principal::new(well_known::EXCHANGE, push.realm);
    Ok((keys, Validation::new(push.clone(), issuer)))
}

fn verify_as_the_cloud(token: &Token, keys: &KeySet, validation: &Validation) -> Result<()> {
    let verified = verify(token.as_str(), keys, validation, NOW + 60)?;
    println!("verified: signed by certificate {}", verified.thumbprint());
    Ok(())
}
// ANCHOR_END: verify

// ANCHOR: refusals
fn refusals(token: &Token, keys: &KeySet, validation: &Validation) -> Result<()> {
    let another_tenant = Validation::new(
        Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse()?,
            Realm::Tenant("00000000-0000-4000-8000-000000000001".parse()?),
        ),
        Principal::new(well_known::EXCHANGE, Realm::Tenant(TENANT_ID.parse()?)),
    );
    let cases = [
        // An hour later, plus the five minutes of clock skew allowed: expired.
        (
            "an hour later",
            token.as_str().to_owned(),
            validation,
            NOW + 3600 + DEFAULT_LEEWAY,
        ),
        // One character of the signature changed.
        ("tampered", tamper(token.as_str()), validation, NOW),
        // A verifier that expects another tenant.
        (
            "another tenant",
            token.as_str().to_owned(),
            &another_tenant,
            NOW,
        ),
    ];
    for (what, token, validation, now) in cases {
        let error = verify(&token, keys, validation, now)
            .err()
            .ok_or("verification should have failed")?;
        println!("{what}: {} ({error})", error.code());
    }
    Ok(())
}
// ANCHOR_END: refusals

// ANCHOR: outer
/// On behalf of a user: the user's claims, unsigned, carrying the signed actor token.
fn on_behalf_of_a_user(actor: &ActorToken, minted: &Minted) -> Result<()> {
    let mut user = actor.claims(NOW)?;
    user.trusted_for_delegation = None;
    user.nameid = "alice@fabrikam.com".to_owned();
    user.set_extra("smtp", Value::String("alice@fabrikam.com".to_owned()))?;
    let outer = outer_token(user, &minted.token)?;
    let header = decode(outer.token.as_str(), DEFAULT_MAX_SIZE)?
        .header()
        .to_json();
    println!("outer header: {header}");
    assert!(outer.token.as_str().ends_with('.'), "an empty signature");
    assert_eq!(outer.claims.actor_token.as_ref(), Some(&minted.token));
    Ok(())
}
// ANCHOR_END: outer

/// The token with one character of its signature changed.
fn tamper(token: &str) -> String {
    let signature_start = token.rfind('.').map_or(0, |dot| dot + 1);
    token
        .char_indices()
        .map(|(i, c)| match (i == signature_start + 10, c) {
            (true, 'A') => 'B',
            (true, _) => 'A',
            (false, c) => c,
        })
        .collect()
}
