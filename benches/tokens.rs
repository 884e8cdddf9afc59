//! Tokens: minting the actor token with each signing backend, against the raw RSA signature
//! it cannot beat and against `jsonwebtoken`, what a user would pick instead; the cached-token
//! lookup; and verifying a token against the raw signature check.
//!
//! Every comparison uses one RSA-2048 key and one certificate, generated at the start from a
//! fixed seed.
//!
//! - `mint/<backend>`: `ActorToken::mint` (claims, JSON, base64url, sign, base64url).
//! - `raw sign/<backend>`: one RSASSA-PKCS1-v1_5 SHA-256 signature of a signing input of the
//!   same length, calling the library directly with a key parsed once (`rsa`'s
//!   `pkcs1v15::SigningKey`, aws-lc-rs's `RsaKeyPair`): the floor a mint can approach.
//! - `jsonwebtoken/...`: `jsonwebtoken::encode` (aws-lc-rs provider) of the same header and
//!   claims as a plain serde struct built per call: the same claims segment and length, the
//!   header's members in another order (checked, and the token verifies). Two ways of holding the key: the `EncodingKey` made once at start-up (what a
//!   typical user does) and made per call with `EncodingKey::from_rsa_der` (cheap: it copies
//!   the DER). In both cases jsonwebtoken 10 parses the DER into an aws-lc `RsaKeyPair` inside
//!   every `encode`; that parse, which checks the key, is what the mint saves by holding a
//!   parsed key. (`from_rsa_pem` needs jsonwebtoken's `use_pem` feature, which the workspace
//!   leaves off.)
//! - `cache/fresh`: `TokenCache::get` of a fresh token among 1000 tenants.
//! - `verify/<backend>`: `verify` with every check (size, base64url, JSON, alg, key by `x5t`,
//!   signature, times, audience, issuer); `raw verify/<backend>`: the signature check alone
//!   with a parsed public key, from the signature's bytes.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Report, Side, interleaved, keep};
use criterion::Criterion;
use pushproxy_cert::{Certificate, CertificateParams, KeySize, PrivateKey, self_signed};
use pushproxy_token::cache::{CacheKey, CachePolicy, Lookup, TokenCache};
use pushproxy_token::jwt::{self, Token};
use pushproxy_token::mint::{ActorToken, Lifetime};
use pushproxy_token::principal::{Audience, Guid, Principal, Realm, well_known};
use pushproxy_token::signer::{Backend, Signer};
use pushproxy_token::verify::{KeySet, Validation, verify};
use rand::SeedableRng;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use sha2::Sha256;

const NOW: i64 = 1_767_225_600;
const TENANT: &str = "4d2a1b3c-0000-4000-8000-00000000abcd";

/// The key, the certificate and everything derived from them.
struct Fixture {
    key: PrivateKey,
    certificate: Certificate,
    actor: ActorToken,
    audience: Audience,
    issuer: Principal,
    signers: Vec<Box<dyn Signer>>,
}

impl Fixture {
    fn new() -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2048);
        let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
        let params = CertificateParams::new(
            "contoso.com".parse().unwrap(),
            time::OffsetDateTime::from_unix_timestamp(NOW - 86_400).unwrap(),
        );
        let certificate = self_signed(&params, &key, &mut rng).unwrap();
        let realm = Realm::Tenant(TENANT.parse().unwrap());
        let audience = Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            realm,
        );
        let signers = Backend::ALL
            .into_iter()
            .filter(|b| b.is_available())
            .map(|b| b.signer(&certificate, &key).unwrap())
            .collect();
        Self {
            actor: ActorToken::new(audience.clone(), Lifetime::ONE_HOUR),
            issuer: Principal::new(well_known::EXCHANGE, realm),
            audience,
            key,
            certificate,
            signers,
        }
    }

    fn mint(&self, signer: &dyn Signer, now: i64) -> Token {
        self.actor.mint(signer, now).unwrap().token
    }
}

/// The actor token's claims as a jsonwebtoken user would write them: a serde struct with the
/// profile's string times, members in the order serde_json's map writes ours.
#[derive(serde::Serialize)]
struct PlainClaims {
    aud: String,
    exp: String,
    iss: String,
    nameid: String,
    nbf: String,
    trustedfordelegation: &'static str,
}

/// `jsonwebtoken::encode` of the actor token, the claims built per call from `now`.
struct Jwt {
    header: jsonwebtoken::Header,
    key: jsonwebtoken::EncodingKey,
    der: Vec<u8>,
    audience: String,
    issuer: String,
}

impl Jwt {
    fn new(fixture: &Fixture) -> Self {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.typ = Some("JWT".to_owned());
        header.x5t = Some(fixture.certificate.x5t());
        let der = fixture
            .key
            .rsa()
            .to_pkcs1_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        Self {
            header,
            key: jsonwebtoken::EncodingKey::from_rsa_der(&der),
            der,
            audience: fixture.audience.to_string(),
            issuer: fixture.issuer.to_string(),
        }
    }

    fn claims(&self, now: i64) -> PlainClaims {
        PlainClaims {
            aud: self.audience.clone(),
            exp: (now + Lifetime::ONE_HOUR.as_secs()).to_string(),
            iss: self.issuer.clone(),
            nameid: self.issuer.clone(),
            nbf: now.to_string(),
            trustedfordelegation: "false",
        }
    }

    fn encode_held(&self, now: i64) -> String {
        jsonwebtoken::encode(&self.header, &self.claims(now), &self.key).unwrap()
    }

    fn encode_key_per_call(&self, now: i64) -> String {
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&self.der);
        jsonwebtoken::encode(&self.header, &self.claims(now), &key).unwrap()
    }
}

/// Direct calls into the signing libraries, keys parsed once.
struct RawSigners {
    rust_crypto: rsa::pkcs1v15::SigningKey<Sha256>,
    aws_lc: aws_lc_rs::signature::RsaKeyPair,
    rng: aws_lc_rs::rand::SystemRandom,
}

impl RawSigners {
    fn new(key: &PrivateKey) -> Self {
        let der = key.rsa().to_pkcs1_der().unwrap();
        Self {
            rust_crypto: rsa::pkcs1v15::SigningKey::new(key.rsa().clone()),
            aws_lc: aws_lc_rs::signature::RsaKeyPair::from_der(der.as_bytes()).unwrap(),
            rng: aws_lc_rs::rand::SystemRandom::new(),
        }
    }

    fn sign(&self, backend: Backend, message: &[u8]) -> Vec<u8> {
        match backend {
            Backend::RustCrypto => {
                use signature::{SignatureEncoding, Signer as _};
                self.rust_crypto.try_sign(message).unwrap().to_vec()
            }
            Backend::AwsLc => {
                let mut signature = vec![0; self.aws_lc.public_modulus_len()];
                self.aws_lc
                    .sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &self.rng,
                        message,
                        &mut signature,
                    )
                    .unwrap();
                signature
            }
        }
    }
}

/// Direct signature checks, public keys parsed once.
struct RawVerifiers {
    rust_crypto: rsa::pkcs1v15::VerifyingKey<Sha256>,
    aws_lc: aws_lc_rs::signature::ParsedPublicKey,
}

impl RawVerifiers {
    fn new(key: &PrivateKey) -> Self {
        let public = key.public_key();
        let der = public.to_pkcs1_der().unwrap();
        Self {
            aws_lc: aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                der.as_bytes(),
            )
            .unwrap(),
            rust_crypto: rsa::pkcs1v15::VerifyingKey::new(public),
        }
    }

    fn verify(&self, backend: Backend, message: &[u8], signature: &[u8]) -> bool {
        match backend {
            Backend::RustCrypto => {
                use signature::Verifier as _;
                rsa::pkcs1v15::Signature::try_from(signature)
                    .and_then(|s| self.rust_crypto.verify(message, &s))
                    .is_ok()
            }
            Backend::AwsLc => self.aws_lc.verify_sig(message, signature).is_ok(),
        }
    }
}

/// A verification case: the token, its parts, and a key set per backend.
struct VerifyCase {
    token: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    keys: Vec<(Backend, KeySet)>,
    validation: Validation,
}

impl VerifyCase {
    fn new(fixture: &Fixture) -> Self {
        use base64ct::{Base64UrlUnpadded, Encoding};
        let token = fixture.mint(fixture.signers[0].as_ref(), NOW).into_string();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let keys = fixture
            .signers
            .iter()
            .map(|s| {
                let mut set = KeySet::with_backend(s.backend()).unwrap();
                set.insert(&fixture.certificate).unwrap();
                (s.backend(), set)
            })
            .collect();
        Self {
            signing_input: signing_input.as_bytes().to_vec(),
            signature: Base64UrlUnpadded::decode_vec(signature).unwrap(),
            token,
            keys,
            validation: Validation::new(fixture.audience.clone(), fixture.issuer),
        }
    }
}

fn cache_key(n: u128) -> CacheKey {
    let tenant = Guid::from_u128(n);
    CacheKey {
        tenant,
        resource: Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            Realm::Tenant(tenant),
        ),
    }
}

/// A cache of 1000 tenants' tokens, each a real minted token's length.
fn filled_cache(token: &Token) -> TokenCache {
    let mut cache = TokenCache::new(CachePolicy::default());
    for n in 0..1000 {
        cache.insert(cache_key(n), token.clone(), NOW + 3600);
    }
    cache
}

fn fresh_len(cache: &mut TokenCache, key: &CacheKey, now: i64) -> usize {
    match cache.get(black_box(key), black_box(now)) {
        Lookup::Fresh(token) => token.len(),
        _ => 0,
    }
}

fn check_fixture(fixture: &Fixture, jwt: &Jwt, raw: &RawSigners, case: &VerifyCase) {
    let reference = fixture.mint(fixture.signers[0].as_ref(), NOW);
    for signer in &fixture.signers {
        assert_eq!(
            fixture.mint(signer.as_ref(), NOW),
            reference,
            "backends disagree"
        );
        assert_eq!(
            raw.sign(signer.backend(), &case.signing_input),
            case.signature,
            "raw signature differs from the token's"
        );
    }
    // Same claims segment and length; the header has the same members in another order
    // (jsonwebtoken writes `typ` first), and the verifier accepts both tokens.
    let segment = |token: &str| token.split('.').nth(1).unwrap().to_owned();
    for theirs in [jwt.encode_held(NOW), jwt.encode_key_per_call(NOW)] {
        assert_eq!(
            segment(&theirs),
            segment(reference.as_str()),
            "jsonwebtoken claims differ"
        );
        assert_eq!(theirs.len(), reference.len());
        for (_, keys) in &case.keys {
            verify(&case.token, keys, &case.validation, NOW).unwrap();
            verify(&theirs, keys, &case.validation, NOW).unwrap();
        }
    }
}

fn criterion_benches(c: &mut Criterion, fixture: &Fixture) {
    let jwt = Jwt::new(fixture);
    let raw = RawSigners::new(&fixture.key);
    let verifiers = RawVerifiers::new(&fixture.key);
    let case = VerifyCase::new(fixture);

    let mut group = c.benchmark_group("tokens/sign");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    for signer in &fixture.signers {
        let backend = signer.backend();
        group.bench_function(format!("mint/{backend}"), |b| {
            b.iter(|| fixture.mint(signer.as_ref(), black_box(NOW)))
        });
        group.bench_function(format!("raw sign/{backend}"), |b| {
            b.iter(|| raw.sign(backend, black_box(&case.signing_input)))
        });
    }
    group.bench_function("jsonwebtoken/key held", |b| {
        b.iter(|| jwt.encode_held(black_box(NOW)))
    });
    group.bench_function("jsonwebtoken/key per call", |b| {
        b.iter(|| jwt.encode_key_per_call(black_box(NOW)))
    });
    group.finish();

    let mut group = c.benchmark_group("tokens/cache");
    let mut cache = filled_cache(&Token::new(case.token.clone()));
    let probe = cache_key(500);
    group.bench_function("fresh (1000 tenants)", |b| {
        b.iter(|| fresh_len(&mut cache, &probe, NOW))
    });
    group.finish();

    let mut group = c.benchmark_group("tokens/verify");
    group.sample_size(30);
    for (backend, keys) in &case.keys {
        group.bench_function(format!("verify/{backend}"), |b| {
            b.iter(|| verify(black_box(&case.token), keys, &case.validation, NOW).unwrap())
        });
        group.bench_function(format!("raw verify/{backend}"), |b| {
            b.iter(|| {
                assert!(verifiers.verify(
                    *backend,
                    black_box(&case.signing_input),
                    black_box(&case.signature)
                ))
            })
        });
    }
    group.finish();
}

fn key_name(backend: Backend) -> &'static str {
    match backend {
        Backend::RustCrypto => "rustcrypto",
        Backend::AwsLc => "awslc",
    }
}

/// The interleaved pass: the numbers of the summary.
fn ratios(fixture: &Fixture, report: &mut Report) {
    let jwt = Jwt::new(fixture);
    let raw = RawSigners::new(&fixture.key);
    let verifiers = RawVerifiers::new(&fixture.key);
    let case = VerifyCase::new(fixture);
    let (rounds, slice) = (11, Duration::from_millis(300));

    for signer in &fixture.signers {
        let backend = signer.backend();
        let name = key_name(backend);
        let mut sides = [
            Side::new(
                "mint",
                keep(|| fixture.mint(signer.as_ref(), black_box(NOW))),
            ),
            Side::new(
                "raw",
                keep(|| raw.sign(backend, black_box(&case.signing_input))),
            ),
            Side::new("jwt held", keep(|| jwt.encode_held(black_box(NOW)))),
            Side::new(
                "jwt per call",
                keep(|| jwt.encode_key_per_call(black_box(NOW))),
            ),
        ];
        let t = interleaved(rounds, slice, &mut sides);
        report.add(
            format!("mint.{name}.ns"),
            t[0],
            "ns",
            format!("mint actor token, {backend}"),
        );
        report.add(
            format!("raw_sign.{name}.ns"),
            t[1],
            "ns",
            format!("raw RSA-2048 sign, {backend}"),
        );
        report.add(
            format!("jwt_held.{name}.ns"),
            t[2],
            "ns",
            format!("jsonwebtoken, key held (measured beside {backend})"),
        );
        report.add(
            format!("jwt_per_call.{name}.ns"),
            t[3],
            "ns",
            format!("jsonwebtoken, key per call (measured beside {backend})"),
        );
    }

    // The parts around the signature, alone: what a mint adds to it (claims, header and
    // claims JSON, base64url) and what a verification adds (base64url, JSON, typed claims).
    let mut cache = filled_cache(&Token::new(case.token.clone()));
    let probe = cache_key(500);
    let x5t = fixture.signers[0].x5t().to_owned();
    let t = interleaved(
        rounds,
        Duration::from_millis(150),
        &mut [
            Side::new("cache", keep(|| fresh_len(&mut cache, &probe, NOW))),
            Side::new(
                "encode",
                keep(|| {
                    let claims = fixture.actor.claims(black_box(NOW)).unwrap();
                    jwt::signing_input(&jwt::Header::rs256(x5t.as_str()), &claims)
                }),
            ),
            Side::new(
                "decode",
                keep(|| jwt::decode(black_box(&case.token), jwt::DEFAULT_MAX_SIZE).unwrap()),
            ),
        ],
    );
    report.add(
        "cache_fresh.ns",
        t[0],
        "ns",
        "cached token lookup (fresh, 1000 tenants)",
    );
    report.add(
        "encode.ns",
        t[1],
        "ns",
        "mint without signing: claims, JSON, base64url",
    );
    report.add(
        "decode.ns",
        t[2],
        "ns",
        "jwt::decode: base64url, JSON, typed claims (no signature check)",
    );

    for (backend, keys) in &case.keys {
        let name = key_name(*backend);
        let mut sides = [
            Side::new(
                "verify",
                keep(|| verify(black_box(&case.token), keys, &case.validation, NOW).unwrap()),
            ),
            Side::new(
                "raw",
                keep(|| {
                    verifiers.verify(
                        *backend,
                        black_box(&case.signing_input),
                        black_box(&case.signature),
                    )
                }),
            ),
        ];
        let t = interleaved(rounds, Duration::from_millis(150), &mut sides);
        report.add(
            format!("verify.{name}.ns"),
            t[0],
            "ns",
            format!("verify token, {backend}"),
        );
        report.add(
            format!("raw_verify.{name}.ns"),
            t[1],
            "ns",
            format!("raw RSA-2048 verify, {backend}"),
        );
    }
    report.add(
        "token.bytes",
        case.token.len() as f64,
        "B",
        "actor token length",
    );
    report.add("key.bits", fixture.key.bits() as f64, "bit", "RSA key size");
}

fn main() {
    let fixture = Fixture::new();
    {
        let jwt = Jwt::new(&fixture);
        let raw = RawSigners::new(&fixture.key);
        let case = VerifyCase::new(&fixture);
        check_fixture(&fixture, &jwt, &raw, &case);
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    criterion_benches(&mut criterion, &fixture);
    criterion.final_summary();
    if common::ratios_wanted() {
        let mut report = Report::new("tokens");
        report.add_clock();
        ratios(&fixture, &mut report);
        report.finish();
    }
}
