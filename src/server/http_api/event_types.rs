//! The event catalog over HTTP: `PUT`/`GET`/`DELETE
//! /projects/{pid}/event-types/{name}` and `GET …/event-types`. The rules
//! are in `crate::server::catalog`.

use super::envelope::{iso, ok, ApiError, ApiJson, ApiPath};
use super::webhooks::ErrorEnvelope;
use crate::model::EventType;
use crate::server::catalog::{self, NewType};
use crate::server::db::activity::Actor;
use crate::server::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeBody {
    /// What the event means, for the people who read the catalog.
    #[serde(default)]
    #[schema(max_length = 1000)]
    description: String,
    /// A JSON Schema (a JSON object; `$ref`s only within it). Publishing an
    /// event of this name that does not match it is refused with `422`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    /// An example event (a JSON object; its `event` is set to the name):
    /// test sends use it. It must match the schema.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    example: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeDto {
    name: String,
    description: String,
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    #[schema(value_type = Option<Object>)]
    example: Option<Value>,
    created_at: String,
    updated_at: String,
}

impl From<EventType> for EventTypeDto {
    fn from(t: EventType) -> Self {
        let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        EventTypeDto {
            name: t.name,
            description: t.description,
            schema: json(t.schema),
            example: json(t.example),
            created_at: iso(t.created_at),
            updated_at: iso(t.updated_at),
        }
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventTypeEnvelope {
    succeed: bool,
    data: EventTypeDto,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventTypeListEnvelope {
    succeed: bool,
    data: Vec<EventTypeDto>,
}

const API: Actor<'static> = Actor::API;

/// Create or replace an event type.
#[utoipa::path(
    put, path = "/projects/{projectId}/event-types/{name}", tag = "event-types",
    params(("projectId" = String, Path), ("name" = String, Path, description = "An event name: letters, digits and . _ - :")),
    request_body = EventTypeBody,
    responses(
        (status = 200, body = EventTypeEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A bad name, an invalid schema, or an example that does not match it"),
    ),
    security(("basic" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    ApiPath((pid, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<EventTypeBody>,
) -> Result<Response, ApiError> {
    let t = NewType {
        description: body.description,
        schema: body.schema,
        example: body.example,
    };
    let (saved, _) = catalog::put(&state, &pid, &name, t, &API).await?;
    Ok(ok(EventTypeDto::from(saved)))
}

/// The project's event types, by name.
#[utoipa::path(
    get, path = "/projects/{projectId}/event-types", tag = "event-types",
    params(("projectId" = String, Path)),
    responses((status = 200, body = EventTypeListEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Response, ApiError> {
    let types = catalog::list(&state, &pid).await?;
    Ok(ok(types
        .into_iter()
        .map(EventTypeDto::from)
        .collect::<Vec<_>>()))
}

/// One event type.
#[utoipa::path(
    get, path = "/projects/{projectId}/event-types/{name}", tag = "event-types",
    params(("projectId" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = EventTypeEnvelope), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((pid, name)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let t = catalog::get(&state, &pid, &name).await?;
    Ok(ok(EventTypeDto::from(t)))
}

/// Delete an event type: its events are no longer checked.
#[utoipa::path(
    delete, path = "/projects/{projectId}/event-types/{name}", tag = "event-types",
    params(("projectId" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "Deleted"), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("basic" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath((pid, name)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    catalog::delete(&state, &pid, &name, &API).await?;
    Ok(ok(serde_json::json!({ "name": name, "deleted": true })))
}
