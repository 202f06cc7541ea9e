//! Whose webhooks a request may see and change.

use crate::model::Webhook;

/// A whole project (the dashboard, the HTTP API), or one of its tenants (a
/// portal link, or the API's `?tenant=`). Every read and change of a
/// webhook, and of the deliveries and log rows that hang from it, goes
/// through [`crate::server::webhooks::get`] or a query filtered by this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub project_id: String,
    /// `Some`: only this tenant's webhooks.
    pub tenant: Option<String>,
}

impl Scope {
    /// All of a project.
    pub fn project(project_id: &str) -> Scope {
        Scope {
            project_id: project_id.to_string(),
            tenant: None,
        }
    }

    /// One tenant of a project.
    pub fn tenant(project_id: &str, tenant: &str) -> Scope {
        Scope {
            project_id: project_id.to_string(),
            tenant: Some(tenant.to_string()),
        }
    }

    /// Whether `webhook` is within the scope.
    pub fn admits(&self, webhook: &Webhook) -> bool {
        webhook.project_id == self.project_id
            && (self.tenant.is_none() || self.tenant == webhook.tenant)
    }
}
