//! Compact storage for mailboxes and subscriptions.
//!
//! Memory is the design constraint here (the proxy must hold a million subscriptions in a few
//! hundred megabytes), so:
//!
//! - subscriptions live in one slab (a `Vec` of 64-byte slots, a free list, a generation per
//!   slot) and are named by a `u32` index everywhere inside the engine;
//! - the app id, shared by nearly every subscription, is interned (a `u32` per subscription);
//! - the device id and the installation id share one boxed string (one allocation, one length);
//! - the subscription time is kept as seconds and nanoseconds (12 bytes, no allocation);
//! - a mailbox's subscriptions form a singly linked list and a tenant's queues doubly linked
//!   lists threaded through the slots, so they cost three `u32` links per subscription and
//!   nothing per event;
//! - the lookup by device is a `hashbrown::HashTable<u32>`: 4 bytes per entry plus its
//!   control byte, hashing the device id stored in the slab instead of a second copy.

use core::hash::BuildHasher;
use core::mem::size_of;
use std::collections::HashMap;
use std::hash::RandomState;

use hashbrown::HashTable;
use pushproxy_payload::{
    AppId, DeviceId, InstallationId, Recipient, Timestamp as SubscriptionTime,
};

use crate::error::EngineError;
use crate::ids::{MailboxHandle, SubscriptionHandle};
use crate::time::Timestamp;

/// "No entry" in a `u32` link.
pub(crate) const NIL: u32 = u32::MAX;

/// The most entries of one kind: indexes are `u32` and `u32::MAX` is [`NIL`].
const MAX_ENTRIES: usize = (u32::MAX - 1) as usize;

/// Which of its tenant's lists a subscription is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queue {
    /// Not waiting to be published.
    None,
    /// In the tenant's pending list, ordered by the time it was queued.
    Pending,
    /// In the tenant's overflow list: changed, but the pending list was full.
    Overflow,
}

/// `lastSubscriptionUpdate` without an allocation: Unix seconds (high and low halves, so the
/// slot needs only 4-byte alignment here) and nanoseconds; `nanos == u32::MAX` means absent.
#[derive(Clone, Copy, Debug)]
struct PackedTime {
    secs_hi: u32,
    secs_lo: u32,
    nanos: u32,
}

impl PackedTime {
    const NONE: Self = Self {
        secs_hi: 0,
        secs_lo: 0,
        nanos: u32::MAX,
    };

    fn pack(time: Option<SubscriptionTime>) -> Self {
        let Some(time) = time else { return Self::NONE };
        let at = time.as_datetime();
        let secs = at.unix_timestamp();
        Self {
            secs_hi: ((secs as u64) >> 32) as u32,
            secs_lo: secs as u64 as u32,
            nanos: at.nanosecond(),
        }
    }

    fn unpack(self) -> Option<SubscriptionTime> {
        if self.nanos == u32::MAX {
            return None;
        }
        let secs = ((u64::from(self.secs_hi) << 32) | u64::from(self.secs_lo)) as i64;
        let nanos = i128::from(secs) * 1_000_000_000 + i128::from(self.nanos);
        // Both steps only fail outside years 0..=9999, and the value was packed from a
        // timestamp inside them.
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
        SubscriptionTime::from_datetime(at).ok()
    }
}

/// One slot of the subscription slab (64 bytes). A free slot has `mailbox == NIL`.
#[derive(Debug)]
pub(crate) struct Sub {
    /// The device id followed by the installation id (empty when there is none: a present
    /// installation id is never empty).
    ids: Box<str>,
    /// When the subscription entered its current queue.
    pub(crate) queued_at: Timestamp,
    updated: PackedTime,
    pub(crate) mailbox: u32,
    app: u32,
    /// Next subscription of the same mailbox.
    mb_next: u32,
    q_prev: u32,
    q_next: u32,
    generation: u32,
    /// Length of the device id at the start of `ids`.
    device_len: u16,
    pub(crate) queue: Queue,
    /// Part of a batch that is being sent or waiting to be retried.
    pub(crate) in_flight: bool,
}

impl Sub {
    pub(crate) fn device_id(&self) -> &str {
        &self.ids[..usize::from(self.device_len)]
    }

    pub(crate) fn installation_id(&self) -> Option<&str> {
        let rest = &self.ids[usize::from(self.device_len)..];
        (!rest.is_empty()).then_some(rest)
    }

    fn is_free(&self) -> bool {
        self.mailbox == NIL
    }
}

/// One mailbox (16 bytes). A free slot has `tenant == NIL`.
#[derive(Debug)]
pub(crate) struct Mailbox {
    pub(crate) tenant: u32,
    pub(crate) unseen: u32,
    /// First subscription of the mailbox's list, or [`NIL`].
    head: u32,
    generation: u32,
}

/// A doubly linked list of subscriptions threaded through their queue links.
#[derive(Clone, Copy, Debug)]
pub(crate) struct List {
    head: u32,
    tail: u32,
    len: usize,
}

impl List {
    pub(crate) const EMPTY: Self = Self {
        head: NIL,
        tail: NIL,
        len: 0,
    };

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn head(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }
}

#[derive(Debug)]
struct AppEntry {
    id: AppId,
    refs: u32,
}

/// Every mailbox and subscription of the engine, with the lookup by device.
#[derive(Debug)]
pub(crate) struct Store {
    subs: Vec<Sub>,
    free_subs: Vec<u32>,
    live_subs: usize,
    /// Bytes held by the `ids` strings (their lengths; the allocator adds a little).
    ids_bytes: usize,
    mailboxes: Vec<Mailbox>,
    free_mailboxes: Vec<u32>,
    live_mailboxes: usize,
    by_device: HashTable<u32>,
    hasher: RandomState,
    apps: Vec<Option<AppEntry>>,
    free_apps: Vec<u32>,
    app_index: HashMap<AppId, u32>,
}

impl Store {
    pub(crate) fn new() -> Self {
        Self {
            subs: Vec::new(),
            free_subs: Vec::new(),
            live_subs: 0,
            ids_bytes: 0,
            mailboxes: Vec::new(),
            free_mailboxes: Vec::new(),
            live_mailboxes: 0,
            by_device: HashTable::new(),
            hasher: RandomState::new(),
            apps: Vec::new(),
            free_apps: Vec::new(),
            app_index: HashMap::new(),
        }
    }

    /// Makes room for `additional` more subscriptions without growing the tables again.
    pub(crate) fn reserve_subscriptions(&mut self, additional: usize) {
        let spare = self.subs.capacity() - self.subs.len() + self.free_subs.len();
        self.subs.reserve_exact(additional.saturating_sub(spare));
        let Self {
            by_device,
            hasher,
            subs,
            mailboxes,
            ..
        } = self;
        by_device.reserve(additional, |&index| rehash(hasher, subs, mailboxes, index));
    }

    /// Makes room for `additional` more mailboxes.
    pub(crate) fn reserve_mailboxes(&mut self, additional: usize) {
        let spare = self.mailboxes.capacity() - self.mailboxes.len() + self.free_mailboxes.len();
        self.mailboxes
            .reserve_exact(additional.saturating_sub(spare));
    }

    pub(crate) fn subscription_count(&self) -> usize {
        self.live_subs
    }

    pub(crate) fn mailbox_count(&self) -> usize {
        self.live_mailboxes
    }

    // ---- mailboxes ----

    pub(crate) fn insert_mailbox(
        &mut self,
        tenant: u32,
        unseen: u32,
    ) -> Result<MailboxHandle, EngineError> {
        let index = match self.free_mailboxes.pop() {
            Some(index) => index,
            None => {
                if self.mailboxes.len() >= MAX_ENTRIES {
                    return Err(EngineError::Capacity {
                        what: "mailboxes",
                        limit: MAX_ENTRIES,
                    });
                }
                self.mailboxes.push(Mailbox {
                    tenant: NIL,
                    unseen: 0,
                    head: NIL,
                    generation: 0,
                });
                (self.mailboxes.len() - 1) as u32
            }
        };
        let mailbox = &mut self.mailboxes[index as usize];
        mailbox.tenant = tenant;
        mailbox.unseen = unseen;
        mailbox.head = NIL;
        self.live_mailboxes += 1;
        Ok(MailboxHandle {
            index,
            generation: mailbox.generation,
        })
    }

    pub(crate) fn mailbox_index(&self, handle: MailboxHandle) -> Result<u32, EngineError> {
        match self.mailboxes.get(handle.index as usize) {
            Some(m) if m.generation == handle.generation && m.tenant != NIL => Ok(handle.index),
            _ => Err(EngineError::UnknownMailbox(handle)),
        }
    }

    pub(crate) fn mailbox_handle(&self, index: u32) -> MailboxHandle {
        MailboxHandle {
            index,
            generation: self.mailboxes[index as usize].generation,
        }
    }

    /// The mailbox at an index known to be live: every mailbox index stored inside the engine
    /// names a live mailbox, because a mailbox is removed only after its subscriptions.
    pub(crate) fn mailbox(&self, index: u32) -> &Mailbox {
        &self.mailboxes[index as usize]
    }

    pub(crate) fn set_unseen(&mut self, index: u32, unseen: u32) {
        self.mailboxes[index as usize].unseen = unseen;
    }

    /// The first subscription of a mailbox's list.
    pub(crate) fn mailbox_head(&self, index: u32) -> Option<u32> {
        let head = self.mailboxes[index as usize].head;
        (head != NIL).then_some(head)
    }

    /// The subscription after `index` in its mailbox's list.
    pub(crate) fn mailbox_next(&self, index: u32) -> Option<u32> {
        let next = self.subs[index as usize].mb_next;
        (next != NIL).then_some(next)
    }

    /// The subscriptions of a mailbox, newest first.
    pub(crate) fn mailbox_members(&self, index: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = self.mailboxes[index as usize].head;
        while at != NIL {
            out.push(at);
            at = self.subs[at as usize].mb_next;
        }
        out
    }

    /// Removes a mailbox that has no subscriptions left.
    pub(crate) fn remove_mailbox(&mut self, index: u32) {
        let mailbox = &mut self.mailboxes[index as usize];
        debug_assert_eq!(mailbox.head, NIL);
        mailbox.tenant = NIL;
        mailbox.generation = mailbox.generation.wrapping_add(1);
        self.free_mailboxes.push(index);
        self.live_mailboxes -= 1;
    }

    fn link_mailbox(&mut self, m: u32, index: u32) {
        let mailbox = &mut self.mailboxes[m as usize];
        let sub = &mut self.subs[index as usize];
        sub.mailbox = m;
        sub.mb_next = mailbox.head;
        mailbox.head = index;
    }

    /// Takes `index` out of its mailbox's list: a walk from the head, over the few devices
    /// one mailbox has.
    fn unlink_mailbox(&mut self, index: u32) {
        let m = self.subs[index as usize].mailbox;
        let next = self.subs[index as usize].mb_next;
        let mailbox = &mut self.mailboxes[m as usize];
        if mailbox.head == index {
            mailbox.head = next;
        } else {
            let mut at = mailbox.head;
            while at != NIL {
                let sub = &mut self.subs[at as usize];
                if sub.mb_next == index {
                    sub.mb_next = next;
                    break;
                }
                at = sub.mb_next;
            }
        }
        self.subs[index as usize].mb_next = NIL;
    }

    // ---- subscriptions ----

    fn hash(&self, tenant: u32, device: &str) -> u64 {
        self.hasher.hash_one((tenant, device))
    }

    /// The slot index of a live handle.
    pub(crate) fn sub_index(&self, handle: SubscriptionHandle) -> Option<u32> {
        let sub = self.subs.get(handle.index as usize)?;
        (sub.generation == handle.generation && !sub.is_free()).then_some(handle.index)
    }

    pub(crate) fn sub_handle(&self, index: u32) -> SubscriptionHandle {
        SubscriptionHandle {
            index,
            generation: self.subs[index as usize].generation,
        }
    }

    /// Whether `index` holds a subscription of this `generation`.
    pub(crate) fn is_live(&self, index: u32, generation: u32) -> bool {
        self.subs
            .get(index as usize)
            .is_some_and(|sub| sub.generation == generation && !sub.is_free())
    }

    /// The subscription at a slot index known to be live: every subscription index stored
    /// inside the engine (list links, the device lookup) names a live slot, because removal
    /// unlinks it from all of them first; flight members are checked with [`Self::is_live`].
    pub(crate) fn sub(&self, index: u32) -> &Sub {
        let sub = &self.subs[index as usize];
        debug_assert!(!sub.is_free(), "engine index {index} names a free slot");
        sub
    }

    /// The tenant of a live subscription.
    pub(crate) fn tenant_of(&self, index: u32) -> u32 {
        self.mailboxes[self.subs[index as usize].mailbox as usize].tenant
    }

    pub(crate) fn set_in_flight(&mut self, index: u32, in_flight: bool) {
        self.subs[index as usize].in_flight = in_flight;
    }

    /// The subscription of `tenant` for this device, if any.
    pub(crate) fn find(&self, tenant: u32, device: &str) -> Option<u32> {
        let hash = self.hash(tenant, device);
        self.by_device
            .find(hash, |&index| {
                let sub = &self.subs[index as usize];
                sub.device_id() == device && self.mailboxes[sub.mailbox as usize].tenant == tenant
            })
            .copied()
    }

    fn intern_app(&mut self, id: &AppId) -> Result<u32, EngineError> {
        if let Some(&index) = self.app_index.get(id) {
            if let Some(entry) = &mut self.apps[index as usize] {
                entry.refs += 1;
            }
            return Ok(index);
        }
        let entry = AppEntry {
            id: id.clone(),
            refs: 1,
        };
        let index = match self.free_apps.pop() {
            Some(index) => {
                self.apps[index as usize] = Some(entry);
                index
            }
            None => {
                if self.apps.len() >= MAX_ENTRIES {
                    return Err(EngineError::Capacity {
                        what: "app ids",
                        limit: MAX_ENTRIES,
                    });
                }
                self.apps.push(Some(entry));
                (self.apps.len() - 1) as u32
            }
        };
        self.app_index.insert(id.clone(), index);
        Ok(index)
    }

    fn release_app(&mut self, index: u32) {
        let slot = &mut self.apps[index as usize];
        let Some(entry) = slot else { return };
        entry.refs -= 1;
        if entry.refs == 0 {
            if let Some(entry) = slot.take() {
                self.app_index.remove(&entry.id);
            }
            self.free_apps.push(index);
        }
    }

    /// Adds a subscription of mailbox `m` (the caller checked that its tenant has none for
    /// this device) and returns its slot index. It is on no queue yet.
    pub(crate) fn insert_sub(&mut self, m: u32, recipient: &Recipient) -> Result<u32, EngineError> {
        if self.free_subs.is_empty() && self.subs.len() >= MAX_ENTRIES {
            return Err(EngineError::Capacity {
                what: "subscriptions",
                limit: MAX_ENTRIES,
            });
        }
        let app = self.intern_app(&recipient.app_id)?;
        let (ids, device_len) = pack_ids(&recipient.device_id, recipient.installation_id.as_ref());
        self.ids_bytes += ids.len();
        let index = match self.free_subs.pop() {
            Some(index) => index,
            None => {
                self.subs.push(Sub {
                    ids: Box::default(),
                    queued_at: Timestamp::ZERO,
                    updated: PackedTime::NONE,
                    mailbox: NIL,
                    app: 0,
                    mb_next: NIL,
                    q_prev: NIL,
                    q_next: NIL,
                    generation: 0,
                    device_len: 0,
                    queue: Queue::None,
                    in_flight: false,
                });
                (self.subs.len() - 1) as u32
            }
        };
        {
            let sub = &mut self.subs[index as usize];
            sub.ids = ids;
            sub.device_len = device_len;
            sub.app = app;
            sub.updated = PackedTime::pack(recipient.last_subscription_update);
            sub.queue = Queue::None;
            sub.in_flight = false;
        }
        self.link_mailbox(m, index);
        let hash = self.hash(
            self.mailboxes[m as usize].tenant,
            recipient.device_id.as_str(),
        );
        let Self {
            by_device,
            hasher,
            subs,
            mailboxes,
            ..
        } = self;
        by_device.insert_unique(hash, index, |&other| rehash(hasher, subs, mailboxes, other));
        self.live_subs += 1;
        Ok(index)
    }

    /// A re-subscription: replaces the app, the installation and the time, and moves the
    /// subscription to mailbox `m` (of the same tenant). The device id (the key) stays.
    pub(crate) fn refresh_sub(
        &mut self,
        index: u32,
        m: u32,
        recipient: &Recipient,
    ) -> Result<(), EngineError> {
        let new_app = self.intern_app(&recipient.app_id)?;
        let old_app = self.subs[index as usize].app;
        self.release_app(old_app);
        let (ids, device_len) = pack_ids(&recipient.device_id, recipient.installation_id.as_ref());
        if self.subs[index as usize].mailbox != m {
            self.unlink_mailbox(index);
            self.link_mailbox(m, index);
        }
        let sub = &mut self.subs[index as usize];
        self.ids_bytes = self.ids_bytes - sub.ids.len() + ids.len();
        sub.app = new_app;
        sub.ids = ids;
        sub.device_len = device_len;
        sub.updated = PackedTime::pack(recipient.last_subscription_update);
        Ok(())
    }

    /// Removes a subscription that is on no queue.
    pub(crate) fn remove_sub(&mut self, index: u32) {
        debug_assert_eq!(self.subs[index as usize].queue, Queue::None);
        let hash = self.hash(self.tenant_of(index), self.subs[index as usize].device_id());
        if let Ok(entry) = self.by_device.find_entry(hash, |&other| other == index) {
            entry.remove();
        }
        self.unlink_mailbox(index);
        let sub = &mut self.subs[index as usize];
        let ids = core::mem::take(&mut sub.ids);
        let app = sub.app;
        sub.mailbox = NIL;
        sub.device_len = 0;
        sub.in_flight = false;
        sub.generation = sub.generation.wrapping_add(1);
        self.free_subs.push(index);
        self.live_subs -= 1;
        self.ids_bytes -= ids.len();
        self.release_app(app);
    }

    /// The recipient as the wire carries it.
    pub(crate) fn recipient(&self, index: u32) -> Recipient {
        let sub = &self.subs[index as usize];
        let app_id = match &self.apps[sub.app as usize] {
            Some(entry) => entry.id.clone(),
            None => unreachable!("a live subscription holds a reference to its app id"),
        };
        Recipient {
            app_id,
            device_id: restore(sub.device_id()),
            installation_id: sub.installation_id().map(restore),
            last_subscription_update: sub.updated.unpack(),
        }
    }

    // ---- the queue lists ----

    /// Appends `index` (on no queue) to `list`, which is its tenant's list of kind `queue`.
    pub(crate) fn queue_push_back(
        &mut self,
        list: &mut List,
        queue: Queue,
        index: u32,
        now: Timestamp,
    ) {
        let tail = list.tail;
        {
            let sub = &mut self.subs[index as usize];
            debug_assert_eq!(sub.queue, Queue::None);
            sub.queue = queue;
            sub.queued_at = now;
            sub.q_prev = tail;
            sub.q_next = NIL;
        }
        if tail == NIL {
            list.head = index;
        } else {
            self.subs[tail as usize].q_next = index;
        }
        list.tail = index;
        list.len += 1;
    }

    /// Takes `index` out of `list`, the list it is on.
    pub(crate) fn queue_unlink(&mut self, list: &mut List, index: u32) {
        let (prev, next) = {
            let sub = &mut self.subs[index as usize];
            let links = (sub.q_prev, sub.q_next);
            sub.q_prev = NIL;
            sub.q_next = NIL;
            sub.queue = Queue::None;
            links
        };
        if prev == NIL {
            list.head = next;
        } else {
            self.subs[prev as usize].q_next = next;
        }
        if next == NIL {
            list.tail = prev;
        } else {
            self.subs[next as usize].q_prev = prev;
        }
        list.len -= 1;
    }

    /// The entry after `index` on its queue.
    pub(crate) fn queue_next(&self, index: u32) -> Option<u32> {
        let next = self.subs[index as usize].q_next;
        (next != NIL).then_some(next)
    }

    /// Bytes held, counting vector capacities, the hash table and the id strings.
    pub(crate) fn memory_bytes(&self) -> usize {
        let apps: usize = self
            .apps
            .iter()
            .flatten()
            .map(|entry| 2 * entry.id.as_str().len() + 2 * size_of::<AppEntry>())
            .sum();
        self.subs.capacity() * size_of::<Sub>()
            + self.free_subs.capacity() * size_of::<u32>()
            // Each id string is its own allocation: the allocator rounds it up and keeps some
            // bookkeeping, about 16 bytes on common allocators.
            + self.ids_bytes
            + self.live_subs * 16
            + self.by_device.allocation_size()
            + self.mailboxes.capacity() * size_of::<Mailbox>()
            + self.free_mailboxes.capacity() * size_of::<u32>()
            + apps
            + self.apps.capacity() * size_of::<Option<AppEntry>>()
    }
}

/// The lookup hash of the subscription at `index`, for the table to move it when it grows.
fn rehash(hasher: &RandomState, subs: &[Sub], mailboxes: &[Mailbox], index: u32) -> u64 {
    let sub = &subs[index as usize];
    hasher.hash_one((mailboxes[sub.mailbox as usize].tenant, sub.device_id()))
}

/// The device id followed by the installation id, in one allocation.
fn pack_ids(device: &DeviceId, installation: Option<&InstallationId>) -> (Box<str>, u16) {
    let device = device.as_str();
    let installation = installation.map_or("", InstallationId::as_str);
    let mut ids = String::with_capacity(device.len() + installation.len());
    ids.push_str(device);
    ids.push_str(installation);
    // A device id is at most DeviceId::MAX_LEN (512) bytes, well inside u16.
    let device_len = u16::try_from(device.len()).unwrap_or(u16::MAX);
    (ids.into_boxed_str(), device_len)
}

/// Rebuilds a validated id from the text it was stored from.
///
/// The text was taken from a value of the same type, which only exists if the text passed the
/// same check; so the parse cannot fail.
fn restore<T: core::str::FromStr>(text: &str) -> T
where
    T::Err: core::fmt::Debug,
{
    match text.parse() {
        Ok(value) => value,
        Err(error) => unreachable!("stored id {text:?} no longer parses: {error:?}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn recipient(device: &str, installation: Option<&str>) -> Recipient {
        let mut r = Recipient::new("com.example.mail".parse().unwrap(), device.parse().unwrap());
        r.installation_id = installation.map(|i| i.parse().unwrap());
        r
    }

    fn store_with_mailboxes(n: u32) -> (Store, Vec<u32>) {
        let mut store = Store::new();
        let ms = (0..n)
            .map(|t| store.insert_mailbox(t, 0).unwrap().index)
            .collect();
        (store, ms)
    }

    #[test]
    fn slots_stay_small() {
        assert_eq!(size_of::<Sub>(), 64);
        assert_eq!(size_of::<Mailbox>(), 16);
    }

    #[test]
    fn ids_round_trip_through_the_packed_string() {
        let (mut store, ms) = store_with_mailboxes(2);
        let with = recipient("abcd", Some("inst-1"));
        let mut without = recipient("ef01", None);
        without.last_subscription_update = Some("2024-05-01T09:30:00.123456789Z".parse().unwrap());
        let a = store.insert_sub(ms[0], &with).unwrap();
        let b = store.insert_sub(ms[0], &without).unwrap();
        assert_eq!(store.recipient(a), with);
        assert_eq!(store.recipient(b), without);
        assert_eq!(store.find(0, "abcd"), Some(a));
        assert_eq!(store.find(1, "abcd"), None, "the lookup is per tenant");
        assert_eq!(store.find(0, "abc"), None);
        let c = store.insert_sub(ms[1], &with).unwrap();
        assert_eq!(
            store.find(1, "abcd"),
            Some(c),
            "the same device in another tenant"
        );
    }

    #[test]
    fn removed_slots_are_reused_with_a_new_generation() {
        let (mut store, ms) = store_with_mailboxes(1);
        let a = store.insert_sub(ms[0], &recipient("aa", None)).unwrap();
        let old = store.sub_handle(a);
        store.remove_sub(a);
        assert_eq!(store.sub_index(old), None);
        assert_eq!(store.find(0, "aa"), None);
        let b = store.insert_sub(ms[0], &recipient("bb", None)).unwrap();
        assert_eq!(a, b, "the slot is reused");
        assert_eq!(store.sub_index(old), None, "the old handle stays dead");
        assert_eq!(store.sub_index(store.sub_handle(b)), Some(b));
        assert_eq!(store.subscription_count(), 1);
    }

    #[test]
    fn app_ids_are_interned_and_released() {
        let (mut store, ms) = store_with_mailboxes(1);
        let a = store.insert_sub(ms[0], &recipient("aa", None)).unwrap();
        let b = store.insert_sub(ms[0], &recipient("bb", None)).unwrap();
        assert_eq!(store.sub(a).app, store.sub(b).app);
        assert_eq!(store.app_index.len(), 1);
        store.remove_sub(a);
        assert_eq!(store.app_index.len(), 1);
        store.remove_sub(b);
        assert!(
            store.app_index.is_empty(),
            "the last user releases the app id"
        );
    }

    #[test]
    fn queue_lists_keep_order_and_unlink_anywhere() {
        let (mut store, ms) = store_with_mailboxes(1);
        let ids: Vec<u32> = (0..5)
            .map(|i| {
                store
                    .insert_sub(ms[0], &recipient(&format!("d{i}"), None))
                    .unwrap()
            })
            .collect();
        let mut list = List::EMPTY;
        for (t, &i) in ids.iter().enumerate() {
            store.queue_push_back(
                &mut list,
                Queue::Pending,
                i,
                Timestamp::from_millis(t as u64),
            );
        }
        store.queue_unlink(&mut list, ids[0]);
        store.queue_unlink(&mut list, ids[2]);
        store.queue_unlink(&mut list, ids[4]);
        let mut seen = Vec::new();
        let mut at = list.head();
        while let Some(i) = at {
            seen.push(i);
            at = store.queue_next(i);
        }
        assert_eq!(seen, [ids[1], ids[3]]);
        assert_eq!(list.len(), 2);
        assert_eq!(store.sub(ids[0]).queue, Queue::None);
        store.queue_unlink(&mut list, ids[1]);
        store.queue_unlink(&mut list, ids[3]);
        assert!(list.is_empty());
        assert_eq!(list.head(), None);
    }

    #[test]
    fn mailbox_lists_follow_moves_and_removals() {
        let (mut store, ms) = store_with_mailboxes(2);
        let ids: Vec<u32> = (0..4)
            .map(|i| {
                store
                    .insert_sub(ms[0], &recipient(&format!("d{i}"), None))
                    .unwrap()
            })
            .collect();
        assert_eq!(
            store.mailbox_members(ms[0]),
            [ids[3], ids[2], ids[1], ids[0]]
        );
        store.remove_sub(ids[2]);
        store
            .refresh_sub(ids[0], ms[1], &recipient("d0", None))
            .unwrap();
        assert_eq!(store.mailbox_members(ms[0]), [ids[3], ids[1]]);
        assert_eq!(store.mailbox_members(ms[1]), [ids[0]]);
        store.remove_sub(ids[3]);
        store.remove_sub(ids[1]);
        assert!(store.mailbox_members(ms[0]).is_empty());
        store.remove_mailbox(ms[0]);
        assert_eq!(store.mailbox_count(), 1);
    }

    #[test]
    fn the_lookup_survives_growth_and_churn() {
        let (mut store, ms) = store_with_mailboxes(3);
        let mut live = Vec::new();
        for i in 0..3000u32 {
            let m = ms[(i % 3) as usize];
            live.push((
                i,
                store
                    .insert_sub(m, &recipient(&format!("{i:x}"), None))
                    .unwrap(),
            ));
            if i % 4 == 0 {
                let (j, index) = live.remove(live.len() / 2);
                store.remove_sub(index);
                assert_eq!(store.find(j % 3, &format!("{j:x}")), None);
            }
        }
        for &(i, index) in &live {
            assert_eq!(store.find(i % 3, &format!("{i:x}")), Some(index));
            assert_eq!(store.find((i + 1) % 3, &format!("{i:x}")), None);
        }
        assert_eq!(store.subscription_count(), live.len());
    }

    proptest! {
        #[test]
        fn subscription_times_round_trip(secs in -62_167_219_200i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let at = time::OffsetDateTime::from_unix_timestamp(secs).unwrap().replace_nanosecond(nanos).unwrap();
            let time = SubscriptionTime::from_datetime(at).unwrap();
            prop_assert_eq!(PackedTime::pack(Some(time)).unpack(), Some(time));
        }

        #[test]
        fn packed_ids_round_trip(device in "[!-~]{1,80}", installation in proptest::option::of("[!-~]{1,60}")) {
            let r = {
                let mut r = Recipient::new("app".parse().unwrap(), device.parse().unwrap());
                r.installation_id = installation.map(|i| i.parse().unwrap());
                r
            };
            let (mut store, ms) = store_with_mailboxes(1);
            let index = store.insert_sub(ms[0], &r).unwrap();
            prop_assert_eq!(store.recipient(index), r);
        }
    }
}
