//! A webhook's rate limit, as its lane keeps it.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use std::num::NonZeroU32;

/// A webhook's rate limit (smooth: a token bucket of about one).
pub(super) struct Limiter {
    pub rate: f64,
    bucket: DefaultDirectRateLimiter,
}

impl Limiter {
    pub fn new(rate: f64) -> Option<Limiter> {
        // A rate too small for a period (1e-300/s) is no limit to keep:
        // the API refuses such rates; an older row must not stop the lane.
        let period = std::time::Duration::try_from_secs_f64(1.0 / rate).ok()?;
        // Timers have millisecond steps: above 500/s a start may take the
        // next few of the same two milliseconds.
        let burst = NonZeroU32::new((rate / 500.0).ceil().max(1.0) as u32)?;
        let quota = Quota::with_period(period)?.allow_burst(burst);
        Some(Limiter {
            rate,
            bucket: DefaultDirectRateLimiter::direct(quota),
        })
    }

    /// Takes a token, or says in how many ms the next one comes.
    pub fn take(&self) -> Result<(), i64> {
        self.bucket.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_micros().div_ceil(1000).max(1) as i64
        })
    }
}
