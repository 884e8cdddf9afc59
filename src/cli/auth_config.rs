//! `pushproxy auth-config ...`: `Get-AuthConfig` / `Set-AuthConfig`.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use pushproxy_config::{AuthConfig, Thumbprint, format_list};
use time::OffsetDateTime;

use super::{Context, print_json, print_outcome};

#[derive(Debug, Subcommand)]
pub enum AuthConfigCommand {
    /// Show the auth configuration (`Get-AuthConfig`).
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change the auth configuration (`Set-AuthConfig`). Give exactly one change.
    Set(SetArgs),
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(false))]
pub struct SetArgs {
    /// Make this certificate (it must be in the certificate store) the current one.
    #[arg(long, group = "change")]
    certificate_thumbprint: Option<Thumbprint>,
    /// Set the next certificate; it becomes current at --next-effective-date.
    #[arg(long, group = "change", requires = "next_effective_date")]
    next_certificate_thumbprint: Option<Thumbprint>,
    /// When the next certificate takes over (RFC 3339, e.g. 2027-01-31T00:00:00Z).
    #[arg(long, value_parser = parse_date)]
    next_effective_date: Option<OffsetDateTime>,
    /// Publish the next certificate now: it becomes current, the current one previous.
    #[arg(long, group = "change")]
    publish_certificate: bool,
    /// Forget the previous certificate (once every partner has the new one).
    #[arg(long, group = "change")]
    clear_previous_certificate: bool,
}

fn parse_date(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 date such as 2027-01-31T00:00:00Z: {e}"))
}

pub fn run(ctx: &Context, command: AuthConfigCommand) -> Result<()> {
    match command {
        AuthConfigCommand::Show { json } => {
            let config = ctx.open()?.config()?;
            if json {
                print_json(&config.auth_config)
            } else {
                println!("{}", format_list(&rows(&config.auth_config)).trim_end());
                Ok(())
            }
        }
        AuthConfigCommand::Set(args) => set(ctx, args),
    }
}

/// `Get-AuthConfig` in the administrator's list layout.
pub fn rows(config: &AuthConfig) -> Vec<(&'static str, String)> {
    let thumb = |t: Option<Thumbprint>| t.map(|t| t.to_string()).unwrap_or_default();
    vec![
        (
            "CurrentCertificateThumbprint",
            thumb(config.current_certificate_thumbprint),
        ),
        (
            "PreviousCertificateThumbprint",
            thumb(config.previous_certificate_thumbprint),
        ),
        (
            "NextCertificateThumbprint",
            thumb(config.next_certificate_thumbprint),
        ),
        (
            "NextCertificateEffectiveDate",
            config
                .next_certificate_effective_date
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default(),
        ),
        ("ServiceName", config.service_name.to_string()),
        ("Realm", config.realm.clone().unwrap_or_default()),
    ]
}

fn set(ctx: &Context, args: SetArgs) -> Result<()> {
    let data = ctx.open()?;
    // A certificate named here must exist in the store, with its key.
    for thumbprint in [
        args.certificate_thumbprint,
        args.next_certificate_thumbprint,
    ]
    .into_iter()
    .flatten()
    {
        let record = data.certificate(&thumbprint)?;
        data.private_key(&record.certificate)?;
    }
    let outcome = data
        .store()
        .update_config(|doc| -> Result<_, anyhow::Error> {
            let config = &mut doc.auth_config;
            Ok(if let Some(t) = args.certificate_thumbprint {
                config.set_current_certificate(t)
            } else if let Some(t) = args.next_certificate_thumbprint {
                let Some(date) = args.next_effective_date else {
                    bail!("--next-certificate-thumbprint needs --next-effective-date");
                };
                config.set_next_certificate(t, date)?
            } else if args.publish_certificate {
                config.publish_next_certificate()
            } else {
                config.clear_previous_certificate()
            })
        })?;
    print_outcome(&outcome);
    Ok(())
}
