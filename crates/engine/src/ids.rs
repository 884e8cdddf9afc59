//! Compact handles for the engine's tables.
//!
//! The engine keeps tenants, mailboxes and subscriptions in vectors and hands out small copyable
//! handles instead of strings. Mailbox and subscription handles carry a generation, so a handle
//! kept after its entry was removed is refused instead of silently naming whatever reused the
//! slot.

use core::fmt;

/// One tenant (on-premises organisation) of the engine. Tenants are never removed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantHandle(pub(crate) u32);

impl TenantHandle {
    /// The position of the tenant in the order tenants were added (0 for the first).
    pub const fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for TenantHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tenant#{}", self.0)
    }
}

/// One mailbox: an unseen count and the subscriptions that show it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MailboxHandle {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl fmt::Debug for MailboxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mailbox#{}.{}", self.index, self.generation)
    }
}

/// One device subscription: an app on a device showing one mailbox's count.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionHandle {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl fmt::Debug for SubscriptionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscription#{}.{}", self.index, self.generation)
    }
}

/// One publish batch: a fixed set of recipients with the counts read when it was built. Every
/// attempt to send it carries the same body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub(crate) u64);

impl BatchId {
    /// The number of the batch, counting from 1 in the order batches were built.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batch-{}", self.0)
    }
}

/// One attempt to send a batch. The answer to the attempt is given back with this id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransmitId(pub(crate) u64);

impl TransmitId {
    /// The number of the attempt, counting from 1 over the whole engine.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TransmitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transmit-{}", self.0)
    }
}
