//! The user's mailbox (the file mailer's folder), fake email APIs
//! (wiremock), and the one way a test reads a link out of a message.

use pwreset::messages::OutboxKind;
use pwreset::storage::outbox::OutboxRow;
use reqwest::StatusCode;
use serde_json::Value;

use super::app::{TestApp, spawn_app_with};

pub struct SentEmail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentEmail {
    /// The reset link in the text body.
    pub fn reset_link(&self) -> String {
        link_in(&self.text)
    }

    /// The JWT from the reset link in the text body.
    pub fn reset_token(&self) -> String {
        token_in(&self.text)
    }

    /// The one-time code in the text body, as shown (`1234 5678`).
    pub fn reset_code(&self) -> String {
        self.text
            .lines()
            .map(str::trim)
            .find(|l| l.len() >= 7 && l.chars().all(|c| c.is_ascii_digit() || c == ' '))
            .expect("a code in the message")
            .to_owned()
    }
}

/// The reset link inside a message body (text, or HTML/JSON-escaped).
pub fn link_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.contains("token="))
        .expect("a reset link in the message")
        .trim_start_matches("href=\"")
        .trim_end_matches(['"', '<', '\\', '>'])
        .to_owned()
}

/// The JWT of the reset link inside a message body.
pub fn token_in(text: &str) -> String {
    link_in(text)
        .split_once("token=")
        .expect("the link carries a token")
        .1
        .to_owned()
}

impl TestApp {
    /// Every email the file mailer wrote, in no particular order.
    pub fn emails(&self) -> Vec<SentEmail> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                let s = |k: &str| v[k].as_str().unwrap().to_owned();
                SentEmail {
                    id: s("id"),
                    to: s("to"),
                    subject: s("subject"),
                    text: s("text"),
                    html: s("html"),
                }
            })
            .collect()
    }

    pub fn reset_emails_to(&self, to: &str) -> Vec<SentEmail> {
        self.emails()
            .into_iter()
            .filter(|e| e.to == to && e.subject.starts_with("Reset your"))
            .collect()
    }

    /// Asks for a link as the user would and returns the JWT from the email.
    pub async fn request_link(&self, email: &str) -> String {
        let before: Vec<String> = self
            .reset_emails_to(email)
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(self.forgot(email).await.status(), StatusCode::ACCEPTED);
        self.deliver().await;
        let mut fresh: Vec<SentEmail> = self
            .reset_emails_to(email)
            .into_iter()
            .filter(|e| !before.contains(&e.id))
            .collect();
        assert_eq!(fresh.len(), 1, "exactly one new reset email for {email}");
        fresh.remove(0).reset_token()
    }

    pub async fn outbox_len(&self) -> usize {
        self.repo().list_outbox(None, 10_000).await.unwrap().len()
    }

    /// The outbox rows of one kind, oldest first.
    pub async fn outbox_rows(&self, kind: OutboxKind) -> Vec<OutboxRow> {
        let mut rows: Vec<_> = self
            .repo()
            .list_outbox(None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect();
        rows.sort_by_key(|r| r.created_at);
        rows
    }

    /// The email rows of the outbox, oldest first.
    pub async fn email_rows(&self) -> Vec<OutboxRow> {
        self.outbox_rows(OutboxKind::Email).await
    }
}

/// An app whose mailer is `provider`, pointed at a local fake of its API.
pub async fn spawn_app_with_provider(
    provider: &str,
    server: &wiremock::MockServer,
    extra: &[(&str, &str)],
) -> TestApp {
    let provider = provider.to_owned();
    let uri = server.uri();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    spawn_app_with(move |env| {
        env.insert("MAIL_PROVIDER".into(), provider.clone());
        env.insert("MAIL_API_KEY".into(), "test-api-key".into());
        env.insert("MAILGUN_DOMAIN".into(), "mg.example.test".into());
        env.insert(
            "MAIL_API_BASE_URL".into(),
            if provider == "http" {
                format!("{uri}/send")
            } else {
                uri
            },
        );
        env.insert("DEFAULT_FROM_EMAIL".into(), "no-reply@example.test".into());
        for (k, v) in extra {
            env.insert(k, v);
        }
    })
    .await
}

/// `server` answers `failure` to the first `times` requests, then `then`.
pub async fn mount_failures_then(
    server: &wiremock::MockServer,
    failure: wiremock::ResponseTemplate,
    times: u64,
    then: wiremock::ResponseTemplate,
) {
    use wiremock::matchers::method;
    wiremock::Mock::given(method("POST"))
        .respond_with(failure)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    wiremock::Mock::given(method("POST"))
        .respond_with(then)
        .mount(server)
        .await;
}
