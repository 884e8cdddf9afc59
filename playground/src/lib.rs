#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod browser;
pub mod components;
pub mod model;
pub mod state;

pub use components::app::App;
