//! What the scheduler holds in memory and has under way, counted in one
//! place: each change goes through a method that keeps the numbers
//! together, and [`Counts::publish`] hands them to the [`Budget`] that the
//! metrics, the lease and the System page read.

use super::super::budget::Budget;

#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Entries in all windows.
    held: usize,
    /// Attempts in flight.
    in_flight: usize,
    /// Rows that reads under way may bring.
    reserved_rows: usize,
    /// Body bytes that reads under way, and attempts that read their
    /// event, may bring.
    reserved_bytes: usize,
}

impl Counts {
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn reserved_bytes(&self) -> usize {
        self.reserved_bytes
    }

    /// `n` entries joined windows.
    pub fn hold(&mut self, n: usize) {
        self.held += n;
    }

    /// `n` entries left windows.
    pub fn let_go(&mut self, n: usize) {
        self.held -= n;
    }

    /// `n` attempts started, reserving `bytes` for the bodies they read.
    pub fn start(&mut self, n: usize, bytes: usize) {
        self.in_flight += n;
        self.reserved_bytes += bytes;
    }

    /// An attempt ended; it had reserved `bytes`.
    pub fn end(&mut self, bytes: usize) {
        self.in_flight -= 1;
        self.reserved_bytes -= bytes;
    }

    /// At the end of a shutdown's grace: the attempts still in flight are
    /// abandoned (and never joined).
    pub fn abandon_attempts(&mut self) {
        self.in_flight = 0;
    }

    /// A read of `rows` rows (bodies of up to `bytes`) began.
    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        self.reserved_rows += rows;
        self.reserved_bytes += bytes;
    }

    /// A read ended (what it brought is held from now on, if kept).
    pub fn unreserve(&mut self, rows: usize, bytes: usize) {
        self.reserved_rows -= rows;
        self.reserved_bytes -= bytes;
    }

    /// Room under the ceiling for one more delivery in a window.
    pub fn room_for_one(&self, budget: &Budget) -> bool {
        self.held + self.reserved_rows < budget.max_deliveries && budget.bytes() <= budget.max_bytes
    }

    /// How many more rows the ceiling on held deliveries allows.
    pub fn rows_room(&self, budget: &Budget) -> usize {
        budget
            .max_deliveries
            .saturating_sub(self.held + self.reserved_rows)
    }

    /// Body bytes in memory or on their way.
    pub fn bytes_in_use(&self, budget: &Budget) -> usize {
        budget.bytes() + self.reserved_bytes
    }

    /// Tells the budget (read by the metrics and the lease).
    pub fn publish(&self, budget: &Budget) {
        budget.set_deliveries(self.held);
        budget.set_in_flight(self.in_flight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_under_way_count_against_the_ceiling() {
        let budget = Budget::new(10, 1_000);
        let mut c = Counts::default();
        c.hold(6);
        c.reserve(3, 300);
        assert_eq!(c.rows_room(&budget), 1);
        assert!(c.room_for_one(&budget));
        c.hold(1);
        assert!(!c.room_for_one(&budget), "6 held + 1 + 3 on their way");
        assert_eq!(c.bytes_in_use(&budget), 300);
        c.unreserve(3, 300);
        c.hold(2);
        assert_eq!((c.held(), c.rows_room(&budget)), (9, 1));
        c.start(2, 100);
        c.end(100);
        assert_eq!((c.in_flight(), c.reserved_bytes()), (1, 0));
        c.publish(&budget);
        let held = budget.held();
        assert_eq!((held.deliveries, held.in_flight), (9, 1));
    }
}
