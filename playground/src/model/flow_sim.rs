//! The whole flow, step by step: the real sans-IO engine driven with simulated time, the
//! proxy's driver minting its assertion with the token crate, and the local cloud's
//! sans-IO token service and push service (the `pushproxy-cloud` crate) answering it.
//!
//! [`simulate`] is a pure function of the credentials, the cloud's signing identity, a seed,
//! the start time and the user's script of inputs: the page runs it again whenever the
//! script changes, and steps through the recorded [`FlowStep`]s.

use std::time::Duration;

use pushproxy_cert::{Certificate, CertificateParams, DnsName, PrivateKey, self_signed};
use pushproxy_cloud::token_service::{SERVICE_CERTIFICATE_NAME, SERVICE_FRIENDLY_NAME};
use pushproxy_cloud::{
    CredentialUpload, DeviceKey, DeviceRegistry, Directory, OrgRef, PushConfig, PushFailure,
    PushService, TokenService,
};
use pushproxy_config::DEFAULT_PUSH_URI;
use pushproxy_engine::{
    BearerToken, Engine, EngineConfig, Event, FailureReason, MailboxHandle, PublishOutcome,
    TenantConfig, TenantHandle, Timestamp, Transmit,
};
use pushproxy_payload::wire::{CONTENT_TYPE, publish_url};
use pushproxy_payload::{Limits, PublishBatch, Recipient, TenantId, UnseenCount, parse_batch};
use pushproxy_token::jwt::Token;
use pushproxy_token::mint::{Lifetime, sts_assertion};
use pushproxy_token::principal::{Audience, Guid, Realm, well_known};
use pushproxy_token::signer::{RustCryptoSigner, Signer};
use pushproxy_token::sts::{FORM_CONTENT_TYPE, JWT_BEARER_GRANT, TokenRequest};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;

use crate::model::credentials::Credentials;
use crate::model::format;

/// Where the simulated token service is.
pub const TOKEN_SERVICE_URL: &str = "https://accounts.accesscontrol.windows.net";
/// The organisation registered when the certificate names no domain.
pub const DEFAULT_DOMAIN: &str = "contoso.com";
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

/// The token service's signing key and certificate. Its key is generated once per page (in
/// slices, like the OAuth certificate's), so that running the flow again costs no key
/// generation.
pub struct CloudIdentity {
    key: PrivateKey,
    certificate: Certificate,
}

impl std::fmt::Debug for CloudIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudIdentity")
            .field("certificate", &self.certificate.thumbprint())
            .finish_non_exhaustive()
    }
}

impl PartialEq for CloudIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.certificate == other.certificate
    }
}

impl CloudIdentity {
    /// The identity the local cloud's token service gives itself: a certificate named
    /// [`SERVICE_CERTIFICATE_NAME`] for `key`, valid from `now`.
    pub fn new(
        key: PrivateKey,
        now: OffsetDateTime,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<Self, String> {
        let name: DnsName = SERVICE_CERTIFICATE_NAME.parse().map_err(text)?;
        let mut params = CertificateParams::new(name, now);
        params.friendly_name = SERVICE_FRIENDLY_NAME.to_owned();
        let certificate = self_signed(&params, &key, rng).map_err(text)?;
        Ok(Self { key, certificate })
    }

    /// The token service's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}

/// One thing the user makes happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowInput {
    /// A new message arrives in the mailbox.
    MailArrives,
    /// The user reads an unseen message.
    MailRead,
    /// Time passes up to the engine's next timer.
    Wait,
    /// The push service is unreachable for the next publish (503 with `Retry-After`).
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
    /// The token service.
    TokenService,
    /// The push-notification service.
    PushService,
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
            Self::TokenService => "sts",
            Self::PushService => "push",
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

/// Runs the flow: the start, then each input of `script`. `seed` draws the tenant id and
/// the credential's key id, so the same inputs give the same steps.
///
/// # Errors
/// A message when the credentials cannot sign (no private key) or the cloud refuses the
/// certificate (expired, too small); failures inside the flow (a refused token, a busy
/// cloud) are steps.
pub fn simulate(
    credentials: &Credentials,
    cloud: &CloudIdentity,
    seed: u64,
    start_ms: u64,
    script: &[FlowInput],
) -> Result<Vec<FlowStep>, String> {
    let mut sim = Sim::start(credentials, cloud, seed, start_ms)?;
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
    tokens: TokenService,
    directory: Directory,
    push: PushService,
    tenant_guid: Guid,
    tenant_id: TenantId,
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
    fn start(
        credentials: &Credentials,
        cloud: &CloudIdentity,
        seed: u64,
        start_ms: u64,
    ) -> Result<Self, String> {
        let key = credentials.key.as_ref().ok_or(
            "the flow signs the proxy's assertion with the certificate's private key: generate a certificate, or load one together with its key",
        )?;
        let certificate = &credentials.certificate;
        let signer = RustCryptoSigner::new(certificate, key).map_err(text)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let now = Timestamp::from_millis(start_ms);
        let now_s = unix_seconds(now);

        // The cloud: its token service, the directory of organisations, the push service.
        let tokens = TokenService::new(
            TOKEN_SERVICE_URL.parse().map_err(text)?,
            cloud.certificate.clone(),
            &cloud.key,
        )
        .map_err(text)?;
        let mut directory = Directory::new();
        let domain: DnsName = certificate
            .dns_names()
            .first()
            .map(String::as_str)
            .or(certificate.subject_common_name())
            .unwrap_or(DEFAULT_DOMAIN)
            .parse()
            .or_else(|_| DEFAULT_DOMAIN.parse())
            .map_err(text)?;
        let registration = directory
            .register(domain.clone(), now_s, &mut rng)
            .map_err(|e| format!("the cloud refuses to register {domain}: {e}"))?;
        let tenant_guid = registration.tenant_id;
        let upload = CredentialUpload::for_certificate(certificate);
        directory
            .add_credential(&OrgRef::Tenant(tenant_guid), &upload, now_s, &mut rng)
            .map_err(|e| format!("the cloud refuses the certificate as a credential: {e}"))?;
        let push = PushService::new(PushConfig::default(), DeviceRegistry::new());

        // The proxy: its engine with the tenant and one mailbox.
        let tenant_id = TenantId::from_u128(tenant_guid.as_u128());
        let mut engine = Engine::new(EngineConfig::default()).map_err(text)?;
        let mut config = TenantConfig::new(tenant_id);
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
            tokens,
            directory,
            push,
            tenant_guid,
            tenant_id,
            tenant,
            mailbox,
            unseen: 0,
            badges: vec![None; DEVICES.len()],
            cloud_busy: false,
            steps: Vec::new(),
        };
        sim.step(
            Actor::TokenService,
            format!("{domain} is registered with the cloud as tenant {tenant_guid}"),
            None,
        );
        sim.step(
            Actor::TokenService,
            format!(
                "Setup step 3: certificate {} is uploaded as a credential of the Exchange principal 00000002-0000-0ff1-ce00-000000000000@{tenant_guid}",
                certificate.thumbprint()
            ),
            Some(format::pretty_value(&upload).unwrap_or_else(|e| e)),
        );
        sim.step(
            Actor::Engine,
            format!("The engine serves tenant {tenant_guid} with one mailbox (unseen 0)"),
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
                    "The push service will be unavailable for the next publish (503)".to_owned(),
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
                self.fetch_token()?;
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
            Event::TokenFailed { retry_at, .. } => self.step(
                Actor::Engine,
                format!(
                    "The token request failed; the engine asks again in {}",
                    show_duration(retry_at - self.now)
                ),
                None,
            ),
            other => self.step(Actor::Engine, format!("{other:?}"), None),
        }
        Ok(())
    }

    /// The proxy's driver: a self-signed assertion exchanged at the token service for an
    /// access token to the push service.
    fn fetch_token(&mut self) -> Result<(), String> {
        let now_s = unix_seconds(self.now);
        let assertion = sts_assertion(
            &self.signer,
            self.tokens.url().host(),
            self.tenant_guid,
            Lifetime::ONE_HOUR,
            now_s,
        )
        .map_err(text)?;
        let resource = Audience::new(
            well_known::EXCHANGE,
            well_known::EXCHANGE_ONLINE_HOST.parse().map_err(text)?,
            Realm::Tenant(self.tenant_guid),
        );
        let endpoint = self.tokens.token_endpoint(self.tenant_guid);
        let claims =
            format::pretty_json(assertion.claims.to_json().as_bytes()).unwrap_or_else(|e| e);
        self.step(
            Actor::Proxy,
            format!(
                "The proxy signs an assertion (RS256, x5t {}) and asks the token service for a token",
                self.signer.x5t()
            ),
            Some(format!(
                "POST {endpoint}\nContent-Type: {FORM_CONTENT_TYPE}\n\ngrant_type={JWT_BEARER_GRANT}\nassertion={}\nresource={resource}\n\nassertion claims:\n{claims}",
                abbreviate(&assertion.token)
            )),
        );
        let form = TokenRequest::new(assertion.token, resource).to_form();
        match self.tokens.handle_token_request(
            &self.directory,
            &self.tenant_guid.to_string(),
            &form,
            now_s,
        ) {
            Ok(answer) => {
                let shown = serde_json::json!({
                    "token_type": answer.token_type,
                    "access_token": abbreviate(&answer.access_token),
                    "expires_in": answer.expires_in.to_string(),
                    "not_before": answer.not_before.to_string(),
                    "expires_on": answer.expires_on.to_string(),
                    "resource": answer.resource.to_string(),
                });
                self.step(
                    Actor::TokenService,
                    format!(
                        "The token service checks the assertion against the uploaded certificate and issues an access token until {}",
                        format::unix_utc(answer.expires_on)
                    ),
                    Some(format!(
                        "HTTP/1.1 200 OK\n\n{}",
                        format::pretty_value(&shown).unwrap_or_else(|e| e)
                    )),
                );
                let bearer: BearerToken = answer.access_token.as_str().parse().map_err(text)?;
                let expires_at =
                    Timestamp::from_secs(u64::try_from(answer.expires_on).unwrap_or(0));
                self.engine
                    .handle_token(self.tenant, bearer, expires_at, self.now)
                    .map_err(text)?;
                self.step(
                    Actor::Engine,
                    "The engine keeps the token for every publish, and asks for a new one 5 min before it expires"
                        .to_owned(),
                    None,
                );
            }
            Err(failure) => {
                self.step(
                    Actor::TokenService,
                    format!("The token service refuses the assertion: {failure}"),
                    Some(format!(
                        "HTTP/1.1 {}\n\n{}",
                        failure.http_status(),
                        failure.to_json()
                    )),
                );
                self.engine
                    .handle_token_failed(self.tenant, self.now)
                    .map_err(text)?;
            }
        }
        Ok(())
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
        let outcome = self.push_service(&transmit);
        self.engine
            .handle_publish_result(transmit.id, outcome, self.now);
    }

    /// The push service's answer to one publish request.
    fn push_service(&mut self, transmit: &Transmit) -> PublishOutcome {
        if std::mem::take(&mut self.cloud_busy) {
            self.step(
                Actor::PushService,
                "The push service is unavailable: 503 Service Unavailable".to_owned(),
                Some("HTTP/1.1 503 Service Unavailable\nRetry-After: 5".to_owned()),
            );
            return PublishOutcome::RetryLater {
                retry_after: Some(Duration::from_secs(5)),
            };
        }
        let now_s = unix_seconds(self.now);
        let authorization = format!("Bearer {}", transmit.token.expose());
        let published = self.push.publish(
            &self.tokens,
            &self.directory,
            Some(&authorization),
            &transmit.body,
            now_s,
        );
        match published {
            Ok(answer) => {
                self.step(
                    Actor::PushService,
                    format!(
                        "The push service verifies the access token (tenant {}) and accepts the batch",
                        self.tenant_guid
                    ),
                    None,
                );
                if let Ok(batch) = parse_batch(&transmit.body, &Limits::default()) {
                    self.deliver(&batch);
                }
                let body = serde_json::to_string(&answer).unwrap_or_else(|e| e.to_string());
                self.step(
                    Actor::PushService,
                    format!("The push service answers: {} accepted", answer.accepted),
                    Some(format!(
                        "HTTP/1.1 200 OK\nContent-Type: {CONTENT_TYPE}\n\n{body}"
                    )),
                );
                PublishOutcome::Accepted { dead: answer.dead }
            }
            Err(failure) => {
                self.refused(&failure);
                match failure.status {
                    401 => PublishOutcome::Failed(FailureReason::Unauthorized),
                    503 => PublishOutcome::RetryLater { retry_after: None },
                    _ => PublishOutcome::Failed(FailureReason::Rejected),
                }
            }
        }
    }

    fn refused(&mut self, failure: &PushFailure) {
        let challenge = failure
            .www_authenticate()
            .map(|c| format!("WWW-Authenticate: {c}\n"))
            .unwrap_or_default();
        self.step(
            Actor::PushService,
            format!("The push service refuses the batch: {failure}"),
            Some(format!(
                "HTTP/1.1 {}\n{challenge}\n{}",
                failure.status,
                failure.to_json()
            )),
        );
    }

    /// What the push service sent to each device of the batch, read from its registry.
    fn deliver(&mut self, batch: &PublishBatch) {
        for notification in batch.notifications() {
            for recipient in notification.recipients() {
                let Some(index) = DEVICES
                    .iter()
                    .position(|(_, id)| *id == recipient.device_id.as_str())
                else {
                    continue;
                };
                let name = DEVICES[index].0;
                let key = DeviceKey::new(
                    self.tenant_id,
                    recipient.app_id.clone(),
                    recipient.device_id.clone(),
                );
                let Some(record) = self.push.devices().get(&key) else {
                    continue;
                };
                let badge = record.badge();
                let request = record.apns().map(|request| {
                    let headers: String = request
                        .headers()
                        .iter()
                        .map(|(name, value)| format!("{name}: {value}\n"))
                        .collect();
                    format!(
                        "POST {}\n{headers}\n{}",
                        request.path(),
                        String::from_utf8_lossy(request.body())
                    )
                });
                self.step(
                    Actor::Apns,
                    format!("The push service sends {name}'s badge to APNs"),
                    request,
                );
                self.badges[index] = Some(badge.get());
                let title = if badge.is_zero() {
                    format!("{name} clears its badge (0 is sent, never skipped)")
                } else {
                    format!("{name} shows the badge {badge}")
                };
                self.step(Actor::Device, title, None);
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
pub(crate) mod tests {
    use super::*;
    use crate::model::credentials::tests::{NOW, generated};
    use pushproxy_cert::KeySize;
    use std::sync::OnceLock;

    const START: u64 = 1_772_366_400_000; // NOW in Unix milliseconds
    const SEED: u64 = 21;

    /// The token service's identity, one key per test binary.
    pub(crate) fn cloud() -> CloudIdentity {
        static KEY: OnceLock<String> = OnceLock::new();
        let pem = KEY.get_or_init(|| {
            let mut rng = StdRng::seed_from_u64(22);
            let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
            key.to_pkcs8_pem().unwrap().as_str().to_owned()
        });
        let mut rng = StdRng::seed_from_u64(23);
        CloudIdentity::new(PrivateKey::from_pem(pem).unwrap(), NOW, &mut rng).unwrap()
    }

    fn run(script: &[FlowInput]) -> Vec<FlowStep> {
        simulate(&generated(), &cloud(), SEED, START, script).unwrap()
    }

    fn last_badges(steps: &[FlowStep]) -> Vec<Option<u32>> {
        steps.last().unwrap().badges.clone()
    }

    fn titled<'a>(steps: &'a [FlowStep], start: &str) -> Vec<&'a FlowStep> {
        steps
            .iter()
            .filter(|s| s.title.starts_with(start))
            .collect()
    }

    #[test]
    fn the_default_script_ends_with_the_latest_count_on_every_device() {
        let steps = run(&DEFAULT_SCRIPT);
        // Two arrivals, one read: 1 unseen, and both devices show it.
        assert_eq!(steps.last().unwrap().unseen, 1);
        assert_eq!(last_badges(&steps), vec![Some(1), Some(1)]);
        // The organisation was registered and its certificate uploaded.
        assert!(steps[0].title.starts_with("contoso.com is registered"));
        assert!(steps[1].title.starts_with("Setup step 3"));
        // One assertion was exchanged for one access token.
        assert_eq!(titled(&steps, "The proxy signs an assertion").len(), 1);
        let issued = titled(&steps, "The token service checks the assertion");
        assert_eq!(issued.len(), 1);
        assert!(
            issued[0]
                .message
                .as_deref()
                .unwrap()
                .contains("\"expires_in\": \"3600\"")
        );
        // Every publish was accepted by the push service.
        assert_eq!(
            titled(&steps, "The push service verifies the access token").len(),
            2
        );
        // The two arrivals inside the window went out as one batch carrying 2.
        let first_batch = titled(&steps, "The proxy publishes")[0];
        let message = first_batch.message.as_deref().unwrap();
        assert!(message.contains("\"unseenEmailCount\": 2"), "{message}");
        assert!(message.starts_with(
            "POST https://outlook.office365.com/PushNotifications/service.svc/PublishOnPremNotifications"
        ));
        assert!(steps.iter().any(|s| s.title.starts_with("Coalesced")));
        // The APNs request is the push service's own.
        let apns = steps.iter().find(|s| s.actor == Actor::Apns).unwrap();
        let request = apns.message.as_deref().unwrap();
        assert!(request.contains("apns-push-type: alert"), "{request}");
        assert!(request.ends_with(r#"{"aps":{"badge":2}}"#), "{request}");
        // Time only moves forward.
        assert!(steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    }

    #[test]
    fn the_same_inputs_give_the_same_steps() {
        assert_eq!(run(&DEFAULT_SCRIPT), run(&DEFAULT_SCRIPT));
        let other = simulate(&generated(), &cloud(), SEED + 1, START, &DEFAULT_SCRIPT).unwrap();
        assert_ne!(
            other[0].title,
            run(&[])[0].title,
            "the seed draws the tenant id"
        );
    }

    #[test]
    fn a_cleared_badge_is_sent() {
        let steps = run(&[
            FlowInput::MailArrives,
            FlowInput::Wait,
            FlowInput::MailRead,
            FlowInput::Wait,
        ]);
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
        let steps = run(&[
            FlowInput::CloudBusy,
            FlowInput::MailArrives,
            FlowInput::Wait,
            FlowInput::Wait,
        ]);
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
    fn the_engine_refreshes_its_token_five_minutes_before_expiry() {
        // The first wait sends the subscriptions' first count (0); with nothing queued
        // afterwards, each wait goes to the token refresh, 55 minutes after the token.
        let steps = run(&[FlowInput::Wait, FlowInput::Wait, FlowInput::Wait]);
        let assertions = titled(&steps, "The proxy signs an assertion");
        let times: Vec<u64> = assertions.iter().map(|s| s.at_ms).collect();
        assert_eq!(times, vec![0, 55 * 60 * 1000, 110 * 60 * 1000]);
        assert_eq!(last_badges(&steps), vec![Some(0), Some(0)]);
    }

    #[test]
    fn without_a_private_key_the_flow_says_what_is_missing() {
        let credentials = generated();
        let loaded = Credentials::load(&credentials.certificate.to_pem(), "").unwrap();
        let error = simulate(&loaded, &cloud(), SEED, START, &DEFAULT_SCRIPT).unwrap_err();
        assert!(error.contains("private key"), "{error}");
    }

    #[test]
    fn an_expired_certificate_is_refused_by_the_cloud() {
        let years_later = START + 6 * 365 * 24 * 3600 * 1000;
        let error =
            simulate(&generated(), &cloud(), SEED, years_later, &DEFAULT_SCRIPT).unwrap_err();
        assert!(
            error.starts_with("the cloud refuses the certificate"),
            "{error}"
        );
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
