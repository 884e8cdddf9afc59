//! RSA private keys: [`KeySize`], [`PrivateKey`] and stepwise generation with [`KeyGen`].

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use crypto_primes::hazmat::{SetBits, SmallFactorsSieve, random_odd_integer};
use crypto_primes::{Flavor, is_prime};
use der::Decode;
use rsa::BoxedUint;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::pem;

/// The smallest RSA key accepted, in bits.
pub const MIN_KEY_BITS: usize = 2048;

/// The public exponent of every generated key.
const PUBLIC_EXPONENT: u64 = 65_537;

/// The size of a new RSA key: 2048 bits (the default, what Exchange creates), 3072 or
/// 4096. Anything else is refused; sizes under 2048 with an error saying so.
///
/// ```
/// use pushproxy_cert::KeySize;
///
/// assert_eq!(KeySize::default().bits(), 2048);
/// assert_eq!("4096".parse::<KeySize>()?, KeySize::Bits4096);
/// let refused = KeySize::try_from(1024).unwrap_err();
/// assert_eq!(refused.to_string(), "RSA key of 1024 bits refused; at least 2048 bits are required");
/// # Ok::<(), pushproxy_cert::Error>(())
/// ```
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(try_from = "usize", into = "usize")]
#[non_exhaustive]
pub enum KeySize {
    /// 2048 bits.
    #[default]
    Bits2048,
    /// 3072 bits.
    Bits3072,
    /// 4096 bits.
    Bits4096,
}

impl KeySize {
    /// Every offered size, smallest first.
    pub const ALL: [Self; 3] = [Self::Bits2048, Self::Bits3072, Self::Bits4096];

    /// The size in bits.
    pub const fn bits(self) -> usize {
        match self {
            Self::Bits2048 => 2048,
            Self::Bits3072 => 3072,
            Self::Bits4096 => 4096,
        }
    }
}

impl TryFrom<usize> for KeySize {
    type Error = Error;

    fn try_from(bits: usize) -> Result<Self> {
        if bits < MIN_KEY_BITS {
            return Err(Error::KeyTooSmall { bits });
        }
        Self::ALL
            .into_iter()
            .find(|size| size.bits() == bits)
            .ok_or(Error::UnsupportedKeySize { bits })
    }
}

impl From<KeySize> for usize {
    fn from(size: KeySize) -> Self {
        size.bits()
    }
}

impl FromStr for KeySize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bits: usize = s.trim().parse().map_err(|_| Error::InvalidKeySize {
            input: s.to_owned(),
        })?;
        Self::try_from(bits)
    }
}

impl fmt::Display for KeySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.bits())
    }
}

/// An RSA private key of at least 2048 bits.
///
/// It cannot be cloned, prints as `[redacted]`, and its numbers are zeroized when it is
/// dropped (the `rsa` key zeroizes itself). The encodings it hands out are wrapped in
/// [`Zeroizing`] so that they are wiped too. Store it as PKCS#8 PEM in a file of mode
/// 0600 (see `write_private_key_file` with the `fs` feature).
pub struct PrivateKey {
    inner: rsa::PrivateKey,
}

impl PrivateKey {
    /// Generates a new key of `size` in one go. For progress reporting, use [`KeyGen`].
    pub fn generate(size: KeySize, rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Self {
        let mut keygen = KeyGen::new(size);
        loop {
            if let Some(key) = keygen.step(rng) {
                return key;
            }
        }
    }

    /// Generates a new key of `size`, calling `progress` after every step (see
    /// [`KeyGen`]).
    pub fn generate_with_progress(
        size: KeySize,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
        mut progress: impl FnMut(KeyGenProgress),
    ) -> Self {
        let mut keygen = KeyGen::new(size);
        loop {
            if let Some(key) = keygen.step(rng) {
                return key;
            }
            progress(keygen.progress());
        }
    }

    /// Wraps an `rsa` key, refusing one under 2048 bits.
    pub fn from_rsa(key: rsa::PrivateKey) -> Result<Self> {
        let bits = modulus_bits(key.as_public_key());
        if bits < MIN_KEY_BITS {
            return Err(Error::KeyTooSmall { bits });
        }
        Ok(Self { inner: key })
    }

    /// Reads a PKCS#8 DER key; a PKCS#1 (`RSAPrivateKey`) DER key is accepted too.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        Self::from_der(der)
    }

    /// Reads a PEM key: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1, as older
    /// tools write). Other blocks in the text, such as a certificate, are ignored.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        Self::from_pem(pem)
    }

    /// Reads a PKCS#1 (`RSAPrivateKey`) DER key.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let key = rsa::PrivateKey::from_pkcs1_der(der).map_err(|source| Error::Pkcs1 { source })?;
        Self::from_rsa(key)
    }

    /// Reads a DER key, PKCS#8 or PKCS#1.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        match pkcs8::PrivateKeyInfoRef::from_der(der) {
            Ok(info) => {
                if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
                    return Err(Error::NotRsa {
                        what: "private key",
                        algorithm: algorithm_name(&info.algorithm.oid.to_string()),
                    });
                }
                let key = rsa::PrivateKey::from_pkcs8_der(der)
                    .map_err(|source| Error::Pkcs8 { source })?;
                Self::from_rsa(key)
            }
            Err(pkcs8_error) => match rsa::PrivateKey::from_pkcs1_der(der) {
                Ok(key) => Self::from_rsa(key),
                Err(_) => Err(Error::Pkcs8 {
                    source: pkcs8_error.into(),
                }),
            },
        }
    }

    /// Reads a PEM key, PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`). The text may
    /// hold other blocks (a certificate, say) and text between them; it must hold exactly
    /// one private key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let keys: Vec<pem::Block<'_>> = pem::blocks(pem)
            .into_iter()
            .filter(|block| block.label.ends_with("PRIVATE KEY"))
            .collect();
        let block = match keys.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::InvalidPrivateKey {
                    reason:
                        "no `-----BEGIN PRIVATE KEY-----` block was found; give a PEM private key"
                            .to_owned(),
                });
            }
            many => {
                return Err(Error::InvalidPrivateKey {
                    reason: format!(
                        "{} private keys were found; give a file with only one",
                        many.len()
                    ),
                });
            }
        };
        let (label, der) =
            der::pem::decode_vec(block.text.as_bytes()).map_err(|source| Error::Pem {
                context: "reading the private key",
                source,
            })?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => Self::from_der(&der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
            "ENCRYPTED PRIVATE KEY" => Err(Error::EncryptedPrivateKey),
            other => Err(Error::InvalidPrivateKey {
                reason: format!(
                    "a `{other}` block is not supported; give an RSA key as `PRIVATE KEY` or `RSA PRIVATE KEY`"
                ),
            }),
        }
    }

    /// Reads a key from bytes that are either PEM text or DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self> {
        if pem::looks_like_pem(bytes) {
            let text = std::str::from_utf8(bytes).map_err(|_| Error::InvalidPrivateKey {
                reason: "the PEM text is not UTF-8".to_owned(),
            })?;
            Self::from_pem(text)
        } else {
            Self::from_der(bytes)
        }
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.inner
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|source| Error::Pkcs8 { source })
    }

    /// The key as PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let document = self
            .inner
            .to_pkcs8_der()
            .map_err(|source| Error::Pkcs8 { source })?;
        Ok(Zeroizing::new(document.as_bytes().to_vec()))
    }

    /// The size of the modulus in bits.
    pub fn bits(&self) -> usize {
        modulus_bits(self.inner.as_public_key())
    }

    /// The public half.
    pub fn public_key(&self) -> rsa::PublicKey {
        self.inner.to_public_key()
    }

    /// The public half as DER `SubjectPublicKeyInfo`, as found in a certificate.
    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        self.inner
            .as_public_key()
            .to_public_key_der()
            .map(|document| document.into_vec())
            .map_err(|source| Error::Spki {
                context: "encoding the public key",
                source,
            })
    }

    /// The public half as PEM (`-----BEGIN PUBLIC KEY-----`), as `openssl pkey -pubout`
    /// prints it.
    pub fn public_key_pem(&self) -> Result<String> {
        self.inner
            .as_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|source| Error::Spki {
                context: "encoding the public key",
                source,
            })
    }

    /// The `rsa` key, for signing.
    pub fn rsa(&self) -> &rsa::PrivateKey {
        &self.inner
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

/// The bit length of a public key's modulus.
pub(crate) fn modulus_bits(key: &rsa::PublicKey) -> usize {
    // A `u32` always fits in `usize` on the targets this crate builds for (32 and 64 bit).
    usize::try_from(key.n().bit_width()).unwrap_or(usize::MAX)
}

/// A readable name for a few key algorithm OIDs, the OID otherwise.
pub(crate) fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.1" => "RSA".to_owned(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".to_owned(),
        "1.2.840.10045.2.1" => "EC".to_owned(),
        "1.3.101.112" => "Ed25519".to_owned(),
        "1.3.101.113" => "Ed448".to_owned(),
        "1.2.840.10040.4.1" => "DSA".to_owned(),
        other => other.to_owned(),
    }
}

/// How far a [`KeyGen`] has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyGenProgress {
    /// Primes found so far for the current attempt (0, 1 or 2).
    pub primes_found: u8,
    /// Prime candidates tested so far, over all attempts.
    pub candidates_tested: u64,
}

impl KeyGenProgress {
    /// The two primes an RSA key needs.
    pub const PRIMES_NEEDED: u8 = 2;
}

/// Generates an RSA key one small step at a time, so that a command line can show
/// progress and a browser can yield to its event loop between steps.
///
/// Each step tests one prime candidate (the same search `rsa` performs: random odd
/// numbers with their top two bits set, sieved for small factors, then a
/// Baillie-PSW test). Once two primes are found, the key is built from them with the
/// public exponent 65537, and [`step`](Self::step) returns it. A 2048-bit key takes some
/// tens to a few hundred steps. Stepping again afterwards starts a new key.
///
/// ```
/// use pushproxy_cert::{KeyGen, KeySize};
/// # use rand::SeedableRng;
/// # let mut rng = rand::rngs::StdRng::seed_from_u64(1);
///
/// let mut keygen = KeyGen::new(KeySize::Bits2048);
/// let key = loop {
///     if let Some(key) = keygen.step(&mut rng) {
///         break key;
///     }
///     // Show keygen.progress(), or yield to the event loop.
/// };
/// assert_eq!(key.bits(), 2048);
/// ```
pub struct KeyGen {
    size: KeySize,
    primes: Vec<BoxedUint>,
    sieve: Option<SmallFactorsSieve<BoxedUint>>,
    candidates_tested: u64,
}

impl KeyGen {
    /// Starts generating a key of `size`.
    pub fn new(size: KeySize) -> Self {
        Self {
            size,
            primes: Vec::with_capacity(2),
            sieve: None,
            candidates_tested: 0,
        }
    }

    /// The size of the key being generated.
    pub fn size(&self) -> KeySize {
        self.size
    }

    /// How far generation has come.
    pub fn progress(&self) -> KeyGenProgress {
        KeyGenProgress {
            // At most two primes are ever held.
            primes_found: u8::try_from(self.primes.len()).unwrap_or(u8::MAX),
            candidates_tested: self.candidates_tested,
        }
    }

    /// Does one step of work; returns the key when it is complete.
    pub fn step(&mut self, rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Option<PrivateKey> {
        let prime_bits = self.prime_bits();
        let Some(sieve) = self.sieve.as_mut() else {
            // Start a new search from a random odd number with its top two bits set, so
            // that the product of two such primes has exactly the requested size.
            self.sieve = random_odd_integer::<BoxedUint, _>(rng, prime_bits, SetBits::TwoMsb)
                .ok()
                .and_then(|start| SmallFactorsSieve::new(start.get(), prime_bits, false).ok());
            return None;
        };
        let Some(candidate) = sieve.next() else {
            // The sieve ran out of its range: start again from a new random number.
            self.sieve = None;
            return None;
        };
        self.candidates_tested += 1;
        if !is_prime(Flavor::Any, &candidate) {
            return None;
        }
        self.sieve = None;
        if self.primes.first() == Some(&candidate) {
            return None;
        }
        self.primes.push(candidate);
        if self.primes.len() < 2 {
            return None;
        }
        let mut primes = std::mem::take(&mut self.primes);
        let q = primes.pop();
        let p = primes.pop();
        let (Some(p), Some(q)) = (p, q) else {
            return None;
        };
        // This fails when 65537 divides p-1 or q-1 (rarely); then both primes are dropped
        // and the search starts over, as `rsa` does.
        let key = rsa::PrivateKey::from_p_q(p, q, BoxedUint::from(PUBLIC_EXPONENT)).ok()?;
        if modulus_bits(key.as_public_key()) != self.size.bits() {
            return None;
        }
        Some(PrivateKey { inner: key })
    }

    fn prime_bits(&self) -> NonZeroU32 {
        match self.size {
            KeySize::Bits2048 => NonZeroU32::new(1024),
            KeySize::Bits3072 => NonZeroU32::new(1536),
            KeySize::Bits4096 => NonZeroU32::new(2048),
        }
        .unwrap_or(NonZeroU32::MIN)
    }
}

impl Drop for KeyGen {
    fn drop(&mut self) {
        self.primes.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl fmt::Debug for KeyGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyGen")
            .field("size", &self.size)
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rsa::traits::PrivateKeyParts;
    use std::sync::OnceLock;

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(2048);
            PrivateKey::generate(KeySize::Bits2048, &mut rng)
        })
    }

    #[test]
    fn key_size_rules() {
        assert_eq!(KeySize::try_from(2048).unwrap(), KeySize::Bits2048);
        assert_eq!(KeySize::try_from(3072).unwrap(), KeySize::Bits3072);
        assert_eq!(KeySize::try_from(4096).unwrap(), KeySize::Bits4096);
        assert_eq!(
            KeySize::try_from(1024).unwrap_err().to_string(),
            "RSA key of 1024 bits refused; at least 2048 bits are required"
        );
        assert!(matches!(
            KeySize::try_from(2049),
            Err(Error::UnsupportedKeySize { bits: 2049 })
        ));
        assert!(matches!(
            KeySize::try_from(8192),
            Err(Error::UnsupportedKeySize { bits: 8192 })
        ));
        assert_eq!(
            "big".parse::<KeySize>().unwrap_err().to_string(),
            "key size `big` is not a number of bits; choose 2048, 3072 or 4096"
        );
        assert_eq!(serde_json::to_string(&KeySize::Bits3072).unwrap(), "3072");
        assert!(serde_json::from_str::<KeySize>("1024").is_err());
        for size in KeySize::ALL {
            assert_eq!(size.to_string().parse::<KeySize>().unwrap(), size);
        }
    }

    #[test]
    fn generated_key_is_well_formed() {
        let key = key();
        assert_eq!(key.bits(), 2048);
        let rsa = key.rsa();
        rsa.validate().unwrap();
        assert_eq!(rsa.e(), &BoxedUint::from(PUBLIC_EXPONENT));
        assert_eq!(rsa.primes().len(), 2);
        assert_eq!(key.public_key(), rsa.to_public_key());
    }

    #[test]
    fn keygen_reports_progress() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(99);
        let mut keygen = KeyGen::new(KeySize::Bits2048);
        let mut reports = Vec::new();
        let key = loop {
            if let Some(key) = keygen.step(&mut rng) {
                break key;
            }
            reports.push(keygen.progress());
        };
        assert_eq!(key.bits(), 2048);
        assert!(reports.len() > 2, "{} steps", reports.len());
        assert!(reports.iter().any(|p| p.primes_found == 1));
        assert!(
            reports
                .windows(2)
                .all(|w| w[0].candidates_tested <= w[1].candidates_tested)
        );
        assert!(format!("{keygen:?}").contains("Bits2048"));
    }

    #[test]
    fn same_seed_same_key_other_seed_other_key() {
        let generate = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            PrivateKey::generate(KeySize::Bits2048, &mut rng).public_key()
        };
        assert_eq!(generate(2048), key().public_key());
        assert_ne!(generate(2049), key().public_key());
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", key());
        assert_eq!(text, "PrivateKey([redacted])");
    }

    #[test]
    fn pkcs8_round_trip() {
        let key = key();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = PrivateKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.rsa(), key.rsa());
        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(PrivateKey::from_pkcs8_der(&der).unwrap().rsa(), key.rsa());
        assert_eq!(
            PrivateKey::from_pem_or_der(pem.as_bytes()).unwrap().rsa(),
            key.rsa()
        );
        assert_eq!(PrivateKey::from_pem_or_der(&der).unwrap().rsa(), key.rsa());
    }

    #[test]
    fn pkcs1_is_accepted() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = key();
        let pem = key.rsa().to_pkcs1_pem(LineEnding::LF).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert_eq!(PrivateKey::from_pem(&pem).unwrap().rsa(), key.rsa());
        assert_eq!(PrivateKey::from_pkcs8_pem(&pem).unwrap().rsa(), key.rsa());
        let der = key.rsa().to_pkcs1_der().unwrap();
        assert_eq!(
            PrivateKey::from_der(der.as_bytes()).unwrap().rsa(),
            key.rsa()
        );
        assert_eq!(
            PrivateKey::from_pkcs1_der(der.as_bytes()).unwrap().rsa(),
            key.rsa()
        );
    }

    #[test]
    fn pem_among_other_blocks() {
        let pem = key().to_pkcs8_pem().unwrap();
        let text = format!(
            "Bag Attributes\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{}",
            pem.as_str()
        );
        assert_eq!(PrivateKey::from_pem(&text).unwrap().rsa(), key().rsa());
        let twice = format!("{}{}", pem.as_str(), pem.as_str());
        let message = PrivateKey::from_pem(&twice).unwrap_err().to_string();
        assert!(message.contains("2 private keys"), "{message}");
    }

    #[test]
    fn refusals() {
        let message = PrivateKey::from_pem("nothing").unwrap_err().to_string();
        assert!(
            message.contains("no `-----BEGIN PRIVATE KEY-----` block"),
            "{message}"
        );
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(
            PrivateKey::from_pem(encrypted),
            Err(Error::EncryptedPrivateKey)
        ));
        let ec = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let message = PrivateKey::from_pem(ec).unwrap_err().to_string();
        assert!(
            message.contains("`EC PRIVATE KEY` block is not supported"),
            "{message}"
        );
        assert!(matches!(
            PrivateKey::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            Err(Error::Pkcs8 { .. })
        ));
        // An Ed25519 PKCS#8 key (RFC 8410 example).
        let ed25519 = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20, 0xd4, 0xee, 0x72, 0xdb, 0xf9, 0x13, 0x58, 0x4a, 0xd5, 0xb6, 0xd8, 0xf1,
            0xf7, 0x69, 0xf8, 0xad, 0x3a, 0xfe, 0x7c, 0x28, 0xcb, 0xf1, 0xd4, 0xfb, 0xe0, 0x97,
            0xa8, 0x8f, 0x44, 0x75, 0x58, 0x42,
        ];
        let message = PrivateKey::from_der(&ed25519).unwrap_err().to_string();
        assert_eq!(
            message,
            "the private key uses the Ed25519 algorithm; only RSA keys are supported"
        );
    }

    proptest::proptest! {
        #[test]
        fn only_offered_sizes_are_accepted(bits in 0usize..10_000) {
            match KeySize::try_from(bits) {
                Ok(size) => {
                    proptest::prop_assert!([2048, 3072, 4096].contains(&bits));
                    proptest::prop_assert_eq!(size.bits(), bits);
                    proptest::prop_assert_eq!(size.to_string().parse::<KeySize>().unwrap(), size);
                }
                Err(Error::KeyTooSmall { bits: reported }) => {
                    proptest::prop_assert!(bits < 2048);
                    proptest::prop_assert_eq!(reported, bits);
                }
                Err(Error::UnsupportedKeySize { bits: reported }) => {
                    proptest::prop_assert!(bits > 2048 && ![3072, 4096].contains(&bits));
                    proptest::prop_assert_eq!(reported, bits);
                }
                Err(other) => proptest::prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn keys_are_zeroized_on_drop() {
        fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroize_on_drop::<rsa::PrivateKey>();
    }
}
