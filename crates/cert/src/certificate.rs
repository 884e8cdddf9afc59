//! [`Certificate`]: an X.509 certificate held as DER, with what was parsed from it once.

use std::fmt;

use base64ct::{Base64, Encoding};
use rsa::pkcs8::DecodePublicKey;
use signature::Verifier;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::error::{Error, Result};
use crate::hex;
use crate::key::{PrivateKey, algorithm_name, modulus_bits};
use crate::pem;
use crate::thumbprint::{Sha256Thumbprint, Thumbprint};

/// The RSA signature algorithms whose signatures this crate can check.
const SHA1_WITH_RSA: &str = "1.2.840.113549.1.1.5";
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";

/// An X.509 certificate: its DER encoding, and the facts read from it when it was parsed.
///
/// Any certificate that parses is accepted (the reuse rule in [`assess`](crate::assess)
/// says whether it fits); RSA-specific operations return an error for other key types.
/// Two certificates are equal when their DER encodings are.
///
/// Serde writes it as a PEM string and reads PEM or base64 DER.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    details: Details,
}

/// What was read from the certificate with x509-parser, kept so that later questions
/// cannot fail.
#[derive(Clone, Debug)]
struct Details {
    version: u32,
    subject: String,
    subject_common_name: Option<String>,
    issuer: String,
    dns_names: Vec<String>,
    key_oid: String,
    spki_der: Vec<u8>,
    key_algorithm: String,
    key_bits: Option<usize>,
    serial: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    subject_key_identifier: Option<String>,
    signature_algorithm: String,
    self_signed: bool,
}

impl Certificate {
    /// Reads a DER certificate (a `.cer` file as Exchange exports it).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let (rest, parsed) = X509Certificate::from_der(der).map_err(|error| match error {
            x509_parser::nom::Err::Error(source) | x509_parser::nom::Err::Failure(source) => {
                Error::CertificateParse { source }
            }
            x509_parser::nom::Err::Incomplete(_) => Error::InvalidCertificate {
                reason: "the DER data is truncated".to_owned(),
            },
        })?;
        if !rest.is_empty() {
            return Err(Error::InvalidCertificate {
                reason: format!(
                    "{} bytes follow the certificate; give a file with one certificate only",
                    rest.len()
                ),
            });
        }
        let details = Details::read(&parsed)?;
        Ok(Self {
            der: der.to_vec(),
            details,
        })
    }

    /// Reads a PEM certificate (`-----BEGIN CERTIFICATE-----`). Other blocks and text in
    /// the file (a private key, bag attributes) are ignored; exactly one certificate must
    /// be present.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let certificates: Vec<pem::Block<'_>> = pem::blocks(pem)
            .into_iter()
            .filter(|block| block.label == "CERTIFICATE")
            .collect();
        let block = match certificates.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::InvalidCertificate {
                    reason: "no `-----BEGIN CERTIFICATE-----` block was found".to_owned(),
                });
            }
            many => {
                return Err(Error::InvalidCertificate {
                    reason: format!(
                        "{} certificates were found; give a file with only the OAuth certificate",
                        many.len()
                    ),
                });
            }
        };
        let (_, der) =
            der::pem::decode_vec(block.text.as_bytes()).map_err(|source| Error::Pem {
                context: "reading the certificate",
                source,
            })?;
        Self::from_der(&der)
    }

    /// Reads a certificate from bytes that are either PEM text or DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self> {
        if pem::looks_like_pem(bytes) {
            let text = std::str::from_utf8(bytes).map_err(|_| Error::InvalidCertificate {
                reason: "the PEM text is not UTF-8".to_owned(),
            })?;
            Self::from_pem(text)
        } else {
            Self::from_der(bytes)
        }
    }

    /// Reads a certificate from base64 DER (standard alphabet, padded), as credentials
    /// and metadata documents carry it.
    pub fn from_base64_der(text: &str) -> Result<Self> {
        let der = Base64::decode_vec(text.trim()).map_err(|source| Error::Base64 {
            context: "reading a base64 certificate",
            source,
        })?;
        Self::from_der(&der)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER encoding in standard padded base64, as a credential `value` carries it.
    pub fn to_base64_der(&self) -> String {
        Base64::encode_string(&self.der)
    }

    /// The PEM encoding, 64 characters a line, LF line endings.
    pub fn to_pem(&self) -> String {
        let base64 = self.to_base64_der();
        let mut pem = String::with_capacity(base64.len() + base64.len() / 64 + 60);
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in base64.as_bytes().chunks(64) {
            // Base64 is ASCII, so every chunk is valid UTF-8.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// The SHA-1 thumbprint, as Exchange shows it.
    pub fn thumbprint(&self) -> Thumbprint {
        Thumbprint::of_der(&self.der)
    }

    /// The SHA-256 thumbprint.
    pub fn sha256_thumbprint(&self) -> Sha256Thumbprint {
        Sha256Thumbprint::of_der(&self.der)
    }

    /// The `x5t` value of a token signed with this certificate's key.
    pub fn x5t(&self) -> String {
        self.thumbprint().x5t()
    }

    /// The `x5t#S256` value of a token signed with this certificate's key.
    pub fn x5t_s256(&self) -> String {
        self.sha256_thumbprint().x5t_s256()
    }

    /// The RSA public key, for verifying signatures made with the certificate's key.
    pub fn rsa_public_key(&self) -> Result<rsa::PublicKey> {
        rsa_key_from(&self.details.key_oid, &self.details.spki_der)
    }

    /// The start of the validity period.
    pub fn not_before(&self) -> OffsetDateTime {
        self.details.not_before
    }

    /// The end of the validity period.
    pub fn not_after(&self) -> OffsetDateTime {
        self.details.not_after
    }

    /// Whether `now` lies within the validity period (both ends included).
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.details.not_before <= now && now <= self.details.not_after
    }

    /// The DNS names of the subject alternative name extension.
    pub fn dns_names(&self) -> &[String] {
        &self.details.dns_names
    }

    /// The common name of the subject, if any.
    pub fn subject_common_name(&self) -> Option<&str> {
        self.details.subject_common_name.as_deref()
    }

    /// The key algorithm: `RSA`, `EC`, or an OID for others.
    pub fn key_algorithm(&self) -> &str {
        &self.details.key_algorithm
    }

    /// The size of the public key in bits, when it could be determined.
    pub fn key_bits(&self) -> Option<usize> {
        self.details.key_bits
    }

    /// Whether issuer and subject are the same and the signature verifies with the
    /// certificate's own key.
    pub fn is_self_signed(&self) -> bool {
        self.details.self_signed
    }

    /// Whether `key` is the private key of this certificate (the public halves are equal).
    pub fn matches_key(&self, key: &PrivateKey) -> bool {
        self.rsa_public_key()
            .is_ok_and(|public| public == key.public_key())
    }

    /// Checks that `key` belongs to this certificate.
    pub fn check_key(&self, key: &PrivateKey) -> Result<()> {
        if self.matches_key(key) {
            Ok(())
        } else {
            Err(Error::KeyMismatch)
        }
    }

    /// Everything an administrator wants to see about the certificate, at `now`.
    pub fn info(&self, now: OffsetDateTime) -> CertificateInfo {
        let d = &self.details;
        let seconds_left = (d.not_after - now).whole_seconds();
        CertificateInfo {
            version: d.version,
            subject: d.subject.clone(),
            subject_common_name: d.subject_common_name.clone(),
            issuer: d.issuer.clone(),
            dns_names: d.dns_names.clone(),
            key_algorithm: d.key_algorithm.clone(),
            key_bits: d.key_bits,
            serial_number: d.serial.clone(),
            not_before: d.not_before,
            not_after: d.not_after,
            days_left: seconds_left.div_euclid(86_400),
            valid_now: self.is_valid_at(now),
            subject_key_identifier: d.subject_key_identifier.clone(),
            thumbprint: self.thumbprint(),
            sha256_thumbprint: self.sha256_thumbprint(),
            x5t: self.x5t(),
            x5t_s256: self.x5t_s256(),
            self_signed: d.self_signed,
            signature_algorithm: d.signature_algorithm.clone(),
        }
    }
}

impl Details {
    fn read(parsed: &X509Certificate<'_>) -> Result<Self> {
        let tbs = &parsed.tbs_certificate;
        let subject_common_name = tbs
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        let mut dns_names = Vec::new();
        let mut subject_key_identifier = None;
        for extension in tbs.extensions() {
            match extension.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for name in &san.general_names {
                        if let GeneralName::DNSName(dns) = name {
                            dns_names.push((*dns).to_owned());
                        }
                    }
                }
                ParsedExtension::SubjectKeyIdentifier(id) => {
                    subject_key_identifier = Some(hex::encode_upper(id.0));
                }
                _ => {}
            }
        }
        let spki = tbs.public_key();
        let key_oid = spki.algorithm.algorithm.to_id_string();
        let key_bits = match rsa_key_of(parsed) {
            Ok(key) => Some(modulus_bits(&key)),
            Err(_) => spki
                .parsed()
                .ok()
                .map(|key| key.key_size())
                .filter(|bits| *bits > 0),
        };
        let signature_oid = parsed.signature_algorithm.algorithm.to_id_string();
        let signature_algorithm = x509_parser::objects::oid2sn(
            &parsed.signature_algorithm.algorithm,
            x509_parser::objects::oid_registry(),
        )
        .map_or_else(|_| signature_oid.clone(), str::to_owned);
        let self_signed = tbs.issuer().as_raw() == tbs.subject().as_raw()
            && parsed.signature_algorithm == tbs.signature
            && is_strict_der(parsed.as_raw())
            && verifies_itself(parsed, &signature_oid);
        Ok(Self {
            version: tbs.version().0 + 1,
            subject: tbs.subject().to_string(),
            subject_common_name,
            issuer: tbs.issuer().to_string(),
            dns_names,
            key_algorithm: algorithm_name(&key_oid),
            key_oid,
            spki_der: spki.raw.to_vec(),
            key_bits,
            serial: serial_hex(tbs.raw_serial()),
            not_before: tbs.validity().not_before.to_datetime(),
            not_after: tbs.validity().not_after.to_datetime(),
            subject_key_identifier,
            signature_algorithm,
            self_signed,
        })
    }
}

/// The serial number as upper-case hex, without the sign byte DER may add.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(&raw[start..])
}

/// The RSA public key of a parsed certificate.
fn rsa_key_of(parsed: &X509Certificate<'_>) -> Result<rsa::PublicKey> {
    let spki = parsed.tbs_certificate.public_key();
    rsa_key_from(&spki.algorithm.algorithm.to_id_string(), spki.raw)
}

/// An RSA public key from a DER `SubjectPublicKeyInfo` whose algorithm OID is `oid`.
fn rsa_key_from(oid: &str, spki_der: &[u8]) -> Result<rsa::PublicKey> {
    if oid != rsa::pkcs1::ALGORITHM_OID.to_string() {
        return Err(Error::NotRsa {
            what: "certificate",
            algorithm: algorithm_name(oid),
        });
    }
    rsa::PublicKey::from_public_key_der(spki_der).map_err(|source| Error::Spki {
        context: "reading the certificate's RSA key",
        source,
    })
}

/// Whether `der` is a certificate in strict DER, as the `der` crate reads it. x509-parser
/// tolerates some deviations (other tag classes, for one) in the parts of the
/// certificate that the signature does not cover; a certificate is only taken for
/// self-signed when no such byte could have been changed.
fn is_strict_der(der: &[u8]) -> bool {
    use der::Decode;
    x509_cert::Certificate::from_der(der).is_ok()
}

/// Whether the certificate's signature verifies with its own RSA key.
fn verifies_itself(parsed: &X509Certificate<'_>, signature_oid: &str) -> bool {
    let Ok(key) = rsa_key_of(parsed) else {
        return false;
    };
    let message = parsed.tbs_certificate.as_ref();
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(parsed.signature_value.data.as_ref())
    else {
        return false;
    };
    match signature_oid {
        SHA1_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(key)
            .verify(message, &signature)
            .is_ok(),
        SHA256_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
            .verify(message, &signature)
            .is_ok(),
        SHA384_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key)
            .verify(message, &signature)
            .is_ok(),
        SHA512_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key)
            .verify(message, &signature)
            .is_ok(),
        _ => false,
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl std::hash::Hash for Certificate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.der.hash(state);
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.details.subject)
            .field("thumbprint", &self.thumbprint())
            .field("not_after", &self.details.not_after)
            .finish_non_exhaustive()
    }
}

impl serde::Serialize for Certificate {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_pem())
    }
}

impl<'de> serde::Deserialize<'de> for Certificate {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.contains("-----BEGIN") {
            Self::from_pem(&text)
        } else {
            Self::from_base64_der(&text)
        }
        .map_err(serde::de::Error::custom)
    }
}

/// What [`Certificate::info`] reports; serialisable for `--json` output (camelCase names,
/// RFC 3339 dates).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CertificateInfo {
    /// X.509 version (3 for certificates with extensions).
    pub version: u32,
    /// The subject, e.g. `CN=contoso.com`.
    pub subject: String,
    /// The subject's common name.
    pub subject_common_name: Option<String>,
    /// The issuer; equal to the subject for a self-signed certificate.
    pub issuer: String,
    /// DNS names of the subject alternative name extension.
    pub dns_names: Vec<String>,
    /// `RSA`, `EC`, or the OID of another key algorithm.
    pub key_algorithm: String,
    /// Key size in bits, when known.
    pub key_bits: Option<usize>,
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days until `not_after`, rounded down: negative once expired.
    pub days_left: i64,
    /// Whether the certificate is within its validity period.
    pub valid_now: bool,
    /// Subject key identifier, upper-case hex.
    pub subject_key_identifier: Option<String>,
    /// SHA-1 thumbprint (what Exchange shows).
    pub thumbprint: Thumbprint,
    /// SHA-256 thumbprint.
    pub sha256_thumbprint: Sha256Thumbprint,
    /// The thumbprint as a token's `x5t`.
    pub x5t: String,
    /// The SHA-256 thumbprint as a token's `x5t#S256`.
    pub x5t_s256: String,
    /// Issuer equals subject and the signature verifies with the certificate's own key.
    pub self_signed: bool,
    /// Signature algorithm, e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_drops_sign_bytes() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x7f]), "7F");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            Certificate::from_der(b"not a certificate"),
            Err(Error::CertificateParse { .. })
        ));
        let message = Certificate::from_pem("hello").unwrap_err().to_string();
        assert!(
            message.contains("no `-----BEGIN CERTIFICATE-----` block"),
            "{message}"
        );
        assert!(Certificate::from_base64_der("!!").is_err());
        assert!(Certificate::from_pem_or_der(&[0x30, 0x00]).is_err());
    }
}
