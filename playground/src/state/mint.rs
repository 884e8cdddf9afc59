//! Minting tokens: the app-only actor token the proxy sends, the assertion it would send to
//! the token service, and an outer token on behalf of a user, with editable claims and
//! lifetime. Signing is RS256 with the certificate's key (deterministic, so the same inputs
//! at the same second give the same token).

use std::rc::Rc;

use pushproxy_token::jwt::Claims;
use pushproxy_token::mint::{ActorToken, Lifetime, Minted, outer_token, sts_assertion};
use pushproxy_token::principal::{Audience, Guid, Host, Principal, Realm, well_known};
use pushproxy_token::signer::RustCryptoSigner;
use serde_json::Value;
use yew::Reducible;

use crate::model::credentials::Credentials;
use crate::model::format;

/// Which token to mint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// The app-only actor token (what the push proxy sends).
    Actor,
    /// The self-issued assertion exchanged at the token service.
    Assertion,
    /// An unsigned outer token carrying a user's claims and the actor token.
    Outer,
}

impl TokenKind {
    /// Every kind, in the order of the selector.
    pub const ALL: [Self; 3] = [Self::Actor, Self::Assertion, Self::Outer];

    /// A label for the selector.
    pub fn label(self) -> &'static str {
        match self {
            Self::Actor => "Actor token (app-only, what the proxy sends)",
            Self::Assertion => "Assertion for the token service",
            Self::Outer => "Outer token on behalf of a user",
        }
    }

    /// A stable name for element ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Actor => "actor",
            Self::Assertion => "assertion",
            Self::Outer => "outer",
        }
    }

    /// The host the audience names by default.
    pub fn default_host(self) -> &'static str {
        match self {
            Self::Actor | Self::Outer => well_known::EXCHANGE_ONLINE_HOST,
            Self::Assertion => well_known::ACS_HOST,
        }
    }
}

/// A token made by [`MintState`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintedToken {
    /// What kind it is.
    pub kind: TokenKind,
    /// The compact token.
    pub token: String,
    /// Its claims, pretty JSON.
    pub claims: String,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
}

/// The mint view's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintState {
    /// Which token.
    pub kind: TokenKind,
    /// The tenant id (the realm), as typed.
    pub tenant: String,
    /// The host of the audience, as typed.
    pub host: String,
    /// The lifetime in seconds, as typed.
    pub lifetime: String,
    /// `trustedfordelegation` of the actor token.
    pub trusted_for_delegation: bool,
    /// The user's `nameid` (outer token).
    pub user_nameid: String,
    /// The user's `smtp` claim (outer token; empty leaves it out).
    pub user_smtp: String,
    /// The user's `upn` claim (outer token; empty leaves it out).
    pub user_upn: String,
    /// More claims of the outer token, a JSON object.
    pub extra_claims: String,
    /// The last result.
    pub minted: Option<Result<MintedToken, String>>,
}

impl Default for MintState {
    fn default() -> Self {
        Self {
            kind: TokenKind::Actor,
            tenant: "4d2a1b3c-0000-4000-8000-00000000abcd".to_owned(),
            host: TokenKind::Actor.default_host().to_owned(),
            lifetime: "3600".to_owned(),
            trusted_for_delegation: false,
            user_nameid: "s-1-5-21-2127521184-1604012920-1887927527-71533".to_owned(),
            user_smtp: "user@contoso.com".to_owned(),
            user_upn: "user@contoso.com".to_owned(),
            extra_claims: "{\"nii\": \"urn:office:idp:activedirectory\"}".to_owned(),
            minted: None,
        }
    }
}

/// What can happen in the mint view.
#[derive(Debug)]
pub enum MintAction {
    /// Another kind was chosen (the host follows unless it was edited).
    SetKind(TokenKind),
    /// The tenant id was edited.
    SetTenant(String),
    /// The host was edited.
    SetHost(String),
    /// The lifetime was edited.
    SetLifetime(String),
    /// `trustedfordelegation` was switched.
    SetTrustedForDelegation(bool),
    /// The user's nameid was edited.
    SetUserNameId(String),
    /// The user's smtp was edited.
    SetUserSmtp(String),
    /// The user's upn was edited.
    SetUserUpn(String),
    /// The extra claims were edited.
    SetExtraClaims(String),
    /// Mint with these credentials at `now` (Unix seconds).
    Mint {
        /// The certificate and key.
        credentials: Rc<Credentials>,
        /// Unix seconds.
        now: i64,
    },
}

impl MintState {
    fn mint(&self, credentials: &Credentials, now: i64) -> Result<MintedToken, String> {
        let key = credentials.key.as_ref().ok_or(
            "the certificate was loaded without its private key; load the key too, or generate a certificate",
        )?;
        let signer = RustCryptoSigner::new(&credentials.certificate, key)
            .map_err(|e| format!("signing key: {e}"))?;
        let tenant: Guid = self
            .tenant
            .trim()
            .parse()
            .map_err(|e| format!("tenant id: {e}"))?;
        let host: Host = self.host.trim().parse().map_err(|e| format!("host: {e}"))?;
        let seconds: i64 = self.lifetime.trim().parse().map_err(|_| {
            format!(
                "lifetime `{}` is not a whole number of seconds",
                self.lifetime.trim()
            )
        })?;
        let lifetime = Lifetime::from_secs(seconds).map_err(|e| format!("lifetime: {e}"))?;
        let realm = Realm::Tenant(tenant);
        let fail = |e: pushproxy_token::Error| e.to_string();
        let minted: Minted = match self.kind {
            TokenKind::Actor => {
                let mut actor =
                    ActorToken::new(Audience::new(well_known::EXCHANGE, host, realm), lifetime);
                actor.trusted_for_delegation = Some(self.trusted_for_delegation);
                actor.mint(&signer, now).map_err(fail)?
            }
            TokenKind::Assertion => {
                sts_assertion(&signer, &host, tenant, lifetime, now).map_err(fail)?
            }
            TokenKind::Outer => {
                let audience = Audience::new(well_known::EXCHANGE, host, realm);
                let mut actor = ActorToken::new(audience.clone(), lifetime);
                actor.trusted_for_delegation = Some(true);
                let actor = actor.mint(&signer, now).map_err(fail)?;
                let mut claims = Claims::new(
                    audience,
                    Principal::new(well_known::EXCHANGE, realm),
                    self.user_nameid.trim(),
                    now,
                    now.saturating_add(lifetime.as_secs()),
                );
                for (name, value) in [("smtp", &self.user_smtp), ("upn", &self.user_upn)] {
                    if !value.trim().is_empty() {
                        claims
                            .set_extra(name, Value::String(value.trim().to_owned()))
                            .map_err(fail)?;
                    }
                }
                if !self.extra_claims.trim().is_empty() {
                    let extra: serde_json::Map<String, Value> =
                        serde_json::from_str(&self.extra_claims)
                            .map_err(|e| format!("more claims: not a JSON object: {e}"))?;
                    for (name, value) in extra {
                        claims
                            .set_extra(name, value)
                            .map_err(|e| format!("more claims: {e}"))?;
                    }
                }
                outer_token(claims, &actor.token).map_err(fail)?
            }
        };
        Ok(MintedToken {
            kind: self.kind,
            token: minted.token.as_str().to_owned(),
            claims: format::pretty_json(minted.claims.to_json().as_bytes())?,
            expires_at: minted.expires_at(),
        })
    }
}

impl Reducible for MintState {
    type Action = MintAction;

    fn reduce(self: Rc<Self>, action: MintAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            MintAction::SetKind(kind) => {
                if next.host.trim() == next.kind.default_host() || next.host.trim().is_empty() {
                    next.host = kind.default_host().to_owned();
                }
                next.kind = kind;
            }
            MintAction::SetTenant(value) => next.tenant = value,
            MintAction::SetHost(value) => next.host = value,
            MintAction::SetLifetime(value) => next.lifetime = value,
            MintAction::SetTrustedForDelegation(value) => next.trusted_for_delegation = value,
            MintAction::SetUserNameId(value) => next.user_nameid = value,
            MintAction::SetUserSmtp(value) => next.user_smtp = value,
            MintAction::SetUserUpn(value) => next.user_upn = value,
            MintAction::SetExtraClaims(value) => next.extra_claims = value,
            MintAction::Mint { credentials, now } => {
                next.minted = Some(next.mint(&credentials, now));
            }
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials::tests::generated;
    use pushproxy_token::jwt::{self, Alg};
    use pushproxy_token::verify::{KeySet, Validation, verify};

    const NOW: i64 = 1_772_366_400;

    fn mint(state: MintState, credentials: &Rc<Credentials>) -> Result<MintedToken, String> {
        let state = Rc::new(state).reduce(MintAction::Mint {
            credentials: credentials.clone(),
            now: NOW,
        });
        state.minted.clone().unwrap()
    }

    #[test]
    fn the_actor_token_verifies_as_the_cloud_checks_it() {
        let credentials = Rc::new(generated());
        let minted = mint(MintState::default(), &credentials).unwrap();
        assert_eq!(minted.expires_at, NOW + 3600);
        let realm = Realm::Tenant("4d2a1b3c-0000-4000-8000-00000000abcd".parse().unwrap());
        let audience = Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            realm,
        );
        let keys = KeySet::from_certificates([&credentials.certificate]).unwrap();
        let validation = Validation::new(audience, Principal::new(well_known::EXCHANGE, realm));
        let verified = verify(&minted.token, &keys, &validation, NOW + 10).unwrap();
        assert_eq!(verified.claims().trusted_for_delegation, Some(false));
        assert!(minted.claims.contains("\"exp\": \"1772370000\""));
        // Deterministic: the same inputs give the same token.
        assert_eq!(mint(MintState::default(), &credentials).unwrap(), minted);
    }

    #[test]
    fn the_assertion_is_addressed_to_the_token_service() {
        let credentials = Rc::new(generated());
        let state = Rc::new(MintState::default()).reduce(MintAction::SetKind(TokenKind::Assertion));
        assert_eq!(state.host, "accounts.accesscontrol.windows.net");
        let minted = mint((*state).clone(), &credentials).unwrap();
        let decoded = jwt::decode(&minted.token, jwt::DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(
            decoded.claims().aud.to_string(),
            "00000001-0000-0000-c000-000000000000/accounts.accesscontrol.windows.net@4d2a1b3c-0000-4000-8000-00000000abcd"
        );
        assert_eq!(decoded.claims().trusted_for_delegation, None);
    }

    #[test]
    fn the_outer_token_is_unsigned_and_carries_the_actor() {
        let credentials = Rc::new(generated());
        let state = Rc::new(MintState::default()).reduce(MintAction::SetKind(TokenKind::Outer));
        let minted = mint((*state).clone(), &credentials).unwrap();
        let decoded = jwt::decode(&minted.token, jwt::DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(decoded.header().alg, Alg::None);
        assert!(decoded.signature().is_empty());
        let claims = decoded.claims();
        assert_eq!(claims.extra()["smtp"], "user@contoso.com");
        assert_eq!(claims.extra()["nii"], "urn:office:idp:activedirectory");
        let actor = claims.actor_token.as_ref().unwrap();
        let inner = jwt::decode(actor.as_str(), jwt::DEFAULT_MAX_SIZE).unwrap();
        assert_eq!(inner.header().alg, Alg::Rs256);
        assert_eq!(inner.claims().trusted_for_delegation, Some(true));
    }

    #[test]
    fn bad_inputs_are_named() {
        let credentials = Rc::new(generated());
        let cases: Vec<(MintAction, &str)> = vec![
            (MintAction::SetLifetime("43201".to_owned()), "lifetime:"),
            (
                MintAction::SetLifetime("soon".to_owned()),
                "lifetime `soon`",
            ),
            (MintAction::SetTenant("contoso".to_owned()), "tenant id:"),
            (MintAction::SetHost("bad host".to_owned()), "host:"),
        ];
        for (action, expected) in cases {
            let state = Rc::new(MintState::default()).reduce(action);
            let error = mint((*state).clone(), &credentials).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
        let state = Rc::new(MintState::default())
            .reduce(MintAction::SetKind(TokenKind::Outer))
            .reduce(MintAction::SetExtraClaims("{\"aud\": \"x\"}".to_owned()));
        let error = mint((*state).clone(), &credentials).unwrap_err();
        assert!(error.starts_with("more claims:"), "{error}");

        let without_key =
            Rc::new(Credentials::load(&credentials.certificate.to_pem(), "").unwrap());
        let error = mint(MintState::default(), &without_key).unwrap_err();
        assert!(error.contains("private key"), "{error}");
    }
}
