//! The organisation directory: organisations registered by domain, each with a tenant id
//! and the key credentials of its Exchange service principal.
//!
//! Setup step 3 uploads the on-premises OAuth certificate as a credential of the service
//! principal `00000002-0000-0ff1-ce00-000000000000` (Exchange): type `asymmetric`, usage
//! `Verify`, the base64 DER certificate as value, and start and end dates (by default the
//! certificate's validity). The token service trusts an assertion only if a credential
//! of the organisation with the assertion's `x5t` verifies its signature and is valid at
//! the time of the request.

use std::fmt;
use std::str::FromStr;

use pushproxy_cert::{Certificate, CredentialType, CredentialUsage, DnsName, Thumbprint};
use pushproxy_token::principal::{Guid, Principal, Realm, well_known};
use pushproxy_token::verify::KeySet;
use serde::{Deserialize, Serialize};

use crate::{CloudError, when};

/// The most organisations a directory holds.
pub const MAX_ORGANIZATIONS: usize = 10_000;
/// The most credentials one organisation holds.
pub const MAX_CREDENTIALS: usize = 32;

/// A random (version 4) GUID drawn from `rng`.
pub(crate) fn random_guid(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Guid {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    let value = u128::from_be_bytes(bytes);
    // Version 4 in the high nibble of byte 6, the RFC 9562 variant in byte 8.
    let value = (value & !(0xf << 76)) | (0x4 << 76);
    let value = (value & !(0x3 << 62)) | (0x2 << 62);
    Guid::from_u128(value)
}

/// How an organisation is named in a call: by tenant id or by domain.
///
/// ```
/// use pushproxy_cloud::OrgRef;
///
/// assert!(matches!("contoso.com".parse()?, OrgRef::Domain(_)));
/// assert!(matches!("4d2a1b3c-0000-4000-8000-00000000abcd".parse()?, OrgRef::Tenant(_)));
/// assert!("not a realm".parse::<OrgRef>().is_err());
/// # Ok::<(), pushproxy_cloud::CloudError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum OrgRef {
    /// By tenant id.
    Tenant(Guid),
    /// By DNS domain.
    Domain(DnsName),
}

impl FromStr for OrgRef {
    type Err = CloudError;

    fn from_str(input: &str) -> Result<Self, CloudError> {
        if let Ok(tenant) = input.parse::<Guid>() {
            return Ok(Self::Tenant(tenant));
        }
        input
            .parse::<DnsName>()
            .map(Self::Domain)
            .map_err(|source| CloudError::InvalidRealm {
                input: input.to_owned(),
                source,
            })
    }
}

impl fmt::Display for OrgRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(id) => id.fmt(f),
            Self::Domain(domain) => domain.fmt(f),
        }
    }
}

/// How a credential is named in a call: by certificate thumbprint or by key id.
///
/// ```
/// use pushproxy_cloud::CredentialRef;
///
/// let by_thumbprint: CredentialRef = "84E05C1D98BCE3A5421D225B140B36E86A3D5534".parse()?;
/// assert!(matches!(by_thumbprint, CredentialRef::Thumbprint(_)));
/// let by_key_id: CredentialRef = "4d2a1b3c-0000-4000-8000-00000000abcd".parse()?;
/// assert!(matches!(by_key_id, CredentialRef::KeyId(_)));
/// # Ok::<(), pushproxy_cloud::CloudError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CredentialRef {
    /// The SHA-1 thumbprint of the certificate.
    Thumbprint(Thumbprint),
    /// The key id the directory gave the credential.
    KeyId(Guid),
}

impl FromStr for CredentialRef {
    type Err = CloudError;

    fn from_str(input: &str) -> Result<Self, CloudError> {
        if let Ok(key_id) = input.parse::<Guid>() {
            return Ok(Self::KeyId(key_id));
        }
        input
            .parse::<Thumbprint>()
            .map(Self::Thumbprint)
            .map_err(|_| CloudError::InvalidCredentialRef {
                input: input.to_owned(),
            })
    }
}

impl fmt::Display for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Thumbprint(thumbprint) => write!(f, "with thumbprint {thumbprint}"),
            Self::KeyId(key_id) => write!(f, "with key id {key_id}"),
        }
    }
}

/// A credential as an administrator uploads it (setup step 3): `{type, usage, value,
/// startDate, endDate}`, the dates optional (the certificate's validity by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialUpload {
    /// Must be `asymmetric`.
    #[serde(rename = "type")]
    pub kind: CredentialType,
    /// Must be `Verify`.
    pub usage: CredentialUsage,
    /// The certificate: standard base64 of its DER encoding.
    pub value: String,
    /// When the credential starts to be valid (Unix seconds; RFC 3339 on the wire).
    #[serde(
        default,
        with = "when::text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date: Option<i64>,
    /// When it stops being valid (Unix seconds; RFC 3339 on the wire).
    #[serde(
        default,
        with = "when::text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date: Option<i64>,
}

impl CredentialUpload {
    /// The upload of `certificate` with the dates of its validity.
    pub fn for_certificate(certificate: &Certificate) -> Self {
        Self {
            kind: CredentialType::Asymmetric,
            usage: CredentialUsage::Verify,
            value: certificate.to_base64_der(),
            start_date: Some(certificate.not_before().unix_timestamp()),
            end_date: Some(certificate.not_after().unix_timestamp()),
        }
    }
}

impl From<&pushproxy_cert::Credential> for CredentialUpload {
    fn from(credential: &pushproxy_cert::Credential) -> Self {
        Self {
            kind: credential.kind,
            usage: credential.usage,
            value: credential.value.clone(),
            start_date: Some(credential.start_date.unix_timestamp()),
            end_date: Some(credential.end_date.unix_timestamp()),
        }
    }
}

/// A key credential of an organisation's Exchange service principal.
///
/// Serialised as `{keyId, thumbprint, type, usage, value, startDate, endDate, addedAt}`;
/// reading checks that the value is a usable certificate with that thumbprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KeyCredentialWire", into = "KeyCredentialWire")]
pub struct KeyCredential {
    key_id: Guid,
    certificate: Certificate,
    start: i64,
    end: i64,
    added_at: i64,
}

impl KeyCredential {
    /// The key id the directory gave it.
    pub fn key_id(&self) -> Guid {
        self.key_id
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certificate's SHA-1 thumbprint (what `x5t` names).
    pub fn thumbprint(&self) -> Thumbprint {
        self.certificate.thumbprint()
    }

    /// The first second it is valid (Unix seconds).
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The first second it is no longer valid (Unix seconds).
    pub fn end(&self) -> i64 {
        self.end
    }

    /// When it was added (Unix seconds).
    pub fn added_at(&self) -> i64 {
        self.added_at
    }

    /// Whether it is valid at `now`.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.start <= now && now < self.end
    }

    /// Whether `which` names it.
    pub fn is(&self, which: &CredentialRef) -> bool {
        match which {
            CredentialRef::Thumbprint(thumbprint) => self.thumbprint() == *thumbprint,
            CredentialRef::KeyId(key_id) => self.key_id == *key_id,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyCredentialWire {
    key_id: Guid,
    thumbprint: Thumbprint,
    #[serde(rename = "type")]
    kind: CredentialType,
    usage: CredentialUsage,
    value: String,
    #[serde(with = "when::text")]
    start_date: i64,
    #[serde(with = "when::text")]
    end_date: i64,
    #[serde(with = "when::text")]
    added_at: i64,
}

impl From<KeyCredential> for KeyCredentialWire {
    fn from(credential: KeyCredential) -> Self {
        Self {
            key_id: credential.key_id,
            thumbprint: credential.thumbprint(),
            kind: CredentialType::Asymmetric,
            usage: CredentialUsage::Verify,
            value: credential.certificate.to_base64_der(),
            start_date: credential.start,
            end_date: credential.end,
            added_at: credential.added_at,
        }
    }
}

impl TryFrom<KeyCredentialWire> for KeyCredential {
    type Error = CloudError;

    fn try_from(wire: KeyCredentialWire) -> Result<Self, CloudError> {
        let certificate = Certificate::from_base64_der(&wire.value)
            .map_err(|source| CloudError::InvalidCertificate { source })?;
        if certificate.thumbprint() != wire.thumbprint {
            return Err(CloudError::Inconsistent {
                document: "directory",
                problem: format!(
                    "credential {} says thumbprint {} but its certificate has {}",
                    wire.key_id,
                    wire.thumbprint,
                    certificate.thumbprint()
                ),
            });
        }
        check_dates(&certificate, wire.start_date, wire.end_date)?;
        Ok(Self {
            key_id: wire.key_id,
            certificate,
            start: wire.start_date,
            end: wire.end_date,
            added_at: wire.added_at,
        })
    }
}

/// Checks a credential's dates against its certificate: start before end, both inside
/// the certificate's validity.
fn check_dates(certificate: &Certificate, start: i64, end: i64) -> Result<(), CloudError> {
    let problem = |problem: String| CloudError::CredentialDates {
        thumbprint: certificate.thumbprint().to_string(),
        problem,
    };
    let (not_before, not_after) = (
        certificate.not_before().unix_timestamp(),
        certificate.not_after().unix_timestamp(),
    );
    if start >= end {
        return Err(problem(format!(
            "startDate {} is not before endDate {}; give a start before the end",
            when::rfc3339(start),
            when::rfc3339(end)
        )));
    }
    if start < not_before || end > not_after {
        return Err(problem(format!(
            "the dates {} to {} fall outside the certificate's validity {} to {}; leave the dates out to use the certificate's own",
            when::rfc3339(start),
            when::rfc3339(end),
            when::rfc3339(not_before),
            when::rfc3339(not_after)
        )));
    }
    Ok(())
}

/// An organisation: its domain, its tenant id and its Exchange principal's credentials.
#[derive(Clone, Debug)]
pub struct Organization {
    domain: DnsName,
    tenant_id: Guid,
    registered_at: i64,
    credentials: Vec<KeyCredential>,
    /// The credentials' certificates, parsed once for verification.
    keys: KeySet,
}

impl PartialEq for Organization {
    fn eq(&self, other: &Self) -> bool {
        // `keys` is derived from `credentials`.
        self.domain == other.domain
            && self.tenant_id == other.tenant_id
            && self.registered_at == other.registered_at
            && self.credentials == other.credentials
    }
}

impl Eq for Organization {}

impl Organization {
    fn new(domain: DnsName, tenant_id: Guid, registered_at: i64) -> Self {
        Self {
            domain,
            tenant_id,
            registered_at,
            credentials: Vec::new(),
            keys: KeySet::new(),
        }
    }

    /// The organisation's DNS domain.
    pub fn domain(&self) -> &DnsName {
        &self.domain
    }

    /// Its tenant id (the realm of its tokens).
    pub fn tenant_id(&self) -> Guid {
        self.tenant_id
    }

    /// Its realm.
    pub fn realm(&self) -> Realm {
        Realm::Tenant(self.tenant_id)
    }

    /// Its Exchange service principal, `00000002-0000-0ff1-ce00-000000000000@<tenant>`.
    pub fn exchange_principal(&self) -> Principal {
        Principal::new(well_known::EXCHANGE, self.realm())
    }

    /// When it was registered (Unix seconds).
    pub fn registered_at(&self) -> i64 {
        self.registered_at
    }

    /// The Exchange principal's credentials, in the order they were added.
    pub fn credentials(&self) -> &[KeyCredential] {
        &self.credentials
    }

    /// The credential with this certificate thumbprint.
    pub fn credential(&self, thumbprint: &Thumbprint) -> Option<&KeyCredential> {
        self.credentials
            .iter()
            .find(|c| c.thumbprint() == *thumbprint)
    }

    /// The credentials' certificates as a key set, for verifying assertions.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    fn add_key(&mut self, credential: &KeyCredential) -> Result<(), CloudError> {
        self.keys
            .insert(credential.certificate())
            .map(|_| ())
            .map_err(|source| CloudError::UnusableCertificate {
                thumbprint: credential.thumbprint().to_string(),
                source: Box::new(source),
            })
    }
}

/// What [`Directory::register`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The organisation's tenant id.
    pub tenant_id: Guid,
    /// Its domain.
    pub domain: DnsName,
    /// Whether it was registered now (`false`: it already was, and nothing changed).
    pub created: bool,
}

/// What [`Directory::add_credential`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialAdded {
    /// The credential as it is now.
    pub credential: KeyCredential,
    /// Whether it is new (`false`: the certificate was registered already; its dates were
    /// updated if they differed).
    pub created: bool,
}

/// The organisations known to the local cloud.
///
/// Serialised as `{"organizations":[{"domain","tenantId","registeredAt","credentials":[...]}]}`;
/// reading checks every credential and that no domain, tenant id or key id appears twice.
///
/// ```
/// use pushproxy_cloud::{Directory, OrgRef};
/// # use rand::SeedableRng;
/// # let mut rng = rand::rngs::StdRng::seed_from_u64(1);
///
/// let now = 1_767_225_600;
/// let mut directory = Directory::new();
/// let first = directory.register("contoso.com".parse()?, now, &mut rng)?;
/// assert!(first.created);
/// // Registering again is not an error and keeps the tenant id.
/// let again = directory.register("Contoso.COM".parse()?, now + 60, &mut rng)?;
/// assert!(!again.created);
/// assert_eq!(again.tenant_id, first.tenant_id);
/// let by_id = directory.resolve(&first.tenant_id.to_string())?;
/// assert_eq!(by_id.domain().as_str(), "contoso.com");
/// assert!(directory.resolve("fabrikam.com").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DirectoryWire", into = "DirectoryWire")]
pub struct Directory {
    organizations: Vec<Organization>,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every organisation, in the order they were registered.
    pub fn organizations(&self) -> &[Organization] {
        &self.organizations
    }

    /// The organisation with this domain.
    pub fn by_domain(&self, domain: &DnsName) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.domain == *domain)
    }

    /// The organisation with this tenant id.
    pub fn by_tenant(&self, tenant_id: Guid) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.tenant_id == tenant_id)
    }

    /// The organisation `org` names.
    pub fn find(&self, org: &OrgRef) -> Option<&Organization> {
        match org {
            OrgRef::Tenant(id) => self.by_tenant(*id),
            OrgRef::Domain(domain) => self.by_domain(domain),
        }
    }

    /// The organisation named by `realm`, a tenant id or a domain.
    ///
    /// # Errors
    /// [`CloudError::InvalidRealm`] if it is neither, [`CloudError::UnknownOrganization`]
    /// if no organisation has it.
    pub fn resolve(&self, realm: &str) -> Result<&Organization, CloudError> {
        let org: OrgRef = realm.parse()?;
        self.find(&org)
            .ok_or_else(|| CloudError::UnknownOrganization {
                realm: org.to_string(),
            })
    }

    fn find_mut(&mut self, org: &OrgRef) -> Result<&mut Organization, CloudError> {
        self.organizations
            .iter_mut()
            .find(|o| match org {
                OrgRef::Tenant(id) => o.tenant_id == *id,
                OrgRef::Domain(domain) => o.domain == *domain,
            })
            .ok_or_else(|| CloudError::UnknownOrganization {
                realm: org.to_string(),
            })
    }

    /// Registers the organisation `domain` with a new random tenant id, or returns the
    /// one already registered under that domain.
    ///
    /// # Errors
    /// [`CloudError::TooManyOrganizations`] when the directory is full,
    /// [`CloudError::TimeOutOfRange`] for an impossible `now`.
    pub fn register(
        &mut self,
        domain: DnsName,
        now: i64,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Registration, CloudError> {
        if let Some(existing) = self.by_domain(&domain) {
            return Ok(Registration {
                tenant_id: existing.tenant_id,
                domain,
                created: false,
            });
        }
        when::datetime(now)?;
        if self.organizations.len() >= MAX_ORGANIZATIONS {
            return Err(CloudError::TooManyOrganizations {
                max: MAX_ORGANIZATIONS,
            });
        }
        let tenant_id = loop {
            let candidate = random_guid(rng);
            if self.by_tenant(candidate).is_none() {
                break candidate;
            }
        };
        self.organizations
            .push(Organization::new(domain.clone(), tenant_id, now));
        Ok(Registration {
            tenant_id,
            domain,
            created: true,
        })
    }

    /// Adds a credential to the Exchange principal of `org` (setup step 3).
    ///
    /// The value must be a certificate with an RSA key of at least 2048 bits; the dates
    /// default to its validity, must lie inside it, and must not have ended at `now`. A
    /// certificate already registered keeps its key id; only its dates change.
    ///
    /// # Errors
    /// [`CloudError::UnknownOrganization`], [`CloudError::InvalidCertificate`],
    /// [`CloudError::UnusableCertificate`], [`CloudError::CredentialDates`],
    /// [`CloudError::TooManyCredentials`], [`CloudError::TimeOutOfRange`].
    pub fn add_credential(
        &mut self,
        org: &OrgRef,
        upload: &CredentialUpload,
        now: i64,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<CredentialAdded, CloudError> {
        when::datetime(now)?;
        let organization = self.find_mut(org)?;
        let certificate = Certificate::from_base64_der(&upload.value)
            .map_err(|source| CloudError::InvalidCertificate { source })?;
        let start = upload
            .start_date
            .unwrap_or_else(|| certificate.not_before().unix_timestamp());
        let end = upload
            .end_date
            .unwrap_or_else(|| certificate.not_after().unix_timestamp());
        check_dates(&certificate, start, end)?;
        if end <= now {
            return Err(CloudError::CredentialDates {
                thumbprint: certificate.thumbprint().to_string(),
                problem: format!(
                    "it ended at {}, before now ({}); create and upload a new certificate",
                    when::rfc3339(end),
                    when::rfc3339(now)
                ),
            });
        }
        let thumbprint = certificate.thumbprint();
        if let Some(existing) = organization
            .credentials
            .iter_mut()
            .find(|c| c.thumbprint() == thumbprint)
        {
            existing.start = start;
            existing.end = end;
            return Ok(CredentialAdded {
                credential: existing.clone(),
                created: false,
            });
        }
        if organization.credentials.len() >= MAX_CREDENTIALS {
            return Err(CloudError::TooManyCredentials {
                domain: organization.domain.to_string(),
                max: MAX_CREDENTIALS,
            });
        }
        let key_id = loop {
            let candidate = random_guid(rng);
            if organization
                .credentials
                .iter()
                .all(|c| c.key_id != candidate)
            {
                break candidate;
            }
        };
        let credential = KeyCredential {
            key_id,
            certificate,
            start,
            end,
            added_at: now,
        };
        organization.add_key(&credential)?;
        organization.credentials.push(credential.clone());
        Ok(CredentialAdded {
            credential,
            created: true,
        })
    }

    /// Removes a credential of `org`; tokens signed with its certificate are refused from
    /// then on.
    ///
    /// # Errors
    /// [`CloudError::UnknownOrganization`], [`CloudError::UnknownCredential`].
    pub fn remove_credential(
        &mut self,
        org: &OrgRef,
        which: &CredentialRef,
    ) -> Result<KeyCredential, CloudError> {
        let organization = self.find_mut(org)?;
        let at = organization
            .credentials
            .iter()
            .position(|c| c.is(which))
            .ok_or_else(|| CloudError::UnknownCredential {
                domain: organization.domain.to_string(),
                credential: which.to_string(),
            })?;
        let removed = organization.credentials.remove(at);
        organization.keys.remove(&removed.thumbprint());
        Ok(removed)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DirectoryWire {
    organizations: Vec<OrganizationWire>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OrganizationWire {
    domain: DnsName,
    tenant_id: Guid,
    #[serde(with = "when::text")]
    registered_at: i64,
    credentials: Vec<KeyCredential>,
}

impl From<Directory> for DirectoryWire {
    fn from(directory: Directory) -> Self {
        Self {
            organizations: directory
                .organizations
                .into_iter()
                .map(|o| OrganizationWire {
                    domain: o.domain,
                    tenant_id: o.tenant_id,
                    registered_at: o.registered_at,
                    credentials: o.credentials,
                })
                .collect(),
        }
    }
}

impl TryFrom<DirectoryWire> for Directory {
    type Error = CloudError;

    fn try_from(wire: DirectoryWire) -> Result<Self, CloudError> {
        let inconsistent = |problem: String| CloudError::Inconsistent {
            document: "directory",
            problem,
        };
        if wire.organizations.len() > MAX_ORGANIZATIONS {
            return Err(CloudError::TooManyOrganizations {
                max: MAX_ORGANIZATIONS,
            });
        }
        let mut directory = Directory::new();
        for org in wire.organizations {
            if directory.by_domain(&org.domain).is_some() {
                return Err(inconsistent(format!(
                    "domain {} is registered twice",
                    org.domain
                )));
            }
            if directory.by_tenant(org.tenant_id).is_some() {
                return Err(inconsistent(format!(
                    "tenant id {} is used twice",
                    org.tenant_id
                )));
            }
            if org.credentials.len() > MAX_CREDENTIALS {
                return Err(CloudError::TooManyCredentials {
                    domain: org.domain.to_string(),
                    max: MAX_CREDENTIALS,
                });
            }
            let mut organization = Organization::new(org.domain, org.tenant_id, org.registered_at);
            for credential in org.credentials {
                if organization.credentials.iter().any(|c| {
                    c.key_id == credential.key_id || c.thumbprint() == credential.thumbprint()
                }) {
                    return Err(inconsistent(format!(
                        "organisation {} lists credential {} twice",
                        organization.domain,
                        credential.thumbprint()
                    )));
                }
                organization.add_key(&credential)?;
                organization.credentials.push(credential);
            }
            directory.organizations.push(organization);
        }
        Ok(directory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        NOW, contoso_certificate, fabrikam_certificate, rng, small_certificate,
    };
    use proptest::prelude::*;

    fn directory_with_contoso() -> (Directory, Guid) {
        let mut directory = Directory::new();
        let registration = directory
            .register("contoso.com".parse().unwrap(), NOW, &mut rng(1))
            .unwrap();
        (directory, registration.tenant_id)
    }

    fn contoso() -> OrgRef {
        "contoso.com".parse().unwrap()
    }

    #[test]
    fn random_guids_are_version_4() {
        let mut rng = rng(9);
        for _ in 0..64 {
            let text = random_guid(&mut rng).to_string();
            assert_eq!(&text[14..15], "4", "{text}");
            assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "{text}");
        }
    }

    #[test]
    fn register_is_idempotent_and_tenant_ids_differ() {
        let (mut directory, contoso_id) = directory_with_contoso();
        let again = directory
            .register("CONTOSO.com".parse().unwrap(), NOW + 1, &mut rng(2))
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.tenant_id, contoso_id);
        let fabrikam = directory
            .register("fabrikam.com".parse().unwrap(), NOW, &mut rng(1))
            .unwrap();
        assert!(fabrikam.created);
        // The same random draw would collide; the directory draws again.
        assert_ne!(fabrikam.tenant_id, contoso_id);
        assert_eq!(directory.organizations().len(), 2);
        assert_eq!(
            directory
                .by_tenant(fabrikam.tenant_id)
                .unwrap()
                .domain()
                .as_str(),
            "fabrikam.com"
        );
    }

    #[test]
    fn resolve_by_domain_or_tenant_and_say_what_is_missing() {
        let (directory, tenant) = directory_with_contoso();
        assert_eq!(
            directory.resolve("contoso.com").unwrap().tenant_id(),
            tenant
        );
        assert_eq!(
            directory
                .resolve(&tenant.to_string().to_uppercase())
                .unwrap()
                .domain()
                .as_str(),
            "contoso.com"
        );
        let error = directory.resolve("fabrikam.com").unwrap_err();
        assert_eq!(error.code(), "UnknownOrganization");
        assert!(error.to_string().contains("fabrikam.com"), "{error}");
        let error = directory.resolve("not a realm").unwrap_err();
        assert_eq!(error.code(), "InvalidRealm");
    }

    #[test]
    fn a_credential_defaults_to_the_certificate_validity() {
        let (mut directory, _) = directory_with_contoso();
        let certificate = contoso_certificate();
        let mut upload = CredentialUpload::for_certificate(certificate);
        (upload.start_date, upload.end_date) = (None, None);
        let added = directory
            .add_credential(&contoso(), &upload, NOW, &mut rng(3))
            .unwrap();
        assert!(added.created);
        let credential = added.credential;
        assert_eq!(
            credential.start(),
            certificate.not_before().unix_timestamp()
        );
        assert_eq!(credential.end(), certificate.not_after().unix_timestamp());
        assert_eq!(credential.thumbprint(), certificate.thumbprint());
        assert!(credential.is_valid_at(NOW));
        let org = directory
            .by_domain(&"contoso.com".parse().unwrap())
            .unwrap();
        assert!(org.keys().contains(&certificate.thumbprint()));
        assert_eq!(org.credential(&certificate.thumbprint()), Some(&credential));
    }

    #[test]
    fn adding_the_same_certificate_again_keeps_its_key_id_and_updates_dates() {
        let (mut directory, _) = directory_with_contoso();
        let certificate = contoso_certificate();
        let upload = CredentialUpload::for_certificate(certificate);
        let first = directory
            .add_credential(&contoso(), &upload, NOW, &mut rng(3))
            .unwrap();
        let mut shorter = upload.clone();
        shorter.end_date = Some(NOW + 86_400);
        let second = directory
            .add_credential(&contoso(), &shorter, NOW, &mut rng(4))
            .unwrap();
        assert!(!second.created);
        assert_eq!(second.credential.key_id(), first.credential.key_id());
        assert_eq!(second.credential.end(), NOW + 86_400);
        let org = directory.resolve("contoso.com").unwrap();
        assert_eq!(org.credentials().len(), 1);
    }

    #[test]
    fn bad_credentials_are_refused_with_a_reason() {
        let (mut directory, _) = directory_with_contoso();
        let certificate = contoso_certificate();
        let good = CredentialUpload::for_certificate(certificate);
        let not_before = certificate.not_before().unix_timestamp();
        let not_after = certificate.not_after().unix_timestamp();
        let mut cases: Vec<(&str, CredentialUpload, &str)> = Vec::new();
        let mut upload = good.clone();
        upload.value = "not base64!".to_owned();
        cases.push(("garbage value", upload, "InvalidCertificate"));
        let mut upload = good.clone();
        upload.value = "MAA=".to_owned();
        cases.push(("not a certificate", upload, "InvalidCertificate"));
        cases.push((
            "1024-bit key",
            CredentialUpload::for_certificate(small_certificate()),
            "UnusableCertificate",
        ));
        let mut upload = good.clone();
        upload.start_date = Some(not_before + 10);
        upload.end_date = Some(not_before + 10);
        cases.push(("empty window", upload, "InvalidCredentialDates"));
        let mut upload = good.clone();
        upload.start_date = Some(not_before - 1);
        cases.push((
            "starts before the certificate",
            upload,
            "InvalidCredentialDates",
        ));
        let mut upload = good.clone();
        upload.end_date = Some(not_after + 1);
        cases.push((
            "ends after the certificate",
            upload,
            "InvalidCredentialDates",
        ));
        let mut upload = good.clone();
        upload.end_date = Some(NOW);
        cases.push(("already ended", upload, "InvalidCredentialDates"));
        for (name, upload, code) in cases {
            let error = directory
                .add_credential(&contoso(), &upload, NOW, &mut rng(5))
                .unwrap_err();
            assert_eq!(error.code(), code, "{name}: {error}");
            assert_eq!(error.http_status(), 400, "{name}");
        }
        let error = directory
            .add_credential(&"fabrikam.com".parse().unwrap(), &good, NOW, &mut rng(5))
            .unwrap_err();
        assert_eq!(error.code(), "UnknownOrganization");
        assert!(
            directory
                .resolve("contoso.com")
                .unwrap()
                .credentials()
                .is_empty()
        );
    }

    #[test]
    fn the_error_for_a_small_key_names_the_size() {
        let (mut directory, _) = directory_with_contoso();
        let upload = CredentialUpload::for_certificate(small_certificate());
        let error = directory
            .add_credential(&contoso(), &upload, NOW, &mut rng(5))
            .unwrap_err();
        let text = error.chain();
        assert!(text.contains("1024-bit"), "{text}");
        assert!(text.contains("at least 2048"), "{text}");
    }

    #[test]
    fn remove_by_thumbprint_or_key_id() {
        let (mut directory, _) = directory_with_contoso();
        let a = directory
            .add_credential(
                &contoso(),
                &CredentialUpload::for_certificate(contoso_certificate()),
                NOW,
                &mut rng(6),
            )
            .unwrap()
            .credential;
        let b = directory
            .add_credential(
                &contoso(),
                &CredentialUpload::for_certificate(fabrikam_certificate()),
                NOW,
                &mut rng(7),
            )
            .unwrap()
            .credential;
        assert_ne!(a.key_id(), b.key_id());
        let removed = directory
            .remove_credential(&contoso(), &CredentialRef::Thumbprint(a.thumbprint()))
            .unwrap();
        assert_eq!(removed, a);
        let by_key: CredentialRef = b.key_id().to_string().parse().unwrap();
        directory.remove_credential(&contoso(), &by_key).unwrap();
        let org = directory.resolve("contoso.com").unwrap();
        assert!(org.credentials().is_empty());
        assert!(org.keys().is_empty());
        let error = directory
            .remove_credential(&contoso(), &by_key)
            .unwrap_err();
        assert_eq!(error.code(), "UnknownCredential");
        assert!(
            error.to_string().contains(&b.key_id().to_string()),
            "{error}"
        );
    }

    #[test]
    fn credential_refs_parse_both_forms() {
        let thumbprint = contoso_certificate().thumbprint();
        assert_eq!(
            thumbprint
                .to_string()
                .to_lowercase()
                .parse::<CredentialRef>()
                .unwrap(),
            CredentialRef::Thumbprint(thumbprint)
        );
        let error = "nope".parse::<CredentialRef>().unwrap_err();
        assert_eq!(error.code(), "InvalidCredentialRef");
    }

    #[test]
    fn the_directory_round_trips_through_json() {
        let (mut directory, tenant) = directory_with_contoso();
        directory
            .add_credential(
                &OrgRef::Tenant(tenant),
                &CredentialUpload::for_certificate(contoso_certificate()),
                NOW,
                &mut rng(8),
            )
            .unwrap();
        directory
            .register("fabrikam.com".parse().unwrap(), NOW + 5, &mut rng(9))
            .unwrap();
        let json = serde_json::to_string(&directory).unwrap();
        assert!(
            json.contains(r#""type":"asymmetric","usage":"Verify""#),
            "{json}"
        );
        let back: Directory = serde_json::from_str(&json).unwrap();
        assert_eq!(back, directory);
        let org = back.resolve("contoso.com").unwrap();
        assert!(org.keys().contains(&contoso_certificate().thumbprint()));
    }

    #[test]
    fn inconsistent_documents_are_refused() {
        let (mut directory, _) = directory_with_contoso();
        directory
            .add_credential(
                &contoso(),
                &CredentialUpload::for_certificate(contoso_certificate()),
                NOW,
                &mut rng(8),
            )
            .unwrap();
        let json = serde_json::to_string(&directory).unwrap();
        let tampered = json.replace(
            &contoso_certificate().thumbprint().to_string(),
            &fabrikam_certificate().thumbprint().to_string(),
        );
        let error = serde_json::from_str::<Directory>(&tampered).unwrap_err();
        assert!(error.to_string().contains("says thumbprint"), "{error}");
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let org = value["organizations"][0].clone();
        value["organizations"].as_array_mut().unwrap().push(org);
        let error = serde_json::from_str::<Directory>(&value.to_string()).unwrap_err();
        assert!(error.to_string().contains("registered twice"), "{error}");
        let error = serde_json::from_str::<Directory>(r#"{"organizations":[],"x":1}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn directories_round_trip(
            domains in proptest::collection::btree_set("[a-z]{1,8}\\.(com|jp|example)", 0..5),
            seed in any::<u64>(),
            with_credential in any::<bool>(),
        ) {
            let mut directory = Directory::new();
            let mut rng = rng(seed);
            for (i, domain) in domains.iter().enumerate() {
                let org: OrgRef = domain.parse().unwrap();
                directory.register(domain.parse().unwrap(), NOW + i as i64, &mut rng).unwrap();
                if with_credential {
                    directory
                        .add_credential(&org, &CredentialUpload::for_certificate(contoso_certificate()), NOW, &mut rng)
                        .unwrap();
                }
            }
            let json = serde_json::to_string(&directory).unwrap();
            let back: Directory = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &directory);
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }

        #[test]
        fn org_refs_never_panic_and_round_trip(text in "\\PC{0,40}") {
            if let Ok(org) = text.parse::<OrgRef>() {
                prop_assert_eq!(org.to_string().parse::<OrgRef>().unwrap(), org);
            }
            let _ = text.parse::<CredentialRef>();
        }
    }
}
