//! The one error type of this crate.
//!
//! Refusals of a token request or a publish call are not errors of the cloud but answers
//! to the caller; they are [`OAuthFailure`](crate::OAuthFailure) and
//! [`PushFailure`](crate::PushFailure). Everything else that can go wrong (an admin call
//! with bad input, a stored document that does not read back, the service key) is a
//! [`CloudError`].

/// What can go wrong in the directory, the services' set-up and the stored documents.
/// Each message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudError {
    /// A realm (domain or tenant id) was neither a GUID nor a domain name.
    #[error(
        "realm `{input}` is neither a tenant id (a GUID like 4d2a1b3c-0000-4000-8000-00000000abcd) nor a domain like contoso.com"
    )]
    InvalidRealm {
        /// The text given.
        input: String,
        /// Why it is not a domain name.
        #[source]
        source: pushproxy_cert::Error,
    },

    /// A domain name was malformed.
    #[error("organisation domain is invalid: {source}")]
    InvalidDomain {
        /// Why.
        #[source]
        source: pushproxy_cert::Error,
    },

    /// No organisation is registered under this domain or tenant id.
    #[error(
        "no organisation is registered for realm `{realm}`; register it first (POST /admin/organizations {{\"domain\":\"...\"}})"
    )]
    UnknownOrganization {
        /// The realm asked for.
        realm: String,
    },

    /// The directory holds as many organisations as it may.
    #[error(
        "the directory already holds {max} organisations, the most it keeps; remove unused data or use another data directory"
    )]
    TooManyOrganizations {
        /// The limit.
        max: usize,
    },

    /// A credential's value is not a certificate.
    #[error(
        "the credential value is not a base64 DER certificate: {source}; upload OAuthCert.cer encoded as standard base64"
    )]
    InvalidCertificate {
        /// Why.
        #[source]
        source: pushproxy_cert::Error,
    },

    /// A certificate cannot verify tokens (not RSA, or below 2048 bits).
    #[error("certificate {thumbprint} cannot verify tokens: {source}")]
    UnusableCertificate {
        /// The certificate's SHA-1 thumbprint.
        thumbprint: String,
        /// Why.
        #[source]
        source: Box<pushproxy_token::Error>,
    },

    /// A credential's start and end dates do not fit.
    #[error("credential for certificate {thumbprint}: {problem}")]
    CredentialDates {
        /// The certificate's SHA-1 thumbprint.
        thumbprint: String,
        /// What is wrong, phrased to follow the thumbprint.
        problem: String,
    },

    /// An organisation holds as many credentials as it may.
    #[error(
        "organisation {domain} already has {max} credentials, the most it may hold; remove expired ones first"
    )]
    TooManyCredentials {
        /// The organisation.
        domain: String,
        /// The limit.
        max: usize,
    },

    /// A credential reference was neither a thumbprint nor a key id.
    #[error(
        "`{input}` names no credential: give the certificate thumbprint (40 hex digits) or the credential's key id (a GUID)"
    )]
    InvalidCredentialRef {
        /// The text given.
        input: String,
    },

    /// No credential of the organisation has this thumbprint or key id.
    #[error(
        "organisation {domain} has no credential {credential}; list them to see what is registered"
    )]
    UnknownCredential {
        /// The organisation.
        domain: String,
        /// The thumbprint or key id asked for.
        credential: String,
    },

    /// A device id, app id or tenant id given to the device registry was malformed.
    #[error("device address is invalid: {source}")]
    InvalidDevice {
        /// Why.
        #[source]
        source: pushproxy_payload::PayloadError,
    },

    /// The device registry has no such device.
    #[error(
        "no device {device} of app {app} is registered for tenant {tenant}; a device appears after its first publish"
    )]
    UnknownDevice {
        /// The tenant.
        tenant: String,
        /// The app id.
        app: String,
        /// The device id.
        device: String,
    },

    /// The service URL was malformed.
    #[error("service URL `{input}` is invalid: {reason}")]
    InvalidServiceUrl {
        /// The text given.
        input: String,
        /// What is wrong.
        reason: String,
    },

    /// The token service's own key or certificate could not be made or used.
    #[error("the token service's signing identity: {source}")]
    ServiceIdentity {
        /// Why.
        #[source]
        source: Box<pushproxy_token::Error>,
    },

    /// Creating the token service's certificate failed.
    #[error("creating the token service's certificate failed: {source}")]
    ServiceCertificate {
        /// Why.
        #[source]
        source: pushproxy_cert::Error,
    },

    /// Minting a token failed.
    #[error("minting a token failed: {source}")]
    Mint {
        /// Why.
        #[source]
        source: Box<pushproxy_token::Error>,
    },

    /// A time was outside the range of dates this crate can write (years 1 to 9999).
    #[error("time {seconds} (Unix seconds) is outside the years 1 to 9999; check the clock")]
    TimeOutOfRange {
        /// The time given.
        seconds: i64,
    },

    /// A stored document is inconsistent.
    #[error("stored {document} is inconsistent: {problem}; restore a backup or remove the file")]
    Inconsistent {
        /// Which document.
        document: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl CloudError {
    /// A short stable name of the error, for JSON error bodies and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRealm { .. } => "InvalidRealm",
            Self::InvalidDomain { .. } => "InvalidDomain",
            Self::UnknownOrganization { .. } => "UnknownOrganization",
            Self::TooManyOrganizations { .. } => "TooManyOrganizations",
            Self::InvalidCertificate { .. } => "InvalidCertificate",
            Self::UnusableCertificate { .. } => "UnusableCertificate",
            Self::CredentialDates { .. } => "InvalidCredentialDates",
            Self::TooManyCredentials { .. } => "TooManyCredentials",
            Self::InvalidCredentialRef { .. } => "InvalidCredentialRef",
            Self::UnknownCredential { .. } => "UnknownCredential",
            Self::InvalidDevice { .. } => "InvalidDevice",
            Self::UnknownDevice { .. } => "UnknownDevice",
            Self::InvalidServiceUrl { .. } => "InvalidServiceUrl",
            Self::ServiceIdentity { .. } => "ServiceIdentity",
            Self::ServiceCertificate { .. } => "ServiceCertificate",
            Self::Mint { .. } => "MintFailed",
            Self::TimeOutOfRange { .. } => "TimeOutOfRange",
            Self::Inconsistent { .. } => "Inconsistent",
        }
    }

    /// The HTTP status an HTTP driver answers with: 400 for bad input, 404 for something
    /// that does not exist, 409 for a full directory, 500 for the service's own failures.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRealm { .. }
            | Self::InvalidDomain { .. }
            | Self::InvalidCertificate { .. }
            | Self::UnusableCertificate { .. }
            | Self::CredentialDates { .. }
            | Self::InvalidCredentialRef { .. }
            | Self::InvalidDevice { .. }
            | Self::InvalidServiceUrl { .. }
            | Self::TimeOutOfRange { .. } => 400,
            Self::UnknownOrganization { .. }
            | Self::UnknownCredential { .. }
            | Self::UnknownDevice { .. } => 404,
            Self::TooManyOrganizations { .. } | Self::TooManyCredentials { .. } => 409,
            Self::ServiceIdentity { .. }
            | Self::ServiceCertificate { .. }
            | Self::Mint { .. }
            | Self::Inconsistent { .. } => 500,
        }
    }

    /// The message and every source below it, joined with `": "`, for a one-line JSON
    /// error or a log line.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(source) = next {
            let part = source.to_string();
            // Some messages already quote their source; do not say it twice.
            if !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            next = source.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_does_not_repeat_a_quoted_source() {
        let source = "x".parse::<pushproxy_cert::DnsName>().unwrap_err();
        let quoted = source.to_string();
        let error = CloudError::InvalidDomain { source };
        assert_eq!(error.chain().matches(&quoted).count(), 1);
        let error = CloudError::InvalidRealm {
            input: "x".to_owned(),
            source: "x".parse::<pushproxy_cert::DnsName>().unwrap_err(),
        };
        let chain = error.chain();
        assert!(chain.starts_with("realm `x` is neither"), "{chain}");
        assert!(chain.contains(&quoted), "{chain}");
    }

    #[test]
    fn statuses_follow_the_kind_of_error() {
        let unknown = CloudError::UnknownOrganization {
            realm: "contoso.com".to_owned(),
        };
        assert_eq!(unknown.http_status(), 404);
        assert_eq!(unknown.code(), "UnknownOrganization");
        let full = CloudError::TooManyOrganizations { max: 1 };
        assert_eq!(full.http_status(), 409);
        let bad = CloudError::InvalidCredentialRef {
            input: "?".to_owned(),
        };
        assert_eq!(bad.http_status(), 400);
    }
}
