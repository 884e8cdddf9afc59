//! [`AuthConfig`]: which certificate the built-in token issuer signs with.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Change, ConfigError, EXCHANGE_PRINCIPAL_ID, Guid, Message, Outcome, Thumbprint};

/// The configuration of the built-in token issuer, as `Get-AuthConfig` shows it.
///
/// The issuer signs with the *current* certificate. A rotation first announces a *next*
/// certificate with the date from which it takes over, then publishes it: the current one
/// becomes *previous* (still trusted for tokens it signed) and the next one current. Every
/// operation is idempotent and says what it did in an [`Outcome`].
///
/// The JSON form uses Exchange's field names (`CurrentCertificateThumbprint`, ...).
///
/// ```
/// use pushproxy_config::{AuthConfig, Change, Thumbprint};
///
/// let tp: Thumbprint = "7595DBDEA83DACB5757441D44899BCDB9911253C".parse()?;
/// let mut config = AuthConfig::default();
/// let outcome = config.set_current_certificate(tp);
/// assert_eq!(outcome.change, Change::Created);
/// assert_eq!(
///     outcome.messages[0].text,
///     "Configured Certificate Thumbprint is: 7595DBDEA83DACB5757441D44899BCDB9911253C"
/// );
/// assert_eq!(config.set_current_certificate(tp).change, Change::Unchanged);
/// # Ok::<(), pushproxy_config::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AuthConfig {
    /// The certificate the issuer signs with.
    #[serde(default)]
    pub current_certificate_thumbprint: Option<Thumbprint>,
    /// The certificate used before the last rotation, still trusted.
    #[serde(default)]
    pub previous_certificate_thumbprint: Option<Thumbprint>,
    /// The certificate that takes over at the next rotation.
    #[serde(default)]
    pub next_certificate_thumbprint: Option<Thumbprint>,
    /// When the next certificate takes over by itself ([`AuthConfig::roll_forward`]); without a
    /// date it takes over only when published by hand.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_certificate_effective_date: Option<OffsetDateTime>,
    /// The issuer's own principal id: Exchange's well-known id.
    #[serde(default = "exchange_principal")]
    pub service_name: Guid,
    /// The issuer's realm (the tenant id), once known.
    #[serde(default)]
    pub realm: Option<String>,
}

fn exchange_principal() -> Guid {
    EXCHANGE_PRINCIPAL_ID
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            current_certificate_thumbprint: None,
            previous_certificate_thumbprint: None,
            next_certificate_thumbprint: None,
            next_certificate_effective_date: None,
            service_name: EXCHANGE_PRINCIPAL_ID,
            realm: None,
        }
    }
}

impl AuthConfig {
    /// Makes `thumbprint` the current certificate (`Set-AuthConfig -CertificateThumbprint`).
    ///
    /// The certificate it replaces is *not* kept as previous (that is what a rotation through
    /// [`set_next_certificate`](Self::set_next_certificate) and
    /// [`publish_next_certificate`](Self::publish_next_certificate) is for). If `thumbprint` was
    /// the announced next certificate, the announcement is cleared. The outcome always ends
    /// with `Configured Certificate Thumbprint is: <thumbprint>`, as the original setup
    /// script prints.
    pub fn set_current_certificate(&mut self, thumbprint: Thumbprint) -> Outcome {
        let change = match self.current_certificate_thumbprint {
            Some(current) if current == thumbprint => Change::Unchanged,
            Some(_) => Change::Updated,
            None => Change::Created,
        };
        let mut outcome = Outcome::new(change);
        if change != Change::Unchanged {
            self.current_certificate_thumbprint = Some(thumbprint);
        }
        if self.next_certificate_thumbprint == Some(thumbprint) {
            self.next_certificate_thumbprint = None;
            self.next_certificate_effective_date = None;
            outcome.change = Change::Updated;
            outcome.messages.push(Message::info(format!(
                "Certificate {thumbprint} was the next certificate; it is current now and no next certificate is set."
            )));
        }
        outcome.messages.push(Message::info(format!(
            "Configured Certificate Thumbprint is: {thumbprint}"
        )));
        outcome
    }

    /// Announces the next certificate and when it takes over
    /// (`Set-AuthConfig -NewCertificateThumbprint -NewCertificateEffectiveDate`).
    ///
    /// Refuses the current certificate ([`ConfigError::NextIsCurrent`]). Setting the same
    /// thumbprint and date again is [`Change::Unchanged`].
    pub fn set_next_certificate(
        &mut self,
        thumbprint: Thumbprint,
        effective: OffsetDateTime,
    ) -> Result<Outcome, ConfigError> {
        if self.current_certificate_thumbprint == Some(thumbprint) {
            return Err(ConfigError::NextIsCurrent { thumbprint });
        }
        let change = match (
            self.next_certificate_thumbprint,
            self.next_certificate_effective_date,
        ) {
            (Some(next), Some(date)) if next == thumbprint && date == effective => {
                return Ok(Outcome::new(Change::Unchanged).with(Message::info(format!(
                    "Certificate {thumbprint} is already the next certificate, effective {}.",
                    rfc3339(effective)
                ))));
            }
            (None, _) => Change::Created,
            (Some(_), _) => Change::Updated,
        };
        self.next_certificate_thumbprint = Some(thumbprint);
        self.next_certificate_effective_date = Some(effective);
        Ok(Outcome::new(change).with(Message::info(format!(
            "Next certificate is {thumbprint}, effective {}.",
            rfc3339(effective)
        ))))
    }

    /// Publishes the next certificate now (`Set-AuthConfig -PublishCertificate`): the
    /// current one becomes previous, the next one current, and the next one is cleared.
    /// Without a next certificate nothing changes.
    pub fn publish_next_certificate(&mut self) -> Outcome {
        let Some(next) = self.next_certificate_thumbprint.take() else {
            return Outcome::new(Change::Unchanged).with(Message::info(
                "No next certificate is set; nothing to publish.",
            ));
        };
        self.next_certificate_effective_date = None;
        let mut outcome = Outcome::new(Change::Updated);
        if let Some(current) = self.current_certificate_thumbprint {
            self.previous_certificate_thumbprint = Some(current);
            outcome.messages.push(Message::info(format!(
                "Certificate {current} is the previous certificate now."
            )));
        }
        self.current_certificate_thumbprint = Some(next);
        outcome.messages.push(Message::info(format!(
            "Configured Certificate Thumbprint is: {next}"
        )));
        outcome
    }

    /// Forgets the previous certificate (`Set-AuthConfig -ClearPreviousCertificate`), so that
    /// tokens it signed are no longer trusted.
    pub fn clear_previous_certificate(&mut self) -> Outcome {
        match self.previous_certificate_thumbprint.take() {
            Some(previous) => Outcome::new(Change::Updated).with(Message::info(format!(
                "Previous certificate {previous} cleared."
            ))),
            None => Outcome::new(Change::Unchanged)
                .with(Message::info("No previous certificate is set.")),
        }
    }

    /// Publishes the next certificate if its effective date has come (`now >= date`);
    /// otherwise nothing changes. A next certificate without a date waits for
    /// [`publish_next_certificate`](Self::publish_next_certificate).
    pub fn roll_forward(&mut self, now: OffsetDateTime) -> Outcome {
        match (
            self.next_certificate_thumbprint,
            self.next_certificate_effective_date,
        ) {
            (Some(_), Some(date)) if now >= date => self.publish_next_certificate(),
            _ => Outcome::new(Change::Unchanged),
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    pub(crate) fn tp(n: u8) -> Thumbprint {
        Thumbprint::from_bytes([n; 20])
    }

    #[test]
    fn default_names_exchange() {
        let c = AuthConfig::default();
        assert_eq!(c.service_name.to_string(), crate::EXCHANGE_PRINCIPAL);
        assert_eq!(c.current_certificate_thumbprint, None);
    }

    #[test]
    fn set_current_creates_updates_and_is_idempotent() {
        let mut c = AuthConfig::default();
        let o = c.set_current_certificate(tp(1));
        assert_eq!(o.change, Change::Created);
        assert_eq!(c.current_certificate_thumbprint, Some(tp(1)));
        assert_eq!(
            o.messages,
            vec![Message::info(format!(
                "Configured Certificate Thumbprint is: {}",
                tp(1)
            ))]
        );
        let again = c.set_current_certificate(tp(1));
        assert_eq!(again.change, Change::Unchanged);
        assert_eq!(again.messages, o.messages);
        let o = c.set_current_certificate(tp(2));
        assert_eq!(o.change, Change::Updated);
        assert_eq!(c.current_certificate_thumbprint, Some(tp(2)));
        assert_eq!(c.previous_certificate_thumbprint, None);
    }

    #[test]
    fn set_current_to_the_next_clears_the_announcement() {
        let mut c = AuthConfig::default();
        c.set_current_certificate(tp(1));
        c.set_next_certificate(tp(2), datetime!(2030-01-01 0:00 UTC))
            .unwrap();
        let o = c.set_current_certificate(tp(2));
        assert_eq!(o.change, Change::Updated);
        assert_eq!(o.messages.len(), 2);
        assert_eq!(c.next_certificate_thumbprint, None);
        assert_eq!(c.next_certificate_effective_date, None);
    }

    #[test]
    fn set_next_refuses_the_current_one() {
        let mut c = AuthConfig::default();
        c.set_current_certificate(tp(1));
        let err = c
            .set_next_certificate(tp(1), datetime!(2030-01-01 0:00 UTC))
            .unwrap_err();
        assert!(
            err.to_string().contains("already the current certificate"),
            "{err}"
        );
        assert_eq!(c.next_certificate_thumbprint, None);
    }

    #[test]
    fn set_next_is_idempotent_and_reports_changes() {
        let mut c = AuthConfig::default();
        let d1 = datetime!(2030-01-01 0:00 UTC);
        let d2 = datetime!(2030-02-01 0:00 UTC);
        let o = c.set_next_certificate(tp(2), d1).unwrap();
        assert_eq!(o.change, Change::Created);
        assert_eq!(
            o.messages[0].text,
            format!(
                "Next certificate is {}, effective 2030-01-01T00:00:00Z.",
                tp(2)
            )
        );
        assert_eq!(
            c.set_next_certificate(tp(2), d1).unwrap().change,
            Change::Unchanged
        );
        assert_eq!(
            c.set_next_certificate(tp(2), d2).unwrap().change,
            Change::Updated
        );
        assert_eq!(c.next_certificate_effective_date, Some(d2));
        assert_eq!(
            c.set_next_certificate(tp(3), d2).unwrap().change,
            Change::Updated
        );
        assert_eq!(c.next_certificate_thumbprint, Some(tp(3)));
    }

    #[test]
    fn publish_rotates_and_is_idempotent() {
        let mut c = AuthConfig::default();
        c.set_current_certificate(tp(1));
        c.set_next_certificate(tp(2), datetime!(2030-01-01 0:00 UTC))
            .unwrap();
        let o = c.publish_next_certificate();
        assert_eq!(o.change, Change::Updated);
        assert_eq!(c.current_certificate_thumbprint, Some(tp(2)));
        assert_eq!(c.previous_certificate_thumbprint, Some(tp(1)));
        assert_eq!(c.next_certificate_thumbprint, None);
        assert_eq!(c.next_certificate_effective_date, None);
        assert_eq!(
            o.messages.last().unwrap().text,
            format!("Configured Certificate Thumbprint is: {}", tp(2))
        );
        let before = c.clone();
        let o = c.publish_next_certificate();
        assert_eq!(o.change, Change::Unchanged);
        assert_eq!(
            o.messages[0].text,
            "No next certificate is set; nothing to publish."
        );
        assert_eq!(c, before);
    }

    #[test]
    fn publish_without_current_sets_no_previous() {
        let mut c = AuthConfig::default();
        c.set_next_certificate(tp(2), datetime!(2030-01-01 0:00 UTC))
            .unwrap();
        c.publish_next_certificate();
        assert_eq!(c.current_certificate_thumbprint, Some(tp(2)));
        assert_eq!(c.previous_certificate_thumbprint, None);
    }

    #[test]
    fn clear_previous_is_idempotent() {
        let mut c = AuthConfig {
            previous_certificate_thumbprint: Some(tp(9)),
            ..AuthConfig::default()
        };
        let o = c.clear_previous_certificate();
        assert_eq!(o.change, Change::Updated);
        assert_eq!(
            o.messages[0].text,
            format!("Previous certificate {} cleared.", tp(9))
        );
        assert_eq!(c.previous_certificate_thumbprint, None);
        assert_eq!(c.clear_previous_certificate().change, Change::Unchanged);
    }

    #[test]
    fn roll_forward_publishes_at_the_effective_date() {
        let mut c = AuthConfig::default();
        c.set_current_certificate(tp(1));
        let date = datetime!(2030-01-01 0:00 +9);
        c.set_next_certificate(tp(2), date).unwrap();
        let just_before = datetime!(2029-12-31 14:59:59 UTC);
        assert_eq!(c.roll_forward(just_before).change, Change::Unchanged);
        assert_eq!(c.current_certificate_thumbprint, Some(tp(1)));
        let exactly = datetime!(2029-12-31 15:00 UTC);
        assert_eq!(c.roll_forward(exactly).change, Change::Updated);
        assert_eq!(c.current_certificate_thumbprint, Some(tp(2)));
        assert_eq!(c.previous_certificate_thumbprint, Some(tp(1)));
        assert_eq!(c.roll_forward(exactly).change, Change::Unchanged);
    }

    #[test]
    fn roll_forward_without_date_waits() {
        let mut c = AuthConfig {
            next_certificate_thumbprint: Some(tp(2)),
            ..AuthConfig::default()
        };
        assert_eq!(
            c.roll_forward(datetime!(2100-01-01 0:00 UTC)).change,
            Change::Unchanged
        );
        assert_eq!(c.next_certificate_thumbprint, Some(tp(2)));
    }

    #[test]
    fn json_uses_exchange_names() {
        let mut c = AuthConfig::default();
        c.set_current_certificate("7595DBDEA83DACB5757441D44899BCDB9911253C".parse().unwrap());
        c.set_next_certificate(tp(0xab), datetime!(2030-01-01 0:00 UTC))
            .unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["CurrentCertificateThumbprint"],
            "7595DBDEA83DACB5757441D44899BCDB9911253C"
        );
        assert_eq!(json["NextCertificateEffectiveDate"], "2030-01-01T00:00:00Z");
        assert_eq!(json["ServiceName"], crate::EXCHANGE_PRINCIPAL);
        assert!(json["PreviousCertificateThumbprint"].is_null());
        let minimal: AuthConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(minimal, AuthConfig::default());
        let err = serde_json::from_str::<AuthConfig>(r#"{"CurrentCertificateThumbprint":"75"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("75"), "{err}");
        assert_eq!((err.line(), err.column()), (1, 37));
        let err = serde_json::from_str::<AuthConfig>(r#"{"CurrentThumbprint":null}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    pub(crate) fn thumbprint_strategy() -> impl Strategy<Value = Thumbprint> {
        any::<[u8; 20]>().prop_map(Thumbprint::from_bytes)
    }

    /// Instants that RFC 3339 can write: years 1-9999, offsets in whole minutes.
    pub(crate) fn datetime_strategy() -> impl Strategy<Value = OffsetDateTime> {
        (
            -62_135_596_800i64..253_402_300_799,
            0u32..1_000_000_000,
            -(23 * 60 + 59)..=(23i16 * 60 + 59),
        )
            .prop_map(|(secs, nanos, minutes)| {
                let offset = time::UtcOffset::from_whole_seconds(i32::from(minutes) * 60).unwrap();
                let t = OffsetDateTime::from_unix_timestamp(secs).unwrap()
                    + time::Duration::nanoseconds(i64::from(nanos));
                let local = t.to_offset(offset);
                // Keep the local year inside 1-9999 too.
                if (1..=9999).contains(&local.year()) {
                    local
                } else {
                    t
                }
            })
    }

    pub(crate) fn auth_config_strategy() -> impl Strategy<Value = AuthConfig> {
        (
            proptest::option::of(thumbprint_strategy()),
            proptest::option::of(thumbprint_strategy()),
            proptest::option::of(thumbprint_strategy()),
            proptest::option::of(datetime_strategy()),
            any::<[u8; 16]>(),
            proptest::option::of("[ -~]{0,20}"),
        )
            .prop_map(
                |(current, previous, next, date, service, realm)| AuthConfig {
                    current_certificate_thumbprint: current,
                    previous_certificate_thumbprint: previous,
                    next_certificate_thumbprint: next,
                    next_certificate_effective_date: date,
                    service_name: Guid::from_bytes(service),
                    realm,
                },
            )
    }

    proptest! {
        #[test]
        fn serde_round_trips(config in auth_config_strategy()) {
            let json = serde_json::to_string_pretty(&config).unwrap();
            prop_assert_eq!(serde_json::from_str::<AuthConfig>(&json).unwrap(), config);
        }

        #[test]
        fn every_operation_is_idempotent(
            config in auth_config_strategy(),
            t in thumbprint_strategy(),
            date in datetime_strategy(),
            now in datetime_strategy(),
        ) {
            let ops: [&dyn Fn(&mut AuthConfig) -> Outcome; 5] = [
                &|c| c.set_current_certificate(t),
                &|c| c.set_next_certificate(t, date).unwrap_or_else(|_| Outcome::new(Change::Unchanged)),
                &|c| c.publish_next_certificate(),
                &|c| c.clear_previous_certificate(),
                &|c| c.roll_forward(now),
            ];
            for op in ops {
                let mut c = config.clone();
                let first = op(&mut c);
                let after_first = c.clone();
                prop_assert_eq!(first.changed(), after_first != config);
                let second = op(&mut c);
                prop_assert_eq!(second.change, Change::Unchanged);
                prop_assert_eq!(&c, &after_first);
            }
        }
    }
}
