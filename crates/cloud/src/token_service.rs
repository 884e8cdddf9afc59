//! The token service (STS): the metadata document per realm and the exchange of a
//! self-issued assertion for an access token.
//!
//! The rules of [`TokenService::handle_token_request`], in the order they are checked:
//!
//! 1. the endpoint's tenant (the `{tenant}` of `/{tenant}/tokens/OAuth/2`, an id or a
//!    domain) is a registered organisation;
//! 2. the form: `grant_type` is `http://oauth.net/grant_type/jwt/1.0/bearer`, `assertion`
//!    and `resource` are present once, and `resource` reads as `<id>/<host>@<realm>`;
//! 3. the assertion names the endpoint's tenant as its realm;
//! 4. the assertion verifies against the organisation's uploaded credentials: RS256 only,
//!    `x5t` picks the credential, the signature matches, `nbf`/`exp` hold with 5 minutes of
//!    skew, it lives at most 12 hours, `aud` is `00000001-0000-0000-c000-000000000000/<this
//!    token host>@<tenant>` and `iss` is `00000002-0000-0ff1-ce00-000000000000@<tenant>`;
//! 5. the credential that verified it is valid now;
//! 6. the resource is in the organisation's tenant and is a service this token service
//!    issues tokens for.
//!
//! Every refusal is an [`OAuthFailure`]: an OAuth error code, a description naming the
//! check that failed and what to do, a stable [`check`](OAuthFailure::check) name, and the
//! HTTP status (401 for failed client authentication, 400 otherwise).

use std::fmt;

use pushproxy_cert::{Certificate, CertificateParams, KeySize, PrivateKey, self_signed};
use pushproxy_token::jwt::Claims;
use pushproxy_token::metadata::{
    Endpoint, MetadataDocument, MetadataKey, PROTOCOL_DELEGATION_ISSUANCE,
    PROTOCOL_DELEGATION_MANAGEMENT, PROTOCOL_OAUTH2,
};
use pushproxy_token::mint::{self, MAX_LIFETIME};
use pushproxy_token::principal::{Audience, Guid, Host, Principal, Realm, well_known};
use pushproxy_token::signer::{Backend, Signer};
use pushproxy_token::sts::{OAuthError, TokenRequest, TokenResponse};
use pushproxy_token::verify::{self, KeySet, Validation, VerifyError};
use pushproxy_token::{Error as TokenError, jwt};

use crate::directory::{Directory, Organization};
use crate::{CloudError, ServiceUrl, when};

/// How long the access tokens of the token service live: one hour.
pub const ACCESS_TOKEN_LIFETIME: i64 = 3600;

/// The clock skew allowed on an assertion's `nbf` and `exp`: five minutes.
pub const ASSERTION_LEEWAY: i64 = 300;

/// The subject of the certificate the token service creates for itself.
pub const SERVICE_CERTIFICATE_NAME: &str = "sts.pushproxy.local";

/// The friendly name of that certificate.
pub const SERVICE_FRIENDLY_NAME: &str = "pushproxy local token service";

/// An OAuth 2.0 error code of the token endpoint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum OAuthCode {
    /// `invalid_request`: the request itself is malformed or sent to the wrong place.
    InvalidRequest,
    /// `invalid_client`: client authentication failed (no such credential, bad signature,
    /// credential not valid now, an algorithm other than RS256).
    InvalidClient,
    /// `invalid_grant`: the assertion is malformed, expired, not yet valid, too long-lived
    /// or addressed to someone else.
    InvalidGrant,
    /// `unauthorized_client`: the assertion claims to be a principal its credential does
    /// not belong to.
    UnauthorizedClient,
    /// `unsupported_grant_type`: another grant than the JWT bearer grant.
    UnsupportedGrantType,
    /// `invalid_resource`: the resource is malformed, in another tenant, or unknown.
    InvalidResource,
    /// `server_error`: the token service failed to mint the token.
    ServerError,
}

impl OAuthCode {
    /// The code as written in the error body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidResource => "invalid_resource",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status: 401 for `invalid_client`, 500 for `server_error`, 400 otherwise.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for OAuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused token request: the answer the token endpoint gives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OAuthFailure {
    /// The OAuth error code.
    pub code: OAuthCode,
    /// The stable name of the check that failed: a
    /// [`VerifyError::code`](pushproxy_token::VerifyError::code) for assertion checks
    /// (`expired`, `unknown_key`, ...), or one of this service's (`unknown_tenant`,
    /// `endpoint_realm`, `credential_expired`, `resource_realm`, ...).
    pub check: &'static str,
    /// The `error_description`: what failed and what to do.
    pub description: String,
}

impl OAuthFailure {
    /// A refusal.
    pub fn new(code: OAuthCode, check: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            check,
            description: description.into(),
        }
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The standard OAuth error body.
    pub fn to_oauth_error(&self) -> OAuthError {
        OAuthError::new(self.code.as_str(), self.description.clone())
    }

    /// The JSON body: `{"error","error_description","check"}`. `check` is this local
    /// cloud's addition; OAuth clients ignore members they do not know.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
            "check": self.check,
        })
        .to_string()
    }
}

impl fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.check, self.description)
    }
}

/// A refusal is also an error for a caller that only passes it on.
impl std::error::Error for OAuthFailure {}

/// The token service: its signing key and certificate, the URL it is reached at, and the
/// resources it issues tokens for.
pub struct TokenService {
    url: ServiceUrl,
    certificate: Certificate,
    signer: Box<dyn Signer>,
    keys: KeySet,
    resources: Vec<Audience>,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("url", &self.url)
            .field("certificate", &self.certificate.thumbprint())
            .field("signer", &self.signer)
            .field("resources", &self.resources)
            .finish()
    }
}

impl TokenService {
    /// A token service at `url` signing with `key`, whose certificate is `certificate`.
    /// It issues tokens for Exchange at `outlook.office365.com` and at its own host; see
    /// [`set_resource_hosts`](Self::set_resource_hosts).
    ///
    /// # Errors
    /// [`CloudError::ServiceIdentity`] if the key does not belong to the certificate or is
    /// below 2048 bits.
    pub fn new(
        url: ServiceUrl,
        certificate: Certificate,
        key: &PrivateKey,
    ) -> Result<Self, CloudError> {
        let signer = Backend::best_available()
            .signer(&certificate, key)
            .map_err(|source| CloudError::ServiceIdentity {
                source: Box::new(source),
            })?;
        let keys = KeySet::from_certificates([&certificate]).map_err(|source| {
            CloudError::ServiceIdentity {
                source: Box::new(source),
            }
        })?;
        let mut service = Self {
            url,
            certificate,
            signer,
            keys,
            resources: Vec::new(),
        };
        let mut hosts = vec![exchange_online_host()];
        if *service.url.host() != hosts[0] {
            hosts.push(service.url.host().clone());
        }
        service.set_resource_hosts(&hosts);
        Ok(service)
    }

    /// A new signing identity for a token service: an RSA 2048 key and a self-signed
    /// certificate for [`SERVICE_CERTIFICATE_NAME`], valid for five years from `now`.
    ///
    /// # Errors
    /// [`CloudError::TimeOutOfRange`], [`CloudError::ServiceCertificate`].
    pub fn create_identity(
        now: i64,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<(PrivateKey, Certificate), CloudError> {
        let domain = SERVICE_CERTIFICATE_NAME
            .parse()
            .map_err(|source| CloudError::ServiceCertificate { source })?;
        let mut params = CertificateParams::new(domain, when::datetime(now)?);
        params.friendly_name = SERVICE_FRIENDLY_NAME.to_owned();
        let key = PrivateKey::generate(KeySize::Bits2048, rng);
        let certificate = self_signed(&params, &key, rng)
            .map_err(|source| CloudError::ServiceCertificate { source })?;
        Ok((key, certificate))
    }

    /// Issue tokens for Exchange (the push service) at these hosts only.
    pub fn set_resource_hosts(&mut self, hosts: &[Host]) {
        self.resources = hosts
            .iter()
            .map(|host| Audience::new(well_known::EXCHANGE, host.clone(), Realm::Any))
            .collect();
    }

    /// The resources it issues tokens for, as patterns with the realm `*`.
    pub fn resources(&self) -> &[Audience] {
        &self.resources
    }

    /// The URL it is reached at.
    pub fn url(&self) -> &ServiceUrl {
        &self.url
    }

    /// Its certificate (published in every metadata document).
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Its certificate as a key set: what verifies the tokens it issues.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The issuer of its tokens for `tenant`: `00000001-0000-0000-c000-000000000000@<tenant>`.
    pub fn issuer(tenant: Guid) -> Principal {
        Principal::new(well_known::ACS, Realm::Tenant(tenant))
    }

    /// What an assertion for `tenant` must be addressed to:
    /// `00000001-0000-0000-c000-000000000000/<host>@<tenant>`.
    pub fn assertion_audience(&self, tenant: Guid) -> Audience {
        Audience::new(
            well_known::ACS,
            self.url.host().clone(),
            Realm::Tenant(tenant),
        )
    }

    /// The token endpoint of `tenant`: `<url>/<tenant>/tokens/OAuth/2`.
    pub fn token_endpoint(&self, tenant: Guid) -> String {
        self.url.join(&format!("/{tenant}/tokens/OAuth/2"))
    }

    /// The metadata URL of `realm` (a domain or tenant id), as an auth server's
    /// `AuthMetadataUrl` names it: `<url>/metadata/json/1?realm=<realm>`.
    pub fn metadata_url(&self, realm: &str) -> String {
        self.url.join(&format!("/metadata/json/1?realm={realm}"))
    }

    /// The metadata document for `realm`, a domain or tenant id of a registered
    /// organisation.
    ///
    /// *Inferred* shape, kept here: `id` is the document's URL, `issuer` and
    /// `allowedAudiences` are the token service's principal in the tenant, `keys` its
    /// certificate, and the endpoints are the `OAuth2` token endpoint and two delegation
    /// endpoints (`DelegationIssuance1.0`, `DelegationManagement1.0`) that this local cloud
    /// names but does not implement.
    ///
    /// # Errors
    /// [`CloudError::InvalidRealm`], [`CloudError::UnknownOrganization`].
    pub fn metadata(
        &self,
        directory: &Directory,
        realm: &str,
    ) -> Result<MetadataDocument, CloudError> {
        let tenant = directory.resolve(realm)?.tenant_id();
        let principal = Self::issuer(tenant).to_string();
        let delegation = |what: &str| self.url.join(&format!("/{tenant}/delegation/{what}"));
        Ok(MetadataDocument {
            id: Some(self.metadata_url(&tenant.to_string())),
            version: Some("1.0".to_owned()),
            name: Some(SERVICE_FRIENDLY_NAME.to_owned()),
            realm: Some(tenant.to_string()),
            service_name: Some(SERVICE_FRIENDLY_NAME.to_owned()),
            issuer: Some(principal.clone()),
            allowed_audiences: vec![principal],
            keys: vec![MetadataKey::signing_certificate(self.certificate.der())],
            endpoints: vec![
                Endpoint::new(self.token_endpoint(tenant), PROTOCOL_OAUTH2, "issuance"),
                Endpoint::new(
                    delegation("issuance"),
                    PROTOCOL_DELEGATION_ISSUANCE,
                    "issuance",
                ),
                Endpoint::new(
                    delegation("management"),
                    PROTOCOL_DELEGATION_MANAGEMENT,
                    "management",
                ),
            ],
        })
    }

    /// Answers a token request: the form body `form` posted at `now` (Unix seconds) to the
    /// token endpoint of `endpoint_tenant` (the `{tenant}` of the path, an id or a domain).
    ///
    /// # Errors
    /// An [`OAuthFailure`] naming the first rule (see the [module documentation](self))
    /// that the request breaks.
    pub fn handle_token_request(
        &self,
        directory: &Directory,
        endpoint_tenant: &str,
        form: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthFailure> {
        let org = directory.resolve(endpoint_tenant).map_err(|error| {
            OAuthFailure::new(
                OAuthCode::InvalidRequest,
                "unknown_tenant",
                format!(
                    "the token endpoint names `{endpoint_tenant}`, which is not a registered organisation ({}); use the OAuth2 endpoint of your organisation's metadata document",
                    error.chain()
                ),
            )
        })?;
        let request = TokenRequest::from_form(form).map_err(form_failure)?;
        let tenant = org.tenant_id();

        // The realm of the assertion must be the endpoint's tenant. A token too broken to
        // decode is left to the verifier, which says precisely what is wrong with it.
        if let Ok(decoded) = jwt::decode(request.assertion.as_str(), jwt::DEFAULT_MAX_SIZE) {
            let realm = decoded.claims().aud.realm;
            if realm != org.realm() {
                return Err(OAuthFailure::new(
                    OAuthCode::InvalidRequest,
                    "endpoint_realm",
                    format!(
                        "the assertion is for realm {realm} but was sent to the token endpoint of tenant {tenant} ({}); post it to {}",
                        org.domain(),
                        match realm.tenant() {
                            Some(other) => self.token_endpoint(other),
                            None => "the endpoint of its own tenant".to_owned(),
                        }
                    ),
                ));
            }
        }

        let validation = Validation {
            max_lifetime: Some(MAX_LIFETIME),
            leeway: ASSERTION_LEEWAY,
            ..Validation::new(self.assertion_audience(tenant), org.exchange_principal())
        };
        let verified = verify::verify(request.assertion.as_str(), org.keys(), &validation, now)
            .map_err(|error| assertion_failure(error, org))?;

        let thumbprint = verified.thumbprint();
        if let Some(credential) = org.credential(&thumbprint)
            && !credential.is_valid_at(now)
        {
            let (check, when_word) = if now < credential.start() {
                ("credential_not_yet_valid", "not yet")
            } else {
                ("credential_expired", "no longer")
            };
            return Err(OAuthFailure::new(
                OAuthCode::InvalidClient,
                check,
                format!(
                    "the credential with thumbprint {thumbprint} (key id {}) of organisation {} (tenant {tenant}) is {when_word} valid: it is valid from {} to {}, and now is {}; upload a current certificate with `pushproxy credential add`",
                    credential.key_id(),
                    org.domain(),
                    when::rfc3339(credential.start()),
                    when::rfc3339(credential.end()),
                    when::rfc3339(now)
                ),
            ));
        }

        let resource = request.resource;
        if resource.realm != org.realm() {
            return Err(OAuthFailure::new(
                OAuthCode::InvalidResource,
                "resource_realm",
                format!(
                    "resource {resource} is in realm {} but the assertion is for tenant {tenant} ({}); ask for a resource in your own tenant, <id>/<host>@{tenant}",
                    resource.realm,
                    org.domain()
                ),
            ));
        }
        if !self.resources.iter().any(|known| known.matches(&resource)) {
            let known: Vec<String> = self
                .resources
                .iter()
                .map(|r| Audience::new(r.id, r.host.clone(), org.realm()).to_string())
                .collect();
            return Err(OAuthFailure::new(
                OAuthCode::InvalidResource,
                "resource_unknown",
                format!(
                    "resource {resource} is not a service this token service issues tokens for; ask for one of {}",
                    known.join(", ")
                ),
            ));
        }

        let expires_on = now.saturating_add(ACCESS_TOKEN_LIFETIME);
        let issuer = Self::issuer(tenant);
        let mut claims = Claims::new(
            resource.clone(),
            issuer,
            org.exchange_principal().to_string(),
            now,
            expires_on,
        );
        claims.identity_provider = Some(issuer.to_string());
        let minted = mint::signed(claims, self.signer.as_ref()).map_err(|error| {
            OAuthFailure::new(
                OAuthCode::ServerError,
                "mint",
                CloudError::Mint {
                    source: Box::new(error),
                }
                .chain(),
            )
        })?;
        Ok(TokenResponse::bearer(
            minted.token,
            resource,
            now,
            expires_on,
        ))
    }
}

/// The host of Exchange Online and of the push-notification service.
pub(crate) fn exchange_online_host() -> Host {
    // `outlook.office365.com` is a valid host name (dot-separated labels of letters and
    // digits), so parsing it cannot fail; a unit test checks it too.
    #[allow(clippy::expect_used)]
    well_known::EXCHANGE_ONLINE_HOST
        .parse()
        .expect("outlook.office365.com is a valid host")
}

/// The refusal for a form that does not read as a token request.
fn form_failure(error: TokenError) -> OAuthFailure {
    match error {
        TokenError::UnsupportedGrantType { .. } => OAuthFailure::new(
            OAuthCode::UnsupportedGrantType,
            "grant_type",
            error.to_string(),
        ),
        TokenError::MissingParameter { .. } => OAuthFailure::new(
            OAuthCode::InvalidRequest,
            "missing_parameter",
            format!("{error}; a token request carries grant_type, assertion and resource"),
        ),
        TokenError::Form { .. } => {
            OAuthFailure::new(OAuthCode::InvalidRequest, "form", error.to_string())
        }
        other => OAuthFailure::new(
            OAuthCode::InvalidResource,
            "resource_syntax",
            format!(
                "the resource is not <principal id>/<host>@<tenant id>: {other}; for the push service ask for 00000002-0000-0ff1-ce00-000000000000/outlook.office365.com@<tenant id>"
            ),
        ),
    }
}

/// The refusal for an assertion that failed verification.
fn assertion_failure(error: VerifyError, org: &Organization) -> OAuthFailure {
    let check = error.code();
    let code = match &error {
        VerifyError::Unsigned
        | VerifyError::SymmetricAlg { .. }
        | VerifyError::AlgKeyMismatch { .. }
        | VerifyError::UnsupportedAlg { .. }
        | VerifyError::MissingKeyId
        | VerifyError::UnknownKey { .. }
        | VerifyError::KeyIdConflict { .. }
        | VerifyError::BadSignature { .. } => OAuthCode::InvalidClient,
        VerifyError::WrongIssuer { .. } => OAuthCode::UnauthorizedClient,
        _ => OAuthCode::InvalidGrant,
    };
    let description = match &error {
        VerifyError::UnknownKey { key_id } if org.credentials().is_empty() => format!(
            "the assertion is signed by certificate {key_id}, but organisation {} (tenant {}) has no credential yet; upload OAuthCert.cer with `pushproxy credential add`",
            org.domain(),
            org.tenant_id()
        ),
        VerifyError::UnknownKey { key_id } => format!(
            "no credential with {key_id} is registered for organisation {} (tenant {}); upload OAuthCert.cer with `pushproxy credential add`, or check AuthConfig.CurrentCertificateThumbprint",
            org.domain(),
            org.tenant_id()
        ),
        _ => format!("the assertion was refused ({check}): {error}"),
    };
    OAuthFailure::new(code, check, description)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::directory::{CredentialUpload, OrgRef};
    use crate::test_support::*;
    use proptest::prelude::*;
    use pushproxy_token::mint::{Lifetime, sts_assertion};
    use pushproxy_token::sts::{JWT_BEARER_GRANT, form_encode};
    use pushproxy_token::testing::bad_token_cases;

    pub(crate) const URL: &str = "http://127.0.0.1:8080";

    pub(crate) fn service() -> TokenService {
        TokenService::new(
            URL.parse().unwrap(),
            service_certificate().clone(),
            service_key(),
        )
        .unwrap()
    }

    /// A directory with contoso.com (its certificate uploaded) and fabrikam.com (none).
    pub(crate) fn directory() -> (Directory, Guid, Guid) {
        let mut directory = Directory::new();
        let contoso = directory
            .register("contoso.com".parse().unwrap(), NOW, &mut rng(1))
            .unwrap()
            .tenant_id;
        let fabrikam = directory
            .register("fabrikam.com".parse().unwrap(), NOW, &mut rng(2))
            .unwrap()
            .tenant_id;
        directory
            .add_credential(
                &OrgRef::Tenant(contoso),
                &CredentialUpload::for_certificate(contoso_certificate()),
                NOW,
                &mut rng(3),
            )
            .unwrap();
        (directory, contoso, fabrikam)
    }

    fn signer(certificate: &Certificate) -> Box<dyn Signer> {
        Backend::RustCrypto.signer(certificate, org_key()).unwrap()
    }

    pub(crate) fn push_resource(tenant: Guid) -> Audience {
        Audience::new(
            well_known::EXCHANGE,
            exchange_online_host(),
            Realm::Tenant(tenant),
        )
    }

    /// The assertion claims contoso's on-premises server makes for this service.
    fn good_claims(service: &TokenService, tenant: Guid) -> Claims {
        let me = Principal::new(well_known::EXCHANGE, Realm::Tenant(tenant));
        Claims::new(
            service.assertion_audience(tenant),
            me,
            me.to_string(),
            NOW - 10,
            NOW + 3590,
        )
    }

    fn form(assertion: &str, resource: &str) -> String {
        form_encode(&[
            ("grant_type", JWT_BEARER_GRANT),
            ("assertion", assertion),
            ("resource", resource),
        ])
    }

    pub(crate) fn good_request(service: &TokenService, tenant: Guid) -> String {
        let assertion = sts_assertion(
            signer(contoso_certificate()).as_ref(),
            service.url().host(),
            tenant,
            Lifetime::ONE_HOUR,
            NOW,
        )
        .unwrap();
        form(assertion.token.as_str(), &push_resource(tenant).to_string())
    }

    fn signed(claims: &Claims, certificate: &Certificate) -> String {
        jwt::encode_signed(claims, signer(certificate).as_ref())
            .unwrap()
            .into_string()
    }

    #[test]
    fn the_exchange_online_host_constant_parses() {
        assert_eq!(exchange_online_host().as_str(), "outlook.office365.com");
    }

    #[test]
    fn a_good_assertion_gets_a_one_hour_token_that_verifies_with_the_metadata() {
        let service = service();
        let (directory, tenant, _) = directory();
        let response = service
            .handle_token_request(
                &directory,
                "contoso.com",
                &good_request(&service, tenant),
                NOW,
            )
            .unwrap();
        assert_eq!(response.token_type, "Bearer");
        assert_eq!(response.expires_in, 3600);
        assert_eq!(
            (response.not_before, response.expires_on),
            (NOW, NOW + 3600)
        );
        assert_eq!(response.resource, push_resource(tenant));

        let metadata = service.metadata(&directory, "contoso.com").unwrap();
        let metadata = MetadataDocument::parse(&metadata.to_json()).unwrap();
        assert_eq!(
            metadata.issuance_endpoint().unwrap().location,
            format!("{URL}/{tenant}/tokens/OAuth/2")
        );
        let keys = metadata.key_set().unwrap();
        let validation = Validation::new(push_resource(tenant), TokenService::issuer(tenant));
        let verified =
            verify::verify(response.access_token.as_str(), &keys, &validation, NOW + 60).unwrap();
        let claims = verified.claims();
        assert_eq!(
            claims.iss.to_string(),
            format!("00000001-0000-0000-c000-000000000000@{tenant}")
        );
        assert_eq!(
            claims.nameid,
            format!("00000002-0000-0ff1-ce00-000000000000@{tenant}")
        );
        assert_eq!(claims.exp - claims.nbf, ACCESS_TOKEN_LIFETIME);
        assert_eq!(verified.thumbprint(), service_certificate().thumbprint());
        // One hour and the leeway later it is refused.
        let late = verify::verify(
            response.access_token.as_str(),
            &keys,
            &validation,
            NOW + 3600 + 300,
        );
        assert_eq!(late.unwrap_err().code(), "expired");
    }

    #[test]
    fn the_endpoint_accepts_the_tenant_id_or_the_domain() {
        let service = service();
        let (directory, tenant, _) = directory();
        let request = good_request(&service, tenant);
        for endpoint in [
            tenant.to_string(),
            "contoso.com".to_owned(),
            "CONTOSO.COM".to_owned(),
        ] {
            service
                .handle_token_request(&directory, &endpoint, &request, NOW)
                .unwrap();
        }
    }

    #[test]
    fn metadata_document_shape() {
        let service = service();
        let (directory, tenant, _) = directory();
        let by_domain = service.metadata(&directory, "contoso.com").unwrap();
        let by_id = service.metadata(&directory, &tenant.to_string()).unwrap();
        assert_eq!(by_domain, by_id);
        let acs = format!("00000001-0000-0000-c000-000000000000@{tenant}");
        assert_eq!(by_id.issuer.as_deref(), Some(acs.as_str()));
        assert_eq!(by_id.allowed_audiences, [acs]);
        assert_eq!(by_id.realm, Some(tenant.to_string()));
        let protocols: Vec<&str> = by_id
            .endpoints
            .iter()
            .map(|e| e.protocol.as_str())
            .collect();
        assert_eq!(
            protocols,
            ["OAuth2", "DelegationIssuance1.0", "DelegationManagement1.0"]
        );
        assert_eq!(by_id.keys.len(), 1);
        assert_eq!(by_id.keys[0].value, service_certificate().der());
        assert_eq!(by_id.keys[0].x5t, Some(service_certificate().x5t()));
        let error = service.metadata(&directory, "unknown.example").unwrap_err();
        assert_eq!(error.code(), "UnknownOrganization");
        assert_eq!(
            service.metadata_url("contoso.com"),
            format!("{URL}/metadata/json/1?realm=contoso.com")
        );
    }

    /// The shared table of bad tokens, as assertions: each refused with its own check,
    /// and the expected OAuth code.
    #[test]
    fn the_bad_token_table_is_refused_with_its_own_reasons() {
        let service = service();
        let (directory, tenant, _) = directory();
        let good = good_claims(&service, tenant);
        let signer = signer(contoso_certificate());
        let cases = bad_token_cases(signer.as_ref(), &good, NOW).unwrap();
        assert!(cases.len() >= 12);
        let resource = push_resource(tenant).to_string();
        let mut descriptions = std::collections::HashSet::new();
        for case in &cases {
            let failure = service
                .handle_token_request(
                    &directory,
                    "contoso.com",
                    &form(&case.token, &resource),
                    NOW,
                )
                .unwrap_err();
            assert_eq!(failure.check, case.expected, "{}: {failure}", case.name);
            let expected_code = match case.expected {
                "alg_none" | "symmetric_alg" | "unknown_key" | "bad_signature" => {
                    OAuthCode::InvalidClient
                }
                "wrong_issuer" => OAuthCode::UnauthorizedClient,
                _ => OAuthCode::InvalidGrant,
            };
            assert_eq!(failure.code, expected_code, "{}: {failure}", case.name);
            assert_eq!(
                failure.http_status(),
                if expected_code == OAuthCode::InvalidClient {
                    401
                } else {
                    400
                },
                "{}",
                case.name
            );
            descriptions.insert(failure.description.clone());
        }
        // Each reason is told in its own words (the two bad signatures share theirs).
        assert!(descriptions.len() >= cases.len() - 1, "{descriptions:#?}");
        // And the good claims themselves are accepted.
        let accepted = service.handle_token_request(
            &directory,
            "contoso.com",
            &form(&signed(&good, contoso_certificate()), &resource),
            NOW,
        );
        assert!(accepted.is_ok(), "{accepted:?}");
    }

    #[test]
    fn unknown_thumbprint_says_what_to_upload() {
        let service = service();
        let (directory, tenant, _) = directory();
        let claims = good_claims(&service, tenant);
        let token = signed(&claims, fabrikam_certificate());
        let failure = service
            .handle_token_request(
                &directory,
                "contoso.com",
                &form(&token, &push_resource(tenant).to_string()),
                NOW,
            )
            .unwrap_err();
        assert_eq!(
            (failure.code, failure.check),
            (OAuthCode::InvalidClient, "unknown_key")
        );
        let thumbprint = fabrikam_certificate().thumbprint().to_string();
        assert!(
            failure
                .description
                .contains(&format!("thumbprint {thumbprint}")),
            "{failure}"
        );
        assert!(
            failure.description.contains("organisation contoso.com"),
            "{failure}"
        );
        assert!(
            failure.description.contains(&tenant.to_string()),
            "{failure}"
        );
        assert!(
            failure.description.contains("pushproxy credential add"),
            "{failure}"
        );
    }

    /// Assertions and requests this service must refuse, beyond the shared table.
    #[test]
    fn request_table() {
        let service = service();
        let (mut directory, tenant, fabrikam) = directory();
        let resource = push_resource(tenant).to_string();
        let good = good_claims(&service, tenant);
        let good_token = signed(&good, contoso_certificate());
        let me = Principal::new(well_known::EXCHANGE, Realm::Tenant(tenant));

        let mut long = good.clone();
        long.exp = long.nbf + MAX_LIFETIME + 1;
        let mut other_host = good.clone();
        other_host.aud.host = "accounts.accesscontrol.windows.net".parse().unwrap();
        let mut fabrikam_claims = good_claims(&service, fabrikam);
        fabrikam_claims.iss = me;
        let mut foreign_issuer = good.clone();
        foreign_issuer.iss = Principal::new(well_known::EXCHANGE, Realm::Tenant(fabrikam));

        struct Case {
            name: &'static str,
            endpoint: String,
            form: String,
            code: OAuthCode,
            check: &'static str,
            words: &'static str,
        }
        let case = |name, endpoint: &str, form: String, code, check, words| Case {
            name,
            endpoint: endpoint.to_owned(),
            form,
            code,
            check,
            words,
        };
        let cases = [
            case(
                "unregistered endpoint tenant",
                "unknown.example",
                form(&good_token, &resource),
                OAuthCode::InvalidRequest,
                "unknown_tenant",
                "not a registered organisation",
            ),
            case(
                "endpoint tenant is not a realm",
                "not a realm",
                form(&good_token, &resource),
                OAuthCode::InvalidRequest,
                "unknown_tenant",
                "not a registered organisation",
            ),
            case(
                "another grant type",
                "contoso.com",
                form_encode(&[
                    ("grant_type", "client_credentials"),
                    ("assertion", good_token.as_str()),
                    ("resource", resource.as_str()),
                ]),
                OAuthCode::UnsupportedGrantType,
                "grant_type",
                "client_credentials",
            ),
            case(
                "no grant type",
                "contoso.com",
                form_encode(&[
                    ("assertion", good_token.as_str()),
                    ("resource", resource.as_str()),
                ]),
                OAuthCode::InvalidRequest,
                "missing_parameter",
                "grant_type",
            ),
            case(
                "no assertion",
                "contoso.com",
                form_encode(&[
                    ("grant_type", JWT_BEARER_GRANT),
                    ("resource", resource.as_str()),
                ]),
                OAuthCode::InvalidRequest,
                "missing_parameter",
                "assertion",
            ),
            case(
                "no resource",
                "contoso.com",
                form_encode(&[
                    ("grant_type", JWT_BEARER_GRANT),
                    ("assertion", good_token.as_str()),
                ]),
                OAuthCode::InvalidRequest,
                "missing_parameter",
                "resource",
            ),
            case(
                "broken percent encoding",
                "contoso.com",
                format!("{}&x=%zz", form(&good_token, &resource)),
                OAuthCode::InvalidRequest,
                "form",
                "hex digits",
            ),
            case(
                "repeated assertion",
                "contoso.com",
                format!("{}&assertion=x", form(&good_token, &resource)),
                OAuthCode::InvalidRequest,
                "form",
                "more than once",
            ),
            case(
                "resource without host",
                "contoso.com",
                form(
                    &good_token,
                    &format!("00000002-0000-0ff1-ce00-000000000000@{tenant}"),
                ),
                OAuthCode::InvalidResource,
                "resource_syntax",
                "no `/`",
            ),
            case(
                "resource in another tenant",
                "contoso.com",
                form(&good_token, &push_resource(fabrikam).to_string()),
                OAuthCode::InvalidResource,
                "resource_realm",
                "your own tenant",
            ),
            case(
                "resource for every tenant",
                "contoso.com",
                form(
                    &good_token,
                    "00000002-0000-0ff1-ce00-000000000000/outlook.office365.com@*",
                ),
                OAuthCode::InvalidResource,
                "resource_realm",
                "realm *",
            ),
            case(
                "resource this service does not serve",
                "contoso.com",
                form(
                    &good_token,
                    &format!(
                        "00000003-0000-0ff1-ce00-000000000000/contoso.sharepoint.com@{tenant}"
                    ),
                ),
                OAuthCode::InvalidResource,
                "resource_unknown",
                "outlook.office365.com",
            ),
            case(
                "assertion sent to another tenant's endpoint",
                "fabrikam.com",
                form(&good_token, &resource),
                OAuthCode::InvalidRequest,
                "endpoint_realm",
                "tokens/OAuth/2",
            ),
            case(
                "assertion for the token service at another host",
                "contoso.com",
                form(&signed(&other_host, contoso_certificate()), &resource),
                OAuthCode::InvalidGrant,
                "wrong_audience",
                "accounts.accesscontrol.windows.net",
            ),
            case(
                "assertion living longer than 12 hours",
                "contoso.com",
                form(&signed(&long, contoso_certificate()), &resource),
                OAuthCode::InvalidGrant,
                "lifetime_too_long",
                "43201",
            ),
            case(
                "issuer in another tenant than the audience",
                "contoso.com",
                form(&signed(&foreign_issuer, contoso_certificate()), &resource),
                OAuthCode::UnauthorizedClient,
                "wrong_issuer",
                "issuer",
            ),
            case(
                "assertion from contoso for fabrikam's realm",
                "fabrikam.com",
                form(
                    &signed(&fabrikam_claims, contoso_certificate()),
                    &push_resource(fabrikam).to_string(),
                ),
                OAuthCode::InvalidClient,
                "unknown_key",
                "has no credential yet",
            ),
        ];
        for case in cases {
            let failure = service
                .handle_token_request(&directory, &case.endpoint, &case.form, NOW)
                .unwrap_err();
            assert_eq!(
                (failure.code, failure.check),
                (case.code, case.check),
                "{}: {failure}",
                case.name
            );
            assert!(
                failure.description.contains(case.words),
                "{}: {failure}",
                case.name
            );
        }

        // fabrikam with an honest assertion but no credential: told to upload one.
        let mut fabrikam_good = good_claims(&service, fabrikam);
        fabrikam_good.iss = Principal::new(well_known::EXCHANGE, Realm::Tenant(fabrikam));
        let failure = service
            .handle_token_request(
                &directory,
                "fabrikam.com",
                &form(
                    &signed(&fabrikam_good, fabrikam_certificate()),
                    &push_resource(fabrikam).to_string(),
                ),
                NOW,
            )
            .unwrap_err();
        assert_eq!(
            (failure.code, failure.check),
            (OAuthCode::InvalidClient, "unknown_key")
        );
        assert!(
            failure.description.contains("has no credential yet"),
            "{failure}"
        );

        // After the credential is removed, its assertions are refused.
        directory
            .remove_credential(
                &OrgRef::Tenant(tenant),
                &crate::CredentialRef::Thumbprint(contoso_certificate().thumbprint()),
            )
            .unwrap();
        let failure = service
            .handle_token_request(
                &directory,
                "contoso.com",
                &form(&good_token, &resource),
                NOW,
            )
            .unwrap_err();
        assert_eq!(failure.check, "unknown_key");
    }

    #[test]
    fn the_credential_must_be_valid_now() {
        let service = service();
        let (mut directory, tenant, _) = directory();
        let org = OrgRef::Tenant(tenant);
        let mut upload = CredentialUpload::for_certificate(contoso_certificate());
        upload.start_date = Some(NOW + 3600);
        upload.end_date = Some(NOW + 7200);
        directory
            .add_credential(&org, &upload, NOW, &mut rng(4))
            .unwrap();
        let resource = push_resource(tenant).to_string();
        let mut claims = good_claims(&service, tenant);
        let failure = service
            .handle_token_request(
                &directory,
                "contoso.com",
                &form(&signed(&claims, contoso_certificate()), &resource),
                NOW,
            )
            .unwrap_err();
        assert_eq!(
            (failure.code, failure.check),
            (OAuthCode::InvalidClient, "credential_not_yet_valid")
        );
        assert!(failure.description.contains("not yet valid"), "{failure}");
        // Inside the window it works.
        let later = NOW + 4000;
        (claims.nbf, claims.exp) = (later, later + 600);
        let token = signed(&claims, contoso_certificate());
        service
            .handle_token_request(&directory, "contoso.com", &form(&token, &resource), later)
            .unwrap();
        // After it, the same kind of assertion is refused.
        let after = NOW + 8000;
        (claims.nbf, claims.exp) = (after, after + 600);
        let token = signed(&claims, contoso_certificate());
        let failure = service
            .handle_token_request(&directory, "contoso.com", &form(&token, &resource), after)
            .unwrap_err();
        assert_eq!(failure.check, "credential_expired");
        assert!(failure.description.contains("no longer valid"), "{failure}");
    }

    #[test]
    fn skew_of_five_minutes_is_tolerated_and_not_more() {
        let service = service();
        let (directory, tenant, _) = directory();
        let resource = push_resource(tenant).to_string();
        let mut claims = good_claims(&service, tenant);
        (claims.nbf, claims.exp) = (NOW + 299, NOW + 3600);
        let early = signed(&claims, contoso_certificate());
        service
            .handle_token_request(&directory, "contoso.com", &form(&early, &resource), NOW)
            .unwrap();
        (claims.nbf, claims.exp) = (NOW + 301, NOW + 3600);
        let too_early = signed(&claims, contoso_certificate());
        let failure = service
            .handle_token_request(&directory, "contoso.com", &form(&too_early, &resource), NOW)
            .unwrap_err();
        assert_eq!(failure.check, "not_yet_valid");
        (claims.nbf, claims.exp) = (NOW - 3600, NOW - 299);
        let just_expired = signed(&claims, contoso_certificate());
        service
            .handle_token_request(
                &directory,
                "contoso.com",
                &form(&just_expired, &resource),
                NOW,
            )
            .unwrap();
        (claims.nbf, claims.exp) = (NOW - 3600, NOW - 300);
        let expired = signed(&claims, contoso_certificate());
        let failure = service
            .handle_token_request(&directory, "contoso.com", &form(&expired, &resource), NOW)
            .unwrap_err();
        assert_eq!(failure.check, "expired");
    }

    #[test]
    fn resource_hosts_can_be_configured() {
        let mut service = service();
        let (directory, tenant, _) = directory();
        let local = Audience::new(
            well_known::EXCHANGE,
            "127.0.0.1:8080".parse().unwrap(),
            Realm::Tenant(tenant),
        );
        let host = service.url().host().clone();
        let request = |resource: &Audience| {
            let assertion = sts_assertion(
                signer(contoso_certificate()).as_ref(),
                &host,
                tenant,
                Lifetime::ONE_HOUR,
                NOW,
            )
            .unwrap();
            form(assertion.token.as_str(), &resource.to_string())
        };
        // By default: Exchange Online and the service's own host.
        service
            .handle_token_request(&directory, "contoso.com", &request(&local), NOW)
            .unwrap();
        service.set_resource_hosts(&[exchange_online_host()]);
        let failure = service
            .handle_token_request(&directory, "contoso.com", &request(&local), NOW)
            .unwrap_err();
        assert_eq!(failure.check, "resource_unknown");
    }

    #[test]
    fn failure_json_carries_the_standard_members_and_the_check() {
        let failure = OAuthFailure::new(OAuthCode::InvalidGrant, "expired", "it expired");
        let json = failure.to_json();
        let back = OAuthError::from_json(&json).unwrap();
        assert_eq!(back, failure.to_oauth_error());
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["check"], "expired");
        assert_eq!(failure.to_string(), "invalid_grant (expired): it expired");
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let error = TokenService::new(
            URL.parse().unwrap(),
            contoso_certificate().clone(),
            service_key(),
        )
        .unwrap_err();
        assert_eq!(error.code(), "ServiceIdentity");
        assert!(
            error.chain().contains("does not belong"),
            "{}",
            error.chain()
        );
    }

    #[test]
    fn debug_output_shows_no_key() {
        let text = format!("{:?}", service());
        assert!(text.contains("redacted"), "{text}");
        assert!(
            text.contains(&service_certificate().thumbprint().to_string()),
            "{text}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_forms_never_panic_and_are_refused(body in "\\PC{0,200}") {
            let service = service();
            let (directory, _, _) = directory();
            prop_assert!(service.handle_token_request(&directory, "contoso.com", &body, NOW).is_err());
        }

        #[test]
        fn any_changed_character_of_the_assertion_is_refused(at in 0usize..4096, c in "[A-Za-z0-9_.-]") {
            let service = service();
            let (directory, tenant, _) = directory();
            let good = signed(&good_claims(&service, tenant), contoso_certificate());
            let at = at % good.len();
            let mut changed = good.clone();
            changed.replace_range(at..=at, &c);
            prop_assume!(changed != good);
            let result = service.handle_token_request(
                &directory,
                "contoso.com",
                &form(&changed, &push_resource(tenant).to_string()),
                NOW,
            );
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn tokens_are_not_printed_whole() {
        let service = service();
        let (directory, tenant, _) = directory();
        let response = service
            .handle_token_request(
                &directory,
                "contoso.com",
                &good_request(&service, tenant),
                NOW,
            )
            .unwrap();
        let text = format!("{response:?}");
        assert!(!text.contains(response.access_token.as_str()), "{text}");
    }
}
