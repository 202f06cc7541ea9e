//! The event catalog's rules, shared by the dashboard and the HTTP API:
//! event types with a description, an optional JSON Schema and an example;
//! and the check of published events against their type's schema.
//!
//! Each project's schemas are compiled once and kept until its catalog
//! changes: a publish reads the project's `catalog_version` (one indexed
//! read) and compiles again only when it moved, so a change made through
//! any process is in force for the next publish.

use super::db::activity::{self, Actor};
use super::db::event_types::{self, EventTypeRow};
use super::delivery::ingest::Incoming;
use super::state::AppState;
use crate::model::{
    is_event_name, AppError, EventType, MAX_EVENT_NAME, MAX_EVENT_TYPES, MAX_TYPE_DESCRIPTION,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Projects whose compiled schemas are kept; past it the cache starts over.
const MAX_CACHED_PROJECTS: usize = 10_000;

/// One project's compiled schemas, as of a catalog version.
struct Compiled {
    version: i64,
    by_name: HashMap<String, Arc<jsonschema::Validator>>,
}

/// Compiled schemas per project.
#[derive(Default)]
pub struct Catalog {
    projects: Mutex<HashMap<String, Arc<Compiled>>>,
}

/// Compiles a schema; a schema that is not valid JSON Schema, or that
/// refers outside itself, says why.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    if !schema.is_object() {
        return Err("A schema is a JSON object".into());
    }
    jsonschema::validator_for(schema).map_err(|e| format!("The schema is not valid: {e}"))
}

/// The first way `event` fails `schema`: where, and what.
fn failure(schema: &jsonschema::Validator, event: &Value) -> Option<String> {
    let e = schema.iter_errors(event).next()?;
    let path = e.instance_path().as_str();
    let path = if path.is_empty() { "/" } else { path };
    Some(format!("{path}: {}", e.masked_with("the value")))
}

impl Catalog {
    /// The project's compiled schemas, compiled again if its catalog moved.
    async fn of(&self, db: &super::db::Db, project_id: &str) -> Result<Arc<Compiled>, AppError> {
        let version = event_types::version(db, project_id).await?.unwrap_or(0);
        if let Some(c) = self.projects.lock().expect("not poisoned").get(project_id) {
            if c.version == version {
                return Ok(c.clone());
            }
        }
        let mut by_name = HashMap::new();
        for (name, text) in event_types::schemas(db, project_id).await? {
            // Stored schemas were compiled when saved; one that no longer
            // compiles (a newer crate's rules) checks nothing rather than
            // refusing every event.
            let Ok(schema) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            match compile(&schema) {
                Ok(v) => {
                    by_name.insert(name, Arc::new(v));
                }
                Err(e) => tracing::warn!(project = project_id, name, "schema skipped: {e}"),
            }
        }
        let compiled = Arc::new(Compiled { version, by_name });
        let mut projects = self.projects.lock().expect("not poisoned");
        if projects.len() >= MAX_CACHED_PROJECTS {
            projects.clear();
        }
        projects.insert(project_id.to_string(), compiled.clone());
        Ok(compiled)
    }

    /// Checks each event whose type has a schema; the first that fails is
    /// a 422 naming it (in a batch, by its index) and the failing path.
    pub async fn check(
        &self,
        db: &super::db::Db,
        project_id: &str,
        events: &[Incoming],
        batch: bool,
    ) -> Result<(), AppError> {
        let compiled = self.of(db, project_id).await?;
        if compiled.by_name.is_empty() {
            return Ok(());
        }
        for (i, e) in events.iter().enumerate() {
            let Some(schema) = compiled.by_name.get(&e.name) else {
                continue;
            };
            let value: Value = serde_json::from_slice(&e.body)
                .map_err(|e| AppError::Invalid(format!("Invalid JSON: {e}")))?;
            if let Some(why) = failure(schema, &value) {
                let what = if batch {
                    format!(
                        "Event {i} of the batch ({}) does not match its schema",
                        e.name
                    )
                } else {
                    format!("The event does not match the schema of {}", e.name)
                };
                return Err(AppError::Invalid(format!("{what}: {why}")));
            }
        }
        Ok(())
    }
}

fn pretty(text: Option<String>) -> Option<String> {
    text.map(|t| match serde_json::from_str::<Value>(&t) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or(t),
        Err(_) => t,
    })
}

fn model(r: EventTypeRow) -> EventType {
    EventType {
        name: r.name,
        description: r.description,
        schema: pretty(r.schema),
        example: pretty(r.example),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The project's event types, by name.
pub async fn list(state: &AppState, project_id: &str) -> Result<Vec<EventType>, AppError> {
    super::projects::get(state, project_id).await?;
    Ok(event_types::list(&state.db, project_id)
        .await?
        .into_iter()
        .map(model)
        .collect())
}

pub async fn get(state: &AppState, project_id: &str, name: &str) -> Result<EventType, AppError> {
    super::projects::get(state, project_id).await?;
    event_types::get(&state.db, project_id, name)
        .await?
        .map(model)
        .ok_or(AppError::NotFound)
}

/// What a person or the API sends to save a type.
pub struct NewType {
    pub description: String,
    pub schema: Option<Value>,
    pub example: Option<Value>,
}

/// Checks a type: its name, description, schema (it compiles) and example
/// (an object; its `event`, if any, is the type's name; it passes the
/// schema). Returns the schema and example as stored (the example with its
/// `event`).
fn checked(name: &str, t: &NewType) -> Result<(Option<String>, Option<String>), AppError> {
    if !is_event_name(name) {
        return Err(AppError::Invalid(format!(
            "{name:?} is not an event name: 1 to {MAX_EVENT_NAME} letters, digits and . _ - :"
        )));
    }
    if t.description.chars().count() > MAX_TYPE_DESCRIPTION {
        return Err(AppError::Invalid(format!(
            "A description is at most {MAX_TYPE_DESCRIPTION} characters"
        )));
    }
    let schema = t
        .schema
        .as_ref()
        .map(|s| compile(s).map(|v| (s, v)))
        .transpose()
        .map_err(AppError::Invalid)?;
    let example = match &t.example {
        None => None,
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            match map.get("event") {
                None => {
                    map.insert("event".into(), Value::String(name.into()));
                }
                Some(Value::String(n)) if n == name => {}
                Some(_) => {
                    return Err(AppError::Invalid(format!(
                        "The example's \"event\" must be {name:?}"
                    )))
                }
            }
            let example = Value::Object(map);
            if let Some((_, validator)) = &schema {
                if let Some(why) = failure(validator, &example) {
                    return Err(AppError::Invalid(format!(
                        "The example does not match the schema: {why}"
                    )));
                }
            }
            Some(example.to_string())
        }
        Some(_) => return Err(AppError::Invalid("An example is a JSON object".into())),
    };
    Ok((schema.map(|(s, _)| s.to_string()), example))
}

/// Creates or replaces a type; returns it and whether it is new.
pub async fn put(
    state: &AppState,
    project_id: &str,
    name: &str,
    t: NewType,
    actor: &Actor<'_>,
) -> Result<(EventType, bool), AppError> {
    super::projects::get(state, project_id).await?;
    let (schema, example) = checked(name, &t)?;
    let exists = event_types::get(&state.db, project_id, name)
        .await?
        .is_some();
    if !exists && event_types::count(&state.db, project_id).await? >= MAX_EVENT_TYPES {
        return Err(AppError::Invalid(format!(
            "A project has at most {MAX_EVENT_TYPES} event types"
        )));
    }
    let created = event_types::put(
        &state.db,
        project_id,
        name,
        &t.description,
        schema.as_deref(),
        example.as_deref(),
    )
    .await?;
    activity::record(
        &state.db,
        Some(project_id),
        actor,
        if created {
            "event_type.created"
        } else {
            "event_type.updated"
        },
        name,
        if schema.is_some() {
            "with a schema"
        } else {
            ""
        },
    )
    .await?;
    Ok((get(state, project_id, name).await?, created))
}

pub async fn delete(
    state: &AppState,
    project_id: &str,
    name: &str,
    actor: &Actor<'_>,
) -> Result<(), AppError> {
    super::projects::get(state, project_id).await?;
    if !event_types::delete(&state.db, project_id, name).await? {
        return Err(AppError::NotFound);
    }
    activity::record(
        &state.db,
        Some(project_id),
        actor,
        "event_type.deleted",
        name,
        "",
    )
    .await?;
    Ok(())
}

/// The example a test send to a webhook with `filter` uses: that of the
/// first type (by name) the filter takes that has one.
pub async fn example_for(
    state: &AppState,
    project_id: &str,
    filter: &[String],
) -> Result<Option<String>, AppError> {
    let all = filter.iter().any(|n| n == "*");
    Ok(event_types::list(&state.db, project_id)
        .await?
        .into_iter()
        .filter(|t| all || filter.contains(&t.name))
        .find_map(|t| t.example))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failure_names_the_path_and_what_was_expected() {
        let schema = compile(&json!({
            "type": "object",
            "required": ["orderId"],
            "properties": {
                "orderId": {"type": "string"},
                "items": {"type": "array", "items": {"properties": {"qty": {"type": "integer", "minimum": 1}}}}
            }
        }))
        .unwrap();
        let why = failure(&schema, &json!({"orderId": 42})).unwrap();
        assert!(why.starts_with("/orderId: "), "{why}");
        assert!(why.contains("string"), "{why}");
        let why = failure(
            &schema,
            &json!({"orderId": "o", "items": [{"qty": 1}, {"qty": 0}]}),
        )
        .unwrap();
        assert!(why.starts_with("/items/1/qty: "), "{why}");
        let why = failure(&schema, &json!({})).unwrap();
        assert!(why.starts_with("/: "), "{why}");
        assert!(why.contains("orderId"), "{why}");
        assert!(failure(&schema, &json!({"orderId": "o"})).is_none());
    }

    #[test]
    fn invalid_schemas_and_outside_references_are_refused() {
        for bad in [
            json!({"type": "invalid_type"}),
            json!({"minimum": "ten"}),
            json!({"$ref": "https://example.com/schema.json"}),
            json!({"$ref": "file:///etc/passwd"}),
            json!(true),
            json!([]),
        ] {
            assert!(compile(&bad).is_err(), "{bad}");
        }
        assert!(compile(&json!({"$defs": {"id": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/id"}}})).is_ok());
    }

    #[test]
    fn an_example_gets_its_event_and_must_match() {
        let t = |schema: Option<Value>, example: Value| NewType {
            description: String::new(),
            schema,
            example: Some(example),
        };
        let (_, example) = checked("order.paid", &t(None, json!({"id": 1}))).unwrap();
        let example: Value = serde_json::from_str(&example.unwrap()).unwrap();
        assert_eq!(example["event"], "order.paid");
        assert!(checked("order.paid", &t(None, json!({"event": "other"}))).is_err());
        assert!(checked("order.paid", &t(None, json!([1]))).is_err());
        let schema = json!({"required": ["id"], "properties": {"id": {"type": "string"}}});
        let err = checked("order.paid", &t(Some(schema), json!({"id": 1}))).unwrap_err();
        assert!(matches!(err, AppError::Invalid(m) if m.contains("/id")));
        assert!(checked("has space", &t(None, json!({}))).is_err());
    }
}
