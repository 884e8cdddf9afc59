//! The Flow tab: the whole flow, step by step.

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::browser;
use std::rc::Rc;

use pushproxy_cert::KeySize;

use crate::model::flow_sim::{CloudIdentity, DEVICES, FlowInput, FlowStep, show_offset};
use crate::state::flow::{FlowAction, FlowState};

/// What [`FlowPanel`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct FlowPanelProps {
    /// The flow state.
    pub flow: UseReducerHandle<FlowState>,
}

fn devices(step: Option<&FlowStep>) -> Html {
    let unseen = step.map_or(0, |s| s.unseen);
    html! {
        <div class="stage">
            <div class="mailbox">
                <div class="mailbox-title">{ "Mailbox" }</div>
                <div class="mailbox-count" data-testid="flow-unseen">{ unseen }</div>
                <div class="muted">{ "unseen" }</div>
            </div>
            { for DEVICES.iter().enumerate().map(|(index, (name, _))| {
                let badge = step.and_then(|s| s.badges.get(index).copied().flatten());
                html! {
                    <div class="phone">
                        <div class="screen">
                            <div class="app-icon">
                                { "✉" }
                                {
                                    match badge {
                                        Some(n) if n > 0 => html! {
                                            <span class="bubble" data-testid={format!("badge-{}", name.to_lowercase())}>{ n }</span>
                                        },
                                        Some(_) => html! {
                                            <span class="bubble cleared" data-testid={format!("badge-{}", name.to_lowercase())}>{ "0" }</span>
                                        },
                                        None => html! {},
                                    }
                                }
                            </div>
                        </div>
                        <div class="phone-name">{ *name }</div>
                    </div>
                }
            }) }
        </div>
    }
}

/// The Flow tab.
#[function_component(FlowPanel)]
pub fn flow_panel(props: &FlowPanelProps) -> Html {
    let flow = &props.flow;
    let act = |make: fn() -> FlowAction| {
        let flow = flow.clone();
        Callback::from(move |_: MouseEvent| flow.dispatch(make()))
    };
    let add = |input: FlowInput| {
        let flow = flow.clone();
        Callback::from(move |_: MouseEvent| flow.dispatch(FlowAction::Add(input)))
    };
    let on_reset = {
        let flow = flow.clone();
        Callback::from(move |_: MouseEvent| {
            flow.dispatch(FlowAction::Reset {
                start_ms: browser::now_unix_ms(),
            });
        })
    };
    let script: Vec<&str> = flow.script.iter().map(|i| i.label()).collect();

    // The local cloud's token service makes its signing key once per page, in slices.
    {
        let flow = flow.clone();
        use_effect_with(flow.needs_cloud(), move |needed| {
            if *needed {
                let dispatcher = flow.dispatcher();
                dispatcher.dispatch(FlowAction::CloudPreparing);
                yew::platform::spawn_local(async move {
                    let made = browser::generate_key(KeySize::Bits2048, |_| {})
                        .await
                        .and_then(|(key, mut rng)| {
                            CloudIdentity::new(key, browser::now_local(), &mut rng)
                        });
                    dispatcher.dispatch(match made {
                        Ok(cloud) => FlowAction::CloudReady(Rc::new(cloud)),
                        Err(error) => FlowAction::CloudFailed(error),
                    });
                });
            }
        });
    }

    // Keep the current step in view inside the timeline.
    let timeline = use_node_ref();
    {
        let timeline = timeline.clone();
        use_effect_with((flow.shown, flow.total()), move |_| {
            if let Some(list) = timeline.cast::<HtmlElement>()
                && let Some(current) = list
                    .query_selector("li.current")
                    .ok()
                    .flatten()
                    .and_then(|e| e.dyn_into::<HtmlElement>().ok())
            {
                // The list is positioned, so the step's offset is measured from it.
                let top = current.offset_top();
                let bottom = top + current.offset_height();
                if top < list.scroll_top() || bottom > list.scroll_top() + list.client_height() {
                    list.set_scroll_top((bottom - list.client_height()).max(0));
                }
            }
        });
    }

    let body = match &flow.steps {
        Err(error) => html! { <div class="card empty" data-testid="flow-error">{ error }</div> },
        Ok(steps) => {
            let shown = flow.shown.min(steps.len());
            html! {
                <div class="grid flow">
                    <div class="card">
                        <h3>{ "Now" }</h3>
                        { devices(flow.current()) }
                        if let Some(step) = flow.current() {
                            <p class="now" data-testid="flow-current">
                                <span class={classes!("actor", step.actor.name())}>{ step.actor.name() }</span>
                                { &step.title }
                            </p>
                        }
                        <p class="muted" data-testid="flow-position">
                            { format!("Step {shown} of {}", steps.len()) }
                        </p>
                    </div>
                    <div class="card">
                        <h3>{ "Steps" }</h3>
                        <ol class="timeline" data-testid="flow-steps" ref={timeline.clone()}>
                            { for steps.iter().take(shown).enumerate().map(|(index, step)| {
                                let current = index + 1 == shown;
                                html! {
                                    <li class={classes!(current.then_some("current"))}>
                                        <div class="step-head">
                                            <span class="time">{ show_offset(step.at_ms) }</span>
                                            <span class={classes!("actor", step.actor.name())}>{ step.actor.name() }</span>
                                            <span class="title">{ &step.title }</span>
                                        </div>
                                        if let Some(message) = &step.message {
                                            <details open={current}>
                                                <summary>{ "message" }</summary>
                                                <pre>{ message }</pre>
                                            </details>
                                        }
                                    </li>
                                }
                            }) }
                        </ol>
                    </div>
                </div>
            }
        }
    };

    html! {
        <section class="panel">
            <div class="card">
                <h2>{ "The whole flow" }</h2>
                <p class="hint">
                    { "Mail arrives → the engine coalesces the change → it builds a batch → the proxy exchanges a signed assertion for an access token → it publishes → the push service checks token and batch → APNs → the badge. The proxy side is the real sans-IO engine driven with simulated time (one mailbox, two devices); the cloud side is the local cloud's sans-IO token service and push service, with the certificate of the Certificate tab uploaded as the organisation's credential. Nothing is sent anywhere." }
                </p>
                <div class="actions">
                    <button id="flow-start" onclick={act(|| FlowAction::Start)}>{ "« Start" }</button>
                    <button id="flow-back" onclick={act(|| FlowAction::Back)}>{ "◀ Back" }</button>
                    <button id="flow-next" class="primary" onclick={act(|| FlowAction::Next)}>{ "Next step ▶" }</button>
                    <button id="flow-end" onclick={act(|| FlowAction::End)}>{ "Run to the end »" }</button>
                </div>
                <div class="actions">
                    <span class="muted">{ "Add:" }</span>
                    <button id="flow-add-mail" onclick={add(FlowInput::MailArrives)}>{ FlowInput::MailArrives.label() }</button>
                    <button id="flow-add-read" onclick={add(FlowInput::MailRead)}>{ FlowInput::MailRead.label() }</button>
                    <button id="flow-add-wait" onclick={add(FlowInput::Wait)}>{ FlowInput::Wait.label() }</button>
                    <button id="flow-add-busy" onclick={add(FlowInput::CloudBusy)}>{ FlowInput::CloudBusy.label() }</button>
                    <button id="flow-reset" onclick={on_reset}>{ "Reset" }</button>
                </div>
                <p class="muted script">{ format!("Script: {}", script.join(" → ")) }</p>
            </div>
            { body }
        </section>
    }
}
