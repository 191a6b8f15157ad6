//! Behaviour that only Postgres has. These run in the Postgres suite
//! (`PWRESET_TEST_BACKEND=postgres cargo test -- --include-ignored`).

use pwreset::storage::{DatabaseUrl, PoolOptions, Repo};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Postgres: PWRESET_TEST_BACKEND=postgres cargo test -- --include-ignored"]
async fn postgres_urls_asking_for_tls_connect_over_tls() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "run with PWRESET_TEST_BACKEND=postgres"
    );
    let db = TestDatabase::new().await;
    let url = format!("{}?sslmode=require", db.url);
    let repo = repo_for(&url);
    repo.run_migrations().await.unwrap();
    assert_eq!(repo.describe().await.unwrap(), "Postgres over TLS");

    // verify-full checks the certificate: the local server's self-signed
    // one is refused (against the Mozilla roots, and when named as the CA,
    // for its host name, which is not 127.0.0.1).
    let strict = format!("{}?sslmode=verify-full", db.url);
    let repo = repo_for(&strict);
    let refused = repo
        .describe()
        .await
        .expect_err("an untrusted certificate is refused")
        .to_string();
    assert!(refused.contains("TLS handshake"), "{refused}");

    let plain = format!("{}?sslmode=disable", db.url);
    let repo = repo_for(&plain);
    assert_eq!(repo.describe().await.unwrap(), "Postgres without TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Postgres: PWRESET_TEST_BACKEND=postgres cargo test -- --include-ignored"]
async fn readiness_fails_when_the_database_goes_away() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "run with PWRESET_TEST_BACKEND=postgres"
    );
    let app = spawn_app().await;
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.db.drop_postgres_database_now();
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"status":"unavailable"}"#
    );
    // And requests that need it fail cleanly, without internals.
    let response = app.forgot("x@example.com").await;
    assert_eq!(response.headers()["retry-after"], "5");
    let body = assert_problem(response, 503, "unavailable").await;
    assert!(
        !body.to_string().contains("pwreset_test_"),
        "no database details leak: {body}"
    );
}

fn repo_for(url: &str) -> Repo {
    let options = PoolOptions {
        max_size: 1,
        ca_file: None,
    };
    Repo::connect(&DatabaseUrl::parse(url).unwrap(), &options).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Postgres: PWRESET_TEST_BACKEND=postgres cargo test -- --include-ignored"]
async fn forged_tokens_are_refused_even_with_the_database_gone() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "run with PWRESET_TEST_BACKEND=postgres"
    );
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
    })
    .await;
    app.add_user("u-1", "owner@example.com", None).await;
    let real = app.request_link("owner@example.com").await;
    app.db.drop_postgres_database_now();

    // Refused on the signature alone: no database needed to say no.
    let forged = signed_guess(&real, &test_secret(), 1);
    assert_problem(app.validate(&forged).await, 400, "invalid_token").await;
    // A signed token needs its row, and the database is gone.
    assert_eq!(app.validate(&real).await.status(), 503);
}
