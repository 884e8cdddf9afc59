//! The page: header, privacy note, tabs, and the state every view shares.

use yew::prelude::*;

use crate::browser;
use crate::components::cert_panel::CertPanel;
use crate::components::flow_panel::FlowPanel;
use crate::components::payload_panel::PayloadPanel;
use crate::components::setup_panel::SetupPanel;
use crate::components::tabs::{Tab, Tabs};
use crate::components::token_panel::TokenPanel;
use crate::state::cert::CertState;
use crate::state::decode::{DecodeAction, DecodeState, token_from_fragment};
use crate::state::flow::{FlowAction, FlowState};
use crate::state::mint::MintState;
use crate::state::payload::PayloadState;
use crate::state::setup::{SetupAction, SetupState};

/// The playground.
#[function_component(App)]
pub fn app() -> Html {
    let shared_token = token_from_fragment(&browser::location_hash());
    let tab = use_state(|| {
        if shared_token.is_some() {
            Tab::Tokens
        } else {
            Tab::Certificate
        }
    });
    let cert = use_reducer(CertState::default);
    let setup = use_reducer(|| {
        SetupState::new(
            browser::now_local(),
            browser::random_bytes16().unwrap_or([0x5a; 16]),
        )
    });
    let mint = use_reducer(MintState::default);
    let decode = use_reducer(|| {
        let state = DecodeState::new(browser::now_unix_secs());
        match &shared_token {
            Some(token) => DecodeState {
                input: token.clone(),
                ..state
            },
            None => state,
        }
    });
    let payload = use_reducer(PayloadState::default);
    let flow = use_reducer(|| {
        let seed = browser::random_bytes16()
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .unwrap_or(0);
        FlowState::new(browser::now_unix_ms(), seed)
    });

    // Every view works with the certificate of the Certificate tab.
    {
        let (setup, decode, flow) = (setup.clone(), decode.clone(), flow.clone());
        use_effect_with(cert.credentials.clone(), move |credentials| {
            setup.dispatch(SetupAction::Credentials {
                credentials: credentials.clone(),
                now: browser::now_local(),
            });
            decode.dispatch(DecodeAction::Credentials(credentials.clone()));
            flow.dispatch(FlowAction::Credentials {
                credentials: credentials.clone(),
                start_ms: browser::now_unix_ms(),
            });
        });
    }

    // A shared link opened in this tab while the page is open.
    {
        let (decode, tab) = (decode.clone(), tab.clone());
        use_effect_with((), move |_| {
            let listener = web_sys::window().map(|window| {
                gloo_events::EventListener::new(&window, "hashchange", move |_| {
                    if let Some(token) = token_from_fragment(&browser::location_hash()) {
                        decode.dispatch(DecodeAction::SetInput(token));
                        tab.set(Tab::Tokens);
                    }
                })
            });
            move || drop(listener)
        });
    }

    let on_select = {
        let tab = tab.clone();
        Callback::from(move |chosen: Tab| tab.set(chosen))
    };
    let has_certificate = cert.credentials.is_some();

    html! {
        <div class="page" data-testid="app-ready">
            <header class="top">
                <div class="brand">
                    <h1>{ "pushproxy playground" }</h1>
                    <p class="tagline">
                        { "The OAuth certificate, the setup objects, S2S tokens, push payloads and the whole publish flow of the Exchange push-notification proxy, computed by pushproxy's own Rust crates compiled to WebAssembly." }
                    </p>
                </div>
                <p class="privacy" data-testid="offline-note">
                    <strong>{ "Nothing leaves this page." }</strong>
                    { " Keys, certificates and tokens are made and checked here, in your browser. The page makes no server calls and works offline once loaded; a shared link carries its token in the part after #, which browsers never send to a server." }
                </p>
            </header>
            <Tabs current={*tab} {on_select} {has_certificate} />
            <main>
                {
                    match *tab {
                        Tab::Certificate => html! { <CertPanel cert={cert.clone()} /> },
                        Tab::Setup => html! { <SetupPanel setup={setup.clone()} /> },
                        Tab::Tokens => html! {
                            <TokenPanel mint={mint.clone()} decode={decode.clone()}
                                credentials={cert.credentials.clone()} />
                        },
                        Tab::Payloads => html! { <PayloadPanel payload={payload.clone()} /> },
                        Tab::Flow => html! { <FlowPanel flow={flow.clone()} /> },
                    }
                }
            </main>
            <footer>
                { "pushproxy playground. Everything on this page runs locally; see the project's README for the command line tool and the local cloud." }
            </footer>
        </div>
    }
}
