//! Creating the self-signed OAuth certificate, as Exchange's setup does.

use std::str::FromStr;

use der::Encode;
use der::asn1::{GeneralizedTime, Ia5String, OctetString};
use time::OffsetDateTime;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use crate::certificate::Certificate;
use crate::error::{Error, Result};
use crate::key::{KeySize, PrivateKey};
use crate::name::DnsName;
use crate::record::CertificateRecord;
use crate::services::Services;
use crate::ski::Ski;

/// The friendly name Exchange gives the certificate it creates for OAuth.
pub const DEFAULT_FRIENDLY_NAME: &str = "Exchange S2S OAuth";

/// The default validity: five years of 365.25 days, rounded down to whole days.
pub const DEFAULT_VALIDITY: time::Duration = time::Duration::days(1826);

/// What a new self-signed OAuth certificate looks like.
///
/// [`CertificateParams::new`] fills in what Exchange's setup uses: RSA 2048, a random
/// GUID as subject key identifier, five years of validity, the friendly name
/// `Exchange S2S OAuth` and the `Federation` service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateParams {
    /// The organisation's DNS domain: the subject common name and the only DNS name.
    pub domain: DnsName,
    /// The size of the key (checked against the key given to [`self_signed`]).
    pub key_size: KeySize,
    /// The subject key identifier; `None` makes a new random GUID.
    pub subject_key_identifier: Option<Ski>,
    /// The start of validity: the caller's current time.
    pub not_before: OffsetDateTime,
    /// How long the certificate is valid from `not_before`.
    pub validity: time::Duration,
    /// The friendly name kept with the certificate.
    pub friendly_name: String,
    /// The services the certificate is assigned to.
    pub services: Services,
}

impl CertificateParams {
    /// Exchange's defaults for `domain`, valid from `now`.
    pub fn new(domain: DnsName, now: OffsetDateTime) -> Self {
        Self {
            domain,
            key_size: KeySize::default(),
            subject_key_identifier: None,
            not_before: now,
            validity: DEFAULT_VALIDITY,
            friendly_name: DEFAULT_FRIENDLY_NAME.to_owned(),
            services: Services::FEDERATION,
        }
    }

    /// The end of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_before + self.validity
    }
}

/// The profile of the OAuth certificate: issuer = subject, and no extension of its own
/// (they are all added explicitly in [`self_signed`]).
struct SelfSigned {
    subject: Name,
}

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// Creates a self-signed X.509 v3 certificate for `key`, signed with SHA-256 and RSA
/// PKCS#1 v1.5.
///
/// Subject and issuer are `CN=<domain>`; the extensions are the subject alternative name
/// `DNS:<domain>`, the subject key identifier, basic constraints `CA:FALSE` and key usage
/// digitalSignature + keyEncipherment (critical). The serial number is 16 random bytes,
/// positive and non-zero. `rng` provides the serial number, the subject key identifier if
/// none is given, and the blinding of the signature.
///
/// `openssl verify -CAfile cert.pem cert.pem` accepts the result: OpenSSL takes a
/// self-signed certificate given as trust anchor as trusted without asking it to be a CA.
pub fn self_signed(
    params: &CertificateParams,
    key: &PrivateKey,
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Result<Certificate> {
    if key.bits() != params.key_size.bits() {
        return Err(Error::KeySizeMismatch {
            key_bits: key.bits(),
            requested: params.key_size.bits(),
        });
    }
    let validity = validity(params.not_before, params.not_after())?;
    let ski = params
        .subject_key_identifier
        .unwrap_or_else(|| Ski::random(rng));
    let serial = random_serial(rng)?;

    let subject =
        Name::from_str(&format!("CN={}", params.domain)).map_err(|source| Error::Der {
            context: "writing the subject name",
            source,
        })?;
    let public_key =
        SubjectPublicKeyInfoOwned::from_key(&key.public_key()).map_err(|source| Error::Spki {
            context: "writing the certificate's public key",
            source,
        })?;
    let mut builder = CertificateBuilder::new(SelfSigned { subject }, serial, validity, public_key)
        .map_err(|source| Error::Builder {
            context: "starting the certificate",
            source,
        })?;

    let der_error = |context| move |source| Error::Der { context, source };
    let dns_name =
        Ia5String::new(params.domain.as_str()).map_err(der_error("writing the DNS name"))?;
    builder
        .add_extension(&SubjectAltName(vec![GeneralName::DnsName(dns_name)]))
        .map_err(der_error("adding the subject alternative name"))?;
    let ski = OctetString::new(ski.as_bytes().to_vec())
        .map_err(der_error("writing the subject key identifier"))?;
    builder
        .add_extension(&SubjectKeyIdentifier(ski))
        .map_err(der_error("adding the subject key identifier"))?;
    builder
        .add_extension(&BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .map_err(der_error("adding the basic constraints"))?;
    builder
        .add_extension(&KeyUsage(
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ))
        .map_err(der_error("adding the key usage"))?;

    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.rsa().clone());
    let certificate = builder
        .build_with_rng::<_, rsa::pkcs1v15::Signature, _>(&signer, rng)
        .map_err(|source| Error::Builder {
            context: "signing the certificate",
            source,
        })?;
    let der = certificate
        .to_der()
        .map_err(der_error("encoding the certificate"))?;
    Certificate::from_der(&der)
}

/// Generates a key of `params.key_size`, creates the self-signed certificate for it and
/// returns the key with the certificate's record (friendly name and services from
/// `params`).
pub fn create(
    params: &CertificateParams,
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Result<(PrivateKey, CertificateRecord)> {
    let key = PrivateKey::generate(params.key_size, rng);
    let certificate = self_signed(params, &key, rng)?;
    let record = CertificateRecord::new(certificate, params.friendly_name.clone(), params.services);
    Ok((key, record))
}

/// A positive, non-zero serial number of 16 random bytes.
fn random_serial(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    if bytes.iter().all(|byte| *byte == 0) {
        bytes[15] = 1;
    }
    SerialNumber::new(&bytes).map_err(|source| Error::Der {
        context: "writing the serial number",
        source,
    })
}

/// The certificate validity from `not_before` to `not_after`, whole seconds.
fn validity(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Validity> {
    if not_after <= not_before {
        return Err(Error::InvalidValidity {
            reason: format!(
                "it ends ({not_after}) before it starts ({not_before}); give a positive validity"
            ),
        });
    }
    Ok(Validity::new(to_time(not_before)?, to_time(not_after)?))
}

/// An X.509 time (the builder turns it into UTCTime before 2050).
fn to_time(at: OffsetDateTime) -> Result<Time> {
    let seconds = u64::try_from(at.unix_timestamp()).map_err(|_| Error::InvalidValidity {
        reason: format!("{at} is before 1970; certificates made here start after 1970"),
    })?;
    let date = der::DateTime::from_unix_duration(std::time::Duration::from_secs(seconds)).map_err(
        |_| Error::InvalidValidity {
            reason: format!(
                "{at} cannot be written in a certificate (the year must be at most 9999)"
            ),
        },
    )?;
    Ok(Time::GeneralTime(GeneralizedTime::from_date_time(date)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::sync::OnceLock;
    use time::macros::datetime;

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(11);
            PrivateKey::generate(KeySize::Bits2048, &mut rng)
        })
    }

    fn params() -> CertificateParams {
        CertificateParams::new(
            "contoso.com".parse().unwrap(),
            datetime!(2025-03-01 12:00:00 UTC),
        )
    }

    #[test]
    fn defaults_follow_exchange() {
        let p = params();
        assert_eq!(p.key_size, KeySize::Bits2048);
        assert_eq!(p.friendly_name, "Exchange S2S OAuth");
        assert_eq!(p.services, Services::FEDERATION);
        assert_eq!(p.subject_key_identifier, None);
        assert_eq!(p.not_after(), datetime!(2030-03-01 12:00:00 UTC));
    }

    #[test]
    fn creates_what_was_asked() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut p = params();
        let ski: Ski = "00112233445566778899AABBCCDDEEFF".parse().unwrap();
        p.subject_key_identifier = Some(ski);
        let cert = self_signed(&p, key(), &mut rng).unwrap();
        let info = cert.info(datetime!(2025-03-02 12:00:00 UTC));
        assert_eq!(info.version, 3);
        assert_eq!(info.subject, "CN=contoso.com");
        assert_eq!(info.issuer, "CN=contoso.com");
        assert_eq!(info.subject_common_name.as_deref(), Some("contoso.com"));
        assert_eq!(info.dns_names, ["contoso.com"]);
        assert_eq!(info.key_algorithm, "RSA");
        assert_eq!(info.key_bits, Some(2048));
        assert_eq!(
            info.subject_key_identifier.as_deref(),
            Some(ski.to_string().as_str())
        );
        assert_eq!(info.not_before, p.not_before);
        assert_eq!(info.not_after, p.not_after());
        assert_eq!(info.days_left, 1825);
        assert!(info.valid_now);
        assert!(info.self_signed);
        assert_eq!(info.signature_algorithm, "sha256WithRSAEncryption");
        assert!(cert.matches_key(key()));
        assert_eq!(info.thumbprint, Thumbprint::of_der(cert.der()));
    }

    #[test]
    fn random_ski_and_serial_differ() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let a = self_signed(&params(), key(), &mut rng).unwrap();
        let b = self_signed(&params(), key(), &mut rng).unwrap();
        let (ia, ib) = (a.info(params().not_before), b.info(params().not_before));
        assert_ne!(ia.subject_key_identifier, ib.subject_key_identifier);
        assert_ne!(ia.serial_number, ib.serial_number);
        let ski = ia.subject_key_identifier.unwrap();
        assert_eq!(ski.len(), 32);
        assert_eq!(&ski[12..13], "4");
        // Positive: the top bit of the first of 16 bytes is clear.
        assert!(ia.serial_number.len() <= 32);
        assert_ne!(a.thumbprint(), b.thumbprint());
    }

    #[test]
    fn refusals() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut p = params();
        p.key_size = KeySize::Bits3072;
        let message = self_signed(&p, key(), &mut rng).unwrap_err().to_string();
        assert!(
            message.contains("2048 bits but the certificate parameters ask for 3072"),
            "{message}"
        );
        let mut p = params();
        p.validity = time::Duration::ZERO;
        assert!(matches!(
            self_signed(&p, key(), &mut rng),
            Err(Error::InvalidValidity { .. })
        ));
        let mut p = params();
        p.not_before = datetime!(1969-12-31 0:00 UTC);
        let message = self_signed(&p, key(), &mut rng).unwrap_err().to_string();
        assert!(message.contains("before 1970"), "{message}");
    }

    #[test]
    fn dates_after_2049_use_generalized_time() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut p = params();
        p.not_before = datetime!(2049-06-01 0:00 UTC);
        let cert = self_signed(&p, key(), &mut rng).unwrap();
        assert_eq!(cert.not_after(), datetime!(2054-06-01 0:00 UTC));
        assert_eq!(cert.not_before(), datetime!(2049-06-01 0:00 UTC));
    }

    #[test]
    fn sub_second_start_is_truncated() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut p = params();
        p.not_before = datetime!(2025-03-01 12:00:00.75 UTC);
        let cert = self_signed(&p, key(), &mut rng).unwrap();
        assert_eq!(cert.not_before(), datetime!(2025-03-01 12:00:00 UTC));
    }

    use crate::thumbprint::Thumbprint;
}
