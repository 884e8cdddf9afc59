//! The reuse rule of setup step 1, the record and the credential of step 3, on
//! generated certificates.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::{NOW, key, rng};
use proptest::prelude::*;
use pushproxy_cert::{
    Certificate, CertificateParams, CertificateRecord, Credential, DnsName, Misfit, Services,
    assess, choose, create, self_signed,
};
use time::Duration;
use time::macros::datetime;

fn domain(name: &str) -> DnsName {
    name.parse().unwrap()
}

/// A certificate for `name`, valid for `days` from `NOW`.
fn certificate(name: &str, days: i64) -> Certificate {
    let mut params = CertificateParams::new(domain(name), NOW);
    params.validity = Duration::days(days);
    self_signed(&params, key(), &mut rng(days as u64)).unwrap()
}

fn contoso() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| certificate("contoso.com", 365))
}

fn fabrikam() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| certificate("fabrikam.com", 365))
}

fn record(certificate: &Certificate, friendly: &str, services: Services) -> CertificateRecord {
    CertificateRecord::new(certificate.clone(), friendly, services)
}

#[test]
fn a_fresh_certificate_fits() {
    let (key, rec) = create(
        &CertificateParams::new(domain("contoso.com"), NOW),
        &mut rng(9),
    )
    .unwrap();
    assert!(rec.certificate.matches_key(&key));
    assert_eq!(rec.friendly_name, "Exchange S2S OAuth");
    assert_eq!(rec.services, Services::FEDERATION);
    let verdict = assess(&rec, &domain("contoso.com"), NOW);
    assert!(verdict.fits, "{:?}", verdict.reasons);
    assert!(verdict.reasons.is_empty());
}

#[test]
fn every_reason_is_listed() {
    let rec = record(fabrikam(), "Web server", Services::IIS);
    let later = NOW + Duration::days(400);
    let verdict = assess(&rec, &domain("contoso.com"), later);
    assert!(!verdict.fits);
    let kinds: Vec<&str> = verdict
        .reasons
        .iter()
        .map(|reason| match reason {
            Misfit::Domain { .. } => "domain",
            Misfit::Services { .. } => "services",
            Misfit::FriendlyName { .. } => "friendly name",
            Misfit::Expired { .. } => "expired",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["domain", "services", "friendly name", "expired"]);
    let messages: Vec<String> = verdict.reasons.iter().map(ToString::to_string).collect();
    assert!(messages[0].contains("fabrikam.com"), "{}", messages[0]);
    assert!(messages[1].contains("assigned to IIS"), "{}", messages[1]);
    assert!(
        messages[3].contains("expired on 2026-03-01"),
        "{}",
        messages[3]
    );
}

#[test]
fn smtp_alone_is_enough_and_oauth_in_any_case() {
    let rec = record(contoso(), "my oauth cert", Services::SMTP | Services::IIS);
    assert!(assess(&rec, &domain("contoso.com"), NOW).fits);
    let rec = record(contoso(), "Exchange S2S OAUTH", Services::FEDERATION);
    assert!(assess(&rec, &domain("contoso.com"), NOW).fits);
}

#[test]
fn not_yet_valid_is_a_reason() {
    let rec = record(contoso(), "OAuth", Services::FEDERATION);
    let verdict = assess(&rec, &domain("contoso.com"), NOW - Duration::seconds(1));
    assert_eq!(verdict.reasons, [Misfit::NotYetValid { not_before: NOW }]);
    // Both ends of the validity period are inside it.
    assert!(assess(&rec, &domain("contoso.com"), NOW).fits);
    assert!(assess(&rec, &domain("contoso.com"), rec.certificate.not_after()).fits);
    assert!(
        !assess(
            &rec,
            &domain("contoso.com"),
            rec.certificate.not_after() + Duration::seconds(1)
        )
        .fits
    );
}

#[test]
fn subdomain_certificates() {
    let mail = certificate("mail.contoso.com", 30);
    let rec = record(&mail, "OAuth", Services::FEDERATION);
    assert!(assess(&rec, &domain("mail.contoso.com"), NOW).fits);
    assert!(!assess(&rec, &domain("contoso.com"), NOW).fits);
}

#[test]
fn choose_picks_the_fitting_one_that_expires_last() {
    let short = record(
        &certificate("contoso.com", 30),
        "OAuth",
        Services::FEDERATION,
    );
    let long = record(&certificate("contoso.com", 900), "OAuth", Services::SMTP);
    let longest_but_unfit = record(&certificate("contoso.com", 1200), "Web", Services::IIS);
    let other = record(fabrikam(), "OAuth", Services::FEDERATION);
    let records = [short.clone(), long.clone(), longest_but_unfit, other];
    let chosen = choose(&records, &domain("contoso.com"), NOW).unwrap();
    assert_eq!(chosen, &long);
    // After the long one has expired nothing fits.
    assert!(choose(&records, &domain("contoso.com"), NOW + Duration::days(1000)).is_none());
    assert_eq!(
        choose(&records[..1], &domain("contoso.com"), NOW),
        Some(&short)
    );
    assert!(choose(&[], &domain("contoso.com"), NOW).is_none());
}

#[test]
fn record_serialises_with_pem_and_reads_base64_der() {
    let rec = record(contoso(), "Exchange S2S OAuth", Services::FEDERATION);
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(json["friendlyName"], "Exchange S2S OAuth");
    assert_eq!(json["services"], "Federation");
    assert_eq!(json["certificate"], contoso().to_pem());
    let back: CertificateRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, rec);
    let der_form = serde_json::json!({
        "certificate": contoso().to_base64_der(),
        "friendlyName": "x",
        "services": "SMTP, IIS",
    });
    let back: CertificateRecord = serde_json::from_value(der_form).unwrap();
    assert_eq!(back.certificate, *contoso());
    assert_eq!(back.services, Services::SMTP | Services::IIS);
    let broken = serde_json::json!({
        "certificate": "AAAA",
        "friendlyName": "x",
        "services": "SMTP",
    });
    assert!(serde_json::from_value::<CertificateRecord>(broken).is_err());
}

#[test]
fn credential_has_the_cloud_shape() {
    let credential = Credential::for_certificate(contoso());
    let json = serde_json::to_value(&credential).unwrap();
    assert_eq!(json["type"], "asymmetric");
    assert_eq!(json["usage"], "Verify");
    assert_eq!(json["value"], contoso().to_base64_der());
    assert_eq!(json["startDate"], "2025-03-01T12:00:00Z");
    assert_eq!(json["endDate"], "2026-03-01T12:00:00Z");
    assert_eq!(json.as_object().unwrap().len(), 5);
    let back: Credential = serde_json::from_value(json).unwrap();
    assert_eq!(back, credential);
    assert_eq!(back.certificate().unwrap(), *contoso());
    assert_eq!(credential.end_date, datetime!(2026-03-01 12:00:00 UTC));
}

#[test]
fn info_counts_days_down_and_negative_after_expiry() {
    let cert = contoso();
    assert_eq!(cert.info(NOW).days_left, 365);
    assert_eq!(cert.info(NOW + Duration::hours(1)).days_left, 364);
    assert_eq!(cert.info(cert.not_after()).days_left, 0);
    let expired = cert.info(cert.not_after() + Duration::seconds(1));
    assert_eq!(expired.days_left, -1);
    assert!(!expired.valid_now);
    let json = serde_json::to_value(cert.info(NOW)).unwrap();
    assert_eq!(json["thumbprint"], cert.thumbprint().to_string());
    assert_eq!(json["x5t"], cert.x5t());
    assert_eq!(json["notAfter"], "2026-03-01T12:00:00Z");
    assert_eq!(json["selfSigned"], true);
}

fn services() -> impl Strategy<Value = Services> {
    proptest::collection::vec(
        prop_oneof![
            Just(Services::NONE),
            Just(Services::IIS),
            Just(Services::SMTP),
            Just(Services::IMAP),
            Just(Services::POP),
            Just(Services::UM),
            Just(Services::FEDERATION),
            Just(Services::UM_CALL_ROUTER),
        ],
        0..4,
    )
    .prop_map(|flags| flags.into_iter().fold(Services::NONE, |a, b| a | b))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The verdict agrees with the rule computed independently, condition by condition.
    #[test]
    fn verdict_follows_the_rule(
        ours in any::<bool>(),
        services in services(),
        friendly in "[A-Za-z ]{0,12}",
        offset_days in -10i64..400,
    ) {
        let cert = if ours { contoso() } else { fabrikam() };
        let rec = record(cert, &friendly, services);
        let now = NOW + Duration::days(offset_days);
        let verdict = assess(&rec, &domain("contoso.com"), now);

        let domain_ok = ours;
        let services_ok = services.contains(Services::SMTP) || services.contains(Services::FEDERATION);
        let name_ok = friendly.to_ascii_lowercase().contains("oauth");
        let time_ok = (0..=365).contains(&offset_days);
        prop_assert_eq!(verdict.fits, domain_ok && services_ok && name_ok && time_ok);
        prop_assert_eq!(verdict.fits, verdict.reasons.is_empty());
        let has = |wanted: fn(&Misfit) -> bool| verdict.reasons.iter().any(wanted);
        prop_assert_eq!(has(|m| matches!(m, Misfit::Domain { .. })), !domain_ok);
        prop_assert_eq!(has(|m| matches!(m, Misfit::Services { .. })), !services_ok);
        prop_assert_eq!(has(|m| matches!(m, Misfit::FriendlyName { .. })), !name_ok);
        prop_assert_eq!(
            has(|m| matches!(m, Misfit::Expired { .. } | Misfit::NotYetValid { .. })),
            !time_ok
        );
        for reason in &verdict.reasons {
            prop_assert!(!reason.to_string().is_empty());
        }
    }
}
