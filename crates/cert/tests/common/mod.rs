//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::OnceLock;

use pushproxy_cert::{KeySize, PrivateKey};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use time::macros::datetime;

/// One 2048-bit key per test binary (generation is slow in debug builds).
pub fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::Bits2048, &mut rng(2048)))
}

/// A second, different key.
pub fn other_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::Bits2048, &mut rng(4096)))
}

/// A seeded RNG, so that failures can be replayed.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// The fixed "now" of the tests.
pub const NOW: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);
