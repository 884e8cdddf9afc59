//! Keys, certificates and a pinned clock shared by the unit tests. RSA key generation is
//! slow in debug builds, so each key is made once per test binary.

use std::sync::OnceLock;

use pushproxy_cert::{Certificate, CertificateParams, KeySize, PrivateKey, self_signed};
use rand::SeedableRng;

/// The tests' "now": 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;

/// A seeded generator.
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn key(cell: &'static OnceLock<PrivateKey>, seed: u64) -> &'static PrivateKey {
    cell.get_or_init(|| PrivateKey::generate(KeySize::Bits2048, &mut rng(seed)))
}

/// The organisations' key (one key, several certificates).
pub fn org_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    key(&KEY, 11)
}

/// The token service's key.
pub fn service_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    key(&KEY, 22)
}

fn certificate(domain: &str, key: &PrivateKey, seed: u64) -> Certificate {
    // Valid from a day before the tests' clock, for five years.
    let start = time::OffsetDateTime::from_unix_timestamp(NOW - 86_400).unwrap();
    let params = CertificateParams::new(domain.parse().unwrap(), start);
    self_signed(&params, key, &mut rng(seed)).unwrap()
}

/// contoso.com's OAuth certificate.
pub fn contoso_certificate() -> &'static Certificate {
    static CERTIFICATE: OnceLock<Certificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| certificate("contoso.com", org_key(), 1))
}

/// fabrikam.com's OAuth certificate (same key as contoso's, another certificate).
pub fn fabrikam_certificate() -> &'static Certificate {
    static CERTIFICATE: OnceLock<Certificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| certificate("fabrikam.com", org_key(), 2))
}

/// The token service's certificate.
pub fn service_certificate() -> &'static Certificate {
    static CERTIFICATE: OnceLock<Certificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| certificate("sts.pushproxy.local", service_key(), 3))
}

/// A certificate with a 1024-bit RSA key, made with openssl.
pub fn small_certificate() -> &'static Certificate {
    static CERTIFICATE: OnceLock<Certificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        Certificate::from_pem(include_str!("../tests/fixtures/rsa1024.pem")).unwrap()
    })
}
