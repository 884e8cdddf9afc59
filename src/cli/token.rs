//! `pushproxy token ...`: mint, decode and verify server-to-server tokens.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use pushproxy_cert::{Certificate, Thumbprint};
use pushproxy_config::format_list;
use pushproxy_token::jwt::{Claims, Header, decode};
use pushproxy_token::metadata::MetadataDocument;
use pushproxy_token::mint::{ActorToken, Lifetime, outer_token, sts_assertion};
use pushproxy_token::principal::{Audience, Host, Principal, Realm, well_known};
use pushproxy_token::signer::Backend;
use pushproxy_token::verify::{KeySet, Validation, verify};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::{Context, print_json};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token signed with AuthConfig's current certificate.
    Mint(MintArgs),
    /// Decode a token without verifying it: header, claims, dates, x5t.
    Decode {
        /// The token (`-` reads standard input).
        token: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a token's signature, dates, audience and issuer.
    Verify(VerifyArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    /// The app-only actor token the proxy sends.
    Actor,
    /// The self-issued assertion for the token service.
    Assertion,
    /// An unsigned outer token carrying a signed actor token and user claims.
    Outer,
}

#[derive(Debug, Args)]
pub struct MintArgs {
    /// Which token.
    #[arg(long, value_enum, default_value_t = Kind::Actor)]
    kind: Kind,
    /// The tenant id (realm).
    #[arg(long)]
    realm: pushproxy_token::principal::Guid,
    /// The audience host (the push service's for an actor token, the token service's for an
    /// assertion).
    #[arg(long, default_value = "outlook.office365.com")]
    host: Host,
    /// Lifetime in seconds (at most 12 hours).
    #[arg(long, default_value_t = 3600)]
    lifetime: i64,
    /// Extra user claims of an outer token, `name=value` (e.g. `smtp=alice@fabrikam.com`).
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    claims: Vec<String>,
    /// Print JSON (token, header, claims).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token (`-` reads standard input).
    token: String,
    /// Verify with this certificate (PEM or DER, e.g. OAuthCert.cer).
    #[arg(
        long,
        required_unless_present = "metadata",
        conflicts_with = "metadata"
    )]
    cert: Option<PathBuf>,
    /// Verify with the keys of this metadata document URL.
    #[arg(long)]
    metadata: Option<String>,
    /// The expected audience, `<id>/<host>@<realm>`.
    #[arg(long)]
    audience: Audience,
    /// The expected issuer, `<id>@<realm>` (realm `*` accepts any tenant).
    #[arg(long)]
    issuer: Principal,
    /// Clock skew allowed for nbf and exp, in seconds.
    #[arg(long, default_value_t = 300)]
    leeway: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Mint(args) => mint(ctx, args),
        TokenCommand::Decode { token, json } => decode_cmd(ctx, &read_token(&token)?, json),
        TokenCommand::Verify(args) => verify_cmd(ctx, args).await,
    }
}

fn read_token(arg: &str) -> Result<String> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the token from standard input")?;
        Ok(text.trim().to_owned())
    } else {
        Ok(arg.trim().to_owned())
    }
}

fn mint(ctx: &Context, args: MintArgs) -> Result<()> {
    let data = ctx.open()?;
    let (certificate, key) = data.current_signing_certificate()?;
    let signer = Backend::best_available().signer(&certificate, &key)?;
    let lifetime = Lifetime::from_secs(args.lifetime)?;
    let now = ctx.now().unix_timestamp();
    let realm = Realm::Tenant(args.realm);
    let minted = match args.kind {
        Kind::Actor => ActorToken::new(
            Audience::new(well_known::EXCHANGE, args.host, realm),
            lifetime,
        )
        .mint(signer.as_ref(), now)?,
        Kind::Assertion => sts_assertion(signer.as_ref(), &args.host, args.realm, lifetime, now)?,
        Kind::Outer => {
            let actor = ActorToken::new(
                Audience::new(well_known::EXCHANGE, args.host.clone(), realm),
                lifetime,
            )
            .mint(signer.as_ref(), now)?;
            let mut claims = actor.claims.clone();
            claims.trusted_for_delegation = None;
            for claim in &args.claims {
                let Some((name, value)) = claim.split_once('=') else {
                    bail!("--claim `{claim}` is not NAME=VALUE");
                };
                claims.set_extra(name, Value::String(value.to_owned()))?;
            }
            outer_token(claims, &actor.token)?
        }
    };
    if args.json {
        let decoded = decode(minted.token.as_str(), usize::MAX)?;
        return print_json(&serde_json::json!({
            "token": minted.token.as_str(),
            "header": serde_json::from_str::<Value>(&decoded.header().to_json())?,
            "claims": serde_json::from_str::<Value>(&minted.claims.to_json())?,
            "expiresAt": minted.expires_at(),
        }));
    }
    println!("{}", minted.token.as_str());
    Ok(())
}

/// What `token decode` shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DecodedView {
    header: Value,
    claims: Value,
    not_before: Option<String>,
    expires: Option<String>,
    status: String,
    x5t: Option<String>,
    x5t_hex: Option<String>,
    matches_certificate: Option<String>,
    signature_bytes: usize,
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn human_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {sec:02}s")
    } else if m > 0 {
        format!("{m}m {sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// Valid / expired / not yet valid, with how long.
fn status_of(claims: &Claims, now: i64) -> String {
    if now < claims.nbf {
        format!(
            "NOT YET VALID: valid in {}",
            human_duration(claims.nbf - now)
        )
    } else if now >= claims.exp {
        format!("EXPIRED {} ago", human_duration(now - claims.exp))
    } else {
        format!("valid, expires in {}", human_duration(claims.exp - now))
    }
}

fn decode_cmd(ctx: &Context, token: &str, json: bool) -> Result<()> {
    let decoded = decode(token, usize::MAX).context("the token cannot be decoded")?;
    let header: &Header = decoded.header();
    let claims = decoded.claims();
    let now = ctx.now().unix_timestamp();
    let x5t_hex = header
        .x5t
        .as_deref()
        .and_then(|x| Thumbprint::from_x5t(x).ok())
        .map(|t| t.to_string());
    // Match x5t against the local certificate store, when there is one.
    let matches_certificate = x5t_hex.as_ref().and_then(|hex| {
        let thumbprint: Thumbprint = hex.parse().ok()?;
        let data = ctx.open_existing()?;
        let record = data.certificates().ok()?.get(&thumbprint).cloned()?;
        Some(format!(
            "{} ({})",
            record.certificate.thumbprint(),
            record.friendly_name
        ))
    });
    let view = DecodedView {
        header: serde_json::from_str(&header.to_json())?,
        claims: serde_json::from_str(&claims.to_json())?,
        not_before: Some(rfc3339(claims.nbf)),
        expires: Some(rfc3339(claims.exp)),
        status: status_of(claims, now),
        x5t: header.x5t.clone(),
        x5t_hex,
        matches_certificate,
        signature_bytes: decoded.signature().len(),
    };
    if json {
        return print_json(&view);
    }
    println!("Header:\n{}", serde_json::to_string_pretty(&view.header)?);
    println!("Claims:\n{}", serde_json::to_string_pretty(&view.claims)?);
    let mut rows = vec![
        ("NotBefore", view.not_before.clone().unwrap_or_default()),
        ("Expires", view.expires.clone().unwrap_or_default()),
        ("Status", view.status.clone()),
        ("Lifetime", human_duration(claims.lifetime())),
        ("X5t", view.x5t.clone().unwrap_or_default()),
        ("X5tHex", view.x5t_hex.clone().unwrap_or_default()),
    ];
    if let Some(m) = &view.matches_certificate {
        rows.push(("Certificate", m.clone()));
    }
    rows.push(("SignatureBytes", view.signature_bytes.to_string()));
    println!("{}", format_list(&rows).trim_end());
    Ok(())
}

async fn verify_cmd(ctx: &Context, args: VerifyArgs) -> Result<()> {
    let token = read_token(&args.token)?;
    let keys = match (&args.cert, &args.metadata) {
        (Some(path), _) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let certificate = Certificate::from_pem_or_der(&bytes)
                .with_context(|| format!("{} is not a certificate", path.display()))?;
            KeySet::from_certificates([&certificate])?
        }
        (None, Some(url)) => {
            let body = reqwest::get(url)
                .await
                .with_context(|| format!("cannot fetch {url}"))?
                .error_for_status()
                .with_context(|| format!("cannot fetch {url}"))?
                .text()
                .await?;
            MetadataDocument::parse(&body)
                .with_context(|| format!("{url} is not a metadata document"))?
                .key_set()?
        }
        (None, None) => bail!("give --cert or --metadata"),
    };
    let mut validation = Validation::new(args.audience, args.issuer);
    validation.leeway = args.leeway;
    let now = ctx.now().unix_timestamp();
    match verify(&token, &keys, &validation, now) {
        Ok(verified) => {
            if args.json {
                return print_json(&serde_json::json!({
                    "valid": true,
                    "thumbprint": verified.thumbprint().to_string(),
                    "claims": serde_json::from_str::<Value>(&verified.claims().to_json())?,
                }));
            }
            println!(
                "Valid: signed by certificate {}; {}.",
                verified.thumbprint(),
                status_of(verified.claims(), now)
            );
            Ok(())
        }
        Err(error) => {
            if args.json {
                print_json(&serde_json::json!({
                    "valid": false,
                    "code": error.code(),
                    "reason": error.to_string(),
                }))?;
            }
            Err(anyhow::Error::new(error).context("the token is not valid"))
        }
    }
}
