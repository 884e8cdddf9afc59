//! Decoding, verifying and sharing any token.

use yew::prelude::*;

use crate::browser;
use crate::components::form::{input_value, text_area, text_field, textarea_value};
use crate::components::token_segments::TokenSegments;
use crate::model::format;
use crate::state::decode::{
    DecodeAction, DecodeState, Inspection, KeySource, TimeStatus, Verdict, share_fragment,
};

/// What [`DecodeCard`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct DecodeCardProps {
    /// The decode state.
    pub decode: UseReducerHandle<DecodeState>,
}

fn time_row(name: &str, test_id: &str, at: i64, now: i64) -> Html {
    let offset = browser::local_offset();
    html! {
        <tr>
            <th>{ name }</th>
            <td data-testid={test_id.to_owned()}>
                { format::unix_utc(at) }
                <span class="muted">{ format!(" · {}", format::unix_local(at, offset)) }</span>
                <span class="relative">{ format!(" · {}", format::relative(at, now)) }</span>
            </td>
        </tr>
    }
}

fn times(inspection: &Inspection, now: i64) -> Html {
    let Some(times) = &inspection.times else {
        return html! {};
    };
    let banner = match times.status {
        TimeStatus::Valid { expires_in } => html! {
            <p class="status good" data-testid="time-status">
                { format!("Valid now: expires in {}.", format::duration_words(expires_in)) }
            </p>
        },
        TimeStatus::Expired { ago } => html! {
            <p class="status bad" data-testid="time-status">
                <strong>{ "Expired" }</strong>
                { format!(" {} ago. Verifiers allow 300 s of clock skew, then refuse it; the issuer must mint a new one.", format::duration_words(ago)) }
            </p>
        },
        TimeStatus::NotYetValid { starts_in } => html! {
            <p class="status bad" data-testid="time-status">
                <strong>{ "Not valid yet" }</strong>
                { format!(": it starts in {}. Check the issuer's clock.", format::duration_words(starts_in)) }
            </p>
        },
    };
    html! {
        <>
            <table class="facts">
                { time_row("nbf (not before)", "token-nbf", times.nbf, now) }
                { time_row("exp (expires)", "token-exp", times.exp, now) }
                <tr>
                    <th>{ "Lifetime" }</th>
                    <td>{ format::duration_words(times.exp - times.nbf) }</td>
                </tr>
            </table>
            { banner }
        </>
    }
}

fn x5t(inspection: &Inspection) -> Html {
    let Some(x5t) = &inspection.x5t else {
        return match inspection.alg.as_deref() {
            Some("none") => html! {},
            _ => {
                html! { <p class="status warn">{ "The header names no certificate (no x5t)." }</p> }
            }
        };
    };
    let matched = match (x5t.matches_current, &x5t.current_hex) {
        (Some(true), _) => html! {
            <span class="good" data-testid="x5t-match">{ "matches the certificate in use" }</span>
        },
        (Some(false), Some(current)) => html! {
            <span class="bad" data-testid="x5t-match">
                { format!("does not match the certificate in use ({current})") }
            </span>
        },
        _ => html! {
            <span class="muted" data-testid="x5t-match">{ "no certificate in use to compare with" }</span>
        },
    };
    html! {
        <table class="facts">
            <tr>
                <th>{ "x5t (base64url)" }</th>
                <td><code data-testid="token-x5t">{ &x5t.base64url }</code></td>
            </tr>
            <tr>
                <th>{ "x5t as hex thumbprint" }</th>
                <td>
                    {
                        match &x5t.hex {
                            Ok(hex) => html! { <code data-testid="token-x5t-hex">{ hex }</code> },
                            Err(error) => html! { <span class="bad">{ error }</span> },
                        }
                    }
                </td>
            </tr>
            <tr>
                <th>{ "Certificate" }</th>
                <td>{ matched }</td>
            </tr>
        </table>
    }
}

fn verdict(verdict: &Verdict) -> Html {
    match verdict {
        Verdict::NoCertificate(text) => html! {
            <p class="status warn" data-testid="verify-result">{ text }</p>
        },
        Verdict::CertificateRefused(text) => html! {
            <p class="status bad" data-testid="verify-result">{ format!("The verifying certificate cannot be used: {text}") }</p>
        },
        Verdict::Valid {
            thumbprint,
            checked,
        } => html! {
            <div class="status good" data-testid="verify-result">
                <strong>{ "Signature verified." }</strong>
                { format!(" Signed by certificate {thumbprint}; checked {checked}.") }
            </div>
        },
        Verdict::Refused { code, message } => html! {
            <div class="status bad" data-testid="verify-result">
                <strong>{ "Refused: " }</strong>
                <code data-testid="verify-code">{ *code }</code>
                <div>{ message }</div>
            </div>
        },
    }
}

/// Decoding, verifying and sharing.
#[function_component(DecodeCard)]
pub fn decode_card(props: &DecodeCardProps) -> Html {
    let decode = &props.decode;
    let share = use_state(|| None::<Result<String, String>>);
    let field = |make: fn(String) -> DecodeAction| {
        let decode = decode.clone();
        move |value: String| decode.dispatch(make(value))
    };
    let on_share = {
        let decode = decode.clone();
        let share = share.clone();
        Callback::from(move |_: MouseEvent| {
            let result = browser::replace_hash(&share_fragment(&decode.token()))
                .map(|()| decode.share_link(&browser::page_url()));
            share.set(Some(result));
        })
    };
    let source = |value: KeySource| {
        let decode = decode.clone();
        Callback::from(move |_: Event| decode.dispatch(DecodeAction::SetSource(value)))
    };
    let inspection = decode.inspect();

    let details = match &inspection {
        None => html! {
            <p class="muted">{ "Paste a token, mint one, or open a shared link." }</p>
        },
        Some(inspection) => {
            let segments = match &inspection.segments {
                Ok(_) => html! {
                    <TokenSegments token={AttrValue::from(decode.token())} test_id="decoded-token" />
                },
                Err(error) => html! { <p class="status bad">{ error }</p> },
            };
            let json = |title: &str, test_id: &str, value: &Result<String, String>| match value {
                Ok(text) => html! {
                    <div class="code">
                        <div class="code-title">{ title }</div>
                        <pre data-testid={test_id.to_owned()}>{ text }</pre>
                    </div>
                },
                Err(error) => html! {
                    <div class="code">
                        <div class="code-title">{ title }</div>
                        <p class="status bad" data-testid={test_id.to_owned()}>{ error }</p>
                    </div>
                },
            };
            let on_actor = inspection.actor_token.clone().map(|token| {
                let decode = decode.clone();
                Callback::from(move |_: MouseEvent| {
                    decode.dispatch(DecodeAction::SetInput(token.clone()));
                })
            });
            html! {
                <>
                    { segments }
                    <div class="legend">
                        <span class="seg-header">{ "header" }</span>
                        <span class="seg-claims">{ "claims" }</span>
                        <span class="seg-signature">
                            { match inspection.signature_bytes {
                                Some(0) => "signature (empty: unsigned)".to_owned(),
                                Some(n) => format!("signature ({n} bytes)"),
                                None => "signature".to_owned(),
                            } }
                        </span>
                    </div>
                    if let Err(error) = &inspection.profile {
                        <p class="status warn" data-testid="profile-error">
                            { format!("Not a token of the S2S profile: {error}") }
                        </p>
                    }
                    <div class="actions">
                        <button id="share-token" onclick={on_share}>{ "Share as a link" }</button>
                        if let Some(on_actor) = on_actor {
                            <button id="decode-actor" onclick={on_actor}>{ "Decode its actor token" }</button>
                        }
                    </div>
                    {
                        match &*share {
                            Some(Ok(link)) => html! {
                                <label class="field">
                                    <span class="label">{ "Link (the token is in the fragment, which is never sent to a server)" }</span>
                                    <input type="text" readonly=true data-testid="share-url" value={link.clone()} />
                                </label>
                            },
                            Some(Err(error)) => html! { <p class="status bad">{ error }</p> },
                            None => html! {},
                        }
                    }
                    <div class="grid two tight">
                        { json("Header", "decoded-header", &inspection.header) }
                        { json("Claims", "decoded-claims", &inspection.claims) }
                    </div>
                    { times(inspection, decode.now) }
                    { x5t(inspection) }
                    <h3>{ "Verify" }</h3>
                    <div class="radios">
                        <label class="check">
                            <input type="radio" name="verify-source" id="verify-current"
                                checked={decode.source == KeySource::Current} onchange={source(KeySource::Current)} />
                            { "with the certificate in use" }
                        </label>
                        <label class="check">
                            <input type="radio" name="verify-source" id="verify-pasted"
                                checked={decode.source == KeySource::Pasted} onchange={source(KeySource::Pasted)} />
                            { "with a pasted certificate" }
                        </label>
                    </div>
                    if decode.source == KeySource::Pasted {
                        { text_area("verify-certificate", "Signer's certificate (PEM or base64 DER)",
                            &decode.pasted_certificate, 4, "-----BEGIN CERTIFICATE-----",
                            textarea_value(field(DecodeAction::SetPastedCertificate))) }
                    }
                    <div class="grid two tight">
                        { text_field("verify-audience", "Expected audience (empty: as in the token)",
                            &decode.expected_audience, input_value(field(DecodeAction::SetExpectedAudience))) }
                        { text_field("verify-issuer", "Expected issuer (empty: as in the token)",
                            &decode.expected_issuer, input_value(field(DecodeAction::SetExpectedIssuer))) }
                    </div>
                    { verdict(&inspection.verdict) }
                </>
            }
        }
    };

    html! {
        <div class="card">
            <h2>{ "Decode and verify" }</h2>
            { text_area("decode-input", "Token", &decode.input, 4, "eyJ0eXAiOiJKV1Qi…",
                textarea_value(field(DecodeAction::SetInput))) }
            { details }
        </div>
    }
}
