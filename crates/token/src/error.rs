//! The one error type of this crate (verification verdicts are [`VerifyError`]).

use crate::jwt::Segment;
use crate::signer::Backend;
use crate::verify::VerifyError;

/// Everything that can go wrong while reading, writing, signing or minting tokens and the
/// documents around them. Each message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A GUID (principal id or tenant id) was malformed.
    #[error("GUID `{input}` is invalid: {reason}")]
    InvalidGuid {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A host name was malformed.
    #[error("host `{input}` is invalid: {reason}")]
    InvalidHost {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A principal (`<id>@<realm>`) was malformed.
    #[error("principal `{input}` is invalid: {reason}")]
    InvalidPrincipal {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An audience (`<id>/<host>@<realm>`) was malformed.
    #[error("audience `{input}` is invalid: {reason}")]
    InvalidAudience {
        /// The text that was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The token is longer than the limit.
    #[error(
        "token is {size} bytes; at most {max} are accepted (raise the size limit only if a peer legitimately sends larger tokens)"
    )]
    TooLarge {
        /// The size of the token.
        size: usize,
        /// The limit.
        max: usize,
    },

    /// The token does not have exactly three segments.
    #[error(
        "token has {found} dot-separated segment(s); a JWT has exactly three (header.claims.signature); was it truncated or pasted incompletely?"
    )]
    SegmentCount {
        /// How many segments were found.
        found: usize,
    },

    /// A segment is not canonical unpadded base64url.
    #[error(
        "the {segment} segment is not unpadded base64url (only A-Z a-z 0-9 - _, no `=`, no line breaks); copy the token again without alterations"
    )]
    Base64 {
        /// Which segment.
        segment: Segment,
    },

    /// The header or claims segment is not a JSON object with distinct names.
    #[error("the {segment} segment is not a JSON object with distinct member names: {source}")]
    Json {
        /// Which segment.
        segment: Segment,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A header parameter or claim is missing or malformed.
    #[error("{kind} `{name}` {problem}")]
    Field {
        /// `header parameter` or `claim`.
        kind: &'static str,
        /// The name of the parameter or claim.
        name: String,
        /// What is wrong, phrased to follow the name.
        problem: String,
    },

    /// A claim with a typed field was set as an extra claim.
    #[error("claim `{name}` has its own field in `Claims`; set that field instead")]
    ReservedClaim {
        /// The claim name.
        name: String,
    },

    /// An unsigned token was asked for with a signing algorithm in its header.
    #[error("an unsigned token must have `alg` `none`, not `{alg}`; use `Header::unsigned()`")]
    UnsignedNeedsAlgNone {
        /// The algorithm in the header.
        alg: String,
    },

    /// A signing backend is not compiled into this build.
    #[error(
        "the {backend} signing backend is not in this build (it needs the `aws-lc` feature); use `Backend::best_available()` or `Backend::RustCrypto`"
    )]
    BackendUnavailable {
        /// The backend asked for.
        backend: Backend,
    },

    /// A backend refused the private key.
    #[error("the {backend} backend refused the private key: {reason}")]
    KeyRejected {
        /// The backend.
        backend: Backend,
        /// What it said.
        reason: String,
    },

    /// The private key does not belong to the certificate.
    #[error(
        "the private key does not belong to the certificate with thumbprint {thumbprint}; give the key the certificate was issued for"
    )]
    KeyMismatch {
        /// The certificate's SHA-1 thumbprint (hex).
        thumbprint: String,
    },

    /// Signing failed.
    #[error("signing with the {backend} backend failed: {reason}")]
    Sign {
        /// The backend.
        backend: Backend,
        /// What it said.
        reason: String,
    },

    /// An RSA key is too small for S2S tokens.
    #[error("certificate {thumbprint} has a {bits}-bit RSA key; at least 2048 bits are required")]
    KeyTooSmall {
        /// The certificate's SHA-1 thumbprint (hex).
        thumbprint: String,
        /// The key size.
        bits: usize,
    },

    /// A certificate or key could not be used.
    #[error("certificate error: {0}")]
    Certificate(#[from] pushproxy_cert::Error),

    /// A token lifetime longer than allowed was asked for.
    #[error(
        "a token lifetime of {requested} s was asked for; at most {max} s (12 hours) are allowed"
    )]
    LifetimeTooLong {
        /// The lifetime asked for, in seconds.
        requested: i64,
        /// The limit, in seconds.
        max: i64,
    },

    /// A token lifetime of zero or less was asked for.
    #[error("a token lifetime of {requested} s was asked for; it must be at least 1 s")]
    LifetimeNotPositive {
        /// The lifetime asked for, in seconds.
        requested: i64,
    },

    /// A token was to be minted for the `*` realm.
    #[error("the {what} has the realm `*`; a token must name one tenant id")]
    WildcardRealm {
        /// Which value had the wildcard.
        what: &'static str,
    },

    /// Verification failed; the reason is inside.
    #[error(transparent)]
    Verify(#[from] VerifyError),

    /// The metadata document is not JSON.
    #[error("the metadata document is not JSON: {source}")]
    MetadataJson {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A member of the metadata document is missing or malformed.
    #[error("metadata document: `{field}` {problem}")]
    MetadataField {
        /// Where in the document (`keys[0].keyValue.value`).
        field: String,
        /// What is wrong.
        problem: String,
    },

    /// The metadata document lists no `OAuth2` endpoint.
    #[error(
        "the metadata document has no endpoint with protocol `OAuth2`; check the AuthMetadataUrl (it should end in /metadata/json/1?realm=<tenant>)"
    )]
    NoIssuanceEndpoint,

    /// The metadata document has no signing certificate.
    #[error(
        "the metadata document has no signing key of type x509Certificate; tokens from this issuer cannot be verified"
    )]
    NoSigningKeys,

    /// A form body is malformed.
    #[error("form body is malformed: {problem}")]
    Form {
        /// What is wrong.
        problem: String,
    },

    /// A required form parameter is missing.
    #[error("form parameter `{name}` is missing")]
    MissingParameter {
        /// The parameter name.
        name: &'static str,
    },

    /// The token request asks for another grant type.
    #[error(
        "grant_type `{found}` is not supported; use `http://oauth.net/grant_type/jwt/1.0/bearer`"
    )]
    UnsupportedGrantType {
        /// The grant type found.
        found: String,
    },

    /// A token-service JSON body is not JSON.
    #[error("token service answer is not JSON: {source}")]
    StsJson {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// A member of a token-service JSON body is missing or malformed.
    #[error("token service answer: `{name}` {problem}")]
    StsField {
        /// The member name.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },

    /// A `WWW-Authenticate` challenge is malformed.
    #[error("WWW-Authenticate challenge is malformed: {problem}")]
    Challenge {
        /// What is wrong.
        problem: String,
    },
}
