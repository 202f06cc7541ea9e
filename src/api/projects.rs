#[cfg(feature = "ssr")]
use crate::model::ShownOnce;
use crate::model::{AppError, Project, ProjectCredentials};
use leptos::prelude::*;

#[server(endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<Project>, AppError> {
    use crate::server::{context, projects};
    context::respond(async {
        let (cx, me) = context::user().await?;
        projects::list(&cx.state, &me).await
    })
    .await
}

#[server(endpoint = "projects/get")]
pub async fn get_project(project_id: String) -> Result<Project, AppError> {
    use crate::server::{context, projects};
    context::respond(async {
        let s = context::in_project(&project_id).await?;
        projects::get(&s.cx.state, &s.scope.project_id).await
    })
    .await
}

/// Creates a project; the answer holds its secret, shown once.
#[server(endpoint = "projects/create")]
pub async fn create_project(name: String) -> Result<ProjectCredentials, AppError> {
    use crate::server::{context, projects};
    context::respond(async {
        let (cx, me) = context::changer().await?;
        let made = projects::create(&cx.state.db, &name).await?;
        if !me.info().role.sees_every_project() {
            // Who makes a project reaches it.
            crate::server::db::access::grant(&cx.state.db, &me.id, &made.id).await?;
        }
        context::show_once(&cx, &me.id, &ShownOnce::ProjectCreated(made.clone())).await;
        Ok(made)
    })
    .await
}

#[server(endpoint = "projects/rename")]
pub async fn rename_project(project_id: String, name: String) -> Result<Project, AppError> {
    use crate::server::{context, projects};
    context::respond(async {
        let s = context::to_change_project(&project_id).await?;
        let project = projects::rename(&s.cx.state, &project_id, &name, &s.actor()).await?;
        context::form_done("renamed");
        Ok(project)
    })
    .await
}

/// A new project secret (shown once); the old one stops working at once.
#[server(endpoint = "projects/regenerate_secret")]
pub async fn regenerate_project_secret(project_id: String) -> Result<ProjectCredentials, AppError> {
    use crate::server::{context, projects};
    context::respond(async {
        let s = context::to_change_project(&project_id).await?;
        let made = projects::regenerate_secret(&s.cx.state, &project_id, &s.actor()).await?;
        s.show_once(&ShownOnce::ProjectSecret(made.clone())).await?;
        Ok(made)
    })
    .await
}
