//! Key generation in slices, so that a page can stay responsive while an RSA key is found.

use pushproxy_cert::{KeyGen, PrivateKey};

/// Runs [`KeyGen::step`] until the key is found or `out_of_time` says the slice is over;
/// at least one step runs per call, so generation always moves forward.
pub fn run_slice(
    keygen: &mut KeyGen,
    rng: &mut (impl rand::CryptoRng + ?Sized),
    mut out_of_time: impl FnMut() -> bool,
) -> Option<PrivateKey> {
    loop {
        if let Some(key) = keygen.step(rng) {
            return Some(key);
        }
        if out_of_time() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pushproxy_cert::{KeyGenProgress, KeySize};
    use rand::SeedableRng;

    #[test]
    fn slices_move_forward_and_end_with_a_key() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut keygen = KeyGen::new(KeySize::Bits2048);
        // One step per slice: progress never goes backwards.
        let mut last = keygen.progress();
        for _ in 0..20 {
            if let Some(key) = run_slice(&mut keygen, &mut rng, || true) {
                assert_eq!(key.bits(), 2048);
                return;
            }
            let now: KeyGenProgress = keygen.progress();
            assert!(now.candidates_tested >= last.candidates_tested);
            last = now;
        }
        // A slice without a deadline finishes the key.
        let mut checks = 0;
        let key = run_slice(&mut keygen, &mut rng, || {
            checks += 1;
            false
        });
        assert_eq!(key.map(|k| k.bits()), Some(2048));
        assert!(checks > 0);
    }
}
