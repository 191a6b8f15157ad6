use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_dies_when_its_lifetime_is_over() {
    let app = spawn_app_with(|env| {
        env.insert("RESET_TOKEN_TTL_SECS".into(), "600".into());
    })
    .await;
    app.add_user("u-1", "late@example.com", None).await;
    let token = app.request_link("late@example.com").await;

    app.clock.advance(590);
    assert_eq!(app.validate(&token).await.status(), StatusCode::OK);

    app.clock.advance(20);
    app.assert_link_refused(&token).await;
    assert!(app.user("u-1").await.password_hash.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_email_is_never_sent_once_its_link_has_expired() {
    let app = spawn_app_with(|env| {
        env.insert("RESET_TOKEN_TTL_SECS".into(), "600".into());
    })
    .await;
    app.add_user("u-1", "slow@example.com", None).await;
    assert_eq!(
        app.forgot("slow@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    // One pass turns the request into a token and a queued email...
    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    assert!(app.emails().is_empty());
    // ...which cannot go out before the link expires (say, the provider was down).
    app.clock.advance(601);
    app.deliver().await;
    assert!(app.emails().is_empty(), "a stale link is not mailed");
    let rows = app.repo().list_outbox(None, 10).await.unwrap();
    let email_row = rows.iter().find(|r| r.kind == OutboxKind::Email).unwrap();
    assert_eq!(email_row.status, OutboxStatus::Dead);
    assert!(
        email_row
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("no longer valid"),
        "{:?}",
        email_row.last_error
    );
}
