//! Abuse protection as an attacker meets it: email bombing, token guessing,
//! header spoofing, and replicas that must agree.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn limits_on(env: &mut std::collections::HashMap<String, String>) {
    env.insert("RATE_LIMIT_ENABLED".into(), "true".into());
}

async fn forgot_from(app: &TestApp, email: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/auth/forgot-password/"))
        .json(&json!({ "email": email }));
    if let Some(xff) = forwarded_for {
        request = request.header("X-Forwarded-For", xff);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bombing_one_address_is_stopped_at_the_same_request_whether_or_not_it_exists() {
    let app = spawn_app_with(limits_on).await;
    app.add_user("u-1", "victim@example.com", None).await;
    let mut first_limited = Vec::new();
    for email in ["victim@example.com", "nobody@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..8 {
            statuses.push(app.forgot(email).await.status().as_u16());
        }
        first_limited.push(statuses.iter().position(|s| *s == 429));
        assert_eq!(&statuses[..5], &[202; 5], "{email}: {statuses:?}");
        assert!(
            statuses[5..].iter().all(|s| *s == 429),
            "{email}: {statuses:?}"
        );
    }
    assert_eq!(
        first_limited[0], first_limited[1],
        "a 429 says nothing about existence"
    );

    let real = app.forgot("Victim@Example.com").await;
    let ghost = app.forgot("nobody@example.com").await;
    assert!(
        real.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 3600
    );
    let (real, ghost) = (
        assert_problem(real, 429, "rate_limited").await,
        assert_problem(ghost, 429, "rate_limited").await,
    );
    assert_eq!(real, ghost);

    // Of the five accepted requests, the account gets at most three emails an hour.
    app.deliver().await;
    assert_eq!(app.reset_emails_to("victim@example.com").len(), 3);
    app.clock.advance(3601);
    assert_eq!(
        app.forgot("victim@example.com").await.status(),
        202,
        "a new hour, a new allowance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarding_headers_do_not_escape_the_per_ip_limit() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), "10".into());
    })
    .await;
    for i in 0..10 {
        let response = forgot_from(
            &app,
            &format!("p{i}@example.com"),
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let response = forgot_from(&app, "p10@example.com", Some("198.51.100.200")).await;
    assert_problem(response, 429, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), "3".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    for client in 1..=5 {
        for n in 0..3 {
            let xff = format!("6.6.6.6, 203.0.113.{client}");
            let response =
                forgot_from(&app, &format!("c{client}-{n}@example.com"), Some(&xff)).await;
            assert_eq!(
                response.status(),
                StatusCode::ACCEPTED,
                "client {client}, request {n}"
            );
        }
    }
    // The fourth request of one client is over its own limit, whatever it forges on the left.
    let response = forgot_from(&app, "c1-x@example.com", Some("7.7.7.7, 203.0.113.1")).await;
    assert_problem(response, 429, "rate_limited").await;
    // The address recorded with the token is the client's, not the proxy's.
    app.add_user("u-1", "tracked@example.com", None).await;
    assert_eq!(
        forgot_from(&app, "tracked@example.com", Some("203.0.113.77"))
            .await
            .status(),
        202
    );
    app.deliver().await;
    let token = app.reset_emails_to("tracked@example.com")[0].reset_token();
    assert_eq!(app.validate(&token).await.status(), 200);
}

/// Proxies may add their entry as a header line of its own: the chain is
/// every line in order, so the client is still the right-most entry of the
/// last line, whatever the first line forges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarding_chain_over_several_header_lines_is_read_to_its_last_line() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), "3".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    let from_two_lines = |n: u32| {
        app.client
            .post(app.url("/api/auth/forgot-password/"))
            .header("X-Forwarded-For", format!("7.7.7.{n}"))
            .header("X-Forwarded-For", "203.0.113.9")
            .json(&json!({ "email": format!("lines-{n}@example.com") }))
            .send()
    };
    for n in 0..3 {
        assert_eq!(
            from_two_lines(n).await.unwrap().status(),
            202,
            "request {n}"
        );
    }
    assert_problem(from_two_lines(3).await.unwrap(), 429, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_tokens_from_one_address_is_blocked_long_before_a_hundred_tries() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_TOKEN_FAILURES_PER_IP".into(), "10".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    app.add_user("u-1", "owner@example.com", None).await;
    let owners_link = {
        let response = forgot_from(&app, "owner@example.com", Some("203.0.113.5")).await;
        assert_eq!(response.status(), 202);
        app.deliver().await;
        app.reset_emails_to("owner@example.com")[0].reset_token()
    };
    // Guesses at the reset token inside a properly signed link (as if the
    // signing key had leaked): only the database can refuse them.
    let mut statuses = Vec::new();
    for i in 0..100 {
        let forged = signed_guess(&owners_link, &app.jwt_secret, i);
        let response = app
            .client
            .post(app.url("/api/auth/reset-password/"))
            .header("X-Forwarded-For", "192.0.2.66")
            .json(&json!({"token": forged, "new_password": STRONG_PASSWORD, "confirm_password": STRONG_PASSWORD}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        10,
        "{statuses:?}"
    );
    assert!(statuses[10..].iter().all(|s| *s == 429));

    // Backoff: after waiting, one more try; then a longer wait.
    app.clock.advance(2);
    let still_guessing = signed_guess(&owners_link, &app.jwt_secret, 1000);
    let try_again = |app: &TestApp| {
        app.client
            .post(app.url("/api/auth/reset-password/validate/"))
            .header("X-Forwarded-For", "192.0.2.66")
            .json(&json!({"token": still_guessing}))
            .send()
    };
    assert_eq!(try_again(&app).await.unwrap().status(), 400);
    let blocked = try_again(&app).await.unwrap();
    assert_eq!(blocked.status(), 429);
    assert_eq!(blocked.headers()["retry-after"], "2");

    // The real owner, elsewhere, is not affected.
    let response = app
        .client
        .post(app.url("/api/auth/reset-password/"))
        .header("X-Forwarded-For", "203.0.113.5")
        .json(&json!({"token": owners_link, "new_password": STRONG_PASSWORD, "confirm_password": STRONG_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_enforce_one_limit() {
    let first = spawn_app_with(limits_on).await;
    let secret = first.jwt_secret.clone();
    let second = spawn_app_on(
        first.db.clone(),
        Arc::new(tempfile::tempdir().unwrap()),
        move |env| {
            limits_on(env);
            env.insert("JWT_SECRET".into(), secret);
        },
    )
    .await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let app = if i % 2 == 0 { &first } else { &second };
        statuses.push(app.forgot("shared@example.com").await.status().as_u16());
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_only_the_configured_spa_origins_and_never_on_internal_routes() {
    let app = spawn_app_with(|env| {
        env.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            "https://spa.example.test".into(),
        );
        with_services(env);
    })
    .await;
    let preflight = |origin: &str, path: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let ok = preflight("https://spa.example.test", "/api/auth/forgot-password/")
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://spa.example.test"
    );
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    let evil = preflight("https://evil.test", "/api/auth/reset-password/")
        .await
        .unwrap();
    assert!(!evil.headers().contains_key("access-control-allow-origin"));
    assert_problem(evil, 400, "cors_refused").await;

    let internal = preflight("https://spa.example.test", "/internal/v1/reset-requests")
        .await
        .unwrap();
    assert!(
        !internal
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_eq!(internal.status(), 401);

    for (origin, allowed) in [
        ("https://spa.example.test", true),
        ("https://evil.test", false),
    ] {
        let response = app
            .client
            .post(app.url("/api/auth/forgot-password/"))
            .header("Origin", origin)
            .json(&json!({"email": "someone@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        assert_eq!(
            response
                .headers()
                .contains_key("access-control-allow-origin"),
            allowed,
            "{origin}"
        );
    }
    let response: Value = app
        .service_reset(json!({"email": "x@example.com"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["code"], "user_not_found",
        "the internal API still works for services"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_ipv6_addresses_from_one_64_share_one_allowance() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), "3".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let ip = format!("2001:db8:1:2:{n:x}:{n:x}:{n:x}:{n:x}");
        statuses.push(
            forgot_from(&app, &format!("v6-{n}@example.com"), Some(&ip))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [202, 202, 202, 429, 429, 429],
        "one /64, one allowance"
    );
    let neighbour = forgot_from(&app, "v6-other@example.com", Some("2001:db8:1:3::1")).await;
    assert_eq!(
        neighbour.status(),
        202,
        "the next /64 is another subscriber"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_slip_its_own_chain_past_the_proxys() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_FORGOT_PER_IP".into(), "2".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    // The proxy writes Forwarded; the client's own X-Forwarded-For varies.
    let mut statuses = Vec::new();
    for n in 1..=4 {
        let response = app
            .client
            .post(app.url("/api/auth/forgot-password/"))
            .header("Forwarded", "for=198.51.100.20")
            .header("X-Forwarded-For", format!("203.0.113.{n}"))
            .json(&json!({ "email": format!("chain-{n}@example.com") }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [202, 202, 429, 429]);
    // A forged entry left of an `unknown` one gains nothing either.
    let mut statuses = Vec::new();
    for n in 1..=3 {
        let xff = format!("203.0.113.{n}, unknown");
        statuses.push(
            forgot_from(&app, &format!("hidden-{n}@example.com"), Some(&xff))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [202, 202, 429],
        "all counted against the proxy itself"
    );
}

fn behind_proxy(env: &mut std::collections::HashMap<String, String>) {
    limits_on(env);
    env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_from_other_networks_never_lock_the_owner_out() {
    let app = spawn_app_with(behind_proxy).await;
    app.add_user("u-1", "owner@example.com", None).await;
    // An attacker spends the address's allowance and the account's emails
    // from one network (several addresses of one /24).
    let mut attacker = Vec::new();
    for n in 1..=8 {
        let ip = format!("203.0.113.{n}");
        attacker.push(
            forgot_from(&app, "owner@example.com", Some(&ip))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&attacker[..5], &[202; 5], "{attacker:?}");
    assert!(attacker[5..].iter().all(|s| *s == 429), "{attacker:?}");
    app.deliver().await;
    assert_eq!(
        app.reset_emails_to("owner@example.com").len(),
        3,
        "the per-network email cap"
    );

    // The owner, at home, is neither refused nor left without an email.
    let response = forgot_from(&app, "owner@example.com", Some("198.51.100.7")).await;
    assert_eq!(response.status(), 202);
    app.deliver().await;
    assert_eq!(
        app.reset_emails_to("owner@example.com").len(),
        4,
        "the owner got a link"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overall_ceiling_bounds_mail_bombing_from_many_networks() {
    let app = spawn_app_with(|env| {
        behind_proxy(env);
        env.insert("RATE_LIMIT_EMAILS_PER_ACCOUNT_MAX".into(), "5".into());
    })
    .await;
    app.add_user("u-1", "target@example.com", None).await;
    for network in 1..=12 {
        let ip = format!("198.51.{network}.9");
        assert_eq!(
            forgot_from(&app, "target@example.com", Some(&ip))
                .await
                .status(),
            202
        );
    }
    app.deliver().await;
    assert_eq!(
        app.reset_emails_to("target@example.com").len(),
        5,
        "never past the ceiling"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_network_429s_still_come_at_the_same_request_whatever_the_account() {
    let app = spawn_app_with(behind_proxy).await;
    app.add_user("u-1", "exists@example.com", None).await;
    let mut first_refused = Vec::new();
    for email in ["exists@example.com", "ghost@example.com"] {
        let mut statuses = Vec::new();
        for n in 1..=7 {
            let ip = format!("192.0.2.{n}");
            statuses.push(forgot_from(&app, email, Some(&ip)).await.status().as_u16());
        }
        first_refused.push(statuses.iter().position(|s| *s == 429));
    }
    assert_eq!(first_refused[0], Some(5));
    assert_eq!(first_refused[0], first_refused[1]);
}

/// POSTs `token` to the validate endpoint as a client behind the proxy.
async fn validate_from(app: &TestApp, token: &str, forwarded_for: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/reset-password/validate/"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_cost_no_database_work_and_no_backoff() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_TOKEN_FAILURES_PER_IP".into(), "3".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    app.add_user("u-1", "owner@example.com", None).await;
    let real = app.request_link("owner@example.com").await;

    // Signed with another key, or no JWT at all: nobody can guess a
    // signature, so these are refused on the HMAC alone.
    let other_key = test_secret();
    for i in 0..30 {
        let forged = if i % 2 == 0 {
            signed_guess(&real, &other_key, i)
        } else {
            format!("not-a-jwt-{i}")
        };
        assert_problem(
            validate_from(&app, &forged, "192.0.2.80").await,
            400,
            "invalid_token",
        )
        .await;
    }
    assert_eq!(
        app.repo()
            .read_rate_limit("token-failures:ip:192.0.2.80")
            .await
            .unwrap(),
        None,
        "no failure counter was written"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"pwreset_token_rejections_total{reason="bad_signature"} 15"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"pwreset_token_rejections_total{reason="malformed"} 15"#),
        "{metrics}"
    );
    // The address is in no backoff: the real link still works from it.
    assert_eq!(validate_from(&app, &real, "192.0.2.80").await.status(), 200);

    // A signed guess is looked up, counted, and past the allowance held back.
    for i in 0..3 {
        let guess = signed_guess(&real, &app.jwt_secret, i);
        assert_eq!(
            validate_from(&app, &guess, "192.0.2.80").await.status(),
            400
        );
    }
    let guess = signed_guess(&real, &app.jwt_secret, 3);
    assert_problem(
        validate_from(&app, &guess, "192.0.2.80").await,
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_codes_from_one_address_meets_the_same_backoff_as_tokens() {
    let app = spawn_app_with(|env| {
        limits_on(env);
        env.insert("RATE_LIMIT_TOKEN_FAILURES_PER_IP".into(), "3".into());
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32,::1".into());
    })
    .await;
    // Many accounts, so no code's own bound is what stops the guesser.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = app
            .client
            .post(app.url("/api/auth/reset-password/validate/"))
            .header("X-Forwarded-For", "192.0.2.77")
            .json(&json!({"email": format!("victim{i}@example.com"), "code": "1234 5678"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [400, 400, 400, 429, 429, 429]);
}
