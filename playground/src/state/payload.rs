//! The payload view: from an unseen count, a language and the recipients, the publish batch
//! the proxy sends, the APNs request per device and the WNS badge, each with its size
//! against its limit, and the exact rule a value breaks.

use std::rc::Rc;

use pushproxy_payload::apns::{ApnsPayload, ApnsPushType, ApnsRequest, DeviceToken};
use pushproxy_payload::wns::WnsBadge;
use pushproxy_payload::{
    AppId, BackgroundSyncType, DeviceId, Language, Limits, Notification, Payload, PayloadError,
    PublishBatch, Recipient, TenantId, UnseenCount, parse_batch,
};
use serde_json::Value;
use yew::Reducible;

use crate::model::format;

/// The largest WNS notification payload: 5 KB (Microsoft's documented limit for WNS).
pub const WNS_PAYLOAD_LIMIT: usize = 5 * 1024;

/// At most this many devices are shown one by one.
pub const DEVICES_SHOWN: usize = 20;

/// The most generated extra devices.
pub const MAX_EXTRA_DEVICES: usize = 5000;

/// A label for each background sync type.
pub fn sync_label(sync: BackgroundSyncType) -> &'static str {
    match sync {
        BackgroundSyncType::Email => "Email",
        BackgroundSyncType::Calendar => "Calendar",
        BackgroundSyncType::EmailAndCalendar => "Email and calendar",
        _ => "None",
    }
}

/// The payload view's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadState {
    /// The tenant id, as typed.
    pub tenant: String,
    /// The unseen count, as typed.
    pub count: String,
    /// The language tag, as typed (empty: none).
    pub language: String,
    /// The background sync type.
    pub sync: BackgroundSyncType,
    /// Whether the batch is a monitoring probe.
    pub monitoring: bool,
    /// The app id (the APNs topic), as typed.
    pub app_id: String,
    /// One APNs device token per line, as typed.
    pub devices: String,
    /// How many generated devices to add, as typed.
    pub extra_devices: String,
    /// Custom keys beside `aps`, a JSON object as typed (empty: none).
    pub custom: String,
}

impl Default for PayloadState {
    fn default() -> Self {
        Self {
            tenant: "4d2a1b3c-0000-4000-8000-00000000abcd".to_owned(),
            count: "3".to_owned(),
            language: "ja-JP".to_owned(),
            sync: BackgroundSyncType::None,
            monitoring: false,
            app_id: "com.example.mail".to_owned(),
            devices: "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b\na7c3e9f1b5d7092c4e6a8b0d1f3e5c7a9b1d3f5e7c9a0b2d4f6e8a0c2e4a6b8d".to_owned(),
            extra_devices: "0".to_owned(),
            custom: String::new(),
        }
    }
}

/// What can happen in the payload view.
#[derive(Debug)]
pub enum PayloadAction {
    /// The tenant id was edited.
    SetTenant(String),
    /// The count was edited.
    SetCount(String),
    /// The language was edited.
    SetLanguage(String),
    /// A sync type was chosen.
    SetSync(BackgroundSyncType),
    /// The monitoring flag was switched.
    SetMonitoring(bool),
    /// The app id was edited.
    SetAppId(String),
    /// The device list was edited.
    SetDevices(String),
    /// The number of generated devices was edited.
    SetExtraDevices(String),
    /// The custom keys were edited.
    SetCustom(String),
}

/// A size against its limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    /// Bytes.
    pub size: usize,
    /// The limit in bytes.
    pub limit: usize,
}

impl Measured {
    /// Whether the size is within the limit.
    pub fn fits(&self) -> bool {
        self.size <= self.limit
    }

    /// `19 of 4096 bytes (0.5 %)`.
    pub fn describe(&self) -> String {
        format::size_against(self.size, self.limit)
    }
}

/// The publish batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchView {
    /// The body, pretty-printed.
    pub json: String,
    /// The size of the body as sent (compact).
    pub size: Measured,
    /// Why the cloud would refuse it, if it would.
    pub refused: Option<String>,
}

/// One APNs request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApnsView {
    /// `:path`.
    pub path: String,
    /// The `apns-*` headers.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
}

/// One device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    /// The device id as given.
    pub device: String,
    /// Its APNs request, or why there is none.
    pub apns: Result<ApnsView, String>,
}

/// Everything the payload view shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadOutputs {
    /// Values that are not valid, each naming its field.
    pub errors: Vec<String>,
    /// The batch, when the values are valid.
    pub batch: Option<BatchView>,
    /// The APNs body's size against its limit, when the count is valid.
    pub apns_size: Option<Measured>,
    /// Why the APNs body breaks a rule, if it does.
    pub apns_error: Option<String>,
    /// The first devices.
    pub devices: Vec<DeviceView>,
    /// How many more devices there are.
    pub more_devices: usize,
    /// The WNS badge XML and its size, when the count is valid.
    pub wns: Option<(String, Measured)>,
    /// What a Windows device shows for the count.
    pub wns_shows: Option<String>,
}

/// A generated APNs device token (32 bytes of hex), different for each `index`.
pub fn generated_device(index: usize) -> String {
    let mut state = (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d;
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        state ^= state >> 33;
        state = state.wrapping_mul(0xff51_afd7_ed55_8ccd);
        state ^= state >> 29;
        out.push_str(&format!("{state:016x}"));
    }
    out
}

impl PayloadState {
    /// The device ids: the typed ones, then the generated ones.
    fn device_ids(&self) -> Result<Vec<String>, String> {
        let extra: usize = self.extra_devices.trim().parse().map_err(|_| {
            format!(
                "generated devices: `{}` is not a whole number",
                self.extra_devices.trim()
            )
        })?;
        if extra > MAX_EXTRA_DEVICES {
            return Err(format!(
                "generated devices: at most {MAX_EXTRA_DEVICES} can be added here"
            ));
        }
        let mut ids: Vec<String> = self
            .devices
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        ids.extend((0..extra).map(generated_device));
        Ok(ids)
    }

    /// Everything the view shows.
    pub fn outputs(&self) -> PayloadOutputs {
        let mut errors = Vec::new();
        let field = |name: &str, error: PayloadError| format!("{name}: {error}");
        let tenant = self
            .tenant
            .trim()
            .parse::<TenantId>()
            .map_err(|e| errors.push(field("tenant id", e)))
            .ok();
        let count = self
            .count
            .trim()
            .parse::<UnseenCount>()
            .map_err(|e| errors.push(field("unseen count", e)))
            .ok();
        let language = if self.language.trim().is_empty() {
            Some(None)
        } else {
            self.language
                .trim()
                .parse::<Language>()
                .map(Some)
                .map_err(|e| errors.push(field("language", e)))
                .ok()
        };
        let app_id = self
            .app_id
            .trim()
            .parse::<AppId>()
            .map_err(|e| errors.push(field("app id", e)))
            .ok();
        let custom = if self.custom.trim().is_empty() {
            Some(serde_json::Map::new())
        } else {
            serde_json::from_str::<serde_json::Map<String, Value>>(&self.custom)
                .map_err(|e| errors.push(format!("custom keys: not a JSON object: {e}")))
                .ok()
        };
        let ids = self.device_ids().map_err(|e| errors.push(e)).ok();
        let recipients = match (&app_id, &ids) {
            (Some(app_id), Some(ids)) => {
                let mut recipients = Vec::with_capacity(ids.len());
                for (index, id) in ids.iter().enumerate() {
                    match id.parse::<DeviceId>() {
                        Ok(device) => recipients.push(Recipient::new(app_id.clone(), device)),
                        Err(e) => errors.push(format!("device {}: {e}", index + 1)),
                    }
                }
                Some(recipients)
            }
            _ => None,
        };

        // The APNs payload, measured before the request checks its limit.
        let apns_payload = match (count, custom) {
            (Some(count), Some(custom)) => custom
                .into_iter()
                .try_fold(ApnsPayload::badge(count), |payload, (key, value)| {
                    payload.with_custom(key, value)
                })
                .map_err(|e| errors.push(field("custom keys", e)))
                .ok(),
            _ => None,
        };
        let apns_body = apns_payload
            .as_ref()
            .and_then(|payload| serde_json::to_vec(payload).ok());
        let apns_size = apns_body.as_ref().map(|body| Measured {
            size: body.len(),
            limit: ApnsPushType::Alert.body_limit(),
        });

        let mut apns_error = None;
        let mut devices = Vec::new();
        let total = ids.as_ref().map_or(0, Vec::len);
        if let (Some(ids), Some(payload)) = (&ids, &apns_payload) {
            for id in ids.iter().take(DEVICES_SHOWN) {
                let apns = id
                    .parse::<DeviceToken>()
                    .and_then(|token| {
                        ApnsRequest::new(
                            token,
                            self.app_id.trim().parse()?,
                            ApnsPushType::Alert,
                            payload,
                        )
                    })
                    .map(|request| ApnsView {
                        path: request.path(),
                        headers: request
                            .headers()
                            .into_iter()
                            .map(|(name, value)| (name.to_owned(), value))
                            .collect(),
                        body: String::from_utf8_lossy(request.body()).into_owned(),
                    })
                    .map_err(|e| e.to_string());
                if let Err(error) = &apns
                    && apns_error.is_none()
                    && matches!(apns_size, Some(ref s) if !s.fits())
                {
                    apns_error = Some(error.clone());
                }
                devices.push(DeviceView {
                    device: id.clone(),
                    apns,
                });
            }
        }
        if apns_error.is_none()
            && let Some(size) = &apns_size
            && !size.fits()
        {
            apns_error = Some(format!(
                "APNs body is {} bytes; the limit for alert pushes is {} bytes",
                size.size, size.limit
            ));
        }

        let batch = match (tenant, count, language, recipients) {
            (Some(tenant), Some(count), Some(language), Some(recipients)) if errors.is_empty() => {
                Some(self.batch(tenant, count, language, recipients))
            }
            _ => None,
        };

        let wns = count.map(|count| {
            let xml = WnsBadge::new(count).to_xml();
            let size = Measured {
                size: xml.len(),
                limit: WNS_PAYLOAD_LIMIT,
            };
            (xml, size)
        });
        let wns_shows = count.map(|count| match count.get() {
            0 => "no badge (0 clears it)".to_owned(),
            n if n > 99 => "99+".to_owned(),
            n => n.to_string(),
        });

        PayloadOutputs {
            errors,
            batch,
            apns_size,
            apns_error,
            devices,
            more_devices: total.saturating_sub(DEVICES_SHOWN),
            wns,
            wns_shows,
        }
    }

    fn batch(
        &self,
        tenant: TenantId,
        count: UnseenCount,
        language: Option<Language>,
        recipients: Vec<Recipient>,
    ) -> BatchView {
        let mut payload = Payload::new(tenant, count);
        payload.language = language;
        payload.background_sync_type = self.sync;
        payload.is_monitoring = self.monitoring;
        let built = Notification::new(payload, recipients)
            .and_then(|notification| PublishBatch::new(vec![notification]));
        match built {
            Ok(batch) => {
                let body = serde_json::to_vec(&batch).unwrap_or_default();
                let json = format::pretty_json(&body).unwrap_or_else(|e| e);
                // The cloud's own check, with its default limits.
                let refused = parse_batch(&body, &Limits::default())
                    .err()
                    .map(|e| e.to_string());
                BatchView {
                    json,
                    size: Measured {
                        size: body.len(),
                        limit: Limits::default().max_body_bytes,
                    },
                    refused,
                }
            }
            Err(error) => BatchView {
                json: String::new(),
                size: Measured {
                    size: 0,
                    limit: Limits::default().max_body_bytes,
                },
                refused: Some(error.to_string()),
            },
        }
    }
}

impl Reducible for PayloadState {
    type Action = PayloadAction;

    fn reduce(self: Rc<Self>, action: PayloadAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            PayloadAction::SetTenant(value) => next.tenant = value,
            PayloadAction::SetCount(value) => next.count = value,
            PayloadAction::SetLanguage(value) => next.language = value,
            PayloadAction::SetSync(value) => next.sync = value,
            PayloadAction::SetMonitoring(value) => next.monitoring = value,
            PayloadAction::SetAppId(value) => next.app_id = value,
            PayloadAction::SetDevices(value) => next.devices = value,
            PayloadAction::SetExtraDevices(value) => next.extra_devices = value,
            PayloadAction::SetCustom(value) => next.custom = value,
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with(actions: Vec<PayloadAction>) -> PayloadOutputs {
        actions
            .into_iter()
            .fold(Rc::new(PayloadState::default()), |s, a| s.reduce(a))
            .outputs()
    }

    #[test]
    fn the_default_inputs_give_every_payload() {
        let outputs = with(vec![]);
        assert!(outputs.errors.is_empty(), "{:?}", outputs.errors);
        let batch = outputs.batch.unwrap();
        assert_eq!(batch.refused, None);
        assert!(batch.json.contains("\"unseenEmailCount\": 3"));
        assert!(batch.json.contains("\"language\": \"ja-JP\""));
        assert!(!batch.json.contains("isMonitoring"));
        assert!(batch.size.fits());
        assert_eq!(batch.size.limit, 256 * 1024);
        assert_eq!(
            outputs.apns_size.unwrap().size,
            r#"{"aps":{"badge":3}}"#.len()
        );
        assert_eq!(outputs.devices.len(), 2);
        let apns = outputs.devices[0].apns.as_ref().unwrap();
        assert!(apns.path.starts_with("/3/device/5e1f0c2a"));
        assert!(
            apns.headers
                .contains(&("apns-push-type".to_owned(), "alert".to_owned()))
        );
        assert_eq!(apns.body, r#"{"aps":{"badge":3}}"#);
        let (xml, size) = outputs.wns.unwrap();
        assert_eq!(xml, r#"<badge value="3"/>"#);
        assert_eq!(size.size, xml.len());
        assert_eq!(outputs.wns_shows.as_deref(), Some("3"));
    }

    #[test]
    fn zero_is_written_to_devices_and_left_out_of_the_batch() {
        let outputs = with(vec![PayloadAction::SetCount("0".to_owned())]);
        assert!(!outputs.batch.unwrap().json.contains("unseenEmailCount"));
        assert_eq!(
            outputs.devices[0].apns.as_ref().unwrap().body,
            r#"{"aps":{"badge":0}}"#
        );
        assert_eq!(outputs.wns.unwrap().0, r#"<badge value="0"/>"#);
    }

    #[test]
    fn a_large_count_shows_99_plus_on_windows() {
        let outputs = with(vec![PayloadAction::SetCount("120".to_owned())]);
        assert_eq!(outputs.wns_shows.as_deref(), Some("99+"));
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let outputs = with(vec![
            PayloadAction::SetCount("100000".to_owned()),
            PayloadAction::SetLanguage("ja_JP".to_owned()),
            PayloadAction::SetTenant("contoso".to_owned()),
            PayloadAction::SetDevices("ab cd".to_owned()),
        ]);
        assert!(outputs.batch.is_none());
        let joined = outputs.errors.join("\n");
        assert!(
            joined.contains("unseen count: unseen count 100000 is out of range"),
            "{joined}"
        );
        assert!(joined.contains("language:"), "{joined}");
        assert!(joined.contains("tenant id:"), "{joined}");
        assert!(joined.contains("device 1:"), "{joined}");
    }

    #[test]
    fn an_oversized_apns_body_is_refused_with_its_size() {
        let big = format!("{{\"note\": \"{}\"}}", "x".repeat(5000));
        let outputs = with(vec![PayloadAction::SetCustom(big)]);
        let size = outputs.apns_size.unwrap();
        assert!(!size.fits());
        let error = outputs.apns_error.unwrap();
        assert!(error.contains("4096"), "{error}");
        assert!(outputs.devices[0].apns.is_err());
        let with_aps = with(vec![PayloadAction::SetCustom("{\"aps\": 1}".to_owned())]);
        assert!(
            with_aps
                .errors
                .iter()
                .any(|e| e.starts_with("custom keys:"))
        );
    }

    #[test]
    fn too_many_recipients_are_refused_as_the_cloud_would() {
        let outputs = with(vec![PayloadAction::SetExtraDevices("1000".to_owned())]);
        let batch = outputs.batch.unwrap();
        let refused = batch.refused.unwrap();
        assert!(refused.contains("1002"), "{refused}");
        assert_eq!(outputs.devices.len(), DEVICES_SHOWN);
        assert_eq!(outputs.more_devices, 1002 - DEVICES_SHOWN);

        let outputs = with(vec![PayloadAction::SetDevices("aa\naa".to_owned())]);
        assert!(outputs.batch.unwrap().refused.unwrap().contains("aa"));
        let outputs = with(vec![PayloadAction::SetExtraDevices("lots".to_owned())]);
        assert!(outputs.errors[0].starts_with("generated devices:"));
    }

    #[test]
    fn monitoring_and_sync_are_written() {
        let outputs = with(vec![
            PayloadAction::SetMonitoring(true),
            PayloadAction::SetSync(BackgroundSyncType::Email),
            PayloadAction::SetLanguage(String::new()),
        ]);
        let json = outputs.batch.unwrap().json;
        assert!(json.contains("\"isMonitoring\": true"), "{json}");
        assert!(json.contains("backgroundSyncType"), "{json}");
        assert!(!json.contains("language"), "{json}");
    }

    proptest! {
        #[test]
        fn generated_devices_are_valid_and_distinct(a in 0usize..100_000, b in 0usize..100_000) {
            let one = generated_device(a);
            prop_assert!(one.parse::<DeviceToken>().is_ok());
            prop_assert_eq!(one.len(), 64);
            if a != b {
                prop_assert_ne!(one, generated_device(b));
            }
        }

        #[test]
        fn any_count_in_range_gives_a_fitting_badge(count in 0u32..=99_999) {
            let outputs = with(vec![PayloadAction::SetCount(count.to_string())]);
            prop_assert!(outputs.errors.is_empty());
            let size = outputs.apns_size.unwrap();
            prop_assert!(size.fits());
            let expected = format!(r#"{{"aps":{{"badge":{count}}}}}"#);
            prop_assert_eq!(size.size, expected.len());
        }
    }
}
