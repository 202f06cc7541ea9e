//! Alert emails: the outbox, sent over SMTP and tried again.

use super::rows;
use crate::server::db::now_ms;
use crate::server::state::AppState;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Tries after a failure: `--alert-email-retry-ms` (30 s), doubling, at
/// most an hour apart, 12 times.
const MAX_TRIES: i64 = 12;

fn retry_after_ms(first: u64, attempts: i64) -> i64 {
    ((first.min(3_600_000) as i64) << attempts.clamp(0, 7)).min(3_600_000)
}

pub(super) async fn send_loop(
    state: AppState,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every.min(Duration::from_secs(5)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = send_due(&state, &transport).await {
            tracing::warn!("sending alert emails: {e}");
        }
    }
}

/// Sends what is due; a failure is tried again later, never blocks the rest.
async fn send_due(
    state: &AppState,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
) -> anyhow::Result<()> {
    let from: Mailbox = state.config.alerts.smtp_from.parse()?;
    for e in rows::due(&state.db, 50).await? {
        // Taken for two minutes: another process that read it due leaves it.
        if !rows::claim(&state.db, e.id, e.next_at, now_ms() + 120_000).await? {
            continue;
        }
        // Well within the claim, whatever the server does step by step.
        let sent = match message(&from, &e) {
            Ok(m) => match tokio::time::timeout(Duration::from_secs(60), transport.send(m)).await {
                Ok(r) => r.map(|_| ()).map_err(|e| e.to_string()),
                Err(_) => Err("the mail server took more than 60 s".into()),
            },
            Err(err) => Err(err),
        };
        match sent {
            Ok(()) => rows::sent(&state.db, e.id).await?,
            Err(err) => {
                let tries = e.attempts + 1;
                tracing::warn!(to = %e.to_address, tries, "an alert email failed: {err}");
                let next = match tries >= MAX_TRIES {
                    true => i64::MAX / 2, // given up
                    false => {
                        let first = state.config.alerts.alert_email_retry_ms;
                        now_ms() + retry_after_ms(first, e.attempts)
                    }
                };
                rows::failed(&state.db, e.id, next, &err).await?;
            }
        }
    }
    Ok(())
}

fn message(from: &Mailbox, e: &rows::Queued) -> Result<Message, String> {
    let to: Mailbox = e.to_address.parse().map_err(|err| format!("{err}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(e.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(e.text_body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(e.html_body.clone()),
                ),
        )
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_and_stop_at_an_hour() {
        assert_eq!(retry_after_ms(30_000, 0), 30_000);
        assert_eq!(retry_after_ms(30_000, 1), 60_000);
        assert_eq!(retry_after_ms(30_000, 6), 1_920_000);
        assert_eq!(retry_after_ms(30_000, 7), 3_600_000);
        assert_eq!(retry_after_ms(30_000, 50), 3_600_000);
        assert_eq!(retry_after_ms(100, 2), 400);
    }
}
