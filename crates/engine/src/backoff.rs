//! Retry delays: exponential backoff with full jitter, from a seeded generator.
//!
//! The engine holds no global randomness. The caller gives it a seed
//! ([`crate::EngineConfig::seed`]) and the engine draws jitter from a small xorshift64*
//! generator. Jitter only has to spread retries of many proxies apart; it is not a secret, so a
//! fast non-cryptographic generator is the right tool, and a fixed seed makes every run of a
//! test or of the playground repeatable.

use core::time::Duration;

use crate::time::millis_of;

/// The xorshift64* generator (Vigna, "An experimental exploration of Marsaglia's xorshift
/// generators, scrambled"): 64 bits of state, period 2^64 - 1.
#[derive(Clone, Debug)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator from `seed`; the one seed xorshift cannot use (0) is replaced by a constant.
    pub(crate) fn new(seed: u64) -> Self {
        let state = if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        };
        Self { state }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..=max`, uniform up to a bias below 2^-64 * (max + 1).
    pub(crate) fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            // Multiply-high maps 64 random bits onto 0..span without a division.
            Some(span) => ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64,
            None => self.next_u64(),
        }
    }
}

/// The longest delay allowed before retry number `failures` (1 for the first retry):
/// `min(cap, base * 2^(failures - 1))`, and zero for `failures == 0`.
pub fn backoff_ceiling(base: Duration, cap: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = failures - 1;
    // 2^doublings, or "too large" (saturating the product) once it no longer fits in 64 bits.
    let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
    Duration::from_millis(millis_of(base).saturating_mul(factor)).min(cap)
}

/// A "full jitter" delay for retry number `failures`: uniform in `0..=backoff_ceiling(..)`, in
/// whole milliseconds.
pub(crate) fn full_jitter(
    jitter: &mut Jitter,
    base: Duration,
    cap: Duration,
    failures: u32,
) -> Duration {
    let ceiling = millis_of(backoff_ceiling(base, cap, failures));
    Duration::from_millis(jitter.up_to(ceiling))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASE: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(60);

    #[test]
    fn ceiling_doubles_then_caps() {
        let ceilings: Vec<u64> = (0..10)
            .map(|n| backoff_ceiling(BASE, CAP, n).as_secs())
            .collect();
        assert_eq!(ceilings, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff_ceiling(BASE, CAP, u32::MAX), CAP);
        assert_eq!(backoff_ceiling(BASE, CAP, 65), CAP);
    }

    #[test]
    fn zero_seed_still_produces_numbers() {
        let mut a = Jitter::new(0);
        let draws: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert!(draws.iter().all(|&d| d != 0));
        assert_ne!(draws[0], draws[1]);
    }

    #[test]
    fn jitter_covers_the_range() {
        // Full jitter must reach both ends of its range, not sit near the ceiling.
        let mut rng = Jitter::new(7);
        let draws: Vec<Duration> = (0..2000)
            .map(|_| full_jitter(&mut rng, BASE, CAP, 4))
            .collect();
        let ceiling = backoff_ceiling(BASE, CAP, 4);
        assert!(draws.iter().all(|d| *d <= ceiling));
        assert!(
            draws.iter().any(|d| *d < ceiling / 10),
            "no short delays drawn"
        );
        assert!(
            draws.iter().any(|d| *d > ceiling * 9 / 10),
            "no long delays drawn"
        );
    }

    #[test]
    fn up_to_handles_the_extremes() {
        let mut rng = Jitter::new(1);
        assert_eq!(rng.up_to(0), 0);
        let _ = rng.up_to(u64::MAX);
    }

    proptest! {
        #[test]
        fn jitter_stays_within_the_ceiling(seed: u64, failures in 0u32..100, base_ms in 0u64..10_000, cap_ms in 0u64..1_000_000) {
            let base = Duration::from_millis(base_ms);
            let cap = Duration::from_millis(cap_ms);
            let mut rng = Jitter::new(seed);
            let delay = full_jitter(&mut rng, base, cap, failures);
            prop_assert!(delay <= backoff_ceiling(base, cap, failures));
            prop_assert!(delay <= cap);
        }

        #[test]
        fn ceiling_never_shrinks(failures in 1u32..100, base_ms in 0u64..10_000, cap_ms in 0u64..1_000_000) {
            let base = Duration::from_millis(base_ms);
            let cap = Duration::from_millis(cap_ms);
            prop_assert!(backoff_ceiling(base, cap, failures + 1) >= backoff_ceiling(base, cap, failures));
        }

        #[test]
        fn same_seed_same_sequence(seed: u64) {
            let mut a = Jitter::new(seed);
            let mut b = Jitter::new(seed);
            for _ in 0..8 {
                prop_assert_eq!(a.next_u64(), b.next_u64());
            }
        }
    }
}
