//! One configuration object, shown in the administrator's list layout or as JSON.

use yew::prelude::*;

use crate::state::setup::Shown;

/// What [`ObjectView`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct ObjectViewProps {
    /// The step, e.g. `Step 2`.
    pub step: AttrValue,
    /// The object's title.
    pub title: AttrValue,
    /// What the object is for.
    pub hint: AttrValue,
    /// A stable name for test ids.
    pub name: AttrValue,
    /// The object.
    pub shown: Shown,
}

/// One configuration object with a switch between its two forms.
#[function_component(ObjectView)]
pub fn object_view(props: &ObjectViewProps) -> Html {
    let as_json = use_state(|| false);
    let switch = |json: bool| {
        let as_json = as_json.clone();
        Callback::from(move |_: MouseEvent| as_json.set(json))
    };
    let (text, form) = if *as_json {
        (&props.shown.json, "json")
    } else {
        (&props.shown.list, "list")
    };
    html! {
        <div class="card object">
            <div class="object-head">
                <h3><span class="step">{ &props.step }</span>{ &props.title }</h3>
                <div class="switch">
                    <button class={classes!((!*as_json).then_some("on"))} onclick={switch(false)}
                        id={format!("{}-list", props.name)}>{ "Format-List" }</button>
                    <button class={classes!(as_json.then_some("on"))} onclick={switch(true)}
                        id={format!("{}-json", props.name)}>{ "JSON" }</button>
                </div>
            </div>
            <p class="hint">{ &props.hint }</p>
            <pre class={classes!("object-text", form)} data-testid={format!("{}-{form}", props.name)}>{ text }</pre>
        </div>
    }
}
