//! `MAIL_PROVIDER=smtp` against a real SMTP server process (aiosmtpd): the
//! message as a mail client parses it, AUTH, a reused connection, and the
//! outbox rules for 4xx, 5xx and a dropped connection.

use crate::helpers::*;

const SMTP_PASSWORD: &str = "s3cret-smtp-pass";

async fn app_sending_to(smtp_url: String) -> TestApp {
    app_sending_with(smtp_url, &[]).await
}

/// An app mailing through `smtp_url`, with these settings besides.
async fn app_sending_with(smtp_url: String, settings: &[(&str, &str)]) -> TestApp {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    spawn_app_with(move |env| {
        env.insert("MAIL_PROVIDER".into(), "smtp".into());
        env.insert("SMTP_URL".into(), smtp_url);
        env.insert("DEFAULT_FROM_EMAIL".into(), "no-reply@example.test".into());
        env.extend(settings);
    })
    .await
}

/// A user asks for a link and the worker makes one attempt.
async fn one_attempt(app: &TestApp) {
    app.add_user("u-1", "reader@example.com", None).await;
    assert_eq!(app.forgot("reader@example.com").await.status(), 202);
    app.deliver().await;
}

/// `n` users each ask for a link.
async fn ask_for_links(app: &TestApp, n: usize) {
    for i in 0..n {
        let email = format!("reader{i}@example.com");
        app.add_user(&format!("u-{i}"), &email, None).await;
        assert_eq!(app.forgot(&email).await.status(), 202);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_email_arrives_as_multipart_text_and_html_with_its_message_id() {
    let Some(server) = SmtpServer::start("ok", Some(&format!("mailer:{SMTP_PASSWORD}"))) else {
        return;
    };
    let app = app_sending_to(server.url(Some(&format!("mailer:{SMTP_PASSWORD}")))).await;
    one_attempt(&app).await;

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message["authenticated"], true);
    assert_eq!(message["mail_from"], "no-reply@example.test");
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["reader@example.com"])
    );
    assert_eq!(message["content_type"], "multipart/alternative");
    assert_eq!(message["subject"], "Reset your Acme password");
    let date = message["date"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc2822(date).is_ok(),
        "Date: {date}"
    );
    let row = &app.email_rows().await[0];
    assert_eq!(row.status, OutboxStatus::Sent, "{:?}", row.last_error);
    let message_id = message["message_id"].as_str().unwrap();
    assert_eq!(message_id, format!("<{}@example.test>", row.id));
    assert_eq!(row.provider_message_id.as_deref(), Some(message_id));
    assert!(
        message["html"]
            .as_str()
            .unwrap()
            .contains("href=\"https://app.example.test/reset-password?token=")
    );
    let token = token_in(message["text"].as_str().unwrap());
    assert_eq!(app.validate(&token).await.status(), 200);

    // The password-changed notice reuses the pooled connection.
    assert_eq!(app.reset(&token, STRONG_PASSWORD).await.status(), 200);
    app.deliver().await;
    let messages = server.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["subject"], "Your Acme password was changed");
    assert_eq!(messages[0]["connection"], messages[1]["connection"]);
    assert!(
        !captured_logs().contains(SMTP_PASSWORD),
        "the SMTP password was logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_451_twice_is_retried_and_the_email_goes_out_once() {
    let Some(server) = SmtpServer::start("busy2", None) else {
        return;
    };
    let app = app_sending_to(server.url(None)).await;
    one_attempt(&app).await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert!(
        row.last_error.as_deref().unwrap().contains("451"),
        "{row:?}"
    );

    app.clock.advance(3); // past the first backoff (at most 2 s)
    app.deliver().await;
    assert_eq!(app.email_rows().await[0].attempts, 2);
    assert!(server.messages().is_empty());

    app.clock.advance(5); // past the second (at most 4 s)
    app.deliver().await;
    app.clock.advance(600);
    app.deliver().await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 3));
    assert_eq!(server.messages().len(), 1, "sent exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_550_is_permanent_and_never_retried() {
    let Some(server) = SmtpServer::start("reject", None) else {
        return;
    };
    let app = app_sending_to(server.url(None)).await;
    one_attempt(&app).await;
    app.clock.advance(3600 - 10);
    app.deliver().await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Dead, 1));
    assert!(
        row.last_error.as_deref().unwrap().contains("550"),
        "{row:?}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_retried_on_a_new_one_and_sent_once() {
    let Some(server) = SmtpServer::start("drop-once", None) else {
        return;
    };
    let app = app_sending_to(server.url(None)).await;
    one_attempt(&app).await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert!(server.messages().is_empty());

    app.clock.advance(3);
    app.deliver().await;
    let row = &app.email_rows().await[0];
    assert_eq!(row.status, OutboxStatus::Sent, "{:?}", row.last_error);
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_for_good() {
    let Some(server) = SmtpServer::start("ok", Some("mailer:the-right-one")) else {
        return;
    };
    let app = app_sending_to(server.url(Some("mailer:a-wrong-one"))).await;
    one_attempt(&app).await;
    let row = &app.email_rows().await[0];
    assert_eq!(row.status, OutboxStatus::Dead, "{:?}", row.last_error);
    assert!(
        row.last_error.as_deref().unwrap().contains("535"),
        "{row:?}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_required_never_falls_back_to_plain_text() {
    // This server offers no STARTTLS: the message must not go out in the clear.
    let Some(server) = SmtpServer::start("ok", None) else {
        return;
    };
    let app = app_sending_to(format!("{}?tls=required", server.url(None))).await;
    one_attempt(&app).await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert!(
        row.last_error.as_deref().unwrap().contains("STARTTLS"),
        "{row:?}"
    );
    assert!(server.messages().is_empty());
}

/// TLS is real and verified: a server whose certificate nothing trusts gets
/// neither the credentials nor the message, with implicit TLS or STARTTLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_gets_neither_password_nor_message() {
    for (tls, url) in [
        (
            ServerTls::Implicit,
            "smtps://mailer:{pass}@127.0.0.1:{port}",
        ),
        (
            ServerTls::StartTls,
            "smtp://mailer:{pass}@127.0.0.1:{port}?tls=required",
        ),
    ] {
        let credentials = format!("mailer:{SMTP_PASSWORD}");
        let Some(server) = SmtpServer::start_with("ok", Some(&credentials), tls) else {
            return;
        };
        let url = url
            .replace("{pass}", SMTP_PASSWORD)
            .replace("{port}", &server.port.to_string());
        let app = app_sending_to(url).await;
        one_attempt(&app).await;
        let row = &app.email_rows().await[0];
        assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
        let error = row.last_error.as_deref().unwrap();
        assert!(error.contains("certificate"), "{error}");
        assert!(!error.contains(SMTP_PASSWORD));
        assert!(server.messages().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_pool_size_connections_carry_many_messages_side_by_side() {
    let Some(server) = SmtpServer::start("slow100", None) else {
        return;
    };
    let app = app_sending_with(server.url(None), &[("SMTP_POOL_SIZE", "3")]).await;
    ask_for_links(&app, 12).await;
    app.deliver().await;
    let messages = server.messages();
    assert_eq!(messages.len(), 12);
    let mut per_connection = std::collections::BTreeMap::<String, usize>::new();
    for message in &messages {
        *per_connection
            .entry(message["connection"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // Never more than SMTP_POOL_SIZE messages at once (each took the
    // server 100 ms before it was received) ...
    let mut received: Vec<f64> = messages
        .iter()
        .map(|m| m["received_at"].as_f64().unwrap())
        .collect();
    received.sort_by(f64::total_cmp);
    let most_at_once = received
        .iter()
        .map(|end| {
            received
                .iter()
                .filter(|other| **other > end - 0.1 && **other <= *end)
                .count()
        })
        .max()
        .unwrap();
    assert!((2..=3).contains(&most_at_once), "{most_at_once} at once");
    // ... and connections carry message after message.
    assert!(per_connection.len() <= 6, "{per_connection:?}");
    assert!(
        per_connection.values().any(|n| *n >= 3),
        "{per_connection:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_is_given_up_on_and_the_email_retried() {
    let Some(server) = SmtpServer::start("silent", None) else {
        return;
    };
    let app = app_sending_with(
        server.url(None),
        &[
            ("MAIL_CONNECT_TIMEOUT_SECS", "1"),
            ("MAIL_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    // The attempt ends (it does not hang the worker) and counts as one.
    one_attempt(&app).await;
    let row = &app.email_rows().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("no answer within 2 s"),
        "{row:?}"
    );
    assert!(server.messages().is_empty());
}

/// A server that takes one message per connection (it answers 421 to the
/// next): each message still goes out at its first attempt, on a new
/// connection, instead of failing on the one the server closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_closed_is_replaced_without_costing_an_attempt() {
    let Some(server) = SmtpServer::start("one-per-connection", None) else {
        return;
    };
    let app = app_sending_with(server.url(None), &[("SMTP_POOL_SIZE", "1")]).await;
    ask_for_links(&app, 3).await;
    app.deliver().await;
    for row in app.email_rows().await {
        assert_eq!(
            (row.status, row.attempts),
            (OutboxStatus::Sent, 1),
            "{:?}",
            row.last_error
        );
    }
    let messages = server.messages();
    assert_eq!(messages.len(), 3);
    let connections: std::collections::BTreeSet<&str> = messages
        .iter()
        .map(|m| m["connection"].as_str().unwrap())
        .collect();
    assert_eq!(connections.len(), 3, "{connections:?}");
}
