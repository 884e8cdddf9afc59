//! The wire types of the token exchange with the token service (STS).
//!
//! *Inferred*: no official specification describes these messages; their shape follows
//! Azure AD v1 (ACS), where the numbers of a token response are strings. Everything that
//! depends on that inference lives in this module so that it can change in one place.
//!
//! - [`TokenRequest`]: the form POST to the metadata's `OAuth2` endpoint, with
//!   `grant_type=http://oauth.net/grant_type/jwt/1.0/bearer`, the self-issued `assertion`
//!   and the `resource`;
//! - [`TokenResponse`]: the JSON answer carrying the access token;
//! - [`OAuthError`]: the JSON error body (`error`, `error_description`);
//! - [`BearerChallenge`]: the `WWW-Authenticate: Bearer ...` header of a 401.
//!
//! ```
//! use pushproxy_token::jwt::Token;
//! use pushproxy_token::sts::TokenRequest;
//!
//! let resource = "00000002-0000-0ff1-ce00-000000000000/outlook.office365.com@4d2a1b3c-0000-4000-8000-00000000abcd".parse()?;
//! let request = TokenRequest::new(Token::new("eyJ.eyJ.sig"), resource);
//! let body = request.to_form();
//! assert!(body.starts_with("grant_type=http%3A%2F%2Foauth.net%2Fgrant_type%2Fjwt%2F1.0%2Fbearer&assertion=eyJ.eyJ.sig&resource="));
//! assert_eq!(TokenRequest::from_form(&body)?, request);
//! # Ok::<(), pushproxy_token::Error>(())
//! ```

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::Error;
use crate::jwt::Token;
use crate::principal::{Audience, Guid, Principal};

/// The `grant_type` of the S2S token exchange.
pub const JWT_BEARER_GRANT: &str = "http://oauth.net/grant_type/jwt/1.0/bearer";

/// The media type of a token request body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Encodes name/value pairs as `application/x-www-form-urlencoded`: letters, digits and
/// `*-._` stay, a space becomes `+`, every other byte is `%XX` (upper-case hex).
pub fn form_encode<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(&mut out, name.as_ref());
        out.push('=');
        encode_component(&mut out, value.as_ref());
    }
    out
}

fn encode_component(out: &mut String, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            // Writing into a String cannot fail.
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into name/value pairs, in order.
/// Empty pieces (`a=1&&b=2`) are skipped; a piece without `=` has an empty value.
///
/// # Errors
/// [`Error::Form`] for a `%` not followed by two hex digits, or text that is not UTF-8
/// once decoded.
pub fn form_decode(body: &str) -> Result<Vec<(String, String)>, Error> {
    body.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            Ok((decode_component(name)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(text: &str) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |at: usize| bytes.get(at).and_then(|&d| char::from(d).to_digit(16));
                let (Some(high), Some(low)) = (digit(i + 1), digit(i + 2)) else {
                    return Err(Error::Form {
                        problem: format!("`%` at byte {} is not followed by two hex digits", i + 1),
                    });
                };
                // Two hex digits make at most 255.
                out.push(u8::try_from(high * 16 + low).unwrap_or(u8::MAX));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::Form {
        problem: "a percent-encoded value is not UTF-8".to_owned(),
    })
}

/// The token request: a self-issued assertion exchanged for a token to `resource`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TokenRequest {
    /// The self-issued JWT whose `aud` is the token service.
    pub assertion: Token,
    /// The principal the access token is for, `<id>/<host>@<realm>`.
    pub resource: Audience,
}

impl TokenRequest {
    /// A request for a token to `resource`.
    pub fn new(assertion: Token, resource: Audience) -> Self {
        Self {
            assertion,
            resource,
        }
    }

    /// The form body.
    pub fn to_form(&self) -> String {
        form_encode(&[
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", self.assertion.as_str()),
            ("resource", &self.resource.to_string()),
        ])
    }

    /// Reads a form body. Parameters other than these three are ignored (as OAuth
    /// requires); each of the three must appear exactly once.
    ///
    /// # Errors
    /// [`Error::Form`] for malformed encoding or a repeated parameter,
    /// [`Error::MissingParameter`], [`Error::UnsupportedGrantType`], or a principal error
    /// for a malformed `resource`.
    pub fn from_form(body: &str) -> Result<Self, Error> {
        let mut grant_type = None;
        let mut assertion = None;
        let mut resource = None;
        for (name, value) in form_decode(body)? {
            let slot = match name.as_str() {
                "grant_type" => &mut grant_type,
                "assertion" => &mut assertion,
                "resource" => &mut resource,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Error::Form {
                    problem: format!("parameter `{name}` appears more than once"),
                });
            }
        }
        let grant_type = grant_type.ok_or(Error::MissingParameter { name: "grant_type" })?;
        if grant_type != JWT_BEARER_GRANT {
            return Err(Error::UnsupportedGrantType { found: grant_type });
        }
        let assertion = assertion.ok_or(Error::MissingParameter { name: "assertion" })?;
        let resource = resource.ok_or(Error::MissingParameter { name: "resource" })?;
        Ok(Self {
            assertion: Token::new(assertion),
            resource: resource.parse()?,
        })
    }
}

/// The token service's answer: an access token and its lifetime. On the wire the numbers
/// are strings (`"expires_in":"3599"`); reading also accepts JSON numbers.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TokenResponse {
    /// `token_type`, `Bearer`.
    pub token_type: String,
    /// `access_token`.
    pub access_token: Token,
    /// `expires_in`: seconds from issue to expiry.
    pub expires_in: i64,
    /// `not_before`: Unix seconds.
    pub not_before: i64,
    /// `expires_on`: Unix seconds.
    pub expires_on: i64,
    /// `resource`: what the token is for.
    pub resource: Audience,
}

impl TokenResponse {
    /// A `Bearer` response for a token valid from `not_before` to `expires_on`.
    pub fn bearer(
        access_token: Token,
        resource: Audience,
        not_before: i64,
        expires_on: i64,
    ) -> Self {
        Self {
            token_type: "Bearer".to_owned(),
            access_token,
            expires_in: expires_on.saturating_sub(not_before),
            not_before,
            expires_on,
            resource,
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        let mut put = |name: &str, value: String| {
            map.insert(name.to_owned(), Value::String(value));
        };
        put("token_type", self.token_type.clone());
        put("access_token", self.access_token.as_str().to_owned());
        put("expires_in", self.expires_in.to_string());
        put("not_before", self.not_before.to_string());
        put("expires_on", self.expires_on.to_string());
        put("resource", self.resource.to_string());
        Value::Object(map).to_string()
    }

    /// Reads the JSON body.
    ///
    /// # Errors
    /// [`Error::StsJson`] if it is not a JSON object, [`Error::StsField`] if a member is
    /// missing or malformed.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let map = object(json)?;
        let resource = string(&map, "resource")?;
        Ok(Self {
            token_type: string(&map, "token_type")?,
            access_token: Token::new(string(&map, "access_token")?),
            expires_in: number(&map, "expires_in")?,
            not_before: number(&map, "not_before")?,
            expires_on: number(&map, "expires_on")?,
            resource: resource.parse().map_err(|e| Error::StsField {
                name: "resource",
                problem: format!("is not <id>/<host>@<realm>: {e}"),
            })?,
        })
    }
}

/// An OAuth error body: `{"error":"invalid_grant","error_description":"..."}`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OAuthError {
    /// The error code (`invalid_request`, `invalid_grant`, `unsupported_grant_type`, ...).
    pub error: String,
    /// A sentence for the administrator.
    pub error_description: Option<String>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            error_description: Some(description.into()),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        let mut map = Map::new();
        map.insert("error".to_owned(), Value::String(self.error.clone()));
        if let Some(description) = &self.error_description {
            map.insert(
                "error_description".to_owned(),
                Value::String(description.clone()),
            );
        }
        Value::Object(map).to_string()
    }

    /// Reads the JSON body; other members (`error_codes`, `trace_id`, ...) are ignored.
    ///
    /// # Errors
    /// [`Error::StsJson`] or [`Error::StsField`].
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let map = object(json)?;
        Ok(Self {
            error: string(&map, "error")?,
            error_description: match map.get("error_description") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(Error::StsField {
                        name: "error_description",
                        problem: "must be a string".to_owned(),
                    });
                }
            },
        })
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error_description {
            Some(description) => write!(f, "{}: {description}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

fn object(json: &str) -> Result<Map<String, Value>, Error> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::StsField {
            name: "(body)",
            problem: "must be a JSON object".to_owned(),
        }),
        Err(source) => Err(Error::StsJson { source }),
    }
}

fn string(map: &Map<String, Value>, name: &'static str) -> Result<String, Error> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Error::StsField {
            name,
            problem: "must be a string".to_owned(),
        }),
        None => Err(Error::StsField {
            name,
            problem: "is missing".to_owned(),
        }),
    }
}

fn number(map: &Map<String, Value>, name: &'static str) -> Result<i64, Error> {
    let invalid = || Error::StsField {
        name,
        problem: "must be a whole number of seconds, written as a string like \"3599\"".to_owned(),
    };
    match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| invalid())
        }
        Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid),
        Some(_) => Err(invalid()),
        None => Err(Error::StsField {
            name,
            problem: "is missing".to_owned(),
        }),
    }
}

/// A `WWW-Authenticate: Bearer ...` challenge of a protected resource, such as
/// `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0001-0000-c000-000000000000@*"`.
///
/// ```
/// use pushproxy_token::principal::{Principal, Realm, well_known};
/// use pushproxy_token::sts::BearerChallenge;
///
/// let challenge = BearerChallenge::s2s(well_known::EXCHANGE);
/// let header = challenge.to_header_value();
/// assert_eq!(
///     header,
///     r#"Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0001-0000-c000-000000000000@*""#
/// );
/// let back = BearerChallenge::parse(&header)?;
/// assert_eq!(back.trusted_issuers, [Principal::new(well_known::TRUSTED_ISSUER, Realm::Any)]);
/// # Ok::<(), pushproxy_token::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BearerChallenge {
    /// `realm`.
    pub realm: Option<String>,
    /// `client_id`: the resource's own principal id.
    pub client_id: Option<Guid>,
    /// `trusted_issuers`: comma-separated principals, usually with realm `*`.
    pub trusted_issuers: Vec<Principal>,
    /// `authorization_uri`.
    pub authorization_uri: Option<String>,
    /// `error` (RFC 6750), such as `invalid_token`.
    pub error: Option<String>,
    /// `error_description` (RFC 6750).
    pub error_description: Option<String>,
    /// Other parameters, in order.
    pub extra: Vec<(String, String)>,
}

impl BearerChallenge {
    /// The challenge of an S2S resource whose principal id is `client_id`, trusting the
    /// token service for every tenant.
    pub fn s2s(client_id: Guid) -> Self {
        Self {
            client_id: Some(client_id),
            trusted_issuers: vec![Principal::new(
                crate::principal::well_known::TRUSTED_ISSUER,
                crate::principal::Realm::Any,
            )],
            ..Self::default()
        }
    }

    /// The header value.
    pub fn to_header_value(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(realm) = &self.realm {
            params.push(("realm", realm.clone()));
        }
        if let Some(id) = self.client_id {
            params.push(("client_id", id.to_string()));
        }
        if !self.trusted_issuers.is_empty() {
            let list: Vec<String> = self
                .trusted_issuers
                .iter()
                .map(ToString::to_string)
                .collect();
            params.push(("trusted_issuers", list.join(",")));
        }
        if let Some(uri) = &self.authorization_uri {
            params.push(("authorization_uri", uri.clone()));
        }
        if let Some(error) = &self.error {
            params.push(("error", error.clone()));
        }
        if let Some(description) = &self.error_description {
            params.push(("error_description", description.clone()));
        }
        for (name, value) in &self.extra {
            params.push((name, value.clone()));
        }
        let mut out = "Bearer".to_owned();
        for (i, (name, value)) in params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(name);
            out.push_str("=\"");
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        out
    }

    /// Reads a header value: the `Bearer` scheme (any case) and its parameters, each a
    /// token or a quoted string.
    ///
    /// # Errors
    /// [`Error::Challenge`] describing the first thing that does not fit.
    pub fn parse(header: &str) -> Result<Self, Error> {
        let bad = |problem: String| Error::Challenge { problem };
        let text = header.trim();
        let (scheme, mut rest) = text.split_at(text.find([' ', '\t']).unwrap_or(text.len()));
        if !scheme.eq_ignore_ascii_case("Bearer") {
            return Err(bad(format!("the scheme is `{scheme}`; expected `Bearer`")));
        }
        let mut challenge = Self::default();
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let name_len = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
            if name_len == 0 {
                return Err(bad(format!(
                    "expected a parameter name at `{}`",
                    preview(rest)
                )));
            }
            let name = &rest[..name_len];
            rest = rest[name_len..].trim_start_matches([' ', '\t']);
            rest = rest
                .strip_prefix('=')
                .ok_or_else(|| bad(format!("parameter `{name}` has no `=`")))?
                .trim_start_matches([' ', '\t']);
            let value;
            (value, rest) = if let Some(quoted) = rest.strip_prefix('"') {
                read_quoted(quoted)
                    .ok_or_else(|| bad(format!("the value of `{name}` has no closing quote")))?
            } else {
                let len = rest
                    .find(|c: char| !is_tchar(c) && c != '/' && c != '=')
                    .unwrap_or(rest.len());
                (rest[..len].to_owned(), &rest[len..])
            };
            let after = rest.trim_start_matches([' ', '\t']);
            if !after.is_empty() && !after.starts_with(',') {
                return Err(bad(format!("expected `,` after the value of `{name}`")));
            }
            rest = after;
            challenge.set(name, value)?;
        }
        Ok(challenge)
    }

    fn set(&mut self, name: &str, value: String) -> Result<(), Error> {
        let bad = |problem: String| Error::Challenge { problem };
        let known = [
            "realm",
            "client_id",
            "trusted_issuers",
            "authorization_uri",
            "error",
            "error_description",
        ];
        let seen = match name {
            "realm" => self.realm.is_some(),
            "client_id" => self.client_id.is_some(),
            "trusted_issuers" => !self.trusted_issuers.is_empty(),
            "authorization_uri" => self.authorization_uri.is_some(),
            "error" => self.error.is_some(),
            "error_description" => self.error_description.is_some(),
            _ => false,
        };
        if seen && known.contains(&name) {
            return Err(bad(format!("parameter `{name}` appears more than once")));
        }
        match name {
            "realm" => self.realm = Some(value),
            "client_id" => {
                self.client_id = Some(
                    value
                        .parse()
                        .map_err(|e| bad(format!("`client_id` is not a principal id: {e}")))?,
                );
            }
            "trusted_issuers" => {
                self.trusted_issuers = value
                    .split(',')
                    .map(|p| p.trim().parse())
                    .collect::<Result<_, Error>>()
                    .map_err(|e| {
                        bad(format!(
                            "`trusted_issuers` is not a list of <id>@<realm>: {e}"
                        ))
                    })?;
            }
            "authorization_uri" => self.authorization_uri = Some(value),
            "error" => self.error = Some(value),
            "error_description" => self.error_description = Some(value),
            _ => self.extra.push((name.to_owned(), value)),
        }
        Ok(())
    }
}

/// A `tchar` of RFC 9110.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Reads a quoted string after its opening quote: the unescaped value and the rest.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

fn preview(text: &str) -> String {
    text.chars().take(20).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::strategies::{guid, principal, tenant_audience};
    use crate::principal::well_known;
    use proptest::prelude::*;

    const RESOURCE: &str = "00000002-0000-0ff1-ce00-000000000000/outlook.office365.com@4d2a1b3c-0000-4000-8000-00000000abcd";

    #[test]
    fn form_codec_known_values() {
        assert_eq!(
            form_encode(&[("a b", "c&d=e/é~")]),
            "a+b=c%26d%3De%2F%C3%A9%7E"
        );
        assert_eq!(
            form_decode("a+b=c%26d%3De%2F%C3%A9%7E&&x").unwrap(),
            [
                ("a b".to_owned(), "c&d=e/é~".to_owned()),
                ("x".to_owned(), String::new())
            ]
        );
        for bad in ["a=%", "a=%4", "a=%zz", "a=%+1", "a=%C3"] {
            assert!(
                matches!(form_decode(bad), Err(Error::Form { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn token_request_rejections() {
        let good = TokenRequest::new(Token::new("a.b.c"), RESOURCE.parse().unwrap()).to_form();
        assert!(TokenRequest::from_form(&format!("{good}&client_id=x")).is_ok());
        let e = TokenRequest::from_form(&format!("{good}&assertion=x")).unwrap_err();
        assert!(
            e.to_string().contains("`assertion` appears more than once"),
            "{e}"
        );
        let e = TokenRequest::from_form(&good.replace("jwt%2F1.0%2Fbearer", "x")).unwrap_err();
        assert!(matches!(e, Error::UnsupportedGrantType { .. }), "{e}");
        let e = TokenRequest::from_form("grant_type=client_credentials").unwrap_err();
        assert!(e.to_string().contains("client_credentials"), "{e}");
        let e =
            TokenRequest::from_form(&form_encode(&[("grant_type", JWT_BEARER_GRANT)])).unwrap_err();
        assert!(
            matches!(e, Error::MissingParameter { name: "assertion" }),
            "{e}"
        );
    }

    #[test]
    fn token_response_numbers_are_strings() {
        let r = TokenResponse::bearer(Token::new("t"), RESOURCE.parse().unwrap(), 100, 3700);
        let json: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["expires_in"], "3600");
        assert_eq!(json["expires_on"], "3700");
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(TokenResponse::from_json(&r.to_json()).unwrap(), r);
        // Numbers are read too.
        let lenient = r.to_json().replace("\"3600\"", "3600");
        assert_eq!(TokenResponse::from_json(&lenient).unwrap(), r);
        let e = TokenResponse::from_json(&r.to_json().replace("\"3600\"", "\"-1\"")).unwrap_err();
        assert!(e.to_string().contains("`expires_in`"), "{e}");
        assert!(TokenResponse::from_json("[]").is_err());
        assert!(TokenResponse::from_json("{").is_err());
    }

    #[test]
    fn oauth_error_body() {
        let e = OAuthError::new("invalid_grant", "token expired");
        assert_eq!(
            e.to_json(),
            r#"{"error":"invalid_grant","error_description":"token expired"}"#
        );
        assert_eq!(OAuthError::from_json(&e.to_json()).unwrap(), e);
        let azure = r#"{"error":"invalid_request","error_description":"AADSTS900144","error_codes":[900144],"trace_id":"x"}"#;
        assert_eq!(
            OAuthError::from_json(azure).unwrap().error,
            "invalid_request"
        );
        assert_eq!(e.to_string(), "invalid_grant: token expired");
    }

    #[test]
    fn challenge_as_microsoft_writes_it() {
        let header = r#"Bearer realm="", client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*,00000004-0000-0ff1-ce00-000000000000@*", authorization_uri="https://login.windows.net/common/oauth2/authorize", error="invalid_token""#;
        let c = BearerChallenge::parse(header).unwrap();
        assert_eq!(c.realm.as_deref(), Some(""));
        assert_eq!(c.client_id, Some(well_known::EXCHANGE));
        assert_eq!(c.trusted_issuers.len(), 2);
        assert_eq!(c.trusted_issuers[1].id, well_known::LYNC);
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(BearerChallenge::parse(&c.to_header_value()).unwrap(), c);
        // Token (unquoted) values and odd spacing.
        let c = BearerChallenge::parse(
            "bearer  error=invalid_token ,error_description=\"a \\\"b\\\"\"",
        )
        .unwrap();
        assert_eq!(c.error_description.as_deref(), Some("a \"b\""));
    }

    #[test]
    fn challenge_rejections() {
        for (bad, says) in [
            ("Basic realm=\"x\"", "scheme is `Basic`"),
            ("Bearer client_id", "has no `=`"),
            ("Bearer client_id=\"x", "no closing quote"),
            ("Bearer client_id=\"nope\"", "not a principal id"),
            ("Bearer trusted_issuers=\"x@*\"", "trusted_issuers"),
            ("Bearer error=a error=b", "expected `,`"),
            ("Bearer error=a, error=b", "more than once"),
            ("Bearer =x", "parameter name"),
        ] {
            let e = BearerChallenge::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    fn challenge() -> impl Strategy<Value = BearerChallenge> {
        (
            proptest::option::of("\\PC{0,12}"),
            proptest::option::of(guid()),
            proptest::collection::vec(principal(), 0..3),
            proptest::option::of("[ -~]{0,20}"),
            proptest::option::of("[a-z_]{1,12}"),
            proptest::option::of("\\PC{0,20}"),
            proptest::collection::vec(("x_[a-z]{1,6}", "\\PC{0,8}"), 0..2),
        )
            .prop_map(
                |(
                    realm,
                    client_id,
                    trusted_issuers,
                    authorization_uri,
                    error,
                    error_description,
                    extra,
                )| {
                    BearerChallenge {
                        realm,
                        client_id,
                        trusted_issuers,
                        authorization_uri,
                        error,
                        error_description,
                        extra,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn form_round_trips(pairs in proptest::collection::vec(("\\PC{0,10}", "\\PC{0,20}"), 0..5)) {
            // Pairs with an empty name and value vanish (`&&`), as browsers do.
            let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(n, v)| !(n.is_empty() && v.is_empty())).collect();
            prop_assert_eq!(form_decode(&form_encode(&pairs)).unwrap(), pairs);
        }

        #[test]
        fn token_request_round_trips(assertion in "[A-Za-z0-9._-]{0,60}", resource in tenant_audience()) {
            let request = TokenRequest::new(Token::new(assertion), resource);
            prop_assert_eq!(TokenRequest::from_form(&request.to_form()).unwrap(), request);
        }

        #[test]
        fn token_response_round_trips(token in "[A-Za-z0-9._-]{1,60}", resource in tenant_audience(), nbf in 0i64..1 << 40, life in 0i64..100_000) {
            let r = TokenResponse::bearer(Token::new(token), resource, nbf, nbf + life);
            prop_assert_eq!(TokenResponse::from_json(&r.to_json()).unwrap(), r);
        }

        #[test]
        fn oauth_error_round_trips(error in "\\PC{0,16}", description in proptest::option::of("\\PC{0,40}")) {
            let e = OAuthError { error, error_description: description };
            prop_assert_eq!(OAuthError::from_json(&e.to_json()).unwrap(), e);
        }

        #[test]
        fn challenge_round_trips(c in challenge()) {
            prop_assert_eq!(BearerChallenge::parse(&c.to_header_value()).unwrap(), c);
        }

        #[test]
        fn parsers_never_panic(text in "\\PC{0,60}") {
            let _ = form_decode(&text);
            let _ = TokenRequest::from_form(&text);
            let _ = BearerChallenge::parse(&text);
            let _ = TokenResponse::from_json(&text);
        }
    }
}
