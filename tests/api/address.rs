//! A reset email goes only to the account's current address: the worker
//! reads the account again under its row lock when it issues the token, and
//! checks again just before sending.

use pwreset::flows::fulfil::Fulfilled;
use pwreset::messages::OutboxMessage;
use pwreset::storage::leases::Due;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_between_the_workers_read_and_its_transaction_sends_nothing() {
    let app = spawn_app().await;
    app.add_user("u-1", "old@example.com", None).await;
    assert_eq!(app.forgot("old@example.com").await.status(), 202);

    // The worker claims the request and reads the account ...
    let now = app.clock.now_naive();
    let lease = now + app.worker.lease();
    let claimed = app
        .repo()
        .claim_due_outbox_rows(Due::ResetRequests, now, lease, 16)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let OutboxMessage::ResetRequest(request) =
        OutboxMessage::from_json(claimed[0].kind, &claimed[0].payload).unwrap()
    else {
        panic!("a reset request");
    };
    let user = app
        .fulfil
        .account_for_request(&request)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email, "old@example.com");

    // ... the owner's service changes the address and commits ...
    let response = app
        .put_user("u-1", json!({"email": "new@example.com"}))
        .await;
    assert_eq!(response.status(), 200);

    // ... and the worker's transaction sees the change: no token, no email.
    let fulfilled = app
        .fulfil
        .issue_for_request(&claimed[0].id, lease, &request, &user)
        .await
        .unwrap();
    assert_eq!(fulfilled, Fulfilled::AccountChanged);
    app.deliver().await;
    assert!(app.email_rows().await.is_empty(), "no email was queued");
    assert!(app.emails().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_after_the_token_was_issued_stops_the_email_before_it_is_sent() {
    let app = spawn_app().await;
    app.add_user("u-1", "old@example.com", None).await;
    app.forgot("old@example.com").await;
    // The request becomes a token and a queued email to the old address.
    assert_eq!(app.worker.run_once().await.unwrap(), 1);
    assert_eq!(app.email_rows().await.len(), 1);

    let response = app
        .put_user("u-1", json!({"email": "new@example.com"}))
        .await;
    assert_eq!(response.status(), 200);
    app.deliver().await;

    assert!(app.emails().is_empty(), "neither address got the old link");
    let row = &app.email_rows().await[0];
    assert_eq!(row.status, OutboxStatus::Dead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_ran_out_leaves_the_request_to_its_next_holder() {
    let app = spawn_app().await;
    app.add_user("u-1", "owner@example.com", None).await;
    assert_eq!(app.forgot("owner@example.com").await.status(), 202);

    // The first worker claims the request and reads the account ...
    let now = app.clock.now_naive();
    let first_lease = now + app.worker.lease();
    let claimed = app
        .repo()
        .claim_due_outbox_rows(Due::ResetRequests, now, first_lease, 16)
        .await
        .unwrap();
    let OutboxMessage::ResetRequest(request) =
        OutboxMessage::from_json(claimed[0].kind, &claimed[0].payload).unwrap()
    else {
        panic!("a reset request");
    };
    let user = app
        .fulfil
        .account_for_request(&request)
        .await
        .unwrap()
        .unwrap();

    // ... stalls past its lease, and a second worker takes the row over.
    app.clock.advance(app.worker.lease().num_seconds() + 1);
    let later = app.clock.now_naive();
    let second_lease = later + app.worker.lease();
    let reclaimed = app
        .repo()
        .claim_due_outbox_rows(Due::ResetRequests, later, second_lease, 16)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1, "the second worker holds the row");

    // The first worker's settlement is refused: no token, no email.
    let stale = app
        .fulfil
        .issue_for_request(&claimed[0].id, first_lease, &request, &user)
        .await
        .unwrap();
    assert_eq!(stale, Fulfilled::LeaseLost);
    assert!(app.email_rows().await.is_empty());

    // The holder's settlement goes through: exactly one email.
    let fulfilled = app
        .fulfil
        .issue_for_request(&reclaimed[0].id, second_lease, &request, &user)
        .await
        .unwrap();
    assert!(
        matches!(fulfilled, Fulfilled::Issued { .. }),
        "{fulfilled:?}"
    );
    app.deliver().await;
    assert_eq!(app.reset_emails_to("owner@example.com").len(), 1);
}
