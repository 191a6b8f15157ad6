//! Other services sign people in by asking `POST /internal/v1/password-checks`:
//! one answer for every failure, throttling that cannot lock the owner out,
//! and hashes below the configured cost upgraded on a match.

use std::sync::Arc;

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::*;

async fn app() -> TestApp {
    spawn_app_with(with_services).await
}

/// The services' app with BCRYPT_COST at `cost` and `customize`'s settings.
async fn app_hashing_at(
    cost: u32,
    customize: impl FnOnce(&mut std::collections::HashMap<String, String>),
) -> TestApp {
    spawn_custom_app(
        TestDatabase::new().await,
        Arc::new(tempfile::tempdir().unwrap()),
        |env| {
            with_services(env);
            customize(env);
        },
        AppOptions {
            bcrypt_cost: Some(cost),
            ..AppOptions::default()
        },
    )
    .await
}

impl TestApp {
    async fn check(&self, body: Value) -> Response {
        self.internal(Method::POST, "/internal/v1/password-checks")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn check_from(&self, email: &str, password: &str, client_ip: &str) -> Response {
        self.check(json!({"email": email, "password": password, "client_ip": client_ip}))
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_a_reset_set_signs_the_person_in() {
    let app = app().await;
    app.add_user("u-1", "ada@example.com", Some("an old password 1"))
        .await;
    let token = app.request_link("ada@example.com").await;
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);

    let response = app
        .check(json!({"email": "Ada@Example.com", "password": STRONG_PASSWORD}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user_id"], "u-1");
    let changed_at = body["password_changed_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(changed_at).is_ok(),
        "{changed_at}"
    );

    let by_id = app
        .check(json!({"user_id": "u-1", "password": STRONG_PASSWORD}))
        .await;
    assert_eq!(by_id.status(), 200);
    // The old password no longer works.
    assert_problem(
        app.check(json!({"user_id": "u-1", "password": "an old password 1"}))
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_checks_total{outcome="match"} 2"#));
    assert!(metrics.contains(r#"pwreset_password_checks_total{outcome="mismatch"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_is_the_same_401() {
    let app = app().await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    app.add_user("u-2", "nopass@example.com", None).await;
    app.add_disabled_user("u-3", "gone@example.com").await;
    let hash = bcrypt::hash(STRONG_PASSWORD, 4).unwrap();
    let response = app
        .put_user(
            "u-3",
            json!({"email": "gone@example.com", "password_hash": hash, "disabled": true}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let failures = [
        json!({"email": "ada@example.com", "password": OTHER_STRONG_PASSWORD}),
        json!({"email": "nobody@example.com", "password": STRONG_PASSWORD}),
        json!({"user_id": "no-such-id", "password": STRONG_PASSWORD}),
        json!({"email": "nopass@example.com", "password": STRONG_PASSWORD}),
        json!({"email": "gone@example.com", "password": STRONG_PASSWORD}),
    ];
    let mut bodies = Vec::new();
    for body in failures {
        let response = app.check(body.clone()).await;
        assert!(response.headers().get("www-authenticate").is_none());
        bodies.push(assert_problem(response, 401, "invalid_credentials").await);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_checks_total{outcome="mismatch"} 1"#));
    assert!(metrics.contains(r#"pwreset_password_checks_total{outcome="unknown"} 4"#));
    assert!(
        !captured_logs().contains(STRONG_PASSWORD),
        "the password is never logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_400_and_count_nothing() {
    let app = spawn_app_with(|env| {
        with_services(env);
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES_PER_IP".into(), "1".into());
    })
    .await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    let bad = [
        (json!({"password": STRONG_PASSWORD}), "non_field_errors"),
        (
            json!({"email": "ada@example.com", "user_id": "u-1", "password": "x"}),
            "non_field_errors",
        ),
        (json!({"email": "ada@example.com"}), "password"),
        (
            json!({"email": "ada@example.com", "password": ""}),
            "password",
        ),
        (
            json!({"email": "ada@example.com", "password": 42}),
            "password",
        ),
        (json!({"email": 7, "password": "x"}), "email"),
        (json!({"email": "not an address", "password": "x"}), "email"),
        (json!({"user_id": ["u-1"], "password": "x"}), "user_id"),
        (
            json!({"email": "ada@example.com", "password": "x", "client_ip": "300.1.1.1"}),
            "client_ip",
        ),
        (
            json!({"email": "ada@example.com", "password": "x", "client_ip": 3}),
            "client_ip",
        ),
        (
            json!({"email": "ada@example.com", "password": "x".repeat(4097)}),
            "password",
        ),
    ];
    for (body, field) in bad {
        let problem = assert_problem(app.check(body.clone()).await, 400, "validation_failed").await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    // Nothing was counted: the one failure the IP allows is still there.
    assert_eq!(
        app.check_from("ada@example.com", STRONG_PASSWORD, "192.0.2.1")
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_throttled_alike_for_known_and_unknown_accounts() {
    let app = spawn_app_with(|env| {
        with_services(env);
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES".into(), "3".into());
    })
    .await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..3 {
            let response = app
                .check_from(email, OTHER_STRONG_PASSWORD, "198.51.100.7")
                .await;
            assert_problem(response, 401, "invalid_credentials").await;
        }
        // The fourth try from that network is refused, even with the right
        // password, before any hash is computed.
        let response = app.check_from(email, STRONG_PASSWORD, "198.51.100.8").await;
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
        assert_problem(response, 429, "rate_limited").await;
    }
    // The owner, from another network, is not locked out.
    let owner = app
        .check_from("ada@example.com", STRONG_PASSWORD, "203.0.113.5")
        .await;
    assert_eq!(owner.status(), 200);
    // Forgot-password stays open.
    assert_eq!(app.forgot("ada@example.com").await.status(), 202);
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"pwreset_password_checks_total{outcome="limited"} 2"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_sent_at_once_get_no_more_tries_than_one_at_a_time() {
    // A verification long enough that every guess arrives while the first
    // ones are still being hashed.
    let app = app_hashing_at(10, |env| {
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES".into(), "3".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES_MAX".into(), "5".into());
    })
    .await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    let guesses =
        (0..12).map(|_| app.check_from("ada@example.com", OTHER_STRONG_PASSWORD, "198.51.100.7"));
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    let tried = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((tried, refused), (3, 9), "{statuses:?}");
    // That network is done for the hour, the right password included.
    let from_there = app
        .check_from("ada@example.com", STRONG_PASSWORD, "198.51.100.8")
        .await;
    assert_problem(from_there, 429, "rate_limited").await;
    // The refused guesses used none of the account's overall allowance (5):
    // the owner, elsewhere, still has a typo's room and signs in.
    assert_eq!(
        app.check_from("ada@example.com", OTHER_STRONG_PASSWORD, "203.0.113.5")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.check_from("ada@example.com", STRONG_PASSWORD, "203.0.113.5")
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_clears_its_network_and_the_account_has_an_overall_cap() {
    let app = spawn_app_with(|env| {
        with_services(env);
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES".into(), "2".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES_MAX".into(), "5".into());
    })
    .await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    let wrong = |ip: &'static str| app.check_from("ada@example.com", OTHER_STRONG_PASSWORD, ip);
    assert_eq!(wrong("198.51.100.1").await.status(), 401);
    // A typo then the right password: the network's count starts again.
    let right = app
        .check_from("ada@example.com", STRONG_PASSWORD, "198.51.100.1")
        .await;
    assert_eq!(right.status(), 200);
    assert_eq!(wrong("198.51.100.1").await.status(), 401);
    assert_eq!(wrong("198.51.100.1").await.status(), 401);
    // Failures from many networks together: 5 in all, then every network waits.
    assert_eq!(wrong("203.0.113.1").await.status(), 401);
    assert_eq!(wrong("192.0.2.1").await.status(), 401);
    let capped = app
        .check_from("ada@example.com", STRONG_PASSWORD, "2001:db8::1")
        .await;
    assert_problem(capped, 429, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_spraying_many_accounts_is_throttled() {
    let app = spawn_app_with(|env| {
        with_services(env);
        env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES_PER_IP".into(), "3".into());
    })
    .await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    for n in 0..3 {
        let email = format!("guess{n}@example.com");
        let response = app
            .check_from(&email, STRONG_PASSWORD, "198.51.100.9")
            .await;
        assert_eq!(response.status(), 401);
    }
    let sprayed = app
        .check_from("ada@example.com", STRONG_PASSWORD, "198.51.100.9")
        .await;
    assert_problem(sprayed, 429, "rate_limited").await;
    let elsewhere = app
        .check_from("ada@example.com", STRONG_PASSWORD, "198.51.101.9")
        .await;
    assert_eq!(elsewhere.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_limits_off_nothing_is_throttled() {
    let app = spawn_app_with(|env| {
        with_services(env);
        env.insert("RATE_LIMIT_ENABLED".into(), "false".into());
        env.insert("RATE_LIMIT_SIGNIN_FAILURES".into(), "1".into());
    })
    .await;
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    for _ in 0..3 {
        let response = app
            .check_from("ada@example.com", OTHER_STRONG_PASSWORD, "198.51.100.7")
            .await;
        assert_eq!(response.status(), 401);
    }
    let response = app
        .check_from("ada@example.com", STRONG_PASSWORD, "198.51.100.7")
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_below_the_configured_cost_is_upgraded_on_a_match_only() {
    let app = app_hashing_at(5, |_| {}).await;
    // add_user hashes at cost 4.
    app.add_user("u-1", "ada@example.com", Some(STRONG_PASSWORD))
        .await;
    let before = app.user("u-1").await;
    assert!(
        before
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with("$2b$04$")
    );

    let wrong = app
        .check(json!({"user_id": "u-1", "password": OTHER_STRONG_PASSWORD}))
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(app.user("u-1").await.password_hash, before.password_hash);

    let right = app
        .check(json!({"user_id": "u-1", "password": STRONG_PASSWORD}))
        .await;
    assert_eq!(right.status(), 200);
    let after = app.user("u-1").await;
    let hash = after.password_hash.as_deref().unwrap();
    assert!(hash.starts_with("$2b$05$"), "{hash}");
    assert!(app.password_is("u-1", STRONG_PASSWORD).await);
    // The same password: not a change, so no notice and no new timestamp.
    assert_eq!(after.password_changed_at, before.password_changed_at);
    assert_eq!(app.outbox_len().await, 0);
}
