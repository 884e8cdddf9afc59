//! The whole flow, step by step: the real sans-IO engine driven with simulated time, the
//! proxy minting its token with the real token crate, and a cloud that checks the token and
//! reads the batch with the same crates the local cloud uses, then renders the device
//! payloads.
//!
//! [`simulate`] is a pure function of the credentials, the start time and the user's script
//! of inputs: the page runs it again whenever the script changes, and steps through the
//! recorded [`FlowStep`]s.

use std::time::Duration;

use pushproxy_config::DEFAULT_PUSH_URI;
use pushproxy_engine::{
    BearerToken, Engine, EngineConfig, Event, FailureReason, MailboxHandle, PublishOutcome,
    TenantConfig, TenantHandle, Timestamp, Transmit,
};
use pushproxy_payload::apns::{ApnsRequest, DeviceToken};
use pushproxy_payload::wire::{CONTENT_TYPE, Fault, PublishResponse, publish_url};
use pushproxy_payload::{Limits, PublishBatch, Recipient, TenantId, UnseenCount, parse_batch};
use pushproxy_token::jwt::Token;
use pushproxy_token::mint::{ActorToken, Lifetime};
use pushproxy_token::principal::{Audience, Guid, Principal, Realm, well_known};
use pushproxy_token::signer::RustCryptoSigner;
use pushproxy_token::sts::BearerChallenge;
use pushproxy_token::verify::{KeySet, Validation, verify};

use crate::model::credentials::Credentials;
use crate::model::format;

/// The tenant of the simulated organisation.
pub const TENANT: &str = "4d2a1b3c-0000-4000-8000-00000000abcd";
/// The app id (APNs topic) of the simulated mail app.
pub const APP_ID: &str = "com.example.mail";
/// The simulated devices: a name and an APNs device token.
pub const DEVICES: [(&str, &str); 2] = [
    (
        "iPhone",
        "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b",
    ),
    (
        "iPad",
        "a7c3e9f1b5d7092c4e6a8b0d1f3e5c7a9b1d3f5e7c9a0b2d4f6e8a0c2e4a6b8d",
    ),
];

/// The most steps one simulation records; a script that would go beyond it is cut short.
pub const MAX_STEPS: usize = 2000;

/// One thing the user makes happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowInput {
    /// A new message arrives in the mailbox.
    MailArrives,
    /// The user reads an unseen message.
    MailRead,
    /// Time passes up to the engine's next timer.
    Wait,
    /// The cloud answers the next publish with 503 and `Retry-After`.
    CloudBusy,
}

impl FlowInput {
    /// A label for buttons and the script list.
    pub fn label(self) -> &'static str {
        match self {
            Self::MailArrives => "New mail arrives",
            Self::MailRead => "A message is read",
            Self::Wait => "Let time pass",
            Self::CloudBusy => "Cloud busy once (503)",
        }
    }
}

/// The script the flow starts with: two messages in quick succession (coalesced into one
/// update), time passing, one message read, time passing.
pub const DEFAULT_SCRIPT: [FlowInput; 5] = [
    FlowInput::MailArrives,
    FlowInput::MailArrives,
    FlowInput::Wait,
    FlowInput::MailRead,
    FlowInput::Wait,
];

/// Who acts in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The mailbox server (a change of the unseen count).
    Mailbox,
    /// The sans-IO engine (its events and timers).
    Engine,
    /// The proxy's driver (tokens, HTTP).
    Proxy,
    /// The push-notification service.
    Cloud,
    /// Apple's push service.
    Apns,
    /// A device.
    Device,
    /// The user of the playground (time, failures).
    User,
}

impl Actor {
    /// A short name, also used as a CSS class.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mailbox => "mailbox",
            Self::Engine => "engine",
            Self::Proxy => "proxy",
            Self::Cloud => "cloud",
            Self::Apns => "apns",
            Self::Device => "device",
            Self::User => "user",
        }
    }
}

/// One recorded step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStep {
    /// Milliseconds since the start of the simulation.
    pub at_ms: u64,
    /// Who acts.
    pub actor: Actor,
    /// What happens, in one line.
    pub title: String,
    /// The message exchanged, if any (HTTP request, JSON, token).
    pub message: Option<String>,
    /// The mailbox's unseen count after the step.
    pub unseen: u32,
    /// Each device's badge after the step (`None` until it got its first update).
    pub badges: Vec<Option<u32>>,
}

/// Runs the flow: the start, then each input of `script`.
///
/// # Errors
/// A message when the credentials cannot sign (no private key, key refused) or the engine
/// refuses a setting; failures inside the flow (a refused token, a busy cloud) are steps.
pub fn simulate(
    credentials: &Credentials,
    start_ms: u64,
    script: &[FlowInput],
) -> Result<Vec<FlowStep>, String> {
    let mut sim = Sim::start(credentials, start_ms)?;
    for input in script {
        if sim.steps.len() >= MAX_STEPS {
            break;
        }
        sim.input(*input)?;
    }
    Ok(sim.steps)
}

struct Sim {
    engine: Engine,
    start: Timestamp,
    now: Timestamp,
    signer: RustCryptoSigner,
    keys: KeySet,
    validation: Validation,
    audience: Audience,
    tenant: TenantHandle,
    mailbox: MailboxHandle,
    unseen: u32,
    badges: Vec<Option<u32>>,
    cloud_busy: bool,
    steps: Vec<FlowStep>,
}

fn text<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

impl Sim {
    fn start(credentials: &Credentials, start_ms: u64) -> Result<Self, String> {
        let key = credentials.key.as_ref().ok_or(
            "the flow signs the proxy's token with the certificate's private key: generate a certificate, or load one together with its key",
        )?;
        let signer = RustCryptoSigner::new(&credentials.certificate, key).map_err(text)?;
        let mut keys = KeySet::new();
        keys.insert(&credentials.certificate).map_err(text)?;
        let realm_id: Guid = TENANT.parse().map_err(text)?;
        let realm = Realm::Tenant(realm_id);
        let audience = Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().map_err(text)?,
            realm,
        );
        let validation = Validation::new(
            audience.clone(),
            Principal::new(well_known::EXCHANGE, realm),
        );

        let mut engine = Engine::new(EngineConfig::default()).map_err(text)?;
        let now = Timestamp::from_millis(start_ms);
        let mut config = TenantConfig::new(TENANT.parse::<TenantId>().map_err(text)?);
        config.language = Some("ja-JP".parse().map_err(text)?);
        let tenant = engine.add_tenant(config, now).map_err(text)?;
        let mailbox = engine
            .add_mailbox(tenant, UnseenCount::ZERO)
            .map_err(text)?;

        let mut sim = Self {
            engine,
            start: now,
            now,
            signer,
            keys,
            validation,
            audience,
            tenant,
            mailbox,
            unseen: 0,
            badges: vec![None; DEVICES.len()],
            cloud_busy: false,
            steps: Vec::new(),
        };
        sim.step(
            Actor::Engine,
            format!("The engine serves tenant {TENANT} with one mailbox (unseen 0)"),
            None,
        );
        sim.pump()?;
        for (name, device) in DEVICES {
            let recipient =
                Recipient::new(APP_ID.parse().map_err(text)?, device.parse().map_err(text)?);
            sim.engine
                .subscribe(sim.mailbox, &recipient, sim.now)
                .map_err(text)?;
            sim.step(
                Actor::Device,
                format!("{name} subscribes to the mailbox's unseen count"),
                Some(format!("appId: {APP_ID}\ndeviceId: {device}")),
            );
            sim.pump()?;
        }
        sim.note_next_timer();
        Ok(sim)
    }

    fn input(&mut self, input: FlowInput) -> Result<(), String> {
        match input {
            FlowInput::MailArrives => {
                self.engine
                    .handle_message_arrived(self.mailbox, self.now)
                    .map_err(text)?;
                self.unseen = self.engine.unseen(self.mailbox).map_err(text)?.get();
                self.step(
                    Actor::Mailbox,
                    format!("New mail arrives: {} unseen", self.unseen),
                    None,
                );
                self.pump()?;
                self.note_next_timer();
            }
            FlowInput::MailRead => {
                self.engine
                    .handle_message_read(self.mailbox, self.now)
                    .map_err(text)?;
                self.unseen = self.engine.unseen(self.mailbox).map_err(text)?.get();
                self.step(
                    Actor::Mailbox,
                    format!("A message is read: {} unseen", self.unseen),
                    None,
                );
                self.pump()?;
                self.note_next_timer();
            }
            FlowInput::Wait => {
                let next = self
                    .engine
                    .poll_timeout()
                    .unwrap_or(self.now + Duration::from_secs(60))
                    .max(self.now);
                let waited = next - self.now;
                self.now = next;
                self.step(
                    Actor::User,
                    format!(
                        "Time passes by {} to the engine's next timer",
                        show_duration(waited)
                    ),
                    None,
                );
                self.engine.handle_timeout(self.now);
                self.pump()?;
            }
            FlowInput::CloudBusy => {
                self.cloud_busy = true;
                self.step(
                    Actor::User,
                    "The cloud will answer the next publish with 503 Service Unavailable"
                        .to_owned(),
                    None,
                );
            }
        }
        Ok(())
    }

    /// Drains the engine's events and transmits until it has nothing more to say.
    fn pump(&mut self) -> Result<(), String> {
        loop {
            if self.steps.len() >= MAX_STEPS {
                return Ok(());
            }
            if let Some(event) = self.engine.poll_event() {
                self.event(event)?;
                continue;
            }
            if let Some(transmit) = self.engine.poll_transmit(self.now) {
                self.transmit(transmit);
                continue;
            }
            return Ok(());
        }
    }

    fn note_next_timer(&mut self) {
        if let Some(next) = self.engine.poll_timeout()
            && next > self.now
            && self.engine.queue_depth() > 0
        {
            self.step(
                Actor::Engine,
                format!(
                    "Nothing is sent yet: the batch is due in {} (the coalescing window), so later changes join it",
                    show_duration(next - self.now)
                ),
                None,
            );
        }
    }

    fn event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::NeedToken { .. } => {
                self.step(
                    Actor::Engine,
                    "The engine needs an access token for the tenant".to_owned(),
                    None,
                );
                self.mint_token()?;
            }
            Event::Queued {
                unseen,
                queued,
                coalesced,
                ..
            } => {
                let title = match (queued, coalesced) {
                    (q, 0) => format!("The engine queues {q} device(s) with the count {unseen}"),
                    (0, c) => format!(
                        "Coalesced: {c} device(s) already waiting will carry the new count {unseen}"
                    ),
                    (q, c) => format!(
                        "The engine queues {q} device(s); {c} already waiting take the count {unseen}"
                    ),
                };
                self.step(Actor::Engine, title, None);
            }
            Event::Published {
                batch,
                recipients,
                attempts,
                ..
            } => self.step(
                Actor::Engine,
                format!(
                    "Batch #{} is done: {recipients} recipient(s) in {attempts} attempt(s)",
                    batch.get()
                ),
                None,
            ),
            Event::PublishFailed {
                batch,
                reason,
                retry_at,
                ..
            } => self.step(
                Actor::Engine,
                format!(
                    "Batch #{} failed ({reason}); the engine retries in {} (backoff)",
                    batch.get(),
                    show_duration(retry_at - self.now)
                ),
                None,
            ),
            other => self.step(Actor::Engine, format!("{other:?}"), None),
        }
        Ok(())
    }

    fn mint_token(&mut self) -> Result<(), String> {
        let now_s = unix_seconds(self.now);
        let minted = ActorToken::new(self.audience.clone(), Lifetime::ONE_HOUR)
            .mint(&self.signer, now_s)
            .map_err(text)?;
        let claims = format::pretty_json(minted.claims.to_json().as_bytes()).unwrap_or_else(|e| e);
        self.step(
            Actor::Proxy,
            format!(
                "The proxy mints the app-only actor token (RS256, x5t {}), valid for 1 h",
                self.signer_x5t()
            ),
            Some(format!("{}\n\n{claims}", abbreviate(&minted.token))),
        );
        let expires_at = Timestamp::from_secs(u64::try_from(minted.expires_at()).unwrap_or(0));
        let bearer: BearerToken = minted.token.as_str().parse().map_err(text)?;
        self.engine
            .handle_token(self.tenant, bearer, expires_at, self.now)
            .map_err(text)?;
        self.step(
            Actor::Engine,
            format!(
                "The engine holds the token until {}; it asks for a new one 5 min before",
                format::unix_utc(minted.expires_at())
            ),
            None,
        );
        Ok(())
    }

    fn signer_x5t(&self) -> String {
        use pushproxy_token::signer::Signer;
        self.signer.x5t().to_owned()
    }

    fn transmit(&mut self, transmit: Transmit) {
        let body_text = format::pretty_json(&transmit.body).unwrap_or_else(|e| e);
        self.step(
            Actor::Proxy,
            format!(
                "The proxy publishes batch #{} (attempt {}): {} recipient(s), {} notification(s), {} bytes",
                transmit.batch.get(),
                transmit.attempt,
                transmit.recipients,
                transmit.notifications,
                transmit.body.len()
            ),
            Some(format!(
                "POST {}\nAuthorization: Bearer {}\nContent-Type: {CONTENT_TYPE}\n\n{body_text}",
                publish_url(DEFAULT_PUSH_URI),
                abbreviate(&Token::new(transmit.token.expose()))
            )),
        );
        let outcome = self.cloud(&transmit);
        self.engine
            .handle_publish_result(transmit.id, outcome, self.now);
    }

    /// What the cloud does with one publish request, and its answer.
    fn cloud(&mut self, transmit: &Transmit) -> PublishOutcome {
        if std::mem::take(&mut self.cloud_busy) {
            self.step(
                Actor::Cloud,
                "The cloud is busy: 503 Service Unavailable".to_owned(),
                Some("HTTP/1.1 503 Service Unavailable\nRetry-After: 5".to_owned()),
            );
            return PublishOutcome::RetryLater {
                retry_after: Some(Duration::from_secs(5)),
            };
        }
        let now_s = unix_seconds(self.now);
        match verify(transmit.token.expose(), &self.keys, &self.validation, now_s) {
            Ok(verified) => self.step(
                Actor::Cloud,
                format!(
                    "The cloud verifies the token: RS256 by certificate {}, issuer {}, expires {}",
                    verified.thumbprint(),
                    verified.claims().iss,
                    format::unix_utc(verified.claims().exp)
                ),
                None,
            ),
            Err(error) => {
                self.step(
                    Actor::Cloud,
                    format!("The cloud refuses the token ({}): {error}", error.code()),
                    Some(format!(
                        "HTTP/1.1 401 Unauthorized\nWWW-Authenticate: {}",
                        BearerChallenge::s2s(well_known::EXCHANGE).to_header_value()
                    )),
                );
                return PublishOutcome::Failed(FailureReason::Unauthorized);
            }
        }
        let batch = match parse_batch(&transmit.body, &Limits::default()) {
            Ok(batch) => batch,
            Err(error) => {
                let fault = serde_json::to_string(&Fault::from_error(&error))
                    .unwrap_or_else(|e| e.to_string());
                self.step(
                    Actor::Cloud,
                    format!("The cloud refuses the batch: {error}"),
                    Some(format!("HTTP/1.1 400 Bad Request\n\n{fault}")),
                );
                return PublishOutcome::Failed(FailureReason::Rejected);
            }
        };
        self.step(
            Actor::Cloud,
            format!(
                "The cloud reads the batch: tenant {}, {} notification(s), {} recipient(s)",
                batch.tenant(),
                batch.notifications().len(),
                batch.recipient_count()
            ),
            None,
        );
        self.deliver(&batch);
        let answer = PublishResponse {
            accepted: u32::try_from(batch.recipient_count()).unwrap_or(u32::MAX),
            ..PublishResponse::default()
        };
        let body = serde_json::to_string(&answer).unwrap_or_else(|e| e.to_string());
        self.step(
            Actor::Cloud,
            format!("The cloud answers: {} accepted", answer.accepted),
            Some(format!(
                "HTTP/1.1 200 OK\nContent-Type: {CONTENT_TYPE}\n\n{body}"
            )),
        );
        PublishOutcome::Accepted { dead: Vec::new() }
    }

    fn deliver(&mut self, batch: &PublishBatch) {
        for notification in batch.notifications() {
            let count = notification.payload().unseen_email_count;
            for recipient in notification.recipients() {
                let Some(index) = DEVICES
                    .iter()
                    .position(|(_, id)| *id == recipient.device_id.as_str())
                else {
                    continue;
                };
                let name = DEVICES[index].0;
                let request = recipient
                    .device_id
                    .as_str()
                    .parse::<DeviceToken>()
                    .and_then(|token| {
                        ApnsRequest::badge(token, recipient.app_id.as_str().parse()?, count)
                    });
                match request {
                    Ok(request) => {
                        let headers: String = request
                            .headers()
                            .iter()
                            .map(|(name, value)| format!("{name}: {value}\n"))
                            .collect();
                        self.step(
                            Actor::Apns,
                            format!("The cloud sends {name}'s badge to APNs"),
                            Some(format!(
                                "POST {}\n{headers}\n{}",
                                request.path(),
                                String::from_utf8_lossy(request.body())
                            )),
                        );
                        self.badges[index] = Some(count.get());
                        let title = if count.is_zero() {
                            format!("{name} clears its badge (0 is sent, never skipped)")
                        } else {
                            format!("{name} shows the badge {count}")
                        };
                        self.step(Actor::Device, title, None);
                    }
                    Err(error) => self.step(
                        Actor::Cloud,
                        format!("The cloud cannot address {name}: {error}"),
                        None,
                    ),
                }
            }
        }
    }

    fn step(&mut self, actor: Actor, title: String, message: Option<String>) {
        if self.steps.len() >= MAX_STEPS {
            return;
        }
        self.steps.push(FlowStep {
            at_ms: (self.now - self.start)
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX),
            actor,
            title,
            message,
            unseen: self.unseen,
            badges: self.badges.clone(),
        });
    }
}

fn unix_seconds(at: Timestamp) -> i64 {
    i64::try_from(at.as_millis() / 1000).unwrap_or(i64::MAX)
}

/// A token shortened for display: its first 24 characters and its length.
pub fn abbreviate(token: &Token) -> String {
    let text = token.as_str();
    let head: String = text.chars().take(24).collect();
    if head.len() == text.len() {
        head
    } else {
        format!("{head}… ({} bytes)", text.len())
    }
}

/// A duration as `2.000 s`.
pub fn show_duration(duration: Duration) -> String {
    format!("{}.{:03} s", duration.as_secs(), duration.subsec_millis())
}

/// Milliseconds since the start as `+2.000 s`.
pub fn show_offset(at_ms: u64) -> String {
    format!("+{}", show_duration(Duration::from_millis(at_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::credentials::tests::generated;

    const START: u64 = 1_772_366_400_000; // 2026-03-01T12:00:00Z

    fn last_badges(steps: &[FlowStep]) -> Vec<Option<u32>> {
        steps.last().unwrap().badges.clone()
    }

    #[test]
    fn the_default_script_ends_with_the_latest_count_on_every_device() {
        let steps = simulate(&generated(), START, &DEFAULT_SCRIPT).unwrap();
        // Two arrivals, one read: 1 unseen, and both devices show it.
        assert_eq!(steps.last().unwrap().unseen, 1);
        assert_eq!(last_badges(&steps), vec![Some(1), Some(1)]);
        // The token was minted and verified by the cloud.
        assert!(
            steps
                .iter()
                .any(|s| s.actor == Actor::Proxy && s.title.contains("mints"))
        );
        assert!(
            steps
                .iter()
                .any(|s| s.title.starts_with("The cloud verifies the token"))
        );
        // The two arrivals inside the window went out as one batch carrying 2.
        let first_batch = steps
            .iter()
            .find(|s| s.title.starts_with("The proxy publishes"))
            .unwrap();
        let message = first_batch.message.as_deref().unwrap();
        assert!(message.contains("\"unseenEmailCount\": 2"), "{message}");
        assert!(message.starts_with(
            "POST https://outlook.office365.com/PushNotifications/service.svc/PublishOnPremNotifications"
        ));
        assert!(steps.iter().any(|s| s.title.starts_with("Coalesced")));
        // Time only moves forward.
        assert!(steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    }

    #[test]
    fn a_cleared_badge_is_sent() {
        let script = [
            FlowInput::MailArrives,
            FlowInput::Wait,
            FlowInput::MailRead,
            FlowInput::Wait,
        ];
        let steps = simulate(&generated(), START, &script).unwrap();
        assert_eq!(last_badges(&steps), vec![Some(0), Some(0)]);
        let apns: Vec<&FlowStep> = steps.iter().filter(|s| s.actor == Actor::Apns).collect();
        assert_eq!(apns.len(), 4);
        assert!(
            apns[3]
                .message
                .as_deref()
                .unwrap()
                .ends_with(r#"{"aps":{"badge":0}}"#)
        );
        assert!(steps.iter().any(|s| s.title.contains("clears its badge")));
    }

    #[test]
    fn a_busy_cloud_is_retried_after_the_backoff() {
        let script = [
            FlowInput::CloudBusy,
            FlowInput::MailArrives,
            FlowInput::Wait,
            FlowInput::Wait,
        ];
        let steps = simulate(&generated(), START, &script).unwrap();
        assert!(steps.iter().any(|s| s.title.contains("503")));
        assert!(
            steps
                .iter()
                .any(|s| s.title.contains("failed (retry_later)"))
        );
        assert!(steps.iter().any(|s| s.title.contains("(attempt 2)")));
        assert_eq!(last_badges(&steps), vec![Some(1), Some(1)]);
    }

    #[test]
    fn without_a_private_key_the_flow_says_what_is_missing() {
        let credentials = generated();
        let loaded = Credentials::load(&credentials.certificate.to_pem(), "").unwrap();
        let error = simulate(&loaded, START, &DEFAULT_SCRIPT).unwrap_err();
        assert!(error.contains("private key"), "{error}");
    }

    #[test]
    fn abbreviations_and_offsets() {
        assert_eq!(abbreviate(&Token::new("short")), "short");
        let long = "x".repeat(100);
        assert_eq!(
            abbreviate(&Token::new(long)),
            format!("{}… (100 bytes)", "x".repeat(24))
        );
        assert_eq!(show_offset(2500), "+2.500 s");
    }
}
