//! The OpenAPI 3 document of the HTTP API, generated from the handlers'
//! annotations and served at `/openapi.json`.

use super::{alerts, deliveries, event_log, event_types, events, portal, replays, webhooks};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signpost API",
        description = "Webhook management and event publishing, compatible with Photon Spectrum. Authenticate with \
                       HTTP Basic: the project id as user name, the project secret as password."
    ),
    paths(
        webhooks::create,
        webhooks::list,
        webhooks::get,
        webhooks::update,
        webhooks::delete,
        webhooks::rotate,
        webhooks::finish_rotation,
        events::test,
        events::publish,
        events::publish_batch,
        event_log::list,
        event_log::get,
        event_types::put,
        event_types::list,
        event_types::get,
        event_types::delete,
        deliveries::list,
        deliveries::get,
        deliveries::redeliver,
        deliveries::cancel,
        deliveries::replay,
        replays::start,
        replays::get,
        portal::create,
        alerts::get,
        alerts::put
    ),
    modifiers(&BasicAuth, &CommonAnswers)
)]
struct ApiDoc;

/// The answers every route can give, added to each operation once here
/// rather than repeated on each handler: 401 and 429 (authentication and
/// the rate limit run before any handler), 404 where the path names a
/// resource, and 413, 415 and 422 where there is a body to read.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                        .build(),
                )
                .build()
        };
        let add = |op: &mut Operation, status: &str, description: &str| {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| error(description).into());
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_resource = path.contains("{id}");
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                add(op, "401", "Missing or wrong credentials");
                add(
                    op,
                    "429",
                    "Over the project's rate limit: see `Retry-After`",
                );
                if names_resource {
                    add(op, "404", "No such resource in this project");
                }
                if op.request_body.is_some() {
                    add(op, "413", "The body is over the endpoint's limit");
                    add(op, "415", "The body is not declared JSON");
                    add(op, "422", "The body cannot be read or is invalid");
                }
            }
        }
    }
}

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::document;
    use crate::model::{AlertFormat, Ordering, Scheme};

    /// The document names each vocabulary's values as the JSON carries them
    /// (`vocabulary!`'s names, not the variants').
    #[test]
    fn enums_are_documented_by_their_names() {
        let doc = serde_json::to_value(document()).unwrap();
        let documented = |name: &str| doc["components"]["schemas"][name]["enum"].clone();
        let names = |all: &[&str]| serde_json::json!(all);
        assert_eq!(
            documented("AlertFormat"),
            names(&AlertFormat::ALL.map(AlertFormat::as_str))
        );
        assert_eq!(
            documented("Ordering"),
            names(&Ordering::ALL.map(Ordering::as_str))
        );
        assert_eq!(
            documented("Scheme"),
            names(&Scheme::ALL.map(Scheme::as_str))
        );
    }
}
