use super::columns::JsonText;
use super::{now_ms, Db, Tx};
use crate::model::{default_concurrency, Ordering, Scheme, Webhook};

/// How a webhook's deliveries go out, as the scheduler needs it: read
/// with the webhook wherever a delivery is handed to the scheduler, so
/// that a change reaches a lane with its next deliveries (and at once
/// through the scheduler's `Pace` message).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub unordered: bool,
    /// The webhook has an ordering key (its default concurrency is higher).
    pub keyed: bool,
    /// Attempts in flight at once, if set on the webhook.
    pub max_concurrency: Option<u16>,
    /// Deliveries per second at most.
    pub rate_limit: Option<f64>,
    /// The webhook's `updated_at` when this was read: a lane takes a pace
    /// only if it is no older than the one it has.
    pub version: i64,
}

impl Pace {
    /// A webhook's.
    pub fn of_webhook(w: &Webhook) -> Pace {
        Pace {
            unordered: w.ordering == Ordering::Unordered,
            keyed: w.ordering_key.is_some(),
            max_concurrency: w.max_concurrency,
            rate_limit: w.rate_limit,
            version: w.updated_at,
        }
    }

    /// From a webhook's columns.
    pub fn of(
        ordering: Ordering,
        keyed: bool,
        max_concurrency: Option<i64>,
        rate_limit: Option<f64>,
        version: i64,
    ) -> Pace {
        Pace {
            unordered: ordering == Ordering::Unordered,
            keyed,
            max_concurrency: max_concurrency.and_then(|n| u16::try_from(n).ok()),
            rate_limit,
            version,
        }
    }
}

/// Every column but the secrets.
const COLUMNS: &str = "id, project_id, tenant, url, description, events, enabled, scheme, \
                       ordering, ordering_key, max_concurrency, rate_limit, \
                       disabled_reason, previous_expires_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: String,
    project_id: String,
    tenant: Option<String>,
    url: String,
    description: String,
    events: JsonText<Vec<String>>,
    enabled: bool,
    scheme: Scheme,
    ordering: Ordering,
    ordering_key: Option<String>,
    max_concurrency: Option<i64>,
    rate_limit: Option<f64>,
    disabled_reason: Option<String>,
    previous_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl WebhookRow {
    /// The webhook, its default concurrency worked out with the server's
    /// `--unordered-concurrency`.
    fn into_webhook(self, unordered_concurrency: u16) -> Webhook {
        let r = self;
        let now = now_ms();
        let ordering = r.ordering;
        Webhook {
            id: r.id,
            project_id: r.project_id,
            tenant: r.tenant,
            url: r.url,
            description: r.description,
            events: r.events.0,
            enabled: r.enabled,
            scheme: r.scheme,
            ordering,
            default_concurrency: default_concurrency(
                ordering,
                r.ordering_key.is_some(),
                unordered_concurrency,
            ),
            ordering_key: r.ordering_key,
            max_concurrency: r.max_concurrency.and_then(|n| u16::try_from(n).ok()),
            rate_limit: r.rate_limit,
            disabled_reason: r.disabled_reason,
            previous_secret_expires_at: r.previous_expires_at.filter(|t| *t > now),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub enum Inserted {
    Yes(Box<Webhook>),
    DuplicateUrl,
}

/// Registers `w` (its id, project, tenant, URL and scheme, then its
/// settings as [`update`] writes them), with its sealed secret. The row's
/// triggers see an insert with the columns' defaults, then an update.
pub async fn insert(
    db: &Db,
    w: &Webhook,
    sealed_secret: &[u8],
    unordered_concurrency: u16,
) -> sqlx::Result<Inserted> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let result = crate::on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO webhooks (id, project_id, tenant, url, scheme, secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&w.id)
    .bind(&w.project_id)
    .bind(&w.tenant)
    .bind(&w.url)
    .bind(w.scheme.as_str())
    .bind(sealed_secret)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ()));
    match result {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Ok(Inserted::DuplicateUrl)
        }
        Err(e) => return Err(e),
    }
    write_settings(&mut tx, w, None, now).await?;
    tx.commit().await?;
    let made = get(db, &w.project_id, &w.id, unordered_concurrency).await?;
    Ok(Inserted::Yes(Box::new(
        made.ok_or(sqlx::Error::RowNotFound)?,
    )))
}

/// Active (not deleted) webhooks of a project, oldest first: all of them,
/// or one tenant's.
pub async fn list(
    db: &Db,
    project_id: &str,
    tenant: Option<&str>,
    unordered_concurrency: u16,
) -> sqlx::Result<Vec<Webhook>> {
    let rows: Vec<WebhookRow> = crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE project_id = $1 AND deleted_at IS NULL \
         AND purpose = 'events' AND ($2 IS NULL OR tenant = $2) ORDER BY created_at, id"
    ))
    .bind(project_id)
    .bind(tenant)
    .fetch_all(c)
    .await?);
    Ok(rows
        .into_iter()
        .map(|r| r.into_webhook(unordered_concurrency))
        .collect())
}

/// One active webhook of the project (another project's id finds nothing).
pub async fn get(
    db: &Db,
    project_id: &str,
    id: &str,
    unordered_concurrency: u16,
) -> sqlx::Result<Option<Webhook>> {
    let row: Option<WebhookRow> = crate::on_db!(db, c => sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE project_id = $1 AND id = $2 AND deleted_at IS NULL \
         AND purpose = 'events'"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(c)
    .await?);
    Ok(row.map(|r| r.into_webhook(unordered_concurrency)))
}

/// Writes the settings of a webhook (what a person may change), and
/// `enabled` when the change sets it (`None` keeps what the row has, so an
/// edit of the description cannot undo an automatic disable that happened
/// meanwhile). Returns whether an active webhook was changed.
pub async fn update(db: &Db, w: &Webhook, enabled: Option<bool>) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let changed = write_settings(&mut tx, w, enabled, now_ms()).await?;
    tx.commit().await?;
    Ok(changed)
}

/// The one statement that writes a webhook's settings, for [`insert`] and
/// [`update`]. Enabling clears an automatic disable's reason and, when the
/// webhook was disabled, starts a fresh failure run (the right-hand sides
/// read the row as it was).
async fn write_settings(
    tx: &mut Tx,
    w: &Webhook,
    enabled: Option<bool>,
    now: i64,
) -> sqlx::Result<bool> {
    crate::on_tx!(tx, c => sqlx::query(
        "UPDATE webhooks SET enabled = COALESCE($1, enabled), updated_at = $2, \
         description = $5, events = $6, ordering = $7, ordering_key = $8, max_concurrency = $9, \
         rate_limit = $10, \
         disabled_reason = CASE WHEN $1 THEN NULL ELSE disabled_reason END, \
         disabled_at = CASE WHEN $1 THEN NULL ELSE disabled_at END, \
         failed_deliveries = CASE WHEN $1 AND NOT enabled THEN 0 ELSE failed_deliveries END, \
         failing_since = CASE WHEN $1 AND NOT enabled THEN NULL ELSE failing_since END \
         WHERE project_id = $3 AND id = $4 AND deleted_at IS NULL",
    )
    .bind(enabled)
    .bind(now)
    .bind(&w.project_id)
    .bind(&w.id)
    .bind(&w.description)
    .bind(serde_json::to_string(&w.events).expect("strings serialize"))
    .bind(w.ordering.as_str())
    .bind(&w.ordering_key)
    .bind(w.max_concurrency.map(i64::from))
    .bind(w.rate_limit)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The channel on which a change to a webhook is told to every process
/// (the payload is its id): the owner of its lane forgets what it read of
/// it (secrets, state) and takes its new pace at once.
pub const CHANGED: &str = "signpost_webhooks";

/// On PostgreSQL, tells every process that the webhook changed (after the
/// change is committed); nothing on SQLite.
pub async fn notify_changed(db: &Db, id: &str) -> sqlx::Result<()> {
    let Db::Postgres(p) = db else {
        return Ok(());
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGED)
        .bind(id)
        .execute(p)
        .await
        .map(|_| ())
}

/// Soft delete; returns whether an active webhook was deleted.
pub async fn soft_delete(db: &Db, project_id: &str, id: &str) -> sqlx::Result<bool> {
    let now = now_ms();
    crate::on_db!(db, c => sqlx::query(
        "UPDATE webhooks SET deleted_at = $1, updated_at = $2, enabled = FALSE \
         WHERE project_id = $3 AND id = $4 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(now)
    .bind(project_id)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Replaces the secret; the old one stays valid until `previous_expires_at`
/// (none when the grace period is zero).
pub async fn rotate(
    db: &Db,
    project_id: &str,
    id: &str,
    sealed_secret: &[u8],
    previous_expires_at: Option<i64>,
) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE webhooks SET \
           previous_secret = CASE WHEN $1 IS NULL THEN NULL ELSE secret END, \
           previous_expires_at = $2, secret = $3, updated_at = $4 \
         WHERE project_id = $5 AND id = $6 AND deleted_at IS NULL",
    )
    .bind(previous_expires_at)
    .bind(previous_expires_at)
    .bind(sealed_secret)
    .bind(now_ms())
    .bind(project_id)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Ends a rotation's grace period now: only the new secret signs.
pub async fn finish_rotation(db: &Db, project_id: &str, id: &str) -> sqlx::Result<bool> {
    crate::on_db!(db, c => sqlx::query(
        "UPDATE webhooks SET previous_secret = NULL, previous_expires_at = NULL, updated_at = $1 \
         WHERE project_id = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(now_ms())
    .bind(project_id)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

// ---------------------------------------------------------------- the delivery engine's reads and writes

/// An enabled webhook an event may go to.
#[derive(sqlx::FromRow)]
pub struct Subscriber {
    pub id: String,
    pub events: String,
    pub ordering: Ordering,
    /// Its ordering key's pointer.
    pub ordering_key: Option<String>,
    pub max_concurrency: Option<i64>,
    pub rate_limit: Option<f64>,
    pub updated_at: i64,
}

impl Subscriber {
    pub fn pace(&self) -> Pace {
        Pace::of(
            self.ordering,
            self.ordering_key.is_some(),
            self.max_concurrency,
            self.rate_limit,
            self.updated_at,
        )
    }
}

/// A webhook's pace, as the scheduler needs it (`None`: no such webhook).
pub async fn pace(db: &Db, id: &str) -> sqlx::Result<Option<Pace>> {
    type Row = (Ordering, bool, Option<i64>, Option<f64>, i64);
    let row: Option<Row> = crate::on_db!(db, c => sqlx::query_as(
        "SELECT ordering, ordering_key IS NOT NULL, max_concurrency, rate_limit, updated_at \
         FROM webhooks WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?);
    Ok(row.map(|(ordering, keyed, n, rate, at)| Pace::of(ordering, keyed, n, rate, at)))
}

/// The project's webhooks version: bumped (by triggers) whenever a webhook
/// of it is added or its state, filter, tenant or pace changes; 0 for no
/// such project.
pub async fn version(db: &Db, project_id: &str) -> sqlx::Result<i64> {
    crate::on_db!(db, c => sqlx::query_scalar::<_, i64>(
        "SELECT webhooks_version FROM projects WHERE id = $1"
    )
    .bind(project_id)
    .fetch_optional(c)
    .await)
    .map(Option::unwrap_or_default)
}

/// The enabled webhooks of a project that an event of `tenant` goes to
/// (`None`: the project's own, which have no tenant), oldest first.
pub async fn subscribers(
    db: &Db,
    project_id: &str,
    tenant: Option<&str>,
) -> sqlx::Result<Vec<Subscriber>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, events, ordering, ordering_key, max_concurrency, rate_limit, updated_at \
         FROM webhooks \
         WHERE project_id = $1 AND enabled = TRUE AND deleted_at IS NULL \
         AND purpose = 'events' AND coalesce(tenant, '') = $2 ORDER BY created_at, id",
    )
    .bind(project_id)
    .bind(tenant.unwrap_or(""))
    .fetch_all(c)
    .await)
}

/// One enabled webhook of the project, whatever its tenant or purpose
/// (a test send, an alert): `to` of a publish call.
pub async fn subscriber(db: &Db, project_id: &str, id: &str) -> sqlx::Result<Vec<Subscriber>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT id, events, ordering, ordering_key, max_concurrency, rate_limit, updated_at \
         FROM webhooks WHERE project_id = $1 AND id = $2 AND enabled = TRUE \
         AND deleted_at IS NULL",
    )
    .bind(project_id)
    .bind(id)
    .fetch_all(c)
    .await)
}

/// The signing material and state of one webhook, for the worker.
#[derive(sqlx::FromRow)]
pub struct TargetRow {
    pub url: String,
    pub scheme: Scheme,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_expires_at: Option<i64>,
    pub enabled: bool,
    pub deleted_at: Option<i64>,
    pub ordering: Ordering,
    /// Its project's name (for the metrics' labels).
    pub project: String,
}

pub async fn target(db: &Db, webhook_id: &str) -> sqlx::Result<Option<TargetRow>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT url, scheme, secret, previous_secret, previous_expires_at, enabled, deleted_at, \
         ordering, coalesce((SELECT name FROM projects p WHERE p.id = webhooks.project_id), '') \
           AS project \
         FROM webhooks WHERE id = $1",
    )
    .bind(webhook_id)
    .fetch_optional(c)
    .await)
}

/// Webhooks whose deliveries in a group all succeeded: no failure run.
pub async fn clear_failures(tx: &mut Tx, webhook_ids: &[&str]) -> sqlx::Result<()> {
    if webhook_ids.is_empty() {
        return Ok(());
    }
    const SET: &str = "UPDATE webhooks SET failed_deliveries = 0, failing_since = NULL WHERE";
    const RUN: &str = "AND (failed_deliveries <> 0 OR failing_since IS NOT NULL)";
    match tx {
        Tx::Sqlite(t) => {
            sqlx::query(&format!(
                "{SET} id IN (SELECT value FROM json_each($1)) {RUN}"
            ))
            .bind(serde_json::to_string(webhook_ids).expect("strings serialize"))
            .execute(&mut **t)
            .await?;
        }
        Tx::Postgres(t) => {
            sqlx::query(&format!("{SET} id = ANY($1) {RUN}"))
                .bind(webhook_ids)
                .execute(&mut **t)
                .await?;
        }
    }
    Ok(())
}

/// Auto-disable bookkeeping for one webhook after a group of finished
/// deliveries: `reset` when one of them succeeded, then `failures` failed
/// deliveries after it, the first at `first_failure_at`.
pub async fn track_failures(
    tx: &mut Tx,
    webhook_id: &str,
    reset: bool,
    failures: i64,
    first_failure_at: i64,
) -> sqlx::Result<()> {
    let sql = if reset {
        "UPDATE webhooks SET failed_deliveries = $1, \
         failing_since = CASE WHEN $1 > 0 THEN $2 ELSE NULL END WHERE id = $3"
    } else {
        "UPDATE webhooks SET failed_deliveries = failed_deliveries + $1, \
         failing_since = COALESCE(failing_since, $2) WHERE id = $3"
    };
    crate::on_tx!(tx, c => sqlx::query(sql)
        .bind(failures)
        .bind(first_failure_at)
        .bind(webhook_id)
        .execute(&mut *c)
        .await
        .map(|_| ()))
}

/// Disables the webhook, with a reason, if it is still enabled and (unless
/// `at_once`) has failed long and often enough. Returns whether it did.
pub async fn auto_disable(
    tx: &mut Tx,
    webhook_id: &str,
    reason: &str,
    at_once: bool,
    failing_before: i64,
    min_failures: i64,
    now: i64,
) -> sqlx::Result<bool> {
    crate::on_tx!(tx, c => sqlx::query(
        "UPDATE webhooks SET enabled = FALSE, disabled_reason = $1, disabled_at = $2, updated_at = $3 \
         WHERE id = $4 AND enabled = TRUE AND deleted_at IS NULL \
           AND ($5 OR (failing_since <= $6 AND failed_deliveries >= $7))",
    )
    .bind(reason)
    .bind(now)
    .bind(now)
    .bind(webhook_id)
    .bind(at_once)
    .bind(failing_before)
    .bind(min_failures)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected() == 1))
}
