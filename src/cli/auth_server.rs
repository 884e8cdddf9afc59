//! `pushproxy auth-server ...`: `New-`/`Set-`/`Get-AuthServer`.

use anyhow::Result;
use clap::Subcommand;
use pushproxy_config::{AUTH_SERVER_NAME, AuthServer, DnsName, HttpsUrl, format_list};

use super::certificate::capitalised;
use super::{Context, print_json, print_outcome};

#[derive(Debug, Subcommand)]
pub enum AuthServerCommand {
    /// Create the MicrosoftSts auth server, or correct its metadata URL (step 2 of the script).
    Ensure {
        /// The Office 365 tenant domain (the realm of the metadata URL).
        #[arg(long)]
        tenant_domain: DnsName,
        /// The token service's address (the local cloud's, for example).
        #[arg(long, default_value = pushproxy_config::DEFAULT_AUTHORITY)]
        authority: HttpsUrl,
    },
    /// Show the auth servers (`Get-AuthServer`).
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, command: AuthServerCommand) -> Result<()> {
    match command {
        AuthServerCommand::Ensure {
            tenant_domain,
            authority,
        } => {
            let data = ctx.open()?;
            let outcome = data
                .store()
                .update_config(|doc| -> Result<_, anyhow::Error> {
                    Ok(doc.ensure_auth_server(&tenant_domain, &authority))
                })?;
            print_outcome(&outcome);
            Ok(())
        }
        AuthServerCommand::Show { json } => {
            let config = ctx.open()?.config()?;
            let servers: Vec<&AuthServer> = config.auth_servers().collect();
            if json {
                return print_json(&servers);
            }
            if servers.is_empty() {
                println!(
                    "No auth server is configured; `pushproxy auth-server ensure --tenant-domain <domain>` creates {AUTH_SERVER_NAME}."
                );
            }
            for (i, server) in servers.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                println!("{}", format_list(&rows(server)).trim_end());
            }
            Ok(())
        }
    }
}

/// `Get-AuthServer` in the administrator's list layout.
pub fn rows(server: &AuthServer) -> Vec<(&'static str, String)> {
    vec![
        ("Name", server.name.clone()),
        (
            "IssuerIdentifier",
            server.issuer_identifier.clone().unwrap_or_default(),
        ),
        (
            "TokenIssuingEndpoint",
            server
                .token_issuing_endpoint
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
        ),
        ("AuthMetadataUrl", server.auth_metadata_url.to_string()),
        ("Realm", server.realm.clone().unwrap_or_default()),
        ("Type", server.kind.as_str().to_owned()),
        ("Enabled", capitalised(server.enabled)),
    ]
}
