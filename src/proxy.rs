//! The proxy driver: the thin tokio layer around [`pushproxy_engine::Engine`].
//!
//! One task owns the engine. It feeds it inputs (from the local HTTP API, from finished
//! publish requests and token fetches, and from its timer), carries out what the engine
//! decides (POST a batch, fetch a token), and never decides anything itself. Publishing and
//! token fetching run as their own tasks, each with a timeout, and report back through the
//! same channel, so a slow cloud never blocks the API.
//!
//! The local HTTP API stands in for what Exchange feeds the proxy: device subscriptions and
//! mailbox changes. It also serves `/metrics` (Prometheus text) and `/healthz`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use pushproxy_cert::Certificate;
use pushproxy_config::{DnsName, HttpsUrl};
use pushproxy_engine::{
    BearerToken, Engine, EngineConfig, Event, FailureReason, MailboxChange, MailboxHandle,
    PublishOutcome, TenantConfig, TenantHandle, Timestamp, Transmit, TransmitId,
};
use pushproxy_payload::wire::PublishResponse;
use pushproxy_payload::{AppId, DeviceId, InstallationId, Recipient, TenantId, UnseenCount};
use pushproxy_token::cache::{CacheKey, CachePolicy, Lookup, Ticket, TokenCache};
use pushproxy_token::metadata::MetadataDocument;
use pushproxy_token::mint::{Lifetime, sts_assertion};
use pushproxy_token::principal::{Audience, Host, Realm, well_known};
use pushproxy_token::signer::{Backend, Signer};
use pushproxy_token::sts::{OAuthError, TokenRequest, TokenResponse};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::datadir::DataDir;

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// The on-premises data directory (certificate, key, configuration).
    pub data_dir: PathBuf,
    /// Where the local API listens (loopback by default; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The engine's policy.
    pub engine: EngineConfig,
    /// How long one HTTP request to the cloud may take.
    pub request_timeout: Duration,
    /// The signing backend.
    pub backend: Backend,
}

impl ProxySettings {
    /// Defaults for a data directory: loopback on port 0, the engine's defaults.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            engine: EngineConfig::default(),
            request_timeout: Duration::from_secs(30),
            backend: Backend::best_available(),
        }
    }
}

/// What the proxy learnt from the data directory at start.
#[derive(Debug)]
pub struct OnPremises {
    /// The organisation the proxy app serves.
    pub organization: DnsName,
    /// The push service (`<Uri>` of the app).
    pub push_uri: HttpsUrl,
    /// The token service's metadata document URL (the `MicrosoftSts` auth server).
    pub metadata_url: HttpsUrl,
    /// The signing certificate (AuthConfig's current one).
    pub certificate: Certificate,
    /// The signer built once from the certificate's key.
    pub signer: Box<dyn Signer>,
}

impl OnPremises {
    /// Reads the proxy app, the auth server and the current certificate with its key; says
    /// which setup step is missing when something is.
    pub fn load(data: &DataDir, backend: Backend) -> Result<Self> {
        let config = data.config()?;
        let app = config.proxy_app().ok_or_else(|| {
            anyhow!(
                "the push notification proxy is not enabled (setup step 4): run `pushproxy \
                 push-proxy enable --organization <tenant domain>`"
            )
        })?;
        if !app.enabled {
            bail!(
                "the push notification proxy OnPrem-Proxy is disabled: run `pushproxy push-proxy \
                 enable --organization {}`",
                app.organization
            );
        }
        let server = config
            .auth_server(pushproxy_config::AUTH_SERVER_NAME)
            .ok_or_else(|| {
                anyhow!(
                    "there is no MicrosoftSts auth server (setup step 2): run `pushproxy setup \
                     --tenant-domain {}`",
                    app.organization
                )
            })?;
        let (certificate, key) = data.current_signing_certificate()?;
        let signer = backend.signer(&certificate, &key)?;
        Ok(Self {
            organization: app.organization.clone(),
            push_uri: app.uri.clone(),
            metadata_url: server.auth_metadata_url.clone(),
            certificate,
            signer,
        })
    }
}

/// The current time as the engine counts it (milliseconds since the Unix epoch).
pub fn engine_now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The token service as the proxy sees it: its issuance endpoint and the tenant's realm.
#[derive(Debug, Clone)]
pub struct TokenService {
    /// The `OAuth2` issuance endpoint.
    pub endpoint: String,
    /// Its host (the assertion's audience host).
    pub host: Host,
    /// The tenant id (the metadata document's realm).
    pub realm: pushproxy_token::principal::Guid,
}

/// Which step of getting a token failed, for the probe and the logs.
#[derive(Debug, thiserror::Error)]
pub enum TokenFailure {
    /// The metadata document could not be fetched or read.
    #[error("cannot read the token service's metadata at {url}: {reason}")]
    Metadata {
        /// Where it was fetched from.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The token service could not be reached.
    #[error("cannot reach the token service at {endpoint}: {reason}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The token service refused the assertion.
    #[error("the token service refused the assertion ({status}): {error}: {description}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The OAuth error code.
        error: String,
        /// Its description.
        description: String,
    },
    /// Minting or reading failed locally.
    #[error("{0}")]
    Local(String),
}

/// Fetches and reads the metadata document.
pub async fn discover(
    http: &reqwest::Client,
    metadata_url: &HttpsUrl,
) -> std::result::Result<(MetadataDocument, TokenService), TokenFailure> {
    let fail = |reason: String| TokenFailure::Metadata {
        url: metadata_url.to_string(),
        reason,
    };
    let response = http
        .get(metadata_url.as_str())
        .send()
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| fail(error_chain(&e)))?;
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}: {}", truncate(&body, 300))));
    }
    let document = MetadataDocument::parse(&body).map_err(|e| fail(e.to_string()))?;
    let endpoint = document
        .issuance_endpoint()
        .map_err(|e| fail(e.to_string()))?
        .location
        .clone();
    let realm = document
        .realm
        .as_deref()
        .ok_or_else(|| fail("it has no realm".to_owned()))?
        .parse()
        .map_err(|e| fail(format!("its realm is not a tenant id: {e}")))?;
    let host = url_host(&endpoint)
        .ok_or_else(|| fail(format!("its OAuth2 endpoint `{endpoint}` has no host")))?
        .parse()
        .map_err(|e| fail(format!("its OAuth2 endpoint's host: {e}")))?;
    Ok((
        document,
        TokenService {
            endpoint,
            host,
            realm,
        },
    ))
}

/// The push service resource a token is asked for: Exchange's principal at the push URI's
/// host, in the tenant's realm.
pub fn push_resource(
    push_uri: &HttpsUrl,
    realm: pushproxy_token::principal::Guid,
) -> Result<Audience> {
    let host: Host = push_uri
        .host()
        .parse()
        .with_context(|| format!("the push URI's host `{}`", push_uri.host()))?;
    Ok(Audience::new(
        well_known::EXCHANGE,
        host,
        Realm::Tenant(realm),
    ))
}

/// Exchanges a fresh assertion for an access token.
pub async fn fetch_token(
    http: &reqwest::Client,
    service: &TokenService,
    signer: &dyn Signer,
    resource: Audience,
    now: i64,
) -> std::result::Result<TokenResponse, TokenFailure> {
    let assertion = sts_assertion(
        signer,
        &service.host,
        service.realm,
        Lifetime::from_secs(600).map_err(|e| TokenFailure::Local(e.to_string()))?,
        now,
    )
    .map_err(|e| TokenFailure::Local(e.to_string()))?;
    let form = TokenRequest::new(assertion.token, resource).to_form();
    let response = http
        .post(&service.endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| TokenFailure::Unreachable {
            endpoint: service.endpoint.clone(),
            reason: error_chain(&e),
        })?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| TokenFailure::Unreachable {
            endpoint: service.endpoint.clone(),
            reason: error_chain(&e),
        })?;
    if !status.is_success() {
        let (error, description) = match OAuthError::from_json(&body) {
            Ok(e) => (e.error, e.error_description.unwrap_or_default()),
            Err(_) => ("unexpected_response".to_owned(), truncate(&body, 300)),
        };
        return Err(TokenFailure::Refused {
            status: status.as_u16(),
            error,
            description,
        });
    }
    TokenResponse::from_json(&body)
        .map_err(|e| TokenFailure::Local(format!("the token response cannot be read: {e}")))
}

/// The answer to one publish request, as the engine needs it.
pub fn classify_publish(status: u16, retry_after: Option<&str>, body: &str) -> PublishOutcome {
    match status {
        200..=299 => match PublishResponse::from_json(body.as_bytes()) {
            Ok(response) => PublishOutcome::from(response),
            Err(_) => PublishOutcome::Accepted { dead: Vec::new() },
        },
        401 | 403 => PublishOutcome::Failed(FailureReason::Unauthorized),
        429 | 503 => PublishOutcome::RetryLater {
            retry_after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        400..=499 => PublishOutcome::Failed(FailureReason::Rejected),
        _ => PublishOutcome::Failed(FailureReason::Unreachable),
    }
}

/// Something that happened, for whoever watches the proxy (the demo prints these).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ProxyEvent {
    /// An access token arrived.
    Token {
        /// When it expires (Unix seconds).
        expires_on: i64,
    },
    /// Fetching a token failed.
    TokenFailed {
        /// Why.
        reason: String,
    },
    /// A batch was accepted by the cloud.
    Published {
        /// How many recipients it carried.
        recipients: usize,
        /// After how many attempts.
        attempts: u32,
    },
    /// A publish attempt failed.
    PublishFailed {
        /// Why.
        reason: String,
    },
    /// The cloud reported a device dead; it was removed.
    DeviceRemoved {
        /// The device.
        device_id: String,
    },
}

enum Command {
    Subscribe {
        mailbox: String,
        recipient: Recipient,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Unsubscribe {
        device: DeviceId,
        reply: oneshot::Sender<bool>,
    },
    Mailbox {
        mailbox: String,
        changes: Vec<MailboxChange>,
        reply: oneshot::Sender<Result<u32, String>>,
    },
    State {
        reply: oneshot::Sender<ProxyState>,
    },
    Metrics {
        reply: oneshot::Sender<String>,
    },
    Published {
        id: TransmitId,
        outcome: PublishOutcome,
    },
    Token {
        tenant: TenantHandle,
        ticket: Ticket<CacheKey>,
        result: std::result::Result<TokenResponse, String>,
    },
}

/// A snapshot of the proxy's state (`GET /state`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyState {
    /// The tenant id.
    pub tenant_id: String,
    /// Each mailbox's unseen count.
    pub mailboxes: HashMap<String, u32>,
    /// Subscriptions.
    pub subscriptions: usize,
    /// Entries waiting to be published.
    pub queue_depth: usize,
    /// Batches published.
    pub published_batches: u64,
    /// Recipients published.
    pub published_recipients: u64,
    /// Whether a token is held and usable.
    pub token_usable: bool,
    /// The engine's memory estimate.
    pub memory_bytes: usize,
}

/// A running proxy: its local API address, its events, and the way to stop it.
#[derive(Debug)]
pub struct RunningProxy {
    /// The local API's address.
    pub addr: SocketAddr,
    /// The tenant id learnt from the metadata document.
    pub tenant_id: String,
    events: broadcast::Sender<ProxyEvent>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningProxy {
    /// Subscribes to the proxy's events.
    pub fn events(&self) -> broadcast::Receiver<ProxyEvent> {
        self.events.subscribe()
    }

    /// Stops the proxy and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

#[derive(Clone)]
struct ApiState {
    commands: mpsc::Sender<Command>,
}

/// Starts the proxy: reads the data directory, discovers the token service, starts the engine
/// task and the local API. Returns once the API listens.
pub async fn spawn(settings: ProxySettings) -> Result<RunningProxy> {
    let data = DataDir::open(&settings.data_dir)?;
    // A next certificate whose effective date has come becomes current now.
    let now_utc = time::OffsetDateTime::now_utc();
    let rolled = data
        .store()
        .update_config(|doc| -> Result<_, anyhow::Error> { Ok(doc.roll_forward(now_utc)) })?;
    for message in &rolled.messages {
        tracing::info!(%message, "auth config");
    }
    let on_prem = OnPremises::load(&data, settings.backend)?;
    let http = reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .context("cannot build the HTTP client")?;
    let (_, service) = discover(&http, &on_prem.metadata_url).await?;
    let tenant_id: TenantId = service
        .realm
        .to_string()
        .parse()
        .context("the realm is not a tenant id")?;
    let resource = push_resource(&on_prem.push_uri, service.realm)?;
    let publish_url = pushproxy_payload::wire::publish_url(on_prem.push_uri.as_str());

    let mut engine = Engine::new(settings.engine.clone())?;
    let now = engine_now();
    let tenant = engine.add_tenant(TenantConfig::new(tenant_id), now)?;

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let (commands, rx) = mpsc::channel(1024);
    let (events, _) = broadcast::channel(1024);
    let (shutdown_tx, shutdown_rx) = oneshot::channel();

    let app = router(ApiState {
        commands: commands.clone(),
    });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let token_key = CacheKey {
        tenant: service.realm,
        resource: resource.clone(),
    };
    let driver = Driver {
        engine,
        tenant,
        tenant_id: tenant_id.to_string(),
        mailboxes: HashMap::new(),
        http,
        service: Arc::new(service),
        signer: Arc::from(on_prem.signer),
        resource,
        publish_url: Arc::new(publish_url),
        commands,
        events: events.clone(),
        certificate_not_after: on_prem.certificate.not_after().unix_timestamp(),
        token_obtained_at: None,
        tokens: TokenCache::new(token_policy(&settings.engine)),
        token_key,
        token_expires_at: Timestamp::ZERO,
    };
    tracing::info!(
        %addr,
        organization = %on_prem.organization,
        tenant = %tenant_id,
        push = %on_prem.push_uri,
        "proxy started"
    );
    let task = tokio::spawn(async move {
        driver.run(rx, shutdown_rx).await;
        server.abort();
    });
    Ok(RunningProxy {
        addr,
        tenant_id: tenant_id.to_string(),
        events,
        shutdown: Some(shutdown_tx),
        task,
    })
}

/// The token cache's rules, matched to the engine's: the cache wants a refresh a little
/// before the engine asks for one, so the engine's request is always answered by a fetch, and
/// it never holds a refresh back (the engine already paces its requests).
fn token_policy(engine: &EngineConfig) -> CachePolicy {
    let engine_margin = i64::try_from(engine.token_refresh_before.as_secs()).unwrap_or(i64::MAX);
    CachePolicy {
        refresh_margin: engine_margin.saturating_add(60),
        min_refresh_interval: 0,
        in_flight_deadline: i64::try_from(engine.token_request_timeout.as_secs()).unwrap_or(120),
        initial_backoff: 1,
        max_backoff: 60,
    }
}

/// Runs the proxy until Ctrl-C.
pub async fn serve(settings: ProxySettings) -> Result<()> {
    let running = spawn(settings).await?;
    println!("pushproxy proxy listening on http://{}", running.addr);
    tokio::signal::ctrl_c().await.ok();
    running.stop().await;
    Ok(())
}

struct Driver {
    engine: Engine,
    tenant: TenantHandle,
    tenant_id: String,
    mailboxes: HashMap<String, MailboxHandle>,
    http: reqwest::Client,
    service: Arc<TokenService>,
    signer: Arc<dyn Signer>,
    resource: Audience,
    publish_url: Arc<String>,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<ProxyEvent>,
    certificate_not_after: i64,
    token_obtained_at: Option<i64>,
    /// Access tokens per (tenant, resource): the engine's requests are answered from here,
    /// and at most one fetch per key is in flight.
    tokens: TokenCache<CacheKey, BearerToken>,
    token_key: CacheKey,
    token_expires_at: Timestamp,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, mut shutdown: oneshot::Receiver<()>) {
        loop {
            self.drain();
            let wake = self.engine.poll_timeout();
            let sleep = async {
                match wake {
                    Some(at) => {
                        let now = engine_now();
                        let wait = at.saturating_duration_since(now);
                        tokio::time::sleep(wait).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                command = rx.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                () = sleep => self.engine.handle_timeout(engine_now()),
            }
        }
        tracing::info!("proxy stopped");
    }

    /// Carries out everything the engine has decided.
    fn drain(&mut self) {
        let now = engine_now();
        while let Some(event) = self.engine.poll_event() {
            self.on_event(event);
        }
        while let Some(transmit) = self.engine.poll_transmit(now) {
            self.send(transmit);
        }
        while let Some(event) = self.engine.poll_event() {
            self.on_event(event);
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::NeedToken { tenant } => self.provide_token(tenant),
            Event::Published {
                recipients,
                attempts,
                ..
            } => {
                tracing::debug!(recipients, attempts, "batch published");
                let _ = self.events.send(ProxyEvent::Published {
                    recipients,
                    attempts,
                });
            }
            Event::PublishFailed { reason, .. } => {
                if reason == FailureReason::Unauthorized {
                    // The push service refused the token: never hand it out again.
                    self.tokens.remove(&self.token_key);
                }
                tracing::warn!(%reason, "publish failed; will retry");
                let _ = self.events.send(ProxyEvent::PublishFailed {
                    reason: reason.to_string(),
                });
            }
            Event::DeviceRemoved { device_id, .. } => {
                tracing::info!(device = %device_id, "device reported dead; subscription removed");
                let _ = self.events.send(ProxyEvent::DeviceRemoved {
                    device_id: device_id.to_string(),
                });
            }
            Event::TokenFailed { .. } => {}
            other => tracing::trace!(?other, "engine event"),
        }
    }

    /// Answers the engine's request for a token from the cache, or starts the one fetch of
    /// the key when the cache says so.
    fn provide_token(&mut self, tenant: TenantHandle) {
        let now = engine_now();
        match self.tokens.get(&self.token_key, unix_now()) {
            Lookup::Fresh(token) => {
                let token = token.clone();
                let expires_at = self.token_expires_at;
                if let Err(e) = self.engine.handle_token(tenant, token, expires_at, now) {
                    tracing::warn!(error = %e, "the cached token was refused by the engine");
                    self.tokens.remove(&self.token_key);
                    // Fails only for an unknown tenant handle; this one came from the engine.
                    let _ = self.engine.handle_token_failed(tenant, now);
                }
            }
            Lookup::Refresh { ticket, .. } => self.fetch_token(tenant, ticket),
            // A fetch is in flight (its answer feeds the engine) or the cache is backing off
            // after a failure (the engine asks again on its own schedule).
            Lookup::Stale(_) | Lookup::Pending { .. } => {}
        }
    }

    fn fetch_token(&self, tenant: TenantHandle, ticket: Ticket<CacheKey>) {
        let http = self.http.clone();
        let service = Arc::clone(&self.service);
        let signer = Arc::clone(&self.signer);
        let resource = self.resource.clone();
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let result = fetch_token(&http, &service, signer.as_ref(), resource, unix_now())
                .await
                .map_err(|e| e.to_string());
            let _ = commands
                .send(Command::Token {
                    tenant,
                    ticket,
                    result,
                })
                .await;
        });
    }

    fn send(&self, transmit: Transmit) {
        let http = self.http.clone();
        let url = Arc::clone(&self.publish_url);
        let commands = self.commands.clone();
        let deadline = transmit.deadline.saturating_duration_since(engine_now());
        tokio::spawn(async move {
            let request = http
                .post(url.as_str())
                .bearer_auth(transmit.token.expose())
                .header("content-type", "application/json")
                .body(transmit.body)
                .send();
            let outcome = match tokio::time::timeout(deadline, request).await {
                Err(_) => PublishOutcome::Failed(FailureReason::TimedOut),
                Ok(Err(e)) if e.is_timeout() => PublishOutcome::Failed(FailureReason::TimedOut),
                Ok(Err(e)) => {
                    tracing::debug!(error = %error_chain(&e), "publish request failed");
                    PublishOutcome::Failed(FailureReason::Unreachable)
                }
                Ok(Ok(response)) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = response.text().await.unwrap_or_default();
                    if status >= 400 {
                        tracing::warn!(status, body = %truncate(&body, 300), "publish refused");
                    }
                    classify_publish(status, retry_after.as_deref(), &body)
                }
            };
            let _ = commands
                .send(Command::Published {
                    id: transmit.id,
                    outcome,
                })
                .await;
        });
    }

    fn mailbox(&mut self, name: &str) -> Result<MailboxHandle, String> {
        if let Some(handle) = self.mailboxes.get(name) {
            return Ok(*handle);
        }
        let handle = self
            .engine
            .add_mailbox(self.tenant, UnseenCount::ZERO)
            .map_err(|e| e.to_string())?;
        self.mailboxes.insert(name.to_owned(), handle);
        Ok(handle)
    }

    fn handle(&mut self, command: Command) {
        let now = engine_now();
        match command {
            Command::Subscribe {
                mailbox,
                recipient,
                reply,
            } => {
                let result = self.mailbox(&mailbox).and_then(|m| {
                    self.engine
                        .subscribe(m, &recipient, now)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                });
                let _ = reply.send(result);
            }
            Command::Unsubscribe { device, reply } => {
                let removed = self
                    .engine
                    .unsubscribe_device(self.tenant, &device, now)
                    .unwrap_or(false);
                let _ = reply.send(removed);
            }
            Command::Mailbox {
                mailbox,
                changes,
                reply,
            } => {
                let result = self.mailbox(&mailbox).and_then(|m| {
                    for change in changes {
                        self.engine
                            .handle_mailbox_change(m, change, now)
                            .map_err(|e| e.to_string())?;
                    }
                    self.engine
                        .unseen(m)
                        .map(|c| c.get())
                        .map_err(|e| e.to_string())
                });
                let _ = reply.send(result);
            }
            Command::State { reply } => {
                let stats = self.engine.stats();
                let status = self.engine.tenant_status(self.tenant).ok();
                let mailboxes = self
                    .mailboxes
                    .iter()
                    .filter_map(|(name, h)| {
                        Some((name.clone(), self.engine.unseen(*h).ok()?.get()))
                    })
                    .collect();
                let _ = reply.send(ProxyState {
                    tenant_id: self.tenant_id.clone(),
                    mailboxes,
                    subscriptions: stats.subscriptions,
                    queue_depth: stats.queue_depth,
                    published_batches: stats.published_batches,
                    published_recipients: stats.published_recipients,
                    token_usable: status.is_some_and(|s| s.token_usable),
                    memory_bytes: stats.memory_bytes,
                });
            }
            Command::Metrics { reply } => {
                let _ = reply.send(self.metrics());
            }
            Command::Published { id, outcome } => {
                self.engine.handle_publish_result(id, outcome, now);
            }
            Command::Token {
                tenant,
                ticket,
                result,
            } => self.token_arrived(tenant, ticket, result),
        }
    }

    fn token_arrived(
        &mut self,
        tenant: TenantHandle,
        ticket: Ticket<CacheKey>,
        result: std::result::Result<TokenResponse, String>,
    ) {
        let now = engine_now();
        let token = result.and_then(|response| {
            let token = response
                .access_token
                .as_str()
                .parse::<BearerToken>()
                .map_err(|e| format!("the token service sent an unusable token: {e}"))?;
            Ok((token, response.expires_on))
        });
        match token {
            Ok((token, expires_on)) => {
                self.tokens
                    .complete(ticket, token.clone(), expires_on, unix_now());
                self.token_expires_at = Timestamp::from_millis(
                    u64::try_from(expires_on.saturating_mul(1000)).unwrap_or(0),
                );
                if let Err(e) = self
                    .engine
                    .handle_token(tenant, token, self.token_expires_at, now)
                {
                    tracing::warn!(error = %e, "token refused by the engine");
                    self.tokens.remove(&self.token_key);
                    // Fails only for an unknown tenant handle; this one came from the engine.
                    let _ = self.engine.handle_token_failed(tenant, now);
                } else {
                    self.token_obtained_at = Some(unix_now());
                    tracing::info!(expires_on, "access token obtained");
                    let _ = self.events.send(ProxyEvent::Token { expires_on });
                }
            }
            Err(reason) => {
                self.tokens.fail(ticket, unix_now());
                tracing::warn!(%reason, "cannot get an access token");
                let _ = self.events.send(ProxyEvent::TokenFailed { reason });
                // Fails only for an unknown tenant handle; this one came from the engine.
                let _ = self.engine.handle_token_failed(tenant, now);
            }
        }
    }

    /// The Prometheus text exposition of the engine's counters.
    fn metrics(&self) -> String {
        let stats = self.engine.stats();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
            let _ = writeln!(out, "# HELP pushproxy_{name} {help}");
            let _ = writeln!(out, "# TYPE pushproxy_{name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "pushproxy_{name}{labels} {value}");
            }
        };
        let n = |v: u64| v as f64;
        metric(
            "published_batches_total",
            "counter",
            "Batches the cloud accepted.",
            &[("", n(stats.published_batches))],
        );
        metric(
            "published_recipients_total",
            "counter",
            "Recipient badge updates the cloud accepted.",
            &[("", n(stats.published_recipients))],
        );
        metric(
            "coalesced_total",
            "counter",
            "Count changes absorbed by an entry already waiting (latest value wins).",
            &[("", n(stats.coalesced))],
        );
        metric(
            "retried_total",
            "counter",
            "Publish attempts retried.",
            &[("", n(stats.retried))],
        );
        let failed: Vec<(String, f64)> = [
            FailureReason::RetryLater,
            FailureReason::Unauthorized,
            FailureReason::Rejected,
            FailureReason::Unreachable,
            FailureReason::TimedOut,
        ]
        .into_iter()
        .map(|r| (format!("{{reason=\"{r}\"}}"), n(stats.failed.get(r))))
        .collect();
        let failed: Vec<(&str, f64)> = failed.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(
            "failed_total",
            "counter",
            "Failed publish attempts by reason.",
            &failed,
        );
        metric(
            "dead_devices_removed_total",
            "counter",
            "Subscriptions removed because the cloud reported the device dead.",
            &[("", n(stats.dead_removed))],
        );
        metric(
            "queue_depth",
            "gauge",
            "Subscriptions waiting to be published.",
            &[("", stats.queue_depth as f64)],
        );
        metric(
            "subscriptions",
            "gauge",
            "Device subscriptions.",
            &[("", stats.subscriptions as f64)],
        );
        metric(
            "engine_memory_bytes",
            "gauge",
            "The engine's estimate of its own memory.",
            &[("", stats.memory_bytes as f64)],
        );
        let now = unix_now();
        let token_age = self
            .token_obtained_at
            .map(|at| (now - at) as f64)
            .unwrap_or(-1.0);
        metric(
            "token_age_seconds",
            "gauge",
            "Seconds since the current access token was obtained (-1: none yet).",
            &[("", token_age)],
        );
        metric(
            "certificate_days_to_expiry",
            "gauge",
            "Days until the OAuth certificate expires.",
            &[("", ((self.certificate_not_after - now) / 86_400) as f64)],
        );
        out
    }
}

fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/state", get(state_handler))
        .route("/subscriptions", post(subscribe))
        .route("/subscriptions/{device}", delete(unsubscribe))
        .route("/mailboxes/{mailbox}/messages", post(deliver))
        .route("/mailboxes/{mailbox}/read", post(read))
        .route("/mailboxes/{mailbox}/unseen", put(set_unseen))
        .with_state(state)
}

/// A JSON error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn ask<T>(
    state: &ApiState,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    state
        .commands
        .send(make(tx))
        .await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "the proxy is stopping"))?;
    rx.await
        .map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "the proxy is stopping"))
}

async fn metrics(State(state): State<ApiState>) -> Response {
    match ask(&state, |reply| Command::Metrics { reply }).await {
        Ok(text) => ([("content-type", "text/plain; version=0.0.4")], text).into_response(),
        Err(response) => response,
    }
}

async fn state_handler(State(state): State<ApiState>) -> Response {
    match ask(&state, |reply| Command::State { reply }).await {
        Ok(snapshot) => Json(snapshot).into_response(),
        Err(response) => response,
    }
}

/// `POST /subscriptions`: a device subscribes to a mailbox.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The mailbox (e.g. `alice@fabrikam.com`).
    pub mailbox: String,
    /// The app id.
    pub app_id: String,
    /// The device id (the APNs device token).
    pub device_id: String,
    /// The app installation.
    #[serde(default)]
    pub installation_id: Option<String>,
}

fn parse_recipient(request: &SubscribeRequest) -> Result<Recipient, String> {
    let app: AppId = request.app_id.parse().map_err(|e| format!("appId: {e}"))?;
    let device: DeviceId = request
        .device_id
        .parse()
        .map_err(|e| format!("deviceId: {e}"))?;
    let mut recipient = Recipient::new(app, device);
    if let Some(installation) = &request.installation_id {
        recipient.installation_id = Some(
            installation
                .parse::<InstallationId>()
                .map_err(|e| format!("installationId: {e}"))?,
        );
    }
    recipient.last_subscription_update = Some(
        pushproxy_payload::Timestamp::from_unix_seconds(unix_now()).map_err(|e| e.to_string())?,
    );
    Ok(recipient)
}

async fn subscribe(State(state): State<ApiState>, body: axum::body::Bytes) -> Response {
    let request: SubscribeRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid subscription: {e}"),
            );
        }
    };
    if request.mailbox.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid subscription: mailbox is empty",
        );
    }
    let recipient = match parse_recipient(&request) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid subscription: {e}"),
            );
        }
    };
    match ask(&state, |reply| Command::Subscribe {
        mailbox: request.mailbox.clone(),
        recipient,
        reply,
    })
    .await
    {
        Ok(Ok(())) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"subscribed": true})),
        )
            .into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(response) => response,
    }
}

async fn unsubscribe(State(state): State<ApiState>, Path(device): Path<String>) -> Response {
    let device: DeviceId = match device.parse() {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("deviceId: {e}")),
    };
    match ask(&state, |reply| Command::Unsubscribe { device, reply }).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "no such subscription"),
        Err(response) => response,
    }
}

/// `POST /mailboxes/{mailbox}/messages` and `/read`: how many messages (default 1).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CountRequest {
    /// How many messages.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// `PUT /mailboxes/{mailbox}/unseen`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetUnseenRequest {
    /// The unseen count.
    pub unseen: u32,
}

fn parse_optional<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid body: {e}"))
}

async fn change(state: &ApiState, mailbox: String, changes: Vec<MailboxChange>) -> Response {
    match ask(state, |reply| Command::Mailbox {
        mailbox: mailbox.clone(),
        changes,
        reply,
    })
    .await
    {
        Ok(Ok(unseen)) => {
            Json(serde_json::json!({ "mailbox": mailbox, "unseen": unseen })).into_response()
        }
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(response) => response,
    }
}

/// `count` times the same change (a message arrived, a message was read).
async fn repeated(state: &ApiState, mailbox: String, body: &[u8], each: MailboxChange) -> Response {
    let request: CountRequest = match parse_optional(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let changes = vec![each; request.count.min(100_000) as usize];
    change(state, mailbox, changes).await
}

async fn deliver(
    State(state): State<ApiState>,
    Path(mailbox): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    repeated(&state, mailbox, &body, MailboxChange::Arrived).await
}

async fn read(
    State(state): State<ApiState>,
    Path(mailbox): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    repeated(&state, mailbox, &body, MailboxChange::Read).await
}

async fn set_unseen(
    State(state): State<ApiState>,
    Path(mailbox): Path<String>,
    Json(request): Json<SetUnseenRequest>,
) -> Response {
    let count = match UnseenCount::new(request.unseen) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("unseen: {e}")),
    };
    change(&state, mailbox, vec![MailboxChange::Set(count)]).await
}

/// The host (with port when given) of an absolute URL.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!authority.is_empty()).then_some(authority)
}

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://a.example/x?y"), Some("a.example"));
        assert_eq!(
            url_host("http://127.0.0.1:8080/t/tokens"),
            Some("127.0.0.1:8080")
        );
        assert_eq!(url_host("nope"), None);
    }

    #[test]
    fn publish_answers_are_classified() {
        assert!(matches!(
            classify_publish(200, None, r#"{"accepted":1,"dead":[]}"#),
            PublishOutcome::Accepted { .. }
        ));
        assert_eq!(
            classify_publish(401, None, ""),
            PublishOutcome::Failed(FailureReason::Unauthorized)
        );
        assert_eq!(
            classify_publish(503, Some("7"), ""),
            PublishOutcome::RetryLater {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            classify_publish(400, None, "{}"),
            PublishOutcome::Failed(FailureReason::Rejected)
        );
        assert_eq!(
            classify_publish(502, None, ""),
            PublishOutcome::Failed(FailureReason::Unreachable)
        );
    }
}
