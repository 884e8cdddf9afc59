//! The certificate (and, when known, its private key) the playground works with.

use std::fmt;

use pushproxy_cert::{
    Certificate, CertificateParams, DEFAULT_FRIENDLY_NAME, DnsName, KeySize, PrivateKey, Services,
    self_signed,
};
use time::OffsetDateTime;

/// Where the certificate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Created in this page.
    Generated,
    /// Loaded from a file or pasted.
    Loaded,
}

/// A certificate with its private key when the playground has it.
///
/// The friendly name and services are what a certificate store keeps beside a certificate;
/// for a generated one they are Exchange's defaults, for a loaded one they start empty and
/// the setup view lets the user state them.
pub struct Credentials {
    /// The certificate.
    pub certificate: Certificate,
    /// Its private key, if known.
    pub key: Option<PrivateKey>,
    /// Generated or loaded.
    pub origin: Origin,
    /// The friendly name it starts with.
    pub friendly_name: String,
    /// The services it starts with.
    pub services: Services,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("certificate", &self.certificate)
            .field("key", &self.key)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.certificate == other.certificate
            && self.origin == other.origin
            && self.key.is_some() == other.key.is_some()
    }
}

impl Credentials {
    /// The self-signed OAuth certificate Exchange's setup creates for `domain`, valid from
    /// `now`, for a key generated beforehand.
    pub fn self_signed(
        domain: &DnsName,
        key: PrivateKey,
        now: OffsetDateTime,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Self, String> {
        let mut params = CertificateParams::new(domain.clone(), now);
        params.key_size = KeySize::try_from(key.bits()).map_err(|e| e.to_string())?;
        let certificate = self_signed(&params, &key, rng).map_err(|e| e.to_string())?;
        Ok(Self {
            certificate,
            key: Some(key),
            origin: Origin::Generated,
            friendly_name: DEFAULT_FRIENDLY_NAME.to_owned(),
            services: Services::FEDERATION,
        })
    }

    /// A certificate given as PEM or base64 DER text, with an optional private key as
    /// PEM; the key must belong to the certificate.
    pub fn load(certificate: &str, key: &str) -> Result<Self, String> {
        let certificate = read_certificate(certificate)?;
        let key = if key.trim().is_empty() {
            None
        } else {
            let key = PrivateKey::from_pem_or_der(key.trim().as_bytes())
                .map_err(|e| format!("private key: {e}"))?;
            certificate
                .check_key(&key)
                .map_err(|e| format!("private key: {e}"))?;
            Some(key)
        };
        Ok(Self {
            certificate,
            key,
            origin: Origin::Loaded,
            friendly_name: String::new(),
            services: Services::NONE,
        })
    }
}

/// Reads a certificate from PEM text or base64 of its DER.
pub fn read_certificate(text: &str) -> Result<Certificate, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "certificate: nothing given; paste a PEM certificate or choose a .cer/.pem file"
                .to_owned(),
        );
    }
    let parsed = if text.starts_with("-----BEGIN") {
        Certificate::from_pem(text)
    } else {
        let compact: String = text.split_whitespace().collect();
        Certificate::from_base64_der(&compact)
    };
    parsed.map_err(|e| format!("certificate: {e}"))
}

/// The text to show for the bytes of a chosen certificate file: PEM as it is, DER turned
/// into PEM.
pub fn certificate_file_text(bytes: &[u8]) -> Result<String, String> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        return Ok(text.to_owned());
    }
    Certificate::from_der(bytes)
        .map(|c| c.to_pem())
        .map_err(|e| format!("certificate file: {e}"))
}

/// The text to show for the bytes of a chosen key file: PEM as it is, DER (PKCS#8 or
/// PKCS#1) turned into PKCS#8 PEM.
pub fn key_file_text(bytes: &[u8]) -> Result<String, String> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        return Ok(text.to_owned());
    }
    let key = PrivateKey::from_der(bytes).map_err(|e| format!("key file: {e}"))?;
    key.to_pkcs8_pem()
        .map(|pem| pem.as_str().to_owned())
        .map_err(|e| format!("key file: {e}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::sync::OnceLock;
    use time::macros::datetime;

    /// One 2048-bit key per test binary (key generation is slow in debug builds).
    pub(crate) fn key_pem() -> &'static str {
        static KEY: OnceLock<String> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(11);
            let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
            key.to_pkcs8_pem().unwrap().as_str().to_owned()
        })
    }

    pub(crate) const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    /// Generated credentials for contoso.com, valid from [`NOW`].
    pub(crate) fn generated() -> Credentials {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let key = PrivateKey::from_pem(key_pem()).unwrap();
        Credentials::self_signed(&"contoso.com".parse().unwrap(), key, NOW, &mut rng).unwrap()
    }

    #[test]
    fn a_generated_certificate_is_exchanges_default() {
        let credentials = generated();
        let info = credentials.certificate.info(NOW);
        assert_eq!(info.subject, "CN=contoso.com");
        assert_eq!(info.key_bits, Some(2048));
        assert_eq!(info.days_left, 1826);
        assert_eq!(credentials.friendly_name, "Exchange S2S OAuth");
        assert_eq!(credentials.services, Services::FEDERATION);
        assert!(
            credentials
                .certificate
                .matches_key(credentials.key.as_ref().unwrap())
        );
    }

    #[test]
    fn loading_reads_pem_or_base64_and_checks_the_key() {
        let credentials = generated();
        let pem = credentials.certificate.to_pem();
        let loaded = Credentials::load(&pem, key_pem()).unwrap();
        assert_eq!(loaded.certificate, credentials.certificate);
        assert_eq!(loaded.origin, Origin::Loaded);
        assert!(loaded.key.is_some());

        let base64 = credentials.certificate.to_base64_der();
        let wrapped: String = base64
            .as_bytes()
            .chunks(64)
            .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
            .collect();
        let without_key = Credentials::load(&wrapped, "  ").unwrap();
        assert!(without_key.key.is_none());
        assert_eq!(without_key.certificate, credentials.certificate);
    }

    #[test]
    fn loading_refuses_a_foreign_key_and_garbage() {
        let credentials = generated();
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        let other = PrivateKey::generate(KeySize::Bits2048, &mut rng);
        let other_pem = other.to_pkcs8_pem().unwrap();
        let error = Credentials::load(&credentials.certificate.to_pem(), &other_pem).unwrap_err();
        assert!(error.starts_with("private key:"), "{error}");

        assert!(
            Credentials::load("", "")
                .unwrap_err()
                .contains("nothing given")
        );
        assert!(
            Credentials::load(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                ""
            )
            .unwrap_err()
            .starts_with("certificate:")
        );
    }

    #[test]
    fn files_become_pem_text() {
        let credentials = generated();
        let der = credentials.certificate.der();
        let text = certificate_file_text(der).unwrap();
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(certificate_file_text(text.as_bytes()).unwrap(), text);
        assert!(certificate_file_text(b"junk").is_err());

        let key = credentials.key.as_ref().unwrap();
        let key_der = key.to_pkcs8_der().unwrap();
        let key_text = key_file_text(&key_der).unwrap();
        assert!(key_text.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(key_file_text(b"junk").is_err());
    }
}
