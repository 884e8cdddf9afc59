#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod auth_config;
mod auth_server;
mod document;
mod error;
mod guid;
mod https_url;
mod list;
mod outcome;
mod push_app;
#[cfg(feature = "store")]
mod store;

pub use auth_config::AuthConfig;
pub use auth_server::{
    AUTH_SERVER_NAME, AuthServer, AuthServerKind, ensure_auth_server, metadata_url,
};
pub use document::ConfigDocument;
pub use error::{ConfigError, Result};
pub use guid::Guid;
pub use https_url::{DEFAULT_AUTHORITY, DEFAULT_PUSH_URI, HttpsUrl, LOOPBACK_HOSTS};
pub use list::{LIST_WIDTH, format_list, format_list_wrapped};
pub use outcome::{Change, Level, Message, Outcome};
pub use push_app::{
    EXCHANGE_VERSION, OBJECT_CLASS, ObjectState, PROXY_APP_DISPLAY_NAME, PROXY_APP_NAME, Platform,
    PushNotificationApp, disable_push_proxy, enable_push_proxy, us_date_time,
};
#[cfg(feature = "store")]
pub use store::{DATA_DIR_ENV, DEFAULT_DATA_DIR, LOCK_FILE, SCHEMA_VERSION, Store, StoreLock};

/// The certificate crate's validated types, re-exported for convenience.
pub use pushproxy_cert::{DnsName, Thumbprint};

/// Exchange's well-known principal id (the service principal the certificate is uploaded to).
pub const EXCHANGE_PRINCIPAL: &str = "00000002-0000-0ff1-ce00-000000000000";
/// The token service's (ACS) well-known principal id.
pub const ACS_PRINCIPAL: &str = "00000001-0000-0000-c000-000000000000";

/// [`EXCHANGE_PRINCIPAL`] as a [`Guid`].
pub const EXCHANGE_PRINCIPAL_ID: Guid = Guid::from_bytes([
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x0f, 0xf1, 0xce, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);
/// [`ACS_PRINCIPAL`] as a [`Guid`].
pub const ACS_PRINCIPAL_ID: Guid = Guid::from_bytes([
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ids_agree_with_their_text() {
        assert_eq!(EXCHANGE_PRINCIPAL_ID.to_string(), EXCHANGE_PRINCIPAL);
        assert_eq!(ACS_PRINCIPAL_ID.to_string(), ACS_PRINCIPAL);
        assert_eq!(
            EXCHANGE_PRINCIPAL.parse::<Guid>().unwrap(),
            EXCHANGE_PRINCIPAL_ID
        );
        assert_eq!(ACS_PRINCIPAL.parse::<Guid>().unwrap(), ACS_PRINCIPAL_ID);
    }
}
