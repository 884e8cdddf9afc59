//! `pushproxy proxy serve` and `pushproxy probe`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use pushproxy::probe::probe;
use pushproxy::proxy::{ProxySettings, serve};
use pushproxy_token::signer::Backend;

use super::{Context, print_json};

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Run the proxy: the engine, the token client and the local API.
    Serve {
        /// Where the local API listens.
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: SocketAddr,
        /// The coalescing window, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        window_ms: u64,
    },
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// How long each request may take, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, command: ProxyCommand) -> Result<()> {
    match command {
        ProxyCommand::Serve { listen, window_ms } => {
            let mut settings = ProxySettings::new(ctx.data_dir());
            settings.listen = listen;
            settings.engine.coalesce_window = Duration::from_millis(window_ms);
            serve(settings).await
        }
    }
}

pub async fn run_probe(ctx: &Context, args: ProbeArgs) -> Result<()> {
    let report = probe(
        ctx.data_dir(),
        Backend::best_available(),
        Duration::from_secs(args.timeout),
    )
    .await;
    if args.json {
        print_json(&report)?;
    } else {
        println!("{}", report.to_list_layout().trim_end());
    }
    if !report.is_success() {
        bail!(
            "the connectivity probe failed at the {} step",
            report.step.map_or("unknown", |s| s.as_str())
        );
    }
    Ok(())
}
