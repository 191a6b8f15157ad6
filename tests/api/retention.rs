//! What the service forgets: addresses typed into forgot-password as soon as
//! the request is handled, settled rows and dead tokens after RETENTION_SECS.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_address_leaves_the_database_once_the_request_is_handled() {
    let app = spawn_app().await;
    app.add_user("u-1", "known@example.com", None).await;
    app.forgot("known@example.com").await;
    app.forgot("stranger@example.com").await;
    let requests = app.outbox_rows(OutboxKind::ResetRequest).await;
    assert!(
        requests
            .iter()
            .any(|r| r.payload.contains("stranger@example.com"))
    );

    app.deliver().await;

    let requests = app.outbox_rows(OutboxKind::ResetRequest).await;
    assert_eq!(requests.len(), 2);
    for row in &requests {
        assert_eq!(row.status, OutboxStatus::Done);
        assert_eq!(row.payload, "{}", "nothing of the request is kept");
    }
    let everything = app.repo().list_outbox(None, 10_000).await.unwrap();
    assert!(
        everything
            .iter()
            .all(|r| !r.payload.contains("stranger@example.com")),
        "an address without an account is kept nowhere"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_rows_and_dead_tokens_are_deleted_after_the_retention_period() {
    let app = spawn_app_with(|env| {
        env.insert("RETENTION_SECS".into(), "86400".into());
    })
    .await;
    app.add_user("u-1", "used@example.com", None).await;
    app.add_user("u-2", "idle@example.com", None).await;
    app.add_user("u-3", "fresh@example.com", None).await;
    // Old activity: a reset that was completed, a link never used.
    let used = app.request_link("used@example.com").await;
    assert_eq!(app.reset(&used, STRONG_PASSWORD).await.status(), 200);
    app.request_link("idle@example.com").await;
    app.deliver().await;
    let old_rows = app.outbox_len().await;
    assert!(old_rows >= 5, "{old_rows}");

    app.clock.advance(2 * 86_400);
    // New activity: a live link, and a request not yet handled.
    let fresh = app.request_link("fresh@example.com").await;
    app.forgot("idle@example.com").await;
    let report = app.worker.retention().prune().await.unwrap();

    assert_eq!(report.outbox_rows, old_rows, "every old settled row");
    assert_eq!(report.tokens, 2, "the used token and the expired one");
    let left = app.repo().list_outbox(None, 10_000).await.unwrap();
    assert!(
        left.iter()
            .all(|r| r.created_at > app.clock.now_naive() - chrono::TimeDelta::hours(1))
    );
    assert!(
        left.iter()
            .any(|r| r.kind == OutboxKind::ResetRequest && r.status == OutboxStatus::Pending),
        "pending rows are never pruned"
    );
    assert_eq!(app.validate(&fresh).await.status(), 200, "live tokens stay");
    assert_eq!(
        app.worker.retention().prune().await.unwrap(),
        Default::default()
    );
}
