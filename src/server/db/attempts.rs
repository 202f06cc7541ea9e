//! `attempts`: every HTTP attempt of a delivery (or the reason there was none).

use super::events::CHUNK;
use super::{Db, Tx};
use sqlx::QueryBuilder;

/// One attempt's record.
pub struct AttemptRow {
    pub number: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    pub request_headers: String,
    pub response_status: Option<i64>,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub error_kind: Option<&'static str>,
    pub error_message: Option<String>,
}

/// Inserts attempts, each with its delivery's `seq`: one multi-row
/// statement per 128 of them.
pub async fn insert(tx: &mut Tx, rows: &[(i64, &AttemptRow)]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        // One statement of arrays: the same text whatever the count.
        let col = |f: fn(&(i64, &AttemptRow)) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
        let seqs = col(|r| r.0);
        let numbers = col(|r| r.1.number);
        let started = col(|r| r.1.started_at);
        let durations = col(|r| r.1.duration_ms);
        let request_headers: Vec<&str> =
            rows.iter().map(|r| r.1.request_headers.as_str()).collect();
        let statuses: Vec<Option<i64>> = rows.iter().map(|r| r.1.response_status).collect();
        let response_headers: Vec<Option<&str>> = rows
            .iter()
            .map(|r| r.1.response_headers.as_deref())
            .collect();
        let bodies: Vec<Option<&[u8]>> =
            rows.iter().map(|r| r.1.response_body.as_deref()).collect();
        let kinds: Vec<Option<&str>> = rows.iter().map(|r| r.1.error_kind).collect();
        let messages: Vec<Option<&str>> =
            rows.iter().map(|r| r.1.error_message.as_deref()).collect();
        return sqlx::query(
            "INSERT INTO attempts (delivery_seq, number, started_at, duration_ms, request_headers, \
             response_status, response_headers, response_body, error_kind, error_message) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], \
               $5::text[], $6::bigint[], $7::text[], $8::bytea[], $9::text[], $10::text[])",
        )
        .bind(&seqs)
        .bind(&numbers)
        .bind(&started)
        .bind(&durations)
        .bind(&request_headers)
        .bind(&statuses)
        .bind(&response_headers)
        .bind(&bodies)
        .bind(&kinds)
        .bind(&messages)
        .execute(&mut **t)
        .await
        .map(|_| ());
    }
    for chunk in rows.chunks(CHUNK) {
        crate::on_tx!(tx, c, DB => {
        let mut q: QueryBuilder<DB> = QueryBuilder::new(
            "INSERT INTO attempts (delivery_seq, number, started_at, duration_ms, request_headers, \
             response_status, response_headers, response_body, error_kind, error_message) ",
        );
        q.push_values(chunk, |mut row, (seq, a)| {
            row.push_bind(*seq)
                .push_bind(a.number)
                .push_bind(a.started_at)
                .push_bind(a.duration_ms)
                .push_bind(&a.request_headers)
                .push_bind(a.response_status)
                .push_bind(&a.response_headers)
                .push_bind(&a.response_body)
                .push_bind(a.error_kind)
                .push_bind(&a.error_message);
        });
        q.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// The first attempt of a delivery, when there is one: (status, error, ms).
pub async fn first(
    db: &Db,
    delivery_id: &str,
) -> sqlx::Result<Option<(Option<i64>, Option<String>, i64)>> {
    crate::on_db!(db, c => sqlx::query_as(
        "SELECT a.response_status, a.error_message, a.duration_ms FROM attempts a \
         JOIN deliveries d ON d.seq = a.delivery_seq WHERE d.id = $1 AND a.number = 1",
    )
    .bind(delivery_id)
    .fetch_optional(c)
    .await)
}

/// Deletes the attempts of the deliveries `seqs`.
pub async fn delete_of(tx: &mut Tx, seqs: &[i64]) -> sqlx::Result<()> {
    match tx {
        Tx::Sqlite(t) => sqlx::query(
            "DELETE FROM attempts WHERE delivery_seq IN (SELECT value FROM json_each($1))",
        )
        .bind(serde_json::to_string(seqs).expect("integers serialize"))
        .execute(&mut **t)
        .await
        .map(|_| ()),
        Tx::Postgres(t) => sqlx::query("DELETE FROM attempts WHERE delivery_seq = ANY($1)")
            .bind(seqs)
            .execute(&mut **t)
            .await
            .map(|_| ()),
    }
}
