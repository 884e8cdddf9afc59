//! Getting an access token from the token service: the self-issued assertion, the form
//! request, the answer, and the cache that decides when to ask again.

use std::error::Error;

use pushproxy_book_listings::{NOW, TENANT_ID, fixture};
use pushproxy_token::cache::{CacheKey, CachePolicy, Lookup, TokenCache};
use pushproxy_token::mint::{Lifetime, Minted, sts_assertion};
use pushproxy_token::principal::{Audience, Guid, Host, Realm, well_known};
use pushproxy_token::signer::{Backend, Signer};
use pushproxy_token::sts::{TokenRequest, TokenResponse, form_decode};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

pub fn main() -> Result<()> {
    let fixture = fixture()?;
    let signer = Backend::best_available().signer(&fixture.record.certificate, &fixture.key)?;
    let tenant: Guid = TENANT_ID.parse()?;
    let assertion = assertion(signer.as_ref(), tenant)?;
    let resource = Audience::new(
        well_known::EXCHANGE,
        well_known::EXCHANGE_ONLINE_HOST.parse()?,
        Realm::Tenant(tenant),
    );
    request(&assertion, &resource)?;
    let response = response(&resource)?;
    cache(tenant, resource, &response)?;
    Ok(())
}

// ANCHOR: assertion
/// The assertion for the token service at `token_host` (the host of the metadata's `OAuth2`
/// endpoint) in the tenant of the metadata's `realm`.
fn assertion(signer: &dyn Signer, tenant: Guid) -> Result<Minted> {
    let token_host: Host = well_known::ACS_HOST.parse()?;
    let assertion = sts_assertion(signer, &token_host, tenant, Lifetime::ONE_HOUR, NOW)?;
    println!("assertion aud: {}", assertion.claims.aud);
    println!("assertion iss: {}", assertion.claims.iss);
    Ok(assertion)
}
// ANCHOR_END: assertion

// ANCHOR: request
/// The form the proxy posts to the issuance endpoint.
fn request(assertion: &Minted, resource: &Audience) -> Result<()> {
    let body = TokenRequest::new(assertion.token.clone(), resource.clone()).to_form();
    for (name, value) in form_decode(&body)? {
        let shown = if name == "assertion" {
            format!("<{} characters>", value.len())
        } else {
            value
        };
        println!("{name} = {shown}");
    }
    Ok(())
}
// ANCHOR_END: request

// ANCHOR: response
/// What the token service answers; its numbers are strings, as in Azure AD v1.
fn response(resource: &Audience) -> Result<TokenResponse> {
    let answer = format!(
        r#"{{"token_type":"Bearer","access_token":"eyJ0eXAiOiJKV1QifQ.e30.c2ln",
            "expires_in":"3599","not_before":"{NOW}","expires_on":"{}",
            "resource":"{resource}"}}"#,
        NOW + 3599
    );
    let response = TokenResponse::from_json(&answer)?;
    assert_eq!(&response.resource, resource);
    println!(
        "access token for {} valid {} s until {}",
        response.resource, response.expires_in, response.expires_on
    );
    Ok(response)
}
// ANCHOR_END: response

// ANCHOR: cache
fn cache(tenant: Guid, resource: Audience, response: &TokenResponse) -> Result<()> {
    let mut cache: TokenCache = TokenCache::new(CachePolicy::default());
    let key = CacheKey { tenant, resource };
    // Nothing cached: this caller gets the ticket and goes to the token service...
    let Lookup::Refresh {
        ticket,
        current: None,
    } = cache.get(&key, NOW)
    else {
        return Err("an empty cache hands out a ticket".into());
    };
    // ...and everybody else waits for it instead of asking too.
    assert!(matches!(cache.get(&key, NOW), Lookup::Pending { .. }));
    cache.complete(
        ticket,
        response.access_token.clone(),
        response.expires_on,
        NOW,
    );

    for at in [NOW + 60, NOW + 3599 - 300, NOW + 3599 - 200, NOW + 3599] {
        let answer = match cache.get(&key, at) {
            Lookup::Fresh(_) => "fresh: use it".to_owned(),
            Lookup::Refresh { ticket, current } => {
                let usable = current.is_some();
                // Suppose the token service is down: the refresh fails and backs off.
                let retry = cache.fail(ticket, at);
                format!(
                    "refresh (old token usable meanwhile: {usable}); it failed, next try at +{}s",
                    retry - NOW
                )
            }
            Lookup::Stale(_) => "stale: still valid, a refresh is waiting".to_owned(),
            Lookup::Pending { until } => format!("pending until +{}s", until - NOW),
        };
        println!("{:>6}  {answer}", format!("+{}s", at - NOW));
    }
    Ok(())
}
// ANCHOR_END: cache
