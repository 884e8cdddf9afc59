//! A certificate changed in any way is no longer taken for self-signed: the signature
//! check behind `self_signed` must reject every tampering.
#![allow(clippy::unwrap_used)]

mod common;

use common::{NOW, key, rng};
use proptest::prelude::*;
use pushproxy_cert::{Certificate, CertificateParams, self_signed};
use std::sync::OnceLock;

fn original() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let params = CertificateParams::new("contoso.com".parse().unwrap(), NOW);
        self_signed(&params, key(), &mut rng(3)).unwrap()
    })
}

/// Whether `der` still reads as a self-signed certificate.
fn accepted(der: &[u8]) -> bool {
    Certificate::from_der(der).is_ok_and(|cert| cert.is_self_signed())
}

#[test]
fn the_original_is_self_signed() {
    assert!(accepted(original().der()));
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let der = original().der();
    let mut accepted_flips = Vec::new();
    for index in 0..der.len() {
        for bit in 0..8 {
            let mut tampered = der.to_vec();
            tampered[index] ^= 1 << bit;
            if accepted(&tampered) {
                accepted_flips.push((index, bit));
            }
        }
    }
    assert!(
        accepted_flips.is_empty(),
        "flips still accepted as self-signed (byte, bit): {accepted_flips:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_byte_changes_are_rejected(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)
    ) {
        let mut tampered = original().der().to_vec();
        for (index, xor) in changes {
            let at = index.index(tampered.len());
            tampered[at] ^= xor;
        }
        prop_assume!(tampered != original().der());
        prop_assert!(!accepted(&tampered));
    }

    #[test]
    fn truncation_is_rejected(cut in 1usize..64) {
        let der = original().der();
        prop_assert!(Certificate::from_der(&der[..der.len() - cut]).is_err());
    }
}
