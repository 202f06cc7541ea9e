//! The System page's server function (issue 14): admins see the workers,
//! the queue and the writer's commits; members are refused.

use crate::receiver::{Receiver, Reply};
use crate::support::Api;
use crate::team::{ok, refused, teammate};
use reqwest::StatusCode;
use serde_json::json;
use signpost::model::{Role, SystemView};
use std::time::Duration;

#[tokio::test]
async fn admins_see_the_engine_and_members_are_refused() {
    let (s, admin) = Api::with_admin(|c| {
        c.delivery.retry_base_ms = 600_000;
        c.delivery.retry_max_ms = 600_000;
    })
    .await;
    let rx = Receiver::start().await;
    rx.otherwise("/down", Reply::Status(503));
    s.register(&rx.url("/down"), json!({})).await;
    s.publish(json!({ "event": "x" })).await;
    rx.wait_for("/down", 1, Duration::from_secs(10)).await;

    let v: SystemView = crate::support::eventually(
        || ok(&s.server, &admin, "system/view", &[]),
        |v: &SystemView| v.queue.iter().any(|q| q.retrying == 1) && !v.commits.is_empty(),
    )
    .await;
    assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(v.workers.len(), 1);
    let w = &v.workers[0];
    assert!(w.this_process);
    assert_eq!(w.id, s.server.state.delivery.worker_id.get().to_string());
    assert_eq!(w.max_in_flight, 512);
    assert_eq!(w.lanes, 1, "the one webhook's lane");
    assert!(w.lease_until > v.now);
    let q = &v.queue[0];
    assert_eq!(
        (q.project.as_str(), q.due, q.retrying),
        ("Deliveries", 0, 1)
    );
    assert_eq!(q.project_id, s.pid);
    assert_eq!(q.oldest_due_ms, None);

    let (member, _) = teammate(&s.server, &admin, "member@example.com", Role::Member).await;
    refused(
        &s.server,
        &member,
        "system/view",
        &[],
        StatusCode::FORBIDDEN,
    )
    .await;
    let stranger = s.server.client();
    refused(
        &s.server,
        &stranger,
        "system/view",
        &[],
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
