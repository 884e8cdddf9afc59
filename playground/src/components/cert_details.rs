//! What the certificate in use is: names, key, validity, identifiers, thumbprints, the
//! step-3 credential value, and downloads.

use std::rc::Rc;

use pushproxy_cert::Credential;
use time::OffsetDateTime;
use yew::prelude::*;

use crate::browser;
use crate::model::credentials::{Credentials, Origin};
use crate::model::format;

/// What [`CertDetails`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct CertDetailsProps {
    /// The certificate in use.
    pub credentials: Rc<Credentials>,
    /// The time its validity is measured against (local offset).
    pub now: OffsetDateTime,
}

fn row(name: &str, test_id: &str, value: Html) -> Html {
    html! {
        <tr>
            <th>{ name }</th>
            <td data-testid={test_id.to_owned()}>{ value }</td>
        </tr>
    }
}

/// Makes the bytes of a file to download, when it is asked for.
type FileBytes = Rc<dyn Fn() -> Result<Vec<u8>, String>>;

fn download_button(
    id: &str,
    label: &str,
    file: &'static str,
    mime: &'static str,
    bytes: FileBytes,
    error: UseStateHandle<Option<String>>,
) -> Html {
    let onclick = Callback::from(move |_: MouseEvent| {
        let result = bytes().and_then(|bytes| browser::download(file, mime, &bytes));
        error.set(result.err());
    });
    html! { <button id={id.to_owned()} {onclick}>{ label }</button> }
}

/// The certificate in use.
#[function_component(CertDetails)]
pub fn cert_details(props: &CertDetailsProps) -> Html {
    let download_error = use_state(|| None::<String>);
    let credentials = &props.credentials;
    let certificate = &credentials.certificate;
    let info = certificate.info(props.now);
    let offset = props.now.offset();
    let credential = Credential::for_certificate(certificate);

    let validity_class = if !info.valid_now || info.days_left < 30 {
        "warn"
    } else {
        "ok"
    };
    let days_left = if !info.valid_now && info.days_left < 0 {
        format!("expired {} day(s) ago", -info.days_left)
    } else if !info.valid_now {
        "not valid yet".to_owned()
    } else {
        format!("{} day(s) left", info.days_left)
    };
    let key = match info.key_bits {
        Some(bits) => format!("{} {bits} bits", info.key_algorithm),
        None => info.key_algorithm.clone(),
    };
    let origin = match credentials.origin {
        Origin::Generated => "generated in this page",
        Origin::Loaded => "loaded",
    };
    let private_key = if credentials.key.is_some() {
        "present (kept in this page only; it signs the tokens)"
    } else {
        "not loaded: tokens cannot be signed, only verified"
    };

    let der = certificate.der().to_vec();
    let pem = certificate.to_pem();
    // The key is encoded only when its download is asked for.
    let key_pem: Option<FileBytes> = credentials.key.as_ref().map(|_| {
        let credentials = credentials.clone();
        let encode: FileBytes = Rc::new(move || {
            let key = credentials.key.as_ref().ok_or("no private key")?;
            key.to_pkcs8_pem()
                .map(|pem| pem.as_bytes().to_vec())
                .map_err(|e| e.to_string())
        });
        encode
    });
    let cer_bytes: FileBytes = Rc::new(move || Ok(der.clone()));
    let pem_bytes: FileBytes = Rc::new(move || Ok(pem.clone().into_bytes()));

    html! {
        <div class="card" data-testid="cert-details">
            <h2>{ "The certificate in use" }<span class="badge">{ origin }</span></h2>
            <table class="facts">
                { row("Subject", "cert-subject", html! { &info.subject }) }
                { row("Issuer", "cert-issuer", html! {
                    <>{ &info.issuer }{ if info.self_signed { " (self-signed)" } else { "" } }</>
                }) }
                { row("DNS names", "cert-domains", html! { info.dns_names.join(", ") }) }
                { row("Key", "cert-key", html! { key }) }
                { row("Private key", "cert-private-key", html! { private_key }) }
                { row("Valid from", "cert-not-before", html! {
                    <>{ format::utc(info.not_before) }<span class="muted">{ format!(" · {}", format::local(info.not_before, offset)) }</span></>
                }) }
                { row("Valid until", "cert-not-after", html! {
                    <>{ format::utc(info.not_after) }<span class="muted">{ format!(" · {}", format::local(info.not_after, offset)) }</span></>
                }) }
                { row("Days left", "cert-days-left", html! { <span class={validity_class}>{ days_left }</span> }) }
                { row("Serial number", "cert-serial", html! { <code>{ &info.serial_number }</code> }) }
                { row("Signature", "cert-signature", html! { &info.signature_algorithm }) }
                { row("Subject key identifier", "cert-ski", html! {
                    <code>{ info.subject_key_identifier.clone().unwrap_or_else(|| "none".to_owned()) }</code>
                }) }
                { row("Thumbprint (SHA-1)", "cert-thumbprint", html! { <code>{ info.thumbprint.to_string() }</code> }) }
                { row("x5t (base64url)", "cert-x5t", html! { <code>{ &info.x5t }</code> }) }
                { row("SHA-256 thumbprint", "cert-sha256", html! { <code class="wrap">{ info.sha256_thumbprint.to_string() }</code> }) }
                { row("x5t#S256", "cert-x5t-s256", html! { <code>{ &info.x5t_s256 }</code> }) }
            </table>
            <div class="actions">
                { download_button("download-cer", "Download OAuthCert.cer (DER)", "OAuthCert.cer",
                    "application/pkix-cert", cer_bytes, download_error.clone()) }
                { download_button("download-pem", "Download OAuthCert.pem", "OAuthCert.pem",
                    "application/x-pem-file", pem_bytes, download_error.clone()) }
                if let Some(key_pem) = key_pem {
                    { download_button("download-key", "Download private key (PKCS#8 PEM)", "OAuthCert.key.pem",
                        "application/x-pem-file", key_pem, download_error.clone()) }
                }
            </div>
            if let Some(error) = &*download_error {
                <p class="error">{ error }</p>
            }
            <h3>{ "Step 3: the credential value" }</h3>
            <p class="hint">
                { format!(
                    "Upload this to the service principal 00000002-0000-0ff1-ce00-000000000000 as an asymmetric credential with usage Verify, valid from {} to {}: the base64 of the DER certificate.",
                    format::utc(credential.start_date),
                    format::utc(credential.end_date)
                ) }
            </p>
            <pre class="wrap" data-testid="cert-credential">{ credential.value }</pre>
        </div>
    }
}
