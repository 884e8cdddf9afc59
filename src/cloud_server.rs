//! The local cloud's HTTP server: the thin tokio + axum layer around
//! [`pushproxy_cloud`], which decides everything.
//!
//! It serves the token service (metadata documents and the token endpoint), the
//! push-notification service, an admin API for organisations and their credentials, and
//! the device registry standing in for the phones. State is kept in the data directory
//! through [`pushproxy_config::Store`] (atomic writes under the store's lock):
//!
//! ```text
//! <data dir>/
//!   cloud-service.json       the token service's certificate (created on first start)
//!   cloud-service.key.pem    its private key, PKCS#8 PEM, mode 0600
//!   cloud-directory.json     organisations, tenant ids and uploaded credentials
//!   cloud-devices.json       the device registry (badges and APNs requests)
//! ```
//!
//! Every change is written before the answer is sent, so a client that got an answer can
//! count on it surviving a restart.
//!
//! Routes (all answers are JSON; errors are `{"error":{"code","message"}}` except where the
//! protocol says otherwise):
//!
//! | Method | Path | What |
//! |---|---|---|
//! | GET | `/healthz` | liveness and counts |
//! | GET | `/metadata/json/1?realm=<domain or tenant id>` (also `/metadata/json/1/`) | the realm's metadata document |
//! | POST | `/{tenant}/tokens/OAuth/2` | the token endpoint (form body; OAuth error bodies) |
//! | POST, GET | `/admin/organizations` | register `{"domain"}` (201, or 200 if known); list |
//! | GET | `/admin/organizations/{realm}` | one organisation |
//! | POST, GET | `/admin/organizations/{realm}/credentials` | upload `{type, usage, value, startDate?, endDate?}`; list |
//! | DELETE | `/admin/organizations/{realm}/credentials/{thumbprint or key id}` | remove a credential |
//! | POST | `/PushNotifications/service.svc/PublishOnPremNotifications` | the push service (bearer token) |
//! | GET | `/devices?tenant=<tenant id or domain>` | the device registry |
//! | GET | `/devices/{tenant}/{app}/{device}` | one device: badge and APNs request |
//! | POST | `/devices/{tenant}/{app}/{device}/dead` | mark it dead (`{"reason"}`, default `Unregistered`) |
//!
//! The admin API has no authentication: the server listens on loopback unless told
//! otherwise. Logs never carry a whole token or key: at most 8 characters of a token and
//! certificate thumbprints.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pushproxy_cert::{Certificate, PrivateKey};
use pushproxy_cloud::{
    CloudError, CredentialRef, CredentialUpload, DeviceKey, DeviceRecord, DeviceRegistry,
    Directory, OrgRef, Organization, PushConfig, PushService, ServiceUrl, TokenService,
};
use pushproxy_config::Store;
use pushproxy_payload::wire::{DeadReason, PUBLISH_PATH};
use pushproxy_payload::{Limits, TenantId};
use pushproxy_token::principal::Host;
use pushproxy_token::sts::{FORM_CONTENT_TYPE, form_decode};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

/// Where the local cloud listens unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8480);
/// The push service's base path: the push app's `Uri` is `<cloud URL>/PushNotifications`.
pub const PUSH_PATH: &str = "/PushNotifications";
/// The store document holding the token service's certificate.
pub const SERVICE_DOCUMENT: &str = "cloud-service";
/// The token service's private key file inside the data directory (mode 0600).
pub const SERVICE_KEY_FILE: &str = "cloud-service.key.pem";
/// The store document holding the organisation directory.
pub const DIRECTORY_DOCUMENT: &str = "cloud-directory";
/// The store document holding the device registry.
pub const DEVICES_DOCUMENT: &str = "cloud-devices";
/// The largest request body accepted by default: 512 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 512 * 1024;

/// How the local cloud runs.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// The data directory (created with mode 0700 if missing).
    pub data_dir: PathBuf,
    /// Where to listen. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// The URL clients reach the cloud at, as documents and tokens name it
    /// (`http://127.0.0.1:8480`). Default: `http://<the bound address>`.
    pub public_url: Option<String>,
    /// More hosts (with an optional port) whose name a push-service token may carry,
    /// beyond `outlook.office365.com` and the cloud's own host (with and without port).
    pub push_hosts: Vec<String>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
}

impl CloudConfig {
    /// The defaults for `data_dir`: [`DEFAULT_LISTEN`], the URL of the bound address,
    /// [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: DEFAULT_LISTEN,
            public_url: None,
            push_hosts: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The defaults with a free loopback port (`127.0.0.1:0`), for tests.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            ..Self::new(data_dir)
        }
    }
}

/// A running local cloud.
#[derive(Debug)]
pub struct RunningCloud {
    addr: SocketAddr,
    url: ServiceUrl,
    certificate: Certificate,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<()>>,
}

impl RunningCloud {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL, as its documents name it.
    pub fn url(&self) -> &ServiceUrl {
        &self.url
    }

    /// The token service's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The push app `Uri` to configure on premises: `<url>/PushNotifications`.
    pub fn push_uri(&self) -> String {
        self.url.join(PUSH_PATH)
    }

    /// The `AuthMetadataUrl` of `realm` (a domain or tenant id).
    pub fn metadata_url(&self, realm: &str) -> String {
        self.url.join(&format!("/metadata/json/1?realm={realm}"))
    }

    /// Stops accepting connections, lets requests in progress finish (at most 10
    /// seconds), and returns once the server has stopped.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may have stopped on its own already; then there is no one to tell.
            let _ = shutdown.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(joined) => joined.context("the local cloud's server task failed")?,
            Err(_) => {
                self.task.abort();
                bail!("the local cloud did not stop within 10 seconds; it was aborted")
            }
        }
    }

    /// Waits until the server stops (it only stops on [`stop`](Self::stop) or an error).
    pub async fn wait(self) -> Result<()> {
        self.task
            .await
            .context("the local cloud's server task failed")?
    }
}

/// Runs the local cloud until Ctrl-C: `pushproxy cloud serve`.
pub async fn serve(config: CloudConfig) -> Result<()> {
    let cloud = spawn(config).await?;
    tracing::info!(
        url = %cloud.url(),
        metadata = %cloud.metadata_url("<domain>"),
        push_uri = %cloud.push_uri(),
        "local cloud listening; press Ctrl-C to stop"
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    tracing::info!("stopping the local cloud");
    cloud.stop().await
}

/// Starts the local cloud in the background: opens the data directory (creating the
/// token service's key and certificate on first start), binds, and serves until
/// [`RunningCloud::stop`].
pub async fn spawn(config: CloudConfig) -> Result<RunningCloud> {
    let store = Store::open(&config.data_dir).with_context(|| {
        format!(
            "cannot open the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = Arc::new(store);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the local cloud listens beyond loopback; its admin API has no authentication");
    }
    let url = match &config.public_url {
        Some(url) => url.parse::<ServiceUrl>().map_err(|e| anyhow!(e.chain()))?,
        None => default_url(addr)?,
    };

    let (key, certificate) = {
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || load_or_create_identity(&store))
            .await
            .context("creating the token service's key was interrupted")??
    };
    let directory: Directory = read_document(&store, DIRECTORY_DOCUMENT)?.unwrap_or_default();
    let devices: DeviceRegistry = read_document(&store, DEVICES_DOCUMENT)?.unwrap_or_default();

    let hosts = push_hosts(&url, &config.push_hosts)?;
    let mut tokens = TokenService::new(url.clone(), certificate.clone(), &key)
        .map_err(|e| anyhow!(e.chain()))
        .context("the token service's stored key and certificate do not fit together")?;
    drop(key);
    tokens.set_resource_hosts(&hosts);
    let limits = Limits {
        max_body_bytes: config.max_body_bytes.min(Limits::DEFAULT.max_body_bytes),
        ..Limits::DEFAULT
    };
    let push = PushService::new(
        PushConfig {
            hosts,
            limits,
            ..PushConfig::default()
        },
        devices,
    );
    tracing::info!(
        data_dir = %store.dir().display(),
        organizations = directory.organizations().len(),
        devices = push.devices().len(),
        certificate = %certificate.thumbprint(),
        "local cloud state loaded"
    );

    let app = App(Arc::new(Shared {
        store,
        state: Mutex::new(CloudState {
            directory,
            tokens,
            push,
        }),
    }));
    let router = router(app, config.max_body_bytes);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                // A dropped sender stops the server as well.
                let _ = stopped.await;
            })
            .await
            .context("the local cloud's HTTP server failed")
    });
    Ok(RunningCloud {
        addr,
        url,
        certificate,
        shutdown: Some(shutdown),
        task,
    })
}

/// `http://<addr>`, with an unspecified IPv4 address replaced by loopback.
fn default_url(addr: SocketAddr) -> Result<ServiceUrl> {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(ip) => IpAddr::V4(ip),
        IpAddr::V6(_) => bail!(
            "the local cloud listens on {addr}, an IPv6 address, which tokens cannot name; give a public URL with a host name"
        ),
    };
    format!("http://{ip}:{}", addr.port())
        .parse()
        .map_err(|e: CloudError| anyhow!(e.chain()))
}

/// The hosts a push-service token may name: Exchange Online, the cloud's host with and
/// without its port (on-premises servers name the push URI's host either way), and any
/// configured.
fn push_hosts(url: &ServiceUrl, extra: &[String]) -> Result<Vec<Host>> {
    let own = url.host().as_str();
    let mut texts = vec![
        pushproxy_token::principal::well_known::EXCHANGE_ONLINE_HOST.to_owned(),
        own.to_owned(),
    ];
    if let Some((name, _port)) = own.rsplit_once(':') {
        texts.push(name.to_owned());
    }
    texts.extend(extra.iter().cloned());
    let mut hosts: Vec<Host> = Vec::new();
    for text in texts {
        let host: Host = text
            .parse()
            .with_context(|| format!("push service host `{text}`"))?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// The token service's certificate as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServiceDocument {
    certificate: Certificate,
}

fn read_document<T: serde::de::DeserializeOwned>(store: &Store, name: &str) -> Result<Option<T>> {
    store
        .read(name)
        .with_context(|| format!("cannot read the local cloud's {name} document"))
}

/// Reads the token service's key and certificate, creating them on first start.
fn load_or_create_identity(store: &Store) -> Result<(PrivateKey, Certificate)> {
    let key_path = store.dir().join(SERVICE_KEY_FILE);
    if let Some(document) = read_document::<ServiceDocument>(store, SERVICE_DOCUMENT)? {
        let pem = std::fs::read_to_string(&key_path).with_context(|| {
            format!(
                "the token service's certificate is stored but its key {} cannot be read; restore it, or remove {}.json to create a new identity (organisations then see a new signing certificate)",
                key_path.display(),
                SERVICE_DOCUMENT
            )
        })?;
        let key = PrivateKey::from_pem(&pem).with_context(|| {
            format!(
                "the token service's key {} is unreadable",
                key_path.display()
            )
        })?;
        let certificate = document.certificate;
        if !certificate.is_valid_at(time::OffsetDateTime::now_utc()) {
            tracing::warn!(
                certificate = %certificate.thumbprint(),
                not_after = %certificate.not_after(),
                "the token service's certificate is outside its validity; remove {SERVICE_DOCUMENT}.json and {SERVICE_KEY_FILE} to create a new one"
            );
        }
        return Ok((key, certificate));
    }
    tracing::info!("creating the token service's signing key and certificate (first start)");
    let (key, certificate) = TokenService::create_identity(unix_now(), &mut rand::rng())
        .map_err(|e| anyhow!(e.chain()))?;
    write_key(&key_path, &key)?;
    let lock = store.lock()?;
    store
        .write(
            &lock,
            SERVICE_DOCUMENT,
            &ServiceDocument {
                certificate: certificate.clone(),
            },
        )
        .context("cannot save the token service's certificate")?;
    tracing::info!(certificate = %certificate.thumbprint(), "token service identity created");
    Ok((key, certificate))
}

fn write_key(path: &FsPath, key: &PrivateKey) -> Result<()> {
    pushproxy_cert::write_private_key_file(path, key)
        .with_context(|| format!("cannot write the token service's key to {}", path.display()))
}

/// The current time in Unix seconds.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// At most the first 8 characters of a token, for logs.
fn token_prefix(token: &str) -> String {
    let prefix: String = token.chars().take(8).collect();
    format!("{prefix}…")
}

struct CloudState {
    directory: Directory,
    tokens: TokenService,
    push: PushService,
}

struct Shared {
    store: Arc<Store>,
    /// Held across a change and its write, so the files always follow the order of the
    /// changes.
    state: Mutex<CloudState>,
}

#[derive(Clone)]
struct App(Arc<Shared>);

impl App {
    /// Writes a document under the store's lock, off the async threads.
    async fn save(&self, name: &'static str, value: serde_json::Value) -> Result<()> {
        let store = Arc::clone(&self.0.store);
        tokio::task::spawn_blocking(move || -> Result<()> {
            let lock = store.lock()?;
            store.write(&lock, name, &value)?;
            Ok(())
        })
        .await
        .context("saving was interrupted")?
        .with_context(|| format!("cannot save the local cloud's {name} document"))
    }

    async fn save_directory(&self, directory: &Directory) -> Result<()> {
        let value = serde_json::to_value(directory).context("cannot encode the directory")?;
        self.save(DIRECTORY_DOCUMENT, value).await
    }

    async fn save_devices(&self, devices: &DeviceRegistry) -> Result<()> {
        let value = serde_json::to_value(devices).context("cannot encode the device registry")?;
        self.save(DEVICES_DOCUMENT, value).await
    }
}

fn router(app: App, max_body_bytes: usize) -> Router {
    let publish = format!("{PUSH_PATH}{PUBLISH_PATH}");
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metadata/json/1", get(metadata))
        .route("/metadata/json/1/", get(metadata))
        .route("/{tenant}/tokens/OAuth/2", post(token))
        .route(
            "/{tenant}/delegation/{what}",
            get(delegation).post(delegation),
        )
        .route(
            "/admin/organizations",
            post(register_organization).get(list_organizations),
        )
        .route("/admin/organizations/{realm}", get(get_organization))
        .route(
            "/admin/organizations/{realm}/credentials",
            post(add_credential).get(list_credentials),
        )
        .route(
            "/admin/organizations/{realm}/credentials/{credential}",
            axum::routing::delete(remove_credential),
        )
        .route(&publish, post(publish_notifications))
        .route("/devices", get(list_devices))
        .route("/devices/{tenant}/{app}/{device}", get(get_device))
        .route("/devices/{tenant}/{app}/{device}/dead", post(mark_dead))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
}

// ---- answers ----

const JSON: &str = "application/json; charset=utf-8";

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json_text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body).into_response()
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json_text(status, body),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "EncodingFailed",
            &format!("the answer could not be encoded: {e}"),
        ),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_text(
        status,
        serde_json::json!({ "error": { "code": code, "message": message } }).to_string(),
    )
}

fn cloud_error(failure: &CloudError) -> Response {
    error(
        status(failure.http_status()),
        failure.code(),
        &failure.chain(),
    )
}

fn save_failed(failure: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{failure:#}"), "saving the local cloud's state failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "SaveFailed",
        &format!("the change was made but could not be saved: {failure:#}"),
    )
}

fn body_rejected(rejection: &BytesRejection) -> Response {
    let code = rejection.status();
    let (name, message) = if code == StatusCode::PAYLOAD_TOO_LARGE {
        (
            "PayloadTooLarge",
            "the request body is larger than this server accepts".to_owned(),
        )
    } else {
        ("InvalidBody", rejection.body_text())
    };
    error(code, name, &message)
}

fn path_rejected(rejection: &PathRejection) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidPath",
        &rejection.body_text(),
    )
}

fn invalid_json(what: &str, problem: &serde_json::Error) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidJson",
        &format!("the {what} is not the expected JSON: {problem}"),
    )
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no such resource on the local cloud; see /healthz, /metadata/json/1?realm=..., /admin/organizations, /devices",
    )
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "this resource does not answer that method",
    )
}

// ---- health and the token service ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    status: &'static str,
    url: String,
    organizations: usize,
    devices: usize,
    service_thumbprint: String,
}

async fn healthz(State(app): State<App>) -> Response {
    let state = app.0.state.lock().await;
    json(
        StatusCode::OK,
        &Health {
            status: "ok",
            url: state.tokens.url().to_string(),
            organizations: state.directory.organizations().len(),
            devices: state.push.devices().len(),
            service_thumbprint: state.tokens.certificate().thumbprint().to_string(),
        },
    )
}

async fn metadata(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let pairs = match form_decode(query.as_deref().unwrap_or_default()) {
        Ok(pairs) => pairs,
        Err(e) => return error(StatusCode::BAD_REQUEST, "InvalidQuery", &e.to_string()),
    };
    let Some((_, realm)) = pairs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("realm"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingRealm",
            "the query has no realm; ask for /metadata/json/1?realm=<domain or tenant id>",
        );
    };
    let state = app.0.state.lock().await;
    match state.tokens.metadata(&state.directory, realm) {
        Ok(document) => json_text(StatusCode::OK, document.to_json()),
        Err(e) => {
            tracing::info!(realm = %realm, error = %e.chain(), "metadata refused");
            cloud_error(&e)
        }
    }
}

async fn token(
    State(app): State<App>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = |failure: pushproxy_cloud::OAuthFailure| {
        tracing::info!(code = %failure.code, check = failure.check, description = %failure.description, "token request refused");
        let mut response = json_text(status(failure.http_status()), failure.to_json());
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    };
    let refuse = |check: &'static str, description: String| {
        answer(pushproxy_cloud::OAuthFailure::new(
            pushproxy_cloud::OAuthCode::InvalidRequest,
            check,
            description,
        ))
    };
    let Path(tenant) = match path {
        Ok(path) => path,
        Err(rejection) => return refuse("path", rejection.body_text()),
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return refuse("body", rejection.body_text()),
    };
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let is_form = content_type
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE));
        if !is_form {
            return refuse(
                "content_type",
                format!("the token request must be sent as {FORM_CONTENT_TYPE}"),
            );
        }
    }
    let Ok(form) = std::str::from_utf8(&body) else {
        return refuse("form", "the form body is not UTF-8 text".to_owned());
    };
    let now = unix_now();
    let state = app.0.state.lock().await;
    match state
        .tokens
        .handle_token_request(&state.directory, &tenant, form, now)
    {
        Ok(response) => {
            tracing::info!(
                tenant = %tenant,
                resource = %response.resource,
                token = %token_prefix(response.access_token.as_str()),
                expires_on = response.expires_on,
                "access token issued"
            );
            let mut reply = json_text(StatusCode::OK, response.to_json());
            reply
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            reply
        }
        Err(failure) => answer(failure),
    }
}

async fn delegation() -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "delegation is named in the metadata document but not implemented by the local cloud; the push proxy only needs the OAuth2 endpoint",
    )
}

// ---- admin: organisations and credentials ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrganization {
    domain: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationView {
    domain: String,
    tenant_id: String,
    registered_at: String,
    metadata_url: String,
    token_endpoint: String,
    push_uri: String,
    credentials: Vec<CredentialSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialSummary {
    key_id: String,
    thumbprint: String,
    start_date: String,
    end_date: String,
}

fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

fn organization_view(tokens: &TokenService, org: &Organization) -> OrganizationView {
    OrganizationView {
        domain: org.domain().to_string(),
        tenant_id: org.tenant_id().to_string(),
        registered_at: rfc3339(org.registered_at()),
        metadata_url: tokens.metadata_url(org.domain().as_str()),
        token_endpoint: tokens.token_endpoint(org.tenant_id()),
        push_uri: tokens.url().join(PUSH_PATH),
        credentials: org
            .credentials()
            .iter()
            .map(|c| CredentialSummary {
                key_id: c.key_id().to_string(),
                thumbprint: c.thumbprint().to_string(),
                start_date: rfc3339(c.start()),
                end_date: rfc3339(c.end()),
            })
            .collect(),
    }
}

async fn register_organization(
    State(app): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_rejected(&rejection),
    };
    let request: NewOrganization = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return invalid_json("organisation (`{\"domain\":\"contoso.com\"}`)", &e),
    };
    let domain = match request.domain.parse() {
        Ok(domain) => domain,
        Err(source) => return cloud_error(&CloudError::InvalidDomain { source }),
    };
    let mut state = app.0.state.lock().await;
    let registered = {
        let mut rng = rand::rng();
        state.directory.register(domain, unix_now(), &mut rng)
    };
    let registration = match registered {
        Ok(registration) => registration,
        Err(e) => return cloud_error(&e),
    };
    if registration.created {
        if let Err(e) = app.save_directory(&state.directory).await {
            return save_failed(&e);
        }
        tracing::info!(domain = %registration.domain, tenant = %registration.tenant_id, "organisation registered");
    }
    let Some(org) = state.directory.by_tenant(registration.tenant_id) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "the organisation vanished",
        );
    };
    let code = if registration.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut view = serde_json::to_value(organization_view(&state.tokens, org)).unwrap_or_default();
    if let Some(map) = view.as_object_mut() {
        map.insert("created".to_owned(), registration.created.into());
    }
    json(code, &view)
}

async fn list_organizations(State(app): State<App>) -> Response {
    let state = app.0.state.lock().await;
    let views: Vec<OrganizationView> = state
        .directory
        .organizations()
        .iter()
        .map(|org| organization_view(&state.tokens, org))
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({ "organizations": views }),
    )
}

async fn get_organization(
    State(app): State<App>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Path(realm) = match path {
        Ok(path) => path,
        Err(rejection) => return path_rejected(&rejection),
    };
    let state = app.0.state.lock().await;
    match state.directory.resolve(&realm) {
        Ok(org) => json(StatusCode::OK, &organization_view(&state.tokens, org)),
        Err(e) => cloud_error(&e),
    }
}

async fn add_credential(
    State(app): State<App>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Path(realm) = match path {
        Ok(path) => path,
        Err(rejection) => return path_rejected(&rejection),
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_rejected(&rejection),
    };
    let upload: CredentialUpload = match serde_json::from_slice(&body) {
        Ok(upload) => upload,
        Err(e) => {
            return invalid_json(
                "credential (`{\"type\":\"asymmetric\",\"usage\":\"Verify\",\"value\":\"<base64 DER>\",\"startDate\":...,\"endDate\":...}`)",
                &e,
            );
        }
    };
    let org: OrgRef = match realm.parse() {
        Ok(org) => org,
        Err(e) => return cloud_error(&e),
    };
    let mut state = app.0.state.lock().await;
    let added = {
        let mut rng = rand::rng();
        state
            .directory
            .add_credential(&org, &upload, unix_now(), &mut rng)
    };
    let added = match added {
        Ok(added) => added,
        Err(e) => {
            tracing::info!(realm = %realm, error = %e.chain(), "credential refused");
            return cloud_error(&e);
        }
    };
    if let Err(e) = app.save_directory(&state.directory).await {
        return save_failed(&e);
    }
    tracing::info!(
        realm = %realm,
        thumbprint = %added.credential.thumbprint(),
        key_id = %added.credential.key_id(),
        created = added.created,
        "credential stored"
    );
    let code = if added.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json(code, &added.credential)
}

async fn list_credentials(
    State(app): State<App>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Path(realm) = match path {
        Ok(path) => path,
        Err(rejection) => return path_rejected(&rejection),
    };
    let state = app.0.state.lock().await;
    match state.directory.resolve(&realm) {
        Ok(org) => json(
            StatusCode::OK,
            &serde_json::json!({ "credentials": org.credentials() }),
        ),
        Err(e) => cloud_error(&e),
    }
}

async fn remove_credential(
    State(app): State<App>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Path((realm, credential)) = match path {
        Ok(path) => path,
        Err(rejection) => return path_rejected(&rejection),
    };
    let parsed = realm
        .parse::<OrgRef>()
        .and_then(|org| Ok((org, credential.parse::<CredentialRef>()?)));
    let (org, which) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return cloud_error(&e),
    };
    let mut state = app.0.state.lock().await;
    let removed = match state.directory.remove_credential(&org, &which) {
        Ok(removed) => removed,
        Err(e) => return cloud_error(&e),
    };
    if let Err(e) = app.save_directory(&state.directory).await {
        return save_failed(&e);
    }
    tracing::info!(realm = %realm, thumbprint = %removed.thumbprint(), "credential removed");
    json(StatusCode::OK, &removed)
}

// ---- the push service and the devices ----

async fn publish_notifications(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_rejected(&rejection),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let now = unix_now();
    let mut guard = app.0.state.lock().await;
    let state = &mut *guard;
    match state
        .push
        .publish(&state.tokens, &state.directory, authorization, &body, now)
    {
        Ok(response) => {
            if !response.monitoring
                && let Err(e) = app.save_devices(state.push.devices()).await
            {
                return save_failed(&e);
            }
            tracing::info!(
                accepted = response.accepted,
                dead = response.dead.len(),
                monitoring = response.monitoring,
                "batch published"
            );
            json(StatusCode::OK, &response)
        }
        Err(failure) => {
            tracing::info!(status = failure.status, check = failure.check, message = %failure.fault.message, "publish refused");
            let mut response = json_text(status(failure.status), failure.to_json());
            if let Some(challenge) = failure.www_authenticate()
                && let Ok(value) = HeaderValue::from_str(&challenge)
            {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

/// A tenant named by id, or by the domain of a registered organisation.
fn tenant_of(directory: &Directory, text: &str) -> Result<TenantId, CloudError> {
    if let Ok(tenant) = text.parse::<TenantId>() {
        return Ok(tenant);
    }
    let org = directory.resolve(text)?;
    Ok(TenantId::from_u128(org.tenant_id().as_u128()))
}

fn device_key(
    directory: &Directory,
    tenant: &str,
    app: &str,
    device: &str,
) -> Result<DeviceKey, CloudError> {
    let tenant = tenant_of(directory, tenant)?;
    DeviceKey::parse(&tenant.to_string(), app, device)
}

async fn list_devices(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let pairs = match form_decode(query.as_deref().unwrap_or_default()) {
        Ok(pairs) => pairs,
        Err(e) => return error(StatusCode::BAD_REQUEST, "InvalidQuery", &e.to_string()),
    };
    let tenant = pairs
        .iter()
        .find(|(name, _)| name == "tenant")
        .map(|(_, value)| value.as_str());
    let state = app.0.state.lock().await;
    let devices: Vec<&DeviceRecord> = match tenant {
        None => state.push.devices().iter().collect(),
        Some(tenant) => match tenant_of(&state.directory, tenant) {
            Ok(tenant) => state.push.devices().of_tenant(tenant).collect(),
            Err(e) => return cloud_error(&e),
        },
    };
    json(StatusCode::OK, &serde_json::json!({ "devices": devices }))
}

async fn get_device(
    State(app): State<App>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let Path((tenant, app_id, device)) = match path {
        Ok(path) => path,
        Err(rejection) => return path_rejected(&rejection),
    };
    let state = app.0.state.lock().await;
    let key = match device_key(&state.directory, &tenant, &app_id, &device) {
        Ok(key) => key,
        Err(e) => return cloud_error(&e),
    };
    match state.push.devices().get(&key) {
        Some(record) => json(StatusCode::OK, record),
        None => cloud_error(&CloudError::UnknownDevice {
            tenant: key.tenant_id.to_string(),
            app: key.app_id.to_string(),
            device: key.device_id.to_string(),
        }),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadRequest {
    reason: DeadReason,
}

async fn mark_dead(
    State(app): State<App>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Path((tenant, app_id, device)) = match path {
        Ok(path) => path,
        Err(rejection) => return path_rejected(&rejection),
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_rejected(&rejection),
    };
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        DeadReason::Unregistered
    } else {
        match serde_json::from_slice::<DeadRequest>(&body) {
            Ok(request) => request.reason,
            Err(e) => {
                return invalid_json(
                    "reason (`{\"reason\":\"Unregistered\"}`, `BadDeviceToken` or `DeviceTokenNotForTopic`)",
                    &e,
                );
            }
        }
    };
    let mut guard = app.0.state.lock().await;
    let state = &mut *guard;
    let key = match device_key(&state.directory, &tenant, &app_id, &device) {
        Ok(key) => key,
        Err(e) => return cloud_error(&e),
    };
    let record = state.push.mark_dead(key, reason, unix_now()).clone();
    if let Err(e) = app.save_devices(state.push.devices()).await {
        return save_failed(&e);
    }
    tracing::info!(tenant = %record.key().tenant_id, app = %record.key().app_id, device = %record.key().device_id, ?reason, "device marked dead");
    json(StatusCode::OK, &record)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn push_hosts_include_the_own_host_with_and_without_port() {
        let url: ServiceUrl = "http://127.0.0.1:8480".parse().unwrap();
        let hosts: Vec<String> = push_hosts(&url, &["push.example".to_owned()])
            .unwrap()
            .iter()
            .map(|h| h.to_string())
            .collect();
        assert_eq!(
            hosts,
            [
                "outlook.office365.com",
                "127.0.0.1:8480",
                "127.0.0.1",
                "push.example"
            ]
        );
        assert!(push_hosts(&url, &["bad host".to_owned()]).is_err());
    }

    #[test]
    fn default_urls() {
        let url = default_url("0.0.0.0:9".parse().unwrap()).unwrap();
        assert_eq!(url.to_string(), "http://127.0.0.1:9");
        assert!(default_url("[::1]:9".parse().unwrap()).is_err());
    }

    #[test]
    fn token_prefixes_are_short() {
        assert_eq!(
            token_prefix("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.x.y"),
            "eyJ0eXAi…"
        );
        assert_eq!(token_prefix("ab"), "ab…");
    }
}
