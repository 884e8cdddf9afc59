//! `pushproxy`: the administrator's command line for the push-notification proxy of
//! on-premises Exchange, and the drivers that run the proxy and the local cloud.
#![forbid(unsafe_code)]

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Push notifications for on-premises Exchange mailboxes, relayed through a cloud push service
/// with server-to-server OAuth.
#[derive(Debug, Parser)]
#[command(name = "pushproxy", version, about, long_about = None)]
struct Cli {
    /// The data directory (configuration, certificate store, private keys).
    #[arg(
        long,
        global = true,
        env = pushproxy_config::DATA_DIR_ENV,
        default_value = pushproxy_config::DEFAULT_DATA_DIR,
        value_name = "DIR"
    )]
    data_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Setup steps 1 and 2 in one go: find or create the OAuth certificate, make it current,
    /// export OAuthCert.cer and ensure the MicrosoftSts auth server. Idempotent.
    Setup(cli::setup::SetupArgs),
    /// The certificate store (`New-`, `Get-`, `Export-`, `Import-ExchangeCertificate`).
    #[command(subcommand)]
    Certificate(cli::certificate::CertificateCommand),
    /// The built-in token issuer's configuration (`Get-`/`Set-AuthConfig`).
    #[command(subcommand)]
    AuthConfig(cli::auth_config::AuthConfigCommand),
    /// The token service the organisation trusts (`New-`/`Set-`/`Get-AuthServer`).
    #[command(subcommand)]
    AuthServer(cli::auth_server::AuthServerCommand),
    /// The push-notification proxy app (`Enable-`/`Disable-PushNotificationProxy`).
    #[command(subcommand)]
    PushProxy(cli::push_proxy::PushProxyCommand),
    /// Server-to-server OAuth tokens: mint, decode, verify.
    #[command(subcommand)]
    Token(cli::token::TokenCommand),
    /// Run the on-premises proxy.
    #[command(subcommand)]
    Proxy(cli::proxy::ProxyCommand),
    /// The connectivity probe (setup step 5): one monitoring batch through the configured
    /// proxy URI; prints ResultType, Error and Exception.
    Probe(cli::proxy::ProbeArgs),
    /// The local cloud (token service + push service).
    #[command(subcommand)]
    Cloud(cli::cloud::CloudCommand),
    /// Setup step 3: the certificate as a credential of the Exchange service principal.
    #[command(subcommand)]
    Credential(cli::cloud::CredentialCommand),
    /// The whole flow end to end on this machine, with nothing to configure: a local cloud,
    /// setup steps 1 to 5, two devices, mail arriving and being read, the probe.
    Demo(cli::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PUSHPROXY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = cli::Context::new(cli.data_dir);
    match cli.command {
        Command::Setup(args) => cli::setup::run(&ctx, args),
        Command::Certificate(command) => cli::certificate::run(&ctx, command),
        Command::AuthConfig(command) => cli::auth_config::run(&ctx, command),
        Command::AuthServer(command) => cli::auth_server::run(&ctx, command),
        Command::PushProxy(command) => cli::push_proxy::run(&ctx, command),
        Command::Token(command) => block_on(cli::token::run(&ctx, command)),
        Command::Proxy(command) => block_on(cli::proxy::run(&ctx, command)),
        Command::Probe(args) => block_on(cli::proxy::run_probe(&ctx, args)),
        Command::Cloud(command) => block_on(cli::cloud::run_cloud(&ctx, command)),
        Command::Credential(command) => block_on(cli::cloud::run_credential(&ctx, command)),
        Command::Demo(args) => block_on(cli::demo::run(args)),
    }
}

/// Runs an asynchronous command on a multi-threaded tokio runtime.
fn block_on(future: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}
