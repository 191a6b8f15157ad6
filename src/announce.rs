//! The messages that follow a change: the password-changed notice to the
//! account, and webhook events to other services (one row per receiver).
//! No token, link or hash ever goes into an event.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::config::WebhookSettings;
use crate::domain::{OutboxId, UserId};
use crate::i18n::Locale;
use crate::messages::{Email, EmailTemplate, OutboxMessage, Outgoing, Webhook, WebhookEvent};
use crate::storage::users::User;

/// "Your password was changed; if this wasn't you ..." in the account's
/// language, else in `fallback` (the language of the request that changed it).
pub(crate) fn password_changed(user: &User, fallback: Option<&Locale>) -> Outgoing {
    Outgoing::new(OutboxMessage::Email(Email {
        template: EmailTemplate::PasswordChanged,
        to: user.email.clone(),
        user_id: user.id.clone(),
        locale: email_locale(user, fallback),
        link: None,
    }))
}

/// The language of an email to `user`: theirs, else the request's.
pub(crate) fn email_locale(user: &User, fallback: Option<&Locale>) -> Option<String> {
    user.locale.clone().or_else(|| fallback.map(Locale::tag))
}

/// The messages for one event: one per configured receiver, none when
/// webhooks are off or the event is not wanted.
pub(crate) fn event(
    settings: &WebhookSettings,
    event: WebhookEvent,
    user: &User,
    at: DateTime<Utc>,
) -> Vec<Outgoing> {
    event_about(settings, event, &user.id, at, Map::new())
}

/// A reset email went dead: which request (the id the internal API
/// answered), whose, and why. Never the token, link or address.
pub(crate) fn delivery_failed(
    settings: &WebhookSettings,
    request_id: &OutboxId,
    user_id: &UserId,
    reason: &str,
    at: DateTime<Utc>,
) -> Vec<Outgoing> {
    let mut data = Map::new();
    data.insert("request_id".into(), json!(request_id));
    data.insert("reason".into(), json!(reason));
    event_about(settings, WebhookEvent::DeliveryFailed, user_id, at, data)
}

/// `data` is `user_id`, `occurred_at` and what the event adds.
fn event_about(
    settings: &WebhookSettings,
    event: WebhookEvent,
    user_id: &UserId,
    at: DateTime<Utc>,
    mut data: Map<String, Value>,
) -> Vec<Outgoing> {
    if !settings.wants(event) {
        return Vec::new();
    }
    let msg_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let time = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    data.insert("user_id".into(), json!(user_id));
    data.insert("occurred_at".into(), json!(time));
    let body = json!({
        "type": event.as_str(),
        "timestamp": time,
        "data": data,
    })
    .to_string();
    settings
        .urls
        .iter()
        .map(|url| {
            Outgoing::new(OutboxMessage::Webhook(Webhook {
                url: url.to_string(),
                msg_id: msg_id.clone(),
                body: body.clone(),
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_receiver_and_none_when_unwanted() {
        let settings = WebhookSettings {
            urls: vec![
                "https://a.test/h".parse().unwrap(),
                "https://b.test/h".parse().unwrap(),
            ],
            secret: vec![1u8; 32].into(),
            events: vec![WebhookEvent::ResetCompleted],
        };
        let now = Utc::now().naive_utc();
        let user = User {
            id: UserId::from_trusted("u-1".into()),
            email: "a@example.test".into(),
            password_hash: None,
            disabled: false,
            password_changed_at: None,
            created_at: now,
            updated_at: now,
            locale: None,
        };
        let messages = event(&settings, WebhookEvent::ResetCompleted, &user, Utc::now());
        assert_eq!(messages.len(), 2);
        for out in &messages {
            let OutboxMessage::Webhook(hook) = &out.message else {
                panic!("a webhook message");
            };
            assert!(hook.body.contains("u-1") && hook.body.contains("password.reset.completed"));
        }
        assert!(event(&settings, WebhookEvent::ResetRequested, &user, Utc::now()).is_empty());
    }
}
