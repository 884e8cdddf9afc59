//! Engine time: milliseconds since an epoch the caller chooses.
//!
//! The engine never reads a clock. Every call that can change its state takes the current time
//! as a [`Timestamp`]; a native driver passes milliseconds since the Unix epoch (or since start),
//! the browser passes `Date.now()`, tests pass whatever they like and move it forward by hand.

use core::fmt;
use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in engine time: whole milliseconds since an arbitrary epoch chosen by the caller.
///
/// Arithmetic saturates instead of overflowing, so a far-future deadline stays far in the
/// future and a difference between out-of-order times is zero rather than a panic.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The epoch itself.
    pub const ZERO: Self = Self(0);
    /// The latest representable time; used as "never".
    pub const MAX: Self = Self(u64::MAX);

    /// The time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// The time `secs` seconds after the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `duration`, saturating at [`Timestamp::MAX`].
    pub fn saturating_add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(millis_of(duration)))
    }

    /// This time minus `duration`, saturating at [`Timestamp::ZERO`].
    pub fn saturating_sub(self, duration: Duration) -> Self {
        Self(self.0.saturating_sub(millis_of(duration)))
    }

    /// How long after `earlier` this time is; zero if it is not after it.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Whole milliseconds of a duration, saturating at `u64::MAX`.
pub(crate) fn millis_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Timestamp {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        self.saturating_add(rhs)
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Self;

    fn sub(self, rhs: Duration) -> Self {
        self.saturating_sub(rhs)
    }
}

impl Sub for Timestamp {
    type Output = Duration;

    fn sub(self, rhs: Self) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}ms)", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::ZERO - Duration::from_secs(1), Timestamp::ZERO);
        assert_eq!(
            Timestamp::from_millis(5) - Timestamp::from_millis(9),
            Duration::ZERO
        );
        assert_eq!(Timestamp::from_secs(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::ZERO + Duration::MAX, Timestamp::MAX);
    }

    #[test]
    fn display_shows_seconds_and_millis() {
        assert_eq!(Timestamp::from_millis(61_005).to_string(), "61.005s");
        assert_eq!(format!("{:?}", Timestamp::from_millis(7)), "Timestamp(7ms)");
    }

    proptest! {
        #[test]
        fn add_then_since_round_trips(start in 0u64..u64::MAX / 2, delta in 0u64..u64::MAX / 4) {
            let t = Timestamp::from_millis(start);
            let later = t + Duration::from_millis(delta);
            prop_assert_eq!(later - t, Duration::from_millis(delta));
            prop_assert_eq!(later - Duration::from_millis(delta), t);
            prop_assert!(later >= t);
        }
    }
}
