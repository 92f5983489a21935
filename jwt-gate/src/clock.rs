//! Where "now" comes from: every time rule of jwt-gate reads the clock through [`Clock`], so
//! tests pin time with [`FixedClock`] instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// jwt-gate never calls [`SystemTime::now`] itself: issuing (`iat`, `nbf`, `exp`) and
/// verifying (expiry, not-before, issued-at, leeway) both go through the clock given to
/// [`JwtBuilder::clock`](crate::JwtBuilder::clock). The default is [`SystemClock`].
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock. The default [`Clock`].
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until it is told to move: for tests of expiry, not-before and
/// leeway that never sleep.
///
/// ```
/// use jwt_gate::{Clock, FixedClock};
/// use std::time::Duration;
///
/// let clock = FixedClock::at_unix_seconds(1_700_000_000);
/// clock.advance(Duration::from_secs(301));
/// assert_eq!(jwt_gate::unix_seconds(&clock), 1_700_000_301);
/// ```
#[derive(Debug)]
pub struct FixedClock {
    millis: AtomicI64,
}

impl FixedClock {
    /// A clock that reads `seconds` after the Unix epoch.
    #[must_use]
    pub fn at_unix_seconds(seconds: i64) -> Self {
        Self {
            millis: AtomicI64::new(seconds.saturating_mul(1000)),
        }
    }

    /// A clock that reads the current system time, and then stands still.
    #[must_use]
    pub fn now() -> Self {
        let clock = Self::at_unix_seconds(0);
        clock.set(SystemTime::now());
        clock
    }

    /// Moves the clock to `time`.
    pub fn set(&self, time: SystemTime) {
        self.millis
            .store(system_time_millis(time), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(by))
            })
            .ok();
    }

    /// Moves the clock backward by `by`.
    pub fn rewind(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_sub(by))
            })
            .ok();
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        let millis = self.millis.load(Ordering::SeqCst);
        if millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
        }
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// Whole seconds since the Unix epoch on `clock`, truncated as PyJWT's `timegm` truncates.
#[must_use]
pub fn unix_seconds(clock: &(impl Clock + ?Sized)) -> i64 {
    system_time_seconds(clock.now())
}

/// Whole seconds since the Unix epoch of `time` (floored, as [`unix_seconds`]).
pub(crate) fn system_time_seconds(time: SystemTime) -> i64 {
    system_time_millis(time).div_euclid(1000)
}

/// Milliseconds since the Unix epoch on `clock`.
#[must_use]
pub fn unix_millis(clock: &(impl Clock + ?Sized)) -> i64 {
    system_time_millis(clock.now())
}

fn system_time_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at_unix_seconds(1000);
        assert_eq!(unix_seconds(&clock), 1000);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(unix_seconds(&clock), 1001);
        assert_eq!(unix_millis(&clock), 1_001_500);
        clock.rewind(Duration::from_secs(2));
        assert_eq!(unix_millis(&clock), 999_500);
    }

    #[test]
    fn seconds_truncate_toward_the_past_before_the_epoch() {
        let clock = FixedClock::at_unix_seconds(0);
        clock.rewind(Duration::from_millis(500));
        assert_eq!(unix_seconds(&clock), -1);
    }

    #[test]
    fn system_clock_is_near_now() {
        let a = unix_seconds(&SystemClock);
        let b = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((i64::try_from(b).unwrap() - a).abs() <= 1);
    }
}
