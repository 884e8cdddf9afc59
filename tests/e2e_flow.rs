//! The whole flow end to end on loopback: the administrator's CLI for setup steps 1 to 4, the
//! proxy driver, the local cloud (token service and push service), and the devices' badges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use pushproxy::cloud_client::{CloudClient, Device};
use pushproxy::cloud_server::{CloudConfig, RunningCloud, spawn as spawn_cloud};
use pushproxy::probe::{ProbeStep, probe};
use pushproxy::proxy::{
    ProxySettings, ProxyState, RunningProxy, SubscribeRequest, discover, fetch_token,
    push_resource, spawn as spawn_proxy, unix_now,
};
use pushproxy_token::signer::Backend;

const APP: &str = "com.microsoft.exchange.owa.iphone";
const IPHONE: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const IPAD: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn cli(data: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("pushproxy")
        .unwrap()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("PUSHPROXY_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pushproxy {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Setup steps 1 to 4 for `domain` against `cloud`, as an administrator runs them.
fn set_up(cloud: &RunningCloud, data: &Path, domain: &str) {
    let base = format!("http://{}", cloud.addr());
    cli(
        data,
        &["cloud", "register", "--domain", domain, "--cloud", &base],
    );
    cli(
        data,
        &["setup", "--tenant-domain", domain, "--authority", &base],
    );
    cli(
        data,
        &[
            "credential",
            "add",
            "--organization",
            domain,
            "--cloud",
            &base,
        ],
    );
    cli(
        data,
        &[
            "push-proxy",
            "enable",
            "--organization",
            domain,
            "--uri",
            &cloud.push_uri(),
        ],
    );
}

struct World {
    _dir: tempfile::TempDir,
    on_prem: std::path::PathBuf,
    cloud_dir: std::path::PathBuf,
    cloud: Option<RunningCloud>,
    proxy: RunningProxy,
    http: reqwest::Client,
    api: String,
    client: CloudClient,
}

impl World {
    async fn new(window: Duration, tweak: impl FnOnce(&mut ProxySettings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let on_prem = dir.path().join("on-prem");
        let cloud_dir = dir.path().join("cloud");
        let cloud = spawn_cloud(CloudConfig::ephemeral(&cloud_dir))
            .await
            .unwrap();
        let on_prem_clone = on_prem.clone();
        let cloud_ref = &cloud;
        // The CLI is synchronous; run it off the async runtime's threads.
        tokio::task::block_in_place(|| set_up(cloud_ref, &on_prem_clone, "fabrikam.com"));
        let mut settings = ProxySettings::new(&on_prem);
        settings.engine.coalesce_window = window;
        tweak(&mut settings);
        let proxy = spawn_proxy(settings).await.unwrap();
        let api = format!("http://{}", proxy.addr);
        let client = CloudClient::new(format!("http://{}", cloud.addr()));
        let world = Self {
            _dir: dir,
            on_prem,
            cloud_dir,
            cloud: Some(cloud),
            proxy,
            http: reqwest::Client::new(),
            api,
            client,
        };
        world.subscribe("alice@fabrikam.com", IPHONE).await;
        world.subscribe("alice@fabrikam.com", IPAD).await;
        world
    }

    async fn subscribe(&self, mailbox: &str, device: &str) {
        let response = self
            .http
            .post(format!("{}/subscriptions", self.api))
            .json(&SubscribeRequest {
                mailbox: mailbox.to_owned(),
                app_id: APP.to_owned(),
                device_id: device.to_owned(),
                installation_id: Some("7a1c9d3e-0000-4000-8000-000000000001".to_owned()),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    async fn mail(&self, mailbox: &str, action: &str, count: u32) -> u32 {
        let response = self
            .http
            .post(format!("{}/mailboxes/{mailbox}/{action}", self.api))
            .json(&serde_json::json!({ "count": count }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let body: serde_json::Value = response.json().await.unwrap();
        u32::try_from(body["unseen"].as_u64().unwrap()).unwrap()
    }

    async fn state(&self) -> ProxyState {
        self.http
            .get(format!("{}/state", self.api))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn devices(&self) -> Vec<Device> {
        self.client.devices(&self.proxy.tenant_id).await.unwrap()
    }

    /// Waits until both devices show `badge`; returns them.
    async fn badges_reach(&self, badge: u32, within: Duration) -> Vec<Device> {
        let started = Instant::now();
        loop {
            let devices = self.devices().await;
            let show = |id: &str| devices.iter().find(|d| d.device_id == id).map(|d| d.badge);
            if show(IPHONE) == Some(badge) && show(IPAD) == Some(badge) {
                return devices;
            }
            assert!(
                started.elapsed() < within,
                "badges did not reach {badge} within {within:?}: {devices:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_raises_the_badge_reading_lowers_it_and_the_last_read_sends_zero() {
    let world = World::new(Duration::from_millis(100), |_| {}).await;
    assert_eq!(world.mail("alice@fabrikam.com", "messages", 3).await, 3);
    let devices = world.badges_reach(3, Duration::from_secs(10)).await;
    // The registry holds the APNs request a real delivery would carry.
    let iphone = devices.iter().find(|d| d.device_id == IPHONE).unwrap();
    let apns = iphone.apns.as_ref().expect("an APNs request");
    assert!(
        apns.to_string().contains("\\\"badge\\\":3") || apns.to_string().contains("\"badge\":3"),
        "{apns}"
    );

    assert_eq!(world.mail("alice@fabrikam.com", "read", 2).await, 1);
    world.badges_reach(1, Duration::from_secs(10)).await;
    assert_eq!(world.mail("alice@fabrikam.com", "read", 1).await, 0);
    world.badges_reach(0, Duration::from_secs(10)).await;

    let metrics = world
        .http
        .get(format!("{}/metrics", world.api))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("pushproxy_published_batches_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pushproxy_certificate_days_to_expiry 18"),
        "{metrics}"
    );
    world.proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_ten_thousand_events_inside_the_window_is_one_publish() {
    let world = World::new(Duration::from_secs(5), |_| {}).await;
    let before: u64 = world.devices().await.iter().map(|d| d.publishes).sum();
    assert_eq!(before, 0);
    let started = Instant::now();
    assert_eq!(
        world.mail("alice@fabrikam.com", "messages", 10_000).await,
        10_000
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the burst took longer than the window; the test cannot show coalescing"
    );
    let devices = world.badges_reach(10_000, Duration::from_secs(20)).await;
    for device in &devices {
        assert_eq!(device.publishes, 1, "{device:?}");
    }
    let state = world.state().await;
    assert_eq!(state.published_batches, 1);
    world.proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badges_converge_after_the_cloud_comes_back_and_the_queue_stays_bounded() {
    let mut world = World::new(Duration::from_millis(50), |s| {
        s.engine.backoff_base = Duration::from_millis(50);
        s.engine.backoff_cap = Duration::from_millis(400);
        s.request_timeout = Duration::from_secs(2);
    })
    .await;
    for i in 0..20 {
        world
            .subscribe(&format!("user{i}@fabrikam.com"), &format!("{:064x}", i + 1))
            .await;
    }
    world.mail("alice@fabrikam.com", "messages", 1).await;
    world.badges_reach(1, Duration::from_secs(10)).await;

    // The cloud goes away; mail keeps arriving.
    let cloud = world.cloud.take().unwrap();
    let addr = cloud.addr();
    cloud.stop().await.unwrap();
    let subscriptions = world.state().await.subscriptions;
    for round in 0..30 {
        world.mail("alice@fabrikam.com", "messages", 5).await;
        world.mail("alice@fabrikam.com", "read", 2).await;
        world
            .mail(&format!("user{}@fabrikam.com", round % 20), "messages", 1)
            .await;
        let state = world.state().await;
        assert!(
            state.queue_depth <= subscriptions,
            "queue depth {} above the {subscriptions} subscriptions",
            state.queue_depth
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expected = 1 + 30 * 3;
    assert!(world.state().await.published_batches >= 1);

    // Back on the same address and data: every device converges to its mailbox's count.
    let mut config = CloudConfig::ephemeral(&world.cloud_dir);
    config.listen = addr;
    world.cloud = Some(spawn_cloud(config).await.unwrap());
    world.badges_reach(expected, Duration::from_secs(30)).await;
    let started = Instant::now();
    loop {
        let devices = world.devices().await;
        let converged = (0..20).all(|i| {
            let id = format!("{:064x}", i + 1);
            let want = if i < 10 { 2 } else { 1 };
            devices.iter().any(|d| d.device_id == id && d.badge == want)
        });
        if converged {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{devices:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(world.state().await.queue_depth, 0);
    world.proxy.stop().await;
    let _ = world.on_prem;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_one_organisation_cannot_change_another_organisations_devices() {
    let world = World::new(Duration::from_millis(50), |_| {}).await;
    world.mail("alice@fabrikam.com", "messages", 2).await;
    world.badges_reach(2, Duration::from_secs(10)).await;

    // A second organisation, set up the same way, with a token of its own.
    let cloud = world.cloud.as_ref().unwrap();
    let other = world._dir.path().join("contoso");
    tokio::task::block_in_place(|| set_up(cloud, &other, "contoso.com"));
    let data = pushproxy::datadir::DataDir::open(&other).unwrap();
    let on_prem = pushproxy::proxy::OnPremises::load(&data, Backend::best_available()).unwrap();
    let http = reqwest::Client::new();
    let (_, service) = discover(&http, &on_prem.metadata_url).await.unwrap();
    let resource = push_resource(&on_prem.push_uri, service.realm).unwrap();
    let token = fetch_token(
        &http,
        &service,
        on_prem.signer.as_ref(),
        resource,
        unix_now(),
    )
    .await
    .unwrap();

    // Contoso's token, Fabrikam's tenant and devices.
    let body = serde_json::json!({
        "notifications": [{
            "payload": { "tenantId": world.proxy.tenant_id, "unseenEmailCount": 99 },
            "recipients": [{ "appId": APP, "deviceId": IPHONE }]
        }]
    });
    let response = http
        .post(pushproxy_payload::wire::publish_url(
            on_prem.push_uri.as_str(),
        ))
        .bearer_auth(token.access_token.as_str())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "{}", response.text().await.unwrap());
    let devices = world.devices().await;
    assert!(devices.iter().all(|d| d.badge == 2), "{devices:?}");
    world.proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_succeeds_and_fails_at_the_token_step_once_the_credential_is_removed() {
    let world = World::new(Duration::from_millis(50), |_| {}).await;
    let report = probe(
        &world.on_prem,
        Backend::best_available(),
        Duration::from_secs(5),
    )
    .await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        report.to_list_layout().trim_end(),
        "ResultType : Succeeded\nError      :\nException  :"
    );
    // The monitoring batch reached no device.
    assert!(
        world
            .devices()
            .await
            .iter()
            .all(|d| d.device_id != "connectivity-probe")
    );

    let data = pushproxy::datadir::DataDir::open(&world.on_prem).unwrap();
    let (certificate, _) = data.current_signing_certificate().unwrap();
    world
        .client
        .remove_credential("fabrikam.com", &certificate.thumbprint().to_string())
        .await
        .unwrap();
    let report = probe(
        &world.on_prem,
        Backend::best_available(),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        report.step,
        Some(ProbeStep::CredentialNotRegistered),
        "{report:?}"
    );
    assert!(report.result_type == "Failed");
    assert!(
        report.error.contains(&certificate.thumbprint().to_string()),
        "{}",
        report.error
    );
    assert!(
        report.exception.contains("credential add"),
        "{}",
        report.exception
    );

    // Cloud gone: the push service (and token service) unreachable is named as such.
    let mut world = world;
    world.cloud.take().unwrap().stop().await.unwrap();
    let report = probe(
        &world.on_prem,
        Backend::best_available(),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(report.step, Some(ProbeStep::TokenService), "{report:?}");
    world.proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_api_names_what_is_wrong_with_bad_input() {
    let world = World::new(Duration::from_millis(50), |_| {}).await;
    let post = |path: &str, body: &'static str| {
        world
            .http
            .post(format!("{}{path}", world.api))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        (
            "/subscriptions",
            r#"{"mailbox":"a@b.c","appId":"x","deviceId":"has space"}"#,
            "deviceId",
        ),
        (
            "/subscriptions",
            r#"{"mailbox":"a@b.c","appId":"","deviceId":"ab"}"#,
            "appId",
        ),
        (
            "/subscriptions",
            r#"{"mailbox":"a@b.c","appId":"x","deviceId":"ab","extra":1}"#,
            "extra",
        ),
        ("/subscriptions", "not json", "invalid subscription"),
        (
            "/mailboxes/alice@fabrikam.com/messages",
            r#"{"count":"three"}"#,
            "invalid body",
        ),
    ];
    for (path, body, names) in cases {
        let response = post(path, body).await.unwrap();
        assert_eq!(response.status(), 400, "{path} {body}");
        let text = response.text().await.unwrap();
        assert!(text.contains(names), "{path} {body}: {text}");
    }
    // Still serving, state unchanged.
    assert_eq!(world.state().await.subscriptions, 2);
    world.proxy.stop().await;
}
