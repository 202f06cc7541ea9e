//! What the worker holds in memory, against its ceilings: pending
//! deliveries in the scheduler's windows, and the bytes of event bodies
//! anywhere in the engine. The queue itself is in the database; these
//! numbers are what a backlog may cost in memory, whatever its size.

use bytes::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Budget {
    pub max_deliveries: usize,
    pub max_bytes: usize,
    deliveries: AtomicUsize,
    bytes: AtomicUsize,
    in_flight: AtomicUsize,
    peak_deliveries: AtomicUsize,
    peak_bytes: AtomicUsize,
}

/// A snapshot of [`Budget`], for tests, logs, metrics and the System page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub deliveries: usize,
    pub bytes: usize,
    pub peak_deliveries: usize,
    pub peak_bytes: usize,
    pub max_deliveries: usize,
    pub max_bytes: usize,
    /// Attempts on the wire now.
    pub in_flight: usize,
}

impl Budget {
    pub fn new(max_deliveries: usize, max_bytes: usize) -> Arc<Budget> {
        Arc::new(Budget {
            max_deliveries,
            max_bytes,
            ..Budget::default()
        })
    }

    pub fn held(&self) -> Held {
        Held {
            deliveries: self.deliveries.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            peak_deliveries: self.peak_deliveries.load(Ordering::Relaxed),
            peak_bytes: self.peak_bytes.load(Ordering::Relaxed),
            max_deliveries: self.max_deliveries,
            max_bytes: self.max_bytes,
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The scheduler's count of the deliveries in its windows (it alone
    /// changes it).
    pub(crate) fn set_deliveries(&self, n: usize) {
        self.deliveries.store(n, Ordering::Relaxed);
        self.peak_deliveries.fetch_max(n, Ordering::Relaxed);
    }

    /// The scheduler's count of attempts in flight (it alone changes it).
    pub(crate) fn set_in_flight(&self, n: usize) {
        self.in_flight.store(n, Ordering::Relaxed);
    }

    /// An event body, counted for as long as it lives.
    pub fn body(self: &Arc<Self>, bytes: Bytes) -> Body {
        let n = bytes.len();
        let now = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        self.peak_bytes.fetch_max(now, Ordering::Relaxed);
        Body {
            bytes,
            budget: self.clone(),
        }
    }
}

/// An event's bytes in memory; uncounted when dropped.
#[derive(Debug)]
pub struct Body {
    bytes: Bytes,
    budget: Arc<Budget>,
}

impl Body {
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.budget
            .bytes
            .fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_count_while_they_live() {
        let budget = Budget::new(10, 1000);
        let a = budget.body(Bytes::from_static(b"12345"));
        let b = budget.body(Bytes::from_static(b"123"));
        assert_eq!(budget.bytes(), 8);
        drop(a);
        assert_eq!(budget.bytes(), 3);
        drop(b);
        let held = budget.held();
        assert_eq!((held.bytes, held.peak_bytes), (0, 8));
        budget.set_deliveries(4);
        budget.set_deliveries(2);
        let held = budget.held();
        assert_eq!((held.deliveries, held.peak_deliveries), (2, 4));
    }
}
