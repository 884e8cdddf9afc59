//! The Setup tab: the objects of the four setup steps and the reuse rule.

use yew::prelude::*;

use crate::browser;
use crate::components::form::{checked, errors, input_value, text_field};
use crate::components::object_view::ObjectView;
use crate::state::setup::{SetupAction, SetupState, all_services};

/// What [`SetupPanel`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct SetupPanelProps {
    /// The setup state.
    pub setup: UseReducerHandle<SetupState>,
}

/// The Setup tab.
#[function_component(SetupPanel)]
pub fn setup_panel(props: &SetupPanelProps) -> Html {
    let setup = &props.setup;
    let dispatch = |make: fn(String) -> SetupAction| {
        let setup = setup.clone();
        input_value(move |value| setup.dispatch(make(value)))
    };
    let on_rerun = {
        let setup = setup.clone();
        Callback::from(move |_: MouseEvent| {
            setup.dispatch(SetupAction::Rerun {
                now: browser::now_local(),
                guid: browser::random_bytes16().unwrap_or([0x5a; 16]),
            });
        })
    };
    let services = html! {
        <fieldset class="services">
            <legend>{ "Services the certificate is assigned to" }</legend>
            { for all_services().into_iter().map(|(flag, name)| {
                let on = setup.services.contains(flag);
                let setup = setup.clone();
                let onchange = checked(move |_| setup.dispatch(SetupAction::ToggleService(flag)));
                html! {
                    <label class="check">
                        <input type="checkbox" id={format!("service-{}", name.to_lowercase())}
                            checked={on} {onchange} />
                        { name }
                    </label>
                }
            }) }
        </fieldset>
    };

    let body = match setup.outputs() {
        Err(error) => errors("setup-errors", &[error]),
        Ok(outputs) => html! {
            <>
                <div class="card">
                    <h3>{ "What the setup prints" }</h3>
                    <pre class="console" data-testid="setup-transcript">
                        { outputs.transcript.join("\n") }
                    </pre>
                </div>
                {
                    match &outputs.reuse {
                        None => html! {},
                        Some(reuse) if reuse.fits => html! {
                            <div class="card verdict good" data-testid="reuse-verdict">
                                <h3>{ "Step 1: the certificate can be reused" }</h3>
                                <p>{ "Its names include the organisation's domain, it is assigned to SMTP or Federation, its RSA key has at least 2048 bits, its friendly name contains \"OAuth\", and it is valid now." }</p>
                            </div>
                        },
                        Some(reuse) => html! {
                            <div class="card verdict bad" data-testid="reuse-verdict">
                                <h3>{ format!("Step 1: the certificate cannot be reused ({} reason(s))", reuse.reasons.len()) }</h3>
                                <ul data-testid="reuse-reasons">
                                    { for reuse.reasons.iter().map(|r| html! { <li>{ r }</li> }) }
                                </ul>
                                <p class="hint">{ "Setup would then create a new self-signed certificate (the Certificate tab does exactly that)." }</p>
                            </div>
                        },
                    }
                }
                <div class="objects">
                    if let Some(shown) = outputs.auth_config.clone() {
                        <ObjectView step="Step 1 · " title="AuthConfig" name="auth-config"
                            hint="The built-in token issuer signs with the certificate of this thumbprint."
                            {shown} />
                    }
                    <ObjectView step="Step 2 · " title="AuthServer MicrosoftSts" name="auth-server"
                        hint="Where the token service's metadata for the tenant is; the issuer, endpoint and realm are learnt from it."
                        shown={outputs.auth_server.clone()} />
                    if let Some(shown) = outputs.credential.clone() {
                        <ObjectView step="Step 3 · " title="Service principal credential" name="credential"
                            hint="The certificate as a key credential of the Exchange service principal 00000002-0000-0ff1-ce00-000000000000 in the cloud."
                            {shown} />
                    }
                    <ObjectView step="Step 4 · " title="PushNotificationApp OnPrem-Proxy" name="push-app"
                        hint="What Enable-PushNotificationProxy -Organization creates."
                        shown={outputs.push_app.clone()} />
                </div>
            </>
        },
    };

    html! {
        <section class="panel">
            <div class="card">
                <h2>{ "Setup objects" }</h2>
                <p class="hint">
                    { "The objects the setup steps create for your tenant, made by the configuration crate exactly as the command line tool stores them. The certificate comes from the Certificate tab; its friendly name and services are what a certificate store keeps beside it, so you can change them here and watch the reuse rule of step 1." }
                </p>
                <div class="grid three">
                    { text_field("setup-domain", "Tenant domain", &setup.domain, dispatch(SetupAction::SetDomain)) }
                    { text_field("setup-server", "Server (empty: ex01.<domain>)", &setup.server, dispatch(SetupAction::SetServer)) }
                    { text_field("setup-uri", "Push service URI (empty: the default)", &setup.push_uri, dispatch(SetupAction::SetPushUri)) }
                </div>
                if setup.credentials.is_some() {
                    { text_field("setup-friendly-name", "Certificate friendly name", &setup.friendly_name,
                        dispatch(SetupAction::SetFriendlyName)) }
                    { services }
                }
                <div class="actions">
                    <button id="setup-rerun" onclick={on_rerun}>{ "Run the setup again now (new GUID)" }</button>
                </div>
            </div>
            { body }
        </section>
    }
}
