//! End-to-end throughput: the proxy publishing to the local cloud over loopback, in one
//! process, as shipped (default engine policy, default cloud).
//!
//! 1. A local cloud on a free `127.0.0.1` port, an organisation registered with it, and the
//!    on-premises side set up the way `pushproxy setup` / `push-proxy enable` do it (a new
//!    RSA-2048 OAuth certificate, the auth server, the certificate uploaded as a credential).
//! 2. The proxy started over that data directory; it fetches its token from the cloud.
//! 3. Devices subscribed through the proxy's local API: a phone and a tablet per mailbox, and
//!    the first publishes (every new subscription gets its count) left to settle.
//! 4. **Saturation**: client tasks set mailboxes' unseen counts through the local API
//!    (`PUT /mailboxes/{m}/unseen`, one change per request) as fast as the proxy answers, over
//!    all mailboxes in turn, until the event budget or the time budget is spent; then the
//!    queue drains. Badge updates per second = recipients in batches the cloud accepted
//!    (counted by the proxy) over the time from the first event to the last accepted batch.
//! 5. **Paced**: the same changes at a steady rate meant to ask for half the badge updates the
//!    saturation phase achieved, so that latency is measured below capacity rather than as the
//!    length of a full queue.
//! 6. In both phases, latency probes run beside the load: each probe owns a mailbox with one
//!    device, sets a new count and polls the cloud's device registry
//!    (`GET /devices/{tenant}/{app}/{device}`) every 2 ms until the badge shows it.
//!
//! The whole run is repeated for two populations, 10 000 and 1 000 subscriptions, because the
//! local cloud's cost per batch grows with its device registry. Everything is bounded:
//! loopback only, fixed numbers of subscriptions and events, a time budget for each phase and
//! a deadline for the whole run. With `--test`: one run of 1000 subscriptions and a few
//! hundred events.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use common::Report;
use pushproxy::cloud_client::CloudClient;
use pushproxy::cloud_server::{CloudConfig, DEVICES_DOCUMENT, RunningCloud, spawn as spawn_cloud};
use pushproxy::datadir::DataDir;
use pushproxy::proxy::{
    ProxyEvent, ProxySettings, SetUnseenRequest, SubscribeRequest, spawn as spawn_proxy,
};
use pushproxy_cert::{
    CertificateParams, CertificateRecord, Credential, KeySize, PrivateKey, self_signed,
};
use pushproxy_config::{DnsName, Guid, HttpsUrl};
use rand::SeedableRng;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

const ORGANIZATION: &str = "fabrikam.com";
const APP: &str = "com.microsoft.exchange.owa.iphone";
/// The longest a probe waits for its badge before the run fails.
const PROBE_LIMIT: Duration = Duration::from_secs(120);

/// The size and budgets of one run.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Names the run in the results.
    name: &'static str,
    mailboxes: usize,
    devices_per_mailbox: usize,
    probes: usize,
    /// Saturation: at most this many changes, for at most this long, from this many clients.
    max_events: u64,
    load_time: Duration,
    clients: usize,
    /// Paced: this long.
    paced_time: Duration,
    /// The most a phase may take to drain its queue.
    drain_time: Duration,
}

impl Plan {
    const FULL: [Self; 2] = [
        Self {
            name: "large",
            mailboxes: 5_000,
            devices_per_mailbox: 2,
            probes: 4,
            max_events: 200_000,
            load_time: Duration::from_secs(15),
            clients: 32,
            paced_time: Duration::from_secs(15),
            drain_time: Duration::from_secs(90),
        },
        Self {
            name: "small",
            mailboxes: 500,
            devices_per_mailbox: 2,
            probes: 4,
            max_events: 100_000,
            load_time: Duration::from_secs(10),
            clients: 32,
            paced_time: Duration::from_secs(10),
            drain_time: Duration::from_secs(60),
        },
    ];

    const TINY: Self = Self {
        name: "tiny",
        mailboxes: 500,
        devices_per_mailbox: 2,
        probes: 1,
        max_events: 300,
        load_time: Duration::from_secs(3),
        clients: 4,
        paced_time: Duration::from_secs(1),
        drain_time: Duration::from_secs(30),
    };

    /// Every subscription, the probes' included.
    fn subscriptions(&self) -> usize {
        self.mailboxes * self.devices_per_mailbox + self.probes
    }
}

/// How changes are sent in a phase.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// As fast as the proxy answers.
    Saturate,
    /// At this many changes per second.
    Paced(f64),
}

/// What one phase measured.
#[derive(Debug, Default)]
struct PhaseOutcome {
    events: u64,
    event_errors: u64,
    load_seconds: f64,
    updates: u64,
    batches: u64,
    update_seconds: f64,
    latencies_ms: Vec<f64>,
}

impl PhaseOutcome {
    fn updates_per_second(&self) -> f64 {
        self.updates as f64 / self.update_seconds.max(1e-9)
    }
}

fn device_id(mailbox: usize, device: usize) -> String {
    let n = (mailbox as u128) << 8 | device as u128;
    format!(
        "{:064x}",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    )
}

fn mailbox_name(n: usize) -> String {
    format!("user{n:06}")
}

/// Setup steps 1, 2 and 4 on the on-premises side, and step 3 (the credential) in the cloud.
async fn set_up(on_prem: &Path, cloud: &RunningCloud) -> Result<()> {
    let base = format!("http://{}", cloud.addr());
    let client = CloudClient::new(&base);
    client.register(ORGANIZATION).await?;

    let organization: DnsName = ORGANIZATION.parse()?;
    let authority: HttpsUrl = base.parse().context("the cloud's URL")?;
    let push_uri: HttpsUrl = cloud.push_uri().parse().context("the push URI")?;
    let now = time::OffsetDateTime::now_utc();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);

    let data = DataDir::open(on_prem)?;
    let params = CertificateParams::new(organization.clone(), now - time::Duration::hours(1));
    let key = PrivateKey::generate(KeySize::Bits2048, &mut rng);
    let certificate = self_signed(&params, &key, &mut rng)?;
    let thumbprint = certificate.thumbprint();
    {
        let lock = data.lock()?;
        let record = CertificateRecord::new(
            certificate.clone(),
            params.friendly_name.clone(),
            params.services,
        );
        data.add_certificate(&lock, record, &key)?;
    }
    let server: DnsName = format!("ex01.{ORGANIZATION}").parse()?;
    data.store().update_config(|doc| -> Result<_> {
        let _ = doc.auth_config.set_current_certificate(thumbprint);
        let _ = doc.ensure_auth_server(&organization, &authority);
        let _ = doc.enable_push_proxy(
            &organization,
            Some(push_uri),
            now,
            Guid::from_random_bytes(rand::random()),
            &server,
        );
        Ok(())
    })?;
    client
        .add_credential(ORGANIZATION, &Credential::for_certificate(&certificate))
        .await?;
    Ok(())
}

/// The proxy's counters, from its `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    published_batches: u64,
    published_recipients: u64,
    queue_depth: u64,
    token_age: f64,
}

/// The proxy's local API, and its counters.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn counters(&self) -> Result<Counters> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let mut counters = Counters::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let value: f64 = value.parse().unwrap_or(f64::NAN);
            match name {
                "pushproxy_published_batches_total" => counters.published_batches = value as u64,
                "pushproxy_published_recipients_total" => {
                    counters.published_recipients = value as u64;
                }
                "pushproxy_queue_depth" => counters.queue_depth = value as u64,
                "pushproxy_token_age_seconds" => counters.token_age = value,
                _ => {}
            }
        }
        Ok(counters)
    }

    /// Polls until `done` holds for the counters, at most `limit`.
    async fn wait_for(
        &self,
        limit: Duration,
        mut done: impl FnMut(&Counters) -> bool,
    ) -> Result<Counters> {
        let start = Instant::now();
        loop {
            let now = self.counters().await?;
            if done(&now) {
                return Ok(now);
            }
            if start.elapsed() > limit {
                bail!("the proxy did not get there within {limit:?}: {now:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until nothing is queued and the published count has not moved for 1.5 s (the
    /// last batch may still be in flight when the queue is empty).
    async fn settle(&self, limit: Duration) -> Result<Counters> {
        let start = Instant::now();
        let mut last = self.wait_for(limit, |c| c.queue_depth == 0).await?;
        let mut quiet = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = self.counters().await?;
            if now.queue_depth != 0 || now.published_recipients != last.published_recipients {
                quiet = Instant::now();
            } else if quiet.elapsed() >= Duration::from_millis(1500) {
                return Ok(now);
            }
            last = now;
            if start.elapsed() > limit {
                bail!("the proxy did not settle within {limit:?}: {now:?}");
            }
        }
    }

    async fn set_unseen(&self, mailbox: &str, unseen: u32) -> bool {
        self.http
            .put(format!("{}/mailboxes/{mailbox}/unseen", self.base))
            .json(&SetUnseenRequest { unseen })
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    async fn subscribe_all(&self, plan: &Plan) -> Result<()> {
        let jobs: Vec<(usize, usize)> = (0..plan.mailboxes)
            .flat_map(|m| (0..plan.devices_per_mailbox).map(move |d| (m, d)))
            .chain((0..plan.probes).map(|p| (plan.mailboxes + p, 0)))
            .collect();
        let jobs = Arc::new(jobs);
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (api, jobs, next) = (self.clone(), jobs.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(&(m, d)) = jobs.get(i) else {
                        return Ok::<(), anyhow::Error>(());
                    };
                    let response = api
                        .http
                        .post(format!("{}/subscriptions", api.base))
                        .json(&SubscribeRequest {
                            mailbox: mailbox_name(m),
                            app_id: APP.to_owned(),
                            device_id: device_id(m, d),
                            installation_id: None,
                        })
                        .send()
                        .await?;
                    ensure!(
                        response.status().is_success(),
                        "subscribing failed: {}",
                        response.text().await?
                    );
                }
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok(())
    }
}

/// The count the `i`-th change of a phase sets, and on which mailbox. Counts move on every
/// pass over the mailboxes, and `salt` keeps phases apart, so no change repeats a count.
fn change(plan: &Plan, i: u64, salt: u64) -> (String, u32) {
    let mailbox = (i as usize).wrapping_mul(7919) % plan.mailboxes;
    let unseen = ((i / plan.mailboxes as u64 + salt) % 500 + 1) as u32;
    (mailbox_name(mailbox), unseen)
}

/// One saturating client: sends changes one after the other until the budgets are spent.
async fn load_client(
    api: Api,
    plan: Plan,
    salt: u64,
    next: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    until: Instant,
) {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= plan.max_events || Instant::now() >= until {
            return;
        }
        let (mailbox, unseen) = change(&plan, i, salt);
        if !api.set_unseen(&mailbox, unseen).await {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One latency probe: a new count on its own mailbox, then the cloud polled until the badge
/// shows it. Returns the latencies in milliseconds.
async fn probe(
    api: Api,
    device_url: String,
    mailbox: String,
    first: u32,
    stop: Arc<AtomicBool>,
) -> Result<Vec<f64>> {
    let mut latencies = Vec::new();
    let mut value = first;
    while !stop.load(Ordering::Relaxed) {
        value = value % 99_000 + 1;
        let start = Instant::now();
        ensure!(
            api.set_unseen(&mailbox, value).await,
            "the probe's change was refused"
        );
        loop {
            let device: serde_json::Value = api.http.get(&device_url).send().await?.json().await?;
            let badge = device.get("badge").and_then(serde_json::Value::as_u64);
            if badge == Some(u64::from(value)) {
                latencies.push(start.elapsed().as_secs_f64() * 1e3);
                break;
            }
            if start.elapsed() > PROBE_LIMIT {
                bail!(
                    "the probe's badge did not reach {value} within {PROBE_LIMIT:?} (shows {badge:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(latencies)
}

/// A running proxy and cloud with their subscriptions in place.
struct World {
    api: Api,
    plan: Plan,
    cloud_url: String,
    tenant: String,
    events: broadcast::Sender<()>,
}

/// One phase: load and probes, then the drain. `salt` keeps its counts apart from other
/// phases'.
async fn phase(world: &World, load: Load, salt: u64) -> Result<PhaseOutcome> {
    let plan = world.plan;
    let api = &world.api;
    let before = api.counters().await?;

    // When the last accepted batch came back, from the proxy's events.
    let mut published = world.events.subscribe();
    let last_accepted = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let watcher = {
        let last = last_accepted.clone();
        tokio::spawn(async move {
            while let Ok(()) | Err(RecvError::Lagged(_)) = published.recv().await {
                *last.lock().unwrap() = Some(Instant::now());
            }
        })
    };

    let stop = Arc::new(AtomicBool::new(false));
    let probes: Vec<_> = (0..plan.probes)
        .map(|p| {
            let url = format!(
                "{}/devices/{}/{APP}/{}",
                world.cloud_url,
                world.tenant,
                device_id(plan.mailboxes + p, 0)
            );
            tokio::spawn(probe(
                api.clone(),
                url,
                mailbox_name(plan.mailboxes + p),
                (salt as u32).wrapping_mul(10_007) % 99_000,
                stop.clone(),
            ))
        })
        .collect();

    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let monitor = {
        let (api, next) = (api.clone(), next.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if let Ok(c) = api.counters().await {
                    eprintln!(
                        "  e2e {} {:>5.1} s: {:>7} changes sent, {:>7} updates accepted, queue {:>6}",
                        match load {
                            Load::Saturate => "saturated",
                            Load::Paced(_) => "paced",
                        },
                        start.elapsed().as_secs_f64(),
                        next.load(Ordering::Relaxed),
                        c.published_recipients - before.published_recipients,
                        c.queue_depth
                    );
                }
            }
        })
    };
    match load {
        Load::Saturate => {
            let clients: Vec<_> = (0..plan.clients)
                .map(|_| {
                    tokio::spawn(load_client(
                        api.clone(),
                        plan,
                        salt,
                        next.clone(),
                        errors.clone(),
                        start + plan.load_time,
                    ))
                })
                .collect();
            for client in clients {
                client.await?;
            }
        }
        Load::Paced(rate) => {
            let total = (rate * plan.paced_time.as_secs_f64()).ceil().max(1.0) as u64;
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sends = Vec::new();
            for i in 0..total {
                ticks.tick().await;
                next.store(i + 1, Ordering::Relaxed);
                let (api, errors) = (api.clone(), errors.clone());
                let (mailbox, unseen) = change(&plan, i, salt);
                sends.push(tokio::spawn(async move {
                    if !api.set_unseen(&mailbox, unseen).await {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            for send in sends {
                send.await?;
            }
        }
    }
    let load_seconds = start.elapsed().as_secs_f64();
    let events = next.load(Ordering::Relaxed).min(plan.max_events);

    // Keep probing while the queue drains, then stop and settle.
    let drained = api.wait_for(plan.drain_time, |c| c.queue_depth == 0).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_ms = Vec::new();
    for p in probes {
        latencies_ms.extend(p.await??);
    }
    drained?;
    let after = api.settle(plan.drain_time).await?;
    monitor.abort();
    watcher.abort();
    let last = last_accepted.lock().unwrap().unwrap_or(start);
    Ok(PhaseOutcome {
        events,
        event_errors: errors.load(Ordering::Relaxed),
        load_seconds,
        updates: after.published_recipients - before.published_recipients,
        batches: after.published_batches - before.published_batches,
        update_seconds: last.saturating_duration_since(start).as_secs_f64(),
        latencies_ms,
    })
}

/// Sets everything up for `plan`, runs the phases, and stops everything.
async fn run(plan: Plan) -> Result<(PhaseOutcome, PhaseOutcome, u64)> {
    let dir = tempfile::tempdir()?;
    let cloud = spawn_cloud(CloudConfig::ephemeral(dir.path().join("cloud"))).await?;
    ensure!(
        cloud.addr().ip().is_loopback(),
        "the cloud must listen on loopback"
    );
    let on_prem = dir.path().join("on-premises");
    set_up(&on_prem, &cloud).await?;

    let proxy = spawn_proxy(ProxySettings::new(&on_prem)).await?;
    ensure!(
        proxy.addr.ip().is_loopback(),
        "the proxy must listen on loopback"
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{}", proxy.addr),
    };
    api.wait_for(Duration::from_secs(30), |c| c.token_age >= 0.0)
        .await
        .context("the proxy got no token")?;
    api.subscribe_all(&plan).await?;
    // Every new subscription is published with its count; let that settle first.
    let subscriptions = plan.subscriptions() as u64;
    api.wait_for(plan.drain_time, |c| c.published_recipients >= subscriptions)
        .await
        .context("not every new subscription was published")?;
    api.settle(plan.drain_time)
        .await
        .context("the first publishes did not finish")?;

    // Forward the proxy's "published" events to the phases.
    let (events, _) = broadcast::channel(4096);
    let forward = {
        let mut from = proxy.events();
        let to = events.clone();
        tokio::spawn(async move {
            loop {
                match from.recv().await {
                    Ok(ProxyEvent::Published { .. }) | Err(RecvError::Lagged(_)) => {
                        let _ = to.send(());
                    }
                    Ok(_) => {}
                    Err(RecvError::Closed) => return,
                }
            }
        })
    };
    let world = World {
        api,
        plan,
        cloud_url: format!("http://{}", cloud.addr()),
        tenant: proxy.tenant_id.clone(),
        events,
    };
    let saturated = phase(&world, Load::Saturate, 0).await?;
    // Half the badge updates the saturated run achieved, in changes (each change updates
    // every device of its mailbox).
    let rate = saturated.updates_per_second() / 2.0 / plan.devices_per_mailbox as f64;
    let paced = phase(&world, Load::Paced(rate.max(1.0)), 250).await?;

    forward.abort();
    proxy.stop().await;
    cloud.stop().await?;
    // The size of the device registry the cloud stores.
    let registry = std::fs::metadata(
        dir.path()
            .join("cloud")
            .join(format!("{DEVICES_DOCUMENT}.json")),
    )
    .map_or(0, |m| m.len());
    Ok((saturated, paced, registry))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn add_phase(report: &mut Report, plan: &Plan, name: &str, outcome: &PhaseOutcome) {
    let subs = plan.subscriptions();
    let key = |what: &str| format!("e2e.{}.{name}.{what}", plan.name);
    let label = |what: &str| format!("{subs} subscriptions, {name}: {what}");
    report.add(
        key("events"),
        outcome.events as f64,
        "",
        label("count changes sent"),
    );
    report.add(
        key("event_errors"),
        outcome.event_errors as f64,
        "",
        label("count changes refused"),
    );
    report.add(
        key("events_per_s"),
        outcome.events as f64 / outcome.load_seconds.max(1e-9),
        "events/s",
        label("count changes taken by the local API"),
    );
    report.add(
        key("updates"),
        outcome.updates as f64,
        "",
        label("badge updates accepted by the cloud"),
    );
    report.add(
        key("batches"),
        outcome.batches as f64,
        "",
        label("batches accepted by the cloud"),
    );
    report.add(
        key("updates_per_s"),
        outcome.updates_per_second(),
        "updates/s",
        label("badge updates per second"),
    );
    let mut latencies = outcome.latencies_ms.clone();
    latencies.sort_by(f64::total_cmp);
    report.add(
        key("latency.samples"),
        latencies.len() as f64,
        "",
        label("latency samples"),
    );
    for p in [50.0, 90.0, 99.0] {
        report.add(
            key(&format!("latency.p{p:.0}")),
            percentile(&latencies, p),
            "ms",
            label(&format!("event to badge, p{p:.0}")),
        );
    }
}

fn main() -> Result<()> {
    let test = common::test_mode();
    let plans: &[Plan] = if test { &[Plan::TINY] } else { &Plan::FULL };
    let deadline = Duration::from_secs(if test { 120 } else { 600 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut report = Report::new("e2e");
    let started = Instant::now();
    for plan in plans {
        let left = deadline.saturating_sub(started.elapsed());
        let (saturated, paced, registry) = runtime
            .block_on(async { tokio::time::timeout(left, run(*plan)).await })
            .map_err(|_| {
                anyhow::anyhow!("the end-to-end runs did not finish within {deadline:?}")
            })??;
        report.add(
            format!("e2e.{}.subscriptions", plan.name),
            plan.subscriptions() as f64,
            "",
            format!(
                "{} run: subscriptions ({} devices per mailbox, and the probes')",
                plan.name, plan.devices_per_mailbox
            ),
        );
        report.add(
            format!("e2e.{}.registry_bytes", plan.name),
            registry as f64,
            "B",
            format!(
                "{} run: the cloud's stored device registry at the end",
                plan.name
            ),
        );
        add_phase(&mut report, plan, "saturated", &saturated);
        add_phase(&mut report, plan, "paced", &paced);
        if test {
            println!(
                "e2e (test mode): {} subscriptions; saturated: {} changes, {} badge updates; paced: {} changes, {} badge updates",
                plan.subscriptions(),
                saturated.events,
                saturated.updates,
                paced.events,
                paced.updates
            );
            ensure!(
                saturated.updates > 0 && paced.updates > 0,
                "no badge update reached the cloud"
            );
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    if !test {
        report.finish();
    }
    Ok(())
}
