//! JWS compact serialisation (`header.claims.signature`) of the Microsoft S2S profile.
//!
//! Decoding is strict: the token is at most [`DEFAULT_MAX_SIZE`] bytes (or a limit the
//! caller sets), has exactly three segments, each segment is canonical unpadded
//! base64url, header and claims are JSON objects without duplicate names, and the claims
//! follow the profile (`nbf` and `exp` are *strings* of Unix seconds). A [`Decoded`] token
//! keeps its original segments, so a signature is always checked against the exact bytes
//! that were signed, never against a re-encoding.
//!
//! Claims this crate does not know are kept in [`Claims::extra`], so decoding and encoding
//! again loses nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::principal::{Audience, Principal, Realm};
use crate::signer::Signer;
use crate::{Error, b64};

/// The default limit on the size of a token to decode: 16 KiB.
pub const DEFAULT_MAX_SIZE: usize = 16 * 1024;

/// The three parts of a compact token, for error messages.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Segment {
    /// The first segment: the JOSE header.
    Header,
    /// The second segment: the claims.
    Claims,
    /// The third segment: the signature.
    Signature,
}

impl Segment {
    /// How a named field of this segment is introduced in messages.
    fn field_kind(self) -> &'static str {
        match self {
            Self::Header => "header parameter",
            Self::Claims => "claim",
            Self::Signature => "signature field",
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Claims => "claims",
            Self::Signature => "signature",
        })
    }
}

/// The `alg` header parameter.
///
/// Only [`Alg::Rs256`] is ever accepted by [`verify`](crate::verify::verify); the others
/// exist so that decoding can say precisely what a refused token asked for.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, the only algorithm of the S2S profile.
    Rs256,
    /// `none`: an unsigned token (the outer token of a user call).
    None,
    /// Anything else, as written.
    Other(String),
}

impl Alg {
    /// The name as written in a header.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Rs256 => "RS256",
            Self::None => "none",
            Self::Other(name) => name,
        }
    }

    /// Whether this is a shared-secret (HMAC) algorithm, `HS256`, `HS384` or `HS512`.
    pub fn is_hmac(&self) -> bool {
        matches!(self.as_str(), "HS256" | "HS384" | "HS512")
    }

    /// Whether this algorithm needs a key of another type than RSA (elliptic curves,
    /// Edwards curves).
    pub fn is_non_rsa_asymmetric(&self) -> bool {
        let name = self.as_str();
        name.starts_with("ES") || name == "EdDSA" || name == "Ed25519" || name == "Ed448"
    }
}

impl From<&str> for Alg {
    fn from(name: &str) -> Self {
        match name {
            "RS256" => Self::Rs256,
            "none" => Self::None,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compact token as text. Its `Debug` form shows only the start of the header and the
/// length, so a token never ends up whole in a log.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// Wraps the compact text of a token (not checked; decode or verify it to check).
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The compact text, for an `Authorization` header or a form field.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The compact text.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Token {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<Token> for String {
    fn from(token: Token) -> Self {
        token.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take(12).collect();
        write!(f, "Token({prefix}… {} bytes)", self.0.len())
    }
}

/// The JOSE header: `{"typ":"JWT","alg":"RS256","x5t":"..."}`.
#[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct Header {
    /// `typ`; `JWT` in tokens this crate writes.
    pub typ: Option<String>,
    /// `alg`.
    pub alg: Alg,
    /// `x5t`: base64url of the SHA-1 thumbprint of the signing certificate.
    pub x5t: Option<String>,
    /// `x5t#S256`: base64url of the SHA-256 thumbprint of the signing certificate.
    pub x5t_s256: Option<String>,
    /// Any further parameters, as written.
    pub extra: BTreeMap<String, Value>,
}

impl Header {
    /// The header of an RS256 token signed by the certificate with this `x5t`.
    pub fn rs256(x5t: impl Into<String>) -> Self {
        Self {
            typ: Some("JWT".to_owned()),
            alg: Alg::Rs256,
            x5t: Some(x5t.into()),
            x5t_s256: None,
            extra: BTreeMap::new(),
        }
    }

    /// The header of an unsigned token: `{"typ":"JWT","alg":"none"}`.
    pub fn unsigned() -> Self {
        Self {
            typ: Some("JWT".to_owned()),
            alg: Alg::None,
            x5t: None,
            x5t_s256: None,
            extra: BTreeMap::new(),
        }
    }

    /// The header as a JSON object.
    pub fn to_json(&self) -> String {
        Value::Object(self.clone().into()).to_string()
    }
}

/// Header parameters with a typed field.
const HEADER_NAMES: [&str; 4] = ["typ", "alg", "x5t", "x5t#S256"];

impl TryFrom<Map<String, Value>> for Header {
    type Error = Error;

    fn try_from(mut map: Map<String, Value>) -> Result<Self, Error> {
        let seg = Segment::Header;
        if map.contains_key("crit") {
            return Err(field(
                seg,
                "crit",
                "lists extensions that must be understood; this profile has none, so the token cannot be accepted",
            ));
        }
        let alg = take_string(&mut map, seg, "alg")?.ok_or_else(|| missing(seg, "alg"))?;
        let header = Self {
            typ: take_string(&mut map, seg, "typ")?,
            alg: Alg::from(alg.as_str()),
            x5t: take_string(&mut map, seg, "x5t")?,
            x5t_s256: take_string(&mut map, seg, "x5t#S256")?,
            extra: map.into_iter().collect(),
        };
        Ok(header)
    }
}

impl From<Header> for Map<String, Value> {
    fn from(header: Header) -> Self {
        let mut map = Map::new();
        if let Some(typ) = header.typ {
            map.insert("typ".to_owned(), Value::String(typ));
        }
        map.insert(
            "alg".to_owned(),
            Value::String(header.alg.as_str().to_owned()),
        );
        if let Some(x5t) = header.x5t {
            map.insert("x5t".to_owned(), Value::String(x5t));
        }
        if let Some(x5t) = header.x5t_s256 {
            map.insert("x5t#S256".to_owned(), Value::String(x5t));
        }
        for (name, value) in header.extra {
            if !HEADER_NAMES.contains(&name.as_str()) {
                map.insert(name, value);
            }
        }
        map
    }
}

/// The claims of a token in the Microsoft S2S profile.
///
/// On the wire `nbf` and `exp` are strings of Unix seconds and `trustedfordelegation` is
/// the string `"true"` or `"false"`; here they are integers and a boolean. `aud` and `iss`
/// must name a tenant (not the `*` pattern).
///
/// ```
/// use pushproxy_token::jwt::Claims;
/// use pushproxy_token::principal::{Audience, Host, Principal, Realm, well_known};
///
/// let realm = Realm::Tenant("4d2a1b3c-0000-4000-8000-00000000abcd".parse()?);
/// let host: Host = well_known::EXCHANGE_ONLINE_HOST.parse()?;
/// let me = Principal::new(well_known::EXCHANGE, realm);
/// let claims = Claims::new(Audience::new(well_known::EXCHANGE, host, realm), me, me.to_string(), 100, 3700);
/// let json = claims.to_json();
/// assert!(json.contains(r#""exp":"3700""#));
/// assert_eq!(Claims::from_json(&json)?, claims);
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(Clone, PartialEq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct Claims {
    /// `aud`: whom the token is for.
    pub aud: Audience,
    /// `iss`: who issued it.
    pub iss: Principal,
    /// `nameid`: whom it names (the issuer itself in an actor token, a user in an outer
    /// token).
    pub nameid: String,
    /// `nbf`: not valid before this Unix second.
    pub nbf: i64,
    /// `exp`: not valid from this Unix second on.
    pub exp: i64,
    /// `trustedfordelegation`.
    pub trusted_for_delegation: Option<bool>,
    /// `identityprovider`.
    pub identity_provider: Option<String>,
    /// `actortoken`: the signed inner token of an outer token.
    pub actor_token: Option<Token>,
    extra: BTreeMap<String, Value>,
}

/// Claims with a typed field.
const CLAIM_NAMES: [&str; 8] = [
    "aud",
    "iss",
    "nameid",
    "nbf",
    "exp",
    "trustedfordelegation",
    "identityprovider",
    "actortoken",
];

impl Claims {
    /// Claims with the five required members and nothing else.
    pub fn new(
        aud: Audience,
        iss: Principal,
        nameid: impl Into<String>,
        nbf: i64,
        exp: i64,
    ) -> Self {
        Self {
            aud,
            iss,
            nameid: nameid.into(),
            nbf,
            exp,
            trusted_for_delegation: None,
            identity_provider: None,
            actor_token: None,
            extra: BTreeMap::new(),
        }
    }

    /// The claims this crate has no field for, as they were written.
    pub fn extra(&self) -> &BTreeMap<String, Value> {
        &self.extra
    }

    /// Adds or replaces a claim without a typed field (`smtp`, `upn`, `nii`, ...).
    ///
    /// # Errors
    /// [`Error::ReservedClaim`] if `name` is one of the typed claims; set the field
    /// instead.
    pub fn set_extra(&mut self, name: impl Into<String>, value: Value) -> Result<(), Error> {
        let name = name.into();
        if CLAIM_NAMES.contains(&name.as_str()) {
            return Err(Error::ReservedClaim { name });
        }
        self.extra.insert(name, value);
        Ok(())
    }

    /// Removes a claim without a typed field.
    pub fn remove_extra(&mut self, name: &str) -> Option<Value> {
        self.extra.remove(name)
    }

    /// `exp - nbf`, in seconds.
    pub fn lifetime(&self) -> i64 {
        self.exp.saturating_sub(self.nbf)
    }

    /// The claims as a JSON object.
    pub fn to_json(&self) -> String {
        Value::Object(self.clone().into()).to_string()
    }

    /// Reads claims from a JSON object; duplicate names are refused.
    ///
    /// # Errors
    /// [`Error::Json`] if the text is not one JSON object with distinct names,
    /// [`Error::Field`] if a claim is missing or has the wrong form.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        parse_object(json.as_bytes(), Segment::Claims)?.try_into()
    }
}

impl TryFrom<Map<String, Value>> for Claims {
    type Error = Error;

    fn try_from(mut map: Map<String, Value>) -> Result<Self, Error> {
        let seg = Segment::Claims;
        let required = |map: &mut Map<String, Value>, name: &'static str| {
            take_string(map, seg, name)?.ok_or_else(|| missing(seg, name))
        };
        let aud: Audience = required(&mut map, "aud")?
            .parse()
            .map_err(|e| field(seg, "aud", &format!("is not <id>/<host>@<realm>: {e}")))?;
        if aud.realm == Realm::Any {
            return Err(field(
                seg,
                "aud",
                "has the realm `*`; a token must name its tenant",
            ));
        }
        let iss: Principal = required(&mut map, "iss")?
            .parse()
            .map_err(|e| field(seg, "iss", &format!("is not <id>@<realm>: {e}")))?;
        if iss.realm == Realm::Any {
            return Err(field(
                seg,
                "iss",
                "has the realm `*`; a token must name its tenant",
            ));
        }
        let nameid = required(&mut map, "nameid")?;
        let nbf = take_seconds(&mut map, "nbf")?.ok_or_else(|| missing(seg, "nbf"))?;
        let exp = take_seconds(&mut map, "exp")?.ok_or_else(|| missing(seg, "exp"))?;
        let trusted_for_delegation =
            match take_string(&mut map, seg, "trustedfordelegation")?.as_deref() {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(_) => {
                    return Err(field(
                        seg,
                        "trustedfordelegation",
                        "must be the string \"true\" or \"false\"",
                    ));
                }
            };
        Ok(Self {
            aud,
            iss,
            nameid,
            nbf,
            exp,
            trusted_for_delegation,
            identity_provider: take_string(&mut map, seg, "identityprovider")?,
            actor_token: take_string(&mut map, seg, "actortoken")?.map(Token),
            extra: map.into_iter().collect(),
        })
    }
}

impl From<Claims> for Map<String, Value> {
    fn from(claims: Claims) -> Self {
        let mut map = Map::new();
        let mut put = |name: &str, value: String| {
            map.insert(name.to_owned(), Value::String(value));
        };
        put("aud", claims.aud.to_string());
        put("iss", claims.iss.to_string());
        put("nbf", claims.nbf.to_string());
        put("exp", claims.exp.to_string());
        put("nameid", claims.nameid);
        if let Some(trusted) = claims.trusted_for_delegation {
            put("trustedfordelegation", trusted.to_string());
        }
        if let Some(idp) = claims.identity_provider {
            put("identityprovider", idp);
        }
        if let Some(actor) = claims.actor_token {
            put("actortoken", actor.0);
        }
        for (name, value) in claims.extra {
            if !CLAIM_NAMES.contains(&name.as_str()) {
                map.insert(name, value);
            }
        }
        map
    }
}

fn field(segment: Segment, name: &str, problem: &str) -> Error {
    Error::Field {
        kind: segment.field_kind(),
        name: name.to_owned(),
        problem: problem.to_owned(),
    }
}

fn missing(segment: Segment, name: &str) -> Error {
    field(segment, name, "is missing")
}

/// Removes `name` from `map`; it must be a JSON string if present.
fn take_string(
    map: &mut Map<String, Value>,
    segment: Segment,
    name: &str,
) -> Result<Option<String>, Error> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(field(
            segment,
            name,
            &format!("must be a string; found {}", json_kind(&other)),
        )),
    }
}

/// Removes the claim `name` from `map`: a string of ASCII digits without leading zeros.
fn take_seconds(map: &mut Map<String, Value>, name: &str) -> Result<Option<i64>, Error> {
    let seg = Segment::Claims;
    let problem = |found: &str| {
        field(
            seg,
            name,
            &format!(
                "must be a string of Unix seconds (ASCII digits, such as \"1767225600\"); found {found}"
            ),
        )
    };
    let text = match map.remove(name) {
        None => return Ok(None),
        Some(Value::String(s)) => s,
        Some(other) => return Err(problem(&json_kind(&other))),
    };
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = text == "0" || !text.starts_with('0');
    match text.parse::<i64>() {
        Ok(seconds) if digits && canonical => Ok(Some(seconds)),
        _ => Err(problem(&format!("the string {:?}", text))),
    }
}

/// Describes a JSON value for messages.
fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A JSON object whose names are distinct: duplicate names are how two parsers can be
/// made to read different claims from one token, so they are refused.
struct StrictObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for StrictObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StrictObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&name) {
                        return Err(serde::de::Error::custom(format_args!(
                            "the name `{name}` appears twice"
                        )));
                    }
                    map.insert(name, value);
                }
                Ok(StrictObject(map))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Parses one JSON object with distinct names.
fn parse_object(json: &[u8], segment: Segment) -> Result<Map<String, Value>, Error> {
    serde_json::from_slice::<StrictObject>(json)
        .map(|object| object.0)
        .map_err(|source| Error::Json { segment, source })
}

/// The three segments of a compact token, split but not decoded.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    signing_input: &'a str,
    header_len: usize,
    signature: &'a str,
}

impl<'a> Parts<'a> {
    /// Splits `token` into its segments after checking its size against `max_size`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] or [`Error::SegmentCount`].
    pub fn split(token: &'a str, max_size: usize) -> Result<Self, Error> {
        if token.len() > max_size {
            return Err(Error::TooLarge {
                size: token.len(),
                max: max_size,
            });
        }
        let dots = token.bytes().filter(|&b| b == b'.').count();
        let (signing_input, signature) = match token.rsplit_once('.') {
            Some(split) if dots == 2 => split,
            _ => return Err(Error::SegmentCount { found: dots + 1 }),
        };
        let header_len = signing_input.find('.').unwrap_or(signing_input.len());
        Ok(Self {
            signing_input,
            header_len,
            signature,
        })
    }

    /// `header.claims`: exactly the bytes the signature covers.
    pub fn signing_input(&self) -> &'a str {
        self.signing_input
    }

    /// The encoded header segment.
    pub fn header_segment(&self) -> &'a str {
        &self.signing_input[..self.header_len]
    }

    /// The encoded claims segment.
    pub fn claims_segment(&self) -> &'a str {
        self.signing_input
            .get(self.header_len + 1..)
            .unwrap_or_default()
    }

    /// The encoded signature segment (empty for an unsigned token).
    pub fn signature_segment(&self) -> &'a str {
        self.signature
    }

    /// Decodes one segment's base64url.
    ///
    /// # Errors
    /// [`Error::Base64`] if the segment is not canonical unpadded base64url.
    pub fn decode_segment(&self, segment: Segment) -> Result<Vec<u8>, Error> {
        let text = match segment {
            Segment::Header => self.header_segment(),
            Segment::Claims => self.claims_segment(),
            Segment::Signature => self.signature,
        };
        b64::decode(text).ok_or(Error::Base64 { segment })
    }
}

/// Parses the header JSON of a token.
///
/// # Errors
/// [`Error::Json`] or [`Error::Field`].
pub fn parse_header(json: &[u8]) -> Result<Header, Error> {
    parse_object(json, Segment::Header)?.try_into()
}

/// Parses the claims JSON of a token.
///
/// # Errors
/// [`Error::Json`] or [`Error::Field`].
pub fn parse_claims(json: &[u8]) -> Result<Claims, Error> {
    parse_object(json, Segment::Claims)?.try_into()
}

/// A decoded, **unverified** token. Use [`verify`](crate::verify::verify) to accept one.
#[derive(Clone, Debug)]
pub struct Decoded {
    header: Header,
    claims: Claims,
    signing_input: String,
    header_len: usize,
    signature: Vec<u8>,
}

impl Decoded {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// `header.claims` exactly as received.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The header segment exactly as received.
    pub fn header_segment(&self) -> &str {
        &self.signing_input[..self.header_len]
    }

    /// The claims segment exactly as received.
    pub fn claims_segment(&self) -> &str {
        self.signing_input
            .get(self.header_len + 1..)
            .unwrap_or_default()
    }

    /// The signature bytes (empty for an unsigned token).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// Decodes a compact token without verifying it.
///
/// ```
/// use pushproxy_token::jwt::{self, Alg};
///
/// let token = "eyJhbGciOiJub25lIn0.eyJhdWQiOiIwMDAwMDAwMi0wMDAwLTBmZjEtY2UwMC0wMDAwMDAwMDAwMDAvbG9jYWxob3N0QDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMSIsImlzcyI6IjAwMDAwMDAyLTAwMDAtMGZmMS1jZTAwLTAwMDAwMDAwMDAwMEAwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDEiLCJuYW1laWQiOiJ1c2VyIiwibmJmIjoiMCIsImV4cCI6IjYwIn0.";
/// let decoded = jwt::decode(token, jwt::DEFAULT_MAX_SIZE)?;
/// assert_eq!(decoded.header().alg, Alg::None);
/// assert_eq!(decoded.claims().exp, 60);
/// assert!(jwt::decode("a.b", jwt::DEFAULT_MAX_SIZE).is_err());
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
///
/// # Errors
/// [`Error::TooLarge`], [`Error::SegmentCount`], [`Error::Base64`], [`Error::Json`] or
/// [`Error::Field`].
pub fn decode(token: &str, max_size: usize) -> Result<Decoded, Error> {
    let parts = Parts::split(token, max_size)?;
    let header_json = parts.decode_segment(Segment::Header)?;
    let claims_json = parts.decode_segment(Segment::Claims)?;
    let signature = parts.decode_segment(Segment::Signature)?;
    Ok(Decoded {
        header: parse_header(&header_json)?,
        claims: parse_claims(&claims_json)?,
        signing_input: parts.signing_input().to_owned(),
        header_len: parts.header_len,
        signature,
    })
}

/// `base64url(header).base64url(claims)`: the text a signature covers.
pub fn signing_input(header: &Header, claims: &Claims) -> String {
    let mut text = b64::encode(header.to_json().as_bytes());
    text.push('.');
    text.push_str(&b64::encode(claims.to_json().as_bytes()));
    text
}

/// Encodes an unsigned token: `header.claims.` with an empty signature segment.
///
/// # Errors
/// [`Error::UnsignedNeedsAlgNone`] unless `header.alg` is [`Alg::None`].
pub fn encode_unsigned(header: &Header, claims: &Claims) -> Result<Token, Error> {
    if header.alg != Alg::None {
        return Err(Error::UnsignedNeedsAlgNone {
            alg: header.alg.to_string(),
        });
    }
    let mut text = signing_input(header, claims);
    text.push('.');
    Ok(Token(text))
}

/// Encodes and signs a token: the header is `{"typ":"JWT","alg":"RS256","x5t":...}` with
/// the signer's certificate thumbprint.
///
/// # Errors
/// [`Error::Sign`] if the signing backend fails.
pub fn encode_signed(claims: &Claims, signer: &dyn Signer) -> Result<Token, Error> {
    let header = Header::rs256(signer.x5t());
    let mut text = signing_input(&header, claims);
    let signature = signer.sign(text.as_bytes())?;
    text.push('.');
    text.push_str(&b64::encode(&signature));
    Ok(Token(text))
}

#[cfg(test)]
pub(crate) mod strategies {
    //! Generators of headers and claims.
    use super::*;
    use crate::principal::strategies::{tenant_audience, tenant_principal};
    use proptest::prelude::*;

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,16}".prop_map(Value::String),
        ]
    }

    pub fn json_value() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    pub fn extra_names(
        reserved: &'static [&'static str],
    ) -> impl Strategy<Value = BTreeMap<String, Value>> {
        proptest::collection::btree_map("[a-z_#]{1,12}", json_value(), 0..4).prop_map(move |m| {
            m.into_iter()
                .filter(|(k, _)| !reserved.contains(&k.as_str()))
                .collect()
        })
    }

    pub fn header() -> impl Strategy<Value = Header> {
        (
            proptest::option::of("[A-Za-z]{1,6}"),
            prop_oneof![
                Just(Alg::Rs256),
                Just(Alg::None),
                "[A-Z]{2}[0-9]{3}".prop_map(|s| Alg::from(s.as_str()))
            ],
            proptest::option::of("[A-Za-z0-9_-]{27}"),
            proptest::option::of("[A-Za-z0-9_-]{43}"),
            extra_names(&["typ", "alg", "x5t", "x5t#S256", "crit"]),
        )
            .prop_map(|(typ, alg, x5t, x5t_s256, extra)| Header {
                typ,
                alg,
                x5t,
                x5t_s256,
                extra,
            })
    }

    pub fn claims() -> impl Strategy<Value = Claims> {
        (
            tenant_audience(),
            tenant_principal(),
            "\\PC{0,24}",
            (0i64..=i64::MAX, 0i64..=i64::MAX),
            proptest::option::of(any::<bool>()),
            proptest::option::of("\\PC{0,16}"),
            proptest::option::of("[A-Za-z0-9._-]{0,40}"),
            extra_names(&CLAIM_NAMES),
        )
            .prop_map(
                |(aud, iss, nameid, (nbf, exp), trusted, idp, actor, extra)| {
                    let mut claims = Claims::new(aud, iss, nameid, nbf, exp);
                    claims.trusted_for_delegation = trusted;
                    claims.identity_provider = idp;
                    claims.actor_token = actor.map(Token);
                    claims.extra = extra;
                    claims
                },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use crate::principal::well_known;
    use proptest::prelude::*;

    const TENANT: &str = "4d2a1b3c-0000-4000-8000-00000000abcd";

    fn sample() -> Claims {
        let realm: Realm = TENANT.parse().unwrap();
        let me = Principal::new(well_known::EXCHANGE, realm);
        let aud = Audience::new(
            well_known::EXCHANGE,
            "outlook.office365.com".parse().unwrap(),
            realm,
        );
        Claims::new(aud, me, me.to_string(), 1_767_225_600, 1_767_229_200)
    }

    fn claims_json_with(name: &str, value: Value) -> String {
        let mut map: Map<String, Value> = sample().into();
        map.insert(name.to_owned(), value);
        Value::Object(map).to_string()
    }

    #[test]
    fn header_is_written_as_microsoft_does() {
        let header = Header::rs256("hOBcHZi846VCHSJbFAs26Go9VTQ");
        let json = header.to_json();
        // serde_json keeps names sorted unless its `preserve_order` feature is on.
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"typ": "JWT", "alg": "RS256", "x5t": "hOBcHZi846VCHSJbFAs26Go9VTQ"})
        );
        assert_eq!(parse_header(json.as_bytes()).unwrap(), header);
    }

    #[test]
    fn times_are_strings_on_the_wire() {
        let json: Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(json["nbf"], "1767225600");
        assert_eq!(json["exp"], "1767229200");
        assert_eq!(
            json["iss"],
            format!("00000002-0000-0ff1-ce00-000000000000@{TENANT}")
        );
    }

    #[test]
    fn numeric_exp_is_refused_with_a_clear_message() {
        let json = claims_json_with("exp", Value::from(1_767_229_200));
        let e = Claims::from_json(&json).unwrap_err().to_string();
        assert_eq!(
            e,
            "claim `exp` must be a string of Unix seconds (ASCII digits, such as \"1767225600\"); found the number 1767229200"
        );
    }

    #[test]
    fn malformed_seconds_are_refused() {
        for bad in [
            "",
            "-1",
            "+1",
            "01",
            "1.5",
            " 1",
            "1e3",
            "99999999999999999999",
            "١٢",
        ] {
            let json = claims_json_with("nbf", Value::from(bad));
            let e = Claims::from_json(&json).unwrap_err().to_string();
            assert!(
                e.starts_with("claim `nbf` must be a string of Unix seconds"),
                "{bad:?}: {e}"
            );
        }
        let json = claims_json_with("nbf", Value::from("0"));
        assert_eq!(Claims::from_json(&json).unwrap().nbf, 0);
    }

    #[test]
    fn missing_and_mistyped_claims() {
        let mut map: Map<String, Value> = sample().into();
        map.remove("nameid");
        let e = Claims::from_json(&Value::Object(map).to_string())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "claim `nameid` is missing");
        let e = Claims::from_json(&claims_json_with("trustedfordelegation", Value::Bool(true)))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must be a string; found the boolean true"),
            "{e}"
        );
        let e = Claims::from_json(&claims_json_with("trustedfordelegation", "yes".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"true\" or \"false\""), "{e}");
        let e = Claims::from_json(&claims_json_with(
            "iss",
            format!("{}@*", well_known::EXCHANGE).into(),
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("claim `iss` has the realm `*`"), "{e}");
        let e = Claims::from_json(&claims_json_with("aud", "contoso.com".into()))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("claim `aud` is not <id>/<host>@<realm>"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let json = sample().to_json();
        let doubled = json.replacen(
            '{',
            &format!(
                "{{\"aud\":\"{}/evil.example@{TENANT}\",",
                well_known::EXCHANGE
            ),
            1,
        );
        let e = Claims::from_json(&doubled).unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
        assert!(parse_header(br#"{"alg":"RS256","alg":"none"}"#).is_err());
    }

    #[test]
    fn crit_header_is_refused() {
        let e = parse_header(br#"{"alg":"RS256","crit":["exp"]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("header parameter `crit`"), "{e}");
    }

    #[test]
    fn reserved_claims_cannot_be_set_as_extra() {
        let mut claims = sample();
        assert!(matches!(
            claims.set_extra("exp", Value::from("1")),
            Err(Error::ReservedClaim { .. })
        ));
        claims
            .set_extra("smtp", Value::from("user@contoso.com"))
            .unwrap();
        assert_eq!(claims.extra()["smtp"], "user@contoso.com");
        assert_eq!(
            claims.remove_extra("smtp"),
            Some(Value::from("user@contoso.com"))
        );
    }

    #[test]
    fn segment_count_and_size() {
        assert!(matches!(
            Parts::split("a.b", 100),
            Err(Error::SegmentCount { found: 2 })
        ));
        assert!(matches!(
            Parts::split("a.b.c.d", 100),
            Err(Error::SegmentCount { found: 4 })
        ));
        assert!(matches!(
            Parts::split("", 100),
            Err(Error::SegmentCount { found: 1 })
        ));
        assert!(matches!(
            Parts::split("a.b.c", 4),
            Err(Error::TooLarge { size: 5, max: 4 })
        ));
        let parts = Parts::split("a.b.c", 5).unwrap();
        assert_eq!(parts.header_segment(), "a");
        assert_eq!(parts.claims_segment(), "b");
        assert_eq!(parts.signature_segment(), "c");
        assert_eq!(parts.signing_input(), "a.b");
    }

    #[test]
    fn unsigned_encoding_needs_alg_none() {
        let token = encode_unsigned(&Header::unsigned(), &sample()).unwrap();
        assert!(token.as_str().ends_with('.'));
        let decoded = decode(token.as_str(), DEFAULT_MAX_SIZE).unwrap();
        assert!(decoded.signature().is_empty());
        assert_eq!(decoded.claims(), &sample());
        assert!(matches!(
            encode_unsigned(&Header::rs256("x"), &sample()),
            Err(Error::UnsignedNeedsAlgNone { .. })
        ));
    }

    #[test]
    fn token_debug_is_truncated() {
        let token = encode_unsigned(&Header::unsigned(), &sample()).unwrap();
        let debug = format!("{token:?}");
        assert!(debug.len() < 40, "{debug}");
        assert!(debug.contains(&format!("{} bytes", token.len())));
    }

    proptest! {
        #[test]
        fn header_round_trips(header in header()) {
            let json = header.to_json();
            prop_assert_eq!(parse_header(json.as_bytes()).unwrap(), header);
        }

        #[test]
        fn claims_round_trip(claims in claims()) {
            let json = claims.to_json();
            let back = parse_claims(json.as_bytes()).unwrap();
            prop_assert_eq!(&back, &claims);
            // Lossless: encoding the decoded claims gives the same JSON.
            prop_assert_eq!(back.to_json(), json);
        }

        #[test]
        fn compact_form_round_trips(header in header(), claims in claims(), sig in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut text = signing_input(&header, &claims);
            text.push('.');
            text.push_str(&b64::encode(&sig));
            let decoded = decode(&text, usize::MAX).unwrap();
            prop_assert_eq!(decoded.header(), &header);
            prop_assert_eq!(decoded.claims(), &claims);
            prop_assert_eq!(decoded.signature(), &sig[..]);
            prop_assert_eq!(format!("{}.{}", decoded.header_segment(), decoded.claims_segment()), decoded.signing_input());
            prop_assert_eq!(decoded.signing_input(), signing_input(&header, &claims));
        }

        #[test]
        fn decode_never_panics(text in "[A-Za-z0-9_.=+/-]{0,64}") {
            let _ = decode(&text, DEFAULT_MAX_SIZE);
        }
    }
}
