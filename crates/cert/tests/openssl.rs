//! Certificates and keys checked by the real `openssl` command, and openssl's own
//! certificates and keys imported.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{NOW, key, other_key, rng};
use pushproxy_cert::{
    Certificate, CertificateParams, CertificateRecord, DnsName, Error, Misfit, PrivateKey,
    Services, Ski, Thumbprint, assess, self_signed,
};

/// Runs openssl with `args`, fails the test with its stderr when it fails, and returns
/// its stdout. A missing openssl fails the test with instructions: these tests must
/// never pass without it.
fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl").args(args).output().unwrap_or_else(|error| {
        panic!(
            "the `openssl` command is required by these tests but could not be run ({error}); install it (Debian: apt-get install openssl)"
        )
    });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Generated {
    _dir: tempfile::TempDir,
    cert: Certificate,
    ski: Ski,
    pem: PathBuf,
    der: PathBuf,
    key: PathBuf,
}

fn generated() -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let mut params = CertificateParams::new("contoso.com".parse().unwrap(), NOW);
    let ski = Ski::random(&mut rng(1));
    params.subject_key_identifier = Some(ski);
    let cert = self_signed(&params, key(), &mut rng(2)).unwrap();
    let pem = dir.path().join("cert.pem");
    let der = dir.path().join("OAuthCert.cer");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&pem, cert.to_pem()).unwrap();
    std::fs::write(&der, cert.der()).unwrap();
    std::fs::write(&key_path, key().to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    Generated {
        _dir: dir,
        cert,
        ski,
        pem,
        der,
        key: key_path,
    }
}

#[test]
fn sha1_fingerprint_equals_our_thumbprint() {
    let g = generated();
    // openssl 3.0 writes `sha1 Fingerprint=`, other versions `SHA1 Fingerprint=`.
    let out = openssl(&[
        "x509",
        "-in",
        path_str(&g.pem),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    let (label, colon_hex) = out.trim().split_once('=').unwrap();
    assert!(label.eq_ignore_ascii_case("SHA1 Fingerprint"), "{out}");
    assert_eq!(colon_hex, g.cert.thumbprint().to_colon_hex());
    assert_eq!(out.parse::<Thumbprint>().unwrap(), g.cert.thumbprint());
    let out = openssl(&[
        "x509",
        "-in",
        path_str(&g.pem),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    let (_, colon_hex) = out.trim().split_once('=').unwrap();
    assert_eq!(colon_hex, g.cert.sha256_thumbprint().to_colon_hex());
}

#[test]
fn openssl_verifies_the_self_signed_certificate() {
    let g = generated();
    let pem = path_str(&g.pem);
    // `-attime` pins the check to a moment inside the validity period.
    let at = (NOW.unix_timestamp() + 3600).to_string();
    let out = openssl(&["verify", "-attime", &at, "-CAfile", pem, pem]);
    assert_eq!(out.trim(), format!("{pem}: OK"));
}

#[test]
fn openssl_text_shows_the_requested_fields() {
    let g = generated();
    let text = openssl(&["x509", "-in", path_str(&g.pem), "-noout", "-text"]);
    let expect = |needle: &str| assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    expect("Version: 3 (0x2)");
    expect("Public-Key: (2048 bit)");
    expect("Exponent: 65537 (0x10001)");
    expect("Signature Algorithm: sha256WithRSAEncryption");
    expect("Subject: CN = contoso.com");
    expect("Issuer: CN = contoso.com");
    expect("DNS:contoso.com");
    expect("CA:FALSE");
    expect("Digital Signature, Key Encipherment");
    expect("Not Before: Mar  1 12:00:00 2025 GMT");
    expect("Not After : Mar  1 12:00:00 2030 GMT");
    // openssl prints the identifier as colon-separated upper-case hex pairs.
    let ski_line = text
        .lines()
        .skip_while(|line| !line.contains("X509v3 Subject Key Identifier"))
        .nth(1)
        .expect("no subject key identifier")
        .trim()
        .replace(':', "");
    assert_eq!(ski_line, g.ski.to_string());
    let serial = openssl(&["x509", "-in", path_str(&g.pem), "-noout", "-serial"]);
    assert_eq!(
        serial.trim(),
        format!("serial={}", g.cert.info(NOW).serial_number)
    );
}

#[test]
fn openssl_reads_the_der_form() {
    let g = generated();
    let pem = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path_str(&g.der),
        "-outform",
        "PEM",
    ]);
    assert_eq!(pem, g.cert.to_pem());
    let back = Certificate::from_pem_or_der(&std::fs::read(&g.der).unwrap()).unwrap();
    assert_eq!(back, g.cert);
}

#[test]
fn key_and_certificate_carry_the_same_public_key() {
    let g = generated();
    let from_key = openssl(&["pkey", "-in", path_str(&g.key), "-pubout"]);
    let from_cert = openssl(&["x509", "-in", path_str(&g.pem), "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);
    assert_eq!(from_key, key().public_key_pem().unwrap());
}

#[test]
fn openssl_reads_our_pkcs8_key() {
    let g = generated();
    let out = openssl(&["pkey", "-in", path_str(&g.key), "-check", "-noout"]);
    assert!(out.contains("Key is valid"), "{out}");
    let text = openssl(&["pkey", "-in", path_str(&g.key), "-noout", "-text"]);
    assert!(text.contains("Private-Key: (2048 bit, 2 primes)"), "{text}");
}

/// A key and self-signed certificate made by openssl itself.
struct OpensslMade {
    dir: tempfile::TempDir,
    key_pkcs8: PathBuf,
    cert_pem: PathBuf,
}

fn openssl_made(bits: u32) -> OpensslMade {
    let dir = tempfile::tempdir().unwrap();
    let key_pkcs8 = dir.path().join("key.pem");
    let cert_pem = dir.path().join("cert.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        &format!("rsa:{bits}"),
        "-nodes",
        "-keyout",
        path_str(&key_pkcs8),
        "-out",
        path_str(&cert_pem),
        "-days",
        "30",
        "-subj",
        "/CN=mail.contoso.com",
        "-addext",
        "subjectAltName=DNS:mail.contoso.com,DNS:*.contoso.com",
    ]);
    OpensslMade {
        dir,
        key_pkcs8,
        cert_pem,
    }
}

#[test]
fn imports_openssl_certificate_and_keys() {
    let made = openssl_made(2048);
    let cert = Certificate::from_pem(&std::fs::read_to_string(&made.cert_pem).unwrap()).unwrap();
    let der_path = made.dir.path().join("cert.cer");
    openssl(&[
        "x509",
        "-in",
        path_str(&made.cert_pem),
        "-outform",
        "DER",
        "-out",
        path_str(&der_path),
    ]);
    let der = std::fs::read(&der_path).unwrap();
    assert_eq!(Certificate::from_der(&der).unwrap(), cert);
    assert_eq!(Certificate::from_pem_or_der(&der).unwrap(), cert);

    let info = cert.info(time::OffsetDateTime::now_utc());
    assert_eq!(
        info.subject_common_name.as_deref(),
        Some("mail.contoso.com")
    );
    assert_eq!(info.dns_names, ["mail.contoso.com", "*.contoso.com"]);
    assert_eq!(info.key_bits, Some(2048));
    assert!(info.self_signed);
    assert!((28..=30).contains(&info.days_left), "{}", info.days_left);
    let fingerprint = openssl(&[
        "x509",
        "-in",
        path_str(&made.cert_pem),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    assert_eq!(
        fingerprint.parse::<Thumbprint>().unwrap(),
        cert.thumbprint()
    );

    // PKCS#8, as openssl 3 writes by default.
    let pkcs8_text = std::fs::read_to_string(&made.key_pkcs8).unwrap();
    assert!(pkcs8_text.contains("-----BEGIN PRIVATE KEY-----"));
    let pkcs8 = PrivateKey::from_pkcs8_pem(&pkcs8_text).unwrap();
    assert!(cert.matches_key(&pkcs8));
    cert.check_key(&pkcs8).unwrap();

    // PKCS#1, the traditional form.
    let pkcs1_path = made.dir.path().join("key-pkcs1.pem");
    openssl(&[
        "pkey",
        "-in",
        path_str(&made.key_pkcs8),
        "-traditional",
        "-out",
        path_str(&pkcs1_path),
    ]);
    let pkcs1_text = std::fs::read_to_string(&pkcs1_path).unwrap();
    assert!(
        pkcs1_text.contains("-----BEGIN RSA PRIVATE KEY-----"),
        "{pkcs1_text}"
    );
    let pkcs1 = PrivateKey::from_pem(&pkcs1_text).unwrap();
    assert!(cert.matches_key(&pkcs1));

    // DER keys.
    let der_key_path = made.dir.path().join("key.der");
    openssl(&[
        "pkey",
        "-in",
        path_str(&made.key_pkcs8),
        "-outform",
        "DER",
        "-out",
        path_str(&der_key_path),
    ]);
    let der_key = PrivateKey::from_pem_or_der(&std::fs::read(&der_key_path).unwrap()).unwrap();
    assert!(cert.matches_key(&der_key));

    // A certificate and its key in one file.
    let both = format!(
        "{pkcs1_text}{}",
        std::fs::read_to_string(&made.cert_pem).unwrap()
    );
    assert_eq!(Certificate::from_pem(&both).unwrap(), cert);
    assert!(cert.matches_key(&PrivateKey::from_pem(&both).unwrap()));
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let made = openssl_made(2048);
    let cert = Certificate::from_pem(&std::fs::read_to_string(&made.cert_pem).unwrap()).unwrap();
    assert!(!cert.matches_key(key()));
    assert!(matches!(
        cert.check_key(other_key()),
        Err(Error::KeyMismatch)
    ));
    let message = cert.check_key(key()).unwrap_err().to_string();
    assert!(
        message.contains("does not match the certificate"),
        "{message}"
    );
}

#[test]
fn a_1024_bit_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.pem");
    openssl(&["genrsa", "-out", path_str(&path), "1024"]);
    let text = std::fs::read_to_string(&path).unwrap();
    let error = PrivateKey::from_pem(&text).unwrap_err();
    assert!(
        matches!(error, Error::KeyTooSmall { bits: 1024 }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "RSA key of 1024 bits refused; at least 2048 bits are required"
    );
    let pkcs1 = dir.path().join("small-pkcs1.pem");
    openssl(&[
        "pkey",
        "-in",
        path_str(&path),
        "-traditional",
        "-out",
        path_str(&pkcs1),
    ]);
    let error = PrivateKey::from_pem(&std::fs::read_to_string(&pkcs1).unwrap()).unwrap_err();
    assert!(
        matches!(error, Error::KeyTooSmall { bits: 1024 }),
        "{error:?}"
    );
}

#[test]
fn a_certificate_with_a_1024_bit_key_is_read_but_reported() {
    let made = openssl_made(1024);
    let cert = Certificate::from_pem(&std::fs::read_to_string(&made.cert_pem).unwrap()).unwrap();
    assert_eq!(cert.key_bits(), Some(1024));
    assert!(cert.is_self_signed());
    let record = CertificateRecord::new(cert, "OAuth", Services::FEDERATION);
    let organisation: DnsName = "mail.contoso.com".parse().unwrap();
    let verdict = assess(&record, &organisation, time::OffsetDateTime::now_utc());
    assert_eq!(verdict.reasons, [Misfit::KeyTooSmall { bits: 1024 }]);
}

#[test]
fn a_wildcard_name_covers_one_label() {
    let made = openssl_made(2048);
    let cert = Certificate::from_pem(&std::fs::read_to_string(&made.cert_pem).unwrap()).unwrap();
    let record = CertificateRecord::new(cert, "Exchange S2S OAuth", Services::SMTP);
    let now = time::OffsetDateTime::now_utc();
    let fits = |domain: &str| assess(&record, &domain.parse().unwrap(), now).fits;
    assert!(fits("mail.contoso.com"));
    assert!(fits("owa.contoso.com"));
    assert!(!fits("contoso.com"));
    assert!(!fits("a.b.contoso.com"));
}

#[test]
fn an_encrypted_key_is_refused_with_advice() {
    let made = openssl_made(2048);
    let encrypted = made.dir.path().join("encrypted.pem");
    openssl(&[
        "pkey",
        "-in",
        path_str(&made.key_pkcs8),
        "-aes256",
        "-passout",
        "pass:secret",
        "-out",
        path_str(&encrypted),
    ]);
    let error = PrivateKey::from_pem(&std::fs::read_to_string(&encrypted).unwrap()).unwrap_err();
    assert!(matches!(error, Error::EncryptedPrivateKey), "{error:?}");
}

#[test]
fn a_certificate_signed_by_another_key_is_not_self_signed() {
    // A certificate whose issuer name equals its subject but whose signature was made
    // by a different key: openssl `x509 -req` with a foreign signing key.
    let made = openssl_made(2048);
    let dir = made.dir.path();
    let csr = dir.join("req.csr");
    openssl(&[
        "req",
        "-new",
        "-key",
        path_str(&made.key_pkcs8),
        "-subj",
        "/CN=mail.contoso.com",
        "-out",
        path_str(&csr),
    ]);
    let other_key_path = dir.join("other.pem");
    std::fs::write(
        &other_key_path,
        other_key().to_pkcs8_pem().unwrap().as_bytes(),
    )
    .unwrap();
    let issuer_cert = dir.join("issuer.pem");
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        path_str(&other_key_path),
        "-subj",
        "/CN=mail.contoso.com",
        "-days",
        "10",
        "-out",
        path_str(&issuer_cert),
    ]);
    let signed = dir.join("signed.pem");
    openssl(&[
        "x509",
        "-req",
        "-in",
        path_str(&csr),
        "-CA",
        path_str(&issuer_cert),
        "-CAkey",
        path_str(&other_key_path),
        "-CAcreateserial",
        "-days",
        "10",
        "-out",
        path_str(&signed),
    ]);
    let cert = Certificate::from_pem(&std::fs::read_to_string(&signed).unwrap()).unwrap();
    let info = cert.info(time::OffsetDateTime::now_utc());
    assert_eq!(info.issuer, info.subject);
    assert!(!info.self_signed);
    let issuer = Certificate::from_pem(&std::fs::read_to_string(&issuer_cert).unwrap()).unwrap();
    assert!(issuer.is_self_signed());
}
