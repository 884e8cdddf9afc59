//! The token service's JSON metadata document (`.../metadata/json/1?realm=<realm>`).
//!
//! *Inferred*: there is no official schema. The shape below is what the service is known
//! to publish, and every assumption about it is kept in this module:
//!
//! ```json
//! {"id":"...","version":"1.0","name":"...","realm":"<tenant id>","serviceName":"...",
//!  "issuer":"00000001-0000-0000-c000-000000000000@<tenant id>",
//!  "allowedAudiences":["00000001-0000-0000-c000-000000000000@<tenant id>"],
//!  "keys":[{"usage":"signing","keyValue":{"type":"x509Certificate",
//!           "value":"<base64 DER>","keyInfo":{"x5t":"<base64url SHA-1>"}}}],
//!  "endpoints":[{"location":"https://.../<tenant id>/tokens/OAuth/2",
//!                "protocol":"OAuth2","usage":"issuance"}]}
//! ```
//!
//! Readers match member names case-insensitively (a name present twice in different
//! cases is refused as ambiguous); writers use the camel-case names above. Missing text
//! members read as `None`, missing arrays as empty.

use base64ct::{Base64, Encoding};
use pushproxy_cert::Thumbprint;
use serde_json::{Map, Value};

use crate::Error;
use crate::verify::KeySet;

/// The `protocol` of the token-issuing endpoint.
pub const PROTOCOL_OAUTH2: &str = "OAuth2";
/// The `protocol` of the delegation-issuance endpoint.
pub const PROTOCOL_DELEGATION_ISSUANCE: &str = "DelegationIssuance1.0";
/// The `protocol` of the delegation-management endpoint.
pub const PROTOCOL_DELEGATION_MANAGEMENT: &str = "DelegationManagement1.0";
/// The `usage` of signing keys.
pub const USAGE_SIGNING: &str = "signing";
/// The `keyValue.type` of certificate keys.
pub const TYPE_X509: &str = "x509Certificate";

/// A metadata document.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MetadataDocument {
    /// `id`.
    pub id: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `realm`: the tenant id.
    pub realm: Option<String>,
    /// `serviceName`.
    pub service_name: Option<String>,
    /// `issuer`: the principal that signs the service's tokens.
    pub issuer: Option<String>,
    /// `allowedAudiences`.
    pub allowed_audiences: Vec<String>,
    /// `keys`.
    pub keys: Vec<MetadataKey>,
    /// `endpoints`.
    pub endpoints: Vec<Endpoint>,
}

/// One entry of `keys`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MetadataKey {
    /// `usage` (`signing`).
    pub usage: String,
    /// `keyValue.type` (`x509Certificate`).
    pub key_type: String,
    /// `keyValue.value`, decoded from base64: the DER certificate.
    pub value: Vec<u8>,
    /// `keyValue.keyInfo.x5t`, if present.
    pub x5t: Option<String>,
}

impl MetadataKey {
    /// The signing-key entry for a certificate given as DER.
    pub fn signing_certificate(der: &[u8]) -> Self {
        Self {
            usage: USAGE_SIGNING.to_owned(),
            key_type: TYPE_X509.to_owned(),
            value: der.to_vec(),
            x5t: Some(Thumbprint::of_der(der).x5t()),
        }
    }

    /// Whether this is a signing certificate.
    pub fn is_signing_certificate(&self) -> bool {
        self.usage.eq_ignore_ascii_case(USAGE_SIGNING)
            && self.key_type.eq_ignore_ascii_case(TYPE_X509)
    }
}

/// One entry of `endpoints`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Endpoint {
    /// `location`: the URL.
    pub location: String,
    /// `protocol` (`OAuth2`, `DelegationIssuance1.0`, ...).
    pub protocol: String,
    /// `usage` (`issuance`, `management`).
    pub usage: String,
}

impl Endpoint {
    /// An endpoint.
    pub fn new(
        location: impl Into<String>,
        protocol: impl Into<String>,
        usage: impl Into<String>,
    ) -> Self {
        Self {
            location: location.into(),
            protocol: protocol.into(),
            usage: usage.into(),
        }
    }
}

impl MetadataDocument {
    /// Reads a document.
    ///
    /// ```
    /// use pushproxy_token::metadata::MetadataDocument;
    ///
    /// let doc = MetadataDocument::parse(r#"{"Realm":"r","ENDPOINTS":[
    ///     {"location":"https://sts.example/r/tokens/OAuth/2","protocol":"oauth2","usage":"issuance"}]}"#)?;
    /// assert_eq!(doc.realm.as_deref(), Some("r"));
    /// assert_eq!(doc.issuance_endpoint()?.location, "https://sts.example/r/tokens/OAuth/2");
    /// # Ok::<(), pushproxy_token::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::MetadataJson`] if it is not JSON, [`Error::MetadataField`] naming the
    /// first member that is malformed or ambiguous.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let value: Value =
            serde_json::from_str(json).map_err(|source| Error::MetadataJson { source })?;
        let root = as_object(&value, "(document)")?;
        let keys = array(root, "keys", "keys")?
            .iter()
            .enumerate()
            .map(|(i, key)| parse_key(key, &format!("keys[{i}]")))
            .collect::<Result<_, _>>()?;
        let endpoints = array(root, "endpoints", "endpoints")?
            .iter()
            .enumerate()
            .map(|(i, endpoint)| {
                let at = format!("endpoints[{i}]");
                let object = as_object(endpoint, &at)?;
                Ok(Endpoint {
                    location: required_text(object, "location", &at)?,
                    protocol: required_text(object, "protocol", &at)?,
                    usage: text(object, "usage", &at)?.unwrap_or_default(),
                })
            })
            .collect::<Result<_, Error>>()?;
        let allowed_audiences = array(root, "allowedAudiences", "allowedAudiences")?
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Value::String(s) => Ok(s.clone()),
                _ => Err(field(format!("allowedAudiences[{i}]"), "must be a string")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id: text(root, "id", "")?,
            version: text(root, "version", "")?,
            name: text(root, "name", "")?,
            realm: text(root, "realm", "")?,
            service_name: text(root, "serviceName", "")?,
            issuer: text(root, "issuer", "")?,
            allowed_audiences,
            keys,
            endpoints,
        })
    }

    /// The document as JSON, with the camel-case member names.
    pub fn to_json(&self) -> String {
        let mut root = Map::new();
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                root.insert(name.to_owned(), Value::String(value.clone()));
            }
        };
        put("id", &self.id);
        put("version", &self.version);
        put("name", &self.name);
        put("realm", &self.realm);
        put("serviceName", &self.service_name);
        put("issuer", &self.issuer);
        root.insert(
            "allowedAudiences".to_owned(),
            Value::Array(
                self.allowed_audiences
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        );
        let keys = self
            .keys
            .iter()
            .map(|key| {
                let mut key_value = serde_json::json!({
                    "type": key.key_type,
                    "value": Base64::encode_string(&key.value),
                });
                if let (Some(x5t), Value::Object(map)) = (&key.x5t, &mut key_value) {
                    map.insert("keyInfo".to_owned(), serde_json::json!({ "x5t": x5t }));
                }
                serde_json::json!({ "usage": key.usage, "keyValue": key_value })
            })
            .collect();
        root.insert("keys".to_owned(), Value::Array(keys));
        let endpoints = self
            .endpoints
            .iter()
            .map(|e| serde_json::json!({ "location": e.location, "protocol": e.protocol, "usage": e.usage }))
            .collect();
        root.insert("endpoints".to_owned(), Value::Array(endpoints));
        Value::Object(root).to_string()
    }

    /// The token-issuing endpoint: the first whose protocol is `OAuth2` (any case).
    ///
    /// # Errors
    /// [`Error::NoIssuanceEndpoint`].
    pub fn issuance_endpoint(&self) -> Result<&Endpoint, Error> {
        self.endpoints
            .iter()
            .find(|e| e.protocol.eq_ignore_ascii_case(PROTOCOL_OAUTH2))
            .ok_or(Error::NoIssuanceEndpoint)
    }

    /// The signing certificates as a [`KeySet`]. A key whose `x5t` disagrees with its
    /// certificate is refused.
    ///
    /// # Errors
    /// [`Error::NoSigningKeys`] if there are none, [`Error::MetadataField`] for a key
    /// whose certificate cannot be used or whose `x5t` is wrong.
    pub fn key_set(&self) -> Result<KeySet, Error> {
        let mut set = KeySet::new();
        for (i, key) in self.keys.iter().enumerate() {
            if !key.is_signing_certificate() {
                continue;
            }
            let thumbprint = set.insert_der(&key.value).map_err(|e| {
                field(
                    format!("keys[{i}].keyValue.value"),
                    &format!("is not a usable certificate: {e}"),
                )
            })?;
            if let Some(x5t) = &key.x5t
                && *x5t != thumbprint.x5t()
            {
                return Err(field(
                    format!("keys[{i}].keyValue.keyInfo.x5t"),
                    &format!(
                        "is {x5t} but the certificate's thumbprint {thumbprint} gives {}; the document is inconsistent",
                        thumbprint.x5t()
                    ),
                ));
            }
        }
        if set.is_empty() {
            return Err(Error::NoSigningKeys);
        }
        Ok(set)
    }
}

fn field(at: String, problem: &str) -> Error {
    Error::MetadataField {
        field: at,
        problem: problem.to_owned(),
    }
}

fn path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The member `name` of `object`, matched case-insensitively; ambiguous if two names
/// differ only in case.
fn member<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    parent: &str,
) -> Result<Option<&'a Value>, Error> {
    let mut found = object.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
    let first = found.next();
    if found.next().is_some() {
        return Err(field(
            path(parent, name),
            "appears more than once (names that differ only in case are the same member)",
        ));
    }
    Ok(first.map(|(_, v)| v))
}

fn as_object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| field(at.to_owned(), "must be a JSON object"))
}

fn text(object: &Map<String, Value>, name: &str, parent: &str) -> Result<Option<String>, Error> {
    match member(object, name, parent)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(field(path(parent, name), "must be a string")),
    }
}

fn required_text(object: &Map<String, Value>, name: &str, parent: &str) -> Result<String, Error> {
    text(object, name, parent)?.ok_or_else(|| field(path(parent, name), "is missing"))
}

fn array<'a>(object: &'a Map<String, Value>, name: &str, at: &str) -> Result<&'a [Value], Error> {
    match member(object, name, "")? {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(field(at.to_owned(), "must be an array")),
    }
}

fn parse_key(value: &Value, at: &str) -> Result<MetadataKey, Error> {
    let object = as_object(value, at)?;
    let key_value_at = path(at, "keyValue");
    let key_value =
        member(object, "keyValue", at)?.ok_or_else(|| field(key_value_at.clone(), "is missing"))?;
    let key_value = as_object(key_value, &key_value_at)?;
    let encoded = required_text(key_value, "value", &key_value_at)?;
    let value = Base64::decode_vec(&encoded).map_err(|_| {
        field(
            path(&key_value_at, "value"),
            "is not base64 (standard alphabet, with padding) of a DER certificate",
        )
    })?;
    let x5t = match member(key_value, "keyInfo", &key_value_at)? {
        None | Some(Value::Null) => None,
        Some(info) => text(
            as_object(info, &path(&key_value_at, "keyInfo"))?,
            "x5t",
            &path(&key_value_at, "keyInfo"),
        )?,
    };
    Ok(MetadataKey {
        usage: required_text(object, "usage", at)?,
        key_type: required_text(key_value, "type", &key_value_at)?,
        value,
        x5t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = r#"{
        "id": "_4d2a1b3c", "version": "1.0", "name": "Microsoft Azure ACS",
        "realm": "4d2a1b3c-0000-4000-8000-00000000abcd", "serviceName": "Microsoft Azure ACS",
        "issuer": "00000001-0000-0000-c000-000000000000@4d2a1b3c-0000-4000-8000-00000000abcd",
        "allowedAudiences": ["00000001-0000-0000-c000-000000000000@4d2a1b3c-0000-4000-8000-00000000abcd"],
        "keys": [{"usage": "signing", "keyValue": {"type": "x509Certificate", "value": "AAEC", "keyInfo": {"x5t": "abc"}}}],
        "endpoints": [
            {"location": "https://accounts.accesscontrol.windows.net/4d2a1b3c-0000-4000-8000-00000000abcd/tokens/OAuth/2", "protocol": "OAuth2", "usage": "issuance"},
            {"location": "https://accounts.accesscontrol.windows.net/v2/4d2a1b3c/delegation", "protocol": "DelegationIssuance1.0", "usage": "issuance"}
        ]
    }"#;

    #[test]
    fn reads_the_documented_shape() {
        let doc = MetadataDocument::parse(SAMPLE).unwrap();
        assert_eq!(doc.version.as_deref(), Some("1.0"));
        assert_eq!(doc.service_name.as_deref(), Some("Microsoft Azure ACS"));
        assert_eq!(doc.keys[0].value, [0, 1, 2]);
        assert_eq!(doc.keys[0].x5t.as_deref(), Some("abc"));
        assert!(doc.keys[0].is_signing_certificate());
        assert!(
            doc.issuance_endpoint()
                .unwrap()
                .location
                .ends_with("/tokens/OAuth/2")
        );
        assert_eq!(MetadataDocument::parse(&doc.to_json()).unwrap(), doc);
    }

    #[test]
    fn names_are_case_insensitive_but_not_ambiguous() {
        let shouted = SAMPLE
            .replace("\"keyValue\"", "\"KEYVALUE\"")
            .replace("\"serviceName\"", "\"servicename\"")
            .replace("\"endpoints\"", "\"Endpoints\"");
        assert_eq!(
            MetadataDocument::parse(&shouted).unwrap(),
            MetadataDocument::parse(SAMPLE).unwrap()
        );
        let e = MetadataDocument::parse(r#"{"realm":"a","Realm":"b"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`realm` appears more than once"), "{e}");
    }

    #[test]
    fn malformed_members_are_named() {
        for (json, says) in [
            (r#"[]"#, "`(document)` must be a JSON object"),
            (r#"{"keys":{}}"#, "`keys` must be an array"),
            (
                r#"{"keys":[{"usage":"signing"}]}"#,
                "`keys[0].keyValue` is missing",
            ),
            (
                r#"{"keys":[{"usage":"signing","keyValue":{"type":"x509Certificate","value":"%%"}}]}"#,
                "`keys[0].keyValue.value` is not base64",
            ),
            (
                r#"{"endpoints":[{"protocol":"OAuth2"}]}"#,
                "`endpoints[0].location` is missing",
            ),
            (r#"{"realm":5}"#, "`realm` must be a string"),
            (
                r#"{"allowedAudiences":[1]}"#,
                "`allowedAudiences[0]` must be a string",
            ),
        ] {
            let e = MetadataDocument::parse(json).unwrap_err().to_string();
            assert!(e.contains(says), "{json}: {e}");
        }
        assert!(matches!(
            MetadataDocument::parse("{"),
            Err(Error::MetadataJson { .. })
        ));
        assert!(matches!(
            MetadataDocument::parse("{}").unwrap().issuance_endpoint(),
            Err(Error::NoIssuanceEndpoint)
        ));
        assert!(matches!(
            MetadataDocument::parse("{}").unwrap().key_set(),
            Err(Error::NoSigningKeys)
        ));
    }

    #[test]
    fn a_key_that_is_not_a_certificate_is_refused() {
        let doc = MetadataDocument::parse(SAMPLE).unwrap();
        let e = doc.key_set().unwrap_err().to_string();
        assert!(
            e.contains("`keys[0].keyValue.value` is not a usable certificate"),
            "{e}"
        );
    }

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,12}"
    }

    fn document() -> impl Strategy<Value = MetadataDocument> {
        let key = (
            text(),
            text(),
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::option::of(text()),
        )
            .prop_map(|(usage, key_type, value, x5t)| MetadataKey {
                usage,
                key_type,
                value,
                x5t,
            });
        let endpoint = (text(), text(), text()).prop_map(|(l, p, u)| Endpoint::new(l, p, u));
        (
            proptest::array::uniform6(proptest::option::of(text())),
            proptest::collection::vec(text(), 0..3),
            proptest::collection::vec(key, 0..3),
            proptest::collection::vec(endpoint, 0..3),
        )
            .prop_map(
                |(
                    [id, version, name, realm, service_name, issuer],
                    allowed_audiences,
                    keys,
                    endpoints,
                )| {
                    MetadataDocument {
                        id,
                        version,
                        name,
                        realm,
                        service_name,
                        issuer,
                        allowed_audiences,
                        keys,
                        endpoints,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn documents_round_trip(doc in document()) {
            prop_assert_eq!(MetadataDocument::parse(&doc.to_json()).unwrap(), doc);
        }

        #[test]
        fn parse_never_panics(json in "\\PC{0,80}") {
            let _ = MetadataDocument::parse(&json);
        }
    }
}
