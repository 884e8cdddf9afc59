//! `pushproxy certificate ...`: the certificate store.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use pushproxy::datadir::{DataDir, write_file_atomically};
use pushproxy_cert::{
    Certificate, CertificateInfo, CertificateParams, CertificateRecord, DEFAULT_FRIENDLY_NAME,
    DnsName, KeySize, PrivateKey, Services, Ski, Thumbprint, assess,
};
use pushproxy_config::format_list;
use serde::Serialize;

use super::{Context, generate_key, print_json};

#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Create a self-signed OAuth certificate and its RSA key (`New-ExchangeCertificate`).
    New(NewArgs),
    /// List the certificates in the store (`Get-ExchangeCertificate`).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also say, for each certificate, whether setup step 1 may reuse it for this
        /// organisation, and every reason why not.
        #[arg(long, value_name = "DOMAIN")]
        organization: Option<DnsName>,
    },
    /// Show a certificate of the store, or any certificate file.
    Show(ShowArgs),
    /// Export a certificate's public part (`OAuthCert.cer` is DER).
    Export(ExportArgs),
    /// Import an existing certificate and its private key (PEM or DER).
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The organisation's DNS domain: subject CN and DNS name.
    #[arg(long)]
    domain: DnsName,
    /// RSA key size: 2048, 3072 or 4096.
    #[arg(long, default_value_t = KeySize::default())]
    key_size: KeySize,
    /// The certificate's friendly name.
    #[arg(long, default_value = DEFAULT_FRIENDLY_NAME)]
    friendly_name: String,
    /// The services it is assigned to (comma separated).
    #[arg(long, default_value = "Federation")]
    services: Services,
    /// Subject key identifier, 32 hex digits (a new GUID when absent).
    #[arg(long)]
    subject_key_identifier: Option<Ski>,
    /// Validity in days from now.
    #[arg(long, default_value_t = 1826)]
    validity_days: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The thumbprint of a certificate in the store.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    thumbprint: Option<Thumbprint>,
    /// A certificate file (PEM or DER) to inspect instead.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Also apply the reuse rule of setup step 1 for this organisation.
    #[arg(long, value_name = "DOMAIN")]
    organization: Option<DnsName>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Der,
    Pem,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The thumbprint of the certificate (default: AuthConfig's current certificate).
    thumbprint: Option<Thumbprint>,
    /// Where to write it.
    #[arg(long, short, default_value = "OAuthCert.cer")]
    out: PathBuf,
    /// DER (the `.cer` of the original script) or PEM.
    #[arg(long, value_enum, default_value_t = Format::Der)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The certificate (PEM or DER).
    #[arg(long)]
    cert: PathBuf,
    /// Its private key (PKCS#8 or PKCS#1, PEM or DER).
    #[arg(long)]
    key: PathBuf,
    /// The friendly name to keep with it.
    #[arg(long, default_value = DEFAULT_FRIENDLY_NAME)]
    friendly_name: String,
    /// The services it is assigned to.
    #[arg(long, default_value = "Federation")]
    services: Services,
}

pub fn run(ctx: &Context, command: CertificateCommand) -> Result<()> {
    match command {
        CertificateCommand::New(args) => new(ctx, args),
        CertificateCommand::List { json, organization } => list(ctx, json, organization),
        CertificateCommand::Show(args) => show(ctx, args),
        CertificateCommand::Export(args) => export(ctx, args),
        CertificateCommand::Import(args) => import(ctx, args),
    }
}

/// Creates a certificate with `params`, stores it with its key and returns its record.
pub fn create_and_store(
    ctx: &Context,
    data: &DataDir,
    params: &CertificateParams,
) -> Result<CertificateRecord> {
    let key = generate_key(ctx, params.key_size);
    let certificate = pushproxy_cert::self_signed(params, &key, &mut ctx.rng())?;
    let record = CertificateRecord::new(certificate, params.friendly_name.clone(), params.services);
    let lock = data.lock()?;
    data.add_certificate(&lock, record.clone(), &key)?;
    Ok(record)
}

fn new(ctx: &Context, args: NewArgs) -> Result<()> {
    let data = ctx.open()?;
    let mut params = CertificateParams::new(args.domain, ctx.now());
    params.key_size = args.key_size;
    params.friendly_name = args.friendly_name;
    params.services = args.services;
    params.subject_key_identifier = args.subject_key_identifier;
    params.validity = time::Duration::days(i64::from(args.validity_days));
    let record = create_and_store(ctx, &data, &params)?;
    let info = record.certificate.info(ctx.now());
    if args.json {
        return print_json(&Shown::new(&record, info, None));
    }
    println!("{}", summary_table(std::slice::from_ref(&record)));
    Ok(())
}

/// The `Get-ExchangeCertificate` table: thumbprint, services, subject.
fn summary_table(records: &[CertificateRecord]) -> String {
    let mut out = format!("{:<40}  {:<20}  {}\n", "Thumbprint", "Services", "Subject");
    out.push_str(&format!(
        "{:<40}  {:<20}  {}\n",
        "----------", "--------", "-------"
    ));
    for record in records {
        let info = record.certificate.info(time::OffsetDateTime::UNIX_EPOCH);
        out.push_str(&format!(
            "{:<40}  {:<20}  {}\n",
            record.certificate.thumbprint(),
            record.services.to_string(),
            info.subject
        ));
    }
    out.pop();
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    friendly_name: Option<&'a str>,
    services: Option<String>,
    #[serde(flatten)]
    info: CertificateInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    reuse: Option<pushproxy_cert::Assessment>,
}

impl<'a> Shown<'a> {
    fn new(
        record: &'a CertificateRecord,
        info: CertificateInfo,
        reuse: Option<pushproxy_cert::Assessment>,
    ) -> Self {
        Self {
            friendly_name: Some(&record.friendly_name),
            services: Some(record.services.to_string()),
            info,
            reuse,
        }
    }
}

fn list(ctx: &Context, json: bool, organization: Option<DnsName>) -> Result<()> {
    let data = ctx.open()?;
    let store = data.certificates()?;
    let now = ctx.now();
    if json {
        let shown: Vec<_> = store
            .certificates
            .iter()
            .map(|record| {
                let reuse = organization.as_ref().map(|org| assess(record, org, now));
                Shown::new(record, record.certificate.info(now), reuse)
            })
            .collect();
        return print_json(&shown);
    }
    if store.certificates.is_empty() {
        println!("The certificate store is empty; `pushproxy certificate new` creates one.");
        return Ok(());
    }
    println!("{}", summary_table(&store.certificates));
    if let Some(org) = organization {
        println!();
        for record in &store.certificates {
            print_assessment(record, &org, now);
        }
    }
    Ok(())
}

fn print_assessment(record: &CertificateRecord, org: &DnsName, now: time::OffsetDateTime) {
    let assessment = assess(record, org, now);
    let thumbprint = record.certificate.thumbprint();
    if assessment.fits {
        println!("{thumbprint}: fits setup step 1 for {org}");
    } else {
        println!("{thumbprint}: cannot be reused for {org}:");
        for reason in &assessment.reasons {
            println!("  - {reason}");
        }
    }
}

fn show(ctx: &Context, args: ShowArgs) -> Result<()> {
    let now = ctx.now();
    let record = match (&args.thumbprint, &args.file) {
        (Some(thumbprint), _) => ctx.open()?.certificate(thumbprint)?,
        (None, Some(file)) => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let certificate = Certificate::from_pem_or_der(&bytes)
                .with_context(|| format!("{} is not a certificate", file.display()))?;
            CertificateRecord::new(certificate, String::new(), Services::NONE)
        }
        (None, None) => bail!("give a thumbprint or --file"),
    };
    let info = record.certificate.info(now);
    let reuse = args
        .organization
        .as_ref()
        .map(|org| assess(&record, org, now));
    if args.json {
        let mut shown = Shown::new(&record, info, reuse);
        if args.file.is_some() {
            shown.friendly_name = None;
            shown.services = None;
        }
        return print_json(&shown);
    }
    let mut rows: Vec<(&str, String)> = Vec::new();
    if args.file.is_none() {
        rows.push(("FriendlyName", record.friendly_name.clone()));
        rows.push(("Services", record.services.to_string()));
    }
    rows.extend(info_rows(&info));
    println!("{}", format_list(&rows).trim_end());
    if let Some(org) = &args.organization {
        println!();
        print_assessment(&record, org, now);
    }
    Ok(())
}

/// A certificate's details in the administrator's list layout.
pub fn info_rows(info: &CertificateInfo) -> Vec<(&'static str, String)> {
    let date = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    vec![
        ("Subject", info.subject.clone()),
        ("Issuer", info.issuer.clone()),
        ("CertificateDomains", info.dns_names.join(", ")),
        (
            "PublicKeySize",
            info.key_bits.map(|b| b.to_string()).unwrap_or_default(),
        ),
        ("KeyAlgorithm", info.key_algorithm.clone()),
        ("NotBefore", date(info.not_before)),
        ("NotAfter", date(info.not_after)),
        ("DaysLeft", info.days_left.to_string()),
        ("SerialNumber", info.serial_number.clone()),
        (
            "SubjectKeyIdentifier",
            info.subject_key_identifier.clone().unwrap_or_default(),
        ),
        ("Thumbprint", info.thumbprint.to_string()),
        ("Sha256Thumbprint", info.sha256_thumbprint.to_string()),
        ("X5t", info.x5t.clone()),
        ("SelfSigned", capitalised(info.self_signed)),
        ("SignatureAlgorithm", info.signature_algorithm.clone()),
    ]
}

/// `True`/`False`, as PowerShell prints booleans.
pub fn capitalised(value: bool) -> String {
    if value { "True" } else { "False" }.to_owned()
}

fn export(ctx: &Context, args: ExportArgs) -> Result<()> {
    let data = ctx.open()?;
    let thumbprint = match args.thumbprint {
        Some(t) => t,
        None => data
            .config()?
            .auth_config
            .current_certificate_thumbprint
            .context("no thumbprint given and AuthConfig has no current certificate")?,
    };
    let record = data.certificate(&thumbprint)?;
    let bytes = match args.format {
        Format::Der => record.certificate.der().to_vec(),
        Format::Pem => record.certificate.to_pem().into_bytes(),
    };
    let written = write_file_atomically(&args.out, &bytes, 0o644)?;
    if written {
        println!(
            "Exported certificate {thumbprint} to {}",
            args.out.display()
        );
    } else {
        println!(
            "{} already holds certificate {thumbprint}; nothing changed.",
            args.out.display()
        );
    }
    Ok(())
}

fn import(ctx: &Context, args: ImportArgs) -> Result<()> {
    let cert_bytes = std::fs::read(&args.cert)
        .with_context(|| format!("cannot read {}", args.cert.display()))?;
    let certificate = Certificate::from_pem_or_der(&cert_bytes)
        .with_context(|| format!("{} is not a certificate", args.cert.display()))?;
    let key_bytes = zeroize::Zeroizing::new(
        std::fs::read(&args.key).with_context(|| format!("cannot read {}", args.key.display()))?,
    );
    let key = PrivateKey::from_pem_or_der(&key_bytes)
        .with_context(|| format!("{} is not a usable RSA private key", args.key.display()))?;
    certificate.check_key(&key).with_context(|| {
        format!(
            "the key {} does not belong to the certificate {}",
            args.key.display(),
            args.cert.display()
        )
    })?;
    let data = ctx.open()?;
    let record = CertificateRecord::new(certificate, args.friendly_name, args.services);
    let lock = data.lock()?;
    data.add_certificate(&lock, record.clone(), &key)?;
    println!("Imported certificate {}", record.certificate.thumbprint());
    println!("{}", summary_table(std::slice::from_ref(&record)));
    Ok(())
}
