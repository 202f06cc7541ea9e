//! The event catalog's page.

use crate::model::{AppError, EventType};
use leptos::prelude::*;

/// The project's event types, by name.
#[server(endpoint = "catalog/list")]
pub async fn list_event_types(project_id: String) -> Result<Vec<EventType>, AppError> {
    use crate::server::{catalog, context};
    context::respond(async {
        // A portal reads the catalog too: its developers build receivers.
        let s = context::in_scope(&project_id).await?;
        catalog::list(&s.cx.state, &s.scope.project_id).await
    })
    .await
}

/// Creates or replaces a type. `schema` and `example` are JSON text (empty:
/// none).
#[server(endpoint = "catalog/save")]
pub async fn save_event_type(
    project_id: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] schema: String,
    #[server(default)] example: String,
) -> Result<EventType, AppError> {
    use crate::server::{catalog, context};
    context::respond(async {
        let s = context::to_change_project(&project_id).await?;
        let json = |what: &str, text: &str| -> Result<Option<serde_json::Value>, AppError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| AppError::Invalid(format!("The {what} is not JSON: {e}")))
        };
        let t = catalog::NewType {
            description: description.trim().to_string(),
            schema: json("schema", &schema)?,
            example: json("example", &example)?,
        };
        let (saved, _) =
            catalog::put(&s.cx.state, &s.scope.project_id, name.trim(), t, &s.actor()).await?;
        context::form_done("type-saved");
        Ok(saved)
    })
    .await
}

#[server(endpoint = "catalog/delete")]
pub async fn delete_event_type(project_id: String, name: String) -> Result<(), AppError> {
    use crate::server::{catalog, context};
    context::respond(async {
        let s = context::to_change_project(&project_id).await?;
        catalog::delete(&s.cx.state, &s.scope.project_id, &name, &s.actor()).await?;
        context::form_done("type-deleted");
        Ok(())
    })
    .await
}
