//! [`Credential`]: the certificate as a key credential of a service principal (setup
//! step 3).

use time::OffsetDateTime;

use crate::certificate::Certificate;
use crate::error::Result;

/// The type of a key credential; this project only uses certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CredentialType {
    /// A public key (an X.509 certificate).
    #[serde(rename = "asymmetric")]
    Asymmetric,
}

/// What a key credential is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CredentialUsage {
    /// Verifying the signatures of tokens the principal issues.
    Verify,
}

/// The certificate as a key credential of the Exchange service principal in the cloud:
/// type `asymmetric`, usage `Verify`, the value the base64 (standard, padded) of the DER
/// certificate, and the dates of its validity.
///
/// Serde names: `type`, `usage`, `value`, `startDate`, `endDate` (RFC 3339).
///
/// ```
/// # use pushproxy_cert::{Credential, CredentialType};
/// let json = r#"{"type":"asymmetric","usage":"Verify","value":"MAA=",
///   "startDate":"2025-03-01T12:00:00Z","endDate":"2030-03-01T12:00:00Z"}"#;
/// let credential: Credential = serde_json::from_str(json)?;
/// assert_eq!(credential.kind, CredentialType::Asymmetric);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// Always `asymmetric`.
    #[serde(rename = "type")]
    pub kind: CredentialType,
    /// Always `Verify`.
    pub usage: CredentialUsage,
    /// Base64 (standard, padded) of the DER certificate.
    pub value: String,
    /// The certificate's `not_before`.
    #[serde(with = "time::serde::rfc3339")]
    pub start_date: OffsetDateTime,
    /// The certificate's `not_after`.
    #[serde(with = "time::serde::rfc3339")]
    pub end_date: OffsetDateTime,
}

impl Credential {
    /// The credential for `certificate`.
    pub fn for_certificate(certificate: &Certificate) -> Self {
        Self {
            kind: CredentialType::Asymmetric,
            usage: CredentialUsage::Verify,
            value: certificate.to_base64_der(),
            start_date: certificate.not_before(),
            end_date: certificate.not_after(),
        }
    }

    /// The certificate in `value`.
    pub fn certificate(&self) -> Result<Certificate> {
        Certificate::from_base64_der(&self.value)
    }
}

impl From<&Certificate> for Credential {
    fn from(certificate: &Certificate) -> Self {
        Self::for_certificate(certificate)
    }
}
