//! Minting the actor token, the assertion or an outer token.

use std::rc::Rc;

use yew::prelude::*;

use crate::browser;
use crate::components::form::{
    checked, input_value, select_value, text_area, text_field, textarea_value,
};
use crate::components::token_segments::TokenSegments;
use crate::model::credentials::Credentials;
use crate::model::format;
use crate::state::mint::{MintAction, MintState, TokenKind};

/// What [`MintCard`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct MintCardProps {
    /// The mint state.
    pub mint: UseReducerHandle<MintState>,
    /// The certificate in use.
    pub credentials: Option<Rc<Credentials>>,
}

/// Minting tokens.
#[function_component(MintCard)]
pub fn mint_card(props: &MintCardProps) -> Html {
    let mint = &props.mint;
    let field = |make: fn(String) -> MintAction| {
        let mint = mint.clone();
        move |value: String| mint.dispatch(make(value))
    };
    let on_kind = {
        let mint = mint.clone();
        select_value(move |value| {
            if let Some(kind) = TokenKind::ALL.into_iter().find(|k| k.name() == value) {
                mint.dispatch(MintAction::SetKind(kind));
            }
        })
    };
    let on_trusted = {
        let mint = mint.clone();
        checked(move |value| mint.dispatch(MintAction::SetTrustedForDelegation(value)))
    };
    let on_mint = {
        let mint = mint.clone();
        let credentials = props.credentials.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(credentials) = &credentials {
                mint.dispatch(MintAction::Mint {
                    credentials: credentials.clone(),
                    now: browser::now_unix_secs(),
                });
            }
        })
    };

    let result = match &mint.minted {
        None => html! {},
        Some(Err(error)) => html! { <p class="error" data-testid="mint-error">{ error }</p> },
        Some(Ok(minted)) => html! {
            <div class="minted">
                <div class="code-title">
                    { format!("{} · {} bytes · expires {}", minted.kind.label(), minted.token.len(),
                        format::unix_utc(minted.expires_at)) }
                </div>
                <TokenSegments token={AttrValue::from(minted.token.clone())} test_id="minted-token" />
                <p class="hint">{ "It is also in the decoder on the right." }</p>
            </div>
        },
    };

    html! {
        <div class="card">
            <h2>{ "Mint" }</h2>
            <p class="hint">
                { "Signed RS256 with the certificate's key by the token crate; claims in the Microsoft S2S profile (nbf and exp are strings). The push proxy sends the app-only actor token." }
            </p>
            <label class="field" for="mint-kind">
                <span class="label">{ "Token" }</span>
                <select id="mint-kind" onchange={on_kind}>
                    { for TokenKind::ALL.into_iter().map(|kind| html! {
                        <option value={kind.name()} selected={kind == mint.kind}>{ kind.label() }</option>
                    }) }
                </select>
            </label>
            <div class="grid two tight">
                { text_field("mint-tenant", "Tenant id (realm)", &mint.tenant, input_value(field(MintAction::SetTenant))) }
                { text_field("mint-host", "Resource host", &mint.host, input_value(field(MintAction::SetHost))) }
                { text_field("mint-lifetime", "Lifetime (seconds, at most 43200)", &mint.lifetime, input_value(field(MintAction::SetLifetime))) }
                if mint.kind == TokenKind::Actor {
                    <label class="check inline">
                        <input id="mint-trusted" type="checkbox" checked={mint.trusted_for_delegation} onchange={on_trusted} />
                        { "trustedfordelegation" }
                    </label>
                }
            </div>
            if mint.kind == TokenKind::Outer {
                <div class="grid two tight">
                    { text_field("mint-nameid", "User nameid", &mint.user_nameid, input_value(field(MintAction::SetUserNameId))) }
                    { text_field("mint-smtp", "User smtp", &mint.user_smtp, input_value(field(MintAction::SetUserSmtp))) }
                    { text_field("mint-upn", "User upn", &mint.user_upn, input_value(field(MintAction::SetUserUpn))) }
                </div>
                { text_area("mint-extra", "More claims (JSON object)", &mint.extra_claims, 2, "{}",
                    textarea_value(field(MintAction::SetExtraClaims))) }
            }
            <div class="actions">
                <button id="mint-token" class="primary" onclick={on_mint}
                    disabled={props.credentials.is_none()}>{ "Mint now" }</button>
                if props.credentials.is_none() {
                    <span class="muted">{ "Generate or load a certificate first (Certificate tab)." }</span>
                }
            </div>
            { result }
        </div>
    }
}
