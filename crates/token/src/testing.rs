//! A table of bad tokens, for the tests of every verifier (feature `testing`).
//!
//! [`bad_token_cases`] derives, from one signer and one set of claims that a verifier
//! accepts, tokens that it must refuse, each with the [`VerifyError::code`] expected from
//! [`verify`](crate::verify::verify). The HTTP tests of the token service reuse it to
//! check that the same tokens are refused over the wire.
//!
//! [`VerifyError::code`]: crate::verify::VerifyError::code

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::jwt::{self, Alg, Claims, Header};
use crate::principal::{Guid, Principal};
use crate::signer::Signer;
use crate::{Error, b64};

/// One bad token and the verdict it must get.
#[derive(Clone, Debug)]
pub struct BadTokenCase {
    /// What is wrong with it, for test output.
    pub name: &'static str,
    /// The token.
    pub token: String,
    /// The [`VerifyError::code`](crate::verify::VerifyError::code) a verifier returns.
    pub expected: &'static str,
}

/// A principal id that no test configuration trusts.
const STRANGER: Guid = Guid::from_u128(0x0bad0bad_0bad_4bad_8bad_0bad0bad0bad);

/// Bad variants of a good token.
///
/// `good` must be claims that a verifier accepts at `now` with the signer's certificate
/// in its key set; its `nbf..exp` must contain `now`, and the verifier's leeway must be
/// under one day and its size limit the default 16 KiB. The cases are: `alg` `none`;
/// `HS256` with the public key (SubjectPublicKeyInfo DER) as the HMAC secret; an unknown
/// `x5t`; expired; not yet valid; wrong audience; wrong issuer; claims changed after
/// signing; signature changed; truncated (no signature segment); oversize; not base64url.
///
/// # Errors
/// [`Error::Sign`] if signing fails.
pub fn bad_token_cases(
    signer: &dyn Signer,
    good: &Claims,
    now: i64,
) -> Result<Vec<BadTokenCase>, Error> {
    const DAY: i64 = 86_400;
    let signed = |claims: &Claims| jwt::encode_signed(claims, signer).map(|t| t.into_string());
    let with_header = |header: &Header, claims: &Claims| -> Result<String, Error> {
        let mut text = jwt::signing_input(header, claims);
        let signature = signer.sign(text.as_bytes())?;
        text.push('.');
        text.push_str(&b64::encode(&signature));
        Ok(text)
    };
    let good_token = signed(good)?;
    let (signing_input, signature) = good_token.rsplit_once('.').unwrap_or((&good_token, ""));
    let (header_segment, _) = signing_input.split_once('.').unwrap_or((signing_input, ""));
    let mut cases = Vec::new();
    let mut add = |name, token, expected| {
        cases.push(BadTokenCase {
            name,
            token,
            expected,
        });
    };

    let mut header = Header::rs256(signer.x5t());
    header.alg = Alg::None;
    add(
        "alg none",
        format!("{}.", jwt::signing_input(&header, good)),
        "alg_none",
    );

    header.alg = Alg::from("HS256");
    let secret = public_key_der(signer);
    let input = jwt::signing_input(&header, good);
    let mac = hmac_sha256(&secret, input.as_bytes());
    add(
        "HS256 keyed with the public key",
        format!("{input}.{}", b64::encode(&mac)),
        "symmetric_alg",
    );

    let stranger = pushproxy_cert::Thumbprint::of_der(b"a certificate nobody uploaded");
    add(
        "unknown x5t",
        with_header(&Header::rs256(stranger.x5t()), good)?,
        "unknown_key",
    );

    let mut claims = good.clone();
    (claims.nbf, claims.exp) = (now - 2 * DAY, now - DAY);
    add("expired", signed(&claims)?, "expired");

    let mut claims = good.clone();
    (claims.nbf, claims.exp) = (now + DAY, now + DAY + 3600);
    add("not yet valid", signed(&claims)?, "not_yet_valid");

    let mut claims = good.clone();
    claims.aud.id = STRANGER;
    add("wrong audience", signed(&claims)?, "wrong_audience");

    let mut claims = good.clone();
    claims.iss = Principal::new(STRANGER, good.iss.realm);
    add("wrong issuer", signed(&claims)?, "wrong_issuer");

    let mut claims = good.clone();
    claims.exp = claims.exp.saturating_add(DAY);
    let forged = b64::encode(claims.to_json().as_bytes());
    add(
        "claims changed after signing",
        format!("{header_segment}.{forged}.{signature}"),
        "bad_signature",
    );

    let mut sig = b64::decode(signature).unwrap_or_default();
    if let Some(last) = sig.last_mut() {
        *last ^= 1;
    }
    add(
        "signature changed",
        format!("{signing_input}.{}", b64::encode(&sig)),
        "bad_signature",
    );

    add("truncated", signing_input.to_owned(), "truncated");

    let mut claims = good.clone();
    let padding = "x".repeat(jwt::DEFAULT_MAX_SIZE);
    claims.set_extra("padding", Value::String(padding))?;
    add("oversize", signed(&claims)?, "too_large");

    add(
        "not base64url",
        format!(
            "{header_segment}=.{}",
            &good_token[header_segment.len() + 1..]
        ),
        "not_base64url",
    );
    Ok(cases)
}

/// The signer's public key as SubjectPublicKeyInfo DER: what a confused verifier would
/// use as an HMAC secret.
fn public_key_der(signer: &dyn Signer) -> Vec<u8> {
    use rsa::pkcs8::EncodePublicKey;
    signer
        .public_key()
        .to_public_key_der()
        .map(|doc| doc.as_bytes().to_vec())
        .unwrap_or_default()
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(Sha256::digest(key).as_slice());
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{Audience, Realm, well_known};
    use crate::signer::test_keys;
    use crate::verify::{KeySet, Validation, verify};

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn every_case_gets_its_verdict() {
        let now = 1_767_225_600;
        let realm = Realm::Tenant(Guid::from_u128(0x4d2a1b3c_0000_4000_8000_00000000abcd));
        let aud = Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().unwrap(),
            realm,
        );
        let iss = Principal::new(well_known::EXCHANGE, realm);
        let good = Claims::new(aud.clone(), iss, iss.to_string(), now - 10, now + 3600);
        let mut keys = KeySet::new();
        keys.insert_parts(test_keys::FAKE_DER, test_keys::key().to_public_key())
            .unwrap();
        let validation = Validation::new(aud, iss);
        let signer = test_keys::rust_crypto();
        assert!(
            verify(
                jwt::encode_signed(&good, &signer).unwrap().as_str(),
                &keys,
                &validation,
                now
            )
            .is_ok()
        );
        let cases = bad_token_cases(&signer, &good, now).unwrap();
        assert_eq!(cases.len(), 12);
        for case in cases {
            let verdict = verify(&case.token, &keys, &validation, now)
                .map(|_| ())
                .map_err(|e| e.code());
            assert_eq!(verdict, Err(case.expected), "{}", case.name);
        }
    }
}
