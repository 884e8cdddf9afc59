//! The Payloads tab: the publish batch, the APNs requests and the WNS badge for a count.

use pushproxy_config::DEFAULT_PUSH_URI;
use pushproxy_payload::BackgroundSyncType;
use pushproxy_payload::apns::ApnsPushType;
use pushproxy_payload::wire::publish_url;
use yew::prelude::*;

use crate::components::form::{
    checked, code_block, errors, input_value, select_value, text_area, text_field, textarea_value,
};
use crate::components::size_meter::SizeMeter;
use crate::state::payload::{
    MAX_EXTRA_DEVICES, PayloadAction, PayloadState, WNS_PAYLOAD_LIMIT, sync_label,
};

/// What [`PayloadPanel`] needs.
#[derive(Properties, PartialEq, Debug)]
pub struct PayloadPanelProps {
    /// The payload state.
    pub payload: UseReducerHandle<PayloadState>,
}

/// The Payloads tab.
#[function_component(PayloadPanel)]
pub fn payload_panel(props: &PayloadPanelProps) -> Html {
    let payload = &props.payload;
    let field = |make: fn(String) -> PayloadAction| {
        let payload = payload.clone();
        move |value: String| payload.dispatch(make(value))
    };
    let on_sync = {
        let payload = payload.clone();
        select_value(move |value| {
            if let Some(sync) = BackgroundSyncType::ALL
                .into_iter()
                .find(|s| sync_label(*s) == value)
            {
                payload.dispatch(PayloadAction::SetSync(sync));
            }
        })
    };
    let on_monitoring = {
        let payload = payload.clone();
        checked(move |value| payload.dispatch(PayloadAction::SetMonitoring(value)))
    };
    let outputs = payload.outputs();

    let batch = match &outputs.batch {
        None => html! {
            <p class="muted">{ "Fix the values above to see the batch." }</p>
        },
        Some(batch) => html! {
            <>
                <SizeMeter measured={batch.size.clone()} test_id="batch-size" />
                if let Some(refused) = &batch.refused {
                    <p class="status bad" data-testid="batch-refused">
                        { format!("The cloud would refuse this batch: {refused}") }
                    </p>
                }
                { code_block(&format!("POST {}", publish_url(DEFAULT_PUSH_URI)), "batch-json", &batch.json) }
            </>
        },
    };

    let apns = html! {
        <>
            if let Some(measured) = outputs.apns_size.clone() {
                <SizeMeter {measured} test_id="apns-size" />
            }
            if let Some(error) = &outputs.apns_error {
                <p class="status bad" data-testid="apns-error">{ error }</p>
            }
            { for outputs.devices.iter().enumerate().map(|(index, device)| {
                let title = format!("Device {}", index + 1);
                match &device.apns {
                    Ok(request) => {
                        let headers: String = request.headers.iter()
                            .map(|(name, value)| format!("{name}: {value}\n"))
                            .collect();
                        code_block(&title, &format!("apns-request-{index}"),
                            &format!("POST {}\n{headers}\n{}", request.path, request.body))
                    }
                    Err(error) => html! {
                        <div class="code">
                            <div class="code-title">{ title }</div>
                            <p class="status bad" data-testid={format!("apns-request-{index}")}>
                                { format!("{}: {error}", device.device) }
                            </p>
                        </div>
                    },
                }
            }) }
            if outputs.more_devices > 0 {
                <p class="muted">{ format!("… and {} more device(s).", outputs.more_devices) }</p>
            }
        </>
    };

    let wns = match (&outputs.wns, &outputs.wns_shows) {
        (Some((xml, measured)), Some(shows)) => html! {
            <>
                <SizeMeter measured={measured.clone()} test_id="wns-size" />
                { code_block("X-WNS-Type: wns/badge · Content-Type: text/xml", "wns-xml", xml) }
                <p class="hint" data-testid="wns-shows">{ format!("A Windows tile shows: {shows}") }</p>
            </>
        },
        _ => html! {},
    };

    html! {
        <section class="panel">
            <div class="card">
                <h2>{ "Payloads" }</h2>
                <p class="hint">
                    { "What the proxy publishes for one mailbox, and what the cloud makes of it for each device. Members holding their default are left out of the batch; the device payloads always carry the badge, 0 included, because APNs leaves an absent badge unchanged." }
                </p>
                <div class="grid three">
                    { text_field("payload-count", "Unseen count (0 to 99999)", &payload.count, input_value(field(PayloadAction::SetCount))) }
                    { text_field("payload-language", "Language (empty: none)", &payload.language, input_value(field(PayloadAction::SetLanguage))) }
                    <label class="field" for="payload-sync">
                        <span class="label">{ "Background sync" }</span>
                        <select id="payload-sync" onchange={on_sync}>
                            { for BackgroundSyncType::ALL.into_iter().map(|sync| html! {
                                <option value={sync_label(sync)} selected={sync == payload.sync}>{ sync_label(sync) }</option>
                            }) }
                        </select>
                    </label>
                    { text_field("payload-tenant", "Tenant id", &payload.tenant, input_value(field(PayloadAction::SetTenant))) }
                    { text_field("payload-app", "App id (APNs topic)", &payload.app_id, input_value(field(PayloadAction::SetAppId))) }
                    { text_field("payload-extra", &format!("Generated extra devices (0 to {MAX_EXTRA_DEVICES})"), &payload.extra_devices, input_value(field(PayloadAction::SetExtraDevices))) }
                </div>
                <div class="grid two">
                    { text_area("payload-devices", "Devices (APNs device tokens in hex, one per line)", &payload.devices, 3, "", textarea_value(field(PayloadAction::SetDevices))) }
                    { text_area("payload-custom", "Custom keys beside aps (JSON object, empty: none)", &payload.custom, 3, "{\"account\": \"user@contoso.com\"}", textarea_value(field(PayloadAction::SetCustom))) }
                </div>
                <label class="check">
                    <input id="payload-monitoring" type="checkbox" checked={payload.monitoring} onchange={on_monitoring} />
                    { "Monitoring probe (isMonitoring: the cloud checks it but reaches no device)" }
                </label>
                { errors("payload-errors", &outputs.errors) }
            </div>
            <div class="grid three outputs">
                <div class="card">
                    <h3>{ "Publish batch (proxy → cloud)" }</h3>
                    { batch }
                </div>
                <div class="card">
                    <h3>{ format!("APNs (cloud → Apple), limit {} bytes", ApnsPushType::Alert.body_limit()) }</h3>
                    { apns }
                </div>
                <div class="card">
                    <h3>{ format!("WNS badge (for comparison), limit {} bytes", WNS_PAYLOAD_LIMIT) }</h3>
                    { wns }
                </div>
            </div>
        </section>
    }
}
