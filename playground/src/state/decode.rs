//! Decoding and verifying any token: its three segments, header and claims pretty printed,
//! `nbf`/`exp` as dates against a ticking clock, `x5t` as hex and base64url matched against
//! the certificate, and the verdict of the token crate's verifier with its exact reason.

use std::rc::Rc;

use pushproxy_cert::{Certificate, Thumbprint};
use pushproxy_token::jwt::{self, Parts, Segment};
use pushproxy_token::principal::{Audience, Principal};
use pushproxy_token::verify::{
    AudienceMatcher, AudienceRule, DEFAULT_LEEWAY, KeySet, Validation, verify,
};
use yew::Reducible;

use crate::model::credentials::{Credentials, read_certificate};
use crate::model::format;

/// Which certificate verifies the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The certificate of the Certificate tab.
    Current,
    /// A certificate pasted here.
    Pasted,
}

/// The decode view's state.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeState {
    /// The token, as pasted.
    pub input: String,
    /// The clock, Unix seconds (ticks every second in the page).
    pub now: i64,
    /// The certificate of the Certificate tab.
    pub credentials: Option<Rc<Credentials>>,
    /// Which certificate verifies.
    pub source: KeySource,
    /// A pasted certificate (PEM or base64 DER).
    pub pasted_certificate: String,
    /// The expected audience (empty: the token's own).
    pub expected_audience: String,
    /// The expected issuer (empty: the token's own).
    pub expected_issuer: String,
}

/// What can happen in the decode view.
#[derive(Debug)]
pub enum DecodeAction {
    /// The token was edited or loaded.
    SetInput(String),
    /// The clock moved (Unix seconds).
    Tick(i64),
    /// Another certificate is in use on the Certificate tab.
    Credentials(Option<Rc<Credentials>>),
    /// The verifying certificate's source was chosen.
    SetSource(KeySource),
    /// A certificate was pasted.
    SetPastedCertificate(String),
    /// The expected audience was edited.
    SetExpectedAudience(String),
    /// The expected issuer was edited.
    SetExpectedIssuer(String),
}

/// Where the token stands in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeStatus {
    /// Between `nbf` and `exp`.
    Valid {
        /// Seconds until `exp`.
        expires_in: i64,
    },
    /// Before `nbf`.
    NotYetValid {
        /// Seconds until `nbf`.
        starts_in: i64,
    },
    /// At or after `exp`.
    Expired {
        /// Seconds since `exp`.
        ago: i64,
    },
}

/// `nbf` and `exp` against the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Times {
    /// `nbf`, Unix seconds.
    pub nbf: i64,
    /// `exp`, Unix seconds.
    pub exp: i64,
    /// The status at the state's `now`.
    pub status: TimeStatus,
}

/// The `x5t` of the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X5t {
    /// As written (base64url).
    pub base64url: String,
    /// The thumbprint as hex, or why it is not one.
    pub hex: Result<String, String>,
    /// Whether it names the certificate of the Certificate tab (`None` without one).
    pub matches_current: Option<bool>,
    /// That certificate's thumbprint, for comparison.
    pub current_hex: Option<String>,
}

/// The verifier's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to verify with.
    NoCertificate(String),
    /// The verifying certificate could not be used.
    CertificateRefused(String),
    /// Every check passed.
    Valid {
        /// The certificate that verified it.
        thumbprint: String,
        /// What was checked besides the signature.
        checked: String,
    },
    /// A check failed.
    Refused {
        /// The verifier's stable code.
        code: &'static str,
        /// Its message.
        message: String,
    },
}

/// Everything the view shows about the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The three segments, or why the token does not split into three.
    pub segments: Result<[String; 3], String>,
    /// The header JSON, pretty, or why it cannot be read.
    pub header: Result<String, String>,
    /// The claims JSON, pretty, or why they cannot be read.
    pub claims: Result<String, String>,
    /// The signature's length in bytes.
    pub signature_bytes: Option<usize>,
    /// Whether the token follows the S2S profile (strict decoding), and if not why.
    pub profile: Result<(), String>,
    /// The algorithm named in the header.
    pub alg: Option<String>,
    /// `nbf`/`exp` when the claims follow the profile.
    pub times: Option<Times>,
    /// The header's `x5t`.
    pub x5t: Option<X5t>,
    /// The `actortoken` claim of an outer token.
    pub actor_token: Option<String>,
    /// The verifier's verdict.
    pub verdict: Verdict,
}

impl DecodeState {
    /// An empty view at `now`.
    pub fn new(now: i64) -> Self {
        Self {
            input: String::new(),
            now,
            credentials: None,
            source: KeySource::Current,
            pasted_certificate: String::new(),
            expected_audience: String::new(),
            expected_issuer: String::new(),
        }
    }

    /// The token, trimmed of spaces and line breaks.
    pub fn token(&self) -> String {
        self.input.split_whitespace().collect()
    }

    /// The link that shares the token: the page's URL with `#token=...`. The fragment is
    /// never sent to a server.
    pub fn share_link(&self, page_url: &str) -> String {
        format!("{page_url}{}", share_fragment(&self.token()))
    }

    /// Inspects the token; `None` when nothing was pasted.
    pub fn inspect(&self) -> Option<Inspection> {
        let token = self.token();
        if token.is_empty() {
            return None;
        }
        let parts = Parts::split(&token, jwt::DEFAULT_MAX_SIZE);
        let segments = parts
            .as_ref()
            .map(|p| {
                [
                    p.header_segment().to_owned(),
                    p.claims_segment().to_owned(),
                    p.signature_segment().to_owned(),
                ]
            })
            .map_err(ToString::to_string);
        let json_of = |segment: Segment| match &parts {
            Ok(parts) => parts
                .decode_segment(segment)
                .map_err(|e| e.to_string())
                .and_then(|bytes| format::pretty_json(&bytes)),
            Err(e) => Err(e.to_string()),
        };
        let header = json_of(Segment::Header);
        let claims = json_of(Segment::Claims);
        let signature_bytes = parts
            .as_ref()
            .ok()
            .and_then(|p| p.decode_segment(Segment::Signature).ok())
            .map(|s| s.len());

        let decoded = jwt::decode(&token, jwt::DEFAULT_MAX_SIZE);
        let header_typed = parts
            .as_ref()
            .ok()
            .and_then(|p| p.decode_segment(Segment::Header).ok())
            .and_then(|bytes| jwt::parse_header(&bytes).ok());
        let claims_typed = decoded.as_ref().ok().map(|d| d.claims().clone());

        let times = claims_typed.as_ref().map(|claims| Times {
            nbf: claims.nbf,
            exp: claims.exp,
            status: time_status(claims.nbf, claims.exp, self.now),
        });
        let current = self
            .credentials
            .as_ref()
            .map(|c| c.certificate.thumbprint());
        let x5t = header_typed
            .as_ref()
            .and_then(|h| h.x5t.clone())
            .map(|x5t| {
                let parsed = Thumbprint::from_x5t(&x5t);
                X5t {
                    hex: parsed
                        .as_ref()
                        .map(ToString::to_string)
                        .map_err(ToString::to_string),
                    matches_current: current.map(|c| parsed.as_ref().ok() == Some(&c)),
                    current_hex: current.map(|c| c.to_string()),
                    base64url: x5t,
                }
            });

        Some(Inspection {
            segments,
            header,
            claims,
            signature_bytes,
            profile: decoded.as_ref().map(|_| ()).map_err(ToString::to_string),
            alg: header_typed.as_ref().map(|h| h.alg.to_string()),
            times,
            x5t,
            actor_token: claims_typed
                .as_ref()
                .and_then(|c| c.actor_token.as_ref())
                .map(|t| t.as_str().to_owned()),
            verdict: self.verdict(&token, claims_typed.as_ref()),
        })
    }

    fn certificate(&self) -> Result<Certificate, Verdict> {
        match self.source {
            KeySource::Current => self
                .credentials
                .as_ref()
                .map(|c| c.certificate.clone())
                .ok_or_else(|| {
                    Verdict::NoCertificate(
                        "no certificate yet: generate or load one on the Certificate tab, or paste the signer's certificate here".to_owned(),
                    )
                }),
            KeySource::Pasted => {
                if self.pasted_certificate.trim().is_empty() {
                    return Err(Verdict::NoCertificate(
                        "paste the signer's certificate (PEM or base64 DER) to verify with it"
                            .to_owned(),
                    ));
                }
                read_certificate(&self.pasted_certificate).map_err(Verdict::CertificateRefused)
            }
        }
    }

    fn verdict(&self, token: &str, claims: Option<&jwt::Claims>) -> Verdict {
        let certificate = match self.certificate() {
            Ok(certificate) => certificate,
            Err(verdict) => return verdict,
        };
        let keys = match KeySet::from_certificates([&certificate]) {
            Ok(keys) => keys,
            Err(error) => return Verdict::CertificateRefused(error.to_string()),
        };
        let audience: AudienceRule = if self.expected_audience.trim().is_empty() {
            match claims {
                Some(claims) => claims.aud.clone().into(),
                None => AudienceRule::Matcher(AudienceMatcher::new("any audience", |_| true)),
            }
        } else {
            match self.expected_audience.trim().parse::<Audience>() {
                Ok(audience) => audience.into(),
                Err(error) => {
                    return Verdict::Refused {
                        code: "expected_audience",
                        message: format!("the expected audience is not valid: {error}"),
                    };
                }
            }
        };
        let issuer: Principal = if self.expected_issuer.trim().is_empty() {
            match claims {
                Some(claims) => claims.iss,
                None => Principal::new(
                    pushproxy_token::principal::well_known::EXCHANGE,
                    pushproxy_token::principal::Realm::Any,
                ),
            }
        } else {
            match self.expected_issuer.trim().parse() {
                Ok(issuer) => issuer,
                Err(error) => {
                    return Verdict::Refused {
                        code: "expected_issuer",
                        message: format!("the expected issuer is not valid: {error}"),
                    };
                }
            }
        };
        let checked = format!(
            "signature (RS256), nbf/exp with {DEFAULT_LEEWAY} s leeway, audience {}, issuer {}",
            if self.expected_audience.trim().is_empty() {
                "as in the token"
            } else {
                "as expected"
            },
            if self.expected_issuer.trim().is_empty() {
                "as in the token"
            } else {
                "as expected"
            },
        );
        let validation = Validation::new(audience, issuer);
        match verify(token, &keys, &validation, self.now) {
            Ok(verified) => Verdict::Valid {
                thumbprint: verified.thumbprint().to_string(),
                checked,
            },
            Err(error) => Verdict::Refused {
                code: error.code(),
                message: error.to_string(),
            },
        }
    }
}

/// Where `nbf`..`exp` stands at `now` (no leeway: the verifier adds its own).
pub fn time_status(nbf: i64, exp: i64, now: i64) -> TimeStatus {
    if now < nbf {
        TimeStatus::NotYetValid {
            starts_in: nbf - now,
        }
    } else if now >= exp {
        TimeStatus::Expired { ago: now - exp }
    } else {
        TimeStatus::Valid {
            expires_in: exp - now,
        }
    }
}

/// The URL fragment that carries a token: `#token=<token>`.
pub fn share_fragment(token: &str) -> String {
    format!("#token={token}")
}

/// The token carried by a URL fragment (`#token=...`, possibly among other `&` parts).
pub fn token_from_fragment(fragment: &str) -> Option<String> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .find_map(|part| part.strip_prefix("token="))
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

impl Reducible for DecodeState {
    type Action = DecodeAction;

    fn reduce(self: Rc<Self>, action: DecodeAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            DecodeAction::SetInput(input) => next.input = input,
            DecodeAction::Tick(now) => {
                if now == next.now {
                    return self;
                }
                next.now = now;
            }
            DecodeAction::Credentials(credentials) => next.credentials = credentials,
            DecodeAction::SetSource(source) => next.source = source,
            DecodeAction::SetPastedCertificate(text) => next.pasted_certificate = text,
            DecodeAction::SetExpectedAudience(text) => next.expected_audience = text,
            DecodeAction::SetExpectedIssuer(text) => next.expected_issuer = text,
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials::tests::generated;
    use crate::state::mint::{MintAction, MintState, TokenKind};
    use proptest::prelude::*;

    const NOW: i64 = 1_772_366_400;

    fn minted(kind: TokenKind, credentials: &Rc<Credentials>) -> String {
        let state = Rc::new(MintState::default())
            .reduce(MintAction::SetKind(kind))
            .reduce(MintAction::Mint {
                credentials: credentials.clone(),
                now: NOW,
            });
        state.minted.clone().unwrap().unwrap().token
    }

    fn view(token: &str, credentials: &Rc<Credentials>, now: i64) -> Rc<DecodeState> {
        Rc::new(DecodeState::new(now))
            .reduce(DecodeAction::Credentials(Some(credentials.clone())))
            .reduce(DecodeAction::SetInput(token.to_owned()))
    }

    #[test]
    fn a_fresh_actor_token_is_valid_and_names_the_certificate() {
        let credentials = Rc::new(generated());
        let token = minted(TokenKind::Actor, &credentials);
        let inspection = view(&token, &credentials, NOW + 60).inspect().unwrap();
        let segments = inspection.segments.unwrap();
        assert_eq!(segments.join("."), token);
        assert!(inspection.header.unwrap().contains("\"alg\": \"RS256\""));
        assert!(
            inspection
                .claims
                .unwrap()
                .contains("\"nbf\": \"1772366400\"")
        );
        assert_eq!(inspection.signature_bytes, Some(256));
        assert_eq!(inspection.profile, Ok(()));
        assert_eq!(
            inspection.times.unwrap().status,
            TimeStatus::Valid { expires_in: 3540 }
        );
        let x5t = inspection.x5t.unwrap();
        assert_eq!(x5t.base64url, credentials.certificate.x5t());
        assert_eq!(
            x5t.hex.unwrap(),
            credentials.certificate.thumbprint().to_string()
        );
        assert_eq!(x5t.matches_current, Some(true));
        match inspection.verdict {
            Verdict::Valid { thumbprint, .. } => {
                assert_eq!(thumbprint, credentials.certificate.thumbprint().to_string());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn time_passing_expires_the_token() {
        let credentials = Rc::new(generated());
        let token = minted(TokenKind::Actor, &credentials);
        let state = view(&token, &credentials, NOW).reduce(DecodeAction::Tick(NOW + 3600 + 301));
        let inspection = state.inspect().unwrap();
        assert_eq!(
            inspection.times.unwrap().status,
            TimeStatus::Expired { ago: 301 }
        );
        assert!(matches!(
            inspection.verdict,
            Verdict::Refused {
                code: "expired",
                ..
            }
        ));
        let early = view(&token, &credentials, NOW - 1000).inspect().unwrap();
        assert_eq!(
            early.times.unwrap().status,
            TimeStatus::NotYetValid { starts_in: 1000 }
        );
        assert!(matches!(
            early.verdict,
            Verdict::Refused {
                code: "not_yet_valid",
                ..
            }
        ));
    }

    #[test]
    fn tampering_gives_the_exact_reason() {
        let credentials = Rc::new(generated());
        let token = minted(TokenKind::Actor, &credentials);
        // Change the last character of the signature to another canonical one.
        let mut tampered = token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'Q' } else { 'A' });
        let inspection = view(&tampered, &credentials, NOW).inspect().unwrap();
        match inspection.verdict {
            Verdict::Refused { code, message } => {
                assert_eq!(code, "bad_signature", "{message}");
                assert!(message.contains("signature does not match"));
            }
            other => panic!("{other:?}"),
        }

        let truncated = view("abc.def", &credentials, NOW).inspect().unwrap();
        assert!(truncated.segments.is_err());
        assert!(matches!(
            truncated.verdict,
            Verdict::Refused {
                code: "truncated",
                ..
            }
        ));
    }

    #[test]
    fn an_outer_token_is_refused_as_unsigned_and_exposes_its_actor() {
        let credentials = Rc::new(generated());
        let token = minted(TokenKind::Outer, &credentials);
        let inspection = view(&token, &credentials, NOW).inspect().unwrap();
        assert_eq!(inspection.alg.as_deref(), Some("none"));
        assert!(matches!(
            inspection.verdict,
            Verdict::Refused {
                code: "alg_none",
                ..
            }
        ));
        let actor = inspection.actor_token.unwrap();
        let inner = view(&actor, &credentials, NOW).inspect().unwrap();
        assert!(matches!(inner.verdict, Verdict::Valid { .. }));
    }

    #[test]
    fn another_certificate_does_not_verify() {
        let credentials = Rc::new(generated());
        let token = minted(TokenKind::Actor, &credentials);
        let state =
            view(&token, &credentials, NOW).reduce(DecodeAction::SetSource(KeySource::Pasted));
        assert!(matches!(
            state.inspect().unwrap().verdict,
            Verdict::NoCertificate(_)
        ));
        let state = state.reduce(DecodeAction::SetPastedCertificate("nonsense".to_owned()));
        assert!(matches!(
            state.inspect().unwrap().verdict,
            Verdict::CertificateRefused(_)
        ));
        let state = state.reduce(DecodeAction::SetPastedCertificate(
            credentials.certificate.to_pem(),
        ));
        assert!(matches!(
            state.inspect().unwrap().verdict,
            Verdict::Valid { .. }
        ));
    }

    #[test]
    fn expected_audience_and_issuer_are_enforced() {
        let credentials = Rc::new(generated());
        let token = minted(TokenKind::Actor, &credentials);
        let state = view(&token, &credentials, NOW).reduce(DecodeAction::SetExpectedAudience(
            "00000003-0000-0ff1-ce00-000000000000/contoso.sharepoint.com@4d2a1b3c-0000-4000-8000-00000000abcd".to_owned(),
        ));
        assert!(matches!(
            state.inspect().unwrap().verdict,
            Verdict::Refused {
                code: "wrong_audience",
                ..
            }
        ));
        let state = state
            .reduce(DecodeAction::SetExpectedAudience(String::new()))
            .reduce(DecodeAction::SetExpectedIssuer(
                "00000002-0000-0ff1-ce00-000000000000@11111111-2222-3333-4444-555555555555"
                    .to_owned(),
            ));
        assert!(matches!(
            state.inspect().unwrap().verdict,
            Verdict::Refused {
                code: "wrong_issuer",
                ..
            }
        ));
        let state = state.reduce(DecodeAction::SetExpectedIssuer("nobody".to_owned()));
        assert!(matches!(
            state.inspect().unwrap().verdict,
            Verdict::Refused {
                code: "expected_issuer",
                ..
            }
        ));
    }

    #[test]
    fn nothing_pasted_shows_nothing_and_ticks_without_change_keep_the_state() {
        let state = Rc::new(DecodeState::new(NOW));
        assert!(state.inspect().is_none());
        let same = state.clone().reduce(DecodeAction::Tick(NOW));
        assert!(Rc::ptr_eq(&state, &same));
    }

    #[test]
    fn share_links_carry_the_token_in_the_fragment() {
        let state = Rc::new(DecodeState::new(NOW))
            .reduce(DecodeAction::SetInput(" aaa.bbb\n.ccc ".to_owned()));
        assert_eq!(
            state.share_link("http://127.0.0.1:8000/"),
            "http://127.0.0.1:8000/#token=aaa.bbb.ccc"
        );
        assert_eq!(
            token_from_fragment("#token=aaa.bbb.ccc"),
            Some("aaa.bbb.ccc".to_owned())
        );
        assert_eq!(
            token_from_fragment("#x=1&token=t.u.v"),
            Some("t.u.v".to_owned())
        );
        assert_eq!(token_from_fragment("#token="), None);
        assert_eq!(token_from_fragment(""), None);
    }

    proptest! {
        #[test]
        fn fragments_round_trip(token in "[A-Za-z0-9_.-]{1,200}") {
            prop_assert_eq!(token_from_fragment(&share_fragment(&token)), Some(token));
        }

        #[test]
        fn time_status_is_consistent(nbf in -10_000i64..10_000, life in 1i64..10_000, now in -30_000i64..30_000) {
            let exp = nbf + life;
            match time_status(nbf, exp, now) {
                TimeStatus::Valid { expires_in } => {
                    prop_assert!(nbf <= now && now < exp);
                    prop_assert_eq!(expires_in, exp - now);
                }
                TimeStatus::NotYetValid { starts_in } => prop_assert!(starts_in > 0 && now < nbf),
                TimeStatus::Expired { ago } => prop_assert!(ago >= 0 && now >= exp),
            }
        }
    }
}
