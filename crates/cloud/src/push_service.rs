//! The push-notification service: `PublishOnPremNotifications` with the token service's
//! access token as bearer.
//!
//! The rules of [`PushService::publish`], in the order they are checked:
//!
//! 1. an `Authorization: Bearer <token>` header is present;
//! 2. the token verifies against the token service's certificate: RS256, signature,
//!    `nbf`/`exp` with 5 minutes of skew, `iss` is
//!    `00000001-0000-0000-c000-000000000000@<tenant>` and `aud` is
//!    `00000002-0000-0ff1-ce00-000000000000/<a push host>@<the same tenant>`;
//! 3. the tenant is a registered organisation;
//! 4. the body is a publish batch within the [`Limits`];
//! 5. every notification is for the token's tenant: no organisation pushes to another's
//!    devices;
//! 6. the registry has room for the devices the batch registers.
//!
//! Failures of 1 and 2 answer 401 with the challenge
//! `WWW-Authenticate: Bearer client_id="00000002-0000-0ff1-ce00-000000000000",
//! trusted_issuers="00000001-0001-0000-c000-000000000000@*"`.
//!
//! Then every recipient of every notification gets the notification's count as its badge,
//! unless the notification is a monitoring probe (`isMonitoring`): those are acknowledged
//! and reach no device. Dead devices are reported back in the answer.

use std::collections::HashSet;
use std::fmt;

use pushproxy_payload::wire::{DeadDevice, DeadReason, Fault, PublishResponse};
use pushproxy_payload::{Limits, PayloadError, TenantId, parse_batch};
use pushproxy_token::mint::MAX_LIFETIME;
use pushproxy_token::principal::{Audience, Guid, Host, Principal, Realm, well_known};
use pushproxy_token::sts::BearerChallenge;
use pushproxy_token::verify::{self, AudienceRule, Validation};

use crate::devices::{DEFAULT_MAX_DEVICES, Delivery, DeviceKey, DeviceRecord, DeviceRegistry};
use crate::directory::Directory;
use crate::token_service::{ASSERTION_LEEWAY, TokenService, exchange_online_host};

/// How the push service is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushConfig {
    /// The hosts a token's audience may name: the push service is
    /// `00000002-0000-0ff1-ce00-000000000000/<host>@<tenant>`. Default
    /// `outlook.office365.com`; a driver adds the host it is reached at.
    pub hosts: Vec<Host>,
    /// The limits on a publish body.
    pub limits: Limits,
    /// The most devices the registry holds.
    pub max_devices: usize,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            hosts: vec![exchange_online_host()],
            limits: Limits::default(),
            max_devices: DEFAULT_MAX_DEVICES,
        }
    }
}

/// A refused publish call: the answer the push service gives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PushFailure {
    /// The HTTP status: 400, 401, 403, 413 or 503.
    pub status: u16,
    /// The stable name of the check that failed: a
    /// [`VerifyError::code`](pushproxy_token::VerifyError::code) for token checks, or
    /// `missing_token`, `not_bearer`, `unknown_tenant`, `invalid_batch`,
    /// `tenant_mismatch`, `registry_full`.
    pub check: &'static str,
    /// The fault: a code and a message saying what to do.
    pub fault: Fault,
}

impl PushFailure {
    fn new(status: u16, check: &'static str, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            check,
            fault: Fault {
                code: code.to_owned(),
                message: message.into(),
            },
        }
    }

    /// The `WWW-Authenticate` header value to send with a 401, if this is one.
    pub fn www_authenticate(&self) -> Option<String> {
        (self.status == 401).then(PushService::challenge)
    }

    /// The JSON body: `{"error":{"code","message","check"}}`. `check` is this local
    /// cloud's addition; fault readers ignore members they do not know.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "error": {
                "code": self.fault.code,
                "message": self.fault.message,
                "check": self.check,
            }
        })
        .to_string()
    }
}

impl fmt::Display for PushFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {}",
            self.status, self.fault.code, self.check, self.fault.message
        )
    }
}

/// A refusal is also an error for a caller that only passes it on.
impl std::error::Error for PushFailure {}

/// The push service and its device registry.
#[derive(Clone, Debug)]
pub struct PushService {
    audiences: Vec<Audience>,
    limits: Limits,
    max_devices: usize,
    devices: DeviceRegistry,
}

impl PushService {
    /// A push service set up by `config`, holding `devices`.
    pub fn new(config: PushConfig, devices: DeviceRegistry) -> Self {
        Self {
            audiences: config
                .hosts
                .into_iter()
                .map(|host| Audience::new(well_known::EXCHANGE, host, Realm::Any))
                .collect(),
            limits: config.limits,
            max_devices: config.max_devices,
            devices,
        }
    }

    /// The audiences it accepts, as patterns with the realm `*`.
    pub fn audiences(&self) -> &[Audience] {
        &self.audiences
    }

    /// The device registry.
    pub fn devices(&self) -> &DeviceRegistry {
        &self.devices
    }

    /// The `WWW-Authenticate` value of its 401 answers.
    pub fn challenge() -> String {
        BearerChallenge::s2s(well_known::EXCHANGE).to_header_value()
    }

    /// Marks a device dead, simulating APNs answering 410 `Unregistered` (or 400
    /// `BadDeviceToken`, `DeviceTokenNotForTopic`) for it. An unknown device is registered
    /// first.
    pub fn mark_dead(&mut self, key: DeviceKey, reason: DeadReason, now: i64) -> &DeviceRecord {
        self.devices.mark_dead(key, reason, now)
    }

    /// Checks the `Authorization` header value and returns the tenant the token is for.
    ///
    /// # Errors
    /// A [`PushFailure`] with status 401 (no token, a bad token) or 403 (an unregistered
    /// tenant).
    pub fn authenticate(
        &self,
        tokens: &TokenService,
        directory: &Directory,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Guid, PushFailure> {
        let unauthorized =
            |check, message: String| PushFailure::new(401, check, "InvalidToken", message);
        let header = authorization.ok_or_else(|| {
            unauthorized(
                "missing_token",
                "the request has no Authorization header; send the access token from the token service as `Authorization: Bearer <token>`".to_owned(),
            )
        })?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                let scheme: String = header.split(' ').next().unwrap_or_default().chars().take(16).collect();
                unauthorized(
                    "not_bearer",
                    format!(
                        "the Authorization header uses the scheme `{scheme}`; send `Bearer <access token>`"
                    ),
                )
            })?;
        let validation = Validation {
            leeway: ASSERTION_LEEWAY,
            max_lifetime: Some(MAX_LIFETIME),
            ..Validation::new(
                AudienceRule::AnyOf(self.audiences.clone()),
                Principal::new(well_known::ACS, Realm::Any),
            )
        };
        let verified = verify::verify(token, tokens.keys(), &validation, now).map_err(|error| {
            unauthorized(
                error.code(),
                format!(
                    "the access token was refused ({}): {error}; get a new token from the token service",
                    error.code()
                ),
            )
        })?;
        // `verify` checked that `aud` and `iss` share one tenant; a token never has `*`.
        let tenant = verified.claims().iss.realm.tenant().ok_or_else(|| {
            unauthorized(
                "malformed",
                "the access token names no tenant; get a new token from the token service"
                    .to_owned(),
            )
        })?;
        if directory.by_tenant(tenant).is_none() {
            return Err(PushFailure::new(
                403,
                "unknown_tenant",
                "UnknownTenant",
                format!(
                    "tenant {tenant} is not a registered organisation; register it and get a new token"
                ),
            ));
        }
        Ok(tenant)
    }

    /// Answers a publish call: the `Authorization` header value, the body, at `now`.
    ///
    /// `accepted` in the answer counts the recipients that were not dead, monitoring ones
    /// included (they are acknowledged, not delivered); `monitoring` is true when every
    /// notification of the batch was a probe.
    ///
    /// # Errors
    /// A [`PushFailure`] naming the first rule (see the [module documentation](self))
    /// that the call breaks. Nothing changes when the call is refused.
    pub fn publish(
        &mut self,
        tokens: &TokenService,
        directory: &Directory,
        authorization: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<PublishResponse, PushFailure> {
        let tenant = self.authenticate(tokens, directory, authorization, now)?;
        let batch = parse_batch(body, &self.limits).map_err(|error| {
            let status = match error {
                PayloadError::BodyTooLarge { .. } => 413,
                _ => 400,
            };
            PushFailure {
                status,
                check: "invalid_batch",
                fault: Fault::from_error(&error),
            }
        })?;
        let token_tenant = TenantId::from_u128(tenant.as_u128());
        if batch.tenant() != token_tenant {
            let domain = directory
                .by_tenant(tenant)
                .map(|o| o.domain().to_string())
                .unwrap_or_default();
            return Err(PushFailure::new(
                403,
                "tenant_mismatch",
                "TenantMismatch",
                format!(
                    "the batch is for tenant {} but the access token is for tenant {token_tenant} ({domain}); an organisation can only push to its own devices",
                    batch.tenant()
                ),
            ));
        }

        let deliverable = batch
            .notifications()
            .iter()
            .filter(|n| !n.payload().is_monitoring);
        let new_devices: HashSet<DeviceKey> = deliverable
            .clone()
            .flat_map(|n| n.recipients())
            .map(|r| DeviceKey::new(token_tenant, r.app_id.clone(), r.device_id.clone()))
            .filter(|key| !self.devices.contains(key))
            .collect();
        if self.devices.len().saturating_add(new_devices.len()) > self.max_devices {
            return Err(PushFailure::new(
                503,
                "registry_full",
                "RegistryFull",
                format!(
                    "the device registry holds {} devices and this batch would add {}, above its limit of {}; try again later or remove devices",
                    self.devices.len(),
                    new_devices.len(),
                    self.max_devices
                ),
            ));
        }

        let mut accepted: usize = 0;
        let mut dead: Vec<DeadDevice> = Vec::new();
        let mut reported = HashSet::new();
        for notification in batch.notifications() {
            let payload = notification.payload();
            if payload.is_monitoring {
                accepted += notification.recipients().len();
                continue;
            }
            for recipient in notification.recipients() {
                let key = DeviceKey::new(
                    token_tenant,
                    recipient.app_id.clone(),
                    recipient.device_id.clone(),
                );
                match self.devices.deliver(
                    &key,
                    payload.unseen_email_count,
                    payload.language.as_ref(),
                    now,
                ) {
                    Delivery::Delivered => accepted += 1,
                    Delivery::Dead(reason) => {
                        if reported.insert(recipient.device_id.clone()) {
                            dead.push(DeadDevice {
                                device_id: recipient.device_id.clone(),
                                reason,
                            });
                        }
                    }
                }
            }
        }
        Ok(PublishResponse {
            accepted: u32::try_from(accepted).unwrap_or(u32::MAX),
            dead,
            monitoring: batch
                .notifications()
                .iter()
                .all(|n| n.payload().is_monitoring),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::Dead;
    use crate::test_support::*;
    use crate::token_service::tests::{directory, good_request, push_resource, service};
    use proptest::prelude::*;
    use pushproxy_payload::{Notification, Payload, PublishBatch, Recipient, UnseenCount};
    use pushproxy_token::jwt::{self, Claims};
    use pushproxy_token::signer::{Backend, Signer};
    use pushproxy_token::testing::bad_token_cases;

    const DEVICE_A: &str = "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b";
    const DEVICE_B: &str = "0123456789abcdef0123456789abcdef";
    const APP: &str = "com.example.mail";

    struct World {
        tokens: TokenService,
        directory: Directory,
        push: PushService,
        contoso: Guid,
        fabrikam: Guid,
        token: String,
    }

    fn world() -> World {
        let tokens = service();
        let (directory, contoso, fabrikam) = directory();
        let token = tokens
            .handle_token_request(
                &directory,
                "contoso.com",
                &good_request(&tokens, contoso),
                NOW,
            )
            .unwrap()
            .access_token
            .into_string();
        World {
            tokens,
            directory,
            push: PushService::new(PushConfig::default(), DeviceRegistry::new()),
            contoso,
            fabrikam,
            token,
        }
    }

    impl World {
        fn publish(&mut self, body: &[u8]) -> Result<PublishResponse, PushFailure> {
            let header = format!("Bearer {}", self.token);
            self.push
                .publish(&self.tokens, &self.directory, Some(&header), body, NOW + 10)
        }

        fn badge(&self, tenant: Guid, device: &str) -> Option<u32> {
            let key = DeviceKey::parse(&tenant.to_string(), APP, device).unwrap();
            self.push.devices().get(&key).map(|d| d.badge().get())
        }
    }

    fn batch(tenant: Guid, count: u32, monitoring: bool, devices: &[&str]) -> Vec<u8> {
        let mut payload = Payload::new(
            TenantId::from_u128(tenant.as_u128()),
            UnseenCount::new(count).unwrap(),
        );
        payload.is_monitoring = monitoring;
        let recipients = devices
            .iter()
            .map(|d| Recipient::new(APP.parse().unwrap(), d.parse().unwrap()))
            .collect();
        let notification = Notification::new(payload, recipients).unwrap();
        serde_json::to_vec(&PublishBatch::new(vec![notification]).unwrap()).unwrap()
    }

    #[test]
    fn a_publish_sets_every_recipients_badge() {
        let mut world = world();
        let tenant = world.contoso;
        let response = world
            .publish(&batch(tenant, 5, false, &[DEVICE_A, DEVICE_B]))
            .unwrap();
        assert_eq!(
            response,
            PublishResponse {
                accepted: 2,
                ..PublishResponse::default()
            }
        );
        assert_eq!(world.badge(tenant, DEVICE_A), Some(5));
        assert_eq!(world.badge(tenant, DEVICE_B), Some(5));
        // Then a clear: the badge goes to 0.
        world
            .publish(&batch(tenant, 0, false, &[DEVICE_A]))
            .unwrap();
        assert_eq!(world.badge(tenant, DEVICE_A), Some(0));
        assert_eq!(world.badge(tenant, DEVICE_B), Some(5));
        let key = DeviceKey::parse(&tenant.to_string(), APP, DEVICE_A).unwrap();
        let record = world.push.devices().get(&key).unwrap();
        assert_eq!(record.apns().unwrap().body(), br#"{"aps":{"badge":0}}"#);
    }

    #[test]
    fn cross_tenant_push_is_refused_and_changes_nothing() {
        let mut world = world();
        let (contoso, fabrikam) = (world.contoso, world.fabrikam);
        let failure = world
            .publish(&batch(fabrikam, 5, false, &[DEVICE_A]))
            .unwrap_err();
        assert_eq!((failure.status, failure.check), (403, "tenant_mismatch"));
        assert_eq!(failure.fault.code, "TenantMismatch");
        assert!(
            failure.fault.message.contains(&fabrikam.to_string()),
            "{failure}"
        );
        assert!(
            failure.fault.message.contains(&contoso.to_string()),
            "{failure}"
        );
        assert!(failure.fault.message.contains("contoso.com"), "{failure}");
        assert!(world.push.devices().is_empty());
        assert_eq!(failure.www_authenticate(), None);
    }

    #[test]
    fn monitoring_never_touches_a_badge() {
        let mut world = world();
        let tenant = world.contoso;
        world
            .publish(&batch(tenant, 2, false, &[DEVICE_A]))
            .unwrap();
        let before = world.push.devices().clone();
        let response = world
            .publish(&batch(tenant, 9, true, &[DEVICE_A, DEVICE_B]))
            .unwrap();
        assert!(response.monitoring);
        assert_eq!(response.accepted, 2);
        assert_eq!(world.push.devices(), &before);
        assert_eq!(world.badge(tenant, DEVICE_B), None);
    }

    #[test]
    fn dead_devices_are_reported_and_keep_their_badge() {
        let mut world = world();
        let tenant = world.contoso;
        world
            .publish(&batch(tenant, 1, false, &[DEVICE_A, DEVICE_B]))
            .unwrap();
        let key = DeviceKey::parse(&tenant.to_string(), APP, DEVICE_A).unwrap();
        world
            .push
            .mark_dead(key.clone(), DeadReason::Unregistered, NOW + 5);
        let response = world
            .publish(&batch(
                tenant,
                4,
                false,
                &[DEVICE_A, DEVICE_B, "not-a-token"],
            ))
            .unwrap();
        assert_eq!(response.accepted, 1);
        assert_eq!(
            response.dead,
            [
                DeadDevice {
                    device_id: DEVICE_A.parse().unwrap(),
                    reason: DeadReason::Unregistered
                },
                DeadDevice {
                    device_id: "not-a-token".parse().unwrap(),
                    reason: DeadReason::BadDeviceToken
                },
            ]
        );
        assert_eq!(world.badge(tenant, DEVICE_A), Some(1));
        assert_eq!(world.badge(tenant, DEVICE_B), Some(4));
        let record = world.push.devices().get(&key).unwrap();
        assert_eq!(
            record.dead(),
            Some(Dead {
                reason: DeadReason::Unregistered,
                at: NOW + 5
            })
        );
    }

    #[test]
    fn missing_or_foreign_authorization_is_challenged() {
        let mut world = world();
        let body = batch(world.contoso, 1, false, &[DEVICE_A]);
        let (tokens, directory) = (&world.tokens, &world.directory);
        for (header, check) in [
            (None, "missing_token"),
            (Some("Basic dXNlcjpwYXNz".to_owned()), "not_bearer"),
            (Some("Bearer".to_owned()), "not_bearer"),
            (Some("Bearer    ".to_owned()), "not_bearer"),
            (Some("Bearer abc".to_owned()), "truncated"),
        ] {
            let failure = world
                .push
                .publish(tokens, directory, header.as_deref(), &body, NOW)
                .unwrap_err();
            assert_eq!(
                (failure.status, failure.check),
                (401, check),
                "{header:?}: {failure}"
            );
            assert_eq!(
                failure.www_authenticate().as_deref(),
                Some(
                    r#"Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0001-0000-c000-000000000000@*""#
                )
            );
        }
        // The scheme is case-insensitive.
        let header = format!("bearer {}", world.token);
        world
            .push
            .publish(tokens, directory, Some(&header), &body, NOW)
            .unwrap();
    }

    /// The shared table of bad tokens, as bearer tokens of the push service.
    #[test]
    fn the_bad_token_table_is_refused_with_401() {
        let mut world = world();
        let tenant = world.contoso;
        let signer = Backend::RustCrypto
            .signer(service_certificate(), service_key())
            .unwrap();
        let issuer = TokenService::issuer(tenant);
        let good = Claims::new(push_resource(tenant), issuer, "x", NOW - 10, NOW + 3590);
        let body = batch(tenant, 1, false, &[DEVICE_A]);
        let good_token = jwt::encode_signed(&good, signer.as_ref()).unwrap();
        world.token = good_token.into_string();
        world.publish(&body).unwrap();
        for case in bad_token_cases(signer.as_ref(), &good, NOW).unwrap() {
            world.token = case.token;
            let failure = world.publish(&body).unwrap_err();
            assert_eq!(
                (failure.status, failure.check),
                (401, case.expected),
                "{}: {failure}",
                case.name
            );
            assert!(failure.www_authenticate().is_some());
        }
    }

    #[test]
    fn tokens_not_from_the_token_service_or_for_another_service_are_refused() {
        let mut world = world();
        let tenant = world.contoso;
        let body = batch(tenant, 1, false, &[DEVICE_A]);
        // contoso's own certificate is not the token service's.
        let own: Box<dyn Signer> = Backend::RustCrypto
            .signer(contoso_certificate(), org_key())
            .unwrap();
        let claims = Claims::new(
            push_resource(tenant),
            TokenService::issuer(tenant),
            "x",
            NOW,
            NOW + 600,
        );
        world.token = jwt::encode_signed(&claims, own.as_ref())
            .unwrap()
            .into_string();
        assert_eq!(world.publish(&body).unwrap_err().check, "unknown_key");
        // A token of the token service for SharePoint.
        let service_signer = Backend::RustCrypto
            .signer(service_certificate(), service_key())
            .unwrap();
        let mut sharepoint = claims.clone();
        sharepoint.aud = Audience::new(
            well_known::SHAREPOINT,
            "contoso.sharepoint.com".parse().unwrap(),
            Realm::Tenant(tenant),
        );
        world.token = jwt::encode_signed(&sharepoint, service_signer.as_ref())
            .unwrap()
            .into_string();
        assert_eq!(world.publish(&body).unwrap_err().check, "wrong_audience");
        // A token of the token service for a tenant that is not registered.
        let stranger = Guid::from_u128(7);
        let mut unknown = Claims::new(
            push_resource(stranger),
            TokenService::issuer(stranger),
            "x",
            NOW,
            NOW + 600,
        );
        unknown.nameid = "y".to_owned();
        world.token = jwt::encode_signed(&unknown, service_signer.as_ref())
            .unwrap()
            .into_string();
        let failure = world.publish(&body).unwrap_err();
        assert_eq!((failure.status, failure.check), (403, "unknown_tenant"));
        // The issuer must be the token service.
        let mut exchange_issued = claims;
        exchange_issued.iss = Principal::new(well_known::EXCHANGE, Realm::Tenant(tenant));
        world.token = jwt::encode_signed(&exchange_issued, service_signer.as_ref())
            .unwrap()
            .into_string();
        assert_eq!(world.publish(&body).unwrap_err().check, "wrong_issuer");
        assert!(world.push.devices().is_empty());
    }

    #[test]
    fn bad_bodies_are_refused_with_the_payload_fault() {
        let mut world = world();
        let failure = world.publish(b"{").unwrap_err();
        assert_eq!(
            (failure.status, failure.check, failure.fault.code.as_str()),
            (400, "invalid_batch", "MalformedJson")
        );
        let failure = world.publish(br#"{"notifications":[]}"#).unwrap_err();
        assert_eq!(failure.fault.code, "EmptyBatch");
        let huge = vec![b' '; Limits::default().max_body_bytes + 1];
        let failure = world.publish(&huge).unwrap_err();
        assert_eq!(
            (failure.status, failure.fault.code.as_str()),
            (413, "PayloadTooLarge")
        );
        let json: serde_json::Value = serde_json::from_str(&failure.to_json()).unwrap();
        assert_eq!(json["error"]["check"], "invalid_batch");
        assert_eq!(
            Fault::from_json(failure.to_json().as_bytes()).unwrap(),
            failure.fault
        );
    }

    #[test]
    fn a_full_registry_refuses_new_devices_but_serves_known_ones() {
        let mut world = world();
        let tenant = world.contoso;
        let config = PushConfig {
            max_devices: 1,
            ..PushConfig::default()
        };
        world.push = PushService::new(config, DeviceRegistry::new());
        world
            .publish(&batch(tenant, 1, false, &[DEVICE_A]))
            .unwrap();
        let failure = world
            .publish(&batch(tenant, 2, false, &[DEVICE_A, DEVICE_B]))
            .unwrap_err();
        assert_eq!((failure.status, failure.check), (503, "registry_full"));
        assert_eq!(world.badge(tenant, DEVICE_A), Some(1));
        world
            .publish(&batch(tenant, 3, false, &[DEVICE_A]))
            .unwrap();
        assert_eq!(world.badge(tenant, DEVICE_A), Some(3));
    }

    #[test]
    fn push_hosts_can_be_configured() {
        let mut world = world();
        let tenant = world.contoso;
        let config = PushConfig {
            hosts: vec!["127.0.0.1:8080".parse().unwrap()],
            ..PushConfig::default()
        };
        world.push = PushService::new(config, DeviceRegistry::new());
        let failure = world
            .publish(&batch(tenant, 1, false, &[DEVICE_A]))
            .unwrap_err();
        assert_eq!(failure.check, "wrong_audience");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever a monitoring batch says, no badge changes and no device appears.
        #[test]
        fn monitoring_batches_never_change_the_registry(
            counts in proptest::collection::vec(0u32..=99_999, 1..4),
            devices in proptest::collection::btree_set("[0-9a-f]{32}|[a-z]{1,8}", 1..5),
        ) {
            let mut world = world();
            let tenant = world.contoso;
            world.publish(&batch(tenant, 42, false, &[DEVICE_A])).unwrap();
            let before = world.push.devices().clone();
            let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
            let notifications: Vec<Notification> = counts
                .iter()
                .map(|&count| {
                    let mut payload = Payload::new(TenantId::from_u128(tenant.as_u128()), UnseenCount::new(count).unwrap());
                    payload.is_monitoring = true;
                    let recipients = devices.iter().map(|d| Recipient::new(APP.parse().unwrap(), d.parse().unwrap())).collect();
                    Notification::new(payload, recipients).unwrap()
                })
                .collect();
            let body = serde_json::to_vec(&PublishBatch::new(notifications).unwrap()).unwrap();
            let response = world.publish(&body).unwrap();
            prop_assert!(response.monitoring);
            prop_assert!(response.dead.is_empty());
            prop_assert_eq!(world.push.devices(), &before);
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut world = world();
            let before = world.push.devices().clone();
            if world.publish(&body).is_err() {
                prop_assert_eq!(world.push.devices(), &before);
            }
        }
    }
}
