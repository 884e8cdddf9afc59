//! The administrator commands. Each submodule mirrors a family of Exchange cmdlets.

pub mod auth_config;
pub mod auth_server;
pub mod certificate;
pub mod cloud;
pub mod demo;
pub mod proxy;
pub mod push_proxy;
pub mod setup;
pub mod token;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use pushproxy::datadir::DataDir;
use pushproxy_cert::{KeyGen, KeySize, PrivateKey};
use pushproxy_config::{DnsName, Outcome};
use serde::Serialize;
use time::OffsetDateTime;

/// What every command gets: where the data lives, the clock and the randomness (the libraries
/// take both from here; they never read a clock themselves).
#[derive(Debug)]
pub struct Context {
    data_dir: PathBuf,
}

impl Context {
    pub fn new(data_dir: PathBuf) -> Self {
        Self { data_dir }
    }

    /// Opens the data directory, creating it when needed.
    pub fn open(&self) -> Result<DataDir> {
        DataDir::open(&self.data_dir)
    }

    /// Opens the data directory only when it exists (read-only helpers never create it).
    pub fn open_existing(&self) -> Option<DataDir> {
        self.data_dir
            .is_dir()
            .then(|| DataDir::open(&self.data_dir).ok())
            .flatten()
    }

    /// The data directory's path.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// A cryptographically secure random number generator.
    pub fn rng(&self) -> rand::rngs::ThreadRng {
        rand::rng()
    }
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints an operation's messages, warnings on standard error as `WARNING: ...`.
pub fn print_outcome(outcome: &Outcome) {
    for message in &outcome.messages {
        match message.level {
            pushproxy_config::Level::Warning => eprintln!("{message}"),
            _ => println!("{message}"),
        }
    }
}

/// Generates an RSA key, showing a spinner with the number of prime candidates tested when
/// standard error is a terminal.
pub fn generate_key(ctx: &Context, size: KeySize) -> PrivateKey {
    let mut rng = ctx.rng();
    let mut keygen = KeyGen::new(size);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("Generating a {}-bit RSA key...", size.bits()));
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    });
    let key = loop {
        if let Some(key) = keygen.step(&mut rng) {
            break key;
        }
        if let Some(bar) = &bar {
            let progress = keygen.progress();
            bar.set_message(format!(
                "Generating a {}-bit RSA key: {}/2 primes found, {} candidates tested",
                size.bits(),
                progress.primes_found,
                progress.candidates_tested
            ));
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    key
}

/// The server name shown as `OriginatingServer`: this host's name, qualified with the
/// organisation's domain when it is a single label.
pub fn originating_server(organization: &DnsName) -> DnsName {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let host = host.trim().to_ascii_lowercase();
    let candidate = if host.contains('.') {
        host
    } else if host.is_empty() {
        format!("server.{organization}")
    } else {
        format!("{host}.{organization}")
    };
    candidate.parse().unwrap_or_else(|_| organization.clone())
}
