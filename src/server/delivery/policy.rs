//! Retry policy (docs/delivery.md): what an attempt's result means, and when the
//! next attempt is due. Pure functions; the knobs come from the config.

use crate::server::config::DeliveryConfig;
use std::time::Duration;

/// The knobs of the retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt (before jitter).
    pub base: Duration,
    /// No delay is longer than this (before jitter); also caps `Retry-After`.
    pub cap: Duration,
}

impl From<&DeliveryConfig> for RetryPolicy {
    fn from(config: &DeliveryConfig) -> Self {
        RetryPolicy {
            max_attempts: config.max_attempts,
            base: Duration::from_millis(config.retry_base_ms),
            cap: Duration::from_millis(config.retry_max_ms),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `n + 1`, after attempt `n` (1-based) failed,
    /// before jitter: min(base × 5^(n-1), cap).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 5u32.checked_pow(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before attempt `n + 1`: the backoff times `jitter`, a
    /// uniform draw from [0.5, 1.5). A `Retry-After` (on 429 or 503) is
    /// honoured up to the cap: the delay is at least that long.
    pub fn delay(&self, n: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        debug_assert!((0.5..1.5).contains(&jitter));
        let jittered = self.backoff(n).mul_f64(jitter);
        match retry_after {
            Some(wait) => jittered.max(wait.min(self.cap)),
            None => jittered,
        }
    }

    /// What to do after attempt `n` ended with `outcome`.
    pub fn next(&self, n: u32, outcome: &Outcome, jitter: f64) -> Next {
        match outcome.class() {
            Class::Success => Next::Succeeded,
            Class::Final => Next::Failed,
            Class::Dropped => Next::Dropped,
            Class::Retry if n >= self.max_attempts => Next::Failed,
            Class::Retry => Next::RetryAfter(self.delay(n, jitter, outcome.retry_after())),
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered; `retry_after` is its `Retry-After`, if any.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer within the per-attempt timeout.
    Timeout,
    /// Could not connect, or the connection broke.
    Connection,
    /// The URL guard refused the target.
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    Retry,
    Final,
    Dropped,
}

impl Outcome {
    /// 2xx succeeds; 5xx, 408, 429, timeouts and connection errors are
    /// retried; 3xx (never followed) and every other 4xx are final.
    pub fn class(&self) -> Class {
        match self {
            Outcome::Status { status, .. } => match status {
                200..=299 => Class::Success,
                408 | 429 | 500..=599 => Class::Retry,
                _ => Class::Final,
            },
            Outcome::Timeout | Outcome::Connection => Class::Retry,
            Outcome::Refused => Class::Dropped,
        }
    }

    /// How long the receiver asked to be left alone: its `Retry-After` on
    /// a 429 or 503. It pauses the whole webhook, not only this delivery.
    pub fn pause(&self) -> Option<Duration> {
        self.retry_after()
    }

    /// `Retry-After` counts on 429 and 503 only.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Outcome::Status {
                status: 429 | 503,
                retry_after,
            } => *retry_after,
            _ => None,
        }
    }
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    Failed,
    Dropped,
    RetryAfter(Duration),
}

/// Parses `Retry-After`: delay-seconds, or an HTTP date (`now` in Unix
/// seconds). Dates in the past mean no wait.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc()
        .unix_timestamp();
    Some(Duration::from_secs(
        at.saturating_sub(now_unix).max(0) as u64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> Outcome {
        Outcome::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    /// The flags' defaults are Spectrum's: 6 attempts, 200 ms × 5^(n-1), at most 10 s.
    fn the_default_schedule_is_spectrums() {
        let p = RetryPolicy::from(&DeliveryConfig::default());
        let ms: Vec<u128> = (1..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(ms, [200, 1000, 5000, 10_000, 10_000]);
        // Huge attempt numbers saturate at the cap instead of overflowing.
        assert_eq!(p.backoff(40), Duration::from_secs(10));
    }

    #[test]
    fn jitter_scales_the_delay_within_half_to_one_and_a_half() {
        let p = RetryPolicy::from(&DeliveryConfig::default());
        assert_eq!(p.delay(1, 0.5, None), Duration::from_millis(100));
        assert_eq!(p.delay(2, 1.0, None), Duration::from_millis(1000));
        assert!(p.delay(4, 1.4999, None) < Duration::from_secs(15));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::from(&DeliveryConfig::default());
        let wait = |s| Some(Duration::from_secs(s));
        assert_eq!(p.delay(1, 1.0, wait(3)), Duration::from_secs(3));
        assert_eq!(p.delay(1, 1.0, wait(3600)), Duration::from_secs(10));
        // A shorter Retry-After does not shorten the backoff.
        assert_eq!(p.delay(3, 1.0, wait(1)), Duration::from_secs(5));
        // Only 429 and 503 carry a Retry-After that counts.
        let o = |s| Outcome::Status {
            status: s,
            retry_after: wait(4),
        };
        assert_eq!(
            p.next(1, &o(429), 1.0),
            Next::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            p.next(1, &o(503), 1.0),
            Next::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            p.next(1, &o(500), 1.0),
            Next::RetryAfter(Duration::from_millis(200))
        );
    }

    #[test]
    fn classification() {
        for s in [200, 201, 204, 299] {
            assert_eq!(status(s).class(), Class::Success, "{s}");
        }
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert_eq!(status(s).class(), Class::Retry, "{s}");
        }
        for s in [300, 301, 302, 307, 308, 400, 401, 403, 404, 410, 422] {
            assert_eq!(status(s).class(), Class::Final, "{s}");
        }
        assert_eq!(Outcome::Timeout.class(), Class::Retry);
        assert_eq!(Outcome::Connection.class(), Class::Retry);
        assert_eq!(Outcome::Refused.class(), Class::Dropped);
    }

    #[test]
    fn the_last_attempt_fails_the_delivery() {
        let p = RetryPolicy::from(&DeliveryConfig::default());
        assert!(matches!(p.next(5, &status(500), 1.0), Next::RetryAfter(_)));
        assert_eq!(p.next(6, &status(500), 1.0), Next::Failed);
        assert_eq!(p.next(6, &status(200), 1.0), Next::Succeeded);
        assert_eq!(p.next(1, &Outcome::Refused, 1.0), Next::Dropped);
        assert_eq!(p.next(1, &status(400), 1.0), Next::Failed);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 7 ", 0), Some(Duration::from_secs(7)));
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_470),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_490),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
