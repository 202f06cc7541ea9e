//! The queue as an operator sees it: pending deliveries per project, due
//! now or waiting for a retry, and how long the oldest due one has waited;
//! webhooks disabled automatically. Read by `/metrics` and the System page.

use super::deliveries::NOT_SUCCEEDED;
use super::Db;

/// One project's pending deliveries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectQueue {
    pub project_id: String,
    pub project: String,
    /// Pending and due now (`next_at` passed).
    pub due: i64,
    /// Pending, waiting for a retry later.
    pub retrying: i64,
    /// The `next_at` of the oldest due delivery (Unix ms).
    pub oldest_due_at: Option<i64>,
}

/// Per project with pending deliveries, by project name. `now` is Unix ms.
pub async fn by_project(db: &Db, now: i64) -> sqlx::Result<Vec<ProjectQueue>> {
    crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT q.project_id, coalesce(p.name, q.project_id) AS project, q.due, q.retrying, \
           q.oldest_due_at \
         FROM (SELECT project_id, \
                 sum(CASE WHEN next_at <= $1 THEN 1 ELSE 0 END) AS due, \
                 sum(CASE WHEN next_at > $1 THEN 1 ELSE 0 END) AS retrying, \
                 min(CASE WHEN next_at <= $1 THEN next_at END) AS oldest_due_at \
               FROM deliveries d WHERE d.status = 'pending' AND {NOT_SUCCEEDED} \
               GROUP BY project_id) q \
         LEFT JOIN projects p ON p.id = q.project_id \
         ORDER BY project, q.project_id"
    ))
    .bind(now)
    .fetch_all(c)
    .await)
}

/// Webhooks disabled automatically and not enabled again since, per project
/// name (only projects that have some).
pub async fn auto_disabled(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT coalesce(p.name, w.project_id) AS project, count(*) AS n \
         FROM webhooks w LEFT JOIN projects p ON p.id = w.project_id \
         WHERE w.deleted_at IS NULL AND w.enabled = $1 AND w.disabled_reason IS NOT NULL \
         GROUP BY coalesce(p.name, w.project_id) ORDER BY 1",
    )
    .bind(false)
    .fetch_all(c)
    .await)
}
