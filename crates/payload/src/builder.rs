//! The hot path: publish bodies assembled from cached recipient bytes.
//!
//! Subscriptions change rarely; counts change all the time. The builder keeps each
//! subscription's recipient object already serialized, and a build only joins those cached
//! bytes with the few values that change per notification (tenant, count, language, sync
//! type, monitoring flag). Nothing unchanged is serialized again. The output is byte for byte
//! what serde_json writes for the equivalent [`crate::PublishBatch`].

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::{Entry as MapEntry, RandomState};
use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::error::PayloadError;
use crate::types::{BackgroundSyncType, DeviceId, Language, TenantId, UnseenCount};
use crate::wire::{Recipient, splice};

/// One notification to build: the changing values and the keys of its recipients.
#[derive(Debug)]
pub struct NotificationSpec<'a, K> {
    /// The tenant; every spec of one build must name the same tenant.
    pub tenant: TenantId,
    /// The unseen count (0 is left out of the wire form, as serde writes it).
    pub count: UnseenCount,
    /// The mailbox language, if any.
    pub language: Option<&'a Language>,
    /// What the app should fetch in the background.
    pub sync_type: BackgroundSyncType,
    /// Whether this is a monitoring probe.
    pub monitoring: bool,
    /// The recipients, as keys given to [`BatchBuilder::upsert_recipient`].
    pub recipients: &'a [K],
}

impl<K> Clone for NotificationSpec<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for NotificationSpec<'_, K> {}

/// A cached recipient.
struct Slot {
    /// The recipient object as serde_json writes it.
    fragment: Vec<u8>,
    /// Index of its device in `BatchBuilder::devices`.
    device: usize,
}

/// An interned device: how many slots use it, and the last notification it appeared in.
struct Device {
    id: DeviceId,
    users: usize,
    last_seen: u64,
}

/// Builds publish bodies from cached per-subscription bytes; see the module docs.
///
/// `K` is the caller's subscription key. The hasher `S` can be swapped for a faster one when
/// keys are trusted.
///
/// ```
/// use pushproxy_payload::{BatchBuilder, BackgroundSyncType, NotificationSpec, Recipient, UnseenCount};
///
/// let mut builder = BatchBuilder::new();
/// builder.upsert_recipient(7u64, &Recipient::new("com.example.mail".parse()?, "ab12".parse()?));
/// let mut body = Vec::new();
/// builder.build(
///     &[NotificationSpec {
///         tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47".parse()?,
///         count: UnseenCount::new(3)?,
///         language: None,
///         sync_type: BackgroundSyncType::None,
///         monitoring: false,
///         recipients: &[7],
///     }],
///     &mut body,
/// )?;
/// assert_eq!(
///     String::from_utf8_lossy(&body),
///     r#"{"notifications":[{"payload":{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","unseenEmailCount":3},"recipients":[{"appId":"com.example.mail","deviceId":"ab12"}]}]}"#
/// );
/// # Ok::<(), pushproxy_payload::PayloadError>(())
/// ```
pub struct BatchBuilder<K, S = RandomState> {
    keys: HashMap<K, usize, S>,
    slots: Vec<Slot>,
    free_slots: Vec<usize>,
    device_index: HashMap<DeviceId, usize>,
    devices: Vec<Device>,
    free_devices: Vec<usize>,
    /// Incremented per notification built; a device whose `last_seen` equals it is a duplicate.
    stamp: u64,
}

impl<K: Hash + Eq> BatchBuilder<K, RandomState> {
    /// An empty builder.
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }
}

impl<K: Hash + Eq> Default for BatchBuilder<K, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, S> fmt::Debug for BatchBuilder<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("recipients", &self.keys.len())
            .field("devices", &self.device_index.len())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, S: BuildHasher> BatchBuilder<K, S> {
    /// An empty builder using `hasher` for its key map.
    pub fn with_hasher(hasher: S) -> Self {
        Self {
            keys: HashMap::with_hasher(hasher),
            slots: Vec::new(),
            free_slots: Vec::new(),
            device_index: HashMap::new(),
            devices: Vec::new(),
            free_devices: Vec::new(),
            stamp: 0,
        }
    }

    /// How many recipients are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no recipient is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a recipient is held under `key`.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.keys.contains_key(key)
    }

    /// Adds the recipient under `key`, or replaces the one held there; only this recipient's
    /// bytes are serialized.
    pub fn upsert_recipient(&mut self, key: K, recipient: &Recipient) {
        let device = self.acquire_device(&recipient.device_id);
        match self.keys.entry(key) {
            MapEntry::Occupied(held) => {
                let slot = &mut self.slots[*held.get()];
                let previous = std::mem::replace(&mut slot.device, device);
                slot.fragment.clear();
                splice::write_recipient(&mut slot.fragment, recipient);
                self.release_device(previous);
            }
            MapEntry::Vacant(vacant) => {
                let mut fragment = Vec::new();
                splice::write_recipient(&mut fragment, recipient);
                let slot = Slot { fragment, device };
                let index = match self.free_slots.pop() {
                    Some(index) => {
                        self.slots[index] = slot;
                        index
                    }
                    None => {
                        self.slots.push(slot);
                        self.slots.len() - 1
                    }
                };
                vacant.insert(index);
            }
        }
    }

    /// Forgets the recipient under `key`; returns whether one was held.
    pub fn remove_recipient<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(index) = self.keys.remove(key) else {
            return false;
        };
        let slot = &mut self.slots[index];
        slot.fragment = Vec::new();
        let device = slot.device;
        self.free_slots.push(index);
        self.release_device(device);
        true
    }

    /// Appends the publish body for `specs` to `out`.
    ///
    /// Refused, with `out` left as it was, when `specs` is empty, a spec has no recipients,
    /// the tenants differ, a key is not held, or one device appears twice in a spec (two keys
    /// may share a device, as two mailboxes on one phone do, but not within one notification).
    pub fn build(
        &mut self,
        specs: &[NotificationSpec<'_, K>],
        out: &mut Vec<u8>,
    ) -> Result<(), PayloadError> {
        let start = out.len();
        let result = self.build_into(specs, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn build_into(
        &mut self,
        specs: &[NotificationSpec<'_, K>],
        out: &mut Vec<u8>,
    ) -> Result<(), PayloadError> {
        let Some(first) = specs.first() else {
            return Err(PayloadError::EmptyBatch);
        };
        let tenant = first.tenant;
        let tenant_text = splice::tenant_text(tenant);
        out.extend_from_slice(splice::BATCH_OPEN);
        for (index, spec) in specs.iter().enumerate() {
            if spec.tenant != tenant {
                return Err(PayloadError::MixedTenants {
                    notification: index,
                    expected: tenant,
                    found: spec.tenant,
                });
            }
            if spec.recipients.is_empty() {
                return Err(PayloadError::NoRecipients {
                    notification: index,
                });
            }
            if index > 0 {
                out.push(splice::SEPARATOR);
            }
            splice::write_notification_open(
                out,
                &tenant_text,
                spec.count,
                spec.language,
                spec.sync_type,
                spec.monitoring,
            );
            self.stamp += 1;
            for (position, key) in spec.recipients.iter().enumerate() {
                let Some(&slot_index) = self.keys.get(key) else {
                    return Err(PayloadError::UnknownRecipient {
                        notification: index,
                        recipient: position,
                    });
                };
                let slot = &self.slots[slot_index];
                let device = &mut self.devices[slot.device];
                if device.last_seen == self.stamp {
                    return Err(self.duplicate(spec, index, position, slot.device));
                }
                device.last_seen = self.stamp;
                if position > 0 {
                    out.push(splice::SEPARATOR);
                }
                out.extend_from_slice(&slot.fragment);
            }
            out.extend_from_slice(splice::NOTIFICATION_CLOSE);
        }
        out.extend_from_slice(splice::BATCH_CLOSE);
        Ok(())
    }

    /// The error for a device met twice; `second` is the position of the second meeting.
    fn duplicate(
        &self,
        spec: &NotificationSpec<'_, K>,
        notification: usize,
        second: usize,
        device: usize,
    ) -> PayloadError {
        let first = spec.recipients[..second]
            .iter()
            .position(|key| {
                self.keys
                    .get(key)
                    .is_some_and(|&slot| self.slots[slot].device == device)
            })
            .unwrap_or(0);
        PayloadError::DuplicateDevice {
            notification,
            device_id: self.devices[device].id.clone(),
            first,
            second,
        }
    }

    /// The interned index of a device, counting one more user.
    fn acquire_device(&mut self, id: &DeviceId) -> usize {
        if let Some(&index) = self.device_index.get(id) {
            self.devices[index].users += 1;
            return index;
        }
        let device = Device {
            id: id.clone(),
            users: 1,
            last_seen: 0,
        };
        let index = match self.free_devices.pop() {
            Some(index) => {
                self.devices[index] = device;
                index
            }
            None => {
                self.devices.push(device);
                self.devices.len() - 1
            }
        };
        self.device_index.insert(id.clone(), index);
        index
    }

    /// Counts one user fewer of a device, forgetting it when none is left.
    fn release_device(&mut self, index: usize) {
        let device = &mut self.devices[index];
        device.users -= 1;
        if device.users == 0 {
            self.device_index.remove(&device.id);
            self.free_devices.push(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        "72f988bf-86f1-41af-91ab-2d7cd011db47".parse().unwrap()
    }

    fn recipient(device: &str) -> Recipient {
        Recipient::new("com.example.mail".parse().unwrap(), device.parse().unwrap())
    }

    fn spec<'a>(count: u32, recipients: &'a [&'a str]) -> NotificationSpec<'a, &'a str> {
        NotificationSpec {
            tenant: tenant(),
            count: UnseenCount::new(count).unwrap(),
            language: None,
            sync_type: BackgroundSyncType::None,
            monitoring: false,
            recipients,
        }
    }

    fn builder() -> BatchBuilder<&'static str> {
        let mut builder = BatchBuilder::new();
        builder.upsert_recipient("s1", &recipient("dev1"));
        builder.upsert_recipient("s2", &recipient("dev2"));
        builder.upsert_recipient("s3", &recipient("dev1"));
        builder
    }

    #[test]
    fn appends_to_existing_bytes() {
        let mut builder = builder();
        let mut out = b"prefix".to_vec();
        builder.build(&[spec(1, &["s1", "s2"])], &mut out).unwrap();
        assert!(out.starts_with(b"prefix{\"notifications\":["));
        let parsed: crate::PublishBatch = serde_json::from_slice(&out[6..]).unwrap();
        assert_eq!(parsed.recipient_count(), 2);
    }

    #[test]
    fn errors_leave_output_untouched() {
        let mut builder = builder();
        let mut out = b"keep".to_vec();
        assert!(matches!(
            builder.build(&[], &mut out),
            Err(PayloadError::EmptyBatch)
        ));
        assert!(matches!(
            builder.build(&[spec(1, &["s1"]), spec(1, &["s2", "nope"])], &mut out),
            Err(PayloadError::UnknownRecipient {
                notification: 1,
                recipient: 1
            })
        ));
        assert!(matches!(
            builder.build(&[spec(1, &[])], &mut out),
            Err(PayloadError::NoRecipients { notification: 0 })
        ));
        let mut other = spec(1, &["s2"]);
        other.tenant = TenantId::from_u128(1);
        assert!(matches!(
            builder.build(&[spec(1, &["s1"]), other], &mut out),
            Err(PayloadError::MixedTenants {
                notification: 1,
                ..
            })
        ));
        assert_eq!(out, b"keep");
    }

    #[test]
    fn one_device_twice_in_a_notification_is_refused() {
        let mut builder = builder();
        let mut out = Vec::new();
        // s1 and s3 are two subscriptions of the same device.
        match builder.build(&[spec(1, &["s2", "s1", "s3"])], &mut out) {
            Err(PayloadError::DuplicateDevice {
                first: 1,
                second: 2,
                device_id,
                ..
            }) => {
                assert_eq!(device_id.as_str(), "dev1");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            builder.build(&[spec(1, &["s2", "s2"])], &mut out),
            Err(PayloadError::DuplicateDevice {
                first: 0,
                second: 1,
                ..
            })
        ));
        // ...but in separate notifications it is fine.
        builder
            .build(&[spec(1, &["s1"]), spec(2, &["s3"])], &mut out)
            .unwrap();
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut builder = builder();
        assert_eq!(builder.len(), 3);
        builder.upsert_recipient("s3", &recipient("dev3"));
        let mut out = Vec::new();
        builder.build(&[spec(0, &["s1", "s3"])], &mut out).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("\"deviceId\":\"dev3\""));
        assert!(builder.remove_recipient("s1"));
        assert!(!builder.remove_recipient("s1"));
        assert!(!builder.contains("s1"));
        // dev1 is no longer used by anyone; its slot can be reused.
        assert_eq!(builder.device_index.len(), 2);
        builder.upsert_recipient("s4", &recipient("dev4"));
        assert_eq!(builder.len(), 3);
        out.clear();
        builder
            .build(&[spec(5, &["s4", "s2", "s3"])], &mut out)
            .unwrap();
        let parsed: crate::PublishBatch = serde_json::from_slice(&out).unwrap();
        let devices: Vec<&str> = parsed.notifications()[0]
            .recipients()
            .iter()
            .map(|r| r.device_id.as_str())
            .collect();
        assert_eq!(devices, ["dev4", "dev2", "dev3"]);
    }
}
