//! The webhooks the worker sends to, read from the database with their
//! secrets opened, and kept a few seconds.

use super::signer::Keys;
use crate::server::db::{self, now_ms, Db};
use crate::server::secrets::SecretBox;
use crate::server::url_guard::{self, AllowList, Refusal};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A webhook read from the database is used this long before it is read again
/// (changes made in this process are seen at once: see `Handle::webhook_changed`).
const TARGET_TTL: Duration = Duration::from_secs(5);

/// A webhook as the worker needs it.
pub struct Target {
    /// The URL, parsed and statically checked once per read (scheme,
    /// credentials, literal addresses); the resolver checks names.
    pub url: Result<reqwest::Url, Refusal>,
    pub keys: Keys,
    pub previous_expires_at: Option<i64>,
    /// Why not to send at all: disabled or deleted.
    pub inactive: Option<&'static str>,
    /// Its project's name.
    pub project: Arc<str>,
    read_at: Instant,
}

/// Why a webhook could not be read.
#[derive(Debug)]
pub enum TargetError {
    /// The database did not answer: it may next time.
    Database(sqlx::Error),
    /// A signing secret does not open with this key: it never will.
    Secret(anyhow::Error),
}

/// Webhooks read from the database, with their secrets opened.
#[derive(Clone)]
pub struct Targets {
    db: Db,
    secrets: SecretBox,
    allow: AllowList,
    cache: Arc<RwLock<HashMap<Arc<str>, Arc<Target>>>>,
}

impl Targets {
    pub fn new(db: Db, secrets: SecretBox, allow: AllowList) -> Targets {
        Targets {
            db,
            secrets,
            allow,
            cache: Default::default(),
        }
    }

    pub fn forget(&self, webhook_id: &str) {
        self.cache.write().expect("not poisoned").remove(webhook_id);
    }

    pub async fn get(&self, webhook_id: &Arc<str>) -> Result<Option<Arc<Target>>, TargetError> {
        if let Some(t) = self.cache.read().expect("not poisoned").get(webhook_id) {
            if t.read_at.elapsed() < TARGET_TTL {
                return Ok(Some(t.clone()));
            }
        }
        let Some(row) = db::webhooks::target(&self.db, webhook_id)
            .await
            .map_err(TargetError::Database)?
        else {
            return Ok(None);
        };
        let now = now_ms();
        let previous = match (row.previous_secret, row.previous_expires_at) {
            (Some(sealed), Some(until)) if until > now => {
                Some(self.secrets.open(&sealed).map_err(TargetError::Secret)?)
            }
            _ => None,
        };
        let target = Arc::new(Target {
            url: url_guard::check_static(&row.url, &self.allow).map(|p| p.url),
            keys: Keys {
                scheme: row.scheme,
                current: self
                    .secrets
                    .open(&row.secret)
                    .map_err(TargetError::Secret)?,
                previous,
            },
            previous_expires_at: row.previous_expires_at.filter(|t| *t > now),
            inactive: if row.deleted_at.is_some() {
                Some("The webhook was deleted")
            } else if !row.enabled {
                Some("The webhook is disabled")
            } else {
                None
            },
            project: row.project.into(),
            read_at: Instant::now(),
        });
        self.cache
            .write()
            .expect("not poisoned")
            .insert(webhook_id.clone(), target.clone());
        Ok(Some(target))
    }
}
