//! The Tokens tab: mint on the left, decode and verify on the right; a freshly minted token
//! goes straight into the decoder, and the decoder's clock ticks every second.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use crate::browser;
use crate::components::decode_card::DecodeCard;
use crate::components::mint_card::MintCard;
use crate::model::credentials::Credentials;
use crate::state::decode::{DecodeAction, DecodeState};
use crate::state::mint::MintState;

/// What [`TokenPanel`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct TokenPanelProps {
    /// The mint state.
    pub mint: UseReducerHandle<MintState>,
    /// The decode state.
    pub decode: UseReducerHandle<DecodeState>,
    /// The certificate in use.
    pub credentials: Option<Rc<Credentials>>,
}

/// The Tokens tab.
#[function_component(TokenPanel)]
pub fn token_panel(props: &TokenPanelProps) -> Html {
    // The live clock of the decoder.
    {
        let decode = props.decode.clone();
        use_effect_with((), move |_| {
            decode.dispatch(DecodeAction::Tick(browser::now_unix_secs()));
            let interval = Interval::new(1000, move || {
                decode.dispatch(DecodeAction::Tick(browser::now_unix_secs()));
            });
            move || drop(interval)
        });
    }
    // A newly minted token is decoded at once (not the one already there when the tab opens).
    let minted = props
        .mint
        .minted
        .as_ref()
        .and_then(|m| m.as_ref().ok())
        .map(|m| m.token.clone());
    let seen = use_mut_ref(|| minted.clone());
    {
        let decode = props.decode.clone();
        use_effect_with(minted, move |minted| {
            if *seen.borrow() != *minted {
                seen.replace(minted.clone());
                if let Some(token) = minted {
                    decode.dispatch(DecodeAction::SetInput(token.clone()));
                }
            }
        });
    }

    html! {
        <section class="panel">
            <div class="grid tokens">
                <MintCard mint={props.mint.clone()} credentials={props.credentials.clone()} />
                <DecodeCard decode={props.decode.clone()} />
            </div>
        </section>
    }
}
