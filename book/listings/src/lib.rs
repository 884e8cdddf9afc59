#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use pushproxy_cert::{CertificateParams, CertificateRecord, PrivateKey, create};
use rand::SeedableRng;
use time::OffsetDateTime;

// ANCHOR: constants
/// The listings' clock: 2026-01-01T00:00:00Z, in Unix seconds. Nothing in the book reads the
/// system clock; every function that depends on time is handed this value.
pub const NOW: i64 = 1_767_225_600;

/// The same instant as a date, for the certificate crate.
pub const NOW_UTC: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

/// The organisation's DNS domain, as in the original setup scripts.
pub const TENANT_DOMAIN: &str = "fabrikam.com";

/// The tenant id (the realm of every principal), a GUID the token service assigns.
pub const TENANT_ID: &str = "4d2a1b3c-5e6f-4a8b-9c0d-1e2f3a4b5c6d";

/// The seed of the listings' random number generator, so that every run prints the same key,
/// certificate, token and signature.
pub const SEED: u64 = 2026;
// ANCHOR_END: constants

/// The certificate of setup step 1 and its private key, made once per program.
#[derive(Debug)]
pub struct Fixture {
    /// The private key; it prints as `[redacted]` and is never cloned.
    pub key: PrivateKey,
    /// The certificate with its friendly name and services.
    pub record: CertificateRecord,
}

// ANCHOR: fixture
/// Creates the certificate of setup step 1 with Exchange's defaults (RSA 2048, five years,
/// friendly name "Exchange S2S OAuth", service Federation), from the seeded generator.
fn create_fixture() -> Result<Fixture, pushproxy_cert::Error> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let params = CertificateParams::new(TENANT_DOMAIN.parse()?, NOW_UTC);
    let (key, record) = create(&params, &mut rng)?;
    Ok(Fixture { key, record })
}
// ANCHOR_END: fixture

/// The shared [`Fixture`]. RSA key generation takes a moment, so the key is generated once per
/// program and shared by every listing that runs in it.
///
/// # Errors
/// Whatever creating the certificate reports (it does not fail with the fixed inputs above).
pub fn fixture() -> Result<&'static Fixture, pushproxy_cert::Error> {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    if let Some(fixture) = FIXTURE.get() {
        return Ok(fixture);
    }
    let made = create_fixture()?;
    Ok(FIXTURE.get_or_init(|| made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_clocks_agree() {
        assert_eq!(NOW_UTC.unix_timestamp(), NOW);
    }

    #[test]
    fn the_fixture_is_made_once_and_is_deterministic() {
        let first = fixture().map(|f| f.record.certificate.thumbprint());
        let again = fixture().map(|f| f.record.certificate.thumbprint());
        assert!(first.is_ok());
        assert_eq!(first.ok(), again.ok());
        let fixture = fixture().ok();
        let record = fixture.map(|f| &f.record);
        assert_eq!(
            record.map(|r| r.friendly_name.as_str()),
            Some("Exchange S2S OAuth")
        );
        assert_eq!(
            record.map(|r| r.certificate.info(NOW_UTC).days_left),
            Some(1826)
        );
    }
}
