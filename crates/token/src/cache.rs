//! A sans-IO cache of access tokens per (tenant, resource), with single-flight refresh.
//!
//! The cache never reads a clock and never fetches anything: every call takes `now` (Unix
//! seconds) and answers with a decision. [`TokenCache::get`] returns
//!
//! - [`Lookup::Fresh`] while `now < expires_at - refresh_margin`;
//! - [`Lookup::Refresh`] with a [`Ticket`] when the caller should fetch a new token (the
//!   current one, if still valid, comes along so the caller can use it meanwhile);
//! - [`Lookup::Stale`] when a refresh is due but someone else holds the ticket, or the
//!   cache is waiting (minimum interval, backoff after a failure), and the old token is
//!   still valid;
//! - [`Lookup::Pending`] when there is no valid token and the caller must wait.
//!
//! At most one ticket per key is outstanding. A ticket that is neither completed nor
//! failed within the in-flight deadline (2 minutes, the token service's timeout) stops
//! blocking, and the next lookup hands out a new one. Refreshes of a key that still has a
//! valid token start at most once per minimum interval (10 minutes, as Exchange does);
//! failures back off exponentially.
//!
//! ```
//! use pushproxy_token::cache::{CachePolicy, Lookup, TokenCache};
//!
//! let mut cache: TokenCache<&str, String> = TokenCache::new(CachePolicy::default());
//! let now = 1_000_000;
//! let Lookup::Refresh { ticket, current: None } = cache.get(&"tenant-a", now) else { panic!() };
//! // Nobody else is sent to fetch the same token meanwhile.
//! assert!(matches!(cache.get(&"tenant-a", now), Lookup::Pending { .. }));
//! cache.complete(ticket, "token".to_owned(), now + 3600, now);
//! assert!(matches!(cache.get(&"tenant-a", now + 60), Lookup::Fresh(t) if t == "token"));
//! ```
//!
//! The fresh path of `get` is one hash lookup and two comparisons, and allocates
//! nothing (see `benches/cache.rs`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::jwt::Token;
use crate::principal::{Audience, Guid};

/// The usual key: one tenant's token for one resource.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CacheKey {
    /// The tenant (realm) the token is for.
    pub tenant: Guid,
    /// The resource, `<id>/<host>@<realm>`.
    pub resource: Audience,
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The host is left out: keys that differ only in host are rare, and equal keys
        // still hash equally. Three integers hash much faster than a string.
        self.tenant.hash(state);
        self.resource.id.hash(state);
        self.resource.realm.hash(state);
    }
}

/// A fast multiply-rotate hasher for the cache index.
///
/// It does not resist deliberately colliding keys: cache keys come from the proxy's own
/// configuration (tenants and resources), not from peers.
#[derive(Clone, Copy, Default, Debug)]
pub struct KeyHasher(u64);

impl KeyHasher {
    const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // Spread the high bits into the low ones, which pick the bucket.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_u128(&mut self, n: u128) {
        // Splitting into halves: the casts keep exactly 64 bits each.
        self.add(n as u64);
        self.add((n >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

type Index<K> = HashMap<K, usize, BuildHasherDefault<KeyHasher>>;

/// Timing rules of a [`TokenCache`], in seconds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CachePolicy {
    /// A token is refreshed this long before it expires. Default 300.
    pub refresh_margin: i64,
    /// While a valid token is cached, refreshes start at most this often. Default 600.
    pub min_refresh_interval: i64,
    /// An outstanding ticket blocks other refreshes for at most this long. Default 120.
    pub in_flight_deadline: i64,
    /// The wait after the first failure; it doubles with each further failure.
    /// Default 30.
    pub initial_backoff: i64,
    /// The longest wait after failures. Default 600.
    pub max_backoff: i64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            refresh_margin: 300,
            min_refresh_interval: 600,
            in_flight_deadline: 120,
            initial_backoff: 30,
            max_backoff: 600,
        }
    }
}

impl CachePolicy {
    /// The wait after `failures` consecutive failures (at least one).
    fn backoff(&self, failures: u32) -> i64 {
        let doublings = failures.saturating_sub(1).min(62);
        self.initial_backoff
            .max(1)
            .saturating_mul(1_i64 << doublings)
            .min(self.max_backoff.max(1))
    }
}

/// The permission to refresh one key, handed out by [`TokenCache::get`]. Give it back with
/// [`TokenCache::complete`] or [`TokenCache::fail`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a ticket must be completed or failed, or the key waits for the in-flight deadline"]
pub struct Ticket<K> {
    key: K,
    id: u64,
}

impl<K> Ticket<K> {
    /// The key this ticket refreshes.
    pub fn key(&self) -> &K {
        &self.key
    }
}

/// The answer of [`TokenCache::get`].
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub enum Lookup<'a, K, T> {
    /// A token that is not due for refresh.
    Fresh(&'a T),
    /// Fetch a new token and hand the ticket back. `current` is the cached token if it is
    /// still valid, usable until the new one arrives.
    Refresh {
        /// The permission to refresh.
        ticket: Ticket<K>,
        /// The cached token, if still valid.
        current: Option<&'a T>,
    },
    /// A refresh is due but is in flight elsewhere or must wait; this token is still
    /// valid.
    Stale(&'a T),
    /// No valid token, and a refresh is in flight elsewhere or must wait until `until`.
    Pending {
        /// When asking again can hand out a ticket (Unix seconds).
        until: i64,
    },
}

#[derive(Debug)]
struct Entry<T> {
    token: Option<(T, i64)>,
    in_flight: Option<(u64, i64)>,
    last_refresh: Option<i64>,
    failures: u32,
    retry_at: i64,
}

impl<T> Default for Entry<T> {
    fn default() -> Self {
        Self {
            token: None,
            in_flight: None,
            last_refresh: None,
            failures: 0,
            retry_at: i64::MIN,
        }
    }
}

/// Tokens per key, with single-flight refresh. See the [module documentation](self).
#[derive(Debug)]
pub struct TokenCache<K = CacheKey, T = Token> {
    policy: CachePolicy,
    /// Where each key's entry sits in `slots`.
    index: Index<K>,
    slots: Vec<(K, Entry<T>)>,
    next_id: u64,
}

impl<K: Eq + Hash + Clone, T> TokenCache<K, T> {
    /// An empty cache.
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            index: Index::default(),
            slots: Vec::new(),
            next_id: 0,
        }
    }

    /// The timing rules.
    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    /// The position of `key`'s entry, created if missing.
    fn slot(&mut self, key: &K) -> usize {
        match self.index.get(key) {
            Some(&at) => at,
            None => {
                let at = self.slots.len();
                self.slots.push((key.clone(), Entry::default()));
                self.index.insert(key.clone(), at);
                at
            }
        }
    }

    fn entry_mut(&mut self, key: &K) -> &mut Entry<T> {
        let at = self.slot(key);
        // `index` only holds positions inside `slots` (kept in step by every change).
        &mut self.slots[at].1
    }

    /// Looks up `key` at `now`. See [`Lookup`] for the answers.
    pub fn get(&mut self, key: &K, now: i64) -> Lookup<'_, K, T> {
        let policy = self.policy;
        let at = self.slot(key);
        // `index` only holds positions inside `slots` (kept in step by every change).
        let entry = &mut self.slots[at].1;
        let expires_at = entry.token.as_ref().map(|(_, exp)| *exp);
        // The hot path: a fresh token, found with one hash lookup and no allocation.
        if expires_at.is_some_and(|exp| now < exp.saturating_sub(policy.refresh_margin)) {
            return match &entry.token {
                Some((token, _)) => Lookup::Fresh(token),
                // `expires_at` is only set when there is a token.
                None => Lookup::Pending { until: now },
            };
        }
        let valid = expires_at.is_some_and(|exp| now < exp);
        let in_flight_until = entry
            .in_flight
            .map(|(_, started)| started.saturating_add(policy.in_flight_deadline))
            .filter(|&until| now < until);
        let backoff_until = Some(entry.retry_at).filter(|&until| now < until);
        let interval_until = entry
            .last_refresh
            .map(|last| last.saturating_add(policy.min_refresh_interval))
            .filter(|&until| valid && now < until);
        if let Some(until) = in_flight_until.or(backoff_until).or(interval_until) {
            return match &entry.token {
                Some((token, _)) if valid => Lookup::Stale(token),
                _ => Lookup::Pending { until },
            };
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        entry.in_flight = Some((id, now));
        entry.last_refresh = Some(now);
        let current = match &entry.token {
            Some((token, _)) if valid => Some(token),
            _ => None,
        };
        Lookup::Refresh {
            ticket: Ticket {
                key: key.clone(),
                id,
            },
            current,
        }
    }

    /// Stores the token fetched with `ticket`, valid until `expires_at`. Returns whether
    /// it was stored: a token is dropped if it is already expired at `now` or expires
    /// before the cached one (a late answer to a lost ticket).
    pub fn complete(&mut self, ticket: Ticket<K>, token: T, expires_at: i64, now: i64) -> bool {
        let entry = self.entry_mut(&ticket.key);
        if entry.in_flight.is_some_and(|(id, _)| id == ticket.id) {
            entry.in_flight = None;
        }
        if expires_at <= now {
            return false;
        }
        entry.failures = 0;
        entry.retry_at = i64::MIN;
        if entry
            .token
            .as_ref()
            .is_some_and(|(_, old)| *old > expires_at)
        {
            return false;
        }
        entry.token = Some((token, expires_at));
        true
    }

    /// Records that the refresh of `ticket` failed at `now`; returns when the next
    /// refresh may start (exponential backoff from [`CachePolicy::initial_backoff`] up to
    /// [`CachePolicy::max_backoff`]).
    pub fn fail(&mut self, ticket: Ticket<K>, now: i64) -> i64 {
        self.fail_retry_after(ticket, now, 0)
    }

    /// Like [`fail`](Self::fail), waiting at least `retry_after` seconds (from a
    /// `Retry-After` answer).
    pub fn fail_retry_after(&mut self, ticket: Ticket<K>, now: i64, retry_after: i64) -> i64 {
        let policy = self.policy;
        let entry = self.entry_mut(&ticket.key);
        match entry.in_flight {
            Some((id, _)) if id == ticket.id => entry.in_flight = None,
            // A newer ticket is out: this late failure says nothing about it.
            Some(_) => return entry.retry_at.max(now),
            None => {}
        }
        entry.failures = entry.failures.saturating_add(1);
        let wait = policy.backoff(entry.failures).max(retry_after);
        entry.retry_at = now.saturating_add(wait);
        entry.retry_at
    }

    /// Stores a token obtained some other way.
    pub fn insert(&mut self, key: K, token: T, expires_at: i64) {
        self.entry_mut(&key).token = Some((token, expires_at));
    }

    /// Forgets `key` entirely (its token, ticket and backoff); returns the token.
    pub fn remove(&mut self, key: &K) -> Option<T> {
        let at = self.index.remove(key)?;
        let (_, entry) = self.slots.swap_remove(at);
        if let Some((moved, _)) = self.slots.get(at) {
            self.index.insert(moved.clone(), at);
        }
        entry.token.map(|(token, _)| token)
    }

    /// Drops tokens that expired before `now`, and keys left with nothing to remember.
    pub fn purge_expired(&mut self, now: i64) {
        for (_, entry) in &mut self.slots {
            if entry.token.as_ref().is_some_and(|(_, exp)| *exp <= now) {
                entry.token = None;
            }
        }
        self.slots.retain(|(_, entry)| {
            entry.token.is_some() || entry.in_flight.is_some() || entry.retry_at > now
        });
        self.index = self
            .slots
            .iter()
            .enumerate()
            .map(|(at, (key, _))| (key.clone(), at))
            .collect();
    }

    /// The number of keys with a cached token.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|(_, e)| e.token.is_some()).count()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Cache = TokenCache<&'static str, u32>;

    const T0: i64 = 1_767_225_600;
    const HOUR: i64 = 3600;

    fn cache() -> Cache {
        TokenCache::new(CachePolicy::default())
    }

    fn ticket(lookup: Lookup<'_, &'static str, u32>) -> Ticket<&'static str> {
        match lookup {
            Lookup::Refresh { ticket, .. } => ticket,
            other => panic!("expected a ticket, got {other:?}"),
        }
    }

    #[test]
    fn first_lookup_hands_out_one_ticket() {
        let mut c = cache();
        let t = ticket(c.get(&"a", T0));
        assert_eq!(t.key(), &"a");
        assert_eq!(c.get(&"a", T0 + 1), Lookup::Pending { until: T0 + 120 });
        // Another key is independent.
        assert!(matches!(
            c.get(&"b", T0),
            Lookup::Refresh { current: None, .. }
        ));
        assert!(c.complete(t, 1, T0 + HOUR, T0 + 2));
        assert_eq!(c.get(&"a", T0 + 3), Lookup::Fresh(&1));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn refresh_margin_then_stale_for_others() {
        let mut c = cache();
        c.insert("a", 1, T0 + HOUR);
        assert_eq!(c.get(&"a", T0 + HOUR - 301), Lookup::Fresh(&1));
        let Lookup::Refresh { ticket: t, current } = c.get(&"a", T0 + HOUR - 300) else {
            panic!("expected a refresh at the margin")
        };
        assert_eq!(current, Some(&1));
        // A second caller keeps using the old token while the refresh is in flight.
        assert_eq!(c.get(&"a", T0 + HOUR - 200), Lookup::Stale(&1));
        assert!(c.complete(t, 2, T0 + 2 * HOUR, T0 + HOUR - 100));
        assert_eq!(c.get(&"a", T0 + HOUR - 100), Lookup::Fresh(&2));
    }

    #[test]
    fn lost_ticket_stops_blocking_after_the_deadline() {
        let mut c = cache();
        let lost = ticket(c.get(&"a", T0));
        assert!(matches!(c.get(&"a", T0 + 119), Lookup::Pending { .. }));
        let second = ticket(c.get(&"a", T0 + 120));
        assert_ne!(lost, second);
        // The late answer to the lost ticket is still a good token.
        assert!(c.complete(lost, 1, T0 + HOUR, T0 + 130));
        // ... and the second ticket still counts as in flight until it returns.
        assert!(c.complete(second, 2, T0 + HOUR + 10, T0 + 131));
        assert_eq!(c.get(&"a", T0 + 132), Lookup::Fresh(&2));
    }

    #[test]
    fn an_older_token_does_not_replace_a_newer_one() {
        let mut c = cache();
        let first = ticket(c.get(&"a", T0));
        let second = ticket(c.get(&"a", T0 + 200));
        assert!(c.complete(second, 2, T0 + 2 * HOUR, T0 + 201));
        assert!(!c.complete(first, 1, T0 + HOUR, T0 + 202));
        assert_eq!(c.get(&"a", T0 + 203), Lookup::Fresh(&2));
    }

    #[test]
    fn expired_answer_is_not_stored() {
        let mut c = cache();
        let t = ticket(c.get(&"a", T0));
        assert!(!c.complete(t, 1, T0, T0));
        assert!(c.is_empty());
        assert!(matches!(c.get(&"a", T0), Lookup::Refresh { .. }));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_limit() {
        let mut c = cache();
        let mut now = T0;
        let mut waits = Vec::new();
        for _ in 0..7 {
            let t = ticket(c.get(&"a", now));
            let retry_at = c.fail(t, now);
            waits.push(retry_at - now);
            assert_eq!(
                c.get(&"a", retry_at - 1),
                Lookup::Pending { until: retry_at }
            );
            now = retry_at;
        }
        assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
        // Success resets the backoff.
        let t = ticket(c.get(&"a", now));
        assert!(c.complete(t, 1, now + 60, now));
        let t = ticket(c.get(&"a", now + 60));
        assert_eq!(c.fail(t, now + 60), now + 90);
    }

    #[test]
    fn retry_after_is_honoured() {
        let mut c = cache();
        let t = ticket(c.get(&"a", T0));
        assert_eq!(c.fail_retry_after(t, T0, 900), T0 + 900);
    }

    #[test]
    fn failure_keeps_serving_the_still_valid_token() {
        let mut c = cache();
        c.insert("a", 1, T0 + 200);
        let t = ticket(c.get(&"a", T0));
        let retry_at = c.fail(t, T0 + 5);
        assert_eq!(retry_at, T0 + 35);
        assert_eq!(c.get(&"a", T0 + 6), Lookup::Stale(&1));
        // After the backoff, the minimum interval still holds while the token is valid.
        assert_eq!(c.get(&"a", T0 + 35), Lookup::Stale(&1));
        // Once it has expired, a new ticket comes at once.
        assert!(matches!(
            c.get(&"a", T0 + 200),
            Lookup::Refresh { current: None, .. }
        ));
    }

    #[test]
    fn late_failure_of_a_lost_ticket_does_not_block_the_new_one() {
        let mut c = cache();
        let lost = ticket(c.get(&"a", T0));
        let current = ticket(c.get(&"a", T0 + 121));
        c.fail(lost, T0 + 122);
        assert!(c.complete(current, 1, T0 + HOUR, T0 + 123));
        assert_eq!(c.get(&"a", T0 + 124), Lookup::Fresh(&1));
    }

    #[test]
    fn min_interval_between_refreshes_while_a_token_is_valid() {
        let mut c = cache();
        // Short-lived tokens (400 s) are due for refresh 100 s after they arrive.
        let t = ticket(c.get(&"a", T0));
        assert!(c.complete(t, 1, T0 + 400, T0));
        assert_eq!(c.get(&"a", T0 + 99), Lookup::Fresh(&1));
        assert_eq!(c.get(&"a", T0 + 100), Lookup::Stale(&1));
        assert_eq!(c.get(&"a", T0 + 399), Lookup::Stale(&1));
        let t = ticket(c.get(&"a", T0 + 400));
        assert!(c.complete(t, 2, T0 + 800, T0 + 400));
        assert_eq!(c.get(&"a", T0 + 500), Lookup::Stale(&2));
        assert_eq!(c.get(&"a", T0 + 799), Lookup::Stale(&2));
        // A token due for refresh is refreshed ten minutes after the last refresh at the
        // earliest.
        let t = ticket(c.get(&"a", T0 + 800));
        assert!(c.complete(t, 3, T0 + 1500, T0 + 800));
        assert_eq!(c.get(&"a", T0 + 1199), Lookup::Fresh(&3));
        assert_eq!(c.get(&"a", T0 + 1399), Lookup::Stale(&3));
        assert!(matches!(
            c.get(&"a", T0 + 1400),
            Lookup::Refresh {
                current: Some(&3),
                ..
            }
        ));
    }

    #[test]
    fn no_valid_token_overrides_the_min_interval() {
        let mut c = cache();
        let t = ticket(c.get(&"a", T0));
        assert!(c.complete(t, 1, T0 + 60, T0));
        // Expired after one minute: a new ticket right away, not after ten.
        assert!(matches!(
            c.get(&"a", T0 + 60),
            Lookup::Refresh { current: None, .. }
        ));
    }

    #[test]
    fn remove_and_purge() {
        let mut c = cache();
        c.insert("a", 1, T0 + 10);
        c.insert("b", 2, T0 + 100);
        c.purge_expired(T0 + 50);
        assert_eq!(c.len(), 1);
        assert_eq!(c.remove(&"b"), Some(2));
        assert!(c.is_empty());
    }

    #[test]
    fn keys_that_differ_only_in_host_stay_apart() {
        use crate::principal::{Realm, well_known};
        let tenant = Guid::from_u128(1);
        let key = |host: &str| CacheKey {
            tenant,
            resource: Audience::new(
                well_known::EXCHANGE,
                host.parse().unwrap(),
                Realm::Tenant(tenant),
            ),
        };
        let mut c: TokenCache<CacheKey, u32> = TokenCache::new(CachePolicy::default());
        c.insert(key("a.example"), 1, T0 + HOUR);
        c.insert(key("b.example"), 2, T0 + HOUR);
        assert_eq!(c.get(&key("a.example"), T0), Lookup::Fresh(&1));
        assert_eq!(c.get(&key("b.example"), T0), Lookup::Fresh(&2));
        assert_eq!(c.len(), 2);
        assert_eq!(c.remove(&key("a.example")), Some(1));
        assert_eq!(c.get(&key("b.example"), T0), Lookup::Fresh(&2));
    }

    #[test]
    fn the_hasher_separates_nearby_values() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<KeyHasher>::default();
        let hashes: std::collections::HashSet<u64> = (0u128..1000)
            .map(|n| build.hash_one(Guid::from_u128(n)))
            .collect();
        assert_eq!(hashes.len(), 1000);
        assert_eq!(build.hash_one("abc"), build.hash_one("abc"));
        assert_ne!(build.hash_one("abc"), build.hash_one("abd"));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Get(&'static str),
        Complete(usize, i64),
        Fail(usize),
        Advance(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = prop_oneof![Just("a"), Just("b")];
        prop_oneof![
            3 => key.prop_map(Op::Get),
            2 => (0usize..4, 1i64..7200).prop_map(|(i, life)| Op::Complete(i, life)),
            1 => (0usize..4).prop_map(Op::Fail),
            2 => (0i64..900).prop_map(Op::Advance),
        ]
    }

    proptest! {
        /// Whatever happens, no key has two tickets out within the in-flight deadline,
        /// Fresh only returns tokens outside the refresh margin, and Stale only valid ones.
        #[test]
        fn invariants_hold(ops in proptest::collection::vec(op(), 1..60)) {
            let policy = CachePolicy::default();
            let mut c: TokenCache<&'static str, i64> = TokenCache::new(policy);
            let mut now = T0;
            let mut out: Vec<(Ticket<&'static str>, i64)> = Vec::new();
            for op in ops {
                match op {
                    Op::Get(key) => match c.get(&key, now) {
                        Lookup::Fresh(exp) => prop_assert!(now < exp - policy.refresh_margin),
                        Lookup::Stale(exp) => prop_assert!(now < *exp),
                        Lookup::Pending { until } => prop_assert!(until > now),
                        Lookup::Refresh { ticket, current } => {
                            if let Some(exp) = current { prop_assert!(now < *exp); }
                            for (other, issued) in &out {
                                if other.key() == &key {
                                    prop_assert!(now >= issued + policy.in_flight_deadline);
                                }
                            }
                            out.push((ticket, now));
                        }
                    },
                    Op::Complete(i, life) => if i < out.len() {
                        let (t, _) = out.remove(i);
                        // The token stands for its own expiry time.
                        c.complete(t, now + life, now + life, now);
                    },
                    Op::Fail(i) => if i < out.len() {
                        let (t, _) = out.remove(i);
                        let retry_at = c.fail(t, now);
                        prop_assert!(retry_at >= now);
                    },
                    Op::Advance(s) => now += s,
                }
            }
        }
    }
}
