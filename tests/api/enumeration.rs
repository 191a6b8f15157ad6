use reqwest::StatusCode;

use crate::helpers::*;

async fn answer(app: &TestApp, email: &str) -> (StatusCode, Vec<(String, String)>, String) {
    let response = app.forgot(email).await;
    let status = response.status();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        // Every request's own id: random, never derived from the address.
        .map(|(n, v)| match n.as_str() {
            "x-request-id" => (n.to_string(), format!("{} characters", v.len())),
            _ => (n.to_string(), v.to_str().unwrap().to_owned()),
        })
        .collect();
    headers.sort();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_unknown_and_disabled_accounts_get_identical_answers() {
    let app = spawn_app().await;
    app.add_user("u-1", "exists@example.com", None).await;
    app.add_disabled_user("u-2", "disabled@example.com").await;

    let existing = answer(&app, "exists@example.com").await;
    let unknown = answer(&app, "nobody@example.com").await;
    let disabled = answer(&app, "disabled@example.com").await;
    assert_eq!(existing.0, StatusCode::ACCEPTED);
    assert_eq!(existing, unknown);
    assert_eq!(existing, disabled);

    // Each did the same work on the request path: one queued row apiece.
    assert_eq!(app.outbox_len().await, 3);

    app.deliver().await;
    let recipients: Vec<String> = app.emails().into_iter().map(|e| e.to).collect();
    assert_eq!(
        recipients,
        vec!["exists@example.com".to_owned()],
        "only the live account gets mail"
    );
}
