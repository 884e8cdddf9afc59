//! A compact token with its three segments in three colours.

use yew::prelude::*;

/// What [`TokenSegments`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct TokenSegmentsProps {
    /// The token.
    pub token: AttrValue,
    /// The test id of the whole token.
    pub test_id: AttrValue,
}

/// The token as header (red), claims (purple) and signature (blue), split at its dots.
#[function_component(TokenSegments)]
pub fn token_segments(props: &TokenSegmentsProps) -> Html {
    let classes = ["seg-header", "seg-claims", "seg-signature", "seg-extra"];
    let parts: Vec<&str> = props.token.split('.').collect();
    let last = parts.len().saturating_sub(1);
    html! {
        <pre class="token" data-testid={props.test_id.clone()}>
            { for parts.iter().enumerate().map(|(index, part)| html! {
                <>
                    <span class={classes[index.min(3)]}>{ *part }</span>
                    if index < last { <span class="dot-sep">{ "." }</span> }
                </>
            }) }
        </pre>
    }
}
