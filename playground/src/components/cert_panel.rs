//! The Certificate tab: create the self-signed OAuth certificate without freezing the page,
//! or load one, and show it.

use std::rc::Rc;

use pushproxy_cert::{DnsName, KeySize};
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser;
use crate::components::cert_details::CertDetails;
use crate::components::form::{input_value, select_value, text_area, text_field, textarea_value};
use crate::model::credentials::Credentials;
use crate::model::format;
use crate::state::cert::{CertAction, CertState, Generation};

/// What [`CertPanel`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct CertPanelProps {
    /// The certificate state.
    pub cert: UseReducerHandle<CertState>,
}

/// Generates the key in slices, reporting progress and yielding to the browser between
/// slices, then creates the certificate.
async fn generate(
    domain: DnsName,
    size: KeySize,
    dispatcher: UseReducerDispatcher<CertState>,
) -> Result<Credentials, String> {
    let (key, mut rng) = browser::generate_key(size, |progress| {
        dispatcher.dispatch(CertAction::GenerationProgress(progress));
    })
    .await?;
    Credentials::self_signed(&domain, key, browser::now_local(), &mut rng)
}

fn file_picker(id: &str, label: &str, accept: &str, on_bytes: Callback<Vec<u8>>) -> Html {
    let onchange = Callback::from(move |e: Event| {
        let Some(input) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        let on_bytes = on_bytes.clone();
        yew::platform::spawn_local(async move {
            if let Ok(bytes) = browser::read_file(file).await {
                on_bytes.emit(bytes);
            }
        });
    });
    html! {
        <label class="file" for={id.to_owned()}>
            <span class="label">{ label }</span>
            <input id={id.to_owned()} type="file" accept={accept.to_owned()} {onchange} />
        </label>
    }
}

/// The Certificate tab.
#[function_component(CertPanel)]
pub fn cert_panel(props: &CertPanelProps) -> Html {
    let cert = &props.cert;
    let dispatch = |make: fn(String) -> CertAction| {
        let cert = cert.clone();
        move |value: String| cert.dispatch(make(value))
    };

    let on_generate = {
        let cert = cert.clone();
        Callback::from(move |_: MouseEvent| {
            if cert.is_generating() {
                return;
            }
            let domain = match cert.domain() {
                Ok(domain) => domain,
                Err(error) => {
                    cert.dispatch(CertAction::GenerationFailed(format!("domain: {error}")));
                    return;
                }
            };
            let size = cert.key_size;
            let dispatcher = cert.dispatcher();
            dispatcher.dispatch(CertAction::GenerationStarted {
                at_ms: browser::now_ms(),
            });
            yew::platform::spawn_local(async move {
                match generate(domain, size, dispatcher.clone()).await {
                    Ok(credentials) => dispatcher.dispatch(CertAction::Generated {
                        credentials: Rc::new(credentials),
                        at_ms: browser::now_ms(),
                    }),
                    Err(error) => dispatcher.dispatch(CertAction::GenerationFailed(error)),
                }
            });
        })
    };
    let on_size = {
        let cert = cert.clone();
        select_value(move |value| {
            if let Ok(size) = value.parse::<KeySize>() {
                cert.dispatch(CertAction::SetKeySize(size));
            }
        })
    };
    let on_load = {
        let cert = cert.clone();
        Callback::from(move |_: MouseEvent| cert.dispatch(CertAction::Load))
    };
    let on_cert_file = {
        let cert = cert.clone();
        Callback::from(move |bytes| cert.dispatch(CertAction::CertificateFile(bytes)))
    };
    let on_key_file = {
        let cert = cert.clone();
        Callback::from(move |bytes| cert.dispatch(CertAction::KeyFile(bytes)))
    };

    let status = match &cert.generation {
        Generation::Idle => html! {},
        Generation::Running {
            started_ms,
            progress,
        } => html! {
            <div class="progress" data-testid="keygen-progress">
                <progress></progress>
                <span>
                    { format!(
                        "Finding two {}-bit primes: {} candidate(s) tested, {} of 2 found, {:.1} s",
                        cert.key_size.bits() / 2,
                        progress.candidates_tested,
                        progress.primes_found,
                        (browser::now_ms() - started_ms) / 1000.0
                    ) }
                </span>
            </div>
        },
        Generation::Done {
            elapsed_ms,
            candidates,
        } => html! {
            <p class="ok" data-testid="keygen-done">
                { format!(
                    "Key and certificate made in {:.2} s ({candidates} prime candidates tested), without leaving the page.",
                    elapsed_ms / 1000.0
                ) }
            </p>
        },
        Generation::Failed(error) => html! {
            <p class="error" data-testid="keygen-error">{ error }</p>
        },
    };

    html! {
        <section class="panel">
            <div class="grid two">
                <div class="card">
                    <h2>{ "Create the OAuth certificate" }</h2>
                    <p class="hint">
                        { "As Exchange's setup does when no certificate fits: self-signed, subject and DNS name = your domain, friendly name \"Exchange S2S OAuth\", service Federation, a new GUID as subject key identifier, valid five years. The key is generated here, in small steps, so the page stays responsive." }
                    </p>
                    { text_field("cert-domain", "Organisation's DNS domain", &cert.domain,
                        input_value(dispatch(CertAction::SetDomain))) }
                    <label class="field" for="cert-key-size">
                        <span class="label">{ "RSA key size" }</span>
                        <select id="cert-key-size" onchange={on_size}>
                            { for KeySize::ALL.into_iter().map(|size| html! {
                                <option value={size.bits().to_string()} selected={size == cert.key_size}>
                                    { format!("{} bits", size.bits()) }
                                </option>
                            }) }
                        </select>
                    </label>
                    <div class="actions">
                        <button id="cert-generate" class="primary" onclick={on_generate}
                            disabled={cert.is_generating()}>
                            { if cert.is_generating() { "Generating…" } else { "Generate key and certificate" } }
                        </button>
                    </div>
                    { status }
                </div>
                <div class="card">
                    <h2>{ "Or load a certificate" }</h2>
                    <p class="hint">
                        { "An existing certificate (PEM, DER .cer or base64) and, to sign tokens with it, its private key (PKCS#8 or PKCS#1, PEM or DER). Files are read here and never uploaded." }
                    </p>
                    <div class="row">
                        { file_picker("cert-file", "Certificate file", ".cer,.crt,.der,.pem", on_cert_file) }
                        { file_picker("key-file", "Key file", ".key,.pem,.der", on_key_file) }
                    </div>
                    { text_area("cert-text", "Certificate", &cert.certificate_text, 5,
                        "-----BEGIN CERTIFICATE-----", textarea_value(dispatch(CertAction::SetCertificateText))) }
                    { text_area("key-text", "Private key (optional)", &cert.key_text, 3,
                        "-----BEGIN PRIVATE KEY-----", textarea_value(dispatch(CertAction::SetKeyText))) }
                    <div class="actions">
                        <button id="cert-load" onclick={on_load}>{ "Load" }</button>
                    </div>
                    if let Some(error) = &cert.load_error {
                        <p class="error" data-testid="load-error">{ error }</p>
                    }
                </div>
            </div>
            {
                match &cert.credentials {
                    Some(credentials) => html! {
                        <CertDetails credentials={credentials.clone()} now={browser::now_local()} />
                    },
                    None => html! {
                        <div class="card empty">
                            { "No certificate yet. Generate one or load one above; the other tabs use it." }
                        </div>
                    },
                }
            }
            <p class="footnote">
                { format!("Times are shown in UTC and in this browser's offset ({}).",
                    format::offset_name(browser::local_offset())) }
            </p>
        </section>
    }
}
