//! Who an event goes to: each project's (and tenant's) enabled webhooks,
//! read once and kept until one of them changes, with their filters
//! indexed by event name. A publish call asks the project's
//! `webhooks_version` (one primary-key read; triggers on `webhooks` bump it
//! when a webhook is added, enabled, disabled, deleted, or its filter,
//! tenant or pace changes) instead of reading and parsing every webhook of
//! the project: with 1,000 webhooks that read was most of a call's cost.

use super::messages::Pace;
use crate::server::db::{self, webhooks::Subscriber, Db};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Scopes (project, tenant) kept; past it the cache starts over.
const MAX_SCOPES: usize = 10_000;

/// One scope's enabled webhooks, as of a version of its project's.
pub struct Subscribers {
    version: i64,
    pub list: Vec<Subscriber>,
    pub paces: Vec<Pace>,
    /// Indexes into `list`: the webhooks that take every event (`*`)...
    every: Vec<usize>,
    /// ...and, by event name, those that name it.
    by_name: HashMap<String, Vec<usize>>,
}

impl Subscribers {
    /// Webhooks read for one call (a test send's), not kept.
    pub fn new_unversioned(list: Vec<Subscriber>) -> Subscribers {
        Subscribers::new(-1, list)
    }

    fn new(version: i64, list: Vec<Subscriber>) -> Subscribers {
        let mut every = Vec::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            let filter: Vec<String> = serde_json::from_str(&s.events).unwrap_or_default();
            if filter.iter().any(|n| n == "*") {
                every.push(i);
            } else {
                for name in filter {
                    let entry = by_name.entry(name).or_default();
                    if entry.last() != Some(&i) {
                        entry.push(i);
                    }
                }
            }
        }
        let paces = list.iter().map(|s| s.pace()).collect();
        Subscribers {
            version,
            list,
            paces,
            every,
            by_name,
        }
    }

    /// The webhooks an event of this name goes to, oldest first (the order
    /// deliveries are queued in).
    pub fn of(&self, event: &str) -> Vec<usize> {
        let named = self.by_name.get(event).map_or(&[][..], Vec::as_slice);
        let mut out = Vec::with_capacity(self.every.len() + named.len());
        out.extend_from_slice(&self.every);
        out.extend_from_slice(named);
        out.sort_unstable();
        out
    }
}

/// A project and a tenant (`None`: the project's own webhooks).
type ScopeKey = (String, Option<String>);

/// Each scope's subscribers, kept per process.
#[derive(Default)]
pub struct Cache {
    scopes: Mutex<HashMap<ScopeKey, Arc<Subscribers>>>,
}

impl Cache {
    /// The enabled webhooks an event of `tenant` goes to in `project_id`
    /// (`None`: the project's own).
    pub async fn of(
        &self,
        db: &Db,
        project_id: &str,
        tenant: Option<&str>,
    ) -> sqlx::Result<Arc<Subscribers>> {
        // The version first, then the rows: rows newer than their version
        // are read again next time; the other way round, older rows could
        // be kept under a newer version.
        let version = db::webhooks::version(db, project_id).await?;
        let key = (project_id.to_string(), tenant.map(str::to_string));
        if let Some(s) = self.scopes.lock().expect("not poisoned").get(&key) {
            if s.version == version {
                return Ok(s.clone());
            }
        }
        let list = db::webhooks::subscribers(db, project_id, tenant).await?;
        let fresh = Arc::new(Subscribers::new(version, list));
        let mut scopes = self.scopes.lock().expect("not poisoned");
        if scopes.len() >= MAX_SCOPES {
            scopes.clear();
        }
        scopes.insert(key, fresh.clone());
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, events: &str) -> Subscriber {
        Subscriber {
            id: id.into(),
            events: events.into(),
            ordering: crate::model::Ordering::Ordered,
            ordering_key: None,
            max_concurrency: None,
            rate_limit: None,
            updated_at: 0,
        }
    }

    #[test]
    fn an_event_goes_to_every_webhook_naming_it_or_taking_all_in_order() {
        let s = Subscribers::new(
            1,
            vec![
                sub("a", r#"["order.paid"]"#),
                sub("b", r#"["*"]"#),
                sub("c", r#"["order.created", "order.paid", "order.paid"]"#),
                sub("d", r#"["other"]"#),
                sub("e", "not json"),
            ],
        );
        assert_eq!(s.of("order.paid"), [0, 1, 2]);
        assert_eq!(s.of("order.created"), [1, 2]);
        assert_eq!(s.of("nothing"), [1]);
        assert_eq!(s.paces.len(), 5);
    }
}
