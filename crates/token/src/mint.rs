//! Minting the tokens of the S2S profile, with `now` and lifetimes from the caller.
//!
//! - [`ActorToken`]: the app-only token the proxy presents (`iss` = `nameid` = the
//!   Exchange principal of the tenant, `aud` = the resource), signed RS256;
//! - [`sts_assertion`]: the same shape addressed to the token service
//!   (`aud = 00000001-0000-0000-c000-000000000000/<token host>@<realm>`), exchanged for an
//!   access token;
//! - [`outer_token`]: an unsigned token carrying a user's claims plus the signed
//!   `actortoken`.
//!
//! No token lives longer than 12 hours ([`Lifetime`] refuses more), and every token names
//! one tenant (never `*`).

use crate::Error;
use crate::jwt::{self, Claims, Header, Token};
use crate::principal::{Audience, Guid, Host, Principal, Realm, well_known};
use crate::signer::Signer;

/// The longest lifetime of a self-issued token: 12 hours, in seconds.
pub const MAX_LIFETIME: i64 = 12 * 3600;

/// A token lifetime from 1 second to 12 hours.
///
/// ```
/// use pushproxy_token::mint::Lifetime;
///
/// assert_eq!(Lifetime::from_secs(3600)?, Lifetime::ONE_HOUR);
/// assert!(Lifetime::from_secs(12 * 3600 + 1).is_err());
/// assert!(Lifetime::from_secs(0).is_err());
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Lifetime(i64);

impl Lifetime {
    /// One hour, the lifetime of tokens from the token service.
    pub const ONE_HOUR: Self = Self(3600);
    /// Twelve hours, the longest.
    pub const MAX: Self = Self(MAX_LIFETIME);

    /// A lifetime of `seconds`.
    ///
    /// # Errors
    /// [`Error::LifetimeTooLong`] above 12 hours, [`Error::LifetimeNotPositive`] below 1 s.
    pub fn from_secs(seconds: i64) -> Result<Self, Error> {
        if seconds > MAX_LIFETIME {
            Err(Error::LifetimeTooLong {
                requested: seconds,
                max: MAX_LIFETIME,
            })
        } else if seconds < 1 {
            Err(Error::LifetimeNotPositive { requested: seconds })
        } else {
            Ok(Self(seconds))
        }
    }

    /// The lifetime in seconds.
    pub const fn as_secs(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Lifetime {
    type Error = Error;

    fn try_from(seconds: i64) -> Result<Self, Error> {
        Self::from_secs(seconds)
    }
}

/// A freshly minted token with its claims.
#[derive(Clone, Debug)]
pub struct Minted {
    /// The compact token.
    pub token: Token,
    /// What it says.
    pub claims: Claims,
}

impl Minted {
    /// When it expires (Unix seconds): the `exp` claim.
    pub fn expires_at(&self) -> i64 {
        self.claims.exp
    }
}

/// The app-only actor token: `iss` and `nameid` are `<issuer>@<realm>`, `aud` the
/// resource, `trustedfordelegation` `"false"` unless asked.
///
/// ```no_run
/// # fn signer() -> Box<dyn pushproxy_token::signer::Signer> { unimplemented!() }
/// use pushproxy_token::mint::{ActorToken, Lifetime};
/// use pushproxy_token::principal::{Audience, Realm, well_known};
///
/// let realm = Realm::Tenant("4d2a1b3c-0000-4000-8000-00000000abcd".parse()?);
/// let push = Audience::new(well_known::EXCHANGE, well_known::EXCHANGE_ONLINE_HOST.parse()?, realm);
/// let now = 1_767_225_600;
/// let minted = ActorToken::new(push, Lifetime::ONE_HOUR).mint(signer().as_ref(), now)?;
/// assert_eq!(minted.expires_at(), now + 3600);
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ActorToken {
    /// The issuing principal id; Exchange by default.
    pub issuer: Guid,
    /// The resource the token is for; its realm is the tenant.
    pub audience: Audience,
    /// How long the token lives from `now`.
    pub lifetime: Lifetime,
    /// `trustedfordelegation`; `Some(false)` by default, `None` leaves the claim out.
    pub trusted_for_delegation: Option<bool>,
    /// `identityprovider`, if any.
    pub identity_provider: Option<String>,
}

impl ActorToken {
    /// An Exchange actor token for `audience`.
    pub fn new(audience: Audience, lifetime: Lifetime) -> Self {
        Self {
            issuer: well_known::EXCHANGE,
            audience,
            lifetime,
            trusted_for_delegation: Some(false),
            identity_provider: None,
        }
    }

    /// The claims of the token minted at `now`.
    ///
    /// # Errors
    /// [`Error::WildcardRealm`] if the audience's realm is `*`.
    pub fn claims(&self, now: i64) -> Result<Claims, Error> {
        let realm = self.audience.realm;
        if realm == Realm::Any {
            return Err(Error::WildcardRealm { what: "audience" });
        }
        let me = Principal::new(self.issuer, realm);
        let mut claims = Claims::new(
            self.audience.clone(),
            me,
            me.to_string(),
            now,
            now.saturating_add(self.lifetime.as_secs()),
        );
        claims.trusted_for_delegation = self.trusted_for_delegation;
        claims.identity_provider = self.identity_provider.clone();
        Ok(claims)
    }

    /// Mints and signs the token at `now`.
    ///
    /// # Errors
    /// As [`claims`](Self::claims), and [`Error::Sign`].
    pub fn mint(&self, signer: &dyn Signer, now: i64) -> Result<Minted, Error> {
        signed(self.claims(now)?, signer)
    }
}

/// The self-issued assertion sent to the token service at `token_host` (its `OAuth2`
/// endpoint's host) for `realm`: `aud = <ACS id>/<token host>@<realm>`, `iss` = `nameid`
/// = `<Exchange id>@<realm>`.
///
/// # Errors
/// [`Error::Sign`].
pub fn sts_assertion(
    signer: &dyn Signer,
    token_host: &Host,
    realm: Guid,
    lifetime: Lifetime,
    now: i64,
) -> Result<Minted, Error> {
    let audience = Audience::new(well_known::ACS, token_host.clone(), Realm::Tenant(realm));
    let mut request = ActorToken::new(audience, lifetime);
    request.trusted_for_delegation = None;
    request.mint(signer, now)
}

/// Signs arbitrary claims after checking the rules every minted token follows.
///
/// # Errors
/// [`Error::WildcardRealm`] if `aud` or `iss` has the realm `*`,
/// [`Error::LifetimeTooLong`] / [`Error::LifetimeNotPositive`] for `exp - nbf`,
/// [`Error::Sign`].
pub fn signed(claims: Claims, signer: &dyn Signer) -> Result<Minted, Error> {
    check(&claims)?;
    let token = jwt::encode_signed(&claims, signer)?;
    Ok(Minted { token, claims })
}

/// The unsigned outer token of a call on behalf of a user: the user's `claims` with
/// `actortoken` set to the signed `actor` token; header `{"typ":"JWT","alg":"none"}` and
/// an empty signature segment.
///
/// # Errors
/// As [`signed`], without signing.
pub fn outer_token(mut claims: Claims, actor: &Token) -> Result<Minted, Error> {
    check(&claims)?;
    claims.actor_token = Some(actor.clone());
    let token = jwt::encode_unsigned(&Header::unsigned(), &claims)?;
    Ok(Minted { token, claims })
}

fn check(claims: &Claims) -> Result<(), Error> {
    if claims.aud.realm == Realm::Any {
        return Err(Error::WildcardRealm { what: "audience" });
    }
    if claims.iss.realm == Realm::Any {
        return Err(Error::WildcardRealm { what: "issuer" });
    }
    Lifetime::from_secs(claims.exp.saturating_sub(claims.nbf)).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::test_keys;
    use crate::verify::{KeySet, Validation, verify};

    const NOW: i64 = 1_767_225_600;

    fn realm() -> Realm {
        Realm::Tenant("4d2a1b3c-0000-4000-8000-00000000abcd".parse().unwrap())
    }

    fn push_audience() -> Audience {
        Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            realm(),
        )
    }

    fn keys() -> KeySet {
        let mut keys = KeySet::new();
        keys.insert_parts(test_keys::FAKE_DER, test_keys::key().to_public_key())
            .unwrap();
        keys
    }

    #[test]
    fn actor_token_claims() {
        let signer = test_keys::rust_crypto();
        let minted = ActorToken::new(push_audience(), Lifetime::ONE_HOUR)
            .mint(&signer, NOW)
            .unwrap();
        let c = &minted.claims;
        let me = Principal::new(well_known::EXCHANGE, realm());
        assert_eq!(c.iss, me);
        assert_eq!(c.nameid, me.to_string());
        assert_eq!(c.aud, push_audience());
        assert_eq!((c.nbf, c.exp), (NOW, NOW + 3600));
        assert_eq!(c.trusted_for_delegation, Some(false));
        assert_eq!(minted.expires_at(), NOW + 3600);
        let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(json["trustedfordelegation"], "false");
        let verified = verify(
            minted.token.as_str(),
            &keys(),
            &Validation::new(push_audience(), me),
            NOW,
        )
        .unwrap();
        assert_eq!(verified.claims(), c);
    }

    #[test]
    fn sts_assertion_is_addressed_to_the_token_service() {
        let signer = test_keys::rust_crypto();
        let host: Host = well_known::ACS_HOST.parse().unwrap();
        let tenant = realm().tenant().unwrap();
        let minted = sts_assertion(
            &signer,
            &host,
            tenant,
            Lifetime::from_secs(600).unwrap(),
            NOW,
        )
        .unwrap();
        assert_eq!(
            minted.claims.aud.to_string(),
            format!(
                "00000001-0000-0000-c000-000000000000/accounts.accesscontrol.windows.net@{tenant}"
            )
        );
        assert_eq!(
            minted.claims.iss.to_string(),
            format!("00000002-0000-0ff1-ce00-000000000000@{tenant}")
        );
        assert_eq!(minted.claims.trusted_for_delegation, None);
        assert_eq!(minted.claims.lifetime(), 600);
    }

    #[test]
    fn outer_token_is_unsigned_and_carries_the_actor() {
        let signer = test_keys::rust_crypto();
        let actor = ActorToken::new(push_audience(), Lifetime::ONE_HOUR)
            .mint(&signer, NOW)
            .unwrap();
        let mut user = Claims::new(
            push_audience(),
            Principal::new(well_known::EXCHANGE, realm()),
            "S-1-5-21-1",
            NOW,
            NOW + 600,
        );
        user.set_extra("smtp", "user@contoso.com".into()).unwrap();
        let outer = outer_token(user, &actor.token).unwrap();
        assert!(outer.token.as_str().ends_with('.'));
        let decoded = jwt::decode(outer.token.as_str(), usize::MAX).unwrap();
        assert_eq!(decoded.header().alg, jwt::Alg::None);
        assert_eq!(decoded.claims().actor_token.as_ref(), Some(&actor.token));
        assert_eq!(decoded.claims().extra()["smtp"], "user@contoso.com");
        // The outer token itself is refused by a verifier; its actor token verifies.
        let v = Validation::new(
            push_audience(),
            Principal::new(well_known::EXCHANGE, realm()),
        );
        assert_eq!(
            verify(outer.token.as_str(), &keys(), &v, NOW)
                .unwrap_err()
                .code(),
            "alg_none"
        );
        assert!(verify(actor.token.as_str(), &keys(), &v, NOW).is_ok());
    }

    #[test]
    fn lifetime_and_realm_rules() {
        let signer = test_keys::rust_crypto();
        assert!(matches!(
            Lifetime::from_secs(MAX_LIFETIME + 1),
            Err(Error::LifetimeTooLong { .. })
        ));
        assert!(matches!(
            Lifetime::try_from(-5),
            Err(Error::LifetimeNotPositive { requested: -5 })
        ));
        assert_eq!(Lifetime::MAX.as_secs(), 43_200);
        let mut wild = push_audience();
        wild.realm = Realm::Any;
        let e = ActorToken::new(wild, Lifetime::ONE_HOUR)
            .mint(&signer, NOW)
            .unwrap_err();
        assert!(
            matches!(e, Error::WildcardRealm { what: "audience" }),
            "{e}"
        );
        let mut claims = ActorToken::new(push_audience(), Lifetime::ONE_HOUR)
            .claims(NOW)
            .unwrap();
        claims.exp = NOW + MAX_LIFETIME + 1;
        let e = signed(claims.clone(), &signer).unwrap_err();
        assert!(e.to_string().contains("at most 43200 s (12 hours)"), "{e}");
        claims.exp = NOW + MAX_LIFETIME;
        assert!(signed(claims.clone(), &signer).is_ok());
        claims.iss.realm = Realm::Any;
        assert!(matches!(
            signed(claims, &signer),
            Err(Error::WildcardRealm { what: "issuer" })
        ));
    }
}
