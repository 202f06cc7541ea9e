//! Whether the page being drawn offers changes: not to a viewer, and not in
//! a read-only portal link. (The server refuses their changes anyway; this
//! only leaves out the buttons.)

use leptos::prelude::*;

/// Whether to draw the buttons and forms that change something. Pages are
/// drawn on the server; in the browser (islands) it answers `true`.
pub fn may_change() -> bool {
    if use_context::<crate::model::PortalInfo>().is_some_and(|p| p.read_only) {
        return false;
    }
    #[cfg(feature = "ssr")]
    {
        let role = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::model::PageRole>().copied());
        if let Some(crate::model::PageRole(role)) = role {
            return role.may_change();
        }
    }
    true
}
