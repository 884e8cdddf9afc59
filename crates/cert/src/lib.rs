#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod hex;
mod name;
mod thumbprint;

pub use error::{Error, Result};
pub use name::DnsName;
pub use thumbprint::{Sha256Thumbprint, Thumbprint};
