#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod b64;
pub mod cache;
mod datetime;
mod error;
pub mod jwt;
pub mod metadata;
pub mod mint;
pub mod principal;
pub mod signer;
pub mod sts;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod verify;

pub use error::Error;
pub use verify::VerifyError;
