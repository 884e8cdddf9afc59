//! RS256 signing through interchangeable backends.
//!
//! A [`Signer`] holds a parsed private key (parsed once, when it is built) and knows the
//! certificate it belongs to, so it can name itself in a token header (`x5t`). Two
//! backends produce byte-identical signatures (RSASSA-PKCS1-v1_5 is deterministic):
//!
//! - [`RustCryptoSigner`]: the pure-Rust `rsa` crate; always available, also in the
//!   browser;
//! - `AwsLcSigner`: aws-lc-rs, faster natively; only with the `aws-lc` feature.
//!
//! [`Backend::best_available`] picks the fastest one compiled in; asking for one that is
//! not compiled in is the typed error [`Error::BackendUnavailable`], never a panic.
//!
//! Signers are not `Clone`, print their key as `[redacted]`, and the key material is
//! zeroized when they are dropped (by `rsa`'s key type, and by aws-lc's key free).

use std::fmt;

use pushproxy_cert::{Certificate, PrivateKey, Sha256Thumbprint, Thumbprint};
use rsa::PublicKey;
use rsa::traits::PublicKeyParts;

use crate::Error;

/// The smallest RSA key accepted for S2S tokens, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A signing (and verifying) implementation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Backend {
    /// The pure-Rust `rsa` crate.
    RustCrypto,
    /// aws-lc-rs (feature `aws-lc`).
    AwsLc,
}

impl Backend {
    /// Every backend, available or not.
    pub const ALL: [Self; 2] = [Self::RustCrypto, Self::AwsLc];

    /// The fastest backend in this build: aws-lc-rs with the `aws-lc` feature, the
    /// pure-Rust one otherwise.
    pub const fn best_available() -> Self {
        if cfg!(feature = "aws-lc") {
            Self::AwsLc
        } else {
            Self::RustCrypto
        }
    }

    /// Whether this backend is compiled into this build.
    pub const fn is_available(self) -> bool {
        match self {
            Self::RustCrypto => true,
            Self::AwsLc => cfg!(feature = "aws-lc"),
        }
    }

    /// Builds a signer of this backend for `certificate` and its private `key`.
    ///
    /// # Errors
    /// [`Error::BackendUnavailable`] if the backend is not compiled in, and the errors of
    /// [`RustCryptoSigner::new`].
    pub fn signer(
        self,
        certificate: &Certificate,
        key: &PrivateKey,
    ) -> Result<Box<dyn Signer>, Error> {
        match self {
            Self::RustCrypto => Ok(Box::new(RustCryptoSigner::new(certificate, key)?)),
            #[cfg(feature = "aws-lc")]
            Self::AwsLc => Ok(Box::new(AwsLcSigner::new(certificate, key)?)),
            #[cfg(not(feature = "aws-lc"))]
            Self::AwsLc => Err(Error::BackendUnavailable { backend: self }),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RustCrypto => "RustCrypto rsa",
            Self::AwsLc => "aws-lc-rs",
        })
    }
}

/// Signs token signing inputs with RS256 for one certificate.
pub trait Signer: fmt::Debug + Send + Sync {
    /// Which implementation signs.
    fn backend(&self) -> Backend;

    /// The certificate's SHA-1 thumbprint.
    fn thumbprint(&self) -> Thumbprint;

    /// The certificate's SHA-256 thumbprint.
    fn sha256_thumbprint(&self) -> Sha256Thumbprint;

    /// The `x5t` header value naming the certificate.
    fn x5t(&self) -> &str;

    /// The certificate's public key.
    fn public_key(&self) -> &PublicKey;

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    ///
    /// # Errors
    /// [`Error::Sign`] if the backend fails.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// What a signer (or a key set) knows about a certificate.
#[derive(Clone)]
pub(crate) struct CertificateId {
    pub(crate) thumbprint: Thumbprint,
    pub(crate) sha256: Sha256Thumbprint,
    pub(crate) x5t: String,
    pub(crate) public_key: PublicKey,
}

impl CertificateId {
    fn of(certificate: &Certificate) -> Result<Self, Error> {
        Self::from_der(certificate.der(), certificate.rsa_public_key()?)
    }

    pub(crate) fn from_der(der: &[u8], public_key: PublicKey) -> Result<Self, Error> {
        let thumbprint = Thumbprint::of_der(der);
        let bits = usize::try_from(public_key.n().bit_width()).unwrap_or(usize::MAX);
        if bits < MIN_RSA_BITS {
            return Err(Error::KeyTooSmall {
                thumbprint: thumbprint.to_string(),
                bits,
            });
        }
        Ok(Self {
            thumbprint,
            sha256: Sha256Thumbprint::of_der(der),
            x5t: thumbprint.x5t(),
            public_key,
        })
    }

    /// Checks that `key` is the private half of this certificate's key.
    fn check_key(&self, key: &rsa::PrivateKey) -> Result<(), Error> {
        if key.as_public_key() == &self.public_key {
            Ok(())
        } else {
            Err(Error::KeyMismatch {
                thumbprint: self.thumbprint.to_string(),
            })
        }
    }
}

/// Signing with the pure-Rust `rsa` crate (`pkcs1v15::SigningKey<Sha256>`).
///
/// Signing does not use randomness: PKCS#1 v1.5 signatures are deterministic, and the
/// `rsa` crate's private-key operation runs in constant time without blinding.
pub struct RustCryptoSigner {
    key: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
    id: CertificateId,
}

impl RustCryptoSigner {
    /// A signer for `certificate` with its private `key`.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] if the key does not belong to the certificate,
    /// [`Error::KeyTooSmall`] below 2048 bits, [`Error::Certificate`] if the certificate's
    /// key is not RSA.
    pub fn new(certificate: &Certificate, key: &PrivateKey) -> Result<Self, Error> {
        Self::with_id(key.rsa(), CertificateId::of(certificate)?)
    }

    fn with_id(key: &rsa::PrivateKey, id: CertificateId) -> Result<Self, Error> {
        id.check_key(key)?;
        Ok(Self {
            key: rsa::pkcs1v15::SigningKey::new(key.clone()),
            id,
        })
    }
}

impl fmt::Debug for RustCryptoSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustCryptoSigner")
            .field("thumbprint", &self.id.thumbprint)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Signer for RustCryptoSigner {
    fn backend(&self) -> Backend {
        Backend::RustCrypto
    }

    fn thumbprint(&self) -> Thumbprint {
        self.id.thumbprint
    }

    fn sha256_thumbprint(&self) -> Sha256Thumbprint {
        self.id.sha256
    }

    fn x5t(&self) -> &str {
        &self.id.x5t
    }

    fn public_key(&self) -> &PublicKey {
        &self.id.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        use signature::{SignatureEncoding, Signer as _};
        self.key
            .try_sign(message)
            .map(|signature| signature.to_vec())
            .map_err(|e| Error::Sign {
                backend: Backend::RustCrypto,
                reason: e.to_string(),
            })
    }
}

/// Signing with aws-lc-rs (`RsaKeyPair` and `RSA_PKCS1_SHA256`). Only with the `aws-lc`
/// feature.
#[cfg(feature = "aws-lc")]
pub struct AwsLcSigner {
    key: aws_lc_rs::signature::RsaKeyPair,
    id: CertificateId,
}

#[cfg(feature = "aws-lc")]
impl AwsLcSigner {
    /// A signer for `certificate` with its private `key`.
    ///
    /// # Errors
    /// As [`RustCryptoSigner::new`], and [`Error::KeyRejected`] if aws-lc refuses the
    /// key.
    pub fn new(certificate: &Certificate, key: &PrivateKey) -> Result<Self, Error> {
        Self::with_id(key.rsa(), CertificateId::of(certificate)?)
    }

    fn with_id(key: &rsa::PrivateKey, id: CertificateId) -> Result<Self, Error> {
        use rsa::pkcs8::EncodePrivateKey;
        id.check_key(key)?;
        let rejected = |reason: String| Error::KeyRejected {
            backend: Backend::AwsLc,
            reason,
        };
        // A zeroizing document: the PKCS#8 bytes are wiped when it is dropped.
        let pkcs8 = key.to_pkcs8_der().map_err(|e| rejected(e.to_string()))?;
        let key = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(pkcs8.as_bytes())
            .map_err(|e| rejected(e.to_string()))?;
        Ok(Self { key, id })
    }
}

#[cfg(feature = "aws-lc")]
impl fmt::Debug for AwsLcSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcSigner")
            .field("thumbprint", &self.id.thumbprint)
            .field("key", &"[redacted]")
            .finish()
    }
}

#[cfg(feature = "aws-lc")]
impl Signer for AwsLcSigner {
    fn backend(&self) -> Backend {
        Backend::AwsLc
    }

    fn thumbprint(&self) -> Thumbprint {
        self.id.thumbprint
    }

    fn sha256_thumbprint(&self) -> Sha256Thumbprint {
        self.id.sha256
    }

    fn x5t(&self) -> &str {
        &self.id.x5t
    }

    fn public_key(&self) -> &PublicKey {
        &self.id.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        // PKCS#1 v1.5 needs no randomness; aws-lc-rs takes a generator for its API and
        // does not use it for this padding.
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                message,
                &mut signature,
            )
            .map_err(|e| Error::Sign {
                backend: Backend::AwsLc,
                reason: e.to_string(),
            })?;
        Ok(signature)
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! One RSA-2048 key per test binary, and signers over it with a stand-in
    //! certificate identity (the DER bytes are only hashed for the thumbprint).
    use super::*;
    use rand::SeedableRng;
    use std::sync::OnceLock;

    pub fn key() -> &'static rsa::PrivateKey {
        static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(2048);
            rsa::PrivateKey::new(&mut rng, 2048).expect("key generation")
        })
    }

    /// A second, different key (1024 bits: only used where its size does not matter or
    /// is the point).
    pub fn small_key() -> &'static rsa::PrivateKey {
        static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1024);
            rsa::PrivateKey::new(&mut rng, 1024).expect("key generation")
        })
    }

    pub const FAKE_DER: &[u8] = b"stand-in certificate";

    pub fn id() -> CertificateId {
        CertificateId::from_der(FAKE_DER, key().to_public_key()).expect("2048-bit key")
    }

    pub fn rust_crypto() -> RustCryptoSigner {
        RustCryptoSigner::with_id(key(), id()).expect("matching key")
    }

    #[cfg(feature = "aws-lc")]
    pub fn aws_lc() -> AwsLcSigner {
        AwsLcSigner::with_id(key(), id()).expect("matching key")
    }

    /// Every available backend over the test key.
    pub fn all() -> Vec<Box<dyn Signer>> {
        #[cfg_attr(not(feature = "aws-lc"), allow(unused_mut))]
        let mut all: Vec<Box<dyn Signer>> = vec![Box::new(rust_crypto())];
        #[cfg(feature = "aws-lc")]
        all.push(Box::new(aws_lc()));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;
    use proptest::prelude::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use signature::Verifier as _;

    #[test]
    fn best_available_is_available() {
        assert!(Backend::best_available().is_available());
        assert!(Backend::RustCrypto.is_available());
        assert_eq!(Backend::AwsLc.is_available(), cfg!(feature = "aws-lc"));
        assert_eq!(Backend::ALL.len(), 2);
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        let verifier = VerifyingKey::<sha2::Sha256>::new(key().to_public_key());
        for signer in all() {
            let sig = signer.sign(b"header.claims").unwrap();
            assert_eq!(sig.len(), 256, "{:?}", signer.backend());
            let sig = Signature::try_from(sig.as_slice()).unwrap();
            verifier.verify(b"header.claims", &sig).unwrap();
            assert!(verifier.verify(b"header.claimz", &sig).is_err());
            assert_eq!(signer.x5t(), Thumbprint::of_der(FAKE_DER).x5t());
            assert_eq!(signer.public_key(), &key().to_public_key());
        }
    }

    #[test]
    fn debug_is_redacted() {
        for signer in all() {
            let debug = format!("{signer:?}");
            assert!(debug.contains("[redacted]"), "{debug}");
            assert!(!debug.contains("primes"), "{debug}");
        }
    }

    #[test]
    fn a_foreign_key_is_refused() {
        let e = RustCryptoSigner::with_id(small_key(), id()).unwrap_err();
        assert!(matches!(e, Error::KeyMismatch { .. }), "{e}");
        #[cfg(feature = "aws-lc")]
        assert!(matches!(
            AwsLcSigner::with_id(small_key(), id()),
            Err(Error::KeyMismatch { .. })
        ));
    }

    #[test]
    fn a_small_key_is_refused() {
        let e = CertificateId::from_der(FAKE_DER, small_key().to_public_key())
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("1024-bit RSA key; at least 2048 bits are required"),
            "{e}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// The two backends are interchangeable: same key, same input, same bytes.
        #[test]
        fn backends_sign_identically(message in proptest::collection::vec(any::<u8>(), 0..300)) {
            let signatures: Vec<Vec<u8>> = all().iter().map(|s| s.sign(&message).unwrap()).collect();
            for pair in signatures.windows(2) {
                prop_assert_eq!(&pair[0], &pair[1]);
            }
        }
    }
}
