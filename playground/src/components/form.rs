//! Small helpers for form fields (plain functions, not components).

use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// A callback for an `<input>`'s `oninput` that passes its value on.
pub fn input_value(f: impl Fn(String) + 'static) -> Callback<InputEvent> {
    Callback::from(move |e: InputEvent| f(e.target_unchecked_into::<HtmlInputElement>().value()))
}

/// A callback for a `<textarea>`'s `oninput` that passes its value on.
pub fn textarea_value(f: impl Fn(String) + 'static) -> Callback<InputEvent> {
    Callback::from(move |e: InputEvent| f(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
}

/// A callback for a `<select>`'s `onchange` that passes the chosen value on.
pub fn select_value(f: impl Fn(String) + 'static) -> Callback<Event> {
    Callback::from(move |e: Event| f(e.target_unchecked_into::<HtmlSelectElement>().value()))
}

/// A callback for a checkbox's `onchange` that passes whether it is checked.
pub fn checked(f: impl Fn(bool) + 'static) -> Callback<Event> {
    Callback::from(move |e: Event| f(e.target_unchecked_into::<HtmlInputElement>().checked()))
}

/// A labelled one-line text field.
pub fn text_field(id: &str, label: &str, value: &str, oninput: Callback<InputEvent>) -> Html {
    html! {
        <label class="field" for={id.to_owned()}>
            <span class="label">{ label }</span>
            <input id={id.to_owned()} type="text" spellcheck="false" autocomplete="off"
                value={value.to_owned()} {oninput} />
        </label>
    }
}

/// A labelled multi-line text field.
pub fn text_area(
    id: &str,
    label: &str,
    value: &str,
    rows: u32,
    placeholder: &str,
    oninput: Callback<InputEvent>,
) -> Html {
    html! {
        <label class="field" for={id.to_owned()}>
            <span class="label">{ label }</span>
            <textarea id={id.to_owned()} rows={rows.to_string()} spellcheck="false"
                placeholder={placeholder.to_owned()} value={value.to_owned()} {oninput} />
        </label>
    }
}

/// A block of monospaced text with a heading.
pub fn code_block(title: &str, test_id: &str, text: &str) -> Html {
    html! {
        <div class="code">
            <div class="code-title">{ title }</div>
            <pre data-testid={test_id.to_owned()}>{ text }</pre>
        </div>
    }
}

/// A list of error messages (nothing when empty).
pub fn errors(test_id: &str, messages: &[String]) -> Html {
    if messages.is_empty() {
        return Html::default();
    }
    html! {
        <ul class="errors" data-testid={test_id.to_owned()}>
            { for messages.iter().map(|m| html! { <li>{ m }</li> }) }
        </ul>
    }
}
