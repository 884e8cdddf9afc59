//! The device registry: the phones, as the push service sees them.
//!
//! A device is addressed by (tenant, app id, device id). It is registered the first time a
//! publish names it (the phone subscribed through the cloud) and holds its current badge,
//! when the badge last changed, and the exact APNs request a real delivery of that badge
//! would carry (`POST /3/device/<token>`, the `apns-*` headers and the JSON body).
//!
//! A device can be dead: marked so by an administrator (simulating APNs answering 410
//! `Unregistered` or 400 `BadDeviceToken` / `DeviceTokenNotForTopic`), or found so at
//! registration when its id is not an APNs device token (hex, 16 to 100 bytes) or its app
//! id is not a valid APNs topic. A dead device keeps its last badge and is reported back
//! in every publish that names it, so that the proxy forgets the subscription.

use std::collections::BTreeMap;

use pushproxy_payload::apns::{ApnsRequest, ApnsTopic, CollapseId, DeviceToken};
use pushproxy_payload::wire::DeadReason;
use pushproxy_payload::{AppId, DeviceId, Language, TenantId, UnseenCount};
use serde::{Deserialize, Serialize};

use crate::{CloudError, when};

/// The most devices a registry holds by default.
pub const DEFAULT_MAX_DEVICES: usize = 100_000;

/// The `apns-collapse-id` of badge updates: only the newest count matters, so a newer
/// update replaces an undelivered older one.
pub const BADGE_COLLAPSE_ID: &str = "unseen-count";

/// Where a device is: its tenant, its app and its id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceKey {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The push application.
    pub app_id: AppId,
    /// The device.
    pub device_id: DeviceId,
}

impl DeviceKey {
    /// A device address.
    pub fn new(tenant_id: TenantId, app_id: AppId, device_id: DeviceId) -> Self {
        Self {
            tenant_id,
            app_id,
            device_id,
        }
    }

    /// A device address from text, as a URL carries it.
    ///
    /// # Errors
    /// [`CloudError::InvalidDevice`] naming the part that is malformed.
    pub fn parse(tenant_id: &str, app_id: &str, device_id: &str) -> Result<Self, CloudError> {
        let invalid = |source| CloudError::InvalidDevice { source };
        Ok(Self {
            tenant_id: tenant_id.parse().map_err(invalid)?,
            app_id: app_id.parse().map_err(invalid)?,
            device_id: device_id.parse().map_err(invalid)?,
        })
    }
}

/// Why and since when a device is dead.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dead {
    /// Why.
    pub reason: DeadReason,
    /// Since when (Unix seconds; RFC 3339 on the wire).
    #[serde(with = "when::text")]
    pub at: i64,
}

/// An APNs request as text, for showing and storing: method, path, headers in order, and
/// the exact body.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApnsView {
    /// `POST`.
    pub method: String,
    /// `/3/device/<hex token>`.
    pub path: String,
    /// The `apns-*` headers, in the order they are sent.
    pub headers: Vec<(String, String)>,
    /// The JSON body, byte for byte.
    pub body: String,
}

impl From<&ApnsRequest> for ApnsView {
    fn from(request: &ApnsRequest) -> Self {
        Self {
            method: ApnsRequest::METHOD.to_owned(),
            path: request.path(),
            headers: request
                .headers()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            body: String::from_utf8_lossy(request.body()).into_owned(),
        }
    }
}

/// The APNs badge update for a device, or why APNs would refuse the device.
fn render(key: &DeviceKey, badge: UnseenCount) -> Result<ApnsRequest, DeadReason> {
    let token: DeviceToken = key
        .device_id
        .as_str()
        .parse()
        .map_err(|_| DeadReason::BadDeviceToken)?;
    let topic: ApnsTopic = key
        .app_id
        .as_str()
        .parse()
        .map_err(|_| DeadReason::DeviceTokenNotForTopic)?;
    let collapse: CollapseId = BADGE_COLLAPSE_ID
        .parse()
        .map_err(|_| DeadReason::BadDeviceToken)?;
    ApnsRequest::badge(token, topic, badge)
        .map(|request| request.with_collapse_id(collapse))
        .map_err(|_| DeadReason::BadDeviceToken)
}

/// One device in the registry.
///
/// Serialised with its address, badge, times, dead state and the APNs request as an
/// [`ApnsView`]; reading renders the request again from the address and the badge.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(try_from = "RecordWire", into = "RecordWire")]
pub struct DeviceRecord {
    key: DeviceKey,
    badge: UnseenCount,
    badge_changed_at: i64,
    registered_at: i64,
    last_publish_at: Option<i64>,
    publishes: u64,
    language: Option<Language>,
    dead: Option<Dead>,
    apns: Option<ApnsRequest>,
}

impl DeviceRecord {
    /// A device seen for the first time at `now`, with badge 0. It is dead at once if
    /// APNs would refuse its address.
    fn new(key: DeviceKey, now: i64) -> Self {
        let (apns, dead) = match render(&key, UnseenCount::ZERO) {
            Ok(request) => (Some(request), None),
            Err(reason) => (None, Some(Dead { reason, at: now })),
        };
        Self {
            key,
            badge: UnseenCount::ZERO,
            badge_changed_at: now,
            registered_at: now,
            last_publish_at: None,
            publishes: 0,
            language: None,
            dead,
            apns,
        }
    }

    /// Where it is.
    pub fn key(&self) -> &DeviceKey {
        &self.key
    }

    /// The badge the icon shows.
    pub fn badge(&self) -> UnseenCount {
        self.badge
    }

    /// When the badge last changed (or the device was registered), in Unix seconds.
    pub fn badge_changed_at(&self) -> i64 {
        self.badge_changed_at
    }

    /// When the device was registered (Unix seconds).
    pub fn registered_at(&self) -> i64 {
        self.registered_at
    }

    /// When a publish last reached it (Unix seconds).
    pub fn last_publish_at(&self) -> Option<i64> {
        self.last_publish_at
    }

    /// How many publishes reached it.
    pub fn publishes(&self) -> u64 {
        self.publishes
    }

    /// The mailbox language of the last publish, if it named one.
    pub fn language(&self) -> Option<&Language> {
        self.language.as_ref()
    }

    /// Why and since when it is dead, if it is.
    pub fn dead(&self) -> Option<Dead> {
        self.dead
    }

    /// The APNs request a real delivery of the current badge carries (none if APNs would
    /// refuse the device's address).
    pub fn apns(&self) -> Option<&ApnsRequest> {
        self.apns.as_ref()
    }

    /// Sets the badge from a publish at `now`.
    fn deliver(&mut self, badge: UnseenCount, language: Option<&Language>, now: i64) {
        if badge != self.badge {
            self.badge = badge;
            self.badge_changed_at = now;
        }
        self.last_publish_at = Some(now);
        self.publishes = self.publishes.saturating_add(1);
        if language.is_some() {
            self.language = language.cloned();
        }
        match render(&self.key, badge) {
            Ok(request) => self.apns = Some(request),
            // Only reached if the address were refused, which marked it dead at
            // registration already; keep the record consistent anyway.
            Err(reason) => self.dead = Some(Dead { reason, at: now }),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordWire {
    tenant_id: TenantId,
    app_id: AppId,
    device_id: DeviceId,
    badge: UnseenCount,
    #[serde(with = "when::text")]
    badge_changed_at: i64,
    #[serde(with = "when::text")]
    registered_at: i64,
    #[serde(
        default,
        with = "when::text::option",
        skip_serializing_if = "Option::is_none"
    )]
    last_publish_at: Option<i64>,
    publishes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<Language>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dead: Option<Dead>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apns: Option<ApnsView>,
}

impl From<DeviceRecord> for RecordWire {
    fn from(record: DeviceRecord) -> Self {
        Self {
            apns: record.apns.as_ref().map(ApnsView::from),
            tenant_id: record.key.tenant_id,
            app_id: record.key.app_id,
            device_id: record.key.device_id,
            badge: record.badge,
            badge_changed_at: record.badge_changed_at,
            registered_at: record.registered_at,
            last_publish_at: record.last_publish_at,
            publishes: record.publishes,
            language: record.language,
            dead: record.dead,
        }
    }
}

impl TryFrom<RecordWire> for DeviceRecord {
    type Error = CloudError;

    fn try_from(wire: RecordWire) -> Result<Self, CloudError> {
        let key = DeviceKey::new(wire.tenant_id, wire.app_id, wire.device_id);
        let apns = render(&key, wire.badge).ok();
        if apns.is_none() && wire.dead.is_none() {
            return Err(CloudError::Inconsistent {
                document: "device registry",
                problem: format!(
                    "device {} of app {} is not an APNs address but is not marked dead",
                    key.device_id, key.app_id
                ),
            });
        }
        Ok(Self {
            key,
            badge: wire.badge,
            badge_changed_at: wire.badge_changed_at,
            registered_at: wire.registered_at,
            last_publish_at: wire.last_publish_at,
            publishes: wire.publishes,
            language: wire.language,
            dead: wire.dead,
            apns,
        })
    }
}

/// What a publish did to one recipient.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Delivery {
    /// The badge was set.
    Delivered,
    /// The device is dead.
    Dead(DeadReason),
}

/// Every device the push service knows, by address.
///
/// Serialised as `{"devices":[...]}` in address order.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(try_from = "RegistryWire", into = "RegistryWire")]
pub struct DeviceRegistry {
    devices: BTreeMap<DeviceKey, DeviceRecord>,
}

impl DeviceRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many devices it holds.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// The device at `key`.
    pub fn get(&self, key: &DeviceKey) -> Option<&DeviceRecord> {
        self.devices.get(key)
    }

    /// Whether a device is at `key`.
    pub fn contains(&self, key: &DeviceKey) -> bool {
        self.devices.contains_key(key)
    }

    /// Every device, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &DeviceRecord> {
        self.devices.values()
    }

    /// The devices of one tenant, in address order.
    pub fn of_tenant(&self, tenant_id: TenantId) -> impl Iterator<Item = &DeviceRecord> {
        self.devices
            .values()
            .filter(move |d| d.key.tenant_id == tenant_id)
    }

    /// Marks the device at `key` dead for `reason` at `now`, registering it first if it
    /// is not known yet (as if the phone had subscribed and then been wiped).
    pub(crate) fn mark_dead(
        &mut self,
        key: DeviceKey,
        reason: DeadReason,
        now: i64,
    ) -> &DeviceRecord {
        let record = self
            .devices
            .entry(key.clone())
            .or_insert_with(|| DeviceRecord::new(key, now));
        record.dead = Some(Dead { reason, at: now });
        record
    }

    /// Delivers `badge` to the device at `key` at `now`, registering it if it is new.
    pub(crate) fn deliver(
        &mut self,
        key: &DeviceKey,
        badge: UnseenCount,
        language: Option<&Language>,
        now: i64,
    ) -> Delivery {
        let record = self
            .devices
            .entry(key.clone())
            .or_insert_with(|| DeviceRecord::new(key.clone(), now));
        if let Some(dead) = record.dead {
            return Delivery::Dead(dead.reason);
        }
        record.deliver(badge, language, now);
        match record.dead {
            Some(dead) => Delivery::Dead(dead.reason),
            None => Delivery::Delivered,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryWire {
    devices: Vec<DeviceRecord>,
}

impl From<DeviceRegistry> for RegistryWire {
    fn from(registry: DeviceRegistry) -> Self {
        Self {
            devices: registry.devices.into_values().collect(),
        }
    }
}

impl TryFrom<RegistryWire> for DeviceRegistry {
    type Error = CloudError;

    fn try_from(wire: RegistryWire) -> Result<Self, CloudError> {
        let mut devices = BTreeMap::new();
        for record in wire.devices {
            let key = record.key.clone();
            if devices.insert(key.clone(), record).is_some() {
                return Err(CloudError::Inconsistent {
                    document: "device registry",
                    problem: format!(
                        "device {} of app {} in tenant {} is listed twice",
                        key.device_id, key.app_id, key.tenant_id
                    ),
                });
            }
        }
        Ok(Self { devices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::NOW;
    use proptest::prelude::*;

    pub(crate) const TENANT: &str = "4d2a1b3c-0000-4000-8000-00000000abcd";
    pub(crate) const TOKEN: &str =
        "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b";

    fn key(device: &str) -> DeviceKey {
        DeviceKey::parse(TENANT, "com.example.mail", device).unwrap()
    }

    fn count(n: u32) -> UnseenCount {
        UnseenCount::new(n).unwrap()
    }

    #[test]
    fn a_new_device_is_registered_and_gets_the_badge() {
        let mut registry = DeviceRegistry::new();
        let ja: Language = "ja-JP".parse().unwrap();
        assert_eq!(
            registry.deliver(&key(TOKEN), count(3), Some(&ja), NOW),
            Delivery::Delivered
        );
        let record = registry.get(&key(TOKEN)).unwrap();
        assert_eq!(record.badge(), count(3));
        assert_eq!(
            (record.registered_at(), record.badge_changed_at()),
            (NOW, NOW)
        );
        assert_eq!(record.last_publish_at(), Some(NOW));
        assert_eq!(record.publishes(), 1);
        assert_eq!(record.language(), Some(&ja));
        let apns = ApnsView::from(record.apns().unwrap());
        assert_eq!(apns.path, format!("/3/device/{TOKEN}"));
        assert_eq!(apns.body, r#"{"aps":{"badge":3}}"#);
        assert_eq!(
            apns.headers,
            [
                ("apns-topic".to_owned(), "com.example.mail".to_owned()),
                ("apns-push-type".to_owned(), "alert".to_owned()),
                ("apns-priority".to_owned(), "10".to_owned()),
                ("apns-collapse-id".to_owned(), BADGE_COLLAPSE_ID.to_owned()),
            ]
        );
    }

    #[test]
    fn the_badge_change_time_moves_only_when_the_badge_changes() {
        let mut registry = DeviceRegistry::new();
        registry.deliver(&key(TOKEN), count(3), None, NOW);
        registry.deliver(&key(TOKEN), count(3), None, NOW + 60);
        let record = registry.get(&key(TOKEN)).unwrap();
        assert_eq!(record.badge_changed_at(), NOW);
        assert_eq!(record.last_publish_at(), Some(NOW + 60));
        registry.deliver(&key(TOKEN), count(0), None, NOW + 120);
        let record = registry.get(&key(TOKEN)).unwrap();
        assert_eq!(record.badge_changed_at(), NOW + 120);
        // A clear is sent with the number 0, never left out.
        assert_eq!(record.apns().unwrap().body(), br#"{"aps":{"badge":0}}"#);
        assert_eq!(record.publishes(), 3);
    }

    #[test]
    fn addresses_apns_would_refuse_are_dead_from_the_start() {
        let mut registry = DeviceRegistry::new();
        assert_eq!(
            registry.deliver(&key("not-hex"), count(1), None, NOW),
            Delivery::Dead(DeadReason::BadDeviceToken)
        );
        let short = key("abcd");
        assert_eq!(
            registry.deliver(&short, count(1), None, NOW),
            Delivery::Dead(DeadReason::BadDeviceToken)
        );
        let bad_topic = DeviceKey::parse(TENANT, "com_example", TOKEN).unwrap();
        assert_eq!(
            registry.deliver(&bad_topic, count(1), None, NOW),
            Delivery::Dead(DeadReason::DeviceTokenNotForTopic)
        );
        let record = registry.get(&bad_topic).unwrap();
        assert_eq!(record.badge(), UnseenCount::ZERO);
        assert!(record.apns().is_none());
    }

    #[test]
    fn a_dead_device_keeps_its_badge_and_is_reported() {
        let mut registry = DeviceRegistry::new();
        registry.deliver(&key(TOKEN), count(2), None, NOW);
        let record = registry.mark_dead(key(TOKEN), DeadReason::Unregistered, NOW + 5);
        assert_eq!(
            record.dead(),
            Some(Dead {
                reason: DeadReason::Unregistered,
                at: NOW + 5
            })
        );
        assert_eq!(
            registry.deliver(&key(TOKEN), count(9), None, NOW + 10),
            Delivery::Dead(DeadReason::Unregistered)
        );
        let record = registry.get(&key(TOKEN)).unwrap();
        assert_eq!(record.badge(), count(2));
        assert_eq!(record.publishes(), 1);
    }

    #[test]
    fn marking_an_unknown_device_dead_registers_it() {
        let mut registry = DeviceRegistry::new();
        registry.mark_dead(key(TOKEN), DeadReason::BadDeviceToken, NOW);
        assert_eq!(registry.len(), 1);
        assert_eq!(
            registry.deliver(&key(TOKEN), count(1), None, NOW),
            Delivery::Dead(DeadReason::BadDeviceToken)
        );
    }

    #[test]
    fn malformed_addresses_name_the_part() {
        let error = DeviceKey::parse("nope", "a", "b").unwrap_err();
        assert!(error.to_string().contains("tenant id"), "{error}");
        let error = DeviceKey::parse(TENANT, "a b", "b").unwrap_err();
        assert!(error.to_string().contains("app id"), "{error}");
        let error = DeviceKey::parse(TENANT, "a", "").unwrap_err();
        assert!(error.to_string().contains("device id"), "{error}");
    }

    #[test]
    fn the_registry_round_trips_and_rerenders_requests() {
        let mut registry = DeviceRegistry::new();
        registry.deliver(&key(TOKEN), count(7), Some(&"en-US".parse().unwrap()), NOW);
        registry.deliver(&key("zz"), count(1), None, NOW);
        registry.mark_dead(key(&"ab".repeat(16)), DeadReason::Unregistered, NOW);
        let json = serde_json::to_string(&registry).unwrap();
        assert!(
            json.contains(r#""body":"{\"aps\":{\"badge\":7}}""#),
            "{json}"
        );
        let back: DeviceRegistry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, registry);
        // A stored request that was edited is rendered again from the badge.
        let edited = json.replace(r#"{\"aps\":{\"badge\":7}}"#, r#"{\"aps\":{\"badge\":8}}"#);
        let back: DeviceRegistry = serde_json::from_str(&edited).unwrap();
        assert_eq!(back, registry);
    }

    #[test]
    fn inconsistent_registries_are_refused() {
        let mut registry = DeviceRegistry::new();
        registry.deliver(&key(TOKEN), count(7), None, NOW);
        let mut value = serde_json::to_value(&registry).unwrap();
        let device = value["devices"][0].clone();
        value["devices"].as_array_mut().unwrap().push(device);
        let error = serde_json::from_value::<DeviceRegistry>(value).unwrap_err();
        assert!(error.to_string().contains("listed twice"), "{error}");
        let mut value = serde_json::to_value(&registry).unwrap();
        value["devices"][0]["deviceId"] = "not-hex".into();
        let error = serde_json::from_value::<DeviceRegistry>(value).unwrap_err();
        assert!(error.to_string().contains("not marked dead"), "{error}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn registries_round_trip(
            deliveries in proptest::collection::vec(
                ("[0-9a-f]{32,40}|[!-~]{1,10}", 0u32..=99_999, 0i64..1_000_000, any::<bool>()),
                0..12,
            ),
        ) {
            let mut registry = DeviceRegistry::new();
            for (device, badge, offset, dead) in deliveries {
                let key = key(&device);
                if dead {
                    registry.mark_dead(key, DeadReason::Unregistered, NOW + offset);
                } else {
                    registry.deliver(&key, count(badge), None, NOW + offset);
                }
            }
            let json = serde_json::to_string(&registry).unwrap();
            let back: DeviceRegistry = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &registry);
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
    }
}
