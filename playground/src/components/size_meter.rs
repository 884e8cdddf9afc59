//! A size against its limit, as a bar and in words.

use yew::prelude::*;

use crate::state::payload::Measured;

/// What [`SizeMeter`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct SizeMeterProps {
    /// The size and its limit.
    pub measured: Measured,
    /// The test id of the text.
    pub test_id: AttrValue,
}

/// A size against its limit.
#[function_component(SizeMeter)]
pub fn size_meter(props: &SizeMeterProps) -> Html {
    let measured = &props.measured;
    let class = if measured.fits() {
        "meter ok"
    } else {
        "meter over"
    };
    html! {
        <div class={class}>
            <meter min="0" max={measured.limit.to_string()} value={measured.size.min(measured.limit).to_string()}
                high={(measured.limit * 9 / 10).to_string()} optimum="0"></meter>
            <span data-testid={props.test_id.clone()}>{ measured.describe() }</span>
        </div>
    }
}
