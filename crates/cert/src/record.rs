//! [`CertificateRecord`]: a certificate as Exchange's store keeps it, and the reuse rule
//! of setup step 1 ([`assess`], [`choose`]).

use std::fmt;

use time::OffsetDateTime;

use crate::certificate::Certificate;
use crate::key::MIN_KEY_BITS;
use crate::name::DnsName;
use crate::services::Services;

/// A certificate with what Exchange's store keeps beside it: its friendly name and the
/// services it is assigned to. No private key is inside: the caller stores keys
/// separately (PKCS#8 PEM, mode 0600).
///
/// Serde writes the certificate as PEM and reads PEM or base64 DER; names are camelCase.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRecord {
    /// The certificate.
    pub certificate: Certificate,
    /// The friendly name, e.g. `Exchange S2S OAuth`.
    pub friendly_name: String,
    /// The services the certificate is assigned to.
    pub services: Services,
}

impl CertificateRecord {
    /// Bundles a certificate with its friendly name and services.
    pub fn new(
        certificate: Certificate,
        friendly_name: impl Into<String>,
        services: Services,
    ) -> Self {
        Self {
            certificate,
            friendly_name: friendly_name.into(),
            services,
        }
    }
}

/// The verdict of [`assess`]: whether a certificate can be reused for OAuth, and every
/// reason why not.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    /// True when there is no reason against reuse.
    pub fits: bool,
    /// Every reason against reuse, in the order of the rule.
    pub reasons: Vec<Misfit>,
}

/// One reason why a certificate cannot be reused for OAuth. Its `Display` says what an
/// administrator can do about it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Misfit {
    /// None of the certificate's names is the organisation's domain.
    Domain {
        /// The organisation's domain.
        organisation: DnsName,
        /// The DNS names and subject common name of the certificate.
        names: Vec<String>,
    },
    /// The certificate is assigned to neither SMTP nor Federation.
    Services {
        /// The services it is assigned to.
        services: Services,
    },
    /// The RSA key is under 2048 bits.
    KeyTooSmall {
        /// The key size.
        bits: usize,
    },
    /// The key is not an RSA key.
    KeyNotRsa {
        /// The key algorithm.
        algorithm: String,
    },
    /// The friendly name lacks "OAuth".
    FriendlyName {
        /// The friendly name.
        friendly_name: String,
    },
    /// The certificate has expired.
    Expired {
        /// When it expired.
        #[serde(with = "time::serde::rfc3339")]
        not_after: OffsetDateTime,
    },
    /// The certificate is not valid yet.
    NotYetValid {
        /// When it becomes valid.
        #[serde(with = "time::serde::rfc3339")]
        not_before: OffsetDateTime,
    },
}

/// A date as `YYYY-MM-DD HH:MM:SS UTC`.
fn show_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain {
                organisation,
                names,
            } => {
                let names = if names.is_empty() {
                    "no DNS name".to_owned()
                } else {
                    names.join(", ")
                };
                write!(
                    f,
                    "the certificate is for {names}, not for the organisation's domain {organisation}; use a certificate whose subject or DNS names include {organisation}"
                )
            }
            Self::Services { services } => write!(
                f,
                "the certificate is assigned to {services}, which includes neither SMTP nor Federation; assign it to Federation"
            ),
            Self::KeyTooSmall { bits } => write!(
                f,
                "the certificate's RSA key is {bits} bits; at least {MIN_KEY_BITS} are required, so create a new certificate"
            ),
            Self::KeyNotRsa { algorithm } => write!(
                f,
                "the certificate's key is {algorithm}, not RSA; OAuth tokens need an RSA key of at least {MIN_KEY_BITS} bits"
            ),
            Self::FriendlyName { friendly_name } => write!(
                f,
                "the friendly name `{friendly_name}` does not contain \"OAuth\"; rename the certificate or create one named \"Exchange S2S OAuth\""
            ),
            Self::Expired { not_after } => write!(
                f,
                "the certificate expired on {}; create a new one",
                show_date(*not_after)
            ),
            Self::NotYetValid { not_before } => write!(
                f,
                "the certificate is not valid before {}; check the clock or wait until then",
                show_date(*not_before)
            ),
        }
    }
}

/// Whether the certificate of `record` can be reused as the OAuth certificate of
/// `organisation` at `now`, with every reason why not:
///
/// - one of its DNS names or its subject common name is the organisation's domain, or a
///   wildcard covering it;
/// - its services include SMTP or Federation;
/// - its key is RSA of at least 2048 bits;
/// - its friendly name contains "OAuth" (in any case);
/// - it is valid at `now`.
pub fn assess(
    record: &CertificateRecord,
    organisation: &DnsName,
    now: OffsetDateTime,
) -> Assessment {
    let certificate = &record.certificate;
    let mut reasons = Vec::new();

    let mut names: Vec<String> = certificate.dns_names().to_vec();
    if let Some(cn) = certificate.subject_common_name()
        && !names.iter().any(|name| name.eq_ignore_ascii_case(cn))
    {
        names.push(cn.to_owned());
    }
    if !names.iter().any(|name| organisation.is_matched_by(name)) {
        reasons.push(Misfit::Domain {
            organisation: organisation.clone(),
            names,
        });
    }

    if !record
        .services
        .intersects(Services::SMTP | Services::FEDERATION)
    {
        reasons.push(Misfit::Services {
            services: record.services,
        });
    }

    if certificate.key_algorithm() == "RSA" {
        match certificate.key_bits() {
            Some(bits) if bits >= MIN_KEY_BITS => {}
            bits => reasons.push(Misfit::KeyTooSmall {
                bits: bits.unwrap_or(0),
            }),
        }
    } else {
        reasons.push(Misfit::KeyNotRsa {
            algorithm: certificate.key_algorithm().to_owned(),
        });
    }

    if !record.friendly_name.to_lowercase().contains("oauth") {
        reasons.push(Misfit::FriendlyName {
            friendly_name: record.friendly_name.clone(),
        });
    }

    if now > certificate.not_after() {
        reasons.push(Misfit::Expired {
            not_after: certificate.not_after(),
        });
    } else if now < certificate.not_before() {
        reasons.push(Misfit::NotYetValid {
            not_before: certificate.not_before(),
        });
    }

    Assessment {
        fits: reasons.is_empty(),
        reasons,
    }
}

/// Picks, among `records`, the one that fits (see [`assess`]) and expires last.
pub fn choose<'a>(
    records: impl IntoIterator<Item = &'a CertificateRecord>,
    organisation: &DnsName,
    now: OffsetDateTime,
) -> Option<&'a CertificateRecord> {
    records
        .into_iter()
        .filter(|record| assess(record, organisation, now).fits)
        .max_by_key(|record| record.certificate.not_after())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_show_in_utc() {
        assert_eq!(
            show_date(datetime!(2030-01-02 03:04:05 +09:00)),
            "2030-01-01 18:04:05 UTC"
        );
    }

    #[test]
    fn misfit_messages_are_actionable() {
        let org: DnsName = "contoso.com".parse().unwrap();
        let message = Misfit::Domain {
            organisation: org,
            names: vec!["fabrikam.com".to_owned()],
        }
        .to_string();
        assert!(
            message.contains("for fabrikam.com, not for the organisation's domain contoso.com"),
            "{message}"
        );
        let message = Misfit::Services {
            services: Services::IIS | Services::IMAP,
        }
        .to_string();
        assert!(message.contains("assigned to IMAP, IIS"), "{message}");
        assert!(
            Misfit::KeyTooSmall { bits: 1024 }
                .to_string()
                .contains("1024 bits; at least 2048")
        );
        assert!(
            Misfit::FriendlyName {
                friendly_name: "Web".to_owned()
            }
            .to_string()
            .contains("`Web` does not contain \"OAuth\"")
        );
        let message = Misfit::Expired {
            not_after: datetime!(2020-05-01 0:00 UTC),
        }
        .to_string();
        assert!(
            message.contains("expired on 2020-05-01 00:00:00 UTC"),
            "{message}"
        );
    }

    #[test]
    fn misfits_serialise_with_their_kind() {
        let json = serde_json::to_string(&Misfit::KeyTooSmall { bits: 1024 }).unwrap();
        assert_eq!(json, r#"{"kind":"keyTooSmall","bits":1024}"#);
        let json = serde_json::to_string(&Misfit::Expired {
            not_after: datetime!(2020-05-01 0:00 UTC),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"kind":"expired","notAfter":"2020-05-01T00:00:00Z"}"#
        );
    }
}
