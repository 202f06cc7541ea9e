//! The System page: what the delivery engine is doing, for admins.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemView {
    /// The version of the process that answered.
    pub version: String,
    /// Unix ms, on that process's clock.
    pub now: i64,
    /// Live delivery workers (one per process), oldest first.
    pub workers: Vec<WorkerView>,
    /// Projects with pending deliveries.
    pub queue: Vec<ProjectQueueView>,
    /// The answering process's last writer commits, newest first.
    pub commits: Vec<CommitView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerView {
    pub id: String,
    /// The process that answered this page.
    pub this_process: bool,
    /// Empty until the worker's first lease renewal notes it.
    pub version: String,
    pub started_at: i64,
    pub lease_until: i64,
    pub in_flight: i64,
    pub max_in_flight: i64,
    pub held_deliveries: i64,
    pub max_held_deliveries: Option<i64>,
    pub held_bytes: i64,
    pub max_held_bytes: Option<i64>,
    /// Webhooks whose deliveries it sends.
    pub lanes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectQueueView {
    pub project_id: String,
    pub project: String,
    pub due: i64,
    pub retrying: i64,
    /// How long the oldest due delivery has waited since it became due.
    pub oldest_due_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CommitView {
    pub at: i64,
    pub micros: u64,
    pub items: usize,
}

/// `1.5 MB`, `12 KB`, `900 B`.
pub fn bytes_text(n: i64) -> String {
    let n = n.max(0) as f64;
    if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.0} KB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

/// `850 ms`, `12 s`, `3 min`, `2 h`.
pub fn wait_text(ms: i64) -> String {
    match ms.max(0) {
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms < 120_000 => format!("{} s", ms / 1_000),
        ms if ms < 7_200_000 => format!("{} min", ms / 60_000),
        ms => format!("{} h", ms / 3_600_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_waits_read_well() {
        assert_eq!(bytes_text(900), "900 B");
        assert_eq!(bytes_text(12_345), "12 KB");
        assert_eq!(bytes_text(1_500_000), "1.5 MB");
        assert_eq!(wait_text(850), "850 ms");
        assert_eq!(wait_text(12_400), "12 s");
        assert_eq!(wait_text(180_000), "3 min");
        assert_eq!(wait_text(7_200_000), "2 h");
    }
}
