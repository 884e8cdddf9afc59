//! The drivers of pushproxy: the thin asynchronous layers (tokio, HTTP) around the sans-IO
//! crates in `crates/`, shared by the `pushproxy` binary and the end-to-end tests.
#![forbid(unsafe_code)]

pub mod cloud_client;
pub mod cloud_server;
pub mod datadir;
pub mod probe;
pub mod proxy;
