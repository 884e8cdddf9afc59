//! `pushproxy push-proxy ...`: `Enable-`/`Disable-PushNotificationProxy`.

use anyhow::Result;
use clap::Subcommand;
use pushproxy_config::{DnsName, Guid, HttpsUrl};
use rand::RngExt as _;

use super::{Context, originating_server, print_json, print_outcome};

#[derive(Debug, Subcommand)]
pub enum PushProxyCommand {
    /// Create or enable the OnPrem-Proxy app (`Enable-PushNotificationProxy`).
    Enable {
        /// The Office 365 tenant domain.
        #[arg(long)]
        organization: DnsName,
        /// The push service (default https://outlook.office365.com/PushNotifications).
        #[arg(long)]
        uri: Option<HttpsUrl>,
        /// Print JSON instead of the list layout.
        #[arg(long)]
        json: bool,
    },
    /// Disable the OnPrem-Proxy app.
    Disable {
        /// Print JSON instead of the list layout.
        #[arg(long)]
        json: bool,
    },
    /// Show the OnPrem-Proxy app.
    Show {
        /// Print JSON instead of the list layout.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, command: PushProxyCommand) -> Result<()> {
    let data = ctx.open()?;
    match command {
        PushProxyCommand::Enable {
            organization,
            uri,
            json,
        } => {
            let guid = Guid::from_random_bytes(ctx.rng().random());
            let server = originating_server(&organization);
            let now = ctx.now();
            let (mut app, outcome) =
                data.store()
                    .update_config(|doc| -> Result<_, anyhow::Error> {
                        Ok(doc.enable_push_proxy(&organization, uri, now, guid, &server))
                    })?;
            // Like a PowerShell runspace, each invocation has an id of its own (not stored).
            app.runspace_id = Some(Guid::from_random_bytes(ctx.rng().random()));
            if json {
                return print_json(&app);
            }
            for message in outcome
                .messages
                .iter()
                .filter(|m| m.level == pushproxy_config::Level::Warning)
            {
                eprintln!("{message}");
            }
            println!("{}", app.to_list_layout().trim_end());
            Ok(())
        }
        PushProxyCommand::Disable { json } => {
            let Some(existing) = data.config()?.proxy_app().cloned() else {
                println!("The push notification proxy is not set up; nothing to disable.");
                return Ok(());
            };
            let server = originating_server(&existing.organization);
            let now = ctx.now();
            let (app, outcome) = data
                .store()
                .update_config(|doc| -> Result<_, anyhow::Error> {
                    Ok(doc.disable_push_proxy(now, &server))
                })?;
            if json {
                return print_json(&app);
            }
            print_outcome(&outcome);
            if let Some(app) = app {
                println!("{}", app.to_list_layout().trim_end());
            }
            Ok(())
        }
        PushProxyCommand::Show { json } => {
            let config = data.config()?;
            match config.proxy_app() {
                Some(app) if json => print_json(app),
                Some(app) => {
                    println!("{}", app.to_list_layout().trim_end());
                    Ok(())
                }
                None if json => print_json(&None::<()>),
                None => {
                    println!(
                        "The push notification proxy is not set up; `pushproxy push-proxy enable --organization <domain>` creates it."
                    );
                    Ok(())
                }
            }
        }
    }
}
