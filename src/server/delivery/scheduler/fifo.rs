//! First come, first served: the lanes waiting for something that all
//! lanes share (a slot under `--max-in-flight`, room under the memory
//! ceiling). A lane waits in a queue at most once.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

#[derive(Debug)]
pub(super) struct Fifo<T> {
    order: VecDeque<T>,
    waiting: HashSet<T>,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo {
            order: VecDeque::new(),
            waiting: HashSet::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Fifo<T> {
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn contains(&self, item: &T) -> bool {
        self.waiting.contains(item)
    }

    /// Joins the back of the line, unless it waits already.
    pub fn push(&mut self, item: T) {
        if self.waiting.insert(item.clone()) {
            self.order.push_back(item);
        }
    }

    /// The longest-waiting one leaves the line.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.order.pop_front()?;
        self.waiting.remove(&item);
        Some(item)
    }

    /// Back to the front of the line: it was served and found no room yet.
    pub fn push_front(&mut self, item: T) {
        if self.waiting.insert(item.clone()) {
            self.order.push_front(item);
        }
    }

    pub fn clear(&mut self) {
        self.order.clear();
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_come_first_served_each_once() {
        let mut f = Fifo::default();
        for w in ["a", "b", "a", "c"] {
            f.push(w);
        }
        assert_eq!(f.len(), 3, "a waits once");
        assert_eq!(f.pop(), Some("a"));
        assert!(!f.contains(&"a"));
        f.push("a");
        assert_eq!(f.pop(), Some("b"));
        // Served and still without room: it keeps its place at the front.
        f.push_front("b");
        assert_eq!(
            std::iter::from_fn(|| f.pop()).collect::<Vec<_>>(),
            vec!["b", "c", "a"]
        );
    }
}
