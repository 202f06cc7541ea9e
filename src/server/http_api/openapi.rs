//! The OpenAPI 3 document of the HTTP API, generated from the handlers'
//! annotations and served at `/openapi.json`.

use super::{deliveries, events, webhooks};
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
        deliveries::list,
        deliveries::get,
        deliveries::redeliver,
        deliveries::cancel,
        deliveries::replay
    ),
    modifiers(&BasicAuth)
)]
struct ApiDoc;

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
