//! One certificate and key per test binary (RSA key generation is slow in debug builds).
#![allow(dead_code)]

use std::sync::OnceLock;

use pushproxy_cert::{Certificate, CertificateParams, DnsName, KeySize, PrivateKey, self_signed};
use pushproxy_token::jwt::Claims;
use pushproxy_token::principal::{Audience, Guid, Principal, Realm, well_known};
use rand::SeedableRng;
use time::OffsetDateTime;

/// The tests' clock: 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;

pub struct Fixture {
    pub key: PrivateKey,
    pub certificate: Certificate,
}

fn make(seed: u64) -> Fixture {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
    let domain: DnsName = "contoso.com".parse().expect("a valid domain");
    let not_before = OffsetDateTime::from_unix_timestamp(NOW - 86_400).expect("a valid time");
    let params = CertificateParams::new(domain, not_before);
    let certificate = self_signed(&params, &key, &mut rng).expect("a certificate");
    Fixture { key, certificate }
}

/// The organisation's OAuth certificate.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| make(7))
}

pub fn tenant() -> Guid {
    Guid::from_u128(0x4d2a1b3c_0000_4000_8000_00000000abcd)
}

pub fn push_audience() -> Audience {
    Audience::new(
        well_known::EXCHANGE,
        well_known::EXCHANGE_ONLINE_HOST
            .parse()
            .expect("a valid host"),
        Realm::Tenant(tenant()),
    )
}

pub fn exchange() -> Principal {
    Principal::new(well_known::EXCHANGE, Realm::Tenant(tenant()))
}

/// Claims valid at [`NOW`].
pub fn good_claims() -> Claims {
    Claims::new(
        push_audience(),
        exchange(),
        exchange().to_string(),
        NOW - 60,
        NOW + 3600,
    )
}
