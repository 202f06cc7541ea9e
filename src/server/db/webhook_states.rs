//! `webhook_states`: each webhook's state over time, written by triggers on
//! `webhooks` (migrations), read to tell why an event did not go to it.

use super::Db;

/// A webhook as it stood at some time.
#[derive(sqlx::FromRow)]
pub struct StateRow {
    pub webhook_id: String,
    /// `enabled`, `disabled`, `auto_disabled` or `deleted`.
    pub state: String,
    /// Its filter then (a JSON array of names).
    pub events: String,
    pub tenant: Option<String>,
    /// Since when it stood so.
    pub at: i64,
    pub disabled_reason: Option<String>,
    /// Its URL now (a URL never changes).
    pub url: String,
}

/// Every webhook of the project as it stood at `at` (the ones created
/// later are not there), oldest first.
pub async fn as_of(db: &Db, project_id: &str, at: i64) -> sqlx::Result<Vec<StateRow>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT s.webhook_id, s.state, s.events, s.tenant, s.at, s.disabled_reason, w.url \
         FROM webhook_states s JOIN webhooks w ON w.id = s.webhook_id \
         WHERE s.seq IN (SELECT max(seq) FROM webhook_states \
                         WHERE project_id = $1 AND at <= $2 GROUP BY webhook_id) \
         ORDER BY w.created_at, w.id",
    )
    .bind(project_id)
    .bind(at)
    .fetch_all(c)
    .await)
}
