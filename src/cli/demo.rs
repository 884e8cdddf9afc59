//! `pushproxy demo`: the whole flow on this machine with nothing to configure.
//!
//! A local cloud on loopback, the organisation registered, setup steps 1 to 5 as an
//! administrator runs them, two devices subscribed to a mailbox, mail arriving and being read
//! (each badge change printed as the devices receive it), the connectivity probe, a clean exit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use pushproxy::cloud_client::CloudClient;
use pushproxy::cloud_server::{CloudConfig, spawn as spawn_cloud};
use pushproxy::probe::probe;
use pushproxy::proxy::{ProxySettings, SubscribeRequest, spawn as spawn_proxy};
use pushproxy_config::{DnsName, HttpsUrl};
use pushproxy_token::signer::Backend;

use super::Context;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The organisation's domain.
    #[arg(long, default_value = "fabrikam.com")]
    organization: DnsName,
    /// Keep the data in this directory instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// The proxy's coalescing window, in milliseconds.
    #[arg(long, default_value_t = 250)]
    window_ms: u64,
}

const MAILBOX: &str = "alice";
const APP: &str = "com.microsoft.exchange.owa.iphone";
const DEVICES: [(&str, &str); 2] = [
    (
        "iPhone",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
    ),
    (
        "iPad",
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    ),
];

fn heading(text: &str) {
    println!("\n== {text} ==");
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let temp;
    let root = match &args.keep {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let on_prem_dir = root.join("on-premises");
    let cloud_dir = root.join("cloud");
    let org = args.organization;
    let mailbox = format!("{MAILBOX}@{org}");

    heading("The local cloud: token service and push service");
    let cloud = spawn_cloud(CloudConfig::ephemeral(&cloud_dir)).await?;
    let base = format!("http://{}", cloud.addr());
    println!("Listening on {base}");
    let client = CloudClient::new(&base);
    let registered = client.register(org.as_str()).await?;
    println!(
        "Organisation {} registered with the cloud; tenant id {}",
        registered.domain, registered.tenant_id
    );

    let ctx = Context::new(on_prem_dir.clone());
    let authority: HttpsUrl = base.parse().context("the cloud's URL")?;

    heading("Steps 1 and 2: the OAuth certificate and the auth server");
    super::setup::run(
        &ctx,
        super::setup::SetupArgs {
            tenant_domain: org.clone(),
            domain: None,
            authority,
            export: None,
        },
    )?;

    heading("Step 3: trust in the cloud (the certificate as a credential)");
    super::cloud::run_credential(
        &ctx,
        super::cloud::CredentialCommand::Add {
            organization: org.to_string(),
            cert: None,
            cloud: base.clone(),
        },
    )
    .await?;

    heading("Step 4: Enable-PushNotificationProxy");
    super::push_proxy::run(
        &ctx,
        super::push_proxy::PushProxyCommand::Enable {
            organization: org.clone(),
            uri: Some(cloud.push_uri().parse().context("the push URI")?),
            json: false,
        },
    )?;

    heading("Step 5: verify with test mail");
    let mut settings = ProxySettings::new(&on_prem_dir);
    settings.engine.coalesce_window = Duration::from_millis(args.window_ms);
    let proxy = spawn_proxy(settings).await?;
    let api = format!("http://{}", proxy.addr);
    println!("The proxy is running; its local API is {api}");
    let http = reqwest::Client::new();
    for (name, device) in DEVICES {
        let response = http
            .post(format!("{api}/subscriptions"))
            .json(&SubscribeRequest {
                mailbox: mailbox.clone(),
                app_id: APP.to_owned(),
                device_id: device.to_owned(),
                installation_id: None,
            })
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("subscribing the {name} failed: {}", response.text().await?);
        }
        println!("{name} ({}...) subscribed to {mailbox}", &device[..8]);
    }

    let tenant = proxy.tenant_id.clone();
    let mut shown: BTreeMap<String, u32> = BTreeMap::new();
    let steps: [(&str, &str, u32, u32); 3] = [
        ("3 new messages arrive for", "messages", 3, 3),
        ("Alice reads 2 of them in", "read", 2, 1),
        ("Alice reads the last one in", "read", 1, 0),
    ];
    for (what, action, count, expect) in steps {
        println!("\n{what} {mailbox}");
        let response = http
            .post(format!("{api}/mailboxes/{mailbox}/{action}"))
            .json(&serde_json::json!({ "count": count }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("{action} failed: {}", response.text().await?);
        }
        watch_badges(&client, &tenant, expect, &mut shown).await?;
    }

    heading("Step 5: verify with the connectivity probe");
    let report = probe(
        &on_prem_dir,
        Backend::best_available(),
        Duration::from_secs(10),
    )
    .await;
    println!("{}", report.to_list_layout().trim_end());

    proxy.stop().await;
    cloud.stop().await?;
    if !report.is_success() {
        bail!("the connectivity probe failed");
    }
    println!("\nDone: every badge followed the mailbox, and the probe succeeded.");
    if let Some(dir) = &args.keep {
        println!("The data is kept in {}", dir.display());
    }
    Ok(())
}

/// Polls the cloud's device registry, printing each badge change as it lands, until every
/// demo device shows `expect`.
async fn watch_badges(
    client: &CloudClient,
    tenant: &str,
    expect: u32,
    shown: &mut BTreeMap<String, u32>,
) -> Result<()> {
    let started = Instant::now();
    loop {
        let devices = client.devices(tenant).await?;
        for (name, id) in DEVICES {
            if let Some(device) = devices.iter().find(|d| d.device_id == id)
                && shown.get(id) != Some(&device.badge)
                && device.publishes > 0
            {
                shown.insert(id.to_owned(), device.badge);
                println!(
                    "  {name:<6} badge {:>2}   (after {} ms)",
                    device.badge,
                    started.elapsed().as_millis()
                );
            }
        }
        if DEVICES
            .iter()
            .all(|(_, id)| shown.get(*id) == Some(&expect))
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the badges did not reach {expect} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
