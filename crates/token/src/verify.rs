//! Verifying S2S tokens: signature by a known certificate, times, audience, issuer.
//!
//! [`verify`] accepts a token only if every check passes, in this order:
//!
//! 1. size (before anything is decoded), three segments, canonical base64url;
//! 2. the header: `alg` must be `RS256` (`none`, `HS*` and every other algorithm are
//!    refused), and `x5t` or `x5t#S256` must name a certificate of the [`KeySet`];
//! 3. the signature over the exact received `header.claims` bytes;
//! 4. only then the claims JSON: `nbf`/`exp` with the leeway, the lifetime limit, `aud`,
//!    `iss`, and that both name the same tenant.
//!
//! Each failure is its own [`VerifyError`] variant with a message an administrator can
//! act on, and a stable short [`code`](VerifyError::code) for programs.

use std::fmt;
use std::sync::Arc;

use pushproxy_cert::{Certificate, Sha256Thumbprint, Thumbprint};
use rsa::PublicKey;

use crate::Error;
use crate::datetime::rfc3339;
use crate::jwt::{self, Alg, Claims, Header, Parts, Segment};
use crate::principal::{Audience, Principal, Realm};
use crate::signer::{Backend, CertificateId};

/// The default clock-skew allowance for `nbf` and `exp`, in seconds.
pub const DEFAULT_LEEWAY: i64 = 300;

/// One verification key: a certificate's public key and thumbprints.
#[derive(Clone)]
struct Key {
    thumbprint: Thumbprint,
    sha256: Sha256Thumbprint,
    rust_crypto: rsa::pkcs1v15::VerifyingKey<sha2::Sha256>,
    #[cfg(feature = "aws-lc")]
    aws_lc: Option<aws_lc_rs::signature::ParsedPublicKey>,
}

/// The certificates whose tokens are accepted, by thumbprint. Several at once, so that a
/// certificate can be rotated without a gap.
///
/// Keys are parsed once, when inserted. Keys below 2048 bits are refused.
#[derive(Clone)]
pub struct KeySet {
    keys: Vec<Key>,
    backend: Backend,
}

impl Default for KeySet {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("backend", &self.backend)
            .field("thumbprints", &self.thumbprints().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// An empty set verifying with [`Backend::best_available`].
    pub fn new() -> Self {
        Self {
            keys: Vec::new(),
            backend: Backend::best_available(),
        }
    }

    /// An empty set verifying with `backend`.
    ///
    /// # Errors
    /// [`Error::BackendUnavailable`] if it is not compiled in.
    pub fn with_backend(backend: Backend) -> Result<Self, Error> {
        if !backend.is_available() {
            return Err(Error::BackendUnavailable { backend });
        }
        Ok(Self {
            keys: Vec::new(),
            backend,
        })
    }

    /// A set of these certificates, verifying with [`Backend::best_available`].
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn from_certificates<'a>(
        certificates: impl IntoIterator<Item = &'a Certificate>,
    ) -> Result<Self, Error> {
        let mut set = Self::new();
        for certificate in certificates {
            set.insert(certificate)?;
        }
        Ok(set)
    }

    /// The backend that checks signatures.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Adds a certificate (replacing one with the same thumbprint); returns its
    /// thumbprint.
    ///
    /// # Errors
    /// [`Error::Certificate`] if its key is not RSA, [`Error::KeyTooSmall`] below 2048
    /// bits, [`Error::KeyRejected`] if the backend refuses the key.
    pub fn insert(&mut self, certificate: &Certificate) -> Result<Thumbprint, Error> {
        self.insert_parts(certificate.der(), certificate.rsa_public_key()?)
    }

    /// Adds a certificate given as DER (as uploaded, or from a metadata document).
    ///
    /// # Errors
    /// [`Error::Certificate`] if it cannot be read, and as [`insert`](Self::insert).
    pub fn insert_der(&mut self, der: &[u8]) -> Result<Thumbprint, Error> {
        self.insert(&Certificate::from_der(der)?)
    }

    pub(crate) fn insert_parts(
        &mut self,
        der: &[u8],
        public_key: PublicKey,
    ) -> Result<Thumbprint, Error> {
        let id = CertificateId::from_der(der, public_key)?;
        #[cfg(feature = "aws-lc")]
        let aws_lc = match self.backend {
            Backend::AwsLc => {
                use rsa::pkcs1::EncodeRsaPublicKey;
                let rejected = |reason: String| Error::KeyRejected {
                    backend: Backend::AwsLc,
                    reason,
                };
                let pkcs1 = id
                    .public_key
                    .to_pkcs1_der()
                    .map_err(|e| rejected(e.to_string()))?;
                Some(
                    aws_lc_rs::signature::ParsedPublicKey::new(
                        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                        pkcs1.as_bytes(),
                    )
                    .map_err(|e| rejected(e.to_string()))?,
                )
            }
            Backend::RustCrypto => None,
        };
        let key = Key {
            thumbprint: id.thumbprint,
            sha256: id.sha256,
            rust_crypto: rsa::pkcs1v15::VerifyingKey::new(id.public_key),
            #[cfg(feature = "aws-lc")]
            aws_lc,
        };
        self.keys.retain(|k| k.thumbprint != key.thumbprint);
        self.keys.push(key);
        Ok(id.thumbprint)
    }

    /// Removes the certificate with this thumbprint; returns whether it was there.
    pub fn remove(&mut self, thumbprint: &Thumbprint) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| &k.thumbprint != thumbprint);
        self.keys.len() != before
    }

    /// Whether the certificate with this thumbprint is in the set.
    pub fn contains(&self, thumbprint: &Thumbprint) -> bool {
        self.keys.iter().any(|k| &k.thumbprint == thumbprint)
    }

    /// The thumbprints of the certificates in the set.
    pub fn thumbprints(&self) -> impl Iterator<Item = Thumbprint> + '_ {
        self.keys.iter().map(|k| k.thumbprint)
    }

    /// How many certificates are in the set.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn by_x5t(&self, x5t: &str) -> Result<&Key, VerifyError> {
        let thumbprint = Thumbprint::from_x5t(x5t).ok();
        thumbprint
            .and_then(|t| self.keys.iter().find(|k| k.thumbprint == t))
            .ok_or_else(|| VerifyError::UnknownKey {
                key_id: match thumbprint {
                    Some(t) => format!("x5t={x5t} (thumbprint {t})"),
                    None => format!("x5t={x5t} (not a SHA-1 thumbprint)"),
                },
            })
    }

    fn by_x5t_s256(&self, x5t: &str) -> Result<&Key, VerifyError> {
        let thumbprint = Sha256Thumbprint::from_x5t_s256(x5t).ok();
        thumbprint
            .and_then(|t| self.keys.iter().find(|k| k.sha256 == t))
            .ok_or_else(|| VerifyError::UnknownKey {
                key_id: match thumbprint {
                    Some(t) => format!("x5t#S256={x5t} (SHA-256 thumbprint {t})"),
                    None => format!("x5t#S256={x5t} (not a SHA-256 thumbprint)"),
                },
            })
    }

    /// The key the header names; both names must agree when both are given.
    fn find(&self, header: &Header) -> Result<&Key, VerifyError> {
        let sha1 = header.x5t.as_deref().map(|x| self.by_x5t(x));
        let sha256 = header.x5t_s256.as_deref().map(|x| self.by_x5t_s256(x));
        match (sha1, sha256) {
            (None, None) => Err(VerifyError::MissingKeyId),
            (Some(found), None) | (None, Some(found)) => found,
            (Some(a), Some(b)) => {
                let (a, b) = (a?, b?);
                if a.thumbprint == b.thumbprint {
                    Ok(a)
                } else {
                    Err(VerifyError::KeyIdConflict {
                        x5t: a.thumbprint,
                        x5t_s256: b.thumbprint,
                    })
                }
            }
        }
    }

    fn check_signature(&self, key: &Key, message: &[u8], signature: &[u8]) -> bool {
        #[cfg(feature = "aws-lc")]
        if let Some(parsed) = &key.aws_lc {
            return parsed.verify_sig(message, signature).is_ok();
        }
        use signature::Verifier as _;
        rsa::pkcs1v15::Signature::try_from(signature)
            .and_then(|signature| key.rust_crypto.verify(message, &signature))
            .is_ok()
    }
}

/// A predicate on audiences, with a description for messages.
#[derive(Clone)]
pub struct AudienceMatcher {
    description: String,
    matches: Arc<dyn Fn(&Audience) -> bool + Send + Sync>,
}

impl AudienceMatcher {
    /// A matcher described as `description` (shown as "expected ..." in messages).
    pub fn new(
        description: impl Into<String>,
        matches: impl Fn(&Audience) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            description: description.into(),
            matches: Arc::new(matches),
        }
    }
}

impl fmt::Debug for AudienceMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AudienceMatcher({})", self.description)
    }
}

/// Which audiences a verifier accepts.
#[derive(Clone, Debug)]
pub enum AudienceRule {
    /// Any of these (an audience with realm `*` accepts every tenant).
    AnyOf(Vec<Audience>),
    /// Whatever the matcher accepts.
    Matcher(AudienceMatcher),
}

impl AudienceRule {
    fn accepts(&self, found: &Audience) -> bool {
        match self {
            Self::AnyOf(list) => list.iter().any(|a| a.matches(found)),
            Self::Matcher(m) => (m.matches)(found),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::AnyOf(list) => describe_list(list),
            Self::Matcher(m) => m.description.clone(),
        }
    }
}

impl From<Audience> for AudienceRule {
    fn from(audience: Audience) -> Self {
        Self::AnyOf(vec![audience])
    }
}

impl From<Vec<Audience>> for AudienceRule {
    fn from(list: Vec<Audience>) -> Self {
        Self::AnyOf(list)
    }
}

fn describe_list<T: fmt::Display>(list: &[T]) -> String {
    match list {
        [] => "nothing (no value is configured)".to_owned(),
        [one] => one.to_string(),
        many => {
            let all: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("one of {}", all.join(", "))
        }
    }
}

/// What [`verify`] checks besides the signature.
#[derive(Clone, Debug)]
pub struct Validation {
    /// Accepted `aud` values.
    pub audience: AudienceRule,
    /// Accepted `iss` values (a realm of `*` accepts every tenant; it must be written
    /// explicitly).
    pub issuers: Vec<Principal>,
    /// Clock-skew allowance for `nbf` and `exp`, in seconds. Default 300.
    pub leeway: i64,
    /// The largest token accepted, in bytes. Default 16 KiB.
    pub max_size: usize,
    /// The longest `exp - nbf` accepted, in seconds, if limited.
    pub max_lifetime: Option<i64>,
    /// Whether `aud` and `iss` must name the same tenant. Default true.
    pub require_same_realm: bool,
}

impl Validation {
    /// Accept tokens for `audience` from `issuer`, with the defaults.
    pub fn new(audience: impl Into<AudienceRule>, issuer: Principal) -> Self {
        Self {
            audience: audience.into(),
            issuers: vec![issuer],
            leeway: DEFAULT_LEEWAY,
            max_size: jwt::DEFAULT_MAX_SIZE,
            max_lifetime: None,
            require_same_realm: true,
        }
    }
}

/// A token that passed every check.
#[derive(Clone, Debug)]
pub struct Verified {
    header: Header,
    claims: Claims,
    thumbprint: Thumbprint,
}

impl Verified {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The claims, consuming the result.
    pub fn into_claims(self) -> Claims {
        self.claims
    }

    /// The thumbprint of the certificate whose key verified the signature.
    pub fn thumbprint(&self) -> Thumbprint {
        self.thumbprint
    }
}

/// Why a token was refused. [`code`](Self::code) gives a stable short name for each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is longer than the limit.
    #[error("token is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },

    /// The token does not have exactly three segments.
    #[error(
        "token has {segments} dot-separated segment(s); a signed JWT has exactly three (header.claims.signature); was it truncated?"
    )]
    Truncated {
        /// How many segments it has.
        segments: usize,
    },

    /// A segment is not canonical unpadded base64url.
    #[error(
        "the {segment} segment is not unpadded base64url (only A-Z a-z 0-9 - _, no `=`); the token was altered or copied incompletely"
    )]
    NotBase64Url {
        /// Which segment.
        segment: Segment,
    },

    /// The header or claims are not a JSON object with distinct names.
    #[error("the {segment} segment is not a JSON object with distinct member names: {source}")]
    InvalidJson {
        /// Which segment.
        segment: Segment,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A header parameter or claim is missing or malformed.
    #[error("{kind} `{name}` {problem}")]
    InvalidField {
        /// `header parameter` or `claim`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What is wrong.
        problem: String,
    },

    /// The token is unsigned.
    #[error(
        "token is unsigned (`alg` is `none`); S2S tokens must be signed with RS256 by a trusted certificate"
    )]
    Unsigned,

    /// The token uses a shared-secret algorithm.
    #[error(
        "token uses `{alg}`, a shared-secret algorithm; S2S tokens must be RS256 (a {alg} token made with a public key as secret is a known forgery)"
    )]
    SymmetricAlg {
        /// The algorithm.
        alg: String,
    },

    /// The token's algorithm needs another key type than the RSA certificates of the key
    /// set.
    #[error(
        "token uses `{alg}`, which does not fit the RSA keys of trusted certificates; S2S tokens must be RS256"
    )]
    AlgKeyMismatch {
        /// The algorithm.
        alg: String,
    },

    /// Any other algorithm.
    #[error("token uses `{alg}`; only RS256 is accepted")]
    UnsupportedAlg {
        /// The algorithm.
        alg: String,
    },

    /// The header names no certificate.
    #[error(
        "token header has neither `x5t` nor `x5t#S256`, so the signing certificate cannot be found; the issuer must name its certificate"
    )]
    MissingKeyId,

    /// The header names a certificate that is not trusted.
    #[error(
        "token signed by certificate {key_id} which is not in the key set; upload that certificate as a credential or check AuthConfig.CurrentCertificateThumbprint"
    )]
    UnknownKey {
        /// The key id as found, with its thumbprint.
        key_id: String,
    },

    /// `x5t` and `x5t#S256` name different certificates.
    #[error("token header names two certificates: x5t is {x5t}, x5t#S256 is {x5t_s256}")]
    KeyIdConflict {
        /// The certificate named by `x5t`.
        x5t: Thumbprint,
        /// The certificate named by `x5t#S256`.
        x5t_s256: Thumbprint,
    },

    /// The signature does not match.
    #[error(
        "signature does not match the token's contents for certificate {thumbprint}; the token was altered, or signed by another key with the same certificate name"
    )]
    BadSignature {
        /// The certificate whose key was used.
        thumbprint: Thumbprint,
    },

    /// `exp` is not after `nbf`.
    #[error("token lifetime is empty: exp {} is not after nbf {}", rfc3339(*.exp), rfc3339(*.nbf))]
    EmptyLifetime {
        /// `nbf`.
        nbf: i64,
        /// `exp`.
        exp: i64,
    },

    /// The token has expired.
    #[error("token expired at {} ({} s ago, leeway {leeway} s); get a new token, and check the clocks if this repeats", rfc3339(*.exp), .now.saturating_sub(*.exp))]
    Expired {
        /// `exp`.
        exp: i64,
        /// The verifier's time.
        now: i64,
        /// The leeway.
        leeway: i64,
    },

    /// The token is not valid yet.
    #[error("token is not valid before {} ({} s from now, leeway {leeway} s); check the issuer's clock", rfc3339(*.nbf), .nbf.saturating_sub(*.now))]
    NotYetValid {
        /// `nbf`.
        nbf: i64,
        /// The verifier's time.
        now: i64,
        /// The leeway.
        leeway: i64,
    },

    /// The token lives longer than allowed.
    #[error("token lifetime is {lifetime} s; at most {max} s are accepted")]
    LifetimeTooLong {
        /// `exp - nbf`.
        lifetime: i64,
        /// The limit.
        max: i64,
    },

    /// The token is for someone else.
    #[error("token audience is {found}; expected {expected}")]
    WrongAudience {
        /// The `aud` claim.
        found: Audience,
        /// What was accepted.
        expected: String,
    },

    /// The token comes from an untrusted issuer.
    #[error("token issuer is {found}; expected {expected}")]
    WrongIssuer {
        /// The `iss` claim.
        found: Principal,
        /// What was accepted.
        expected: String,
    },

    /// `aud` and `iss` name different tenants.
    #[error(
        "token audience is in tenant {audience} but its issuer is in tenant {issuer}; a token must stay within one tenant"
    )]
    RealmMismatch {
        /// The audience's realm.
        audience: Realm,
        /// The issuer's realm.
        issuer: Realm,
    },

    /// Anything else that made the token unreadable.
    #[error("token is malformed: {problem}")]
    Malformed {
        /// What is wrong.
        problem: String,
    },
}

impl VerifyError {
    /// A stable short name of the failure, for programs, metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Truncated { .. } => "truncated",
            Self::NotBase64Url { .. } => "not_base64url",
            Self::InvalidJson { .. } => "invalid_json",
            Self::InvalidField { .. } => "invalid_field",
            Self::Unsigned => "alg_none",
            Self::SymmetricAlg { .. } => "symmetric_alg",
            Self::AlgKeyMismatch { .. } => "alg_key_mismatch",
            Self::UnsupportedAlg { .. } => "unsupported_alg",
            Self::MissingKeyId => "missing_key_id",
            Self::UnknownKey { .. } => "unknown_key",
            Self::KeyIdConflict { .. } => "key_id_conflict",
            Self::BadSignature { .. } => "bad_signature",
            Self::EmptyLifetime { .. } => "empty_lifetime",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::LifetimeTooLong { .. } => "lifetime_too_long",
            Self::WrongAudience { .. } => "wrong_audience",
            Self::WrongIssuer { .. } => "wrong_issuer",
            Self::RealmMismatch { .. } => "realm_mismatch",
            Self::Malformed { .. } => "malformed",
        }
    }
}

impl From<Error> for VerifyError {
    fn from(error: Error) -> Self {
        match error {
            Error::TooLarge { size, max } => Self::TooLarge { size, max },
            Error::SegmentCount { found } => Self::Truncated { segments: found },
            Error::Base64 { segment } => Self::NotBase64Url { segment },
            Error::Json { segment, source } => Self::InvalidJson { segment, source },
            Error::Field {
                kind,
                name,
                problem,
            } => Self::InvalidField {
                kind,
                name,
                problem,
            },
            Error::Verify(inner) => inner,
            other => Self::Malformed {
                problem: other.to_string(),
            },
        }
    }
}

/// Verifies `token` at `now` (Unix seconds) against `keys` and `validation`.
///
/// # Errors
/// The first check that fails, as described in the [module documentation](self).
pub fn verify(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
    now: i64,
) -> Result<Verified, VerifyError> {
    let parts = Parts::split(token, validation.max_size)?;
    let header_json = parts.decode_segment(Segment::Header)?;
    let claims_json = parts.decode_segment(Segment::Claims)?;
    let signature = parts.decode_segment(Segment::Signature)?;
    let header = jwt::parse_header(&header_json)?;
    match &header.alg {
        Alg::Rs256 => {}
        Alg::None => return Err(VerifyError::Unsigned),
        alg if alg.is_hmac() => {
            return Err(VerifyError::SymmetricAlg {
                alg: alg.to_string(),
            });
        }
        alg if alg.is_non_rsa_asymmetric() => {
            return Err(VerifyError::AlgKeyMismatch {
                alg: alg.to_string(),
            });
        }
        alg => {
            return Err(VerifyError::UnsupportedAlg {
                alg: alg.to_string(),
            });
        }
    }
    let key = keys.find(&header)?;
    if !keys.check_signature(key, parts.signing_input().as_bytes(), &signature) {
        return Err(VerifyError::BadSignature {
            thumbprint: key.thumbprint,
        });
    }
    let claims = jwt::parse_claims(&claims_json)?;
    check_claims(&claims, validation, now)?;
    Ok(Verified {
        header,
        claims,
        thumbprint: key.thumbprint,
    })
}

/// The checks of the claims of a token whose signature is good.
fn check_claims(claims: &Claims, validation: &Validation, now: i64) -> Result<(), VerifyError> {
    let leeway = validation.leeway.max(0);
    if claims.exp <= claims.nbf {
        return Err(VerifyError::EmptyLifetime {
            nbf: claims.nbf,
            exp: claims.exp,
        });
    }
    if now >= claims.exp.saturating_add(leeway) {
        return Err(VerifyError::Expired {
            exp: claims.exp,
            now,
            leeway,
        });
    }
    if now.saturating_add(leeway) < claims.nbf {
        return Err(VerifyError::NotYetValid {
            nbf: claims.nbf,
            now,
            leeway,
        });
    }
    if let Some(max) = validation.max_lifetime
        && claims.lifetime() > max
    {
        return Err(VerifyError::LifetimeTooLong {
            lifetime: claims.lifetime(),
            max,
        });
    }
    if !validation.audience.accepts(&claims.aud) {
        return Err(VerifyError::WrongAudience {
            found: claims.aud.clone(),
            expected: validation.audience.describe(),
        });
    }
    if !validation.issuers.iter().any(|i| i.matches(&claims.iss)) {
        return Err(VerifyError::WrongIssuer {
            found: claims.iss,
            expected: describe_list(&validation.issuers),
        });
    }
    if validation.require_same_realm && claims.aud.realm != claims.iss.realm {
        return Err(VerifyError::RealmMismatch {
            audience: claims.aud.realm,
            issuer: claims.iss.realm,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::strategies::claims as any_claims;
    use crate::principal::{Guid, well_known};
    use crate::signer::Signer;
    use crate::signer::test_keys;
    use proptest::prelude::*;

    const NOW: i64 = 1_767_225_600;

    fn tenant() -> Realm {
        Realm::Tenant("4d2a1b3c-0000-4000-8000-00000000abcd".parse().unwrap())
    }

    fn audience() -> Audience {
        Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            tenant(),
        )
    }

    fn issuer() -> Principal {
        Principal::new(well_known::EXCHANGE, tenant())
    }

    fn claims() -> Claims {
        Claims::new(
            audience(),
            issuer(),
            issuer().to_string(),
            NOW - 60,
            NOW + 3600,
        )
    }

    fn keys() -> KeySet {
        let mut keys = KeySet::new();
        keys.insert_parts(test_keys::FAKE_DER, test_keys::key().to_public_key())
            .unwrap();
        keys
    }

    fn validation() -> Validation {
        Validation::new(audience(), issuer())
    }

    fn sign(claims: &Claims) -> String {
        jwt::encode_signed(claims, &test_keys::rust_crypto())
            .unwrap()
            .into_string()
    }

    fn code(token: &str, validation: &Validation, now: i64) -> &'static str {
        match verify(token, &keys(), validation, now) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn a_good_token_verifies_with_every_backend() {
        let token = sign(&claims());
        for backend in Backend::ALL.into_iter().filter(|b| b.is_available()) {
            let mut keys = KeySet::with_backend(backend).unwrap();
            keys.insert_parts(test_keys::FAKE_DER, test_keys::key().to_public_key())
                .unwrap();
            let verified = verify(&token, &keys, &validation(), NOW).unwrap();
            assert_eq!(verified.claims(), &claims());
            assert_eq!(
                verified.thumbprint(),
                Thumbprint::of_der(test_keys::FAKE_DER)
            );
            assert_eq!(verified.header().alg, Alg::Rs256);
        }
    }

    #[test]
    fn unavailable_backend_is_a_typed_error() {
        if !Backend::AwsLc.is_available() {
            assert!(matches!(
                KeySet::with_backend(Backend::AwsLc),
                Err(Error::BackendUnavailable { .. })
            ));
        }
    }

    #[test]
    fn time_checks_with_leeway() {
        let token = sign(&claims());
        let v = validation();
        assert_eq!(code(&token, &v, NOW + 3600 + 299), "ok");
        assert_eq!(code(&token, &v, NOW + 3600 + 300), "expired");
        assert_eq!(code(&token, &v, NOW - 60 - 300), "ok");
        assert_eq!(code(&token, &v, NOW - 60 - 301), "not_yet_valid");
        let e = verify(&token, &keys(), &v, NOW + 3600 + 400)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "token expired at 2026-01-01T01:00:00Z (400 s ago, leeway 300 s); get a new token, and check the clocks if this repeats"
        );
        let e = verify(&token, &keys(), &v, NOW - 1000)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("token is not valid before 2025-12-31T23:59:00Z (940 s from now"),
            "{e}"
        );
        let mut empty = claims();
        empty.exp = empty.nbf;
        assert_eq!(code(&sign(&empty), &v, NOW), "empty_lifetime");
    }

    #[test]
    fn lifetime_limit() {
        let token = sign(&claims());
        let mut v = validation();
        v.max_lifetime = Some(3660);
        assert_eq!(code(&token, &v, NOW), "ok");
        v.max_lifetime = Some(3659);
        assert_eq!(code(&token, &v, NOW), "lifetime_too_long");
    }

    #[test]
    fn audience_and_issuer_rules() {
        let mut c = claims();
        c.aud.host = "evil.example".parse().unwrap();
        let e = verify(&sign(&c), &keys(), &validation(), NOW).unwrap_err();
        assert_eq!(e.code(), "wrong_audience");
        assert!(
            e.to_string().contains(
                "expected 00000002-0000-0ff1-ce00-000000000000/outlook.office365.com@4d2a1b3c"
            ),
            "{e}"
        );

        let mut v = validation();
        v.audience = AudienceRule::Matcher(AudienceMatcher::new("any Exchange host", |a| {
            a.id == well_known::EXCHANGE
        }));
        assert_eq!(code(&sign(&c), &v, NOW), "ok");

        let mut c = claims();
        c.iss = Principal::new(well_known::SHAREPOINT, tenant());
        assert_eq!(code(&sign(&c), &validation(), NOW), "wrong_issuer");

        // A wildcard issuer is accepted only when written explicitly, and the tenants
        // must still agree.
        let other = Realm::Tenant(Guid::from_u128(42));
        let mut c = claims();
        c.iss.realm = other;
        assert_eq!(code(&sign(&c), &validation(), NOW), "wrong_issuer");
        let mut v = validation();
        v.issuers = vec![Principal::new(well_known::EXCHANGE, Realm::Any)];
        assert_eq!(code(&sign(&c), &v, NOW), "realm_mismatch");
        v.require_same_realm = false;
        assert_eq!(code(&sign(&c), &v, NOW), "ok");
        c.aud.realm = other;
        v.require_same_realm = true;
        v.audience = Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            Realm::Any,
        )
        .into();
        assert_eq!(code(&sign(&c), &v, NOW), "ok");
    }

    #[test]
    fn algorithms_other_than_rs256_are_refused() {
        let good = sign(&claims());
        let (_, rest) = good.split_once('.').unwrap();
        for (alg, expected) in [
            ("none", "alg_none"),
            ("HS256", "symmetric_alg"),
            ("HS512", "symmetric_alg"),
            ("ES256", "alg_key_mismatch"),
            ("EdDSA", "alg_key_mismatch"),
            ("PS256", "unsupported_alg"),
            ("RS512", "unsupported_alg"),
            ("rs256", "unsupported_alg"),
        ] {
            let mut header = Header::rs256(test_keys::rust_crypto().x5t());
            header.alg = Alg::from(alg);
            let token = format!("{}.{rest}", crate::b64::encode(header.to_json().as_bytes()));
            assert_eq!(code(&token, &validation(), NOW), expected, "{alg}");
        }
    }

    #[test]
    fn key_ids() {
        let signer = test_keys::rust_crypto();
        let with_header = |header: Header| {
            let mut text = format!(
                "{}.{}",
                crate::b64::encode(header.to_json().as_bytes()),
                crate::b64::encode(claims().to_json().as_bytes())
            );
            let sig = signer.sign(text.as_bytes()).unwrap();
            text.push('.');
            text.push_str(&crate::b64::encode(&sig));
            text
        };
        let mut header = Header::rs256(signer.x5t());
        header.x5t = None;
        assert_eq!(
            code(&with_header(header.clone()), &validation(), NOW),
            "missing_key_id"
        );
        header.x5t_s256 = Some(signer.sha256_thumbprint().x5t_s256());
        assert_eq!(code(&with_header(header.clone()), &validation(), NOW), "ok");
        header.x5t = Some(signer.x5t().to_owned());
        assert_eq!(code(&with_header(header.clone()), &validation(), NOW), "ok");
        header.x5t = Some(Thumbprint::of_der(b"other").x5t());
        let e = verify(&with_header(header.clone()), &keys(), &validation(), NOW).unwrap_err();
        assert_eq!(e.code(), "unknown_key");
        let other = Thumbprint::of_der(b"other");
        assert!(
            e.to_string()
                .contains(&format!("x5t={} (thumbprint {other})", other.x5t())),
            "{e}"
        );
        header.x5t = Some("not-a-thumbprint".to_owned());
        let e = verify(&with_header(header.clone()), &keys(), &validation(), NOW).unwrap_err();
        assert!(e.to_string().contains("not a SHA-1 thumbprint"), "{e}");

        // Two certificates in the set, named inconsistently.
        let mut keys = keys();
        keys.insert_parts(b"second certificate", test_keys::key().to_public_key())
            .unwrap();
        let mut header = Header::rs256(Thumbprint::of_der(b"second certificate").x5t());
        header.x5t_s256 = Some(signer.sha256_thumbprint().x5t_s256());
        let e = verify(&with_header(header), &keys, &validation(), NOW).unwrap_err();
        assert_eq!(e.code(), "key_id_conflict");
    }

    #[test]
    fn key_set_management() {
        let mut keys = keys();
        let t = Thumbprint::of_der(test_keys::FAKE_DER);
        assert!(keys.contains(&t));
        assert_eq!(keys.len(), 1);
        // Inserting the same certificate again replaces it.
        keys.insert_parts(test_keys::FAKE_DER, test_keys::key().to_public_key())
            .unwrap();
        assert_eq!(keys.len(), 1);
        assert!(format!("{keys:?}").contains(&t.to_string()));
        assert!(keys.remove(&t));
        assert!(!keys.remove(&t));
        assert!(keys.is_empty());
        assert_eq!(code(&sign(&claims()), &validation(), NOW), "ok");
        assert_eq!(
            verify(&sign(&claims()), &keys, &validation(), NOW)
                .unwrap_err()
                .code(),
            "unknown_key"
        );
        let e = keys
            .insert_parts(b"small", test_keys::small_key().to_public_key())
            .unwrap_err();
        assert!(matches!(e, Error::KeyTooSmall { bits: 1024, .. }), "{e}");
    }

    #[test]
    fn size_segments_and_encoding() {
        let token = sign(&claims());
        let mut v = validation();
        v.max_size = token.len() - 1;
        assert_eq!(code(&token, &v, NOW), "too_large");
        let (signing_input, _) = token.rsplit_once('.').unwrap();
        assert_eq!(code(signing_input, &validation(), NOW), "truncated");
        assert_eq!(code(&format!("{token}.x"), &validation(), NOW), "truncated");
        assert_eq!(
            code(&token.replacen('.', "=.", 1), &validation(), NOW),
            "not_base64url"
        );
        // A claims segment that is valid base64url but not JSON fails the signature first.
        let tampered = format!(
            "{}.e30.{}",
            token.split('.').next().unwrap(),
            token.rsplit('.').next().unwrap()
        );
        assert_eq!(code(&tampered, &validation(), NOW), "bad_signature");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Minted-then-verified: any claims signed by the key verify and come back equal.
        #[test]
        fn any_signed_claims_verify(mut claims in any_claims()) {
            claims.nbf = NOW - 10;
            claims.exp = NOW + 10;
            claims.iss.realm = claims.aud.realm;
            let mut v = Validation::new(claims.aud.clone(), claims.iss);
            v.max_size = usize::MAX;
            let token = sign(&claims);
            let verified = verify(&token, &keys(), &v, NOW).unwrap();
            prop_assert_eq!(verified.claims(), &claims);
        }

        /// Any single-byte change anywhere in the token is refused.
        #[test]
        fn any_single_byte_change_is_refused(at in any::<prop::sample::Index>(), byte in 0u8..0x80) {
            static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let token = TOKEN.get_or_init(|| sign(&claims()));
            let at = at.index(token.len());
            prop_assume!(token.as_bytes()[at] != byte);
            let mut bytes = token.clone().into_bytes();
            bytes[at] = byte;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(verify(&changed, &keys(), &validation(), NOW).is_err());
        }
    }
}
