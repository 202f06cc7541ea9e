//! `POST /projects/{pid}/portal-links`: a link to one tenant's portal.

use super::envelope::{iso, ok, ApiError, ApiJson, ApiPath};
use super::webhooks::ErrorEnvelope;
use crate::model::DEFAULT_PORTAL_TTL_SECONDS;
use crate::server::db::activity::{self, Actor};
use crate::server::portal;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkBody {
    /// The tenant whose webhooks the portal shows.
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    tenant: String,
    /// How long the link works: default 3600, at most 604800 (7 days).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 604800)]
    ttl_seconds: Option<u64>,
    /// A link that shows and changes nothing (default false).
    #[serde(default)]
    read_only: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalLink {
    /// Absolute; hand it to the signed-in customer (or put it in an iframe).
    url: String,
    expires_at: String,
}

/// The envelope of a portal link (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PortalLinkEnvelope {
    succeed: bool,
    data: PortalLink,
}

/// A link to one tenant's portal: its Webhook tab, for a person without a
/// Signpost account. The link is the credential: whoever holds it sees and
/// (unless `readOnly`) changes that tenant's webhooks until it expires.
#[utoipa::path(
    post, path = "/projects/{projectId}/portal-links", tag = "portal",
    params(("projectId" = String, Path)),
    request_body = LinkBody,
    responses(
        (status = 200, body = PortalLinkEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A bad tenant, or ttlSeconds over 7 days"),
    ),
    security(("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<Response, ApiError> {
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_PORTAL_TTL_SECONDS);
    let (token, expires_at) = portal::mint(&state, &pid, &body.tenant, ttl, body.read_only).await?;
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the URI.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    // Behind a TLS proxy, `--public-url` makes it `https://`.
    let base = state.config.base_url(host.unwrap_or("127.0.0.1:3000"));
    let url = format!("{base}/portal/{token}");
    let detail = match body.read_only {
        true => format!("read-only, until {}", iso(expires_at)),
        false => format!("until {}", iso(expires_at)),
    };
    activity::record(
        &state.db,
        Some(&pid),
        &Actor::API,
        "portal.link_created",
        &body.tenant,
        &detail,
    )
    .await?;
    Ok(ok(PortalLink {
        url,
        expires_at: iso(expires_at),
    }))
}
