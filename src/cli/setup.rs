//! `pushproxy setup`: setup steps 1 and 2 of the original script, idempotently.
//!
//! 1. Find a certificate that fits (domain, SMTP or Federation, at least 2048 bits, a
//!    friendly name containing "OAuth", not expired) or create `Exchange S2S OAuth`; make it
//!    AuthConfig's current certificate; export it as `OAuthCert.cer`.
//! 2. Ensure the `MicrosoftSts` auth server points at the tenant's metadata URL.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pushproxy::datadir::write_file_atomically;
use pushproxy_cert::{CertificateParams, choose};
use pushproxy_config::{Change, DnsName, HttpsUrl};

use super::certificate::create_and_store;
use super::{Context, print_outcome};

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The Office 365 tenant domain (the script's `$tenantDomain`).
    #[arg(long)]
    pub tenant_domain: DnsName,
    /// The on-premises DNS domain the certificate is for (the script's
    /// `$env:USERDNSDOMAIN`); the tenant domain when absent.
    #[arg(long)]
    pub domain: Option<DnsName>,
    /// The token service's address (the local cloud's, for example).
    #[arg(long, default_value = pushproxy_config::DEFAULT_AUTHORITY)]
    pub authority: HttpsUrl,
    /// Where to export the certificate (default: <data dir>/OAuthConfig/OAuthCert.cer).
    #[arg(long)]
    pub export: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: SetupArgs) -> Result<()> {
    let data = ctx.open()?;
    let domain = args.domain.unwrap_or_else(|| args.tenant_domain.clone());
    let now = ctx.now();
    let mut changed = false;

    // Step 1: a certificate for the built-in token issuer.
    let store = data.certificates()?;
    let record = match choose(&store.certificates, &domain, now) {
        Some(record) => record.clone(),
        None => {
            println!("Creating certificate for oAuth...");
            changed = true;
            create_and_store(ctx, &data, &CertificateParams::new(domain.clone(), now))?
        }
    };
    let thumbprint = record.certificate.thumbprint();
    let outcome = data
        .store()
        .update_config(|doc| -> Result<_, anyhow::Error> {
            Ok(doc.auth_config.set_current_certificate(thumbprint))
        })?;
    changed |= outcome.change != Change::Unchanged;
    print_outcome(&outcome);

    println!("Exporting certificate...");
    let export = args.export.unwrap_or_else(|| data.export_path());
    changed |= write_file_atomically(&export, record.certificate.der(), 0o644)?;

    // Step 2: the auth server.
    let outcome = data
        .store()
        .update_config(|doc| -> Result<_, anyhow::Error> {
            Ok(doc.ensure_auth_server(&args.tenant_domain, &args.authority))
        })?;
    changed |= outcome.change != Change::Unchanged;
    print_outcome(&outcome);

    if !changed {
        println!("Everything was already set up; nothing changed.");
    }
    println!("Complete.");
    Ok(())
}
