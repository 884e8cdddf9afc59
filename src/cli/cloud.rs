//! `pushproxy cloud ...` (the local cloud) and `pushproxy credential ...` (setup step 3).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use pushproxy::cloud_client::CloudClient;
use pushproxy::cloud_server::{CloudConfig, serve};
use pushproxy_cert::{Certificate, Credential};

use super::{Context, print_json};

/// The local cloud's address when none is given.
pub const DEFAULT_CLOUD: &str = "http://127.0.0.1:8480";

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Run the local cloud: token service and push service on one HTTP server.
    Serve {
        /// Where to listen (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8480")]
        listen: SocketAddr,
        /// The cloud's own data directory (its signing key, organisations, devices).
        #[arg(
            long,
            env = "PUSHPROXY_CLOUD_DATA_DIR",
            default_value = "./pushproxy-cloud-data"
        )]
        cloud_data_dir: PathBuf,
    },
    /// Register an organisation (the cloud side of "register with Office 365").
    Register {
        /// The organisation's domain.
        #[arg(long)]
        domain: String,
        /// The cloud.
        #[arg(long, default_value = DEFAULT_CLOUD)]
        cloud: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the badges of a tenant's devices, as the phones would show them.
    Devices {
        /// The organisation's domain or tenant id.
        #[arg(long)]
        organization: String,
        /// The cloud.
        #[arg(long, default_value = DEFAULT_CLOUD)]
        cloud: String,
        /// Print JSON (with each device's APNs request).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Upload the OAuth certificate as a credential of the Exchange service principal
    /// (`New-MsolServicePrincipalCredential -Type asymmetric -Usage Verify`).
    Add {
        /// The organisation's domain or tenant id.
        #[arg(long)]
        organization: String,
        /// The certificate (PEM or DER; default: the exported OAuthCert.cer of the data
        /// directory).
        #[arg(long)]
        cert: Option<PathBuf>,
        /// The cloud.
        #[arg(long, default_value = DEFAULT_CLOUD)]
        cloud: String,
    },
    /// List the credentials of the organisation's Exchange service principal.
    List {
        /// The organisation's domain or tenant id.
        #[arg(long)]
        organization: String,
        /// The cloud.
        #[arg(long, default_value = DEFAULT_CLOUD)]
        cloud: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a credential by thumbprint or key id.
    Remove {
        /// The organisation's domain or tenant id.
        #[arg(long)]
        organization: String,
        /// The thumbprint or key id.
        id: String,
        /// The cloud.
        #[arg(long, default_value = DEFAULT_CLOUD)]
        cloud: String,
    },
}

pub async fn run_cloud(_ctx: &Context, command: CloudCommand) -> Result<()> {
    match command {
        CloudCommand::Serve {
            listen,
            cloud_data_dir,
        } => {
            let mut config = CloudConfig::new(cloud_data_dir);
            config.listen = listen;
            serve(config).await
        }
        CloudCommand::Register {
            domain,
            cloud,
            json,
        } => {
            let org = CloudClient::new(cloud).register(&domain).await?;
            if json {
                return print_json(&serde_json::json!({
                    "domain": org.domain, "tenantId": org.tenant_id,
                    "metadataUrl": org.metadata_url, "pushUri": org.push_uri,
                }));
            }
            println!(
                "{}",
                pushproxy_config::format_list(&[
                    ("Domain", org.domain),
                    ("TenantId", org.tenant_id),
                    ("MetadataUrl", org.metadata_url),
                    ("PushUri", org.push_uri),
                ])
                .trim_end()
            );
            Ok(())
        }
        CloudCommand::Devices {
            organization,
            cloud,
            json,
        } => {
            let client = CloudClient::new(cloud);
            let org = client.organization(&organization).await?;
            let devices = client.devices(&org.tenant_id).await?;
            if json {
                let raw: Vec<_> = devices
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "appId": d.app_id, "deviceId": d.device_id,
                            "badge": d.badge, "publishes": d.publishes, "apns": d.apns,
                        })
                    })
                    .collect();
                return print_json(&raw);
            }
            println!("{:<64}  {:<34}  {:>5}", "Device", "App", "Badge");
            for d in devices {
                println!("{:<64}  {:<34}  {:>5}", d.device_id, d.app_id, d.badge);
            }
            Ok(())
        }
    }
}

pub async fn run_credential(ctx: &Context, command: CredentialCommand) -> Result<()> {
    match command {
        CredentialCommand::Add {
            organization,
            cert,
            cloud,
        } => {
            let path = match cert {
                Some(path) => path,
                None => ctx.open()?.export_path(),
            };
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "Cannot find certificate {}: run `pushproxy setup` first or give --cert",
                    path.display()
                )
            })?;
            let certificate = Certificate::from_pem_or_der(&bytes)
                .with_context(|| format!("{} is not a certificate", path.display()))?;
            let credential = Credential::for_certificate(&certificate);
            println!("Adding a key to Service Principal...");
            CloudClient::new(cloud)
                .add_credential(&organization, &credential)
                .await?;
            println!(
                "{}",
                pushproxy_config::format_list(&[
                    ("Type", "asymmetric".to_owned()),
                    ("Usage", "Verify".to_owned()),
                    ("Thumbprint", certificate.thumbprint().to_string()),
                    ("StartDate", rfc3339(credential.start_date)),
                    ("EndDate", rfc3339(credential.end_date)),
                ])
                .trim_end()
            );
            println!("Complete.");
            Ok(())
        }
        CredentialCommand::List {
            organization,
            cloud,
            json,
        } => {
            let org = CloudClient::new(cloud).organization(&organization).await?;
            if json {
                let list: Vec<_> = org
                    .credentials
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "keyId": c.key_id, "thumbprint": c.thumbprint,
                            "startDate": c.start_date, "endDate": c.end_date,
                        })
                    })
                    .collect();
                return print_json(&list);
            }
            if org.credentials.is_empty() {
                println!("No credential is registered for {}.", org.domain);
            }
            for c in &org.credentials {
                println!(
                    "{}  {}  {} .. {}",
                    c.thumbprint, c.key_id, c.start_date, c.end_date
                );
            }
            Ok(())
        }
        CredentialCommand::Remove {
            organization,
            id,
            cloud,
        } => {
            CloudClient::new(cloud)
                .remove_credential(&organization, &id)
                .await?;
            println!("Removed credential {id} of {organization}.");
            Ok(())
        }
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
